-- Resumable (tus 1.0) uploads, issue 19: one row per upload that has not finished yet, or
-- finished within its expiry (so a client whose last answer was lost can still ask how it
-- ended). The file's bytes go into PicoShare's `entries_data` under `entry_id` as they arrive,
-- whole chunks only; the `entries` row is inserted in the transaction of the last byte.
CREATE TABLE rs_tus_uploads (
    -- The upload's id in its URL (random, 24 characters of PicoShare's id alphabet).
    id TEXT PRIMARY KEY,
    -- The file's future `entries.id`; its chunks are `entries_data` rows under this id.
    entry_id TEXT NOT NULL UNIQUE,
    -- Bytes per chunk of this file: the server's chunk size when the upload began, kept so a
    -- restart with another --chunk-size still writes this file's chunks alike.
    chunk_size INTEGER NOT NULL CHECK (chunk_size > 0),
    -- Upload-Length: the file's size in bytes.
    upload_length INTEGER NOT NULL CHECK (upload_length > 0),
    -- Upload-Offset: bytes received and acknowledged, the whole chunks in `entries_data`
    -- followed by `tail`.
    upload_offset INTEGER NOT NULL DEFAULT 0
        CHECK (upload_offset >= 0 AND upload_offset <= upload_length),
    -- The acknowledged bytes after the last whole chunk (fewer than `chunk_size`).
    tail BLOB NOT NULL DEFAULT x'',
    -- Upload-Metadata as the client sent it (HEAD answers with it), then what it said,
    -- validated when the upload was created.
    metadata TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    note TEXT,
    download_passphrase TEXT,
    -- The file's expiration (RFC 3339, UTC); NULL: the default, reckoned when it completes.
    expiration_time TEXT,
    -- The file's download limit (issue 20's `maxDownloads`), set when it completes; NULL:
    -- none.
    max_downloads INTEGER CHECK (max_downloads IS NULL OR max_downloads > 0),
    -- The guest link it came through, whose upload slot it holds while unfinished; NULL for
    -- the admin. Deleting the link forgets its unfinished uploads (their chunks are then
    -- orphans, which the collector removes).
    guest_link_id TEXT REFERENCES guest_links (id) ON DELETE CASCADE,
    -- The API token (issue 21) that created it, whose file it becomes (`rs_token_uploads`);
    -- NULL for the admin's session and for guests. Revoking the token forgets its unfinished
    -- uploads, as deleting a guest link does.
    token_id TEXT REFERENCES rs_api_tokens (id) ON DELETE CASCADE,
    creation_time TEXT NOT NULL,
    -- Upload-Expires: the collector removes the upload (and its chunks, if unfinished) after
    -- this. Every write moves it on.
    expires_time TEXT NOT NULL,
    -- When the last byte arrived (the file is then `entries.id = entry_id`); NULL while
    -- unfinished.
    completion_time TEXT
) STRICT;

CREATE INDEX rs_tus_uploads_expires ON rs_tus_uploads (expires_time);

CREATE INDEX rs_tus_uploads_guest_link ON rs_tus_uploads (guest_link_id);

CREATE INDEX rs_tus_uploads_token ON rs_tus_uploads (token_id);
