//! # Exercise 12: a web proxy
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
//! shuts down gracefully. The HTTP/1.1 plumbing (reading and writing heads,
//! copying a body with the right framing) is given in `src/http.rs`: read
//! it, use it, do not change it (the reference solution uses the very same
//! file). `src/bin/web-proxy.rs`, also given, makes a program of [`serve`].
//!
//! Start with the four small functions, then `serve`. Run the tests with
//!
//! ```text
//! cargo test -p exercise-12
//! ```
//!
//! and make every test pass. Stuck? `cargo course hint 12`, or read
//! `exercises/12-web-proxy/hints.md`.

pub mod http;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use http::Headers;

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
    // TODO: collect the names listed in `Connection` first, then remove
    // them (except the two framing fields) and the fixed list above.
    todo!("remove the hop-by-hop fields")
}

/// Adds `client` at the end of the `X-Forwarded-For` list: `a, b` becomes
/// `a, b, client`, several `X-Forwarded-For` fields become one, and without
/// one the list is just `client`. The earlier entries are kept: they are the
/// proxies and clients before this one.
pub fn append_forwarded_for(headers: &mut Headers, client: IpAddr) {
    // TODO: join the values of every X-Forwarded-For field, add the client,
    // and leave one field.
    todo!("append the client to X-Forwarded-For")
}

/// Whether a request with this method may be sent a second time after the
/// first attempt may have reached the upstream: the idempotent methods of
/// RFC 9110 §9.2.2 (`GET`, `HEAD`, `PUT`, `DELETE`, `OPTIONS`, `TRACE`).
/// Never `POST`, `PATCH` or `CONNECT`.
pub fn is_idempotent(method: &str) -> bool {
    // TODO: say which methods are safe to send twice.
    todo!("is {method} idempotent?")
}

/// Splits an absolute-form request target, `http://host[:port][/path][?query]`,
/// into the authority to connect to, `host:port` (port 80 when absent), and
/// the origin-form target to send there, `/path?query` (`/` when the path
/// is empty). `None` for anything else: another scheme (`https://` belongs in
/// a `CONNECT` tunnel), user info (`http://user@host/`), no host, a bad port.
pub fn split_absolute_form(target: &str) -> Option<(String, String)> {
    // TODO: check the scheme, cut the authority from the path, add the
    // default port, refuse what the doc comment lists.
    todo!("split {target:?}")
}

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
    // TODO: the accept loop of chapter 3, with:
    // - a Semaphore permit per client connection, held until it closes;
    // - in reverse mode, a health-check task and a round-robin pick over
    //   the healthy upstreams;
    // - per request: read the head (src/http.rs), rewrite it (target, Host,
    //   hop-by-hop fields, X-Forwarded-For, `Connection: close` upstream),
    //   connect and exchange under `upstream_timeout` (504), retry once on
    //   another upstream when that is safe (502 when it fails), then stream
    //   the response back and keep the client connection when you can;
    // - CONNECT in forward mode: answer 200 and copy both ways;
    // - shutdown: stop accepting, close idle connections, wait for the
    //   requests in flight (tokio_util's TaskTracker helps), return Ok(()).
    todo!("serve clients until shutdown")
}
