//! The specification of exercise 04. Every result is compared, exactly, with
//! a plain serial version written below (`reference_*`), on pseudo-random
//! images of many shapes: 1x1, one row, one column, odd sizes. The
//! `progress` callbacks are checked too: once per row, and (in a pool of two
//! threads) called from both threads, which serial code cannot do.

use std::sync::Mutex;

use exercise_04::{Image, box_blur, brighten, grayscale, histogram, map_pixels};
use testkit::{LIMIT, TwoThreadProbe, WAIT_FOR_THE_OTHER_THREAD, within};

// ---------------------------------------------------------------------------
// Test data and serial references
// ---------------------------------------------------------------------------

/// A tiny linear congruential generator (Knuth's MMIX constants): the same
/// seed gives the same "random" pixels on every run and every machine.
struct Lcg(u64);

impl Lcg {
    fn next_u8(&mut self) -> u8 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 56) as u8
    }
}

fn random_image(width: usize, height: usize, seed: u64) -> Image {
    let mut rng = Lcg(seed);
    let pixels = (0..width * height)
        .map(|_| [rng.next_u8(), rng.next_u8(), rng.next_u8()])
        .collect();
    Image {
        width,
        height,
        pixels,
    }
}

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Lcg(seed);
    (0..len).map(|_| rng.next_u8()).collect()
}

/// Shapes every comparison runs on: a single pixel, a single row, a single
/// column, tiny and odd sizes, and a few larger ones.
const SIZES: &[(usize, usize)] = &[
    (1, 1),
    (9, 1),
    (1, 9),
    (2, 2),
    (3, 5),
    (17, 13),
    (64, 48),
    (101, 67),
];

fn reference_luma([r, g, b]: [u8; 3]) -> u8 {
    ((299 * r as u32 + 587 * g as u32 + 114 * b as u32 + 500) / 1000) as u8
}

fn reference_grayscale(img: &Image) -> Vec<u8> {
    img.pixels.iter().map(|&p| reference_luma(p)).collect()
}

/// The blur's contract, written as directly as possible: visit every
/// neighbour within `radius`, skip those outside the image, round halves up.
fn reference_blur(img: &Image, radius: usize) -> Image {
    let (w, h) = (img.width as i64, img.height as i64);
    let r = radius as i64;
    let mut pixels = Vec::with_capacity(img.pixels.len());
    for y in 0..h {
        for x in 0..w {
            let mut sum = [0u64; 3];
            let mut count = 0u64;
            for y2 in (y - r).max(0)..=(y + r).min(h - 1) {
                for x2 in (x - r).max(0)..=(x + r).min(w - 1) {
                    let p = img.pixels[(y2 * w + x2) as usize];
                    for c in 0..3 {
                        sum[c] += p[c] as u64;
                    }
                    count += 1;
                }
            }
            pixels.push(sum.map(|s| ((s + count / 2) / count) as u8));
        }
    }
    Image {
        width: img.width,
        height: img.height,
        pixels,
    }
}

fn reference_histogram(values: &[u8]) -> [u64; 256] {
    let mut counts = [0u64; 256];
    for &v in values {
        counts[v as usize] += 1;
    }
    counts
}

/// Describes the first difference between two images, or `None` if they are
/// equal. (Printing whole images with `assert_eq!` would flood the terminal.)
fn first_difference(got: &Image, want: &Image) -> Option<String> {
    if (got.width, got.height) != (want.width, want.height) {
        return Some(format!(
            "the result is {}x{}, expected {}x{}",
            got.width, got.height, want.width, want.height
        ));
    }
    if got.pixels.len() != want.pixels.len() {
        return Some(format!(
            "the result has {} pixels, expected {}",
            got.pixels.len(),
            want.pixels.len()
        ));
    }
    let i = got
        .pixels
        .iter()
        .zip(&want.pixels)
        .position(|(a, b)| a != b)?;
    Some(format!(
        "first wrong pixel at x={}, y={}: got {:?}, expected {:?}",
        i % want.width,
        i / want.width,
        got.pixels[i],
        want.pixels[i]
    ))
}

