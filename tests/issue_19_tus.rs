//! Issue 19: resumable uploads (tus 1.0.0) at `/api/tus/` and `/api/guest/{id}/tus/`.
//!
//! The protocol's answers, statuses and messages run in-process (tests/common/inproc.rs);
//! what needs the real process — curl, a request cut mid-body, a server killed with SIGKILL
//! and started again, the collector removing an abandoned upload — runs against the binary.
//! The third-party clients (tus-js-client, tuspy) are in tests/issue_19_tus_clients.rs.

mod common;

use std::io::Write;
use std::time::Duration;

use common::*;

const TUS: &str = "1.0.0";

/// `Upload-Metadata` for these pairs (values Base64-encoded).
fn meta(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k} {}", base64::encode(v)))
        .collect::<Vec<_>>()
        .join(",")
}

/// A `POST` creating an upload of `length` bytes with `metadata` at `path`.
fn create(s: &InProcess, path: &str, admin: bool, length: u64, metadata: &str) -> Resp {
    s.request("POST", path)
        .auth_if(admin)
        .header("Tus-Resumable", TUS)
        .header("Upload-Length", &length.to_string())
        .header("Upload-Metadata", metadata)
        .send()
}

/// Creates an upload and returns its URL (asserting 201).
#[track_caller]
fn created(s: &InProcess, path: &str, admin: bool, length: u64, metadata: &str) -> String {
    let r = create(s, path, admin, length, metadata);
    assert_eq!(r.status, 201, "{}", r.text());
    r.header("Location").expect("Location").to_owned()
}

/// A `PATCH` of `body` at `offset` (its length declared, as every client declares it).
fn patch(s: &InProcess, url: &str, admin: bool, offset: u64, body: &[u8]) -> Resp {
    s.request("PATCH", url)
        .auth_if(admin)
        .header("Tus-Resumable", TUS)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", &offset.to_string())
        .header("Content-Length", &body.len().to_string())
        .body(body.to_vec())
        .send()
}

fn head(s: &InProcess, url: &str, admin: bool) -> Resp {
    s.request("HEAD", url)
        .auth_if(admin)
        .header("Tus-Resumable", TUS)
        .send()
}

/// The offset `HEAD` reports.
#[track_caller]
fn offset_of(s: &InProcess, url: &str, admin: bool) -> u64 {
    let r = head(s, url, admin);
    assert_eq!(r.status, 200, "{}", r.text());
    r.header("Upload-Offset")
        .and_then(|o| o.parse().ok())
        .expect("Upload-Offset")
}

/// Every chunk row in the database, and the tails of unfinished uploads: all the bytes
/// resumable uploads hold.
fn stored(s: &InProcess) -> (i64, i64) {
    (
        s.count("SELECT COUNT(*) FROM entries_data"),
        s.count("SELECT COALESCE(SUM(upload_offset), 0) FROM rs_tus_uploads"),
    )
}

/// A guest link's JSON: a week's file lifetime, the given limits.
fn link_json(max_bytes: Option<u64>, max_uploads: Option<u64>) -> String {
    serde_json::json!({
        "label": "tus",
        "urlExpirationTime": in_days(2),
        "fileLifetime": "168h0m0s",
        "maxFileBytes": max_bytes,
        "maxFileUploads": max_uploads,
    })
    .to_string()
}

/// Small chunks, so a few hundred bytes cross several.
fn small_chunks() -> InProcess {
    InProcess::with(|c| c.chunk_size = 100)
}

#[test]
fn issue_19_options_advertise_the_protocol_and_a_guest_links_cap() {
    let s = small_chunks();
    let r = s.request("OPTIONS", "/api/tus/").send();
    assert_eq!(r.status, 204);
    assert_eq!(r.header("Tus-Version"), Some("1.0.0"));
    assert_eq!(
        r.header("Tus-Extension"),
        Some("creation,creation-with-upload,termination,expiration")
    );
    assert_eq!(r.header("Tus-Max-Size"), None, "the admin has no cap");
    let link = s.create_guest_link(&link_json(Some(1 << 20), None));
    let r = s
        .request("OPTIONS", &format!("/api/guest/{link}/tus/"))
        .send();
    assert_eq!(r.status, 204);
    assert_eq!(r.header("Tus-Max-Size"), Some("1048576"));
    assert_eq!(r.header("Tus-Resumable"), Some(TUS));
    let r = s
        .request("OPTIONS", "/api/guest/AAAAAAAAAAAAAAAA/tus/")
        .send();
    assert_eq!(r.status, 404);
}

