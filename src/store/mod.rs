//! The store: one SQLite file in PicoShare's schema holding metadata and file bytes.
//! One writer connection behind a mutex (SQLite has one writer anyway); read connections in a
//! small pool, each used for one statement at a time so no read transaction spans a download.

mod bundles;
mod checkpoint;
mod chunk_reader;
mod chunk_writer;
mod downloads;
mod entries;
mod guest_links;
mod limits;
mod migrate;
mod reclaim;
mod resumable;
mod settings;
mod tokens;
mod upload;
mod usage;
mod versions;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

pub(crate) use crate::locks::lock;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::config::Config;
use crate::error::StoreError;

pub use bundles::BundleSummary;
pub use chunk_reader::ChunkReader;
pub use chunk_writer::ChunkSource;
pub use downloads::{unique_ips, HistoryTotals};
pub use entries::{EntryPage, PurgeStats};
pub use guest_links::GuestUploadSlot;
pub use migrate::{normalise_sql, PICOSHARE_VERSION};
pub use resumable::UNFINISHED_CHUNKS;
pub use tokens::StoredToken;
pub(crate) use upload::run_for;
pub use upload::{AppendError, Appended, Upload, Uploader};
pub use versions::VersionPin;

/// The store's own bounds, taken from [`Config`].
#[derive(Clone, Debug)]
pub struct StoreSettings {
    pub chunk_size: usize,
    pub copy_batch_bytes: usize,
    /// Bytes an upload spools before it copies them in one turn of the writer (see
    /// [`Config::copy_run_bytes`]).
    pub copy_run_bytes: usize,
    /// Free disk a guest's upload must leave (see [`Config::guest_disk_floor`]).
    pub guest_disk_floor: u64,
    pub cache_kib: i64,
    pub writer_cache_kib: i64,
    pub max_idle_readers: usize,
    pub busy_timeout: Duration,
    pub journal_size_limit: i64,
    pub sqlite_page_size: u32,
    pub wal_autocheckpoint_bytes: i64,
    pub wal_max_bytes: i64,
    /// See [`Config::fresh_pages_cached`].
    pub fresh_pages_cached: u64,
    pub checkpoint_interval: Duration,
    pub upload_sync_wait: Duration,
    pub litestream: bool,
    pub soft_heap_limit: i64,
    pub hard_heap_limit: i64,
}

impl StoreSettings {
    pub fn from_config(c: &Config) -> Self {
        StoreSettings {
            chunk_size: c.chunk_size,
            copy_batch_bytes: c.copy_batch_bytes,
            copy_run_bytes: c.copy_run_bytes,
            guest_disk_floor: c.guest_disk_floor,
            cache_kib: c.sqlite_cache_kib,
            writer_cache_kib: c.sqlite_writer_cache_kib,
            max_idle_readers: c.max_idle_readers,
            busy_timeout: c.busy_timeout,
            journal_size_limit: c.journal_size_limit,
            sqlite_page_size: c.sqlite_page_size,
            wal_autocheckpoint_bytes: c.wal_autocheckpoint_bytes,
            wal_max_bytes: c.wal_max_bytes,
            fresh_pages_cached: c.fresh_pages_cached,
            checkpoint_interval: c.checkpoint_interval,
            upload_sync_wait: c.upload_sync_wait,
            litestream: c.litestream,
            soft_heap_limit: c.sqlite_soft_heap_limit,
            hard_heap_limit: c.sqlite_hard_heap_limit,
        }
    }

    /// Defaults with a given chunk size, for tests.
    pub fn with_chunk_size(chunk_size: usize) -> Self {
        let mut s = Self::from_config(&Config::defaults(PathBuf::new(), String::new()));
        s.chunk_size = chunk_size;
        s
    }
}

