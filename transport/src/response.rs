//! Owns the `Response` value and how it goes on the wire: framing (Content-Length whenever
//! the length is known, chunked only when it is not, close-delimited for HTTP/1.0), header
//! hygiene, and bounded-memory body copying.

use std::io::{self, BufWriter, Cursor, Read, Write};
use std::net::TcpStream;
use std::time::SystemTime;

use crate::common::{HTTPVersion, Header, StatusCode};
use crate::date::http_date;

/// A response: status, headers and a body reader with an optional known length.
///
/// When `data_length` is `Some(n)` exactly `n` bytes are sent with `Content-Length: n`; if the
/// reader ends early the connection is closed (the client sees a short body), and bytes past
/// `n` are never read. When it is `None` the body goes out chunked (HTTP/1.1) or delimited by
/// closing the connection (HTTP/1.0), streamed either way.
#[derive(Debug)]
pub struct Response<R> {
    status_code: StatusCode,
    headers: Vec<Header>,
    data: R,
    data_length: Option<usize>,
}

/// A response with a boxed body.
pub type ResponseBox = Response<Box<dyn Read + Send>>;

impl<R: Read> Response<R> {
    /// Builds a response from all its parts.
    pub fn new(
        status_code: StatusCode,
        headers: Vec<Header>,
        data: R,
        data_length: Option<usize>,
    ) -> Response<R> {
        Response {
            status_code,
            headers,
            data,
            data_length,
        }
    }

    /// Adds a header. `Content-Length`, `Transfer-Encoding` and `Connection` are never sent as
    /// given: the transport writes its own framing headers, and a `Connection: close` here only
    /// makes the transport close the connection after the response.
    pub fn add_header<H: Into<Header>>(&mut self, header: H) {
        self.headers.push(header.into());
    }

    /// Builder form of [`Response::add_header`].
    pub fn with_header<H: Into<Header>>(mut self, header: H) -> Response<R> {
        self.add_header(header);
        self
    }

    /// Replaces the status code.
    pub fn with_status_code<S: Into<StatusCode>>(mut self, code: S) -> Response<R> {
        self.status_code = code.into();
        self
    }

    /// Replaces the body and its length.
    pub fn with_data<S: Read>(self, reader: S, data_length: Option<usize>) -> Response<S> {
        Response {
            status_code: self.status_code,
            headers: self.headers,
            data: reader,
            data_length,
        }
    }

    /// The status code.
    pub fn status_code(&self) -> StatusCode {
        self.status_code
    }

    /// The declared body length.
    pub fn data_length(&self) -> Option<usize> {
        self.data_length
    }

    /// The headers added so far.
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    /// The body reader.
    pub fn into_reader(self) -> R {
        self.data
    }

    /// Boxes the body reader.
    pub fn boxed(self) -> ResponseBox
    where
        R: Send + 'static,
    {
        Response {
            status_code: self.status_code,
            headers: self.headers,
            data: Box::new(self.data),
            data_length: self.data_length,
        }
    }
}

impl Response<io::Empty> {
    /// A response with no body.
    pub fn empty<S: Into<StatusCode>>(status_code: S) -> Response<io::Empty> {
        Response {
            status_code: status_code.into(),
            headers: Vec::new(),
            data: io::empty(),
            data_length: Some(0),
        }
    }
}

impl Response<Cursor<Vec<u8>>> {
    /// A 200 response with these bytes.
    pub fn from_data<D: Into<Vec<u8>>>(data: D) -> Response<Cursor<Vec<u8>>> {
        let data = data.into();
        let len = data.len();
        Response {
            status_code: StatusCode(200),
            headers: Vec::new(),
            data: Cursor::new(data),
            data_length: Some(len),
        }
    }

    /// A 200 `text/plain` response with this text.
    pub fn from_string<S: Into<String>>(data: S) -> Response<Cursor<Vec<u8>>> {
        let mut r = Response::from_data(data.into().into_bytes());
        if let Ok(h) = Header::from_bytes(b"Content-Type", b"text/plain; charset=UTF-8") {
            r.add_header(h);
        }
        r
    }
}

/// Size of the response write buffer (and of chunks): large enough for few system calls per
/// megabyte, small enough that 64 concurrent downloads hold 4 MiB.
const WRITE_BUFFER: usize = 64 * 1024;

