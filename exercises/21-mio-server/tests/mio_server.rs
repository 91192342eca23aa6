//! The tests of exercise 21: a real server on its own thread, real TCP
//! clients, every test under a watchdog.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use exercise_21::{Config, Server, Stopper, bind};

/// How long a client waits for one reply before the test fails: far more
/// than a loopback round trip takes, even on a loaded machine.
const REPLY_WAIT: Duration = Duration::from_secs(2);

/// A server running on its own thread.
struct Running {
    addr: SocketAddr,
    stopper: Stopper,
    thread: JoinHandle<io::Result<()>>,
}

#[track_caller]
fn start(config: Config) -> Running {
    let listener = bind("127.0.0.1:0".parse().unwrap(), 1024).expect("bind(127.0.0.1:0) failed");
    start_on(listener, config)
}

#[track_caller]
fn start_on(listener: mio::net::TcpListener, config: Config) -> Running {
    let server = Server::new(listener, config).expect("Server::new failed");
    let addr = server.local_addr().expect("local_addr failed");
    let stopper = server.stopper();
    let thread = thread::spawn(move || server.run());
    Running {
        addr,
        stopper,
        thread,
    }
}

impl Running {
    #[track_caller]
    fn stop(self) {
        self.stopper.stop().expect("Stopper::stop failed");
        let result = self.thread.join().expect("the server's thread panicked");
        result.expect("Server::run returned an error instead of Ok(()) after stop");
    }
}

/// A server that also answers UDP; returns its UDP address too.
#[track_caller]
fn start_with_udp(config: Config) -> (Running, SocketAddr) {
    let listener = bind("127.0.0.1:0".parse().unwrap(), 1024).expect("bind(127.0.0.1:0) failed");
    let udp =
        mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).expect("binding UDP failed");
    let udp_addr = udp.local_addr().unwrap();
    let server = Server::new(listener, config)
        .and_then(|server| server.with_udp(udp))
        .expect("Server::new(..).with_udp(..) failed");
    let addr = server.local_addr().expect("local_addr failed");
    let stopper = server.stopper();
    let thread = thread::spawn(move || server.run());
    (
        Running {
            addr,
            stopper,
            thread,
        },
        udp_addr,
    )
}

#[track_caller]
fn connect(addr: SocketAddr) -> (TcpStream, BufReader<TcpStream>) {
    let stream = TcpStream::connect(addr).expect("connecting to the server failed");
    stream.set_read_timeout(Some(REPLY_WAIT)).unwrap();
    stream.set_write_timeout(Some(REPLY_WAIT)).unwrap();
    let reader = BufReader::new(stream.try_clone().unwrap());
    (stream, reader)
}

#[track_caller]
fn read_line(reader: &mut BufReader<TcpStream>, what: &str) -> String {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) => panic!("the server closed the connection; expected {what}"),
        Ok(_) => line,
        Err(e) => panic!("no reply within {REPLY_WAIT:?} ({e}); expected {what}"),
    }
}

#[track_caller]
fn round_trip(stream: &mut TcpStream, reader: &mut BufReader<TcpStream>, line: &str) -> String {
    stream
        .write_all(line.as_bytes())
        .expect("sending a line failed");
    read_line(reader, &format!("a reply to {line:?}"))
}

#[test]
fn echoes_each_line_back() {
    testkit::within(testkit::LIMIT, "two lines echoed", || {
        let server = start(Config::default());
        let (mut stream, mut reader) = connect(server.addr);
        assert_eq!(round_trip(&mut stream, &mut reader, "hello\n"), "hello\n");
        assert_eq!(
            round_trip(&mut stream, &mut reader, "world\r\n"),
            "world\n",
            "\\r\\n ends a line too"
        );
        server.stop();
    });
}

#[test]
fn upper_and_unknown_commands_get_their_replies() {
    testkit::within(testkit::LIMIT, "/upper shouts, /shout is unknown", || {
        let server = start(Config::default());
        let (mut stream, mut reader) = connect(server.addr);
        assert_eq!(
            round_trip(&mut stream, &mut reader, "/upper hello mio\n"),
            "HELLO MIO\n"
        );
        assert_eq!(
            round_trip(&mut stream, &mut reader, "/shout hi\n"),
            "ERR unknown command\n"
        );
        server.stop();
    });
}

