//! Partitioning keys over the nodes of a cluster, two ways.
//!
//! - [`Ring`]: consistent hashing with virtual nodes. Each node owns the
//!   arcs of a 64-bit ring that end at its virtual nodes; adding or removing
//!   a node moves only the keys of the arcs it gains or loses.
//! - [`key_slot`]: Redis Cluster's 16,384 hash slots. A key's slot is the
//!   CRC16 (XMODEM) of the key, or of its `{hash tag}`, modulo 16,384.
//!
//! - [`Cluster`]: one node's view of a Redis Cluster: which node serves
//!   each slot and which follows it, the `-MOVED` and `-CROSSSLOT`
//!   redirections, the replies to `CLUSTER SLOTS` and `CLUSTER NODES` that
//!   real clients read, and the failover that promotes a follower.
//! - [`Backlog`] and [`Acks`]: a leader's replication stream, counted in
//!   bytes, and how far its followers have applied it, for `WAIT`.
//!
//! Given: [`hash64`] (`src/hash.rs`), which places keys and virtual nodes
//! on the ring, and the node's server, [`serve_node`], [`serve_node_via`],
//! [`node_id`] and [`is_write`] (`src/node.rs`), which also runs the
//! replication link between a leader and its follower.

// The given files are the exercise's own.
#[path = "../../../exercises/25-distributed/src/hash.rs"]
mod hash;
#[path = "../../../exercises/25-distributed/src/node.rs"]
mod node;

pub use hash::hash64;
pub use node::{is_write, node_id, serve_node, serve_node_via};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use resp::{Frame, Protocol};
use tokio::sync::watch;

// ANCHOR: ring
/// A consistent-hash ring with a fixed number of virtual nodes per node.
///
/// Virtual node `i` (counting from 0) of node `name` sits on the ring at
/// `hash64(format!("{name}#{i}").as_bytes())`. A key belongs to the node of
/// the first virtual node at or after `hash64(key)`, going round past
/// `u64::MAX` to the first virtual node of the ring. Two virtual nodes at
/// the same position are ordered by node name.
#[derive(Debug, Clone)]
pub struct Ring {
    // Every virtual node as (position, node name), sorted: a lookup is a
    // binary search. The names are shared, so a virtual node costs a
    // pointer, not a copy of the name.
    points: Vec<(u64, Arc<str>)>,
    // The node names, sorted.
    names: Vec<Arc<str>>,
    vnodes: usize,
}
// ANCHOR_END: ring

impl Ring {
    /// An empty ring whose nodes get `vnodes` virtual nodes each (0 is taken
    /// as 1).
    pub fn new(vnodes: usize) -> Ring {
        Ring {
            points: Vec::new(),
            names: Vec::new(),
            vnodes: vnodes.max(1),
        }
    }

    // ANCHOR: add
    /// Adds node `name` with its virtual nodes. Returns false, and changes
    /// nothing, if the ring already has a node of that name.
    pub fn add_node(&mut self, name: &str) -> bool {
        let at = match self.names.binary_search_by(|n| (**n).cmp(name)) {
            Ok(_) => return false,
            Err(at) => at,
        };
        let name: Arc<str> = Arc::from(name);
        self.names.insert(at, name.clone());
        for i in 0..self.vnodes {
            let position = hash64(format!("{name}#{i}").as_bytes());
            self.points.push((position, name.clone()));
        }
        // Sorting after every addition is O(n log n); nodes join rarely,
        // lookups happen for every key.
        self.points.sort_unstable();
        true
    }
    // ANCHOR_END: add

    /// Removes node `name` and all its virtual nodes. Returns false if the
    /// ring has no node of that name.
    pub fn remove_node(&mut self, name: &str) -> bool {
        match self.names.binary_search_by(|n| (**n).cmp(name)) {
            Ok(at) => {
                self.names.remove(at);
                // retain keeps the order: no need to sort again.
                self.points.retain(|(_, n)| &**n != name);
                true
            }
            Err(_) => false,
        }
    }

    // ANCHOR: node_for
    /// The node that owns `key`, or None if the ring has no node.
    pub fn node_for(&self, key: &[u8]) -> Option<&str> {
        if self.points.is_empty() {
            return None;
        }
        let h = hash64(key);
        // The first virtual node at or after h...
        let i = self.points.partition_point(|(position, _)| *position < h);
        // ...or, past the last one, the first of the ring: it is a circle.
        let i = if i == self.points.len() { 0 } else { i };
        Some(&self.points[i].1)
    }
    // ANCHOR_END: node_for

