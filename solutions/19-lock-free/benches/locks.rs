//! Lock/unlock pairs per second through `std::sync::Mutex` and
//! `parking_lot::Mutex`, with 1, 2 and 4 threads sharing one lock.
//!
//! `cargo bench -p solution-19 --bench locks` runs every combination RUNS
//! times (interleaved, so that a burst of load elsewhere hits all of them)
//! and prints min, median and max in millions of pairs per second.
//! `cargo bench -p solution-19 --bench locks -- parking_lot` runs only the
//! locks whose name contains `parking_lot` (to profile one lock alone, e.g.
//! under `perf stat -e context-switches`).
//!
//! Each thread locks, adds one to the counter and unlocks, PAIRS / threads
//! times: the total work is the same whatever the number of threads. The
//! critical section is tiny on purpose; this measures the locks themselves.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

const PAIRS: u64 = 20_000_000;
const RUNS: usize = 7;

/// What the benchmark needs from a lock around a counter.
trait Counter: Send + Sync + 'static {
    fn add_one(&self);
    fn get(&self) -> u64;
}

impl Counter for std::sync::Mutex<u64> {
    fn add_one(&self) {
        *self.lock().unwrap() += 1;
    }
    fn get(&self) -> u64 {
        *self.lock().unwrap()
    }
}

impl Counter for parking_lot::Mutex<u64> {
    fn add_one(&self) {
        *self.lock() += 1;
    }
    fn get(&self) -> u64 {
        *self.lock()
    }
}

/// One timed run: `threads` threads, each doing its share of the pairs.
fn run<C: Counter>(counter: C, threads: u64) -> Duration {
    let counter = Arc::new(counter);
    let start_line = Arc::new(Barrier::new(threads as usize + 1));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let counter = Arc::clone(&counter);
            let start_line = Arc::clone(&start_line);
            thread::spawn(move || {
                start_line.wait();
                for _ in 0..PAIRS / threads {
                    counter.add_one();
                }
            })
        })
        .collect();
    start_line.wait();
    let start = Instant::now();
    for worker in workers {
        worker.join().expect("a benchmark thread panicked");
    }
    let elapsed = start.elapsed();
    // The count proves that every increment happened under the lock.
    assert_eq!(counter.get(), PAIRS / threads * threads, "lost increments");
    elapsed
}

fn main() {
    let names = ["std::sync::Mutex", "parking_lot::Mutex"];
    // `cargo bench` passes `--bench`; any other argument selects locks.
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with("--"));
    let wanted = |lock: usize| {
        filter
            .as_ref()
            .is_none_or(|f| names[lock].contains(f.as_str()))
    };
    let thread_counts = [1, 2, 4];
    // rates[lock][threads] = millions of pairs per second, one per run.
    let mut rates = vec![vec![Vec::new(); thread_counts.len()]; names.len()];
    for _ in 0..RUNS {
        for (t, &threads) in thread_counts.iter().enumerate() {
            if wanted(0) {
                let took = run(std::sync::Mutex::new(0u64), threads);
                rates[0][t].push(PAIRS as f64 / took.as_secs_f64() / 1e6);
            }
            if wanted(1) {
                let took = run(parking_lot::Mutex::new(0u64), threads);
                rates[1][t].push(PAIRS as f64 / took.as_secs_f64() / 1e6);
            }
        }
    }
    println!("million lock/unlock pairs per second, {RUNS} runs: min / median / max");
    for (lock, name) in names.iter().enumerate() {
        if !wanted(lock) {
            continue;
        }
        for (t, threads) in thread_counts.iter().enumerate() {
            let runs = &mut rates[lock][t];
            runs.sort_by(f64::total_cmp);
            println!(
                "{name:<20} {threads} threads: {:6.1} / {:6.1} / {:6.1}",
                runs[0],
                runs[runs.len() / 2],
                runs[runs.len() - 1]
            );
        }
    }
}
