//! Bundles (issue 20): several files under one link. The admin's API — `POST /api/bundles`,
//! `PUT`/`DELETE /api/bundles/{id}` — and what anyone with the link gets: the bundle's page at
//! `/-{id}` (each file with its own link, a QR code, "Download all") and its ZIP at
//! `/-{id}/zip`, streamed one chunk at a time with an exact `Content-Length` (see `zip.rs`).
//!
//! The ZIP has no `Range` support (`Accept-Ranges: none`): its data descriptors carry CRCs
//! known only once the bytes before them have streamed, so a range would need a pass over
//! every file before it. Each `GET` is a whole download and counts as one.

use std::sync::Arc;

use rouille::{Request, Response, ResponseBody};
use serde_json::{json, Value};

use super::download::{attachment_disposition, SANDBOX};
use super::pages::{Nav, Page};
use super::{empty_ok, invalid_request as invalid, json as json_response, read_json};
use crate::app::{App, Caller, Need};
use crate::error::{Error, OrNotFound, Result, StoreError, USED_UP};
use crate::html::{encode_uri_component, expiry, format_size, html, Html};
use crate::model::{
    parse_expiration, Bundle, BundleId, BundleUpdate, EntryId, EntryMeta, NewBundle, Timestamp,
    TokenScope,
};
use crate::zip::{self, Layout, Member, MemberRead, ZipStream};

/// Bundle labels: as long as guest-link labels.
pub const MAX_LABEL_BYTES: usize = 200;

/// `POST /api/bundles` with `{"entryIds": [...], "label": "...", "expiration": RFC 3339,
/// "maxDownloads": n}` (all but `entryIds` optional; no expiration: never) → `{"id": …}`.
/// The admin (session or admin-scope token) bundles any files; an upload-scope API token
/// only files it uploaded itself (issue 21), else 403 and nothing is written.
pub fn create(app: &App, req: &Request) -> Result<Response> {
    let only_uploads_of = match app.require(req, Need::Upload)? {
        Caller::Token {
            id,
            scope: TokenScope::Upload,
        } => Some(id),
        Caller::Token { .. } | Caller::Session => None,
    };
    let body = read_json(req, app.config.max_json_body).map_err(Error::invalid_request)?;
    if !body.is_object() {
        return Err(invalid("malformed request"));
    }
    let entries = entry_ids(app, body.get("entryIds"))?;
    let now = app.now();
    let new = NewBundle {
        label: label(body.get("label"))?.unwrap_or_default(),
        expiration: expiration(body.get("expiration"), now, None)?.unwrap_or(Timestamp::never()),
        max_downloads: super::max_downloads_field(app, body.get("maxDownloads"))
            .map_err(invalid)?
            .flatten(),
        entries,
        only_uploads_of,
    };
    let id = app
        .store
        .insert_bundle(&new, now)
        .map_err(unknown_entries)?;
    Ok(json_response(json!({ "id": id.as_str() })))
}

/// `PUT /api/bundles/{id}`: any of `label`, `expiration` (`""`: never) and `maxDownloads`
/// (`null` removes the limit); a field left out stays as it is.
pub fn edit(app: &App, req: &Request, id: &str) -> Result<Response> {
    app.require(req, Need::Admin)?;
    let id = BundleId::parse(id).map_err(Error::BadRequest)?;
    let body = read_json(req, app.config.max_json_body).map_err(Error::invalid_request)?;
    if !body.is_object() {
        return Err(invalid("malformed request"));
    }
    let now = app.now();
    let current = app
        .store
        .bundle(&id, now)
        .or_not_found("Bundle not found")?;
    let update = BundleUpdate {
        label: label(body.get("label"))?,
        expiration: expiration(body.get("expiration"), now, Some(current.expiration))?,
        max_downloads: super::max_downloads_field(app, body.get("maxDownloads"))
            .map_err(invalid)?,
    };
    app.store
        .update_bundle(&id, &update)
        .or_not_found("Bundle not found")?;
    Ok(empty_ok())
}

/// `DELETE /api/bundles/{id}[?withFiles=true]`: the bundle goes; its files stay unless asked.
pub fn delete(app: &App, req: &Request, id: &str) -> Result<Response> {
    app.require(req, Need::Admin)?;
    let id = BundleId::parse(id).map_err(Error::BadRequest)?;
    let with_files = req.get_param("withFiles").is_some_and(|v| v == "true");
    if !app.store.delete_bundle(&id, with_files)? {
        return Err(Error::NotFound("Bundle not found"));
    }
    if with_files {
        app.gc_wake.notify();
    }
    Ok(empty_ok())
}

