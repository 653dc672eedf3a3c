//! Download history, bounded and off the download's path. A download that starts at byte 0
//! hands its row to [`History::record`], which never touches the database and never fails:
//! it cuts the `User-Agent` and address to size, drops a repeat of a row recorded within the
//! coalescing window (same file, address and agent), and queues the rest. One writer thread
//! writes the queue in one transaction at a time and trims the table to its caps. So a flood
//! of requests writes almost nothing, a full disk costs the history a few rows and the
//! downloads nothing, and the table stays within its caps.
//!
//! Coalescing does not write at all: the first row of a burst stands (it is when that
//! download happened), and the repeats add nothing. Updating the row's time instead would
//! cost a write per request — the very amplification being removed, a whole page into the
//! WAL (and to Litestream) each time — and would find the row by a scan, as PicoShare's
//! `downloads` table has no index we may add.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::locks::lock;
use crate::model::{DownloadRecord, EntryId, Timestamp};
use crate::store::Store;

/// The download history's bounds and state, shared by the download handlers and the writer
/// thread.
pub struct History {
    agent_bytes: usize,
    address_bytes: usize,
    window: Duration,
    coalesce_keys: usize,
    queue_max: usize,
    rows_per_file: u64,
    rows_total: u64,
    trim_every: u64,
    log_interval: Duration,
    state: Mutex<State>,
    /// Signalled when the queue gets a row.
    ready: Condvar,
}

struct State {
    queue: VecDeque<(EntryId, DownloadRecord)>,
    recent: Recent,
    /// Rows lost since the last log line: dropped while the queue was full, and failed to
    /// write; with the last error.
    dropped: u64,
    failed: u64,
    last_error: Option<String>,
    last_log: Option<Instant>,
}

