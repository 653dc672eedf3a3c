//! The guest-link API (admin): `POST /api/guest-links` (create), `DELETE
//! /api/guest-links/{id}`, and `PUT /api/guest-links/{id}/enable` / `…/disable`, with
//! PicoShare's fields, rules and messages.

use rouille::{Request, Response};
use serde_json::{json, Value};

use super::{empty_ok, invalid_request as invalid, json as json_response, json_str, read_json};
use crate::app::{App, Need};
use crate::duration::FileLifetime;
use crate::error::{Error, OrNotFound, Result};
use crate::model::{parse_expiration, GuestLinkId, NewGuestLink};

/// Labels are for the admin's list; PicoShare caps them at 200 bytes.
pub const MAX_LABEL_BYTES: usize = 200;
/// The smallest byte cap a link may set: 1 MiB.
pub const MIN_MAX_FILE_BYTES: u64 = 1024 * 1024;

pub fn create(app: &App, req: &Request) -> Result<Response> {
    app.require(req, Need::Admin)?;
    let body = read_json(req, app.config.max_json_body).map_err(Error::invalid_request)?;
    if !body.is_object() {
        return Err(invalid("malformed request"));
    }
    let link = parse_new_link(&body, app)?;
    let id = app.store.insert_guest_link(&link, app.now())?;
    Ok(json_response(json!({ "id": id.as_str() })))
}

/// Reads the fields in PicoShare's order, each with its message.
fn parse_new_link(body: &Value, app: &App) -> Result<NewGuestLink> {
    let label = json_str(body, "label").ok_or_else(|| invalid("label must be a string"))?;
    if label.len() > MAX_LABEL_BYTES {
        return Err(invalid(format!(
            "label too long - limit {MAX_LABEL_BYTES} characters"
        )));
    }
    let url_expiration = json_str(body, "urlExpirationTime")
        .ok_or_else(|| invalid("urlExpirationTime must be a string"))?;
    let url_expiration = parse_expiration(url_expiration, app.now()).map_err(invalid)?;
    let lifetime =
        json_str(body, "fileLifetime").ok_or_else(|| invalid("fileLifetime must be a string"))?;
    let file_lifetime = FileLifetime::parse(lifetime).map_err(invalid)?;
    let max_file_bytes = optional_whole(body, "maxFileBytes")?;
    if max_file_bytes.is_some_and(|n| n < MIN_MAX_FILE_BYTES) {
        // (PicoShare's wording, doubled word included.)
        return Err(invalid(format!(
            "guest upload size limit must be at at least {MIN_MAX_FILE_BYTES} bytes"
        )));
    }
    let max_file_uploads = match body.get("maxFileUploads") {
        Some(Value::Number(n)) if n.as_i64().is_some_and(|n| n <= 0) => {
            return Err(invalid(
                "guest upload count limit must be a positive number",
            ));
        }
        _ => optional_whole(body, "maxFileUploads")?,
    };
    Ok(NewGuestLink {
        label: label.to_owned(),
        max_file_bytes,
        max_file_uploads,
        url_expiration,
        file_lifetime,
    })
}

/// An optional whole number field: missing or `null` → `None`; a non-negative integer that
/// fits SQLite's INTEGER → `Some`; anything else (negative, fractional, a string) → 400.
fn optional_whole(body: &Value, field: &str) -> Result<Option<u64>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) if v <= i64::MAX as u64 => Ok(Some(v)),
            _ => Err(invalid(format!("{field} must be a whole number"))),
        },
        Some(_) => Err(invalid(format!("{field} must be a number"))),
    }
}

pub fn delete(app: &App, req: &Request, id: &str) -> Result<Response> {
    app.require(req, Need::Admin)?;
    let id = GuestLinkId::parse(id).map_err(Error::BadRequest)?;
    app.store.delete_guest_link(&id)?;
    Ok(empty_ok())
}

pub fn enable(app: &App, req: &Request, id: &str) -> Result<Response> {
    set_disabled(app, req, id, false)
}

pub fn disable(app: &App, req: &Request, id: &str) -> Result<Response> {
    set_disabled(app, req, id, true)
}

fn set_disabled(app: &App, req: &Request, id: &str, disabled: bool) -> Result<Response> {
    app.require(req, Need::Admin)?;
    let id = GuestLinkId::parse(id).map_err(Error::BadRequest)?;
    app.store
        .set_guest_link_disabled(&id, disabled)
        .or_not_found("Guest link not found")?;
    Ok(Response::empty_204())
}
