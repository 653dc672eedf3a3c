//! Rate limits: token buckets keyed by a string, with a bounded number of keys remembered.
//! Uploads through guest links are limited per link and client address, and per link.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::locks::lock;

/// At most `count` events at once, then one more every `per / count`: a token bucket of
/// `count` tokens refilled evenly over `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub count: u32,
    pub per: Duration,
}

impl RateLimit {
    /// `count` per hour.
    pub const fn per_hour(count: u32) -> Self {
        RateLimit {
            count,
            per: Duration::from_secs(3600),
        }
    }

    /// Time for one token to come back.
    fn interval(&self) -> Duration {
        self.per / self.count.max(1)
    }
}

/// The two limits on uploads through guest links: per link and client address, and per link.
pub struct GuestUploadRate {
    per_address: Buckets,
    per_link: Buckets,
}

impl GuestUploadRate {
    pub fn new(per_address: RateLimit, per_link: RateLimit, max_keys: usize) -> Self {
        GuestUploadRate {
            per_address: Buckets::new(per_address, max_keys),
            per_link: Buckets::new(per_link, max_keys),
        }
    }

    /// Counts one upload through guest link `link` from `address` at `now`, or
    /// `Err(seconds)` to wait if either limit is reached (and then counts nothing).
    pub fn take(&self, link: &str, address: &str, now: Instant) -> Result<(), u64> {
        let pair = format!("{link} {address}");
        self.per_address.take(&pair, now)?;
        self.per_link.take(link, now).inspect_err(|_| {
            self.per_address.give_back(&pair);
        })
    }
}

struct Bucket {
    /// Tokens left as of `at`.
    tokens: f64,
    at: Instant,
}

/// Token buckets for many keys under one [`RateLimit`]. At most `max_keys` keys are
/// remembered (about 100 bytes each); past that, buckets that have refilled are forgotten
/// first (a full bucket and no bucket are the same), then the least recently used.
pub struct Buckets {
    limit: RateLimit,
    max_keys: usize,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Buckets {
    pub fn new(limit: RateLimit, max_keys: usize) -> Self {
        Buckets {
            limit,
            max_keys: max_keys.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token from `key`'s bucket at `now`: `Ok` if there was one, else `Err(seconds)`
    /// until one comes back (rounded up, at least 1).
    pub fn take(&self, key: &str, now: Instant) -> Result<(), u64> {
        let capacity = f64::from(self.limit.count);
        let interval = self.limit.interval().as_secs_f64().max(f64::MIN_POSITIVE);
        let mut buckets = lock(&self.buckets);
        let tokens = match buckets.get(key) {
            None => capacity,
            Some(b) => (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() / interval)
                .min(capacity),
        };
        if tokens < 1.0 {
            let wait = (1.0 - tokens) * interval;
            // (A microsecond off, so float noise cannot add a whole second.)
            return Err(((wait - 1e-6).ceil() as u64).max(1));
        }
        if !buckets.contains_key(key) && buckets.len() >= self.max_keys {
            make_room(&mut buckets, now, capacity, interval);
        }
        buckets.insert(
            key.to_owned(),
            Bucket {
                tokens: tokens - 1.0,
                at: now,
            },
        );
        Ok(())
    }

    /// Returns the token just taken from `key` (its event did not happen after all).
    pub fn give_back(&self, key: &str) {
        let capacity = f64::from(self.limit.count);
        if let Some(b) = lock(&self.buckets).get_mut(key) {
            b.tokens = (b.tokens + 1.0).min(capacity);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.buckets).len()
    }
}

/// Forgets the buckets that have refilled; if none has, the least recently used one.
fn make_room(buckets: &mut HashMap<String, Bucket>, now: Instant, capacity: f64, interval: f64) {
    let before = buckets.len();
    buckets.retain(|_, b| {
        b.tokens + now.saturating_duration_since(b.at).as_secs_f64() / interval < capacity
    });
    if buckets.len() < before {
        return;
    }
    if let Some(stalest) = buckets
        .iter()
        .min_by_key(|(_, b)| b.at)
        .map(|(k, _)| k.clone())
    {
        buckets.remove(&stalest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_per_interval() {
        let t0 = Instant::now();
        let b = Buckets::new(RateLimit::per_hour(3), 100);
        for _ in 0..3 {
            assert_eq!(b.take("a", t0), Ok(()));
        }
        assert_eq!(b.take("a", t0), Err(1200), "one token every 20 minutes");
        assert_eq!(b.take("b", t0), Ok(()), "another key has its own bucket");
        let later = t0 + Duration::from_secs(1199);
        assert_eq!(b.take("a", later), Err(1));
        let later = t0 + Duration::from_secs(1200);
        assert_eq!(b.take("a", later), Ok(()));
        assert!(b.take("a", later).is_err());
        b.give_back("a");
        assert_eq!(b.take("a", later), Ok(()), "a token given back");
        // A long pause refills to the burst, never beyond.
        let much_later = t0 + Duration::from_secs(86_400);
        for _ in 0..3 {
            assert_eq!(b.take("a", much_later), Ok(()));
        }
        assert!(b.take("a", much_later).is_err());
    }

    #[test]
    fn memory_is_bounded_and_refilled_buckets_go_first() {
        let t0 = Instant::now();
        let b = Buckets::new(RateLimit::per_hour(2), 10);
        b.take("busy", t0).unwrap();
        b.take("busy", t0).unwrap();
        for i in 0..9 {
            b.take(&format!("k{i}"), t0 + Duration::from_secs(1))
                .unwrap();
        }
        assert_eq!(b.len(), 10);
        // Half an hour on, the nine have refilled and go first; "busy" has not.
        let later = t0 + Duration::from_secs(1801);
        b.take("n", later).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b.take("busy", later), Ok(()), "one token back, not two");
        assert!(b.take("busy", later).is_err());
        for i in 0..100 {
            b.take(&format!("n{i}"), later).unwrap();
            assert!(b.len() <= 10);
        }
    }

    #[test]
    fn guest_uploads_are_limited_per_address_and_per_link() {
        let t0 = Instant::now();
        let r = GuestUploadRate::new(RateLimit::per_hour(2), RateLimit::per_hour(3), 100);
        assert_eq!(r.take("link", "10.0.0.1", t0), Ok(()));
        assert_eq!(r.take("link", "10.0.0.1", t0), Ok(()));
        assert_eq!(r.take("link", "10.0.0.1", t0), Err(1800), "per address");
        assert_eq!(r.take("other", "10.0.0.1", t0), Ok(()), "per link");
        assert_eq!(r.take("link", "10.0.0.2", t0), Ok(()));
        assert_eq!(
            r.take("link", "10.0.0.3", t0),
            Err(1200),
            "the link's total"
        );
        // The refused upload took nothing from its address: its whole burst is left.
        assert_eq!(r.per_address.take("link 10.0.0.3", t0), Ok(()));
        assert_eq!(r.per_address.take("link 10.0.0.3", t0), Ok(()));
        let later = t0 + Duration::from_secs(1200);
        assert_eq!(
            r.take("link", "10.0.0.4", later),
            Ok(()),
            "the link's refill"
        );
    }
}
