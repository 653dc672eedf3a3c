//! Issue 8, the server's own part: `picoshare backup PATH` under concurrent uploads yields an
//! intact database; deleting files makes the reclaimer give their space back to the
//! filesystem in small steps, without the WAL growing past a bound; `picoshare compact`
//! converts a database the Go PicoShare created.

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;

/// Runs `picoshare -db DB ARGS…` to completion.
fn picoshare(db: &std::path::Path, args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(BIN)
        .arg("-db")
        .arg(db)
        .args(args)
        .output()
        .expect("run picoshare")
}

fn file_len(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn with_suffix(p: &std::path::Path, suffix: &str) -> std::path::PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

#[test]
fn issue_8_backup_during_uploads_is_an_intact_consistent_copy() {
    let s = Arc::new(Server::builder().chunk_size(64 << 10).start());
    let first = pattern(3 << 20, 1);
    let first_id = s.put_file(&first, "first.bin");
    // Upload n is pattern(2 MiB, 100 + n), named f{n}.bin.
    let stop = Arc::new(AtomicBool::new(false));
    let uploader = {
        let (s, stop) = (Arc::clone(&s), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) && n < 40 {
                s.put_file(&pattern(2 << 20, 100 + n), &format!("f{n}.bin"));
                n += 1;
            }
            n
        })
    };
    // The backup starts while an upload is in flight: it holds a spool file.
    s.wait_for_spool_descriptor(Duration::from_secs(30));
    let dest = s.tmpdir.join("backup.db");
    let out = picoshare(&s.db_path, &["backup".as_ref(), dest.as_os_str()]);
    stop.store(true, Ordering::SeqCst);
    let uploaded = uploader.join().expect("uploader");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "backup failed: {stderr}");
    assert!(
        stderr.contains("verified"),
        "reports progress and verification: {stderr}"
    );
    eprintln!("backup taken while {uploaded} uploads ran:\n{stderr}");
    let db = open_db(&dest);
    assert_eq!(integrity_check(&db), "ok");
    // New databases are at version 16 (issue 17; was 15), and the copy keeps it.
    assert_eq!(count(&db, "PRAGMA user_version"), 16);
    // Consistent: every entry in the copy holds exactly the bytes that were uploaded (a torn
    // copy would show a half-written upload), the first file among them.
    let names: Vec<(String, String)> = {
        let mut st = db
            .prepare("SELECT id, filename FROM entries")
            .expect("prepare");
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query");
        rows.map(|r| r.expect("row")).collect()
    };
    assert!(names.iter().any(|(id, _)| *id == first_id));
    for (id, name) in &names {
        let want = if name == "first.bin" {
            first.clone()
        } else {
            let n = name
                .strip_prefix('f')
                .and_then(|n| n.strip_suffix(".bin"))
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("unexpected file {name}"));
            pattern(2 << 20, 100 + n)
        };
        assert!(
            stored_bytes(&db, id) == want,
            "{name} ({id}) is not whole in the backup"
        );
    }
    // A second backup to the same path is refused rather than overwriting it.
    let again = picoshare(&s.db_path, &["backup".as_ref(), dest.as_os_str()]);
    assert!(!again.status.success());
}

#[test]
fn issue_8_deleting_200_mb_gives_the_space_back_with_a_bounded_wal() {
    let s = Server::start();
    let keep = s.put_file(b"small survivor", "keep.txt");
    let cookie = s.login();
    let src = s.tmpdir.join("big.bin");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&src).expect("create");
        let block = pattern(1 << 20, 5);
        for _ in 0..200 {
            f.write_all(&block).expect("write");
        }
    }
    let out = Command::new("curl")
        .args(["-sS", "--fail", "--noproxy", "*", "-H", "Expect:"])
        .arg("-H")
        .arg(format!("Cookie: {cookie}"))
        .arg("-F")
        .arg(format!("file=@{}", src.display()))
        .arg(s.url(&format!("/api/entry?expiration={}", query_encode(NEVER))))
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let wal = with_suffix(&s.db_path, "-wal");
    // Let the upload's WAL settle into the database file.
    assert!(wait_until(Duration::from_secs(30), || {
        s.db()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|busy| busy == 0)
            .unwrap_or(false)
    }));
    let full = file_len(&s.db_path);
    assert!(full > 200 << 20, "database holds the file: {full}");
    let r = s
        .request("DELETE", &format!("/api/entry/{id}"))
        .auth()
        .send();
    assert_eq!(r.status, 200);
    // The reclaimer runs in the background, woken by the delete; watch the WAL meanwhile.
    let started = Instant::now();
    let mut max_wal = 0;
    let mut shrunk = false;
    while started.elapsed() < Duration::from_secs(120) {
        max_wal = max_wal.max(file_len(&wal));
        if file_len(&s.db_path) < full - (190 << 20) {
            shrunk = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let after = file_len(&s.db_path);
    eprintln!(
        "database {full} -> {after} bytes in {:?}; largest WAL seen {max_wal} bytes",
        started.elapsed()
    );
    assert!(shrunk, "database file did not shrink: {full} -> {after}");
    // Steps of 1024 pages (4 MiB) plus the deletes' own frames, truncated back to 32 MiB.
    assert!(max_wal < 48 << 20, "WAL grew to {max_wal} bytes");
    assert_eq!(s.get(&format!("/-{keep}")).send().body, b"small survivor");
    let ok: String = s
        .db()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity");
    assert_eq!(ok, "ok");
}

#[test]
fn issue_8_compact_converts_a_picoshare_database_and_refuses_while_serving() {
    if !require_fixture(&["store.db"]) {
        return;
    }
    let dir = TempDir::new("compact");
    let db = dir.join("store.db");
    copy_fixture_db(&db);
    assert_eq!(
        count(&open_db(&db), "PRAGMA auto_vacuum"),
        0,
        "Go creates it without"
    );
    let mut s = Server::builder().in_dir(dir).start();
    let refused = picoshare(&s.db_path, &["compact".as_ref()]);
    assert!(
        !refused.status.success(),
        "compact must refuse a live database"
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("stop it first"));
    s.stop();
    let out = picoshare(&s.db_path, &["compact".as_ref()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = open_db(&s.db_path);
    assert_eq!(count(&c, "PRAGMA auto_vacuum"), 2, "incremental now");
    // Our server upgraded the Go-created file to 16 on start (issue 17; was 15); compact
    // keeps the version.
    assert_eq!(count(&c, "PRAGMA user_version"), 16);
    assert_eq!(count(&c, "SELECT COUNT(*) FROM entries"), 4);
    drop(c);
    s.start_again();
    let r = s.get("/-eTrmV2nk9k").send();
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 1_048_576);
}
