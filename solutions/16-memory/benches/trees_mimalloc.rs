//! The same workload as `trees_system`, with mimalloc as the global
//! allocator of this binary (and only this one).
//!
//! `cargo bench -p solution-16 --features mimalloc --bench trees_mimalloc`

use criterion::{Criterion, criterion_group, criterion_main};
use mimalloc::MiMalloc;

mod common;

// ANCHOR: mimalloc
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;
// ANCHOR_END: mimalloc

fn single(c: &mut Criterion) {
    common::single(c, "mimalloc");
}

fn trees(c: &mut Criterion) {
    common::trees(c, "mimalloc");
}

criterion_group!(benches, single, trees);
criterion_main!(benches);