fn first_byte_difference(got: &[u8], want: &[u8]) -> Option<String> {
    if got.len() != want.len() {
        return Some(format!("got {} bytes, expected {}", got.len(), want.len()));
    }
    let i = got.iter().zip(want).position(|(a, b)| a != b)?;
    Some(format!(
        "first wrong byte at index {i}: got {}, expected {}",
        got[i], want[i]
    ))
}

fn first_count_difference(got: &[u64; 256], want: &[u64; 256]) -> Option<String> {
    let v = (0..256).find(|&v| got[v] != want[v])?;
    Some(format!(
        "count of value {v}: got {}, expected {} (total counted {}, expected {})",
        got[v],
        want[v],
        got.iter().sum::<u64>(),
        want.iter().sum::<u64>()
    ))
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("building a rayon thread pool for the test")
}

/// Every argument `progress` was called with, from any thread.
#[derive(Default)]
struct Calls(Mutex<Vec<usize>>);

impl Calls {
    fn record(&self, n: usize) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(n);
    }

    /// The arguments so far, sorted.
    fn sorted(&self) -> Vec<usize> {
        let mut calls = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        calls.sort_unstable();
        calls
    }
}

/// Checks that `progress` was called exactly once for each row `0..height`.
#[track_caller]
fn assert_each_row_reported_once(what: &str, height: usize, calls: &Calls) {
    let got = calls.sorted();
    if got != (0..height).collect::<Vec<_>>() {
        let shown: Vec<usize> = got.iter().copied().take(20).collect();
        panic!(
            "{what}: progress(y) must be called exactly once for every row y in \
             0..{height}; it was called {} times, with (sorted) {shown:?}{}",
            got.len(),
            if got.len() > 20 { " ..." } else { "" }
        );
    }
}

/// Runs `work` in a new pool of two threads, with a probe for `work` to pass
/// to the function under test, and checks that both threads called it.
#[track_caller]
fn assert_runs_on_both_threads<R: Send>(
    what: &str,
    callback: &str,
    work: impl FnOnce(&TwoThreadProbe) -> R + Send,
) -> R {
    let probe = TwoThreadProbe::new();
    let result = pool(2).install(|| work(&probe));
    assert!(
        !probe.called_outside_pool(),
        "{what}: {callback} was called on a thread outside the rayon pool. Run \
         the work through rayon (par_iter, par_chunks_mut & co.) so that it \
         uses the caller's pool, and call {callback} where the work is done"
    );
    assert!(
        probe.both_seen(),
        "{what}: inside a pool of 2 threads, every call of {callback} came from \
         the same thread (the first call waited {WAIT_FOR_THE_OTHER_THREAD:?} for \
         the other thread). The work must be split with a parallel iterator, \
         and {callback} called on the thread that did each piece"
    );
    result
}

// ---------------------------------------------------------------------------
// map_pixels and brighten
// ---------------------------------------------------------------------------

#[test]
fn map_pixels_applies_the_function_to_every_pixel_in_order() {
    within(LIMIT, "map_pixels to return on small images", || {
        let rotate = |[r, g, b]: [u8; 3]| [b, r, g.wrapping_add(1)];
        for (i, &(w, h)) in SIZES.iter().enumerate() {
            let img = random_image(w, h, i as u64);
            let want = Image {
                width: w,
                height: h,
                pixels: img.pixels.iter().map(|&p| rotate(p)).collect(),
            };
            let got = map_pixels(&img, rotate);
            if let Some(diff) = first_difference(&got, &want) {
                panic!(
                    "map_pixels on a {w}x{h} image: {diff} (pixel i of the result must be f(pixels[i]))"
                );
            }
        }
    });
}

