//! The specification of exercise 07.
//!
//! Every test runs on a tokio runtime whose clock is paused
//! (`testkit::block_on_paused`): a `sleep` completes as soon as nothing else
//! can run, and the clock jumps forward by exactly the time slept. So the
//! tests can say exactly when something must happen ("the third attempt
//! starts at 300 ms"), and a test that "waits" a minute takes no real time.
//!
//! The operations, requests and replicas that the tests hand to your code
//! record their own life: when they were first polled (started), when they
//! finished, and when they were dropped before finishing (cancelled).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use exercise_07::*;
use testkit::{LIMIT, block_on_paused};
use tokio::time::{Instant, sleep, sleep_until, timeout};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Virtual time after which a test declares your code stuck. Nothing in
/// these tests should take this long; on the paused clock it costs nothing.
const STUCK: Duration = Duration::from_secs(3600);

/// Awaits `fut`, failing the test if it is still running after an hour of
/// virtual time (a waiter nobody wakes, a loop that never ends).
async fn finish<F: Future>(what: &str, fut: F) -> F::Output {
    match timeout(STUCK, fut).await {
        Ok(output) => output,
        Err(_) => panic!(
            "{what} was still running after an hour of (virtual) time; \
             it should have returned long before"
        ),
    }
}

// ---------------------------------------------------------------------------
// Recording the life of the futures handed to your code
// ---------------------------------------------------------------------------

/// What happened to one tracked future, in virtual time since the test began.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Life {
    /// When it was first polled; `None`: never.
    started: Option<Duration>,
    /// When it completed; `None`: never.
    finished: Option<Duration>,
    /// When it was dropped before completing; `None`: it was not.
    cancelled: Option<Duration>,
}

#[derive(Clone)]
struct Recorder {
    origin: Instant,
    lives: Rc<RefCell<Vec<Life>>>,
}

impl Recorder {
    fn new() -> Recorder {
        Recorder {
            origin: Instant::now(),
            lives: Rc::default(),
        }
    }

    /// Virtual time since the recorder was made.
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn lives(&self) -> Vec<Life> {
        self.lives.borrow().clone()
    }

    fn starts(&self) -> Vec<Duration> {
        self.lives().iter().filter_map(|l| l.started).collect()
    }

    /// `fut`, recording its life in the next slot.
    fn track<F: Future>(&self, fut: F) -> impl Future<Output = F::Output> + use<F> {
        let slot = {
            let mut lives = self.lives.borrow_mut();
            lives.push(Life::default());
            lives.len() - 1
        };
        let recorder = self.clone();
        async move {
            let mut alive = Alive {
                recorder: recorder.clone(),
                slot,
                done: false,
            };
            recorder.lives.borrow_mut()[slot].started = Some(recorder.now());
            let output = fut.await;
            recorder.lives.borrow_mut()[slot].finished = Some(recorder.now());
            alive.done = true;
            output
        }
    }

    /// A replica that answers `answer` after `latency`.
    fn replica(
        &self,
        latency: Duration,
        answer: &'static str,
    ) -> impl Future<Output = &'static str> + use<> {
        self.track(async move {
            sleep(latency).await;
            answer
        })
    }

    /// An operation for `retry`: attempt `k` (0, 1, 2, ...) takes `latency`,
    /// then returns `outcome(k)`.
    fn operation(
        &self,
        latency: Duration,
        outcome: impl Fn(u32) -> Result<&'static str, Failure> + 'static,
    ) -> impl FnMut() -> Attempt {
        let recorder = self.clone();
        let outcome = Rc::new(outcome);
        let mut k = 0;
        move || {
            let this = k;
            k += 1;
            let outcome = outcome.clone();
            Box::pin(recorder.track(async move {
                sleep(latency).await;
                outcome(this)
            }))
        }
    }
}

type Attempt = Pin<Box<dyn Future<Output = Result<&'static str, Failure>>>>;

/// Lives inside a tracked future: dropping it before `done` means the
/// future was cancelled.
struct Alive {
    recorder: Recorder,
    slot: usize,
    done: bool,
}

