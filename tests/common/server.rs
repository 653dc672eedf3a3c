//! The server process: the real `picoshare` binary (or a wrapper that runs it, such as the Fly
//! entrypoint under Litestream) started on a free port of 127.0.0.1 in its own temp folder,
//! its output collected, its open spool files visible, stopped with SIGTERM (then SIGKILL).
//!
//! Every test starts its own server in its own folder, so tests are independent and run in
//! parallel. Everything is bounded: the server must announce itself within 30 s, and a server
//! that ignores SIGTERM is killed.

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

use super::data::{wait_until, SECRET};
use super::db::{chunks, count, open_db, with_suffix};
use super::proc::{descendants_of, open_files_in, send_signal};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_picoshare");
/// How long a server may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a server may take to exit after SIGTERM before a test calls it a failure.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// The line a server prints once it accepts connections.
pub const LISTENING: &str = "picoshare: listening on ";

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
/// set, for post-mortems). [`TempDir::borrowed`] wraps a folder someone else owns.
pub struct TempDir {
    path: PathBuf,
    owned: bool,
}

impl TempDir {
    pub fn new(label: &str) -> Self {
        let path = std::env::temp_dir().join(unique(label));
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path, owned: true }
    }

    /// An existing folder, left in place on drop.
    pub fn borrowed(path: &Path) -> Self {
        TempDir {
            path: path.to_owned(),
            owned: false,
        }
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
        if !self.owned {
            return;
        }
        if std::env::var_os("PICOSHARE_KEEP_TEST_DIRS").is_some() {
            eprintln!("keeping {}", self.path.display());
            return;
        }
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A port of 127.0.0.1 that was free a moment ago (for [`ServerBuilder::port`]).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
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
    via: Option<(String, Vec<String>)>,
}

impl ServerBuilder {
    /// How the database path is passed: `Some("-db")`, `Some("--db")` (default), `Some("-db=")`
    /// (one argument), or `None` to pass none (the server then uses `data/store.db` under its
    /// working folder).
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

    /// `--port N` (instead of a free one picked by the server): a server restarted on the same
    /// port is where a client that retries finds it again. See [`free_port`].
    pub fn port(mut self, n: u16) -> Self {
        self.port_flag = false;
        self.arg("--port").arg(&n.to_string())
    }

    /// `--chunk-size N`.
    pub fn chunk_size(self, n: usize) -> Self {
        self.arg("--chunk-size").arg(&n.to_string())
    }

    /// `--gc-interval SECS`.
    pub fn gc_interval(self, secs: u64) -> Self {
        self.arg("--gc-interval").arg(&secs.to_string())
    }

    /// `--threads N`.
    pub fn threads(self, n: usize) -> Self {
        self.arg("--threads").arg(&n.to_string())
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

    /// Start in a folder the test owns and keeps (several servers one after the other).
    pub fn in_folder(self, dir: &Path) -> Self {
        self.in_dir(TempDir::borrowed(dir))
    }

    /// The database file name inside the folder (default `store.db`); an absolute path puts it
    /// elsewhere.
    pub fn db_name(mut self, name: &str) -> Self {
        self.db_name = name.to_owned();
        self
    }

    /// Start `program args… <server args…>` instead of the binary itself, with
    /// `PICOSHARE_BIN` naming the binary (e.g. `sh deploy/fly/entrypoint.sh`).
    pub fn via(mut self, program: &str, args: &[&str]) -> Self {
        self.via = Some((
            program.to_owned(),
            args.iter().map(|a| (*a).to_owned()).collect(),
        ));
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
            via: self.via,
            stdout_lines: Arc::new(Mutex::new(Vec::new())),
            stderr_name: format!(
                "server-stderr-{}.log",
                COUNTER.fetch_add(1, Ordering::SeqCst)
            ),
            stdout_done: Mutex::new(None),
            calls: AtomicUsize::new(0),
            cookie: Mutex::new(None),
            uploads_in_flight: AtomicUsize::new(0),
            tmpdir,
        };
        server.spawn();
        server
    }
}

