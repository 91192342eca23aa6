//! The jobs and errors of exercise 02. They are given: you use them in
//! `lib.rs`, you do not change them (the tests build jobs with them). The
//! reference solution uses this very file, through `#[path]`, so there is
//! one version of them.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

// ANCHOR: job
/// One unit of work for [`run_jobs`](crate::run_jobs). `T` is the value the
/// job produces.
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

/// Why [`run_jobs`](crate::run_jobs) refused to run at all.
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
