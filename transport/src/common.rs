//! Owns the small value types shared by requests and responses: status codes, header fields and
//! values, methods and protocol versions.

use std::fmt;
use std::str::FromStr;

/// An HTTP status code such as `200` or `404`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusCode(pub u16);

impl StatusCode {
    /// The standard reason phrase for this code, or `"Unknown"`.
    pub fn default_reason_phrase(&self) -> &'static str {
        match self.0 {
            100 => "Continue",
            101 => "Switching Protocols",
            200 => "OK",
            201 => "Created",
            202 => "Accepted",
            204 => "No Content",
            206 => "Partial Content",
            301 => "Moved Permanently",
            302 => "Found",
            303 => "See Other",
            304 => "Not Modified",
            307 => "Temporary Redirect",
            308 => "Permanent Redirect",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            409 => "Conflict",
            410 => "Gone",
            411 => "Length Required",
            413 => "Content Too Large",
            414 => "URI Too Long",
            415 => "Unsupported Media Type",
            416 => "Range Not Satisfiable",
            417 => "Expectation Failed",
            422 => "Unprocessable Content",
            429 => "Too Many Requests",
            431 => "Request Header Fields Too Large",
            500 => "Internal Server Error",
            501 => "Not Implemented",
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            504 => "Gateway Timeout",
            505 => "HTTP Version Not Supported",
            507 => "Insufficient Storage",
            _ => "Unknown",
        }
    }

    /// True when a response with this status never carries a body (1xx, 204, 304).
    pub(crate) fn forbids_body(&self) -> bool {
        (100..200).contains(&self.0) || self.0 == 204 || self.0 == 304
    }
}

impl From<u16> for StatusCode {
    fn from(code: u16) -> Self {
        StatusCode(code)
    }
}

impl From<u32> for StatusCode {
    fn from(code: u32) -> Self {
        StatusCode(u16::try_from(code).unwrap_or(500))
    }
}

impl From<i32> for StatusCode {
    fn from(code: i32) -> Self {
        StatusCode(u16::try_from(code).unwrap_or(500))
    }
}

impl PartialEq<u16> for StatusCode {
    fn eq(&self, other: &u16) -> bool {
        self.0 == *other
    }
}

/// The name of a header. Compares case-insensitively; displays as received or as given.
#[derive(Debug, Clone, Eq)]
pub struct HeaderField(String);

impl HeaderField {
    /// Checks that `bytes` is a non-empty HTTP token (RFC 9110 `tchar`s).
    pub fn from_bytes(bytes: &[u8]) -> Result<HeaderField, InvalidHeader> {
        if bytes.is_empty() || !bytes.iter().all(|&b| is_tchar(b)) {
            return Err(InvalidHeader);
        }
        // Token characters are ASCII, so this cannot fail.
        String::from_utf8(bytes.to_vec())
            .map(HeaderField)
            .map_err(|_| InvalidHeader)
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Case-insensitive comparison with a name.
    pub fn equiv(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl PartialEq for HeaderField {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl fmt::Display for HeaderField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for HeaderField {
    type Err = InvalidHeader;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HeaderField::from_bytes(s.as_bytes())
    }
}

/// The error for a header name that is not a token, or a value holding CR, LF or NUL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidHeader;

impl fmt::Display for InvalidHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid header name or value")
    }
}

impl std::error::Error for InvalidHeader {}

/// One header line. `value` is text with surrounding whitespace removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The header name.
    pub field: HeaderField,
    /// The header value.
    pub value: String,
}

impl Header {
    /// Builds a header from a name and a value. Fails when the name is not a token or the value
    /// is not UTF-8 or contains CR, LF or NUL (which would let a value split the response).
    pub fn from_bytes(field: &[u8], value: &[u8]) -> Result<Header, InvalidHeader> {
        let field = HeaderField::from_bytes(field)?;
        if value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(InvalidHeader);
        }
        let value = std::str::from_utf8(value).map_err(|_| InvalidHeader)?;
        Ok(Header {
            field,
            value: value.trim_matches(|c| c == ' ' || c == '\t').to_owned(),
        })
    }
}

impl FromStr for Header {
    type Err = InvalidHeader;
    /// Parses `Name: value`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, value) = s.split_once(':').ok_or(InvalidHeader)?;
        Header::from_bytes(name.as_bytes(), value.as_bytes())
    }
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.value)
    }
}

/// A request method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `CONNECT`
    Connect,
    /// `OPTIONS`
    Options,
    /// `TRACE`
    Trace,
    /// `PATCH`
    Patch,
    /// Any other token.
    NonStandard(String),
}

impl Method {
    /// The method as it appears on the request line.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Connect => "CONNECT",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Patch => "PATCH",
            Method::NonStandard(s) => s,
        }
    }

    pub(crate) fn from_token(s: &str) -> Method {
        match s {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "CONNECT" => Method::Connect,
            "OPTIONS" => Method::Options,
            "TRACE" => Method::Trace,
            "PATCH" => Method::Patch,
            other => Method::NonStandard(other.to_owned()),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The protocol version of a request: `HTTPVersion(1, 0)` or `HTTPVersion(1, 1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HTTPVersion(pub u8, pub u8);

impl fmt::Display for HTTPVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// RFC 9110 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_rejects_splitting_values_and_bad_names() {
        assert!(Header::from_bytes(b"X-A", b"ok value ").is_ok());
        assert_eq!(Header::from_bytes(b"X-A", b" v ").unwrap().value, "v");
        assert!(Header::from_bytes(b"X-A", b"a\r\nSet-Cookie: x").is_err());
        assert!(Header::from_bytes(b"X A", b"v").is_err());
        assert!(Header::from_bytes(b"", b"v").is_err());
        assert!(HeaderField::from_bytes(b"content-length")
            .unwrap()
            .equiv("Content-Length"));
    }

    #[test]
    fn header_from_str() {
        let h: Header = "Content-Type: text/plain".parse().unwrap();
        assert_eq!(h.field.as_str(), "Content-Type");
        assert_eq!(h.value, "text/plain");
    }
}
