//! The application: shared state, and the one table of every route. Each arm names one
//! handler; handlers parse, call the store, and build a response, returning early with `?`.

use std::io::Read;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use rouille::{Request, Response, ResponseBody};

use crate::admission::{Admission, AdmissionLimits};
use crate::assets;
use crate::auth::{device_cookie, Auth, COOKIE, DEVICE_COOKIE};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::handlers::{
    auth, bundles, download, entry, guest_links, information, pages, qr, settings,
    tokens as token_api, tus, upload,
};
use crate::model::{Timestamp, TokenId, TokenScope};
use crate::multipart::Limits;
use crate::store::{Store, Uploader};
use crate::throttle::LoginClient;
use crate::tokens;

/// Where "now" comes from; tests inject a fixed clock.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Timestamp::from_unix(secs)
    })
}

/// Who is calling the API, as [`App::require`] decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// The admin in a browser: a valid session cookie (and, for a state-changing request, our
    /// own origin).
    Session,
    /// A script with a valid API token.
    Token { id: TokenId, scope: TokenScope },
}

impl Caller {
    /// Who a file this caller uploads is stored as.
    pub fn uploader(&self) -> Uploader<'_> {
        match self {
            Caller::Session => Uploader::Admin,
            Caller::Token { id, .. } => Uploader::Token(id),
        }
    }
}

/// What a handler needs of its caller (see [`App::require`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Create files: the admin's session or an API token of either scope.
    Upload,
    /// The admin API: the admin's session or an `admin`-scope token.
    Admin,
    /// Managing API tokens: the admin's session only. A token cannot mint, list or revoke
    /// tokens, so revoking a leaked one is the end of it.
    Session,
}

/// Everything a handler may use.
pub struct App {
    pub config: Arc<Config>,
    pub store: Arc<Store>,
    pub auth: Auth,
    pub clock: Clock,
    /// Slows down passphrase guessing.
    pub login_throttle: crate::throttle::LoginThrottle,
    /// Slows down guessing of files' download passphrases, per client address like logins
    /// (kept apart, so a visitor's typos never lock the admin out).
    pub unlock_throttle: crate::throttle::LoginThrottle,
    /// Wakes the collector to give deleted files' space back.
    pub gc_wake: Arc<crate::gc::Wake>,
    /// Download history: coalescing, and the queue its writer thread empties.
    pub(crate) history: Arc<crate::history::History>,
    /// Rate limits on uploads through guest links.
    pub(crate) guest_uploads: crate::rate::GuestUploadRate,
    /// Caps on transfers and on one address's requests.
    pub admission: Admission,
    /// Requests whose response has not been completely written yet (for graceful shutdown).
    in_flight: Arc<AtomicUsize>,
    /// Requests taken so far (see [`App::requests_taken`]).
    requests_taken: AtomicU64,
    /// Where uploads spool (beside the database).
    spool_dir: PathBuf,
}

/// Answers with the handler for the request's method, or 405 listing the allowed ones.
macro_rules! methods {
    ($method:expr, $allow:literal, { $($m:pat => $handler:expr),+ $(,)? }) => {
        match $method {
            $($m => $handler,)+
            _ => Err(Error::MethodNotAllowed($allow)),
        }
    };
}

