//! Issue 2 against the real binary: upload, download (GET/HEAD, every route form), Range,
//! conditional requests, Content-Disposition, edit, delete, expiry, garbage collection,
//! persistence across a restart, download records and routing errors (spec §1.2, §1.4, §1.7).

mod common;

use std::time::Duration;

use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use common::*;

const CHUNK: usize = 1000;

/// Asserts the download of `id` is byte-identical to `data` and returns the response.
/// (Content-Length is checked by `content_length_on_every_download`, for every size.)
#[track_caller]
fn assert_downloads(s: &Server, id: &str, data: &[u8]) -> Resp {
    let r = s.get(&format!("/-{id}")).send();
    assert_eq!(r.status, 200, "GET /-{id}: {}", r.text());
    assert_eq!(r.body.len(), data.len(), "length of /-{id}");
    assert!(r.body == data, "bytes of /-{id} differ from the upload");
    r
}

/// Asserts `id` is stored as `chunk`-byte rows, numbered from 0, that reassemble to `data`.
#[track_caller]
fn assert_chunked(s: &Server, id: &str, data: &[u8], chunk: usize) {
    let rows = s.chunks(id);
    let want = data.len().div_ceil(chunk);
    assert_eq!(
        rows.len(),
        want,
        "{} bytes in {chunk}-byte chunks",
        data.len()
    );
    let mut all = Vec::new();
    for (i, (index, bytes)) in rows.iter().enumerate() {
        assert_eq!(*index, i as i64, "chunk_index runs from 0 without gaps");
        if i + 1 < rows.len() {
            assert_eq!(bytes.len(), chunk, "every chunk but the last is full");
        } else {
            assert!(!bytes.is_empty() && bytes.len() <= chunk, "last chunk");
        }
        all.extend_from_slice(bytes);
    }
    assert!(all == data, "entries_data reassembles to the upload");
}

fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn parse_http_date(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc2822(s)
        .unwrap_or_else(|e| panic!("not an HTTP date {s:?}: {e}"))
        .with_timezone(&Utc)
}

// ---------------------------------------------------------------------------------------------
// Upload and download round trips.

#[test]
fn round_trips_are_byte_identical_across_chunk_boundaries() {
    let s = Server::builder().chunk_size(CHUNK).start();
    for (seed, len) in [1usize, 999, 1000, 1001, 2000, 3500]
        .into_iter()
        .enumerate()
    {
        let data = pattern(len, seed as u64 + 1);
        let id = s.put_file(&data, &format!("file-{len}.bin"));
        assert_downloads(&s, &id, &data);
        assert_chunked(&s, &id, &data, CHUNK);
    }
}

#[test]
fn a_tiny_chunk_size_still_round_trips() {
    let s = Server::builder().chunk_size(5).start();
    let data = b"abcdefghijklmnopqrstuvw".to_vec(); // 23 bytes: 4 full chunks and 3 bytes.
    let id = s.put_file(&data, "letters.txt");
    assert_downloads(&s, &id, &data);
    assert_chunked(&s, &id, &data, 5);
    for (range, want) in [
        ("4-5", &data[4..6]),
        ("22-22", &data[22..]),
        ("-3", &data[20..]),
    ] {
        let r = s
            .get(&format!("/-{id}"))
            .header("Range", &format!("bytes={range}"))
            .send();
        assert_eq!(r.status, 206, "bytes={range}");
        assert_eq!(r.body, want, "bytes={range}");
    }
}

/// Downloads copy whole chunks straight into the response buffer, which is sized for the
/// server's own chunk size. A file written with bigger chunks (another `--chunk-size`, or
/// another program) goes through the reader's own chunk buffer instead, and must read the same.
#[test]
fn issue_6_chunks_bigger_than_the_response_buffer_download_the_same() {
    let s = Server::builder().chunk_size(100_000).start();
    let data = pattern(350_000, 6);
    let id = s.put_file(&data, "wide.bin");
    let dir = s.into_dir();
    let s = Server::builder().in_dir(dir).chunk_size(1000).start();
    assert_downloads(&s, &id, &data);
    let size = data.len();
    for (a, b) in [
        (0, 0),
        (99_999, 100_000),
        (150_000, 320_000),
        (size - 5, size - 1),
    ] {
        let r = s
            .get(&format!("/-{id}"))
            .header("Range", &format!("bytes={a}-{b}"))
            .send();
        assert_eq!(r.status, 206);
        assert!(r.body == data[a..=b], "bytes={a}-{b}");
    }
}

#[test]
fn a_few_mib_file_round_trips_with_the_default_chunk_size() {
    let s = Server::start();
    let data = pattern(3 * 1024 * 1024 + 123, 42);
    let id = s.put_file(&data, "big.bin");
    assert_chunked(&s, &id, &data, 327_680);
    let r = s.get(&format!("/-{id}")).send();
    assert_eq!(r.status, 200);
    assert_eq!(sha256_hex(&r.body), sha256_hex(&data), "byte-identical");
    let size = data.len();
    for (a, b) in [(327_679, 327_680), (655_350, 983_050), (size - 1, size - 1)] {
        let r = s
            .get(&format!("/-{id}"))
            .header("Range", &format!("bytes={a}-{b}"))
            .send();
        assert_eq!(r.status, 206);
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes {a}-{b}/{size}").as_str())
        );
        assert!(r.body == data[a..=b], "bytes={a}-{b}");
    }
}

