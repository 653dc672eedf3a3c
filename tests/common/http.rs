//! The HTTP client: `curl`, as a user would call it, against a [`Server`]: requests with
//! headers and bodies, the admin's session cookie, uploads (from memory, or a file with
//! `curl -F`), and the answer's status, headers and body.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::data::{assert_valid_id, wait_until, SECRET};
use super::multipart::Upload;
use super::server::Server;

impl Server {
    pub fn request(&self, method: &str, path: &str) -> Req<'_> {
        Req {
            server: self,
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            body: None,
            extra: Vec::new(),
            output: None,
        }
    }

    pub fn get(&self, path: &str) -> Req<'_> {
        self.request("GET", path)
    }

    pub fn head(&self, path: &str) -> Req<'_> {
        self.request("HEAD", path)
    }

    /// Logs in with the server's passphrase (once per server run) and returns the
    /// `name=value` cookie pair.
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
        let req = self
            .request("POST", &up.path())
            .auth()
            .header("Content-Type", &ct)
            .body(body);
        self.counting_upload(|| req.send())
    }

    /// `curl -F file=@PATH` (plus `extra` arguments) to `path`, as the admin if `admin`: how a
    /// user uploads a file from disk (the body is never in the test's memory).
    pub fn upload_path(&self, path: &str, file: &Path, admin: bool, extra: &[&str]) -> Resp {
        let form = format!("file=@{}", file.display());
        let req = self
            .request("POST", path)
            .auth_if(admin)
            .curl_args(extra)
            .curl_args(&["-F", &form]);
        self.counting_upload(|| req.send())
    }

    fn counting_upload(&self, send: impl FnOnce() -> Resp) -> Resp {
        self.uploads_in_flight.fetch_add(1, Ordering::SeqCst);
        let r = send();
        self.uploads_in_flight.fetch_sub(1, Ordering::SeqCst);
        r
    }

    /// Uploads and asserts success; returns the new id. Also asserts that the upload left no
    /// spool file open (counting the ones of uploads other threads still have in flight).
    #[track_caller]
    pub fn upload_ok(&self, up: &Upload) -> String {
        let r = self.upload(up);
        assert_eq!(r.status, 200, "upload failed: {}", r.text());
        let id = r.json()["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", r.text()))
            .to_owned();
        assert_valid_id(&id);
        let released = wait_until(Duration::from_secs(2), || {
            self.spool_descriptors().len() <= self.uploads_in_flight.load(Ordering::SeqCst)
        });
        assert!(
            released,
            "spool files still open after the upload: {:?}",
            self.spool_descriptors()
        );
        id
    }

    /// Shorthand: upload `data` named `filename`, expiring in 30 days.
    #[track_caller]
    pub fn put_file(&self, data: &[u8], filename: &str) -> String {
        self.upload_ok(&Upload::new(data, filename))
    }

    /// `POST /api/tokens` as the admin: a token named `label` of `scope` (`upload` or
    /// `admin`) that never expires; returns the answer (`id`, `token`, …).
    #[track_caller]
    pub fn create_token(&self, label: &str, scope: &str) -> serde_json::Value {
        let body = serde_json::json!({ "label": label, "scope": scope }).to_string();
        let r = self
            .request("POST", "/api/tokens")
            .auth()
            .json(&body)
            .send();
        assert_eq!(r.status, 200, "create token: {}", r.text());
        r.json()
    }

    /// `POST /api/guest-links` as the admin with a JSON body; returns the link's id.
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
}

