//! The tests of exercise 12. Every upstream server here is a small tokio
//! server written below, on 127.0.0.1:0; the client is a plain TcpStream
//! that writes raw HTTP/1.1. Tests that depend on time (timeouts, health
//! checks, the connection limit, shutdown) run on tokio's paused clock.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exercise_12::http::{self, Body, Header, Headers, RequestHead};
use exercise_12::{
    Config, Mode, append_forwarded_for, is_idempotent, remove_hop_by_hop, serve,
    split_absolute_form,
};
use testkit::{LIMIT, block_on, block_on_paused, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------------------
// Upstream servers
// ---------------------------------------------------------------------------

/// What a test upstream does with a request (health checks aside).
#[derive(Clone, Copy)]
enum Behaviour {
    /// Answers 200 at once, its name as the body.
    Answer,
    /// Answers 200 after this long.
    Delay(Duration),
    /// Reads the request, then closes the connection without a word.
    HangUp,
}

/// A request an upstream received: its head and its body as it arrived.
struct Seen {
    head: RequestHead,
    body: Vec<u8>,
}

struct Upstream {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// What `GET /health` gets: 200 while true, 503 while false.
    healthy: Arc<AtomicBool>,
    health_checks: Arc<AtomicUsize>,
}

impl Upstream {
    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

async fn upstream(name: &'static str, behaviour: Behaviour) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = Upstream {
        addr: listener.local_addr().unwrap(),
        seen: Arc::default(),
        healthy: Arc::new(AtomicBool::new(true)),
        health_checks: Arc::default(),
    };
    let (seen, healthy, checks) = (
        up.seen.clone(),
        up.healthy.clone(),
        up.health_checks.clone(),
    );
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (seen, healthy, checks) = (seen.clone(), healthy.clone(), checks.clone());
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                let Ok(Some(head)) = http::read_request_head(&mut stream).await else {
                    return;
                };
                if head.target == "/health" {
                    checks.fetch_add(1, Ordering::SeqCst);
                    let answer: &[u8] = if healthy.load(Ordering::SeqCst) {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    } else {
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndown"
                    };
                    let _ = stream.get_mut().write_all(answer).await;
                    return;
                }
                let mut body = Vec::new();
                let Ok(framing) = head.body() else { return };
                if http::copy_body(&mut stream, &mut body, framing)
                    .await
                    .is_err()
                {
                    return;
                }
                seen.lock().unwrap().push(Seen { head, body });
                match behaviour {
                    Behaviour::HangUp => return,
                    Behaviour::Delay(d) => sleep(d).await,
                    Behaviour::Answer => {}
                }
                // Hop-by-hop fields in the answer too: the proxy must drop them.
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Upstream: {name}\r\n\
                     Connection: close, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\n\r\n{name}",
                    name.len()
                );
                let _ = stream.get_mut().write_all(answer.as_bytes()).await;
            });
        }
    });
    up
}

/// A TCP echo server: sends back every byte it receives.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = stream.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

/// An address where nothing listens: connecting to it is refused.
async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

// ---------------------------------------------------------------------------
// The proxy and its clients
// ---------------------------------------------------------------------------

struct Proxy {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start(config: Config) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(serve(listener, config, shutdown.clone()));
    Proxy {
        addr,
        shutdown,
        task,
    }
}

/// A reverse proxy in front of `upstreams`; health checks only once an hour.
fn reverse(upstreams: &[&Upstream]) -> Config {
    Config {
        mode: Mode::Reverse {
            upstreams: upstreams.iter().map(|u| u.addr).collect(),
        },
        health_interval: Duration::from_secs(3600),
        ..Config::default()
    }
}