#[test]
fn upload_answers_json_and_stores_metadata_like_picoshare() {
    let s = Server::start();
    let before = Utc::now() - chrono::Duration::seconds(2);
    // Five years ahead, whatever today is.
    let year = Utc::now().year() + 5;
    let up = Upload::new(b"hello, world\n", "hello.txt")
        .content_type(Some("text/plain"))
        .note("for the team")
        // Fractional seconds and an offset: stored truncated, in UTC.
        .expiration(Some(&format!("{year}-01-01T12:00:00.789+02:00")));
    let r = s.upload(&up);
    assert_eq!(r.status, 200, "{}", r.text());
    let ct = r.header("content-type").unwrap_or("");
    assert!(ct.starts_with("application/json"), "Content-Type {ct}");
    let id = r.json()["id"].as_str().expect("id").to_owned();
    assert_valid_id(&id);
    assert_eq!(r.json().as_object().unwrap().len(), 1, "only the id");

    let row = entry_row(&s.db(), &id).expect("entries row");
    assert_eq!(row.filename, "hello.txt");
    assert_eq!(row.content_type, "text/plain");
    assert_eq!(row.note.as_deref(), Some("for the team"));
    assert_eq!(row.expiration_time, Some(format!("{year}-01-01T10:00:00Z")));
    assert_eq!(row.guest_link_id, None, "admin uploads have no guest link");
    let uploaded = DateTime::parse_from_rfc3339(&row.upload_time)
        .expect("upload_time is RFC 3339")
        .with_timezone(&Utc);
    assert_eq!(
        row.upload_time,
        uploaded.to_rfc3339_opts(SecondsFormat::Secs, true),
        "upload_time in UTC, whole seconds, Z"
    );
    assert!(uploaded >= before && uploaded <= Utc::now() + chrono::Duration::seconds(2));

    // No note, or an empty one: NULL. "Never" is the sentinel.
    let a = s.upload_ok(&Upload::new(b"a", "a.txt").expiration(Some(NEVER)));
    let b = s.upload_ok(&Upload::new(b"b", "b.txt").note(""));
    let db = s.db();
    let a = entry_row(&db, &a).unwrap();
    assert_eq!(a.note, None);
    assert_eq!(a.expiration_time.as_deref(), Some(NEVER));
    assert_eq!(entry_row(&db, &b).unwrap().note, None);
}

#[test]
fn upload_keeps_only_the_base_name_of_a_path() {
    let s = Server::start();
    let id = s.put_file(b"x", "some/dir/base.txt");
    assert_eq!(entry_row(&s.db(), &id).unwrap().filename, "base.txt");
}

#[test]
fn chunked_transfer_encoding_uploads_work() {
    let s = Server::builder().chunk_size(CHUNK).start();
    let data = pattern(5000, 9);
    let (ct, body) = Upload::new(&data, "chunked.bin").multipart();
    let r = s
        .request(
            "POST",
            &format!("/api/entry?expiration={}", query_encode(&in_days(1))),
        )
        .auth()
        .header("Content-Type", &ct)
        .header("Transfer-Encoding", "chunked")
        .body(body)
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    assert_downloads(&s, &id, &data);
}

// ---------------------------------------------------------------------------------------------
// Download headers, route forms, HEAD.

#[test]
fn download_headers_and_route_forms() {
    let s = Server::builder().chunk_size(CHUNK).start();
    let data = pattern(2500, 3);
    let id = s.upload_ok(
        &Upload::new(&data, "report.txt").content_type(Some("text/plain; charset=utf-8")),
    );
    let r = assert_downloads(&s, &id, &data);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("content-security-policy"), Some("sandbox"));
    let etag = r.header("etag").expect("ETag");
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
        "strong ETag, got {etag}"
    );
    let row = entry_row(&s.db(), &id).unwrap();
    let uploaded = DateTime::parse_from_rfc3339(&row.upload_time)
        .unwrap()
        .with_timezone(&Utc);
    let lm = r.header("last-modified").expect("Last-Modified");
    assert_eq!(parse_http_date(lm), uploaded, "Last-Modified = upload time");
    let cd = r
        .header("content-disposition")
        .expect("Content-Disposition");
    let (kind, params) = parse_disposition(cd);
    assert_eq!(kind, "inline", "{cd}");
    assert_eq!(param(&params, "filename"), Some("report.txt"), "{cd}");

    for path in [
        format!("/-{id}/report.txt"),
        format!("/-{id}/anything/else"),
        format!("/!{id}"),
        format!("/!{id}/report.txt"),
    ] {
        let r2 = s.get(&path).send();
        assert_eq!(r2.status, 200, "{path}");
        assert!(r2.body == data, "{path} serves the same bytes");
        assert_eq!(r2.header("etag"), Some(etag), "{path}");
        assert_eq!(r2.header("content-disposition"), Some(cd), "{path}");
    }
}

#[test]
fn head_matches_get_without_a_body() {
    let s = Server::builder().chunk_size(CHUNK).start();
    let data = pattern(3500, 4);
    let id = s.upload_ok(&Upload::new(&data, "données.csv").content_type(Some("text/csv")));
    for path in [format!("/-{id}"), format!("/-{id}/x"), format!("/!{id}")] {
        let get = s.get(&path).send();
        let head = s.head(&path).send();
        assert_eq!(head.status, 200, "HEAD {path}");
        for h in [
            "content-length",
            "content-type",
            "content-disposition",
            "etag",
            "last-modified",
            "accept-ranges",
            "x-content-type-options",
            "content-security-policy",
        ] {
            assert!(get.header(h).is_some(), "GET {path} has {h}");
            assert_eq!(head.header(h), get.header(h), "HEAD {path}: {h}");
        }
        assert_eq!(head.header("content-length"), Some("3500"));
    }
    // On the wire: nothing after the header block.
    let raw = raw_exchange(
        s.addr,
        format!("HEAD /-{id} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    let resp = parse_raw(&raw);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-length"), Some("3500"));
    assert!(
        resp.body.is_empty(),
        "HEAD sent {} body bytes",
        resp.body.len()
    );

    let unknown = s.head("/-aaaaaaaaaa").send();
    assert_eq!(unknown.status, 404);
}

