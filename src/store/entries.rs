//! Entries: files' metadata rows, and collection of expired and orphaned data.

use rusqlite::{params, Row};

use super::{lock, Store};
use crate::error::StoreError;
use crate::model::{
    DownloadPassphrase, EntryId, EntryMeta, EntryUpdate, Filename, GuestLinkId, NewEntry, Note,
    Timestamp,
};
#[cfg(test)]
use crate::spool::Spool;

/// What one collection removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PurgeStats {
    pub expired_entries: u64,
    pub orphaned_chunks: u64,
}

const META_COLUMNS: &str = "e.id, e.filename, e.content_type, e.upload_time, \
     e.expiration_time, e.guest_link_id, e.note, \
     (SELECT COALESCE(SUM(LENGTH(d.chunk)), 0) FROM entries_data d WHERE d.id = e.id), \
     e.download_passphrase";

fn meta_from_row(r: &Row) -> rusqlite::Result<EntryMeta> {
    let upload: String = r.get(3)?;
    let expiration: Option<String> = r.get(4)?;
    let size: i64 = r.get(7)?;
    Ok(EntryMeta {
        id: EntryId::from_db(r.get(0)?),
        filename: Filename::from_db(r.get(1)?),
        content_type: r.get(2)?,
        upload_time: Timestamp::parse_rfc3339(&upload).unwrap_or(Timestamp::from_unix(0)),
        expiration: Timestamp::from_db(expiration.as_deref()),
        guest_link_id: r
            .get::<_, Option<String>>(5)?
            .filter(|s| !s.is_empty())
            .map(GuestLinkId::from_db),
        note: Note::from_db(r.get(6)?),
        size: size.max(0) as u64,
        download_passphrase: r
            .get::<_, Option<String>>(8)?
            .map(DownloadPassphrase::from_db),
    })
}

/// Inserts the `entries` row of the file `id` inside `tx`, the transaction of its last chunks
/// (see [`super::Upload::finish`]).
pub(super) fn insert_row(
    tx: &rusqlite::Transaction,
    id: &EntryId,
    new: &NewEntry,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO entries (id, filename, content_type, upload_time, \
         expiration_time, guest_link_id, note, download_passphrase) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id.as_str(),
            new.filename.as_str(),
            new.content_type,
            new.upload_time.rfc3339(),
            new.expiration.rfc3339(),
            new.guest_link_id.as_ref().map(|g| g.as_str()),
            new.note.as_deref(),
            new.download_passphrase.as_ref().map(|p| p.as_str()),
        ],
    )?;
    Ok(())
}

impl Store {
    /// The metadata of a file that has not expired at `now`.
    pub fn entry(&self, id: &EntryId, now: Timestamp) -> Result<EntryMeta, StoreError> {
        let meta = self
            .reader()?
            .prepare_cached(&format!(
                "SELECT {META_COLUMNS} FROM entries e WHERE e.id = ?1"
            ))?
            .query_row([id.as_str()], meta_from_row)?;
        if meta.expiration <= now {
            return Err(StoreError::NotFound);
        }
        Ok(meta)
    }

