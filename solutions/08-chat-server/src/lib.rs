//! # Exercise 08, reference solution: a chat server
//!
//! - One task per connection, with one `select!` loop over the client's next
//!   line, the next message of its room, a change of the settings and the
//!   shutdown. Everything the connection writes goes through that one task,
//!   so the lines a client receives never interleave.
//! - Each room is a `broadcast` channel. Sending never waits for anybody, and
//!   a member that falls more than `room_capacity` messages behind (because
//!   its client stopped reading and its socket is full) is told how many it
//!   missed and goes on from the oldest message the room still holds.
//! - Nicks and room members live in one `std::sync::Mutex`: every critical
//!   section is a few map operations with no `.await` inside, and the
//!   clean-up when a client leaves runs in `Drop`, which cannot `.await`.
//! - A `Semaphore` counts the connections, a `watch` channel carries the
//!   settings, a `CancellationToken` the shutdown, and a `JoinSet` holds the
//!   connection tasks so that `serve` can wait for every one of them.
//!
//! See the exercise's crate documentation for the protocol.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

// The line reader is the exercise's given file, not a copy.
#[path = "../../../exercises/08-chat-server/src/lines.rs"]
mod lines;
use lines::{Line, LineReader};

// ANCHOR: settings
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
// ANCHOR_END: settings

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
    let hub = Arc::new(Hub::new(config.room_capacity));
    // One permit per connection. A connection task owns its permit, so the
    // permit comes back when the task ends, however it ends.
    let places = Arc::new(Semaphore::new(config.max_clients));
    let mut tasks = JoinSet::new();

    loop {
        let stream = tokio::select! {
            _ = shutdown.cancelled() => break,
            // Collect finished tasks as we go, so that the set holds only
            // running ones. (With an empty set, `join_next` returns `None`:
            // the pattern does not match and the branch sits this round out.)
            Some(finished) = tasks.join_next() => {
                report(finished);
                continue;
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                // The client gave up before we accepted it: next one.
                Err(e) if is_per_connection(&e) => continue,
                // Out of file descriptors (or memory): retrying at once
                // would fail the same way, in a busy loop. Pause, but not
                // through a shutdown.
                Err(e) => {
                    eprintln!("accept failed: {e}; retrying in {ACCEPT_PAUSE:?}");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(ACCEPT_PAUSE) => continue,
                    }
                }
            },
        };
        // `try_acquire_owned`, not `acquire_owned().await`: waiting here
        // would stop the loop from accepting, and the client over the limit
        // would sit in the kernel's queue with no answer at all.
        match Arc::clone(&places).try_acquire_owned() {
            Ok(permit) => {
                let connection = Connection::new(
                    stream,
                    Arc::clone(&hub),
                    settings.clone(),
                    shutdown.clone(),
                    permit,
                );
                tasks.spawn(connection.run(config.goodbye_timeout));
            }
            Err(_) => {
                // A few bytes into the empty send buffer of a new socket:
                // this does not wait for the client. Still a task, so that
                // the accept loop never waits on a client for anything.
                tasks.spawn(async move {
                    let mut stream = stream;
                    let _ = stream.write_all(b"ERR server full\n").await;
                });
            }
        }
    }

    // Shutdown: no new connections; every connection has seen the token and
    // says goodbye; we return only when the last task has ended.
    drop(listener);
    while let Some(finished) = tasks.join_next().await {
        report(finished);
    }
}

/// How long to wait before accepting again after an error that is not about
/// one connection.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Errors of `accept` that concern one connection, not the listener.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// A connection task that panicked is a bug: say so, keep serving.
fn report(finished: Result<(), tokio::task::JoinError>) {
    if let Err(e) = finished
        && e.is_panic()
    {
        eprintln!("a connection task panicked: {e}");
    }
}

// ---------------------------------------------------------------------------
// The hub: nicks, rooms and their members, behind one std Mutex
// ---------------------------------------------------------------------------

/// A message as it goes out to every member: `[room] nick: text`, formatted
/// once and shared, since a broadcast channel clones it for each receiver.
type Message = Arc<str>;

struct Hub {
    state: Mutex<State>,
    room_capacity: usize,
}

