//! Why a multipart body was refused: one variant per cause, so the server can tell a body that
//! ended early from a malformed or oversized one.

use std::fmt;
use std::io;

/// Where in the body the reader was when it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Before the first delimiter (no boundary line seen yet).
    Preamble,
    /// Inside a part's header block.
    Headers,
    /// Inside a part's content.
    Data,
}

/// A refused multipart body. Reads return it inside an [`io::Error`] (kind `UnexpectedEof`
/// for [`Error::Incomplete`], `InvalidData` otherwise); [`Error::from_io`] gets it back.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The body ended before the close delimiter `--boundary--`.
    Incomplete(Stage),
    /// Reading the body itself failed (connection reset, timeout, fewer bytes than
    /// `Content-Length` promised): the body is incomplete too.
    Source(io::ErrorKind, String),
    /// The boundary is not 1–70 printable ASCII characters not ending in a space.
    InvalidBoundary(String),
    /// One part's header block is larger than the limit (carried).
    HeaderTooLarge(usize),
    /// A part header is not `name: value`, or a header we read holds a control character.
    MalformedHeader(String),
    /// `Content-Disposition` is missing, not `form-data`, has no `name`, or its parameters
    /// cannot be parsed.
    BadContentDisposition(String),
    /// `filename` or `filename*` cannot be decoded, or holds a control character.
    BadFilename(String),
    /// A delimiter line has more whitespace after the boundary than the reader holds.
    PaddingTooLong(usize),
}

impl Error {
    /// The multipart error inside an I/O error returned by this crate, if it is one.
    pub fn from_io(e: &io::Error) -> Option<&Error> {
        e.get_ref().and_then(|inner| inner.downcast_ref::<Error>())
    }

    /// Whether the body simply ended (or could not be read) before the close delimiter, as
    /// opposed to being malformed.
    pub fn is_incomplete(&self) -> bool {
        matches!(self, Error::Incomplete(_) | Error::Source(..))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const INCOMPLETE: &str =
            "upload incomplete: the request body ended before the closing multipart boundary";
        match self {
            Error::Incomplete(Stage::Preamble) => {
                write!(f, "{INCOMPLETE} (no boundary line was found)")
            }
            Error::Incomplete(Stage::Headers) => {
                write!(f, "{INCOMPLETE} (inside a part's headers)")
            }
            Error::Incomplete(Stage::Data) => f.write_str(INCOMPLETE),
            Error::Source(_, e) => write!(f, "{INCOMPLETE} (reading it failed: {e})"),
            Error::InvalidBoundary(why) => write!(f, "bad multipart boundary: {why}"),
            Error::HeaderTooLarge(limit) => write!(
                f,
                "part header too large: a part's headers may be at most {limit} bytes"
            ),
            Error::MalformedHeader(why) => write!(f, "malformed part header: {why}"),
            Error::BadContentDisposition(why) => write!(f, "bad Content-Disposition: {why}"),
            Error::BadFilename(why) => write!(f, "bad filename: {why}"),
            Error::PaddingTooLong(max) => write!(
                f,
                "malformed multipart delimiter: more than {max} bytes of whitespace after a \
                 boundary"
            ),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match &e {
            Error::Incomplete(_) => io::ErrorKind::UnexpectedEof,
            Error::Source(kind, _) => *kind,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}
