//! Go's `time.Duration` text form (`168h0m0s`, `1h30m`, `1.5h`, `300ms`), which PicoShare uses
//! for guest links' file lifetimes in its API and in `guest_links.file_expiration_time`, and
//! the [`FileLifetime`] built on it (with PicoShare's "never" sentinel, `876000h0m0s`).
//!
//! Hand-written on purpose: the format is Go's own (`time.ParseDuration` and
//! `Duration.String()`), and compatibility with stored values and API clients is byte for
//! byte; Rust's duration crates (humantime and others) read and write other spellings.

use std::fmt;

use crate::model::{Timestamp, NEVER_DAYS};

const NANOS_PER_SEC: i64 = 1_000_000_000;
const NANOS_PER_HOUR: i64 = 3600 * NANOS_PER_SEC;

/// A span of time in nanoseconds, with Go's range (an `i64`, about ±292 years).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoDuration(i64);

impl GoDuration {
    /// `h` whole hours.
    pub const fn from_hours(h: i64) -> Self {
        GoDuration(h * NANOS_PER_HOUR)
    }
    /// Whole seconds, truncated toward zero.
    pub fn whole_secs(self) -> i64 {
        self.0 / NANOS_PER_SEC
    }

    /// Parses Go's duration syntax: an optional sign, then one or more decimal numbers (with
    /// optional fraction) each followed by a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`);
    /// a lone `0` is zero. `None` for anything else, including overflow.
    pub fn parse(s: &str) -> Option<Self> {
        let (negative, mut rest) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        if rest == "0" {
            return Some(GoDuration(0));
        }
        if rest.is_empty() {
            return None;
        }
        let mut total: i128 = 0;
        while !rest.is_empty() {
            let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            let (int_digits, after) = rest.split_at(int_len);
            let (frac_digits, after) = match after.strip_prefix('.') {
                Some(f) => {
                    let n = f.bytes().take_while(u8::is_ascii_digit).count();
                    f.split_at(n)
                }
                None => ("", after),
            };
            if int_digits.is_empty() && frac_digits.is_empty() {
                return None;
            }
            let unit_len = after
                .char_indices()
                .find(|(_, c)| *c == '.' || c.is_ascii_digit())
                .map_or(after.len(), |(i, _)| i);
            let (unit, after) = after.split_at(unit_len);
            let unit: i128 = match unit {
                "ns" => 1,
                "us" | "µs" | "μs" => 1_000,
                "ms" => 1_000_000,
                "s" => NANOS_PER_SEC as i128,
                "m" => 60 * NANOS_PER_SEC as i128,
                "h" => NANOS_PER_HOUR as i128,
                _ => return None,
            };
            let mut value: i128 = 0;
            for d in int_digits.bytes() {
                value = value.checked_mul(10)?.checked_add((d - b'0') as i128)?;
                if value > i64::MAX as i128 {
                    return None;
                }
            }
            let mut part = value.checked_mul(unit)?;
            // The fraction, to nanosecond precision (digits past 18 cannot matter).
            let (mut frac, mut scale) = (0i128, 1i128);
            for d in frac_digits.bytes().take(18) {
                frac = frac * 10 + (d - b'0') as i128;
                scale *= 10;
            }
            part += frac * unit / scale;
            total = total.checked_add(part)?;
            if total > i64::MAX as i128 + 1 {
                return None;
            }
            rest = after;
        }
        let total = if negative { -total } else { total };
        i64::try_from(total).ok().map(GoDuration)
    }
}

/// Go's `Duration.String()`: `0s`; below a second `300ms`, `1.5µs`, `42ns`; otherwise hours,
/// minutes and (fractional) seconds with the leading zero units left out: `1h0m0s`, `1m30s`,
/// `1.5s`.
impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let u = self.0.unsigned_abs();
        if u == 0 {
            return f.write_str("0s");
        }
        if u < NANOS_PER_SEC as u64 {
            let (div, unit, digits) = match u {
                0..=999 => (1, "ns", 0),
                1_000..=999_999 => (1_000, "µs", 3),
                _ => (1_000_000, "ms", 6),
            };
            return write!(f, "{sign}{}{}{unit}", u / div, fraction(u % div, digits));
        }
        let secs = u / NANOS_PER_SEC as u64;
        let frac = fraction(u % NANOS_PER_SEC as u64, 9);
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        if h > 0 {
            write!(f, "{sign}{h}h{m}m{s}{frac}s")
        } else if m > 0 {
            write!(f, "{sign}{m}m{s}{frac}s")
        } else {
            write!(f, "{sign}{s}{frac}s")
        }
    }
}