impl App {
    pub fn new(config: Arc<Config>, store: Arc<Store>, auth: Auth, clock: Clock) -> Self {
        let history = Arc::new(crate::history::History::new(&config));
        let guest_uploads = crate::rate::GuestUploadRate::new(
            config.guest_uploads_per_address,
            config.guest_uploads_per_link,
            config.guest_rate_keys,
        );
        let throttle = config.login_throttle.clone();
        let admission = Admission::new(AdmissionLimits {
            max_transfers: config.max_transfers,
            max_transfers_per_client: config.max_transfers_per_client,
            max_requests_per_client: config.max_requests_per_client,
        });
        App {
            admission,
            spool_dir: config.spool_dir(),
            history,
            guest_uploads,
            config,
            store,
            auth,
            clock,
            gc_wake: Arc::default(),
            login_throttle: crate::throttle::LoginThrottle::new(
                throttle.clone(),
                std::time::Instant::now(),
            ),
            unlock_throttle: crate::throttle::LoginThrottle::new(
                throttle,
                std::time::Instant::now(),
            ),
            in_flight: Arc::new(AtomicUsize::new(0)),
            requests_taken: AtomicU64::new(0),
        }
    }

    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// The multipart bounds of an upload, from the configuration.
    pub fn upload_limits(&self) -> Limits<'_> {
        Limits::from_config(&self.config, &self.spool_dir)
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Requests taken since start-up (wraps; compared for change only).
    pub fn requests_taken(&self) -> u64 {
        self.requests_taken.load(Ordering::Acquire)
    }