impl Drop for Alive {
    fn drop(&mut self) {
        if !self.done {
            let now = self.recorder.now();
            self.recorder.lives.borrow_mut()[self.slot].cancelled = Some(now);
        }
    }
}

// ---------------------------------------------------------------------------
// retry
// ---------------------------------------------------------------------------

/// The errors of the test operations.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    /// Transient: attempt number `k` found the service busy.
    Busy(u32),
    /// Permanent: the request itself is wrong; retrying cannot help.
    BadRequest,
}

fn is_transient(e: &Failure) -> bool {
    matches!(e, Failure::Busy(_))
}

fn always_busy(k: u32) -> Result<&'static str, Failure> {
    Err(Failure::Busy(k))
}

type Outcome = Result<&'static str, RetryError<Failure>>;

#[test]
fn retry_returns_the_first_success_without_waiting() {
    block_on_paused(
        LIMIT,
        "retry to return Ok at once when the first attempt succeeds",
        || async {
            let rec = Recorder::new();
            let op = rec.operation(ms(0), |_| Ok("done"));
            let got: Outcome =
                finish("retry", retry(&RetryPolicy::default(), is_transient, op)).await;
            assert_eq!(got, Ok("done"), "the first attempt succeeded");
            assert_eq!(rec.starts(), [ms(0)], "one attempt, started at once");
            assert_eq!(rec.now(), ms(0), "nothing to wait for after a success");
        },
    );
}

#[test]
fn retry_backs_off_100_200_400_ms_and_succeeds_at_700_ms() {
    block_on_paused(
        LIMIT,
        "retry to succeed at the fourth attempt, at 700 ms",
        || async {
            let rec = Recorder::new();
            let op = rec.operation(ms(0), |k| {
                if k < 3 {
                    Err(Failure::Busy(k))
                } else {
                    Ok("done")
                }
            });
            let got: Outcome =
                finish("retry", retry(&RetryPolicy::default(), is_transient, op)).await;
            assert_eq!(got, Ok("done"), "the fourth attempt succeeded");
            assert_eq!(
                rec.starts(),
                [ms(0), ms(100), ms(300), ms(700)],
                "with the default policy the delays are 100, 200 and 400 ms, so the \
                 attempts start at 0, 100, 300 and 700 ms"
            );
            assert_eq!(
                rec.now(),
                ms(700),
                "retry should return as soon as an attempt succeeds"
            );
        },
    );
}

#[test]
fn retry_caps_each_delay_at_max_delay() {
    block_on_paused(
        LIMIT,
        "retry to run 6 attempts with delays capped at 300 ms",
        || async {
            let policy = RetryPolicy {
                max_delay: ms(300),
                max_attempts: 6,
                ..RetryPolicy::default()
            };
            let rec = Recorder::new();
            let got: Outcome = finish(
                "retry",
                retry(&policy, is_transient, rec.operation(ms(0), always_busy)),
            )
            .await;
            assert_eq!(
                rec.starts(),
                [ms(0), ms(100), ms(300), ms(600), ms(900), ms(1200)],
                "delays 100, 200, then 400, 800, 1600 capped at max_delay = 300 ms"
            );
            assert_eq!(
                got,
                Err(RetryError::Exhausted {
                    attempts: 6,
                    last: Failure::Busy(5)
                })
            );
        },
    );
}

#[test]
fn retry_gives_up_after_max_attempts_without_a_last_sleep() {
    block_on_paused(
        LIMIT,
        "retry to give up after 4 attempts, at 700 ms",
        || async {
            let policy = RetryPolicy {
                max_attempts: 4,
                ..RetryPolicy::default()
            };
            let rec = Recorder::new();
            let got: Outcome = finish(
                "retry",
                retry(&policy, is_transient, rec.operation(ms(0), always_busy)),
            )
            .await;
            assert_eq!(
                got,
                Err(RetryError::Exhausted {
                    attempts: 4,
                    last: Failure::Busy(3)
                }),
                "after max_attempts failures, retry returns Exhausted with the last error"
            );
            assert_eq!(rec.starts(), [ms(0), ms(100), ms(300), ms(700)]);
            assert_eq!(
                rec.now(),
                ms(700),
                "the fourth attempt failed at 700 ms and was the last one allowed: return at \
             once, do not sleep 800 ms for an attempt that will never come"
            );
        },
    );
}