#[test]
fn issue_19_an_upload_in_pieces_becomes_the_same_file_an_ordinary_upload_would() {
    let s = small_chunks();
    let data = pattern(1000, 19);
    let expiration = in_days(3);
    let metadata = meta(&[
        ("filename", "dir/report.csv"),
        ("filetype", "text/csv"),
        ("note", "for <b>Bob</b>"),
        ("expiration", &expiration),
        ("downloadPassphrase", "open sesame"),
    ]);
    let r = create(&s, "/api/tus/", true, 1000, &metadata);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("Tus-Resumable"), Some(TUS));
    assert!(r
        .header("Upload-Expires")
        .is_some_and(|e| e.ends_with(" GMT")));
    let url = r.header("Location").unwrap().to_owned();
    assert!(
        url.starts_with("/api/tus/") && url.len() == "/api/tus/".len() + 24,
        "{url}"
    );
    let h = head(&s, &url, true);
    assert_eq!(h.status, 200);
    assert_eq!(h.header("Upload-Offset"), Some("0"));
    assert_eq!(h.header("Upload-Length"), Some("1000"));
    assert_eq!(h.header("Upload-Metadata"), Some(metadata.as_str()));
    assert_eq!(h.header("Cache-Control"), Some("no-store"));
    // Pieces that end inside chunks, on their edges, and across several.
    let mut at = 0;
    for end in [1, 99, 100, 101, 450, 999] {
        let r = patch(&s, &url, true, at as u64, &data[at..end]);
        assert_eq!(r.status, 204, "{}", r.text());
        assert_eq!(r.header("Upload-Offset"), Some(end.to_string().as_str()));
        assert!(r.header("Upload-Expires").is_some());
        assert_eq!(r.header("PicoShare-Entry-Id"), None);
        at = end;
        assert_eq!(offset_of(&s, &url, true), end as u64);
        // Invisible until complete: not listed, no file.
        assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 0);
    }
    assert_eq!(
        s.count("SELECT COUNT(*) FROM entries_data"),
        9,
        "whole chunks only; the rest waits in the upload's tail"
    );
    let r = patch(&s, &url, true, 999, &data[999..]);
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(r.header("Upload-Offset"), Some("1000"));
    let id = r
        .header("PicoShare-Entry-Id")
        .expect("the file's id")
        .to_owned();
    assert_valid_id(&id);
    assert_eq!(
        r.header("PicoShare-Entry-Url"),
        Some(format!("http://127.0.0.1:4001/-{id}").as_str())
    );
    // The same rows an ordinary upload makes.
    let row = entry_row(&s.db(), &id).expect("entries row");
    assert_eq!(
        row.filename, "report.csv",
        "the directory part goes, as with multipart"
    );
    assert_eq!(row.content_type, "text/csv");
    assert_eq!(row.note.as_deref(), Some("for <b>Bob</b>"));
    assert_eq!(row.expiration_time.as_deref(), Some(expiration.as_str()));
    assert_eq!(row.guest_link_id, None);
    assert_eq!(stored_bytes(&s.db(), &id), data);
    let chunks = chunks(&s.db(), &id);
    assert_eq!(chunks.len(), 10);
    assert!(chunks.iter().all(|(_, c)| c.len() == 100));
    let passphrase: String = s
        .db()
        .query_row(
            "SELECT download_passphrase FROM entries WHERE id = ?1",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(passphrase, "open sesame");
    let listed = s.get("/files").auth().send();
    assert!(listed.text().contains("report.csv"));
    // A client whose last answer was lost asks how it ended.
    let h = head(&s, &url, true);
    assert_eq!(h.header("Upload-Offset"), Some("1000"));
    assert_eq!(h.header("PicoShare-Entry-Id"), Some(id.as_str()));
    assert_eq!(h.header("Upload-Expires"), None);
    // A finished upload's record is forgotten by DELETE; its file stays.
    let r = s
        .request("DELETE", &url)
        .auth()
        .header("Tus-Resumable", TUS)
        .send();
    assert_eq!(r.status, 204);
    assert_eq!(head(&s, &url, true).status, 404);
    assert_eq!(stored_bytes(&s.db(), &id), data);
}

#[test]
fn issue_19_creation_with_upload_and_method_override() {
    let s = small_chunks();
    let data = pattern(250, 3);
    // POST carrying the first bytes.
    let r = s
        .request("POST", "/api/tus/")
        .auth()
        .header("Tus-Resumable", TUS)
        .header("Upload-Length", "250")
        .header("Upload-Metadata", &meta(&[("filename", "a.bin")]))
        .header("Content-Type", "application/offset+octet-stream")
        .header("Content-Length", "120")
        .body(data[..120].to_vec())
        .send();
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("Upload-Offset"), Some("120"));
    let url = r.header("Location").unwrap().to_owned();
    // A client that cannot send PATCH says so in X-HTTP-Method-Override.
    let r = s
        .request("POST", &url)
        .auth()
        .header("X-HTTP-Method-Override", "PATCH")
        .header("Tus-Resumable", TUS)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "120")
        .header("Content-Length", "130")
        .body(data[120..].to_vec())
        .send();
    assert_eq!(r.status, 204, "{}", r.text());
    let id = r.header("PicoShare-Entry-Id").unwrap().to_owned();
    assert_eq!(stored_bytes(&s.db(), &id), data);
    // The whole file in the POST: done at once.
    let r = s
        .request("POST", "/api/tus")
        .auth()
        .header("Tus-Resumable", TUS)
        .header("Upload-Length", "5")
        .header("Upload-Metadata", &meta(&[("filename", "b.txt")]))
        .header("Content-Type", "application/offset+octet-stream")
        .header("Content-Length", "5")
        .body(b"hello".to_vec())
        .send();
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("Upload-Offset"), Some("5"));
    let id = r
        .header("PicoShare-Entry-Id")
        .expect("done at once")
        .to_owned();
    assert_eq!(stored_bytes(&s.db(), &id), b"hello");
}

