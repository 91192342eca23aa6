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

// The reference solution: the public items and their documentation are the
// exercise's; the bodies and the private helpers are one way to write them.

#[path = "../../../exercises/11-http-server/src/response.rs"]
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
    let config = Arc::new(config);
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                let config = Arc::clone(&config);
                tokio::spawn(async move {
                    if let Err(e) = handle_connection(stream, &config).await {
                        // A client that resets or vanishes is routine.
                        if e.kind() != io::ErrorKind::ConnectionReset {
                            eprintln!("connection ended: {e}");
                        }
                    }
                });
            }
            Err(e) => {
                // Chapter 3: out of file descriptors, pause instead of
                // spinning or giving up.
                eprintln!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
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

// ANCHOR: parse_head
/// Parses the head at the start of `buf`. `Ok(None)`: not all of it is here
/// yet. `Ok(Some((head, n)))`: the head is the first `n` bytes of `buf`.
fn parse_head(buf: &[u8], max_head: usize) -> Result<Option<(Head, usize)>, Stop> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut fields);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        // Incomplete: wait for more, unless there is already too much.
        Ok(httparse::Status::Partial) if buf.len() > max_head => return Err(Stop::Refuse(431)),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Stop::Refuse(431)),
        Err(httparse::Error::Version) => return Err(Stop::Refuse(505)),
        Err(_) => return Err(Stop::Refuse(400)),
    };
    if len > max_head {
        return Err(Stop::Refuse(431));
    }
    // Complete: method, path and version are all there.
    let (Some(method), Some(target), Some(minor)) = (request.method, request.path, request.version)
    else {
        return Err(Stop::Refuse(400));
    };
    if !target.starts_with('/') {
        return Err(Stop::Refuse(400)); // only the origin form, `/path?query`
    }

    let mut length: Option<u64> = None;
    let mut codings: Vec<String> = Vec::new();
    let (mut close, mut keep_alive, mut hosts, mut expect_continue) = (false, false, 0, false);
    for field in request.headers.iter() {
        let value = std::str::from_utf8(field.value).map_err(|_| Stop::Refuse(400))?;
        let value = value.trim_matches([' ', '\t']);
        let name = field.name;
        if name.eq_ignore_ascii_case("content-length") {
            // Digits only: no sign, no list, no spaces inside.
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Stop::Refuse(400));
            }
            let n: u64 = value.parse().map_err(|_| Stop::Refuse(400))?;
            // Two different lengths: which one does the next hop believe?
            if length.is_some_and(|earlier| earlier != n) {
                return Err(Stop::Refuse(400));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Several fields make one list: `gzip` + `chunked` = `gzip, chunked`.
            codings.extend(value.split(',').map(|c| c.trim().to_ascii_lowercase()));
        } else if name.eq_ignore_ascii_case("connection") {
            for option in value.split(',').map(str::trim) {
                close |= option.eq_ignore_ascii_case("close");
                keep_alive |= option.eq_ignore_ascii_case("keep-alive");
            }
        } else if name.eq_ignore_ascii_case("host") {
            hosts += 1;
        } else if name.eq_ignore_ascii_case("expect") {
            expect_continue = value.eq_ignore_ascii_case("100-continue");
        }
    }
    if minor == 1 && hosts != 1 {
        return Err(Stop::Refuse(400));
    }

    let body = match (length, codings.is_empty()) {
        (None, true) => BodyKind::Empty,
        (Some(n), true) => BodyKind::Length(n),
        // Both: the request smuggling case of RFC 9112, section 6.3.
        (Some(_), false) => return Err(Stop::Refuse(400)),
        (None, false) => {
            // HTTP/1.0 has no transfer codings; the last one must be
            // chunked, or nobody can tell where the body ends.
            if minor == 0 || codings.last().map(String::as_str) != Some("chunked") {
                return Err(Stop::Refuse(400));
            }
            if codings.len() > 1 {
                return Err(Stop::Refuse(501)); // gzip, chunked: not supported
            }
            BodyKind::Chunked
        }
    };
    let head = Head {
        method: method.to_owned(),
        target: target.to_owned(),
        body,
        keep_alive: if minor == 1 {
            !close
        } else {
            keep_alive && !close
        },
        expect_continue: expect_continue && minor == 1,
    };
    Ok(Some((head, len)))
}
// ANCHOR_END: parse_head

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
        let mut searched = 0;
        loop {
            if let Some(i) = self.buf[searched..].iter().position(|&b| b == b'\n') {
                let end = searched + i;
                // A bare \n is not a line ending in HTTP/1.1 framing.
                if end == 0 || self.buf[end - 1] != b'\r' {
                    return Err(Stop::Refuse(400));
                }
                let line = self.buf.split_to(end + 1).freeze();
                return Ok(line.slice(..end - 1));
            }
            searched = self.buf.len();
            if searched > max {
                return Err(Stop::Refuse(too_long));
            }
            self.read_more(Instant::now() + idle, Stop::Refuse(408))
                .await?;
        }
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

