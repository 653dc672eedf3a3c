//! Every setting and every bound, parsed once from flags and environment variables into an
//! immutable [`Config`]. No other module reads the environment.

use std::ffi::OsString;
use std::net::IpAddr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Duration;

use crate::model::check_passphrase;
pub use crate::rate::RateLimit;

/// What `main` should do after parsing.
pub enum Parsed {
    /// Serve with this configuration.
    Run(Box<Config>),
    /// Print this text (`--help`, `--version`) and exit successfully.
    Exit(String),
    /// `picoshare backup PATH`: write a consistent snapshot of the live database to PATH.
    Backup(Box<Config>, PathBuf),
    /// `picoshare compact`: offline, rewrite the database with incremental auto-vacuum.
    Compact(Box<Config>),
}

/// Where the admin passphrase came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// `PS_SHARED_SECRET` or `PS_SHARED_SECRET_FILE`.
    Configured,
    /// None was configured: a random one was made for this run and is printed once.
    Generated,
}

/// The whole configuration. Each bound is a named field with the reason for its default.
#[derive(Clone, Debug)]
pub struct Config {
    /// SQLite database holding metadata and file bytes (`-db`, default `data/store.db`).
    pub db_path: PathBuf,
    /// Address to bind (`--listen`, default all interfaces like PicoShare).
    pub listen: IpAddr,
    /// TCP port (`PORT` / `--port`, default 4001; 0 picks a free one).
    pub port: u16,
    /// The admin passphrase.
    pub secret: String,
    pub secret_source: SecretSource,
    /// Trust `X-Forwarded-For`/`X-Forwarded-Proto` (`PS_BEHIND_PROXY` non-empty). The trusted
    /// client address is then the last `X-Forwarded-For` entry, the one the proxy appended;
    /// and since every connection comes from the proxy, the transport's per-address
    /// connection cap is lifted (`max_requests_per_client` takes its place).
    pub behind_proxy: bool,
    /// Litestream replicates the database (`LITESTREAM_BUCKET` non-empty): use its pragmas.
    pub litestream: bool,

    /// Request-handling threads. Each transfer holds one for its duration, so this bounds
    /// concurrent uploads and downloads, and with them memory: ~1.3 MiB per upload, one chunk
    /// per download. 16 × 1.3 MiB stays far below a 256 MB VM.
    pub threads: usize,
    /// Long transfers (uploads and downloads) running at once, out of `threads`. The other
    /// threads stay free for pages, assets, logins and API calls, so the admin UI answers
    /// while every transfer slot is busy; a transfer past this gets `503` with `Retry-After`
    /// at once. Default: all but a quarter of the threads, and at least one kept free (12 of
    /// 16).
    pub max_transfers: usize,
    /// Transfers one client address may run at once, so one client (or one public link
    /// shared too widely) cannot take every transfer slot. The address is the trusted one
    /// (see [`Config::behind_proxy`]).
    pub max_transfers_per_client: usize,
    /// Requests one client address may have in flight at once. Without a proxy the
    /// transport's per-address connection cap already bounds this; behind one, where every
    /// connection comes from the proxy, this is the per-client cap.
    pub max_requests_per_client: usize,
    /// Bytes per `entries_data` row. PicoShare's 327,680; other sizes stay readable.
    pub chunk_size: usize,
    /// Bytes of an uploaded file kept in memory before it spills to a temp file (1 MiB, the
    /// same budget as PicoShare's `ParseMultipartForm`). Also the one reusable copy buffer.
    pub multipart_memory: usize,
    /// Largest accepted non-file multipart field (the note): notes are 500 bytes at most.
    pub max_text_field: usize,
    /// Most multipart parts read from one request before it is refused.
    pub max_form_parts: usize,
    /// The multipart reader's bounds (see multipart/README.md): the largest header block of
    /// one part ("part header too large" beyond) and its one read buffer.
    pub multipart: multipart::server::Limits,
    /// Bytes copied into SQLite per write transaction. Short transactions keep the WAL small
    /// and let other writers (downloads' history rows, other uploads) in between.
    pub copy_batch_bytes: usize,
    /// Bytes of an upload that wait in its spool's temp file before the upload takes the
    /// writer, and are then copied in one turn (`copy_batch_bytes` per transaction, no other
    /// upload between them). Parallel uploads take turns, so each file lies in the database in
    /// runs of this size, and at the end of each run the kernel's read-ahead (8 MiB here)
    /// reads as far into the other files' pages: a one-stream download ran at 455 MB/s with
    /// 8 MiB runs, 691 with 16. The run's dirty page cache is charged to a memory cgroup
    /// (with 32 MiB runs uploads ran 7 % slower in 256 MiB, as fast without a cgroup), and so
    /// is the WAL's: 24 MiB runs with a 48 MiB WAL, against 16 and 64, gave one-stream
    /// downloads +24-30 %, three streams +9-12 %, uploads unchanged (302 vs 302, 354 vs 360
    /// MB/s; `bench/ab-three.py`, 256 MiB cgroup, 4 and 3 rounds). Disk, not memory: the spool
    /// keeps one chunk in memory. Default 24 MiB, at most 3/32 of `memory_limit` and never
    /// below `copy_batch_bytes`; each upload also takes less when free disk is short (a
    /// sixteenth of it, see `store/upload.rs`).
    pub copy_run_bytes: usize,
    /// How long the server must be idle (no request in flight, none taken) after serving
    /// requests before it gives back what they left mapped: SQLite's cached pages, the code
    /// and read-only data they ran (see `memory.rs`), then glibc's free heap (`server.rs`,
    /// `give_memory_back`). What a request read (session, settings, a listing's pages) stays
    /// for the requests right after it, not for hours of quiet. Idle RSS after a login went
    /// from 2.84-2.93 to 1.75-1.86 MiB; a release takes 1-3 ms, and the next request maps
    /// the code it runs again (`GET /login` 1.2 instead of 0.9 ms).
    pub idle_release_after: Duration,
    /// The memory this server may use, page cache included: the memory cgroup's limit if it
    /// has one, else the machine's RAM (`--memory-limit` to say otherwise). Only the disk
    /// buffers above (`copy_run_bytes`, `wal_max_bytes`) are sized from it; every heap bound
    /// stays fixed.
    pub memory_limit: u64,
    /// Largest JSON request body (edit, login, settings, guest links).
    pub max_json_body: usize,
    /// glibc malloc arenas. Every thread that allocates may get its own arena (up to 8 per
    /// core), and each keeps freed memory for reuse: with 16 handler threads, about 5 MB of a
    /// 12 MB peak was buffers freed long ago. Two arenas halve the peak (make bench).
    /// 0 leaves glibc's own setting, as when `MALLOC_ARENA_MAX` is in the environment.
    pub malloc_arena_max: i32,
    /// Allocations at least this big (the 1 MiB multipart buffer) get their own mapping,
    /// handed back to the kernel on free. Fixed, because glibc's default threshold rises after
    /// the first such free and the buffers would then stay in the heap. Above the chunk-sized
    /// buffers on purpose: mapping those afresh for every chunk cost uploads ~10% (make bench).
    pub malloc_mmap_threshold: i32,
    /// Free memory at the top of a malloc heap kept instead of given back to the kernel at
    /// once. Fixing the mmap threshold also fixes glibc's trim threshold at 128 KiB, and SQLite
    /// frees two chunk-sized buffers per stored chunk (the bound blob's copy and the row's
    /// record), so every chunk gave pages back and faulted them in again (page faults and
    /// TLB shootdowns were 6% of the server's profile): 1 MiB cut the server's CPU per
    /// uploaded GB by 10-17% (e.g. 3.58 -> 3.17 s) for about 0.3 MB more peak RSS
    /// (bench/RESULTS.md). What stays is given back by `Store::release_memory`.
    /// 0 leaves glibc's own, as when `MALLOC_TRIM_THRESHOLD_` is in the environment.
    pub malloc_trim_threshold: i32,

