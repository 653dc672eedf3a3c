//! The delimiter scanner: the body read through one fixed buffer, split into content and
//! delimiters exactly as RFC 2046 §5.1.1 defines them.
//!
//! A delimiter is `CRLF--boundary`, then either `--` (the close delimiter) or nothing, then
//! optional whitespace (transport padding), then CRLF; the close delimiter may also end the
//! body. Where the preceding line break was already consumed — at the start of the body, and
//! after a part's header block — the delimiter may start without its CRLF. Every other byte
//! sequence, including the boundary string in the middle of a line or followed by other
//! bytes, is content.
//!
//! Bytes are handed out as content as soon as no delimiter can start in them; only a possible
//! delimiter at the end of the buffer (shorter than one delimiter line) is kept back while
//! more of the body is read, so the look-behind across reads is bounded by one delimiter line
//! and the buffer never grows.

use std::io::{self, Read};

use crate::error::Error;

/// Most whitespace accepted between a boundary and the end of its line. RFC 2046 sets no
/// bound; real clients send none. A longer run is refused rather than held.
pub const MAX_PADDING: usize = 64;

/// The longest boundary RFC 2046 allows.
pub const MAX_BOUNDARY: usize = 70;

/// Smallest read buffer: it must hold the longest undecided delimiter line (CRLF, `--`, a
/// 70-byte boundary, `--`, padding, CRLF: 142 bytes) with room to read more.
pub const MIN_BUFFER: usize = 256;

/// What comes next in the current section (preamble or part content).
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// This many bytes at the read position are content.
    Content(usize),
    /// A delimiter was found and consumed (with its line end); `close` for `--boundary--`.
    Delimiter { close: bool },
}

/// How a candidate position relates to a delimiter.
#[derive(Debug, PartialEq, Eq)]
enum Class {
    /// Not a delimiter: the byte there is content.
    No,
    /// A delimiter of `len` bytes (including its line end) starts there.
    Yes { len: usize, close: bool },
    /// Could still become a delimiter: more bytes are needed to tell.
    More,
    /// Whitespace after the boundary runs past [`MAX_PADDING`].
    TooMuchPadding,
}

/// Whether `s` starts with a delimiter whose leading bytes are `pattern` (`CRLF--boundary`,
/// or `--boundary` where the line break was already consumed). `eof`: no more bytes follow.
fn classify(s: &[u8], pattern: &[u8], eof: bool) -> Class {
    // Byte by byte: most CRs in content fail on the next byte, so this returns at once.
    if s.iter().zip(pattern).any(|(a, b)| a != b) {
        return Class::No;
    }
    let undecided = if eof { Class::No } else { Class::More };
    let mut i = pattern.len();
    if s.len() < i {
        return undecided;
    }
    let close = s.get(i) == Some(&b'-');
    if close {
        match s.get(i + 1) {
            None => return undecided,
            Some(b'-') => i += 2,
            Some(_) => return Class::No,
        }
    }
    let padding = i;
    while let Some(b' ' | b'\t') = s.get(i) {
        i += 1;
        if i - padding > MAX_PADDING {
            return Class::TooMuchPadding;
        }
    }
    match (s.get(i), s.get(i + 1)) {
        (Some(b'\r'), Some(b'\n')) => Class::Yes { len: i + 2, close },
        // The close delimiter may end the body, with or without its CRLF.
        (None, _) | (Some(b'\r'), None) if close && eof => Class::Yes {
            len: s.len(),
            close,
        },
        (None, _) | (Some(b'\r'), None) => undecided,
        _ => Class::No,
    }
}