#[derive(Default)]
struct State {
    nicks: HashSet<String>,
    rooms: HashMap<String, Room>,
}

struct Room {
    sender: broadcast::Sender<Message>,
    /// Sorted, for `/who`.
    members: BTreeSet<String>,
}

/// A connection's place in a room.
struct Membership {
    room: String,
    sender: broadcast::Sender<Message>,
    receiver: broadcast::Receiver<Message>,
}

impl Hub {
    fn new(room_capacity: usize) -> Self {
        Hub {
            state: Mutex::default(),
            room_capacity: room_capacity.max(1),
        }
    }

    /// The lock. No critical section below can panic halfway through a
    /// change, so a poisoned lock still guards consistent data.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes `new` as the nick of a client that had `old` (and is a member
    /// of `room`). Returns `false` if another client has it.
    fn rename(&self, old: Option<&str>, new: &str, room: Option<&str>) -> bool {
        if old == Some(new) {
            return true;
        }
        let mut state = self.state();
        // Check and insert under one lock: two clients asking for the same
        // nick at the same moment cannot both get it.
        if !state.nicks.insert(new.to_owned()) {
            return false;
        }
        if let Some(old) = old {
            state.nicks.remove(old);
            if let Some(room) = room.and_then(|r| state.rooms.get_mut(r)) {
                room.members.remove(old);
                room.members.insert(new.to_owned());
            }
        }
        true
    }

    /// Adds `nick` to `room`, creating the room if needed.
    fn join(&self, nick: &str, room: &str) -> Membership {
        let mut state = self.state();
        let entry = state.rooms.entry(room.to_owned()).or_insert_with(|| Room {
            sender: broadcast::channel(self.room_capacity).0,
            members: BTreeSet::new(),
        });
        entry.members.insert(nick.to_owned());
        // Subscribed before `OK joined` goes out: every message sent after
        // the client has seen its `OK` reaches it.
        Membership {
            room: room.to_owned(),
            sender: entry.sender.clone(),
            receiver: entry.sender.subscribe(),
        }
    }

    /// Removes `nick` from `room`; the last one out closes the room.
    fn leave(&self, nick: &str, room: &str) {
        let mut state = self.state();
        if let Some(entry) = state.rooms.get_mut(room) {
            entry.members.remove(nick);
            if entry.members.is_empty() {
                state.rooms.remove(room);
            }
        }
    }