    /// SQLite page cache per read connection, in KiB (downloads stream each page once).
    pub sqlite_cache_kib: i64,
    /// The writer connection's page cache, in KiB. With 64 KiB pages, 512 KiB is 8 pages:
    /// fewer than an insert keeps hot (table and index leaves, interior and pointer-map
    /// pages), so SQLite spilled pages to the WAL mid-transaction and re-read them to redo
    /// checksums at commit. 1 MiB cut the server's CPU per uploaded GB by about 10% (3.73 ->
    /// 3.35 s) for 0.5 MB more peak RSS during three uploads (6.7 -> 7.2 MB); 2 MiB gained
    /// little more (3.27 s) for 8.0 MB (bench/RESULTS.md).
    pub sqlite_writer_cache_kib: i64,
    /// Process-wide SQLite soft heap limit: SQLite sheds cache to stay under it.
    pub sqlite_soft_heap_limit: i64,
    /// Process-wide SQLite hard heap limit: past it SQLite fails an allocation (a 500)
    /// instead of growing the process.
    pub sqlite_hard_heap_limit: i64,
    /// Idle read connections kept open for downloads.
    pub max_idle_readers: usize,
    /// How long a writer waits for SQLite's lock (Litestream takes it briefly).
    pub busy_timeout: Duration,
    /// WAL file size kept after a checkpoint: `wal_max_bytes` plus one transaction, the most
    /// the WAL holds (set with it). Below that, every turn of the WAL cut its file back and
    /// grew it again, so its tail was freed (a discard sent to the disk where the filesystem
    /// is mounted with `discard`) and allocated, and its pages charged to the memory cgroup
    /// anew, once per 48 MiB written: uploads 327 vs 351 MB/s with 32 MiB against 64
    /// (`bench/ab-three.py`, 256 MiB cgroup, 3 rounds). So after a large upload the WAL
    /// keeps up to this much disk (56 MiB by default); while disk is short the WAL is held to
    /// an eighth of the free space and never gets that large.
    pub journal_size_limit: i64,
    /// SQLite page size of databases we create (an existing file keeps its own until
    /// `picoshare compact` converts it). 64 KiB pages store a 320 KiB chunk in 5 overflow
    /// pages instead of 81, which made raw chunk inserts about 1.7 times as fast (bench/RESULTS.md).
    /// Every memory bound above is in bytes, so it does not grow with the page.
    pub sqlite_page_size: u32,
    /// WAL bytes at which the checkpoint thread is woken to fold the WAL back into the
    /// database (without Litestream; see src/store/checkpoint.rs). Commits never wait for it.
    pub wal_autocheckpoint_bytes: i64,
    /// WAL bytes at which the writer checkpoints itself because the checkpoint thread fell
    /// behind: the larger, the fewer checkpoints (with their syncs) an upload waits for. Three
    /// parallel uploads: 8 MiB, 257 MB/s; 64 MiB, 357 MB/s (256 MiB cgroup, bench/RESULTS.md).
    /// But the WAL is disk beside the file and page cache a memory cgroup is charged for: in a
    /// 32 MiB cgroup 64 MiB ran slower than 8 (133 vs 161 MB/s), and issue 7's test (a 30
    /// MiB file on a 48 MiB disk) failed with 16. So: 48 MiB (with 24 MiB runs, see
    /// `copy_run_bytes`), at most 3/16 of `memory_limit`, never below `copy_batch_bytes`; and
    /// while free disk is short, at most an eighth of it (`checkpoint.rs`). The WAL reaches
    /// this plus one transaction at most.
    pub wal_max_bytes: i64,
    /// Bytes of the database file's newest pages (what checkpoints appended last: the files
    /// just uploaded) left in the page cache; checkpoints write out and drop the older ones
    /// they appended (`store/checkpoint.rs`). Without that a growing database filled a memory
    /// cgroup's page cache, and reclaim had the spools' pages written to disk just before they
    /// were punched out: uploads 344 vs 397 MB/s, 5.4 vs 4.1 GB written for 1.9 GB (256 MiB
    /// cgroup, bench/write-path-experiments.md). An eighth of `memory_limit` (32 MiB at 256
    /// MiB; a file just uploaded is often read at once), at most 1 GiB.
    pub fresh_pages_cached: u64,
    /// The checkpoint thread also wakes this often, for small commits (history rows, edits)
    /// that never reach `wal_autocheckpoint_bytes`.
    pub checkpoint_interval: Duration,
    /// How long a finished upload's answer waits for the checkpoint thread to fold the WAL,
    /// the upload's last commit included, into the database file and sync it
    /// (`store/checkpoint.rs`). With `synchronous = NORMAL` commits are not synced, so an
    /// upload answered without the wait could be lost in a power cut; and the checkpoint's
    /// disk work, done after the answer, delayed the requests that followed it. Past this the
    /// answer goes out anyway: the file is committed, only not yet synced. No wait with
    /// Litestream, whose checkpoints they are.
    pub upload_sync_wait: Duration,

