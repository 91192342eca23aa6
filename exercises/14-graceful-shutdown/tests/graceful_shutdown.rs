//! The specification of exercise 14: a server that shuts down gracefully.
//!
//! Each test starts the server program (`src/main.rs`, which calls your
//! `run`) as a child process with a configuration file in a temporary
//! directory, reads the address it prints, and talks to it with ordinary
//! `TcpStream` clients, as `nc` would. Then it sends the process real
//! signals with `kill(2)` and watches what happens: which requests get
//! their answers, whether new connections are refused, how and when the
//! process exits.
//!
//! A request is "in flight" once the server has answered `working MS` to a
//! `work MS` line. Every wait has a time limit shorter than the test's
//! watchdog, and the child process is killed (SIGKILL) when a test ends,
//! passed or failed, so a wrong solution leaves no process behind.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use exercise_14::Shutdown;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use testkit::within;

/// The server program under test: the exercise's, or the solution's when
/// the reference solution runs these tests.
const SERVER: Option<&str> = match option_env!("CARGO_BIN_EXE_exercise-14") {
    Some(path) => Some(path),
    None => option_env!("CARGO_BIN_EXE_solution-14"),
};

/// Each test's watchdog. Every wait inside a test is shorter, so a test
/// fails with its own message (and kills its server) before this fires.
const WATCHDOG: Duration = Duration::from_secs(20);

/// How long the server may take to start and print its address.
const STARTUP: Duration = Duration::from_secs(5);

/// Set when a server of this run did not print its address within STARTUP.
static STARTUP_HUNG: AtomicBool = AtomicBool::new(false);

/// How long a client waits for one answer that should come at once.
const REPLY: Duration = Duration::from_secs(4);

/// The upper bound for "exits at once" and for a signal to take effect.
/// Generous: a loaded machine can be slow, and the lesson is "seconds
/// earlier than otherwise", never milliseconds.
const PROMPTLY: Duration = Duration::from_millis(2500);

const GREETING: &str = "hello from the first config";
const NEW_GREETING: &str = "hello from the reloaded config";

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

#[test]
fn prints_its_address_and_serves_requests() {
    within(WATCHDOG, "the server answers config and work", || {
        let server = Server::start(Setup::default());
        let mut client = server.connect();
        client.ask("config", &format!("greeting {GREETING}"));
        client.ask("work 50", "working 50");
        client.expect("done 50", "50 ms after `working 50`");
        server.assert_running("after answering two requests");
    });
}

#[test]
fn sigterm_lets_every_request_in_flight_finish() {
    within(
        WATCHDOG,
        "three requests in flight finish after SIGTERM",
        || {
            let mut server = Server::start(Setup::default());
            let mut clients: Vec<Client> = [100, 200, 300]
                .iter()
                .map(|ms| {
                    let mut client = server.connect();
                    client.ask(&format!("work {ms}"), &format!("working {ms}"));
                    client
                })
                .collect();
            server.signal(Signal::SIGTERM);
            for (client, ms) in clients.iter_mut().zip([100, 200, 300]) {
                client.expect(
                &format!("done {ms}"),
                "the request was in flight when SIGTERM came: a graceful shutdown lets it finish",
            );
            }
            server.assert_exits(Shutdown::Drained, PROMPTLY, "once the last request is done");
        },
    );
}

#[test]
fn sigint_drains_like_sigterm() {
    within(
        WATCHDOG,
        "a request in flight finishes after SIGINT",
        || {
            let mut server = Server::start(Setup::default());
            let mut client = server.connect();
            client.ask("work 200", "working 200");
            server.signal(Signal::SIGINT);
            client.expect(
                "done 200",
                "SIGINT (Ctrl-C) must start the same graceful shutdown as SIGTERM",
            );
            server.assert_exits(Shutdown::Drained, PROMPTLY, "once the last request is done");
        },
    );
}

