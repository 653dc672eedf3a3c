//! `/-{id}/unlock`, a passphrase-protected file's door: `GET` shows the passphrase form, `POST`
//! answers with the file itself when the passphrase is right (no cookie: every download asks
//! again; a `Range` applies, so a visitor can resume by unlocking again). Wrong guesses are
//! throttled per (trusted) client address like logins.

use std::time::Instant;

use rouille::{Request, Response};

use super::{Nav, Page};
use crate::app::App;
use crate::error::{Error, Result};
use crate::handlers::download::{self, Conditional};
use crate::handlers::{entry_id, read_small_body};
use crate::html::html;
use crate::model::{EntryId, EntryMeta};
use crate::throttle::LoginClient;

/// Largest unlock form body (PicoShare's bound).
pub const MAX_FORM_BYTES: usize = 4096;

/// The protected file `raw_id` names, or the answer for one that is not protected or is the
/// admin's to download directly: a redirect to its download address.
fn protected(
    app: &App,
    req: &Request,
    raw_id: &str,
) -> Result<std::result::Result<EntryMeta, Response>> {
    let id = entry_id(app, raw_id)?;
    let meta = app.store.entry(&id, app.now())?;
    if meta.download_passphrase.is_none() || (req.method() != "POST" && app.is_admin(req)) {
        let to_file = Response::redirect_302(format!("/-{id}"))
            .with_unique_header("Cache-Control", "no-store");
        // After a POST the browser must fetch the file, not post to it.
        return Ok(Err(if req.method() == "POST" {
            to_file.with_status_code(303)
        } else {
            to_file
        }));
    }
    Ok(Ok(meta))
}

/// `GET /-{id}/unlock`.
pub fn unlock_page(app: &App, req: &Request, raw_id: &str) -> Result<Response> {
    match protected(app, req, raw_id)? {
        Ok(meta) => Ok(page(&meta.id, None)),
        Err(redirect) => Ok(redirect),
    }
}

/// `POST /-{id}/unlock` with the form field `passphrase`.
pub fn unlock(app: &App, req: &Request, raw_id: &str) -> Result<Response> {
    let meta = match protected(app, req, raw_id)? {
        Ok(meta) => meta,
        Err(redirect) => return Ok(redirect),
    };
    // A refusal is shown in the form, with its status and `Retry-After` from the error.
    match check_passphrase(app, req, &meta) {
        Ok(()) => Ok(download::send(app, req, &meta, Conditional::Ignored)?
            .with_unique_header("Cache-Control", "no-store")),
        Err(e @ (Error::TooManyRequests(_) | Error::Unauthorized(_))) => {
            Ok(e.decorate(page(&meta.id, Some(&e.message()))))
        }
        Err(e) => Err(e),
    }
}

/// The throttle, then the form's passphrase against the file's: 429 while the client is
/// throttled, 401 for a wrong passphrase (which counts against the client).
fn check_passphrase(app: &App, req: &Request, meta: &EntryMeta) -> Result<()> {
    // Keyed on the trusted client address; known devices are an admin-login matter.
    let client = LoginClient {
        addr: app.client_addr(req),
        device: None,
    };
    let started = Instant::now();
    app.unlock_throttle
        .check(client, started)
        .map_err(Error::TooManyRequests)?;
    let given = passphrase_field(req)?;
    let Some(expected) = &meta.download_passphrase else {
        return Err(Error::Internal("checked as protected above".into()));
    };
    if !expected.matches(&given) {
        // Only failures count; a right passphrase does not clear them, so knowing one file's
        // passphrase does not buy more guesses at another's.
        app.unlock_throttle.failure(client, started);
        return Err(Error::Unauthorized("Incorrect passphrase."));
    }
    Ok(())
}

/// The `passphrase` field of the form body (empty when absent), as bytes: a value that is not
/// UTF-8 is a wrong passphrase, not a malformed request. A body over [`MAX_FORM_BYTES`], of
/// another type, or with a broken `%` escape is a 400.
fn passphrase_field(req: &Request) -> Result<Vec<u8>> {
    let bad = |m: &str| Error::BadRequest(format!("invalid request: {m}"));
    let form_type = req.header("Content-Type").map_or(true, |t| {
        t.split(';').next().is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    });
    if !form_type {
        return Err(bad("the body must be application/x-www-form-urlencoded"));
    }
    let body = read_small_body(req, MAX_FORM_BYTES).map_err(|e| match e {
        Error::TooLarge(_) => bad(&format!("the form is larger than {MAX_FORM_BYTES} bytes")),
        e => e,
    })?;
    let mut value = Vec::new();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let k = form_decode(k).ok_or_else(|| bad("malformed form"))?;
        let v = form_decode(v).ok_or_else(|| bad("malformed form"))?;
        if k == b"passphrase" {
            value = v;
        }
    }
    Ok(value)
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; `None` for a
/// broken escape. Hand-written on purpose, unlike the login form's: a download passphrase is
/// compared as bytes and a broken escape is refused, where `form_urlencoded` keeps broken
/// escapes as text and decodes to UTF-8 with replacement characters.
fn form_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Some(out)
}

/// The "Protected Download" page: one password field and a Download button posting back to
/// this address. It does not name the file: the passphrase guards that too.
fn page(id: &EntryId, error: Option<&str>) -> Response {
    let (error_text, error_hidden) = match error {
        Some(e) => (e, ""),
        None => ("", " hidden"),
    };
    let body = html!(
        "<section class=\"card narrow\" id=\"unlock\"><h1>Protected Download</h1>\
         <p>This file is protected by a passphrase. Enter it to download the file.</p>\
         <form id=\"unlock-form\" method=\"post\" action=\"/-{id}/unlock\">\
         <div class=\"field\"><label for=\"passphrase\">Passphrase</label>\
         <input type=\"password\" id=\"passphrase\" name=\"passphrase\" autocomplete=\"off\" \
         required autofocus></div>\
         <div id=\"unlock-error\" class=\"alert error\" role=\"alert\"{error_hidden}>{error_text}\
         </div>\
         <button type=\"submit\" class=\"button primary wide\">Download</button>\
         </form></section>",
        id = id.as_str(),
        error_hidden = error_hidden,
        error_text = error_text,
    );
    Page::new("Protected Download", Nav::Anonymous, body).render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_decode_strictly() {
        assert_eq!(form_decode(b"a+b%21%C3%A9").unwrap(), "a b!é".as_bytes());
        assert_eq!(form_decode(b"%ff").unwrap(), [0xff]);
        for broken in [&b"%"[..], b"%4", b"%zz", b"a%g1"] {
            assert_eq!(form_decode(broken), None, "{broken:?}");
        }
    }
}