/// `entryIds`: 1 to `max_bundle_files` distinct entry ids.
fn entry_ids(app: &App, v: Option<&Value>) -> Result<Vec<EntryId>> {
    let Some(Value::Array(items)) = v else {
        return Err(invalid("entryIds must be a list of entry IDs"));
    };
    if items.is_empty() {
        return Err(invalid("a bundle needs at least one file"));
    }
    let max = app.config.max_bundle_files;
    if items.len() > max {
        return Err(invalid(format!("a bundle holds at most {max} files")));
    }
    let mut ids: Vec<EntryId> = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(s) = item else {
            return Err(invalid("entryIds must be a list of entry IDs"));
        };
        let id = super::entry_id(app, s).map_err(Error::invalid_request)?;
        if ids.contains(&id) {
            return Err(invalid(format!("entry ID {s} is listed twice")));
        }
        ids.push(id);
    }
    Ok(ids)
}

fn label(v: Option<&Value>) -> Result<Option<String>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= MAX_LABEL_BYTES => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(invalid(format!(
            "label too long - limit {MAX_LABEL_BYTES} characters"
        ))),
        Some(_) => Err(invalid("label must be a string")),
    }
}

/// An expiration field: absent → `None`; `""` → never; else RFC 3339 at least an hour ahead
/// (re-saving the `current` one is fine even within its last hour).
fn expiration(
    v: Option<&Value>,
    now: Timestamp,
    current: Option<Timestamp>,
) -> Result<Option<Timestamp>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(Some(Timestamp::never())),
        Some(Value::String(s)) => {
            let t = Timestamp::parse_rfc3339(s);
            if t.is_some() && t == current {
                return Ok(t);
            }
            parse_expiration(s, now).map(Some).map_err(invalid)
        }
        Some(_) => Err(invalid("expiration must be a string")),
    }
}

/// Unknown files in a new bundle are the client's mistake: a 400 naming them.
fn unknown_entries(e: StoreError) -> Error {
    match e {
        StoreError::UnknownEntries(ids) => {
            invalid(format!("unknown entry IDs: {}", ids.join(", ")))
        }
        e => e.into(),
    }
}

/// `/-{id}[/…]` when `raw` names a bundle: its page, or with `/zip` its ZIP. `None` when it
/// does not (then it is a file's address).
pub fn serve_if_bundle(app: &App, req: &Request, raw: &str) -> Result<Option<Response>> {
    let Ok(id) = BundleId::parse(raw) else {
        return Ok(None);
    };
    if !app.store.bundle_exists(id.as_str())? {
        return Ok(None);
    }
    let bundle = app
        .store
        .bundle(&id, app.now())
        .or_not_found("Bundle not found")?;
    let url = req.url();
    let rest = url.trim_start_matches('/').split('/').nth(1).unwrap_or("");
    Ok(Some(if rest == "zip" {
        serve_zip(app, req, &bundle)?
    } else {
        page(app, req, &bundle)?
    }))
}

/// The bundle's page: its files (each with its own link), a QR code of the page's link, and
/// "Download all".
fn page(app: &App, req: &Request, bundle: &Bundle) -> Result<Response> {
    let now = app.now();
    let files = app.store.bundle_files(&bundle.id, now)?;
    let bid = bundle.id.as_str();
    let total: u64 = files.iter().map(|f| f.size).sum();
    let mut rows = Html::default();
    for f in &files {
        let name = f.filename.as_str();
        let note = if f.download_limit.is_some_and(|l| l.is_used_up()) {
            Html::trusted(" <span class=\"badge\">used up</span>")
        } else if f.download_passphrase.is_some() {
            Html::trusted(" <span class=\"badge\">passphrase</span>")
        } else {
            Html::default()
        };
        rows.push(&html!(
            "<li class=\"bundle-file\"><a class=\"bundle-file-name\" href=\"/-{id}/{enc}\">\
             {name}</a>{note}<span class=\"bundle-file-size\">{size}</span></li>",
            id = f.id.as_str(),
            enc = encode_uri_component(name),
            name = name,
            note = note,
            size = format_size(f.size),
        ));
    }
    let count = match files.len() {
        1 => "1 file".to_owned(),
        n => format!("{n} files"),
    };
    let download_all = if files.is_empty() {
        Html::trusted("<p class=\"hint\">No files are left in this bundle.</p>")
    } else if bundle.is_used_up() && !app.is_admin(req) {
        Html::trusted(
            "<p class=\"alert warning\" id=\"zip-used-up\">Download all is used up: this \
             link's ZIP could be downloaded only a limited number of times.</p>",
        )
    } else {
        html!(
            "<a class=\"button primary\" id=\"download-all\" href=\"/-{bid}/zip\" download>\
             Download all <span class=\"hint\">(ZIP, {size})</span></a>",
            bid = bid,
            size = format_size(total),
        )
    };
    let limit = match bundle.max_downloads {
        Some(max) => html!(
            "<p class=\"hint\" id=\"zip-downloads-left\">Download all: {left} of {max} \
             downloads left.</p>",
            left = max.saturating_sub(bundle.download_count),
            max = max,
        ),
        None => Html::default(),
    };
    let title = if bundle.label.is_empty() {
        Html::trusted("Shared files")
    } else {
        Html::text(&bundle.label)
    };
    let body = html!(
        "<section class=\"card bundle\" id=\"bundle\" data-id=\"{bid}\">\
         <div class=\"bundle-head\"><div><h1>{title}</h1>\
         <p class=\"lead\">{count}, {size} in all. Expires: {expires}</p></div>\
         <figure class=\"qr\"><img src=\"/bundles/{bid}/qr.svg\" alt=\"QR code of this page's link\"><figcaption class=\"hint\">Scan to open this \
         page</figcaption></figure></div>\
         <ul class=\"bundle-files plain\" id=\"bundle-files\">{rows}</ul>\
         <div class=\"actions\">{download_all}\
         <button type=\"button\" class=\"button js-only\" data-copy=\"/-{bid}\">Copy link</button>\
         </div>{limit}</section>",
        bid = bid,
        title = title,
        count = count,
        size = format_size(total),
        expires = expiry(now, bundle.expiration),
        rows = rows,
        download_all = download_all,
        limit = limit,
    );
    Ok(Page::new("Shared Files", Nav::for_visitor(app, req), body).render())
}

