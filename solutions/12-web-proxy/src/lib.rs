//! # Exercise 12: a web proxy (reference solution)
//!
//! Compare with your own version once your tests are green
//! (`cargo course solution 12 --diff`). Apart from this header, the
//! `#[path]` below and private items, only the bodies differ from the stub.
//!
//! One program, two modes:
//!
//! - **forward** ([`Mode::Forward`]): clients configured to use the proxy
//!   send `GET http://host:port/path HTTP/1.1` (absolute-form), which the
//!   proxy sends on to `host:port` as `GET /path HTTP/1.1`; and
//!   `CONNECT host:port`, after which the proxy copies bytes both ways
//!   (a tunnel, for HTTPS).
//! - **reverse** ([`Mode::Reverse`]): clients talk to the proxy as if it were
//!   the server; the proxy spreads requests round-robin over healthy
//!   upstreams, with a timeout, health checks and retries of idempotent
//!   requests.
//!
//! In both modes the proxy removes hop-by-hop header fields, appends the
//! client to `X-Forwarded-For`, limits the number of client connections and
//! shuts down gracefully. The HTTP/1.1 plumbing is given in `src/http.rs`.
//!
//! ```text
//! cargo test -p solution-12
//! ```

// The HTTP plumbing is the exercise's own file, not a copy.
#[path = "../../../exercises/12-web-proxy/src/http.rs"]
pub mod http;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, MissedTickBehavior, timeout};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use http::{Body, Headers, HttpError, RequestHead, ResponseHead, write_simple_response};

// ANCHOR: config
/// Which kind of proxy to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// A forward proxy: absolute-form requests and `CONNECT` tunnels to any
    /// host the client names.
    Forward,
    /// A reverse proxy in front of these upstream servers.
    Reverse { upstreams: Vec<SocketAddr> },
}

/// The proxy's settings. `Config::default()` is a forward proxy with the
/// defaults below.
#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    /// The time allowed, per attempt, to connect to an upstream, send it the
    /// request and receive its response head. Past it the client gets
    /// `504 Gateway Timeout`. Default 10 s.
    pub upstream_timeout: Duration,
    /// How long a client connection may stay silent before (or between)
    /// requests before the proxy closes it. Default 60 s.
    pub client_timeout: Duration,
    /// Reverse mode: the time between two rounds of health checks (the first
    /// round runs one interval after the start). Default 5 s.
    pub health_interval: Duration,
    /// Reverse mode: the path a health check asks for with `GET`; any 2xx
    /// answer means healthy. Default `/health`.
    pub health_path: String,
    /// The most client connections served at once; more wait in the
    /// listener's backlog. Default 1024.
    pub max_connections: usize,
}
// ANCHOR_END: config

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Forward,
            upstream_timeout: Duration::from_secs(10),
            client_timeout: Duration::from_secs(60),
            health_interval: Duration::from_secs(5),
            health_path: "/health".to_owned(),
            max_connections: 1024,
        }
    }
}

// ANCHOR: hop_by_hop
/// Removes the hop-by-hop header fields of RFC 9110 §7.6.1, which describe
/// one connection and must not be forwarded: `Connection` itself, every
/// field that `Connection` names, and `Keep-Alive`, `Proxy-Connection`,
/// `TE`, `Upgrade`, `Proxy-Authorization`, `Proxy-Authenticate`.
///
/// `Transfer-Encoding` and `Content-Length` are kept, even when
/// `Connection` names them: this proxy relays each body exactly as it
/// arrives (a chunked body stays chunked, trailer fields included), so the
/// fields that say where the body ends must travel with it. `Trailer` is
/// end-to-end in RFC 9110 and is kept too.
pub fn remove_hop_by_hop(headers: &mut Headers) {
    const FRAMING: [&str; 2] = ["transfer-encoding", "content-length"];
    // Read the names listed in Connection before removing Connection itself.
    for name in headers.tokens("connection") {
        if !FRAMING.contains(&name.as_str()) {
            headers.remove(&name);
        }
    }
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "upgrade",
        "proxy-authorization",
        "proxy-authenticate",
    ] {
        headers.remove(name);
    }
}
// ANCHOR_END: hop_by_hop

