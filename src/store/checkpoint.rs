//! The checkpointer: folds the WAL back into the database file on a thread of its own, so a
//! commit never waits for a checkpoint. A checkpoint syncs the WAL and then the database file;
//! done by the writer after each commit (SQLite's auto-checkpoint), those syncs stalled every
//! upload behind them — three parallel uploads ran at 166 MB/s that way, 230 with this thread,
//! and 327 with no syncs at all (`synchronous = OFF`, which a power cut can corrupt, so not
//! an option; bench/RESULTS.md).
//!
//! How the WAL stays bounded: a hook on the writer connection notes how many frames the WAL
//! holds after each commit. When the writer lets go of the connection ([`WalWatch`]), it wakes
//! this thread once the WAL holds `wake_bytes`, and if the thread has fallen behind so far that
//! the WAL holds `max_bytes`, the writer checkpoints itself (everything folded, so the next
//! commit starts the WAL from its beginning) before anyone else may write. The thread
//! also wakes every `interval`, for small commits (history rows) that never reach
//! `wake_bytes`. With Litestream, checkpoints are Litestream's: no thread, no hook action.
//!
//! Every checkpoint of ours goes through [`WalWatch::checkpoint`], one at a time: SQLite does not
//! wait (no busy handler) for a checkpoint another connection is running, it answers "busy"
//! at once, and a writer whose checkpoint was refused that way let the WAL grow to 500 MB.
//!
//! After each checkpoint the pages it appended to the database file, but the newest few MiB,
//! leave the page cache ([`NewPages`]): in a small memory cgroup they crowded out the spools'
//! and the WAL's.
//!
//! A finished upload waits for a pass of this thread ([`Checkpointer::run_and_wait`]) before it
//! is answered. With `synchronous = NORMAL` a commit is not synced: without the wait an upload
//! answered 200 lived in the WAL only, until a checkpoint, and a power cut could lose it; and
//! the checkpoint's work (up to the whole WAL copied, then two syncs) ran under the requests that
//! followed, whose answers it delayed by milliseconds on a 2-vCPU machine (bench/RESULTS.md,
//! seek latency). Uploads arriving during a pass share the next one.

use std::cell::Cell;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::hooks::Wal;
use rusqlite::Connection;

use super::lock;

thread_local! {
    /// Frames in the WAL after the last commit on this thread's connection (0: none since
    /// read). Only the writer connection has the hook, and only one thread holds it at a time.
    static WAL_FRAMES: Cell<i32> = const { Cell::new(0) };
}

fn note_frames(_: &Wal, frames: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.with(|f| f.set(frames));
    Ok(())
}

/// Frames the WAL held after the last commit on this thread since the last call, if any.
fn take_frames() -> i32 {
    WAL_FRAMES.with(|f| f.replace(0))
}

/// Where the writer reports its commits: installed on the writer connection at open.
pub(crate) fn watch(conn: &Connection) {
    // Replaces SQLite's own auto-checkpoint hook: from now on the checkpointer (or, far
    // behind, the writer through `WalWatch`) checkpoints.
    conn.wal_hook(Some(note_frames));
}

/// What the writer does with the WAL's size after its commits.
pub(crate) struct WalWatch {
    /// The file's page size: frames × page size = WAL bytes.
    pub page_size: u64,
    /// Wake the checkpointer from this many WAL bytes.
    pub wake_bytes: u64,
    /// Checkpoint in the writer itself from this many (the checkpointer is far behind), or
    /// from an eighth of the free disk if that is less: the WAL is disk beside the files.
    pub max_bytes: u64,
    /// The database file, whose filesystem's free space lowers `max_bytes`.
    pub path: std::path::PathBuf,
    /// `None` with Litestream: the WAL is Litestream's to checkpoint.
    pub checkpointer: Option<Checkpointer>,
    /// Held for every checkpoint of ours (see the module doc), with what they appended.
    pub one_at_a_time: Arc<Mutex<NewPages>>,
}

