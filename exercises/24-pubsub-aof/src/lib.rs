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

mod server;

pub use cache::{Clock, Db, glob_match};
pub use server::{ITEMS_PER_COMMAND, apply_logged, serve, snapshot, unix_ms};

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::{Bytes, BytesMut};
use resp::{Frame, Limits, Protocol};
use tokio::sync::mpsc;

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

/// An append-only file, open for appending.
pub struct Aof {
    // TODO: the open file (shared by every connection's task), and the
    // policy. Hint: what must one lock cover so that the log's order is the
    // order in which commands changed the store?
    policy: Fsync,
}

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
        todo!("open the file for appending")
    }

    /// The fsync policy the log was opened with.
    pub fn policy(&self) -> Fsync {
        self.policy
    }

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
        // TODO: a read goes straight to `db.execute`.
        // TODO: a write: execute it and append its log form (encoded with
        // `resp::encode`) in one critical section; sync under Always.
        todo!("execute the command, log it if it is a successful write")
    }

    /// Forces everything written so far to the disk (`fdatasync`): the
    /// once-a-second tick of [`Fsync::EverySec`], and shutdown.
    pub fn sync(&self) -> io::Result<()> {
        todo!("sync the file")
    }

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
        // TODO: snapshot under the writers' lock, write the new file
        // without it, then copy the writes made since, rename, and switch.
        todo!("rewrite the log")
    }
}

/// What [`Aof::rewrite`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    /// The log's length, in bytes, when the snapshot was taken.
    pub before: u64,
    /// The new log's length, in bytes, when it replaced the old one.
    pub after: u64,
}

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
    todo!("rewrite relative expiry times as absolute ones")
}

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
    // TODO: read the file (a missing one is empty), decode record after
    // record with `resp::decode`, keep the offset of the last complete one.
    // TODO: tell a torn tail (`Ok(None)`) from garbage (an error, or a byte
    // that cannot start a command).
    todo!("replay the log")
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

/// The server's channels and their subscribers, shared by every connection.
pub struct Broker {
    // TODO: the queue limit, and, behind one lock, each subscriber's queue
    // (a bounded `tokio::sync::mpsc` channel), each channel's subscribers
    // and each pattern's subscribers.
    queue_limit: usize,
}

impl Broker {
    /// A broker whose subscribers each queue at most `queue_limit` messages
    /// that they have not received yet (0 is taken as 1).
    pub fn new(queue_limit: usize) -> Broker {
        todo!("an empty broker")
    }

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
        // TODO: try to queue the message for each subscriber of the channel,
        // then of each matching pattern; what happens to a subscriber whose
        // queue is full?
        todo!("fan the message out")
    }
}

/// One client's subscriptions and the queue of messages sent to it.
/// Dropping it unsubscribes from every channel and pattern.
pub struct Subscriber {
    // TODO: the broker, this subscriber's id in it, the receiving end of
    // its queue, and the channels and patterns it is subscribed to (in
    // order).
    broker: Arc<Broker>,
}

impl Subscriber {
    /// A new subscriber of `broker`, subscribed to no channel yet.
    pub fn new(broker: Arc<Broker>) -> Subscriber {
        todo!("register a queue with the broker")
    }

    /// Subscribes to `channel` (no change if already subscribed) and
    /// returns the number of channels and patterns this subscriber is now
    /// subscribed to (the count in Redis's reply).
    pub fn subscribe(&mut self, channel: Bytes) -> usize {
        todo!("subscribe")
    }

    /// Unsubscribes from `channel` (no change if not subscribed) and returns
    /// the number of channels and patterns this subscriber is still
    /// subscribed to.
    pub fn unsubscribe(&mut self, channel: &[u8]) -> usize {
        todo!("unsubscribe")
    }

    /// Subscribes to every channel that matches the glob-style `pattern`
    /// (`news.*`; the syntax of chapter 23's `glob_match`), including
    /// channels nobody has published on yet (no change if already
    /// subscribed); returns the number of channels and patterns this
    /// subscriber is now subscribed to.
    pub fn psubscribe(&mut self, pattern: Bytes) -> usize {
        todo!("subscribe to a pattern")
    }

    /// Unsubscribes from `pattern` (compared as it was given, not matched);
    /// returns the number of channels and patterns still subscribed to.
    pub fn punsubscribe(&mut self, pattern: &[u8]) -> usize {
        todo!("unsubscribe from a pattern")
    }

    /// The channels this subscriber is subscribed to, in the order it
    /// subscribed to them.
    pub fn channels(&self) -> &[Bytes] {
        todo!("the channels")
    }

    /// The patterns this subscriber is subscribed to, in the order it
    /// subscribed to them.
    pub fn patterns(&self) -> &[Bytes] {
        todo!("the patterns")
    }

    /// The next message, waiting until one comes. `None` once the broker
    /// has disconnected this subscriber and its queue is empty.
    ///
    /// Cancel-safe: a message is never lost when this future is dropped
    /// before it completes (the server races it against the socket).
    pub async fn recv(&mut self) -> Option<Message> {
        todo!("the next message")
    }

    /// Whether the broker has disconnected this subscriber because its
    /// queue was full.
    pub fn is_disconnected(&self) -> bool {
        todo!("disconnected?")
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        // TODO: leave every channel and pattern, and remove the queue from
        // the broker.
    }
}
