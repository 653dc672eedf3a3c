//! Tests only: a reader that hands out at most a few bytes per read, so every buffer edge of
//! the scanner and the part reader is crossed.

use std::io::{self, Read};

/// A source that returns at most `step` bytes per read.
pub(crate) struct Trickle<'a> {
    pub data: &'a [u8],
    pub step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.data.len().min(self.step).min(out.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}
