//! Owns reading one request body from the connection: Content-Length or chunked framing,
//! the lazy `100 Continue`, stall timeouts, and draining an unread remainder in bounded memory.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use crate::chunked::ChunkedDecoder;
use crate::conn_io::{is_timeout, ConnIo};
use crate::head::Framing;

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
        stall: Duration,
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
            stall,
        }
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
    /// cut short fails with `UnexpectedEof`; a stall fails with `TimedOut`.
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let stall = self.stall;
        self.read_timed(out, stall)
    }
}
