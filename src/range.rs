//! `Range: bytes=…` parsing (RFC 9110 §14): pure, no I/O.
//!
//! Hand-written on purpose: neither rouille nor tiny_http parses ranges, and the crates that
//! do come with an HTTP stack of their own; one byte range on a file of known size is these
//! few lines, pinned by unit tests and by the fuzz tests.

/// What to send for a request's `Range` header on a file of a known, non-zero size.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeSpec {
    /// The whole file (no header, another unit, or several ranges: a plain 200).
    Full,
    /// Bytes `start..=end` (a 206).
    Partial { start: u64, end: u64 },
    /// Nothing satisfiable, or a malformed byte range (a 416).
    Unsatisfiable,
}

/// Parses a `Range` header value against a file of `size` bytes.
pub fn parse(header: &str, size: u64) -> RangeSpec {
    let header = header.trim();
    let Some(spec) = header
        .get(..6)
        .filter(|u| u.eq_ignore_ascii_case("bytes="))
        .map(|_| &header[6..])
    else {
        // Another unit: RFC 9110 says to ignore the header.
        return RangeSpec::Full;
    };
    if spec.contains(',') {
        // Several ranges: we answer with the whole file rather than multipart/byteranges.
        return RangeSpec::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeSpec::Unsatisfiable;
    };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            None
        } else {
            s.parse().ok()
        }
    };
    if size == 0 {
        return RangeSpec::Unsatisfiable;
    }
    if a.is_empty() {
        // Suffix: the last n bytes.
        return match num(b) {
            Some(0) | None => RangeSpec::Unsatisfiable,
            Some(n) => RangeSpec::Partial {
                start: size.saturating_sub(n),
                end: size - 1,
            },
        };
    }
    let Some(start) = num(a) else {
        return RangeSpec::Unsatisfiable;
    };
    let end = if b.is_empty() {
        size - 1
    } else {
        match num(b) {
            Some(e) if e >= start => e.min(size - 1),
            _ => return RangeSpec::Unsatisfiable,
        }
    };
    if start >= size {
        return RangeSpec::Unsatisfiable;
    }
    RangeSpec::Partial { start, end }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeSpec::*;

    #[test]
    fn forms() {
        let cases = [
            ("bytes=0-9", Partial { start: 0, end: 9 }),
            ("bytes=5-", Partial { start: 5, end: 99 }),
            ("bytes=-10", Partial { start: 90, end: 99 }),
            ("bytes=-1000", Partial { start: 0, end: 99 }),
            ("bytes=90-1000", Partial { start: 90, end: 99 }),
            ("bytes=99-99", Partial { start: 99, end: 99 }),
            ("BYTES=1-2", Partial { start: 1, end: 2 }),
            ("bytes=100-", Unsatisfiable),
            ("bytes=100-200", Unsatisfiable),
            ("bytes=-0", Unsatisfiable),
            ("bytes=5-4", Unsatisfiable),
            ("bytes=abc", Unsatisfiable),
            ("bytes=1-x", Unsatisfiable),
            ("bytes=+1-2", Unsatisfiable),
            ("bytes=", Unsatisfiable),
            ("bytes=0-1,5-6", Full),
            ("items=0-1", Full),
            ("", Full),
        ];
        for (h, want) in cases {
            assert_eq!(parse(h, 100), want, "{h:?}");
        }
    }

    #[test]
    fn never_panics_on_garbage() {
        let mut x: u32 = 12345;
        let alphabet = b"bytes=-0123456789, x";
        for _ in 0..20_000 {
            let len = (x % 16) as usize;
            let s: String = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    alphabet[(x >> 16) as usize % alphabet.len()] as char
                })
                .collect();
            if let Partial { start, end } = parse(&s, 50) {
                assert!(start <= end && end < 50, "{s:?}");
            }
            x = x.wrapping_add(7);
        }
    }
}
