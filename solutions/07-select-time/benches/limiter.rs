//! The exercise's token bucket next to governor's GCRA limiter.
//!
//! Run: `cargo bench -p solution-07 --bench limiter`.
//!
//! First, both limiters see the same burst pattern on a simulated clock
//! (tokio's paused clock for ours, governor's `FakeRelativeClock` for
//! governor) and must make the same decision for every request: the bench
//! stops if they disagree. `cargo test -p solution-07 --bench limiter` runs
//! just that comparison and each benchmark once (criterion's test mode).
//!
//! Then criterion measures an uncontended `try_acquire(1)` (one thread, real
//! clocks), in two cases: a limiter so generous that every call is allowed,
//! and one that is empty for the next hour, so that every call is denied.
//! Last, what reading the clock costs, which both limiters do on every call.

use std::hint::black_box;
use std::num::NonZeroU32;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use exercise_07::{RateLimiter, Rng, TryAcquireError};
use governor::clock::FakeRelativeClock;
use governor::{Quota, RateLimiter as Governor};

/// What a limiter said to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Allowed,
    Denied,
    /// More than the burst capacity: it could never be allowed.
    TooLarge,
}

/// One request of the pattern: `after` the previous one, ask for `n` tokens.
#[derive(Debug, Clone, Copy)]
struct Request {
    after: Duration,
    n: u32,
}

const CAPACITY: u32 = 5;
const PER_TOKEN: Duration = Duration::from_millis(100);

/// A hand-written burst, then 2,000 pseudo-random requests (0-150 ms apart,
/// 1-3 tokens, now and then one more than the capacity).
fn burst_pattern() -> Vec<Request> {
    let ms = Duration::from_millis;
    let mut pattern = Vec::new();
    // A burst of 7 at t = 0 on a full bucket of 5: 5 allowed, 2 denied.
    for _ in 0..7 {
        pattern.push(Request { after: ms(0), n: 1 });
    }
    // 50 ms later: still nothing; 50 ms more: exactly one token.
    pattern.push(Request {
        after: ms(50),
        n: 1,
    });
    pattern.push(Request {
        after: ms(50),
        n: 1,
    });
    pattern.push(Request { after: ms(0), n: 1 });
    // 250 ms: 2.5 tokens' worth; a request for 3 is denied, 2 allowed.
    pattern.push(Request {
        after: ms(250),
        n: 3,
    });
    pattern.push(Request { after: ms(0), n: 2 });
    // A long pause refills the bucket, but never beyond its capacity.
    pattern.push(Request {
        after: ms(10_000),
        n: CAPACITY,
    });
    pattern.push(Request { after: ms(0), n: 1 });
    pattern.push(Request {
        after: ms(0),
        n: CAPACITY + 1,
    });

    let mut rng = Rng::new(7);
    for _ in 0..2_000 {
        let after = ms(rng.up_to(150));
        let n = if rng.up_to(50) == 0 {
            CAPACITY + 1
        } else {
            1 + rng.up_to(2) as u32
        };
        pattern.push(Request { after, n });
    }
    pattern
}

/// The pattern through the exercise's limiter, on tokio's paused clock.
fn ours(pattern: &[Request]) -> Vec<Decision> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("building a tokio runtime");
    runtime.block_on(async {
        let limiter = RateLimiter::new(CAPACITY, PER_TOKEN);
        let mut decisions = Vec::new();
        for request in pattern {
            tokio::time::advance(request.after).await;
            decisions.push(match limiter.try_acquire(request.n) {
                Ok(()) => Decision::Allowed,
                Err(TryAcquireError::WouldWait) => Decision::Denied,
                Err(TryAcquireError::TooLarge(_)) => Decision::TooLarge,
            });
        }
        decisions
    })
}

/// The same pattern through governor, on its fake clock.
fn governor(pattern: &[Request]) -> Vec<Decision> {
    let clock = FakeRelativeClock::default();
    let quota = Quota::with_period(PER_TOKEN)
        .expect("a non-zero period")
        .allow_burst(NonZeroU32::new(CAPACITY).expect("a non-zero capacity"));
    let limiter = Governor::direct_with_clock(quota, clock.clone());
    pattern
        .iter()
        .map(|request| {
            clock.advance(request.after);
            let n = NonZeroU32::new(request.n).expect("the pattern asks for 1 token or more");
            match limiter.check_n(n) {
                Ok(Ok(())) => Decision::Allowed,
                Ok(Err(_not_until)) => Decision::Denied,
                Err(_insufficient_capacity) => Decision::TooLarge,
            }
        })
        .collect()
}

/// Both limiters, the same decisions, or the benchmark means nothing.
fn same_decisions_on_a_burst_pattern() {
    let pattern = burst_pattern();
    let (ours, theirs) = (ours(&pattern), governor(&pattern));
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(
            a, b,
            "request {i} ({:?}): the token bucket says {a:?}, governor says {b:?}",
            pattern[i]
        );
    }
    let count = |d: Decision| ours.iter().filter(|&&x| x == d).count();
    println!(
        "burst pattern, {} requests: both limiters agree on every one \
         ({} allowed, {} denied, {} too large)",
        pattern.len(),
        count(Decision::Allowed),
        count(Decision::Denied),
        count(Decision::TooLarge),
    );
}

fn try_acquire(c: &mut Criterion) {
    same_decisions_on_a_burst_pattern();

    // Always allowed: a huge bucket that gains a token every nanosecond.
    let mut group = c.benchmark_group("try_acquire(1), allowed");
    let ours = RateLimiter::new(u32::MAX, Duration::from_nanos(1));
    group.bench_function("token bucket (exercise 07)", |b| {
        b.iter(|| black_box(ours.try_acquire(black_box(1))).is_ok())
    });
    let quota = Quota::with_period(Duration::from_nanos(1))
        .expect("a non-zero period")
        .allow_burst(NonZeroU32::new(u32::MAX).expect("not 0"));
    let theirs = Governor::direct(quota);
    group.bench_function("governor 0.10 (GCRA)", |b| {
        b.iter(|| black_box(theirs.check()).is_ok())
    });
    group.finish();

    // Always denied: one token, taken, and the next one an hour away.
    let mut group = c.benchmark_group("try_acquire(1), denied");
    let ours = RateLimiter::new(1, Duration::from_secs(3600));
    assert!(ours.try_acquire(1).is_ok());
    group.bench_function("token bucket (exercise 07)", |b| {
        b.iter(|| black_box(ours.try_acquire(black_box(1))).is_err())
    });
    let quota = Quota::with_period(Duration::from_secs(3600)).expect("a non-zero period");
    let theirs = Governor::direct(quota);
    assert!(theirs.check().is_ok());
    group.bench_function("governor 0.10 (GCRA)", |b| {
        b.iter(|| black_box(theirs.check()).is_ok())
    });
    group.finish();
}

/// What one reading of the clock costs: both limiters read it on every call.
fn clocks(c: &mut Criterion) {
    let mut group = c.benchmark_group("reading the clock");
    group.bench_function("std::time::Instant::now", |b| {
        b.iter(std::time::Instant::now)
    });
    // With tokio's `test-util` feature on (the tests need it), this first
    // looks for a paused clock, then reads the std clock.
    group.bench_function("tokio::time::Instant::now", |b| {
        b.iter(tokio::time::Instant::now)
    });
    group.finish();
}

criterion_group!(benches, try_acquire, clocks);
criterion_main!(benches);
