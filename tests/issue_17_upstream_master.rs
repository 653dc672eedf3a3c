//! Issue 17, keeping up with PicoShare's master (`../shared/spec/picoshare-upstream-2026.md`):
//! schema version 16 (a 15 database is upgraded in place with the Go-written rows intact, a
//! newer or different one is refused with exit status 2 and left byte-identical), the shared
//! secret's validation at start-up, and per-file download passphrases on a version-16
//! database prepared from the PicoShare fixture.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::*;

/// Every row PicoShare wrote to the fixture, table by table, as text (chunks as hashes), so a
/// copy can be compared before and after our server opened it.
fn go_rows(db: &Path) -> BTreeMap<&'static str, Vec<String>> {
    let c = open_db(db);
    let mut out = BTreeMap::new();
    for (table, sql) in [
        (
            "entries",
            "SELECT id, filename, content_type, upload_time, expiration_time, \
             guest_link_id, note FROM entries ORDER BY id",
        ),
        (
            "entries_data",
            "SELECT id, chunk_index, chunk FROM entries_data ORDER BY id, chunk_index",
        ),
        (
            "downloads",
            "SELECT entry_id, download_timestamp, client_ip, user_agent FROM downloads \
             ORDER BY rowid",
        ),
        (
            "guest_links",
            "SELECT id, label, max_file_bytes, max_file_uploads, creation_time, \
             url_expiration_time, file_expiration_time, is_disabled FROM guest_links ORDER BY id",
        ),
        (
            "settings",
            "SELECT id, default_expiration_in_days FROM settings",
        ),
    ] {
        let mut st = c.prepare(sql).unwrap();
        let n = st.column_count();
        let rows = st
            .query_map([], |r| {
                let mut cells = Vec::new();
                for i in 0..n {
                    use rusqlite::types::ValueRef;
                    cells.push(match r.get_ref(i)? {
                        ValueRef::Null => "NULL".to_owned(),
                        ValueRef::Integer(v) => v.to_string(),
                        ValueRef::Real(v) => v.to_string(),
                        ValueRef::Text(t) => format!("{:?}", String::from_utf8_lossy(t)),
                        ValueRef::Blob(b) => format!("blob:{}", sha256_hex(b)),
                    });
                }
                Ok(cells.join("|"))
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        out.insert(table, rows);
    }
    out
}

fn file_sha(p: &Path) -> String {
    sha256_hex(&std::fs::read(p).expect("read database file"))
}

fn user_version(db: &Path) -> i64 {
    count(&open_db(db), "PRAGMA user_version")
}

/// Starts the binary on `db` (with `envs` on top of a clean environment and a valid secret
/// unless `envs` sets one) and waits for it to exit; fails the test if it is still running
/// after 20 s, i.e. if it started serving instead of refusing.
fn run_to_exit(dir: &Path, db: &Path, envs: &[(&str, &OsStr)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("-db")
        .arg(db)
        .args(["--listen", "127.0.0.1", "--port", "0"])
        .current_dir(dir)
        .env_remove("PORT")
        .env_remove("PS_SHARED_SECRET_FILE")
        .env_remove("PS_BEHIND_PROXY")
        .env_remove("LITESTREAM_BUCKET")
        .env("PS_SHARED_SECRET", SECRET);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    run(&mut cmd, Duration::from_secs(20))
}

/// Asserts a refused start: exit status 2, one line on stderr containing every `words`,
/// nothing listening.
#[track_caller]
fn assert_refused(out: &Output, words: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "exit status; stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr:?}");
    for w in words {
        assert!(stderr.contains(w), "{w:?} in {stderr:?}");
    }
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("listening on"),
        "it must not serve"
    );
    stderr
}

