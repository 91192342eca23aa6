//! Test helpers shared by the exercises.
//!
//! Learner code may hang: a deadlock, a forgotten `.await`, a loop that never
//! ends, or a blocking call on an async worker thread. A timeout *inside* the
//! async runtime cannot catch the last two, because the thread that would
//! notice the deadline is the one that is stuck. So every helper here runs the
//! test body on its own thread and waits for it from the test's thread, on the
//! real clock. When the limit passes, the test fails with a message saying
//! what was expected; the stuck thread is abandoned and dies with the process.
//!
//! Two more rules keep a broken exercise quick to report:
//! - once one test of a run has hung, the others wait at most [`AFTER_A_HANG`]:
//!   code that hangs in one test usually hangs in all of them, and a run of
//!   fifteen tests should not take fifteen full limits to say so;
//! - on a paused clock ([`block_on_paused`]) no test needs real time, so a
//!   runtime thread that stays busy for [`BLOCKED`] of real time without
//!   going idle fails the test: something blocked it (`std::thread::sleep`,
//!   blocking I/O), which the paused clock would otherwise hide.
//!
//! The helpers are `#[track_caller]`: a failure points at the test's line.

#[cfg(feature = "rayon")]
mod probe;
#[cfg(feature = "rayon")]
pub use probe::{TwoThreadProbe, WAIT_FOR_THE_OTHER_THREAD};