/// One HTTP request made with `curl`.
pub struct Req<'a> {
    server: &'a Server,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    /// Further curl arguments (`-F`, `-A`, …), before the URL.
    extra: Vec<String>,
    /// Where the body goes instead of memory.
    output: Option<PathBuf>,
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

    /// [`Req::auth`] when `admin`.
    #[track_caller]
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
        self.body = Some(b);
        self
    }

    pub fn json(self, s: &str) -> Self {
        self.header("Content-Type", "application/json")
            .body(s.as_bytes().to_vec())
    }

    /// More curl arguments, as a user would type them (`-F file=@x`, `-A agent`).
    pub fn curl_args(mut self, args: &[&str]) -> Self {
        self.extra.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// Writes the response body to `path` instead of [`Resp::body`] (left empty).
    pub fn output(mut self, path: &Path) -> Self {
        self.output = Some(path.to_owned());
        self
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
        self.spawn().finish()
    }

    /// Starts curl in the background; [`Pending::finish`] waits for the answer.
    pub fn spawn(self) -> Pending {
        let n = self.server.calls.fetch_add(1, Ordering::SeqCst);
        let dir = self.server.tmpdir.join("curl");
        fs::create_dir_all(&dir).expect("curl dir");
        let hdr = dir.join(format!("{n}.headers"));
        let out = self
            .output
            .clone()
            .unwrap_or_else(|| dir.join(format!("{n}.body")));
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "120", "--noproxy", "*"])
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
        let mut request_file = None;
        if let Some(b) = &self.body {
            let f = dir.join(format!("{n}.request"));
            fs::write(&f, b).expect("write request body");
            if !has_ct {
                // curl would say application/x-www-form-urlencoded; say nothing instead.
                cmd.args(["-H", "Content-Type:"]);
            }
            cmd.arg("--data-binary").arg(format!("@{}", f.display()));
            request_file = Some(f);
        }
        cmd.args(&self.extra);
        cmd.arg(self.server.url(&self.path))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().map_err(|e| format!("cannot run curl: {e}"));
        Pending {
            child,
            headers: hdr,
            body: out,
            keep_body: self.output.is_some(),
            request_file,
        }
    }
}

/// A curl request running in the background.
pub struct Pending {
    child: Result<Child, String>,
    headers: PathBuf,
    body: PathBuf,
    keep_body: bool,
    request_file: Option<PathBuf>,
}

impl Pending {
    /// Whether curl has finished.
    pub fn is_done(&mut self) -> bool {
        match &mut self.child {
            Ok(c) => !matches!(c.try_wait(), Ok(None)),
            Err(_) => true,
        }
    }

    /// Stops curl (the client goes away).
    pub fn kill(mut self) {
        if let Ok(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Waits for curl; `Err` with curl's message if the exchange failed at the HTTP level.
    pub fn finish(mut self) -> Result<Resp, String> {
        let child = std::mem::replace(&mut self.child, Err(String::new()))?;
        let o = child.wait_with_output().map_err(|e| format!("curl: {e}"))?;
        let headers_text = fs::read(&self.headers).unwrap_or_default();
        let body = if self.keep_body {
            Vec::new()
        } else {
            fs::read(&self.body).unwrap_or_default()
        };
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

impl Drop for Pending {
    fn drop(&mut self) {
        if let Ok(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = fs::remove_file(&self.headers);
        if !self.keep_body {
            let _ = fs::remove_file(&self.body);
        }
        if let Some(f) = &self.request_file {
            let _ = fs::remove_file(f);
        }
    }
}

/// A response: status, headers in order, body bytes.
#[derive(Clone)]
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

    /// The media type without parameters (`text/plain; charset=utf-8` → `text/plain`).
    pub fn media_type(&self) -> &str {
        self.header("content-type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
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

/// Status, headers and the body as text (cut at 2,000 characters), for assertion messages.
impl std::fmt::Debug for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.text();
        let shown: String = text.chars().take(2000).collect();
        f.debug_struct("Resp")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &shown)
            .field("body_len", &self.body.len())
            .finish()
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

/// `/api/entry?expiration=…` for an admin upload expiring at `expiration` (RFC 3339).
pub fn entry_path(expiration: &str) -> String {
    format!("/api/entry?expiration={}", query_encode(expiration))
}
