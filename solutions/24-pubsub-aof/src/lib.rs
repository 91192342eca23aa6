//! Persistence and pub/sub for chapter 23's cache server.
//!
//! **The append-only file (AOF).** Every write command is appended to a
//! file, encoded as RESP, before its reply goes out; on start the file is
//! replayed into an empty keyspace.
//!
//! **Pub/sub.** PUBLISH sends a message to every client subscribed to its
//! channel. Each subscriber has a bounded queue of messages not yet sent;
//! one that falls behind is disconnected, so that a slow client can neither
//! stall the publishers nor make the server's memory grow.
//!
//! Given in `src/server.rs`: the accept loop and connection handler
//! ([`serve`]), with subscribed mode and RESP3 pushes, the wall clock
//! ([`unix_ms`]), [`apply_logged`], which turns a logged absolute expiry
//! back into a relative one for the store, and [`snapshot`], the commands
//! that rebuild the store as it is. You write:
//!
//! - [`Aof`]: open the file, [`Aof::execute`] a command and log it,
//!   [`Aof::sync`] it to disk, and [`Aof::rewrite`] it in the background;
//! - [`log_form`]: the command as it is logged (expiry as an absolute time);
//! - [`replay`]: read the log back, recover from a torn last record, refuse
//!   a corrupt one;
//! - [`Broker`] and [`Subscriber`]: channels, subscriptions, and PUBLISH's
//!   fan-out to bounded queues.

#[path = "../../../exercises/24-pubsub-aof/src/server.rs"]
mod server;

pub use cache::{Clock, Db, glob_match};
pub use server::{ITEMS_PER_COMMAND, apply_logged, serve, snapshot, unix_ms};

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::{Bytes, BytesMut};
use resp::{Frame, Limits, Protocol};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

/// When the log is forced to the disk (Redis's `appendfsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// `fsync` after every write command, before its reply.
    Always,
    /// `fsync` once a second, by a background thread ([`serve`] starts it).
    EverySec,
    /// Never `fsync`: the operating system writes the file back when it
    /// chooses (on Linux, usually within 30 seconds).
    No,
}

// ANCHOR: aof
/// An append-only file, open for appending.
pub struct Aof {
    /// Held while a write command executes and is appended: the log's
    /// order is then the order in which the commands changed the store.
    file: Mutex<File>,
    /// A second handle on the same open file, for [`Aof::sync`]: the
    /// once-a-second `fsync` takes this lock, not the writers'. (A rewrite
    /// replaces both handles.)
    syncer: Mutex<File>,
    path: PathBuf,
    policy: Fsync,
}
// ANCHOR_END: aof

/// What [`replay`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replayed {
    /// How many logged commands it executed.
    pub applied: usize,
    /// How many bytes of an incomplete last record it dropped (and cut off
    /// the file); 0 when the file ended on a complete command.
    pub torn_tail_bytes: usize,
}

