//! The specification of exercise 03: a line server on real TCP sockets.
//!
//! Each test binds a listener on `127.0.0.1:0` (the system picks a free port),
//! starts your `serve` on it in a task, and talks to it with ordinary
//! `TcpStream` clients, exactly as `nc` would. Every read has a time limit,
//! so a missing reply fails with a message saying what the test expected,
//! what the client had sent, and whether your server task is still alive.
//! The tests of the idle timeout run on tokio's paused clock; the tests of
//! running out of file descriptors run this test program again in a child
//! process with a low descriptor limit (`ulimit -n 64`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, mpsc};
use std::task::Poll;
use std::time::Duration;

use exercise_03::{Config, DEFAULT_MAX_LINE, serve};
use testkit::{LIMIT, block_on, block_on_paused};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, sleep, timeout};

/// How long a client waits for one reply (or to send its data). A loopback
/// round trip takes well under a millisecond; this is shorter than the
/// watchdog so that the failure names the missing reply.
const WAIT: Duration = Duration::from_secs(4);

/// The idle timeout of the tests that check it (on the paused clock, so a
/// minute takes no real time).
const IDLE: Duration = Duration::from_secs(60);

/// Asserts that a client's reply (a `Result<String, Problem>`) is
/// `Ok(expected)`. A macro rather than a function, so that a failure points
/// at the test's line; the message gives the test's explanation first, then
/// what went wrong (a wrong reply, no reply in time, a closed connection).
macro_rules! assert_reply {
    ($reply:expr, $expected:expr, $($why:tt)+) => {
        match $reply {
            Ok(reply) => assert_eq!(reply, $expected, $($why)+),
            Err(problem) => panic!("{}\n  {problem}", format_args!($($why)+)),
        }
    };
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

#[test]
fn echoes_each_line_back() {
    block_on(LIMIT, "two lines echoed back", || async {
        let server = start(Config::default()).await;
        let mut client = server.connect().await.expect("a client connects");
        assert_reply!(
            client.ask("hello\n").await,
            "hello",
            "a plain line must come back unchanged, ending in \\n"
        );
        assert_reply!(
            client.ask("echo me, please\n").await,
            "echo me, please",
            "the second line on the same connection must be echoed too"
        );
    });
}

#[test]
fn treats_crlf_as_a_line_ending() {
    block_on(LIMIT, "lines ending in \\r\\n answered", || async {
        let server = start(Config::default()).await;
        let mut client = server.connect().await.expect("a client connects");
        assert_reply!(
            client.ask("hello\r\n").await,
            "hello",
            "a \\r just before the \\n belongs to the line ending, so the echo must not contain it \
             (replies end in \\n only)"
        );
        assert_reply!(
            client.ask("/upper crlf\r\n").await,
            "CRLF",
            "commands must work with \\r\\n line endings too"
        );
    });
}

#[test]
fn answers_several_lines_sent_in_one_write() {
    block_on(
        LIMIT,
        "three replies to three lines sent at once",
        || async {
            let server = start(Config::default()).await;
            let mut client = server.connect().await.expect("a client connects");
            client
                .send(b"one\ntwo\n/upper three\n")
                .await
                .expect("sending three lines in one write");
            for expected in ["one", "two", "THREE"] {
                assert_reply!(
                    client.reply().await,
                    expected,
                    "one read from the socket may hold several lines (here `one\\ntwo\\n/upper \
                     three\\n`, sent in one write): each needs its own reply, in order"
                );
            }
        },
    );
}

#[test]
fn answers_a_line_split_across_writes_once_and_whole() {
    block_on(LIMIT, "one reply to a line sent in pieces", || async {
        let server = start(Config::default()).await;
        let mut client = server.connect().await.expect("a client connects");
        for piece in ["hel", "lo, wo", "rld", "\n"] {
            client
                .send(piece.as_bytes())
                .await
                .expect("sending a line in pieces");
            pause().await;
        }
        assert_reply!(
            client.reply().await,
            "hello, world",
            "a line may arrive in several pieces (here \"hel\", \"lo, wo\", \"rld\", \"\\n\"): \
             reply once, to the whole line, when its \\n arrives"
        );
        assert_reply!(
            client.ask("next\n").await,
            "next",
            "after the split line, the next reply must belong to the next line (no extra replies)"
        );
    });
}

#[test]
fn serves_fifty_clients_at_the_same_time() {
    block_on(LIMIT, "50 connected clients each answered", || async {
        const CLIENTS: usize = 50;
        let server = start(Config::default()).await;
        // All clients connect and send before any of them reads: a server
        // that serves one connection at a time cannot answer them all.
        let mut clients = Vec::new();
        for _ in 0..CLIENTS {
            clients.push(server.connect().await.expect("a client connects"));
        }
        for (i, client) in clients.iter_mut().enumerate() {
            client
                .send(format!("I am client {i}\n").as_bytes())
                .await
                .expect("each client sends a line before any of them reads");
        }
        // The last client to connect is read first, while the first one is
        // still connected and silent.
        for (i, client) in clients.iter_mut().enumerate().rev() {
            assert_reply!(
                client.reply().await,
                format!("I am client {i}"),
                "each of {CLIENTS} clients connected at the same time must get its own reply \
                 (this is client {i}; the last one is read first, while client 0 is still \
                 connected): handle every connection in its own task"
            );
        }
    });
}

#[test]
fn a_client_leaving_mid_line_does_not_disturb_the_others() {
    block_on(
        LIMIT,
        "other clients served after one left mid-line",
        || async {
            let server = start(Config::default()).await;
            let mut steady = server.connect().await.expect("a client connects");
            assert_reply!(
                steady.ask("before\n").await,
                "before",
                "a plain line is echoed"
            );

            // One client leaves politely in the middle of a line; another one
            // leaves with a reply unread, which makes its system reset the
            // connection (the server's read then fails with an error).
            let mut polite = server.connect().await.expect("a second client connects");
            polite
                .send(b"half a li")
                .await
                .expect("sending half a line");
            let mut rude = server.connect().await.expect("a third client connects");
            rude.send(b"unread reply\nhalf a li")
                .await
                .expect("sending a line and half a line");
            pause().await;
            drop(polite);
            drop(rude);
            pause().await;

            assert_reply!(
                steady.ask("still here?\n").await,
                "still here?",
                "a client that disconnects in the middle of a line (politely, or with a reset) \
                 must not stop the server from answering other clients"
            );
            let mut newcomer = server.connect().await.expect("a new client connects");
            assert_reply!(
                newcomer.ask("hello\n").await,
                "hello",
                "after clients left mid-line, the server must still accept and serve new clients"
            );
        },
    );
}

#[test]
fn drops_an_unfinished_last_line_and_closes() {
    block_on(
        LIMIT,
        "the connection closed after the client's end",
        || async {
            let server = start(Config::default()).await;
            let mut client = server.connect().await.expect("a client connects");
            client
                .send(b"no newline at the end")
                .await
                .expect("sending a line without its \\n");
            client
                .finish()
                .await
                .expect("closing the client's sending side");
            client.expect_closed(WAIT).await.expect(
                "the client sent a line without \\n and then closed its side: the unfinished \
                 line gets no reply and the server closes the connection",
            );
        },
    );
}

#[test]
fn upper_and_reverse_transform_the_rest_of_the_line() {
    block_on(LIMIT, "replies to /upper and /reverse", || async {
        let server = start(Config::default()).await;
        let mut client = server.connect().await.expect("a client connects");
        assert_reply!(
            client.ask("/upper hello, World\n").await,
            "HELLO, WORLD",
            "/upper replies with the text after `/upper ` in upper case"
        );
        assert_reply!(
            client.ask("/reverse stressed\n").await,
            "desserts",
            "/reverse replies with the text after `/reverse ` reversed"
        );
        assert_reply!(
            client.ask("/reverse héllo\n").await,
            "olléh",
            "/reverse reverses characters, not bytes (reversing the bytes of `é` breaks UTF-8)"
        );
    });
}

#[test]
fn count_reports_the_lines_of_this_connection() {
    block_on(LIMIT, "replies to /count", || async {
        let server = start(Config::default()).await;
        let mut first = server.connect().await.expect("a client connects");
        assert_reply!(first.ask("a\n").await, "a", "a plain line is echoed");
        assert_reply!(first.ask("b\n").await, "b", "a plain line is echoed");
        assert_reply!(
            first.ask("/count\n").await,
            "3",
            "after the lines `a` and `b`, /count counts them and itself"
        );
        assert_reply!(
            first.ask("/count\n").await,
            "4",
            "a second /count counts one more"
        );
        let mut second = server.connect().await.expect("a second client connects");
        assert_reply!(
            second.ask("/count\n").await,
            "1",
            "/count counts the lines of its own connection only"
        );
    });
}

#[test]
fn quit_says_bye_and_closes_the_connection() {
    block_on(LIMIT, "BYE, then the connection closed", || async {
        let server = start(Config::default()).await;
        let mut client = server.connect().await.expect("a client connects");
        assert_reply!(
            client.ask("/quit\n").await,
            "BYE",
            "/quit is answered with BYE"
        );
        client
            .expect_closed(WAIT)
            .await
            .expect("after replying BYE to /quit, the server closes the connection");
    });
}

#[test]
fn unknown_command_gets_an_error_and_the_connection_stays_open() {
    block_on(LIMIT, "an error for an unknown command", || async {
        let server = start(Config::default()).await;
        let mut client = server.connect().await.expect("a client connects");
        assert_reply!(
            client.ask("/shout hi\n").await,
            "ERR unknown command: /shout",
            "a line starting with / that is not a known command gets this error (the command \
             is the text up to the first space)"
        );
        assert_reply!(
            client.ask("still open\n").await,
            "still open",
            "after an unknown command the connection stays open"
        );
    });
}

#[test]
fn invalid_utf8_gets_an_error_and_the_connection_stays_open() {
    block_on(LIMIT, "an error for bytes that are not UTF-8", || async {
        let server = start(Config::default()).await;
        let mut client = server.connect().await.expect("a client connects");
        client
            .send(b"caf\xe9 \xff\xfe\n")
            .await
            .expect("sending a line that is not UTF-8");
        assert_reply!(
            client.reply().await,
            "ERR invalid UTF-8",
            "a line that is not valid UTF-8 (here the bytes 0xE9 0xFF 0xFE) gets this error, \
             never a panic"
        );
        assert_reply!(
            client.ask("ok\n").await,
            "ok",
            "after a line that is not UTF-8 the connection stays open"
        );
    });
}

#[test]
fn the_limit_counts_the_line_without_its_ending() {
    block_on(LIMIT, "lines at and over max_line answered", || async {
        let server = start(Config {
            max_line: 16,
            ..Config::default()
        })
        .await;
        let mut client = server.connect().await.expect("a client connects");
        let sixteen = "a".repeat(16);
        assert_reply!(
            client.ask(&format!("{sixteen}\n")).await,
            sixteen,
            "with max_line = 16, a line of exactly 16 bytes (plus \\n) is accepted"
        );
        assert_reply!(
            client.ask(&format!("{sixteen}\r\n")).await,
            sixteen,
            "with max_line = 16, a line of exactly 16 bytes plus \\r\\n is accepted: \
             the line ending does not count (read up to max_line + 2 bytes)"
        );
        assert_reply!(
            client.ask(&format!("{}\n", "b".repeat(17))).await,
            "ERR line too long (max 16 bytes)",
            "with max_line = 16, a line of 17 bytes is too long"
        );
        assert_reply!(
            client.ask("ok\n").await,
            "ok",
            "after a line that was too long, the next line is served normally"
        );
    });
}

#[test]
fn rejects_a_long_line_without_waiting_for_its_end() {
    block_on(LIMIT, "an error for a line over max_line", || async {
        let server = start(Config {
            max_line: 16,
            ..Config::default()
        })
        .await;
        let mut client = server.connect().await.expect("a client connects");
        // 100 bytes and no newline yet: the client is still "typing".
        client
            .send("x".repeat(100).as_bytes())
            .await
            .expect("sending 100 bytes without a newline");
        assert_reply!(
            client.reply().await,
            "ERR line too long (max 16 bytes)",
            "with max_line = 16, 100 bytes without a newline get this error as soon as 18 \
             bytes have arrived: do not wait for a \\n that may never come"
        );
        // The end of the long line, then a normal line.
        client
            .send(b"xxxx\n")
            .await
            .expect("sending the end of the long line");
        assert_reply!(
            client.ask("after\n").await,
            "after",
            "the rest of a long line, up to its \\n, is thrown away; the next line is served"
        );
    });
}

#[test]
fn a_megabyte_without_newline_is_handled_in_bounded_memory() {
    block_on(LIMIT, "a 1 MiB line rejected in bounded memory", || async {
        let server = start(Config::default()).await;
        let chunk = vec![b'x'; 64 * 1024];
        // Everything the server (and this client) allocates from here on
        // runs on this thread and is counted.
        let baseline = heap::start_measuring();
        let mut client = server.connect().await.expect("a client connects");
        for _ in 0..16 {
            client
                .send(&chunk)
                .await
                .expect("sending 1 MiB without a newline, 64 KiB at a time");
        }
        assert_reply!(
            client.reply().await,
            format!("ERR line too long (max {DEFAULT_MAX_LINE} bytes)"),
            "a line over max_line gets this error"
        );
        client
            .send(b"\n")
            .await
            .expect("sending the long line's \\n");
        assert_reply!(
            client.ask("after\n").await,
            "after",
            "after the long line's \\n, the next line is served"
        );
        let grew = heap::peak() - baseline;
        assert!(
            grew < 256 * 1024,
            "while a client sent a 1 MiB line, the server's heap grew by up to {} KiB: it must \
             hold at most about max_line = {DEFAULT_MAX_LINE} bytes of a line, also while \
             throwing the rest of a long line away (reading it all into a buffer is what this \
             limit is there to prevent)",
            grew / 1024
        );
    });
}

#[test]
fn closes_a_connection_that_sends_nothing_for_idle_timeout() {
    block_on_paused(LIMIT, "a silent client disconnected", || async {
        let server = start(Config {
            idle_timeout: IDLE,
            ..Config::default()
        })
        .await;
        let mut client = server.connect().await.expect("a client connects");
        assert_reply!(
            client.ask("hello\n").await,
            "hello",
            "a plain line is echoed"
        );
        // Now the client says nothing at all.
        let waited = client.expect_closed(IDLE + WAIT).await.expect(
            "with idle_timeout = 60 s, a client that sends nothing for 60 s must be \
             disconnected (wrap each wait for the client in tokio::time::timeout)",
        );
        assert!(
            waited >= IDLE - Duration::from_secs(1),
            "with idle_timeout = 60 s, the server closed a silent connection after only \
             {waited:?}: it must wait the whole idle_timeout"
        );
    });
}

#[test]
fn idle_timeout_counts_from_the_last_line_not_from_connecting() {
    block_on_paused(LIMIT, "a slow but steady client kept", || async {
        let server = start(Config {
            idle_timeout: IDLE,
            ..Config::default()
        })
        .await;
        let mut client = server.connect().await.expect("a client connects");
        // Five lines, 45 s apart: 225 s in all, far longer than the idle
        // timeout, but never 60 s of silence.
        for i in 1..=5 {
            sleep(Duration::from_secs(45)).await;
            assert_reply!(
                client.ask(&format!("line {i}\n")).await,
                format!("line {i}"),
                "with idle_timeout = 60 s, a client that sends a line every 45 s must stay \
                 connected: the limit is on each wait for the client, not on the whole \
                 connection (this is line {i}, {} s after connecting)",
                i * 45
            );
        }
    });
}

#[cfg(unix)]
#[test]
fn keeps_serving_after_accept_runs_out_of_file_descriptors() {
    const NAME: &str = "keeps_serving_after_accept_runs_out_of_file_descriptors";
    if !in_child(NAME) {
        return run_in_child(
            NAME,
            "when accept fails with \"Too many open files\" (EMFILE), the server must log it, \
             pause, try again, and serve the waiting client once descriptors are free; it must \
             not return or panic, and clients already connected must still be served",
        );
    }
    // In the child process, limited to 64 file descriptors:
    let shortage = run_out_of_file_descriptors(Duration::from_millis(100))
        .expect("before file descriptors run out, a client connects and gets its line echoed");
    assert!(
        shortage.ended.is_none(),
        "while accept failed with EMFILE, the server stopped: {}\n(skip accept errors that \
         concern one connection; log the others, pause and retry: never `?`, `unwrap` or \
         `return`)",
        shortage.ended.as_deref().unwrap_or_default()
    );
    assert_reply!(
        shortage.during,
        "still there?",
        "while accept fails with EMFILE, the connections already open must still be served"
    );
    assert_reply!(
        shortage.waiting,
        "anyone there?",
        "the client that connected while the process had no file descriptor left must be \
         accepted and answered once descriptors are free (retry accept after a short pause, \
         about 100 ms)"
    );
    assert_reply!(
        shortage.after,
        "hi",
        "after running out of file descriptors, the server must go on accepting and serving \
         new clients"
    );
}

#[cfg(unix)]
#[test]
fn pauses_before_retrying_an_accept_that_ran_out_of_file_descriptors() {
    const NAME: &str = "pauses_before_retrying_an_accept_that_ran_out_of_file_descriptors";
    if !in_child(NAME) {
        return run_in_child(
            NAME,
            "while accept keeps failing with \"Too many open files\" (EMFILE), the server must \
             pause (about 100 ms, with tokio::time::sleep) between attempts instead of retrying \
             in a busy loop: the connection stays queued, so an immediate retry fails again",
        );
    }
    // In the child process, limited to 64 file descriptors:
    const SHORTAGE: Duration = Duration::from_millis(200);
    let shortage = run_out_of_file_descriptors(SHORTAGE)
        .expect("before file descriptors run out, a client connects and gets its line echoed");
    // Measured on Linux only (from /proc/self/stat). A server that pauses
    // uses next to nothing; one that spins uses all the CPU it gets.
    if let Some(cpu) = shortage.cpu {
        assert!(
            cpu < SHORTAGE / 5,
            "while accept kept failing with EMFILE for {SHORTAGE:?}, the process used {cpu:?} \
             of CPU time: the server retries in a busy loop. Pause (tokio::time::sleep, about \
             100 ms) after such an error before accepting again"
        );
    }
}

// ---------------------------------------------------------------------------
// Running out of file descriptors, in a child process
// ---------------------------------------------------------------------------

/// The file-descriptor limit of the child process.
#[cfg(unix)]
const FD_LIMIT: u32 = 64;

/// Set in the child process, to the name of the test it runs.
#[cfg(unix)]
const CHILD: &str = "EXERCISE_03_CHILD";

/// "Too many open files", on Linux, macOS and the BSDs.
#[cfg(unix)]
const EMFILE: i32 = 24;

#[cfg(unix)]
fn in_child(test: &str) -> bool {
    std::env::var_os(CHILD).is_some_and(|name| name == test)
}

/// Runs the test `test` of this test program again, in a child process whose
/// file-descriptor limit is [`FD_LIMIT`], and fails if the child fails.
#[cfg(unix)]
#[track_caller]
fn run_in_child(test: &'static str, expected: &'static str) {
    use std::io::Read;
    use std::process::{Child, Command, Stdio};

    /// Kills the child process, if it still runs, when dropped.
    struct KillOnDrop(Arc<Mutex<Option<Child>>>);

    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let mut child = self.0.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(child) = child.as_mut() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    let program = std::env::current_exe().expect("the path of this test program");
    // Shared with the watchdog's thread, so that the child is killed when
    // this function ends, even when the watchdog gives up and panics.
    let running: Arc<Mutex<Option<Child>>> = Arc::default();
    let _kill = KillOnDrop(Arc::clone(&running));
    // The child's own watchdog ends it after 7 s; the kill is a last resort.
    let outcome = testkit::within(Duration::from_secs(9), expected, move || {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -n {FD_LIMIT} && exec \"$0\" \"$@\""))
            .arg(program)
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(CHILD, test)
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running this test program again, under `sh -c 'ulimit -n ...'`");
        // Read both pipes while the child runs: a child that writes a lot
        // must not block on a full pipe.
        let mut stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let out = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text);
            text
        });
        let err = std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = stderr.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        });
        *running.lock().unwrap() = Some(child);
        let started = std::time::Instant::now();
        let status = loop {
            let mut guard = running.lock().unwrap();
            let child = guard.as_mut().expect("the child process");
            if let Some(status) = child.try_wait().expect("waiting for the child process") {
                break Some(status);
            }
            if started.elapsed() > Duration::from_millis(8500) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            drop(guard);
            std::thread::sleep(Duration::from_millis(10));
        };
        let stdout = out.join().unwrap_or_default();
        let stderr = err.join().unwrap_or_default();
        (status, stdout, stderr)
    });
    let (status, stdout, stderr) = outcome;
    let report = last_lines(&stderr, 30);
    match status {
        None => panic!(
            "{expected}\nThe child process (this test, run again with `ulimit -n {FD_LIMIT}`) \
             was still running after 8.5 s and was stopped. Its last output:\n{report}"
        ),
        Some(status) if !status.success() => panic!(
            "{expected}\nThe child process (this test, run again with `ulimit -n {FD_LIMIT}`) \
             failed ({status}):\n{report}"
        ),
        Some(_) => assert!(
            stdout.contains("1 passed"),
            "the child process ran no test (was this test renamed?); its output:\n{stdout}"
        ),
    }
}

