//! Shared fixtures for the integration tests: a temp folder, the real `picoshare` binary
//! started on a free port of 127.0.0.1, `curl` for requests a user would make, raw
//! `TcpStream` exchanges for the ones curl cannot make, a multipart body builder and helpers
//! that read the SQLite file behind the server.
//!
//! Every test starts its own server in its own folder, so tests are independent and run in
//! parallel. Everything is bounded: the server must announce itself within 30 s, each curl
//! call gives up after 60 s, and a server that ignores SIGTERM is killed.
#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{SecondsFormat, Utc};
use rusqlite::Connection;
use sha2::{Digest, Sha256};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_picoshare");
/// The admin passphrase every test server gets unless a test says otherwise.
pub const SECRET: &str = "integration-test-passphrase";
/// The 57-character entry id alphabet (spec §2.4).
pub const ALPHABET: &str = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// PicoShare's "never expires" sentinel.
pub const NEVER: &str = "2999-12-31T00:00:00Z";
/// How long a server may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a server may take to exit after SIGTERM before a test calls it a failure.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(15);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn unique(label: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "picoshare-it-{label}-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

// ---------------------------------------------------------------------------------------------
// Temp folders.

/// A folder under the system temp dir, removed on drop (kept when `PICOSHARE_KEEP_TEST_DIRS` is
/// set, for post-mortems).
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> Self {
        let path = std::env::temp_dir().join(unique(label));
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.path.as_os_str().is_empty() {
            return; // Handed over by `Server::into_dir`.
        }
        if std::env::var_os("PICOSHARE_KEEP_TEST_DIRS").is_some() {
            eprintln!("keeping {}", self.path.display());
            return;
        }
        let _ = fs::remove_dir_all(&self.path);
    }
}

// ---------------------------------------------------------------------------------------------
// The server fixture.

/// How to start a server. Built with [`Server::builder`].
pub struct ServerBuilder {
    args: Vec<String>,
    envs: Vec<(String, String)>,
    secret: Option<String>,
    dir: Option<TempDir>,
    db_name: String,
    db_flag: Option<String>,
    port_flag: bool,
}

impl ServerBuilder {
    /// How the database path is passed: `Some("-db")`, `Some("--db")` (default), or `None` to
    /// pass none (the server then uses `data/store.db` under its working folder).
    pub fn db_flag(mut self, flag: Option<&str>) -> Self {
        self.db_flag = flag.map(str::to_owned);
        self
    }

    /// Leave out `--port 0` and give the port through `PORT=0` instead.
    pub fn port_from_env(mut self) -> Self {
        self.port_flag = false;
        self.envs.push(("PORT".to_owned(), "0".to_owned()));
        self
    }

    /// `--chunk-size N`.
    pub fn chunk_size(self, n: usize) -> Self {
        self.arg("--chunk-size").arg(&n.to_string())
    }

    /// `--gc-interval SECS`.
    pub fn gc_interval(self, secs: u64) -> Self {
        self.arg("--gc-interval").arg(&secs.to_string())
    }

    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.to_owned());
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.envs.push((k.to_owned(), v.to_owned()));
        self
    }

    /// `PS_SHARED_SECRET` (None: not set at all).
    pub fn secret(mut self, s: Option<&str>) -> Self {
        self.secret = s.map(str::to_owned);
        self
    }

    /// Start in an existing folder (e.g. one holding a copied fixture database).
    pub fn in_dir(mut self, dir: TempDir) -> Self {
        self.dir = Some(dir);
        self
    }

    /// The database file name inside the folder (default `store.db`).
    pub fn db_name(mut self, name: &str) -> Self {
        self.db_name = name.to_owned();
        self
    }

    #[track_caller]
    pub fn start(self) -> Server {
        let tmpdir = self.dir.unwrap_or_else(|| TempDir::new("server"));
        let db_path = match self.db_flag {
            Some(_) => tmpdir.join(&self.db_name),
            None => tmpdir.join("data/store.db"),
        };
        let mut server = Server {
            child: None,
            base_url: String::new(),
            addr: "127.0.0.1:1".parse().expect("addr"),
            db_path,
            db_flag: self.db_flag,
            port_flag: self.port_flag,
            args: self.args,
            envs: self.envs,
            secret: self.secret,
            stdout_lines: Arc::new(Mutex::new(Vec::new())),
            calls: AtomicUsize::new(0),
            cookie: Mutex::new(None),
            tmpdir,
        };
        server.spawn();
        server
    }
}

