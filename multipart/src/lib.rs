//! PicoShare's own `multipart/form-data` reader, patched in under the name of the unmaintained
//! `multipart` 0.18 crate (see README.md for why and for the measured defects it replaces).
//! It implements the part of that crate's server API that PicoShare and rouille 3.6 use —
//! [`server::Multipart::with_body`], [`server::Multipart::read_entry`], and a field's
//! `headers` and `data` — as a streaming reader over one fixed buffer:
//!
//! - delimiters exactly as RFC 2046 §5.1.1 defines them (`scan.rs`): `CRLF--boundary` then
//!   optional whitespace and CRLF, or `--` for the close; anything else is content;
//! - part headers as RFC 7578 defines them (`headers.rs`, `params.rs`): quoted strings with
//!   `;` and escaped quotes, `filename*` (RFC 8187) preferred over `filename`, a size limit;
//! - every refusal is a distinct [`server::Error`], so a body that ended early ("upload
//!   incomplete") is never confused with a malformed or oversized header.
#![forbid(unsafe_code)]

mod error;
mod headers;
mod params;
mod scan;
pub mod server;
#[cfg(test)]
mod trickle;
