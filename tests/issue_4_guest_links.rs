//! Issue 4 (guest links, guest uploads, download history, settings, system information)
//! against the real `picoshare` binary on 127.0.0.1, with curl where a user would use it and
//! raw sockets where curl cannot show what matters.

mod common;

use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::*;

/// Writes a file of `len` bytes into the test folder and returns its path.
fn test_file(s: &Server, name: &str, len: u64) -> PathBuf {
    let p = s.tmpdir.join(name);
    write_pattern_file(&p, len as usize, len);
    p
}

/// A guest upload of `file` with `curl -F` (`extra` arguments first).
fn guest_upload(s: &Server, link: &str, file: &Path, extra: &[&str]) -> Resp {
    s.upload_path(&format!("/api/guest/{link}"), file, false, extra)
}

fn link_body(max_bytes: Option<u64>, max_uploads: Option<u64>, lifetime: &str) -> String {
    serde_json::json!({
        "label": "test link",
        "urlExpirationTime": in_days(2),
        "fileLifetime": lifetime,
        "maxFileBytes": max_bytes,
        "maxFileUploads": max_uploads,
    })
    .to_string()
}

/// The id at the end of a plain-text guest answer (`http://host/-ID\r\n`).
fn id_from_url(body: &str) -> String {
    body.trim_end()
        .rsplit_once("/-")
        .map(|(_, id)| id.to_owned())
        .expect("download URL")
}

// ---------------------------------------------------------------------------------------------
// Guest-link API.

// ---------------------------------------------------------------------------------------------
// Guest uploads.

