//! HTTP handlers, one module per area, and the small response helpers they share.

pub mod auth;
pub mod bundles;
pub mod download;
pub mod entry;
pub mod guest_links;
pub mod information;
pub mod pages;
pub mod qr;
pub mod settings;
pub mod tokens;
pub mod tus;
pub mod upload;

use std::io::Read;

use rouille::{Request, Response};

use crate::app::App;
use crate::error::{Error, Result};
use crate::model::{EntryId, MaxDownloads};

/// The entry id in a URL: PicoShare's format, or the id of an entry an older PicoShare wrote in
/// another format (such entries are listed, so their links must work). Anything else is
/// PicoShare's 400 `bad entry ID: …`.
pub fn entry_id(app: &App, raw: &str) -> Result<EntryId> {
    match EntryId::parse(raw) {
        Ok(id) => Ok(id),
        Err(message) => match EntryId::legacy(raw) {
            Some(id) if app.store.entry_exists(&id)? => Ok(id),
            _ => Err(Error::BadRequest(message)),
        },
    }
}

/// A `maxDownloads` JSON field (issue 20): absent → `None` (leave as it is); `null` →
/// `Some(None)` (no limit); a whole number from 1 to `Config::max_download_limit` →
/// `Some(Some(n))`; anything else is the reason it is refused.
pub fn max_downloads_field(
    app: &App,
    v: Option<&serde_json::Value>,
) -> std::result::Result<Option<Option<MaxDownloads>>, String> {
    let bound = app.config.max_download_limit;
    match v {
        None => Ok(None),
        Some(serde_json::Value::Null) => Ok(Some(None)),
        Some(serde_json::Value::Number(n)) => match n.as_i64() {
            Some(n) => MaxDownloads::new(n, bound).map(|m| Some(Some(m))),
            None => Err("maxDownloads must be a whole number of at least 1".into()),
        },
        Some(_) => Err("maxDownloads must be a number".into()),
    }
}

/// A JSON object answer: PicoShare's shape (`application/json`, one object, a newline).
pub fn json(value: serde_json::Value) -> Response {
    Response::from_data("application/json", format!("{value}\n"))
}

/// PicoShare's 400 for a bad admin JSON request (guest links, settings): `Invalid request: …`.
pub fn invalid_request(m: impl std::fmt::Display) -> Error {
    Error::BadRequest(format!("Invalid request: {m}"))
}

/// The MIME type for a file name's extension, from `mime_guess`'s built-in table (answers do
/// not depend on the host's `mime.types`), with `charset=utf-8` for text. `None` when the
/// extension is unknown.
pub fn content_type_for(name: &str) -> Option<String> {
    let mime = mime_guess::from_path(name).first_raw()?;
    Some(if mime.starts_with("text/") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    })
}

/// Whether an `If-None-Match` header names `etag`: one of its comma-separated tags, weak
/// (`W/`) or strong (compared weakly, as RFC 9110 §13.1.2 says for GET), or `*`.
pub fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

/// An empty 200 answer.
pub fn empty_ok() -> Response {
    Response::text("").with_status_code(200)
}

/// Reads a small request body (JSON, a form) of at most `max` bytes: a read failure is
/// PicoShare's `malformed request` (400), a larger body 413 (unread when its length says so).
/// The body must declare its length (411 otherwise): the transport then reads it whole before
/// this thread is committed (`small_body_max`), so a trickling client holds no thread here.
pub fn read_small_body(req: &Request, max: usize) -> Result<Vec<u8>> {
    if req.header("Transfer-Encoding").is_some() {
        return Err(Error::LengthRequired);
    }
    let declared = req
        .header("Content-Length")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if declared > max as u64 {
        return Err(Error::TooLarge(format!(
            "request body larger than {max} bytes"
        )));
    }
    let body = req
        .data()
        .ok_or_else(|| Error::Internal("request body already taken".into()))?;
    let mut buf = Vec::new();
    body.take(max as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|_| Error::BadRequest("malformed request".into()))?;
    if buf.len() > max {
        return Err(Error::TooLarge(format!(
            "request body larger than {max} bytes"
        )));
    }
    Ok(buf)
}

/// Reads a JSON request body of at most `max` bytes; unparsable JSON is `malformed request`.
pub fn read_json(req: &Request, max: usize) -> Result<serde_json::Value> {
    let buf = read_small_body(req, max)?;
    serde_json::from_slice(&buf).map_err(|_| Error::BadRequest("malformed request".into()))
}

/// A string field of a JSON object: missing or `null` read as `""` (Go's lenient decoding);
/// any other type is `None`.
pub fn json_str<'a>(v: &'a serde_json::Value, field: &str) -> Option<&'a str> {
    match v.get(field) {
        None | Some(serde_json::Value::Null) => Some(""),
        Some(serde_json::Value::String(s)) => Some(s),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_match_lists_and_weak_forms() {
        assert!(etag_matches("\"a\", \"b\"", "\"b\""));
        assert!(etag_matches("W/\"b\"", "\"b\""));
        assert!(etag_matches("*", "\"b\""));
        assert!(!etag_matches("\"c\"", "\"b\""));
    }
}
