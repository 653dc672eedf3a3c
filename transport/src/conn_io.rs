//! Owns a connection's socket handle and its one fixed-size read buffer, shared by head
//! parsing, body reading and pipelining (bytes past one request stay for the next).

use std::io::{self, BufRead, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

/// Whether a socket error is a timeout running out (`SO_RCVTIMEO`/`SO_SNDTIMEO` report it as
/// `WouldBlock` on Unix, `TimedOut` elsewhere).
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The read side of a connection: the socket plus a buffer whose size never changes.
#[derive(Debug)]
pub(crate) struct ConnIo {
    stream: Arc<TcpStream>,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    read_timeout: Option<Duration>,
}

impl ConnIo {
    pub(crate) fn new(stream: Arc<TcpStream>, capacity: usize) -> Self {
        ConnIo {
            stream,
            buf: vec![0u8; capacity].into_boxed_slice(),
            pos: 0,
            end: 0,
            read_timeout: None,
        }
    }

    /// The socket, for writing responses and for shutdown.
    pub(crate) fn stream(&self) -> &Arc<TcpStream> {
        &self.stream
    }

    /// Bytes received but not yet consumed.
    pub(crate) fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Sets the socket read timeout, skipping the system call when it is unchanged.
    pub(crate) fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        // std rejects a zero duration; the smallest useful wait is one millisecond.
        let timeout = timeout.map(|t| t.max(Duration::from_millis(1)));
        if self.read_timeout != timeout {
            self.stream.set_read_timeout(timeout)?;
            self.read_timeout = timeout;
        }
        Ok(())
    }

    /// Reads more bytes from the socket after the buffered ones, compacting first when the
    /// buffer's tail is full. Returns 0 at end of stream or when the buffer is entirely full.
    pub(crate) fn fill_more(&mut self) -> io::Result<usize> {
        if self.end == self.buf.len() {
            if self.pos == 0 {
                return Ok(0);
            }
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        let n = (&*self.stream).read(&mut self.buf[self.end..])?;
        self.end += n;
        Ok(n)
    }

    /// Writes all of `data` to the socket (subject to the socket's write timeout).
    pub(crate) fn write_all(&self, data: &[u8]) -> io::Result<()> {
        (&*self.stream).write_all(data)
    }
}

impl Read for ConnIo {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.end && out.len() >= self.buf.len() {
            // Large reads bypass the buffer, as `BufReader` does.
            return (&*self.stream).read(out);
        }
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(out.len());
            out[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ConnIo {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
            self.end = (&*self.stream).read(&mut self.buf)?;
        }
        Ok(&self.buf[self.pos..self.end])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.end);
    }
}