#[test]
fn issue_4_guest_upload_answers_curl_in_plain_text_and_browsers_in_json() {
    let s = Server::start();
    let link = s.create_guest_link(&link_body(Some(10 * MIB), None, "168h0m0s"));
    let file = test_file(&s, "hello.txt", 5000);

    let a = guest_upload(&s, &link, &file, &[]);
    eprintln!(
        "$ curl -F file=@hello.txt {}\n< {} {}\n{}",
        s.url(&format!("/api/guest/{link}")),
        a.status,
        a.header("content-type").unwrap_or(""),
        a.text().escape_debug()
    );
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.header("content-type").unwrap_or(""), "text/plain");
    let prefix = format!("http://{}/-", s.addr);
    assert!(
        a.text().starts_with(&prefix) && a.text().ends_with("\r\n"),
        "{:?}",
        a.body
    );
    let id = id_from_url(&a.text());
    assert_eq!(id.len(), 10);

    // The link downloads the same bytes.
    assert_eq!(a.message(), s.url(&format!("/-{id}")));
    let got = s.get(&format!("/-{id}")).send();
    assert_eq!(got.status, 200);
    assert_eq!(got.body, fs::read(&file).unwrap());

    // Attribution and the default expiration: upload time + the link's lifetime (7 days).
    let (guest, upload, expiration, note): (Option<String>, String, String, Option<String>) = s
        .db()
        .query_row(
            "SELECT guest_link_id, upload_time, expiration_time, note FROM entries WHERE id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(guest.as_deref(), Some(link.as_str()));
    assert_eq!(note, None);
    let up = chrono::DateTime::parse_from_rfc3339(&upload).unwrap();
    let exp = chrono::DateTime::parse_from_rfc3339(&expiration).unwrap();
    assert_eq!((exp - up).num_seconds(), 7 * 86_400);

    // Exactly `Accept: application/json` gets JSON.
    let a = guest_upload(&s, &link, &file, &["-H", "Accept: application/json"]);
    assert_eq!(
        (a.status, a.header("content-type").unwrap_or("")),
        (200, "application/json")
    );
    let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(v["id"].as_str().map(str::len), Some(10));
    let a = guest_upload(
        &s,
        &link,
        &file,
        &["-H", "Accept: application/json, text/plain"],
    );
    assert_eq!(a.header("content-type").unwrap_or(""), "text/plain");

    // A requested expiration: within the lifetime is kept; beyond it, or too soon, is 400.
    let ok = guest_upload(&s, &link, &file, &[]);
    assert_eq!(ok.status, 200);
    let within = in_days(3);
    let a = s.upload_path(
        &format!("/api/guest/{link}?expiration={within}"),
        &file,
        false,
        &[],
    );
    assert_eq!(a.status, 200, "{a:?}");
    let stored = stored_expiration(&s.db(), &id_from_url(&a.text()));
    assert_eq!(stored, within);
    for (when, start) in [
        (
            in_days(8),
            "Invalid expiration: requested expiration time of ",
        ),
        (
            "2999-12-31T00:00:00Z".to_owned(),
            "Invalid expiration: requested expiration time of",
        ),
        (
            in_days(0),
            "Invalid expiration: expire time must be at least one hour in the future",
        ),
    ] {
        let a = s.upload_path(
            &format!("/api/guest/{link}?expiration={when}"),
            &file,
            false,
            &[],
        );
        assert_eq!(a.status, 400, "{when}: {a:?}");
        assert!(a.text().starts_with(start), "{a:?}");
    }

    // Guests cannot send notes; nor empty files.
    let a = guest_upload(&s, &link, &file, &["-F", "note=hi"]);
    assert_eq!(
        (a.status, a.message().as_str()),
        (400, "invalid request: guest uploads cannot have file notes")
    );
    let empty = test_file(&s, "empty.txt", 0);
    let a = guest_upload(&s, &link, &empty, &[]);
    assert_eq!(
        (a.status, a.message().as_str()),
        (400, "invalid request: file must be non-empty")
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 5);

    // A never-expiring link gives never-expiring files.
    let forever = s.create_guest_link(&link_body(None, None, "876000h0m0s"));
    let a = guest_upload(&s, &forever, &file, &[]);
    let stored = stored_expiration(&s.db(), &id_from_url(&a.text()));
    assert_eq!(stored, "2999-12-31T00:00:00Z");

    // Bad and unknown link ids.
    let a = guest_upload(&s, "tooshort", &file, &[]);
    assert_eq!(a.status, 400);
    assert!(a.text().starts_with("Invalid guest link ID: "), "{a:?}");
    let a = guest_upload(&s, "ZZkAPdHsixtKqbdE", &file, &[]);
    assert_eq!(
        (a.status, a.message().as_str()),
        (404, "Invalid guest link ID")
    );
    s.assert_spool_empty(Duration::from_secs(2));
}

#[test]
fn issue_4_inactive_links_answer_401() {
    let s = Server::start();
    let file = test_file(&s, "f.bin", 1000);
    let inactive = |link: &str| {
        let a = guest_upload(&s, link, &file, &[]);
        assert_eq!(
            (a.status, a.message().as_str()),
            (401, "Guest link is no longer active"),
            "{link}"
        );
    };

    // Disabled, then enabled again.
    let link = s.create_guest_link(&link_body(None, None, "24h"));
    s.request("PUT", &format!("/api/guest-links/{link}/disable"))
        .auth()
        .send();
    inactive(&link);
    s.request("PUT", &format!("/api/guest-links/{link}/enable"))
        .auth()
        .send();
    assert_eq!(guest_upload(&s, &link, &file, &[]).status, 200);

    // The refusal comes before the body: an `Expect: 100-continue` client never sends it.
    s.request("PUT", &format!("/api/guest-links/{link}/disable"))
        .auth()
        .send();
    let mut t = send_head(
        s.addr,
        &format!(
            "POST /api/guest/{link} HTTP/1.1\r\nHost: {}\r\nContent-Type: multipart/form-data; \
             boundary=XyZ\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n",
            s.addr
        ),
    );
    let head = read_head(&mut t);
    assert!(head.starts_with("HTTP/1.1 401"), "{head:?}");
    drop(t);
    s.request("PUT", &format!("/api/guest-links/{link}/enable"))
        .auth()
        .send();

    // URL expired (set in the database: the API only accepts future times).
    let expired = s.create_guest_link(&link_body(None, None, "24h"));
    set_fixture_time(&s.db_path, "guest_links", &expired, -3600);
    inactive(&expired);

    // Upload count reached; deleting one of its files frees the slot again (as PicoShare).
    let two = s.create_guest_link(&link_body(None, Some(2), "24h"));
    let first = guest_upload(&s, &two, &file, &[]);
    assert_eq!(first.status, 200);
    assert_eq!(guest_upload(&s, &two, &file, &[]).status, 200);
    inactive(&two);
    let id = id_from_url(&first.text());
    assert_eq!(
        s.request("DELETE", &format!("/api/entry/{id}"))
            .auth()
            .send()
            .status,
        200
    );
    assert_eq!(guest_upload(&s, &two, &file, &[]).status, 200);
    inactive(&two);
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM entries WHERE guest_link_id = '{two}'"
        )),
        2
    );
}

