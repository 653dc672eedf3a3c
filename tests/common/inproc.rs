//! The application in-process: `picoshare::app::App` on a real store in a temp folder, called
//! with rouille's `Request::fake_http` — no process, no socket, no curl. For tables of
//! statuses and messages, where each case takes microseconds instead of a curl call; what
//! needs a process (the transport, signals, crashes, the CLI, memory) stays with
//! [`super::server::Server`]. Answers are the same [`Resp`] the HTTP client returns.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use rouille::Request;
use rusqlite::Connection;

use super::data::SECRET;
use super::db::{count, open_db};
use super::http::Resp;
use super::multipart::Upload;
use super::proc::open_files_in;
use super::server::TempDir;
use picoshare::app::{system_clock, App};
use picoshare::auth::{Auth, COOKIE};
use picoshare::config::Config;
use picoshare::store::{Store, StoreSettings};

/// A fresh application: its database, spool folder and an admin session.
pub struct InProcess {
    pub app: App,
    pub db_path: PathBuf,
    cookie: String,
    // Last: the folder goes after the store.
    pub dir: TempDir,
}

impl InProcess {
    /// Default settings, [`SECRET`] as the passphrase.
    #[track_caller]
    pub fn new() -> Self {
        Self::with(|_| {})
    }

    /// Default settings changed by `edit` (e.g. a small chunk size).
    #[track_caller]
    pub fn with(edit: impl FnOnce(&mut Config)) -> Self {
        let dir = TempDir::new("inproc");
        let db_path = dir.join("store.db");
        let mut config = Config::defaults(db_path.clone(), SECRET.to_owned());
        edit(&mut config);
        std::fs::create_dir_all(config.spool_dir()).expect("spool folder");
        let store = Store::open(&db_path, StoreSettings::from_config(&config)).expect("store");
        let auth = Auth::new(
            &config.secret,
            b"in-process tests' install key, 32+ bytes",
            config.session_lifetime.as_secs() as i64,
        );
        let app = App::new(Arc::new(config), Arc::new(store), auth, system_clock());
        let cookie = format!("{COOKIE}={}", app.auth.issue(app.now()));
        InProcess {
            app,
            db_path,
            cookie,
            dir,
        }
    }

    /// The admin's `Cookie` header value.
    pub fn cookie(&self) -> &str {
        &self.cookie
    }

    pub fn request(&self, method: &str, path: &str) -> FakeReq<'_> {
        FakeReq {
            target: self,
            method: method.to_owned(),
            path: path.to_owned(),
            // A browser or curl always names the host; same-origin checks need it.
            headers: vec![("Host".to_owned(), "127.0.0.1:4001".to_owned())],
            body: Vec::new(),
        }
    }

    pub fn get(&self, path: &str) -> FakeReq<'_> {
        self.request("GET", path)
    }

    /// An admin upload.
    pub fn upload(&self, up: &Upload) -> Resp {
        let (ct, body) = up.multipart();
        self.request("POST", &up.path())
            .auth()
            .header("Content-Type", &ct)
            .body(body)
            .send()
    }

    /// A connection to the database.
    pub fn db(&self) -> Connection {
        open_db(&self.db_path)
    }

    #[track_caller]
    pub fn count(&self, sql: &str) -> i64 {
        count(&self.db(), sql)
    }

    /// Spool files this process still holds open (the in-process app is this process).
    pub fn open_spool_files(&self) -> Vec<String> {
        open_files_in(std::process::id(), &self.app.config.spool_dir(), &[])
    }
}

impl Default for InProcess {
    fn default() -> Self {
        Self::new()
    }
}

/// One request to an [`InProcess`] application.
pub struct FakeReq<'a> {
    target: &'a InProcess,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl FakeReq<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds the admin's session cookie.
    pub fn auth(self) -> Self {
        let c = self.target.cookie.clone();
        self.header("Cookie", &c)
    }

    /// [`FakeReq::auth`] when `admin`.
    pub fn auth_if(self, admin: bool) -> Self {
        if admin {
            self.auth()
        } else {
            self
        }
    }

    /// Adds `Authorization: Bearer <token>` (an API token, issue 21).
    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    pub fn body(mut self, b: Vec<u8>) -> Self {
        self.body = b;
        self
    }

    pub fn json(self, s: &str) -> Self {
        self.header("Content-Type", "application/json")
            .body(s.as_bytes().to_vec())
    }

    /// Runs the request through `App::handle` and reads the whole answer.
    pub fn send(self) -> Resp {
        let req = Request::fake_http(self.method, self.path, self.headers, self.body);
        let response = self.target.app.handle(&req);
        let headers = response
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut body = Vec::new();
        let (mut reader, _) = response.data.into_reader_and_size();
        reader.read_to_end(&mut body).expect("read the answer");
        Resp {
            status: response.status_code,
            headers,
            body,
        }
    }
}

impl InProcess {
    /// Uploads as the admin; asserts success and returns the id.
    #[track_caller]
    pub fn upload_ok(&self, up: &Upload) -> String {
        let r = self.upload(up);
        assert_eq!(r.status, 200, "upload failed: {}", r.text());
        r.json()["id"].as_str().expect("id").to_owned()
    }

    /// Uploads `data` named `filename` as the admin, expiring in 30 days; returns the id.
    #[track_caller]
    pub fn put_file(&self, data: &[u8], filename: &str) -> String {
        self.upload_ok(&Upload::new(data, filename))
    }

    /// `POST /api/guest-links` as the admin; returns the link's id.
    #[track_caller]
    pub fn create_guest_link(&self, body: &str) -> String {
        let r = self
            .request("POST", "/api/guest-links")
            .auth()
            .json(body)
            .send();
        assert_eq!(r.status, 200, "create guest link: {}", r.text());
        r.json()["id"].as_str().expect("link id").to_owned()
    }

    /// `POST /api/tokens` as the admin with a JSON body; returns the answer (`id`, `token`,
    /// …).
    #[track_caller]
    pub fn create_token_with(&self, body: &str) -> serde_json::Value {
        let r = self.request("POST", "/api/tokens").auth().json(body).send();
        assert_eq!(r.status, 200, "create token: {}", r.text());
        r.json()
    }

    /// A never-expiring token named `label` of `scope` (`upload` or `admin`); returns the
    /// token.
    #[track_caller]
    pub fn create_token(&self, label: &str, scope: &str) -> String {
        let body = serde_json::json!({ "label": label, "scope": scope }).to_string();
        self.create_token_with(&body)["token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// Asserts no spool file is left: none open, none named in the folder.
    #[track_caller]
    pub fn assert_spool_empty(&self) {
        let named = std::fs::read_dir(self.app.config.spool_dir())
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(named, 0, "spool files named in the folder");
        let open = self.open_spool_files();
        assert!(open.is_empty(), "spool files still open: {open:?}");
    }
}