impl History {
    pub fn new(config: &Config) -> Self {
        History {
            agent_bytes: config.history_agent_bytes,
            address_bytes: config.history_address_bytes,
            window: config.history_coalesce_window,
            coalesce_keys: config.history_coalesce_keys.max(1),
            queue_max: config.history_queue.max(1),
            rows_per_file: config.history_rows_per_file,
            rows_total: config.history_rows_total,
            trim_every: config.history_trim_every.max(1),
            log_interval: config.history_log_interval,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                recent: Recent::default(),
                dropped: 0,
                failed: 0,
                last_error: None,
                last_log: None,
            }),
            ready: Condvar::new(),
        }
    }

    /// Records that `entry` was downloaded at `at` by `address` with `agent`, unless that is a
    /// repeat within the coalescing window. Never waits for the database and never fails:
    /// what cannot be queued is counted and logged.
    pub fn record(&self, entry: &EntryId, at: Timestamp, address: &str, agent: &str) {
        let address = truncate(address, self.address_bytes);
        let agent = truncate(agent, self.agent_bytes);
        let mut s = lock(&self.state);
        if !self.window.is_zero() {
            let key = s.recent.hasher.hash_one((entry.as_str(), address, agent));
            let window = self.window.as_secs() as i64;
            if s.recent.is_repeat(key, at, window, self.coalesce_keys) {
                return;
            }
        }
        if s.queue.len() >= self.queue_max {
            s.dropped += 1;
            self.log_losses(&mut s);
            return;
        }
        s.queue.push_back((
            entry.clone(),
            DownloadRecord {
                time: at,
                client_ip: address.to_owned(),
                user_agent: agent.to_owned(),
            },
        ));
        self.ready.notify_one();
    }

    /// Writes every queued row (one transaction per queueful) and returns how many were
    /// written. The writer thread's work, and the last thing shutdown does with history.
    pub fn write_pending(&self, store: &Store) -> u64 {
        let mut written = 0;
        loop {
            let batch: Vec<(EntryId, DownloadRecord)> = lock(&self.state).queue.drain(..).collect();
            if batch.is_empty() {
                return written;
            }
            match store.insert_downloads(&batch) {
                Ok(n) => written += n,
                Err(e) => {
                    let mut s = lock(&self.state);
                    s.failed += batch.len() as u64;
                    s.last_error = Some(e.to_string());
                    self.log_losses(&mut s);
                }
            }
        }
    }

    /// Trims the table to its caps; true if rows were removed.
    fn trim(&self, store: &Store) -> bool {
        match store.trim_history(self.rows_per_file, self.rows_total) {
            Ok(0) => false,
            Ok(n) => {
                println!("picoshare: download history: removed {n} old row(s) over the caps");
                true
            }
            Err(e) => {
                let mut s = lock(&self.state);
                s.last_error = Some(format!("trimming: {e}"));
                self.log_losses(&mut s);
                false
            }
        }
    }

    /// Starts the writer thread: it trims the table at once (a database from elsewhere may
    /// be over the caps), then writes queued rows as they come and trims again every
    /// `trim_every` rows. After a trim the collector is woken to give the space back.
    pub fn spawn(
        self: &Arc<Self>,
        store: Arc<Store>,
        gc: Arc<crate::gc::Wake>,
    ) -> std::io::Result<()> {
        let history = Arc::clone(self);
        std::thread::Builder::new()
            .name("history".into())
            .spawn(move || {
                let mut since_trim = u64::MAX;
                loop {
                    if since_trim >= history.trim_every {
                        if history.trim(&store) {
                            gc.notify();
                        }
                        // The trim's pages (it counts every row) need not stay cached.
                        store.release_memory();
                        since_trim = 0;
                    }
                    history.wait_for_rows();
                    since_trim = since_trim.saturating_add(history.write_pending(&store));
                }
            })?;
        Ok(())
    }

    fn wait_for_rows(&self) {
        let s = lock(&self.state);
        let _s = self
            .ready
            .wait_while(s, |s| s.queue.is_empty())
            .unwrap_or_else(|e| e.into_inner());
    }

    /// Logs the rows lost so far, at most once per `log_interval`.
    fn log_losses(&self, s: &mut State) {
        let now = Instant::now();
        if s.last_log
            .is_some_and(|t| now.saturating_duration_since(t) < self.log_interval)
        {
            return;
        }
        let error = s
            .last_error
            .take()
            .map_or_else(String::new, |e| format!("; last error: {e}"));
        eprintln!(
            "picoshare: download history: {} download(s) not recorded ({} dropped while {} \
             waited, {} failed to write){error}; the downloads themselves were served. Next \
             report in {} s at the earliest.",
            s.dropped + s.failed,
            s.dropped,
            self.queue_max,
            s.failed,
            self.log_interval.as_secs()
        );
        s.dropped = 0;
        s.failed = 0;
        s.last_log = Some(now);
    }

    /// Rows waiting to be written.
    #[cfg(test)]
    fn queued(&self) -> usize {
        lock(&self.state).queue.len()
    }
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The (file, address, agent) downloads recorded recently, by hash, oldest first.
#[derive(Default)]
struct Recent {
    hasher: RandomState,
    /// Each key's last recorded time.
    seen: HashMap<u64, Timestamp>,
    /// Keys in the order they were recorded (a key recorded twice appears twice).
    order: VecDeque<(u64, Timestamp)>,
}

