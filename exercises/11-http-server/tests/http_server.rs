//! The specification of exercise 11: an HTTP/1.1 server on real sockets.
//!
//! Each test starts your `serve` on `127.0.0.1:0`, serving a fresh temporary
//! directory (`public/`, with a `secret.txt` next to it that no request may
//! reach), and talks to it over raw TCP: the requests are bytes written by
//! hand, exactly as a client would send them, and the responses are parsed
//! here. Every wait has a time limit. The tests of timeouts run on tokio's
//! paused clock, so a minute of waiting takes no real time.

use std::net::SocketAddr;
use std::time::Duration;

use exercise_11::{Config, HELLO, MAX_HEADERS, serve};
use testkit::{LIMIT, block_on, block_on_paused};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, sleep, timeout};

/// How long a client waits for a response. A loopback round trip takes well
/// under a millisecond; this is shorter than the watchdog so that a failure
/// names what was missing.
const WAIT: Duration = Duration::from_secs(4);
/// The timeouts of every test's server (on the paused clock where they are
/// tested, so they cost no real time).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

const SECRET: &str = "TOP SECRET: this file is outside the root\n";

// ---------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------

#[test]
fn get_root_answers_200_with_the_greeting() {
    block_on(LIMIT, "a 200 response to GET /", || async {
        let server = start(|_| {}).await;
        let mut client = server.connect().await;
        client.send("GET / HTTP/1.1\r\nHost: test\r\n\r\n").await;
        let reply = client.response("GET / is answered").await;
        assert_eq!(reply.status, 200, "GET / answers 200 OK");
        assert_eq!(reply.text(), HELLO, "the body of GET / is HELLO");
        assert_eq!(
            reply.header("content-length"),
            Some(HELLO.len().to_string().as_str()),
            "Content-Length is the body's length in bytes"
        );
    });
}

#[test]
fn every_response_has_a_date_in_imf_fixdate_format() {
    block_on(LIMIT, "a Date header", || async {
        let server = start(|_| {}).await;
        let mut client = server.connect().await;
        client
            .send("GET /nowhere HTTP/1.1\r\nHost: test\r\n\r\n")
            .await;
        let reply = client.response("a 404 response").await;
        let date = reply
            .header("date")
            .expect("every response carries a Date header (use write_response from response.rs)");
        assert_imf_fixdate(date);
    });
}

#[test]
fn serves_files_from_the_root_directory() {
    block_on(LIMIT, "files served under /files/", || async {
        let server = start(|_| {}).await;
        let mut client = server.connect().await;
        client
            .send("GET /files/hello.txt HTTP/1.1\r\nHost: test\r\n\r\n")
            .await;
        let reply = client.response("GET /files/hello.txt is answered").await;
        assert_eq!(reply.status, 200, "an existing file is served with 200");
        assert_eq!(
            reply.text(),
            "hello, file\n",
            "the body is the file's content"
        );
        assert_eq!(
            reply.header("content-type"),
            Some("text/plain; charset=utf-8"),
            "a .txt file has the type response::content_type gives it"
        );
        client
            .send("GET /files/sub/nested.txt?v=2 HTTP/1.1\r\nHost: test\r\n\r\n")
            .await;
        let reply = client
            .response("GET /files/sub/nested.txt?v=2 is answered")
            .await;
        assert_eq!(
            (reply.status, reply.text().as_str()),
            (200, "nested\n"),
            "a file in a subdirectory is served too, and the query string (?v=2) is ignored"
        );
    });
}

#[test]
fn decodes_percent_escapes_in_file_names() {
    block_on(LIMIT, "a%20b.txt served", || async {
        let server = start(|_| {}).await;
        let mut client = server.connect().await;
        client
            .send("GET /files/a%20b.txt HTTP/1.1\r\nHost: test\r\n\r\n")
            .await;
        let reply = client.response("GET /files/a%20b.txt is answered").await;
        assert_eq!(
            (reply.status, reply.text().as_str()),
            (200, "spaced\n"),
            "%20 is a space: /files/a%20b.txt is the file `a b.txt` (percent-decode the path)"
        );
    });
}