    /// Every route. (rouille's `router!` cannot match PicoShare's `/-{id}` segment prefix or
    /// answer 405, so the table is a plain `match` on the path's segments.)
    fn route(&self, req: &Request) -> Result<Response> {
        let url = req.url();
        let segments: Vec<&str> = url.trim_start_matches('/').split('/').collect();
        let method = req.method();
        match segments.as_slice() {
            [""] => methods!(method, "GET, HEAD", { "GET" | "HEAD" => pages::index(self, req) }),
            ["login"] => methods!(method, "GET, HEAD, POST", {
                "GET" | "HEAD" => pages::login(self, req),
                "POST" => pages::login_form(self, req),
            }),
            ["logout"] => {
                methods!(method, "POST", { "POST" => pages::logout_form(self, req) })
            }
            ["files"] => {
                methods!(method, "GET, HEAD", { "GET" | "HEAD" => pages::files(self, req) })
            }
            ["bundles"] => {
                methods!(method, "GET, HEAD", { "GET" | "HEAD" => pages::bundles(self, req) })
            }
            ["files", id, "info"] => {
                methods!(method, "GET, HEAD", { "GET" | "HEAD" => pages::info(self, req, id) })
            }
            ["files", id, "edit"] => {
                methods!(method, "GET, HEAD", { "GET" | "HEAD" => pages::edit(self, req, id) })
            }
            ["files", id, "confirm-delete"] => methods!(method, "GET, HEAD", {
                "GET" | "HEAD" => pages::confirm_delete(self, req, id),
            }),
            ["files", id, "downloads"] => methods!(method, "GET, HEAD", {
                "GET" | "HEAD" => pages::downloads(self, req, id),
            }),
            ["files", id, "qr.svg"] => {
                methods!(method, "GET, HEAD", { "GET" | "HEAD" => qr::file(self, req, id) })
            }
            ["bundles", id, "qr.svg"] => {
                methods!(method, "GET, HEAD", { "GET" | "HEAD" => qr::bundle(self, req, id) })
            }
            ["guest-links"] => methods!(method, "GET, HEAD", {
                "GET" | "HEAD" => pages::guest_links(self, req),
            }),
            ["guest-links", "new"] => methods!(method, "GET, HEAD", {
                "GET" | "HEAD" => pages::new_guest_link(self, req),
            }),
            ["guest-links", id, "qr.svg"] => methods!(method, "GET, HEAD", {
                "GET" | "HEAD" => qr::guest_link(self, req, id),
            }),
            ["g", id, ..] => methods!(method, "GET, HEAD", {
                "GET" | "HEAD" => pages::guest_upload(self, req, id),
            }),
            ["settings"] => {
                methods!(method, "GET, HEAD", { "GET" | "HEAD" => pages::settings(self, req) })
            }
            ["information"] => methods!(method, "GET, HEAD", {
                "GET" | "HEAD" => pages::information(self, req),
            }),
            ["api", "auth"] => methods!(method, "POST, DELETE", {
                "POST" => auth::api_login(self, req),
                "DELETE" => auth::logout(self, req),
            }),
            ["api", "entry"] => methods!(method, "POST", {
                "POST" => self.transfer(req, || upload::admin(self, req)),
            }),
            ["api", "entries"] => {
                methods!(method, "GET, HEAD", { "GET" | "HEAD" => entry::list(self, req) })
            }
            ["api", "entry", id] => methods!(method, "GET, HEAD, PUT, DELETE", {
                "GET" | "HEAD" => entry::get(self, req, id),
                "PUT" => entry::edit(self, req, id),
                "DELETE" => entry::delete(self, req, id),
            }),
            ["api", "entry", id, "file"] => methods!(method, "PUT", {
                "PUT" => self.transfer(req, || upload::replace(self, req, id)),
            }),
            ["api", "bundles"] => {
                methods!(method, "POST", { "POST" => bundles::create(self, req) })
            }
            ["api", "bundles", id] => methods!(method, "PUT, DELETE", {
                "PUT" => bundles::edit(self, req, id),
                "DELETE" => bundles::delete(self, req, id),
            }),
            ["api", "guest-links"] => {
                methods!(method, "POST", { "POST" => guest_links::create(self, req) })
            }
            ["api", "guest-links", id] => {
                methods!(method, "DELETE", { "DELETE" => guest_links::delete(self, req, id) })
            }
            ["api", "guest-links", id, "enable"] => {
                methods!(method, "PUT", { "PUT" => guest_links::enable(self, req, id) })
            }
            ["api", "guest-links", id, "disable"] => {
                methods!(method, "PUT", { "PUT" => guest_links::disable(self, req, id) })
            }
            ["api", "guest", id] => methods!(method, "POST", {
                "POST" => self.transfer(req, || upload::guest(self, req, id)),
            }),
            ["api", "tokens"] => methods!(method, "GET, HEAD, POST", {
                "GET" | "HEAD" => token_api::list(self, req),
                "POST" => token_api::create(self, req),
            }),
            ["api", "tokens", id] => {
                methods!(method, "DELETE", { "DELETE" => token_api::delete(self, req, id) })
            }
            // Resumable uploads (tus): the protocol picks its methods (and may override them).
            ["api", "tus"] | ["api", "tus", ""] => self.tus(req, tus::Route::Creation(None)),
            ["api", "tus", id] => self.tus(req, tus::Route::Upload(None, id)),
            ["api", "guest", link, "tus"] | ["api", "guest", link, "tus", ""] => {
                self.tus(req, tus::Route::Creation(Some(link)))
            }
            ["api", "guest", link, "tus", id] => self.tus(req, tus::Route::Upload(Some(link), id)),
            ["api", "settings"] => {
                methods!(method, "PUT", { "PUT" => settings::update(self, req) })
            }
            ["api", "information"] => {
                methods!(method, "GET, HEAD", { "GET" | "HEAD" => information::get(self, req) })
            }
            [first, "unlock"] if first.starts_with('-') => methods!(method, "GET, HEAD, POST", {
                "GET" | "HEAD" => pages::unlock::unlock_page(self, req, &first[1..]),
                "POST" => self.transfer(req, || pages::unlock::unlock(self, req, &first[1..])),
            }),
            [first, ..] if download::is_download_segment(first) => methods!(method, "GET, HEAD", {
                "GET" => self.transfer(req, || download::serve(self, req, &first[1..])),
                "HEAD" => download::serve(self, req, &first[1..]),
            }),
            _ => match assets::find(&url) {
                Some(asset) => methods!(method, "GET, HEAD", {
                    "GET" | "HEAD" => Ok(assets::serve(req, asset)),
                }),
                None => Err(Error::NoSuchPage),
            },
        }
    }

