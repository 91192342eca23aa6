//! # Exercise 03, reference solution: a TCP echo and line-command server
//!
//! One task per connection; each connection reads its lines through a
//! `BufReader` with a hard cap on the line length, and answers every line with
//! exactly one reply line. See the exercise's crate documentation for the
//! protocol.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The longest line [`Config::default`] accepts, in bytes.
pub const DEFAULT_MAX_LINE: usize = 1024;

/// Settings of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The longest line accepted, in bytes, not counting its `\n` or `\r\n`.
    ///
    /// A longer line is answered with `ERR line too long (max N bytes)` (N is
    /// this value) without waiting for its end: at the latest once
    /// `max_line + 2` bytes of it have arrived (room for the text and a
    /// `\r\n`) and none of them is a `\n`. The rest of that line, up to and
    /// including its `\n`, is then read and thrown away, and the connection
    /// goes on with the next line. The server never holds more than about
    /// `max_line` bytes of a line in memory, however long the line is.
    pub max_line: usize,
}

impl Default for Config {
    /// `max_line` = [`DEFAULT_MAX_LINE`].
    fn default() -> Self {
        Config {
            max_line: DEFAULT_MAX_LINE,
        }
    }
}

/// Serves the line protocol on every connection `listener` accepts, each
/// connection in its own task, until accepting fails.
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
/// - A client that misbehaves or disappears affects only its own connection.
///
/// # Errors
///
/// Runs forever unless accepting a connection fails with an error that is not
/// about that one connection (an aborted or reset connection is skipped);
/// then it returns that error.
pub async fn serve(listener: TcpListener, config: Config) -> io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // The client gave up between connecting and our accept: that
            // concerns that client only, so keep serving the others.
            Err(e) if is_per_connection(&e) => continue,
            // Anything else (for example "too many open files") ends the
            // server; a production server would log it, wait a moment and
            // retry instead (chapter 7 has the timers for that).
            Err(e) => return Err(e),
        };
        // One task per connection: while this client is silent, the loop is
        // already back at `accept`, and other tasks serve other clients.
        // `config` is `Copy`, so each task gets its own copy.
        tokio::spawn(async move {
            if let Err(e) = handle_connection(stream, config).await {
                // A reset or broken connection ends this task only.
                eprintln!("connection from {peer}: {e}");
            }
        });
    }
}

/// Errors of `accept` that concern one connection, not the listener (the
/// same list as axum's `serve` and hyper 0.14's server).
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves one client until it sends `/quit` or closes its side.
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

    loop {
        line.clear();
        let read = read_line_capped(&mut reader, &mut line, config.max_line).await?;
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
        writer.write_all(&out).await?;

        if reply.close {
            return Ok(());
        }
        // Reply first, then throw the rest of the long line away: the client
        // learns of the error without having to finish its line.
        if read == LineRead::TooLongUnfinished && !skip_rest_of_line(&mut reader).await? {
            return Ok(());
        }
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
