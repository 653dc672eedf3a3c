//! Owns the constant-memory tests: a 100 GB declared body that never arrives, a 64 MiB header
//! line, and an HTTP/1.0 download of unknown length, each with RSS read from /proc.
//! The tests run one at a time (they share the process RSS).

mod support;

use std::io::{BufReader, Write};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use support::{get, read_response, reset_hwm, rss_kib, test_limits, Pattern, TestServer};
use tiny_http::{Request, Response};

static SERIAL: Mutex<()> = Mutex::new(());

/// Allowed RSS growth across a scenario. Generous: allocator noise and test threads.
const MAX_GROWTH_KIB: u64 = 4 * 1024;

fn app(mut rq: Request) {
    match rq.url() {
        "/reject" => {
            let _ = rq.respond(Response::from_string("no").with_status_code(401));
        }
        "/read" => {
            let mut sink = [0u8; 4096];
            let result = loop {
                match rq.as_reader().read(&mut sink) {
                    Ok(0) => break "complete".to_owned(),
                    Ok(_) => {}
                    Err(e) => break format!("{:?}", e.kind()),
                }
            };
            let _ = rq.respond(Response::from_string(result).with_status_code(400));
        }
        "/stream" => {
            let body = Pattern {
                left: Some(200 * 1024 * 1024),
            };
            let _ = rq.respond(Response::empty(200).with_data(body, None));
        }
        _ => {
            let _ = rq.respond(Response::from_string("ok"));
        }
    }
}

fn measure<F: FnOnce()>(name: &str, scenario: F) -> u64 {
    let (before, _) = rss_kib();
    reset_hwm();
    let started = Instant::now();
    scenario();
    let (after, hwm) = rss_kib();
    let growth = after.saturating_sub(before).max(hwm.saturating_sub(before));
    eprintln!(
        "{name}: VmRSS {before} KiB -> {after} KiB, VmHWM {hwm} KiB (growth {growth} KiB) in {:?}",
        started.elapsed()
    );
    growth
}

#[test]
fn declared_100_gb_body_that_never_arrives_leaves_the_server_healthy() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let ts = TestServer::start(test_limits(), app);
    assert_eq!(get(&ts, "/warm").expect("warm-up").status, 200);
    let growth = measure("100 GB declared, 10 bytes sent, x40", || {
        for i in 0..40 {
            let path = if i % 2 == 0 { "/reject" } else { "/read" };
            let mut s = ts.connect();
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000000\r\n\r\n0123456789"
            );
            s.write_all(head.as_bytes()).expect("write");
            if path == "/read" {
                // Hang up without sending the rest; the handler must see an error.
                s.shutdown(std::net::Shutdown::Write).expect("half-close");
                let r = read_response(&mut BufReader::new(s), false, true).expect("resp");
                assert_eq!(r.text(), "UnexpectedEof");
            } else {
                let r = read_response(&mut BufReader::new(s), false, true).expect("resp");
                assert_eq!(r.status, 401);
                assert_eq!(r.header("Connection"), Some("close"));
            }
        }
    });
    assert_eq!(get(&ts, "/after").expect("healthy").text(), "ok");
    assert!(growth < MAX_GROWTH_KIB, "RSS grew by {growth} KiB");
}

#[test]
fn a_64_mib_header_line_is_refused_in_constant_memory() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let ts = TestServer::start(test_limits(), app);
    assert_eq!(get(&ts, "/warm").expect("warm-up").status, 200);
    let mut status = 0;
    let growth = measure("64 MiB header line", || {
        let s = ts.connect();
        let mut w = s.try_clone().expect("clone");
        let writer = thread::spawn(move || {
            let piece = [b'a'; 64 * 1024];
            let mut sent: u64 = 0;
            if w.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nX-Huge: ")
                .is_err()
            {
                return sent;
            }
            for _ in 0..1024 {
                if w.write_all(&piece).is_err() {
                    break;
                }
                sent += piece.len() as u64;
            }
            sent
        });
        let r = read_response(&mut BufReader::new(s), false, true).expect("refusal");
        status = r.status;
        let sent = writer.join().expect("writer");
        eprintln!("64 MiB header line: refused with {status} after the client sent {sent} bytes");
    });
    assert!(status == 431 || status == 414, "status {status}");
    assert_eq!(get(&ts, "/after").expect("healthy").text(), "ok");
    assert!(growth < MAX_GROWTH_KIB, "RSS grew by {growth} KiB");
}

#[test]
fn http10_download_of_unknown_length_streams_at_flat_rss() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let ts = TestServer::start(test_limits(), app);
    assert_eq!(get(&ts, "/warm").expect("warm-up").status, 200);
    let mut received = 0;
    let mut secs = 0.0;
    let growth = measure("HTTP/1.0 200 MiB unknown-length download", || {
        let started = Instant::now();
        let mut s = ts.connect();
        s.write_all(b"GET /stream HTTP/1.0\r\n\r\n").expect("write");
        let r = read_response(&mut BufReader::new(s), false, false).expect("download");
        secs = started.elapsed().as_secs_f64();
        assert_eq!(r.header("Content-Length"), None);
        assert_eq!(r.header("Transfer-Encoding"), None);
        assert_eq!(r.header("Connection"), Some("close"));
        received = r.body_len;
    });
    eprintln!(
        "HTTP/1.0 download: {received} bytes in {secs:.2} s ({:.0} MiB/s, debug build)",
        received as f64 / 1048576.0 / secs
    );
    assert_eq!(received, 200 * 1024 * 1024);
    assert!(growth < MAX_GROWTH_KIB, "RSS grew by {growth} KiB");
    // Keep the server alive until the end so the numbers above include it.
    thread::sleep(Duration::from_millis(10));
}
