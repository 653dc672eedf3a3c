//! Login throttling: repeated wrong passphrases from one client address are answered 429 with
//! a growing `Retry-After`; a global cap slows a distributed guesser. No delay ever exceeds
//! `max_delay`.
//!
//! A browser that has logged in before carries a signed known-device cookie (OWASP's
//! device-cookie pattern, see `auth.rs`): its attempts are exempt from the global cap and the
//! per-address delays, and its wrong guesses count against that device alone, with the same
//! growing delays. So a distributed guessing attack, which keeps the global cap engaged, does
//! not lock the owner out of a browser they have used before.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::locks::lock;

/// The throttle's bounds (`Config::login_throttle`).
#[derive(Clone, Debug)]
pub struct ThrottleLimits {
    /// Wrong guesses from one address (or one known device) before delays start.
    pub free_failures: u32,
    /// The first delay; each further failure doubles it.
    pub base_delay: Duration,
    /// The longest delay, for one address, one device, and globally.
    pub max_delay: Duration,
    /// Failures from all addresses (known devices aside) within `window` before every
    /// attempt without a known-device cookie waits `base_delay` after each further failure.
    pub global_failures: u32,
    pub window: Duration,
    /// Addresses, and devices, remembered at most (memory bound); the stalest are forgotten
    /// first.
    pub max_tracked: usize,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        ThrottleLimits {
            free_failures: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            global_failures: 100,
            window: Duration::from_secs(60),
            max_tracked: 4096,
        }
    }
}

/// Who is trying to log in: the trusted client address, and the id of the known-device cookie
/// the request carries, if it carries a genuine one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginClient {
    pub addr: IpAddr,
    pub device: Option<u128>,
}

struct Peer {
    failures: u32,
    blocked_until: Instant,
    last: Instant,
}

struct State {
    peers: HashMap<IpAddr, Peer>,
    devices: HashMap<u128, Peer>,
    window_start: Instant,
    window_failures: u32,
    global_blocked_until: Instant,
}

/// Tracks failed logins.
pub struct LoginThrottle {
    limits: ThrottleLimits,
    state: Mutex<State>,
}

/// Seconds to wait until `until`, rounded up; `None` if it has passed.
fn wait(until: Instant, now: Instant) -> Option<u64> {
    let left = until.checked_duration_since(now).filter(|d| !d.is_zero())?;
    Some(left.as_secs() + u64::from(left.subsec_nanos() > 0))
}

/// Counts a failure for `key`, delaying it once past the free failures; forgets the stalest
/// key when `map` is full.
fn count_failure<K: Hash + Eq + Copy>(
    map: &mut HashMap<K, Peer>,
    key: K,
    l: &ThrottleLimits,
    now: Instant,
) {
    if map.len() >= l.max_tracked && !map.contains_key(&key) {
        if let Some(stalest) = map.iter().min_by_key(|(_, p)| p.last).map(|(k, _)| *k) {
            map.remove(&stalest);
        }
    }
    let p = map.entry(key).or_insert(Peer {
        failures: 0,
        blocked_until: now,
        last: now,
    });
    p.failures += 1;
    p.last = now;
    if p.failures > l.free_failures {
        let doublings = (p.failures - l.free_failures - 1).min(16);
        let delay = l.base_delay.saturating_mul(1 << doublings).min(l.max_delay);
        p.blocked_until = now + delay;
    }
}

impl LoginThrottle {
    pub fn new(limits: ThrottleLimits, now: Instant) -> Self {
        LoginThrottle {
            limits,
            state: Mutex::new(State {
                peers: HashMap::new(),
                devices: HashMap::new(),
                window_start: now,
                window_failures: 0,
                global_blocked_until: now,
            }),
        }
    }

    /// `Err(seconds)` if `client` must wait before trying again. A known device waits only for
    /// its own failures.
    pub fn check(&self, client: LoginClient, now: Instant) -> Result<(), u64> {
        let s = lock(&self.state);
        let until = match client.device {
            Some(device) => s.devices.get(&device).map(|p| p.blocked_until),
            None => {
                let peer = s.peers.get(&client.addr).map(|p| p.blocked_until);
                Some(peer.map_or(s.global_blocked_until, |p| p.max(s.global_blocked_until)))
            }
        };
        match until.and_then(|u| wait(u, now)) {
            Some(secs) => Err(secs),
            None => Ok(()),
        }
    }

