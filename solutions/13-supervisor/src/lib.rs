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

// The given types are the exercise's own file.
#[path = "../../../exercises/13-supervisor/src/types.rs"]
mod types;

pub use types::{Config, ConfigError, Event, MAX_LINE, MAX_NAME_LEN, Policy, Program, Stream};

use std::collections::VecDeque;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, sleep, timeout};

// ANCHOR: backoff
/// The delay before a restart, when the program has already been restarted
/// `recent_restarts` times within the policy's `restart_window`:
/// `backoff_base × 2^recent_restarts`, but never more than `backoff_cap`
/// (and no overflow, however large `recent_restarts` is).
///
/// With a base of 100 ms and a cap of 1 s: 100 ms, 200 ms, 400 ms, 800 ms,
/// 1 s, 1 s, ...
pub fn backoff_delay(policy: &Policy, recent_restarts: u32) -> Duration {
    // 2^n as a u32 overflows from n = 32 on: saturate instead.
    let factor = 1u32.checked_shl(recent_restarts).unwrap_or(u32::MAX);
    policy
        .backoff_base
        .saturating_mul(factor)
        .min(policy.backoff_cap)
}
// ANCHOR_END: backoff

/// A running supervisor: one task per program, started by
/// [`Supervisor::start`], ended by [`Supervisor::stop`].
pub struct Supervisor {
    // `true` once stop() was called; every program's task watches it.
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
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
        let (stop, stopped) = watch::channel(false);
        let policy = Arc::new(config.policy);
        let tasks = config
            .programs
            .into_iter()
            .map(|program| {
                tokio::spawn(supervise(
                    program,
                    policy.clone(),
                    events.clone(),
                    stopped.clone(),
                ))
            })
            .collect();
        Supervisor { stop, tasks }
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
        // send() fails only if every task has ended already: nothing to tell.
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(e) = task.await
                && e.is_panic()
            {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    }
}

