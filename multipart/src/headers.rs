//! A part's header block (RFC 7578 §4): `Content-Disposition: form-data; name=…` with an
//! optional `filename` / `filename*`, and an optional `Content-Type`. Other headers are
//! skipped.

use std::sync::Arc;

use crate::error::Error;
use crate::params::{self, is_token_char};

/// The headers of one part, as the `multipart` 0.18 API exposes them.
///
/// Everything here comes from the client: the names are decoded, not sanitised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldHeaders {
    /// The `name` parameter of `Content-Disposition`.
    pub name: Arc<str>,
    /// The file name: `filename*` (RFC 8187) when present, else `filename`; `None` when the
    /// part has neither (a plain form value).
    pub filename: Option<String>,
    /// The part's `Content-Type`, verbatim (surrounding whitespace removed); `None` when absent.
    pub content_type: Option<String>,
}

/// A control character that may not appear in a header value we keep: every C0 control but
/// HTAB, and DEL.
fn control_char(s: &str) -> Option<char> {
    s.chars().find(|&c| (c < ' ' && c != '\t') || c == '\u{7f}')
}

fn malformed(why: impl Into<String>) -> Error {
    Error::MalformedHeader(why.into())
}

/// Parses a header block: header lines each ending in CRLF, then the blank line's CRLF
/// (`block` ends with it). Folded lines (a line starting with whitespace continues the
/// previous one, RFC 5322 §2.2.3) are unfolded.
pub fn parse(block: &[u8]) -> Result<FieldHeaders, Error> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut rest = block;
    // Each line ends in CRLF; a bare CR or LF stays inside its line.
    while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
        let line = &rest[..end];
        rest = &rest[end + 2..];
        if line.is_empty() {
            break; // The blank line ending the block.
        }
        match (line.first(), lines.last_mut()) {
            (Some(b' ' | b'\t'), Some(previous)) => previous.extend_from_slice(line),
            (Some(b' ' | b'\t'), None) => {
                return Err(malformed("the first header line starts with whitespace"))
            }
            _ => lines.push(line.to_vec()),
        }
    }
    let mut disposition = None;
    let mut content_type = None;
    for line in &lines {
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| malformed(format!("line {:?} has no ':'", printable(line))))?;
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_token_char(b)) {
            return Err(malformed(format!("bad header name {:?}", printable(name))));
        }
        let value = &line[colon + 1..];
        let twice = if name.eq_ignore_ascii_case(b"content-disposition") {
            disposition.replace(value).is_some()
        } else if name.eq_ignore_ascii_case(b"content-type") {
            content_type.replace(value).is_some()
        } else {
            false
        };
        if twice {
            return Err(malformed(format!(
                "the part has two {} headers",
                printable(name)
            )));
        }
    }
    let disposition = disposition.ok_or_else(|| {
        Error::BadContentDisposition("a part has no Content-Disposition header".into())
    })?;
    let (name, filename) = parse_disposition(disposition)?;
    let content_type = content_type
        .map(|v| {
            let v = std::str::from_utf8(v)
                .map_err(|_| malformed("the part's Content-Type is not UTF-8"))?
                .trim_matches([' ', '\t']);
            match control_char(v) {
                Some(c) => Err(malformed(format!(
                    "the part's Content-Type has a control character ({:#04x})",
                    u32::from(c)
                ))),
                None => Ok(v.to_owned()),
            }
        })
        .transpose()?;
    Ok(FieldHeaders {
        name: name.into(),
        filename,
        content_type,
    })
}

/// `form-data; name=…[; filename=…][; filename*=…]` → the name and the file name.
fn parse_disposition(value: &[u8]) -> Result<(String, Option<String>), Error> {
    let bad = Error::BadContentDisposition;
    let (kind, params) = params::split(value).map_err(bad)?;
    if !kind.eq_ignore_ascii_case(b"form-data") {
        return Err(bad(format!(
            "the type is {:?}, not form-data",
            printable(kind)
        )));
    }
    let mut name = None;
    let mut plain = None;
    let mut extended = None;
    for p in params {
        match p.name.as_str() {
            "name" => name = Some(p.value),
            "filename" => plain = Some(p.value),
            "filename*" => extended = Some(p.value),
            _ => {}
        }
    }
    let name = name.ok_or_else(|| bad("no name parameter".into()))?;
    let name = String::from_utf8(name).map_err(|_| bad("the name is not UTF-8".into()))?;
    if let Some(c) = control_char(&name) {
        return Err(bad(format!(
            "the name has a control character ({:#04x})",
            u32::from(c)
        )));
    }
    // RFC 6266 §4.3: a recipient that understands filename* prefers it.
    let filename = match (extended, plain) {
        (Some(ext), _) => Some(params::decode_ext_value(&ext).map_err(Error::BadFilename)?),
        (None, Some(plain)) => Some(
            String::from_utf8(plain)
                .map_err(|_| Error::BadFilename("the filename is not UTF-8".into()))?,
        ),
        (None, None) => None,
    };
    if let Some(c) = filename.as_deref().and_then(control_char) {
        return Err(Error::BadFilename(format!(
            "the filename has a control character ({:#04x})",
            u32::from(c)
        )));
    }
    Ok((name, filename))
}

