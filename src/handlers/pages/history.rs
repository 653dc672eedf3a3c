//! A file's download history (`/files/{id}/downloads[?unique=true][&page=N]`), a page at a
//! time.

use rouille::{Request, Response};

use super::{admin_entry, thousands, Nav, Page, Pager};
use crate::app::App;
use crate::error::Result;
use crate::html::{html, time, Html};
use crate::useragent;

/// `GET /files/{id}/downloads[?unique=true][&page=N]`: newest first, a page at a time
/// (`Config::page_size` rows), numbered so the newest has the highest number, under the totals
/// over the whole history. The "Unique IPs only" checkbox is a GET form, so it works without
/// JavaScript too.
pub fn downloads(app: &App, req: &Request, id: &str) -> Result<Response> {
    let e = admin_entry(app, req, id)?;
    let unique = req.get_param("unique").is_some_and(|v| v == "true");
    let totals = app.store.download_totals(&e.id)?;
    // Filtering keeps each address's newest record, so it is empty only when all are.
    let listed = if unique {
        totals.addresses
    } else {
        totals.downloads
    };
    let pager = Pager::new(req, app.config.page_size, listed);
    let records = app
        .store
        .download_page(&e.id, unique, pager.offset(), pager.size)?;
    let eid = e.id.as_str();
    let content = if records.is_empty() {
        Html::trusted("<div class=\"card empty\"><p>No downloads yet.</p></div>")
    } else {
        let first = listed - pager.offset();
        let rows: Html = records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let agent = useragent::parse(&r.user_agent);
                html!(
                    "<tr><td data-label=\"#\">{n}</td><td data-label=\"Time\">{t}</td>\
                     <td data-label=\"IP\">{ip}</td><td data-label=\"Browser\" title=\"{ua}\">\
                     {browser}</td><td data-label=\"Platform\">{platform}</td></tr>",
                    n = first - i as u64,
                    t = time(r.time, "timestamp"),
                    ip = r.client_ip,
                    ua = r.user_agent,
                    browser = agent.browser,
                    platform = agent.platform,
                )
            })
            .collect();
        let query = if unique { "unique=true&" } else { "" };
        html!(
            "<p class=\"history-summary\" id=\"history-summary\">{downloads} from {addresses}\
             </p>\
             <form method=\"get\" action=\"/files/{eid}/downloads\" class=\"history-filter\" \
             id=\"history-filter\"><div class=\"field check\"><input type=\"checkbox\" \
             id=\"unique-ips-only\" name=\"unique\" value=\"true\"{checked}>\
             <label for=\"unique-ips-only\">Unique IPs only</label>\
             <noscript><button type=\"submit\" class=\"button small\">Apply</button></noscript>\
             </div></form>\
             <div class=\"table-wrap\"><table class=\"table history-table\"><thead><tr>\
             <th scope=\"col\">Download #</th><th scope=\"col\">Time</th>\
             <th scope=\"col\">Downloader IP</th><th scope=\"col\">Browser</th>\
             <th scope=\"col\">Platform</th></tr></thead><tbody>{rows}</tbody></table></div>\
             {pages}",
            downloads = counted(totals.downloads, "download", "downloads"),
            addresses = counted(totals.addresses, "address", "addresses"),
            eid = eid,
            checked = if unique { " checked" } else { "" },
            rows = rows,
            pages = pager.nav(|n| format!("/files/{eid}/downloads?{query}page={n}")),
        )
    };
    let body = html!(
        "<div class=\"page-head\"><h1>Downloads of <span class=\"filename\">{name}</span></h1>\
         </div>{content}<div class=\"actions\"><a class=\"button\" href=\"/files/{eid}/info\" \
         data-back>Close</a></div>",
        name = e.filename.as_str(),
        content = content,
        eid = eid,
    );
    Ok(Page::new("Downloads", Nav::Admin("files"), body)
        .scripts(&["history"])
        .render())
}

/// `1 download`, `1,234 downloads`.
fn counted(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{} {many}", thousands(n))
    }
}