#[test]
fn missing_files_and_unknown_paths_get_404() {
    block_on(LIMIT, "404 responses", || async {
        let server = start(|_| {}).await;
        let mut client = server.connect().await;
        for (target, why) in [
            ("/files/nope.txt", "a file that does not exist"),
            ("/files/sub", "a directory (only regular files are served)"),
            ("/nowhere", "a path no route matches"),
        ] {
            client
                .send(format!("GET {target} HTTP/1.1\r\nHost: test\r\n\r\n"))
                .await;
            let reply = client.response("a 404 response").await;
            assert_eq!(
                reply.status, 404,
                "GET {target}: {why} is answered with 404"
            );
        }
    });
}

#[test]
fn post_echo_returns_the_body() {
    block_on(LIMIT, "the body echoed", || async {
        let server = start(|_| {}).await;
        let mut client = server.connect().await;
        client
            .send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\nhello world")
            .await;
        let reply = client.response("POST /echo is answered").await;
        assert_eq!(reply.status, 200, "POST /echo answers 200");
        assert_eq!(
            reply.text(),
            "hello world",
            "POST /echo sends the request's body back"
        );
    });
}

#[test]
fn post_echo_decodes_a_chunked_body() {
    block_on(LIMIT, "a chunked body decoded and echoed", || async {
        let server = start(|_| {}).await;
        let mut client = server.connect().await;
        client
            .send(
                "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
                 5\r\nhello\r\n\
                 1;note=\"an extension\"\r\n \r\n\
                 A\r\n0123456789\r\n\
                 0\r\nX-Checksum: 42\r\n\r\n",
            )
            .await;
        let reply = client
            .response("POST /echo with a chunked body is answered")
            .await;
        assert_eq!(
            (reply.status, reply.text().as_str()),
            (200, "hello 0123456789"),
            "the chunks `hello`, ` ` (with a chunk extension) and `0123456789` (size A, hex) \
             make the body `hello 0123456789`; the trailer field X-Checksum is ignored"
        );
        assert_eq!(
            reply.header("content-length"),
            Some("16"),
            "the response has the Content-Length of the decoded body"
        );
        client.send("GET / HTTP/1.1\r\nHost: test\r\n\r\n").await;
        let reply = client
            .response("the next request after a chunked body")
            .await;
        assert_eq!(
            reply.status, 200,
            "after the chunked body and its trailers, the connection serves the next request"
        );
    });
}

#[test]
fn head_sends_the_headers_of_get_and_no_body() {
    block_on(LIMIT, "HEAD answered without a body", || async {
        let server = start(|_| {}).await;
        let mut client = server.connect().await;
        // HEAD, then GET on the same connection: if HEAD's response carried a
        // body, its bytes would be read as the start of the second response.
        client
            .send("HEAD /files/hello.txt HTTP/1.1\r\nHost: test\r\n\r\nGET / HTTP/1.1\r\nHost: test\r\n\r\n")
            .await;
        let head = client
            .response_to_head("HEAD /files/hello.txt is answered")
            .await;
        assert_eq!(head.status, 200, "HEAD of an existing file answers 200");
        assert_eq!(
            head.header("content-length"),
            Some("12"),
            "HEAD's Content-Length is the length GET would send (the file has 12 bytes)"
        );
        let get = client.response("GET / after HEAD is answered").await;
        assert_eq!(
            (get.status, get.text().as_str()),
            (200, HELLO),
            "the response after HEAD's must start right after HEAD's headers: a HEAD \
             response has no body"
        );
    });
}

#[test]
fn other_methods_get_405_with_allow() {
    block_on(LIMIT, "405 responses with Allow", || async {
        let server = start(|_| {}).await;
        let mut client = server.connect().await;
        for (request, allowed) in [
            (
                "DELETE / HTTP/1.1\r\nHost: test\r\n\r\n",
                ["GET", "HEAD"].as_slice(),
            ),
            (
                "GET /echo HTTP/1.1\r\nHost: test\r\n\r\n",
                ["POST"].as_slice(),
            ),
            (
                "PUT /files/hello.txt HTTP/1.1\r\nHost: test\r\nContent-Length: 1\r\n\r\nx",
                ["GET", "HEAD"].as_slice(),
            ),
        ] {
            client.send(request).await;
            let reply = client.response("a 405 response").await;
            let line = request.lines().next().unwrap_or_default();
            assert_eq!(
                reply.status, 405,
                "`{line}`: a known path with a method it does not accept is 405"
            );
            let allow = reply.header("allow").unwrap_or_default().to_owned();
            let mut listed: Vec<&str> = allow.split(',').map(str::trim).collect();
            listed.sort();
            assert_eq!(
                listed, allowed,
                "`{line}`: the Allow header lists the methods the path accepts, got {allow:?}"
            );
        }
        client.send("GET / HTTP/1.1\r\nHost: test\r\n\r\n").await;
        assert_eq!(
            client.response("GET / after the 405s").await.status,
            200,
            "a 405 does not end the connection"
        );
    });
}

