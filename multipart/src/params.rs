//! Header values with parameters (`form-data; name="a; b"; filename*=UTF-8''%E2%9C%93`):
//! quoted strings, RFC 8187 extended values, and the request's `multipart/form-data`
//! boundary.

use crate::error::Error;
use crate::scan::MAX_BOUNDARY;

/// One `name=value` parameter; the value unquoted (quoted strings unescaped).
#[derive(Debug, PartialEq, Eq)]
pub struct Param {
    /// The name, ASCII-lowercased.
    pub name: String,
    pub value: Vec<u8>,
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// RFC 9110 `tchar`.
pub fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_ows(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_ows(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// Splits `value; params` into the value before the first `;` (trimmed) and the parameters.
/// Parameter names are tokens; values are quoted strings (`\"` and `\\` unescape; any other
/// backslash is kept, as old clients send Windows paths unescaped; see [`quoted`] for
/// unescaped quotes) or run to the next `;`.
/// A repeated parameter name is an error: which one a reader picks would be a guess.
pub fn split(header: &[u8]) -> Result<(&[u8], Vec<Param>), String> {
    let (main, mut rest) = match header.iter().position(|&b| b == b';') {
        Some(i) => (&header[..i], &header[i..]),
        None => (header, &header[header.len()..]),
    };
    let mut params: Vec<Param> = Vec::new();
    loop {
        rest = trim(rest);
        match rest {
            [] => break,
            [b';', tail @ ..] => rest = tail,
            _ => return Err("parameters must be separated by ';'".into()),
        }
        rest = trim(rest);
        if rest.is_empty() || rest[0] == b';' {
            continue; // An empty parameter (`a; ; b`, a trailing `;`): nothing to read.
        }
        let name_len = rest.iter().take_while(|&&b| is_token_char(b)).count();
        if name_len == 0 {
            return Err(format!(
                "a parameter name starts with {:?}",
                char::from(rest[0])
            ));
        }
        let name = String::from_utf8_lossy(&rest[..name_len]).to_ascii_lowercase();
        rest = trim(&rest[name_len..]);
        match rest {
            [b'=', tail @ ..] => rest = trim(tail),
            _ => return Err(format!("parameter {name} has no '=' and value")),
        }
        let value;
        if let [b'"', tail @ ..] = rest {
            let (v, after) = quoted(tail)
                .ok_or_else(|| format!("parameter {name}'s quoted value has no closing quote"))?;
            value = v;
            rest = after;
        } else {
            let end = rest.iter().position(|&b| b == b';').unwrap_or(rest.len());
            value = trim(&rest[..end]).to_vec();
            rest = &rest[end..];
        }
        if params.iter().any(|p| p.name == name) {
            return Err(format!("parameter {name} appears twice"));
        }
        params.push(Param { name, value });
    }
    Ok((trim(main), params))
}

/// The content of a quoted string whose opening quote was consumed, and the bytes after its
/// closing quote. A quote closes the string only where a `;` or the end of the header
/// follows (after optional whitespace): clients that leave quotes in names unescaped
/// (`filename="say "hi".txt"`) are read as they meant, and nothing that parses as RFC 7578
/// reads differently.
fn quoted(s: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'"' if matches!(trim(&s[i + 1..]).first(), None | Some(b';')) => {
                return Some((out, &s[i + 1..]))
            }
            b'\\' if matches!(s.get(i + 1), Some(b'"' | b'\\')) => {
                out.push(s[i + 1]);
                i += 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    None
}

/// Decodes an RFC 8187 (RFC 5987) extended value `charset'language'percent-encoded`.
/// UTF-8 and ISO-8859-1 are the charsets RFC 5987 names; others are refused.
pub fn decode_ext_value(v: &[u8]) -> Result<String, String> {
    let mut fields = v.splitn(3, |&b| b == b'\'');
    let (Some(charset), Some(_language), Some(encoded)) =
        (fields.next(), fields.next(), fields.next())
    else {
        return Err("filename* is not of the form charset'language'value".into());
    };
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut i = 0;
    while i < encoded.len() {
        if encoded[i] == b'%' {
            let hex = encoded
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("filename* has a '%' not followed by two hex digits")?;
            bytes.push(hex);
            i += 3;
        } else {
            bytes.push(encoded[i]);
            i += 1;
        }
    }
    if charset.eq_ignore_ascii_case(b"utf-8") {
        String::from_utf8(bytes).map_err(|_| "filename* is not valid UTF-8".into())
    } else if charset.eq_ignore_ascii_case(b"iso-8859-1") {
        Ok(bytes.iter().map(|&b| char::from(b)).collect())
    } else {
        Err(format!(
            "filename* charset {:?} is not supported (UTF-8 or ISO-8859-1)",
            String::from_utf8_lossy(charset)
        ))
    }
}

/// Why a request's `Content-Type` yields no boundary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContentTypeError {
    /// Not `multipart/form-data`.
    NotFormData,
    /// `multipart/form-data` without a usable `boundary` parameter.
    Boundary(Error),
}

/// The unquoted `boundary` of a `multipart/form-data` content type. Quoted or not, it must
/// be 1–70 printable ASCII characters not ending in a space (RFC 2046 §5.1.1, whose `bchars`
/// are relaxed to every printable character, as clients stray from them).
pub fn boundary_of(content_type: &str) -> Result<String, ContentTypeError> {
    let bad = |why: String| ContentTypeError::Boundary(Error::InvalidBoundary(why));
    let kind = content_type.split(';').next().unwrap_or("").trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return Err(ContentTypeError::NotFormData);
    }
    let (_, params) = split(content_type.as_bytes()).map_err(bad)?;
    let boundary = params
        .into_iter()
        .find(|p| p.name == "boundary")
        .ok_or_else(|| bad("the Content-Type has no boundary parameter".into()))?;
    check_boundary(&boundary.value).map_err(ContentTypeError::Boundary)?;
    String::from_utf8(boundary.value).map_err(|_| bad("not ASCII".into()))
}

/// Checks a boundary: 1–70 printable ASCII characters, the last not a space.
pub fn check_boundary(b: &[u8]) -> Result<(), Error> {
    let why = if b.is_empty() {
        "it is empty"
    } else if b.len() > MAX_BOUNDARY {
        "it is longer than 70 characters"
    } else if !b.iter().all(|&c| (0x20..0x7f).contains(&c)) {
        "it has a character that is not printable ASCII"
    } else if b.ends_with(b" ") {
        "it ends with a space"
    } else {
        return Ok(());
    };
    Err(Error::InvalidBoundary(why.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(s: &str) -> Result<Vec<(String, String)>, String> {
        let (main, ps) = split(s.as_bytes())?;
        let mut out = vec![(String::new(), String::from_utf8_lossy(main).into_owned())];
        out.extend(
            ps.into_iter()
                .map(|p| (p.name, String::from_utf8_lossy(&p.value).into_owned())),
        );
        Ok(out)
    }

    fn ok(pairs: &[(&str, &str)]) -> Result<Vec<(String, String)>, String> {
        Ok(pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect())
    }

    #[test]
    fn parameters_honour_quotes_and_escapes() {
        assert_eq!(
            params(r#"form-data; name="file"; filename="données été; v2.csv""#),
            ok(&[
                ("", "form-data"),
                ("name", "file"),
                ("filename", "données été; v2.csv")
            ])
        );
        assert_eq!(
            params(r#"form-data;name=file;FILENAME = "say \"hi\" \\ C:\dir\x.txt" ;"#),
            ok(&[
                ("", "form-data"),
                ("name", "file"),
                ("filename", r#"say "hi" \ C:\dir\x.txt"#)
            ])
        );
        assert_eq!(
            params("form-data; name=a b ; ; filename*=UTF-8''%C3%A9"),
            ok(&[
                ("", "form-data"),
                ("name", "a b"),
                ("filename*", "UTF-8''%C3%A9")
            ])
        );
        assert_eq!(params("form-data"), ok(&[("", "form-data")]));
        assert_eq!(
            params(r#"form-data; name="""#),
            ok(&[("", "form-data"), ("name", "")])
        );
        // An unescaped quote that is not followed by `;` or the end is part of the value.
        assert_eq!(
            params(r#"form-data; name="file"; filename="<x>"'&.txt""#),
            ok(&[
                ("", "form-data"),
                ("name", "file"),
                ("filename", r#"<x>"'&.txt"#)
            ])
        );
        assert_eq!(
            params(r#"form-data; filename="say "hi".txt" ; name=f"#),
            ok(&[
                ("", "form-data"),
                ("filename", r#"say "hi".txt"#),
                ("name", "f")
            ])
        );
        for bad in [
            r#"form-data; name="unterminated"#,
            r#"form-data; name="a"b"#,
            "form-data; name",
            "form-data; =x",
            "form-data; name=a; NAME=b",
            r#"form-data; name="a" x; filename=b"#,
        ] {
            assert!(params(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn extended_values_decode_utf8_and_latin1() {
        assert_eq!(
            decode_ext_value(b"UTF-8''%E2%9C%93%20ok.txt"),
            Ok("✓ ok.txt".into())
        );
        assert_eq!(decode_ext_value(b"utf-8'en'a%3Bb"), Ok("a;b".into()));
        assert_eq!(decode_ext_value(b"iso-8859-1''caf%E9"), Ok("café".into()));
        for bad in [
            &b"UTF-8''%E9"[..],
            b"UTF-8''%4",
            b"UTF-8''%zz",
            b"koi8-r''x",
            b"x.txt",
            b"UTF-8'x",
        ] {
            assert!(
                decode_ext_value(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn boundaries_from_content_types() {
        let b = |s: &str| boundary_of(s).map_err(|e| format!("{e:?}"));
        assert_eq!(b("multipart/form-data; boundary=abc"), Ok("abc".into()));
        assert_eq!(
            b("Multipart/Form-Data;boundary=\"a b\"; charset=x"),
            Ok("a b".into())
        );
        assert_eq!(
            b("multipart/form-data; charset=utf-8; BOUNDARY=\"a;b\""),
            Ok("a;b".into())
        );
        assert_eq!(
            b(&format!("multipart/form-data; boundary={}", "x".repeat(70))),
            Ok("x".repeat(70))
        );
        assert_eq!(
            boundary_of("text/plain; boundary=abc"),
            Err(ContentTypeError::NotFormData)
        );
        assert_eq!(boundary_of(""), Err(ContentTypeError::NotFormData));
        for bad in [
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "multipart/form-data; boundary=\"\"",
            "multipart/form-data; boundary=\"ab \"",
            "multipart/form-data; boundary=a\u{7f}b",
            "multipart/form-data; boundary=é",
            "multipart/form-data; boundary=a; boundary=b",
        ] {
            assert!(
                matches!(boundary_of(bad), Err(ContentTypeError::Boundary(_))),
                "{bad}"
            );
        }
        assert!(boundary_of(&format!("multipart/form-data; boundary={}", "x".repeat(71))).is_err());
    }
}