    /// The names of the ring's nodes, sorted.
    pub fn nodes(&self) -> Vec<&str> {
        self.names.iter().map(|n| &**n).collect()
    }
}

/// How many hash slots a Redis Cluster has.
pub const SLOTS: u16 = 16384;

// ANCHOR: crc16
/// CRC-16/XMODEM of `bytes`: polynomial 0x1021, initial value 0, no
/// reflection, no final XOR. `crc16(b"123456789")` is 0x31C3.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in bytes {
        // Feed the byte into the top 8 bits, then shift it out bit by bit,
        // subtracting (XOR) the polynomial whenever a 1 falls off the top.
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}
// ANCHOR_END: crc16

// ANCHOR: slot
/// The part of `key` that decides its slot: if the key has a `{`, and a `}`
/// after that first `{`, with at least one byte between them, the bytes
/// between that first `{` and the first `}` after it; otherwise the whole key.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = key.iter().position(|&b| b == b'{') {
        let rest = &key[open + 1..];
        if let Some(close) = rest.iter().position(|&b| b == b'}') {
            // `{}` is not a tag: the whole key is hashed.
            if close > 0 {
                return &rest[..close];
            }
        }
    }
    key
}

/// The hash slot of `key`, in `0..SLOTS`: `crc16(hash_tag(key))` modulo 16,384.
pub fn key_slot(key: &[u8]) -> u16 {
    // 16,384 is a power of two: the remainder is the low 14 bits.
    crc16(hash_tag(key)) & (SLOTS - 1)
}
// ANCHOR_END: slot

// ANCHOR: slot_range
/// Slots `start..=end` (both included), the node that serves them (the
/// range's leader), and its follower if it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotRange {
    /// The first slot of the range.
    pub start: u16,
    /// The last slot of the range (included).
    pub end: u16,
    /// The address clients use to reach the node.
    pub node: SocketAddr,
    /// The follower that replicates the leader's writes, if any.
    pub replica: Option<SocketAddr>,
}

/// One node's view of the cluster: its own address and which node serves
/// each of the 16,384 slots.
///
/// The slot map is shared by every view made from the same cluster with
/// [`Cluster::view`]: a failover seen by one node is seen by all. (In one
/// process this shared map stands in for Redis Cluster's gossip.)
#[derive(Debug, Clone)]
pub struct Cluster {
    me: SocketAddr,
    // One range per leader, in the order of the leaders, covering
    // 0..16384. Read on every request, written only by a failover.
    ranges: Arc<RwLock<Vec<SlotRange>>>,
}
// ANCHOR_END: slot_range

impl Cluster {
    // ANCHOR: new
    /// The view of node `me` in a cluster of `nodes` (at least one), whose
    /// slots are split as `redis-cli --cluster create` splits them: node `i`
    /// of `n` serves one contiguous range, from slot `round(i * 16384 / n)`
    /// to the slot before node `i + 1`'s first (the last node: to 16383),
    /// where `round` rounds to the nearest integer (halves up). No node has
    /// a follower.
    pub fn new(me: SocketAddr, nodes: &[SocketAddr]) -> Cluster {
        Cluster::with_replicas(me, nodes, &[])
    }

    /// Like [`Cluster::new`] with `leaders` as the nodes, and
    /// `followers[i]` as the replica of `leaders[i]`'s range. Leaders past
    /// the end of `followers` have none; extra followers are ignored.
    pub fn with_replicas(
        me: SocketAddr,
        leaders: &[SocketAddr],
        followers: &[SocketAddr],
    ) -> Cluster {
        let n = leaders.len() as u32;
        let slots = u32::from(SLOTS);
        // Rounded to the nearest, as redis-cli does: 3 nodes get
        // 0-5460, 5461-10922 and 10923-16383.
        let first = |i: u32| (2 * i * slots + n) / (2 * n);
        let ranges = leaders
            .iter()
            .zip(0..)
            .map(|(&node, i)| SlotRange {
                start: first(i) as u16,
                // The range ends where the next one starts, minus one.
                end: (first(i + 1) - 1) as u16,
                node,
                replica: followers.get(i as usize).copied(),
            })
            .collect();
        Cluster {
            me,
            ranges: Arc::new(RwLock::new(ranges)),
        }
    }
    // ANCHOR_END: new

    /// Node `me`'s view of the same cluster: it shares this view's slot
    /// map, failovers included.
    pub fn view(&self, me: SocketAddr) -> Cluster {
        Cluster {
            me,
            ranges: Arc::clone(&self.ranges),
        }
    }