#[test]
fn an_idle_connection_does_not_hold_up_the_shutdown() {
    within(WATCHDOG, "an idle connection is closed on SIGTERM", || {
        let mut server = Server::start(Setup {
            drain_timeout_ms: 10_000,
            ..Setup::default()
        });
        let mut idle = server.connect();
        idle.ask("config", &format!("greeting {GREETING}"));
        server.signal(Signal::SIGTERM);
        idle.expect(
            "shutting down",
            "an idle connection should be told at once (cancel the token the connections watch)",
        );
        idle.expect_closed("after `shutting down`");
        server.assert_exits(
            Shutdown::Drained,
            PROMPTLY,
            "nothing is in flight: waiting for the 10 s drain timeout is not needed",
        );
    });
}

#[test]
fn refuses_new_connections_after_the_first_signal() {
    within(WATCHDOG, "the listener is closed on SIGTERM", || {
        let server = Server::start(Setup::default());
        // A long request keeps the server draining (and running) while we
        // try to connect.
        let mut busy = server.connect();
        busy.ask("work 5000", "working 5000");
        let mut idle = server.connect();
        idle.ask("config", &format!("greeting {GREETING}"));
        server.signal(Signal::SIGTERM);
        // The idle connection closing tells us that the shutdown has begun.
        idle.expect("shutting down", "SIGTERM closes idle connections");
        let refused = wait_until_refused(server.addr, PROMPTLY);
        server.assert_running("while a request is still in flight");
        assert!(
            refused,
            "{} after SIGTERM, connecting to {} still succeeded: the listener is still open, \
             so new clients queue up in its backlog and are never served. Drop the listener \
             when the shutdown starts.",
            fmt(PROMPTLY),
            server.addr
        );
    });
}

#[test]
fn past_the_drain_timeout_it_exits_with_code_2() {
    within(WATCHDOG, "the drain timeout ends the shutdown", || {
        let mut server = Server::start(Setup {
            drain_timeout_ms: 300,
            ..Setup::default()
        });
        let mut client = server.connect();
        client.ask("work 5000", "working 5000");
        server.signal(Signal::SIGTERM);
        server.assert_exits(
            Shutdown::DeadlinePassed,
            PROMPTLY,
            "the drain timeout is 300 ms and the request needs 5 s: the server must give up \
             on it at the deadline, not wait",
        );
        client.expect_closed("the request was cut off by the deadline");
    });
}

#[test]
fn a_second_signal_exits_at_once() {
    within(WATCHDOG, "a second signal ends the shutdown", || {
        let mut server = Server::start(Setup {
            drain_timeout_ms: 10_000,
            ..Setup::default()
        });
        let mut busy = server.connect();
        busy.ask("work 5000", "working 5000");
        let mut idle = server.connect();
        idle.ask("config", &format!("greeting {GREETING}"));
        server.signal(Signal::SIGTERM);
        idle.expect("shutting down", "SIGTERM closes idle connections");
        server.assert_running("the first SIGTERM waits for the request in flight");
        server.signal(Signal::SIGINT);
        server.assert_exits(
            Shutdown::Interrupted,
            PROMPTLY,
            "a second SIGTERM or SIGINT while draining means: stop now, do not wait for the \
             5 s request",
        );
    });
}

#[test]
fn sighup_reloads_the_config_without_dropping_connections() {
    within(WATCHDOG, "SIGHUP reloads the configuration", || {
        let server = Server::start(Setup::default());
        let mut busy = server.connect();
        let mut open = server.connect();
        open.ask("config", &format!("greeting {GREETING}"));
        busy.ask("work 200", "working 200");

        server.write_config(&format!("greeting = {NEW_GREETING}\n"));
        server.signal(Signal::SIGHUP);
        busy.expect(
            "done 200",
            "a request in flight during a reload finishes (a SIGHUP without a handler kills \
             the process: install one)",
        );
        open.wait_for_greeting(
            NEW_GREETING,
            "after SIGHUP, a connection opened before the reload answers `config` with the new \
             greeting",
        );
        server
            .connect()
            .ask("config", &format!("greeting {NEW_GREETING}"));
        server.assert_running("after the reload");
    });
}

