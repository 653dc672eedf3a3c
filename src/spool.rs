//! The spool: an uploaded file's bytes between the network and SQLite. The first
//! `multipart_memory` bytes stay in one buffer; past that they go to a temp file in our spool
//! folder that has no name (`O_TMPFILE`), so no outcome — success, error, a client gone, a
//! panic, even SIGKILL — can leave it behind, and there is nothing to sweep at start-up. Once
//! the bytes are in the temp file the buffer shrinks to one chunk, and that buffer also feeds
//! the chunk writer ([`ChunkSource`]): an upload holds the 1 MiB cap only while it is small
//! enough to stay in memory, then one chunk. The spool calls
//! nothing: [`Spool::fill_until`] returns whenever a batch of whole chunks waits in the temp
//! file, the upload hands them to the chunk writer and gives their range of the temp file back
//! ([`Spool::release_read`], a punched hole), then fills on. So the temp file is a window of a
//! few MiB, its pages mostly never reach the disk, and an upload needs its size in free space
//! once, not twice.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::store::ChunkSource;

/// Why spooling stopped.
#[derive(Debug)]
pub enum SpoolError {
    /// The file passed the byte cap; carries the cap.
    TooLarge(u64),
    /// Reading the request body failed: the client went away or sent a truncated body.
    Source(io::Error),
    /// Writing the temp file failed (a full disk shows up here).
    Sink(io::Error),
    /// Copying received chunks into the store failed.
    Store(crate::error::StoreError),
}

/// Takes a file's bytes from a reader into a spool: [`Spool::fill_from`], or an upload's
/// [`crate::store::Upload::feed`], which moves whole chunks on into SQLite as they arrive.
pub type Receive<'a> = &'a mut dyn FnMut(&mut Spool, &mut dyn Read) -> Result<(), SpoolError>;

/// Why [`Spool::fill_until`] returned.
#[derive(Debug, PartialEq, Eq)]
pub enum Filled {
    /// The source is at its end: every byte is in the spool.
    End,
    /// At least the asked-for bytes wait in the temp file, the buffer is free, and more of
    /// the source follows.
    Batch,
}

/// An uploaded file's bytes, in memory or in a nameless temp file.
pub struct Spool {
    buf: Vec<u8>,
    /// The buffer's size once the bytes are in the temp file: one chunk, all the copy into
    /// SQLite needs.
    chunk_size: usize,
    /// Bytes of `buf` holding file data while the file is still in memory.
    in_memory: usize,
    file: Option<File>,
    len: u64,
    /// Bytes written to the temp file so far.
    on_disk: u64,
    /// Read position for [`Spool::next_chunk`].
    pos: u64,
    /// The temp file's bytes before this offset were copied onward and given back to the
    /// filesystem.
    released: u64,
}

impl Spool {
    /// An empty spool whose one buffer is `memory` bytes (at least `chunk_size`, so the same
    /// buffer serves the copy into SQLite).
    pub fn new(memory: usize, chunk_size: usize) -> Self {
        Spool {
            // Zeroed allocation: pages are only touched as data arrives.
            buf: vec![0; memory.max(chunk_size).max(1)],
            chunk_size: chunk_size.max(1),
            in_memory: 0,
            file: None,
            len: 0,
            on_disk: 0,
            pos: 0,
            released: 0,
        }
    }

    /// Total bytes spooled.
    #[cfg(test)]
    fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the bytes went to a temp file.
    #[cfg(test)]
    fn spilled(&self) -> bool {
        self.file.is_some()
    }

    /// Reads `src` to its end, spilling to a nameless file in `dir` once the buffer is full.
    /// Fails as soon as more than `max` bytes arrive.
    pub fn fill_from(
        &mut self,
        src: &mut dyn Read,
        dir: &Path,
        max: Option<u64>,
    ) -> Result<(), SpoolError> {
        self.fill_until(src, dir, max, u64::MAX).map(|_| ())
    }

