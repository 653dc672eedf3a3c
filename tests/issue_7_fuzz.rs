//! Issue 7: property-based fuzzing of the hostile-input front ends — the multipart reader,
//! the validators and the Range parser — with a seeded PRNG of our own. `make test` runs a
//! short, bounded pass; `make fuzz` sets `FUZZ_ITERS` for a long one.

mod common;

use common::{open_files_in, Multipart, TempDir};
use picoshare::model::{parse_expiration, EntryId, Filename, GuestLinkId, Note, Timestamp};
use picoshare::multipart::{read_upload, Limits};
use picoshare::range::{self, RangeSpec};
use rouille::Request;

/// xorshift64*: tiny, deterministic, good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn bytes(&mut self, n: usize, alphabet: &[u8]) -> Vec<u8> {
        (0..n)
            .map(|_| alphabet[self.below(alphabet.len())])
            .collect()
    }
}

fn iters(default: usize) -> usize {
    std::env::var("FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn body(boundary: &str, filename: &str, data: &[u8], note: Option<&str>) -> Vec<u8> {
    let mut m = Multipart::new();
    m.boundary = boundary.to_owned();
    if let Some(n) = note {
        m.text("note", n);
    }
    m.file("file", filename, Some("application/octet-stream"), data);
    m.finish().1
}

/// Every spool file the reader made in `dir` is gone: no name left in the folder (they are
/// unlinked as they are made) and no descriptor of this process still open on one.
#[track_caller]
fn assert_no_spool_left(dir: &std::path::Path) {
    assert_eq!(
        std::fs::read_dir(dir).unwrap().count(),
        0,
        "a spool file name"
    );
    let open = open_files_in(std::process::id(), dir, &[]);
    assert!(
        open.is_empty(),
        "{} spool files still open, such as {:?}",
        open.len(),
        &open[..open.len().min(3)]
    );
}

fn read(ct: &str, b: Vec<u8>, dir: &std::path::Path) -> Result<(Vec<u8>, String), u16> {
    let req = Request::fake_http(
        "POST",
        "/api/entry",
        vec![("Content-Type".into(), ct.into())],
        b,
    );
    let limits = Limits {
        memory: 64,
        chunk_size: 16,
        max_text_field: 600,
        max_parts: 8,
        max_file_bytes: None,
        spool_dir: dir,
        spool_run: u64::MAX,
        spool_batch: u64::MAX,
        reusable_bytes: 0,
        disk_floor: 0,
        parser: multipart::server::Limits::default(),
    };
    match read_upload(&req, &limits) {
        Ok(mut up) => {
            let mut out = Vec::new();
            while let Some(c) = up.spool.next_chunk(16).unwrap() {
                out.extend_from_slice(c);
            }
            Ok((out, up.filename))
        }
        Err(e) => Err(e.status()),
    }
}

#[test]
fn issue_7_truncated_multipart_bodies_are_never_accepted() {
    let tmp = TempDir::new("fuzz-trunc");
    let dir = tmp.path();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..iters(60) {
        let len = rng.below(300);
        let data = rng.bytes(len, b"ab\r\n-xyz0123456789");
        let full = body("XyZ123", "f.bin", &data, Some("a note"));
        let ct = "multipart/form-data; boundary=XyZ123";
        let (got, name) = read(ct, full.clone(), dir).expect("a whole body is accepted");
        assert_eq!((got, name.as_str()), (data.clone(), "f.bin"));
        // Every strict prefix is a failed upload: 4xx, never a shorter file.
        for cut in 0..full.len() - 2 {
            // (The last two bytes are the optional CRLF after the closing boundary.)
            match read(ct, full[..cut].to_vec(), dir) {
                Err(status) => assert!((400..500).contains(&status), "cut {cut}: {status}"),
                Ok((got, _)) => panic!(
                    "prefix of {cut}/{} bytes accepted ({} bytes)",
                    full.len(),
                    got.len()
                ),
            }
        }
    }
    assert_no_spool_left(dir);
}

#[test]
fn issue_7_mutated_multipart_bodies_never_panic_or_leak() {
    let tmp = TempDir::new("fuzz-mut");
    let dir = tmp.path();
    let mut rng = Rng(42);
    let cts = [
        "multipart/form-data; boundary=XyZ123",
        "multipart/form-data; boundary=\"XyZ123\"",
        "multipart/form-data",
        "text/plain",
        "multipart/form-data; boundary=",
    ];
    for i in 0..iters(3000) {
        let len = rng.below(200);
        let data = rng.bytes(len, b"abc\r\n-=\";");
        let mut b = body("XyZ123", "f\"x;y.bin", &data, (i % 3 == 0).then_some("n"));
        for _ in 0..rng.below(6) {
            let at = rng.below(b.len());
            match rng.below(3) {
                0 => b[at] = rng.next() as u8,
                1 => {
                    b.remove(at);
                }
                _ => b.insert(at, b"\r\n-\"; =X"[rng.below(8)]),
            }
        }
        let ct = cts[rng.below(cts.len())];
        if let Err(status) = read(ct, b, dir) {
            assert!(
                (400..600).contains(&status) && status != 500,
                "status {status}"
            );
        }
    }
    assert_no_spool_left(dir);
}

#[test]
fn issue_7_validators_hold_their_invariants_on_random_input() {
    let mut rng = Rng(7);
    let alphabet: Vec<u8> = (0u8..=127).chain([0xC3, 0xA9, 0xE2, 0x80, 0xAE]).collect();
    let now = Timestamp::from_unix(1_800_000_000);
    for _ in 0..iters(20_000) {
        let len = rng.below(300);
        let raw = rng.bytes(len, &alphabet);
        let s = String::from_utf8_lossy(&raw).into_owned();
        if let Ok(f) = Filename::parse(&s) {
            let f = f.as_str();
            assert!(!f.is_empty() && f.len() <= 255 && !f.starts_with(".."));
            assert!(!f.contains(['/', '\\', '\n', '\r', '\t']));
        }
        if let Ok(n) = Note::parse(&s) {
            assert!(n
                .as_deref()
                .is_none_or(|n| n.len() <= 500 && !n.contains("<script>")));
        }
        if let Ok(id) = EntryId::parse(&s) {
            assert_eq!(id.as_str().len(), 10);
        }
        if let Ok(id) = GuestLinkId::parse(&s) {
            assert_eq!(id.as_str().len(), 16);
        }
        if let Ok(t) = parse_expiration(&s, now) {
            assert!(t >= now.plus_secs(3600));
        }
        let size = 1 + rng.below(1000) as u64;
        let header = format!("bytes={s}");
        match range::parse(&header, size) {
            RangeSpec::Partial { start, end } => assert!(start <= end && end < size),
            RangeSpec::Full | RangeSpec::Unsatisfiable => {}
        }
    }
}
