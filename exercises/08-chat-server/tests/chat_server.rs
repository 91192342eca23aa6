//! The specification of exercise 08: a chat server on real TCP sockets.
//!
//! Each test binds a listener on `127.0.0.1:0`, starts your `serve` on it in
//! a task, and talks to it with ordinary `TcpStream` clients, exactly as `nc`
//! would. The test keeps the other ends of the settings channel and of the
//! shutdown token, so it can change the settings and stop the server. Every
//! read has a time limit, so a missing line fails with a message saying which
//! line was missing and whether your server task is still running.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use exercise_08::{Config, Settings, serve};
use testkit::{LIMIT, block_on};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;

/// How long a client waits for one line (or to send its data). A loopback
/// round trip takes well under a millisecond; this is shorter than the
/// watchdog so that the failure names the missing line.
const WAIT: Duration = Duration::from_secs(4);

/// The watchdog of the tests that move megabytes through a room.
const HEAVY: Duration = Duration::from_secs(15);

const GOODBYE: &str = "* server shutting down";

// ---------------------------------------------------------------------------
// Rooms, nicks and commands
// ---------------------------------------------------------------------------

#[test]
fn greets_each_client_with_the_message_of_the_day() {
    block_on(LIMIT, "a motd line for a new client", || async {
        let server = start(config(), settings("hello, chat", 1024)).await;
        let mut client = server.connect("the client").await;
        assert_eq!(
            client.line("the greeting").await,
            "* motd: hello, chat",
            "right after connecting, a client receives the message of the day"
        );
    });
}

#[test]
fn a_message_reaches_every_member_of_its_room_and_nobody_else() {
    block_on(LIMIT, "a message delivered to its room", || async {
        let server = start(config(), settings("hi", 1024)).await;
        let mut ann = server.member("ann", "rust").await;
        let mut bob = server.member("bob", "rust").await;
        let mut cy = server.member("cy", "go").await;
        let mut dee = server.client("a client in no room").await;
        dee.nick("dee").await;

        ann.send(b"hello, rustaceans\n").await;
        for member in [&mut ann, &mut bob] {
            assert_eq!(
                member.line("ann's message to #rust").await,
                "[rust] ann: hello, rustaceans",
                "every member of the room, the sender included, receives `[ROOM] NICK: TEXT`"
            );
        }
        cy.expect_nothing("cy is in room `go`, not in `rust`").await;
        dee.expect_nothing("dee has joined no room").await;
    });
}

#[test]
fn who_lists_the_members_of_the_room_sorted_under_their_current_nicks() {
    block_on(LIMIT, "replies to /who", || async {
        let server = start(config(), settings("hi", 1024)).await;
        let mut cy = server.member("cy", "lobby").await;
        let _ann = server.member("ann", "lobby").await;
        let _bob = server.member("bob", "lobby").await;
        let _elsewhere = server.member("zed", "attic").await;
        assert_eq!(
            cy.ask("/who\n").await,
            "OK who ann bob cy",
            "/who lists the members of the current room, sorted, the asking client included"
        );
        assert_eq!(
            cy.ask("/nick abe\n").await,
            "OK nick abe",
            "a client may change its nick while in a room"
        );
        assert_eq!(
            cy.ask("/who\n").await,
            "OK who abe ann bob",
            "after /nick, /who lists the member under its new nick only"
        );
        cy.send(b"renamed\n").await;
        assert_eq!(
            cy.line("a message after /nick abe").await,
            "[lobby] abe: renamed",
            "messages carry the sender's current nick"
        );
    });
}

#[test]
fn join_moves_a_client_to_another_room_and_leave_takes_it_out() {
    block_on(LIMIT, "replies to /join and /leave", || async {
        let server = start(config(), settings("hi", 1024)).await;
        let mut ann = server.member("ann", "one").await;
        let mut bob = server.member("bob", "one").await;
        ann.join("two").await;
        assert_eq!(
            bob.ask("/who\n").await,
            "OK who bob",
            "/join of another room leaves the current one first"
        );
        bob.send(b"still in one?\n").await;
        assert_eq!(
            bob.line("bob's message to #one").await,
            "[one] bob: still in one?"
        );
        ann.expect_nothing("ann moved from `one` to `two`").await;

        assert_eq!(
            ann.ask("/leave\n").await,
            "OK left two",
            "/leave names the room it left"
        );
        assert_eq!(
            ann.ask("talking to nobody\n").await,
            "ERR not in a room",
            "after /leave, a message has no room to go to"
        );
        assert_eq!(
            ann.ask("/join one\n").await,
            "OK joined one",
            "after /leave, a client can join a room again"
        );
        assert_eq!(ann.ask("/who\n").await, "OK who ann bob");
    });
}

