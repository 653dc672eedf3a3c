//! Schema set-up: numbered SQL files in `migrations/`, tracked by `PRAGMA user_version` the way
//! PicoShare tracks its own. A database is opened only at a version we know (15: PicoShare
//! 1.5.x; 16: its master's download passphrases) and only if its tables are exactly that
//! version's; anything else is refused before a byte of the file is written.
//!
//! Our own features (those PicoShare does not have) keep their data in tables of our own,
//! never in PicoShare's, so the Go PicoShare can still open the file (it ignores tables it does
//! not know) and upstream's future migrations still apply. The rules for them:
//! - every table and index of ours is named `rs_…`; the schema check above leaves them out;
//! - they are created by named SQL files in `migrations/ours/`, listed in [`OUR_MIGRATIONS`]
//!   and recorded by name in `rs_migrations` (a set, not a counter: features added in any
//!   order each apply once); `user_version` stays PicoShare's;
//! - a foreign key from one of our tables to one of PicoShare's is `ON DELETE CASCADE` (or
//!   absent), so a deletion by the Go PicoShare never fails because of our rows.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::StoreError;

/// The newest PicoShare schema version we know; new databases are created at it and older
/// known ones are brought up to it.
pub const PICOSHARE_VERSION: i64 = 16;

/// The oldest version we open as it is (PicoShare 1.5.x); older ones are refused.
const OLDEST_VERSION: i64 = 15;

/// Our migrations: (the user_version after it, SQL). The first creates PicoShare 1.5's final
/// schema in one step; each later one is one of PicoShare's own, with its SQL unchanged, so a
/// file upgraded by either program is the same.
const MIGRATIONS: &[(i64, &str)] = &[
    (15, include_str!("migrations/0001_picoshare_schema.sql")),
    (16, include_str!("migrations/0002_download_passphrase.sql")),
];

/// Tables of our own: (name, SQL), applied once each, in this order, after PicoShare's
/// migrations. Names are file names in `migrations/ours/`; SQL creates only `rs_…` objects.
const OUR_MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_api_tokens",
        include_str!("migrations/ours/0001_api_tokens.sql"),
    ),
    (
        "issue20_bundles",
        include_str!("migrations/ours/issue20_bundles.sql"),
    ),
    (
        "issue20_download_limits",
        include_str!("migrations/ours/issue20_download_limits.sql"),
    ),
    (
        "issue20_file_versions",
        include_str!("migrations/ours/issue20_file_versions.sql"),
    ),
    (
        "issue19_tus_uploads",
        include_str!("migrations/ours/issue19_tus_uploads.sql"),
    ),
];

/// On a brand-new, empty database, choose what can only be chosen before the first table
/// exists: `page_size` (64 KiB by default: a chunk is a few overflow pages, not dozens) and
/// incremental auto-vacuum (deleted files' pages go back to the filesystem in small steps
/// instead of a full VACUUM that doubles disk use).
pub fn prepare_new_database(conn: &Connection, page_size: u32) -> Result<(), StoreError> {
    let tables: i64 = conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))?;
    if tables == 0 {
        conn.pragma_update(None, "page_size", page_size)?;
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    }
    Ok(())
}

/// Before the database is opened for writing: looks at an existing file through a read-only
/// connection and refuses one we must not touch ([`check`]), so a refused file's bytes stay
/// exactly as they were (no journal-mode change, no checkpoint). A file that cannot be read
/// this way (missing, empty, a hot journal to roll back) is left to the normal open, which
/// checks again.
pub fn refuse_unknown(path: &Path, busy_timeout: Duration) -> Result<(), StoreError> {
    if std::fs::metadata(path).map_or(true, |m| m.len() == 0) {
        return Ok(());
    }
    let Ok(conn) = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return Ok(());
    };
    if conn.busy_timeout(busy_timeout).is_err() {
        return Ok(());
    }
    match check(&conn) {
        Err(StoreError::Schema(reason)) => Err(StoreError::Schema(reason)),
        _ => Ok(()),
    }
}

