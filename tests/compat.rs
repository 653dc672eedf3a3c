//! Issue 2, compatibility with the Go PicoShare's database: a copy of the fixture written by
//! PicoShare 1.5.1 (`../shared/fixtures/picoshare-go/`) is served byte-identical (an entry
//! whose expiration the test moved into the past answers 404), its guest-link, download and
//! settings rows read without error, and after our server has written to it the schema and
//! `user_version` are still PicoShare's: upgraded in place to version 16 exactly as PicoShare's
//! master upgrades it (issue 17), nothing else. A database we create has PicoShare's version-16
//! schema exactly (spec §2.2 plus migration 016). Each test works on a copy whose dates are moved relative to now
//! ([`copy_fixture_db`]), so no assertion depends on today's date; one test reads the untouched
//! fixture, read-only.
//!
//! A missing fixture fails these tests with where to find it, unless
//! `PICOSHARE_TEST_SKIP=fixture` (tests/common/skip.rs).

mod common;

use std::collections::BTreeSet;
use std::fs;

use chrono::{DateTime, Utc};
use common::*;
use rusqlite::Connection;
use rusqlite::OpenFlags;

const FIXTURE_SECRET: &str = "somesecretpass";

/// One line of the MANIFEST's entries table.
#[derive(Debug)]
struct ManifestEntry {
    id: String,
    filename: String,
    size: usize,
    sha256: String,
    content_type: String,
    guest_link_id: Option<String>,
}

fn manifest() -> String {
    fs::read_to_string(fixture_dir().join("MANIFEST.txt")).expect("MANIFEST.txt")
}

/// The non-blank lines after the header line of the section starting with `title`.
fn section<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with(title));
    lines
        .next()
        .unwrap_or_else(|| panic!("no {title:?} section in MANIFEST"));
    lines.take_while(|l| !l.trim().is_empty()).collect()
}

fn manifest_entries() -> Vec<ManifestEntry> {
    let text = manifest();
    let lines = section(&text, "Entries (table entries");
    let mut out = Vec::new();
    for line in lines {
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.first() == Some(&"id") {
            continue; // The column header.
        }
        if t.len() < 6 || t[0].len() != 10 {
            continue; // A note line below the table.
        }
        assert!(
            t[5..]
                .iter()
                .any(|tok| DateTime::parse_from_rfc3339(tok).is_ok()),
            "no expiration in MANIFEST line {line:?}"
        );
        let last = *t.last().unwrap();
        out.push(ManifestEntry {
            id: t[0].to_owned(),
            filename: t[1].to_owned(),
            size: t[2].parse().expect("size"),
            sha256: t[3].to_owned(),
            content_type: t[4].to_owned(),
            guest_link_id: (last != "NULL").then(|| last.to_owned()),
        });
    }
    assert!(!out.is_empty(), "MANIFEST lists entries");
    out
}

/// Copies the fixture database into a fresh folder, its dates moved relative to now.
fn fixture_copy() -> TempDir {
    let dir = TempDir::new("compat");
    copy_fixture_db(&dir.join("store.db"));
    dir
}

/// The fixture's 7-day admin upload: the entry these tests expire.
const SEVEN_DAY_ENTRY: &str = "2LJTBB85fP";

fn start_on_fixture(dir: TempDir) -> Server {
    Server::builder()
        .secret(Some(FIXTURE_SECRET))
        .in_dir(dir)
        .start()
}