    /// How often expired files and orphaned chunks are collected (also once at start-up).
    pub gc_interval: Duration,
    /// Bytes given back to the filesystem per write transaction after deletions (whole
    /// pages): bounds both the lock hold time and how far the WAL grows between checkpoints.
    pub reclaim_step_bytes: u64,
    /// How long shutdown waits for in-flight requests before exiting anyway.
    pub shutdown_timeout: Duration,
    /// Lifetime of an admin session cookie (PicoShare: 30 days).
    pub session_lifetime: Duration,
    /// Most API tokens that may exist at once: bounds their table and the list on the
    /// settings page (one admin needs a handful: one per script or device).
    pub max_api_tokens: usize,
    /// A token's `last used` time is written at most this often: a write on every request
    /// would queue each API call behind uploads for SQLite's one writer.
    pub token_last_used_interval: Duration,
    /// Entries per page of `GET /api/entries` when the client gives no `limit`.
    pub api_page_default: usize,
    /// The largest `limit` of `GET /api/entries` (larger ones are lowered to it): a page is
    /// built in memory, at most a few KiB per entry (a 255-byte name and a 500-byte note,
    /// JSON-escaped), so about 1 MiB at this bound per request, whatever the file count.
    pub api_page_max: usize,
    /// Login throttle: five free wrong guesses per client address (the trusted one), then
    /// delays doubling from 1 s to at most 60 s; past 100 failures a minute from everyone,
    /// every attempt without a known-device cookie waits; at most 4,096 addresses and devices
    /// remembered (`throttle.rs`). Download passphrases get a throttle of their own with the
    /// same bounds.
    pub login_throttle: crate::throttle::ThrottleLimits,
    /// Lifetime of the known-device cookie a successful login sets: the browser's attempts
    /// are exempt from the global cap and per-address delays (OWASP's device cookie). A year,
    /// renewed at each login.
    pub device_cookie_lifetime: Duration,

    /// Rows per page of the admin's lists: `/files`, a file's download history and
    /// `/guest-links`. A page is built whole in memory (under 1 KiB of HTML per row), so this
    /// bounds each list page, whatever the number of rows behind it.
    pub page_size: usize,

    /// Bytes of a downloader's `User-Agent` kept in its history row (cut at a character
    /// boundary). Browsers send 100-250; an 8 KB one only fills the disk.
    pub history_agent_bytes: usize,
    /// Bytes of a downloader's address kept: an IPv6 address is at most 45 characters, but
    /// behind a proxy the forwarded address is whatever the client put there.
    pub history_address_bytes: usize,
    /// The same file fetched from its start again by the same address and `User-Agent` within
    /// this window counts once: the first fetch's row stands and the repeats write nothing.
    /// Zero records every transfer, as PicoShare does.
    pub history_coalesce_window: Duration,
    /// Recent (file, address, agent) downloads remembered for coalescing, about 50 bytes
    /// each. When more distinct ones arrive within one window the oldest are forgotten, and a
    /// repeat of one of those is recorded again (still within the row caps below).
    pub history_coalesce_keys: usize,
    /// Downloads waiting for the history writer thread, at most about 400 bytes each. A
    /// download never waits for its row: past this many waiting, rows are dropped (and the
    /// drop is logged).
    pub history_queue: usize,
    /// History rows kept per file (about 350 bytes each on disk); the oldest go first.
    pub history_rows_per_file: u64,
    /// History rows kept in all: about 35 MB of disk at most. The oldest go first.
    pub history_rows_total: u64,
    /// Rows written between two trims to the caps above: how far the caps can be exceeded
    /// for a moment (each trim reads the whole table once).
    pub history_trim_every: u64,
    /// A download whose row could not be written (a full disk, a queue full under a flood)
    /// is still served; the failure is logged at most once per this interval, with a count.
    pub history_log_interval: Duration,

    /// Uploads through one guest link from one client address (the trusted one, see
    /// `behind_proxy`): this many at once, then they come back evenly over the period.
    pub guest_uploads_per_address: RateLimit,
    /// Uploads through one guest link from everyone together, so a link without
    /// `maxFileUploads` shared too widely cannot add files (rows, pages) at any rate.
    pub guest_uploads_per_link: RateLimit,
    /// Guest links and (link, address) pairs the two limits remember at most (about 100
    /// bytes each); refilled ones are forgotten first.
    pub guest_rate_keys: usize,
    /// Free disk a guest's upload must leave: one that would cross it is refused with `507`
    /// (before its body when its length is declared, else as soon as it crosses).
    pub guest_disk_floor: u64,
    /// Free disk the admin's uploads must leave (checked against the declared length): room
    /// for the database's own growth (write-ahead log, history rows) after the upload.
    pub admin_disk_floor: u64,
    /// Most files in one bundle (issue 20). A bundle's ZIP keeps one small record per file in
    /// memory while it streams (its name, about 300 bytes at most, size and CRC), so this
    /// bounds a ZIP download's memory beside its one chunk: 1,000 files, under 0.4 MB.
    pub max_bundle_files: usize,
    /// Largest accepted `maxDownloads` (issue 20); larger is refused as absurd. It also
    /// bounds a limited file's rows of `rs_download_grants` (one per address that counted).
    pub max_download_limit: u64,
    /// How long after a counted download of a limited file the same client address may go on
    /// fetching ranges of it (start > 0) without counting again: a video being watched can
    /// still seek, a paused download resume (issue 20).
    pub download_grace: Duration,

    /// How long an unfinished resumable (tus) upload waits for its next write before the
    /// collector removes it and its bytes (`Upload-Expires`; `--tus-expiry`). A day lets a
    /// phone that lost its connection come back tomorrow; also how long a finished upload can
    /// still be asked how it ended.
    pub tus_expiry: Duration,
    /// Bytes the web pages send per tus `PATCH` (`--tus-patch-size`): under the 100 MB that
    /// Cloudflare and common proxies cap a request body at, and small enough that a dropped
    /// connection costs little to send again. Any tus client may choose its own; the server's
    /// memory per `PATCH` is one chunk whatever the size.
    pub tus_patch_bytes: u64,
    /// Most unfinished resumable uploads one guest link may hold at once (each holds an
    /// upload slot and up to a chunk in its tail; a link without an upload limit would
    /// otherwise let an anonymous visitor create rows without end).
    pub max_unfinished_guest_uploads: u64,

