//! Issue 19: real third-party tus clients against the real binary — tus-js-client in Node
//! (tests/tus-clients/upload.mjs) and tuspy (tests/tus-clients/upload.py) — upload files of
//! several sizes, one above 100 MB in 20 MB PATCHes, byte-identical; a client killed
//! mid-upload resumes from HEAD; tus-js-client rides out a server killed with SIGKILL and
//! started again. Both clients are installed on first need (scripts/install-test-tools.sh);
//! `PICOSHARE_TEST_SKIP=tus-js-client,tuspy` skips these tests instead.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// Which client.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Js,
    Py,
}

struct Client {
    kind: Kind,
    /// node, or the venv's python.
    program: PathBuf,
}

impl Client {
    #[track_caller]
    fn get(kind: Kind) -> Option<Client> {
        let program = match kind {
            Kind::Js => tus_js_client()?,
            Kind::Py => tuspy()?,
        };
        Some(Client { kind, program })
    }

    /// Starts the client with its options (see the scripts' headers).
    fn start(&self, options: &Value) -> Running {
        let script = repo_path(match self.kind {
            Kind::Js => "tests/tus-clients/upload.mjs",
            Kind::Py => "tests/tus-clients/upload.py",
        });
        let mut child = Command::new(&self.program)
            .arg(script)
            .arg(options.to_string())
            .current_dir(repo_path("tests/tus-clients"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.program.display()));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let event = serde_json::from_str(&line).unwrap_or(json!({ "line": line }));
                if tx.send(event).is_err() {
                    break;
                }
            }
        });
        Running {
            kind: self.kind,
            child,
            events: rx,
            seen: Vec::new(),
        }
    }
}

