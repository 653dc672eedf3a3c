#!/usr/bin/env python3
"""Issue 20: is a bundle's ZIP download memory-flat when it is several GiB (and ZIP64)?

Uploads one file FILES times (ZIP_FILE_MIB MiB each, default 3 × 1,434 MiB: a 4.2 GiB ZIP,
past ZIP64's 4 GiB line), bundles them, restarts the server (so VmHWM is the download's own),
then streams the ZIP to a client that counts its bytes and checks its end records, sampling
the server's VmRSS every half second. Prints the samples' spread and VmHWM, and for a
baseline in the same run the VmHWM of one of the files downloaded plainly. Standard library
only; needs the release binary (`cargo build --release`) and about 2 × the ZIP on disk.

    python3 bench/zip_memory.py            # ZIP_FILE_MIB=1434 FILES=3
"""
import http.client, json, os, shutil, struct, subprocess, sys, threading, time, zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import MIB, WORK, Server, log, make_file, upload  # noqa: E402

FILE_MIB = int(os.environ.get("ZIP_FILE_MIB", "1434"))
FILES = int(os.environ.get("FILES", "3"))


def main():
    work = os.path.join(WORK, "zip-memory")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        src = os.path.join(work, "part.bin")
        make_file(src, FILE_MIB * MIB)
        crc = 0
        with open(src, "rb") as f:
            while b := f.read(4 * MIB):
                crc = zlib.crc32(b, crc)
        db = os.path.join(work, "store.db")
        srv = Server(db)
        ids = []
        for i in range(FILES):
            log(f"upload {i + 1} of {FILES} ({FILE_MIB} MiB)")
            ids.append(upload(srv, src))
        os.remove(src)
        c = http.client.HTTPConnection("127.0.0.1", srv.port)
        c.request("POST", "/api/bundles", json.dumps({"entryIds": ids}),
                  {"Content-Type": "application/json", "Cookie": srv.cookie})
        bundle = json.loads(c.getresponse().read())["id"]
        srv.stop()

        srv = Server(db)
        idle_hwm = srv.status("VmHWM")
        samples = []
        done = threading.Event()

        def sample():
            while not done.is_set():
                samples.append(srv.status("VmRSS"))
                time.sleep(0.5)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        started = time.monotonic()
        c = http.client.HTTPConnection("127.0.0.1", srv.port)
        c.request("GET", f"/-{bundle}/zip")
        r = c.getresponse()
        declared = int(r.getheader("Content-Length"))
        got = 0
        tail = b""
        while b := r.read(MIB):
            got += len(b)
            tail = (tail + b)[-(1 << 16):]
        secs = time.monotonic() - started
        done.set()
        t.join()
        hwm = srv.status("VmHWM")
        srv.stop()
        # Baseline, same run: one of the files downloaded plainly by a fresh process.
        srv = Server(db)
        plain_idle = srv.status("VmHWM")
        c = http.client.HTTPConnection("127.0.0.1", srv.port)
        c.request("GET", f"/-{ids[0]}")
        r = c.getresponse()
        while r.read(MIB):
            pass
        plain_hwm = srv.status("VmHWM")
        srv.stop()
        # The end records: ZIP64 end of central directory (PK\x06\x06), its locator, then the
        # classic end record whose 32-bit fields say "see ZIP64" (0xFFFFFFFF).
        eocd = tail.rfind(b"PK\x05\x06")
        z64 = tail.rfind(b"PK\x06\x06")
        entries = struct.unpack_from("<Q", tail, z64 + 32)[0] if z64 >= 0 else None
        cd_offset = struct.unpack_from("<Q", tail, z64 + 48)[0] if z64 >= 0 else None
        classic_offset = struct.unpack_from("<I", tail, eocd + 16)[0] if eocd >= 0 else None
        crcs, at = [], tail.find(b"PK\x01\x02")
        while at >= 0:
            crcs.append(struct.unpack_from("<I", tail, at + 16)[0])
            at = tail.find(b"PK\x01\x02", at + 4)
        steady = samples[2:] or samples
        print(f"ZIP: {FILES} x {FILE_MIB} MiB = {declared / MIB:,.0f} MiB "
              f"({declared:,} bytes declared, {got:,} received) in {secs:.1f} s "
              f"({got / MIB / secs:,.0f} MiB/s)")
        print(f"ZIP64 end record: {'yes' if z64 >= 0 else 'no'}; entries {entries}; "
              f"central directory at {cd_offset} (classic record says "
              f"{classic_offset:#x}); CRC-32s in the central directory "
              f"{'all equal the source file' if crcs == [crc] * FILES else crcs} ({crc:#010x})")
        print(f"server VmRSS during the download, {len(samples)} samples every 0.5 s: "
              f"min {min(steady) / MIB:.1f} MiB, max {max(steady) / MIB:.1f} MiB")
        print(f"server VmHWM: {idle_hwm / MIB:.1f} MiB idle (fresh process), "
              f"{hwm / MIB:.1f} MiB after the whole ZIP")
        print(f"baseline, one {FILE_MIB} MiB file downloaded plainly by a fresh process: VmHWM "
              f"{plain_idle / MIB:.1f} MiB idle, {plain_hwm / MIB:.1f} MiB after")
        needs64 = declared > 0xFFFFFFFF
        ok = got == declared and crcs == [crc] * FILES and (
            not needs64 or (z64 >= 0 and entries == FILES))
        print("ok" if ok else "FAILED")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
