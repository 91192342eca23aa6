//! The source document's speed-up table, re-measured: serial vs rayon for a
//! sum, a sort and a map-reduce, plus a sum too small to be worth splitting.
//!
//! Run: `cargo bench -p solution-04 --bench basics`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rayon::prelude::*;

/// Deterministic pseudo-random numbers (a 64-bit LCG).
fn random_u64s(len: usize) -> Vec<u64> {
    let mut state = 7u64;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state
        })
        .collect()
}

/// Steps of the Collatz sequence from `n` down to 1: cheap for some `n`,
/// expensive for others, i.e. uneven work, which work stealing balances.
fn collatz_steps(mut n: u64) -> u64 {
    let mut steps = 0;
    while n != 1 {
        n = if n.is_multiple_of(2) {
            n / 2
        } else {
            3 * n + 1
        };
        steps += 1;
    }
    steps
}

fn basics(c: &mut Criterion) {
    let mut group = c.benchmark_group("basics");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(4));
    group.warm_up_time(Duration::from_secs(1));

    // Sum the squares of numbers read from memory. (Summing squares over the
    // range `1..=n` instead is no test at all: LLVM replaces the serial loop
    // by a closed formula and it takes about a nanosecond for any n.)
    for n in [1_000usize, 1_000_000] {
        let numbers: Vec<u64> = random_u64s(n).iter().map(|x| x % 1_000_000).collect();
        group.bench_function(format!("sum of squares, {n} u64, serial"), |b| {
            b.iter(|| black_box(&numbers).iter().map(|x| x * x).sum::<u64>())
        });
        group.bench_function(format!("sum of squares, {n} u64, rayon"), |b| {
            b.iter(|| black_box(&numbers).par_iter().map(|x| x * x).sum::<u64>())
        });
    }

    let data = random_u64s(1_000_000);
    group.bench_function("sort_unstable, 1M u64, serial", |b| {
        b.iter_batched_ref(
            || data.clone(),
            |v| v.sort_unstable(),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("par_sort_unstable, 1M u64, rayon", |b| {
        b.iter_batched_ref(
            || data.clone(),
            |v| v.par_sort_unstable(),
            BatchSize::LargeInput,
        )
    });

    // The same rayon sort on one thread: separates the algorithm's speed
    // from the gain of the second thread.
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("building a 1-thread pool");
    group.bench_function("par_sort_unstable, 1M u64, rayon on 1 thread", |b| {
        b.iter_batched_ref(
            || data.clone(),
            |v| one_thread.install(|| v.par_sort_unstable()),
            BatchSize::LargeInput,
        )
    });

    group.bench_function("Collatz map-reduce, 1..300k, serial", |b| {
        b.iter(|| (1..black_box(300_000u64)).map(collatz_steps).max())
    });
    group.bench_function("Collatz map-reduce, 1..300k, rayon", |b| {
        b.iter(|| {
            (1..black_box(300_000u64))
                .into_par_iter()
                .map(collatz_steps)
                .max()
        })
    });
    group.finish();
}

criterion_group!(benches, basics);
criterion_main!(benches);
