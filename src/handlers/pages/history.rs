//! A file's download history (`/files/{id}/downloads[?unique=true]`).

use rouille::{Request, Response};

use super::{admin_entry, Nav, Page};
use crate::app::App;
use crate::error::Result;
use crate::html::{html, time, Html};
use crate::useragent;

/// `GET /files/{id}/downloads`: newest first, numbered so the newest has the highest number.
/// The "Unique IPs only" checkbox is a GET form, so it works without JavaScript too.
pub fn downloads(app: &App, req: &Request, id: &str) -> Result<Response> {
    let e = admin_entry(app, req, id)?;
    let unique = req.get_param("unique").is_some_and(|v| v == "true");
    // Filtering keeps each address's newest record, so it is empty only when all are.
    let records = if unique {
        app.store.unique_ip_downloads(&e.id)?
    } else {
        app.store.downloads(&e.id)?
    };
    let eid = e.id.as_str();
    let content = if records.is_empty() {
        Html::trusted("<div class=\"card empty\"><p>No downloads yet.</p></div>")
    } else {
        let total = records.len();
        let rows: Html = records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let agent = useragent::parse(&r.user_agent);
                html!(
                    "<tr><td data-label=\"#\">{n}</td><td data-label=\"Time\">{t}</td>\
                     <td data-label=\"IP\">{ip}</td><td data-label=\"Browser\" title=\"{ua}\">\
                     {browser}</td><td data-label=\"Platform\">{platform}</td></tr>",
                    n = total - i,
                    t = time(r.time, "timestamp"),
                    ip = r.client_ip,
                    ua = r.user_agent,
                    browser = agent.browser,
                    platform = agent.platform,
                )
            })
            .collect();
        html!(
            "<form method=\"get\" action=\"/files/{eid}/downloads\" class=\"history-filter\" \
             id=\"history-filter\"><div class=\"field check\"><input type=\"checkbox\" \
             id=\"unique-ips-only\" name=\"unique\" value=\"true\"{checked}>\
             <label for=\"unique-ips-only\">Unique IPs only</label>\
             <noscript><button type=\"submit\" class=\"button small\">Apply</button></noscript>\
             </div></form>\
             <div class=\"table-wrap\"><table class=\"table history-table\"><thead><tr>\
             <th scope=\"col\">Download #</th><th scope=\"col\">Time</th>\
             <th scope=\"col\">Downloader IP</th><th scope=\"col\">Browser</th>\
             <th scope=\"col\">Platform</th></tr></thead><tbody>{rows}</tbody></table></div>",
            eid = eid,
            checked = if unique { " checked" } else { "" },
            rows = rows,
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
