//! Issue 15, the login throttle: behind a proxy it keys on the address the proxy appended to
//! `X-Forwarded-For` (the last entry), so a guesser locks out only itself; and a browser that
//! has logged in before carries a signed known-device cookie that still logs in while a
//! distributed attack keeps the global cap engaged. Issue 16's guest-upload rate, issue 21's
//! API-token failures and issue 20's download-limit continuations key on the same trusted
//! address. The delays involved are a second or more, so outcomes are asserted on patterns
//! of answers, never on a clock.

mod common;

use common::*;

const DEVICE: &str = "picoshareDevice";

/// `POST /api/auth` through the "proxy": `X-Forwarded-For` as the proxy would pass it, and
/// the cookies the browser holds.
fn login(s: &Server, forwarded_for: &str, passphrase: &str, cookie: Option<&str>) -> Resp {
    let body = serde_json::json!({ "sharedSecretKey": passphrase }).to_string();
    let mut r = s
        .request("POST", "/api/auth")
        .header("X-Forwarded-For", forwarded_for)
        .json(&body);
    if let Some(c) = cookie {
        r = r.header("Cookie", c);
    }
    r.send()
}

fn behind_proxy() -> Server {
    Server::builder().env("PS_BEHIND_PROXY", "yes").start()
}

#[test]
fn issue_15_behind_a_proxy_the_throttle_locks_out_the_guessing_address_only() {
    let s = behind_proxy();
    // The guesser writes the owner's address first; the proxy appends the guesser's own.
    let guesser = "10.9.9.9, 10.6.6.6";
    let mut locked_out = false;
    for _ in 0..30 {
        let r = login(&s, guesser, "wrong guess", None);
        if r.status == 429 {
            assert!(r.header("Retry-After").is_some());
            locked_out = true;
            break;
        }
        assert_eq!(r.status, 401, "{}", r.text());
    }
    assert!(locked_out, "the guessing address is throttled");
    // Everyone else behind the same proxy logs in: the owner whose address the guesser
    // wrote, another client, and a request without the header (the proxy's own address).
    for who in ["10.9.9.9", "203.0.113.5, 10.7.7.7"] {
        let r = login(&s, who, SECRET, None);
        assert_eq!(r.status, 200, "X-Forwarded-For: {who}: {}", r.text());
    }
    let body = serde_json::json!({ "sharedSecretKey": SECRET }).to_string();
    let r = s.request("POST", "/api/auth").json(&body).send();
    assert_eq!(r.status, 200, "no X-Forwarded-For: {}", r.text());
}

#[test]
fn issue_15_a_known_device_cookie_logs_in_during_a_global_lockout() {
    let s = behind_proxy();
    let owner = "10.9.9.9";
    // The owner's browser has logged in before, through the API or the form: each sets a
    // signed, long-lived, script-proof known-device cookie.
    let r = login(&s, owner, SECRET, None);
    assert_eq!(r.status, 200);
    let set = r
        .set_cookie(DEVICE)
        .expect("the login sets a known-device cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=31536000"] {
        assert!(set.contains(attribute), "{set}");
    }
    let device = r.cookie_pair(DEVICE).expect("device cookie");
    let form = s
        .request("POST", "/login")
        .header("X-Forwarded-For", owner)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("passphrase={}&next=%2F", query_encode(SECRET)).into_bytes())
        .send();
    assert_eq!(form.status, 303);
    assert!(form.set_cookie(DEVICE).is_some(), "the form sets it too");

    // A distributed attack: a hundred wrong guesses from twenty addresses, five each, which
    // engages the global cap without any address reaching its own delays.
    for i in 0..100 {
        let r = login(&s, &format!("10.1.0.{}", i / 5), "wrong guess", None);
        assert_eq!(r.status, 401);
    }
    // From now on each further wrong guess holds everyone without a known device for a
    // second. A new browser is refused before and after the owner's known one, which gets
    // in: the lockout held throughout (nothing can lift it in between, and only a counted
    // failure renews it).
    let mut shown = false;
    for i in 0..20 {
        let _ = login(&s, &format!("10.2.0.{i}"), "wrong guess", None);
        if login(&s, owner, SECRET, None).status != 429 {
            continue;
        }
        let known = login(&s, owner, SECRET, Some(&device));
        assert_eq!(known.status, 200, "the known device: {}", known.text());
        if login(&s, owner, SECRET, None).status == 429 {
            shown = true;
            break;
        }
    }
    assert!(
        shown,
        "a new browser was refused before and after the known device got in"
    );

    // A wrong guess from the known device counts against that device only.
    let r = login(&s, owner, "wrong guess", Some(&device));
    assert_eq!(r.status, 401);
}

