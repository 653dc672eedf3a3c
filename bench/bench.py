#!/usr/bin/env python3
"""make bench: the blog post's scenario (three 618 MiB uploads in parallel, then downloads),
inside 256 MB and 32 MB memory cgroups, against baselines measured in the same run, and side
by side with the Go PicoShare when PICOSHARE_GO names its binary; then the issue-15 attacks
(bench/attack.py), each with an honest client's latencies and throughput.

Prints one table and writes it to bench/RESULTS.md. Standard library only. BIG=1 adds a
7 GiB upload. Talks only to 127.0.0.1.
"""
import hashlib, http.client, json, os, platform, random, shutil, signal, socket, statistics
import subprocess, sys, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("PICOSHARE_BIN", os.path.join(ROOT, "target/release/picoshare"))
RAW = os.path.join(ROOT, "target/release/examples/raw_sqlite")
WORK = os.environ.get("BENCH_DIR", os.path.join(ROOT, "bench/.work"))
MIB = 1 << 20
FILE_MIB = int(os.environ.get("BENCH_FILE_MIB", "618"))
CHUNK = 327_680
# The page size the server gives new databases (src/config.rs `page_size`); the raw baseline
# uses the same, so "upload / raw" compares like with like.
PAGE_SIZE = int(os.environ.get("BENCH_PAGE_SIZE", "65536"))
# The Go PicoShare to compare with (`../shared/tools/picoshare-go/build.sh` builds it), and how
# many interleaved rounds each side gets.
GO_BIN = os.environ.get("PICOSHARE_GO", "")
ROUNDS = max(2, int(os.environ.get("BENCH_ROUNDS", "2")))
SECRET = "bench-passphrase"
# Timed read passes (downloads and the raw read-back alike); the tables show the median, as
# one pass on a shared machine can be off by 15%.
PASSES = int(os.environ.get("BENCH_PASSES", "3"))
CG_V1 = "/sys/fs/cgroup/memory"
CG_V2 = "/sys/fs/cgroup"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def make_file(path, size):
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    rng = random.Random(size ^ hash(path) & 0xFFFF)
    block = rng.randbytes(MIB)
    with open(path, "wb") as f:
        for i in range(size // MIB):
            # Cheap, incompressible-enough, distinct blocks.
            f.write(block[i % MIB:] + block[: i % MIB] if i % 7 else os.urandom(MIB))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(4 * MIB):
            h.update(b)
    return h.hexdigest()


class Cgroup:
    """A memory cgroup (v2 if writable, else v1); `None` path when neither is available."""

    def __init__(self, name, limit):
        self.limit, self.path, self.version = limit, None, None
        for version, base in ((2, CG_V2), (1, CG_V1)):
            try:
                if version == 2 and not os.path.exists(os.path.join(base, "cgroup.controllers")):
                    continue
                path = os.path.join(base, name)
                os.makedirs(path, exist_ok=True)
                f = "memory.max" if version == 2 else "memory.limit_in_bytes"
                with open(os.path.join(path, f), "w") as fh:
                    fh.write(str(limit))
                if version == 1:
                    try:  # no swap either
                        with open(os.path.join(path, "memory.memsw.limit_in_bytes"), "w") as fh:
                            fh.write(str(limit))
                    except OSError:
                        pass
                self.path, self.version = path, version
                return
            except OSError:
                continue

    def enter_cmd(self):
        if not self.path:
            return ""
        procs = "cgroup.procs"
        return f"echo $$ > {self.path}/{procs} && "

    def peak(self):
        if not self.path:
            return None
        f = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int(open(os.path.join(self.path, f)).read())
        except OSError:
            return None

    def oom_kills(self):
        if not self.path:
            return None
        f = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            for line in open(os.path.join(self.path, f)):
                k, v = line.split()
                if k == "oom_kill":
                    return int(v)
        except OSError:
            pass
        return 0

    def remove(self):
        if self.path:
            try:
                os.rmdir(self.path)
            except OSError:
                pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """Ours (`binary` None), or the Go PicoShare (`go=True`: PORT from the environment, its
    spill files in a TMPDIR beside the database, no listening line to wait for)."""

    def __init__(self, db, cgroup=None, extra=(), binary=None, go=False):
        self.t0 = time.monotonic()
        enter = cgroup.enter_cmd() if cgroup else ""
        env = dict(os.environ, PS_SHARED_SECRET=SECRET)
        if go:
            self.port = free_port()
            tmp = os.path.join(os.path.dirname(db), "tmp")
            os.makedirs(tmp, exist_ok=True)
            env.update(PORT=str(self.port), TMPDIR=tmp)
            cmd = f"{enter}exec {binary} -db {db}"
            self.p = subprocess.Popen(["sh", "-c", cmd], stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, env=env, text=True)
        else:
            cmd = f"{enter}exec {binary or BIN} -db {db} --listen 127.0.0.1 --port 0 {' '.join(extra)}"
            self.p = subprocess.Popen(["sh", "-c", cmd], stdout=subprocess.PIPE, env=env, text=True)
            while True:
                line = self.p.stdout.readline()
                if not line:
                    raise RuntimeError("server exited before listening")
                if "listening on http://" in line:
                    self.host, port = line.strip().rsplit("http://", 1)[1].rsplit(":", 1)
                    self.port = int(port)
                    break
        threading.Thread(target=self._drain, daemon=True).start()
        # Time to the first answered request.
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", "/login")
                c.getresponse().read()
                break
            except OSError:
                time.sleep(0.005)
        self.ready_secs = time.monotonic() - self.t0
        self.cookie = self.login()

    def _drain(self):
        for _ in self.p.stdout:
            pass

    def status(self, key):
        for line in open(f"/proc/{self.p.pid}/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
        return None

    def cpu_secs(self):
        """User + system CPU seconds the server has used so far (`/proc/PID/stat`)."""
        fields = open(f"/proc/{self.p.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def reset_hwm(self):
        """Restarts VmHWM from the current RSS (Linux `clear_refs` 5), so a peak is the
        peak of what follows, not of start-up."""
        with open(f"/proc/{self.p.pid}/clear_refs", "w") as f:
            f.write("5")

    def login(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port)
        c.request("POST", "/api/auth", json.dumps({"sharedSecretKey": SECRET}),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        return r.getheader("Set-Cookie").split(";")[0]

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(15)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def parallel(fns):
    out, ths = [None] * len(fns), []
    for i, fn in enumerate(fns):
        def run(i=i, fn=fn):
            out[i] = fn()
        ths.append(threading.Thread(target=run))
    t0 = time.monotonic()
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    return time.monotonic() - t0, out


def upload(srv, path):
    r = subprocess.run(["curl", "-sS", "--fail", "-H", "Cookie: " + srv.cookie,
                        "-F", f"file=@{path}", srv.url("/api/entry?expiration=2999-12-31T00:00:00Z")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)["id"]


def download(srv, id_):
    """Timed: the client discards the bytes, so the disk's write speed is not measured."""
    r = subprocess.run(["curl", "-sS", "--fail", "-o", "/dev/null", srv.url(f"/-{id_}")])
    return r.returncode == 0


def download_sha256(srv, id_):
    """Untimed verification pass."""
    p = subprocess.Popen(["curl", "-sS", "--fail", srv.url(f"/-{id_}")], stdout=subprocess.PIPE)
    h = hashlib.sha256()
    while b := p.stdout.read(4 * MIB):
        h.update(b)
    return h.hexdigest() if p.wait() == 0 else None


def scenario(files, digests, limit):
    name = f"picoshare-bench-{limit >> 20}m"
    cg = Cgroup(name, limit)
    db_dir = os.path.join(WORK, f"db-{limit >> 20}m")
    shutil.rmtree(db_dir, ignore_errors=True)
    os.makedirs(db_dir)
    db = os.path.join(db_dir, "store.db")
    srv = Server(db, cg)
    total = sum(os.path.getsize(f) for f in files)
    up_secs, ids = parallel([lambda f=f: upload(srv, f) for f in files])
    ok_up = all(ids)
    passes, oks = [], []
    for _ in range(PASSES if ok_up else 0):
        secs, ok = parallel([lambda i=i: download(srv, ids[i]) for i in range(len(files))])
        passes.append(secs)
        oks += ok
    down_secs = statistics.median(passes) if passes else 0
    oks = oks or [False]
    _, got = parallel([lambda i=i: download_sha256(srv, ids[i]) for i in range(len(files))]) if ok_up else (0, [None])
    hwm = srv.status("VmHWM")
    peak, ooms = cg.peak(), cg.oom_kills()
    alive = srv.p.poll() is None
    srv.stop()
    identical = ok_up and all(oks) and got == digests
    same = raw_read_stored(db, ids, cg) if ok_up else None
    base = raw_baseline(files, cg)
    cg.remove()
    shutil.rmtree(db_dir, ignore_errors=True)
    return dict(limit=limit, cgroup=f"v{cg.version}" if cg.path else "none (not writable)",
                up_secs=up_secs, up_mbs=total / MIB / up_secs, down_secs=down_secs,
                down_mbs=total / MIB / down_secs if down_secs else 0,
                down_passes=[total / MIB / p for p in passes], hwm=hwm, peak=peak,
                ooms=ooms, identical=identical, alive=alive, base=base, same=same)


def raw_read_stored(db, ids, cg):
    """The raw read-back, but of the files as the server stored them: its database, with the
    layout three parallel uploads give it (chunks of the three files in alternating runs)."""
    cmd = cg.enter_cmd() + f"READ_PASSES={PASSES} " + " ".join([RAW, "--read", db] + ids)
    r = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, check=True)
    res = json.loads(r.stdout)
    return statistics.median(res["read_bytes"] / MIB / secs for secs in res["read_secs"])


def raw_baseline(files, cg):
    """The same bytes as raw chunk rows, in the same memory cgroup as the server was."""
    db = os.path.join(WORK, "raw.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    cmd = cg.enter_cmd() + f"READ_PASSES={PASSES} PAGE_SIZE={PAGE_SIZE} " + " ".join([RAW, db, str(CHUNK), str(8 * MIB)] + files)
    r = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, check=True)
    res = json.loads(r.stdout)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    t0 = time.monotonic()
    dests = " ".join(os.path.join(WORK, f"cp{i}") for i in range(len(files)))
    copies = " && ".join(f"cp {f} {os.path.join(WORK, f'cp{i}')}" for i, f in enumerate(files))
    subprocess.run(["sh", "-c", cg.enter_cmd() + copies + " && sync " + dests], check=True)
    cp_secs = time.monotonic() - t0
    for i in range(len(files)):
        os.remove(os.path.join(WORK, f"cp{i}"))
    mib = res["bytes"] / MIB
    reads = [res["read_bytes"] / MIB / secs for secs in res["read_secs"]]
    return dict(insert_mbs=mib / res["insert_secs"], read_mbs=statistics.median(reads),
                read_passes=reads, cp_mbs=mib / cp_secs)


def one_side(name, binary, go, files, digests, limit):
    """One round for one server: fresh database in a fresh memory cgroup, the three uploads in
    parallel (VmHWM restarted just before), a three-stream and a one-stream download pass,
    then an untimed SHA-256 check of every file."""
    cg = Cgroup(f"picoshare-sbs-{name}", limit)
    db_dir = os.path.join(WORK, f"sbs-{name}")
    shutil.rmtree(db_dir, ignore_errors=True)
    os.makedirs(db_dir)
    srv = Server(os.path.join(db_dir, "store.db"), cg, binary=binary, go=go)
    total = sum(os.path.getsize(f) for f in files)
    srv.reset_hwm()
    cpu0 = srv.cpu_secs()
    up_secs, ids = parallel([lambda f=f: upload(srv, f) for f in files])
    up_hwm = srv.status("VmHWM")
    up_cpu = srv.cpu_secs() - cpu0
    res = dict(name=name, up_mbs=total / 1e6 / up_secs, up_hwm=up_hwm, down3_mbs=0, down1_mbs=0,
               up_cpu_per_gb=up_cpu / (total / 1e9), identical=False, ooms=None, alive=True)
    if all(ids):
        secs, ok3 = parallel([lambda i=i: download(srv, ids[i]) for i in range(len(files))])
        res["down3_mbs"] = total / 1e6 / secs if all(ok3) else 0
        t0 = time.monotonic()
        ok1 = download(srv, ids[0])
        res["down1_mbs"] = os.path.getsize(files[0]) / 1e6 / (time.monotonic() - t0) if ok1 else 0
        _, got = parallel([lambda i=i: download_sha256(srv, ids[i]) for i in range(len(files))])
        res["identical"] = got == digests
    res["ooms"] = cg.oom_kills()
    res["alive"] = srv.p.poll() is None
    srv.stop()
    cg.remove()
    shutil.rmtree(db_dir, ignore_errors=True)
    return res


def side_by_side(files, digests, limit):
    """Ours and the Go PicoShare take turns (the order flips each round, so a drift in the
    machine's speed falls on both), ROUNDS rounds each; medians and ratios."""
    sides = [("ours", None, False), ("go", GO_BIN, True)]
    rounds = []
    for r in range(ROUNDS):
        for name, binary, go in (sides if r % 2 == 0 else sides[::-1]):
            log(f"side by side, {limit >> 20} MiB, round {r + 1}/{ROUNDS}: {name}")
            x = one_side(name, binary, go, files, digests, limit)
            x["round"] = r + 1
            rounds.append(x)
    return rounds


def seek_latency(file, n=100):
    db_dir = os.path.join(WORK, "db-seek")
    shutil.rmtree(db_dir, ignore_errors=True)
    os.makedirs(db_dir)
    srv = Server(os.path.join(db_dir, "store.db"))
    id_ = upload(srv, file)
    size = os.path.getsize(file)
    rng = random.Random(42)
    c = http.client.HTTPConnection("127.0.0.1", srv.port)
    ttfb = []
    for _ in range(n):
        off = rng.randrange(0, size - 1)
        t0 = time.perf_counter()
        c.request("GET", f"/-{id_}", headers={"Range": f"bytes={off}-{off + 65535}"})
        r = c.getresponse()
        r.read(1)
        ttfb.append((time.perf_counter() - t0) * 1000)
        r.read()
    srv.stop()
    shutil.rmtree(db_dir, ignore_errors=True)
    ttfb.sort()
    return dict(median=statistics.median(ttfb), p99=ttfb[int(0.99 * (n - 1))])


def footprint():
    db_dir = os.path.join(WORK, "db-idle")
    shutil.rmtree(db_dir, ignore_errors=True)
    os.makedirs(db_dir)
    srv = Server(os.path.join(db_dir, "store.db"))
    time.sleep(1)
    rss = srv.status("VmRSS")
    ready = srv.ready_secs
    srv.stop()
    shutil.rmtree(db_dir, ignore_errors=True)
    return dict(idle_rss=rss, size=os.path.getsize(BIN), ready_ms=ready * 1000)


def bundle_zip(files):
    """Issue 20: the three files as one bundle, its ZIP streamed to a client that checks it.

    Each measurement is a fresh server process (so VmHWM is the ZIP download's own high-water
    mark, not the uploads'), in a 256 MB cgroup when one can be made: idle, one ZIP download,
    then three ZIP downloads in parallel. The ZIP is read by Python's zipfile from the client's
    copy (names, sizes, CRC-32 of every byte)."""
    import zipfile, zlib
    db_dir = os.path.join(WORK, "db-zip")
    shutil.rmtree(db_dir, ignore_errors=True)
    os.makedirs(db_dir)
    db = os.path.join(db_dir, "store.db")
    srv = Server(db)
    ids = [upload(srv, f) for f in files]
    c = http.client.HTTPConnection("127.0.0.1", srv.port)
    c.request("POST", "/api/bundles", json.dumps({"entryIds": ids}),
              {"Content-Type": "application/json", "Cookie": srv.cookie})
    r = c.getresponse()
    bundle = json.loads(r.read())["id"]
    srv.stop()
    total = sum(os.path.getsize(f) for f in files)
    out = dict(bundle_mib=total / MIB)
    for label, streams in (("one", 1), ("three", 3)):
        cg = Cgroup(f"picoshare-bench-zip-{streams}", 256 * MIB)
        srv = Server(db, cg)
        idle = srv.status("VmHWM")
        # The first client keeps its copy for the check; the others discard the bytes.
        zips = [os.path.join(WORK, "bundle.zip")] + ["/dev/null"] * (streams - 1)
        def get(path):
            r = subprocess.run(["curl", "-sS", "--fail", "-o", path, "-w", "%{size_download}",
                                srv.url(f"/-{bundle}/zip")], capture_output=True, text=True)
            return r.returncode == 0
        secs, oks = parallel([lambda z=z: get(z) for z in zips])
        hwm = srv.status("VmHWM")
        alive = srv.p.poll() is None
        srv.stop()
        cg.remove()
        ok = all(oks)
        if ok:
            with zipfile.ZipFile(zips[0]) as z:
                infos = z.infolist()
                ok = [i.file_size for i in infos] == [os.path.getsize(f) for f in files]
                for info, f in zip(infos, files):
                    crc = 0
                    with open(f, "rb") as src:
                        while b := src.read(4 * MIB):
                            crc = zlib.crc32(b, crc)
                    ok = ok and info.CRC == crc
                ok = ok and z.testzip() is None
        if os.path.exists(zips[0]):
            os.remove(zips[0])
        out[label] = dict(idle=idle, hwm=hwm, secs=secs,
                          mbs=streams * os.path.getsize(files[0]) * len(files) / MIB / secs,
                          ok=ok and alive, cgroup=f"v{cg.version}" if cg.path else "none")
    shutil.rmtree(db_dir, ignore_errors=True)
    return out


def bundle_zip_lines(z):
    lines = [
        "",
        f"## 5. A bundle's ZIP (issue 20): the three files as one link, {z['bundle_mib']:.0f} MiB streamed",
        "",
        "| ZIP downloads at once | cgroup | VmHWM idle | VmHWM after | wall | MB/s (all streams) | Python zipfile: names, sizes, CRCs |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, n in (("one", 1), ("three", 3)):
        r = z[label]
        lines.append(f"| {n} | {r['cgroup']} | {mb(r['idle'])} | {mb(r['hwm'])} | {r['secs']:.1f} s | "
                     f"{r['mbs']:.0f} | {'ok' if r['ok'] else 'FAILED'} |")
    lines += [
        "",
        "Each row is a fresh server process on the database the uploads left, so VmHWM is the",
        "ZIP downloads' own peak. The ZIP is stored (no compression), its CRC-32 computed while",
        "it streams, one chunk in memory per download; the client (curl) writes it to disk.",
    ]
    return lines


def mb(b):
    return "n/a" if b is None else f"{b / 1e6:.1f} MB"


def side_by_side_lines(rounds):
    """Section 0 of RESULTS.md: the side-by-side table, or why it is missing."""
    head = ["## 0. Side by side with the Go PicoShare (256 MiB cgroup, same run, interleaved)", ""]
    if not rounds:
        return head + [
            "Skipped: `PICOSHARE_GO` was not set. `../shared/tools/picoshare-go/build.sh` builds",
            "PicoShare 1.5.1 (see its README for the repositories to fetch first); then",
            "`make bench PICOSHARE_GO=/tmp/picoshare-go/bin/picoshare-1.5.1`.",
            "",
        ]
    med = lambda name, k: statistics.median([x[k] or 0 for x in rounds if x["name"] == name])
    ratio = lambda k: med("ours", k) / med("go", k) if med("go", k) else float("inf")
    n = sum(1 for x in rounds if x["name"] == "ours")
    lines = head + [
        f"Each side: {n} rounds, alternating (ours first in odd rounds, Go first in even ones); each",
        "round a fresh database, the server started inside its own 256 MiB memory cgroup (v1/v2),",
        f"three {FILE_MIB} MiB curl uploads in parallel, then a three-stream and a one-stream download",
        "(curl discarding the bytes), then a SHA-256 check of every file. MB/s = 10^6 bytes of file",
        "data per second; medians.",
        "",
        "| | ours | Go PicoShare 1.5.1 | ours / Go | target |",
        "|---|---|---|---|---|",
        f"| upload MB/s (3 × {FILE_MIB} MiB in parallel) | {med('ours', 'up_mbs'):.0f} | {med('go', 'up_mbs'):.0f} | {ratio('up_mbs'):.2f}× | ≥ 2× |",
        f"| download MB/s, 3 streams | {med('ours', 'down3_mbs'):.0f} | {med('go', 'down3_mbs'):.0f} | {ratio('down3_mbs'):.2f}× | ≥ 2.5× |",
        f"| download MB/s, 1 stream | {med('ours', 'down1_mbs'):.0f} | {med('go', 'down1_mbs'):.0f} | {ratio('down1_mbs'):.2f}× | ≥ 2.5× |",
        f"| VmHWM during the uploads | {mb(med('ours', 'up_hwm'))} | {mb(med('go', 'up_hwm'))} | {med('ours', 'up_hwm') / max(1, med('go', 'up_hwm')):.2f}× | ours ≤ 8 MB |",
        f"| server CPU seconds per GB uploaded | {med('ours', 'up_cpu_per_gb'):.2f} | {med('go', 'up_cpu_per_gb'):.2f} | {med('ours', 'up_cpu_per_gb') / max(0.01, med('go', 'up_cpu_per_gb')):.2f}× | (less is better; steadier than MB/s on a shared machine) |",
        "",
        "Every round (upload MB/s, download 3 / 1 stream MB/s, VmHWM, upload CPU s/GB, OOM kills, byte-identical):",
        "",
    ]
    for x in rounds:
        lines.append(f"- round {x['round']} {x['name']}: {x['up_mbs']:.0f}, {x['down3_mbs']:.0f} / "
                     f"{x['down1_mbs']:.0f}, {mb(x['up_hwm'])}, {x['up_cpu_per_gb']:.2f}, {x['ooms']}, "
                     f"{'yes' if x['identical'] and x['alive'] else 'NO'}")
    return lines + [""]


# --- Resumable (tus) uploads (issue 19) ------------------------------------------------------

import base64  # noqa: E402 (kept with the section that needs it)

TUS_PATCH = 50_000_000  # the web pages' PATCH size (Config::tus_patch_bytes)


class _Slice:
    """The next `n` bytes of an open file, read by http.client in blocks (never whole)."""

    def __init__(self, f, n):
        self.f, self.left = f, n

    def read(self, size=-1):
        size = self.left if size < 0 else min(size, self.left)
        b = self.f.read(size)
        self.left -= len(b)
        return b


def tus_upload(srv, path, patch=TUS_PATCH):
    """One file through the admin's tus endpoint in PATCHes of `patch` bytes; its id."""
    size = os.path.getsize(path)
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=600)
    name = os.path.basename(path).encode()
    meta = (f"filename {base64.b64encode(name).decode()},"
            f"expiration {base64.b64encode(b'2999-12-31T00:00:00Z').decode()}")
    c.request("POST", "/api/tus/", headers={
        "Cookie": srv.cookie, "Tus-Resumable": "1.0.0", "Upload-Length": str(size),
        "Upload-Metadata": meta})
    r = c.getresponse()
    r.read()
    if r.status != 201:
        return None
    url = r.getheader("Location")
    offset, id_ = 0, None
    with open(path, "rb") as f:
        while offset < size:
            n = min(patch, size - offset)
            f.seek(offset)
            c.request("PATCH", url, body=_Slice(f, n), headers={
                "Cookie": srv.cookie, "Tus-Resumable": "1.0.0", "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream", "Content-Length": str(n)})
            r = c.getresponse()
            r.read()
            if r.status != 204:
                return None
            offset = int(r.getheader("Upload-Offset"))
            id_ = r.getheader("PicoShare-Entry-Id") or id_
    return id_


def tus_scenario(files, digests, limit):
    """The blog post's scenario once more, the three files sent with tus in 50 MB PATCHes."""
    name = f"picoshare-bench-tus-{limit >> 20}m"
    cg = Cgroup(name, limit)
    db_dir = os.path.join(WORK, f"db-tus-{limit >> 20}m")
    shutil.rmtree(db_dir, ignore_errors=True)
    os.makedirs(db_dir)
    srv = Server(os.path.join(db_dir, "store.db"), cg)
    total = sum(os.path.getsize(f) for f in files)
    up_secs, ids = parallel([lambda f=f: tus_upload(srv, f) for f in files])
    hwm = srv.status("VmHWM")
    peak, ooms = cg.peak(), cg.oom_kills()
    ok = all(ids)
    _, got = parallel([lambda i=i: download_sha256(srv, ids[i]) for i in range(len(files))]) if ok else (0, [None])
    alive = srv.p.poll() is None
    srv.stop()
    cg.remove()
    shutil.rmtree(db_dir, ignore_errors=True)
    return dict(limit=limit, up_secs=up_secs, up_mbs=total / MIB / up_secs, hwm=hwm, peak=peak,
                ooms=ooms, identical=ok and got == digests, alive=alive)


def tus_lines(tus, results):
    """Section 5 of RESULTS.md: tus uploads next to the multipart ones of section 1."""
    lines = [
        "",
        "## 7. Resumable (tus) uploads: the same 3 files in parallel, in 50 MB PATCHes",
        "",
        "| memory limit | upload wall | upload MB/s | peak RSS (VmHWM) | cgroup peak | OOM kills | byte-identical | multipart, same run: MB/s, VmHWM |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t, r in zip(tus, results):
        lines.append(f"| {t['limit'] >> 20} MiB | {t['up_secs']:.1f} s | {t['up_mbs']:.0f} | {mb(t['hwm'])} | "
                     f"{mb(t['peak'])} | {t['ooms']} | {'yes' if t['identical'] else 'NO'} | "
                     f"{r['up_mbs']:.0f}, {mb(r['hwm'])} |")
    lines += [
        "",
        "Each upload is a `POST /api/tus/` then `PATCH`es of 50,000,000 bytes (the web pages' size),",
        "streamed from disk by the benchmark (Python's http.client); the server stores each whole",
        "327,680-byte chunk as it arrives, one chunk per transaction, through one chunk-sized buffer and",
        "no temp file. VmHWM is the server's peak over the uploads.",
    ]
    return lines


def main():
    os.makedirs(WORK, exist_ok=True)
    # The server binary comes from `make release` (static); the baseline is a plain build.
    subprocess.run(["cargo", "build", "--release", "--locked", "--example", "raw_sqlite"],
                   cwd=ROOT, check=True)
    size = FILE_MIB * MIB
    free = shutil.disk_usage(WORK).free
    if free < 12 * size:
        sys.exit(f"bench needs about {12 * size >> 20} MiB free in {WORK}, has {free >> 20} MiB")
    log(f"generating 3 x {FILE_MIB} MiB files in {WORK}")
    files = [os.path.join(WORK, f"file{i}.bin") for i in range(3)]
    for f in files:
        make_file(f, size)
    digests = [sha256(f) for f in files]
    results = []
    for limit in (256 * MIB, 32 * MIB):
        log(f"scenario: 3 parallel uploads + downloads, memory limit {limit >> 20} MiB")
        results.append(scenario(files, digests, limit))
    tus = []
    for limit in (256 * MIB, 32 * MIB):
        log(f"scenario: 3 parallel tus uploads, memory limit {limit >> 20} MiB")
        tus.append(tus_scenario(files, digests, limit))
    log("seek latency: 100 random Range requests")
    seek = seek_latency(files[0])
    log("footprint")
    fp = footprint()
    sbs = None
    if GO_BIN and os.access(GO_BIN, os.X_OK):
        sbs = side_by_side(files, digests, 256 * MIB)
    elif GO_BIN:
        sys.exit(f"PICOSHARE_GO={GO_BIN} is not an executable file")
    log("bundle ZIP: the three files as one link")
    zipr = bundle_zip(files)
    log("under attack")
    import attack
    under_attack = attack.run()
    big = None
    if os.environ.get("BIG") == "1":
        bigf = os.path.join(WORK, "big.bin")
        make_file(bigf, 7 << 30)
        log("BIG: one 7 GiB upload")
        big = scenario([bigf], [sha256(bigf)], 256 * MIB)

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    lines = [
        f"# make bench — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"Machine: {os.cpu_count()} CPUs ({cpu}), {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') >> 30} GiB RAM, "
        f"Linux {platform.release()}. Files: 3 x {FILE_MIB} MiB. Command: `make bench`"
        + (f" with `PICOSHARE_GO={GO_BIN}`." if sbs else "."),
        "",
    ] + side_by_side_lines(sbs) + [
        "## 1. The blog post's scenario: 3 parallel uploads, then 3 parallel downloads",
        "",
        "| memory limit | cgroup | upload wall | upload MB/s | download wall | download MB/s | peak RSS (VmHWM) | cgroup peak | OOM kills | byte-identical |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results + ([big] if big else []):
        label = f"{r['limit'] >> 20} MiB" + (" (BIG: one 7 GiB file)" if r is big else "")
        lines.append(f"| {label} | {r['cgroup']} | {r['up_secs']:.1f} s | {r['up_mbs']:.0f} | "
                     f"{r['down_secs']:.1f} s | {r['down_mbs']:.0f} | {mb(r['hwm'])} | {mb(r['peak'])} | "
                     f"{r['ooms']} | {'yes' if r['identical'] else 'NO'} |")
    lines += [
        "",
        "MB/s are MiB of file data per second, all three files together; downloads are timed with",
        f"the client (curl) discarding the bytes, {PASSES} passes, median shown; then verified by SHA-256",
        "in an untimed pass. The cgroup peak (v1 `max_usage_in_bytes`, v2 `memory.peak`) includes the",
        "page cache the kernel charges to the group.",
        "",
        "## 2. Baselines in the same run, in the same cgroup",
        "",
        "| memory limit | raw chunk INSERTs MB/s | upload / raw (target ≥ 90%) | raw chunk SELECTs MB/s | download / raw (target ≥ 80%) | raw SELECTs of the server's database MB/s | download / that | `cp` MB/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        b = r["base"]
        lines.append(f"| {r['limit'] >> 20} MiB | {b['insert_mbs']:.0f} | {r['up_mbs'] / b['insert_mbs']:.0%} | "
                     f"{b['read_mbs']:.0f} | {r['down_mbs'] / b['read_mbs']:.0%} | "
                     f"{r['same'] or 0:.0f} | {r['down_mbs'] / r['same'] if r['same'] else 0:.0%} | {b['cp_mbs']:.0f} |")
    lines += [
        "",
        f"Raw rows: 327,680-byte chunks inserted with rusqlite in 8 MiB transactions (the server's",
        f"pragmas and page size, {PAGE_SIZE} bytes; no HTTP, multipart or spool), then read back one row per statement ({PASSES} passes,",
        "median shown), by `target/release/examples/raw_sqlite`; written one file after the other, so",
        "each file is one sequential run. The same read-back of the server's own database (after the",
        "server stopped) gives the download path's overhead alone: three parallel uploads leave each",
        "file in runs of 24 MiB (`copy_run_bytes`) alternating with the others', which the kernel's",
        "read-ahead handles less well. Every pass, in MiB/s:",
        "",
    ]
    for r in results:
        lines.append(f"- {r['limit'] >> 20} MiB: downloads {', '.join(f'{x:.0f}' for x in r['down_passes'])}; "
                     f"raw reads {', '.join(f'{x:.0f}' for x in r['base']['read_passes'])}")
    lines += [
        "",
        "## 3. Seek latency (time to first byte, 100 random `Range` requests, one 618 MiB file)",
        "",
        f"median {seek['median']:.2f} ms, p99 {seek['p99']:.2f} ms (target p99 < 2 ms)",
        "",
        "## 4. Footprint",
        "",
        f"idle RSS {mb(fp['idle_rss'])} (target ≤ 3.0 MB), stripped binary {fp['size'] / 1e6:.2f} MB, "
        f"start to first answered request {fp['ready_ms']:.0f} ms",
        "",
        "Reference (Go PicoShare 1.5.1, 2 cores, from the issue): idle RSS ~15.8 MB; 3 x 618 MiB uploads",
        "~167 MB/s with peak RSS ~45 MB (~48 MB in a 256 MB cgroup; ~29 s in a 32 MB cgroup);",
        "downloads ~760 MB/s (1 stream) and ~1 GB/s (3 streams).",
    ]
    lines += bundle_zip_lines(zipr)
    lines += ["", under_attack]
    lines += tus_lines(tus, results)
    # What was tried on the write path and not kept (issue 18) is a record, not a measurement
    # of this run: it is carried into every RESULTS.md from its own file, as the last section.
    with open(os.path.join(ROOT, "bench/write-path-experiments.md")) as f:
        lines += ["", f.read().rstrip("\n")]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(ROOT, "bench/RESULTS.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