#[test]
fn quit_says_bye_and_closes_the_connection() {
    testkit::within(testkit::LIMIT, "BYE, then end of stream", || {
        let server = start(Config::default());
        let (mut stream, mut reader) = connect(server.addr);
        assert_eq!(round_trip(&mut stream, &mut reader, "/quit\n"), "BYE\n");
        let mut rest = Vec::new();
        match reader.read_to_end(&mut rest) {
            Ok(_) => assert!(rest.is_empty(), "nothing may follow BYE, got {rest:?}"),
            Err(e) => {
                panic!("after BYE the server must close the connection, but it stayed open ({e})")
            }
        }
        server.stop();
    });
}

#[test]
fn a_line_split_over_many_writes_is_answered_once_complete() {
    testkit::within(
        testkit::LIMIT,
        "one reply for a line sent byte by byte",
        || {
            let server = start(Config::default());
            let (mut stream, mut reader) = connect(server.addr);
            stream.set_nodelay(true).unwrap();
            for byte in b"split line" {
                stream.write_all(&[*byte]).unwrap();
                thread::sleep(Duration::from_millis(1));
            }
            stream.write_all(b"\n").unwrap();
            assert_eq!(
                read_line(&mut reader, "the split line echoed"),
                "split line\n"
            );
            assert_eq!(round_trip(&mut stream, &mut reader, "next\n"), "next\n");
            server.stop();
        },
    );
}

#[test]
fn rejects_a_long_line_and_goes_on_with_the_next() {
    testkit::within(
        testkit::LIMIT,
        "ERR for a long line, then the next line echoed",
        || {
            let server = start(Config {
                max_line: 16,
                ..Config::default()
            });
            let (mut stream, mut reader) = connect(server.addr);
            // The error comes before the line ends: the server must not wait.
            stream.write_all(&[b'x'; 100]).unwrap();
            assert_eq!(
                read_line(&mut reader, "ERR line too long"),
                "ERR line too long (max 16 bytes)\n"
            );
            stream.write_all(&[b'x'; 1000]).unwrap();
            assert_eq!(round_trip(&mut stream, &mut reader, "\nshort\n"), "short\n");
            // Exactly max_line bytes, with \r\n, is fine.
            let line = format!("{}\r\n", "y".repeat(16));
            assert_eq!(
                round_trip(&mut stream, &mut reader, &line),
                format!("{}\n", "y".repeat(16))
            );
            server.stop();
        },
    );
}

#[test]
fn answers_thousands_of_lines_sent_in_one_write() {
    testkit::within(
        testkit::LIMIT,
        "3,000 replies to 3,000 lines sent at once",
        || {
            let server = start(Config::default());
            let (mut stream, mut reader) = connect(server.addr);
            // About 60 KB at once: more than one read of a small buffer takes.
            // Edge-triggered readiness announces it once; data left unread is
            // never announced again.
            let lines: String = (0..3000)
                .map(|i| format!("line number {i:>6} of many\n"))
                .collect();
            stream.write_all(lines.as_bytes()).unwrap();
            for i in 0..3000 {
                let expected = format!("line number {i:>6} of many\n");
                let got = read_line(
                    &mut reader,
                    &format!("reply {i} of 3000 (is data left unread in the socket?)"),
                );
                assert_eq!(got, expected);
            }
            server.stop();
        },
    );
}

