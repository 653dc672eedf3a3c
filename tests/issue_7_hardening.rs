//! Issue 7: crash safety and a full disk, against the real binary.
//! - `kill -9` while an upload is being copied into SQLite: after a restart there is no entry
//!   for it, no orphan chunks, no spool files, `integrity_check` is ok, and every upload that
//!   was answered 200 is still there.
//! - A full disk (a small tmpfs mounted for the test): an upload whose `Content-Length` cannot
//!   fit is refused with 507 before its body is read; one that fills the disk mid-stream
//!   answers 507, leaves nothing behind, and the server keeps serving; one that fits once (the
//!   spool is only a window beside the SQLite copy) is stored.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;

fn integrity(s: &Server) -> String {
    integrity_check(&s.db())
}

/// `curl -F file=@path` as the admin (chunked: no Content-Length), started in the background.
fn curl_upload(s: &Server, path: &Path, chunked: bool) -> Pending {
    let form = format!("file=@{}", path.display());
    let mut req = s.request("POST", &entry_path(NEVER)).auth();
    if chunked {
        req = req.header("Transfer-Encoding", "chunked");
    }
    req.curl_args(&["-F", &form]).spawn()
}

#[test]
fn issue_7_kill_9_while_copying_into_sqlite_loses_nothing_acknowledged() {
    let mut s = Server::start();
    let kept = pattern(700_000, 3);
    let keep = s.put_file(&kept, "keep.bin");
    let big = s.tmpdir.join("big.bin");
    write_pattern_file(&big, 300 << 20, 9);
    let mut caught_copying = false;
    for _attempt in 0..3 {
        let mut curl = curl_upload(&s, &big, false);
        let db = s.db();
        let started = Instant::now();
        // The copy phase: chunk rows committed for an id that has no entry yet.
        while started.elapsed() < Duration::from_secs(60) {
            let orphans: i64 = db
                .query_row(
                    "SELECT COUNT(*) FROM entries_data WHERE id NOT IN (SELECT id FROM entries)",
                    [],
                    |r| r.get(0),
                )
                .unwrap_or(0);
            if orphans > 0 {
                caught_copying = true;
                break;
            }
            if curl.is_done() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        s.kill9();
        curl.kill();
        drop(db);
        s.start_again();
        if caught_copying {
            break;
        }
    }
    assert!(caught_copying, "never saw the copy phase to kill it in");
    assert_eq!(integrity(&s), "ok");
    s.assert_spool_empty(Duration::from_secs(2));
    // Only acknowledged uploads remain, complete, and nothing else.
    let ids: Vec<String> = {
        let db = s.db();
        let mut st = db.prepare("SELECT id FROM entries").expect("prepare");
        let rows = st.query_map([], |r| r.get::<_, String>(0)).expect("query");
        rows.map(|r| r.expect("row")).collect()
    };
    assert_eq!(ids, vec![keep.clone()], "no entry for the killed upload");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM entries_data WHERE id NOT IN (SELECT id FROM entries)"),
        0,
        "no orphan chunks after the start-up collection"
    );
    let r = s.get(&format!("/-{keep}")).send();
    assert_eq!(r.status, 200);
    assert!(r.body == kept, "the acknowledged upload is intact");
}

fn assert_clean_and_serving(s: &Server) {
    s.assert_spool_empty(Duration::from_secs(2));
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 0);
    assert!(
        wait_until(Duration::from_secs(10), || s
            .count("SELECT COUNT(*) FROM entries_data")
            == 0),
        "partial chunks removed"
    );
    assert_eq!(integrity(s), "ok");
    assert_eq!(s.get("/login").send().status, 200, "still serving");
    let id = s.put_file(b"small file after a full disk", "after.txt");
    assert_eq!(
        s.get(&format!("/-{id}")).send().body,
        b"small file after a full disk"
    );
}

#[test]
fn issue_7_upload_that_cannot_fit_is_refused_with_507_before_its_body() {
    let Some(disk) = small_disk(48) else {
        return;
    };
    let s = Server::builder()
        .in_dir(TempDir::new("fulldisk-precheck"))
        // An absolute name puts the database (and its spool) on the small disk.
        .db_name(disk.path.join("store.db").to_str().expect("utf-8"))
        .start();
    let cookie = s.login();
    // Declare 100 MB and send nothing: the answer must come without the body.
    let mut conn = TcpStream::connect(s.addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let head = format!(
        "POST /api/entry?expiration={} HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\n\
         Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 100000000\r\n\
         Expect: 100-continue\r\n\r\n",
        query_encode(NEVER),
        s.addr
    );
    conn.write_all(head.as_bytes()).expect("send head");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 507"), "got {text:?}");
    drop(conn);
    assert_clean_and_serving(&s);
}

#[test]
fn issue_7_disk_filling_mid_upload_answers_507_and_cleans_up_and_a_file_fits_once() {
    let Some(disk) = small_disk(48) else {
        return;
    };
    let s = Server::builder()
        .in_dir(TempDir::new("fulldisk"))
        // An absolute name puts the database (and its spool) on the small disk.
        .db_name(disk.path.join("store.db").to_str().expect("utf-8"))
        .start();
    s.login();
    // Chunked bodies carry no Content-Length, so only the disk can say no. 60 MiB cannot fit
    // on a 48 MiB disk: the upload fails mid-stream with 507 and leaves nothing behind.
    let big = s.tmpdir.join("f60.bin");
    write_pattern_file(&big, 60 << 20, 1);
    let r = curl_upload(&s, &big, true).finish().expect("curl");
    assert_eq!(r.status, 507, "60 MiB on a 48 MiB disk: {}", r.text());
    assert_clean_and_serving(&s);
    // 30 MiB does fit: the spool is only a window of a few MiB beside the SQLite copy, so the
    // disk needs the file's size once, not twice.
    let fits = s.tmpdir.join("f30.bin");
    write_pattern_file(&fits, 30 << 20, 2);
    let r = curl_upload(&s, &fits, true).finish().expect("curl");
    assert_eq!(r.status, 200, "30 MiB on a 48 MiB disk: {}", r.text());
    s.assert_spool_empty(Duration::from_secs(2));
    assert_eq!(integrity(&s), "ok");
}

#[test]
fn issue_7_sessions_survive_a_restart_but_not_a_new_passphrase() {
    let dir = TempDir::new("sessions");
    let secret_file = dir.join("secret");
    std::fs::write(&secret_file, "first passphrase\n").expect("write secret");
    let mut s = Server::builder()
        .secret(None)
        .env(
            "PS_SHARED_SECRET_FILE",
            secret_file.to_str().expect("utf-8"),
        )
        .in_dir(dir)
        .start();
    let cookie = s.login_with("first passphrase");
    let probe = |s: &Server| {
        s.get("/api/information")
            .header("Cookie", &cookie)
            .send()
            .status
    };
    assert_eq!(probe(&s), 200);
    // Same passphrase after a restart: the session is still good (signed, not in memory).
    s.stop();
    s.start_again();
    assert_eq!(probe(&s), 200, "a restart keeps sessions");
    // The owner changes the passphrase: every existing session dies.
    s.stop();
    std::fs::write(&secret_file, "second passphrase\n").expect("write secret");
    s.start_again();
    assert_eq!(probe(&s), 401, "a new passphrase invalidates old cookies");
    let r = s
        .request("POST", "/api/auth")
        .json(r#"{"sharedSecretKey": "first passphrase"}"#)
        .send();
    assert_eq!(r.status, 401, "the old passphrase no longer works");
}
