//! PicoShare's own HTTP/1.1 transport: the part of the tiny_http 0.12 API that rouille 3.6
//! calls, written from scratch with bounded resources (see `README.md`).
//!
//! It is wired in under rouille with `[patch.crates-io] tiny_http = { path = "transport" }`.
//! Configure it before building the `rouille::Server`:
//!
//! ```no_run
//! use std::time::Duration;
//! tiny_http::set_limits(tiny_http::Limits {
//!     max_connections: 32,
//!     ..tiny_http::Limits::default()
//! });
//! // let server = rouille::Server::new("0.0.0.0:4001", handler)?.pool_size(16);
//! // On SIGTERM, from another thread: stop accepting and wait for in-flight responses.
//! let finished_in_time = tiny_http::shutdown(Duration::from_secs(10));
//! # let _ = finished_in_time;
//! ```
//!
//! Guarantees, each with the `Limits` field that bounds it:
//! - at most `max_connections` open connections, one thread each, and `max_connections_per_ip`
//!   from one address; past that a waiting connection is evicted (idle keep-alive first) or the
//!   newcomer gets a fast `503`; no unbounded queue;
//! - no slow client holds an application thread: small bodies (`small_body_max`) are read
//!   before the request is handed over, small responses (`buffered_response_max`) are written
//!   by the connection thread, and other transfers must keep up `min_rate` over `rate_window`;
//! - timeouts for the request head, keep-alive idle time, stalled body reads and stalled writes;
//! - request line → `414`, header line, header count and head size → `431`, malformed → `400`,
//!   HTTP/2 or later → `505`, unknown `Expect` → `417`, all in constant memory;
//! - bodies with `Content-Length` or chunked encoding; a truncated body is an `UnexpectedEof`
//!   error, never a clean end; `100 Continue` only on the first body read;
//! - unread bodies drained through an 8 KiB buffer up to `drain_cap`, else the connection closes;
//! - `Content-Length` on every response whose length is known, HEAD included;
//! - an accept loop that survives every error, backing off on descriptor exhaustion.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod body;
mod chunked;
mod common;
mod conn_io;
mod connection;
mod date;
mod head;
mod limits;
mod pace;
mod request;
mod response;
mod server;
#[cfg(test)]
mod testrand;

pub use common::{HTTPVersion, Header, HeaderField, InvalidHeader, Method, StatusCode};
pub use limits::{limits, set_limits, Limits};
pub use request::{ReadWrite, Request};
pub use response::{Response, ResponseBox};
pub use server::{shutdown, IncomingRequests, ListenAddr, Server, Stats};
