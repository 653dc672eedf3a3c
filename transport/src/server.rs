//! Owns the listening socket, the accept loop, the bounded table of open connections (a cap
//! in all and per client address, eviction of waiting ones — idle keep-alive first — and fast
//! `503`s), the request hand-off to the application, and graceful stop.

use std::error::Error;
use std::io::{self, Write};
use std::net::ToSocketAddrs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread;
use std::time::{Duration, Instant};

use crate::connection;
use crate::limits::{limits, Limits};
use crate::pace::Cuts;
use crate::request::Request;

const BUSY_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 24\r\nRetry-After: 1\r\nServer: picoshare\r\nConnection: close\r\n\r\n503 Service Unavailable\n";

/// The address a server listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenAddr {
    /// A TCP address.
    IP(SocketAddr),
}

impl ListenAddr {
    /// The TCP address (always `Some` for this transport).
    pub fn to_ip(self) -> Option<SocketAddr> {
        match self {
            ListenAddr::IP(addr) => Some(addr),
        }
    }
}

/// Counters describing a server, for tests and monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Connections open now.
    pub open_connections: usize,
    /// Connections accepted since start.
    pub accepted: u64,
    /// `accept` failures that caused a back-off (for example `EMFILE`).
    pub accept_errors: u64,
    /// Connections refused with a fast `503` because every slot was serving a request.
    pub rejected_busy: u64,
    /// Waiting connections (idle or slow head) closed to make room for a new one.
    pub evicted: u64,
    /// Connections refused with a fast `503` because their address had
    /// `max_connections_per_ip` open, none of them waiting.
    pub rejected_per_ip: u64,
    /// Request bodies cut for arriving below the minimum rate, stalling, or (small bodies)
    /// missing their deadline.
    pub slow_bodies: u64,
    /// Responses cut because the client read them below the minimum rate or stopped reading.
    pub slow_readers: u64,
}

/// What a connection is doing, for eviction and graceful stop. Ordered: under pressure the
/// first phases are evicted first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    /// Kept alive between requests, nothing of the next one received yet.
    Idle,
    /// Receiving a request head or a small body, or draining an unread body.
    Receiving,
    /// The connection thread writes a buffered response to the client.
    Sending,
    /// The application holds the request: never evicted.
    Serving,
}

impl Phase {
    /// Whether a graceful stop closes the connection at once.
    fn closes_on_stop(self) -> bool {
        matches!(self, Phase::Idle | Phase::Receiving)
    }
}

#[derive(Debug)]
struct Slot {
    id: u64,
    ip: IpAddr,
    stream: Arc<TcpStream>,
    phase: Phase,
    since: Instant,
    evicted: bool,
}

#[derive(Debug, Default)]
struct Table {
    next_id: u64,
    slots: Vec<Slot>,
}

/// State shared by the accept thread, connection threads, requests and the `Server`.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) limits: Limits,
    stopping: AtomicBool,
    table: Mutex<Table>,
    changed: Condvar,
    wake_addr: SocketAddr,
    accepted: AtomicU64,
    accept_errors: AtomicU64,
    rejected_busy: AtomicU64,
    rejected_per_ip: AtomicU64,
    evicted: AtomicU64,
    pub(crate) cuts: Arc<Cuts>,
    linger: Mutex<Option<SyncSender<Arc<TcpStream>>>>,
}

/// Why a new connection was not admitted.
enum Refusal {
    /// Every slot is serving a request (or the server is stopping).
    Busy,
    /// Its address has `max_connections_per_ip` connections, none of them evictable.
    AddressFull,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Reserves a slot for a new connection from `ip`. When `ip` is at its per-address cap,
    /// one of its own waiting connections is evicted; when the table is full, a waiting
    /// connection is (idle keep-alive first, then those of the address with the most
    /// connections, then the longest waiting).
    fn try_admit(&self, stream: &Arc<TcpStream>, ip: IpAddr) -> Result<u64, Refusal> {
        let limits = &self.limits;
        let mut table = self.lock();
        if self.is_stopping() {
            return Err(Refusal::Busy);
        }
        let from_ip = |t: &Table| t.slots.iter().filter(|s| s.ip == ip && !s.evicted).count();
        if from_ip(&table) >= limits.max_connections_per_ip {
            if !self.evict_one(&mut table, Some(ip)) {
                return Err(Refusal::AddressFull);
            }
            table = self.wait_for_room(table, |t| from_ip(t) < limits.max_connections_per_ip)?;
        }
        if table.slots.len() >= limits.max_connections {
            if !self.evict_one(&mut table, None) {
                return Err(Refusal::Busy);
            }
            table = self.wait_for_room(table, |t| t.slots.len() < limits.max_connections)?;
        }
        let id = table.next_id;
        table.next_id += 1;
        table.slots.push(Slot {
            id,
            ip,
            stream: Arc::clone(stream),
            phase: Phase::Receiving,
            since: Instant::now(),
            evicted: false,
        });
        Ok(id)
    }