#[test]
fn issue_17_a_15_database_is_upgraded_to_16_in_place_with_the_go_rows_intact() {
    if !require_fixture(&["store.db"]) {
        return;
    }
    let dir = TempDir::new("i17-upgrade");
    let db = dir.join("store.db");
    copy_fixture_db(&db);
    assert_eq!(user_version(&db), 15, "the fixture is PicoShare 1.5's");
    let before = go_rows(&db);
    assert_eq!(before["entries"].len(), 4);

    let mut s = Server::builder().in_dir(dir).start();
    // Served as before: the protection column is NULL for every Go-written row.
    let r = s.get("/-eTrmV2nk9k").send();
    assert_eq!(r.status, 200);
    assert_eq!(
        sha256_hex(&r.body),
        "cb0c5c1ff8a918bc1f61f0087efcee4ed685826f0ec91ceebc22e8cef06d9d35"
    );
    s.stop();

    let db = s.db_path.clone();
    assert_eq!(user_version(&db), 16, "upgraded in place on start");
    let c = open_db(&db);
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM pragma_table_info('entries') WHERE name = 'download_passphrase'"
        ),
        1
    );
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM entries WHERE download_passphrase IS NOT NULL"
        ),
        0,
        "NULL: not protected (never '')"
    );
    let integrity: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    drop(c);
    let after = go_rows(&db);
    assert_eq!(after["entries"], before["entries"]);
    assert_eq!(after["entries_data"], before["entries_data"]);
    assert_eq!(after["guest_links"], before["guest_links"]);
    assert_eq!(after["settings"], before["settings"]);
    assert!(
        after["downloads"].starts_with(&before["downloads"]),
        "PicoShare's download rows kept (ours come after)"
    );
    if let Some(reference) = reference_schema_16() {
        assert_eq!(schema_of(&open_db(&db)), reference);
    }

    // A second start finds a 16 database and opens it as it is.
    s.start_again();
    s.stop();
    assert_eq!(user_version(&db), 16);
    assert_eq!(go_rows(&db)["entries"], before["entries"]);
}

#[test]
fn issue_17_a_newer_or_different_database_is_refused_and_left_byte_identical() {
    if !require_fixture(&["store.db"]) {
        return;
    }
    let dir = TempDir::new("i17-refuse");
    // (what is done to the fixture copy, words the one-line reason must hold)
    let cases: [(&str, &str, &[&str]); 5] = [
        (
            "17",
            "ALTER TABLE entries ADD COLUMN download_passphrase TEXT; PRAGMA user_version = 17;",
            &["version 17"],
        ),
        // In rollback-journal mode, where merely opening it for writing (which switches it to
        // WAL) would rewrite its header.
        (
            "17-rollback-journal",
            "ALTER TABLE entries ADD COLUMN download_passphrase TEXT; PRAGMA user_version = 17; \
             PRAGMA journal_mode = DELETE;",
            &["version 17"],
        ),
        (
            "16-fork",
            "ALTER TABLE entries ADD COLUMN download_passphrase_hash TEXT; \
             PRAGMA user_version = 16;",
            &["version 16", "entries"],
        ),
        (
            "16-extra-table",
            "ALTER TABLE entries ADD COLUMN download_passphrase TEXT; \
             CREATE TABLE friendly_links (id TEXT PRIMARY KEY, entry_id TEXT) STRICT; \
             PRAGMA user_version = 16;",
            &["version 16", "friendly_links"],
        ),
        (
            "15-missing-index",
            "DROP INDEX idx_entries_data_length;",
            &["version 15", "idx_entries_data_length"],
        ),
    ];
    for (name, sql, words) in cases {
        let db = dir.join(&format!("{name}.db"));
        copy_fixture_db(&db);
        open_db(&db).execute_batch(sql).unwrap();
        if name.contains("rollback") {
            let mode: String = open_db(&db)
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap();
            assert_eq!(mode, "delete");
        }
        let sha = file_sha(&db);
        let out = run_to_exit(dir.path(), &db, &[]);
        let line = assert_refused(&out, words);
        eprintln!("{name}: {line}");
        assert_eq!(file_sha(&db), sha, "{name}: the file's bytes are unchanged");
    }
}

