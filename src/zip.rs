//! A streamed ZIP of stored files (issue 20: a bundle's "Download all"): no compression, the
//! CRC-32 computed while each file's bytes pass, ZIP64 records where a size, an offset or the
//! number of files needs them, UTF-8 names (flag bit 11), and an exact length known before
//! the first byte, because the layout depends only on the names and sizes.
//!
//! Each file is a local header (sizes and CRC left to the data descriptor, flag bit 3), its
//! bytes, and a data descriptor carrying the CRC; then the central directory and the end
//! records. Memory per stream: the file list and one header's bytes; the files' bytes go
//! from the chunk reader straight into the caller's buffer (one chunk at a time).
//!
//! APPNOTE.TXT 6.3.10 is the reference: §4.3.7 local header, §4.3.9 data descriptor (24
//! bytes with ZIP64 sizes, when the local header has a ZIP64 extra field), §4.3.12 central
//! directory header, §4.3.14-16 ZIP64 end record, locator and end record, §4.5.3 the ZIP64
//! extra field (only the fields whose 32-bit value is 0xFFFFFFFF, in that order).

use std::collections::HashSet;
use std::io::{self, Read};

use chrono::{Datelike, TimeZone, Timelike, Utc};

use crate::crc32::Crc32;
use crate::model::Timestamp;

/// The largest value a 32-bit field holds before ZIP64 takes over (the value itself is the
/// "see the ZIP64 field" marker).
const MAX32: u64 = 0xFFFF_FFFF;
/// The largest number of files the end record counts.
const MAX16: usize = 0xFFFF;
/// General purpose flags: sizes and CRC follow the data (bit 3), the name is UTF-8 (bit 11).
const FLAGS: u16 = 0x0808;
/// Made by: Unix (3) and version 4.5, so `unzip` applies the file mode below.
const MADE_BY: u16 = (3 << 8) | 45;
/// `-rw-r--r--`, a regular file, in the high half of the external attributes.
const UNIX_MODE: u32 = 0o100_644 << 16;

/// One file in the ZIP: its name (already unique in the archive), size and time.
#[derive(Clone, Debug)]
pub struct Member {
    pub name: String,
    pub size: u64,
    pub modified: Timestamp,
}

/// Where each part of the ZIP sits: computed from names and sizes alone.
#[derive(Debug)]
pub struct Layout {
    members: Vec<Placed>,
    cd_offset: u64,
    cd_size: u64,
    /// Whether the end needs the ZIP64 end record and locator.
    zip64_end: bool,
    total: u64,
}

#[derive(Debug)]
struct Placed {
    member: Member,
    /// Offset of the local header.
    offset: u64,
    dos_time: u16,
    dos_date: u16,
}

impl Placed {
    fn name(&self) -> &[u8] {
        self.member.name.as_bytes()
    }
    /// The size needs ZIP64 fields (in the local header's extra, the descriptor and the
    /// central directory).
    fn zip64_size(&self) -> bool {
        self.member.size >= MAX32
    }
    fn zip64_offset(&self) -> bool {
        self.offset >= MAX32
    }
    fn local_len(&self) -> u64 {
        30 + self.name().len() as u64 + if self.zip64_size() { 20 } else { 0 }
    }
    fn descriptor_len(&self) -> u64 {
        if self.zip64_size() {
            24
        } else {
            16
        }
    }
    /// The central directory's ZIP64 extra field: sizes, then offset, as needed.
    fn central_extra_len(&self) -> u64 {
        let fields = if self.zip64_size() { 2 } else { 0 } + u64::from(self.zip64_offset());
        if fields == 0 {
            0
        } else {
            4 + 8 * fields
        }
    }
    fn central_len(&self) -> u64 {
        46 + self.name().len() as u64 + self.central_extra_len()
    }
    fn version_needed(&self) -> u16 {
        if self.zip64_size() || self.zip64_offset() {
            45
        } else {
            20
        }
    }
}

impl Layout {
    /// Places `members` one after the other.
    pub fn new(members: Vec<Member>) -> Layout {
        let mut offset = 0u64;
        let mut placed = Vec::with_capacity(members.len());
        for member in members {
            let (dos_time, dos_date) = dos_time_date(member.modified);
            let p = Placed {
                member,
                offset,
                dos_time,
                dos_date,
            };
            offset += p.local_len() + p.member.size + p.descriptor_len();
            placed.push(p);
        }
        let cd_offset = offset;
        let cd_size: u64 = placed.iter().map(Placed::central_len).sum();
        let zip64_end = placed.len() >= MAX16 || cd_offset >= MAX32 || cd_size >= MAX32;
        let total = cd_offset + cd_size + if zip64_end { 56 + 20 } else { 0 } + 22;
        Layout {
            members: placed,
            cd_offset,
            cd_size,
            zip64_end,
            total,
        }
    }

