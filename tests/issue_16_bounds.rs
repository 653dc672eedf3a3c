//! Issue 16: nothing a visitor does grows memory or disk without bound.
//!
//! - A flood of pipelined range requests with a huge `User-Agent` adds almost nothing to the
//!   database (coalesced, cut to size), and distinct agents cost a small row each.
//! - A file's history page, `/files` and `/guest-links` are built a page at a time: their size
//!   and the server's peak memory stay bounded after 100,000 history rows, 10,000 files.
//! - Downloads answer 200 on a full disk (history is written off the download's path).
//! - History rows are trimmed to their caps, oldest first.
//! - Guest uploads are rate-limited per address and per link, and keep a free-disk floor.
//! - Deleting the spool folder while running breaks no upload, and a second server refuses
//!   to start while the first runs, with or without that folder.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

// ---------------------------------------------------------------------------------------------
// Helpers.

/// The database file's size once the server has stopped (its WAL folded in).
fn settled_size(s: &mut Server) -> u64 {
    s.stop();
    let size = fs::metadata(&s.db_path).expect("database").len();
    s.start_again();
    size
}

/// Sends `n` pipelined requests made by `request(i)` on one connection (written by another
/// thread while this one reads) and returns the answers' status codes.
fn pipelined(
    s: &Server,
    n: usize,
    request: impl Fn(usize) -> Vec<u8> + Send + 'static,
) -> Vec<u16> {
    let mut conn = TcpStream::connect(s.addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut writer = conn.try_clone().expect("clone");
    let sender = std::thread::spawn(move || {
        for i in 0..n {
            if writer.write_all(&request(i)).is_err() {
                return;
            }
        }
    });
    let mut statuses = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    while statuses.len() < n {
        // Each answer is a head with Content-Length 1 and one byte of body.
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            if buf.len() < end + 5 {
                break;
            }
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            assert!(
                head.lines()
                    .any(|l| l.eq_ignore_ascii_case("content-length: 1")),
                "{head}"
            );
            statuses.push(head[9..12].parse().expect("status"));
            buf.drain(..end + 5);
        }
        if statuses.len() >= n {
            break;
        }
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
        }
    }
    let _ = sender.join();
    statuses
}

/// `GET /-{id}` for the first byte, with `agent`.
fn range_request(id: &str, agent: &str) -> Vec<u8> {
    format!(
        "GET /-{id} HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=0-0\r\nUser-Agent: {agent}\r\n\r\n"
    )
    .into_bytes()
}

/// An 8,000-byte `User-Agent` (the transport's header line limit is 8 KiB) starting with
/// `tag` (what follows the first 256 bytes is cut, so it would not tell agents apart).
fn huge_agent(tag: &str) -> String {
    let head = format!("{tag} Mozilla/5.0 (X11; Linux x86_64) ");
    format!("{head}{}", "x".repeat(8000 - head.len()))
}

/// Rows of the server's download history for `id`, once `want` are there (or after 10 s).
fn wait_for_rows(s: &Server, id: &str, want: i64) -> i64 {
    wait_until(Duration::from_secs(10), || s.downloads(id) >= want);
    s.downloads(id)
}

/// Runs the binary on `db` like a second server would, and waits for it to give up (or kills
/// it after 15 s: then it started, which is the failure). Returns the exit code and stderr.
fn second_server(db: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(BIN)
        .arg("--db")
        .arg(db)
        .args(["--listen", "127.0.0.1", "--port", "0"])
        .env("PS_SHARED_SECRET", SECRET)
        .env_remove("PORT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn a second picoshare");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    (status, err)
}

fn create_guest_link(s: &Server) -> String {
    let r = s
        .request("POST", "/api/guest-links")
        .auth()
        .json(&format!(
            "{{\"label\": \"open\", \"urlExpirationTime\": \"{NEVER}\", \
             \"fileLifetime\": \"876000h0m0s\"}}"
        ))
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["id"].as_str().expect("link id").to_owned()
}

/// A guest upload of `data` from client address `from` (the server trusts
/// `X-Forwarded-For`); `chunked` sends no `Content-Length`.
fn guest_upload(s: &Server, link: &str, data: &[u8], from: &str, chunked: bool) -> Resp {
    let mut m = Multipart::new();
    m.file("file", "guest.bin", Some("application/octet-stream"), data);
    let (ct, body) = m.finish();
    let mut r = s
        .request("POST", &format!("/api/guest/{link}"))
        .header("Content-Type", &ct)
        .header("Accept", "application/json")
        .header("X-Forwarded-For", from)
        .body(body);
    if chunked {
        r = r.header("Transfer-Encoding", "chunked");
    }
    r.send()
}

