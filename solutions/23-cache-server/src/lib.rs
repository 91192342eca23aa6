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

#[path = "../../../exercises/23-cache-server/src/server.rs"]
mod server;

pub use server::{Clock, Config, Session, glob_match, serve};

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use resp::Frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// ANCHOR: handle_connection
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
    let limits = session.limits();
    let mut input = BytesMut::with_capacity(16 * 1024);
    let mut output = BytesMut::with_capacity(16 * 1024);
    loop {
        // Every complete request in the buffer, in order: a pipelined batch
        // arrives in one read and is answered with one write.
        let mut close = false;
        loop {
            match resp::decode(&mut input, &limits) {
                Ok(Some(request)) => {
                    let reply = session.execute(request);
                    resp::encode(&reply, session.protocol(), &mut output);
                    if session.closing() {
                        close = true;
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let reply = Frame::Error(format!("ERR {e}"));
                    resp::encode(&reply, session.protocol(), &mut output);
                    close = true;
                    break;
                }
            }
        }
        // What is left is the start of a request. Past the limit, stop
        // reading: a client could otherwise make us buffer without end.
        if !close && input.len() > session.max_request() {
            let reply = Frame::Error("ERR Protocol error: request too large".into());
            resp::encode(&reply, session.protocol(), &mut output);
            close = true;
        }
        if !output.is_empty() {
            socket.write_all(&output).await?;
            output.clear();
        }
        if close {
            return Ok(());
        }
        if socket.read_buf(&mut input).await? == 0 {
            return Ok(());
        }
    }
}
// ANCHOR_END: handle_connection

// ANCHOR: entry
/// A value and its expiry time.
struct Entry {
    value: Value,
    expires_at: Option<Instant>,
    /// Where the key sits in its shard's `volatile` list; meaningful only
    /// while `expires_at` is set.
    slot: usize,
    /// Where the key sits in its shard's `keys` list.
    index: usize,
    /// The shard's tick when the key was last used: eviction's "least
    /// recently used" compares these.
    touched: u64,
    /// What [`Db::used_memory`] counts for this entry.
    size: usize,
}

enum Value {
    String(Bytes),
    List(VecDeque<Bytes>),
}

/// One part of the keyspace, behind one lock.
#[derive(Default)]
struct Shard {
    map: HashMap<Bytes, Entry>,
    /// The keys that have an expiry time, so that the sweep can pick random
    /// ones in O(1) (a HashMap cannot give a random entry).
    volatile: Vec<Bytes>,
    /// Every key, so that eviction can pick random ones in O(1) too.
    keys: Vec<Bytes>,
    /// The sum of the entries' sizes.
    used: usize,
    /// Counts uses of keys: a logical clock for the LRU, per shard (keys
    /// are compared only with keys of the same shard).
    tick: u64,
    /// The sweep's random number generator (xorshift64; any non-zero seed).
    rng: u64,
}
// ANCHOR_END: entry

impl Shard {
    // ANCHOR: live
    /// The entry of `key` if it exists and has not expired. An expired entry
    /// is removed here: lazy expiry, on every access.
    fn live(&mut self, key: &[u8], now: Instant) -> Option<&mut Entry> {
        let expired = self.map.get(key)?.expires_at.is_some_and(|at| at <= now);
        if expired {
            self.remove(key);
            return None;
        }
        // Every access uses the key, for the LRU.
        self.tick += 1;
        let entry = self.map.get_mut(key)?;
        entry.touched = self.tick;
        Some(entry)
    }
    // ANCHOR_END: live

