//! Owns reading one request body from the connection: Content-Length or chunked framing,
//! the lazy `100 Continue`, stall timeouts and the minimum rate, reading a small body whole
//! before the request is handed over, and draining an unread remainder in bounded memory.

use std::io::{self, Read};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::chunked::ChunkedDecoder;
use crate::conn_io::{is_timeout, ConnIo};
use crate::head::Framing;
use crate::limits::Limits;
use crate::pace::{Cuts, Pace};

/// A small body read by the connection thread before the request was handed over.
#[derive(Debug)]
struct Prefetched {
    data: Vec<u8>,
    pos: usize,
    /// Why it is shorter than declared, given to the reader after the bytes.
    error: Option<(io::ErrorKind, &'static str)>,
}

#[derive(Debug)]
enum Kind {
    Empty,
    Length(u64),
    Chunked(ChunkedDecoder),
}

/// The body of one request. Owns the connection's read side while the request is out.
#[derive(Debug)]
pub(crate) struct BodyReader {
    io: ConnIo,
    kind: Kind,
    continue_pending: bool,
    failed: bool,
    stall: Duration,
    pace: Pace,
    prefetched: Option<Prefetched>,
    cuts: Arc<Cuts>,
}

/// What must happen to the connection once the response is out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    /// The body was read completely; the connection may be reused.
    Reusable,
    /// Part of the body is unread; it may be drained.
    Drainable,
    /// The connection must be closed (framing lost, or the client was never told to send).
    Close,
}

impl BodyReader {
    pub(crate) fn new(
        io: ConnIo,
        framing: Framing,
        expect_continue: bool,
        limits: &Limits,
        cuts: Arc<Cuts>,
    ) -> Self {
        let kind = match framing {
            Framing::None => Kind::Empty,
            Framing::Length(n) => Kind::Length(n),
            Framing::Chunked => Kind::Chunked(ChunkedDecoder::new()),
        };
        BodyReader {
            io,
            kind,
            continue_pending: expect_continue,
            failed: false,
            stall: limits.body_read_stall_timeout,
            pace: Pace::for_body(limits),
            prefetched: None,
            cuts,
        }
    }

    /// Whether this is a small body (see `Limits::small_body_max`) that the connection thread
    /// should read whole with [`BodyReader::prefetch`] before handing the request over.
    pub(crate) fn is_small(&self, limits: &Limits) -> bool {
        matches!(self.kind, Kind::Length(n) if n > 0 && n <= limits.small_body_max)
    }