// ---------------------------------------------------------------------------------------------
// History.

#[test]
fn issue_16_a_flood_of_range_requests_grows_the_database_by_little() {
    let mut s = Server::start();
    let id = s.put_file(&pattern(5000, 16), "flooded.bin");
    let before = settled_size(&mut s);

    // The issue's flood at a smaller scale: one agent, one connection, 1,000 requests.
    let agent = huge_agent("same");
    let (fid, a) = (id.clone(), agent.clone());
    let statuses = pipelined(&s, 1000, move |_| range_request(&fid, &a));
    assert_eq!(statuses.len(), 1000);
    assert!(statuses.iter().all(|&c| c == 206), "every request answered");
    assert_eq!(wait_for_rows(&s, &id, 1), 1, "repeats count once");
    let after = settled_size(&mut s);
    eprintln!("1,000 same-agent requests: {before} -> {after} bytes");
    assert!(
        after.saturating_sub(before) < 300_000,
        "1,000 requests grew the database by {} bytes",
        after.saturating_sub(before)
    );

    // A thousand different agents: a row each, each agent cut to 256 bytes.
    let fid = id.clone();
    let statuses = pipelined(&s, 1000, move |i| {
        range_request(&fid, &huge_agent(&format!("agent-{i}")))
    });
    assert!(statuses.iter().all(|&c| c == 206));
    assert_eq!(wait_for_rows(&s, &id, 1001), 1001);
    let longest = s.count("SELECT MAX(LENGTH(user_agent)) FROM downloads");
    assert!(longest <= 256, "agents cut to 256 bytes, not {longest}");
    let grown = settled_size(&mut s).saturating_sub(after);
    eprintln!("1,000 distinct agents: +{grown} bytes");
    assert!(
        grown < 700_000,
        "1,000 distinct agents grew the database by {grown} bytes"
    );
}

#[test]
fn issue_16_the_history_page_stays_small_after_100000_downloads() {
    // Caps above the rows inserted, so what is measured is the page, not the trim.
    let s = Server::builder()
        .arg("--history-per-file")
        .arg("200000")
        .arg("--history-total")
        .arg("200000")
        .start();
    let id = s.put_file(b"popular", "popular.txt");
    let agent = format!("Mozilla/5.0 (X11; Linux x86_64) {}", "a".repeat(224));
    let inserted = s
        .db()
        .execute(
            "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 100000) \
             INSERT INTO downloads (entry_id, download_timestamp, client_ip, user_agent) \
             SELECT ?1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || i || ' seconds'), \
             '10.9.' || (i % 40000 / 256) || '.' || (i % 40000 % 256), ?2 FROM k",
            rusqlite::params![id, agent],
        )
        .expect("insert history");
    assert_eq!(inserted, 100_000);
    let idle = vm_hwm_kib(s.pid());

    let r = s.get(&format!("/files/{id}/downloads")).auth().send();
    assert_eq!(r.status, 200);
    let page = r.text();
    assert!(page.len() < 200_000, "history page of {} bytes", page.len());
    assert!(
        page.contains("100,000 downloads from 40,000 addresses"),
        "totals over every row: {}",
        &page[page.find("<main").unwrap_or(0)..][..1500]
    );
    assert_eq!(page.matches("<tr><td data-label=\"#\">").count(), 100);
    assert!(
        page.contains("<td data-label=\"#\">100000</td>"),
        "newest first"
    );
    assert!(page.contains("Page 1 of 1000"));
    let r = s
        .get(&format!("/files/{id}/downloads?page=1000"))
        .auth()
        .send();
    assert!(
        r.text().contains("<td data-label=\"#\">1</td>"),
        "the oldest"
    );
    let r = s
        .get(&format!("/files/{id}/downloads?unique=true"))
        .auth()
        .send();
    assert_eq!(r.status, 200);
    let page = r.text();
    assert!(page.len() < 200_000);
    assert!(page.contains("<td data-label=\"#\">40000</td>"));
    assert!(page.contains("Page 1 of 400"));
    let peak = vm_hwm_kib(s.pid());
    eprintln!("VmHWM {idle} KiB idle, {peak} KiB after the history pages");
    assert!(
        peak < idle + 24 * 1024,
        "history pages took the peak from {idle} to {peak} KiB"
    );
}