    /// The ZIP's exact length in bytes.
    pub fn byte_len(&self) -> u64 {
        self.total
    }
}

/// A file's bytes as the ZIP reads them.
pub trait MemberRead: Read + Send {
    /// How large a buffer the next read needs to go straight into it (see
    /// `ChunkReader::next_read_len`); 0 when any size will do.
    fn preferred_len(&self) -> usize {
        0
    }
    /// Tests' synthetic gigabytes: a CRC known in advance spares the unoptimised test build a
    /// pass over them (the checks decode the ZIP independently, so a wrong one fails).
    #[cfg(test)]
    fn known_crc(&self) -> Option<u32> {
        None
    }
}

impl MemberRead for crate::store::ChunkReader {
    fn preferred_len(&self) -> usize {
        self.next_read_len()
    }
}

/// Opens member `i`'s bytes when the stream reaches them.
pub type Opener = Box<dyn FnMut(usize) -> io::Result<Box<dyn MemberRead>> + Send>;

/// What the stream writes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Local(usize),
    Data(usize),
    Descriptor(usize),
    Central(usize),
    End,
    Done,
}

/// The ZIP as a `Read`: headers built as they are reached, files' bytes read through.
pub struct ZipStream {
    layout: Layout,
    open: Opener,
    phase: Phase,
    /// Header bytes being sent, and how many are sent.
    pending: Vec<u8>,
    sent: usize,
    /// The open member, its bytes still to come, and their CRC so far.
    reader: Option<Box<dyn MemberRead>>,
    left: u64,
    crc: Crc32,
    /// Set only by tests (see `MemberRead::known_crc`).
    known_crc: Option<u32>,
    /// Each member's CRC, for the central directory (4 bytes per file).
    crcs: Vec<u32>,
    /// Bytes produced so far (checked against the layout at the end).
    produced: u64,
}

impl ZipStream {
    pub fn new(layout: Layout, open: Opener) -> ZipStream {
        let n = layout.members.len();
        ZipStream {
            layout,
            open,
            phase: Phase::Local(0),
            pending: Vec::with_capacity(512),
            sent: 0,
            reader: None,
            left: 0,
            crc: Crc32::new(),
            known_crc: None,
            crcs: Vec::with_capacity(n),
            produced: 0,
        }
    }

    /// Builds the next header into `pending` (or opens the next file's bytes) and moves on.
    fn advance(&mut self) -> io::Result<()> {
        let n = self.layout.members.len();
        self.pending.clear();
        self.sent = 0;
        self.phase = match self.phase {
            Phase::Local(i) if i < n => {
                local_header(&mut self.pending, &self.layout.members[i]);
                self.left = self.layout.members[i].member.size;
                self.crc = Crc32::new();
                self.reader = None;
                Phase::Data(i)
            }
            Phase::Local(_) => Phase::Central(0),
            Phase::Data(i) => {
                self.reader = None;
                let crc = self.known_crc.take().unwrap_or(self.crc.value());
                self.crcs.push(crc);
                descriptor(&mut self.pending, &self.layout.members[i], crc);
                Phase::Descriptor(i)
            }
            Phase::Descriptor(i) => Phase::Local(i + 1),
            Phase::Central(i) if i < n => {
                central_header(&mut self.pending, &self.layout.members[i], self.crcs[i]);
                Phase::Central(i + 1)
            }
            Phase::Central(_) => {
                end_records(&mut self.pending, &self.layout);
                Phase::End
            }
            Phase::End | Phase::Done => Phase::Done,
        };
        Ok(())
    }

    /// Reads member bytes into `out`; 0 when the caller's room is too small for the next
    /// read to go straight into it and `out` already holds something (the caller sends that
    /// first and comes back with a whole buffer).
    fn read_data(&mut self, i: usize, out: &mut [u8], filled: usize) -> io::Result<usize> {
        if self.reader.is_none() {
            let reader = (self.open)(i)?;
            #[cfg(test)]
            {
                self.known_crc = reader.known_crc();
            }
            self.reader = Some(reader);
        }
        let Some(reader) = self.reader.as_mut() else {
            return Ok(0);
        };
        let room = out
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        if filled > 0 && reader.preferred_len() > room {
            return Ok(0);
        }
        let got = reader.read(&mut out[..room])?;
        if got == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{} ended {} bytes early",
                    self.layout.members[i].member.name, self.left
                ),
            ));
        }
        if self.known_crc.is_none() {
            self.crc.update(&out[..got]);
        }
        self.left -= got as u64;
        Ok(got)
    }
}

