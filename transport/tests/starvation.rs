//! Issue 15, at the transport: no client can hold the application's threads or every
//! connection slot. A trickled small body is read before the request is handed over; a body
//! or a response below the minimum rate is cut; small responses are written by the
//! connection's own thread, so pipelining without reading holds no application thread; one
//! address cannot take every connection; idle keep-alive connections are evicted first.
//!
//! The application here is a fixed pool of worker threads, as rouille's is. Outcomes are
//! asserted (answered, cut, not yet handed over), never durations; every wait has a generous
//! bound that only a starved server misses.

mod support;

use std::io::{BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use support::{read_response, test_limits, Pattern, Resp};
use tiny_http::{Limits, Request, Response, Server};

/// Generous bound for an answer that a working server gives at once.
const ANSWER: Duration = Duration::from_secs(20);

/// A server whose requests go to a fixed pool of `workers` threads running `handler`.
struct PoolServer {
    server: Arc<Server>,
    addr: SocketAddr,
    /// Requests handed to the application so far.
    handed_over: Arc<AtomicUsize>,
}

impl PoolServer {
    fn start<F>(limits: Limits, workers: usize, handler: F) -> PoolServer
    where
        F: Fn(Request) + Send + Sync + 'static,
    {
        let server = Arc::new(Server::with_limits("127.0.0.1:0", limits).expect("bind"));
        let addr = server.server_addr().to_ip().expect("ip");
        let handler = Arc::new(handler);
        let handed_over = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel::<Request>();
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..workers {
            let rx = Arc::clone(&rx);
            let h = Arc::clone(&handler);
            thread::spawn(move || loop {
                let next = rx.lock().expect("lock").recv();
                match next {
                    Ok(rq) => h(rq),
                    Err(_) => return,
                }
            });
        }
        let dispatch = Arc::clone(&server);
        let count = Arc::clone(&handed_over);
        thread::spawn(move || {
            for rq in dispatch.incoming_requests() {
                count.fetch_add(1, Ordering::SeqCst);
                if tx.send(rq).is_err() {
                    return;
                }
            }
        });
        PoolServer {
            server,
            addr,
            handed_over,
        }
    }

    /// A connection from the loopback address `from` (127.0.0.1 or 127.0.0.2: both are this
    /// machine on Linux).
    fn connect_from(&self, from: [u8; 4]) -> TcpStream {
        let s = connect_from(IpAddr::from(from), self.addr).expect("connect");
        s.set_read_timeout(Some(ANSWER)).expect("timeout");
        s
    }

    /// `GET path` from `from` on a new connection; the response, or why there was none.
    fn get_from(&self, from: [u8; 4], path: &str) -> std::io::Result<Resp> {
        let mut s = connect_from(IpAddr::from(from), self.addr)?;
        s.set_read_timeout(Some(ANSWER))?;
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
        )?;
        read_response(&mut BufReader::new(s), false, true)
    }
}

impl Drop for PoolServer {
    fn drop(&mut self) {
        self.server.shutdown(Duration::from_secs(2));
    }
}

/// Connects to `to` from the local address `from`: std cannot bind a client socket first.
fn connect_from(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let (IpAddr::V4(from), SocketAddr::V4(to)) = (from, to) else {
        return Err(std::io::Error::other("IPv4 only"));
    };
    let sockaddr = |ip: std::net::Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let local = sockaddr(from, 0);
    let remote = sockaddr(*to.ip(), to.port());
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor we own; the sockaddr structs outlive them.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let stream = TcpStream::from_raw_fd(fd);
        if libc::bind(fd, (&local as *const libc::sockaddr_in).cast(), len) != 0
            || libc::connect(fd, (&remote as *const libc::sockaddr_in).cast(), len) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
        Ok(stream)
    }
}