    /// Handles one request: admits it (one address may only have so many in flight), routes
    /// it, turns errors into responses, and tracks it until its body has been written.
    pub fn handle(&self, req: &Request) -> Response {
        let guard = InFlight::new(&self.in_flight);
        self.requests_taken.fetch_add(1, Ordering::AcqRel);
        let response = match self.admission.request(self.client_addr(req)) {
            Ok(ticket) => {
                let response = self
                    .route(req)
                    .unwrap_or_else(|e| e.into_response(self, req));
                hold_until_sent(response, ticket)
            }
            Err(refused) => Error::Busy(refused.message()).into_response(self, req),
        };
        hold_until_sent(response, guard)
    }

    /// A resumable-upload (tus) request: one that may carry a file's bytes (`POST`, `PATCH`) is
    /// a long transfer like an ordinary upload, admitted by [`App::transfer`]; the others
    /// (`HEAD`, `OPTIONS`, `DELETE`) are small.
    fn tus(&self, req: &Request, route: tus::Route) -> Result<Response> {
        if tus::carries_bytes(req) {
            return self.transfer(req, || Ok(tus::answer(self, req, route)));
        }
        Ok(tus::answer(self, req, route))
    }

    /// Runs a long transfer's handler (an upload or a download) if this client may start one
    /// now, holding its transfer slot until the response has been written; otherwise refuses
    /// at once with 503 and `Retry-After`, without reading the body.
    fn transfer(
        &self,
        req: &Request,
        handler: impl FnOnce() -> Result<Response>,
    ) -> Result<Response> {
        let slot = self
            .admission
            .transfer(self.client_addr(req))
            .map_err(|refused| Error::Busy(refused.message()))?;
        Ok(hold_until_sent(handler()?, slot))
    }

    /// Whether the request carries a valid admin session cookie.
    pub fn is_admin(&self, req: &Request) -> bool {
        let now = self.now();
        rouille::input::cookies(req)
            .any(|(name, value)| name == COOKIE && self.auth.verify(value, now))
    }

    /// For admin pages: fails unless the request carries the admin's session cookie, which
    /// sends a browser to the login page (and back here afterwards). Pages are for browsers:
    /// an API token is refused here with a reason instead.
    pub fn require_admin_page(&self, req: &Request) -> Result<()> {
        if self.is_admin(req) {
            Ok(())
        } else if tokens::bearer(req.header("Authorization")).is_some() {
            Err(Error::Forbidden(
                "API tokens work on the API (/api/...) only; pages need the admin's session",
            ))
        } else {
            Err(Error::LoginRequired)
        }
    }

    /// The one place that decides who an API request is, for a handler that states what it
    /// needs. An `Authorization: Bearer` token decides when there is one (a cookie beside it
    /// is ignored): a bad, revoked or expired one is a 401 that counts against the login
    /// throttle; a good one whose scope falls short of `need` is a 403 saying why. Bearer
    /// requests skip the origin check: a token is not a credential a browser attaches by
    /// itself. Otherwise the admin's session cookie: 401 (and a clearing cookie) without
    /// one, 403 for a state-changing request from another origin.
    pub fn require(&self, req: &Request, need: Need) -> Result<Caller> {
        if let Some(token) = tokens::bearer(req.header("Authorization")) {
            let (id, scope) = self.check_token(req, token)?;
            return match (need, scope) {
                (Need::Session, _) => Err(Error::Forbidden(
                    "API tokens cannot manage API tokens: use the Settings page",
                )),
                (Need::Admin, TokenScope::Upload) => Err(Error::Forbidden(
                    "this API token's scope is \"upload\": it may only upload files",
                )),
                _ => Ok(Caller::Token { id, scope }),
            };
        }
        if !self.is_admin(req) {
            return Err(Error::AuthRequired);
        }
        if !matches!(req.method(), "GET" | "HEAD") && !same_origin(req) {
            return Err(Error::Forbidden("cross-origin request refused"));
        }
        Ok(Caller::Session)
    }