/// A client process and what it printed so far.
struct Running {
    kind: Kind,
    child: Child,
    events: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl Running {
    /// Waits for an event `f` accepts and returns it (panics after `within`, or if the client
    /// ends first).
    #[track_caller]
    fn wait_for(&mut self, within: Duration, f: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(e) => {
                    self.seen.push(e.clone());
                    if f(&e) {
                        return e;
                    }
                }
                Err(_) => {
                    let stderr = self.stderr();
                    panic!(
                        "{:?} client: no such event within {within:?}; saw {:?}\n{stderr}",
                        self.kind, self.seen
                    )
                }
            }
        }
    }

    /// Waits for the end: the `success` event (or panics with the client's `error`).
    #[track_caller]
    fn success(&mut self, within: Duration) -> Value {
        let end = self.wait_for(within, |e| e["event"] == "success" || e["event"] == "error");
        assert_eq!(
            end["event"], "success",
            "{:?} client failed: {end}",
            self.kind
        );
        let _ = self.child.wait();
        end
    }

    /// The events seen so far named `name`.
    fn named(&self, name: &str) -> Vec<&Value> {
        self.seen.iter().filter(|e| e["event"] == name).collect()
    }

    /// SIGKILL: the client vanishes mid-request.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn stderr(&mut self) -> String {
        use std::io::Read;
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            let mut s = String::new();
            if let Some(e) = self.child.stderr.as_mut() {
                let _ = e.read_to_string(&mut s);
            }
            s
        } else {
            String::new()
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The options every upload shares: as the admin, to `s`'s creation URL.
fn admin_upload(s: &Server, file: &Path, chunk: u64, metadata: Value) -> Value {
    json!({
        "endpoint": s.url("/api/tus/"),
        "file": file,
        "chunkSize": chunk,
        "headers": { "Cookie": s.login() },
        "metadata": metadata,
    })
}

/// Downloads file `id` into the server's folder and compares it with `original`.
#[track_caller]
fn assert_downloads_as(s: &Server, id: &str, original: &Path) {
    assert_valid_id(id);
    let back = s.tmpdir.join(&format!("download-{id}"));
    let r = s.get(&format!("/-{id}")).output(&back).send();
    assert_eq!(r.status, 200, "{r:?}");
    assert!(same_file_bytes(&back, original), "{id}: not byte-identical");
    let _ = std::fs::remove_file(back);
}

fn several_sizes(kind: Kind) {
    let Some(client) = Client::get(kind) else {
        return;
    };
    let s = Server::start();
    let chunk = 327_680u64;
    // Around the server's chunk size, a few PATCHes, and more than 100 MB in 20 MB PATCHes.
    for (size, patch) in [
        (1usize, 1_000_000u64),
        (chunk as usize - 1, 1_000_000),
        (chunk as usize + 1, 1_000_000),
        (3_000_000, 1_000_000),
        (105_000_000, 20_000_000),
    ] {
        let file = s.tmpdir.join(&format!("{kind:?}-{size}.bin"));
        write_pattern_file(&file, size, size as u64);
        let name = format!("{kind:?} {size}.bin");
        let mut run = client.start(&admin_upload(
            &s,
            &file,
            patch,
            json!({ "filename": name, "filetype": "application/x-test" }),
        ));
        let done = run.success(Duration::from_secs(300));
        let id = done["entryId"]
            .as_str()
            .expect("PicoShare-Entry-Id")
            .to_owned();
        assert_downloads_as(&s, &id, &file);
        let row = entry_row(&s.db(), &id).expect("entries row");
        assert_eq!(
            (row.filename.as_str(), row.content_type.as_str()),
            (name.as_str(), "application/x-test")
        );
        let patches = run.named("chunk").len() as u64;
        assert_eq!(
            patches,
            (size as u64).div_ceil(patch),
            "{size}: PATCHes of {patch}"
        );
        let _ = std::fs::remove_file(file);
    }
    // Through a guest link with a 2 MiB cap: a file within it lands as the link's; one above
    // it is refused at creation (413), before any byte is sent.
    let link = s.create_guest_link(
        &json!({
            "label": "clients",
            "urlExpirationTime": in_days(2),
            "fileLifetime": "24h0m0s",
            "maxFileBytes": 2 << 20,
        })
        .to_string(),
    );
    let file = s.tmpdir.join("guest.bin");
    write_pattern_file(&file, 1_500_000, 4);
    let guest = |file: &Path| {
        json!({
            "endpoint": s.url(&format!("/api/guest/{link}/tus/")),
            "file": file,
            "chunkSize": 1_000_000,
            "metadata": { "filename": "guest.bin" },
        })
    };
    let mut run = client.start(&guest(&file));
    let id = run.success(Duration::from_secs(60))["entryId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_downloads_as(&s, &id, &file);
    assert_eq!(
        entry_row(&s.db(), &id).unwrap().guest_link_id.as_deref(),
        Some(link.as_str())
    );
    let big = s.tmpdir.join("too-big.bin");
    write_pattern_file(&big, (2 << 20) + 1, 5);
    let mut run = client.start(&guest(&big));
    let end = run.wait_for(Duration::from_secs(60), |e| {
        e["event"] == "error" || e["event"] == "success"
    });
    assert_eq!(end["event"], "error", "{end}");
    assert!(end["message"].as_str().unwrap().contains("413"), "{end}");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM rs_tus_uploads WHERE completion_time IS NULL"),
        0
    );
}

#[test]
fn issue_19_tus_js_client_uploads_files_of_several_sizes() {
    several_sizes(Kind::Js);
}

#[test]
fn issue_19_tuspy_uploads_files_of_several_sizes() {
    several_sizes(Kind::Py);
}

/// The offset the server holds for upload `url`.
fn server_offset(s: &Server, url: &str) -> Option<u64> {
    let id = url.rsplit('/').next()?;
    s.db()
        .query_row(
            "SELECT upload_offset FROM rs_tus_uploads WHERE id = ?1",
            [id],
            |r| r.get::<_, i64>(0),
        )
        .ok()
        .map(|n| n as u64)
}

fn killed_client_resumes(kind: Kind) {
    let Some(client) = Client::get(kind) else {
        return;
    };
    let s = Server::start();
    let size = 60_000_000usize;
    let file = s.tmpdir.join("resume.bin");
    write_pattern_file(&file, size, 60);
    let options = admin_upload(&s, &file, 20_000_000, json!({ "filename": "resume.bin" }));
    let mut first = client.start(&options);
    let url = first.wait_for(Duration::from_secs(60), |e| e["event"] == "url")["url"]
        .as_str()
        .unwrap()
        .to_owned();
    // Killed once the first PATCH is done and the second is on its way.
    first.wait_for(Duration::from_secs(60), |e| {
        e["event"] == "chunk" && e["offset"] == 20_000_000
    });
    assert!(wait_until(Duration::from_secs(30), || {
        server_offset(&s, &url).is_some_and(|o| o > 20_000_000)
    }));
    first.kill();
    // The server keeps what arrived of the cut request: done once that request is answered
    // (its access-log line).
    let patches = || {
        s.stdout_lines()
            .iter()
            .filter(|l| l.contains(" - PATCH /api/tus/"))
            .count()
    };
    assert!(
        wait_until(Duration::from_secs(30), || patches() == 2),
        "{:?}",
        s.stdout_lines()
    );
    let held = server_offset(&s, &url).unwrap();
    assert!((20_000_001..size as u64).contains(&held), "{held}");
    // A new client process, given the upload's URL, asks HEAD where to go on.
    let mut resumed = options.clone();
    resumed["uploadUrl"] = json!(url);
    let mut second = client.start(&resumed);
    let done = second.success(Duration::from_secs(120));
    match kind {
        Kind::Js => {
            let heads = second.named("head");
            assert_eq!(heads.len(), 1, "{:?}", second.seen);
            assert_eq!(heads[0]["offset"], held.to_string());
            let patches: Vec<&Value> = second
                .named("request")
                .into_iter()
                .filter(|e| e["method"] == "PATCH")
                .collect();
            assert_eq!(patches[0]["offset"], held.to_string(), "from HEAD's offset");
            assert!(second
                .named("request")
                .iter()
                .all(|e| e["method"] != "POST"));
        }
        Kind::Py => {
            assert_eq!(second.named("resumed")[0]["offset"], held);
            assert!(second.named("url").is_empty(), "no new upload");
        }
    }
    let id = done["entryId"].as_str().unwrap();
    assert_downloads_as(&s, id, &file);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM entries"),
        1,
        "one file, not two"
    );
}