/// A short, printable rendering of client bytes for an error message.
fn printable(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(40)]).into_owned();
    if b.len() > 40 {
        format!("{s}…")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(block: &str) -> Result<FieldHeaders, Error> {
        parse(block.as_bytes())
    }

    fn file(name: &str, filename: Option<&str>, ct: Option<&str>) -> Result<FieldHeaders, Error> {
        Ok(FieldHeaders {
            name: name.into(),
            filename: filename.map(str::to_owned),
            content_type: ct.map(str::to_owned),
        })
    }

    #[test]
    fn rfc_7578_part_headers() {
        assert_eq!(
            field("Content-Disposition: form-data; name=\"file\"; filename=\"données été; v2.csv\"\r\nContent-Type: text/csv\r\n\r\n"),
            file("file", Some("données été; v2.csv"), Some("text/csv"))
        );
        assert_eq!(
            field("content-disposition:FORM-DATA;NAME=note\r\nX-Other: 1\r\nX-More: 2\r\nX-Again: 3\r\nX-Five: 4\r\n\r\n"),
            file("note", None, None)
        );
        // filename* wins over filename, whatever the order.
        assert_eq!(
            field("Content-Disposition: form-data; filename*=UTF-8''%E2%9C%93.txt; name=file; filename=\"fallback.txt\"\r\n\r\n"),
            file("file", Some("✓.txt"), None)
        );
        // Escaped quotes, and a header folded over two lines.
        assert_eq!(
            field("Content-Disposition: form-data; name=\"file\";\r\n filename=\"say \\\"hi\\\".txt\"\r\nContent-Type:  not a mime type \r\n\r\n"),
            file("file", Some("say \"hi\".txt"), Some("not a mime type"))
        );
        // A tab is not refused here (the server's filename rules decide about it).
        assert_eq!(
            field("Content-Disposition: form-data; name=file; filename=\"a\tb\"\r\n\r\n"),
            file("file", Some("a\tb"), None)
        );
        assert_eq!(
            field("Content-Disposition: form-data; name=file; filename=\"\"\r\n\r\n"),
            file("file", Some(""), None)
        );
    }

    #[test]
    fn each_refusal_says_what_is_wrong() {
        let cases: &[(&[u8], &str)] = &[
            (b"\r\n", "bad Content-Disposition: a part has no Content-Disposition header"),
            (b"Content-Type: text/plain\r\n\r\n", "bad Content-Disposition: a part has no"),
            (b"Content-Disposition: attachment; name=x\r\n\r\n", "bad Content-Disposition: the type is \"attachment\""),
            (b"Content-Disposition: form-data; filename=x\r\n\r\n", "bad Content-Disposition: no name"),
            (b"Content-Disposition: form-data; name=\"x\r\n\r\n", "bad Content-Disposition: parameter name's quoted value"),
            (b"Content-Disposition: form-data; name=x\r\nContent-Disposition: form-data; name=y\r\n\r\n", "malformed part header: the part has two Content-Disposition headers"),
            (b"Content-Disposition: form-data; name=x; filename=\"a\x00b\"\r\n\r\n", "bad filename: the filename has a control character (0x00)"),
            (b"Content-Disposition: form-data; name=x; filename*=UTF-8''a%1Bb\r\n\r\n", "bad filename: the filename has a control character (0x1b)"),
            (b"Content-Disposition: form-data; name=x; filename=\"\xff.txt\"\r\n\r\n", "bad filename: the filename is not UTF-8"),
            (b"Content-Disposition: form-data; name=x; filename*=UTF-8''%FF\r\n\r\n", "bad filename: filename* is not valid UTF-8"),
            (b"Content-Disposition: form-data; name=x; filename*=x.txt\r\n\r\n", "bad filename: filename* is not of the form"),
            (b"Content-Disposition: form-data; name=x\r\nno colon here\r\n\r\n", "malformed part header: line \"no colon here\" has no ':'"),
            (b"Bad Name: x\r\n\r\n", "malformed part header: bad header name"),
            (b" folded: first\r\n\r\n", "malformed part header: the first header line"),
            (b"Content-Disposition: form-data; name=x\r\nContent-Type: a\x7fb\r\n\r\n", "malformed part header: the part's Content-Type has a control character (0x7f)"),
        ];
        for (block, want) in cases {
            let got = parse(block).map(|_| ()).unwrap_err().to_string();
            assert!(
                got.starts_with(want),
                "{:?}: {got}",
                String::from_utf8_lossy(block)
            );
        }
    }
}
