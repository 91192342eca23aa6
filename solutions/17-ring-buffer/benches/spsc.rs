//! Messages per second from one producer thread to one consumer thread,
//! through this chapter's SPSC queue, crossbeam's `ArrayQueue` and std's
//! `sync_channel`, all with room for 1024 values.
//!
//! `cargo bench -p solution-17 --bench spsc` runs the three in turn, RUNS rounds,
//! and prints min, median and max in millions of messages per second.
//!
//! The two lock-free queues never block: a full push or an empty pop spins
//! a little and then yields the thread (on a machine with fewer free cores
//! than threads, pure spinning would waste whole time slices).

use std::hint::black_box;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use exercise_17::spsc;

const MESSAGES: u64 = 2_000_000;
const CAPACITY: usize = 1024;
const RUNS: usize = 11;

/// One timed transfer of MESSAGES values.
type Run = fn() -> Duration;

/// Waits a little: a few spins first, then gives the core away.
fn backoff(spins: &mut u32) {
    if *spins < 64 {
        std::hint::spin_loop();
        *spins += 1;
    } else {
        thread::yield_now();
    }
}

fn ring() -> Duration {
    let (mut tx, mut rx) = spsc::<u64>(CAPACITY);
    let start = Instant::now();
    let producer = thread::spawn(move || {
        for i in 0..MESSAGES {
            let mut value = i;
            let mut spins = 0;
            while let Err(back) = tx.push(value) {
                value = back;
                backoff(&mut spins);
            }
        }
    });
    let mut sum = 0u64;
    let mut received = 0;
    while received < MESSAGES {
        let mut spins = 0;
        loop {
            if let Some(value) = rx.pop() {
                sum = sum.wrapping_add(value);
                received += 1;
                break;
            }
            backoff(&mut spins);
        }
    }
    producer.join().unwrap();
    black_box(sum);
    start.elapsed()
}

fn array_queue() -> Duration {
    let queue = Arc::new(ArrayQueue::<u64>::new(CAPACITY));
    let start = Instant::now();
    let producer = {
        let queue = Arc::clone(&queue);
        thread::spawn(move || {
            for i in 0..MESSAGES {
                let mut value = i;
                let mut spins = 0;
                while let Err(back) = queue.push(value) {
                    value = back;
                    backoff(&mut spins);
                }
            }
        })
    };
    let mut sum = 0u64;
    let mut received = 0;
    while received < MESSAGES {
        let mut spins = 0;
        loop {
            if let Some(value) = queue.pop() {
                sum = sum.wrapping_add(value);
                received += 1;
                break;
            }
            backoff(&mut spins);
        }
    }
    producer.join().unwrap();
    black_box(sum);
    start.elapsed()
}

fn sync_channel() -> Duration {
    let (tx, rx) = mpsc::sync_channel::<u64>(CAPACITY);
    let start = Instant::now();
    let producer = thread::spawn(move || {
        for i in 0..MESSAGES {
            tx.send(i).unwrap();
        }
    });
    let mut sum = 0u64;
    for value in rx.iter() {
        sum = sum.wrapping_add(value);
    }
    producer.join().unwrap();
    black_box(sum);
    start.elapsed()
}

fn main() {
    // `cargo test --benches` passes --bench too; `cargo bench` passes --bench.
    // Under plain `cargo test` (no --bench) there is nothing to do.
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    println!(
        "{MESSAGES} u64 messages, capacity {CAPACITY}, {RUNS} rounds, \
         million messages per second (min / median / max)"
    );
    let queues: [(&str, Run); 3] = [
        ("exercise_17::spsc", ring),
        ("crossbeam_queue::ArrayQueue", array_queue),
        ("std::sync::mpsc::sync_channel", sync_channel),
    ];
    // Round robin, one run of each queue per round, so that a burst of
    // other work on the machine hits all three alike.
    let mut rates = vec![Vec::new(); queues.len()];
    for _ in 0..RUNS {
        for (rates, (_, run)) in rates.iter_mut().zip(&queues) {
            rates.push(MESSAGES as f64 / run().as_secs_f64() / 1e6);
        }
    }
    for (rates, (name, _)) in rates.iter_mut().zip(&queues) {
        rates.sort_by(f64::total_cmp);
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} |",
            rates[0],
            rates[RUNS / 2],
            rates[RUNS - 1]
        );
    }
}