#[test]
fn issue_16_history_is_trimmed_to_its_caps_oldest_first() {
    let s = Server::builder()
        .arg("--history-per-file")
        .arg("30")
        .arg("--history-total")
        .arg("50")
        .start();
    let a = s.put_file(b"a", "a.txt");
    let b = s.put_file(b"b", "b.txt");
    let dir = s.into_dir();
    {
        let c = open_db(&dir.join("store.db"));
        for (id, n) in [(&a, 100), (&b, 25)] {
            c.execute(
                "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?2) \
                 INSERT INTO downloads (entry_id, download_timestamp, client_ip, user_agent) \
                 SELECT ?1, '2026-01-01T00:00:00Z', 'row ' || i, '' FROM k",
                rusqlite::params![id, n],
            )
            .expect("insert");
        }
    }
    // At start-up the writer trims: `a` to its 30 newest, then the oldest of all to 50.
    let s = Server::builder()
        .in_dir(dir)
        .arg("--history-per-file")
        .arg("30")
        .arg("--history-total")
        .arg("50")
        .start();
    assert!(wait_until(Duration::from_secs(10), || s
        .count("SELECT COUNT(*) FROM downloads")
        == 50));
    assert_eq!(
        s.downloads(&a),
        25,
        "a's 30 newest, less the 5 oldest of all"
    );
    assert_eq!(s.downloads(&b), 25);
    let oldest_a: String = s
        .db()
        .query_row(
            "SELECT client_ip FROM downloads WHERE entry_id = ?1 ORDER BY rowid LIMIT 1",
            [&a],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(oldest_a, "row 76");
}

#[test]
fn issue_16_downloads_answer_200_on_a_full_disk() {
    let Some(disk) = small_disk(24) else {
        return;
    };
    let s = Server::builder()
        .in_dir(TempDir::new("fulldisk-download"))
        .db_name(disk.path.join("store.db").to_str().expect("utf-8"))
        .start();
    let data = pattern(200_000, 7);
    let id = s.put_file(&data, "wanted.bin");
    // No room left in the WAL either: a WAL already checkpointed and reset is rewritten in
    // place, without growing, so whether history rows could still be written on a full disk
    // would depend on how much WAL the writes before happened to leave (more tables of ours
    // at start-up was enough to change it). Truncated, every commit must grow it.
    assert!(wait_until(Duration::from_secs(10), || {
        let busy: i64 = s
            .db()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .expect("checkpoint");
        busy == 0
    }));
    assert_eq!(
        fs::metadata(disk.path.join("store.db-wal")).map_or(0, |m| m.len()),
        0,
        "WAL truncated"
    );
    // Fill the disk to the last byte.
    let filler = disk.path.join("filler");
    {
        let mut f = fs::File::create(&filler).expect("filler");
        let block = vec![0xA5u8; 1 << 16];
        while f.write_all(&block).is_ok() {}
        let small = [0u8; 512];
        while f.write_all(&small).is_ok() {}
        let _ = f.flush();
    }
    for i in 0..20 {
        let r = s
            .get(&format!("/-{id}"))
            .header("User-Agent", &format!("full-disk/{i}"))
            .send();
        assert_eq!(r.status, 200, "download {i} on a full disk: {}", r.text());
        assert!(r.body == data, "download {i}: the file's bytes");
    }
    let r = s
        .get(&format!("/-{id}"))
        .header("Range", "bytes=0-9")
        .send();
    assert_eq!((r.status, &r.body[..]), (206, &data[..10]));
    // With room again, history records again.
    fs::remove_file(&filler).expect("remove filler");
    s.get(&format!("/-{id}"))
        .header("User-Agent", "room-again")
        .send();
    assert!(wait_until(Duration::from_secs(10), || s.count(
        "SELECT COUNT(*) FROM downloads WHERE user_agent = 'room-again'"
    ) == 1));
    // Rows are written in order, so every earlier one has been tried by now: none made it,
    // and the lost rows were reported once (per interval), not once per download.
    assert_eq!(s.count("SELECT COUNT(*) FROM downloads"), 1);
    assert_eq!(
        s.stderr().matches("not recorded").count(),
        1,
        "{}",
        s.stderr()
    );
}

// ---------------------------------------------------------------------------------------------
// Lists.

#[test]
fn issue_16_files_paginate_in_bounded_memory_with_10000_entries() {
    let s = Server::start();
    {
        let c = s.db();
        c.execute(
            "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 10000) \
             INSERT INTO entries (id, filename, content_type, upload_time, expiration_time, note) \
             SELECT printf('f%09d', i), printf('holiday-photo-%05d.jpg', i), 'image/jpeg', \
             strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || i || ' minutes'), ?1, \
             CASE WHEN i = 4242 THEN 'the one with the lighthouse' END FROM k",
            [NEVER],
        )
        .expect("insert entries");
        c.execute(
            "INSERT INTO entries_data (id, chunk_index, chunk) \
             SELECT id, 0, zeroblob(1000) FROM entries",
            [],
        )
        .expect("insert chunks");
    }
    let idle = vm_hwm_kib(s.pid());
    let r = s.get("/files").auth().send();
    assert_eq!(r.status, 200);
    let page = r.text();
    assert!(page.len() < 300_000, "/files is {} bytes", page.len());
    assert!(page.contains(">10,000 files<"), "the total");
    assert_eq!(page.matches("<tr test-data-filename=").count(), 100);
    assert!(page.contains("test-data-filename=\"holiday-photo-00001.jpg\""));
    assert!(page.contains("Page 1 of 100"));
    assert!(page.contains("rel=\"next\" href=\"/files?page=2\""));
    assert!(page.contains("id=\"filter\" name=\"q\""), "the filter box");

    let last = s.get("/files?page=100").auth().send().text();
    assert!(last.contains("test-data-filename=\"holiday-photo-10000.jpg\""));
    assert!(last.contains("rel=\"prev\" href=\"/files?page=99\""));
    // Searching every file, by name and by note.
    let found = s.get("/files?q=PHOTO-0424").auth().send().text();
    assert!(found.contains("10 files match"), "case-insensitive");
    let found = s.get("/files?q=lighthouse").auth().send().text();
    assert!(found.contains("1 file matches"));
    assert!(found.contains("test-data-filename=\"holiday-photo-04242.jpg\""));
    let peak = vm_hwm_kib(s.pid());
    eprintln!("VmHWM {idle} KiB idle, {peak} KiB after /files");
    assert!(
        peak < idle + 16 * 1024,
        "/files took the peak from {idle} to {peak} KiB"
    );
}

#[test]
fn issue_16_guest_links_paginate() {
    let s = Server::builder().arg("--page-size").arg("10").start();
    {
        let c = s.db();
        c.execute(
            "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 25) \
             INSERT INTO guest_links (id, label, creation_time, url_expiration_time, \
             file_expiration_time, is_disabled) \
             SELECT printf('gggggggggggg%04d', i), printf('link %d', i), \
             strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || i || ' minutes'), ?1, \
             '876000h0m0s', 0 FROM k",
            [NEVER],
        )
        .expect("insert links");
    }
    let page = s.get("/guest-links").auth().send().text();
    assert_eq!(page.matches("data-id=\"gggggggggggg").count(), 10);
    assert!(page.contains(">link 1<") && !page.contains(">link 11<"));
    assert!(page.contains("Page 1 of 3"));
    let page = s.get("/guest-links?page=3").auth().send().text();
    assert_eq!(page.matches("data-id=\"gggggggggggg").count(), 5);
    assert!(page.contains(">link 25<"));
}

// ---------------------------------------------------------------------------------------------
// Guest links.

#[test]
fn issue_16_guest_uploads_are_rate_limited_per_address_and_per_link() {
    let s = Server::builder()
        .env("PS_BEHIND_PROXY", "1")
        .arg("--guest-uploads-per-address")
        .arg("2")
        .arg("--guest-uploads-per-link")
        .arg("3")
        .start();
    let link = create_guest_link(&s);
    for _ in 0..2 {
        assert_eq!(
            guest_upload(&s, &link, b"one", "203.0.113.1", false).status,
            200
        );
    }
    let r = guest_upload(&s, &link, b"one", "203.0.113.1", false);
    assert_eq!(r.status, 429, "{}", r.text());
    let wait: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=1800).contains(&wait), "{wait}");
    // Another address may still, until the link's own limit.
    assert_eq!(
        guest_upload(&s, &link, b"two", "203.0.113.2", false).status,
        200
    );
    let r = guest_upload(&s, &link, b"three", "203.0.113.3", false);
    assert_eq!(r.status, 429, "the link's total");
    // Another link has limits of its own; refused uploads stored nothing.
    let other = create_guest_link(&s);
    assert_eq!(
        guest_upload(&s, &other, b"x", "203.0.113.1", false).status,
        200
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 4);
}

