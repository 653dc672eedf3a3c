//! Guest links: the `guest_links` rows in PicoShare's encodings (label `''` not NULL, limits
//! NULL = unlimited, lifetimes as Go durations), and the upload-count limit enforced atomically:
//! a slot is reserved before a guest's upload is read — in memory for an upload in one
//! request, by its row for a resumable one — and the count is checked again inside the
//! transaction that inserts the file.

use rusqlite::{params, Row, Transaction};

use super::{lock, Store};
use crate::duration::FileLifetime;
use crate::error::StoreError;
use crate::model::{GuestLink, GuestLinkId, NewGuestLink, Timestamp};

/// The columns [`link_from_row`] reads; `?1` in the count is "now".
const LINK_COLUMNS: &str = "g.id, g.label, g.max_file_bytes, g.max_file_uploads, \
     g.creation_time, g.url_expiration_time, g.file_expiration_time, g.is_disabled, \
     (SELECT COUNT(*) FROM entries e WHERE e.guest_link_id = g.id \
        AND (e.expiration_time IS NULL OR e.expiration_time > ?1))";

fn link_from_row(r: &Row) -> rusqlite::Result<GuestLink> {
    let limit = |i: usize| -> rusqlite::Result<Option<u64>> {
        Ok(r.get::<_, Option<i64>>(i)?.map(|n| n.max(0) as u64))
    };
    let created: String = r.get(4)?;
    let url_expiration: Option<String> = r.get(5)?;
    let lifetime: Option<String> = r.get(6)?;
    Ok(GuestLink {
        id: GuestLinkId::from_db(r.get(0)?),
        label: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
        max_file_bytes: limit(2)?,
        max_file_uploads: limit(3)?,
        creation_time: Timestamp::parse_rfc3339(&created).unwrap_or(Timestamp::from_unix(0)),
        url_expiration: Timestamp::from_db(url_expiration.as_deref()),
        file_lifetime: FileLifetime::from_db(lifetime.as_deref()),
        is_disabled: r.get::<_, i64>(7)? != 0,
        uploads_used: r.get::<_, i64>(8)?.max(0) as u64,
    })
}

/// Reads one link inside a transaction (the final check of a guest upload).
fn link_in(tx: &Transaction, id: &GuestLinkId, now: Timestamp) -> Result<GuestLink, StoreError> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {LINK_COLUMNS} FROM guest_links g WHERE g.id = ?2"
        ))?
        .query_row(params![now.rfc3339(), id.as_str()], link_from_row)?)
}

/// A reserved upload slot on a guest link, held while the guest's file is received and
/// stored; dropping it gives the slot back — unless a resumable upload's row holds it (see
/// [`Store::resumable_slot`]).
pub struct GuestUploadSlot<'a> {
    store: &'a Store,
    /// The link as it was when the slot was reserved.
    pub link: GuestLink,
    /// Counted in `Store::guest_slots` (given back on drop), rather than held by a row.
    in_memory: bool,
}

impl GuestUploadSlot<'_> {
    /// The final check of a guest's upload, inside the transaction that inserts the file
    /// (under the writer lock): whatever happened since the slot was reserved — the link
    /// disabled, deleted, expired, or its count reached by any other path — the file goes in
    /// only if the link still accepts it; otherwise [`StoreError::GuestLinkInactive`].
    pub(super) fn still_accepts(&self, tx: &Transaction, now: Timestamp) -> Result<(), StoreError> {
        match link_in(tx, &self.link.id, now) {
            Ok(link) if link.is_active(now) => Ok(()),
            Ok(_) | Err(StoreError::NotFound) => Err(StoreError::GuestLinkInactive),
            Err(e) => Err(e),
        }
    }
}

impl Drop for GuestUploadSlot<'_> {
    fn drop(&mut self) {
        if !self.in_memory {
            return;
        }
        let mut slots = lock(&self.store.guest_slots);
        let key = self.link.id.as_str();
        if let Some(n) = slots.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                slots.remove(key);
            }
        }
    }
}