#[test]
fn issue_19_bad_requests_get_clear_statuses_and_change_nothing() {
    let s = small_chunks();
    let m = meta(&[("filename", "f.bin")]);
    let url = created(&s, "/api/tus/", true, 300, &m);
    assert_eq!(patch(&s, &url, true, 0, &pattern(150, 1)).status, 204);
    let before = stored(&s);
    assert_eq!(before, (1, 150), "one whole chunk and a 50-byte tail");
    let unchanged = |what: &str| {
        assert_eq!(stored(&s), before, "{what}: nothing written");
        assert_eq!(offset_of(&s, &url, true), 150, "{what}");
    };
    let patch_with = |headers: &[(&str, &str)], body: &[u8]| {
        let mut r = s.request("PATCH", &url).auth();
        for (k, v) in headers {
            r = r.header(k, v);
        }
        r.body(body.to_vec()).send()
    };
    let ct = ("Content-Type", "application/offset+octet-stream");
    let tus = ("Tus-Resumable", TUS);
    // (headers, body, status, message)
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![ct, ("Upload-Offset", "150")],
            vec![1; 10],
            412,
            "this server speaks tus 1.0.0: send Tus-Resumable: 1.0.0",
        ),
        (
            vec![("Tus-Resumable", "0.2.2"), ct, ("Upload-Offset", "150")],
            vec![1; 10],
            412,
            "this server speaks tus 1.0.0: send Tus-Resumable: 1.0.0",
        ),
        (
            vec![
                tus,
                ("Content-Type", "application/octet-stream"),
                ("Upload-Offset", "150"),
            ],
            vec![1; 10],
            415,
            "the body of a tus upload request must be Content-Type: \
             application/offset+octet-stream",
        ),
        (
            vec![tus, ct],
            vec![1; 10],
            409,
            "Upload-Offset is required: ask for it with HEAD",
        ),
        (
            vec![tus, ct, ("Upload-Offset", "100")],
            vec![1; 10],
            409,
            "Upload-Offset is 100 but the upload holds 150 bytes: go on from there",
        ),
        (
            vec![tus, ct, ("Upload-Offset", "0")],
            vec![1; 10],
            409,
            "Upload-Offset is 0 but the upload holds 150 bytes: go on from there",
        ),
        (
            vec![tus, ct, ("Upload-Offset", "-1")],
            vec![1; 10],
            400,
            "Upload-Offset must be a non-negative integer",
        ),
        (
            vec![tus, ct, ("Upload-Offset", "150"), ("Content-Length", "151")],
            vec![1; 151],
            413,
            "the request carries 151 bytes but the upload lacks only 150 (Upload-Length \
             300); nothing was stored",
        ),
    ];
    for (headers, body, status, message) in cases {
        let r = patch_with(&headers, &body);
        assert_eq!(
            (r.status, r.message().as_str()),
            (status, message),
            "{headers:?}"
        );
        assert_eq!(r.header("Tus-Resumable"), Some(TUS), "on errors too");
        if status == 412 {
            assert_eq!(r.header("Tus-Version"), Some("1.0.0"));
        }
        unchanged(&format!("{headers:?}"));
    }
    // Unknown, malformed, or someone else's upload: 404.
    for other in [
        "/api/tus/AAAAAAAAAAAAAAAAAAAAAAAA",
        "/api/tus/short",
        "/api/tus/AAAAAAAAAAAAAAAAAAAAAAA0",
    ] {
        let r = patch(&s, other, true, 0, b"x");
        assert_eq!((r.status, r.message().as_str()), (404, "upload not found"));
        assert_eq!(head(&s, other, true).status, 404);
    }
    // The admin's API rules hold: a session, and our own origin for changes.
    let r = s
        .request("PATCH", &url)
        .header("Tus-Resumable", TUS)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "150")
        .body(vec![1; 10])
        .send();
    assert_eq!(r.status, 401);
    let r = s
        .request("PATCH", &url)
        .auth()
        .header("Origin", "https://evil.example")
        .header("Tus-Resumable", TUS)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "150")
        .body(vec![1; 10])
        .send();
    assert_eq!(r.status, 403);
    unchanged("unauthenticated and cross-origin");
    let r = s
        .request("GET", &url)
        .auth()
        .header("Tus-Resumable", TUS)
        .send();
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("OPTIONS, HEAD, PATCH, DELETE"));
    // Creation: the same rules as an ordinary upload's, and nothing is created.
    let creations: Vec<(u64, String, u16, &str)> = vec![
        (0, m.clone(), 400, "invalid request: file must be non-empty"),
        (
            10,
            String::new(),
            400,
            "invalid request: file name missing: send it as filename in Upload-Metadata",
        ),
        (
            10,
            meta(&[("filename", &"n".repeat(300))]),
            400,
            "invalid request: filename too long",
        ),
        (
            10,
            meta(&[("filename", "..x")]),
            400,
            "invalid request: filename cannot begin with dots",
        ),
        (
            10,
            meta(&[("filename", "a"), ("note", "<script>")]),
            400,
            "invalid request: note must not contain script tags",
        ),
        (
            10,
            meta(&[("filename", "a"), ("filetype", "text/plain\r\nX-Evil: 1")]),
            400,
            "invalid request: filetype must be a MIME type in printable ASCII",
        ),
        (
            10,
            meta(&[("filename", "a"), ("expiration", "tomorrow")]),
            400,
            "Invalid expiration: unrecognized format for expiration time, must be in \
             2006-01-02T15:04:05Z07:00 format",
        ),
        (
            10,
            meta(&[("filename", "a"), ("expiration", &in_secs(60))]),
            400,
            "Invalid expiration: expire time must be at least one hour in the future",
        ),
        (
            10,
            "filename not-base64!".into(),
            400,
            "Upload-Metadata: the value of \"filename\" is not Base64",
        ),
        (
            10,
            format!("{m},{m}"),
            400,
            "Upload-Metadata names \"filename\" twice",
        ),
    ];
    for (length, metadata, status, message) in creations {
        let r = create(&s, "/api/tus/", true, length, &metadata);
        assert_eq!(
            (r.status, r.message().as_str()),
            (status, message),
            "{metadata}"
        );
    }
    for (headers, status, message) in [
        (
            vec![("Upload-Metadata", m.as_str())],
            400,
            "Upload-Length is required",
        ),
        (
            vec![("Upload-Length", "x"), ("Upload-Metadata", m.as_str())],
            400,
            "Upload-Length must be a non-negative integer",
        ),
        (
            vec![
                ("Upload-Defer-Length", "1"),
                ("Upload-Metadata", m.as_str()),
            ],
            400,
            "Upload-Defer-Length is not supported: send Upload-Length",
        ),
    ] {
        let mut r = s
            .request("POST", "/api/tus/")
            .auth()
            .header("Tus-Resumable", TUS);
        for (k, v) in &headers {
            r = r.header(k, v);
        }
        let r = r.send();
        assert_eq!((r.status, r.message().as_str()), (status, message));
    }
    let r = s
        .request("POST", "/api/tus/")
        .auth()
        .header("Tus-Resumable", TUS)
        .header("Upload-Length", "10")
        .header("Upload-Metadata", &m)
        .header("Content-Type", "text/plain")
        .header("Content-Length", "10")
        .body(b"0123456789".to_vec())
        .send();
    assert_eq!(r.status, 415, "a POST with bytes must say what they are");
    let r = s
        .request("POST", "/api/tus/")
        .header("Tus-Resumable", TUS)
        .header("Upload-Length", "10")
        .header("Upload-Metadata", &m)
        .send();
    assert_eq!(r.status, 401, "the admin's endpoint needs the session");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM rs_tus_uploads"),
        1,
        "only the first"
    );
    unchanged("refused creations");
}

#[test]
fn issue_19_termination_frees_everything_and_expired_uploads_are_gone() {
    let s = InProcess::with(|c| {
        c.chunk_size = 100;
        // Not 1 s: times are whole seconds, so an upload created late in one second expired
        // as the next began, and its first PATCH, sent right after, got 410 (seen once in CI).
        // With 2 s it lives at least one.
        c.tus_expiry = Duration::from_secs(2);
    });
    let m = meta(&[("filename", "f.bin")]);
    let url = created(&s, "/api/tus/", true, 1000, &m);
    assert_eq!(patch(&s, &url, true, 0, &pattern(450, 2)).status, 204);
    assert_eq!(stored(&s), (4, 450));
    let r = s
        .request("DELETE", &url)
        .auth()
        .header("Tus-Resumable", TUS)
        .send();
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(r.header("Tus-Resumable"), Some(TUS));
    assert_eq!(stored(&s), (0, 0), "its chunks and tail are gone");
    assert_eq!(head(&s, &url, true).status, 404);
    assert_eq!(patch(&s, &url, true, 450, b"x").status, 404);
    // An upload left alone past its expiry cannot be resumed: 410, and it is removed.
    let url = created(&s, "/api/tus/", true, 1000, &m);
    assert_eq!(patch(&s, &url, true, 0, &pattern(250, 2)).status, 204);
    let gone = wait_until(Duration::from_secs(5), || {
        patch(&s, &url, true, 250, b"late").status == 410
    });
    assert!(gone, "an expired upload answers 410");
    assert_eq!(stored(&s), (0, 0), "and holds nothing any more");
    assert_eq!(head(&s, &url, true).status, 404, "then it is unknown");
}

