//! Resumable (tus) uploads' rows, `rs_tus_uploads` (a table of ours): created with what the
//! client said, moved on by every write in the same transaction as the chunks it stores (a
//! compare-and-set on the offset, so two requests can never both write the same bytes),
//! marked complete in the transaction that inserts the file, and removed — with the chunks of
//! an unfinished one — when cancelled or expired. The bytes themselves go through
//! [`super::Upload`] and the chunk writer, like an ordinary upload's.
//!
//! While a row is unfinished, its chunks (`entries_data` rows under its `entry_id`) belong to
//! it: the collector's orphan rule leaves them alone ([`UNFINISHED_CHUNKS`]).

use rusqlite::{params, OptionalExtension, Row, Transaction, MAIN_DB};

use super::{Store, Uploader};
use crate::error::StoreError;
use crate::model::{
    DownloadPassphrase, EntryId, Filename, GuestLinkId, MaxDownloads, NewResumable, Note,
    Resumable, Timestamp, TokenId, UploadId,
};

/// The chunk ids that belong to unfinished resumable uploads, for the collector's orphan rule:
/// `entries_data` rows whose `id` is in this set are not orphans, whatever their age.
pub const UNFINISHED_CHUNKS: &str =
    "SELECT entry_id FROM rs_tus_uploads WHERE completion_time IS NULL";

const COLUMNS: &str = "id, entry_id, chunk_size, upload_length, upload_offset, LENGTH(tail), \
     metadata, filename, content_type, note, download_passphrase, expiration_time, \
     guest_link_id, expires_time, completion_time, token_id, max_downloads";

fn from_row(r: &Row) -> rusqlite::Result<Resumable> {
    let time = |i: usize| -> rusqlite::Result<Option<Timestamp>> {
        Ok(r.get::<_, Option<String>>(i)?
            .as_deref()
            .and_then(Timestamp::parse_rfc3339))
    };
    let count = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
    Ok(Resumable {
        id: UploadId::from_db(r.get(0)?),
        entry_id: EntryId::from_db(r.get(1)?),
        chunk_size: count(2)?.max(1) as usize,
        offset: count(4)?,
        tail_len: count(5)? as usize,
        new: NewResumable {
            length: count(3)?,
            metadata: r.get(6)?,
            filename: Filename::from_db(r.get(7)?),
            content_type: r.get(8)?,
            note: Note::from_db(r.get(9)?),
            download_passphrase: r
                .get::<_, Option<String>>(10)?
                .map(DownloadPassphrase::from_db),
            expiration: time(11)?,
            max_downloads: r
                .get::<_, Option<i64>>(16)?
                .and_then(|n| MaxDownloads::new(n, u64::MAX).ok()),
        },
        guest_link_id: r.get::<_, Option<String>>(12)?.map(GuestLinkId::from_db),
        expires: time(13)?.unwrap_or(Timestamp::from_unix(0)),
        completed: time(14)?,
        token_id: r.get::<_, Option<String>>(15)?.map(TokenId::from_db),
    })
}

fn db_int(n: u64) -> i64 {
    n.min(i64::MAX as u64) as i64
}

/// In `tx` (a write of the upload's bytes): records that upload `id`, which held `from` bytes,
/// now holds `to` — whole chunks, then `tail` — and expires at `expires`. Fails with
/// [`StoreError::Conflict`] if it no longer holds `from` bytes (another request wrote first)
/// or [`StoreError::NotFound`] if it is gone (cancelled, expired, its guest link deleted); the
/// transaction must then be rolled back, with the chunks it wrote.
pub(super) fn advance(
    tx: &Transaction,
    id: &UploadId,
    (from, to): (u64, u64),
    tail: &[u8],
    expires: Timestamp,
) -> Result<(), StoreError> {
    let n = tx
        .prepare_cached(
            "UPDATE rs_tus_uploads SET upload_offset = ?3, tail = ?4, expires_time = ?5 \
             WHERE id = ?1 AND upload_offset = ?2 AND completion_time IS NULL",
        )?
        .execute(params![
            id.as_str(),
            db_int(from),
            db_int(to),
            tail,
            expires.rfc3339()
        ])?;
    if n == 1 {
        Ok(())
    } else {
        Err(why_not_at(tx, id))
    }
}

