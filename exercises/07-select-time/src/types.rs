//! The data types of exercise 07: a retry policy, and the errors of `retry`
//! and of the rate limiter. They are given and finished: you use them from
//! `lib.rs`, you do not change them. The reference solution uses this very
//! file, through `#[path]`.

use std::error::Error;
use std::fmt;
use std::time::Duration;

// ANCHOR: policy
/// How [`retry`](crate::retry) spaces out its attempts.
///
/// The delay before retry number `k` (`k` = 1 after the first failure) is
/// `initial_delay × multiplier^(k-1)`, but never more than `max_delay`:
/// with the defaults, 100 ms, 200 ms, 400 ms, 800 ms, ...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The delay after the first failure.
    pub initial_delay: Duration,
    /// Each delay is the previous one times this (2 doubles it; 1 keeps the
    /// delay constant; 0 counts as 1).
    pub multiplier: u32,
    /// The cap: no delay is longer than this, however many attempts failed.
    pub max_delay: Duration,
    /// Attempts in all, the first one included (0 counts as 1).
    pub max_attempts: u32,
    /// The overall time budget, from the call to `retry`: no attempt runs
    /// past it, and no attempt starts at or after it. `None`: no budget.
    pub deadline: Option<Duration>,
    /// `Some(seed)`: each delay `d` becomes a pseudo-random delay between
    /// `d / 2` and `d`, drawn from [`Rng::new(seed)`](crate::Rng) ("equal
    /// jitter"), the same delays for the same seed. `None`: exact delays.
    pub jitter_seed: Option<u64>,
}

impl Default for RetryPolicy {
    /// 100 ms doubling up to 10 s, 5 attempts, no deadline, no jitter.
    fn default() -> Self {
        RetryPolicy {
            initial_delay: Duration::from_millis(100),
            multiplier: 2,
            max_delay: Duration::from_secs(10),
            max_attempts: 5,
            deadline: None,
            jitter_seed: None,
        }
    }
}

/// Why [`retry`](crate::retry) gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryError<E> {
    /// An attempt failed with an error that is not worth retrying (the
    /// predicate said no). Returned at once, with that error.
    Permanent(E),
    /// Every one of the `attempts` allowed attempts failed; `last` is the
    /// error of the last one.
    Exhausted { attempts: u32, last: E },
    /// The deadline came first: either an attempt was still running when it
    /// passed (that attempt was cancelled), or the next attempt could not
    /// have started before it. `attempts` counts the attempts started, the
    /// cancelled one included; `last` is the error of the last attempt that
    /// finished, if any did.
    DeadlineExceeded { attempts: u32, last: Option<E> },
}
// ANCHOR_END: policy

impl<E: fmt::Display> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryError::Permanent(e) => write!(f, "permanent error: {e}"),
            RetryError::Exhausted { attempts, last } => {
                write!(f, "gave up after {attempts} attempts: {last}")
            }
            RetryError::DeadlineExceeded { attempts, last } => {
                write!(f, "deadline exceeded after {attempts} attempts")?;
                match last {
                    Some(e) => write!(f, " (last error: {e})"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl<E: fmt::Debug + fmt::Display> Error for RetryError<E> {}

// ANCHOR: limiter_errors
/// A request for more tokens than the bucket can ever hold: waiting would
/// never end, so it is an error instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    pub requested: u32,
    pub capacity: u32,
}

/// Why [`RateLimiter::try_acquire`](crate::RateLimiter::try_acquire) said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// Not now: too few tokens, or earlier `acquire` calls are waiting and
    /// come first. Try again later, or wait with `acquire`.
    WouldWait,
    /// Never: more than the capacity.
    TooLarge(TooLarge),
}
// ANCHOR_END: limiter_errors

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} tokens requested, but the bucket holds at most {}",
            self.requested, self.capacity
        )
    }
}

impl Error for TooLarge {}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::WouldWait => write!(f, "not enough tokens now"),
            TryAcquireError::TooLarge(e) => e.fmt(f),
        }
    }
}

impl Error for TryAcquireError {}