#[test]
fn compat_fixture_entries_download_byte_identical_and_expired_ones_404() {
    if !require_fixture(&["store.db", "MANIFEST.txt", "files"]) {
        return;
    }
    let dir = fixture_copy();
    // The collector runs at start-up and would delete an expired entry before we look: expire
    // it once the server is up, as time passing would.
    let s = start_on_fixture(dir);
    set_fixture_time(&s.db_path, "entries", SEVEN_DAY_ENTRY, -3600);
    let entries = manifest_entries();
    let mut served = 0;
    let mut length_problems = Vec::new();
    for e in &entries {
        let path = format!("/-{}", e.id);
        if e.id == SEVEN_DAY_ENTRY {
            assert_eq!(s.get(&path).send().status, 404, "{} expired", e.id);
            assert_eq!(s.head(&path).send().status, 404, "{} expired", e.id);
            continue;
        }
        served += 1;
        let original = fs::read(fixture_dir().join("files").join(&e.filename))
            .unwrap_or_else(|err| panic!("files/{}: {err}", e.filename));
        assert_eq!(
            sha256_hex(&original),
            e.sha256,
            "files/{} matches MANIFEST",
            e.filename
        );
        assert_eq!(original.len(), e.size);
        for p in [
            path.clone(),
            format!("{path}/{}", e.filename),
            format!("/!{}", e.id),
        ] {
            let r = s.get(&p).send();
            assert_eq!(r.status, 200, "{p}: {}", r.text());
            assert_eq!(sha256_hex(&r.body), e.sha256, "{p} byte-identical");
        }
        let head = s.head(&path).send();
        assert_eq!(head.status, 200);
        if head.header("content-length") != Some(e.size.to_string().as_str()) {
            // Checked at the end, so the other checks still run.
            length_problems.push(format!(
                "{}: HEAD Content-Length {:?}, want {}",
                e.id,
                head.header("content-length"),
                e.size
            ));
        }
        let ct = head.header("content-type").unwrap_or("");
        assert!(
            ct.starts_with(&e.content_type),
            "{}: {ct} vs {}",
            e.id,
            e.content_type
        );
        let cd = head.header("content-disposition").unwrap_or("");
        let ext = cd
            .split(';')
            .map(str::trim)
            .find_map(|p| p.strip_prefix("filename*=UTF-8''"))
            .unwrap_or_else(|| panic!("filename* in {cd}"));
        assert_eq!(String::from_utf8(percent_decode(ext)).unwrap(), e.filename);

        let row = entry_row(&s.db(), &e.id).expect("entries row");
        let uploaded = DateTime::parse_from_rfc3339(&row.upload_time)
            .expect("upload_time")
            .with_timezone(&Utc);
        let lm = head.header("last-modified").expect("Last-Modified");
        assert_eq!(
            lm,
            uploaded.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            "{}: Last-Modified is PicoShare's upload_time",
            e.id
        );

        // Ranges over PicoShare's 327,680-byte chunks.
        let n = e.size;
        let mut ranges = vec![(0, 0), (n - 1, n - 1), (n.saturating_sub(100), n - 1)];
        if n > 327_690 {
            ranges.push((327_670, 327_700));
            ranges.push((327_680, 655_359.min(n - 1)));
        }
        for (a, b) in ranges {
            let r = s
                .get(&path)
                .header("Range", &format!("bytes={a}-{b}"))
                .send();
            assert_eq!(r.status, 206, "{} bytes={a}-{b}", e.id);
            assert!(r.body == original[a..=b], "{} bytes={a}-{b}", e.id);
        }
    }
    assert_eq!(served, entries.len() - 1, "every unexpired entry served");
    assert!(length_problems.is_empty(), "{length_problems:#?}");
}

/// A guest link: id, label, max file bytes, max uploads, "file lifetime|disabled".
type GuestLink = (String, String, Option<i64>, Option<i64>, String);

/// Reads every guest link with the column types PicoShare writes (checking its timestamps).
fn read_guest_links(c: &Connection) -> Vec<GuestLink> {
    let mut st = c
        .prepare(
            "SELECT id, label, max_file_bytes, max_file_uploads, creation_time, \
             url_expiration_time, file_expiration_time, is_disabled FROM guest_links ORDER BY id",
        )
        .unwrap();
    let rows = st
        .query_map([], |r| {
            let id: String = r.get(0)?;
            let label: Option<String> = r.get(1)?;
            let max_bytes: Option<i64> = r.get(2)?;
            let max_uploads: Option<i64> = r.get(3)?;
            let created: String = r.get(4)?;
            let url_exp: Option<String> = r.get(5)?;
            let file_exp: Option<String> = r.get(6)?;
            let disabled: i64 = r.get(7)?;
            DateTime::parse_from_rfc3339(&created).expect("creation_time");
            if let Some(u) = &url_exp {
                DateTime::parse_from_rfc3339(u).expect("url_expiration_time");
            }
            assert!(disabled == 0 || disabled == 1);
            Ok((
                id,
                label.unwrap_or_default(),
                max_bytes,
                max_uploads,
                format!("{}|{}", file_exp.unwrap_or_default(), disabled),
            ))
        })
        .unwrap();
    rows.map(|r| r.expect("guest link row")).collect()
}

