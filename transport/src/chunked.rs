//! Owns decoding of `Transfer-Encoding: chunked` request bodies in bounded memory.
//!
//! The decoder is a state machine over any `BufRead`, so it never buffers more than the source
//! already holds. A chunk-size line longer than `MAX_SIZE_LINE` or trailers longer than
//! `MAX_TRAILER_BYTES` are errors, and so is any end of input before the terminating empty
//! chunk: a truncated body surfaces as `io::ErrorKind::UnexpectedEof`, never as a clean end.

use std::io::{self, BufRead};

/// Longest chunk-size line accepted, including chunk extensions.
pub(crate) const MAX_SIZE_LINE: usize = 4096;
/// Most bytes of trailer fields accepted after the last chunk (they are discarded).
pub(crate) const MAX_TRAILER_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a chunk-size line.
    Size {
        size: u64,
        digits: usize,
        in_ext: bool,
        len: usize,
        cr: bool,
    },
    /// Inside chunk data with this many bytes left.
    Data(u64),
    /// Expecting the CRLF after chunk data; `cr` is true once the CR was seen.
    DataEnd { cr: bool },
    /// Reading trailer lines after the last chunk.
    Trailers {
        total: usize,
        line_len: usize,
        cr: bool,
    },
    /// The terminating empty line was read.
    Done,
    /// An error was returned; every later read fails too.
    Failed(io::ErrorKind),
}

/// Incremental decoder of one chunked body.
#[derive(Debug, Clone)]
pub(crate) struct ChunkedDecoder {
    state: State,
}

const SIZE_START: State = State::Size {
    size: 0,
    digits: 0,
    in_ext: false,
    len: 0,
    cr: false,
};

fn invalid(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

fn truncated() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "connection closed before the end of the chunked request body",
    )
}

impl ChunkedDecoder {
    pub(crate) fn new() -> Self {
        ChunkedDecoder { state: SIZE_START }
    }

    /// True once the whole body, trailers included, has been consumed.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Reads decoded body bytes into `out`. `Ok(0)` means the body ended properly.
    pub(crate) fn read<R: BufRead>(&mut self, src: &mut R, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let result = self.read_inner(src, out);
        if let Err(e) = &result {
            if e.kind() != io::ErrorKind::Interrupted {
                self.state = State::Failed(e.kind());
            }
        }
        result
    }

