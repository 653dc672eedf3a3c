"""The three 618 MiB files of random bytes the A/B scripts (ab-three.py, ab-readahead.py)
upload: FILES=dir (default /work/bfiles), made there if missing."""
import os


def three_files():
    """(folder, [the three paths], their total size in bytes)."""
    fdir = os.environ.get("FILES", "/work/bfiles")
    os.makedirs(fdir, exist_ok=True)
    files = [f"{fdir}/f{i}.bin" for i in (1, 2, 3)]
    for f in files:
        if not os.path.exists(f):
            with open(f, "wb") as out:
                for _ in range(618):
                    out.write(os.urandom(1 << 20))
    return fdir, files, sum(os.path.getsize(f) for f in files)
