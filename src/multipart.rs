//! The multipart front end: reads an upload request's `file` part into a [`Spool`] and its
//! `note` and `downloadPassphrase` parts into bounded buffers, and accepts the upload only once the closing boundary
//! has arrived — a truncated body is a failed upload, never a shorter file.

use std::io::{self, Read};
use std::path::Path;

use multipart::server::{boundary_of, ContentTypeError, Multipart};
use rouille::Request;

use crate::config::Config;
use crate::error::Error;
use crate::spool::{Spool, SpoolError};

/// The bounds one upload is read under.
pub struct Limits<'a> {
    pub memory: usize,
    pub chunk_size: usize,
    pub max_text_field: usize,
    pub max_parts: usize,
    /// Cap on the file's bytes (guest links); `None` for the admin.
    pub max_file_bytes: Option<u64>,
    pub spool_dir: &'a Path,
    /// Most bytes the temp file holds at once while the upload streams on into the store:
    /// one run (`Config::copy_run_bytes`, less on a disk short of space, never less than
    /// `spool_batch`, see `store::run_for`) plus the buffer.
    pub spool_run: u64,
    /// One transaction's bytes (`Config::copy_batch_bytes`): the least a run is.
    pub spool_batch: u64,
    /// Free space inside the database file that new chunks will reuse.
    pub reusable_bytes: u64,
    /// Free disk the upload must leave (the admin's or the guests' floor).
    pub disk_floor: u64,
    /// The multipart reader's own bounds (part header size, read buffer).
    pub parser: multipart::server::Limits,
}

impl<'a> Limits<'a> {
    /// The bounds `config` sets, for a file spooled in `spool_dir`. The two that vary per
    /// upload start open: `max_file_bytes` (a guest link's cap) and `reusable_bytes`.
    pub fn from_config(config: &Config, spool_dir: &'a Path) -> Self {
        Limits {
            memory: config.multipart_memory,
            chunk_size: config.chunk_size,
            max_text_field: config.max_text_field,
            max_parts: config.max_form_parts,
            max_file_bytes: None,
            spool_dir,
            spool_run: config.copy_run_bytes as u64,
            spool_batch: config.copy_batch_bytes.max(config.chunk_size) as u64,
            reusable_bytes: 0,
            disk_floor: config.admin_disk_floor,
            parser: config.multipart,
        }
    }
}

/// A completely received upload.
pub struct Upload {
    pub spool: Spool,
    /// The part's file name with any directory part removed (as Go's `FileName()` does).
    pub filename: String,
    /// The part's `Content-Type`, verbatim; empty when absent.
    pub content_type: String,
    /// The `note` part, if any.
    pub note: Option<String>,
    /// The `downloadPassphrase` part's bytes, if any (validated by the caller).
    pub download_passphrase: Option<Vec<u8>>,
}

/// The `boundary` of a `multipart/form-data` content type, unquoted.
pub fn boundary(content_type: &str) -> Option<String> {
    boundary_of(content_type).ok()
}

/// The refusal for an error from reading the body: the multipart reader's own reason (a body
/// that ended early, a header too large, a bad file name, …).
fn refusal(e: &io::Error) -> Error {
    use multipart::server::{Error as Refused, Stage};
    let reason = match Refused::from_io(e) {
        Some(refused) => refused.to_string(),
        // Not the reader's own error: the connection underneath failed mid-body.
        None => Refused::Incomplete(Stage::Data).to_string(),
    };
    Error::BadRequest(format!("invalid request: {reason}"))
}

/// Before reading a byte: an upload whose declared length cannot fit on the disk (its SQLite
/// copy plus the spool's window and the uploader's free-disk floor, less the free pages the
/// database will reuse) is refused with 507, so the client never sends it.
fn refuse_if_it_cannot_fit(req: &Request, limits: &Limits) -> Result<(), Error> {
    let Some(len) = req
        .header("Content-Length")
        .and_then(|v| v.trim().parse::<u64>().ok())
    else {
        return Ok(());
    };
    let Ok(disk) = crate::disk::available_bytes(limits.spool_dir) else {
        return Ok(());
    };
    // The copy into SQLite overlaps receipt: one run waits in the temp file, plus the buffer
    // being filled.
    let window = crate::store::run_for(limits.spool_run, disk, limits.spool_batch)
        .saturating_add(limits.memory as u64);
    let spooled = len.saturating_sub(limits.memory as u64).min(window);
    let need = len
        .saturating_add(spooled)
        .saturating_add(limits.disk_floor);
    let free = disk.saturating_add(limits.reusable_bytes);
    if free < need {
        return Err(Error::InsufficientStorage(format!(
            "not enough disk space for this upload: it needs about {need} bytes, {free} are free"
        )));
    }
    Ok(())
}