/// The database's schema version, if we may open it: 0 for a new, empty database, else a
/// version we know whose tables and indexes are exactly that version's.
pub fn check(conn: &Connection) -> Result<i64, StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let objects = schema_objects(conn)?;
    let refuse = |why: String| Err(StoreError::Schema(why));
    if version == 0 {
        if objects.is_empty() {
            return Ok(0);
        }
        return refuse(format!(
            "this database has no PicoShare schema version (user_version 0) but holds tables \
             ({}); it is not a PicoShare database",
            names(&objects)
        ));
    }
    if version > PICOSHARE_VERSION {
        return refuse(format!(
            "this database is at PicoShare schema version {version}, newer than {}, the \
             newest this server knows; refusing to open it so it stays as it is",
            PICOSHARE_VERSION
        ));
    }
    if version < OLDEST_VERSION {
        return refuse(format!(
            "this database is at PicoShare schema version {version}; open it once with \
             PicoShare 1.5 or newer to upgrade it to version {OLDEST_VERSION}"
        ));
    }
    let reference = reference(version)?;
    let expected = schema_objects(&reference)?;
    if let Some(difference) = difference((conn, &objects), (&reference, &expected)) {
        return refuse(format!(
            "this database says PicoShare schema version {version}, but its tables differ \
             from that version's ({difference}); refusing to open it so it stays as it is"
        ));
    }
    Ok(version)
}

/// Brings a database that passed [`check`] to [`PICOSHARE_VERSION`], one migration per
/// transaction, each setting the version it reaches.
pub fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let version = check(conn)?;
    for (target, sql) in MIGRATIONS {
        if version < *target {
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", target)?;
            tx.commit()?;
        }
    }
    apply_ours(conn, OUR_MIGRATIONS)
}

/// Applies each of `ours` not yet recorded in `rs_migrations`, each in its own transaction
/// with its record. Creates nothing at all while `ours` is empty.
fn apply_ours(conn: &Connection, ours: &[(&str, &str)]) -> Result<(), StoreError> {
    if ours.is_empty() {
        return Ok(());
    }
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS rs_migrations (\
         name TEXT PRIMARY KEY, applied_at TEXT NOT NULL) STRICT;",
    )?;
    for (name, sql) in ours {
        let tx = conn.unchecked_transaction()?;
        let done: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM rs_migrations WHERE name = ?1)",
            [name],
            |r| r.get(0),
        )?;
        if !done {
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO rs_migrations (name, applied_at) \
                 VALUES (?1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
                [name],
            )?;
        }
        tx.commit()?;
    }
    Ok(())
}

/// One schema object: (type, name, table, normalised SQL).
type Object = (String, String, String, String);