    /// This node's address.
    pub fn me(&self) -> SocketAddr {
        self.me
    }

    /// The slot ranges, one per leader, in the order the leaders were
    /// given: a copy of the map as it is now.
    pub fn ranges(&self) -> Vec<SlotRange> {
        self.map().clone()
    }

    /// The node that serves `slot` (which must be below 16,384): the
    /// leader of its range.
    pub fn node_for_slot(&self, slot: u16) -> SocketAddr {
        range_of(&self.map(), slot).node
    }

    /// The leader this node follows, or `None` if it is not a follower.
    pub fn leader_of_me(&self) -> Option<SocketAddr> {
        self.map()
            .iter()
            .find(|r| r.replica == Some(self.me))
            .map(|r| r.node)
    }

    // ANCHOR: route
    /// Decides where a command runs. `args` is the request: the command's
    /// name (any case), then its arguments; `readonly` is whether the
    /// client sent `READONLY` on this connection. Returns `None` when this
    /// node runs it:
    ///
    /// - the command names no key (see [`command_keys`]);
    /// - or all its keys are in one range, and this node is that range's
    ///   leader;
    /// - or all its keys are in one range, this node is that range's
    ///   follower, `readonly` is true, and the command is not a write
    ///   ([`is_write`]): a follower serves reads to clients that asked for
    ///   them, never writes.
    ///
    /// Otherwise the error reply to send:
    ///
    /// - `-CROSSSLOT Keys in request don't hash to the same slot` when its
    ///   keys are in more than one slot (checked first);
    /// - `-MOVED <slot> <ip>:<port>` with the keys' slot and the address of
    ///   the leader that serves it.
    pub fn route(&self, args: &[Bytes], readonly: bool) -> Option<Frame> {
        let keys = command_keys(args);
        let (first, rest) = keys.split_first()?;
        let slot = key_slot(first);
        if rest.iter().any(|key| key_slot(key) != slot) {
            return Some(Frame::Error(
                "CROSSSLOT Keys in request don't hash to the same slot".into(),
            ));
        }
        let map = self.map();
        let range = range_of(&map, slot);
        if range.node == self.me {
            return None;
        }
        // A follower's copy may lag behind its leader: it answers only the
        // clients that said, with READONLY, that a stale read is fine.
        if range.replica == Some(self.me) && readonly && !is_write(args) {
            return None;
        }
        Some(Frame::Error(format!("MOVED {slot} {}", range.node)))
    }
    // ANCHOR_END: route

    // ANCHOR: fail_over
    /// Promotes this node, a follower, to leader of its range: the range's
    /// leader becomes its follower, and every view of the cluster sees the
    /// change at once. Returns the old leader's address, or
    /// `Err("You should send CLUSTER FAILOVER to a replica")` if this node
    /// follows no leader.
    pub fn fail_over(&self) -> Result<SocketAddr, String> {
        let mut map = self.ranges.write().unwrap_or_else(PoisonError::into_inner);
        let Some(range) = map.iter_mut().find(|r| r.replica == Some(self.me)) else {
            return Err("You should send CLUSTER FAILOVER to a replica".into());
        };
        // The slots move with the role: from now on MOVED names this node.
        let old = range.node;
        range.node = self.me;
        range.replica = Some(old);
        Ok(old)
    }
    // ANCHOR_END: fail_over

    // ANCHOR: slots_reply
    /// The reply to `CLUSTER SLOTS`: an array with one entry per range, in
    /// slot order; each entry an array of the start (integer), the end
    /// (integer), and the serving node as an array of its IP (bulk string),
    /// port (integer) and [`node_id`] (bulk string), followed, if the range
    /// has a follower, by the follower as an array of the same form.
    pub fn slots_reply(&self) -> Frame {
        let mut ranges = self.ranges();
        ranges.sort_by_key(|r| r.start);
        let node = |addr: SocketAddr| {
            Frame::Array(vec![
                Frame::Bulk(Bytes::from(addr.ip().to_string())),
                Frame::Integer(i64::from(addr.port())),
                Frame::Bulk(Bytes::from(node_id(addr))),
            ])
        };
        let entries = ranges
            .iter()
            .map(|r| {
                let mut entry = vec![
                    Frame::Integer(i64::from(r.start)),
                    Frame::Integer(i64::from(r.end)),
                    node(r.node),
                ];
                // Clients that read from followers (READONLY) find them here.
                entry.extend(r.replica.map(node));
                Frame::Array(entry)
            })
            .collect();
        Frame::Array(entries)
    }
    // ANCHOR_END: slots_reply

