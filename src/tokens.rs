//! API tokens' format and secrecy: `psr_<id>_<secret>`, drawn from the operating system's
//! CSPRNG, shown once, stored only as a hash and checked in constant time. The table is the
//! store's (`store/tokens.rs`); who may do what with a token is decided in one place,
//! `App::require` (`app.rs`).
//!
//! The hash is HMAC-SHA256 under a fixed, public key (domain separation only), not under the
//! per-install session key: that key lives in a file beside the database that neither
//! Litestream nor `picoshare backup` copies, and a server rebuilt from a replica must still
//! accept its scripts' tokens. A secret of 151 random bits needs no key to resist an offline
//! search of a leaked database.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::model::{TokenId, TOKEN_ID_LEN};
use crate::random::{self, ID_ALPHABET};

/// Every token starts with this, so secret scanners (and people) recognise a leaked one.
pub const PREFIX: &str = "psr_";

/// Characters of the secret part: 26 × log2(57) ≈ 151 random bits.
pub const SECRET_LEN: usize = 26;

/// The length of every token.
pub const TOKEN_LEN: usize = PREFIX.len() + TOKEN_ID_LEN + 1 + SECRET_LEN;

/// The HMAC key: public, it only keeps these hashes apart from any other SHA-256 use.
const HASH_KEY: &[u8] = b"picoshare-rs api token v1";

fn mac(token: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(HASH_KEY).unwrap_or_else(|_| unreachable!());
    m.update(token.as_bytes());
    m
}

/// A new token for the row `id`, and the hash to store. The token itself is returned to the
/// admin once and kept nowhere.
pub fn generate(id: &TokenId) -> (String, [u8; 32]) {
    let token = format!("{PREFIX}{}_{}", id.as_str(), random::id(SECRET_LEN));
    let hash = hash(&token);
    (token, hash)
}

/// The stored form of `token`.
pub fn hash(token: &str) -> [u8; 32] {
    mac(token).finalize().into_bytes().into()
}

/// The id inside a well-formed token (prefix, id, `_`, secret of the id alphabet), so its row
/// can be looked up; `None` for anything else.
pub fn id_of(token: &str) -> Option<TokenId> {
    if token.len() != TOKEN_LEN {
        return None;
    }
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_at_checked(TOKEN_ID_LEN)?;
    let secret = secret.strip_prefix('_')?;
    let shaped = secret.len() == SECRET_LEN && secret.bytes().all(|b| ID_ALPHABET.contains(&b));
    shaped.then(|| TokenId::parse(id).ok()).flatten()
}

/// Whether `token` is the one whose hash is `stored`, compared in constant time.
pub fn matches(token: &str, stored: &[u8]) -> bool {
    mac(token).verify_slice(stored).is_ok()
}

/// The token of an `Authorization: Bearer …` header (scheme in any case, RFC 7235), or `None`
/// when the header is absent or names another scheme.
pub fn bearer(authorization: Option<&str>) -> Option<&str> {
    let value = authorization?.trim_start();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_checked_against_their_hash_only() {
        let id = TokenId::random();
        let (token, stored) = generate(&id);
        assert_eq!(token.len(), TOKEN_LEN);
        assert!(token.starts_with("psr_"));
        assert_eq!(id_of(&token), Some(id.clone()));
        assert!(matches(&token, &stored));
        assert!(!token.contains(&random::to_hex(&stored)));
        let (other, _) = generate(&id);
        assert_ne!(token, other, "secrets are random");
        assert!(!matches(&other, &stored), "same id, other secret");
        let mut flipped = token.clone();
        let last = flipped.pop().unwrap();
        flipped.push(if last == 'a' { 'b' } else { 'a' });
        assert!(!matches(&flipped, &stored));
        assert!(!matches(&token, &stored[..31]));
    }

    #[test]
    fn only_well_formed_tokens_name_an_id() {
        let id = TokenId::random();
        let (token, _) = generate(&id);
        for bad in [
            "",
            "psr_",
            &token[..token.len() - 1],
            &format!("{token}a"),
            &token.replacen("psr_", "psx_", 1),
            &token.replacen('_', "-", 2),
            &format!("{}l", &token[..token.len() - 1]),
            "psr_aaaaaaaaaa_ééééééééééééé",
        ] {
            assert_eq!(id_of(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_others_are_not_tokens() {
        assert_eq!(bearer(Some("Bearer psr_x")), Some("psr_x"));
        assert_eq!(bearer(Some("bearer  psr_x ")), Some("psr_x"));
        assert_eq!(bearer(Some("Basic dXNlcjpwdw==")), None);
        assert_eq!(bearer(Some("Bearer")), None);
        assert_eq!(bearer(None), None);
    }
}
