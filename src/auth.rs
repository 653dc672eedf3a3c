//! Admin authentication: the passphrase check, signed expiring session cookies, and signed
//! known-device cookies.
//!
//! The cookie (PicoShare's name, `sharedSecret`) carries `v1.<expiry>.<nonce>.<mac>`, where the
//! MAC is HMAC-SHA256 under a key derived from the passphrase and a random per-install key kept
//! beside the database. So a cookie is not the passphrase, expires, and changing the passphrase
//! invalidates every cookie. Logging out revokes the cookie's nonce; revocations are kept in
//! a small file beside the database (`<db>-revoked`) until the cookie would have expired.
//!
//! A successful login also sets [`DEVICE_COOKIE`], `d1.<expiry>.<nonce>.<mac>` under the same
//! key (OWASP's device-cookie pattern): it grants nothing but, to the login throttle, marks a
//! browser that has logged in before, exempting it from the global and per-address delays
//! (see `throttle.rs`). It outlives logouts and dies with the passphrase.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::model::Timestamp;

type HmacSha256 = Hmac<Sha256>;

/// PicoShare's cookie name.
pub const COOKIE: &str = "sharedSecret";

/// Our known-device cookie's name.
pub const DEVICE_COOKIE: &str = "picoshareDevice";

/// The admin's credentials and the session-signing key.
pub struct Auth {
    key: [u8; 32],
    passphrase_tag: [u8; 32],
    lifetime_secs: i64,
    /// Revoked nonces and when their cookies would have expired.
    revoked: Mutex<HashMap<String, i64>>,
    revoked_file: Option<PathBuf>,
}

/// Most revocations remembered; past it the ones closest to expiring anyway are dropped.
const MAX_REVOKED: usize = 10_000;

fn mac(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for p in parts {
        m.update(p);
    }
    m
}

impl Auth {
    /// `install_key` is random bytes kept across restarts; `lifetime_secs` the cookie lifetime.
    pub fn new(passphrase: &str, install_key: &[u8], lifetime_secs: i64) -> Self {
        let key: [u8; 32] = mac(
            install_key,
            &[b"picoshare-rs session v1\0", passphrase.as_bytes()],
        )
        .finalize()
        .into_bytes()
        .into();
        let passphrase_tag = mac(&key, &[b"passphrase\0", passphrase.as_bytes()])
            .finalize()
            .into_bytes()
            .into();
        Auth {
            key,
            passphrase_tag,
            lifetime_secs,
            revoked: Mutex::new(HashMap::new()),
            revoked_file: None,
        }
    }

    /// Keeps revocations in `path` (loaded now, appended on logout), dropping expired ones.
    pub fn with_revocation_file(mut self, path: PathBuf, now: Timestamp) -> std::io::Result<Self> {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let mut live = HashMap::new();
        for line in text.lines() {
            if let Some((nonce, exp)) = line.split_once(' ') {
                if let Ok(exp) = exp.parse::<i64>() {
                    if exp > now.unix() && live.len() < MAX_REVOKED {
                        live.insert(nonce.to_owned(), exp);
                    }
                }
            }
        }
        let mut compacted = String::new();
        for (nonce, exp) in &live {
            compacted.push_str(&format!("{nonce} {exp}\n"));
        }
        std::fs::write(&path, compacted)?;
        self.revoked = Mutex::new(live);
        self.revoked_file = Some(path);
        Ok(self)
    }

    /// Revokes a token (logout). Unknown or invalid tokens are ignored.
    pub fn revoke(&self, token: &str, now: Timestamp) {
        let Some((nonce, expiry)) = self.parse_valid(token, now) else {
            return;
        };
        let mut revoked = crate::locks::lock(&self.revoked);
        if revoked.len() >= MAX_REVOKED {
            revoked.retain(|_, exp| *exp > now.unix());
            if revoked.len() >= MAX_REVOKED {
                if let Some(k) = revoked
                    .iter()
                    .min_by_key(|(_, e)| **e)
                    .map(|(k, _)| k.clone())
                {
                    revoked.remove(&k);
                }
            }
        }
        revoked.insert(nonce.to_owned(), expiry);
        if let Some(path) = &self.revoked_file {
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| writeln!(f, "{nonce} {expiry}"));
            if let Err(e) = written {
                eprintln!("picoshare: could not persist a logout: {e}");
            }
        }
    }

    pub fn lifetime_secs(&self) -> i64 {
        self.lifetime_secs
    }

    /// Constant-time check of a submitted passphrase.
    pub fn passphrase_matches(&self, given: &str) -> bool {
        mac(&self.key, &[b"passphrase\0", given.as_bytes()])
            .verify_slice(&self.passphrase_tag)
            .is_ok()
    }

    /// A new session token valid until `now + lifetime`.
    pub fn issue(&self, now: Timestamp) -> String {
        self.sign("v1", now.plus_secs(self.lifetime_secs))
    }

    /// `<kind>.<expiry>.<random nonce>.<mac>`.
    fn sign(&self, kind: &str, expiry: Timestamp) -> String {
        let payload = format!("{kind}.{}.{}", expiry.unix(), crate::random::hex(16));
        let tag = mac(&self.key, &[payload.as_bytes()])
            .finalize()
            .into_bytes();
        format!("{payload}.{}", crate::random::to_hex(&tag))
    }

    /// Whether `token` is one of ours, unexpired at `now` and not revoked.
    pub fn verify(&self, token: &str, now: Timestamp) -> bool {
        match self.parse_valid(token, now) {
            Some((nonce, _)) => !crate::locks::lock(&self.revoked).contains_key(nonce),
            None => false,
        }
    }

    /// A new known-device token valid for `lifetime_secs` from `now`.
    pub fn issue_device(&self, now: Timestamp, lifetime_secs: i64) -> String {
        self.sign("d1", now.plus_secs(lifetime_secs))
    }

    /// The device id of a genuine known-device token unexpired at `now`.
    pub fn verify_device(&self, token: &str, now: Timestamp) -> Option<u128> {
        let (nonce, _) = self.parse_signed("d1", token, now)?;
        u128::from_str_radix(nonce, 16).ok()
    }

    /// The nonce and expiry of a well-formed, correctly signed (constant-time MAC check),
    /// unexpired session token.
    fn parse_valid<'t>(&self, token: &'t str, now: Timestamp) -> Option<(&'t str, i64)> {
        self.parse_signed("v1", token, now)
    }

    /// The nonce and expiry of a well-formed, correctly signed, unexpired token of `kind`.
    fn parse_signed<'t>(
        &self,
        kind: &str,
        token: &'t str,
        now: Timestamp,
    ) -> Option<(&'t str, i64)> {
        let (payload, tag_hex) = token.rsplit_once('.')?;
        let mut parts = payload.split('.');
        let (Some(k), Some(expiry), Some(nonce), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if k != kind {
            return None;
        }
        let expiry = expiry.parse::<i64>().ok()?;
        let tag = from_hex(tag_hex)?;
        let genuine = mac(&self.key, &[payload.as_bytes()])
            .verify_slice(&tag)
            .is_ok();
        (genuine && now.unix() < expiry).then_some((nonce, expiry))
    }
}

