//! A Redis-compatible cache server on tokio: `redis-cli`, `redis-benchmark`
//! and client libraries talk to it.
//!
//! The RESP layer is chapter 22's (the `resp` crate). Given in
//! `src/server.rs`: the [`Config`], the [`Clock`], the accept loop
//! ([`serve`]) and the [`Session`], which answers the connection's own
//! commands (PING, ECHO, HELLO, AUTH, SELECT, QUIT, CLIENT, COMMAND, CONFIG
//! GET, INFO). You write:
//!
//! - [`handle_connection`]: one client's loop: read, decode every complete
//!   request, execute, encode every reply, write once;
//! - [`Db`]: the sharded keyspace, with expiry (lazy on access, and an
//!   active sweep), and [`Db::execute`], the keyspace's commands.

mod server;

pub use server::{Clock, Config, Session, glob_match, serve};

use std::io;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use resp::Frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Serves one client until it closes the connection, sends QUIT, or sends
/// bad input.
///
/// - Reads into one buffer and decodes with [`resp::decode`] and
///   [`Session::limits`] until it returns `Ok(None)`: one read may carry
///   many pipelined requests (or part of one). Each request goes to
///   [`Session::execute`]; every reply is encoded with [`resp::encode`] in
///   [`Session::protocol`] (read after `execute`: `HELLO 3` is answered in
///   RESP3), in order, into one output buffer, which is written once per
///   read.
/// - A protocol error is answered `-ERR <error>` (the error's Display, e.g.
///   `-ERR Protocol error: invalid bulk length`), then the connection is
///   closed.
/// - A request still incomplete when the buffer holds more than
///   [`Session::max_request`] bytes is answered
///   `-ERR Protocol error: request too large` and the connection closed,
///   without reading the rest.
/// - After the reply to QUIT ([`Session::closing`]) the connection is
///   closed.
///
/// Returns `Ok(())` when the client closes or the connection is closed on
/// purpose, an error when reading or writing fails.
pub async fn handle_connection(mut socket: TcpStream, mut session: Session) -> io::Result<()> {
    // TODO: one input buffer and one output buffer for the connection's
    // whole life. Decode every complete request before reading again, and
    // write all their replies at once. Mind the limits and QUIT.
    todo!("handle_connection")
}

/// The keyspace: keys (binary strings) mapped to strings or lists, each
/// with an optional expiry time. Split into shards, each behind its own
/// lock, so that clients on different threads rarely wait for each other.
pub struct Db {
    // TODO: the shards, each a map from keys to values and expiry times
    // behind its own lock, and the clock; the memory limit and the count of
    // evictions.
    _todo: (),
}

impl Db {
    /// An empty keyspace of `shards` shards (at least one) that reads the
    /// time from `clock`.
    pub fn new(shards: usize, clock: Clock) -> Db {
        todo!("Db::new")
    }

    /// Limits the keyspace to about `bytes` of memory, as
    /// [`Db::used_memory`] counts it; 0, the default, means no limit. Over
    /// the limit, each write command is followed by evictions, Redis's
    /// `allkeys-lru` policy done its approximate way: in one shard, take
    /// [`EVICTION_SAMPLES`] random keys and evict the one used longest ago
    /// (reading or writing a key uses it); the next eviction takes the next
    /// shard; until the store fits again.
    pub fn set_maxmemory(&self, bytes: usize) {
        // TODO: remember the limit; Db::execute evicts after each write over it.
        todo!("Db::set_maxmemory")
    }

    /// The limit given to [`Db::set_maxmemory`] (0: none).
    pub fn maxmemory(&self) -> usize {
        todo!("Db::maxmemory")
    }

    /// An estimate of the keyspace's memory, in bytes: for each key, its
    /// length, plus its value's (a string's length; for a list, each
    /// item's length plus [`LIST_ITEM_OVERHEAD`]), plus [`ENTRY_OVERHEAD`].
    pub fn used_memory(&self) -> usize {
        // TODO: the sum of the shards' counts, kept up to date as keys change.
        todo!("Db::used_memory")
    }

    /// How many keys have been evicted to stay under the limit.
    pub fn evicted_keys(&self) -> u64 {
        todo!("Db::evicted_keys")
    }

    /// The number of keys stored, counting expired keys that no access and
    /// no sweep has removed yet (as Redis's DBSIZE does).
    pub fn dbsize(&self) -> usize {
        todo!("Db::dbsize")
    }

    /// One round of active expiry: removes expired keys that nobody reads,
    /// sampling keys that have an expiry time in every shard (a key that is
    /// never read again must not stay in memory for ever). Holds one shard's
    /// lock at a time, briefly. Returns how many keys it removed.
    pub fn sweep_expired(&self) -> usize {
        // TODO: per shard, test a few random keys that have an expiry time
        // and remove the expired ones; lock one shard at a time.
        todo!("Db::sweep_expired")
    }

    /// Executes one keyspace command: `args[0]` is its name (any case),
    /// the rest its arguments. Returns the reply Redis gives, including its
    /// exact error strings:
    ///
    /// - `ERR wrong number of arguments for 'get' command` (the name in
    ///   lower case) when the number of arguments does not fit the command;
    /// - `WRONGTYPE Operation against a key holding the wrong kind of value`
    ///   when a string command meets a list or a list command a string;
    /// - `ERR value is not an integer or out of range`,
    ///   `ERR increment or decrement would overflow`, `ERR syntax error`,
    ///   `ERR invalid expire time in 'set' command`, `ERR invalid cursor`
    ///   (SCAN), `ERR value is out of range, must be positive` (a negative
    ///   LPOP/RPOP count);
    /// - `ERR unknown command 'foo', with args beginning with: 'a' 'b' `
    ///   for a command it does not know (its name as sent, each argument
    ///   quoted and followed by a space).
    ///
    /// Commands: GET, SET (EX, PX, NX, XX, GET, KEEPTTL), GETDEL, DEL,
    /// EXISTS, INCR, DECR, INCRBY, DECRBY, MGET, MSET, APPEND, STRLEN,
    /// EXPIRE, PEXPIRE (NX, XX, GT, LT), TTL, PTTL, PERSIST, DBSIZE,
    /// FLUSHALL, KEYS, SCAN (MATCH, COUNT, TYPE), TYPE, LPUSH, RPUSH, LPOP,
    /// RPOP (with a count), LRANGE, LLEN. An expired key behaves as a
    /// missing one in every command, whether or not the sweep has removed
    /// it yet. KEYS and SCAN's MATCH use [`glob_match`]; a full SCAN (from
    /// cursor `0` until it answers cursor `0` again) returns every key that
    /// exists throughout at least once.
    pub fn execute(&self, args: &[Bytes]) -> Frame {
        // TODO: look the name up in a table of (name, arity, handler), check
        // the number of arguments, then run the handler. Every read of a key
        // checks its expiry time first.
        todo!("Db::execute")
    }
}

/// What [`Db::used_memory`] counts for each key besides its bytes (the
/// map's slot, the entry, the allocation's header): an estimate.
pub const ENTRY_OVERHEAD: usize = 64;

/// What [`Db::used_memory`] counts for each list item besides its bytes.
pub const LIST_ITEM_OVERHEAD: usize = 16;

/// How many random keys an eviction compares (Redis's `maxmemory-samples`).
pub const EVICTION_SAMPLES: usize = 5;