impl Aof {
    /// Opens (creating it if needed) the log at `path` for appending, with
    /// the fsync policy `policy`. Replay the file *before* opening it.
    pub fn open(path: &Path, policy: Fsync) -> io::Result<Aof> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let syncer = file.try_clone()?;
        Ok(Aof {
            file: Mutex::new(file),
            syncer: Mutex::new(syncer),
            path: path.to_owned(),
            policy,
        })
    }

    /// The fsync policy the log was opened with.
    pub fn policy(&self) -> Fsync {
        self.policy
    }

    // ANCHOR: execute
    /// Executes `args` (a command, name first) on `db` and returns its reply.
    ///
    /// A write command (SET, GETDEL, DEL, INCR, DECR, INCRBY, DECRBY, MSET,
    /// APPEND, EXPIRE, PEXPIRE, PERSIST, FLUSHALL, LPUSH, RPUSH, LPOP, RPOP)
    /// whose reply is not an error is appended to the file in its
    /// [`log_form`] at `now_unix_ms`, as a RESP array of bulk strings, and
    /// the reply is returned only once the record has been written to the
    /// file (every policy) and, under [`Fsync::Always`], synced to the disk.
    /// Two writes are logged in the order in which they changed `db`.
    /// Reads and failed commands are not logged.
    ///
    /// An error writing or syncing the file is returned instead of the
    /// reply: the write must not be acknowledged.
    pub fn execute(&self, db: &Db, args: &[Bytes], now_unix_ms: u64) -> io::Result<Frame> {
        if !is_write(args) {
            return Ok(db.execute(args));
        }
        // The lock covers the command AND its append: two clients writing
        // the same key are logged in the order the store saw them.
        let mut file = lock(&self.file);
        let reply = db.execute(args);
        if matches!(reply, Frame::Error(_)) {
            return Ok(reply);
        }
        let mut bytes = BytesMut::new();
        record(&log_form(args, now_unix_ms), &mut bytes);
        // One write(2) per record, no user-space buffer: once it returns,
        // the record is in the kernel and survives a crash of this process.
        file.write_all(&bytes)?;
        if self.policy == Fsync::Always {
            // ...and after this, a crash of the machine too.
            file.sync_data()?;
        }
        Ok(reply)
    }
    // ANCHOR_END: execute

    /// Forces everything written so far to the disk (`fdatasync`): the
    /// once-a-second tick of [`Fsync::EverySec`], and shutdown.
    pub fn sync(&self) -> io::Result<()> {
        lock(&self.syncer).sync_data()
    }

    // ANCHOR: rewrite
    /// Rewrites the log as the fewest commands that rebuild `db` as it is,
    /// and switches to the new file, without stopping writers for longer
    /// than it takes to copy the store's contents:
    ///
    /// 1. under the lock that [`Aof::execute`] takes, takes the
    ///    [`snapshot`] at `now_unix_ms` and notes the log's length;
    /// 2. without that lock, writes the snapshot (RESP arrays, as
    ///    `execute` writes records) to `<log path>.rewrite`, created or
    ///    truncated, and syncs it to the disk; then calls `during` (the
    ///    server passes a closure that does nothing; tests write there);
    /// 3. under the lock again, appends to the new file the old log's
    ///    bytes past the noted length (the writes acknowledged since the
    ///    snapshot, each exactly once), syncs it, renames it over the log,
    ///    syncs the directory, and from then on appends to the new file and
    ///    syncs it.
    ///
    /// A crash at any moment leaves a log that replays to every
    /// acknowledged write: the old one until the rename, the new one from
    /// then on. On an error the old log stays in use.
    pub fn rewrite(
        &self,
        db: &Db,
        now_unix_ms: u64,
        during: impl FnOnce(),
    ) -> io::Result<Rewritten> {
        // 1. One instant of the store: no write can run while we hold the
        // lock, and the log's end is exactly where the snapshot stands.
        let (commands, before) = {
            let file = lock(&self.file);
            (snapshot(db, now_unix_ms), file.metadata()?.len())
        };
        // 2. The slow part, with writers running: encode, write, fsync.
        let mut temp = self.path.clone().into_os_string();
        temp.push(".rewrite");
        let temp = PathBuf::from(temp);
        let mut new = File::create(&temp)?;
        let mut bytes = BytesMut::new();
        for command in &commands {
            record(command, &mut bytes);
        }
        new.write_all(&bytes)?;
        new.sync_data()?;
        during();
        // 3. The writes since the snapshot, then the switch.
        let mut file = lock(&self.file);
        let mut old = File::open(&self.path)?;
        old.seek(SeekFrom::Start(before))?;
        io::copy(&mut old, &mut new)?;
        new.sync_all()?;
        std::fs::rename(&temp, &self.path)?;
        // The rename is a change to the directory: sync it, or a crash can
        // bring the old name back.
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()?;
        let after = new.metadata()?.len();
        // `new` was opened for writing at its end: appends continue there.
        *lock(&self.syncer) = new.try_clone()?;
        *file = new;
        Ok(Rewritten { before, after })
    }
    // ANCHOR_END: rewrite
}

