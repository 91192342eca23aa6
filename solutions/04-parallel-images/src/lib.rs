//! Reference solution of exercise 04: parallel image processing with rayon.
//!
//! Every function splits the work by pixels, by rows or by chunks of bytes,
//! which are independent: no locks, no atomics, and the result is exactly
//! the serial result, whatever the number of threads.

use rayon::prelude::*;

// ANCHOR: image
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
// ANCHOR_END: image

// ANCHOR: map_pixels
/// Applies `f` to every pixel and returns the new image: same `width` and
/// `height`, and pixel `i` of the result is `f(img.pixels[i])`.
///
/// The calls to `f` must run in parallel on the current rayon pool (the
/// global one, or the pool of an enclosing `ThreadPool::install`).
pub fn map_pixels<F>(img: &Image, f: F) -> Image
where
    F: Fn([u8; 3]) -> [u8; 3] + Sync + Send,
{
    // ANCHOR_END: map_pixels
    // `par_iter().map().collect()` keeps the order: rayon's indexed
    // iterators write each result to its own slot of the output Vec.
    let pixels = img.pixels.par_iter().map(|&p| f(p)).collect();
    Image {
        width: img.width,
        height: img.height,
        pixels,
    }
}

/// Whether the image has rows of pixels to process. An image without
/// pixels has none, and `par_chunks_mut(0)` would panic on a width of 0.
fn has_rows(img: &Image) -> bool {
    img.width > 0 && !img.pixels.is_empty()
}

// ANCHOR: brighten
/// Adds `delta` to each of the three channels of every pixel, in place,
/// saturating: a channel never goes below 0 or above 255
/// (`250 + 10 -> 255`, `5 - 10 -> 0`). `width` and `height` do not change.
///
/// Process the rows in parallel, and call `progress(y)` exactly once for
/// every row `y`, on the thread that processed that row. (A caller can draw
/// a progress bar with it; the tests use it to see which threads worked.)
/// An image without pixels has no rows: `progress` is not called.
pub fn brighten(img: &mut Image, delta: i16, progress: impl Fn(usize) + Sync) {
    // ANCHOR_END: brighten
    if !has_rows(img) {
        return;
    }
    let width = img.width;
    img.pixels
        .par_chunks_mut(width)
        .enumerate()
        .for_each(|(y, row)| {
            for channel in row.iter_mut().flatten() {
                // i16 holds 0..=255 plus any i16 delta without overflow
                // (saturating_add handles the extremes), then clamp to a byte.
                *channel = i16::from(*channel).saturating_add(delta).clamp(0, 255) as u8;
            }
            progress(y);
        });
}

/// The luma of one pixel: `(299 * r + 587 * g + 114 * b + 500) / 1000`.
fn luma([r, g, b]: [u8; 3]) -> u8 {
    // At most (1000 * 255 + 500) / 1000 = 255: the cast cannot truncate.
    ((299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b) + 500) / 1000) as u8
}

// ANCHOR: grayscale
/// Converts to grayscale: one byte per pixel, in the same order as
/// `img.pixels`. For a pixel `[r, g, b]` the byte is, in integer arithmetic,
///
/// ```text
/// (299 * r + 587 * g + 114 * b + 500) / 1000
/// ```
///
/// (the ITU-R BT.601 luma weights, rounded to nearest; the result is always
/// at most 255). Mind the type: `299 * 255` does not fit in a `u8`.
///
/// Process the rows in parallel, and call `progress(y)` exactly once for
/// every row `y`, on the thread that processed that row. An image without
/// pixels has no rows: `progress` is not called.
pub fn grayscale(img: &Image, progress: impl Fn(usize) + Sync) -> Vec<u8> {
    // ANCHOR_END: grayscale
    let mut gray = vec![0u8; img.pixels.len()];
    if has_rows(img) {
        // Output row y and input row y, side by side: `zip` pairs the two
        // chunked iterators item by item, and both split at the same rows.
        gray.par_chunks_mut(img.width)
            .zip(img.pixels.par_chunks(img.width))
            .enumerate()
            .for_each(|(y, (out, row))| {
                for (o, &p) in out.iter_mut().zip(row) {
                    *o = luma(p);
                }
                progress(y);
            });
    }
    gray
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
    let y1 = y.saturating_add(radius).min(h - 1);
    for (x, slot) in out.iter_mut().enumerate() {
        let x0 = x.saturating_sub(radius);
        let x1 = x.saturating_add(radius).min(w - 1);
        // u64: even a radius covering a huge image cannot overflow the sum.
        let mut sum = [0u64; 3];
        // The input image, never the output: every output pixel is computed
        // from original pixels only.
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

// ANCHOR: box_blur
/// Box blur. Returns an image of the same size where each channel of the
/// pixel at `(x, y)` is the average of that channel over the window of
/// pixels `(x2, y2)` with `|x2 - x| <= radius` and `|y2 - y| <= radius`,
/// **counting only the pixels inside the image** (at the edges and corners
/// the window is smaller; nothing is padded or mirrored).
///
/// The average is rounded to nearest, halves up:
/// `(sum + count / 2) / count` in integers, where `count` is the number of
/// in-bounds pixels in the window. `radius == 0` returns a copy of the
/// image; a radius larger than the image averages the whole image. An empty
/// image gives an empty image of the same `width` and `height`.
///
/// Compute the output rows in parallel (each depends only on the input),
/// and call `progress(y)` exactly once for every output row `y`, on the
/// thread that computed it. An image without pixels has no rows: `progress`
/// is not called.
///
/// # Panics
///
/// If `img.pixels.len() != img.width * img.height` (the `Image` contract).
pub fn box_blur(img: &Image, radius: usize, progress: impl Fn(usize) + Sync) -> Image {
    // ANCHOR_END: box_blur
    check_dimensions(img);
    let mut pixels = vec![[0u8; 3]; img.pixels.len()];
    if has_rows(img) {
        // One output row per work item: rows are disjoint `&mut` slices, so
        // threads never share a pixel they write, and rayon's work stealing
        // balances rows across threads.
        pixels
            .par_chunks_mut(img.width)
            .enumerate()
            .for_each(|(y, row)| {
                blur_row(img, radius, y, row);
                progress(y);
            });
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
#[doc(hidden)]
pub fn box_blur_serial(img: &Image, radius: usize) -> Image {
    check_dimensions(img);
    let mut pixels = vec![[0u8; 3]; img.pixels.len()];
    if has_rows(img) {
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

// ANCHOR: histogram
/// Counts how many times each byte value occurs: `result[v]` is the number
/// of bytes equal to `v` in `values` (all zeros for an empty slice).
///
/// Count in parallel, without a shared counter: give each piece of work its
/// own table, then combine the tables. Call `progress(n)` once for each
/// piece, with the number of bytes `n` it counted, on the thread that
/// counted them: the `n`s add up to `values.len()`.
pub fn histogram(values: &[u8], progress: impl Fn(usize) + Sync) -> [u64; 256] {
    // ANCHOR_END: histogram
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
            progress(chunk.len());
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
