//! The admin's file pages: the list (`/files`, a page at a time), information, edit and delete
//! confirmation.

use rouille::{Request, Response};

use super::{admin_entry, link_boxes, origin, thousands, Nav, Page, Pager};
use crate::app::App;
use crate::error::Result;
use crate::html::{expiry, format_size, html, time, Html};
use crate::model::{EntryMeta, Timestamp};

/// Small inline icons (inline SVG needs no request and is allowed by the page CSP).
pub const ICON_INFO: Html = Html::trusted(
    "<svg viewBox=\"0 0 24 24\" aria-hidden=\"true\"><path d=\"M11 \
     10h2v7h-2zM11 7h2v2h-2z\"/><path fill-rule=\"evenodd\" d=\"M12 2a10 10 0 1 1 0 20 10 10 0 \
     0 1 0-20zm0 2a8 8 0 1 0 0 16 8 8 0 0 0 0-16z\"/></svg>",
);
pub const ICON_EDIT: Html = Html::trusted(
    "<svg viewBox=\"0 0 24 24\" aria-hidden=\"true\"><path d=\"M4 \
     17.2V20h2.8l8.3-8.3-2.8-2.8zM19.7 7.1a1 1 0 0 0 0-1.4l-1.4-1.4a1 1 0 0 0-1.4 0l-1.6 1.6 \
     2.8 2.8z\"/></svg>",
);
/// The lock shown beside a passphrase-protected file.
pub const ICON_LOCK: Html = Html::trusted(
    "<svg viewBox=\"0 0 24 24\" aria-hidden=\"true\"><path \
     fill-rule=\"evenodd\" d=\"M7 10V7a5 5 0 0 1 10 0v3h1a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H6a1 \
     1 0 0 1-1-1V11a1 1 0 0 1 1-1zm2 0h6V7a3 3 0 0 0-6 0zm3 4a1.5 1.5 0 0 0-1 2.6V18h2v-1.4a1.5 \
     1.5 0 0 0-1-2.6z\"/></svg>",
);
pub const ICON_COPY: Html = Html::trusted(
    "<svg viewBox=\"0 0 24 24\" aria-hidden=\"true\"><path d=\"M8 \
     3h11a2 2 0 0 1 2 2v11h-2V5H8zM5 7h10a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V9a2 \
     2 0 0 1 2-2zm0 2v11h10V9z\"/></svg>",
);

/// `GET /files[?q=TEXT][&page=N]`: the files, newest first, a page at a time
/// (`Config::page_size` rows), with their total. Works without JavaScript; the filter box
/// (JavaScript) filters the rows shown as one types, and Enter searches names and notes of
/// every file (`q`).
pub fn files(app: &App, req: &Request) -> Result<Response> {
    app.require_admin_page(req)?;
    let now = app.now();
    let query = req.get_param("q").filter(|q| !q.trim().is_empty());
    let filter = query.as_deref().map(str::trim);
    let total = app.store.entry_total(now, filter)?;
    let pager = Pager::new(req, app.config.page_size, total);
    let entries = app
        .store
        .entries_page(now, filter, pager.offset(), pager.size)?;
    let mut rows = Html::default();
    for e in &entries {
        rows.push(&file_row(e, now));
    }
    let search = filter.map_or_else(String::new, |q| {
        format!("q={}&", crate::html::encode_uri_component(q))
    });
    let pages = pager.nav(|n| format!("/files?{search}page={n}"));
    let table = if entries.is_empty() {
        match filter {
            None => Html::trusted(
                "<div class=\"card empty\"><p>No files yet.</p><p><a class=\"button primary\" \
                 href=\"/\">Upload a file</a></p></div>",
            ),
            Some(q) => html!(
                "<div class=\"card empty\"><p>No file name or note contains \
                 &ldquo;{q}&rdquo;.</p><p><a class=\"button\" href=\"/files\">Show every \
                 file</a></p></div>",
                q = q
            ),
        }
    } else {
        html!(
            "<div class=\"table-wrap\"><table class=\"table files-table\" id=\"files-table\">\
             <thead><tr><th scope=\"col\">Filename</th><th scope=\"col\">Note</th>\
             <th scope=\"col\">Size</th><th scope=\"col\">Uploaded</th>\
             <th scope=\"col\">Expires</th><th scope=\"col\"><span class=\"visually-hidden\">\
             Actions</span></th></tr></thead><tbody>{rows}</tbody></table></div>\
             <p class=\"hint\" id=\"filter-empty\" hidden>{empty}</p>{pages}",
            rows = rows,
            empty = if pager.total > pager.size {
                "No file on this page matches the filter. Press Enter to search every file."
            } else {
                "No file matches the filter."
            },
            pages = pages,
        )
    };
    let count = match (total, filter) {
        (1, None) => "1 file".to_owned(),
        (n, None) => format!("{} files", thousands(n)),
        (1, Some(q)) => format!("1 file matches \u{201c}{q}\u{201d}"),
        (n, Some(q)) => format!("{} files match \u{201c}{q}\u{201d}", thousands(n)),
    };
    let show_all = if filter.is_some() {
        Html::trusted(" <a class=\"count\" href=\"/files\">Show every file</a>")
    } else {
        Html::default()
    };
    let body = html!(
        "<div class=\"page-head\"><h1>Files <span class=\"count\" id=\"files-count\">{count}\
         </span>{show_all}</h1><div class=\"page-head-actions\">\
         <form class=\"filter js-only\" method=\"get\" action=\"/files\" role=\"search\">\
         <label for=\"filter\" class=\"visually-hidden\">Filter files</label><input \
         type=\"search\" id=\"filter\" name=\"q\" value=\"{q}\" \
         placeholder=\"Filter by name or note\" autocomplete=\"off\"></form>\
         <a class=\"button\" id=\"bundles-link\" href=\"/bundles\">Bundles</a></div></div>\
         {table}",
        count = count,
        show_all = show_all,
        q = filter.unwrap_or(""),
        table = table,
    );
    Ok(Page::new("Files", Nav::Admin("files"), body).render())
}