/// Index of the first CRLF in `s`, or of a CR that ends `s` (its LF may follow in the next
/// read): where a delimiter can start. Tests 16 positions at a time as 64-bit words (the
/// "has zero byte" bit trick), which does not rely on the compiler vectorizing: the server is
/// built for size, where it does not. Lone CRs (binary data) are skipped as fast as any byte.
fn find_line_break(s: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    // The high bit of every byte of the word at `i` that equals `b` (and perhaps of a byte
    // right above one: callers check what they find).
    let bytes_equal = |i: usize, b: u8| -> Option<u64> {
        let w = <[u8; 8]>::try_from(s.get(i..i + 8)?).ok()?;
        let x = u64::from_le_bytes(w) ^ u64::from_le_bytes([b; 8]);
        Some(x.wrapping_sub(ONES) & !x & HIGHS)
    };
    // Positions i..i+8 holding a CR whose next byte is an LF.
    let crlfs = |i: usize| Some(bytes_equal(i, b'\r')? & bytes_equal(i + 1, b'\n')?);
    let is_break = |at: usize| s[at] == b'\r' && s.get(at + 1).map_or(true, |&b| b == b'\n');
    let mut i = 0;
    while let (Some(a), Some(b)) = (crlfs(i), crlfs(i + 8)) {
        let found = if a != 0 {
            i + (a.trailing_zeros() / 8) as usize
        } else if b != 0 {
            i + 8 + (b.trailing_zeros() / 8) as usize
        } else {
            i += 16;
            continue;
        };
        if is_break(found) {
            return Some(found);
        }
        i = found + 1;
    }
    (i..s.len()).find(|&j| is_break(j))
}

/// The body, read through one buffer of fixed size.
pub struct Scanner<R> {
    src: R,
    buf: Box<[u8]>,
    /// Read position.
    pos: usize,
    /// End of the bytes read into `buf`.
    end: usize,
    /// The source has ended.
    eof: bool,
    /// `CRLF--boundary`.
    delimiter: Box<[u8]>,
    /// `buf[pos..safe]` is known to be content.
    safe: usize,
    /// A section starts at `pos` right after a consumed line break: a delimiter may start
    /// there without its CRLF.
    line_start: bool,
}

