//! The login page (`GET /login`), and the form posts `POST /login` and `POST /logout` for
//! browsers without JavaScript (login.js and common.js use the JSON API instead).

use rouille::{Request, Response};

use super::{Nav, Page};
use crate::app::App;
use crate::auth::session_cookie;
use crate::error::Result;
use crate::html::{escape, parse_form};

/// Whether `next` is safe to go to after logging in: a path on this site (starts with one
/// `/`, not `//` or `/\`, which browsers treat as another host), with no control characters.
pub fn is_local_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control())
}

/// `GET /login`: the passphrase form, shown whether or not the visitor is logged in.
pub fn login(app: &App, req: &Request) -> Result<Response> {
    let next = req.get_param("next");
    Ok(login_page(app, req, next.as_deref(), None, 200))
}

/// The login page. `next` (where to go afterwards) is kept only if it is a local path.
fn login_page(
    app: &App,
    req: &Request,
    next: Option<&str>,
    error: Option<&str>,
    status: u16,
) -> Response {
    let next = next.filter(|n| is_local_path(n)).unwrap_or("/");
    let nav = if app.is_admin(req) {
        Nav::Admin("")
    } else {
        Nav::Anonymous
    };
    let (error_text, error_hidden) = match error {
        Some(e) => (escape(e), ""),
        None => (String::new(), " hidden"),
    };
    // login.js sends the passphrase to the JSON API; without JavaScript the form posts to
    // `/login` itself.
    let body = format!(
        "<section class=\"card narrow\"><h1>Log in</h1>\
         <form id=\"login-form\" method=\"post\" action=\"/login\" data-next=\"{next}\">\
         <input type=\"hidden\" name=\"next\" value=\"{next}\">\
         <div class=\"field\"><label for=\"passphrase\">Passphrase</label>\
         <input type=\"password\" id=\"passphrase\" name=\"passphrase\" \
         autocomplete=\"current-password\" required autofocus></div>\
         <div id=\"login-error\" class=\"alert error\" role=\"alert\"{error_hidden}>{error_text}\
         </div>\
         <button type=\"submit\" class=\"button primary wide\">Authenticate</button>\
         </form></section>",
        next = escape(next),
    );
    Page::new("Log in", nav, body)
        .scripts(&["login"])
        .status(status)
        .render()
}

/// `POST /login`: the same check as `POST /api/auth` (and the same throttle), for browsers
/// without JavaScript: a form post, answered with a redirect to `next` or the form again.
pub fn login_form(app: &App, req: &Request) -> Result<Response> {
    let peer = req.remote_addr().ip();
    let started = std::time::Instant::now();
    let body = read_form(req, app.config.max_json_body)?;
    let field = |name: &str| {
        body.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let next = field("next");
    if let Err(secs) = app.login_throttle.check(peer, started) {
        let text = format!("Too many attempts. Try again in {secs} seconds.");
        return Ok(login_page(app, req, next, Some(&text), 429)
            .with_unique_header("Retry-After", secs.to_string()));
    }
    let given = field("passphrase").unwrap_or("");
    if given.is_empty() {
        return Ok(login_page(
            app,
            req,
            next,
            Some("invalid shared secret"),
            400,
        ));
    }
    if !app.auth.passphrase_matches(given) {
        app.login_throttle.failure(peer, started);
        return Ok(login_page(
            app,
            req,
            next,
            Some("incorrect shared secret"),
            401,
        ));
    }
    app.login_throttle.success(peer);
    let token = app.auth.issue(app.now());
    let cookie = session_cookie(&token, app.auth.lifetime_secs(), app.is_https(req));
    let target = next.filter(|n| is_local_path(n)).unwrap_or("/");
    Ok(Response::redirect_303(target.to_owned())
        .with_additional_header("Set-Cookie", cookie)
        .with_unique_header("Cache-Control", "no-store"))
}

/// `POST /logout`: `DELETE /api/auth`'s logout, then back to the start page.
pub fn logout_form(app: &App, req: &Request) -> Result<Response> {
    Ok(crate::handlers::auth::logout(app, req)?
        .with_status_code(303)
        .with_unique_header("Location", "/")
        .with_unique_header("Cache-Control", "no-store"))
}

/// Reads a form-encoded request body of at most `max` bytes.
fn read_form(req: &Request, max: usize) -> Result<Vec<(String, String)>> {
    let buf = crate::handlers::read_small_body(req, max)?;
    Ok(parse_form(&String::from_utf8_lossy(&buf)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_only() {
        for ok in ["/", "/files", "/files/abc/info?x=1", "/g/x"] {
            assert!(is_local_path(ok), "{ok}");
        }
        for bad in [
            "",
            "files",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "/a\nb",
            "javascript:alert(1)",
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
    }
}
