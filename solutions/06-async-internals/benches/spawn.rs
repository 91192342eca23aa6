//! Spawn 100,000 tasks that each yield once, and run them all to completion:
//! this course's executor (exercise 06's solution) against tokio's
//! current-thread runtime, side by side.
//!
//! Run: `cargo bench -p solution-06`. The ratio of the reported times is the
//! figure the chapter discusses; both sides run the same task body (one
//! `YieldOnce`, defined below), and both run on one thread.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use exercise_06::Executor;

const TASKS: usize = 100_000;

/// Returns `Pending` once after waking its own waker, then `Ready`: the
/// smallest possible "go to the back of the queue".
struct YieldOnce(bool);

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

/// The course's executor: spawn every task, then `run` until all are done.
fn ours(tasks: usize) -> usize {
    let finished = Arc::new(AtomicUsize::new(0));
    let executor = Executor::new();
    for _ in 0..tasks {
        let finished = Arc::clone(&finished);
        executor.spawn(async move {
            YieldOnce(false).await;
            finished.fetch_add(1, Ordering::Relaxed);
        });
    }
    executor.run();
    finished.load(Ordering::Relaxed)
}

/// tokio, the usual way: keep every `JoinHandle` and await it.
fn tokio_join_handles(rt: &tokio::runtime::Runtime, tasks: usize) -> usize {
    rt.block_on(async {
        let finished = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let finished = Arc::clone(&finished);
                tokio::spawn(async move {
                    YieldOnce(false).await;
                    finished.fetch_add(1, Ordering::Relaxed);
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("a task panicked");
        }
        finished.load(Ordering::Relaxed)
    })
}

/// tokio without `JoinHandle`s, as close as it gets to `Executor::run`: the
/// tasks are detached, and the last one to finish wakes the main future.
fn tokio_detached(rt: &tokio::runtime::Runtime, tasks: usize) -> usize {
    let latch = Arc::new(Latch {
        left: AtomicUsize::new(tasks),
        waker: Mutex::new(None),
    });
    rt.block_on(async {
        for _ in 0..tasks {
            let latch = Arc::clone(&latch);
            drop(tokio::spawn(async move {
                YieldOnce(false).await;
                latch.count_down();
            }));
        }
        AllDone(Arc::clone(&latch)).await;
    });
    tasks - latch.left.load(Ordering::Acquire)
}

/// Counts finished tasks down to zero; the last one wakes the waiting future.
struct Latch {
    left: AtomicUsize,
    waker: Mutex<Option<Waker>>,
}

impl Latch {
    fn count_down(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1
            && let Some(waker) = self.waker.lock().unwrap().take()
        {
            waker.wake();
        }
    }
}

struct AllDone(Arc<Latch>);

impl Future for AllDone {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Store the waker first, then check: a count-down in between still
        // finds the waker.
        *self.0.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.0.left.load(Ordering::Acquire) == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

fn spawn(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("building a current-thread runtime");

    // Same work on every side, or the comparison would mean nothing.
    assert_eq!(ours(TASKS), TASKS);
    assert_eq!(tokio_join_handles(&rt, TASKS), TASKS);
    assert_eq!(tokio_detached(&rt, TASKS), TASKS);

    let mut group = c.benchmark_group(format!("spawn and run {TASKS} tasks that yield once"));
    // Each run takes milliseconds to tens of milliseconds.
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("exercise_06::Executor", |b| {
        b.iter(|| black_box(ours(TASKS)))
    });
    group.bench_function("tokio current_thread, JoinHandles awaited", |b| {
        b.iter(|| black_box(tokio_join_handles(&rt, TASKS)))
    });
    group.bench_function("tokio current_thread, detached", |b| {
        b.iter(|| black_box(tokio_detached(&rt, TASKS)))
    });
    group.finish();
}

criterion_group!(benches, spawn);
criterion_main!(benches);
