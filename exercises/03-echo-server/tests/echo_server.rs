//! The specification of exercise 03: a line server on real TCP sockets.
//!
//! Each test binds a listener on `127.0.0.1:0` (the system picks a free port),
//! starts your `serve` on it in a task, and talks to it with ordinary
//! `TcpStream` clients, exactly as `nc` would. Every read has a time limit,
//! so a missing reply fails with a message saying which reply was missing and
//! whether your server task is still alive.

use std::alloc::{GlobalAlloc, Layout, System};
use std::any::Any;
use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exercise_03::{Config, DEFAULT_MAX_LINE, serve};
use testkit::{LIMIT, block_on};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, sleep, timeout};

/// How long a client waits for one reply (or to send its data). A loopback
/// round trip takes well under a millisecond; this is shorter than the
/// watchdog so that the failure names the missing reply.
const WAIT: Duration = Duration::from_secs(4);

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

#[test]
fn echoes_each_line_back() {
    block_on(LIMIT, "two lines echoed back", || async {
        let server = start(Config::default()).await;
        let mut client = server.connect().await;
        assert_eq!(
            client.ask("hello\n").await,
            "hello",
            "a plain line must come back unchanged, ending in \\n"
        );
        assert_eq!(
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
        let mut client = server.connect().await;
        assert_eq!(
            client.ask("hello\r\n").await,
            "hello",
            "a \\r just before the \\n belongs to the line ending, so the echo must not contain it \
             (replies end in \\n only)"
        );
        assert_eq!(
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
            let mut client = server.connect().await;
            client.send(b"one\ntwo\n/upper three\n").await;
            for expected in ["one", "two", "THREE"] {
                assert_eq!(
                    client.reply("one write holding three lines").await,
                    expected,
                    "one read from the socket may hold several lines: each needs its own reply, \
                     in order"
                );
            }
        },
    );
}

#[test]
fn answers_a_line_split_across_writes_once_and_whole() {
    block_on(LIMIT, "one reply to a line sent in pieces", || async {
        let server = start(Config::default()).await;
        let mut client = server.connect().await;
        for piece in ["hel", "lo, wo", "rld", "\n"] {
            client.send(piece.as_bytes()).await;
            pause().await;
        }
        assert_eq!(
            client
                .reply("the pieces \"hel\", \"lo, wo\", \"rld\", \"\\n\"")
                .await,
            "hello, world",
            "a line may arrive in several pieces: reply once, to the whole line, when its \
             \\n arrives"
        );
        assert_eq!(
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
            clients.push(server.connect().await);
        }
        for (i, client) in clients.iter_mut().enumerate() {
            client.send(format!("I am client {i}\n").as_bytes()).await;
        }
        // The last client to connect is read first, while the first one is
        // still connected and silent.
        for (i, client) in clients.iter_mut().enumerate().rev() {
            assert_eq!(
                client
                    .reply(&format!(
                        "client {i} of {CLIENTS}, all connected at once (is each connection \
                         served by its own task?)"
                    ))
                    .await,
                format!("I am client {i}"),
                "each of {CLIENTS} clients connected at the same time must get its own reply; \
                 handle every connection in its own task"
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
            let mut steady = server.connect().await;
            assert_eq!(steady.ask("before\n").await, "before");

            // One client leaves politely in the middle of a line; another one
            // leaves with a reply unread, which makes its system reset the
            // connection (the server's read then fails with an error).
            let mut polite = server.connect().await;
            polite.send(b"half a li").await;
            let mut rude = server.connect().await;
            rude.send(b"unread reply\nhalf a li").await;
            pause().await;
            drop(polite);
            drop(rude);
            pause().await;

            assert_eq!(
                steady.ask("still here?\n").await,
                "still here?",
                "a client that disconnects in the middle of a line must not stop the server from \
             answering other clients"
            );
            let mut newcomer = server.connect().await;
            assert_eq!(
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
            let mut client = server.connect().await;
            client.send(b"no newline at the end").await;
            client.finish().await;
            client
                .expect_closed(
                    "the client sent a line without \\n and then closed its side: the unfinished \
                 line gets no reply and the server closes the connection",
                )
                .await;
        },
    );
}

#[test]
fn upper_and_reverse_transform_the_rest_of_the_line() {
    block_on(LIMIT, "replies to /upper and /reverse", || async {
        let server = start(Config::default()).await;
        let mut client = server.connect().await;
        assert_eq!(
            client.ask("/upper hello, World\n").await,
            "HELLO, WORLD",
            "/upper replies with the text after `/upper ` in upper case"
        );
        assert_eq!(
            client.ask("/reverse stressed\n").await,
            "desserts",
            "/reverse replies with the text after `/reverse ` reversed"
        );
        assert_eq!(
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
        let mut first = server.connect().await;
        first.ask("a\n").await;
        first.ask("b\n").await;
        assert_eq!(
            first.ask("/count\n").await,
            "3",
            "after the lines `a` and `b`, /count counts them and itself"
        );
        assert_eq!(
            first.ask("/count\n").await,
            "4",
            "a second /count counts one more"
        );
        let mut second = server.connect().await;
        assert_eq!(
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
        let mut client = server.connect().await;
        assert_eq!(
            client.ask("/quit\n").await,
            "BYE",
            "/quit is answered with BYE"
        );
        client
            .expect_closed("after replying BYE to /quit, the server closes the connection")
            .await;
    });
}

#[test]
fn unknown_command_gets_an_error_and_the_connection_stays_open() {
    block_on(LIMIT, "an error for an unknown command", || async {
        let server = start(Config::default()).await;
        let mut client = server.connect().await;
        assert_eq!(
            client.ask("/shout hi\n").await,
            "ERR unknown command: /shout",
            "a line starting with / that is not a known command gets this error (the command \
             is the text up to the first space)"
        );
        assert_eq!(
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
        let mut client = server.connect().await;
        client.send(b"caf\xe9 \xff\xfe\n").await;
        assert_eq!(
            client
                .reply("a line with bytes 0xE9 0xFF 0xFE (not UTF-8)")
                .await,
            "ERR invalid UTF-8",
            "a line that is not valid UTF-8 gets this error, never a panic"
        );
        assert_eq!(
            client.ask("ok\n").await,
            "ok",
            "after a line that is not UTF-8 the connection stays open"
        );
    });
}

#[test]
fn the_limit_counts_the_line_without_its_ending() {
    block_on(LIMIT, "lines at and over max_line answered", || async {
        let server = start(Config { max_line: 16 }).await;
        let mut client = server.connect().await;
        let sixteen = "a".repeat(16);
        assert_eq!(
            client.ask(&format!("{sixteen}\n")).await,
            sixteen,
            "with max_line = 16, a line of exactly 16 bytes (plus \\n) is accepted"
        );
        assert_eq!(
            client.ask(&format!("{sixteen}\r\n")).await,
            sixteen,
            "with max_line = 16, a line of exactly 16 bytes plus \\r\\n is accepted: \
             the line ending does not count"
        );
        assert_eq!(
            client.ask(&format!("{}\n", "b".repeat(17))).await,
            "ERR line too long (max 16 bytes)",
            "with max_line = 16, a line of 17 bytes is too long"
        );
        assert_eq!(
            client.ask("ok\n").await,
            "ok",
            "after a line that was too long, the next line is served normally"
        );
    });
}

#[test]
fn rejects_a_long_line_without_waiting_for_its_end() {
    block_on(LIMIT, "an error for a line over max_line", || async {
        let server = start(Config { max_line: 16 }).await;
        let mut client = server.connect().await;
        // 100 bytes and no newline yet: the client is still "typing".
        client.send("x".repeat(100).as_bytes()).await;
        assert_eq!(
            client
                .reply(
                    "100 bytes without a newline, with max_line = 16 (reply once 18 bytes \
                     have arrived; do not wait for a \\n that may never come)"
                )
                .await,
            "ERR line too long (max 16 bytes)",
            "a line over max_line gets this error"
        );
        // The end of the long line, then a normal line.
        client.send(b"xxxx\n").await;
        assert_eq!(
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
        let mut client = server.connect().await;
        for _ in 0..16 {
            client.send(&chunk).await;
        }
        assert_eq!(
            client.reply("1 MiB of `x` without a newline").await,
            format!("ERR line too long (max {DEFAULT_MAX_LINE} bytes)"),
            "a line over max_line gets this error"
        );
        client.send(b"\n").await;
        assert_eq!(
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

// ---------------------------------------------------------------------------
// Helpers: a server under test, and a client with time limits
// ---------------------------------------------------------------------------

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
            Ok(Ok(())) => "serve() returned Ok(()); it should keep accepting connections".into(),
            Ok(Err(e)) => format!("serve() returned an error: {e}"),
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
    async fn connect(&self) -> Client {
        let stream = match timeout(WAIT, TcpStream::connect(self.addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => panic!(
                "{}",
                explain(
                    &self.status,
                    format!("could not connect to the server: {e}")
                )
                .await
            ),
            Err(_) => panic!(
                "{}",
                explain(&self.status, format!("connecting took more than {WAIT:?}")).await
            ),
        };
        let (reader, writer) = stream.into_split();
        Client {
            reader: BufReader::new(reader),
            writer,
            status: Arc::clone(&self.status),
        }
    }
}

struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    status: Status,
}

impl Client {
    /// Sends `line` and returns the reply.
    async fn ask(&mut self, line: &str) -> String {
        self.send(line.as_bytes()).await;
        self.reply(&format!("{line:?}")).await
    }

    async fn send(&mut self, bytes: &[u8]) {
        let problem = match timeout(WAIT, self.writer.write_all(bytes)).await {
            Ok(Ok(())) => return,
            Ok(Err(e)) => format!(
                "sending {} bytes failed: {e} (did the server close the connection or stop \
                 reading?)",
                bytes.len()
            ),
            Err(_) => format!(
                "sending {} bytes took more than {WAIT:?}: the server stopped reading",
                bytes.len()
            ),
        };
        panic!("{}", explain(&self.status, problem).await);
    }

    /// Closes the sending side (the server reads end-of-stream), keeps reading.
    async fn finish(&mut self) {
        if let Err(e) = self.writer.shutdown().await {
            panic!(
                "{}",
                explain(&self.status, format!("closing the client's side: {e}")).await
            );
        }
    }

    /// Reads one reply line; returns it without its `\n` (a stray `\r` stays,
    /// so that an echoed `\r` shows in the assertion).
    async fn reply(&mut self, to: &str) -> String {
        let mut line = Vec::new();
        let deadline = Instant::now() + WAIT;
        // Short slices instead of one long wait, so that a server task that
        // died is reported at once. `read_until` keeps what it has read in
        // `line` when its slice runs out, so no byte is lost.
        let problem = loop {
            match timeout(
                Duration::from_millis(20),
                self.reader.read_until(b'\n', &mut line),
            )
            .await
            {
                Ok(Ok(_)) if line.last() == Some(&b'\n') => {
                    line.pop();
                    return String::from_utf8(line).unwrap_or_else(|e| {
                        panic!("the reply to {to} is not UTF-8: {:?}", e.as_bytes())
                    });
                }
                Ok(Ok(_)) if line.is_empty() => {
                    break format!(
                        "waiting for the reply to {to}, the server closed the connection instead"
                    );
                }
                Ok(Ok(_)) => {
                    break format!(
                        "the connection closed in the middle of the reply to {to}: {:?}",
                        String::from_utf8_lossy(&line)
                    );
                }
                Ok(Err(e)) => break format!("reading the reply to {to} failed: {e}"),
                Err(_) if self.status.lock().unwrap().is_some() => {
                    break format!("no reply to {to}");
                }
                Err(_) if Instant::now() >= deadline => {
                    break format!(
                        "no reply to {to} within {WAIT:?} (received so far: {:?})",
                        String::from_utf8_lossy(&line)
                    );
                }
                Err(_) => {}
            }
        };
        panic!("{}", explain(&self.status, problem).await)
    }

    /// Expects the server to close the connection without sending anything.
    async fn expect_closed(&mut self, why: &str) {
        let mut rest = Vec::new();
        let problem = match timeout(WAIT, self.reader.read_to_end(&mut rest)).await {
            Ok(Ok(_)) if rest.is_empty() => return,
            // A reset is a close too (it happens when unread data was left).
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset && rest.is_empty() => {
                return;
            }
            Ok(Ok(_)) | Ok(Err(_)) => format!(
                "{why}; instead the server sent {:?}",
                String::from_utf8_lossy(&rest)
            ),
            Err(_) => format!(
                "{why}; the connection was still open after {WAIT:?} (received: {:?})",
                String::from_utf8_lossy(&rest)
            ),
        };
        panic!("{}", explain(&self.status, problem).await)
    }
}

/// Adds what became of the server task to a failure message.
async fn explain(status: &Status, problem: String) -> String {
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
    format!("{problem}\n  server: {server}")
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