    /// Closes the best eviction candidate (among `only`'s connections if given): a waiting
    /// connection past the grace period, idle ones first, then those of the address holding
    /// the most connections, then the longest waiting. False if there is none.
    fn evict_one(&self, table: &mut Table, only: Option<IpAddr>) -> bool {
        let now = Instant::now();
        let held = |ip: IpAddr, t: &Table| t.slots.iter().filter(|s| s.ip == ip).count();
        let victim = table
            .slots
            .iter()
            .filter(|s| !s.evicted && s.phase != Phase::Serving)
            .filter(|s| only.map_or(true, |ip| s.ip == ip))
            .filter(|s| now.duration_since(s.since) >= self.limits.eviction_grace)
            .min_by_key(|s| (s.phase, std::cmp::Reverse(held(s.ip, table)), s.since))
            .map(|s| s.id);
        let Some(victim) = victim else {
            return false;
        };
        if let Some(slot) = table.slots.iter_mut().find(|s| s.id == victim) {
            slot.evicted = true;
            let _ = slot.stream.shutdown(Shutdown::Both);
            self.evicted.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    /// Waits (briefly) until an evicted connection's thread has left and `room` holds.
    fn wait_for_room<'a>(
        &self,
        mut table: MutexGuard<'a, Table>,
        room: impl Fn(&Table) -> bool,
    ) -> Result<MutexGuard<'a, Table>, Refusal> {
        let deadline = Instant::now() + Duration::from_millis(250);
        while !room(&table) {
            let now = Instant::now();
            if now >= deadline {
                return Err(Refusal::Busy);
            }
            table = self
                .changed
                .wait_timeout(table, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        Ok(table)
    }

    /// Records what the connection does now (see [`Phase`]). Returns false when it should
    /// close instead: it was evicted, or the server is stopping and the phase is one a
    /// graceful stop closes.
    pub(crate) fn enter(&self, id: u64, phase: Phase) -> bool {
        let mut table = self.lock();
        let closing = self.is_stopping() && phase.closes_on_stop();
        match table.slots.iter_mut().find(|s| s.id == id) {
            Some(slot) if !slot.evicted && !closing => {
                slot.phase = phase;
                slot.since = Instant::now();
                true
            }
            _ => false,
        }
    }

    /// Frees the connection's slot.
    pub(crate) fn leave(&self, id: u64) {
        let mut table = self.lock();
        table.slots.retain(|s| s.id != id);
        drop(table);
        self.changed.notify_all();
    }

    /// Hands a closing socket to the linger thread, which discards input for a moment so the
    /// client reads our last response instead of a reset. Drops it at once if that is busy.
    pub(crate) fn linger(&self, stream: Arc<TcpStream>) {
        let slot = self.linger.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = slot.as_ref() {
            let _ = tx.try_send(stream);
        }
    }

    /// Stops accepting and closes every waiting connection. Active ones finish their current
    /// response with `Connection: close`.
    fn begin_stop(&self) {
        {
            let table = self.lock();
            self.stopping.store(true, Ordering::SeqCst);
            for slot in table.slots.iter().filter(|s| s.phase.closes_on_stop()) {
                let _ = slot.stream.shutdown(Shutdown::Both);
            }
        }
        // Wake the accept thread, blocked in accept(), so it sees the flag and exits.
        let _ = TcpStream::connect_timeout(&self.wake_addr, Duration::from_millis(200));
    }

    /// Waits until no connection is open or `deadline` passes; then closes what remains.
    fn finish_stop(&self, deadline: Instant) -> bool {
        let mut table = self.lock();
        while !table.slots.is_empty() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            table = self
                .changed
                .wait_timeout(table, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        if table.slots.is_empty() {
            return true;
        }
        for slot in &table.slots {
            let _ = slot.stream.shutdown(Shutdown::Both);
        }
        false
    }

    fn stats(&self) -> Stats {
        Stats {
            open_connections: self.lock().slots.len(),
            accepted: self.accepted.load(Ordering::Relaxed),
            accept_errors: self.accept_errors.load(Ordering::Relaxed),
            rejected_busy: self.rejected_busy.load(Ordering::Relaxed),
            evicted: self.evicted.load(Ordering::Relaxed),
            rejected_per_ip: self.rejected_per_ip.load(Ordering::Relaxed),
            slow_bodies: self.cuts.slow_bodies.load(Ordering::Relaxed),
            slow_readers: self.cuts.slow_readers.load(Ordering::Relaxed),
        }
    }
}

static SERVERS: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

/// `now + timeout`, saturating at one day for absurd timeouts.
fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(86_400))
}

/// Gracefully stops every server in the process: stops accepting (the listening socket is
/// closed), closes idle keep-alive connections and connections still waiting for a request
/// head, lets requests in progress finish (their responses carry `Connection: close`), and
/// waits up to `timeout` for them. Connections still open then are closed. Returns true when
/// everything finished in time.
///
/// After it returns, `Server::incoming_requests` ends once the last connection is gone, so
/// `rouille::Server::run` returns. Typical use from an application holding a
/// `rouille::Server`: run `server.run()` on the main thread and, from the thread that
/// observes SIGTERM, call `tiny_http::shutdown(Duration::from_secs(10))`; then let `main`
/// return.
pub fn shutdown(timeout: Duration) -> bool {
    let deadline = deadline_after(timeout);
    let servers: Vec<Arc<Shared>> = {
        let mut list = SERVERS.lock().unwrap_or_else(|p| p.into_inner());
        list.retain(|w| w.strong_count() > 0);
        list.iter().filter_map(Weak::upgrade).collect()
    };
    for s in &servers {
        s.begin_stop();
    }
    let mut all = true;
    for s in &servers {
        all &= s.finish_stop(deadline);
    }
    all
}

/// An HTTP/1.1 server. Requests arrive through [`Server::recv`] and friends; see the crate
/// documentation for the guarantees.
pub struct Server {
    shared: Arc<Shared>,
    rx: Mutex<Receiver<Request>>,
    local_addr: SocketAddr,
}

/// Iterator over requests; ends when the server has stopped and its last connection closed.
pub struct IncomingRequests<'a> {
    server: &'a Server,
}