#[test]
fn map_pixels_spreads_the_calls_over_more_than_one_pool_thread() {
    within(LIMIT, "map_pixels to return on a 256x256 image", || {
        let img = random_image(256, 256, 42);
        let got = assert_runs_on_both_threads("map_pixels on a 256x256 image", "f", |probe| {
            map_pixels(&img, |p| {
                probe.hit();
                p
            })
        });
        if let Some(diff) = first_difference(&got, &img) {
            panic!("map_pixels with the identity function changed the image: {diff}");
        }
    });
}

#[test]
fn brighten_adds_delta_to_every_channel_and_saturates() {
    within(LIMIT, "brighten to return on small images", || {
        let mut img = Image {
            width: 3,
            height: 1,
            pixels: vec![[0, 100, 250], [5, 128, 255], [255, 0, 10]],
        };
        let calls = Calls::default();
        brighten(&mut img, 10, |y| calls.record(y));
        assert_each_row_reported_once("brighten of a 3x1 image", 1, &calls);
        assert_eq!(
            img.pixels,
            vec![[10, 110, 255], [15, 138, 255], [255, 10, 20]],
            "brighten(+10): each channel gains 10 and stops at 255"
        );
        brighten(&mut img, -20, |_| {});
        assert_eq!(
            img.pixels,
            vec![[0, 90, 235], [0, 118, 235], [235, 0, 0]],
            "brighten(-20): each channel loses 20 and stops at 0"
        );
        assert_eq!(
            (img.width, img.height),
            (3, 1),
            "brighten must not change the size"
        );

        for (delta, want) in [(i16::MAX, 255u8), (i16::MIN, 0u8)] {
            let mut img = random_image(17, 13, 7);
            let calls = Calls::default();
            brighten(&mut img, delta, |y| calls.record(y));
            assert_each_row_reported_once("brighten of a 17x13 image", 13, &calls);
            assert!(
                img.pixels.iter().flatten().all(|&c| c == want),
                "brighten({delta}) must turn every channel into {want} without overflowing"
            );
        }
    });
}

#[test]
fn brighten_processes_rows_on_more_than_one_thread() {
    within(LIMIT, "brighten to return on a 64x48 image", || {
        let mut img = random_image(64, 48, 8);
        let mut want = img.clone();
        for c in want.pixels.iter_mut().flatten() {
            *c = c.saturating_add(9);
        }
        assert_runs_on_both_threads("brighten of a 64x48 image", "progress", |probe| {
            brighten(&mut img, 9, |_| probe.hit())
        });
        if let Some(diff) = first_difference(&img, &want) {
            panic!("brighten(+9) of a 64x48 image in a 2-thread pool: {diff}");
        }
    });
}

// ---------------------------------------------------------------------------
// grayscale
// ---------------------------------------------------------------------------

#[test]
fn grayscale_uses_the_exact_integer_formula() {
    within(LIMIT, "grayscale to return on a 6-pixel image", || {
        let img = Image {
            width: 6,
            height: 1,
            pixels: vec![
                [0, 0, 0],
                [255, 255, 255],
                [255, 0, 0],
                [0, 255, 0],
                [0, 0, 255],
                [1, 2, 3],
            ],
        };
        // (299*r + 587*g + 114*b + 500) / 1000, e.g. red: 76745 / 1000 = 76;
        // [1, 2, 3]: (299 + 1174 + 342 + 500) / 1000 = 2315 / 1000 = 2.
        assert_eq!(
            grayscale(&img, |_| {}),
            vec![0, 255, 76, 150, 29, 2],
            "grayscale of black, white, red, green, blue and [1, 2, 3]"
        );
    });
}

