//! Resumable uploads over tus 1.0.0 — the core protocol and its `creation`,
//! `creation-with-upload`, `termination` and `expiration` extensions — at `/api/tus/` for the
//! admin and `/api/guest/{id}/tus/` for guest links.
//!
//! `POST` validates everything an ordinary upload would (name, type, note, passphrase,
//! expiration; a guest's byte cap, and one of the link's upload slots, reserved now and held by
//! the upload's row until it completes, expires or is cancelled) and creates the upload;
//! `PATCH` checks what it can before reading a byte (offset, content type, length), then hands
//! the body to the store ([`Upload::append`]), which streams it into chunk rows through one
//! chunk-sized buffer; the request that brings the last byte makes the file, exactly as an
//! ordinary upload would, and names it in `PicoShare-Entry-Id`. `HEAD` says how far an upload
//! got (and, for a day, how a finished one ended); `DELETE` cancels one. Every answer, errors
//! included, carries `Tus-Resumable`.

use rouille::{Request, Response, ResponseBody};

use super::upload::{
    count_guest_upload, default_expiration, download_url, guest_expiration, invalid,
    optional_fields, too_large,
};
use crate::app::{App, Caller, Need};
use crate::error::{Error, OrNotFound, Result, StoreError};
use crate::model::{
    parse_expiration, EntryId, Filename, GuestLink, GuestLinkId, MaxDownloads, NewResumable,
    Resumable, Timestamp, TokenId, UploadId,
};
use crate::store::{AppendError, Appended, Upload, Uploader};

/// The protocol version we speak (and the only one).
pub const VERSION: &str = "1.0.0";
/// The extensions we support, as `Tus-Extension` lists them.
pub const EXTENSIONS: &str = "creation,creation-with-upload,termination,expiration";
/// The content type of every `PATCH` body (and of a `POST` that carries bytes).
const OFFSET_STREAM: &str = "application/offset+octet-stream";

/// What a tus URL names.
pub enum Route<'a> {
    /// The upload-creation URL (`…/tus/`), of the admin (`None`) or of a guest link.
    Creation(Option<&'a str>),
    /// One upload (`…/tus/{id}`), of the admin (`None`) or of a guest link.
    Upload(Option<&'a str>, &'a str),
}

/// Answers one tus request; every answer carries `Tus-Resumable`, errors included.
pub fn answer(app: &App, req: &Request, route: Route) -> Response {
    dispatch(app, req, route)
        .unwrap_or_else(|e| e.into_response(app, req))
        .with_unique_header("Tus-Resumable", VERSION)
}

/// The request's method: `X-HTTP-Method-Override` when present (the protocol's way for
/// clients that cannot send `PATCH` or `DELETE`), else the real one.
fn method(req: &Request) -> &str {
    req.header("X-HTTP-Method-Override")
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| req.method())
}

/// Whether the request may carry a file's bytes (`POST` with creation-with-upload, `PATCH`),
/// so that it is admitted as a long transfer (see `App::transfer`).
pub fn carries_bytes(req: &Request) -> bool {
    matches!(method(req), "POST" | "PATCH")
}

fn dispatch(app: &App, req: &Request, route: Route) -> Result<Response> {
    let method = method(req);
    if method != "OPTIONS" && req.header("Tus-Resumable").map(str::trim) != Some(VERSION) {
        return Err(Error::TusVersion);
    }
    match route {
        Route::Creation(link) => match method {
            "OPTIONS" => options(app, link),
            "POST" => create(app, req, link),
            _ => Err(Error::MethodNotAllowed("OPTIONS, POST")),
        },
        Route::Upload(link, id) => match method {
            "OPTIONS" => options(app, link),
            "HEAD" => head(app, req, link, id),
            "PATCH" => patch(app, req, link, id),
            "DELETE" => terminate(app, req, link, id),
            _ => Err(Error::MethodNotAllowed("OPTIONS, HEAD, PATCH, DELETE")),
        },
    }
}

/// Who is uploading, as the URL and the request say.
enum Who {
    /// The admin: through the session (`None`), or a script with an API token of either scope
    /// (issue 21), whose uploads are its own.
    Admin(Option<TokenId>),
    /// A guest, through this link (as it is now).
    Guest(GuestLink),
}