// ---------------------------------------------------------------------------
// Path traversal
// ---------------------------------------------------------------------------

#[test]
fn refuses_dot_dot_segments() {
    block_on(LIMIT, "`..` refused", || async {
        let server = start(|_| {}).await;
        for target in [
            "/files/../secret.txt",
            "/files/sub/../../secret.txt",
            "/files/sub/../hello.txt",
        ] {
            server
                .expect_refused(target, "a path with a `..` segment")
                .await;
        }
    });
}

#[test]
fn refuses_percent_encoded_dot_dot() {
    block_on(LIMIT, "`%2e%2e` refused", || async {
        let server = start(|_| {}).await;
        for target in [
            "/files/%2e%2e/secret.txt",
            "/files/%2E%2E%2Fsecret.txt",
            "/files/..%2fsecret.txt",
            "/files/sub%2F..%2F..%2Fsecret.txt",
        ] {
            server
                .expect_refused(
                    target,
                    "a path whose percent-decoded form has a `..` segment",
                )
                .await;
        }
    });
}

#[test]
fn refuses_absolute_paths() {
    block_on(LIMIT, "absolute paths refused", || async {
        let server = start(|_| {}).await;
        let secret = server.secret_path();
        let encoded = secret.replace('/', "%2F");
        for target in [format!("/files//{secret}"), format!("/files/%2F{encoded}")] {
            server
                .expect_refused(
                    &target,
                    "an absolute path (`/files//...` or `/files/%2F...`)",
                )
                .await;
        }
        server
            .expect_refused(
                "/files/sub%5C..%5C..%5Csecret.txt",
                "a path with a backslash (%5C)",
            )
            .await;
    });
}

// ---------------------------------------------------------------------------
// Connections: keep-alive, pipelining, split writes
// ---------------------------------------------------------------------------

#[test]
fn keeps_the_connection_alive_between_requests() {
    block_on(LIMIT, "three requests on one connection", || async {
        let server = start(|_| {}).await;
        let mut client = server.connect().await;
        for i in 1..=3 {
            client.send("GET / HTTP/1.1\r\nHost: test\r\n\r\n").await;
            let reply = client
                .response("a response on a kept-alive connection")
                .await;
            assert_eq!(
                reply.status, 200,
                "request {i} of 3 on one HTTP/1.1 connection is answered: keep the connection \
                 open after a response unless the request said `Connection: close`"
            );
            assert!(
                !reply.has_token("connection", "close"),
                "a response that keeps the connection alive must not say `Connection: close`"
            );
        }
    });
}

#[test]
fn answers_pipelined_requests_in_order() {
    block_on(
        LIMIT,
        "three pipelined requests answered in order",
        || async {
            let server = start(|_| {}).await;
            let mut client = server.connect().await;
            client
                .send(
                    "GET / HTTP/1.1\r\nHost: test\r\n\r\n\
                 POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 6\r\n\r\nsecond\
                 GET /files/hello.txt HTTP/1.1\r\nHost: test\r\n\r\n",
                )
                .await;
            for expected in [HELLO, "second", "hello, file\n"] {
                let reply = client.response("a response to pipelined requests").await;
                assert_eq!(
                    (reply.status, reply.text().as_str()),
                    (200, expected),
                    "three requests sent in one write (GET /, POST /echo, GET /files/hello.txt) get \
                 three responses, in order: keep the bytes after one request for the next"
                );
            }
        },
    );
}

#[test]
fn parses_a_request_split_into_small_writes() {
    block_on_paused(LIMIT, "a request sent in pieces answered once", || async {
        let server = start(|_| {}).await;
        let mut client = server.connect().await;
        let request = "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nsplit";
        for piece in request.as_bytes().chunks(3) {
            client.send(piece).await;
            sleep(Duration::from_millis(50)).await;
        }
        let reply = client
            .response("the request sent 3 bytes at a time is answered")
            .await;
        assert_eq!(
            (reply.status, reply.text().as_str()),
            (200, "split"),
            "a request may arrive in many pieces (here 3 bytes each, 50 ms apart): parse \
             again when more bytes arrive (httparse says Status::Partial until the head is whole)"
        );
    });
}