#[test]
fn issue_4_deleting_a_link_keeps_its_files() {
    let s = Server::start();
    let link = s.create_guest_link(&link_body(None, None, "168h0m0s"));
    let file = test_file(&s, "keep.bin", 300_000);
    let a = guest_upload(&s, &link, &file, &[]);
    assert_eq!(a.status, 200);
    let id = id_from_url(&a.text());
    assert_eq!(
        s.request("DELETE", &format!("/api/guest-links/{link}"))
            .auth()
            .send()
            .status,
        200
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM guest_links"), 0);
    let guest: Option<String> = s
        .db()
        .query_row(
            "SELECT guest_link_id FROM entries WHERE id = ?1",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(guest, None, "the file survives, no longer attributed");
    let kept = s.get(&format!("/-{id}")).send();
    assert_eq!(kept.status, 200);
    assert_eq!(kept.body, fs::read(&file).unwrap());
    // The link's page is gone for guests.
    assert_eq!(guest_upload(&s, &link, &file, &[]).status, 404);
}

// ---------------------------------------------------------------------------------------------
// The byte cap: on the file's bytes, before the body when the declared length says so, and
// while streaming otherwise.

#[test]
fn issue_4_byte_cap_at_just_below_and_just_above_the_limit() {
    let s = Server::start();
    let link = s.create_guest_link(&link_body(Some(MIB), None, "24h"));
    for (len, status) in [(MIB - 1, 200), (MIB, 200), (MIB + 1, 413)] {
        let file = test_file(&s, &format!("f{len}.bin"), len);
        let a = guest_upload(&s, &link, &file, &[]);
        eprintln!(
            "file of {len} bytes, cap {MIB}: {} {}",
            a.status,
            a.message()
        );
        assert_eq!(a.status, status, "{len}: {a:?}");
        if status == 413 {
            assert_eq!(
                a.message(),
                "invalid request: file is larger than this link's limit of 1048576 bytes"
            );
        }
    }
    // Exactly the two accepted files, whole; no orphaned chunks, no temp files.
    let sizes: Vec<i64> = {
        let c = s.db();
        let mut st = c
            .prepare(
                "SELECT SUM(LENGTH(d.chunk)) FROM entries e JOIN entries_data d ON d.id = e.id \
                 GROUP BY e.id ORDER BY 1",
            )
            .unwrap();
        let v = st
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        v
    };
    assert_eq!(sizes, [(MIB - 1) as i64, MIB as i64]);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM entries_data WHERE id NOT IN (SELECT id FROM entries)"),
        0
    );
    s.assert_spool_empty(Duration::from_secs(2));
}

#[test]
fn issue_4_declared_length_over_the_cap_is_refused_before_the_body() {
    let s = Server::start();
    let link = s.create_guest_link(&link_body(Some(MIB), None, "24h"));
    let declared = MIB + 64 * 1024 + 1;
    let mut t = send_head(
        s.addr,
        &format!(
            "POST /api/guest/{link} HTTP/1.1\r\nHost: {}\r\nContent-Type: multipart/form-data; \
             boundary=XyZ\r\nContent-Length: {declared}\r\nExpect: 100-continue\r\n\r\n",
            s.addr
        ),
    );
    // No body byte sent: the answer must come anyway, and be a 413, not a 100 Continue.
    let head = read_head(&mut t);
    eprintln!(
        "declared {declared} bytes, no body sent → {}",
        head.lines().next().unwrap_or("")
    );
    assert!(head.starts_with("HTTP/1.1 413"), "{head:?}");
    drop(t);
    // A declared length within the allowance is read (and then refused on the file's bytes).
    let mut t = send_head(
        s.addr,
        &format!(
            "POST /api/guest/{link} HTTP/1.1\r\nHost: {}\r\nContent-Type: multipart/form-data; \
             boundary=XyZ\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
            s.addr,
            MIB + 1000
        ),
    );
    let head = read_head(&mut t);
    assert!(head.starts_with("HTTP/1.1 100"), "{head:?}");
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 0);
}

