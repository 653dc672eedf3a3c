//! The chunk writer: the only code that writes (and deletes) a file's rows in `entries_data` —
//! `chunk_size` bytes each, `chunk_index` from 0, the last one possibly short. It takes whole
//! chunks from a [`ChunkSource`] (the spool, reusing the spool's one buffer: the writer holds
//! no buffer of its own) and inserts them in short transactions of about `copy_batch_bytes`,
//! so the WAL stays small and other writers get in between. Its last transaction also runs the
//! caller's final step (the `entries` row), so a file is either complete and visible or
//! invisible; a writer dropped unfinished deletes what it wrote — unless it continues a
//! resumable upload ([`ChunkWriter::resume`]), whose rows belong to the upload's own row until
//! it completes, expires or is cancelled.

use std::io;

use rusqlite::{params, Transaction, TransactionBehavior};

use super::{lock, Store};
use crate::error::StoreError;
use crate::model::EntryId;

/// Where the writer takes a file's bytes from, one chunk at a time: the spool, or a byte
/// slice in tests.
pub trait ChunkSource {
    /// The next at most `max` bytes, or `None` at the end; valid until the next call.
    fn next_chunk(&mut self, max: usize) -> io::Result<Option<&[u8]>>;
}

impl ChunkSource for &[u8] {
    fn next_chunk(&mut self, max: usize) -> io::Result<Option<&[u8]>> {
        if self.is_empty() {
            return Ok(None);
        }
        let (chunk, rest) = self.split_at(max.min(self.len()));
        *self = rest;
        Ok(Some(chunk))
    }
}

/// Marks an id as "upload in progress" for as long as it lives: the collector leaves its
/// chunk rows alone, in this process (the `uploading` set) and in any other (a lock on the
/// database file, see `locks.rs`).
pub(crate) struct UploadingGuard<'a> {
    store: &'a Store,
    id: String,
    _mark: Option<crate::locks::UploadMark<'a>>,
}

impl Drop for UploadingGuard<'_> {
    fn drop(&mut self) {
        lock(&self.store.uploading).remove(&self.id);
    }
}

impl Store {
    pub(crate) fn mark_uploading(&self, id: &EntryId) -> UploadingGuard<'_> {
        lock(&self.uploading).insert(id.as_str().to_owned());
        UploadingGuard {
            store: self,
            id: id.as_str().to_owned(),
            _mark: self.lock.as_ref().map(|l| l.mark_upload(id.as_str())),
        }
    }

    /// Deletes the chunk rows of `id`, a bounded number per statement so no single
    /// transaction grows the WAL by a whole file.
    pub(crate) fn delete_chunks(&self, id: &str) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let conn = self.writer();
            let n = conn
                .prepare_cached(
                    "DELETE FROM entries_data WHERE rowid IN \
                     (SELECT rowid FROM entries_data WHERE id = ?1 LIMIT 64)",
                )?
                .execute([id])?;
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
        }
    }
}

/// In `tx`: deletes the chunk rows of `id` from chunk `first` on — what one request wrote to a
/// resumable upload, undone in the transaction that rewinds the upload (see
/// `Store::rewind_resumable`).
pub(super) fn delete_chunks_from(
    tx: &Transaction,
    id: &str,
    first: u64,
) -> Result<u64, StoreError> {
    let n = tx
        .prepare_cached("DELETE FROM entries_data WHERE id = ?1 AND chunk_index >= ?2")?
        .execute(params![id, first.min(i64::MAX as u64) as i64])?;
    Ok(n as u64)
}

/// Writes one file's chunk rows: a new file under a fresh id, or the rest of a resumable
/// upload's file.
pub struct ChunkWriter<'a> {
    store: &'a Store,
    id: EntryId,
    /// Bytes per row: the store's chunk size, or the one a resumable upload began with.
    chunk_size: usize,
    /// The next row's `chunk_index`.
    index: i64,
    finished: bool,
    /// The rows belong to a resumable upload's row: kept when the writer drops unfinished.
    keep: bool,
    /// For a new file: the collector leaves its rows alone while this lives. (A resumable
    /// upload's rows are protected by the upload's row instead, across restarts too.)
    _uploading: Option<UploadingGuard<'a>>,
}

impl<'a> ChunkWriter<'a> {
    /// Starts a file under a fresh id. The collector leaves its rows alone while the writer
    /// lives; dropping it unfinished deletes them.
    pub fn begin(store: &'a Store) -> Self {
        let id = EntryId::random();
        let uploading = store.mark_uploading(&id);
        ChunkWriter {
            store,
            id,
            chunk_size: store.settings().chunk_size,
            index: 0,
            finished: false,
            keep: false,
            _uploading: Some(uploading),
        }
    }