#[test]
fn commands_out_of_order_get_errors_and_the_connection_stays_open() {
    block_on(LIMIT, "errors for commands out of order", || async {
        let server = start(config(), settings("hi", 1024)).await;
        let mut client = server.client("a new client").await;
        for (line, expected, why) in [
            ("/join rust\n", "ERR set a nick first", "/join before /nick"),
            ("hello?\n", "ERR not in a room", "a message before /join"),
            ("/who\n", "ERR not in a room", "/who outside a room"),
            ("/leave\n", "ERR not in a room", "/leave outside a room"),
        ] {
            assert_eq!(client.ask(line).await, expected, "{why}");
        }
        client.nick("ann").await;
        client.join("rust").await;
    });
}

#[test]
fn bad_input_gets_errors_and_the_connection_stays_open() {
    block_on(LIMIT, "errors for bad input", || async {
        let server = start(config(), settings("hi", 1024)).await;
        let mut client = server.client("a new client").await;
        let too_long_name = format!("/nick {}\n", "n".repeat(33));
        for (line, expected, why) in [
            ("/nick\n", "ERR invalid name", "/nick without a name"),
            (
                "/nick two words\n",
                "ERR invalid name",
                "a nick with a space",
            ),
            (
                "/nick caf\u{e9}\n",
                "ERR invalid name",
                "a nick with a non-ASCII letter",
            ),
            (
                too_long_name.as_str(),
                "ERR invalid name",
                "a nick of 33 bytes",
            ),
            (
                "/shout hi\n",
                "ERR unknown command: /shout",
                "an unknown command (the command is the text up to the first space)",
            ),
        ] {
            assert_eq!(client.ask(line).await, expected, "{why}");
        }
        client.send(b"caf\xe9 \xff\n").await;
        assert_eq!(
            client.line("a line that is not UTF-8").await,
            "ERR invalid UTF-8",
            "a line that is not valid UTF-8 gets this error, never a panic"
        );
        client.send(b"\n").await;
        client
            .expect_nothing("an empty line is ignored: no reply")
            .await;
        assert_eq!(
            client.ask("/nick ann_the-2nd\n").await,
            "OK nick ann_the-2nd",
            "after errors, the connection stays open; a nick may use letters, digits, _ and -"
        );
        assert_eq!(
            client.ask(&format!("/join {}\n", "r".repeat(33))).await,
            "ERR invalid name",
            "room names follow the rules of nicks"
        );
    });
}

#[test]
fn a_nick_belongs_to_one_client_at_a_time() {
    block_on(LIMIT, "nick collisions answered", || async {
        let server = start(config(), settings("hi", 1024)).await;
        let mut first = server.client("the first client").await;
        let mut second = server.client("the second client").await;
        first.nick("bob").await;
        assert_eq!(
            second.ask("/nick bob\n").await,
            "ERR nick taken",
            "a nick another client holds cannot be taken"
        );
        assert_eq!(
            first.ask("/nick bob\n").await,
            "OK nick bob",
            "asking again for the nick you already have is fine"
        );
        first.nick("robert").await;
        assert_eq!(
            second.ask("/nick bob\n").await,
            "OK nick bob",
            "after its holder changed to another nick, `bob` is free again"
        );
        assert_eq!(
            first.ask("/nick bob\n").await,
            "ERR nick taken",
            "and now the second client holds it"
        );
    });
}

#[test]
fn twenty_clients_asking_for_one_nick_at_once_one_gets_it() {
    block_on(LIMIT, "20 replies to /nick same", || async {
        let server = start(config(), settings("hi", 1024)).await;
        let mut clients = Vec::new();
        for i in 0..20 {
            clients.push(server.client(&format!("client {i}")).await);
        }
        // All of them ask before any reply is read.
        for client in clients.iter_mut() {
            client.send(b"/nick same\n").await;
        }
        let mut winners = 0;
        for client in clients.iter_mut() {
            match client.line("the reply to /nick same").await.as_str() {
                "OK nick same" => winners += 1,
                "ERR nick taken" => {}
                other => panic!(
                    "the reply to /nick is `OK nick same` or `ERR nick taken`, not {other:?}"
                ),
            }
        }
        assert_eq!(
            winners, 1,
            "20 clients asked for the same nick at once: exactly one must get it (check and take \
             the nick in one step, under one lock)"
        );
    });
}

#[test]
fn a_client_that_leaves_frees_its_nick_and_its_place_in_the_room() {
    block_on(LIMIT, "a departed client's nick and room freed", || async {
        let server = start(config(), settings("hi", 1024)).await;
        let mut ann = server.member("ann", "lobby").await;
        let bob = server.member("bob", "lobby").await;
        drop(bob);
        ann.eventually(
            "/who\n",
            "OK who ann",
            "bob disconnected: he must leave the room",
        )
        .await;
        let mut newcomer = server.client("a new client").await;
        newcomer
            .eventually(
                "/nick bob\n",
                "OK nick bob",
                "bob disconnected: his nick is free",
            )
            .await;
    });
}