/// What [`Aof::rewrite`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    /// The log's length, in bytes, when the snapshot was taken.
    pub before: u64,
    /// The new log's length, in bytes, when it replaced the old one.
    pub after: u64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Appends `command` to `bytes` as the log stores it: a RESP array of bulk
/// strings.
fn record(command: &[Bytes], bytes: &mut BytesMut) {
    let frame = Frame::Array(command.iter().cloned().map(Frame::Bulk).collect());
    resp::encode(&frame, Protocol::Resp2, bytes);
}

/// Whether `args` is a command that changes the keyspace.
fn is_write(args: &[Bytes]) -> bool {
    let Some(name) = args.first() else {
        return false;
    };
    const WRITES: [&str; 17] = [
        "set", "getdel", "del", "incr", "decr", "incrby", "decrby", "mset", "append", "expire",
        "pexpire", "persist", "flushall", "lpush", "rpush", "lpop", "rpop",
    ];
    WRITES
        .iter()
        .any(|w| name.eq_ignore_ascii_case(w.as_bytes()))
}

// ANCHOR: log_form
/// The command `args`, executed at `now_unix_ms` (milliseconds since the
/// Unix epoch), as it goes into the log: with every relative expiry turned
/// into an absolute one, so that replaying it later does not restart the
/// countdown.
///
/// - `EXPIRE key s [flags]` and `PEXPIRE key ms [flags]` become
///   `PEXPIREAT key <now + ms> [flags]`;
/// - `SET ... EX s` and `SET ... PX ms` become `SET ... PXAT <now + ms>`
///   (the other options kept, in their order);
/// - every other command is logged as it is.
///
/// Times are computed with saturating arithmetic; names are matched in
/// any case.
pub fn log_form(args: &[Bytes], now_unix_ms: u64) -> Vec<Bytes> {
    let now = i64::try_from(now_unix_ms).unwrap_or(i64::MAX);
    let name = args.first().map(|n| n.to_ascii_lowercase());
    match name.as_deref() {
        Some(b"expire" | b"pexpire") if args.len() >= 3 => {
            let per_unit = if name.as_deref() == Some(b"expire") {
                1000
            } else {
                1
            };
            let Some(amount) = parse(&args[2]) else {
                return args.to_vec();
            };
            let at = now.saturating_add(amount.saturating_mul(per_unit));
            let mut logged = vec![
                Bytes::from_static(b"PEXPIREAT"),
                args[1].clone(),
                Bytes::from(at.to_string()),
            ];
            logged.extend_from_slice(&args[3..]);
            logged
        }
        Some(b"set") => {
            let mut logged = args[..args.len().min(3)].to_vec();
            let mut i = 3;
            while i < args.len() {
                let option = &args[i];
                let per_unit = if option.eq_ignore_ascii_case(b"ex") {
                    Some(1000)
                } else if option.eq_ignore_ascii_case(b"px") {
                    Some(1)
                } else {
                    None
                };
                match (per_unit, args.get(i + 1).and_then(|a| parse(a))) {
                    (Some(per_unit), Some(amount)) => {
                        let at = now.saturating_add(amount.saturating_mul(per_unit));
                        logged.push(Bytes::from_static(b"PXAT"));
                        logged.push(Bytes::from(at.to_string()));
                        i += 2;
                    }
                    _ => {
                        logged.push(option.clone());
                        i += 1;
                    }
                }
            }
            logged
        }
        _ => args.to_vec(),
    }
}
// ANCHOR_END: log_form

fn parse(bytes: &[u8]) -> Option<i64> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

