-- API tokens (issue 21): named, scoped, revocable credentials for scripts. The token itself is
-- never stored: only its HMAC-SHA256 (`hash`, 32 bytes; see src/tokens.rs). Deleting a row
-- revokes the token at once.
CREATE TABLE rs_api_tokens (
    -- The token's public id (also inside the token, after the prefix): names it in the list
    -- and in `DELETE /api/tokens/{id}`.
    id TEXT PRIMARY KEY,
    label TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
    -- `upload`: may only create files; `admin`: the whole admin API.
    scope TEXT NOT NULL CHECK (scope IN ('upload', 'admin')),
    hash BLOB NOT NULL CHECK (length(hash) = 32),
    -- RFC 3339, UTC, like PicoShare's times.
    created TEXT NOT NULL,
    -- NULL: never expires.
    expires TEXT,
    -- Written at most once a minute per token (Config::token_last_used_interval).
    last_used TEXT
) STRICT;

-- Which token created which file, so a token can later be limited to its own uploads (bundles,
-- issue 20). A row goes with its file (a deletion by the Go PicoShare included) and with its
-- token.
CREATE TABLE rs_token_uploads (
    entry_id TEXT PRIMARY KEY REFERENCES entries (id) ON DELETE CASCADE,
    token_id TEXT NOT NULL REFERENCES rs_api_tokens (id) ON DELETE CASCADE
) STRICT;

CREATE INDEX rs_token_uploads_token ON rs_token_uploads (token_id);