    /// An API token's id and scope if it is good. The login throttle comes first (a
    /// throttled client waits, whatever it sends); a token that is malformed, unknown,
    /// revoked, wrong (hash compared in constant time) or expired counts against the client
    /// like a wrong passphrase. A good one does not clear the client's failures, so a token
    /// cannot buy more passphrase guesses. Its `last used` time is written at most once per
    /// `token_last_used_interval`, not on every request.
    fn check_token(&self, req: &Request, token: &str) -> Result<(TokenId, TokenScope)> {
        // Keyed on the trusted client address, as logins are; a script carries no
        // known-device cookie, so its failures count against its address.
        let client = LoginClient {
            addr: self.client_addr(req),
            device: None,
        };
        let started = std::time::Instant::now();
        self.login_throttle
            .check(client, started)
            .map_err(Error::TooManyRequests)?;
        let now = self.now();
        let refuse = |why| {
            self.login_throttle.failure(client, started);
            Err(Error::BadToken(why))
        };
        let found = match tokens::id_of(token) {
            Some(id) => self.store.token(&id)?,
            None => None,
        };
        let Some(row) = found.filter(|row| tokens::matches(token, &row.hash)) else {
            return refuse("invalid API token");
        };
        let t = row.token;
        if t.is_expired(now) {
            return refuse("API token expired");
        }
        let interval = self.config.token_last_used_interval.as_secs() as i64;
        if t.last_used.map_or(true, |used| {
            now.unix().saturating_sub(used.unix()) >= interval
        }) {
            if let Err(e) = self.store.touch_token(&t.id, now) {
                eprintln!("picoshare: could not note an API token's use: {e}");
            }
        }
        Ok((t.id, t.scope))
    }

    /// The trusted client address, which every limit keys on: the socket peer, or with
    /// `PS_BEHIND_PROXY` the last `X-Forwarded-For` entry — the one our proxy appended; the
    /// entries before it are whatever the client sent. Without that header (or with garbage
    /// in it) the peer, i.e. the proxy.
    pub fn client_addr(&self, req: &Request) -> IpAddr {
        let peer = req.remote_addr().ip().to_canonical();
        if !self.config.behind_proxy {
            return peer;
        }
        req.header("X-Forwarded-For")
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .and_then(|last| {
                last.parse::<IpAddr>()
                    .or_else(|_| last.parse::<std::net::SocketAddr>().map(|a| a.ip()))
                    .ok()
            })
            .map_or(peer, |ip| ip.to_canonical())
    }

    /// The client's address as PicoShare records it in the download history: the socket
    /// peer, or with `PS_BEHIND_PROXY` the first `X-Forwarded-For` entry (else `X-Real-IP`).
    /// For display only: limits use [`App::client_addr`].
    pub fn client_ip(&self, req: &Request) -> String {
        if self.config.behind_proxy {
            let forwarded = req
                .header("X-Forwarded-For")
                .and_then(|v| v.split(',').next())
                .or_else(|| req.header("X-Real-IP"))
                .map(str::trim)
                .filter(|v| !v.is_empty());
            if let Some(ip) = forwarded {
                return ip.to_owned();
            }
        }
        req.remote_addr().ip().to_string()
    }

    /// The origin users reach us at, for absolute links (the guest upload's plain-text answer,
    /// pages without JavaScript, QR codes): `https` when a trusted proxy says the client came
    /// over HTTPS (see [`App::is_https`]), and the request's `Host`.
    pub fn public_origin(&self, req: &Request) -> String {
        let scheme = if self.is_https(req) { "https" } else { "http" };
        let host = req.header("Host").map(str::trim).unwrap_or("localhost");
        format!("{scheme}://{host}")
    }

    /// Who is trying to log in, for the throttle: the trusted client address, and the
    /// known-device cookie's id when the request carries a genuine one.
    pub fn login_client(&self, req: &Request) -> LoginClient {
        let now = self.now();
        LoginClient {
            addr: self.client_addr(req),
            device: rouille::input::cookies(req)
                .filter(|(name, _)| *name == DEVICE_COOKIE)
                .find_map(|(_, value)| self.auth.verify_device(value, now)),
        }
    }

