//! Owns request-head parsing: the incremental limit-enforcing line scanner, the `httparse`
//! call, and the framing rules (Content-Length, chunked, Expect, Connection, Host).
//!
//! Everything here is pure (bytes in, decision out) so it can be tested without sockets.

use crate::common::{HTTPVersion, Header, HeaderField, Method};
use crate::limits::Limits;

/// Result of scanning the bytes received so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// No complete head yet and no limit exceeded.
    NeedMore,
    /// A complete head occupies `data[start..end]` (leading blank lines skipped) and holds
    /// `headers` header lines.
    Complete {
        start: usize,
        end: usize,
        headers: usize,
    },
    /// Refuse with this status and close.
    Reject(u16),
}

/// Finds the end of a request head while enforcing line, count and size limits, looking at
/// each byte once. Feed it the same growing buffer on every call.
#[derive(Debug, Clone)]
pub(crate) struct HeadScanner {
    scanned: usize,
    line_start: usize,
    head_start: usize,
    lines: usize,
    max_request_line: usize,
    max_header_line: usize,
    max_headers: usize,
    max_head_bytes: usize,
}

impl HeadScanner {
    pub(crate) fn new(limits: &Limits) -> Self {
        HeadScanner {
            scanned: 0,
            line_start: 0,
            head_start: 0,
            lines: 0,
            max_request_line: limits.max_request_line,
            max_header_line: limits.max_header_line,
            max_headers: limits.max_headers,
            max_head_bytes: limits.max_head_bytes,
        }
    }

    /// Scans `data`, which must extend the slice given to the previous call.
    pub(crate) fn scan(&mut self, data: &[u8]) -> Scan {
        while let Some(i) = data[self.scanned..].iter().position(|&b| b == b'\n') {
            let newline = self.scanned + i;
            let mut line = &data[self.line_start..newline];
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            self.scanned = newline + 1;
            if self.lines == 0 && line.is_empty() {
                // RFC 9112 §2.2: ignore blank lines before the request line.
                self.line_start = self.scanned;
                self.head_start = self.scanned;
                continue;
            }
            if let Some(status) = self.check_line(line.len()) {
                return Scan::Reject(status);
            }
            if self.lines == 0 && names_http2_or_later(line) {
                return Scan::Reject(505);
            }
            if self.scanned - self.head_start > self.max_head_bytes {
                return Scan::Reject(431);
            }
            if self.lines > 0 && line.is_empty() {
                return Scan::Complete {
                    start: self.head_start,
                    end: self.scanned,
                    headers: self.lines - 1,
                };
            }
            self.lines += 1;
            if self.lines - 1 > self.max_headers {
                return Scan::Reject(431);
            }
            self.line_start = self.scanned;
        }
        self.scanned = data.len();
        let partial = data.len() - self.line_start;
        // One byte of slack for a CR that may precede the LF.
        if let Some(status) = self.check_line(partial.saturating_sub(1)) {
            return Scan::Reject(status);
        }
        if data.len() - self.head_start > self.max_head_bytes {
            return Scan::Reject(431);
        }
        Scan::NeedMore
    }

    /// True when some bytes of a head (not just blank lines) were seen.
    pub(crate) fn started(&self, data: &[u8]) -> bool {
        data.len() > self.head_start
    }

    fn check_line(&self, len: usize) -> Option<u16> {
        if self.lines == 0 && len > self.max_request_line {
            Some(414)
        } else if self.lines > 0 && len > self.max_header_line {
            Some(431)
        } else {
            None
        }
    }
}

/// True for a request line whose version is HTTP/2 or later, including the HTTP/2 preface
/// `PRI * HTTP/2.0`.
fn names_http2_or_later(line: &[u8]) -> bool {
    let version = line.rsplit(|&b| b == b' ').next().unwrap_or(&[]);
    matches!(version, [b'H', b'T', b'T', b'P', b'/', d, ..] if (b'2'..=b'9').contains(d))
}

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed, validated request head.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub(crate) method: Method,
    pub(crate) url: String,
    pub(crate) version: HTTPVersion,
    pub(crate) headers: Vec<Header>,
    pub(crate) framing: Framing,
    /// The client sent `Expect: 100-continue` (HTTP/1.1 only).
    pub(crate) expect_continue: bool,
    /// The client allows the connection to stay open after this exchange.
    pub(crate) keep_alive: bool,
}

