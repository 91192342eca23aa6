//! # Exercise 11: an HTTP/1.1 server
//!
//! Write a small HTTP/1.1 server on tokio that parses requests itself (the
//! head with `httparse`, the body by hand), keeps connections alive, and
//! refuses what it must refuse. It serves three routes:
//!
//! | request                 | response                                              |
//! |-------------------------|-------------------------------------------------------|
//! | `GET /`                 | 200, the text [`HELLO`]                               |
//! | `GET /files/{path}`     | 200, the file `{path}` under [`Config::root`]; 404 if there is none |
//! | `POST /echo`            | 200, the request's body (`application/octet-stream`)  |
//! | `HEAD` of a `GET` route | the headers `GET` would send, `Content-Length` included, and no body |
//! | another method on a route | 405, with `Allow` naming the route's methods        |
//! | any other path          | 404                                                   |
//!
//! The tests start [`serve`] on a listener bound to `127.0.0.1:0` and talk to
//! it over raw TCP, writing the bytes of each request by hand. Run them with
//!
//! ```text
//! cargo test -p exercise-11
//! ```
//!
//! Try it with curl too: `cargo run -p exercise-11 --features serve --bin
//! serve-11 -- --root .` serves the current directory on `127.0.0.1:8080`.
//! Stuck? `cargo course hint 11`, or read `exercises/11-http-server/hints.md`.

// The work is in four parts, marked below; do them in order, running the
// tests after each. The types and helpers without a `todo!()` are given:
// use them, or change them if you prefer another design (only the public
// items are the contract). `response.rs` is given and finished.

mod response;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout, timeout_at};

use response::{Response, content_type, percent_decode, write_response};

/// The body of `GET /`.
pub const HELLO: &str = "Hello from exercise 11!\n";

/// The largest head (request line and headers, up to and including the empty
/// line) that [`Config::new`] accepts: 8 KiB.
pub const DEFAULT_MAX_HEAD: usize = 8 * 1024;

/// The largest body that [`Config::new`] accepts: 1 MiB.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// The most header fields a request may have; one more is answered with 431.
pub const MAX_HEADERS: usize = 64;

/// Settings of one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The directory that `GET /files/{path}` serves files from. No request
    /// may reach a file outside it.
    pub root: PathBuf,
    /// The largest head accepted, in bytes, from the request line to the
    /// empty line that ends the headers (also the limit for the trailer
    /// fields of a chunked body). A longer head is answered with 431 as soon
    /// as more than `max_head` bytes of it have arrived, without waiting for
    /// its end.
    pub max_head: usize,
    /// The largest body accepted, in bytes (after decoding a chunked body).
    /// A larger body is answered with 413 as soon as the server knows it is
    /// too large (from `Content-Length`, or from a chunk size), without
    /// reading the rest of it.
    pub max_body: usize,
    /// The longest a request's head may take to arrive, counted from its
    /// first byte. A client still sending its head then is answered with 408
    /// and disconnected, however steadily it trickles bytes (slowloris).
    pub header_timeout: Duration,
    /// The longest the server waits for a client at any one time: for the
    /// first byte of the next request (from the connection's start or from
    /// the previous response on), for more of a body, or for the client to
    /// take a response. A connection idle that long is closed without a
    /// response (mid-body: with 408).
    pub idle_timeout: Duration,
}

