//! An upload from its first byte to its `entries` row, in one place: [`Upload::begin`] for an
//! [`Uploader`] (the admin, or a guest on a reserved link slot), [`Upload::feed`] with the
//! file's bytes as they arrive (spool → chunk writer, so the copy into SQLite overlaps
//! receipt), and [`Upload::finish`], which writes the last chunks, checks the uploader and
//! inserts the `entries` row in one transaction. Until then the file is invisible; an upload
//! dropped unfinished leaves no rows. A guest's upload also stops before it would leave less
//! free disk than the guests' floor.
//!
//! A resumable (tus) upload takes the same path over several requests: [`Upload::resume`]
//! continues its file where the last request left it, and [`Upload::append`] stores one
//! request's bytes — each whole chunk committed with the upload's new offset (its row in
//! `rs_tus_uploads`, see `resumable.rs`), the bytes after the last whole chunk kept in the
//! row's tail, and the last chunk written by the same `finish` as above, with the same check.
//!
//! Chunks first and the metadata row last, in short transactions rather than one per file (a
//! transaction the size of the file would grow the WAL by as much), as PicoShare does; after a
//! crash, the collector removes chunks that belong to no file (and to no unfinished resumable
//! upload).

use std::io::{self, Read};
use std::path::Path;

use rusqlite::Transaction;

