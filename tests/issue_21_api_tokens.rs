//! Issue 21: API tokens for scripts (`Authorization: Bearer psr_…`, scoped `upload` or
//! `admin`, shown once, stored as a hash, revocable) and the JSON file list (`GET
//! /api/entries`, `GET /api/entry/{id}`). Status tables run in-process; what needs the real
//! binary (curl as a user types it, the database file's bytes, memory) runs it.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

const UPLOAD_ONLY: &str = "this API token's scope is \"upload\": it may only upload files";
const NOT_FOR_TOKENS: &str = "API tokens cannot manage API tokens: use the Settings page";
const PAGES_NEED_SESSION: &str =
    "API tokens work on the API (/api/...) only; pages need the admin's session";

/// An upload with a token: `data` named `name`, with `?expiration=` when given.
fn token_upload(s: &InProcess, token: &str, name: &str, expiration: Option<&str>) -> Resp {
    let up = Upload::new(b"from a script", name).expiration(expiration);
    let (ct, body) = up.multipart();
    s.request("POST", &up.path())
        .bearer(token)
        .header("Content-Type", &ct)
        .body(body)
        .send()
}

fn login(s: &InProcess, secret: &str) -> Resp {
    s.request("POST", "/api/auth")
        .json(&json!({ "sharedSecretKey": secret }).to_string())
        .send()
}