    /// Reads `src`, spilling to a nameless file in `dir` once the buffer is full, until its
    /// end ([`Filled::End`]) or until at least `batch` bytes wait in the temp file
    /// ([`Filled::Batch`]: call again to go on). Fails as soon as more than `max` bytes
    /// arrive. The buffer is always filled before it is written out, so the temp file gets a
    /// few large writes rather than many small ones.
    pub fn fill_until(
        &mut self,
        src: &mut dyn Read,
        dir: &Path,
        max: Option<u64>,
        batch: u64,
    ) -> Result<Filled, SpoolError> {
        // Bytes of `buf` filled and not yet written out.
        let mut filled = self.in_memory;
        loop {
            if filled == self.buf.len() {
                if self.file.is_none() {
                    // Spill only if more data really follows, so a file of exactly the
                    // buffer's size stays in memory.
                    let mut probe = [0u8; 4096];
                    // At most what the buffer holds after the spill (one chunk).
                    let cap = probe.len().min(self.chunk_size);
                    let n = match src.read(&mut probe[..cap]) {
                        Ok(0) => {
                            self.in_memory = filled;
                            return Ok(Filled::End);
                        }
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(SpoolError::Source(e)),
                    };
                    self.in_memory = filled;
                    self.spill(dir)?;
                    self.count(n, max)?;
                    self.buf[..n].copy_from_slice(&probe[..n]);
                    filled = n;
                    continue;
                }
                self.write_out(filled)?;
                filled = 0;
                if self.ready() >= batch {
                    return Ok(Filled::Batch);
                }
            }
            let n = match src.read(&mut self.buf[filled..]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(SpoolError::Source(e)),
            };
            self.count(n, max)?;
            filled += n;
        }
        if self.file.is_some() {
            self.write_out(filled)?;
        } else {
            self.in_memory = filled;
        }
        Ok(Filled::End)
    }

    fn count(&mut self, n: usize, max: Option<u64>) -> Result<(), SpoolError> {
        self.len += n as u64;
        match max {
            Some(max) if self.len > max => Err(SpoolError::TooLarge(max)),
            _ => Ok(()),
        }
    }

    fn write_out(&mut self, n: usize) -> Result<(), SpoolError> {
        match &self.file {
            Some(f) => f
                .write_all_at(&self.buf[..n], self.on_disk)
                .map_err(SpoolError::Sink)?,
            None => return Err(SpoolError::Sink(io::Error::other("spool not spilled"))),
        }
        self.on_disk += n as u64;
        Ok(())
    }

    /// Bytes spooled but not yet taken by [`Spool::next_chunk`].
    pub fn remaining(&self) -> u64 {
        self.len - self.pos
    }

    /// Disk the temp file holds now: what was written to it less what was given back.
    pub fn disk_bytes(&self) -> u64 {
        if self.file.is_some() {
            self.on_disk.saturating_sub(self.released)
        } else {
            0
        }
    }

    /// Bytes in the temp file not yet read by [`Spool::next_chunk`].
    pub fn ready(&self) -> u64 {
        if self.file.is_some() {
            self.on_disk - self.pos
        } else {
            0
        }
    }

    /// Gives the temp file's already-read bytes back to the filesystem (a hole punched in
    /// it), so their dirty pages are dropped instead of written to disk. Where the
    /// filesystem cannot punch holes the bytes simply stay until the file closes.
    pub fn release_read(&mut self) {
        let Some(f) = &self.file else {
            return;
        };
        let end = self.pos & !4095;
        if end <= self.released {
            return;
        }
        use std::os::unix::io::AsRawFd;
        // SAFETY: fallocate on a descriptor we own, within the file's size.
        let rc = unsafe {
            libc::fallocate(
                f.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                self.released as libc::off_t,
                (end - self.released) as libc::off_t,
            )
        };
        if rc == 0 {
            self.released = end;
        }
    }

    /// Moves the in-memory bytes to a fresh temp file in `dir` that has no name: `O_TMPFILE`,
    /// or, where the filesystem lacks it, a name removed the moment it is created. A folder
    /// that has gone missing (someone cleaned up beside the database) is made again.
    fn spill(&mut self, dir: &Path) -> Result<(), SpoolError> {
        let mut f = match tempfile::tempfile_in(dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(SpoolError::Sink)?;
                tempfile::tempfile_in(dir)
            }
            other => other,
        }
        .map_err(SpoolError::Sink)?;
        f.write_all(&self.buf[..self.in_memory])
            .map_err(SpoolError::Sink)?;
        self.on_disk = self.in_memory as u64;
        self.in_memory = 0;
        self.file = Some(f);
        // From now on the buffer only carries bytes between the network, the temp file and
        // SQLite: one chunk is enough, and the in-memory cap goes back to the system (three
        // parallel uploads peaked at 8.9 MB VmHWM with 1 MiB each, 7.x MB with one chunk).
        if self.buf.len() > self.chunk_size {
            self.buf = vec![0; self.chunk_size];
        }
        Ok(())
    }

    /// The next piece of at most `max` bytes (`max` ≤ the buffer), or `None` at the end.
    /// Reuses the spool's buffer: the slice is valid until the next call. Between fills only
    /// the bytes already in the temp file ([`Spool::ready`]) may be taken.
    pub fn next_chunk(&mut self, max: usize) -> io::Result<Option<&[u8]>> {
        let max = max.min(self.buf.len());
        let remaining = self.len - self.pos;
        if remaining == 0 {
            return Ok(None);
        }
        let n = (max as u64).min(remaining) as usize;
        let start = self.pos as usize;
        match &mut self.file {
            None => {
                self.pos += n as u64;
                Ok(Some(&self.buf[start..start + n]))
            }
            Some(f) => {
                f.read_exact_at(&mut self.buf[..n], self.pos)?;
                self.pos += n as u64;
                Ok(Some(&self.buf[..n]))
            }
        }
    }
}

