//! Given code: the parts of the server that are not the exercise. You do not
//! edit this file; the reference solution uses the same one.
//!
//! - [`Config`]: the server's limits and options;
//! - [`Clock`]: where the store reads the time (tests move it by hand);
//! - [`serve`]: the accept loop, the connection limit and the sweep task;
//! - [`Session`]: one client's state (protocol, authentication) and the
//!   connection's own commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT,
//!   CLIENT, COMMAND, CONFIG GET and INFO. Every other command goes to
//!   [`Db::execute`](crate::Db::execute);
//! - [`glob_match`]: Redis's glob-style patterns, for KEYS, SCAN and CONFIG
//!   GET.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use resp::{Frame, Limits, Protocol};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::{Db, handle_connection};

// ANCHOR: config
/// The server's options. `Config::default()` gives Redis's defaults where
/// Redis has one.
#[derive(Debug, Clone)]
pub struct Config {
    /// Clients served at once; one more is told
    /// `-ERR max number of clients reached` and closed (Redis: `maxclients`,
    /// 10000).
    pub max_clients: usize,
    /// The largest request, in bytes, a client may send: a longer bulk
    /// string, or a request still incomplete past this size, is a protocol
    /// error and closes the connection (Redis: `proto-max-bulk-len`, 512 MiB).
    pub max_request: usize,
    /// When set, a client must `AUTH` (or `HELLO 3 AUTH default <pass>`)
    /// before any other command (Redis: `requirepass`).
    pub requirepass: Option<String>,
    /// How often the active expiry sweep runs; `None` turns it off (Redis
    /// runs it `hz` = 10 times a second).
    pub sweep_every: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_clients: 10_000,
            max_request: 512 * 1024 * 1024,
            requirepass: None,
            sweep_every: Some(Duration::from_millis(100)),
        }
    }
}
// ANCHOR_END: config

// ANCHOR: clock
/// The store's clock: the system's monotonic clock, plus an offset that
/// [`Clock::advance`] moves. A server uses [`Clock::new`] and never advances
/// it; tests advance it to let keys expire without waiting. Clones share the
/// offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicU64>,
}

impl Clock {
    /// A clock that reads the system's monotonic clock.
    pub fn new() -> Clock {
        Clock::default()
    }

    /// The current time.
    pub fn now(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock, and every clone of it, forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}
// ANCHOR_END: clock

/// What every connection of one server shares.
#[derive(Debug)]
struct Shared {
    config: Config,
    clients: AtomicUsize,
    next_id: AtomicU64,
    started: Instant,
}

// ANCHOR: serve
/// Accepts clients on `listener` and serves each with
/// [`handle_connection`](crate::handle_connection) on a task of its own;
/// runs the active expiry sweep every `config.sweep_every`. Runs until the
/// listener fails.
pub async fn serve(listener: TcpListener, db: Arc<Db>, config: Config) -> io::Result<()> {
    if let Some(every) = config.sweep_every {
        let db = Arc::clone(&db);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                db.sweep_expired();
            }
        });
    }
    let slots = Arc::new(Semaphore::new(config.max_clients));
    let shared = Arc::new(Shared {
        config,
        clients: AtomicUsize::new(0),
        next_id: AtomicU64::new(1),
        started: Instant::now(),
    });
    loop {
        let (mut socket, peer) = listener.accept().await?;
        // Small replies must leave at once, not wait for Nagle's algorithm.
        let _ = socket.set_nodelay(true);
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            // Like Redis: tell the client why, then close. On a task, so
            // that a client that does not read cannot stall the accept loop.
            tokio::spawn(async move {
                let _ = socket
                    .write_all(b"-ERR max number of clients reached\r\n")
                    .await;
            });
            continue;
        };
        let session = Session::new(Arc::clone(&db), Arc::clone(&shared));
        tokio::spawn(async move {
            if let Err(e) = handle_connection(socket, session).await {
                eprintln!("client {peer}: {e}");
            }
            drop(slot);
        });
    }
}
// ANCHOR_END: serve

/// One client's state: the protocol it speaks, whether it has
/// authenticated, and whether it asked to close (QUIT).
pub struct Session {
    db: Arc<Db>,
    shared: Arc<Shared>,
    protocol: Protocol,
    authenticated: bool,
    closing: bool,
    id: u64,
    name: Option<Bytes>,
}

impl Session {
    fn new(db: Arc<Db>, shared: Arc<Shared>) -> Session {
        shared.clients.fetch_add(1, Ordering::Relaxed);
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        Session {
            authenticated: shared.config.requirepass.is_none(),
            db,
            shared,
            protocol: Protocol::Resp2,
            closing: false,
            id,
            name: None,
        }
    }

