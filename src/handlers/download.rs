//! `GET`/`HEAD` `/-{id}[/…]` and `/!{id}[/…]`: a stored file, whole or by range, streamed one
//! chunk at a time, with conditional requests and safe headers. A passphrase-protected file
//! goes to the admin directly and sends everyone else to its unlock page
//! ([`crate::handlers::pages::unlock`]), which answers with [`send`] once the passphrase is right.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rouille::{Request, Response, ResponseBody};

use crate::app::App;
use crate::error::{Error, Result, StoreError, USED_UP};
use crate::model::{EntryId, EntryMeta, Timestamp};
use crate::range::{self, RangeSpec};

/// Answers carrying a file's bytes run in a sandbox: an uploaded HTML page gets an opaque
/// origin and cannot act as the admin.
pub const SANDBOX: (&str, &str) = ("Content-Security-Policy", "sandbox");

/// Whether a path's first segment is a download address: `-{id}` or `!{id}` (errors there
/// carry the page CSP, see [`crate::error::Error::into_response`]).
pub fn is_download_segment(segment: &str) -> bool {
    segment.starts_with('-') || segment.starts_with('!')
}

pub fn serve(app: &App, req: &Request, id: &str) -> Result<Response> {
    // `/-{id}/{anything}`: only the id segment matters. An id that names no file may name a
    // bundle (issue 20): its page, or with `/zip` its ZIP.
    if let Some(response) = super::bundles::serve_if_bundle(app, req, id)? {
        return Ok(response);
    }
    let id = super::entry_id(app, id)?;
    let meta = app.store.entry(&id, app.now())?;
    if meta.download_passphrase.is_none() {
        return send(app, req, &meta, Conditional::Honoured);
    }
    if !app.is_admin(req) {
        return Ok(to_unlock_page(&meta.id));
    }
    Ok(send(app, req, &meta, Conditional::Honoured)?
        .with_unique_header("Cache-Control", "no-store"))
}

/// `302` to a protected file's unlock page; nothing is served or recorded.
fn to_unlock_page(id: &EntryId) -> Response {
    Response::redirect_302(format!("/-{id}/unlock")).with_unique_header("Cache-Control", "no-store")
}

/// Whether [`send`] answers `If-None-Match` / `If-Modified-Since` with a 304.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Conditional {
    Honoured,
    /// The unlock form's answer: always the file (a `Range` still applies).
    Ignored,
}

/// The file's bytes (whole, or the requested range) with its headers; records one download
/// when the transfer starts at byte 0 (see `history.rs`). A visitor's download of a file with
/// a download limit is counted (or refused with 410) in the same decision (see
/// `store::limits`); the admin's never counts.
pub fn send(
    app: &App,
    req: &Request,
    meta: &EntryMeta,
    conditional: Conditional,
) -> Result<Response> {
    match send_version(app, req, meta, conditional) {
        // Replaced between the metadata and the first chunk, its old bytes already gone:
        // nothing was sent or counted yet, so serve the new version instead.
        Err(Error::Replaced) => {
            let fresh = app.store.entry(&meta.id, app.now())?;
            send_version(app, req, &fresh, conditional)
        }
        other => other,
    }
}

