//! Partitioning keys over the nodes of a cluster, two ways.
//!
//! - [`Ring`]: consistent hashing with virtual nodes. Each node owns the
//!   arcs of a 64-bit ring that end at its virtual nodes; adding or removing
//!   a node moves only the keys of the arcs it gains or loses.
//! - [`key_slot`]: Redis Cluster's 16,384 hash slots. A key's slot is the
//!   CRC16 (XMODEM) of the key, or of its `{hash tag}`, modulo 16,384.
//!
//! - [`Cluster`]: one node's view of a Redis Cluster: which node serves
//!   each slot, the `-MOVED` and `-CROSSSLOT` redirections, and the replies
//!   to `CLUSTER SLOTS` and `CLUSTER NODES` that real clients read.
//!
//! Given: [`hash64`] (`src/hash.rs`), which places keys and virtual nodes
//! on the ring, and the node's server, [`serve_node`] and [`node_id`]
//! (`src/node.rs`).

mod hash;
mod node;

pub use hash::hash64;
pub use node::{node_id, serve_node};

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use resp::Frame;

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

/// Slots `start..=end` (both included) and the node that serves them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotRange {
    /// The first slot of the range.
    pub start: u16,
    /// The last slot of the range (included).
    pub end: u16,
    /// The address clients use to reach the node.
    pub node: SocketAddr,
}

/// One node's view of the cluster: its own address and which node serves
/// each of the 16,384 slots.
#[derive(Debug, Clone)]
pub struct Cluster {
    // TODO: this node's address and the slot ranges.
}

impl Cluster {
    /// The view of node `me` in a cluster of `nodes` (at least one), whose
    /// slots are split as `redis-cli --cluster create` splits them: node `i`
    /// of `n` serves one contiguous range, from slot `round(i * 16384 / n)`
    /// to the slot before node `i + 1`'s first (the last node: to 16383),
    /// where `round` rounds to the nearest integer (halves up).
    pub fn new(me: SocketAddr, nodes: &[SocketAddr]) -> Cluster {
        // TODO: one SlotRange per node; round with integers only.
        todo!()
    }

    /// This node's address.
    pub fn me(&self) -> SocketAddr {
        todo!()
    }

    /// The slot ranges, one per node, in the order the nodes were given.
    pub fn ranges(&self) -> &[SlotRange] {
        todo!()
    }

    /// The node that serves `slot` (which must be below 16,384).
    pub fn node_for_slot(&self, slot: u16) -> SocketAddr {
        todo!()
    }

    /// Decides where a command runs. `args` is the request: the command's
    /// name (any case), then its arguments. Returns `None` when this node
    /// runs it: the command names no key (see [`command_keys`]), or all its
    /// keys are in slots this node serves. Otherwise the error reply to send:
    ///
    /// - `-CROSSSLOT Keys in request don't hash to the same slot` when its
    ///   keys are in more than one slot (checked first);
    /// - `-MOVED <slot> <ip>:<port>` with the keys' slot and the address of
    ///   the node that serves it.
    pub fn route(&self, args: &[Bytes]) -> Option<Frame> {
        // TODO: the keys' slots, then the node that serves them.
        todo!()
    }

    /// The reply to `CLUSTER SLOTS`: an array with one entry per range, in
    /// slot order; each entry an array of the start (integer), the end
    /// (integer), and the serving node as an array of its IP (bulk string),
    /// port (integer) and [`node_id`] (bulk string).
    pub fn slots_reply(&self) -> Frame {
        todo!()
    }

    /// The text of `CLUSTER NODES`: one line per node, in the order the
    /// nodes were given, each ended by `\n`, with these fields separated by
    /// one space:
    ///
    /// `<id> <ip>:<port>@<port + 10000> <flags> - 0 0 <epoch> connected <start>-<end>`
    ///
    /// where `<id>` is [`node_id`], `<flags>` is `myself,master` for this
    /// node and `master` for the others, and `<epoch>` is the node's
    /// position in the list, counting from 1.
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
