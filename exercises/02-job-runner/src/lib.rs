//! # Exercise 02: a job runner with bounded concurrency
//!
//! Write [`run_jobs`]: it takes a list of jobs and a limit, runs the jobs as
//! tasks with never more than `limit` of them running at once, and returns
//! one result per job, in the order the jobs were given, whatever order they
//! finish in.
//!
//! A job is either async work ([`Job::Async`]: timers, I/O) or blocking work
//! ([`Job::Blocking`]: a CPU-heavy or blocking closure). Blocking work must not
//! run on the async worker threads, or every other task stalls while it runs.
//! A job that panics becomes a [`JobError`] in its slot of the result; the
//! runner and the other jobs carry on.
//!
//! Run the tests (they all fail until you write `run_jobs`):
//!
//! ```console
//! cargo test -p exercise-02
//! ```
//!
//! Stuck? `cargo course hint 02` shows the hints one at a time (they are in
//! `exercises/02-job-runner/hints.md`). Chapter 2 of the book explains every
//! tool you need. The reference solution is in `solutions/02-job-runner/`:
//! compare with it once your tests are green.

use tokio::task::JoinError;

// The jobs and errors are given, in `src/jobs.rs`: read it, do not change it.
mod jobs;
pub use jobs::*;

// ---------------------------------------------------------------------------
// Your code.
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
    // TODO: reject a limit of 0 before starting anything.
    // TODO: start jobs as tasks, at most `limit` at a time; start the next
    //       one as soon as a running one finishes.
    // TODO: run `Job::Blocking` work off the async worker threads.
    // TODO: turn a job's panic into its `JobError` instead of panicking here.
    // TODO: put each result in the slot of the job that produced it.
    // TODO: make sure dropping this future aborts the jobs it started.
    todo!("run_jobs: run the jobs, at most `limit` at a time, results in submission order")
}

/// Turns the error of a task that did not return a value into a [`JobError`].
/// (A suggested helper; you may delete it.)
fn job_error(error: JoinError) -> JobError {
    // TODO: tell a panic from a cancellation, and recover the panic's
    //       message when it is a `&'static str` or a `String`.
    todo!("job_error: map a JoinError to a JobError")
}
