//! Issue 2, the command line and the process: `--help`, `--version`, bad values (one line on
//! stderr, exit status 2), `-db`/`--db` and the default path, `PORT`, the listening line, and
//! graceful shutdown on SIGTERM/SIGINT (exit status 0, in-flight transfers finish).

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output};
use std::time::Duration;

use common::*;

/// Runs the binary to completion (within 10 s) in `dir` with a clean environment plus `envs`.
#[track_caller]
fn run_bin(dir: &TempDir, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir.path())
        .env_remove("PORT")
        .env_remove("PS_SHARED_SECRET")
        .env_remove("PS_SHARED_SECRET_FILE")
        .env_remove("PS_BEHIND_PROXY")
        .env_remove("LITESTREAM_BUCKET")
        .env("PS_SHARED_SECRET", SECRET);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    run(&mut cmd, Duration::from_secs(10))
}

#[test]
fn help_exits_0_and_lists_the_flags() {
    let dir = TempDir::new("cli");
    for flag in ["--help", "-h", "-help"] {
        let o = run_bin(&dir, &[flag], &[]);
        assert_eq!(o.status.code(), Some(0), "{flag}");
        let text = String::from_utf8_lossy(&o.stdout);
        for word in [
            "db",
            "port",
            "listen",
            "threads",
            "chunk-size",
            "gc-interval",
        ] {
            assert!(text.contains(word), "{flag} mentions {word}: {text}");
        }
    }
    assert!(
        !dir.join("data").exists(),
        "--help creates no database folder"
    );
}

#[test]
fn version_exits_0_and_prints_the_version() {
    let dir = TempDir::new("cli");
    let o = run_bin(&dir, &["--version"], &[]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
}

/// Extra environment variables for one run.
type Env<'a> = Vec<(&'a str, &'a str)>;

#[test]
fn bad_values_exit_2_with_a_one_line_reason() {
    let dir = TempDir::new("cli");
    let db = dir.join("store.db");
    let db = db.to_str().unwrap();
    let missing = dir.join("no-such-secret-file");
    let missing = missing.to_str().unwrap();
    let cases: Vec<(Vec<&str>, Env)> = vec![
        (vec!["--port", "abc"], vec![]),
        (vec!["--port", "70000"], vec![]),
        (vec!["--port", "-1"], vec![]),
        (vec!["--port"], vec![]),
        (vec![], vec![("PORT", "abc")]),
        (vec!["--threads", "0"], vec![]),
        (vec!["--threads", "many"], vec![]),
        (vec!["--chunk-size", "0"], vec![]),
        (vec!["--chunk-size", "big"], vec![]),
        (vec!["--gc-interval", "soon"], vec![]),
        (vec!["--gc-interval", "0"], vec![]),
        (vec!["--listen", "not-an-ip"], vec![]),
        (vec!["--listen", "999.1.1.1"], vec![]),
        (vec!["--no-such-flag"], vec![]),
        (vec!["stray-argument"], vec![]),
        (vec![], vec![("PS_SHARED_SECRET_FILE", missing)]),
    ];
    for (args, envs) in cases {
        let mut all = vec!["--db", db, "--listen", "127.0.0.1"];
        if !envs.iter().any(|(k, _)| *k == "PORT") && !args.contains(&"--port") {
            all.extend(["--port", "0"]);
        }
        all.extend(args.iter().copied());
        let o = run_bin(&dir, &all, &envs);
        let stderr = String::from_utf8_lossy(&o.stderr);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?} {envs:?}: stderr {stderr}"
        );
        let reason = stderr.trim_end_matches('\n');
        assert!(!reason.trim().is_empty(), "{args:?} {envs:?}: a reason");
        assert!(
            !reason.contains('\n'),
            "{args:?} {envs:?}: one line, got {stderr:?}"
        );
        assert!(
            !stdout.contains("listening"),
            "{args:?} {envs:?}: never started"
        );
    }
}

#[test]
fn db_flag_forms_and_the_default_path_create_parent_folders() {
    // `-db` with one dash, into folders that do not exist yet.
    let s = Server::builder()
        .db_flag(Some("-db"))
        .db_name("nested/deeper/store.db")
        .start();
    assert!(s.db_path.exists(), "{} created", s.db_path.display());
    let id = s.put_file(b"x", "x.txt");
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 1);
    assert_eq!(s.get(&format!("/-{id}")).send().status, 200);
    drop(s);

    // No flag at all: data/store.db under the working folder.
    let s = Server::builder().db_flag(None).start();
    assert!(s.db_path.ends_with("data/store.db"));
    assert!(s.db_path.exists(), "default data/store.db created");
    s.put_file(b"x", "x.txt");
    assert_eq!(s.count("SELECT COUNT(*) FROM entries"), 1);
}

#[test]
fn port_comes_from_the_environment_and_the_line_is_printed_once() {
    let mut s = Server::builder().port_from_env().start();
    assert_ne!(s.addr.port(), 4001, "PORT=0 picked a free port");
    assert_eq!(s.get("/").send().status, 200);
    s.stop();
    let lines = s.stdout_lines();
    let listening: Vec<_> = lines
        .iter()
        .filter(|l| l.starts_with("picoshare: listening on "))
        .collect();
    assert_eq!(listening.len(), 1, "{lines:?}");
    assert_eq!(
        listening[0],
        &format!("picoshare: listening on http://{}", s.addr)
    );
}