#[test]
fn issue_17_the_shared_secret_is_validated_at_start_up() {
    let dir = TempDir::new("i17-secret");
    let db = dir.join("store.db");
    let rule = "invalid PS_SHARED_SECRET: passphrase must contain between 1 and 100 Unicode \
                code points";
    let long = "é".repeat(101);
    let out = run_to_exit(dir.path(), &db, &[("PS_SHARED_SECRET", OsStr::new(&long))]);
    assert_refused(&out, &[rule]);
    // Not UTF-8, in the environment.
    let out = run_to_exit(
        dir.path(),
        &db,
        &[("PS_SHARED_SECRET", OsStr::from_bytes(b"caf\xe9"))],
    );
    assert_refused(&out, &[&format!("{rule}: invalid UTF-8")]);
    // From a file: not UTF-8, a NUL (the environment cannot hold one), too long.
    let file = dir.join("secret");
    for (bytes, words) in [
        (&b"caf\xe9\n"[..], format!("{rule}: invalid UTF-8")),
        (b"ab\0cd\n", format!("{rule}: NUL bytes are not allowed")),
        (long.as_bytes(), rule.to_owned()),
    ] {
        std::fs::write(&file, bytes).unwrap();
        let out = run_to_exit(
            dir.path(),
            &db,
            &[("PS_SHARED_SECRET_FILE", file.as_os_str())],
        );
        assert_refused(&out, &[&words, "PS_SHARED_SECRET_FILE"]);
    }
    assert!(!db.exists(), "nothing was created");

    // 100 code points are fine, and so is the random one made when none is set.
    let mut s = Server::builder().secret(Some(&"é".repeat(100))).start();
    s.login_with(&"é".repeat(100));
    s.stop();
    let mut s = Server::builder().secret(None).start();
    let line = s
        .stdout_lines()
        .into_iter()
        .find(|l| l.contains("admin passphrase is: "))
        .expect("the generated passphrase is printed");
    let generated = line.rsplit("admin passphrase is: ").next().unwrap().trim();
    assert!((1..=100).contains(&generated.chars().count()));
    s.login_with(generated);
    s.stop();
}

// ---------------------------------------------------------------------------------------------
// Download passphrases.

/// The fixture's 1 MiB file (four chunks, two download rows), protected below.
const PROTECTED: &str = "eTrmV2nk9k";
const PROTECTED_SHA: &str = "cb0c5c1ff8a918bc1f61f0087efcee4ed685826f0ec91ceebc22e8cef06d9d35";
const PROTECTED_NAME: &str = "random-1MiB.bin";
/// Non-ASCII, with spaces at both ends: kept exactly as typed.
const PASSPHRASE: &str = " Sesam, öffne dich! ";
/// An unprotected fixture entry.
const OPEN: &str = "dt6kCU7dVu";

/// A version-16 database as PicoShare's master leaves it, prepared from the PicoShare fixture:
/// migration 016 applied, one entry protected, `user_version = 16`; then a server on it.
fn server_on_a_16_fixture() -> Option<Server> {
    if !require_fixture(&["store.db"]) {
        return None;
    }
    let dir = TempDir::new("i17-fixture-16");
    let db = dir.join("store.db");
    copy_fixture_db(&db);
    let c = open_db(&db);
    c.execute_batch(MIGRATION_016).unwrap();
    let n = c
        .execute(
            "UPDATE entries SET download_passphrase = ?1 WHERE id = ?2",
            [PASSPHRASE, PROTECTED],
        )
        .unwrap();
    assert_eq!(n, 1);
    c.pragma_update(None, "user_version", 16).unwrap();
    drop(c);
    // Every transfer counts, as in PicoShare (issue 16 coalesces repeats by default), so the
    // tests can count one row per request.
    Some(
        Server::builder()
            .in_dir(dir)
            .arg("--history-coalesce")
            .arg("0")
            .start(),
    )
}