    /// Removes `key`, keeping `volatile` in step.
    fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let entry = self.map.remove(key)?;
        if entry.expires_at.is_some() {
            self.forget_volatile(entry.slot);
        }
        // The same swap_remove as `volatile`'s, for the list of all keys.
        self.keys.swap_remove(entry.index);
        if let Some(moved) = self.keys.get(entry.index)
            && let Some(other) = self.map.get_mut(moved)
        {
            other.index = entry.index;
        }
        self.used -= entry.size;
        Some(entry)
    }

    /// Stores `value` under a copy of `key` with the expiry `expires_at`,
    /// replacing any previous entry.
    fn insert(&mut self, key: &[u8], value: Value, expires_at: Option<Instant>) {
        self.remove(key);
        let key = owned(key);
        let slot = self.volatile.len();
        if expires_at.is_some() {
            self.volatile.push(key.clone());
        }
        let size = entry_size(&key, &value);
        self.used += size;
        self.tick += 1;
        let index = self.keys.len();
        self.keys.push(key.clone());
        self.map.insert(
            key,
            Entry {
                value,
                expires_at,
                slot,
                index,
                touched: self.tick,
                size,
            },
        );
    }

    /// Counts `key`'s entry again after a command changed its string in
    /// place (APPEND, INCR).
    fn resize(&mut self, key: &[u8]) {
        if let Some(entry) = self.map.get_mut(key) {
            let size = entry_size(key, &entry.value);
            self.used = self.used - entry.size + size;
            entry.size = size;
        }
    }

    // ANCHOR: lru_victim
    /// Redis's approximate LRU: of `samples` random keys, the one used
    /// longest ago (a sorted list of all keys by last use would cost a
    /// move on every access).
    fn lru_victim(&mut self, samples: usize) -> Option<Bytes> {
        let mut victim: Option<(u64, usize)> = None;
        for _ in 0..samples {
            if self.keys.is_empty() {
                return None;
            }
            let i = (self.random() % self.keys.len() as u64) as usize;
            let touched = self.map.get(&self.keys[i]).map_or(0, |e| e.touched);
            if victim.is_none_or(|(oldest, _)| touched < oldest) {
                victim = Some((touched, i));
            }
        }
        victim.map(|(_, i)| self.keys[i].clone())
    }
    // ANCHOR_END: lru_victim

    /// Sets or clears the expiry of an existing `key`.
    fn set_expiry(&mut self, key: &[u8], expires_at: Option<Instant>) {
        let Some(entry) = self.map.get_mut(key) else {
            return;
        };
        let had = entry.expires_at.is_some();
        entry.expires_at = expires_at;
        match (had, expires_at.is_some()) {
            (false, true) => {
                entry.slot = self.volatile.len();
                self.volatile.push(Bytes::copy_from_slice(key));
            }
            (true, false) => {
                let slot = entry.slot;
                self.forget_volatile(slot);
            }
            _ => {}
        }
    }

    /// Removes `volatile[slot]` by moving the last key into its place, and
    /// tells that key's entry its new slot.
    fn forget_volatile(&mut self, slot: usize) {
        self.volatile.swap_remove(slot);
        if let Some(moved) = self.volatile.get(slot)
            && let Some(entry) = self.map.get_mut(moved)
        {
            entry.slot = slot;
        }
    }

    fn random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    // ANCHOR: sweep_shard
    /// One shard's share of the active expiry, the way Redis does it: test
    /// up to 20 random keys that have an expiry time, remove the expired
    /// ones, and go on while more than a quarter of a sample had expired
    /// (then many more probably have), at most 16 rounds, so that one
    /// sweep holds the lock only briefly.
    fn sweep(&mut self, now: Instant) -> usize {
        const SAMPLE: usize = 20;
        const ROUNDS: usize = 16;
        let mut removed = 0;
        for _ in 0..ROUNDS {
            let sample = SAMPLE.min(self.volatile.len());
            if sample == 0 {
                break;
            }
            let mut expired = 0;
            for _ in 0..sample {
                if self.volatile.is_empty() {
                    break;
                }
                let i = (self.random() % self.volatile.len() as u64) as usize;
                let key = self.volatile[i].clone();
                let due = match self.map.get(&key) {
                    Some(entry) => entry.expires_at.is_some_and(|at| at <= now),
                    // Cannot happen while `volatile` and `map` agree; if a
                    // bug ever broke that, drop the stray key, don't panic.
                    None => {
                        self.volatile.swap_remove(i);
                        continue;
                    }
                };
                if due {
                    self.remove(&key);
                    expired += 1;
                }
            }
            removed += expired;
            if expired * 4 <= sample {
                break;
            }
        }
        removed
    }
    // ANCHOR_END: sweep_shard
}

// ANCHOR: db
/// The keyspace: keys (binary strings) mapped to strings or lists, each
/// with an optional expiry time. Split into shards, each behind its own
/// lock, so that clients on different threads rarely wait for each other.
pub struct Db {
    shards: Box<[Mutex<Shard>]>,
    clock: Clock,
    /// The memory limit in bytes; 0: none.
    maxmemory: AtomicUsize,
    evicted: AtomicU64,
    /// The shard the next eviction starts from: they take turns.
    next_victim: AtomicUsize,
}
// ANCHOR_END: db

type Reply = Frame;

/// A command's implementation: the store and the whole request, name first.
type Handler = fn(&Db, &[Bytes]) -> Reply;