    /// Adds a fresh known-device cookie to a successful login's response.
    pub fn remember_device(&self, req: &Request, response: Response) -> Response {
        let lifetime = self.config.device_cookie_lifetime.as_secs() as i64;
        let token = self.auth.issue_device(self.now(), lifetime);
        response.with_additional_header(
            "Set-Cookie",
            device_cookie(&token, lifetime, self.is_https(req)),
        )
    }

    /// Whether the client reached us over HTTPS (only a trusted proxy can say so).
    pub fn is_https(&self, req: &Request) -> bool {
        self.config.behind_proxy
            && req
                .header("X-Forwarded-Proto")
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
    }
}

/// Cross-site request defence on top of `SameSite=Strict`: browsers send `Origin` (or at
/// least `Referer`) with every state-changing request; when present, its host must be ours.
/// Clients that send neither (curl, scripts) are not browsers and cannot be forged into
/// sending our cookie.
fn same_origin(req: &Request) -> bool {
    let Some(host) = req.header("Host").map(str::trim) else {
        return false;
    };
    let source = req
        .header("Origin")
        .filter(|o| !o.trim().is_empty())
        .or_else(|| req.header("Referer"));
    match source {
        None => true,
        Some(url) => {
            let rest = url
                .trim()
                .split_once("://")
                .map(|(_, rest)| rest)
                .unwrap_or("");
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            !authority.is_empty() && authority.eq_ignore_ascii_case(host)
        }
    }
}

/// Counts a request as in flight until dropped.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(counter))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Keeps `guard` (an in-flight count, an admission ticket) alive until the transport drops
/// the response body, i.e. until the response has been written or abandoned.
fn hold_until_sent<G: Send + 'static>(mut response: Response, guard: G) -> Response {
    let (body, len) =
        std::mem::replace(&mut response.data, ResponseBody::empty()).into_reader_and_size();
    let body = Tracked {
        body,
        _guard: guard,
    };
    response.data = match len {
        Some(n) => ResponseBody::from_reader_and_size(body, n),
        None => ResponseBody::from_reader(body),
    };
    response
}

/// A response body that holds a guard until the transport drops it.
struct Tracked<G> {
    body: Box<dyn Read + Send>,
    _guard: G,
}

impl<G> Read for Tracked<G> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.body.read(buf)
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::store::test_support::{temp_store, TempStore};

    /// The passphrase of [`test_app`]'s admin.
    pub const PASSPHRASE: &str = "test passphrase";

    /// An app on a fresh temporary store with 5-byte chunks and a fixed clock.
    pub struct TestApp {
        pub app: App,
        /// Keeps the database folder until the test ends.
        _store: TempStore,
    }

    pub fn test_app() -> TestApp {
        let store = temp_store(5);
        let config = Config::defaults(store.dir.join("store.db"), PASSPHRASE.into());
        let auth = Auth::new(PASSPHRASE, &[7; 32], 3600);
        let now = Timestamp::from_unix(1_800_000_000);
        let app = App::new(
            Arc::new(config),
            Arc::clone(&store.store),
            auth,
            Arc::new(move || now),
        );
        TestApp { app, _store: store }
    }

    impl TestApp {
        /// The `Cookie` header of a logged-in admin.
        pub fn admin_cookie(&self) -> (String, String) {
            let token = self.app.auth.issue(self.app.now());
            ("Cookie".into(), format!("{COOKIE}={token}"))
        }

        /// Sends a request through the whole app; returns the status, the headers and the body.
        pub fn send(
            &self,
            method: &str,
            url: &str,
            headers: Vec<(String, String)>,
            body: &[u8],
        ) -> (u16, Vec<(String, String)>, String) {
            let req = Request::fake_http(method, url, headers, body.to_vec());
            let response = self.app.handle(&req);
            let headers = response
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let (mut reader, _) = response.data.into_reader_and_size();
            let mut text = String::new();
            reader.read_to_string(&mut text).unwrap();
            (response.status_code, headers, text)
        }
    }

    /// The value of header `name` (any case).
    pub fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
