//! Owns the `Request` handed to the application: its head, its body reader, and the hand-back
//! of the connection to its thread once the response is written (or the request is dropped).

use std::fmt;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use crate::body::{After, BodyReader};
use crate::common::{HTTPVersion, Header, Method};
use crate::conn_io::ConnIo;
use crate::head::Head;
use crate::pace::PacedWriter;
use crate::response::{error_bytes, write_response, Response, WriteCtx};
use crate::server::Shared;

/// Anything that can be read from and written to, such as an upgraded connection.
pub trait ReadWrite: Read + Write {}

impl<T> ReadWrite for T where T: Read + Write {}

/// What the connection thread gets back when the application is done with a request.
// One exists per connection, sent once per request: boxing the large variant would only add
// an allocation per request.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Completion {
    /// The response is out (or failed), or rendered into `pending` for the connection thread
    /// to write. `reuse` says whether the connection may serve another request after draining
    /// what `body.after()` allows; `body` is the connection's read side when it is still
    /// available.
    Done {
        body: Option<BodyReader>,
        reuse: bool,
        pending: Vec<u8>,
    },
    /// The socket now belongs to an upgraded stream.
    Upgraded,
}

/// One HTTP request. Answer it with [`Request::respond`]; dropping it unanswered sends `500`.
pub struct Request {
    method: Method,
    url: String,
    version: HTTPVersion,
    headers: Vec<Header>,
    remote_addr: Option<SocketAddr>,
    keep_alive: bool,
    body_length: Option<u64>,
    body: Option<BodyReader>,
    empty: io::Empty,
    done: Option<SyncSender<Completion>>,
    shared: Arc<Shared>,
}

impl Request {
    pub(crate) fn new(
        head: Head,
        body: BodyReader,
        remote_addr: Option<SocketAddr>,
        done: SyncSender<Completion>,
        shared: Arc<Shared>,
    ) -> Request {
        let body_length = match head.framing {
            crate::head::Framing::None => Some(0),
            crate::head::Framing::Length(n) => Some(n),
            crate::head::Framing::Chunked => None,
        };
        Request {
            method: head.method,
            url: head.url,
            version: head.version,
            headers: head.headers,
            remote_addr,
            keep_alive: head.keep_alive,
            body_length,
            body: Some(body),
            empty: io::empty(),
            done: Some(done),
            shared,
        }
    }

    /// Always false: this transport speaks plain HTTP only.
    pub fn secure(&self) -> bool {
        false
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request target exactly as sent, for example `/files?id=3`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The request headers in the order received.
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    /// The protocol version, `1.0` or `1.1`.
    pub fn http_version(&self) -> &HTTPVersion {
        &self.version
    }

    /// The declared body length (`Some(0)` without a body, `None` for a chunked body). Values
    /// beyond `usize::MAX` report `None`.
    pub fn body_length(&self) -> Option<usize> {
        self.body_length.and_then(|n| usize::try_from(n).ok())
    }

    /// The address of the peer socket.
    pub fn remote_addr(&self) -> Option<&SocketAddr> {
        self.remote_addr.as_ref()
    }

    /// The body reader. The first read sends `100 Continue` when the client asked for it, so
    /// a handler that answers without reading never receives the body. A body cut short by
    /// the client fails with `io::ErrorKind::UnexpectedEof`, a stalled one with `TimedOut`.
    pub fn as_reader(&mut self) -> &mut dyn Read {
        match self.body.as_mut() {
            Some(body) => body,
            None => &mut self.empty,
        }
    }

    fn write_ctx(&self, body: &BodyReader) -> WriteCtx<'static> {
        let limits = &self.shared.limits;
        WriteCtx {
            version: self.version,
            head_request: self.method == Method::Head,
            keep_alive: self.keep_alive
                && !self.shared.is_stopping()
                && body.after(limits.drain_cap) != After::Close,
            upgrade: None,
            write_buffer: limits.write_buffer,
        }
    }

    /// Writes the response. Returns an error if the client could not be sent all of it (it
    /// stopped reading, or read below the minimum rate), or if the response body was shorter
    /// than its declared length; the connection is then closed.
    ///
    /// A response of known length up to `Limits::buffered_response_max` (and any `HEAD`
    /// answer or bodiless status) is rendered into memory and handed to the connection's own
    /// thread, which writes it: this returns at once, whatever the client's speed, and a
    /// client's failure to read it is no longer reported here.
    pub fn respond<R: Read>(mut self, response: Response<R>) -> io::Result<()> {
        let Some(body) = self.body.take() else {
            return Err(io::Error::other("request already answered"));
        };
        let ctx = self.write_ctx(&body);
        let limits = &self.shared.limits;
        let small = ctx.head_request
            || response.status_code().forbids_body()
            || response
                .data_length()
                .is_some_and(|n| n <= limits.buffered_response_max);
        let (result, pending) = if small {
            let mut out = Vec::new();
            (write_response(&mut out, ctx, response), out)
        } else {
            let stream = Arc::clone(body.io().stream());
            let mut out = PacedWriter::new(&stream, limits, &self.shared.cuts);
            (write_response(&mut out, ctx, response), Vec::new())
        };
        let reuse = matches!(result, Ok(true));
        self.finish(Completion::Done {
            body: Some(body),
            reuse,
            pending,
        });
        result.map(|_| ())
    }

    /// Sends `response` (normally `101 Switching Protocols`) with `Upgrade: <protocol>` and
    /// returns the raw connection, which no longer counts against `max_connections` and has no
    /// read timeout. Only rouille's websocket support calls this; PicoShare does not use it.
    pub fn upgrade<R: Read>(
        mut self,
        protocol: &str,
        response: Response<R>,
    ) -> Box<dyn ReadWrite + Send> {
        let Some(body) = self.body.take() else {
            return Box::new(io::Cursor::new(Vec::new()));
        };
        // The protocol name comes from the application; never let it split the response.
        let protocol = if protocol.bytes().any(|b| b.is_ascii_control()) {
            ""
        } else {
            protocol
        };
        let ctx = WriteCtx {
            version: self.version,
            head_request: false,
            keep_alive: true,
            upgrade: Some(protocol),
            write_buffer: self.shared.limits.write_buffer,
        };
        let stream = Arc::clone(body.io().stream());
        let written = write_response(
            &mut PacedWriter::new(&stream, &self.shared.limits, &self.shared.cuts),
            ctx,
            response,
        );
        let mut io = body.into_io();
        let _ = io.set_read_timeout(None);
        if written.is_err() {
            let _ = io.stream().shutdown(std::net::Shutdown::Both);
        }
        self.finish(Completion::Upgraded);
        Box::new(Upgraded { io })
    }

    fn finish(&mut self, completion: Completion) {
        if let Some(done) = self.done.take() {
            // The connection thread waits on the other end; if it is gone there is nobody to
            // tell.
            let _ = done.send(completion);
        }
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        if self.done.is_none() {
            return;
        }
        let body = self.body.take();
        let pending = if body.is_some() {
            error_bytes(500)
        } else {
            Vec::new()
        };
        self.finish(Completion::Done {
            body,
            reuse: false,
            pending,
        });
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("version", &self.version)
            .field("remote_addr", &self.remote_addr)
            .finish_non_exhaustive()
    }
}

/// An upgraded connection: buffered leftovers first, then the socket.
struct Upgraded {
    io: ConnIo,
}

impl Read for Upgraded {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.io.read(out)
    }
}

impl Write for Upgraded {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        (&**self.io.stream()).write(data)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
