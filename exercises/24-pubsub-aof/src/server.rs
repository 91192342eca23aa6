//! Given code: the parts of the server that are not the exercise. You do not
//! edit this file; the reference solution uses the same one.
//!
//! - [`serve`]: the accept loop and one loop per client (chapter 23's
//!   read / decode / execute / write-once loop), which sends every command
//!   through [`Aof::execute`](crate::Aof::execute), runs the expiry sweep,
//!   and, under [`Fsync::EverySec`](crate::Fsync::EverySec), syncs the log
//!   once a second; it also speaks pub/sub ((P)SUBSCRIBE, (P)UNSUBSCRIBE,
//!   PUBLISH; RESP2's subscribed mode and RESP3's pushes) through a
//!   [`Broker`](crate::Broker) and a [`Subscriber`](crate::Subscriber) per
//!   client;
//! - [`unix_ms`]: the wall clock, in milliseconds since the Unix epoch;
//! - [`apply_logged`]: executes one logged command, turning its absolute
//!   expiry time back into the relative one the store understands.

use std::future::{Future, poll_fn};
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Buf, Bytes, BytesMut};
use cache::{Config, Db};
use resp::{Frame, Protocol};
use tokio::net::{TcpListener, TcpStream};

use crate::{Aof, Broker, Fsync, Message, Subscriber};

/// Milliseconds since the Unix epoch, by the system's wall clock (0 if the
/// clock is set before 1970).
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

// ANCHOR: apply_logged
/// Executes one command read back from the log on `db` at `now_unix_ms`.
/// Chapter 23's store knows only relative expiry times, so the absolute ones
/// of the log are turned back into what is left of them:
///
/// - `PEXPIREAT key at [flags]` runs as `PEXPIRE key <at - now> [flags]`
///   (a time already past deletes the key, as PEXPIRE does with 0 or less);
/// - `SET ... PXAT at` runs as `SET ... PX <at - now>`; if `at` is already
///   past, as the SET without expiry (and without GET), followed by a DEL
///   of the key if the SET happened: the key was set, then expired;
/// - anything else runs as it is.
///
/// Returns the store's reply.
pub fn apply_logged(db: &Db, args: &[Bytes], now_unix_ms: u64) -> Frame {
    let now = i64::try_from(now_unix_ms).unwrap_or(i64::MAX);
    let left = |at: &Bytes| -> Option<i64> {
        let at: i64 = std::str::from_utf8(at).ok()?.parse().ok()?;
        Some(at.saturating_sub(now))
    };
    let name = args.first().map(|n| n.to_ascii_lowercase());
    match name.as_deref() {
        Some(b"pexpireat") if args.len() >= 3 => {
            let Some(left) = left(&args[2]) else {
                return Frame::Error("ERR value is not an integer or out of range".into());
            };
            let mut relative = vec![
                Bytes::from_static(b"PEXPIRE"),
                args[1].clone(),
                Bytes::from(left.to_string()),
            ];
            relative.extend_from_slice(&args[3..]);
            db.execute(&relative)
        }
        Some(b"set") => {
            let pxat = args
                .iter()
                .position(|a| a.eq_ignore_ascii_case(b"pxat"))
                .filter(|&i| i >= 3 && i + 1 < args.len());
            let Some(i) = pxat else {
                return db.execute(args);
            };
            let Some(left) = left(&args[i + 1]) else {
                return Frame::Error("ERR value is not an integer or out of range".into());
            };
            let mut relative: Vec<Bytes> = Vec::with_capacity(args.len());
            for (j, arg) in args.iter().enumerate() {
                if j == i {
                    if left > 0 {
                        relative.push(Bytes::from_static(b"PX"));
                        relative.push(Bytes::from(left.to_string()));
                    }
                } else if j == i + 1 || (left <= 0 && j >= 3 && arg.eq_ignore_ascii_case(b"get")) {
                    // The time (already pushed), or GET: its reply is not needed.
                } else {
                    relative.push(arg.clone());
                }
            }
            let reply = db.execute(&relative);
            if left <= 0 && reply == Frame::Simple("OK".into()) {
                db.execute(&[Bytes::from_static(b"DEL"), args[1].clone()]);
            }
            reply
        }
        _ => db.execute(args),
    }
}
// ANCHOR_END: apply_logged