#[test]
fn sigterm_and_sigint_exit_0() {
    for sig in ["TERM", "INT"] {
        let mut s = Server::start();
        s.put_file(b"x", "x.txt");
        s.signal(sig);
        let status = s
            .wait_exit(STOP_TIMEOUT)
            .unwrap_or_else(|| panic!("still running {STOP_TIMEOUT:?} after SIG{sig}"));
        assert_eq!(status.code(), Some(0), "SIG{sig}: {}", s.stderr());
    }
}

#[test]
fn sigterm_with_an_idle_keep_alive_connection_still_exits_0() {
    let mut s = Server::start();
    let mut idle = TcpStream::connect(s.addr).unwrap();
    idle.write_all(format!("GET / HTTP/1.1\r\nHost: {}\r\n\r\n", s.addr).as_bytes())
        .unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 4096];
    let n = idle.read(&mut buf).unwrap();
    assert!(n > 0, "answered");
    s.signal("TERM");
    let status = s
        .wait_exit(STOP_TIMEOUT)
        .expect("exits despite the idle connection");
    assert_eq!(status.code(), Some(0));
    drop(idle);
}

#[test]
fn sigterm_lets_an_inflight_download_finish() {
    let mut s = Server::start();
    let data = pattern(8 << 20, 77);
    let id = s.put_file(&data, "big.bin");
    let mut stream = TcpStream::connect(s.addr).unwrap();
    stream
        .write_all(
            format!(
                "GET /-{id} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                s.addr
            )
            .as_bytes(),
        )
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut received = vec![0u8; 64 * 1024];
    let n = stream.read(&mut received).unwrap();
    received.truncate(n);
    s.signal("TERM");
    s.wait_for_log("picoshare: shutting down", STOP_TIMEOUT);
    let mut rest = Vec::new();
    stream
        .read_to_end(&mut rest)
        .expect("the transfer continues");
    received.extend_from_slice(&rest);
    let r = parse_raw(&received);
    assert_eq!(r.status, 200);
    let body = raw_body(&r);
    assert_eq!(body.len(), data.len(), "the whole file arrived");
    assert!(body == data, "byte-identical");
    let status = s.wait_exit(STOP_TIMEOUT).expect("exits after the transfer");
    assert_eq!(status.code(), Some(0), "{}", s.stderr());
}

#[test]
fn threads_chunk_size_and_gc_interval_flags_take_effect() {
    // Transfers may take every thread here (by default issue 15 keeps a quarter, at least one,
    // for pages), so that two held uploads show the pool's size.
    let mut s = Server::builder()
        .threads(2)
        .arg("--max-transfers")
        .arg("2")
        .chunk_size(4096)
        .gc_interval(1)
        .start();
    // --chunk-size: 10,000 bytes in 4096-byte rows.
    let data = pattern(10_000, 1);
    let id = s.put_file(&data, "x.bin");
    assert_eq!(s.chunks(&id).len(), 3, "4096-byte chunks");
    assert!(s.get(&format!("/-{id}")).send().body == data);

    // --threads 2: two uploads whose handlers are reading their bodies hold both request
    // threads, so a third request is not answered until one of them ends.
    let body = pattern(300_000, 2);
    let mut first = s.raw_admin_upload(&Upload::new(&body, "first.bin"));
    let second = s.raw_admin_upload(&Upload::new(&body, "second.bin"));
    let mut third = send_head(
        s.addr,
        "GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    third
        .set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    let mut byte = [0u8; 1];
    // A signal may interrupt the wait (EINTR): that is no answer, wait again.
    let waited = loop {
        match third.read(&mut byte) {
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            other => break other,
        }
    };
    match waited {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("with --threads 2 and both threads busy, /login answered: {other:?}"),
    }
    first.send_to(100_000);
    let r = first.finish();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    third
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let head = read_head(&mut third);
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "once a thread is free: {head:?}"
    );
    second.abandon();
    // The access log agrees: /login was handled after the first held upload (the log's
    // second upload line; the first is the put_file above).
    // (Its line is printed before the answer, but read from the pipe by another thread.)
    s.wait_for_log("GET /login", Duration::from_secs(10));
    let log = s.stdout_lines();
    let uploads: Vec<usize> = (0..log.len())
        .filter(|&i| log[i].contains("POST /api/entry"))
        .collect();
    let login = log
        .iter()
        .position(|l| l.contains("GET /login"))
        .unwrap_or_else(|| panic!("no GET /login in the access log: {log:#?}"));
    assert!(uploads.len() >= 2 && uploads[1] < login, "{log:#?}");

    // --gc-interval 1: chunks a crashed upload left are collected within seconds, not hours.
    let db = s.db();
    for i in 0..3 {
        db.execute(
            "INSERT INTO entries_data (id, chunk_index, chunk) VALUES ('zzzzzzzzzz', ?1, ?2)",
            rusqlite::params![i, vec![7u8; 100]],
        )
        .expect("plant orphaned chunks");
    }
    assert!(
        wait_until(Duration::from_secs(10), || count(
            &db,
            "SELECT COUNT(*) FROM entries_data WHERE id = 'zzzzzzzzzz'"
        ) == 0),
        "--gc-interval 1 did not collect within 10 s"
    );
}
