//! The differential tests' shared half: random forms (files full of boundary look-alikes,
//! random boundaries, part orders and extra fields), and Python's `email` package
//! (`encode.py`) as the independent encoder that turns them into multipart bodies.
//! Used by multipart/tests/differential.rs (the reader alone, at every buffer size) and by the
//! server's tests/issue_13_multipart.rs (uploads through the real binary).
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};

/// The reference encoder (Python's standard library only).
const ENCODER: &str = include_str!("encode.py");

/// xorshift64*: small, deterministic, seedable.
pub struct Rng(pub u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Why the reference encoder cannot run, if it cannot: `python3` (any 3.x: only the standard
/// library's `email` package is used) must be on the PATH.
pub fn python3_missing() -> Option<String> {
    match Command::new("python3")
        .args(["-c", "import email.generator"])
        .output()
    {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "python3 cannot import email.generator: {}",
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) => Some(format!(
            "python3 is not installed ({e}): the multipart differential tests use Python's \
             email package as the reference encoder; install it with apt-get install python3"
        )),
    }
}

/// Iterations: `FUZZ_ITERS` when set (`make fuzz`), else `default` (`make test`).
pub fn iterations(default: usize) -> usize {
    std::env::var("FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One part of a form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    /// `filename` fallback plus the real name in `filename*` (compat32 policy only: the
    /// newer policies merge the two into one parameter).
    pub both_forms: bool,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// One form, as the encoder is asked to write it.
#[derive(Clone, Debug)]
pub struct Form {
    pub policy: &'static str,
    pub boundary: String,
    pub preamble: Option<String>,
    pub epilogue: Option<String>,
    pub parts: Vec<Part>,
}

/// A form and the encoder's rendering of it.
pub struct Encoded {
    /// The form, as a reader must find it: each part's `Content-Type` is the value the
    /// encoder wrote (the newer policies rewrite parameters), `both_forms` is cleared.
    pub form: Form,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// RFC 2046 `bchars` without the space; `~` is kept out (see [`make_valid`]).
const BCHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?";

pub fn boundary(rng: &mut Rng) -> String {
    let len = match rng.below(4) {
        0 => 1 + rng.below(3),
        1 => 70,
        _ => 1 + rng.below(70),
    };
    let mut b: Vec<u8> = (0..len).map(|_| *rng.pick(BCHARS)).collect();
    // Spaces inside (never last), as RFC 2046 allows.
    if len > 2 && rng.chance(20) {
        let at = rng.below(len - 1);
        b[at] = b' ';
    }
    String::from_utf8(b).expect("ASCII")
}

/// File content built from pieces that look like delimiters: the boundary, `--boundary`,
/// every prefix of `CRLF--boundary`, CRLFs, bare CRs and LFs, `--`, whitespace and random
/// bytes, placed at random offsets — then made valid (see [`make_valid`]).
pub fn content(rng: &mut Rng, boundary: &str, max_len: usize) -> Vec<u8> {
    let target = match rng.below(10) {
        0 => 0,
        1 => rng.below(max_len + 1),
        _ => rng.below(max_len.min(3000) + 1),
    };
    content_of_len(rng, boundary, target)
}

/// [`content`] of about `target` bytes (a few more where look-alikes had to be broken).
pub fn content_of_len(rng: &mut Rng, boundary: &str, target: usize) -> Vec<u8> {
    let delimiter = format!("\r\n--{boundary}");
    let mut out = Vec::new();
    while out.len() < target {
        match rng.below(14) {
            0 => out.extend_from_slice(boundary.as_bytes()),
            1 => out.extend_from_slice(format!("--{boundary}").as_bytes()),
            2 | 3 => {
                let k = 1 + rng.below(delimiter.len());
                out.extend_from_slice(&delimiter.as_bytes()[..k]);
            }
            4 => {
                out.extend_from_slice(delimiter.as_bytes());
                let tails: [&[u8]; 9] = [
                    b"x", b"--x", b" x", b"\t\r", b"-", b"\r", b"\n", b"--\r", b"  --",
                ];
                let tail = tails[rng.below(tails.len())];
                out.extend_from_slice(tail);
            }
            5 => out.extend_from_slice(b"\r\n"),
            6 => out.push(*rng.pick(b"\r\n")),
            7 => out.extend_from_slice(b"--"),
            8 => out.extend_from_slice(&b" \t "[..1 + rng.below(3)]),
            _ => {
                let run = if rng.chance(10) { 4096 } else { 64 };
                let n = 1 + rng.below(run);
                out.extend((0..n).map(|_| rng.next() as u8));
            }
        }
    }
    out.truncate(target);
    make_valid(&mut out, boundary);
    out
}

/// Where `data`, placed in a part and followed by its delimiter, would itself hold a
/// delimiter (RFC 2046: `CRLF--boundary`, then `--` or not, then whitespace and CRLF; the
/// CRLF that ends the part's header block counts as a line start). An RFC-conforming sender
/// cannot send such a file with this boundary, so the generators avoid it. Written apart from
/// the reader's scanner, on purpose. Offsets are where each match's boundary ends in `data`.
pub fn hidden_delimiters(data: &[u8], boundary: &str) -> Vec<usize> {
    let pattern = format!("\r\n--{boundary}");
    let p = pattern.as_bytes();
    // The part in context: the header block's CRLF, the data, the real delimiter.
    let text = [b"\r\n".as_slice(), data, p].concat();
    let last = text.len() - p.len();
    (0..last)
        .filter(|&i| {
            if !text[i..].starts_with(p) {
                return false;
            }
            let mut j = i + p.len();
            if text[j..].starts_with(b"--") {
                j += 2;
            }
            while j < text.len() && (text[j] == b' ' || text[j] == b'\t') {
                j += 1;
            }
            text[j..].starts_with(b"\r\n") || j == text.len()
        })
        .map(|i| i + p.len() - 2)
        .collect()
}

/// The first of [`hidden_delimiters`].
pub fn hidden_delimiter(data: &[u8], boundary: &str) -> Option<usize> {
    hidden_delimiters(data, boundary).first().copied()
}

/// Breaks every hidden delimiter by inserting `~` (never in a boundary) right after its
/// boundary; the rest of the content, look-alikes included, stays.
pub fn make_valid(data: &mut Vec<u8>, boundary: &str) {
    loop {
        let found = hidden_delimiters(data, boundary);
        if found.is_empty() {
            return;
        }
        let mut fixed = Vec::with_capacity(data.len() + found.len());
        let mut from = 0;
        for at in found {
            let at = at.min(data.len());
            fixed.extend_from_slice(&data[from..at]);
            fixed.push(b'~');
            from = at;
        }
        fixed.extend_from_slice(&data[from..]);
        *data = fixed;
    }
}

/// A file name: printable ASCII including quotes, backslashes, `;`, `%` and `'`, and
/// non-ASCII letters; never a path, a control character or a leading dot (those are the
/// server's filename rules, tested elsewhere).
pub fn filename(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "a", "b", "Z", "0", " ", ";", "\"", "\\", "%", "'", "=", ",", "-", "_", "(", "é", "ü", "✓",
        "日本", "😀", "%22", "%0A", "*", "file", ".txt", ".csv",
    ];
    let n = 1 + rng.below(12);
    let mut s: String = (0..n).map(|_| *rng.pick(PIECES)).collect();
    while s.starts_with('.') || s.starts_with(' ') {
        s.remove(0);
    }
    if s.is_empty() || s.len() > 200 {
        s = "x.bin".into();
    }
    s
}

/// An extra form field's name (ASCII; quotes, `;` and backslashes included).
pub fn field_name(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &["x", "extra", "f", ";", "\"", "\\", " ", "-", "file2", "n"];
    let n = 1 + rng.below(5);
    (0..n).map(|_| *rng.pick(PIECES)).collect()
}

pub fn content_type(rng: &mut Rng) -> Option<String> {
    const TYPES: &[&str] = &[
        "application/octet-stream",
        "text/plain; charset=utf-8",
        "image/png",
        "application/x-weird+type; a=\"b; c\"",
    ];
    (!rng.chance(20)).then(|| rng.pick(TYPES).to_string())
}

/// Text for the preamble or epilogue (may hold boundary look-alikes; made valid).
pub fn filler(rng: &mut Rng, boundary: &str) -> Option<String> {
    if rng.chance(60) {
        return None;
    }
    let mut s = String::from_utf8_lossy(&content(rng, boundary, 200)).into_owned();
    // One line of printable ASCII: the email package writes the preamble as ASCII text.
    s.retain(|c| c.is_ascii() && !c.is_ascii_control());
    let mut b = s.into_bytes();
    make_valid(&mut b, boundary);
    String::from_utf8(b).ok()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex from the encoder"))
        .collect()
}

fn opt_hex(s: &Option<String>) -> String {
    s.as_deref().map_or("-".into(), |s| hex(s.as_bytes()))
}

/// Encodes every form with Python's `email` package (one `python3` process for all).
pub fn encode(forms: Vec<Form>) -> Vec<Encoded> {
    let mut input = String::new();
    for f in &forms {
        input.push_str(&format!(
            "{} {} {} {} {}\n",
            f.policy,
            hex(f.boundary.as_bytes()),
            opt_hex(&f.preamble),
            opt_hex(&f.epilogue),
            f.parts.len()
        ));
        for p in &f.parts {
            input.push_str(&format!(
                "{} {} {} {} {}\n",
                hex(p.name.as_bytes()),
                opt_hex(&p.filename),
                if p.both_forms { "both" } else { "plain" },
                opt_hex(&p.content_type),
                if p.data.is_empty() {
                    String::new()
                } else {
                    hex(&p.data)
                },
            ));
        }
    }
    let mut child = Command::new("python3")
        .args(["-c", ENCODER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3: {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("python3 output");
    writer.join().expect("writer").expect("write to python3");
    assert!(out.status.success(), "the reference encoder failed");
    let text = String::from_utf8(out.stdout).expect("hex output");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), forms.len(), "one body per form");
    forms
        .into_iter()
        .zip(lines)
        .map(|(form, line)| {
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), 2 + form.parts.len(), "encoder output fields");
            let text = |h: &str| String::from_utf8(unhex(h)).expect("UTF-8 header value");
            let mut form = form;
            for (part, written) in form.parts.iter_mut().zip(&fields[2..]) {
                part.content_type = (*written != "-").then(|| text(written));
                part.both_forms = false;
            }
            Encoded {
                form,
                content_type: text(fields[0]),
                body: if fields[1] == "-" {
                    Vec::new()
                } else {
                    unhex(fields[1])
                },
            }
        })
        .collect()
}

/// A random form: a `file` part (sometimes two, sometimes none), a note, extra fields and
/// extra files in random order. `max_file` bounds the file's size.
pub fn form(rng: &mut Rng, max_file: usize) -> Form {
    let policy = *rng.pick(&["compat32", "http", "utf8"]);
    let boundary = boundary(rng);
    let mut parts = Vec::new();
    let files = match rng.below(10) {
        0 => 0,
        1 => 2,
        _ => 1,
    };
    for _ in 0..files {
        let name = filename(rng);
        parts.push(Part {
            name: "file".into(),
            both_forms: policy == "compat32" && rng.chance(30),
            filename: Some(name),
            content_type: content_type(rng),
            data: content(rng, &boundary, max_file),
        });
    }
    // At least one part: with none, the email package writes one empty part without headers,
    // which RFC 7578 does not allow (every part names its field).
    if rng.chance(40) || parts.is_empty() {
        let mut note: Vec<u8> = (0..rng.below(60))
            .map(|_| *rng.pick(b"note text -=;\""))
            .collect();
        make_valid(&mut note, &boundary);
        parts.push(Part {
            name: "note".into(),
            filename: None,
            both_forms: false,
            content_type: None,
            data: note,
        });
    }
    for _ in 0..rng.below(4) {
        let with_file = rng.chance(50);
        parts.push(Part {
            name: field_name(rng),
            filename: with_file.then(|| filename(rng)),
            both_forms: false,
            content_type: if with_file { content_type(rng) } else { None },
            data: content(rng, &boundary, 500),
        });
    }
    // Random order.
    for i in (1..parts.len()).rev() {
        parts.swap(i, rng.below(i + 1));
    }
    Form {
        policy,
        preamble: filler(rng, &boundary),
        epilogue: filler(rng, &boundary),
        boundary,
        parts,
    }
}
