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

/// What the request side tells the writer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteCtx<'a> {
    pub(crate) version: HTTPVersion,
    pub(crate) head_request: bool,
    /// The connection may stay open as far as the request side knows.
    pub(crate) keep_alive: bool,
    /// For `Request::upgrade`: the protocol to name in `Upgrade`, with `Connection: upgrade`.
    pub(crate) upgrade: Option<&'a str>,
    /// `Limits::write_buffer`: the most a response holds in memory while being written.
    pub(crate) write_buffer: usize,
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
pub(crate) fn write_response<R: Read, W: Write>(
    out: &mut W,
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

    let mut head = Vec::with_capacity(512);
    write!(
        head,
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
        write!(head, "{}: {}\r\n", h.field, h.value)?;
    }
    if !has_date {
        write!(head, "Date: {}\r\n", http_date(SystemTime::now()))?;
    }
    if !has_server {
        head.extend_from_slice(b"Server: picoshare\r\n");
    }
    match mode {
        BodyMode::Length(n) => write!(head, "Content-Length: {n}\r\n")?,
        BodyMode::Chunked => head.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        BodyMode::None | BodyMode::UntilClose => {}
    }
    if let Some(protocol) = ctx.upgrade {
        write!(head, "Upgrade: {protocol}\r\nConnection: upgrade\r\n")?;
    } else if !keep_alive {
        head.extend_from_slice(b"Connection: close\r\n");
    } else if !http11 {
        head.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    head.extend_from_slice(b"\r\n");

    match mode {
        _ if ctx.head_request => out.write_all(&head)?,
        BodyMode::None => out.write_all(&head)?,
        BodyMode::Length(n) => write_sized(head, &mut data, n, ctx.write_buffer, out)?,
        BodyMode::Chunked | BodyMode::UntilClose => {
            let mut out = BufWriter::with_capacity(ctx.write_buffer, out);
            out.write_all(&head)?;
            if mode == BodyMode::Chunked {
                write_chunked(&mut data, &mut out)?;
            } else {
                io::copy(&mut data, &mut out)?;
            }
            out.flush()?;
        }
    }
    Ok(keep_alive)
}

/// Writes `head` and then exactly `len` body bytes from `data`, through one buffer of at most
/// `cap` bytes that the body is read straight into (no intermediate copy): the head goes out
/// with the first body bytes, and the buffer is sent whenever it is at least half full, so a
/// reader that fills whole buffers gets one system call per read. A body that ends early or
/// fails is an error after what it gave has been sent.
fn write_sized<R: Read, W: Write>(
    head: Vec<u8>,
    data: &mut R,
    len: u64,
    cap: usize,
    out: &mut W,
) -> io::Result<()> {
    let size = (head.len() as u64 + len).min(cap.max(head.len()) as u64) as usize;
    let mut filled = head.len();
    let mut buf = head;
    buf.resize(size, 0);
    let mut left = len;
    while left > 0 {
        if filled == buf.len() {
            out.write_all(&buf)?;
            filled = 0;
        }
        let room = (buf.len() - filled).min(usize::try_from(left).unwrap_or(usize::MAX));
        let got = match data.read(&mut buf[filled..filled + room]) {
            Ok(0) => {
                out.write_all(&buf[..filled])?;
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "response body ended after {} of {len} declared bytes",
                        len - left
                    ),
                ));
            }
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // As for a short body: the client gets what there was, then the connection
                // closes, so it sees the length fall short.
                let _ = out.write_all(&buf[..filled]);
                return Err(e);
            }
        };
        filled += got;
        left -= got as u64;
        if left == 0 || buf.len() - filled < buf.len() / 2 {
            out.write_all(&buf[..filled])?;
            filled = 0;
        }
    }
    if filled > 0 {
        out.write_all(&buf[..filled])?;
    }
    Ok(())
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

/// A short plain-text error response that asks for the connection to close.
pub(crate) fn error_bytes(status: u16) -> Vec<u8> {
    let code = StatusCode(status);
    let body = format!("{} {}\n", status, code.default_reason_phrase());
    format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nDate: {}\r\nServer: picoshare\r\nConnection: close\r\n\r\n{body}",
        code.default_reason_phrase(),
        body.len(),
        http_date(SystemTime::now()),
    )
    .into_bytes()
}

/// Writes a short plain-text error response and asks for the connection to close.
pub(crate) fn write_error(stream: &TcpStream, status: u16) -> io::Result<()> {
    (&*stream).write_all(&error_bytes(status))?;
    (&*stream).flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gives out its bytes at most `step` at a time.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = out.len().min(self.step).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// Records each write, so tests can see how the bytes were grouped into system calls.
    #[derive(Default)]
    struct Writes(Vec<Vec<u8>>);

    impl Write for Writes {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.push(b.to_vec());
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn body(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn sized_bodies_arrive_whole_for_every_buffer_and_read_size() {
        for (len, cap, step) in [
            (0, 4096, 1),
            (10, 4096, 3),
            (100_000, 4096, 4096),
            (100_000, 4096, 1000),
            (100_000, 65_536, 65_536),
            (100_000, 200_000, 7),
            (5000, 16, 100), // head larger than the buffer
        ] {
            let data = body(len);
            let head = b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n".to_vec();
            let mut out = Writes::default();
            let mut r = Trickle { data: &data, step };
            write_sized(head.clone(), &mut r, len as u64, cap, &mut out).unwrap();
            let all: Vec<u8> = out.0.concat();
            assert_eq!(&all[..head.len()], &head[..], "{len} {cap} {step}");
            assert_eq!(&all[head.len()..], &data[..], "{len} {cap} {step}");
            assert!(out.0.iter().all(|w| w.len() <= cap.max(head.len())));
        }
    }

    #[test]
    fn a_reader_filling_the_buffer_gets_one_write_per_read_and_the_head_rides_along() {
        let data = body(3 * 1000);
        let head = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        let mut out = Writes::default();
        let mut r = Trickle {
            data: &data,
            step: 1000,
        };
        write_sized(head.clone(), &mut r, 3000, head.len() + 1000, &mut out).unwrap();
        let sizes: Vec<usize> = out.0.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![head.len() + 1000, 1000, 1000]);
    }

    #[test]
    fn small_reads_are_gathered_before_sending() {
        let data = body(4096);
        let mut out = Writes::default();
        let mut r = Trickle {
            data: &data,
            step: 100,
        };
        write_sized(Vec::new(), &mut r, 4096, 4096, &mut out).unwrap();
        assert!(out.0.len() <= 3, "{} writes", out.0.len());
    }

    /// Gives `good` bytes, then fails.
    struct Failing(usize);

    impl Read for Failing {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::other("disk on fire"));
            }
            let n = out.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }
    }

    #[test]
    fn a_failing_body_is_an_error_after_sending_the_head_and_what_it_gave() {
        let mut out = Writes::default();
        let e = write_sized(
            b"H\r\n\r\n".to_vec(),
            &mut Failing(10),
            1000,
            4096,
            &mut out,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "disk on fire");
        assert_eq!(out.0.concat().len(), 5 + 10);
    }

    #[test]
    fn a_short_body_is_an_error_after_sending_what_it_gave() {
        let data = body(500);
        let mut out = Writes::default();
        let mut r = Trickle {
            data: &data,
            step: 64,
        };
        let e = write_sized(b"H\r\n\r\n".to_vec(), &mut r, 1000, 4096, &mut out).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(out.0.concat().len(), 5 + 500);
    }
}
