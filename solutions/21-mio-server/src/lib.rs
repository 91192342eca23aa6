//! # Exercise 21, reference solution: a line server on a hand-written mio loop
//!
//! One thread, one `mio::Poll`, a `Slab` of connections keyed by their
//! tokens. Every socket is non-blocking and registered edge-triggered, so
//! each readiness event is drained until `WouldBlock`. See the exercise's
//! crate documentation for the protocol.

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

// ANCHOR: bind
/// Creates a listening, non-blocking TCP socket bound to `addr`, with
/// `SO_REUSEADDR` set (so that a restarted server can bind its port again
/// while connections of the previous one are in `TIME_WAIT`) and a backlog
/// of `backlog` connections waiting to be accepted.
pub fn bind(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // Before bind: the option decides whether bind succeeds.
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(TcpListener::from_std(socket.into()))
}
// ANCHOR_END: bind

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

// Tokens: the slab's keys for connections, two reserved values at the top
// for the listener and the waker, so they can never clash with a key.
const LISTENER: Token = Token(usize::MAX);
const WAKER: Token = Token(usize::MAX - 1);
const UDP: Token = Token(usize::MAX - 2);

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
    /// Bytes of an unfinished line (at most `max_line + 2`).
    input: Vec<u8>,
    /// Throwing away the rest of a line that was too long.
    discarding: bool,
    /// Replies not yet taken by the kernel: `output[written..]`.
    output: Vec<u8>,
    written: usize,
    /// WRITABLE is in this connection's registered interest.
    wants_write: bool,
    /// `/quit` was received: close once the output is flushed.
    closing: bool,
}

/// What to do with a connection after handling an event.
enum After {
    Keep,
    Close,
}

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

    // ANCHOR: with_udp
    /// Also serves the protocol over UDP on `socket` (bound by the caller).
    /// Each datagram is one line, with or without its `\n`; it is answered
    /// with one datagram holding the reply line (ending in `\n`), sent to
    /// the datagram's source. `/quit` gets `BYE` and ends nothing: there is
    /// no connection. A datagram longer than [`Config::max_line`] bytes
    /// (line ending aside) gets `ERR line too long (max N bytes)`. A reply
    /// the socket cannot take at once is dropped, as UDP allows.
    pub fn with_udp(mut self, mut socket: UdpSocket) -> io::Result<Server> {
        self.poll
            .registry()
            .register(&mut socket, UDP, Interest::READABLE)?;
        self.udp = Some(socket);
        Ok(self)
    }
    // ANCHOR_END: with_udp

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
        // ANCHOR: event_loop
        let mut events = Events::with_capacity(256);
        loop {
            if let Err(e) = self.poll.poll(&mut events, None) {
                // A signal interrupted the wait: not an error, wait again.
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(),
                    UDP => self.answer_datagrams(),
                    WAKER => {
                        if self.stop.load(Ordering::Acquire) {
                            return Ok(());
                        }
                    }
                    Token(key) => {
                        // A connection closed earlier in this batch has no
                        // entry any more (or, if its key was reused by a
                        // connection accepted since, a spurious wake-up,
                        // which the drain loops below shrug off).
                        let Some(conn) = self.connections.get_mut(key) else {
                            continue;
                        };
                        let after = conn.ready(
                            self.poll.registry(),
                            Token(key),
                            event.is_readable() || event.is_read_closed(),
                            event.is_writable(),
                            &self.config,
                        );
                        if let After::Close = after {
                            let mut conn = self.connections.remove(key);
                            // Dropping the stream closes it (and epoll forgets
                            // it); deregistering first says so explicitly.
                            let _ = self.poll.registry().deregister(&mut conn.stream);
                        }
                    }
                }
            }
        }
        // ANCHOR_END: event_loop
    }

    // ANCHOR: accept
    /// Accepts every connection waiting: the listener is edge-triggered too,
    /// so one event may stand for many connections.
    fn accept_all(&mut self) {
        loop {
            let (mut stream, _peer) = match self.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Out of file descriptors (EMFILE) and the like: a real
                    // server would pause accepting (chapter 3); this one logs
                    // and waits for the next event.
                    eprintln!("accept failed: {e}");
                    return;
                }
            };
            let sock = SockRef::from(&stream);
            // Replies are small and answer a request: send them at once.
            let _ = sock.set_tcp_nodelay(true);
            // Notice peers that vanished without a FIN (after ~2 minutes idle).
            let _ =
                sock.set_tcp_keepalive(&TcpKeepalive::new().with_time(Duration::from_secs(120)));
            let entry = self.connections.vacant_entry();
            let token = Token(entry.key());
            if let Err(e) = self
                .poll
                .registry()
                .register(&mut stream, token, Interest::READABLE)
            {
                eprintln!("register failed: {e}");
                continue;
            }
            entry.insert(Connection {
                stream,
                input: Vec::new(),
                discarding: false,
                output: Vec::new(),
                written: 0,
                wants_write: false,
                closing: false,
            });
        }
    }
    // ANCHOR_END: accept

    // ANCHOR: datagrams
    /// Answers every datagram waiting, until `WouldBlock`: the UDP socket
    /// is edge-triggered like the others.
    fn answer_datagrams(&mut self) {
        let Some(socket) = &self.udp else { return };
        // One byte more than a line with "\r\n" may have: a longer datagram
        // is cut to this size by the kernel, and is too long either way.
        let mut buf = vec![0u8; self.config.max_line + 3];
        let mut reply = Vec::new();
        loop {
            let (n, from) = match socket.recv_from(&mut buf) {
                Ok(received) => received,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // An ICMP error from an earlier send_to, and the like: skip.
                Err(_) => continue,
            };
            let mut line = &buf[..n];
            line = line.strip_suffix(b"\n").unwrap_or(line);
            line = line.strip_suffix(b"\r").unwrap_or(line);
            reply.clear();
            if line.len() > self.config.max_line {
                reply.extend_from_slice(too_long(&self.config).as_bytes());
            } else {
                answer(line, &mut reply);
            }
            // WouldBlock or any other error: this reply is lost, as a
            // datagram may be; the client asks again if it cares.
            let _ = socket.send_to(&reply, from);
        }
    }
    // ANCHOR_END: datagrams
}