struct Reply {
    status: u16,
    headers: Headers,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads one response (head and body) from a client connection.
async fn read_reply(conn: &mut BufReader<TcpStream>, method: &str) -> Reply {
    let head = http::read_response_head(conn)
        .await
        .unwrap_or_else(|e| panic!("expected a response from the proxy, got: {e}"));
    let mut body = Vec::new();
    let framing = head
        .body(method)
        .expect("a response head with valid framing");
    http::copy_body(conn, &mut body, framing)
        .await
        .unwrap_or_else(|e| panic!("reading the body of a {} response: {e}", head.status));
    Reply {
        status: head.status,
        headers: head.headers,
        body,
    }
}

async fn connect(proxy: SocketAddr) -> BufReader<TcpStream> {
    BufReader::new(
        TcpStream::connect(proxy)
            .await
            .expect("connecting to the proxy"),
    )
}

/// Sends `raw` on a new connection and reads one response.
async fn send(proxy: SocketAddr, raw: &str) -> Reply {
    let mut conn = connect(proxy).await;
    conn.get_mut().write_all(raw.as_bytes()).await.unwrap();
    let method = raw.split(' ').next().unwrap_or("GET");
    read_reply(&mut conn, method).await
}

async fn get(proxy: SocketAddr, path: &str) -> Reply {
    send(
        proxy,
        &format!("GET {path} HTTP/1.1\r\nHost: example\r\n\r\n"),
    )
    .await
}

fn value(headers: &Headers, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

fn names(headers: &Headers) -> Vec<String> {
    headers
        .0
        .iter()
        .map(|h| h.name.to_ascii_lowercase())
        .collect()
}

fn headers(fields: &[(&str, &str)]) -> Headers {
    Headers(
        fields
            .iter()
            .map(|(n, v)| Header {
                name: n.to_string(),
                value: v.as_bytes().to_vec(),
            })
            .collect(),
    )
}

// ---------------------------------------------------------------------------
// The helpers, on their own
// ---------------------------------------------------------------------------

#[test]
fn hop_by_hop_fields_and_those_named_in_connection_are_removed() {
    within(LIMIT, "remove_hop_by_hop to return", || {
        let mut h = headers(&[
            ("Host", "example"),
            ("Connection", "keep-alive, X-Secret"),
            ("X-Secret", "for this hop only"),
            ("Keep-Alive", "timeout=5"),
            ("Proxy-Connection", "keep-alive"),
            ("TE", "trailers"),
            ("Trailer", "X-Checksum"),
            ("Upgrade", "websocket"),
            ("Proxy-Authorization", "Basic dXNlcjpwYXNz"),
            ("Transfer-Encoding", "chunked"),
            ("x-kept", "yes"),
        ]);
        remove_hop_by_hop(&mut h);
        assert_eq!(
            names(&h),
            ["host", "trailer", "transfer-encoding", "x-kept"],
            "remove_hop_by_hop must remove Connection, the fields it names (X-Secret), \
             Keep-Alive, Proxy-Connection, TE, Upgrade and Proxy-Authorization, and keep \
             Trailer, Transfer-Encoding (the body is relayed as it is) and every other field, in order"
        );
    });
}

#[test]
fn x_forwarded_for_is_appended_to_not_overwritten() {
    within(LIMIT, "append_forwarded_for to return", || {
        let mut h = headers(&[
            ("X-Forwarded-For", "203.0.113.7"),
            ("Host", "example"),
            ("x-forwarded-for", "198.51.100.1, 10.0.0.1"),
        ]);
        append_forwarded_for(&mut h, "127.0.0.1".parse().unwrap());
        let all: Vec<_> = h.get_all("x-forwarded-for").collect();
        assert_eq!(
            all,
            [&b"203.0.113.7, 198.51.100.1, 10.0.0.1, 127.0.0.1"[..]],
            "the earlier entries, in order, then the client: one X-Forwarded-For field"
        );

        let mut fresh = headers(&[("Host", "example")]);
        append_forwarded_for(&mut fresh, "::1".parse().unwrap());
        assert_eq!(value(&fresh, "x-forwarded-for").as_deref(), Some("::1"));
    });
}

#[test]
fn only_idempotent_methods_may_be_retried() {
    within(LIMIT, "is_idempotent to return", || {
        for method in ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"] {
            assert!(
                is_idempotent(method),
                "{method} is idempotent (RFC 9110 §9.2.2)"
            );
        }
        for method in ["POST", "PATCH", "CONNECT"] {
            assert!(
                !is_idempotent(method),
                "{method} is not idempotent: never retry it"
            );
        }
    });
}

#[test]
fn absolute_form_targets_split_into_authority_and_origin_form() {
    within(LIMIT, "split_absolute_form to return", || {
        let cases = [
            (
                "http://example.com:8080/a/b?q=1",
                Some(("example.com:8080", "/a/b?q=1")),
            ),
            ("http://example.com/", Some(("example.com:80", "/"))),
            ("http://example.com", Some(("example.com:80", "/"))),
            ("http://example.com?x", Some(("example.com:80", "/?x"))),
            ("HTTP://127.0.0.1:9/x", Some(("127.0.0.1:9", "/x"))),
            ("http://[::1]:8080/v6", Some(("[::1]:8080", "/v6"))),
            ("https://example.com/", None),
            ("/just/a/path", None),
            ("http://user:pw@example.com/", None),
            ("http:///nohost", None),
            ("http://example.com:99999/", None),
        ];
        for (target, expected) in cases {
            let got = split_absolute_form(target);
            let expected = expected.map(|(a, p)| (a.to_owned(), p.to_owned()));
            assert_eq!(got, expected, "split_absolute_form({target:?})");
        }
    });
}

// ---------------------------------------------------------------------------
// Reverse mode
// ---------------------------------------------------------------------------

#[test]
fn reverse_answers_two_requests_on_one_client_connection() {
    block_on(
        LIMIT,
        "two answers on one keep-alive connection",
        || async {
            let a = upstream("alpha", Behaviour::Answer).await;
            let proxy = start(reverse(&[&a])).await;
            let mut conn = connect(proxy.addr).await;
            for round in 1..=2 {
                conn.get_mut()
                    .write_all(b"GET /hello HTTP/1.1\r\nHost: example\r\n\r\n")
                    .await
                    .unwrap();
                let reply = read_reply(&mut conn, "GET").await;
                assert_eq!(reply.status, 200, "request {round}: the upstream's 200");
                assert_eq!(
                    reply.text(),
                    "alpha",
                    "request {round}: the upstream's body"
                );
            }
            assert_eq!(a.count(), 2, "the upstream should have seen both requests");
            let seen = a.seen.lock().unwrap();
            assert_eq!(
                seen[0].head.target, "/hello",
                "the path is forwarded unchanged"
            );
        },
    );
}

#[test]
fn reverse_spreads_requests_round_robin() {
    block_on(LIMIT, "six answers from three upstreams", || async {
        let ups = [
            upstream("a", Behaviour::Answer).await,
            upstream("b", Behaviour::Answer).await,
            upstream("c", Behaviour::Answer).await,
        ];
        let proxy = start(reverse(&[&ups[0], &ups[1], &ups[2]])).await;
        let mut order = Vec::new();
        for _ in 0..6 {
            order.push(get(proxy.addr, "/").await.text());
        }
        let mut first: Vec<_> = order[..3].to_vec();
        assert_eq!(
            &order[3..],
            &first[..],
            "round-robin repeats the same order: {order:?}"
        );
        first.sort();
        assert_eq!(
            first,
            ["a", "b", "c"],
            "each upstream once per round: {order:?}"
        );
    });
}

#[test]
fn refused_upstream_gives_502_bad_gateway() {
    block_on(LIMIT, "a 502 when the upstream refuses", || async {
        let addr = closed_port().await;
        let config = Config {
            mode: Mode::Reverse {
                upstreams: vec![addr],
            },
            health_interval: Duration::from_secs(3600),
            ..Config::default()
        };
        let proxy = start(config).await;
        let reply = get(proxy.addr, "/").await;
        assert_eq!(
            reply.status, 502,
            "connection refused by the only upstream: 502 Bad Gateway"
        );
    });
}

#[test]
fn slow_upstream_gives_504_after_the_upstream_timeout() {
    block_on_paused(LIMIT, "a 504 after upstream_timeout", || async {
        let slow = upstream("slow", Behaviour::Delay(Duration::from_secs(3600))).await;
        let config = Config {
            upstream_timeout: Duration::from_secs(2),
            ..reverse(&[&slow])
        };
        let proxy = start(config).await;
        let started = Instant::now();
        let reply = get(proxy.addr, "/").await;
        let waited = started.elapsed();
        assert_eq!(
            reply.status, 504,
            "an upstream that answers after an hour: 504 Gateway Timeout after upstream_timeout (2 s)"
        );
        assert!(
            waited >= Duration::from_secs(2) && waited < Duration::from_secs(3),
            "the 504 should come after upstream_timeout (2 s), it came after {waited:?}"
        );
    });
}

#[test]
fn get_is_retried_on_the_next_upstream_when_the_connection_drops() {
    block_on(
        LIMIT,
        "two 200s despite an upstream that hangs up",
        || async {
            let flaky = upstream("flaky", Behaviour::HangUp).await;
            let good = upstream("good", Behaviour::Answer).await;
            let proxy = start(reverse(&[&flaky, &good])).await;
            for round in 1..=2 {
                let reply = get(proxy.addr, "/").await;
                assert_eq!(
                    reply.status, 200,
                    "GET {round}: an upstream that closes without answering must be retried on the other one"
                );
                assert_eq!(reply.text(), "good");
            }
            assert!(
                flaky.count() >= 1,
                "round-robin should have sent a GET to the flaky upstream too"
            );
        },
    );
}

#[test]
fn get_is_retried_at_most_once() {
    block_on(LIMIT, "a 502 after two attempts", || async {
        let ups = [
            upstream("x", Behaviour::HangUp).await,
            upstream("y", Behaviour::HangUp).await,
            upstream("z", Behaviour::HangUp).await,
        ];
        let proxy = start(reverse(&[&ups[0], &ups[1], &ups[2]])).await;
        let reply = get(proxy.addr, "/").await;
        assert_eq!(
            reply.status, 502,
            "every upstream hangs up: 502 Bad Gateway"
        );
        let attempts: usize = ups.iter().map(Upstream::count).sum();
        assert_eq!(attempts, 2, "one attempt and one retry, not {attempts}");
    });
}

#[test]
fn post_is_not_retried_when_the_connection_drops() {
    block_on(LIMIT, "one 502 and one 200 for two POSTs", || async {
        let flaky = upstream("flaky", Behaviour::HangUp).await;
        let good = upstream("good", Behaviour::Answer).await;
        let proxy = start(reverse(&[&flaky, &good])).await;
        let post = "POST /orders HTTP/1.1\r\nHost: example\r\nContent-Length: 0\r\n\r\n";
        let mut statuses = vec![
            send(proxy.addr, post).await.status,
            send(proxy.addr, post).await.status,
        ];
        statuses.sort();
        assert_eq!(
            statuses,
            [200, 502],
            "round-robin sends one POST to each upstream; the one that hung up may have \
             processed it, so the client gets 502 instead of a second copy elsewhere"
        );
        assert_eq!(
            good.count(),
            1,
            "the good upstream must see exactly one POST"
        );
    });
}

#[test]
fn upstream_sees_x_forwarded_for_with_the_client_appended() {
    block_on(LIMIT, "an answer", || async {
        let a = upstream("a", Behaviour::Answer).await;
        let proxy = start(reverse(&[&a])).await;
        let reply = send(
            proxy.addr,
            "GET / HTTP/1.1\r\nHost: example\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n",
        )
        .await;
        assert_eq!(reply.status, 200);
        let seen = a.seen.lock().unwrap();
        assert_eq!(
            value(&seen[0].head.headers, "x-forwarded-for").as_deref(),
            Some("203.0.113.7, 127.0.0.1"),
            "the client's address is appended to the list it sent"
        );
    });
}

#[test]
fn hop_by_hop_fields_are_not_forwarded_in_either_direction() {
    block_on(LIMIT, "an answer", || async {
        let a = upstream("a", Behaviour::Answer).await;
        let proxy = start(reverse(&[&a])).await;
        let reply = send(
            proxy.addr,
            "GET / HTTP/1.1\r\nHost: example\r\nConnection: keep-alive, X-Secret\r\n\
             X-Secret: 1\r\nKeep-Alive: timeout=9\r\nTE: trailers\r\n\
             Proxy-Authorization: Basic dXNlcjpwYXNz\r\nX-Kept: yes\r\n\r\n",
        )
        .await;
        assert_eq!(reply.status, 200);
        let seen = a.seen.lock().unwrap();
        let sent = names(&seen[0].head.headers);
        for gone in ["x-secret", "keep-alive", "te", "proxy-authorization"] {
            assert!(
                !sent.contains(&gone.to_owned()),
                "the upstream must not see {gone}: it got {sent:?}"
            );
        }
        assert!(
            sent.contains(&"x-kept".to_owned()),
            "end-to-end fields go through: {sent:?}"
        );
        let back = names(&reply.headers);
        for gone in ["x-hop", "keep-alive"] {
            assert!(
                !back.contains(&gone.to_owned()),
                "the client must not see the upstream's hop-by-hop {gone}: it got {back:?}"
            );
        }
        assert_eq!(value(&reply.headers, "x-upstream").as_deref(), Some("a"));
    });
}

#[test]
fn request_body_with_content_length_reaches_the_upstream_whole() {
    block_on(LIMIT, "an answer to a 1 MiB upload", || async {
        let a = upstream("a", Behaviour::Answer).await;
        let proxy = start(reverse(&[&a])).await;
        let body: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        let mut conn = connect(proxy.addr).await;
        let head = format!(
            "PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let writer = async {
            conn.get_mut().write_all(head.as_bytes()).await.unwrap();
            conn.get_mut().write_all(&body).await.unwrap();
            read_reply(&mut conn, "PUT").await
        };
        assert_eq!(writer.await.status, 200);
        let seen = a.seen.lock().unwrap();
        assert!(
            seen[0].body == body,
            "the upstream should receive the 1 MiB body byte for byte"
        );
    });
}

#[test]
fn chunked_request_body_is_passed_through() {
    block_on(LIMIT, "an answer to a chunked upload", || async {
        let a = upstream("a", Behaviour::Answer).await;
        let proxy = start(reverse(&[&a])).await;
        let reply = send(
            proxy.addr,
            "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        )
        .await;
        assert_eq!(reply.status, 200);
        let seen = a.seen.lock().unwrap();
        assert_eq!(
            seen[0].head.body().unwrap(),
            Body::Chunked,
            "still chunked upstream"
        );
        assert_eq!(
            seen[0].body, b"5\r\nhello\r\n0\r\n\r\n",
            "the chunks, as sent"
        );
    });
}

#[test]
fn malformed_requests_get_400() {
    block_on(LIMIT, "400 answers", || async {
        let a = upstream("a", Behaviour::Answer).await;
        let proxy = start(reverse(&[&a])).await;
        let garbage = send(proxy.addr, "HELLO THERE\r\n\r\n").await;
        assert_eq!(garbage.status, 400, "not an HTTP request line: 400");
        let smuggle = send(
            proxy.addr,
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        )
        .await;
        assert_eq!(
            smuggle.status, 400,
            "both Content-Length and Transfer-Encoding: 400"
        );
        assert_eq!(a.count(), 0, "neither request may reach the upstream");
    });
}

#[test]
fn large_response_reaches_the_client_before_the_upstream_finishes() {
    block_on(LIMIT, "a streamed 4 MiB response", || async {
        const TOTAL: usize = 4 << 20;
        const FIRST: usize = 256 << 10;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (release, released) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut stream = BufReader::new(stream);
            let _ = http::read_request_head(&mut stream).await;
            let data: Vec<u8> = (0..TOTAL).map(|i| (i % 253) as u8).collect();
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {TOTAL}\r\n\r\n");
            let out = stream.get_mut();
            out.write_all(head.as_bytes()).await.unwrap();
            out.write_all(&data[..FIRST]).await.unwrap();
            // The rest only once the client has seen the first part.
            let _ = released.await;
            let _ = out.write_all(&data[FIRST..]).await;
        });
        let config = Config {
            mode: Mode::Reverse {
                upstreams: vec![addr],
            },
            health_interval: Duration::from_secs(3600),
            ..Config::default()
        };
        let proxy = start(config).await;
        let mut conn = connect(proxy.addr).await;
        conn.get_mut()
            .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let head = http::read_response_head(&mut conn);
        let head = timeout(Duration::from_secs(2), head).await.expect(
            "no response head within 2 s although the upstream sent its head and 256 KiB: \
             the proxy seems to wait for the whole body before it answers (stream it)",
        );
        assert_eq!(head.unwrap().status, 200);
        let mut first = vec![0; FIRST];
        timeout(Duration::from_secs(2), conn.read_exact(&mut first))
            .await
            .expect("the first 256 KiB should reach the client before the upstream sends the rest")
            .unwrap();
        release.send(()).unwrap();
        let mut rest = Vec::new();
        let got = timeout(Duration::from_secs(3), async {
            let mut buf = vec![0; 64 << 10];
            while rest.len() < TOTAL - FIRST {
                let n = conn.read(&mut buf).await.unwrap();
                assert!(
                    n > 0,
                    "the connection closed after {} bytes",
                    FIRST + rest.len()
                );
                rest.extend_from_slice(&buf[..n]);
            }
        })
        .await;
        assert!(got.is_ok(), "the rest of the body should follow");
        first.extend_from_slice(&rest);
        assert!(
            first.iter().enumerate().all(|(i, &b)| b == (i % 253) as u8),
            "the body arrived changed"
        );
    });
}

