//! Issue 13: every acknowledged upload is byte-exact. Multipart bodies that multipart 0.18
//! got wrong — the boundary string inside a file, `CRLF--boundary` followed by other bytes,
//! quoted file names with `;`, `filename*`, oversized or malformed part headers — go through
//! the real binary, and each stored file is checked by the SHA-256 of its download; the copy
//! into SQLite still runs while the body arrives. Then a differential test: random forms
//! encoded by Python's `email` package, uploaded with curl, downloaded and compared.
//! `make fuzz` runs it long (`FUZZ_ITERS`).

mod common;

#[path = "../multipart/tests/reference/mod.rs"]
mod reference;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// Posts `body` as an admin upload with `Content-Type: content_type`.
fn post(s: &Server, content_type: &str, body: Vec<u8>) -> Resp {
    s.request(
        "POST",
        &format!("/api/entry?expiration={}", query_encode(NEVER)),
    )
    .auth()
    .header("Content-Type", content_type)
    .body(body)
    .send()
}

/// Posts `body` with `boundary`, asserts it was accepted, and returns the stored entry's id.
#[track_caller]
fn upload_raw(s: &Server, boundary: &str, body: Vec<u8>) -> String {
    let r = post(
        s,
        &format!("multipart/form-data; boundary={boundary}"),
        body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["id"].as_str().expect("id").to_owned()
}

/// The SHA-256 of what `GET /-id` serves.
#[track_caller]
fn download_sha(s: &Server, id: &str) -> String {
    let r = s.get(&format!("/-{id}")).send();
    assert_eq!(r.status, 200, "download {id}");
    sha256_hex(&r.body)
}

/// A form with one file part holding `data`, named `filename`.
fn file_body(boundary: &str, filename: &str, data: &[u8]) -> Vec<u8> {
    [
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
        data,
        format!("\r\n--{boundary}--\r\n").as_bytes(),
    ]
    .concat()
}

#[test]
fn issue_13_the_issues_reproduction_is_stored_byte_exact() {
    let s = Server::start();
    let body = b"--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n\
                 abc--XX--tail\r\n--XX--\r\n"
        .to_vec();
    let id = upload_raw(&s, "XX", body);
    assert_eq!(download_sha(&s, &id), sha256_hex(b"abc--XX--tail"));
    assert_eq!(entry_row(&s.db(), &id).unwrap().filename, "a.txt");
}

#[test]
fn issue_13_boundary_look_alikes_inside_files_are_content() {
    let s = Server::builder().chunk_size(4096).start();
    let b = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
    // A 3 MiB file holding its own delimiter string mid-line, as in the issue.
    let mut big = pattern((3 << 20) + 1000, 13);
    big[(3 << 20) - 1] = b'x';
    big.splice(3 << 20..3 << 20, format!("--{b}--").into_bytes());
    // CRLF--boundary followed by other bytes, at and around the 8 KiB read buffer's edges
    // and the 1 MiB spool buffer's.
    let mut edges = pattern(2 << 20, 14);
    for (i, at) in [8190, 8192, 16_380, 1 << 20, (1 << 20) + 3]
        .into_iter()
        .enumerate()
    {
        let tail: &[u8] = [&b"x"[..], b"--x", b" \tx", b"\rx", b"-"][i];
        edges.splice(at..at, [format!("\r\n--{b}").as_bytes(), tail].concat());
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("3 MiB with --boundary-- mid-line", big),
        ("CRLF--boundary plus other bytes at buffer edges", edges),
        (
            "CRLF--boundary then a letter",
            format!("line1\r\n--{b}x\r\nline3").into_bytes(),
        ),
        (
            "boundary then space and text",
            format!("x\r\n--{b} y").into_bytes(),
        ),
        (
            "close delimiter then text",
            format!("x\r\n--{b}--tail\r\n").into_bytes(),
        ),
        ("the boundary alone", b.as_bytes().to_vec()),
        ("ends with a CR", b"abc\r".to_vec()),
        (
            "ends with CRLF and a dash",
            format!("abc\r\n--{b}-").into_bytes(),
        ),
        ("only CRLFs and dashes", b"\r\n--\r\n-\r\r\n\n--".to_vec()),
    ];
    for (what, data) in cases {
        let id = upload_raw(&s, b, file_body(b, "f.bin", &data));
        assert_eq!(download_sha(&s, &id), sha256_hex(&data), "{what}");
    }
}

#[test]
fn issue_13_delimiters_follow_rfc_2046() {
    let s = Server::start();
    let data = pattern(5000, 15);
    let cd = "Content-Disposition: form-data; name=\"file\"; filename=\"d.bin\"";
    let with = |head: &str, tail: &str| [head.as_bytes(), &data, tail.as_bytes()].concat();
    let b70 = "7".repeat(70);
    let cases: Vec<(&str, String, Vec<u8>)> = vec![
        (
            "preamble and epilogue",
            "multipart/form-data; boundary=B".into(),
            with(
                &format!("preamble\r\n--B\r\n{cd}\r\n\r\n"),
                "\r\n--B--\r\nepilogue --B\r\n",
            ),
        ),
        (
            "transport padding after every delimiter",
            "multipart/form-data; boundary=B".into(),
            with(
                &format!("--B \t \r\n{cd}\r\n\r\n"),
                "\r\n--B\t\r\nContent-Disposition: form-data; name=x\r\n\r\ny\r\n--B--  \r\n",
            ),
        ),
        (
            "close delimiter ends the body",
            "multipart/form-data; boundary=B".into(),
            with(&format!("--B\r\n{cd}\r\n\r\n"), "\r\n--B--"),
        ),
        (
            "1-character boundary",
            "multipart/form-data; boundary=1".into(),
            with(&format!("--1\r\n{cd}\r\n\r\n"), "\r\n--1--\r\n"),
        ),
        (
            "70-character boundary, quoted",
            format!("multipart/form-data; boundary=\"{b70}\""),
            with(
                &format!("--{b70}\r\n{cd}\r\n\r\n"),
                &format!("\r\n--{b70}--\r\n"),
            ),
        ),
        (
            "quoted boundary with a space and a ';', parameters in any case",
            "Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b;c\"".into(),
            with(&format!("--a b;c\r\n{cd}\r\n\r\n"), "\r\n--a b;c--\r\n"),
        ),
    ];
    for (what, ct, body) in cases {
        let r = post(&s, &ct, body);
        assert_eq!(r.status, 200, "{what}: {}", r.text());
        let id = r.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(download_sha(&s, &id), sha256_hex(&data), "{what}");
    }
    let r = post(
        &s,
        &format!("multipart/form-data; boundary={b70}7"),
        with(
            &format!("--{b70}7\r\n{cd}\r\n\r\n"),
            &format!("\r\n--{b70}7--\r\n"),
        ),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.message(),
        "invalid request: bad multipart boundary: it is longer than 70 characters"
    );
}

#[test]
fn issue_13_file_names_follow_rfc_7578() {
    let s = Server::start();
    let data = b"name test".to_vec();
    let disposition = |params: &str| {
        let mut b =
            format!("--B\r\nContent-Disposition: form-data; name=\"file\"; {params}\r\n\r\n")
                .into_bytes();
        b.extend_from_slice(&data);
        b.extend_from_slice(b"\r\n--B--\r\n");
        b
    };
    let cases = [
        (r#"filename="données été; v2.csv""#, "données été; v2.csv"),
        (r#"filename="say \"hi\".txt""#, "say \"hi\".txt"),
        // Unescaped quotes (hand-built bodies): a quote ends the value only before ';' or
        // the end of the header.
        (r#"filename="say "hi".txt""#, "say \"hi\".txt"),
        (r#"filename="a;b;c.txt"; x="y;z""#, "a;b;c.txt"),
        (
            r#"filename="fallback.txt"; filename*=UTF-8''%E2%9C%93%20ok%3B%20v2.txt"#,
            "✓ ok; v2.txt",
        ),
        (
            r#"filename*=utf-8'fr'donn%C3%A9es.csv; filename="fallback.txt""#,
            "données.csv",
        ),
        ("filename=plain.txt", "plain.txt"),
        (r#"FileName = "spaced.txt" "#, "spaced.txt"),
        (r#"filename="dir/sub/base.txt""#, "base.txt"),
    ];
    for (params, want) in cases {
        let r = post(&s, "multipart/form-data; boundary=B", disposition(params));
        assert_eq!(r.status, 200, "{params}: {}", r.text());
        let id = r.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(entry_row(&s.db(), &id).unwrap().filename, want, "{params}");
        assert_eq!(download_sha(&s, &id), sha256_hex(&data), "{params}");
    }

    // curl's own encoding of a quoted name with ';' (the issue's example).
    let dir = TempDir::new("issue13-curl");
    let path = dir.join("x");
    std::fs::write(&path, &data).unwrap();
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "60", "--noproxy", "*", "-H", "Expect:"])
        .arg("-H")
        .arg(format!("Cookie: {}", s.login()))
        .arg("-F")
        .arg(format!(
            "file=@{};filename=\"données été; v2.csv\"",
            path.display()
        ))
        .arg(s.url(&format!("/api/entry?expiration={}", query_encode(NEVER))))
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON id");
    let id = answer["id"].as_str().expect("id");
    assert_eq!(
        entry_row(&s.db(), id).unwrap().filename,
        "données été; v2.csv"
    );
    assert_eq!(download_sha(&s, id), sha256_hex(&data));
}

#[test]
fn issue_13_each_refusal_has_its_own_message_and_stores_nothing() {
    let s = Server::start();
    let head = |headers: &str| format!("--B\r\n{headers}\r\n\r\ndata\r\n--B--\r\n").into_bytes();
    let cd = "Content-Disposition: form-data; name=\"file\"";
    let incomplete = "invalid request: upload incomplete: the request body ended before the \
                      closing multipart boundary";
    let cases: Vec<(&str, Vec<u8>, String)> =
        vec![
        (
            "100 KB part header",
            head(&format!("{cd}; filename=\"h.txt\"\r\nX-Pad: {}", "p".repeat(100_000))),
            "invalid request: part header too large: a part's headers may be at most 16384 bytes"
                .into(),
        ),
        (
            "10 KB file name",
            head(&format!("{cd}; filename=\"{}.txt\"", "n".repeat(10_000))),
            "invalid request: filename too long".into(),
        ),
        (
            "NUL in the file name",
            head(&format!("{cd}; filename=\"a\0b.txt\"")),
            "invalid request: bad filename: the filename has a control character (0x00)".into(),
        ),
        (
            "escape in filename*",
            head(&format!("{cd}; filename*=UTF-8''a%1Bb.txt")),
            "invalid request: bad filename: the filename has a control character (0x1b)".into(),
        ),
        (
            "filename* not UTF-8",
            head(&format!("{cd}; filename*=UTF-8''%E9t%E9.txt")),
            "invalid request: bad filename: filename* is not valid UTF-8".into(),
        ),
        (
            "unterminated quoted file name",
            head(&format!("{cd}; filename=\"open.txt")),
            "invalid request: bad Content-Disposition: parameter filename's quoted value has \
             no closing quote"
                .into(),
        ),
        (
            "no Content-Disposition",
            head("Content-Type: text/plain"),
            "invalid request: bad Content-Disposition: a part has no Content-Disposition header"
                .into(),
        ),
        (
            "header line without a colon",
            head(&format!("{cd}; filename=\"f\"\r\nnot a header")),
            "invalid request: malformed part header: line \"not a header\" has no ':'".into(),
        ),
        (
            "too much transport padding",
            format!("--B{}\r\n", " ".repeat(100)).into_bytes(),
            "invalid request: malformed multipart delimiter: more than 64 bytes of whitespace \
             after a boundary"
                .into(),
        ),
        (
            "cut inside the part's data",
            format!("--B\r\n{cd}; filename=\"f\"\r\n\r\ndata\r\n--B-").into_bytes(),
            incomplete.into(),
        ),
        (
            "cut inside the part's headers",
            format!("--B\r\n{cd}; filen").into_bytes(),
            format!("{incomplete} (inside a part's headers)"),
        ),
        (
            "no delimiter at all",
            b"just some bytes".to_vec(),
            format!("{incomplete} (no boundary line was found)"),
        ),
    ];
    for (what, body, want) in cases {
        let r = post(&s, "multipart/form-data; boundary=B", body);
        assert_eq!((r.status, r.message()), (400, want), "{what}");
    }
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 0);
    assert_eq!(s.count("SELECT COUNT(*) FROM entries_data"), 0);
    s.assert_spool_empty(Duration::from_secs(2));
}

#[test]
fn issue_13_unknown_parts_are_skipped_within_the_part_limit() {
    let s = Server::start();
    let data = pattern(70_000, 16);
    let extra = |name: &str| {
        format!(
            "--B\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"x.bin\"\r\n\
             X-Custom: yes\r\n\r\n--B-- not the end\r\n"
        )
    };
    let file = [
        b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"real.bin\"\r\n\r\n"
            .as_slice(),
        &data,
        b"\r\n",
    ]
    .concat();
    let form = |before: usize, after: usize| {
        let mut b: Vec<u8> = (0..before)
            .flat_map(|i| extra(&format!("a{i}")).into_bytes())
            .collect();
        b.extend_from_slice(&file);
        b.extend((0..after).flat_map(|i| extra(&format!("z{i}")).into_bytes()));
        b.extend_from_slice(b"--B--\r\n");
        b
    };
    let id = upload_raw(&s, "B", form(7, 8));
    assert_eq!(download_sha(&s, &id), sha256_hex(&data));
    assert_eq!(entry_row(&s.db(), &id).unwrap().filename, "real.bin");
    let r = post(&s, "multipart/form-data; boundary=B", form(8, 8));
    assert_eq!(
        (r.status, r.message().as_str()),
        (400, "invalid request: more than 16 form parts")
    );
}

#[test]
fn issue_13_the_copy_into_sqlite_overlaps_receipt() {
    // Scope 3: the reader hands content on as it arrives, so chunks are committed into SQLite
    // (rows with no entry yet) while the body is still being sent; the close delimiter has
    // not arrived. The file is dense with look-alikes (the scanner's slow path).
    let s = Server::start();
    let mut data = pattern(32 << 20, 17);
    for at in (100..data.len() - 8).step_by(4096) {
        data[at..at + 7].copy_from_slice(b"\r\n--XXy");
    }
    let body = file_body("XX", "overlap.bin", &data);
    let mut up = s
        .raw_upload(
            &format!("/api/entry?expiration={}", query_encode(NEVER)),
            true,
            "multipart/form-data; boundary=XX",
            body,
            None,
        )
        .expect("the server asks for the body");
    up.send_to(28 << 20);
    let db = s.db();
    let copied = wait_until(Duration::from_secs(30), || {
        count(
            &db,
            "SELECT COUNT(*) FROM entries_data WHERE id NOT IN (SELECT id FROM entries)",
        ) > 0
    });
    assert!(
        copied,
        "no chunk reached SQLite while 4 MiB of the body were still unsent"
    );
    let r = up.finish();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let id = serde_json::from_slice::<serde_json::Value>(&raw_body(&r)).expect("JSON")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(download_sha(&s, &id), sha256_hex(&data));
}

/// Expected outcome of uploading `form`: the first `file` part with a file name is the
/// upload (the server's rule); its name must also pass the filename rules.
enum Outcome {
    Stored {
        name: String,
        content_type: String,
        data: Vec<u8>,
        note: Option<String>,
    },
    Refused(&'static str),
}

fn expected(form: &reference::Form) -> Outcome {
    let Some(file) = form
        .parts
        .iter()
        .find(|p| p.name == "file" && p.filename.as_deref().is_some_and(|f| !f.is_empty()))
    else {
        return Outcome::Refused("http: no such file");
    };
    let name = file.filename.clone().unwrap_or_default();
    if file.data.is_empty() {
        return Outcome::Refused("invalid request: file must be non-empty");
    }
    if name.contains('\\') {
        return Outcome::Refused("invalid request: illegal characters in filename");
    }
    let note = form
        .parts
        .iter()
        .rev()
        .find(|p| p.name == "note")
        .map(|p| String::from_utf8(p.data.clone()).expect("ASCII note"))
        .filter(|n| !n.is_empty());
    Outcome::Stored {
        name,
        content_type: file.content_type.clone().unwrap_or_default(),
        data: file.data.clone(),
        note,
    }
}

#[test]
fn issue_13_python_encoded_uploads_come_back_byte_exact() {
    let found = match reference::python3_missing() {
        None => Ok(()),
        Some(why) => Err(why),
    };
    if require("python3", found).is_none() {
        return;
    }
    let s = Server::builder().chunk_size(1000).start();
    let n = reference::iterations(25);
    let mut rng = reference::Rng::new(0xC0FFEE);
    let started = Instant::now();
    let (mut stored, mut refused, mut bytes) = (0, 0, 0);
    // In batches, so a long run never holds more than a batch of bodies.
    let all: Vec<usize> = (0..n).collect();
    for batch in all.chunks(100) {
        let forms = batch
            .iter()
            .map(|&i| {
                let mut form = reference::form(&mut rng, 40_000);
                for part in form.parts.iter_mut().filter(|p| p.name == "file") {
                    // Most names pass the server's filename rules (a backslash does not).
                    if i % 5 != 0 {
                        if let Some(name) = &mut part.filename {
                            *name = name.replace('\\', "_");
                        }
                    }
                    // Every tenth file is 1–2.5 MiB: past the 1 MiB in-memory buffer, spooled.
                    if i % 10 == 3 {
                        let len = (1 << 20) + rng.below(3 << 19);
                        part.data = reference::content_of_len(&mut rng, &form.boundary, len);
                    }
                }
                form
            })
            .collect();
        for (e, &i) in reference::encode(forms).into_iter().zip(batch) {
            let r = post(&s, &e.content_type, e.body.clone());
            match expected(&e.form) {
                Outcome::Stored {
                    name,
                    content_type,
                    data,
                    note,
                } => {
                    assert_eq!(r.status, 200, "form {i}: {}", r.text());
                    let id = r.json()["id"].as_str().unwrap().to_owned();
                    assert_eq!(
                        download_sha(&s, &id),
                        sha256_hex(&data),
                        "form {i}: the bytes"
                    );
                    let row = entry_row(&s.db(), &id).unwrap();
                    assert_eq!(row.filename, name, "form {i}: the file name");
                    assert_eq!(row.content_type, content_type, "form {i}: the content type");
                    assert_eq!(row.note, note, "form {i}: the note");
                    // Keeps a long run's database small.
                    let d = s
                        .request("DELETE", &format!("/api/entry/{id}"))
                        .auth()
                        .send();
                    assert_eq!(d.status, 200, "delete {id}");
                    stored += 1;
                    bytes += data.len();
                }
                Outcome::Refused(message) => {
                    assert_eq!((r.status, r.message().as_str()), (400, message), "form {i}");
                    refused += 1;
                }
            }
        }
    }
    s.assert_spool_empty(Duration::from_secs(5));
    eprintln!(
        "issue 13 differential through the server: {n} Python-encoded forms, {stored} stored \
         ({bytes} file bytes, all SHA-256 equal), {refused} refused as expected, in {:.1?}",
        started.elapsed()
    );
    assert!(stored > n / 2, "most forms carry a storable file");
}