#[test]
fn issue_19_guest_uploads_hold_a_slot_and_keep_the_links_rules() {
    let s = small_chunks();
    let link = s.create_guest_link(&link_json(Some(1 << 20), Some(1)));
    let endpoint = format!("/api/guest/{link}/tus/");
    let m = meta(&[("filename", "g.bin")]);
    // The byte cap is checked on Upload-Length, before anything exists.
    let r = create(&s, &endpoint, false, (1 << 20) + 1, &m);
    assert_eq!(
        (r.status, r.message().as_str()),
        (
            413,
            "invalid request: file is larger than this link's limit of 1048576 bytes"
        )
    );
    let r = create(
        &s,
        &endpoint,
        false,
        10,
        &meta(&[("filename", "g"), ("note", "hi")]),
    );
    assert_eq!(
        (r.status, r.message().as_str()),
        (400, "invalid request: guest uploads cannot have file notes")
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM rs_tus_uploads"), 0);
    // One upload holds the link's only slot while unfinished: neither another resumable
    // upload nor an ordinary one gets in.
    let url = created(&s, &endpoint, false, 300, &m);
    assert!(url.starts_with(&format!("/api/guest/{link}/tus/")), "{url}");
    let r = create(&s, &endpoint, false, 300, &m);
    assert_eq!(
        (r.status, r.message().as_str()),
        (401, "Guest link is no longer active")
    );
    let (ct, body) = Upload::new(b"ordinary", "o.txt").multipart();
    let r = s
        .request("POST", &format!("/api/guest/{link}"))
        .header("Content-Type", &ct)
        .body(body)
        .send();
    assert_eq!(r.status, 401, "{}", r.text());
    // The page still offers the upload form, so the guest can come back and resume.
    assert!(s
        .get(&format!("/g/{link}"))
        .send()
        .text()
        .contains("upload-form"));
    // Only through its own link: not the admin's endpoint, not another link's.
    assert_eq!(
        head(&s, &url.replace(&format!("guest/{link}/"), ""), true).status,
        404
    );
    let other = s.create_guest_link(&link_json(None, None));
    assert_eq!(head(&s, &url.replace(&link, &other), false).status, 404);
    // Cancelled: the slot is free again.
    let r = s
        .request("DELETE", &url)
        .header("Tus-Resumable", TUS)
        .send();
    assert_eq!(r.status, 204);
    let url = created(&s, &endpoint, false, 300, &m);
    assert_eq!(patch(&s, &url, false, 0, &pattern(200, 5)).status, 204);
    let r = patch(&s, &url, false, 200, &pattern(300, 5)[200..]);
    assert_eq!(r.status, 204, "{}", r.text());
    let id = r.header("PicoShare-Entry-Id").unwrap().to_owned();
    let row = entry_row(&s.db(), &id).unwrap();
    assert_eq!(row.guest_link_id.as_deref(), Some(link.as_str()));
    // No expiration asked: the link's lifetime from completion.
    let expires =
        chrono::DateTime::parse_from_rfc3339(row.expiration_time.as_deref().unwrap()).unwrap();
    let in_a_week = chrono::Utc::now() + chrono::Duration::hours(168);
    assert!((expires.timestamp() - in_a_week.timestamp()).abs() < 60);
    // The link is used up now.
    assert_eq!(create(&s, &endpoint, false, 10, &m).status, 401);
}

#[test]
fn issue_19_a_guest_upload_whose_link_was_disabled_cannot_complete_and_is_removed() {
    let s = small_chunks();
    let link = s.create_guest_link(&link_json(None, None));
    let endpoint = format!("/api/guest/{link}/tus/");
    let url = created(&s, &endpoint, false, 300, &meta(&[("filename", "g.bin")]));
    assert_eq!(patch(&s, &url, false, 0, &pattern(250, 5)).status, 204);
    assert_eq!(stored(&s), (2, 250));
    let r = s
        .request("PUT", &format!("/api/guest-links/{link}/disable"))
        .auth()
        .send();
    assert_eq!(r.status, 204, "{}", r.text());
    let r = patch(&s, &url, false, 250, &pattern(300, 5)[250..]);
    assert_eq!(
        (r.status, r.message().as_str()),
        (
            403,
            "the guest link no longer accepts uploads: this upload was removed"
        )
    );
    assert_eq!(stored(&s), (0, 0), "removed with its bytes");
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 0);
    assert_eq!(head(&s, &url, false).status, 404);
}

#[test]
fn issue_19_a_guest_link_holds_a_bounded_number_of_unfinished_uploads() {
    let s = InProcess::with(|c| c.max_unfinished_guest_uploads = 3);
    let link = s.create_guest_link(&link_json(None, None));
    let endpoint = format!("/api/guest/{link}/tus/");
    let m = meta(&[("filename", "g.bin")]);
    let urls: Vec<String> = (0..3)
        .map(|_| created(&s, &endpoint, false, 10, &m))
        .collect();
    let r = create(&s, &endpoint, false, 10, &m);
    assert_eq!(
        (r.status, r.message().as_str()),
        (
            403,
            "this guest link already has as many unfinished uploads as it may hold; finish or \
             cancel one first"
        )
    );
    assert_eq!(patch(&s, &urls[0], false, 0, b"0123456789").status, 204);
    created(&s, &endpoint, false, 10, &m);
}