impl Iterator for IncomingRequests<'_> {
    type Item = Request;
    fn next(&mut self) -> Option<Request> {
        self.server.recv().ok()
    }
}

impl Server {
    /// Listens on `addr` with the process-wide limits (see [`crate::set_limits`]).
    pub fn http<A: ToSocketAddrs>(
        addr: A,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        Server::with_limits(addr, limits())
    }

    /// Listens on `addr` with these limits.
    pub fn with_limits<A: ToSocketAddrs>(
        addr: A,
        limits: Limits,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        let limits = limits.sanitized();
        let listener = TcpListener::bind(addr)?;
        let local_addr = listener.local_addr()?;
        let wake_ip = match local_addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let (tx, rx) = mpsc::sync_channel(limits.max_connections);
        let (linger_tx, linger_rx) = mpsc::sync_channel(16);
        let shared = Arc::new(Shared {
            stopping: AtomicBool::new(false),
            table: Mutex::new(Table::default()),
            changed: Condvar::new(),
            wake_addr: SocketAddr::new(wake_ip, local_addr.port()),
            accepted: AtomicU64::new(0),
            accept_errors: AtomicU64::new(0),
            rejected_busy: AtomicU64::new(0),
            rejected_per_ip: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            cuts: Arc::default(),
            linger: Mutex::new(Some(linger_tx)),
            limits,
        });
        let linger_limits = shared.limits.clone();
        thread::Builder::new()
            .name("http-linger".into())
            .stack_size(64 * 1024)
            .spawn(move || linger_loop(linger_rx, &linger_limits))?;
        let accept_shared = Arc::clone(&shared);
        thread::Builder::new()
            .name("http-accept".into())
            .stack_size(128 * 1024)
            .spawn(move || accept_loop(listener, accept_shared, tx))?;
        {
            let mut list = SERVERS.lock().unwrap_or_else(|p| p.into_inner());
            list.retain(|w| w.strong_count() > 0);
            list.push(Arc::downgrade(&shared));
        }
        Ok(Server {
            shared,
            rx: Mutex::new(rx),
            local_addr,
        })
    }

    /// The listening address.
    pub fn server_addr(&self) -> ListenAddr {
        ListenAddr::IP(self.local_addr)
    }

    /// Connections open now.
    pub fn num_connections(&self) -> usize {
        self.shared.stats().open_connections
    }