use super::chunk_writer::ChunkWriter;
use super::guest_links::GuestUploadSlot;
use super::versions::Replacement;
use super::{resumable, Store};
use crate::error::StoreError;
use crate::model::{EntryId, NewEntry, Resumable, Timestamp, TokenId};
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
        let run = run_bytes(self.store, batch);
        while spool.fill_until(file, dir, max, run)? == Filled::Batch {
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
            Uploader::Replacing(target) => {
                let replacement = Replacement {
                    filename: &new.filename,
                    content_type: &new.content_type,
                    upload_time: new.upload_time,
                };
                retired = Some(super::versions::swap_in(tx, target, id, &replacement)?);
                Ok(())
            }
            _ => commit_entry(tx, id, uploader, new),
        })?;
        // Answered once it would survive a power cut (see `checkpoint.rs`).
        store.wait_for_checkpoint();
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
    /// the spool into the database would leave less free disk than the guest floor (see
    /// [`disk_floor`]), counting what the spool's temp file gives back when the upload ends.
    fn check_disk_floor(&self, spool: &Spool, more: u64) -> Result<(), StoreError> {
        disk_floor(self.store, self.uploader, spool.disk_bytes(), more)
    }

    /// Continues resumable upload `upload` for `uploader` (a guest's holds its slot by its
    /// row: [`Store::resumable_slot`]) where it stands.
    pub fn resume(store: &'a Store, upload: &Resumable, uploader: Uploader<'a>) -> Self {
        Upload {
            store,
            writer: ChunkWriter::resume(
                store,
                upload.entry_id.clone(),
                upload.chunk_size,
                upload.whole_chunks(),
            ),
            uploader,
        }
    }

    /// Stores one request's `body` as the next bytes of `upload` (updated to match), through
    /// one buffer of the upload's chunk size, filled from the network with no lock held:
    ///
    /// - each time it holds a whole chunk, the chunk goes into SQLite in one transaction with
    ///   the upload's new offset, which must still be the one this request started from
    ///   ([`StoreError::Conflict`] otherwise: another request wrote first; nothing of that
    ///   chunk is written);
    /// - when the body ends, the bytes after the last whole chunk become the upload's tail, so
    ///   nothing acknowledged is lost to a restart; the same when reading the body fails
    ///   ([`AppendError::Body`]: the client went away mid-request), keeping what arrived;
    /// - when the last byte of the file has arrived and the body ends there, the last chunk,
    ///   the final check of the uploader, the `entries` row of `new` and the upload's
    ///   completion go in one transaction ([`Appended::Completed`]);
    /// - a body longer than what the upload lacks is refused ([`AppendError::TooLong`]) and
    ///   what this request wrote is undone;
    /// - a guest's upload stops ([`StoreError::DiskFloor`]) before a write would leave less free
    ///   disk than the guests' floor, keeping what it acknowledged before.
    ///
    /// Every write moves the upload's expiry to `expires`.
    pub fn append(
        self,
        upload: &mut Resumable,
        body: &mut dyn Read,
        new: &NewEntry,
        expires: Timestamp,
    ) -> Result<Appended, AppendError> {
        let Upload {
            store,
            mut writer,
            uploader,
        } = self;
        let chunk = upload.chunk_size;
        // Zeroed allocation: pages are only touched as data arrives.
        let mut buf = vec![0u8; chunk];
        let mut filled = store.read_tail(&upload.id, &mut buf)?;
        if filled != upload.tail_len {
            return Err(StoreError::Conflict.into());
        }
        // Where this request found the upload, to go back to if its body is too long.
        let found = upload.clone();
        let (start, lacking) = (upload.offset, upload.lacking());
        // The upload's acknowledged bytes: `base` (whole chunks) plus the first `tail` of `buf`.
        let mut base = start - filled as u64;
        let mut tail = filled;
        let mut received = 0u64;
        let stored = |upload: &mut Resumable, base: u64, tail: usize| {
            upload.offset = base + tail as u64;
            upload.tail_len = tail;
            upload.expires = expires;
        };
        loop {
            if received == lacking {
                // Every byte it lacked is here: the body must end now.
                let mut probe = [0u8; 1];
                if matches!(read_some(body, &mut probe), Ok(n) if n > 0) {
                    store.rewind_resumable(&found, base + tail as u64)?;
                    *upload = found;
                    return Err(AppendError::TooLong);
                }
                let (id, from, now) = (upload.id.clone(), base + tail as u64, new.upload_time);
                disk_floor(store, uploader, 0, (filled - tail) as u64)?;
                let entry = writer.finish(&mut &buf[..filled], |tx, entry| {
                    resumable::complete(tx, &id, from, now, expires)?;
                    commit_entry(tx, entry, uploader, new)
                })?;
                store.wait_for_checkpoint();
                stored(upload, base + filled as u64, 0);
                upload.completed = Some(now);
                return Ok(Appended::Completed(entry));
            }
            if filled == chunk {
                let (from, to) = (base + tail as u64, base + chunk as u64);
                disk_floor(store, uploader, 0, (chunk - tail) as u64)?;
                let id = &upload.id;
                writer.write_then(&mut &buf[..], chunk as u64, |tx| {
                    resumable::advance(tx, id, (from, to), &[], expires)
                })?;
                (base, tail, filled) = (to, 0, 0);
                stored(upload, base, 0);
                continue;
            }
            let room = (chunk - filled).min((lacking - received).min(usize::MAX as u64) as usize);
            match read_some(body, &mut buf[filled..filled + room]) {
                Ok(0) => {
                    if filled > tail {
                        disk_floor(store, uploader, 0, (filled - tail) as u64)?;
                        keep_tail(&mut writer, upload, (base, tail), &buf[..filled], expires)?;
                        stored(upload, base, filled);
                    }
                    return Ok(Appended::Stored);
                }
                Ok(n) => {
                    filled += n;
                    received += n as u64;
                }
                Err(e) => {
                    // Keep what arrived (the client resumes from the offset it then reads);
                    // if even that fails, the reason to report is still the body's.
                    if filled > tail
                        && keep_tail(&mut writer, upload, (base, tail), &buf[..filled], expires)
                            .is_ok()
                    {
                        stored(upload, base, filled);
                    }
                    return Err(AppendError::Body(e));
                }
            }
        }
    }
}