// ANCHOR: xff
/// Adds `client` at the end of the `X-Forwarded-For` list: `a, b` becomes
/// `a, b, client`, several `X-Forwarded-For` fields become one, and without
/// one the list is just `client`. The earlier entries are kept: they are the
/// proxies and clients before this one.
pub fn append_forwarded_for(headers: &mut Headers, client: IpAddr) {
    let mut list: Vec<u8> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let value = value.trim_ascii();
        if !value.is_empty() {
            list.extend_from_slice(value);
            list.extend_from_slice(b", ");
        }
    }
    list.extend_from_slice(client.to_string().as_bytes());
    headers.remove("x-forwarded-for");
    headers.append("X-Forwarded-For", list);
}
// ANCHOR_END: xff

/// Whether a request with this method may be sent a second time after the
/// first attempt may have reached the upstream: the idempotent methods of
/// RFC 9110 §9.2.2 (`GET`, `HEAD`, `PUT`, `DELETE`, `OPTIONS`, `TRACE`).
/// Never `POST`, `PATCH` or `CONNECT`.
pub fn is_idempotent(method: &str) -> bool {
    matches!(
        method,
        "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS" | "TRACE"
    )
}

/// Splits an absolute-form request target, `http://host[:port][/path][?query]`,
/// into the authority to connect to, `host:port` (port 80 when absent), and
/// the origin-form target to send there, `/path?query` (`/` when the path
/// is empty). `None` for anything else: another scheme (`https://` belongs in
/// a `CONNECT` tunnel), user info (`http://user@host/`), no host, a bad port.
pub fn split_absolute_form(target: &str) -> Option<(String, String)> {
    let scheme_end = target.find("://")?;
    if !target[..scheme_end].eq_ignore_ascii_case("http") {
        return None;
    }
    let rest = &target[scheme_end + 3..];
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    // `[::1]:8080` or `[::1]`: an IPv6 literal keeps its brackets.
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], &authority[i + 1..]),
        _ => (authority, "80"),
    };
    let port: u16 = port.parse().ok()?;
    if host.is_empty() {
        return None;
    }
    let path = match path {
        "" => "/".to_owned(),
        p if p.starts_with('?') => format!("/{p}"),
        p => p.to_owned(),
    };
    Some((format!("{host}:{port}"), path))
}

// ANCHOR: serve
/// Serves clients accepted on `listener` as `config` says, until `shutdown`
/// is cancelled. Then it stops accepting (and drops the listener, so new
/// connections are refused), closes idle client connections, lets every
/// request in flight finish, and returns.
///
/// At most `config.max_connections` clients are served at once. Each
/// request is logged on one line on standard error.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let shared = Arc::new(Shared::new(config));
    let tracker = TaskTracker::new();

    if matches!(shared.config.mode, Mode::Reverse { .. }) {
        let (shared, token) = (shared.clone(), shutdown.clone());
        tracker.spawn(async move { token.run_until_cancelled(health_checks(shared)).await });
    }

    let limit = Arc::new(Semaphore::new(shared.config.max_connections.max(1)));
    loop {
        // The permit first: with every permit taken, new clients wait in the
        // listener's backlog instead of costing a task and a buffer each.
        let Some(permit) = shutdown
            .run_until_cancelled(limit.clone().acquire_owned())
            .await
        else {
            break;
        };
        let permit = permit.expect("the semaphore is never closed");
        let accepted = match shutdown.run_until_cancelled(listener.accept()).await {
            None => break,
            Some(accepted) => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, or a connection reset while in
                // the backlog: pause a little, keep serving (chapter 3).
                log(format!("accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (shared, token) = (shared.clone(), shutdown.clone());
        tracker.spawn(async move {
            handle_client(stream, peer, &shared, &token).await;
            drop(permit);
        });
    }
    drop(listener);
    tracker.close();
    tracker.wait().await;
    Ok(())
}
// ANCHOR_END: serve

/// What every connection task shares.
struct Shared {
    config: Config,
    upstreams: Vec<Upstream>,
    next: AtomicUsize,
}

struct Upstream {
    addr: SocketAddr,
    healthy: AtomicBool,
}

impl Shared {
    fn new(config: Config) -> Self {
        let upstreams = match &config.mode {
            Mode::Forward => Vec::new(),
            Mode::Reverse { upstreams } => upstreams
                .iter()
                .map(|&addr| Upstream {
                    addr,
                    // Healthy until a health check says otherwise.
                    healthy: AtomicBool::new(true),
                })
                .collect(),
        };
        Shared {
            config,
            upstreams,
            next: AtomicUsize::new(0),
        }
    }

    // ANCHOR: pick
    /// The next healthy upstream in round-robin order that is not in
    /// `tried`, if any.
    fn pick(&self, tried: &[usize]) -> Option<usize> {
        let n = self.upstreams.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|k| (start + k) % n)
            .find(|i| !tried.contains(i) && self.upstreams[*i].healthy.load(Ordering::Relaxed))
    }
    // ANCHOR_END: pick
}

// ANCHOR: health
/// Checks every upstream once per `health_interval`, forever (the caller
/// cancels it), and moves each in or out of the rotation.
async fn health_checks(shared: Arc<Shared>) {
    let every = shared.config.health_interval;
    let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
    // A slow round must not be followed by a burst of catch-up rounds.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        for upstream in &shared.upstreams {
            let ok = check_once(upstream.addr, &shared.config).await;
            let was = upstream.healthy.swap(ok, Ordering::Relaxed);
            if was != ok {
                let state = if ok {
                    "back in rotation"
                } else {
                    "out of rotation"
                };
                log(format!("health: upstream {} is {state}", upstream.addr));
            }
        }
    }
}

