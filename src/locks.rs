//! The two kinds of lock the server takes: [`lock`], for the in-process mutexes (the writer
//! connection, the upload and guest-slot sets, the login throttle, logout revocations), and
//! [`DatabaseLock`], the file locks on the database file itself: one byte that lets one
//! process at a time serve (or compact) a database, and one byte per upload in progress, which
//! tells every process's collector that the upload's chunks are not orphans.
//!
//! Why these locks, on that file. The lock used to be `flock` on `<db>-spool/.lock`; deleting
//! the spool folder let a second server start, whose collector then deleted the chunks of an
//! upload still running in the first. The database file cannot vanish while it is being
//! served, and every process that could touch the chunks opens it. The locks are Linux
//! open-file-description locks (`F_OFD_SETLK`) on single bytes far from SQLite's own:
//! - not classic `fcntl` locks: those belong to the process and are all dropped when *any*
//!   descriptor of the file closes, and SQLite opens and closes descriptors of the database
//!   as it pleases (read connections come and go). An OFD lock belongs to our own descriptor
//!   and lives exactly as long as it.
//! - not `flock`: on Linux it ignores byte ranges (so one lock per upload is impossible), and
//!   on NFS it is emulated as a whole-file `fcntl` lock, which would collide with SQLite's.
//! - SQLite locks only the 512 bytes from 1 GiB (`PENDING_BYTE` 0x4000_0000 up; in WAL mode
//!   its other locks are on `-shm`). Ours are at 0x5000_0000 and up: they never meet SQLite's
//!   or Litestream's (which locks through SQLite), and advisory locks do not stop any reads or
//!   writes of those bytes. Offsets stay below 2^31 so 32-bit builds can name them.
//!
//! A crash releases every lock with the process, so after `kill -9` nothing is stale.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

/// Locks a mutex even if a panicking thread poisoned it: the data behind our mutexes (a
/// connection, a set of ids) stays valid across a panic, and SQLite rolls back on its own.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The byte whose write lock says "a server (or `picoshare compact`) has this database".
const SERVER_BYTE: i64 = 0x5000_0000;
/// Uploads' bytes: `UPLOAD_BYTES` bytes after [`SERVER_BYTE`], one picked by the upload's id.
const UPLOAD_BYTES: u64 = 0x2FFF_FFFF;

/// The lock a running server holds on its database file, and the descriptor its upload locks
/// live on. Dropping it releases them all.
pub struct DatabaseLock {
    file: File,
    /// Uploads of this process per locked byte (two ids may share a byte): a byte is
    /// unlocked when its last upload ends.
    uploads: Mutex<HashMap<i64, usize>>,
}

/// Takes the lock a running server holds on its database: a write lock on one byte of the
/// database file, through a descriptor of our own (the file is created, empty, if it does not
/// exist yet; SQLite takes an empty file for a new database). `Some` holds it until dropped;
/// `None` when another process (a server, or `picoshare compact`) holds it.
pub fn lock_database(db: &Path) -> io::Result<Option<DatabaseLock>> {
    if let Some(parent) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        // What SQLite gives a database file it creates.
        .mode(0o644)
        .open(db)?;
    match set_lock(&file, SERVER_BYTE, libc::F_WRLCK as libc::c_short) {
        Ok(()) => Ok(Some(DatabaseLock {
            file,
            uploads: Mutex::new(HashMap::new()),
        })),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EACCES)) => Ok(None),
        Err(e) => Err(e),
    }
}