impl Store {
    /// Creates a guest link at `now` and returns its new random id.
    pub fn insert_guest_link(
        &self,
        link: &NewGuestLink,
        now: Timestamp,
    ) -> Result<GuestLinkId, StoreError> {
        let id = GuestLinkId::random();
        self.writer().execute(
            "INSERT INTO guest_links (id, label, max_file_bytes, max_file_uploads, \
             creation_time, url_expiration_time, file_expiration_time, is_disabled) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
            params![
                id.as_str(),
                link.label,
                link.max_file_bytes.map(|n| n.min(i64::MAX as u64) as i64),
                link.max_file_uploads.map(|n| n.min(i64::MAX as u64) as i64),
                now.rfc3339(),
                link.url_expiration.rfc3339(),
                link.file_lifetime.encode(),
            ],
        )?;
        Ok(id)
    }

    /// One guest link, with its uploads counted at `now`. [`StoreError::NotFound`] if unknown.
    pub fn guest_link(&self, id: &GuestLinkId, now: Timestamp) -> Result<GuestLink, StoreError> {
        Ok(self
            .reader()?
            .prepare_cached(&format!(
                "SELECT {LINK_COLUMNS} FROM guest_links g WHERE g.id = ?2"
            ))?
            .query_row(params![now.rfc3339(), id.as_str()], link_from_row)?)
    }

