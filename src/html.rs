//! HTML output helpers: the one escape function every dynamic value in a page goes through,
//! and the small formatters the pages share (sizes, days left, lifetimes, dates).

use crate::model::Timestamp;

/// Escapes text for use in HTML element content and in double- or single-quoted attribute
/// values. Every dynamic value (file names, notes, labels, ids, URLs) is passed through this.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment the way JavaScript's `encodeURIComponent` does, so the
/// "full link" built server-side matches the one the upload page builds.
pub fn encode_uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Parses an `application/x-www-form-urlencoded` body (`a=1&b=x+y%21`) into name/value
/// pairs: `+` is a space, `%XX` a byte; malformed escapes stay as they are, and bytes that are
/// not UTF-8 become U+FFFD.
pub fn parse_form(body: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => {
                    let hex = std::str::from_utf8(&b[i + 1..i + 3])
                        .ok()
                        .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                        .and_then(|h| u8::from_str_radix(h, 16).ok());
                    match hex {
                        Some(v) => {
                            out.push(v);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// A size in bytes, 1024-based: `24 B` below 1 KiB, else two decimals with
/// `kB MB GB TB PB EB` (`1.50 MB`).
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["kB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2} {}", UNITS[unit])
}

/// Whole days from `now` until `t`, rounded to the nearest day (negative once past).
pub fn days_until(now: Timestamp, t: Timestamp) -> i64 {
    ((t.unix() - now.unix()) as f64 / 86_400.0).round() as i64
}

/// `1 day`, `N days`.
pub fn plural_days(n: i64) -> String {
    if n.abs() == 1 {
        format!("{n} day")
    } else {
        format!("{n} days")
    }
}

/// The "(N days)" or "(N days ago)" suffix shown after an expiry date.
pub fn days_left_label(now: Timestamp, t: Timestamp) -> String {
    let n = days_until(now, t);
    if n < 0 {
        format!("{} ago", plural_days(-n))
    } else {
        plural_days(n)
    }
}

/// A lifetime in days as people say it: `1 day`, `30 days`, `1 year`, `2 years` on 365-day
/// boundaries, `Never` for PicoShare's 36,500-day "forever".
pub fn friendly_lifetime(days: i64) -> String {
    if days >= 36_500 {
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

/// A `<time>` element: the RFC 3339 value for the browser to show in the viewer's local time
/// (`format` is `date` or `datetime`, read by common.js), with a UTC fallback text.
pub fn time(t: Timestamp, format: &str) -> String {
    let fallback = if format == "date" {
        t.date()
    } else {
        format!(
            "{} UTC",
            t.rfc3339().replace('T', " ").trim_end_matches('Z')
        )
    };
    format!(
        "<time datetime=\"{}\" data-format=\"{}\">{}</time>",
        escape(&t.rfc3339()),
        escape(format),
        escape(&fallback)
    )
}

/// An expiry as the lists show it: `Never`, or the date and the days left.
pub fn expiry(now: Timestamp, t: Timestamp) -> String {
    if t.is_never() {
        "Never".into()
    } else {
        format!("{} ({})", time(t, "date"), days_left_label(now, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x")</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
        );
        assert_eq!(escape("it's a & b"), "it&#39;s a &amp; b");
        assert_eq!(
            escape("\" onmouseover='x'"),
            "&quot; onmouseover=&#39;x&#39;"
        );
        assert_eq!(escape("&amp;"), "&amp;amp;", "escapes are not undone");
        assert_eq!(escape("plain Ünïcode 日本"), "plain Ünïcode 日本");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn uri_component() {
        assert_eq!(encode_uri_component("a b.txt"), "a%20b.txt");
        assert_eq!(encode_uri_component("ö/&?#"), "%C3%B6%2F%26%3F%23");
        assert_eq!(encode_uri_component("(x)!~*'-_."), "(x)!~*'-_.");
    }

    #[test]
    fn form_bodies() {
        assert_eq!(
            parse_form("passphrase=a+b%21%C3%A9&next=%2Ffiles%3Fx%3D1"),
            [
                ("passphrase".to_owned(), "a b!é".to_owned()),
                ("next".to_owned(), "/files?x=1".to_owned())
            ]
        );
        assert_eq!(
            parse_form("a=%zz&b=%4&c&&d=100%&e=%+1"),
            [
                ("a".to_owned(), "%zz".to_owned()),
                ("b".to_owned(), "%4".to_owned()),
                ("c".to_owned(), String::new()),
                ("d".to_owned(), "100%".to_owned()),
                ("e".to_owned(), "% 1".to_owned())
            ]
        );
        assert_eq!(parse_form("x=%FF")[0].1, "\u{fffd}");
        assert!(parse_form("").is_empty());
    }

    #[test]
    fn sizes() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(24), "24 B");
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(1024), "1.00 kB");
        assert_eq!(format_size(1536 * 1024), "1.50 MB");
        assert_eq!(format_size(5 << 30), "5.00 GB");
        assert_eq!(format_size(3 << 40), "3.00 TB");
        assert_eq!(format_size(u64::MAX), "16.00 EB");
    }

    #[test]
    fn days() {
        let now = Timestamp::from_unix(1_700_000_000);
        assert_eq!(days_until(now, now.plus_secs(30 * 86_400 - 5)), 30);
        assert_eq!(days_until(now, now.plus_secs(86_400 / 2 - 1)), 0);
        assert_eq!(days_left_label(now, now.plus_secs(86_400)), "1 day");
        assert_eq!(days_left_label(now, now.plus_secs(7 * 86_400)), "7 days");
        assert_eq!(
            days_left_label(now, now.plus_secs(-2 * 86_400)),
            "2 days ago"
        );
        assert_eq!(expiry(now, Timestamp::never()), "Never");
        assert!(expiry(now, now.plus_secs(30 * 86_400)).ends_with("</time> (30 days)"));
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
    fn time_element() {
        let t = Timestamp::parse_rfc3339("2024-05-01T13:04:05Z").unwrap();
        assert_eq!(
            time(t, "date"),
            "<time datetime=\"2024-05-01T13:04:05Z\" data-format=\"date\">2024-05-01</time>"
        );
        assert!(time(t, "datetime").contains(">2024-05-01 13:04:05 UTC</time>"));
    }
}
