//! # Exercise 03: a TCP echo and line-command server
//!
//! Write a server that speaks a tiny line protocol over real TCP sockets and
//! serves many clients at once, one tokio task per connection. A client sends
//! lines ending in `\n` (or `\r\n`); the server answers every line with exactly
//! one line ending in `\n`:
//!
//! | the client sends      | the server replies                                  |
//! |-----------------------|-----------------------------------------------------|
//! | `hello world`         | `hello world` (any line not starting with `/`)      |
//! | `/upper hello`        | `HELLO` (the text after `/upper `, upper-cased)     |
//! | `/reverse hello`      | `olleh` (the text after `/reverse `, characters reversed) |
//! | `/count`              | how many lines this connection has sent, this one included |
//! | `/quit`               | `BYE`, then the server closes the connection        |
//! | `/shout hi`           | `ERR unknown command: /shout`                       |
//! | bytes that are not UTF-8 | `ERR invalid UTF-8`                              |
//! | a line over the limit | `ERR line too long (max 1024 bytes)`, see [`Config`] |
//! | nothing for 5 minutes | nothing: the server closes the connection, see [`Config`] |
//!
//! The tests start [`serve`] on a listener bound to `127.0.0.1:0` and talk to
//! it with real `TcpStream` clients. Run them with
//!
//! ```text
//! cargo test -p exercise-03
//! ```
//!
//! and make every test pass. Try your server by hand too:
//! `cargo run -p exercise-03 --features examples --example serve` starts it
//! on `127.0.0.1:7878`, and `nc 127.0.0.1 7878` talks to it. Stuck?
//! `cargo course hint 03`, or read `exercises/03-echo-server/hints.md`.

use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

/// The longest line [`Config::default`] accepts, in bytes.
pub const DEFAULT_MAX_LINE: usize = 1024;

/// How long [`Config::default`] waits for a client: 5 minutes.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Settings of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The longest line accepted, in bytes, not counting its `\n` or `\r\n`.
    ///
    /// A longer line is answered with `ERR line too long (max N bytes)` (N is
    /// this value) without waiting for its end: at the latest once
    /// `max_line + 2` bytes of it have arrived (room for the text and a
    /// `\r\n`) and none of them is a `\n`. If its `\n` has not arrived yet,
    /// the rest of the line, up to and including that `\n`, is then read and
    /// thrown away; either way the connection goes on with the next line. The
    /// server never holds more than about `max_line` bytes of a line in
    /// memory, however long the line is.
    pub max_line: usize,
    /// The longest the server waits for a client: for the next line to
    /// arrive in full (from the start of the connection or from the previous
    /// reply on), for the rest of a line that was too long, or for the client
    /// to take a reply. When the time is up, the server closes the
    /// connection without a reply. A client that sends nothing thus holds its
    /// connection (and a file descriptor) for at most this long.
    pub idle_timeout: Duration,
}

impl Default for Config {
    /// `max_line` = [`DEFAULT_MAX_LINE`], `idle_timeout` =
    /// [`DEFAULT_IDLE_TIMEOUT`].
    fn default() -> Self {
        Config {
            max_line: DEFAULT_MAX_LINE,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// Serves the line protocol on every connection `listener` accepts, each
/// connection in its own task. Never returns: to stop the server, drop or
/// abort the task (or future) that runs it.
///
/// The caller binds the listener (the tests use `127.0.0.1:0`); `serve` never
/// binds by itself.
///
/// Per connection:
/// - Each line ends with `\n`; a `\r` just before it is part of the ending, not
///   of the line. Each line gets exactly one reply line, ending in `\n`, in the
///   order the lines were sent. Several lines in one packet and one line split
///   over many packets both work.
/// - Replies: see the table in the crate documentation. `/upper` and
///   `/reverse` transform everything after the first space (nothing if there
///   is none). `/count` replies with the number of lines received on this
///   connection so far, this one included, whatever their replies were.
/// - A line that is not valid UTF-8 gets `ERR invalid UTF-8`; the connection
///   stays open.
/// - When the client closes its side, an unfinished last line (no `\n`) is
///   dropped without a reply and the server closes the connection.
/// - A client that waits longer than [`Config::idle_timeout`] (sends nothing,
///   or stops reading its replies) is disconnected.
/// - A client that misbehaves or disappears affects only its own connection.
///
/// # Accept errors
///
/// No error from `accept` stops the server:
/// - an error that concerns only the connection being accepted (the kinds
///   `ConnectionAborted`, `ConnectionReset`, `ConnectionRefused`,
///   `NetworkDown`, `NetworkUnreachable`, `HostUnreachable`: that client is
///   gone already) is skipped, and the next connection accepted at once;
/// - any other error (in practice a shortage of resources: "Too many open
///   files", EMFILE or ENFILE, when the process or the system has no file
///   descriptor left; ENOBUFS; ENOMEM) is logged, and `accept` retried after
///   a short pause of about 100 ms: at once would keep a CPU busy retrying
///   while nothing changes, and giving up would stop serving for good.
///   Connections already open go on being served meanwhile.
///
/// Errors go to stderr, at most about one line per second: a flood of
/// failing connections must not become a flood of log lines. The lines held
/// back are counted, and the next line that goes out says how many.
pub async fn serve(listener: TcpListener, config: Config) {
    // TODO: accept connections in a loop and handle each one in its own task,
    // so that one slow or silent client never holds up the others. Handle
    // each kind of accept error as "Accept errors" above says.
    todo!("accept connections and spawn a task for each")
}

/// Serves one client until it quits, disconnects, or keeps the server waiting
/// too long. A suggested helper: change or remove it as you like.
async fn handle_connection(stream: TcpStream, config: Config) -> std::io::Result<()> {
    // TODO: read the client's lines one by one, never buffering more than
    // about `config.max_line` bytes of a line and never waiting longer than
    // `config.idle_timeout`, and write one reply per line.
    todo!("read lines and answer each one")
}