/// The test application: `/read` reads the whole body and says how that ended; `/big` sends
/// 8 MiB of known length; anything else a 16 KiB page.
fn app(mut rq: Request) {
    let answer = match rq.url() {
        "/read" => {
            let mut sink = [0u8; 4096];
            let mut total = 0;
            let outcome = loop {
                match rq.as_reader().read(&mut sink) {
                    Ok(0) => break format!("complete {total}"),
                    Ok(n) => total += n,
                    Err(e) => break format!("err {:?} after {total}: {e}", e.kind()),
                }
            };
            Response::from_string(outcome).boxed()
        }
        "/big" => Response::empty(200)
            .with_data(
                Pattern {
                    left: Some(8 << 20),
                },
                Some(8 << 20),
            )
            .boxed(),
        _ => Response::from_data(vec![b'p'; 16 * 1024]).boxed(),
    };
    let _ = rq.respond(answer);
}

/// Sends `data` on `s` `step` bytes at a time, `every` apart, from another thread, until done
/// or the server closes; the caller reads the answer meanwhile.
fn trickle(s: &TcpStream, data: Vec<u8>, step: usize, every: Duration) -> thread::JoinHandle<()> {
    let mut w = s.try_clone().expect("clone");
    thread::spawn(move || {
        for piece in data.chunks(step) {
            if w.write_all(piece).is_err() {
                break;
            }
            thread::sleep(every);
        }
    })
}

#[test]
fn a_trickled_small_body_is_read_before_a_thread_is_committed() {
    let limits = Limits {
        small_body_timeout: Duration::from_millis(1500),
        ..test_limits()
    };
    // One worker: were the trickled body read on it, the honest request could not be served.
    let ts = PoolServer::start(limits, 1, app);
    let mut slow = ts.connect_from([127, 0, 0, 1]);
    slow.write_all(b"POST /read HTTP/1.1\r\nHost: t\r\nContent-Length: 60\r\n\r\nab")
        .expect("head");
    // One byte every 400 ms: on the worker, this body would hold it for 23 s.
    let trickler = trickle(&slow, vec![b'x'; 58], 1, Duration::from_millis(400));
    thread::sleep(Duration::from_millis(300));
    assert_eq!(
        ts.handed_over.load(Ordering::SeqCst),
        0,
        "a small body still arriving is not handed to the application"
    );
    let honest = ts
        .get_from([127, 0, 0, 2], "/page")
        .expect("honest answered");
    assert_eq!(honest.status, 200);

    // Past its deadline the request is handed over with what arrived, and its reader fails
    // as a stalled read would.
    let resp = read_response(&mut BufReader::new(&slow), false, true).expect("answered");
    eprintln!("trickled small body: {}", resp.text());
    let _ = slow.shutdown(std::net::Shutdown::Both);
    trickler.join().expect("trickler");
    assert!(resp.text().starts_with("err TimedOut"), "{}", resp.text());
    assert_eq!(resp.header("Connection"), Some("close"));
    assert!(ts.server.stats().slow_bodies >= 1);
    // (A small body with `Expect: 100-continue` is protocol.rs's
    // expect_100_continue_is_sent_only_on_the_first_read: it is prefetched too.)
}

#[test]
fn a_body_below_the_minimum_rate_is_cut_and_one_above_it_completes() {
    let limits = Limits {
        small_body_max: 0,
        min_rate: 1000,
        rate_window: Duration::from_millis(600),
        body_read_stall_timeout: Duration::from_secs(60),
        ..test_limits()
    };
    let ts = PoolServer::start(limits, 2, app);
    // 100 bytes every 200 ms: 500 B/s, half the minimum.
    let mut slow = ts.connect_from([127, 0, 0, 1]);
    slow.write_all(b"POST /read HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n")
        .expect("head");
    let trickler = trickle(&slow, vec![b'x'; 4000], 100, Duration::from_millis(200));
    let resp = read_response(&mut BufReader::new(&slow), false, true).expect("answered");
    eprintln!("upload at half the minimum rate: {}", resp.text());
    let _ = slow.shutdown(std::net::Shutdown::Both);
    trickler.join().expect("trickler");
    assert!(
        resp.text().contains("slower than the minimum rate"),
        "{}",
        resp.text()
    );
    assert!(ts.server.stats().slow_bodies >= 1);

    // 2,000 bytes every 100 ms: twenty times the minimum, for two seconds.
    let mut fast = ts.connect_from([127, 0, 0, 1]);
    fast.write_all(b"POST /read HTTP/1.1\r\nHost: t\r\nContent-Length: 40000\r\n\r\n")
        .expect("head");
    let sender = trickle(&fast, vec![b'y'; 40_000], 2000, Duration::from_millis(100));
    let resp = read_response(&mut BufReader::new(&fast), false, true).expect("answered");
    sender.join().expect("sender");
    assert_eq!(resp.text(), "complete 40000");
}

