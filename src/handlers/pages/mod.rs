//! HTML pages: the shared layout (head, navigation, page CSP with a per-request nonce) and the
//! error page browsers see (chosen in `error.rs`).
//! The pages themselves live in the submodules, one per area.

mod bundles;
mod files;
mod guest_links;
mod history;
mod login;
mod system;
mod tokens;
pub mod unlock;
mod upload;

pub use bundles::list as bundles;
pub use files::{confirm_delete, edit, files, info};
pub use guest_links::{guest_upload, list as guest_links, new as new_guest_link};
pub use history::downloads;
pub use login::{login, login_form, logout_form};
pub use system::{information, settings};
pub use upload::index;

use rouille::{Request, Response};

use crate::app::App;
use crate::error::{OrNotFound, Result};
use crate::html::{encode_uri_component, html, Html};
use crate::model::EntryMeta;

/// Which navigation bar a page shows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// The admin's menu; the string names the current section (`upload`, `files`, …).
    Admin(&'static str),
    /// Only a "Log In" button.
    Anonymous,
}

impl Nav {
    /// For pages anyone may see: the admin's menu (no section current) or the "Log In" button.
    pub fn for_visitor(app: &App, req: &Request) -> Nav {
        if app.is_admin(req) {
            Nav::Admin("")
        } else {
            Nav::Anonymous
        }
    }
}

/// A page to render into the shared layout.
pub struct Page {
    /// The part after `PicoShare - ` in the title (empty: just `PicoShare`).
    pub title: &'static str,
    pub nav: Nav,
    /// Page scripts under `/js/`, without the extension; `common` is always loaded.
    pub scripts: &'static [&'static str],
    pub body: Html,
}

impl Page {
    pub fn new(title: &'static str, nav: Nav, body: Html) -> Self {
        Page {
            title,
            nav,
            scripts: &[],
            body,
        }
    }

    pub fn scripts(mut self, scripts: &'static [&'static str]) -> Self {
        self.scripts = scripts;
        self
    }

    /// The finished response, with PicoShare's page CSP and a fresh nonce. We need no inline
    /// script (all JavaScript is served from `/js/`), but the nonce keeps the policy's shape.
    pub fn render(self) -> Response {
        let csp = page_csp();
        let v = crate::assets::build_tag();
        let title = if self.title.is_empty() {
            "PicoShare".to_owned()
        } else {
            format!("PicoShare - {}", self.title)
        };
        let scripts: Html = std::iter::once("common")
            .chain(self.scripts.iter().copied())
            .map(|s| {
                html!(
                    "<script src=\"/js/{s}.js?v={v}\" defer></script>",
                    s = s,
                    v = v
                )
            })
            .collect();
        let page = html!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"color-scheme\" content=\"light dark\">\n\
             <title>{title}</title>\n\
             <link rel=\"stylesheet\" href=\"/css/style.css?v={v}\">\n\
             <noscript><style>.js-only{{display:none!important}}</style></noscript>\n\
             <link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">\n\
             <link rel=\"icon\" type=\"image/png\" sizes=\"32x32\" href=\"/favicon-32x32.png\">\n\
             <link rel=\"icon\" type=\"image/png\" sizes=\"16x16\" href=\"/favicon-16x16.png\">\n\
             <link rel=\"apple-touch-icon\" sizes=\"180x180\" href=\"/apple-touch-icon.png\">\n\
             <link rel=\"manifest\" href=\"/site.webmanifest\">\n\
             <link rel=\"mask-icon\" href=\"/safari-pinned-tab.svg\" color=\"#0f766e\">\n\
             <meta name=\"msapplication-TileColor\" content=\"#0f766e\">\n\
             <meta name=\"theme-color\" content=\"#0f766e\">\n\
             {scripts}\n</head>\n<body>\n\
             <a class=\"skip-link\" href=\"#main\">Skip to content</a>\n\
             {nav}\n<main id=\"main\" class=\"container\">\n{body}\n</main>\n\
             <div id=\"snackbar\" class=\"snackbar\" role=\"status\" aria-live=\"polite\"></div>\n\
             </body>\n</html>\n",
            title = title,
            v = v,
            scripts = scripts,
            nav = nav_bar(self.nav),
            body = self.body,
        );
        Response::html(page.into_string())
            .with_unique_header("Content-Security-Policy", csp)
            .with_unique_header("X-Content-Type-Options", "nosniff")
            .with_unique_header("Referrer-Policy", "same-origin")
            .with_unique_header("Cache-Control", "no-store")
    }
}