#[test]
fn issue_19_creating_a_guest_upload_counts_against_the_links_rate_limits() {
    let s = InProcess::with(|c| {
        c.guest_uploads_per_address = picoshare::config::RateLimit::per_hour(2);
    });
    let link = s.create_guest_link(&link_json(None, None));
    let endpoint = format!("/api/guest/{link}/tus/");
    let m = meta(&[("filename", "g.bin")]);
    let url = created(&s, &endpoint, false, 10, &m);
    // PATCHes of an upload are not more uploads.
    for offset in 0..5 {
        let r = patch(&s, &url, false, offset, b"x");
        assert_eq!(r.status, 204, "{}", r.text());
    }
    created(&s, &endpoint, false, 10, &m);
    let r = create(&s, &endpoint, false, 10, &m);
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r
        .header("Retry-After")
        .is_some_and(|s| s.parse::<u64>().unwrap() > 0));
    assert_eq!(r.header("Tus-Resumable"), Some(TUS));
    assert_eq!(s.count("SELECT COUNT(*) FROM rs_tus_uploads"), 2);
}

/// A tus request to `url` with API token `token` (no session cookie).
fn with_token<'a>(s: &'a InProcess, method: &str, url: &str, token: &str) -> FakeReq<'a> {
    s.request(method, url)
        .bearer(token)
        .header("Tus-Resumable", TUS)
}

/// A `PATCH` of `body` at `offset` with API token `token`.
fn token_patch(s: &InProcess, url: &str, token: &str, offset: u64, body: &[u8]) -> Resp {
    with_token(s, "PATCH", url, token)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", &offset.to_string())
        .header("Content-Length", &body.len().to_string())
        .body(body.to_vec())
        .send()
}

#[test]
fn issue_19_an_upload_token_uploads_resumably_and_the_file_is_the_tokens() {
    let s = small_chunks();
    let made = s.create_token_with(r#"{"label":"tus script","scope":"upload"}"#);
    let (token, token_id) = (
        made["token"].as_str().unwrap().to_owned(),
        made["id"].as_str().unwrap().to_owned(),
    );
    let other = s.create_token("another script", "upload");
    let data = pattern(450, 21);
    let metadata = meta(&[
        ("filename", "nightly.tar"),
        ("downloadPassphrase", "tok sesame"),
    ]);
    let r = with_token(&s, "POST", "/api/tus/", &token)
        .header("Upload-Length", "450")
        .header("Upload-Metadata", &metadata)
        .send();
    assert_eq!(r.status, 201, "{}", r.text());
    let url = r.header("Location").unwrap().to_owned();
    let r = token_patch(&s, &url, &token, 0, &data[..250]);
    assert_eq!(r.status, 204, "{}", r.text());
    let r = with_token(&s, "HEAD", &url, &token).send();
    assert_eq!((r.status, r.header("Upload-Offset")), (200, Some("250")));
    // Another token cannot see, continue or cancel it; nobody without a credential can.
    for method in ["HEAD", "DELETE"] {
        let r = with_token(&s, method, &url, &other).send();
        assert_eq!(r.status, 404, "{method} with another token: {}", r.text());
    }
    assert_eq!(token_patch(&s, &url, &other, 250, &data[250..]).status, 404);
    let r = s.request("HEAD", &url).header("Tus-Resumable", TUS).send();
    assert_eq!(r.status, 401);
    let r = with_token(&s, "HEAD", &url, "psr_nope").send();
    assert_eq!((r.status, r.message().as_str()), (401, "invalid API token"));
    // The admin's session may look at it (the admin's side is the admin's).
    assert_eq!(offset_of(&s, &url, true), 250);
    let before = in_days(30);
    let r = token_patch(&s, &url, &token, 250, &data[250..]);
    let after = in_days(30);
    assert_eq!(r.status, 204, "{}", r.text());
    let id = r
        .header("PicoShare-Entry-Id")
        .expect("the file's id")
        .to_owned();
    assert_eq!(stored_bytes(&s.db(), &id), data);
    // Recorded as the token's, like its ordinary uploads, with the download passphrase it
    // gave and Settings' default lifetime (it asked for none).
    let recorded: String = s
        .db()
        .query_row(
            "SELECT token_id FROM rs_token_uploads WHERE entry_id = ?1",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(recorded, token_id);
    let row = entry_row(&s.db(), &id).expect("entries row");
    let expiration = row.expiration_time.expect("an expiration");
    assert!(before <= expiration && expiration <= after, "{expiration}");
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM entries WHERE id = '{id}' \
             AND download_passphrase = 'tok sesame'"
        )),
        1
    );
    let r = s.get(&format!("/api/entry/{id}")).bearer(&token).send();
    assert_eq!(r.status, 403, "an upload token cannot read files back");
}

#[test]
fn issue_19_max_downloads_in_the_metadata_limits_the_file_as_post_api_entry_does() {
    let s = small_chunks();
    let data = pattern(250, 20);
    let metadata = meta(&[("filename", "once.bin"), ("maxDownloads", "1")]);
    let url = created(&s, "/api/tus/", true, 250, &metadata);
    let r = patch(&s, &url, true, 0, &data);
    assert_eq!(r.status, 204, "{}", r.text());
    let id = r.header("PicoShare-Entry-Id").unwrap().to_owned();
    let first = s.get(&format!("/-{id}")).send();
    assert_eq!((first.status, first.body == data), (200, true));
    assert_eq!(s.get(&format!("/-{id}")).send().status, 410, "used up");
    // Checked like ?maxDownloads=, and not a guest's to set.
    for bad in ["0", "x", "1000001"] {
        let r = create(
            &s,
            "/api/tus/",
            true,
            10,
            &meta(&[("filename", "f"), ("maxDownloads", bad)]),
        );
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert!(r.text().starts_with("Invalid maxDownloads"), "{}", r.text());
    }
    let link = s.create_guest_link(&link_json(None, None));
    let r = create(
        &s,
        &format!("/api/guest/{link}/tus/"),
        false,
        10,
        &meta(&[("filename", "f"), ("maxDownloads", "3")]),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.text().trim(),
        "invalid request: guest uploads cannot have download limits"
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM rs_tus_uploads WHERE completion_time IS NULL"),
        0
    );
}

