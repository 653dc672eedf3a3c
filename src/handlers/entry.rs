//! The admin's file API: `GET /api/entries` (the list, a page at a time), `GET
//! /api/entry/{id}` (one file), `PUT /api/entry/{id}` (edit a file's name, expiration, note,
//! download passphrase) and `DELETE /api/entry/{id}`.

use rouille::{Request, Response};
use serde_json::{json, Value};

use super::{empty_ok, entry_id, invalid_request, json as json_response, json_str, read_json};
use crate::app::{App, Need};
use crate::error::{Error, OrNotFound, Result};
use crate::model::{
    parse_expiration, DownloadPassphrase, EntryId, EntryMeta, EntryUpdate, Filename, Note,
    Timestamp,
};

/// `GET /api/entries[?limit=N][&after=ID]`: `{"entries": [file, …], "next": ID | null}`, files
/// in id order (stable: a file never moves between pages), `limit` of them at most (default
/// `Config::api_page_default`, lowered to `Config::api_page_max`), after the id `after`.
/// Expired files are left out, so a page may be short: follow `next` until it is `null`.
/// Memory is one page, whatever the number of files.
pub fn list(app: &App, req: &Request) -> Result<Response> {
    app.require(req, Need::Admin)?;
    let limit = match req.get_param("limit") {
        None => app.config.api_page_default,
        Some(l) => match l.trim().parse::<usize>() {
            Ok(n) if n >= 1 => n.min(app.config.api_page_max),
            _ => {
                return Err(invalid_request(
                    "limit must be a whole number of at least 1",
                ))
            }
        },
    };
    let after = req.get_param("after").unwrap_or_default();
    if !after.is_empty() && EntryId::legacy(&after).is_none() {
        return Err(invalid_request("after must be an entry ID"));
    }
    let page = app.store.entries_after(&after, limit, app.now())?;
    let entries: Vec<Value> = page
        .entries
        .iter()
        .map(|(meta, downloads)| entry_json(meta, *downloads))
        .collect();
    Ok(json_response(json!({
        "entries": entries,
        "next": page.next.as_ref().map(EntryId::as_str),
    })))
}

/// `GET /api/entry/{id}`: one file, as the list shows it; 404 once it expired.
pub fn get(app: &App, req: &Request, id: &str) -> Result<Response> {
    app.require(req, Need::Admin)?;
    let id = entry_id(app, id)?;
    let meta = app
        .store
        .entry(&id, app.now())
        .or_not_found("Invalid entry ID")?;
    let downloads = app.store.download_count(&id)?;
    Ok(json_response(entry_json(&meta, downloads)))
}

/// A file as the API shows it: `{"id", "filename", "size", "contentType", "note",
/// "uploadTime", "expirationTime", "guestLinkId", "downloadCount", "maxDownloads",
/// "downloadsLeft"}`; times in RFC 3339, and `null` for no note, never expiring, not uploaded
/// through a guest link, or no download limit. `downloadCount` is the history's (repeats
/// from one client coalesced, issue 16); `downloadsLeft` is the limit's own count (issue 20),
/// which every download takes from.
fn entry_json(e: &EntryMeta, downloads: u64) -> Value {
    json!({
        "id": e.id.as_str(),
        "filename": e.filename.as_str(),
        "size": e.size,
        "contentType": e.content_type,
        "note": e.note.as_deref(),
        "uploadTime": e.upload_time.rfc3339(),
        "expirationTime": (!e.expiration.is_never()).then(|| e.expiration.rfc3339()),
        "guestLinkId": e.guest_link_id.as_ref().map(|g| g.as_str()),
        "downloadCount": downloads,
        "maxDownloads": e.download_limit.map(|l| l.max),
        "downloadsLeft": e.download_limit.map(|l| l.max.saturating_sub(l.used)),
    })
}

pub fn edit(app: &App, req: &Request, id: &str) -> Result<Response> {
    app.require(req, Need::Admin)?;
    let id = entry_id(app, id)?;
    let body = read_json(req, app.config.max_json_body)?;
    let bad = |m: &str| Error::BadRequest(format!("Bad request: {m}"));
    let filename = json_str(&body, "filename").ok_or_else(|| bad("filename must be a string"))?;
    let filename = Filename::parse(filename).map_err(bad)?;
    let expiration = json_str(&body, "expiration").ok_or_else(|| bad("invalid expiration"))?;
    let note = json_str(&body, "note").ok_or_else(|| bad("note must be a string"))?;
    let note = Note::parse(note).map_err(bad)?;
    // `downloadPassphrase`: a string sets it, `""` or null removes it; a client that does not
    // send the field (one written before passphrases existed) leaves it as it is.
    let passphrase = match body.get("downloadPassphrase") {
        None => None,
        Some(serde_json::Value::Null) => Some(None),
        Some(serde_json::Value::String(p)) => {
            Some(DownloadPassphrase::parse_optional(p.as_bytes()).map_err(bad)?)
        }
        Some(_) => return Err(bad("downloadPassphrase must be a string")),
    };
    // `maxDownloads` (issue 20): a number sets the limit, null removes it, absent keeps it.
    let max_downloads =
        super::max_downloads_field(app, body.get("maxDownloads")).map_err(|m| bad(&m))?;
    let now = app.now();
    let current = app.store.entry(&id, now).or_not_found("Invalid entry ID")?;
    let expiration = if expiration.is_empty() {
        Timestamp::never()
    } else if Timestamp::parse_rfc3339(expiration) == Some(current.expiration) {
        // Re-saving an unchanged expiration is fine even within its last hour.
        current.expiration
    } else {
        parse_expiration(expiration, now).map_err(bad)?
    };
    app.store
        .update_entry(
            &id,
            &EntryUpdate {
                filename,
                expiration,
                note,
                download_passphrase: passphrase.unwrap_or(current.download_passphrase),
                max_downloads,
            },
        )
        .or_not_found("Invalid entry ID")?;
    Ok(empty_ok())
}

pub fn delete(app: &App, req: &Request, id: &str) -> Result<Response> {
    app.require(req, Need::Admin)?;
    let id = entry_id(app, id)?;
    app.store.delete_entry(&id)?;
    app.gc_wake.notify();
    Ok(empty_ok())
}
