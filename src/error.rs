//! The one error type of the HTTP layer, and the one place where errors become statuses and
//! messages. The store has its own [`StoreError`]; it never builds a response.

use rouille::Response;
use std::fmt;
use std::io;

/// Errors from the storage layer.
#[derive(Debug)]
pub enum StoreError {
    /// No such entry (or guest link).
    NotFound,
    /// A guest link is disabled, past its URL expiration, or out of uploads.
    GuestLinkInactive,
    /// The disk (or SQLite's file) is full.
    Full,
    /// Any other SQLite failure.
    Sqlite(rusqlite::Error),
    /// Any other I/O failure (spool file, database folder).
    Io(io::Error),
    /// The database is one we must not open (an unknown schema version, or tables that are
    /// not what its version says); the reason names the version. Nothing was written.
    Schema(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotFound => f.write_str("not found"),
            StoreError::GuestLinkInactive => f.write_str("guest link is no longer active"),
            StoreError::Full => f.write_str("disk full"),
            StoreError::Sqlite(e) => write!(f, "sqlite: {e}"),
            StoreError::Io(e) => write!(f, "io: {e}"),
            StoreError::Schema(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull => {
                StoreError::Full
            }
            e => StoreError::Sqlite(e),
        }
    }
}

impl From<io::Error> for StoreError {
    fn from(e: io::Error) -> Self {
        if e.raw_os_error() == Some(libc::ENOSPC) {
            StoreError::Full
        } else {
            StoreError::Io(e)
        }
    }
}

/// What a handler can fail with. Each variant has exactly one status.
#[derive(Debug)]
pub enum Error {
    /// 400 with the given reason.
    BadRequest(String),
    /// 401 with the given reason.
    Unauthorized(&'static str),
    /// 401 for admin routes: also clears the session cookie, as PicoShare does.
    AuthRequired,
    /// 404 with the given reason.
    NotFound(&'static str),
    /// 405: the path exists, the method does not. Carries the allowed methods.
    MethodNotAllowed(&'static str),
    /// 403 with the given reason.
    Forbidden(&'static str),
    /// 413 with the given reason.
    TooLarge(String),
    /// 429: carries the seconds to wait (`Retry-After`).
    TooManyRequests(u64),
    /// 416: carries the file size for `Content-Range: bytes */SIZE`.
    RangeNotSatisfiable(u64),
    /// 507 with the given reason.
    InsufficientStorage(String),
    /// 500: the detail is logged, the client sees a short message.
    Internal(String),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Error::NotFound("entry not found"),
            StoreError::GuestLinkInactive => Error::Unauthorized("Guest link is no longer active"),
            StoreError::Full => {
                Error::InsufficientStorage("the server's disk is full; nothing was stored".into())
            }
            e => Error::Internal(e.to_string()),
        }
    }
}

impl Error {
    /// The status code of this error.
    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest(_) => 400,
            Error::Unauthorized(_) | Error::AuthRequired => 401,
            Error::NotFound(_) => 404,
            Error::Forbidden(_) => 403,
            Error::MethodNotAllowed(_) => 405,
            Error::TooLarge(_) => 413,
            Error::TooManyRequests(_) => 429,
            Error::RangeNotSatisfiable(_) => 416,
            Error::InsufficientStorage(_) => 507,
            Error::Internal(_) => 500,
        }
    }

    /// Builds the plain-text response (PicoShare's `http.Error` shape: message and newline).
    pub fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            Error::BadRequest(m) | Error::TooLarge(m) | Error::InsufficientStorage(m) => m.clone(),
            Error::Unauthorized(m) | Error::NotFound(m) | Error::Forbidden(m) => (*m).to_owned(),
            Error::TooManyRequests(s) => {
                format!("too many failed logins; try again in {s} seconds")
            }
            Error::AuthRequired => "Authentication required".into(),
            Error::MethodNotAllowed(_) => "Method not allowed".into(),
            Error::RangeNotSatisfiable(_) => "Requested range not satisfiable".into(),
            Error::Internal(detail) => {
                eprintln!("picoshare: internal error: {detail}");
                "Internal error".into()
            }
        };
        let mut r = Response::text(format!("{message}\n"))
            .with_status_code(status)
            .with_unique_header("X-Content-Type-Options", "nosniff");
        match self {
            Error::AuthRequired => {
                r = r.with_additional_header("Set-Cookie", crate::auth::clearing_cookie());
            }
            Error::MethodNotAllowed(allow) => r = r.with_unique_header("Allow", allow),
            Error::TooManyRequests(secs) => {
                r = r.with_unique_header("Retry-After", secs.to_string());
            }
            Error::RangeNotSatisfiable(size) => {
                r = r.with_unique_header("Content-Range", format!("bytes */{size}"));
            }
            _ => {}
        }
        r
    }
}

/// Shorthand for handler results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
