//! The domain, in one place: validated values (`EntryId`, `Filename`, `Note`, `Timestamp`, …)
//! parsed once at the edge with PicoShare's exact rules and messages and trusted everywhere
//! inside, and the records the store reads and writes — files ([`EntryMeta`], [`NewEntry`],
//! [`EntryUpdate`]), guest links ([`GuestLink`] with its activity rule, [`NewGuestLink`]) and
//! downloads ([`DownloadRecord`]).

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use std::fmt;

use crate::duration::FileLifetime;
use crate::random::{self, ID_ALPHABET};

/// Entry ids are 10 characters of the id alphabet.
pub const ENTRY_ID_LEN: usize = 10;
/// Guest-link ids are 16 characters of the id alphabet.
pub const GUEST_LINK_ID_LEN: usize = 16;
/// Resumable uploads' ids are 24 characters of the id alphabet (140 bits: a guest's upload
/// URL is all that lets anyone write to, or cancel, that upload).
pub const UPLOAD_ID_LEN: usize = 24;
/// PicoShare's "never expires" timestamp, stored like any other expiration.
pub const NEVER: &str = "2999-12-31T00:00:00Z";
/// PicoShare's "never" as a lifetime in days (100 × 365): the stored default lifetime that
/// means "store files forever", and a guest link's file lifetime `876000h0m0s`.
pub const NEVER_DAYS: u16 = 36_500;

fn is_id(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| ID_ALPHABET.contains(&b))
}

/// A file's id: exactly [`ENTRY_ID_LEN`] characters of the id alphabet.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EntryId(String);