/// Parses a complete head (as delimited by `HeadScanner`) holding `header_count` header lines.
/// Returns the status to refuse it with on failure.
pub(crate) fn parse_head(bytes: &[u8], header_count: usize) -> Result<Head, u16> {
    let mut slots = vec![httparse::EMPTY_HEADER; header_count];
    let mut req = httparse::Request::new(&mut slots);
    match req.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(400),
        Err(_) => return Err(400),
    }
    let (Some(method), Some(path), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(400);
    };
    let version = HTTPVersion(1, minor);
    let mut headers = Vec::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let field = HeaderField::from_bytes(h.name.as_bytes()).map_err(|_| 400u16)?;
        let value = std::str::from_utf8(h.value).map_err(|_| 400u16)?;
        headers.push(Header {
            field,
            value: value.trim_matches(|c| c == ' ' || c == '\t').to_owned(),
        });
    }
    let (framing, expect_continue, keep_alive) = analyze(version, &headers)?;
    Ok(Head {
        method: Method::from_token(method),
        url: path.to_owned(),
        version,
        headers,
        framing,
        expect_continue,
        keep_alive,
    })
}

/// Applies RFC 9112 framing rules. Returns (framing, expect 100-continue, keep-alive).
fn analyze(version: HTTPVersion, headers: &[Header]) -> Result<(Framing, bool, bool), u16> {
    let http11 = version == HTTPVersion(1, 1);
    let mut length: Option<u64> = None;
    let mut codings: Vec<String> = Vec::new();
    let mut saw_te = false;
    let mut expect_continue = false;
    let mut close = false;
    let mut keep_alive_token = false;
    let mut hosts = 0;
    for h in headers {
        let name = &h.field;
        if name.equiv("Content-Length") {
            for part in h.value.split(',') {
                let part = part.trim_matches(|c| c == ' ' || c == '\t');
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(400);
                }
                let n: u64 = part.parse().map_err(|_| 400u16)?;
                if length.is_some_and(|old| old != n) {
                    return Err(400);
                }
                length = Some(n);
            }
        } else if name.equiv("Transfer-Encoding") {
            saw_te = true;
            for part in h.value.split(',') {
                let part = part.trim_matches(|c| c == ' ' || c == '\t');
                if !part.is_empty() {
                    codings.push(part.to_ascii_lowercase());
                }
            }
        } else if name.equiv("Expect") {
            if http11 {
                if h.value.eq_ignore_ascii_case("100-continue") {
                    expect_continue = true;
                } else {
                    return Err(417);
                }
            }
        } else if name.equiv("Connection") {
            for token in h.value.split(',') {
                let token = token.trim();
                close |= token.eq_ignore_ascii_case("close");
                keep_alive_token |= token.eq_ignore_ascii_case("keep-alive");
            }
        } else if name.equiv("Host") {
            hosts += 1;
        }
    }
    if http11 && hosts != 1 {
        return Err(400);
    }
    let framing = if saw_te {
        if !http11 || length.is_some() {
            return Err(400);
        }
        match codings.last().map(String::as_str) {
            Some("chunked") if codings.len() == 1 => Framing::Chunked,
            Some("chunked") => return Err(501),
            _ => return Err(400),
        }
    } else {
        match length {
            Some(0) | None => Framing::None,
            Some(n) => Framing::Length(n),
        }
    };
    let keep_alive = !close && (http11 || keep_alive_token);
    Ok((
        framing,
        expect_continue && framing != Framing::None,
        keep_alive,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testrand::Rng;

    fn limits() -> Limits {
        Limits {
            max_request_line: 100,
            max_header_line: 60,
            max_headers: 5,
            max_head_bytes: 300,
            ..Limits::default()
        }
    }

    /// Scans `input` fed in pieces split at the given points, then parses a complete head.
    fn run(input: &[u8], splits: &[usize]) -> Result<Option<Head>, u16> {
        let mut scanner = HeadScanner::new(&limits());
        let mut cuts: Vec<usize> = splits.iter().map(|&s| s.min(input.len())).collect();
        cuts.sort_unstable();
        cuts.push(input.len());
        for cut in cuts {
            match scanner.scan(&input[..cut]) {
                Scan::NeedMore => {}
                Scan::Reject(s) => return Err(s),
                Scan::Complete {
                    start,
                    end,
                    headers,
                } => return parse_head(&input[start..end], headers).map(Some),
            }
        }
        Ok(None)
    }

    fn whole(input: &[u8]) -> Result<Option<Head>, u16> {
        run(input, &[])
    }

    #[test]
    fn parses_a_normal_head() {
        let head = whole(b"\r\nGET /a?b=c HTTP/1.1\r\nHost: x\r\nX-Y:  z \r\n\r\nBODY")
            .unwrap()
            .unwrap();
        assert_eq!(head.method, Method::Get);
        assert_eq!(head.url, "/a?b=c");
        assert_eq!(head.version, HTTPVersion(1, 1));
        assert_eq!(head.headers.len(), 2);
        assert_eq!(head.headers[1].value, "z");
        assert_eq!(head.framing, Framing::None);
        assert!(head.keep_alive);
    }

    #[test]
    fn enforces_limits_with_the_right_status() {
        let long_target = format!("GET /{} HTTP/1.1\r\n", "a".repeat(200));
        assert_eq!(whole(long_target.as_bytes()).unwrap_err(), 414);
        // Refused before the line even ends.
        assert_eq!(whole(&long_target.as_bytes()[..150]).unwrap_err(), 414);
        let long_header = format!("GET / HTTP/1.1\r\nX: {}", "b".repeat(100));
        assert_eq!(whole(long_header.as_bytes()).unwrap_err(), 431);
        let many = format!("GET / HTTP/1.1\r\n{}\r\n", "Host: x\r\n".repeat(6));
        assert_eq!(whole(many.as_bytes()).unwrap_err(), 431);
        let big = format!(
            "GET / HTTP/1.1\r\n{}",
            "X-Long: 12345678901234567890123456789012345678901234567890\r\n".repeat(5)
        );
        assert_eq!(whole(big.as_bytes()).unwrap_err(), 431);
    }

    #[test]
    fn refuses_http2_and_later() {
        assert_eq!(whole(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap_err(), 505);
        assert_eq!(
            whole(b"GET / HTTP/3.0\r\nHost: x\r\n\r\n").unwrap_err(),
            505
        );
        assert_eq!(
            whole(b"GET / HTTP/1.2\r\nHost: x\r\n\r\n").unwrap_err(),
            400
        );
    }

    #[test]
    fn applies_framing_rules() {
        let h = |s: &str| whole(s.as_bytes());
        let ok = |s: &str| h(s).unwrap().unwrap();
        assert_eq!(
            ok("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n").framing,
            Framing::Length(5)
        );
        assert_eq!(
            ok("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n")
                .framing,
            Framing::Length(5)
        );
        assert_eq!(
            h("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n")
                .unwrap_err(),
            400
        );
        assert_eq!(
            h("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n").unwrap_err(),
            400
        );
        assert_eq!(
            h("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n")
                .unwrap_err(),
            400
        );
        assert_eq!(
            ok("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n").framing,
            Framing::Chunked
        );
        assert_eq!(
            h("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n")
                .unwrap_err(),
            400
        );
        assert_eq!(
            h("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
                .unwrap_err(),
            501
        );
        assert_eq!(
            h("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n")
                .unwrap_err(),
            400
        );
        assert_eq!(
            h("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap_err(),
            400
        );
        assert_eq!(h("GET / HTTP/1.1\r\n\r\n").unwrap_err(), 400);
        assert_eq!(
            h("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").unwrap_err(),
            400
        );
        assert_eq!(
            h("POST / HTTP/1.1\r\nHost: x\r\nExpect: something\r\n\r\n").unwrap_err(),
            417
        );
        let expect =
            ok("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n");
        assert!(expect.expect_continue);
        assert!(!ok("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!ok("GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(ok("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
    }

    #[test]
    fn rejects_malformed_heads() {
        for bad in [
            &b"GET\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
            b"GET / FTP/1.1\r\nHost: x\r\n\r\n",
            b"G\0T / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n",
        ] {
            assert_eq!(
                whole(bad).unwrap_err(),
                400,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn mutated_heads_never_panic_and_do_not_depend_on_splits() {
        let seeds: [&[u8]; 4] = [
            b"GET /index.html HTTP/1.1\r\nHost: example\r\nAccept: */*\r\n\r\n",
            b"POST /api/entry HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n",
            b"PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        ];
        let mut rng = Rng::new(99);
        for case in 0..5000 {
            let mut input = seeds[case % seeds.len()].to_vec();
            for _ in 0..1 + rng.below(5) {
                rng.mutate(&mut input);
            }
            let reference = whole(&input);
            let splits: Vec<usize> = (0..rng.below(6))
                .map(|_| rng.below(input.len() as u64 + 1) as usize)
                .collect();
            let split = run(&input, &splits);
            let describe = |r: &Result<Option<Head>, u16>| match r {
                Ok(Some(h)) => format!("head {} {} {:?}", h.method, h.url, h.framing),
                Ok(None) => "incomplete".to_owned(),
                Err(s) => format!("status {s}"),
            };
            assert_eq!(
                describe(&reference),
                describe(&split),
                "input {:?} splits {splits:?}",
                String::from_utf8_lossy(&input)
            );
            if let Err(status) = reference {
                assert!([400, 414, 417, 431, 501, 505].contains(&status));
            }
        }
    }
}