/// One file's row in the list.
fn file_row(e: &EntryMeta, now: Timestamp) -> Html {
    let note = e.note.as_deref().unwrap_or("");
    let search = format!("{} {}", e.filename.as_str(), note).to_lowercase();
    html!(
        "<tr test-data-filename=\"{name}\" data-search=\"{search}\">\
         <td class=\"cell-name\" data-label=\"Filename\"><a href=\"/-{id}\">{name}</a>{lock}{limit}\
         </td>\
         <td class=\"cell-note\" data-label=\"Note\">{note}</td>\
         <td class=\"cell-size\" data-label=\"Size\">{size}</td>\
         <td class=\"cell-uploaded\" data-label=\"Uploaded\">{uploaded}</td>\
         <td class=\"cell-expires\" data-label=\"Expires\">{expires}</td>\
         <td class=\"cell-actions\"><div class=\"row-actions\">\
         <a class=\"icon-button\" href=\"/files/{id}/info\" aria-label=\"Information\" \
         title=\"Information\">{ICON_INFO}</a>\
         <a class=\"icon-button\" href=\"/files/{id}/edit\" aria-label=\"Edit\" \
         title=\"Edit\">{ICON_EDIT}</a>\
         <button type=\"button\" class=\"icon-button js-only\" data-copy=\"/-{id}\" \
         aria-label=\"Copy\" title=\"Copy link\">{ICON_COPY}</button></div></td></tr>",
        id = e.id.as_str(),
        name = e.filename.as_str(),
        search = search,
        note = note,
        lock = if e.download_passphrase.is_some() {
            html!(
                "<span class=\"lock-mark\" title=\"Protected by a passphrase\">{ICON_LOCK}\
                 <span class=\"visually-hidden\">(protected by a passphrase)</span></span>"
            )
        } else {
            Html::default()
        },
        limit = limit_badge(e),
        size = format_size(e.size),
        uploaded = time(e.upload_time, "date"),
        expires = expiry(now, e.expiration),
    )
}

/// A file's download limit in the list (issue 20): downloads left, or "used up".
fn limit_badge(e: &EntryMeta) -> Html {
    match e.download_limit {
        None => Html::default(),
        Some(l) if l.is_used_up() => html!(
            " <span class=\"badge limit-badge used-up\" title=\"All {max} downloads were \
             used\">used up</span>",
            max = l.max
        ),
        Some(l) => html!(
            " <span class=\"badge limit-badge\" title=\"Downloads left of {max}\">{left} of \
             {max} left</span>",
            left = l.max.saturating_sub(l.used),
            max = l.max
        ),
    }
}

