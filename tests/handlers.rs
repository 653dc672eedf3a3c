//! The handlers' tables of statuses and messages — bad ids, bad JSON, bad expirations, bad
//! multipart bodies, refused logins, authentication required, methods not allowed, guest-link
//! and settings rules — run in-process: `App::handle` on rouille's `Request::fake_http`,
//! against a real store in a temp folder (tests/common/inproc.rs). Each case costs
//! microseconds instead of a curl call to a spawned server; the spawned-binary tests keep
//! what needs a process, and one of them (`http_api::status_tables_reach_the_client`) checks
//! that these answers arrive unchanged over the wire.

mod common;

use common::*;

/// A request that cannot be sent without its session: the admin's, or none.
fn with_cookie<'a>(r: FakeReq<'a>, cookie: Option<&str>) -> FakeReq<'a> {
    match cookie {
        Some(c) => r.header("Cookie", c),
        None => r,
    }
}

/// An admin call whose answer tells "authenticated" (404: no such entry) from "not" (401).
fn probe(s: &InProcess, cookie: Option<&str>) -> Resp {
    with_cookie(s.request("PUT", "/api/entry/aaaaaaaaaa"), cookie)
        .json(r#"{"filename":"x.txt"}"#)
        .send()
}

fn put_entry(s: &InProcess, id: &str, body: &str) -> Resp {
    s.request("PUT", &format!("/api/entry/{id}"))
        .auth()
        .json(body)
        .send()
}

fn link_body(max_bytes: Option<u64>, max_uploads: Option<u64>, lifetime: &str) -> String {
    serde_json::json!({
        "label": "test link",
        "urlExpirationTime": in_days(2),
        "fileLifetime": lifetime,
        "maxFileBytes": max_bytes,
        "maxFileUploads": max_uploads,
    })
    .to_string()
}

/// Sends an admin upload whose body is `body` (with `content_type`, if any).
fn post_body(s: &InProcess, content_type: Option<&str>, body: Vec<u8>) -> Resp {
    let mut r = s
        .request("POST", &entry_path(&in_days(1)))
        .auth()
        .body(body);
    if let Some(ct) = content_type {
        r = r.header("Content-Type", ct);
    }
    r.send()
}

/// Nothing of a failed upload is left: no entries or chunk rows, no spool files.
#[track_caller]
fn assert_nothing_stored(s: &InProcess, what: &str) {
    assert_eq!(
        s.count("SELECT COUNT(*) FROM entries"),
        0,
        "{what}: entries"
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM entries_data"),
        0,
        "{what}: entries_data rows left behind"
    );
    s.assert_spool_empty();
}

// Moved from tests/http_api.rs
#[test]
fn upload_validation_messages() {
    let s = InProcess::new();
    let bad_expiration = "Invalid expiration URL parameter: unrecognized format for expiration \
                          time, must be in 2006-01-02T15:04:05Z07:00 format";
    let too_soon = "expire time must be at least one hour in the future";
    let base = || Upload::new(b"some bytes", "ok.txt");
    let cases: Vec<(&str, Upload, &str)> = vec![
        ("no expiration", base().expiration(None), bad_expiration),
        (
            "empty expiration",
            base().expiration(Some("")),
            bad_expiration,
        ),
        ("words", base().expiration(Some("tomorrow")), bad_expiration),
        (
            "date only",
            base().expiration(Some("2031-01-01")),
            bad_expiration,
        ),
        (
            "30 min ahead",
            base().expiration(Some(&in_secs(30 * 60))),
            too_soon,
        ),
        (
            "in the past",
            base().expiration(Some(&in_secs(-3600))),
            too_soon,
        ),
        (
            "256-byte name",
            Upload::new(b"x", &"a".repeat(256)),
            "invalid request: filename too long",
        ),
        (
            "255 two-byte chars",
            Upload::new(b"x", &"Ö".repeat(128)),
            "invalid request: filename too long",
        ),
        (
            "leading dots",
            Upload::new(b"x", "..hidden"),
            "invalid request: filename cannot begin with dots",
        ),
        (
            "tab in name",
            Upload::new(b"x", "a\tb.txt"),
            "invalid request: illegal characters in filename",
        ),
        ("note null", base().note("null"), "invalid request:"),
        (
            "note undefined",
            base().note("undefined"),
            "invalid request:",
        ),
        (
            "note script",
            base().note("hi <script>alert(1)"),
            "invalid request:",
        ),
        ("note iframe", base().note("</ iframe>"), "invalid request:"),
        (
            "note 501 bytes",
            base().note(&"n".repeat(501)),
            "invalid request:",
        ),
    ];
    for (what, up, message) in cases {
        let r = s.upload(&up);
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        let m = r.message();
        if message.ends_with(':') {
            assert!(m.starts_with(message), "{what}: {m:?}");
        } else if message == too_soon {
            assert!(m.contains(message), "{what}: {m:?}");
        } else {
            assert_eq!(m, message, "{what}");
        }
    }
    // A request without a file part.
    let mut m = Multipart::new();
    m.text("note", "just a note");
    let (ct, body) = m.finish();
    let r = s
        .request(
            "POST",
            &format!("/api/entry?expiration={}", query_encode(&in_days(1))),
        )
        .auth()
        .header("Content-Type", &ct)
        .body(body)
        .send();
    assert_eq!(r.status, 400, "no file part: {}", r.text());

    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 0, "nothing stored");
    assert_eq!(s.count("SELECT COUNT(*) FROM entries_data"), 0);
    s.assert_spool_empty();

    // The limits themselves are allowed.
    s.put_file(b"x", &"a".repeat(255));
    s.upload_ok(&base().note(&"n".repeat(500)));
    s.upload_ok(&base().expiration(Some(&in_secs(3600 + 120))));
}