// ---------------------------------------------------------------------------
// Health checks
// ---------------------------------------------------------------------------

fn with_health_checks(upstreams: &[&Upstream]) -> Config {
    Config {
        health_interval: Duration::from_secs(1),
        health_path: "/health".to_owned(),
        ..reverse(upstreams)
    }
}

#[test]
fn dead_upstream_leaves_the_rotation_after_a_failed_health_check() {
    block_on_paused(LIMIT, "answers from the healthy upstream only", || async {
        let a = upstream("a", Behaviour::Answer).await;
        let b = upstream("b", Behaviour::Answer).await;
        b.healthy.store(false, Ordering::SeqCst);
        let proxy = start(with_health_checks(&[&a, &b])).await;
        sleep(Duration::from_millis(1500)).await;
        assert!(
            b.health_checks.load(Ordering::SeqCst) >= 1,
            "a health check after health_interval (1 s)"
        );
        for _ in 0..4 {
            assert_eq!(get(proxy.addr, "/").await.text(), "a");
        }
        assert_eq!(
            b.count(),
            0,
            "an upstream that failed its health check must get no requests"
        );
    });
}

#[test]
fn upstream_returns_to_the_rotation_after_a_successful_health_check() {
    block_on_paused(LIMIT, "answers from both upstreams again", || async {
        let a = upstream("a", Behaviour::Answer).await;
        let b = upstream("b", Behaviour::Answer).await;
        b.healthy.store(false, Ordering::SeqCst);
        let proxy = start(with_health_checks(&[&a, &b])).await;
        sleep(Duration::from_millis(1500)).await;
        b.healthy.store(true, Ordering::SeqCst);
        sleep(Duration::from_millis(1500)).await;
        let mut texts = Vec::new();
        for _ in 0..4 {
            texts.push(get(proxy.addr, "/").await.text());
        }
        assert!(
            texts.contains(&"b".to_owned()),
            "b passed a health check again and must get requests again: {texts:?}"
        );
    });
}