#[test]
fn issue_16_guest_uploads_keep_their_disk_floor_and_the_admins_a_lower_one() {
    // A guest floor above any disk's free space: every guest upload would cross it.
    let floor = 1u64 << 50;
    let s = Server::builder()
        .arg("--guest-disk-floor")
        .arg(&floor.to_string())
        .start();
    let link = create_guest_link(&s);
    // A declared length is refused before the body is sent.
    let mut conn = TcpStream::connect(s.addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let head = format!(
        "POST /api/guest/{link} HTTP/1.1\r\nHost: {}\r\nContent-Type: multipart/form-data; \
         boundary=xyz\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n",
        s.addr
    );
    conn.write_all(head.as_bytes()).expect("send head");
    let mut got = vec![0u8; 4096];
    let n = conn.read(&mut got).expect("an answer without the body");
    let text = String::from_utf8_lossy(&got[..n]);
    assert!(text.starts_with("HTTP/1.1 507"), "got {text:?}");
    drop(conn);
    let r = guest_upload(&s, &link, b"small", "203.0.113.1", false);
    assert_eq!(r.status, 507, "declared length: {}", r.text());
    let r = guest_upload(&s, &link, b"small", "203.0.113.1", true);
    assert_eq!(r.status, 507, "chunked, small: {}", r.text());
    assert!(r.text().contains("keeps"), "{}", r.text());
    let big = pattern(12 << 20, 3);
    let r = guest_upload(&s, &link, &big, "203.0.113.1", true);
    assert_eq!(r.status, 507, "chunked, past a copy batch: {}", r.text());
    assert!(wait_until(Duration::from_secs(10), || s
        .count("SELECT COUNT(*) FROM entries_data")
        == 0));
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 0);
    s.assert_spool_empty(Duration::from_secs(5));
    // The admin's floor is the lower one.
    s.put_file(b"the admin's", "admin.txt");
    // Both floors are shown.
    let v = s.get("/api/information").auth().send().json();
    assert_eq!(v["filesystem"]["guestUploadFloorBytes"], floor);
    assert_eq!(v["filesystem"]["adminUploadFloorBytes"], 16u64 << 20);
    let page = s.get("/information").auth().send().text();
    assert!(page.contains("id=\"disk-floors\""), "{page}");
    assert!(page.contains("<strong>16.00 MB</strong>"), "{page}");
}