#[test]
fn issue_4_crossing_the_cap_mid_stream_stops_the_upload_at_once() {
    let s = Server::start();
    // One upload allowed: the refused one must give its reserved slot back.
    let link = s.create_guest_link(&link_body(Some(MIB), Some(1), "24h"));
    // Chunked: no declared length, so only the streaming count can catch it.
    let mut t = send_head(
        s.addr,
        &format!(
            "POST /api/guest/{link} HTTP/1.1\r\nHost: {}\r\nContent-Type: multipart/form-data; \
             boundary=XyZ\r\nTransfer-Encoding: chunked\r\n\r\n",
            s.addr
        ),
    );
    let chunk = |t: &mut TcpStream, data: &[u8]| -> std::io::Result<()> {
        t.write_all(format!("{:x}\r\n", data.len()).as_bytes())?;
        t.write_all(data)?;
        t.write_all(b"\r\n")
    };
    chunk(
        &mut t,
        b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\
          Content-Type: application/octet-stream\r\n\r\n",
    )
    .unwrap();
    // Send up to 8 MiB in 64 KiB pieces; the answer must arrive soon after 1 MiB.
    let piece = vec![b'a'; 64 * 1024];
    let mut sent = 0u64;
    let started = Instant::now();
    t.set_nonblocking(false).unwrap();
    let mut answered = None;
    while sent < 8 * MIB {
        if chunk(&mut t, &piece).is_err() {
            break; // The server closed: fine, read what it said.
        }
        sent += piece.len() as u64;
        t.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
        let mut b = [0u8; 1];
        if let Ok(1) = t.peek(&mut b) {
            answered = Some(sent);
            break;
        }
    }
    t.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = read_head(&mut t);
    eprintln!(
        "streamed {} bytes of file (cap {MIB}) before the answer: {} after {:?}",
        answered.unwrap_or(sent),
        head.lines().next().unwrap_or(""),
        started.elapsed()
    );
    assert!(head.starts_with("HTTP/1.1 413"), "{head:?}");
    assert!(
        answered.unwrap_or(sent) < 4 * MIB,
        "the answer came only after {sent} bytes"
    );
    drop(t);
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 0);
    assert_eq!(s.count("SELECT COUNT(*) FROM entries_data"), 0);
    s.assert_spool_empty(Duration::from_secs(2));
    let file = test_file(&s, "fits.bin", 1000);
    assert_eq!(
        guest_upload(&s, &link, &file, &[]).status,
        200,
        "slot given back"
    );
}

// ---------------------------------------------------------------------------------------------
// The upload count under concurrency, made deterministic: one upload is held mid-body (its
// handler has asked for the body with `100 Continue`) while the others arrive.