    /// One page of the guest links, newest first, with uploads counted at `now`: `limit`
    /// after the first `offset`. The page is chosen before any link's uploads are counted.
    pub fn guest_links_page(
        &self,
        now: Timestamp,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<GuestLink>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare_cached(&format!(
            "SELECT {LINK_COLUMNS} FROM guest_links g WHERE g.rowid IN                (SELECT x.rowid FROM guest_links x                 ORDER BY x.creation_time DESC, x.rowid DESC LIMIT ?2 OFFSET ?3)              ORDER BY g.creation_time DESC, g.rowid DESC"
        ))?;
        let rows = st.query_map(
            params![
                now.rfc3339(),
                limit.min(i64::MAX as u64) as i64,
                offset.min(i64::MAX as u64) as i64
            ],
            link_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many guest links there are.
    pub fn guest_link_total(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .reader()?
            .query_row("SELECT COUNT(*) FROM guest_links", [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Enables or disables a link (idempotent). [`StoreError::NotFound`] if unknown.
    pub fn set_guest_link_disabled(
        &self,
        id: &GuestLinkId,
        disabled: bool,
    ) -> Result<(), StoreError> {
        let n = self.writer().execute(
            "UPDATE guest_links SET is_disabled = ?2 WHERE id = ?1",
            params![id.as_str(), disabled as i64],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes a link but keeps its files: in one transaction their `guest_link_id` is cleared
    /// and the link removed. Deleting an unknown id is not an error.
    pub fn delete_guest_link(&self, id: &GuestLinkId) -> Result<(), StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE entries SET guest_link_id = NULL WHERE guest_link_id = ?1",
            [id.as_str()],
        )?;
        tx.execute("DELETE FROM guest_links WHERE id = ?1", [id.as_str()])?;
        tx.commit()?;
        Ok(())
    }

    /// Reserves one upload on guest link `id` before its body is read. The link must be active
    /// at `now` counting the uploads already in flight — those of this process, and the
    /// unfinished resumable uploads (whose rows hold their slots across restarts) — so N
    /// parallel uploads to a link with one slot left get one reservation; the others fail
    /// with [`StoreError::GuestLinkInactive`] without sending their files. Unknown link:
    /// [`StoreError::NotFound`].
    pub fn reserve_guest_upload(
        &self,
        id: &GuestLinkId,
        now: Timestamp,
    ) -> Result<GuestUploadSlot<'_>, StoreError> {
        let mut slots = lock(&self.guest_slots);
        let link = self.guest_link(id, now)?;
        let in_flight = slots.get(id.as_str()).copied().unwrap_or(0)
            + self.unfinished_guest_uploads(id, now)?;
        if !link.accepts(now, in_flight) {
            return Err(StoreError::GuestLinkInactive);
        }
        *slots.entry(id.as_str().to_owned()).or_insert(0) += 1;
        Ok(GuestUploadSlot {
            store: self,
            link,
            in_memory: true,
        })
    }

    /// The slot a resumable upload's row holds on `link` (reserved when the upload was
    /// created), for the final check when the upload completes. Dropping it gives nothing
    /// back: the row does, when it completes, expires or is cancelled.
    pub fn resumable_slot(&self, link: GuestLink) -> GuestUploadSlot<'_> {
        GuestUploadSlot {
            store: self,
            link,
            in_memory: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::GoDuration;
    use crate::model::NewEntry;
    use crate::model::{Filename, Note};
    use crate::spool::Spool;
    use crate::store::test_support::{count, temp_store};
    use crate::store::{Upload, Uploader};
    use std::sync::{Arc, Barrier};

    fn now() -> Timestamp {
        Timestamp::from_unix(1_800_000_000)
    }

    fn new_link(max_uploads: Option<u64>) -> NewGuestLink {
        NewGuestLink {
            label: String::new(),
            max_file_bytes: Some(1 << 20),
            max_file_uploads: max_uploads,
            url_expiration: now().plus_secs(86_400),
            file_lifetime: FileLifetime::Finite(GoDuration::from_hours(168)),
        }
    }

    fn guest_file(at: Timestamp) -> NewEntry {
        NewEntry {
            filename: Filename::parse("g.bin").unwrap(),
            content_type: "application/octet-stream".into(),
            upload_time: at,
            expiration: at.plus_secs(7 * 86_400),
            guest_link_id: None,
            note: Note::none(),
            download_passphrase: None,
            max_downloads: None,
        }
    }

    fn spool(dir: &std::path::Path, data: &[u8]) -> Spool {
        let mut s = Spool::new(16, 5);
        s.fill_from(&mut &data[..], dir, None).unwrap();
        s
    }

    #[test]
    fn links_are_stored_in_picoshares_encodings() {
        let t = temp_store(5);
        let id = t
            .store
            .insert_guest_link(
                &NewGuestLink {
                    label: String::new(),
                    max_file_bytes: None,
                    max_file_uploads: None,
                    url_expiration: Timestamp::never(),
                    file_lifetime: FileLifetime::Never,
                },
                now(),
            )
            .unwrap();
        let row: (Option<String>, Option<i64>, String, String, String, i64) = t
            .store
            .writer()
            .query_row(
                "SELECT label, max_file_bytes, creation_time, url_expiration_time, \
                 file_expiration_time, is_disabled FROM guest_links WHERE id = ?1",
                [id.as_str()],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .unwrap();
        assert_eq!(
            row,
            (
                Some(String::new()),
                None,
                "2027-01-15T08:00:00Z".into(),
                "2999-12-31T00:00:00Z".into(),
                "876000h0m0s".into(),
                0
            )
        );
        let link = t.store.guest_link(&id, now()).unwrap();
        assert!(link.is_active(now()));
        assert_eq!(link.file_lifetime, FileLifetime::Never);
        t.store.set_guest_link_disabled(&id, true).unwrap();
        t.store.set_guest_link_disabled(&id, true).unwrap();
        assert!(!t.store.guest_link(&id, now()).unwrap().is_active(now()));
        let unknown = GuestLinkId::random();
        assert!(matches!(
            t.store.set_guest_link_disabled(&unknown, false),
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            t.store.guest_link(&unknown, now()),
            Err(StoreError::NotFound)
        ));
    }

    #[test]
    fn links_list_newest_first_and_count_only_live_files() {
        let t = temp_store(5);
        let older = t
            .store
            .insert_guest_link(&new_link(Some(2)), now())
            .unwrap();
        let newer = t
            .store
            .insert_guest_link(&new_link(None), now().plus_secs(1))
            .unwrap();
        let page = |offset, limit| -> Vec<GuestLinkId> {
            t.store
                .guest_links_page(now(), offset, limit)
                .unwrap()
                .into_iter()
                .map(|l| l.id)
                .collect()
        };
        assert_eq!(page(0, 10), [newer.clone(), older.clone()]);
        assert_eq!(page(1, 1), std::slice::from_ref(&older));
        assert!(page(2, 1).is_empty());
        assert_eq!(t.store.guest_link_total().unwrap(), 2);
        for _ in 0..2 {
            let slot = t.store.reserve_guest_upload(&older, now()).unwrap();
            let mut s = spool(&t.dir, b"guest data");
            Upload::begin(&t.store, Uploader::Guest(&slot))
                .finish(&mut s, &guest_file(now()))
                .unwrap();
        }
        let link = t.store.guest_link(&older, now()).unwrap();
        assert_eq!(link.uploads_used, 2);
        assert!(!link.is_active(now()));
        assert!(matches!(
            t.store.reserve_guest_upload(&older, now()),
            Err(StoreError::GuestLinkInactive)
        ));
        // Once its files have expired, the slots are free again.
        let later = now().plus_secs(8 * 86_400);
        assert_eq!(t.store.guest_link(&older, later).unwrap().uploads_used, 0);
    }

    #[test]
    fn deleting_a_link_keeps_its_files() {
        let t = temp_store(5);
        let link = t.store.insert_guest_link(&new_link(None), now()).unwrap();
        let slot = t.store.reserve_guest_upload(&link, now()).unwrap();
        let mut s = spool(&t.dir, b"kept after the link goes");
        let file = Upload::begin(&t.store, Uploader::Guest(&slot))
            .finish(&mut s, &guest_file(now()))
            .unwrap();
        drop(slot);
        assert_eq!(
            t.store.entry(&file, now()).unwrap().guest_link_id,
            Some(link.clone())
        );
        t.store.delete_guest_link(&link).unwrap();
        t.store.delete_guest_link(&link).unwrap();
        let meta = t.store.entry(&file, now()).unwrap();
        assert_eq!(meta.guest_link_id, None);
        assert_eq!(meta.size, 24);
        assert_eq!(count(&t, "SELECT COUNT(*) FROM guest_links"), 0);
    }

    #[test]
    fn the_final_check_refuses_a_file_when_the_link_stopped_accepting() {
        let t = temp_store(5);
        let link = t
            .store
            .insert_guest_link(&new_link(Some(1)), now())
            .unwrap();
        let slot = t.store.reserve_guest_upload(&link, now()).unwrap();
        // Meanwhile the admin disables the link.
        t.store.set_guest_link_disabled(&link, true).unwrap();
        let mut s = spool(&t.dir, &[7u8; 37]);
        assert!(matches!(
            Upload::begin(&t.store, Uploader::Guest(&slot)).finish(&mut s, &guest_file(now())),
            Err(StoreError::GuestLinkInactive)
        ));
        assert_eq!(count(&t, "SELECT COUNT(*) FROM entries"), 0);
        assert_eq!(count(&t, "SELECT COUNT(*) FROM entries_data"), 0);
        drop(slot);
        assert!(lock(&t.store.guest_slots).is_empty(), "slot given back");
    }

    #[test]
    fn parallel_uploads_to_the_last_slot_store_exactly_one_file() {
        let t = temp_store(5);
        let link = t
            .store
            .insert_guest_link(&new_link(Some(3)), now())
            .unwrap();
        for _ in 0..2 {
            let slot = t.store.reserve_guest_upload(&link, now()).unwrap();
            let mut s = spool(&t.dir, b"earlier");
            Upload::begin(&t.store, Uploader::Guest(&slot))
                .finish(&mut s, &guest_file(now()))
                .unwrap();
        }
        let barrier = Arc::new(Barrier::new(8));
        let results: Vec<bool> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let barrier = Arc::clone(&barrier);
                    let (store, dir, link) = (&t.store, &t.dir, &link);
                    scope.spawn(move || {
                        barrier.wait();
                        let Ok(slot) = store.reserve_guest_upload(link, now()) else {
                            return false;
                        };
                        let mut s = spool(dir, &[1u8; 23]);
                        Upload::begin(store, Uploader::Guest(&slot))
                            .finish(&mut s, &guest_file(now()))
                            .is_ok()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(results.iter().filter(|ok| **ok).count(), 1);
        assert_eq!(count(&t, "SELECT COUNT(*) FROM entries"), 3);
    }
}