impl ChunkSource for Spool {
    fn next_chunk(&mut self, max: usize) -> io::Result<Option<&[u8]>> {
        Spool::next_chunk(self, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tmp() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("ps-spool-{}", crate::random::hex(6)));
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn drain(s: &mut Spool, chunk: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(c) = s.next_chunk(chunk).unwrap() {
            assert!(c.len() <= chunk);
            out.extend_from_slice(c);
        }
        out
    }

    #[test]
    fn small_files_stay_in_memory_and_large_ones_spill_to_an_unlinked_file() {
        let dir = tmp();
        for (size, spills) in [
            (0, false),
            (10, false),
            (64, false),
            (65, true),
            (1000, true),
        ] {
            let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let mut s = Spool::new(64, 7);
            s.fill_from(&mut &data[..], &dir, None).unwrap();
            assert_eq!(s.len(), size as u64);
            assert_eq!(s.spilled(), spills, "size {size}");
            assert_eq!(
                fs::read_dir(&dir).unwrap().count(),
                0,
                "no name left in the folder"
            );
            assert_eq!(drain(&mut s, 7), data);
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn issue_18_once_spilled_the_buffer_is_one_chunk() {
        let dir = tmp();
        let data: Vec<u8> = (0..1000).map(|i| (i % 251) as u8).collect();
        let mut s = Spool::new(64, 7);
        s.fill_from(&mut &data[..40], &dir, None).unwrap();
        assert_eq!(s.buf.len(), 64, "in memory: the whole cap");
        let mut s = Spool::new(64, 7);
        s.fill_from(&mut &data[..], &dir, None).unwrap();
        assert!(s.spilled());
        assert_eq!(s.buf.len(), 7, "spilled: one chunk");
        assert_eq!(drain(&mut s, 7), data);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn filling_stops_whenever_a_batch_waits_in_the_temp_file() {
        let dir = tmp();
        let data: Vec<u8> = (0..1000).map(|i| (i % 251) as u8).collect();
        let mut s = Spool::new(64, 7);
        let mut src = &data[..];
        let (mut batches, mut out) = (0, Vec::new());
        while s.fill_until(&mut src, &dir, None, 200).unwrap() == Filled::Batch {
            batches += 1;
            // Checked after each write to the temp file: the 64 bytes held in memory, then
            // one 7-byte chunk at a time (the buffer shrinks to a chunk once spilled).
            let ready = s.ready();
            assert!((200..207).contains(&ready), "{ready} bytes wait");
            let mut taken = 0;
            while taken < ready {
                let c = s
                    .next_chunk(7.min((ready - taken) as usize))
                    .unwrap()
                    .unwrap();
                taken += c.len() as u64;
                out.extend_from_slice(c);
            }
            s.release_read();
        }
        assert_eq!(batches, 4, "at 204, 407, 610 and 813 bytes");
        out.extend(drain(&mut s, 7));
        assert_eq!(out, data);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn issue_16_a_spool_folder_that_vanished_is_made_again() {
        let dir = tmp();
        fs::remove_dir_all(&dir).unwrap();
        let data = vec![5u8; 300];
        let mut s = Spool::new(64, 7);
        s.fill_from(&mut &data[..], &dir, None).unwrap();
        assert!(s.spilled() && dir.is_dir());
        assert_eq!(drain(&mut s, 7), data);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_cap_stops_the_upload() {
        let dir = tmp();
        let data = vec![1u8; 500];
        let mut s = Spool::new(64, 7);
        match s.fill_from(&mut &data[..], &dir, Some(499)) {
            Err(SpoolError::TooLarge(499)) => {}
            other => panic!("{:?}", other.err()),
        }
        let mut s = Spool::new(64, 7);
        s.fill_from(&mut &data[..], &dir, Some(500)).unwrap();
        fs::remove_dir_all(dir).unwrap();
    }
}
