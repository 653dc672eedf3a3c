//! Test data: deterministic bytes (in memory or written to a file), hashes, times relative to
//! now, the id alphabet and bounded polling.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use sha2::{Digest, Sha256};

/// The admin passphrase every test server gets unless a test says otherwise.
pub const SECRET: &str = "integration-test-passphrase";
/// The 57-character entry id alphabet (spec §2.4).
pub const ALPHABET: &str = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// PicoShare's "never expires" sentinel.
pub const NEVER: &str = "2999-12-31T00:00:00Z";
pub const MIB: u64 = 1024 * 1024;

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

/// Writes `len` bytes to `path` without holding them in memory: a 1 MiB [`pattern`] block of
/// `seed`, repeated.
pub fn write_pattern_file(path: &Path, len: usize, seed: u64) {
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display())),
    );
    let block = pattern(1 << 20, seed);
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len());
        f.write_all(&block[..n]).expect("write test file");
        left -= n;
    }
    f.flush().expect("flush test file");
}

pub fn sha256_hex(data: &[u8]) -> String {
    let d = Sha256::digest(data);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether two files hold the same bytes (compared 1 MiB at a time).
pub fn same_file_bytes(a: &Path, b: &Path) -> bool {
    use std::io::Read;
    let open =
        |p: &Path| std::fs::File::open(p).unwrap_or_else(|e| panic!("open {}: {e}", p.display()));
    let (mut fa, mut fb) = (open(a), open(b));
    let len = |f: &std::fs::File| f.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    if len(&fa) != len(&fb) {
        return false;
    }
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = fa.read(&mut ba).expect("read");
        if n == 0 {
            return true;
        }
        if fb.read_exact(&mut bb[..n]).is_err() || ba[..n] != bb[..n] {
            return false;
        }
    }
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

/// Polls `f` every 20 ms until it is true or `within` has passed. For states the test can
/// observe but not be told about (a row, a descriptor, a log line); never a stand-in for a
/// fixed sleep.
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
