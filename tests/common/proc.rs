//! What Linux's /proc shows of a process — its open files, peak memory, children — and
//! running commands with a time bound.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `kill -SIG pid`.
pub fn send_signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

/// Pids of every descendant of `pid`, children first.
pub fn descendants_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let Ok(tasks) = fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            if let Ok(s) = fs::read_to_string(t.path().join("children")) {
                for c in s.split_whitespace().filter_map(|c| c.parse::<u32>().ok()) {
                    out.push(c);
                    todo.push(c);
                }
            }
        }
    }
    out
}

/// Where each open descriptor of `pid` points (`readlink /proc/PID/fd/N`): a deleted file
/// reads as its old path followed by ` (deleted)`.
#[track_caller]
pub fn open_files(pid: u32) -> Vec<String> {
    let dir = format!("/proc/{pid}/fd");
    let entries =
        fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir}: {e} (the tests need Linux /proc)"));
    entries
        .flatten()
        .filter_map(|e| fs::read_link(e.path()).ok())
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

/// The descriptors of `pid` open on files inside `folder` (deleted ones included), but for
/// `except` names (such as a lock file held for the process's whole life).
#[track_caller]
pub fn open_files_in(pid: u32, folder: &Path, except: &[&str]) -> Vec<String> {
    // /proc shows resolved paths: compare with the folder's.
    let folder: PathBuf = fs::canonicalize(folder).unwrap_or_else(|_| folder.to_owned());
    let prefix = format!("{}/", folder.display());
    open_files(pid)
        .into_iter()
        .filter(|p| {
            p.strip_prefix(&prefix).is_some_and(|name| {
                let name = name.trim_end_matches(" (deleted)");
                !except.contains(&name)
            })
        })
        .collect()
}

/// Peak resident set size of `pid` in KiB (`VmHWM` of /proc/PID/status).
#[track_caller]
pub fn vm_hwm_kib(pid: u32) -> u64 {
    let path = format!("/proc/{pid}/status");
    let status = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e} (the memory checks need Linux /proc)"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM line in {path}"))
}

/// Runs a command to completion, its output collected, within `limit` (then it is killed and
/// the test fails).
#[track_caller]
pub fn run(cmd: &mut Command, limit: Duration) -> Output {
    let desc = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {desc}: {e}"));
    // Drain both pipes in threads so a chatty command cannot block on a full pipe.
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{desc} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

/// Bytes as text, lossily.
pub fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}