    // ANCHOR: nodes_reply
    /// The text of `CLUSTER NODES`: one line per node, each ended by `\n`:
    /// the leaders in the order of the ranges, each followed by its
    /// follower's line if it has one. A leader's line is
    ///
    /// `<id> <ip>:<port>@<port + 10000> <flags> - 0 0 <epoch> connected <start>-<end>`
    ///
    /// and a follower's
    ///
    /// `<id> <ip>:<port>@<port + 10000> <flags> <leader id> 0 0 <epoch> connected`
    ///
    /// with fields separated by one space, where `<id>` is [`node_id`],
    /// `<flags>` is `master` for a leader and `slave` for a follower,
    /// prefixed with `myself,` for this node, and `<epoch>` is the
    /// range's position in the list, counting from 1 (a follower shows its
    /// leader's).
    pub fn nodes_reply(&self) -> String {
        let mut text = String::new();
        for (r, epoch) in self.ranges().iter().zip(1..) {
            let line = |text: &mut String, node: SocketAddr, role: &str, of: &str, slots: &str| {
                let myself = if node == self.me { "myself," } else { "" };
                // The cluster bus port is the client port + 10000 in Redis;
                // nothing listens on it here, but clients parse the field.
                let bus = u32::from(node.port()) + 10_000;
                text.push_str(&format!(
                    "{} {}:{}@{bus} {myself}{role} {of} 0 0 {epoch} connected{slots}\n",
                    node_id(node),
                    node.ip(),
                    node.port(),
                ));
            };
            let slots = format!(" {}-{}", r.start, r.end);
            line(&mut text, r.node, "master", "-", &slots);
            if let Some(replica) = r.replica {
                line(&mut text, replica, "slave", &node_id(r.node), "");
            }
        }
        text
    }
    // ANCHOR_END: nodes_reply

    fn map(&self) -> RwLockReadGuard<'_, Vec<SlotRange>> {
        // A panic while the map was written leaves it whole: a failover
        // swaps two fields, nothing that can panic half-way.
        self.ranges.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The range that holds `slot`: ranges are sorted and contiguous, so it is
/// the last one that starts at or before the slot.
fn range_of(ranges: &[SlotRange], slot: u16) -> &SlotRange {
    let i = ranges.partition_point(|r| r.start <= slot);
    &ranges[i.saturating_sub(1)]
}

// ANCHOR: command_keys
/// The keys a request names, in order, for the commands a node serves:
/// `DEL`, `EXISTS` and `MGET` take every argument as a key; `MSET` every
/// other argument from the first (`MSET k1 v1 k2 v2`); `GET`, `SET`,
/// `GETDEL`, `INCR`, `DECR`, `INCRBY`, `APPEND`, `STRLEN`, `EXPIRE`,
/// `PEXPIRE`, `TTL`, `PTTL`, `PERSIST`, `TYPE`, `LPUSH`, `RPUSH`, `LPOP`,
/// `RPOP`, `LRANGE` and `LLEN` their first argument. Any other command,
/// and a request too short to have its key, names none.
pub fn command_keys(args: &[Bytes]) -> Vec<&[u8]> {
    let Some(name) = args.first() else {
        return Vec::new();
    };
    let rest = &args[1..];
    match name.to_ascii_lowercase().as_slice() {
        b"del" | b"exists" | b"mget" => rest.iter().map(|k| &k[..]).collect(),
        // Keys at 0, 2, 4...: the values between them are not keys.
        b"mset" => rest.iter().step_by(2).map(|k| &k[..]).collect(),
        b"get" | b"set" | b"getdel" | b"incr" | b"decr" | b"incrby" | b"append" | b"strlen"
        | b"expire" | b"pexpire" | b"ttl" | b"pttl" | b"persist" | b"type" | b"lpush"
        | b"rpush" | b"lpop" | b"rpop" | b"lrange" | b"llen" => {
            rest.first().map(|k| vec![&k[..]]).unwrap_or_default()
        }
        _ => Vec::new(),
    }
}
// ANCHOR_END: command_keys

// ANCHOR: backlog
/// A leader's replication stream: every write it executed, in order, each
/// encoded as a RESP array of bulk strings, back to back. A position in the
/// stream is an **offset**: the number of bytes before it since the stream
/// began. The backlog keeps only the newest `capacity` bytes (Redis's
/// `repl-backlog-size`): a follower that falls further behind cannot catch
/// up from it.
#[derive(Debug)]
pub struct Backlog {
    // The bytes kept; the first of them is at offset `start`.
    bytes: BytesMut,
    start: u64,
    capacity: usize,
}
// ANCHOR_END: backlog

impl Backlog {
    /// An empty backlog whose next byte is at offset `start` (0 for a new
    /// leader; a promoted follower continues from the offset it reached),
    /// that will keep the newest `capacity` bytes.
    pub fn new(start: u64, capacity: usize) -> Backlog {
        Backlog {
            bytes: BytesMut::new(),
            start,
            capacity,
        }
    }