/// The last `n` lines of `text`, indented, without the note about backtraces.
#[cfg(unix)]
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.starts_with("note: run with `RUST_BACKTRACE"))
        .collect();
    let skipped = lines.len().saturating_sub(n);
    let mut report = String::new();
    if skipped > 0 {
        report.push_str(&format!("  ({skipped} earlier lines left out)\n"));
    }
    for line in &lines[skipped..] {
        report.push_str("  | ");
        report.push_str(line);
        report.push('\n');
    }
    report
}

/// What the server did while the process had no file descriptor left.
#[cfg(unix)]
struct Shortage {
    /// How the server task ended during the shortage, if it did.
    ended: Option<String>,
    /// The CPU time the process used during the shortage (Linux only).
    cpu: Option<Duration>,
    /// The reply to a client connected before, asking during the shortage.
    during: Result<String, Problem>,
    /// The reply to a client that connected during the shortage, once some
    /// descriptors were free again.
    waiting: Result<String, Problem>,
    /// A new client's reply after that.
    after: Result<String, Problem>,
}

/// The child's part (run only in a process with a low descriptor limit):
/// starts a server, uses up every file descriptor so that the server's
/// `accept` fails with EMFILE while a client waits, for `shortage`, then
/// frees a few. Records what happened; the tests judge it. An error: the
/// server did not even serve a client before the shortage.
#[cfg(unix)]
fn run_out_of_file_descriptors(shortage: Duration) -> Result<Shortage, Problem> {
    block_on(
        Duration::from_secs(7),
        "a server that ran out of file descriptors",
        move || async move {
            let server = start(Config::default()).await;
            let mut early = server.connect().await?;
            let hello = early.ask("hello\n").await?;
            if hello != "hello" {
                return Err(Problem(format!("the reply to \"hello\\n\" was {hello:?}")));
            }
            // Opened now: reading it later needs no new descriptor.
            let cpu = CpuClock::open();

            // Use up every file descriptor this process may have...
            let mut spare = Vec::new();
            loop {
                match std::fs::File::open("/dev/null") {
                    Ok(file) => spare.push(file),
                    Err(e) if e.raw_os_error() == Some(EMFILE) => break,
                    Err(e) => panic!("opening /dev/null to use up file descriptors: {e}"),
                }
                assert!(
                    spare.len() < 10 * FD_LIMIT as usize,
                    "the limit of {FD_LIMIT} file descriptors did not apply"
                );
            }
            // ...but one: the next client's socket takes it, the kernel
            // queues the connection, and the server's accept finds none left.
            spare.pop();
            let waiting = server.connect().await;
            let waiting = match waiting {
                Ok(mut client) => client.send(b"anyone there?\n").await.map(|()| client),
                Err(problem) => Err(problem),
            };

            let cpu_before = cpu.used();
            sleep(shortage).await;
            let cpu_used = cpu
                .used()
                .zip(cpu_before)
                .map(|(after, before)| after - before);
            let ended = server.ended();
            // After the first failure, the later steps are not tried: each
            // could take the whole time limit.
            let not_tried = || Err(Problem("not tried, after an earlier failure".into()));
            let during = early.ask("still there?\n").await;

            // Free a few descriptors: the server can accept again.
            spare.truncate(spare.len().saturating_sub(8));
            let waiting = match (&during, waiting) {
                (Ok(_), Ok(mut client)) => client.reply().await,
                (Ok(_), Err(problem)) => Err(problem),
                (Err(_), _) => not_tried(),
            };
            let after = match &waiting {
                Ok(_) => match server.connect().await {
                    Ok(mut newcomer) => newcomer.ask("hi\n").await,
                    Err(problem) => Err(problem),
                },
                Err(_) => not_tried(),
            };
            Ok(Shortage {
                ended,
                cpu: cpu_used,
                during,
                waiting,
                after,
            })
        },
    )
}

