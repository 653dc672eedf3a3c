//! Login throttling: repeated wrong passphrases from one address are answered 429 with a
//! growing `Retry-After`; a global cap slows a distributed guesser. No delay ever exceeds
//! `max_delay`, so the owner is never locked out for longer than that.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::locks::lock;

/// The throttle's bounds.
#[derive(Clone, Debug)]
pub struct ThrottleLimits {
    /// Wrong guesses from one address before delays start.
    pub free_failures: u32,
    /// The first delay; each further failure doubles it.
    pub base_delay: Duration,
    /// The longest delay, for one address and globally.
    pub max_delay: Duration,
    /// Failures from all addresses within `window` before everyone waits.
    pub global_failures: u32,
    pub window: Duration,
    /// Addresses remembered at most (memory bound); the stalest are forgotten first.
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

struct Peer {
    failures: u32,
    blocked_until: Instant,
    last: Instant,
}

struct State {
    peers: HashMap<IpAddr, Peer>,
    window_start: Instant,
    window_failures: u32,
    global_blocked_until: Instant,
}

/// Tracks failed logins.
pub struct LoginThrottle {
    limits: ThrottleLimits,
    state: Mutex<State>,
}

impl LoginThrottle {
    pub fn new(limits: ThrottleLimits, now: Instant) -> Self {
        LoginThrottle {
            limits,
            state: Mutex::new(State {
                peers: HashMap::new(),
                window_start: now,
                window_failures: 0,
                global_blocked_until: now,
            }),
        }
    }

    /// `Err(seconds)` if `ip` must wait before trying again.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let s = lock(&self.state);
        let mut until = s.global_blocked_until;
        if let Some(p) = s.peers.get(&ip) {
            until = until.max(p.blocked_until);
        }
        if until > now {
            let wait = until - now;
            Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
        } else {
            Ok(())
        }
    }

    /// Records a wrong passphrase from `ip`.
    pub fn failure(&self, ip: IpAddr, now: Instant) {
        let l = &self.limits;
        let mut s = lock(&self.state);
        if now.duration_since(s.window_start) >= l.window {
            s.window_start = now;
            s.window_failures = 0;
        }
        s.window_failures += 1;
        if s.window_failures > l.global_failures {
            s.global_blocked_until = now + l.base_delay.min(l.max_delay);
        }
        if s.peers.len() >= l.max_tracked && !s.peers.contains_key(&ip) {
            if let Some(stalest) = s.peers.iter().min_by_key(|(_, p)| p.last).map(|(k, _)| *k) {
                s.peers.remove(&stalest);
            }
        }
        let p = s.peers.entry(ip).or_insert(Peer {
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

    /// Forgets `ip`'s failures after a correct passphrase.
    pub fn success(&self, ip: IpAddr) {
        lock(&self.state).peers.remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_per_address_and_are_capped_at_a_minute() {
        let t0 = Instant::now();
        let th = LoginThrottle::new(ThrottleLimits::default(), t0);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
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
            th.failure(ip, t0);
        }
        assert!(th.check("192.168.9.9".parse().unwrap(), t0).is_err());
        assert!(th
            .check("192.168.9.9".parse().unwrap(), t0 + Duration::from_secs(2))
            .is_ok());
        assert!(lock(&th.state).peers.len() <= 50);
    }
}