/// `GET /files/{id}/info`.
pub fn info(app: &App, req: &Request, id: &str) -> Result<Response> {
    let e = admin_entry(app, req, id)?;
    let now = app.now();
    let note = match e.note.as_deref() {
        Some(n) => Html::text(n),
        None => Html::trusted("<span class=\"muted\">None</span>"),
    };
    // A guest link that was deleted since shows as "You", as in PicoShare.
    let uploaded_by = match e
        .guest_link_id
        .as_ref()
        .and_then(|g| app.store.guest_link(g, now).ok())
    {
        Some(link) => html!(
            "Guest link: <a href=\"/g/{id}\">{label}</a>",
            id = link.id.as_str(),
            label = if link.label.is_empty() {
                link.id.as_str()
            } else {
                &link.label
            },
        ),
        None => Html::trusted("You"),
    };
    let downloads = app.store.download_count(&e.id)?;
    let limit = match e.download_limit {
        Some(l) if l.is_used_up() => html!(
            "Used up: {used} of {max} downloads <span class=\"badge\">used up</span>",
            used = l.used,
            max = l.max
        ),
        Some(l) => html!(
            "{left} of {max} downloads left",
            left = l.max - l.used,
            max = l.max
        ),
        None => Html::trusted("<span class=\"muted\">None</span>"),
    };
    let body = html!(
        "<h1 class=\"page-title\">File information</h1>\
         <section class=\"card\"><dl class=\"details\">\
         <dt>Links</dt><dd><div class=\"links-and-qr\">{links}\
         <figure class=\"qr\"><img src=\"/files/{eid}/qr.svg\" alt=\"QR code of the short link\"><figcaption class=\"hint\">\
         Short link</figcaption></figure></div></dd>\
         <dt>Filename</dt><dd class=\"filename\">{name}</dd>\
         <dt>Size</dt><dd>{size}</dd>\
         <dt>Expires</dt><dd>{expires}</dd>\
         <dt>Downloads</dt><dd class=\"downloads\">{downloads} \
         (<a href=\"/files/{eid}/downloads\">History</a>)</dd>\
         <dt>Download limit</dt><dd class=\"download-limit\">{limit}</dd>\
         <dt>Note</dt><dd class=\"note\">{note}</dd>\
         <dt>Passphrase protection</dt><dd class=\"protection\">{protection}</dd>\
         <dt>Uploaded by</dt><dd>{uploaded_by}</dd>\
         <dt>Upload time</dt><dd>{uploaded}</dd>\
         <dt>Type</dt><dd>{ctype}</dd>\
         </dl>\
         <div class=\"actions\"><a class=\"button\" href=\"/files\" data-back>Close</a>\
         <a class=\"button primary\" href=\"/files/{eid}/edit\">Edit</a></div></section>",
        links = link_boxes(&origin(app, req), e.id.as_str(), e.filename.as_str()),
        name = e.filename.as_str(),
        size = format_size(e.size),
        expires = expiry(now, e.expiration),
        downloads = downloads,
        limit = limit,
        eid = e.id.as_str(),
        note = note,
        protection = Html::trusted(if e.download_passphrase.is_some() {
            "Protected - Guest users must enter the file's passphrase"
        } else {
            "Not protected - Anyone with the link can download the file"
        }),
        uploaded_by = uploaded_by,
        uploaded = time(e.upload_time, "datetime"),
        ctype = if e.content_type.is_empty() {
            Html::trusted("<span class=\"muted\">unknown</span>")
        } else {
            Html::text(&e.content_type)
        },
    );
    Ok(Page::new("File Information", Nav::Admin("files"), body).render())
}

