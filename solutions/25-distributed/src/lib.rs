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

// The given files are the exercise's own.
#[path = "../../../exercises/25-distributed/src/hash.rs"]
mod hash;
#[path = "../../../exercises/25-distributed/src/node.rs"]
mod node;

pub use hash::hash64;
pub use node::{node_id, serve_node};

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use resp::Frame;

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
    me: SocketAddr,
    // One range per node, in the order of the nodes, covering 0..16384.
    ranges: Vec<SlotRange>,
}
// ANCHOR_END: slot_range

impl Cluster {
    // ANCHOR: new
    /// The view of node `me` in a cluster of `nodes` (at least one), whose
    /// slots are split as `redis-cli --cluster create` splits them: node `i`
    /// of `n` serves one contiguous range, from slot `round(i * 16384 / n)`
    /// to the slot before node `i + 1`'s first (the last node: to 16383),
    /// where `round` rounds to the nearest integer (halves up).
    pub fn new(me: SocketAddr, nodes: &[SocketAddr]) -> Cluster {
        let n = nodes.len() as u32;
        let slots = u32::from(SLOTS);
        // Rounded to the nearest, as redis-cli does: 3 nodes get
        // 0-5460, 5461-10922 and 10923-16383.
        let first = |i: u32| (2 * i * slots + n) / (2 * n);
        let ranges = nodes
            .iter()
            .zip(0..)
            .map(|(&node, i)| SlotRange {
                start: first(i) as u16,
                // The range ends where the next one starts, minus one.
                end: (first(i + 1) - 1) as u16,
                node,
            })
            .collect();
        Cluster { me, ranges }
    }
    // ANCHOR_END: new

    /// This node's address.
    pub fn me(&self) -> SocketAddr {
        self.me
    }

    /// The slot ranges, one per node, in the order the nodes were given.
    pub fn ranges(&self) -> &[SlotRange] {
        &self.ranges
    }

    /// The node that serves `slot` (which must be below 16,384).
    pub fn node_for_slot(&self, slot: u16) -> SocketAddr {
        // The ranges are sorted and contiguous: the last one that starts at
        // or before the slot holds it.
        let i = self.ranges.partition_point(|r| r.start <= slot);
        self.ranges[i.saturating_sub(1)].node
    }

    // ANCHOR: route
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
        let keys = command_keys(args);
        let (first, rest) = keys.split_first()?;
        let slot = key_slot(first);
        if rest.iter().any(|key| key_slot(key) != slot) {
            return Some(Frame::Error(
                "CROSSSLOT Keys in request don't hash to the same slot".into(),
            ));
        }
        let owner = self.node_for_slot(slot);
        if owner == self.me {
            None
        } else {
            Some(Frame::Error(format!("MOVED {slot} {owner}")))
        }
    }
    // ANCHOR_END: route

    // ANCHOR: slots_reply
    /// The reply to `CLUSTER SLOTS`: an array with one entry per range, in
    /// slot order; each entry an array of the start (integer), the end
    /// (integer), and the serving node as an array of its IP (bulk string),
    /// port (integer) and [`node_id`] (bulk string).
    pub fn slots_reply(&self) -> Frame {
        let mut ranges = self.ranges.clone();
        ranges.sort_by_key(|r| r.start);
        let entries = ranges
            .iter()
            .map(|r| {
                Frame::Array(vec![
                    Frame::Integer(i64::from(r.start)),
                    Frame::Integer(i64::from(r.end)),
                    Frame::Array(vec![
                        Frame::Bulk(Bytes::from(r.node.ip().to_string())),
                        Frame::Integer(i64::from(r.node.port())),
                        Frame::Bulk(Bytes::from(node_id(r.node))),
                    ]),
                ])
            })
            .collect();
        Frame::Array(entries)
    }
    // ANCHOR_END: slots_reply

    // ANCHOR: nodes_reply
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
        let mut text = String::new();
        for (r, epoch) in self.ranges.iter().zip(1..) {
            let flags = if r.node == self.me {
                "myself,master"
            } else {
                "master"
            };
            // The cluster bus port is the client port + 10000 in Redis;
            // nothing listens on it here, but clients parse the field.
            let bus = u32::from(r.node.port()) + 10_000;
            text.push_str(&format!(
                "{} {}:{}@{bus} {flags} - 0 0 {epoch} connected {}-{}\n",
                node_id(r.node),
                r.node.ip(),
                r.node.port(),
                r.start,
                r.end
            ));
        }
        text
    }
    // ANCHOR_END: nodes_reply
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
