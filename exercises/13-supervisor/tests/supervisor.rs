//! The tests of exercise 13. They run real programs (`sh -c` scripts and
//! `sleep`) under your supervisor and watch its events and `/proc`.
//!
//! Every test cleans up after itself, even when the supervisor under test is
//! wrong or stuck: a `Cleanup` guard, created outside the watchdog, SIGKILLs
//! every process group the events announced and every process that carries
//! the test's tag in its environment.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use exercise_13::{Config, Event, MAX_LINE, Policy, Program, Stream, Supervisor, backoff_delay};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use std::os::unix::process::ExitStatusExt;
use tokio::sync::mpsc;

/// The watchdog of each test: real processes, real time, a few seconds.
const LIMIT: Duration = Duration::from_secs(8);
/// How long a test waits for one expected event.
const EVENT_WAIT: Duration = Duration::from_secs(3);
/// The environment variable that marks the processes of one test.
const TAG: &str = "EXERCISE_13_TEST";

// ---------------------------------------------------------------------------
// Cleaning up: kill what a test started, whatever the code under test did.

/// Kills, when dropped, every process group and process recorded, and every
/// process whose environment holds this test's tag.
struct Cleanup {
    tag: String,
    pids: Arc<Mutex<Vec<i32>>>,
}

impl Cleanup {
    fn new(test: &str) -> Cleanup {
        Cleanup {
            tag: format!("{}-{test}", std::process::id()),
            pids: Arc::default(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let pids = self.pids.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for pid in pids {
            // The group, if pid leads one, and the process itself.
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let needle = format!("{TAG}={}", self.tag);
        for pid in pids_in_proc() {
            let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
                continue;
            };
            if env.split(|&b| b == 0).any(|var| var == needle.as_bytes()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
}

fn pids_in_proc() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

// ---------------------------------------------------------------------------
// Reading /proc.

/// The state letter (R, S, Z, ...), parent pid and process group of `pid`,
/// or None if no such process exists.
fn proc_stat(pid: i32) -> Option<(char, i32, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid pgrp ...": comm may hold spaces, so cut after
    // the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, ppid, pgrp))
}

/// Whether `pid` is a live process (it exists and is not a zombie).
fn is_alive(pid: i32) -> bool {
    matches!(proc_stat(pid), Some((state, _, _)) if state != 'Z')
}

/// Polls until `pid` is no longer alive; false if it still is after `limit`.
async fn dies_within(pid: i32, limit: Duration) -> bool {
    let start = Instant::now();
    while is_alive(pid) {
        if start.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

// ---------------------------------------------------------------------------
// Building configurations.

/// A program that runs `script` with `sh -c`, tagged for the cleanup.
fn sh(name: &str, script: &str, cleanup: &Cleanup) -> Program {
    Program {
        name: name.to_owned(),
        command: "sh".to_owned(),
        args: vec!["-c".to_owned(), script.to_owned()],
        env: BTreeMap::from([(TAG.to_owned(), cleanup.tag.clone())]),
        cwd: None,
    }
}

/// Short delays, so that the tests take little time.
fn quick_policy() -> Policy {
    Policy {
        backoff_base: Duration::from_millis(10),
        backoff_cap: Duration::from_millis(40),
        max_restarts: 100,
        restart_window: Duration::from_secs(60),
        grace: Duration::from_millis(200),
    }
}

// ---------------------------------------------------------------------------
// Watching the events.

/// The receiving end of the supervisor's events, which remembers what it saw
/// and records every started pid for the cleanup.
struct Events {
    rx: mpsc::UnboundedReceiver<Event>,
    seen: Vec<Event>,
    pids: Arc<Mutex<Vec<i32>>>,
}

impl Events {
    fn new(cleanup: &Cleanup) -> (mpsc::UnboundedSender<Event>, Events) {
        let (tx, rx) = mpsc::unbounded_channel();
        let events = Events {
            rx,
            seen: Vec::new(),
            pids: cleanup.pids.clone(),
        };
        (tx, events)
    }

    fn record(&mut self, event: &Event) {
        if let Event::Started { pid, .. } = event {
            self.pids.lock().unwrap().push(*pid as i32);
        }
        self.seen.push(event.clone());
    }

    /// The next event that satisfies `wanted` (others are kept in `seen`).
    /// Fails the test, saying `what` was expected, after EVENT_WAIT.
    async fn until(&mut self, what: &str, wanted: impl Fn(&Event) -> bool) -> Event {
        let deadline = tokio::time::Instant::now() + EVENT_WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(event)) => {
                    self.record(&event);
                    if wanted(&event) {
                        return event;
                    }
                }
                Ok(None) => panic!(
                    "expected {what}, but the event channel closed (every sender \
                     dropped). Events so far:\n{:#?}",
                    self.seen
                ),
                Err(_) => panic!(
                    "expected {what} within {EVENT_WAIT:?}, it did not come. \
                     Events so far:\n{:#?}",
                    self.seen
                ),
            }
        }
    }

    /// The pid of the next Started event of `name`.
    async fn started(&mut self, name: &str) -> i32 {
        let what = format!("Event::Started for {name:?}");
        match self
            .until(&what, |e| {
                matches!(e, Event::Started { .. }) && e.name() == name
            })
            .await
        {
            Event::Started { pid, .. } => pid as i32,
            _ => unreachable!(),
        }
    }

    /// Waits for the Line `text` of `name` on `stream`, unless it came
    /// already (the two streams of a program are not ordered).
    async fn line(&mut self, name: &str, stream: Stream, text: &str) {
        let wanted = |e: &Event| {
            matches!(e, Event::Line { stream: s, text: t, .. } if *s == stream && t == text)
                && e.name() == name
        };
        if !self.seen.iter().any(wanted) {
            let what = format!("the line {text:?} of {name:?} on {stream:?}");
            self.until(&what, wanted).await;
        }
    }

    /// Takes every event still queued (after stop(), all of them).
    fn drain(&mut self) {
        while let Ok(event) = self.rx.try_recv() {
            self.record(&event);
        }
    }

    fn lines_of(&self, name: &str) -> Vec<(Stream, String)> {
        self.seen
            .iter()
            .filter_map(|e| match e {
                Event::Line { stream, text, .. } if e.name() == name => {
                    Some((*stream, text.clone()))
                }
                _ => None,
            })
            .collect()
    }
}

/// Stops the supervisor, failing the test if that takes more than `limit`.
async fn stop_within(supervisor: Supervisor, limit: Duration, what: &str) -> Duration {
    let start = Instant::now();
    if tokio::time::timeout(limit, supervisor.stop())
        .await
        .is_err()
    {
        panic!("Supervisor::stop did not return within {limit:?}: {what}");
    }
    start.elapsed()
}

#[track_caller]
fn assert_reaped(pids: &[i32]) {
    for &pid in pids {
        if let Some((state, ppid, _)) = proc_stat(pid) {
            let what = if state == 'Z' {
                "a zombie: it exited but was never waited for (reaped)"
            } else {
                "still running"
            };
            panic!(
                "after stop() returned, program pid {pid} (parent {ppid}) is {what}; \
                 stop must wait for every program it started"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Backoff.

#[test]
fn backoff_doubles_from_the_base_up_to_the_cap() {
    testkit::within(LIMIT, "backoff_delay to return", || {
        let policy = Policy {
            backoff_base: Duration::from_millis(20),
            backoff_cap: Duration::from_millis(100),
            ..Policy::default()
        };
        let delays: Vec<u128> = (0..6)
            .map(|n| backoff_delay(&policy, n).as_millis())
            .collect();
        assert_eq!(
            delays,
            [20, 40, 80, 100, 100, 100],
            "backoff_delay(policy, n) for n = 0..6 with base 20 ms and cap 100 ms"
        );
    });
}

#[test]
fn backoff_does_not_overflow_after_many_restarts() {
    testkit::within(LIMIT, "backoff_delay to return", || {
        let policy = Policy {
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(3600),
            ..Policy::default()
        };
        for n in [31, 32, 64, 1000, u32::MAX] {
            assert_eq!(
                backoff_delay(&policy, n),
                Duration::from_secs(3600),
                "backoff_delay(policy, {n}) must be the cap, without overflowing"
            );
        }
    });
}

// ---------------------------------------------------------------------------
// Starting and output.

#[test]
fn starts_each_program_in_a_process_group_of_its_own() {
    let cleanup = Cleanup::new("groups");
    let config = Config {
        programs: vec![
            sh("one", "exec sleep 1000", &cleanup),
            sh("two", "exec sleep 1000", &cleanup),
        ],
        policy: quick_policy(),
    };
    let (tx, mut events) = Events::new(&cleanup);
    testkit::block_on(LIMIT, "both programs to start", move || async move {
        let supervisor = Supervisor::start(config, tx);
        for name in ["one", "two"] {
            let pid = events.started(name).await;
            let (_, ppid, pgrp) = proc_stat(pid).unwrap_or_else(|| {
                panic!("Started says {name} has pid {pid}, /proc has no such process")
            });
            assert_eq!(
                ppid,
                std::process::id() as i32,
                "{name} (pid {pid}) must be a child of the supervisor's process"
            );
            assert_eq!(
                pgrp, pid,
                "{name} (pid {pid}) is in process group {pgrp}: each program must lead \
                 a group of its own (Command::process_group(0))"
            );
        }
        stop_within(
            supervisor,
            Duration::from_secs(3),
            "two sleeps to be stopped",
        )
        .await;
    });
}

#[test]
fn reports_stdout_and_stderr_lines_with_the_program_name() {
    let cleanup = Cleanup::new("streams");
    let config = Config {
        programs: vec![
            sh(
                "web",
                "echo 'web out'; echo 'web err' >&2; exec sleep 1000",
                &cleanup,
            ),
            sh(
                "db",
                "echo 'db err' >&2; echo 'db out'; exec sleep 1000",
                &cleanup,
            ),
        ],
        policy: quick_policy(),
    };
    let (tx, mut events) = Events::new(&cleanup);
    testkit::block_on(LIMIT, "lines from both programs", move || async move {
        let supervisor = Supervisor::start(config, tx);
        events.line("web", Stream::Stdout, "web out").await;
        events.line("web", Stream::Stderr, "web err").await;
        events.line("db", Stream::Stdout, "db out").await;
        events.line("db", Stream::Stderr, "db err").await;
        stop_within(
            supervisor,
            Duration::from_secs(3),
            "two sleeps to be stopped",
        )
        .await;
    });
}

#[test]
fn a_line_written_in_pieces_arrives_as_one_line() {
    let cleanup = Cleanup::new("pieces");
    let script = "printf 'hel'; sleep 0.1; printf 'lo\\r\\n'; printf 'last words'";
    let config = Config {
        programs: vec![sh("split", script, &cleanup)],
        policy: Policy {
            max_restarts: 0,
            ..quick_policy()
        },
    };
    let (tx, mut events) = Events::new(&cleanup);
    testkit::block_on(LIMIT, "the program's two lines", move || async move {
        let supervisor = Supervisor::start(config, tx);
        events
            .until("Event::GaveUp for \"split\"", |e| {
                matches!(e, Event::GaveUp { .. })
            })
            .await;
        stop_within(supervisor, Duration::from_secs(3), "nothing is running").await;
        events.drain();
        assert_eq!(
            events.lines_of("split"),
            [
                (Stream::Stdout, "hello".to_owned()),
                (Stream::Stdout, "last words".to_owned())
            ],
            "the program wrote \"hel\", then \"lo\\r\\n\", then \"last words\" without \\n: \
             that is two lines, whatever the pieces (and \\r\\n is a line ending)"
        );
    });
}

#[test]
fn a_long_line_is_cut_at_max_line_bytes() {
    let cleanup = Cleanup::new("long");
    let total = MAX_LINE * 2 + 100;
    let script = format!("head -c {total} /dev/zero | tr '\\0' x; echo; echo after");
    let config = Config {
        programs: vec![sh("long", &script, &cleanup)],
        policy: Policy {
            max_restarts: 0,
            ..quick_policy()
        },
    };
    let (tx, mut events) = Events::new(&cleanup);
    testkit::block_on(LIMIT, "the long line in pieces", move || async move {
        let supervisor = Supervisor::start(config, tx);
        events.line("long", Stream::Stdout, "after").await;
        stop_within(supervisor, Duration::from_secs(3), "nothing is running").await;
        let lines = events.lines_of("long");
        let sizes: Vec<usize> = lines.iter().map(|(_, text)| text.len()).collect();
        assert_eq!(
            sizes,
            [MAX_LINE, MAX_LINE, 100, "after".len()],
            "a line of {total} bytes must arrive as pieces of at most MAX_LINE ({MAX_LINE}) \
             bytes, then the next line"
        );
    });
}

#[test]
fn bytes_that_are_not_utf8_become_replacement_characters() {
    let cleanup = Cleanup::new("utf8");
    // \351 is the byte 0xE9: é in Latin-1, invalid on its own in UTF-8.
    let script = "printf 'caf\\351\\n'; echo after";
    let config = Config {
        programs: vec![sh("latin1", script, &cleanup)],
        policy: Policy {
            max_restarts: 0,
            ..quick_policy()
        },
    };
    let (tx, mut events) = Events::new(&cleanup);
    testkit::block_on(LIMIT, "the program's two lines", move || async move {
        let supervisor = Supervisor::start(config, tx);
        events
            .until("Event::GaveUp for \"latin1\"", |e| {
                matches!(e, Event::GaveUp { .. })
            })
            .await;
        stop_within(supervisor, Duration::from_secs(3), "nothing is running").await;
        events.drain();
        assert_eq!(
            events.lines_of("latin1"),
            [
                (Stream::Stdout, "caf\u{FFFD}".to_owned()),
                (Stream::Stdout, "after".to_owned())
            ],
            "a line with a byte that is not UTF-8 is still a line (the byte becomes \
             U+FFFD), and the lines after it arrive too"
        );
    });
}

#[test]
fn a_program_flooding_stderr_is_not_blocked() {
    let cleanup = Cleanup::new("flood");
    // About 200 KB on stderr: more than a pipe holds (64 KiB on Linux).
    let script = "i=0; while [ $i -lt 2500 ]; do \
                  echo \"complaint number $i, padded to about eighty bytes .............\" >&2; \
                  i=$((i+1)); done; echo done; exec sleep 1000";
    let config = Config {
        programs: vec![sh("chatty", script, &cleanup)],
        policy: quick_policy(),
    };
    let (tx, mut events) = Events::new(&cleanup);
    testkit::block_on(
        LIMIT,
        "the chatty program to finish writing",
        move || async move {
            let supervisor = Supervisor::start(config, tx);
            events.line("chatty", Stream::Stdout, "done").await;
            stop_within(supervisor, Duration::from_secs(3), "a sleep to be stopped").await;
            events.drain();
            let complaints = events
                .lines_of("chatty")
                .iter()
                .filter(|(stream, _)| *stream == Stream::Stderr)
                .count();
            assert_eq!(
                complaints, 2500,
                "every stderr line must be forwarded by the time stop returns"
            );
        },
    );
}

#[test]
fn passes_the_environment_and_the_working_directory() {
    let cleanup = Cleanup::new("env");
    let dir = tempfile::tempdir().expect("creating a temporary directory");
    let dir_path = dir.path().canonicalize().unwrap();
    let mut program = sh("env", "echo \"greeting=$GREETING\"; pwd", &cleanup);
    program.env.insert("GREETING".into(), "hello".into());
    program.cwd = Some(dir_path.clone());
    let config = Config {
        programs: vec![program],
        policy: Policy {
            max_restarts: 0,
            ..quick_policy()
        },
    };
    let (tx, mut events) = Events::new(&cleanup);
    let expected_dir = dir_path.display().to_string();
    testkit::block_on(LIMIT, "the program's two lines", move || async move {
        let supervisor = Supervisor::start(config, tx);
        events.line("env", Stream::Stdout, "greeting=hello").await;
        events.line("env", Stream::Stdout, &expected_dir).await;
        stop_within(supervisor, Duration::from_secs(3), "nothing is running").await;
    });
    drop(dir);
}

#[test]
fn a_program_that_cannot_be_started_counts_as_exit_status_127() {
    let cleanup = Cleanup::new("missing");
    let mut program = sh("missing", "", &cleanup);
    program.command = "/nonexistent/exercise-13-program".to_owned();
    program.args.clear();
    let config = Config {
        programs: vec![program],
        policy: Policy {
            max_restarts: 0,
            ..quick_policy()
        },
    };
    let (tx, mut events) = Events::new(&cleanup);
    testkit::block_on(LIMIT, "the supervisor to give up", move || async move {
        let supervisor = Supervisor::start(config, tx);
        events
            .until("Event::GaveUp for \"missing\"", |e| {
                matches!(e, Event::GaveUp { .. })
            })
            .await;
        stop_within(supervisor, Duration::from_secs(3), "nothing is running").await;
        events.drain();
        let explained = events
            .lines_of("missing")
            .iter()
            .any(|(stream, _)| *stream == Stream::Stderr);
        assert!(
            explained,
            "a program that cannot be spawned gets a Line on stderr saying why. Events:\n{:#?}",
            events.seen
        );
        let status = events.seen.iter().find_map(|e| match e {
            Event::Exited { status, .. } => Some(*status),
            _ => None,
        });
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(127),
            "a program that cannot be spawned counts as one that exited with status 127"
        );
    });
}

// ---------------------------------------------------------------------------
// Restarts.

#[test]
fn restarts_an_exiting_program_with_doubling_delays() {
    let cleanup = Cleanup::new("restarts");
    let config = Config {
        programs: vec![sh("crash", "exit 3", &cleanup)],
        policy: quick_policy(), // 10 ms doubling up to 40 ms
    };
    let (tx, mut events) = Events::new(&cleanup);
    testkit::block_on(
        LIMIT,
        "six starts of a crashing program",
        move || async move {
            let begin = Instant::now();
            let supervisor = Supervisor::start(config, tx);
            let mut delays = Vec::new();
            for _ in 0..5 {
                events.started("crash").await;
                let exited = events
                    .until("Event::Exited for \"crash\"", |e| {
                        matches!(e, Event::Exited { .. })
                    })
                    .await;
                if let Event::Exited { status, .. } = exited {
                    assert_eq!(status.code(), Some(3), "the program exits with status 3");
                }
                match events
                    .until("Event::Restarting for \"crash\"", |e| {
                        matches!(e, Event::Restarting { .. })
                    })
                    .await
                {
                    Event::Restarting { delay, .. } => delays.push(delay.as_millis()),
                    _ => unreachable!(),
                }
            }
            events.started("crash").await;
            let elapsed = begin.elapsed();
            assert_eq!(
                delays,
                [10, 20, 40, 40, 40],
                "the delays of the first five restarts (base 10 ms, cap 40 ms)"
            );
            assert!(
                elapsed >= Duration::from_millis(150),
                "the sixth start came {elapsed:?} after start(); the five delays add up to \
             150 ms: the supervisor must wait each delay before restarting"
            );
            stop_within(
                supervisor,
                Duration::from_secs(3),
                "a crashing program to be stopped",
            )
            .await;
            let pids = events.pids.lock().unwrap().clone();
            assert_reaped(&pids);
        },
    );
}

#[test]
fn gives_up_after_max_restarts_within_the_window() {
    let cleanup = Cleanup::new("giveup");
    let config = Config {
        programs: vec![sh("crash", "exit 1", &cleanup)],
        policy: Policy {
            backoff_base: Duration::from_millis(5),
            backoff_cap: Duration::from_millis(5),
            max_restarts: 3,
            ..quick_policy()
        },
    };
    let (tx, mut events) = Events::new(&cleanup);
    testkit::block_on(LIMIT, "the supervisor to give up", move || async move {
        let supervisor = Supervisor::start(config, tx);
        events
            .until(
                "Event::GaveUp for \"crash\" (max_restarts = 3, a 60 s window)",
                |e| matches!(e, Event::GaveUp { .. }),
            )
            .await;
        // Nothing may start after giving up.
        tokio::time::sleep(Duration::from_millis(50)).await;
        stop_within(supervisor, Duration::from_secs(3), "nothing is running").await;
        events.drain();
        let starts = events
            .seen
            .iter()
            .filter(|e| matches!(e, Event::Started { .. }))
            .count();
        assert_eq!(
            starts, 4,
            "with max_restarts = 3: the first start and three restarts, then GaveUp \
             and no more starts. Events:\n{:#?}",
            events.seen
        );
    });
}

#[test]
fn restarts_older_than_the_window_are_forgotten() {
    let cleanup = Cleanup::new("window");
    let config = Config {
        // Runs 80 ms, longer than the 30 ms window, then fails.
        programs: vec![sh("slow", "sleep 0.08; exit 1", &cleanup)],
        policy: Policy {
            backoff_base: Duration::from_millis(5),
            backoff_cap: Duration::from_millis(1000),
            max_restarts: 1,
            restart_window: Duration::from_millis(30),
            ..quick_policy()
        },
    };
    let (tx, mut events) = Events::new(&cleanup);
    testkit::block_on(LIMIT, "four runs of the program", move || async move {
        let supervisor = Supervisor::start(config, tx);
        let mut delays = Vec::new();
        for _ in 0..3 {
            let event = events
                .until("Event::Restarting or GaveUp for \"slow\"", |e| {
                    matches!(e, Event::Restarting { .. } | Event::GaveUp { .. })
                })
                .await;
            match event {
                Event::Restarting { delay, .. } => delays.push(delay.as_millis()),
                _ => panic!(
                    "gave up on a program that fails every 80 ms, with max_restarts = 1 in \
                     a 30 ms window: restarts older than the window must not count"
                ),
            }
        }
        assert_eq!(
            delays,
            [5, 5, 5],
            "each restart is the only one within its 30 ms window: always the base delay"
        );
        stop_within(supervisor, Duration::from_secs(3), "a sleep to be stopped").await;
    });
}

// ---------------------------------------------------------------------------
// Stopping.

#[test]
fn stop_sends_sigterm_first_so_programs_can_clean_up() {
    let cleanup = Cleanup::new("term");
    let script = "trap 'echo got TERM; exit 0' TERM; echo ready; while :; do sleep 0.1; done";
    let config = Config {
        programs: vec![sh("polite", script, &cleanup)],
        policy: Policy {
            grace: Duration::from_secs(2),
            ..quick_policy()
        },
    };
    let (tx, mut events) = Events::new(&cleanup);
    testkit::block_on(LIMIT, "the program to be stopped", move || async move {
        let supervisor = Supervisor::start(config, tx);
        events.line("polite", Stream::Stdout, "ready").await;
        stop_within(
            supervisor,
            Duration::from_secs(4),
            "the program exits on SIGTERM",
        )
        .await;
        events.drain();
        let lines = events.lines_of("polite");
        assert!(
            lines.contains(&(Stream::Stdout, "got TERM".to_owned())),
            "the program prints \"got TERM\" on SIGTERM; stop must send SIGTERM first \
             (not SIGKILL) and forward every line before it returns. Lines: {lines:?}"
        );
        let status = events.seen.iter().find_map(|e| match e {
            Event::Exited { status, .. } => Some(*status),
            _ => None,
        });
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "the program exits with status 0 from its TERM trap; Exited must report it"
        );
    });
}

#[test]
fn stop_kills_a_program_that_ignores_sigterm_after_the_grace_period() {
    let cleanup = Cleanup::new("stubborn");
    let script = "trap '' TERM; echo ready; while :; do sleep 0.1; done";
    let config = Config {
        programs: vec![sh("stubborn", script, &cleanup)],
        policy: quick_policy(), // grace 200 ms
    };
    let (tx, mut events) = Events::new(&cleanup);
    testkit::block_on(
        LIMIT,
        "the stubborn program to be killed",
        move || async move {
            let supervisor = Supervisor::start(config, tx);
            events.line("stubborn", Stream::Stdout, "ready").await;
            let took = stop_within(
                supervisor,
                Duration::from_secs(3),
                "the program ignores SIGTERM: after the 200 ms grace period it must get SIGKILL",
            )
            .await;
            assert!(
                took >= Duration::from_millis(200),
                "stop took {took:?}: the program deserves its 200 ms of grace before SIGKILL"
            );
            events.drain();
            let status = events.seen.iter().find_map(|e| match e {
                Event::Exited { status, .. } => Some(*status),
                _ => None,
            });
            assert_eq!(
                status.and_then(|s| s.signal()),
                Some(Signal::SIGKILL as i32),
                "Exited must report that SIGKILL ended the program (ExitStatusExt::signal)"
            );
        },
    );
}

#[test]
fn stop_kills_the_programs_children_too() {
    let cleanup = Cleanup::new("grandchild");
    // The shell starts a sleep in the background, prints its pid, and waits.
    let script = "sleep 1000 & echo $!; wait";
    let config = Config {
        programs: vec![sh("parent", script, &cleanup)],
        policy: quick_policy(),
    };
    let (tx, mut events) = Events::new(&cleanup);
    let pids = cleanup.pids.clone();
    testkit::block_on(
        LIMIT,
        "the program and its child to be stopped",
        move || async move {
            let supervisor = Supervisor::start(config, tx);
            let line = events
                .until("the pid the program prints", |e| {
                    matches!(e, Event::Line { .. })
                })
                .await;
            let Event::Line { text, .. } = line else {
                unreachable!()
            };
            let grandchild: i32 = text.trim().parse().expect("the program prints a pid");
            pids.lock().unwrap().push(grandchild);
            assert!(
                is_alive(grandchild),
                "the background sleep runs before stop"
            );
            stop_within(
                supervisor,
                Duration::from_secs(3),
                "the program to be stopped",
            )
            .await;
            assert!(
                dies_within(grandchild, Duration::from_secs(1)).await,
                "after stop, the program's child (pid {grandchild}, a `sleep 1000` it started) \
             is still running: signal the whole process group (killpg), not just the \
             program"
            );
        },
    );
}

#[test]
fn stop_returns_only_after_every_program_has_exited_and_been_reaped() {
    let cleanup = Cleanup::new("reaped");
    // On SIGTERM the program takes 200 ms to finish.
    let script = "trap 'sleep 0.2; exit 0' TERM; echo ready; while :; do sleep 0.1; done";
    let config = Config {
        programs: vec![sh("slow1", script, &cleanup), sh("slow2", script, &cleanup)],
        policy: Policy {
            grace: Duration::from_secs(2),
            ..quick_policy()
        },
    };
    let (tx, mut events) = Events::new(&cleanup);
    testkit::block_on(LIMIT, "both programs to be stopped", move || async move {
        let supervisor = Supervisor::start(config, tx);
        let first = events.started("slow1").await;
        let second = events.started("slow2").await;
        events.line("slow1", Stream::Stdout, "ready").await;
        events.line("slow2", Stream::Stdout, "ready").await;
        stop_within(
            supervisor,
            Duration::from_secs(4),
            "two programs that take 200 ms",
        )
        .await;
        assert_reaped(&[first, second]);
        events.drain();
        let exits = events
            .seen
            .iter()
            .filter(|e| matches!(e, Event::Exited { .. }))
            .count();
        assert_eq!(
            exits, 2,
            "each stopped program gets its Event::Exited before stop returns"
        );
    });
}

#[test]
fn stop_during_the_backoff_delay_returns_at_once() {
    let cleanup = Cleanup::new("backoff-stop");
    let config = Config {
        programs: vec![sh("crash", "exit 1", &cleanup)],
        policy: Policy {
            backoff_base: Duration::from_secs(5),
            backoff_cap: Duration::from_secs(5),
            ..quick_policy()
        },
    };
    let (tx, mut events) = Events::new(&cleanup);
    testkit::block_on(
        LIMIT,
        "stop to return during the backoff",
        move || async move {
            let supervisor = Supervisor::start(config, tx);
            events
                .until("Event::Restarting for \"crash\"", |e| {
                    matches!(e, Event::Restarting { .. })
                })
                .await;
            stop_within(
                supervisor,
                Duration::from_millis(2500),
                "the program waits 5 s for its restart; stop must not wait for that delay",
            )
            .await;
            events.drain();
            let starts = events
                .seen
                .iter()
                .filter(|e| matches!(e, Event::Started { .. }))
                .count();
            assert_eq!(
                starts, 1,
                "a program waiting for its restart is not started again"
            );
        },
    );
}

#[test]
fn the_event_channel_closes_after_stop() {
    let cleanup = Cleanup::new("closed");
    let config = Config {
        programs: vec![sh("quiet", "exec sleep 1000", &cleanup)],
        policy: quick_policy(),
    };
    let (tx, mut events) = Events::new(&cleanup);
    testkit::block_on(
        LIMIT,
        "the channel to close after stop",
        move || async move {
            let supervisor = Supervisor::start(config, tx);
            events.started("quiet").await;
            stop_within(supervisor, Duration::from_secs(3), "a sleep to be stopped").await;
            events.drain();
            let after = tokio::time::timeout(Duration::from_secs(1), events.rx.recv()).await;
            assert!(
                matches!(after, Ok(None)),
                "after stop returns, the supervisor must have dropped every clone of the \
             events sender (no task left running); got {after:?}"
            );
        },
    );
}
