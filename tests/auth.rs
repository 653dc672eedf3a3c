//! Issue 2, login: `POST /api/auth` sets the `sharedSecret` cookie, `DELETE /api/auth` clears it,
//! and admin APIs answer 401 without a valid cookie (spec §1.1, §3.10).

mod common;

use common::*;

fn login_body(secret: &str) -> String {
    serde_json::json!({ "sharedSecretKey": secret }).to_string()
}

/// Cookie attributes, lower-cased, without the `name=value` pair.
fn attributes(set_cookie: &str) -> Vec<String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

/// An admin call whose answer tells "authenticated" (404: no such entry) from "not" (401).
fn probe(s: &Server, cookie: Option<&str>) -> Resp {
    let mut r = s
        .request("PUT", "/api/entry/aaaaaaaaaa")
        .json(r#"{"filename":"x.txt"}"#);
    if let Some(c) = cookie {
        r = r.header("Cookie", c);
    }
    r.send()
}

#[test]
fn login_with_the_right_secret_sets_the_session_cookie() {
    let s = Server::start();
    let r = s
        .request("POST", "/api/auth")
        .json(&login_body(SECRET))
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.body.is_empty(), "empty body, got {:?}", r.text());
    let sc = r
        .set_cookie("sharedSecret")
        .expect("Set-Cookie: sharedSecret");
    let value = sc
        .split(';')
        .next()
        .unwrap()
        .trim()
        .trim_start_matches("sharedSecret=");
    assert!(!value.is_empty(), "cookie has a value: {sc}");
    let attrs = attributes(sc);
    for want in ["httponly", "samesite=strict", "path=/", "max-age=2592000"] {
        assert!(attrs.iter().any(|a| a == want), "{want} in {sc}");
    }
    assert!(
        !attrs.iter().any(|a| a == "secure"),
        "no Secure over plain HTTP: {sc}"
    );

    let cookie = r.cookie_pair("sharedSecret").unwrap();
    assert_eq!(probe(&s, Some(&cookie)).status, 404, "cookie authenticates");
    // A second login works too and its cookie is just as good.
    let again = s
        .request("POST", "/api/auth")
        .json(&login_body(SECRET))
        .send();
    assert_eq!(again.status, 200);
    let cookie2 = again.cookie_pair("sharedSecret").unwrap();
    assert_eq!(probe(&s, Some(&cookie2)).status, 404);
}

#[test]
fn logout_clears_the_cookie() {
    let s = Server::start();
    let cookie = s.login();
    for with_cookie in [true, false] {
        let mut req = s.request("DELETE", "/api/auth");
        if with_cookie {
            req = req.header("Cookie", &cookie);
        }
        let r = req.send();
        assert_eq!(r.status, 200, "{}", r.text());
        let sc = r.set_cookie("sharedSecret").expect("clearing Set-Cookie");
        let attrs = attributes(sc);
        let expired = attrs.iter().any(|a| a == "max-age=0")
            || attrs
                .iter()
                .any(|a| a.starts_with("expires=") && a.contains("1970"));
        assert!(expired, "cookie cleared (Max-Age=0): {sc}");
        assert!(attrs.iter().any(|a| a == "path=/"), "same path: {sc}");
        assert_eq!(sc.split(';').next().unwrap().trim(), "sharedSecret=");
    }
    assert_eq!(
        probe(&s, Some(&cookie)).status,
        401,
        "logout revokes the session it ends"
    );
}

#[test]
fn repeated_wrong_passphrases_are_throttled() {
    let s = Server::start();
    let mut throttled = None;
    for _ in 0..8 {
        let r = s
            .request("POST", "/api/auth")
            .json(&login_body("not-the-passphrase"))
            .send();
        match r.status {
            401 => {}
            429 => {
                throttled = Some(r);
                break;
            }
            other => panic!("wrong passphrase: status {other}"),
        }
    }
    let r = throttled.expect("429 within 8 wrong passphrases");
    let retry = r.header("retry-after").expect("Retry-After");
    assert!(
        retry.parse::<u64>().is_ok_and(|n| (1..=60).contains(&n)),
        "Retry-After in whole seconds, at most a minute: {retry}"
    );
}