/// Reads the CPU time this process has used, from `/proc/self/stat` (Linux);
/// elsewhere `used` gives `None` and the CPU check is skipped.
#[cfg(unix)]
struct CpuClock(Option<std::fs::File>);

#[cfg(unix)]
impl CpuClock {
    fn open() -> Self {
        CpuClock(std::fs::File::open("/proc/self/stat").ok())
    }

    /// User plus system time, in the kernel's ticks of 10 ms.
    fn used(&self) -> Option<Duration> {
        use std::os::unix::fs::FileExt;
        let mut buf = [0u8; 1024];
        // `read_at` from offset 0: the kernel writes the numbers afresh.
        let n = self.0.as_ref()?.read_at(&mut buf, 0).ok()?;
        let stat = std::str::from_utf8(&buf[..n]).ok()?;
        // After the command name (in parentheses, and it may contain spaces)
        // come the state, then 10 fields, then utime and stime.
        let rest = &stat[stat.rfind(')')? + 1..];
        let mut fields = rest.split_whitespace().skip(11);
        let utime: u64 = fields.next()?.parse().ok()?;
        let stime: u64 = fields.next()?.parse().ok()?;
        // USER_HZ, the unit of these fields, is 100 on Linux.
        Some(Duration::from_millis((utime + stime) * 10))
    }
}

