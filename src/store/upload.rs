//! An upload from its first byte to its `entries` row, in one place: [`Upload::begin`] for an
//! [`Uploader`] (the admin, or a guest on a reserved link slot), [`Upload::feed`] with the
//! file's bytes as they arrive (spool → chunk writer, so the copy into SQLite overlaps
//! receipt), and [`Upload::finish`], which writes the last chunks, checks the uploader and
//! inserts the `entries` row in one transaction. Until then the file is invisible; an upload
//! dropped unfinished leaves no rows. A guest's upload also stops before it would leave less
//! free disk than the guests' floor.
//!
//! Chunks first and the metadata row last, in short transactions rather than one per file (a
//! transaction the size of the file would grow the WAL by as much), as PicoShare does; after a
//! crash, the collector removes chunks that belong to no file.

use std::io::Read;
use std::path::Path;

use super::chunk_writer::ChunkWriter;
use super::guest_links::GuestUploadSlot;
use super::versions::Replacement;
use super::Store;
use crate::error::StoreError;
use crate::model::{EntryId, NewEntry, TokenId};
use crate::spool::{Filled, Spool, SpoolError};

/// Who is uploading, and so what must still hold when the file is committed.
#[derive(Clone, Copy)]
pub enum Uploader<'a> {
    /// The admin: nothing more to check.
    Admin,
    /// A guest, on the link whose slot was reserved before the body was read. The link must
    /// still accept the file in the transaction that commits it (so its upload count holds
    /// under concurrent uploads), and the file is recorded as the link's.
    Guest(&'a GuestUploadSlot<'a>),
    /// A script with an API token (either scope): uploads as the admin does, and the file is
    /// recorded as the token's (`rs_token_uploads`) in the same transaction. A token revoked
    /// meanwhile fails the commit, so nothing is stored.
    Token(&'a TokenId),
    /// The admin, replacing the bytes of an existing file (issue 20): committing swaps them in
    /// (see [`super::versions`]); the file keeps its id, note, expiration and history.
    Replacing(&'a EntryId),
}

impl Uploader<'_> {
    /// The most bytes this uploader's file may have: the guest link's cap, if any.
    pub fn max_file_bytes(&self) -> Option<u64> {
        match self {
            Uploader::Admin | Uploader::Token(_) | Uploader::Replacing(_) => None,
            Uploader::Guest(slot) => slot.link.max_file_bytes,
        }
    }
}

/// One upload in progress.
pub struct Upload<'a> {
    store: &'a Store,
    writer: ChunkWriter<'a>,
    uploader: Uploader<'a>,
}

impl<'a> Upload<'a> {
    /// Starts an upload for `uploader` under a fresh file id.
    pub fn begin(store: &'a Store, uploader: Uploader<'a>) -> Self {
        Upload {
            store,
            writer: ChunkWriter::begin(store),
            uploader,
        }
    }

    /// Receives `file` into `spool` (its temp file in `dir`; more than `max` bytes fail). Each
    /// time a batch of whole chunks waits in the temp file, the chunk writer moves them into
    /// SQLite in one transaction and the spool gives their space back, so the temp file stays
    /// a window of a few MiB. What is left after the end waits for [`Upload::finish`].
    pub fn feed(
        &mut self,
        spool: &mut Spool,
        file: &mut dyn Read,
        dir: &Path,
        max: Option<u64>,
    ) -> Result<(), SpoolError> {
        let settings = self.store.settings();
        let chunk = settings.chunk_size as u64;
        let batch = settings.copy_batch_bytes.max(settings.chunk_size) as u64;
        while spool.fill_until(file, dir, max, batch)? == Filled::Batch {
            let whole_chunks = spool.ready() / chunk * chunk;
            self.check_disk_floor(spool, whole_chunks)
                .map_err(SpoolError::Store)?;
            self.writer
                .write(spool, whole_chunks)
                .map_err(SpoolError::Store)?;
            spool.release_read();
        }
        Ok(())
    }