// Moved from tests/http_api.rs
#[test]
fn empty_file_is_rejected() {
    let s = InProcess::new();
    let r = s.upload(&Upload::new(b"", "empty.txt"));
    assert_eq!(r.status, 400);
    assert_eq!(r.message(), "invalid request: file must be non-empty");
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 0);
    assert_eq!(s.count("SELECT COUNT(*) FROM entries_data"), 0);
    s.assert_spool_empty();
}

// Moved from tests/http_api.rs
#[test]
fn a_file_part_without_a_filename_is_400() {
    let s = InProcess::new();
    let b = Multipart::new().boundary;
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\njust text\r\n--{b}--\r\n"
    );
    let r = s
        .request(
            "POST",
            &format!("/api/entry?expiration={}", query_encode(&in_days(1))),
        )
        .auth()
        .header(
            "Content-Type",
            &format!("multipart/form-data; boundary={b}"),
        )
        .body(body.into_bytes())
        .send();
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 0);
}

// Moved from tests/http_api.rs
#[test]
fn edit_rejects_bad_input_and_unknown_ids() {
    let s = InProcess::new();
    let id = s.upload_ok(&Upload::new(b"x", "keep.txt").note("keep"));
    let before = entry_row(&s.db(), &id).unwrap();
    let long = "a".repeat(256);
    let long_note = "n".repeat(501);
    let soon = in_secs(600);
    let cases: Vec<(&str, String)> = vec![
        ("empty filename", r#"{"filename":""}"#.into()),
        ("no filename", r#"{"note":"x"}"#.into()),
        ("null filename", r#"{"filename":null}"#.into()),
        ("slash", r#"{"filename":"a/b.txt"}"#.into()),
        ("dots", r#"{"filename":"..x"}"#.into()),
        ("newline", r#"{"filename":"a\nb"}"#.into()),
        (
            "too long",
            serde_json::json!({ "filename": long }).to_string(),
        ),
        ("note null", r#"{"filename":"k.txt","note":"null"}"#.into()),
        (
            "note script",
            r#"{"filename":"k.txt","note":"<script>"}"#.into(),
        ),
        (
            "note too long",
            serde_json::json!({ "filename": "k.txt", "note": long_note }).to_string(),
        ),
        (
            "bad expiration",
            r#"{"filename":"k.txt","expiration":"soon"}"#.into(),
        ),
        (
            "expiration within the hour",
            serde_json::json!({ "filename": "k.txt", "expiration": soon }).to_string(),
        ),
        ("malformed JSON", r#"{"filename":"#.into()),
        ("wrong type", r#"{"filename":5}"#.into()),
        ("not JSON", "filename=k.txt".into()),
    ];
    for (what, body) in cases {
        let r = put_entry(&s, &id, &body);
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        assert!(!r.message().is_empty(), "{what}: a short reason");
    }
    assert_eq!(entry_row(&s.db(), &id).unwrap(), before, "nothing changed");

    let r = put_entry(&s, "aaaaaaaaaa", r#"{"filename":"k.txt"}"#);
    assert_eq!(r.status, 404, "unknown id: {}", r.text());
    for bad in ["abc", "aaaaaaaaaaa", "llllllllll", "aaaaaaaaa0"] {
        let r = put_entry(&s, bad, r#"{"filename":"k.txt"}"#);
        assert_eq!(r.status, 400, "bad id {bad}: {}", r.text());
        assert!(
            r.message().starts_with("bad entry ID"),
            "{bad}: {}",
            r.text()
        );
    }
}

// Moved from tests/http_api.rs
#[test]
fn bad_and_unknown_download_ids() {
    let s = InProcess::new();
    for bad in [
        "abc",
        "aaaaaaaaaaa",
        "llllllllll",
        "OOOOOOOOOO",
        "aaaaaaaaa1",
        "%20",
    ] {
        for path in [
            format!("/-{bad}"),
            format!("/!{bad}"),
            format!("/-{bad}/x.txt"),
        ] {
            let r = s.get(&path).send();
            assert_eq!(r.status, 400, "{path}: {}", r.text());
            assert!(
                r.message().starts_with("bad entry ID"),
                "{path}: {}",
                r.text()
            );
            // Issue 17 (PicoShare #801): errors carry the page CSP; `sandbox` only where file
            // bytes are served (this said `sandbox` before).
            let csp = r.header("content-security-policy").unwrap_or("");
            assert!(csp.starts_with("default-src 'self'"), "{path}: {csp}");
            let ct = r.header("content-type").unwrap_or("");
            assert!(
                ct.starts_with("text/plain"),
                "{path}: error as plain text, got {ct}"
            );
        }
    }
    let r = s.get("/-aaaaaaaaaa").send();
    assert_eq!(r.status, 404);
    assert_eq!(r.message(), "entry not found");
    let csp = r.header("content-security-policy").unwrap_or("");
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
}

// Moved from tests/http_api.rs
#[test]
fn unknown_paths_are_404_and_wrong_methods_405() {
    let s = InProcess::new();
    let id = s.put_file(b"x", "x.txt");
    for path in ["/nope", "/api/nope", "/api/entry/x/y", "/files/", "/api"] {
        let r = s.get(path).send();
        assert_eq!(r.status, 404, "GET {path}: {}", r.text());
    }
    let cases = [
        ("GET", "/api/auth".to_owned(), "POST, DELETE"),
        ("PUT", "/api/auth".to_owned(), "POST, DELETE"),
        ("GET", "/api/entry".to_owned(), "POST"),
        ("DELETE", "/api/entry".to_owned(), "POST"),
        // Issue 21 made GET /api/entry/{id} a route (one file as JSON).
        (
            "PATCH",
            format!("/api/entry/{id}"),
            "GET, HEAD, PUT, DELETE",
        ),
        ("POST", format!("/api/entry/{id}"), "GET, HEAD, PUT, DELETE"),
        ("POST", "/api/entries".to_owned(), "GET, HEAD"),
        ("PUT", "/api/tokens".to_owned(), "GET, HEAD, POST"),
        ("GET", "/api/tokens/aaaaaaaaaa".to_owned(), "DELETE"),
        ("POST", format!("/-{id}"), "GET, HEAD"),
        ("PUT", format!("/-{id}"), "GET, HEAD"),
        ("DELETE", format!("/!{id}"), "GET, HEAD"),
        ("GET", "/api/guest-links".to_owned(), "POST"),
        ("POST", "/api/settings".to_owned(), "PUT"),
        ("POST", "/api/information".to_owned(), "GET, HEAD"),
        ("DELETE", "/settings".to_owned(), "GET, HEAD"),
    ];
    for (method, path, allow) in cases {
        let r = s.request(method, &path).auth().send();
        assert_eq!(r.status, 405, "{method} {path}: {}", r.text());
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
    }
    assert_eq!(s.get(&format!("/-{id}")).send().status, 200, "untouched");
    let home = s.get("/").send();
    assert_eq!(home.status, 200);
    assert_eq!(s.get("/login").send().status, 200);
}

#[test]
fn every_admin_api_answers_401_without_the_session_and_changes_nothing() {
    let s = InProcess::new();
    let id = s.put_file(b"hello", "hello.txt");
    let link = s.create_guest_link(&link_body(None, None, "24h"));
    let new_link = link_body(None, None, "24h");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "PUT",
            format!("/api/entry/{id}"),
            r#"{"filename":"pwned.txt"}"#,
        ),
        ("DELETE", format!("/api/entry/{id}"), ""),
        ("POST", "/api/guest-links".to_owned(), &new_link),
        ("DELETE", format!("/api/guest-links/{link}"), ""),
        ("PUT", format!("/api/guest-links/{link}/disable"), ""),
        ("PUT", format!("/api/guest-links/{link}/enable"), ""),
        (
            "PUT",
            "/api/settings".to_owned(),
            r#"{"defaultExpirationDays":5}"#,
        ),
        ("GET", "/api/information".to_owned(), ""),
        ("POST", entry_path(&in_days(1)), ""),
        ("GET", "/api/entries".to_owned(), ""),
        ("GET", format!("/api/entry/{id}"), ""),
        ("GET", "/api/tokens".to_owned(), ""),
        (
            "POST",
            "/api/tokens".to_owned(),
            r#"{"label":"x","scope":"admin"}"#,
        ),
        ("DELETE", "/api/tokens/aaaaaaaaaa".to_owned(), ""),
    ];
    let links = || s.count("SELECT COUNT(*) * 10 + SUM(is_disabled) FROM guest_links");
    let before = (entry_row(&s.db(), &id), links());
    for (method, path, body) in &cases {
        for cookie in [None, Some("sharedSecret=garbage")] {
            let r = with_cookie(s.request(method, path), cookie)
                .json(body)
                .send();
            assert_eq!(
                (r.status, r.message().as_str()),
                (401, "Authentication required"),
                "{method} {path} with {cookie:?}"
            );
        }
    }
    assert_eq!(
        (entry_row(&s.db(), &id), links()),
        before,
        "nothing changed"
    );
    assert_eq!(
        s.count("SELECT default_expiration_in_days FROM settings"),
        30
    );
}

// Moved from tests/auth.rs
#[test]
fn login_refuses_wrong_empty_and_malformed_secrets() {
    let s = InProcess::new();
    // Malformed and empty requests first: they are not wrong guesses, so they must not use up
    // the login throttle's free attempts before the two wrong passphrases at the end.
    let cases: &[(&str, u16, &str)] = &[
        (r#"{"sharedSecretKey":""}"#, 400, "invalid shared secret"),
        (r#"{"sharedSecretKey":null}"#, 400, "invalid shared secret"),
        (r#"{}"#, 400, "invalid shared secret"),
        (
            r#"{"other":"integration-test-passphrase"}"#,
            400,
            "invalid shared secret",
        ),
        (r#"{"sharedSecretKey":"#, 400, "malformed request"),
        ("not json", 400, "malformed request"),
        ("", 400, "malformed request"),
        (r#"{"sharedSecretKey":5}"#, 400, "malformed request"),
        (
            r#"{"sharedSecretKey":"wrong-passphrase"}"#,
            401,
            "incorrect shared secret",
        ),
        (
            r#"{"sharedSecretKey":"integration-test-passphrasE"}"#,
            401,
            "incorrect shared secret",
        ),
    ];
    for (body, status, message) in cases {
        let r = s.request("POST", "/api/auth").json(body).send();
        assert_eq!(r.status, *status, "body {body:?}: {}", r.text());
        assert_eq!(r.message(), *message, "body {body:?}");
        if let Some(sc) = r.set_cookie("sharedSecret") {
            let v = sc.split(';').next().unwrap().trim();
            assert_eq!(
                v, "sharedSecret=",
                "a failed login never hands out a cookie: {sc}"
            );
        }
    }
}

// Moved from tests/auth.rs
#[test]
fn admin_apis_without_a_valid_cookie_answer_401() {
    let s = InProcess::new();
    let good = s.cookie().to_owned();
    let id = s.put_file(b"hello", "hello.txt");

    // A tampered copy of a real cookie: flip one character of the value.
    let value = good.trim_start_matches("sharedSecret=").to_owned();
    let mut bytes = value.into_bytes();
    let mid = bytes.len() / 2;
    bytes[mid] = if bytes[mid] == b'A' { b'B' } else { b'A' };
    let tampered = format!("sharedSecret={}", String::from_utf8(bytes).unwrap());

    for cookie in [
        None,
        Some("sharedSecret="),
        Some("sharedSecret=garbage"),
        Some(tampered.as_str()),
        Some("otherCookie=1"),
    ] {
        let (ct, body) = Upload::new(b"data", "x.txt").multipart();
        let up = with_cookie(
            s.request(
                "POST",
                &format!("/api/entry?expiration={}", query_encode(&in_days(2))),
            )
            .header("Content-Type", &ct)
            .body(body),
            cookie,
        )
        .send();
        let edit = with_cookie(s.request("PUT", &format!("/api/entry/{id}")), cookie)
            .json(r#"{"filename":"pwned.txt"}"#)
            .send();
        let del = with_cookie(s.request("DELETE", &format!("/api/entry/{id}")), cookie).send();
        for (what, r) in [("upload", &up), ("edit", &edit), ("delete", &del)] {
            assert_eq!(r.status, 401, "{what} with cookie {cookie:?}: {}", r.text());
            assert_eq!(r.message(), "Authentication required", "{what}");
            let clearing = r.set_cookie("sharedSecret").unwrap_or("");
            assert!(
                clearing.to_ascii_lowercase().contains("max-age=0"),
                "{what}: a 401 also clears the cookie, got {clearing:?}"
            );
        }
    }
    // Nothing happened: one entry, unchanged, and no spool leftovers.
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 1);
    let row = entry_row(&s.db(), &id).expect("entry still there");
    assert_eq!(row.filename, "hello.txt");
    s.assert_spool_empty();
    assert_eq!(
        probe(&s, Some(&good)).status,
        404,
        "the real cookie still works"
    );
}

// Moved from tests/issue_4_guest_links.rs
#[test]
fn issue_4_guest_link_api_fields_rules_and_encodings() {
    let s = InProcess::new();
    // Without the session: 401 everywhere.
    let body = link_body(None, None, "168h0m0s");
    assert_eq!(
        s.request("POST", "/api/guest-links")
            .json(&body)
            .send()
            .status,
        401
    );

    let bad: &[(serde_json::Value, &str)] = &[
        (
            serde_json::json!({"label": "x".repeat(201), "urlExpirationTime": in_days(2), "fileLifetime": "24h"}),
            "Invalid request: label too long - limit 200 characters",
        ),
        (
            serde_json::json!({}),
            "Invalid request: unrecognized format for expiration time, must be in \
             2006-01-02T15:04:05Z07:00 format",
        ),
        (
            serde_json::json!({"urlExpirationTime": in_days(0), "fileLifetime": "24h"}),
            "Invalid request: expire time must be at least one hour in the future",
        ),
        (
            serde_json::json!({"urlExpirationTime": in_days(2), "fileLifetime": "7d"}),
            "Invalid request: unrecognized format for file life time, must be in 1ns, 1us \
             (or 1µs), 1ms, 1s, 1m, 1h format",
        ),
        // PicoShare asks for a day; issue 20 accepts hours, not less than one.
        (
            serde_json::json!({"urlExpirationTime": in_days(2), "fileLifetime": "59m"}),
            "Invalid request: file lifetime must be at least 1 hour",
        ),
        (
            serde_json::json!({"urlExpirationTime": in_days(2), "fileLifetime": "24h", "maxFileBytes": 1048575}),
            "Invalid request: guest upload size limit must be at at least 1048576 bytes",
        ),
        (
            serde_json::json!({"urlExpirationTime": in_days(2), "fileLifetime": "24h", "maxFileBytes": -5}),
            "Invalid request: maxFileBytes must be a whole number",
        ),
        (
            serde_json::json!({"urlExpirationTime": in_days(2), "fileLifetime": "24h", "maxFileBytes": 2097152.5}),
            "Invalid request: maxFileBytes must be a whole number",
        ),
        (
            serde_json::json!({"urlExpirationTime": in_days(2), "fileLifetime": "24h", "maxFileUploads": 0}),
            "Invalid request: guest upload count limit must be a positive number",
        ),
    ];
    for (body, message) in bad {
        let a = s
            .request("POST", "/api/guest-links")
            .auth()
            .json(&body.to_string())
            .send();
        assert_eq!((a.status, a.message().as_str()), (400, *message), "{body}");
    }
    assert_eq!(
        s.request("POST", "/api/guest-links")
            .auth()
            .json("")
            .send()
            .status,
        400,
        "missing body"
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM guest_links"), 0);

    // A link with every field, and one with none of the optional ones.
    let full = s.create_guest_link(&link_body(Some(10 * MIB), Some(3), "168h"));
    let bare = s.create_guest_link(
        &serde_json::json!({
            "label": null,
            "urlExpirationTime": "2999-12-31T00:00:00Z",
            "fileLifetime": "876000h0m0s",
        })
        .to_string(),
    );
    for id in [&full, &bare] {
        assert_eq!(id.len(), 16, "{id}");
    }
    let row = |id: &str| -> (
        Option<String>,
        Option<i64>,
        Option<i64>,
        String,
        String,
        i64,
    ) {
        s.db()
            .query_row(
                "SELECT label, max_file_bytes, max_file_uploads, url_expiration_time, \
                 file_expiration_time, is_disabled FROM guest_links WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .expect("row")
    };
    let (label, bytes, uploads, _, lifetime, disabled) = row(&full);
    assert_eq!(
        (
            label.as_deref(),
            bytes,
            uploads,
            lifetime.as_str(),
            disabled
        ),
        (
            Some("test link"),
            Some(10 * MIB as i64),
            Some(3),
            "168h0m0s",
            0
        )
    );
    assert_eq!(
        row(&bare),
        (
            Some(String::new()),
            None,
            None,
            "2999-12-31T00:00:00Z".into(),
            "876000h0m0s".into(),
            0
        ),
        "label '' not NULL, limits NULL, never sentinels"
    );

    // Enable / disable: 204, idempotent; unknown 404; malformed 400; wrong method 405.
    for (path, disabled) in [("disable", 1), ("disable", 1), ("enable", 0)] {
        let a = s
            .request("PUT", &format!("/api/guest-links/{full}/{path}"))
            .auth()
            .send();
        assert_eq!(a.status, 204);
        assert_eq!(row(&full).5, disabled);
    }
    let unknown = "ZZkAPdHsixtKqbdE";
    assert_eq!(
        s.request("PUT", &format!("/api/guest-links/{unknown}/enable"))
            .auth()
            .send()
            .status,
        404
    );
    let a = s
        .request("PUT", "/api/guest-links/short/disable")
        .auth()
        .send();
    assert_eq!(a.status, 400);
    assert!(a.text().starts_with("Invalid guest link ID"), "{a:?}");
    assert_eq!(
        s.request("GET", &format!("/api/guest-links/{full}/enable"))
            .auth()
            .send()
            .status,
        405
    );
    assert_eq!(
        s.request("PUT", &format!("/api/guest-links/{full}/enable"))
            .send()
            .status,
        401
    );

    // Delete: 200, also for an unknown id; malformed 400.
    assert_eq!(
        s.request("DELETE", &format!("/api/guest-links/{bare}"))
            .auth()
            .send()
            .status,
        200
    );
    assert_eq!(
        s.request("DELETE", &format!("/api/guest-links/{unknown}"))
            .auth()
            .send()
            .status,
        200
    );
    assert_eq!(
        s.request("DELETE", "/api/guest-links/bad!id")
            .auth()
            .send()
            .status,
        400
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM guest_links"), 1);
}

// Moved from tests/issue_4_guest_links.rs
#[test]
fn issue_4_settings_rules_and_stored_values() {
    let s = InProcess::new();
    let days =
        || -> i64 { s.count("SELECT default_expiration_in_days FROM settings WHERE id = 1") };
    assert_eq!(days(), 30);
    let put = |admin: bool, body: &str| {
        s.request("PUT", "/api/settings")
            .auth_if(admin)
            .json(body)
            .send()
    };
    assert_eq!(put(false, r#"{"defaultExpirationDays":5}"#).status, 401);
    let a = put(
        true,
        r#"{"defaultExpirationDays":5,"defaultNeverExpire":false}"#,
    );
    assert_eq!((a.status, a.text().as_str()), (200, ""));
    assert_eq!(days(), 5);
    assert_eq!(put(true, r#"{"defaultNeverExpire":true}"#).status, 200);
    assert_eq!(days(), 36_500);
    assert_eq!(put(true, r#"{"defaultExpirationDays":3650}"#).status, 200);
    assert_eq!(days(), 3650);
    for (body, message) in [
        (
            r#"{"defaultExpirationDays":0}"#,
            "Invalid request: file lifetime must be at least 1 days",
        ),
        (
            r#"{"defaultExpirationDays":3651}"#,
            "Invalid request: file lifetime must be at most 10 years",
        ),
        (
            r#"{}"#,
            "Invalid request: file lifetime must be at least 1 days",
        ),
        (
            r#"{"defaultExpirationDays":70000}"#,
            "Invalid request: defaultExpirationDays must be a whole number of days",
        ),
        (
            r#"{"defaultExpirationDays":"7"}"#,
            "Invalid request: defaultExpirationDays must be a number",
        ),
        ("not json", "Invalid request: malformed request"),
    ] {
        let a = put(true, body);
        assert_eq!((a.status, a.message().as_str()), (400, message), "{body}");
    }
    assert_eq!(days(), 3650, "refused changes change nothing");
    assert_eq!(s.request("POST", "/api/settings").auth().send().status, 405);
}

// Moved from tests/failures.rs
#[test]
fn issue_2_truncated_upload_stores_nothing() {
    let s = InProcess::with(|c| c.chunk_size = 1000);
    let m = Multipart::new();
    let b = m.boundary.clone();
    let head = m.file_head("file", "t.bin", Some("application/octet-stream"));
    let small = pattern(5000, 2);
    let large = pattern((2 << 20) + 77, 3);
    let with = |parts: &[&[u8]]| parts.concat();
    let closing_start = format!("\r\n--{b}\r\n");
    let bare_boundary = format!("\r\n--{b}");
    let half_closing = format!("\r\n--{b}-");
    let note_then_cut = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"file\"; filen"
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("data then end of body", with(&[&head, &small])),
        ("data and CRLF", with(&[&head, &small, b"\r\n"])),
        (
            "boundary without --",
            with(&[&head, &small, bare_boundary.as_bytes()]),
        ),
        (
            "half of the closing --",
            with(&[&head, &small, half_closing.as_bytes()]),
        ),
        (
            "a new part begun",
            with(&[&head, &small, closing_start.as_bytes()]),
        ),
        ("large, spilled, cut", with(&[&head, &large])),
        ("cut inside part headers", note_then_cut.into_bytes()),
        ("only the part head", head.clone()),
    ];
    for (what, body) in cases {
        let r = post_body(&s, Some(&m.content_type()), body);
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        assert!(!r.message().is_empty(), "{what}: a short reason");
        assert_nothing_stored(&s, what);
    }
    // The same body with its closing boundary is fine.
    let (ct, body) = Upload::new(&small, "t.bin").multipart();
    let r = post_body(&s, Some(&ct), body);
    assert_eq!(r.status, 200, "{}", r.text());
}

// Moved from tests/failures.rs
#[test]
fn issue_2_bad_or_missing_boundary_is_400() {
    let s = InProcess::new();
    let (good_ct, good_body) = Upload::new(b"payload", "p.txt").multipart();
    let b = Multipart::new().boundary;
    let no_disposition = format!("--{b}\r\n\r\npayload\r\n--{b}--\r\n").into_bytes();
    let garbage = b"this is not multipart at all".to_vec();
    let cases: Vec<(&str, Option<String>, Vec<u8>)> = vec![
        (
            "no boundary parameter",
            Some("multipart/form-data".into()),
            good_body.clone(),
        ),
        (
            "empty boundary",
            Some("multipart/form-data; boundary=".into()),
            good_body.clone(),
        ),
        (
            "another boundary",
            Some("multipart/form-data; boundary=somethingelse".into()),
            good_body.clone(),
        ),
        (
            "not multipart",
            Some("application/octet-stream".into()),
            good_body.clone(),
        ),
        (
            "json",
            Some("application/json".into()),
            br#"{"file":"x"}"#.to_vec(),
        ),
        ("no Content-Type", None, good_body.clone()),
        ("empty body", Some(good_ct.clone()), Vec::new()),
        ("garbage body", Some(good_ct.clone()), garbage),
        (
            "part without headers",
            Some(good_ct.clone()),
            no_disposition,
        ),
    ];
    for (what, ct, body) in cases {
        let r = post_body(&s, ct.as_deref(), body);
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        assert!(!r.message().is_empty(), "{what}: a short reason");
        assert_nothing_stored(&s, what);
    }
    let r = post_body(&s, Some(&good_ct), good_body);
    assert_eq!(r.status, 200, "the good body still works: {}", r.text());
}
