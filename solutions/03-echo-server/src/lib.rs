//! # Exercise 03, reference solution: a TCP echo and line-command server
//!
//! One task per connection; each connection reads its lines through a
//! `BufReader` with a hard cap on the line length and a time limit on every
//! wait for the client, and answers every line with exactly one reply line.
//! See the exercise's crate documentation for the protocol.

use std::fmt;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, sleep, timeout};

// ANCHOR: config
/// The longest line [`Config::default`] accepts, in bytes.
pub const DEFAULT_MAX_LINE: usize = 1024;

/// How long [`Config::default`] waits for a client: 5 minutes.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Settings of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The longest line accepted, in bytes, not counting its `\n` or `\r\n`.
    ///
    /// A longer line is answered with `ERR line too long (max N bytes)` (N is
    /// this value) without waiting for its end: at the latest once
    /// `max_line + 2` bytes of it have arrived (room for the text and a
    /// `\r\n`) and none of them is a `\n`. If its `\n` has not arrived yet,
    /// the rest of the line, up to and including that `\n`, is then read and
    /// thrown away; either way the connection goes on with the next line. The
    /// server never holds more than about `max_line` bytes of a line in
    /// memory, however long the line is.
    pub max_line: usize,
    /// The longest the server waits for a client: for the next line to
    /// arrive in full (from the start of the connection or from the previous
    /// reply on), for the rest of a line that was too long, or for the client
    /// to take a reply. When the time is up, the server closes the
    /// connection without a reply. A client that sends nothing thus holds its
    /// connection (and a file descriptor) for at most this long.
    pub idle_timeout: Duration,
}

impl Default for Config {
    /// `max_line` = [`DEFAULT_MAX_LINE`], `idle_timeout` =
    /// [`DEFAULT_IDLE_TIMEOUT`].
    fn default() -> Self {
        Config {
            max_line: DEFAULT_MAX_LINE,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}
// ANCHOR_END: config

/// Serves the line protocol on every connection `listener` accepts, each
/// connection in its own task. Never returns: to stop the server, drop or
/// abort the task (or future) that runs it.
///
/// The caller binds the listener (the tests use `127.0.0.1:0`); `serve` never
/// binds by itself.
///
/// Per connection:
/// - Each line ends with `\n`; a `\r` just before it is part of the ending, not
///   of the line. Each line gets exactly one reply line, ending in `\n`, in the
///   order the lines were sent. Several lines in one packet and one line split
///   over many packets both work.
/// - Replies: see the table in the crate documentation. `/upper` and
///   `/reverse` transform everything after the first space (nothing if there
///   is none). `/count` replies with the number of lines received on this
///   connection so far, this one included, whatever their replies were.
/// - A line that is not valid UTF-8 gets `ERR invalid UTF-8`; the connection
///   stays open.
/// - When the client closes its side, an unfinished last line (no `\n`) is
///   dropped without a reply and the server closes the connection.
/// - A client that waits longer than [`Config::idle_timeout`] (sends nothing,
///   or stops reading its replies) is disconnected.
/// - A client that misbehaves or disappears affects only its own connection.
///
/// # Accept errors
///
/// No error from `accept` stops the server:
/// - an error that concerns only the connection being accepted (the kinds
///   `ConnectionAborted`, `ConnectionReset`, `ConnectionRefused`,
///   `NetworkDown`, `NetworkUnreachable`, `HostUnreachable`: that client is
///   gone already) is skipped, and the next connection accepted at once;
/// - any other error (in practice a shortage of resources: "Too many open
///   files", EMFILE or ENFILE, when the process or the system has no file
///   descriptor left; ENOBUFS; ENOMEM) is logged, and `accept` retried after
///   a short pause of about 100 ms: at once would keep a CPU busy retrying
///   while nothing changes, and giving up would stop serving for good.
///   Connections already open go on being served meanwhile.
///
/// Errors go to stderr, at most about one line per second: a flood of
/// failing connections must not become a flood of log lines. The lines held
/// back are counted, and the next line that goes out says how many.
pub async fn serve(listener: TcpListener, config: Config) {
    let log = Arc::new(ErrorLog::default());
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // The client gave up between connecting and our accept: that
            // concerns that client only, so accept the next one.
            Err(e) if is_per_connection(&e) => continue,
            // Out of file descriptors (or buffers, or memory). The connection
            // stays queued in the kernel, so an immediate retry fails the
            // same way: a busy loop that helps nobody. Wait for connections
            // to close (the idle timeout closes silent ones), then try again.
            Err(e) => {
                log.line(format_args!(
                    "accept failed: {e}; retrying in {ACCEPT_BACKOFF:?}"
                ));
                sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        // One task per connection: while this client is silent, the loop is
        // already back at `accept`, and other tasks serve other clients.
        // `config` is `Copy`, so each task gets its own copy.
        let log = Arc::clone(&log);
        tokio::spawn(async move {
            if let Err(e) = handle_connection(stream, config).await {
                // A reset or broken connection ends this task only.
                log.line(format_args!("connection from {peer}: {e}"));
            }
        });
    }
}

/// How long the accept loop pauses after an error that is not about one
/// connection. Long enough not to keep a CPU busy, short enough that the
/// server is back soon after file descriptors free up.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Errors of `accept` that concern one connection, not the listener: the
/// list of axum's `serve` and hyper 0.14's server, plus the network errors
/// that Linux's accept(2) passes on from a connection that failed while it
/// waited to be accepted ("treat them like EAGAIN", says its manual).
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::NetworkDown
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::HostUnreachable
    )
}