/// A running `picoshare` on 127.0.0.1 with its own folder. SIGTERM (then SIGKILL) on drop.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    pub addr: SocketAddr,
    pub db_path: PathBuf,
    db_flag: Option<String>,
    port_flag: bool,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    secret: Option<String>,
    stdout_lines: Arc<Mutex<Vec<String>>>,
    calls: AtomicUsize,
    cookie: Mutex<Option<String>>,
    // Last, so the folder goes after the process (Drop::drop runs before field drops anyway).
    pub tmpdir: TempDir,
}

impl Server {
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            args: Vec::new(),
            envs: Vec::new(),
            secret: Some(SECRET.to_owned()),
            dir: None,
            db_name: "store.db".to_owned(),
            db_flag: Some("--db".to_owned()),
            port_flag: true,
        }
    }

    /// A server with default settings and [`SECRET`].
    #[track_caller]
    pub fn start() -> Server {
        Server::builder().start()
    }

    fn stderr_path(&self) -> PathBuf {
        self.tmpdir.join("server-stderr.log")
    }

    /// Everything the server(s) of this fixture wrote to stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(self.stderr_path()).unwrap_or_default()
    }

    /// Every stdout line so far (all runs of this fixture).
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout_lines.lock().expect("lock").clone()
    }

    #[track_caller]
    fn spawn(&mut self) {
        let stderr = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.stderr_path())
            .expect("open stderr log");
        let mut cmd = Command::new(BIN);
        if let Some(flag) = &self.db_flag {
            cmd.arg(flag).arg(&self.db_path);
        }
        cmd.args(["--listen", "127.0.0.1"]);
        if self.port_flag {
            cmd.args(["--port", "0"]);
        }
        cmd.args(&self.args)
            .current_dir(self.tmpdir.path())
            .env_remove("PORT")
            .env_remove("PS_SHARED_SECRET")
            .env_remove("PS_SHARED_SECRET_FILE")
            .env_remove("PS_BEHIND_PROXY")
            .env_remove("LITESTREAM_BUCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        if let Some(s) = &self.secret {
            cmd.env("PS_SHARED_SECRET", s);
        }
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn picoshare");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel::<String>();
        let lines = Arc::clone(&self.stdout_lines);
        // Keep draining stdout for the whole life of the process: the access log goes there
        // and a full pipe would block the server.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                lines.lock().expect("lock").push(line.clone());
                let _ = tx.send(line);
            }
        });
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("picoshare: listening on ") {
                        let url = url.trim().to_owned();
                        let hostport = url
                            .strip_prefix("http://")
                            .unwrap_or_else(|| panic!("listening line without http://: {line}"));
                        self.addr = hostport
                            .parse()
                            .unwrap_or_else(|_| panic!("listening line without IP:PORT: {line}"));
                        assert_eq!(
                            self.addr.ip().to_string(),
                            "127.0.0.1",
                            "bound to the --listen address"
                        );
                        assert_ne!(self.addr.port(), 0, "prints the real bound port");
                        self.base_url = url;
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.kill_hard();
                    panic!(
                        "server did not print its listening line within {START_TIMEOUT:?}\n\
                         stdout: {:?}\nstderr: {}",
                        self.stdout_lines(),
                        self.stderr()
                    );
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.as_mut().and_then(|c| c.wait().ok());
                    self.child = None;
                    panic!(
                        "server exited before listening ({status:?})\nstdout: {:?}\nstderr: {}",
                        self.stdout_lines(),
                        self.stderr()
                    );
                }
            }
        }
    }

    fn kill_hard(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = child.kill();
        child.wait().ok()
    }

    /// Sends `sig` (e.g. "TERM", "INT") without waiting.
    pub fn signal(&self, sig: &str) {
        send_signal(self.pid(), sig);
    }

    /// Waits up to `timeout` for the process to exit (after a signal was sent); `None` if it is
    /// still running (it is then killed so nothing leaks).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no clean-up at all, as after a crash or the OOM killer.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            send_signal(child.id(), "KILL");
            let _ = child.wait();
        }
    }

    /// The process id of the running server.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server running").id()
    }

    /// Whether the process is still alive.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Sends SIGTERM and waits up to `timeout`; `None` if it is still running (then it is
    /// killed with SIGKILL so nothing leaks).
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        send_signal(child.id(), "TERM");
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, and asserts a clean exit (status 0) within [`STOP_TIMEOUT`].
    #[track_caller]
    pub fn stop(&mut self) {
        let status = self.terminate(STOP_TIMEOUT);
        match status {
            Some(s) => assert!(
                s.success(),
                "server exited with {s} after SIGTERM; stderr: {}",
                self.stderr()
            ),
            None => panic!(
                "server still running {STOP_TIMEOUT:?} after SIGTERM; stderr: {}",
                self.stderr()
            ),
        }
    }

    /// Stops the server cleanly and starts it again on the same database and flags.
    #[track_caller]
    pub fn restart(&mut self) {
        self.stop();
        *self.cookie.lock().expect("lock") = None;
        self.spawn();
    }

    /// Stops the server cleanly and hands back its folder (database included), e.g. to start
    /// a server with other flags on the same database.
    #[track_caller]
    pub fn into_dir(mut self) -> TempDir {
        self.stop();
        std::mem::replace(
            &mut self.tmpdir,
            TempDir {
                path: PathBuf::new(),
            },
        )
    }

    /// Starts the server again after [`Server::stop`].
    #[track_caller]
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "still running");
        *self.cookie.lock().expect("lock") = None;
        self.spawn();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// `<db path>-spool`.
    pub fn spool_dir(&self) -> PathBuf {
        let mut s = self.db_path.clone().into_os_string();
        s.push("-spool");
        PathBuf::from(s)
    }

    /// Upload files left in the spool folder; a missing folder counts as empty. The server's
    /// own `.lock` (held for its whole run, not an upload) does not count.
    pub fn spool_files(&self) -> Vec<PathBuf> {
        match fs::read_dir(self.spool_dir()) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name() != ".lock")
                .map(|e| e.path())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Asserts the spool folder becomes empty within `within`.
    #[track_caller]
    pub fn assert_spool_empty(&self, within: Duration) {
        let ok = wait_until(within, || self.spool_files().is_empty());
        assert!(
            ok,
            "spool folder not empty after {within:?}: {:?}",
            self.spool_files()
        );
    }

    // -----------------------------------------------------------------------------------------
    // Requests.

    pub fn request(&self, method: &str, path: &str) -> Req<'_> {
        Req {
            server: self,
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn get(&self, path: &str) -> Req<'_> {
        self.request("GET", path)
    }

    pub fn head(&self, path: &str) -> Req<'_> {
        self.request("HEAD", path)
    }

    /// Logs in with [`SECRET`] (once per server run) and returns the `name=value` cookie pair.
    #[track_caller]
    pub fn login(&self) -> String {
        self.login_with(self.secret.as_deref().unwrap_or(SECRET))
    }

    #[track_caller]
    pub fn login_with(&self, secret: &str) -> String {
        if let Some(c) = self.cookie.lock().expect("lock").clone() {
            return c;
        }
        let body = serde_json::json!({ "sharedSecretKey": secret }).to_string();
        let r = self.request("POST", "/api/auth").json(&body).send();
        assert_eq!(r.status, 200, "login failed: {}", r.text());
        let cookie = r
            .cookie_pair("sharedSecret")
            .expect("login sets sharedSecret");
        *self.cookie.lock().expect("lock") = Some(cookie.clone());
        cookie
    }

    /// Uploads `data` as an admin. `expiration` goes into the query string (percent-encoded).
    pub fn upload(&self, up: &Upload) -> Resp {
        let (ct, body) = up.multipart();
        let mut path = "/api/entry".to_owned();
        if let Some(e) = &up.expiration {
            path.push_str("?expiration=");
            path.push_str(&query_encode(e));
        }
        self.request("POST", &path)
            .auth()
            .header("Content-Type", &ct)
            .body(body)
            .send()
    }

    /// Uploads and asserts success; returns the new id. Also asserts the spool is left empty.
    #[track_caller]
    pub fn upload_ok(&self, up: &Upload) -> String {
        let r = self.upload(up);
        assert_eq!(r.status, 200, "upload failed: {}", r.text());
        let id = r.json()["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", r.text()))
            .to_owned();
        assert_valid_id(&id);
        self.assert_spool_empty(Duration::from_secs(2));
        id
    }

    /// Shorthand: upload `data` named `filename`, expiring in 30 days.
    #[track_caller]
    pub fn put_file(&self, data: &[u8], filename: &str) -> String {
        self.upload_ok(&Upload::new(data, filename))
    }

    // -----------------------------------------------------------------------------------------
    // The database.

    /// A connection to the server's database (WAL lets it read while the server runs).
    pub fn db(&self) -> Connection {
        open_db(&self.db_path)
    }

    pub fn count(&self, sql: &str) -> i64 {
        count(&self.db(), sql)
    }

    /// Number of `downloads` rows for `id`.
    pub fn downloads(&self, id: &str) -> i64 {
        self.db()
            .query_row(
                "SELECT COUNT(*) FROM downloads WHERE entry_id = ?1",
                [id],
                |r| r.get(0),
            )
            .expect("count downloads")
    }

    /// The chunks of `id` in order.
    pub fn chunks(&self, id: &str) -> Vec<(i64, Vec<u8>)> {
        chunks(&self.db(), id)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            send_signal(child.id(), "TERM");
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `kill -SIG pid`.
pub fn send_signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

/// Polls `f` every 20 ms until it is true or `within` has passed.
pub fn wait_until(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------------
// curl.

/// One HTTP request made with `curl`.
pub struct Req<'a> {
    server: &'a Server,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Req<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds the admin cookie (logging in first if needed).
    #[track_caller]
    pub fn auth(self) -> Self {
        let c = self.server.login();
        self.header("Cookie", &c)
    }

    pub fn body(mut self, b: Vec<u8>) -> Self {
        self.body = Some(b);
        self
    }

    pub fn json(self, s: &str) -> Self {
        self.header("Content-Type", "application/json")
            .body(s.as_bytes().to_vec())
    }

    /// Runs curl; panics if curl itself fails (connection refused, timeout, reset).
    #[track_caller]
    pub fn send(self) -> Resp {
        let desc = format!("{} {}", self.method, self.path);
        match self.try_send() {
            Ok(r) => r,
            Err(e) => panic!("{desc}: {e}"),
        }
    }

    /// Runs curl; `Err` with curl's message if the exchange failed at the HTTP level.
    pub fn try_send(self) -> Result<Resp, String> {
        let n = self.server.calls.fetch_add(1, Ordering::SeqCst);
        let dir = self.server.tmpdir.join("curl");
        fs::create_dir_all(&dir).expect("curl dir");
        let hdr = dir.join(format!("{n}.headers"));
        let out = dir.join(format!("{n}.body"));
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "60", "--noproxy", "*"])
            // No 100-continue dance for big bodies: send the body straight away.
            .args(["-H", "Expect:"])
            .arg("-D")
            .arg(&hdr)
            .arg("-o")
            .arg(&out)
            .args(["-w", "%{http_code}"]);
        if self.method == "HEAD" {
            cmd.arg("--head");
        } else {
            cmd.args(["-X", &self.method]);
        }
        let has_ct = self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        for (k, v) in &self.headers {
            cmd.arg("-H").arg(if v.is_empty() {
                format!("{k};")
            } else {
                format!("{k}: {v}")
            });
        }
        let body_file;
        if let Some(b) = &self.body {
            body_file = dir.join(format!("{n}.request"));
            fs::write(&body_file, b).expect("write request body");
            if !has_ct {
                // curl would say application/x-www-form-urlencoded; say nothing instead.
                cmd.args(["-H", "Content-Type:"]);
            }
            cmd.arg("--data-binary")
                .arg(format!("@{}", body_file.display()));
        }
        cmd.arg(self.server.url(&self.path));
        let o = cmd.output().map_err(|e| format!("cannot run curl: {e}"))?;
        let headers_text = fs::read(&hdr).unwrap_or_default();
        let body = fs::read(&out).unwrap_or_default();
        let _ = fs::remove_file(&hdr);
        let _ = fs::remove_file(&out);
        if self.body.is_some() {
            let _ = fs::remove_file(dir.join(format!("{n}.request")));
        }
        if !o.status.success() {
            return Err(format!(
                "curl failed ({}): {}",
                o.status,
                String::from_utf8_lossy(&o.stderr)
            ));
        }
        let status: u16 = String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse()
            .map_err(|_| format!("bad curl -w output {:?}", o.stdout))?;
        Ok(Resp {
            status,
            headers: parse_header_block(&headers_text),
            body,
        })
    }
}