/// The ZIP of the bundle's files. Visitors get the files they could download one by one:
/// not those behind a passphrase, nor those whose own download limit is used up; the
/// download counts for the bundle and for each limited file in it, in one transaction.
fn serve_zip(app: &App, req: &Request, bundle: &Bundle) -> Result<Response> {
    let now = app.now();
    let admin = app.is_admin(req);
    let files: Vec<EntryMeta> = app
        .store
        .bundle_files(&bundle.id, now)?
        .into_iter()
        .filter(|f| admin || f.download_passphrase.is_none())
        .collect();
    if files.is_empty() {
        return Err(Error::NotFound("No files are left in this bundle"));
    }
    // The versions listed are the ones served, even if a file is replaced mid-ZIP.
    let pins: Vec<_> = files
        .iter()
        .map(|f| app.store.pin_version(&f.id, f.version))
        .collect();
    let included = if req.method() == "HEAD" {
        if !admin && bundle.is_used_up() {
            return Err(Error::Gone(USED_UP));
        }
        files
            .iter()
            .map(|f| admin || !f.download_limit.is_some_and(|l| l.is_used_up()))
            .collect()
    } else {
        app.store.admit_zip(&bundle.id, &files, !admin)?
    };
    let files: Vec<EntryMeta> = files
        .into_iter()
        .zip(included)
        .filter_map(|(f, inc)| inc.then_some(f))
        .collect();
    // A ZIP is a download of each file in it: each gets its history row (see `history.rs`).
    if req.method() != "HEAD" {
        let client_ip = app.client_ip(req);
        let ua = req.header("User-Agent").unwrap_or("");
        for f in &files {
            app.history.record(&f.id, now, &client_ip, ua);
        }
    }
    let names = zip::unique_names(files.iter().map(|f| f.filename.as_str()));
    let members: Vec<Member> = files
        .iter()
        .zip(names)
        .map(|(f, name)| Member {
            name,
            size: f.size,
            modified: f.upload_time,
        })
        .collect();
    let layout = Layout::new(members);
    let len = layout.byte_len();
    let store = Arc::clone(&app.store);
    let sources: Vec<(EntryId, u64, u64)> = files
        .iter()
        .map(|f| (f.id.clone(), f.version, f.size))
        .collect();
    let stream = ZipStream::new(
        layout,
        Box::new(move |i| {
            let _keep = &pins;
            let (id, version, size) = &sources[i];
            store
                .open_reader(id, *version, 0, *size)
                .map(|r| Box::new(r) as Box<dyn MemberRead>)
                .map_err(|e| std::io::Error::other(e.to_string()))
        }),
    );
    let name = if bundle.label.trim().is_empty() {
        format!("bundle-{}.zip", bundle.id)
    } else {
        format!("{}.zip", zip::unique_names([bundle.label.trim()])[0])
    };
    let len = usize::try_from(len).map_err(|_| Error::Internal("ZIP too large".into()))?;
    Ok(Response {
        status_code: 200,
        headers: Vec::new(),
        data: ResponseBody::from_reader_and_size(stream, len),
        upgrade: None,
    }
    .with_unique_header("Content-Type", "application/zip")
    .with_unique_header("Content-Disposition", attachment_disposition(&name))
    .with_unique_header("X-Content-Type-Options", "nosniff")
    .with_unique_header(SANDBOX.0, SANDBOX.1)
    .with_unique_header("Accept-Ranges", "none")
    .with_unique_header("Cache-Control", "no-store"))
}
