//! Owns the minimum-rate rule for transfers (`Limits::min_rate` over `Limits::rate_window`)
//! and the writer that applies it to responses: a client that reads or sends slower than the
//! rule allows is cut, so it cannot hold a thread for long.

use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::conn_io::is_timeout;
use crate::limits::Limits;

/// The minimum-rate rule for one transfer, as a credit of time: it starts at `window`, is
/// spent while a read or write waits on the client, and is earned back at one second per
/// `rate` bytes moved, never beyond `window`. A client that keeps up at least `rate` on
/// average over any `window` never runs out; one that stalls completely runs out after
/// `window`; one at half the rate after two windows. Time the application spends between
/// calls is not counted: only waiting on the client is.
#[derive(Debug, Clone)]
pub(crate) struct Pace {
    rate: u64,
    window: Duration,
    stall: Duration,
    credit: Duration,
}

impl Pace {
    /// A fresh credit. `rate` 0 turns the rule off; `stall` bounds any single wait either way.
    pub(crate) fn new(rate: u64, window: Duration, stall: Duration) -> Pace {
        Pace {
            rate,
            window,
            stall,
            credit: window,
        }
    }

    /// The rule for request bodies read by the application.
    pub(crate) fn for_body(limits: &Limits) -> Pace {
        Pace::new(
            limits.min_rate,
            limits.rate_window,
            limits.body_read_stall_timeout,
        )
    }

    /// The rule for responses.
    pub(crate) fn for_response(limits: &Limits) -> Pace {
        Pace::new(
            limits.min_rate,
            limits.rate_window,
            limits.write_stall_timeout,
        )
    }

    /// How long the next wait on the client may last (at least 1 ms, the smallest socket
    /// timeout).
    pub(crate) fn allowance(&self) -> Duration {
        let wait = if self.rate == 0 {
            self.stall
        } else {
            self.credit.min(self.stall)
        };
        wait.max(Duration::from_millis(1))
    }

    /// Accounts for one call that waited `waited` and moved `bytes`.
    pub(crate) fn record(&mut self, waited: Duration, bytes: usize) {
        if self.rate == 0 {
            return;
        }
        let earned = Duration::from_secs_f64(bytes as f64 / self.rate as f64);
        self.credit = self
            .credit
            .saturating_sub(waited)
            .saturating_add(earned)
            .min(self.window);
    }

    /// True once the client has fallen below the minimum rate.
    pub(crate) fn exhausted(&self) -> bool {
        self.rate > 0 && self.credit.is_zero()
    }
}

/// Counts clients cut by the transport's deadlines and rates (see `Stats`).
#[derive(Debug, Default)]
pub(crate) struct Cuts {
    /// Request bodies cut for arriving below the minimum rate, or small bodies not received
    /// within their deadline.
    pub(crate) slow_bodies: AtomicU64,
    /// Responses cut because the client read them below the minimum rate or stopped reading.
    pub(crate) slow_readers: AtomicU64,
}

impl Cuts {
    pub(crate) fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Writes to a connection under the minimum-rate rule: each write waits at most what the
/// credit (and the stall timeout) allows, through the socket's send timeout.
pub(crate) struct PacedWriter<'a> {
    stream: &'a TcpStream,
    pace: Pace,
    timeout_set: Option<Duration>,
    cuts: &'a Cuts,
}

impl<'a> PacedWriter<'a> {
    pub(crate) fn new(stream: &'a TcpStream, limits: &Limits, cuts: &'a Cuts) -> Self {
        PacedWriter {
            stream,
            pace: Pace::for_response(limits),
            timeout_set: None,
            cuts,
        }
    }
}

impl Write for PacedWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        loop {
            let wait = self.pace.allowance();
            if self.timeout_set != Some(wait) {
                self.stream.set_write_timeout(Some(wait))?;
                self.timeout_set = Some(wait);
            }
            let started = Instant::now();
            match (&*self.stream).write(data) {
                Ok(n) => {
                    self.pace.record(started.elapsed(), n);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    self.pace.record(started.elapsed(), 0);
                }
                Err(e) if is_timeout(&e) => {
                    self.pace.record(started.elapsed(), 0);
                    Cuts::count(&self.cuts.slow_readers);
                    let why = if self.pace.exhausted() {
                        "the client reads the response slower than the minimum rate"
                    } else {
                        "the client stopped reading the response"
                    };
                    return Err(io::Error::new(io::ErrorKind::TimedOut, why));
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for PacedWriter<'_> {
    /// Leaves the socket's send timeout at the stall timeout, so later small writes on the
    /// connection (`100 Continue`, an error answer) are not bound by this transfer's credit.
    fn drop(&mut self) {
        if self.timeout_set.is_some_and(|t| t != self.pace.stall) {
            let _ = self.stream.set_write_timeout(Some(self.pace.stall));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn a_client_at_the_rate_never_runs_out_and_a_stalled_one_runs_out_after_the_window() {
        let mut p = Pace::new(1000, S(30), S(60));
        for _ in 0..1000 {
            p.record(S(1), 1000);
        }
        assert_eq!(p.allowance(), S(30));
        assert!(!p.exhausted());
        p.record(S(29), 0);
        assert_eq!(p.allowance(), S(1));
        p.record(S(1), 0);
        assert!(p.exhausted());
    }

    #[test]
    fn credit_never_exceeds_the_window_and_half_the_rate_lasts_two_windows() {
        let mut p = Pace::new(1000, S(30), S(60));
        p.record(Duration::ZERO, 10_000_000);
        assert_eq!(p.allowance(), S(30), "a burst banks one window, not more");
        // A client sending 500 bytes a second: each wait is bounded by the allowance, so the
        // wait that would outlast the credit times out with nothing read.
        let mut seconds = 0;
        while !p.exhausted() {
            let wait = p.allowance();
            if wait < S(1) {
                p.record(wait, 0);
            } else {
                p.record(S(1), 500);
                seconds += 1;
            }
        }
        assert_eq!(seconds, 59, "cut during its sixtieth second");
    }

    #[test]
    fn rate_zero_means_only_the_stall_timeout() {
        let mut p = Pace::new(0, S(30), S(60));
        p.record(S(1000), 0);
        assert!(!p.exhausted());
        assert_eq!(p.allowance(), S(60));
        let p = Pace::new(1000, S(30), S(5));
        assert_eq!(
            p.allowance(),
            S(5),
            "a stall timeout shorter than the credit wins"
        );
    }
}