#[test]
fn connection_close_ends_the_connection_after_the_response() {
    block_on(
        LIMIT,
        "the connection closed after Connection: close",
        || async {
            let server = start(|_| {}).await;
            let mut client = server.connect().await;
            client
                .send("GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
                .await;
            let reply = client
                .response("the response to a request with Connection: close")
                .await;
            assert_eq!(reply.status, 200, "the request is answered first");
            assert!(
                reply.has_token("connection", "close"),
                "the response to a request with `Connection: close` says `Connection: close` too"
            );
            client
                .expect_closed(
                    WAIT,
                    "after answering `Connection: close`, the server closes the connection",
                )
                .await;
        },
    );
}

#[test]
fn http_1_0_closes_unless_keep_alive_is_asked_for() {
    block_on(LIMIT, "HTTP/1.0 connections", || async {
        let server = start(|_| {}).await;
        let mut client = server.connect().await;
        client
            .send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .await;
        let reply = client
            .response("an HTTP/1.0 request with Connection: keep-alive")
            .await;
        assert_eq!(
            reply.status, 200,
            "HTTP/1.0 requests are served (Host is optional in 1.0)"
        );
        client.send("GET / HTTP/1.0\r\n\r\n").await;
        let reply = client.response("a second HTTP/1.0 request").await;
        assert_eq!(
            reply.status, 200,
            "HTTP/1.0 with `Connection: keep-alive` keeps the connection open for the next request"
        );
        client
            .expect_closed(WAIT, "an HTTP/1.0 request without `Connection: keep-alive` closes the connection after its response")
            .await;
    });
}

#[test]
fn serves_other_clients_while_one_is_mid_request() {
    block_on(LIMIT, "a second client served", || async {
        let server = start(|_| {}).await;
        let mut slow = server.connect().await;
        slow.send("GET / HTTP/1.1\r\nHo").await;
        let mut other = server.connect().await;
        other.send("GET / HTTP/1.1\r\nHost: test\r\n\r\n").await;
        let reply = other
            .response("a client is answered while another one's request is half sent")
            .await;
        assert_eq!(
            reply.status, 200,
            "each connection is served in its own task"
        );
    });
}

// ---------------------------------------------------------------------------
// Request smuggling and malformed requests
// ---------------------------------------------------------------------------

#[test]
fn refuses_two_different_content_lengths() {
    block_on(
        LIMIT,
        "400 and close for conflicting Content-Length",
        || async {
            let server = start(|_| {}).await;
            server
            .expect_400_and_close(
                "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nContent-Length: 11\r\n\r\nhello world",
                "two Content-Length fields that differ (5 and 11): one server would read 5 bytes, \
                 another 11, and the rest becomes a smuggled request",
            )
            .await;
        },
    );
}

#[test]
fn refuses_content_length_with_transfer_encoding() {
    block_on(LIMIT, "400 and close for CL + TE", || async {
        let server = start(|_| {}).await;
        server
            .expect_400_and_close(
                "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /files/hello.txt HTTP/1.1\r\nHost: test\r\n\r\n",
                "Content-Length and Transfer-Encoding together (the classic request smuggling \
                 attack, RFC 9112 section 6.3)",
            )
            .await;
    });
}

#[test]
fn refuses_a_content_length_that_is_not_a_number() {
    block_on(LIMIT, "400 for a bad Content-Length", || async {
        let server = start(|_| {}).await;
        for value in ["-1", "+5", "5, 5", "0x10", "abc"] {
            server
                .expect_400_and_close(
                    &format!(
                        "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: {value}\r\n\r\nhello"
                    ),
                    &format!("`Content-Length: {value}`: only plain decimal digits are a length"),
                )
                .await;
        }
    });
}

#[test]
fn refuses_transfer_encodings_it_cannot_frame() {
    block_on(LIMIT, "400 for TE without final chunked", || async {
        let server = start(|_| {}).await;
        server
            .expect_400_and_close(
                "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip\r\n\r\nhello",
                "`Transfer-Encoding: gzip` (chunked is not the last coding: the body's end cannot be found)",
            )
            .await;
        server
            .expect_400_and_close(
                "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                "Transfer-Encoding in an HTTP/1.0 request (1.0 has no transfer codings)",
            )
            .await;
    });
}

#[test]
fn refuses_a_malformed_request_or_missing_host() {
    block_on(LIMIT, "400 for malformed requests", || async {
        let server = start(|_| {}).await;
        for (request, why) in [
            (
                "GARBAGE\r\n\r\n",
                "a request line without target and version",
            ),
            (
                "GET / HTTP/1.1\r\nHost: test\r\nBad Header: x\r\n\r\n",
                "a header name with a space",
            ),
            (
                "GET / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding : chunked\r\n\r\n",
                "a space before a header's colon",
            ),
            ("GET / HTTP/1.1\r\n\r\n", "an HTTP/1.1 request without Host"),
            (
                "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                "an HTTP/1.1 request with two Host fields",
            ),
        ] {
            server.expect_400_and_close(request, why).await;
        }
    });
}

#[test]
fn refuses_a_malformed_chunk() {
    block_on(LIMIT, "400 for a bad chunk", || async {
        let server = start(|_| {}).await;
        for (chunks, why) in [
            (
                "zz\r\nhello\r\n0\r\n\r\n",
                "a chunk size that is not hexadecimal",
            ),
            ("5\r\nhelloXX0\r\n\r\n", "chunk data not followed by \\r\\n"),
        ] {
            server
                .expect_400_and_close(
                    &format!("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n{chunks}"),
                    why,
                )
                .await;
        }
    });
}

#[test]
fn answers_505_to_other_http_versions() {
    block_on(LIMIT, "505 for HTTP/2.0", || async {
        let server = start(|_| {}).await;
        let mut client = server.connect().await;
        client.send("GET / HTTP/2.0\r\nHost: test\r\n\r\n").await;
        let reply = client.response("a request with version HTTP/2.0").await;
        assert_eq!(
            reply.status, 505,
            "a version other than HTTP/1.0 and HTTP/1.1 is answered with 505"
        );
        client
            .expect_closed(WAIT, "after a 505 the server closes the connection")
            .await;
    });
}

// ---------------------------------------------------------------------------
// Size limits
// ---------------------------------------------------------------------------

#[test]
fn a_head_over_max_head_gets_431_before_it_ends() {
    block_on(LIMIT, "431 for a long head", || async {
        let server = start(|c| c.max_head = 1024).await;
        let mut client = server.connect().await;
        // 2 KiB of one header field, and the head never ends.
        client
            .send(format!(
                "GET / HTTP/1.1\r\nHost: test\r\nX-Long: {}",
                "a".repeat(2048)
            ))
            .await;
        let reply = client
            .response("a head of more than max_head = 1024 bytes, still unfinished")
            .await;
        assert_eq!(
            reply.status, 431,
            "with max_head = 1024, a head of 2 KiB (and counting) is answered with 431 at once, \
             without waiting for its end"
        );
        client
            .expect_closed(WAIT, "after a 431 the server closes the connection")
            .await;
    });
}

#[test]
fn too_many_header_fields_get_431() {
    block_on(LIMIT, "431 for too many fields", || async {
        let server = start(|_| {}).await;
        let mut client = server.connect().await;
        let fields: String = (0..=MAX_HEADERS)
            .map(|i| format!("X-{i}: {i}\r\n"))
            .collect();
        client
            .send(format!("GET / HTTP/1.1\r\nHost: test\r\n{fields}\r\n"))
            .await;
        let reply = client.response("a head with too many fields").await;
        assert_eq!(
            reply.status, 431,
            "a request with more than MAX_HEADERS = {MAX_HEADERS} fields is answered with 431"
        );
    });
}

#[test]
fn a_body_announced_over_max_body_gets_413_without_reading_it() {
    block_on(LIMIT, "413 for a large Content-Length", || async {
        let server = start(|c| c.max_body = 1024).await;
        let mut client = server.connect().await;
        // A gigabyte announced, a few bytes sent: the server must not wait for the rest.
        client
            .send(
                "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 1073741824\r\n\r\nthe start",
            )
            .await;
        let reply = client
            .response("a request announcing a 1 GiB body, of which 9 bytes were sent")
            .await;
        assert_eq!(
            reply.status, 413,
            "with max_body = 1024, `Content-Length: 1073741824` is answered with 413 at once, \
             before (and instead of) reading the body"
        );
        client
            .expect_closed(WAIT, "after a 413 the server closes the connection")
            .await;
    });
}

#[test]
fn a_chunked_body_over_max_body_gets_413_without_reading_it_all() {
    block_on(LIMIT, "413 for a large chunked body", || async {
        let server = start(|c| c.max_body = 1024).await;
        let mut client = server.connect().await;
        let chunk = format!("200\r\n{}\r\n", "x".repeat(0x200));
        // Three chunks of 512 bytes, and the body goes on (no last chunk).
        client
            .send(format!(
                "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}{chunk}{chunk}"
            ))
            .await;
        let reply = client
            .response("a chunked body that passed max_body and has not ended")
            .await;
        assert_eq!(
            reply.status, 413,
            "with max_body = 1024, a chunked body is answered with 413 as soon as its chunks \
             add up to more than 1024 bytes, without waiting for its last chunk"
        );
        let mut client = server.connect().await;
        client
            .send("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\nxx")
            .await;
        let reply = client.response("a chunk announcing 4 GiB").await;
        assert_eq!(
            reply.status, 413,
            "a chunk whose size line announces more than max_body (FFFFFFFF) is answered with \
             413 before its data is read"
        );
    });
}

// ---------------------------------------------------------------------------
// Timeouts (paused clock)
// ---------------------------------------------------------------------------

#[test]
fn closes_a_kept_alive_connection_after_idle_timeout() {
    block_on_paused(LIMIT, "an idle connection closed", || async {
        let server = start(|_| {}).await;
        let mut client = server.connect().await;
        client.send("GET / HTTP/1.1\r\nHost: test\r\n\r\n").await;
        client.response("GET / is answered").await;
        let started = Instant::now();
        client
            .expect_closed(
                IDLE_TIMEOUT + WAIT,
                "with idle_timeout = 60 s, a connection with no new request for 60 s is closed",
            )
            .await;
        let waited = started.elapsed();
        assert!(
            waited >= IDLE_TIMEOUT - Duration::from_secs(1),
            "the server closed an idle connection after {waited:?}: it must wait the whole \
             idle_timeout (60 s) for the next request"
        );
    });
}

#[test]
fn the_header_timeout_starts_with_the_requests_first_byte() {
    block_on_paused(
        LIMIT,
        "a request 30 s after the last one served",
        || async {
            let server = start(|_| {}).await;
            let mut client = server.connect().await;
            client.send("GET / HTTP/1.1\r\nHost: test\r\n\r\n").await;
            client.response("GET / is answered").await;
            // Quiet for longer than header_timeout, shorter than idle_timeout.
            sleep(Duration::from_secs(30)).await;
            client.send("GET / HTTP/1.1\r\nHost: test\r\n\r\n").await;
            let reply = client
                .response("a request sent 30 s after the previous response")
                .await;
            assert_eq!(
                reply.status, 200,
                "between requests the connection may be quiet for up to idle_timeout (60 s): \
             header_timeout (10 s) counts from the first byte of a request's head"
            );
        },
    );
}

#[test]
fn a_head_trickled_slower_than_header_timeout_gets_408() {
    block_on_paused(LIMIT, "408 for a slowloris client", || async {
        let server = start(|_| {}).await;
        let mut client = server.connect().await;
        let started = Instant::now();
        client.send("GET / HTTP/1.1\r\nHost: test\r\n").await;
        // One more header byte every 2 s: never idle, never done.
        let mut trickle = "X-Slow: ".repeat(20).into_bytes().into_iter();
        let reply = loop {
            let Some(byte) = trickle.next() else {
                panic!(
                    "a client trickling its head one byte every 2 s was still connected after \
                     {:?}: with header_timeout = 10 s, the whole head must arrive within 10 s \
                     of its first byte (a deadline for the head, not a timeout per read)",
                    started.elapsed()
                );
            };
            if let Some(reply) = client.response_within(Duration::from_secs(2)).await {
                break reply;
            }
            client.send_or_closed(&[byte]).await;
        };
        let elapsed = started.elapsed();
        assert_eq!(
            reply.status, 408,
            "a head not complete within header_timeout gets 408 Request Timeout"
        );
        assert!(
            elapsed <= HEADER_TIMEOUT + Duration::from_secs(2),
            "with header_timeout = 10 s, the 408 came after {elapsed:?}"
        );
        client
            .expect_closed(WAIT, "after a 408 the server closes the connection")
            .await;
    });
}

// ---------------------------------------------------------------------------
// The test's server and client
// ---------------------------------------------------------------------------

struct Server {
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

/// Starts `serve` on `127.0.0.1:0`, serving a fresh directory:
/// `public/hello.txt`, `public/a b.txt`, `public/sub/nested.txt`, and
/// `secret.txt` outside `public/`.
async fn start(adjust: impl FnOnce(&mut Config)) -> Server {
    let dir = tempfile::tempdir().expect("creating a temporary directory");
    let public = dir.path().join("public");
    std::fs::create_dir_all(public.join("sub")).expect("creating public/sub");
    for (path, text) in [
        (public.join("hello.txt"), "hello, file\n"),
        (public.join("a b.txt"), "spaced\n"),
        (public.join("sub/nested.txt"), "nested\n"),
        (dir.path().join("secret.txt"), SECRET),
    ] {
        std::fs::write(&path, text).expect("writing a test file");
    }
    let mut config = Config::new(&public);
    config.header_timeout = HEADER_TIMEOUT;
    config.idle_timeout = IDLE_TIMEOUT;
    adjust(&mut config);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding 127.0.0.1:0");
    let addr = listener.local_addr().expect("the listener's address");
    tokio::spawn(serve(listener, config));
    Server { addr, dir }
}

impl Server {
    async fn connect(&self) -> Client {
        match timeout(WAIT, TcpStream::connect(self.addr)).await {
            Ok(Ok(stream)) => Client {
                stream,
                buf: Vec::new(),
                sent: Vec::new(),
            },
            Ok(Err(e)) => panic!(
                "connecting to the server failed: {e} (did `serve` stop or panic? it must accept \
                 connections forever)"
            ),
            Err(_) => panic!("connecting to the server took more than {WAIT:?}"),
        }
    }

    /// The absolute path of `secret.txt`, without its leading `/`.
    fn secret_path(&self) -> String {
        let path = self.dir.path().join("secret.txt");
        path.to_string_lossy().trim_start_matches('/').to_owned()
    }

    /// GET `target` on a new connection must be refused with 400 and must
    /// not leak the secret.
    async fn expect_refused(&self, target: &str, why: &str) {
        let mut client = self.connect().await;
        client
            .send(format!("GET {target} HTTP/1.1\r\nHost: test\r\n\r\n"))
            .await;
        let reply = client.response(&format!("GET {target}")).await;
        assert!(
            !reply.text().contains("TOP SECRET"),
            "GET {target} sent the secret file, which is outside the root: {why} must be refused"
        );
        assert_eq!(
            reply.status, 400,
            "GET {target}: {why} could leave the root directory and is refused with 400 \
             (check the path after percent-decoding it)"
        );
    }

    /// `request` on a new connection must get 400 and the connection closed.
    async fn expect_400_and_close(&self, request: &str, why: &str) {
        let mut client = self.connect().await;
        client.send(request).await;
        let reply = client.response(why).await;
        assert_eq!(
            reply.status,
            400,
            "{why}: the request must be refused with 400 (it got {} {:?})",
            reply.status,
            reply.text()
        );
        assert!(
            reply.has_token("connection", "close"),
            "{why}: the 400 response says `Connection: close`"
        );
        client
            .expect_closed(WAIT, &format!("{why}: after the 400 the server closes the connection, since the rest of the stream cannot be trusted"))
            .await;
    }
}

/// A response as the test read it.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    #[track_caller]
    fn header(&self, name: &str) -> Option<&str> {
        let mut found = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name));
        let value = found.next().map(|(_, v)| v.as_str());
        assert!(
            found.next().is_none(),
            "the response has the header {name} more than once"
        );
        value
    }

    #[track_caller]
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.header(name)
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

