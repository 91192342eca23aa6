//! Serial vs parallel box blur on a 4-megapixel image (2048 x 2048, radius 2).
//!
//! Run: `cargo bench -p solution-04 --bench blur`. The speed-up is the ratio
//! of the two reported times; expect at most the number of cores.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use exercise_04::{Image, box_blur, box_blur_serial};

const SIDE: usize = 2048;
const RADIUS: usize = 2;

/// Deterministic pseudo-random pixels (the same LCG as the tests).
fn test_image() -> Image {
    let mut state = 1u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 56) as u8
    };
    let pixels = (0..SIDE * SIDE).map(|_| [next(), next(), next()]).collect();
    Image {
        width: SIDE,
        height: SIDE,
        pixels,
    }
}

fn blur(c: &mut Criterion) {
    let img = test_image();
    // Same output, or the comparison would be meaningless.
    assert_eq!(
        box_blur(&img, RADIUS, |_| {}),
        box_blur_serial(&img, RADIUS)
    );

    let mut group = c.benchmark_group(format!("box_blur {SIDE}x{SIDE} r{RADIUS}"));
    // Each run takes tens of milliseconds: fewer samples keep the bench short.
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("serial", |b| {
        b.iter(|| box_blur_serial(black_box(&img), RADIUS))
    });
    group.bench_function(
        format!("rayon ({} threads)", rayon::current_num_threads()),
        |b| b.iter(|| box_blur(black_box(&img), RADIUS, |_| {})),
    );
    group.finish();
}

criterion_group!(benches, blur);
criterion_main!(benches);