fn send_version(
    app: &App,
    req: &Request,
    meta: &EntryMeta,
    conditional: Conditional,
) -> Result<Response> {
    let id = &meta.id;
    // The version is part of the tag, so a replacement is never mistaken for the file a
    // client has (If-Range, If-None-Match); files never replaced keep PicoShare's tag.
    let etag = match meta.version {
        0 => format!("\"{}-{}-{}\"", meta.id, meta.size, meta.upload_time.unix()),
        v => format!(
            "\"{}-{}-{}-v{v}\"",
            meta.id,
            meta.size,
            meta.upload_time.unix()
        ),
    };
    let last_modified = meta.upload_time.http_date();

    let not_modified = conditional == Conditional::Honoured
        && match req.header("If-None-Match") {
            Some(tags) => super::etag_matches(tags, &etag),
            None => req
                .header("If-Modified-Since")
                .and_then(Timestamp::parse_http_date)
                .is_some_and(|since| meta.upload_time <= since),
        };
    if not_modified {
        return Ok(Response::text("")
            .with_status_code(304)
            .with_unique_header("ETag", etag)
            .with_unique_header("Last-Modified", last_modified)
            .with_unique_header(SANDBOX.0, SANDBOX.1));
    }

    // If-Range: the range only while the file is the one the client has.
    let range_allowed = match req.header("If-Range") {
        None => true,
        Some(v) => v.trim() == etag || v.trim() == last_modified,
    };
    let spec = match req.header("Range") {
        Some(h) if range_allowed => range::parse(h, meta.size),
        _ => RangeSpec::Full,
    };
    let (status, start, end) = match spec {
        RangeSpec::Full => (200, 0, meta.size - 1),
        RangeSpec::Partial { start, end } => (206, start, end),
        RangeSpec::Unsatisfiable => return Err(Error::RangeNotSatisfiable(meta.size)),
    };
    let len = end - start + 1;

    // Opened (and its version pinned) before anything is counted: a refusal below leaves
    // nothing behind, and a failure here has counted nothing.
    let body = match app.store.open_reader(id, meta.version, start, len) {
        Err(StoreError::Replaced) => return Err(Error::Replaced),
        other => other?,
    };
    let admin = app.is_admin(req);
    let client_ip = app.client_ip(req);
    if req.method() == "HEAD" {
        // Nothing is sent, so nothing counts; a used-up link still says so.
        if !admin && meta.download_limit.is_some_and(|l| l.is_used_up()) {
            return Err(Error::Gone(USED_UP));
        }
    } else {
        if !admin && meta.download_limit.is_some() {
            // A range continues a counted download only for the same client: the trusted
            // address (behind a proxy, the one it appended), which a client cannot write.
            let grace = app.config.download_grace.as_secs() as i64;
            let client = app.client_addr(req).to_string();
            app.store
                .admit_download(id, start, &client, app.now(), grace)?;
        }
        // One history row per transfer: the request that starts at byte 0. Queued for the
        // history writer (coalesced, cut to size): it never delays or fails the download.
        if start == 0 {
            let ua = req.header("User-Agent").unwrap_or("");
            app.history.record(id, app.now(), &client_ip, ua);
        }
    }

    let mut r = Response {
        status_code: status,
        headers: Vec::new(),
        data: ResponseBody::from_reader_and_size(body, len as usize),
        upgrade: None,
    }
    .with_unique_header("Content-Type", content_type(meta))
    .with_unique_header(
        "Content-Disposition",
        content_disposition(meta.filename.as_str()),
    )
    .with_unique_header("X-Content-Type-Options", "nosniff")
    .with_unique_header(SANDBOX.0, SANDBOX.1)
    .with_unique_header("Accept-Ranges", "bytes")
    .with_unique_header("ETag", etag)
    .with_unique_header("Last-Modified", last_modified);
    if status == 206 {
        r = r.with_unique_header(
            "Content-Range",
            format!("bytes {start}-{end}/{}", meta.size),
        );
    }
    Ok(r)
}

/// The stored type, or one guessed from the extension when none (or only
/// `application/octet-stream`) was stored. Never sniffed from the bytes.
fn content_type(meta: &EntryMeta) -> String {
    let stored = meta.content_type.trim();
    if !stored.is_empty() && !stored.eq_ignore_ascii_case("application/octet-stream") {
        return stored.to_owned();
    }
    super::content_type_for(meta.filename.as_str())
        .unwrap_or_else(|| "application/octet-stream".to_owned())
}

/// RFC 8187's `attr-char`: what a `filename*` value keeps as it is.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// RFC 6266: `inline` (browsers show what they can, offer the rest for saving), an ASCII
/// fallback name with quotes and backslashes replaced, and the exact name as RFC 8187
/// `filename*`.
pub fn content_disposition(name: &str) -> String {
    disposition("inline", name)
}

/// [`content_disposition`] with `attachment`: always saved (a bundle's ZIP).
pub fn attachment_disposition(name: &str) -> String {
    disposition("attachment", name)
}

fn disposition(kind: &str, name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    let encoded = utf8_percent_encode(name, ATTR_CHAR);
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_is_well_formed() {
        assert_eq!(
            content_disposition("a b.txt"),
            "inline; filename=\"a b.txt\"; filename*=UTF-8''a%20b.txt"
        );
        assert_eq!(
            content_disposition("données \"x\";.csv"),
            "inline; filename=\"donn_es _x_;.csv\"; filename*=UTF-8''donn%C3%A9es%20%22x%22%3B.csv"
        );
    }
}
