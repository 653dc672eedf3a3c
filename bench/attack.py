#!/usr/bin/env python3
"""make bench, "under attack" (issue 15): while each attack from the issue runs against a server
with the default settings (16 request threads), an honest client on another address measures
the p50/p99 latency of `GET /` and of a logged-in `GET /files`, and the throughput of one
100 MB download and one 100 MB upload — next to the same figures with no attack, in the same
run.

Attackers connect from 127.0.0.1, the honest client from 127.0.0.2 and the busy-but-honest
load from 127.0.1.x: all are this machine on Linux; client sockets are bound to pick the source
address. Standard library only. ATTACK_SCALE=small runs every attack at a fraction of its
strength (a smoke test); the default is the issue's full strength. Run alone with
`make bench-attack`; `make bench` includes it. For a quick comparison with another binary:
PICOSHARE_BIN=… ATTACK_ONLY=0,1,2 (indexes into ATTACKS) ATTACK_SAMPLES=20 ATTACK_TIMEOUT=10
ATTACK_GIVE_UP=60 (seconds each honest transfer may take, 300 by default).
"""
import http.client, json, multiprocessing, os, random, shutil, signal, socket, statistics
import subprocess, sys, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("PICOSHARE_BIN", os.path.join(ROOT, "target/release/picoshare"))
WORK = os.environ.get("BENCH_DIR", os.path.join(ROOT, "bench/.work"))
MIB = 1 << 20
SECRET = "bench-passphrase"
ATTACKER, HONEST = "127.0.0.1", "127.0.0.2"

FULL = dict(login_conns=20, pipe_conns=20, slow_downloads=50, slow_file=200 * MIB,
            slow_rate=10_000, busy_each=20, busy_file=50 * MIB, flood_rate=5800,
            honest_file=100 * MIB, samples=100, ramp=5)
SMALL = dict(login_conns=6, pipe_conns=6, slow_downloads=10, slow_file=20 * MIB,
             slow_rate=10_000, busy_each=4, busy_file=8 * MIB, flood_rate=1000,
             honest_file=20 * MIB, samples=30, ramp=2)
SCALE = dict(SMALL if os.environ.get("ATTACK_SCALE") == "small" else FULL)
if os.environ.get("ATTACK_SAMPLES"):
    SCALE["samples"] = int(os.environ["ATTACK_SAMPLES"])
# An honest request that takes longer than this counts as failed (and as this long).
TIMEOUT = int(os.environ.get("ATTACK_TIMEOUT", "30"))
# A starved server must not hang the bench: each honest transfer gets this long (seconds).
GIVE_UP = int(os.environ.get("ATTACK_GIVE_UP", "300"))


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def make_file(path, size):
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    rng = random.Random(size)
    block = rng.randbytes(MIB)
    with open(path, "wb") as f:
        for i in range(size // MIB):
            f.write(block[i % 997:] + block[: i % 997])


def connect(src, port, timeout=TIMEOUT):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


class Server:
    def __init__(self, db):
        cmd = [BIN, "-db", db, "--listen", "127.0.0.1", "--port", "0"]
        env = dict(os.environ, PS_SHARED_SECRET=SECRET)
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  env=env, text=True)
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError("server exited before listening")
            if "listening on http://" in line:
                self.port = int(line.strip().rsplit(":", 1)[1])
                break
        threading.Thread(target=lambda: [None for _ in self.p.stdout], daemon=True).start()
        self.cookie = self.login(HONEST)

    def http(self, src, timeout=TIMEOUT):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                          source_address=(src, 0))

    def login(self, src):
        c = self.http(src)
        c.request("POST", "/api/auth", json.dumps({"sharedSecretKey": SECRET}),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        return r.getheader("Set-Cookie").split(";")[0]

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def upload(srv, src, path, retries=1000, give_up=3600):
    """Streams `path` as a multipart upload from `src`; retries after `Retry-After` on 503.
    Returns (id, seconds, 503s); id None when it did not succeed within `give_up` seconds."""
    boundary = "benchboundary7MA4YWxkTrZu0gW"
    name = os.path.basename(path)
    pre = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
           "Content-Type: application/octet-stream\r\n\r\n").encode()
    post = f"\r\n--{boundary}--\r\n".encode()
    size = len(pre) + os.path.getsize(path) + len(post)
    busy, t0 = 0, time.monotonic()
    for _ in range(retries):
        if time.monotonic() - t0 > give_up:
            break
        def body():
            yield pre
            with open(path, "rb") as f:
                while b := f.read(MIB):
                    yield b
            yield post
        c = srv.http(src, timeout=min(600, give_up))
        try:
            c.request("POST", "/api/entry?expiration=2999-12-31T00:00:00Z", body(),
                      {"Cookie": srv.cookie, "Content-Length": str(size),
                       "Content-Type": f"multipart/form-data; boundary={boundary}"})
            r = c.getresponse()
            data = r.read()
        except OSError:
            # Refused before the body was read: the server answers 503 and closes.
            busy += 1
            time.sleep(1)
            continue
        finally:
            c.close()
        if r.status == 503:
            busy += 1
            time.sleep(int(r.getheader("Retry-After") or "1"))
            continue
        if r.status != 200:
            raise RuntimeError(f"upload answered {r.status}: {data[:200]!r}")
        return json.loads(data)["id"], time.monotonic() - t0, busy
    return None, time.monotonic() - t0, busy