    /// The HTTP transport's bounds (see transport/README.md): open connections, the four
    /// socket timeouts, request-head limits, and how much of an unread body is drained.
    pub transport: tiny_http::Limits,
}

impl Config {
    /// Sizes `copy_run_bytes` and `wal_max_bytes` to `memory_limit` (see their fields).
    fn size_disk_buffers(&mut self) {
        let memory = usize::try_from(self.memory_limit).unwrap_or(usize::MAX);
        let floor = self.copy_batch_bytes;
        self.copy_run_bytes = self.copy_run_bytes.min(memory / 32 * 3).max(floor);
        self.wal_max_bytes = (self.wal_max_bytes as usize)
            .min(memory / 16 * 3)
            .max(floor) as i64;
        self.journal_size_limit = self.wal_max_bytes + self.copy_batch_bytes as i64;
        self.fresh_pages_cached = self.fresh_pages_cached.min(self.memory_limit / 8);
    }

    /// Defaults for everything but the passphrase and the database path.
    pub fn defaults(db_path: PathBuf, secret: String) -> Self {
        // JSON and form bodies are this small at most: small enough to be read whole before a
        // request thread is committed (`transport.small_body_max`).
        let max_json_body = 64 << 10;
        Config {
            db_path,
            listen: IpAddr::from([0, 0, 0, 0]),
            port: 4001,
            secret,
            secret_source: SecretSource::Configured,
            behind_proxy: false,
            litestream: false,
            threads: 16,
            max_transfers: default_max_transfers(16),
            max_transfers_per_client: 4,
            max_requests_per_client: 16,
            chunk_size: 327_680,
            multipart_memory: 1 << 20,
            max_text_field: 64 << 10,
            max_form_parts: 16,
            multipart: multipart::server::Limits {
                // A part's headers: a 255-byte file name percent-encoded in filename* and a
                // filename fallback fit many times over; 100 KB headers are refused at once.
                max_part_header: 16 << 10,
                // Body bytes are read through this buffer and copied out of it into the spool.
                read_buffer: 8 << 10,
            },
            copy_batch_bytes: 8 << 20,
            copy_run_bytes: 24 << 20,
            idle_release_after: Duration::from_millis(500),
            memory_limit: 256 << 20,
            max_json_body,
            malloc_arena_max: 2,
            malloc_mmap_threshold: 512 << 10,
            malloc_trim_threshold: 1 << 20,
            sqlite_cache_kib: 512,
            sqlite_writer_cache_kib: 1024,
            sqlite_soft_heap_limit: 8 << 20,
            sqlite_hard_heap_limit: 64 << 20,
            max_idle_readers: 4,
            busy_timeout: Duration::from_secs(5),
            // `wal_max_bytes` plus one transaction (`size_disk_buffers` keeps them so).
            journal_size_limit: 56 << 20,
            fresh_pages_cached: 1 << 30,
            sqlite_page_size: 65_536,
            wal_autocheckpoint_bytes: 4 << 20,
            wal_max_bytes: 48 << 20,
            checkpoint_interval: Duration::from_secs(5),
            // A pass folds at most `journal_size_limit` of WAL: well under a second on an SSD,
            // a few seconds on an SD card.
            upload_sync_wait: Duration::from_secs(10),
            gc_interval: Duration::from_secs(3600),
            reclaim_step_bytes: 4 << 20,
            shutdown_timeout: Duration::from_secs(10),
            session_lifetime: Duration::from_secs(30 * 24 * 3600),
            page_size: 100,
            history_agent_bytes: 256,
            history_address_bytes: 64,
            history_coalesce_window: Duration::from_secs(60),
            history_coalesce_keys: 4096,
            history_queue: 1024,
            history_rows_per_file: 10_000,
            history_rows_total: 100_000,
            history_trim_every: 1000,
            history_log_interval: Duration::from_secs(60),
            guest_uploads_per_address: RateLimit::per_hour(30),
            guest_uploads_per_link: RateLimit::per_hour(300),
            guest_rate_keys: 4096,
            guest_disk_floor: 256 << 20,
            admin_disk_floor: 16 << 20,
            max_api_tokens: 100,
            token_last_used_interval: Duration::from_secs(60),
            api_page_default: 100,
            api_page_max: 200,
            max_bundle_files: 1000,
            max_download_limit: 1_000_000,
            download_grace: Duration::from_secs(3600),
            login_throttle: crate::throttle::ThrottleLimits::default(),
            device_cookie_lifetime: Duration::from_secs(365 * 24 * 3600),
            tus_expiry: Duration::from_secs(24 * 3600),
            tus_patch_bytes: 50_000_000,
            max_unfinished_guest_uploads: 16,
            transport: tiny_http::Limits {
                // Open connections (each a thread with a 32 KiB head buffer). Requests beyond
                // `threads` wait for a handler thread; connections beyond this get a 503.
                max_connections: 64,
                // Open connections from one address: a quarter, so a connect flood from one
                // address costs that address (it evicts its own waiting connections), not
                // everyone. A browser opens at most six per site. Lifted behind a proxy.
                max_connections_per_ip: 16,
                // A connection waiting for its request head can be evicted by a newcomer only
                // after this, so a burst of connects cannot push out a client about to speak.
                eviction_grace: Duration::from_millis(100),
                // A client has this long to send a request head (slowloris).
                head_read_timeout: Duration::from_secs(10),
                // An idle keep-alive connection is closed after this.
                keepalive_idle_timeout: Duration::from_secs(30),
                // An upload that sends nothing for this long fails (the spool is dropped).
                body_read_stall_timeout: Duration::from_secs(60),
                // A download the client stops reading for this long is abandoned.
                write_stall_timeout: Duration::from_secs(60),
                // Uploads and downloads must average at least 1 KiB/s over 30 s (a phone on a
                // bad link still makes it); slower, and the transfer is cut, its thread freed
                // and a cut upload leaves nothing behind. A stalled client holds a thread for
                // at most the window.
                min_rate: 1024,
                rate_window: Duration::from_secs(30),
                // Logins, forms and JSON bodies (up to `max_json_body`) are read whole before
                // a request thread is committed, within 5 s plus a second per `min_rate` bytes
                // declared: a trickled login holds a connection, never a thread.
                small_body_max: max_json_body as u64,
                small_body_timeout: Duration::from_secs(5),
                // Pages, assets, errors and JSON answers up to this are written by the
                // connection's own thread: a client that pipelines requests without reading
                // the answers holds no request thread.
                buffered_response_max: 64 << 10,
                // Unread request bodies (refused uploads) are drained up to this, through a
                // small fixed buffer; past it the connection is closed instead.
                drain_cap: 1 << 20,
                // A response is written from one buffer this big: a download's chunk is read
                // from SQLite straight into it and sent with one system call, with room for
                // the response head before the first chunk. Follows `chunk_size` (see parse).
                write_buffer: 327_680 + RESPONSE_HEAD_ROOM,
                ..tiny_http::Limits::default()
            },
        }
    }