#[test]
fn a_response_the_client_does_not_read_is_cut_at_the_minimum_rate() {
    let limits = Limits {
        min_rate: 1000,
        rate_window: Duration::from_millis(500),
        write_stall_timeout: Duration::from_secs(60),
        ..test_limits()
    };
    let (done_tx, done_rx) = mpsc::channel();
    let done_tx = Mutex::new(done_tx);
    let ts = PoolServer::start(limits, 1, move |rq| {
        let big = Response::empty(200).with_data(
            Pattern {
                left: Some(64 << 20),
            },
            Some(64 << 20),
        );
        let result = rq.respond(big);
        if let Ok(tx) = done_tx.lock() {
            let _ = tx.send(result.map_err(|e| e.to_string()));
        }
    });
    let mut s = ts.connect_from([127, 0, 0, 1]);
    s.write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let result = done_rx.recv_timeout(ANSWER).expect("respond() returned");
    eprintln!("64 MiB response to a client that never reads: {result:?}");
    assert!(result.unwrap_err().contains("minimum rate"));
    assert!(ts.server.stats().slow_readers >= 1);
    drop(s);
}

#[test]
fn pipelining_without_reading_holds_no_application_thread() {
    let limits = Limits {
        // Long enough that a worker writing to the attacker would be stuck for the whole test.
        rate_window: Duration::from_secs(120),
        write_stall_timeout: Duration::from_secs(120),
        ..test_limits()
    };
    let ts = PoolServer::start(limits, 1, app);
    // Far more requests than the socket buffers hold answers for; the answers are never read.
    let attackers: Vec<TcpStream> = (0..4).map(|_| ts.connect_from([127, 0, 0, 1])).collect();
    let senders: Vec<_> = attackers
        .iter()
        .map(|s| {
            s.set_write_timeout(Some(ANSWER)).expect("timeout");
            let requests = b"GET /page HTTP/1.1\r\nHost: t\r\n\r\n".repeat(5000);
            trickle(s, requests, 4096, Duration::ZERO)
        })
        .collect();
    let served = support_wait(ANSWER, || ts.handed_over.load(Ordering::SeqCst) > 8);
    assert!(served, "the attackers' requests were served");
    // Until their socket buffers are full and every answer waits for a reader.
    let mut last = 0;
    while ts.handed_over.load(Ordering::SeqCst) != last {
        last = ts.handed_over.load(Ordering::SeqCst);
        thread::sleep(Duration::from_millis(500));
    }
    let honest = ts
        .get_from([127, 0, 0, 2], "/page")
        .expect("honest answered");
    assert_eq!(honest.status, 200);
    assert_eq!(honest.body.len(), 16 * 1024);
    for s in &attackers {
        let _ = s.shutdown(std::net::Shutdown::Both);
    }
    for t in senders {
        t.join().expect("sender");
    }
}

/// Polls `f` every 20 ms until true or `within` passes.
fn support_wait(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    f()
}