impl WalWatch {
    /// Called by the writer after its commits: between the transactions of a run, and when it
    /// lets go of the connection.
    pub(crate) fn after_commits(&self, conn: &Connection) {
        let frames = take_frames();
        let Some(checkpointer) = &self.checkpointer else {
            return;
        };
        let bytes = frames.max(0) as u64 * self.page_size;
        if bytes == 0 {
            return;
        }
        let free = crate::disk::available_bytes(&self.path).unwrap_or(u64::MAX);
        if bytes >= bound(self.max_bytes, free) {
            // PASSIVE is enough here: no commit can come in meanwhile (we hold the writer), so
            // it folds the whole WAL unless a reader still needs old pages, and then, unlike
            // RESTART, it does not make the upload wait for that reader (a backup).
            if let Err(e) = self.checkpoint(conn, "PASSIVE") {
                eprintln!("picoshare: checkpoint of a {bytes}-byte WAL failed: {e}");
            }
        } else if bytes >= self.wake_bytes {
            checkpointer.wake();
        }
    }

    /// Runs `PRAGMA wal_checkpoint(MODE)` on `conn` once no other checkpoint of ours runs;
    /// returns SQLite's (busy, WAL frames, frames checkpointed).
    pub(crate) fn checkpoint(
        &self,
        conn: &Connection,
        mode: &str,
    ) -> rusqlite::Result<(i64, i64, i64)> {
        let mut new_pages = lock(&self.one_at_a_time);
        let pass = run_checkpoint(conn, mode);
        new_pages.forget();
        pass
    }

    /// Has the checkpoint thread fold and sync what is committed, waiting at most `timeout`
    /// ([`Checkpointer::run_and_wait`]); at once with Litestream, whose checkpoints they are.
    pub(crate) fn wait_for_checkpoint(&self, timeout: Duration) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.run_and_wait(timeout);
        }
    }
}

/// The WAL bytes from which the writer checkpoints itself: `max_bytes`, or an eighth of the
/// `free` disk if that is less, so a nearly full disk keeps room for the files themselves
/// (issue 7's test: a 30 MiB file on a 48 MiB disk).
fn bound(max_bytes: u64, free: u64) -> u64 {
    max_bytes.min(free / 8)
}

fn run_checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
}

/// The database file's pages appended by checkpoints, which [`NewPages::forget`] writes out
/// and drops from the page cache, all but the newest `keep` bytes. In a memory cgroup the page
/// cache is the group's: a database growing by whole uploads filled it, and the kernel's
/// reclaim, finding the spools' and the WAL's pages dirty, woke the flusher, which wrote the
/// spools to disk (1.4 of 1.9 GB uploaded, 256 MiB cgroup) only for each range to be punched
/// out a moment later, then discarded on the disk. Dropping them kept the group's page cache
/// near 160 of its 256 MiB (was full), and the disk's writes at the WAL's and the database's
/// alone (4.1 GB). The newest pages stay (`Config::fresh_pages_cached`): a file just stored
/// is often read at once (a preview, a player seeking), and they are few.
pub(crate) struct NewPages {
    /// The database file, opened read-only: the page cache is the file's, whichever
    /// descriptor asks. `None` if it could not be opened (then nothing is dropped).
    file: Option<std::fs::File>,
    /// The file's pages before this offset were dropped or were there at start-up.
    dropped: u64,
    /// Bytes at the end of the file left in the page cache.
    keep: u64,
}

impl NewPages {
    /// Starts from the length of the database file at `path` now; `keep` as the field.
    pub(crate) fn new(path: &Path, keep: u64) -> NewPages {
        let file = std::fs::File::open(path).ok();
        let dropped = file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map_or(0, |m| m.len());
        NewPages {
            file,
            dropped,
            keep,
        }
    }

    /// After a checkpoint: writes out what checkpoints appended, but for the last `keep`
    /// bytes, and drops it from the page cache. A pass of the thread that could not fold the
    /// whole WAL (the writer committed meanwhile) does not sync the database file, so those
    /// pages may still be dirty, and the page cache does not drop dirty pages: hence the
    /// write first (`sync_file_range`, those pages only, waiting for them: the thread's time,
    /// not the writer's).
    fn forget(&mut self) {
        let Some(file) = &self.file else {
            return;
        };
        let Ok(len) = file.metadata().map(|m| m.len()) else {
            return;
        };
        // Whole 4 KiB pages of the file, as the page cache holds it.
        let until = len.saturating_sub(self.keep) & !4095;
        if until > self.dropped {
            use std::os::unix::io::AsRawFd;
            let from = self.dropped as libc::off64_t;
            let bytes = (until - self.dropped) as libc::off64_t;
            // SAFETY: calls on a descriptor we own, within the file; neither changes its data.
            unsafe {
                libc::sync_file_range(
                    file.as_raw_fd(),
                    from,
                    bytes,
                    libc::SYNC_FILE_RANGE_WAIT_BEFORE
                        | libc::SYNC_FILE_RANGE_WRITE
                        | libc::SYNC_FILE_RANGE_WAIT_AFTER,
                );
                libc::posix_fadvise(file.as_raw_fd(), from, bytes, libc::POSIX_FADV_DONTNEED);
            }
            self.dropped = until;
        }
        // The file shrank (space given back after deletions): new pages start from there.
        self.dropped = self.dropped.min(len);
    }
}

