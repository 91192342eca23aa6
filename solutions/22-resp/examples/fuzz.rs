//! A bounded random-mutation fuzz run of `decode`, for a fixed time:
//!
//! ```text
//! cargo run --release -p solution-22 --example fuzz -- 10
//! ```
//!
//! Inputs are valid encodings of random frames, mutated (bytes replaced,
//! deleted, inserted, digits of lengths changed), and plain random bytes.
//! For each input it checks:
//! - `decode` never panics;
//! - decoding the input split in two at a random point gives the same frames
//!   and the same final result (a frame, `Ok(None)` or the same error) as
//!   decoding it whole: the decoder does not depend on how reads fall;
//! - no single allocation is larger than the input can justify (one
//!   `Frame` per input byte, plus 64 KiB): announced lengths are not trusted;
//! - under small limits every error is a `ProtocolError`, too.
//!
//! Deterministic: the same seed gives the same inputs (pass one as the
//! second argument).

use std::alloc::{GlobalAlloc, Layout, System};
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use exercise_22::{Frame, Limits, Protocol, ProtocolError, decode, encode};

/// The largest single allocation since the last reset.
static LARGEST: AtomicUsize = AtomicUsize::new(0);

struct LargestAlloc;

// SAFETY: every call is passed on unchanged to the system allocator; the
// wrapper only records the largest size in an atomic.
unsafe impl GlobalAlloc for LargestAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: ptr comes from System (every allocation goes through here).
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for realloc.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: LargestAlloc = LargestAlloc;

/// xorshift64*: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const INTERESTING: &[&[u8]] = &[
    b"*",
    b"$",
    b":",
    b"+",
    b"-",
    b"_",
    b"#",
    b",",
    b"%",
    b"~",
    b">",
    b"\r\n",
    b"\n",
    b"\r",
    b"-1",
    b"-2",
    b"0",
    b"536870913",
    b"2147483648",
    b"9223372036854775808",
    b"*1\r\n",
    b"PING",
    b" ",
    b"\0",
    b"\xff",
    b"inf",
    b"nan",
];

fn random_frame(rng: &mut Rng, depth: usize) -> Frame {
    let kind = if depth > 3 {
        rng.below(4)
    } else {
        rng.below(11)
    };
    let items = |rng: &mut Rng| -> Vec<Frame> {
        (0..rng.below(4))
            .map(|_| random_frame(rng, depth + 1))
            .collect()
    };
    match kind {
        0 => Frame::Simple("OK".into()),
        1 => Frame::Error("ERR x".into()),
        2 => Frame::Integer(rng.next() as i64 >> rng.below(64)),
        3 => Frame::Bulk(
            (0..rng.below(10))
                .map(|_| rng.next() as u8)
                .collect::<Vec<u8>>()
                .into(),
        ),
        4 => Frame::Array(items(rng)),
        5 => Frame::Null,
        6 => Frame::Boolean(rng.below(2) == 0),
        7 => Frame::Double(rng.below(1000) as f64 / 7.0),
        8 => {
            let items = items(rng);
            Frame::Map(items.into_iter().map(|f| (f.clone(), f)).collect())
        }
        9 => Frame::Set(items(rng)),
        _ => Frame::Push(items(rng)),
    }
}

fn input(rng: &mut Rng) -> Vec<u8> {
    let mut bytes = Vec::new();
    if rng.below(8) == 0 {
        // Plain random bytes, mostly from the RESP alphabet.
        for _ in 0..rng.below(64) {
            let piece = INTERESTING[rng.below(INTERESTING.len())];
            bytes.extend_from_slice(piece);
        }
        return bytes;
    }
    // Valid frames (and sometimes inline commands), then mutations.
    let mut buf = BytesMut::new();
    for _ in 0..=rng.below(3) {
        if rng.below(5) == 0 {
            buf.extend_from_slice(b"SET key value\r\n");
        } else {
            let proto = if rng.below(2) == 0 {
                Protocol::Resp2
            } else {
                Protocol::Resp3
            };
            encode(&random_frame(rng, 0), proto, &mut buf);
        }
    }
    bytes.extend_from_slice(&buf);
    for _ in 0..rng.below(4) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.below(bytes.len());
        match rng.below(4) {
            0 => bytes[at] = rng.next() as u8,
            1 => {
                bytes.remove(at);
            }
            2 => {
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                bytes.splice(at..at, piece.iter().copied());
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

/// What decoding a stream gives: its frames, then how it stopped.
#[derive(Debug, PartialEq)]
struct Outcome {
    frames: Vec<Frame>,
    end: Result<(), ProtocolError>,
}

/// Decodes `input` arriving in two reads, cut at `cut`.
fn run(input: &[u8], cut: usize, limits: &Limits) -> Outcome {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for part in [&input[..cut], &input[cut..]] {
        buf.extend_from_slice(part);
        loop {
            match decode(&mut buf, limits) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(e) => {
                    return Outcome {
                        frames,
                        end: Err(e),
                    };
                }
            }
        }
    }
    Outcome {
        frames,
        end: Ok(()),
    }
}

/// Frames compared by value, NaN included (NaN != NaN for f64).
fn same(a: &Outcome, b: &Outcome) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10.0);
    let seed: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(0x22);
    let mut rng = Rng(seed | 1);
    let small = Limits {
        max_bulk_len: 8,
        max_array_len: 4,
        max_depth: 2,
        max_inline_len: 16,
    };
    let default = Limits::default();
    // Panics are caught and reported with their input, not printed twice.
    panic::set_hook(Box::new(|_| {}));

    let started = Instant::now();
    let deadline = Duration::from_secs_f64(seconds);
    let (mut tried, mut frames, mut errors) = (0u64, 0u64, 0u64);
    while started.elapsed() < deadline {
        for _ in 0..256 {
            let input = input(&mut rng);
            let cut = rng.below(input.len() + 1);
            LARGEST.store(0, Ordering::Relaxed);
            let result = panic::catch_unwind(AssertUnwindSafe(|| {
                let whole = run(&input, input.len(), &default);
                let split = run(&input, cut, &default);
                let _ = run(&input, cut, &small);
                (whole, split)
            }));
            tried += 1;
            let shown = input.escape_ascii();
            let Ok((whole, split)) = result else {
                println!("FAILED: decode panicked on {shown} (cut at {cut})");
                return ExitCode::FAILURE;
            };
            if !same(&whole, &split) {
                println!("FAILED: {shown}: whole {whole:?}, cut at {cut} {split:?}");
                return ExitCode::FAILURE;
            }
            let largest = LARGEST.load(Ordering::Relaxed);
            // Frames are built only from bytes that arrived: a Vec<Frame>
            // holds at most one element per 3 input bytes.
            let bound = input.len() * std::mem::size_of::<Frame>() + 64 * 1024;
            if largest > bound {
                println!("FAILED: {shown}: an allocation of {largest} bytes");
                return ExitCode::FAILURE;
            }
            frames += whole.frames.len() as u64;
            errors += u64::from(whole.end.is_err());
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "fuzz: {tried} inputs in {elapsed:.1} s ({frames} frames decoded, {errors} protocol errors), \
         no panic, split = whole, no large allocation (seed {seed})"
    );
    ExitCode::SUCCESS
}
