//! `POST /api/entry` (the admin's upload) and `POST /api/guest/{id}` (a guest's, through a
//! guest link). Both check everything they can before reading the body (so a refused upload
//! is never sent), then share one path, `store_upload`: multipart → spool → chunk writer,
//! driven by a [`crate::store::Upload`].

use rouille::{Request, Response};
use serde_json::json;

use super::json as json_response;
use crate::app::{App, Caller, Need};
use crate::duration::FileLifetime;
use crate::error::{Error, OrNotFound, Result};
use crate::model::{
    parse_expiration, DownloadPassphrase, EntryId, Filename, GuestLinkId, MaxDownloads, NewEntry,
    Note, Timestamp, NEVER_DAYS,
};
use crate::multipart::{read_upload_with, Limits};
use crate::spool::Spool;
use crate::store::{Upload, Uploader};

/// Room for the multipart framing around a guest's file (boundaries, part headers, a long
/// file name, small extra fields) when comparing a request's `Content-Length` with the link's
/// byte cap. The cap itself applies to the file's bytes, counted while streaming; this only
/// lets a request that is certainly too large be refused before its body is sent.
pub const MULTIPART_ALLOWANCE: u64 = 64 * 1024;

/// The one place an upload happens, for the admin or a guest: it begins the upload for
/// `uploader`, feeds it the request's file part while the body arrives (multipart → spool →
/// chunk writer), checks the rest of the form (a non-empty file, a valid name, the note, the
/// download passphrase; a guest may give neither of the last two), and
/// finishes it as a file uploaded at `now` expiring at `expiration`. Form errors are
/// PicoShare's `invalid request: …` 400s, or 413 for a file over a guest link's cap. A failed
/// upload leaves nothing; the collector is woken to give its space back.
fn store_upload(
    app: &App,
    req: &Request,
    uploader: Uploader,
    now: Timestamp,
    expiration: Timestamp,
    max_downloads: Option<MaxDownloads>,
) -> Result<EntryId> {
    let limits = Limits {
        max_file_bytes: uploader.max_file_bytes(),
        reusable_bytes: app.store.reclaimable_bytes().unwrap_or(0),
        disk_floor: match uploader {
            // A token is the admin's credential, handed to the admin's own scripts.
            Uploader::Admin | Uploader::Token(_) | Uploader::Replacing(_) => {
                app.config.admin_disk_floor
            }
            Uploader::Guest(_) => app.config.guest_disk_floor,
        },
        ..app.upload_limits()
    };
    let mut upload = Upload::begin(&app.store, uploader);
    let mut receive = |spool: &mut Spool, file: &mut dyn std::io::Read| {
        upload.feed(spool, file, limits.spool_dir, limits.max_file_bytes)
    };
    let stored = read_upload_with(req, &limits, &mut receive).and_then(|mut form| {
        if form.spool.is_empty() {
            return Err(invalid("file must be non-empty"));
        }
        let filename = Filename::parse(&form.filename).map_err(invalid)?;
        // Go's FormValue also reads `note` from the query string.
        let note_text = form.note.take().or_else(|| req.get_param("note"));
        // From the body only: a passphrase in the URL would end up in access logs.
        let (note, download_passphrase) = optional_fields(
            uploader,
            note_text.as_deref().unwrap_or(""),
            form.download_passphrase.as_deref().unwrap_or(&[]),
        )?;
        if matches!(uploader, Uploader::Replacing(_))
            && (note.as_deref().is_some() || download_passphrase.is_some())
        {
            return Err(invalid(
                "a replacement keeps the file's note and passphrase; change them with PUT \
                 /api/entry/{id}",
            ));
        }
        let new = NewEntry {
            filename,
            content_type: form.content_type,
            upload_time: now,
            expiration,
            guest_link_id: None,
            note,
            download_passphrase,
            max_downloads,
        };
        Ok(upload.finish(&mut form.spool, &new)?)
    });
    if stored.is_err() {
        // The failed upload's chunks were deleted as it unwound; give their space back.
        app.gc_wake.notify();
    }
    stored
}

/// PicoShare's 400 for a bad upload: `invalid request: …`.
pub(super) fn invalid(m: &str) -> Error {
    Error::BadRequest(format!("invalid request: {m}"))
}