    /// Whether an entry with this id exists (expired or not).
    pub fn entry_exists(&self, id: &EntryId) -> Result<bool, StoreError> {
        Ok(self
            .reader()?
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM entries WHERE id = ?1)")?
            .query_row([id.as_str()], |r| r.get(0))?)
    }

    /// Every file not yet expired at `now`, newest first.
    pub fn entries(&self, now: Timestamp) -> Result<Vec<EntryMeta>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare_cached(&format!(
            "SELECT {META_COLUMNS} FROM entries e ORDER BY e.upload_time DESC, e.id"
        ))?;
        let rows = st.query_map([], meta_from_row)?;
        let mut out = Vec::new();
        for r in rows {
            let m = r?;
            if m.expiration > now {
                out.push(m);
            }
        }
        Ok(out)
    }

    /// Changes a file's name, expiration, note and download passphrase.
    pub fn update_entry(&self, id: &EntryId, u: &EntryUpdate) -> Result<(), StoreError> {
        let n = self.writer().execute(
            "UPDATE entries SET filename = ?2, expiration_time = ?3, note = ?4, \
             download_passphrase = ?5 WHERE id = ?1",
            params![
                id.as_str(),
                u.filename.as_str(),
                u.expiration.rfc3339(),
                u.note.as_deref(),
                u.download_passphrase.as_ref().map(|p| p.as_str()),
            ],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes a file: its row and history go in one transaction (it disappears at once),
    /// then its chunks in bounded batches. Deleting an unknown id is not an error.
    pub fn delete_entry(&self, id: &EntryId) -> Result<(), StoreError> {
        {
            let mut conn = self.writer();
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM downloads WHERE entry_id = ?1", [id.as_str()])?;
            tx.execute("DELETE FROM entries WHERE id = ?1", [id.as_str()])?;
            tx.commit()?;
        }
        self.delete_chunks(id.as_str())?;
        Ok(())
    }

    /// Collects garbage: files expired at `now` (with their history and chunks), then chunk
    /// rows that belong to no file and to no upload in progress.
    pub fn purge(&self, now: Timestamp) -> Result<PurgeStats, StoreError> {
        let mut stats = PurgeStats::default();
        let expired: Vec<String> = {
            let mut conn = self.writer();
            let tx = conn.transaction()?;
            let ids = {
                let mut st = tx.prepare(
                    "SELECT id FROM entries \
                     WHERE expiration_time IS NOT NULL AND expiration_time < ?1",
                )?;
                let ids = st
                    .query_map([now.rfc3339()], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                ids
            };
            for id in &ids {
                tx.execute("DELETE FROM downloads WHERE entry_id = ?1", [id])?;
                tx.execute("DELETE FROM entries WHERE id = ?1", [id])?;
            }
            tx.commit()?;
            ids
        };
        stats.expired_entries = expired.len() as u64;
        // Their chunks are orphans now; collect them with any others.
        let orphans: Vec<String> = {
            let conn = self.writer();
            // Taken under the writer lock: an upload marked after this cannot have written
            // a chunk yet, and one marked before is skipped.
            let uploading = lock(&self.uploading).clone();
            let mut st = conn.prepare(
                "SELECT DISTINCT id FROM entries_data WHERE id NOT IN (SELECT id FROM entries)",
            )?;
            let ids = st
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            ids.into_iter()
                .filter(|id| !uploading.contains(id))
                .collect()
        };
        for id in orphans {
            stats.orphaned_chunks += self.delete_chunks(&id)?;
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{insert, temp_store};

    fn new_entry(name: &str, now: Timestamp) -> NewEntry {
        NewEntry {
            filename: Filename::parse(name).unwrap(),
            content_type: "application/octet-stream".into(),
            upload_time: now,
            expiration: now.plus_secs(86400),
            guest_link_id: None,
            note: Note::none(),
            download_passphrase: None,
        }
    }

    fn spool_of(data: &[u8], dir: &std::path::Path, chunk: usize) -> Spool {
        let mut s = Spool::new(16, chunk);
        s.fill_from(&mut &data[..], dir, None).unwrap();
        s
    }

    #[test]
    fn expired_entries_are_hidden_then_collected_with_orphans() {
        let t = temp_store(5);
        let now = Timestamp::from_unix(1_800_000_000);
        let mut spool = spool_of(b"hello world", &t.dir, 5);
        let id = insert(&t, &new_entry("a.txt", now), &mut spool);
        t.store
            .record_download(&id, now, "127.0.0.1", "curl")
            .unwrap();
        // An orphan chunk from a crashed upload, and one from an upload in progress.
        let live = EntryId::random();
        let _guard = t.store.mark_uploading(&live);
        for orphan in ["zzzzzzzzzz", live.as_str()] {
            t.store
                .writer()
                .execute(
                    "INSERT INTO entries_data (id, chunk_index, chunk) VALUES (?1, 0, x'00')",
                    [orphan],
                )
                .unwrap();
        }
        let later = now.plus_secs(86400);
        assert!(matches!(
            t.store.entry(&id, later),
            Err(StoreError::NotFound)
        ));
        let stats = t.store.purge(later.plus_secs(1)).unwrap();
        assert_eq!(stats.expired_entries, 1);
        assert_eq!(stats.orphaned_chunks, 3 + 1);
        let left: i64 = t
            .store
            .writer()
            .query_row("SELECT COUNT(*) FROM entries_data", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 1, "the in-progress upload's chunk stays");
    }

    #[test]
    fn a_new_database_has_picoshares_schema_version_and_incremental_vacuum() {
        let t = temp_store(5);
        let conn = t.store.writer();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        let av: i64 = conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .unwrap();
        let days: i64 = conn
            .query_row("SELECT default_expiration_in_days FROM settings", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!((v, av, days), (16, 2, 30));
    }
}