#[test]
fn issue_21_tokens_are_shown_once_listed_without_secrets_and_revoked_at_once() {
    let s = InProcess::new();
    let made = s.create_token_with(r#"{"label":" Backup cron ","scope":"upload"}"#);
    let token = made["token"].as_str().expect("token").to_owned();
    let id = made["id"].as_str().expect("id").to_owned();
    assert!(token.starts_with(&format!("psr_{id}_")), "{token}");
    assert_eq!(token.len(), 4 + 10 + 1 + 26, "{token}");
    assert!(token[15..].chars().all(|c| ALPHABET.contains(c)), "{token}");
    assert_eq!(made["label"], "Backup cron", "trimmed");
    assert_eq!(made["scope"], "upload");
    assert_eq!(made["expires"], Value::Null);
    assert_eq!(made["lastUsed"], Value::Null);
    let r = s
        .request("POST", "/api/tokens")
        .auth()
        .json(r#"{"label":"x","scope":"admin"}"#)
        .send();
    assert_eq!(r.header("cache-control"), Some("no-store"), "{r:?}");
    assert_ne!(r.json()["token"].as_str(), Some(token.as_str()), "random");
    let expires = in_days(90);
    let third = s.create_token_with(
        &json!({"label": "ShareX", "scope": "admin", "expiration": expires}).to_string(),
    );

    // The list: newest first, every field but the token.
    let list = s.get("/api/tokens").auth().send();
    assert_eq!(list.status, 200, "{list:?}");
    assert_eq!(list.media_type(), "application/json");
    assert!(!list.text().contains("psr_"), "{}", list.text());
    let tokens = list.json()["tokens"].as_array().expect("tokens").clone();
    assert_eq!(tokens.len(), 3);
    let first = &tokens[tokens.len() - 1];
    let mut keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["created", "expires", "id", "label", "lastUsed", "scope"]
    );
    let listed = |id: &str| {
        s.get("/api/tokens").auth().send().json()["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .cloned()
    };
    assert_eq!(
        listed(third["id"].as_str().unwrap()).unwrap()["expires"],
        expires
    );

    // It works; using it shows in the list; revoking it is immediate.
    assert_eq!(token_upload(&s, &token, "a.txt", None).status, 200);
    assert!(listed(&id).unwrap()["lastUsed"].is_string());
    let r = s
        .request("DELETE", &format!("/api/tokens/{id}"))
        .auth()
        .send();
    assert_eq!((r.status, r.text().as_str()), (200, ""));
    assert!(listed(&id).is_none());
    let r = token_upload(&s, &token, "b.txt", None);
    assert_eq!((r.status, r.message().as_str()), (401, "invalid API token"));
    let r = s
        .request("DELETE", &format!("/api/tokens/{id}"))
        .auth()
        .send();
    assert_eq!(
        (r.status, r.message().as_str()),
        (404, "API token not found")
    );
    let r = s.request("DELETE", "/api/tokens/not-an-id").auth().send();
    assert_eq!(
        (r.status, r.message().as_str()),
        (400, "invalid API token ID")
    );
    // The file it uploaded stays.
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 1);
}

#[test]
fn issue_21_token_requests_are_checked_field_by_field() {
    let s = InProcess::with(|c| c.max_api_tokens = 2);
    let cases: &[(&str, &str)] = &[
        (r#"{"scope":"upload"}"#, "label must not be empty"),
        (
            r#"{"label":"  ","scope":"upload"}"#,
            "label must not be empty",
        ),
        (r#"{"label":5,"scope":"upload"}"#, "label must be a string"),
        (
            &format!(r#"{{"label":"{}","scope":"upload"}}"#, "a".repeat(201)),
            "label too long - limit 200 characters",
        ),
        (
            r#"{"label":"a\nb","scope":"upload"}"#,
            "label must not contain control characters",
        ),
        (r#"{"label":"x"}"#, "scope must be \"upload\" or \"admin\""),
        (
            r#"{"label":"x","scope":"root"}"#,
            "scope must be \"upload\" or \"admin\"",
        ),
        (
            r#"{"label":"x","scope":"upload","expiration":"tomorrow"}"#,
            "expiration must be an RFC 3339 time (2006-01-02T15:04:05Z) or null",
        ),
        (
            r#"{"label":"x","scope":"upload","expiration":5}"#,
            "expiration must be a string or null",
        ),
        (
            &format!(
                r#"{{"label":"x","scope":"upload","expiration":"{}"}}"#,
                in_secs(-1)
            ),
            "expiration must be in the future",
        ),
        ("[]", "malformed request"),
        ("{", "malformed request"),
    ];
    for (body, message) in cases {
        let r = s.request("POST", "/api/tokens").auth().json(body).send();
        assert_eq!(
            (r.status, r.message()),
            (400, format!("Invalid request: {message}")),
            "{body}"
        );
    }
    assert_eq!(s.count("SELECT COUNT(*) FROM rs_api_tokens"), 0);
    s.create_token("one", "upload");
    s.create_token("two", "admin");
    let r = s
        .request("POST", "/api/tokens")
        .auth()
        .json(r#"{"label":"three","scope":"upload"}"#)
        .send();
    assert_eq!(
        (r.status, r.message().as_str()),
        (
            400,
            "Invalid request: there are already 2 API tokens, the most allowed; revoke one first"
        )
    );
}

/// Every admin route but the tokens' own, as `(method, path, JSON body)`, for a file `id`
/// and a guest link `link`, in an order where each still finds what it needs.
fn admin_api(id: &str, link: &str) -> Vec<(&'static str, String, String)> {
    vec![
        ("GET", "/api/entries".into(), String::new()),
        ("GET", format!("/api/entry/{id}"), String::new()),
        (
            "PUT",
            format!("/api/entry/{id}"),
            r#"{"filename":"renamed.txt"}"#.into(),
        ),
        (
            "PUT",
            "/api/settings".into(),
            r#"{"defaultExpirationDays":5}"#.into(),
        ),
        (
            "POST",
            "/api/guest-links".into(),
            json!({"label": "new", "urlExpirationTime": in_days(2), "fileLifetime": "24h"})
                .to_string(),
        ),
        (
            "PUT",
            format!("/api/guest-links/{link}/disable"),
            String::new(),
        ),
        (
            "PUT",
            format!("/api/guest-links/{link}/enable"),
            String::new(),
        ),
        ("GET", "/api/information".into(), String::new()),
        ("DELETE", format!("/api/guest-links/{link}"), String::new()),
        ("DELETE", format!("/api/entry/{id}"), String::new()),
    ]
}

/// The tokens' own routes and the admin's pages: never for a token.
fn session_only(token_id: &str) -> Vec<(&'static str, String, &'static str)> {
    let mut v: Vec<(&str, String, &str)> = vec![
        ("GET", "/api/tokens".into(), NOT_FOR_TOKENS),
        ("POST", "/api/tokens".into(), NOT_FOR_TOKENS),
        ("DELETE", format!("/api/tokens/{token_id}"), NOT_FOR_TOKENS),
    ];
    for page in ["/files", "/guest-links", "/settings", "/information"] {
        v.push(("GET", page.into(), PAGES_NEED_SESSION));
    }
    v
}

#[test]
fn issue_21_an_upload_token_uploads_and_gets_403_with_a_reason_for_anything_else() {
    let s = InProcess::new();
    let made = s.create_token_with(r#"{"label":"uploader","scope":"upload"}"#);
    let token = made["token"].as_str().unwrap();
    let token_id = made["id"].as_str().unwrap();

    // Uploads: with an expiration as PicoShare's clients send it, and without one (ShareX,
    // cron), which gets the default lifetime from Settings; recorded as the token's.
    let r = token_upload(&s, token, "with.txt", Some(&in_days(2)));
    assert_eq!(r.status, 200, "{r:?}");
    let with = r.json()["id"].as_str().unwrap().to_owned();
    let r = token_upload(&s, token, "without.txt", None);
    assert_eq!(r.status, 200, "{r:?}");
    let without = r.json()["id"].as_str().unwrap().to_owned();
    let stored = stored_expiration(&s.db(), &without);
    let default = chrono::DateTime::parse_from_rfc3339(&stored).unwrap()
        - chrono::DateTime::parse_from_rfc3339(&in_days(30)).unwrap();
    assert!(
        default.num_seconds().abs() < 60,
        "30 days (Settings): {stored}"
    );
    let r = token_upload(&s, token, "empty.txt", Some(""));
    assert_eq!(r.status, 400, "an explicit empty expiration is still wrong");
    let recorded = s.count(&format!(
        "SELECT COUNT(*) FROM rs_token_uploads WHERE token_id = '{token_id}' \
         AND entry_id IN ('{with}', '{without}')"
    ));
    assert_eq!(recorded, 2);
    // The admin's own uploads are nobody's token's; a cookie upload still needs an expiration.
    s.put_file(b"admin", "admin.txt");
    assert_eq!(s.count("SELECT COUNT(*) FROM rs_token_uploads"), 2);
    let up = Upload::new(b"x", "x.txt").expiration(None);
    assert_eq!(s.upload(&up).status, 400);

    // Everything else: 403 with the reason, and nothing changes.
    let link = s.create_guest_link(
        &json!({"label": "l", "urlExpirationTime": in_days(2), "fileLifetime": "24h"}).to_string(),
    );
    let state = || {
        (
            entry_row(&s.db(), &with),
            s.count("SELECT COUNT(*) * 10 + SUM(is_disabled) FROM guest_links"),
            s.count("SELECT default_expiration_in_days FROM settings"),
            s.count("SELECT COUNT(*) FROM rs_api_tokens"),
        )
    };
    let before = state();
    for (method, path, body) in admin_api(&with, &link) {
        let r = s.request(method, &path).bearer(token).json(&body).send();
        assert_eq!(
            (r.status, r.message().as_str()),
            (403, UPLOAD_ONLY),
            "{method} {path}"
        );
    }
    for (method, path, message) in session_only(token_id) {
        let r = s
            .request(method, &path)
            .bearer(token)
            .json(r#"{"label":"x","scope":"admin"}"#)
            .send();
        assert_eq!(
            (r.status, r.message().as_str()),
            (403, message),
            "{method} {path}"
        );
    }
    assert_eq!(state(), before, "nothing changed");
}

#[test]
fn issue_21_an_admin_token_has_the_admin_api_but_not_the_pages_or_the_tokens() {
    let s = InProcess::new();
    let made = s.create_token_with(r#"{"label":"ops","scope":"admin"}"#);
    let token = made["token"].as_str().unwrap();
    let id = s.put_file(b"hello", "hello.txt");
    let link = s.create_guest_link(
        &json!({"label": "l", "urlExpirationTime": in_days(2), "fileLifetime": "24h"}).to_string(),
    );
    for (method, path, body) in admin_api(&id, &link) {
        let r = s.request(method, &path).bearer(token).json(&body).send();
        assert!(matches!(r.status, 200 | 204), "{method} {path}: {r:?}");
    }
    assert_eq!(
        s.count("SELECT default_expiration_in_days FROM settings"),
        5
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 0, "deleted");
    assert_eq!(token_upload(&s, token, "up.txt", None).status, 200);
    for (method, path, message) in session_only(made["id"].as_str().unwrap()) {
        let r = s
            .request(method, &path)
            .bearer(token)
            .json(r#"{"label":"x","scope":"admin"}"#)
            .send();
        assert_eq!(
            (r.status, r.message().as_str()),
            (403, message),
            "{method} {path}"
        );
    }
    assert_eq!(s.count("SELECT COUNT(*) FROM rs_api_tokens"), 1);
}

#[test]
fn issue_21_bearer_requests_skip_the_origin_check_and_cookie_requests_keep_it() {
    let s = InProcess::new();
    let token = s.create_token("ops", "admin");
    let id = s.put_file(b"hello", "hello.txt");
    let edit = |r: FakeReq| {
        r.header("Origin", "https://evil.example")
            .json(r#"{"filename":"y.txt"}"#)
            .send()
    };
    let path = format!("/api/entry/{id}");
    let r = edit(s.request("PUT", &path).auth());
    assert_eq!(
        (r.status, r.message().as_str()),
        (403, "cross-origin request refused")
    );
    let r = edit(s.request("PUT", &path).bearer(&token));
    assert_eq!(r.status, 200, "{r:?}");
    // A token decides when there is one: a good cookie beside a bad token does not help.
    let r = edit(s.request("PUT", &path).auth().bearer("psr_nope"));
    assert_eq!((r.status, r.message().as_str()), (401, "invalid API token"));
    // Another scheme is not a token: the cookie decides.
    let r = s
        .request("PUT", &path)
        .auth()
        .header("Authorization", "Basic dXNlcjpwdw==")
        .json(r#"{"filename":"z.txt"}"#)
        .send();
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn issue_21_bad_revoked_and_expired_tokens_are_401_without_touching_the_cookie() {
    let s = InProcess::new();
    let good = s.create_token("good", "admin");
    let made = s.create_token_with(
        &json!({"label": "soon", "scope": "upload", "expiration": in_secs(3600)}).to_string(),
    );
    let expiring = made["token"].as_str().unwrap();
    assert_eq!(token_upload(&s, expiring, "ok.txt", None).status, 200);
    s.db()
        .execute(
            "UPDATE rs_api_tokens SET expires = ?1 WHERE id = ?2",
            [in_secs(-1), made["id"].as_str().unwrap().to_owned()],
        )
        .unwrap();
    // The right id with another secret, a token of the wrong shape, one never issued.
    let forged = format!("{}{}", &good[..15], "a".repeat(26));
    let cases = [
        (expiring.to_owned(), "API token expired"),
        (forged, "invalid API token"),
        (format!("{good}x"), "invalid API token"),
        ("psr_".to_owned(), "invalid API token"),
    ];
    for (token, message) in &cases {
        let r = s.get("/api/entries").bearer(token).send();
        assert_eq!((r.status, r.message().as_str()), (401, *message), "{token}");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"PicoShare\", error=\"invalid_token\"")
        );
        assert_eq!(r.header("set-cookie"), None, "a token is not a session");
    }
    let r = token_upload(&s, expiring, "late.txt", None);
    assert_eq!((r.status, r.message().as_str()), (401, "API token expired"));
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 1, "nothing stored");
    assert_eq!(s.get("/api/entries").bearer(&good).send().status, 200);
}

#[test]
fn issue_21_wrong_tokens_count_against_the_login_throttle_like_wrong_passphrases() {
    let s = InProcess::new();
    let good = s.create_token("good", "admin");
    // Three wrong passphrases and three wrong tokens: six failures from one address, the
    // last of which starts the wait (five are free).
    for _ in 0..3 {
        assert_eq!(login(&s, "wrong").status, 401);
    }
    for _ in 0..3 {
        assert_eq!(s.get("/api/entries").bearer("psr_guess").send().status, 401);
    }
    // Now everyone from there waits: a token guess, the right passphrase, even a good token.
    let r = s.get("/api/entries").bearer("psr_guess").send();
    assert_eq!(r.status, 429, "{r:?}");
    assert!(r.header("retry-after").is_some());
    assert_eq!(login(&s, SECRET).status, 429);
    assert_eq!(s.get("/api/entries").bearer(&good).send().status, 429);
    // Cookie requests do not go through the login throttle.
    assert_eq!(s.get("/api/entries").auth().send().status, 200);
}

#[test]
fn issue_21_a_good_token_does_not_clear_the_failures_of_its_address() {
    let s = InProcess::new();
    let good = s.create_token("good", "admin");
    for _ in 0..5 {
        assert_eq!(s.get("/api/entries").bearer("psr_guess").send().status, 401);
    }
    assert_eq!(s.get("/api/entries").bearer(&good).send().status, 200);
    assert_eq!(s.get("/api/entries").bearer("psr_guess").send().status, 401);
    assert_eq!(login(&s, SECRET).status, 429, "the sixth failure counted");
}

#[test]
fn issue_21_last_used_is_written_at_most_once_a_minute() {
    let s = InProcess::new();
    let made = s.create_token_with(r#"{"label":"busy","scope":"admin"}"#);
    let token = made["token"].as_str().unwrap();
    let id = made["id"].as_str().unwrap().to_owned();
    let last_used = || -> Option<String> {
        s.db()
            .query_row(
                "SELECT last_used FROM rs_api_tokens WHERE id = ?1",
                [&id],
                |r| r.get(0),
            )
            .unwrap()
    };
    let set = |t: &str| {
        s.db()
            .execute(
                "UPDATE rs_api_tokens SET last_used = ?1 WHERE id = ?2",
                [t, id.as_str()],
            )
            .unwrap()
    };
    assert_eq!(last_used(), None);
    assert_eq!(s.get("/api/entries").bearer(token).send().status, 200);
    assert!(last_used().is_some(), "the first use is written");
    let recent = in_secs(-30);
    set(&recent);
    for _ in 0..5 {
        assert_eq!(s.get("/api/entries").bearer(token).send().status, 200);
    }
    assert_eq!(last_used(), Some(recent), "not again within the minute");
    let old = in_secs(-61);
    set(&old);
    assert_eq!(s.get("/api/entries").bearer(token).send().status, 200);
    assert_ne!(last_used(), Some(old), "written again after a minute");
}

#[test]
fn issue_21_entries_list_pages_in_a_stable_order_with_every_field() {
    let s = InProcess::with(|c| {
        c.api_page_default = 2;
        c.api_page_max = 3;
    });
    let token = s.create_token("list", "admin");
    let plain = s.put_file(b"hello", "hello.txt");
    let noted = s.upload_ok(
        &Upload::new(b"with a note", "noted.txt")
            .note("for Bob")
            .content_type(Some("text/plain"))
            .expiration(Some(NEVER)),
    );
    let link = s.create_guest_link(
        &json!({"label": "l", "urlExpirationTime": in_days(2), "fileLifetime": "24h"}).to_string(),
    );
    let (ct, body) = Upload::new(b"guest bytes", "guest.txt").multipart();
    let r = s
        .request("POST", &format!("/api/guest/{link}"))
        .header("Content-Type", &ct)
        .header("Accept", "application/json")
        .body(body)
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    let guest = r.json()["id"].as_str().unwrap().to_owned();
    let more: Vec<String> = (0..3)
        .map(|i| s.put_file(b"x", &format!("more-{i}.txt")))
        .collect();
    // Two downloads of `plain` in its history (the download handler queues its rows for a
    // writer thread, which runs in the real server only).
    for when in ["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"] {
        s.db()
            .execute(
                "INSERT INTO downloads (entry_id, download_timestamp, client_ip, user_agent) \
                 VALUES (?1, ?2, '10.0.0.1', 'curl')",
                [plain.as_str(), when],
            )
            .unwrap();
    }
    s.db()
        .execute(
            "INSERT INTO entries (id, filename, content_type, upload_time, expiration_time) \
             VALUES ('zzzzzzzzzz', 'old.txt', 'text/plain', '2023-01-01T00:00:00Z', \
             '2023-01-02T00:00:00Z')",
            [],
        )
        .unwrap();
    let mut live = vec![plain.clone(), noted.clone(), guest.clone()];
    live.extend(more);
    live.sort();

    let get = |path: &str| {
        let r = s.get(path).bearer(&token).send();
        assert_eq!(r.status, 200, "{path}: {r:?}");
        assert_eq!(r.media_type(), "application/json");
        r.json()
    };
    let ids = |page: &Value| -> Vec<String> {
        page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // The default page size, then the cap on `limit`.
    let first = get("/api/entries");
    assert_eq!(ids(&first), live[..2]);
    assert_eq!(first["next"], live[1]);
    assert_eq!(ids(&get("/api/entries?limit=1000")), live[..3]);
    // Walking every page gives every live file once, in id order; the expired one is left
    // out; the last page says so.
    let mut seen = Vec::new();
    let mut path = "/api/entries?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let page = get(&path);
        pages += 1;
        seen.extend(ids(&page));
        match page["next"].as_str() {
            Some(next) => path = format!("/api/entries?limit=3&after={next}"),
            None => break,
        }
        assert!(pages < 10);
    }
    assert_eq!(seen, live);
    let after_last = get(&format!("/api/entries?after={}", live[live.len() - 1]));
    assert_eq!(after_last, json!({"entries": [], "next": null}));

    // Every field, as the list and the single-file route show it.
    let all = get("/api/entries?limit=3&after=");
    let find = |id: &str| {
        let mut path = "/api/entries?limit=3".to_owned();
        loop {
            let page = get(&path);
            if let Some(e) = page["entries"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["id"] == id)
            {
                return e.clone();
            }
            path = format!(
                "/api/entries?limit=3&after={}",
                page["next"].as_str().unwrap()
            );
        }
    };
    assert!(all["entries"].is_array());
    let row = entry_row(&s.db(), &plain).unwrap();
    assert_eq!(
        find(&plain),
        json!({
            "id": plain,
            "filename": "hello.txt",
            "size": 5,
            "contentType": "application/octet-stream",
            "note": null,
            "uploadTime": row.upload_time,
            "expirationTime": row.expiration_time,
            "guestLinkId": null,
            "downloadCount": 2,
            // Issue 20: no download limit.
            "maxDownloads": null,
            "downloadsLeft": null,
        })
    );
    let n = find(&noted);
    assert_eq!(
        (
            &n["note"],
            &n["contentType"],
            &n["expirationTime"],
            &n["size"]
        ),
        (
            &json!("for Bob"),
            &json!("text/plain"),
            &Value::Null,
            &json!(11)
        )
    );
    let g = find(&guest);
    assert_eq!(
        (&g["guestLinkId"], &g["downloadCount"]),
        (&json!(link), &json!(0))
    );
    for id in [&plain, &noted, &guest] {
        assert_eq!(get(&format!("/api/entry/{id}")), find(id), "{id}");
    }
    let r = s.get("/api/entry/zzzzzzzzzz").bearer(&token).send();
    assert_eq!(
        (r.status, r.message().as_str()),
        (404, "Invalid entry ID"),
        "expired"
    );

    // Bad parameters.
    for (query, message) in [
        ("limit=0", "limit must be a whole number of at least 1"),
        ("limit=-1", "limit must be a whole number of at least 1"),
        ("limit=many", "limit must be a whole number of at least 1"),
        ("after=a/b", "after must be an entry ID"),
        ("after=%27%20OR%201%3D1", "after must be an entry ID"),
    ] {
        let r = s
            .get(&format!("/api/entries?{query}"))
            .bearer(&token)
            .send();
        assert_eq!(
            (r.status, r.message()),
            (400, format!("Invalid request: {message}")),
            "{query}"
        );
    }
}

// The real binary.

/// An id of the 57-letter alphabet for number `n`, as the Go PicoShare would have made one.
fn nth_id(mut n: usize) -> String {
    let a = ALPHABET.as_bytes();
    let mut id = vec![b'a'; 10];
    for slot in id.iter_mut().rev() {
        *slot = a[n % a.len()];
        n /= a.len();
    }
    String::from_utf8(id).unwrap()
}

#[test]
fn issue_21_a_script_uploads_with_curl_and_a_token() {
    let s = Server::start();
    let upload = s.create_token("backup script", "upload");
    let admin = s.create_token("dashboard", "admin");
    let (up, adm) = (
        upload["token"].as_str().unwrap(),
        admin["token"].as_str().unwrap(),
    );
    let file = s.tmpdir.join("report.pdf");
    std::fs::write(&file, b"%PDF-1.4 a report").unwrap();

    // `curl -H "Authorization: Bearer …" -F file=@report.pdf …/api/entry`, as the README says.
    let r = s.upload_path(
        "/api/entry",
        &file,
        false,
        &["-H", &format!("Authorization: Bearer {up}")],
    );
    assert_eq!(r.status, 200, "{r:?}");
    let id = r.json()["id"].as_str().unwrap().to_owned();
    assert_valid_id(&id);
    let r = s.get(&format!("/-{id}")).send();
    assert_eq!(r.body, b"%PDF-1.4 a report");
    // The history writer records the download in the background.
    assert!(wait_until(std::time::Duration::from_secs(5), || s
        .downloads(&id)
        == 1));

    // The upload token cannot list; the admin token can, and sees the download.
    let r = s.get("/api/entries").bearer(up).send();
    assert_eq!((r.status, r.message().as_str()), (403, UPLOAD_ONLY));
    let r = s.get("/api/entries").bearer(adm).send();
    assert_eq!(r.status, 200, "{r:?}");
    let listed = &r.json()["entries"][0];
    assert_eq!(
        (&listed["id"], &listed["filename"], &listed["downloadCount"]),
        (&json!(id), &json!("report.pdf"), &json!(1))
    );
    // Revoked from the session: the script is locked out at once.
    let r = s
        .request(
            "DELETE",
            &format!("/api/tokens/{}", upload["id"].as_str().unwrap()),
        )
        .auth()
        .send();
    assert_eq!(r.status, 200);
    let r = s.upload_path(
        "/api/entry",
        &file,
        false,
        &["-H", &format!("Authorization: Bearer {up}")],
    );
    assert_eq!((r.status, r.message().as_str()), (401, "invalid API token"));
    assert!(!s.log().contains("psr_"), "no token in the server's output");
}

#[test]
fn issue_21_a_token_revoked_during_its_upload_stores_nothing() {
    let s = Server::start();
    let made = s.create_token("revoked mid-way", "upload");
    let token = made["token"].as_str().unwrap();
    let data = pattern(3 << 20, 21);
    let mut up = s.raw_token_upload(&Upload::new(&data, "big.bin").expiration(None), token);
    up.send_to(1 << 20);
    let r = s
        .request(
            "DELETE",
            &format!("/api/tokens/{}", made["id"].as_str().unwrap()),
        )
        .auth()
        .send();
    assert_eq!(r.status, 200);
    let r = up.finish();
    assert_eq!(r.status, 401, "{}", String::from_utf8_lossy(&raw_body(&r)));
    assert_eq!(
        String::from_utf8_lossy(&raw_body(&r)),
        "invalid API token\n"
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 0);
    assert!(
        wait_until(Duration::from_secs(5), || s
            .count("SELECT COUNT(*) FROM entries_data")
            == 0),
        "the upload's chunks are removed"
    );
    s.assert_spool_empty(Duration::from_secs(5));
}

#[test]
fn issue_21_the_database_never_holds_a_token_in_clear() {
    let mut s = Server::start();
    let made: Vec<Value> = vec![
        s.create_token("one", "upload"),
        s.create_token("two", "admin"),
    ];
    let tokens: Vec<String> = made
        .iter()
        .map(|m| m["token"].as_str().unwrap().to_owned())
        .collect();
    // Used, so their rows are written again (last used).
    for (t, status) in tokens.iter().zip([403, 200]) {
        assert_eq!(s.get("/api/information").bearer(t).send().status, status);
    }
    let hashes: Vec<Vec<u8>> = {
        let c = s.db();
        let mut st = c.prepare("SELECT hash FROM rs_api_tokens").unwrap();
        let rows = st.query_map([], |r| r.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    };
    assert_eq!(hashes.len(), 2);
    let files = |s: &Server| -> Vec<u8> {
        let mut all = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            if let Ok(bytes) = std::fs::read(with_suffix(&s.db_path, suffix)) {
                all.extend(bytes);
            }
        }
        all
    };
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let check = |bytes: &[u8], when: &str| {
        for h in &hashes {
            assert!(
                contains(bytes, h),
                "{when}: the search sees the rows' hashes"
            );
        }
        for t in &tokens {
            assert!(!contains(bytes, t.as_bytes()), "{when}: a whole token");
            assert!(
                !contains(bytes, &t.as_bytes()[15..]),
                "{when}: a token's secret"
            );
        }
    };
    check(&files(&s), "live, WAL included");
    s.stop();
    check(&files(&s), "after the final checkpoint");
}

#[test]
fn issue_21_api_entries_pages_through_1000_and_10000_files_in_the_same_memory() {
    let s = Server::start();
    let token = s.create_token("lister", "admin")["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Files written straight into the database (their bytes do not matter here), with the
    // longest names and notes PicoShare allows, and some download history.
    let insert = |from: usize, to: usize| {
        let mut c = s.db();
        let tx = c.transaction().unwrap();
        let note = "n".repeat(500);
        for i in from..to {
            let id = nth_id(i * 7 + 1);
            let name = format!("{i:04}-{}", "f".repeat(250));
            tx.execute(
                "INSERT INTO entries (id, filename, content_type, upload_time, expiration_time, \
                 note) VALUES (?1, ?2, 'application/octet-stream', '2024-01-01T00:00:00Z', ?3, ?4)",
                [&id, &name, NEVER, &note],
            )
            .unwrap();
            for _ in 0..(i % 4) {
                tx.execute(
                    "INSERT INTO downloads (entry_id, download_timestamp, client_ip, user_agent) \
                     VALUES (?1, '2024-01-02T00:00:00Z', '10.0.0.1', 'curl')",
                    [&id],
                )
                .unwrap();
            }
        }
        tx.commit().unwrap();
    };
    // Every page of 100 from the first; checks order and fields, returns (files, downloads,
    // pages).
    let walk = || {
        let (mut seen, mut downloads, mut pages) = (0, 0, 0);
        let mut last = String::new();
        let mut after = String::new();
        loop {
            let r = s
                .get(&format!("/api/entries?limit=100&after={after}"))
                .bearer(&token)
                .send();
            assert_eq!(r.status, 200, "{r:?}");
            let p = r.json();
            pages += 1;
            let entries = p["entries"].as_array().unwrap();
            assert!(entries.len() <= 100);
            for e in entries {
                let id = e["id"].as_str().unwrap().to_owned();
                assert!(id > last, "id order");
                last = id;
                assert_eq!(e["filename"].as_str().unwrap().len(), 255);
                downloads += e["downloadCount"].as_u64().unwrap();
            }
            seen += entries.len();
            match p["next"].as_str() {
                Some(next) => after = next.to_owned(),
                None => return (seen, downloads, pages),
            }
        }
    };
    let downloads_of = |n: usize| (0..n as u64).map(|i| i % 4).sum::<u64>();
    // 1,000 files, listed twice: the threads, their allocator arenas and SQLite's caches
    // (bounded by Config) do their growing.
    insert(0, 1000);
    for _ in 0..2 {
        assert_eq!(walk(), (1000, downloads_of(1000), 10));
    }
    let before = vm_hwm_kib(s.pid());
    // Ten times as many: the same pages, only more of them. Holding the list would take
    // over 10 MB (its JSON alone); pages of 100 take about 80 KB.
    let total = 10_000;
    insert(1000, total);
    let (seen, downloads, pages) = walk();
    let after = vm_hwm_kib(s.pid());
    let grew = after.saturating_sub(before);
    eprintln!(
        "VmHWM {before} kB -> {after} kB paging through {total} files ({pages} pages of 100)"
    );
    assert_eq!((seen, downloads, pages), (total, downloads_of(total), 100));
    assert!(
        grew < 2048,
        "peak RSS grew by {grew} kB (from {before} to {after}) listing {total} files"
    );
    // `limit` is lowered to Config::api_page_max.
    let r = s.get("/api/entries?limit=100000").bearer(&token).send();
    assert_eq!(r.json()["entries"].as_array().unwrap().len(), 200, "capped");
}