    // ANCHOR: append
    /// Appends one write, `command` (its name, then its arguments), as a
    /// RESP array of bulk strings, drops the oldest bytes beyond the
    /// capacity, and returns the offset of the end of the stream: the
    /// offset a follower must reach to have this write.
    pub fn append(&mut self, command: &[Bytes]) -> u64 {
        let frame = Frame::Array(command.iter().cloned().map(Frame::Bulk).collect());
        resp::encode(&frame, Protocol::Resp2, &mut self.bytes);
        if self.bytes.len() > self.capacity {
            // Bounded like Redis's ring buffer: a follower that is this far
            // behind needs a full copy of the data, not the stream.
            let drop = self.bytes.len() - self.capacity;
            self.bytes.advance(drop);
            self.start += drop as u64;
        }
        self.offset()
    }
    // ANCHOR_END: append

    /// The offset of the end of the stream: every byte ever appended,
    /// counted from the start this backlog was created with.
    pub fn offset(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }

    /// The stream from offset `from` to its end (empty at the end), or
    /// `None` if `from` is before the oldest byte kept or past the end.
    pub fn read_from(&self, from: u64) -> Option<Bytes> {
        let skip = from.checked_sub(self.start)?;
        let skip = usize::try_from(skip).ok()?;
        self.bytes.get(skip..).map(Bytes::copy_from_slice)
    }
}

// ANCHOR: acks
/// What a leader knows of its followers' progress: the offset up to which
/// each has acknowledged applying the stream. `WAIT` reads it.
#[derive(Debug)]
pub struct Acks {
    // follower -> offset acknowledged; a watch channel so that WAIT can
    // sleep until the next acknowledgement instead of polling.
    acked: watch::Sender<HashMap<SocketAddr, u64>>,
}
// ANCHOR_END: acks

impl Default for Acks {
    fn default() -> Acks {
        Acks::new()
    }
}

impl Acks {
    /// No follower has acknowledged anything.
    pub fn new() -> Acks {
        Acks {
            acked: watch::Sender::new(HashMap::new()),
        }
    }

    /// Records that `follower` has applied the stream up to `offset`. An
    /// acknowledgement smaller than one already recorded changes nothing.
    pub fn ack(&self, follower: SocketAddr, offset: u64) {
        self.acked.send_modify(|acked| {
            let at = acked.entry(follower).or_insert(0);
            *at = (*at).max(offset);
        });
    }

    /// Forgets `follower` (its link closed): it no longer counts.
    pub fn forget(&self, follower: SocketAddr) {
        self.acked.send_modify(|acked| {
            acked.remove(&follower);
        });
    }

    /// How many followers have acknowledged `offset` or beyond. The leader
    /// itself is not a follower: it never counts.
    pub fn reached(&self, offset: u64) -> usize {
        count(&self.acked.borrow(), offset)
    }

    // ANCHOR: wait
    /// `WAIT numreplicas timeout`: waits until at least `numreplicas`
    /// followers have acknowledged `offset`, or until `timeout` has passed
    /// (a zero timeout waits for ever), and returns how many have then. It
    /// returns at once if enough already have.
    pub async fn wait(&self, offset: u64, numreplicas: usize, timeout: Duration) -> usize {
        let mut acked = self.acked.subscribe();
        let enough = acked.wait_for(|acked| count(acked, offset) >= numreplicas);
        if timeout.is_zero() {
            // The sender lives in self, which outlives this call: wait_for
            // cannot fail with "closed" here.
            let _ = enough.await;
        } else {
            // Timing out is not an error: WAIT answers how many made it.
            let _ = tokio::time::timeout(timeout, enough).await;
        }
        self.reached(offset)
    }
    // ANCHOR_END: wait
}

fn count(acked: &HashMap<SocketAddr, u64>, offset: u64) -> usize {
    acked.values().filter(|&&at| at >= offset).count()
}
