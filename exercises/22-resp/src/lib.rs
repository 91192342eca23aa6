//! RESP, the Redis serialization protocol: an incremental decoder over a
//! `BytesMut` read buffer and an encoder for RESP2 and RESP3.
//!
//! Exercise 22: write `decode` and `encode`. The types, the limits and the
//! error messages are given.

use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;

/// One RESP value.
///
/// `Simple` and `Error` must not contain `\r` or `\n`: [`encode`] writes
/// each as a space.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+OK\r\n`
    Simple(String),
    /// `-ERR message\r\n` (the string holds `ERR message`)
    Error(String),
    /// `:42\r\n`
    Integer(i64),
    /// `$3\r\nfoo\r\n`: the bytes share the read buffer, no copy.
    Bulk(Bytes),
    /// `*2\r\n...`
    Array(Vec<Frame>),
    /// RESP2: `$-1\r\n` (and `*-1\r\n` decodes to `Null`); RESP3: `_\r\n`
    Null,
    /// RESP3 `#t\r\n` (RESP2: `:1` / `:0`)
    Boolean(bool),
    /// RESP3 `,3.14\r\n` (RESP2: a bulk string)
    Double(f64),
    /// RESP3 `%1\r\n...` (RESP2: a flat array k1 v1 k2 v2)
    Map(Vec<(Frame, Frame)>),
    /// RESP3 `~2\r\n...` (RESP2: an array)
    Set(Vec<Frame>),
    /// RESP3 `>3\r\n...`, out-of-band data such as pub/sub messages (RESP2: an array)
    Push(Vec<Frame>),
}

/// Which protocol a connection speaks: every connection starts in Resp2;
/// `HELLO 3` switches it to Resp3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2, what every connection speaks first.
    #[default]
    Resp2,
    /// RESP3, after `HELLO 3`.
    Resp3,
}

/// Limits that hostile input cannot exceed.
///
/// `Limits::default()`: `max_bulk_len` 512 MiB (Redis's `proto-max-bulk-len`),
/// `max_array_len` 2^31 - 1 elements (Redis refuses a longer multibulk),
/// `max_depth` 32 nested aggregates, `max_inline_len` 64 KiB (Redis's limit on
/// an inline command, used here for every line).
#[derive(Debug, Clone)]
pub struct Limits {
    /// The longest bulk string, in bytes.
    pub max_bulk_len: usize,
    /// The most elements of an array, set or push, or pairs of a map.
    pub max_array_len: usize,
    /// The most aggregates (arrays, maps, sets, pushes) nested in each other.
    pub max_depth: usize,
    /// The longest line (an inline command, or the text of a `+`, `-`, `:`,
    /// `,` or length line), not counting its line ending.
    pub max_inline_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_array_len: i32::MAX as usize,
            max_depth: 32,
            max_inline_len: 64 * 1024,
        }
    }
}

/// Why the input is not RESP. `Display` gives the text a server sends back
/// after `-ERR ` (Redis's wording where Redis has one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// A `$` length that is not a number, is negative (other than -1) or is
    /// over `max_bulk_len`.
    InvalidBulkLength,
    /// A `*`, `%`, `~` or `>` length that is not a number, is negative (other
    /// than `*-1`) or is over `max_array_len`.
    InvalidMultibulkLength,
    /// An inline command longer than `max_inline_len`.
    TooBigInlineRequest,
    /// Any other line longer than `max_inline_len`.
    LineTooLong,
    /// A line ends in a bare `\n`, or a bulk string's data is not followed by `\r\n`.
    MissingCrlf,
    /// A `:` line that is not a 64-bit integer.
    InvalidInteger,
    /// A `,` line that is not a floating-point number.
    InvalidDouble,
    /// A `#` line other than `t` or `f`.
    InvalidBoolean,
    /// A `_` line with something in it.
    InvalidNull,
    /// A `+` or `-` line that is not UTF-8.
    InvalidUtf8,
    /// More than `max_depth` aggregates nested in each other.
    TooDeep,
    /// An element of an aggregate that does not start with a type byte.
    UnexpectedByte(u8),
    /// A RESP3 type this crate does not model: `(` big number, `!` blob
    /// error, `=` verbatim string, `|` attribute.
    UnsupportedType(u8),
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Protocol error: ")?;
        match self {
            ProtocolError::InvalidBulkLength => f.write_str("invalid bulk length"),
            ProtocolError::InvalidMultibulkLength => f.write_str("invalid multibulk length"),
            ProtocolError::TooBigInlineRequest => f.write_str("too big inline request"),
            ProtocolError::LineTooLong => f.write_str("line too long"),
            ProtocolError::MissingCrlf => f.write_str("expected CRLF"),
            ProtocolError::InvalidInteger => f.write_str("invalid integer"),
            ProtocolError::InvalidDouble => f.write_str("invalid double"),
            ProtocolError::InvalidBoolean => f.write_str("invalid boolean"),
            ProtocolError::InvalidNull => f.write_str("invalid null"),
            ProtocolError::InvalidUtf8 => f.write_str("simple string is not UTF-8"),
            ProtocolError::TooDeep => f.write_str("nesting too deep"),
            ProtocolError::UnexpectedByte(b) => {
                write!(f, "expected a type byte, got '{}'", b.escape_ascii())
            }
            ProtocolError::UnsupportedType(b) => {
                write!(f, "unsupported RESP3 type '{}'", b.escape_ascii())
            }
        }
    }
}

impl std::error::Error for ProtocolError {}

/// Decodes one frame from the front of `buf` and removes its bytes.
///
/// `Ok(None)`: incomplete, `buf` untouched (call again after reading more);
/// blank inline lines before it, which Redis ignores, may have been removed.
/// A line that does not start with a RESP type byte is an inline command
/// (`PING\r\n`, `SET k v\r\n`, also ended by a bare `\n`): it decodes to
/// `Frame::Array` of `Frame::Bulk`, its words split at spaces and tabs.
/// Every `Frame::Bulk` shares `buf`'s memory. Nothing is allocated for a
/// length before the bytes it announces have arrived, and every limit is
/// checked as soon as the line that breaks it is read (or `max_inline_len`
/// bytes have arrived without a line ending).
pub fn decode(buf: &mut BytesMut, limits: &Limits) -> Result<Option<Frame>, ProtocolError> {
    // TODO: if the buffer starts with a RESP type byte, find out whether a
    // whole frame has arrived, without allocating and without trusting any
    // announced length; check every limit on the way.
    // TODO: when it has, take exactly its bytes out of `buf` and build the
    // Frame, with bulk strings as slices of those bytes.
    // TODO: otherwise it is an inline command: one line, split into words.
    todo!("decode one RESP frame")
}

/// Appends `frame` encoded for `proto` to `dst`.
///
/// On a Resp2 connection the RESP3 types are written as their RESP2
/// equivalents: `Null` as `$-1`, `Boolean` as `:1`/`:0`, `Double` as a bulk
/// string, `Map` as a flat array k1 v1 k2 v2, `Set` and `Push` as arrays.
/// A `\r` or `\n` inside `Simple` or `Error` is written as a space.
pub fn encode(frame: &Frame, proto: Protocol, dst: &mut BytesMut) {
    // TODO: write the type byte, the length or value, CRLF; recurse into
    // aggregates; on Resp2, write the RESP3 types as their RESP2 equivalents.
    todo!("encode a frame")
}