// ---------------------------------------------------------------------------
// Helpers: a server under test, and a client with time limits
// ---------------------------------------------------------------------------

/// What went wrong while a client talked to the server, with what became of
/// the server task: the text of a failure message. Its `Debug` is that text,
/// so that `.expect("...")` prints it as it is.
struct Problem(String);

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What became of the server task, once it has ended.
type Status = Arc<Mutex<Option<String>>>;

struct Server {
    addr: SocketAddr,
    status: Status,
}

/// Binds `127.0.0.1:0` and runs `serve` on it in a task; a second task
/// records how the server ended, should it end.
async fn start(config: Config) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding a test listener on 127.0.0.1:0");
    let addr = listener.local_addr().expect("the listener's address");
    let status: Status = Arc::default();
    let server = tokio::spawn(serve(listener, config));
    let record = Arc::clone(&status);
    tokio::spawn(async move {
        let ending = match server.await {
            Ok(()) => "serve() returned; it must keep accepting connections".into(),
            Err(e) if e.is_panic() => {
                format!("the server task panicked: {}", panic_text(e.into_panic()))
            }
            Err(e) => format!("the server task ended: {e}"),
        };
        *record.lock().unwrap() = Some(ending);
    });
    Server { addr, status }
}

impl Server {
    async fn connect(&self) -> Result<Client, Problem> {
        let problem = match wait_at_most(WAIT, TcpStream::connect(self.addr)).await {
            Some(Ok(stream)) => {
                let (reader, writer) = stream.into_split();
                return Ok(Client {
                    reader: BufReader::new(reader),
                    writer,
                    status: Arc::clone(&self.status),
                    sent: Vec::new(),
                });
            }
            Some(Err(e)) => format!("could not connect to the server: {e}"),
            None => format!("connecting took more than {WAIT:?}"),
        };
        Err(explain(&self.status, problem, "").await)
    }

