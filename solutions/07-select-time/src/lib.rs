//! # Exercise 07: retries, a rate limiter and hedged requests (reference solution)
//!
//! Compare with your own version once your tests are green
//! (`cargo course solution 07 --diff`). Apart from this header, the
//! `#[path]`s below and the private fields of `RateLimiter`, only the bodies
//! differ from the stub.
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
//! The exercise's tests run against this crate too, on tokio's paused clock:
//!
//! ```text
//! cargo test -p solution-07
//! ```

// The given types and the random-number generator are the exercise's own
// files, not copies: there must be only one version of each.
#[path = "../../../exercises/07-select-time/src/rng.rs"]
mod rng;
#[path = "../../../exercises/07-select-time/src/types.rs"]
mod types;

pub use rng::Rng;
pub use types::{RetryError, RetryPolicy, TooLarge, TryAcquireError};

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::{Instant, sleep, sleep_until, timeout_at};

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
    let start = Instant::now();
    let deadline = policy.deadline.map(|budget| start + budget);
    let max_attempts = policy.max_attempts.max(1);
    let mut jitter = policy.jitter_seed.map(Rng::new);
    let mut backoff = policy.initial_delay.min(policy.max_delay);
    let mut attempts = 0;
    let mut last = None;

    loop {
        attempts += 1;
        // The attempt runs against the overall deadline: `timeout_at` drops
        // (cancels) the attempt's future when the deadline passes.
        let outcome = match deadline {
            Some(at) => match timeout_at(at, op()).await {
                Ok(outcome) => outcome,
                Err(_elapsed) => return Err(RetryError::DeadlineExceeded { attempts, last }),
            },
            None => op().await,
        };
        let error = match outcome {
            Ok(value) => return Ok(value),
            Err(e) if !is_retryable(&e) => return Err(RetryError::Permanent(e)),
            Err(e) => e,
        };
        if attempts >= max_attempts {
            return Err(RetryError::Exhausted {
                attempts,
                last: error,
            });
        }

        let delay = match &mut jitter {
            Some(rng) => equal_jitter(backoff, rng),
            None => backoff,
        };
        // The next backoff, computed before sleeping: multiply, then cap.
        // `checked_mul` turns an overflow into "more than any cap".
        backoff = backoff
            .checked_mul(policy.multiplier.max(1))
            .map_or(policy.max_delay, |d| d.min(policy.max_delay));

        let wake = Instant::now() + delay;
        if deadline.is_some_and(|at| wake >= at) {
            // Sleeping would only bring us to a moment when no attempt may
            // start: give up now, and give the caller its time back.
            return Err(RetryError::DeadlineExceeded {
                attempts,
                last: Some(error),
            });
        }
        last = Some(error);
        sleep_until(wake).await;
    }
}

/// A delay between `d / 2` and `d`, both included.
fn equal_jitter(d: Duration, rng: &mut Rng) -> Duration {
    let half = d / 2;
    let spread = (d - half).as_nanos().min(u64::MAX as u128) as u64;
    half + Duration::from_nanos(rng.up_to(spread))
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
    capacity: u32,
    per_token: Duration,
    // A std Mutex: it is held for a few arithmetic steps, never across an
    // `.await`, so an async mutex would only add cost.
    state: Mutex<Bucket>,
}

struct Bucket {
    tokens: u32,
    /// Refills have been counted up to this instant. Only whole tokens are
    /// added, and this moves by whole `per_token`s, so the time towards the
    /// next token is never lost.
    refilled_at: Instant,
    /// The `acquire` calls waiting, in arrival order. Only the front one may
    /// take tokens; everyone else (and `try_acquire`) waits behind it.
    queue: VecDeque<Waiter>,
    next_id: u64,
}

struct Waiter {
    id: u64,
    /// Woken when this waiter reaches the front of the queue. `notify_one`
    /// stores a permit if the waiter is not listening yet, so no wake-up is
    /// lost between releasing the lock and awaiting `notified()`.
    turn: Arc<Notify>,
}

impl Bucket {
    fn refill(&mut self, now: Instant, capacity: u32, per_token: Duration) {
        if self.tokens >= capacity {
            // Full: time spent full earns nothing.
            self.refilled_at = now;
            return;
        }
        let elapsed = now.saturating_duration_since(self.refilled_at);
        let earned = elapsed.as_nanos() / per_token.as_nanos();
        let missing = capacity - self.tokens;
        if earned >= u128::from(missing) {
            self.tokens = capacity;
            self.refilled_at = now;
        } else {
            // earned < missing <= u32::MAX, so the casts are exact.
            self.tokens += earned as u32;
            self.refilled_at += per_token * earned as u32;
        }
    }

