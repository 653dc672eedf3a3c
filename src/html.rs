//! HTML by type. [`Html`] is markup that is safe to send: escaped text ([`Html::text`]),
//! markup written in our own source ([`Html::trusted`], which takes only `&'static str`), or
//! a template filled by [`html!`], which escapes every argument that is not already `Html`.
//! Pages are built from these and nothing else, so a page cannot put a file name, a note or a
//! label into its markup unescaped by accident: that would not compile. Also here: the small
//! formatters the pages share (sizes, days left, lifetimes, dates).
//!
//! Why not a template crate: what the pages need from one is exactly this guarantee, and
//! `html!` gives it with `format!`'s own syntax and no dependency. maud 0.27, the usual
//! compile-time choice, would add four crates to the lock file (maud, maud_macros,
//! proc-macro2-diagnostics, itoa) and a build of syn 2 beside the syn 3 that url already
//! pulls in: about 5 s of CPU on a clean release build of a one-line probe here, plus its own
//! template language for every page — with no difference in what can be escaped by mistake.

use std::borrow::Cow;
use std::fmt;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::duration::plural_days;
use crate::model::Timestamp;

/// Markup that is safe to put in a page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Html(Cow<'static, str>);

impl Html {
    /// `text`, escaped for element content and quoted attribute values: the way any data
    /// (file names, notes, labels, ids, URLs) becomes HTML.
    pub fn text(text: &str) -> Html {
        Html(Cow::Owned(escape(text)))
    }

    /// Markup from our own source: a literal or a constant, never data. Only `&'static str`
    /// is accepted, so a request's value cannot be passed here by accident.
    pub const fn trusted(markup: &'static str) -> Html {
        Html(Cow::Borrowed(markup))
    }

    /// Only for [`html!`]: the filled template, whose every argument was rendered.
    #[doc(hidden)]
    pub fn __from_html_macro(filled: String) -> Html {
        Html(Cow::Owned(filled))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0.into_owned()
    }

    /// Appends `more`.
    pub fn push(&mut self, more: &Html) {
        self.0.to_mut().push_str(more.as_str());
    }
}

impl std::ops::Deref for Html {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Html {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Html {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Html {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl FromIterator<Html> for Html {
    fn from_iter<I: IntoIterator<Item = Html>>(pieces: I) -> Html {
        let mut out = Html::default();
        for p in pieces {
            out.push(&p);
        }
        out
    }
}

/// How a value fills a hole of an [`html!`] template: [`Html`] as it is, text escaped,
/// numbers as their digits.
pub trait Render {
    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl Render for Html {
    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Render for str {
    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(self))
    }
}

impl Render for String {
    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_str().render(f)
    }
}

impl<T: Render + ?Sized> Render for &T {
    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).render(f)
    }
}

macro_rules! render_as_digits {
    ($($t:ty),*) => {$(
        impl Render for $t {
            fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }
    )*};
}
render_as_digits!(u16, u32, u64, usize, i64);

/// Only for [`html!`]: a [`Render`] value as `format!` takes it.
#[doc(hidden)]
pub struct Rendered<'a>(pub &'a dyn Render);

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.render(f)
    }
}

/// Fills an HTML template with `format!`'s syntax and named arguments only:
/// `html!("<b>{name}</b>", name = file.as_str())`. Every argument is [`Render`]ed (escaped
/// unless it already is [`Html`]), and the template cannot reach anything else by name: it is
/// filled inside a nested function, so an implicit capture of a local variable does not
/// compile (only constants, which are our own source, can be named without an argument).
macro_rules! html {
    ($template:literal $(, $name:ident = $value:expr)* $(,)?) => {{
        #[allow(clippy::too_many_arguments)]
        fn fill($($name: &dyn $crate::html::Render),*) -> $crate::html::Html {
            $crate::html::Html::__from_html_macro(format!(
                $template,
                $($name = $crate::html::Rendered($name)),*
            ))
        }
        fill($(&$value),*)
    }};
}
pub(crate) use html;

/// Escapes text for use in HTML element content and in double- or single-quoted attribute
/// values (see [`Html::text`]).
fn escape(s: &str) -> String {
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

/// What JavaScript's `encodeURIComponent` leaves as it is: ASCII letters, digits and
/// `-_.!~*'()`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// Percent-encodes a path segment the way JavaScript's `encodeURIComponent` does, so the
/// "full link" built server-side matches the one the upload page builds.
pub fn encode_uri_component(s: &str) -> String {
    utf8_percent_encode(s, URI_COMPONENT).to_string()
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

/// The "(N days)" or "(N days ago)" suffix shown after an expiry date.
pub fn days_left_label(now: Timestamp, t: Timestamp) -> String {
    let n = days_until(now, t);
    if n < 0 {
        format!("{} ago", plural_days(-n))
    } else {
        plural_days(n)
    }
}

/// A `<time>` element: the RFC 3339 value for the browser to show in the viewer's local time
/// (`format` is `date` or `datetime`, read by common.js), with a UTC fallback text.
pub fn time(t: Timestamp, format: &str) -> Html {
    let fallback = if format == "date" {
        t.date()
    } else {
        format!(
            "{} UTC",
            t.rfc3339().replace('T', " ").trim_end_matches('Z')
        )
    };
    html!(
        "<time datetime=\"{value}\" data-format=\"{format}\">{fallback}</time>",
        value = t.rfc3339(),
        format = format,
        fallback = fallback,
    )
}

/// An expiry as the lists show it: `Never`, or the date and the days left (or gone).
pub fn expiry(now: Timestamp, t: Timestamp) -> Html {
    if t.is_never() {
        Html::trusted("Never")
    } else {
        html!(
            "{date} ({left})",
            date = time(t, "date"),
            left = days_left_label(now, t)
        )
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
    fn templates_escape_every_argument_that_is_not_already_html() {
        let name = String::from("<b>\"x\"</b> & 'y'");
        let h = html!(
            "<p title=\"{name}\">{name}{tag}{n}</p>{{}}",
            name = name,
            tag = Html::trusted("<br>"),
            n = 5u64,
        );
        let escaped = "&lt;b&gt;&quot;x&quot;&lt;/b&gt; &amp; &#39;y&#39;";
        assert_eq!(
            h.as_str(),
            format!("<p title=\"{escaped}\">{escaped}<br>5</p>{{}}")
        );
        assert_eq!(Html::text(&name), escaped);
        let joined: Html = [Html::trusted("<i>"), Html::text("<"), Html::trusted("</i>")]
            .into_iter()
            .collect();
        assert_eq!(joined, "<i>&lt;</i>");
    }

    #[test]
    fn uri_component() {
        assert_eq!(encode_uri_component("a b.txt"), "a%20b.txt");
        assert_eq!(encode_uri_component("ö/&?#"), "%C3%B6%2F%26%3F%23");
        assert_eq!(encode_uri_component("(x)!~*'-_."), "(x)!~*'-_.");
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
    fn time_element() {
        let t = Timestamp::parse_rfc3339("2024-05-01T13:04:05Z").unwrap();
        assert_eq!(
            time(t, "date"),
            "<time datetime=\"2024-05-01T13:04:05Z\" data-format=\"date\">2024-05-01</time>"
        );
        assert!(time(t, "datetime").contains(">2024-05-01 13:04:05 UTC</time>"));
    }
}