/// In `tx` (the transaction that inserts the file): marks upload `id`, which held `from`
/// bytes, complete at `now`, kept until `expires` so its client can still learn how it ended.
/// Fails as [`advance`] does.
pub(super) fn complete(
    tx: &Transaction,
    id: &UploadId,
    from: u64,
    now: Timestamp,
    expires: Timestamp,
) -> Result<(), StoreError> {
    let n = tx
        .prepare_cached(
            "UPDATE rs_tus_uploads SET upload_offset = upload_length, tail = x'', \
             completion_time = ?3, expires_time = ?4 \
             WHERE id = ?1 AND upload_offset = ?2 AND completion_time IS NULL",
        )?
        .execute(params![
            id.as_str(),
            db_int(from),
            now.rfc3339(),
            expires.rfc3339()
        ])?;
    if n == 1 {
        Ok(())
    } else {
        Err(why_not_at(tx, id))
    }
}

/// Why a compare-and-set on upload `id` found nothing: it is gone, or somewhere else.
fn why_not_at(tx: &Transaction, id: &UploadId) -> StoreError {
    let exists = tx
        .prepare_cached("SELECT 1 FROM rs_tus_uploads WHERE id = ?1")
        .and_then(|mut st| st.query_row([id.as_str()], |_| Ok(())).optional());
    match exists {
        Ok(Some(())) => StoreError::Conflict,
        Ok(None) => StoreError::NotFound,
        Err(e) => e.into(),
    }
}

impl Store {
    /// Creates a resumable upload of `new` for `uploader` at `now`, expiring at `expires`
    /// unless written to. A guest's must come with a slot reserved on the link (see
    /// [`Store::reserve_guest_upload`]); once the row exists it holds that slot itself (until
    /// the upload completes, expires or is cancelled, across restarts), and the caller drops
    /// the reservation.
    pub fn create_resumable(
        &self,
        uploader: Uploader,
        new: &NewResumable,
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<Resumable, StoreError> {
        let id = UploadId::random();
        let entry_id = EntryId::random();
        let chunk_size = self.settings().chunk_size;
        let (guest_link_id, token_id) = match uploader {
            Uploader::Admin | Uploader::Replacing(_) => (None, None),
            Uploader::Guest(slot) => (Some(slot.link.id.clone()), None),
            Uploader::Token(token) => (None, Some(token.clone())),
        };
        self.writer().execute(
            "INSERT INTO rs_tus_uploads (id, entry_id, chunk_size, upload_length, metadata, \
             filename, content_type, note, download_passphrase, expiration_time, \
             guest_link_id, creation_time, expires_time, token_id, max_downloads) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                id.as_str(),
                entry_id.as_str(),
                chunk_size as i64,
                db_int(new.length),
                new.metadata,
                new.filename.as_str(),
                new.content_type,
                new.note.as_deref(),
                new.download_passphrase.as_ref().map(|p| p.as_str()),
                new.expiration.map(Timestamp::rfc3339),
                guest_link_id.as_ref().map(|g| g.as_str()),
                now.rfc3339(),
                expires.rfc3339(),
                token_id.as_ref().map(|t| t.as_str()),
                new.max_downloads.map(|m| db_int(m.get())),
            ],
        )?;
        Ok(Resumable {
            id,
            entry_id,
            chunk_size,
            offset: 0,
            tail_len: 0,
            new: new.clone(),
            guest_link_id,
            token_id,
            expires,
            completed: None,
        })
    }