#[test]
fn compat_fixture_rows_read_and_schema_survives_our_writes() {
    if !require_fixture(&["store.db", "MANIFEST.txt", "schema.sql"]) {
        return;
    }
    let dir = fixture_copy();
    let original = open_db(&dir.join("store.db"));
    let original_schema = schema_of(&original);
    let original_sql: Vec<Option<String>> = schema_sql(&original);
    let original_downloads = count(&original, "SELECT COUNT(*) FROM downloads");
    drop(original);
    // What PicoShare's master makes of the same file: its migration 016 applied to a copy.
    let upstream_16 = TempDir::new("upstream-16");
    fs::copy(dir.join("store.db"), upstream_16.join("store.db")).unwrap();
    let (upstream_schema, upstream_sql) = {
        let c = open_db(&upstream_16.join("store.db"));
        c.execute_batch(MIGRATION_016).unwrap();
        c.pragma_update(None, "user_version", 16).unwrap();
        let sql: Vec<Option<String>> = schema_sql(&c);
        (schema_of(&c), sql)
    };
    assert_ne!(upstream_schema, original_schema, "016 changes the schema");

    let mut s = start_on_fixture(dir);
    let text = manifest();
    let entries = manifest_entries();

    // Guest links, as the MANIFEST lists them.
    let listed: BTreeSet<String> = section(&text, "Guest links")
        .iter()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|t| t.len() == 16)
        .map(str::to_owned)
        .collect();
    let links = read_guest_links(&s.db());
    let ids: BTreeSet<String> = links.iter().map(|l| l.0.clone()).collect();
    assert_eq!(ids, listed, "guest_links rows");
    let l = links
        .iter()
        .find(|l| l.1 == "Fixture guest link")
        .expect("the fixture's labelled guest link");
    assert_eq!((l.2, l.3), (Some(10_485_760), Some(3)));
    assert_eq!(l.4, "168h0m0s|0");

    // Downloads PicoShare recorded: readable, and still there.
    let db = s.db();
    let mut st = db
        .prepare("SELECT entry_id, download_timestamp, client_ip, user_agent FROM downloads")
        .unwrap();
    let downloads: Vec<(String, String, Option<String>, Option<String>)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(|r| r.expect("download row"))
        .collect();
    drop(st);
    assert!(downloads.len() as i64 >= original_downloads);
    for d in &downloads {
        DateTime::parse_from_rfc3339(&d.1).expect("download_timestamp");
    }
    assert!(
        downloads
            .iter()
            .any(|d| d.3.as_deref() == Some("fixture-client/1.0 (curl)")),
        "PicoShare's download rows are kept"
    );

    // Settings: PicoShare's row, untouched.
    let days: Option<i64> = db
        .query_row(
            "SELECT default_expiration_in_days FROM settings WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .expect("settings row");
    assert_eq!(days, Some(14), "settings row from the MANIFEST");

    // Entries: every column reads with PicoShare's types.
    for e in &entries {
        let row = entry_row(&db, &e.id).unwrap_or_else(|| panic!("entries row {}", e.id));
        assert_eq!(row.filename, e.filename);
        assert_eq!(row.content_type, e.content_type);
        assert_eq!(row.guest_link_id, e.guest_link_id);
        DateTime::parse_from_rfc3339(&row.upload_time).expect("upload_time");
    }
    drop(db);

    // Now write: upload (several chunks), download, edit, delete.
    let data = pattern(700_000, 31);
    let new_id = s.upload_ok(&Upload::new(&data, "ours.bin").note("written by the Rust server"));
    assert!(s.get(&format!("/-{new_id}")).send().body == data);
    let victim = entries
        .iter()
        .find(|e| e.guest_link_id.is_none())
        .map(|e| e.id.clone())
        .expect("an admin upload in the fixture");
    {
        s.get(&format!("/-{victim}")).send();
        let r = s
            .request("DELETE", &format!("/api/entry/{victim}"))
            .auth()
            .send();
        assert_eq!(r.status, 200);
        assert_eq!(s.get(&format!("/-{victim}")).send().status, 404);
    }
    let e = entries
        .iter()
        .find(|e| e.id != victim)
        .expect("a second entry in the fixture");
    {
        let body =
            serde_json::json!({ "filename": e.filename, "note": "edited", "expiration": "" });
        let r = s
            .request("PUT", &format!("/api/entry/{}", e.id))
            .auth()
            .json(&body.to_string())
            .send();
        assert_eq!(r.status, 200, "{}", r.text());
    }
    s.stop();

    // The file is still PicoShare's: upgraded from 15 to 16 as PicoShare's master does it
    // (issue 17; this assertion said 15 before), and nothing else changed.
    let c = open_db(&s.db_path);
    let version: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 16);
    assert_eq!(
        schema_of(&c),
        upstream_schema,
        "schema = the fixture's + migration 016, nothing else"
    );
    let sql_now: Vec<Option<String>> = schema_sql(&c);
    // Beside PicoShare's schema, only tables of ours, each object named rs_….
    assert!(our_objects(&c).contains(&"table rs_migrations".to_owned()));
    assert_eq!(
        sql_now, upstream_sql,
        "sqlite_master text = what PicoShare's migration 016 writes"
    );
    assert_ne!(sql_now, original_sql);
    let reference = reference_schema_16().expect("schema.sql");
    assert_eq!(
        schema_of(&c),
        reference,
        "equals schema.sql + migration 016"
    );
    let integrity: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let fk_problems = count(&c, "SELECT COUNT(*) FROM pragma_foreign_key_check");
    assert_eq!(fk_problems, 0, "foreign_key_check");
    let row = entry_row(&c, &new_id).expect("our entry");
    assert_eq!(row.guest_link_id, None);
    assert_eq!(row.note.as_deref(), Some("written by the Rust server"));
    assert_eq!(chunks(&c, &new_id).len(), 3, "327,680-byte chunks");
    {
        for sql in [
            "SELECT COUNT(*) FROM entries WHERE id = ?1",
            "SELECT COUNT(*) FROM entries_data WHERE id = ?1",
            "SELECT COUNT(*) FROM downloads WHERE entry_id = ?1",
        ] {
            let n: i64 = c.query_row(sql, [&victim], |r| r.get(0)).unwrap();
            assert_eq!(n, 0, "{sql} for the deleted {victim}");
        }
    }
    {
        let row = entry_row(&c, &e.id).unwrap();
        assert_eq!(row.note.as_deref(), Some("edited"));
        assert_eq!(row.expiration_time.as_deref(), Some(NEVER));
        assert_eq!(row.guest_link_id, e.guest_link_id, "attribution kept");
    }
    assert_eq!(read_guest_links(&c).len(), listed.len(), "guest links kept");
    let days: Option<i64> = c
        .query_row(
            "SELECT default_expiration_in_days FROM settings WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(days, Some(14));
}

