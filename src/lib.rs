//! PicoShare for Rust: a drop-in, memory-bounded replacement for the Go PicoShare.
//!
//! The data path reads top to bottom in module names: [`multipart`] → [`spool`] (buffer and
//! temp file) → `store::chunk_writer` (SQLite rows) → `store::chunk_reader` →
//! [`handlers::download`] (response). A [`store::Upload`] drives the first three, from
//! `handlers::upload`.

// No `unwrap()` outside tests: every failure is handled or explained.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod app;
pub mod assets;
pub mod auth;
pub mod config;
pub mod disk;
pub mod duration;
pub mod error;
pub mod gc;
pub mod handlers;
pub mod html;
pub mod maintenance;
pub mod model;
pub mod multipart;
pub mod random;
pub mod range;
pub mod server;
pub mod spool;
pub mod store;
pub mod sysinfo;
pub mod throttle;
pub mod useragent;
