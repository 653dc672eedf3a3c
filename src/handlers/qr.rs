//! QR codes of share links (issue 20), as SVG images: `GET /files/{id}/qr.svg` and
//! `/bundles/{id}/qr.svg` for anyone (a guest's upload result and the public bundle page show
//! them; a code holds nothing but the link, which whoever asks already has in the id: it
//! tells no more than `/-{id}` does), `/guest-links/{id}/qr.svg` for the admin (guest links
//! are listed only to the admin). Each encodes the link as users open it: the short link, on
//! the origin the request came in on (HTTPS when a trusted proxy says so, see
//! `App::public_origin`).

use rouille::{Request, Response};

use crate::app::{App, Need};
use crate::error::{Error, OrNotFound, Result};
use crate::model::{BundleId, GuestLinkId};

/// `GET /files/{id}/qr.svg`: the file's short link (404 once the file is gone).
pub fn file(app: &App, req: &Request, id: &str) -> Result<Response> {
    let id = super::entry_id(app, id)?;
    app.store
        .entry(&id, app.now())
        .or_not_found("File not found")?;
    svg(&format!("{}/-{id}", app.public_origin(req)))
}

/// `GET /bundles/{id}/qr.svg`: the bundle page's link.
pub fn bundle(app: &App, req: &Request, id: &str) -> Result<Response> {
    let id = BundleId::parse(id).map_err(Error::BadRequest)?;
    app.store
        .bundle(&id, app.now())
        .or_not_found("Bundle not found")?;
    svg(&format!("{}/-{id}", app.public_origin(req)))
}

/// `GET /guest-links/{id}/qr.svg` (admin): the guest upload page's link.
pub fn guest_link(app: &App, req: &Request, id: &str) -> Result<Response> {
    app.require(req, Need::Admin)?;
    let id = GuestLinkId::parse(id).map_err(Error::BadRequest)?;
    app.store
        .guest_link(&id, app.now())
        .or_not_found("Guest link not found")?;
    svg(&format!("{}/g/{id}", app.public_origin(req)))
}

fn svg(link: &str) -> Result<Response> {
    let svg = crate::qr::svg(link).ok_or_else(|| Error::BadRequest("link too long".into()))?;
    Ok(Response::from_data("image/svg+xml", svg)
        .with_unique_header("X-Content-Type-Options", "nosniff")
        // An image, never a document: nothing in it may run or load.
        .with_unique_header("Content-Security-Policy", "default-src 'none'; sandbox")
        // It depends on the address the request came in on.
        .with_unique_header("Cache-Control", "no-store"))
}