impl EntryId {
    /// Parses an id from a URL; the error is PicoShare's message.
    pub fn parse(s: &str) -> Result<Self, String> {
        if is_id(s, ENTRY_ID_LEN) {
            Ok(EntryId(s.to_owned()))
        } else {
            Err(format!("bad entry ID: invalid entry ID: {s:?}"))
        }
    }
    /// A fresh random id.
    pub fn random() -> Self {
        EntryId(random::id(ENTRY_ID_LEN))
    }
    /// An id from a URL that is not in today's format but may name an entry an older
    /// PicoShare wrote (1 to 64 ASCII letters, digits, `-` or `_`): the caller serves it only
    /// if such an entry exists.
    pub fn legacy(s: &str) -> Option<Self> {
        let shaped = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        shaped.then(|| EntryId(s.to_owned()))
    }
    /// Wraps a value read back from our own database.
    pub fn from_db(s: String) -> Self {
        EntryId(s)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A bundle's id (issue 20): like an entry id, [`ENTRY_ID_LEN`] characters of the id alphabet,
/// and never the id of an entry (so `/-{id}` names one or the other).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BundleId(String);

impl BundleId {
    pub fn parse(s: &str) -> Result<Self, String> {
        if is_id(s, ENTRY_ID_LEN) {
            Ok(BundleId(s.to_owned()))
        } else {
            Err(format!("bad bundle ID: invalid bundle ID: {s:?}"))
        }
    }
    /// A fresh random id (the store checks it names no entry).
    pub fn random() -> Self {
        BundleId(random::id(ENTRY_ID_LEN))
    }
    pub fn from_db(s: String) -> Self {
        BundleId(s)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BundleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A guest link's id: exactly [`GUEST_LINK_ID_LEN`] characters of the id alphabet.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GuestLinkId(String);

impl GuestLinkId {
    /// Parses an id from a URL; the error is PicoShare's message.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() != GUEST_LINK_ID_LEN {
            return Err(format!(
                "Invalid guest link ID: guest link ID ({s}) has invalid length: got {}, want \
                 {GUEST_LINK_ID_LEN}",
                s.len()
            ));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !c.is_ascii() || !ID_ALPHABET.contains(&(*c as u8)))
        {
            return Err(format!(
                "Invalid guest link ID: guest link ID ({s}) contains invalid character: {c}"
            ));
        }
        Ok(GuestLinkId(s.to_owned()))
    }
    pub fn random() -> Self {
        GuestLinkId(random::id(GUEST_LINK_ID_LEN))
    }
    pub fn from_db(s: String) -> Self {
        GuestLinkId(s)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GuestLinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A resumable (tus) upload's id: exactly [`UPLOAD_ID_LEN`] characters of the id alphabet.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UploadId(String);

impl UploadId {
    /// Parses an id from a URL; `None` when it cannot be one (which callers answer with 404:
    /// a malformed upload URL names no upload).
    pub fn parse(s: &str) -> Option<Self> {
        is_id(s, UPLOAD_ID_LEN).then(|| UploadId(s.to_owned()))
    }
    pub fn random() -> Self {
        UploadId(random::id(UPLOAD_ID_LEN))
    }
    pub fn from_db(s: String) -> Self {
        UploadId(s)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A file name that passed PicoShare's rules (at most 255 bytes, no path separators, no
/// line-breaking control characters, not `.` and not starting with `..`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filename(String);

impl Filename {
    pub const MAX_BYTES: usize = 255;

    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.is_empty() {
            return Err("filename must be non-empty");
        }
        if s.len() > Self::MAX_BYTES {
            return Err("filename too long");
        }
        if s == "." || s.starts_with("..") {
            return Err("filename cannot begin with dots");
        }
        const ILLEGAL: &[char] = &['\\', '/', '\x07', '\x08', '\t', '\n', '\x0b', '\x0c', '\r'];
        if s.contains(ILLEGAL) {
            return Err("illegal characters in filename");
        }
        Ok(Filename(s.to_owned()))
    }
    pub fn from_db(s: String) -> Self {
        Filename(s)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An optional note on a file; `None` when empty (PicoShare stores NULL, never `''`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note(Option<String>);

impl Note {
    pub const MAX_BYTES: usize = 500;

    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.is_empty() {
            return Ok(Note(None));
        }
        if s.len() > Self::MAX_BYTES {
            return Err("note is too long");
        }
        if s == "null" || s == "undefined" {
            return Err("note is invalid");
        }
        if has_script_tag(s) {
            return Err("note must not contain script tags");
        }
        Ok(Note(Some(s.to_owned())))
    }
    pub fn none() -> Self {
        Note(None)
    }
    pub fn from_db(s: Option<String>) -> Self {
        Note(s.filter(|s| !s.is_empty()))
    }
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// PicoShare's passphrase rule (download passphrases, and the shared secret since its #798):
/// valid UTF-8, no NUL, 1 to 100 Unicode code points, kept exactly as typed.
pub const PASSPHRASE_RULE: &str = "passphrase must contain between 1 and 100 Unicode code points";
const PASSPHRASE_NUL: &str =
    "passphrase must contain between 1 and 100 Unicode code points: NUL bytes are not allowed";
const PASSPHRASE_NOT_UTF8: &str =
    "passphrase must contain between 1 and 100 Unicode code points: invalid UTF-8";

/// Checks `bytes` against [`PASSPHRASE_RULE`]; the error is PicoShare's message.
pub fn check_passphrase(bytes: &[u8]) -> Result<&str, &'static str> {
    let s = std::str::from_utf8(bytes).map_err(|_| PASSPHRASE_NOT_UTF8)?;
    if s.contains('\0') {
        return Err(PASSPHRASE_NUL);
    }
    if !(1..=DownloadPassphrase::MAX_CODE_POINTS).contains(&s.chars().count()) {
        return Err(PASSPHRASE_RULE);
    }
    Ok(s)
}

/// A file's download passphrase: visitors must give it to download the file. Stored as typed
/// (the bytes it guards sit unencrypted in the same database, so a hash would protect
/// nothing); `None` in a field means "not protected", stored as NULL, never `''`.
#[derive(Clone, PartialEq, Eq)]
pub struct DownloadPassphrase(String);

impl DownloadPassphrase {
    pub const MAX_CODE_POINTS: usize = 100;
    /// The most bytes a valid passphrase can have (4 per code point).
    const MAX_BYTES: usize = 4 * Self::MAX_CODE_POINTS;

    /// A passphrase from a form or JSON field: empty means none.
    pub fn parse_optional(bytes: &[u8]) -> Result<Option<Self>, &'static str> {
        if bytes.is_empty() {
            return Ok(None);
        }
        check_passphrase(bytes).map(|s| Some(DownloadPassphrase(s.to_owned())))
    }
    /// A value read back from the database, as it is (an invalid one, such as `''`, written
    /// by hand, matches nothing a visitor can give, so the file stays protected).
    pub fn from_db(s: String) -> Self {
        DownloadPassphrase(s)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Whether a visitor's `given` passphrase is this one. Only a valid passphrase can match,
    /// and the comparison runs over a fixed number of bytes with no early exit, so its time
    /// says nothing about how much of a guess was right.
    pub fn matches(&self, given: &[u8]) -> bool {
        if check_passphrase(given).is_err() {
            return false;
        }
        let (a, b) = (self.0.as_bytes(), given);
        let mut diff = u8::from(a.len() != b.len());
        for i in 0..Self::MAX_BYTES.max(a.len()).max(b.len()) {
            diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
        }
        std::hint::black_box(diff) == 0
    }
}

/// Never printed: a passphrase must not end up in a log line.
impl fmt::Debug for DownloadPassphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DownloadPassphrase(..)")
    }
}

/// PicoShare refuses notes holding an opening or closing `script`/`iframe` tag, with optional
/// whitespace inside the brackets (case-sensitive, as there).
fn has_script_tag(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(off) = s[i..].find('<') {
        let mut j = i + off + 1;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if j < b.len() && b[j] == b'/' {
            j += 1;
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
        }
        for tag in ["script", "iframe"] {
            if s[j..].starts_with(tag) {
                let mut k = j + tag.len();
                while k < b.len() && b[k].is_ascii_whitespace() {
                    k += 1;
                }
                if k < b.len() && b[k] == b'>' {
                    return true;
                }
            }
        }
        i = i + off + 1;
    }
    false
}

/// A point in time with whole-second precision, stored as PicoShare does:
/// RFC 3339 in UTC with a `Z` (`2024-05-01T13:04:05Z`), so string order is time order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn from_unix(secs: i64) -> Self {
        Timestamp(secs)
    }
    pub fn unix(self) -> i64 {
        self.0
    }
    pub fn never() -> Self {
        Timestamp(32_503_593_600) // 2999-12-31T00:00:00Z
    }
    pub fn is_never(self) -> bool {
        self >= Self::never()
    }
    /// Any RFC 3339 time (fraction and offset accepted), truncated to whole seconds.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| Timestamp(t.timestamp()))
    }
    /// Reads a value PicoShare or we stored; NULL and unreadable values count as "never",
    /// which is what a reader tolerant of old rows should do.
    pub fn from_db(s: Option<&str>) -> Self {
        s.and_then(Self::parse_rfc3339).unwrap_or_else(Self::never)
    }
    fn datetime(self) -> DateTime<Utc> {
        Utc.timestamp_opt(self.0, 0)
            .single()
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
    }
    /// `2024-05-01T13:04:05Z`: the stored form.
    pub fn rfc3339(self) -> String {
        self.datetime().to_rfc3339_opts(SecondsFormat::Secs, true)
    }
    /// `Wed, 01 May 2024 13:04:05 GMT`: the HTTP-date form.
    pub fn http_date(self) -> String {
        self.datetime()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string()
    }
    pub fn parse_http_date(s: &str) -> Option<Self> {
        chrono::NaiveDateTime::parse_from_str(s.trim(), "%a, %d %b %Y %H:%M:%S GMT")
            .ok()
            .map(|t| Timestamp(t.and_utc().timestamp()))
    }
    /// `YYYY-MM-DD` in UTC.
    pub fn date(self) -> String {
        self.datetime().format("%Y-%m-%d").to_string()
    }
    pub fn plus_secs(self, secs: i64) -> Self {
        Timestamp(self.0.saturating_add(secs))
    }
}

/// A client-requested expiration: RFC 3339, at least an hour ahead of `now`.
pub fn parse_expiration(s: &str, now: Timestamp) -> Result<Timestamp, &'static str> {
    let t = Timestamp::parse_rfc3339(s).ok_or(
        "unrecognized format for expiration time, must be in 2006-01-02T15:04:05Z07:00 format",
    )?;
    if t < now.plus_secs(3600) {
        return Err("expire time must be at least one hour in the future");
    }
    Ok(t)
}

/// Everything the store keeps about a file besides its bytes.
#[derive(Clone, Debug)]
pub struct EntryMeta {
    pub id: EntryId,
    pub filename: Filename,
    pub content_type: String,
    pub upload_time: Timestamp,
    pub expiration: Timestamp,
    pub guest_link_id: Option<GuestLinkId>,
    pub note: Note,
    pub size: u64,
    /// Visitors must give this to download the file (`None`: anyone with the link may).
    pub download_passphrase: Option<DownloadPassphrase>,
    /// How many times the file's bytes were replaced (0: never). A download reads the
    /// version it started on, or fails; it never mixes two.
    pub version: u64,
    /// The most visitors' downloads allowed, and how many were counted (`None`: no limit).
    pub download_limit: Option<DownloadLimit>,
}

/// A download limit and its use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DownloadLimit {
    pub max: u64,
    pub used: u64,
}