#[test]
fn a_broken_config_on_sighup_keeps_the_old_one_and_logs_an_error() {
    within(WATCHDOG, "a broken configuration is rejected", || {
        let server = Server::start(Setup::default());
        let mut client = server.connect();
        client.ask("config", &format!("greeting {GREETING}"));

        server.write_config("this is not a configuration file\n");
        let logged_before = server.stderr_len();
        server.signal(Signal::SIGHUP);
        let logged = server.wait_for_stderr(logged_before, "error", PROMPTLY);
        server.assert_running("a broken configuration file must not stop the server");
        assert!(
            logged,
            "after SIGHUP with a broken configuration file, nothing containing \"error\" \
             appeared on stderr within {}: log why the reload failed. stderr:\n{}",
            fmt(PROMPTLY),
            server.stderr()
        );
        client.ask("config", &format!("greeting {GREETING}"));

        // Fixed again: the next SIGHUP takes it.
        server.write_config(&format!("greeting = {NEW_GREETING}\n"));
        server.signal(Signal::SIGHUP);
        client.wait_for_greeting(NEW_GREETING, "a good file on the next SIGHUP is taken");
    });
}

#[test]
fn refuses_to_start_with_a_broken_config() {
    within(
        WATCHDOG,
        "the server rejects a broken configuration",
        || {
            let mut server = Server::spawn(Setup {
                config: "greeting =\n".into(),
                ..Setup::default()
            });
            match server.wait_exit(PROMPTLY) {
                Some(status) => assert_eq!(
                    status.code(),
                    Some(1),
                    "with an invalid configuration file (an empty greeting) `run` should return an \
                 error, and the program exits with 1; it {}. stderr:\n{}",
                    describe(status),
                    server.stderr()
                ),
                None => panic!(
                    "with an invalid configuration file the server should not start, but it is \
                 still running after {}. stderr:\n{}",
                    fmt(PROMPTLY),
                    server.stderr()
                ),
            }
        },
    );
}

#[test]
fn sends_ready_to_the_notify_socket_once_listening() {
    within(WATCHDOG, "READY=1 reaches $NOTIFY_SOCKET", || {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("notify.sock");
        let manager = UnixDatagram::bind(&path).expect("binding the notify socket");
        let server = Server::start(Setup {
            notify_socket: Some(path.clone()),
            ..Setup::default()
        });
        assert_eq!(
            receive(&manager).as_deref(),
            Ok("READY=1"),
            "with NOTIFY_SOCKET={} the server should send one datagram `READY=1` once it listens",
            path.display()
        );
        server
            .connect()
            .ask("config", &format!("greeting {GREETING}"));
    });
}

#[test]
fn sends_ready_to_an_abstract_notify_socket() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::SocketAddr as UnixAddr;

    within(
        WATCHDOG,
        "READY=1 reaches an abstract $NOTIFY_SOCKET",
        || {
            // An abstract name has no file; `@` in NOTIFY_SOCKET stands for
            // the leading NUL byte of its address.
            let name = format!(
                "exercise-14-test-{}-{:?}",
                std::process::id(),
                Instant::now()
            );
            let addr = UnixAddr::from_abstract_name(name.as_bytes()).expect("an abstract address");
            let manager = UnixDatagram::bind_addr(&addr).expect("binding the abstract socket");
            let _server = Server::start(Setup {
                notify_socket: Some(PathBuf::from(format!("@{name}"))),
                ..Setup::default()
            });
            assert_eq!(
                receive(&manager).as_deref(),
                Ok("READY=1"),
                "with NOTIFY_SOCKET=@{name} the server should send `READY=1` to the abstract \
             socket named {name:?} (see SocketAddrExt::from_abstract_name)"
            );
        },
    );
}