#[derive(Default)]
struct Signal {
    wake: bool,
    stop: bool,
    /// Passes asked for by [`Checkpointer::run_and_wait`], and how many of those requests the
    /// passes done so far answer (a pass answers the requests made before it began).
    requested: u64,
    answered: u64,
}

#[derive(Default)]
struct Shared {
    signal: Mutex<Signal>,
    cv: Condvar,
    /// Signalled after every pass, for [`Checkpointer::run_and_wait`].
    passed: Condvar,
}

/// The checkpoint thread; stopped and joined on drop.
pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread with a connection of its own to `path`; its checkpoints hold
    /// `one_at_a_time`.
    pub(crate) fn start(
        path: &Path,
        busy_timeout: Duration,
        interval: Duration,
        one_at_a_time: Arc<Mutex<NewPages>>,
    ) -> std::io::Result<Checkpointer> {
        let conn = Connection::open(path)
            .and_then(|c| c.busy_timeout(busy_timeout).map(|_| c))
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared::default());
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("checkpoint".into())
            .spawn(move || run(&conn, &theirs, interval, &one_at_a_time))?;
        Ok(Checkpointer {
            shared,
            thread: Some(thread),
        })
    }

    pub(crate) fn wake(&self) {
        lock(&self.shared.signal).wake = true;
        self.shared.cv.notify_one();
    }

    /// Wakes the thread and waits, at most `timeout`, until a pass that began after this call
    /// has ended: everything committed before the call is then in the database file and
    /// synced, unless a reader's old snapshot held some of it back (the WAL, synced by the
    /// same pass, still has it). Past the timeout it returns anyway.
    pub(crate) fn run_and_wait(&self, timeout: Duration) {
        let mut signal = lock(&self.shared.signal);
        signal.requested += 1;
        let mine = signal.requested;
        signal.wake = true;
        self.shared.cv.notify_one();
        let _ = self
            .shared
            .passed
            .wait_timeout_while(signal, timeout, |s| s.answered < mine && !s.stop);
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        lock(&self.shared.signal).stop = true;
        self.shared.cv.notify_one();
        self.shared.passed.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(conn: &Connection, shared: &Shared, interval: Duration, one_at_a_time: &Mutex<NewPages>) {
    loop {
        {
            let signal = lock(&shared.signal);
            let (mut signal, _) = shared
                .cv
                .wait_timeout_while(signal, interval, |s| !s.wake && !s.stop)
                .unwrap_or_else(|e| e.into_inner());
            if signal.stop {
                return;
            }
            signal.wake = false;
        }
        // PASSIVE: copy what is committed without waiting for (or blocking) the writer or
        // readers; again while the writer added more meanwhile, as long as a pass gets
        // further (a reader on an old snapshot — a backup — can hold frames back for a while).
        let mut before = -1;
        loop {
            let asked = lock(&shared.signal).requested;
            let pass = {
                let mut new_pages = lock(one_at_a_time);
                let pass = run_checkpoint(conn, "PASSIVE");
                new_pages.forget();
                pass
            };
            lock(&shared.signal).answered = asked;
            shared.passed.notify_all();
            match pass {
                Ok((0, log, done)) if done < log && done != before => before = done,
                Ok(_) => break,
                Err(e) => {
                    eprintln!("picoshare: background checkpoint failed: {e}");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::{Duration, Instant};

    use crate::model::Timestamp;
    use crate::store::test_support::{insert_file, temp_store_with, TempStore};
    use crate::store::StoreSettings;

    fn len(p: &std::path::Path) -> u64 {
        std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
    }

    #[test]
    fn issue_18_the_wal_bound_is_an_eighth_of_the_free_disk_when_that_is_less() {
        const MIB: u64 = 1 << 20;
        assert_eq!(super::bound(64 * MIB, 100 * 1024 * MIB), 64 * MIB);
        assert_eq!(super::bound(64 * MIB, 48 * MIB), 6 * MIB);
        assert_eq!(super::bound(64 * MIB, 0), 0);
    }

    /// A store whose WAL only the thread folds in (woken from 64 KiB; the writer's own bound
    /// far away), as during an upload, given one file of `bytes` (the thread may still be at
    /// work); with its database file's path and that file's length before.
    fn file_folded_by_the_thread(
        bytes: usize,
        adjust: impl FnOnce(&mut StoreSettings),
    ) -> (TempStore, PathBuf, u64) {
        let t = temp_store_with(64 << 10, |s| {
            s.wal_autocheckpoint_bytes = 64 << 10;
            s.wal_max_bytes = 1 << 40;
            s.checkpoint_interval = Duration::from_secs(3600);
            adjust(s);
        });
        let db = t.dir.join("store.db");
        let before = len(&db);
        let data = vec![7u8; bytes];
        insert_file(&t, "f.bin", &data, Timestamp::from_unix(1_800_000_000));
        (t, db, before)
    }

    #[test]
    fn issue_18_the_thread_folds_the_wal_into_the_database_without_the_writer() {
        let (_t, db, before) = file_folded_by_the_thread(4 << 20, |_| {});
        let deadline = Instant::now() + Duration::from_secs(20);
        while len(&db) < before + (4 << 20) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            len(&db) >= before + (4 << 20),
            "the database file holds the file: {} bytes",
            len(&db)
        );
    }

    /// Bytes of the file at `path` past `from` that are in the page cache (`mincore` over a
    /// read-only mapping).
    fn resident_past(path: &std::path::Path, from: u64) -> u64 {
        use std::os::unix::io::AsRawFd;
        let file = std::fs::File::open(path).unwrap();
        let size = file.metadata().unwrap().len() as usize;
        let page = 4096usize;
        let mut vec = vec![0u8; size.div_ceil(page)];
        // SAFETY: a private read-only mapping of a file we hold open, unmapped before return;
        // `vec` has one byte per page of it.
        unsafe {
            let addr = libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            );
            assert_ne!(addr, libc::MAP_FAILED);
            assert_eq!(libc::mincore(addr, size, vec.as_mut_ptr()), 0);
            libc::munmap(addr, size);
        }
        let first = from as usize / page;
        vec[first..].iter().filter(|b| *b & 1 == 1).count() as u64 * page as u64
    }

    #[test]
    fn issue_18_checkpoints_drop_the_pages_they_appended_from_the_page_cache() {
        let (_t, db, before) = file_folded_by_the_thread(8 << 20, |s| {
            s.checkpoint_interval = Duration::from_millis(50);
            s.fresh_pages_cached = 1 << 20;
        });
        // The thread folds the WAL in, then drops what that appended but the last MiB. A few
        // pages come back (640 KiB here: tables' and indexes' pages the writer reads again).
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut resident = u64::MAX;
        while Instant::now() < deadline {
            if len(&db) >= before + (8 << 20) {
                resident = resident_past(&db, before);
                if resident <= 3 << 20 {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            len(&db) >= before + (8 << 20),
            "the file is in the database"
        );
        assert!(
            resident <= 3 << 20,
            "{resident} bytes past the old end of the file are still in the page cache"
        );
    }

    #[test]
    fn issue_18_a_thread_that_falls_behind_does_not_let_the_wal_grow() {
        // The thread never woken (nor by its interval): the writer's bound alone holds the WAL
        // near `wal_max_bytes` (1 MiB) — plus a transaction or two when a passive checkpoint
        // meets a reader and cannot finish at once — far below the 16 MiB the file would
        // leave in it without the bound.
        let t = temp_store_with(64 << 10, |s| {
            s.wal_autocheckpoint_bytes = 1 << 40;
            s.wal_max_bytes = 1 << 20;
            s.checkpoint_interval = Duration::from_secs(3600);
        });
        // From an empty WAL: what start-up's migrations left in it (more with every table of
        // ours: issue 19's tipped this over) is not the bound being measured.
        t.store.checkpoint().unwrap();
        insert_file(
            &t,
            "f.bin",
            &vec![7u8; 16 << 20],
            Timestamp::from_unix(1_800_000_000),
        );
        let wal = len(&t.dir.join("store.db-wal"));
        assert!(wal < 4 << 20, "WAL {wal} bytes");
    }
}
