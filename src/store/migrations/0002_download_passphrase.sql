-- PicoShare's migration 016 (its master, September 2026): per-file download passphrases.
-- One nullable column, appended exactly as upstream appends it, so the stored table SQL and
-- user_version 16 are the same whichever program upgraded the file. NULL means "not
-- protected"; the value is the passphrase as typed (never '', which upstream cannot read).
ALTER TABLE entries ADD COLUMN download_passphrase TEXT;