/// One health check: `GET health_path` answered 2xx within the timeout.
async fn check_once(addr: SocketAddr, config: &Config) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await?;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
            config.health_path
        );
        stream.write_all(request.as_bytes()).await?;
        let head = http::read_response_head(&mut BufReader::new(stream)).await?;
        Ok::<_, HttpError>((200..300).contains(&head.status))
    };
    matches!(
        timeout(config.upstream_timeout, attempt).await,
        Ok(Ok(true))
    )
}
// ANCHOR_END: health

/// Serves the requests of one client connection, one after the other.
async fn handle_client(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    shutdown: &CancellationToken,
) {
    // Small heads and bodies go out at once, without Nagle's delay.
    let _ = stream.set_nodelay(true);
    let mut client = BufReader::new(stream);
    loop {
        // Between requests the connection is idle: shutdown and the idle
        // timeout may close it here, and only here.
        let read = timeout(
            shared.config.client_timeout,
            http::read_request_head(&mut client),
        );
        let head = match shutdown.run_until_cancelled(read).await {
            None | Some(Err(_)) | Some(Ok(Ok(None))) => return,
            Some(Ok(Ok(Some(head)))) => head,
            Some(Ok(Err(e))) => {
                refuse(&mut client, &e).await;
                return;
            }
        };
        if head.method == "CONNECT" {
            // After a tunnel the connection carries no more HTTP.
            tunnel(&mut client, &head, shared).await;
            return;
        }
        let started = Instant::now();
        let (method, target) = (head.method.clone(), head.target.clone());
        let outcome = forward_one(&mut client, head, peer, shared, shutdown).await;
        log(format!(
            "{peer} \"{method} {target}\" {} {} {} {}ms",
            outcome.status,
            outcome.bytes,
            outcome.upstream.as_deref().unwrap_or("-"),
            started.elapsed().as_millis()
        ));
        if !outcome.keep_alive {
            return;
        }
    }
}

/// Answers a request that could not be read; returns the status sent
/// (0 when the client is gone and there is no one to answer).
async fn refuse<W: AsyncWrite + Unpin>(client: &mut W, e: &HttpError) -> u16 {
    let (status, reason) = match e {
        HttpError::HeadTooLarge => (431, "Request Header Fields Too Large"),
        HttpError::UnsupportedEncoding => (501, "Not Implemented"),
        HttpError::Malformed(_) => (400, "Bad Request"),
        HttpError::Incomplete | HttpError::Io(_) => return 0,
    };
    let text = format!("{e}\n");
    let _ = write_simple_response(client, status, reason, &[("Connection", "close")], &text).await;
    status
}

/// How one request ended, for the log line and the connection loop.
struct Outcome {
    status: u16,
    bytes: u64,
    upstream: Option<String>,
    keep_alive: bool,
}

impl Outcome {
    fn closed(status: u16, upstream: Option<String>) -> Self {
        Outcome {
            status,
            bytes: 0,
            upstream,
            keep_alive: false,
        }
    }
}

/// Why one attempt at an upstream failed.
enum Failure {
    /// Could not connect: the request never left, any method may go elsewhere.
    Connect,
    /// The connection broke after the request (or part of it) was sent.
    AfterSend,
    /// The body from the client was bad or the client left.
    Client,
    /// No response head within `upstream_timeout`.
    Timeout,
}