// ANCHOR: spawn
/// Spawns one run of `program`, in a new process group, with both output
/// streams piped.
fn spawn(program: &Program) -> io::Result<Child> {
    let mut command = Command::new(&program.command);
    command
        .args(&program.args)
        .envs(&program.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // setpgid(0, 0) in the child: it leads a group of its own, which its
        // children join, so one killpg reaches them all.
        .process_group(0)
        // A safety net if the supervisor itself is dropped without stop():
        // tokio then SIGKILLs the child (the child only, not its group).
        .kill_on_drop(true);
    if let Some(dir) = &program.cwd {
        command.current_dir(dir);
    }
    command.spawn()
}
// ANCHOR_END: spawn

/// The life of one program: run, wait, restart with backoff, until stopped
/// or given up.
async fn supervise(
    program: Program,
    policy: Arc<Policy>,
    events: mpsc::UnboundedSender<Event>,
    mut stopped: watch::Receiver<bool>,
) {
    let name = program.name.clone();
    let send = |event: Event| {
        let _ = events.send(event);
    };
    // When the program was restarted, oldest first, within the window.
    let mut restarts: VecDeque<Instant> = VecDeque::new();
    // The output readers of every run so far: a grandchild may hold a pipe
    // open after its parent exited, so readers can outlive their run.
    let mut readers = JoinSet::new();

    loop {
        let status = match spawn(&program) {
            Ok(mut child) => {
                let pid = child
                    .id()
                    .expect("a child that was not waited for has a pid");
                send(Event::Started {
                    name: name.clone(),
                    pid,
                });
                if let Some(out) = child.stdout.take() {
                    readers.spawn(forward(out, name.clone(), Stream::Stdout, events.clone()));
                }
                if let Some(err) = child.stderr.take() {
                    readers.spawn(forward(err, name.clone(), Stream::Stderr, events.clone()));
                }
                // ANCHOR: wait_or_stop
                tokio::select! {
                    status = child.wait() => status,
                    _ = stop_requested(&mut stopped) => {
                        let status = terminate(&mut child, pid, policy.grace).await;
                        finish(&mut readers, policy.grace).await;
                        send(Event::Exited { name: name.clone(), status: status_or_failure(status) });
                        return;
                    }
                }
                // ANCHOR_END: wait_or_stop
            }
            Err(e) => {
                send(Event::Line {
                    name: name.clone(),
                    stream: Stream::Stderr,
                    text: format!("supervisor: cannot start {:?}: {e}", program.command),
                });
                // What a shell reports for a command it cannot run.
                Ok(ExitStatus::from_raw(127 << 8))
            }
        };
        send(Event::Exited {
            name: name.clone(),
            status: status_or_failure(status),
        });

        // ANCHOR: restart
        // Forget the restarts that are older than the window.
        let now = Instant::now();
        while restarts
            .front()
            .is_some_and(|&t| now.duration_since(t) >= policy.restart_window)
        {
            restarts.pop_front();
        }
        let recent = u32::try_from(restarts.len()).unwrap_or(u32::MAX);
        if recent >= policy.max_restarts {
            send(Event::GaveUp { name: name.clone() });
            finish_on_stop(&mut readers, &mut stopped, policy.grace).await;
            return;
        }
        let delay = backoff_delay(&policy, recent);
        restarts.push_back(now);
        send(Event::Restarting {
            name: name.clone(),
            delay,
        });
        tokio::select! {
            _ = sleep(delay) => {}
            _ = stop_requested(&mut stopped) => {
                finish(&mut readers, policy.grace).await;
                return;
            }
        }
        // ANCHOR_END: restart
    }
}

// ANCHOR: terminate
/// SIGTERM to the program's group; SIGKILL to the group if the program is
/// still running after `grace`. Returns the program's status, once reaped.
async fn terminate(child: &mut Child, pid: u32, grace: Duration) -> io::Result<ExitStatus> {
    let group = Pid::from_raw(pid as i32);
    // ESRCH (no such group) means everyone has exited already: fine.
    let _ = killpg(group, Signal::SIGTERM);
    let status = match timeout(grace, child.wait()).await {
        Ok(status) => status,
        Err(_elapsed) => {
            let _ = killpg(group, Signal::SIGKILL);
            child.wait().await
        }
    };
    // The leader is gone; members that ignored SIGTERM may not be. The
    // group's id cannot have been reused while any member is alive.
    let _ = killpg(group, Signal::SIGKILL);
    status
}
// ANCHOR_END: terminate

/// Waits for the output readers to reach the end of their pipes (every line
/// sent), at most `limit`; then drops those that are still reading (a pipe
/// held open by a process outside the group).
async fn finish(readers: &mut JoinSet<()>, limit: Duration) {
    let all = async { while readers.join_next().await.is_some() {} };
    if timeout(limit, all).await.is_err() {
        readers.abort_all();
    }
}

/// After giving up: nothing runs any more, but stop() still waits for this
/// task, so that the readers' last lines are sent before stop() returns.
async fn finish_on_stop(
    readers: &mut JoinSet<()>,
    stopped: &mut watch::Receiver<bool>,
    limit: Duration,
) {
    stop_requested(stopped).await;
    finish(readers, limit).await;
}

/// Returns once stop() was called, or the Supervisor dropped.
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    // The `Ref` that wait_for returns is not Send: drop it here, before the
    // caller awaits anything else.
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// wait() fails only if waitpid fails, which for our own child means
/// something is badly wrong; report it as a failure status.
fn status_or_failure(status: io::Result<ExitStatus>) -> ExitStatus {
    status.unwrap_or_else(|_| ExitStatus::from_raw(1 << 8))
}

// ANCHOR: forward
/// Sends each line of `pipe` as an event, until the end of the pipe.
async fn forward<R: AsyncRead + Unpin>(
    pipe: R,
    name: String,
    stream: Stream,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    // Whether the last piece was a long line cut at MAX_LINE bytes.
    let mut cut = false;
    loop {
        line.clear();
        // take(): a line without `\n` cannot grow past MAX_LINE bytes.
        let limit = MAX_LINE as u64;
        let n = match (&mut reader).take(limit).read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return, // end of the pipe, or a broken one
            Ok(n) => n,
        };
        let was_cut = cut;
        cut = n == MAX_LINE && line.last() != Some(&b'\n');
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        if line.is_empty() && was_cut {
            // Only the ending of a line that was exactly MAX_LINE long.
            continue;
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        // An error means nobody listens any more: keep draining anyway, so
        // that the program never blocks on a full pipe.
        let _ = events.send(Event::Line {
            name: name.clone(),
            stream,
            text,
        });
    }
}
// ANCHOR_END: forward