#[test]
fn a_client_reading_late_gets_megabytes_of_replies_whole() {
    const LATE_LINES: usize = 12_000;
    testkit::within(
        testkit::LIMIT,
        "12 MB of replies arriving complete and in order",
        || {
            // Small kernel buffers on both ends (accepted sockets inherit
            // the listener's send buffer size): the kernel holds a few KB of
            // replies, so nearly all of the 12 MB must wait in the server's
            // output buffer and go out on WRITABLE events.
            let listener =
                bind("127.0.0.1:0".parse().unwrap(), 1024).expect("bind(127.0.0.1:0) failed");
            socket2::SockRef::from(&listener)
                .set_send_buffer_size(4096)
                .unwrap();
            // Room for everything: this client is slow, not hostile.
            let server = start_on(
                listener,
                Config {
                    max_output: 64 << 20,
                    ..Config::default()
                },
            );
            let client =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            client.set_recv_buffer_size(4096).unwrap();
            client
                .connect(&server.addr.into())
                .expect("connecting to the server failed");
            let stream: TcpStream = client.into();
            stream.set_read_timeout(Some(REPLY_WAIT)).unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            // 12,000 lines of 1,000 bytes in one write, sent before reading
            // a single reply.
            let mut writer = stream.try_clone().unwrap();
            let sender = thread::spawn(move || {
                let lines: String = (0..LATE_LINES)
                    .map(|i| format!("{i:>6}{}\n", "z".repeat(994)))
                    .collect();
                writer.write_all(lines.as_bytes())
            });
            // Only once everything is sent, read.
            sender.join().unwrap().expect("sending the lines failed");
            for i in 0..LATE_LINES {
                let got = read_line(
                    &mut reader,
                    &format!(
                        "reply {i} of {LATE_LINES} (are unwritten replies kept and sent on WRITABLE?)"
                    ),
                );
                let expected = format!("{i:>6}{}\n", "z".repeat(994));
                assert!(
                    got == expected,
                    "reply {i} is wrong or missing: got {} bytes starting {:?}",
                    got.len(),
                    &got[..got.len().min(12)]
                );
            }
            server.stop();
        },
    );
}

#[test]
fn serves_three_hundred_clients_at_once() {
    testkit::within(testkit::LIMIT, "300 connected clients served", || {
        let server = start(Config::default());
        let mut clients: Vec<_> = (0..300).map(|_| connect(server.addr)).collect();
        for round in 0..3 {
            for (i, (stream, _)) in clients.iter_mut().enumerate() {
                stream
                    .write_all(format!("client {i} round {round}\n").as_bytes())
                    .unwrap();
            }
            for (i, (_, reader)) in clients.iter_mut().enumerate() {
                let got = read_line(reader, &format!("the reply to client {i} of 300"));
                assert_eq!(
                    got,
                    format!("client {i} round {round}\n"),
                    "a reply went to the wrong client"
                );
            }
        }
        server.stop();
    });
}

#[test]
fn clients_that_come_and_go_get_their_own_replies() {
    testkit::within(
        testkit::LIMIT,
        "each client gets its own replies while others leave",
        || {
            let server = start(Config::default());
            let mut staying = connect(server.addr);
            for i in 0..50 {
                // A client connects, talks, leaves; its token is free again.
                let (mut stream, mut reader) = connect(server.addr);
                assert_eq!(
                    round_trip(&mut stream, &mut reader, &format!("visitor {i}\n")),
                    format!("visitor {i}\n")
                );
                drop((stream, reader));
                let line = format!("still here {i}\n");
                assert_eq!(round_trip(&mut staying.0, &mut staying.1, &line), line);
            }
            server.stop();
        },
    );
}

#[test]
fn a_client_that_never_reads_is_cut_off_and_does_not_stall_the_others() {
    testkit::within(
        testkit::LIMIT,
        "the non-reading client disconnected, the other served",
        || {
            let server = start(Config {
                max_output: 64 * 1024,
                ..Config::default()
            });
            let hog = TcpStream::connect(server.addr).unwrap();
            hog.set_write_timeout(Some(REPLY_WAIT)).unwrap();
            let mut writer = hog.try_clone().unwrap();
            // Sends up to 64 MB of lines and never reads a reply.
            let sender = thread::spawn(move || {
                let line = [b"/upper ".as_slice(), &[b'a'; 1000], b"\n"].concat();
                let mut sent = 0usize;
                while sent < 64 << 20 {
                    if let Err(e) = writer.write_all(&line) {
                        return Err((sent, e));
                    }
                    sent += line.len();
                }
                Ok(sent)
            });
            // Meanwhile, another client is served.
            let (mut stream, mut reader) = connect(server.addr);
            for i in 0..20 {
                let line = format!("polite {i}\n");
                assert_eq!(
                    round_trip(&mut stream, &mut reader, &line),
                    line,
                    "a client that never reads must not hold up the others"
                );
            }
            match sender.join().unwrap() {
                Ok(sent) => panic!(
                    "sent {sent} bytes without reading a reply and was never disconnected: the server buffers replies without limit"
                ),
                Err((_, e))
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::TimedOut =>
                {
                    panic!(
                        "the client's writes blocked for {REPLY_WAIT:?}: the server stopped reading it instead of disconnecting it once max_output was passed"
                    )
                }
                Err(_) => {} // reset or broken pipe: disconnected, as it should be
            }
            let line = "after the hog\n";
            assert_eq!(round_trip(&mut stream, &mut reader, line), line);
            let _ = hog.shutdown(Shutdown::Both);
            server.stop();
        },
    );
}