#[test]
fn a_client_leaving_mid_line_does_not_disturb_the_room() {
    block_on(LIMIT, "the room served after clients left", || async {
        let server = start(config(), settings("hi", 1024)).await;
        let mut ann = server.member("ann", "lobby").await;
        // One leaves politely in the middle of a line; another leaves with a
        // reply unread, which makes its system reset the connection.
        let mut polite = server.member("polite", "lobby").await;
        let mut rude = server.member("rude", "lobby").await;
        polite.send(b"complete\nhalf a li").await;
        assert_eq!(
            ann.line("polite's message").await,
            "[lobby] polite: complete"
        );
        rude.send(b"/who\n").await;
        pause().await;
        drop(polite);
        drop(rude);

        let deadline = Instant::now() + WAIT;
        loop {
            let reply = ann.ask("/who\n").await;
            assert!(
                !reply.contains("half"),
                "a client that disconnects in the middle of a line leaves that line unfinished: \
                 nobody may receive it (got {reply:?})"
            );
            if reply == "OK who ann" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "two clients disconnected {WAIT:?} ago and /who still says {reply:?}"
            );
            sleep(Duration::from_millis(10)).await;
        }
        ann.send(b"anyone?\n").await;
        assert_eq!(
            ann.line("ann's message after the others left").await,
            "[lobby] ann: anyone?",
            "after clients left mid-line, the room goes on"
        );
    });
}

#[test]
fn the_limit_counts_the_message_without_its_line_ending() {
    block_on(LIMIT, "lines at and over max_message", || async {
        let server = start(config(), settings("hi", 16)).await;
        let mut ann = server.member("ann", "r").await;
        let mut bob = server.member("bob", "r").await;
        let sixteen = "a".repeat(16);
        ann.send(format!("{sixteen}\n").as_bytes()).await;
        ann.send(format!("{sixteen}\r\n").as_bytes()).await;
        for _ in 0..2 {
            assert_eq!(
                bob.line("ann's message of exactly max_message = 16 bytes")
                    .await,
                format!("[r] ann: {sixteen}"),
                "with max_message = 16, a message of 16 bytes is accepted, with \\n or \\r\\n"
            );
        }
        for _ in 0..2 {
            ann.line("ann's own 16-byte message").await;
        }
        assert_eq!(
            ann.ask(&format!("{}\n", "b".repeat(17))).await,
            "ERR message too long (max 16 bytes)",
            "with max_message = 16, a line of 17 bytes is too long"
        );
        bob.expect_nothing("a line that is too long goes to nobody")
            .await;
    });
}

#[test]
fn an_oversize_line_is_rejected_before_its_end_and_skipped() {
    block_on(LIMIT, "an error for a 1 MiB line", || async {
        let server = start(config(), settings("hi", 1024)).await;
        let mut ann = server.member("ann", "r").await;
        let mut bob = server.member("bob", "r").await;
        // 1 MiB and no newline yet: the client is still "typing".
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..16 {
            ann.send(&chunk).await;
        }
        assert_eq!(
            ann.line(
                "1 MiB without a newline, with max_message = 1024 (reply once 1026 bytes have \
                 arrived; do not wait for a \\n that may never come)"
            )
            .await,
            "ERR message too long (max 1024 bytes)",
            "a line over max_message gets this error"
        );
        ann.send(b"xxxx\nafter\n").await;
        assert_eq!(
            bob.line("ann's message after her long line").await,
            "[r] ann: after",
            "the rest of a long line, up to its \\n, is thrown away unread; the next line is a \
             normal message, and the room never sees any of the long one"
        );
    });
}

#[test]
fn a_hundred_clients_in_five_rooms_each_receive_their_room_in_one_order() {
    block_on(HEAVY, "100 clients served in 5 rooms", || async {
        const CLIENTS: usize = 100;
        const ROOMS: usize = 5;
        const EACH: usize = 5;
        let server = start(
            Config {
                max_clients: CLIENTS,
                // Room for every message of the test: nobody may lag here.
                room_capacity: 1024,
                ..config()
            },
            settings("hi", 1024),
        )
        .await;
        let mut clients = Vec::new();
        for i in 0..CLIENTS {
            clients.push(
                server
                    .member(&format!("c{i}"), &format!("room{}", i % ROOMS))
                    .await,
            );
        }
        // Everyone talks before anyone reads.
        for (i, client) in clients.iter_mut().enumerate() {
            for m in 0..EACH {
                client.send(format!("m{m} from c{i}\n").as_bytes()).await;
            }
        }

        let per_room = CLIENTS / ROOMS * EACH;
        let mut first_seen: HashMap<usize, Vec<String>> = HashMap::new();
        for (i, client) in clients.iter_mut().enumerate() {
            let room = i % ROOMS;
            let mut received = Vec::new();
            for n in 0..per_room {
                let line = client
                    .line(&format!("message {n} of the {per_room} sent to room{room}"))
                    .await;
                let prefix = format!("[room{room}] c");
                assert!(
                    line.starts_with(&prefix),
                    "c{i} is in room{room} and received {line:?}: a client receives the messages \
                     of its own room only"
                );
                received.push(line);
            }
            // Each sender's messages in the order it sent them.
            for sender in (room..CLIENTS).step_by(ROOMS) {
                let from: Vec<_> = received
                    .iter()
                    .filter(|l| l.ends_with(&format!(" from c{sender}")))
                    .map(|l| l.split(": ").nth(1).unwrap_or_default().to_owned())
                    .collect();
                let sent: Vec<_> = (0..EACH).map(|m| format!("m{m} from c{sender}")).collect();
                assert_eq!(
                    from, sent,
                    "c{i} must receive the {EACH} messages of c{sender}, each once, in the order \
                     they were sent"
                );
            }
            // And one order for the whole room.
            match first_seen.get(&room) {
                None => {
                    first_seen.insert(room, received);
                }
                Some(order) => assert!(
                    *order == received,
                    "c{i} received the messages of room{room} in another order than c{room}: \
                     every member of a room must see one and the same order"
                ),
            }
        }
        for client in clients.iter_mut().take(ROOMS) {
            client
                .expect_nothing("every message has been received")
                .await;
        }
    });
}

