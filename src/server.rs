//! Start-up, the serve loop and graceful shutdown.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::{system_clock, App};
use crate::auth::{load_or_create_install_key, Auth};
use crate::config::{Config, SecretSource};
use crate::error::StoreError;
use crate::store::{Store, StoreSettings};

static STOPPING: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    if STOPPING.swap(true, Ordering::SeqCst) {
        // A second signal: the operator wants out now.
        // SAFETY: `_exit` is async-signal-safe.
        unsafe { libc::_exit(1) };
    }
}

fn install_signal_handlers() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: the handler only touches an atomic and calls `_exit`, both
        // async-signal-safe.
        unsafe {
            libc::signal(
                sig,
                on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
            );
        }
    }
}

/// Applies the malloc bounds from the config (0: leave glibc's); must run before any thread
/// is started.
fn tune_malloc(config: &Config) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before other threads exist.
    unsafe {
        if config.malloc_arena_max > 0 {
            libc::mallopt(libc::M_ARENA_MAX, config.malloc_arena_max);
        }
        if config.malloc_mmap_threshold > 0 {
            libc::mallopt(libc::M_MMAP_THRESHOLD, config.malloc_mmap_threshold);
        }
        if config.malloc_trim_threshold > 0 {
            libc::mallopt(libc::M_TRIM_THRESHOLD, config.malloc_trim_threshold);
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = config;
}

/// Why the program stopped with an error; `main` prints it and exits with [`Fatal::status`].
#[derive(Debug)]
pub enum Fatal {
    /// The database is one we must not open (unknown schema version, unexpected tables): it
    /// is left untouched and the exit status is 2, as for a configuration error.
    Refused(String),
    /// Anything else: exit status 1.
    Failed(String),
}

impl Fatal {
    pub fn status(&self) -> u8 {
        match self {
            Fatal::Refused(_) => 2,
            Fatal::Failed(_) => 1,
        }
    }
}

impl From<String> for Fatal {
    fn from(reason: String) -> Self {
        Fatal::Failed(reason)
    }
}

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fatal::Refused(reason) | Fatal::Failed(reason) => f.write_str(reason),
        }
    }
}

/// When to give memory back: once the server has been idle for `after` (no request in
/// flight, none taken) after serving requests (see [`Config::idle_release_after`]).
struct IdleRelease {
    after: Duration,
    /// [`App::requests_taken`] when it last changed, and when that was seen.
    seen: u64,
    since: Instant,
    /// The count at the last release: nothing served since, nothing to give back.
    released: u64,
}

impl IdleRelease {
    fn new(after: Duration, now: Instant) -> Self {
        IdleRelease {
            after,
            seen: 0,
            since: now,
            released: 0,
        }
    }

    /// Called by the serve loop between polls (at least every 100 ms) with the request
    /// count and the requests in flight; true when memory should be given back now.
    fn due(&mut self, now: Instant, taken: u64, in_flight: usize) -> bool {
        if taken != self.seen {
            self.seen = taken;
            self.since = now;
        }
        if taken == self.released || in_flight > 0 || now - self.since < self.after {
            return false;
        }
        self.released = taken;
        true
    }
}

/// Gives back what serving requests left behind: SQLite's cached pages, the code and read-only
/// data pages mapped since (see `memory.rs`; the next request maps them again from the page
/// cache), then the free heap, last, so the other two's own allocations go back too.
fn give_memory_back(app: &App) {
    app.store.release_caches();
    crate::memory::unmap_code_not_in_use();
    crate::memory::trim_heap();
}