/// The history rows of [`PROTECTED`] once there are `want` (they are written just after the
/// answers), or after 10 s.
fn protected_rows(s: &Server, want: i64) -> i64 {
    wait_until(Duration::from_secs(10), || s.downloads(PROTECTED) >= want);
    s.downloads(PROTECTED)
}

/// `POST path` with a form body (`application/x-www-form-urlencoded`).
fn post_form(s: &Server, path: &str, body: &str) -> Resp {
    s.request("POST", path)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.as_bytes().to_vec())
        .send()
}

fn unlock(s: &Server, id: &str, passphrase: &str) -> Resp {
    post_form(
        s,
        &format!("/-{id}/unlock"),
        &format!("passphrase={}", query_encode(passphrase)),
    )
}

#[track_caller]
fn assert_page_csp(r: &Resp) {
    let csp = r.header("content-security-policy").unwrap_or("");
    assert!(
        csp.starts_with("default-src 'self'; script-src 'self' 'nonce-"),
        "page CSP, got {csp:?}"
    );
}

fn stored_passphrase(s: &Server, id: &str) -> Option<String> {
    s.db()
        .query_row(
            "SELECT download_passphrase FROM entries WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn issue_17_a_protected_entry_redirects_visitors_unlocks_with_its_passphrase_only() {
    let Some(mut s) = server_on_a_16_fixture() else {
        return;
    };
    let history = s.downloads(PROTECTED);

    // A visitor is sent to the unlock page from every download address; nothing is served.
    for path in [
        format!("/-{PROTECTED}"),
        format!("/-{PROTECTED}/{PROTECTED_NAME}"),
        format!("/!{PROTECTED}"),
    ] {
        for method in ["GET", "HEAD"] {
            let r = s.request(method, &path).send();
            assert_eq!(r.status, 302, "{method} {path}");
            let to_unlock = format!("/-{PROTECTED}/unlock");
            assert_eq!(r.header("location"), Some(to_unlock.as_str()));
            assert_eq!(r.header("cache-control"), Some("no-store"));
            assert_eq!(r.header("content-length"), Some("0"), "{method} {path}");
        }
    }

    // The unlock page: one password field posting back to itself; the file is not named.
    let r = s.get(&format!("/-{PROTECTED}/unlock")).send();
    assert_eq!(r.status, 200);
    assert_page_csp(&r);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let page = r.text();
    assert!(page.contains("<title>PicoShare - Protected Download</title>"));
    assert!(page.contains("<h1>Protected Download</h1>"));
    assert!(page.contains(&format!(
        "<form id=\"unlock-form\" method=\"post\" action=\"/-{PROTECTED}/unlock\">"
    )));
    assert!(page.contains(
        "<label for=\"passphrase\">Passphrase</label><input type=\"password\" \
         id=\"passphrase\" name=\"passphrase\""
    ));
    assert!(page.contains(">Download</button>"));
    assert!(
        !page.contains(PROTECTED_NAME),
        "the page does not name the file"
    );

    // Wrong: 401 and the page again; nothing recorded, no cookie.
    for wrong in [" Sesam, öffne dich!", "sesam, öffne dich! ", "x", ""] {
        let r = unlock(&s, PROTECTED, wrong);
        assert_eq!(r.status, 401, "{wrong:?}");
        assert!(r.text().contains("Incorrect passphrase."));
        assert_page_csp(&r);
        assert!(r.header("set-cookie").is_none());
    }
    assert_eq!(s.downloads(PROTECTED), history, "nothing recorded");

    // Right: the file itself in the answer, sandboxed, not cached, recorded once; no cookie.
    let r = unlock(&s, PROTECTED, PASSPHRASE);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(sha256_hex(&r.body), PROTECTED_SHA);
    assert_eq!(r.header("content-security-policy"), Some("sandbox"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(r
        .header("content-disposition")
        .is_some_and(|d| d.contains(PROTECTED_NAME)));
    assert!(
        r.header("set-cookie").is_none(),
        "no cookie: every download asks again"
    );
    assert_eq!(protected_rows(&s, history + 1), history + 1);
    assert_eq!(s.get(&format!("/-{PROTECTED}")).send().status, 302);

    // A Range applies to the unlock answer, so a broken transfer can resume.
    let r = s
        .request("POST", &format!("/-{PROTECTED}/unlock"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Range", "bytes=1000000-")
        .body(format!("passphrase={}", query_encode(PASSPHRASE)).into_bytes())
        .send();
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some("bytes 1000000-1048575/1048576")
    );
    assert_eq!(r.body.len(), 48_576);
    let whole = unlock(&s, PROTECTED, PASSPHRASE).body;
    assert_eq!(r.body, whole[1_000_000..]);

    // Malformed or too large forms: 400.
    let long = format!("passphrase={}", "a".repeat(4100));
    for body in ["passphrase=%zz", "passphrase=%4", long.as_str()] {
        let r = post_form(&s, &format!("/-{PROTECTED}/unlock"), body);
        assert_eq!(r.status, 400, "{}", &body[..body.len().min(20)]);
        assert_page_csp(&r);
    }
    let r = s
        .request("POST", &format!("/-{PROTECTED}/unlock"))
        .header("Content-Type", "application/json")
        .body(br#"{"passphrase":"x"}"#.to_vec())
        .send();
    assert_eq!(r.status, 400);

    // The owner downloads directly (Range works), never cached; the unlock page sends them on.
    let r = s.get(&format!("/-{PROTECTED}")).auth().send();
    assert_eq!(r.status, 200);
    assert_eq!(sha256_hex(&r.body), PROTECTED_SHA);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("content-security-policy"), Some("sandbox"));
    let r = s
        .get(&format!("/-{PROTECTED}/{PROTECTED_NAME}"))
        .auth()
        .header("Range", "bytes=0-9")
        .send();
    assert_eq!(r.status, 206);
    assert_eq!(r.body, whole[..10]);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let r = s.get(&format!("/-{PROTECTED}/unlock")).auth().send();
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some(format!("/-{PROTECTED}").as_str())
    );

    // An unprotected file: served as before, and its unlock address leads to it.
    let r = s.get(&format!("/-{OPEN}")).send();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), None);
    let r = s.get(&format!("/-{OPEN}/unlock")).send();
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some(format!("/-{OPEN}").as_str()));
    let r = unlock(&s, OPEN, "anything");
    assert_eq!(r.status, 303);

    // Unknown and malformed ids on the unlock route: 404 and 400, with the page CSP.
    let r = s.get("/-aaaaaaaaaa/unlock").send();
    assert_eq!(r.status, 404);
    assert_page_csp(&r);
    let r = s.get("/-aaaaaaaaa1/unlock").send();
    assert_eq!(r.status, 400);
    assert!(r.message().starts_with("bad entry ID"));
    assert_page_csp(&r);

    // The passphrase in the file is still exactly as PicoShare's master wrote it.
    s.stop();
    let c = open_db(&s.db_path);
    assert_eq!(count(&c, "PRAGMA user_version"), 16);
    let stored: Option<String> = c
        .query_row(
            "SELECT download_passphrase FROM entries WHERE id = ?1",
            [PROTECTED],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored.as_deref(), Some(PASSPHRASE));
}

