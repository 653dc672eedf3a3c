//! Owns the integration-test harness: an in-process server on 127.0.0.1:0 with a handler
//! closure, a raw-socket HTTP client, and RSS readings from /proc.
#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use tiny_http::{Limits, Request, Server};

/// A running server whose requests each go to `handler` on their own thread.
pub struct TestServer {
    pub server: Arc<Server>,
    pub addr: SocketAddr,
}

impl TestServer {
    pub fn start<F>(limits: Limits, handler: F) -> TestServer
    where
        F: Fn(Request) + Send + Sync + 'static,
    {
        let server = Arc::new(Server::with_limits("127.0.0.1:0", limits).expect("bind"));
        let addr = server.server_addr().to_ip().expect("ip");
        let handler = Arc::new(handler);
        let dispatch = Arc::clone(&server);
        thread::spawn(move || {
            for rq in dispatch.incoming_requests() {
                let h = Arc::clone(&handler);
                thread::spawn(move || h(rq));
            }
        });
        TestServer { server, addr }
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        s
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.shutdown(Duration::from_secs(2));
    }
}

/// Limits suitable for tests: short timeouts so nothing hangs for long.
pub fn test_limits() -> Limits {
    Limits {
        head_read_timeout: Duration::from_secs(5),
        keepalive_idle_timeout: Duration::from_secs(5),
        body_read_stall_timeout: Duration::from_secs(5),
        write_stall_timeout: Duration::from_secs(5),
        linger_timeout: Duration::from_millis(500),
        ..Limits::default()
    }
}

/// A parsed response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Body bytes counted (equals `body.len()` unless the body was discarded).
    pub body_len: u64,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn read_line<R: BufRead>(r: &mut R) -> io::Result<String> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "eof"));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Reads one response. `head` = the request was HEAD (no body). `keep` = store the body
/// (otherwise only count it).
pub fn read_response<R: BufRead>(r: &mut R, head: bool, keep: bool) -> io::Result<Resp> {
    let status_line = read_line(r)?;
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(r)?;
        if line.is_empty() {
            break;
        }
        let (n, v) = line.split_once(':').expect("header colon");
        headers.push((n.to_owned(), v.trim().to_owned()));
    }
    let mut resp = Resp {
        status,
        headers,
        body: Vec::new(),
        body_len: 0,
    };
    if head || status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(resp);
    }
    let sink = |data: &[u8], resp: &mut Resp| {
        resp.body_len += data.len() as u64;
        if keep {
            resp.body.extend_from_slice(data);
        }
    };
    let mut buf = vec![0u8; 64 * 1024];
    if let Some(len) = resp
        .header("Content-Length")
        .map(|v| v.parse::<u64>().expect("cl"))
    {
        let mut left = len;
        while left > 0 {
            let want = (left as usize).min(buf.len());
            let n = r.read(&mut buf[..want])?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short body"));
            }
            sink(&buf[..n], &mut resp);
            left -= n as u64;
        }
    } else if resp
        .header("Transfer-Encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let line = read_line(r)?;
            let size = usize::from_str_radix(line.split(';').next().unwrap_or(""), 16)
                .map_err(|_| io::Error::other(format!("bad chunk line {line:?}")))?;
            if size == 0 {
                while !read_line(r)?.is_empty() {}
                break;
            }
            let mut left = size;
            while left > 0 {
                let want = left.min(buf.len());
                let n = r.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short chunk"));
                }
                sink(&buf[..n], &mut resp);
                left -= n;
            }
            read_line(r)?;
        }
    } else {
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                break;
            }
            sink(&buf[..n], &mut resp);
        }
    }
    Ok(resp)
}

/// Sends `request` on a new connection and reads one response.
pub fn roundtrip(ts: &TestServer, request: &[u8]) -> io::Result<Resp> {
    let mut s = ts.connect();
    s.write_all(request)?;
    let head = request.starts_with(b"HEAD ");
    read_response(&mut BufReader::new(s), head, true)
}

/// `GET path` with `Connection: close`.
pub fn get(ts: &TestServer, path: &str) -> io::Result<Resp> {
    roundtrip(
        ts,
        format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

/// (VmRSS, VmHWM) of this process in KiB.
pub fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets VmHWM to the current RSS (Linux `clear_refs` 5); ignored where unsupported.
pub fn reset_hwm() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// A reader producing `len` bytes of a repeating pattern (or endless with `None`), without
/// holding them in memory.
pub struct Pattern {
    pub left: Option<u64>,
}

impl Read for Pattern {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = match self.left {
            Some(0) => return Ok(0),
            Some(left) => (left as usize).min(out.len()),
            None => out.len(),
        };
        const ALPHABET: &[u8; 26] = b"abcdefghijklmnopqrstuvwxyz";
        for piece in out[..n].chunks_mut(26) {
            piece.copy_from_slice(&ALPHABET[..piece.len()]);
        }
        if let Some(left) = self.left.as_mut() {
            *left -= n as u64;
        }
        Ok(n)
    }
}