    /// How the server task ended, if it has.
    fn ended(&self) -> Option<String> {
        self.status.lock().unwrap().clone()
    }
}

struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    status: Status,
    /// What this client sent, for failure messages.
    sent: Vec<String>,
}

impl Client {
    /// Sends `line` and returns the reply.
    async fn ask(&mut self, line: &str) -> Result<String, Problem> {
        self.send(line.as_bytes()).await?;
        self.reply().await
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), Problem> {
        self.sent.push(describe(bytes));
        let problem = match wait_at_most(WAIT, self.writer.write_all(bytes)).await {
            Some(Ok(())) => return Ok(()),
            Some(Err(e)) => format!(
                "sending {} bytes failed: {e} (did the server close the connection or stop \
                 reading?)",
                bytes.len()
            ),
            None => format!(
                "sending {} bytes took more than {WAIT:?}: the server stopped reading",
                bytes.len()
            ),
        };
        Err(self.explain(problem).await)
    }

    /// Closes the sending side (the server reads end-of-stream), keeps reading.
    async fn finish(&mut self) -> Result<(), Problem> {
        self.sent.push("(end of stream)".into());
        match self.writer.shutdown().await {
            Ok(()) => Ok(()),
            Err(e) => Err(self
                .explain(format!("closing the client's side: {e}"))
                .await),
        }
    }