def delete(srv, src, id_):
    """Deletes a stored file, so a load that uploads over and over does not fill the disk."""
    c = srv.http(src)
    try:
        c.request("DELETE", f"/api/entry/{id_}", headers={"Cookie": srv.cookie})
        c.getresponse().read()
    except OSError:
        pass
    finally:
        c.close()


def download(srv, src, id_, retries=1000, give_up=3600):
    """Reads the whole file from `src`, discarding it; retries on 503. Returns
    (bytes, seconds, 503s); 0 bytes when it did not succeed within `give_up` seconds."""
    busy, t0 = 0, time.monotonic()
    for _ in range(retries):
        if time.monotonic() - t0 > give_up:
            break
        c = srv.http(src, timeout=min(600, give_up))
        try:
            c.request("GET", f"/-{id_}")
            r = c.getresponse()
        except OSError:
            c.close()
            busy += 1
            time.sleep(1)
            continue
        if r.status == 503:
            r.read()
            c.close()
            busy += 1
            time.sleep(int(r.getheader("Retry-After") or "1"))
            continue
        n = 0
        try:
            while b := r.read(MIB):
                n += len(b)
        except OSError:
            n = 0
        c.close()
        return n, time.monotonic() - t0, busy
    return 0, time.monotonic() - t0, busy


def latencies(srv, path, cookie, n):
    """`n` sequential requests for `path` from the honest address, each on a new connection.
    Returns (sorted seconds, failures); a failure counts as TIMEOUT."""
    out, failed = [], 0
    headers = {"Cookie": cookie} if cookie else {}
    for _ in range(n):
        t0 = time.perf_counter()
        try:
            c = srv.http(HONEST)
            c.request("GET", path, headers=headers)
            r = c.getresponse()
            r.read()
            c.close()
            ok = r.status == 200
        except OSError:
            ok = False
        took = time.perf_counter() - t0
        if not ok:
            failed += 1
            took = max(took, TIMEOUT)
        out.append(took)
    out.sort()
    return out, failed


def mbs(x):
    return f"failed within {GIVE_UP} s" if x is None else f"{x:.0f}"


def pct(xs, p):
    return xs[min(len(xs) - 1, int(p * (len(xs) - 1) + 0.5))]


# ---------------------------------------------------------------------------------------------
# The attacks. Each is a function(srv, ids, stop) that starts its threads or processes and
# returns a function giving a one-line summary of what the attacker got.

def attack_none(srv, ids, stop):
    return lambda: "—"


def hold_connections(srv, n, stop, start, then):
    """`n` attacker connections, each sending `start` once and then calling `then(socket)`
    until stopped; a connection the server closes is reopened. Returns a dict counting those."""
    got = {"reconnects": 0}

    def one():
        while not stop.is_set():
            try:
                s = connect(ATTACKER, srv.port, timeout=5)
                s.sendall(start)
                while not stop.is_set():
                    then(s)
            except OSError:
                got["reconnects"] += 1
                time.sleep(0.2)
    for _ in range(n):
        threading.Thread(target=one, daemon=True).start()
    return got


def attack_slow_logins(srv, ids, stop):
    """Connections each declaring a 60,000-byte login body, then one byte a second."""
    def byte(s):
        s.sendall(b"x")
        time.sleep(1)
    n = SCALE["login_conns"]
    got = hold_connections(srv, n, stop, b"POST /api/auth HTTP/1.1\r\nHost: t\r\n"
                           b"Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n", byte)
    return lambda: f"{n} connections; {got['reconnects']} cut and reconnected"