/// The database.
pub struct Store {
    path: PathBuf,
    settings: StoreSettings,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Ids of uploads whose chunks are being written; the collector leaves them alone.
    uploading: Mutex<HashSet<String>>,
    /// Guest uploads in progress per guest link id (see [`Store::reserve_guest_upload`]).
    guest_slots: Mutex<HashMap<String, u64>>,
    /// The server's lock on the database file ([`Store::with_lock`]): uploads mark themselves
    /// on it for other processes' collectors, and the collector asks it about theirs.
    lock: Option<crate::locks::DatabaseLock>,
    /// The WAL's bounds and the checkpoint thread (see `checkpoint.rs`).
    wal: checkpoint::WalWatch,
    /// How many times the writer was taken, for tests of who holds it how long.
    #[cfg(test)]
    pub(crate) writer_turns: std::sync::atomic::AtomicUsize,
    /// Downloads reading each (file id, version): see [`Store::pin_version`].
    pins: Mutex<HashMap<(String, u64), usize>>,
}

/// The writer connection, held: on release, the WAL's size after its commits decides
/// whether to wake the checkpointer (or, far behind, checkpoint here).
pub(crate) struct Writer<'a> {
    conn: MutexGuard<'a, Connection>,
    wal: &'a checkpoint::WalWatch,
}

impl std::ops::Deref for Writer<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl std::ops::DerefMut for Writer<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

impl Writer<'_> {
    /// Looks after the WAL after this holder's commits so far, as letting go would, for a
    /// holder that goes on writing (an upload's run of transactions).
    pub(crate) fn committed(&self) {
        self.wal.after_commits(&self.conn);
    }
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        self.committed();
    }
}

impl Store {
    /// Opens (creating if needed, with parent folders) the database at `path`, in PicoShare's
    /// schema, upgraded to the newest version we know. A database we must not open (see
    /// `migrate::check`) is refused with [`StoreError::Schema`] before anything is written.
    pub fn open(path: &Path, settings: StoreSettings) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        migrate::refuse_unknown(path, settings.busy_timeout)?;
        let writer = Connection::open(path)?;
        set_global_limits(&writer, &settings)?;
        writer.busy_timeout(settings.busy_timeout)?;
        // Again on the writer, before the first write, for a file the peek could not read.
        migrate::check(&writer)?;
        migrate::prepare_new_database(&writer, settings.sqlite_page_size)?;
        configure(&writer, &settings, Role::Writer)?;
        migrate::migrate(&writer)?;
        let page_size: i64 = writer.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let one_at_a_time = Arc::new(Mutex::new(checkpoint::NewPages::new(
            path,
            settings.fresh_pages_cached,
        )));
        let checkpointer = match settings.litestream {
            true => None,
            false => {
                checkpoint::watch(&writer);
                Some(checkpoint::Checkpointer::start(
                    path,
                    settings.busy_timeout,
                    settings.checkpoint_interval,
                    Arc::clone(&one_at_a_time),
                )?)
            }
        };
        let wal = checkpoint::WalWatch {
            page_size: page_size.max(512) as u64,
            wake_bytes: settings.wal_autocheckpoint_bytes.max(0) as u64,
            max_bytes: settings.wal_max_bytes.max(0) as u64,
            path: path.to_owned(),
            checkpointer,
            one_at_a_time,
        };
        Ok(Store {
            path: path.to_owned(),
            settings,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            uploading: Mutex::new(HashSet::new()),
            guest_slots: Mutex::new(HashMap::new()),
            lock: None,
            wal,
            #[cfg(test)]
            writer_turns: Default::default(),
            pins: Mutex::new(HashMap::new()),
        })
    }

    /// Keeps the server's lock on this database for as long as the store lives: from now on
    /// uploads are marked on it for every process's collector (see `locks.rs`).
    pub(crate) fn with_lock(mut self, lock: crate::locks::DatabaseLock) -> Self {
        self.lock = Some(lock);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn settings(&self) -> &StoreSettings {
        &self.settings
    }

    pub(crate) fn writer(&self) -> Writer<'_> {
        #[cfg(test)]
        self.writer_turns
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Writer {
            conn: lock(&self.writer),
            wal: &self.wal,
        }
    }

    /// A read connection from the pool (opened if none is idle); returned on drop.
    pub(crate) fn reader(&self) -> Result<PooledReader<'_>, StoreError> {
        Ok(PooledReader {
            store: self,
            conn: Some(self.take_reader()?),
        })
    }

    /// Takes a read connection out of the pool, opening one if none is idle. Give it back
    /// with [`Store::return_reader`].
    pub(crate) fn take_reader(&self) -> Result<Connection, StoreError> {
        if let Some(c) = lock(&self.readers).pop() {
            return Ok(c);
        }
        let c = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        configure(&c, &self.settings, Role::Reader)?;
        Ok(c)
    }

    /// Puts a read connection back in the pool, or closes it if enough are idle.
    pub(crate) fn return_reader(&self, conn: Connection) {
        let mut idle = lock(&self.readers);
        if idle.len() < self.settings.max_idle_readers {
            idle.push(conn);
        }
    }

    /// Gives the page caches' memory back: SQLite frees the cached pages of the writer and of
    /// every idle reader, then glibc returns the freed heap to the kernel. With 64 KiB pages,
    /// the dozen pages start-up and a collector pass read (schema, tables, indexes) held about
    /// 1 MB of an otherwise idle server's RSS.
    pub(crate) fn release_memory(&self) {
        self.release_caches();
        crate::memory::trim_heap();
    }

    /// Frees the cached pages of the writer and of every idle reader
    /// (`sqlite3_db_release_memory`, no SQL to parse), into the heap. Never waits for the
    /// writer: one that is busy (a collector pass, a history batch) is using its pages, and
    /// the serve loop that calls this on going idle must not stop handing out requests.
    pub(crate) fn release_caches(&self) {
        if let Ok(writer) = self.writer.try_lock() {
            let _ = writer.release_memory();
        }
        for c in lock(&self.readers).iter() {
            let _ = c.release_memory();
        }
    }

    /// Waits until what is committed is in the database file and synced, at most
    /// [`StoreSettings::upload_sync_wait`]: a finished upload's last step (see
    /// `checkpoint.rs`). Call it holding no connection.
    pub(crate) fn wait_for_checkpoint(&self) {
        self.wal.wait_for_checkpoint(self.settings.upload_sync_wait);
    }

    /// Checkpoints the WAL into the database file and truncates it (at shutdown).
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let conn = self.writer();
        self.wal.checkpoint(&conn, "TRUNCATE")?;
        Ok(())
    }
}