// ---------------------------------------------------------------------------
// A client that does not read
// ---------------------------------------------------------------------------

/// The settings and limits of the tests with a client that never reads.
const BIG: usize = 60_000;
const SMALL_ROOM: usize = 8;

#[test]
fn a_client_that_never_reads_does_not_slow_down_its_room() {
    block_on(HEAVY, "a room served around a silent client", || async {
        let server = start(
            Config {
                room_capacity: SMALL_ROOM,
                ..config()
            },
            settings("hi", 64 * 1024),
        )
        .await;
        let _silent = server.member("silent", "busy").await;
        let mut talker = server.member("talker", "busy").await;
        let count = messages_to_overflow(SMALL_ROOM).await;
        flood(&mut talker, count).await;
    });
}

#[test]
fn a_client_that_fell_behind_is_told_what_it_missed_and_goes_on() {
    block_on(HEAVY, "a missed-messages notice", || async {
        let server = start(
            Config {
                room_capacity: SMALL_ROOM,
                ..config()
            },
            settings("hi", 64 * 1024),
        )
        .await;
        let mut silent = server.member("silent", "busy").await;
        let mut talker = server.member("talker", "busy").await;
        let count = messages_to_overflow(SMALL_ROOM).await;
        flood(&mut talker, count).await;

        // Now the silent client reads what the server kept for it.
        let mut before = Vec::new(); // message numbers before the notice
        let missed = loop {
            let line = silent
                .line_or_end(&format!(
                    "the messages that fit into the socket's buffers, then `* you missed N \
                     messages` ({count} messages of {BIG} bytes were sent; the room keeps \
                     {SMALL_ROOM})"
                ))
                .await
                .unwrap_or_else(|| {
                    panic!(
                        "after {} messages, the server closed the connection of the client that \
                         had fallen behind: falling behind is not an error; tell the client how \
                         many messages it missed and go on",
                        before.len()
                    )
                });
            if let Some(n) = line
                .strip_prefix("* you missed ")
                .and_then(|rest| rest.strip_suffix(" messages"))
            {
                break n.parse::<usize>().unwrap_or_else(|_| {
                    panic!("the notice must be `* you missed N messages` with a number N: {line:?}")
                });
            }
            let n = number_of(&line);
            let expected = before.len();
            assert!(
                n == expected,
                "{}",
                if n > expected {
                    format!(
                        "the client received messages 0 to {}, then message {n}: messages \
                         {expected} to {} are missing, and no `* you missed N messages` line \
                         came before them",
                        expected as isize - 1,
                        n - 1
                    )
                } else {
                    format!("message {n} arrived again after message {}", expected - 1)
                }
            );
            assert!(
                n + 1 < count,
                "the client that never read received all {count} messages: the server buffered \
                 {} MB for it. A room keeps {SMALL_ROOM} messages for a slow member; one that \
                 falls further behind must lose the oldest ones (no unbounded queue per client)",
                count * BIG / 1_000_000
            );
            before.push(n);
        };

        // Tell the room something new, now that the silent client reads.
        talker.send(b"after\n").await;
        assert_eq!(
            talker.line("the talker's own message").await,
            "[busy] talker: after"
        );

        let resumed_at = number_of(
            &silent
                .line("the oldest message the room still had, after the notice")
                .await,
        );
        assert!(
            resumed_at >= before.len(),
            "after the notice came message {resumed_at}, which the client had already received"
        );
        let gap = resumed_at - before.len();
        assert_eq!(
            missed,
            gap,
            "the notice said {missed} messages were missed, but the client received messages 0 \
             to {} and then message {resumed_at}: N must count exactly the messages it did not \
             receive",
            before.len() as isize - 1
        );
        assert!(missed > 0, "the notice must not report 0 missed messages");
        for n in resumed_at + 1..count {
            let line = silent.line(&format!("message {n} after the notice")).await;
            assert!(
                !line.starts_with("* you missed"),
                "the client received a second notice ({line:?}) although nothing was sent while \
                 it caught up: one notice per fall behind"
            );
            assert_eq!(
                number_of(&line),
                n,
                "after the notice, the rest of the room's messages in order"
            );
        }
        assert_eq!(
            silent.line("the message sent after it caught up").await,
            "[busy] talker: after",
            "after catching up, the client receives new messages as usual"
        );
    });
}

