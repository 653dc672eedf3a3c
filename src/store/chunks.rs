//! The chunk store: the only code that knows how file bytes sit in `entries_data` — rows of
//! `chunk_size` bytes, `chunk_index` from 0, the last one possibly short. Writing copies a
//! spool through its one buffer in short transactions; reading fetches exactly one row per
//! refill (`chunk_index = ?`, never `>=`), on a read connection the download keeps to itself
//! (one file descriptor per stream lets the kernel's read-ahead see a sequential read), with no
//! statement or transaction open between refills. A refill copies the row's bytes from SQLite's
//! pages straight into the caller's buffer when it has room for the rest of the chunk (the
//! response buffer, sized for a chunk: no copy of ours at all), else into one chunk-sized
//! buffer of the reader's.

use std::io::{self, Read};
use std::sync::Arc;

use rusqlite::{params, TransactionBehavior, MAIN_DB};

use super::{lock, Store};
use crate::error::StoreError;
use crate::model::EntryId;
use crate::spool::Spool;

/// Marks an id as "upload in progress" for as long as it lives.
pub(crate) struct UploadingGuard<'a> {
    store: &'a Store,
    id: String,
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
        }
    }

    /// Starts writing a new file's chunks under a fresh id. The collector leaves them alone
    /// while the returned value lives; dropping it unfinished deletes them.
    pub fn begin_upload(&self) -> UploadInProgress<'_> {
        let id = EntryId::random();
        let uploading = self.mark_uploading(&id);
        UploadInProgress {
            store: self,
            id,
            index: 0,
            finished: false,
            _uploading: uploading,
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

    /// A reader over bytes `[start, start + len)` of entry `id`, whose size is `size`.
    pub fn open_reader(
        self: &Arc<Self>,
        id: &EntryId,
        start: u64,
        len: u64,
    ) -> Result<ChunkReader, StoreError> {
        // A file's chunk size is the length of its first chunk (files written with another
        // chunk size stay readable).
        let chunk_size: i64 = self.reader()?.query_row(
            "SELECT LENGTH(chunk) FROM entries_data WHERE id = ?1 AND chunk_index = 0",
            [id.as_str()],
            |r| r.get(0),
        )?;
        if chunk_size <= 0 {
            return Err(StoreError::NotFound);
        }
        Ok(ChunkReader {
            store: Arc::clone(self),
            id: id.clone(),
            chunk_size: chunk_size as u64,
            pos: start,
            end: start + len,
            buf: Vec::new(),
            buf_index: None,
            conn: None,
        })
    }
}

/// A file whose chunks are being written. Chunks go in while the body still arrives
/// ([`UploadInProgress::copy_ready`]) and the rest after it ends ([`UploadInProgress::finish`]),
/// always in short transactions; the `entries` row goes in with the last chunk, so a file is
/// either complete and visible or invisible.
pub struct UploadInProgress<'a> {
    store: &'a Store,
    id: EntryId,
    index: i64,
    finished: bool,
    _uploading: UploadingGuard<'a>,
}

impl UploadInProgress<'_> {
    pub fn id(&self) -> &EntryId {
        &self.id
    }

    /// While the body still arrives: once a batch of whole chunks waits in the spool's temp
    /// file, copies them in one transaction and gives their space back, so the temp file stays
    /// a window of a few MiB and its pages are mostly never written to disk.
    pub fn copy_ready(&mut self, spool: &mut Spool) -> Result<(), StoreError> {
        let chunk = self.store.settings.chunk_size;
        let batch = self.store.settings.copy_batch_bytes.max(chunk) as u64;
        if spool.ready() < batch {
            return Ok(());
        }
        self.copy(spool, |s| s.ready() >= chunk as u64, |_| Ok(()))?;
        spool.release_read();
        Ok(())
    }

    /// After the closing boundary: copies what is left, then runs `last` (checks, the
    /// `entries` row) inside the final transaction.
    pub fn finish(
        mut self,
        spool: &mut Spool,
        last: impl FnOnce(&rusqlite::Transaction, &EntryId) -> Result<(), StoreError>,
    ) -> Result<EntryId, StoreError> {
        let id = self.id.clone();
        self.copy(spool, |_| true, |tx| last(tx, &id))?;
        self.finished = true;
        Ok(id)
    }

    /// Copies chunks while `more(spool)` holds and the spool has any, committing every
    /// `copy_batch_bytes`; `last` runs in the transaction that saw the spool's end (or the
    /// final one).
    fn copy(
        &mut self,
        spool: &mut Spool,
        more: impl Fn(&Spool) -> bool,
        last: impl FnOnce(&rusqlite::Transaction) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let chunk_size = self.store.settings.chunk_size;
        let mut last = Some(last);
        loop {
            let mut conn = self.store.writer();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut batch = 0;
            let mut done = false;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO entries_data (id, chunk_index, chunk) VALUES (?1, ?2, ?3)",
                )?;
                while batch < self.store.settings.copy_batch_bytes {
                    if !more(spool) {
                        done = true;
                        break;
                    }
                    match spool.next_chunk(chunk_size)? {
                        Some(chunk) => {
                            insert.execute(params![self.id.as_str(), self.index, chunk])?;
                            self.index += 1;
                            batch += chunk.len();
                        }
                        None => {
                            done = true;
                            break;
                        }
                    }
                }
            }
            if done {
                if let Some(last) = last.take() {
                    last(&tx)?;
                }
                tx.commit()?;
                return Ok(());
            }
            tx.commit()?;
        }
    }
}