#[test]
fn a_new_database_has_picoshares_schema() {
    let mut s = Server::start();
    let id = s.put_file(&pattern(400_000, 1), "x.bin");
    s.stop();
    let c = open_db(&s.db_path);
    let q = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    // New databases are created at PicoShare's newest known version (issue 17; was 15).
    assert_eq!(q("PRAGMA user_version"), 16);
    assert_eq!(q("PRAGMA auto_vacuum"), 2, "incremental auto-vacuum");
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let settings: (i64, Option<i64>) = c
        .query_row(
            "SELECT id, default_expiration_in_days FROM settings",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the one settings row");
    assert_eq!(settings, (1, Some(30)));
    assert_eq!(chunks(&c, &id).len(), 2);
    let integrity: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");

    if !require_fixture(&["schema.sql"]) {
        return;
    }
    let ours = schema_of(&c);
    assert!(our_objects(&c).contains(&"table rs_migrations".to_owned()));
    let reference = reference_schema_16().expect("schema.sql");
    let names = |v: &[(String, String, String, String)]| -> Vec<String> {
        v.iter().map(|r| format!("{} {}", r.0, r.1)).collect()
    };
    assert_eq!(
        names(&ours),
        names(&reference),
        "same tables and indexes, nothing extra"
    );
    for (a, b) in ours.iter().zip(reference.iter()) {
        assert_eq!(a, b, "{} {}", a.0, a.1);
    }
}

#[test]
fn compat_an_expired_fixture_entry_is_404_and_collected_with_its_downloads() {
    if !require_fixture(&["store.db", "MANIFEST.txt"]) {
        return;
    }
    // Expire the entry PicoShare recorded downloads for, in the copy, before we start.
    let entries = manifest_entries();
    let dir = fixture_copy();
    let db = open_db(&dir.join("store.db"));
    let victim: String = db
        .query_row(
            "SELECT entry_id FROM downloads GROUP BY entry_id ORDER BY COUNT(*) DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("the fixture has download rows");
    drop(db);
    set_fixture_time(&dir.join("store.db"), "entries", &victim, -3600);

    let mut s = start_on_fixture(dir);
    assert_eq!(s.get(&format!("/-{victim}")).send().status, 404);
    let db = s.db();
    let collected = wait_until(std::time::Duration::from_secs(5), || {
        count(
            &db,
            &format!("SELECT COUNT(*) FROM entries WHERE id = '{victim}'"),
        ) == 0
    });
    assert!(collected, "start-up GC collected {victim}");
    for sql in [
        "SELECT COUNT(*) FROM entries_data WHERE id = ?1",
        "SELECT COUNT(*) FROM downloads WHERE entry_id = ?1",
    ] {
        let n: i64 = db.query_row(sql, [&victim], |r| r.get(0)).unwrap();
        assert_eq!(n, 0, "{sql}");
    }
    drop(db);
    for e in entries.iter().filter(|e| e.id != victim) {
        let r = s.get(&format!("/-{}", e.id)).send();
        assert_eq!(sha256_hex(&r.body), e.sha256, "{} still served", e.id);
    }
    s.stop();
    let c = open_db(&s.db_path);
    let integrity: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    assert_eq!(
        count(&c, "SELECT COUNT(*) FROM pragma_foreign_key_check"),
        0
    );
}

/// The fixture itself, untouched and opened read-only: what it holds does not depend on the
/// date (the other tests work on copies whose dates they move).
#[test]
fn compat_untouched_fixture_holds_what_its_manifest_lists() {
    if !require_fixture(&["store.db", "MANIFEST.txt", "schema.sql"]) {
        return;
    }
    let c = Connection::open_with_flags(
        fixture_dir().join("store.db"),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .expect("open the fixture read-only");
    assert_eq!(count(&c, "PRAGMA user_version"), 15);
    let integrity: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let reference = reference_schema().expect("schema.sql");
    assert_eq!(schema_of(&c), reference, "equals schema.sql");
    let entries = manifest_entries();
    let text = manifest();
    let written = text
        .lines()
        .find_map(|l| l.strip_prefix("All upload_time = "))
        .and_then(|rest| rest.split(['.', ' ']).next())
        .expect("MANIFEST: All upload_time = …");
    assert_eq!(
        count(&c, "SELECT COUNT(*) FROM entries"),
        entries.len() as i64
    );
    for e in &entries {
        let bytes: Vec<u8> = chunks(&c, &e.id).into_iter().flat_map(|(_, b)| b).collect();
        assert_eq!(bytes.len(), e.size, "{} size", e.id);
        assert_eq!(sha256_hex(&bytes), e.sha256, "{} bytes", e.id);
        let row = entry_row(&c, &e.id).expect("entries row");
        assert_eq!(row.upload_time, written, "{} upload_time", e.id);
    }
    assert_eq!(count(&c, "SELECT COUNT(*) FROM guest_links"), 2);
    assert_eq!(count(&c, "SELECT COUNT(*) FROM downloads"), 2);
}