#[test]
fn cross_origin_admin_writes_are_refused() {
    let s = Server::start();
    let id = s.put_file(b"x", "x.txt");
    let host = s.addr.to_string();
    let edit = |origin: Option<&str>| {
        let mut r = s
            .request("PUT", &format!("/api/entry/{id}"))
            .auth()
            .json(r#"{"filename":"y.txt"}"#);
        if let Some(o) = origin {
            r = r.header("Origin", o);
        }
        r.send().status
    };
    assert_eq!(edit(Some("https://evil.example")), 403);
    assert_eq!(entry_row(&s.db(), &id).unwrap().filename, "x.txt");
    assert_eq!(edit(Some(&format!("http://{host}"))), 200);
    assert_eq!(edit(None), 200, "non-browser clients send no Origin");
}

#[test]
fn secret_file_wins_over_the_environment_and_is_trimmed() {
    let dir = TempDir::new("secretfile");
    let file = dir.join("secret.txt");
    std::fs::write(&file, "from-the-file\r\n\n").unwrap();
    let s = Server::builder()
        .secret(Some("from-the-env"))
        .env("PS_SHARED_SECRET_FILE", file.to_str().unwrap())
        .in_dir(dir)
        .start();
    let r = s
        .request("POST", "/api/auth")
        .json(&login_body("from-the-env"))
        .send();
    assert_eq!(r.status, 401, "PS_SHARED_SECRET lost to the file");
    let r = s
        .request("POST", "/api/auth")
        .json(&login_body("from-the-file\r\n"))
        .send();
    assert_eq!(
        r.status, 401,
        "the trailing CR/LF is not part of the secret"
    );
    let r = s
        .request("POST", "/api/auth")
        .json(&login_body("from-the-file"))
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn without_a_secret_one_is_generated_and_printed_once() {
    let s = Server::builder().secret(None).start();
    let mut lines = s.stdout_lines();
    lines.extend(s.stderr().lines().map(str::to_owned));
    // The last word of the line that announces it (at most three lines are tried, so the
    // login throttle is never reached).
    let candidates: Vec<String> = lines
        .iter()
        .filter(|l| !l.contains("listening on"))
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("secret") || l.contains("passphrase") || l.contains("password")
        })
        .filter_map(|l| l.split_whitespace().last())
        .map(|t| {
            t.trim_matches(|c: char| "\"'`.,:;()[]<>".contains(c))
                .to_owned()
        })
        .filter(|t| !t.is_empty())
        .take(3)
        .collect();
    let found = candidates.iter().find(|t| {
        s.request("POST", "/api/auth")
            .json(&login_body(t))
            .send()
            .status
            == 200
    });
    let secret = found.unwrap_or_else(|| {
        panic!("no printed token logs in; output: {lines:?}");
    });
    let mentions = lines.iter().filter(|l| l.contains(secret.as_str())).count();
    assert_eq!(mentions, 1, "printed exactly once: {lines:?}");
}

#[test]
fn the_cookie_is_secure_only_over_https_behind_a_trusted_proxy() {
    for (behind, secure) in [(false, false), (true, true)] {
        let mut b = Server::builder();
        if behind {
            b = b.env("PS_BEHIND_PROXY", "1");
        }
        let s = b.start();
        let r = s
            .request("POST", "/api/auth")
            .header("X-Forwarded-Proto", "https")
            .json(&login_body(SECRET))
            .send();
        assert_eq!(r.status, 200);
        let sc = r.set_cookie("sharedSecret").unwrap();
        assert_eq!(
            attributes(sc).iter().any(|a| a == "secure"),
            secure,
            "PS_BEHIND_PROXY set: {behind}: {sc}"
        );
    }
}