impl Drop for UploadInProgress<'_> {
    fn drop(&mut self) {
        if !self.finished {
            if let Err(e) = self.store.delete_chunks(self.id.as_str()) {
                eprintln!("picoshare: could not remove a failed upload's chunks: {e}");
            }
        }
    }
}

/// Streams a byte range of one stored file, one chunk in memory at a time. Owns what it needs
/// (`Send + 'static`), so it can be a response body.
pub struct ChunkReader {
    store: Arc<Store>,
    id: EntryId,
    chunk_size: u64,
    pos: u64,
    end: u64,
    /// Chunk `buf_index` (its first bytes up to what the range needs), only for callers whose
    /// buffer is smaller than the rest of a chunk; empty otherwise.
    buf: Vec<u8>,
    buf_index: Option<u64>,
    /// Taken from the pool at the first refill, given back when the reader drops.
    conn: Option<rusqlite::Connection>,
}

impl Drop for ChunkReader {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            self.store.return_reader(c);
        }
    }
}

impl ChunkReader {
    /// Copies bytes `offset..offset + out.len()` of chunk `index` into `out` with SQLite's
    /// incremental BLOB I/O, which reads overflow pages straight into `out` (no row value is
    /// assembled, nothing is copied twice). The rowid lookup and the read share one read
    /// transaction, so a row deleted in between (its rowid reused) can never be read instead.
    fn read_chunk(&mut self, index: u64, offset: usize, out: &mut [u8]) -> Result<(), StoreError> {
        let conn = match &mut self.conn {
            Some(c) => c,
            slot => slot.insert(self.store.take_reader()?),
        };
        let tx = conn.transaction()?;
        let rowid: i64 = tx
            .prepare_cached("SELECT rowid FROM entries_data WHERE id = ?1 AND chunk_index = ?2")?
            .query_row(params![self.id.as_str(), index as i64], |r| r.get(0))?;
        let blob = tx.blob_open(MAIN_DB, c"entries_data", c"chunk", rowid, true)?;
        if blob.len() < offset + out.len() {
            return Err(StoreError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "stored chunk shorter than the file's chunk size",
            )));
        }
        blob.read_at_exact(out, offset)?;
        drop(blob);
        tx.commit()?;
        Ok(())
    }

    /// Fills the reader's own buffer with chunk `index` (for callers with a smaller buffer).
    fn load(&mut self, index: u64, len: usize) -> Result<(), StoreError> {
        let mut buf = std::mem::take(&mut self.buf);
        if buf.is_empty() {
            buf = vec![0; self.chunk_size as usize];
        }
        self.buf_index = None;
        let got = self.read_chunk(index, 0, &mut buf[..len]);
        self.buf = buf;
        got?;
        self.buf_index = Some(index);
        Ok(())
    }
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.end || out.is_empty() {
            return Ok(0);
        }
        let index = self.pos / self.chunk_size;
        let chunk_start = index * self.chunk_size;
        let offset = (self.pos - chunk_start) as usize;
        // What this chunk still has to give: to its end or to the end of the range.
        let rest = ((chunk_start + self.chunk_size).min(self.end) - self.pos) as usize;
        let n = if self.buf_index == Some(index) {
            let n = out.len().min(rest);
            out[..n].copy_from_slice(&self.buf[offset..offset + n]);
            n
        } else if out.len() >= rest {
            self.read_chunk(index, offset, &mut out[..rest])
                .map_err(into_io)?;
            rest
        } else {
            self.load(index, offset + rest).map_err(into_io)?;
            out.copy_from_slice(&self.buf[offset..offset + out.len()]);
            out.len()
        };
        self.pos += n as u64;
        Ok(n)
    }
}

fn into_io(e: StoreError) -> io::Error {
    match e {
        StoreError::NotFound => io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "chunk missing: the file was deleted during the download",
        ),
        StoreError::Io(e) => e,
        e => io::Error::other(e),
    }
}