    /// Reads one reply line, waiting at most [`WAIT`]; returns it without its
    /// `\n` (a stray `\r` stays, so that an echoed `\r` shows in the
    /// assertion).
    async fn reply(&mut self) -> Result<String, Problem> {
        let mut line = Vec::new();
        let deadline = Instant::now() + WAIT;
        let started = std::time::Instant::now();
        let mut last_chance = false;
        // Short slices instead of one long wait, so that a server task that
        // died is reported at once. `read_until` keeps what it has read in
        // `line` when its slice runs out, so no byte is lost.
        let problem = loop {
            let read = self.reader.read_until(b'\n', &mut line);
            let read = if last_chance {
                on_real_time(LAST_CHANCE, read).await
            } else {
                timeout(Duration::from_millis(20), read).await.ok()
            };
            match read {
                Some(Ok(_)) if line.last() == Some(&b'\n') => {
                    line.pop();
                    return String::from_utf8(line).map_err(|e| {
                        Problem(format!("the reply is not UTF-8: {:?}", e.as_bytes()))
                    });
                }
                Some(Ok(_)) if line.is_empty() => {
                    break "waiting for a reply, the client saw the server close the connection \
                           instead"
                        .to_string();
                }
                Some(Ok(_)) => {
                    break format!(
                        "the connection closed in the middle of a reply: {:?}",
                        String::from_utf8_lossy(&line)
                    );
                }
                Some(Err(e)) => break format!("reading the reply failed: {e}"),
                None if self.status.lock().unwrap().is_some() => {
                    break "no reply".to_string();
                }
                None if Instant::now() >= deadline => {
                    // On the paused clock, WAIT went by in no real time:
                    // give the kernel a moment of real time to deliver.
                    if !last_chance && started.elapsed() < LAST_CHANCE {
                        last_chance = true;
                        continue;
                    }
                    break format!(
                        "no reply (a whole line, ending in \\n) within {WAIT:?}; received so \
                         far: {:?}",
                        String::from_utf8_lossy(&line)
                    );
                }
                None => {}
            }
        };
        Err(self.explain(problem).await)
    }