fn too_long(config: &Config) -> String {
    format!("ERR line too long (max {} bytes)\n", config.max_line)
}

/// Appends the reply to one line (without its ending) to `out`; true if
/// the line was `/quit`.
fn answer(line: &[u8], out: &mut Vec<u8>) -> bool {
    if line == b"/quit" {
        out.extend_from_slice(b"BYE\n");
        return true;
    }
    if line == b"/upper" || line.starts_with(b"/upper ") {
        let rest = line.get(7..).unwrap_or_default();
        out.extend(rest.iter().map(u8::to_ascii_uppercase));
        out.push(b'\n');
    } else if line.starts_with(b"/") {
        out.extend_from_slice(b"ERR unknown command\n");
    } else {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    false
}

impl Connection {
    /// Handles one readiness event of this connection.
    fn ready(
        &mut self,
        registry: &Registry,
        token: Token,
        readable: bool,
        writable: bool,
        config: &Config,
    ) -> After {
        if readable && !self.closing && matches!(self.read_all(config), After::Close) {
            return After::Close;
        }
        if (writable || self.pending() > 0) && matches!(self.flush(), After::Close) {
            return After::Close;
        }
        if self.closing && self.pending() == 0 {
            return After::Close;
        }
        if self.pending() > config.max_output {
            // The client sends but does not read: stop holding its replies.
            return After::Close;
        }
        self.update_interest(registry, token)
    }

    // ANCHOR: read_all
    /// Reads until `WouldBlock`: with edge-triggered readiness, data left
    /// in the socket now would not be announced again.
    fn read_all(&mut self, config: &Config) -> After {
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                // End of stream: the client closed its side.
                Ok(0) => return After::Close,
                Ok(n) => {
                    self.take_bytes(&chunk[..n], config);
                    if self.closing {
                        return After::Keep; // ignore whatever follows /quit
                    }
                    // Over the cap: try to hand the replies to the kernel
                    // first. Only if it takes too little is the client
                    // really not reading.
                    if self.pending() > config.max_output {
                        if let After::Close = self.flush() {
                            return After::Close;
                        }
                        if self.pending() > config.max_output {
                            return After::Close;
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return After::Keep,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return After::Close,
            }
        }
    }
    // ANCHOR_END: read_all

    /// Splits `bytes` into lines and queues a reply for each complete one.
    fn take_bytes(&mut self, mut bytes: &[u8], config: &Config) {
        while !bytes.is_empty() && !self.closing {
            let newline = bytes.iter().position(|&b| b == b'\n');
            if self.discarding {
                match newline {
                    Some(i) => {
                        self.discarding = false;
                        bytes = &bytes[i + 1..];
                    }
                    None => return,
                }
                continue;
            }
            match newline {
                Some(i) => {
                    self.input.extend_from_slice(&bytes[..i]);
                    bytes = &bytes[i + 1..];
                    let mut line = std::mem::take(&mut self.input);
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    if line.len() > config.max_line {
                        self.reply_too_long(config);
                    } else {
                        self.reply(&line);
                    }
                }
                None => {
                    self.input.extend_from_slice(bytes);
                    bytes = &[];
                    // Room for the text and a "\r\n": anything longer than
                    // max_line + 2 without "\n" is too long already.
                    if self.input.len() >= config.max_line + 2 {
                        self.input.clear();
                        self.discarding = true;
                        self.reply_too_long(config);
                    }
                }
            }
        }
    }

    fn reply_too_long(&mut self, config: &Config) {
        self.output.extend_from_slice(too_long(config).as_bytes());
    }

    /// Queues the reply to one line (without its ending).
    fn reply(&mut self, line: &[u8]) {
        if answer(line, &mut self.output) {
            self.closing = true;
        }
    }

    /// Reply bytes not yet taken by the kernel.
    fn pending(&self) -> usize {
        self.output.len() - self.written
    }

    // ANCHOR: flush
    /// Writes until the output is empty or the socket says `WouldBlock`. A
    /// write may take only part of what it is given: the rest stays queued.
    fn flush(&mut self) -> After {
        while self.written < self.output.len() {
            match self.stream.write(&self.output[self.written..]) {
                Ok(0) => return After::Close,
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return After::Close,
            }
        }
        if self.written == self.output.len() {
            self.output.clear();
            self.written = 0;
        } else if self.written > self.output.len() / 2 {
            // Drop the sent half so the buffer does not only grow.
            self.output.drain(..self.written);
            self.written = 0;
        }
        After::Keep
    }

    /// Asks for WRITABLE while replies are waiting, and only then: an
    /// empty socket buffer is writable nearly all the time.
    fn update_interest(&mut self, registry: &Registry, token: Token) -> After {
        let wants_write = self.pending() > 0;
        if wants_write == self.wants_write {
            return After::Keep;
        }
        let interest = if wants_write {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        match registry.reregister(&mut self.stream, token, interest) {
            Ok(()) => {
                self.wants_write = wants_write;
                After::Keep
            }
            Err(_) => After::Close,
        }
    }
    // ANCHOR_END: flush
}
