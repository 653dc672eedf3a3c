//! The upload page (`/` for the admin; an introduction for anonymous visitors) and the parts
//! of it the guest upload page shares.

use rouille::{Request, Response};

use super::{Nav, Page};
use crate::app::App;
use crate::duration::friendly_hours;
use crate::error::Result;
use crate::html::{html, Html};
use crate::model::NEVER_DAYS;

/// The built-in lifetimes every upload page offers, in hours: 1 hour and 6 hours (issue 20),
/// then PicoShare's 1, 7, 30 and 365 days and never.
const BUILT_IN_HOURS: [i64; 7] = [1, 6, 24, 7 * 24, 30 * 24, 365 * 24, NEVER_HOURS];

/// PicoShare's "never", in hours.
const NEVER_HOURS: i64 = NEVER_DAYS as i64 * 24;

/// The `<option>`s of the expiration select: the built-in lifetimes no longer than
/// `max_hours`, plus `default_hours` in its sorted place if it is not one of them (PicoShare
/// appends it after "Never"), with `default_hours` selected; then "Custom" when `custom` is
/// set. Values are hours (upload.js turns them into a timestamp when the upload starts, so a
/// page left open for hours still gets the full lifetime).
pub fn expiration_options(max_hours: i64, default_hours: i64, custom: bool) -> Html {
    let mut hours: Vec<i64> = BUILT_IN_HOURS
        .iter()
        .copied()
        .filter(|h| *h <= max_hours)
        .collect();
    if !hours.contains(&default_hours) {
        hours.push(default_hours);
        hours.sort_unstable();
    }
    let mut out = Html::default();
    for h in hours {
        let selected = if h == default_hours { " selected" } else { "" };
        let value = if h >= NEVER_HOURS {
            "never".to_owned()
        } else {
            h.to_string()
        };
        out.push(&html!(
            "<option value=\"{value}\"{selected}>{label}</option>",
            value = value,
            selected = selected,
            label = friendly_hours(h)
        ));
    }
    if custom {
        out.push(&Html::trusted("<option value=\"custom\">Custom</option>"));
    }
    out
}

/// The upload widget: drop zone with file picker, paste box, expiration, and for the admin an
/// optional note and download passphrase; then the resume, progress, saving, error and result
/// panels upload.js switches between, and the list of this browser's unfinished uploads.
/// `form_data` holds extra `data-` attributes for upload.js (where to send, limits).
pub fn upload_widget(options: &Html, admin: bool, custom: bool, form_data: &Html) -> Html {
    let note_field = Html::trusted(if admin {
        "<div class=\"field\"><label for=\"note\">Note <span class=\"hint\">(optional, only \
         you can see it)</span></label><input type=\"text\" id=\"note\" maxlength=\"500\" \
         autocomplete=\"off\"></div>\
         <div class=\"field\"><label for=\"download-passphrase\">Download passphrase \
         <span class=\"hint\">(optional)</span></label>\
         <input type=\"text\" id=\"download-passphrase\" autocomplete=\"off\" \
         spellcheck=\"false\" title=\"Visitors must enter it to download the file\"></div>\
         <div class=\"field\"><label for=\"max-downloads\">Downloads allowed \
         <span class=\"hint\">(optional)</span></label>\
         <input type=\"number\" id=\"max-downloads\" min=\"1\" step=\"1\" \
         inputmode=\"numeric\" placeholder=\"Unlimited\" \
         title=\"After this many downloads the link stops working\"></div>\
         <div class=\"field check share-one\"><input type=\"checkbox\" id=\"share-as-one\" \
         checked><label for=\"share-as-one\">Share several files as one link</label></div>"
    } else {
        ""
    });
    let picker = Html::trusted(if custom {
        "<div class=\"field\" id=\"expiration-picker\" hidden><label for=\"expiration\">\
         Expiry date and time</label><div class=\"date-time\">\
         <input type=\"date\" id=\"expiration\" aria-label=\"Expiry date\">\
         <input type=\"time\" id=\"expiration-time\" value=\"00:00\" \
         aria-label=\"Expiry time\"></div></div>"
    } else {
        ""
    });
    html!(
        "<div id=\"upload-error\" class=\"alert error\" role=\"alert\" hidden></div>\
         <div id=\"upload-pending\" class=\"alert info\" hidden><p>Uploads from this browser \
         that did not finish. Choose the same file again to resume one where it stopped.</p>\
         <ul id=\"pending-list\" class=\"plain\"></ul></div>\
         <section id=\"upload-form\" class=\"card upload\" {form_data}>\
         <div id=\"drop-zone\" class=\"drop-zone\">\
         <svg class=\"drop-icon\" viewBox=\"0 0 24 24\" aria-hidden=\"true\"><path d=\"M12 3 \
         5 10h4.5v6h5v-6H19zM5 19h14v2H5z\"/></svg>\
         <p class=\"drop-title\">Drop files anywhere on this page</p>\
         <input type=\"file\" id=\"file-input\" class=\"file-input visually-hidden\" \
         name=\"file\" multiple>\
         <label class=\"button primary file-label\" for=\"file-input\">Choose files…</label>\
         <p class=\"drop-or\">or</p>\
         <label for=\"pastebox\" class=\"visually-hidden\">Paste text or an image here to \
         upload it</label>\
         <textarea id=\"pastebox\" class=\"pastebox\" rows=\"2\" \
         placeholder=\"Or paste something here\"></textarea>\
         </div>\
         <div class=\"fields\">\
         <div class=\"field\"><label for=\"expiration-select\">Expires after</label>\
         <select id=\"expiration-select\">{options}</select></div>{picker}{note_field}</div>\
         </section>\
         <noscript><p class=\"alert warning\">Uploading from this page needs JavaScript. \
         Downloads and the file list work without it.</p></noscript>\
         <section id=\"upload-progress\" class=\"card\" hidden aria-live=\"polite\">\
         <p class=\"progress-name\" id=\"progress-name\"></p>\
         <progress id=\"progress-bar\" max=\"100\" value=\"0\" \
         aria-labelledby=\"progress-percent\"></progress>\
         <p class=\"progress-stats\"><strong id=\"progress-percent\">0%</strong>\
         <span id=\"progress-speed\"></span><span id=\"progress-eta\"></span></p>\
         <p class=\"hint\" id=\"progress-status\" role=\"status\"></p>\
         <div class=\"actions\"><button type=\"button\" class=\"button\" id=\"upload-cancel\">\
         Cancel upload</button></div></section>\
         <section id=\"upload-resume\" class=\"card\" hidden>\
         <p id=\"resume-text\"></p>\
         <div class=\"actions\"><button type=\"button\" class=\"button\" id=\"resume-no\">\
         Start over</button><button type=\"button\" class=\"button primary\" id=\"resume-yes\">\
         Resume upload</button></div></section>\
         <section id=\"upload-saving\" class=\"card\" hidden aria-live=\"polite\">\
         <p class=\"saving\"><span class=\"spinner\" aria-hidden=\"true\"></span>\
         All bytes sent. Saving the file on the server…</p></section>\
         <section id=\"upload-result\" class=\"card\" hidden>\
         <div class=\"message success\"><p class=\"message-body\">Upload complete!</p></div>\
         <upload-links id=\"upload-links\"></upload-links>\
         <div id=\"result-extra\"></div>\
         <div class=\"actions\"><a id=\"edit-link\" class=\"button\" href=\"/files\" hidden>\
         Edit</a><button type=\"button\" class=\"button primary\" id=\"upload-another\">\
         Upload Another</button></div></section>",
        form_data = form_data,
        options = options,
        picker = picker,
        note_field = note_field,
    )
}