/// Serves one client until it sends `/quit`, closes its side, or keeps the
/// server waiting longer than `config.idle_timeout`.
async fn handle_connection(mut stream: TcpStream, config: Config) -> io::Result<()> {
    // `split` borrows the stream: both halves stay in this one task. (Use
    // `into_split` when reading and writing happen in different tasks.)
    let (reader, mut writer) = stream.split();
    let mut reader = BufReader::new(reader);
    // Reused for every line; `read_line_capped` never lets it grow past the
    // cap. Not reserved up front: `max_line` may be huge (a "no limit"
    // setting), and reserving that much would panic or abort the process.
    let mut line = Vec::new();
    let mut handled: u64 = 0;
    let idle = config.idle_timeout;

    loop {
        line.clear();
        // Every wait for the client has a time limit. `None`: time is up, and
        // we close the connection (returning drops the stream).
        let Some(read) = within(
            idle,
            read_line_capped(&mut reader, &mut line, config.max_line),
        )
        .await?
        else {
            return Ok(());
        };
        if read == LineRead::End {
            // The client closed its side, maybe in the middle of a line:
            // nobody is waiting for an answer to that fragment.
            return Ok(());
        }
        handled += 1;
        let reply = match read {
            LineRead::Line => respond(&line, handled),
            _ => Reply::text(format!("ERR line too long (max {} bytes)", config.max_line)),
        };
        // One `write_all` per reply: text and newline leave together.
        let mut out = reply.text.into_bytes();
        out.push(b'\n');
        // A client that sends but never reads fills the socket's buffers, and
        // then this write waits: that wait has the same limit.
        if within(idle, writer.write_all(&out)).await?.is_none() {
            return Ok(());
        }

        if reply.close {
            return Ok(());
        }
        // Reply first, then throw the rest of the long line away: the client
        // learns of the error without having to finish its line.
        if read == LineRead::TooLongUnfinished {
            match within(idle, skip_rest_of_line(&mut reader)).await? {
                Some(true) => {}
                // End of stream, or time is up.
                Some(false) | None => return Ok(()),
            }
        }
    }
}

/// Runs one wait for the client, for at most `limit`: `Ok(None)` if the time
/// ran out first. The unfinished wait is then dropped, with whatever it had
/// read; that is fine here, since the connection closes.
async fn within<T>(
    limit: Duration,
    wait: impl Future<Output = io::Result<T>>,
) -> io::Result<Option<T>> {
    match timeout(limit, wait).await {
        Ok(result) => result.map(Some),
        Err(_elapsed) => Ok(None),
    }
}

/// What [`read_line_capped`] found.
#[derive(Debug, PartialEq, Eq)]
enum LineRead {
    /// A whole line is in the buffer, without its `\n` or `\r\n`.
    Line,
    /// The line was too long and ended within the bytes read.
    TooLong,
    /// The line was too long and its end has not been read yet.
    TooLongUnfinished,
    /// End of stream: the client closed its side (an unfinished line, if
    /// any, is left in the buffer).
    End,
}