/// A running `picoshare` on 127.0.0.1 with its own folder. SIGTERM (then SIGKILL, to the
/// whole process tree) on drop.
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
    pub(super) secret: Option<String>,
    via: Option<(String, Vec<String>)>,
    stdout_lines: Arc<Mutex<Vec<String>>>,
    stderr_name: String,
    /// Disconnected once the stdout reader has read everything (end of file).
    stdout_done: Mutex<Option<mpsc::Receiver<()>>>,
    pub(super) calls: AtomicUsize,
    pub(super) cookie: Mutex<Option<String>>,
    /// Uploads this fixture's HTTP client has sent and not yet seen answered.
    pub(super) uploads_in_flight: AtomicUsize,
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
            via: None,
        }
    }

    /// A server with default settings and [`SECRET`].
    #[track_caller]
    pub fn start() -> Server {
        Server::builder().start()
    }

    /// Each fixture has its own file, even when several share a folder one after the other.
    fn stderr_path(&self) -> PathBuf {
        self.tmpdir.join(&self.stderr_name)
    }

    /// Everything the server(s) of this fixture wrote to stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(self.stderr_path()).unwrap_or_default()
    }

    /// Every stdout line so far (all runs of this fixture).
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout_lines.lock().expect("lock").clone()
    }

    /// Stdout, then stderr: everything the process (and a wrapper's) printed so far.
    pub fn log(&self) -> String {
        let mut all = self.stdout_lines().join("\n");
        all.push('\n');
        all.push_str(&self.stderr());
        all
    }

    /// Waits for a line of stdout or stderr containing `needle` (already printed or still to
    /// come) and returns it; fails if the process exits first or `within` passes.
    #[track_caller]
    pub fn wait_for_log(&mut self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let log = self.log();
            if let Some(line) = log.lines().find(|l| l.contains(needle)) {
                return line.to_owned();
            }
            if !self.is_running() {
                panic!("the server exited before printing {needle:?}:\n{log}");
            }
            if Instant::now() >= deadline {
                panic!("the server did not print {needle:?} within {within:?}:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[track_caller]
    fn spawn(&mut self) {
        let stderr = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.stderr_path())
            .expect("open stderr log");
        let mut cmd = match &self.via {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).env("PICOSHARE_BIN", BIN);
                c
            }
            None => Command::new(BIN),
        };
        match self.db_flag.as_deref() {
            Some(joined) if joined.ends_with('=') => {
                cmd.arg(format!("{joined}{}", self.db_path.display()));
            }
            Some(flag) => {
                cmd.arg(flag).arg(&self.db_path);
            }
            None => {}
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
        let (done_tx, done_rx) = mpsc::channel::<()>();
        *self.stdout_done.lock().expect("lock") = Some(done_rx);
        // Keep draining stdout for the whole life of the process: the access log goes there
        // and a full pipe would block the server.
        std::thread::spawn(move || {
            let _done = done_tx;
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
                    if let Some(url) = line.strip_prefix(LISTENING) {
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
                    self.kill_tree();
                    panic!(
                        "server did not print its listening line within {START_TIMEOUT:?}\n{}",
                        self.log()
                    );
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.as_mut().and_then(|c| c.wait().ok());
                    self.child = None;
                    panic!(
                        "server exited before listening ({status:?})\n{}",
                        self.log()
                    );
                }
            }
        }
    }

    /// SIGKILL to the process and everything it started.
    fn kill_tree(&mut self) {
        if let Some(mut child) = self.child.take() {
            let kids = descendants_of(child.id());
            let _ = child.kill();
            for k in kids {
                send_signal(k, "KILL");
            }
            let _ = child.wait();
        }
    }

    /// Sends `sig` (e.g. "TERM", "INT") without waiting.
    pub fn signal(&self, sig: &str) {
        send_signal(self.pid(), sig);
    }

    /// Waits up to `timeout` for the process to exit (after a signal was sent); `None` if it is
    /// still running (it is then killed so nothing leaks).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                // Every line it printed is read once its stdout reaches end of file.
                if let Some(done) = self.stdout_done.lock().expect("lock").take() {
                    let _ = done.recv_timeout(Duration::from_secs(5));
                }
                return Some(status);
            }
            if Instant::now() >= deadline {
                self.kill_tree();
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

    /// The process id of the running server (or of the wrapper it was started through).
    #[track_caller]
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
        self.child.as_ref()?;
        self.signal("TERM");
        self.wait_exit(timeout)
    }

    /// SIGTERM, and asserts a clean exit (status 0) within [`STOP_TIMEOUT`].
    #[track_caller]
    pub fn stop(&mut self) {
        self.stop_within(STOP_TIMEOUT);
    }

    /// SIGTERM, and asserts a clean exit (status 0) within `timeout`.
    #[track_caller]
    pub fn stop_within(&mut self, timeout: Duration) {
        let status = self.terminate(timeout);
        match status {
            Some(s) => assert!(
                s.success(),
                "server exited with {s} after SIGTERM:\n{}",
                self.log()
            ),
            None => panic!(
                "server still running {timeout:?} after SIGTERM:\n{}",
                self.log()
            ),
        }
    }

    /// Stops the server cleanly and starts it again on the same database and flags.
    #[track_caller]
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// Stops the server cleanly (unless it already was) and hands back its folder (database
    /// included), e.g. to start a server with other flags on the same database.
    #[track_caller]
    pub fn into_dir(mut self) -> TempDir {
        if self.child.is_some() {
            self.stop();
        }
        std::mem::replace(&mut self.tmpdir, TempDir::borrowed(Path::new("")))
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

    // -----------------------------------------------------------------------------------------
    // The spool.

    /// `<db path>-spool`.
    pub fn spool_dir(&self) -> PathBuf {
        with_suffix(&self.db_path, "-spool")
    }

    /// Files in the spool folder (a missing folder counts as empty), but for the server's own
    /// `.lock`. Spool files are unlinked as they are created, so this only ever sees one a
    /// crash left between those two steps; [`Server::spool_descriptors`] sees the others.
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

    /// The server's open descriptors on spool files, deleted ones included (every upload
    /// that spilled past its in-memory buffer holds one until it ends): empty once no upload
    /// is in flight, whatever happened to the uploads.
    #[track_caller]
    pub fn spool_descriptors(&self) -> Vec<String> {
        match &self.child {
            Some(c) => open_files_in(c.id(), &self.spool_dir(), &[".lock"]),
            None => Vec::new(),
        }
    }

    /// Waits until the server holds a spool file open: an upload has spilled to disk and is
    /// in flight.
    #[track_caller]
    pub fn wait_for_spool_descriptor(&self, within: Duration) {
        assert!(
            wait_until(within, || !self.spool_descriptors().is_empty()),
            "no upload spilled to the spool within {within:?}"
        );
    }

    /// Asserts that, within `within`, the server holds no spool file open and the spool
    /// folder is empty.
    #[track_caller]
    pub fn assert_spool_empty(&self, within: Duration) {
        let ok = wait_until(within, || {
            self.spool_files().is_empty() && self.spool_descriptors().is_empty()
        });
        assert!(
            ok,
            "spool not empty after {within:?}: files {:?}, open descriptors {:?}",
            self.spool_files(),
            self.spool_descriptors()
        );
    }

    // -----------------------------------------------------------------------------------------
    // The database.

    /// A connection to the server's database (WAL lets it read while the server runs).
    pub fn db(&self) -> Connection {
        open_db(&self.db_path)
    }

    #[track_caller]
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
        if std::thread::panicking() && self.child.is_some() {
            eprintln!("---- server log ----\n{}\n----", self.log());
        }
        if let Some(child) = self.child.as_mut() {
            send_signal(child.id(), "TERM");
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    self.child = None;
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill_tree();
    }
}
