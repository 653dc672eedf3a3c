//! `POST /api/auth` (log in) and `DELETE /api/auth` (log out).

use rouille::{Request, Response};

use super::{empty_ok, json_str, read_json};
use crate::app::App;
use crate::auth::{clearing_cookie, session_cookie, COOKIE};
use crate::error::{Error, Result};

pub fn login(app: &App, req: &Request) -> Result<Response> {
    let peer = req.remote_addr().ip();
    let started = std::time::Instant::now();
    app.login_throttle
        .check(peer, started)
        .map_err(Error::TooManyRequests)?;
    let body = read_json(req, app.config.max_json_body)?;
    let given = json_str(&body, "sharedSecretKey")
        .ok_or_else(|| Error::BadRequest("malformed request".into()))?;
    if given.is_empty() {
        return Err(Error::BadRequest("invalid shared secret".into()));
    }
    if !app.auth.passphrase_matches(given) {
        app.login_throttle.failure(peer, started);
        return Err(Error::Unauthorized("incorrect shared secret"));
    }
    app.login_throttle.success(peer);
    let token = app.auth.issue(app.now());
    let cookie = session_cookie(&token, app.auth.lifetime_secs(), app.is_https(req));
    Ok(empty_ok().with_additional_header("Set-Cookie", cookie))
}

pub fn logout(app: &App, req: &Request) -> Result<Response> {
    let now = app.now();
    for (name, value) in rouille::input::cookies(req) {
        if name == COOKIE {
            app.auth.revoke(value, now);
        }
    }
    Ok(empty_ok().with_additional_header("Set-Cookie", clearing_cookie()))
}