#[test]
fn issue_15_guest_uploads_are_rate_limited_per_trusted_address_behind_a_proxy() {
    // Issue 16's per-address limit on uploads through one guest link keys on the address the
    // proxy appended: writing a new first entry each time does not buy more uploads.
    let s = Server::builder()
        .env("PS_BEHIND_PROXY", "yes")
        .arg("--guest-uploads-per-address")
        .arg("2")
        .start();
    let link = s.create_guest_link(&format!(
        "{{\"label\": \"open\", \"urlExpirationTime\": \"{NEVER}\", \
         \"fileLifetime\": \"876000h0m0s\"}}"
    ));
    let upload = |forwarded_for: &str| {
        let mut m = Multipart::new();
        m.file("file", "g.bin", Some("application/octet-stream"), b"guest");
        let (ct, body) = m.finish();
        s.request("POST", &format!("/api/guest/{link}"))
            .header("Content-Type", &ct)
            .header("Accept", "application/json")
            .header("X-Forwarded-For", forwarded_for)
            .body(body)
            .send()
    };
    let statuses: Vec<u16> = (0..3)
        .map(|i| upload(&format!("198.51.100.{i}, 10.6.6.6")).status)
        .collect();
    assert_eq!(
        statuses,
        [200, 200, 429],
        "the proxy-appended 10.6.6.6 is limited"
    );
    assert_eq!(upload("10.7.7.7").status, 200, "another client is not");
}

#[test]
fn issue_15_behind_a_proxy_wrong_api_tokens_lock_out_the_guessing_address_only() {
    // Issue 21 counts a bad API token against the login throttle; behind a proxy that is
    // the address the proxy appended too, so a token guesser does not stop everyone's scripts.
    let s = behind_proxy();
    let good = s.create_token("script", "admin");
    let good = good["token"].as_str().expect("token");
    let entries = |forwarded_for: &str, token: &str| {
        s.request("GET", "/api/entries")
            .header("X-Forwarded-For", forwarded_for)
            .bearer(token)
            .send()
    };
    let guesser = "10.9.9.9, 10.6.6.6";
    let mut locked_out = false;
    for _ in 0..30 {
        let r = entries(guesser, "psr_guess");
        if r.status == 429 {
            locked_out = true;
            break;
        }
        assert_eq!(r.status, 401, "{}", r.text());
    }
    assert!(locked_out, "the guessing address is throttled");
    assert_eq!(
        entries(guesser, good).status,
        429,
        "the guesser waits, whatever it sends"
    );
    // The owner's script, whose address the guesser wrote first, and another client.
    for who in ["10.9.9.9", "203.0.113.5, 10.7.7.7"] {
        let r = entries(who, good);
        assert_eq!(r.status, 200, "X-Forwarded-For: {who}: {}", r.text());
    }
}

#[test]
fn issue_15_download_limit_continuations_key_on_the_trusted_address_behind_a_proxy() {
    // Issue 20 serves a range that continues a download the same client counted without
    // counting it again. "The same client" is the address the proxy appended: another client
    // writing the counted one's address first gets no free continuation.
    let s = behind_proxy();
    let data = pattern(100_000, 7);
    let up = Upload::new(&data, "video.mp4");
    let (ct, body) = up.multipart();
    let r = s
        .request("POST", &format!("{}&maxDownloads=1", up.path()))
        .auth()
        .header("Content-Type", &ct)
        .body(body)
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let get = |forwarded_for: &str, range: &str| {
        s.get(&format!("/-{id}"))
            .header("X-Forwarded-For", forwarded_for)
            .header("Range", range)
            .send()
    };
    assert_eq!(
        get("203.0.113.1", "bytes=0-").status,
        206,
        "the one download"
    );
    let r = get("203.0.113.1, 198.51.100.7", "bytes=50000-");
    assert_eq!(r.status, 410, "another client naming the first");
    // The client that counted still seeks (through the same proxy).
    let r = get("10.0.0.9, 203.0.113.1", "bytes=50000-");
    assert_eq!((r.status, r.body.len()), (206, 50_000));
}