    /// Counters for tests and monitoring.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// The limits this server runs with.
    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// Blocking iterator over incoming requests.
    pub fn incoming_requests(&self) -> IncomingRequests<'_> {
        IncomingRequests { server: self }
    }

    fn rx(&self) -> MutexGuard<'_, Receiver<Request>> {
        self.rx.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for the next request. Fails once the server has stopped and every connection
    /// has closed.
    pub fn recv(&self) -> io::Result<Request> {
        self.rx()
            .recv()
            .map_err(|_| io::Error::new(io::ErrorKind::NotConnected, "server stopped"))
    }

    /// Waits up to `timeout` for a request. After the server has stopped this sleeps for
    /// `timeout` and returns `Ok(None)`, so polling loops do not spin.
    pub fn recv_timeout(&self, timeout: Duration) -> io::Result<Option<Request>> {
        let rx = self.rx();
        match rx.recv_timeout(timeout) {
            Ok(rq) => Ok(Some(rq)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => {
                drop(rx);
                thread::sleep(timeout);
                Ok(None)
            }
        }
    }

    /// Returns a waiting request, if any.
    pub fn try_recv(&self) -> io::Result<Option<Request>> {
        match self.rx().try_recv() {
            Ok(rq) => Ok(Some(rq)),
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => Ok(None),
        }
    }

    /// Graceful stop of this server only; see [`crate::shutdown`] for the semantics.
    pub fn shutdown(&self, timeout: Duration) -> bool {
        self.shared.begin_stop();
        self.shared.finish_stop(deadline_after(timeout))
    }

    /// Stops accepting new connections and closes waiting ones, without waiting.
    pub fn unblock(&self) {
        self.shared.begin_stop();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.begin_stop();
        let mut slot = self.shared.linger.lock().unwrap_or_else(|p| p.into_inner());
        *slot = None;
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, tx: SyncSender<Request>) {
    loop {
        if shared.is_stopping() {
            return;
        }
        match listener.accept() {
            Ok((stream, peer)) => {
                if shared.is_stopping() {
                    return;
                }
                shared.accepted.fetch_add(1, Ordering::Relaxed);
                admit(&shared, stream, peer, &tx);
            }
            Err(e) => match e.kind() {
                // Problems of one connection: accept the next one at once.
                io::ErrorKind::Interrupted
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::WouldBlock => {}
                // EMFILE, ENFILE, ENOBUFS, ENOMEM and anything unknown: back off and retry.
                _ => {
                    shared.accept_errors.fetch_add(1, Ordering::Relaxed);
                    thread::sleep(shared.limits.accept_backoff);
                }
            },
        }
    }
}

fn admit(shared: &Arc<Shared>, stream: TcpStream, peer: SocketAddr, tx: &SyncSender<Request>) {
    let stream = Arc::new(stream);
    let id = match shared.try_admit(&stream, peer.ip().to_canonical()) {
        Ok(id) => id,
        Err(refusal) => {
            if let Refusal::AddressFull = refusal {
                shared.rejected_per_ip.fetch_add(1, Ordering::Relaxed);
            }
            reject_busy(shared, &stream);
            return;
        }
    };
    let conn_shared = Arc::clone(shared);
    let conn_stream = Arc::clone(&stream);
    let conn_tx = tx.clone();
    let spawned = thread::Builder::new()
        .name("http-conn".into())
        .stack_size(shared.limits.thread_stack_size)
        .spawn(move || connection::serve(conn_shared, id, conn_stream, peer, conn_tx));
    if spawned.is_err() {
        shared.leave(id);
        reject_busy(shared, &stream);
    }
}

/// Answers `503` without blocking the accept thread and hands the socket to the linger thread.
fn reject_busy(shared: &Shared, stream: &Arc<TcpStream>) {
    shared.rejected_busy.fetch_add(1, Ordering::Relaxed);
    if stream.set_nonblocking(true).is_ok() {
        let _ = (&**stream).write_all(BUSY_RESPONSE);
    }
    let _ = stream.shutdown(Shutdown::Write);
    if stream.set_nonblocking(false).is_ok() {
        shared.linger(Arc::clone(stream));
    }
}

/// Discards input on closing sockets for up to `linger_timeout` each, one at a time.
fn linger_loop(rx: Receiver<Arc<TcpStream>>, limits: &Limits) {
    while let Ok(stream) = rx.recv() {
        connection::discard_input(&stream, limits.linger_timeout, limits.drain_cap);
    }
}
