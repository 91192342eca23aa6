//! `cargo bench -p solution-20 --bench analyse`: the slow and the fast
//! analyser on the same generated log of 20,000 lines (about 2 MB), held in
//! memory so that only the analysis is measured.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exercise_20::{analyse, analyse_slow, generate_log};

// ANCHOR: bench
fn analysers(c: &mut Criterion) {
    let mut log = Vec::new();
    generate_log(1, 20_000, &mut log).expect("writing to a Vec cannot fail");

    let mut group = c.benchmark_group("analyse");
    // Report bytes per second as well as time per iteration.
    group.throughput(Throughput::Bytes(log.len() as u64));
    group.bench_function("slow", |b| {
        b.iter(|| analyse_slow(black_box(&log[..]), 10).unwrap())
    });
    group.bench_function("fast", |b| {
        b.iter(|| analyse(black_box(&log[..]), 10).unwrap())
    });
    group.finish();
}

criterion_group!(benches, analysers);
criterion_main!(benches);
// ANCHOR_END: bench