impl Db {
    /// An empty keyspace of `shards` shards (at least one) that reads the
    /// time from `clock`.
    pub fn new(shards: usize, clock: Clock) -> Db {
        let shards = (0..shards.max(1))
            .map(|i| {
                Mutex::new(Shard {
                    rng: 0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1),
                    ..Shard::default()
                })
            })
            .collect();
        Db {
            shards,
            clock,
            maxmemory: AtomicUsize::new(0),
            evicted: AtomicU64::new(0),
            next_victim: AtomicUsize::new(0),
        }
    }

    // ANCHOR: maxmemory
    /// Limits the keyspace to about `bytes` of memory, as
    /// [`Db::used_memory`] counts it; 0, the default, means no limit. Over
    /// the limit, each write command is followed by evictions, Redis's
    /// `allkeys-lru` policy done its approximate way: in one shard, take
    /// [`EVICTION_SAMPLES`] random keys and evict the one used longest ago
    /// (reading or writing a key uses it); the next eviction takes the next
    /// shard; until the store fits again.
    pub fn set_maxmemory(&self, bytes: usize) {
        self.maxmemory.store(bytes, Ordering::Relaxed);
    }

    /// The limit given to [`Db::set_maxmemory`] (0: none).
    pub fn maxmemory(&self) -> usize {
        self.maxmemory.load(Ordering::Relaxed)
    }

    /// An estimate of the keyspace's memory, in bytes: for each key, its
    /// length, plus its value's (a string's length; for a list, each
    /// item's length plus [`LIST_ITEM_OVERHEAD`]), plus [`ENTRY_OVERHEAD`].
    pub fn used_memory(&self) -> usize {
        (0..self.shards.len()).map(|i| self.lock(i).used).sum()
    }

    /// How many keys have been evicted to stay under the limit.
    pub fn evicted_keys(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    /// Evicts keys until the store fits under the limit (or is empty).
    fn evict(&self) {
        let limit = self.maxmemory();
        if limit == 0 {
            return;
        }
        while self.used_memory() > limit {
            let start = self.next_victim.fetch_add(1, Ordering::Relaxed);
            // The next shard that has a key gives one up.
            let evicted = (0..self.shards.len()).any(|i| {
                let mut shard = self.lock((start + i) % self.shards.len());
                match shard.lru_victim(EVICTION_SAMPLES) {
                    Some(key) => shard.remove(&key).is_some(),
                    None => false,
                }
            });
            if !evicted {
                return; // nothing left to evict
            }
            self.evicted.fetch_add(1, Ordering::Relaxed);
        }
    }
    // ANCHOR_END: maxmemory

    /// The number of keys stored, counting expired keys that no access and
    /// no sweep has removed yet (as Redis's DBSIZE does).
    pub fn dbsize(&self) -> usize {
        (0..self.shards.len()).map(|i| self.lock(i).map.len()).sum()
    }

    /// One round of active expiry: removes expired keys that nobody reads,
    /// sampling keys that have an expiry time in every shard (a key that is
    /// never read again must not stay in memory for ever). Holds one shard's
    /// lock at a time, briefly. Returns how many keys it removed.
    pub fn sweep_expired(&self) -> usize {
        let now = self.clock.now();
        (0..self.shards.len())
            .map(|i| self.lock(i).sweep(now))
            .sum()
    }

    // ANCHOR: shard_of
    /// The shard that holds `key`. FNV-1a is enough here: it only spreads
    /// keys over the locks. The maps inside the shards keep std's SipHash
    /// with a random key, so chosen keys cannot degrade them.
    fn shard_of(&self, key: &[u8]) -> usize {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for &byte in key {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        (hash % self.shards.len() as u64) as usize
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard> {
        // A panic while a shard was locked is a bug in a command, but the
        // shard's data is still consistent between two statements: keep
        // serving the other keys rather than failing every later command.
        self.shards[shard]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn shard_for(&self, key: &[u8]) -> MutexGuard<'_, Shard> {
        self.lock(self.shard_of(key))
    }

    /// Locks every shard that holds one of `keys`, in ascending order. Two
    /// commands that each need several shards then always take them in the
    /// same order, so neither can hold one that the other waits for while
    /// waiting for one the other holds: no deadlock.
    fn lock_many<'a>(
        &self,
        keys: impl Iterator<Item = &'a Bytes>,
    ) -> Vec<Option<MutexGuard<'_, Shard>>> {
        let mut wanted = vec![false; self.shards.len()];
        for key in keys {
            wanted[self.shard_of(key)] = true;
        }
        wanted
            .iter()
            .enumerate()
            .map(|(i, &w)| w.then(|| self.lock(i)))
            .collect()
    }
    // ANCHOR_END: shard_of

    // ANCHOR: execute
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
        let Some(name) = args.first() else {
            return error("ERR empty command");
        };
        // Command names are short: lower-case into a stack buffer rather
        // than allocating for every command.
        let mut buf = [0u8; 16];
        let lower = match buf.get_mut(..name.len()) {
            Some(lower) => {
                lower.copy_from_slice(name);
                lower.make_ascii_lowercase();
                &*lower
            }
            None => return unknown_command(args),
        };
        // The command table: name, arity (Redis's convention: n means
        // exactly n arguments counting the name, -n at least n), handler.
        let (arity, handler): (i32, Handler) = match lower {
            b"get" => (2, Db::get),
            b"set" => (-3, Db::set),
            b"getdel" => (2, Db::getdel),
            b"del" => (-2, Db::del),
            b"exists" => (-2, Db::exists),
            b"incr" => (2, |db, a| db.incr_by(&a[1], 1)),
            b"decr" => (2, |db, a| db.incr_by(&a[1], -1)),
            b"incrby" => (3, |db, a| db.incr_by_arg(a, false)),
            b"decrby" => (3, |db, a| db.incr_by_arg(a, true)),
            b"mget" => (-2, Db::mget),
            b"mset" => (-3, Db::mset),
            b"append" => (3, Db::append),
            b"strlen" => (2, Db::strlen),
            b"expire" => (-3, |db, a| db.expire(a, Duration::from_secs(1))),
            b"pexpire" => (-3, |db, a| db.expire(a, Duration::from_millis(1))),
            b"ttl" => (2, |db, a| db.ttl(&a[1], 1000)),
            b"pttl" => (2, |db, a| db.ttl(&a[1], 1)),
            b"persist" => (2, Db::persist),
            b"dbsize" => (1, |db, _| Frame::Integer(db.dbsize() as i64)),
            b"flushall" => (-1, Db::flushall),
            b"keys" => (2, Db::keys),
            b"scan" => (-2, Db::scan),
            b"type" => (2, Db::type_of),
            b"lpush" => (-3, |db, a| db.push(a, true)),
            b"rpush" => (-3, |db, a| db.push(a, false)),
            b"lpop" => (-2, |db, a| db.pop(a, true)),
            b"rpop" => (-2, |db, a| db.pop(a, false)),
            b"lrange" => (4, Db::lrange),
            b"llen" => (2, Db::llen),
            _ => return unknown_command(args),
        };
        let fits = if arity >= 0 {
            args.len() == arity as usize
        } else {
            args.len() >= arity.unsigned_abs() as usize
        };
        if !fits {
            return wrong_arity(lower);
        }
        let reply = handler(self, args);
        // These change a string in place: count its size again (the list
        // commands count their items as they go).
        if matches!(lower, b"append" | b"incr" | b"decr" | b"incrby" | b"decrby") {
            self.shard_for(&args[1]).resize(&args[1]);
        }
        if !matches!(reply, Frame::Error(_)) && is_write(lower) {
            self.evict();
        }
        reply
    }
    // ANCHOR_END: execute

    // ANCHOR: get
    fn get(&self, args: &[Bytes]) -> Reply {
        let now = self.clock.now();
        let mut shard = self.shard_for(&args[1]);
        match shard.live(&args[1], now) {
            None => Frame::Null,
            Some(Entry {
                value: Value::String(s),
                ..
            }) => Frame::Bulk(s.clone()),
            Some(_) => wrongtype(),
        }
    }
    // ANCHOR_END: get

    fn set(&self, args: &[Bytes]) -> Reply {
        let now = self.clock.now();
        let options = match SetOptions::parse(&args[3..], now) {
            Ok(options) => options,
            Err(reply) => return reply,
        };
        let (key, value) = (&args[1], &args[2]);
        let mut shard = self.shard_for(key);
        let old = shard.live(key, now);
        let old_value = match (&old, options.get) {
            (
                Some(Entry {
                    value: Value::List(_),
                    ..
                }),
                true,
            ) => return wrongtype(),
            (
                Some(Entry {
                    value: Value::String(s),
                    ..
                }),
                true,
            ) => Frame::Bulk(s.clone()),
            (_, true) => Frame::Null,
            (_, false) => ok(),
        };
        let exists = old.is_some();
        if (options.nx && exists) || (options.xx && !exists) {
            return if options.get { old_value } else { Frame::Null };
        }
        let value = Value::String(owned(value));
        match old {
            // Overwrite in place: no second lookup, and the entry keeps its
            // slot in `volatile` unless the expiry time changes.
            Some(entry) => {
                entry.value = value;
                let expires_at = match options.expiry {
                    Expiry::At(at) => Some(at),
                    Expiry::Keep => entry.expires_at,
                    Expiry::None => None,
                };
                if entry.expires_at != expires_at {
                    shard.set_expiry(key, expires_at);
                }
            }
            None => {
                let expires_at = match options.expiry {
                    Expiry::At(at) => Some(at),
                    Expiry::Keep | Expiry::None => None,
                };
                shard.insert(key, value, expires_at);
            }
        }
        old_value
    }

    fn getdel(&self, args: &[Bytes]) -> Reply {
        let now = self.clock.now();
        let mut shard = self.shard_for(&args[1]);
        match shard.live(&args[1], now) {
            None => Frame::Null,
            Some(Entry {
                value: Value::List(_),
                ..
            }) => wrongtype(),
            Some(_) => match shard.remove(&args[1]) {
                Some(Entry {
                    value: Value::String(s),
                    ..
                }) => Frame::Bulk(s),
                _ => Frame::Null,
            },
        }
    }

    fn del(&self, args: &[Bytes]) -> Reply {
        let now = self.clock.now();
        let mut removed = 0;
        for key in &args[1..] {
            let mut shard = self.shard_for(key);
            if shard.live(key, now).is_some() {
                shard.remove(key);
                removed += 1;
            }
        }
        Frame::Integer(removed)
    }

    fn exists(&self, args: &[Bytes]) -> Reply {
        let now = self.clock.now();
        let found = args[1..]
            .iter()
            .filter(|key| self.shard_for(key).live(key, now).is_some())
            .count();
        Frame::Integer(found as i64)
    }

    fn incr_by_arg(&self, args: &[Bytes], negate: bool) -> Reply {
        match parse_i64(&args[2]) {
            Some(by) if negate => match by.checked_neg() {
                Some(by) => self.incr_by(&args[1], by),
                None => error("ERR decrement would overflow"),
            },
            Some(by) => self.incr_by(&args[1], by),
            None => error(NOT_AN_INTEGER),
        }
    }

    // ANCHOR: incr
    fn incr_by(&self, key: &Bytes, by: i64) -> Reply {
        let now = self.clock.now();
        let mut shard = self.shard_for(key);
        let overflow = || error("ERR increment or decrement would overflow");
        match shard.live(key, now) {
            None => {
                let text = Bytes::from(by.to_string());
                shard.insert(key, Value::String(text), None);
                Frame::Integer(by)
            }
            Some(Entry {
                value: Value::String(s),
                ..
            }) => {
                let Some(current) = parse_i64(s) else {
                    return error(NOT_AN_INTEGER);
                };
                let Some(new) = current.checked_add(by) else {
                    return overflow();
                };
                // In place: INCR keeps the key's expiry time.
                *s = Bytes::from(new.to_string());
                Frame::Integer(new)
            }
            Some(_) => wrongtype(),
        }
    }
    // ANCHOR_END: incr

    fn mget(&self, args: &[Bytes]) -> Reply {
        let now = self.clock.now();
        let keys = &args[1..];
        let mut shards = self.lock_many(keys.iter());
        let values = keys
            .iter()
            .map(|key| {
                let shard = shards[self.shard_of(key)].as_mut().expect("locked above");
                match shard.live(key, now) {
                    Some(Entry {
                        value: Value::String(s),
                        ..
                    }) => Frame::Bulk(s.clone()),
                    // MGET answers nil for a list, not an error.
                    _ => Frame::Null,
                }
            })
            .collect();
        Frame::Array(values)
    }

    // ANCHOR: mset
    fn mset(&self, args: &[Bytes]) -> Reply {
        if args.len().is_multiple_of(2) {
            return wrong_arity(b"mset");
        }
        // All the shards involved, locked at once: no client sees half of
        // an MSET.
        let mut shards = self.lock_many(args[1..].iter().step_by(2));
        for pair in args[1..].chunks_exact(2) {
            let shard = shards[self.shard_of(&pair[0])]
                .as_mut()
                .expect("locked above");
            shard.insert(&pair[0], Value::String(owned(&pair[1])), None);
        }
        ok()
    }
    // ANCHOR_END: mset

    fn append(&self, args: &[Bytes]) -> Reply {
        let now = self.clock.now();
        let (key, tail) = (&args[1], &args[2]);
        let mut shard = self.shard_for(key);
        match shard.live(key, now) {
            None => {
                shard.insert(key, Value::String(owned(tail)), None);
                Frame::Integer(tail.len() as i64)
            }
            Some(Entry {
                value: Value::String(s),
                ..
            }) => {
                // Like Redis, no string grows past proto-max-bulk-len.
                if s.len() + tail.len() > MAX_STRING {
                    return error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
                }
                let mut joined = BytesMut::with_capacity(s.len() + tail.len());
                joined.extend_from_slice(s);
                joined.extend_from_slice(tail);
                *s = joined.freeze();
                Frame::Integer(s.len() as i64)
            }
            Some(_) => wrongtype(),
        }
    }

    fn strlen(&self, args: &[Bytes]) -> Reply {
        let now = self.clock.now();
        match self.shard_for(&args[1]).live(&args[1], now) {
            None => Frame::Integer(0),
            Some(Entry {
                value: Value::String(s),
                ..
            }) => Frame::Integer(s.len() as i64),
            Some(_) => wrongtype(),
        }
    }

    /// EXPIRE and PEXPIRE: `unit` is one second or one millisecond.
    fn expire(&self, args: &[Bytes], unit: Duration) -> Reply {
        let name = if unit.as_secs() == 1 {
            "expire"
        } else {
            "pexpire"
        };
        let Some(amount) = parse_i64(&args[2]) else {
            return error(NOT_AN_INTEGER);
        };
        let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
        for option in &args[3..] {
            match option.to_ascii_lowercase().as_slice() {
                b"nx" => nx = true,
                b"xx" => xx = true,
                b"gt" => gt = true,
                b"lt" => lt = true,
                _ => return error(&format!("ERR Unsupported option {}", lossy(option))),
            }
        }
        if nx && (xx || gt || lt) {
            return error("ERR NX and XX, GT or LT options at the same time are not compatible");
        }
        if gt && lt {
            return error("ERR GT and LT options at the same time are not compatible");
        }
        let now = self.clock.now();
        // None: the time is not in the future, so the key goes at once.
        let deadline = if amount <= 0 {
            None
        } else {
            let duration = if unit.as_secs() == 1 {
                Duration::from_secs(amount as u64)
            } else {
                Duration::from_millis(amount as u64)
            };
            match now.checked_add(duration) {
                Some(at) => Some(at),
                None => return error(&format!("ERR invalid expire time in '{name}' command")),
            }
        };
        let key = &args[1];
        let mut shard = self.shard_for(key);
        let Some(entry) = shard.live(key, now) else {
            return Frame::Integer(0);
        };
        let current = entry.expires_at;
        // A key without an expiry time counts as expiring at infinity.
        let allowed = match (current, deadline) {
            _ if nx => current.is_none(),
            _ if xx && current.is_none() => false,
            (None, _) => !gt,
            (Some(current), Some(new)) => (!gt || new > current) && (!lt || new < current),
            (Some(_), None) => !gt,
        };
        if !allowed {
            return Frame::Integer(0);
        }
        match deadline {
            Some(at) => shard.set_expiry(key, Some(at)),
            None => {
                shard.remove(key);
            }
        }
        Frame::Integer(1)
    }

    // ANCHOR: ttl
    /// TTL (`unit_ms` 1000) and PTTL (1): -2 for a missing key, -1 for a
    /// key without an expiry time, else the time left, rounded to the
    /// nearest unit.
    fn ttl(&self, key: &[u8], unit_ms: u128) -> Reply {
        let now = self.clock.now();
        match self.shard_for(key).live(key, now) {
            None => Frame::Integer(-2),
            Some(Entry {
                expires_at: None, ..
            }) => Frame::Integer(-1),
            Some(Entry {
                expires_at: Some(at),
                ..
            }) => {
                let left = at.saturating_duration_since(now).as_millis();
                Frame::Integer(((left + unit_ms / 2) / unit_ms) as i64)
            }
        }
    }
    // ANCHOR_END: ttl

    fn persist(&self, args: &[Bytes]) -> Reply {
        let now = self.clock.now();
        let key = &args[1];
        let mut shard = self.shard_for(key);
        match shard.live(key, now) {
            Some(Entry {
                expires_at: Some(_),
                ..
            }) => {
                shard.set_expiry(key, None);
                Frame::Integer(1)
            }
            _ => Frame::Integer(0),
        }
    }

    fn flushall(&self, args: &[Bytes]) -> Reply {
        match args.get(1).map(|a| a.to_ascii_lowercase()).as_deref() {
            None | Some(b"sync") | Some(b"async") if args.len() <= 2 => {}
            _ => return error("ERR syntax error"),
        }
        // Every shard locked (in order) before any is cleared: FLUSHALL is
        // one step for every other client.
        let mut shards: Vec<_> = (0..self.shards.len()).map(|i| self.lock(i)).collect();
        for shard in &mut shards {
            shard.map.clear();
            shard.volatile.clear();
            shard.keys.clear();
            shard.used = 0;
        }
        ok()
    }

    /// The live keys of one shard that match `pattern` (and `kind`, for
    /// SCAN's TYPE), expired ones removed on the way.
    fn keys_in(&self, shard: usize, pattern: &[u8], kind: Option<&[u8]>) -> Vec<Frame> {
        let now = self.clock.now();
        let mut shard = self.lock(shard);
        let mut found = Vec::new();
        let mut expired = Vec::new();
        for (key, entry) in &shard.map {
            if entry.expires_at.is_some_and(|at| at <= now) {
                expired.push(key.clone());
            } else if kind.is_none_or(|kind| kind == type_name(&entry.value).as_bytes())
                && glob_match(pattern, key)
            {
                found.push(Frame::Bulk(key.clone()));
            }
        }
        for key in expired {
            shard.remove(&key);
        }
        found
    }

    fn keys(&self, args: &[Bytes]) -> Reply {
        let keys = (0..self.shards.len())
            .flat_map(|i| self.keys_in(i, &args[1], None))
            .collect();
        Frame::Array(keys)
    }

    // ANCHOR: scan
    /// `SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]`. The cursor is a
    /// shard's number: each call returns the matching keys of one shard and
    /// the next shard's number, 0 after the last. A key present for the
    /// whole scan is returned exactly once, whatever is added or removed
    /// meanwhile. COUNT is only a hint in Redis; here it is checked and
    /// otherwise ignored.
    fn scan(&self, args: &[Bytes]) -> Reply {
        let cursor = match std::str::from_utf8(&args[1])
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
        {
            Some(cursor) => cursor,
            None => return error("ERR invalid cursor"),
        };
        let mut pattern: &[u8] = b"*";
        let mut kind = None;
        let mut options = args[2..].chunks(2);
        for pair in &mut options {
            let [option, value] = pair else {
                return error("ERR syntax error");
            };
            match option.to_ascii_lowercase().as_slice() {
                b"match" => pattern = value,
                b"count" => match parse_i64(value) {
                    Some(n) if n >= 1 => {}
                    Some(_) => return error("ERR syntax error"),
                    None => return error(NOT_AN_INTEGER),
                },
                b"type" => kind = Some(value.to_ascii_lowercase()),
                _ => return error("ERR syntax error"),
            }
        }
        let shard = cursor as usize;
        if shard >= self.shards.len() {
            // A cursor this server never gave: the scan is over.
            return Frame::Array(vec![bulk("0"), Frame::Array(Vec::new())]);
        }
        let keys = self.keys_in(shard, pattern, kind.as_deref());
        let next = if shard + 1 == self.shards.len() {
            0
        } else {
            shard + 1
        };
        Frame::Array(vec![bulk(&next.to_string()), Frame::Array(keys)])
    }
    // ANCHOR_END: scan

    fn type_of(&self, args: &[Bytes]) -> Reply {
        let now = self.clock.now();
        let name = match self.shard_for(&args[1]).live(&args[1], now) {
            None => "none",
            Some(entry) => type_name(&entry.value),
        };
        Frame::Simple(name.into())
    }

    fn push(&self, args: &[Bytes], front: bool) -> Reply {
        let now = self.clock.now();
        let key = &args[1];
        let mut shard = self.shard_for(key);
        if shard.live(key, now).is_none() {
            shard.insert(key, Value::List(VecDeque::new()), None);
        }
        let (len, added) = match shard.live(key, now) {
            Some(Entry {
                value: Value::List(list),
                size,
                ..
            }) => {
                let mut added = 0;
                for value in &args[2..] {
                    added += value.len() + LIST_ITEM_OVERHEAD;
                    if front {
                        list.push_front(owned(value));
                    } else {
                        list.push_back(owned(value));
                    }
                }
                // Counted item by item: summing the whole list again on
                // every push would make N pushes cost N² steps.
                *size += added;
                (list.len(), added)
            }
            _ => return wrongtype(),
        };
        shard.used += added;
        Frame::Integer(len as i64)
    }

    fn pop(&self, args: &[Bytes], front: bool) -> Reply {
        if args.len() > 3 {
            return wrong_arity(if front { b"lpop" } else { b"rpop" });
        }
        let count = match args.get(2) {
            None => None,
            Some(count) => match parse_i64(count) {
                Some(n) if n >= 0 => Some(n as usize),
                _ => return error("ERR value is out of range, must be positive"),
            },
        };
        let now = self.clock.now();
        let key = &args[1];
        let mut shard = self.shard_for(key);
        let (list, size) = match shard.live(key, now) {
            None => return Frame::Null,
            Some(Entry {
                value: Value::List(list),
                size,
                ..
            }) => (list, size),
            Some(_) => return wrongtype(),
        };
        let mut removed = 0;
        let mut take = || {
            let item = if front {
                list.pop_front()
            } else {
                list.pop_back()
            };
            if let Some(item) = &item {
                removed += item.len() + LIST_ITEM_OVERHEAD;
            }
            item
        };
        let reply = match count {
            None => take().map_or(Frame::Null, Frame::Bulk),
            Some(n) => Frame::Array(std::iter::from_fn(take).take(n).map(Frame::Bulk).collect()),
        };
        *size -= removed;
        let empty = list.is_empty();
        shard.used -= removed;
        // Redis never keeps an empty list: the key goes with its last item.
        if empty {
            shard.remove(key);
        }
        reply
    }

    fn lrange(&self, args: &[Bytes]) -> Reply {
        let (Some(start), Some(stop)) = (parse_i64(&args[2]), parse_i64(&args[3])) else {
            return error(NOT_AN_INTEGER);
        };
        let now = self.clock.now();
        let mut shard = self.shard_for(&args[1]);
        let list = match shard.live(&args[1], now) {
            None => return Frame::Array(Vec::new()),
            Some(Entry {
                value: Value::List(list),
                ..
            }) => list,
            Some(_) => return wrongtype(),
        };
        // Negative indexes count from the end; the range is clamped to the
        // list, and an empty one gives an empty array.
        let len = list.len() as i64;
        let start = if start < 0 {
            (len + start).max(0)
        } else {
            start
        };
        let stop = if stop < 0 {
            len + stop
        } else {
            stop.min(len - 1)
        };
        if start > stop || start >= len {
            return Frame::Array(Vec::new());
        }
        let items = list
            .range(start as usize..=stop as usize)
            .cloned()
            .map(Frame::Bulk)
            .collect();
        Frame::Array(items)
    }

    fn llen(&self, args: &[Bytes]) -> Reply {
        let now = self.clock.now();
        match self.shard_for(&args[1]).live(&args[1], now) {
            None => Frame::Integer(0),
            Some(Entry {
                value: Value::List(list),
                ..
            }) => Frame::Integer(list.len() as i64),
            Some(_) => wrongtype(),
        }
    }
}

