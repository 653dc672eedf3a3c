//! Entries: files' metadata rows, and collection of expired and orphaned data.

use rusqlite::{params, Row};

use super::{lock, Store, UNFINISHED_CHUNKS};
use crate::error::StoreError;
use crate::model::{
    DownloadLimit, DownloadPassphrase, EntryId, EntryMeta, EntryUpdate, Filename, GuestLinkId,
    MaxDownloads, NewEntry, Note, Timestamp,
};
#[cfg(test)]
use crate::spool::Spool;

/// What one collection removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PurgeStats {
    pub expired_entries: u64,
    /// Resumable uploads abandoned unfinished past their expiry.
    pub expired_uploads: u64,
    pub orphaned_chunks: u64,
}

pub(super) const META_COLUMNS: &str = "e.id, e.filename, e.content_type, e.upload_time, \
     e.expiration_time, e.guest_link_id, e.note, \
     (SELECT COALESCE(SUM(LENGTH(d.chunk)), 0) FROM entries_data d WHERE d.id = e.id), \
     e.download_passphrase, \
     COALESCE((SELECT v.version FROM rs_file_versions v WHERE v.entry_id = e.id), 0), \
     l.max_downloads, l.download_count";

/// The files the list shows (`x`): not expired at `?1` (stored times are UTC RFC 3339, so
/// string order is time order), and matching the `LIKE` pattern `?2` when it is not NULL.
const LISTED: &str = "(x.expiration_time IS NULL OR x.expiration_time > ?1) \
     AND (?2 IS NULL OR x.filename LIKE ?2 ESCAPE '\\' OR x.note LIKE ?2 ESCAPE '\\')";

