//! Reference solution of exercise 04: parallel image processing with rayon.
//!
//! Every function splits the work by pixels or by output rows, which are
//! independent: no locks, no atomics, and the result is exactly the serial
//! result, whatever the number of threads.

use rayon::prelude::*;

/// An RGB image in memory: `pixels[y * width + x]` is the pixel at column
/// `x`, row `y` (row-major, top row first), as `[red, green, blue]`.
///
/// Every function expects `pixels.len() == width * height`; an image with
/// `width == 0` or `height == 0` has no pixels and is valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<[u8; 3]>,
}

/// Applies `f` to every pixel, in parallel, and returns the new image
/// (same size; pixel `i` of the result is `f(img.pixels[i])`).
pub fn map_pixels<F>(img: &Image, f: F) -> Image
where
    F: Fn([u8; 3]) -> [u8; 3] + Sync + Send,
{
    // `par_iter().map().collect()` keeps the order: rayon's indexed
    // iterators write each result to its own slot of the output Vec.
    let pixels = img.pixels.par_iter().map(|&p| f(p)).collect();
    Image {
        width: img.width,
        height: img.height,
        pixels,
    }
}

/// Adds `delta` to every channel of every pixel, in place, saturating at 0
/// and 255.
pub fn brighten(img: &mut Image, delta: i16) {
    img.pixels.par_iter_mut().for_each(|pixel| {
        for channel in pixel.iter_mut() {
            // i16 holds 0..=255 plus any i16 delta without overflow
            // (saturating_add handles the extremes), then clamp to a byte.
            *channel = i16::from(*channel).saturating_add(delta).clamp(0, 255) as u8;
        }
    });
}

/// The luma of one pixel: `(299 * r + 587 * g + 114 * b + 500) / 1000`.
fn luma([r, g, b]: [u8; 3]) -> u8 {
    // At most (1000 * 255 + 500) / 1000 = 255: the cast cannot truncate.
    ((299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b) + 500) / 1000) as u8
}

/// Converts to grayscale: one byte per pixel, in the same order as
/// `img.pixels`, computed as `(299 * r + 587 * g + 114 * b + 500) / 1000`
/// in integers (the ITU-R BT.601 weights, rounded to nearest).
pub fn grayscale(img: &Image) -> Vec<u8> {
    img.pixels.par_iter().map(|&p| luma(p)).collect()
}

/// The blur cuts the pixel buffer into rows of `width` pixels: a buffer of
/// another length is a caller's bug, reported here with a clear message
/// rather than as an index out of bounds deep inside a worker thread.
fn check_dimensions(img: &Image) {
    assert_eq!(
        img.width.checked_mul(img.height),
        Some(img.pixels.len()),
        "an Image of {}x{} needs width * height pixels, it has {}",
        img.width,
        img.height,
        img.pixels.len()
    );
}

/// Computes row `y` of the blurred image into `out` (one output row).
///
/// The serial and the parallel blur share this function: the only
/// difference between them is who calls it, and on which thread.
fn blur_row(img: &Image, radius: usize, y: usize, out: &mut [[u8; 3]]) {
    let (w, h) = (img.width, img.height);
    // The window's rows, clamped to the image: neighbours outside the image
    // are not counted (no padding, no mirroring).
    let y0 = y.saturating_sub(radius);
    let y1 = (y + radius).min(h - 1);
    for (x, slot) in out.iter_mut().enumerate() {
        let x0 = x.saturating_sub(radius);
        let x1 = (x + radius).min(w - 1);
        // u64: even a radius covering a huge image cannot overflow the sum.
        let mut sum = [0u64; 3];
        for row in img.pixels[y0 * w..(y1 + 1) * w].chunks_exact(w) {
            for p in &row[x0..=x1] {
                for c in 0..3 {
                    sum[c] += u64::from(p[c]);
                }
            }
        }
        let count = ((x1 - x0 + 1) * (y1 - y0 + 1)) as u64;
        // Round to nearest, halves up: floor((sum + count / 2) / count).
        *slot = sum.map(|s| ((s + count / 2) / count) as u8);
    }
}

/// Box blur: each output channel is the average of that channel over the
/// pixels at most `radius` columns and `radius` rows away that lie inside
/// the image, rounded to nearest with halves up. See the exercise's doc
/// comment for the exact contract.
///
/// # Panics
///
/// If `img.pixels.len() != img.width * img.height` (the `Image` contract):
/// rows could not be cut out of such a buffer.
pub fn box_blur(img: &Image, radius: usize) -> Image {
    check_dimensions(img);
    let mut pixels = vec![[0u8; 3]; img.pixels.len()];
    if !pixels.is_empty() {
        // One output row per work item: rows are disjoint `&mut` slices, so
        // threads never share a pixel they write, and rayon's work stealing
        // balances rows across threads.
        pixels
            .par_chunks_mut(img.width)
            .enumerate()
            .for_each(|(y, row)| blur_row(img, radius, y, row));
    }
    Image {
        width: img.width,
        height: img.height,
        pixels,
    }
}

/// The serial baseline of [`box_blur`], for the benchmark
/// (`cargo bench -p solution-04 --bench blur`): the same row function on the
/// calling thread only. Its output is identical to `box_blur`'s.
pub fn box_blur_serial(img: &Image, radius: usize) -> Image {
    check_dimensions(img);
    let mut pixels = vec![[0u8; 3]; img.pixels.len()];
    if !pixels.is_empty() {
        pixels
            .chunks_mut(img.width)
            .enumerate()
            .for_each(|(y, row)| blur_row(img, radius, y, row));
    }
    Image {
        width: img.width,
        height: img.height,
        pixels,
    }
}

/// Bytes per work item of [`histogram`]. Each item builds a private
/// 256-bin table (2 KiB); 64 KiB of input makes that cost negligible while
/// still giving many items to balance on a few megabytes.
const HISTOGRAM_CHUNK: usize = 64 * 1024;

/// Counts how many times each byte value occurs: `result[v]` is the number
/// of `v` in `values`.
pub fn histogram(values: &[u8]) -> [u64; 256] {
    // Map-reduce: every chunk gets its own table (no shared counters, so no
    // atomics and no false sharing), then tables are added pairwise. Integer
    // addition is associative, so the result does not depend on how rayon
    // splits the work. (`fold` + `reduce` per byte works too, as in the
    // chapter's letter counts; fixed chunks make the unit of work explicit
    // and keep the counting loop a plain serial loop.)
    values
        .par_chunks(HISTOGRAM_CHUNK)
        .map(|chunk| {
            let mut counts = [0u64; 256];
            for &v in chunk {
                counts[usize::from(v)] += 1;
            }
            counts
        })
        .reduce(
            || [0u64; 256],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
                a
            },
        )
}
