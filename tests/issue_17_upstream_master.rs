//! Issue 17, keeping up with PicoShare's master (`../shared/spec/picoshare-upstream-2026.md`):
//! schema version 16 (a 15 database is upgraded in place with the Go-written rows intact, a
//! newer or different one is refused with exit status 2 and left byte-identical), the shared
//! secret's validation at start-up, and per-file download passphrases on a version-16
//! database prepared from the PicoShare fixture.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Every row PicoShare wrote to the fixture, table by table, as text (chunks as hashes), so a
/// copy can be compared before and after our server opened it.
fn go_rows(db: &Path) -> BTreeMap<&'static str, Vec<String>> {
    let c = open_db(db);
    let mut out = BTreeMap::new();
    for (table, sql) in [
        (
            "entries",
            "SELECT id, filename, content_type, upload_time, expiration_time, \
             guest_link_id, note FROM entries ORDER BY id",
        ),
        (
            "entries_data",
            "SELECT id, chunk_index, chunk FROM entries_data ORDER BY id, chunk_index",
        ),
        (
            "downloads",
            "SELECT entry_id, download_timestamp, client_ip, user_agent FROM downloads \
             ORDER BY rowid",
        ),
        (
            "guest_links",
            "SELECT id, label, max_file_bytes, max_file_uploads, creation_time, \
             url_expiration_time, file_expiration_time, is_disabled FROM guest_links ORDER BY id",
        ),
        (
            "settings",
            "SELECT id, default_expiration_in_days FROM settings",
        ),
    ] {
        let mut st = c.prepare(sql).unwrap();
        let n = st.column_count();
        let rows = st
            .query_map([], |r| {
                let mut cells = Vec::new();
                for i in 0..n {
                    use rusqlite::types::ValueRef;
                    cells.push(match r.get_ref(i)? {
                        ValueRef::Null => "NULL".to_owned(),
                        ValueRef::Integer(v) => v.to_string(),
                        ValueRef::Real(v) => v.to_string(),
                        ValueRef::Text(t) => format!("{:?}", String::from_utf8_lossy(t)),
                        ValueRef::Blob(b) => format!("blob:{}", sha256_hex(b)),
                    });
                }
                Ok(cells.join("|"))
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        out.insert(table, rows);
    }
    out
}

fn file_sha(p: &Path) -> String {
    sha256_hex(&std::fs::read(p).expect("read database file"))
}

fn user_version(db: &Path) -> i64 {
    count(&open_db(db), "PRAGMA user_version")
}

/// Starts the binary on `db` (with `envs` on top of a clean environment and a valid secret
/// unless `envs` sets one) and waits for it to exit; fails the test if it is still running
/// after 20 s, i.e. if it started serving instead of refusing.
fn run_to_exit(dir: &Path, db: &Path, envs: &[(&str, &OsStr)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("-db")
        .arg(db)
        .args(["--listen", "127.0.0.1", "--port", "0"])
        .current_dir(dir)
        .env_remove("PORT")
        .env_remove("PS_SHARED_SECRET_FILE")
        .env_remove("PS_BEHIND_PROXY")
        .env_remove("LITESTREAM_BUCKET")
        .env("PS_SHARED_SECRET", SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn picoshare");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return child.wait_with_output().expect("output");
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "still running after 20 s instead of refusing to start; stdout: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts a refused start: exit status 2, one line on stderr containing every `words`,
/// nothing listening.
#[track_caller]
fn assert_refused(out: &Output, words: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "exit status; stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr:?}");
    for w in words {
        assert!(stderr.contains(w), "{w:?} in {stderr:?}");
    }
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("listening on"),
        "it must not serve"
    );
    stderr
}

#[test]
fn issue_17_a_15_database_is_upgraded_to_16_in_place_with_the_go_rows_intact() {
    if !fixture_available("store.db") {
        return;
    }
    let dir = TempDir::new("i17-upgrade");
    let db = dir.join("store.db");
    copy_fixture_db(&db);
    assert_eq!(user_version(&db), 15, "the fixture is PicoShare 1.5's");
    let before = go_rows(&db);
    assert_eq!(before["entries"].len(), 4);

    let mut s = Server::builder().in_dir(dir).start();
    // Served as before: the protection column is NULL for every Go-written row.
    let r = s.get("/-eTrmV2nk9k").send();
    assert_eq!(r.status, 200);
    assert_eq!(
        sha256_hex(&r.body),
        "cb0c5c1ff8a918bc1f61f0087efcee4ed685826f0ec91ceebc22e8cef06d9d35"
    );
    s.stop();

    let db = s.db_path.clone();
    assert_eq!(user_version(&db), 16, "upgraded in place on start");
    let c = open_db(&db);
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM pragma_table_info('entries') WHERE name = 'download_passphrase'"
        ),
        1
    );
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM entries WHERE download_passphrase IS NOT NULL"
        ),
        0,
        "NULL: not protected (never '')"
    );
    let integrity: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    drop(c);
    let after = go_rows(&db);
    assert_eq!(after["entries"], before["entries"]);
    assert_eq!(after["entries_data"], before["entries_data"]);
    assert_eq!(after["guest_links"], before["guest_links"]);
    assert_eq!(after["settings"], before["settings"]);
    assert!(
        after["downloads"].starts_with(&before["downloads"]),
        "PicoShare's download rows kept (ours come after)"
    );
    if let Some(reference) = reference_schema_16() {
        assert_eq!(schema_of(&open_db(&db)), reference);
    }

    // A second start finds a 16 database and opens it as it is.
    s.start_again();
    s.stop();
    assert_eq!(user_version(&db), 16);
    assert_eq!(go_rows(&db)["entries"], before["entries"]);
}