/// A response: status, headers in order, body bytes.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    /// First header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Body without the trailing newline(s) Go's http.Error adds.
    pub fn message(&self) -> String {
        self.text().trim_end_matches(['\r', '\n']).to_owned()
    }

    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The `Set-Cookie` header that sets `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.headers_named("set-cookie")
            .into_iter()
            .find(|v| v.trim_start().starts_with(&format!("{name}=")))
    }

    /// `name=value` from the `Set-Cookie` that sets `name`.
    pub fn cookie_pair(&self, name: &str) -> Option<String> {
        self.set_cookie(name)
            .map(|v| v.split(';').next().unwrap_or("").trim().to_owned())
    }
}

/// Parses the last header block of a `curl -D` file (earlier blocks are 1xx responses).
pub fn parse_header_block(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(raw);
    let mut blocks: Vec<Vec<(String, String)>> = Vec::new();
    for line in text.split("\r\n") {
        if line.starts_with("HTTP/") {
            blocks.push(Vec::new());
        } else if let Some((k, v)) = line.split_once(':') {
            if let Some(b) = blocks.last_mut() {
                b.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
    }
    blocks.pop().unwrap_or_default()
}

/// Percent-encodes a query-string value (keeps unreserved characters only).
pub fn query_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (no `+` handling).
pub fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Uploads and multipart bodies.

/// An admin upload: one file part, optional note, expiration in the query string.
#[derive(Clone)]
pub struct Upload {
    pub data: Vec<u8>,
    pub filename: String,
    pub content_type: Option<String>,
    pub note: Option<String>,
    pub expiration: Option<String>,
}

impl Upload {
    /// `data` named `filename`, `application/octet-stream`, expiring in 30 days, no note.
    pub fn new(data: &[u8], filename: &str) -> Self {
        Upload {
            data: data.to_vec(),
            filename: filename.to_owned(),
            content_type: Some("application/octet-stream".to_owned()),
            note: None,
            expiration: Some(in_days(30)),
        }
    }

    pub fn content_type(mut self, ct: Option<&str>) -> Self {
        self.content_type = ct.map(str::to_owned);
        self
    }

    pub fn note(mut self, n: &str) -> Self {
        self.note = Some(n.to_owned());
        self
    }

    pub fn expiration(mut self, e: Option<&str>) -> Self {
        self.expiration = e.map(str::to_owned);
        self
    }

    /// `(Content-Type header, body)`.
    pub fn multipart(&self) -> (String, Vec<u8>) {
        let mut m = Multipart::new();
        if let Some(n) = &self.note {
            m.text("note", n);
        }
        m.file(
            "file",
            &self.filename,
            self.content_type.as_deref(),
            &self.data,
        );
        m.finish()
    }
}

/// A hand-built `multipart/form-data` body, byte-exact, with a fixed boundary.
pub struct Multipart {
    pub boundary: String,
    pub body: Vec<u8>,
}

impl Multipart {
    pub fn new() -> Self {
        Multipart {
            boundary: "----picoshare-it-boundary-7MA4YWxkTrZu0gW".to_owned(),
            body: Vec::new(),
        }
    }

    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    pub fn text(&mut self, name: &str, value: &str) -> &mut Self {
        self.body.extend_from_slice(
            format!(
                "--{}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n",
                self.boundary
            )
            .as_bytes(),
        );
        self
    }

    /// Headers of a file part, up to and including the blank line.
    pub fn file_head(&self, name: &str, filename: &str, ct: Option<&str>) -> Vec<u8> {
        let mut h = format!(
            "--{}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n",
            self.boundary
        );
        if let Some(ct) = ct {
            h.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        h.push_str("\r\n");
        h.into_bytes()
    }

    pub fn file(&mut self, name: &str, filename: &str, ct: Option<&str>, data: &[u8]) -> &mut Self {
        let head = self.file_head(name, filename, ct);
        self.body.extend_from_slice(&head);
        self.body.extend_from_slice(data);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// `(Content-Type, body)` with the closing boundary.
    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (self.content_type(), self.body)
    }
}

impl Default for Multipart {
    fn default() -> Self {
        Self::new()
    }
}

// ---------------------------------------------------------------------------------------------
// Raw sockets, for what curl cannot do.

/// Sends `request` (complete, with `Connection: close`) and reads the answer until EOF.
pub fn raw_exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.set_write_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(request).expect("write request");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let _ = s.shutdown(Shutdown::Both);
    out
}

/// A raw response split into status, headers and the bytes after the blank line.
pub struct RawResp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The body of a raw response: decoded if `Transfer-Encoding: chunked`, else as received.
#[track_caller]
pub fn raw_body(r: &RawResp) -> Vec<u8> {
    let chunked = r
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if !chunked {
        return r.body.clone();
    }
    let mut out = Vec::new();
    let mut rest = &r.body[..];
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_text = String::from_utf8_lossy(&rest[..eol]).into_owned();
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16)
            .unwrap_or_else(|_| panic!("bad chunk size {size_text:?}"));
        rest = &rest[eol + 2..];
        if size == 0 {
            return out;
        }
        assert!(rest.len() >= size + 2, "truncated chunk");
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

#[track_caller]
pub fn parse_raw(bytes: &[u8]) -> RawResp {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    RawResp {
        status,
        headers,
        body: bytes[end + 4..].to_vec(),
    }
}

// ---------------------------------------------------------------------------------------------
// Data, time, hashing, ids.

/// Deterministic pseudo-random bytes (xorshift64*), different for each seed.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let v = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        for b in v.to_le_bytes() {
            if out.len() < len {
                out.push(b);
            }
        }
    }
    out
}

pub fn sha256_hex(data: &[u8]) -> String {
    let d = Sha256::digest(data);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Now + `days`, as UTC RFC 3339 with whole seconds and `Z`.
pub fn in_days(days: i64) -> String {
    (Utc::now() + chrono::Duration::days(days)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Now + `secs` (may be negative), as UTC RFC 3339 with whole seconds and `Z`.
pub fn in_secs(secs: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(secs)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[track_caller]
pub fn assert_valid_id(id: &str) {
    assert_eq!(id.len(), 10, "entry id {id:?} is 10 characters");
    assert!(
        id.chars().all(|c| ALPHABET.contains(c)),
        "entry id {id:?} uses only the id alphabet"
    );
}

// ---------------------------------------------------------------------------------------------
// SQLite.

pub fn open_db(path: &Path) -> Connection {
    let c = Connection::open(path).expect("open db");
    c.busy_timeout(Duration::from_secs(10))
        .expect("busy timeout");
    c
}

pub fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

pub fn chunks(c: &Connection, id: &str) -> Vec<(i64, Vec<u8>)> {
    let mut st = c
        .prepare("SELECT chunk_index, chunk FROM entries_data WHERE id = ?1 ORDER BY chunk_index")
        .expect("prepare");
    let rows = st
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query");
    rows.map(|r| r.expect("row")).collect()
}

/// One row of `entries`.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryRow {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub upload_time: String,
    pub expiration_time: Option<String>,
    pub guest_link_id: Option<String>,
    pub note: Option<String>,
}

pub fn entry_row(c: &Connection, id: &str) -> Option<EntryRow> {
    c.query_row(
        "SELECT id, filename, content_type, upload_time, expiration_time, guest_link_id, note \
         FROM entries WHERE id = ?1",
        [id],
        |r| {
            Ok(EntryRow {
                id: r.get(0)?,
                filename: r.get(1)?,
                content_type: r.get(2)?,
                upload_time: r.get(3)?,
                expiration_time: r.get(4)?,
                guest_link_id: r.get(5)?,
                note: r.get(6)?,
            })
        },
    )
    .ok()
}

/// `sqlite_master` as a sorted list of `(type, name, tbl_name, normalised sql)`.
pub fn schema_of(c: &Connection) -> Vec<(String, String, String, String)> {
    let mut st = c
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
        .expect("prepare");
    let rows = st
        .query_map([], |r| {
            let sql: Option<String> = r.get(3)?;
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                normalise_sql(sql.as_deref().unwrap_or("")),
            ))
        })
        .expect("query");
    rows.map(|r| r.expect("row")).collect()
}

/// Normalises a `CREATE …` statement so equal schemas compare equal whatever their layout:
/// comments dropped, quotes dropped, `IF NOT EXISTS` dropped, lower case, whitespace collapsed
/// and removed around punctuation.
pub fn normalise_sql(sql: &str) -> String {
    let no_comments: Vec<&str> = sql
        .lines()
        .map(|l| match l.find("--") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect();
    let s = no_comments.join(" ").replace('"', "").to_lowercase();
    let s = s.replace("if not exists", "");
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::new();
    let chars: Vec<char> = collapsed.chars().collect();
    for (i, &ch) in chars.iter().enumerate() {
        if ch == ' ' {
            let prev = if i > 0 { chars[i - 1] } else { ' ' };
            let next = chars.get(i + 1).copied().unwrap_or(' ');
            if "(),;".contains(prev) || "(),;".contains(next) {
                continue;
            }
        }
        out.push(ch);
    }
    out.trim_end_matches(';').to_owned()
}

/// The schema PicoShare 1.5.x creates, from `../shared/fixtures/picoshare-go/schema.sql`
/// loaded into an in-memory database; `None` if the fixture is missing.
pub fn reference_schema() -> Option<Vec<(String, String, String, String)>> {
    let sql = fs::read_to_string(fixture_dir().join("schema.sql")).ok()?;
    let c = Connection::open_in_memory().expect("memory db");
    c.execute_batch(&sql).expect("load schema.sql");
    Some(schema_of(&c))
}

/// PicoShare's migration 016 (its master, September 2026), as upstream runs it: a database at
/// `user_version` 16 is a 15 one with this column appended.
pub const MIGRATION_016: &str = "ALTER TABLE entries ADD COLUMN download_passphrase TEXT;";

/// The schema PicoShare's master has at version 16: `schema.sql` plus [`MIGRATION_016`];
/// `None` if the fixture is missing.
pub fn reference_schema_16() -> Option<Vec<(String, String, String, String)>> {
    let sql = fs::read_to_string(fixture_dir().join("schema.sql")).ok()?;
    let c = Connection::open_in_memory().expect("memory db");
    c.execute_batch(&sql).expect("load schema.sql");
    c.execute_batch(MIGRATION_016).expect("migration 016");
    Some(schema_of(&c))
}

/// `../shared/fixtures/picoshare-go` relative to the package (or `PICOSHARE_FIXTURE_DIR`).
pub fn fixture_dir() -> PathBuf {
    match std::env::var_os("PICOSHARE_FIXTURE_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/picoshare-go"),
    }
}

/// Copies the fixture's `store.db` to `dest` and moves every date in the copy by the same
/// amount, so the copy looks written one minute ago: the 7-day entries expire in 7 days, the
/// 30-day ones and the guest link's URL in 30, "never" (the 2999 sentinel) stays. An expiration
/// that would still not be a day ahead (a fixture edited to hold past dates) becomes 7 days
/// ahead. A test that needs an expired entry or link sets it with [`set_fixture_time`];
/// nothing a test asserts depends on today's date or on the fixture's.
#[track_caller]
pub fn copy_fixture_db(dest: &Path) {
    let source = fixture_dir().join("store.db");
    fs::copy(&source, dest).unwrap_or_else(|e| panic!("copy {}: {e}", source.display()));
    let c = open_db(dest);
    let written: String = c
        .query_row("SELECT MIN(upload_time) FROM entries", [], |r| r.get(0))
        .expect("the fixture's upload time");
    let written = chrono::DateTime::parse_from_rfc3339(&written).expect("RFC 3339 upload_time");
    let shift = (Utc::now() - chrono::Duration::minutes(1)).timestamp() - written.timestamp();
    let moved = |table: &str, column: &str| {
        c.execute(
            &format!(
                "UPDATE {table} SET {column} = \
                 strftime('%Y-%m-%dT%H:%M:%SZ', {column}, ?1 || ' seconds') \
                 WHERE {column} IS NOT NULL AND {column} < '2999-'"
            ),
            [format!("{shift:+}")],
        )
        .unwrap_or_else(|e| panic!("shift {table}.{column}: {e}"));
    };
    moved("entries", "upload_time");
    moved("guest_links", "creation_time");
    moved("downloads", "download_timestamp");
    for (table, column) in [
        ("entries", "expiration_time"),
        ("guest_links", "url_expiration_time"),
    ] {
        moved(table, column);
        c.execute(
            &format!(
                "UPDATE {table} SET {column} = ?1 \
                 WHERE {column} IS NOT NULL AND {column} < ?2"
            ),
            [in_days(7), in_days(1)],
        )
        .unwrap_or_else(|e| panic!("clamp {table}.{column}: {e}"));
    }
}

/// Sets an entry's expiration (`entries`) or a guest link's URL expiration (`guest_links`) in
/// a database to now + `secs` (negative: already past).
#[track_caller]
pub fn set_fixture_time(db: &Path, table: &str, id: &str, secs: i64) {
    let column = match table {
        "entries" => "expiration_time",
        "guest_links" => "url_expiration_time",
        other => panic!("no expiration column in {other}"),
    };
    let n = open_db(db)
        .execute(
            &format!("UPDATE {table} SET {column} = ?1 WHERE id = ?2"),
            [in_secs(secs), id.to_owned()],
        )
        .unwrap_or_else(|e| panic!("set {table}.{column}: {e}"));
    assert_eq!(n, 1, "{table} row {id}");
}

/// For tests that need the shared fixture: `true` to go on; `false` (after a message) to skip.
/// With `CI=true` a missing fixture fails the test instead.
#[track_caller]
pub fn fixture_available(what: &str) -> bool {
    let dir = fixture_dir();
    let present = dir.join(what).exists();
    if present {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1") {
        panic!(
            "fixture {} is missing and CI=true: failing instead of skipping",
            dir.join(what).display()
        );
    }
    eprintln!(
        "SKIPPED: fixture {} is missing (set CI=true to make this a failure)",
        dir.join(what).display()
    );
    false
}