/// Reads one line into `line`, but never more than `max_line` bytes of text
/// plus a `\r\n`: a client cannot make us buffer more by never sending `\n`.
async fn read_line_capped<R>(
    reader: &mut R,
    line: &mut Vec<u8>,
    max_line: usize,
) -> io::Result<LineRead>
where
    R: AsyncBufRead + Unpin,
{
    // `take` stops `read_until` after `limit` bytes even without a `\n`.
    // The bytes after that stay in `reader`'s buffer for the next call.
    // Saturating: `max_line` near `usize::MAX` means "no limit", not a panic.
    let limit = (max_line as u64).saturating_add(2);
    let n = reader.take(limit).read_until(b'\n', line).await?;

    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        // "17 bytes + \n" fits in the limit of 16 + 2, but is still too long.
        Ok(if line.len() > max_line {
            LineRead::TooLong
        } else {
            LineRead::Line
        })
    } else if n as u64 == limit {
        Ok(LineRead::TooLongUnfinished)
    } else {
        // Fewer bytes than the limit and no `\n`: the stream ended.
        Ok(LineRead::End)
    }
}

/// Reads and drops bytes up to and including the next `\n`, using only the
/// reader's own buffer. Returns `false` if the stream ended first.
async fn skip_rest_of_line<R>(reader: &mut R) -> io::Result<bool>
where
    R: AsyncBufRead + Unpin,
{
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(false);
        }
        match available.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(true);
            }
            None => {
                let all = available.len();
                reader.consume(all);
            }
        }
    }
}

/// One reply line, and whether to close the connection after sending it.
struct Reply {
    text: String,
    close: bool,
}

impl Reply {
    fn text(text: impl Into<String>) -> Self {
        Reply {
            text: text.into(),
            close: false,
        }
    }
}

/// The protocol itself: no I/O, so it is easy to read and to change.
/// `handled` counts the lines of this connection, this one included.
fn respond(line: &[u8], handled: u64) -> Reply {
    // Check, don't assume: the bytes come from a stranger. (`from_utf8_lossy`
    // would silently turn bad bytes into U+FFFD instead of telling the client.)
    let Ok(line) = std::str::from_utf8(line) else {
        return Reply::text("ERR invalid UTF-8");
    };
    if !line.starts_with('/') {
        return Reply::text(line);
    }
    let (command, argument) = line.split_once(' ').unwrap_or((line, ""));
    match command {
        "/upper" => Reply::text(argument.to_uppercase()),
        // `chars()`, not bytes: reversing the bytes of "é" is not UTF-8.
        "/reverse" => Reply::text(argument.chars().rev().collect::<String>()),
        "/count" => Reply::text(handled.to_string()),
        "/quit" => Reply {
            text: "BYE".into(),
            close: true,
        },
        _ => Reply::text(format!("ERR unknown command: {command}")),
    }
}

/// Error lines for stderr, at most one per [`LOG_EVERY`]: ten thousand
/// clients that reset their connections must not become ten thousand lines
/// (nor a server busy writing them). The lines held back are counted, and the
/// next line that goes out says how many. Shared by the accept loop and every
/// connection task through an `Arc`.
#[derive(Default)]
struct ErrorLog {
    state: Mutex<LogState>,
}

#[derive(Default)]
struct LogState {
    /// When the last line went out.
    last: Option<Instant>,
    /// Lines dropped since then.
    held_back: u64,
}

/// At most one log line per this much time.
const LOG_EVERY: Duration = Duration::from_secs(1);

impl ErrorLog {
    fn line(&self, message: fmt::Arguments<'_>) {
        // tokio's `Instant` follows tokio's paused clock, so a test could
        // check this without real sleeps.
        let now = Instant::now();
        let held_back = {
            // A std `Mutex` is right here: held for a few instructions, never
            // across an `.await` (chapter 2). A panic elsewhere while holding
            // it cannot leave the counts inconsistent, so poisoning is ignored.
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if state.last.is_some_and(|last| now - last < LOG_EVERY) {
                state.held_back += 1;
                return;
            }
            state.last = Some(now);
            std::mem::take(&mut state.held_back)
        };
        if held_back == 0 {
            eprintln!("{message}");
        } else {
            eprintln!("{message} ({held_back} more since the previous line, not shown)");
        }
    }
}