impl DownloadLimit {
    /// Whether no download is left.
    pub fn is_used_up(self) -> bool {
        self.used >= self.max
    }
}

/// A validated `maxDownloads`: at least 1 and at most the configured bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxDownloads(u64);

impl MaxDownloads {
    /// Parses a count given as a number; `bound` is `Config::max_download_limit`.
    pub fn new(n: i64, bound: u64) -> Result<Self, String> {
        if n <= 0 {
            return Err("maxDownloads must be a whole number of at least 1".into());
        }
        if n as u64 > bound {
            return Err(format!("maxDownloads must be at most {bound}"));
        }
        Ok(MaxDownloads(n as u64))
    }
    /// Parses the text of a query parameter or form field.
    pub fn parse(s: &str, bound: u64) -> Result<Self, String> {
        let n = s
            .trim()
            .parse::<i64>()
            .map_err(|_| "maxDownloads must be a whole number of at least 1".to_owned())?;
        Self::new(n, bound)
    }
    pub fn get(self) -> u64 {
        self.0
    }
}

/// A file about to be stored (see `store::Upload`).
#[derive(Clone, Debug)]
pub struct NewEntry {
    pub filename: Filename,
    pub content_type: String,
    pub upload_time: Timestamp,
    pub expiration: Timestamp,
    pub guest_link_id: Option<GuestLinkId>,
    pub note: Note,
    pub download_passphrase: Option<DownloadPassphrase>,
    /// Set in the transaction that inserts the file (issue 20).
    pub max_downloads: Option<MaxDownloads>,
}

