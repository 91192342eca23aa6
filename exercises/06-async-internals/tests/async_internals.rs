//! The specification of exercise 06, in three parts:
//!
//! 1. `delay_*`: your `Delay`, polled by hand with wakers that count their
//!    wake-ups;
//! 2. `block_on_*`: your `block_on`, with futures of this file whose wake-ups
//!    the tests control, wrapped in a counter of polls;
//! 3. `executor_*`: your `Executor`, with thousands of tasks, tasks woken from
//!    other threads, and your `Delay`.
//!
//! Run one part with `cargo test -p exercise-06 delay_` (or `block_on_`,
//! `executor_`). No tokio here: the tests wait in real time, mostly a few
//! tens of milliseconds (150 ms at most), and every test runs under a
//! watchdog (`testkit::within`) so that code that never wakes up fails with a
//! message instead of hanging.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use exercise_06::{Delay, Executor, block_on};
use testkit::{LIMIT, within};

/// The watchdog of tests whose work takes at most a few hundred milliseconds:
/// code that loses a wake-up hangs, and is reported after 1 s.
const QUICK: Duration = Duration::from_secs(1);

/// How long a test waits for a Delay of a few tens of milliseconds to wake
/// its waker before it gives up.
const WAKE_WAIT: Duration = Duration::from_secs(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------
// Helpers: wakers and futures whose behaviour the tests control.
// ---------------------------------------------------------------------------

/// A waker for polling by hand: it counts its wake-ups and reports each one
/// on a channel, so that a test can wait for it.
struct TestWaker {
    wakes: AtomicUsize,
    tx: mpsc::Sender<()>,
}

impl Wake for TestWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        let _ = self.tx.send(());
    }
}

/// A fresh test waker: its counter, the `Waker` to poll with, and the channel
/// on which each wake-up arrives.
fn test_waker() -> (Arc<TestWaker>, Waker, mpsc::Receiver<()>) {
    let (tx, rx) = mpsc::channel();
    let state = Arc::new(TestWaker {
        wakes: AtomicUsize::new(0),
        tx,
    });
    let waker = Waker::from(Arc::clone(&state));
    (state, waker, rx)
}

/// Polls `future` once with `waker`, as an executor would.
fn poll_with<F: Future>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}

/// A future completed by hand. `wait()` gives a future that is ready once
/// `fire()` has been called; `fire()` wakes it. `nudge()` wakes it without
/// making it ready: a spurious wake-up.
#[derive(Clone, Default)]
struct Trigger(Arc<Mutex<TriggerState>>);

#[derive(Default)]
struct TriggerState {
    fired: bool,
    waker: Option<Waker>,
}

