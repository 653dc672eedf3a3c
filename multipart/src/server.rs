//! The server side, as `multipart` 0.18 names it: [`Multipart`] reads a body part by part;
//! each [`MultipartField`] has its [`FieldHeaders`] and a streaming [`MultipartData`] reader.
//!
//! ```
//! use std::io::Read;
//! use multipart::server::Multipart;
//!
//! let body: &[u8] = b"--XX\r\nContent-Disposition: form-data; name=\"file\"; \
//!     filename=\"a; b.txt\"\r\n\r\nabc--XX--tail\r\n--XX--\r\n";
//! let mut form = Multipart::with_body(body, "XX");
//! let mut field = form.read_entry().unwrap().unwrap();
//! assert_eq!(field.headers.filename.as_deref(), Some("a; b.txt"));
//! let mut data = Vec::new();
//! field.data.read_to_end(&mut data).unwrap();
//! assert_eq!(data, b"abc--XX--tail");
//! assert!(form.read_entry().unwrap().is_none());
//! ```

use std::io::{self, BufRead, Read};

pub use crate::error::{Error, Stage};
pub use crate::headers::FieldHeaders;
pub use crate::params::{boundary_of, ContentTypeError};
pub use crate::scan::{MAX_PADDING, MIN_BUFFER};

use crate::scan::{Scanner, Step};

/// The bounds one body is read under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest header block of one part (its header lines and the blank line after them).
    /// Beyond it the body is refused with [`Error::HeaderTooLarge`]; the block is held in
    /// memory while it is parsed, so this bounds that allocation.
    pub max_part_header: usize,
    /// The one read buffer, allocated once per body (raised to [`MIN_BUFFER`]). Content is
    /// copied out of it; it never grows.
    pub read_buffer: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // Room for a few long headers: a file name of PicoShare's 255 bytes takes at most
            // 765 percent-encoded; anything near this bound is not a form a browser sent.
            max_part_header: 16 << 10,
            // The size multipart 0.18's buffer had.
            read_buffer: 8 << 10,
        }
    }
}

#[derive(Debug)]
enum State {
    /// Before the first delimiter.
    Preamble,
    /// At a part's header block.
    Headers,
    /// Inside a part's content.
    Data,
    /// The close delimiter was read.
    Done,
    /// The body was refused; every later call fails the same way.
    Failed(Error),
}

/// A `multipart/form-data` body, read part by part.
pub struct Multipart<R> {
    scanner: Scanner<R>,
    state: State,
    limits: Limits,
    /// The header block being read; reused from part to part.
    header_block: Vec<u8>,
}

impl<R: Read> Multipart<R> {
    /// Reads `body` with `boundary` (without the leading `--`) under default [`Limits`].
    pub fn with_body<B: Into<String>>(body: R, boundary: B) -> Self {
        Self::with_limits(body, boundary, Limits::default())
    }

    /// Reads `body` with `boundary` under `limits`. An invalid boundary (see
    /// [`boundary_of`]) makes the first [`Multipart::read_entry`] fail.
    pub fn with_limits<B: Into<String>>(body: R, boundary: B, limits: Limits) -> Self {
        let boundary = boundary.into();
        let state = match crate::params::check_boundary(boundary.as_bytes()) {
            Ok(()) => State::Preamble,
            Err(e) => State::Failed(e),
        };
        Multipart {
            scanner: Scanner::new(body, boundary.as_bytes(), limits.read_buffer),
            state,
            limits,
            header_block: Vec::new(),
        }
    }