/// Lowercase hex only, as [`crate::random::to_hex`] writes it: one token, one spelling.
fn from_hex(s: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let b = s.as_bytes();
    if b.len() % 2 != 0 {
        return None;
    }
    b.chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// Reads the per-install key at `path`, creating it (32 random bytes, mode 0600) if missing.
pub fn load_or_create_install_key(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(k) if k.len() >= 32 => Ok(k),
        _ => {
            let mut key = vec![0u8; 32];
            crate::random::fill(&mut key);
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(path)?;
            f.write_all(&key)?;
            f.sync_all()?;
            Ok(key)
        }
    }
}

/// The session cookie, with `Secure` when the request came over HTTPS.
pub fn session_cookie(token: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The known-device cookie: sent to every path (the login form and the API both read it),
/// never to scripts or other sites, `Secure` over HTTPS.
pub fn device_cookie(token: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{DEVICE_COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// A cookie that removes the session cookie.
pub fn clearing_cookie() -> String {
    format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_expire_and_die_with_the_passphrase() {
        let now = Timestamp::from_unix(1_800_000_000);
        let a = Auth::new("pw", b"install-key-0123456789abcdef0123", 3600);
        assert!(a.passphrase_matches("pw"));
        assert!(!a.passphrase_matches("pw "));
        assert!(!a.passphrase_matches(""));
        let t = a.issue(now);
        assert!(a.verify(&t, now));
        assert!(a.verify(&t, now.plus_secs(3599)));
        assert!(!a.verify(&t, now.plus_secs(3600)), "expired");
        let mut forged = t.clone();
        forged.replace_range(3..4, "9");
        assert!(!a.verify(&forged, now));
        assert!(!a.verify("", now));
        assert!(!a.verify("v1.1.2.zz", now));
        assert!(
            !a.verify(&t.to_uppercase().replace("V1", "v1"), now),
            "one spelling only"
        );
        let b = Auth::new("other", b"install-key-0123456789abcdef0123", 3600);
        assert!(
            !b.verify(&t, now),
            "a new passphrase invalidates old cookies"
        );
        assert_ne!(a.issue(now), t, "tokens are random");
    }

    #[test]
    fn issue_15_device_tokens_are_their_own_kind_and_die_with_the_passphrase() {
        let now = Timestamp::from_unix(1_800_000_000);
        let a = Auth::new("pw", b"install-key-0123456789abcdef0123", 3600);
        let d = a.issue_device(now, 86_400);
        assert!(d.starts_with("d1."));
        let id = a.verify_device(&d, now).expect("genuine");
        assert_ne!(a.verify_device(&a.issue_device(now, 86_400), now), Some(id));
        assert_eq!(a.verify_device(&d, now.plus_secs(86_400)), None, "expired");
        assert!(!a.verify(&d, now), "a device token is not a session");
        assert_eq!(a.verify_device(&a.issue(now), now), None, "nor the reverse");
        let mut forged = d.clone();
        forged.replace_range(3..4, "9");
        assert_eq!(a.verify_device(&forged, now), None);
        let b = Auth::new("other", b"install-key-0123456789abcdef0123", 3600);
        assert_eq!(
            b.verify_device(&d, now),
            None,
            "a new passphrase forgets devices"
        );
    }

    #[test]
    fn logout_revokes_one_token_and_survives_a_restart() {
        let dir = std::env::temp_dir().join(format!("ps-auth-{}", crate::random::hex(6)));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("revoked");
        let now = Timestamp::from_unix(1_800_000_000);
        let key = b"install-key-0123456789abcdef0123";
        let a = Auth::new("pw", key, 3600)
            .with_revocation_file(file.clone(), now)
            .unwrap();
        let (t1, t2) = (a.issue(now), a.issue(now));
        a.revoke(&t1, now);
        assert!(!a.verify(&t1, now));
        assert!(a.verify(&t2, now), "other sessions stay");
        let b = Auth::new("pw", key, 3600)
            .with_revocation_file(file.clone(), now)
            .unwrap();
        assert!(!b.verify(&t1, now), "revocation persisted");
        assert!(b.verify(&t2, now));
        let later = now.plus_secs(7200);
        let _ = Auth::new("pw", key, 3600)
            .with_revocation_file(file.clone(), later)
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "",
            "expired revocations dropped"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
