//! # Exercise 06, reference solution: a timer future, `block_on` and an executor
//!
//! Three pieces of a runtime, from the standard library alone:
//! - [`Delay`] shares a little state (done yet? whom to wake?) with a timer
//!   thread that it starts on its first poll;
//! - [`block_on`] parks its thread between polls, and a waker that sets a
//!   flag and unparks the thread wakes it;
//! - [`Executor`] keeps its run queue in a `std::sync::mpsc` channel: waking a
//!   task sends the task (an `Arc<Task>`) into the channel, and `run` receives
//!   tasks from it and polls them.
//!
//! See the exercise's crate documentation for the contract of each part.

use std::cell::Cell;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

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
    // When the delay is over, fixed at creation.
    deadline: Instant,
    // The state shared with the timer thread; `None` until the first poll
    // starts that thread.
    shared: Option<Arc<Mutex<Shared>>>,
}

// What the future and its timer thread both see, behind one mutex.
struct Shared {
    done: bool,
    // The waker of the latest poll, taken by the timer thread when it fires.
    waker: Option<Waker>,
}

impl Delay {
    /// A delay that completes `duration` after this call.
    pub fn new(duration: Duration) -> Delay {
        Delay {
            deadline: Instant::now() + duration,
            shared: None,
        }
    }
}

impl Future for Delay {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // `Delay` is `Unpin` (an `Instant` and an `Option<Arc>` do not care
        // where they live), so the pin lets us at its fields directly.
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        match &self.shared {
            Some(shared) => {
                let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
                if shared.done {
                    return Poll::Ready(());
                }
                // Keep the latest waker. `will_wake` spares the clone when the
                // executor polls with the same waker as last time, the usual case.
                let same = shared
                    .waker
                    .as_ref()
                    .is_some_and(|old| old.will_wake(cx.waker()));
                if !same {
                    shared.waker = Some(cx.waker().clone());
                }
            }
            None => {
                let shared = Arc::new(Mutex::new(Shared {
                    done: false,
                    waker: Some(cx.waker().clone()),
                }));
                let deadline = self.deadline;
                let timer = Arc::clone(&shared);
                thread::spawn(move || {
                    // `thread::sleep` sleeps at least this long, never less.
                    thread::sleep(deadline.saturating_duration_since(Instant::now()));
                    let waker = {
                        let mut shared = timer.lock().unwrap_or_else(PoisonError::into_inner);
                        shared.done = true;
                        shared.waker.take()
                    };
                    // Wake outside the lock: a waker may run arbitrary code
                    // (here, an executor's queue), and should not run it while
                    // we hold a lock the future also takes.
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                });
                self.shared = Some(shared);
            }
        }
        Poll::Pending
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
    // `pin!` pins the future on this stack frame: it never moves again, which
    // `poll` requires of futures that are not `Unpin` (most async blocks).
    let mut future = pin!(future);
    let signal = Arc::new(Signal {
        woken: AtomicBool::new(false),
        thread: thread::current(),
    });
    let waker = Waker::from(Arc::clone(&signal));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        // Wait for a wake. The flag is cleared here, *after* the wake it
        // records, never before a poll: a wake during the poll above has
        // already set it, and the loop then returns at once. The `while`
        // covers spurious returns of `park`, which the standard library allows.
        while !signal.woken.swap(false, Ordering::Acquire) {
            thread::park();
        }
    }
}

// The waker of `block_on`: "something happened" (the flag), and a way to get
// the sleeping thread out of `park`.
struct Signal {
    woken: AtomicBool,
    thread: Thread,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Flag first, then unpark: the thread may be just about to check the
        // flag, and must see it set when it wakes up.
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
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
    // The run queue. Each task holds a `Sender` to push itself back when it
    // is woken; `run` receives from the other end.
    queue: Sender<Arc<Task>>,
    ready: Receiver<Arc<Task>>,
    // Tasks spawned and not completed yet; `run` returns when it reaches 0.
    unfinished: Cell<usize>,
}

// A spawned task is its own waker: waking it sends it to the run queue.
struct Task {
    // The future, boxed and pinned, taken out (`None`) once it has completed.
    // A mutex because `Wake` requires `Send + Sync`: the waker may travel to
    // other threads, and the task with it. Only the executor's thread locks it.
    future: Mutex<Option<Pin<Box<dyn Future<Output = ()> + Send>>>>,
    queue: Sender<Arc<Task>>,
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        let queue = self.queue.clone();
        // Fails only if the executor is gone; then there is nothing to run.
        let _ = queue.send(self);
    }
}

impl Executor {
    /// An executor with no tasks.
    pub fn new() -> Executor {
        let (queue, ready) = mpsc::channel();
        Executor {
            queue,
            ready,
            unfinished: Cell::new(0),
        }
    }

    /// Adds a task that runs `future`; it starts when [`run`](Executor::run)
    /// runs. `Send` because its waker may be called from other threads.
    pub fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let task = Arc::new(Task {
            future: Mutex::new(Some(Box::pin(future))),
            queue: self.queue.clone(),
        });
        self.unfinished.set(self.unfinished.get() + 1);
        // A new task starts in the run queue, as if it had just been woken.
        let _ = self.queue.send(task);
    }

    /// Runs every spawned task, on the calling thread, until all of them have
    /// completed; sleeps (does not spin) while every task is waiting.
    ///
    /// A panic in a task propagates out of `run`.
    pub fn run(&self) {
        while self.unfinished.get() > 0 {
            // `recv` parks this thread until a task is woken. It cannot fail:
            // `self.queue` is a sender that lives as long as we do.
            let Ok(task) = self.ready.recv() else {
                unreachable!("the executor holds a sender")
            };
            let mut slot = task.future.lock().unwrap_or_else(PoisonError::into_inner);
            // `None`: the task completed, and a late wake queued it again.
            let Some(future) = slot.as_mut() else {
                continue;
            };
            // The task's waker is the task itself: an `Arc<Task>` turned into a
            // `Waker` (one reference-count increment, no allocation).
            let waker = Waker::from(Arc::clone(&task));
            let mut cx = Context::from_waker(&waker);
            if future.as_mut().poll(&mut cx).is_ready() {
                // Drop the future now (it may hold resources), and never poll
                // it again.
                *slot = None;
                self.unfinished.set(self.unfinished.get() - 1);
            }
        }
    }
}

impl Default for Executor {
    /// Same as [`Executor::new`].
    fn default() -> Self {
        Executor::new()
    }
}
