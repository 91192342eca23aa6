//! # Exercise 14: a server that shuts down gracefully
//!
//! The protocol (`server.rs`) and the program (`main.rs`) are given. What
//! you write is the server's *lifecycle*, [`run`]:
//!
//! 1. SIGTERM, SIGINT and SIGHUP are handled from the start: none of them
//!    may kill the process.
//! 2. It reads the configuration, listens, prints `listening on ADDR` on
//!    stdout and sends `READY=1` to the service manager ([`notify`]).
//! 3. It serves every connection in a task of its own.
//! 4. SIGHUP reloads the configuration file: open connections keep going
//!    and see the new value; a broken file keeps the old configuration and
//!    logs an error.
//! 5. The first SIGTERM or SIGINT starts the shutdown: the listener is
//!    closed (new connections are refused), idle connections close, and
//!    requests in flight finish. `run` returns [`Shutdown::Drained`] when
//!    the last connection has ended, [`Shutdown::DeadlinePassed`] if the
//!    drain timeout passes first, and [`Shutdown::Interrupted`] at once on a
//!    second SIGTERM or SIGINT.
//!
//! The tests start the program (`cargo run -p exercise-14 -- CONFIG`) as a
//! child process, talk to it over TCP and send it real signals:
//!
//! ```text
//! cargo test -p exercise-14
//! ```

pub mod server;
mod types;

pub use types::{DEFAULT_DRAIN_TIMEOUT, EXIT_ERROR, EXIT_USAGE, Options, Shutdown};

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::server::{Config, serve_connection};

/// Runs the server until it is stopped by a signal (see the crate's
/// documentation for the whole lifecycle).
///
/// Prints `listening on ADDR` on stdout once it listens, and sends
/// `READY=1` to `$NOTIFY_SOCKET` (if set) at that moment; `RELOADING=1`
/// (with `MONOTONIC_USEC=`) and then `READY=1` around each reload; and
/// `STOPPING=1` when the shutdown starts.
///
/// Returns an error if it cannot start: the configuration file is missing
/// or invalid, the address cannot be bound, or a signal handler cannot be
/// installed.
pub async fn run(options: Options) -> io::Result<Shutdown> {
    // TODO: install the handlers for SIGTERM, SIGINT and SIGHUP before
    //       anything else.
    // TODO: load the configuration (an error ends `run`) and put it where
    //       every connection can see the current value.
    // TODO: bind `options.addr`, print `listening on ADDR`, send READY=1.
    // TODO: until the first SIGTERM or SIGINT: accept connections, each
    //       served by `serve_connection` in a task you can wait for later,
    //       and reload the configuration on SIGHUP.
    // TODO: then drain: stop accepting, send STOPPING=1, tell the
    //       connections, and wait for them at most `options.drain_timeout`;
    //       a second SIGTERM or SIGINT ends the wait at once.
    todo!("the server's lifecycle")
}

/// Sends `state` to the service manager: one datagram to the Unix socket
/// named by `$NOTIFY_SOCKET` (a path, or an abstract name when it starts
/// with `@`). Returns `Ok(false)` without sending when the variable is not
/// set (the program was not started by a service manager that wants to be
/// told).
///
/// `state` is one or more `KEY=VALUE` lines, e.g. `READY=1` or
/// `"RELOADING=1\nMONOTONIC_USEC=123"`.
pub fn notify(state: &str) -> io::Result<bool> {
    // TODO: read NOTIFY_SOCKET; send `state` as one datagram to that socket.
    todo!("sd_notify by hand")
}