#[test]
fn one_address_cannot_take_every_connection() {
    let limits = Limits {
        max_connections: 8,
        max_connections_per_ip: 3,
        ..test_limits()
    };
    let (park_tx, park_rx) = mpsc::channel::<Request>();
    let park_tx = Mutex::new(park_tx);
    let ts = PoolServer::start(limits, 8, move |rq| {
        if rq.url() == "/park" {
            if let Ok(tx) = park_tx.lock() {
                let _ = tx.send(rq);
            }
        } else {
            app(rq);
        }
    });
    // 127.0.0.1 holds three connections, all serving a request.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = ts.connect_from([127, 0, 0, 1]);
        s.write_all(b"GET /park HTTP/1.1\r\nHost: t\r\n\r\n")
            .expect("write");
        held.push(s);
    }
    let parked: Vec<Request> = (0..3)
        .map(|_| park_rx.recv_timeout(ANSWER).expect("parked"))
        .collect();
    // A fourth from the same address is refused at once; another address is served.
    let refused = ts.get_from([127, 0, 0, 1], "/page").expect("answered");
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("Retry-After"), Some("1"));
    assert!(ts.server.stats().rejected_per_ip >= 1);
    let other = ts.get_from([127, 0, 0, 2], "/page").expect("answered");
    assert_eq!(other.status, 200);
    for rq in parked {
        let _ = rq.respond(Response::from_string("done"));
    }

    // A connect flood from 127.0.0.1 (silent connections, dropped ones, requests) while
    // 127.0.0.2 keeps asking: every one of 127.0.0.2's requests is answered.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flooders: Vec<_> = (0..4)
        .map(|i| {
            let stop = Arc::clone(&stop);
            let addr = ts.addr;
            thread::spawn(move || {
                let mut silent = Vec::new();
                let mut n = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    if let Ok(mut s) = connect_from(IpAddr::from([127, 0, 0, 1]), addr) {
                        match (n + i) % 3 {
                            0 => silent.push(s),
                            1 => drop(s),
                            _ => {
                                let _ = s.write_all(b"GET /page HTTP/1.1\r\nHost: t\r\n\r\n");
                                silent.push(s);
                            }
                        }
                        if silent.len() > 50 {
                            silent.remove(0);
                        }
                    }
                    n += 1;
                }
                n
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    for i in 0..20 {
        let r = ts
            .get_from([127, 0, 0, 2], "/page")
            .unwrap_or_else(|e| panic!("request {i} from 127.0.0.2 during the flood: {e}"));
        assert_eq!(r.status, 200, "request {i} from 127.0.0.2 during the flood");
    }
    stop.store(true, Ordering::SeqCst);
    let attempts: u64 = flooders
        .into_iter()
        .map(|f| f.join().expect("flooder"))
        .sum();
    eprintln!(
        "20 of 20 answered for 127.0.0.2 during {attempts} connects from 127.0.0.1; {:?}",
        ts.server.stats()
    );
    drop(held);
}

#[test]
fn idle_keep_alive_connections_are_evicted_first() {
    let limits = Limits {
        max_connections: 3,
        max_connections_per_ip: 3,
        // Nothing closes on its own during the test.
        keepalive_idle_timeout: Duration::from_secs(60),
        head_read_timeout: Duration::from_secs(60),
        ..test_limits()
    };
    let ts = PoolServer::start(limits, 2, app);
    // Oldest: a connection halfway through its request head.
    let mut partial = ts.connect_from([127, 0, 0, 1]);
    partial
        .write_all(b"GET /page HTTP/1.1\r\n")
        .expect("partial");
    thread::sleep(Duration::from_millis(150));
    // Then an idle keep-alive connection that has had its answer.
    let mut idle = ts.connect_from([127, 0, 0, 1]);
    idle.write_all(b"GET /page HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("w");
    let mut idle_r = BufReader::new(idle.try_clone().expect("clone"));
    assert_eq!(
        read_response(&mut idle_r, false, true)
            .expect("first")
            .status,
        200
    );
    // A third, also half-way.
    let mut partial2 = ts.connect_from([127, 0, 0, 1]);
    partial2
        .write_all(b"GET /page HTTP/1.1\r\n")
        .expect("partial");
    thread::sleep(Duration::from_millis(300));
    // The table is full; a newcomer evicts the idle one, although it is not the oldest.
    let r = ts
        .get_from([127, 0, 0, 2], "/page")
        .expect("newcomer answered");
    assert_eq!(r.status, 200);
    let mut rest = Vec::new();
    assert_eq!(
        idle_r.read_to_end(&mut rest).unwrap_or(0),
        0,
        "idle one closed"
    );
    for s in [&mut partial, &mut partial2] {
        s.write_all(b"Host: t\r\nConnection: close\r\n\r\n")
            .expect("rest of head");
        let r = read_response(
            &mut BufReader::new(s.try_clone().expect("clone")),
            false,
            true,
        )
        .expect("the half-sent requests are still served");
        assert_eq!(r.status, 200);
    }
    drop(idle);
}