    /// Stores the rest of `spool` as the file `new` and returns its id. In the transaction of
    /// the last chunks (under the writer lock): a guest's link is checked once more
    /// ([`StoreError::GuestLinkInactive`] if it stopped accepting uploads meanwhile), then the
    /// `entries` row goes in. If anything fails, nothing of the file stays.
    ///
    /// A replacement ([`Uploader::Replacing`]) takes only `new`'s name, type and upload time,
    /// and returns the replaced file's id; [`StoreError::NotFound`] if it was deleted
    /// meanwhile (then the new bytes are dropped and the old file, if any, is untouched).
    pub fn finish(self, spool: &mut Spool, new: &NewEntry) -> Result<EntryId, StoreError> {
        self.check_disk_floor(spool, spool.remaining())?;
        let store = self.store;
        let uploader = self.uploader;
        let mut retired = None;
        let id = self.writer.finish(spool, |tx, id| match uploader {
            Uploader::Admin => super::entries::insert_row(tx, id, new),
            Uploader::Guest(slot) => {
                slot.still_accepts(tx, new.upload_time)?;
                let mut new = new.clone();
                new.guest_link_id = Some(slot.link.id.clone());
                super::entries::insert_row(tx, id, &new)
            }
            Uploader::Token(token) => {
                super::entries::insert_row(tx, id, new)?;
                super::tokens::record_upload(tx, id, token)
            }
            Uploader::Replacing(target) => {
                let replacement = Replacement {
                    filename: &new.filename,
                    content_type: &new.content_type,
                    upload_time: new.upload_time,
                };
                retired = Some(super::versions::swap_in(tx, target, id, &replacement)?);
                Ok(())
            }
        })?;
        match (uploader, retired) {
            (Uploader::Replacing(target), Some(version)) => {
                // The old bytes go at once unless a download still reads them.
                if let Err(e) = store.release_retired(target.as_str(), version) {
                    eprintln!("picoshare: could not remove a replaced file's old chunks: {e}");
                }
                Ok(target.clone())
            }
            _ => Ok(id),
        }
    }

    /// A guest's upload stops ([`StoreError::DiskFloor`]) before moving `more` bytes from
    /// the spool into the database would leave less free disk than the guest floor: free
    /// space now, plus what the spool's temp file gives back when the upload ends, plus free
    /// pages inside the database that the chunks will reuse. (The admin's uploads are checked
    /// against their lower floor before the body is read, see `multipart.rs`.)
    fn check_disk_floor(&self, spool: &Spool, more: u64) -> Result<(), StoreError> {
        let floor = self.store.settings().guest_disk_floor;
        if !matches!(self.uploader, Uploader::Guest(_)) || floor == 0 {
            return Ok(());
        }
        let free = crate::disk::available_bytes(self.store.path())?
            .saturating_add(spool.disk_bytes())
            .saturating_add(self.store.reclaimable_bytes().unwrap_or(0));
        if free < floor.saturating_add(more) {
            return Err(StoreError::DiskFloor(floor));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;
    use crate::store::test_support::{never_expiring, temp_store, TempStore};

    fn count(t: &TempStore, sql: &str) -> i64 {
        t.store.writer().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn chunks_move_into_sqlite_while_the_file_still_arrives() {
        // Chunks of 5 bytes, batches of 15, a 16-byte buffer: 400 bytes in 26 buffers.
        let t = temp_store(5);
        let now = Timestamp::from_unix(1_800_000_000);
        let data: Vec<u8> = (0..400).map(|i| (i % 251) as u8).collect();
        let mut upload = Upload::begin(&t.store, Uploader::Admin);
        let mut spool = Spool::new(16, 5);
        upload
            .feed(&mut spool, &mut &data[..], &t.dir, None)
            .unwrap();
        let rows = count(&t, "SELECT COUNT(*) FROM entries_data");
        assert!(rows >= 70, "copied while receiving: {rows} rows");
        assert!(spool.ready() < 20, "the temp file is a window");
        assert_eq!(count(&t, "SELECT COUNT(*) FROM entries"), 0, "invisible");
        let id = upload
            .finish(&mut spool, &never_expiring("f.bin", now))
            .unwrap();
        let mut back = Vec::new();
        t.store
            .open_reader(&id, 0, 0, 400)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        assert_eq!(t.store.entry(&id, now).unwrap().guest_link_id, None);
    }

    #[test]
    fn an_upload_dropped_unfinished_leaves_nothing() {
        let t = temp_store(5);
        let data = vec![3u8; 400];
        let mut upload = Upload::begin(&t.store, Uploader::Admin);
        let mut spool = Spool::new(16, 5);
        upload
            .feed(&mut spool, &mut &data[..], &t.dir, None)
            .unwrap();
        assert!(count(&t, "SELECT COUNT(*) FROM entries_data") > 0);
        drop(upload);
        assert_eq!(count(&t, "SELECT COUNT(*) FROM entries_data"), 0);
        // Over the cap: the feed fails, and nothing stays either.
        let mut upload = Upload::begin(&t.store, Uploader::Admin);
        let mut spool = Spool::new(16, 5);
        let over = upload.feed(&mut spool, &mut &data[..], &t.dir, Some(399));
        assert!(matches!(over, Err(SpoolError::TooLarge(399))));
        drop(upload);
        assert_eq!(count(&t, "SELECT COUNT(*) FROM entries_data"), 0);
    }
}