impl Read for ZipStream {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        while filled < out.len() {
            if self.sent < self.pending.len() {
                let n = (self.pending.len() - self.sent).min(out.len() - filled);
                out[filled..filled + n].copy_from_slice(&self.pending[self.sent..self.sent + n]);
                self.sent += n;
                filled += n;
                continue;
            }
            match self.phase {
                Phase::Done => break,
                Phase::Data(i) if self.left > 0 => {
                    let got = self.read_data(i, &mut out[filled..], filled)?;
                    if got == 0 {
                        break;
                    }
                    filled += got;
                }
                _ => self.advance()?,
            }
        }
        self.produced += filled as u64;
        if self.phase == Phase::Done
            && self.sent == self.pending.len()
            && self.produced != self.layout.total
        {
            return Err(io::Error::other(format!(
                "ZIP layout error: {} bytes promised, {} produced",
                self.layout.total, self.produced
            )));
        }
        Ok(filled)
    }
}

fn u16le(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn u32le(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn u64le(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}
/// A 32-bit field, or the ZIP64 marker when the value does not fit.
fn field32(v: u64) -> u32 {
    u32::try_from(v)
        .ok()
        .filter(|v| *v != u32::MAX)
        .unwrap_or(u32::MAX)
}

/// §4.3.7: sizes and CRC zero (they follow in the descriptor); a ZIP64 extra field with zero
/// sizes for a file of 4 GiB or more, which tells readers the descriptor has 8-byte sizes.
fn local_header(out: &mut Vec<u8>, p: &Placed) {
    u32le(out, 0x0403_4b50);
    u16le(out, p.version_needed());
    u16le(out, FLAGS);
    u16le(out, 0); // stored
    u16le(out, p.dos_time);
    u16le(out, p.dos_date);
    u32le(out, 0); // CRC-32: in the descriptor
    let sizes = if p.zip64_size() { u32::MAX } else { 0 };
    u32le(out, sizes);
    u32le(out, sizes);
    u16le(out, p.name().len() as u16);
    u16le(out, if p.zip64_size() { 20 } else { 0 });
    out.extend_from_slice(p.name());
    if p.zip64_size() {
        u16le(out, 0x0001);
        u16le(out, 16);
        u64le(out, 0);
        u64le(out, 0);
    }
}

/// §4.3.9: signature, CRC, compressed and uncompressed sizes (stored: equal).
fn descriptor(out: &mut Vec<u8>, p: &Placed, crc: u32) {
    u32le(out, 0x0807_4b50);
    u32le(out, crc);
    if p.zip64_size() {
        u64le(out, p.member.size);
        u64le(out, p.member.size);
    } else {
        u32le(out, p.member.size as u32);
        u32le(out, p.member.size as u32);
    }
}

/// §4.3.12, with the ZIP64 extra field of §4.5.3 where a value does not fit.
fn central_header(out: &mut Vec<u8>, p: &Placed, crc: u32) {
    u32le(out, 0x0201_4b50);
    u16le(out, MADE_BY);
    u16le(out, p.version_needed());
    u16le(out, FLAGS);
    u16le(out, 0);
    u16le(out, p.dos_time);
    u16le(out, p.dos_date);
    u32le(out, crc);
    u32le(out, field32(p.member.size));
    u32le(out, field32(p.member.size));
    u16le(out, p.name().len() as u16);
    u16le(out, p.central_extra_len() as u16);
    u16le(out, 0); // comment
    u16le(out, 0); // disk
    u16le(out, 0); // internal attributes
    u32le(out, UNIX_MODE);
    u32le(out, field32(p.offset));
    out.extend_from_slice(p.name());
    let extra = p.central_extra_len();
    if extra > 0 {
        u16le(out, 0x0001);
        u16le(out, (extra - 4) as u16);
        if p.zip64_size() {
            u64le(out, p.member.size);
            u64le(out, p.member.size);
        }
        if p.zip64_offset() {
            u64le(out, p.offset);
        }
    }
}

/// §4.3.14-16: the ZIP64 end record and locator when needed, then the end record.
fn end_records(out: &mut Vec<u8>, l: &Layout) {
    let count = l.members.len();
    if l.zip64_end {
        let record_offset = l.cd_offset + l.cd_size;
        u32le(out, 0x0606_4b50);
        u64le(out, 44); // the record's size after this field
        u16le(out, MADE_BY);
        u16le(out, 45);
        u32le(out, 0); // this disk
        u32le(out, 0); // the disk where the directory starts
        u64le(out, count as u64);
        u64le(out, count as u64);
        u64le(out, l.cd_size);
        u64le(out, l.cd_offset);
        u32le(out, 0x0706_4b50);
        u32le(out, 0); // the disk with the ZIP64 end record
        u64le(out, record_offset);
        u32le(out, 1); // disks in all
    }
    let count16 = if count >= MAX16 { 0xFFFF } else { count as u16 };
    u32le(out, 0x0605_4b50);
    u16le(out, 0);
    u16le(out, 0);
    u16le(out, count16);
    u16le(out, count16);
    u32le(out, field32(l.cd_size));
    u32le(out, field32(l.cd_offset));
    u16le(out, 0); // comment
}

/// MS-DOS time and date (UTC), clamped to the years DOS can say (1980-2107).
fn dos_time_date(t: Timestamp) -> (u16, u16) {
    let Some(d) = Utc.timestamp_opt(t.unix(), 0).single() else {
        return (0, (1 << 5) | 1);
    };
    if d.year() < 1980 {
        return (0, (1 << 5) | 1);
    }
    if d.year() > 2107 {
        return ((23 << 11) | (59 << 5) | 29, (127 << 9) | (12 << 5) | 31);
    }
    let time = (d.hour() << 11) | (d.minute() << 5) | (d.second() / 2);
    let date = ((d.year() as u32 - 1980) << 9) | (d.month() << 5) | d.day();
    (time as u16, date as u16)
}

/// Names for the files of one ZIP: each stored name made safe to extract (no path
/// separators, no control characters, never empty, `.` or `..`) and unique, ignoring case
/// (two names differing only in case would overwrite each other on Windows and macOS):
/// later duplicates become `name (2).ext`, `name (3).ext`, …
pub fn unique_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let safe: Vec<String> = names.into_iter().map(safe_name).collect();
    let mut taken: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(safe.len());
    for name in safe {
        let mut candidate = name.clone();
        let (stem, ext) = split_extension(&name);
        let mut n = 2;
        while !taken.insert(candidate.to_lowercase()) {
            candidate = format!("{stem} ({n}){ext}");
            n += 1;
        }
        out.push(candidate);
    }
    out
}

fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    match cleaned.as_str() {
        "" | "." | ".." => "file".to_owned(),
        _ => cleaned,
    }
}

