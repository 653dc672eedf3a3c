//! Owns the tests that need their own resource limits: the test binary re-runs itself as a
//! server child under `ulimit -n` (descriptor exhaustion) or `ulimit -v` (a small VM), and the
//! parent drives it over 127.0.0.1.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use support::{read_response, test_limits, Resp, TestServer};
use tiny_http::{Limits, Request, Response, Server};

const CHILD_ENV: &str = "TRANSPORT_TEST_CHILD";

static SERVER: OnceLock<Arc<Server>> = OnceLock::new();

fn child_app(mut rq: Request) {
    let answer = match rq.url() {
        "/stats" => match SERVER.get() {
            Some(s) => format!("{:?}", s.stats()),
            None => "none".to_owned(),
        },
        "/read" => {
            let mut sink = [0u8; 4096];
            loop {
                match rq.as_reader().read(&mut sink) {
                    Ok(0) => break "complete".to_owned(),
                    Ok(_) => {}
                    Err(e) => break format!("{:?}", e.kind()),
                }
            }
        }
        "/reject" => {
            let _ = rq.respond(Response::from_string("no").with_status_code(401));
            return;
        }
        _ => "ok".to_owned(),
    };
    let _ = rq.respond(Response::from_string(answer));
}

/// The server side, active only when the parent sets `CHILD_ENV`: prints its port, serves
/// until its stdin closes.
#[test]
fn child_server() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let limits = Limits {
        max_connections: 500,
        // Every connection comes from 127.0.0.1: no per-address cap, so descriptors run out.
        max_connections_per_ip: 500,
        head_read_timeout: Duration::from_secs(30),
        keepalive_idle_timeout: Duration::from_secs(30),
        accept_backoff: Duration::from_millis(50),
        ..test_limits()
    };
    let ts = TestServer::start(limits, child_app);
    let _ = SERVER.set(Arc::clone(&ts.server));
    println!("PORT {}", ts.addr.port());
    let _ = std::io::stdout().flush();
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}

struct ChildServer {
    child: Child,
    addr: SocketAddr,
}

impl ChildServer {
    /// Runs this test binary's `child_server` under `sh -c 'ulimit <limit>; exec ...'`.
    fn spawn(ulimit: &str) -> ChildServer {
        let exe = std::env::current_exe().expect("current exe");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit {ulimit} && exec \"$0\" child_server --exact --nocapture --test-threads=1"
            ))
            .arg(exe)
            .env(CHILD_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        // The harness prints "test child_server ... " on the same line before our output.
        let mut lines = BufReader::new(stdout).lines();
        let port = loop {
            let line = lines.next().expect("child output").expect("line");
            if let Some(p) = line.split("PORT ").nth(1) {
                break p.trim().parse::<u16>().expect("port");
            }
        };
        // Keep draining the child's stdout so its later output never blocks or fails.
        thread::spawn(move || for _ in lines.by_ref() {});
        ChildServer {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    fn get(&self, path: &str, timeout: Duration) -> std::io::Result<Resp> {
        let mut s = TcpStream::connect_timeout(&self.addr, timeout)?;
        s.set_read_timeout(Some(timeout))?;
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
        )?;
        read_response(&mut BufReader::new(s), false, true)
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.alive() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn server_accepts_again_after_descriptor_exhaustion() {
    let mut child = ChildServer::spawn("-n 64");
    assert_eq!(
        child
            .get("/warm", Duration::from_secs(5))
            .expect("warm")
            .text(),
        "ok"
    );
    // Hold far more idle connections than the child has descriptors.
    let mut held = Vec::new();
    for _ in 0..120 {
        if let Ok(s) = TcpStream::connect_timeout(&child.addr, Duration::from_secs(2)) {
            held.push(s);
        }
    }
    thread::sleep(Duration::from_millis(500));
    assert!(child.alive(), "the child must survive EMFILE");
    drop(held);
    let started = Instant::now();
    let stats = child
        .get("/stats", Duration::from_secs(10))
        .expect("answered after exhaustion");
    eprintln!(
        "after holding 120 connections against `ulimit -n 64`: answered in {:?}; {}",
        started.elapsed(),
        stats.text()
    );
    assert_eq!(stats.status, 200);
    assert!(
        !stats.text().contains("accept_errors: 0,"),
        "descriptors were never exhausted: {}",
        stats.text()
    );
    assert_eq!(
        child
            .get("/again", Duration::from_secs(5))
            .expect("again")
            .text(),
        "ok"
    );
}

#[test]
fn declared_100_gb_bodies_under_a_small_address_space_limit() {
    // 256 MiB of address space, like a small VM: threads, stacks and malloc arenas included.
    let mut child = ChildServer::spawn("-v 262144");
    assert_eq!(
        child
            .get("/warm", Duration::from_secs(5))
            .expect("warm")
            .text(),
        "ok"
    );
    for i in 0..20 {
        let path = if i % 2 == 0 { "/reject" } else { "/read" };
        let mut s = TcpStream::connect(child.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s.write_all(
            format!(
                "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000000\r\n\r\n0123456789"
            )
            .as_bytes(),
        )
        .expect("write");
        s.shutdown(std::net::Shutdown::Write).expect("hang up");
        let r = read_response(&mut BufReader::new(s), false, true).expect("answer");
        assert!(r.status == 401 || r.text() == "UnexpectedEof", "{r:?}");
    }
    assert!(child.alive(), "the child must survive");
    let stats = child
        .get("/stats", Duration::from_secs(5))
        .expect("healthy");
    eprintln!(
        "under `ulimit -v 262144` after 20 x 100 GB declared bodies: {}",
        stats.text()
    );
    assert_eq!(stats.status, 200);
}