#[test]
fn issue_19_revoking_a_token_forgets_its_unfinished_uploads() {
    let s = small_chunks();
    let made = s.create_token_with(r#"{"label":"revoked","scope":"upload"}"#);
    let token = made["token"].as_str().unwrap().to_owned();
    let r = with_token(&s, "POST", "/api/tus/", &token)
        .header("Upload-Length", "450")
        .header("Upload-Metadata", &meta(&[("filename", "half.bin")]))
        .send();
    assert_eq!(r.status, 201, "{}", r.text());
    let url = r.header("Location").unwrap().to_owned();
    assert_eq!(
        token_patch(&s, &url, &token, 0, &pattern(250, 2)).status,
        204
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM rs_tus_uploads"), 1);
    let path = format!("/api/tokens/{}", made["id"].as_str().unwrap());
    assert_eq!(s.request("DELETE", &path).auth().send().status, 200);
    assert_eq!(s.count("SELECT COUNT(*) FROM rs_tus_uploads"), 0);
    let r = token_patch(&s, &url, &token, 250, &pattern(200, 3));
    assert_eq!((r.status, r.message().as_str()), (401, "invalid API token"));
    assert_eq!(head(&s, &url, true).status, 404, "gone for the admin too");
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 0);
}

#[test]
fn issue_19_tus_requests_that_carry_bytes_are_admitted_as_transfers() {
    // Issue 15: with no transfer slot for this client, POST and PATCH are refused at once
    // (503, Retry-After, before anything else) as an ordinary upload is; HEAD, OPTIONS and
    // DELETE are not transfers.
    let s = InProcess::with(|c| {
        c.chunk_size = 100;
        c.max_transfers_per_client = 0;
    });
    let up = s.upload(&Upload::new(b"x", "x.bin"));
    assert_eq!(up.status, 503, "an ordinary upload: {}", up.text());
    let r = create(&s, "/api/tus/", true, 10, &meta(&[("filename", "f")]));
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.header("Retry-After").is_some());
    let unknown = "/api/tus/AAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(patch(&s, unknown, true, 0, b"abc").status, 503);
    assert_eq!(head(&s, unknown, true).status, 404);
    assert_eq!(s.request("OPTIONS", "/api/tus/").send().status, 204);
    let r = s
        .request("DELETE", unknown)
        .auth()
        .header("Tus-Resumable", TUS)
        .send();
    assert_eq!(r.status, 404);
    assert_eq!(s.count("SELECT COUNT(*) FROM rs_tus_uploads"), 0);
}

#[test]
fn issue_19_information_shows_what_unfinished_uploads_hold() {
    let s = small_chunks();
    let url = created(&s, "/api/tus/", true, 1000, &meta(&[("filename", "f.bin")]));
    assert_eq!(patch(&s, &url, true, 0, &pattern(345, 1)).status, 204);
    let v = s.get("/api/information").auth().send().json();
    assert_eq!(v["unfinishedUploads"]["count"], 1);
    assert_eq!(v["unfinishedUploads"]["bytes"], 345);
    assert_eq!(v["storedFileBytes"], 0, "not a file yet");
    let page = s
        .get("/information")
        .auth()
        .header("Accept", "text/html")
        .send()
        .text();
    assert!(
        page.contains("<dd id=\"unfinished-uploads\">1 upload holding 345 B</dd>"),
        "{page}"
    );
}

// ---------------------------------------------------------------------------------------------
// Through the real binary.

/// A `PATCH` head for a raw socket: `declared` bytes at `offset`, `Expect: 100-continue`.
fn patch_head(s: &Server, url: &str, offset: u64, declared: usize) -> String {
    format!(
        "PATCH {url} HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nTus-Resumable: 1.0.0\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\n\
         Content-Length: {declared}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        s.addr,
        s.login()
    )
}

/// `curl` a tus request as the admin.
fn tus_curl<'a>(s: &'a Server, method: &str, url: &str) -> Req<'a> {
    s.request(method, url).auth().header("Tus-Resumable", TUS)
}

#[track_caller]
fn curl_offset(s: &Server, url: &str) -> u64 {
    let r = tus_curl(s, "HEAD", url).send();
    assert_eq!(r.status, 200, "{r:?}");
    r.header("Upload-Offset").unwrap().parse().unwrap()
}

/// The upload's row: (offset, tail length).
fn row(s: &Server, url: &str) -> Option<(i64, i64)> {
    let id = url.rsplit('/').next().unwrap();
    s.db()
        .query_row(
            "SELECT upload_offset, LENGTH(tail) FROM rs_tus_uploads WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok()
}

#[test]
fn issue_19_a_request_cut_mid_body_keeps_what_arrived_and_curl_resumes_byte_identical() {
    let s = Server::builder().chunk_size(64 * 1024).start();
    let data = pattern(3_000_000, 7);
    let r = tus_curl(&s, "POST", "/api/tus/")
        .header("Upload-Length", &data.len().to_string())
        .header("Upload-Metadata", &meta(&[("filename", "cut.bin")]))
        .send();
    assert_eq!(r.status, 201, "{r:?}");
    let url = r.header("Location").unwrap().to_owned();
    // The client declares the whole file, sends 1,000,000 bytes and goes away.
    let mut t = begin_body(s.addr, &patch_head(&s, &url, 0, data.len()))
        .expect("the server asks for the body");
    t.write_all(&data[..1_000_000]).unwrap();
    t.flush().unwrap();
    // Everything sent was received and kept: whole chunks, and the 16,960 bytes after the
    // last one in the upload's tail.
    assert!(
        wait_until(Duration::from_secs(10), || row(&s, &url)
            == Some((983_040, 0))),
        "the whole chunks arrive while the request goes on: {:?}",
        row(&s, &url)
    );
    drop(t);
    assert!(
        wait_until(Duration::from_secs(10), || row(&s, &url)
            == Some((1_000_000, 16_960))),
        "{:?}",
        row(&s, &url)
    );
    assert_eq!(curl_offset(&s, &url), 1_000_000);
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 0, "invisible");
    // Resume from there with plain curl, in two more requests.
    for (from, to) in [(1_000_000, 2_000_000), (2_000_000, 3_000_000)] {
        let r = tus_curl(&s, "PATCH", &url)
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", &from.to_string())
            .body(data[from..to].to_vec())
            .send();
        assert_eq!(r.status, 204, "{r:?}");
        assert_eq!(r.header("Upload-Offset"), Some(to.to_string().as_str()));
        if to == data.len() {
            let id = r.header("PicoShare-Entry-Id").unwrap();
            let got = s.get(&format!("/-{id}")).send();
            assert_eq!(got.status, 200);
            assert!(got.body == data, "byte-identical");
        }
    }
    s.assert_spool_empty(Duration::from_secs(2));
}

