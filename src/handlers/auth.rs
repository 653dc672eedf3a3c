//! Logging in and out: [`login`], the one passphrase check behind both `POST /api/auth` and
//! the `/login` form, and `DELETE /api/auth` (log out).

use rouille::{Request, Response};

use super::{empty_ok, json_str, read_json};
use crate::app::App;
use crate::auth::{clearing_cookie, session_cookie, COOKIE};
use crate::error::{Error, Result};

/// The one login: the throttle, then the passphrase, then a session. Answers 200 with the
/// session cookie and a fresh known-device cookie; the `/login` form turns that into a
/// redirect. Refusals: 429 while `client` is throttled, 400 for an empty passphrase, 401 for
/// a wrong one (which counts against `client`). The throttle knows `client` by its trusted
/// address and, if it carries one, its known-device cookie (see `throttle.rs`).
pub fn login(app: &App, client: &Request, passphrase: &str) -> Result<Response> {
    let who = app.login_client(client);
    let started = std::time::Instant::now();
    app.login_throttle
        .check(who, started)
        .map_err(Error::TooManyRequests)?;
    if passphrase.is_empty() {
        return Err(Error::BadRequest("invalid shared secret".into()));
    }
    if !app.auth.passphrase_matches(passphrase) {
        app.login_throttle.failure(who, started);
        return Err(Error::Unauthorized("incorrect shared secret"));
    }
    app.login_throttle.success(who);
    let token = app.auth.issue(app.now());
    let cookie = session_cookie(&token, app.auth.lifetime_secs(), app.is_https(client));
    Ok(app.remember_device(
        client,
        empty_ok().with_additional_header("Set-Cookie", cookie),
    ))
}

/// `POST /api/auth` `{"sharedSecretKey": "…"}`.
pub fn api_login(app: &App, req: &Request) -> Result<Response> {
    let body = read_json(req, app.config.max_json_body)?;
    let given = json_str(&body, "sharedSecretKey")
        .ok_or_else(|| Error::BadRequest("malformed request".into()))?;
    login(app, req, given)
}

/// `DELETE /api/auth`: revokes the session and clears its cookie.
pub fn logout(app: &App, req: &Request) -> Result<Response> {
    let now = app.now();
    for (name, value) in rouille::input::cookies(req) {
        if name == COOKIE {
            app.auth.revoke(value, now);
        }
    }
    Ok(empty_ok().with_additional_header("Set-Cookie", clearing_cookie()))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::app::test_support::{header, test_app, PASSPHRASE};
    use crate::throttle::{LoginThrottle, ThrottleLimits};

    #[test]
    fn the_api_and_the_form_share_one_login_and_one_throttle() {
        let mut t = test_app();
        // A long first delay, so a slow machine cannot outwait it within the test.
        t.app.login_throttle = LoginThrottle::new(
            ThrottleLimits {
                base_delay: Duration::from_secs(60),
                ..ThrottleLimits::default()
            },
            Instant::now(),
        );
        let json = |p: &str| format!("{{\"sharedSecretKey\":\"{p}\"}}");
        let (status, headers, _) = t.send("POST", "/api/auth", vec![], json(PASSPHRASE).as_bytes());
        assert_eq!(status, 200);
        assert!(header(&headers, "Set-Cookie").is_some_and(|c| c.starts_with("sharedSecret=v1.")));
        let (status, headers, _) = t.send(
            "POST",
            "/login",
            vec![],
            b"passphrase=test+passphrase&next=%2Ffiles",
        );
        assert_eq!(status, 303);
        assert_eq!(header(&headers, "Location"), Some("/files"));
        assert!(header(&headers, "Set-Cookie").is_some_and(|c| c.starts_with("sharedSecret=v1.")));
        // The form refuses in its own page, with the API's statuses.
        let (status, _, body) = t.send("POST", "/login", vec![], b"passphrase=&next=%2F");
        assert_eq!(status, 400);
        assert!(body.contains("invalid shared secret"), "{body}");
        // Wrong guesses through the form count for the API too: five are free, the sixth
        // starts the wait, for both.
        for _ in 0..6 {
            let (status, _, body) = t.send("POST", "/login", vec![], b"passphrase=wrong");
            assert_eq!(status, 401);
            assert!(body.contains("incorrect shared secret"), "{body}");
        }
        let (status, headers, body) =
            t.send("POST", "/api/auth", vec![], json(PASSPHRASE).as_bytes());
        assert_eq!(status, 429, "{body}");
        assert_eq!(header(&headers, "Retry-After"), Some("60"));
        assert_eq!(header(&headers, "Set-Cookie"), None);
        let (status, headers, body) =
            t.send("POST", "/login", vec![], b"passphrase=test+passphrase");
        assert_eq!(status, 429);
        assert_eq!(header(&headers, "Retry-After"), Some("60"));
        assert!(body.contains("Try again in 60 seconds."), "{body}");
        assert_eq!(header(&headers, "Set-Cookie"), None);
    }
}