impl Trigger {
    fn fire(&self) {
        let waker = {
            let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            state.fired = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn nudge(&self) {
        let waker = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .waker
            .clone();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Fires from another thread after `delay`.
    fn fire_after(&self, delay: Duration) {
        let trigger = self.clone();
        thread::spawn(move || {
            thread::sleep(delay);
            trigger.fire();
        });
    }

    fn wait(&self) -> Fired {
        Fired(self.clone())
    }
}

struct Fired(Trigger);

impl Future for Fired {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.0.0.lock().unwrap_or_else(PoisonError::into_inner);
        if state.fired {
            Poll::Ready(())
        } else {
            state.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// Wraps a future and counts how often it is polled. Polling it again after
/// it returned `Ready` is a bug in the executor, and panics.
struct Counted<F: Future> {
    inner: Pin<Box<F>>,
    polls: Arc<AtomicUsize>,
    finished: bool,
}

/// `future` wrapped in a poll counter, and the counter.
fn counted<F: Future>(future: F) -> (Counted<F>, Arc<AtomicUsize>) {
    let polls = Arc::new(AtomicUsize::new(0));
    let counted = Counted {
        inner: Box::pin(future),
        polls: Arc::clone(&polls),
        finished: false,
    };
    (counted, polls)
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        assert!(
            !self.finished,
            "a future was polled again after it had returned Poll::Ready: once a \
             task's future completes, drop it and never poll it again (an async \
             block panics with \"`async fn` resumed after completion\")"
        );
        let output = self.inner.as_mut().poll(cx);
        self.finished = output.is_ready();
        output
    }
}

/// Returns `Pending` once, after waking its own waker: "poll me again".
/// Much like `tokio::task::yield_now`, without tokio.
struct YieldOnce(bool);

fn yield_once() -> YieldOnce {
    YieldOnce(false)
}

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Chapter 1's dashboard, with `Delay` in place of `tokio::time::sleep`.
mod shop {
    use super::*;

    pub const USER_LATENCY: Duration = Duration::from_millis(10);
    pub const ORDERS_LATENCY: Duration = Duration::from_millis(20);

    pub async fn fetch_user(id: u32) -> String {
        Delay::new(USER_LATENCY).await;
        format!("user-{id}")
    }

    pub async fn fetch_orders(id: u32) -> Vec<u32> {
        Delay::new(ORDERS_LATENCY).await;
        vec![id * 100 + 1, id * 100 + 2]
    }

    pub async fn load_dashboard_sequential(id: u32) -> (String, Vec<u32>) {
        let user = fetch_user(id).await;
        let orders = fetch_orders(id).await;
        (user, orders)
    }
}

// ---------------------------------------------------------------------------
// Part 1: Delay
// ---------------------------------------------------------------------------

#[test]
fn delay_is_pending_before_its_time() {
    within(
        LIMIT,
        "the first poll of a 200 ms Delay to return Pending at once",
        || {
            let (_state, waker, _wakes) = test_waker();
            let mut delay = Box::pin(Delay::new(ms(200)));
            let start = Instant::now();
            let first = poll_with(delay.as_mut(), &waker);
            let took = start.elapsed();
            assert!(
                first.is_pending(),
                "a fresh 200 ms Delay returned Ready on its first poll: it must return \
                 Pending until its time has passed"
            );
            assert!(
                took < ms(100),
                "the first poll of a 200 ms Delay took {took:?}: poll must never block \
                 (no thread::sleep in poll; a timer thread does the waiting)"
            );
        },
    );
}

#[test]
fn delay_wakes_its_waker_once_its_time_has_passed() {
    within(LIMIT, "a 20 ms Delay to wake its waker after 20 ms", || {
        let (_state, waker, wakes) = test_waker();
        let start = Instant::now();
        let mut delay = Box::pin(Delay::new(ms(20)));
        assert!(poll_with(delay.as_mut(), &waker).is_pending());
        let woken = wakes.recv_timeout(WAKE_WAIT);
        let after = start.elapsed();
        assert!(
            woken.is_ok(),
            "a 20 ms Delay returned Pending but had not woken its waker after {WAKE_WAIT:?}: \
             a future that returns Pending must make sure its waker is woken later, \
             or nobody ever polls it again"
        );
        assert!(
            after >= ms(20),
            "the waker was woken after {after:?}, before the 20 ms were over"
        );
    });
}

#[test]
fn delay_is_ready_when_polled_after_its_wake() {
    within(
        LIMIT,
        "a 20 ms Delay to be Ready once it has woken its waker",
        || {
            let (_state, waker, wakes) = test_waker();
            let mut delay = Box::pin(Delay::new(ms(20)));
            assert!(poll_with(delay.as_mut(), &waker).is_pending());
            wakes
                .recv_timeout(WAKE_WAIT)
                .expect("the Delay never woke its waker");
            assert!(
                poll_with(delay.as_mut(), &waker).is_ready(),
                "the Delay woke its waker, but the next poll returned Pending: after the \
                 wake-up it must be Ready"
            );
        },
    );
}

#[test]
fn delay_wakes_the_latest_waker_it_was_polled_with() {
    within(
        LIMIT,
        "a Delay polled with waker A, then B, to wake B",
        || {
            let (_a, waker_a, _wakes_a) = test_waker();
            let (_b, waker_b, wakes_b) = test_waker();
            let mut delay = Box::pin(Delay::new(ms(20)));
            assert!(poll_with(delay.as_mut(), &waker_a).is_pending());
            assert!(poll_with(delay.as_mut(), &waker_b).is_pending());
            assert!(
                wakes_b.recv_timeout(WAKE_WAIT).is_ok(),
                "the Delay was polled with waker A, then with waker B, and B was never \
                 woken: on every poll, replace the stored waker with the one in this \
                 poll's Context (Waker::will_wake tells whether they are the same)"
            );
        },
    );
}

#[test]
fn delay_polled_many_times_wakes_its_waker_once() {
    within(
        LIMIT,
        "a Delay polled 50 times to wake its waker once",
        || {
            let (state, waker, wakes) = test_waker();
            let mut delay = Box::pin(Delay::new(ms(20)));
            for _ in 0..50 {
                assert!(poll_with(delay.as_mut(), &waker).is_pending());
            }
            wakes
                .recv_timeout(WAKE_WAIT)
                .expect("the Delay never woke its waker");
            // Any further wake-up would come within microseconds of the first.
            thread::sleep(ms(20));
            let n = state.wakes.load(Ordering::SeqCst);
            assert_eq!(
                n, 1,
                "a Delay polled 50 times before its time woke its waker {n} times: start \
                 one timer thread, on the first poll, and not one per poll"
            );
        },
    );
}

#[test]
fn delay_created_earlier_is_ready_at_its_first_poll() {
    within(
        LIMIT,
        "a 10 ms Delay polled after 20 ms to be Ready",
        || {
            let (_state, waker, _wakes) = test_waker();
            let mut delay = Box::pin(Delay::new(ms(10)));
            thread::sleep(ms(20));
            assert!(
                poll_with(delay.as_mut(), &waker).is_ready(),
                "a 10 ms Delay first polled 20 ms after Delay::new returned Pending: its \
                 time counts from Delay::new, like tokio::time::sleep, not from the \
                 first poll"
            );
        },
    );
}

// ---------------------------------------------------------------------------
// Part 2: block_on
// ---------------------------------------------------------------------------

#[test]
fn block_on_returns_the_output_of_a_future_that_is_ready_at_once() {
    within(LIMIT, "block_on(async { .. }) to return its value", || {
        let got = block_on(async {
            // A reference into the future's own state, alive across an .await:
            // this future is not Unpin, and must be pinned before polling.
            let numbers = [1, 2, 3];
            let first = &numbers[0];
            std::future::ready(()).await;
            *first + numbers.len()
        });
        assert_eq!(got, 4, "block_on should return the future's output");
    });
}

#[test]
fn block_on_waits_for_a_wake_from_another_thread() {
    within(
        LIMIT,
        "block_on to return once another thread wakes the future (20 ms)",
        || {
            let trigger = Trigger::default();
            let start = Instant::now();
            trigger.fire_after(ms(20));
            let got = block_on(async {
                trigger.wait().await;
                "fired"
            });
            assert_eq!(got, "fired");
            assert!(start.elapsed() >= ms(20));
        },
    );
}

#[test]
fn block_on_sleeps_between_polls_instead_of_spinning() {
    within(
        LIMIT,
        "block_on to poll a future woken once about twice",
        || {
            let trigger = Trigger::default();
            let (future, polls) = counted(trigger.wait());
            trigger.fire_after(ms(30));
            block_on(future);
            let n = polls.load(Ordering::SeqCst);
            assert!(
                n <= 5,
                "block_on polled a future {n} times in 30 ms, although it was woken only \
                 once: a correct block_on polls, sleeps until the waker is woken \
                 (thread::park, and unpark in the waker), and polls again: 2 polls here"
            );
        },
    );
}

/// Wakes its own waker, then returns Pending, `times` times; then Ready.
struct WakeThenPending {
    times: usize,
}

impl Future for WakeThenPending {
    type Output = &'static str;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        if self.times == 0 {
            return Poll::Ready("done");
        }
        self.times -= 1;
        cx.waker().wake_by_ref(); // the wake comes *before* Pending is returned
        Poll::Pending
    }
}

#[test]
fn block_on_handles_a_wake_that_comes_before_pending() {
    within(
        QUICK,
        "block_on to finish a future that wakes itself before returning Pending",
        || {
            let got = block_on(WakeThenPending { times: 3 });
            assert_eq!(got, "done");
        },
    );
}

/// On its first poll, another thread wakes the waker, and only then does
/// `poll` return Pending. Ready on the second poll.
struct WokenFromAnotherThreadDuringPoll {
    polled: bool,
}

impl Future for WokenFromAnotherThreadDuringPoll {
    type Output = &'static str;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        if self.polled {
            return Poll::Ready("done");
        }
        self.polled = true;
        let waker = cx.waker().clone();
        thread::spawn(move || waker.wake())
            .join()
            .expect("the waking thread panicked");
        Poll::Pending
    }
}