/// `GET /files/{id}/edit`: file name, expiry, note and download passphrase.
pub fn edit(app: &App, req: &Request, id: &str) -> Result<Response> {
    let e = admin_entry(app, req, id)?;
    let never = e.expiration.is_never();
    let expiration = if never {
        String::new()
    } else {
        e.expiration.rfc3339()
    };
    let body = html!(
        "<h1 class=\"page-title\">Edit file</h1>\
         <form id=\"edit-form\" class=\"card\" data-id=\"{id}\" data-expiration=\"{exp}\" \
         novalidate>\
         <div class=\"field\"><label for=\"filename\">Filename</label>\
         <input type=\"text\" id=\"filename\" value=\"{name}\" required maxlength=\"255\" \
         autocomplete=\"off\"></div>\
         <div class=\"field check\"><input type=\"checkbox\" id=\"expire-checkbox\"{checked}>\
         <label for=\"expire-checkbox\">Delete after expiration</label></div>\
         <div class=\"field\" id=\"expiration-picker\"{picker_hidden}>\
         <label for=\"expiration\">Expiration date</label>\
         <input type=\"date\" id=\"expiration\" value=\"{date}\"></div>\
         <div class=\"field\"><label for=\"note\">Note <span class=\"hint\">(only you can see \
         it)</span></label><input type=\"text\" id=\"note\" value=\"{note}\" maxlength=\"500\" \
         autocomplete=\"off\"></div>\
         <div class=\"field check\"><input type=\"checkbox\" id=\"passphrase-checkbox\"\
         {protected}><label for=\"passphrase-checkbox\">Require guests to enter a passphrase \
         before downloading</label></div>\
         <div class=\"field\" id=\"passphrase-field\"{passphrase_hidden}>\
         <label for=\"download-passphrase\">Passphrase</label>\
         <input type=\"text\" id=\"download-passphrase\" value=\"{passphrase}\" \
         autocomplete=\"off\" spellcheck=\"false\"></div>\
         <div class=\"field\"><label for=\"max-downloads\">Downloads allowed \
         <span class=\"hint\">(empty: unlimited{used})</span></label>\
         <input type=\"number\" id=\"max-downloads\" min=\"1\" step=\"1\" \
         inputmode=\"numeric\" placeholder=\"Unlimited\" value=\"{max_downloads}\"></div>\
         <div id=\"edit-error\" class=\"alert error\" role=\"alert\" hidden></div>\
         <div class=\"actions\"><a class=\"button danger\" href=\"/files/{id}/confirm-delete\">\
         Delete</a><span class=\"spacer\"></span>\
         <a class=\"button\" href=\"/files\" data-back>Cancel</a>\
         <button type=\"submit\" class=\"button primary\">Save</button></div></form>\
         <noscript><p class=\"alert warning\">Saving changes needs JavaScript.</p></noscript>\
         <section class=\"card\" id=\"replace\"><h2>Replace the file</h2>\
         <p class=\"hint\">Upload new bytes under the same links: the note, expiry, download \
         limit and history stay; the name and type become the new file's. Downloads already \
         running finish with the old bytes.</p>\
         <input type=\"file\" id=\"replace-input\" class=\"visually-hidden\" \
         data-id=\"{id}\">\
         <label class=\"button\" for=\"replace-input\">Choose a new file…</label>\
         <p id=\"replace-status\" class=\"hint\" role=\"status\" hidden></p>\
         <div id=\"replace-error\" class=\"alert error\" role=\"alert\" hidden></div>\
         </section>",
        id = e.id.as_str(),
        exp = expiration,
        name = e.filename.as_str(),
        checked = if never { "" } else { " checked" },
        picker_hidden = if never { " hidden" } else { "" },
        date = if never {
            String::new()
        } else {
            e.expiration.date()
        },
        note = e.note.as_deref().unwrap_or(""),
        protected = if e.download_passphrase.is_some() {
            " checked"
        } else {
            ""
        },
        passphrase_hidden = if e.download_passphrase.is_some() {
            ""
        } else {
            " hidden"
        },
        passphrase = e.download_passphrase.as_ref().map_or("", |p| p.as_str()),
        max_downloads = e
            .download_limit
            .map_or_else(String::new, |l| l.max.to_string()),
        used = match e.download_limit {
            Some(l) => format!("; {} used so far", l.used),
            None => String::new(),
        },
    );
    Ok(Page::new("Edit", Nav::Admin("files"), body)
        .scripts(&["edit"])
        .render())
}

/// `GET /files/{id}/confirm-delete`.
pub fn confirm_delete(app: &App, req: &Request, id: &str) -> Result<Response> {
    let e = admin_entry(app, req, id)?;
    let body = html!(
        "<section class=\"card narrow\"><h1>Delete file</h1>\
         <p class=\"confirm-text\">Permanently delete <strong class=\"filename\">{name}</strong>? \
         Its links stop working at once, and this cannot be undone.</p>\
         <div id=\"delete-error\" class=\"alert error\" role=\"alert\" hidden></div>\
         <div class=\"actions\"><a class=\"button\" href=\"/files/{id}/edit\">Cancel</a>\
         <button type=\"button\" class=\"button danger\" id=\"delete-button\" data-id=\"{id}\">\
         Delete</button></div></section>",
        name = e.filename.as_str(),
        id = e.id.as_str(),
    );
    Ok(Page::new("Delete", Nav::Admin("files"), body)
        .scripts(&["edit"])
        .render())
}
