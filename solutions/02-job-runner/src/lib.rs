//! # Exercise 02, reference solution: a job runner with bounded concurrency
//!
//! The runner keeps a [`JoinSet`] filled with at most `limit` tasks: it starts
//! jobs until the set is full, waits for any one of them to finish, records
//! its result, and refills. Three properties of `JoinSet` do most of the work:
//!
//! - `join_next` yields tasks in *completion* order, so a free slot is
//!   refilled the moment any job ends (no batches);
//! - `spawn_blocking` puts blocking closures in the same set, so one limit
//!   covers both kinds of job, while the closures run on tokio's blocking pool;
//! - dropping a `JoinSet` aborts every task still in it, so dropping the
//!   runner's future cancels its jobs instead of leaving them running unseen.
//!
//! A `Semaphore` whose permits are moved into each task would bound the
//! concurrency just as well (chapter 2 shows it); the `JoinSet` is still
//! needed to collect results and to cancel on drop.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use tokio::task::{self, JoinError, JoinSet};

// ANCHOR: job
/// One unit of work for [`run_jobs`]. `T` is the value the job produces.
pub enum Job<T> {
    /// Async work (timers, I/O). It is polled on the runtime's worker threads,
    /// so it must not block them.
    Async(Pin<Box<dyn Future<Output = T> + Send + 'static>>),
    /// Blocking or CPU-heavy work. It must run *off* the async worker
    /// threads (for example on tokio's blocking pool).
    Blocking(Box<dyn FnOnce() -> T + Send + 'static>),
}

impl<T> Job<T> {
    /// Wraps a future as an async job.
    pub fn new_async(work: impl Future<Output = T> + Send + 'static) -> Self {
        Job::Async(Box::pin(work))
    }

    /// Wraps a closure as a blocking job.
    pub fn new_blocking(work: impl FnOnce() -> T + Send + 'static) -> Self {
        Job::Blocking(Box::new(work))
    }
}
// ANCHOR_END: job

// ANCHOR: errors
/// Why one job produced no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// The job panicked. The text is the panic's message when the panic
    /// carried a string (`panic!("boom")` gives `"boom"`,
    /// `panic!("job {}", 7)` gives `"job 7"`); for any other payload it is
    /// a short description of your choice.
    Panicked(String),
    /// The job's task was cancelled before it finished (for example because
    /// the runtime was shutting down).
    Cancelled,
}

/// Why [`run_jobs`] refused to run at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunError {
    /// `limit` was 0: no job could ever start.
    ZeroLimit,
}
// ANCHOR_END: errors

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Panicked(message) => write!(f, "job panicked: {message}"),
            JobError::Cancelled => write!(f, "job was cancelled"),
        }
    }
}

impl std::error::Error for JobError {}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::ZeroLimit => write!(f, "the concurrency limit must be at least 1"),
        }
    }
}

impl std::error::Error for RunError {}

/// Runs `jobs` concurrently, at most `limit` at a time, and returns one
/// result per job, in submission order: `result[i]` belongs to `jobs[i]`.
///
/// - Never more than `limit` jobs (async and blocking together) run at once,
///   and a new job starts as soon as a running one finishes (not in batches).
/// - [`Job::Blocking`] work runs off the async worker threads, so other tasks
///   keep running while it does.
/// - A job that panics gives `Err(JobError::Panicked(message))` in its slot;
///   the other jobs still run and the runner itself does not panic.
/// - An empty `jobs` gives `Ok(vec![])`.
/// - `limit == 0` gives `Err(RunError::ZeroLimit)` at once, and no job runs.
/// - If the returned future is dropped before it completes, the async jobs
///   that have not finished are aborted. (Blocking work cannot be
///   interrupted: it runs to its end and its result is discarded.)
///
/// Must be called from inside a tokio runtime.
pub async fn run_jobs<T>(
    jobs: Vec<Job<T>>,
    limit: usize,
) -> Result<Vec<Result<T, JobError>>, RunError>
where
    T: Send + 'static,
{
    // With no slot, the loop below would wait forever for a job to finish.
    if limit == 0 {
        return Err(RunError::ZeroLimit);
    }

    // One slot per job, filled in whatever order the jobs finish.
    let mut results: Vec<Option<Result<T, JobError>>> = jobs.iter().map(|_| None).collect();
    // Tasks finish out of order; their task id tells us whose result it is.
    // The id also comes with a `JoinError`, so a panicking job is placed too.
    // At most `limit` entries, but `limit` may be huge (`usize::MAX` for "no
    // limit"): size the map by the jobs, or `with_capacity` would panic.
    let mut slot_of: HashMap<task::Id, usize> = HashMap::with_capacity(limit.min(jobs.len()));
    // Owned by this future: dropping the future drops the set, which aborts
    // every task still in it.
    let mut running = JoinSet::new();
    let mut waiting = jobs.into_iter().enumerate();

    loop {
        // Fill every free slot. `running.len()` counts tasks not yet joined,
        // so it is exactly the number of jobs that may still be running.
        while running.len() < limit {
            let Some((slot, job)) = waiting.next() else {
                break;
            };
            let handle = match job {
                Job::Async(work) => running.spawn(work),
                // The blocking pool, not a worker thread: the runtime keeps
                // polling other tasks while this closure runs.
                Job::Blocking(work) => running.spawn_blocking(work),
            };
            slot_of.insert(handle.id(), slot);
        }

        // Wait for whichever job ends first; `None` means none is left.
        let Some(joined) = running.join_next_with_id().await else {
            break;
        };
        let (id, result) = match joined {
            Ok((id, value)) => (id, Ok(value)),
            Err(error) => (error.id(), Err(job_error(error))),
        };
        let slot = slot_of
            .remove(&id)
            .expect("every task in the set was recorded when spawned");
        results[slot] = Some(result);
    }

    Ok(results
        .into_iter()
        .map(|result| result.expect("the loop joins every job before it ends"))
        .collect())
}

/// Turns the error of a task that did not return a value into a [`JobError`].
fn job_error(error: JoinError) -> JobError {
    // A `JoinError` is either a panic (with its payload) or a cancellation.
    match error.try_into_panic() {
        Ok(payload) => JobError::Panicked(panic_message(payload)),
        Err(_cancelled) => JobError::Cancelled,
    }
}

/// The text of a panic. `panic!("literal")` carries a `&'static str` (so
/// does `panic!("{}", 7)`: the compiler folds literal arguments in);
/// `panic!("{x}")` with a run-time `x` carries a formatted `String`;
/// `std::panic::panic_any` can carry anything.
fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(message) => (*message).to_string(),
            Err(_) => "panicked with a non-string payload".to_string(),
        },
    }
}
