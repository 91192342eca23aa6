//! # Exercise 14: a server that shuts down gracefully (reference solution)
//!
//! Compare with your own version once your tests are green. Apart from this
//! header and the `#[path]`s below, only the bodies differ from the stub.
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
//! ```text
//! cargo test -p solution-14
//! ```

// The given files are the exercise's own, not copies.
#[path = "../../../exercises/14-graceful-shutdown/src/server.rs"]
pub mod server;
#[path = "../../../exercises/14-graceful-shutdown/src/types.rs"]
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
// ANCHOR: run
pub async fn run(options: Options) -> io::Result<Shutdown> {
    // Handlers first. From this line on, SIGTERM, SIGINT and SIGHUP are
    // queued for us instead of killing the process; installing them after
    // announcing the address would leave a window in which a SIGHUP kills
    // the server.
    let mut signals = StopSignals::new()?;
    let mut hangup = signal(SignalKind::hangup())?;

    let config = Config::load(&options.config_path).map_err(io::Error::other)?;
    let (config_tx, config_rx) = watch::channel(Arc::new(config));

    let listener = TcpListener::bind(options.addr).await?;
    println!("listening on {}", listener.local_addr()?);
    send_notification("READY=1");

    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();

    // Serve until the first SIGTERM or SIGINT.
    loop {
        tokio::select! {
            _ = signals.recv() => break,
            _ = hangup.recv() => reload(&options.config_path, &config_tx),
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let config = config_rx.clone();
                    let shutdown = shutdown.clone();
                    tracker.spawn(async move {
                        if let Err(e) = serve_connection(stream, config, shutdown).await {
                            eprintln!("connection: {e}");
                        }
                    });
                }
                // As in chapter 3: no accept error stops the server; a pause
                // keeps the loop from spinning when descriptors run out.
                Err(e) => {
                    eprintln!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    // ANCHOR_END: run

    // ANCHOR: drain
    // 1. Stop accepting: closing the listener makes the kernel refuse new
    //    connections, instead of queueing them in a backlog nobody reads.
    drop(listener);
    send_notification("STOPPING=1");
    eprintln!("shutting down: draining {} connections", tracker.len());
    // 2. Tell every connection: idle ones close now, busy ones after the
    //    request in flight.
    shutdown.cancel();
    // 3. Wait for them, but not for ever. `close` first: `wait` only
    //    completes once the tracker is closed *and* empty.
    tracker.close();
    let deadline = tokio::time::sleep(options.drain_timeout);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = tracker.wait() => return Ok(Shutdown::Drained),
            _ = &mut deadline => {
                eprintln!("drain timeout: dropping {} connections", tracker.len());
                return Ok(Shutdown::DeadlinePassed);
            }
            // A second stop signal: the operator (or the service manager)
            // does not want to wait.
            _ = signals.recv() => return Ok(Shutdown::Interrupted),
            // Still handled while draining: a SIGHUP must not kill us now.
            _ = hangup.recv() => reload(&options.config_path, &config_tx),
        }
    }
    // ANCHOR_END: drain
}

/// Sends `state` to the service manager: one datagram to the Unix socket
/// named by `$NOTIFY_SOCKET` (a path, or an abstract name when it starts
/// with `@`). Returns `Ok(false)` without sending when the variable is not
/// set (the program was not started by a service manager that wants to be
/// told).
///
/// `state` is one or more `KEY=VALUE` lines, e.g. `READY=1` or
/// `"RELOADING=1\nMONOTONIC_USEC=123"`.
// ANCHOR: notify
pub fn notify(state: &str) -> io::Result<bool> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::UnixDatagram;

    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(false);
    };
    // An unbound datagram socket: we only send, and expect no answer.
    let socket = UnixDatagram::unbound()?;
    match target.as_bytes() {
        [] => return Ok(false),
        [b'@', name @ ..] => send_to_abstract(&socket, state, name)?,
        _ => {
            socket.send_to(state.as_bytes(), &target)?;
        }
    }
    Ok(true)
}

/// systemd may name an abstract socket (Linux only): `@name`, no file.
#[cfg(target_os = "linux")]
fn send_to_abstract(
    socket: &std::os::unix::net::UnixDatagram,
    state: &str,
    name: &[u8],
) -> io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    socket.send_to_addr(state.as_bytes(), &addr)?;
    Ok(())
}
// ANCHOR_END: notify

#[cfg(not(target_os = "linux"))]
fn send_to_abstract(
    _socket: &std::os::unix::net::UnixDatagram,
    _state: &str,
    _name: &[u8],
) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract socket names exist on Linux only",
    ))
}

/// A failed notification is logged, not fatal: the server works without
/// a service manager, and systemd notices a missing READY=1 by itself.
fn send_notification(state: &str) {
    if let Err(e) = notify(state) {
        eprintln!("error: notifying the service manager ({state:?}): {e}");
    }
}

/// SIGTERM (a service manager, `kill`) and SIGINT (Ctrl-C) both mean
/// "stop", so they are one stream here.
struct StopSignals {
    terminate: Signal,
    interrupt: Signal,
}

impl StopSignals {
    fn new() -> io::Result<StopSignals> {
        Ok(StopSignals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for the next SIGTERM or SIGINT. Cancellation safe, like
    /// `Signal::recv`: a signal that arrives while we are not waiting is
    /// kept for the next call.
    async fn recv(&mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

// ANCHOR: reload
/// Re-reads the configuration file. A good file replaces the configuration
/// for every connection (they read it per request); a broken one is logged
/// and the old configuration stays.
fn reload(path: &Path, config: &watch::Sender<Arc<Config>>) {
    send_notification(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
    // A small file: reading it blocks this thread for microseconds.
    match Config::load(path) {
        Ok(new) => {
            eprintln!("reloaded {}: greeting {:?}", path.display(), new.greeting);
            config.send_replace(Arc::new(new));
        }
        Err(e) => eprintln!("error: reload failed, keeping the old configuration: {e}"),
    }
    // systemd waits for READY=1 to end the reload, whether it worked or not.
    send_notification("READY=1");
}

/// CLOCK_MONOTONIC in microseconds, the clock systemd compares a reload
/// notification's time with. `std::time::Instant` uses this clock on Linux
/// but does not show its value.
fn monotonic_usec() -> u64 {
    use nix::time::{ClockId, clock_gettime};
    match clock_gettime(ClockId::CLOCK_MONOTONIC) {
        Ok(now) => now.tv_sec() as u64 * 1_000_000 + now.tv_nsec() as u64 / 1_000,
        Err(_) => 0, // cannot happen for CLOCK_MONOTONIC on Linux
    }
}
// ANCHOR_END: reload
