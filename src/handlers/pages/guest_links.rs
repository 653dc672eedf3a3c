//! Guest-link pages: the admin's list (`/guest-links`) and create form (`/guest-links/new`),
//! and what a guest sees at `/g/{id}`: the upload page, or the "inactive" page.

use rouille::{Request, Response};

use super::files::ICON_COPY;
use super::upload::{expiration_options, upload_widget};
use super::{Nav, Page, Pager};
use crate::app::App;
use crate::error::{Error, OrNotFound, Result};
use crate::html::{expiry, format_size, html, time, Html};
use crate::model::{GuestLink, GuestLinkId, LinkSpent, Timestamp, NEVER_DAYS};

pub const ICON_TRASH: Html = Html::trusted(
    "<svg viewBox=\"0 0 24 24\" aria-hidden=\"true\"><path d=\"M9 3h6l1 \
     2h4v2H4V5h4zM6 9h12l-1 12H7zm3 2v8h2v-8zm4 0v8h2v-8z\"/></svg>",
);

fn link_row(link: &GuestLink, now: Timestamp) -> Html {
    let id = link.id.as_str();
    let active = link.is_active(now);
    let other = link.spent(now, 0).map(LinkSpent::as_str);
    let label_text = if link.label.is_empty() {
        Html::trusted("<em>unnamed</em>")
    } else {
        Html::text(&link.label)
    };
    let label = if active {
        html!(
            "<a href=\"/g/{id}\">{label}</a>",
            id = id,
            label = label_text
        )
    } else {
        label_text
    };
    let status = match (link.is_disabled, other) {
        (true, _) => Html::trusted("<span class=\"badge\">disabled</span>"),
        (false, Some(why)) => html!("<span class=\"badge\">{why}</span>", why = why),
        (false, None) => Html::default(),
    };
    let uploads = format!(
        "{} / {}",
        link.uploads_used,
        link.max_file_uploads
            .map_or_else(|| "Unlimited".to_owned(), |m| m.to_string())
    );
    let toggle = if link.is_disabled {
        "Enable"
    } else {
        "Disable"
    };
    html!(
        "<tr class=\"{row_class}\" data-id=\"{id}\" data-disabled=\"{disabled}\" \
         data-other-inactive=\"{other_inactive}\">\
         <td class=\"cell-name\" data-label=\"Label\">{label} <span class=\"status\">{status}\
         </span></td>\
         <td data-label=\"Created\">{created}</td>\
         <td data-label=\"Link expires\">{url_exp}</td>\
         <td data-label=\"Files expire\">{lifetime}</td>\
         <td data-label=\"Max size\">{max_size}</td>\
         <td data-label=\"Uploads\">{uploads}</td>\
         <td class=\"cell-actions\"><div class=\"row-actions\">\
         <button type=\"button\" class=\"icon-button copy-guest js-only\" \
         data-copy=\"/g/{id}\" aria-label=\"Copy\" title=\"Copy link\"{copy_hidden}>{ICON_COPY}\
         </button>\
         <details class=\"qr-toggle\"{copy_hidden}><summary class=\"button small\" \
         title=\"QR code of the link\">QR</summary><img class=\"qr-image\" \
         src=\"/guest-links/{id}/qr.svg\" loading=\"lazy\" alt=\"QR code of the guest link\"></details>\
         <button type=\"button\" class=\"button small toggle-link js-only\">{toggle}</button>\
         <button type=\"button\" class=\"icon-button delete-link js-only\" aria-label=\"Delete\" \
         title=\"Delete\">{ICON_TRASH}</button></div></td></tr>",
        row_class = if active { "" } else { "inactive" },
        id = id,
        disabled = if link.is_disabled { "true" } else { "false" },
        other_inactive = if other.is_some() { "true" } else { "false" },
        label = label,
        status = status,
        created = time(link.creation_time, "date"),
        url_exp = expiry(now, link.url_expiration),
        lifetime = link.file_lifetime.friendly_name(),
        max_size = link
            .max_file_bytes
            .map_or_else(|| "Unlimited".to_owned(), format_size),
        uploads = uploads,
        copy_hidden = if active { "" } else { " hidden" },
        toggle = toggle,
    )
}

/// `GET /guest-links[?page=N]`: newest first, a page at a time (`Config::page_size` rows).
pub fn list(app: &App, req: &Request) -> Result<Response> {
    app.require_admin_page(req)?;
    let now = app.now();
    let pager = Pager::new(req, app.config.page_size, app.store.guest_link_total()?);
    let links = app
        .store
        .guest_links_page(now, pager.offset(), pager.size)?;
    let table = if links.is_empty() {
        Html::trusted("<div class=\"card empty\"><p>No guest links yet.</p></div>")
    } else {
        let rows: Html = links.iter().map(|l| link_row(l, now)).collect();
        html!(
            "<div class=\"table-wrap\"><table class=\"table links-table\" id=\"guest-links-table\">\
             <thead><tr><th scope=\"col\">Label</th><th scope=\"col\">Created</th>\
             <th scope=\"col\">Link expires</th><th scope=\"col\">Files expire</th>\
             <th scope=\"col\">Max size</th><th scope=\"col\">Uploads</th>\
             <th scope=\"col\"><span class=\"visually-hidden\">Actions</span></th></tr></thead>\
             <tbody>{rows}</tbody></table></div>{pages}",
            rows = rows,
            pages = pager.nav(|n| format!("/guest-links?page={n}")),
        )
    };
    let body = html!(
        "<div class=\"page-head\"><h1>Guest links</h1>\
         <a class=\"button primary\" href=\"/guest-links/new\">Create new</a></div>\
         <p class=\"alert info\">A guest link lets someone without the passphrase upload files \
         to you: send them the link, and what they upload shows up in your file list. Each link \
         can limit how many files, how large, and for how long.</p>{table}\
         <noscript><p class=\"alert warning\">Copying, disabling and deleting links needs \
         JavaScript.</p></noscript>",
        table = table,
    );
    Ok(Page::new("Guest Links", Nav::Admin("guest-links"), body)
        .scripts(&["guest-links"])
        .render())
}

