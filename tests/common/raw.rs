//! The raw-socket client, for what curl cannot do: exact bytes on the wire, bodies sent piece
//! by piece or cut short, `Expect: 100-continue` handshakes, answers read as they come.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// Sends `request` (complete, with `Connection: close`) and reads the answer until EOF.
pub fn raw_exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.set_write_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(request).expect("write request");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let _ = s.shutdown(Shutdown::Both);
    out
}

/// A raw response split into status, headers and the bytes after the blank line.
pub struct RawResp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The body of a raw response: decoded if `Transfer-Encoding: chunked`, else as received.
#[track_caller]
pub fn raw_body(r: &RawResp) -> Vec<u8> {
    let chunked = r
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if !chunked {
        return r.body.clone();
    }
    let mut out = Vec::new();
    let mut rest = &r.body[..];
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_text = String::from_utf8_lossy(&rest[..eol]).into_owned();
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16)
            .unwrap_or_else(|_| panic!("bad chunk size {size_text:?}"));
        rest = &rest[eol + 2..];
        if size == 0 {
            return out;
        }
        assert!(rest.len() >= size + 2, "truncated chunk");
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

#[track_caller]
pub fn parse_raw(bytes: &[u8]) -> RawResp {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    RawResp {
        status,
        headers,
        body: bytes[end + 4..].to_vec(),
    }
}

/// The body of a possibly cut-short response, decoded as far as it goes (chunked or not).
pub fn raw_body_partial(r: &RawResp) -> Vec<u8> {
    let chunked = r
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if !chunked {
        return r.body.clone();
    }
    let mut out = Vec::new();
    let mut rest = &r.body[..];
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&rest[..eol]).into_owned();
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_hex, 16) else {
            break;
        };
        rest = &rest[eol + 2..];
        if size == 0 {
            break;
        }
        let take = size.min(rest.len());
        out.extend_from_slice(&rest[..take]);
        if take < size || rest.len() < size + 2 {
            break;
        }
        rest = &rest[size + 2..];
    }
    out
}

/// Opens a connection and sends a request head; returns the stream (10 s read timeout).
#[track_caller]
pub fn send_head(addr: SocketAddr, head: &str) -> TcpStream {
    let mut t = TcpStream::connect(addr).expect("connect");
    t.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    t.set_write_timeout(Some(Duration::from_secs(30)))
        .expect("write timeout");
    t.write_all(head.as_bytes()).expect("send head");
    t
}

