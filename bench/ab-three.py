#!/usr/bin/env python3
"""A/B of three parallel uploads (and, with DOWN=1, downloads): several server binaries or
settings take turns, interleaved, each round on a fresh database, so a change is judged against
its baseline in the same minutes of a noisy machine. Prints MB/s, the server's CPU seconds per
GB, its peak RSS (VmHWM, restarted after start-up) and how busy the machine was.

    bench/ab-three.py ROUNDS 'label|binary|ENV=V,ENV=V' ...

The files are /work/bfiles/f1.bin..f3.bin (FILES=dir to change; made if missing, 618 MiB of
random bytes each). CG=bytes starts each server inside a fresh memory cgroup v1 of that
size; THREADS=1 prints CPU per thread name. A binary whose name ends in picoshare-1.5.1 is
the Go PicoShare (its spill files go beside the database). Example, issue 18:

    CG=268435456 DOWN=1 bench/ab-three.py 3 "old|/tmp/old/picoshare|" \
        "new|target/x86_64-unknown-linux-gnu/release/picoshare|" \
        "go|/tmp/picoshare-go/bin/picoshare-1.5.1|"
"""
import json, os, shutil, socket, subprocess, sys, tempfile, time, statistics, urllib.request
rounds = int(sys.argv[1]); cfgs = []
for a in sys.argv[2:]:
    label, binary, envs = (a.split("|") + [""])[:3]
    env = dict(kv.split("=", 1) for kv in envs.split(",") if kv)
    cfgs.append((label, binary, env))
from abfiles import three_files
fdir, files, total = three_files()
def port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
def hwm(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmHWM"): return int(l.split()[1]) * 1024 / 1e6
res = {c[0]: [] for c in cfgs}
for r in range(rounds):
    order = cfgs if r % 2 == 0 else cfgs[::-1]
    for label, binary, env in order:
        d = tempfile.mkdtemp(dir=fdir, prefix="db-")
        p = port()
        e = dict(os.environ, PORT=str(p), PS_SHARED_SECRET="s3cret", **env)
        e["TMPDIR"] = d
        cg = os.environ.get("CG")
        pre = ""
        if cg:
            path = f"/sys/fs/cgroup/memory/up3-{os.getpid()}"
            if os.path.isdir(path): os.rmdir(path)
            os.makedirs(path)
            open(path + "/memory.limit_in_bytes", "w").write(cg)
            open(path + "/memory.memsw.limit_in_bytes", "w").write(cg)
            pre = f"echo $$ > {path}/cgroup.procs && "
        srv = subprocess.Popen(["sh", "-c", pre + f"exec {binary} -db {d}/store.db"], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{p}"
        for _ in range(200):
            try: urllib.request.urlopen(url + "/", timeout=1); break
            except Exception: time.sleep(0.05)
        out = subprocess.run(["curl", "-s", "-c", "-", "-H", "Content-Type: application/json", "-d", '{"sharedSecretKey":"s3cret"}', url + "/api/auth"], capture_output=True, text=True).stdout
        cookie = [l.split("\t") for l in out.splitlines() if "\tsharedSecret\t" in l][0]
        ck = f"{cookie[5]}={cookie[6]}"
        def sysidle():
            f = open("/proc/stat").readline().split()[1:]
            v = list(map(int, f)); return v[3] + v[4], sum(v)
        open(f"/proc/{srv.pid}/clear_refs", "w").write("5")
        i0 = sysidle()
        c0 = cpu(srv.pid); t0 = time.time()
        ps = [subprocess.Popen(["curl", "-sS", "--fail", "-H", "Cookie: " + ck, "-F", f"file=@{f}", url + "/api/entry?expiration=2999-12-31T00:00:00Z"], stdout=subprocess.PIPE) for f in files]
        outs = [q.communicate()[0] for q in ps]
        t = time.time() - t0; c = cpu(srv.pid) - c0; h = hwm(srv.pid)
        i1 = sysidle(); busy = 1 - (i1[0]-i0[0])/(i1[1]-i0[1])
        print(f"   machine busy {busy*100:.0f}% of {os.cpu_count()} cpus over {t:.1f}s; server {c:.1f} cpu-s", flush=True)
        ok = all(q.returncode == 0 for q in ps)
        if os.environ.get("THREADS"):
            acc = {}
            for tid in os.listdir(f"/proc/{srv.pid}/task"):
                st = open(f"/proc/{srv.pid}/task/{tid}/stat").read()
                name = st[st.index("(")+1:st.rindex(")")]
                f = st.rsplit(")", 1)[1].split()
                u, k = int(f[11]) / 100, int(f[12]) / 100
                a = acc.setdefault(name, [0, 0, 0]); a[0] += u; a[1] += k; a[2] += 1
            print("   threads:", ", ".join(f"{n}x{v[2]} u{v[0]:.1f}+s{v[1]:.1f}" for n, v in sorted(acc.items(), key=lambda x: -x[1][0]-x[1][1])))
        if os.environ.get("DOWN") and ok:
            ids = [json.loads(o)["id"] for o in outs]
            t1 = time.time()
            for i in ids:
                subprocess.run(["curl", "-s", "--fail", "-o", "/dev/null", url + f"/-{i}"])
            d1 = total / (time.time() - t1) / 1e6
            t1 = time.time()
            qs = [subprocess.Popen(["curl", "-s", "--fail", "-o", "/dev/null", url + f"/-{i}"]) for i in ids]
            [q.wait() for q in qs]
            d3 = total / (time.time() - t1) / 1e6
            print(f"   download 1 stream {d1:.0f} MB/s, 3 streams {d3:.0f} MB/s", flush=True)
            res.setdefault(label + ":down1", []).append((d1, 0, 0)); res.setdefault(label + ":down3", []).append((d3, 0, 0))
        srv.terminate(); srv.wait()
        if cg:
            time.sleep(0.2); os.rmdir(path)
        shutil.rmtree(d)
        mbs = total / t / 1e6
        res[label].append((mbs, c / (total / 1e9), h))
        print(f"round {r+1} {label}: {mbs:.0f} MB/s, CPU {c/(total/1e9):.2f} s/GB, VmHWM {h:.1f} MB ok={ok}", flush=True)
for label in res:
    v = res[label]
    print(f"{label}: median {statistics.median(x[0] for x in v):.0f} MB/s, CPU {statistics.median(x[1] for x in v):.2f} s/GB, VmHWM {max(x[2] for x in v):.1f}")