// ANCHOR: set_options
/// What SET's options ask for.
struct SetOptions {
    nx: bool,
    xx: bool,
    get: bool,
    expiry: Expiry,
}

enum Expiry {
    /// No EX, PX or KEEPTTL: SET removes any expiry time.
    None,
    Keep,
    At(Instant),
}

impl SetOptions {
    fn parse(options: &[Bytes], now: Instant) -> Result<SetOptions, Reply> {
        let mut parsed = SetOptions {
            nx: false,
            xx: false,
            get: false,
            expiry: Expiry::None,
        };
        let mut expiry_given = false;
        let mut i = 0;
        while i < options.len() {
            let option = options[i].to_ascii_lowercase();
            match option.as_slice() {
                b"nx" if !parsed.xx => parsed.nx = true,
                b"xx" if !parsed.nx => parsed.xx = true,
                b"get" => parsed.get = true,
                b"keepttl" if !expiry_given => {
                    parsed.expiry = Expiry::Keep;
                    expiry_given = true;
                }
                b"ex" | b"px" if !expiry_given && i + 1 < options.len() => {
                    i += 1;
                    let Some(amount) = parse_i64(&options[i]) else {
                        return Err(error(NOT_AN_INTEGER));
                    };
                    let invalid = || error("ERR invalid expire time in 'set' command");
                    if amount <= 0 {
                        return Err(invalid());
                    }
                    let duration = if option == b"ex" {
                        Duration::from_secs(amount as u64)
                    } else {
                        Duration::from_millis(amount as u64)
                    };
                    match now.checked_add(duration) {
                        Some(at) => parsed.expiry = Expiry::At(at),
                        None => return Err(invalid()),
                    }
                    expiry_given = true;
                }
                _ => return Err(error("ERR syntax error")),
            }
            i += 1;
        }
        Ok(parsed)
    }
}
// ANCHOR_END: set_options