impl DatabaseLock {
    /// Marks the upload `id` as running, for every process's collector: a shared lock on its
    /// byte until the mark is dropped. Best effort: where the lock cannot be taken the upload
    /// goes on (this process's own collector knows its uploads anyway).
    pub fn mark_upload(&self, id: &str) -> UploadMark<'_> {
        let byte = upload_byte(id);
        let mut uploads = lock(&self.uploads);
        let n = uploads.entry(byte).or_insert(0);
        if *n == 0 {
            if let Err(e) = set_lock(&self.file, byte, libc::F_RDLCK as libc::c_short) {
                eprintln!("picoshare: cannot mark an upload in the database's locks: {e}");
            }
        }
        *n += 1;
        UploadMark { lock: self, byte }
    }

    /// Whether another process holds a lock on the byte of upload `id`: an upload with that
    /// id may be running there, so its chunks are not orphans. (This process's own marks
    /// never count: the OS reports only other descriptions' locks.) An error counts as
    /// "running": the collector then keeps the chunks, the safe side.
    pub fn upload_running_elsewhere(&self, id: &str) -> bool {
        // SAFETY: an all-zero `flock` is a valid value; we fill in the fields that matter.
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as libc::c_short;
        fl.l_whence = libc::SEEK_SET as libc::c_short;
        fl.l_start = upload_byte(id) as libc::off_t;
        fl.l_len = 1;
        // SAFETY: F_OFD_GETLK on a descriptor we own, with a valid `flock` to fill in.
        let rc = unsafe { libc::fcntl(self.file.as_raw_fd(), libc::F_OFD_GETLK, &mut fl) };
        rc != 0 || fl.l_type != libc::F_UNLCK as libc::c_short
    }
}

/// An upload marked as running ([`DatabaseLock::mark_upload`]) until dropped.
pub struct UploadMark<'a> {
    lock: &'a DatabaseLock,
    byte: i64,
}

impl Drop for UploadMark<'_> {
    fn drop(&mut self) {
        let mut uploads = lock(&self.lock.uploads);
        if let Some(n) = uploads.get_mut(&self.byte) {
            *n -= 1;
            if *n == 0 {
                uploads.remove(&self.byte);
                let _ = set_lock(&self.lock.file, self.byte, libc::F_UNLCK as libc::c_short);
            }
        }
    }
}

/// The byte that stands for upload `id` (FNV-1a of the id, in the uploads' range).
fn upload_byte(id: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    SERVER_BYTE + 1 + (h % UPLOAD_BYTES) as i64
}

/// Sets (or with `F_UNLCK` releases) an open-file-description lock on one byte, without
/// waiting.
fn set_lock(file: &File, byte: i64, kind: libc::c_short) -> io::Result<()> {
    // SAFETY: an all-zero `flock` is a valid value (OFD locks require `l_pid` 0).
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = byte as libc::off_t;
    fl.l_len = 1;
    // SAFETY: F_OFD_SETLK on a descriptor we own, with a valid `flock`.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &fl) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Another description of `db`'s file holding no lock yet: what a second process (or a
/// collector in one) has, for tests.
#[cfg(test)]
pub(crate) fn another_description(db: &Path) -> DatabaseLock {
    DatabaseLock {
        file: OpenOptions::new()
            .read(true)
            .write(true)
            .open(db)
            .expect("open the database file"),
        uploads: Mutex::new(HashMap::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db() -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("ps-locks-{}", crate::random::hex(6)));
        (dir.join("sub/store.db"), dir)
    }

    #[test]
    fn one_holder_at_a_time_and_the_file_is_created_empty() {
        let (db, dir) = temp_db();
        let first = lock_database(&db).unwrap().expect("free");
        assert_eq!(fs::metadata(&db).unwrap().len(), 0);
        // Another description of the same file (as another process would have) is refused.
        assert!(lock_database(&db).unwrap().is_none());
        drop(first);
        assert!(lock_database(&db).unwrap().is_some());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn upload_marks_are_seen_by_other_descriptions_until_the_last_one_ends() {
        let (db, dir) = temp_db();
        let server = lock_database(&db).unwrap().unwrap();
        // A second description, as another process's collector would look from.
        let other = another_description(&db);
        assert!(!other.upload_running_elsewhere("abcdefghij"));
        let a = server.mark_upload("abcdefghij");
        let again = server.mark_upload("abcdefghij");
        assert!(other.upload_running_elsewhere("abcdefghij"));
        assert!(!server.upload_running_elsewhere("abcdefghij"), "own marks");
        assert!(!other.upload_running_elsewhere("kmnopqrstu"));
        drop(a);
        assert!(
            other.upload_running_elsewhere("abcdefghij"),
            "one still runs"
        );
        drop(again);
        assert!(!other.upload_running_elsewhere("abcdefghij"));
        // The server's byte is not an upload's.
        assert!(lock_database(&db).unwrap().is_none());
        fs::remove_dir_all(dir).unwrap();
    }
}
