//! The specification of exercise 02: a job runner with bounded concurrency.
//!
//! Most tests run on tokio's paused clock: a `sleep(1 s)` inside a job takes
//! no real time, and elapsed times are exact. Jobs record how many of them
//! are running at once in a [`Gauge`]. The tests of blocking jobs use the real
//! clock, because tokio does not advance a paused clock while blocking work
//! is running.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use exercise_02::{Job, JobError, RunError, run_jobs};
use testkit::{LIMIT, block_on, block_on_paused};
use tokio::time::{Instant, sleep};

/// Counts the jobs running right now and the most that ever ran at once.
#[derive(Clone, Default)]
struct Gauge {
    running: Arc<AtomicUsize>,
    max: Arc<AtomicUsize>,
}

impl Gauge {
    /// Marks one job as running until the returned guard is dropped (also
    /// when the job panics or is aborted).
    fn enter(&self) -> Running {
        let now = self.running.fetch_add(1, SeqCst) + 1;
        self.max.fetch_max(now, SeqCst);
        Running(self.running.clone())
    }

    fn max(&self) -> usize {
        self.max.load(SeqCst)
    }
}

struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

/// An async job that sleeps `secs` seconds (paused clock) and returns `value`.
fn sleeper(gauge: &Gauge, secs: u64, value: u64) -> Job<u64> {
    let gauge = gauge.clone();
    Job::new_async(async move {
        let _running = gauge.enter();
        sleep(Duration::from_secs(secs)).await;
        value
    })
}

/// Runs `jobs` with `limit` and returns the results and the elapsed time,
/// failing the test if `run_jobs` refuses to run.
async fn run_timed(jobs: Vec<Job<u64>>, limit: usize) -> (Vec<Result<u64, JobError>>, Duration) {
    let start = Instant::now();
    let results = run_jobs(jobs, limit).await.unwrap_or_else(|e| {
        panic!("run_jobs(.., {limit}) returned Err({e:?}); only a limit of 0 is an error")
    });
    (results, start.elapsed())
}

fn ok_values(values: &[u64]) -> Vec<Result<u64, JobError>> {
    values.iter().map(|&v| Ok(v)).collect()
}

#[test]
fn returns_results_in_submission_order_not_completion_order() {
    let results = block_on_paused(
        LIMIT,
        "4 jobs of 4, 3, 2 and 1 s to finish in 4 s",
        || async {
            let gauge = Gauge::default();
            // The last job finishes first, the first job last.
            let jobs = vec![
                sleeper(&gauge, 4, 10),
                sleeper(&gauge, 3, 20),
                sleeper(&gauge, 2, 30),
                sleeper(&gauge, 1, 40),
            ];
            run_timed(jobs, 4).await.0
        },
    );
    assert_eq!(
        results,
        ok_values(&[10, 20, 30, 40]),
        "result[i] must belong to jobs[i], whatever order the jobs finish in"
    );
}

#[test]
fn six_one_second_jobs_with_limit_three_take_two_seconds() {
    let (results, elapsed) = block_on_paused(
        LIMIT,
        "6 jobs of 1 s with limit 3 to finish in 2 s",
        || async {
            let gauge = Gauge::default();
            let jobs = (0..6).map(|i| sleeper(&gauge, 1, i)).collect();
            run_timed(jobs, 3).await
        },
    );
    assert_eq!(results, ok_values(&[0, 1, 2, 3, 4, 5]));
    assert_eq!(
        elapsed,
        Duration::from_secs(2),
        "6 jobs of 1 s, 3 at a time, should take exactly 2 s; took {elapsed:?} \
         (6 s means they ran one after another; 1 s means the limit was ignored)"
    );
}