impl Config {
    /// Serves `root`, with `max_head` = [`DEFAULT_MAX_HEAD`], `max_body` =
    /// [`DEFAULT_MAX_BODY`], `header_timeout` = 10 s and `idle_timeout` =
    /// 60 s.
    pub fn new(root: impl Into<PathBuf>) -> Config {
        Config {
            root: root.into(),
            max_head: DEFAULT_MAX_HEAD,
            max_body: DEFAULT_MAX_BODY,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Serves HTTP/1.1 on every connection `listener` accepts, each connection
/// in its own task. Never returns: to stop the server, drop or abort the
/// task (or future) that runs it. The caller binds the listener.
///
/// Per connection, requests are read and answered one after the other, in
/// order, as long as both sides keep the connection alive:
///
/// - **Keep-alive.** An HTTP/1.1 connection stays open after a response
///   unless the request said `Connection: close`; an HTTP/1.0 connection
///   closes after the response unless the request said
///   `Connection: keep-alive`. Requests sent back to back without waiting
///   (pipelining), and requests split over many writes, both work. A response
///   that ends the connection carries `Connection: close`.
/// - **Every response** has `Date` (an IMF-fixdate) and a `Content-Length`
///   that matches its body: use `write_response` from `response.rs`.
/// - **Bodies.** A request body is framed by `Content-Length` or by
///   `Transfer-Encoding: chunked`; a chunked body is decoded (chunk
///   extensions and trailer fields are accepted and ignored). A request
///   with neither has no body. `Expect: 100-continue` may be answered with
///   `100 Continue` before the body is read.
/// - **Refused requests** are answered with the status below and
///   `Connection: close`, and the connection is then closed (whatever
///   follows on it cannot be trusted to start a new request):
///   - 400: a head `httparse` rejects; an HTTP/1.1 request without exactly
///     one `Host`; a request target that does not start with `/` (this
///     server does not take the absolute form, `http://host/path`, that RFC
///     9112 asks servers to accept, nor `OPTIONS *`); a
///     `Content-Length` that is not a plain decimal number, or several that
///     differ; `Content-Length` together with `Transfer-Encoding` (request
///     smuggling); a `Transfer-Encoding` in an HTTP/1.0 request or whose
///     last coding is not `chunked`; a malformed chunk; a `GET /files/` path
///     that could leave the root (see below);
///   - 408: the head did not arrive within `header_timeout`, or the body
///     stalled for `idle_timeout`;
///   - 413: a body over `max_body`;
///   - 431: a head over `max_head`, or more than [`MAX_HEADERS`] fields;
///   - 501: a transfer coding other than `chunked` (such as `gzip, chunked`);
///   - 505: an HTTP version other than 1.0 and 1.1.
/// - **Files.** `GET /files/{path}` percent-decodes `{path}` (a query
///   string, from `?` on, is ignored), then refuses with 400 any path that
///   has a `..` segment, starts with `/` (absolute), or contains a `\` or a
///   NUL byte. Otherwise it serves the regular file `root/{path}` (404 if
///   there is none, or if it is a directory).
/// - **Timeouts**: see [`Config::header_timeout`] and [`Config::idle_timeout`].
pub async fn serve(listener: TcpListener, config: Config) {
    // TODO (part 4): accept connections forever, each in its own task that
    // runs `handle_connection`. An accept error must not stop the server
    // (chapter 3: log it, pause about 100 ms, go on).
    todo!("accept connections and spawn a task for each")
}

// ---------------------------------------------------------------------------
// Part 1: the head
// ---------------------------------------------------------------------------

/// How the body of a request is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    /// Neither `Content-Length` nor `Transfer-Encoding`: no body.
    Empty,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// What the server keeps of a request's head, copied out of the read buffer.
#[derive(Debug)]
struct Head {
    method: String,
    /// The request target, such as `/files/a.txt?x=1`.
    target: String,
    body: BodyKind,
    /// Whether the connection stays open after the response.
    keep_alive: bool,
    /// `Expect: 100-continue`: the client waits for a go-ahead before it
    /// sends the body.
    expect_continue: bool,
}

/// Why a connection ends early.
#[derive(Debug)]
enum Stop {
    /// The client closed, or was idle too long between requests: close
    /// without a response.
    Close,
    /// Answer with this error status and `Connection: close`, then close.
    Refuse(u16),
    /// The socket failed.
    Io(io::Error),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Stop {
        Stop::Io(e)
    }
}

/// Parses the head at the start of `buf`. `Ok(None)`: not all of it is here
/// yet. `Ok(Some((head, n)))`: the head is the first `n` bytes of `buf`.
fn parse_head(buf: &[u8], max_head: usize) -> Result<Option<(Head, usize)>, Stop> {
    // TODO (part 1): parse `buf` with httparse::Request (room for
    // MAX_HEADERS fields). Partial: Ok(None), unless more than `max_head`
    // bytes are already here. Map httparse's errors to 431, 505 or 400.
    // Then go through the fields: Content-Length (digits only; two different
    // values are an attack), Transfer-Encoding (a list; chunked must be last),
    // Connection (close / keep-alive), Host (exactly one in HTTP/1.1), and
    // refuse Content-Length together with Transfer-Encoding.
    todo!("parse the head with httparse and check the framing headers")
}

// ---------------------------------------------------------------------------
// Part 2: the connection's read buffer, and the body
// ---------------------------------------------------------------------------

/// One client connection: the socket, the bytes read but not used yet (the
/// start of the next request when the client pipelines), and the buffer a
/// response is written into.
struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    out: Vec<u8>,
}

impl Conn {
    /// Reads more bytes into `buf`, waiting until `deadline` at most.
    /// `Err(on_timeout)` when the time is up, `Err(Stop::Close)` at the end
    /// of the stream.
    async fn read_more(&mut self, deadline: Instant, on_timeout: Stop) -> Result<(), Stop> {
        self.buf.reserve(8 * 1024);
        match timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
            Err(_elapsed) => Err(on_timeout),
            Ok(Ok(0)) => Err(Stop::Close),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(Stop::Io(e)),
        }
    }

    /// Reads until `buf` holds at least `n` bytes, waiting at most
    /// `idle` for each read.
    async fn fill(&mut self, n: usize, idle: Duration) -> Result<(), Stop> {
        while self.buf.len() < n {
            self.read_more(Instant::now() + idle, Stop::Refuse(408))
                .await?;
        }
        Ok(())
    }

    /// Removes one line ending in `\r\n` from `buf` and returns it without
    /// its ending. A line longer than `max` bytes is refused with `too_long`.
    async fn read_line(
        &mut self,
        max: usize,
        too_long: u16,
        idle: Duration,
    ) -> Result<Bytes, Stop> {
        // TODO (part 2): find the `\n` in `buf` (reading more while there is
        // none, and refusing once more than `max` bytes have no line end);
        // the line must end in `\r\n`, or it is a 400.
        todo!("take one CRLF-terminated line out of the buffer")
    }

    /// Sends `out` to the client and empties it.
    async fn flush(&mut self, idle: Duration) -> Result<(), Stop> {
        match timeout(idle, self.stream.write_all(&self.out)).await {
            Ok(result) => result?,
            Err(_elapsed) => return Err(Stop::Close), // the client does not read
        }
        self.out.clear();
        Ok(())
    }
}

/// Reads the next request's head: waits at most `idle_timeout` for its
/// first byte, then at most `header_timeout` for all of it.
async fn read_head(conn: &mut Conn, config: &Config) -> Result<Head, Stop> {
    // TODO (part 1): parse what is buffered; while the head is incomplete,
    // read more. Before the first byte, wait up to idle_timeout (then close
    // quietly); from the first byte on, the whole head has header_timeout
    // (then 408). Remove the head's bytes from the buffer, keep the rest.
    todo!("read and parse the next request's head, with both deadlines")
}

/// Reads the body `head` announces, refusing it with 413 as soon as it is
/// known to exceed `max_body`.
async fn read_body(conn: &mut Conn, head: &Head, config: &Config) -> Result<Bytes, Stop> {
    // TODO (part 2): no body, a Content-Length body, or a chunked body
    // (size line in hex, extensions after `;` ignored, data, CRLF; a 0 chunk,
    // then trailer lines until an empty line). Check max_body against what
    // is announced *before* reading it. (Optional: answer
    // `Expect: 100-continue` with `HTTP/1.1 100 Continue\r\n\r\n` first.)
    todo!("read the body the head announces, within max_body")
}

// ---------------------------------------------------------------------------
// Part 3: routing
// ---------------------------------------------------------------------------

/// Answers one complete request.
async fn route(head: &Head, body: Bytes, config: &Config) -> Response {
    // TODO (part 3): `/`, `/echo` and `/files/...` (ignore a query string),
    // with 405 + Allow for other methods, and 404 for other paths.
    todo!("choose the response for this request")
}

/// The path under `root` that the encoded path `file` names, or `None` if it
/// could name anything outside `root`.
fn safe_path(root: &Path, file: &str) -> Option<PathBuf> {
    // TODO (part 3): decode first (response::percent_decode), then refuse
    // absolute paths, `..` segments, backslashes and NUL bytes.
    todo!("map the path to a file under root, or refuse it")
}

/// `GET /files/{file}`: the file's bytes, 400 for a path that tries to leave
/// the root, 404 for anything that is not a regular file.
async fn serve_file(root: &Path, file: &str) -> Response {
    let Some(path) = safe_path(root, file) else {
        return Response::error(400);
    };
    // Reading a file blocks: do it on tokio's blocking threads.
    let read = tokio::task::spawn_blocking(move || {
        if !std::fs::metadata(&path)?.is_file() {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        }
        std::fs::read(&path).map(|bytes| (path, bytes))
    })
    .await;
    match read {
        Ok(Ok((path, bytes))) => Response::new(200, content_type(&path), bytes),
        Ok(Err(e)) if e.kind() == io::ErrorKind::NotFound => Response::error(404),
        Ok(Err(_)) | Err(_) => Response::error(500),
    }
}

// ---------------------------------------------------------------------------
// Part 4: the connection loop
// ---------------------------------------------------------------------------

/// Serves one client: request after request, until one side closes.
async fn handle_connection(stream: TcpStream, config: &Config) -> io::Result<()> {
    let mut conn = Conn {
        stream,
        buf: BytesMut::with_capacity(8 * 1024),
        out: Vec::with_capacity(8 * 1024),
    };
    match serve_requests(&mut conn, config).await {
        Ok(()) | Err(Stop::Close) => Ok(()),
        Err(Stop::Io(e)) => Err(e),
        Err(Stop::Refuse(status)) => {
            write_response(&mut conn.out, &Response::error(status), false, true);
            if conn.flush(config.idle_timeout).await.is_ok() {
                linger(conn.stream).await;
            }
            Ok(())
        }
    }
}

/// The request loop: head, body, route, respond; again while keep-alive.
async fn serve_requests(conn: &mut Conn, config: &Config) -> Result<(), Stop> {
    // TODO (part 4): loop: head, body, route, write the response
    // (write_response: no body for HEAD; `close` when the connection ends),
    // flush; stop after the response if the request did not keep the
    // connection alive.
    todo!("serve requests one after the other on this connection")
}

/// Closes a connection after an error response without losing the response.
///
/// Closing a socket that still has unread bytes in its receive buffer makes
/// the kernel send a reset (RST), and a reset can make the client throw away
/// the response it had not read yet. So: shut down our sending side (the
/// client reads the response, then the end of the stream), then read and
/// discard what the client is still sending, for a short while.
async fn linger(mut stream: TcpStream) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut scratch = [0u8; 4096];
    let mut discarded = 0;
    let _ = timeout(Duration::from_secs(2), async {
        while discarded < 1024 * 1024 {
            match stream.read(&mut scratch).await {
                Ok(0) | Err(_) => break,
                Ok(n) => discarded += n,
            }
        }
    })
    .await;
}
