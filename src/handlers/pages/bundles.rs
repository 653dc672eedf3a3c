//! The admin's list of bundles (issue 20): `GET /bundles`, a page at a time, each bundle with
//! its files' count and size, its expiry, its ZIP's downloads, and copy / open / delete.

use rouille::{Request, Response};

use super::files::ICON_COPY;
use super::guest_links::ICON_TRASH;
use super::{thousands, Nav, Page, Pager};
use crate::app::App;
use crate::error::Result;
use crate::html::{expiry, format_size, html, time, Html};
use crate::model::Timestamp;
use crate::store::BundleSummary;

/// `GET /bundles[?page=N]`: bundles not expired, newest first, `Config::page_size` a page.
pub fn list(app: &App, req: &Request) -> Result<Response> {
    app.require_admin_page(req)?;
    let now = app.now();
    let total = app.store.bundle_total(now)?;
    let pager = Pager::new(req, app.config.page_size, total);
    let bundles = app.store.bundles_page(now, pager.offset(), pager.size)?;
    let table = if bundles.is_empty() {
        Html::trusted(
            "<div class=\"card empty\"><p>No bundles yet. Upload several files at once with \
             &ldquo;Share several files as one link&rdquo; to make one.</p>\
             <p><a class=\"button primary\" href=\"/\">Upload files</a></p></div>",
        )
    } else {
        let rows: Html = bundles.iter().map(|b| bundle_row(b, now)).collect();
        html!(
            "<div class=\"table-wrap\"><table class=\"table bundles-table\" id=\"bundles-table\">\
             <thead><tr><th scope=\"col\">Label</th><th scope=\"col\">Files</th>\
             <th scope=\"col\">Created</th><th scope=\"col\">Expires</th>\
             <th scope=\"col\">ZIP downloads</th>\
             <th scope=\"col\"><span class=\"visually-hidden\">Actions</span></th></tr></thead>\
             <tbody>{rows}</tbody></table></div>{pages}",
            rows = rows,
            pages = pager.nav(|n| format!("/bundles?page={n}")),
        )
    };
    let count = match total {
        1 => "1 bundle".to_owned(),
        n => format!("{} bundles", thousands(n)),
    };
    let body = html!(
        "<div class=\"page-head\"><h1>Bundles <span class=\"count\" id=\"bundles-count\">\
         {count}</span></h1><a class=\"button\" href=\"/files\">Files</a></div>\
         <p class=\"alert info\">A bundle shares several files under one link: a page listing \
         them with &ldquo;Download all&rdquo; as a ZIP. Deleting a bundle keeps its files.</p>\
         {table}<noscript><p class=\"alert warning\">Copying and deleting bundles needs \
         JavaScript.</p></noscript>",
        count = count,
        table = table,
    );
    Ok(Page::new("Bundles", Nav::Admin("files"), body)
        .scripts(&["bundles"])
        .render())
}

fn bundle_row(s: &BundleSummary, now: Timestamp) -> Html {
    let b = &s.bundle;
    let id = b.id.as_str();
    let label = if b.label.trim().is_empty() {
        Html::trusted("Shared files")
    } else {
        Html::text(&b.label)
    };
    let files = match s.files {
        1 => "1 file".to_owned(),
        n => format!("{n} files"),
    };
    let downloads = match b.max_downloads {
        Some(max) if b.download_count >= max => html!(
            "{used} of {max} <span class=\"badge used-up\">used up</span>",
            used = b.download_count,
            max = max
        ),
        Some(max) => html!("{used} of {max}", used = b.download_count, max = max),
        None => html!("{used}", used = b.download_count),
    };
    html!(
        "<tr data-id=\"{id}\"><td class=\"cell-name\" data-label=\"Label\">\
         <a href=\"/-{id}\">{label}</a></td>\
         <td data-label=\"Files\">{files}, {size}</td>\
         <td data-label=\"Created\">{created}</td>\
         <td data-label=\"Expires\">{expires}</td>\
         <td data-label=\"ZIP downloads\">{downloads}</td>\
         <td class=\"cell-actions\"><div class=\"row-actions\">\
         <button type=\"button\" class=\"icon-button js-only\" data-copy=\"/-{id}\" \
         aria-label=\"Copy\" title=\"Copy link\">{ICON_COPY}</button>\
         <details class=\"qr-toggle\"><summary class=\"button small\" \
         title=\"QR code of the link\">QR</summary><img class=\"qr-image\" \
         src=\"/bundles/{id}/qr.svg\" loading=\"lazy\" alt=\"QR code of the bundle's link\">\
         </details>\
         <button type=\"button\" class=\"icon-button delete-bundle js-only\" \
         aria-label=\"Delete\" title=\"Delete the bundle (its files stay)\">{ICON_TRASH}\
         </button></div></td></tr>",
        id = id,
        label = label,
        files = files,
        size = format_size(s.bytes),
        created = time(b.creation_time, "date"),
        expires = expiry(now, b.expiration),
        downloads = downloads,
    )
}
