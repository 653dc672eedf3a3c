//! The System menu's pages: settings (`/settings`) and system information (`/information`).

use rouille::{Request, Response};

use super::{Nav, Page};
use crate::app::App;
use crate::error::Result;
use crate::html::{format_size, html, Html};
use crate::model::NEVER_DAYS;
use crate::sysinfo::SystemInfo;

/// How the settings form shows a stored lifetime: `(number, unit, forever)`. Multiples of 365
/// days show in years; "forever" shows the greyed-out initial 30 days.
pub fn settings_display(days: i64) -> (i64, &'static str, bool) {
    if days >= i64::from(NEVER_DAYS) {
        (30, "days", true)
    } else if days >= 365 && days % 365 == 0 {
        (days / 365, "years", false)
    } else {
        (days, "days", false)
    }
}

/// `GET /settings`: the default lifetime of new uploads, and API tokens.
pub fn settings(app: &App, req: &Request) -> Result<Response> {
    app.require_admin_page(req)?;
    let tokens = super::tokens::section(&app.store.tokens()?, app.now());
    let (number, unit, forever) = settings_display(app.store.default_expiration_days()?);
    let disabled = if forever { " disabled" } else { "" };
    let sel = |u: &str| if u == unit { " selected" } else { "" };
    let body = html!(
        "<h1 class=\"page-title\">Settings</h1>\
         <form id=\"settings-form\" class=\"card narrow-left\" novalidate>\
         <fieldset class=\"fieldset\"><legend>Default expiration of new files</legend>\
         <p class=\"hint\">Preselected on the upload page; each upload can still choose.</p>\
         <div class=\"inline-fields\">\
         <div class=\"field\"><label for=\"default-expiration\" class=\"visually-hidden\">\
         Default expiration</label><input type=\"number\" id=\"default-expiration\" min=\"1\" \
         max=\"{max}\" step=\"1\" value=\"{number}\" inputmode=\"numeric\"{disabled}></div>\
         <div class=\"field\"><label for=\"time-unit\" class=\"visually-hidden\">Unit</label>\
         <select id=\"time-unit\"{disabled}><option value=\"days\"{d}>Days</option>\
         <option value=\"years\"{y}>Years</option></select></div></div>\
         <div class=\"field check\"><input type=\"checkbox\" id=\"store-forever\"{checked}>\
         <label for=\"store-forever\">Store files forever</label></div></fieldset>\
         <div id=\"settings-error\" class=\"alert error\" role=\"alert\" hidden></div>\
         <div class=\"actions\"><button type=\"submit\" class=\"button primary\" disabled>Save\
         </button></div></form>\
         <noscript><p class=\"alert warning\">Saving settings needs JavaScript.</p></noscript>\
         {tokens}",
        max = if unit == "years" { 10u16 } else { 3650 },
        number = number,
        disabled = disabled,
        d = sel("days"),
        y = sel("years"),
        checked = if forever { " checked" } else { "" },
        tokens = tokens,
    );
    Ok(Page::new("Settings", Nav::Admin("settings"), body)
        .scripts(&["settings", "tokens"])
        .render())
}

/// `GET /information`: disk, database and version figures.
pub fn information(app: &App, req: &Request) -> Result<Response> {
    app.require_admin_page(req)?;
    let info = SystemInfo::gather(&app.store, &app.config)?;
    let percent = if info.fs_total_bytes > 0 {
        (info.fs_used_bytes as f64 * 100.0 / info.fs_total_bytes as f64).round() as u64
    } else {
        0
    };
    let size = format_size;
    let optional = |label: &str, v: Option<&str>| {
        v.map_or_else(Html::default, |v| {
            html!("<li>{label}: <code>{v}</code></li>", label = label, v = v)
        })
    };
    let body = html!(
        "<h1 class=\"page-title\">System information</h1>\
         <section class=\"card\" aria-labelledby=\"disk-heading\">\
         <h2 id=\"disk-heading\">Disk</h2>\
         <progress class=\"meter\" id=\"disk-usage\" max=\"100\" value=\"{percent}\" \
         aria-labelledby=\"disk-text\"></progress>\
         <p id=\"disk-text\">Server disk usage: {used} ({percent}%) used of {total} total; \
         {available} available.</p>\
         <p class=\"hint\" id=\"disk-floors\">Uploads through guest links stop while less \
         than <strong>{guest_floor}</strong> would be left free; yours while less than \
         <strong>{admin_floor}</strong> would.</p></section>\
         <section class=\"card\" aria-labelledby=\"db-heading\">\
         <h2 id=\"db-heading\">Storage</h2><dl class=\"details\">\
         <dt>Upload data</dt><dd>{stored}</dd>\
         <dt>Unfinished uploads</dt><dd id=\"unfinished-uploads\">{unfinished}</dd>\
         <dt>Database files</dt><dd>{db_total} <span class=\"muted\">(database {db}, \
         write-ahead log {wal}, shared memory {shm})</span></dd>\
         <dt>Reclaimable space</dt><dd>{reclaim}</dd></dl>\
         <p class=\"hint\">Space freed by deleted or expired files goes back to the disk by \
         itself, a few megabytes at a time, in databases this server created. A database \
         created by the Go PicoShare keeps it for new uploads instead: convert it once with \
         <code>picoshare compact</code> while the server is stopped.</p>\
         </section>\
         <section class=\"card\" aria-labelledby=\"version-heading\">\
         <h2 id=\"version-heading\">Version</h2><ul class=\"plain\" id=\"version\">\
         <li>Version: <code>{version}</code></li>{revision}{built}</ul></section>",
        percent = percent,
        used = size(info.fs_used_bytes),
        total = size(info.fs_total_bytes),
        available = size(info.fs_available_bytes),
        guest_floor = size(info.guest_floor_bytes),
        admin_floor = size(info.admin_floor_bytes),
        stored = size(info.stored_file_bytes),
        unfinished = match info.unfinished_uploads {
            0 => "none".to_owned(),
            1 => format!("1 upload holding {}", size(info.unfinished_upload_bytes)),
            n => format!("{n} uploads holding {}", size(info.unfinished_upload_bytes)),
        },
        db_total = size(info.database_bytes()),
        db = size(info.db_file_bytes),
        wal = size(info.wal_file_bytes),
        shm = size(info.shm_file_bytes),
        reclaim = size(info.reclaimable_bytes),
        version = info.version,
        revision = optional("Revision", info.revision),
        built = optional("Built at", info.built_at),
    );
    Ok(Page::new("System Information", Nav::Admin("information"), body).render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_show_years_on_365_day_boundaries() {
        assert_eq!(settings_display(30), (30, "days", false));
        assert_eq!(settings_display(5), (5, "days", false));
        assert_eq!(settings_display(365), (1, "years", false));
        assert_eq!(settings_display(3650), (10, "years", false));
        assert_eq!(settings_display(400), (400, "days", false));
        assert_eq!(settings_display(36_500), (30, "days", true));
    }
}
