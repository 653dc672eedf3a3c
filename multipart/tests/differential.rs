//! Differential property test: random forms encoded by Python's `email` package (the
//! independent reference encoder, tests/reference/encode.py) read back by our reader at
//! several buffer sizes and read sizes, so every delimiter look-alike in the files lands on
//! buffer edges; names, file names, content types and bytes must all come back exactly.
//! `make test` runs a short pass; `make fuzz` sets `FUZZ_ITERS` for a long one.

mod reference;

use std::io::{self, Read, Write};
use std::time::Instant;

use multipart::server::{boundary_of, Limits, Multipart, MIN_BUFFER};
use reference::{encode, form, iterations, Part, Rng};

/// Forms encoded per python3 run.
const BATCH: usize = 250;

/// A source that returns at most `step` bytes per read.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.data.len().min(self.step).min(out.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn read_back(
    body: &[u8],
    boundary: &str,
    read_buffer: usize,
    step: usize,
) -> io::Result<Vec<Part>> {
    let limits = Limits {
        read_buffer,
        ..Limits::default()
    };
    let mut form = Multipart::with_limits(Trickle { data: body, step }, boundary, limits);
    let mut parts = Vec::new();
    while let Some(mut field) = form.read_entry()? {
        let mut data = Vec::new();
        field.data.read_to_end(&mut data)?;
        parts.push(Part {
            name: field.headers.name.to_string(),
            filename: field.headers.filename.clone(),
            both_forms: false,
            content_type: field.headers.content_type.clone(),
            data,
        });
    }
    Ok(parts)
}

/// The project's skip policy (the server's tests/common/skip.rs), for the one tool this
/// crate's tests need: a missing python3 fails the test, saying how to install it, unless
/// `PICOSHARE_TEST_SKIP` names `python3`; then the test says it is skipped and returns.
fn python3_or_skip() -> bool {
    let Some(why) = reference::python3_missing() else {
        return true;
    };
    let skipped = std::env::var("PICOSHARE_TEST_SKIP")
        .unwrap_or_default()
        .split([',', ' '])
        .any(|n| n.trim() == "python3");
    assert!(
        skipped,
        "{why}\n(to skip the tests that need it instead, set PICOSHARE_TEST_SKIP=python3)"
    );
    let line = format!(
        "SKIPPED {} (PICOSHARE_TEST_SKIP names python3): {why}",
        std::thread::current().name().unwrap_or("a test")
    );
    // Straight to the terminal: libtest captures eprintln! of passing tests.
    let _ = writeln!(std::io::stderr(), "{line}");
    let log = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("skipped-tests.txt");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = writeln!(f, "{line}");
    }
    false
}

#[test]
fn issue_13_python_encoded_forms_read_back_exactly_at_every_buffer_size() {
    if !python3_or_skip() {
        return;
    }
    let n = iterations(200);
    let mut rng = Rng::new(0x1337);
    let started = Instant::now();
    let (mut parts_seen, mut bytes_seen) = (0, 0);
    // In batches, so a long run never holds more than a batch of bodies.
    let batches = (0..n).collect::<Vec<_>>();
    for batch in batches.chunks(BATCH) {
        let forms = batch.iter().map(|_| form(&mut rng, 20_000)).collect();
        for (e, &i) in encode(forms).iter().zip(batch) {
            let boundary = boundary_of(&e.content_type)
                .unwrap_or_else(|err| panic!("form {i}: {:?} → {err:?}", e.content_type));
            assert_eq!(boundary, e.form.boundary, "form {i}: the boundary");
            let want = &e.form.parts;
            let random_step = 1 + rng.below(600);
            for (read_buffer, step) in [
                (MIN_BUFFER, 1),
                (MIN_BUFFER, 13),
                (300, 257),
                (1000, random_step),
                (8 << 10, usize::MAX),
            ] {
                let got = read_back(&e.body, &boundary, read_buffer, step).unwrap_or_else(|err| {
                    panic!(
                        "form {i} (buffer {read_buffer}, reads of {step}): {err}\nbody: {:?}",
                        String::from_utf8_lossy(&e.body)
                    )
                });
                if got != *want {
                    for (k, (g, w)) in got.iter().zip(want).enumerate() {
                        if g != w {
                            panic!(
                                "form {i} part {k} (buffer {read_buffer}, reads of {step}):\n got {g:?}\nwant {w:?}\nbody: {:?}",
                                String::from_utf8_lossy(&e.body)
                            );
                        }
                    }
                    panic!("form {i}: {} parts, want {}", got.len(), want.len());
                }
            }
            parts_seen += want.len();
            bytes_seen += e.body.len();
        }
    }
    eprintln!(
        "issue 13 differential: {n} forms ({parts_seen} parts, {bytes_seen} body bytes) \
         encoded by Python and read back 5 ways each in {:.1?}",
        started.elapsed()
    );
}

#[test]
fn issue_13_the_generators_make_valid_look_alikes() {
    // The content generator keeps boundary look-alikes but never a real delimiter.
    let mut rng = Rng::new(7);
    let mut look_alikes = 0;
    for _ in 0..500 {
        let b = reference::boundary(&mut rng);
        let data = reference::content(&mut rng, &b, 2000);
        assert_eq!(reference::hidden_delimiter(&data, &b), None);
        let needle = format!("\r\n--{b}");
        look_alikes += data
            .windows(needle.len())
            .filter(|w| *w == needle.as_bytes())
            .count();
    }
    assert!(
        look_alikes > 100,
        "only {look_alikes} CRLF--boundary look-alikes"
    );
    // And the validity check agrees with RFC 2046 on hand-made cases.
    let hidden = |d: &[u8]| reference::hidden_delimiter(d, "XX").is_some();
    assert!(hidden(b"a\r\n--XX\r\nb"));
    assert!(hidden(b"a\r\n--XX \t\r\nb"));
    assert!(hidden(b"a\r\n--XX--"));
    assert!(hidden(b"--XX\r\nstarts the part"));
    assert!(hidden(b"ends with\r\n--XX"));
    assert!(hidden(b"ends with\r\n--XX  "));
    assert!(!hidden(b"abc--XX--tail\r\n"));
    assert!(!hidden(b"a\r\n--XXb"));
    assert!(!hidden(b"a\r\n--XX--tail"));
    assert!(!hidden(b"a\r\n--XX-"));
    assert!(!hidden(b"a\n--XX\r\n"));
}
