//! Random values from the operating system's CSPRNG: entry and guest-link ids, tokens.

/// PicoShare's id alphabet: 57 characters, look-alikes (`l`, `I`, `O`, `0`, `1`) removed.
pub const ID_ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Fills `buf` from the OS CSPRNG. Failure to reach it is unrecoverable for a server that
/// must not hand out guessable ids, so it aborts the request with a panic (a 500).
pub fn fill(buf: &mut [u8]) {
    if let Err(e) = getrandom::getrandom(buf) {
        panic!("the operating system's random number generator failed: {e}");
    }
}

/// `len` characters drawn uniformly from [`ID_ALPHABET`] (rejection sampling, no modulo bias).
pub fn id(len: usize) -> String {
    let n = ID_ALPHABET.len();
    let limit = (256 / n) * n; // 228: bytes at or above it are redrawn.
    let mut out = String::with_capacity(len);
    let mut pool = [0u8; 64];
    while out.len() < len {
        fill(&mut pool);
        for &b in pool.iter() {
            if (b as usize) < limit && out.len() < len {
                out.push(ID_ALPHABET[b as usize % n] as char);
            }
        }
    }
    out
}

/// `bytes` random bytes as lowercase hex.
pub fn hex(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    fill(&mut raw);
    to_hex(&raw)
}

/// Lowercase hex of `raw`.
pub fn to_hex(raw: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(raw.len() * 2);
    for b in raw {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_length_and_alphabet() {
        for len in [10, 16] {
            let s = id(len);
            assert_eq!(s.len(), len);
            assert!(s.bytes().all(|b| ID_ALPHABET.contains(&b)));
        }
        assert_eq!(ID_ALPHABET.len(), 57);
        assert_ne!(id(10), id(10));
    }

    #[test]
    fn hex_is_lowercase_and_double_length() {
        assert_eq!(to_hex(&[0, 255, 16]), "00ff10");
        assert_eq!(hex(16).len(), 32);
    }
}