// ANCHOR: snapshot
/// The fewest commands that rebuild `db` as it is at `now_unix_ms`, in the
/// log's form: for each live key, in the order `KEYS *` lists them, a
/// string as `SET key value` (with `PXAT <ms>` if it expires), a list as
/// `RPUSH key item...` with at most [`ITEMS_PER_COMMAND`] items per command
/// (then `PEXPIREAT key <ms>` if it expires). Expired keys are left out.
///
/// It reads the store with ordinary commands, one key at a time: called
/// while no write can run (under [`Aof`]'s lock), it sees one instant of
/// the store.
pub fn snapshot(db: &Db, now_unix_ms: u64) -> Vec<Vec<Bytes>> {
    // Every argument is a `Bytes`: a key read from KEYS is passed on with a
    // reference count, never copied.
    let name = Bytes::from_static;
    let Frame::Array(keys) = db.execute(&[name(b"KEYS"), name(b"*")]) else {
        return Vec::new();
    };
    let mut commands = Vec::with_capacity(keys.len());
    for key in keys {
        let Frame::Bulk(key) = key else { continue };
        // PTTL first: a key that expires between two reads is read as gone
        // by the later one, never half there.
        let at = match db.execute(&[name(b"PTTL"), key.clone()]) {
            Frame::Integer(ms) if ms >= 0 => Some(Bytes::from(
                now_unix_ms.saturating_add(ms as u64).to_string(),
            )),
            Frame::Integer(-1) => None,
            _ => continue, // -2: gone
        };
        match db.execute(&[name(b"GET"), key.clone()]) {
            Frame::Bulk(value) => {
                let mut set = vec![name(b"SET"), key, value];
                if let Some(at) = at {
                    set.extend([name(b"PXAT"), at]);
                }
                commands.push(set);
            }
            // Not a string: a list (the only other type).
            Frame::Error(_) => {
                let range = [name(b"LRANGE"), key.clone(), name(b"0"), name(b"-1")];
                let Frame::Array(items) = db.execute(&range) else {
                    continue;
                };
                // Like Redis's rewrite, in batches: one huge command would
                // exceed what a reader accepts in one array.
                for batch in items.chunks(ITEMS_PER_COMMAND) {
                    let mut push = vec![name(b"RPUSH"), key.clone()];
                    push.extend(batch.iter().filter_map(|item| match item {
                        Frame::Bulk(item) => Some(item.clone()),
                        _ => None,
                    }));
                    commands.push(push);
                }
                if let Some(at) = at {
                    commands.push(vec![name(b"PEXPIREAT"), key, at]);
                }
            }
            _ => {} // gone
        }
    }
    commands
}
// ANCHOR_END: snapshot

/// How many list items one `RPUSH` of a [`snapshot`] carries at most
/// (Redis's `AOF_REWRITE_ITEMS_PER_CMD`).
pub const ITEMS_PER_COMMAND: usize = 64;

/// Accepts clients on `listener` and serves each on a task of its own, every
/// command going through `aof`, every pub/sub command through `broker`;
/// runs the expiry sweep every 100 ms; under [`Fsync::EverySec`] starts a
/// thread that calls [`Aof::sync`] once a second. Runs until the listener
/// fails.
///
/// Commands: PING, ECHO, QUIT, HELLO [2|3], SUBSCRIBE, UNSUBSCRIBE,
/// PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and BGREWRITEAOF (an [`Aof::rewrite`]
/// on a thread of its own) here; everything else goes to [`Aof::execute`].
/// A failure to log a write is answered
/// `-ERR append-only file: ...` and the connection is closed: that write is
/// not acknowledged. A subscriber that the broker
/// disconnects (it fell behind) is closed within [`KICK_CHECK`].
pub async fn serve(
    listener: TcpListener,
    db: Arc<Db>,
    aof: Arc<Aof>,
    broker: Arc<Broker>,
) -> io::Result<()> {
    if aof.policy() == Fsync::EverySec {
        let aof = Arc::clone(&aof);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(1));
                if let Err(e) = aof.sync() {
                    eprintln!("append-only file: fsync failed: {e}");
                }
            }
        });
    }
    {
        let db = Arc::clone(&db);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_millis(100));
            loop {
                ticks.tick().await;
                db.sweep_expired();
            }
        });
    }
    let rewriting = Arc::new(AtomicBool::new(false));
    loop {
        let (socket, peer) = listener.accept().await?;
        let _ = socket.set_nodelay(true);
        let mut client = Client {
            db: Arc::clone(&db),
            aof: Arc::clone(&aof),
            broker: Arc::clone(&broker),
            rewriting: Arc::clone(&rewriting),
            protocol: Protocol::Resp2,
            subscriber: None,
        };
        tokio::spawn(async move {
            if let Err(e) = client.run(socket).await {
                eprintln!("client {peer}: {e}");
            }
        });
    }
}