struct Client {
    stream: TcpStream,
    /// Bytes read but not yet used: the start of the next response.
    buf: Vec<u8>,
    /// What this client sent, for failure messages.
    sent: Vec<String>,
}

impl Client {
    async fn send(&mut self, bytes: impl AsRef<[u8]>) {
        let bytes = bytes.as_ref();
        self.sent.push(String::from_utf8_lossy(bytes).into_owned());
        match timeout(WAIT, self.stream.write_all(bytes)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("sending to the server failed: {e}\n{}", self.transcript()),
            Err(_) => panic!(
                "the server did not take the request within {WAIT:?}\n{}",
                self.transcript()
            ),
        }
    }

    /// Sends, tolerating a connection the server has closed meanwhile.
    async fn send_or_closed(&mut self, bytes: &[u8]) {
        let _ = timeout(WAIT, self.stream.write_all(bytes)).await;
    }

    /// Reads one response to a request other than HEAD; panics, saying
    /// `expected`, if none comes within WAIT.
    async fn response(&mut self, expected: &str) -> Reply {
        match self.read_response(false, WAIT).await {
            Ok(reply) => reply,
            Err(problem) => panic!(
                "expected: {expected}\n  but {problem}\n{}",
                self.transcript()
            ),
        }
    }

    async fn response_to_head(&mut self, expected: &str) -> Reply {
        match self.read_response(true, WAIT).await {
            Ok(reply) => reply,
            Err(problem) => panic!(
                "expected: {expected}\n  but {problem}\n{}",
                self.transcript()
            ),
        }
    }