/// PicoShare's page CSP, with a fresh nonce.
pub fn page_csp() -> String {
    let nonce = crate::random::hex(16);
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src-elem 'self' \
         'unsafe-inline'; img-src 'self' data:; media-src 'self' data:;"
    )
}

/// The top bar. The System menu is a `<details>` element, so it opens without JavaScript.
fn nav_bar(nav: Nav) -> Html {
    let links = match nav {
        Nav::Anonymous => Html::trusted(
            "<ul class=\"nav-links\"><li><a class=\"button primary\" href=\"/login\">Log In</a>\
             </li></ul>",
        ),
        Nav::Admin(current) => {
            let item = |key: &str, href: &str, label: &str, class: &str| {
                let aria = if key == current {
                    Html::trusted(" aria-current=\"page\"")
                } else {
                    Html::default()
                };
                html!(
                    "<li><a class=\"{class}\" href=\"{href}\"{aria}>{label}</a></li>",
                    class = class,
                    href = href,
                    aria = aria,
                    label = label,
                )
            };
            let system_current = if matches!(current, "information" | "settings") {
                " current"
            } else {
                ""
            };
            html!(
                "<ul class=\"nav-links admin\">{upload}{files}{guest_links}\
                 <li><details class=\"menu{system_current}\"><summary>System</summary>\
                 <ul class=\"menu-list\">{information}{settings}\
                 <li><form method=\"post\" action=\"/logout\"><button type=\"submit\" \
                 class=\"menu-button\" id=\"logout\">Log Out</button></form></li>\
                 </ul></details></li></ul>",
                upload = item("upload", "/", "Upload", "button primary nav-upload"),
                files = item("files", "/files", "Files", "nav-link"),
                guest_links = item("guest-links", "/guest-links", "Guest Links", "nav-link"),
                information = item("information", "/information", "Information", "menu-link"),
                settings = item("settings", "/settings", "Settings", "menu-link"),
                system_current = system_current,
            )
        }
    };
    html!(
        "<header class=\"topbar\"><nav class=\"nav\" aria-label=\"Main\"><a class=\"brand\" \
         href=\"/\"><img src=\"/favicon.svg\" alt=\"\" width=\"28\" height=\"28\">\
         <span>PicoShare</span></a>{links}</nav></header>",
        links = links,
    )
}

/// A friendly error page for browsers (see [`crate::error::Error::into_response`], its only
/// caller, which also sets the status).
pub fn error_page(app: &App, req: &Request, status: u16, heading: &str, text: &str) -> Response {
    let body = html!(
        "<section class=\"card narrow center error-page\"><p class=\"status-code\">{status}</p>\
         <h1>{heading}</h1><p>{text}</p><p><a class=\"button primary\" href=\"/\">Go to the \
         start page</a></p></section>",
        status = status,
        heading = heading,
        text = text,
    );
    let title = match status {
        404 => "Not Found",
        410 => "Link Used Up",
        _ => "Error",
    };
    Page::new(title, Nav::for_visitor(app, req), body).render()
}

/// Looks up the file an admin's `/files/{id}/…` page is about: a visitor who is not logged in
/// is sent to the login page first; a malformed id is a 400, an unknown or expired one a 404.
fn admin_entry(app: &App, req: &Request, id: &str) -> Result<EntryMeta> {
    app.require_admin_page(req)?;
    let id = crate::handlers::entry_id(app, id)?;
    app.store
        .entry(&id, app.now())
        .or_not_found("File not found")
}

/// Which page of a long list a request shows (`?page=N`, counted from 1; anything else, or a
/// page past the end, shows the nearest one), and the links to the pages beside it.
pub struct Pager {
    /// The page shown, from 1.
    pub page: u64,
    /// Rows per page (`Config::page_size`).
    pub size: u64,
    /// Rows in the whole list.
    pub total: u64,
}

impl Pager {
    pub fn new(req: &Request, size: usize, total: u64) -> Self {
        let size = (size as u64).max(1);
        let last = total.div_ceil(size).max(1);
        let page = req
            .get_param("page")
            .and_then(|p| p.trim().parse::<u64>().ok())
            .unwrap_or(1)
            .clamp(1, last);
        Pager { page, size, total }
    }

