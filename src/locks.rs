//! The two kinds of lock the server takes: [`lock`], for the in-process mutexes (the writer
//! connection, the upload and guest-slot sets, the login throttle, logout revocations), and
//! [`lock_database`], the file lock that lets one process at a time serve (or compact) a
//! database.

use std::fs::{self, File, OpenOptions};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use crate::disk::beside;

/// Locks a mutex even if a panicking thread poisoned it: the data behind our mutexes (a
/// connection, a set of ids) stays valid across a panic, and SQLite rolls back on its own.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Takes the lock a running server holds on its database: `flock` on `<db>-spool/.lock`
/// (creating the spool folder). `Some(file)` holds it until dropped; `None` when another
/// process (a server, or `picoshare compact`) holds it.
pub fn lock_database(db: &Path) -> std::io::Result<Option<File>> {
    use std::os::unix::io::AsRawFd;
    let spool = beside(db, "-spool");
    fs::create_dir_all(&spool)?;
    let path = spool.join(".lock");
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    // SAFETY: flock on a descriptor we own.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        Ok(Some(f))
    } else {
        Ok(None)
    }
}
