//! A mini supervisor, in the spirit of supervisord and s6: it starts
//! programs, forwards their output line by line, restarts the ones that exit
//! (with exponential backoff, up to a crash-loop limit), and stops them all,
//! their children included.
//!
//! The configuration and the events are given in `src/types.rs`. You write
//! [`backoff_delay`] and the [`Supervisor`]: [`Supervisor::start`] and
//! [`Supervisor::stop`].
//!
//! The given program `src/main.rs` runs your supervisor by hand:
//! `cargo run -p exercise-13 -- --config supervisor.toml`.

mod types;

pub use types::{Config, ConfigError, Event, MAX_LINE, MAX_NAME_LEN, Policy, Program, Stream};

use std::time::Duration;

use tokio::sync::mpsc;

/// The delay before a restart, when the program has already been restarted
/// `recent_restarts` times within the policy's `restart_window`:
/// `backoff_base × 2^recent_restarts`, but never more than `backoff_cap`
/// (and no overflow, however large `recent_restarts` is).
///
/// With a base of 100 ms and a cap of 1 s: 100 ms, 200 ms, 400 ms, 800 ms,
/// 1 s, 1 s, ...
pub fn backoff_delay(policy: &Policy, recent_restarts: u32) -> Duration {
    // TODO: double the base once per recent restart; stay under the cap.
    todo!("backoff_delay")
}

/// A running supervisor: one task per program, started by
/// [`Supervisor::start`], ended by [`Supervisor::stop`].
pub struct Supervisor {
    // TODO: what stop() needs: a way to tell every program's task to stop,
    // and a way to wait for those tasks.
    _todo: (),
}

impl Supervisor {
    /// Starts every program of `config` and supervises it until
    /// [`stop`](Supervisor::stop). Call it inside a tokio runtime.
    ///
    /// For each program:
    /// - it runs in a process group of its own (its pid is the group's id),
    ///   with stdin from `/dev/null`, its `env` added to the environment and
    ///   its `cwd` as the working directory; then [`Event::Started`];
    /// - each line of its stdout and of its stderr becomes an
    ///   [`Event::Line`], however the program splits its writes; a last line
    ///   without `\n` counts too; a line longer than [`MAX_LINE`] bytes is cut
    ///   into pieces of at most [`MAX_LINE`] bytes; bytes that are not UTF-8
    ///   become U+FFFD; both streams are read all the time, so a program
    ///   never blocks on a full pipe;
    /// - when it exits, it is reaped ([`Event::Exited`]) and started again
    ///   after [`backoff_delay`] ([`Event::Restarting`]), where the count is
    ///   the number of restarts within the last `restart_window`; if that
    ///   count has already reached `max_restarts`, it is not restarted:
    ///   [`Event::GaveUp`];
    /// - a program that cannot be spawned (no such command) counts as one
    ///   that exited with status 127, after a [`Event::Line`] on stderr
    ///   saying why.
    ///
    /// Events go to `events` as they happen; a closed receiver is not an
    /// error.
    pub fn start(config: Config, events: mpsc::UnboundedSender<Event>) -> Supervisor {
        // TODO: one task per program. Each task spawns its program (in a new
        // process group, both output streams piped), reports Started,
        // forwards both streams line by line from tasks of their own, waits
        // for the exit or for stop(), and restarts with backoff until the
        // crash-loop limit.
        todo!("Supervisor::start")
    }

    /// Stops every program and returns when all of them are gone.
    ///
    /// Each running program's whole process group gets SIGTERM; a program
    /// still running after the policy's `grace` gets SIGKILL, and so does
    /// whatever is left in its group. A program waiting for its restart is
    /// not started again. When `stop` returns, every program has been reaped
    /// (no zombie is left), each has had its [`Event::Exited`], every line it
    /// wrote has been sent, and the supervisor sends no more events.
    pub async fn stop(self) {
        // TODO: tell every task to stop, then wait for each of them.
        todo!("Supervisor::stop")
    }
}
