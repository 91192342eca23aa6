//! RESP, the Redis serialization protocol: an incremental decoder over a
//! `BytesMut` read buffer and an encoder for RESP2 and RESP3.
//!
//! Chapter 22 builds this layer; chapter 23's cache server uses it as the
//! `resp` crate.

use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;

// ANCHOR: frame
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
// ANCHOR_END: frame

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

// ANCHOR: limits
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
// ANCHOR_END: limits

// ANCHOR: error
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
// ANCHOR_END: error

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

// ANCHOR: decode
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
    loop {
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        if !is_type_byte(first) {
            // An inline command: one line, words separated by blanks.
            let Some(end) = inline_end(buf, limits)? else {
                return Ok(None);
            };
            let line = buf.split_to(end).freeze();
            let words = split_words(&line);
            if words.is_empty() {
                continue; // a blank line: skip it, as Redis does
            }
            return Ok(Some(Frame::Array(words)));
        }
        // Pass 1: is a whole frame there? Scans without allocating.
        let Some(end) = check(buf, 0, 1, limits)? else {
            return Ok(None);
        };
        // Pass 2: take exactly its bytes (no copy) and build the frame;
        // bulk strings become slices of them.
        let bytes = buf.split_to(end).freeze();
        let mut pos = 0;
        return parse(&bytes, &mut pos, limits).map(Some);
    }
}
// ANCHOR_END: decode

/// The first bytes of RESP2 and RESP3 types; any other byte starts an inline
/// command (at the top level).
fn is_type_byte(b: u8) -> bool {
    matches!(
        b,
        b'+' | b'-'
            | b':'
            | b'$'
            | b'*'
            | b'_'
            | b'#'
            | b','
            | b'%'
            | b'~'
            | b'>'
            | b'('
            | b'!'
            | b'='
            | b'|'
    )
}

/// The end of an inline command's line (after its `\n`), or `None` if the
/// `\n` has not arrived yet.
fn inline_end(buf: &[u8], limits: &Limits) -> Result<Option<usize>, ProtocolError> {
    // The line (and its optional '\r') may hold max_inline_len bytes before the '\n'.
    let window = buf.len().min(limits.max_inline_len.saturating_add(1));
    match buf[..window].iter().position(|&b| b == b'\n') {
        Some(i) => Ok(Some(i + 1)),
        None if buf.len() > limits.max_inline_len => Err(ProtocolError::TooBigInlineRequest),
        None => Ok(None),
    }
}

/// The words of an inline command, as slices of `line`.
fn split_words(line: &Bytes) -> Vec<Frame> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, &b) in line.iter().enumerate() {
        let blank = matches!(b, b' ' | b'\t' | b'\r' | b'\n');
        match (start, blank) {
            (None, false) => start = Some(i),
            (Some(s), true) => {
                words.push(Frame::Bulk(line.slice(s..i)));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push(Frame::Bulk(line.slice(s..)));
    }
    words
}

// ANCHOR: line
/// Reads the line starting at `start`: its text (without `\r\n`) and the
/// position after it, or `None` if its end has not arrived.
fn line<'a>(
    buf: &'a [u8],
    start: usize,
    limits: &Limits,
) -> Result<Option<(&'a [u8], usize)>, ProtocolError> {
    let rest = buf.get(start..).unwrap_or_default();
    // Text of at most max_inline_len bytes, then '\r', then '\n'.
    let window = rest.len().min(limits.max_inline_len.saturating_add(2));
    match rest[..window].iter().position(|&b| b == b'\n') {
        Some(i) if i > 0 && rest[i - 1] == b'\r' => Ok(Some((&rest[..i - 1], start + i + 1))),
        Some(_) => Err(ProtocolError::MissingCrlf),
        None if rest.len() >= limits.max_inline_len.saturating_add(2) => {
            Err(ProtocolError::LineTooLong)
        }
        None => Ok(None),
    }
}
// ANCHOR_END: line

/// A decimal i64: an optional '-' and 1 to 19 digits, no '+', no blanks.
fn parse_i64(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    // Accumulate downwards so that i64::MIN fits.
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_sub(i64::from(d - b'0'))?;
    }
    if negative { Some(n) } else { n.checked_neg() }
}

fn parse_double(text: &[u8]) -> Option<f64> {
    match text {
        b"inf" | b"+inf" => Some(f64::INFINITY),
        b"-inf" => Some(f64::NEG_INFINITY),
        b"nan" | b"-nan" => Some(f64::NAN),
        _ => {
            // Rust also reads "infinity" and "NaN"; only digits, signs, '.'
            // and exponents are RESP3.
            let ok = !text.is_empty()
                && text
                    .iter()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
            if !ok {
                return None;
            }
            std::str::from_utf8(text).ok()?.parse().ok()
        }
    }
}

