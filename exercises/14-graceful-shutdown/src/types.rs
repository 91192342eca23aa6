//! The options of the server program and the ways it can end. Given and
//! finished: `main.rs` builds an [`Options`] from the command line, your
//! [`run`](crate::run) returns a [`Shutdown`], and `main.rs` turns it into
//! the process's exit code. The reference solution uses this very file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

// ANCHOR: options
/// What the server program was asked to do (its command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The address to listen on; port 0 lets the system pick a free one.
    pub addr: SocketAddr,
    /// The configuration file, read at start and again on each SIGHUP.
    pub config_path: PathBuf,
    /// How long a graceful shutdown may wait for requests in flight.
    pub drain_timeout: Duration,
}

/// How [`run`](crate::run) ended; `main.rs` makes it the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Every request in flight finished within the drain timeout: exit 0.
    Drained,
    /// The drain timeout passed first; the remaining connections are
    /// dropped with the process: exit 2.
    DeadlinePassed,
    /// A second SIGTERM or SIGINT came while draining: exit 3, at once.
    Interrupted,
}

impl Shutdown {
    /// The process's exit code for this ending.
    pub fn exit_code(self) -> i32 {
        match self {
            Shutdown::Drained => 0,
            Shutdown::DeadlinePassed => 2,
            Shutdown::Interrupted => 3,
        }
    }
}
// ANCHOR_END: options

/// The exit code when the server cannot start (bad configuration, address
/// in use) or fails: `run` returned an error.
pub const EXIT_ERROR: i32 = 1;

/// The exit code for a command line that makes no sense.
pub const EXIT_USAGE: i32 = 64;

/// The default drain timeout.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

impl Options {
    /// Reads the command line (without the program's name):
    /// `CONFIG [--addr ADDR] [--drain-timeout-ms MS]`.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut config_path = None;
        let mut addr: SocketAddr = ([127, 0, 0, 1], 0).into();
        let mut drain_timeout = DEFAULT_DRAIN_TIMEOUT;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--addr" => {
                    let value = args.next().ok_or("--addr needs an address")?;
                    addr = value.parse().map_err(|e| format!("--addr {value}: {e}"))?;
                }
                "--drain-timeout-ms" => {
                    let value = args.next().ok_or("--drain-timeout-ms needs a number")?;
                    let ms: u64 = value
                        .parse()
                        .map_err(|e| format!("--drain-timeout-ms {value}: {e}"))?;
                    drain_timeout = Duration::from_millis(ms);
                }
                flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
                path if config_path.is_none() => config_path = Some(PathBuf::from(path)),
                extra => return Err(format!("unexpected argument {extra}")),
            }
        }
        let config_path = config_path.ok_or("the configuration file is missing")?;
        Ok(Options {
            addr,
            config_path,
            drain_timeout,
        })
    }
}