    /// The protocol the next reply must be encoded in (RESP2 until the
    /// client sends `HELLO 3`; the reply to `HELLO 3` itself is RESP3).
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The limits to decode this client's requests with.
    pub fn limits(&self) -> Limits {
        let mut limits = Limits::default();
        limits.max_bulk_len = limits.max_bulk_len.min(self.max_request());
        limits
    }

    /// The largest request this client may send, in bytes
    /// ([`Config::max_request`]).
    pub fn max_request(&self) -> usize {
        self.shared.config.max_request
    }

    /// True once the client has sent QUIT: send the reply, then close.
    pub fn closing(&self) -> bool {
        self.closing
    }

    // ANCHOR: execute
    /// Executes one request (a frame from [`resp::decode`]) and returns its
    /// reply. A request must be an array of bulk strings: the command's name,
    /// then its arguments. The connection's own commands are answered here;
    /// every other command goes to [`Db::execute`](crate::Db::execute).
    pub fn execute(&mut self, request: Frame) -> Frame {
        let args = match request {
            Frame::Array(items) => {
                let mut args = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Frame::Bulk(arg) => args.push(arg),
                        _ => return error("ERR Protocol error: expected a bulk string"),
                    }
                }
                args
            }
            _ => return error("ERR Protocol error: a request is an array of bulk strings"),
        };
        let Some(name) = args.first() else {
            // Redis ignores an empty request; it needs no reply either,
            // but a reply keeps one reply per request. An empty array is
            // harmless to a client that sent `*0`.
            return Frame::Array(Vec::new());
        };
        // Lower-cased in a buffer on the stack: no allocation per command.
        let mut buf = [0u8; 16];
        let name: &[u8] = match buf.get_mut(..name.len()) {
            Some(lower) => {
                lower.copy_from_slice(name);
                lower.make_ascii_lowercase();
                lower
            }
            None => b"",
        };
        if !self.authenticated && !matches!(name, b"auth" | b"hello" | b"quit") {
            return error("NOAUTH Authentication required.");
        }
        match name {
            b"ping" => self.ping(&args),
            b"echo" if args.len() == 2 => Frame::Bulk(args[1].clone()),
            b"hello" => self.hello(&args),
            b"auth" => self.auth(&args),
            b"select" if args.len() == 2 => match parse_i64(&args[1]) {
                Some(0) => ok(),
                Some(_) => error("ERR DB index is out of range"),
                None => error("ERR value is not an integer or out of range"),
            },
            b"quit" => {
                self.closing = true;
                ok()
            }
            b"client" => self.client(&args),
            b"command" => self.command(&args),
            b"config" => self.config(&args),
            b"info" => self.info(&args),
            b"echo" | b"select" => wrong_arity(name),
            _ => self.db.execute(&args),
        }
    }
    // ANCHOR_END: execute

    fn ping(&self, args: &[Bytes]) -> Frame {
        match args {
            [_] => Frame::Simple("PONG".into()),
            [_, message] => Frame::Bulk(message.clone()),
            _ => wrong_arity(b"ping"),
        }
    }

    /// `HELLO [protover [AUTH username password] [SETNAME name]]`.
    fn hello(&mut self, args: &[Bytes]) -> Frame {
        let mut protocol = self.protocol;
        if let Some(version) = args.get(1) {
            protocol = match parse_i64(version) {
                Some(2) => Protocol::Resp2,
                Some(3) => Protocol::Resp3,
                Some(_) => return error("NOPROTO unsupported protocol version"),
                None => return error("ERR Protocol version is not an integer or out of range"),
            };
        }
        let mut authenticated = self.authenticated;
        let mut name = None;
        let mut rest = args.get(2..).unwrap_or_default();
        while let Some(option) = rest.first() {
            match (option.to_ascii_lowercase().as_slice(), rest) {
                (b"auth", [_, user, pass, ..]) => {
                    if !self.password_ok(Some(user), pass) {
                        return error(WRONGPASS);
                    }
                    authenticated = true;
                    rest = &rest[3..];
                }
                (b"setname", [_, value, ..]) => {
                    name = Some(value.clone());
                    rest = &rest[2..];
                }
                _ => {
                    return error(&format!(
                        "ERR Syntax error in HELLO option '{}'",
                        lossy(option)
                    ));
                }
            }
        }
        if !authenticated {
            return error(
                "NOAUTH HELLO must be called with the client already authenticated, \
                 otherwise the HELLO <proto> AUTH <user> <pass> option can be used to \
                 authenticate the client and select the RESP protocol version at the same time",
            );
        }
        self.authenticated = true;
        self.protocol = protocol;
        if name.is_some() {
            self.name = name;
        }
        let proto = if protocol == Protocol::Resp3 { 3 } else { 2 };
        let pair = |k: &str, v: Frame| (bulk(k), v);
        Frame::Map(vec![
            pair("server", bulk("redis")),
            pair("version", bulk(REDIS_VERSION)),
            pair("proto", Frame::Integer(proto)),
            pair("id", Frame::Integer(self.id as i64)),
            pair("mode", bulk("standalone")),
            pair("role", bulk("master")),
            pair("modules", Frame::Array(Vec::new())),
        ])
    }

    /// `AUTH password` or `AUTH username password`.
    fn auth(&mut self, args: &[Bytes]) -> Frame {
        let (user, pass) = match args {
            [_, pass] => (None, pass),
            [_, user, pass] => (Some(user), pass),
            _ => return wrong_arity(b"auth"),
        };
        if self.shared.config.requirepass.is_none() && user.is_none() {
            return error(
                "ERR AUTH <password> called without any password configured for the \
                 default user. Are you sure your configuration is correct?",
            );
        }
        if self.password_ok(user, pass) {
            self.authenticated = true;
            ok()
        } else {
            error(WRONGPASS)
        }
    }

    fn password_ok(&self, user: Option<&Bytes>, pass: &[u8]) -> bool {
        if user.is_some_and(|user| user.as_ref() != b"default") {
            return false;
        }
        match &self.shared.config.requirepass {
            // Without requirepass, the default user has no password: any
            // password is accepted (Redis's `nopass`).
            None => true,
            Some(expected) => constant_time_eq(expected.as_bytes(), pass),
        }
    }

    /// `CLIENT SETNAME | GETNAME | ID | SETINFO`: enough for client libraries
    /// that name their connections.
    fn client(&mut self, args: &[Bytes]) -> Frame {
        let sub = args.get(1).map(|s| s.to_ascii_lowercase());
        match (sub.as_deref(), args.len()) {
            (Some(b"setname"), 3) => {
                self.name = Some(args[2].clone());
                ok()
            }
            (Some(b"getname"), 2) => self.name.clone().map_or(Frame::Null, Frame::Bulk),
            (Some(b"id"), 2) => Frame::Integer(self.id as i64),
            (Some(b"setinfo"), 4) => ok(),
            (None, _) => wrong_arity(b"client"),
            (Some(_), _) => unknown_subcommand(&args[1], "CLIENT"),
        }
    }

    /// `COMMAND`, `COMMAND COUNT`, `COMMAND DOCS`: redis-cli asks for the
    /// docs when it starts, to show hints; an empty answer means "no hints".
    fn command(&self, args: &[Bytes]) -> Frame {
        let sub = args.get(1).map(|s| s.to_ascii_lowercase());
        match sub.as_deref() {
            None | Some(b"info") => Frame::Array(Vec::new()),
            Some(b"docs") => Frame::Map(Vec::new()),
            Some(b"count") => Frame::Integer(0),
            Some(_) => unknown_subcommand(&args[1], "COMMAND"),
        }
    }

    /// `CONFIG GET pattern [pattern ...]` over a few read-only parameters
    /// (redis-benchmark reads `save` and `appendonly` when it starts).
    fn config(&self, args: &[Bytes]) -> Frame {
        let sub = args.get(1).map(|s| s.to_ascii_lowercase());
        match sub.as_deref() {
            Some(b"get") if args.len() >= 3 => {
                let config = &self.shared.config;
                // Each value computed only when asked for.
                let parameters: [(&str, &dyn Fn() -> String); 8] = [
                    ("save", &String::new),
                    ("appendonly", &|| "no".to_owned()),
                    ("databases", &|| "1".to_owned()),
                    ("maxclients", &|| config.max_clients.to_string()),
                    ("proto-max-bulk-len", &|| config.max_request.to_string()),
                    ("maxmemory", &|| self.db.maxmemory().to_string()),
                    // The only policy this store has; Redis's default,
                    // noeviction, refuses writes over the limit instead.
                    ("maxmemory-policy", &|| "allkeys-lru".to_owned()),
                    ("hz", &|| {
                        config
                            .sweep_every
                            .map_or(0, |every| 1000 / every.as_millis().max(1))
                            .to_string()
                    }),
                ];
                let mut found = Vec::new();
                for (name, value) in parameters {
                    if args[2..]
                        .iter()
                        .any(|p| glob_match(&p.to_ascii_lowercase(), name.as_bytes()))
                    {
                        found.push((bulk(name), bulk(&value())));
                    }
                }
                Frame::Map(found)
            }
            Some(b"get") | None => wrong_arity(b"config|get"),
            Some(_) => unknown_subcommand(&args[1], "CONFIG"),
        }
    }

    /// `INFO [section]`: the server, clients, memory, stats and keyspace
    /// sections.
    fn info(&self, args: &[Bytes]) -> Frame {
        let section = args.get(1).map(|s| s.to_ascii_lowercase());
        let wants = |name: &[u8]| match section.as_deref() {
            None | Some(b"all") | Some(b"default") | Some(b"everything") => true,
            Some(wanted) => wanted == name,
        };
        let mut text = String::new();
        if wants(b"server") {
            text.push_str(&format!(
                "# Server\r\nredis_version:{REDIS_VERSION}\r\nredis_mode:standalone\r\n\
                 process_id:{}\r\nuptime_in_seconds:{}\r\n\r\n",
                std::process::id(),
                self.shared.started.elapsed().as_secs()
            ));
        }
        if wants(b"clients") {
            text.push_str(&format!(
                "# Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\n\r\n",
                self.shared.clients.load(Ordering::Relaxed),
                self.shared.config.max_clients
            ));
        }
        if wants(b"memory") {
            text.push_str(&format!(
                "# Memory\r\nused_memory:{}\r\nmaxmemory:{}\r\nmaxmemory_policy:allkeys-lru\r\n\r\n",
                self.db.used_memory(),
                self.db.maxmemory()
            ));
        }
        if wants(b"stats") {
            text.push_str(&format!(
                "# Stats\r\nevicted_keys:{}\r\n\r\n",
                self.db.evicted_keys()
            ));
        }
        if wants(b"keyspace") {
            text.push_str("# Keyspace\r\n");
            let keys = self.db.dbsize();
            if keys > 0 {
                text.push_str(&format!("db0:keys={keys},expires=0,avg_ttl=0\r\n"));
            }
        }
        Frame::Bulk(Bytes::from(text))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.shared.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The Redis version the server reports (HELLO, INFO): the protocol level it
/// imitates. Clients use it to decide which commands they may send.
const REDIS_VERSION: &str = "7.0.0";

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

fn error(message: &str) -> Frame {
    Frame::Error(message.to_owned())
}

fn bulk(text: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn wrong_arity(name: &[u8]) -> Frame {
    error(&format!(
        "ERR wrong number of arguments for '{}' command",
        lossy(name)
    ))
}

fn unknown_subcommand(sub: &[u8], command: &str) -> Frame {
    error(&format!(
        "ERR unknown subcommand '{}'. Try {command} HELP.",
        lossy(sub)
    ))
}

/// A strict decimal integer, as Redis reads one: an optional `-`, digits,
/// no `+`, no spaces, no leading zeros.
fn parse_i64(bytes: &[u8]) -> Option<i64> {
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    if digits.is_empty()
        || !digits.iter().all(u8::is_ascii_digit)
        || (digits[0] == b'0' && bytes.len() > 1)
    {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// Compares two secrets in a time that depends on their lengths only, not on
/// where they first differ (an early exit would tell an attacker, byte by
/// byte, how much of a guess is right).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// ANCHOR: glob
/// Redis's glob-style pattern matching (KEYS, SCAN MATCH, CONFIG GET):
/// `*` any run of bytes, `?` one byte, `[abc]` one of a set, `[^a]` or `[!a]`
/// none of a set, `[a-z]` a range, `\x` the byte `x` itself.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative, with one back-tracking point for the last `*`: linear
    // memory, and no exponential blow-up on patterns like `*a*a*a*b`.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    t += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = match_class(pattern, p, text[t])
                        && matched
                    {
                        p = next;
                        t += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pattern.len() => {
                    if pattern[p + 1] == text[t] {
                        p += 2;
                        t += 1;
                        continue;
                    }
                }
                byte => {
                    if byte == text[t] {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
            }
        }
        // No match here: let the last `*` swallow one more byte.
        match star {
            Some((star_p, star_t)) => {
                star = Some((star_p, star_t + 1));
                p = star_p + 1;
                t = star_t + 1;
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// Matches `byte` against the class that starts at `pattern[start] == b'['`;
/// returns whether it matched and where the pattern continues, or `None`
/// for an unterminated class (then `[` matches nothing).
fn match_class(pattern: &[u8], start: usize, byte: u8) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(pattern.get(i), Some(b'^' | b'!'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let c = *pattern.get(i)?;
        if c == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let c = if c == b'\\' {
            i += 1;
            *pattern.get(i)?
        } else {
            c
        };
        if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).is_some_and(|&e| e != b']') {
            let end = pattern[i + 2];
            let (lo, hi) = if c <= end { (c, end) } else { (end, c) };
            matched |= (lo..=hi).contains(&byte);
            i += 3;
        } else {
            matched |= c == byte;
            i += 1;
        }
    }
}
// ANCHOR_END: glob