impl Recent {
    /// Whether `key` at `at` repeats a download recorded less than `window` seconds earlier;
    /// if not, it is remembered as recorded now. At most `cap` are remembered: past that the
    /// oldest are forgotten (a repeat of one is then recorded again).
    fn is_repeat(&mut self, key: u64, at: Timestamp, window: i64, cap: usize) -> bool {
        while let Some(&(k, t)) = self.order.front() {
            let expired = t.unix().saturating_add(window) <= at.unix();
            if !expired && self.order.len() < cap {
                break;
            }
            self.order.pop_front();
            if self.seen.get(&k) == Some(&t) {
                self.seen.remove(&k);
            }
        }
        if let Some(t) = self.seen.get(&key) {
            if at.unix() < t.unix().saturating_add(window) {
                return true;
            }
        }
        self.seen.insert(key, at);
        self.order.push_back((key, at));
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{insert_file, temp_store};

    fn history(window: u64, keys: usize, queue: usize) -> History {
        let mut c = Config::defaults("unused.db".into(), String::new());
        c.history_coalesce_window = Duration::from_secs(window);
        c.history_coalesce_keys = keys;
        c.history_queue = queue;
        History::new(&c)
    }

    #[test]
    fn repeats_within_the_window_count_once_and_fields_are_cut_to_size() {
        let t = temp_store(5);
        let now = Timestamp::from_unix(1_800_000_000);
        let id = insert_file(&t, "a.txt", b"hello", now);
        let other = insert_file(&t, "b.txt", b"hello", now);
        let h = history(60, 100, 100);
        let big_agent = format!("Mozilla/5.0{}", "é".repeat(4000));
        for i in 0..1000 {
            h.record(&id, now.plus_secs(i % 60), "10.0.0.1", &big_agent);
        }
        assert_eq!(h.queued(), 1, "a thousand repeats within a minute: one row");
        h.record(&id, now.plus_secs(60), "10.0.0.1", &big_agent);
        h.record(&id, now, "10.0.0.2", &big_agent);
        h.record(&id, now, "10.0.0.1", "curl/8.5.0");
        h.record(&other, now, "10.0.0.1", &big_agent);
        h.record(&id, now, &"9".repeat(500), "");
        assert_eq!(h.queued(), 6, "a new window, address, agent or file counts");
        assert_eq!(h.write_pending(&t.store), 6);
        assert_eq!(h.queued(), 0);
        let rows = t.store.download_page(&id, false, 0, 100).unwrap();
        assert_eq!(rows.len(), 5);
        assert!(rows.iter().all(|r| r.user_agent.len() <= 256));
        assert!(rows.iter().all(|r| r.client_ip.len() <= 64));
        let cut = rows
            .iter()
            .find(|r| r.user_agent.starts_with("Mozilla"))
            .unwrap();
        assert_eq!(cut.user_agent.len(), 255, "cut at a character boundary");
        assert!(big_agent.starts_with(&cut.user_agent));
    }

    #[test]
    fn a_zero_window_records_every_transfer() {
        let t = temp_store(5);
        let now = Timestamp::from_unix(1_800_000_000);
        let id = insert_file(&t, "a.txt", b"hello", now);
        let h = history(0, 100, 100);
        for _ in 0..5 {
            h.record(&id, now, "10.0.0.1", "curl");
        }
        assert_eq!(h.write_pending(&t.store), 5);
    }

    #[test]
    fn memory_is_bounded_under_a_flood_of_distinct_downloads() {
        let t = temp_store(5);
        let now = Timestamp::from_unix(1_800_000_000);
        let id = insert_file(&t, "a.txt", b"hello", now);
        let h = history(60, 50, 30);
        for i in 0..10_000 {
            h.record(&id, now, &format!("10.0.{}.{}", i / 250, i % 250), "x");
        }
        {
            let s = lock(&h.state);
            assert!(s.recent.order.len() <= 50 && s.recent.seen.len() <= 50);
            assert_eq!(s.queue.len(), 30, "the queue holds at most its bound");
            // The first drop was logged (and the count reset); the rest wait for the next line.
            assert_eq!(s.dropped, 10_000 - 30 - 1);
            assert!(s.last_log.is_some());
        }
        assert_eq!(h.write_pending(&t.store), 30);
        // A forgotten key is recorded again: the row caps still bound what that costs.
        h.record(&id, now, "10.0.0.0", "x");
        assert_eq!(h.queued(), 1);
    }

    #[test]
    fn rows_of_a_file_deleted_meanwhile_are_skipped_and_failures_do_not_stop_the_queue() {
        let t = temp_store(5);
        let now = Timestamp::from_unix(1_800_000_000);
        let gone = insert_file(&t, "gone.txt", b"hello", now);
        let kept = insert_file(&t, "kept.txt", b"hello", now);
        let h = history(60, 100, 100);
        h.record(&gone, now, "10.0.0.1", "x");
        h.record(&kept, now, "10.0.0.1", "x");
        t.store.delete_entry(&gone).unwrap();
        assert_eq!(h.write_pending(&t.store), 1);
        assert_eq!(t.store.download_count(&kept).unwrap(), 1);
        assert_eq!(t.store.download_count(&gone).unwrap(), 0);
    }
}
