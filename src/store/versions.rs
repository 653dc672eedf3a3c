//! Replacing a file's bytes while keeping its link (issue 20), and what keeps a download that
//! started on the old bytes reading them to the end.
//!
//! PicoShare keys chunk rows by entry id, so the new bytes are written like any upload, under
//! a fresh temporary id; then one transaction re-keys the old chunks to a retired id and the
//! new ones to the entry's id, renames the entry and raises its version (`rs_file_versions`).
//! The ids have the entry id's length, so the records keep their size and SQLite rewrites
//! only the first page of each row (it compares the overflow pages and leaves them alone):
//! the swap costs about a page per chunk, not the file's size. An interrupted replacement
//! leaves the old file as it was (its chunks under the temporary id are deleted).
//!
//! A download reads the version it started on: the chunk reader checks the version in the
//! read transaction of every chunk, and once the file was replaced it reads the retired
//! chunks (`rs_retired_chunks`). A [`VersionPin`] marks a version as being read; retired
//! chunks are deleted when their last pin drops, or at once if none holds them.

use std::sync::Arc;

use rusqlite::{params, OptionalExtension};

use super::{lock, Store};
use crate::error::StoreError;
use crate::model::{EntryId, Filename, Timestamp};

/// The new name and type of a replaced file.
pub struct Replacement<'a> {
    pub filename: &'a Filename,
    pub content_type: &'a str,
    pub upload_time: Timestamp,
}

/// While it lives, the bytes of one version of a file are not deleted.
pub struct VersionPin {
    store: Arc<Store>,
    id: String,
    version: u64,
}

impl Store {
    /// Pins version `version` of file `id` (see [`VersionPin`]).
    pub fn pin_version(self: &Arc<Self>, id: &EntryId, version: u64) -> VersionPin {
        *lock(&self.pins)
            .entry((id.as_str().to_owned(), version))
            .or_insert(0) += 1;
        VersionPin {
            store: Arc::clone(self),
            id: id.as_str().to_owned(),
            version,
        }
    }

    fn is_pinned(&self, id: &str, version: u64) -> bool {
        lock(&self.pins).contains_key(&(id.to_owned(), version))
    }

    /// Deletes the retired chunks of version `version` of file `id`, if there are any and no
    /// download reads them: the record first (a download that looks for them then fails
    /// cleanly), then the rows, in bounded batches.
    pub(crate) fn release_retired(&self, id: &str, version: u64) -> Result<(), StoreError> {
        let retired: Option<String> = self
            .reader()?
            .prepare_cached(
                "SELECT chunks_id FROM rs_retired_chunks WHERE entry_id = ?1 AND version = ?2",
            )?
            .query_row(params![id, version as i64], |r| r.get(0))
            .optional()?;
        let Some(chunks_id) = retired else {
            return Ok(());
        };
        if self.is_pinned(id, version) {
            return Ok(());
        }
        self.writer().execute(
            "DELETE FROM rs_retired_chunks WHERE chunks_id = ?1",
            [&chunks_id],
        )?;
        self.delete_chunks(&chunks_id)?;
        Ok(())
    }

    /// Retired chunks no download reads any more (all of them after a restart), for the
    /// collector: `(entry id, version)`.
    pub(crate) fn unpinned_retired(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare("SELECT entry_id, version FROM rs_retired_chunks")?;
        let all = st
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(all
            .into_iter()
            .filter(|(id, v)| !self.is_pinned(id, *v))
            .collect())
    }
}

impl Drop for VersionPin {
    fn drop(&mut self) {
        let key = (std::mem::take(&mut self.id), self.version);
        let last = {
            let mut pins = lock(&self.store.pins);
            match pins.get_mut(&key) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                _ => {
                    pins.remove(&key);
                    true
                }
            }
        };
        if last {
            if let Err(e) = self.store.release_retired(&key.0, key.1) {
                eprintln!("picoshare: could not remove a replaced file's old chunks: {e}");
            }
        }
    }
}

/// Swaps the chunks written under `temp` in as file `target`'s bytes, inside `tx` (the
/// transaction of the new file's last chunks): the old chunks go to a retired id of the same
/// length, the new ones take the entry's id, the entry gets the new name, type and upload
/// time, and its version goes up. Returns the version that was retired.
/// [`StoreError::NotFound`] if `target` is gone; then nothing changes.
pub(super) fn swap_in(
    tx: &rusqlite::Transaction,
    target: &EntryId,
    temp: &EntryId,
    new: &Replacement,
) -> Result<u64, StoreError> {
    let renamed = tx.execute(
        "UPDATE entries SET filename = ?2, content_type = ?3, upload_time = ?4 WHERE id = ?1",
        params![
            target.as_str(),
            new.filename.as_str(),
            new.content_type,
            new.upload_time.rfc3339()
        ],
    )?;
    if renamed == 0 {
        return Err(StoreError::NotFound);
    }
    let retired = unused_id_like(tx, target)?;
    let old_version: i64 = tx.query_row(
        "SELECT COALESCE((SELECT version FROM rs_file_versions WHERE entry_id = ?1), 0)",
        [target.as_str()],
        |r| r.get(0),
    )?;
    tx.execute(
        "UPDATE entries_data SET id = ?2 WHERE id = ?1",
        params![target.as_str(), retired],
    )?;
    tx.execute(
        "UPDATE entries_data SET id = ?2 WHERE id = ?1",
        params![temp.as_str(), target.as_str()],
    )?;
    tx.execute(
        "INSERT INTO rs_file_versions (entry_id, version) VALUES (?1, 1) \
         ON CONFLICT (entry_id) DO UPDATE SET version = version + 1",
        [target.as_str()],
    )?;
    tx.execute(
        "INSERT INTO rs_retired_chunks (chunks_id, entry_id, version, retired_at) \
         VALUES (?1, ?2, ?3, ?4)",
        params![
            retired,
            target.as_str(),
            old_version,
            new.upload_time.rfc3339()
        ],
    )?;
    Ok(old_version as u64)
}

/// A random id as long as `like` (so a re-keyed chunk record keeps its size) that names no
/// chunks, file or retired set.
fn unused_id_like(tx: &rusqlite::Transaction, like: &EntryId) -> Result<String, StoreError> {
    loop {
        let candidate = crate::random::id(like.as_str().len());
        let taken: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM entries_data WHERE id = ?1) \
             OR EXISTS (SELECT 1 FROM entries WHERE id = ?1) \
             OR EXISTS (SELECT 1 FROM rs_retired_chunks WHERE chunks_id = ?1)",
            [&candidate],
            |r| r.get(0),
        )?;
        if !taken {
            return Ok(candidate);
        }
    }
}