    /// Continues the file `id` of a resumable upload, written in chunks of `chunk_size`, at
    /// chunk `index` (the number of whole chunks it already has). Its rows are the upload's:
    /// dropping the writer keeps them.
    pub fn resume(store: &'a Store, id: EntryId, chunk_size: usize, index: u64) -> Self {
        ChunkWriter {
            store,
            id,
            chunk_size,
            index: index.min(i64::MAX as u64) as i64,
            finished: false,
            keep: true,
            _uploading: None,
        }
    }

    /// Writes the next `bytes` bytes of `src` (whole chunks: a multiple of the chunk size, or
    /// all that is left), committing about every `copy_batch_bytes`.
    pub fn write(&mut self, src: &mut dyn ChunkSource, bytes: u64) -> Result<(), StoreError> {
        if bytes == 0 {
            return Ok(());
        }
        self.copy(src, bytes, |_| Ok(()))
    }

    /// [`ChunkWriter::write`], and `step` runs in the transaction that writes the last of
    /// these bytes (a resumable upload records its new offset there). If `step` fails, that
    /// transaction's rows are not written and the writer stays where it was before it.
    pub fn write_then(
        &mut self,
        src: &mut dyn ChunkSource,
        bytes: u64,
        step: impl FnOnce(&Transaction) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.copy(src, bytes, step)
    }

    /// Writes the rest of `src`, runs `last` in the transaction that writes the final chunks
    /// (under the writer lock, `BEGIN IMMEDIATE`), and keeps the file's rows. If anything
    /// fails, nothing of that transaction stays and the writer, dropped, deletes the rest.
    pub fn finish(
        mut self,
        src: &mut dyn ChunkSource,
        last: impl FnOnce(&Transaction, &EntryId) -> Result<(), StoreError>,
    ) -> Result<EntryId, StoreError> {
        let id = self.id.clone();
        self.copy(src, u64::MAX, |tx| last(tx, &id))?;
        self.finished = true;
        Ok(id)
    }

    /// Copies up to `left` bytes of `src`, one row per chunk and one transaction per
    /// `copy_batch_bytes`, in one turn of the writer: no other writer comes in between, so
    /// the file's rows of one run lie together in the database (see
    /// `Config::copy_run_bytes`), and the WAL is looked after after each commit. `last` runs
    /// in the transaction that reached the end (of `src` or of `left`). A transaction that
    /// fails leaves the writer where it began.
    fn copy(
        &mut self,
        src: &mut dyn ChunkSource,
        mut left: u64,
        last: impl FnOnce(&Transaction) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut last = Some(last);
        let mut conn = self.store.writer();
        loop {
            conn.committed();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let first = self.index;
            let done = self.copy_batch(&tx, src, &mut left).and_then(|done| {
                if done {
                    if let Some(last) = last.take() {
                        last(&tx)?;
                    }
                }
                tx.commit()?;
                Ok(done)
            });
            match done {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => {
                    self.index = first;
                    return Err(e);
                }
            }
        }
    }

    /// Inserts rows of `src` in `tx` until about `copy_batch_bytes` are in it (false) or the
    /// end of `src` or of `left` is reached (true).
    fn copy_batch(
        &mut self,
        tx: &Transaction,
        src: &mut dyn ChunkSource,
        left: &mut u64,
    ) -> Result<bool, StoreError> {
        let batch_bytes = self.store.settings().copy_batch_bytes;
        // A resumable upload's writer may meet a row another request wrote at the same index
        // first: it replaces it, and the caller's step in the same transaction (the upload's
        // compare-and-set) then fails, which undoes both.
        let mut insert = tx.prepare_cached(if self.keep {
            "INSERT OR REPLACE INTO entries_data (id, chunk_index, chunk) VALUES (?1, ?2, ?3)"
        } else {
            "INSERT INTO entries_data (id, chunk_index, chunk) VALUES (?1, ?2, ?3)"
        })?;
        let mut batch = 0;
        while batch < batch_bytes {
            let max = (self.chunk_size as u64).min(*left) as usize;
            let chunk = match max {
                0 => None,
                _ => src.next_chunk(max)?,
            };
            let Some(chunk) = chunk else {
                return Ok(true);
            };
            insert.execute(params![self.id.as_str(), self.index, chunk])?;
            self.index += 1;
            batch += chunk.len();
            *left -= chunk.len() as u64;
        }
        // At the end of `left`, this transaction is the last (no empty one after it).
        Ok(*left == 0)
    }
}