#[test]
fn issue_17_a_newer_or_different_database_is_refused_and_left_byte_identical() {
    if !fixture_available("store.db") {
        return;
    }
    let dir = TempDir::new("i17-refuse");
    // (what is done to the fixture copy, words the one-line reason must hold)
    let cases: [(&str, &str, &[&str]); 5] = [
        (
            "17",
            "ALTER TABLE entries ADD COLUMN download_passphrase TEXT; PRAGMA user_version = 17;",
            &["version 17"],
        ),
        // In rollback-journal mode, where merely opening it for writing (which switches it to
        // WAL) would rewrite its header.
        (
            "17-rollback-journal",
            "ALTER TABLE entries ADD COLUMN download_passphrase TEXT; PRAGMA user_version = 17; \
             PRAGMA journal_mode = DELETE;",
            &["version 17"],
        ),
        (
            "16-fork",
            "ALTER TABLE entries ADD COLUMN download_passphrase_hash TEXT; \
             PRAGMA user_version = 16;",
            &["version 16", "entries"],
        ),
        (
            "16-extra-table",
            "ALTER TABLE entries ADD COLUMN download_passphrase TEXT; \
             CREATE TABLE friendly_links (id TEXT PRIMARY KEY, entry_id TEXT) STRICT; \
             PRAGMA user_version = 16;",
            &["version 16", "friendly_links"],
        ),
        (
            "15-missing-index",
            "DROP INDEX idx_entries_data_length;",
            &["version 15", "idx_entries_data_length"],
        ),
    ];
    for (name, sql, words) in cases {
        let db = dir.join(&format!("{name}.db"));
        copy_fixture_db(&db);
        open_db(&db).execute_batch(sql).unwrap();
        if name.contains("rollback") {
            let mode: String = open_db(&db)
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap();
            assert_eq!(mode, "delete");
        }
        let sha = file_sha(&db);
        let out = run_to_exit(dir.path(), &db, &[]);
        let line = assert_refused(&out, words);
        eprintln!("{name}: {line}");
        assert_eq!(file_sha(&db), sha, "{name}: the file's bytes are unchanged");
    }
}

#[test]
fn issue_17_the_shared_secret_is_validated_at_start_up() {
    let dir = TempDir::new("i17-secret");
    let db = dir.join("store.db");
    let rule = "invalid PS_SHARED_SECRET: passphrase must contain between 1 and 100 Unicode \
                code points";
    let long = "é".repeat(101);
    let out = run_to_exit(dir.path(), &db, &[("PS_SHARED_SECRET", OsStr::new(&long))]);
    assert_refused(&out, &[rule]);
    // Not UTF-8, in the environment.
    let out = run_to_exit(
        dir.path(),
        &db,
        &[("PS_SHARED_SECRET", OsStr::from_bytes(b"caf\xe9"))],
    );
    assert_refused(&out, &[&format!("{rule}: invalid UTF-8")]);
    // From a file: not UTF-8, a NUL (the environment cannot hold one), too long.
    let file = dir.join("secret");
    for (bytes, words) in [
        (&b"caf\xe9\n"[..], format!("{rule}: invalid UTF-8")),
        (b"ab\0cd\n", format!("{rule}: NUL bytes are not allowed")),
        (long.as_bytes(), rule.to_owned()),
    ] {
        std::fs::write(&file, bytes).unwrap();
        let out = run_to_exit(
            dir.path(),
            &db,
            &[("PS_SHARED_SECRET_FILE", file.as_os_str())],
        );
        assert_refused(&out, &[&words, "PS_SHARED_SECRET_FILE"]);
    }
    assert!(!db.exists(), "nothing was created");

    // 100 code points are fine, and so is the random one made when none is set.
    let mut s = Server::builder().secret(Some(&"é".repeat(100))).start();
    s.login_with(&"é".repeat(100));
    s.stop();
    let mut s = Server::builder().secret(None).start();
    let line = s
        .stdout_lines()
        .into_iter()
        .find(|l| l.contains("admin passphrase is: "))
        .expect("the generated passphrase is printed");
    let generated = line.rsplit("admin passphrase is: ").next().unwrap().trim();
    assert!((1..=100).contains(&generated.chars().count()));
    s.login_with(generated);
    s.stop();
}
