//! Parse throughput of a pipelined SET/GET stream: this crate's `decode`
//! against the `redis-protocol` crate's (v6) `decode_bytes_mut`, which also
//! returns frames that share the buffer. Run by bench.sh:
//!
//! ```text
//! cargo run --release -p solution-22 --features compare --example throughput
//! ```
//!
//! The stream is what `redis-benchmark -t set,get -P 16` sends: SET key:N
//! with a 3-byte value, then GET key:N, as RESP arrays. Each run decodes the
//! whole stream from a fresh copy of it (the copy is not timed); the two
//! parsers take turns, 9 runs each.

use std::hint::black_box;
use std::time::Instant;

use bytes::BytesMut;
use exercise_22::{Limits, decode};

const PAIRS: usize = 100_000;
const RUNS: usize = 9;

fn stream() -> BytesMut {
    let mut buf = BytesMut::new();
    for i in 0..PAIRS {
        let key = format!("key:{i:012}");
        buf.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$3\r\nxxx\r\n",
                key.len()
            )
            .as_bytes(),
        );
        buf.extend_from_slice(format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).as_bytes());
    }
    buf
}

/// Decodes every frame of a fresh copy of `input` with `parse`; returns the
/// throughput in GB/s.
fn once(input: &BytesMut, parse: &mut impl FnMut(&mut BytesMut) -> usize) -> f64 {
    let mut buf = input.clone();
    let started = Instant::now();
    let frames = parse(&mut buf);
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(frames, 2 * PAIRS, "every command decoded");
    input.len() as f64 / seconds / 1e9
}

fn report(name: &str, rates: &[f64]) {
    println!(
        "{name:<32} min {:.3}  median {:.3}  max {:.3} GB/s",
        rates[0],
        rates[rates.len() / 2],
        rates[rates.len() - 1]
    );
}

fn main() {
    let input = stream();
    println!(
        "{} pipelined commands (SET/GET), {:.1} MB, {RUNS} runs each",
        2 * PAIRS,
        input.len() as f64 / 1e6
    );
    let limits = Limits::default();
    let mut ours = |buf: &mut BytesMut| {
        let mut n = 0;
        while let Some(frame) = decode(buf, &limits).expect("valid stream") {
            black_box(frame);
            n += 1;
        }
        n
    };
    let mut theirs = |buf: &mut BytesMut| {
        let mut n = 0;
        while let Some((frame, _, _)) =
            redis_protocol::resp2::decode::decode_bytes_mut(buf).expect("valid stream")
        {
            black_box(frame);
            n += 1;
        }
        n
    };
    // The two parsers take turns, so that other work on the machine slows
    // both alike.
    let (mut ours_rates, mut theirs_rates) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        ours_rates.push(once(&input, &mut ours));
        theirs_rates.push(once(&input, &mut theirs));
    }
    ours_rates.sort_by(f64::total_cmp);
    theirs_rates.sort_by(f64::total_cmp);
    let (ours, theirs) = (ours_rates, theirs_rates);
    report("exercise_22::decode", &ours);
    report("redis-protocol 6 decode_bytes_mut", &theirs);
    println!(
        "ratio (median): {:.2}x",
        ours[ours.len() / 2] / theirs[theirs.len() / 2]
    );
}
