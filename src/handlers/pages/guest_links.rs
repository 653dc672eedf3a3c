//! Guest-link pages: the admin's list (`/guest-links`) and create form (`/guest-links/new`),
//! and what a guest sees at `/g/{id}`: the upload page, or the "inactive" page.

use rouille::{Request, Response};

use super::files::ICON_COPY;
use super::upload::{expiration_options, upload_widget, NEVER_DAYS};
use super::{Nav, Page};
use crate::app::App;
use crate::error::{Error, OrNotFound, Result};
use crate::html::{days_left_label, escape, format_size, friendly_lifetime, time};
use crate::model::{GuestLinkId, Timestamp};
use crate::store::GuestLink;

const ICON_TRASH: &str = "<svg viewBox=\"0 0 24 24\" aria-hidden=\"true\"><path d=\"M9 3h6l1 \
     2h4v2H4V5h4zM6 9h12l-1 12H7zm3 2v8h2v-8zm4 0v8h2v-8z\"/></svg>";

/// `Never`, or the date and how far away it is (or was).
fn url_expiry(now: Timestamp, t: Timestamp) -> String {
    if t.is_never() {
        "Never".into()
    } else {
        format!("{} ({})", time(t, "date"), days_left_label(now, t))
    }
}

/// Why a link that is not disabled still accepts no uploads, if it does not.
fn inactive_reason(link: &GuestLink, now: Timestamp) -> Option<&'static str> {
    if !link.url_expiration.is_never() && now > link.url_expiration {
        Some("expired")
    } else if link
        .max_file_uploads
        .is_some_and(|max| link.uploads_used >= max)
    {
        Some("upload limit reached")
    } else {
        None
    }
}

fn link_row(link: &GuestLink, now: Timestamp) -> String {
    let id = escape(link.id.as_str());
    let active = link.is_active(now);
    let other = inactive_reason(link, now);
    let label_text = if link.label.is_empty() {
        "<em>unnamed</em>".to_owned()
    } else {
        escape(&link.label)
    };
    let label = if active {
        format!("<a href=\"/g/{id}\">{label_text}</a>")
    } else {
        label_text
    };
    let status = match (link.is_disabled, other) {
        (true, _) => "<span class=\"badge\">disabled</span>".to_owned(),
        (false, Some(why)) => format!("<span class=\"badge\">{}</span>", escape(why)),
        (false, None) => String::new(),
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
    format!(
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
         <button type=\"button\" class=\"button small toggle-link js-only\">{toggle}</button>\
         <button type=\"button\" class=\"icon-button delete-link js-only\" aria-label=\"Delete\" \
         title=\"Delete\">{ICON_TRASH}</button></div></td></tr>",
        row_class = if active { "" } else { "inactive" },
        disabled = link.is_disabled,
        other_inactive = other.is_some(),
        created = time(link.creation_time, "date"),
        url_exp = url_expiry(now, link.url_expiration),
        lifetime = escape(&friendly_lifetime(link.file_lifetime.days() as i64)),
        max_size = link
            .max_file_bytes
            .map_or_else(|| "Unlimited".to_owned(), |b| escape(&format_size(b))),
        copy_hidden = if active { "" } else { " hidden" },
    )
}

/// `GET /guest-links`.
pub fn list(app: &App, req: &Request) -> Result<Response> {
    app.require_admin_page(req)?;
    let now = app.now();
    let links = app.store.guest_links(now)?;
    let table = if links.is_empty() {
        "<div class=\"card empty\"><p>No guest links yet.</p></div>".to_owned()
    } else {
        let rows: String = links.iter().map(|l| link_row(l, now)).collect();
        format!(
            "<div class=\"table-wrap\"><table class=\"table links-table\" id=\"guest-links-table\">\
             <thead><tr><th scope=\"col\">Label</th><th scope=\"col\">Created</th>\
             <th scope=\"col\">Link expires</th><th scope=\"col\">Files expire</th>\
             <th scope=\"col\">Max size</th><th scope=\"col\">Uploads</th>\
             <th scope=\"col\"><span class=\"visually-hidden\">Actions</span></th></tr></thead>\
             <tbody>{rows}</tbody></table></div>"
        )
    };
    let body = format!(
        "<div class=\"page-head\"><h1>Guest links</h1>\
         <a class=\"button primary\" href=\"/guest-links/new\">Create new</a></div>\
         <p class=\"alert info\">A guest link lets someone without the passphrase upload files \
         to you: send them the link, and what they upload shows up in your file list. Each link \
         can limit how many files, how large, and for how long.</p>{table}\
         <noscript><p class=\"alert warning\">Copying, disabling and deleting links needs \
         JavaScript.</p></noscript>"
    );
    Ok(Page::new("Guest Links", Nav::Admin("guest-links"), body)
        .scripts(&["guest-links"])
        .render())
}

/// `GET /guest-links/new`.
pub fn new(app: &App, req: &Request) -> Result<Response> {
    app.require_admin_page(req)?;
    let body = "<h1 class=\"page-title\">New guest link</h1>\
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
        </noscript>"
        .to_owned();
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
        let body = "<section class=\"card narrow center\"><h1>Guest Link Inactive</h1>\
            <p>This guest link no longer accepts uploads: it may have expired, reached its \
            upload limit, or been switched off.</p><p>If you still need to send a file, ask \
            the person who gave you the link for a new one.</p></section>"
            .to_owned();
        return Ok(Page::new("Guest Link Inactive", nav, body).render());
    }
    let max_days = link.file_lifetime.days().min(NEVER_DAYS as u64) as i64;
    let options = expiration_options(max_days, max_days, false);
    let count = match link.max_file_uploads {
        Some(m) => match m.saturating_sub(link.uploads_used) {
            1 => "1 more file".to_owned(),
            n => format!("{n} more files"),
        },
        None => "files".to_owned(),
    };
    let limits = match (link.max_file_uploads, link.max_file_bytes) {
        (None, None) => String::new(),
        (_, Some(b)) => format!(
            " This link accepts {} of up to {}.",
            escape(&count),
            escape(&format_size(b))
        ),
        (Some(_), None) => format!(" This link accepts {}.", escape(&count)),
    };
    let max_bytes = link
        .max_file_bytes
        .map_or_else(String::new, |b| format!(" data-max-bytes=\"{b}\""));
    let form_data = format!(
        "data-endpoint=\"/api/guest/{id}\" data-max-days=\"{max}\"{max_bytes}",
        id = escape(id.as_str()),
        max = if max_days >= NEVER_DAYS {
            "never".to_owned()
        } else {
            max_days.to_string()
        },
    );
    let body = format!(
        "<h1 class=\"page-title\">Upload a file</h1>\
         <p class=\"lead\">You have been invited to upload a file. Once it is uploaded, you \
         get a link to it to send back.{limits}</p>{}",
        upload_widget(&options, false, false, &form_data)
    );
    Ok(Page::new("Upload", nav, body).scripts(&["upload"]).render())
}