/// Reads the whole multipart body of `req` under `limits`.
pub fn read_upload(req: &Request, limits: &Limits) -> Result<Upload, Error> {
    read_upload_with(req, limits, &mut |spool, file| {
        spool.fill_from(file, limits.spool_dir, limits.max_file_bytes)
    })
}

/// [`read_upload`], with `receive` taking the file part's bytes into its spool (an upload
/// passes [`crate::store::Upload::feed`], which moves them on into SQLite as they arrive).
pub fn read_upload_with(
    req: &Request,
    limits: &Limits,
    receive: crate::spool::Receive,
) -> Result<Upload, Error> {
    let content_type = req.header("Content-Type").unwrap_or("");
    let boundary = boundary_of(content_type).map_err(|e| match e {
        ContentTypeError::NotFormData => {
            Error::BadRequest("request Content-Type isn't multipart/form-data".into())
        }
        ContentTypeError::Boundary(e) => Error::BadRequest(format!("invalid request: {e}")),
    })?;
    refuse_if_it_cannot_fit(req, limits)?;
    let body = req
        .data()
        .ok_or_else(|| Error::Internal("request body already taken".into()))?;
    let mut form = Multipart::with_limits(body, boundary, limits.parser);
    let mut file: Option<(Spool, String, String)> = None;
    let mut note = None;
    let mut download_passphrase = None;
    let mut parts = 0;
    loop {
        let mut field = match form.read_entry() {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(refusal(&e)),
        };
        parts += 1;
        if parts > limits.max_parts {
            return Err(Error::BadRequest(format!(
                "invalid request: more than {} form parts",
                limits.max_parts
            )));
        }
        let filename = field.headers.filename.clone().unwrap_or_default();
        match &*field.headers.name {
            "file" if file.is_none() && !filename.is_empty() => {
                let content_type = field.headers.content_type.clone().unwrap_or_default();
                let mut spool = Spool::new(limits.memory, limits.chunk_size);
                receive(&mut spool, &mut field.data).map_err(|e| match e {
                    SpoolError::TooLarge(max) => Error::TooLarge(format!(
                        "invalid request: file is larger than this link's limit of {max} bytes"
                    )),
                    SpoolError::Source(e) => refusal(&e),
                    SpoolError::Sink(e) => Error::from(crate::error::StoreError::from(e)),
                    SpoolError::Store(e) => Error::from(e),
                })?;
                let base = filename.rsplit('/').next().unwrap_or("").to_owned();
                file = Some((spool, base, content_type));
            }
            "note" => {
                let text = read_text(&mut field.data, limits.max_text_field, "note")?;
                let text = String::from_utf8(text)
                    .map_err(|_| Error::BadRequest("invalid request: note is not UTF-8".into()))?;
                note = Some(text);
            }
            "downloadPassphrase" => {
                download_passphrase = Some(read_text(
                    &mut field.data,
                    limits.max_text_field,
                    "downloadPassphrase",
                )?);
            }
            // Anything else is skipped by the next read_entry, through the parser's own
            // small buffer.
            _ => {}
        }
    }
    let (spool, filename, content_type) =
        file.ok_or_else(|| Error::BadRequest("http: no such file".into()))?;
    Ok(Upload {
        spool,
        filename,
        content_type,
        note,
        download_passphrase,
    })
}

/// A text part's bytes, at most `max` of them.
fn read_text(data: &mut impl Read, max: usize, name: &str) -> Result<Vec<u8>, Error> {
    let mut text = Vec::new();
    if let Err(e) = data.take(max as u64 + 1).read_to_end(&mut text) {
        return Err(refusal(&e));
    }
    if text.len() > max {
        return Err(Error::BadRequest(format!(
            "invalid request: {name} is too long"
        )));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_forms() {
        assert_eq!(
            boundary("multipart/form-data; boundary=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(
            boundary("Multipart/Form-Data;boundary=\"a b\"; charset=x").as_deref(),
            Some("a b")
        );
        assert_eq!(boundary("multipart/form-data"), None);
        assert_eq!(boundary("text/plain; boundary=abc"), None);
        assert_eq!(boundary("multipart/form-data; boundary="), None);
    }
}
