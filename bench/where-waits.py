#!/usr/bin/env python3
"""Where the server's threads wait during three parallel 618 MiB uploads: one round, the
server inside a fresh memory cgroup v1 (CG=bytes, default 256 MiB; CG=0 for no limit), every
5 ms each thread's state, and for a thread in D (uninterruptible: disk, page cache, reclaim)
its kernel stack (/proc/PID/task/TID/stack, needs root). Also the disk's bytes read and
written meanwhile (/sys/block/DEV/stat, DEV=vda), and the cgroup's page cache, dirty and
writeback pages (median and peak). Issue 18 found with it that the spool's pages were written
to disk and then discarded, and that the WAL was cut back and regrown every turn.

    bench/where-waits.py BINARY [ENV=VALUE ...]

The files are those of abfiles.py (FILES=dir)."""
import collections, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time
import urllib.request
from abfiles import three_files

IDLE = ("futex_wait_queue", "futex_do_wait", "do_epoll_wait", "hrtimer_nanosleep", "do_sys_poll",
        "inet_csk_accept")
SCHED = ("__schedule", "schedule", "io_schedule", "entry_SYSCALL", "do_syscall", "x64_sys", "__x64")


def thread_states(pid, counts):
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            st = open(f"/proc/{pid}/task/{tid}/stat").read()
            wchan = open(f"/proc/{pid}/task/{tid}/wchan").read()
        except OSError:
            continue
        name = st[st.index("(") + 1:st.rindex(")")]
        state = st.rsplit(")", 1)[1].split()[0]
        if state == "S" and wchan in IDLE:
            continue
        if state == "D":
            try:
                stack = [l.split()[1].split("+")[0] for l in open(f"/proc/{pid}/task/{tid}/stack")]
            except OSError:
                stack = []
            wchan = "<".join(f for f in stack if not f.startswith(SCHED))[:150]
        counts[(name, state, "" if state == "R" else wchan)] += 1


def main():
    binary = sys.argv[1]
    env = dict(kv.split("=", 1) for kv in sys.argv[2:])
    fdir, files, total = three_files()
    dev = os.environ.get("DEV", "vda")
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    d = tempfile.mkdtemp(dir=fdir, prefix="db-")
    cg = f"/sys/fs/cgroup/memory/where-waits-{os.getpid()}"
    os.makedirs(cg)
    limit = os.environ.get("CG", "268435456")
    if limit != "0":
        for f in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes"):
            open(f"{cg}/{f}", "w").write(limit)
    e = dict(os.environ, PORT=str(port), PS_SHARED_SECRET="s3cret", TMPDIR=d, **env)
    srv = subprocess.Popen(["sh", "-c", f"echo $$ > {cg}/cgroup.procs && exec {binary} -db {d}/store.db"],
                           env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/", timeout=1); break
            except Exception:
                time.sleep(0.05)
        out = subprocess.run(["curl", "-s", "-c", "-", "-H", "Content-Type: application/json", "-d",
                              '{"sharedSecretKey":"s3cret"}', url + "/api/auth"],
                             capture_output=True, text=True).stdout
        ck = [l.split("\t") for l in out.splitlines() if "\tsharedSecret\t" in l][0]
        counts, mem, samples, stop = collections.Counter(), [], [0], threading.Event()

        def sampler():
            while not stop.is_set():
                thread_states(srv.pid, counts)
                if samples[0] % 20 == 0:
                    ms = dict(l.split() for l in open(f"{cg}/memory.stat"))
                    mem.append([int(ms[k]) >> 20 for k in ("cache", "dirty", "writeback")])
                samples[0] += 1
                time.sleep(0.005)

        def disk():
            v = open(f"/sys/block/{dev}/stat").read().split()
            return int(v[2]) * 512, int(v[6]) * 512

        d0 = disk()
        th = threading.Thread(target=sampler); th.start()
        t0 = time.time()
        ps = [subprocess.Popen(["curl", "-sS", "--fail", "-o", "/dev/null", "-H", f"Cookie: {ck[5]}={ck[6]}",
                                "-F", f"file=@{f}", url + "/api/entry?expiration=2999-12-31T00:00:00Z"])
              for f in files]
        ok = all(q.wait() == 0 for q in ps)
        t = time.time() - t0
        stop.set(); th.join()
        d1 = disk()
        print(f"uploads {total / t / 1e6:.0f} MB/s ({'ok' if ok else 'FAILED'}), {samples[0]} samples; "
              f"disk read {(d1[0] - d0[0]) / 1e6:.0f} MB, written {(d1[1] - d0[1]) / 1e6:.0f} MB "
              f"for {total / 1e6:.0f} MB uploaded")
        if mem:
            cols = list(zip(*mem))
            print("cgroup MiB, median / peak: " + ", ".join(
                f"{k} {statistics.median(c):.0f} / {max(c)}" for k, c in zip(("cache", "dirty", "writeback"), cols)))
        print("share of the run (100% = one thread all the time), states other than idle waits:")
        for (name, state, where), c in counts.most_common():
            if c >= samples[0] * 0.01:
                print(f"{c / samples[0] * 100:6.1f}%  {name:12} {state} {where}")
    finally:
        srv.terminate(); srv.wait()
        shutil.rmtree(d, ignore_errors=True)
        os.rmdir(cg)


if __name__ == "__main__":
    main()
