-- Issue 20: a file may be downloaded at most `max_downloads` times (visitors only; the admin
-- never counts). `download_count` is raised in the same transaction that decides to serve.
CREATE TABLE rs_download_limits (
    entry_id TEXT PRIMARY KEY REFERENCES entries (id) ON DELETE CASCADE,
    max_downloads INTEGER NOT NULL CHECK (max_downloads > 0),
    -- Counted downloads; may exceed a limit lowered later (the link is then used up).
    download_count INTEGER NOT NULL DEFAULT 0 CHECK (download_count >= 0)
) STRICT;

-- The last counted download of a limited file by each client address: a range that continues
-- it (start > 0) is served without counting for a grace period after `granted_at`. At most
-- one row per address that counted, so at most `max_downloads` rows per file.
CREATE TABLE rs_download_grants (
    entry_id TEXT NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    client_ip TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (entry_id, client_ip)
) STRICT;