#[test]
fn issue_17_passphrases_are_set_on_upload_and_changed_or_removed_on_edit() {
    let Some(s) = server_on_a_16_fixture() else {
        return;
    };
    let upload = |passphrase: Option<&[u8]>| {
        let mut m = Multipart::new();
        if let Some(p) = passphrase {
            m.body.extend_from_slice(
                format!(
                    "--{}\r\nContent-Disposition: form-data; name=\"downloadPassphrase\"\r\n\r\n",
                    m.boundary
                )
                .as_bytes(),
            );
            m.body.extend_from_slice(p);
            m.body.extend_from_slice(b"\r\n");
        }
        m.file("file", "up.txt", Some("text/plain"), b"uploaded bytes");
        let (ct, body) = m.finish();
        s.request(
            "POST",
            &format!("/api/entry?expiration={}", query_encode(NEVER)),
        )
        .auth()
        .header("Content-Type", &ct)
        .body(body)
        .send()
    };
    let entries = || s.count("SELECT COUNT(*) FROM entries");
    let before = entries();

    // Set on upload, kept exactly; empty means unprotected (NULL, never '').
    let r = upload(Some(" up pass ".as_bytes()));
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(stored_passphrase(&s, &id).as_deref(), Some(" up pass "));
    assert_eq!(s.get(&format!("/-{id}")).send().status, 302);
    assert_eq!(unlock(&s, &id, " up pass ").body, b"uploaded bytes");
    let r = upload(Some(b""));
    let open_id = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(stored_passphrase(&s, &open_id), None);
    let r = upload(None);
    assert_eq!(
        stored_passphrase(&s, r.json()["id"].as_str().unwrap()),
        None
    );
    assert_eq!(entries(), before + 3);

    // Invalid ones: 400 with PicoShare's message, nothing stored.
    let rule = "passphrase must contain between 1 and 100 Unicode code points";
    let long = "é".repeat(101);
    for (bad, message) in [
        (long.as_bytes(), format!("invalid request: {rule}")),
        (
            b"a\0b",
            format!("invalid request: {rule}: NUL bytes are not allowed"),
        ),
        (
            b"caf\xe9",
            format!("invalid request: {rule}: invalid UTF-8"),
        ),
    ] {
        let r = upload(Some(bad));
        assert_eq!(r.status, 400);
        assert_eq!(r.message(), message);
    }
    assert_eq!(entries(), before + 3, "nothing stored");
    s.assert_spool_empty(Duration::from_secs(2));
    assert_eq!(
        s.count("SELECT COUNT(*) FROM entries_data WHERE id NOT IN (SELECT id FROM entries)"),
        0,
        "no chunks left behind"
    );

    // Guests cannot set one (an empty field is no passphrase).
    let guest = |passphrase: &str| {
        let mut m = Multipart::new();
        m.text("downloadPassphrase", passphrase);
        m.file("file", "g.txt", Some("text/plain"), b"guest bytes");
        let (ct, body) = m.finish();
        s.request("POST", "/api/guest/ZZkAPdHsixtKqbdE")
            .header("Content-Type", &ct)
            .body(body)
            .send()
    };
    let r = guest("secret");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.message(),
        "invalid request: guest uploads cannot have download passphrases"
    );
    assert_eq!(entries(), before + 3);
    assert_eq!(guest("").status, 200);

    // Edit: a string sets it, "" removes it, a missing field keeps it, an invalid one is a
    // 400 that changes nothing.
    let put = |body: serde_json::Value| {
        s.request("PUT", &format!("/api/entry/{open_id}"))
            .auth()
            .json(&body.to_string())
            .send()
    };
    let r = put(serde_json::json!({"filename": "up.txt", "downloadPassphrase": "edited ✓"}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(stored_passphrase(&s, &open_id).as_deref(), Some("edited ✓"));
    assert_eq!(s.get(&format!("/-{open_id}")).send().status, 302);
    let r = put(serde_json::json!({"filename": "renamed.txt", "note": "n"}));
    assert_eq!(r.status, 200);
    assert_eq!(
        stored_passphrase(&s, &open_id).as_deref(),
        Some("edited ✓"),
        "a client that does not know the field keeps the protection"
    );
    let row = entry_row(&s.db(), &open_id).unwrap();
    let r = put(serde_json::json!({"filename": "other.txt", "downloadPassphrase": long}));
    assert_eq!(r.status, 400);
    assert_eq!(r.message(), format!("Bad request: {rule}"));
    assert_eq!(
        entry_row(&s.db(), &open_id).unwrap(),
        row,
        "nothing changed"
    );
    assert_eq!(stored_passphrase(&s, &open_id).as_deref(), Some("edited ✓"));
    let r = put(serde_json::json!({"filename": "renamed.txt", "downloadPassphrase": 5}));
    assert_eq!(r.status, 400);
    let r = put(serde_json::json!({"filename": "renamed.txt", "downloadPassphrase": ""}));
    assert_eq!(r.status, 200);
    assert_eq!(
        stored_passphrase(&s, &open_id),
        None,
        "removed: NULL, not ''"
    );
    assert_eq!(s.get(&format!("/-{open_id}")).send().status, 200);
    put(serde_json::json!({"filename": "renamed.txt", "downloadPassphrase": "again"}));
    let r = put(serde_json::json!({"filename": "renamed.txt", "downloadPassphrase": null}));
    assert_eq!(r.status, 200);
    assert_eq!(stored_passphrase(&s, &open_id), None);
}

#[test]
fn issue_17_the_admin_pages_show_which_files_are_protected() {
    let Some(s) = server_on_a_16_fixture() else {
        return;
    };
    // The list: a lock on the protected file's row only.
    let list = s.get("/files").auth().send().text();
    let rows: Vec<&str> = list.split("<tr ").skip(1).collect();
    assert_eq!(rows.len(), 4, "{list}");
    for row in rows {
        let locked = row.contains("class=\"lock-mark\"");
        assert_eq!(
            locked,
            row.contains(&format!("href=\"/-{PROTECTED}\"")),
            "lock mark only on {PROTECTED}: {row}"
        );
    }
    // The information page.
    let info = s
        .get(&format!("/files/{PROTECTED}/info"))
        .auth()
        .send()
        .text();
    assert!(info.contains(
        "<dt>Passphrase protection</dt><dd class=\"protection\">Protected - Guest users must \
         enter the file's passphrase</dd>"
    ));
    let info = s.get(&format!("/files/{OPEN}/info")).auth().send().text();
    assert!(info.contains("<dt>Passphrase protection</dt><dd class=\"protection\">Not protected"));
    // The edit page: the box ticked and the passphrase filled in (escaped).
    let edit = s
        .get(&format!("/files/{PROTECTED}/edit"))
        .auth()
        .send()
        .text();
    assert!(edit.contains("<input type=\"checkbox\" id=\"passphrase-checkbox\" checked>"));
    assert!(edit.contains("Require guests to enter a passphrase before downloading"));
    assert!(edit.contains(&format!(
        "id=\"download-passphrase\" value=\"{PASSPHRASE}\""
    )));
    let edit = s.get(&format!("/files/{OPEN}/edit")).auth().send().text();
    assert!(edit.contains("<input type=\"checkbox\" id=\"passphrase-checkbox\">"));
    assert!(edit.contains("<div class=\"field\" id=\"passphrase-field\" hidden>"));
    // A passphrase is page text like any other: escaped.
    let r = s
        .request("PUT", &format!("/api/entry/{OPEN}"))
        .auth()
        .json(
            &serde_json::json!({"filename": "x.csv", "downloadPassphrase": "\"><b>x'"}).to_string(),
        )
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    let edit = s.get(&format!("/files/{OPEN}/edit")).auth().send().text();
    assert!(
        edit.contains("value=\"&quot;&gt;&lt;b&gt;x&#39;\""),
        "{edit}"
    );
    assert!(!edit.contains("<b>x"));
    // The upload page offers the field; a guest link's page does not.
    let upload = s.get("/").auth().send().text();
    assert!(upload.contains("id=\"download-passphrase\""));
    let guest = s.get("/g/ZZkAPdHsixtKqbdE").send().text();
    assert!(!guest.contains("download-passphrase"));
}

#[test]
fn issue_17_unlock_attempts_are_throttled_per_address_like_logins() {
    let Some(s) = server_on_a_16_fixture() else {
        return;
    };
    let before = s.downloads(PROTECTED);
    // Five free wrong guesses, then the right passphrase still works.
    for _ in 0..5 {
        assert_eq!(unlock(&s, PROTECTED, "guess").status, 401);
    }
    assert_eq!(unlock(&s, PROTECTED, PASSPHRASE).status, 200);
    assert_eq!(protected_rows(&s, before + 1), before + 1);
    // Knowing the passphrase did not reset the count: the next wrong guesses are throttled.
    let mut throttled = None;
    for _ in 0..4 {
        let r = unlock(&s, PROTECTED, "guess");
        if r.status == 429 {
            throttled = Some(r);
            break;
        }
        assert_eq!(r.status, 401);
    }
    let r = throttled.expect("429 after more than five wrong guesses");
    let wait: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(r.text().contains("Too many attempts"));
    assert_page_csp(&r);
    // While throttled even the right passphrase gets nothing, and nothing is recorded.
    let history = s.downloads(PROTECTED);
    let r = unlock(&s, PROTECTED, PASSPHRASE);
    assert_eq!(r.status, 429);
    assert!(r.body.len() < 10_000, "no file bytes");
    assert_eq!(s.downloads(PROTECTED), history);
    // The admin's login has its own throttle.
    let admin = s.login();
    // A download recorded after them: once its row is there, any row of the 429s would be.
    let r = s
        .get(&format!("/-{PROTECTED}"))
        .header("Cookie", &admin)
        .send();
    assert_eq!(r.status, 200);
    assert_eq!(
        protected_rows(&s, history + 1),
        history + 1,
        "nothing from the 429"
    );
}

#[test]
fn issue_17_entries_with_older_shorter_ids_are_listed_and_served() {
    if !require_fixture(&["store.db"]) {
        return;
    }
    let dir = TempDir::new("i17-legacy-id");
    let db = dir.join("store.db");
    copy_fixture_db(&db);
    let c = open_db(&db);
    // An entry as an older PicoShare might have written it: same row, a shorter id with
    // characters today's alphabet leaves out.
    for table in ["entries_data", "downloads"] {
        let column = if table == "downloads" {
            "entry_id"
        } else {
            "id"
        };
        c.execute(
            &format!("UPDATE {table} SET {column} = 'old1Id' WHERE {column} = ?1"),
            [OPEN],
        )
        .unwrap();
    }
    c.execute("UPDATE entries SET id = 'old1Id' WHERE id = ?1", [OPEN])
        .unwrap();
    drop(c);
    let s = Server::builder().in_dir(dir).start();
    let list = s.get("/files").auth().send();
    assert_eq!(list.status, 200);
    assert!(list.text().contains("href=\"/-old1Id\""));
    let r = s.get("/-old1Id").send();
    assert_eq!(r.status, 200);
    assert_eq!(
        sha256_hex(&r.body),
        "911b6e9518a2fb4e7bd5150b05770148f1c352b7838098ba75809f58fe9d6785"
    );
    assert_eq!(s.get("/-old1Id/données-été.csv").send().status, 200);
    assert_eq!(s.get("/files/old1Id/info").auth().send().status, 200);
    assert_eq!(s.get("/files/old1Id/edit").auth().send().status, 200);
    // An id of that shape that names nothing is still PicoShare's 400.
    let r = s.get("/-old2Id").send();
    assert_eq!(r.status, 400);
    assert!(r.message().starts_with("bad entry ID"));
    let r = s.request("DELETE", "/api/entry/old1Id").auth().send();
    assert_eq!(r.status, 200);
    assert_eq!(s.get("/-old1Id").send().status, 400, "gone");
}