/// A new file's optional fields, checked as every upload checks them: the note and the
/// download passphrase, neither of which a guest may give.
pub(super) fn optional_fields(
    uploader: Uploader,
    note: &str,
    download_passphrase: &[u8],
) -> Result<(Note, Option<DownloadPassphrase>)> {
    let note = Note::parse(note).map_err(invalid)?;
    let download_passphrase =
        DownloadPassphrase::parse_optional(download_passphrase).map_err(invalid)?;
    if matches!(uploader, Uploader::Guest(_)) {
        if note.as_deref().is_some() {
            return Err(invalid("guest uploads cannot have file notes"));
        }
        if download_passphrase.is_some() {
            return Err(invalid("guest uploads cannot have download passphrases"));
        }
    }
    Ok((note, download_passphrase))
}

/// The download URL of file `id`, absolute, as the client reached us.
pub(super) fn download_url(app: &App, req: &Request, id: &EntryId) -> String {
    format!("{}/-{id}", app.public_origin(req))
}

/// `POST /api/entry[?maxDownloads=N]`: the admin's upload, or a script's with an API token of
/// either scope; answers `{"id": …}`. PicoShare requires `?expiration=`; a token's upload may
/// leave it out and gets the default lifetime from Settings (ShareX and cron jobs cannot
/// compute a date).
pub fn admin(app: &App, req: &Request) -> Result<Response> {
    let caller = app.require(req, Need::Upload)?;
    let now = app.now();
    let requested = req.get_param("expiration");
    let expiration = match (&caller, requested) {
        (Caller::Token { .. }, None) => default_expiration(app, now)?,
        (_, requested) => parse_expiration(&requested.unwrap_or_default(), now)
            .map_err(|m| Error::BadRequest(format!("Invalid expiration URL parameter: {m}")))?,
    };
    let max_downloads = match req.get_param("maxDownloads").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(
            MaxDownloads::parse(&v, app.config.max_download_limit).map_err(|m| {
                Error::BadRequest(format!("Invalid maxDownloads URL parameter: {m}"))
            })?,
        ),
    };
    let id = store_upload(app, req, caller.uploader(), now, expiration, max_downloads)?;
    Ok(json_response(json!({ "id": id.as_str() })))
}

/// `PUT /api/entry/{id}/file` (issue 20): new bytes for an existing file, which keeps its id
/// (so its links), note, expiration, download limit and history; its name and type become the
/// new file's. The old bytes stay served until the new ones are all stored, then the swap is
/// one transaction; a download that started on the old bytes finishes with them. Answers
/// `{"id": …}`. The admin API: the admin's session or an admin-scope token.
pub fn replace(app: &App, req: &Request, id: &str) -> Result<Response> {
    app.require(req, Need::Admin)?;
    let id = super::entry_id(app, id)?;
    let now = app.now();
    let current = app.store.entry(&id, now).or_not_found("Invalid entry ID")?;
    store_upload(
        app,
        req,
        Uploader::Replacing(&id),
        now,
        current.expiration,
        None,
    )
    .map_err(|e| match e {
        Error::NotFound(_) => Error::NotFound("Invalid entry ID"),
        e => e,
    })?;
    Ok(json_response(json!({ "id": id.as_str() })))
}

/// Counts one more upload through guest link `link` against its rate limits (per trusted
/// client address and in total, so an open link cannot add files — rows, pages, disk — at
/// any speed), or 429 with `Retry-After`.
pub(super) fn count_guest_upload(app: &App, req: &Request, link: &GuestLinkId) -> Result<()> {
    app.guest_uploads
        .take(
            link.as_str(),
            &app.client_addr(req).to_string(),
            std::time::Instant::now(),
        )
        .map_err(Error::TooManyRequests)
}

/// The default lifetime of the admin's uploads (Settings) from `now`.
pub(super) fn default_expiration(app: &App, now: Timestamp) -> Result<Timestamp> {
    let days = app.store.default_expiration_days()?;
    Ok(if days >= i64::from(NEVER_DAYS) {
        Timestamp::never()
    } else {
        now.plus_secs(days.saturating_mul(86_400))
    })
}

