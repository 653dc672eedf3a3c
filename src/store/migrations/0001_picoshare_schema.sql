-- PicoShare's schema as its migrations 001-015 leave it (PicoShare 1.5.x, user_version 15),
-- created in one step for a new database. The tables must stay exactly PicoShare's so that
-- either program can open the other's file: same names, columns, types, checks and indexes.

CREATE TABLE "guest_links" (
    id TEXT PRIMARY KEY,
    label TEXT CHECK (
        label IS NULL OR length(label) <= 200
    ),
    max_file_bytes INTEGER CHECK (
        max_file_bytes IS NULL OR max_file_bytes > 0
    ),
    max_file_uploads INTEGER CHECK (
        max_file_uploads IS NULL OR max_file_uploads > 0
    ),
    creation_time TEXT NOT NULL CHECK (
        datetime(creation_time) IS NOT NULL
        AND datetime(creation_time) >= datetime('2022-02-20')
    ),
    url_expiration_time TEXT CHECK (
        url_expiration_time IS NULL OR (
            datetime(url_expiration_time) IS NOT NULL
            AND datetime(url_expiration_time) >= datetime('2022-02-20')
        )
    ),
    file_expiration_time TEXT,
    is_disabled INTEGER NOT NULL CHECK (is_disabled IN (0, 1)) DEFAULT 0
) STRICT;

CREATE TABLE "entries" (
    id TEXT PRIMARY KEY,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    upload_time TEXT NOT NULL CHECK (
        datetime(upload_time) IS NOT NULL
        AND datetime(upload_time) >= datetime('2022-02-20')
    ),
    expiration_time TEXT CHECK (
        expiration_time IS NULL OR (
            datetime(expiration_time) IS NOT NULL
            AND datetime(expiration_time) >= datetime('2022-02-20')
        )
    ),
    guest_link_id TEXT,
    note TEXT
) STRICT;

CREATE TABLE "entries_data" (
    id TEXT NOT NULL,
    chunk_index INTEGER NOT NULL CHECK (chunk_index >= 0),
    chunk BLOB NOT NULL,
    PRIMARY KEY (id, chunk_index)
) STRICT;

CREATE TABLE "downloads" (
    entry_id TEXT NOT NULL,
    download_timestamp TEXT NOT NULL CHECK (
        datetime(download_timestamp) IS NOT NULL
        AND datetime(download_timestamp) >= datetime('2022-02-20')
    ),
    client_ip TEXT,
    user_agent TEXT,
    FOREIGN KEY (entry_id) REFERENCES "entries" (id)
) STRICT;

CREATE TABLE "settings" (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    default_expiration_in_days INTEGER CHECK (
        default_expiration_in_days IS NULL
        OR default_expiration_in_days >= 0
    )
) STRICT;

CREATE INDEX idx_entries_guest_link_id ON entries (guest_link_id);

-- File sizes are SUM(LENGTH(chunk)); this index answers them without reading the blobs.
CREATE INDEX idx_entries_data_length
ON entries_data (id, length(chunk));

-- PicoShare's default lifetime for new uploads: 30 days.
INSERT INTO settings (id, default_expiration_in_days) VALUES (1, 30);
