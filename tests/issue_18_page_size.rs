//! Issue 18: databases we create use 64 KiB pages (a 320 KiB chunk is a few overflow pages,
//! not 81), and `picoshare compact` converts an existing database — the Go PicoShare's, or one
//! of ours from before — to that page size in the same pass that turns on incremental
//! auto-vacuum, keeping every row and the schema version.

mod common;

use std::process::Command;

use common::*;

const OURS: i64 = 65_536;

fn page_size(db: &std::path::Path) -> i64 {
    count(&open_db(db), "PRAGMA page_size")
}

/// `picoshare -db DB compact`, asserting success.
#[track_caller]
fn compact(db: &std::path::Path) -> String {
    let out = Command::new(BIN)
        .arg("-db")
        .arg(db)
        .arg("compact")
        .output()
        .expect("run picoshare compact");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "compact failed: {stderr}");
    stderr
}

#[test]
fn issue_18_new_databases_use_64_kib_pages_and_give_space_back() {
    let mut s = Server::builder().gc_interval(1).start();
    let keep = pattern(700_000, 1);
    let keep_id = s.put_file(&keep, "keep.bin");
    let gone = s.put_file(&pattern(6 << 20, 2), "gone.bin");
    assert_eq!(page_size(&s.db_path), OURS);
    assert_eq!(count(&s.db(), "PRAGMA auto_vacuum"), 2, "incremental");
    let r = s
        .request("DELETE", &format!("/api/entry/{gone}"))
        .auth()
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    // Freed 64 KiB pages go back to the filesystem (the collector's reclaim step is in bytes).
    let reclaimed = wait_until(std::time::Duration::from_secs(20), || {
        count(&s.db(), "PRAGMA freelist_count") == 0
    });
    assert!(reclaimed, "free pages given back");
    s.stop();
    let db = open_db(&s.db_path);
    let pages = count(&db, "PRAGMA page_count");
    // Every table and index of ours (rs_…) takes a page even when empty: the bound grows with
    // them (issue 19's rs_tus_uploads and its indexes tipped a flat 3 MiB over, at 50 pages).
    let ours = count(
        &db,
        "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'rs\\_%' ESCAPE '\\'",
    );
    assert!(
        pages * OURS < (3 << 20) + ours * OURS,
        "the file shrank after the delete: {pages} pages of 64 KiB ({ours} objects of ours)"
    );
    drop(db);
    s.start_again();
    assert!(s.get(&format!("/-{keep_id}")).send().body == keep);
}

#[test]
fn issue_18_compact_converts_a_picoshare_database_to_64_kib_pages() {
    if !fixture_available("store.db") {
        return;
    }
    let dir = TempDir::new("compact-page");
    let db = dir.join("store.db");
    copy_fixture_db(&db);
    assert_eq!(page_size(&db), 4096, "the Go PicoShare's page size");
    // Our server keeps an existing file's page size until compact; write to it first, so the
    // converted file holds rows of both programs.
    let mut s = Server::builder().in_dir(dir).start();
    let ours = pattern(1_000_000, 3);
    let ours_id = s.put_file(&ours, "ours.bin");
    assert_eq!(page_size(&s.db_path), 4096, "kept until compact");
    s.stop();
    let version = count(&open_db(&s.db_path), "PRAGMA user_version");
    let before = {
        let c = open_db(&s.db_path);
        (
            count(&c, "SELECT COUNT(*) FROM entries"),
            count(&c, "SELECT COUNT(*) FROM entries_data"),
            count(&c, "SELECT COUNT(*) FROM downloads"),
            count(&c, "SELECT COUNT(*) FROM guest_links"),
        )
    };
    let said = compact(&s.db_path);
    assert!(said.contains("65536-byte pages"), "{said}");
    let c = open_db(&s.db_path);
    assert_eq!(count(&c, "PRAGMA page_size"), OURS);
    assert_eq!(count(&c, "PRAGMA auto_vacuum"), 2);
    assert_eq!(count(&c, "PRAGMA user_version"), version, "version kept");
    let after = (
        count(&c, "SELECT COUNT(*) FROM entries"),
        count(&c, "SELECT COUNT(*) FROM entries_data"),
        count(&c, "SELECT COUNT(*) FROM downloads"),
        count(&c, "SELECT COUNT(*) FROM guest_links"),
    );
    assert_eq!(after, before, "every row kept");
    let integrity: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity");
    assert_eq!(integrity, "ok");
    drop(c);
    s.start_again();
    assert!(s.get(&format!("/-{ours_id}")).send().body == ours);
    let go = s.get("/-eTrmV2nk9k").send();
    assert_eq!(go.status, 200);
    assert_eq!(
        sha256_hex(&go.body),
        "cb0c5c1ff8a918bc1f61f0087efcee4ed685826f0ec91ceebc22e8cef06d9d35",
        "the Go PicoShare's file, byte-identical (MANIFEST)"
    );
}
