//! Issue 7: hostile names, notes and labels — markup, quotes, ampersands — are escaped in every
//! page that shows them, and in the download's `Content-Disposition` header.

mod common;

use std::time::Duration;

use common::*;

const NAME: &str = "<img src=x onerror=alert(1)>\"'&.txt";
const NOTE: &str = "<b onmouseover=\"alert(2)\">hi</b> & 'quotes' \"too\"";
const LABEL: &str = "<svg onload=alert(3)>\"'&";

/// Fails if any raw markup of ours reached the HTML.
fn assert_escaped(page: &str, html: &str) {
    for raw in [
        "<img src=x",
        "<b onmouseover",
        "<svg onload",
        "onerror=alert(1)>\"",
    ] {
        assert!(
            !html.contains(raw),
            "{page}: raw markup {raw:?} in the HTML"
        );
    }
}

#[test]
fn issue_7_markup_in_names_notes_and_labels_is_escaped_everywhere() {
    let s = Server::start();
    let id = s.upload_ok(&Upload::new(b"hostile", NAME).note(NOTE));
    let r = s
        .request("POST", "/api/guest-links")
        .auth()
        .json(&format!(
            "{{\"label\": {}, \"urlExpirationTime\": \"{NEVER}\", \"fileLifetime\": \"876000h0m0s\"}}",
            serde_json::Value::String(LABEL.into())
        ))
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    let link = r.json()["id"].as_str().expect("link id").to_owned();
    // A download, so the history page has a row (with a hostile User-Agent too).
    let d = s
        .get(&format!("/-{id}"))
        .header("User-Agent", "<script>alert(4)</script>")
        .send();
    assert_eq!(d.status, 200);
    // Its history row is written just after the answer (issue 16): wait for it.
    assert!(wait_until(Duration::from_secs(5), || s.downloads(&id) == 1));

    let pages = [
        "/".to_owned(),
        "/files".to_owned(),
        format!("/files/{id}/info"),
        format!("/files/{id}/edit"),
        format!("/files/{id}/confirm-delete"),
        format!("/files/{id}/downloads"),
        "/guest-links".to_owned(),
        format!("/g/{link}"),
        "/settings".to_owned(),
        "/information".to_owned(),
    ];
    let mut shown = 0;
    for page in &pages {
        let r = s.get(page).auth().send();
        assert_eq!(r.status, 200, "{page}");
        let html = r.text();
        assert_escaped(page, &html);
        assert!(!html.contains("<script>alert(4)"), "{page}: raw User-Agent");
        if html.contains("&lt;img src=x onerror=alert(1)&gt;") {
            shown += 1;
        }
        if html.contains("&lt;b onmouseover=") {
            shown += 1;
        }
        if html.contains("&lt;svg onload=alert(3)&gt;") {
            shown += 1;
        }
    }
    assert!(
        shown >= 4,
        "the escaped values are actually shown ({shown} places)"
    );

    // The header: a quote in the name cannot end the filename parameter early.
    let cd = d
        .header("content-disposition")
        .expect("disposition")
        .to_owned();
    let rest = cd
        .strip_prefix("inline; filename=\"")
        .expect("inline, quoted name");
    let (fallback, after) = rest.split_once('"').expect("closing quote");
    assert!(
        after.starts_with("; filename*=UTF-8''"),
        "the quoted name ends where it should: {cd}"
    );
    assert!(
        !fallback.contains('\\'),
        "no backslash escapes to misparse: {cd}"
    );
    assert!(cd.contains("filename*=UTF-8''%3Cimg%20src%3Dx"), "{cd}");
}
