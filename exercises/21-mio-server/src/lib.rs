//! # Exercise 21: a line server on a hand-written mio event loop
//!
//! Chapter 3's line protocol, smaller, without tokio: one thread, one
//! `mio::Poll`, non-blocking sockets, a `Slab` of connections keyed by their
//! tokens. A client sends lines ending in `\n` (or `\r\n`); the server
//! answers every line with exactly one line ending in `\n`, in order:
//!
//! | the client sends      | the server replies                                  |
//! |-----------------------|-----------------------------------------------------|
//! | `hello world`         | `hello world` (any line not starting with `/`)      |
//! | `/upper hello`        | `HELLO` (the text after `/upper `, ASCII letters upper-cased) |
//! | `/quit`               | `BYE`, then the server closes the connection        |
//! | `/shout hi`           | `ERR unknown command` (any other line starting with `/`) |
//! | a line over the limit | `ERR line too long (max 1024 bytes)`, see [`Config`] |
//!
//! Lines are bytes: they need not be UTF-8. Several lines in one packet and
//! one line split over many packets both work. Many clients are served at
//! once, and a client that stops reading its replies never holds up the
//! others: its replies wait in a buffer of at most [`Config::max_output`]
//! bytes, and it is disconnected when that is not enough.
//!
//! The same replies are also served over UDP, one datagram per line, on a
//! socket given to [`Server::with_udp`].
//!
//! The tests start a [`Server`] on a thread of their own, on a listener from
//! [`bind`] (`127.0.0.1:0`), talk to it with real `TcpStream` clients and
//! stop it with a [`Stopper`]. Run them with
//!
//! ```text
//! cargo test -p exercise-21
//! ```
//!
//! Stuck? `cargo course hint 21`, or read `exercises/21-mio-server/hints.md`.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use slab::Slab;
use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

/// The longest line [`Config::default`] accepts, in bytes.
pub const DEFAULT_MAX_LINE: usize = 1024;

/// The most reply bytes [`Config::default`] holds for one client: 64 KiB.
pub const DEFAULT_MAX_OUTPUT: usize = 64 * 1024;

/// Settings of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The longest line accepted, in bytes, not counting its `\n` or `\r\n`.
    /// A longer line is answered with `ERR line too long (max N bytes)` as
    /// soon as `max_line + 2` bytes of it have arrived without a `\n`; the
    /// rest of it, up to and including its `\n`, is thrown away.
    pub max_line: usize,
    /// The most reply bytes the server holds in memory for one connection,
    /// beyond what the kernel's socket buffers have taken. A client that
    /// stops reading its replies while it goes on sending lines is
    /// disconnected once its replies would pass this cap.
    pub max_output: usize,
}

impl Default for Config {
    /// `max_line` = [`DEFAULT_MAX_LINE`], `max_output` = [`DEFAULT_MAX_OUTPUT`].
    fn default() -> Self {
        Config {
            max_line: DEFAULT_MAX_LINE,
            max_output: DEFAULT_MAX_OUTPUT,
        }
    }
}

/// Creates a listening, non-blocking TCP socket bound to `addr`, with
/// `SO_REUSEADDR` set (so that a restarted server can bind its port again
/// while connections of the previous one are in `TIME_WAIT`) and a backlog
/// of `backlog` connections waiting to be accepted.
pub fn bind(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    // TODO: a socket2 Socket with SO_REUSEADDR, non-blocking, bound,
    // listening with `backlog`; then turn it into a mio TcpListener.
    todo!()
}

/// Stops a running [`Server`] from another thread.
#[derive(Debug, Clone)]
pub struct Stopper {
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl Stopper {
    /// Asks the server to stop: [`Server::run`] returns `Ok(())` soon after,
    /// closing every connection. Calling it again does no harm.
    pub fn stop(&self) -> io::Result<()> {
        self.stop.store(true, Ordering::Release);
        self.waker.wake()
    }
}

/// A line server running on one thread with a mio event loop.
#[derive(Debug)]
pub struct Server {
    poll: Poll,
    listener: TcpListener,
    connections: Slab<Connection>,
    config: Config,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    udp: Option<UdpSocket>,
}

/// One client's socket and buffers.
#[derive(Debug)]
struct Connection {
    stream: TcpStream,
    // TODO: the unfinished line, the replies not yet written, and whatever
    // else one connection needs to remember between events.
}

// The listener and the waker need tokens that no connection can get.
const LISTENER: Token = Token(usize::MAX);
const WAKER: Token = Token(usize::MAX - 1);
const UDP: Token = Token(usize::MAX - 2);

impl Server {
    /// Makes a server for `listener` (from [`bind`]) and registers it with a
    /// new `Poll`. Nothing is served until [`Server::run`].
    pub fn new(mut listener: TcpListener, config: Config) -> io::Result<Server> {
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        Ok(Server {
            poll,
            listener,
            connections: Slab::new(),
            config,
            stop: Arc::new(AtomicBool::new(false)),
            waker,
            udp: None,
        })
    }

    /// Also serves the protocol over UDP on `socket` (bound by the caller).
    /// Each datagram is one line, with or without its `\n`; it is answered
    /// with one datagram holding the reply line (ending in `\n`), sent to
    /// the datagram's source. `/quit` gets `BYE` and ends nothing: there is
    /// no connection. A datagram longer than [`Config::max_line`] bytes
    /// (line ending aside) gets `ERR line too long (max N bytes)`. A reply
    /// the socket cannot take at once is dropped, as UDP allows.
    pub fn with_udp(mut self, mut socket: UdpSocket) -> io::Result<Server> {
        // TODO: register the socket under the UDP token and keep it.
        todo!()
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// A handle that stops this server from another thread.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            stop: Arc::clone(&self.stop),
            waker: Arc::clone(&self.waker),
        }
    }

    /// Serves the line protocol (see the crate documentation) on every
    /// connection the listener accepts, all on the calling thread, until a
    /// [`Stopper`] stops it; then returns `Ok(())`. Returns an error only if
    /// polling itself fails. A client that misbehaves, stops reading or
    /// disappears affects only its own connection.
    pub fn run(mut self) -> io::Result<()> {
        // TODO: poll in a loop and handle each event: accept on LISTENER,
        // stop on WAKER once the flag is set, and otherwise read, answer and
        // write for the connection whose token it is.
        todo!()
    }
}