/// A guest upload of `data` to `link` over a raw socket, started once the server reads the
/// body; `Err` with the answer's head if it was refused before.
fn begin_guest_upload(s: &Server, link: &str, data: &[u8]) -> Result<RawUpload, String> {
    let mut m = Multipart::new();
    m.file("file", "race.bin", Some("application/octet-stream"), data);
    let (ct, body) = m.finish();
    s.raw_upload(&format!("/api/guest/{link}"), false, &ct, body, None)
}

#[test]
fn issue_4_the_last_slot_is_reserved_before_the_body_so_a_parallel_upload_is_refused() {
    let s = Server::start();
    let link = s.create_guest_link(&link_body(None, Some(1), "24h"));
    let data = pattern(2 * MIB as usize, 4);
    // A takes the link's only slot and is in flight, half its body sent.
    let mut a = begin_guest_upload(&s, &link, &data).expect("A is read");
    a.send_to(MIB as usize);
    // B and C arrive while A is in flight: refused before their bodies, not after.
    for who in ["B", "C"] {
        match begin_guest_upload(&s, &link, &data) {
            Err(head) => assert!(head.starts_with("HTTP/1.1 401"), "{who}: {head:?}"),
            Ok(_) => panic!("{who} was invited to send its body while A held the last slot"),
        }
    }
    let r = a.finish();
    assert_eq!(r.status, 200, "A: {}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM entries WHERE guest_link_id = '{link}'"
        )),
        1
    );
    // Once A is stored, the count is reached.
    let d = guest_upload(&s, &link, &test_file(&s, "late.bin", 1000), &[]);
    assert_eq!(
        (d.status, d.message().as_str()),
        (401, "Guest link is no longer active")
    );

    // A client that gives up mid-body gives its reserved slot back.
    let other = s.create_guest_link(&link_body(None, Some(1), "24h"));
    let mut quitter = begin_guest_upload(&s, &other, &data).expect("read");
    quitter.send_to(MIB as usize);
    assert!(begin_guest_upload(&s, &other, &data).is_err(), "slot held");
    quitter.abandon();
    let mut again = None;
    assert!(
        wait_until(Duration::from_secs(10), || {
            again = begin_guest_upload(&s, &other, &data).ok();
            again.is_some()
        }),
        "the abandoned upload's slot never came back"
    );
    let r = again.expect("slot").finish();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        s.count("SELECT COUNT(*) FROM entries_data WHERE id NOT IN (SELECT id FROM entries)"),
        0
    );
    s.assert_spool_empty(Duration::from_secs(5));
}

#[test]
fn issue_4_a_link_disabled_while_an_upload_is_in_flight_stores_nothing() {
    // The link is checked again in the transaction that would store the file.
    let s = Server::start();
    let link = s.create_guest_link(&link_body(None, Some(3), "24h"));
    let data = pattern(2 * MIB as usize, 5);
    let mut up = begin_guest_upload(&s, &link, &data).expect("read");
    up.send_to(MIB as usize);
    let r = s
        .request("PUT", &format!("/api/guest-links/{link}/disable"))
        .auth()
        .send();
    assert_eq!(r.status, 204);
    let r = up.finish();
    assert_eq!(
        (r.status, String::from_utf8_lossy(&r.body).trim_end()),
        (401, "Guest link is no longer active")
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 0);
    assert!(
        wait_until(Duration::from_secs(5), || s
            .count("SELECT COUNT(*) FROM entries_data")
            == 0),
        "the refused upload's chunks were removed"
    );
    s.assert_spool_empty(Duration::from_secs(5));
}

// ---------------------------------------------------------------------------------------------
// Settings, history, system information.

