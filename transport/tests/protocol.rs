//! Owns the over-the-socket protocol tests: framing, keep-alive, pipelining, Expect, chunked
//! uploads, truncated bodies, limits, connection bounds and graceful stop.

mod support;

use std::io::{BufReader, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use support::{get, read_response, roundtrip, test_limits, Pattern, TestServer};
use tiny_http::{Header, Limits, Request, Response};

const FIVE_MIB: u64 = 5 * 1024 * 1024;

/// Set when a `Probe` body is read: HEAD must never read the body.
static PROBE_READ: AtomicBool = AtomicBool::new(false);

struct Probe;

impl Read for Probe {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        PROBE_READ.store(true, Ordering::SeqCst);
        Pattern { left: Some(10) }.read(out)
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("header")
}

/// Reads the whole body, answering with its length, or with the error kind if reading failed.
fn echo_len(mut rq: Request) {
    let mut body = Vec::new();
    let answer = match rq.as_reader().read_to_end(&mut body) {
        Ok(_) => format!("ok {} {}", body.len(), String::from_utf8_lossy(&body)),
        Err(e) => format!("err {:?}", e.kind()),
    };
    let _ = rq.respond(Response::from_string(answer));
}

fn app(rq: Request) {
    let url = rq.url().to_owned();
    let path = url.split('?').next().unwrap_or("").to_owned();
    match path.as_str() {
        "/five" => {
            let resp = Response::empty(200).with_data(
                Pattern {
                    left: Some(FIVE_MIB),
                },
                Some(FIVE_MIB as usize),
            );
            let _ = rq.respond(resp);
        }
        "/probe" => {
            let resp = Response::empty(200).with_data(Probe, Some(10));
            let _ = rq.respond(resp);
        }
        "/range" => {
            let mut resp = Response::empty(206).with_data(Pattern { left: Some(100) }, Some(100));
            resp.add_header(header("Content-Range", "bytes 0-99/5242880"));
            let _ = rq.respond(resp);
        }
        "/unknown" => {
            let _ = rq.respond(Response::empty(200).with_data(
                Pattern {
                    left: Some(100_000),
                },
                None,
            ));
        }
        "/echo" => echo_len(rq),
        "/reject" => {
            let _ = rq.respond(Response::from_string("no").with_status_code(401));
        }
        "/dup" => {
            let mut resp = Response::from_string("hello");
            resp.add_header(header("Content-Length", "999"));
            resp.add_header(header("Transfer-Encoding", "gzip"));
            resp.add_header(header("Connection", "close"));
            resp.add_header(header("Server", "custom"));
            let _ = rq.respond(resp);
        }
        "/short" => {
            let _ =
                rq.respond(Response::empty(200).with_data(Pattern { left: Some(10) }, Some(20)));
        }
        "/nocontent" => {
            let _ =
                rq.respond(Response::empty(204).with_data(Pattern { left: Some(10) }, Some(10)));
        }
        "/drop" => drop(rq),
        "/read-twice" => {
            let mut rq = rq;
            let mut first = [0u8; 2];
            let mut rest = Vec::new();
            let a = rq.as_reader().read(&mut first).unwrap_or(0);
            let _ = rq.as_reader().read_to_end(&mut rest);
            let _ = rq.respond(Response::from_string(format!("{a}+{}", rest.len())));
        }
        "/peer" => {
            let peer = rq.remote_addr().map(|a| a.to_string()).unwrap_or_default();
            let _ = rq.respond(Response::from_string(peer));
        }
        _ => {
            let _ = rq.respond(Response::from_string(format!("path {url}")));
        }
    }
}

fn server() -> TestServer {
    TestServer::start(test_limits(), app)
}

#[test]
fn five_mib_get_head_and_206_carry_content_length() {
    let ts = server();
    let r = get(&ts, "/five").expect("get");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Length"), Some("5242880"));
    assert_eq!(r.header("Transfer-Encoding"), None);
    assert_eq!(r.body_len, FIVE_MIB);

    let r = roundtrip(
        &ts,
        b"HEAD /five HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .expect("head");
    assert_eq!(r.header("Content-Length"), Some("5242880"));
    let r = get(&ts, "/range").expect("range");
    assert_eq!(r.status, 206);
    assert_eq!(r.header("Content-Length"), Some("100"));
    assert_eq!(r.header("Content-Range"), Some("bytes 0-99/5242880"));
    assert_eq!(r.body_len, 100);
    assert!(r.header("Date").is_some());
    assert_eq!(r.header("Server"), Some("picoshare"));
}

#[test]
fn head_does_not_read_the_body_and_keeps_the_connection() {
    let ts = server();
    let mut s = ts.connect();
    s.write_all(b"HEAD /five HTTP/1.1\r\nHost: t\r\n\r\nGET /x HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let mut r = BufReader::new(s);
    let head = read_response(&mut r, true, true).expect("head");
    assert_eq!(head.header("Content-Length"), Some("5242880"));
    let next = read_response(&mut r, false, true).expect("next");
    assert_eq!(next.text(), "path /x");
    let mut w = r.get_ref().try_clone().expect("clone");
    w.write_all(b"HEAD /probe HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("probe");
    let probe = read_response(&mut r, true, true).expect("probe");
    assert_eq!(probe.header("Content-Length"), Some("10"));
    assert!(
        !PROBE_READ.load(Ordering::SeqCst),
        "HEAD read the body reader"
    );
}

#[test]
fn unknown_length_is_chunked_for_http11_and_close_delimited_for_http10() {
    let ts = server();
    let r = get(&ts, "/unknown").expect("get");
    assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
    assert_eq!(r.header("Content-Length"), None);
    assert_eq!(r.body_len, 100_000);
    let r = roundtrip(
        &ts,
        b"GET /unknown HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    )
    .expect("1.0");
    assert_eq!(r.header("Transfer-Encoding"), None);
    assert_eq!(r.header("Connection"), Some("close"));
    assert_eq!(r.body_len, 100_000);
}

#[test]
fn two_requests_on_one_keep_alive_connection() {
    let ts = server();
    let s = ts.connect();
    let mut w = s.try_clone().expect("clone");
    let mut r = BufReader::new(s);
    w.write_all(b"GET /one HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("w1");
    let a = read_response(&mut r, false, true).expect("r1");
    w.write_all(b"GET /two HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("w2");
    let b = read_response(&mut r, false, true).expect("r2");
    assert_eq!(
        (a.text().as_str(), b.text().as_str()),
        ("path /one", "path /two")
    );
    assert_eq!(a.header("Connection"), None);
    // HTTP/1.0 keep-alive as well.
    w.write_all(b"GET /three HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .expect("w3");
    let c = read_response(&mut r, false, true).expect("r3");
    assert_eq!(c.header("Connection"), Some("keep-alive"));
    w.write_all(b"GET /four HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .expect("w4");
    let d = read_response(&mut r, false, true).expect("r4");
    assert_eq!(d.header("Connection"), Some("close"));
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).expect("eof after close");
    assert!(rest.is_empty());
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let ts = server();
    let mut s = ts.connect();
    let mut batch = Vec::new();
    for i in 0..10 {
        batch.extend_from_slice(format!("GET /p{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
    }
    batch.extend_from_slice(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    batch.extend_from_slice(b"GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    s.write_all(&batch).expect("write");
    let mut r = BufReader::new(s);
    for i in 0..10 {
        assert_eq!(
            read_response(&mut r, false, true).expect("resp").text(),
            format!("path /p{i}")
        );
    }
    assert_eq!(
        read_response(&mut r, false, true).expect("echo").text(),
        "ok 3 abc"
    );
    assert_eq!(
        read_response(&mut r, false, true).expect("last").text(),
        "path /last"
    );
}

#[test]
fn app_framing_headers_never_duplicate_and_connection_close_is_honoured() {
    let ts = server();
    let mut s = ts.connect();
    s.write_all(b"GET /dup HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let mut r = BufReader::new(s);
    let resp = read_response(&mut r, false, true).expect("resp");
    assert_eq!(resp.count("Content-Length"), 1);
    assert_eq!(resp.header("Content-Length"), Some("5"));
    assert_eq!(resp.count("Transfer-Encoding"), 0);
    assert_eq!(resp.count("Connection"), 1);
    assert_eq!(resp.header("Connection"), Some("close"));
    assert_eq!(resp.header("Server"), Some("custom"));
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).expect("closed");
    assert!(rest.is_empty());
}

#[test]
fn short_response_body_closes_and_204_has_no_body() {
    let ts = server();
    let mut s = ts.connect();
    s.write_all(b"GET /short HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let mut all = Vec::new();
    s.read_to_end(&mut all).expect("read until close");
    let text = String::from_utf8_lossy(&all);
    assert!(text.contains("Content-Length: 20"), "{text}");
    assert!(
        text.ends_with("abcdefghij"),
        "never more than the reader gave: {text}"
    );

    let mut s = ts.connect();
    s.write_all(b"GET /nocontent HTTP/1.1\r\nHost: t\r\n\r\nGET /after HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut r = BufReader::new(s);
    let resp = read_response(&mut r, false, true).expect("204");
    assert_eq!(resp.status, 204);
    assert_eq!(resp.header("Content-Length"), None);
    assert_eq!(
        read_response(&mut r, false, true).expect("after").text(),
        "path /after"
    );
}

#[test]
fn expect_100_continue_is_sent_only_on_the_first_read() {
    let ts = server();
    let mut s = ts.connect();
    s.write_all(b"POST /read-twice HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        .expect("head");
    let mut r = BufReader::new(s.try_clone().expect("clone"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut r, &mut line).expect("100");
    assert_eq!(line, "HTTP/1.1 100 Continue\r\n");
    std::io::BufRead::read_line(&mut r, &mut line).expect("blank");
    s.write_all(b"hello").expect("body");
    let resp = read_response(&mut r, false, true).expect("final");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), "2+3");
}

#[test]
fn handler_rejecting_without_reading_never_invites_the_body() {
    let ts = server();
    let mut s = ts.connect();
    s.write_all(b"POST /reject HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
        .expect("head");
    let mut r = BufReader::new(s);
    let resp = read_response(&mut r, false, true).expect("401");
    assert_eq!(resp.status, 401);
    assert_eq!(resp.header("Connection"), Some("close"));
    let mut rest = Vec::new();
    let _ = r.read_to_end(&mut rest);
    assert!(!String::from_utf8_lossy(&rest).contains("100 Continue"));
}

#[test]
fn other_expectations_get_417() {
    let ts = server();
    let r = roundtrip(
        &ts,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: fancy\r\nContent-Length: 1\r\n\r\nx",
    )
    .expect("417");
    assert_eq!(r.status, 417);
}

#[test]
fn chunked_upload_round_trip() {
    let ts = server();
    let r = roundtrip(
        &ts,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;x=y\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: t\r\n\r\n",
    )
    .expect("chunked");
    assert_eq!(r.text(), "ok 11 hello world");
}

#[test]
fn truncated_bodies_are_errors_for_the_reader() {
    let ts = server();
    for request in [
        &b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\nabc"[..],
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly this",
    ] {
        let mut s = ts.connect();
        s.write_all(request).expect("write");
        s.shutdown(Shutdown::Write).expect("half-close");
        let resp = read_response(&mut BufReader::new(s), false, true).expect("resp");
        assert_eq!(resp.text(), "err UnexpectedEof");
    }
}

#[test]
fn stalled_body_read_times_out() {
    let limits = Limits {
        body_read_stall_timeout: Duration::from_millis(300),
        ..test_limits()
    };
    let ts = TestServer::start(limits, app);
    let mut s = ts.connect();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        .expect("write");
    let resp = read_response(&mut BufReader::new(s), false, true).expect("resp");
    assert_eq!(resp.text(), "err TimedOut");
    assert_eq!(resp.header("Connection"), Some("close"));
}

#[test]
fn limits_and_malformed_heads_get_their_status() {
    let ts = server();
    let long_url = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9000));
    assert_eq!(
        roundtrip(&ts, long_url.as_bytes()).expect("414").status,
        414
    );
    let long_header = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX: {}\r\n\r\n",
        "b".repeat(9000)
    );
    assert_eq!(
        roundtrip(&ts, long_header.as_bytes()).expect("431").status,
        431
    );
    let many = format!(
        "GET / HTTP/1.1\r\nHost: t\r\n{}\r\n",
        "X: y\r\n".repeat(101)
    );
    assert_eq!(
        roundtrip(&ts, many.as_bytes()).expect("431 count").status,
        431
    );
    assert_eq!(roundtrip(&ts, b"GARBAGE\r\n\r\n").expect("400").status, 400);
    assert_eq!(
        roundtrip(
            &ts,
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc"
        )
        .expect("400 cl")
        .status,
        400
    );
    assert_eq!(
        roundtrip(&ts, b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n").expect("400 te").status,
        400
    );
    assert_eq!(
        roundtrip(&ts, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .expect("505")
            .status,
        505
    );
    assert_eq!(
        roundtrip(&ts, b"GET / HTTP/3.0\r\nHost: t\r\n\r\n")
            .expect("505")
            .status,
        505
    );
}

#[test]
fn dropped_request_gets_500_and_peer_address_is_reported() {
    let ts = server();
    assert_eq!(get(&ts, "/drop").expect("500").status, 500);
    let s = ts.connect();
    let local = s.local_addr().expect("local").to_string();
    let mut w = s.try_clone().expect("clone");
    w.write_all(b"GET /peer HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let r = read_response(&mut BufReader::new(s), false, true).expect("peer");
    assert_eq!(r.text(), local);
}

#[test]
fn slow_head_times_out_with_408() {
    let limits = Limits {
        head_read_timeout: Duration::from_millis(300),
        ..test_limits()
    };
    let ts = TestServer::start(limits, app);
    let mut s = ts.connect();
    s.write_all(b"GET / HTTP/1.1\r\nHost").expect("partial");
    let r = read_response(&mut BufReader::new(s), false, true).expect("408");
    assert_eq!(r.status, 408);
}

#[test]
fn beyond_max_connections_new_clients_get_a_fast_503() {
    let limits = Limits {
        max_connections: 2,
        ..test_limits()
    };
    // The handler parks requests until released, so both slots are busy serving.
    let (park_tx, park_rx) = mpsc::channel::<Request>();
    let park_tx = Mutex::new(park_tx);
    let ts = TestServer::start(limits, move |rq| {
        if let Ok(tx) = park_tx.lock() {
            let _ = tx.send(rq);
        }
    });
    let mut busy = Vec::new();
    for _ in 0..2 {
        let mut s = ts.connect();
        s.write_all(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
            .expect("write");
        busy.push(s);
    }
    let parked: Vec<Request> = (0..2)
        .map(|_| {
            park_rx
                .recv_timeout(Duration::from_secs(5))
                .expect("parked")
        })
        .collect();
    let started = Instant::now();
    let r = roundtrip(&ts, b"GET /third HTTP/1.1\r\nHost: t\r\n\r\n").expect("503");
    let took = started.elapsed();
    eprintln!("503 beyond max_connections answered in {took:?}");
    assert_eq!(r.status, 503);
    assert!(took < Duration::from_secs(2));
    assert!(ts.server.stats().rejected_busy >= 1);
    for rq in parked {
        let _ = rq.respond(Response::from_string("done"));
    }
    for s in busy {
        let r = read_response(&mut BufReader::new(s), false, true).expect("released");
        assert_eq!(r.text(), "done");
    }
}

#[test]
fn hundreds_of_slow_header_clients_do_not_delay_a_normal_request() {
    let ts = TestServer::start(test_limits(), app);
    let mut slow = Vec::new();
    for _ in 0..200 {
        if let Ok(mut s) = std::net::TcpStream::connect(ts.addr) {
            let _ = s.write_all(b"GET /slow HTTP/1.1\r\nHost: t\r\nX-Slow: ");
            slow.push(s);
        }
    }
    thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let r = get(&ts, "/normal").expect("normal request answered");
    let took = started.elapsed();
    let stats = ts.server.stats();
    eprintln!(
        "normal request among {} slow-header clients: status {} in {took:?}; stats {stats:?}",
        slow.len(),
        r.status
    );
    assert_eq!(r.status, 200);
    assert!(took < ts.server.limits().head_read_timeout);
    assert!(stats.open_connections <= ts.server.limits().max_connections);
}

#[test]
fn graceful_shutdown_finishes_in_flight_and_closes_idle() {
    let (park_tx, park_rx) = mpsc::channel::<Request>();
    let park_tx = Mutex::new(park_tx);
    let ts = TestServer::start(test_limits(), move |rq| {
        if rq.url() == "/park" {
            if let Ok(tx) = park_tx.lock() {
                let _ = tx.send(rq);
            }
        } else {
            let _ = rq.respond(Response::from_string("quick"));
        }
    });
    // An idle keep-alive connection.
    let idle = ts.connect();
    let mut iw = idle.try_clone().expect("clone");
    iw.write_all(b"GET /q HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("w");
    let mut idle_r = BufReader::new(idle);
    read_response(&mut idle_r, false, true).expect("first");
    // An in-flight request.
    let mut active = ts.connect();
    active
        .write_all(b"GET /park HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("w");
    let parked = park_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("parked");
    let server = Arc::clone(&ts.server);
    let stopper = thread::spawn(move || server.shutdown(Duration::from_secs(5)));
    // The idle connection is closed (end of file, not the 20 s read timeout)...
    let mut rest = Vec::new();
    match idle_r.read_to_end(&mut rest) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("idle connection not closed by the stop: {other:?} {rest:?}"),
    }
    // ... and, once the listener is closed, new connections are refused.
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(ts.addr).is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting after the stop began"
        );
        thread::sleep(Duration::from_millis(10));
    }
    parked
        .respond(Response::from_string("finished"))
        .expect("respond");
    let r = read_response(&mut BufReader::new(active), false, true).expect("in-flight");
    assert_eq!(r.text(), "finished");
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(stopper.join().expect("join"), "shutdown finished in time");
}

#[test]
fn unread_bodies_are_drained_up_to_the_cap_then_the_connection_closes() {
    let ts = server();
    let mut s = ts.connect();
    let mut batch = b"POST /reject HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n".to_vec();
    batch.extend_from_slice(&[b'x'; 1000]);
    batch.extend_from_slice(b"POST /reject HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    batch.extend_from_slice(b"GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
    s.write_all(&batch).expect("write");
    let mut r = BufReader::new(s);
    for _ in 0..2 {
        let rejected = read_response(&mut r, false, true).expect("401");
        assert_eq!(rejected.status, 401);
        assert_eq!(
            rejected.header("Connection"),
            None,
            "small remainder is drained"
        );
    }
    assert_eq!(
        read_response(&mut r, false, true).expect("after").text(),
        "path /after"
    );

    // A remainder larger than drain_cap (1 MiB) is not read: the connection closes.
    let mut s = ts.connect();
    s.write_all(b"POST /reject HTTP/1.1\r\nHost: t\r\nContent-Length: 2097152\r\n\r\nxyz")
        .expect("write");
    let resp = read_response(&mut BufReader::new(s), false, true).expect("401");
    assert_eq!(resp.status, 401);
    assert_eq!(resp.header("Connection"), Some("close"));
}

#[test]
fn a_client_that_stops_reading_frees_the_worker_after_the_write_timeout() {
    let limits = Limits {
        write_stall_timeout: Duration::from_millis(300),
        ..test_limits()
    };
    let (done_tx, done_rx) = mpsc::channel();
    let done_tx = Mutex::new(done_tx);
    let ts = TestServer::start(limits, move |rq| {
        let started = Instant::now();
        let endless = Response::empty(200).with_data(Pattern { left: None }, None);
        let result = rq.respond(endless);
        if let Ok(tx) = done_tx.lock() {
            let _ = tx.send((result.is_err(), started.elapsed()));
        }
    });
    let mut s = ts.connect();
    s.write_all(b"GET /endless HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let (failed, took) = done_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("respond returned");
    eprintln!("endless response to a client that never reads: respond() failed after {took:?}");
    assert!(failed);
    drop(s);
}

#[test]
fn random_garbage_on_the_socket_never_hurts_the_server() {
    let ts = server();
    let seeds: [&[u8]; 3] = [
        b"GET /x HTTP/1.1\r\nHost: t\r\nAccept: */*\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\nabcd",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut answered = 0;
    for case in 0..300 {
        let mut input = seeds[case % seeds.len()].to_vec();
        for _ in 0..1 + next() % 4 {
            let at = (next() as usize) % input.len().max(1);
            match next() % 4 {
                0 if !input.is_empty() => input[at] = next() as u8,
                1 => input.insert(at, b"\r\n:; \0"[(next() % 6) as usize]),
                2 if !input.is_empty() => {
                    input.remove(at);
                }
                _ => input.truncate(at),
            }
        }
        let mut s = ts.connect();
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let _ = s.write_all(&input);
        let _ = s.shutdown(Shutdown::Write);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        if out.starts_with(b"HTTP/1.1 ") {
            answered += 1;
        }
    }
    eprintln!("300 mutated requests: {answered} answered, the rest closed");
    assert_eq!(
        get(&ts, "/still-fine").expect("healthy").text(),
        "path /still-fine"
    );
}

#[test]
fn keep_alive_request_latency() {
    let ts = server();
    let s = ts.connect();
    let mut w = s.try_clone().expect("clone");
    let mut r = BufReader::new(s);
    let mut times = Vec::new();
    for i in 0..500 {
        let started = Instant::now();
        w.write_all(format!("GET /k{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .expect("write");
        let resp = read_response(&mut r, false, true).expect("resp");
        times.push(started.elapsed());
        assert_eq!(resp.status, 200);
    }
    times.sort();
    eprintln!(
        "500 sequential keep-alive requests (debug build, handler thread per request): median {:?}, p99 {:?}, max {:?}",
        times[250], times[495], times[499]
    );
}

#[test]
fn upgrade_hands_over_the_raw_connection() {
    let ts = TestServer::start(test_limits(), |rq: Request| {
        let mut raw = rq.upgrade("echo", Response::empty(101));
        let mut buf = [0u8; 4];
        if raw.read_exact(&mut buf).is_ok() {
            let _ = raw.write_all(&buf);
        }
    });
    let mut s = ts.connect();
    s.write_all(b"GET /ws HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\nping")
        .expect("write");
    let mut r = BufReader::new(s.try_clone().expect("clone"));
    let resp = read_response(&mut r, false, true).expect("101");
    assert_eq!(resp.status, 101);
    assert_eq!(resp.header("Upgrade"), Some("echo"));
    assert_eq!(resp.header("Connection"), Some("upgrade"));
    let mut echoed = [0u8; 4];
    r.read_exact(&mut echoed).expect("echo");
    assert_eq!(&echoed, b"ping");
}