// ---------------------------------------------------------------------------
// Forward mode
// ---------------------------------------------------------------------------

#[test]
fn forward_rewrites_absolute_form_to_origin_form() {
    block_on(LIMIT, "an answer through the forward proxy", || async {
        let a = upstream("origin", Behaviour::Answer).await;
        let proxy = start(Config::default()).await;
        let reply = send(
            proxy.addr,
            &format!(
                "GET http://{}/path?q=1 HTTP/1.1\r\nHost: {}\r\nProxy-Connection: keep-alive\r\n\r\n",
                a.addr, a.addr
            ),
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.text(), "origin");
        let seen = a.seen.lock().unwrap();
        assert_eq!(
            seen[0].head.target, "/path?q=1",
            "the origin gets the origin-form target"
        );
        assert_eq!(
            value(&seen[0].head.headers, "host").as_deref(),
            Some(a.addr.to_string().as_str()),
            "Host is the target's authority"
        );
        assert!(
            seen[0].head.headers.get("proxy-connection").is_none(),
            "Proxy-Connection is hop-by-hop"
        );
    });
}

#[test]
fn forward_tunnels_connect_including_bytes_sent_with_the_request() {
    block_on(LIMIT, "an echo through a CONNECT tunnel", || async {
        let echo = echo_server().await;
        let proxy = start(Config::default()).await;
        let mut conn = connect(proxy.addr).await;
        // The first bytes for the tunnel travel in the same packet as the
        // CONNECT head, as a TLS client that does not wait would send them.
        let raw = format!("CONNECT {echo} HTTP/1.1\r\nHost: {echo}\r\n\r\nping\n");
        conn.get_mut().write_all(raw.as_bytes()).await.unwrap();
        let head = http::read_response_head(&mut conn)
            .await
            .expect("a response to CONNECT");
        assert_eq!(head.status, 200, "CONNECT to a listening server: 200");
        let mut buf = [0; 5];
        let echoed = timeout(Duration::from_secs(2), conn.read_exact(&mut buf)).await;
        assert!(
            matches!(echoed, Ok(Ok(_))),
            "no echo of \"ping\\n\", sent right after the CONNECT head, within 2 s: bytes \
             the proxy read past the head (in its BufReader) must go into the tunnel too"
        );
        assert_eq!(&buf, b"ping\n");
        conn.get_mut().write_all(b"pong\n").await.unwrap();
        conn.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong\n", "the tunnel carries bytes both ways");
    });
}