#[test]
fn issue_19_a_chunked_patch_past_the_length_is_413_and_leaves_nothing() {
    let s = Server::builder().chunk_size(64 * 1024).start();
    let data = pattern(500_000, 8);
    let r = tus_curl(&s, "POST", "/api/tus/")
        .header("Upload-Length", "400000")
        .header("Upload-Metadata", &meta(&[("filename", "long.bin")]))
        .send();
    let url = r.header("Location").unwrap().to_owned();
    let r = tus_curl(&s, "PATCH", &url)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body(data[..100_000].to_vec())
        .send();
    assert_eq!(r.status, 204, "{r:?}");
    let before = (s.count("SELECT COUNT(*) FROM entries_data"), row(&s, &url));
    assert_eq!(before, (1, Some((100_000, 34_464))));
    // No length declared: the server finds out only after writing whole chunks, and undoes
    // them.
    let r = tus_curl(&s, "PATCH", &url)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "100000")
        .header("Transfer-Encoding", "chunked")
        .body(data[100_000..].to_vec())
        .send();
    assert_eq!(r.status, 413, "{r:?}");
    assert_eq!(
        r.message(),
        "the request carried more bytes than the upload lacked (Upload-Length 400000); \
         nothing of it was stored"
    );
    assert_eq!(
        (s.count("SELECT COUNT(*) FROM entries_data"), row(&s, &url)),
        before,
        "nothing written"
    );
    // The same bytes, the right length: it completes.
    let r = tus_curl(&s, "PATCH", &url)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "100000")
        .header("Transfer-Encoding", "chunked")
        .body(data[100_000..400_000].to_vec())
        .send();
    assert_eq!(r.status, 204, "{r:?}");
    let id = r.header("PicoShare-Entry-Id").unwrap();
    assert!(s.get(&format!("/-{id}")).send().body == data[..400_000]);
}

#[test]
fn issue_19_a_server_killed_mid_upload_keeps_every_acknowledged_byte_and_resumes() {
    let mut s = Server::builder().chunk_size(64 * 1024).start();
    let data = pattern(2_000_000, 9);
    let link = s.create_guest_link(&link_json(None, Some(1)));
    let r = s
        .request("POST", &format!("/api/guest/{link}/tus/"))
        .header("Tus-Resumable", TUS)
        .header("Upload-Length", "2000000")
        .header("Upload-Metadata", &meta(&[("filename", "k.bin")]))
        .send();
    assert_eq!(r.status, 201, "{r:?}");
    let url = r.header("Location").unwrap().to_owned();
    let guest_patch = |s: &Server, from: usize, to: usize| {
        s.request("PATCH", &url)
            .header("Tus-Resumable", TUS)
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", &from.to_string())
            .body(data[from..to].to_vec())
            .send()
    };
    let r = guest_patch(&s, 0, 700_001);
    assert_eq!(r.header("Upload-Offset"), Some("700001"));
    // A second request is mid-body when the server dies.
    let mut t = begin_body(s.addr, &patch_head(&s, &url, 700_001, 1_299_999)).unwrap();
    t.write_all(&data[700_001..1_200_000]).unwrap();
    t.flush().unwrap();
    assert!(wait_until(Duration::from_secs(10), || {
        row(&s, &url).is_some_and(|(o, _)| o > 700_001)
    }));
    s.kill9();
    drop(t);
    s.start_again();
    // What was acknowledged (the first answer's 700,001) is there, and at most what arrived.
    let offset = curl_offset_guest(&s, &url);
    assert!((700_001..=1_200_000).contains(&offset), "{offset}");
    // The upload still holds the link's only slot after the restart.
    let r = s
        .request("POST", &format!("/api/guest/{link}/tus/"))
        .header("Tus-Resumable", TUS)
        .header("Upload-Length", "10")
        .header("Upload-Metadata", &meta(&[("filename", "x")]))
        .send();
    assert_eq!(r.status, 401, "{r:?}");
    let r = guest_patch(&s, offset as usize, data.len());
    assert_eq!(r.status, 204, "{r:?}");
    let id = r.header("PicoShare-Entry-Id").unwrap();
    assert!(
        s.get(&format!("/-{id}")).send().body == data,
        "byte-identical"
    );
}

#[track_caller]
fn curl_offset_guest(s: &Server, url: &str) -> u64 {
    let r = s.request("HEAD", url).header("Tus-Resumable", TUS).send();
    assert_eq!(r.status, 200, "{r:?}");
    r.header("Upload-Offset").unwrap().parse().unwrap()
}

#[test]
fn issue_19_the_collector_removes_an_abandoned_upload_after_its_expiry() {
    let mut s = Server::builder()
        .chunk_size(64 * 1024)
        .arg("--tus-expiry")
        .arg("2")
        .gc_interval(1)
        .start();
    let data = pattern(300_000, 10);
    let r = tus_curl(&s, "POST", "/api/tus/")
        .header("Upload-Length", "1000000")
        .header("Upload-Metadata", &meta(&[("filename", "gone.bin")]))
        .send();
    let url = r.header("Location").unwrap().to_owned();
    let r = tus_curl(&s, "PATCH", &url)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body(data)
        .send();
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(s.count("SELECT COUNT(*) FROM entries_data"), 4);
    // A finished file beside it is not touched.
    let kept = s.put_file(b"kept", "kept.txt");
    s.wait_for_log("1 abandoned resumable upload(s)", Duration::from_secs(20));
    assert_eq!(row(&s, &url), None);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM entries_data"),
        1,
        "only kept.txt's"
    );
    assert_eq!(s.get(&format!("/-{kept}")).send().text(), "kept");
    let r = tus_curl(&s, "HEAD", &url).send();
    assert_eq!(r.status, 404);
    // A restart finds nothing to collect.
    s.restart();
    assert_eq!(s.count("SELECT COUNT(*) FROM rs_tus_uploads"), 0);
}

/// Bytes free on the filesystem holding `path`.
fn free_bytes(path: &std::path::Path) -> u64 {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: statvfs writes only into the zeroed struct; `c` is a valid C string.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut st) }, 0);
    st.f_bavail as u64 * st.f_frsize as u64
}