#[test]
fn issue_4_download_history_records_each_transfer_with_its_user_agent() {
    let s = Server::start();
    let file = test_file(&s, "history.bin", 400_000);
    let a = s.upload_path(
        &format!("/api/entry?expiration={}", in_days(3)),
        &file,
        true,
        &[],
    );
    assert_eq!(a.status, 200, "{a:?}");
    let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    let id = v["id"].as_str().unwrap().to_owned();
    let agents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/126.0.0.0 Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, \
         like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Wget/1.21.4",
        "curl/8.5.0",
    ];
    for ua in agents {
        let a = s.get(&format!("/-{id}")).header("User-Agent", ua).send();
        assert_eq!(a.status, 200);
    }
    // The five rows were written within the same second or two: space their timestamps a
    // second apart in the order they were written, so "newest first" has one right answer
    // (instead of sleeping a second between downloads). The recorded times themselves are
    // pinned by http_api::issue_2_one_download_row_per_transfer.
    assert!(wait_until(Duration::from_secs(5), || s.downloads(&id) == 5));
    s.db()
        .execute(
            "UPDATE downloads SET download_timestamp = \
             strftime('%Y-%m-%dT%H:%M:%SZ', 'now', (rowid - 100) || ' seconds') \
             WHERE entry_id = ?1",
            [&id],
        )
        .expect("space the timestamps");
    // Neither a continuation range nor HEAD is another download.
    assert_eq!(
        s.get(&format!("/-{id}"))
            .header("Range", "bytes=1000-")
            .send()
            .status,
        206
    );
    assert_eq!(s.head(&format!("/-{id}")).send().status, 200);

    let store = picoshare::store::Store::open(
        &s.db_path,
        picoshare::store::StoreSettings::with_chunk_size(327_680),
    )
    .expect("open store");
    let entry = picoshare::model::EntryId::parse(&id).unwrap();
    // Rows are written by the history thread, just after the downloads' answers.
    wait_until(Duration::from_secs(10), || {
        store.download_count(&entry).unwrap() >= 5
    });
    let history = store.download_page(&entry, false, 0, 100).unwrap();
    assert_eq!(store.download_count(&entry).unwrap(), 5);
    let shown: Vec<(String, String, String)> = history
        .iter()
        .map(|r| {
            let agent = picoshare::useragent::parse(&r.user_agent);
            (r.client_ip.clone(), agent.browser, agent.platform)
        })
        .collect();
    eprintln!("history, newest first: {shown:?}");
    let expected = [
        ("curl", ""),
        ("Wget", ""),
        ("Safari", "iOS"),
        ("Firefox", "Linux"),
        ("Chrome", "Windows"),
    ];
    for ((ip, browser, platform), (b, p)) in shown.iter().zip(expected) {
        assert_eq!(
            (ip.as_str(), browser.as_str(), platform.as_str()),
            ("127.0.0.1", b, p)
        );
    }
    assert!(history.windows(2).all(|w| w[0].time >= w[1].time));
    let unique = picoshare::store::unique_ips(history);
    assert_eq!(store.download_page(&entry, true, 0, 100).unwrap(), unique);
    assert_eq!(unique.len(), 1);
    assert_eq!(unique[0].user_agent, "curl/8.5.0", "the most recent per IP");
}