/// `GET /`: the upload page for the admin, an introduction for everyone else.
pub fn index(app: &App, req: &Request) -> Result<Response> {
    if !app.is_admin(req) {
        let body = Html::trusted(
            "<section class=\"card intro\"><h1>What is PicoShare?</h1>\
             <p>PicoShare is a small, self-hosted place to share files. Whoever runs this \
             server uploads a file and gets a link; anyone with the link can download it, with \
             no account and no ads.</p>\
             <p>Files can be of any size and type, and each one expires when its owner \
             chooses. The owner can also hand out guest links that let other people upload \
             without logging in.</p>\
             <p><a class=\"button primary\" href=\"/login\">Log in to upload</a></p></section>",
        );
        return Ok(Page::new("", Nav::Anonymous, body).render());
    }
    let default_days = app.store.default_expiration_days()?;
    let options = expiration_options(NEVER_HOURS, default_days.saturating_mul(24), true);
    let body = html!(
        "<h1 class=\"page-title\">Upload files</h1>{widget}",
        widget = upload_widget(
            &options,
            true,
            true,
            &html!(
                "data-endpoint=\"/api/tus/\" data-patch-bytes=\"{patch}\" data-admin=\"true\"",
                patch = app.config.tus_patch_bytes
            )
        )
    );
    Ok(Page::new("Upload", Nav::Admin("upload"), body)
        .scripts(&["tus", "upload"])
        .render())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(html: &str) -> Vec<String> {
        html.split("<option")
            .skip(1)
            .map(|o| {
                let start = o.find('>').unwrap() + 1;
                let end = o.find("</option>").unwrap();
                let selected = if o[..start].contains("selected") {
                    "*"
                } else {
                    ""
                };
                format!("{selected}{}", &o[start..end])
            })
            .collect()
    }

    #[test]
    fn default_is_selected_and_sorted_in() {
        let day = 24;
        assert_eq!(
            labels(&expiration_options(NEVER_HOURS, 30 * day, true)),
            ["1 hour", "6 hours", "1 day", "7 days", "*30 days", "1 year", "Never", "Custom"]
        );
        assert_eq!(
            labels(&expiration_options(NEVER_HOURS, 5 * day, true)),
            [
                "1 hour", "6 hours", "1 day", "*5 days", "7 days", "30 days", "1 year", "Never",
                "Custom"
            ]
        );
        assert_eq!(
            labels(&expiration_options(NEVER_HOURS, 3650 * day, true)),
            [
                "1 hour",
                "6 hours",
                "1 day",
                "7 days",
                "30 days",
                "1 year",
                "*10 years",
                "Never",
                "Custom"
            ]
        );
        assert_eq!(
            labels(&expiration_options(NEVER_HOURS, NEVER_HOURS, true)),
            ["1 hour", "6 hours", "1 day", "7 days", "30 days", "1 year", "*Never", "Custom"]
        );
    }

    #[test]
    fn guest_limits() {
        assert_eq!(
            labels(&expiration_options(7 * 24, 7 * 24, false)),
            ["1 hour", "6 hours", "1 day", "*7 days"]
        );
        assert_eq!(
            labels(&expiration_options(10 * 24, 10 * 24, false)),
            ["1 hour", "6 hours", "1 day", "7 days", "*10 days"]
        );
        // Issue 20: a link whose files live 6 hours offers what fits.
        assert_eq!(
            labels(&expiration_options(6, 6, false)),
            ["1 hour", "*6 hours"]
        );
        assert_eq!(
            labels(&expiration_options(3, 3, false)),
            ["1 hour", "*3 hours"]
        );
    }
}