    /// The folder beside the database that holds upload spool files (nameless, so it always
    /// looks empty); made at start-up, and again by an upload that finds it gone.
    pub fn spool_dir(&self) -> PathBuf {
        crate::disk::beside(&self.db_path, "-spool")
    }

    /// Parses `args` (with the program name first) and the process environment.
    pub fn from_env_and_args(args: Vec<String>) -> Result<Parsed, String> {
        Self::parse(args, |name| std::env::var_os(name))
    }

    /// Parses flags with environment fallbacks from `env_os`. Flags win over environment.
    pub fn parse(
        args: Vec<String>,
        env_os: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Parsed, String> {
        // Settings are text; one that is not UTF-8 counts as unset, except the passphrase,
        // which is refused (see read_secret).
        let env = |name: &str| env_os(name).and_then(|v| v.into_string().ok());
        let mut opts = getopts::Options::new();
        // PicoShare's flag is `-db`: long options with one dash, as Go's flag package takes.
        opts.long_only(true);
        opts.optopt(
            "",
            "db",
            "SQLite database path [default data/store.db]",
            "PATH",
        )
        .optopt("", "port", "TCP port [env PORT, default 4001]", "N")
        .optopt("", "listen", "IP address to bind [default 0.0.0.0]", "ADDR")
        .optopt("", "threads", "request threads [default 16]", "N")
        .optopt(
            "",
            "chunk-size",
            "bytes per stored chunk [default 327680]",
            "BYTES",
        )
        .optopt(
            "",
            "gc-interval",
            "seconds between collections [default 3600]",
            "SECS",
        )
        .optopt(
            "",
            "memory-limit",
            "bytes of memory (page cache included) to size the upload's disk buffers to \
             [default: the memory cgroup's limit, else the machine's RAM]",
            "BYTES",
        )
        .optopt(
            "",
            "page-size",
            "rows per page of the file, history and guest-link lists [default 100]",
            "N",
        )
        .optopt(
            "",
            "history-per-file",
            "download history rows kept per file [default 10000]",
            "N",
        )
        .optopt(
            "",
            "history-total",
            "download history rows kept in all [default 100000]",
            "N",
        )
        .optopt(
            "",
            "history-coalesce",
            "seconds within which a repeated download counts once; 0: count every one \
             [default 60]",
            "SECS",
        )
        .optopt(
            "",
            "tus-expiry",
            "seconds an unfinished resumable upload waits for its next write [default 86400]",
            "SECS",
        )
        .optopt(
            "",
            "guest-uploads-per-address",
            "uploads per hour through one guest link from one address [default 30]",
            "N",
        )
        .optopt(
            "",
            "guest-uploads-per-link",
            "uploads per hour through one guest link in all [default 300]",
            "N",
        )
        .optopt(
            "",
            "guest-disk-floor",
            "free disk a guest upload must leave [default 268435456]",
            "BYTES",
        )
        .optopt(
            "",
            "admin-disk-floor",
            "free disk the admin's uploads must leave [default 16777216]",
            "BYTES",
        )
        .optopt(
            "",
            "max-transfers",
            "uploads and downloads at once [default 3/4 of --threads]",
            "N",
        )
        .optopt(
            "",
            "max-transfers-per-client",
            "uploads and downloads at once from one address [default 4]",
            "N",
        )
        .optopt("", "max-connections", "open connections [default 64]", "N")
        .optopt(
            "",
            "max-connections-per-client",
            "open connections (behind a proxy: requests) from one address [default 16]",
            "N",
        )
        .optopt(
            "",
            "eviction-grace-ms",
            "a waiting connection may be evicted for a newcomer after this [default 100]",
            "MS",
        )
        .optopt(
            "",
            "min-rate",
            "slowest accepted transfer, bytes/s; 0: no minimum [default 1024]",
            "BYTES",
        )
        .optopt(
            "",
            "rate-window",
            "seconds --min-rate is averaged over [default 30]",
            "SECS",
        )
        .optopt(
            "",
            "tus-patch-size",
            "bytes the web pages send per resumable-upload request [default 50000000]",
            "BYTES",
        )
        .optflag("h", "help", "print this help")
        .optflag("V", "version", "print the version");
        let prog = args.first().cloned().unwrap_or_else(|| "picoshare".into());
        let m = opts
            .parse(args.iter().skip(1))
            .map_err(|e| format!("{e} (see --help)"))?;
        if m.opt_present("help") {
            let brief = format!(
                "Usage: {prog} [options]             serve\n       \
                 {prog} [options] backup PATH   write a consistent copy of the live database\n       \
                 {prog} [options] compact       offline: rewrite the database so deleted space \
                 can be given back\n\n\
                 Environment: PS_SHARED_SECRET or PS_SHARED_SECRET_FILE (admin passphrase; \
                 a random one is printed if neither is set), PORT, PS_BEHIND_PROXY, \
                 LITESTREAM_BUCKET."
            );
            return Ok(Parsed::Exit(opts.usage(&brief)));
        }
        if m.opt_present("version") {
            return Ok(Parsed::Exit(format!(
                "picoshare {}\n",
                env!("CARGO_PKG_VERSION")
            )));
        }
        enum Command {
            Serve,
            Backup(PathBuf),
            Compact,
        }
        let command = match m
            .free
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            [] => Command::Serve,
            ["backup", dest] => Command::Backup(PathBuf::from(dest)),
            ["backup"] => return Err("backup needs a destination: picoshare backup PATH".into()),
            ["compact"] => Command::Compact,
            [other, ..] => return Err(format!("unexpected argument {other:?} (see --help)")),
        };

        let db_path = PathBuf::from(m.opt_str("db").unwrap_or_else(|| "data/store.db".into()));
        if db_path.as_os_str().is_empty() {
            return Err("-db must not be empty".into());
        }
        let (secret, secret_source) = match read_secret(&env_os)? {
            Some(s) => (s, SecretSource::Configured),
            None => (crate::random::id(20), SecretSource::Generated),
        };
        let mut c = Config::defaults(db_path, secret);
        c.secret_source = secret_source;
        if let Some(p) = m.opt_str("port").or_else(|| env("PORT")) {
            c.port = p
                .trim()
                .parse()
                .map_err(|_| format!("invalid port {p:?}: must be 0-65535"))?;
        }
        if let Some(a) = m.opt_str("listen") {
            c.listen = a
                .parse()
                .map_err(|_| format!("invalid listen address {a:?}: must be an IP address"))?;
        }
        if let Some(t) = m.opt_str("threads") {
            c.threads = parse_in(&t, "threads", 1, 1024)?;
            c.max_transfers = default_max_transfers(c.threads);
        }
        if let Some(n) = m.opt_str("max-transfers") {
            c.max_transfers = parse_in(&n, "max transfers", 1, c.threads)?;
        }
        if let Some(n) = m.opt_str("max-transfers-per-client") {
            c.max_transfers_per_client = parse_in(&n, "max transfers per client", 1, 1024)?;
        }
        if let Some(n) = m.opt_str("max-connections") {
            c.transport.max_connections = parse_in(&n, "max connections", 1, 65_536)?;
        }
        if let Some(n) = m.opt_str("max-connections-per-client") {
            let n = parse_in(&n, "max connections per client", 1, 65_536)?;
            c.transport.max_connections_per_ip = n;
            c.max_requests_per_client = n;
        }
        if let Some(n) = m.opt_str("eviction-grace-ms") {
            c.transport.eviction_grace =
                Duration::from_millis(parse_in(&n, "eviction grace", 0, 60_000)?);
        }
        if let Some(n) = m.opt_str("min-rate") {
            c.transport.min_rate = parse_in(&n, "min rate", 0, 1 << 30)?;
        }
        if let Some(s) = m.opt_str("rate-window") {
            c.transport.rate_window = Duration::from_secs(parse_in(&s, "rate window", 1, 3600)?);
        }
        if let Some(s) = m.opt_str("chunk-size") {
            c.chunk_size = parse_in(&s, "chunk size", 1, 64 << 20)?;
            c.transport.write_buffer = c.chunk_size + RESPONSE_HEAD_ROOM;
        }
        if let Some(s) = m.opt_str("gc-interval") {
            c.gc_interval = Duration::from_secs(parse_in(&s, "gc interval", 1, 365 * 86400)?);
        }
        if let Some(n) = m.opt_str("page-size") {
            c.page_size = parse_in(&n, "page size", 1, 10_000)?;
        }
        if let Some(n) = m.opt_str("history-per-file") {
            c.history_rows_per_file = parse_in(&n, "history rows per file", 1, 1 << 40)?;
        }
        if let Some(n) = m.opt_str("history-total") {
            c.history_rows_total = parse_in(&n, "history rows in all", 1, 1 << 40)?;
        }
        if let Some(s) = m.opt_str("history-coalesce") {
            c.history_coalesce_window =
                Duration::from_secs(parse_in(&s, "history coalescing window", 0, 86_400)?);
        }
        if let Some(n) = m.opt_str("guest-uploads-per-address") {
            c.guest_uploads_per_address =
                RateLimit::per_hour(parse_in(&n, "guest uploads per address", 1, 1_000_000)?);
        }
        if let Some(n) = m.opt_str("guest-uploads-per-link") {
            c.guest_uploads_per_link =
                RateLimit::per_hour(parse_in(&n, "guest uploads per link", 1, 1_000_000)?);
        }
        if let Some(n) = m.opt_str("guest-disk-floor") {
            c.guest_disk_floor = parse_in(&n, "guest disk floor", 0, u64::MAX)?;
        }
        if let Some(n) = m.opt_str("admin-disk-floor") {
            c.admin_disk_floor = parse_in(&n, "admin disk floor", 0, u64::MAX)?;
        }
        if c.admin_disk_floor > c.guest_disk_floor {
            return Err(format!(
                "the admin disk floor ({}) must not be above the guest disk floor ({})",
                c.admin_disk_floor, c.guest_disk_floor
            ));
        }
        if let Some(s) = m.opt_str("tus-expiry") {
            c.tus_expiry = Duration::from_secs(parse_in(&s, "tus expiry", 1, 365 * 86400)?);
        }
        if let Some(s) = m.opt_str("tus-patch-size") {
            c.tus_patch_bytes = parse_in(&s, "tus patch size", 1, 1 << 40)?;
        }
        // An operator's own glibc malloc tuning wins over ours.
        if env("MALLOC_ARENA_MAX").is_some() {
            c.malloc_arena_max = 0;
        }
        if env("MALLOC_MMAP_THRESHOLD_").is_some() {
            c.malloc_mmap_threshold = 0;
        }
        if env("MALLOC_TRIM_THRESHOLD_").is_some() {
            c.malloc_trim_threshold = 0;
        }
        c.memory_limit = match m.opt_str("memory-limit") {
            Some(s) => parse_in(&s, "memory limit", 1 << 20, u64::MAX)?,
            None => crate::memory::limit().unwrap_or(c.memory_limit),
        };
        c.size_disk_buffers();
        c.behind_proxy = env("PS_BEHIND_PROXY").is_some_and(|v| !v.is_empty());
        if c.behind_proxy {
            // Every connection comes from the proxy.
            c.transport.max_connections_per_ip = c.transport.max_connections;
        }
        c.litestream = env("LITESTREAM_BUCKET").is_some_and(|v| !v.is_empty());
        Ok(match command {
            Command::Serve => Parsed::Run(Box::new(c)),
            Command::Backup(dest) => Parsed::Backup(Box::new(c), dest),
            Command::Compact => Parsed::Compact(Box::new(c)),
        })
    }
}

