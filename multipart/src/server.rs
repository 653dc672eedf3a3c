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