    /// The next part, skipping whatever is left of the previous one; `Ok(None)` once the
    /// close delimiter has been read. An error (see [`Error::from_io`]) ends the body: every
    /// later call returns it again.
    pub fn read_entry(&mut self) -> io::Result<Option<MultipartField<&mut Self>>> {
        match self.next_headers() {
            Ok(Some(headers)) => Ok(Some(MultipartField {
                headers,
                data: MultipartData { inner: self },
            })),
            Ok(None) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn fail(&mut self, e: Error) -> Error {
        self.state = State::Failed(e.clone());
        e
    }

    fn next_headers(&mut self) -> Result<Option<FieldHeaders>, Error> {
        loop {
            match &self.state {
                State::Failed(e) => return Err(e.clone()),
                State::Done => return Ok(None),
                State::Preamble | State::Data => {
                    // Skip the preamble or the rest of the current part.
                    while let Step::Content(n) = self.step()? {
                        self.scanner.consume(n);
                    }
                }
                State::Headers => {
                    let headers = self
                        .read_header_block()
                        .and_then(|()| crate::headers::parse(&self.header_block))
                        .map_err(|e| self.fail(e))?;
                    self.scanner.begin_section();
                    self.state = State::Data;
                    return Ok(Some(headers));
                }
            }
        }
    }

    /// The next step of the preamble or of a part's content; a delimiter moves the state on.
    fn step(&mut self) -> Result<Step, Error> {
        let stage = match self.state {
            State::Preamble => Stage::Preamble,
            _ => Stage::Data,
        };
        match self.scanner.next_step() {
            Ok(Step::Delimiter { close }) => {
                self.state = if close { State::Done } else { State::Headers };
                Ok(Step::Delimiter { close })
            }
            Ok(step) => Ok(step),
            Err(e) => Err(self.fail(e.unwrap_or(Error::Incomplete(stage)))),
        }
    }

    /// Reads a part's header block, through the blank line, into `header_block`.
    fn read_header_block(&mut self) -> Result<(), Error> {
        let max = self.limits.max_part_header;
        let block = &mut self.header_block;
        block.clear();
        loop {
            let raw = self.scanner.raw()?;
            if raw.is_empty() {
                return Err(Error::Incomplete(Stage::Headers));
            }
            let mut used = 0;
            let mut complete = false;
            for &b in raw {
                used += 1;
                block.push(b);
                if block.len() > max {
                    return Err(Error::HeaderTooLarge(max));
                }
                if b == b'\n' && (block == b"\r\n" || block.ends_with(b"\r\n\r\n")) {
                    complete = true;
                    break;
                }
            }
            self.scanner.consume_raw(used);
            if complete {
                return Ok(());
            }
        }
    }

    /// The current part's next content bytes; empty at its end.
    fn data(&mut self) -> Result<&[u8], Error> {
        match &self.state {
            State::Data => {}
            State::Failed(e) => return Err(e.clone()),
            _ => return Ok(&[]),
        }
        match self.step()? {
            Step::Content(n) => Ok(self.scanner.content(n)),
            Step::Delimiter { .. } => Ok(&[]),
        }
    }
}

/// One part: its headers and its content.
#[derive(Debug)]
pub struct MultipartField<M> {
    /// The part's headers (client-supplied values).
    pub headers: FieldHeaders,
    /// The part's content.
    pub data: MultipartData<M>,
}

impl<M> MultipartField<M> {
    /// Whether the part has no `Content-Type` or a `text/*` one (RFC 7578 §4.4: the default
    /// is `text/plain`).
    pub fn is_text(&self) -> bool {
        self.headers.content_type.as_deref().map_or(true, |ct| {
            ct.get(..5).is_some_and(|t| t.eq_ignore_ascii_case("text/"))
        })
    }
}

/// A part's content, read straight from the body: it ends at the part's delimiter, and a
/// body that ends first is an error (never a clean end of file).
#[derive(Debug)]
pub struct MultipartData<M> {
    inner: M,
}

impl<R: Read> BufRead for MultipartData<&mut Multipart<R>> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.data().map_err(io::Error::from)
    }

    fn consume(&mut self, n: usize) {
        self.inner.scanner.consume(n);
    }
}

