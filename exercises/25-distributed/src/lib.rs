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

mod hash;
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

/// A consistent-hash ring with a fixed number of virtual nodes per node.
///
/// Virtual node `i` (counting from 0) of node `name` sits on the ring at
/// `hash64(format!("{name}#{i}").as_bytes())`. A key belongs to the node of
/// the first virtual node at or after `hash64(key)`, going round past
/// `u64::MAX` to the first virtual node of the ring. Two virtual nodes at
/// the same position are ordered by node name.
#[derive(Debug, Clone)]
pub struct Ring {
    // TODO: the virtual nodes (position and node), kept so that a lookup
    // does not scan them all; the node names; the virtual nodes per node.
}

impl Ring {
    /// An empty ring whose nodes get `vnodes` virtual nodes each (0 is taken
    /// as 1).
    pub fn new(vnodes: usize) -> Ring {
        todo!()
    }

    /// Adds node `name` with its virtual nodes. Returns false, and changes
    /// nothing, if the ring already has a node of that name.
    pub fn add_node(&mut self, name: &str) -> bool {
        // TODO: place each virtual node at the position the contract gives.
        todo!()
    }

    /// Removes node `name` and all its virtual nodes. Returns false if the
    /// ring has no node of that name.
    pub fn remove_node(&mut self, name: &str) -> bool {
        todo!()
    }

    /// The node that owns `key`, or None if the ring has no node.
    pub fn node_for(&self, key: &[u8]) -> Option<&str> {
        // TODO: find the first virtual node at or after hash64(key); the
        // ring is a circle.
        todo!()
    }

    /// The names of the ring's nodes, sorted.
    pub fn nodes(&self) -> Vec<&str> {
        todo!()
    }
}

/// How many hash slots a Redis Cluster has.
pub const SLOTS: u16 = 16384;

/// CRC-16/XMODEM of `bytes`: polynomial 0x1021, initial value 0, no
/// reflection, no final XOR. `crc16(b"123456789")` is 0x31C3.
pub fn crc16(bytes: &[u8]) -> u16 {
    // TODO: the bitwise algorithm, most significant bit first.
    todo!()
}

/// The part of `key` that decides its slot: if the key has a `{`, and a `}`
/// after that first `{`, with at least one byte between them, the bytes
/// between that first `{` and the first `}` after it; otherwise the whole key.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    todo!()
}

/// The hash slot of `key`, in `0..SLOTS`: `crc16(hash_tag(key))` modulo 16,384.
pub fn key_slot(key: &[u8]) -> u16 {
    todo!()
}

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
    // TODO: this node's address and the slot ranges, shared by every view
    // (Arc) and written by a failover (a lock).
}

impl Cluster {
    /// The view of node `me` in a cluster of `nodes` (at least one), whose
    /// slots are split as `redis-cli --cluster create` splits them: node `i`
    /// of `n` serves one contiguous range, from slot `round(i * 16384 / n)`
    /// to the slot before node `i + 1`'s first (the last node: to 16383),
    /// where `round` rounds to the nearest integer (halves up). No node has
    /// a follower.
    pub fn new(me: SocketAddr, nodes: &[SocketAddr]) -> Cluster {
        // TODO: a cluster of leaders only.
        todo!()
    }

    /// Like [`Cluster::new`] with `leaders` as the nodes, and
    /// `followers[i]` as the replica of `leaders[i]`'s range. Leaders past
    /// the end of `followers` have none; extra followers are ignored.
    pub fn with_replicas(
        me: SocketAddr,
        leaders: &[SocketAddr],
        followers: &[SocketAddr],
    ) -> Cluster {
        // TODO: one SlotRange per leader; round with integers only.
        todo!()
    }

    /// Node `me`'s view of the same cluster: it shares this view's slot
    /// map, failovers included.
    pub fn view(&self, me: SocketAddr) -> Cluster {
        todo!()
    }

    /// This node's address.
    pub fn me(&self) -> SocketAddr {
        todo!()
    }

    /// The slot ranges, one per leader, in the order the leaders were
    /// given: a copy of the map as it is now.
    pub fn ranges(&self) -> Vec<SlotRange> {
        todo!()
    }

    /// The node that serves `slot` (which must be below 16,384): the
    /// leader of its range.
    pub fn node_for_slot(&self, slot: u16) -> SocketAddr {
        todo!()
    }

