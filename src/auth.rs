//! Admin authentication: the passphrase check and signed, expiring session cookies.
//!
//! The cookie (PicoShare's name, `sharedSecret`) carries `v1.<expiry>.<nonce>.<mac>`, where the
//! MAC is HMAC-SHA256 under a key derived from the passphrase and a random per-install key kept
//! beside the database. So a cookie is not the passphrase, expires, and changing the passphrase
//! invalidates every cookie.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::Path;

use crate::model::Timestamp;

type HmacSha256 = Hmac<Sha256>;

/// PicoShare's cookie name.
pub const COOKIE: &str = "sharedSecret";

/// The admin's credentials and the session-signing key.
pub struct Auth {
    key: [u8; 32],
    passphrase_tag: [u8; 32],
    lifetime_secs: i64,
}

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
        let payload = format!(
            "v1.{}.{}",
            now.plus_secs(self.lifetime_secs).unix(),
            crate::random::hex(16)
        );
        let tag = mac(&self.key, &[payload.as_bytes()])
            .finalize()
            .into_bytes();
        format!("{payload}.{}", crate::random::to_hex(&tag))
    }

    /// Whether `token` is one of ours and unexpired at `now` (constant-time MAC check).
    pub fn verify(&self, token: &str, now: Timestamp) -> bool {
        let Some((payload, tag_hex)) = token.rsplit_once('.') else {
            return false;
        };
        let mut parts = payload.split('.');
        let (Some("v1"), Some(expiry), Some(_nonce), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let Ok(expiry) = expiry.parse::<i64>() else {
            return false;
        };
        let Some(tag) = from_hex(tag_hex) else {
            return false;
        };
        mac(&self.key, &[payload.as_bytes()])
            .verify_slice(&tag)
            .is_ok()
            && now.unix() < expiry
    }
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
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
        let b = Auth::new("other", b"install-key-0123456789abcdef0123", 3600);
        assert!(
            !b.verify(&t, now),
            "a new passphrase invalidates old cookies"
        );
        assert_ne!(a.issue(now), t, "tokens are random");
    }
}
