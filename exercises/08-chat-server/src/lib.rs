//! # Exercise 08: a chat server
//!
//! Write a chat server: clients connect over TCP, pick a nick, join a room,
//! and every line they type reaches everyone in that room. A client sends
//! lines ending in `\n` (or `\r\n`); the server sends lines ending in `\n`.
//!
//! | the client sends | the server replies |
//! |------------------|--------------------|
//! | (connects)       | `* motd: TEXT`, the message of the day ([`Settings::motd`]) |
//! | `/nick NAME`     | `OK nick NAME`, or `ERR nick taken` if another client has it |
//! | `/join ROOM`     | `OK joined ROOM` (leaving the current room first, if any) |
//! | `/leave`         | `OK left ROOM` |
//! | `/who`           | `OK who NAME NAME ...`: the members of the current room, sorted |
//! | `hello all`      | nothing directly: every member of the room, the sender included, receives `[ROOM] NICK: hello all` |
//! | an empty line    | nothing (it is ignored) |
//!
//! and these errors, after which the connection stays open:
//!
//! | when | the server replies |
//! |------|--------------------|
//! | a name is not 1 to 32 ASCII letters, digits, `_` or `-` | `ERR invalid name` |
//! | `/join` before `/nick` | `ERR set a nick first` |
//! | a message, `/leave` or `/who` outside a room | `ERR not in a room` |
//! | an unknown command, as `/shout hi` | `ERR unknown command: /shout` (the command is the text up to the first space) |
//! | a line that is not UTF-8 | `ERR invalid UTF-8` |
//! | a line over [`Settings::max_message`] | `ERR message too long (max N bytes)` |
//!
//! The server may also send, at any time:
//!
//! | line | when |
//! |------|------|
//! | `* motd: TEXT` | the message of the day changed |
//! | `* you missed N messages` | this client read too slowly and its room dropped N messages for it (see [`Config::room_capacity`]) |
//! | `* server shutting down` | the last line before the server closes the connection |
//! | `ERR server full` | the only line a client over [`Config::max_clients`] receives |
//!
//! Nicks are unique on the server and case-sensitive; a client can change
//! its nick at any time, in a room or not. A client that disconnects leaves
//! its room and frees its nick.
//!
//! The tests start [`serve`] on a listener bound to `127.0.0.1:0` and talk to
//! it with real `TcpStream` clients. Run them with
//!
//! ```text
//! cargo test -p exercise-08
//! ```
//!
//! and make every test pass. Try your server by hand too:
//! `cargo run -p exercise-08 --features examples --example serve` starts it
//! on `127.0.0.1:7878`, and `nc 127.0.0.1 7878` talks to it. Stuck?
//! `cargo course hint 08`, or read `exercises/08-chat-server/hints.md`.
//!
//! `src/lines.rs` is given: a line reader with a cap on the line's length,
//! which a `select!` may cancel without losing bytes.

mod lines;
use lines::{Line, LineReader};

use std::io;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The longest message [`Settings::default`] accepts, in bytes.
pub const DEFAULT_MAX_MESSAGE: usize = 1024;

/// Settings that may change while the server runs. The server receives them
/// through a `tokio::sync::watch` channel, and every connection, old or new,
/// follows the latest value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The message of the day. Each client receives `* motd: TEXT` right
    /// after it connects, and again, on every open connection, whenever the
    /// message of the day changes. (A change of the other settings alone sends
    /// nothing.)
    pub motd: String,
    /// The longest line accepted, in bytes, not counting its `\n` or `\r\n`.
    /// It applies to every line, commands included. A longer line is answered
    /// with `ERR message too long (max N bytes)` (N is this value) without
    /// waiting for its end: at the latest once `max_message + 2` bytes of it
    /// have arrived without a `\n`. The rest of that line is thrown away
    /// unread, and the connection goes on with the next line. A change applies
    /// to the open connections from the next line they read on.
    pub max_message: usize,
}

impl Default for Settings {
    /// `motd` = `"welcome"`, `max_message` = [`DEFAULT_MAX_MESSAGE`].
    fn default() -> Self {
        Settings {
            motd: "welcome".into(),
            max_message: DEFAULT_MAX_MESSAGE,
        }
    }
}

/// Settings fixed for the life of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The most clients connected at once. A client over the limit receives
    /// `ERR server full` and is disconnected; a place frees up as soon as a
    /// connected client leaves.
    pub max_clients: usize,
    /// How many messages a room keeps, at least, for its slowest member
    /// (0 counts as 1). A member that falls further behind (its client does
    /// not read, so its socket's buffers are full) loses the oldest messages
    /// it has not received, gets one line `* you missed N messages` and goes
    /// on with the oldest message the room still has.
    pub room_capacity: usize,
    /// At shutdown, how long a client gets to take its goodbye line before
    /// the server closes the connection anyway.
    pub goodbye_timeout: Duration,
}

impl Default for Config {
    /// 256 clients, rooms of 128 messages, 1 s for the goodbye.
    fn default() -> Self {
        Config {
            max_clients: 256,
            room_capacity: 128,
            goodbye_timeout: Duration::from_secs(1),
        }
    }
}

/// Serves the chat protocol on every connection `listener` accepts, each
/// connection in its own task, until `shutdown` is cancelled.
///
/// The caller binds the listener (the tests use `127.0.0.1:0`) and owns the
/// sending side of `settings`; when that sender is dropped, the settings stay
/// as they last were.
///
/// Per connection, see the protocol in the crate documentation. In short:
/// every line is a command (`/nick`, `/join`, `/leave`, `/who`) or a message
/// to the client's current room; every member of a room, the sender
/// included, receives the room's messages in the same order; a client that
/// does not read slows nobody down but itself.
///
/// Shutdown: once `shutdown` is cancelled, `serve` stops accepting and closes
/// its listener; every connection stops what it is doing, sends
/// `* server shutting down` (waiting at most `config.goodbye_timeout` for a
/// client that does not read), and closes. `serve` returns once every task it
/// started has ended.
///
/// # Accept errors
///
/// No error from `accept` stops the server, as in chapter 3: an error that
/// concerns only the connection being accepted (it was aborted or reset) is
/// skipped; any other (in practice "too many open files") is logged to
/// stderr, and `accept` retried after a pause of about 100 ms.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    settings: watch::Receiver<Settings>,
    shutdown: CancellationToken,
) {
    // TODO: accept connections until `shutdown` is cancelled, each in its own
    // task, at most `config.max_clients` at once; then let every connection
    // say goodbye, and wait until all of your tasks have ended.
    todo!("accept connections, limit them, and shut down cleanly")
}

/// Serves one client until it leaves or the server shuts down. A suggested
/// helper: change or remove it as you like.
async fn handle_connection(
    stream: TcpStream,
    settings: watch::Receiver<Settings>,
    shutdown: CancellationToken,
) -> io::Result<()> {
    // TODO: send the message of the day, then wait for whichever comes first:
    // the client's next line, the next message of its room, a change of the
    // settings, or the shutdown.
    todo!("serve one client")
}
