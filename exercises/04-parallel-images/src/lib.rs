//! # Exercise 04: parallel image processing
//!
//! Build five small image operations on RGB images held in memory, and make
//! each one use every core with rayon: `map_pixels`, `brighten`,
//! `grayscale`, `box_blur` and `histogram`. No files, no image crate: an
//! image is a `Vec` of pixels.
//!
//! Run the tests with:
//!
//! ```console
//! cargo test -p exercise-04
//! ```
//!
//! The tests compare your results, exactly, with simple serial versions
//! written in the test file, on images from 1x1 up to a few hundred pixels
//! wide. Other tests run each function in a pool of two threads and check,
//! through `f` or `progress`, that both threads did part of the work.
//! Stuck? `cargo course hint 04`. The reference solution is in
//! `solutions/04-parallel-images/`; compare with it once you are green.

// The traits that add `par_iter`, `par_chunks_mut`, ... to slices and Vecs.
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

/// Applies `f` to every pixel and returns the new image: same `width` and
/// `height`, and pixel `i` of the result is `f(img.pixels[i])`.
///
/// The calls to `f` must run in parallel on the current rayon pool (the
/// global one, or the pool of an enclosing `ThreadPool::install`).
pub fn map_pixels<F>(img: &Image, f: F) -> Image
where
    F: Fn([u8; 3]) -> [u8; 3] + Sync + Send,
{
    // TODO: call `f` on every pixel in parallel, keeping the order.
    todo!("map_pixels: apply f to every pixel in parallel")
}

/// Adds `delta` to each of the three channels of every pixel, in place,
/// saturating: a channel never goes below 0 or above 255
/// (`250 + 10 -> 255`, `5 - 10 -> 0`). `width` and `height` do not change.
///
/// Process the rows in parallel, and call `progress(y)` exactly once for
/// every row `y`, on the thread that processed that row. (A caller can draw
/// a progress bar with it; the tests use it to see which threads worked.)
/// An image without pixels has no rows: `progress` is not called.
pub fn brighten(img: &mut Image, delta: i16, progress: impl Fn(usize) + Sync) {
    // TODO: change every row in place, in parallel; report each row.
    todo!("brighten: add delta to every channel in place, saturating")
}

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
    // TODO: compute the luma of every pixel, row by row in parallel; report each row.
    todo!("grayscale: one luma byte per pixel")
}

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
    // TODO: compute the output rows in parallel; report each row.
    todo!("box_blur: average each pixel's in-bounds neighbourhood")
}

/// Counts how many times each byte value occurs: `result[v]` is the number
/// of bytes equal to `v` in `values` (all zeros for an empty slice).
///
/// Count in parallel, without a shared counter: give each piece of work its
/// own table, then combine the tables. Call `progress(n)` once for each
/// piece, with the number of bytes `n` it counted, on the thread that
/// counted them: the `n`s add up to `values.len()`.
pub fn histogram(values: &[u8], progress: impl Fn(usize) + Sync) -> [u64; 256] {
    // TODO: count in parallel pieces, report each piece, then add the pieces' tables together.
    todo!("histogram: count each byte value in parallel")
}
