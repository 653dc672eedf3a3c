//! Reading the SQLite file behind a server (WAL lets a test read while the server runs): rows,
//! chunks, counts, the schema and the integrity check.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub fn open_db(path: &Path) -> Connection {
    let c = Connection::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    c.busy_timeout(Duration::from_secs(10))
        .expect("busy timeout");
    c
}

/// Opens a database read-only (a fixture, a backup, a restored copy).
pub fn open_db_read_only(path: &Path) -> Connection {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap_or_else(|e| panic!("open {} read-only: {e}", path.display()))
}

/// The one integer a query returns.
#[track_caller]
pub fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// `PRAGMA integrity_check`'s answer ("ok" when intact).
#[track_caller]
pub fn integrity_check(c: &Connection) -> String {
    c.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check")
}

/// The chunks of `id` in order: `(chunk_index, bytes)`.
pub fn chunks(c: &Connection, id: &str) -> Vec<(i64, Vec<u8>)> {
    let mut st = c
        .prepare("SELECT chunk_index, chunk FROM entries_data WHERE id = ?1 ORDER BY chunk_index")
        .expect("prepare");
    let rows = st
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query");
    rows.map(|r| r.expect("row")).collect()
}

/// The bytes of `id`, its chunks put together.
pub fn stored_bytes(c: &Connection, id: &str) -> Vec<u8> {
    chunks(c, id).into_iter().flat_map(|(_, b)| b).collect()
}

/// Every entry and how many bytes its chunks hold: entry id → bytes.
pub fn stored_entries(c: &Connection) -> Result<BTreeMap<String, i64>, String> {
    let mut stmt = c
        .prepare(
            "SELECT e.id, (SELECT COALESCE(SUM(LENGTH(d.chunk)), 0) FROM entries_data d \
             WHERE d.id = e.id) FROM entries e",
        )
        .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .map_err(|e| e.to_string())?;
    rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
}

/// Ids that have chunk rows but no `entries` row: an upload being copied in, or the leftovers
/// of one that failed.
pub fn orphan_chunk_ids(c: &Connection) -> Vec<String> {
    let mut st = c
        .prepare("SELECT DISTINCT id FROM entries_data WHERE id NOT IN (SELECT id FROM entries)")
        .expect("prepare");
    let rows = st.query_map([], |r| r.get(0)).expect("query");
    rows.map(|r| r.expect("row")).collect()
}

/// One row of `entries`.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryRow {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub upload_time: String,
    pub expiration_time: Option<String>,
    pub guest_link_id: Option<String>,
    pub note: Option<String>,
}

pub fn entry_row(c: &Connection, id: &str) -> Option<EntryRow> {
    c.query_row(
        "SELECT id, filename, content_type, upload_time, expiration_time, guest_link_id, note \
         FROM entries WHERE id = ?1",
        [id],
        |r| {
            Ok(EntryRow {
                id: r.get(0)?,
                filename: r.get(1)?,
                content_type: r.get(2)?,
                upload_time: r.get(3)?,
                expiration_time: r.get(4)?,
                guest_link_id: r.get(5)?,
                note: r.get(6)?,
            })
        },
    )
    .ok()
}

/// The `expiration_time` stored for entry `id`.
#[track_caller]
pub fn stored_expiration(c: &Connection, id: &str) -> String {
    entry_row(c, id)
        .unwrap_or_else(|| panic!("no entries row {id}"))
        .expiration_time
        .unwrap_or_else(|| panic!("entry {id} has a NULL expiration"))
}

/// Where `sqlite_master` rows belong to PicoShare's schema: every object but those on tables of
/// ours (`rs_…`, see src/store/migrations/ours/README.md). An object of ours on one of
/// PicoShare's tables (an `rs_` index on `entries`) stays in, so comparisons catch it.
const PICOSHARE_OBJECTS: &str = "tbl_name NOT LIKE 'rs\\_%' ESCAPE '\\'";

/// PicoShare's part of `sqlite_master` (tables of ours left out, see [`our_objects`]) as a
/// sorted list of `(type, name, tbl_name, normalised sql)`.
pub fn schema_of(c: &Connection) -> Vec<(String, String, String, String)> {
    let mut st = c
        .prepare(&format!(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE {PICOSHARE_OBJECTS} \
             ORDER BY type, name"
        ))
        .expect("prepare");
    let rows = st
        .query_map([], |r| {
            let sql: Option<String> = r.get(3)?;
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                normalise_sql(sql.as_deref().unwrap_or("")),
            ))
        })
        .expect("query");
    rows.map(|r| r.expect("row")).collect()
}

/// The SQL text of PicoShare's part of `sqlite_master`, as written, ordered by type and name.
pub fn schema_sql(c: &Connection) -> Vec<Option<String>> {
    let mut st = c
        .prepare(&format!(
            "SELECT sql FROM sqlite_master WHERE {PICOSHARE_OBJECTS} ORDER BY type, name"
        ))
        .expect("prepare");
    let rows = st.query_map([], |r| r.get(0)).expect("query");
    rows.map(|r| r.expect("row")).collect()
}

/// `type name` of every object on a table of ours, sorted; asserts each is named `rs_…`
/// (SQLite's automatic indexes of our tables included), as our migrations' rules say.
#[track_caller]
pub fn our_objects(c: &Connection) -> Vec<String> {
    let mut st = c
        .prepare(&format!(
            "SELECT type, name FROM sqlite_master WHERE NOT ({PICOSHARE_OBJECTS}) \
             ORDER BY type, name"
        ))
        .expect("prepare");
    let rows = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .expect("query");
    rows.map(|r| r.expect("row"))
        .map(|(kind, name)| {
            let named_ours = name.starts_with("rs_") || name.starts_with("sqlite_autoindex_rs_");
            assert!(
                named_ours,
                "{kind} {name} is on a table of ours but not named rs_…"
            );
            format!("{kind} {name}")
        })
        .collect()
}

/// Normalises a `CREATE …` statement so equal schemas compare equal whatever their layout:
/// comments dropped, quotes dropped, `IF NOT EXISTS` dropped, lower case, whitespace collapsed
/// and removed around punctuation.
pub fn normalise_sql(sql: &str) -> String {
    let no_comments: Vec<&str> = sql
        .lines()
        .map(|l| match l.find("--") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect();
    let s = no_comments.join(" ").replace('"', "").to_lowercase();
    let s = s.replace("if not exists", "");
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::new();
    let chars: Vec<char> = collapsed.chars().collect();
    for (i, &ch) in chars.iter().enumerate() {
        if ch == ' ' {
            let prev = if i > 0 { chars[i - 1] } else { ' ' };
            let next = chars.get(i + 1).copied().unwrap_or(' ');
            if "(),;".contains(prev) || "(),;".contains(next) {
                continue;
            }
        }
        out.push(ch);
    }
    out.trim_end_matches(';').to_owned()
}

/// `path` with `suffix` appended to its file name (`store.db` → `store.db-wal`).
pub fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

/// A file's size, 0 when it does not exist.
pub fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
