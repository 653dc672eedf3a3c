//! The Go PicoShare's database (`../shared/fixtures/picoshare-go/`, or `PICOSHARE_FIXTURE_DIR`):
//! where it is, whether it is there (through the skip policy), and copies whose dates are moved
//! relative to now so no test depends on today's date.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::Utc;
use rusqlite::Connection;

use super::data::{in_days, in_secs};
use super::db::{open_db, schema_of};
use super::skip::require;

/// `../shared/fixtures/picoshare-go` relative to the package (or `PICOSHARE_FIXTURE_DIR`).
pub fn fixture_dir() -> PathBuf {
    match std::env::var_os("PICOSHARE_FIXTURE_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/picoshare-go"),
    }
}

/// Whether the fixture holds every file of `files` (e.g. `store.db`, `MANIFEST.txt`): `true`
/// to go on. Missing: the test fails saying where the fixture comes from, or, with
/// `PICOSHARE_TEST_SKIP=fixture`, is skipped (`false`).
#[track_caller]
pub fn require_fixture(files: &[&str]) -> bool {
    let dir = fixture_dir();
    let missing: Vec<String> = files
        .iter()
        .filter(|f| !dir.join(f).exists())
        .map(|f| dir.join(f).display().to_string())
        .collect();
    let found = if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the PicoShare fixture is missing: {}. It is the workplace's shared folder beside \
             the repository (../shared/fixtures/picoshare-go: a database written by the Go \
             PicoShare 1.5.1, see its MANIFEST.txt); set PICOSHARE_FIXTURE_DIR to where it is",
            missing.join(", ")
        ))
    };
    require("fixture", found).is_some()
}

/// The old name of [`require_fixture`] for one file.
#[track_caller]
pub fn fixture_available(what: &str) -> bool {
    require_fixture(&[what])
}

/// The schema PicoShare 1.5.x creates, from `schema.sql` loaded into an in-memory database;
/// `None` if the fixture is missing.
pub fn reference_schema() -> Option<Vec<(String, String, String, String)>> {
    let sql = fs::read_to_string(fixture_dir().join("schema.sql")).ok()?;
    let c = Connection::open_in_memory().expect("memory db");
    c.execute_batch(&sql).expect("load schema.sql");
    Some(schema_of(&c))
}

/// PicoShare's migration 016 (its master, September 2026), as upstream runs it: a database at
/// `user_version` 16 is a 15 one with this column appended.
pub const MIGRATION_016: &str = "ALTER TABLE entries ADD COLUMN download_passphrase TEXT;";

/// The schema PicoShare's master has at version 16: `schema.sql` plus [`MIGRATION_016`];
/// `None` if the fixture is missing.
pub fn reference_schema_16() -> Option<Vec<(String, String, String, String)>> {
    let sql = fs::read_to_string(fixture_dir().join("schema.sql")).ok()?;
    let c = Connection::open_in_memory().expect("memory db");
    c.execute_batch(&sql).expect("load schema.sql");
    c.execute_batch(MIGRATION_016).expect("migration 016");
    Some(schema_of(&c))
}

/// Copies the fixture's `store.db` to `dest` and moves every date in the copy by the same
/// amount, so the copy looks written one minute ago: the 7-day entries expire in 7 days, the
/// 30-day ones and the guest link's URL in 30, "never" (the 2999 sentinel) stays. An expiration
/// that would still not be a day ahead (a fixture edited to hold past dates) becomes 7 days
/// ahead. A test that needs an expired entry or link sets it with [`set_fixture_time`];
/// nothing a test asserts depends on today's date or on the fixture's.
#[track_caller]
pub fn copy_fixture_db(dest: &Path) {
    let source = fixture_dir().join("store.db");
    fs::copy(&source, dest).unwrap_or_else(|e| panic!("copy {}: {e}", source.display()));
    let c = open_db(dest);
    let written: String = c
        .query_row("SELECT MIN(upload_time) FROM entries", [], |r| r.get(0))
        .expect("the fixture's upload time");
    let written = chrono::DateTime::parse_from_rfc3339(&written).expect("RFC 3339 upload_time");
    let shift = (Utc::now() - chrono::Duration::minutes(1)).timestamp() - written.timestamp();
    let moved = |table: &str, column: &str| {
        c.execute(
            &format!(
                "UPDATE {table} SET {column} = \
                 strftime('%Y-%m-%dT%H:%M:%SZ', {column}, ?1 || ' seconds') \
                 WHERE {column} IS NOT NULL AND {column} < '2999-'"
            ),
            [format!("{shift:+}")],
        )
        .unwrap_or_else(|e| panic!("shift {table}.{column}: {e}"));
    };
    moved("entries", "upload_time");
    moved("guest_links", "creation_time");
    moved("downloads", "download_timestamp");
    for (table, column) in [
        ("entries", "expiration_time"),
        ("guest_links", "url_expiration_time"),
    ] {
        moved(table, column);
        c.execute(
            &format!(
                "UPDATE {table} SET {column} = ?1 \
                 WHERE {column} IS NOT NULL AND {column} < ?2"
            ),
            [in_days(7), in_days(1)],
        )
        .unwrap_or_else(|e| panic!("clamp {table}.{column}: {e}"));
    }
}

/// Sets an entry's expiration (`entries`) or a guest link's URL expiration (`guest_links`) in
/// a database to now + `secs` (negative: already past).
#[track_caller]
pub fn set_fixture_time(db: &Path, table: &str, id: &str, secs: i64) {
    let column = match table {
        "entries" => "expiration_time",
        "guest_links" => "url_expiration_time",
        other => panic!("no expiration column in {other}"),
    };
    let n = open_db(db)
        .execute(
            &format!("UPDATE {table} SET {column} = ?1 WHERE id = ?2"),
            [in_secs(secs), id.to_owned()],
        )
        .unwrap_or_else(|e| panic!("set {table}.{column}: {e}"));
    assert_eq!(n, 1, "{table} row {id}");
}
