//! Push/pop pairs per second through this chapter's Treiber stack, a
//! `Mutex<Vec<u64>>` and crossbeam-queue's `SegQueue`, with 1, 2 and 4
//! threads sharing one structure.
//!
//! `cargo bench -p solution-19 --bench stack` runs every combination RUNS
//! times (interleaved, so that a burst of load elsewhere hits all of them)
//! and prints min, median and max in millions of pairs per second.
//!
//! Each thread pushes a value and pops one, PAIRS / threads times: the total
//! work is the same whatever the number of threads.

use std::hint::black_box;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_queue::SegQueue;
use exercise_19::Stack;

const PAIRS: u64 = 10_000_000;
const RUNS: usize = 7;

/// The two operations the benchmark needs, for each structure.
trait Shared: Send + Sync + 'static {
    fn push(&self, value: u64);
    fn pop(&self) -> Option<u64>;
}

impl Shared for Stack<u64> {
    fn push(&self, value: u64) {
        Stack::push(self, value)
    }
    fn pop(&self) -> Option<u64> {
        Stack::pop(self)
    }
}

impl Shared for Mutex<Vec<u64>> {
    fn push(&self, value: u64) {
        self.lock().unwrap().push(value)
    }
    fn pop(&self) -> Option<u64> {
        self.lock().unwrap().pop()
    }
}

impl Shared for SegQueue<u64> {
    fn push(&self, value: u64) {
        SegQueue::push(self, value)
    }
    fn pop(&self) -> Option<u64> {
        SegQueue::pop(self)
    }
}

/// One timed run: `threads` threads, each doing its share of the pairs.
fn run<S: Shared>(shared: S, threads: u64) -> Duration {
    let shared = Arc::new(shared);
    let start_line = Arc::new(Barrier::new(threads as usize + 1));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (shared, start_line) = (Arc::clone(&shared), Arc::clone(&start_line));
            thread::spawn(move || {
                start_line.wait();
                for i in 0..PAIRS / threads {
                    shared.push(t << 32 | i);
                    black_box(shared.pop());
                }
            })
        })
        .collect();
    start_line.wait();
    let start = Instant::now();
    for worker in workers {
        worker.join().unwrap();
    }
    start.elapsed()
}

fn main() {
    let names = ["treiber Stack", "Mutex<Vec>", "SegQueue"];
    let mut results = vec![vec![Vec::new(); 3]; 3];
    for _ in 0..RUNS {
        for (t, threads) in [1, 2, 4].into_iter().enumerate() {
            results[0][t].push(run(Stack::new(), threads));
            results[1][t].push(run(Mutex::new(Vec::new()), threads));
            results[2][t].push(run(SegQueue::new(), threads));
        }
    }
    println!(
        "{PAIRS} push/pop pairs, {RUNS} runs; millions of pairs per second, min / median / max"
    );
    println!("| structure | 1 thread | 2 threads | 4 threads |");
    println!("|---|---|---|---|");
    for (name, rows) in names.iter().zip(&results) {
        let cells: Vec<String> = rows
            .iter()
            .map(|times| {
                let mut rates: Vec<f64> = times
                    .iter()
                    .map(|d| PAIRS as f64 / d.as_secs_f64() / 1e6)
                    .collect();
                rates.sort_by(f64::total_cmp);
                format!(
                    "{:.1} / {:.1} / {:.1}",
                    rates[0],
                    rates[rates.len() / 2],
                    rates[rates.len() - 1]
                )
            })
            .collect();
        println!("| `{name}` | {} |", cells.join(" | "));
    }
}
