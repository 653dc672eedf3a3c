//! `PUT /api/entry/{id}` (edit a file's name, expiration, note, download passphrase) and
//! `DELETE /api/entry/{id}`.

use rouille::{Request, Response};

use super::{empty_ok, entry_id, json_str, read_json};
use crate::app::App;
use crate::error::{Error, OrNotFound, Result};
use crate::model::{parse_expiration, DownloadPassphrase, EntryUpdate, Filename, Note, Timestamp};

pub fn edit(app: &App, req: &Request, id: &str) -> Result<Response> {
    app.require_admin(req)?;
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
            },
        )
        .or_not_found("Invalid entry ID")?;
    Ok(empty_ok())
}

pub fn delete(app: &App, req: &Request, id: &str) -> Result<Response> {
    app.require_admin(req)?;
    let id = entry_id(app, id)?;
    app.store.delete_entry(&id)?;
    app.gc_wake.notify();
    Ok(empty_ok())
}