// ANCHOR: read_head
/// Reads the next request's head: waits at most `idle_timeout` for its
/// first byte, then at most `header_timeout` for all of it.
async fn read_head(conn: &mut Conn, config: &Config) -> Result<Head, Stop> {
    let idle_deadline = Instant::now() + config.idle_timeout;
    let mut head_deadline = None;
    loop {
        if !conn.buf.is_empty() {
            // The clock for the head starts with its first byte.
            let deadline = *head_deadline.get_or_insert(Instant::now() + config.header_timeout);
            if let Some((head, len)) = parse_head(&conn.buf, config.max_head)? {
                conn.buf.advance(len);
                return Ok(head);
            }
            // Partial: keep the bytes, read more, parse again from the start.
            conn.read_more(deadline, Stop::Refuse(408)).await?;
        } else {
            conn.read_more(idle_deadline, Stop::Close).await?;
        }
    }
}
// ANCHOR_END: read_head

// ANCHOR: read_body
/// Reads the body `head` announces, refusing it with 413 as soon as it is
/// known to exceed `max_body`.
async fn read_body(conn: &mut Conn, head: &Head, config: &Config) -> Result<Bytes, Stop> {
    let idle = config.idle_timeout;
    let limit = config.max_body;
    // Check the announced length before telling the client to go ahead.
    if let BodyKind::Length(n) = head.body
        && n > limit as u64
    {
        return Err(Stop::Refuse(413));
    }
    if head.expect_continue && head.body != BodyKind::Empty {
        conn.out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        conn.flush(idle).await?;
    }
    match head.body {
        BodyKind::Empty => Ok(Bytes::new()),
        BodyKind::Length(n) => {
            let n = n as usize; // at most `limit`, checked above
            conn.fill(n, idle).await?;
            Ok(conn.buf.split_to(n).freeze())
        }
        BodyKind::Chunked => {
            let mut body = BytesMut::new();
            loop {
                // chunk-size [ ; extensions ] CRLF
                let line = conn.read_line(1024, 400, idle).await?;
                let size = line.split(|&b| b == b';').next().unwrap_or_default();
                let size = std::str::from_utf8(size).map_err(|_| Stop::Refuse(400))?;
                let size = size.trim_end_matches([' ', '\t']);
                if size.is_empty() || !size.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(Stop::Refuse(400));
                }
                // Too many digits overflow: that chunk is too large anyway.
                let size = usize::from_str_radix(size, 16).map_err(|_| Stop::Refuse(413))?;
                if size == 0 {
                    break;
                }
                // Refuse before reading the chunk: its size is announced.
                if size > limit - body.len() {
                    return Err(Stop::Refuse(413));
                }
                conn.fill(size + 2, idle).await?;
                if &conn.buf[size..size + 2] != b"\r\n" {
                    return Err(Stop::Refuse(400));
                }
                body.extend_from_slice(&conn.buf[..size]);
                conn.buf.advance(size + 2);
            }
            // Trailer fields, up to an empty line: read and ignored, within
            // the same limit as a head.
            let mut trailers = 0;
            loop {
                let line = conn.read_line(config.max_head, 431, idle).await?;
                if line.is_empty() {
                    return Ok(body.freeze());
                }
                trailers += line.len() + 2;
                if trailers > config.max_head {
                    return Err(Stop::Refuse(431));
                }
            }
        }
    }
}
// ANCHOR_END: read_body

// ---------------------------------------------------------------------------
// Part 3: routing
// ---------------------------------------------------------------------------

// ANCHOR: route
/// Answers one complete request.
async fn route(head: &Head, body: Bytes, config: &Config) -> Response {
    // The query string plays no part in routing here.
    let path = head.target.split('?').next().unwrap_or_default();
    let method = head.method.as_str();
    if path == "/" {
        match method {
            "GET" | "HEAD" => Response::new(200, "text/plain; charset=utf-8", HELLO),
            _ => Response::method_not_allowed("GET, HEAD"),
        }
    } else if path == "/echo" {
        match method {
            "POST" => Response::new(200, "application/octet-stream", body),
            _ => Response::method_not_allowed("POST"),
        }
    } else if let Some(file) = path.strip_prefix("/files/") {
        match method {
            "GET" | "HEAD" => serve_file(&config.root, file).await,
            _ => Response::method_not_allowed("GET, HEAD"),
        }
    } else {
        Response::error(404)
    }
}
// ANCHOR_END: route

// ANCHOR: safe_path
/// The path under `root` that the encoded path `file` names, or `None` if it
/// could name anything outside `root`.
fn safe_path(root: &Path, file: &str) -> Option<PathBuf> {
    // Decode first: `%2e%2e` must be seen as the `..` it is.
    let decoded = String::from_utf8(percent_decode(file)?).ok()?;
    if decoded.starts_with('/') || decoded.contains(['\\', '\0']) {
        return None;
    }
    let mut path = root.to_path_buf();
    for segment in decoded.split('/') {
        match segment {
            ".." => return None,
            "" | "." => {}
            name => path.push(name),
        }
    }
    Some(path)
}
// ANCHOR_END: safe_path

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

// ANCHOR: handle_connection
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
    loop {
        let head = read_head(conn, config).await?;
        let body = read_body(conn, &head, config).await?;
        let response = route(&head, body, config).await;
        let head_only = head.method == "HEAD";
        write_response(&mut conn.out, &response, head_only, !head.keep_alive);
        conn.flush(config.idle_timeout).await?;
        if !head.keep_alive {
            return Ok(());
        }
    }
}
// ANCHOR_END: handle_connection

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