/// Reads up to the end of a response head (or EOF, or the read timeout): the head's text.
pub fn read_head(t: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut b = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        match t.read(&mut b) {
            Ok(1) => got.push(b[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Sends `head` (which must ask `Expect: 100-continue`) and waits for the answer: `Ok` with
/// the stream once `100 Continue` came — the handler has started reading the body, so the
/// request is in flight — or `Err` with the final answer's head if the server refused before
/// the body.
#[track_caller]
pub fn begin_body(addr: SocketAddr, head: &str) -> Result<TcpStream, String> {
    assert!(
        head.to_ascii_lowercase().contains("expect: 100-continue"),
        "begin_body needs an Expect: 100-continue head"
    );
    let mut t = send_head(addr, head);
    t.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    let answer = read_head(&mut t);
    if answer.starts_with("HTTP/1.1 100") {
        Ok(t)
    } else {
        Err(answer)
    }
}

/// An upload over a raw socket whose body the test sends when it chooses: started by
/// [`Server::raw_upload`] once the server asked for the body.
pub struct RawUpload {
    pub stream: TcpStream,
    body: Vec<u8>,
    sent: usize,
}

impl RawUpload {
    /// Body bytes sent so far.
    pub fn sent(&self) -> usize {
        self.sent
    }

    /// Sends the body up to byte `upto` (at most its end), in 64 KiB writes.
    #[track_caller]
    pub fn send_to(&mut self, upto: usize) {
        let upto = upto.min(self.body.len());
        while self.sent < upto {
            let end = (self.sent + 64 * 1024).min(upto);
            self.stream
                .write_all(&self.body[self.sent..end])
                .expect("the server reads the body");
            self.sent = end;
        }
        self.stream.flush().expect("flush");
    }

    /// Sends the rest of the body and reads the answer (the request said
    /// `Connection: close`).
    #[track_caller]
    pub fn finish(mut self) -> RawResp {
        let len = self.body.len();
        self.send_to(len);
        self.stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("read timeout");
        let mut out = Vec::new();
        let _ = self.stream.read_to_end(&mut out);
        parse_raw(&out)
    }

    /// The client goes away mid-body.
    pub fn abandon(self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

impl super::server::Server {
    /// Starts `POST path` (as the admin when `admin`) with `Expect: 100-continue` and
    /// `Connection: close`, declaring `declared` bytes (default: the body's length) of
    /// `content_type`, and waits for `100 Continue`: the request is then in a handler that
    /// reads its body, and no body byte has been sent yet. `Err` with the answer's head if the
    /// server refused before the body.
    #[track_caller]
    pub fn raw_upload(
        &self,
        path: &str,
        admin: bool,
        content_type: &str,
        body: Vec<u8>,
        declared: Option<usize>,
    ) -> Result<RawUpload, String> {
        let cookie = if admin {
            format!("Cookie: {}\r\n", self.login())
        } else {
            String::new()
        };
        self.raw_upload_with(path, &cookie, content_type, body, declared)
    }

    /// [`Server::raw_upload`] with the credential header line `auth` (a `Cookie: …\r\n` or an
    /// `Authorization: …\r\n`, or none).
    fn raw_upload_with(
        &self,
        path: &str,
        auth: &str,
        content_type: &str,
        body: Vec<u8>,
        declared: Option<usize>,
    ) -> Result<RawUpload, String> {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: {content_type}\r\n\
             Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
            self.addr,
            declared.unwrap_or(body.len())
        );
        let stream = begin_body(self.addr, &head)?;
        Ok(RawUpload {
            stream,
            body,
            sent: 0,
        })
    }

    /// [`Server::raw_upload`] of an [`super::multipart::Upload`] with an API token.
    #[track_caller]
    pub fn raw_token_upload(&self, up: &super::multipart::Upload, token: &str) -> RawUpload {
        let (ct, body) = up.multipart();
        let auth = format!("Authorization: Bearer {token}\r\n");
        self.raw_upload_with(&up.path(), &auth, &ct, body, None)
            .unwrap_or_else(|head| panic!("upload refused before its body: {head}"))
    }

    /// [`Server::raw_upload`] of an admin [`super::multipart::Upload`].
    #[track_caller]
    pub fn raw_admin_upload(&self, up: &super::multipart::Upload) -> RawUpload {
        let (ct, body) = up.multipart();
        self.raw_upload(&up.path(), true, &ct, body, None)
            .unwrap_or_else(|head| panic!("upload refused before its body: {head}"))
    }
}

/// Connects to `to` from the local address `from` (127.0.0.1, 127.0.0.2, …: all this machine
/// on Linux), for tests of per-address limits; std cannot bind a client socket first. Reads
/// and writes time out after 20 s.
pub fn connect_from(from: [u8; 4], to: SocketAddr) -> std::io::Result<TcpStream> {
    let SocketAddr::V4(to) = to else {
        return Err(std::io::Error::other("IPv4 only"));
    };
    let sockaddr = |ip: std::net::Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let local = sockaddr(std::net::Ipv4Addr::from(from), 0);
    let remote = sockaddr(*to.ip(), to.port());
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor we own; the sockaddr structs outlive them.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let stream = <TcpStream as std::os::fd::FromRawFd>::from_raw_fd(fd);
        if libc::bind(fd, (&local as *const libc::sockaddr_in).cast(), len) != 0
            || libc::connect(fd, (&remote as *const libc::sockaddr_in).cast(), len) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        stream.set_write_timeout(Some(Duration::from_secs(20)))?;
        Ok(stream)
    }
}