// ANCHOR: forward_one
/// Sends one request on to an upstream and relays the response.
async fn forward_one(
    client: &mut BufReader<TcpStream>,
    mut head: RequestHead,
    peer: SocketAddr,
    shared: &Shared,
    shutdown: &CancellationToken,
) -> Outcome {
    let body = match head.body() {
        Ok(body) => body,
        Err(e) => {
            let status = refuse(client, &e).await;
            return Outcome::closed(status, None);
        }
    };
    let keep_alive = head.keep_alive() && head.version == 1;
    let method = head.method.clone();

    // Where to? Forward mode: the host in the target; reverse: the pool.
    let fixed_target = match shared.config.mode {
        Mode::Forward => match split_absolute_form(&head.target) {
            Some((authority, path)) => {
                head.target = path;
                head.headers.remove("host");
                head.headers.append("Host", authority.as_bytes());
                Some(authority)
            }
            None => {
                let _ = write_simple_response(
                    client,
                    400,
                    "Bad Request",
                    &[("Connection", "close")],
                    "a forward proxy needs an absolute-form http:// target\n",
                )
                .await;
                return Outcome::closed(400, None);
            }
        },
        Mode::Reverse { .. } => None,
    };

    remove_hop_by_hop(&mut head.headers);
    append_forwarded_for(&mut head.headers, peer.ip());
    head.headers.append("Via", "1.1 web-proxy");
    // One request per upstream connection: the upstream closes after its
    // answer, so a body without a length still has an end.
    head.headers.append("Connection", "close");
    head.version = 1;
    let wire = head.to_bytes();

    let mut tried: Vec<usize> = Vec::new();
    let (reader, response, label) = loop {
        let (addr, label) = match &fixed_target {
            Some(authority) => (authority.clone(), authority.clone()),
            None => match shared.pick(&tried) {
                Some(i) => {
                    tried.push(i);
                    let a = shared.upstreams[i].addr;
                    (a.to_string(), a.to_string())
                }
                None => {
                    // All out of rotation (503), or the healthy ones were
                    // tried already (502).
                    let (status, reason) = if tried.is_empty() {
                        (503, "Service Unavailable")
                    } else {
                        (502, "Bad Gateway")
                    };
                    let text = "no upstream could take the request\n";
                    let _ = write_simple_response(
                        client,
                        status,
                        reason,
                        &[("Connection", "close")],
                        text,
                    )
                    .await;
                    return Outcome::closed(status, None);
                }
            },
        };
        let attempt = exchange(&addr, &wire, client, body);
        let failure = match timeout(shared.config.upstream_timeout, attempt).await {
            Ok(Ok((reader, response))) => break (reader, response, label),
            Ok(Err(failure)) => failure,
            Err(_) => Failure::Timeout,
        };
        // Retry at most once, on another upstream, and only what is safe:
        // a request that never left (connect failed), or one that may have
        // reached the upstream but is idempotent and has no body to resend.
        let may_retry = fixed_target.is_none()
            && tried.len() < 2
            && match failure {
                Failure::Connect => true,
                Failure::AfterSend => is_idempotent(&method) && body == Body::Empty,
                Failure::Client | Failure::Timeout => false,
            };
        if may_retry {
            continue;
        }
        let (status, reason) = match failure {
            Failure::Timeout => (504, "Gateway Timeout"),
            Failure::Client => (400, "Bad Request"),
            Failure::Connect | Failure::AfterSend => (502, "Bad Gateway"),
        };
        let _ = write_simple_response(
            client,
            status,
            reason,
            &[("Connection", "close")],
            &format!("upstream {label}: {reason}\n"),
        )
        .await;
        return Outcome::closed(status, Some(label));
    };
    relay_response(
        client,
        reader,
        response,
        &method,
        keep_alive && !shutdown.is_cancelled(),
        label,
    )
    .await
}
// ANCHOR_END: forward_one

/// Connects, sends the request head and body, and reads the response head,
/// skipping interim 1xx responses. The caller puts a timeout around it.
async fn exchange(
    addr: &str,
    wire: &[u8],
    client: &mut BufReader<TcpStream>,
    body: Body,
) -> Result<(BufReader<TcpStream>, ResponseHead), Failure> {
    let mut upstream = TcpStream::connect(addr)
        .await
        .map_err(|_| Failure::Connect)?;
    let _ = upstream.set_nodelay(true);
    upstream
        .write_all(wire)
        .await
        .map_err(|_| Failure::AfterSend)?;
    // The body streams from the client through a fixed buffer.
    http::copy_body(client, &mut upstream, body)
        .await
        .map_err(|e| match e {
            HttpError::Io(_) => Failure::AfterSend,
            _ => Failure::Client,
        })?;
    upstream.flush().await.map_err(|_| Failure::AfterSend)?;
    let mut reader = BufReader::new(upstream);
    loop {
        let response = http::read_response_head(&mut reader)
            .await
            .map_err(|_| Failure::AfterSend)?;
        // 100 Continue and friends: the final answer is still to come.
        if (100..200).contains(&response.status) && response.status != 101 {
            continue;
        }
        return Ok((reader, response));
    }
}