def attack_pipelining(srv, ids, stop):
    """Connections pipelining `GET /css/style.css` without ever reading an answer."""
    req = b"GET /css/style.css HTTP/1.1\r\nHost: t\r\n\r\n" * 256
    n = SCALE["pipe_conns"]
    got = hold_connections(srv, n, stop, req, lambda s: s.sendall(req))
    return lambda: f"{n} connections; {got['reconnects']} closed by the server and reopened"


def attack_slow_downloads(srv, ids, stop):
    """Downloads of the big file, each read at 10 KB/s; a refused one retries at once."""
    got = {"running": 0, "refused": 0, "cut": 0}
    rate = SCALE["slow_rate"]

    def one():
        while not stop.is_set():
            try:
                s = connect(ATTACKER, srv.port, timeout=60)
                s.sendall(f"GET /-{ids['slow']} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
                first = s.recv(rate)
                if first.startswith(b"HTTP/1.1 503"):
                    got["refused"] += 1
                    s.close()
                    time.sleep(0.1)
                    continue
                got["running"] += 1
                while not stop.is_set():
                    time.sleep(1)
                    if not s.recv(rate):
                        break
                got["running"] -= 1
                got["cut"] += 1
            except OSError:
                time.sleep(0.1)
    for _ in range(SCALE["slow_downloads"]):
        threading.Thread(target=one, daemon=True).start()
    return lambda: (f"{SCALE['slow_downloads']} downloaders: {got['running']} running at the end, "
                    f"{got['refused']} refused with 503 (each retried at once)")


def attack_busy(srv, ids, stop):
    """Busy but honest: uploads and downloads of 50 MB files from 2 × 20 addresses, over and
    over, each waiting `Retry-After` when refused."""
    got = {"up": 0, "down": 0, "busy": 0}

    def uploader(i):
        while not stop.is_set():
            id_, _, busy = upload(srv, f"127.0.1.{i + 1}", ids["busy_path"], retries=1)
            got["busy"] += busy
            got["up"] += 1 - busy
            if id_:
                # Stored and checked in: gone again, or this load fills the disk (9 GB in
                # one run once uploads passed 300 MB/s).
                delete(srv, f"127.0.1.{i + 1}", id_)

    def downloader(i):
        while not stop.is_set():
            n, _, busy = download(srv, f"127.0.1.{100 + i}", ids["busy"], retries=1)
            got["busy"] += busy
            got["down"] += 1 if n else 0
    for i in range(SCALE["busy_each"]):
        threading.Thread(target=uploader, args=(i,), daemon=True).start()
        threading.Thread(target=downloader, args=(i,), daemon=True).start()
    return lambda: (f"{SCALE['busy_each']} uploaders + {SCALE['busy_each']} downloaders: "
                    f"{got['up']} uploads and {got['down']} downloads done, {got['busy']} × 503")


def flood_process(port, rate, count):
    """One process of the connect flood: silent connections at `rate` per second, the oldest
    closed past 500; `count` counts the connects made."""
    held, n, t0 = [], 0, time.monotonic()
    while True:
        due = t0 + n / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        n += 1
        try:
            held.append(connect(ATTACKER, port, timeout=2))
            with count.get_lock():
                count.value += 1
        except OSError:
            pass
        if len(held) > 500:
            held.pop(0).close()


def attack_flood(srv, ids, stop):
    """Connects from one address at `flood_rate` per second, spread over processes."""
    count = multiprocessing.Value("q", 0)
    n = max(1, min(8, SCALE["flood_rate"] // 700))
    procs = [multiprocessing.Process(target=flood_process,
                                     args=(srv.port, SCALE["flood_rate"] / n, count), daemon=True)
             for _ in range(n)]
    t0 = time.monotonic()
    for p in procs:
        p.start()

    def summary():
        reached = count.value / (time.monotonic() - t0)
        for p in procs:
            p.terminate()
        return f"{n} processes aiming at {SCALE['flood_rate']} connects/s reached {reached:.0f}/s"
    return summary


ATTACKS = [
    ("no attack", attack_none),
    (f"{SCALE['login_conns']} × POST /api/auth, Content-Length 60000, 1 byte/s", attack_slow_logins),
    (f"{SCALE['pipe_conns']} × pipelined GET /css/style.css, answers never read", attack_pipelining),
    (f"{SCALE['slow_downloads']} × download of a {SCALE['slow_file'] // MIB} MB file at 10 KB/s", attack_slow_downloads),
    (f"busy honest load: {SCALE['busy_each']} × {SCALE['busy_file'] // MIB} MB uploads + {SCALE['busy_each']} × downloads", attack_busy),
    (f"connect flood, {SCALE['flood_rate']} connects/s from one address", attack_flood),
]


def run():
    os.makedirs(WORK, exist_ok=True)
    files = {}
    for key in ("slow_file", "busy_file", "honest_file"):
        files[key] = os.path.join(WORK, f"attack-{key}-{SCALE[key] // MIB}m.bin")
        make_file(files[key], SCALE[key])
    rows = []
    only = os.environ.get("ATTACK_ONLY")
    chosen = [ATTACKS[int(i)] for i in only.split(",")] if only else ATTACKS
    for label, attack in chosen:
        db_dir = os.path.join(WORK, "db-attack")
        shutil.rmtree(db_dir, ignore_errors=True)
        os.makedirs(db_dir)
        srv = Server(os.path.join(db_dir, "store.db"))
        ids = {"slow": upload(srv, HONEST, files["slow_file"])[0],
               "busy": upload(srv, HONEST, files["busy_file"])[0],
               "honest": upload(srv, HONEST, files["honest_file"])[0],
               "busy_path": files["busy_file"]}
        log(f"attack: {label}")
        stop = threading.Event()
        summary = attack(srv, ids, stop)
        time.sleep(SCALE["ramp"])
        home, home_failed = latencies(srv, "/", None, SCALE["samples"])
        files_page, files_failed = latencies(srv, "/files", srv.cookie, SCALE["samples"])
        n, down_secs, down_busy = download(srv, HONEST, ids["honest"], give_up=GIVE_UP)
        up_id, up_secs, up_busy = upload(srv, HONEST, files["honest_file"], give_up=GIVE_UP)
        what = summary()
        stop.set()
        alive = srv.p.poll() is None
        srv.stop()
        shutil.rmtree(db_dir, ignore_errors=True)
        size = SCALE["honest_file"] / 1e6
        down = size / down_secs if n == SCALE["honest_file"] else None
        up = size / up_secs if up_id else None
        rows.append(dict(label=label, home=home, home_failed=home_failed, files=files_page,
                         files_failed=files_failed, down=down, down_busy=down_busy,
                         up=up, up_busy=up_busy, what=what, alive=alive))
        log(f"  GET / p50 {pct(home, .5) * 1000:.1f} ms p99 {pct(home, .99) * 1000:.1f} ms; "
            f"/files p99 {pct(files_page, .99) * 1000:.1f} ms; download {mbs(down)}; "
            f"upload {mbs(up)}; {what}")
    return section(rows)


def section(rows):
    ms = lambda s: f"{s * 1000:.1f} ms" if s < 10 else f"{s:.1f} s"
    scale = ("ATTACK_SCALE=small: a smoke test, not the issue's numbers"
             if os.environ.get("ATTACK_SCALE") == "small" else "full strength")
    honest = SCALE["honest_file"] // MIB
    lines = [
        f"## 6. Under attack ({scale})",
        "",
        f"Default settings (16 request threads, 12 for transfers). While each attack runs from 127.0.0.1, an honest",
        f"client on 127.0.0.2 makes {SCALE['samples']} sequential `GET /` and {SCALE['samples']} logged-in `GET /files`",
        f"(each on a new connection; a failure or a wait over {TIMEOUT} s counts as {TIMEOUT} s), then one {honest} MB",
        "download and one upload (waiting `Retry-After` if refused). Target: `GET /` p99 under 1 s.",
        "",
        "| attack | `GET /` p50 | `GET /` p99 | `/files` p50 | `/files` p99 | failed | download MB/s | upload MB/s | what the attacker got |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        busy = lambda n: f" (after {n} × 503)" if n else ""
        lines.append(
            f"| {r['label']} | {ms(pct(r['home'], .5))} | {ms(pct(r['home'], .99))} | "
            f"{ms(pct(r['files'], .5))} | {ms(pct(r['files'], .99))} | "
            f"{r['home_failed'] + r['files_failed']} | {mbs(r['down'])}{busy(r['down_busy'])} | "
            f"{mbs(r['up'])}{busy(r['up_busy'])} | {r['what']}{'' if r['alive'] else '; SERVER DIED'} |")
    lines += [
        "",
        "Command: `make bench-attack` (this section alone) or `make bench`; `ATTACK_SCALE=small` for a",
        "quick run. The busy-load clients use one address each (127.0.1.x), as real clients would.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    text = run()
    print(text)
    with open(os.path.join(ROOT, "bench/RESULTS-attack.md"), "w") as f:
        f.write(text)