// ---------------------------------------------------------------------------
// The connection limit
// ---------------------------------------------------------------------------

#[test]
fn a_client_over_the_limit_gets_server_full_and_is_closed() {
    block_on(LIMIT, "a fourth client turned away", || async {
        let server = start(
            Config {
                max_clients: 3,
                ..config()
            },
            settings("hi", 1024),
        )
        .await;
        let mut admitted = Vec::new();
        for i in 0..3 {
            admitted.push(
                server
                    .client(&format!("client {i} of max_clients = 3"))
                    .await,
            );
        }
        let mut fourth = server.connect("the fourth client").await;
        assert_eq!(
            fourth.line("the reply to the fourth client").await,
            "ERR server full",
            "with max_clients = 3 and 3 clients connected, the next one gets `ERR server full`"
        );
        fourth
            .expect_closed("after `ERR server full`, the server closes the connection")
            .await;
        for client in admitted.iter_mut() {
            assert_eq!(
                client.ask("/who\n").await,
                "ERR not in a room",
                "the clients within the limit are served as before"
            );
        }
    });
}

#[test]
fn a_place_frees_up_when_a_client_leaves() {
    block_on(LIMIT, "a new client admitted after one left", || async {
        let server = start(
            Config {
                max_clients: 2,
                ..config()
            },
            settings("hi", 1024),
        )
        .await;
        let stays = server.client("the client that stays").await;
        let leaves = server.client("the client that leaves").await;
        let mut turned_away = server.connect("a third client").await;
        assert_eq!(
            turned_away.line("the third client's reply").await,
            "ERR server full"
        );
        drop(turned_away);
        drop(leaves);

        let deadline = Instant::now() + WAIT;
        loop {
            let mut next = server.connect("a client after one left").await;
            let first = next
                .line("the first line for a client after one left")
                .await;
            if first.starts_with("* motd:") {
                break;
            }
            assert_eq!(
                first, "ERR server full",
                "the first line is the motd or the refusal"
            );
            assert!(
                Instant::now() < deadline,
                "with max_clients = 2, one client left (and one was turned away) {WAIT:?} ago, \
                 and new clients still get `ERR server full`: a place must free up when a client \
                 leaves, and a client turned away must not take one"
            );
            sleep(Duration::from_millis(10)).await;
        }
        drop(stays);
    });
}

// ---------------------------------------------------------------------------
// Live settings
// ---------------------------------------------------------------------------

#[test]
fn a_new_motd_reaches_every_open_connection() {
    block_on(LIMIT, "the new motd on open connections", || async {
        let server = start(config(), settings("old news", 1024)).await;
        let mut idle = server.client("a client in no room").await;
        let mut member = server.member("ann", "lobby").await;
        server
            .settings
            .send_modify(|s| s.motd = "fresh news".into());
        for client in [&mut idle, &mut member] {
            assert_eq!(
                client.line("the new message of the day").await,
                "* motd: fresh news",
                "when the message of the day changes, every connected client receives it at once"
            );
        }
        let mut newcomer = server
            .connect("a client that connects after the change")
            .await;
        assert_eq!(
            newcomer.line("the greeting").await,
            "* motd: fresh news",
            "a new client is greeted with the current message of the day"
        );
    });
}

#[test]
fn a_new_max_message_applies_to_open_connections() {
    block_on(LIMIT, "the new limit on open connections", || async {
        let server = start(config(), settings("hi", 64)).await;
        let mut ann = server.member("ann", "r").await;
        let mut bob = server.member("bob", "r").await;
        let twenty = "t".repeat(20);

        server.settings.send_modify(|s| s.max_message = 8);
        // One round trip: the server has finished reading the line it was
        // waiting for when the limit changed.
        assert_eq!(
            ann.ask("/who\n").await,
            "OK who ann bob",
            "a change of max_message alone sends no motd line (the motd did not change)"
        );
        assert_eq!(
            ann.ask(&format!("{twenty}\n")).await,
            "ERR message too long (max 8 bytes)",
            "after max_message went from 64 down to 8, a 20-byte message on a connection that \
             was already open is too long (read the settings again for every line)"
        );
        bob.expect_nothing("the rejected message goes to nobody")
            .await;

        server.settings.send_modify(|s| s.max_message = 64);
        assert_eq!(ann.ask("/who\n").await, "OK who ann bob");
        ann.send(format!("{twenty}\n").as_bytes()).await;
        assert_eq!(
            bob.line("ann's 20-byte message").await,
            format!("[r] ann: {twenty}"),
            "after max_message went back up to 64, a 20-byte message is accepted again"
        );
    });
}

#[test]
fn a_settings_change_in_the_middle_of_a_line_does_not_cut_it() {
    block_on(LIMIT, "a whole line across a settings change", || async {
        let server = start(config(), settings("before", 1024)).await;
        let mut ann = server.member("ann", "r").await;
        ann.send(b"hel").await;
        pause().await;
        server.settings.send_modify(|s| s.motd = "during".into());
        assert_eq!(ann.line("the new motd").await, "* motd: during");
        ann.send(b"lo\n").await;
        assert_eq!(
            ann.line("ann's message, sent as `hel`, then `lo\\n`").await,
            "[r] ann: hello",
            "the client sent `hel`, the settings changed (the client received the new motd), \
             then it sent `lo\\n`: the message is `hello`. When another branch of a `select!` \
             wins, the line read so far must not be lost (the given LineReader keeps it)"
        );
    });
}

