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

use tokio::task::{self, JoinError, JoinSet};

// The given jobs and errors are the exercise's own file, not a copy: the
// tests build jobs with them, so there must be only one version.
#[path = "../../../exercises/02-job-runner/src/jobs.rs"]
mod jobs;
pub use jobs::*;

// ---------------------------------------------------------------------------
// The exercise: `run_jobs`, written out.
// ---------------------------------------------------------------------------

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
