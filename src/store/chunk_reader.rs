//! The chunk reader: streams a byte range of one stored file out of `entries_data`, one row
//! per refill (`chunk_index = ?`, never `>=`), on a read connection the download keeps to
//! itself (one file descriptor per stream lets the kernel's read-ahead see a sequential read),
//! with no statement or transaction open between refills. A refill copies the row's bytes
//! from SQLite's pages straight into the caller's buffer when it has room for the rest of the
//! chunk (the response buffer, sized for a chunk: no copy of ours at all), else into one
//! chunk-sized buffer of the reader's.

use std::io::{self, Read};
use std::sync::Arc;

use rusqlite::{params, MAIN_DB};

use super::Store;
use crate::error::StoreError;
use crate::model::EntryId;

impl Store {
    /// A reader over bytes `[start, start + len)` of file `id`. [`StoreError::NotFound`] if
    /// the file has no chunks.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;
    use crate::store::test_support::{insert_file, temp_store};

    fn read_range(store: &Arc<Store>, id: &EntryId, start: u64, len: u64) -> Vec<u8> {
        let mut out = Vec::new();
        store
            .open_reader(id, start, len)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 256) as u8).collect()
    }

    #[test]
    fn round_trips_at_every_size_around_the_chunk_size() {
        let t = temp_store(5);
        let now = Timestamp::from_unix(1_800_000_000);
        for size in [1usize, 4, 5, 6, 10, 11, 16, 37] {
            let data = data(size);
            let id = insert_file(&t, "f.bin", &data, now);
            let meta = t.store.entry(&id, now).unwrap();
            assert_eq!(meta.size, size as u64);
            assert_eq!(
                read_range(&t.store, &id, 0, size as u64),
                data,
                "size {size}"
            );
            // The last byte alone, and every range across chunk boundaries.
            assert_eq!(
                read_range(&t.store, &id, size as u64 - 1, 1),
                &data[size - 1..]
            );
            for start in 0..size {
                for end in start..=size {
                    let got = read_range(&t.store, &id, start as u64, (end - start) as u64);
                    assert_eq!(got, &data[start..end], "size {size} range {start}..{end}");
                }
            }
            let rows: i64 = t
                .store
                .writer()
                .query_row(
                    "SELECT COUNT(*) FROM entries_data WHERE id = ?1",
                    [id.as_str()],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(rows as usize, size.div_ceil(5));
        }
    }

    #[test]
    fn callers_with_small_buffers_read_through_the_readers_own() {
        let t = temp_store(5);
        let data = data(23);
        let id = insert_file(&t, "f.bin", &data, Timestamp::from_unix(1_800_000_000));
        for buf_len in [1, 2, 3, 4, 5, 6, 64] {
            let mut r = t.store.open_reader(&id, 2, 19).unwrap();
            let (mut out, mut buf) = (Vec::new(), vec![0u8; buf_len]);
            loop {
                let n = r.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                assert!(n <= buf_len);
                out.extend_from_slice(&buf[..n]);
            }
            assert_eq!(out, &data[2..21], "buffer of {buf_len}");
        }
    }

    #[test]
    fn an_empty_range_reads_nothing_and_an_unknown_file_is_not_found() {
        let t = temp_store(5);
        let id = insert_file(&t, "f.bin", b"hello", Timestamp::from_unix(1_800_000_000));
        assert!(read_range(&t.store, &id, 5, 0).is_empty());
        assert!(read_range(&t.store, &id, 0, 0).is_empty());
        assert!(matches!(
            t.store.open_reader(&EntryId::random(), 0, 1),
            Err(StoreError::NotFound)
        ));
    }

    #[test]
    fn a_file_deleted_half_way_ends_the_read_with_an_error() {
        let t = temp_store(5);
        let data = data(23);
        let id = insert_file(&t, "f.bin", &data, Timestamp::from_unix(1_800_000_000));
        let mut r = t.store.open_reader(&id, 0, 23).unwrap();
        let mut buf = [0u8; 7];
        r.read_exact(&mut buf).unwrap();
        assert_eq!(buf[..], data[..7]);
        t.store.delete_entry(&id).unwrap();
        let mut rest = Vec::new();
        let e = r.read_to_end(&mut rest).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
        assert!(rest.len() < 16, "never more than the chunk already read");
    }
}
