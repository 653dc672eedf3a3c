//! Offline and side-by-side maintenance commands: `picoshare backup PATH` (a consistent
//! snapshot of the live database) and `picoshare compact` (convert a database, e.g. one the Go
//! PicoShare created or one of ours from before 64 KiB pages, to incremental auto-vacuum and
//! our page size, so deleted files' space can be given back and chunks are written faster).

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::config::Config;
use crate::disk::{available_bytes, beside};

fn db_size(conn: &Connection) -> rusqlite::Result<u64> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok((pages * size).max(0) as u64)
}

/// Prints `label: N%` to stderr about once a second while `dest` grows toward `total` bytes.
fn progress(
    label: &'static str,
    dest: PathBuf,
    total: u64,
) -> (Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    let handle = std::thread::spawn(move || {
        while !flag.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(1000));
            if flag.load(Ordering::Acquire) {
                break;
            }
            let written = fs::metadata(&dest).map(|m| m.len()).unwrap_or(0);
            let pct = (written.saturating_mul(100) / total.max(1)).min(99);
            eprintln!("picoshare: {label}: {pct}% ({written} of about {total} bytes)");
        }
    });
    (done, handle)
}

fn sync_file(path: &Path) -> std::io::Result<()> {
    File::open(path)?.sync_all()
}

/// `VACUUM INTO` writes a consistent snapshot (one read transaction, so concurrent uploads
/// neither block it nor tear it) without touching the source's WAL.
fn vacuum_into(conn: &Connection, dest: &Path, label: &'static str) -> Result<(), String> {
    let total = db_size(conn).map_err(|e| e.to_string())?;
    let dest_str = dest
        .to_str()
        .ok_or_else(|| format!("{} is not valid UTF-8", dest.display()))?;
    let (done, handle) = progress(label, dest.to_owned(), total);
    let result = conn.execute("VACUUM INTO ?1", [dest_str]);
    done.store(true, Ordering::Release);
    let _ = handle.join();
    result.map_err(|e| format!("{label} failed: {e}"))?;
    sync_file(dest).map_err(|e| format!("cannot sync {}: {e}", dest.display()))?;
    let check = Connection::open_with_flags(dest, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| c.query_row("PRAGMA quick_check", [], |r| r.get::<_, String>(0)))
        .map_err(|e| format!("cannot verify {}: {e}", dest.display()))?;
    if check != "ok" {
        return Err(format!(
            "{} failed its integrity check: {check}",
            dest.display()
        ));
    }
    Ok(())
}

/// `picoshare backup PATH`: a consistent, verified copy of the (possibly live) database.
pub fn backup(config: &Config, dest: &Path) -> Result<(), String> {
    if dest.exists() {
        return Err(format!(
            "{} already exists; choose a new path",
            dest.display()
        ));
    }
    let src = Connection::open_with_flags(
        &config.db_path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open {}: {e}", config.db_path.display()))?;
    src.busy_timeout(config.busy_timeout)
        .map_err(|e| e.to_string())?;
    let need = db_size(&src).map_err(|e| e.to_string())?;
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(free) = available_bytes(dir) {
        if free < need {
            return Err(format!(
                "not enough free space in {}: the backup needs up to {need} bytes, {free} are free",
                dir.display()
            ));
        }
    }
    eprintln!(
        "picoshare: backing up {} to {}",
        config.db_path.display(),
        dest.display()
    );
    if let Err(e) = vacuum_into(&src, dest, "backup") {
        let _ = fs::remove_file(dest);
        return Err(e);
    }
    eprintln!("picoshare: backup: 100%, verified: {}", dest.display());
    Ok(())
}

/// `picoshare compact`: with the server stopped, rewrites the database into a fresh file with
/// incremental auto-vacuum and only live pages, then swaps it in. Needs free space for one
/// copy of the live data, checked first.
pub fn compact(config: &Config) -> Result<(), String> {
    let db = &config.db_path;
    if !db.exists() {
        return Err(format!("{} does not exist", db.display()));
    }
    let _lock = crate::locks::lock_database(db)
        .map_err(|e| format!("cannot lock {}: {e}", db.display()))?
        .ok_or_else(|| format!("a server is running on {}; stop it first", db.display()))?;
    let conn = Connection::open(db).map_err(|e| format!("cannot open {}: {e}", db.display()))?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(|e| format!("cannot checkpoint: {e}"))?;
    let free_pages: i64 = conn
        .query_row("PRAGMA freelist_count", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    let page: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    let need = db_size(&conn)
        .map_err(|e| e.to_string())?
        .saturating_sub((free_pages * page).max(0) as u64);
    let dir = db
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let free = available_bytes(dir).map_err(|e| format!("cannot read free space: {e}"))?;
    if free < need + (16 << 20) {
        return Err(format!(
            "not enough free space in {}: compacting needs about {need} bytes, {free} are free",
            dir.display()
        ));
    }
    let tmp = beside(db, "-compact-tmp");
    let _ = fs::remove_file(&tmp);
    // Pending settings apply to the VACUUM INTO output (unlike a plain VACUUM, VACUUM INTO
    // may change the page size of a WAL database): our page size and incremental auto-vacuum.
    conn.pragma_update(None, "page_size", config.sqlite_page_size)
        .map_err(|e| e.to_string())?;
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
        .map_err(|e| e.to_string())?;
    eprintln!(
        "picoshare: compacting {} ({need} bytes of live data)",
        db.display()
    );
    if let Err(e) = vacuum_into(&conn, &tmp, "compact") {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    drop(conn);
    for suffix in ["-wal", "-shm"] {
        let _ = fs::remove_file(beside(db, suffix));
    }
    fs::rename(&tmp, db).map_err(|e| format!("cannot replace {}: {e}", db.display()))?;
    if let Some(parent) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
        let _ = File::open(parent).and_then(|d| d.sync_all());
    }
    eprintln!(
        "picoshare: compact: 100%, {} now uses incremental auto-vacuum and {}-byte pages",
        db.display(),
        config.sqlite_page_size
    );
    Ok(())
}