    /// The leader this node follows, or `None` if it is not a follower.
    pub fn leader_of_me(&self) -> Option<SocketAddr> {
        todo!()
    }

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
        // TODO: the keys' slots, then the range that holds them: its leader
        // runs everything, its follower only reads after READONLY.
        todo!()
    }

    /// Promotes this node, a follower, to leader of its range: the range's
    /// leader becomes its follower, and every view of the cluster sees the
    /// change at once. Returns the old leader's address, or
    /// `Err("You should send CLUSTER FAILOVER to a replica")` if this node
    /// follows no leader.
    pub fn fail_over(&self) -> Result<SocketAddr, String> {
        // TODO: swap the roles in the shared map.
        todo!()
    }

    /// The reply to `CLUSTER SLOTS`: an array with one entry per range, in
    /// slot order; each entry an array of the start (integer), the end
    /// (integer), and the serving node as an array of its IP (bulk string),
    /// port (integer) and [`node_id`] (bulk string), followed, if the range
    /// has a follower, by the follower as an array of the same form.
    pub fn slots_reply(&self) -> Frame {
        todo!()
    }

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
        todo!()
    }
}

/// The keys a request names, in order, for the commands a node serves:
/// `DEL`, `EXISTS` and `MGET` take every argument as a key; `MSET` every
/// other argument from the first (`MSET k1 v1 k2 v2`); `GET`, `SET`,
/// `GETDEL`, `INCR`, `DECR`, `INCRBY`, `APPEND`, `STRLEN`, `EXPIRE`,
/// `PEXPIRE`, `TTL`, `PTTL`, `PERSIST`, `TYPE`, `LPUSH`, `RPUSH`, `LPOP`,
/// `RPOP`, `LRANGE` and `LLEN` their first argument. Any other command,
/// and a request too short to have its key, names none.
pub fn command_keys(args: &[Bytes]) -> Vec<&[u8]> {
    // TODO: match on the lower-cased name.
    todo!()
}

/// A leader's replication stream: every write it executed, in order, each
/// encoded as a RESP array of bulk strings, back to back. A position in the
/// stream is an **offset**: the number of bytes before it since the stream
/// began. The backlog keeps only the newest `capacity` bytes (Redis's
/// `repl-backlog-size`): a follower that falls further behind cannot catch
/// up from it.
#[derive(Debug)]
pub struct Backlog {
    // TODO: the bytes kept, the offset of the first of them, the capacity.
}

impl Backlog {
    /// An empty backlog whose next byte is at offset `start` (0 for a new
    /// leader; a promoted follower continues from the offset it reached),
    /// that will keep the newest `capacity` bytes.
    pub fn new(start: u64, capacity: usize) -> Backlog {
        todo!()
    }

    /// Appends one write, `command` (its name, then its arguments), as a
    /// RESP array of bulk strings, drops the oldest bytes beyond the
    /// capacity, and returns the offset of the end of the stream: the
    /// offset a follower must reach to have this write.
    pub fn append(&mut self, command: &[Bytes]) -> u64 {
        // TODO: encode with resp::encode; keep at most the capacity.
        todo!()
    }

    /// The offset of the end of the stream: every byte ever appended,
    /// counted from the start this backlog was created with.
    pub fn offset(&self) -> u64 {
        todo!()
    }

    /// The stream from offset `from` to its end (empty at the end), or
    /// `None` if `from` is before the oldest byte kept or past the end.
    pub fn read_from(&self, from: u64) -> Option<Bytes> {
        todo!()
    }
}

/// What a leader knows of its followers' progress: the offset up to which
/// each has acknowledged applying the stream. `WAIT` reads it.
#[derive(Debug)]
pub struct Acks {
    // TODO: each follower's acknowledged offset, in a tokio::sync::watch
    // channel so that WAIT can sleep until the next acknowledgement.
}

impl Default for Acks {
    fn default() -> Acks {
        Acks::new()
    }
}

impl Acks {
    /// No follower has acknowledged anything.
    pub fn new() -> Acks {
        todo!()
    }

    /// Records that `follower` has applied the stream up to `offset`. An
    /// acknowledgement smaller than one already recorded changes nothing.
    pub fn ack(&self, follower: SocketAddr, offset: u64) {
        todo!()
    }

    /// Forgets `follower` (its link closed): it no longer counts.
    pub fn forget(&self, follower: SocketAddr) {
        todo!()
    }

    /// How many followers have acknowledged `offset` or beyond. The leader
    /// itself is not a follower: it never counts.
    pub fn reached(&self, offset: u64) -> usize {
        todo!()
    }

    /// `WAIT numreplicas timeout`: waits until at least `numreplicas`
    /// followers have acknowledged `offset`, or until `timeout` has passed
    /// (a zero timeout waits for ever), and returns how many have then. It
    /// returns at once if enough already have.
    pub async fn wait(&self, offset: u64, numreplicas: usize, timeout: Duration) -> usize {
        // TODO: wait on the watch channel for enough acknowledgements, up to
        // the timeout.
        todo!()
    }
}