// ANCHOR: lengths
/// A bulk string's length: `None` for `$-1` (null), an error unless it is
/// a number in 0..=max_bulk_len.
fn bulk_len(text: &[u8], limits: &Limits) -> Result<Option<usize>, ProtocolError> {
    match parse_i64(text) {
        Some(-1) => Ok(None),
        Some(n) if n >= 0 && n as u64 <= limits.max_bulk_len as u64 => Ok(Some(n as usize)),
        _ => Err(ProtocolError::InvalidBulkLength),
    }
}

/// An aggregate's length: `None` for `*-1` (null), an error unless it is a
/// number in 0..=max_array_len.
fn aggregate_len(kind: u8, text: &[u8], limits: &Limits) -> Result<Option<usize>, ProtocolError> {
    match parse_i64(text) {
        Some(-1) if kind == b'*' => Ok(None),
        Some(n) if n >= 0 && n as u64 <= limits.max_array_len as u64 => Ok(Some(n as usize)),
        _ => Err(ProtocolError::InvalidMultibulkLength),
    }
}
// ANCHOR_END: lengths

// ANCHOR: check
/// Pass 1: checks that a whole, valid frame starts at `pos` and returns the
/// position after it, or `None` if more bytes are needed. Allocates nothing,
/// whatever the lengths announced.
fn check(
    buf: &[u8],
    pos: usize,
    depth: usize,
    limits: &Limits,
) -> Result<Option<usize>, ProtocolError> {
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    if !is_type_byte(kind) {
        return Err(ProtocolError::UnexpectedByte(kind));
    }
    if matches!(kind, b'(' | b'!' | b'=' | b'|') {
        return Err(ProtocolError::UnsupportedType(kind));
    }
    let Some((text, mut next)) = line(buf, pos + 1, limits)? else {
        return Ok(None);
    };
    match kind {
        b'+' | b'-' => {
            std::str::from_utf8(text).map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        b':' => {
            parse_i64(text).ok_or(ProtocolError::InvalidInteger)?;
        }
        b',' => {
            parse_double(text).ok_or(ProtocolError::InvalidDouble)?;
        }
        b'#' => {
            if text != b"t" && text != b"f" {
                return Err(ProtocolError::InvalidBoolean);
            }
        }
        b'_' => {
            if !text.is_empty() {
                return Err(ProtocolError::InvalidNull);
            }
        }
        b'$' => {
            if let Some(len) = bulk_len(text, limits)? {
                // The data, then "\r\n": wait for all of it, reserve nothing.
                let end = next + len + 2;
                if buf.len() < end {
                    return Ok(None);
                }
                if &buf[end - 2..end] != b"\r\n" {
                    return Err(ProtocolError::MissingCrlf);
                }
                next = end;
            }
        }
        _ => {
            // An aggregate: '*', '%', '~' or '>'.
            if depth > limits.max_depth {
                return Err(ProtocolError::TooDeep);
            }
            if let Some(len) = aggregate_len(kind, text, limits)? {
                let elements = if kind == b'%' {
                    len.saturating_mul(2)
                } else {
                    len
                };
                for _ in 0..elements {
                    match check(buf, next, depth + 1, limits)? {
                        Some(end) => next = end,
                        None => return Ok(None),
                    }
                }
            }
        }
    }
    Ok(Some(next))
}
// ANCHOR_END: check

// ANCHOR: parse
/// Pass 2: builds the frame at `*pos` of `src`, which `check` has accepted,
/// and moves `*pos` past it. Bulk strings are slices of `src`.
fn parse(src: &Bytes, pos: &mut usize, limits: &Limits) -> Result<Frame, ProtocolError> {
    let kind = src[*pos];
    let (text, next) = line(src, *pos + 1, limits)?.ok_or(ProtocolError::MissingCrlf)?;
    *pos = next;
    let utf8 = |t: &[u8]| String::from_utf8(t.to_vec()).map_err(|_| ProtocolError::InvalidUtf8);
    Ok(match kind {
        b'+' => Frame::Simple(utf8(text)?),
        b'-' => Frame::Error(utf8(text)?),
        b':' => Frame::Integer(parse_i64(text).ok_or(ProtocolError::InvalidInteger)?),
        b',' => Frame::Double(parse_double(text).ok_or(ProtocolError::InvalidDouble)?),
        b'#' => Frame::Boolean(text == b"t"),
        b'_' => Frame::Null,
        b'$' => match bulk_len(text, limits)? {
            None => Frame::Null,
            Some(len) => {
                let data = src.slice(next..next + len); // shares src: no copy
                *pos = next + len + 2;
                Frame::Bulk(data)
            }
        },
        _ => match aggregate_len(kind, text, limits)? {
            None => Frame::Null,
            Some(len) if kind == b'%' => {
                // check() saw every element, so len is backed by real bytes.
                let mut pairs = Vec::with_capacity(len);
                for _ in 0..len {
                    let key = parse(src, pos, limits)?;
                    let value = parse(src, pos, limits)?;
                    pairs.push((key, value));
                }
                Frame::Map(pairs)
            }
            Some(len) => {
                let mut items = Vec::with_capacity(len);
                for _ in 0..len {
                    items.push(parse(src, pos, limits)?);
                }
                match kind {
                    b'~' => Frame::Set(items),
                    b'>' => Frame::Push(items),
                    _ => Frame::Array(items),
                }
            }
        },
    })
}
// ANCHOR_END: parse

// ANCHOR: encode
/// Appends `frame` encoded for `proto` to `dst`.
///
/// On a Resp2 connection the RESP3 types are written as their RESP2
/// equivalents: `Null` as `$-1`, `Boolean` as `:1`/`:0`, `Double` as a bulk
/// string, `Map` as a flat array k1 v1 k2 v2, `Set` and `Push` as arrays.
/// A `\r` or `\n` inside `Simple` or `Error` is written as a space.
pub fn encode(frame: &Frame, proto: Protocol, dst: &mut BytesMut) {
    let resp3 = proto == Protocol::Resp3;
    match frame {
        Frame::Simple(s) => put_text(b'+', s, dst),
        Frame::Error(s) => put_text(b'-', s, dst),
        Frame::Integer(n) => put_header(b':', *n, dst),
        Frame::Bulk(data) => put_bulk(data, dst),
        Frame::Null if resp3 => dst.put_slice(b"_\r\n"),
        Frame::Null => dst.put_slice(b"$-1\r\n"),
        Frame::Boolean(b) if resp3 => dst.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
        Frame::Boolean(b) => put_header(b':', i64::from(*b), dst),
        Frame::Double(d) => {
            let text = format_double(*d);
            if resp3 {
                dst.put_u8(b',');
                dst.put_slice(text.as_bytes());
                dst.put_slice(b"\r\n");
            } else {
                put_bulk(text.as_bytes(), dst);
            }
        }
        Frame::Array(items) => put_aggregate(b'*', items, proto, dst),
        Frame::Set(items) => put_aggregate(if resp3 { b'~' } else { b'*' }, items, proto, dst),
        Frame::Push(items) => put_aggregate(if resp3 { b'>' } else { b'*' }, items, proto, dst),
        Frame::Map(pairs) => {
            if resp3 {
                put_header(b'%', pairs.len() as i64, dst);
            } else {
                put_header(b'*', 2 * pairs.len() as i64, dst);
            }
            for (key, value) in pairs {
                encode(key, proto, dst);
                encode(value, proto, dst);
            }
        }
    }
}
// ANCHOR_END: encode

fn put_text(kind: u8, text: &str, dst: &mut BytesMut) {
    dst.reserve(text.len() + 3);
    dst.put_u8(kind);
    if text.contains(['\r', '\n']) {
        dst.extend(
            text.bytes()
                .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
    } else {
        dst.put_slice(text.as_bytes());
    }
    dst.put_slice(b"\r\n");
}

fn put_bulk(data: &[u8], dst: &mut BytesMut) {
    dst.reserve(data.len() + 16);
    put_header(b'$', data.len() as i64, dst);
    dst.put_slice(data);
    dst.put_slice(b"\r\n");
}

fn put_aggregate(kind: u8, items: &[Frame], proto: Protocol, dst: &mut BytesMut) {
    put_header(kind, items.len() as i64, dst);
    for item in items {
        encode(item, proto, dst);
    }
}

/// `kind`, `n` in decimal, `\r\n`, without going through `fmt`.
fn put_header(kind: u8, n: i64, dst: &mut BytesMut) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut m = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    dst.reserve(24);
    dst.put_u8(kind);
    if n < 0 {
        dst.put_u8(b'-');
    }
    dst.put_slice(&digits[i..]);
    dst.put_slice(b"\r\n");
}

/// RESP3's spelling of a double: `inf`, `-inf`, `nan`, else the shortest
/// text that reads back as the same f64 (`{:?}` writes `1e300`, not 301 digits).
fn format_double(d: f64) -> String {
    if d.is_nan() {
        "nan".to_owned()
    } else if d.is_infinite() {
        if d > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        format!("{d:?}")
    }
}
