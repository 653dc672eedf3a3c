//! Bundles (issue 20): several existing files under one link, in tables of our own
//! (`rs_bundles`, `rs_bundle_entries`). To PicoShare every bundled file stays an ordinary
//! entry; deleting one takes it out of its bundles.

use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};

use super::entries::{meta_from_row, META_COLUMNS, META_FROM};
use super::Store;
use crate::error::StoreError;
use crate::model::{Bundle, BundleId, BundleUpdate, EntryId, EntryMeta, NewBundle, Timestamp};

const BUNDLE_COLUMNS: &str =
    "id, label, creation_time, expiration_time, max_downloads, download_count";

fn bundle_from_row(r: &Row) -> rusqlite::Result<Bundle> {
    let created: String = r.get(2)?;
    let expires: String = r.get(3)?;
    Ok(Bundle {
        id: BundleId::from_db(r.get(0)?),
        label: r.get(1)?,
        creation_time: Timestamp::parse_rfc3339(&created).unwrap_or(Timestamp::from_unix(0)),
        expiration: Timestamp::from_db(Some(&expires)),
        max_downloads: r.get::<_, Option<i64>>(4)?.map(|n| n.max(0) as u64),
        download_count: r.get::<_, i64>(5)?.max(0) as u64,
        entries: Vec::new(),
    })
}