impl<R: Read> Read for MultipartData<&mut Multipart<R>> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R> std::fmt::Debug for Multipart<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Multipart")
            .field("state", &self.state)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::trickle::Trickle;

    /// Every part as (name, filename, content type, data), or the error that ended the body.
    type Parts = Vec<(String, Option<String>, Option<String>, Vec<u8>)>;

    fn read_all(body: &[u8], boundary: &str, step: usize, limits: Limits) -> Result<Parts, Error> {
        let mut form = Multipart::with_limits(Trickle { data: body, step }, boundary, limits);
        let mut parts = Vec::new();
        let err = |e: io::Error| Error::from_io(&e).cloned().expect("our own error");
        while let Some(mut field) = form.read_entry().map_err(err)? {
            let mut data = Vec::new();
            field.data.read_to_end(&mut data).map_err(err)?;
            let h = field.headers;
            parts.push((h.name.to_string(), h.filename, h.content_type, data));
        }
        Ok(parts)
    }

    fn small(read_buffer: usize) -> Limits {
        Limits {
            read_buffer,
            ..Limits::default()
        }
    }

    fn part(name: &str, filename: &str, data: &[u8]) -> Vec<u8> {
        [
            format!("--B\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\r\n")
                .as_bytes(),
            data,
            b"\r\n",
        ]
        .concat()
    }

    #[test]
    fn the_boundary_inside_content_is_content() {
        let data = b"abc--B--tail\r\n--Bx\r\n--B \tz\r\n--B--y\r\n-\r\n--\r\n--B-\r\nB--B\r";
        let body = [part("file", "a.txt", data), b"--B--\r\n".to_vec()].concat();
        for step in [1, 2, 3, 5, 64, body.len()] {
            let parts = read_all(&body, "B", step, small(0)).unwrap();
            assert_eq!(parts.len(), 1, "step {step}");
            assert_eq!(parts[0].3, data, "step {step}");
        }
    }

    #[test]
    fn delimiter_prefixes_at_every_offset_across_every_buffer_edge() {
        // Every prefix of a delimiter line, and full delimiters followed by other bytes,
        // placed so that they straddle the first and second buffer edges at every offset
        // (reads that fill the buffer), and read again in 1- and 7-byte reads.
        let boundary = "q".repeat(70);
        let delimiter = format!("\r\n--{boundary}");
        let mut pieces: Vec<Vec<u8>> = (1..=delimiter.len())
            .map(|k| delimiter.as_bytes()[..k].to_vec())
            .collect();
        for tail in [
            &b"x"[..],
            b"--x",
            b" x",
            b"\t \r",
            b"\rx",
            b"-",
            b" \r-",
            b"--\rx",
        ] {
            pieces.push([delimiter.as_bytes(), tail].concat());
        }
        let head = format!("--{boundary}\r\nContent-Disposition: form-data; name=f\r\n\r\n");
        for read_buffer in [MIN_BUFFER, 300] {
            for piece in &pieces {
                // Data offsets where the piece covers body offset k × read_buffer.
                let straddling = |k: usize| {
                    let edge = k * read_buffer - head.len();
                    edge.saturating_sub(piece.len() + 1)..edge + 2
                };
                for offset in straddling(1).chain(straddling(2)) {
                    let mut data = vec![b'.'; offset];
                    data.extend_from_slice(piece);
                    data.extend_from_slice(b"...");
                    let body = [
                        head.as_bytes(),
                        &data,
                        format!("\r\n--{boundary}--").as_bytes(),
                    ]
                    .concat();
                    for step in [1, 7, usize::MAX] {
                        let parts = read_all(&body, &boundary, step, small(read_buffer))
                            .unwrap_or_else(|e| panic!("offset {offset} step {step}: {e}"));
                        assert_eq!(parts.len(), 1);
                        assert!(
                            parts[0].3 == data,
                            "offset {offset} step {step} piece {:?}",
                            String::from_utf8_lossy(piece)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn parts_headers_and_order() {
        let body = b"preamble --B\r\n\r\n--B \r\n\
            Content-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n\
            --B\t\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a; b.csv\"\r\n\
            Content-Type: text/csv\r\n\r\n\r\n--B\r\n\
            Content-Disposition: form-data; name=empty\r\n\r\n\r\n\
            --B--  \r\nepilogue --B\r\n";
        let want: Parts = vec![
            ("note".into(), None, None, b"hello".to_vec()),
            (
                "file".into(),
                Some("a; b.csv".into()),
                Some("text/csv".into()),
                b"".to_vec(),
            ),
            ("empty".into(), None, None, b"".to_vec()),
        ];
        for step in 1..=body.len() {
            assert_eq!(
                read_all(body, "B", step, small(0)),
                Ok(want.clone()),
                "step {step}"
            );
        }
    }

    #[test]
    fn a_part_without_content_may_end_right_after_its_headers() {
        // RFC 2046: body-part := headers [CRLF *OCTET]; with no content, the blank line's CRLF
        // is also the delimiter's.
        let body = b"--B\r\nContent-Disposition: form-data; name=a\r\n\r\n--B\r\n\
            Content-Disposition: form-data; name=b\r\n\r\n--B--";
        let want: Parts = vec![
            ("a".into(), None, None, Vec::new()),
            ("b".into(), None, None, Vec::new()),
        ];
        for step in 1..=body.len() {
            assert_eq!(
                read_all(body, "B", step, small(0)),
                Ok(want.clone()),
                "step {step}"
            );
        }
    }

    #[test]
    fn every_strict_prefix_is_incomplete_and_never_a_shorter_part() {
        let body = [
            b"--B\r\nContent-Disposition: form-data; name=note\r\n\r\nhi\r\n".to_vec(),
            part("file", "f.bin", b"data\r\n--B-\r\nmore"),
            b"--B--".to_vec(),
        ]
        .concat();
        assert!(read_all(&body, "B", 3, small(0)).is_ok());
        for cut in 0..body.len() {
            let got = read_all(&body[..cut], "B", 3, small(0));
            assert!(
                matches!(got, Err(Error::Incomplete(_))),
                "cut {cut}: {got:?}"
            );
        }
        // A cut inside a part's data is an error from the data reader itself, not Ok(0).
        let cut = body.len() - 12;
        let mut form = Multipart::with_body(&body[..cut], "B");
        form.read_entry().unwrap().unwrap();
        let mut field = form.read_entry().unwrap().unwrap();
        let e = field.data.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(Error::from_io(&e), Some(&Error::Incomplete(Stage::Data)));
        // The error sticks.
        let again = form.read_entry().unwrap_err();
        assert_eq!(
            Error::from_io(&again),
            Some(&Error::Incomplete(Stage::Data))
        );
    }

    #[test]
    fn refusals_are_distinct() {
        let limits = Limits {
            max_part_header: 100,
            read_buffer: 0,
        };
        let head = |h: &str| format!("--B\r\n{h}\r\n\r\nx\r\n--B--").into_bytes();
        let cd = "Content-Disposition: form-data; name=f";
        let cases: Vec<(Vec<u8>, Error)> = vec![
            (
                head(&format!("{cd}; filename=\"{}\"", "n".repeat(60))),
                Error::HeaderTooLarge(100),
            ),
            (
                format!("--B\r\n{cd}\r\nX: {}", "y".repeat(200)).into_bytes(),
                Error::HeaderTooLarge(100),
            ),
            (
                head(&format!("{cd}; filename=\"a\0b\"")),
                Error::BadFilename("the filename has a control character (0x00)".into()),
            ),
            (
                head(&format!("{cd}; filename=\"a\nb\"")),
                Error::BadFilename("the filename has a control character (0x0a)".into()),
            ),
            (
                head("Content-Disposition: form-data"),
                Error::BadContentDisposition("no name parameter".into()),
            ),
            (
                head("X: y"),
                Error::BadContentDisposition("a part has no Content-Disposition header".into()),
            ),
            (
                format!("--B{}\r\n", " ".repeat(MAX_PADDING + 1)).into_bytes(),
                Error::PaddingTooLong(MAX_PADDING),
            ),
            (
                b"--B\r\nContent-Disposition: form".to_vec(),
                Error::Incomplete(Stage::Headers),
            ),
            (
                b"no boundary here".to_vec(),
                Error::Incomplete(Stage::Preamble),
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                read_all(&body, "B", 5, limits).map(|_| ()),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(&body)
            );
        }
        assert!(matches!(
            read_all(b"--\r\n", "", 5, limits),
            Err(Error::InvalidBoundary(_))
        ));
        // Right at the limit is fine.
        let exact = format!(
            "{cd}; filename=\"{}\"\r\n\r\n",
            "n".repeat(100 - cd.len() - 17)
        );
        assert_eq!(exact.len(), 100);
        let body = format!("--B\r\n{exact}x\r\n--B--");
        assert!(read_all(body.as_bytes(), "B", 5, limits).is_ok());
    }

    #[test]
    fn a_failing_source_is_an_incomplete_body() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::TimedOut, "stalled"))
            }
        }
        let e = Multipart::with_body(Broken, "B").read_entry().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        let refused = Error::from_io(&e).unwrap();
        assert!(refused.is_incomplete());
        assert!(
            refused.to_string().starts_with("upload incomplete"),
            "{refused}"
        );
    }

    #[test]
    fn is_text_follows_rfc_7578() {
        let body = b"--B\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n\
            --B\r\nContent-Disposition: form-data; name=b\r\nContent-Type: TEXT/plain\r\n\r\n\r\n\
            --B\r\nContent-Disposition: form-data; name=c\r\nContent-Type: image/png\r\n\r\n\r\n--B--";
        let mut form = Multipart::with_body(&body[..], "B");
        let mut kinds = Vec::new();
        while let Some(f) = form.read_entry().unwrap() {
            kinds.push(f.is_text());
        }
        assert_eq!(kinds, [true, true, false]);
    }
}
