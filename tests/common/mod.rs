//! The one harness of the integration tests, in small modules:
//!
//! - [`server`]: the real `picoshare` process on a free port of 127.0.0.1 in its own temp
//!   folder, its output, signals, and its open spool files;
//! - [`http`]: `curl`, as a user would use it, and its answers;
//! - [`inproc`]: the application in-process (`App::handle` on `Request::fake_http`), for
//!   tables of statuses and messages;
//! - [`raw`]: raw sockets, for what curl cannot do;
//! - [`multipart`]: upload bodies, byte-exact;
//! - [`db`]: reading the SQLite file behind a server;
//! - [`disk`]: a small tmpfs, for the full-disk tests;
//! - [`fixture`]: the Go PicoShare's database, copied with its dates moved relative to now;
//! - [`skip`]: the one skip policy (`PICOSHARE_TEST_SKIP`);
//! - [`tools`]: programs some tests need (Litestream, Caddy, systemd-analyze, python3);
//! - [`proc`]: what /proc shows of a process, and commands run with a time bound;
//! - [`data`]: test bytes, hashes, times relative to now, bounded polling.
//!
//! Everything is re-exported here: a test file says `mod common; use common::*;`.
#![allow(dead_code, unused_imports)]

pub mod data;
pub mod db;
pub mod disk;
pub mod fixture;
pub mod http;
pub mod inproc;
pub mod multipart;
pub mod proc;
pub mod raw;
pub mod server;
pub mod skip;
pub mod tools;

pub use data::*;
pub use db::*;
pub use disk::*;
pub use fixture::*;
pub use http::*;
pub use inproc::*;
pub use multipart::*;
pub use proc::*;
pub use raw::*;
pub use server::*;
pub use skip::*;
pub use tools::*;