// ANCHOR: owned
/// A copy of `bytes` in an allocation of its own, for everything the store
/// keeps. The arguments of a request are `Bytes` that share the connection's
/// read buffer (no copy while decoding); storing them as they are would keep
/// that whole buffer alive, 16 KiB or more, for each 3-byte value.
fn owned(bytes: &[u8]) -> Bytes {
    Bytes::copy_from_slice(bytes)
}

/// What [`Db::used_memory`] counts for each key besides its bytes (the
/// map's slot, the entry, the allocation's header): an estimate.
pub const ENTRY_OVERHEAD: usize = 64;

/// What [`Db::used_memory`] counts for each list item besides its bytes.
pub const LIST_ITEM_OVERHEAD: usize = 16;

/// How many random keys an eviction compares (Redis's `maxmemory-samples`).
pub const EVICTION_SAMPLES: usize = 5;

fn entry_size(key: &[u8], value: &Value) -> usize {
    let value = match value {
        Value::String(s) => s.len(),
        Value::List(items) => items.iter().map(|i| i.len() + LIST_ITEM_OVERHEAD).sum(),
    };
    key.len() + value + ENTRY_OVERHEAD
}

/// The commands that can add to the keyspace's memory.
fn is_write(name: &[u8]) -> bool {
    matches!(
        name,
        b"set"
            | b"mset"
            | b"append"
            | b"incr"
            | b"decr"
            | b"incrby"
            | b"decrby"
            | b"lpush"
            | b"rpush"
    )
}
// ANCHOR_END: owned

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "string",
        Value::List(_) => "list",
    }
}