impl Drop for ChunkWriter<'_> {
    fn drop(&mut self) {
        if !self.finished && !self.keep {
            if let Err(e) = self.store.delete_chunks(self.id.as_str()) {
                eprintln!("picoshare: could not remove a failed upload's chunks: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{temp_store, TempStore};

    /// The file's rows: (chunk_index, chunk), in order.
    fn rows(t: &TempStore, id: &str) -> Vec<(i64, Vec<u8>)> {
        let conn = t.store.writer();
        let mut st = conn
            .prepare("SELECT chunk_index, chunk FROM entries_data WHERE id = ?1 ORDER BY 1")
            .unwrap();
        st.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Every chunk row in the store (each test has a store of its own).
    fn all_rows(t: &TempStore) -> i64 {
        t.store
            .writer()
            .query_row("SELECT COUNT(*) FROM entries_data", [], |r| r.get(0))
            .unwrap()
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    /// Gives `ok` chunks, then fails: a spool whose temp file cannot be read any more.
    struct FailingAfter<'a> {
        src: &'a [u8],
        ok: usize,
    }

    impl ChunkSource for FailingAfter<'_> {
        fn next_chunk(&mut self, max: usize) -> io::Result<Option<&[u8]>> {
            if self.ok == 0 {
                return Err(io::Error::other("spool unreadable"));
            }
            self.ok -= 1;
            self.src.next_chunk(max)
        }
    }

    #[test]
    fn files_of_every_size_become_rows_of_the_chunk_size() {
        // Chunks of 5 bytes, transactions of 15: sizes on both sides of each boundary.
        let t = temp_store(5);
        for size in [0, 1, 4, 5, 6, 10, 14, 15, 16, 23, 31] {
            let file = data(size);
            let id = ChunkWriter::begin(&t.store)
                .finish(&mut &file[..], |_, _| Ok(()))
                .unwrap();
            let got = rows(&t, id.as_str());
            assert_eq!(got.len(), size.div_ceil(5), "size {size}");
            for (i, (index, chunk)) in got.iter().enumerate() {
                assert_eq!(*index, i as i64);
                assert_eq!(chunk[..], file[i * 5..(i * 5 + 5).min(size)], "size {size}");
            }
        }
    }

    #[test]
    fn issue_18_a_run_of_transactions_is_one_turn_of_the_writer() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        use std::sync::Arc;
        // Chunks of 5 bytes, transactions of 15: 45 bytes are three transactions.
        let t = temp_store(5);
        let commits = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&commits);
        t.store.writer().commit_hook(Some(move || {
            counted.fetch_add(1, SeqCst);
            false
        }));
        let file = data(45);
        let mut src = &file[..];
        let mut w = ChunkWriter::begin(&t.store);
        let turns = t.store.writer_turns.load(SeqCst);
        w.write(&mut src, 45).unwrap();
        assert_eq!(commits.load(SeqCst), 3, "one transaction per copy batch");
        assert_eq!(
            t.store.writer_turns.load(SeqCst) - turns,
            1,
            "no other writer between the run's transactions"
        );
        assert_eq!(all_rows(&t), 9);
    }

    #[test]
    fn writes_continue_where_the_last_one_stopped() {
        let t = temp_store(5);
        let file = data(23);
        let mut src = &file[..];
        let mut w = ChunkWriter::begin(&t.store);
        w.write(&mut src, 10).unwrap();
        w.write(&mut src, 0).unwrap();
        assert_eq!(all_rows(&t), 2, "written while receiving");
        w.write(&mut src, 5).unwrap();
        let id = w.finish(&mut src, |_, _| Ok(())).unwrap();
        let joined: Vec<u8> = rows(&t, id.as_str())
            .into_iter()
            .flat_map(|r| r.1)
            .collect();
        assert_eq!(joined, file);
    }

    #[test]
    fn the_last_step_runs_in_the_final_transaction() {
        let t = temp_store(5);
        let file = data(37);
        let id = ChunkWriter::begin(&t.store)
            .finish(&mut &file[..], |tx, id| {
                // Every chunk is already visible inside the final transaction.
                let n: i64 = tx.query_row(
                    "SELECT COUNT(*) FROM entries_data WHERE id = ?1",
                    [id.as_str()],
                    |r| r.get(0),
                )?;
                assert_eq!(n, 8);
                Ok(())
            })
            .unwrap();
        assert_eq!(rows(&t, id.as_str()).len(), 8);
    }

    #[test]
    fn a_failure_half_way_leaves_no_rows() {
        let t = temp_store(5);
        let file = data(37);
        // The source fails after four chunks, in the second transaction.
        let w = ChunkWriter::begin(&t.store);
        let mut src = FailingAfter {
            src: &file[..],
            ok: 4,
        };
        assert!(matches!(
            w.finish(&mut src, |_, _| Ok(())),
            Err(StoreError::Io(_))
        ));
        assert_eq!(all_rows(&t), 0);
        // The last step refuses: the final transaction and the earlier ones are undone.
        let w = ChunkWriter::begin(&t.store);
        let refused = w.finish(&mut &file[..], |_, _| Err(StoreError::GuestLinkInactive));
        assert!(matches!(refused, Err(StoreError::GuestLinkInactive)));
        assert_eq!(all_rows(&t), 0);
        // Dropped between writes (the client went away): the same.
        let mut w = ChunkWriter::begin(&t.store);
        w.write(&mut &file[..], 20).unwrap();
        assert_eq!(all_rows(&t), 4);
        drop(w);
        assert_eq!(all_rows(&t), 0);
        assert!(lock(&t.store.uploading).is_empty(), "no upload left marked");
    }
}