#[test]
fn retry_returns_a_permanent_error_at_once() {
    block_on_paused(LIMIT, "retry to return Permanent at once", || async {
        let rec = Recorder::new();
        let op = rec.operation(ms(0), |_| Err(Failure::BadRequest));
        let got: Outcome = finish("retry", retry(&RetryPolicy::default(), is_transient, op)).await;
        assert_eq!(
            got,
            Err(RetryError::Permanent(Failure::BadRequest)),
            "is_transient(&BadRequest) is false: the error is permanent, retrying cannot help"
        );
        assert_eq!(
            rec.starts(),
            [ms(0)],
            "exactly one attempt for a permanent error"
        );
        assert_eq!(
            rec.now(),
            ms(0),
            "no delay before giving up on a permanent error"
        );
    });
}

#[test]
fn retry_stops_at_the_first_permanent_error_after_transient_ones() {
    block_on_paused(LIMIT, "retry to return Permanent at 300 ms", || async {
        let rec = Recorder::new();
        let op = rec.operation(ms(0), |k| match k {
            0 | 1 => Err(Failure::Busy(k)),
            2 => Err(Failure::BadRequest),
            _ => Ok("too late"),
        });
        let got: Outcome = finish("retry", retry(&RetryPolicy::default(), is_transient, op)).await;
        assert_eq!(got, Err(RetryError::Permanent(Failure::BadRequest)));
        assert_eq!(
            rec.starts(),
            [ms(0), ms(100), ms(300)],
            "two transient errors are retried; the permanent third one ends it"
        );
    });
}

#[test]
fn retry_gives_up_at_once_when_the_next_attempt_would_start_after_the_deadline() {
    block_on_paused(
        LIMIT,
        "retry to give up at 300 ms (deadline 500 ms)",
        || async {
            let policy = RetryPolicy {
                max_attempts: 10,
                deadline: Some(ms(500)),
                ..RetryPolicy::default()
            };
            let rec = Recorder::new();
            let got: Outcome = finish(
                "retry",
                retry(&policy, is_transient, rec.operation(ms(0), always_busy)),
            )
            .await;
            assert_eq!(rec.starts(), [ms(0), ms(100), ms(300)]);
            assert_eq!(
                got,
                Err(RetryError::DeadlineExceeded {
                    attempts: 3,
                    last: Some(Failure::Busy(2))
                }),
                "the next attempt would start at 300 + 400 = 700 ms, after the 500 ms deadline"
            );
            assert_eq!(
                rec.now(),
                ms(300),
                "retry knew at 300 ms that no attempt could start before the deadline: it \
             should give up then, not sleep first"
            );
        },
    );
}

#[test]
fn retry_cancels_an_attempt_still_running_at_the_deadline() {
    block_on_paused(LIMIT, "retry to give up at exactly 1000 ms", || async {
        let policy = RetryPolicy {
            max_attempts: 10,
            deadline: Some(ms(1000)),
            ..RetryPolicy::default()
        };
        let rec = Recorder::new();
        // Each attempt takes 250 ms: 0-250, sleep 100, 350-600, sleep 200,
        // then the third starts at 800 and would end at 1050.
        let got: Outcome = finish(
            "retry",
            retry(&policy, is_transient, rec.operation(ms(250), always_busy)),
        )
        .await;
        assert_eq!(rec.starts(), [ms(0), ms(350), ms(800)]);
        assert_eq!(
            rec.now(),
            ms(1000),
            "the deadline is 1000 ms: retry must return then, not when the running \
             attempt ends (1050 ms)"
        );
        let third = rec.lives()[2];
        assert_eq!(
            third.cancelled,
            Some(ms(1000)),
            "the attempt running at the deadline should be cancelled (dropped) at 1000 ms; \
             its life: {third:?}"
        );
        assert_eq!(
            got,
            Err(RetryError::DeadlineExceeded {
                attempts: 3,
                last: Some(Failure::Busy(1))
            }),
            "three attempts started; the last one that finished failed with Busy(1)"
        );
    });
}