    /// Records a wrong passphrase from `client`: against its device if it has one, else
    /// against its address and the global count.
    pub fn failure(&self, client: LoginClient, now: Instant) {
        let l = &self.limits;
        let mut s = lock(&self.state);
        if let Some(device) = client.device {
            count_failure(&mut s.devices, device, l, now);
            return;
        }
        if now.duration_since(s.window_start) >= l.window {
            s.window_start = now;
            s.window_failures = 0;
        }
        s.window_failures += 1;
        if s.window_failures > l.global_failures {
            s.global_blocked_until = now + l.base_delay.min(l.max_delay);
        }
        count_failure(&mut s.peers, client.addr, l, now);
    }

    /// Forgets `client`'s failures (address and device) after a correct passphrase.
    pub fn success(&self, client: LoginClient) {
        let mut s = lock(&self.state);
        s.peers.remove(&client.addr);
        if let Some(device) = client.device {
            s.devices.remove(&device);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_per_address_and_are_capped_at_a_minute() {
        let t0 = Instant::now();
        let th = LoginThrottle::new(ThrottleLimits::default(), t0);
        let a = client("10.0.0.1", None);
        let b = client("10.0.0.2", None);
        for _ in 0..5 {
            assert!(th.check(a, t0).is_ok());
            th.failure(a, t0);
        }
        assert!(th.check(a, t0).is_ok(), "five free tries");
        th.failure(a, t0);
        assert_eq!(th.check(a, t0), Err(1));
        assert!(th.check(b, t0).is_ok(), "other addresses are not affected");
        let mut now = t0;
        for _ in 0..20 {
            now += Duration::from_secs(61);
            th.failure(a, now);
        }
        assert_eq!(th.check(a, now), Err(60), "never more than a minute");
        assert!(th.check(a, now + Duration::from_secs(60)).is_ok());
        th.success(a);
        assert!(th.check(a, now).is_ok());
    }

    #[test]
    fn a_global_flood_slows_everyone_briefly_and_memory_stays_bounded() {
        let t0 = Instant::now();
        let limits = ThrottleLimits {
            max_tracked: 50,
            ..ThrottleLimits::default()
        };
        let th = LoginThrottle::new(limits, t0);
        for i in 0..200u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            th.failure(
                LoginClient {
                    addr: ip,
                    device: None,
                },
                t0,
            );
        }
        let owner = client("192.168.9.9", None);
        assert!(th.check(owner, t0).is_err());
        assert!(th.check(owner, t0 + Duration::from_secs(2)).is_ok());
        assert!(lock(&th.state).peers.len() <= 50);
    }

    #[test]
    fn issue_15_a_known_device_skips_the_global_and_address_delays_and_has_its_own() {
        let t0 = Instant::now();
        let th = LoginThrottle::new(ThrottleLimits::default(), t0);
        // A distributed attack engages the global cap, and this address is blocked too.
        for i in 0..200u32 {
            th.failure(client(&format!("10.1.{}.{}", i / 250, i % 250), None), t0);
        }
        for _ in 0..10 {
            th.failure(client("10.9.9.9", None), t0);
        }
        assert!(th.check(client("10.9.9.9", None), t0).is_err());
        assert!(th.check(client("10.7.7.7", None), t0).is_err(), "global");
        let device = client("10.9.9.9", Some(42));
        assert!(th.check(device, t0).is_ok(), "the owner's browser gets in");
        // Its own wrong guesses count against it alone: five free, then growing delays.
        for _ in 0..5 {
            th.failure(device, t0);
            assert!(th.check(device, t0).is_ok());
        }
        th.failure(device, t0);
        assert_eq!(th.check(device, t0), Err(1));
        assert!(
            th.check(client("10.9.9.9", Some(43)), t0).is_ok(),
            "another device"
        );
        th.success(device);
        assert!(th.check(device, t0).is_ok());
    }

    fn client(addr: &str, device: Option<u128>) -> LoginClient {
        LoginClient {
            addr: addr.parse().unwrap(),
            device,
        }
    }
}