impl<R: Read> Scanner<R> {
    /// A scanner over `src` for `boundary` (already validated: 1–70 bytes, no CR or LF) with a
    /// buffer of `capacity` bytes (raised to [`MIN_BUFFER`]). It starts at a line start: the
    /// body's first delimiter needs no CRLF.
    pub fn new(src: R, boundary: &[u8], capacity: usize) -> Self {
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary);
        Scanner {
            src,
            buf: vec![0; capacity.max(MIN_BUFFER)].into_boxed_slice(),
            pos: 0,
            end: 0,
            eof: false,
            delimiter: delimiter.into_boxed_slice(),
            safe: 0,
            line_start: true,
        }
    }

    /// The buffer's size (fixed for the scanner's life).
    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Marks the read position as the start of a new section right after a line break (the
    /// blank line ending a part's headers).
    pub fn begin_section(&mut self) {
        self.safe = self.pos;
        self.line_start = true;
    }

    /// The next step in the current section. `Content(n)` leaves the bytes in place (see
    /// [`Scanner::content`]); a delimiter is consumed. `Err(None)` means the body ended first.
    pub fn next_step(&mut self) -> Result<Step, Option<Error>> {
        loop {
            if self.safe > self.pos {
                return Ok(Step::Content(self.safe - self.pos));
            }
            if self.line_start {
                let pattern = &self.delimiter[2..];
                match classify(&self.buf[self.pos..self.end], pattern, self.eof) {
                    Class::Yes { len, close } => return Ok(self.take_delimiter(len, close)),
                    Class::More => {
                        self.fill().map_err(Some)?;
                        continue;
                    }
                    Class::TooMuchPadding => return Err(Some(Error::PaddingTooLong(MAX_PADDING))),
                    Class::No => self.line_start = false,
                }
            }
            // Content runs up to the first position where a delimiter starts or may start.
            let mut from = self.pos;
            let decided = loop {
                let Some(at) = find_line_break(&self.buf[from..self.end]).map(|p| from + p) else {
                    break self.end;
                };
                match classify(&self.buf[at..self.end], &self.delimiter, self.eof) {
                    Class::No => from = at + 1,
                    Class::Yes { len, close } if at == self.pos => {
                        return Ok(self.take_delimiter(len, close))
                    }
                    Class::TooMuchPadding if at == self.pos => {
                        return Err(Some(Error::PaddingTooLong(MAX_PADDING)))
                    }
                    Class::Yes { .. } | Class::More | Class::TooMuchPadding => break at,
                }
            };
            self.safe = decided;
            if self.safe == self.pos {
                // Nothing decided: the buffer is empty or starts with an undecided delimiter.
                if self.eof {
                    return Err(None);
                }
                self.fill().map_err(Some)?;
            }
        }
    }

    fn take_delimiter(&mut self, len: usize, close: bool) -> Step {
        self.pos += len;
        self.safe = self.pos;
        self.line_start = false;
        Step::Delimiter { close }
    }

    /// The `n` content bytes at the read position reported by [`Scanner::next_step`].
    pub fn content(&self, n: usize) -> &[u8] {
        &self.buf[self.pos..self.pos + n]
    }

    /// Consumes `n` bytes of known content.
    pub fn consume(&mut self, n: usize) {
        debug_assert!(self.pos + n <= self.safe, "consumed past the known content");
        self.pos = (self.pos + n).min(self.safe);
    }

    /// Raw bytes at the read position (for part headers, which are not scanned for
    /// delimiters), reading more when none are buffered; empty at the end of the body.
    pub fn raw(&mut self) -> Result<&[u8], Error> {
        if self.pos == self.end && !self.eof {
            self.fill()?;
        }
        Ok(&self.buf[self.pos..self.end])
    }

    /// Consumes `n` raw bytes.
    pub fn consume_raw(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.end);
        self.safe = self.safe.max(self.pos);
    }

    /// Moves the unread bytes to the front of the buffer and reads once more into the rest.
    fn fill(&mut self) -> Result<(), Error> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.safe -= self.pos;
            self.pos = 0;
        }
        debug_assert!(
            self.end < self.buf.len(),
            "an undecided delimiter filled the buffer"
        );
        loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::Source(e.kind(), e.to_string())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &[u8] = b"\r\n--XX";

    #[test]
    fn classify_follows_rfc_2046() {
        use Class::*;
        let cases: &[(&[u8], bool, Class)] = &[
            (
                b"\r\n--XX\r\n",
                false,
                Yes {
                    len: 8,
                    close: false,
                },
            ),
            (
                b"\r\n--XX \t \r\nabc",
                false,
                Yes {
                    len: 11,
                    close: false,
                },
            ),
            (
                b"\r\n--XX--\r\n",
                false,
                Yes {
                    len: 10,
                    close: true,
                },
            ),
            (
                b"\r\n--XX--  \r\nepilogue",
                false,
                Yes {
                    len: 12,
                    close: true,
                },
            ),
            (
                b"\r\n--XX--",
                true,
                Yes {
                    len: 8,
                    close: true,
                },
            ),
            (
                b"\r\n--XX-- ",
                true,
                Yes {
                    len: 9,
                    close: true,
                },
            ),
            (
                b"\r\n--XX--\r",
                true,
                Yes {
                    len: 9,
                    close: true,
                },
            ),
            (b"\r\n--XX--", false, More),
            (b"\r\n--XX", false, More),
            (b"\r\n--X", false, More),
            (b"\r", false, More),
            (b"\r\n--XX  ", false, More),
            (b"\r\n--XX\r", false, More),
            (b"\r\n--XX-", false, More),
            // Followed by other bytes: content.
            (b"\r\n--XXY\r\n", false, No),
            (b"\r\n--XX y\r\n", false, No),
            (b"\r\n--XX--tail\r\n", false, No),
            (b"\r\n--XX-x", false, No),
            (b"\r\n--XX\rx", false, No),
            (b"\r\n--XX\n", false, No),
            (b"\r\n--Xy", false, No),
            (b"\r\r\n--XX\r\n", false, No),
            // At the end of the body, an unfinished delimiter is content.
            (b"\r\n--XX", true, No),
            (b"\r\n--XX ", true, No),
            (b"\r\n--XX-", true, No),
            (b"\r\n--X", true, No),
        ];
        for (s, eof, want) in cases {
            assert_eq!(
                classify(s, D, *eof),
                *want,
                "{:?} eof={eof}",
                String::from_utf8_lossy(s)
            );
        }
        let padded = [b"\r\n--XX".as_slice(), &[b' '; MAX_PADDING], b"\r\n"].concat();
        assert_eq!(
            classify(&padded, D, false),
            Yes {
                len: padded.len(),
                close: false
            }
        );
        let over = [b"\r\n--XX".as_slice(), &[b' '; MAX_PADDING + 1]].concat();
        assert_eq!(classify(&over, D, false), TooMuchPadding);
        // Where the line break was consumed, the delimiter starts at `--`.
        assert_eq!(
            classify(b"--XX\r\n", &D[2..], false),
            Yes {
                len: 6,
                close: false
            }
        );
        assert_eq!(classify(b"x--XX\r\n", &D[2..], false), No);
    }

    #[test]
    fn find_line_break_finds_the_first_crlf_or_final_cr_at_every_offset() {
        for len in 0..100 {
            for at in 0..=len {
                // Lone CRs before `at` are not line breaks; a CRLF at `at` is.
                let mut s = vec![b'a'; len];
                for j in (0..at).step_by(3) {
                    s[j] = b'\r';
                }
                if at + 1 < len {
                    s[at] = b'\r';
                    s[at + 1] = b'\n';
                }
                let want = if at + 1 < len {
                    Some(at)
                } else if len > 0 && s[len - 1] == b'\r' {
                    Some(len - 1)
                } else {
                    None
                };
                assert_eq!(find_line_break(&s), want, "len {len} at {at}");
            }
        }
    }

    #[test]
    fn find_line_break_agrees_with_a_byte_by_byte_search() {
        // Bytes next to CR and LF in value (0x0C, 0x0B, 0x0E) are the bit trick's possible
        // false positives.
        let naive = |s: &[u8]| {
            (0..s.len()).find(|&j| s[j] == b'\r' && s.get(j + 1).map_or(true, |&b| b == b'\n'))
        };
        let mut x = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 70) as usize;
            let s: Vec<u8> = (0..len)
                .map(|k| b"\r\n\x0c\x0b\x0e\x01a\r"[((x >> (k % 60)) % 8) as usize])
                .collect();
            assert_eq!(find_line_break(&s), naive(&s), "{s:?}");
        }
    }

    use crate::trickle::Trickle;

    /// Splits `body` into its sections' contents and delimiters.
    fn sections(
        body: &[u8],
        step: usize,
        capacity: usize,
    ) -> (Vec<Vec<u8>>, Result<(), Option<Error>>) {
        let mut s = Scanner::new(Trickle { data: body, step }, b"XX", capacity);
        let mut out = vec![Vec::new()];
        loop {
            match s.next_step() {
                Ok(Step::Content(n)) => {
                    out.last_mut().unwrap().extend_from_slice(s.content(n));
                    s.consume(n);
                }
                Ok(Step::Delimiter { close: true }) => return (out, Ok(())),
                Ok(Step::Delimiter { close: false }) => {
                    out.push(Vec::new());
                    s.begin_section();
                }
                Err(e) => return (out, Err(e)),
            }
            assert_eq!(
                s.capacity(),
                capacity.max(MIN_BUFFER),
                "the buffer never grows"
            );
        }
    }

    #[test]
    fn sections_are_the_same_for_every_read_size_and_buffer() {
        let body = b"pre\r\n--XXnot\r\n--XX\r\na--XX\r\n\r\n--X\r\n--XX--x\r\n--XX \r\n\r\n--XX\r\n--XX--\r\nepi";
        let want: Vec<Vec<u8>> = vec![
            b"pre\r\n--XXnot".to_vec(),
            b"a--XX\r\n\r\n--X\r\n--XX--x".to_vec(),
            Vec::new(),
            Vec::new(),
        ];
        for step in 1..=body.len() {
            for capacity in [MIN_BUFFER, 300, 1000] {
                let (got, end) = sections(body, step, capacity);
                assert_eq!(end, Ok(()), "step {step}");
                assert_eq!(got, want, "step {step} capacity {capacity}");
            }
        }
    }

    #[test]
    fn the_first_delimiter_needs_no_crlf_and_a_cut_body_is_incomplete() {
        let (got, end) = sections(b"--XX\r\nabc\r\n--XX--", 3, 0);
        assert_eq!((got, end), (vec![Vec::new(), b"abc".to_vec()], Ok(())));
        let body = b"--XX\r\nabc\r\n--XX--";
        for cut in 0..body.len() - 1 {
            let (_, end) = sections(&body[..cut], 1, 0);
            assert_eq!(end, Err(None), "cut at {cut}");
        }
    }
}
