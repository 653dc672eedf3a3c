#!/usr/bin/env python3
"""Issue 20: what re-keying a file's chunk rows costs in WAL, the core of replacing a file's
bytes (src/store/versions.rs). Builds PicoShare's entries_data table with 100 MiB of
327,680-byte chunks, then measures the WAL one `UPDATE entries_data SET id = <same-length id>`
transaction writes (SQLite compares the overflow pages and leaves them alone), beside a
DELETE of the same rows for scale. Standard library only; PS=65536 for 64 KiB pages.

    python3 bench/rekey_wal.py; PS=65536 python3 bench/rekey_wal.py
"""
import sqlite3, os, time
p=os.path.join(os.environ.get('TMPDIR', '/tmp'), 'rekey-wal.db')
for s in ['', '-wal', '-shm']:
    try: os.remove(p+s)
    except FileNotFoundError: pass
c=sqlite3.connect(p, isolation_level=None)
print(sqlite3.sqlite_version)
c.execute("PRAGMA page_size=%s" % os.environ.get("PS","4096")); c.execute("PRAGMA auto_vacuum=INCREMENTAL")
c.execute("PRAGMA journal_mode=WAL")
c.execute("PRAGMA page_size=%s" % os.environ.get('PS','4096'))
c.executescript("""CREATE TABLE entries_data (id TEXT NOT NULL, chunk_index INTEGER NOT NULL CHECK (chunk_index >= 0), chunk BLOB NOT NULL, PRIMARY KEY (id, chunk_index)) STRICT;
CREATE INDEX idx_entries_data_length ON entries_data (id, length(chunk));""")
chunk=os.urandom(327680)
c.execute("BEGIN")
for i in range(320):
    c.execute("INSERT INTO entries_data VALUES ('AAAAAAAAAA', ?, ?)", (i, chunk))
c.execute("COMMIT")
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
print('wal after ckpt', os.path.getsize(p+'-wal'))
t=time.time()
c.execute("BEGIN IMMEDIATE")
c.execute("UPDATE entries_data SET id='BBBBBBBBBB' WHERE id='AAAAAAAAAA'")
c.execute("COMMIT")
print('rekey 100MiB: wal', os.path.getsize(p+'-wal'), 'secs', time.time()-t)
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
t=time.time()
c.execute("BEGIN IMMEDIATE")
c.execute("DELETE FROM entries_data WHERE id='BBBBBBBBBB'")
c.execute("COMMIT")
print('delete 100MiB: wal', os.path.getsize(p+'-wal'), 'secs', time.time()-t)