#[test]
fn retry_survives_a_hundred_doublings() {
    block_on_paused(LIMIT, "retry to run 100 attempts", || async {
        let policy = RetryPolicy {
            max_delay: Duration::from_secs(1),
            max_attempts: 100,
            ..RetryPolicy::default()
        };
        let rec = Recorder::new();
        let got: Outcome = finish(
            "retry",
            retry(&policy, is_transient, rec.operation(ms(0), always_busy)),
        )
        .await;
        assert_eq!(
            got,
            Err(RetryError::Exhausted {
                attempts: 100,
                last: Failure::Busy(99)
            })
        );
        assert_eq!(
            rec.now(),
            ms(100 + 200 + 400 + 800 + 95 * 1000),
            "delays 100, 200, 400, 800 ms, then 95 delays capped at 1 s \
             (100 ms × 2^99 does not fit in a Duration: cap before it overflows)"
        );
    });
}

/// The start times of `attempts` failing attempts under `seed`'s jitter.
async fn jittered_starts(seed: u64, attempts: u32) -> Vec<Duration> {
    let policy = RetryPolicy {
        max_attempts: attempts,
        jitter_seed: Some(seed),
        ..RetryPolicy::default()
    };
    let rec = Recorder::new();
    let _: Outcome = finish(
        "retry",
        retry(&policy, is_transient, rec.operation(ms(0), always_busy)),
    )
    .await;
    rec.starts()
}

#[test]
fn jittered_delays_lie_between_half_and_all_of_each_backoff() {
    block_on_paused(LIMIT, "retry with jitter, for 20 seeds", || async {
        let backoffs = [ms(100), ms(200), ms(400), ms(800), ms(1600)];
        let mut any_shortened = false;
        for seed in 0..20 {
            let starts = jittered_starts(seed, 6).await;
            assert_eq!(starts.len(), 6, "seed {seed}: expected 6 attempts");
            for (k, pair) in starts.windows(2).enumerate() {
                let (delay, full) = (pair[1] - pair[0], backoffs[k]);
                assert!(
                    full / 2 <= delay && delay <= full,
                    "seed {seed}: delay {} was {delay:?}; with equal jitter it must lie \
                     between {:?} and {full:?}",
                    k + 1,
                    full / 2
                );
                any_shortened |= delay < full;
            }
        }
        assert!(
            any_shortened,
            "with jitter_seed set, delays should vary; every delay was the full backoff"
        );
    });
}

#[test]
fn jitter_repeats_for_the_same_seed_and_differs_for_another() {
    block_on_paused(LIMIT, "retry with jitter, seeds 42, 42 and 43", || async {
        let first = jittered_starts(42, 6).await;
        let again = jittered_starts(42, 6).await;
        let other = jittered_starts(43, 6).await;
        assert_eq!(
            first, again,
            "the same seed must give the same delays (deterministic jitter: make a new \
             Rng::new(seed) in each call to retry)"
        );
        assert_ne!(first, other, "seeds 42 and 43 should give different delays");
    });
}

// ---------------------------------------------------------------------------
// RateLimiter
// ---------------------------------------------------------------------------

#[track_caller]
fn assert_allowed(limiter: &RateLimiter, n: u32, when: &str) {
    let got = limiter.try_acquire(n);
    assert_eq!(got, Ok(()), "try_acquire({n}) {when} should succeed");
}

#[track_caller]
fn assert_denied(limiter: &RateLimiter, n: u32, when: &str) {
    let got = limiter.try_acquire(n);
    assert_eq!(
        got,
        Err(TryAcquireError::WouldWait),
        "try_acquire({n}) {when} should be refused with WouldWait"
    );
}

/// Runs `acquire(n)` in a task of its own, once `start` has come, and
/// reports when it returned (virtual time since `origin`).
fn spawn_acquire(
    limiter: &Arc<RateLimiter>,
    origin: Instant,
    start: Duration,
    n: u32,
) -> tokio::task::JoinHandle<Duration> {
    let limiter = limiter.clone();
    tokio::spawn(async move {
        sleep_until(origin + start).await;
        let got = limiter.acquire(n).await;
        assert_eq!(got, Ok(()), "acquire({n}) should succeed");
        origin.elapsed()
    })
}