    /// A response if one arrives within `limit`.
    async fn response_within(&mut self, limit: Duration) -> Option<Reply> {
        self.read_response(false, limit).await.ok()
    }

    async fn read_response(&mut self, to_head: bool, limit: Duration) -> Result<Reply, String> {
        let deadline = Instant::now() + limit;
        loop {
            let mut fields = [httparse::EMPTY_HEADER; 32];
            let mut parsed = httparse::Response::new(&mut fields);
            match parsed.parse(&self.buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let status = parsed.code.unwrap_or_default();
                    let headers: Vec<(String, String)> = parsed
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_owned(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    if status == 100 {
                        self.buf.drain(..len); // 100 Continue: the real response follows
                        continue;
                    }
                    let reply = Reply {
                        status,
                        headers,
                        body: Vec::new(),
                    };
                    let length: usize = reply
                        .header("content-length")
                        .ok_or("the response has no Content-Length header")?
                        .parse()
                        .map_err(|_| "the response's Content-Length is not a number")?;
                    let length = if to_head { 0 } else { length };
                    while self.buf.len() < len + length {
                        self.read_more(deadline, "the response's body").await?;
                    }
                    let body = self.buf[len..len + length].to_vec();
                    self.buf.drain(..len + length);
                    return Ok(Reply { body, ..reply });
                }
                Ok(httparse::Status::Partial) => self.read_more(deadline, "a response").await?,
                Err(e) => {
                    return Err(format!(
                        "the bytes received are not an HTTP response ({e}): {:?}",
                        String::from_utf8_lossy(&self.buf)
                    ));
                }
            }
        }
    }