    /// Wakes the waiter now at the front of the queue, if there is one.
    fn wake_front(&self) {
        if let Some(front) = self.queue.front() {
            front.turn.notify_one();
        }
    }
}

impl RateLimiter {
    /// A full bucket of `capacity` tokens that gains one token every
    /// `per_token`, up to `capacity`.
    ///
    /// Panics if `capacity` is 0 or `per_token` is zero.
    pub fn new(capacity: u32, per_token: Duration) -> RateLimiter {
        assert!(
            capacity > 0,
            "a rate limiter needs a capacity of at least 1"
        );
        assert!(!per_token.is_zero(), "per_token must be longer than zero");
        RateLimiter {
            capacity,
            per_token,
            state: Mutex::new(Bucket {
                tokens: capacity,
                refilled_at: Instant::now(),
                queue: VecDeque::new(),
                next_id: 0,
            }),
        }
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
        self.check_size(n).map_err(TryAcquireError::TooLarge)?;
        if n == 0 {
            return Ok(());
        }
        let mut bucket = self.lock();
        bucket.refill(Instant::now(), self.capacity, self.per_token);
        if bucket.queue.is_empty() && bucket.tokens >= n {
            bucket.tokens -= n;
            Ok(())
        } else {
            Err(TryAcquireError::WouldWait)
        }
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
        self.check_size(n)?;
        if n == 0 {
            return Ok(());
        }
        let turn = Arc::new(Notify::new());
        let id = {
            let mut bucket = self.lock();
            bucket.refill(Instant::now(), self.capacity, self.per_token);
            if bucket.queue.is_empty() && bucket.tokens >= n {
                bucket.tokens -= n;
                return Ok(());
            }
            let id = bucket.next_id;
            bucket.next_id += 1;
            bucket.queue.push_back(Waiter {
                id,
                turn: turn.clone(),
            });
            id
        };
        // From here on, the future may be dropped at any `.await`. The guard
        // then takes this waiter out of the queue. Nothing is taken from the
        // bucket before the very step that returns Ok, so there is nothing
        // to give back.
        let mut place = PlaceInQueue {
            limiter: self,
            id,
            served: false,
        };
        loop {
            let ready_at = {
                let mut bucket = self.lock();
                bucket.refill(Instant::now(), self.capacity, self.per_token);
                let at_front = bucket.queue.front().is_some_and(|w| w.id == id);
                if !at_front {
                    None
                } else if bucket.tokens >= n {
                    bucket.tokens -= n;
                    bucket.queue.pop_front();
                    place.served = true;
                    bucket.wake_front();
                    return Ok(());
                } else {
                    // At the front, no one else takes tokens, so the moment
                    // our tokens are there is known in advance.
                    Some(bucket.refilled_at + self.per_token * (n - bucket.tokens))
                }
            };
            match ready_at {
                Some(at) => sleep_until(at).await,
                None => turn.notified().await,
            }
        }
    }

    fn check_size(&self, n: u32) -> Result<(), TooLarge> {
        if n > self.capacity {
            Err(TooLarge {
                requested: n,
                capacity: self.capacity,
            })
        } else {
            Ok(())
        }
    }

    fn lock(&self) -> MutexGuard<'_, Bucket> {
        // No code panics while holding the lock; if some did, the bucket's
        // numbers would still be consistent, so carry on.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An `acquire` in the queue. Dropping it before it was served (the
/// `acquire` future was cancelled) removes it from the queue.
struct PlaceInQueue<'a> {
    limiter: &'a RateLimiter,
    id: u64,
    served: bool,
}

impl Drop for PlaceInQueue<'_> {
    fn drop(&mut self) {
        if self.served {
            return;
        }
        let mut bucket = self.limiter.lock();
        let Some(index) = bucket.queue.iter().position(|w| w.id == self.id) else {
            return;
        };
        bucket.queue.remove(index);
        if index == 0 {
            // The front left: the next waiter may be able to go right now.
            bucket.wake_front();
        }
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
    let backup = async {
        sleep(delay).await;
        second.await
    };
    // `biased;` polls the branches from the top: on a tie, `first` wins.
    // Whichever branch loses is dropped when `select!` returns.
    tokio::select! {
        biased;
        answer = first => answer,
        answer = backup => answer,
    }
}