/// A resumable (tus) upload about to be created: what its client said when creating it,
/// validated then with the rules of an ordinary upload.
#[derive(Clone, Debug)]
pub struct NewResumable {
    /// Upload-Length: the file's size (at least one byte).
    pub length: u64,
    /// Upload-Metadata as the client sent it (HEAD answers with it).
    pub metadata: String,
    pub filename: Filename,
    pub content_type: String,
    pub note: Note,
    pub download_passphrase: Option<DownloadPassphrase>,
    /// `None`: the default lifetime (the admin's setting, or the guest link's), reckoned when
    /// the upload completes.
    pub expiration: Option<Timestamp>,
    /// The file's download limit (issue 20), if any.
    pub max_downloads: Option<MaxDownloads>,
}

/// A resumable upload as stored: what it will become, and how far it got.
#[derive(Clone, Debug)]
pub struct Resumable {
    pub id: UploadId,
    /// The file's id once it completes; its chunks are stored under it as they arrive.
    pub entry_id: EntryId,
    /// Bytes per chunk of this file.
    pub chunk_size: usize,
    /// Bytes received and acknowledged (Upload-Offset).
    pub offset: u64,
    /// How many of them wait in the upload's tail (after the last whole chunk).
    pub tail_len: usize,
    pub new: NewResumable,
    /// The guest link whose upload slot it holds; `None` for the admin's.
    pub guest_link_id: Option<GuestLinkId>,
    /// The API token that created it (its file is then the token's); `None` for the admin's
    /// session and for guests.
    pub token_id: Option<TokenId>,
    /// Upload-Expires: after this the upload is gone.
    pub expires: Timestamp,
    /// When the last byte arrived; `None` while unfinished.
    pub completed: Option<Timestamp>,
}