#[test]
fn the_port_can_be_bound_again_right_after_a_stop() {
    testkit::within(
        testkit::LIMIT,
        "bind succeeds on the port of a stopped server",
        || {
            let server = start(Config::default());
            let addr = server.addr;
            let (mut stream, mut reader) = connect(addr);
            // /quit: the server closes first, so its side of the connection is
            // left in TIME_WAIT on the server's port.
            assert_eq!(round_trip(&mut stream, &mut reader, "/quit\n"), "BYE\n");
            let mut rest = Vec::new();
            let _ = reader.read_to_end(&mut rest);
            server.stop();
            let again = bind(addr, 128);
            assert!(
                again.is_ok(),
                "binding {addr} again failed ({:?}): is SO_REUSEADDR set before bind?",
                again.err()
            );
        },
    );
}

#[test]
fn stop_ends_run_with_clients_still_connected() {
    testkit::within(testkit::LIMIT, "run returns Ok(()) after stop", || {
        let server = start(Config::default());
        let (mut stream, mut reader) = connect(server.addr);
        assert_eq!(round_trip(&mut stream, &mut reader, "hi\n"), "hi\n");
        server.stop();
        let mut rest = Vec::new();
        let _ = reader.read_to_end(&mut rest);
        assert!(rest.is_empty(), "a stopped server closes its connections");
    });
}

#[track_caller]
fn udp_ask(client: &UdpSocket, server: SocketAddr, request: &[u8]) -> String {
    client.send_to(request, server).expect("send_to failed");
    let mut buf = [0u8; 2048];
    match client.recv_from(&mut buf) {
        Ok((n, from)) => {
            assert_eq!(
                from, server,
                "the reply must come from the server's UDP socket"
            );
            String::from_utf8_lossy(&buf[..n]).into_owned()
        }
        Err(e) => panic!(
            "no reply datagram within {REPLY_WAIT:?} ({e}) to {:?}",
            String::from_utf8_lossy(request)
        ),
    }
}

#[test]
fn answers_each_udp_datagram_with_one_reply() {
    testkit::within(
        testkit::LIMIT,
        "one reply datagram per request datagram",
        || {
            let (server, udp) = start_with_udp(Config {
                max_line: 16,
                ..Config::default()
            });
            let client = UdpSocket::bind("127.0.0.1:0").unwrap();
            client.set_read_timeout(Some(REPLY_WAIT)).unwrap();
            assert_eq!(udp_ask(&client, udp, b"hello\n"), "hello\n");
            assert_eq!(
                udp_ask(&client, udp, b"/upper datagram"),
                "DATAGRAM\n",
                "the \\n is optional in a datagram"
            );
            assert_eq!(
                udp_ask(&client, udp, &[b'x'; 100]),
                "ERR line too long (max 16 bytes)\n"
            );
            // TCP is still served beside UDP.
            let (mut stream, mut reader) = connect(server.addr);
            assert_eq!(
                round_trip(&mut stream, &mut reader, "tcp too\n"),
                "tcp too\n"
            );
            server.stop();
        },
    );
}

#[test]
fn answers_a_burst_of_udp_datagrams() {
    testkit::within(
        testkit::LIMIT,
        "50 replies to 50 datagrams sent at once",
        || {
            let (server, udp) = start_with_udp(Config::default());
            let client = UdpSocket::bind("127.0.0.1:0").unwrap();
            client.set_read_timeout(Some(REPLY_WAIT)).unwrap();
            for i in 0..50 {
                client
                    .send_to(format!("datagram {i}").as_bytes(), udp)
                    .unwrap();
            }
            let mut replies = Vec::new();
            let mut buf = [0u8; 2048];
            for i in 0..50 {
                match client.recv_from(&mut buf) {
                    Ok((n, _)) => replies.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
                    Err(e) => panic!(
                        "got {i} replies of 50, then none for {REPLY_WAIT:?} ({e}): are datagrams read until WouldBlock?"
                    ),
                }
            }
            replies.sort();
            let mut expected: Vec<_> = (0..50).map(|i| format!("datagram {i}\n")).collect();
            expected.sort();
            assert_eq!(replies, expected);
            server.stop();
        },
    );
}