// ---------------------------------------------------------------------------
// Connection limit and shutdown
// ---------------------------------------------------------------------------

#[test]
fn connection_limit_keeps_extra_clients_waiting_until_one_leaves() {
    block_on_paused(
        LIMIT,
        "the third client served after the first left",
        || async {
            let a = upstream("a", Behaviour::Answer).await;
            let proxy = start(Config {
                max_connections: 2,
                ..reverse(&[&a])
            })
            .await;
            let request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
            let mut first = connect(proxy.addr).await;
            let mut second = connect(proxy.addr).await;
            for conn in [&mut first, &mut second] {
                conn.get_mut().write_all(request).await.unwrap();
                assert_eq!(read_reply(conn, "GET").await.status, 200);
            }
            // Both stay open (keep-alive): the limit is reached.
            let mut third = connect(proxy.addr).await;
            third.get_mut().write_all(request).await.unwrap();
            let early = timeout(Duration::from_secs(5), http::read_response_head(&mut third)).await;
            assert!(
                early.is_err(),
                "with max_connections = 2 and two clients connected, a third must wait"
            );
            drop(first);
            let late = timeout(Duration::from_secs(5), read_reply(&mut third, "GET")).await;
            let late = late.expect("once a client leaves, the waiting one must be served");
            assert_eq!(late.status, 200);
        },
    );
}

