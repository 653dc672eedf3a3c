//! The garbage collector: at start-up and then every `gc_interval`, removes expired files,
//! resumable uploads abandoned past their expiry, and chunk rows that belong to no file and to
//! no unfinished resumable upload (failed or crashed uploads; never those of an upload still
//! running, in this process or another, see `locks.rs`), then gives the freed space back to the
//! filesystem in small steps. A deletion (or a history trim) wakes it early for the second
//! part.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::app::App;
use crate::locks::lock;

/// Wakes the collector thread before its interval is up.
#[derive(Default)]
pub struct Wake {
    pending: Mutex<bool>,
    cv: Condvar,
}

impl Wake {
    /// Asks the collector to give freed space back soon.
    pub fn notify(&self) {
        *lock(&self.pending) = true;
        self.cv.notify_one();
    }

    /// Waits up to `timeout`; true if woken by [`Wake::notify`].
    fn wait(&self, timeout: Duration) -> bool {
        let guard = lock(&self.pending);
        let (mut pending, _) = self
            .cv
            .wait_timeout_while(guard, timeout, |p| !*p)
            .unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *pending, false)
    }
}

/// Runs one collection and logs what it removed.
pub fn collect(app: &App) {
    match app.store.purge(app.now()) {
        Ok(stats)
            if stats.expired_entries > 0
                || stats.expired_uploads > 0
                || stats.orphaned_chunks > 0 =>
        {
            println!(
                "picoshare: gc removed {} expired file(s), {} abandoned resumable upload(s) \
                 and {} orphaned chunk(s)",
                stats.expired_entries, stats.expired_uploads, stats.orphaned_chunks
            )
        }
        Ok(_) => {}
        Err(e) => eprintln!("picoshare: gc failed: {e}"),
    }
}

/// Gives free pages back to the filesystem and logs how many.
pub fn reclaim(app: &App) {
    match app.store.reclaim(app.config.reclaim_step_bytes) {
        Ok(0) => {}
        Ok(bytes) => println!("picoshare: gave {bytes} bytes back to the filesystem"),
        Err(e) => eprintln!("picoshare: reclaiming space failed: {e}"),
    }
}

/// Starts the collector thread.
pub fn spawn(app: Arc<App>) -> std::io::Result<()> {
    let interval = app.config.gc_interval;
    std::thread::Builder::new()
        .name("gc".into())
        .spawn(move || loop {
            if !app.gc_wake.wait(interval) {
                collect(&app);
            }
            reclaim(&app);
            app.store.release_memory();
        })?;
    Ok(())
}
