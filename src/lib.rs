//! PicoShare for Rust: a drop-in, memory-bounded replacement for the Go PicoShare.
//!
//! The data path reads top to bottom in file names, in the order a file's bytes take it:
//! `handlers/upload.rs` → `multipart.rs` → `spool.rs` (buffer and nameless temp file) →
//! `store/upload.rs` (begin, feed, finish) → `store/chunk_writer.rs` (SQLite rows) →
//! `store/chunk_reader.rs` → `handlers/download.rs` (response). Errors become responses in one
//! place, `error.rs`; pages are built from `html.rs`'s `Html` type.

// No `unwrap()` outside tests: every failure is handled or explained.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub(crate) mod admission;
pub mod app;
pub(crate) mod assets;
pub mod auth;
pub mod config;
pub(crate) mod crc32;
pub(crate) mod disk;
pub(crate) mod duration;
pub mod error;
pub(crate) mod gc;
pub(crate) mod handlers;
pub(crate) mod history;
pub(crate) mod html;
pub(crate) mod locks;
pub mod maintenance;
pub(crate) mod memory;
pub mod model;
pub mod multipart;
pub(crate) mod qr;
pub(crate) mod random;
pub mod range;
pub(crate) mod rate;
pub mod server;
pub mod spool;
pub mod store;
pub(crate) mod sysinfo;
pub(crate) mod throttle;
pub(crate) mod tokens;
pub mod useragent;
pub(crate) mod zip;
