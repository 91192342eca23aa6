//! Reference solution of exercise 09: a pipeline over bounded channels.
//!
//! ```text
//! input ──► reader ──[capacity]──► worker × N ──[capacity]──► sink
//!             ▲                                                 │
//!             └────────── credits (ordered mode only) ◄─────────┘
//! ```
//!
//! Scoped threads (`std::thread::scope`) may borrow `work`, the input and
//! the shared state, and the scope cannot end before every thread has: so
//! "every thread joined" holds by construction. Shutdown travels through
//! the channels: a stage that stops drops its ends, and its neighbours,
//! blocked or not, get an error from their next `send` or `recv` and stop
//! too. A shared flag carries the rest (the first error, or a cancel).

use std::collections::HashMap;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use crossbeam_channel::{Receiver, Sender, bounded};

// ANCHOR: types
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
// ANCHOR_END: types

impl CancelHandle {
    /// A handle that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every pipeline that uses this handle, or a clone of it, to stop.
    /// Returns at once; it does not wait for the pipeline to stop.
    pub fn cancel(&self) {
        // A lone flag that publishes no other data: Relaxed is enough.
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether `cancel` was called on this handle or on a clone of it.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
}

/// What every stage of one run shares: whether to stop, and why.
struct Shared<'a, E> {
    cancel: &'a CancelHandle,
    stop: AtomicBool,
    first_error: Mutex<Option<PipelineError<E>>>,
}

impl<E> Shared<'_, E> {
    /// Checked by every stage between two items.
    fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.cancel.is_cancelled()
    }

    /// Records `error` unless an earlier one was recorded, and stops.
    fn fail(&self, error: PipelineError<E>) {
        // No thread panics while holding this lock, but a poisoned lock is
        // no reason to lose the error.
        let mut first = self
            .first_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        first.get_or_insert(error);
        self.stop.store(true, Ordering::Relaxed);
    }
}

// ANCHOR: signature
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
    // ANCHOR_END: signature
{
    let mut sink = sink;
    let input = input.into_iter();
    let shared = Shared {
        cancel,
        stop: AtomicBool::new(false),
        first_error: Mutex::new(None),
    };

    let delivered = thread::scope(|s| {
        let shared = &shared;
        let work = &work;
        let (item_tx, item_rx) = bounded::<(usize, T)>(config.capacity);
        let (result_tx, result_rx) = bounded::<(usize, U)>(config.capacity);

        // Ordered mode: the reader takes a credit before each item, and the
        // last stage gives one back for each result it passes to `sink`.
        // With `max_in_flight` credits in all, the results that wait for a
        // slow earlier one cannot pile up without limit.
        let (credit_tx, credit_rx) = if config.ordered {
            let (tx, rx) = credits(config.max_in_flight());
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };

        let reader = s.spawn(move || read(input, item_tx, credit_rx, shared));
        for _ in 0..config.workers.max(1) {
            let (item_rx, result_tx) = (item_rx.clone(), result_tx.clone());
            s.spawn(move || work_loop(item_rx, result_tx, work, shared));
        }
        // From here on only the workers hold these ends. Keeping them would
        // keep the channels open: the loop below would never see the end
        // of the results, and the reader could wait for a worker forever.
        drop(item_rx);
        drop(result_tx);

        let delivered = match credit_tx {
            Some(credit_tx) => sink_in_order(result_rx, credit_tx, &mut sink, shared),
            None => sink_as_finished(result_rx, &mut sink, shared),
        };
        // Pass a panic of the input iterator on as it is, not as scope's
        // generic "a scoped thread panicked".
        if let Err(payload) = reader.join() {
            panic::resume_unwind(payload);
        }
        delivered
    });

    let first_error = shared
        .first_error
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    match first_error {
        Some(error) => Err(error),
        None if cancel.is_cancelled() => Err(PipelineError::Cancelled),
        None => Ok(delivered),
    }
}