#[test]
fn tells_the_notify_socket_about_reloads_and_stopping() {
    within(
        WATCHDOG,
        "RELOADING=1, READY=1 and STOPPING=1 reach $NOTIFY_SOCKET",
        || {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let path = dir.path().join("notify.sock");
            let manager = UnixDatagram::bind(&path).expect("binding the notify socket");
            let mut server = Server::start(Setup {
                notify_socket: Some(path),
                ..Setup::default()
            });
            assert_eq!(
                receive(&manager).as_deref(),
                Ok("READY=1"),
                "first, READY=1"
            );

            server.write_config(&format!("greeting = {NEW_GREETING}\n"));
            let before = monotonic_usec();
            server.signal(Signal::SIGHUP);
            let reloading = receive(&manager).unwrap_or_else(|e| panic!("after SIGHUP: {e}"));
            let after = monotonic_usec();
            let lines: Vec<&str> = reloading.lines().collect();
            assert!(
                lines.contains(&"RELOADING=1"),
                "a reload starts with a datagram containing the line RELOADING=1; got {reloading:?}"
            );
            let stamp = lines
                .iter()
                .find_map(|line| line.strip_prefix("MONOTONIC_USEC="))
                .and_then(|value| value.parse::<u64>().ok());
            assert!(
                stamp.is_some_and(|usec| (before..=after).contains(&usec)),
                "RELOADING=1 must come with MONOTONIC_USEC=<CLOCK_MONOTONIC in µs, when sent> in \
             the same datagram (systemd 253+ needs it); got {reloading:?}, expected a value \
             between {before} and {after}"
            );
            assert_eq!(
                receive(&manager).as_deref(),
                Ok("READY=1"),
                "after the reload, READY=1 again"
            );

            server.signal(Signal::SIGTERM);
            assert_eq!(
                receive(&manager).as_deref(),
                Ok("STOPPING=1"),
                "when the shutdown starts, STOPPING=1"
            );
            server.assert_exits(Shutdown::Drained, PROMPTLY, "nothing was in flight");
        },
    );
}

// ---------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------

struct Setup {
    /// The configuration file's text.
    config: String,
    drain_timeout_ms: u64,
    /// `NOTIFY_SOCKET` for the server; none by default (it is removed from
    /// the environment, in case the tests run under a service manager).
    notify_socket: Option<PathBuf>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            config: format!("# written by the test\ngreeting = {GREETING}\n"),
            drain_timeout_ms: 5_000,
            notify_socket: None,
        }
    }
}