/// How often a connection whose writes are stuck (its client does not
/// read) checks whether the broker has disconnected it.
pub const KICK_CHECK: Duration = Duration::from_millis(50);

/// One connection's state.
struct Client {
    db: Arc<Db>,
    aof: Arc<Aof>,
    broker: Arc<Broker>,
    /// Whether a BGREWRITEAOF is running (one at a time, server-wide).
    rewriting: Arc<AtomicBool>,
    protocol: Protocol,
    /// Created at the first SUBSCRIBE, kept until the connection closes.
    subscriber: Option<Subscriber>,
}

/// What woke a connection up.
enum Event {
    /// The socket has bytes to read (or is closed).
    Readable(io::Result<()>),
    /// A message for this subscriber, or `None`: it was disconnected.
    Message(Option<Message>),
}

// ANCHOR: connection
impl Client {
    /// Chapter 23's connection loop: decode every complete request, execute
    /// each, write all the replies at once; and, between requests, the
    /// messages of the channels this client is subscribed to.
    async fn run(&mut self, socket: TcpStream) -> io::Result<()> {
        let max_request = Config::default().max_request;
        let mut limits = resp::Limits::default();
        limits.max_bulk_len = limits.max_bulk_len.min(max_request);
        let mut input = BytesMut::with_capacity(16 * 1024);
        let mut output = BytesMut::with_capacity(16 * 1024);
        loop {
            let close = self.execute_all(&mut input, &mut output, &limits, max_request);
            if !self.write_all(&socket, &mut output).await? {
                eprintln!("a subscriber fell behind: closing its connection");
                return Ok(());
            }
            if close {
                return Ok(());
            }
            match self.next_event(&socket).await {
                Event::Readable(ready) => {
                    ready?;
                    match socket.try_read_buf(&mut input) {
                        Ok(0) => return Ok(()),
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e),
                    }
                }
                Event::Message(Some(message)) => {
                    let (channel, payload) =
                        (Frame::Bulk(message.channel), Frame::Bulk(message.payload));
                    let push = match message.pattern {
                        None => push("message", vec![channel, payload]),
                        Some(pattern) => {
                            push("pmessage", vec![Frame::Bulk(pattern), channel, payload])
                        }
                    };
                    resp::encode(&push, self.protocol, &mut output);
                }
                Event::Message(None) => {
                    eprintln!("a subscriber fell behind: closing its connection");
                    return Ok(());
                }
            }
        }
    }

    /// Waits until the socket is readable or, for a subscriber, a message
    /// comes: whichever is first. Both futures are cancel-safe, so the one
    /// that loses the race loses nothing.
    async fn next_event(&mut self, socket: &TcpStream) -> Event {
        let mut readable = pin!(socket.readable());
        let Some(subscriber) = self.subscriber.as_mut() else {
            return Event::Readable(readable.await);
        };
        let mut message = pin!(subscriber.recv());
        poll_fn(|cx| {
            if let Poll::Ready(message) = message.as_mut().poll(cx) {
                return Poll::Ready(Event::Message(message));
            }
            readable.as_mut().poll(cx).map(Event::Readable)
        })
        .await
    }

    /// Writes `output` to the socket. Returns `Ok(false)` if the client is
    /// a subscriber that the broker disconnected meanwhile: a client that
    /// does not read would otherwise keep this task waiting for ever.
    async fn write_all(&self, socket: &TcpStream, output: &mut BytesMut) -> io::Result<bool> {
        while !output.is_empty() {
            if self.disconnected() {
                return Ok(false);
            }
            match tokio::time::timeout(KICK_CHECK, socket.writable()).await {
                Err(_) => continue, // still not writable: check again
                Ok(ready) => ready?,
            }
            match socket.try_write(output) {
                Ok(n) => output.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(!self.disconnected())
    }

    fn disconnected(&self) -> bool {
        self.subscriber
            .as_ref()
            .is_some_and(Subscriber::is_disconnected)
    }
    // ANCHOR_END: connection

    /// Executes every complete request in `input`, appending the replies to
    /// `output`. Returns whether to close the connection after writing them.
    fn execute_all(
        &mut self,
        input: &mut BytesMut,
        output: &mut BytesMut,
        limits: &resp::Limits,
        max_request: usize,
    ) -> bool {
        loop {
            match resp::decode(input, limits) {
                Ok(Some(request)) => {
                    let (replies, quit) = self.execute(request);
                    for reply in &replies {
                        resp::encode(reply, self.protocol, output);
                    }
                    if quit {
                        return true;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let reply = Frame::Error(format!("ERR {e}"));
                    resp::encode(&reply, self.protocol, output);
                    return true;
                }
            }
        }
        if input.len() > max_request {
            let reply = Frame::Error("ERR Protocol error: request too large".into());
            resp::encode(&reply, self.protocol, output);
            return true;
        }
        false
    }

    /// Whether the client is in RESP2's subscribed mode: subscribed to a
    /// channel or a pattern, on a connection that has no other way to tell
    /// pushed messages from replies.
    fn subscribed_mode(&self) -> bool {
        self.protocol == Protocol::Resp2
            && self
                .subscriber
                .as_ref()
                .is_some_and(|s| !s.channels().is_empty() || !s.patterns().is_empty())
    }

    // ANCHOR: commands
    /// One request: its replies (SUBSCRIBE a b has one per channel), and
    /// whether to close the connection after them.
    fn execute(&mut self, request: Frame) -> (Vec<Frame>, bool) {
        let Frame::Array(items) = request else {
            return (vec![error("ERR Protocol error: expected an array")], false);
        };
        let mut args = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Frame::Bulk(arg) => args.push(arg),
                _ => {
                    return (
                        vec![error("ERR Protocol error: expected a bulk string")],
                        false,
                    );
                }
            }
        }
        let Some(name) = args.first() else {
            return (vec![Frame::Array(Vec::new())], false);
        };
        let name = name.to_ascii_lowercase();
        let allowed_while_subscribed = matches!(
            name.as_slice(),
            b"subscribe"
                | b"unsubscribe"
                | b"psubscribe"
                | b"punsubscribe"
                | b"ping"
                | b"quit"
                | b"reset"
        );
        if self.subscribed_mode() && !allowed_while_subscribed {
            return (
                vec![error(&format!(
                    "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / \
                     QUIT / RESET are allowed in this context",
                    String::from_utf8_lossy(&name)
                ))],
                false,
            );
        }
        let reply = match (name.as_slice(), args.len()) {
            // In subscribed mode, PING answers with an array (RESP2 cannot
            // tell a +PONG from a pushed message otherwise).
            (b"ping", 1 | 2) if self.subscribed_mode() => {
                let message = args.get(1).cloned().unwrap_or_default();
                Frame::Array(vec![bulk("pong"), Frame::Bulk(message)])
            }
            (b"ping", 1) => Frame::Simple("PONG".into()),
            (b"ping" | b"echo", 2) => Frame::Bulk(args[1].clone()),
            (b"quit", _) => return (vec![Frame::Simple("OK".into())], true),
            (b"hello", _) => self.hello(&args),
            (b"subscribe", 2..) => return (self.subscribe(Kind::Channel, &args[1..]), false),
            (b"unsubscribe", _) => return (self.unsubscribe(Kind::Channel, &args[1..]), false),
            (b"psubscribe", 2..) => return (self.subscribe(Kind::Pattern, &args[1..]), false),
            (b"punsubscribe", _) => return (self.unsubscribe(Kind::Pattern, &args[1..]), false),
            (b"publish", 3) => {
                let receivers = self.broker.publish(&args[1], args[2].clone());
                Frame::Integer(i64::try_from(receivers).unwrap_or(i64::MAX))
            }
            (b"bgrewriteaof", 1) => self.bgrewriteaof(),
            (b"subscribe" | b"psubscribe" | b"publish", _) => error(&format!(
                "ERR wrong number of arguments for '{}' command",
                String::from_utf8_lossy(&name)
            )),
            _ => match self.aof.execute(&self.db, &args, unix_ms()) {
                Ok(reply) => reply,
                Err(e) => {
                    eprintln!("append-only file: {e}");
                    return (vec![error(&format!("ERR append-only file: {e}"))], true);
                }
            },
        };
        (vec![reply], false)
    }

    // ANCHOR: bgrewriteaof
    /// `BGREWRITEAOF`: starts [`Aof::rewrite`] on a thread of its own and
    /// answers at once; clients go on being served while it runs.
    fn bgrewriteaof(&self) -> Frame {
        if self.rewriting.swap(true, Ordering::SeqCst) {
            return error("ERR Background append only file rewriting already in progress");
        }
        let (db, aof, rewriting) = (
            Arc::clone(&self.db),
            Arc::clone(&self.aof),
            Arc::clone(&self.rewriting),
        );
        std::thread::spawn(move || {
            match aof.rewrite(&db, unix_ms(), || {}) {
                Ok(done) => eprintln!(
                    "append-only file rewritten: {} bytes before, {} after",
                    done.before, done.after
                ),
                // The old log is intact: nothing is lost, only not compacted.
                Err(e) => eprintln!("append-only file: rewrite failed: {e}"),
            }
            rewriting.store(false, Ordering::SeqCst);
        });
        Frame::Simple("Background append only file rewriting started".into())
    }
    // ANCHOR_END: bgrewriteaof

    /// `SUBSCRIBE channel...` or `PSUBSCRIBE pattern...`: one reply per
    /// channel or pattern, with the number of subscriptions after it.
    fn subscribe(&mut self, kind: Kind, names: &[Bytes]) -> Vec<Frame> {
        let broker = &self.broker;
        let subscriber = self
            .subscriber
            .get_or_insert_with(|| Subscriber::new(Arc::clone(broker)));
        names
            .iter()
            .map(|name| {
                let count = match kind {
                    Kind::Channel => subscriber.subscribe(name.clone()),
                    Kind::Pattern => subscriber.psubscribe(name.clone()),
                };
                push(
                    kind.subscribe(),
                    vec![Frame::Bulk(name.clone()), count_frame(count)],
                )
            })
            .collect()
    }

    /// `UNSUBSCRIBE [channel...]` or `PUNSUBSCRIBE [pattern...]`: from those
    /// named, or from all of them; one reply per channel or pattern.
    fn unsubscribe(&mut self, kind: Kind, names: &[Bytes]) -> Vec<Frame> {
        let Some(subscriber) = self.subscriber.as_mut() else {
            return vec![push(kind.unsubscribe(), vec![Frame::Null, count_frame(0)])];
        };
        let names = match (names.is_empty(), kind) {
            (false, _) => names.to_vec(),
            (true, Kind::Channel) => subscriber.channels().to_vec(),
            (true, Kind::Pattern) => subscriber.patterns().to_vec(),
        };
        if names.is_empty() {
            let count = subscriber.channels().len() + subscriber.patterns().len();
            return vec![push(
                kind.unsubscribe(),
                vec![Frame::Null, count_frame(count)],
            )];
        }
        names
            .into_iter()
            .map(|name| {
                let count = match kind {
                    Kind::Channel => subscriber.unsubscribe(&name),
                    Kind::Pattern => subscriber.punsubscribe(&name),
                };
                push(
                    kind.unsubscribe(),
                    vec![Frame::Bulk(name), count_frame(count)],
                )
            })
            .collect()
    }
    // ANCHOR_END: commands

    /// `HELLO [2|3]`: switches the protocol; replies with a map (RESP3) or a
    /// flat array (RESP2) describing the server.
    fn hello(&mut self, args: &[Bytes]) -> Frame {
        match args.get(1).map(|v| v.as_ref()) {
            None => {}
            Some(b"2") => self.protocol = Protocol::Resp2,
            Some(b"3") => self.protocol = Protocol::Resp3,
            Some(_) => return error("NOPROTO unsupported protocol version"),
        }
        let proto = if self.protocol == Protocol::Resp3 {
            3
        } else {
            2
        };
        Frame::Map(vec![
            (bulk("server"), bulk("redis")),
            (bulk("version"), bulk("7.0.15")),
            (bulk("proto"), Frame::Integer(proto)),
            (bulk("mode"), bulk("standalone")),
            (bulk("role"), bulk("master")),
            (bulk("modules"), Frame::Array(Vec::new())),
        ])
    }
}

/// What a (un)subscription names.
#[derive(Clone, Copy)]
enum Kind {
    Channel,
    Pattern,
}

impl Kind {
    fn subscribe(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Pattern => "psubscribe",
        }
    }

    fn unsubscribe(self) -> &'static str {
        match self {
            Kind::Channel => "unsubscribe",
            Kind::Pattern => "punsubscribe",
        }
    }
}

/// A pub/sub frame: RESP3 sends it as a push (`>`), RESP2 as an array
/// (`resp::encode` writes a push as an array on a RESP2 connection).
fn push(kind: &str, mut items: Vec<Frame>) -> Frame {
    items.insert(0, bulk(kind));
    Frame::Push(items)
}

fn count_frame(count: usize) -> Frame {
    Frame::Integer(i64::try_from(count).unwrap_or(i64::MAX))
}

fn bulk(text: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

fn error(message: &str) -> Frame {
    Frame::Error(message.replace(['\r', '\n'], " "))
}
