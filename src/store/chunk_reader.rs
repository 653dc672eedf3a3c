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

use super::versions::VersionPin;
use super::Store;
use crate::error::StoreError;
use crate::model::EntryId;

impl Store {
    /// A reader over bytes `[start, start + len)` of version `version` of file `id` (the
    /// version its metadata was read at, [`crate::model::EntryMeta::version`]).
    /// [`StoreError::NotFound`] if the file has no chunks, [`StoreError::Replaced`] if that
    /// version is gone.
    pub fn open_reader(
        self: &Arc<Self>,
        id: &EntryId,
        version: u64,
        start: u64,
        len: u64,
    ) -> Result<ChunkReader, StoreError> {
        // Pinned first: from here on, the version's bytes stay until the reader drops.
        let pin = self.pin_version(id, version);
        let mut conn = self.take_reader()?;
        let found = (|| {
            let tx = conn.transaction()?;
            let source = resolve_source(&tx, id, version)?;
            // A file's chunk size is the length of its first chunk (files written with
            // another chunk size stay readable).
            let chunk_size: i64 = tx
                .prepare_cached(
                    "SELECT LENGTH(chunk) FROM entries_data WHERE id = ?1 AND chunk_index = 0",
                )?
                .query_row([source.id()], |r| r.get(0))?;
            drop(tx);
            Ok::<_, StoreError>((source, chunk_size))
        })();
        let (source, chunk_size) = match found {
            Ok(found) => found,
            Err(e) => {
                self.return_reader(conn);
                return Err(e);
            }
        };
        if chunk_size <= 0 {
            self.return_reader(conn);
            return Err(StoreError::NotFound);
        }
        Ok(ChunkReader {
            store: Arc::clone(self),
            id: id.clone(),
            version,
            retired: match source {
                Source::Current(_) => None,
                Source::Retired(g) => Some(g),
            },
            chunk_size: chunk_size as u64,
            pos: start,
            end: start + len,
            buf: Vec::new(),
            buf_index: None,
            conn: Some(conn),
            _pin: pin,
        })
    }
}

/// Where a version's chunks are: under the entry's id while it is the current version, or
/// under the id they were retired to when the file was replaced.
enum Source {
    Current(String),
    Retired(String),
}

impl Source {
    fn id(&self) -> &str {
        match self {
            Source::Current(id) | Source::Retired(id) => id,
        }
    }
}

/// Finds version `version` of file `id`'s chunks, in the caller's read transaction (so the
/// answer holds for the chunk read in the same transaction).
fn resolve_source(
    tx: &rusqlite::Transaction,
    id: &EntryId,
    version: u64,
) -> Result<Source, StoreError> {
    let (current, retired): (i64, Option<String>) = tx
        .prepare_cached(
            "SELECT COALESCE((SELECT version FROM rs_file_versions WHERE entry_id = ?1), 0), \
             (SELECT chunks_id FROM rs_retired_chunks WHERE entry_id = ?1 AND version = ?2)",
        )?
        .query_row(params![id.as_str(), version as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    if current as u64 == version {
        Ok(Source::Current(id.as_str().to_owned()))
    } else if let Some(retired) = retired {
        Ok(Source::Retired(retired))
    } else {
        Err(StoreError::Replaced)
    }
}

/// Streams a byte range of one stored file, one chunk in memory at a time. Owns what it needs
/// (`Send + 'static`), so it can be a response body.
pub struct ChunkReader {
    store: Arc<Store>,
    id: EntryId,
    /// The file's version this reader streams.
    version: u64,
    /// Once the file was replaced: where this version's chunks went (they never change
    /// again, so no more checks are needed).
    retired: Option<String>,
    chunk_size: u64,
    pos: u64,
    end: u64,
    /// Chunk `buf_index` (its first bytes up to what the range needs), only for callers whose
    /// buffer is smaller than the rest of a chunk; empty otherwise.
    buf: Vec<u8>,
    buf_index: Option<u64>,
    /// Taken from the pool when the reader opens, given back when it drops.
    conn: Option<rusqlite::Connection>,
    /// Keeps this version's bytes while the reader lives (see [`Store::pin_version`]).
    _pin: VersionPin,
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
    /// transaction, so a row deleted in between (its rowid reused) can never be read instead;
    /// so does the check of the file's version, so a replacement committed between two chunks
    /// sends the reader to the retired chunks of its own version, never to the new bytes.
    fn read_chunk(&mut self, index: u64, offset: usize, out: &mut [u8]) -> Result<(), StoreError> {
        let conn = match &mut self.conn {
            Some(c) => c,
            slot => slot.insert(self.store.take_reader()?),
        };
        let tx = conn.transaction()?;
        if self.retired.is_none() {
            if let Source::Retired(g) = resolve_source(&tx, &self.id, self.version)? {
                self.retired = Some(g);
            }
        }
        let source = self.retired.as_deref().unwrap_or(self.id.as_str());
        let rowid: i64 = tx
            .prepare_cached("SELECT rowid FROM entries_data WHERE id = ?1 AND chunk_index = ?2")?
            .query_row(params![source, index as i64], |r| r.get(0))?;
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

impl ChunkReader {
    /// How large a caller's buffer must be for the next read to go straight into it, not
    /// through the reader's own chunk buffer: the rest of the current chunk (or of the range);
    /// 1 when that chunk is already buffered; 0 at the end.
    pub fn next_read_len(&self) -> usize {
        if self.pos >= self.end {
            return 0;
        }
        let index = self.pos / self.chunk_size;
        if self.buf_index == Some(index) {
            return 1;
        }
        let chunk_end = (index + 1) * self.chunk_size;
        (chunk_end.min(self.end) - self.pos) as usize
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
        StoreError::Replaced => io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the file was replaced during the download, and its old bytes are gone",
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
            .open_reader(id, 0, start, len)
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
            let mut r = t.store.open_reader(&id, 0, 2, 19).unwrap();
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
            t.store.open_reader(&EntryId::random(), 0, 0, 1),
            Err(StoreError::NotFound)
        ));
    }

    #[test]
    fn a_file_deleted_half_way_ends_the_read_with_an_error() {
        let t = temp_store(5);
        let data = data(23);
        let id = insert_file(&t, "f.bin", &data, Timestamp::from_unix(1_800_000_000));
        let mut r = t.store.open_reader(&id, 0, 0, 23).unwrap();
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