// ---------------------------------------------------------------------------------------------
// The spool folder and the single-server lock.

#[test]
fn issue_16_deleting_the_spool_folder_mid_run_does_not_break_uploads() {
    let s = Server::start();
    let first = pattern(3 << 20, 1);
    s.put_file(&first, "before.bin");
    fs::remove_dir_all(s.spool_dir()).expect("remove the spool folder");
    let data = pattern(3 << 20, 2);
    let id = s.put_file(&data, "after.bin");
    assert!(s.spool_dir().is_dir(), "made again");
    assert!(s.get(&format!("/-{id}")).send().body == data);
}

#[test]
fn issue_16_a_second_server_refuses_to_start_while_the_first_runs() {
    let s = Server::start();
    let (code, err) = second_server(&s.db_path);
    assert_eq!(code, Some(1), "refused: {err}");
    assert!(
        err.contains("another picoshare is already serving"),
        "{err}"
    );
    // Without the spool folder, the same.
    fs::remove_dir_all(s.spool_dir()).expect("remove the spool folder");
    let (code, err) = second_server(&s.db_path);
    assert_eq!(code, Some(1), "refused without the spool folder: {err}");
    // The first still serves, uploads included.
    let data = pattern(2 << 20, 5);
    let id = s.put_file(&data, "still.bin");
    assert!(s.get(&format!("/-{id}")).send().body == data);
    // Once it stops, another may start.
    let db: PathBuf = s.db_path.clone();
    let dir = s.into_dir();
    assert!(db.starts_with(dir.path()));
    let s = Server::builder().in_dir(dir).start();
    assert!(s.get(&format!("/-{id}")).send().body == data);
}
