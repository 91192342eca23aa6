//! A fast analyser of web-server access logs. The slow one is given in
//! `src/given.rs`, with the log format, the [`Report`] and a log generator:
//! your [`analyse`] must give exactly the report [`analyse_slow`] gives,
//! malformed lines included, and be several times faster.
//!
//! Measure before you change anything (the chapter's `compare.sh` and the
//! benchmark show how); the tests check only that the answer is right.

// The given code is the exercise's own file.
#[path = "../../../exercises/20-log-analyser/src/given.rs"]
pub mod given;

pub use given::{Report, analyse_slow, days_from_civil, generate_log};

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Read};
use std::sync::mpsc::{self, TrySendError};
use std::thread;

/// The bytes asked for in one `read`: large enough that handing a block to
/// the other thread costs nothing next to analysing it (a file in the page
/// cache gives about 2,600 lines per read), small enough that the blocks in
/// flight stay in the CPU's cache (1 MiB blocks were slower).
const BLOCK: usize = 256 * 1024;

/// Reads the whole log from `reader` and returns its [`Report`], with the
/// `top` most frequent client addresses and paths. The report equals
/// `analyse_slow(reader, top)` for every input: malformed lines are counted,
/// never a panic. An error from `reader` is returned.
// ANCHOR: analyse
pub fn analyse<R: Read>(reader: R, top: usize) -> io::Result<Report> {
    let mut reader = reader;
    thread::scope(|scope| {
        // Blocks of whole lines go to a helper thread through a channel of
        // one place; the helper sends each block back empty, to be reused.
        let (full_tx, full_rx) = mpsc::sync_channel::<Block>(1);
        let (empty_tx, empty_rx) = mpsc::channel::<Block>();
        let helper = scope.spawn(move || {
            let mut counts = Counts::new();
            for block in full_rx {
                counts.block(block.text());
                // The reading thread may have stopped on an error already.
                let _ = empty_tx.send(block);
            }
            counts
        });

        let mut counts = Counts::new();
        let mut block = Block::default();
        let mut spare = None;
        let result = loop {
            let eof = match block.fill(&mut reader) {
                Ok(eof) => eof,
                Err(e) => break Err(e),
            };
            // The block's lines end at its last '\n'; the bytes after it
            // start the next block. At the end of the input they are a last
            // line without '\n'.
            let end = if eof {
                block.len
            } else {
                match memchr::memrchr(b'\n', &block.bytes[block.scanned..block.len]) {
                    Some(i) => block.scanned + i + 1,
                    None => {
                        // No '\n' yet (a short read, or a line longer than
                        // a block): read more into the same block.
                        block.scanned = block.len;
                        continue;
                    }
                }
            };
            let mut next = spare
                .take()
                .or_else(|| empty_rx.try_recv().ok())
                .unwrap_or_default();
            next.start_with(&block.bytes[end..block.len]);
            block.len = end;
            // The helper takes the block if it has room for it; if it is
            // still busy, this thread analyses the block itself. Either way
            // no thread waits while there is work. (Disconnected: the helper
            // panicked; `join` below passes its panic on.)
            match full_tx.try_send(block) {
                Ok(()) => {}
                Err(TrySendError::Full(b) | TrySendError::Disconnected(b)) => {
                    counts.block(b.text());
                    spare = Some(b);
                }
            }
            block = next;
            if eof {
                break Ok(());
            }
        };
        // Closing the channel ends the helper's loop.
        drop(full_tx);
        let helper_counts = helper
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        result?;
        counts.merge(helper_counts);
        Ok(counts.into_report(top))
    })
}
// ANCHOR_END: analyse

/// A buffer of bytes read from the input: `bytes[..len]` hold data, of
/// which `bytes[..scanned]` are known to hold no '\n'.
#[derive(Default)]
struct Block {
    bytes: Vec<u8>,
    len: usize,
    scanned: usize,
}