#[test]
fn block_on_handles_a_wake_from_another_thread_during_poll() {
    within(
        QUICK,
        "block_on to finish a future woken from another thread before it returned Pending",
        || {
            let got = block_on(WokenFromAnotherThreadDuringPoll { polled: false });
            assert_eq!(got, "done");
        },
    );
}

#[test]
fn block_on_polls_again_after_a_spurious_wake_up() {
    within(
        LIMIT,
        "block_on to survive 5 wake-ups that find the future still pending",
        || {
            let trigger = Trigger::default();
            let (future, polls) = counted(trigger.wait());
            let nudger = trigger.clone();
            thread::spawn(move || {
                // Five wake-ups while the future is still pending, then the real one.
                for _ in 0..5 {
                    thread::sleep(ms(3));
                    nudger.nudge();
                }
                thread::sleep(ms(3));
                nudger.fire();
            });
            block_on(future);
            let n = polls.load(Ordering::SeqCst);
            assert!(
                (2..=10).contains(&n),
                "expected between 2 and 10 polls (at most one per wake-up), got {n}"
            );
        },
    );
}

#[test]
fn block_on_runs_an_async_fn_built_on_delay() {
    within(
        LIMIT,
        "block_on(load_dashboard_sequential(7)) to return after 30 ms",
        || {
            let start = Instant::now();
            let (user, orders) = block_on(shop::load_dashboard_sequential(7));
            let took = start.elapsed();
            assert_eq!(user, "user-7");
            assert_eq!(orders, vec![701, 702]);
            assert!(
                took >= shop::USER_LATENCY + shop::ORDERS_LATENCY,
                "two Delays awaited one after the other (10 ms + 20 ms) took {took:?}"
            );
        },
    );
}

