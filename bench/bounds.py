#!/usr/bin/env python3
"""Issue 16's figures: what an anonymous visitor's requests grow, and what the admin's long
lists cost. Standard library only; talks only to 127.0.0.1.

    PICOSHARE_BIN=target/x86_64-unknown-linux-gnu/release/picoshare python3 bench/bounds.py

Runs, each against a fresh server and database:
1. The history flood: N pipelined `GET /-ID` with `Range: bytes=0-0` and an 8,000-byte User-Agent on
   one connection; then the file's history page. Prints the database's growth (the file, with
   the server stopped so its WAL is folded in), the history rows, the page's bytes and time, and the server's VmHWM. Then the
   same flood with a different agent in each request.
2. 100,000 history rows inserted directly (256-byte agents, distinct addresses), then the
   history page: bytes, time, VmHWM.
3. 10,000 files inserted directly, then `/files`: bytes, time, VmHWM.
BOUNDS_FLOOD (default 10000) sets N.
"""
import http.client, json, os, socket, sqlite3, subprocess, sys, tempfile, threading, time

BIN = os.environ.get("PICOSHARE_BIN", "target/release/picoshare")
FLOOD = int(os.environ.get("BOUNDS_FLOOD", "10000"))
SECRET = "bounds-passphrase"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Server:
    def __init__(self, db, *args):
        self.db = db
        env = dict(os.environ, PS_SHARED_SECRET=SECRET)
        self.p = subprocess.Popen(
            [BIN, "-db", db, "--listen", "127.0.0.1", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
        for line in self.p.stdout:
            if line.startswith("picoshare: listening on http://"):
                host, port = line.strip().rsplit("/", 1)[1].split(":")
                self.port = int(port)
                break
        threading.Thread(target=lambda: [None for _ in self.p.stdout], daemon=True).start()
        self.cookie = self.login()

    def hwm_kib(self):
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r, data

    def login(self):
        r, _ = self.request("POST", "/api/auth", json.dumps({"sharedSecretKey": SECRET}),
                            {"Content-Type": "application/json"})
        return r.getheader("Set-Cookie").split(";")[0]

    def upload(self, name, data):
        b = "----bounds"
        body = (f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + \
            f"\r\n--{b}--\r\n".encode()
        r, data = self.request("POST", "/api/entry?expiration=2999-12-31T00:00:00Z", body,
                               {"Cookie": self.cookie,
                                "Content-Type": f"multipart/form-data; boundary={b}"})
        assert r.status == 200, data
        return json.loads(data)["id"]

    def page(self, path):
        t0 = time.monotonic()
        r, data = self.request("GET", path, headers={"Cookie": self.cookie})
        return r.status, len(data), time.monotonic() - t0

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=30)


def db_bytes(db):
    return sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s))


def rows(db, sql):
    c = sqlite3.connect(db, timeout=30)
    n = c.execute(sql).fetchone()[0]
    c.close()
    return n


def flood(s, fid, n, distinct=False):
    """N pipelined range requests on one connection, with one 8,000-byte agent (or a
    different one each time); returns the statuses seen."""
    def req(i):
        tag = f"agent-{i} " if distinct else ""
        ua = tag + "Mozilla/5.0 " + "x" * (8000 - 12 - len(tag))
        return (f"GET /-{fid} HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=0-0\r\n"
                f"User-Agent: {ua}\r\n\r\n").encode()
    sock = socket.create_connection(("127.0.0.1", s.port))
    sock.settimeout(120)

    def send():
        for i in range(n):
            sock.sendall(req(i))

    threading.Thread(target=send, daemon=True).start()
    got, buf = 0, b""
    statuses = {}
    while got < n:
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        buf += chunk
        while True:
            i = buf.find(b"HTTP/1.1 ")
            j = buf.find(b"\r\n\r\n", i)
            if i < 0 or j < 0 or len(buf) < j + 5:
                break
            st = buf[i + 9:i + 12].decode()
            statuses[st] = statuses.get(st, 0) + 1
            buf = buf[j + 5:]
            got += 1
    sock.close()
    return statuses