/// A channel holding `n` credits: a counting semaphore made of a channel.
fn credits(n: usize) -> (Sender<()>, Receiver<()>) {
    let (tx, rx) = bounded(n);
    for _ in 0..n {
        tx.send(()).expect("the receiver is still here");
    }
    (tx, rx)
}

/// The reader: numbers the items and sends them to the workers.
fn read<T, E>(
    mut input: impl Iterator<Item = Result<T, E>>,
    items: Sender<(usize, T)>,
    credits: Option<Receiver<()>>,
    shared: &Shared<'_, E>,
) {
    for index in 0.. {
        if shared.should_stop() {
            return;
        }
        if let Some(credits) = &credits {
            // Err: the last stage has ended and dropped its Sender.
            if credits.recv().is_err() || shared.should_stop() {
                return;
            }
        }
        // Only now take the item: the check above comes first, so that a
        // stopped pipeline reads nothing more.
        let Some(item) = input.next() else { return };
        match item {
            Ok(item) => {
                // Blocks while the channel is full: that is the
                // back-pressure. Err: every worker has ended.
                if items.send((index, item)).is_err() {
                    return;
                }
            }
            Err(error) => {
                shared.fail(PipelineError::Failed(error));
                return;
            }
        }
    }
}

/// One worker: calls `work` on items until the reader is done or the
/// pipeline stops.
fn work_loop<T, U, E>(
    items: Receiver<(usize, T)>,
    results: Sender<(usize, U)>,
    work: &(impl Fn(T) -> Result<U, E> + Sync),
    shared: &Shared<'_, E>,
) {
    // Ends when the reader has dropped its Sender and the channel is empty.
    for (index, item) in items {
        if shared.should_stop() {
            return;
        }
        // A panic would end this thread and drop its channel ends, and the
        // other stages would take that for a normal end. Catch it and
        // report it like an error. (Nothing the panicking call touched is
        // used afterwards, so AssertUnwindSafe holds.)
        match panic::catch_unwind(AssertUnwindSafe(|| work(item))) {
            Ok(Ok(result)) => {
                if results.send((index, result)).is_err() {
                    return; // the last stage has ended
                }
            }
            Ok(Err(error)) => return shared.fail(PipelineError::Failed(error)),
            Err(_panic) => return shared.fail(PipelineError::WorkPanicked { index }),
        }
    }
}

/// The last stage, unordered: each result goes to `sink` as it arrives.
fn sink_as_finished<U, E>(
    results: Receiver<(usize, U)>,
    sink: &mut impl FnMut(U) -> Result<(), E>,
    shared: &Shared<'_, E>,
) -> usize {
    let mut delivered = 0;
    // Leaving this loop drops `results`: workers blocked in `send` wake up
    // with an error and stop.
    for (_, result) in results {
        if shared.should_stop() {
            break;
        }
        if let Err(error) = sink(result) {
            shared.fail(PipelineError::Failed(error));
            break;
        }
        delivered += 1;
    }
    delivered
}

/// The last stage, ordered: results that arrive before an earlier one wait
/// in `early`, keyed by index, until their turn.
fn sink_in_order<U, E>(
    results: Receiver<(usize, U)>,
    credits: Sender<()>,
    sink: &mut impl FnMut(U) -> Result<(), E>,
    shared: &Shared<'_, E>,
) -> usize {
    let mut early = HashMap::new();
    let mut next = 0;
    for (index, result) in results {
        early.insert(index, result);
        while let Some(result) = early.remove(&next) {
            if shared.should_stop() {
                return next;
            }
            if let Err(error) = sink(result) {
                shared.fail(PipelineError::Failed(error));
                return next;
            }
            next += 1;
            // One item has left the pipeline: the reader may take another.
            // Never blocks (there are never more credits than room for
            // them); Err means the reader has ended, which is fine.
            let _ = credits.send(());
        }
    }
    next
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