/// A pooled read connection.
pub(crate) struct PooledReader<'a> {
    store: &'a Store,
    conn: Option<Connection>,
}

impl std::ops::Deref for PooledReader<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        // Only `drop` takes the connection out.
        self.conn
            .as_ref()
            .expect("pooled connection present until drop")
    }
}

impl Drop for PooledReader<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            self.store.return_reader(c);
        }
    }
}

#[derive(PartialEq)]
enum Role {
    Writer,
    Reader,
}

/// Process-wide SQLite memory limits, set once. They bound SQLite's heap across every
/// connection, whatever the number of concurrent transfers.
fn set_global_limits(conn: &Connection, s: &StoreSettings) -> Result<(), StoreError> {
    // Soft: SQLite sheds page cache to stay under it.
    conn.query_row(
        &format!("PRAGMA soft_heap_limit = {}", s.soft_heap_limit),
        [],
        |_| Ok(()),
    )?;
    // Hard: past it an allocation fails (that request gets a 500) instead of the process
    // growing toward the OOM killer.
    conn.query_row(
        &format!("PRAGMA hard_heap_limit = {}", s.hard_heap_limit),
        [],
        |_| Ok(()),
    )?;
    Ok(())
}

/// Every per-connection PRAGMA, applied to every connection we open (PicoShare set them on
/// one pooled connection only).
fn configure(conn: &Connection, s: &StoreSettings, role: Role) -> Result<(), StoreError> {
    // Wait for a lock instead of failing at once: Litestream takes short write locks to
    // checkpoint, and readers may meet a checkpoint in progress.
    conn.busy_timeout(s.busy_timeout)?;
    // Enforce downloads.entry_id → entries.id, as PicoShare 1.5 declares it.
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Small page cache per connection: file bytes stream through once, caching them is waste.
    // The writer gets a little more: an insert touches more pages than a read.
    let cache_kib = match role {
        Role::Writer => s.writer_cache_kib,
        Role::Reader => s.cache_kib,
    };
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    // No memory-mapped I/O: mapped pages count as the process's memory on small VMs.
    conn.pragma_update(None, "mmap_size", 0)?;
    // Sorts and temporary b-trees go to disk, not the heap.
    conn.pragma_update(None, "temp_store", "FILE")?;
    if role == Role::Writer {
        // WAL: readers (downloads) never block the writer (uploads) and vice versa, and it is
        // what Litestream replicates. Persistent in the file.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
        // In WAL mode NORMAL is crash-safe (a power cut may lose the last commits, never
        // corrupt), and it avoids an fsync per chunk batch.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Give the WAL file back after checkpoints instead of keeping its high-water size.
        conn.pragma_update(None, "journal_size_limit", s.journal_size_limit)?;
        // No checkpoints in the commits themselves: with Litestream they are Litestream's
        // (its documented setting for write-heavy servers; PicoShare sets the same), else our
        // checkpoint thread's (see `checkpoint.rs`, which replaces this hook).
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// A store on a fresh file in a temp folder, removed when the guard drops.
    pub struct TempStore {
        pub store: std::sync::Arc<Store>,
        pub dir: PathBuf,
    }

    impl Drop for TempStore {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// Stores the file in `spool` as the admin's upload `new`.
    pub fn insert(
        t: &TempStore,
        new: &crate::model::NewEntry,
        spool: &mut crate::spool::Spool,
    ) -> crate::model::EntryId {
        super::Upload::begin(&t.store, super::Uploader::Admin)
            .finish(spool, new)
            .unwrap()
    }

    /// The admin's never-expiring file `name`, uploaded at `now`.
    pub fn never_expiring(name: &str, now: crate::model::Timestamp) -> crate::model::NewEntry {
        use crate::model::{Filename, Note, Timestamp};
        crate::model::NewEntry {
            filename: Filename::parse(name).unwrap(),
            content_type: String::new(),
            upload_time: now,
            expiration: Timestamp::never(),
            guest_link_id: None,
            note: Note::none(),
            download_passphrase: None,
            max_downloads: None,
        }
    }

    /// Stores `data` as a never-expiring file named `name` uploaded at `now`.
    pub fn insert_file(
        t: &TempStore,
        name: &str,
        data: &[u8],
        now: crate::model::Timestamp,
    ) -> crate::model::EntryId {
        let mut spool = crate::spool::Spool::new(1 << 20, t.store.settings.chunk_size);
        spool.fill_from(&mut &data[..], &t.dir, None).unwrap();
        insert(t, &never_expiring(name, now), &mut spool)
    }

    /// The single number `sql` answers, on the writer connection.
    pub fn count(t: &TempStore, sql: &str) -> i64 {
        t.store.writer().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    pub fn temp_store(chunk_size: usize) -> TempStore {
        temp_store_with(chunk_size, |_| {})
    }

    /// [`temp_store`] with settings changed by `adjust`.
    pub fn temp_store_with(
        chunk_size: usize,
        adjust: impl FnOnce(&mut StoreSettings),
    ) -> TempStore {
        let dir = std::env::temp_dir().join(format!("ps-store-{}", crate::random::hex(8)));
        std::fs::create_dir_all(&dir).unwrap();
        let mut s = StoreSettings::with_chunk_size(chunk_size);
        s.copy_batch_bytes = chunk_size * 3;
        s.copy_run_bytes = chunk_size * 3;
        adjust(&mut s);
        let store = Store::open(&dir.join("store.db"), s).unwrap();
        TempStore {
            store: std::sync::Arc::new(store),
            dir,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::temp_store;
    use std::sync::{mpsc, Arc};
    use std::time::Duration;

    #[test]
    fn issue_18_releasing_caches_never_waits_for_a_busy_writer() {
        let t = temp_store(4096);
        let busy = t.store.writer();
        let (done, returned) = mpsc::channel();
        let store = Arc::clone(&t.store);
        std::thread::spawn(move || {
            store.release_caches();
            let _ = done.send(());
        });
        let waited = returned.recv_timeout(Duration::from_secs(5));
        drop(busy);
        assert!(waited.is_ok(), "release_caches waited for the busy writer");
    }
}
