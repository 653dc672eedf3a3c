//! The login page (`GET /login`), and the form posts `POST /login` and `POST /logout` for
//! browsers without JavaScript (login.js and common.js use the JSON API instead).

use rouille::{Request, Response};

use super::{Nav, Page};
use crate::app::App;
use crate::error::Result;
use crate::handlers::auth;
use crate::html::html;

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
    Ok(login_page(app, req, next.as_deref(), None))
}

/// The login page. `next` (where to go afterwards) is kept only if it is a local path.
fn login_page(app: &App, req: &Request, next: Option<&str>, error: Option<&str>) -> Response {
    let next = next.filter(|n| is_local_path(n)).unwrap_or("/");
    let nav = Nav::for_visitor(app, req);
    let (error_text, error_hidden) = match error {
        Some(e) => (e, ""),
        None => ("", " hidden"),
    };
    // login.js sends the passphrase to the JSON API; without JavaScript the form posts to
    // `/login` itself.
    let body = html!(
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
        next = next,
        error_hidden = error_hidden,
        error_text = error_text,
    );
    Page::new("Log in", nav, body).scripts(&["login"]).render()
}

/// `POST /login`: [`auth::login`] for browsers without JavaScript: a form post, answered with
/// a redirect to `next`, or the form again with the refusal in it.
pub fn login_form(app: &App, req: &Request) -> Result<Response> {
    let body = read_form(req, app.config.max_json_body)?;
    let field = |name: &str| {
        body.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let next = field("next");
    match auth::login(app, req, field("passphrase").unwrap_or("")) {
        Ok(session) => {
            let target = next.filter(|n| is_local_path(n)).unwrap_or("/");
            Ok(session
                .with_status_code(303)
                .with_unique_header("Location", target.to_owned())
                .with_unique_header("Cache-Control", "no-store"))
        }
        Err(e) => Ok(e.decorate(login_page(app, req, next, Some(&e.message())))),
    }
}

/// `POST /logout`: `DELETE /api/auth`'s logout, then back to the start page.
pub fn logout_form(app: &App, req: &Request) -> Result<Response> {
    Ok(auth::logout(app, req)?
        .with_status_code(303)
        .with_unique_header("Location", "/")
        .with_unique_header("Cache-Control", "no-store"))
}

/// Reads a form-encoded request body of at most `max` bytes.
fn read_form(req: &Request, max: usize) -> Result<Vec<(String, String)>> {
    let buf = crate::handlers::read_small_body(req, max)?;
    Ok(parse_form(&String::from_utf8_lossy(&buf)))
}

/// Parses an `application/x-www-form-urlencoded` body (`a=1&b=x+y%21`) into name/value
/// pairs, as browsers encode it: `+` is a space, `%XX` a byte; malformed escapes stay as they
/// are, and bytes that are not UTF-8 become U+FFFD.
fn parse_form(body: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies() {
        assert_eq!(
            parse_form("passphrase=a+b%21%C3%A9&next=%2Ffiles%3Fx%3D1"),
            [
                ("passphrase".to_owned(), "a b!é".to_owned()),
                ("next".to_owned(), "/files?x=1".to_owned())
            ]
        );
        assert_eq!(
            parse_form("a=%zz&b=%4&c&&d=100%&e=%+1"),
            [
                ("a".to_owned(), "%zz".to_owned()),
                ("b".to_owned(), "%4".to_owned()),
                ("c".to_owned(), String::new()),
                ("d".to_owned(), "100%".to_owned()),
                ("e".to_owned(), "% 1".to_owned())
            ]
        );
        assert_eq!(parse_form("x=%FF")[0].1, "\u{fffd}");
        assert!(parse_form("").is_empty());
    }

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