#[test]
fn issue_4_system_information_json() {
    let s = Server::start();
    assert_eq!(s.get("/api/information").send().status, 401);
    let file = test_file(&s, "info.bin", 100_000);
    s.upload_path(
        &format!("/api/entry?expiration={}", in_days(3)),
        &file,
        true,
        &[],
    );
    let a = s.get("/api/information").auth().send();
    assert_eq!(
        (a.status, a.header("content-type").unwrap_or("")),
        (200, "application/json")
    );
    let mut v = a.json();
    // The checkpoint thread (issue 18), woken by the upload's commit, may fold the WAL into
    // the database file between the answer and our look at the files: ask again until both
    // agree (nothing else writes, so they do once it has run).
    let on_disk = || ["", "-wal", "-shm"].map(|suffix| file_len(&with_suffix(&s.db_path, suffix)));
    let reported = |v: &serde_json::Value| {
        ["fileBytes", "walBytes", "shmBytes"].map(|k| v["database"][k].as_u64().unwrap_or(0))
    };
    wait_until(Duration::from_secs(10), || {
        if reported(&v) == on_disk() {
            return true;
        }
        v = s.get("/api/information").auth().send().json();
        false
    });
    eprintln!("GET /api/information → {v}");
    // Every field, and no other.
    let keys = |p: &str| -> Vec<String> {
        let mut k: Vec<String> = v
            .pointer(p)
            .and_then(|o| o.as_object())
            .unwrap_or_else(|| panic!("{p:?} is not an object in {v}"))
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(""),
        [
            "builtAt",
            "database",
            "filesystem",
            "revision",
            "storedFileBytes",
            "unfinishedUploads",
            "version"
        ]
    );
    // Issue 19: resumable uploads not finished yet, and the bytes they hold.
    assert_eq!(keys("/unfinishedUploads"), ["bytes", "count"]);
    // The free-disk floors uploads keep (issue 16): the defaults.
    assert_eq!(
        keys("/filesystem"),
        [
            "adminUploadFloorBytes",
            "availableBytes",
            "guestUploadFloorBytes",
            "totalBytes",
            "usedBytes"
        ]
    );
    assert_eq!(v["filesystem"]["guestUploadFloorBytes"], 256u64 << 20);
    assert_eq!(v["filesystem"]["adminUploadFloorBytes"], 16u64 << 20);
    assert_eq!(
        keys("/database"),
        [
            "fileBytes",
            "reclaimableBytes",
            "shmBytes",
            "totalBytes",
            "walBytes"
        ]
    );
    let n = |p: &str| {
        v.pointer(p)
            .and_then(|x| x.as_u64())
            .unwrap_or_else(|| panic!("{p} is not a whole number in {v}"))
    };
    // Consistent with each other.
    let (total, used, available) = (
        n("/filesystem/totalBytes"),
        n("/filesystem/usedBytes"),
        n("/filesystem/availableBytes"),
    );
    assert!(total > 0);
    assert!(used <= total, "used {used} of {total}");
    assert!(
        available <= total - used,
        "available {available}, free {}",
        total - used
    );
    let (file, wal, shm) = (
        n("/database/fileBytes"),
        n("/database/walBytes"),
        n("/database/shmBytes"),
    );
    assert_eq!(n("/database/totalBytes"), file + wal + shm);
    assert!(n("/database/reclaimableBytes") <= file);
    // And with the files themselves (the server is idle: nothing writes meanwhile).
    assert_eq!(file, file_len(&s.db_path));
    assert_eq!(wal, file_len(&with_suffix(&s.db_path, "-wal")));
    assert_eq!(shm, file_len(&with_suffix(&s.db_path, "-shm")));
    assert_eq!(n("/storedFileBytes"), 100_000);
    assert_eq!(
        (n("/unfinishedUploads/count"), n("/unfinishedUploads/bytes")),
        (0, 0)
    );
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    for optional in ["revision", "builtAt"] {
        assert!(
            v[optional].is_null() || v[optional].as_str().is_some_and(|t| !t.is_empty()),
            "{optional}: null or a string, got {}",
            v[optional]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// PicoShare's own database.

/// `../shared/fixtures/picoshare-go/store.db`, written by the Go PicoShare 1.5.1 (see its
/// MANIFEST.txt): two guest links, two downloads, a 14-day default.
fn fixture_db() -> Option<PathBuf> {
    require_fixture(&["store.db"]).then(|| fixture_dir().join("store.db"))
}

#[test]
fn issue_4_picoshare_fixture_guest_links_history_and_settings() {
    let Some(fixture) = fixture_db() else {
        return;
    };
    let dir = TempDir::new("issue4-fixture");
    assert!(fixture.exists());
    // A copy whose dates are moved relative to now: the labelled link's URL is valid for 30
    // more days, whatever today's date.
    copy_fixture_db(&dir.join("store.db"));
    let s = Server::builder().in_dir(dir).start();
    let now = Utc::now();

    // Its links, as our store reads them.
    {
        let store = picoshare::store::Store::open(
            &s.db_path,
            picoshare::store::StoreSettings::with_chunk_size(327_680),
        )
        .expect("open store");
        let t = picoshare::model::Timestamp::from_unix(now.timestamp());
        let links = store.guest_links_page(t, 0, 100).expect("guest links");
        let ids: Vec<&str> = links.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        let labelled = links
            .iter()
            .find(|l| l.id.as_str() == "ZZkAPdHsixtKqbdE")
            .expect("fixture link");
        assert_eq!(labelled.label, "Fixture guest link");
        assert_eq!(labelled.max_file_bytes, Some(10 * MIB));
        assert_eq!(labelled.max_file_uploads, Some(3));
        assert_eq!(labelled.file_lifetime.encode(), "168h0m0s");
        assert_eq!(labelled.file_lifetime.friendly_name(), "7 days");
        let never = links
            .iter()
            .find(|l| l.id.as_str() == "mv7puYcjqnAKns45")
            .expect("fixture link");
        assert_eq!(never.label, "");
        assert_eq!(never.file_lifetime.friendly_name(), "Never");
        assert!(never.is_disabled && !never.is_active(t));
        assert_eq!(store.default_expiration_days().unwrap(), 14);
        let entry = picoshare::model::EntryId::parse("eTrmV2nk9k").unwrap();
        let agents: Vec<String> = store
            .download_page(&entry, false, 0, 100)
            .unwrap()
            .iter()
            .map(|r| picoshare::useragent::parse(&r.user_agent).browser)
            .collect();
        assert_eq!(agents, ["Firefox", "fixture-client"]);
    }

    // Guest uploads through them.
    let file = test_file(&s, "to-fixture.bin", 2000);
    let a = guest_upload(&s, "mv7puYcjqnAKns45", &file, &[]);
    assert_eq!(a.status, 401, "disabled in the fixture");
    assert_eq!(
        s.request("PUT", "/api/guest-links/mv7puYcjqnAKns45/enable")
            .auth()
            .send()
            .status,
        204
    );
    let a = guest_upload(&s, "mv7puYcjqnAKns45", &file, &[]);
    assert_eq!(a.status, 200, "{a:?}");
    let expiration = stored_expiration(&s.db(), &id_from_url(&a.text()));
    assert_eq!(expiration, "2999-12-31T00:00:00Z");
    let a = guest_upload(&s, "ZZkAPdHsixtKqbdE", &file, &[]);
    assert_eq!(a.status, 200, "{a:?}");
    // Once its URL has expired, the same link refuses uploads.
    set_fixture_time(&s.db_path, "guest_links", "ZZkAPdHsixtKqbdE", -60);
    let a = guest_upload(&s, "ZZkAPdHsixtKqbdE", &file, &[]);
    assert_eq!(a.status, 401, "{a:?}");

    // Settings written the way PicoShare reads them; the schema stays PicoShare's.
    assert_eq!(
        s.request("PUT", "/api/settings")
            .auth()
            .json(r#"{"defaultNeverExpire":true}"#)
            .send()
            .status,
        200
    );
    assert_eq!(
        s.count("SELECT default_expiration_in_days FROM settings WHERE id = 1"),
        36_500
    );
    // Upgraded on start to PicoShare's version 16 (issue 17; was 15).
    assert_eq!(s.count("PRAGMA user_version"), 16);
    assert_eq!(
        schema_of(&s.db())
            .iter()
            .filter(|(kind, ..)| kind == "table")
            .count(),
        5
    );
}
