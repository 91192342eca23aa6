//! Test helpers shared by the exercises.
//!
//! Learner code may hang: a deadlock, a forgotten `.await`, a loop that never
//! ends, or a blocking call on an async worker thread. A timeout *inside* the
//! async runtime cannot catch the last two, because the thread that would
//! notice the deadline is the one that is stuck. So every helper here runs the
//! test body on its own thread and waits for it from the test's thread, on the
//! real clock. When the limit passes, the test fails with a message saying
//! what was expected; the stuck thread is abandoned and dies with the process.

use std::panic;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// The default limit: long enough for a slow machine, short enough that a hung
/// test is noticed quickly.
pub const LIMIT: Duration = Duration::from_secs(10);

/// Runs `body` on a fresh thread and returns its result. Fails the test if it
/// takes longer than `limit`; `expected` says what should have happened.
///
/// A panic in `body` (a failed assertion, a `todo!()`) is passed on unchanged.
pub fn within<T, F>(limit: Duration, expected: &str, body: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (done, result) = mpsc::channel();
    let worker = thread::Builder::new()
        .name("test-body".into())
        .spawn(move || {
            let value = body();
            let _ = done.send(value);
        })
        .expect("spawning the test thread");
    match result.recv_timeout(limit) {
        Ok(value) => value,
        // The sender was dropped without sending: the body panicked.
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(payload) => panic::resume_unwind(payload),
            Ok(()) => unreachable!("the body returned without sending its result"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "timed out after {limit:?}: {expected}\n\
             (the code under test is probably stuck: a deadlock, a missing \
             `.await`, an endless loop, or blocking work on an async thread)"
        ),
    }
}

#[cfg(feature = "tokio")]
/// Runs an async test body on a single-threaded tokio runtime, with the
/// watchdog of [`within`].
pub fn block_on<Fut>(
    limit: Duration,
    expected: &str,
    make: impl FnOnce() -> Fut + Send + 'static,
) -> Fut::Output
where
    Fut: std::future::Future,
    Fut::Output: Send + 'static,
{
    within(limit, expected, move || runtime(false).block_on(make()))
}

#[cfg(feature = "tokio")]
/// Like [`block_on`], but with tokio's clock paused: `sleep` and `timeout`
/// complete instantly, in order, as soon as every task is idle. Tests of
/// timing are then exact and take no real time.
pub fn block_on_paused<Fut>(
    limit: Duration,
    expected: &str,
    make: impl FnOnce() -> Fut + Send + 'static,
) -> Fut::Output
where
    Fut: std::future::Future,
    Fut::Output: Send + 'static,
{
    within(limit, expected, move || runtime(true).block_on(make()))
}

#[cfg(feature = "tokio")]
fn runtime(paused: bool) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(paused)
        .build()
        .expect("building a tokio runtime")
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
    #[should_panic(expected = "timed out after")]
    #[cfg(feature = "tokio")]
    fn fails_an_async_body_that_blocks_its_thread() {
        block_on(Duration::from_millis(50), "an async body", || async {
            thread::sleep(Duration::from_secs(5))
        });
    }
}