    fn who(&self, room: &str) -> Vec<String> {
        let state = self.state();
        state
            .rooms
            .get(room)
            .map(|r| r.members.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn release_nick(&self, nick: &str) {
        self.state().nicks.remove(nick);
    }
}

/// Who a client is in the hub. Dropping it takes the client out of its room
/// and frees its nick, on every path out of the connection task: a normal
/// end, an error, a panic, or the task being dropped.
struct Member {
    hub: Arc<Hub>,
    nick: Option<String>,
    membership: Option<Membership>,
}

impl Member {
    fn leave_room(&mut self) -> Option<String> {
        let membership = self.membership.take()?;
        if let Some(nick) = &self.nick {
            self.hub.leave(nick, &membership.room);
        }
        Some(membership.room)
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        // A plain `Mutex` is what makes this possible: `Drop` cannot
        // `.await`, so it could not take a `tokio::sync::Mutex`'s lock.
        self.leave_room();
        if let Some(nick) = &self.nick {
            self.hub.release_nick(nick);
        }
    }
}

/// The next message of the room `membership` is in; never ready when the
/// client is in no room.
async fn next_message(membership: &mut Option<Membership>) -> Result<Message, RecvError> {
    match membership {
        Some(m) => m.receiver.recv().await,
        None => std::future::pending().await,
    }
}

// ---------------------------------------------------------------------------
// One connection
// ---------------------------------------------------------------------------

/// Why a connection's loop ended before the client left.
enum Stop {
    /// The server is shutting down: say goodbye.
    Shutdown,
    /// Writing failed: the client is gone.
    Gone,
}

struct Connection {
    lines: LineReader<OwnedReadHalf>,
    out: Outgoing,
    member: Member,
    settings: watch::Receiver<Settings>,
    stop: CancellationToken,
    /// Held for the life of the task; dropping it frees the place.
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    fn new(
        stream: TcpStream,
        hub: Arc<Hub>,
        settings: watch::Receiver<Settings>,
        stop: CancellationToken,
        permit: OwnedSemaphorePermit,
    ) -> Self {
        // Chat lines are small and should leave at once. Without this,
        // Nagle's algorithm holds a small write back until the previous one
        // is acknowledged, and the client's delayed ACK makes that up to
        // 40 ms on Linux (the chapter measures it).
        let _ = stream.set_nodelay(true);
        let (reader, writer) = stream.into_split();
        Connection {
            lines: LineReader::new(reader),
            out: Outgoing {
                writer,
                unsent: VecDeque::new(),
            },
            member: Member {
                hub,
                nick: None,
                membership: None,
            },
            settings,
            stop,
            _permit: permit,
        }
    }

    /// The connection task: serve until the client leaves or the server
    /// shuts down, then say goodbye in the second case.
    async fn run(mut self, goodbye_timeout: Duration) {
        if let Err(Stop::Shutdown) = self.serve().await {
            self.out.goodbye(goodbye_timeout).await;
        }
        // Dropping `self` closes the socket, leaves the room, frees the nick
        // and gives the permit back.
    }

    /// Ok(()) when the client has closed its side or its connection failed.
    async fn serve(&mut self) -> Result<(), Stop> {
        // `borrow_and_update`: this value is now seen, so `changed()` below
        // waits for the next one.
        let mut motd = self.settings.borrow_and_update().motd.clone();
        self.send(&format!("* motd: {motd}")).await?;
        let mut settings_open = true;

        loop {
            // Read at every line, so that a new limit applies from the next
            // line on.
            let max = self.settings.borrow().max_message;
            tokio::select! {
                _ = self.stop.cancelled() => return Err(Stop::Shutdown),

                // Cancel safe: a line cut short by another branch is
                // continued in the next round.
                line = self.lines.next_line(max) => match line {
                    Ok(Some(Line::Text(text))) => self.handle(&text).await?,
                    Ok(Some(Line::TooLong)) => {
                        self.send(&format!("ERR message too long (max {max} bytes)")).await?;
                    }
                    // End of stream or a reset: the client has left.
                    Ok(None) | Err(_) => return Ok(()),
                },

                message = next_message(&mut self.member.membership) => {
                    self.deliver(message).await?;
                }

                changed = self.settings.changed(), if settings_open => match changed {
                    Ok(()) => {
                        let new = self.settings.borrow_and_update().motd.clone();
                        if new != motd {
                            motd = new;
                            self.send(&format!("* motd: {motd}")).await?;
                        }
                    }
                    // The sender is gone: nothing will change any more. Without
                    // the `if settings_open` above, `changed()` would fail at
                    // once in every round, and the loop would spin.
                    Err(_) => settings_open = false,
                },
            }
        }
    }

    /// Writes what the room sent: `first`, and whatever else the room holds
    /// for this member already, up to `BATCH` lines in one write. On a busy
    /// room that is one system call for many lines instead of one per line.
    async fn deliver(&mut self, first: Result<Message, RecvError>) -> Result<(), Stop> {
        const BATCH: usize = 64;
        let mut lines = Vec::with_capacity(BATCH);
        match first {
            Ok(message) => lines.push(message),
            // This member fell behind and the room overwrote what it had not
            // read yet. Say so once, and carry on: the next `recv` returns
            // the oldest message still there.
            Err(RecvError::Lagged(missed)) => lines.push(missed_notice(missed)),
            // Cannot happen while we hold the room's sender; if it did, the
            // room is gone.
            Err(RecvError::Closed) => {
                self.member.membership = None;
                return Ok(());
            }
        }
        if let Some(membership) = &mut self.member.membership {
            while lines.len() < BATCH {
                match membership.receiver.try_recv() {
                    Ok(message) => lines.push(message),
                    Err(TryRecvError::Lagged(missed)) => lines.push(missed_notice(missed)),
                    Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                }
            }
        }
        self.send(&lines.join("\n")).await
    }

    /// One line from the client: a command or a message.
    async fn handle(&mut self, line: &[u8]) -> Result<(), Stop> {
        let Ok(line) = std::str::from_utf8(line) else {
            return self.send("ERR invalid UTF-8").await;
        };
        if line.is_empty() {
            return Ok(());
        }
        if !line.starts_with('/') {
            return self.say(line).await;
        }
        let (command, argument) = line.split_once(' ').unwrap_or((line, ""));
        let argument = argument.trim();
        match command {
            "/nick" => self.nick(argument).await,
            "/join" => self.join(argument).await,
            "/leave" => match self.member.leave_room() {
                Some(room) => self.send(&format!("OK left {room}")).await,
                None => self.send("ERR not in a room").await,
            },
            "/who" => match &self.member.membership {
                Some(m) => {
                    let names = self.member.hub.who(&m.room).join(" ");
                    self.send(&format!("OK who {names}")).await
                }
                None => self.send("ERR not in a room").await,
            },
            _ => self.send(&format!("ERR unknown command: {command}")).await,
        }
    }

    async fn nick(&mut self, name: &str) -> Result<(), Stop> {
        if !is_valid_name(name) {
            return self.send("ERR invalid name").await;
        }
        let member = &mut self.member;
        let room = member.membership.as_ref().map(|m| m.room.as_str());
        if !member.hub.rename(member.nick.as_deref(), name, room) {
            return self.send("ERR nick taken").await;
        }
        member.nick = Some(name.to_owned());
        self.send(&format!("OK nick {name}")).await
    }

    async fn join(&mut self, room: &str) -> Result<(), Stop> {
        if !is_valid_name(room) {
            return self.send("ERR invalid name").await;
        }
        let Some(nick) = self.member.nick.clone() else {
            return self.send("ERR set a nick first").await;
        };
        if self.member.membership.as_ref().map(|m| m.room.as_str()) != Some(room) {
            self.member.leave_room();
            self.member.membership = Some(self.member.hub.join(&nick, room));
        }
        self.send(&format!("OK joined {room}")).await
    }

    /// A message to the current room, the sender included.
    async fn say(&mut self, text: &str) -> Result<(), Stop> {
        let (Some(nick), Some(m)) = (&self.member.nick, &self.member.membership) else {
            return self.send("ERR not in a room").await;
        };
        let message: Message = format!("[{}] {nick}: {text}", m.room).into();
        // Never waits: a full room overwrites its oldest message. It fails
        // only without receivers, and we are one.
        let _ = m.sender.send(message);
        Ok(())
    }

    async fn send(&mut self, line: &str) -> Result<(), Stop> {
        self.out.line(line, &self.stop).await
    }
}

fn missed_notice(missed: u64) -> Message {
    format!("* you missed {missed} messages").into()
}

/// Nicks and room names: 1 to 32 ASCII letters, digits, `_` or `-`.
fn is_valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The write half of a connection, and the bytes it has not written yet.
struct Outgoing {
    writer: OwnedWriteHalf,
    /// What is left of a line whose writing the shutdown interrupted.
    unsent: VecDeque<u8>,
}

impl Outgoing {
    /// Writes one line, or gives up when the server shuts down first: a
    /// client that does not read must not keep its task from ending.
    async fn line(&mut self, line: &str, stop: &CancellationToken) -> Result<(), Stop> {
        self.unsent.extend(line.as_bytes());
        self.unsent.push_back(b'\n');
        tokio::select! {
            biased;
            _ = stop.cancelled() => Err(Stop::Shutdown),
            // `write_all_buf` removes from `unsent` what it has written, so
            // a line interrupted halfway is finished by the goodbye.
            written = self.writer.write_all_buf(&mut self.unsent) => {
                written.map_err(|_| Stop::Gone)
            }
        }
    }

    /// The rest of an interrupted line, then the goodbye, within `timeout`.
    async fn goodbye(&mut self, timeout: Duration) {
        self.unsent.extend(b"* server shutting down\n");
        let _ = tokio::time::timeout(timeout, self.writer.write_all_buf(&mut self.unsent)).await;
    }
}