    /// The deadline for prefetching a small body: `small_body_timeout` from now, plus one
    /// second per `min_rate` bytes of declared length.
    pub(crate) fn prefetch_deadline(&self, limits: &Limits) -> Instant {
        let declared = match self.kind {
            Kind::Length(n) => n,
            _ => 0,
        };
        let extra = if limits.min_rate == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(declared as f64 / limits.min_rate as f64)
        };
        Instant::now() + limits.small_body_timeout + extra
    }

    /// Reads the whole body (a small one of known length) into memory, until `deadline`.
    /// Sends `100 Continue` first if the client asked for it. A body cut short, stalled or
    /// late is kept as received; the application's reader gets its bytes, then the error it
    /// would have met reading from the socket itself.
    pub(crate) fn prefetch(&mut self, deadline: Instant) {
        let Kind::Length(declared) = self.kind else {
            return;
        };
        let mut data = vec![0u8; usize::try_from(declared).unwrap_or(0)];
        let mut got = 0;
        let mut error = None;
        while got < data.len() {
            let now = Instant::now();
            if now >= deadline {
                self.failed = true;
                Cuts::count(&self.cuts.slow_bodies);
                error = Some((
                    io::ErrorKind::TimedOut,
                    "the request body did not arrive within its deadline",
                ));
                break;
            }
            let wait = (deadline - now).min(self.stall);
            match self.read_timed(&mut data[got..], wait) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let why = if e.kind() == io::ErrorKind::UnexpectedEof {
                        "connection closed before the whole request body arrived"
                    } else if is_timeout(&e) && Instant::now() >= deadline {
                        Cuts::count(&self.cuts.slow_bodies);
                        "the request body did not arrive within its deadline"
                    } else if is_timeout(&e) {
                        Cuts::count(&self.cuts.slow_bodies);
                        "request body stalled longer than the body read timeout"
                    } else {
                        "reading the request body failed"
                    };
                    error = Some((e.kind(), why));
                    break;
                }
            }
        }
        data.truncate(got);
        self.prefetched = Some(Prefetched {
            data,
            pos: 0,
            error,
        });
    }

    /// Gives the connection back once the exchange is over.
    pub(crate) fn into_io(self) -> ConnIo {
        self.io
    }

    pub(crate) fn io(&self) -> &ConnIo {
        &self.io
    }

    fn finished(&self) -> bool {
        match &self.kind {
            Kind::Empty | Kind::Length(0) => true,
            Kind::Length(_) => false,
            Kind::Chunked(d) => d.is_done(),
        }
    }

    /// Decides the connection's fate given `drain_cap`, before the response head is written.
    pub(crate) fn after(&self, drain_cap: u64) -> After {
        if self.failed {
            return After::Close;
        }
        if self.finished() {
            return After::Reusable;
        }
        if self.continue_pending {
            // The client was never invited to send the body; it may or may not send it, so the
            // connection's framing is unknowable.
            return After::Close;
        }
        match self.kind {
            Kind::Length(left) if left > drain_cap => After::Close,
            _ => After::Drainable,
        }
    }

    /// Reads and discards the rest of the body, up to `cap` bytes and until `deadline`, through
    /// one 8 KiB stack buffer. Returns true when the body ended cleanly within those bounds.
    pub(crate) fn drain(&mut self, cap: u64, deadline: Instant) -> bool {
        if self.after(cap) == After::Close {
            return false;
        }
        let mut scratch = [0u8; 8192];
        let mut total: u64 = 0;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let wait = (deadline - now).min(self.stall);
            match self.read_timed(&mut scratch, wait) {
                Ok(0) => return true,
                Ok(n) => {
                    total += n as u64;
                    if total > cap {
                        return false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }

    fn read_timed(&mut self, out: &mut [u8], wait: Duration) -> io::Result<usize> {
        if out.is_empty() || self.finished() {
            return Ok(0);
        }
        if self.failed {
            return Err(io::Error::other(
                "request body unavailable after an earlier error",
            ));
        }
        let result = self.read_framed(out, wait);
        match result {
            Err(e) if is_timeout(&e) => {
                self.failed = true;
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "request body stalled longer than the body read timeout",
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                self.failed = true;
                Err(e)
            }
            ok => ok,
        }
    }

    fn read_framed(&mut self, out: &mut [u8], wait: Duration) -> io::Result<usize> {
        if self.continue_pending {
            self.continue_pending = false;
            self.io.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        self.io.set_read_timeout(Some(wait))?;
        match &mut self.kind {
            Kind::Empty => Ok(0),
            Kind::Length(left) => {
                let want = usize::try_from(*left).unwrap_or(usize::MAX).min(out.len());
                let n = self.io.read(&mut out[..want])?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("connection closed with {left} bytes of the request body missing"),
                    ));
                }
                *left -= n as u64;
                Ok(n)
            }
            Kind::Chunked(decoder) => decoder.read(&mut self.io, out),
        }
    }
}

impl Read for BodyReader {
    /// Reads the body. The first call sends `100 Continue` if the client asked for it. A body
    /// cut short fails with `UnexpectedEof`; a stall, or a client sending below the minimum
    /// rate, fails with `TimedOut`.
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(pre) = &mut self.prefetched {
            let left = &pre.data[pre.pos..];
            if !left.is_empty() {
                let n = left.len().min(out.len());
                out[..n].copy_from_slice(&left[..n]);
                pre.pos += n;
                return Ok(n);
            }
            if let Some((kind, why)) = pre.error {
                return Err(io::Error::new(kind, why));
            }
            self.prefetched = None;
        }
        let started = Instant::now();
        let result = self.read_timed(out, self.pace.allowance());
        match &result {
            Ok(n) => self.pace.record(started.elapsed(), *n),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                self.pace.record(started.elapsed(), 0);
                Cuts::count(&self.cuts.slow_bodies);
                if self.pace.exhausted() {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the request body arrives slower than the minimum rate",
                    ));
                }
            }
            Err(_) => {}
        }
        result
    }
}