    /// Resumable upload `id` as stored (expired or not). [`StoreError::NotFound`] if unknown.
    pub fn resumable(&self, id: &UploadId) -> Result<Resumable, StoreError> {
        Ok(self
            .reader()?
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM rs_tus_uploads WHERE id = ?1"
            ))?
            .query_row([id.as_str()], from_row)?)
    }

    /// Copies upload `id`'s tail (its acknowledged bytes after the last whole chunk) into the
    /// start of `out` and returns its length, straight from SQLite's pages (incremental BLOB
    /// I/O: no copy of ours). The tail must fit in `out`.
    pub(super) fn read_tail(&self, id: &UploadId, out: &mut [u8]) -> Result<usize, StoreError> {
        let mut conn = self.take_reader()?;
        let read = (|| {
            let tx = conn.transaction()?;
            let (rowid, len): (i64, i64) = tx
                .prepare_cached("SELECT rowid, LENGTH(tail) FROM rs_tus_uploads WHERE id = ?1")?
                .query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let len = len.max(0) as usize;
            if len > out.len() {
                return Err(StoreError::Io(std::io::Error::other(
                    "an upload's tail is longer than its chunk",
                )));
            }
            let blob = tx.blob_open(MAIN_DB, c"rs_tus_uploads", c"tail", rowid, true)?;
            blob.read_at_exact(&mut out[..len], 0)?;
            drop(blob);
            tx.commit()?;
            Ok(len)
        })();
        self.return_reader(conn);
        read
    }

    /// Undoes what one request wrote to `upload` when it turns out it sent more than the
    /// upload lacked: the upload, now at `now_at` bytes, goes back to where the request found
    /// it (`upload.offset`, with the tail it had then, folded since into the first chunk the
    /// request wrote), and the chunks that request wrote go — in one transaction, so no other
    /// request can slip in between. Nothing of the request is left. If another request has
    /// moved the upload on meanwhile, what is there is that one's and stays.
    pub(super) fn rewind_resumable(
        &self,
        upload: &Resumable,
        now_at: u64,
    ) -> Result<(), StoreError> {
        if now_at == upload.offset {
            return Ok(());
        }
        let first_chunk = db_int(upload.whole_chunks());
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE rs_tus_uploads SET upload_offset = ?3, tail = COALESCE(\
             (SELECT substr(chunk, 1, ?4) FROM entries_data \
              WHERE id = ?5 AND chunk_index = ?6), x'') \
             WHERE id = ?1 AND upload_offset = ?2 AND completion_time IS NULL",
            params![
                upload.id.as_str(),
                db_int(now_at),
                db_int(upload.offset),
                upload.tail_len as i64,
                upload.entry_id.as_str(),
                first_chunk,
            ],
        )?;
        if n == 1 {
            super::chunk_writer::delete_chunks_from(
                &tx,
                upload.entry_id.as_str(),
                upload.whole_chunks(),
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Cancels (tus `DELETE`) upload `id`: its row goes, and the chunks of an unfinished one
    /// with it (a completed one's are its file's, which stays). [`StoreError::NotFound`] if
    /// unknown.
    pub fn terminate_resumable(&self, id: &UploadId) -> Result<(), StoreError> {
        let gone: Option<(String, Option<String>)> = self
            .writer()
            .query_row(
                "DELETE FROM rs_tus_uploads WHERE id = ?1 RETURNING entry_id, completion_time",
                [id.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match gone {
            None => Err(StoreError::NotFound),
            Some((entry_id, None)) => {
                self.delete_chunks(&entry_id)?;
                Ok(())
            }
            Some((_, Some(_))) => Ok(()),
        }
    }

    /// The collector's part: removes every resumable upload expired at `now`, with the
    /// chunks of the unfinished ones. Returns how many unfinished uploads went, and their
    /// chunk rows.
    pub(super) fn expire_resumables(&self, now: Timestamp) -> Result<(u64, u64), StoreError> {
        let unfinished: Vec<String> = {
            let mut conn = self.writer();
            let tx = conn.transaction()?;
            let ids = tx
                .prepare(
                    "DELETE FROM rs_tus_uploads WHERE expires_time <= ?1 \
                     RETURNING entry_id, completion_time IS NULL",
                )?
                .query_map([now.rfc3339()], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            tx.commit()?;
            ids.into_iter()
                .filter(|(_, unfinished)| *unfinished)
                .map(|(id, _)| id)
                .collect()
        };
        let mut chunks = 0;
        for id in &unfinished {
            chunks += self.delete_chunks(id)?;
        }
        Ok((unfinished.len() as u64, chunks))
    }

    /// Unfinished resumable uploads and the bytes they hold (acknowledged, not yet a file).
    pub fn resumable_usage(&self) -> Result<(u64, u64), StoreError> {
        let (n, bytes): (i64, i64) = self.reader()?.query_row(
            "SELECT COUNT(*), COALESCE(SUM(upload_offset), 0) FROM rs_tus_uploads \
             WHERE completion_time IS NULL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((n.max(0) as u64, bytes.max(0) as u64))
    }

    /// Unfinished resumable uploads on guest link `link` that have not expired at `now`: the
    /// upload slots they hold.
    pub fn unfinished_guest_uploads(
        &self,
        link: &GuestLinkId,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let n: i64 = self
            .reader()?
            .prepare_cached(
                "SELECT COUNT(*) FROM rs_tus_uploads WHERE guest_link_id = ?1 \
                 AND completion_time IS NULL AND expires_time > ?2",
            )?
            .query_row(params![link.as_str(), now.rfc3339()], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{self, Read};

    use super::*;
    use crate::duration::{FileLifetime, GoDuration};
    use crate::model::{NewEntry, NewGuestLink};
    use crate::store::test_support::{count, temp_store, TempStore};
    use crate::store::{AppendError, Appended, Upload};

    fn now() -> Timestamp {
        Timestamp::from_unix(1_800_000_000)
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 13 % 251) as u8).collect()
    }

    fn new(length: u64) -> NewResumable {
        NewResumable {
            length,
            metadata: "filename Zi5iaW4=".into(),
            filename: Filename::parse("f.bin").unwrap(),
            content_type: "application/octet-stream".into(),
            note: Note::none(),
            download_passphrase: None,
            expiration: None,
            max_downloads: None,
        }
    }

    fn entry(u: &Resumable) -> NewEntry {
        u.new_entry(now(), Timestamp::never())
    }

    /// Appends `body` to upload `id` as the admin, as one request does.
    fn append(t: &TempStore, id: &UploadId, body: &mut dyn Read) -> Result<Appended, AppendError> {
        let mut u = t.store.resumable(id).unwrap();
        let new = entry(&u);
        Upload::resume(&t.store, &u.clone(), Uploader::Admin).append(
            &mut u,
            body,
            &new,
            now().plus_secs(60),
        )
    }

    fn file(t: &TempStore, id: &EntryId) -> Vec<u8> {
        let mut out = Vec::new();
        let e = t.store.entry(id, now()).unwrap();
        t.store
            .open_reader(id, e.version, 0, e.size)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    /// Gives `ok` bytes, then fails: a client that went away.
    struct Cut<'a>(&'a [u8]);

    impl Read for Cut<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut"));
            }
            let n = buf.len().min(self.0.len()).min(3);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn issue_19_a_file_arrives_over_many_requests_split_anywhere() {
        // Chunks of 5 bytes; requests of every size from 1 to 12 bytes, so the splits fall
        // inside chunks, on their edges and across several.
        let t = temp_store(5);
        let file_bytes = data(61);
        for step in 1..=12 {
            let u = t
                .store
                .create_resumable(Uploader::Admin, &new(61), now(), now().plus_secs(60))
                .unwrap();
            let mut at = 0;
            let id = loop {
                let end = (at + step).min(61);
                let got = append(&t, &u.id, &mut &file_bytes[at..end]).unwrap();
                at = end;
                let stored = t.store.resumable(&u.id).unwrap();
                assert_eq!(stored.offset, at as u64, "step {step}");
                if let Appended::Completed(id) = got {
                    assert_eq!(at, 61);
                    break id;
                }
                assert_eq!(
                    stored.tail_len,
                    at % 5,
                    "the tail is what follows whole chunks"
                );
                assert_eq!(
                    count(&t, "SELECT COUNT(*) FROM entries"),
                    0,
                    "invisible until done"
                );
            };
            assert_eq!(id, u.entry_id);
            assert_eq!(file(&t, &id), file_bytes, "step {step}");
            let done = t.store.resumable(&u.id).unwrap();
            assert_eq!((done.offset, done.tail_len), (61, 0));
            assert!(done.completed.is_some());
            t.store.delete_entry(&id).unwrap();
        }
    }

    #[test]
    fn issue_19_a_cut_request_keeps_what_arrived_and_the_upload_resumes_there() {
        let t = temp_store(5);
        let file_bytes = data(23);
        let u = t
            .store
            .create_resumable(Uploader::Admin, &new(23), now(), now().plus_secs(60))
            .unwrap();
        let got = append(&t, &u.id, &mut Cut(&file_bytes[..13]));
        assert!(matches!(got, Err(AppendError::Body(_))), "{got:?}");
        let stored = t.store.resumable(&u.id).unwrap();
        assert_eq!((stored.offset, stored.tail_len), (13, 3));
        assert_eq!(
            count(&t, "SELECT COUNT(*) FROM entries_data"),
            2,
            "two whole chunks"
        );
        let got = append(&t, &u.id, &mut &file_bytes[13..]).unwrap();
        let Appended::Completed(id) = got else {
            panic!("{got:?}")
        };
        assert_eq!(file(&t, &id), file_bytes);
    }

    /// Every chunk row, in order of its index.
    fn all_chunks(t: &crate::store::test_support::TempStore) -> Vec<(i64, Vec<u8>)> {
        let conn = t.store.writer();
        let mut st = conn
            .prepare("SELECT chunk_index, chunk FROM entries_data ORDER BY 1")
            .unwrap();
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.map(Result::unwrap).collect()
    }

    #[test]
    fn issue_19_a_body_longer_than_what_is_lacking_leaves_nothing_of_its_request() {
        let t = temp_store(5);
        let file_bytes = data(30);
        let u = t
            .store
            .create_resumable(Uploader::Admin, &new(30), now(), now().plus_secs(60))
            .unwrap();
        append(&t, &u.id, &mut &file_bytes[..7]).unwrap();
        let before = all_chunks(&t);
        // 7 bytes held (one chunk and a tail of 2); 24 more come where 23 are lacking, after
        // several whole chunks were written.
        let mut long = file_bytes[7..].to_vec();
        long.push(0);
        assert!(matches!(
            append(&t, &u.id, &mut &long[..]),
            Err(AppendError::TooLong)
        ));
        let stored = t.store.resumable(&u.id).unwrap();
        assert_eq!(
            (stored.offset, stored.tail_len),
            (7, 2),
            "back where it was"
        );
        let after = all_chunks(&t);
        assert_eq!(after, before, "the chunks it wrote are gone");
        let Appended::Completed(id) = append(&t, &u.id, &mut &file_bytes[7..]).unwrap() else {
            panic!("not completed")
        };
        assert_eq!(file(&t, &id), file_bytes);
    }

    #[test]
    fn issue_19_two_requests_from_the_same_offset_cannot_both_write() {
        let t = temp_store(5);
        let file_bytes = data(20);
        let u = t
            .store
            .create_resumable(Uploader::Admin, &new(20), now(), now().plus_secs(60))
            .unwrap();
        // Both load the upload at offset 0; the first writes, the second must not — whether
        // it finds the tail changed (the first left one) or only the offset (it did not).
        for (first_bytes, at) in [(10, 0), (2, 10)] {
            let mut first = t.store.resumable(&u.id).unwrap();
            let mut second = first.clone();
            let new_entry = entry(&first);
            let a = Upload::resume(&t.store, &first.clone(), Uploader::Admin).append(
                &mut first,
                &mut &file_bytes[at..at + first_bytes],
                &new_entry,
                now().plus_secs(60),
            );
            assert_eq!(a.unwrap(), Appended::Stored);
            let b = Upload::resume(&t.store, &second.clone(), Uploader::Admin).append(
                &mut second,
                &mut &[9u8; 7][..],
                &new_entry,
                now().plus_secs(60),
            );
            assert!(
                matches!(b, Err(AppendError::Store(StoreError::Conflict))),
                "{b:?}"
            );
        }
        let new_entry = entry(&t.store.resumable(&u.id).unwrap());
        let Appended::Completed(id) = append(&t, &u.id, &mut &file_bytes[12..]).unwrap() else {
            panic!("not completed")
        };
        assert_eq!(
            file(&t, &id),
            file_bytes,
            "the second request's bytes are nowhere"
        );
        // Cancelled or expired meanwhile: the write finds it gone.
        let gone = t
            .store
            .create_resumable(Uploader::Admin, &new(20), now(), now().plus_secs(60))
            .unwrap();
        let mut stale = gone.clone();
        t.store.terminate_resumable(&gone.id).unwrap();
        let c = Upload::resume(&t.store, &stale.clone(), Uploader::Admin).append(
            &mut stale,
            &mut &file_bytes[..12],
            &new_entry,
            now().plus_secs(60),
        );
        assert!(
            matches!(c, Err(AppendError::Store(StoreError::NotFound))),
            "{c:?}"
        );
        assert_eq!(
            count(&t, "SELECT COUNT(*) FROM entries_data"),
            4,
            "the finished file's chunks alone"
        );
    }

    #[test]
    fn issue_19_unfinished_uploads_hold_their_chunks_and_guest_slots_until_they_expire() {
        let t = temp_store(5);
        let link = t
            .store
            .insert_guest_link(
                &NewGuestLink {
                    label: String::new(),
                    max_file_bytes: None,
                    max_file_uploads: Some(2),
                    url_expiration: Timestamp::never(),
                    file_lifetime: FileLifetime::Finite(GoDuration::from_hours(24)),
                },
                now(),
            )
            .unwrap();
        let create = || {
            let slot = t.store.reserve_guest_upload(&link, now())?;
            t.store
                .create_resumable(Uploader::Guest(&slot), &new(10), now(), now().plus_secs(60))
        };
        let a = create().unwrap();
        let b = create().unwrap();
        assert!(
            matches!(create(), Err(StoreError::GuestLinkInactive)),
            "both slots held by rows"
        );
        // `a` holds bytes; the collector leaves them alone while it is unfinished.
        let mut ua = t.store.resumable(&a.id).unwrap();
        let link_now = t.store.guest_link(&link, now()).unwrap();
        let slot = t.store.resumable_slot(link_now);
        let new_entry = entry(&ua);
        Upload::resume(&t.store, &ua.clone(), Uploader::Guest(&slot))
            .append(&mut ua, &mut &data(7)[..], &new_entry, now().plus_secs(60))
            .unwrap();
        let stats = t.store.purge(now()).unwrap();
        assert_eq!((stats.expired_uploads, stats.orphaned_chunks), (0, 0));
        assert_eq!(t.store.resumable_usage().unwrap(), (2, 7));
        // `b` is cancelled: its slot is free again.
        t.store.terminate_resumable(&b.id).unwrap();
        let c = create().unwrap();
        // `a` completes through the row's slot: its file counts now, its row no longer.
        let Appended::Completed(file_id) =
            Upload::resume(&t.store, &ua.clone(), Uploader::Guest(&slot))
                .append(
                    &mut ua,
                    &mut &data(10)[7..],
                    &new_entry,
                    now().plus_secs(60),
                )
                .unwrap()
        else {
            panic!("not completed")
        };
        assert_eq!(
            t.store.entry(&file_id, now()).unwrap().guest_link_id,
            Some(link.clone())
        );
        assert!(matches!(create(), Err(StoreError::GuestLinkInactive)));
        // Past their expiry, `c` (unfinished) goes with its chunks, and `a`'s record goes
        // while its file stays.
        let later = now().plus_secs(61);
        assert_eq!(t.store.unfinished_guest_uploads(&link, later).unwrap(), 0);
        let stats = t.store.purge(later).unwrap();
        assert_eq!(stats.expired_uploads, 1);
        assert!(matches!(
            t.store.resumable(&c.id),
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            t.store.resumable(&a.id),
            Err(StoreError::NotFound)
        ));
        assert_eq!(t.store.entry(&file_id, later).unwrap().size, 10);
        assert_eq!(count(&t, "SELECT COUNT(*) FROM rs_tus_uploads"), 0);
        assert_eq!(t.store.resumable_usage().unwrap(), (0, 0));
    }

    #[test]
    fn issue_19_a_guest_upload_cannot_complete_once_its_link_is_disabled() {
        let t = temp_store(5);
        let link = t
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
        let slot = t.store.reserve_guest_upload(&link, now()).unwrap();
        let u = t
            .store
            .create_resumable(Uploader::Guest(&slot), &new(8), now(), now().plus_secs(60))
            .unwrap();
        drop(slot);
        let slot = t
            .store
            .resumable_slot(t.store.guest_link(&link, now()).unwrap());
        t.store.set_guest_link_disabled(&link, true).unwrap();
        let mut up = t.store.resumable(&u.id).unwrap();
        let new_entry = entry(&up);
        let got = Upload::resume(&t.store, &up.clone(), Uploader::Guest(&slot)).append(
            &mut up,
            &mut &data(8)[..],
            &new_entry,
            now().plus_secs(60),
        );
        assert!(
            matches!(got, Err(AppendError::Store(StoreError::GuestLinkInactive))),
            "{got:?}"
        );
        assert_eq!(count(&t, "SELECT COUNT(*) FROM entries"), 0);
        assert_eq!(
            t.store.resumable(&u.id).unwrap().offset,
            5,
            "the whole chunk before the last stays until the upload is removed"
        );
        t.store.terminate_resumable(&u.id).unwrap();
        assert_eq!(count(&t, "SELECT COUNT(*) FROM entries_data"), 0);
    }
}