/// `("report", ".pdf")`; a leading dot is part of the stem (`.bashrc` has no extension).
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_of(members: Vec<(String, Vec<u8>)>) -> Vec<u8> {
        let layout = Layout::new(
            members
                .iter()
                .map(|(name, data)| Member {
                    name: name.clone(),
                    size: data.len() as u64,
                    modified: Timestamp::from_unix(1_700_000_000),
                })
                .collect(),
        );
        let len = layout.byte_len();
        let datas: Vec<Vec<u8>> = members.into_iter().map(|m| m.1).collect();
        let mut z = ZipStream::new(
            layout,
            Box::new(move |i| {
                Ok(Box::new(io::Cursor::new(datas[i].clone())) as Box<dyn MemberRead>)
            }),
        );
        let mut out = Vec::new();
        // Odd buffer sizes cross every boundary.
        let mut buf = [0u8; 7];
        loop {
            let n = z.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out.len() as u64, len, "the promised length");
        out
    }

    impl MemberRead for io::Cursor<Vec<u8>> {}

    #[test]
    fn issue_20_names_are_made_safe_and_unique() {
        assert_eq!(
            unique_names([
                "a.txt",
                "A.TXT",
                "a.txt",
                "a (2).txt",
                "b",
                "b",
                ".rc",
                ".rc"
            ]),
            [
                "a.txt",
                "A (2).TXT",
                "a (3).txt",
                "a (2) (2).txt",
                "b",
                "b (2)",
                ".rc",
                ".rc (2)"
            ]
        );
        assert_eq!(
            unique_names(["x/y", "..", "", "a\nb"]),
            ["x_y", "file", "file (2)", "a_b"]
        );
    }

    #[test]
    fn issue_20_a_small_zip_has_the_expected_records() {
        let z = zip_of(vec![
            ("été.txt".into(), b"hello".to_vec()),
            ("b.bin".into(), vec![]),
        ]);
        assert_eq!(&z[..4], b"PK\x03\x04");
        assert_eq!(u16::from_le_bytes([z[6], z[7]]), FLAGS);
        // The end record: two files, no ZIP64.
        let end = &z[z.len() - 22..];
        assert_eq!(&end[..4], b"PK\x05\x06");
        assert_eq!(u16::from_le_bytes([end[10], end[11]]), 2);
        assert!(!z.windows(4).any(|w| w == b"PK\x06\x06"));
        // The descriptor of the first file: CRC of "hello".
        let d = 30 + "été.txt".len() + 5;
        assert_eq!(&z[d..d + 4], b"PK\x07\x08");
        assert_eq!(
            u32::from_le_bytes(z[d + 4..d + 8].try_into().unwrap()),
            0x3610_A686
        );
    }

    /// `size` zero bytes, whose CRC the test supplies.
    struct Zeros {
        left: u64,
        crc: Option<u32>,
    }

    impl Read for Zeros {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = out
                .len()
                .min(usize::try_from(self.left).unwrap_or(usize::MAX));
            out[..n].fill(0);
            self.left -= n as u64;
            Ok(n)
        }
    }
    impl MemberRead for Zeros {
        fn known_crc(&self) -> Option<u32> {
            self.crc
        }
    }

    /// Whether `block` is all zeros (compared with a zero block: `memcmp`, fast even in the
    /// unoptimised test build that runs this over gigabytes).
    fn is_zero(block: &[u8]) -> bool {
        static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
        block == &ZEROS[..block.len()]
    }

    #[test]
    fn issue_20_a_zip_over_4_gib_gets_zip64_records_python_reads() {
        // 4 GiB + 10 zero bytes between two small files: sizes, an offset and the central
        // directory's place all pass 32 bits. The ZIP goes to a sparse file (zero blocks are
        // skipped, not written), which Python's zipfile then checks, CRCs and all.
        let big = (4u64 << 30) + 10;
        // zlib.crc32 of `big` zero bytes; Python's testzip below recomputes it.
        const BIG_CRC: u32 = 0x6b87_b1ec;
        let members = [("small.txt", 3u64), ("big.bin", big), ("après.txt", 3u64)];
        let layout = Layout::new(
            members
                .iter()
                .map(|(name, size)| Member {
                    name: (*name).to_owned(),
                    size: *size,
                    modified: Timestamp::from_unix(1_700_000_000),
                })
                .collect(),
        );
        assert!(layout.zip64_end);
        assert!(layout.members[1].zip64_size() && !layout.members[1].zip64_offset());
        assert!(layout.members[2].zip64_offset() && !layout.members[2].zip64_size());
        let len = layout.byte_len();
        let mut z = ZipStream::new(
            layout,
            Box::new(move |i| {
                Ok(match i {
                    1 => Box::new(Zeros {
                        left: big,
                        crc: Some(BIG_CRC),
                    }) as Box<dyn MemberRead>,
                    _ => Box::new(io::Cursor::new(b"abc".to_vec())),
                })
            }),
        );
        let dir = std::env::temp_dir().join(format!("ps-zip64-{}", crate::random::hex(6)));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.zip");
        let mut file = std::fs::File::create(&path).unwrap();
        let mut buf = vec![0u8; 4 << 20];
        let mut total = 0u64;
        use std::io::{Seek, SeekFrom, Write};
        loop {
            let n = z.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            for block in buf[..n].chunks(64 << 10) {
                if is_zero(block) {
                    file.seek(SeekFrom::Current(block.len() as i64)).unwrap();
                } else {
                    file.write_all(block).unwrap();
                }
            }
            total += n as u64;
        }
        file.set_len(total).unwrap();
        drop(file);
        assert_eq!(total, len, "the promised length");
        let check = r#"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    infos = z.infolist()
    print([(i.filename, i.file_size, i.compress_type, i.header_offset > 0xFFFFFFFF) for i in infos])
    assert [i.filename for i in infos] == ["small.txt", "big.bin", "après.txt"]
    assert [i.file_size for i in infos] == [3, (4 << 30) + 10, 3]
    assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
    assert infos[2].header_offset > 0xFFFFFFFF
    assert z.read("après.txt") == b"abc"
    assert z.testzip() is None
print("ok")
"#;
        let out = std::process::Command::new("python3")
            .arg("-c")
            .arg(check)
            .arg(&path)
            .output()
            .expect("python3 runs (the tests need it)");
        let _ = std::fs::remove_dir_all(&dir);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.trim_end().ends_with("ok"),
            "{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn dos_times() {
        let t = Timestamp::parse_rfc3339("2024-05-01T13:04:06Z").unwrap();
        let (time, date) = dos_time_date(t);
        assert_eq!(time, (13 << 11) | (4 << 5) | 3);
        assert_eq!(date, (44 << 9) | (5 << 5) | 1);
        assert_eq!(dos_time_date(Timestamp::from_unix(0)).1, (1 << 5) | 1);
    }
}
