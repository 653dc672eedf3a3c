#!/usr/bin/env python3
"""Downloads of one database, side by side: three 618 MiB files uploaded in parallel once (by
the first configuration), then, in turn and interleaved, each configuration restarts the server
on that database inside a memory cgroup v1 (CG bytes, default 256 MiB), the page cache is
dropped, and the three files are downloaded one after the other (one stream) and together
(three streams) by curl. Prints MB/s, bytes the server read from disk (/proc/PID/io), its CPU
seconds, and the disk's requests (/sys/block/DEV/stat: count, mean size, mean wait, queue).
A configuration may set the disk's read_ahead_kb for its turn (restored at the end). Root only
(cgroups, drop_caches). Issue 18:

    bench/ab-readahead.py 3 "ours|target/x86_64-unknown-linux-gnu/release/picoshare||" \
        "ours-ra1m|target/x86_64-unknown-linux-gnu/release/picoshare||1024" \
        "go|/tmp/picoshare-go/bin/picoshare-1.5.1||"

    bench/ab-readahead.py REPS "label|binary|ENV=V,ENV=V|read_ahead_kb" ...
"""
import json, os, shutil, socket, subprocess, sys, tempfile, time, statistics
reps = int(sys.argv[1]); cfgs = [(a.split("|") + ["", ""])[:4] for a in sys.argv[2:]]
from abfiles import three_files
fdir, files, total = three_files()
dev = os.stat(fdir).st_dev
blk = os.path.realpath(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}")
if not os.path.exists(blk + "/queue"): blk = os.path.dirname(blk)  # a partition: its disk
RA = blk + "/queue/read_ahead_kb"; STAT = blk + "/stat"; ra0 = open(RA).read().strip()
def rb(pid):
    for l in open(f"/proc/{pid}/io"):
        if l.startswith("read_bytes"): return int(l.split()[1])
def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
d = tempfile.mkdtemp(dir=fdir, prefix="db-")
path = f"/sys/fs/cgroup/memory/same-{os.getpid()}"; os.makedirs(path)
open(path + "/memory.limit_in_bytes", "w").write(os.environ.get("CG", "268435456"))
url = f"http://127.0.0.1:{p}"
def start(binary, envs):
    env = dict(kv.split("=", 1) for kv in envs.split(",") if kv)
    e = dict(os.environ, PORT=str(p), PS_SHARED_SECRET="s3cret", TMPDIR=d, **env)
    s = subprocess.Popen(["sh", "-c", f"echo $$ > {path}/cgroup.procs && exec {binary} -db {d}/store.db"], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try: socket.create_connection(("127.0.0.1", p)).close(); break
        except Exception: time.sleep(0.05)
    return s
srv = start(cfgs[0][1], cfgs[0][2])
out = subprocess.run(["curl", "-s", "-c", "-", "-H", "Content-Type: application/json", "-d", '{"sharedSecretKey":"s3cret"}', url + "/api/auth"], capture_output=True, text=True).stdout
ck = [l.split("\t") for l in out.splitlines() if "\tsharedSecret\t" in l][0]; ck = f"{ck[5]}={ck[6]}"
ps = [subprocess.Popen(["curl", "-sS", "--fail", "-H", "Cookie: " + ck, "-F", f"file=@{f}", url + "/api/entry?expiration=2999-12-31T00:00:00Z"], stdout=subprocess.PIPE) for f in files]
ids = [json.loads(q.communicate()[0])["id"] for q in ps]
srv.terminate(); srv.wait()
res = {}
try:
  for rep in range(reps):
    for label, binary, envs, ra in (cfgs if rep % 2 == 0 else cfgs[::-1]):
        open(RA, "w").write(ra or ra0)
        time.sleep(0.2)
        open("/proc/sys/vm/drop_caches", "w").write("1")
        srv = start(binary, envs)
        def ds():
            v = list(map(int, open(STAT).read().split())); return v[0], v[2], v[3], v[10]
        k0 = ds()
        r0 = rb(srv.pid); c0 = cpu(srv.pid); t1 = time.time()
        for i in ids:
            subprocess.run(["curl", "-s", "--fail", "-o", "/dev/null", url + f"/-{i}"])
        t = time.time() - t1; r1 = rb(srv.pid); c1 = cpu(srv.pid)
        k1 = ds(); nr = k1[0]-k0[0]
        print(f"   disk: {nr} reads, avg {(k1[1]-k0[1])*512/max(nr,1)/1024:.0f} KiB, avg wait {(k1[2]-k0[2])/max(nr,1):.2f} ms, avg queue {(k1[3]-k0[3])/1000/t:.2f}")
        open("/proc/sys/vm/drop_caches", "w").write("1")
        t2 = time.time()
        qs = [subprocess.Popen(["curl", "-s", "--fail", "-o", "/dev/null", url + f"/-{i}"]) for i in ids]
        [q.wait() for q in qs]
        t3 = time.time() - t2
        d1, d3 = total / t / 1e6, total / t3 / 1e6
        res.setdefault(label, []).append((d1, d3))
        print(f"{label}: down1 {d1:.0f} MB/s (disk {(r1-r0)/1e6:.0f} MB, cpu {c1-c0:.1f}s), down3 {d3:.0f} MB/s (disk {(rb(srv.pid)-r1)/1e6:.0f} MB)", flush=True)
        srv.terminate(); srv.wait()
finally:
    open(RA, "w").write(ra0)
    time.sleep(0.2); os.rmdir(path); shutil.rmtree(d)
for l, v in res.items():
    print(f"{l}: median down1 {statistics.median(x[0] for x in v):.0f}, down3 {statistics.median(x[1] for x in v):.0f}")