/// Room for a response head in the transport's write buffer, beside one chunk of body.
const RESPONSE_HEAD_ROOM: usize = 16 << 10;

/// All but a quarter of `threads` for transfers, keeping at least one thread free for short
/// requests whenever there are two.
fn default_max_transfers(threads: usize) -> usize {
    if threads < 2 {
        return threads;
    }
    threads - (threads / 4).max(1)
}

fn parse_in<T>(s: &str, what: &str, min: T, max: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match s.trim().parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(format!("invalid {what} {s:?}: must be {min}-{max}")),
    }
}

/// `PS_SHARED_SECRET_FILE` wins (trailing CR/LF trimmed), then `PS_SHARED_SECRET`; `None`
/// when neither is set (or the variable is empty). Either must pass PicoShare's passphrase
/// rule (valid UTF-8, no NUL, 1-100 code points), else the server refuses to start with
/// PicoShare's message.
fn read_secret(env: &impl Fn(&str) -> Option<OsString>) -> Result<Option<String>, String> {
    let invalid = |m: &str| format!("invalid PS_SHARED_SECRET: {m}");
    if let Some(path) = env("PS_SHARED_SECRET_FILE").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        let bytes = std::fs::read(&path)
            .map_err(|e| format!("cannot read PS_SHARED_SECRET_FILE {}: {e}", path.display()))?;
        let end = bytes
            .iter()
            .rposition(|b| !matches!(b, b'\r' | b'\n'))
            .map_or(0, |i| i + 1);
        let secret = check_passphrase(&bytes[..end]).map_err(|m| {
            format!(
                "{} (read from PS_SHARED_SECRET_FILE {})",
                invalid(m),
                path.display()
            )
        })?;
        return Ok(Some(secret.to_owned()));
    }
    match env("PS_SHARED_SECRET").filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(raw) => Ok(Some(
            check_passphrase(raw.as_bytes())
                .map_err(invalid)?
                .to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<Config, String> {
        let args = std::iter::once("picoshare")
            .chain(args.iter().copied())
            .map(String::from)
            .collect();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match Config::parse(args, |k| {
            env.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| OsString::from(v))
        })? {
            Parsed::Run(c) => Ok(*c),
            _ => Err("not a serve command".into()),
        }
    }

    #[test]
    fn picoshare_flags_and_env() {
        let c = parse(
            &["-db", "/x/s.db"],
            &[("PORT", "8080"), ("PS_SHARED_SECRET", "pw")],
        )
        .unwrap();
        assert_eq!(c.db_path, PathBuf::from("/x/s.db"));
        assert_eq!(c.port, 8080);
        assert_eq!(c.secret, "pw");
        assert_eq!(c.secret_source, SecretSource::Configured);
        let c = parse(&["--db=/y.db", "--port", "9"], &[("PORT", "8080")]).unwrap();
        assert_eq!(c.db_path, PathBuf::from("/y.db"));
        assert_eq!(c.port, 9, "the flag wins over the environment");
        assert_eq!(c.secret_source, SecretSource::Generated);
        assert_eq!(c.spool_dir(), PathBuf::from("/y.db-spool"));
    }

    #[test]
    fn issue_19_resumable_upload_settings() {
        let c = parse(&[], &[]).unwrap();
        assert_eq!(c.tus_expiry, Duration::from_secs(86_400));
        assert_eq!(c.tus_patch_bytes, 50_000_000);
        let c = parse(&["--tus-expiry", "2", "--tus-patch-size", "4096"], &[]).unwrap();
        assert_eq!(c.tus_expiry, Duration::from_secs(2));
        assert_eq!(c.tus_patch_bytes, 4096);
    }

    #[test]
    fn issue_6_malloc_bounds_yield_to_the_operators_environment() {
        let c = parse(&[], &[]).unwrap();
        assert_eq!(
            (c.malloc_arena_max, c.malloc_mmap_threshold),
            (2, 512 << 10)
        );
        assert_eq!(c.transport.write_buffer, c.chunk_size + RESPONSE_HEAD_ROOM);
        let c = parse(
            &["--chunk-size", "1000"],
            &[
                ("MALLOC_ARENA_MAX", "4"),
                ("MALLOC_MMAP_THRESHOLD_", "65536"),
            ],
        )
        .unwrap();
        assert_eq!((c.malloc_arena_max, c.malloc_mmap_threshold), (0, 0));
        assert_eq!(c.transport.write_buffer, 1000 + RESPONSE_HEAD_ROOM);
    }

    #[test]
    fn issue_18_the_trim_threshold_is_set_unless_the_operator_set_one() {
        assert_eq!(parse(&[], &[]).unwrap().malloc_trim_threshold, 1 << 20);
        let c = parse(&[], &[("MALLOC_TRIM_THRESHOLD_", "131072")]).unwrap();
        assert_eq!(c.malloc_trim_threshold, 0);
    }

    #[test]
    fn issue_18_disk_buffers_are_sized_to_the_memory_limit() {
        let sized = |limit: &str| {
            let c = parse(&["--memory-limit", limit], &[]).unwrap();
            (
                c.memory_limit,
                c.copy_run_bytes,
                c.wal_max_bytes,
                c.journal_size_limit,
                c.fresh_pages_cached as usize,
            )
        };
        const MIB: usize = 1 << 20;
        // The WAL file is kept at its bound plus one transaction (8 MiB): its working size.
        // An eighth of the limit stays cached of what was just stored.
        // A 32 MiB cgroup: one transaction's worth of each, as before issue 18.
        let small = (32 << 20, 8 * MIB, 8 << 20, 16 << 20, 4 * MIB);
        assert_eq!(sized("33554432"), small);
        // 256 MiB: the defaults.
        let vps = (256 << 20, 24 * MIB, 48 << 20, 56 << 20, 32 * MIB);
        assert_eq!(sized("268435456"), vps);
        // 128 MiB: three 32nds and three 16ths.
        let half = (128 << 20, 12 * MIB, 24 << 20, 32 << 20, 16 * MIB);
        assert_eq!(sized("134217728"), half);
        // A big machine: no more than the defaults (1 GiB of new pages stays cached).
        let big = (64 << 30, 24 * MIB, 48 << 20, 56 << 20, 1024 * MIB);
        assert_eq!(sized("68719476736"), big);
        assert!(parse(&["--memory-limit", "1000"], &[]).is_err());
        // Without the flag, what the machine or its cgroup says.
        let c = parse(&[], &[]).unwrap();
        assert_eq!(Some(c.memory_limit), crate::memory::limit());
    }

    #[test]
    fn issue_16_list_history_and_guest_bounds_have_defaults_and_flags() {
        let c = parse(&[], &[]).unwrap();
        assert_eq!(c.page_size, 100);
        assert_eq!(
            (c.history_rows_per_file, c.history_rows_total),
            (10_000, 100_000)
        );
        assert_eq!(c.history_agent_bytes, 256);
        assert_eq!(c.history_coalesce_window, Duration::from_secs(60));
        assert_eq!(c.guest_uploads_per_address, RateLimit::per_hour(30));
        assert!(c.admin_disk_floor < c.guest_disk_floor);
        let c = parse(
            &[
                "--page-size",
                "10",
                "--history-per-file",
                "5",
                "--history-total",
                "50",
                "--history-coalesce",
                "0",
                "--guest-uploads-per-address",
                "2",
                "--guest-uploads-per-link",
                "3",
                "--guest-disk-floor",
                "1000",
                "--admin-disk-floor",
                "10",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(c.page_size, 10);
        assert_eq!((c.history_rows_per_file, c.history_rows_total), (5, 50));
        assert!(c.history_coalesce_window.is_zero());
        assert_eq!(c.guest_uploads_per_address, RateLimit::per_hour(2));
        assert_eq!(c.guest_uploads_per_link, RateLimit::per_hour(3));
        assert_eq!((c.guest_disk_floor, c.admin_disk_floor), (1000, 10));
        assert!(parse(&["--admin-disk-floor", "1000000000000"], &[])
            .unwrap_err()
            .contains("must not be above"));
        assert!(parse(&["--page-size", "0"], &[]).is_err());
    }

    #[test]
    fn issue_15_transfers_keep_threads_free_and_a_proxy_lifts_the_per_address_connection_cap() {
        let c = parse(&[], &[]).unwrap();
        assert_eq!((c.threads, c.max_transfers), (16, 12));
        assert_eq!(c.transport.small_body_max, c.max_json_body as u64);
        assert_eq!(c.transport.max_connections_per_ip, 16);
        for (threads, transfers) in [("1", 1), ("2", 1), ("4", 3), ("8", 6)] {
            let c = parse(&["--threads", threads], &[]).unwrap();
            assert_eq!(c.max_transfers, transfers, "--threads {threads}");
        }
        let c = parse(
            &[
                "--threads",
                "4",
                "--max-transfers",
                "2",
                "--max-transfers-per-client",
                "1",
                "--max-connections-per-client",
                "3",
                "--min-rate",
                "0",
                "--rate-window",
                "2",
                "--eviction-grace-ms",
                "5000",
            ],
            &[],
        )
        .unwrap();
        assert_eq!((c.max_transfers, c.max_transfers_per_client), (2, 1));
        assert_eq!(
            (
                c.transport.max_connections_per_ip,
                c.max_requests_per_client
            ),
            (3, 3)
        );
        assert_eq!(c.transport.min_rate, 0);
        assert_eq!(c.transport.rate_window, Duration::from_secs(2));
        assert_eq!(c.transport.eviction_grace, Duration::from_secs(5));
        let c = parse(&[], &[("PS_BEHIND_PROXY", "1")]).unwrap();
        assert_eq!(
            c.transport.max_connections_per_ip,
            c.transport.max_connections
        );
        assert!(parse(&["--threads", "4", "--max-transfers", "5"], &[])
            .unwrap_err()
            .contains("max transfers"));
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        assert!(parse(&["--port", "70000"], &[])
            .unwrap_err()
            .contains("port"));
        assert!(parse(&["--threads", "0"], &[])
            .unwrap_err()
            .contains("threads"));
        assert!(parse(&["--listen", "nowhere"], &[]).is_err());
        assert!(parse(&["--bogus"], &[]).is_err());
        assert!(parse(&["--tus-expiry", "0"], &[])
            .unwrap_err()
            .contains("tus expiry"));
        assert!(parse(&["--tus-patch-size", "x"], &[])
            .unwrap_err()
            .contains("tus patch size"));
        assert!(parse(&[], &[("PS_SHARED_SECRET_FILE", "/nonexistent/x")]).is_err());
    }

    #[test]
    fn issue_17_the_shared_secret_must_pass_picoshares_passphrase_rule() {
        let rule = "passphrase must contain between 1 and 100 Unicode code points";
        let refused = |v: &str| parse(&[], &[("PS_SHARED_SECRET", v)]).unwrap_err();
        assert_eq!(
            refused(&"é".repeat(101)),
            format!("invalid PS_SHARED_SECRET: {rule}")
        );
        assert_eq!(
            refused("a\0b"),
            format!("invalid PS_SHARED_SECRET: {rule}: NUL bytes are not allowed")
        );
        assert_eq!(
            parse(&[], &[("PS_SHARED_SECRET", &"é".repeat(100))])
                .unwrap()
                .secret
                .chars()
                .count(),
            100
        );
        // Generated when none is set: valid by the same rule.
        let c = parse(&[], &[]).unwrap();
        assert_eq!(c.secret_source, SecretSource::Generated);
        assert!(check_passphrase(c.secret.as_bytes()).is_ok());

        let dir = std::env::temp_dir().join(format!("ps-cfg-{}", crate::random::hex(6)));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("secret");
        let from_file = |bytes: &[u8]| {
            std::fs::write(&f, bytes).unwrap();
            parse(&[], &[("PS_SHARED_SECRET_FILE", f.to_str().unwrap())])
        };
        let e = from_file(b"caf\xe9\n").unwrap_err();
        assert!(
            e.starts_with(&format!("invalid PS_SHARED_SECRET: {rule}: invalid UTF-8")),
            "{e}"
        );
        let e = from_file(b"\r\n").unwrap_err();
        assert!(
            e.starts_with(&format!("invalid PS_SHARED_SECRET: {rule} (")),
            "{e}"
        );
        assert_eq!(
            from_file(" spaced \r\n".as_bytes()).unwrap().secret,
            " spaced "
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn secret_file_wins_and_is_trimmed() {
        let dir = std::env::temp_dir().join(format!("ps-cfg-{}", crate::random::hex(6)));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("secret");
        std::fs::write(&f, "from-file\r\n").unwrap();
        let c = parse(
            &[],
            &[
                ("PS_SHARED_SECRET_FILE", f.to_str().unwrap()),
                ("PS_SHARED_SECRET", "env"),
            ],
        )
        .unwrap();
        assert_eq!(c.secret, "from-file");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