/// `.5`, `.25`, …: `value` as a `digits`-digit decimal fraction with trailing zeros removed;
/// empty when zero.
fn fraction(value: u64, digits: usize) -> String {
    if value == 0 || digits == 0 {
        return String::new();
    }
    let s = format!(".{value:0digits$}");
    s.trim_end_matches('0').to_owned()
}

/// How long a guest's uploaded files live. PicoShare stores it as a Go duration string; exactly
/// 100 × 365 days (`876000h0m0s`) — or NULL, in rows older than its migration 008 — means
/// files never expire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileLifetime {
    /// Files never expire (stored as `876000h0m0s`).
    Never,
    /// Files expire this long after their upload.
    Finite(GoDuration),
}

impl FileLifetime {
    /// PicoShare's "infinite" sentinel: 36 500 days.
    pub const NEVER_DURATION: GoDuration = GoDuration::from_hours(NEVER_DAYS as i64 * 24);
    /// The shortest lifetime a guest link may give its files: an hour (PicoShare asks for a
    /// day; issue 20 allows hours, in the same stored format).
    pub const MINIMUM: GoDuration = GoDuration::from_hours(1);

    /// Parses the API's `fileLifetime` field with PicoShare's rules and messages.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let d = GoDuration::parse(s).ok_or(
            "unrecognized format for file life time, must be in 1ns, 1us (or 1µs), 1ms, 1s, \
             1m, 1h format",
        )?;
        if d == Self::NEVER_DURATION {
            return Ok(FileLifetime::Never);
        }
        if d < Self::MINIMUM {
            return Err("file lifetime must be at least 1 hour");
        }
        Ok(FileLifetime::Finite(d))
    }

    /// Reads a stored value. NULL is "never"; an unreadable value is kept as "never" too,
    /// rather than making the whole link unreadable as PicoShare would.
    pub fn from_db(s: Option<&str>) -> Self {
        match s.and_then(GoDuration::parse) {
            None => FileLifetime::Never,
            Some(d) if d == Self::NEVER_DURATION => FileLifetime::Never,
            Some(d) => FileLifetime::Finite(d),
        }
    }

    /// The stored form: Go's `Duration.String()`.
    pub fn encode(self) -> String {
        self.duration().to_string()
    }

    fn duration(self) -> GoDuration {
        match self {
            FileLifetime::Never => Self::NEVER_DURATION,
            FileLifetime::Finite(d) => d,
        }
    }

    /// Whole days (truncated), as PicoShare counts them; 36 500 for never.
    pub fn days(self) -> u64 {
        (self.duration().whole_secs().max(0) / 86_400) as u64
    }

    /// When a file uploaded at `now` expires: never stays never.
    pub fn expiration_from(self, now: Timestamp) -> Timestamp {
        match self {
            FileLifetime::Never => Timestamp::never(),
            FileLifetime::Finite(d) => now.plus_secs(d.whole_secs()).min(Timestamp::never()),
        }
    }

    /// Whole hours (truncated); 876 000 for never.
    pub fn hours(self) -> u64 {
        (self.duration().whole_secs().max(0) / 3600) as u64
    }

    /// PicoShare's friendly name: `Never`, `1 day`, `7 days`, `1 year`, `2 years` (on 365-day
    /// boundaries), `400 days`, and below a day (issue 20) `6 hours` (see [`friendly_hours`]).
    pub fn friendly_name(self) -> String {
        friendly_hours(self.hours() as i64)
    }
}

/// `1 day`, `N days`.
pub fn plural_days(n: i64) -> String {
    if n.abs() == 1 {
        format!("{n} day")
    } else {
        format!("{n} days")
    }
}

/// A lifetime in hours as people say it (issue 20): `1 hour`, `6 hours` below a day or for a
/// number of hours that is not whole days, else as [`friendly_lifetime`] says the days.
pub fn friendly_hours(hours: i64) -> String {
    if hours >= 24 && hours % 24 == 0 {
        friendly_lifetime(hours / 24)
    } else if hours == 1 {
        "1 hour".into()
    } else {
        format!("{hours} hours")
    }
}