// ---------------------------------------------------------------------------
// Part 3: Executor
// ---------------------------------------------------------------------------

#[test]
fn executor_run_returns_when_there_is_nothing_to_run() {
    within(
        LIMIT,
        "run() on an executor without tasks to return at once",
        || {
            Executor::new().run();
        },
    );
}

#[test]
fn executor_runs_a_spawned_task_to_completion() {
    within(LIMIT, "run() to run one task and return", || {
        let done = Arc::new(AtomicUsize::new(0));
        let executor = Executor::new();
        let flag = Arc::clone(&done);
        executor.spawn(async move {
            flag.store(1, Ordering::SeqCst);
        });
        executor.run();
        assert_eq!(
            done.load(Ordering::SeqCst),
            1,
            "run() returned, but the spawned task never ran"
        );
    });
}

#[test]
fn executor_runs_ten_thousand_tasks_that_yield() {
    within(
        LIMIT,
        "run() to finish 10,000 tasks that each yield once",
        || {
            let finished = Arc::new(AtomicUsize::new(0));
            let executor = Executor::new();
            for _ in 0..10_000 {
                let finished = Arc::clone(&finished);
                executor.spawn(async move {
                    yield_once().await; // wakes its own waker, returns Pending once
                    finished.fetch_add(1, Ordering::SeqCst);
                });
            }
            executor.run();
            let n = finished.load(Ordering::SeqCst);
            assert_eq!(
                n, 10_000,
                "run() returned after {n} of 10,000 tasks had finished: it must wait \
                 until every task has completed"
            );
        },
    );
}

