//! The reader alone: MiB of content per second for random bytes, bytes with a CR every 16,
//! and CRLF text lines, read from memory in 32 KiB pieces into a 1 MiB destination (the
//! server's spool buffer); best of five.
//!
//!     cargo run --release -p multipart --example scan_speed -- [MIB] [READ_BUFFER]

use std::io::{self, Read};
use std::time::{Duration, Instant};

use multipart::server::{Limits, Multipart};

struct Pieces<'a> {
    data: &'a [u8],
}

impl Read for Pieces<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.data.len().min(32 << 10).min(out.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn main() {
    let arg = |i: usize, default: usize| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let (mib, read_buffer) = (arg(1, 256), arg(2, Limits::default().read_buffer));
    let mut x: u64 = 12345;
    let random: Vec<u8> = (0..mib << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let mut lone_crs = random.clone();
    lone_crs
        .iter_mut()
        .skip(15)
        .step_by(16)
        .for_each(|b| *b = b'\r');
    let text: Vec<u8> = random
        .iter()
        .enumerate()
        .map(|(i, b)| match i % 64 {
            62 => b'\r',
            63 => b'\n',
            _ => b'a' + b % 26,
        })
        .collect();
    // curl's boundary shape.
    let boundary = "------------------------d74496d66958873e";
    for (name, content) in [
        ("random", &random),
        ("a CR every 16", &lone_crs),
        ("CRLF text", &text),
    ] {
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(content);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut out = vec![0u8; 1 << 20];
        let mut best = Duration::MAX;
        for _ in 0..5 {
            let started = Instant::now();
            let limits = Limits {
                read_buffer,
                ..Limits::default()
            };
            let mut form = Multipart::with_limits(Pieces { data: &body }, boundary, limits);
            let mut field = form.read_entry().expect("headers").expect("a part");
            let mut total = 0;
            loop {
                match field.data.read(&mut out).expect("content") {
                    0 => break,
                    n => total += n,
                }
            }
            assert_eq!(total, content.len());
            best = best.min(started.elapsed());
        }
        println!(
            "{name:14} {:6.0} MiB/s (read buffer {read_buffer} bytes)",
            mib as f64 / best.as_secs_f64()
        );
    }
}