/// Opens everything, serves until SIGTERM/SIGINT, then shuts down gracefully.
pub fn run(config: Config) -> Result<(), Fatal> {
    tune_malloc(&config);
    let config = Arc::new(config);
    let db = config.db_path.display().to_string();
    // One server per database: a second one would race the first's collector. The lock is
    // on the database file itself (see `locks.rs`), which cannot vanish while it is served;
    // `picoshare compact` takes the same lock. The store keeps it for as long as it lives.
    let lock = crate::locks::lock_database(&config.db_path)
        .map_err(|e| format!("cannot lock {db}: {e}"))?
        .ok_or_else(|| format!("another picoshare is already serving {db}"))?;
    let store = Store::open(&config.db_path, StoreSettings::from_config(&config))
        .map_err(|e| match e {
            StoreError::Schema(why) => Fatal::Refused(format!("cannot open database {db}: {why}")),
            e => Fatal::Failed(format!("cannot open database {db}: {e}")),
        })?
        .with_lock(lock);
    // Uploads make it again if it goes missing while we run.
    let spool = config.spool_dir();
    std::fs::create_dir_all(&spool)
        .map_err(|e| format!("cannot create the spool folder {}: {e}", spool.display()))?;
    let key_path = crate::disk::beside(&config.db_path, "-session.key");
    let install_key = load_or_create_install_key(&key_path)
        .map_err(|e| format!("cannot read or create the session key beside {db}: {e}"))?;
    let revoked = crate::disk::beside(&config.db_path, "-revoked");
    let auth = Auth::new(
        &config.secret,
        &install_key,
        config.session_lifetime.as_secs() as i64,
    )
    .with_revocation_file(revoked, (system_clock())())
    .map_err(|e| format!("cannot read the logout list beside {db}: {e}"))?;
    if config.secret_source == SecretSource::Generated {
        println!(
            "picoshare: WARNING: no PS_SHARED_SECRET or PS_SHARED_SECRET_FILE set; \
             this run's admin passphrase is: {}",
            config.secret
        );
    }
    let app = Arc::new(App::new(
        Arc::clone(&config),
        Arc::new(store),
        auth,
        system_clock(),
    ));
    crate::gc::collect(&app);
    crate::gc::reclaim(&app);
    app.store.release_memory();
    crate::gc::spawn(Arc::clone(&app)).map_err(|e| format!("cannot start the collector: {e}"))?;
    app.history
        .spawn(Arc::clone(&app.store), Arc::clone(&app.gc_wake))
        .map_err(|e| format!("cannot start the download history writer: {e}"))?;
    install_signal_handlers();
    let mut transport = config.transport.clone();
    transport.graceful_stop_timeout = config.shutdown_timeout;
    tiny_http::set_limits(transport);

    let handler_app = Arc::clone(&app);
    let server = rouille::Server::new((config.listen, config.port), move |req| {
        rouille::log(req, std::io::stdout(), || handler_app.handle(req))
    })
    .map_err(|e| format!("cannot listen on {}:{}: {e}", config.listen, config.port))?
    .pool_size(config.threads);
    println!("picoshare: listening on http://{}", server.server_addr());
    let _ = std::io::stdout().flush();
    // Start-up is over: its code need not stay mapped (see memory.rs).
    crate::memory::unmap_code_not_in_use();

    let mut idle = IdleRelease::new(config.idle_release_after, Instant::now());
    while !STOPPING.load(Ordering::SeqCst) {
        server.poll_timeout(Duration::from_millis(100));
        if idle.due(Instant::now(), app.requests_taken(), app.in_flight()) {
            give_memory_back(&app);
        }
    }
    println!("picoshare: shutting down");
    // Stop accepting and close idle connections; in-flight requests finish (within the
    // bound) while this thread keeps handing already-read requests to the workers.
    let timeout = config.shutdown_timeout;
    let stopper = std::thread::spawn(move || tiny_http::shutdown(timeout));
    while !stopper.is_finished() {
        server.poll_timeout(Duration::from_millis(20));
    }
    let deadline = Instant::now() + Duration::from_secs(1);
    while app.in_flight() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if app.in_flight() > 0 {
        eprintln!(
            "picoshare: {} request(s) still running after {:?}; exiting anyway",
            app.in_flight(),
            config.shutdown_timeout
        );
    }
    // The last downloads' history rows (the queue is small and bounded).
    app.history.write_pending(&app.store);
    // Fold the WAL into the database so the file stands alone — unless Litestream replicates
    // it: checkpoints are then Litestream's, and its open read would make us wait it out.
    if !config.litestream {
        if let Err(e) = app.store.checkpoint() {
            eprintln!("picoshare: final checkpoint failed: {e}");
        }
    }
    println!("picoshare: stopped");
    let _ = std::io::stdout().flush();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AFTER: Duration = Duration::from_millis(500);

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    #[test]
    fn issue_18_memory_goes_back_once_after_a_quiet_spell_that_follows_requests() {
        let t0 = Instant::now();
        let mut idle = IdleRelease::new(AFTER, t0);
        // Nothing served yet (start-up gave its memory back itself).
        assert!(!idle.due(ms(t0, 900), 0, 0));
        // A request at 1000 ms, finished: quiet for less than `after`, then for `after`.
        assert!(!idle.due(ms(t0, 1000), 1, 0));
        assert!(!idle.due(ms(t0, 1400), 1, 0));
        assert!(idle.due(ms(t0, 1500), 1, 0));
        // Once per quiet spell: nothing new, nothing to give back.
        assert!(!idle.due(ms(t0, 2500), 1, 0));
        assert!(!idle.due(ms(t0, 9000), 1, 0));
    }

    #[test]
    fn issue_18_no_memory_goes_back_while_a_request_runs_or_requests_keep_coming() {
        let t0 = Instant::now();
        let mut idle = IdleRelease::new(AFTER, t0);
        // One long download: in flight the whole time.
        assert!(!idle.due(ms(t0, 100), 1, 1));
        assert!(!idle.due(ms(t0, 5000), 1, 1));
        // A new request restarts the quiet spell.
        assert!(!idle.due(ms(t0, 5100), 2, 0));
        assert!(!idle.due(ms(t0, 5500), 2, 0));
        assert!(idle.due(ms(t0, 5600), 2, 0));
    }
}
