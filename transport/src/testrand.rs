//! Owns the tiny deterministic PRNG and byte mutator used by the fuzz-style unit tests.

/// xorshift64* generator; deterministic for a given seed.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Applies one random edit: flip, overwrite with an interesting byte, insert, delete,
    /// duplicate a slice, or truncate.
    pub(crate) fn mutate(&mut self, data: &mut Vec<u8>) {
        const INTERESTING: &[u8] = b"\r\n :;\t\0\x7f\xff0Ff-+,HTTP/";
        if data.is_empty() {
            data.push(INTERESTING[self.below(INTERESTING.len() as u64) as usize]);
            return;
        }
        let at = self.below(data.len() as u64) as usize;
        match self.below(6) {
            0 => data[at] ^= 1 << self.below(8),
            1 => data[at] = INTERESTING[self.below(INTERESTING.len() as u64) as usize],
            2 => data.insert(
                at,
                INTERESTING[self.below(INTERESTING.len() as u64) as usize],
            ),
            3 => {
                data.remove(at);
            }
            4 => {
                let end = (at + 1 + self.below(16) as usize).min(data.len());
                let piece = data[at..end].to_vec();
                let times = 1 + self.below(4) as usize;
                for _ in 0..times {
                    data.splice(at..at, piece.iter().copied());
                }
            }
            _ => data.truncate(at),
        }
    }
}
