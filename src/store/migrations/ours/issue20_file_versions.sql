-- Issue 20: replacing a file's bytes while keeping its link. PicoShare keys chunks by entry
-- id, so the new bytes are written under a temporary id and, in one transaction, the old
-- chunks are re-keyed to a retired id and the new ones to the entry's (a same-length id, so
-- SQLite rewrites only each row's first page, not its bytes).
--
-- The entry's version: how many times its bytes were replaced (no row: never, version 0).
-- A download reads it with every chunk, in the same read transaction, so it notices a swap.
CREATE TABLE rs_file_versions (
    entry_id TEXT PRIMARY KEY REFERENCES entries (id) ON DELETE CASCADE,
    version INTEGER NOT NULL CHECK (version > 0)
) STRICT;

-- Where the bytes of an older version went: downloads that started on it finish from these
-- chunks; they are deleted once no download reads them.
CREATE TABLE rs_retired_chunks (
    chunks_id TEXT PRIMARY KEY,
    entry_id TEXT NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    version INTEGER NOT NULL CHECK (version >= 0),
    retired_at TEXT NOT NULL,
    UNIQUE (entry_id, version)
) STRICT;