def main():
    work = tempfile.mkdtemp(prefix="ps-bounds-")
    out = {"binary": BIN}

    # 1. The flood, then the history page. Sizes are taken with the server stopped (its WAL
    # folded into the database file), so they are the database's own growth.
    db = os.path.join(work, "flood.db")
    s = Server(db)
    fid = s.upload("one.bin", b"x" * 1000)
    s.stop()
    before = db_bytes(db)
    s = Server(db)
    hwm0 = s.hwm_kib()
    t0 = time.monotonic()
    statuses = flood(s, fid, FLOOD)
    secs = time.monotonic() - t0
    time.sleep(1.0)  # the history writer's last batch
    hwm1 = s.hwm_kib()
    st, size, t = s.page(f"/files/{fid}/downloads")
    hwm2 = s.hwm_kib()
    s.stop()
    grown = db_bytes(db) - before
    out["flood"] = {
        "requests": FLOOD, "statuses": statuses, "seconds": round(secs, 2),
        "db_growth_bytes": grown, "db_growth_per_1000_requests": round(grown * 1000 / FLOOD),
        "history_rows": rows(db, "SELECT COUNT(*) FROM downloads"),
        "vmhwm_kib_before": hwm0, "vmhwm_kib_after_flood": hwm1,
        "history_page": {"status": st, "bytes": size, "seconds": round(t, 3)},
        "vmhwm_kib_after_page": hwm2,
    }
    log(json.dumps(out["flood"]))

    # The same flood with a different agent each time (what coalescing cannot merge).
    db = os.path.join(work, "distinct.db")
    s = Server(db)
    fid = s.upload("two.bin", b"x" * 1000)
    s.stop()
    before = db_bytes(db)
    s = Server(db)
    statuses = flood(s, fid, FLOOD, distinct=True)
    time.sleep(1.0)
    hwm = s.hwm_kib()
    s.stop()
    grown = db_bytes(db) - before
    out["flood_distinct_agents"] = {
        "requests": FLOOD, "statuses": statuses,
        "db_growth_bytes": grown, "db_growth_per_1000_requests": round(grown * 1000 / FLOOD),
        "history_rows": rows(db, "SELECT COUNT(*) FROM downloads"),
        "vmhwm_kib_after_flood": hwm,
    }
    log(json.dumps(out["flood_distinct_agents"]))

    # 2. 100,000 rows inserted directly, then the page.
    db = os.path.join(work, "rows.db")
    s = Server(db)
    fid = s.upload("many.bin", b"y" * 1000)
    c = sqlite3.connect(db, timeout=30)
    ua = "Mozilla/5.0 (X11; Linux x86_64) " + "z" * (256 - 32)
    c.execute(
        "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 100000) "
        "INSERT INTO downloads (entry_id, download_timestamp, client_ip, user_agent) "
        "SELECT ?1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || i || ' seconds'), "
        "'10.' || (i / 65536) || '.' || (i / 256 % 256) || '.' || (i % 256), ?2 FROM k",
        (fid, ua))
    c.commit()
    c.close()
    hwm0 = s.hwm_kib()
    st, size, t = s.page(f"/files/{fid}/downloads")
    st2, size2, t2 = s.page(f"/files/{fid}/downloads?unique=true")
    out["history_100k"] = {
        "vmhwm_kib_before": hwm0,
        "page": {"status": st, "bytes": size, "seconds": round(t, 3)},
        "unique_page": {"status": st2, "bytes": size2, "seconds": round(t2, 3)},
        "vmhwm_kib_after": s.hwm_kib(),
    }
    s.stop()
    log(json.dumps(out["history_100k"]))

    # 3. 10,000 files, then /files.
    db = os.path.join(work, "files.db")
    s = Server(db)
    c = sqlite3.connect(db, timeout=30)
    c.execute(
        "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 10000) "
        "INSERT INTO entries (id, filename, content_type, upload_time, expiration_time, note) "
        "SELECT printf('f%09d', i), printf('holiday-photo-%05d.jpg', i), 'image/jpeg', "
        "strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || i || ' seconds'), "
        "'2999-12-31T00:00:00Z', 'a note of some fifty characters, give or take' FROM k")
    c.execute("INSERT INTO entries_data (id, chunk_index, chunk) "
              "SELECT id, 0, zeroblob(1000) FROM entries")
    c.commit()
    c.close()
    hwm0 = s.hwm_kib()
    st, size, t = s.page("/files")
    out["files_10k"] = {
        "vmhwm_kib_before": hwm0,
        "page": {"status": st, "bytes": size, "seconds": round(t, 3)},
        "vmhwm_kib_after": s.hwm_kib(),
    }
    s.stop()
    log(json.dumps(out["files_10k"]))
    print(json.dumps(out, indent=2))
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