#[test]
fn grayscale_matches_the_serial_reference_on_many_sizes() {
    within(LIMIT, "grayscale to return on images up to 101x67", || {
        for (i, &(w, h)) in SIZES.iter().enumerate() {
            let img = random_image(w, h, 100 + i as u64);
            let calls = Calls::default();
            let got = grayscale(&img, |y| calls.record(y));
            if let Some(diff) = first_byte_difference(&got, &reference_grayscale(&img)) {
                panic!("grayscale of a {w}x{h} image: {diff} (one byte per pixel, in pixel order)");
            }
            assert_each_row_reported_once(&format!("grayscale of a {w}x{h} image"), h, &calls);
        }
    });
}

#[test]
fn grayscale_processes_rows_on_more_than_one_thread() {
    within(LIMIT, "grayscale to return on a 64x48 image", || {
        let img = random_image(64, 48, 9);
        let got = assert_runs_on_both_threads("grayscale of a 64x48 image", "progress", |probe| {
            grayscale(&img, |_| probe.hit())
        });
        if let Some(diff) = first_byte_difference(&got, &reference_grayscale(&img)) {
            panic!("grayscale of a 64x48 image in a 2-thread pool: {diff}");
        }
    });
}

// ---------------------------------------------------------------------------
// box_blur
// ---------------------------------------------------------------------------

#[test]
fn box_blur_with_radius_zero_returns_an_identical_copy() {
    within(LIMIT, "box_blur(radius 0) to return", || {
        for (i, &(w, h)) in SIZES.iter().enumerate() {
            let img = random_image(w, h, 200 + i as u64);
            if let Some(diff) = first_difference(&box_blur(&img, 0, |_| {}), &img) {
                panic!("box_blur(radius 0) of a {w}x{h} image must equal the input: {diff}");
            }
        }
    });
}

#[test]
fn box_blur_averages_only_the_in_bounds_neighbours_at_edges_and_corners() {
    within(LIMIT, "box_blur to return on a 3x3 image", || {
        // Red: 10..90; green: 255 - red; blue: a constant 7.
        let red = [10u8, 20, 30, 40, 50, 60, 70, 80, 90];
        let img = Image {
            width: 3,
            height: 3,
            pixels: red.iter().map(|&r| [r, 255 - r, 7]).collect(),
        };
        // Corner (0, 0) averages its 4 in-bounds neighbours: (10+20+40+50)/4
        // = 30. An edge pixel averages 6, the centre 9. Padding with zeros
        // would give 120/9 = 13 in the corner instead.
        let want_red = [30u8, 35, 40, 45, 50, 55, 60, 65, 70];
        let want = Image {
            width: 3,
            height: 3,
            pixels: want_red.iter().map(|&r| [r, 255 - r, 7]).collect(),
        };
        if let Some(diff) = first_difference(&box_blur(&img, 1, |_| {}), &want) {
            panic!("box_blur(radius 1) of a 3x3 image: {diff}");
        }
    });
}

#[test]
fn box_blur_rounds_to_nearest_with_halves_up() {
    within(LIMIT, "box_blur to return on tiny images", || {
        // Two pixels, radius 1: each averages both. Sums 1, 2, 3 over 2
        // pixels are 0.5, 1.0, 1.5, which round (halves up) to 1, 1, 2.
        let img = Image {
            width: 2,
            height: 1,
            pixels: vec![[0, 0, 0], [1, 2, 3]],
        };
        assert_eq!(
            box_blur(&img, 1, |_| {}).pixels,
            vec![[1, 1, 2], [1, 1, 2]],
            "averages 0.5, 1.0, 1.5 must round to 1, 1, 2: (sum + count / 2) / count"
        );
        // Three pixels in a column, radius 1: the middle one averages 1/3
        // (rounds down to 0) and 2/3 (rounds up to 1).
        let img = Image {
            width: 1,
            height: 3,
            pixels: vec![[0, 0, 0], [0, 0, 0], [1, 2, 0]],
        };
        assert_eq!(
            box_blur(&img, 1, |_| {}).pixels,
            vec![[0, 0, 0], [0, 1, 0], [1, 1, 0]],
            "1/3 must round to 0, 2/3 to 1, 1/2 and 2/2 to 1"
        );
    });
}