/// `GET /guest-links/new`.
pub fn new(app: &App, req: &Request) -> Result<Response> {
    app.require_admin_page(req)?;
    let body = Html::trusted(
        "<h1 class=\"page-title\">New guest link</h1>\
        <form id=\"guest-link-form\" class=\"card\" novalidate>\
        <div class=\"field\"><label for=\"label\">Label <span class=\"hint\">(optional; guests \
        do not see it)</span></label><input type=\"text\" id=\"label\" autocomplete=\"off\" \
        maxlength=\"200\"></div>\
        <div class=\"fields\">\
        <div class=\"field\"><label for=\"url-expiration-select\">Link expires after</label>\
        <select id=\"url-expiration-select\"><option value=\"1\">1 day</option>\
        <option value=\"7\">7 days</option><option value=\"30\">30 days</option>\
        <option value=\"year\">1 year</option><option value=\"never\" selected>Never</option>\
        </select></div>\
        <div class=\"field\"><label for=\"file-expiration-select\">Guests' files expire \
        after</label><select id=\"file-expiration-select\">\
        <option value=\"24h0m0s\">1 day</option><option value=\"168h0m0s\">7 days</option>\
        <option value=\"720h0m0s\">30 days</option><option value=\"8760h0m0s\">1 year</option>\
        <option value=\"876000h0m0s\" selected>Never</option></select></div>\
        <div class=\"field\"><label for=\"max-file-size\">Largest file, in MB \
        <span class=\"hint\">(optional)</span></label><input type=\"number\" \
        id=\"max-file-size\" min=\"1\" step=\"1\" inputmode=\"numeric\" \
        placeholder=\"Unlimited\"></div>\
        <div class=\"field\"><label for=\"file-upload-limit\">Number of files \
        <span class=\"hint\">(optional)</span></label><input type=\"number\" \
        id=\"file-upload-limit\" min=\"1\" step=\"1\" inputmode=\"numeric\" \
        placeholder=\"Unlimited\"></div></div>\
        <div id=\"guest-link-error\" class=\"alert error\" role=\"alert\" hidden></div>\
        <div class=\"actions\"><a class=\"button\" href=\"/guest-links\" data-back>Cancel</a>\
        <button type=\"submit\" class=\"button primary\">Create</button></div></form>\
        <noscript><p class=\"alert warning\">Creating a guest link needs JavaScript.</p>\
        </noscript>",
    );
    Ok(Page::new("New Guest Link", Nav::Admin("guest-links"), body)
        .scripts(&["guest-links"])
        .render())
}

/// `GET /g/{id}` (anything after the id is ignored): the guest's upload page, or the inactive
/// page (200, as in PicoShare) once the link accepts no more uploads.
pub fn guest_upload(app: &App, req: &Request, id: &str) -> Result<Response> {
    let id = GuestLinkId::parse(id).map_err(Error::BadRequest)?;
    let now = app.now();
    let link = app
        .store
        .guest_link(&id, now)
        .or_not_found("Guest link not found")?;
    let nav = Nav::for_visitor(app, req);
    if !link.is_active(now) {
        let body = Html::trusted(
            "<section class=\"card narrow center\"><h1>Guest Link Inactive</h1>\
            <p>This guest link no longer accepts uploads: it may have expired, reached its \
            upload limit, or been switched off.</p><p>If you still need to send a file, ask \
            the person who gave you the link for a new one.</p></section>",
        );
        return Ok(Page::new("Guest Link Inactive", nav, body).render());
    }
    let never_hours = i64::from(NEVER_DAYS) * 24;
    let max_hours = (link.file_lifetime.hours() as i64).min(never_hours);
    let options = expiration_options(max_hours, max_hours, false);
    let count = match link.max_file_uploads {
        Some(m) => match m.saturating_sub(link.uploads_used) {
            1 => "1 more file".to_owned(),
            n => format!("{n} more files"),
        },
        None => "files".to_owned(),
    };
    let limits = match (link.max_file_uploads, link.max_file_bytes) {
        (None, None) => Html::default(),
        (_, Some(b)) => html!(
            " This link accepts {count} of up to {size}.",
            count = count,
            size = format_size(b)
        ),
        (Some(_), None) => html!(" This link accepts {count}.", count = count),
    };
    let max_bytes = link
        .max_file_bytes
        .map_or_else(Html::default, |b| html!(" data-max-bytes=\"{b}\"", b = b));
    let form_data = html!(
        "data-endpoint=\"/api/guest/{id}/tus/\" data-patch-bytes=\"{patch}\" \
         data-max-hours=\"{max}\"{max_bytes}",
        id = id.as_str(),
        patch = app.config.tus_patch_bytes,
        max = if max_hours >= never_hours {
            "never".to_owned()
        } else {
            max_hours.to_string()
        },
        max_bytes = max_bytes,
    );
    let body = html!(
        "<h1 class=\"page-title\">Upload files</h1>\
         <p class=\"lead\">You have been invited to upload files. Once it is uploaded, you \
         get links to send back.{limits}</p>{widget}",
        limits = limits,
        widget = upload_widget(&options, false, false, &form_data)
    );
    Ok(Page::new("Upload", nav, body)
        .scripts(&["tus", "upload"])
        .render())
}