#[test]
fn never_runs_more_than_limit_jobs_at_once() {
    let (results, max) = block_on_paused(LIMIT, "10 jobs with limit 3 to finish", || async {
        let gauge = Gauge::default();
        let secs = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
        let jobs = secs
            .iter()
            .zip(0..)
            .map(|(&s, i)| sleeper(&gauge, s, i))
            .collect();
        let (results, _) = run_timed(jobs, 3).await;
        (results, gauge.max())
    });
    assert_eq!(results, ok_values(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    assert!(
        max <= 3,
        "limit was 3, but {max} jobs were running at the same time"
    );
    assert_eq!(
        max, 3,
        "limit was 3 and 10 jobs were waiting, but at most {max} ran at once"
    );
}

#[test]
fn a_limit_of_one_runs_the_jobs_one_after_another() {
    let (results, elapsed, max) = block_on_paused(
        LIMIT,
        "3 jobs of 1 s with limit 1 to finish in 3 s",
        || async {
            let gauge = Gauge::default();
            let jobs = (0..3).map(|i| sleeper(&gauge, 1, i)).collect();
            let (results, elapsed) = run_timed(jobs, 1).await;
            (results, elapsed, gauge.max())
        },
    );
    assert_eq!(results, ok_values(&[0, 1, 2]));
    assert_eq!(
        max, 1,
        "limit was 1, but {max} jobs were running at the same time"
    );
    assert_eq!(
        elapsed,
        Duration::from_secs(3),
        "3 jobs of 1 s, one at a time, should take 3 s; took {elapsed:?}"
    );
}

#[test]
fn a_limit_above_the_job_count_runs_every_job_at_once() {
    let (results, elapsed, max) = block_on_paused(
        LIMIT,
        "4 jobs of 1 s with limit 10 to finish in 1 s",
        || async {
            let gauge = Gauge::default();
            let jobs = (0..4).map(|i| sleeper(&gauge, 1, i)).collect();
            let (results, elapsed) = run_timed(jobs, 10).await;
            (results, elapsed, gauge.max())
        },
    );
    assert_eq!(results, ok_values(&[0, 1, 2, 3]));
    assert_eq!(
        max, 4,
        "limit 10 leaves room for all 4 jobs at once, but at most {max} ran together"
    );
    assert_eq!(
        elapsed,
        Duration::from_secs(1),
        "4 jobs of 1 s with limit 10 should take 1 s; took {elapsed:?}"
    );
}

#[test]
fn starts_the_next_job_as_soon_as_a_slot_frees_up() {
    let (results, elapsed) = block_on_paused(
        LIMIT,
        "jobs of 1, 3, 1, 1 s with limit 2 to finish in 3 s",
        || async {
            let gauge = Gauge::default();
            let jobs = vec![
                sleeper(&gauge, 1, 0),
                sleeper(&gauge, 3, 1),
                sleeper(&gauge, 1, 2),
                sleeper(&gauge, 1, 3),
            ];
            run_timed(jobs, 2).await
        },
    );
    assert_eq!(results, ok_values(&[0, 1, 2, 3]));
    assert_eq!(
        elapsed,
        Duration::from_secs(3),
        "jobs of 1, 3, 1 and 1 s with limit 2 should take 3 s (jobs 2 and 3 run in turn while job 1 \
         takes its 3 s); took {elapsed:?}. 4 s means the jobs ran in batches of 2: start a new job \
         as soon as any running job finishes"
    );
}

#[test]
fn an_empty_job_list_gives_an_empty_result() {
    let results = block_on_paused(LIMIT, "run_jobs with no jobs to return at once", || async {
        run_jobs(Vec::<Job<u64>>::new(), 2).await
    });
    assert_eq!(results, Ok(vec![]), "no jobs in, no results out");
}

#[test]
fn a_limit_of_zero_is_rejected_without_running_any_job() {
    let (outcome, started) = block_on_paused(
        LIMIT,
        "run_jobs(.., 0) to return Err(RunError::ZeroLimit) at once instead of waiting forever",
        || async {
            let gauge = Gauge::default();
            let jobs = (0..2).map(|i| sleeper(&gauge, 1, i)).collect();
            let outcome = run_jobs(jobs, 0).await;
            // Give any job that was started anyway the time to show itself.
            sleep(Duration::from_secs(5)).await;
            (outcome, gauge.max())
        },
    );
    assert_eq!(
        outcome,
        Err(RunError::ZeroLimit),
        "a limit of 0 must be rejected with RunError::ZeroLimit"
    );
    assert_eq!(
        started, 0,
        "with a limit of 0 no job may run, but {started} did"
    );
}

#[test]
fn a_panicking_job_becomes_an_error_and_the_other_jobs_still_finish() {
    let results = block_on_paused(LIMIT, "3 jobs, one of which panics, to finish", || async {
        let gauge = Gauge::default();
        let jobs = vec![
            sleeper(&gauge, 2, 1),
            Job::new_async(async {
                sleep(Duration::from_secs(1)).await;
                panic!("boom")
            }),
            sleeper(&gauge, 2, 3),
        ];
        run_timed(jobs, 3).await.0
    });
    assert_eq!(
        results,
        vec![Ok(1), Err(JobError::Panicked("boom".to_string())), Ok(3)],
        "a job that panics with \"boom\" should give Err(JobError::Panicked(\"boom\")) in its slot, \
         and the other jobs should still return their values"
    );
}

#[test]
fn a_formatted_panic_message_is_reported() {
    let results = block_on_paused(LIMIT, "a job that panics to be reported", || async {
        let code = 7;
        let jobs = vec![Job::new_async(async move {
            sleep(Duration::from_secs(1)).await;
            panic!("job {code} failed: {}", "disk full")
        })];
        run_timed(jobs, 1).await.0
    });
    assert_eq!(
        results,
        vec![Err(JobError::Panicked(
            "job 7 failed: disk full".to_string()
        ))],
        "panic!(\"job {{code}} failed: {{}}\", ..) carries a String, not a &'static str: \
         report its text too"
    );
}

#[test]
fn a_blocking_job_does_not_stall_the_other_tasks() {
    let results = block_on(
        LIMIT,
        "a blocking job of 100 ms to finish while an async ticker keeps ticking",
        || async {
            let ticks = Arc::new(AtomicUsize::new(0));
            let ticker = {
                let ticks = ticks.clone();
                tokio::spawn(async move {
                    let mut every = tokio::time::interval(Duration::from_millis(5));
                    loop {
                        every.tick().await;
                        ticks.fetch_add(1, SeqCst);
                    }
                })
            };
            let job = Job::new_blocking(move || {
                let before = ticks.load(SeqCst);
                std::thread::sleep(Duration::from_millis(100));
                (ticks.load(SeqCst) - before) as u64
            });
            let start = Instant::now();
            let results = run_jobs(vec![job], 1).await;
            ticker.abort();
            (results, start.elapsed())
        },
    );
    let (results, elapsed) = results;
    let results =
        results.expect("run_jobs(.., 1) returned an error; only a limit of 0 is an error");
    let ticks = match results.as_slice() {
        [Ok(ticks)] => *ticks,
        other => panic!("expected one Ok result from the blocking job; got {other:?}"),
    };
    assert!(
        elapsed >= Duration::from_millis(100),
        "run_jobs returned after {elapsed:?}, before the 100 ms blocking job could have finished"
    );
    assert!(
        ticks >= 3,
        "while the blocking job slept for 100 ms, an async ticker (every 5 ms) ticked {ticks} times \
         (expected about 20): the blocking work ran on the async worker thread and stalled every \
         other task. Run Job::Blocking work off the worker threads"
    );
}

#[test]
fn a_panicking_blocking_job_becomes_an_error() {
    let results = block_on(
        LIMIT,
        "2 blocking jobs, one of which panics, to finish",
        || async {
            let jobs = vec![
                Job::new_blocking(|| panic!("blocking boom")),
                Job::new_blocking(|| 2),
            ];
            run_jobs(jobs, 2).await
        },
    );
    assert_eq!(
        results,
        Ok(vec![
            Err(JobError::Panicked("blocking boom".to_string())),
            Ok(2)
        ]),
        "a blocking job that panics should give Err(JobError::Panicked(..)) in its slot, \
         and the other job should still return its value"
    );
}

#[test]
fn blocking_jobs_count_against_the_limit() {
    let (results, max) = block_on(
        LIMIT,
        "6 blocking jobs of 20 ms with limit 2 to finish",
        || async {
            let gauge = Gauge::default();
            let jobs = (0..6)
                .map(|i| {
                    let gauge = gauge.clone();
                    Job::new_blocking(move || {
                        let _running = gauge.enter();
                        // Wait (at most 200 ms) for a second job to run
                        // alongside this one: with a limit of 2, one must.
                        let deadline = std::time::Instant::now() + Duration::from_millis(200);
                        while gauge.max() < 2 && std::time::Instant::now() < deadline {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        i
                    })
                })
                .collect();
            let results = run_jobs(jobs, 2).await;
            (results, gauge.max())
        },
    );
    assert_eq!(
        results,
        Ok(ok_values(&[0, 1, 2, 3, 4, 5])),
        "each blocking job returns its index"
    );
    assert!(
        max <= 2,
        "limit was 2, but {max} blocking jobs were running at the same time"
    );
    assert_eq!(
        max, 2,
        "limit was 2 and 6 blocking jobs were waiting, but they ran one at a time: \
         blocking jobs must run side by side, up to the limit (spawn_blocking each one)"
    );
}

#[test]
fn a_job_cancelled_by_its_runtime_shutting_down_is_reported_as_cancelled() {
    let results = block_on(
        LIMIT,
        "run_jobs to report the job whose runtime shut down",
        || async {
            // The jobs run on a second runtime, which is shut down while one
            // of them is still waiting: tokio cancels that job's task.
            let jobs_runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("building a second runtime");
            let (started_tx, started_rx) = tokio::sync::oneshot::channel();
            let jobs = vec![
                Job::new_async(async { 1 }),
                Job::new_async(async move {
                    let _ = started_tx.send(());
                    std::future::pending::<u64>().await
                }),
            ];
            let runner = tokio::spawn(InRuntime {
                handle: jobs_runtime.handle().clone(),
                future: Box::pin(run_jobs(jobs, 2)),
            });
            started_rx
                .await
                .expect("the second job never started: run_jobs must start every job");
            jobs_runtime.shutdown_background();
            runner.await.expect("run_jobs panicked")
        },
    );
    match results {
        Ok(results) => {
            assert_eq!(results.len(), 2, "one result per job: got {results:?}");
            assert_eq!(results[0], Ok(1), "the first job finished normally");
            assert_eq!(
                results[1],
                Err(JobError::Cancelled),
                "the second job's task was cancelled (its runtime shut down), not panicked: \
                 a JoinError is either a panic or a cancellation (JoinError::is_cancelled)"
            );
        }
        Err(e) => panic!("run_jobs(.., 2) returned Err({e:?}); only a limit of 0 is an error"),
    }
}

/// Polls `future` with `handle`'s runtime as the current one, so that what
/// it spawns runs on that runtime.
struct InRuntime<F> {
    handle: tokio::runtime::Handle,
    future: std::pin::Pin<Box<F>>,
}

impl<F: std::future::Future> std::future::Future for InRuntime<F> {
    type Output = F::Output;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let _inside = self.handle.enter();
        self.future.as_mut().poll(cx)
    }
}

#[test]
fn dropping_the_runner_aborts_its_unfinished_jobs() {
    let finished = block_on_paused(
        LIMIT,
        "run_jobs to be cancelled by a 1 s timeout, and its jobs with it",
        || async {
            let finished = Arc::new(AtomicUsize::new(0));
            let jobs = (0..4)
                .map(|i| {
                    let finished = finished.clone();
                    Job::new_async(async move {
                        sleep(Duration::from_secs(10)).await;
                        finished.fetch_add(1, SeqCst);
                        i
                    })
                })
                .collect();
            let outcome = tokio::time::timeout(Duration::from_secs(1), run_jobs(jobs, 4)).await;
            assert!(
                outcome.is_err(),
                "run_jobs returned within 1 s, but its jobs each take 10 s: got {outcome:?}"
            );
            // The timeout dropped run_jobs' future. Wait well past the jobs' end.
            sleep(Duration::from_secs(60)).await;
            finished.load(SeqCst)
        },
    );
    assert_eq!(
        finished, 0,
        "run_jobs' future was dropped after 1 s, yet {finished} of its 10 s jobs still ran to the end: \
         dropping the runner must abort the jobs it started (a dropped JoinHandle lets its task run on)"
    );
}