impl Resumable {
    /// Chunks already stored whole.
    pub fn whole_chunks(&self) -> u64 {
        (self.offset - self.tail_len as u64) / self.chunk_size as u64
    }

    /// Bytes still to come.
    pub fn lacking(&self) -> u64 {
        self.new.length - self.offset
    }

    /// Whether it can no longer be resumed (or asked about) at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires <= now
    }

    /// The file it becomes when it completes at `now`; `default_expiration` applies when its
    /// client asked for none.
    pub fn new_entry(&self, now: Timestamp, default_expiration: Timestamp) -> NewEntry {
        NewEntry {
            filename: self.new.filename.clone(),
            content_type: self.new.content_type.clone(),
            upload_time: now,
            expiration: self.new.expiration.unwrap_or(default_expiration),
            guest_link_id: None,
            note: self.new.note.clone(),
            download_passphrase: self.new.download_passphrase.clone(),
            max_downloads: self.new.max_downloads,
        }
    }
}

/// The editable metadata of a file.
pub struct EntryUpdate {
    pub filename: Filename,
    pub expiration: Timestamp,
    pub note: Note,
    pub download_passphrase: Option<DownloadPassphrase>,
    /// `None`: leave the download limit as it is; `Some(None)`: remove it; `Some(Some(n))`:
    /// allow `n` downloads in all (those already counted stay counted).
    pub max_downloads: Option<Option<MaxDownloads>>,
}

/// A guest link as stored, with the number of its files that still exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestLink {
    pub id: GuestLinkId,
    /// `""` when unnamed.
    pub label: String,
    /// Largest file a guest may upload; `None` = unlimited.
    pub max_file_bytes: Option<u64>,
    /// How many files the link accepts; `None` = unlimited.
    pub max_file_uploads: Option<u64>,
    pub creation_time: Timestamp,
    /// When the link stops accepting uploads ([`Timestamp::never`] for never).
    pub url_expiration: Timestamp,
    /// How long guests' files live.
    pub file_lifetime: FileLifetime,
    pub is_disabled: bool,
    /// Files uploaded through this link that still exist (not deleted, not expired). Deleting
    /// one frees a slot, as in PicoShare.
    pub uploads_used: u64,
}

/// Why a guest link takes no more uploads, whether or not it is switched off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkSpent {
    /// Its URL expired.
    Expired,
    /// Its files (those still stored, and uploads in flight) reached its count.
    UploadLimitReached,
}

impl LinkSpent {
    /// As the guest-link list says it.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkSpent::Expired => "expired",
            LinkSpent::UploadLimitReached => "upload limit reached",
        }
    }
}

/// The activity rule, written once: a link accepts an upload while it is switched on, its URL
/// has not expired and uploads are left.
impl GuestLink {
    /// Whether guests may upload at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.accepts(now, 0)
    }

    /// [`GuestLink::is_active`], counting `in_flight` uploads as already used.
    pub fn accepts(&self, now: Timestamp, in_flight: u64) -> bool {
        !self.is_disabled && self.spent(now, in_flight).is_none()
    }

    /// Why the link takes no more uploads at `now` apart from being switched off (counting
    /// `in_flight` uploads as used), if it does not.
    pub fn spent(&self, now: Timestamp, in_flight: u64) -> Option<LinkSpent> {
        if !self.url_expiration.is_never() && now > self.url_expiration {
            Some(LinkSpent::Expired)
        } else if self
            .max_file_uploads
            .is_some_and(|max| self.uploads_used + in_flight >= max)
        {
            Some(LinkSpent::UploadLimitReached)
        } else {
            None
        }
    }
}