/// A guest's upload stops ([`StoreError::DiskFloor`]) before storing `more` bytes would leave
/// less free disk than the guests' floor: free space now, plus `released` (what the upload
/// gives back when it ends), plus free pages inside the database that the chunks will reuse.
/// (The admin's uploads are checked against their lower floor before the body is read.)
fn disk_floor(
    store: &Store,
    uploader: Uploader,
    released: u64,
    more: u64,
) -> Result<(), StoreError> {
    let floor = store.settings().guest_disk_floor;
    if !matches!(uploader, Uploader::Guest(_)) || floor == 0 {
        return Ok(());
    }
    let free = crate::disk::available_bytes(store.path())?
        .saturating_add(released)
        .saturating_add(store.reclaimable_bytes().unwrap_or(0));
    if free < floor.saturating_add(more) {
        return Err(StoreError::DiskFloor(floor));
    }
    Ok(())
}

/// How much of an upload to spool before copying it in one turn of the writer: the store's
/// `copy_run_bytes`, or a sixteenth of the free disk if that is less (the spool's temp file is
/// disk beside the file), never less than one transaction's `batch`.
fn run_bytes(store: &Store, batch: u64) -> u64 {
    let free = crate::disk::available_bytes(store.path()).unwrap_or(u64::MAX);
    run_for(store.settings().copy_run_bytes as u64, free, batch)
}

/// [`run_bytes`] for a store's `run`, the `free` disk and one transaction's `batch`.
pub(crate) fn run_for(run: u64, free: u64, batch: u64) -> u64 {
    run.min(free / 16).max(batch)
}

/// Makes `bytes` the tail of `upload`, whose acknowledged bytes are `base` (whole chunks) and
/// the first `tail` of them, in a transaction of its own (no chunk is written).
fn keep_tail(
    writer: &mut ChunkWriter,
    upload: &Resumable,
    (base, tail): (u64, usize),
    bytes: &[u8],
    expires: Timestamp,
) -> Result<(), StoreError> {
    let (from, to) = (base + tail as u64, base + bytes.len() as u64);
    writer.write_then(&mut &[][..], 0, |tx| {
        resumable::advance(tx, &upload.id, (from, to), bytes, expires)
    })
}

/// One `read` that retries when interrupted.
fn read_some(body: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match body.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// The last step of every upload, in the transaction of its last chunk: `uploader` may still
/// store it (a guest's link is checked once more, [`StoreError::GuestLinkInactive`]), and the
/// `entries` row of file `id` goes in.
fn commit_entry(
    tx: &Transaction,
    id: &EntryId,
    uploader: Uploader,
    new: &NewEntry,
) -> Result<(), StoreError> {
    match uploader {
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
        // A replacement makes no new file: `finish` swaps its bytes in instead.
        Uploader::Replacing(_) => Err(StoreError::Io(io::Error::other(
            "a replacement is not a new file",
        ))),
    }
}

/// How one request's body ended for a resumable upload.
#[derive(Debug, PartialEq, Eq)]
pub enum Appended {
    /// The body ended; the upload holds what it said (its `offset`).
    Stored,
    /// The upload's last byte arrived: the file is stored under this id.
    Completed(EntryId),
}

/// Why [`Upload::append`] stopped before the end of the body.
#[derive(Debug)]
pub enum AppendError {
    /// The body held more than the upload lacked: nothing of this request was kept.
    TooLong,
    /// Reading the body failed (the client went away, or stalled): what arrived was kept.
    Body(io::Error),
    /// Storing failed; the upload holds what was acknowledged before.
    Store(StoreError),
}

impl From<StoreError> for AppendError {
    fn from(e: StoreError) -> Self {
        AppendError::Store(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;
    use crate::store::test_support::{count, never_expiring, temp_store};

    #[test]
    fn issue_18_a_run_is_a_sixteenth_of_the_free_disk_when_that_is_less() {
        const MIB: u64 = 1 << 20;
        assert_eq!(run_for(16 * MIB, 100 * 1024 * MIB, 8 * MIB), 16 * MIB);
        assert_eq!(run_for(16 * MIB, 160 * MIB, 8 * MIB), 10 * MIB);
        // Never less than one transaction's batch.
        assert_eq!(run_for(16 * MIB, 48 * MIB, 8 * MIB), 8 * MIB);
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
