//! `POST /api/entry`: the admin's upload. Checks everything it can before reading the body
//! (so a refused upload is never sent), then multipart → spool → store.

use rouille::{Request, Response};
use serde_json::json;

use super::json as json_response;
use crate::app::App;
use crate::error::{Error, Result};
use crate::model::{parse_expiration, Filename, Note};
use crate::multipart::{read_upload, Limits};
use crate::store::NewEntry;

pub fn admin(app: &App, req: &Request) -> Result<Response> {
    app.require_admin(req)?;
    let now = app.now();
    let expiration = parse_expiration(&req.get_param("expiration").unwrap_or_default(), now)
        .map_err(|m| Error::BadRequest(format!("Invalid expiration URL parameter: {m}")))?;
    let spool_dir = app.config.spool_dir();
    let mut upload = read_upload(
        req,
        &Limits {
            memory: app.config.multipart_memory,
            chunk_size: app.config.chunk_size,
            max_text_field: app.config.max_text_field,
            max_parts: app.config.max_form_parts,
            max_file_bytes: None,
            spool_dir: &spool_dir,
        },
    )?;
    let invalid = |m: &str| Error::BadRequest(format!("invalid request: {m}"));
    if upload.spool.is_empty() {
        return Err(invalid("file must be non-empty"));
    }
    let filename = Filename::parse(&upload.filename).map_err(invalid)?;
    // Go's FormValue also reads `note` from the query string.
    let note_text = upload.note.take().or_else(|| req.get_param("note"));
    let note = Note::parse(note_text.as_deref().unwrap_or("")).map_err(invalid)?;
    let id = app.store.insert_entry(
        &NewEntry {
            filename,
            content_type: upload.content_type.clone(),
            upload_time: now,
            expiration,
            guest_link_id: None,
            note,
        },
        &mut upload.spool,
    )?;
    Ok(json_response(json!({ "id": id.as_str() })))
}