#[test]
fn executor_runs_every_task_on_the_thread_that_calls_run() {
    within(LIMIT, "run() to poll every task on its own thread", || {
        let caller = thread::current().id();
        let elsewhere = Arc::new(AtomicUsize::new(0));
        let executor = Executor::new();
        for i in 0..100 {
            let elsewhere = Arc::clone(&elsewhere);
            let trigger = Trigger::default();
            // Every tenth task is woken from another thread.
            if i % 10 == 0 {
                trigger.fire_after(ms(5));
            } else {
                trigger.fire();
            }
            executor.spawn(async move {
                let before = thread::current().id();
                trigger.wait().await;
                yield_once().await;
                for id in [before, thread::current().id()] {
                    if id != caller {
                        elsewhere.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
        executor.run();
        let n = elsewhere.load(Ordering::SeqCst);
        assert_eq!(
            n, 0,
            "{n} polls ran on a thread other than the one that called run(): this \
             executor is single-threaded; a waker called from another thread only \
             puts the task back in the queue, and run() polls it"
        );
    });
}

#[test]
fn executor_polls_a_waiting_task_only_when_it_is_woken() {
    within(LIMIT, "a task woken once to be polled about twice", || {
        let trigger = Trigger::default();
        let (future, polls) = counted(trigger.wait());
        let executor = Executor::new();
        executor.spawn(future);
        trigger.fire_after(ms(30));
        executor.run();
        let n = polls.load(Ordering::SeqCst);
        assert!(
            n <= 5,
            "a task that was woken once was polled {n} times in 30 ms: poll a task \
             when it is spawned and then only when its waker is woken (2 polls here)"
        );
    });
}

/// CPU time used so far by the calling thread (Linux: /proc/thread-self/stat).
#[cfg(target_os = "linux")]
#[track_caller]
fn thread_cpu_time() -> Duration {
    let stat =
        std::fs::read_to_string("/proc/thread-self/stat").expect("reading /proc/thread-self/stat");
    // Fields after the ")" that ends the thread's name: state is the first,
    // utime and stime (in clock ticks of 10 ms) the 12th and 13th.
    let after_name = &stat[stat.rfind(')').expect("a ')' in the stat line") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

#[test]
#[cfg(target_os = "linux")]
fn executor_sleeps_while_every_task_waits() {
    within(
        LIMIT,
        "run() to sleep while its only task waits 150 ms",
        || {
            let trigger = Trigger::default();
            let executor = Executor::new();
            executor.spawn(trigger.wait());
            trigger.fire_after(ms(150));
            let before = thread_cpu_time();
            executor.run();
            let used = thread_cpu_time() - before;
            assert!(
                used <= ms(30),
                "run() used {used:?} of CPU time while its only task waited 150 ms for a \
                 wake-up: when the run queue is empty, block (a blocking recv, a Condvar, \
                 thread::park) instead of checking the queue in a loop"
            );
        },
    );
}

#[test]
fn executor_never_polls_a_task_after_it_completed() {
    within(
        LIMIT,
        "a task woken after it completed not to be polled again",
        || {
            let stored: Arc<Mutex<Option<Waker>>> = Arc::default();
            let executor = Executor::new();

            // Task A keeps its waker and completes at once.
            let slot = Arc::clone(&stored);
            let (task_a, polls_a) = counted(std::future::poll_fn(move |cx| {
                *slot.lock().unwrap() = Some(cx.waker().clone());
                Poll::Ready(())
            }));
            executor.spawn(task_a);

            // Task B waits (yielding) until A has completed and left its
            // waker, wakes it, then yields once more, so that the executor is
            // still running when A's late wake-up reaches the run queue.
            let slot = Arc::clone(&stored);
            executor.spawn(async move {
                let waker = loop {
                    if let Some(waker) = slot.lock().unwrap().take() {
                        break waker;
                    }
                    yield_once().await;
                };
                waker.wake();
                yield_once().await;
            });

            executor.run();
            let n = polls_a.load(Ordering::SeqCst);
            assert_eq!(
                n, 1,
                "a task that completed on its first poll was polled {n} times"
            );
        },
    );
}

#[test]
fn executor_runs_delays_concurrently() {
    within(
        QUICK,
        "three 100 ms Delays in three tasks to take about 100 ms",
        || {
            let executor = Executor::new();
            let done = Arc::new(AtomicUsize::new(0));
            let start = Instant::now();
            for _ in 0..3 {
                let done = Arc::clone(&done);
                executor.spawn(async move {
                    Delay::new(ms(100)).await;
                    done.fetch_add(1, Ordering::SeqCst);
                });
            }
            executor.run();
            let took = start.elapsed();
            assert_eq!(done.load(Ordering::SeqCst), 3);
            assert!(
                took >= ms(100),
                "three 100 ms Delays finished after {took:?}, before 100 ms"
            );
            assert!(
                took < ms(250),
                "three tasks that each wait 100 ms took {took:?}; the sum is 300 ms, the \
                 longest 100 ms. While one task waits, the executor must poll the \
                 others: never block on one task (no block_on per task, no \
                 thread::sleep in poll)"
            );
        },
    );
}

#[test]
fn executor_runs_an_async_fn_to_completion() {
    within(
        LIMIT,
        "the executor to run load_dashboard_sequential(7)",
        || {
            let result = Arc::new(Mutex::new(None));
            let executor = Executor::new();
            let slot = Arc::clone(&result);
            executor.spawn(async move {
                let dashboard = shop::load_dashboard_sequential(7).await;
                *slot.lock().unwrap() = Some(dashboard);
            });
            executor.run();
            let got = result.lock().unwrap().take();
            assert_eq!(
                got,
                Some(("user-7".to_string(), vec![701, 702])),
                "run() returned before the async fn had finished, or it returned the \
                 wrong dashboard"
            );
        },
    );
}