    async fn read_more(&mut self, deadline: Instant, what: &str) -> Result<(), String> {
        let mut chunk = [0u8; 8192];
        match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
            Ok(Ok(0)) => Err(format!(
                "the server closed the connection while the test waited for {what} (received: {:?})",
                String::from_utf8_lossy(&self.buf)
            )),
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Ok(Err(e)) => Err(format!("reading {what} failed: {e}")),
            Err(_) => Err(format!(
                "no complete {what} arrived in time (received: {:?})",
                String::from_utf8_lossy(&self.buf)
            )),
        }
    }

    /// The server must close the connection within `limit`, sending nothing
    /// more.
    async fn expect_closed(&mut self, limit: Duration, expected: &str) {
        let mut rest = Vec::new();
        let problem = match timeout(limit, self.stream.read_to_end(&mut rest)).await {
            Ok(Ok(_)) if rest.is_empty() && self.buf.is_empty() => return,
            // A reset is a close too.
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
            Ok(_) => format!(
                "the server sent more bytes: {:?}",
                String::from_utf8_lossy(&[self.buf.as_slice(), &rest].concat())
            ),
            Err(_) => format!("the connection was still open after {limit:?}"),
        };
        panic!(
            "expected: {expected}\n  but {problem}\n{}",
            self.transcript()
        );
    }

    fn transcript(&self) -> String {
        let sent: String = self.sent.iter().map(|s| format!("  {s:?}\n")).collect();
        format!("the client had sent:\n{sent}")
    }
}

/// Checks the shape of an IMF-fixdate, such as `Sun, 06 Nov 1994 08:49:37 GMT`.
#[track_caller]
fn assert_imf_fixdate(date: &str) {
    let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = date.split(' ').collect();
    let ok = date.len() == 29
        && parts.len() == 6
        && days.iter().any(|d| parts[0] == format!("{d},"))
        && parts[1].len() == 2
        && parts[1].bytes().all(|b| b.is_ascii_digit())
        && months.contains(&parts[2])
        && parts[3].len() == 4
        && parts[3] >= "2025"
        && parts[4].len() == 8
        && parts[5] == "GMT";
    assert!(
        ok,
        "the Date header must be an IMF-fixdate like `Sun, 06 Nov 1994 08:49:37 GMT`, got {date:?}"
    );
}
