//! Building, evaluating and dropping expression trees under the system
//! allocator (glibc's malloc here): one `Box` per node versus an arena.
//!
//! `cargo bench -p solution-16 --bench trees_system`

use criterion::{Criterion, criterion_group, criterion_main};

mod common;

fn single(c: &mut Criterion) {
    common::single(c, "system");
}

fn trees(c: &mut Criterion) {
    common::trees(c, "system");
}

criterion_group!(benches, single, trees);
criterion_main!(benches);
