#!/usr/bin/env python3
"""A/B of the upload path: two server binaries take turns receiving the same uploads, so a
change is judged against its baseline in the same minutes of a noisy machine. Each turn
uploads, one at a time with curl -F, a file of random bytes and a file dense with multipart
look-alikes (a CR every 16 bytes, `CRLF--` plus a prefix of the boundary every 4 KiB: the
delimiter scanner's slow path), then prints the rate, the server's CPU time per upload and
its peak RSS (VmHWM).

    bench/ab-upload.py OLD_BINARY NEW_BINARY [ROUNDS] [MIB]

Example: `git archive main | tar -x -C /tmp/old && (cd /tmp/old && cargo build --release)`,
`cargo build --release`, then `bench/ab-upload.py /tmp/old/target/release/picoshare
target/release/picoshare`.
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

old, new = sys.argv[1], sys.argv[2]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
mib = int(sys.argv[4]) if len(sys.argv) > 4 else 512
work = tempfile.mkdtemp(prefix="picoshare-ab-upload-")
secret = "ab-upload"
# curl's boundary: 24 dashes and 16 hex digits, e.g. ------------------------d74496d66958873e.
curl_prefix = b"\r\n--" + b"-" * 24


def make_files():
    rnd = random.Random(1)
    random_path = os.path.join(work, "random.bin")
    with open(random_path, "wb") as f:
        for _ in range(mib):
            f.write(rnd.randbytes(1 << 20))
    dense_path = os.path.join(work, "look-alikes.bin")
    block = bytearray(rnd.randbytes(4096))
    block[15::16] = b"\r" * len(block[15::16])
    block[100:100 + len(curl_prefix)] = curl_prefix
    with open(dense_path, "wb") as f:
        f.write(bytes(block) * (mib * 256))
    return [("random", random_path), ("look-alikes", dense_path)]


def start(binary):
    db = os.path.join(work, "store.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    p = subprocess.Popen(
        [binary, "-db", db, "--listen", "127.0.0.1", "--port", "0"],
        env={**os.environ, "PS_SHARED_SECRET": secret},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    for line in p.stdout:
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            url = m.group(1).rstrip("/")
            break
    # Keep reading the server's log, or it blocks once the pipe is full.
    threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
    jar = os.path.join(work, "jar")
    subprocess.run(
        ["curl", "-sS", "-c", jar, "-H", "Content-Type: application/json", "--data",
         json.dumps({"sharedSecretKey": secret}), f"{url}/api/auth"],
        check=True, capture_output=True)
    return p, url, jar


def cpu_ms(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 // os.sysconf("SC_CLK_TCK")


def vm_hwm_kib(pid):
    m = re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{pid}/status").read())
    return int(m.group(1))


def upload(p, url, jar, path):
    c0, t0 = cpu_ms(p.pid), time.monotonic()
    r = subprocess.run(
        ["curl", "-sS", "-b", jar, "-H", "Expect:", "-F", f"file=@{path}",
         f"{url}/api/entry?expiration=2999-12-31T00:00:00Z"],
        capture_output=True, check=True)
    t1, c1 = time.monotonic(), cpu_ms(p.pid)
    json.loads(r.stdout)["id"]  # stored (each turn starts from an empty database)
    return os.path.getsize(path) / (1 << 20) / (t1 - t0), c1 - c0


try:
    files = make_files()
    for r in range(1, rounds + 1):
        for label, binary in (("old", old), ("new", new)):
            p, url, jar = start(binary)
            for kind, path in files:
                rate, cpu = upload(p, url, jar, path)
                print(f"round {r} {label}: {kind:11} {rate:6.0f} MiB/s  server CPU {cpu:6d} ms"
                      f"  VmHWM {vm_hwm_kib(p.pid) // 1024} MiB", flush=True)
            p.terminate()
            p.wait()
finally:
    shutil.rmtree(work, ignore_errors=True)