/// A `LIKE` pattern matching any text that contains `text` (its `%`, `_` and `\` escaped).
fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The tables [`META_COLUMNS`] reads from, as `e` (and `l`, the file's download limit).
pub(super) const META_FROM: &str = "entries e LEFT JOIN rs_download_limits l ON l.entry_id = e.id";

/// One page of live files in id order with their download counts (see
/// [`Store::entries_after`]): [`META_COLUMNS`] from [`META_FROM`], then the count.
const PAGE_SQL: &str = "WITH page AS (\
     SELECT e.id, e.filename, e.content_type, e.upload_time, e.expiration_time, \
     e.guest_link_id, e.note, \
     (SELECT COALESCE(SUM(LENGTH(d.chunk)), 0) FROM entries_data d WHERE d.id = e.id) AS size, \
     e.download_passphrase, \
     COALESCE((SELECT v.version FROM rs_file_versions v WHERE v.entry_id = e.id), 0) AS version, \
     l.max_downloads, l.download_count \
     FROM entries e LEFT JOIN rs_download_limits l ON l.entry_id = e.id WHERE e.id > ?1 \
     AND (e.expiration_time IS NULL OR e.expiration_time > ?3) ORDER BY e.id LIMIT ?2), \
     counts AS (SELECT entry_id, COUNT(*) AS n FROM downloads \
     WHERE entry_id IN (SELECT id FROM page) GROUP BY entry_id) \
     SELECT page.*, COALESCE(counts.n, 0) FROM page \
     LEFT JOIN counts ON counts.entry_id = page.id ORDER BY page.id";

/// A page of [`Store::entries_after`]: files and their download counts, and where to go on.
#[derive(Debug, Default)]
pub struct EntryPage {
    pub entries: Vec<(EntryMeta, u64)>,
    pub next: Option<EntryId>,
}

pub(super) fn meta_from_row(r: &Row) -> rusqlite::Result<EntryMeta> {
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
        version: r.get::<_, i64>(9)?.max(0) as u64,
        download_limit: match (r.get::<_, Option<i64>>(10)?, r.get::<_, Option<i64>>(11)?) {
            (Some(max), used) => Some(DownloadLimit {
                max: max.max(0) as u64,
                used: used.unwrap_or(0).max(0) as u64,
            }),
            (None, _) => None,
        },
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
    if let Some(max) = new.max_downloads {
        set_download_limit(tx, id, Some(max))?;
    }
    Ok(())
}

/// Sets (or with `None` removes) the download limit of file `id` inside `tx`; downloads
/// already counted stay counted.
pub(super) fn set_download_limit(
    tx: &rusqlite::Connection,
    id: &EntryId,
    max: Option<MaxDownloads>,
) -> Result<(), StoreError> {
    match max {
        Some(max) => tx.execute(
            "INSERT INTO rs_download_limits (entry_id, max_downloads) VALUES (?1, ?2) \
             ON CONFLICT (entry_id) DO UPDATE SET max_downloads = excluded.max_downloads",
            params![id.as_str(), max.get() as i64],
        )?,
        None => tx.execute(
            "DELETE FROM rs_download_limits WHERE entry_id = ?1",
            [id.as_str()],
        )?,
    };
    Ok(())
}

impl Store {
    /// The metadata of a file that has not expired at `now`.
    pub fn entry(&self, id: &EntryId, now: Timestamp) -> Result<EntryMeta, StoreError> {
        let meta = self
            .reader()?
            .prepare_cached(&format!(
                "SELECT {META_COLUMNS} FROM {META_FROM} WHERE e.id = ?1"
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

    /// One page of the files not yet expired at `now`, newest first: `limit` of them after
    /// the first `offset`. With `filter`, only files whose name or note contains it (letters
    /// compared without case for ASCII, as SQLite's `LIKE` does). The page is chosen before
    /// any file's size is summed, so a page costs its own rows only.
    pub fn entries_page(
        &self,
        now: Timestamp,
        filter: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<EntryMeta>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare_cached(&format!(
            "SELECT {META_COLUMNS} FROM {META_FROM} WHERE e.rowid IN                (SELECT x.rowid FROM entries x WHERE {LISTED}                 ORDER BY x.upload_time DESC, x.id LIMIT ?3 OFFSET ?4)              ORDER BY e.upload_time DESC, e.id"
        ))?;
        let rows = st.query_map(
            params![
                now.rfc3339(),
                filter.map(like_pattern),
                limit.min(i64::MAX as u64) as i64,
                offset.min(i64::MAX as u64) as i64
            ],
            meta_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many files [`Store::entries_page`] pages through.
    pub fn entry_total(&self, now: Timestamp, filter: Option<&str>) -> Result<u64, StoreError> {
        let n: i64 = self
            .reader()?
            .prepare_cached(&format!("SELECT COUNT(*) FROM entries x WHERE {LISTED}"))?
            .query_row(params![now.rfc3339(), filter.map(like_pattern)], |r| {
                r.get(0)
            })?;
        Ok(n.max(0) as u64)
    }

    /// One page of `GET /api/entries`: up to `limit` files not expired at `now` (the list's
    /// rule, as in [`Store::entries_page`]) with ids after `after` (`""`: from the first), in
    /// id order — a stable order in which a file never moves between pages, walked on the
    /// primary key's index — each with its download count. `next` is the id to continue
    /// after, `None` when no file comes after this page (one row more than `limit` is read to
    /// know).
    ///
    /// PicoShare's `downloads` table has no index on `entry_id` (and we add none to its
    /// tables), so the counts take one scan of `downloads` per page, grouped over this
    /// page's ids only, instead of one scan per file (see [`PAGE_SQL`]'s plan in the tests).
    pub fn entries_after(
        &self,
        after: &str,
        limit: usize,
        now: Timestamp,
    ) -> Result<EntryPage, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare_cached(PAGE_SQL)?;
        let rows = st.query_map(
            params![after, limit.saturating_add(1) as i64, now.rfc3339()],
            |r| Ok((meta_from_row(r)?, r.get::<_, i64>(12)?.max(0) as u64)),
        )?;
        let mut page = EntryPage::default();
        for row in rows {
            let (meta, downloads) = row?;
            if page.entries.len() == limit {
                page.next = page.entries.last().map(|(m, _)| m.id.clone());
                break;
            }
            page.entries.push((meta, downloads));
        }
        Ok(page)
    }

    /// Changes a file's name, expiration, note, download passphrase and download limit, in
    /// one transaction.
    pub fn update_entry(&self, id: &EntryId, u: &EntryUpdate) -> Result<(), StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let n = tx.execute(
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
        if let Some(max) = u.max_downloads {
            set_download_limit(&tx, id, max)?;
        }
        tx.commit()?;
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

    /// Collects garbage: files expired at `now` (with their history and chunks), resumable
    /// uploads expired at `now` (with the chunks of unfinished ones), then chunk rows that
    /// belong to no file, to no unfinished resumable upload and to no upload in progress, in
    /// this process or in any other that opened the database (see `locks.rs`).
    pub fn purge(&self, now: Timestamp) -> Result<PurgeStats, StoreError> {
        let mut stats = PurgeStats::default();
        let (uploads, chunks) = self.expire_resumables(now)?;
        stats.expired_uploads = uploads;
        stats.orphaned_chunks += chunks;
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
        self.purge_ours(now)?;
        // Their chunks are orphans now; collect them with any others. Chunks retired by a
        // replacement are not orphans while a download may read them (see versions.rs).
        let orphans: Vec<String> = {
            let conn = self.writer();
            // Taken under the writer lock: an upload marked after this cannot have written
            // a chunk yet, and one marked before is skipped.
            let uploading = lock(&self.uploading).clone();
            // An unfinished resumable upload's chunks belong to its row, not to a file yet.
            let mut st = conn.prepare(&format!(
                "SELECT DISTINCT id FROM entries_data WHERE id NOT IN (SELECT id FROM entries) \
                 AND id NOT IN (SELECT chunks_id FROM rs_retired_chunks) \
                 AND id NOT IN ({UNFINISHED_CHUNKS})"
            ))?;
            let ids = st
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            ids.into_iter()
                .filter(|id| !uploading.contains(id))
                .filter(|id| {
                    !self
                        .lock
                        .as_ref()
                        .is_some_and(|l| l.upload_running_elsewhere(id))
                })
                .collect()
        };
        for id in orphans {
            stats.orphaned_chunks += self.delete_chunks(&id)?;
        }
        Ok(stats)
    }
}

impl Store {
    /// The collector's work in our own tables (issue 20): expired bundles and bundles left
    /// with no file; rows about files that are gone (should a program that does not enforce
    /// foreign keys have deleted them); retired chunks no download reads any more.
    fn purge_ours(&self, now: Timestamp) -> Result<(), StoreError> {
        {
            let mut conn = self.writer();
            let tx = conn.transaction()?;
            for sql in [
                "DELETE FROM rs_bundle_entries WHERE entry_id NOT IN (SELECT id FROM entries)",
                "DELETE FROM rs_download_limits WHERE entry_id NOT IN (SELECT id FROM entries)",
                "DELETE FROM rs_download_grants WHERE entry_id NOT IN (SELECT id FROM entries)",
                "DELETE FROM rs_file_versions WHERE entry_id NOT IN (SELECT id FROM entries)",
                "DELETE FROM rs_retired_chunks WHERE entry_id NOT IN (SELECT id FROM entries)",
                "DELETE FROM rs_bundles WHERE id NOT IN (SELECT bundle_id FROM rs_bundle_entries)",
            ] {
                tx.execute(sql, [])?;
            }
            tx.execute(
                "DELETE FROM rs_bundles WHERE expiration_time < ?1",
                [now.rfc3339()],
            )?;
            tx.commit()?;
        }
        for (id, version) in self.unpinned_retired()? {
            self.release_retired(&id, version)?;
        }
        Ok(())
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
            max_downloads: None,
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
        let record = crate::model::DownloadRecord {
            time: now,
            client_ip: "127.0.0.1".into(),
            user_agent: "curl".into(),
        };
        t.store.insert_downloads(&[(id.clone(), record)]).unwrap();
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
    fn issue_16_the_list_pages_live_files_newest_first_and_filters_name_and_note() {
        let t = temp_store(5);
        let now = Timestamp::from_unix(1_800_000_000);
        for i in 0..25 {
            let mut new = new_entry(&format!("file-{i:02}.txt"), now.plus_secs(i));
            if i == 7 {
                new.note = Note::parse("100% of the _report_").unwrap();
            }
            if i == 3 {
                new.expiration = now.plus_secs(10);
            }
            let mut spool = spool_of(b"data", &t.dir, 5);
            insert(&t, &new, &mut spool);
        }
        let later = now.plus_secs(20);
        assert_eq!(t.store.entry_total(later, None).unwrap(), 24, "one expired");
        let names = |page: Vec<EntryMeta>| -> Vec<String> {
            page.into_iter()
                .map(|e| e.filename.as_str().to_owned())
                .collect()
        };
        let first = names(t.store.entries_page(later, None, 0, 10).unwrap());
        assert_eq!(first.len(), 10);
        assert_eq!(
            (first[0].as_str(), first[9].as_str()),
            ("file-24.txt", "file-15.txt")
        );
        let last = names(t.store.entries_page(later, None, 20, 10).unwrap());
        assert_eq!(
            last,
            ["file-04.txt", "file-02.txt", "file-01.txt", "file-00.txt"]
        );
        assert!(t
            .store
            .entries_page(later, None, 24, 10)
            .unwrap()
            .is_empty());
        let page = t.store.entries_page(later, None, 0, 1).unwrap();
        assert_eq!(page[0].size, 4, "sizes are summed for the page's files");
        // Name or note, any case for ASCII; `%` and `_` are plain characters.
        let found = |q: &str| names(t.store.entries_page(later, Some(q), 0, 100).unwrap());
        assert_eq!(found("FILE-1").len(), 10);
        assert_eq!(found("100%"), ["file-07.txt"]);
        assert_eq!(found("_REPORT_"), ["file-07.txt"]);
        assert!(found("1_0").is_empty());
        assert!(found("file-03").is_empty(), "expired files are not listed");
        assert_eq!(t.store.entry_total(later, Some("-2")).unwrap(), 5);
    }

    #[test]
    fn issue_16_the_collector_spares_chunks_of_an_upload_running_in_another_process() {
        let dir = std::env::temp_dir().join(format!("ps-store-{}", crate::random::hex(8)));
        let db = dir.join("store.db");
        let lock = crate::locks::lock_database(&db).unwrap().unwrap();
        let store = Store::open(&db, crate::store::StoreSettings::with_chunk_size(5))
            .unwrap()
            .with_lock(lock);
        // Another process (its own description of the file) is uploading "zzzzzzzzzz"; a
        // crashed upload left "yyyyyyyyyy".
        let elsewhere = crate::locks::another_description(&db);
        let running = elsewhere.mark_upload("zzzzzzzzzz");
        for orphan in ["zzzzzzzzzz", "yyyyyyyyyy"] {
            store
                .writer()
                .execute(
                    "INSERT INTO entries_data (id, chunk_index, chunk) VALUES (?1, 0, x'00')",
                    [orphan],
                )
                .unwrap();
        }
        let now = Timestamp::from_unix(1_800_000_000);
        assert_eq!(store.purge(now).unwrap().orphaned_chunks, 1);
        let left: String = store
            .writer()
            .query_row("SELECT id FROM entries_data", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, "zzzzzzzzzz", "the running upload's chunk stays");
        // Once that upload ends (or its process dies), its rows are orphans like any other.
        drop(running);
        assert_eq!(store.purge(now).unwrap().orphaned_chunks, 1);
        drop(store);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn issue_21_pages_walk_the_primary_key_and_count_downloads_in_one_scan() {
        let t = temp_store(5);
        let now = Timestamp::from_unix(1_800_000_000);
        let mut ids = Vec::new();
        let mut expired = None;
        for i in 0..7 {
            let mut spool = spool_of(b"hello", &t.dir, 5);
            let mut new = new_entry(&format!("f{i}.txt"), now);
            if i == 3 {
                new.expiration = now.plus_secs(10);
            }
            let id = insert(&t, &new, &mut spool);
            if i == 3 {
                expired = Some(id.clone());
            }
            ids.push(id);
        }
        let record = crate::model::DownloadRecord {
            time: now,
            client_ip: "127.0.0.1".into(),
            user_agent: "curl".into(),
        };
        let three = vec![(ids[1].clone(), record); 3];
        assert_eq!(t.store.insert_downloads(&three).unwrap(), 3);
        ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        let later = now.plus_secs(60);
        let mut seen = Vec::new();
        let mut after = String::new();
        let mut pages = 0;
        loop {
            let page = t.store.entries_after(&after, 3, later).unwrap();
            pages += 1;
            assert!(page.entries.len() <= 3);
            for (meta, downloads) in &page.entries {
                assert_eq!(meta.size, 5);
                let want = t.store.download_count(&meta.id).unwrap();
                assert_eq!(*downloads, want, "{}", meta.id);
                seen.push(meta.id.clone());
            }
            match page.next {
                Some(next) => after = next.as_str().to_owned(),
                None => break,
            }
        }
        assert_eq!(pages, 2, "6 live files by 3");
        let whole = |limit| t.store.entries_after("", limit, later).unwrap().next;
        assert!(
            whole(5).is_some() && whole(6).is_none(),
            "no empty last page"
        );
        let live: Vec<EntryId> = ids
            .into_iter()
            .filter(|id| Some(id) != expired.as_ref())
            .collect();
        assert_eq!(seen, live, "every live file once, in id order");
        assert!(seen
            .iter()
            .any(|id| t.store.download_count(id).unwrap() == 3));

        let plan: Vec<String> = {
            let conn = t.store.writer();
            let mut st = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {PAGE_SQL}"))
                .unwrap();
            let rows = st
                .query_map(params!["", 3, later.rfc3339()], |r| r.get::<_, String>(3))
                .unwrap();
            rows.map(Result::unwrap).collect()
        };
        let text = plan.join("\n");
        assert!(
            plan.iter()
                .any(|l| l.starts_with("SEARCH e USING") && l.contains("(id>?)")),
            "keyset on the primary key:\n{text}"
        );
        // The only full scans: `downloads` once (it has no index on entry_id), and the
        // page's own rows; every other table is searched by key.
        let scans: Vec<&str> = plan
            .iter()
            .map(|l| l.trim())
            .filter(|l| l.starts_with("SCAN "))
            .collect();
        assert!(
            scans
                .iter()
                .all(|l| ["SCAN downloads", "SCAN page"].contains(l)),
            "nothing else scanned:\n{text}"
        );
        assert_eq!(
            scans.iter().filter(|l| **l == "SCAN downloads").count(),
            1,
            "one scan of downloads per page:\n{text}"
        );
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
