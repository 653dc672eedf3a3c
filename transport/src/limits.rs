//! Owns the transport's tunable bounds (`Limits`) and the process-wide setting read by `Server::http`.

use std::sync::Mutex;
use std::time::Duration;

/// Every bound the transport enforces. Each field is a named, independent setting.
///
/// The defaults fit a 256 MB VM: at most 64 connections, each holding one thread (256 KiB of
/// reserved stack, a few KiB touched) and one read buffer of `max_head_bytes`, so the transport's
/// own worst case is about 64 × 40 KiB ≈ 2.5 MiB of resident memory, plus one write buffer
/// (at most `write_buffer`, 64 KiB by default) per response being written, plus at most one
/// small request body (`small_body_max`) and one buffered response (`buffered_response_max`)
/// per connection: 64 × 128 KiB = 8 MiB in the very worst case.
///
/// The application's threads are defended as well as the connection threads: small request
/// bodies are read before the request is handed over, small responses are written by the
/// connection thread, and every other body read or response write must keep up `min_rate`
/// (see [`Limits::min_rate`]), so a slow or stalled client holds an application thread for at
/// most about `rate_window`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most connections open at once. Each open connection is served by one thread, so this also
    /// bounds the transport's threads (plus one accept thread). When every slot is taken, the
    /// connection that has waited longest (at least `eviction_grace`) for a request head (idle
    /// keep-alive or a slow client) is closed to make room; if there is none, the newcomer gets
    /// a fast `503`.
    pub max_connections: usize,
    /// Most connections open at once from one client address (the socket peer's IP), so one
    /// address cannot take every slot. A newcomer from an address at its cap closes that
    /// address's own longest-waiting connection, or gets a fast `503` if it has none. Behind a
    /// reverse proxy every connection comes from the proxy: set this to `max_connections`.
    pub max_connections_per_ip: usize,
    /// How long a connection must have waited for a request head before a newcomer may evict
    /// it, so a burst of new connections cannot push out clients that are about to send their
    /// request. A flood from one address that renews its connections faster than this keeps
    /// every slot it holds too young to evict: `max_connections_per_ip` is what stops it
    /// taking every slot.
    pub eviction_grace: Duration,
    /// Stack reserved for each connection thread. The transport itself needs well under 64 KiB.
    pub thread_stack_size: usize,
    /// Time allowed to receive a whole request head, counted from the first byte (or from accept
    /// for a new connection). On expiry the client gets `408` and the connection is closed.
    pub head_read_timeout: Duration,
    /// Time a keep-alive connection may sit idle between requests before it is closed silently.
    pub keepalive_idle_timeout: Duration,
    /// Longest wait for any single read of a request body. On expiry the body reader returns
    /// an `io::ErrorKind::TimedOut` error and the connection is closed after the response.
    pub body_read_stall_timeout: Duration,
    /// Longest wait for any single write to the client (`SO_SNDTIMEO`). On expiry the write
    /// fails and the connection is closed.
    pub write_stall_timeout: Duration,
    /// Minimum transfer rate in bytes per second, for request bodies read by the application
    /// and for responses the client reads, averaged over `rate_window`: a transfer starts with
    /// `rate_window` of credit, spends it while waiting on the client, and earns one second of
    /// it per `min_rate` bytes moved (never more than `rate_window`). When the credit runs out
    /// the read or write fails with `TimedOut` and the connection is closed. Time the
    /// application spends between reads or writes is not counted against the client. 0 turns
    /// the rule off (the stall timeouts still apply).
    pub min_rate: u64,
    /// The window `min_rate` is averaged over: the longest a completely stalled client can hold
    /// a transfer, and how long a slow one may fall behind before it is cut.
    pub rate_window: Duration,
    /// Request bodies of known length up to this many bytes (logins, forms, JSON) are read
    /// completely by the connection thread before the request is handed to the application,
    /// so a client trickling a small body holds no application thread. A body cut short or
    /// late is handed over as received, and its reader then fails as it would have.
    pub small_body_max: u64,
    /// Time allowed to receive a small body (see `small_body_max`), counted from the end of
    /// the head and extended by one second per `min_rate` bytes of declared length.
    pub small_body_timeout: Duration,
    /// Responses of known length up to this many bytes (pages, assets, errors, JSON, `HEAD`)
    /// are rendered into memory by the application thread, which is then free, and written by
    /// the connection thread under the same minimum rate; larger ones are written by the
    /// application thread.
    pub buffered_response_max: usize,
    /// Longest request line (method, target, version) in bytes; beyond it the client gets `414`.
    pub max_request_line: usize,
    /// Longest header line in bytes; beyond it the client gets `431`.
    pub max_header_line: usize,
    /// Most header lines in one request head; beyond it the client gets `431`.
    pub max_headers: usize,
    /// Largest request head (request line, headers and the blank line) in bytes; beyond it the
    /// client gets `431`. This is also the size of each connection's read buffer.
    pub max_head_bytes: usize,
    /// Most bytes of an unread request body that are read and discarded after the response so
    /// the connection can be reused. A larger remainder closes the connection instead.
    pub drain_cap: u64,
    /// Largest buffer a response is written from: the head and the first body bytes go out in
    /// one write, then the body in reads of up to this size, each sent as it is read. A
    /// response smaller than this gets a buffer its own size. Larger means fewer system calls
    /// and, for a body reader that can fill the caller's buffer directly, no extra copy.
    pub write_buffer: usize,
    /// Longest time spent draining an unread request body; past it the connection is closed.
    pub drain_timeout: Duration,
    /// Longest time spent discarding input after the last response before closing a connection
    /// that still has unread input (a "lingering close", so the client reads the response
    /// instead of a reset).
    pub linger_timeout: Duration,
    /// Pause after an `accept` error that is not about a single connection, such as running out
    /// of file descriptors (`EMFILE`/`ENFILE`), before accepting again.
    pub accept_backoff: Duration,
    /// Default bound used by [`crate::shutdown`] callers that have no better value: how long a
    /// graceful stop waits for in-flight responses before closing their sockets.
    pub graceful_stop_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 64,
            max_connections_per_ip: 16,
            eviction_grace: Duration::from_millis(100),
            thread_stack_size: 256 * 1024,
            head_read_timeout: Duration::from_secs(10),
            keepalive_idle_timeout: Duration::from_secs(30),
            body_read_stall_timeout: Duration::from_secs(60),
            write_stall_timeout: Duration::from_secs(60),
            min_rate: 1024,
            rate_window: Duration::from_secs(30),
            small_body_max: 64 * 1024,
            small_body_timeout: Duration::from_secs(5),
            buffered_response_max: 64 * 1024,
            max_request_line: 8 * 1024,
            max_header_line: 8 * 1024,
            max_headers: 100,
            max_head_bytes: 32 * 1024,
            drain_cap: 1024 * 1024,
            write_buffer: 64 * 1024,
            drain_timeout: Duration::from_secs(10),
            linger_timeout: Duration::from_secs(2),
            accept_backoff: Duration::from_millis(100),
            graceful_stop_timeout: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// Returns a copy with every field clamped to a usable minimum, so no setting can make the
    /// server unusable (for example zero connections or a zero timeout, which std rejects).
    pub(crate) fn sanitized(&self) -> Limits {
        // Bounded above too, so `Instant + Duration` can never overflow.
        let day = Duration::from_secs(86_400);
        let at_least = |d: Duration, min: Duration| d.clamp(min, day);
        let ms = Duration::from_millis;
        Limits {
            max_connections: self.max_connections.max(1),
            max_connections_per_ip: self.max_connections_per_ip.max(1),
            eviction_grace: self.eviction_grace.min(day),
            thread_stack_size: self.thread_stack_size.max(64 * 1024),
            head_read_timeout: at_least(self.head_read_timeout, ms(10)),
            keepalive_idle_timeout: at_least(self.keepalive_idle_timeout, ms(10)),
            body_read_stall_timeout: at_least(self.body_read_stall_timeout, ms(10)),
            write_stall_timeout: at_least(self.write_stall_timeout, ms(10)),
            min_rate: self.min_rate,
            rate_window: at_least(self.rate_window, ms(10)),
            small_body_max: self.small_body_max.min(16 * 1024 * 1024),
            small_body_timeout: at_least(self.small_body_timeout, ms(10)),
            buffered_response_max: self.buffered_response_max.min(16 * 1024 * 1024),
            max_request_line: self.max_request_line.max(64),
            max_header_line: self.max_header_line.max(64),
            max_headers: self.max_headers.max(1),
            max_head_bytes: self.max_head_bytes.clamp(1024, 1024 * 1024),
            drain_cap: self.drain_cap,
            write_buffer: self.write_buffer.clamp(4 * 1024, 64 * 1024 * 1024),
            drain_timeout: at_least(self.drain_timeout, ms(10)),
            linger_timeout: at_least(self.linger_timeout, ms(10)),
            accept_backoff: at_least(self.accept_backoff, ms(1)),
            graceful_stop_timeout: self.graceful_stop_timeout.min(day),
        }
    }
}

static PROCESS_LIMITS: Mutex<Option<Limits>> = Mutex::new(None);

/// Sets the limits used by every `Server::http` call made afterwards (rouille gives no other
/// hook). Call it once at startup, before building the `rouille::Server`. A later call replaces
/// the value for servers created after it; servers already running keep the limits they started
/// with.
pub fn set_limits(limits: Limits) {
    let mut slot = PROCESS_LIMITS.lock().unwrap_or_else(|p| p.into_inner());
    *slot = Some(limits);
}

/// Returns the limits `Server::http` would use now: the last value given to [`set_limits`], or
/// `Limits::default()`.
pub fn limits() -> Limits {
    let slot = PROCESS_LIMITS.lock().unwrap_or_else(|p| p.into_inner());
    slot.clone().unwrap_or_default()
}