// ANCHOR: replay
/// Replays the log at `path` into `db` (normally empty), with
/// [`apply_logged`] at `now_unix_ms`, and returns what it did. A missing
/// file is an empty log.
///
/// - A last record cut short (the process or machine died in the middle of
///   writing it) is dropped: the file is truncated to the end of the last
///   complete command, so that new records do not follow half of one, and a
///   warning naming the file and the number of bytes dropped is logged with
///   `eprintln!`.
/// - Anything else that is not a RESP array of bulk strings (including an
///   inline command, or a broken record followed by more bytes) is an error
///   of kind [`io::ErrorKind::InvalidData`] whose message gives the byte
///   offset: a corrupt log is not silently half-loaded.
pub fn replay(path: &Path, db: &Db, now_unix_ms: u64) -> io::Result<Replayed> {
    let data = match std::fs::read(path) {
        Ok(data) => data,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Replayed {
                applied: 0,
                torn_tail_bytes: 0,
            });
        }
        Err(e) => return Err(e),
    };
    let mut buf = BytesMut::from(&data[..]);
    let limits = Limits::default();
    let mut applied = 0;
    // The offset of the first byte not yet replayed: the end of the last
    // complete command.
    let mut offset = 0;
    while !buf.is_empty() {
        // A logged command always starts with `*`; without this check
        // resp::decode would read a line of garbage as an inline command.
        if buf[0] != b'*' {
            return Err(corrupt(path, offset, "not the start of a command"));
        }
        let before = buf.len();
        match resp::decode(&mut buf, &limits) {
            Ok(Some(frame)) => {
                let Some(args) = command(frame) else {
                    return Err(corrupt(
                        path,
                        offset,
                        "a command is an array of bulk strings",
                    ));
                };
                apply_logged(db, &args, now_unix_ms);
                applied += 1;
                offset += before - buf.len();
            }
            // The bytes left are the start of a command and nothing else:
            // the tail of a write that never finished.
            Ok(None) => {
                let torn = buf.len();
                eprintln!(
                    "warning: {}: dropping an incomplete last command ({torn} bytes at offset \
                     {offset}), probably cut short by a crash",
                    path.display()
                );
                let file = OpenOptions::new().write(true).open(path)?;
                file.set_len(offset as u64)?;
                file.sync_all()?;
                return Ok(Replayed {
                    applied,
                    torn_tail_bytes: torn,
                });
            }
            Err(e) => return Err(corrupt(path, offset, &e.to_string())),
        }
    }
    Ok(Replayed {
        applied,
        torn_tail_bytes: 0,
    })
}
// ANCHOR_END: replay

fn command(frame: Frame) -> Option<Vec<Bytes>> {
    let Frame::Array(items) = frame else {
        return None;
    };
    items
        .into_iter()
        .map(|item| match item {
            Frame::Bulk(arg) => Some(arg),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .filter(|args| !args.is_empty())
}

fn corrupt(path: &Path, offset: usize, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{}: corrupt append-only file at byte {offset}: {why}",
            path.display()
        ),
    )
}

// ---------------------------------------------------------------------------
// Pub/sub
// ---------------------------------------------------------------------------

/// A message published on a channel, as a subscriber receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The pattern through which the subscriber got it (PSUBSCRIBE), or
    /// `None` if it subscribed to the channel itself.
    pub pattern: Option<Bytes>,
    /// The channel it was published on.
    pub channel: Bytes,
    /// What was published.
    pub payload: Bytes,
}

// ANCHOR: broker
/// The server's channels and their subscribers, shared by every connection.
pub struct Broker {
    /// The most messages a subscriber's queue holds.
    queue_limit: usize,
    /// One lock for the whole table: PUBLISH holds it only to push a
    /// reference-counted `Bytes` into each queue, never to wait.
    state: Mutex<Channels>,
}

struct Channels {
    next_id: u64,
    /// The queue of each subscriber still connected, by id.
    queues: HashMap<u64, mpsc::Sender<Message>>,
    /// The ids of each channel's subscribers.
    channels: HashMap<Bytes, HashSet<u64>>,
    /// The ids of each pattern's subscribers.
    patterns: HashMap<Bytes, HashSet<u64>>,
}
// ANCHOR_END: broker

