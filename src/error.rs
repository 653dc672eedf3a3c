//! The one error type of the HTTP layer, and the one place where errors become responses
//! ([`Error::into_response`]): statuses, messages, their headers, and whether the client reads
//! text or an HTML page. The store has its own [`StoreError`]; it never builds a response.

use std::borrow::Cow;
use std::fmt;
use std::io;

use rouille::{Request, Response};

use crate::app::App;
use crate::html::encode_uri_component;

/// Errors from the storage layer.
#[derive(Debug)]
pub enum StoreError {
    /// No such entry (or guest link).
    NotFound,
    /// A guest link is disabled, past its URL expiration, or out of uploads.
    GuestLinkInactive,
    /// A resumable upload is no longer where this request found it: another request wrote to
    /// it first.
    Conflict,
    /// The disk (or SQLite's file) is full.
    Full,
    /// Storing the upload would leave less free disk than this floor (bytes) requires.
    DiskFloor(u64),
    /// A bounded table (API tokens) holds as many rows as it may.
    TooMany,
    /// The API token of an upload was revoked before the file was committed.
    TokenRevoked,
    /// Any other SQLite failure.
    Sqlite(rusqlite::Error),
    /// Any other I/O failure (spool file, database folder).
    Io(io::Error),
    /// A download-limited file (or bundle) has no download left.
    UsedUp,
    /// Ids that name no file (or an expired one).
    UnknownEntries(Vec<String>),
    /// An upload-scope API token named files it did not upload (in a bundle).
    NotOwnUploads,
    /// The file was replaced, and the bytes of the version a download started on are gone.
    Replaced,
    /// The database is one we must not open (an unknown schema version, or tables that are
    /// not what its version says); the reason names the version. Nothing was written.
    Schema(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotFound => f.write_str("not found"),
            StoreError::GuestLinkInactive => f.write_str("guest link is no longer active"),
            StoreError::Conflict => f.write_str("the upload was changed by another request"),
            StoreError::Full => f.write_str("disk full"),
            StoreError::DiskFloor(floor) => write!(f, "below the free-disk floor of {floor} bytes"),
            StoreError::TooMany => f.write_str("too many rows"),
            StoreError::TokenRevoked => f.write_str("API token revoked"),
            StoreError::Sqlite(e) => write!(f, "sqlite: {e}"),
            StoreError::Io(e) => write!(f, "io: {e}"),
            StoreError::Schema(why) => f.write_str(why),
            StoreError::Replaced => f.write_str("the file was replaced during the download"),
            StoreError::UsedUp => f.write_str("the link was used up"),
            StoreError::UnknownEntries(ids) => write!(f, "unknown entry IDs: {}", ids.join(", ")),
            StoreError::NotOwnUploads => f.write_str("files not uploaded with this API token"),
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
    /// 401 for admin API routes: also clears the session cookie, as PicoShare does.
    AuthRequired,
    /// 401 for a bad, revoked or expired API token (`Authorization: Bearer`), with RFC 6750's
    /// `WWW-Authenticate` and no cookie change.
    BadToken(&'static str),
    /// An admin page visited without a session: 303 to the login page, which comes back here.
    LoginRequired,
    /// 404 with the given reason.
    NotFound(&'static str),
    /// 404: no route matches the path (PicoShare's `404 page not found`).
    NoSuchPage,
    /// 405: the path exists, the method does not. Carries the allowed methods.
    MethodNotAllowed(&'static str),
    /// 403 with the given reason.
    Forbidden(&'static str),
    /// 409 with the given reason.
    Conflict(String),
    /// 410 with the given reason: a download-limited link has no download left (issue 20),
    /// a resumable upload expired (issue 19).
    Gone(&'static str),
    /// 412 for a tus request in a protocol version we do not speak (`Tus-Version` says
    /// which we do).
    TusVersion,
    /// 413 with the given reason.
    TooLarge(String),
    /// 411: a small-body endpoint got a body of unknown length (chunked), which could not be
    /// read before a request thread was committed.
    LengthRequired,
    /// 503 at once, with `Retry-After`: a cap on transfers or on one address's requests is
    /// reached (see `admission`).
    Busy(&'static str),
    /// 415 with the given reason.
    UnsupportedMediaType(&'static str),
    /// 429: carries the seconds to wait (`Retry-After`).
    TooManyRequests(u64),
    /// 416: carries the file size for `Content-Range: bytes */SIZE`.
    RangeNotSatisfiable(u64),
    /// 507 with the given reason.
    InsufficientStorage(String),
    /// 500: the detail is logged, the client sees a short message.
    Internal(String),
    /// A file was replaced between reading its metadata and its first chunk, and the old
    /// bytes are gone: the download handler starts again on the new version (a 500 if it
    /// ever reaches a client).
    Replaced,
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Error::NotFound("entry not found"),
            StoreError::UsedUp => Error::Gone(USED_UP),
            StoreError::Replaced => Error::Replaced,
            StoreError::UnknownEntries(ids) => {
                Error::BadRequest(format!("unknown entry IDs: {}", ids.join(", ")))
            }
            StoreError::NotOwnUploads => Error::Forbidden(
                "this API token's scope is \"upload\": a bundle may hold only files uploaded \
                 with this token",
            ),
            StoreError::GuestLinkInactive => Error::Unauthorized("Guest link is no longer active"),
            StoreError::Conflict => Error::Conflict(
                "another request wrote to this upload first; ask for its Upload-Offset (HEAD) \
                 and go on from there"
                    .into(),
            ),
            StoreError::Full => {
                Error::InsufficientStorage("the server's disk is full; nothing was stored".into())
            }
            StoreError::DiskFloor(floor) => Error::InsufficientStorage(format!(
                "not enough disk space for this upload: the server keeps {floor} bytes free; \
                 nothing was stored"
            )),
            StoreError::TokenRevoked => Error::BadToken("invalid API token"),
            e => Error::Internal(e.to_string()),
        }
    }
}

/// Context for a store result: what a missing row means to this request.
pub trait OrNotFound<T> {
    /// [`StoreError::NotFound`] becomes a 404 saying `message`; other errors convert as usual.
    fn or_not_found(self, message: &'static str) -> Result<T>;
}

impl<T> OrNotFound<T> for std::result::Result<T, StoreError> {
    fn or_not_found(self, message: &'static str) -> Result<T> {
        self.map_err(|e| match e {
            StoreError::NotFound => Error::NotFound(message),
            e => e.into(),
        })
    }
}

/// The message of a used-up link (410).
pub const USED_UP: &str = "This link was used up";

/// What a browser is told below the heading of a 410 page.
const USED_UP_TEXT: &str = "This link could be used only a limited number of times, and \
     they have all been used. If you still need the file, ask the person who sent you the link \
     for a new one.";

/// What a browser is told below the heading of a 404 page.
const NOT_FOUND_TEXT: &str = "There is nothing at this address: it may have expired or been \
     deleted. If someone sent you a link, ask them for a new one.";

impl Error {
    /// The status code of this error.
    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest(_) => 400,
            Error::Unauthorized(_) | Error::AuthRequired | Error::BadToken(_) => 401,
            Error::LoginRequired => 303,
            Error::NotFound(_) | Error::NoSuchPage => 404,
            Error::Forbidden(_) => 403,
            Error::Gone(_) => 410,
            Error::MethodNotAllowed(_) => 405,
            Error::Conflict(_) => 409,
            Error::TusVersion => 412,
            Error::TooLarge(_) => 413,
            Error::LengthRequired => 411,
            Error::Busy(_) => 503,
            Error::UnsupportedMediaType(_) => 415,
            Error::TooManyRequests(_) => 429,
            Error::RangeNotSatisfiable(_) => 416,
            Error::InsufficientStorage(_) => 507,
            Error::Internal(_) | Error::Replaced => 500,
        }
    }

    /// The one-line message API clients read (PicoShare's words where it has them).
    pub fn message(&self) -> Cow<'_, str> {
        match self {
            Error::BadRequest(m)
            | Error::TooLarge(m)
            | Error::InsufficientStorage(m)
            | Error::Conflict(m) => Cow::Borrowed(m),
            Error::Unauthorized(m)
            | Error::NotFound(m)
            | Error::Forbidden(m)
            | Error::BadToken(m)
            | Error::Gone(m)
            | Error::Busy(m)
            | Error::UnsupportedMediaType(m) => Cow::Borrowed(m),
            Error::LengthRequired => "this request needs a Content-Length".into(),
            Error::TusVersion => format!(
                "this server speaks tus {}: send Tus-Resumable: {}",
                crate::handlers::tus::VERSION,
                crate::handlers::tus::VERSION
            )
            .into(),
            Error::TooManyRequests(s) => {
                format!("Too many attempts. Try again in {s} seconds.").into()
            }
            Error::AuthRequired | Error::LoginRequired => "Authentication required".into(),
            Error::NoSuchPage => "404 page not found".into(),
            Error::MethodNotAllowed(_) => "Method not allowed".into(),
            Error::RangeNotSatisfiable(_) => "Requested range not satisfiable".into(),
            Error::Internal(_) | Error::Replaced => "Internal error".into(),
        }
    }

    /// What a browser's error page says: a heading and a sentence.
    fn page_text(&self) -> (&'static str, Cow<'_, str>) {
        match self {
            Error::NotFound(m) => (m, NOT_FOUND_TEXT.into()),
            Error::NoSuchPage => ("Page not found", NOT_FOUND_TEXT.into()),
            Error::BadRequest(_) => ("Bad request", self.message()),
            Error::Unauthorized(_)
            | Error::AuthRequired
            | Error::LoginRequired
            | Error::BadToken(_) => ("Not allowed", self.message()),
            Error::Forbidden(_) => ("Forbidden", self.message()),
            Error::Gone(m) => (m, USED_UP_TEXT.into()),
            Error::MethodNotAllowed(_) => (
                "Method not allowed",
                "This address does not answer this kind of request.".into(),
            ),
            Error::TooLarge(_) => ("Too large", self.message()),
            Error::LengthRequired => ("Length required", self.message()),
            Error::Busy(_) => ("Busy", self.message()),
            Error::Conflict(_) => ("Conflict", self.message()),
            Error::TusVersion => ("Unsupported protocol version", self.message()),
            Error::UnsupportedMediaType(_) => ("Unsupported media type", self.message()),
            Error::TooManyRequests(_) => ("Too many attempts", self.message()),
            Error::RangeNotSatisfiable(_) => ("Range not satisfiable", self.message()),
            Error::InsufficientStorage(_) => ("The disk is full", self.message()),
            Error::Internal(_) | Error::Replaced => (
                "Something went wrong",
                "The server could not answer this request. The details are in its log.".into(),
            ),
        }
    }

    /// The one place an error becomes a response. Browsers asking for a page (`Accept` lists
    /// `text/html`) get an HTML error page; API clients, scripts and downloads get PicoShare's
    /// plain text (`http.Error`'s shape: the message and a newline), errors at download
    /// addresses with the page CSP; an admin page without a session redirects to the login
    /// page.
    pub fn into_response(self, app: &App, req: &Request) -> Response {
        if let Error::Internal(detail) = &self {
            eprintln!("picoshare: internal error: {detail}");
        }
        if let Error::LoginRequired = self {
            let next = encode_uri_component(req.raw_url());
            return Response::redirect_303(format!("/login?next={next}"))
                .with_unique_header("Cache-Control", "no-store");
        }
        let mut audience = Audience::of(req);
        // A used-up link is a page a visitor's browser shows, even at a download address.
        if matches!(self, Error::Gone(_)) && accepts_html(req) {
            audience = Audience::Browser;
        }
        let body = match audience {
            Audience::Browser => {
                let (heading, text) = self.page_text();
                crate::handlers::pages::error_page(app, req, self.status(), heading, &text)
            }
            Audience::Client | Audience::Download => {
                Response::text(format!("{}\n", self.message()))
            }
        };
        let r = self.decorate(body);
        match audience {
            // As PicoShare #801 has it: `sandbox` only on answers that serve a file's bytes.
            Audience::Download => r.with_unique_header(
                "Content-Security-Policy",
                crate::handlers::pages::page_csp(),
            ),
            _ => r,
        }
    }

    /// The same error, a 400's message worded as PicoShare's admin API words it:
    /// `Invalid request: …` (as `handlers::invalid_request` words it).
    pub fn invalid_request(self) -> Error {
        match self {
            Error::BadRequest(m) => crate::handlers::invalid_request(m),
            e => e,
        }
    }

    /// Gives `response` this error's status and the headers that go with it (`Retry-After`,
    /// `Allow`, `Content-Range`, a clearing cookie), for the pages that show an error in their
    /// own way (the login form shows it in the form).
    pub fn decorate(&self, response: Response) -> Response {
        let mut r = response
            .with_status_code(self.status())
            .with_unique_header("X-Content-Type-Options", "nosniff");
        match self {
            Error::AuthRequired => {
                r = r.with_additional_header("Set-Cookie", crate::auth::clearing_cookie());
            }
            Error::BadToken(_) => {
                r = r.with_unique_header(
                    "WWW-Authenticate",
                    "Bearer realm=\"PicoShare\", error=\"invalid_token\"",
                );
            }
            Error::MethodNotAllowed(allow) => r = r.with_unique_header("Allow", *allow),
            Error::TooManyRequests(secs) => {
                r = r.with_unique_header("Retry-After", secs.to_string());
            }
            Error::Busy(_) => {
                r = r.with_unique_header(
                    "Retry-After",
                    crate::admission::RETRY_AFTER_SECS.to_string(),
                );
            }
            Error::RangeNotSatisfiable(size) => {
                r = r.with_unique_header("Content-Range", format!("bytes */{size}"));
            }
            Error::TusVersion => {
                r = r.with_unique_header("Tus-Version", crate::handlers::tus::VERSION);
            }
            _ => {}
        }
        r
    }
}

/// Who reads an error, judged from the request alone.
enum Audience {
    /// A browser asking for a page: an HTML error page.
    Browser,
    /// An API client, a script, a `fetch` from our own pages: plain text.
    Client,
    /// Anyone at a download address: plain text, with the page CSP.
    Download,
}

impl Audience {
    fn of(req: &Request) -> Audience {
        let path = req.url();
        let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
        if crate::handlers::download::is_download_segment(first) {
            Audience::Download
        } else if first == "api" {
            Audience::Client
        } else if accepts_html(req) {
            Audience::Browser
        } else {
            Audience::Client
        }
    }
}

/// Whether the client asks for pages (`Accept` lists `text/html`): a browser.
fn accepts_html(req: &Request) -> bool {
    req.header("Accept")
        .is_some_and(|a| a.contains("text/html"))
}

/// Shorthand for handler results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use crate::app::test_support::{header, test_app};

    fn html() -> (String, String) {
        (
            "Accept".into(),
            "text/html,application/xhtml+xml,*/*;q=0.8".into(),
        )
    }

    #[test]
    fn browsers_get_error_pages_and_everyone_else_plain_text() {
        let t = test_app();
        let admin = t.admin_cookie();
        // A page's 404: a page for a browser, PicoShare's text for curl.
        let (status, headers, body) = t.send(
            "GET",
            "/files/AAAAAAAAAA/info",
            vec![admin.clone(), html()],
            b"",
        );
        assert_eq!(status, 404);
        assert!(header(&headers, "Content-Type").is_some_and(|c| c.starts_with("text/html")));
        assert!(body.contains("<h1>File not found</h1>"), "{body}");
        let (status, _, body) = t.send("GET", "/files/AAAAAAAAAA/info", vec![admin], b"");
        assert_eq!((status, body.as_str()), (404, "File not found\n"));
        // No route: the same choice.
        let (status, _, body) = t.send("GET", "/no/such/page", vec![html()], b"");
        assert_eq!(status, 404);
        assert!(body.contains("<h1>Page not found</h1>"), "{body}");
        let (_, _, body) = t.send("GET", "/no/such/page", vec![], b"");
        assert_eq!(body, "404 page not found\n");
        // The API and downloads answer in text whatever the client accepts; errors at
        // download addresses carry the page CSP, not the sandbox.
        let (status, _, body) = t.send("GET", "/api/nope", vec![html()], b"");
        assert_eq!((status, body.as_str()), (404, "404 page not found\n"));
        let page_csp = |h: &[(String, String)]| {
            header(h, "Content-Security-Policy").is_some_and(|c| c.starts_with("default-src"))
        };
        let (status, headers, body) = t.send("GET", "/-AAAAAAAAAA", vec![html()], b"");
        assert_eq!((status, body.as_str()), (404, "entry not found\n"));
        assert!(page_csp(&headers));
        let (status, headers, _) = t.send("POST", "/!AAAAAAAAAA", vec![], b"");
        assert_eq!(status, 405);
        assert_eq!(header(&headers, "Allow"), Some("GET, HEAD"));
        assert!(page_csp(&headers));
    }

    #[test]
    fn admin_pages_send_visitors_to_the_login_page_and_back() {
        let t = test_app();
        for url in ["/files", "/files/AAAAAAAAAA/edit", "/settings?x=1"] {
            let (status, headers, _) = t.send("GET", url, vec![html()], b"");
            assert_eq!(status, 303, "{url}");
            let next = crate::html::encode_uri_component(url);
            assert_eq!(
                header(&headers, "Location"),
                Some(format!("/login?next={next}").as_str())
            );
        }
        // The API answers 401 and clears the cookie instead.
        let (status, headers, body) = t.send("GET", "/api/information", vec![html()], b"");
        assert_eq!((status, body.as_str()), (401, "Authentication required\n"));
        assert!(header(&headers, "Set-Cookie").is_some_and(|c| c.contains("Max-Age=0")));
    }
}