#[test]
fn box_blur_matches_the_serial_reference_on_many_sizes_and_radii() {
    within(LIMIT, "box_blur to return on images up to 101x67", || {
        for (i, &(w, h)) in SIZES.iter().enumerate() {
            let img = random_image(w, h, 300 + i as u64);
            for radius in 1..=3 {
                let calls = Calls::default();
                let got = box_blur(&img, radius, |y| calls.record(y));
                if let Some(diff) = first_difference(&got, &reference_blur(&img, radius)) {
                    panic!("box_blur(radius {radius}) of a {w}x{h} image: {diff}");
                }
                assert_each_row_reported_once(
                    &format!("box_blur(radius {radius}) of a {w}x{h} image"),
                    h,
                    &calls,
                );
            }
        }
    });
}

#[test]
fn box_blur_processes_rows_on_more_than_one_thread() {
    within(LIMIT, "box_blur to return on a 64x48 image", || {
        let img = random_image(64, 48, 10);
        let got = assert_runs_on_both_threads("box_blur of a 64x48 image", "progress", |probe| {
            box_blur(&img, 2, |_| probe.hit())
        });
        if let Some(diff) = first_difference(&got, &reference_blur(&img, 2)) {
            panic!("box_blur(radius 2) of a 64x48 image in a 2-thread pool: {diff}");
        }
    });
}

#[test]
fn box_blur_with_a_radius_larger_than_the_image_averages_the_whole_image() {
    within(LIMIT, "box_blur with a huge radius to return", || {
        for (i, &(w, h)) in [(1, 1), (9, 1), (1, 9), (5, 3), (17, 13)]
            .iter()
            .enumerate()
        {
            let img = random_image(w, h, 400 + i as u64);
            let count = img.pixels.len() as u64;
            let mean = [0, 1, 2].map(|c| {
                let sum: u64 = img.pixels.iter().map(|p| p[c] as u64).sum();
                ((sum + count / 2) / count) as u8
            });
            for radius in [w.max(h), 1000] {
                let want = Image {
                    width: w,
                    height: h,
                    pixels: vec![mean; w * h],
                };
                if let Some(diff) = first_difference(&box_blur(&img, radius, |_| {}), &want) {
                    panic!(
                        "box_blur(radius {radius}) of a {w}x{h} image must give the \
                         rounded mean {mean:?} everywhere: {diff}"
                    );
                }
            }
        }
    });
}

// ---------------------------------------------------------------------------
// histogram
// ---------------------------------------------------------------------------

#[test]
fn histogram_counts_each_byte_value() {
    within(LIMIT, "histogram to return on 7 bytes", || {
        let calls = Calls::default();
        let counts = histogram(&[3, 0, 255, 3, 3, 0, 128], |n| calls.record(n));
        let mut want = [0u64; 256];
        want[0] = 2;
        want[3] = 3;
        want[128] = 1;
        want[255] = 1;
        if let Some(diff) = first_count_difference(&counts, &want) {
            panic!("histogram of [3, 0, 255, 3, 3, 0, 128]: {diff}");
        }
        let reported: usize = calls.sorted().iter().sum();
        assert_eq!(
            reported, 7,
            "histogram of 7 bytes: the pieces reported to progress(n) must add up \
             to the 7 bytes counted"
        );
    });
}

#[test]
fn histogram_matches_the_serial_reference_on_a_large_input() {
    within(LIMIT, "histogram to return on about 1 MB", || {
        // An odd length, and a skewed input where every thread hits the
        // same counter: a lost update would show here.
        for (name, values) in [
            ("1,000,003 random bytes", random_bytes(1_000_003, 500)),
            ("200,001 bytes all equal to 7", vec![7u8; 200_001]),
        ] {
            let calls = Calls::default();
            let got = histogram(&values, |n| calls.record(n));
            if let Some(diff) = first_count_difference(&got, &reference_histogram(&values)) {
                panic!("histogram of {name}: {diff}");
            }
            let reported: usize = calls.sorted().iter().sum();
            assert_eq!(
                reported,
                values.len(),
                "histogram of {name}: the pieces reported to progress(n) must add up \
                 to the number of bytes counted"
            );
        }
    });
}