    /// Expects the server to close the connection within `limit` without
    /// sending anything more, and returns how long that took.
    async fn expect_closed(&mut self, limit: Duration) -> Result<Duration, Problem> {
        let started = Instant::now();
        let mut rest = Vec::new();
        let problem = match wait_at_most(limit, self.reader.read_to_end(&mut rest)).await {
            Some(Ok(_)) if rest.is_empty() => return Ok(started.elapsed()),
            // A reset is a close too (it happens when unread data was left).
            Some(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset && rest.is_empty() => {
                return Ok(started.elapsed());
            }
            Some(Ok(_)) | Some(Err(_)) => format!(
                "instead of closing the connection, the server sent {:?}",
                String::from_utf8_lossy(&rest)
            ),
            None => format!(
                "the connection was still open after {limit:?} (received: {:?})",
                String::from_utf8_lossy(&rest)
            ),
        };
        Err(self.explain(problem).await)
    }

    async fn explain(&self, problem: String) -> Problem {
        let sent = self.sent.iter().rev().take(4).rev().cloned();
        let sent: Vec<String> = sent.collect();
        let earlier = self.sent.len() - sent.len();
        let transcript = format!(
            "{}{}",
            if earlier > 0 {
                format!("({earlier} earlier sends), ")
            } else {
                String::new()
            },
            sent.join(", ")
        );
        explain(&self.status, problem, &transcript).await
    }
}

/// How much real time a wait gets at least, on the paused clock too.
const LAST_CHANCE: Duration = Duration::from_secs(1);

/// `timeout(limit, fut)`, made safe for tokio's paused clock: there, `limit`
/// goes by in no real time as soon as every task waits, even while the
/// kernel is still passing bytes from one socket to the other. So a wait
/// that ran out in less than [`LAST_CHANCE`] of real time gets that much
/// real time more, with the paused clock held still. `None`: time ran out.
async fn wait_at_most<F: Future>(limit: Duration, fut: F) -> Option<F::Output> {
    let started = std::time::Instant::now();
    let mut fut = pin!(fut);
    if let Ok(output) = timeout(limit, fut.as_mut()).await {
        return Some(output);
    }
    if started.elapsed() >= LAST_CHANCE {
        return None;
    }
    on_real_time(LAST_CHANCE, fut).await
}

/// Waits for `fut` for at most `real` of real time, while tokio's paused
/// clock stands still: tokio does not advance a paused clock while a
/// `spawn_blocking` task runs, and this one runs until `fut` is done or
/// `real` has passed. `None`: time ran out.
async fn on_real_time<F: Future>(real: Duration, fut: F) -> Option<F::Output> {
    let (done, wait) = mpsc::channel::<()>();
    let mut hold = tokio::task::spawn_blocking(move || {
        let _ = wait.recv_timeout(real);
    });
    let mut fut = pin!(fut);
    let output = std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        match Pin::new(&mut hold).poll(cx) {
            Poll::Ready(_) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
    .await;
    // Ends the blocking task (if it still waits): the clock may move again.
    drop(done);
    output
}

/// A short description of bytes sent, for failure messages.
fn describe(bytes: &[u8]) -> String {
    if bytes.len() <= 40 {
        format!("{:?}", String::from_utf8_lossy(bytes))
    } else {
        format!(
            "{} bytes starting {:?}",
            bytes.len(),
            String::from_utf8_lossy(&bytes[..16])
        )
    }
}

/// Adds what this client sent and what became of the server task to a
/// failure message.
async fn explain(status: &Status, problem: String, sent: &str) -> Problem {
    // A server task that has just ended is recorded by the watcher task in
    // `start` on its next turn: give it a few turns (cheap, so a failing run
    // stays fast), then a short real pause for a multi-step ending.
    let recorded = || status.lock().unwrap().clone();
    let mut ending = recorded();
    for _ in 0..20 {
        if ending.is_some() {
            break;
        }
        tokio::task::yield_now().await;
        ending = recorded();
    }
    if ending.is_none() {
        sleep(Duration::from_millis(50)).await;
        ending = recorded();
    }
    let server = ending.unwrap_or_else(|| "the server task is still running".into());
    let sent = if sent.is_empty() {
        String::new()
    } else {
        format!("\n  this client sent: {sent}")
    };
    Problem(format!("{problem}{sent}\n  server: {server}"))
}

fn panic_text(payload: Box<dyn Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(a panic without a message)".into()
    }
}

/// Lets the other side run: a few scheduler turns and a short real pause.
async fn pause() {
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    sleep(Duration::from_millis(20)).await;
}

// ---------------------------------------------------------------------------
// Heap measurement
// ---------------------------------------------------------------------------

/// Counts, for each thread, the heap bytes it currently holds and the peak.
///
/// A test body runs on its own thread with a single-threaded tokio runtime,
/// so the server it starts allocates on that thread too: the counts of that
/// thread are the test's own, unaffected by tests running in parallel.
/// (`unsafe` is required to implement an allocator; this one only counts and
/// forwards every call to the system allocator.)
mod heap {
    use super::*;

