//! # Exercise 07: retries, a rate limiter and hedged requests
//!
//! Three tools for talking to services that are slow, busy or flaky, all
//! built from `tokio::time` and `tokio::select!`:
//!
//! 1. [`retry`]: run an operation again after a failure, waiting longer each
//!    time (exponential backoff with a cap and optional jitter), until it
//!    succeeds, fails for good, runs out of attempts or out of time.
//! 2. [`RateLimiter`]: a token bucket. `try_acquire` answers at once;
//!    `acquire` waits its turn, first come first served, and can be
//!    cancelled without losing any tokens.
//! 3. [`hedged`]: ask a second replica when the first is slow to answer;
//!    take whichever answers first and cancel the other.
//!
//! The types they use (`RetryPolicy`, the errors) are given in
//! `src/types.rs`, and a seeded random-number generator for the jitter in
//! `src/rng.rs`: read them, but do not change them (the reference solution
//! uses the very same files).
//!
//! The tests run on tokio's paused clock: they check exactly when each
//! attempt starts, when each `acquire` returns and when each replica is
//! asked or cancelled, without waiting in real time. Run them with
//!
//! ```text
//! cargo test -p exercise-07
//! ```
//!
//! and make every test pass. Stuck? `cargo course hint 07`, or read
//! `exercises/07-select-time/hints.md`.

mod rng;
mod types;

pub use rng::Rng;
pub use types::{RetryError, RetryPolicy, TooLarge, TryAcquireError};

use std::future::Future;
use std::time::Duration;

// ---------------------------------------------------------------------------
// 1. retry
// ---------------------------------------------------------------------------

/// Runs `op` until it succeeds, retrying failures that `is_retryable` accepts
/// after a delay that grows as `policy` says.
///
/// Contract:
/// - the first attempt starts at once; `Ok(value)` from any attempt is
///   returned at once;
/// - an error for which `is_retryable` returns `false` is returned at once
///   as [`RetryError::Permanent`], without another attempt;
/// - after a retryable failure, `retry` sleeps for the next delay of the
///   policy (`initial_delay`, times `multiplier` each time, at most
///   `max_delay`, jittered if `jitter_seed` is set) and tries again. With the
///   default policy, three failures and a success take 100 + 200 + 400 =
///   700 ms;
/// - after `max_attempts` failed attempts it returns
///   [`RetryError::Exhausted`] at once, without a last sleep;
/// - with a `deadline`: an attempt still running when the deadline passes is
///   cancelled (dropped) and `retry` returns
///   [`RetryError::DeadlineExceeded`] at that very moment; and if the next
///   attempt would start at or after the deadline, `retry` returns
///   `DeadlineExceeded` at once instead of sleeping first;
/// - it never panics on arithmetic, whatever the policy (a thousand
///   doublings stay at `max_delay`).
pub async fn retry<T, E, Op, Fut, P>(
    policy: &RetryPolicy,
    is_retryable: P,
    mut op: Op,
) -> Result<T, RetryError<E>>
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    P: Fn(&E) -> bool,
{
    // TODO: a loop: run one attempt, decide what its outcome means, compute
    // the next delay, check it against the deadline, sleep, repeat.
    todo!("retry: attempts with exponential backoff, a cap, a deadline")
}

// ---------------------------------------------------------------------------
// 2. a token-bucket rate limiter
// ---------------------------------------------------------------------------

/// A token bucket: it holds up to `capacity` tokens and starts full. It
/// gains one token every `per_token` and never holds more than `capacity`:
/// time spent full earns nothing, not even part of the next token. Taking
/// `n` tokens lets `n` units of work through (requests, bytes, ...). Share
/// it between tasks with an `Arc`.
pub struct RateLimiter {
    // TODO: add the fields you need: the tokens, when they were last
    // counted, the queue of waiting `acquire` calls... Shared state that
    // several tasks change needs a lock (a std Mutex is fine if you never
    // hold it across an `.await`).
    capacity: u32,
    per_token: Duration,
}

impl RateLimiter {
    /// A full bucket of `capacity` tokens that gains one token every
    /// `per_token`, up to `capacity`.
    ///
    /// Panics if `capacity` is 0 or `per_token` is zero.
    pub fn new(capacity: u32, per_token: Duration) -> RateLimiter {
        // TODO: start full; remember when (tokio::time::Instant::now()).
        todo!("RateLimiter::new")
    }

    /// Takes `n` tokens if that can be done right now, without waiting.
    ///
    /// Contract:
    /// - `Ok(())` and `n` tokens fewer if the bucket holds at least `n` and
    ///   no `acquire` is waiting (waiters come first: `try_acquire` never
    ///   overtakes them);
    /// - `Err(TryAcquireError::WouldWait)` otherwise, taking nothing;
    /// - `Err(TryAcquireError::TooLarge(..))` if `n` is more than the
    ///   capacity;
    /// - `n == 0` always succeeds.
    pub fn try_acquire(&self, n: u32) -> Result<(), TryAcquireError> {
        // TODO: add the tokens earned since the last count, then decide.
        todo!("RateLimiter::try_acquire")
    }

    /// Waits until `n` tokens can be taken, then takes them.
    ///
    /// Contract:
    /// - returns `Ok(())` as soon as `n` tokens are there and every earlier
    ///   `acquire` still waiting has been served: first come, first served,
    ///   so a small request never overtakes a large one that waits;
    /// - waits exactly until the refill brings the tokens it needs (with 1
    ///   token per 100 ms and an empty bucket, `acquire(3)` takes 300 ms);
    /// - `Err(TooLarge)` at once if `n` is more than the capacity (it could
    ///   never be served); `n == 0` returns `Ok(())` at once;
    /// - cancelling it (dropping the future, e.g. in a `select!` or a
    ///   `timeout`) takes no tokens and leaves the queue as if it had never
    ///   asked: the waiters behind it move up at once.
    pub async fn acquire(&self, n: u32) -> Result<(), TooLarge> {
        // TODO: join the queue; when first in line, sleep until your tokens
        // are there; take them, and let the next waiter know. Make sure a
        // dropped `acquire` leaves the queue (Drop runs on cancellation).
        todo!("RateLimiter::acquire")
    }
}

// ---------------------------------------------------------------------------
// 3. hedged requests
// ---------------------------------------------------------------------------

/// Sends a request to a first replica and, if it has not answered after
/// `delay`, the same request to a second one; returns whichever answer comes
/// first.
///
/// `first` and `second` are the two requests, not yet started (a future
/// does nothing until it is polled). Contract:
/// - `first` starts at once; `second` starts exactly `delay` later, and only
///   if `first` has not answered by then;
/// - the first answer wins, whichever replica gives it, and `hedged` returns
///   it at once; the other request is cancelled (dropped) at that moment;
/// - if both answer at the same instant, `first`'s answer wins.
pub async fn hedged<T>(
    delay: Duration,
    first: impl Future<Output = T>,
    second: impl Future<Output = T>,
) -> T {
    // TODO: return the first answer of the two replicas; ask the second one
    // only once `delay` has passed without an answer.
    todo!("hedged: race the first replica against a delayed second one")
}
