-- Issue 20: several files under one link. A bundle groups entries that already exist; to
-- PicoShare each stays an ordinary entry. Bundle ids are 10 characters of the entry-id
-- alphabet and never equal an entry id (checked when a bundle is created).
CREATE TABLE rs_bundles (
    id TEXT PRIMARY KEY,
    label TEXT NOT NULL DEFAULT '' CHECK (length(label) <= 200),
    creation_time TEXT NOT NULL,
    expiration_time TEXT NOT NULL,
    -- How many times the bundle's ZIP may be downloaded (NULL: no limit).
    max_downloads INTEGER CHECK (max_downloads IS NULL OR max_downloads > 0),
    -- ZIP downloads so far (every visitor's GET, limited or not; never the admin's).
    download_count INTEGER NOT NULL DEFAULT 0 CHECK (download_count >= 0)
) STRICT;

-- The bundle's files, in the order they were given. A deleted entry leaves its bundles.
CREATE TABLE rs_bundle_entries (
    bundle_id TEXT NOT NULL REFERENCES rs_bundles (id) ON DELETE CASCADE,
    position INTEGER NOT NULL CHECK (position >= 0),
    entry_id TEXT NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    PRIMARY KEY (bundle_id, position),
    UNIQUE (bundle_id, entry_id)
) STRICT;

CREATE INDEX rs_bundle_entries_entry ON rs_bundle_entries (entry_id);