// ANCHOR: relay
/// Sends the response head on to the client, then streams the body as it
/// arrives: never the whole body in memory.
async fn relay_response(
    client: &mut BufReader<TcpStream>,
    mut upstream: BufReader<TcpStream>,
    mut response: ResponseHead,
    method: &str,
    keep_alive: bool,
    label: String,
) -> Outcome {
    let status = response.status;
    let Ok(body) = response.body(method) else {
        let _ = write_simple_response(
            client,
            502,
            "Bad Gateway",
            &[("Connection", "close")],
            "bad upstream response\n",
        )
        .await;
        return Outcome::closed(502, Some(label));
    };
    // A body that ends when the upstream closes can only end the same way
    // towards the client: that connection closes too.
    let keep_alive = keep_alive && body != Body::UntilClose;
    remove_hop_by_hop(&mut response.headers);
    if !keep_alive {
        response.headers.append("Connection", "close");
    }
    response.version = 1;
    // The head, and the part of a Content-Length body that came in the same
    // read, leave in one write: one segment for a small response instead of
    // two (measured in the chapter against nginx).
    let mut first = response.to_bytes();
    let (body, sent) = match body {
        Body::Length(n) => {
            let buffered = upstream.buffer();
            let take = buffered.len().min(usize::try_from(n).unwrap_or(usize::MAX));
            first.extend_from_slice(&buffered[..take]);
            upstream.consume(take);
            (Body::Length(n - take as u64), take as u64)
        }
        other => (other, 0),
    };
    let out = client.get_mut();
    if out.write_all(&first).await.is_err() {
        return Outcome::closed(status, Some(label));
    }
    let copied = http::copy_body(&mut upstream, out, body)
        .await
        .map(|rest| rest + sent);
    let flushed = out.flush().await;
    match (copied, flushed) {
        (Ok(bytes), Ok(())) => Outcome {
            status,
            bytes,
            upstream: Some(label),
            keep_alive,
        },
        // The head is gone: all we can do is close, so the client sees a
        // short body instead of a wrong one.
        _ => Outcome::closed(status, Some(label)),
    }
}
// ANCHOR_END: relay

// ANCHOR: tunnel
/// `CONNECT host:port`: connects, answers 200, then copies bytes both ways
/// until either side closes. Reverse mode refuses it.
async fn tunnel(client: &mut BufReader<TcpStream>, head: &RequestHead, shared: &Shared) {
    let peer = client.get_ref().peer_addr().ok();
    if shared.config.mode != Mode::Forward {
        let _ = write_simple_response(
            client,
            405,
            "Method Not Allowed",
            &[("Connection", "close")],
            "CONNECT needs a forward proxy\n",
        )
        .await;
        return;
    }
    let connect = timeout(
        shared.config.upstream_timeout,
        TcpStream::connect(head.target.as_str()),
    );
    let mut upstream = match connect.await {
        Ok(Ok(upstream)) => upstream,
        Ok(Err(_)) => {
            let _ = write_simple_response(
                client,
                502,
                "Bad Gateway",
                &[("Connection", "close")],
                "could not connect\n",
            )
            .await;
            return;
        }
        Err(_) => {
            let _ = write_simple_response(
                client,
                504,
                "Gateway Timeout",
                &[("Connection", "close")],
                "connect timed out\n",
            )
            .await;
            return;
        }
    };
    let _ = upstream.set_nodelay(true);
    if client
        .get_mut()
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    // `client` is the BufReader, not the bare socket: bytes the client sent
    // right after its CONNECT head may already sit in its buffer.
    let copied = tokio::io::copy_bidirectional(client, &mut upstream).await;
    let (up, down) = copied.unwrap_or((0, 0));
    log(format!(
        "{} \"CONNECT {}\" 200 {up}+{down}",
        peer.map(|p| p.to_string()).unwrap_or_default(),
        head.target
    ));
}
// ANCHOR_END: tunnel

/// Writes one line to standard error with a single `write`: `eprintln!`
/// on the unbuffered stderr issues one system call per piece of its format
/// string, about twenty per log line here (measured in the chapter), while
/// `eprint!` with the whole line as its only piece writes it at once. (A
/// `write_all` on `io::stderr()` would too, but would bypass the test
/// harness, which captures only the print macros' output.)
fn log(mut line: String) {
    line.push('\n');
    eprint!("{line}");
}
