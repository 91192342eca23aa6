//! # Exercise 06: a timer future, `block_on` and an executor
//!
//! Build, from the standard library alone, the three pieces that a runtime
//! such as tokio gives you ready-made. No tokio here, and no `futures` crate:
//! `std::future::Future`, `std::task::{Context, Poll, Waker, Wake}`,
//! `std::pin`, threads, and the synchronisation types you already know.
//!
//! 1. [`Delay`]: a future that completes after a given time. A timer thread
//!    wakes it; `poll` itself never blocks.
//! 2. [`block_on`]: runs one future to completion on the calling thread, and
//!    sleeps between polls until the future's waker is woken.
//! 3. [`Executor`]: runs many tasks on one thread; waking a task puts it back
//!    in the executor's run queue.
//!
//! The tests check the parts one by one, in this order; their names start
//! with `delay_`, `block_on_` and `executor_`, so you can run one part:
//!
//! ```text
//! cargo test -p exercise-06 delay_
//! cargo test -p exercise-06              # everything
//! ```
//!
//! The block_on and executor tests use your `Delay` in one test each; the
//! others use futures of their own. Stuck? `cargo course hint 06`, or read
//! `exercises/06-async-internals/hints.md`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

// ---------------------------------------------------------------------------
// Part 1: Delay
// ---------------------------------------------------------------------------

/// A future that completes once a given time has passed since it was created:
/// `Delay::new(Duration::from_millis(100)).await` waits 100 ms without
/// blocking the thread, like `tokio::time::sleep`.
///
/// Contract:
/// - the time counts from [`Delay::new`], not from the first poll; polled for
///   the first time after that time has passed, it is `Ready` at once;
/// - creating a `Delay` does nothing else: no thread, no timer. Its first
///   `Pending` poll starts *one* timer thread, which sleeps until the delay is
///   over and then wakes the waker exactly once; later polls start no more
///   threads;
/// - the waker woken is the one from the *latest* poll: a future may be polled
///   with a different waker each time (when it moves to another task), and
///   only the latest one is sure to reach the code that is waiting for it;
/// - `poll` never blocks: it returns `Pending` (or `Ready`) at once;
/// - after `Ready`, it is not polled again.
pub struct Delay {
    // TODO: the fields your Delay needs: when it is due, and whatever it shares
    // with its timer thread once that thread is running.
}

impl Delay {
    /// A delay that completes `duration` after this call.
    pub fn new(duration: Duration) -> Delay {
        // TODO: remember when the delay is over. Start nothing yet.
        todo!("Delay::new: remember the deadline")
    }
}

impl Future for Delay {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // TODO: Ready if the time is up. Otherwise make sure a timer thread
        // will wake the waker of *this* poll when it is, and return Pending.
        todo!("Delay::poll: Ready when the time is up, else arrange a wake-up")
    }
}

// ---------------------------------------------------------------------------
// Part 2: block_on
// ---------------------------------------------------------------------------

/// Runs `future` to completion on the calling thread and returns its output.
///
/// Contract:
/// - between polls the thread sleeps (it parks); it polls again only after the
///   future's waker has been woken: no busy loop, no fixed-interval polling;
/// - a wake that comes *while* the future is being polled, before it has
///   returned `Pending` (from the future itself, or from another thread), is
///   not lost: the next wait returns at once and the future is polled again;
/// - a wake-up that finds the future still `Pending` (a spurious wake-up, or
///   a wake for some progress short of completion) is not an error: poll
///   again, wait again;
/// - the future is polled only on the calling thread, and not again after it
///   returned `Ready`.
pub fn block_on<F: Future>(future: F) -> F::Output {
    // TODO: pin the future, build a waker that gets this thread out of its
    // sleep, then poll, and sleep until woken, until the future is Ready.
    todo!("block_on: poll, sleep until woken, repeat")
}

// ---------------------------------------------------------------------------
// Part 3: Executor
// ---------------------------------------------------------------------------

/// A single-threaded executor: [`spawn`](Executor::spawn) hands it tasks,
/// [`run`](Executor::run) runs them all to completion on the calling thread.
///
/// Contract:
/// - a task is polled when it is spawned (once `run` is running) and after
///   that only when its waker has been woken: a task waiting for a timer is
///   not polled in a loop;
/// - wakers may be called from any thread (a timer thread, for instance); the
///   task is then polled again on the thread that runs `run`;
/// - all tasks make progress together: while one waits, the others run, so
///   three tasks that each wait 100 ms take about 100 ms in all, not 300 ms;
/// - a task that has completed is never polled again, even if its waker is
///   woken afterwards;
/// - a task that is never woken keeps `run` waiting for ever (as it should:
///   the executor cannot know that nobody will wake it).
pub struct Executor {
    // TODO: a run queue of tasks ready to be polled, and whatever you need to
    // know when every task has completed.
}

impl Executor {
    /// An executor with no tasks.
    pub fn new() -> Executor {
        // TODO: an empty run queue.
        todo!("Executor::new: an empty run queue")
    }

    /// Adds a task that runs `future`; it starts when [`run`](Executor::run)
    /// runs. `Send` because its waker may be called from other threads.
    pub fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // TODO: wrap the future in a task that can wake itself, and queue it.
        todo!("Executor::spawn: make a task and put it in the run queue")
    }

    /// Runs every spawned task, on the calling thread, until all of them have
    /// completed; sleeps (does not spin) while every task is waiting.
    ///
    /// A panic in a task propagates out of `run`.
    pub fn run(&self) {
        // TODO: take tasks from the run queue and poll them, waiting while the
        // queue is empty, until every task has completed.
        todo!("Executor::run: poll queued tasks until all have completed")
    }
}

impl Default for Executor {
    /// Same as [`Executor::new`].
    fn default() -> Self {
        Executor::new()
    }
}