/// A guest's upload. Before the body: the link must exist and be active with a slot free for
/// this upload (reserved now, so parallel uploads cannot overshoot the count), the declared
/// length must fit the byte cap, the expiration must be acceptable, and the link's rate limits
/// must allow another upload (else 429 with `Retry-After`). Then the file is read under the
/// cap and the guests' free-disk floor, and stored only if the link still accepts it at
/// commit time.
pub fn guest(app: &App, req: &Request, link_id: &str) -> Result<Response> {
    let link_id = GuestLinkId::parse(link_id).map_err(Error::BadRequest)?;
    let now = app.now();
    let slot = app
        .store
        .reserve_guest_upload(&link_id, now)
        .or_not_found("Invalid guest link ID")?;
    let link = &slot.link;
    if let Some(max) = link.max_file_bytes {
        let declared = req
            .header("Content-Length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > max.saturating_add(MULTIPART_ALLOWANCE)) {
            return Err(too_large(max));
        }
    }
    let expiration = guest_expiration(
        req.get_param("expiration").as_deref(),
        link.file_lifetime,
        now,
    )
    .map_err(|m| Error::BadRequest(format!("Invalid expiration: {m}")))?;
    // Last before the body.
    count_guest_upload(app, req, &link.id)?;
    // Crossing the cap mid-stream stops the upload at once with the same 413.
    let id = store_upload(app, req, Uploader::Guest(&slot), now, expiration, None)?;
    if req.header("Accept") == Some("application/json") {
        return Ok(json_response(json!({ "id": id.as_str() })));
    }
    // Anything else is taken for a command-line client: the download URL as plain text.
    Ok(Response::from_data(
        "text/plain",
        format!("{}\r\n", download_url(app, req, &id)),
    ))
}

/// The 413 for a file over the link's cap (the same text `multipart` uses mid-stream).
pub(super) fn too_large(max: u64) -> Error {
    Error::TooLarge(format!(
        "invalid request: file is larger than this link's limit of {max} bytes"
    ))
}

/// A guest file's expiration: absent or empty → the link's whole file lifetime (never stays
/// never); otherwise at least an hour ahead and not past that lifetime.
pub(super) fn guest_expiration(
    requested: Option<&str>,
    lifetime: FileLifetime,
    now: Timestamp,
) -> std::result::Result<Timestamp, String> {
    let limit = lifetime.expiration_from(now);
    let Some(requested) = requested.filter(|s| !s.is_empty()) else {
        return Ok(limit);
    };
    let t = parse_expiration(requested, now)?;
    if t > limit {
        return Err(format!(
            "requested expiration time of {} is beyond guest link's limit: {}",
            t.rfc3339(),
            limit.rfc3339()
        ));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::GoDuration;

    #[test]
    fn guest_expirations_default_to_and_stay_within_the_links_lifetime() {
        let now = Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let week = FileLifetime::Finite(GoDuration::from_hours(168));
        let at = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
        assert_eq!(
            guest_expiration(None, week, now),
            Ok(at("2026-01-08T00:00:00Z"))
        );
        assert_eq!(
            guest_expiration(Some(""), FileLifetime::Never, now),
            Ok(Timestamp::never())
        );
        assert_eq!(
            guest_expiration(Some("2026-01-02T00:00:00Z"), week, now),
            Ok(at("2026-01-02T00:00:00Z"))
        );
        assert_eq!(
            guest_expiration(Some("2026-01-08T00:00:00Z"), week, now),
            Ok(at("2026-01-08T00:00:00Z"))
        );
        assert_eq!(
            guest_expiration(Some("2026-01-08T00:00:01Z"), week, now),
            Err(
                "requested expiration time of 2026-01-08T00:00:01Z is beyond guest link's \
                 limit: 2026-01-08T00:00:00Z"
                    .into()
            )
        );
        assert!(guest_expiration(Some("2026-01-01T00:30:00Z"), week, now).is_err());
        assert!(guest_expiration(Some("soon"), week, now).is_err());
        assert_eq!(
            guest_expiration(Some(crate::model::NEVER), FileLifetime::Never, now),
            Ok(Timestamp::never())
        );
    }
}