impl Block {
    /// The block's complete lines.
    fn text(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Starts the block with `rest`, the unfinished line of the last one.
    fn start_with(&mut self, rest: &[u8]) {
        if self.bytes.len() < rest.len() {
            self.bytes.resize(rest.len(), 0);
        }
        self.bytes[..rest.len()].copy_from_slice(rest);
        self.len = rest.len();
        self.scanned = 0;
    }

    /// Reads once, up to [`BLOCK`] bytes, after the bytes the block holds.
    /// Returns true at the end of the input.
    fn fill(&mut self, reader: &mut impl Read) -> io::Result<bool> {
        let target = self.len + BLOCK;
        if self.bytes.len() < target {
            // Zeroed once; a reused block is not zeroed again.
            self.bytes.resize(target, 0);
        }
        loop {
            match reader.read(&mut self.bytes[self.len..target]) {
                Ok(0) => return Ok(true),
                Ok(n) => {
                    self.len += n;
                    return Ok(false);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// FxHash (from rustc): one multiply per 8 bytes. SipHash, std's default,
/// resists hash flooding; a batch job over our own logs does not need that.
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            self.add(word);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // The last 1 to 7 bytes as one word: one multiply, not one each.
            self.add(rest.iter().fold(0, |word, &b| word << 8 | b as u64));
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.add(b as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_u128(&mut self, n: u128) {
        self.add(n as u64);
        self.add((n >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type Fx = BuildHasherDefault<FxHasher>;

/// A count per key (client address or path). A key of up to 15 bytes, the
/// usual case, is packed with its length into one `u128`: hashing and
/// comparing it are a few integer operations, where a `Box<[u8]>` key costs
/// a pointer to follow and a call of `memcmp`. Longer keys go to `long`.
#[derive(Default)]
struct KeyCounts {
    short: HashMap<u128, u64, Fx>,
    long: HashMap<Box<[u8]>, u64, Fx>,
}

impl KeyCounts {
    /// Adds `n` to `key`'s count; allocates only for a long key seen the
    /// first time.
    fn add(&mut self, key: &[u8], n: u64) {
        if key.len() < 16 {
            let bytes = key.iter().rev().fold(0, |word, &b| word << 8 | b as u128);
            let packed = bytes | (key.len() as u128) << 120;
            *self.short.entry(packed).or_insert(0) += n;
        } else if let Some(count) = self.long.get_mut(key) {
            *count += n;
        } else {
            self.long.insert(key.into(), n);
        }
    }

    fn merge(&mut self, other: KeyCounts) {
        for (key, n) in other.short {
            *self.short.entry(key).or_insert(0) += n;
        }
        for (key, n) in other.long {
            *self.long.entry(key).or_insert(0) += n;
        }
    }

    /// Every key with its count, short keys unpacked.
    fn into_vec(self) -> Vec<(Box<[u8]>, u64)> {
        let unpack = |packed: u128| {
            let len = (packed >> 120) as usize;
            packed.to_le_bytes()[..len].into()
        };
        let short = self.short.into_iter().map(|(k, n)| (unpack(k), n));
        short.chain(self.long).collect()
    }
}

struct Counts {
    lines: u64,
    malformed: u64,
    clients: KeyCounts,
    paths: KeyCounts,
    /// Indexed by the status code: no map needed for 100..=599.
    status: Vec<u64>,
    bytes_per_hour: HashMap<i64, u64, Fx>,
    /// The last `[DD/Mon/YYYY` parsed and its midnight (seconds since 1970,
    /// local time): consecutive lines share the day.
    last_day: [u8; 12],
    last_midnight: i64,
}

impl Counts {
    fn new() -> Counts {
        Counts {
            lines: 0,
            malformed: 0,
            clients: KeyCounts::default(),
            paths: KeyCounts::default(),
            status: vec![0; 600],
            bytes_per_hour: HashMap::default(),
            last_day: [0; 12],
            last_midnight: 0,
        }
    }

    /// Counts every line of `text`, which ends with a '\n' unless it is the
    /// end of the input.
    fn block(&mut self, mut text: &[u8]) {
        loop {
            match std::str::from_utf8(text) {
                // The usual case: one UTF-8 check for many lines (a line of
                // a UTF-8 text is UTF-8), and memchr, which looks for '\n'
                // 16 or 32 bytes at a time with SIMD instructions.
                Ok(_) => {
                    let mut start = 0;
                    for end in memchr::memchr_iter(b'\n', text) {
                        self.line(&text[start..end]);
                        start = end + 1;
                    }
                    // The last line of the input may have no '\n'.
                    if start < text.len() {
                        self.line(&text[start..]);
                    }
                    return;
                }
                // A byte that is not UTF-8: the lines before its line are
                // counted, its line is malformed, and the check goes on
                // after it.
                Err(e) => {
                    let bad = e.valid_up_to();
                    let start = memchr::memrchr(b'\n', &text[..bad]).map_or(0, |i| i + 1);
                    let end =
                        memchr::memchr(b'\n', &text[bad..]).map_or(text.len(), |i| bad + i + 1);
                    self.block(&text[..start]);
                    self.lines += 1;
                    self.malformed += 1;
                    text = &text[end..];
                }
            }
        }
    }

    /// Counts one line, without its '\n'; the caller checked it is UTF-8.
    fn line(&mut self, mut line: &[u8]) {
        if let Some(rest) = line.strip_suffix(b"\r") {
            line = rest;
        }
        self.lines += 1;
        match self.parse(line) {
            Some(entry) => {
                self.clients.add(entry.client, 1);
                self.paths.add(entry.path, 1);
                self.status[entry.status as usize] += 1;
                *self.bytes_per_hour.entry(entry.hour).or_insert(0) += entry.bytes;
            }
            None => self.malformed += 1,
        }
    }

    fn parse<'a>(&mut self, line: &'a [u8]) -> Option<Entry<'a>> {
        let [
            client,
            ident,
            user,
            date,
            zone,
            method,
            path,
            proto,
            status,
            bytes,
        ] = fields(line)?;
        if client.is_empty() || ident.is_empty() || user.is_empty() || path.is_empty() {
            return None;
        }
        if method.len() < 2 || method[0] != b'"' {
            return None;
        }
        if proto.len() < 2 || proto[proto.len() - 1] != b'"' {
            return None;
        }
        let status = match status {
            [a, b, c] => number(&[*a, *b, *c])?,
            _ => return None,
        };
        if !(100..=599).contains(&status) {
            return None;
        }
        let bytes = match bytes {
            b"-" => 0,
            b if b.len() <= 12 => number(b)? as u64,
            _ => return None,
        };
        // `[28/Nov/2026:10:15:32`: the day changes rarely from one line to
        // the next, so it is parsed once per change (the calendar took a
        // tenth of the time when it was parsed on every line).
        let (day, clock) = match date {
            [day @ .., b':', h1, h2, b':', m1, m2, b':', s1, s2] => {
                (day, time_of_day(&[*h1, *h2], &[*m1, *m2], &[*s1, *s2])?)
            }
            _ => return None,
        };
        let day: &[u8; 12] = day.try_into().ok()?;
        let midnight = if *day == self.last_day {
            self.last_midnight
        } else {
            let midnight = local_midnight(day)?;
            self.last_day = *day;
            self.last_midnight = midnight;
            midnight
        };
        // The zone changes from line to line in a log written by several
        // servers; four digits are cheap to parse each time.
        let offset = zone_offset(zone)?;
        let hour = (midnight + clock - offset).div_euclid(3_600);
        Some(Entry {
            client,
            path,
            status: status as u32,
            bytes,
            hour,
        })
    }

    /// Adds the counts of `other`, from another part of the same log.
    fn merge(&mut self, other: Counts) {
        self.lines += other.lines;
        self.malformed += other.malformed;
        self.clients.merge(other.clients);
        self.paths.merge(other.paths);
        for (mine, theirs) in self.status.iter_mut().zip(other.status) {
            *mine += theirs;
        }
        for (hour, bytes) in other.bytes_per_hour {
            *self.bytes_per_hour.entry(hour).or_insert(0) += bytes;
        }
    }

    fn into_report(self, top: usize) -> Report {
        let status = self
            .status
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(code, &n)| (code as u16, n))
            .collect();
        Report {
            lines: self.lines,
            malformed: self.malformed,
            top_clients: top_n(self.clients, top),
            top_paths: top_n(self.paths, top),
            status,
            bytes_per_hour: self.bytes_per_hour.into_iter().collect(),
        }
    }
}

struct Entry<'a> {
    client: &'a [u8],
    path: &'a [u8],
    status: u32,
    bytes: u64,
    hour: i64,
}

// ANCHOR: fields
/// The first ten fields of `line`, split at single spaces like
/// `line.split(' ')` (the tenth ends at the next space), or `None` if there
/// are fewer. It looks at 8 bytes at a time: byte by byte, this split was
/// the largest item of the profile.
fn fields(line: &[u8]) -> Option<[&[u8]; 10]> {
    let mut found = [&line[..0]; 10];
    let mut n = 0;
    let mut start = 0;
    let mut cut = |end: usize| {
        found[n] = &line[start..end];
        n += 1;
        start = end + 1;
        n == 10
    };
    let mut words = line.chunks_exact(8);
    for (w, word) in (&mut words).enumerate() {
        let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        // One bit (the top bit of its byte) for each space in the word.
        let mut spaces = zero_bytes(word ^ u64::from_le_bytes([b' '; 8]));
        while spaces != 0 {
            if cut(w * 8 + spaces.trailing_zeros() as usize / 8) {
                return Some(found);
            }
            spaces &= spaces - 1;
        }
    }
    let tail = line.len() - words.remainder().len();
    for (i, &b) in words.remainder().iter().enumerate() {
        if b == b' ' && cut(tail + i) {
            return Some(found);
        }
    }
    // The last field runs to the end of the line.
    (n == 9).then(|| {
        found[9] = &line[start..];
        found
    })
}

/// The top bit of each byte of `word` that is 0 is set, every other bit is
/// clear. No carry crosses from one byte to the next: `b & 0x7f` plus 0x7f
/// sets the top bit exactly when the low seven bits are not all 0.
fn zero_bytes(word: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((word & LOW7) + LOW7) | word | LOW7)
}
// ANCHOR_END: fields

/// The value of a non-empty run of ASCII digits (at most 12 of them).
fn number(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0i64, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + (d - b'0') as i64)
    })
}

/// `HH`, `MM`, `SS` to seconds since midnight.
fn time_of_day(h: &[u8], m: &[u8], s: &[u8]) -> Option<i64> {
    let (hour, minute, second) = (number(h)?, number(m)?, number(s)?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(hour * 3_600 + minute * 60 + second)
}

/// `[28/Nov/2026` to that day's midnight, in seconds since 1970 as if the
/// local time were UTC.
fn local_midnight(date: &[u8; 12]) -> Option<i64> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let [b'[', d1, d2, b'/', m1, m2, m3, b'/', y1, y2, y3, y4] = date else {
        return None;
    };
    let day = number(&[*d1, *d2])?;
    let month = MONTHS.iter().position(|m| *m == &[*m1, *m2, *m3])? as u32 + 1;
    let year = number(&[*y1, *y2, *y3, *y4])?;
    if !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day as u32) * 86_400)
}

/// `+0100]` to the offset from UTC in seconds (local time minus UTC).
fn zone_offset(zone: &[u8]) -> Option<i64> {
    let [sign, h1, h2, m1, m2, b']'] = zone else {
        return None;
    };
    let sign = match sign {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (hours, minutes) = (number(&[*h1, *h2])?, number(&[*m1, *m2])?);
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3_600 + minutes * 60))
}

/// The `top` keys with the highest counts: highest first, ties in
/// ascending byte order. Sorting only the winners: select_nth_unstable_by
/// moves the `top` best to the front in linear time.
fn top_n(counts: KeyCounts, top: usize) -> Vec<(String, u64)> {
    let mut all = counts.into_vec();
    let order =
        |a: &(Box<[u8]>, u64), b: &(Box<[u8]>, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0));
    if top == 0 {
        return Vec::new();
    }
    if all.len() > top {
        all.select_nth_unstable_by(top - 1, order);
        all.truncate(top);
    }
    all.sort_unstable_by(order);
    all.into_iter()
        // Every key passed the UTF-8 check of its line.
        .map(|(key, n)| (String::from_utf8_lossy(&key).into_owned(), n))
        .collect()
}
