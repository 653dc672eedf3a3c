//! Owns the life of one connection on its own thread: read a head within its deadlines (and a
//! small body, so a slow client never holds an application thread), hand the request to the
//! application, write a buffered response or wait for the application's own, drain or close,
//! repeat.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::body::{After, BodyReader};
use crate::conn_io::{is_timeout, ConnIo};
use crate::head::{parse_head, Head, HeadScanner, Scan};
use crate::limits::Limits;
use crate::pace::PacedWriter;
use crate::request::{Completion, Request};
use crate::response::{write_error, Response};
use crate::server::{Phase, Shared};

/// Frees the connection's slot however the thread ends.
struct SlotGuard<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        self.shared.leave(self.id);
    }
}

enum HeadRead {
    Ready(Head),
    Reject(u16),
    Closed,
}

/// Serves one accepted connection until it closes.
pub(crate) fn serve(
    shared: Arc<Shared>,
    id: u64,
    stream: Arc<TcpStream>,
    peer: SocketAddr,
    tx: SyncSender<Request>,
) {
    let _slot = SlotGuard {
        shared: &shared,
        id,
    };
    let limits = &shared.limits;
    let _ = stream.set_nodelay(true);
    if stream
        .set_write_timeout(Some(limits.write_stall_timeout))
        .is_err()
    {
        return;
    }
    let mut io = ConnIo::new(stream, limits.max_head_bytes + 1);
    let mut first = true;
    loop {
        if !first && !shared.enter(id, Phase::Idle) {
            return;
        }
        let head = match read_head(&mut io, &shared, id, first) {
            HeadRead::Ready(head) => head,
            HeadRead::Closed => return,
            HeadRead::Reject(status) => {
                let _ = write_error(io.stream(), status);
                close_lingering(io.stream(), limits);
                return;
            }
        };
        first = false;
        let mut body = BodyReader::new(
            io,
            head.framing,
            head.expect_continue,
            limits,
            Arc::clone(&shared.cuts),
        );
        if body.is_small(limits) {
            // Still `Receiving`: a slow small body is as evictable as a slow head.
            body.prefetch(body.prefetch_deadline(limits));
        }
        if !shared.enter(id, Phase::Serving) {
            return;
        }
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        let request = Request::new(head, body, Some(peer), done_tx, Arc::clone(&shared));
        let mut refused = false;
        if let Err(TrySendError::Full(rq) | TrySendError::Disconnected(rq)) = tx.try_send(request) {
            // The application is gone or (impossibly, as each connection has at most one
            // request out) its queue is full.
            refused = true;
            let _ = rq.respond(Response::empty(503));
        }
        let (body, reuse, pending) = match done_rx.recv() {
            Ok(Completion::Done {
                body,
                reuse,
                pending,
            }) => (body, reuse && !refused, pending),
            // The socket now belongs to the upgraded stream; it stays open without us.
            Ok(Completion::Upgraded) | Err(_) => return,
        };
        let Some(mut body) = body else {
            return;
        };
        if !pending.is_empty() {
            // A response the application rendered into memory: written here, so a client
            // that does not read holds this thread, not one of the application's.
            let stream = Arc::clone(body.io().stream());
            let written = shared.enter(id, Phase::Sending)
                && PacedWriter::new(&stream, limits, &shared.cuts)
                    .write_all(&pending)
                    .is_ok();
            drop(pending);
            if !written {
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
        }
        let keep = reuse
            && shared.enter(id, Phase::Receiving)
            && match body.after(limits.drain_cap) {
                After::Reusable => true,
                After::Drainable => {
                    body.drain(limits.drain_cap, Instant::now() + limits.drain_timeout)
                }
                After::Close => false,
            };
        if !keep {
            // Linger only when the client may still be sending (an unread body or pipelined
            // bytes); otherwise closing at once keeps a graceful stop fast.
            let unread =
                body.after(limits.drain_cap) != After::Reusable || !body.io().buffered().is_empty();
            if unread {
                close_lingering(body.io().stream(), limits);
            } else {
                let _ = body.io().stream().shutdown(Shutdown::Write);
            }
            return;
        }
        io = body.into_io();
    }
}

/// Reads one request head. A new connection has `head_read_timeout` from now; a kept-alive one
/// first waits up to `keepalive_idle_timeout` for a byte (idle, first in line for eviction),
/// then has `head_read_timeout`.
fn read_head(io: &mut ConnIo, shared: &Shared, id: u64, first: bool) -> HeadRead {
    let limits = &shared.limits;
    if !first && io.buffered().is_empty() {
        if io
            .set_read_timeout(Some(limits.keepalive_idle_timeout))
            .is_err()
        {
            return HeadRead::Closed;
        }
        loop {
            match io.fill_more() {
                Ok(0) => return HeadRead::Closed,
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return HeadRead::Closed,
            }
        }
    }
    if !first && !shared.enter(id, Phase::Receiving) {
        return HeadRead::Closed;
    }
    let deadline = Instant::now() + limits.head_read_timeout;
    let mut scanner = HeadScanner::new(limits);
    loop {
        match scanner.scan(io.buffered()) {
            Scan::Complete {
                start,
                end,
                headers,
            } => {
                let parsed = parse_head(&io.buffered()[start..end], headers);
                io::BufRead::consume(io, end);
                return match parsed {
                    Ok(head) => HeadRead::Ready(head),
                    Err(status) => HeadRead::Reject(status),
                };
            }
            Scan::Reject(status) => return HeadRead::Reject(status),
            Scan::NeedMore => {}
        }
        let now = Instant::now();
        if now >= deadline {
            return if scanner.started(io.buffered()) {
                HeadRead::Reject(408)
            } else {
                HeadRead::Closed
            };
        }
        if io.set_read_timeout(Some(deadline - now)).is_err() {
            return HeadRead::Closed;
        }
        match io.fill_more() {
            Ok(0) => return HeadRead::Closed,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted || is_timeout(&e) => {}
            Err(_) => return HeadRead::Closed,
        }
    }
}

/// Closes our side after the last response, discarding input for a moment so the client
/// reads that response instead of a connection reset.
fn close_lingering(stream: &TcpStream, limits: &Limits) {
    let _ = stream.shutdown(Shutdown::Write);
    discard_input(stream, limits.linger_timeout, limits.drain_cap);
}

/// Reads and drops input until end of stream, an error, `cap` bytes or `timeout`, through one
/// 8 KiB stack buffer.
pub(crate) fn discard_input(stream: &TcpStream, timeout: Duration, cap: u64) {
    let deadline = Instant::now() + timeout;
    let mut scratch = [0u8; 8192];
    let mut total: u64 = 0;
    loop {
        let now = Instant::now();
        if now >= deadline || total > cap {
            return;
        }
        let wait = (deadline - now).max(Duration::from_millis(1));
        if stream.set_read_timeout(Some(wait)).is_err() {
            return;
        }
        match (&*stream).read(&mut scratch) {
            Ok(0) => return,
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}