/// A guest link about to be created (already validated).
#[derive(Clone, Debug)]
pub struct NewGuestLink {
    pub label: String,
    pub max_file_bytes: Option<u64>,
    pub max_file_uploads: Option<u64>,
    pub url_expiration: Timestamp,
    pub file_lifetime: FileLifetime,
}

/// A bundle as stored (issue 20): several files under one link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    pub id: BundleId,
    /// `""` when unnamed.
    pub label: String,
    pub creation_time: Timestamp,
    pub expiration: Timestamp,
    /// The ZIP's download limit and its use (`None`: no limit; `used` is still counted).
    pub max_downloads: Option<u64>,
    pub download_count: u64,
    /// Its files' ids, in the bundle's order (some may have expired or been deleted since).
    pub entries: Vec<EntryId>,
}

impl Bundle {
    /// Whether the ZIP has no download left.
    pub fn is_used_up(&self) -> bool {
        self.max_downloads
            .is_some_and(|max| self.download_count >= max)
    }
}

/// A bundle about to be created (already validated, except that its files exist).
#[derive(Clone, Debug)]
pub struct NewBundle {
    pub label: String,
    pub expiration: Timestamp,
    pub max_downloads: Option<MaxDownloads>,
    pub entries: Vec<EntryId>,
    /// An upload-scope API token creating the bundle (issue 21): every file must be one it
    /// uploaded (`rs_token_uploads`). `None`: the admin, who may bundle any file.
    pub only_uploads_of: Option<TokenId>,
}

/// A bundle's editable fields; `None` leaves one as it is (`max_downloads: Some(None)`
/// removes the limit).
#[derive(Clone, Debug, Default)]
pub struct BundleUpdate {
    pub label: Option<String>,
    pub expiration: Option<Timestamp>,
    pub max_downloads: Option<Option<MaxDownloads>>,
}

/// One recorded download of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadRecord {
    pub time: Timestamp,
    /// The client's address as recorded (socket peer, or forwarded with `PS_BEHIND_PROXY`).
    pub client_ip: String,
    /// The raw `User-Agent` header; `""` when there was none. See [`crate::useragent::parse`].
    pub user_agent: String,
}

/// An API token's public id: [`TOKEN_ID_LEN`] characters of the id alphabet. It names the
/// token in the list and in `DELETE /api/tokens/{id}`, and is the part of the token after its
/// prefix (see `tokens.rs`); it is not a secret.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TokenId(String);

/// API token ids are 10 characters of the id alphabet, like entry ids.
pub const TOKEN_ID_LEN: usize = 10;

impl TokenId {
    /// Parses an id from a URL or a token.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if is_id(s, TOKEN_ID_LEN) {
            Ok(TokenId(s.to_owned()))
        } else {
            Err("invalid API token ID")
        }
    }
    pub fn random() -> Self {
        TokenId(random::id(TOKEN_ID_LEN))
    }
    pub fn from_db(s: String) -> Self {
        TokenId(s)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an API token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenScope {
    /// Create files (`POST /api/entry`, resumable uploads), nothing else.
    Upload,
    /// The whole admin API (not the HTML pages, and not the tokens themselves).
    Admin,
}

impl TokenScope {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        match s {
            "upload" => Ok(TokenScope::Upload),
            "admin" => Ok(TokenScope::Admin),
            _ => Err("scope must be \"upload\" or \"admin\""),
        }
    }
    /// As stored and as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Upload => "upload",
            TokenScope::Admin => "admin",
        }
    }
}

/// A token's label: 1 to [`TokenLabel::MAX_BYTES`] bytes, not only spaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenLabel(String);