// ---------------------------------------------------------------------------
// Shutdown
// ---------------------------------------------------------------------------

#[test]
fn shutdown_says_goodbye_to_every_client_and_ends_every_task() {
    block_on(LIMIT, "goodbyes and the end of serve", || async {
        let mut server = start(config(), settings("hi", 1024)).await;
        let mut clients = vec![
            server.client("a client without a nick").await,
            server.member("ann", "r").await,
            server.member("bob", "r").await,
            server.member("cy", "q").await,
        ];
        let mut typing = server.member("dee", "q").await;
        typing.send(b"half a li").await;
        clients.push(typing);
        pause().await;

        server.shutdown.cancel();
        for client in clients.iter_mut() {
            assert_eq!(
                client.line("the goodbye").await,
                GOODBYE,
                "on shutdown, every client receives this line"
            );
            client
                .expect_closed("after the goodbye, the server closes the connection")
                .await;
        }
        server.ended("every client got its goodbye").await;
        assert!(
            TcpStream::connect(server.addr).await.is_err(),
            "after serve has returned, its listener must be closed (connecting must fail)"
        );
    });
}

#[test]
fn shutdown_gives_up_on_a_client_that_never_reads() {
    block_on(HEAVY, "serve ends despite a silent client", || async {
        let mut server = start(
            Config {
                room_capacity: SMALL_ROOM,
                goodbye_timeout: Duration::from_millis(50),
                ..config()
            },
            settings("hi", 64 * 1024),
        )
        .await;
        let _silent = server.member("silent", "busy").await;
        let mut talker = server.member("talker", "busy").await;
        let count = messages_to_overflow(SMALL_ROOM).await;
        flood(&mut talker, count).await;

        // The silent client's socket is full: the server cannot write to it.
        server.shutdown.cancel();
        assert_eq!(
            talker.line("the goodbye").await,
            GOODBYE,
            "on shutdown, a client that reads receives the goodbye, whatever the others do"
        );
        talker
            .expect_closed("after the goodbye, the connection closes")
            .await;
        server
            .ended(
                "one client never reads, so its socket is full; with goodbye_timeout = 50 ms, \
                 its connection must give up on it (a write that waits for that client must \
                 stop at shutdown)",
            )
            .await;
    });
}

// ---------------------------------------------------------------------------
// Helpers: a server under test, clients with time limits
// ---------------------------------------------------------------------------

fn config() -> Config {
    Config {
        max_clients: 64,
        room_capacity: 256,
        goodbye_timeout: WAIT,
    }
}

fn settings(motd: &str, max_message: usize) -> Settings {
    Settings {
        motd: motd.into(),
        max_message,
    }
}

struct Server {
    addr: SocketAddr,
    settings: watch::Sender<Settings>,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
    running: AbortHandle,
}

/// Binds `127.0.0.1:0` and runs `serve` on it in a task.
async fn start(config: Config, settings: Settings) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding a test listener on 127.0.0.1:0");
    let addr = listener.local_addr().expect("the listener's address");
    let (settings, receiver) = watch::channel(settings);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(serve(listener, config, receiver, shutdown.clone()));
    let running = task.abort_handle();
    Server {
        addr,
        settings,
        shutdown,
        task: Some(task),
        running,
    }
}

impl Server {
    /// A connected client; nothing read yet.
    async fn connect(&self, who: &str) -> Client {
        let stream = match timeout(WAIT, TcpStream::connect(self.addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => panic!(
                "{}",
                explain(&self.running, format!("{who} could not connect: {e}"))
            ),
            Err(_) => panic!(
                "{}",
                explain(
                    &self.running,
                    format!("{who}: connecting took more than {WAIT:?}")
                )
            ),
        };
        let (reader, writer) = stream.into_split();
        Client {
            who: who.to_owned(),
            reader: BufReader::new(reader),
            writer,
            server: self.running.clone(),
        }
    }

    /// A connected client that has read its greeting.
    async fn client(&self, who: &str) -> Client {
        let mut client = self.connect(who).await;
        let greeting = client.line("the greeting").await;
        assert!(
            greeting.starts_with("* motd: "),
            "{who}: the first line after connecting must be `* motd: TEXT`, got {greeting:?}"
        );
        client
    }

    /// A client with nick `nick`, in room `room`.
    async fn member(&self, nick: &str, room: &str) -> Client {
        let mut client = self.client(nick).await;
        client.nick(nick).await;
        client.join(room).await;
        client
    }

    /// Waits for `serve` to return, then checks that no task it started is
    /// still running.
    async fn ended(&mut self, after: &str) {
        let task = self.task.take().expect("ended() is called once");
        match timeout(WAIT, task).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("the server task failed: {e}"),
            Err(_) => panic!(
                "serve had not returned {WAIT:?} after the shutdown ({after}): it must return \
                 once every connection has ended"
            ),
        }
        let alive = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        assert_eq!(
            alive, 0,
            "serve returned while {alive} task(s) it started were still running: wait for every \
             connection task to end before returning"
        );
    }
}