/// A row of the admin's list of bundles.
#[derive(Debug)]
pub struct BundleSummary {
    /// The bundle, without its files' ids.
    pub bundle: Bundle,
    /// Its files still there (not deleted, not expired).
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

impl Store {
    /// Creates a bundle of `new.entries` (in that order) at `now`, under a fresh id that names
    /// no entry and no other bundle. [`StoreError::UnknownEntries`] lists the ids that name no
    /// file (or an expired one); [`StoreError::NotOwnUploads`] when `new.only_uploads_of`
    /// names a token and a file is not one of its uploads (checked in the same transaction).
    /// Either way nothing is written.
    pub fn insert_bundle(&self, new: &NewBundle, now: Timestamp) -> Result<BundleId, StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut unknown = Vec::new();
        for id in &new.entries {
            let expiration: Option<Option<String>> = tx
                .prepare_cached("SELECT expiration_time FROM entries WHERE id = ?1")?
                .query_row([id.as_str()], |r| r.get(0))
                .optional()?;
            match expiration {
                Some(e) if Timestamp::from_db(e.as_deref()) > now => {}
                _ => unknown.push(id.as_str().to_owned()),
            }
        }
        if !unknown.is_empty() {
            return Err(StoreError::UnknownEntries(unknown));
        }
        if let Some(token) = &new.only_uploads_of {
            for id in &new.entries {
                let own: bool = tx
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM rs_token_uploads \
                         WHERE entry_id = ?1 AND token_id = ?2)",
                    )?
                    .query_row(params![id.as_str(), token.as_str()], |r| r.get(0))?;
                if !own {
                    return Err(StoreError::NotOwnUploads);
                }
            }
        }
        let id = loop {
            let candidate = BundleId::random();
            let taken: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM entries WHERE id = ?1) \
                 OR EXISTS (SELECT 1 FROM rs_bundles WHERE id = ?1)",
                [candidate.as_str()],
                |r| r.get(0),
            )?;
            if !taken {
                break candidate;
            }
        };
        tx.execute(
            "INSERT INTO rs_bundles (id, label, creation_time, expiration_time, max_downloads) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                id.as_str(),
                new.label,
                now.rfc3339(),
                new.expiration.rfc3339(),
                new.max_downloads.map(|m| m.get() as i64),
            ],
        )?;
        for (position, entry) in new.entries.iter().enumerate() {
            tx.execute(
                "INSERT INTO rs_bundle_entries (bundle_id, position, entry_id) \
                 VALUES (?1, ?2, ?3)",
                params![id.as_str(), position as i64, entry.as_str()],
            )?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// The bundle `id` if it has not expired at `now`, with its files' ids in order.
    pub fn bundle(&self, id: &BundleId, now: Timestamp) -> Result<Bundle, StoreError> {
        let conn = self.reader()?;
        let mut bundle = conn
            .prepare_cached(&format!(
                "SELECT {BUNDLE_COLUMNS} FROM rs_bundles WHERE id = ?1"
            ))?
            .query_row([id.as_str()], bundle_from_row)?;
        if bundle.expiration <= now {
            return Err(StoreError::NotFound);
        }
        let mut st = conn.prepare_cached(
            "SELECT entry_id FROM rs_bundle_entries WHERE bundle_id = ?1 ORDER BY position",
        )?;
        bundle.entries = st
            .query_map([id.as_str()], |r| Ok(EntryId::from_db(r.get(0)?)))?
            .collect::<Result<_, _>>()?;
        Ok(bundle)
    }

    /// How many bundles have not expired at `now` (the admin's list, [`Store::bundles_page`]).
    pub fn bundle_total(&self, now: Timestamp) -> Result<u64, StoreError> {
        let n: i64 = self
            .reader()?
            .prepare_cached("SELECT COUNT(*) FROM rs_bundles WHERE expiration_time > ?1")?
            .query_row([now.rfc3339()], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// One page of the admin's list of bundles not expired at `now`, newest first: each
    /// bundle (without its ids) with how many of its files are still there and their bytes.
    /// At most `limit` rows, whatever the number of bundles.
    pub fn bundles_page(
        &self,
        now: Timestamp,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<BundleSummary>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare_cached(&format!(
            "WITH page AS (SELECT {BUNDLE_COLUMNS} FROM rs_bundles \
             WHERE expiration_time > ?1 ORDER BY creation_time DESC, id LIMIT ?2 OFFSET ?3), \
             live AS (SELECT be.bundle_id, e.id FROM rs_bundle_entries be \
             JOIN entries e ON e.id = be.entry_id \
             WHERE be.bundle_id IN (SELECT id FROM page) \
             AND (e.expiration_time IS NULL OR e.expiration_time > ?1)) \
             SELECT page.*, \
             (SELECT COUNT(*) FROM live WHERE live.bundle_id = page.id), \
             (SELECT COALESCE(SUM(LENGTH(d.chunk)), 0) FROM live \
             JOIN entries_data d ON d.id = live.id WHERE live.bundle_id = page.id) \
             FROM page ORDER BY page.creation_time DESC, page.id"
        ))?;
        let rows = st.query_map(
            params![
                now.rfc3339(),
                limit.min(i64::MAX as u64) as i64,
                offset.min(i64::MAX as u64) as i64
            ],
            |r| {
                Ok(BundleSummary {
                    bundle: bundle_from_row(r)?,
                    files: r.get::<_, i64>(6)?.max(0) as u64,
                    bytes: r.get::<_, i64>(7)?.max(0) as u64,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether a bundle with this id exists (expired or not).
    pub fn bundle_exists(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .reader()?
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM rs_bundles WHERE id = ?1)")?
            .query_row([id], |r| r.get(0))?)
    }

    /// The bundle's files that still exist and have not expired at `now`, in its order (at
    /// most as many as it was created with, which `Config::max_bundle_files` bounds).
    pub fn bundle_files(
        &self,
        id: &BundleId,
        now: Timestamp,
    ) -> Result<Vec<EntryMeta>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare_cached(&format!(
            "SELECT {META_COLUMNS} FROM {META_FROM} \
             JOIN rs_bundle_entries b ON b.entry_id = e.id \
             WHERE b.bundle_id = ?1 ORDER BY b.position"
        ))?;
        let rows = st.query_map([id.as_str()], meta_from_row)?;
        let mut out = Vec::new();
        for r in rows {
            let m = r?;
            if m.expiration > now {
                out.push(m);
            }
        }
        Ok(out)
    }

    /// Changes a bundle's label, expiration or ZIP download limit.
    pub fn update_bundle(&self, id: &BundleId, u: &BundleUpdate) -> Result<(), StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM rs_bundles WHERE id = ?1)",
            [id.as_str()],
            |r| r.get(0),
        )?;
        if !exists {
            return Err(StoreError::NotFound);
        }
        if let Some(label) = &u.label {
            tx.execute(
                "UPDATE rs_bundles SET label = ?2 WHERE id = ?1",
                params![id.as_str(), label],
            )?;
        }
        if let Some(expiration) = u.expiration {
            tx.execute(
                "UPDATE rs_bundles SET expiration_time = ?2 WHERE id = ?1",
                params![id.as_str(), expiration.rfc3339()],
            )?;
        }
        if let Some(max) = u.max_downloads {
            tx.execute(
                "UPDATE rs_bundles SET max_downloads = ?2 WHERE id = ?1",
                params![id.as_str(), max.map(|m| m.get() as i64)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Deletes a bundle; with `with_files`, its files too (each as [`Store::delete_entry`]
    /// does). Returns whether it existed.
    pub fn delete_bundle(&self, id: &BundleId, with_files: bool) -> Result<bool, StoreError> {
        let files = if with_files {
            let conn = self.reader()?;
            let mut st = conn.prepare_cached(
                "SELECT entry_id FROM rs_bundle_entries WHERE bundle_id = ?1 ORDER BY position",
            )?;
            let ids = st
                .query_map([id.as_str()], |r| Ok(EntryId::from_db(r.get(0)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            ids
        } else {
            Vec::new()
        };
        let deleted = self
            .writer()
            .execute("DELETE FROM rs_bundles WHERE id = ?1", [id.as_str()])?;
        for file in &files {
            self.delete_entry(file)?;
        }
        Ok(deleted > 0)
    }

    /// Decides, in one write transaction, what a `GET` of the bundle's ZIP gets: `counted`
    /// (a visitor's download) raises the bundle's count — [`StoreError::UsedUp`] if its limit
    /// is reached — and takes one download of each of `files` that has a limit of its own;
    /// a file whose limit is reached is left out. Returns, for each of `files`, whether it is
    /// in the ZIP.
    pub fn admit_zip(
        &self,
        id: &BundleId,
        files: &[EntryMeta],
        counted: bool,
    ) -> Result<Vec<bool>, StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if counted {
            let n = tx
                .prepare_cached(
                    "UPDATE rs_bundles SET download_count = download_count + 1 WHERE id = ?1 \
                     AND (max_downloads IS NULL OR download_count < max_downloads)",
                )?
                .execute([id.as_str()])?;
            if n == 0 {
                return Err(StoreError::UsedUp);
            }
        }
        let mut included = Vec::with_capacity(files.len());
        for f in files {
            let served = !counted
                || f.download_limit.is_none()
                || tx
                    .prepare_cached(
                        "UPDATE rs_download_limits SET download_count = download_count + 1 \
                         WHERE entry_id = ?1 AND download_count < max_downloads",
                    )?
                    .execute([f.id.as_str()])?
                    > 0;
            included.push(served);
        }
        if !included.contains(&true) {
            return Err(StoreError::UsedUp);
        }
        tx.commit()?;
        Ok(included)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MaxDownloads;
    use crate::store::test_support::{insert_file, temp_store};

    fn new_bundle(entries: Vec<EntryId>) -> NewBundle {
        NewBundle {
            label: "photos".into(),
            expiration: Timestamp::never(),
            max_downloads: None,
            entries,
            only_uploads_of: None,
        }
    }

    #[test]
    fn issue_20_bundles_keep_their_order_and_lose_deleted_files() {
        let t = temp_store(5);
        let now = Timestamp::from_unix(1_800_000_000);
        let a = insert_file(&t, "a.txt", b"aaaa", now);
        let b = insert_file(&t, "b.txt", b"bbbbbbb", now);
        let id = t
            .store
            .insert_bundle(&new_bundle(vec![b.clone(), a.clone()]), now)
            .unwrap();
        assert!(EntryId::parse(id.as_str()).is_ok(), "an entry-shaped id");
        assert!(!t
            .store
            .entry_exists(&EntryId::from_db(id.to_string()))
            .unwrap());
        let bundle = t.store.bundle(&id, now).unwrap();
        assert_eq!(bundle.entries, [b.clone(), a.clone()]);
        assert_eq!(bundle.label, "photos");
        let names: Vec<String> = t
            .store
            .bundle_files(&id, now)
            .unwrap()
            .iter()
            .map(|m| m.filename.as_str().to_owned())
            .collect();
        assert_eq!(names, ["b.txt", "a.txt"]);
        t.store.delete_entry(&b).unwrap();
        assert_eq!(t.store.bundle(&id, now).unwrap().entries, [a.clone()][..]);
        // Unknown ids are named, and nothing is written.
        let ghost = EntryId::random();
        match t
            .store
            .insert_bundle(&new_bundle(vec![a.clone(), ghost.clone()]), now)
        {
            Err(StoreError::UnknownEntries(ids)) => assert_eq!(ids, [ghost.to_string()]),
            other => panic!("{other:?}"),
        }
        let bundles: i64 = t
            .store
            .writer()
            .query_row("SELECT COUNT(*) FROM rs_bundles", [], |r| r.get(0))
            .unwrap();
        assert_eq!(bundles, 1);
        assert!(t.store.delete_bundle(&id, true).unwrap());
        assert!(!t.store.entry_exists(&a).unwrap(), "deleted with its files");
    }

    #[test]
    fn issue_20_a_zip_download_counts_the_bundle_and_each_limited_file() {
        let t = temp_store(5);
        let now = Timestamp::from_unix(1_800_000_000);
        let a = insert_file(&t, "a.txt", b"aaaa", now);
        let b = insert_file(&t, "b.txt", b"bbbb", now);
        {
            let conn = t.store.writer();
            crate::store::entries::set_download_limit(
                &conn,
                &b,
                Some(MaxDownloads::new(1, 10).unwrap()),
            )
            .unwrap();
        }
        let mut new = new_bundle(vec![a.clone(), b.clone()]);
        new.max_downloads = Some(MaxDownloads::new(2, 10).unwrap());
        let id = t.store.insert_bundle(&new, now).unwrap();
        let files = || t.store.bundle_files(&id, now).unwrap();
        assert_eq!(
            t.store.admit_zip(&id, &files(), true).unwrap(),
            [true, true]
        );
        // b's single download is taken: the next ZIP leaves it out.
        assert_eq!(
            t.store.admit_zip(&id, &files(), true).unwrap(),
            [true, false]
        );
        assert!(matches!(
            t.store.admit_zip(&id, &files(), true),
            Err(StoreError::UsedUp)
        ));
        // The admin is never counted.
        assert_eq!(
            t.store.admit_zip(&id, &files(), false).unwrap(),
            [true, true]
        );
        assert_eq!(t.store.bundle(&id, now).unwrap().download_count, 2);
    }
}