/// A lifetime in days as people say it: `1 day`, `30 days`, `1 year`, `2 years` on 365-day
/// boundaries, `Never` for PicoShare's [`NEVER_DAYS`] "forever".
pub fn friendly_lifetime(days: i64) -> String {
    if days >= i64::from(NEVER_DAYS) {
        "Never".into()
    } else if days >= 365 && days % 365 == 0 {
        match days / 365 {
            1 => "1 year".into(),
            n => format!("{n} years"),
        }
    } else {
        plural_days(days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = NANOS_PER_SEC;

    #[test]
    fn parses_go_duration_syntax() {
        let table: &[(&str, i64)] = &[
            ("0", 0),
            ("0s", 0),
            ("24h0m0s", 24 * 3600 * SEC),
            ("24h", 24 * 3600 * SEC),
            ("168h0m0s", 168 * 3600 * SEC),
            ("876000h0m0s", 876_000 * 3600 * SEC),
            ("1h30m", 5400 * SEC),
            ("1.5h", 5400 * SEC),
            (".5h", 1800 * SEC),
            ("1.h", 3600 * SEC),
            ("300ms", 300_000_000),
            ("1.5s", 1_500_000_000),
            ("2h45m30.5s", (2 * 3600 + 45 * 60 + 30) * SEC + SEC / 2),
            ("10us", 10_000),
            ("10µs", 10_000),
            ("10μs", 10_000),
            ("42ns", 42),
            ("-1.5h", -5400 * SEC),
            ("+5m", 300 * SEC),
            ("1h1h", 7200 * SEC),
            ("2562047h47m16.854775807s", i64::MAX),
        ];
        for (s, nanos) in table {
            assert_eq!(GoDuration::parse(s), Some(GoDuration(*nanos)), "{s:?}");
        }
        for bad in [
            "",
            "-",
            "h",
            "1",
            "10",
            "1d",
            "1 h",
            " 1h",
            "1h ",
            ".h",
            "1.5",
            "1hm",
            "24H",
            "2562047h47m16.854775808s",
            "9999999999999999999h",
            "1e3s",
        ] {
            assert_eq!(GoDuration::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formats_as_go_does() {
        let table: &[(i64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1µs"),
            (300_000_000, "300ms"),
            (1_500_000_000, "1.5s"),
            (90 * SEC, "1m30s"),
            (3600 * SEC, "1h0m0s"),
            (5400 * SEC, "1h30m0s"),
            (24 * 3600 * SEC, "24h0m0s"),
            (168 * 3600 * SEC, "168h0m0s"),
            (876_000 * 3600 * SEC, "876000h0m0s"),
            (-5400 * SEC, "-1h30m0s"),
            (i64::MAX, "2562047h47m16.854775807s"),
        ];
        for (nanos, s) in table {
            assert_eq!(GoDuration(*nanos).to_string(), *s);
        }
        // Round trips through the canonical form.
        for s in ["1.5h", "24h", "720h0m0s", "8760h"] {
            let d = GoDuration::parse(s).unwrap();
            assert_eq!(GoDuration::parse(&d.to_string()), Some(d));
        }
    }

    #[test]
    fn lifetimes() {
        assert_eq!(friendly_lifetime(1), "1 day");
        assert_eq!(friendly_lifetime(7), "7 days");
        assert_eq!(friendly_lifetime(365), "1 year");
        assert_eq!(friendly_lifetime(3650), "10 years");
        assert_eq!(friendly_lifetime(400), "400 days");
        assert_eq!(friendly_lifetime(36_500), "Never");
    }

    #[test]
    fn file_lifetimes_follow_picoshare() {
        assert_eq!(FileLifetime::parse("876000h0m0s"), Ok(FileLifetime::Never));
        assert_eq!(FileLifetime::parse("876000h"), Ok(FileLifetime::Never));
        // Issue 20: hours are fine (PicoShare asks for a day), not less than one.
        assert_eq!(
            FileLifetime::parse("59m59s"),
            Err("file lifetime must be at least 1 hour")
        );
        assert_eq!(
            FileLifetime::parse("6h").map(FileLifetime::encode),
            Ok("6h0m0s".to_owned())
        );
        assert_eq!(
            FileLifetime::parse("6h").unwrap().friendly_name(),
            "6 hours"
        );
        assert!(FileLifetime::parse("7 days").is_err());
        let week = FileLifetime::parse("168h").unwrap();
        assert_eq!(week.encode(), "168h0m0s");
        assert_eq!(FileLifetime::Never.encode(), "876000h0m0s");
        assert_eq!(FileLifetime::from_db(None), FileLifetime::Never);
        assert_eq!(FileLifetime::from_db(Some("168h0m0s")), week);
        let now = Timestamp::from_unix(1_800_000_000);
        assert_eq!(week.expiration_from(now), now.plus_secs(7 * 86_400));
        assert_eq!(FileLifetime::Never.expiration_from(now), Timestamp::never());
        let names = [
            ("24h", "1 day"),
            ("168h", "7 days"),
            ("720h", "30 days"),
            ("8760h", "1 year"),
            ("17520h", "2 years"),
            ("9600h", "400 days"),
            ("876000h", "Never"),
        ];
        for (s, name) in names {
            assert_eq!(FileLifetime::parse(s).unwrap().friendly_name(), name);
        }
    }
}