/// A running server program. Dropping it kills the process (SIGKILL) and
/// waits for it, whatever state the test left it in.
struct Server {
    child: Child,
    addr: SocketAddr,
    config_path: PathBuf,
    stderr: Arc<Mutex<String>>,
    /// The address the program prints, or the end of its output.
    stdout: mpsc::Receiver<String>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the program and waits until it prints `listening on ADDR`.
    #[track_caller]
    fn start(setup: Setup) -> Server {
        let mut server = Server::spawn(setup);
        let started = Instant::now();
        let deadline = started + STARTUP;
        loop {
            // Once one server of this run never printed its address, the
            // others most likely will not either: give up after a second.
            if STARTUP_HUNG.load(Ordering::Relaxed) && started.elapsed() >= Duration::from_secs(1) {
                panic!(
                    "the server did not print `listening on ADDR` (another test's server \
                     did not print it within {} either: fix that first). stderr:\n{}",
                    fmt(STARTUP),
                    server.stderr()
                );
            }
            let left = deadline
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(100));
            match server.stdout.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = line.trim().strip_prefix("listening on ") {
                        server.addr = addr.parse().unwrap_or_else(|e| {
                            panic!("the server printed `{line}`: `{addr}` is not an address ({e})")
                        });
                        return server;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = server.wait_exit(REPLY);
                    panic!(
                        "the server closed its stdout without printing `listening on ADDR`; it {}.\n\
                         stderr:\n{}",
                        status.map_or("is still running".to_owned(), describe),
                        server.stderr()
                    );
                }
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    STARTUP_HUNG.store(true, Ordering::Relaxed);
                    panic!(
                        "the server did not print `listening on ADDR` on stdout within {}. \
                         stderr:\n{}",
                        fmt(STARTUP),
                        server.stderr()
                    )
                }
            }
        }
    }

    /// Starts the program without waiting for anything.
    #[track_caller]
    fn spawn(setup: Setup) -> Server {
        let program = SERVER.expect("cargo sets CARGO_BIN_EXE_<name> for the server program");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config_path = dir.path().join("server.conf");
        std::fs::write(&config_path, &setup.config).expect("writing the configuration file");
        let mut command = Command::new(program);
        command
            .arg(&config_path)
            .args(["--drain-timeout-ms", &setup.drain_timeout_ms.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("NOTIFY_SOCKET")
            // A panic's message and line are enough in a failure message; a
            // backtrace per server would slow a red run down by seconds.
            // For one, run the program by hand with RUST_BACKTRACE=1.
            .env("RUST_BACKTRACE", "0");
        if let Some(socket) = &setup.notify_socket {
            command.env("NOTIFY_SOCKET", socket);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {program}: {e}"));

        // Two threads read the child's output, so that it never blocks on a
        // full pipe and no read here can hang a test.
        let (lines, stdout) = mpsc::channel();
        let out = child.stdout.take().expect("piped stdout");
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = child.stderr.take().expect("piped stderr");
        let log = Arc::clone(&stderr);
        thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                log.push_str(&line);
                log.push('\n');
            }
        });
        Server {
            child,
            addr: ([127, 0, 0, 1], 0).into(),
            config_path,
            stderr,
            stdout,
            _dir: dir,
        }
    }

    /// Connects a client.
    #[track_caller]
    fn connect(&self) -> Client {
        let stream = TcpStream::connect(self.addr)
            .unwrap_or_else(|e| panic!("connecting to the server at {}: {e}", self.addr));
        stream
            .set_read_timeout(Some(REPLY))
            .expect("setting a read timeout");
        Client {
            reader: BufReader::new(stream.try_clone().expect("cloning a TcpStream")),
            writer: stream,
            last_sent: String::new(),
        }
    }

    #[track_caller]
    fn signal(&self, signal: Signal) {
        let pid = Pid::from_raw(self.child.id() as i32);
        kill(pid, signal).unwrap_or_else(|e| panic!("sending {signal} to the server: {e}"));
    }

    #[track_caller]
    fn write_config(&self, text: &str) {
        std::fs::write(&self.config_path, text).expect("rewriting the configuration file");
    }

    /// The server's stderr so far, for a failure message: its first 20
    /// lines (a panic's message comes first, its backtrace after).
    fn stderr(&self) -> String {
        let log = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        let lines: Vec<&str> = log.lines().collect();
        match lines.len() {
            0 => "(nothing)".to_owned(),
            1..=20 => log.clone(),
            n => format!("{}\n... ({} more lines)", lines[..20].join("\n"), n - 20),
        }
    }

    /// How many bytes the server has written on stderr so far.
    fn stderr_len(&self) -> usize {
        self.stderr.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether stderr contains `needle` after its first `from` bytes,
    /// ignoring case.
    fn stderr_contains(&self, from: usize, needle: &str) -> bool {
        let log = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        log.get(from..)
            .is_some_and(|new| new.to_lowercase().contains(&needle.to_lowercase()))
    }

    /// Waits until stderr, after its first `from` bytes, contains `needle`
    /// (ignoring case), at most `limit`.
    fn wait_for_stderr(&self, from: usize, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if self.stderr_contains(from, needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// The exit status, if the process ends within `limit`.
    fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                _ => return None,
            }
        }
    }

    #[track_caller]
    fn assert_running(&self, when: &str) {
        // try_wait needs &mut; a fresh look through the pid works on &self.
        let alive = kill(Pid::from_raw(self.child.id() as i32), None).is_ok() && !self.is_zombie();
        assert!(
            alive,
            "the server should still be running {when}, but it has exited. stderr:\n{}",
            self.stderr()
        );
    }

    /// An exited child that nobody has waited for yet is a zombie: `kill`
    /// with no signal still succeeds on it.
    fn is_zombie(&self) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()));
        match stat {
            // The state follows the command name in parentheses: "pid (name) S ...".
            Ok(stat) => stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z')),
            Err(_) => false,
        }
    }

    #[track_caller]
    fn assert_exits(&mut self, expected: Shutdown, limit: Duration, why: &str) {
        let code = expected.exit_code();
        match self.wait_exit(limit) {
            Some(status) => assert_eq!(
                status.code(),
                Some(code),
                "the server should exit with {code} (Shutdown::{expected:?}) {why}; it {}.\n\
                 stderr:\n{}",
                describe(status),
                self.stderr()
            ),
            None => panic!(
                "the server should exit with {code} (Shutdown::{expected:?}) {why}, but it was \
                 still running {} later.\nstderr:\n{}",
                fmt(limit),
                self.stderr()
            ),
        }
    }
}

// ---------------------------------------------------------------------------
// A client
// ---------------------------------------------------------------------------

struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    last_sent: String,
}

impl Client {
    #[track_caller]
    fn send(&mut self, line: &str) {
        self.last_sent = line.to_owned();
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .unwrap_or_else(|e| panic!("sending `{line}`: {e}"));
    }

    /// The next line from the server, without its `\n`.
    fn reply(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Err("the server closed the connection".into()),
            Ok(_) => Ok(line.trim_end_matches('\n').to_owned()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(format!("no answer within {}", fmt(REPLY)))
            }
            Err(e) => Err(format!("the connection failed: {e}")),
        }
    }

    /// Sends `line` and expects `answer` at once.
    #[track_caller]
    fn ask(&mut self, line: &str, answer: &str) {
        self.send(line);
        self.expect(answer, "the answer to a request");
    }

    #[track_caller]
    fn expect(&mut self, expected: &str, why: &str) {
        match self.reply() {
            Ok(reply) => assert_eq!(
                reply, expected,
                "{why}: after `{}` the server answered `{reply}`",
                self.last_sent
            ),
            Err(problem) => panic!(
                "expected `{expected}` ({why}) after `{}`, but {problem}",
                self.last_sent
            ),
        }
    }

    /// Expects the end of the connection (EOF or a reset), no more lines.
    #[track_caller]
    fn expect_closed(&mut self, why: &str) {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => {}
            Ok(_) => panic!(
                "expected the connection to close ({why}), got `{}`",
                line.trim_end()
            ),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => panic!(
                "expected the connection to close ({why}), it is still open after {}",
                fmt(REPLY)
            ),
            Err(_) => {} // reset: closed as well
        }
    }

    /// Asks `config` until the answer carries `greeting`, at most PROMPTLY.
    #[track_caller]
    fn wait_for_greeting(&mut self, greeting: &str, why: &str) {
        let deadline = Instant::now() + PROMPTLY;
        let expected = format!("greeting {greeting}");
        loop {
            self.send("config");
            match self.reply() {
                Ok(reply) if reply == expected => return,
                Ok(reply) if Instant::now() >= deadline => panic!(
                    "{why}: still `{reply}` {} after SIGHUP, expected `{expected}`",
                    fmt(PROMPTLY)
                ),
                Ok(_) => thread::sleep(Duration::from_millis(20)),
                Err(problem) => panic!("{why}: expected `{expected}`, but {problem}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/// Tries to connect until the connection is refused (true) or `limit`
/// passes (false). A connection that succeeds is closed again at once.
fn wait_until_refused(addr: SocketAddr, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => return true,
            _ => thread::sleep(Duration::from_millis(20)),
        }
    }
    false
}

/// One datagram from the notify socket, as text with the trailing newline
/// (if any) removed.
fn receive(socket: &UnixDatagram) -> Result<String, String> {
    socket
        .set_read_timeout(Some(REPLY))
        .expect("setting a read timeout");
    let mut buf = [0u8; 4096];
    match socket.recv(&mut buf) {
        Ok(n) => Ok(String::from_utf8_lossy(&buf[..n])
            .trim_end_matches('\n')
            .to_owned()),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Err(format!(
            "no datagram arrived on $NOTIFY_SOCKET within {}",
            fmt(REPLY)
        )),
        Err(e) => Err(format!("receiving from the notify socket: {e}")),
    }
}

fn monotonic_usec() -> u64 {
    use nix::time::{ClockId, clock_gettime};
    let now = clock_gettime(ClockId::CLOCK_MONOTONIC).expect("CLOCK_MONOTONIC");
    now.tv_sec() as u64 * 1_000_000 + now.tv_nsec() as u64 / 1_000
}

/// "exited with 0", "was killed by SIGHUP (1)", ...
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with {code}"),
        (None, Some(signal)) => {
            let name = Signal::try_from(signal).map_or("a signal".to_owned(), |s| s.to_string());
            let hint = if signal == Signal::SIGHUP as i32 {
                " (no SIGHUP handler: the default action of SIGHUP is to terminate)"
            } else {
                ""
            };
            format!("was killed by {name} ({signal}){hint}")
        }
        _ => format!("ended as {status}"),
    }
}

fn fmt(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}