    /// Rows before this page.
    pub fn offset(&self) -> u64 {
        (self.page - 1) * self.size
    }

    fn last(&self) -> u64 {
        self.total.div_ceil(self.size).max(1)
    }

    /// "Previous", "Page N of M", "Next" (links made by `href` from a page number), or nothing
    /// when the list fits on one page.
    pub fn nav(&self, href: impl Fn(u64) -> String) -> Html {
        let last = self.last();
        if last == 1 {
            return Html::default();
        }
        let link = |to: u64, rel: &str, label: &str| {
            if (1..=last).contains(&to) && to != self.page {
                html!(
                    "<a class=\"button small\" rel=\"{rel}\" href=\"{href}\">{label}</a>",
                    rel = rel,
                    href = href(to),
                    label = label,
                )
            } else {
                html!(
                    "<span class=\"button small\" aria-disabled=\"true\">{label}</span>",
                    label = label
                )
            }
        };
        html!(
            "<nav class=\"pager\" aria-label=\"Pages\">{prev}<span class=\"pager-status\">\
             Page {page} of {last}</span>{next}</nav>",
            prev = link(self.page.saturating_sub(1), "prev", "Previous"),
            page = self.page,
            last = last,
            next = link(self.page + 1, "next", "Next"),
        )
    }
}

/// `1,234,567`: a count as the pages show it.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An origin for links shown in pages (the copy buttons and common.js use the browser's own
/// `location.origin`; this is the no-JavaScript fallback).
fn origin(app: &App, req: &Request) -> String {
    app.public_origin(req)
}

/// The two link boxes (full link and short link) with copy buttons, as the upload result and
/// the file information page show them.
fn link_boxes(origin: &str, id: &str, filename: &str) -> Html {
    let short = format!("/-{id}");
    let full = format!("/-{id}/{}", encode_uri_component(filename));
    let boxed = |box_id: &str, label: &str, path: &str| {
        html!(
            "<div class=\"link-box\" id=\"{box_id}\"><span class=\"link-box-label\">{label}</span>\
             <a class=\"link\" href=\"{p}\" data-abs>{o}{p}</a>\
             <button type=\"button\" class=\"button small js-only\" data-copy=\"{p}\">Copy</button>\
             </div>",
            box_id = box_id,
            label = label,
            p = path,
            o = origin,
        )
    };
    html!(
        "<div class=\"link-boxes\" id=\"result-links\">{full}{short}</div>",
        full = boxed("verbose-link-box", "Full link", &full),
        short = boxed("short-link-box", "Short link", &short)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_16_pages_are_clamped_and_linked() {
        let req = |q: &str| Request::fake_http("GET", format!("/files{q}"), vec![], vec![]);
        let p = Pager::new(&req("?page=3"), 10, 95);
        assert_eq!((p.page, p.offset()), (3, 20));
        let nav = p.nav(|n| format!("/files?q=a%20b&page={n}"));
        assert!(
            nav.contains("rel=\"prev\" href=\"/files?q=a%20b&amp;page=2\""),
            "{nav}"
        );
        assert!(nav.contains("Page 3 of 10"));
        assert!(nav.contains("rel=\"next\" href=\"/files?q=a%20b&amp;page=4\""));
        assert_eq!(Pager::new(&req("?page=99"), 10, 95).page, 10);
        assert_eq!(Pager::new(&req("?page=0"), 10, 95).page, 1);
        assert_eq!(Pager::new(&req("?page=x"), 10, 95).page, 1);
        assert_eq!(Pager::new(&req(""), 10, 0).page, 1);
        let first = Pager::new(&req(""), 10, 95).nav(|n| n.to_string());
        assert!(first.contains("<span class=\"button small\" aria-disabled=\"true\">Previous"));
        assert!(Pager::new(&req(""), 10, 10)
            .nav(|n| n.to_string())
            .is_empty());
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn link_boxes_escape_names() {
        let html = link_boxes("http://h", "abcdefghij", "<b>\"x\".txt");
        assert!(html.contains("/-abcdefghij/%3Cb%3E%22x%22.txt"));
        assert!(!html.contains("<b>"));
    }
}