/// The time a spawned `acquire` returned.
async fn served_at(what: &str, task: tokio::task::JoinHandle<Duration>) -> Duration {
    match finish(what, task).await {
        Ok(when) => when,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

#[test]
fn a_full_bucket_allows_a_burst_of_its_capacity() {
    block_on_paused(LIMIT, "a burst of 5 allowed, the 6th refused", || async {
        let limiter = RateLimiter::new(5, ms(100));
        for i in 1..=5 {
            assert_allowed(&limiter, 1, &format!("number {i} on a new bucket of 5"));
        }
        assert_denied(&limiter, 1, "number 6, with the bucket empty");
    });
}

#[test]
fn tokens_come_back_at_one_per_period() {
    block_on_paused(LIMIT, "tokens refilled at 1 per 100 ms", || async {
        let limiter = RateLimiter::new(5, ms(100));
        assert_allowed(&limiter, 5, "on a full bucket");
        sleep(ms(250)).await;
        assert_denied(&limiter, 3, "at 250 ms (2 tokens back)");
        assert_allowed(&limiter, 2, "at 250 ms (2 tokens back)");
        assert_denied(&limiter, 1, "right after taking them");
        sleep(ms(50)).await;
        assert_allowed(&limiter, 1, "at 300 ms (a third token back)");
    });
}

#[test]
fn time_towards_the_next_token_is_not_lost() {
    block_on_paused(LIMIT, "tokens at 100 and 200 ms after emptying", || async {
        let limiter = RateLimiter::new(3, ms(100));
        assert_allowed(&limiter, 3, "on a full bucket");
        sleep(ms(150)).await;
        assert_allowed(&limiter, 1, "at 150 ms");
        sleep(ms(50)).await;
        assert_allowed(
            &limiter,
            1,
            "at 200 ms: the second token arrives 200 ms after the bucket was emptied, \
             even though a token was taken at 150 ms (do not restart the refill clock \
             at each call: keep the 50 ms already earned towards the next token)",
        );
    });
}

#[test]
fn the_bucket_never_holds_more_than_its_capacity() {
    block_on_paused(LIMIT, "at most 3 tokens after a long pause", || async {
        let limiter = RateLimiter::new(3, ms(100));
        sleep(Duration::from_secs(10)).await;
        assert_allowed(&limiter, 3, "after 10 s idle");
        assert_denied(
            &limiter,
            1,
            "after 10 s idle and 3 tokens taken (capacity 3)",
        );
    });
}

#[test]
fn time_spent_full_earns_nothing() {
    block_on_paused(LIMIT, "the next token 100 ms after emptying", || async {
        let limiter = RateLimiter::new(3, ms(100));
        sleep(ms(1050)).await;
        assert_allowed(&limiter, 3, "at 1050 ms");
        sleep(ms(50)).await;
        assert_denied(
            &limiter,
            1,
            "at 1100 ms: the bucket was full until 1050 ms, and a full bucket earns \
             nothing, not even part of the next token, so that token comes at 1150 ms",
        );
        sleep(ms(50)).await;
        assert_allowed(&limiter, 1, "at 1150 ms");
    });
}

#[test]
fn try_acquire_refuses_more_than_the_capacity() {
    block_on_paused(LIMIT, "try_acquire(6) on a bucket of 5 refused", || async {
        let limiter = RateLimiter::new(5, ms(100));
        assert_eq!(
            limiter.try_acquire(6),
            Err(TryAcquireError::TooLarge(TooLarge {
                requested: 6,
                capacity: 5
            })),
            "6 tokens can never be in a bucket of 5: TooLarge, not WouldWait"
        );
        assert_allowed(
            &limiter,
            5,
            "after a refused request (it must take nothing)",
        );
    });
}

#[test]
fn acquire_refuses_more_than_the_capacity_at_once() {
    block_on_paused(
        LIMIT,
        "acquire(6) on a bucket of 5 to fail at once",
        || async {
            let limiter = RateLimiter::new(5, ms(100));
            let start = Instant::now();
            let got = finish("acquire(6) on a bucket of 5", limiter.acquire(6)).await;
            assert_eq!(
                got,
                Err(TooLarge {
                    requested: 6,
                    capacity: 5
                }),
                "6 tokens can never be in a bucket of 5: waiting would never end"
            );
            assert_eq!(start.elapsed(), ms(0), "the error should come at once");
        },
    );
}

#[test]
fn acquire_returns_at_once_when_the_tokens_are_there() {
    block_on_paused(
        LIMIT,
        "acquire(3) on a full bucket to return at once",
        || async {
            let limiter = RateLimiter::new(5, ms(100));
            let start = Instant::now();
            let got = finish("acquire(3) on a full bucket", limiter.acquire(3)).await;
            assert_eq!(got, Ok(()));
            assert_eq!(start.elapsed(), ms(0), "the tokens were there: no waiting");
            assert_allowed(&limiter, 2, "after acquire(3) on a bucket of 5");
            assert_denied(
                &limiter,
                1,
                "after acquire(3) and try_acquire(2): acquire took its 3",
            );
        },
    );
}

#[test]
fn acquire_waits_exactly_until_its_tokens_have_come() {
    block_on_paused(
        LIMIT,
        "acquire(3) on an empty bucket to return at 300 ms",
        || async {
            let limiter = RateLimiter::new(5, ms(100));
            assert_allowed(&limiter, 5, "on a full bucket");
            let start = Instant::now();
            let got = finish("acquire(3) on an empty bucket", limiter.acquire(3)).await;
            assert_eq!(got, Ok(()));
            assert_eq!(
                start.elapsed(),
                ms(300),
                "3 tokens at one per 100 ms: acquire(3) should return at 300 ms exactly"
            );
            assert_denied(&limiter, 1, "right after acquire(3) took the 3 tokens");
        },
    );
}

#[test]
fn waiters_are_served_first_come_first_served() {
    block_on_paused(
        LIMIT,
        "three waiters served at 200, 300 and 400 ms",
        || async {
            let limiter = Arc::new(RateLimiter::new(4, ms(100)));
            assert_allowed(&limiter, 4, "on a full bucket");
            let origin = Instant::now();
            let a = spawn_acquire(&limiter, origin, ms(0), 2);
            let b = spawn_acquire(&limiter, origin, ms(1), 1);
            let c = spawn_acquire(&limiter, origin, ms(2), 1);
            let (a, b, c) = (
                served_at("acquire(2) at 0 ms", a).await,
                served_at("acquire(1) at 1 ms", b).await,
                served_at("acquire(1) at 2 ms", c).await,
            );
            assert_eq!(
                (a, b, c),
                (ms(200), ms(300), ms(400)),
                "acquire(2) at 0 ms, acquire(1) at 1 ms, acquire(1) at 2 ms on an empty bucket: \
             served in that order, each as soon as its tokens are there"
            );
        },
    );
}

#[test]
fn a_small_request_does_not_overtake_a_large_one_that_waits() {
    block_on_paused(
        LIMIT,
        "acquire(8) served at 800 ms, acquire(2) at 1000 ms",
        || async {
            let limiter = Arc::new(RateLimiter::new(10, ms(100)));
            assert_allowed(&limiter, 10, "on a full bucket");
            let origin = Instant::now();
            let large = spawn_acquire(&limiter, origin, ms(0), 8);
            let small = spawn_acquire(&limiter, origin, ms(10), 2);
            let large = served_at("acquire(8)", large).await;
            let small = served_at("acquire(2)", small).await;
            assert_eq!(
                (large, small),
                (ms(800), ms(1000)),
                "acquire(8) came first and must be served first, at 800 ms; acquire(2) came \
             10 ms later and waits behind it (1000 ms). Letting the small one take the \
             first 2 tokens would starve large requests under steady small traffic"
            );
        },
    );
}

#[test]
fn try_acquire_does_not_take_tokens_a_waiter_is_waiting_for() {
    block_on_paused(
        LIMIT,
        "try_acquire refused while acquire(5) waits",
        || async {
            let limiter = Arc::new(RateLimiter::new(10, ms(100)));
            assert_allowed(&limiter, 10, "on a full bucket");
            let origin = Instant::now();
            let waiter = spawn_acquire(&limiter, origin, ms(0), 5);
            sleep(ms(300)).await;
            assert_denied(
                &limiter,
                1,
                "at 300 ms while acquire(5) waits (3 tokens are there, but they are the waiter's)",
            );
            assert_eq!(served_at("acquire(5)", waiter).await, ms(500));
        },
    );
}

#[test]
fn a_cancelled_acquire_leaks_no_tokens() {
    block_on_paused(
        LIMIT,
        "a full bucket at 1000 ms after a cancelled acquire",
        || async {
            let limiter = RateLimiter::new(10, ms(100));
            assert_allowed(&limiter, 10, "on a full bucket");
            let got = timeout(ms(500), limiter.acquire(10)).await;
            assert!(
                got.is_err(),
                "acquire(10) on an empty bucket cannot finish within 500 ms; got {got:?}"
            );
            sleep(ms(500)).await;
            assert_allowed(
                &limiter,
                10,
                "at 1000 ms: the bucket was emptied at 0 ms and is full again; the acquire \
             cancelled at 500 ms must not have kept any tokens, nor its place in the queue",
            );
        },
    );
}

#[test]
fn when_the_first_waiter_gives_up_the_next_one_moves_up_at_once() {
    block_on_paused(LIMIT, "acquire(5) served at 500 ms", || async {
        let limiter = Arc::new(RateLimiter::new(10, ms(100)));
        assert_allowed(&limiter, 10, "on a full bucket");
        let origin = Instant::now();
        let impatient = {
            let limiter = limiter.clone();
            tokio::spawn(async move { timeout(ms(500), limiter.acquire(10)).await.is_err() })
        };
        let patient = spawn_acquire(&limiter, origin, ms(10), 5);
        assert!(
            impatient.await.expect("the impatient task panicked"),
            "acquire(10) on an empty bucket cannot finish within 500 ms"
        );
        assert_eq!(
            served_at("acquire(5) behind a cancelled acquire(10)", patient).await,
            ms(500),
            "acquire(10) gave up at 500 ms, when 5 tokens were there: the acquire(5) \
             behind it should be served right then"
        );
    });
}

#[test]
fn a_waiter_that_gives_up_in_the_middle_of_the_queue_is_skipped() {
    block_on_paused(
        LIMIT,
        "acquire(8) at 800 ms, acquire(2) at 1000 ms",
        || async {
            let limiter = Arc::new(RateLimiter::new(10, ms(100)));
            assert_allowed(&limiter, 10, "on a full bucket");
            let origin = Instant::now();
            let first = spawn_acquire(&limiter, origin, ms(0), 8);
            let quitter = {
                let limiter = limiter.clone();
                tokio::spawn(async move {
                    sleep(ms(1)).await;
                    timeout(ms(300), limiter.acquire(1)).await.is_err()
                })
            };
            let last = spawn_acquire(&limiter, origin, ms(2), 2);
            assert!(
                quitter.await.expect("the quitting task panicked"),
                "acquire(1) behind acquire(8) cannot be served within 300 ms"
            );
            assert_eq!(served_at("acquire(8)", first).await, ms(800));
            assert_eq!(
                served_at("acquire(2) behind a cancelled acquire(1)", last).await,
                ms(1000),
                "the acquire(1) between them left the queue at 301 ms; acquire(2) is next \
             after acquire(8) and gets its 2 tokens at 1000 ms"
            );
        },
    );
}

#[test]
fn the_limiter_can_be_shared_by_many_tasks() {
    block_on_paused(LIMIT, "10 tasks served at 1 token per 100 ms", || async {
        let limiter = Arc::new(RateLimiter::new(2, ms(100)));
        let origin = Instant::now();
        let tasks: Vec<_> = (0..10)
            .map(|_| spawn_acquire(&limiter, origin, ms(0), 1))
            .collect();
        let mut times = Vec::new();
        for task in tasks {
            times.push(served_at("one of 10 acquire(1)", task).await);
        }
        times.sort();
        let expected: Vec<Duration> = [0, 0, 100, 200, 300, 400, 500, 600, 700, 800]
            .map(ms)
            .to_vec();
        assert_eq!(
            times, expected,
            "a full bucket of 2 serves two at once, then one every 100 ms"
        );
    });
}

// ---------------------------------------------------------------------------
// hedged
// ---------------------------------------------------------------------------

#[test]
fn a_first_replica_that_answers_in_time_is_the_only_one_asked() {
    block_on_paused(
        LIMIT,
        "hedged to answer from the first replica at 50 ms",
        || async {
            let rec = Recorder::new();
            let (first, second) = (rec.replica(ms(50), "first"), rec.replica(ms(10), "second"));
            let answer = finish("hedged", hedged(ms(100), first, second)).await;
            assert_eq!(answer, "first");
            assert_eq!(rec.now(), ms(50), "the first replica answered at 50 ms");
            assert_eq!(
                rec.lives()[1].started,
                None,
                "the first replica answered before the 100 ms delay: the second one must \
             never be asked (its future never polled)"
            );
        },
    );
}

#[test]
fn the_second_replica_is_asked_exactly_when_the_delay_has_passed() {
    block_on_paused(LIMIT, "the second replica asked at 100 ms", || async {
        let rec = Recorder::new();
        let (first, second) = (
            rec.replica(ms(1000), "first"),
            rec.replica(ms(200), "second"),
        );
        finish("hedged", hedged(ms(100), first, second)).await;
        let lives = rec.lives();
        assert_eq!(
            lives[0].started,
            Some(ms(0)),
            "the first replica is asked at once"
        );
        assert_eq!(
            lives[1].started,
            Some(ms(100)),
            "the first replica had not answered after the 100 ms delay: the second \
             should be asked then, not earlier and not later"
        );
    });
}

#[test]
fn a_faster_second_replica_wins_and_the_first_is_cancelled() {
    block_on_paused(
        LIMIT,
        "hedged to answer from the second replica at 300 ms",
        || async {
            let rec = Recorder::new();
            let (first, second) = (
                rec.replica(ms(1000), "first"),
                rec.replica(ms(200), "second"),
            );
            let answer = finish("hedged", hedged(ms(100), first, second)).await;
            assert_eq!(
                answer, "second",
                "the second replica answered first (100 + 200 ms)"
            );
            assert_eq!(
                rec.now(),
                ms(300),
                "hedged should return the moment the answer comes"
            );
            let slow = rec.lives()[0];
            assert_eq!(
                slow.cancelled,
                Some(ms(300)),
                "the first replica lost: its request must be cancelled (dropped) when the \
             winner answers; its life: {slow:?}"
            );
        },
    );
}

#[test]
fn the_first_replica_can_still_win_after_the_second_was_asked() {
    block_on_paused(
        LIMIT,
        "hedged to answer from the first replica at 150 ms",
        || async {
            let rec = Recorder::new();
            let (first, second) = (
                rec.replica(ms(150), "first"),
                rec.replica(ms(200), "second"),
            );
            let answer = finish("hedged", hedged(ms(100), first, second)).await;
            let lives = rec.lives();
            assert_eq!(
                answer, "first",
                "the first replica answers at 150 ms, the second would at 300 ms; asking the \
             second must not cancel the first (its life: {:?})",
                lives[0]
            );
            assert_eq!(rec.now(), ms(150));
            assert_eq!(
                lives[1].started,
                Some(ms(100)),
                "the second replica was asked at 100 ms"
            );
            assert_eq!(
                lives[1].cancelled,
                Some(ms(150)),
                "the second replica lost: cancel it when the first answers"
            );
        },
    );
}

#[test]
fn on_a_tie_the_first_replica_wins() {
    block_on_paused(LIMIT, "the first replica's answer on 50 ties", || async {
        for round in 0..50 {
            let rec = Recorder::new();
            // Both answer at 300 ms: the first after 300, the second 100 + 200.
            let (first, second) = (
                rec.replica(ms(300), "first"),
                rec.replica(ms(200), "second"),
            );
            let answer = finish("hedged", hedged(ms(100), first, second)).await;
            assert_eq!(
                answer, "first",
                "round {round}: both replicas answered at 300 ms; on a tie the first \
                 replica's answer wins (select! picks a random branch unless told otherwise)"
            );
        }
    });
}