use std::panic;
use std::sync::Mutex;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The default limit: long enough for a slow, loaded machine (the tests'
/// real work takes milliseconds), short enough that a hang is noticed soon.
pub const LIMIT: Duration = Duration::from_secs(5);

/// How long the other tests of a run wait once one test has hung.
pub const AFTER_A_HANG: Duration = Duration::from_secs(1);

/// On a paused clock, the longest stretch of real time the runtime's thread
/// may work without going idle before the test fails as "blocked".
pub const BLOCKED: Duration = Duration::from_millis(400);

/// The first test of this run that timed out, if any.
static FIRST_HANG: Mutex<Option<String>> = Mutex::new(None);

/// Runs `body` on a fresh thread and returns its result. Fails the test if it
/// takes longer than `limit`; `expected` says what should have happened.
///
/// A panic in `body` (a failed assertion, a `todo!()`) is passed on unchanged;
/// the body's thread carries the test's name, so its panic message does too.
#[track_caller]
pub fn within<T, F>(limit: Duration, expected: &str, body: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let test = thread::current().name().unwrap_or("test").to_owned();
    let (done, result) = mpsc::channel();
    let worker = thread::Builder::new()
        .name(test.clone())
        .spawn(move || {
            let value = body();
            let _ = done.send(value);
        })
        .expect("spawning the test thread");
    let started = Instant::now();
    // Wake up every 50 ms to see whether another test has hung meanwhile.
    let slice = Duration::from_millis(50);
    loop {
        match result.recv_timeout(slice) {
            Ok(value) => return value,
            // The sender was dropped without sending: the body panicked.
            Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
                Err(payload) => panic::resume_unwind(payload),
                Ok(()) => unreachable!("the body returned without sending its result"),
            },
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        let waited = started.elapsed();
        if waited >= limit {
            record_hang(&test);
            panic!(
                "timed out after {limit:?}: {expected}\n\
                 (the code under test is probably stuck: a deadlock, a missing \
                 `.await`, an endless loop, or blocking work on an async thread)"
            );
        }
        if waited >= AFTER_A_HANG
            && let Some(first) = first_hang_other_than(&test)
        {
            panic!(
                "gave up after {waited:.1?}: {expected}\n\
                     (test `{first}` already timed out in this run, so this \
                     one waited only {AFTER_A_HANG:?}: fix that hang first)"
            );
        }
    }
}

fn record_hang(test: &str) {
    let mut first = FIRST_HANG.lock().unwrap_or_else(|e| e.into_inner());
    first.get_or_insert_with(|| test.to_owned());
}

fn first_hang_other_than(test: &str) -> Option<String> {
    let first = FIRST_HANG.lock().unwrap_or_else(|e| e.into_inner());
    first.as_ref().filter(|name| *name != test).cloned()
}

#[cfg(feature = "tokio")]
/// Runs an async test body on a single-threaded tokio runtime, with the
/// watchdog of [`within`].
#[track_caller]
pub fn block_on<Fut>(
    limit: Duration,
    expected: &str,
    make: impl FnOnce() -> Fut + Send + 'static,
) -> Fut::Output
where
    Fut: std::future::Future,
    Fut::Output: Send + 'static,
{
    within(limit, expected, move || {
        runtime(false, None).block_on(make())
    })
}

#[cfg(feature = "tokio")]
/// Like [`block_on`], but with tokio's clock paused: `sleep` and `timeout`
/// complete instantly, in order, as soon as every task is idle. Tests of
/// timing are then exact and take no real time.
///
/// Because the clock only moves when the runtime is idle, a blocking call
/// (`std::thread::sleep`) would go unseen by the test's timings. The runtime
/// therefore measures, on the real clock, each stretch during which its
/// thread works without going idle; one longer than [`BLOCKED`] fails the
/// test.
#[track_caller]
pub fn block_on_paused<Fut>(
    limit: Duration,
    expected: &str,
    make: impl FnOnce() -> Fut + Send + 'static,
) -> Fut::Output
where
    Fut: std::future::Future,
    Fut::Output: Send + 'static,
{
    let expected_owned = expected.to_owned();
    let (value, busiest) = within(limit, expected, move || {
        let busy = std::sync::Arc::new(BusyMeter::default());
        let rt = runtime(true, Some(busy.clone()));
        busy.unparked();
        let value = rt.block_on(make());
        busy.parked();
        (value, busy.longest())
    });
    if busiest > BLOCKED {
        panic!(
            "the runtime's thread was busy for {busiest:.0?} of real time without \
             a pause (the test expected: {expected_owned}).\n\
             On a paused clock nothing here needs real time: something blocks \
             the async thread (std::thread::sleep, blocking I/O, a long loop). \
             In async code, wait with tokio::time::sleep and run blocking work \
             with tokio::task::spawn_blocking."
        );
    }
    value
}

/// Measures the longest stretch of real time between the runtime's thread
/// waking up (unpark) and going idle again (park).
#[cfg(feature = "tokio")]
#[derive(Default)]
struct BusyMeter {
    since: Mutex<Option<Instant>>,
    longest: Mutex<Duration>,
}

#[cfg(feature = "tokio")]
impl BusyMeter {
    fn unparked(&self) {
        *self.since.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }
    fn parked(&self) {
        let since = self.since.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(since) = since {
            let mut longest = self.longest.lock().unwrap_or_else(|e| e.into_inner());
            *longest = (*longest).max(since.elapsed());
        }
    }
    fn longest(&self) -> Duration {
        *self.longest.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(feature = "tokio")]
fn runtime(paused: bool, busy: Option<std::sync::Arc<BusyMeter>>) -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_all().start_paused(paused);
    if let Some(busy) = busy {
        let on_unpark = busy.clone();
        builder
            .on_thread_park(move || busy.parked())
            .on_thread_unpark(move || on_unpark.unparked());
    }
    builder.build().expect("building a tokio runtime")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_bodys_value() {
        assert_eq!(within(LIMIT, "a quick body", || 42), 42);
    }

    #[test]
    #[should_panic(expected = "timed out after")]
    fn fails_a_body_that_hangs() {
        within(Duration::from_millis(50), "a body that returns", || {
            thread::sleep(Duration::from_secs(5))
        });
    }

    #[test]
    #[should_panic(expected = "boom")]
    fn passes_on_a_panic_from_the_body() {
        within(LIMIT, "a body that panics", || panic!("boom"));
    }

    #[test]
    fn the_bodys_thread_carries_the_tests_name() {
        let name = within(LIMIT, "a quick body", || {
            thread::current().name().map(str::to_owned)
        });
        assert_eq!(
            name.as_deref(),
            Some("tests::the_bodys_thread_carries_the_tests_name")
        );
    }

    #[test]
    #[cfg(feature = "tokio")]
    fn paused_clock_skips_sleeps() {
        let waited = block_on_paused(LIMIT, "a paused sleep", || async {
            let start = tokio::time::Instant::now();
            tokio::time::sleep(Duration::from_secs(3600)).await;
            start.elapsed()
        });
        assert_eq!(waited, Duration::from_secs(3600));
    }

    #[test]
    #[cfg(feature = "tokio")]
    fn paused_clock_allows_many_short_busy_stretches() {
        block_on_paused(LIMIT, "short sleeps", || async {
            for _ in 0..20 {
                thread::sleep(Duration::from_millis(20));
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
    }

    #[test]
    #[should_panic(expected = "without a pause")]
    #[cfg(feature = "tokio")]
    fn paused_clock_fails_a_body_that_blocks_its_thread() {
        block_on_paused(LIMIT, "an async body", || async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            thread::sleep(BLOCKED + Duration::from_millis(100));
            tokio::time::sleep(Duration::from_millis(100)).await;
        });
    }

    #[test]
    #[should_panic(expected = "timed out after")]
    #[cfg(feature = "tokio")]
    fn fails_an_async_body_that_blocks_its_thread() {
        block_on(Duration::from_millis(50), "an async body", || async {
            thread::sleep(Duration::from_secs(5))
        });
    }
}