#[test]
fn issue_19_a_full_disk_refuses_what_cannot_fit_and_keeps_what_was_acknowledged() {
    let Some(disk) = small_disk(48) else {
        return;
    };
    let s = Server::builder()
        .in_dir(TempDir::new("fulldisk-tus"))
        .chunk_size(64 * 1024)
        .db_name(disk.path.join("store.db").to_str().unwrap())
        .start();
    let post = |length: u64| {
        tus_curl(&s, "POST", "/api/tus/")
            .header("Upload-Length", &length.to_string())
            .header("Upload-Metadata", &meta(&[("filename", "big.bin")]))
            .send()
    };
    // Cannot fit at all: refused when created, nothing stored.
    let r = post(100 << 20);
    assert_eq!(r.status, 507, "{r:?}");
    assert!(
        r.message()
            .starts_with("not enough disk space for this upload"),
        "{r:?}"
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM rs_tus_uploads"), 0);
    // Fits when created and when its PATCH starts; then something else takes the disk.
    let size = 20 << 20;
    let data = pattern(size, 44);
    let r = post(size as u64);
    assert_eq!(r.status, 201, "{r:?}");
    let url = r.header("Location").unwrap().to_owned();
    let mut t = begin_body(s.addr, &patch_head(&s, &url, 0, size)).expect("100 Continue");
    let filler = disk.path.join("filler");
    let leave = 6 << 20;
    let take = free_bytes(&disk.path).saturating_sub(leave);
    std::fs::write(&filler, vec![0u8; take as usize]).unwrap();
    // The server answers 507 part-way; what it read before the disk filled is kept.
    let _ = t.write_all(&data);
    let answer = read_head(&mut t);
    assert!(answer.starts_with("HTTP/1.1 507"), "{answer:?}");
    drop(t);
    assert_eq!(integrity_check(&s.db()), "ok");
    assert_eq!(s.get("/login").send().status, 200, "still serving");
    let (offset, tail) = row(&s, &url).expect("the upload is still there");
    assert!(offset > 0 && offset < size as i64, "{offset}");
    let id: String = s
        .db()
        .query_row(
            "SELECT entry_id FROM rs_tus_uploads WHERE id = ?1",
            [url.rsplit('/').next().unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    let stored = stored_bytes(&s.db(), &id);
    assert_eq!(
        stored.len() as i64,
        offset - tail,
        "whole chunks, then the tail"
    );
    assert!(stored[..] == data[..stored.len()], "the file's first bytes");
    // Space again: resume from HEAD to the end.
    std::fs::remove_file(&filler).unwrap();
    let offset = curl_offset(&s, &url) as usize;
    let r = tus_curl(&s, "PATCH", &url)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", &offset.to_string())
        .body(data[offset..].to_vec())
        .send();
    assert_eq!(r.status, 204, "{r:?}");
    let id = r.header("PicoShare-Entry-Id").unwrap();
    assert!(
        s.get(&format!("/-{id}")).send().body == data,
        "byte-identical"
    );
}

#[test]
fn issue_19_a_guest_upload_stops_at_the_guests_disk_floor_and_keeps_what_it_acknowledged() {
    let Some(disk) = small_disk(128) else {
        return;
    };
    // Sizes leave room for the WAL: since issue 18 a checkpoint thread folds it back, so
    // when that thread lags the WAL holds up to Config::wal_max_bytes, at most an eighth of
    // the free disk (16 MiB of this one at the start: 16 MiB when this failed) plus what a
    // lagging checkpoint lets through (issue 18 saw 24 MiB with a 16 MiB bound) of
    // acknowledged bytes a second time, and bytes written into WAL space
    // already on disk take no new disk until folded back. The floor check counts the file's
    // bytes, so the floor can be undershot by that much, and as much more than the 8 MiB
    // above the floor can be acknowledged before the 507 (a 16 MiB file on a 48 MiB disk
    // failed one run in four on a loaded machine).
    let floor: u64 = 24 << 20;
    let s = Server::builder()
        .in_dir(TempDir::new("fulldisk-tus-guest"))
        .chunk_size(64 * 1024)
        .arg("--guest-disk-floor")
        .arg(&floor.to_string())
        .arg("--admin-disk-floor")
        .arg("0")
        .db_name(disk.path.join("store.db").to_str().unwrap())
        .start();
    let link = s.create_guest_link(&link_json(None, None));
    let size = 40 << 20;
    let data = pattern(size, 45);
    let r = s
        .request("POST", &format!("/api/guest/{link}/tus/"))
        .header("Tus-Resumable", TUS)
        .header("Upload-Length", &size.to_string())
        .header("Upload-Metadata", &meta(&[("filename", "g.bin")]))
        .send();
    assert_eq!(r.status, 201, "{r:?}");
    let url = r.header("Location").unwrap().to_owned();
    let head = format!(
        "PATCH {url} HTTP/1.1\r\nHost: {}\r\nTus-Resumable: 1.0.0\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n\
         Content-Length: {size}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        s.addr
    );
    let mut t = begin_body(s.addr, &head).expect("100 Continue: it fits when it starts");
    // Something else takes the disk: 8 MiB of the file fit above the floor, not 40.
    let filler = disk.path.join("filler");
    let take = free_bytes(&disk.path).saturating_sub(floor + (8 << 20));
    std::fs::write(&filler, vec![0u8; take as usize]).unwrap();
    let _ = t.write_all(&data);
    let answer = read_head(&mut t);
    assert!(answer.starts_with("HTTP/1.1 507"), "{answer:?}");
    drop(t);
    // The check counts the file's bytes before each write; SQLite's own growth beside them
    // (its log, a page's rounding) is what a floor leaves room for: the WAL's bound above.
    assert!(
        free_bytes(&disk.path) >= floor - (17 << 20),
        "the floor stays free but for the WAL's bound: {}",
        free_bytes(&disk.path)
    );
    let (offset, _) = row(&s, &url).expect("the upload is still there");
    assert!(offset > 0 && offset < size as i64, "{offset}");
    std::fs::remove_file(&filler).unwrap();
    let offset = curl_offset_guest(&s, &url) as usize;
    let r = s
        .request("PATCH", &url)
        .header("Tus-Resumable", TUS)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", &offset.to_string())
        .body(data[offset..].to_vec())
        .send();
    assert_eq!(r.status, 204, "{r:?}");
    let id = r.header("PicoShare-Entry-Id").unwrap();
    assert!(
        s.get(&format!("/-{id}")).send().body == data,
        "byte-identical"
    );
}