#[test]
fn histogram_counts_pieces_on_more_than_one_thread() {
    within(LIMIT, "histogram to return on about 1 MB", || {
        let values = random_bytes(1_000_003, 501);
        let got =
            assert_runs_on_both_threads("histogram of 1,000,003 bytes", "progress", |probe| {
                histogram(&values, |_| probe.hit())
            });
        if let Some(diff) = first_count_difference(&got, &reference_histogram(&values)) {
            panic!("histogram of 1,000,003 random bytes in a 2-thread pool: {diff}");
        }
    });
}

// ---------------------------------------------------------------------------
// All functions
// ---------------------------------------------------------------------------

#[test]
fn every_function_accepts_empty_images() {
    within(LIMIT, "every function to return on empty images", || {
        let calls = Calls::default();
        let progress = |n: usize| calls.record(n);
        for (w, h) in [(0, 0), (0, 5), (7, 0)] {
            let img = Image {
                width: w,
                height: h,
                pixels: Vec::new(),
            };
            let mapped = map_pixels(&img, |p| p);
            assert!(
                first_difference(&mapped, &img).is_none(),
                "map_pixels of an empty {w}x{h} image must return an empty {w}x{h} image"
            );
            let mut copy = img.clone();
            brighten(&mut copy, 5, progress);
            assert_eq!(
                copy, img,
                "brighten of an empty {w}x{h} image must leave it as it is"
            );
            assert!(
                grayscale(&img, progress).is_empty(),
                "grayscale of an empty {w}x{h} image must be empty"
            );
            for radius in [0, 2] {
                assert!(
                    first_difference(&box_blur(&img, radius, progress), &img).is_none(),
                    "box_blur(radius {radius}) of an empty {w}x{h} image must return \
                     an empty {w}x{h} image"
                );
            }
        }
        assert_eq!(
            calls.sorted(),
            Vec::<usize>::new(),
            "an image without pixels has no rows to process: brighten, grayscale and \
             box_blur must not call progress for it"
        );
        assert_eq!(
            histogram(&[], |_| {}),
            [0u64; 256],
            "histogram of no bytes must be all zeros"
        );
    });
}

#[test]
fn results_are_the_same_with_one_thread_and_with_two() {
    within(
        LIMIT,
        "grayscale, box_blur and histogram to return in 1- and 2-thread pools",
        || {
            let img = random_image(300, 200, 600);
            let run = |threads: usize| {
                pool(threads).install(|| {
                    let gray = grayscale(&img, |_| {});
                    let counts = histogram(&gray, |_| {});
                    (gray, box_blur(&img, 2, |_| {}), counts)
                })
            };
            let (gray1, blur1, counts1) = run(1);
            let (gray2, blur2, counts2) = run(2);
            if let Some(diff) = first_byte_difference(&gray2, &gray1) {
                panic!("grayscale differs between a 2-thread and a 1-thread pool: {diff}");
            }
            if let Some(diff) = first_difference(&blur2, &blur1) {
                panic!("box_blur differs between a 2-thread and a 1-thread pool: {diff}");
            }
            if let Some(diff) = first_count_difference(&counts2, &counts1) {
                panic!("histogram differs between a 2-thread and a 1-thread pool: {diff}");
            }
            if let Some(diff) = first_difference(&blur1, &reference_blur(&img, 2)) {
                panic!("box_blur(radius 2) of a 300x200 image in a 1-thread pool: {diff}");
            }
        },
    );
}