#[test]
fn issue_19_a_killed_tus_js_client_resumes_from_head_byte_identical() {
    killed_client_resumes(Kind::Js);
}

#[test]
fn issue_19_a_killed_tuspy_client_resumes_from_head_byte_identical() {
    killed_client_resumes(Kind::Py);
}

#[test]
fn issue_19_tus_js_client_rides_out_a_server_killed_mid_upload() {
    let Some(client) = Client::get(Kind::Js) else {
        return;
    };
    // A fixed port: the client retries the same URL while the server is down.
    let mut s = Server::builder().port(free_port()).start();
    let size = 60_000_000usize;
    let file = s.tmpdir.join("crash.bin");
    write_pattern_file(&file, size, 61);
    let mut options = admin_upload(&s, &file, 20_000_000, json!({ "filename": "crash.bin" }));
    options["retryDelays"] = json!([200, 500, 1000, 1000, 1000, 2000, 2000, 2000, 4000, 4000]);
    let mut run = client.start(&options);
    let url = run.wait_for(Duration::from_secs(60), |e| e["event"] == "url")["url"]
        .as_str()
        .unwrap()
        .to_owned();
    run.wait_for(Duration::from_secs(60), |e| {
        e["event"] == "chunk" && e["offset"] == 20_000_000
    });
    assert!(wait_until(Duration::from_secs(30), || {
        server_offset(&s, &url).is_some_and(|o| o > 20_000_000)
    }));
    s.kill9();
    s.start_again();
    let done = run.success(Duration::from_secs(120));
    // It asked HEAD after the crash and went on from there.
    assert!(!run.named("head").is_empty(), "{:?}", run.seen);
    let id = done["entryId"].as_str().unwrap();
    assert_downloads_as(&s, id, &file);
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 1);
}