impl Who {
    /// The admin's routes need the admin's session or an API token (`Bearer`, either scope,
    /// as `POST /api/entry` does); a guest's need the link to exist.
    fn of(app: &App, req: &Request, link: Option<&str>, now: Timestamp) -> Result<Who> {
        match link {
            None => Ok(Who::Admin(match app.require(req, Need::Upload)? {
                Caller::Session => None,
                Caller::Token { id, .. } => Some(id),
            })),
            Some(id) => {
                let id = GuestLinkId::parse(id).map_err(Error::BadRequest)?;
                let link = app
                    .store
                    .guest_link(&id, now)
                    .or_not_found("Invalid guest link ID")?;
                Ok(Who::Guest(link))
            }
        }
    }

    /// Whether `upload` was created through this route: the admin's session may continue
    /// any of the admin's side (a token's included), a token only its own.
    fn owns(&self, upload: &Resumable) -> bool {
        match self {
            Who::Admin(None) => upload.guest_link_id.is_none(),
            Who::Admin(Some(token)) => {
                upload.guest_link_id.is_none() && upload.token_id.as_ref() == Some(token)
            }
            Who::Guest(link) => upload.guest_link_id.as_ref() == Some(&link.id),
        }
    }

    /// The URL of upload `id` for this uploader.
    fn location(&self, id: &UploadId) -> String {
        match self {
            Who::Admin(_) => format!("/api/tus/{id}"),
            Who::Guest(link) => format!("/api/guest/{}/tus/{id}", link.id),
        }
    }
}

/// An answer without a body.
fn empty(status: u16) -> Response {
    Response {
        status_code: status,
        headers: Vec::new(),
        data: ResponseBody::empty(),
        upgrade: None,
    }
}

/// `OPTIONS`: what we speak; a guest link's byte cap is its `Tus-Max-Size`.
fn options(app: &App, link: Option<&str>) -> Result<Response> {
    let mut r = empty(204)
        .with_unique_header("Tus-Version", VERSION)
        .with_unique_header("Tus-Extension", EXTENSIONS);
    if let Some(id) = link {
        let id = GuestLinkId::parse(id).map_err(Error::BadRequest)?;
        let link = app
            .store
            .guest_link(&id, app.now())
            .or_not_found("Invalid guest link ID")?;
        if let Some(max) = link.max_file_bytes {
            r = r.with_unique_header("Tus-Max-Size", max.to_string());
        }
    }
    Ok(r)
}

/// A header that must be a non-negative integer, if present.
fn number(req: &Request, name: &str) -> Result<Option<u64>> {
    match req.header(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| Error::BadRequest(format!("{name} must be a non-negative integer"))),
    }
}

/// Whether the request carries a body (declared, or chunked).
fn has_body(req: &Request) -> Result<bool> {
    Ok(number(req, "Content-Length")?.is_some_and(|n| n > 0)
        || req.header("Transfer-Encoding").is_some())
}