/// Every table, index, view and trigger of PicoShare's schema: all but SQLite's own
/// (`sqlite_…`: automatic indexes, statistics), Litestream's (`_litestream_seq` and
/// `_litestream_lock`, which it adds to every database it replicates, ours and PicoShare's
/// alike) and ours (`rs_…`, see the module doc).
fn schema_objects(conn: &Connection) -> Result<Vec<Object>, StoreError> {
    let mut st = conn.prepare(
        "SELECT type, name, tbl_name, COALESCE(sql, '') FROM sqlite_master \
         WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         AND tbl_name NOT LIKE '\\_litestream\\_%' ESCAPE '\\' \
         AND tbl_name NOT LIKE 'rs\\_%' ESCAPE '\\' ORDER BY type, name",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            normalise_sql(&r.get::<_, String>(3)?),
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// An in-memory database holding what our migrations up to `version` create.
fn reference(version: i64) -> Result<Connection, StoreError> {
    let mem = Connection::open_in_memory()?;
    for (target, sql) in MIGRATIONS.iter().filter(|(t, _)| *t <= version) {
        mem.execute_batch(sql)?;
        mem.pragma_update(None, "user_version", target)?;
    }
    Ok(mem)
}

/// A table's column names, in order.
fn columns(conn: &Connection, table: &str) -> String {
    conn.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
        .and_then(|mut st| {
            st.query_map([table], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map(|c| c.join(", "))
        .unwrap_or_default()
}

fn names(objects: &[Object]) -> String {
    objects
        .iter()
        .map(|o| o.1.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first way the schema `found` in a database differs from the `expected` one, in words;
/// `None` when they are the same.
fn difference(
    (conn, found): (&Connection, &[Object]),
    (reference, expected): (&Connection, &[Object]),
) -> Option<String> {
    for e in expected {
        match found.iter().find(|f| f.0 == e.0 && f.1 == e.1) {
            None => return Some(format!("{} {} is missing", e.0, e.1)),
            Some(f) if f != e => {
                let (has, wanted) = (columns(conn, &f.1), columns(reference, &e.1));
                return Some(if e.0 == "table" && has != wanted {
                    format!("table {} has columns ({has}) instead of ({wanted})", e.1)
                } else {
                    format!("{} {} is defined differently", e.0, e.1)
                });
            }
            Some(_) => {}
        }
    }
    found
        .iter()
        .find(|f| !expected.iter().any(|e| e.0 == f.0 && e.1 == f.1))
        .map(|f| format!("unexpected {} {}", f.0, f.1))
}

/// Normalises a `CREATE …` statement so that equal definitions compare equal whatever their
/// layout: comments dropped, identifier quotes dropped, keywords and names in lower case,
/// whitespace collapsed and removed around punctuation. String literals are kept as written.
pub fn normalise_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    // A pending space: written only between two words.
    let mut space = false;
    let push = |out: &mut String, c: char, space: &mut bool| {
        let prev_is_word = out
            .chars()
            .next_back()
            .is_some_and(|p| !"(),;".contains(p) && !p.is_whitespace());
        if *space && prev_is_word && !"(),;".contains(c) {
            out.push(' ');
        }
        *space = false;
        out.push(c);
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                push(&mut out, c, &mut space);
                // A literal, with '' as an escaped quote.
                while let Some(l) = chars.next() {
                    out.push(l);
                    if l == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                            out.push('\'');
                        } else {
                            break;
                        }
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                for l in chars.by_ref() {
                    if l == '\n' {
                        break;
                    }
                }
                space = true;
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for l in chars.by_ref() {
                    if prev == '*' && l == '/' {
                        break;
                    }
                    prev = l;
                }
                space = true;
            }
            '"' | '`' | '[' | ']' => {}
            c if c.is_whitespace() => space = true,
            c => {
                for l in c.to_lowercase() {
                    push(&mut out, l, &mut space);
                }
            }
        }
    }
    out.trim_end_matches(';').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_comments_quotes_and_case_do_not_matter_literals_do() {
        assert_eq!(
            normalise_sql("CREATE TABLE \"entries\" (\n  id TEXT, -- the id\n  note TEXT\n)"),
            normalise_sql("create table entries(id text,note /* x */ text)")
        );
        assert_eq!(
            normalise_sql("CREATE TABLE t (a TEXT\n, b TEXT) STRICT"),
            "create table t(a text,b text)strict"
        );
        assert_ne!(
            normalise_sql("CHECK (x >= '2022-02-20')"),
            normalise_sql("CHECK (x >= '2022-02-21')")
        );
        assert_eq!(
            normalise_sql("CHECK (x = 'It''s -- A')"),
            "check(x = 'It''s -- A')"
        );
    }

    fn version(c: &Connection) -> i64 {
        c.pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_new_database_is_created_at_16_and_a_15_one_is_upgraded() {
        let c = Connection::open_in_memory().unwrap();
        assert_eq!(check(&c).unwrap(), 0);
        migrate(&c).unwrap();
        assert_eq!(version(&c), 16);
        assert_eq!(check(&c).unwrap(), 16);

        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(MIGRATIONS[0].1).unwrap();
        c.pragma_update(None, "user_version", 15).unwrap();
        assert_eq!(check(&c).unwrap(), 15);
        migrate(&c).unwrap();
        assert_eq!(version(&c), 16);
        c.execute("UPDATE entries SET download_passphrase = NULL", [])
            .unwrap();
    }

    #[test]
    fn our_own_tables_apply_once_each_and_leave_picoshares_schema_alone() {
        // PicoShare's migrations only: this test feeds `apply_ours` lists of its own.
        let c = reference(PICOSHARE_VERSION).unwrap();
        apply_ours(&c, &[]).unwrap();
        let tables = |c: &Connection| -> i64 {
            c.query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'rs\\_%' ESCAPE '\\'",
                [],
                |r| r.get(0),
            )
            .unwrap()
        };
        // A new database gets every table of ours, each recorded once.
        let c = Connection::open_in_memory().unwrap();
        migrate(&c).unwrap();
        migrate(&c).unwrap();
        let applied: i64 = c
            .query_row("SELECT COUNT(*) FROM rs_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(applied, OUR_MIGRATIONS.len() as i64);
        assert_eq!(check(&c).unwrap(), PICOSHARE_VERSION);
        // PicoShare's tables alone, then ours by hand.
        let c = Connection::open_in_memory().unwrap();
        for (target, sql) in MIGRATIONS {
            c.execute_batch(sql).unwrap();
            c.pragma_update(None, "user_version", target).unwrap();
        }
        apply_ours(&c, &[]).unwrap();
        assert_eq!(tables(&c), 0, "an empty list creates nothing");
        let one = [("0001_a", "CREATE TABLE rs_a (x TEXT) STRICT;")];
        apply_ours(&c, &one).unwrap();
        apply_ours(&c, &one).unwrap();
        // A feature added later (or merged in another order) applies on its own.
        let two = [
            ("0002_b", "CREATE TABLE rs_b (y INTEGER) STRICT;"),
            ("0001_a", "CREATE TABLE rs_a (x TEXT) STRICT;"),
        ];
        apply_ours(&c, &two).unwrap();
        assert_eq!(tables(&c), 3, "rs_migrations, rs_a, rs_b");
        let applied: i64 = c
            .query_row("SELECT COUNT(*) FROM rs_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(applied, 2);
        assert_eq!(
            version(&c),
            PICOSHARE_VERSION,
            "user_version is PicoShare's"
        );
        assert_eq!(
            check(&c).unwrap(),
            PICOSHARE_VERSION,
            "still PicoShare's schema"
        );
        // A failing migration leaves no trace.
        let bad = [("0003_bad", "CREATE TABLE rs_c (z); CREATE TABLE rs_c (z);")];
        assert!(apply_ours(&c, &bad).is_err());
        assert_eq!(tables(&c), 3);
    }

    #[test]
    fn issue_21_the_token_tables_are_ours_and_the_schema_check_leaves_them_out() {
        let c = Connection::open_in_memory().unwrap();
        migrate(&c).unwrap();
        let ours: Vec<String> = c
            .prepare(
                "SELECT type || ' ' || name FROM sqlite_master \
                 WHERE name LIKE 'rs\\_%' ESCAPE '\\' ORDER BY name",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        // Other features' tables (issue 20's) sit beside these; the token tables are there.
        for expected in [
            "table rs_api_tokens",
            "table rs_migrations",
            "table rs_token_uploads",
            "index rs_token_uploads_token",
        ] {
            assert!(ours.iter().any(|o| o == expected), "{expected} in {ours:?}");
        }
        assert_eq!(check(&c).unwrap(), PICOSHARE_VERSION);
        migrate(&c).unwrap();
        let applied: i64 = c
            .query_row("SELECT COUNT(*) FROM rs_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(applied, OUR_MIGRATIONS.len() as i64, "once each");
    }

    #[test]
    fn unknown_versions_and_other_tables_are_refused_with_the_version() {
        let refused = |c: &Connection| match check(c) {
            Err(StoreError::Schema(why)) => why,
            other => panic!("not refused: {other:?}"),
        };
        let c = Connection::open_in_memory().unwrap();
        migrate(&c).unwrap();
        c.pragma_update(None, "user_version", 17).unwrap();
        assert!(refused(&c).contains("version 17"));

        // 16 by its number, 15 by its tables (a fork's "016" of another kind).
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(MIGRATIONS[0].1).unwrap();
        c.execute_batch("ALTER TABLE entries ADD COLUMN download_passphrase_hash TEXT")
            .unwrap();
        c.pragma_update(None, "user_version", 16).unwrap();
        let why = refused(&c);
        assert!(
            why.contains("version 16") && why.contains("entries"),
            "{why}"
        );

        let c = Connection::open_in_memory().unwrap();
        migrate(&c).unwrap();
        c.execute_batch("CREATE TABLE friendly_links (id TEXT)")
            .unwrap();
        assert!(refused(&c).contains("friendly_links"));

        // Litestream's own tables are not a different schema.
        let c = Connection::open_in_memory().unwrap();
        migrate(&c).unwrap();
        c.execute_batch(
            "CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER); \
             CREATE TABLE _litestream_lock (id INTEGER);",
        )
        .unwrap();
        assert_eq!(check(&c).unwrap(), 16);

        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE notes (x TEXT)").unwrap();
        assert!(refused(&c).contains("user_version 0"));

        let c = Connection::open_in_memory().unwrap();
        migrate(&c).unwrap();
        c.pragma_update(None, "user_version", 14).unwrap();
        assert!(refused(&c).contains("version 14"));
    }
}