struct Client {
    who: String,
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    server: AbortHandle,
}

impl Client {
    async fn send(&mut self, bytes: &[u8]) {
        let problem = match timeout(WAIT, self.writer.write_all(bytes)).await {
            Ok(Ok(())) => return,
            Ok(Err(e)) => format!(
                "{}: sending {} bytes failed: {e} (did the server close the connection?)",
                self.who,
                bytes.len()
            ),
            Err(_) => format!(
                "{}: sending {} bytes took more than {WAIT:?}: the server stopped reading this \
                 client",
                self.who,
                bytes.len()
            ),
        };
        panic!("{}", explain(&self.server, problem));
    }

    /// Sends `line` and returns the next line received.
    async fn ask(&mut self, line: &str) -> String {
        self.send(line.as_bytes()).await;
        self.line(&format!("the reply to {line:?}")).await
    }

    async fn nick(&mut self, nick: &str) {
        let reply = self.ask(&format!("/nick {nick}\n")).await;
        assert_eq!(
            reply,
            format!("OK nick {nick}"),
            "{}: /nick {nick}",
            self.who
        );
    }

    async fn join(&mut self, room: &str) {
        let reply = self.ask(&format!("/join {room}\n")).await;
        assert_eq!(
            reply,
            format!("OK joined {room}"),
            "{}: /join {room}",
            self.who
        );
    }

    /// The next line, without its `\n`.
    async fn line(&mut self, what: &str) -> String {
        match self.line_or_end(what).await {
            Some(line) => line,
            None => panic!(
                "{}",
                explain(
                    &self.server,
                    format!(
                        "{}: waiting for {what}, the server closed the connection instead",
                        self.who
                    )
                )
            ),
        }
    }

    /// The next line, or `None` if the server closed the connection.
    async fn line_or_end(&mut self, what: &str) -> Option<String> {
        let mut line = Vec::new();
        let deadline = Instant::now() + WAIT;
        // Short slices instead of one long wait, so that a server task that
        // died is reported at once. `read_until` keeps what it has read in
        // `line` when its slice runs out, so no byte is lost.
        let problem = loop {
            match timeout(
                Duration::from_millis(20),
                self.reader.read_until(b'\n', &mut line),
            )
            .await
            {
                Ok(Ok(_)) if line.last() == Some(&b'\n') => {
                    line.pop();
                    return Some(String::from_utf8(line).unwrap_or_else(|e| {
                        panic!("{}: {what} is not UTF-8: {:?}", self.who, e.as_bytes())
                    }));
                }
                Ok(Ok(_)) if line.is_empty() => return None,
                Ok(Err(e))
                    if e.kind() == std::io::ErrorKind::ConnectionReset && line.is_empty() =>
                {
                    return None;
                }
                Ok(Ok(_)) => {
                    break format!(
                        "{}: the connection closed in the middle of {what}: {}",
                        self.who,
                        shorten(&line)
                    );
                }
                Ok(Err(e)) => break format!("{}: reading {what} failed: {e}", self.who),
                Err(_) if self.server.is_finished() => {
                    break format!("{}: {what} never came", self.who);
                }
                Err(_) if Instant::now() >= deadline => {
                    break format!(
                        "{}: {what} did not come within {WAIT:?} (received so far: {})",
                        self.who,
                        shorten(&line)
                    );
                }
                Err(_) => {}
            }
        };
        panic!("{}", explain(&self.server, problem))
    }

    /// Checks that nothing is waiting for this client: two round trips with
    /// a command whose reply is known, and nothing else in between.
    async fn expect_nothing(&mut self, why: &str) {
        for _ in 0..2 {
            let reply = self.ask("/who\n").await;
            assert!(
                reply.starts_with("OK who") || reply == "ERR not in a room",
                "{}: expected no line ({why}), but received {reply:?}",
                self.who
            );
        }
    }

    /// Sends `line` until the reply is `expected`, for at most `WAIT`.
    async fn eventually(&mut self, line: &str, expected: &str, why: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let reply = self.ask(line).await;
            if reply == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: {why}, so {line:?} must soon be answered with {expected:?}; after {WAIT:?} \
                 the reply was still {reply:?}",
                self.who
            );
            sleep(Duration::from_millis(10)).await;
        }
    }

    /// Expects the server to close the connection without sending more.
    async fn expect_closed(&mut self, why: &str) {
        let mut rest = Vec::new();
        let problem = match timeout(WAIT, self.reader.read_to_end(&mut rest)).await {
            Ok(Ok(_)) if rest.is_empty() => return,
            // A reset is a close too (it happens when unread data was left).
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset && rest.is_empty() => {
                return;
            }
            Ok(Ok(_)) | Ok(Err(_)) => format!(
                "{}: {why}; instead the server sent {}",
                self.who,
                shorten(&rest)
            ),
            Err(_) => format!(
                "{}: {why}; the connection was still open after {WAIT:?} (received: {})",
                self.who,
                shorten(&rest)
            ),
        };
        panic!("{}", explain(&self.server, problem))
    }
}