impl Broker {
    /// A broker whose subscribers each queue at most `queue_limit` messages
    /// that they have not received yet (0 is taken as 1).
    pub fn new(queue_limit: usize) -> Broker {
        Broker {
            queue_limit: queue_limit.max(1),
            state: Mutex::new(Channels {
                next_id: 0,
                queues: HashMap::new(),
                channels: HashMap::new(),
                patterns: HashMap::new(),
            }),
        }
    }

    // ANCHOR: publish
    /// Queues `payload` for every subscriber of `channel`, and for every
    /// subscriber of each pattern that matches `channel` (with chapter 23's
    /// `glob_match`), and returns how many times it was queued (PUBLISH's
    /// reply: a client subscribed to the channel and to a matching pattern
    /// gets it, and is counted, twice).
    ///
    /// Never waits: a subscriber whose queue is full has fallen behind. It is
    /// disconnected (its [`Subscriber::is_disconnected`] turns true, and it
    /// gets no more messages), it is not counted, and its queue stops
    /// growing.
    pub fn publish(&self, channel: &[u8], payload: Bytes) -> usize {
        let mut state = self.table();
        let Channels {
            queues,
            channels,
            patterns,
            ..
        } = &mut *state;
        let mut message = Message {
            pattern: None,
            channel: Bytes::copy_from_slice(channel),
            payload,
        };
        let mut received = 0;
        if let Some(subscribers) = channels.get_mut(channel) {
            received += self.deliver(queues, subscribers, &message);
            if subscribers.is_empty() {
                channels.remove(channel);
            }
        }
        // Every pattern is tried against the channel, as Redis does: the
        // cost of PUBLISH grows with the number of patterns in use.
        for (pattern, subscribers) in patterns.iter_mut() {
            if glob_match(pattern, channel) {
                message.pattern = Some(pattern.clone());
                received += self.deliver(queues, subscribers, &message);
            }
        }
        patterns.retain(|_, subscribers| !subscribers.is_empty());
        received
    }

    /// Queues `message` for each of `subscribers`; returns for how many.
    /// Forgets the subscribers that are gone, and disconnects those whose
    /// queue is full.
    fn deliver(
        &self,
        queues: &mut HashMap<u64, mpsc::Sender<Message>>,
        subscribers: &mut HashSet<u64>,
        message: &Message,
    ) -> usize {
        let mut received = 0;
        subscribers.retain(|id| {
            let Some(queue) = queues.get(id) else {
                // Disconnected earlier, by another channel or pattern.
                return false;
            };
            // A clone of `Message` is a few reference counts, not a copy
            // of the payload: every subscriber shares the same bytes.
            match queue.try_send(message.clone()) {
                Ok(()) => {
                    received += 1;
                    true
                }
                Err(TrySendError::Full(_)) => {
                    eprintln!(
                        "pubsub: subscriber {id} has {} messages waiting; disconnecting it",
                        self.queue_limit
                    );
                    // Dropping its sender closes the queue: the subscriber's
                    // connection sees it and closes.
                    queues.remove(id);
                    false
                }
                Err(TrySendError::Closed(_)) => {
                    queues.remove(id);
                    false
                }
            }
        });
        received
    }
    // ANCHOR_END: publish

    /// The table, locked. A panic elsewhere while it was held leaves it
    /// consistent (every change is one map operation), so a poisoned lock
    /// is taken over rather than passed on.
    fn table(&self) -> MutexGuard<'_, Channels> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One client's subscriptions and the queue of messages sent to it.
/// Dropping it unsubscribes from every channel and pattern.
pub struct Subscriber {
    broker: Arc<Broker>,
    id: u64,
    queue: mpsc::Receiver<Message>,
    /// In the order of subscription (UNSUBSCRIBE without arguments answers
    /// in this order).
    channels: Vec<Bytes>,
    /// Likewise, for PSUBSCRIBE.
    patterns: Vec<Bytes>,
}

impl Subscriber {
    /// A new subscriber of `broker`, subscribed to no channel yet.
    pub fn new(broker: Arc<Broker>) -> Subscriber {
        let (sender, queue) = mpsc::channel(broker.queue_limit);
        let id = {
            let mut state = broker.table();
            let id = state.next_id;
            state.next_id += 1;
            state.queues.insert(id, sender);
            id
        };
        Subscriber {
            broker,
            id,
            queue,
            channels: Vec::new(),
            patterns: Vec::new(),
        }
    }

