//! # Exercise 09: a pipeline over bounded channels
//!
//! Build [`run`], a three-stage pipeline on threads:
//!
//! ```text
//! input ──► reader ──[capacity]──► worker × N ──[capacity]──► sink
//! ```
//!
//! A reader thread takes items from an iterator, `workers` threads call a
//! function on them in parallel, and the calling thread passes the results
//! to a sink, in input order when asked. The channels between the stages
//! are bounded, so memory stays bounded however slow the sink is; the first
//! error stops every stage; a [`CancelHandle`] stops the pipeline from
//! another thread.
//!
//! Run the tests with:
//!
//! ```console
//! cargo test -p exercise-09
//! ```
//!
//! Stuck? `cargo course hint 09`. The reference solution is in
//! `solutions/09-pipeline/`; compare with it once you are green.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use crossbeam_channel::{Receiver, Sender, bounded};

/// How to run a pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// How many worker threads call `work`. `0` is treated as `1`.
    pub workers: usize,
    /// The capacity of each of the two channels (reader to workers, workers
    /// to sink). `0` makes them rendezvous channels.
    pub capacity: usize,
    /// `true`: `sink` receives the results in input order.
    /// `false`: in the order in which the workers finish them.
    pub ordered: bool,
}

impl Config {
    /// The most items that may be *in flight* at once: taken from the input
    /// but not yet passed to `sink`. That is `2 * capacity + workers + 2`:
    /// a full channel on each side of the workers, one item in each worker,
    /// one that the reader holds while it waits to send it, and one that the
    /// last stage holds while it waits to pass it to `sink`. In ordered mode,
    /// results that wait for an earlier one count too.
    pub fn max_in_flight(&self) -> usize {
        2 * self.capacity + self.workers.max(1) + 2
    }
}

/// Why a pipeline stopped before the end of its input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PipelineError<E> {
    /// The input, `work` or `sink` returned this error: the first one that
    /// happened.
    Failed(E),
    /// The call of `work` on the item at this index (0 for the first item of
    /// the input) panicked.
    WorkPanicked { index: usize },
    /// The pipeline's [`CancelHandle`] was cancelled.
    Cancelled,
}

/// Stops a pipeline from any thread. Clones share one state: cancelling
/// one cancels them all. A new handle is not cancelled, and a cancelled
/// handle stays cancelled.
#[derive(Clone, Debug, Default)]
pub struct CancelHandle {
    cancelled: Arc<AtomicBool>,
}

impl CancelHandle {
    /// A handle that is not cancelled.
    pub fn new() -> Self {
        // TODO: a handle whose shared flag is not set.
        todo!("CancelHandle::new")
    }

    /// Asks every pipeline that uses this handle, or a clone of it, to stop.
    /// Returns at once; it does not wait for the pipeline to stop.
    pub fn cancel(&self) {
        // TODO: set the shared flag.
        todo!("CancelHandle::cancel")
    }

    /// Whether `cancel` was called on this handle or on a clone of it.
    pub fn is_cancelled(&self) -> bool {
        // TODO: read the shared flag.
        todo!("CancelHandle::is_cancelled")
    }
}

/// Runs `input` through `work` on `config.workers` threads and passes each
/// result to `sink`. Returns how many results `sink` received.
///
/// The stages:
/// - **read**: one thread takes the items from `input`, in order; the item
///   at index `i` is the `i`-th item of the input (from 0);
/// - **work**: `config.workers` threads call `work` on the items, at the
///   same time (with 3 workers, 3 calls can be running at once);
/// - **sink**: the calling thread passes each result to `sink`: in input
///   order if `config.ordered`, otherwise in the order they are finished.
///
/// Memory: the two channels between the stages hold at most
/// `config.capacity` items each. However slow `sink` (or one call of
/// `work`) is, at most `config.max_in_flight()` items are in flight at any
/// moment. In ordered mode that includes the results waiting for an
/// earlier one: the reader must wait before it takes an item that would
/// exceed the limit.
///
/// Errors: the first `Err(e)` from `input`, `work` or `sink`, or the first
/// panic in `work`, stops every stage: the reader reads no more items, the
/// workers start no more calls of `work`, and `sink` receives no more
/// results. `run` then returns `Err(PipelineError::Failed(e))` or
/// `Err(PipelineError::WorkPanicked { index })`. A panic in `sink` or in
/// the input iterator is not caught: it reaches the caller of `run`.
///
/// Cancelling: when `cancel` is cancelled, every stage stops in the same
/// way, and `run` returns `Err(PipelineError::Cancelled)`, unless an error
/// stopped it first. A stage notices between two items: a call of `next`,
/// `work` or `sink` that is running is not interrupted. If `cancel` is
/// already cancelled when `run` starts, no item is read.
///
/// Threads: `run` returns only after every thread it started has ended,
/// whether it succeeds, fails or is cancelled.
pub fn run<I, T, U, E, W, S>(
    config: &Config,
    cancel: &CancelHandle,
    input: I,
    work: W,
    sink: S,
) -> Result<usize, PipelineError<E>>
where
    I: IntoIterator<Item = Result<T, E>>,
    I::IntoIter: Send,
    T: Send,
    U: Send,
    E: Send,
    W: Fn(T) -> Result<U, E> + Sync,
    S: FnMut(U) -> Result<(), E>,
{
    // TODO: inside `thread::scope`, start one reader thread and
    // `config.workers` worker threads, joined by two bounded channels; pass
    // the results to `sink` on this thread; stop everything at the first
    // error or when `cancel` is cancelled.
    todo!("run: read, work in parallel, sink")
}

impl<E: fmt::Display> fmt::Display for PipelineError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PipelineError::Failed(e) => write!(f, "pipeline failed: {e}"),
            PipelineError::WorkPanicked { index } => {
                write!(f, "pipeline failed: work panicked on item {index}")
            }
            PipelineError::Cancelled => write!(f, "pipeline cancelled"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for PipelineError<E> {}
