//! The workloads both allocator benchmarks run: one small allocation against
//! a value on the stack; and parsing, evaluating and dropping an expression
//! of 1,023 nodes, with one `Box` per node or in an arena.

use std::hint::black_box;

use bumpalo::Bump;
use criterion::Criterion;
use exercise_16::expr::{parse_boxed, parse_in};

/// A balanced expression of 2^`levels` small numbers joined by `+ - *`.
fn balanced(levels: u32, seed: &mut u64) -> String {
    if levels == 0 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        return ((*seed >> 33) % 9 + 1).to_string();
    }
    let left = balanced(levels - 1, seed);
    let right = balanced(levels - 1, seed);
    let op = ['+', '-', '*'][(*seed >> 40) as usize % if levels == 1 { 3 } else { 2 }];
    format!("({left}{op}{right})")
}

pub fn expression() -> String {
    balanced(9, &mut 7)
}

/// `name` is the allocator: each bench binary installs its own.
pub fn trees(c: &mut Criterion, name: &str) {
    let src = expression();
    let mut group = c.benchmark_group(format!("trees/{name}"));
    group.bench_function("Box per node", |b| {
        b.iter(|| {
            let tree = parse_boxed(black_box(&src)).unwrap();
            black_box(tree.eval().unwrap())
            // the tree is dropped here: one free per node
        })
    });
    group.bench_function("new arena each time", |b| {
        b.iter(|| {
            let arena = Bump::new();
            let tree = parse_in(&arena, black_box(&src)).unwrap();
            black_box(tree.eval().unwrap())
        })
    });
    let mut arena = Bump::new();
    group.bench_function("one arena, reset", |b| {
        b.iter(|| {
            let value = parse_in(&arena, black_box(&src)).unwrap().eval().unwrap();
            arena.reset(); // frees every node at once, keeps the biggest chunk
            black_box(value)
        })
    });
    group.finish();
}

/// One small allocation and its free, against the same value on the stack.
pub fn single(c: &mut Criterion, name: &str) {
    let mut group = c.benchmark_group(format!("single/{name}"));
    group.bench_function("u64 on the stack", |b| {
        b.iter(|| {
            let x = black_box(7u64);
            black_box(&x);
        })
    });
    group.bench_function("Box::new(u64) + drop", |b| {
        b.iter(|| {
            let x = Box::new(black_box(7u64));
            black_box(&x);
        })
    });
    group.bench_function("Vec::with_capacity(1 KiB) + drop", |b| {
        b.iter(|| {
            let v: Vec<u8> = Vec::with_capacity(black_box(1024));
            black_box(&v);
        })
    });
    group.finish();
}