/// Adds whether the server task is still running to a failure message.
fn explain(server: &AbortHandle, problem: String) -> String {
    let state = if server.is_finished() {
        "the serve task has ended (it returned or panicked: a panic's message is printed above)"
    } else {
        "the serve task is still running"
    };
    format!("{problem}\n  server: {state}")
}

/// Bytes for a failure message: at most 200 of them.
fn shorten(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
    if bytes.len() > 200 {
        format!("{text:?}... ({} bytes)", bytes.len())
    } else {
        format!("{text:?}")
    }
}

/// Lets the other side run: a few scheduler turns and a short real pause.
async fn pause() {
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    sleep(Duration::from_millis(20)).await;
}

/// The number of a flood message, `[busy] talker: 00042 xxx...`.
#[track_caller]
fn number_of(line: &str) -> usize {
    line.strip_prefix("[busy] talker: ")
        .and_then(|rest| rest.get(..5))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "expected a message of the talker (`[busy] talker: 00042 xxx...`), got {}",
                shorten(line.as_bytes())
            )
        })
}

/// Message `n` of a flood: its number, then `x` up to `BIG` bytes.
fn flood_message(n: usize) -> String {
    format!("{n:05} {}", "x".repeat(BIG - 6))
}

/// How many messages of `BIG` bytes a client that never reads must be sent
/// before its room is sure to drop some for it: twice what this machine's
/// loopback socket buffers hold, plus the room's own buffer and a margin.
async fn messages_to_overflow(room_capacity: usize) -> usize {
    2 * loopback_buffer_bytes().await / BIG + room_capacity + 16
}

/// How many bytes a loopback connection takes in before a writer has to wait,
/// while its other end does not read: the sender's and the receiver's kernel
/// buffers together. Measured, because it differs between systems.
async fn loopback_buffer_bytes() -> usize {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding a listener to measure the socket buffers");
    let addr = listener.local_addr().expect("its address");
    let _reader = TcpStream::connect(addr).await.expect("connecting to it");
    let (writer, _) = listener.accept().await.expect("accepting");
    let chunk = vec![0u8; 64 * 1024];
    let mut total = 0;
    let mut stuck = 0;
    while stuck < 3 {
        match writer.try_write(&chunk) {
            Ok(n) => {
                total += n;
                stuck = 0;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                // The kernel may still grow the buffers: give it a moment.
                stuck += 1;
                sleep(Duration::from_millis(5)).await;
            }
            Err(e) => panic!("measuring the socket buffers: {e}"),
        }
    }
    total
}

/// The talker sends `count` messages of `BIG` bytes and reads each one back,
/// as every member of the room receives it, within `WAIT`. It keeps at most
/// `WINDOW` of its messages on their way, fewer than the room keeps: the
/// talker itself reads fast enough never to fall behind.
async fn flood(talker: &mut Client, count: usize) {
    const WINDOW: usize = SMALL_ROOM / 2;
    for n in 0..count {
        if n >= WINDOW {
            receive_flood_message(talker, n - WINDOW, count).await;
        }
        let mut message = flood_message(n);
        message.push('\n');
        if timeout(WAIT, talker.writer.write_all(message.as_bytes()))
            .await
            .is_err()
        {
            panic!(
                "{}",
                explain(
                    &talker.server,
                    format!(
                        "{} could not send message {n} of {count} within {WAIT:?}: the server \
                         stopped reading it",
                        talker.who
                    )
                )
            );
        }
    }
    for n in count.saturating_sub(WINDOW)..count {
        receive_flood_message(talker, n, count).await;
    }
}

/// The talker reads message `n` of its flood.
async fn receive_flood_message(talker: &mut Client, n: usize, count: usize) {
    let mut line = Vec::new();
    match timeout(WAIT, talker.reader.read_until(b'\n', &mut line)).await {
        Ok(Ok(_)) if line.last() == Some(&b'\n') => {}
        outcome => panic!(
            "{}",
            explain(
                &talker.server,
                format!(
                    "{} received {n} of its {count} messages back, then {}. Another member of \
                     the room has not read anything all along: a client that does not read \
                     must not hold up the others (never wait for one client while delivering \
                     to the rest)",
                    talker.who,
                    match outcome {
                        Err(_) => format!("nothing for {WAIT:?}"),
                        Ok(Ok(_)) => "the end of the connection".into(),
                        Ok(Err(e)) => format!("an error: {e}"),
                    }
                )
            )
        ),
    }
    line.pop();
    let expected = format!("[busy] talker: {}", flood_message(n));
    if line != expected.as_bytes() {
        panic!(
            "{}: message {n} of the room should be {}, got {}: messages reach every member in \
             the order they were sent",
            talker.who,
            shorten(expected.as_bytes()),
            shorten(&line)
        );
    }
}
