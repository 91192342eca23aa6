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

/// Reads the whole log from `reader` and returns its [`Report`], with the
/// `top` most frequent client addresses and paths. The report equals
/// `analyse_slow(reader, top)` for every input: malformed lines are counted,
/// never a panic. An error from `reader` is returned.
// ANCHOR: analyse
pub fn analyse<R: Read>(reader: R, top: usize) -> io::Result<Report> {
    let mut reader = reader;
    let mut counts = Counts::default();
    // One buffer for the whole file: read a block, handle every complete
    // line in it, move the unfinished last line to the front, read again.
    let mut buf = vec![0u8; 256 * 1024];
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            // One line longer than the buffer: make room for the rest of it.
            buf.resize(buf.len() * 2, 0);
        }
        let n = match reader.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            // The end: a last line without '\n' still counts.
            if filled > 0 {
                counts.line(&buf[..filled]);
            }
            break;
        }
        let end = filled + n;
        // Only the new bytes can hold a '\n': the carried part had none.
        let mut start = 0;
        let mut search = filled;
        while let Some(i) = buf[search..end].iter().position(|&b| b == b'\n') {
            counts.line(&buf[start..search + i]);
            start = search + i + 1;
            search = start;
        }
        buf.copy_within(start..end, 0);
        filled = end - start;
    }
    Ok(counts.into_report(top))
}
// ANCHOR_END: analyse

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
        for &b in chunks.remainder() {
            self.add(b as u64);
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.add(b as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
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

type FastMap<V> = HashMap<Box<[u8]>, V, BuildHasherDefault<FxHasher>>;

#[derive(Default)]
struct Counts {
    lines: u64,
    malformed: u64,
    clients: FastMap<u64>,
    paths: FastMap<u64>,
    /// Indexed by the status code: no map needed for 100..=599.
    status: Vec<u64>,
    bytes_per_hour: HashMap<i64, u64, BuildHasherDefault<FxHasher>>,
    /// The last day and zone parsed, and that day's midnight in UTC
    /// (seconds since 1970): consecutive lines share them.
    last_day: Vec<u8>,
    last_zone: Vec<u8>,
    last_midnight: i64,
}

/// Adds 1 to `key`'s count; allocates only for a key seen the first time.
fn bump(map: &mut FastMap<u64>, key: &[u8]) {
    match map.get_mut(key) {
        Some(count) => *count += 1,
        None => {
            map.insert(key.into(), 1);
        }
    }
}

impl Counts {
    fn line(&mut self, mut line: &[u8]) {
        if let Some(rest) = line.strip_suffix(b"\r") {
            line = rest;
        }
        self.lines += 1;
        if std::str::from_utf8(line).is_err() {
            self.malformed += 1;
            return;
        }
        match self.parse(line) {
            Some(entry) => {
                bump(&mut self.clients, entry.client);
                bump(&mut self.paths, entry.path);
                if self.status.is_empty() {
                    self.status = vec![0; 600];
                }
                self.status[entry.status as usize] += 1;
                *self.bytes_per_hour.entry(entry.hour).or_insert(0) += entry.bytes;
            }
            None => self.malformed += 1,
        }
    }

    fn parse<'a>(&mut self, line: &'a [u8]) -> Option<Entry<'a>> {
        let mut fields = line.split(|&b| b == b' ');
        let mut field = || fields.next();
        let client = field().filter(|f| !f.is_empty())?;
        let ident = field()?;
        let user = field()?;
        if ident.is_empty() || user.is_empty() {
            return None;
        }
        let date = field()?;
        let zone = field()?;
        let method = field()?;
        let path = field().filter(|f| !f.is_empty())?;
        let protocol = field()?;
        let status = field()?;
        let bytes = field()?;
        if method.len() < 2 || method[0] != b'"' {
            return None;
        }
        if protocol.len() < 2 || protocol[protocol.len() - 1] != b'"' {
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
        // the next, so the day and the zone are parsed once per change
        // (about a third of the time went into the calendar before).
        let (day, clock) = match date {
            [day @ .., b':', h1, h2, b':', m1, m2, b':', s1, s2] => {
                (day, time_of_day(&[*h1, *h2], &[*m1, *m2], &[*s1, *s2])?)
            }
            _ => return None,
        };
        let midnight = if day == &self.last_day[..] && zone == &self.last_zone[..] {
            self.last_midnight
        } else {
            let midnight = utc_midnight(day, zone)?;
            self.last_day = day.to_vec();
            self.last_zone = zone.to_vec();
            self.last_midnight = midnight;
            midnight
        };
        let hour = (midnight + clock).div_euclid(3_600);
        Some(Entry {
            client,
            path,
            status: status as u32,
            bytes,
            hour,
        })
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

/// `[28/Nov/2026` and `+0100]` to the local midnight of that day in UTC,
/// in seconds since 1970.
fn utc_midnight(date: &[u8], zone: &[u8]) -> Option<i64> {
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
    let [sign, zh1, zh2, zm1, zm2, b']'] = zone else {
        return None;
    };
    let sign = match sign {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (zone_hours, zone_minutes) = (number(&[*zh1, *zh2])?, number(&[*zm1, *zm2])?);
    if zone_hours > 23 || zone_minutes > 59 {
        return None;
    }
    let local = days_from_civil(year, month, day as u32) * 86_400;
    Some(local - sign * (zone_hours * 3_600 + zone_minutes * 60))
}

/// The `top` keys with the highest counts: highest first, ties in
/// ascending byte order. Sorting only the winners: select_nth_unstable_by
/// moves the `top` best to the front in linear time.
fn top_n(counts: FastMap<u64>, top: usize) -> Vec<(String, u64)> {
    let mut all: Vec<(Box<[u8]>, u64)> = counts.into_iter().collect();
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