/// The longest string APPEND may build: Redis's proto-max-bulk-len.
const MAX_STRING: usize = 512 * 1024 * 1024;

const NOT_AN_INTEGER: &str = "ERR value is not an integer or out of range";

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

fn error(message: &str) -> Frame {
    Frame::Error(message.to_owned())
}

fn bulk(text: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

fn wrongtype() -> Frame {
    error("WRONGTYPE Operation against a key holding the wrong kind of value")
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn wrong_arity(name: &[u8]) -> Frame {
    error(&format!(
        "ERR wrong number of arguments for '{}' command",
        lossy(name)
    ))
}

/// `ERR unknown command 'foo', with args beginning with: 'a' 'b' `: like
/// Redis, at most about 128 bytes of arguments are quoted.
fn unknown_command(args: &[Bytes]) -> Frame {
    let mut quoted = String::new();
    for arg in &args[1..] {
        if quoted.len() >= 128 {
            break;
        }
        let arg = lossy(arg);
        let room = 128 - quoted.len();
        let cut: String = arg.chars().take(room).collect();
        quoted.push_str(&format!("'{cut}' "));
    }
    let name: String = lossy(&args[0]).chars().take(128).collect();
    // A reply line must not contain a line break.
    let message = format!("ERR unknown command '{name}', with args beginning with: {quoted}")
        .replace(['\r', '\n'], " ");
    Frame::Error(message)
}

/// A strict decimal integer, as Redis reads one: an optional `-`, digits,
/// no `+`, no spaces, no leading zeros.
fn parse_i64(bytes: &[u8]) -> Option<i64> {
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    if digits.is_empty()
        || !digits.iter().all(u8::is_ascii_digit)
        || (digits[0] == b'0' && bytes.len() > 1)
    {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}