#[test]
fn content_type_is_guessed_from_the_extension_when_stored_is_generic() {
    let s = Server::start();
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("notes.txt", Some("application/octet-stream"), "text/plain"),
        ("page.html", None, "text/html"),
        ("pic.png", Some("application/octet-stream"), "image/png"),
        (
            "data.json",
            Some("application/octet-stream"),
            "application/json",
        ),
        // A specific stored type is served as is, whatever the extension.
        ("photo.txt", Some("image/jpeg"), "image/jpeg"),
        (
            "blob.unknownext",
            Some("application/octet-stream"),
            "application/octet-stream",
        ),
    ];
    for (name, stored, want) in cases {
        let mut up = Upload::new(b"<p>content</p>", name);
        up.content_type = stored.map(str::to_owned);
        let id = s.upload_ok(&up);
        let r = s.get(&format!("/-{id}")).send();
        let ct = r.header("content-type").unwrap_or("");
        assert!(
            ct == *want || ct.starts_with(&format!("{want};")),
            "{name} stored as {stored:?}: served {ct:?}, want {want}"
        );
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }
}

/// Splits a Content-Disposition value into its type and parameters (quoted strings unescaped).
/// Panics on a syntax error, such as an unterminated or badly escaped quoted string.
fn parse_disposition(h: &str) -> (String, Vec<(String, String)>) {
    let (kind, mut rest) = match h.find(';') {
        Some(i) => (h[..i].trim().to_ascii_lowercase(), &h[i + 1..]),
        None => (h.trim().to_ascii_lowercase(), ""),
    };
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            break;
        }
        let eq = rest
            .find('=')
            .unwrap_or_else(|| panic!("parameter without '=' in {h:?}"));
        let name = rest[..eq].trim().to_ascii_lowercase();
        assert!(
            !name.is_empty() && !name.contains([' ', '"', ';']),
            "bad parameter name {name:?} in {h:?}"
        );
        rest = &rest[eq + 1..];
        let value;
        if let Some(q) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        let (_, e) = chars
                            .next()
                            .unwrap_or_else(|| panic!("dangling \\ in {h:?}"));
                        v.push(e);
                    }
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    c => v.push(c),
                }
            }
            let end = end.unwrap_or_else(|| panic!("unterminated quoted string in {h:?}"));
            value = v;
            rest = &q[end + 1..];
            rest = rest.trim_start_matches([' ', '\t']);
            if !rest.is_empty() {
                rest = rest
                    .strip_prefix(';')
                    .unwrap_or_else(|| panic!("junk after a quoted string in {h:?}"));
            }
        } else {
            let end = rest.find(';').unwrap_or(rest.len());
            value = rest[..end].trim().to_owned();
            assert!(!value.contains([' ', '"']), "bad token {value:?} in {h:?}");
            rest = if end < rest.len() {
                &rest[end + 1..]
            } else {
                ""
            };
        }
        params.push((name, value));
    }
    (kind, params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Asserts `cd` is `inline` with an ASCII `filename` fallback and, if `filename*` is present
/// (required for non-ASCII names), that it is RFC 8187 `UTF-8''…` decoding to `name`.
#[track_caller]
fn assert_disposition_names(cd: &str, name: &str) {
    let (kind, params) = parse_disposition(cd);
    assert_eq!(kind, "inline", "{cd}");
    let fallback = param(&params, "filename").unwrap_or_else(|| panic!("no filename= in {cd}"));
    assert!(
        fallback.chars().all(|c| (' '..='~').contains(&c)),
        "the filename= fallback is printable ASCII: {fallback:?} in {cd}"
    );
    assert!(!fallback.is_empty(), "non-empty fallback in {cd}");
    match param(&params, "filename*") {
        Some(ext) => {
            let (charset, rest) = ext.split_once('\'').unwrap_or_else(|| panic!("{cd}"));
            assert!(charset.eq_ignore_ascii_case("utf-8"), "{cd}");
            let (_lang, encoded) = rest.split_once('\'').unwrap_or_else(|| panic!("{cd}"));
            assert!(
                encoded
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!#$&+-.^_`|~%".contains(c)),
                "filename* uses only attr-chars and %XX: {encoded}"
            );
            let decoded = String::from_utf8(percent_decode(encoded)).expect("UTF-8");
            assert_eq!(decoded, name, "filename* decodes to the stored name: {cd}");
        }
        None => {
            assert!(name.is_ascii(), "non-ASCII {name:?} needs filename*: {cd}");
            assert_eq!(fallback, name, "{cd}");
        }
    }
}

#[test]
fn content_disposition_is_rfc_6266_for_non_ascii_names_and_quotes() {
    let s = Server::start();
    let name = "données été.csv";
    let id = s.upload_ok(&Upload::new(b"a;b\n1;2\n", name).content_type(Some("text/csv")));
    assert_eq!(
        entry_row(&s.db(), &id).unwrap().filename,
        name,
        "raw UTF-8 multipart filenames are stored as sent"
    );
    let r = s.get(&format!("/-{id}")).send();
    let cd = r
        .header("content-disposition")
        .expect("Content-Disposition");
    assert_disposition_names(cd, name);
    assert!(
        cd.contains("filename*="),
        "non-ASCII name needs filename*: {cd}"
    );

    // Awkward ASCII names, set through the edit API so no multipart quoting is involved.
    for awkward in [
        "say \"hi\".txt",
        "back\\slash\".txt",
        "100% \"real\"; notes, v2.txt",
        "ünïcödé \"quoted\" ✓.txt",
    ] {
        let body = serde_json::json!({ "filename": awkward }).to_string();
        let e = s
            .request("PUT", &format!("/api/entry/{id}"))
            .auth()
            .json(&body)
            .send();
        if awkward.contains('\\') && e.status == 400 {
            continue; // A backslash is an illegal filename character (spec §1.7).
        }
        assert_eq!(e.status, 200, "rename to {awkward:?}: {}", e.text());
        let r = s.get(&format!("/-{id}")).send();
        let cd = r
            .header("content-disposition")
            .expect("Content-Disposition");
        assert_disposition_names(cd, awkward);
        let h = s.head(&format!("/-{id}")).send();
        assert_eq!(h.header("content-disposition"), Some(cd), "HEAD agrees");
    }
}

// ---------------------------------------------------------------------------------------------
// Range.

#[test]
fn every_range_form_across_chunk_boundaries() {
    let s = Server::builder().chunk_size(CHUNK).start();
    let data = pattern(3500, 5);
    let id = s.put_file(&data, "ranges.bin");
    let etag = s
        .get(&format!("/-{id}"))
        .send()
        .header("etag")
        .unwrap()
        .to_owned();
    let cases: &[(&str, usize, usize)] = &[
        ("0-0", 0, 0),
        ("0-999", 0, 999),
        ("999-1000", 999, 1000),
        ("1000-1999", 1000, 1999),
        ("998-2001", 998, 2001),
        ("1500-1500", 1500, 1500),
        ("3499-3499", 3499, 3499),
        ("3499-", 3499, 3499),
        ("3000-", 3000, 3499),
        ("2999-", 2999, 3499),
        ("0-", 0, 3499),
        ("3000-9999", 3000, 3499),
        ("-1", 3499, 3499),
        ("-500", 3000, 3499),
        ("-1001", 2499, 3499),
        ("-3500", 0, 3499),
        ("-9999", 0, 3499),
    ];
    for &(spec, a, b) in cases {
        let range = format!("bytes={spec}");
        for method in ["GET", "HEAD"] {
            let r = s
                .request(method, &format!("/-{id}"))
                .header("Range", &range)
                .send();
            assert_eq!(r.status, 206, "{method} {range}: {}", r.text());
            assert_eq!(
                r.header("content-range"),
                Some(format!("bytes {a}-{b}/3500").as_str()),
                "{method} {range}"
            );
            assert_eq!(
                r.header("content-length"),
                Some((b - a + 1).to_string().as_str()),
                "{method} {range}"
            );
            assert_eq!(r.header("etag"), Some(etag.as_str()), "{method} {range}");
            if method == "GET" {
                assert!(r.body == data[a..=b], "{range} bytes");
            }
        }
    }
}

#[test]
fn unsatisfiable_ranges_answer_416() {
    let s = Server::builder().chunk_size(CHUNK).start();
    let data = pattern(3500, 6);
    let id = s.put_file(&data, "ranges.bin");
    for spec in ["3500-", "3500-3600", "9999-", "9999-10000", "-0"] {
        let r = s
            .get(&format!("/-{id}"))
            .header("Range", &format!("bytes={spec}"))
            .send();
        assert_eq!(r.status, 416, "bytes={spec}: {}", r.text());
        assert_eq!(
            r.header("content-range"),
            Some("bytes */3500"),
            "bytes={spec}"
        );
    }
}

#[test]
fn several_ranges_get_the_whole_file() {
    let s = Server::builder().chunk_size(CHUNK).start();
    let data = pattern(3500, 7);
    let id = s.put_file(&data, "ranges.bin");
    for spec in ["bytes=0-1,5-6", "bytes=0-1, 3000-3001", "bytes=-5,0-4"] {
        let r = s.get(&format!("/-{id}")).header("Range", spec).send();
        assert_eq!(r.status, 200, "{spec}");
        assert!(r.body == data, "{spec}: whole file");
        assert_eq!(r.header("content-range"), None, "{spec}");
    }
}

#[test]
fn malformed_ranges_are_never_server_errors() {
    let s = Server::builder().chunk_size(CHUNK).start();
    let data = pattern(3500, 8);
    let id = s.put_file(&data, "ranges.bin");
    // An unknown unit must be ignored (RFC 9110 §14.2).
    let r = s
        .get(&format!("/-{id}"))
        .header("Range", "items=0-5")
        .send();
    assert_eq!(r.status, 200);
    assert!(r.body == data);
    for spec in [
        "bytes=abc",
        "bytes=5-3",
        "bytes=",
        "bytes=--1",
        "bytes=1-2-3",
        "bytes=-",
        "bytes=18446744073709551616-",
    ] {
        let r = s.get(&format!("/-{id}")).header("Range", spec).send();
        match r.status {
            200 => assert!(r.body == data, "{spec}: 200 means the whole file"),
            400 | 416 => {}
            other => panic!("{spec}: status {other}"),
        }
    }
    assert_eq!(
        s.get(&format!("/-{id}")).send().status,
        200,
        "still serving"
    );
}

#[test]
fn if_range_with_the_etag_honours_the_range() {
    let s = Server::builder().chunk_size(CHUNK).start();
    let data = pattern(3500, 10);
    let id = s.put_file(&data, "ranges.bin");
    let first = s.get(&format!("/-{id}")).send();
    let etag = first.header("etag").unwrap().to_owned();
    let lm = first.header("last-modified").unwrap().to_owned();

    let r = s
        .get(&format!("/-{id}"))
        .header("Range", "bytes=990-1009")
        .header("If-Range", &etag)
        .send();
    assert_eq!(r.status, 206);
    assert!(r.body == data[990..1010]);

    for other in ["\"something-else\"", &format!("W/{etag}")] {
        let r = s
            .get(&format!("/-{id}"))
            .header("Range", "bytes=990-1009")
            .header("If-Range", other)
            .send();
        assert_eq!(r.status, 200, "If-Range {other}");
        assert!(r.body == data, "If-Range {other}: the whole file");
    }
    // A date one hour before the upload does not match either.
    let earlier = http_date(parse_http_date(&lm) - chrono::Duration::hours(1));
    let r = s
        .get(&format!("/-{id}"))
        .header("Range", "bytes=990-1009")
        .header("If-Range", &earlier)
        .send();
    assert_eq!(r.status, 200, "If-Range with an older date");
}

#[test]
fn conditional_gets_answer_304() {
    let s = Server::builder().chunk_size(CHUNK).start();
    let data = pattern(2000, 11);
    let id = s.put_file(&data, "cond.bin");
    let path = format!("/-{id}");
    let first = s.get(&path).send();
    let etag = first.header("etag").unwrap().to_owned();
    let lm = parse_http_date(first.header("last-modified").unwrap());

    let not_modified: Vec<Vec<(&str, String)>> = vec![
        vec![("If-None-Match", etag.clone())],
        vec![("If-None-Match", format!("\"other\", {etag}"))],
        vec![("If-None-Match", "*".to_owned())],
        vec![("If-Modified-Since", http_date(lm))],
        vec![(
            "If-Modified-Since",
            http_date(lm + chrono::Duration::hours(1)),
        )],
    ];
    for headers in not_modified {
        let mut req = s.get(&path);
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        let r = req.send();
        assert_eq!(r.status, 304, "{headers:?}");
        assert!(r.body.is_empty(), "{headers:?}: no body");
        assert_eq!(
            r.header("etag"),
            Some(etag.as_str()),
            "{headers:?}: 304 keeps the ETag"
        );
    }
    let modified: Vec<Vec<(&str, String)>> = vec![
        vec![("If-None-Match", "\"other\"".to_owned())],
        vec![(
            "If-Modified-Since",
            http_date(lm - chrono::Duration::hours(1)),
        )],
        vec![("If-Modified-Since", "not a date".to_owned())],
        // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
        vec![
            ("If-None-Match", "\"other\"".to_owned()),
            ("If-Modified-Since", http_date(lm)),
        ],
    ];
    for headers in modified {
        let mut req = s.get(&path);
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        let r = req.send();
        assert_eq!(r.status, 200, "{headers:?}");
        assert!(r.body == data, "{headers:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Download records.

/// Waits (briefly: rows may be written after the response) until `id` has `want` rows.
#[track_caller]
fn assert_downloads_count(s: &Server, id: &str, want: i64, after: &str) {
    wait_until(Duration::from_secs(2), || s.downloads(id) == want);
    assert_eq!(s.downloads(id), want, "downloads rows after {after}");
}

#[test]
fn issue_2_one_download_row_per_transfer() {
    let s = Server::builder().chunk_size(CHUNK).start();
    let data = pattern(3500, 12);
    let id = s.put_file(&data, "counted.bin");
    let path = format!("/-{id}");
    assert_downloads_count(&s, &id, 0, "upload");

    s.head(&path).send();
    assert_downloads_count(&s, &id, 0, "HEAD");
    let r = s
        .get(&path)
        .header("User-Agent", "picoshare-it/1.0 (counting)")
        .send();
    let etag = r.header("etag").unwrap().to_owned();
    let lm = r.header("last-modified").unwrap().to_owned();
    assert_downloads_count(&s, &id, 1, "GET");
    // Each counted transfer comes from another agent: repeats by the same address and agent
    // within a minute count once (issue 16, checked in issue_16_bounds).
    s.get(&path)
        .header("User-Agent", "range-zero/1.0")
        .header("Range", "bytes=0-")
        .send();
    assert_downloads_count(&s, &id, 2, "Range 0-");
    s.get(&format!("/-{id}/name.bin"))
        .header("User-Agent", "range-first-hundred/1.0")
        .header("Range", "bytes=0-99")
        .send();
    assert_downloads_count(&s, &id, 3, "Range 0-99");
    for cont in [
        "bytes=100-",
        "bytes=100-199",
        "bytes=1000-1999",
        "bytes=-100",
    ] {
        let r = s.get(&path).header("Range", cont).send();
        assert_eq!(r.status, 206);
        assert_downloads_count(&s, &id, 3, cont);
    }
    s.head(&path).header("Range", "bytes=0-").send();
    assert_downloads_count(&s, &id, 3, "HEAD with Range 0-");
    assert_eq!(
        s.get(&path).header("If-None-Match", &etag).send().status,
        304
    );
    assert_downloads_count(&s, &id, 3, "If-None-Match 304");
    assert_eq!(
        s.get(&path).header("If-Modified-Since", &lm).send().status,
        304
    );
    assert_downloads_count(&s, &id, 3, "If-Modified-Since 304");
    assert_eq!(
        s.get(&path).header("Range", "bytes=9999-").send().status,
        416
    );
    assert_downloads_count(&s, &id, 3, "416");
    s.get(&format!("/!{id}"))
        .header("User-Agent", "legacy-route/1.0")
        .send();
    assert_downloads_count(&s, &id, 4, "GET /!id");

    // What a row holds: time, socket peer, User-Agent.
    let db = s.db();
    let (ts, ip, ua): (String, Option<String>, Option<String>) = db
        .query_row(
            "SELECT download_timestamp, client_ip, user_agent FROM downloads \
             WHERE entry_id = ?1 AND user_agent LIKE 'picoshare-it/%'",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("the GET's row");
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(ua.as_deref(), Some("picoshare-it/1.0 (counting)"));
    let t = DateTime::parse_from_rfc3339(&ts)
        .expect("RFC 3339")
        .with_timezone(&Utc);
    assert_eq!(
        ts,
        t.to_rfc3339_opts(SecondsFormat::Secs, true),
        "UTC seconds Z"
    );
    assert!((Utc::now() - t).num_seconds().abs() < 120, "recent: {ts}");
}

#[test]
fn forwarded_client_ip_is_trusted_only_behind_a_proxy() {
    for (behind, want) in [(false, "127.0.0.1"), (true, "203.0.113.9")] {
        let mut b = Server::builder();
        if behind {
            b = b.env("PS_BEHIND_PROXY", "yes");
        }
        let s = b.start();
        let id = s.put_file(b"hello", "hello.txt");
        s.get(&format!("/-{id}"))
            .header("X-Forwarded-For", "203.0.113.9, 10.0.0.1")
            .send();
        assert_downloads_count(&s, &id, 1, "GET");
        let ip: Option<String> = s
            .db()
            .query_row(
                "SELECT client_ip FROM downloads WHERE entry_id = ?1",
                [&id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(ip.as_deref(), Some(want), "PS_BEHIND_PROXY set: {behind}");
    }
}

// ---------------------------------------------------------------------------------------------
// Edit and delete.

fn put_entry(s: &Server, id: &str, body: &str) -> Resp {
    s.request("PUT", &format!("/api/entry/{id}"))
        .auth()
        .json(body)
        .send()
}

#[test]
fn edit_changes_filename_note_and_expiration() {
    let s = Server::start();
    let data = b"some content".to_vec();
    let id = s.upload_ok(&Upload::new(&data, "orig.txt").content_type(Some("text/plain")));
    let exp = in_days(3);

    let body = serde_json::json!({"filename": "renamed.txt", "note": "a note", "expiration": exp});
    let r = put_entry(&s, &id, &body.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.body.is_empty(), "empty body: {}", r.text());
    let row = entry_row(&s.db(), &id).unwrap();
    assert_eq!(row.filename, "renamed.txt");
    assert_eq!(row.note.as_deref(), Some("a note"));
    assert_eq!(row.expiration_time.as_deref(), Some(exp.as_str()));
    assert_eq!(row.content_type, "text/plain", "content type cannot change");
    let r = assert_downloads(&s, &id, &data);
    let (_, params) = parse_disposition(r.header("content-disposition").unwrap());
    assert_eq!(param(&params, "filename"), Some("renamed.txt"));

    // "" means never; a missing note removes it.
    let r = put_entry(&s, &id, r#"{"filename":"renamed.txt","expiration":""}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    let row = entry_row(&s.db(), &id).unwrap();
    assert_eq!(row.expiration_time.as_deref(), Some(NEVER));
    assert_eq!(row.note, None);

    // An offset and fractional seconds: UTC, whole seconds.
    let year = Utc::now().year() + 5;
    let r = put_entry(
        &s,
        &id,
        &format!(
            r#"{{"filename":"r.txt","note":"n","expiration":"{year}-06-01T12:00:00.5+02:00"}}"#
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let row = entry_row(&s.db(), &id).unwrap();
    assert_eq!(row.expiration_time, Some(format!("{year}-06-01T10:00:00Z")));
    assert_eq!(row.note.as_deref(), Some("n"));

    // No expiration field: never. A null note: removed.
    let r = put_entry(&s, &id, r#"{"filename":"r.txt","note":null}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    let row = entry_row(&s.db(), &id).unwrap();
    assert_eq!(row.expiration_time.as_deref(), Some(NEVER));
    assert_eq!(row.note, None);
    assert_downloads(&s, &id, &data);
}

#[test]
fn delete_removes_the_entry_its_chunks_and_downloads() {
    let s = Server::builder().chunk_size(CHUNK).start();
    let data = pattern(3500, 13);
    let id = s.put_file(&data, "doomed.bin");
    let other = s.put_file(&pattern(1500, 14), "kept.bin");
    assert_downloads(&s, &id, &data);
    assert_downloads_count(&s, &id, 1, "GET");

    let r = s
        .request("DELETE", &format!("/api/entry/{id}"))
        .auth()
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    for path in [
        format!("/-{id}"),
        format!("/!{id}"),
        format!("/-{id}/doomed.bin"),
    ] {
        let r = s.get(&path).send();
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.message(), "entry not found", "{path}");
    }
    let db = s.db();
    for table in [
        "SELECT COUNT(*) FROM entries WHERE id = ?1",
        "SELECT COUNT(*) FROM entries_data WHERE id = ?1",
        "SELECT COUNT(*) FROM downloads WHERE entry_id = ?1",
    ] {
        let n: i64 = db.query_row(table, [&id], |r| r.get(0)).unwrap();
        assert_eq!(n, 0, "{table}");
    }
    assert_eq!(s.chunks(&other).len(), 2, "the other file keeps its chunks");
    assert_eq!(s.get(&format!("/-{other}")).send().status, 200);

    let again = s
        .request("DELETE", &format!("/api/entry/{id}"))
        .auth()
        .send();
    assert!(
        matches!(again.status, 200 | 404),
        "repeat delete: {}",
        again.status
    );
    let bad = s.request("DELETE", "/api/entry/abc").auth().send();
    assert_eq!(bad.status, 400);
}

// ---------------------------------------------------------------------------------------------
// Expiry, collection, persistence.

#[test]
fn issue_2_expired_entries_are_404_before_gc_and_collected_at_startup() {
    let s0 = Server::builder().chunk_size(CHUNK);
    let mut s = s0.start();
    let data = pattern(2500, 15);
    let expired = s.put_file(&data, "old.bin");
    let alive = s.put_file(&data, "alive.bin");
    assert_downloads(&s, &expired, &data);
    assert_downloads_count(&s, &expired, 1, "GET");
    s.db()
        .execute(
            "UPDATE entries SET expiration_time = ?1 WHERE id = ?2",
            [in_secs(-60), expired.clone()],
        )
        .unwrap();
    for path in [
        format!("/-{expired}"),
        format!("/-{expired}/old.bin"),
        format!("/!{expired}"),
    ] {
        assert_eq!(s.get(&path).send().status, 404, "GET {path}");
        assert_eq!(s.head(&path).send().status, 404, "HEAD {path}");
        let r = s.get(&path).header("Range", "bytes=0-9").send();
        assert_eq!(r.status, 404, "Range {path}");
    }
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM entries WHERE id = '{expired}'"
        )),
        1,
        "still in the table: the hourly GC has not run"
    );

    s.restart();
    assert_eq!(s.get(&format!("/-{expired}")).send().status, 404);
    let db = s.db();
    let gone = wait_until(Duration::from_secs(5), || {
        count(
            &db,
            &format!("SELECT COUNT(*) FROM entries WHERE id = '{expired}'"),
        ) == 0
    });
    assert!(gone, "start-up GC removed the expired entry");
    for sql in [
        format!("SELECT COUNT(*) FROM entries_data WHERE id = '{expired}'"),
        format!("SELECT COUNT(*) FROM downloads WHERE entry_id = '{expired}'"),
    ] {
        assert_eq!(count(&db, &sql), 0, "{sql}");
    }
    assert_downloads(&s, &alive, &data);
}

#[test]
fn gc_runs_on_its_interval_and_removes_orphaned_chunks() {
    let s = Server::builder().chunk_size(CHUNK).gc_interval(1).start();
    let data = pattern(2500, 16);
    let expired = s.put_file(&data, "old.bin");
    let alive = s.put_file(&data, "alive.bin");
    s.get(&format!("/-{expired}")).send();
    assert_downloads_count(&s, &expired, 1, "GET");
    let db = s.db();
    db.execute(
        "UPDATE entries SET expiration_time = ?1 WHERE id = ?2",
        [in_secs(-60), expired.clone()],
    )
    .unwrap();
    // Chunks of an upload that crashed long ago.
    for i in 0..3 {
        db.execute(
            "INSERT INTO entries_data (id, chunk_index, chunk) VALUES ('zzzzzzzzzz', ?1, ?2)",
            rusqlite::params![i, vec![7u8; 100]],
        )
        .unwrap();
    }
    let collected = wait_until(Duration::from_secs(6), || {
        count(
            &db,
            "SELECT COUNT(*) FROM entries_data WHERE id = 'zzzzzzzzzz'",
        ) == 0
            && count(
                &db,
                &format!("SELECT COUNT(*) FROM entries WHERE id = '{expired}'"),
            ) == 0
    });
    assert!(collected, "GC with --gc-interval 1 ran within 6 s");
    assert_eq!(
        count(
            &db,
            &format!("SELECT COUNT(*) FROM entries_data WHERE id = '{expired}'")
        ),
        0
    );
    assert_eq!(
        count(
            &db,
            &format!("SELECT COUNT(*) FROM downloads WHERE entry_id = '{expired}'")
        ),
        0
    );
    assert_downloads(&s, &alive, &data);
    assert_chunked(&s, &alive, &data, CHUNK);
}

#[test]
fn entries_survive_a_restart() {
    let mut s = Server::builder().chunk_size(CHUNK).start();
    let big = pattern(4321, 17);
    let small = b"tiny".to_vec();
    let a = s.upload_ok(&Upload::new(&big, "big.bin").note("persist me"));
    let b = s.put_file(&small, "tiny.txt");
    s.get(&format!("/-{a}")).send();
    assert_downloads_count(&s, &a, 1, "GET");
    let before_a = entry_row(&s.db(), &a).unwrap();

    s.stop();
    // After a clean stop the main database file alone holds everything (WAL checkpointed).
    let copy = s.tmpdir.join("copy-of-main-file.db");
    std::fs::copy(&s.db_path, &copy).unwrap();
    let c = open_db(&copy);
    assert_eq!(count(&c, "SELECT COUNT(*) FROM entries"), 2, "checkpointed");
    assert_eq!(
        count(&c, "SELECT COUNT(*) FROM downloads"),
        1,
        "checkpointed"
    );
    drop(c);

    s.start_again();
    assert_downloads(&s, &a, &big);
    assert_downloads(&s, &b, &small);
    assert_eq!(entry_row(&s.db(), &a).unwrap(), before_a);
    assert_downloads_count(&s, &a, 2, "GET after restart");
    // The admin can log in again and keep working.
    let c = s.put_file(b"after", "after.txt");
    assert_downloads(&s, &c, b"after");
}

// ---------------------------------------------------------------------------------------------
// Routing and bad ids.

#[test]
fn an_entry_becomes_visible_only_with_all_its_chunks() {
    // The entries row is inserted last. The upload is held mid-copy — its first 24 MiB run
    // of chunks committed, the rest not yet sent — and a reader must then see chunks under an
    // id that no entry has; once the rest arrives, the entry appears with every byte.
    let s = Server::builder().chunk_size(CHUNK).start();
    let data = pattern(32 << 20, 21);
    let mut up = s.raw_admin_upload(&Upload::new(&data, "watched.bin"));
    up.send_to(28 << 20);
    let db = s.db();
    assert!(
        wait_until(Duration::from_secs(30), || !orphan_chunk_ids(&db)
            .is_empty()),
        "the upload's first chunks never reached the database"
    );
    let copying = orphan_chunk_ids(&db);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM entries"),
        0,
        "visible mid-copy"
    );
    let partial = stored_bytes(&db, &copying[0]).len();
    assert!(
        partial > 0 && partial < data.len(),
        "{partial} of {} bytes copied while the body still arrives",
        data.len()
    );
    let r = up.finish();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let answer: serde_json::Value = serde_json::from_slice(&raw_body(&r)).expect("JSON");
    assert_eq!(answer["id"].as_str(), Some(copying[0].as_str()));
    assert_chunked(&s, &copying[0], &data, CHUNK);
}

#[test]
fn issue_2_memory_stays_flat_for_a_64_mib_upload_and_download() {
    let s = Server::start();
    s.login();
    let before = vm_hwm_kib(s.pid());
    let data = pattern(64 << 20, 64);
    let id = s.put_file(&data, "big64.bin");
    let r = s.get(&format!("/-{id}")).send();
    assert_eq!(sha256_hex(&r.body), sha256_hex(&data), "byte-identical");
    let after = vm_hwm_kib(s.pid());
    let grew = after.saturating_sub(before);
    eprintln!("VmHWM {before} kB -> {after} kB for a 64 MiB upload and download");
    assert!(
        grew < 24 * 1024,
        "peak RSS grew by {grew} kB (from {before} to {after}) for a 64 MiB file"
    );
}

#[test]
fn the_note_may_come_after_the_file_part() {
    // Browsers' FormData keeps the order the page appended: file first, then note.
    let s = Server::builder().chunk_size(CHUNK).start();
    for (len, seed) in [(3000usize, 1u64), ((1 << 20) + 4321, 2)] {
        let data = pattern(len, seed);
        let mut m = Multipart::new();
        m.file("file", "first.bin", Some("application/octet-stream"), &data);
        m.text("note", "the note comes last");
        let (ct, body) = m.finish();
        let r = s
            .request(
                "POST",
                &format!("/api/entry?expiration={}", query_encode(&in_days(1))),
            )
            .auth()
            .header("Content-Type", &ct)
            .body(body)
            .send();
        assert_eq!(r.status, 200, "{len} bytes: {}", r.text());
        let id = r.json()["id"].as_str().unwrap().to_owned();
        let row = entry_row(&s.db(), &id).unwrap();
        assert_eq!(row.note.as_deref(), Some("the note comes last"));
        assert_downloads(&s, &id, &data);
        s.assert_spool_empty(Duration::from_secs(2));
    }
}

#[test]
fn content_length_on_every_download() {
    // Small bodies and large ones alike: GET and HEAD, whole file and ranges.
    let s = Server::start();
    let mut problems = Vec::new();
    for len in [
        1usize,
        1000,
        32_767,
        32_768,
        100_000,
        327_681,
        (1 << 20) + 1,
    ] {
        let data = pattern(len, len as u64);
        let id = s.put_file(&data, "sized.bin");
        let path = format!("/-{id}");
        let get = s.get(&path).send();
        assert!(get.body == data, "{len} bytes");
        let head = s.head(&path).send();
        let ranged = s.get(&path).header("Range", "bytes=0-").send();
        assert_eq!(ranged.status, 206);
        let want = len.to_string();
        for (what, r) in [("GET", &get), ("HEAD", &head), ("GET bytes=0-", &ranged)] {
            if r.header("content-length") != Some(want.as_str()) {
                problems.push(format!(
                    "{what} of {len} bytes: Content-Length {:?}, Transfer-Encoding {:?}",
                    r.header("content-length"),
                    r.header("transfer-encoding")
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn head_works_on_pages_and_proxy_headers_need_ps_behind_proxy() {
    let s = Server::start();
    for path in ["/", "/login"] {
        let get = s.get(path).send();
        let head = s.head(path).send();
        assert_eq!(get.status, 200, "GET {path}");
        assert_eq!(head.status, 200, "HEAD {path}");
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "{path}"
        );
    }
    // Without PS_BEHIND_PROXY a client cannot make us redirect (spec §7.10).
    let id = s.put_file(b"x", "x.txt");
    let r = s
        .get(&format!("/-{id}"))
        .header("X-Forwarded-Proto", "http")
        .send();
    assert_eq!(
        r.status, 200,
        "X-Forwarded-Proto ignored without PS_BEHIND_PROXY"
    );
    let r = s.get("/").header("X-Forwarded-Proto", "http").send();
    assert_eq!(r.status, 200);
}

#[test]
fn round_trips_at_the_spill_and_default_chunk_boundaries() {
    // 327,680 is the default chunk; 1 MiB is where an upload spills from memory to disk.
    let s = Server::start();
    for (seed, len) in [
        327_679usize,
        327_680,
        327_681,
        655_360,
        (1 << 20) - 1,
        1 << 20,
        (1 << 20) + 1,
    ]
    .into_iter()
    .enumerate()
    {
        let data = pattern(len, 50 + seed as u64);
        let id = s.put_file(&data, "edge.bin");
        assert_downloads(&s, &id, &data);
        assert_chunked(&s, &id, &data, 327_680);
        let r = s
            .get(&format!("/-{id}"))
            .header("Range", &format!("bytes={}-", len - 1))
            .send();
        assert_eq!(r.status, 206);
        assert_eq!(r.body, &data[len - 1..], "last byte of {len}");
    }
}

#[test]
fn files_written_with_another_chunk_size_stay_readable() {
    let s = Server::builder().chunk_size(1000).start();
    let data = pattern(10_500, 60);
    let old = s.put_file(&data, "old.bin");
    let dir = s.into_dir();
    let s = Server::builder().chunk_size(4096).in_dir(dir).start();
    let new = s.put_file(&data, "new.bin");
    assert_chunked(&s, &old, &data, 1000);
    assert_chunked(&s, &new, &data, 4096);
    for id in [&old, &new] {
        assert_downloads(&s, id, &data);
        for (a, b) in [(999, 1000), (4095, 4096), (3000, 9000), (10_499, 10_499)] {
            let r = s
                .get(&format!("/-{id}"))
                .header("Range", &format!("bytes={a}-{b}"))
                .send();
            assert_eq!(r.status, 206);
            assert!(r.body == data[a..=b], "{id} bytes={a}-{b}");
        }
    }
}

#[test]
fn status_tables_reach_the_client_as_the_handlers_answer() {
    // tests/handlers.rs checks the tables in-process; here one case of each goes over the wire
    // through the real binary and must arrive exactly as `App::handle` answered it.
    let s = Server::start();
    let h = InProcess::new();
    let bad_link = r#"{"urlExpirationTime":"soon","fileLifetime":"24h"}"#;
    let cases: &[(&str, &str, bool, &str)] = &[
        ("GET", "/-abc", false, ""),
        ("GET", "/-aaaaaaaaaa", false, ""),
        ("GET", "/nope", false, ""),
        ("GET", "/api/auth", false, ""),
        ("DELETE", "/api/entry/aaaaaaaaaa", false, ""),
        ("POST", "/api/auth", false, r#"{"sharedSecretKey":""}"#),
        ("PUT", "/api/entry/aaaaaaaaaa", true, r#"{"filename":"#),
        ("PUT", "/api/entry/abc", true, r#"{"filename":"k.txt"}"#),
        ("POST", "/api/entry?expiration=tomorrow", true, ""),
        ("POST", "/api/guest-links", true, bad_link),
        (
            "PUT",
            "/api/settings",
            true,
            r#"{"defaultExpirationDays":0}"#,
        ),
        ("POST", "/api/guest/tooshort", false, ""),
    ];
    for &(method, path, admin, body) in cases {
        let wire = s.request(method, path).auth_if(admin).json(body).send();
        let direct = h.request(method, path).auth_if(admin).json(body).send();
        let what = format!("{method} {path}");
        assert!((400..500).contains(&wire.status), "{what}: {wire:?}");
        assert_eq!(
            (wire.status, wire.text()),
            (direct.status, direct.text()),
            "{what}"
        );
        // The same headers, but for the page CSP's per-response script nonce.
        let unsalted = |v: Option<&str>| {
            v.map(|v| {
                v.split(' ')
                    .map(|w| {
                        if w.starts_with("'nonce-") {
                            "'nonce'"
                        } else {
                            w
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        };
        for name in ["content-type", "allow", "content-security-policy"] {
            assert_eq!(
                unsalted(wire.header(name)),
                unsalted(direct.header(name)),
                "{what}: {name}"
            );
        }
        assert_eq!(
            wire.set_cookie("sharedSecret").is_some(),
            direct.set_cookie("sharedSecret").is_some(),
            "{what}: Set-Cookie"
        );
    }
}