    fn read_inner<R: BufRead>(&mut self, src: &mut R, out: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.state {
                State::Done => return Ok(0),
                State::Failed(kind) => {
                    return Err(io::Error::new(kind, "chunked request body failed earlier"))
                }
                State::Data(0) => self.state = State::DataEnd { cr: false },
                State::Data(left) => {
                    let want = usize::try_from(left).unwrap_or(usize::MAX).min(out.len());
                    let n = src.read(&mut out[..want])?;
                    if n == 0 {
                        return Err(truncated());
                    }
                    self.state = State::Data(left - n as u64);
                    return Ok(n);
                }
                _ => self.step_framing(src)?,
            }
        }
    }

    /// Consumes framing bytes (size lines, CRLFs, trailers) until data or the end is reached.
    fn step_framing<R: BufRead>(&mut self, src: &mut R) -> io::Result<()> {
        let buf = src.fill_buf()?;
        if buf.is_empty() {
            return Err(truncated());
        }
        let mut used = 0;
        let mut result = Ok(());
        for &b in buf {
            used += 1;
            match self.feed(b) {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        src.consume(used);
        result
    }

    /// Feeds one framing byte. Returns true when the state left framing (data or done).
    fn feed(&mut self, b: u8) -> io::Result<bool> {
        match &mut self.state {
            State::Size {
                size,
                digits,
                in_ext,
                len,
                cr,
            } => {
                *len += 1;
                if *len > MAX_SIZE_LINE {
                    return Err(invalid("chunk-size line too long"));
                }
                if *cr && b != b'\n' {
                    return Err(invalid("bare CR in chunk-size line"));
                }
                match b {
                    b'\n' => {
                        if *digits == 0 {
                            return Err(invalid("missing chunk size"));
                        }
                        let size = *size;
                        self.state = if size == 0 {
                            State::Trailers {
                                total: 0,
                                line_len: 0,
                                cr: false,
                            }
                        } else {
                            State::Data(size)
                        };
                        return Ok(size != 0);
                    }
                    b'\r' => *cr = true,
                    _ if *in_ext => {
                        if b != b'\t' && (b < 0x20 || b == 0x7f) {
                            return Err(invalid("control byte in chunk extension"));
                        }
                    }
                    b';' | b' ' | b'\t' if *digits > 0 => *in_ext = true,
                    _ => {
                        let d = (b as char)
                            .to_digit(16)
                            .ok_or_else(|| invalid("invalid chunk size"))?;
                        *digits += 1;
                        if *digits > 16 {
                            return Err(invalid("chunk size too large"));
                        }
                        *size = (*size << 4) | u64::from(d);
                    }
                }
                Ok(false)
            }
            State::DataEnd { cr } => match (b, *cr) {
                (b'\r', false) => {
                    *cr = true;
                    Ok(false)
                }
                (b'\n', _) => {
                    self.state = SIZE_START;
                    Ok(false)
                }
                _ => Err(invalid("missing CRLF after chunk data")),
            },
            State::Trailers {
                total,
                line_len,
                cr,
            } => {
                *total += 1;
                if *total > MAX_TRAILER_BYTES {
                    return Err(invalid("chunked trailers too large"));
                }
                if *cr && b != b'\n' {
                    return Err(invalid("bare CR in chunked trailers"));
                }
                match b {
                    b'\n' if *line_len == 0 => {
                        self.state = State::Done;
                        return Ok(true);
                    }
                    b'\n' => {
                        *line_len = 0;
                        *cr = false;
                    }
                    b'\r' => *cr = true,
                    _ => *line_len += 1,
                }
                Ok(false)
            }
            State::Data(_) | State::Done | State::Failed(_) => Ok(true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testrand::Rng;
    use std::io::Read;

    /// A `BufRead` that hands out its input in pieces of pseudo-random size.
    struct Pieces<'a> {
        data: &'a [u8],
        pos: usize,
        rng: Rng,
        avail: usize,
    }

    impl<'a> Pieces<'a> {
        fn new(data: &'a [u8], seed: u64) -> Self {
            Pieces {
                data,
                pos: 0,
                rng: Rng::new(seed),
                avail: 0,
            }
        }
    }

    impl Read for Pieces<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = {
                let buf = self.fill_buf()?;
                let n = buf.len().min(out.len());
                out[..n].copy_from_slice(&buf[..n]);
                n
            };
            self.consume(n);
            Ok(n)
        }
    }

    impl BufRead for Pieces<'_> {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            if self.avail == 0 {
                let left = self.data.len() - self.pos;
                self.avail = left.min(1 + self.rng.below(7) as usize);
            }
            Ok(&self.data[self.pos..self.pos + self.avail])
        }
        fn consume(&mut self, n: usize) {
            self.pos += n;
            self.avail -= n;
        }
    }

    fn decode(input: &[u8], seed: u64) -> io::Result<Vec<u8>> {
        let mut src = Pieces::new(input, seed);
        let mut dec = ChunkedDecoder::new();
        let mut out = Vec::new();
        let mut buf = [0u8; 5];
        loop {
            let n = dec.read(&mut src, &mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
            assert!(out.len() <= input.len(), "decoded more than the input");
        }
    }

    fn encode(body: &[u8], rng: &mut Rng) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            let n = (1 + rng.below(40) as usize).min(rest.len());
            if rng.below(3) == 0 {
                out.extend_from_slice(format!("{n:x};name=value\r\n").as_bytes());
            } else {
                out.extend_from_slice(format!("{n:X}\r\n").as_bytes());
            }
            out.extend_from_slice(&rest[..n]);
            out.extend_from_slice(b"\r\n");
            rest = &rest[n..];
        }
        out.extend_from_slice(b"0\r\n");
        if rng.below(2) == 0 {
            out.extend_from_slice(b"X-Trailer: yes\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    #[test]
    fn decodes_simple_body_and_leaves_following_bytes() {
        let input = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\nGET /next";
        let mut src: &[u8] = input;
        let mut dec = ChunkedDecoder::new();
        let mut body = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            let n = dec.read(&mut src, &mut buf).unwrap();
            if n == 0 {
                break;
            }
            body.extend_from_slice(&buf[..n]);
        }
        assert_eq!(body, b"hello world");
        assert!(dec.is_done());
        assert_eq!(src, b"GET /next");
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        let cases: &[(&[u8], io::ErrorKind)] = &[
            (b"", io::ErrorKind::UnexpectedEof),
            (b"5\r\nhel", io::ErrorKind::UnexpectedEof),
            (b"5\r\nhello\r\n", io::ErrorKind::UnexpectedEof),
            (b"5\r\nhello\r\n0\r\n", io::ErrorKind::UnexpectedEof),
            (b"zz\r\n", io::ErrorKind::InvalidData),
            (b"\r\n", io::ErrorKind::InvalidData),
            (b"-5\r\nhello\r\n0\r\n\r\n", io::ErrorKind::InvalidData),
            (b"5\r\nhelloXX0\r\n\r\n", io::ErrorKind::InvalidData),
            (b"5\rX\nhello\r\n0\r\n\r\n", io::ErrorKind::InvalidData),
            (b"11111111111111111\r\n", io::ErrorKind::InvalidData),
            (b"5;\x01\r\nhello\r\n0\r\n\r\n", io::ErrorKind::InvalidData),
        ];
        for (input, kind) in cases {
            let err = decode(input, 1).unwrap_err();
            assert_eq!(
                err.kind(),
                *kind,
                "input {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn rejects_unbounded_size_line_and_trailers() {
        let mut long = b"1;".to_vec();
        long.resize(MAX_SIZE_LINE + 10, b'a');
        assert_eq!(
            decode(&long, 2).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let mut trailers = b"0\r\n".to_vec();
        while trailers.len() < MAX_TRAILER_BYTES + 100 {
            trailers.extend_from_slice(b"X: y\r\n");
        }
        assert_eq!(
            decode(&trailers, 3).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }

    #[test]
    fn round_trips_random_bodies_under_random_splits() {
        let mut rng = Rng::new(0x5eed);
        for case in 0..500 {
            let len = rng.below(300) as usize;
            let body: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
            let encoded = encode(&body, &mut rng);
            assert_eq!(decode(&encoded, case).unwrap(), body, "case {case}");
        }
    }

    #[test]
    fn mutated_inputs_never_panic_and_stay_bounded() {
        let mut rng = Rng::new(42);
        for case in 0..3000 {
            let len = rng.below(200) as usize;
            let body: Vec<u8> = (0..len).map(|_| b'a' + rng.below(26) as u8).collect();
            let mut input = encode(&body, &mut rng);
            for _ in 0..1 + rng.below(4) {
                rng.mutate(&mut input);
            }
            match decode(&input, case) {
                Ok(out) => assert!(out.len() <= input.len()),
                Err(e) => assert!(
                    matches!(
                        e.kind(),
                        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
                    ),
                    "unexpected error kind {e:?}"
                ),
            }
        }
    }

    #[test]
    fn truncating_a_valid_body_anywhere_is_an_eof_error() {
        let mut rng = Rng::new(7);
        let body = b"The quick brown fox jumps over the lazy dog".repeat(5);
        let encoded = encode(&body, &mut rng);
        for cut in 0..encoded.len() {
            let err = decode(&encoded[..cut], cut as u64).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "cut at {cut}");
        }
    }
}