    struct Counting;

    #[global_allocator]
    static ALLOCATOR: Counting = Counting;

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    fn track(delta: isize) {
        let _ = LIVE.try_with(|live| {
            let now = live.get() + delta;
            live.set(now);
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
        });
    }

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
            let ptr = unsafe { System.alloc(layout) };
            if !ptr.is_null() {
                track(layout.size() as isize);
            }
            ptr
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: as for `alloc`.
            let ptr = unsafe { System.alloc_zeroed(layout) };
            if !ptr.is_null() {
                track(layout.size() as isize);
            }
            ptr
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` came from this allocator, that is from `System`.
            unsafe { System.dealloc(ptr, layout) };
            track(-(layout.size() as isize));
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: `ptr` came from `System`; the caller upholds the rest.
            let new = unsafe { System.realloc(ptr, layout, new_size) };
            if !new.is_null() {
                track(new_size as isize - layout.size() as isize);
            }
            new
        }
    }

    /// Resets this thread's peak to what it holds now, and returns that.
    pub fn start_measuring() -> isize {
        let now = LIVE.with(Cell::get);
        PEAK.with(|peak| peak.set(now));
        now
    }

    /// The most this thread has held since [`start_measuring`].
    pub fn peak() -> isize {
        PEAK.with(Cell::get)
    }
}