impl TokenLabel {
    pub const MAX_BYTES: usize = 200;

    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let s = s.trim();
        if s.is_empty() {
            return Err("label must not be empty");
        }
        if s.len() > Self::MAX_BYTES {
            return Err("label too long - limit 200 characters");
        }
        if s.chars().any(char::is_control) {
            return Err("label must not contain control characters");
        }
        Ok(TokenLabel(s.to_owned()))
    }
    pub fn from_db(s: String) -> Self {
        TokenLabel(s)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An API token as listed: everything but the token and its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    pub id: TokenId,
    pub label: TokenLabel,
    pub scope: TokenScope,
    pub created: Timestamp,
    /// `None`: never expires.
    pub expires: Option<Timestamp>,
    /// `None`: never used. Updated at most once per `Config::token_last_used_interval`.
    pub last_used: Option<Timestamp>,
}

impl ApiToken {
    /// Whether the token no longer works at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filename_rules() {
        let ok = [
            "a.txt",
            "données été.csv",
            "x\"y",
            "a..b",
            ".hidden",
            &"ö".repeat(127),
        ];
        for s in ok {
            assert!(Filename::parse(s).is_ok(), "{s:?}");
        }
        let bad = [
            ("", "filename must be non-empty"),
            (".", "filename cannot begin with dots"),
            ("..x", "filename cannot begin with dots"),
            ("a/b", "illegal characters in filename"),
            ("a\\b", "illegal characters in filename"),
            ("a\nb", "illegal characters in filename"),
            ("a\tb", "illegal characters in filename"),
        ];
        for (s, msg) in bad {
            assert_eq!(Filename::parse(s), Err(msg), "{s:?}");
        }
        assert_eq!(Filename::parse(&"Ö".repeat(128)), Err("filename too long"));
        assert!(Filename::parse(&"a".repeat(255)).is_ok());
    }

    #[test]
    fn note_rules() {
        assert_eq!(Note::parse("").map(|n| n.0), Ok(None));
        assert!(Note::parse("hello <b>world</b>").is_ok());
        for bad in [
            "null",
            "undefined",
            "<script>",
            "< script >",
            "</ iframe>",
            "x</script >",
        ] {
            assert!(Note::parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            Note::parse("<Script>").is_ok(),
            "PicoShare's check is case-sensitive"
        );
        assert!(Note::parse(&"a".repeat(501)).is_err());
    }

    #[test]
    fn passphrase_rules_and_messages() {
        let ok = |b: &[u8]| DownloadPassphrase::parse_optional(b).map(|p| p.map(|p| p.0));
        assert_eq!(ok(b""), Ok(None), "empty: not protected");
        assert_eq!(ok(b" x "), Ok(Some(" x ".into())), "kept as typed");
        assert_eq!(
            ok("é".repeat(100).as_bytes()).map(|p| p.is_some()),
            Ok(true)
        );
        assert_eq!(ok("é".repeat(101).as_bytes()), Err(PASSPHRASE_RULE));
        assert_eq!(
            ok(b"a\0b"),
            Err(
                "passphrase must contain between 1 and 100 Unicode code points: NUL bytes are \
                 not allowed"
            )
        );
        assert_eq!(
            ok(b"a\xffb"),
            Err("passphrase must contain between 1 and 100 Unicode code points: invalid UTF-8")
        );
        assert_eq!(check_passphrase(b""), Err(PASSPHRASE_RULE));
        assert_eq!(
            check_passphrase("🔑".repeat(100).as_bytes()).map(str::len),
            Ok(400)
        );
    }

    #[test]
    fn passphrases_match_exactly() {
        let p = DownloadPassphrase::from_db("open sesame".into());
        assert!(p.matches(b"open sesame"));
        for wrong in [
            &b"open sesam"[..],
            b"open sesame ",
            b"Open sesame",
            b"",
            b"open\0sesame",
        ] {
            assert!(!p.matches(wrong), "{wrong:?}");
        }
        assert!(!DownloadPassphrase::from_db(String::new()).matches(b""));
        // A NUL-padded stored value (written by hand) is not the shorter passphrase.
        assert!(!DownloadPassphrase::from_db("abc\0".into()).matches(b"abc"));
        let long = DownloadPassphrase::from_db("x".repeat(500));
        assert!(
            !long.matches("x".repeat(500).as_bytes()),
            "only a valid one matches"
        );
        assert_eq!(format!("{p:?}"), "DownloadPassphrase(..)");
    }

    #[test]
    fn ids() {
        assert!(EntryId::parse("2LJTBB85fP").is_ok());
        assert!(EntryId::parse("2LJTBB85f").is_err());
        assert!(
            EntryId::parse("2LJTBB85fl").is_err(),
            "l is not in the alphabet"
        );
        assert!(EntryId::legacy("abc").is_some());
        assert!(EntryId::legacy("a_b-C9").is_some());
        for not_an_id in ["", "a b", "a/b", "ü", "%20", &"a".repeat(65)] {
            assert!(EntryId::legacy(not_an_id).is_none(), "{not_an_id:?}");
        }
        assert!(GuestLinkId::parse("ZZkAPdHsixtKqbdE").is_ok());
        assert!(GuestLinkId::parse("ZZkAPdHsixtKqbd").is_err());
        let upload = UploadId::random();
        assert_eq!(UploadId::parse(upload.as_str()), Some(upload));
        assert!(UploadId::parse("ZZkAPdHsixtKqbdEZZkAPdHs").is_some());
        assert!(UploadId::parse("ZZkAPdHsixtKqbdEZZkAPdH").is_none());
        assert!(
            UploadId::parse("ZZkAPdHsixtKqbdEZZkAPdH0").is_none(),
            "0 is not in it"
        );
    }

    #[test]
    fn timestamps() {
        let t = Timestamp::parse_rfc3339("2024-05-01T15:04:05.999+02:00").unwrap();
        assert_eq!(t.rfc3339(), "2024-05-01T13:04:05Z");
        assert_eq!(Timestamp::never().rfc3339(), NEVER);
        assert_eq!(t.http_date(), "Wed, 01 May 2024 13:04:05 GMT");
        assert_eq!(Timestamp::parse_http_date(&t.http_date()), Some(t));
        assert_eq!(Timestamp::from_db(None), Timestamp::never());
        let now = Timestamp::parse_rfc3339("2024-01-01T00:00:00Z").unwrap();
        assert!(parse_expiration("2024-01-01T00:59:59Z", now).is_err());
        assert!(parse_expiration("2024-01-01T01:00:00Z", now).is_ok());
        assert!(parse_expiration("tomorrow", now).is_err());
    }

    #[test]
    fn a_guest_link_accepts_uploads_while_on_unexpired_and_not_used_up() {
        let now = Timestamp::from_unix(1_800_000_000);
        let link = GuestLink {
            id: GuestLinkId::random(),
            label: String::new(),
            max_file_bytes: None,
            max_file_uploads: Some(2),
            creation_time: now,
            url_expiration: now.plus_secs(60),
            file_lifetime: FileLifetime::Never,
            is_disabled: false,
            uploads_used: 1,
        };
        assert!(link.is_active(now));
        assert_eq!(link.spent(now, 0), None);
        // The last slot, taken by an upload in flight.
        assert!(!link.accepts(now, 1));
        assert_eq!(link.spent(now, 1), Some(LinkSpent::UploadLimitReached));
        // The URL's last second still counts; the next one does not.
        assert!(link.is_active(now.plus_secs(60)));
        assert_eq!(link.spent(now.plus_secs(61), 0), Some(LinkSpent::Expired));
        let off = GuestLink {
            is_disabled: true,
            ..link.clone()
        };
        assert!(!off.is_active(now));
        assert_eq!(off.spent(now, 0), None, "switched off, but not spent");
        let forever = GuestLink {
            url_expiration: Timestamp::never(),
            max_file_uploads: None,
            uploads_used: 1_000,
            ..link
        };
        assert!(forever.accepts(Timestamp::never().plus_secs(1), 1_000));
    }
}