/// Refuses a body that is not `application/offset+octet-stream` (415).
fn require_offset_stream(req: &Request) -> Result<()> {
    let kind = req
        .header("Content-Type")
        .and_then(|t| t.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    if kind.eq_ignore_ascii_case(OFFSET_STREAM) {
        Ok(())
    } else {
        Err(Error::UnsupportedMediaType(
            "the body of a tus upload request must be Content-Type: \
             application/offset+octet-stream",
        ))
    }
}

/// 507 unless `bytes` more can be stored with the uploader's free-disk floor left free (the
/// admin's or the guests', as for an ordinary upload; counting the free pages inside the
/// database, which new chunks reuse), on the filesystem holding the database. Unfinished
/// uploads count against no other limit.
fn refuse_unless_it_fits(app: &App, who: &Who, bytes: u64) -> Result<()> {
    let floor = match who {
        // A token is the admin's credential, handed to the admin's own scripts.
        Who::Admin(_) => app.config.admin_disk_floor,
        Who::Guest(_) => app.config.guest_disk_floor,
    };
    let need = bytes.saturating_add(floor);
    let reusable = app.store.reclaimable_bytes().unwrap_or(0);
    match crate::disk::available_bytes(app.store.path()) {
        Ok(disk) if disk.saturating_add(reusable) < need => {
            Err(Error::InsufficientStorage(format!(
                "not enough disk space for this upload: it needs about {need} bytes, {} are free",
                disk.saturating_add(reusable)
            )))
        }
        _ => Ok(()),
    }
}

/// The keys of `Upload-Metadata` we read (any other is ignored, as the protocol allows).
#[derive(Default)]
struct Metadata {
    filename: Option<String>,
    filetype: Option<String>,
    note: Option<String>,
    expiration: Option<String>,
    download_passphrase: Option<Vec<u8>>,
    max_downloads: Option<String>,
}

/// Parses `Upload-Metadata`: comma-separated `key base64value` pairs (the value and its space
/// may be left out), keys unique, non-empty, without spaces or commas. `filename` (or
/// `name`), `filetype` (or `type`), `note` and `expiration` must be UTF-8.
fn parse_metadata(header: &str) -> std::result::Result<Metadata, String> {
    let mut seen: Vec<&str> = Vec::new();
    let mut m = Metadata::default();
    for pair in header.split(',').map(str::trim) {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
        let value = value.trim();
        if key.is_empty() {
            return Err("Upload-Metadata has an empty key".into());
        }
        if seen.contains(&key) {
            return Err(format!("Upload-Metadata names {key:?} twice"));
        }
        seen.push(key);
        let bytes = base64::decode(value)
            .map_err(|_| format!("Upload-Metadata: the value of {key:?} is not Base64"))?;
        let text = || {
            String::from_utf8(bytes.clone())
                .map_err(|_| format!("Upload-Metadata: the value of {key:?} is not UTF-8"))
        };
        match key {
            "filename" => m.filename = Some(text()?),
            "name" if m.filename.is_none() && !seen.contains(&"filename") => {
                m.filename = Some(text()?)
            }
            "filetype" => m.filetype = Some(text()?),
            "type" if m.filetype.is_none() && !seen.contains(&"filetype") => {
                m.filetype = Some(text()?)
            }
            "note" => m.note = Some(text()?),
            "expiration" => m.expiration = Some(text()?),
            "downloadPassphrase" => m.download_passphrase = Some(bytes),
            "maxDownloads" => m.max_downloads = Some(text()?),
            _ => {}
        }
    }
    Ok(m)
}

/// The new upload `POST` describes, validated as `POST /api/entry` (or a guest's upload)
/// validates a file, before anything is stored.
fn new_upload(
    app: &App,
    req: &Request,
    who: &Who,
    uploader: Uploader,
    now: Timestamp,
) -> Result<NewResumable> {
    if req.header("Upload-Defer-Length").is_some() {
        return Err(Error::BadRequest(
            "Upload-Defer-Length is not supported: send Upload-Length".into(),
        ));
    }
    let length = number(req, "Upload-Length")?
        .ok_or_else(|| Error::BadRequest("Upload-Length is required".into()))?;
    if length == 0 {
        return Err(invalid("file must be non-empty"));
    }
    if length > i64::MAX as u64 {
        return Err(Error::TooLarge(format!(
            "Upload-Length {length} is larger than this server can store"
        )));
    }
    if let Some(max) = uploader.max_file_bytes() {
        if length > max {
            return Err(too_large(max));
        }
    }
    let raw = req.header("Upload-Metadata").unwrap_or("").trim();
    let m = parse_metadata(raw).map_err(Error::BadRequest)?;
    let name = m.filename.unwrap_or_default();
    // Any directory part goes, as an ordinary upload's file name loses it.
    let filename =
        Filename::parse(name.rsplit('/').next().unwrap_or("")).map_err(|e| {
            match name.is_empty() {
                true => invalid("file name missing: send it as filename in Upload-Metadata"),
                false => invalid(e),
            }
        })?;
    let content_type = m.filetype.unwrap_or_default();
    if content_type.len() > 255 || content_type.bytes().any(|b| !(b' '..=b'~').contains(&b)) {
        return Err(invalid("filetype must be a MIME type in printable ASCII"));
    }
    let (note, download_passphrase) = optional_fields(
        uploader,
        m.note.as_deref().unwrap_or(""),
        m.download_passphrase.as_deref().unwrap_or(&[]),
    )?;
    let requested = m.expiration.filter(|e| !e.is_empty());
    let expiration = match (who, requested) {
        (_, None) => None,
        (Who::Admin(_), Some(e)) => Some(
            parse_expiration(&e, now)
                .map_err(|m| Error::BadRequest(format!("Invalid expiration: {m}")))?,
        ),
        (Who::Guest(link), Some(e)) => Some(
            guest_expiration(Some(&e), link.file_lifetime, now)
                .map_err(|m| Error::BadRequest(format!("Invalid expiration: {m}")))?,
        ),
    };
    // A download limit (issue 20), as `POST /api/entry?maxDownloads=` takes it; not a guest's.
    let max_downloads = match (who, m.max_downloads.filter(|v| !v.is_empty())) {
        (_, None) => None,
        (Who::Guest(_), Some(_)) => {
            return Err(invalid("guest uploads cannot have download limits"));
        }
        (Who::Admin(_), Some(v)) => Some(
            MaxDownloads::parse(&v, app.config.max_download_limit)
                .map_err(|m| Error::BadRequest(format!("Invalid maxDownloads: {m}")))?,
        ),
    };
    Ok(NewResumable {
        length,
        metadata: raw.to_owned(),
        filename,
        content_type,
        note,
        download_passphrase,
        expiration,
        max_downloads,
    })
}

/// `POST`: creates an upload (and stores the bytes the request carries, if any).
fn create(app: &App, req: &Request, link: Option<&str>) -> Result<Response> {
    let now = app.now();
    let who = Who::of(app, req, link, now)?;
    let with_body = has_body(req)?;
    if with_body {
        require_offset_stream(req)?;
    }
    // Reserve the guest's slot first: a link that takes no more uploads says so whatever
    // else is wrong, as an ordinary guest upload does.
    let slot = match &who {
        Who::Admin(_) => None,
        Who::Guest(link) => {
            let unfinished = app.store.unfinished_guest_uploads(&link.id, now)?;
            if unfinished >= app.config.max_unfinished_guest_uploads {
                return Err(Error::Forbidden(
                    "this guest link already has as many unfinished uploads as it may hold; \
                     finish or cancel one first",
                ));
            }
            Some(
                app.store
                    .reserve_guest_upload(&link.id, now)
                    .or_not_found("Invalid guest link ID")?,
            )
        }
    };
    let uploader = match (&slot, &who) {
        (Some(slot), _) => Uploader::Guest(slot),
        (None, Who::Admin(Some(token))) => Uploader::Token(token),
        (None, _) => Uploader::Admin,
    };
    let new = new_upload(app, req, &who, uploader, now)?;
    if let Some(declared) = number(req, "Content-Length")?.filter(|_| with_body) {
        if declared > new.length {
            return Err(Error::TooLarge(format!(
                "the request carries {declared} bytes, more than its Upload-Length of {}",
                new.length
            )));
        }
    }
    refuse_unless_it_fits(app, &who, new.length)?;
    // Last before anything is stored: creating a guest's upload counts against the link's
    // rate limits as an ordinary guest upload does (its PATCHes do not).
    if let Who::Guest(link) = &who {
        count_guest_upload(app, req, &link.id)?;
    }
    let expires = now.plus_secs(app.config.tus_expiry.as_secs() as i64);
    let mut upload = app.store.create_resumable(uploader, &new, now, expires)?;
    // The row holds the guest's slot from here on.
    drop(slot);
    let location = who.location(&upload.id);
    let mut finished = None;
    if with_body {
        // A failure here leaves nothing: the client never learnt the upload's URL.
        match write(app, req, &who, &mut upload, now) {
            Ok(done) => finished = done,
            Err(e) => {
                let _ = app.store.terminate_resumable(&upload.id);
                app.gc_wake.notify();
                return Err(e);
            }
        }
    }
    let mut r = empty(201)
        .with_unique_header("Location", location)
        .with_unique_header("Upload-Expires", upload.expires.http_date());
    if with_body {
        r = r.with_unique_header("Upload-Offset", upload.offset.to_string());
    }
    Ok(match finished {
        Some(id) => entry_headers(app, req, r, &id),
        None => r,
    })
}

/// The upload `id` names on this route, unless it is unknown there (404) or expired (410, and
/// removed).
fn find(app: &App, who: &Who, id: &str, now: Timestamp) -> Result<Resumable> {
    let id = UploadId::parse(id).ok_or(Error::NotFound("upload not found"))?;
    let upload = app.store.resumable(&id).or_not_found("upload not found")?;
    if !who.owns(&upload) {
        return Err(Error::NotFound("upload not found"));
    }
    if upload.is_expired(now) {
        remove(app, &upload.id);
        return Err(Error::Gone(
            "this upload expired: it waited too long for its next bytes; start a new one",
        ));
    }
    Ok(upload)
}

/// Cancels an upload the server gives up on, and wakes the collector for its space.
fn remove(app: &App, id: &UploadId) {
    match app.store.terminate_resumable(id) {
        Ok(()) | Err(StoreError::NotFound) => app.gc_wake.notify(),
        Err(e) => eprintln!("picoshare: could not remove upload {id}: {e}"),
    }
}

/// The headers of a finished upload's answers: the file's id and download URL.
fn entry_headers(app: &App, req: &Request, r: Response, id: &EntryId) -> Response {
    r.with_unique_header("PicoShare-Entry-Id", id.as_str().to_owned())
        .with_unique_header("PicoShare-Entry-Url", download_url(app, req, id))
}

/// `HEAD`: how far the upload got.
fn head(app: &App, req: &Request, link: Option<&str>, id: &str) -> Result<Response> {
    let now = app.now();
    let who = Who::of(app, req, link, now)?;
    let upload = find(app, &who, id, now)?;
    let mut r = empty(200)
        .with_unique_header("Cache-Control", "no-store")
        .with_unique_header("Upload-Offset", upload.offset.to_string())
        .with_unique_header("Upload-Length", upload.new.length.to_string());
    if !upload.new.metadata.is_empty() {
        r = r.with_unique_header("Upload-Metadata", upload.new.metadata.clone());
    }
    Ok(match upload.completed {
        Some(_) => entry_headers(app, req, r, &upload.entry_id),
        None => r.with_unique_header("Upload-Expires", upload.expires.http_date()),
    })
}

/// `PATCH`: the next bytes of an upload, from exactly where it stands.
fn patch(app: &App, req: &Request, link: Option<&str>, id: &str) -> Result<Response> {
    let now = app.now();
    let who = Who::of(app, req, link, now)?;
    require_offset_stream(req)?;
    let offset = number(req, "Upload-Offset")?
        .ok_or_else(|| Error::Conflict("Upload-Offset is required: ask for it with HEAD".into()))?;
    let mut upload = find(app, &who, id, now)?;
    if offset != upload.offset {
        return Err(Error::Conflict(format!(
            "Upload-Offset is {offset} but the upload holds {} bytes: go on from there",
            upload.offset
        )));
    }
    if upload.completed.is_some() {
        if has_body(req)? {
            return Err(Error::TooLarge(
                "this upload is complete: it takes no more bytes".into(),
            ));
        }
        let r = empty(204).with_unique_header("Upload-Offset", upload.offset.to_string());
        return Ok(entry_headers(app, req, r, &upload.entry_id));
    }
    if let Some(declared) = number(req, "Content-Length")? {
        if declared > upload.lacking() {
            return Err(Error::TooLarge(format!(
                "the request carries {declared} bytes but the upload lacks only {} \
                 (Upload-Length {}); nothing was stored",
                upload.lacking(),
                upload.new.length
            )));
        }
    }
    refuse_unless_it_fits(
        app,
        &who,
        number(req, "Content-Length")?.unwrap_or(upload.lacking()),
    )?;
    let finished = write(app, req, &who, &mut upload, now)?;
    let r = empty(204).with_unique_header("Upload-Offset", upload.offset.to_string());
    Ok(match finished {
        Some(id) => entry_headers(app, req, r, &id),
        None => r.with_unique_header("Upload-Expires", upload.expires.http_date()),
    })
}

/// Stores the request's body as the next bytes of `upload`; `Some(id)` once it is complete.
/// A guest's link must still accept uploads (if it stopped, the upload cannot complete: it is
/// removed, 403).
fn write(
    app: &App,
    req: &Request,
    who: &Who,
    upload: &mut Resumable,
    now: Timestamp,
) -> Result<Option<EntryId>> {
    let link_gone =
        || Error::Forbidden("the guest link no longer accepts uploads: this upload was removed");
    let slot = match who {
        Who::Admin(_) => None,
        Who::Guest(link) => {
            if !link.is_active(now) {
                remove(app, &upload.id);
                return Err(link_gone());
            }
            Some(app.store.resumable_slot(link.clone()))
        }
    };
    let token = upload.token_id.clone();
    let (uploader, default_expiration) = match (&slot, who) {
        (Some(slot), Who::Guest(link)) => (
            Uploader::Guest(slot),
            link.file_lifetime.expiration_from(now),
        ),
        // Whoever sends the last byte, a token's upload becomes the token's file.
        _ => match &token {
            Some(token) => (Uploader::Token(token), default_expiration(app, now)?),
            None => (Uploader::Admin, default_expiration(app, now)?),
        },
    };
    let new = upload.new_entry(now, default_expiration);
    let expires = now.plus_secs(app.config.tus_expiry.as_secs() as i64);
    let mut body = req
        .data()
        .ok_or_else(|| Error::Internal("request body already taken".into()))?;
    let appended =
        Upload::resume(&app.store, upload, uploader).append(upload, &mut body, &new, expires);
    match appended {
        Ok(Appended::Stored) => Ok(None),
        Ok(Appended::Completed(id)) => Ok(Some(id)),
        Err(AppendError::TooLong) => Err(Error::TooLarge(format!(
            "the request carried more bytes than the upload lacked (Upload-Length {}); \
             nothing of it was stored",
            upload.new.length
        ))),
        Err(AppendError::Body(e)) => Err(Error::BadRequest(format!(
            "the request body ended early ({e}); the upload keeps the {} bytes that \
             arrived: ask for its Upload-Offset (HEAD) and go on from there",
            upload.offset
        ))),
        Err(AppendError::Store(StoreError::GuestLinkInactive)) => {
            remove(app, &upload.id);
            Err(link_gone())
        }
        Err(AppendError::Store(e)) => Err(match e {
            StoreError::NotFound => Error::NotFound("upload not found"),
            // What was acknowledged stays: the upload goes on from there once there is room.
            StoreError::Full => Error::InsufficientStorage(format!(
                "the server's disk is full; the upload keeps the {} bytes it acknowledged",
                upload.offset
            )),
            StoreError::DiskFloor(floor) => Error::InsufficientStorage(format!(
                "not enough disk space for this upload: the server keeps {floor} bytes free; \
                 the upload keeps the {} bytes it acknowledged",
                upload.offset
            )),
            e => e.into(),
        }),
    }
}

/// `DELETE`: cancels an upload and frees what it held (a finished one is only forgotten: its
/// file stays).
fn terminate(app: &App, req: &Request, link: Option<&str>, id: &str) -> Result<Response> {
    let now = app.now();
    let who = Who::of(app, req, link, now)?;
    let upload = find(app, &who, id, now)?;
    app.store
        .terminate_resumable(&upload.id)
        .or_not_found("upload not found")?;
    app.gc_wake.notify();
    Ok(empty(204))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_pairs_are_base64_unique_and_may_omit_values() {
        let m = parse_metadata("filename aGVsbG8udHh0,filetype dGV4dC9wbGFpbg==,is_confidential")
            .unwrap();
        assert_eq!(m.filename.as_deref(), Some("hello.txt"));
        assert_eq!(m.filetype.as_deref(), Some("text/plain"));
        let m = parse_metadata("name YS5iaW4=, type ,note ").unwrap();
        assert_eq!(m.filename.as_deref(), Some("a.bin"));
        assert_eq!(m.filetype.as_deref(), Some(""));
        assert_eq!(m.note.as_deref(), Some(""));
        let m = parse_metadata("filename Yg==,name YQ==").unwrap();
        assert_eq!(m.filename.as_deref(), Some("b"), "filename wins over name");
        assert!(parse_metadata("").unwrap().filename.is_none());
        assert!(parse_metadata("filename YQ==,filename Yg==").is_err());
        assert!(parse_metadata("filename not*base64").is_err());
        assert!(
            parse_metadata(" YQ==").is_ok(),
            "a lone value is a key without one"
        );
        assert!(parse_metadata("filename /w==").is_err(), "not UTF-8");
        let m = parse_metadata("downloadPassphrase /w==").unwrap();
        assert_eq!(m.download_passphrase, Some(vec![0xff]), "checked later");
    }
}