/// What the request side tells the writer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteCtx<'a> {
    pub(crate) version: HTTPVersion,
    pub(crate) head_request: bool,
    /// The connection may stay open as far as the request side knows.
    pub(crate) keep_alive: bool,
    /// For `Request::upgrade`: the protocol to name in `Upgrade`, with `Connection: upgrade`.
    pub(crate) upgrade: Option<&'a str>,
}

/// Headers the transport always writes itself.
fn is_framing_header(h: &Header) -> bool {
    [
        "Content-Length",
        "Transfer-Encoding",
        "Connection",
        "Keep-Alive",
        "Trailer",
        "Upgrade",
    ]
    .iter()
    .any(|n| h.field.equiv(n))
}

fn has_close_token(h: &Header) -> bool {
    h.field.equiv("Connection")
        && h.value
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("close"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyMode {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// Writes `response` for a request described by `ctx`. Returns whether the connection may be
/// reused afterwards. An `Err` means the response could not be written completely (the
/// connection must be closed).
pub(crate) fn write_response<R: Read>(
    stream: &TcpStream,
    ctx: WriteCtx<'_>,
    response: Response<R>,
) -> io::Result<bool> {
    let Response {
        status_code,
        headers,
        mut data,
        data_length,
    } = response;
    let mut keep_alive = ctx.keep_alive && !headers.iter().any(has_close_token);
    let http11 = ctx.version >= HTTPVersion(1, 1);
    let mode = if status_code.forbids_body() {
        BodyMode::None
    } else {
        match data_length {
            Some(n) => BodyMode::Length(n as u64),
            None if http11 => BodyMode::Chunked,
            None => BodyMode::UntilClose,
        }
    };
    if mode == BodyMode::UntilClose && !ctx.head_request {
        keep_alive = false;
    }

    let mut out = BufWriter::with_capacity(WRITE_BUFFER, stream);
    write!(
        out,
        "HTTP/1.1 {} {}\r\n",
        status_code.0,
        status_code.default_reason_phrase()
    )?;
    let mut has_date = false;
    let mut has_server = false;
    for h in &headers {
        if is_framing_header(h) {
            continue;
        }
        has_date |= h.field.equiv("Date");
        has_server |= h.field.equiv("Server");
        write!(out, "{}: {}\r\n", h.field, h.value)?;
    }
    if !has_date {
        write!(out, "Date: {}\r\n", http_date(SystemTime::now()))?;
    }
    if !has_server {
        out.write_all(b"Server: picoshare\r\n")?;
    }
    match mode {
        BodyMode::Length(n) => write!(out, "Content-Length: {n}\r\n")?,
        BodyMode::Chunked => out.write_all(b"Transfer-Encoding: chunked\r\n")?,
        BodyMode::None | BodyMode::UntilClose => {}
    }
    if let Some(protocol) = ctx.upgrade {
        write!(out, "Upgrade: {protocol}\r\nConnection: upgrade\r\n")?;
    } else if !keep_alive {
        out.write_all(b"Connection: close\r\n")?;
    } else if !http11 {
        out.write_all(b"Connection: keep-alive\r\n")?;
    }
    out.write_all(b"\r\n")?;

    if !ctx.head_request {
        match mode {
            BodyMode::None => {}
            BodyMode::Length(n) => {
                let sent = io::copy(&mut (&mut data).take(n), &mut out)?;
                if sent < n {
                    out.flush()?;
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("response body ended after {sent} of {n} declared bytes"),
                    ));
                }
            }
            BodyMode::Chunked => write_chunked(&mut data, &mut out)?,
            BodyMode::UntilClose => {
                io::copy(&mut data, &mut out)?;
            }
        }
    }
    out.flush()?;
    Ok(keep_alive)
}

/// Copies `data` as chunks of at most 16 KiB, then the terminating empty chunk.
fn write_chunked<R: Read, W: Write>(data: &mut R, out: &mut W) -> io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match data.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        write!(out, "{n:X}\r\n")?;
        out.write_all(&buf[..n])?;
        out.write_all(b"\r\n")?;
    }
    out.write_all(b"0\r\n\r\n")
}

/// Writes a short plain-text error response and asks for the connection to close.
pub(crate) fn write_error(stream: &TcpStream, status: u16) -> io::Result<()> {
    let code = StatusCode(status);
    let body = format!("{} {}\n", status, code.default_reason_phrase());
    let text = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nDate: {}\r\nServer: picoshare\r\nConnection: close\r\n\r\n{body}",
        code.default_reason_phrase(),
        body.len(),
        http_date(SystemTime::now()),
    );
    (&*stream).write_all(text.as_bytes())?;
    (&*stream).flush()
}