#[test]
fn shutdown_finishes_the_request_in_flight_then_stops() {
    block_on_paused(
        LIMIT,
        "the slow request answered, then serve returns",
        || async {
            let slow = upstream("slow", Behaviour::Delay(Duration::from_secs(5))).await;
            let proxy = start(reverse(&[&slow])).await;
            // An idle keep-alive client: shutdown closes it.
            let mut idle = connect(proxy.addr).await;
            idle.get_mut()
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Warm: 1\r\n\r\n")
                .await
                .unwrap();
            assert_eq!(read_reply(&mut idle, "GET").await.status, 200);

            let mut busy = connect(proxy.addr).await;
            busy.get_mut()
                .write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            sleep(Duration::from_secs(1)).await;
            assert_eq!(
                slow.count(),
                2,
                "the slow request should have reached the upstream"
            );
            proxy.shutdown.cancel();
            sleep(Duration::from_millis(100)).await;
            assert!(
                !proxy.task.is_finished(),
                "serve returned while a request was still in flight: it must wait for it"
            );

            let reply = read_reply(&mut busy, "GET").await;
            assert_eq!(
                reply.status, 200,
                "a request in flight at shutdown is answered"
            );
            assert_eq!(reply.text(), "slow");
            let mut byte = [0; 1];
            let n = timeout(Duration::from_secs(1), idle.read(&mut byte)).await;
            assert!(
                matches!(n, Ok(Ok(0))),
                "an idle keep-alive connection is closed at shutdown"
            );
            let done = timeout(Duration::from_secs(1), proxy.task).await;
            let done = done.expect("serve should return once the last request is answered");
            assert!(matches!(done, Ok(Ok(()))), "serve returns Ok(())");
            assert!(
                TcpStream::connect(proxy.addr).await.is_err(),
                "after shutdown the proxy no longer accepts connections"
            );
        },
    );
}