    /// Subscribes to `channel` (no change if already subscribed) and
    /// returns the number of channels and patterns this subscriber is now
    /// subscribed to (the count in Redis's reply).
    pub fn subscribe(&mut self, channel: Bytes) -> usize {
        if !self.channels.contains(&channel) {
            let mut state = self.broker.table();
            state
                .channels
                .entry(channel.clone())
                .or_default()
                .insert(self.id);
            self.channels.push(channel);
        }
        self.count()
    }

    /// Unsubscribes from `channel` (no change if not subscribed) and returns
    /// the number of channels and patterns this subscriber is still
    /// subscribed to.
    pub fn unsubscribe(&mut self, channel: &[u8]) -> usize {
        if let Some(i) = self.channels.iter().position(|c| c == channel) {
            self.channels.remove(i);
            let mut state = self.broker.table();
            forget(&mut state.channels, channel, self.id);
        }
        self.count()
    }

    /// Subscribes to every channel that matches the glob-style `pattern`
    /// (`news.*`; the syntax of chapter 23's `glob_match`), including
    /// channels nobody has published on yet (no change if already
    /// subscribed); returns the number of channels and patterns this
    /// subscriber is now subscribed to.
    pub fn psubscribe(&mut self, pattern: Bytes) -> usize {
        if !self.patterns.contains(&pattern) {
            let mut state = self.broker.table();
            state
                .patterns
                .entry(pattern.clone())
                .or_default()
                .insert(self.id);
            self.patterns.push(pattern);
        }
        self.count()
    }

    /// Unsubscribes from `pattern` (compared as it was given, not matched);
    /// returns the number of channels and patterns still subscribed to.
    pub fn punsubscribe(&mut self, pattern: &[u8]) -> usize {
        if let Some(i) = self.patterns.iter().position(|p| p == pattern) {
            self.patterns.remove(i);
            let mut state = self.broker.table();
            forget(&mut state.patterns, pattern, self.id);
        }
        self.count()
    }

    /// The channels this subscriber is subscribed to, in the order it
    /// subscribed to them.
    pub fn channels(&self) -> &[Bytes] {
        &self.channels
    }

    /// The patterns this subscriber is subscribed to, in the order it
    /// subscribed to them.
    pub fn patterns(&self) -> &[Bytes] {
        &self.patterns
    }

    /// The next message, waiting until one comes. `None` once the broker
    /// has disconnected this subscriber and its queue is empty.
    ///
    /// Cancel-safe: a message is never lost when this future is dropped
    /// before it completes (the server races it against the socket).
    pub async fn recv(&mut self) -> Option<Message> {
        self.queue.recv().await
    }

    /// Whether the broker has disconnected this subscriber because its
    /// queue was full.
    pub fn is_disconnected(&self) -> bool {
        self.queue.is_closed()
    }

    fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let mut state = self.broker.table();
        state.queues.remove(&self.id);
        for channel in &self.channels {
            forget(&mut state.channels, channel, self.id);
        }
        for pattern in &self.patterns {
            forget(&mut state.patterns, pattern, self.id);
        }
    }
}

/// Removes subscriber `id` from `name` in `table` (channels or patterns),
/// and the entry once it has no subscriber left (an idle channel costs no
/// memory).
fn forget(table: &mut HashMap<Bytes, HashSet<u64>>, name: &[u8], id: u64) {
    if let Some(subscribers) = table.get_mut(name) {
        subscribers.remove(&id);
        if subscribers.is_empty() {
            table.remove(name);
        }
    }
}
