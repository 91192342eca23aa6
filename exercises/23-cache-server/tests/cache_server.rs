//! The specification of exercise 23: a cache server that speaks RESP.
//!
//! Each test starts the server (`serve`, given) on `127.0.0.1:0` with your
//! `Db` and your `handle_connection`, and talks to it over real TCP, the way
//! redis-cli does: requests are RESP arrays of bulk strings (or raw bytes),
//! replies are decoded with chapter 22's `resp::decode`. Every wait has a time
//! limit. Expiry is tested with a `Clock` the test moves by hand, so a key
//! that expires in an hour takes no real time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use exercise_23::{Clock, Config, Db, ENTRY_OVERHEAD, LIST_ITEM_OVERHEAD, serve};
use resp::{Frame, Limits};
use testkit::{LIMIT, block_on, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// How long a client waits for a reply: a loopback round trip takes well
/// under a millisecond. Shorter than the watchdog, so that a failure names
/// what was missing, and short, because a server that never answers makes
/// every test wait this long.
const WAIT: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------
// Strings
// ---------------------------------------------------------------------------

#[test]
fn set_then_get_returns_the_value() {
    block_on(LIMIT, "SET and GET answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        assert_eq!(
            c.call(&["SET", "greeting", "hello"]).await,
            ok(),
            "SET answers +OK"
        );
        assert_eq!(
            c.call(&["GET", "greeting"]).await,
            bulk("hello"),
            "GET returns what SET stored"
        );
        assert_eq!(
            c.call(&["get", "nothing"]).await,
            Frame::Null,
            "GET of a missing key is nil (command names are case-insensitive)"
        );
        assert_eq!(
            c.call(&["SET", "greeting", "bye"]).await,
            ok(),
            "SET overwrites"
        );
        assert_eq!(
            c.call(&["GET", "greeting"]).await,
            bulk("bye"),
            "GET returns the new value"
        );
    });
}

#[test]
fn set_nx_does_not_overwrite_an_existing_key() {
    block_on(LIMIT, "SET NX answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        assert_eq!(
            c.call(&["SET", "k", "first", "NX"]).await,
            ok(),
            "SET NX on a missing key sets it"
        );
        assert_eq!(
            c.call(&["SET", "k", "second", "NX"]).await,
            Frame::Null,
            "SET NX on an existing key answers nil"
        );
        assert_eq!(
            c.call(&["GET", "k"]).await,
            bulk("first"),
            "SET NX must not overwrite an existing key"
        );
    });
}

#[test]
fn set_xx_only_overwrites_an_existing_key() {
    block_on(LIMIT, "SET XX answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        assert_eq!(
            c.call(&["SET", "k", "v", "XX"]).await,
            Frame::Null,
            "SET XX on a missing key answers nil"
        );
        assert_eq!(
            c.call(&["EXISTS", "k"]).await,
            int(0),
            "SET XX must not create a key"
        );
        c.call(&["SET", "k", "v"]).await;
        assert_eq!(
            c.call(&["SET", "k", "w", "xx"]).await,
            ok(),
            "SET XX on an existing key sets it"
        );
        assert_eq!(c.call(&["GET", "k"]).await, bulk("w"));
    });
}

#[test]
fn set_get_returns_the_old_value() {
    block_on(LIMIT, "SET ... GET answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        assert_eq!(
            c.call(&["SET", "k", "one", "GET"]).await,
            Frame::Null,
            "SET GET on a missing key returns nil"
        );
        assert_eq!(
            c.call(&["SET", "k", "two", "GET"]).await,
            bulk("one"),
            "SET GET returns the old value"
        );
        assert_eq!(
            c.call(&["GET", "k"]).await,
            bulk("two"),
            "and stores the new one"
        );
        assert_eq!(
            c.call(&["SET", "k", "three", "NX", "GET"]).await,
            bulk("two"),
            "SET NX GET on an existing key returns the value and sets nothing"
        );
        assert_eq!(c.call(&["GET", "k"]).await, bulk("two"));
    });
}

#[test]
fn set_rejects_bad_options_with_redis_errors() {
    block_on(LIMIT, "SET with bad options answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        assert_eq!(
            c.call(&["SET", "k", "v", "NX", "XX"]).await,
            err("ERR syntax error"),
            "NX and XX together"
        );
        assert_eq!(
            c.call(&["SET", "k", "v", "EX", "10", "PX", "100"]).await,
            err("ERR syntax error"),
            "EX and PX together"
        );
        assert_eq!(
            c.call(&["SET", "k", "v", "EX", "10", "KEEPTTL"]).await,
            err("ERR syntax error"),
            "EX and KEEPTTL together"
        );
        assert_eq!(
            c.call(&["SET", "k", "v", "EX"]).await,
            err("ERR syntax error"),
            "EX without a value"
        );
        assert_eq!(
            c.call(&["SET", "k", "v", "FOREVER"]).await,
            err("ERR syntax error"),
            "an unknown option"
        );
        assert_eq!(
            c.call(&["SET", "k", "v", "EX", "ten"]).await,
            err("ERR value is not an integer or out of range"),
            "EX ten"
        );
        assert_eq!(
            c.call(&["SET", "k", "v", "EX", "0"]).await,
            err("ERR invalid expire time in 'set' command"),
            "EX 0"
        );
        assert_eq!(
            c.call(&["SET", "k", "v", "PX", "-5"]).await,
            err("ERR invalid expire time in 'set' command"),
            "PX -5"
        );
        assert_eq!(
            c.call(&["EXISTS", "k"]).await,
            int(0),
            "a SET with bad options stores nothing"
        );
    });
}

#[test]
fn getdel_returns_the_value_and_removes_the_key() {
    block_on(LIMIT, "GETDEL answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        c.call(&["SET", "k", "v"]).await;
        assert_eq!(
            c.call(&["GETDEL", "k"]).await,
            bulk("v"),
            "GETDEL returns the value"
        );
        assert_eq!(
            c.call(&["GETDEL", "k"]).await,
            Frame::Null,
            "and the key is gone"
        );
    });
}

#[test]
fn del_and_exists_count_the_keys() {
    block_on(LIMIT, "DEL and EXISTS answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        c.call(&["SET", "a", "1"]).await;
        c.call(&["SET", "b", "2"]).await;
        assert_eq!(
            c.call(&["EXISTS", "a", "b", "c", "a"]).await,
            int(3),
            "EXISTS counts each existing key named, repeats included"
        );
        assert_eq!(
            c.call(&["DEL", "a", "c"]).await,
            int(1),
            "DEL counts the keys it removed"
        );
        assert_eq!(
            c.call(&["EXISTS", "a"]).await,
            int(0),
            "a deleted key no longer exists"
        );
        assert_eq!(c.call(&["GET", "b"]).await, bulk("2"), "other keys stay");
    });
}

#[test]
fn incr_decr_and_incrby_count_from_zero() {
    block_on(LIMIT, "INCR, DECR and INCRBY answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        assert_eq!(
            c.call(&["INCR", "n"]).await,
            int(1),
            "INCR of a missing key starts from 0"
        );
        assert_eq!(c.call(&["INCRBY", "n", "41"]).await, int(42));
        assert_eq!(c.call(&["DECR", "n"]).await, int(41));
        assert_eq!(
            c.call(&["INCRBY", "n", "-50"]).await,
            int(-9),
            "INCRBY takes negative increments"
        );
        assert_eq!(
            c.call(&["GET", "n"]).await,
            bulk("-9"),
            "the counter is stored as a decimal string"
        );
        c.call(&["SET", "m", "10"]).await;
        assert_eq!(
            c.call(&["INCR", "m"]).await,
            int(11),
            "INCR works on a string SET stored"
        );
    });
}

#[test]
fn incr_on_a_value_that_is_not_an_integer_is_an_error() {
    block_on(LIMIT, "INCR errors answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        let not_int = err("ERR value is not an integer or out of range");
        for value in ["abc", "1.5", " 1", "+1", "01", ""] {
            c.call(&["SET", "s", value]).await;
            assert_eq!(
                c.call(&["INCR", "s"]).await,
                not_int,
                "INCR of {value:?} (Redis accepts only plain decimal integers)"
            );
        }
        assert_eq!(
            c.call(&["INCRBY", "n", "x"]).await,
            not_int,
            "INCRBY with increment x"
        );
        assert_eq!(
            c.call(&["EXISTS", "n"]).await,
            int(0),
            "a failed INCRBY creates nothing"
        );
    });
}

#[test]
fn incr_past_i64_max_is_an_error() {
    block_on(LIMIT, "INCR overflow answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        c.call(&["SET", "n", &i64::MAX.to_string()]).await;
        assert_eq!(
            c.call(&["INCR", "n"]).await,
            err("ERR increment or decrement would overflow"),
            "INCR of i64::MAX must not wrap around"
        );
        assert_eq!(
            c.call(&["GET", "n"]).await,
            bulk(&i64::MAX.to_string()),
            "the value is unchanged after the error"
        );
        c.call(&["SET", "m", &i64::MIN.to_string()]).await;
        assert_eq!(
            c.call(&["DECR", "m"]).await,
            err("ERR increment or decrement would overflow"),
            "DECR of i64::MIN"
        );
    });
}

#[test]
fn mset_and_mget_cover_many_keys() {
    block_on(LIMIT, "MSET and MGET answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        let mut mset = vec!["MSET".to_owned()];
        for i in 0..50 {
            mset.push(format!("key:{i}"));
            mset.push(format!("value {i}"));
        }
        let mset: Vec<&str> = mset.iter().map(String::as_str).collect();
        assert_eq!(c.call(&mset).await, ok(), "MSET answers +OK");
        c.call(&["RPUSH", "a-list", "x"]).await;
        let reply = c
            .call(&["MGET", "key:0", "missing", "key:49", "a-list", "key:7"])
            .await;
        assert_eq!(
            reply,
            Frame::Array(vec![
                bulk("value 0"),
                Frame::Null,
                bulk("value 49"),
                Frame::Null,
                bulk("value 7")
            ]),
            "MGET answers one value per key, in order, nil for a missing key or a list"
        );
        assert_eq!(
            c.call(&["MSET", "a", "1", "b"]).await,
            err("ERR wrong number of arguments for 'mset' command"),
            "MSET with an odd number of arguments"
        );
    });
}

#[test]
fn append_and_strlen_work_on_bytes() {
    block_on(LIMIT, "APPEND and STRLEN answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        assert_eq!(
            c.call(&["APPEND", "s", "Hello"]).await,
            int(5),
            "APPEND to a missing key creates it"
        );
        assert_eq!(
            c.call(&["APPEND", "s", ", wörld"]).await,
            int(13),
            "APPEND returns the new length in bytes"
        );
        assert_eq!(c.call(&["GET", "s"]).await, bulk("Hello, wörld"));
        assert_eq!(
            c.call(&["STRLEN", "s"]).await,
            int(13),
            "STRLEN counts bytes"
        );
        assert_eq!(
            c.call(&["STRLEN", "missing"]).await,
            int(0),
            "STRLEN of a missing key is 0"
        );
    });
}

// ---------------------------------------------------------------------------
// Errors Redis clients expect word for word
// ---------------------------------------------------------------------------

#[test]
fn wrong_arity_gets_redis_error_string() {
    block_on(LIMIT, "wrong-arity errors answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        for (command, name) in [
            (&["GET"][..], "get"),
            (&["GET", "a", "b"][..], "get"),
            (&["set", "k"][..], "set"),
            (&["INCRBY", "k"][..], "incrby"),
            (&["LRANGE", "k", "0"][..], "lrange"),
            (&["DEL"][..], "del"),
        ] {
            assert_eq!(
                c.call(command).await,
                err(&format!(
                    "ERR wrong number of arguments for '{name}' command"
                )),
                "{command:?}: Redis's exact words, the command's name in lower case and in quotes"
            );
        }
    });
}

#[test]
fn a_list_command_on_a_string_gets_wrongtype() {
    block_on(LIMIT, "WRONGTYPE errors answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        let wrongtype = err("WRONGTYPE Operation against a key holding the wrong kind of value");
        c.call(&["SET", "s", "text"]).await;
        c.call(&["RPUSH", "l", "item"]).await;
        for command in [
            &["LPUSH", "s", "x"][..],
            &["LRANGE", "s", "0", "-1"][..],
            &["LLEN", "s"][..],
            &["RPOP", "s"][..],
            &["GET", "l"][..],
            &["INCR", "l"][..],
            &["APPEND", "l", "x"][..],
            &["STRLEN", "l"][..],
        ] {
            assert_eq!(
                c.call(command).await,
                wrongtype,
                "{command:?}: the error starts with WRONGTYPE, not ERR"
            );
        }
        assert_eq!(
            c.call(&["GET", "s"]).await,
            bulk("text"),
            "the string is unchanged"
        );
        assert_eq!(
            c.call(&["LLEN", "l"]).await,
            int(1),
            "the list is unchanged"
        );
        assert_eq!(
            c.call(&["SET", "l", "now a string"]).await,
            ok(),
            "SET replaces a value of any type"
        );
    });
}

#[test]
fn unknown_command_gets_redis_error_string() {
    block_on(LIMIT, "an unknown command answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        assert_eq!(
            c.call(&["FROBNICATE", "a", "b"]).await,
            err("ERR unknown command 'FROBNICATE', with args beginning with: 'a' 'b' "),
            "Redis quotes the name as sent and each argument followed by a space"
        );
        assert_eq!(
            c.call(&["SET", "k", "v"]).await,
            ok(),
            "the connection goes on after an error reply"
        );
    });
}

// ---------------------------------------------------------------------------
// Expiry
// ---------------------------------------------------------------------------

#[test]
fn set_ex_expires_the_key_after_its_time() {
    block_on(LIMIT, "a key with EX expiring", || async {
        let server = start(no_sweep()).await;
        let mut c = server.connect().await;
        c.call(&["SET", "session", "data", "EX", "10"]).await;
        server.clock.advance(Duration::from_secs(9));
        assert_eq!(
            c.call(&["GET", "session"]).await,
            bulk("data"),
            "after 9 s of 10 the key is still there"
        );
        server.clock.advance(Duration::from_secs(2));
        assert_eq!(
            c.call(&["GET", "session"]).await,
            Frame::Null,
            "after 11 s of 10 the key has expired"
        );
    });
}

#[test]
fn an_expired_key_is_gone_on_access_even_without_the_sweep() {
    block_on(LIMIT, "lazy expiry on access", || async {
        let server = start(no_sweep()).await;
        let mut c = server.connect().await;
        c.call(&["SET", "a", "1", "PX", "100"]).await;
        c.call(&["RPUSH", "l", "x"]).await;
        c.call(&["PEXPIRE", "l", "100"]).await;
        server.clock.advance(Duration::from_millis(150));
        // The sweep is off: only the commands themselves can notice.
        assert_eq!(
            c.call(&["GET", "a"]).await,
            Frame::Null,
            "GET must check the expiry time itself (the sweep is off in this test)"
        );
        assert_eq!(
            c.call(&["EXISTS", "l"]).await,
            int(0),
            "EXISTS of an expired list is 0"
        );
        assert_eq!(
            c.call(&["LLEN", "l"]).await,
            int(0),
            "LLEN of an expired list is 0"
        );
        assert_eq!(
            c.call(&["TTL", "a"]).await,
            int(-2),
            "TTL of an expired key is -2, as for a missing key"
        );
        assert_eq!(
            c.call(&["INCR", "a"]).await,
            int(1),
            "INCR of an expired key starts from 0"
        );
        assert_eq!(
            c.call(&["TTL", "a"]).await,
            int(-1),
            "the new key has no expiry time"
        );
    });
}

#[test]
fn expired_keys_are_removed_by_the_sweep_without_being_read() {
    block_on(LIMIT, "the active sweep removing expired keys", || async {
        let config = Config {
            sweep_every: Some(Duration::from_millis(5)),
            ..Config::default()
        };
        let server = start(config).await;
        let mut c = server.connect().await;
        let mut batch = Vec::new();
        for i in 0..300 {
            batch.push(vec![
                "SET".to_owned(),
                format!("temp:{i}"),
                "x".to_owned(),
                "PX".to_owned(),
                "100".to_owned(),
            ]);
        }
        for i in 0..10 {
            batch.push(vec!["SET".to_owned(), format!("kept:{i}"), "x".to_owned()]);
            batch.push(vec![
                "SET".to_owned(),
                format!("later:{i}"),
                "x".to_owned(),
                "EX".to_owned(),
                "1000".to_owned(),
            ]);
        }
        c.pipeline(&batch).await;
        assert_eq!(
            c.call(&["DBSIZE"]).await,
            int(320),
            "DBSIZE counts every key"
        );
        server.clock.advance(Duration::from_secs(1));
        // Nobody reads the expired keys; DBSIZE counts keys still stored,
        // as Redis's does, so it shows whether the sweep removed them.
        let mut size = Frame::Null;
        for _ in 0..200 {
            size = c.call(&["DBSIZE"]).await;
            if size == int(20) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            size,
            int(20),
            "within 2 s, the sweep (Db::sweep_expired, run every 5 ms here) must remove the 300 expired keys \
             nobody reads, and keep the 10 without expiry and the 10 that expire later"
        );
        assert_eq!(
            c.call(&["GET", "later:3"]).await,
            bulk("x"),
            "a key that has not expired stays"
        );
    });
}

#[test]
fn ttl_is_minus_two_for_a_missing_key() {
    block_on(LIMIT, "TTL of a missing key", || async {
        let server = start(no_sweep()).await;
        let mut c = server.connect().await;
        assert_eq!(
            c.call(&["TTL", "nothing"]).await,
            int(-2),
            "TTL of a missing key is -2 (-1 means: exists, no expiry)"
        );
        assert_eq!(
            c.call(&["PTTL", "nothing"]).await,
            int(-2),
            "PTTL of a missing key is -2"
        );
    });
}

#[test]
fn ttl_is_minus_one_for_a_key_without_expiry() {
    block_on(LIMIT, "TTL of a persistent key", || async {
        let server = start(no_sweep()).await;
        let mut c = server.connect().await;
        c.call(&["SET", "k", "v"]).await;
        assert_eq!(
            c.call(&["TTL", "k"]).await,
            int(-1),
            "TTL of a key without expiry is -1"
        );
        assert_eq!(
            c.call(&["PTTL", "k"]).await,
            int(-1),
            "PTTL of a key without expiry is -1"
        );
    });
}

#[test]
fn ttl_counts_down_as_the_clock_moves() {
    block_on(LIMIT, "TTL and PTTL counting down", || async {
        let server = start(no_sweep()).await;
        let mut c = server.connect().await;
        c.call(&["SET", "k", "v"]).await;
        assert_eq!(
            c.call(&["EXPIRE", "k", "100"]).await,
            int(1),
            "EXPIRE of an existing key answers 1"
        );
        assert_eq!(
            c.call(&["EXPIRE", "missing", "100"]).await,
            int(0),
            "EXPIRE of a missing key answers 0"
        );
        assert_eq!(c.call(&["TTL", "k"]).await, int(100));
        server.clock.advance(Duration::from_secs(30));
        assert_eq!(
            c.call(&["TTL", "k"]).await,
            int(70),
            "TTL after 30 s of 100"
        );
        let pttl = c.call(&["PTTL", "k"]).await;
        assert!(
            matches!(pttl, Frame::Integer(ms) if (69_000..=70_000).contains(&ms)),
            "PTTL after 30 s of 100 is about 70000 ms, got {pttl:?}"
        );
        assert_eq!(c.call(&["PEXPIRE", "k", "2600"]).await, int(1));
        assert_eq!(
            c.call(&["TTL", "k"]).await,
            int(3),
            "TTL rounds to the nearest second: 2.6 s answers 3"
        );
    });
}

#[test]
fn set_without_keepttl_clears_the_ttl() {
    block_on(
        LIMIT,
        "SET clearing and KEEPTTL keeping the TTL",
        || async {
            let server = start(no_sweep()).await;
            let mut c = server.connect().await;
            c.call(&["SET", "k", "v", "EX", "100"]).await;
            c.call(&["SET", "k", "w", "KEEPTTL"]).await;
            assert_eq!(
                c.call(&["TTL", "k"]).await,
                int(100),
                "SET KEEPTTL keeps the expiry time"
            );
            c.call(&["SET", "k", "x"]).await;
            assert_eq!(
                c.call(&["TTL", "k"]).await,
                int(-1),
                "a plain SET removes the expiry time"
            );
            server.clock.advance(Duration::from_secs(200));
            assert_eq!(
                c.call(&["GET", "k"]).await,
                bulk("x"),
                "so the key never expires"
            );
        },
    );
}

#[test]
fn incr_and_append_keep_the_ttl() {
    block_on(LIMIT, "INCR and APPEND keeping the TTL", || async {
        let server = start(no_sweep()).await;
        let mut c = server.connect().await;
        c.call(&["SET", "n", "1", "EX", "100"]).await;
        c.call(&["INCR", "n"]).await;
        c.call(&["APPEND", "n", "0"]).await;
        assert_eq!(
            c.call(&["TTL", "n"]).await,
            int(100),
            "INCR and APPEND change the value, not the expiry time"
        );
        assert_eq!(c.call(&["GET", "n"]).await, bulk("20"));
    });
}

#[test]
fn persist_removes_the_ttl() {
    block_on(LIMIT, "PERSIST answered", || async {
        let server = start(no_sweep()).await;
        let mut c = server.connect().await;
        c.call(&["SET", "k", "v", "PX", "1000"]).await;
        assert_eq!(
            c.call(&["PERSIST", "k"]).await,
            int(1),
            "PERSIST of a key with a TTL answers 1"
        );
        assert_eq!(
            c.call(&["PERSIST", "k"]).await,
            int(0),
            "PERSIST of a key without TTL answers 0"
        );
        assert_eq!(c.call(&["TTL", "k"]).await, int(-1));
        server.clock.advance(Duration::from_secs(5));
        assert_eq!(
            c.call(&["GET", "k"]).await,
            bulk("v"),
            "a persisted key does not expire"
        );
    });
}

#[test]
fn expire_with_a_time_in_the_past_deletes_the_key() {
    block_on(LIMIT, "EXPIRE with a negative time", || async {
        let server = start(no_sweep()).await;
        let mut c = server.connect().await;
        c.call(&["SET", "k", "v"]).await;
        assert_eq!(
            c.call(&["EXPIRE", "k", "-1"]).await,
            int(1),
            "EXPIRE with a time not in the future answers 1"
        );
        assert_eq!(
            c.call(&["EXISTS", "k"]).await,
            int(0),
            "and deletes the key"
        );
        assert_eq!(
            c.call(&["EXPIRE", "k", "soon"]).await,
            err("ERR value is not an integer or out of range")
        );
    });
}

// ---------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------

#[test]
fn lists_push_pop_and_range() {
    block_on(LIMIT, "list commands answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        assert_eq!(
            c.call(&["RPUSH", "l", "b", "c"]).await,
            int(2),
            "RPUSH answers the new length"
        );
        assert_eq!(
            c.call(&["LPUSH", "l", "a", "z"]).await,
            int(4),
            "LPUSH pushes each value to the front in turn"
        );
        assert_eq!(
            c.call(&["LRANGE", "l", "0", "-1"]).await,
            bulks(&["z", "a", "b", "c"]),
            "LRANGE 0 -1 is the whole list"
        );
        assert_eq!(
            c.call(&["LRANGE", "l", "-2", "100"]).await,
            bulks(&["b", "c"]),
            "negative indexes count from the end; the end is clamped"
        );
        assert_eq!(
            c.call(&["LRANGE", "l", "3", "1"]).await,
            bulks(&[]),
            "an empty range is an empty array"
        );
        assert_eq!(
            c.call(&["LRANGE", "missing", "0", "-1"]).await,
            bulks(&[]),
            "LRANGE of a missing key is an empty array"
        );
        assert_eq!(c.call(&["LLEN", "l"]).await, int(4));
        assert_eq!(c.call(&["LPOP", "l"]).await, bulk("z"));
        assert_eq!(
            c.call(&["RPOP", "l", "2"]).await,
            bulks(&["c", "b"]),
            "RPOP with a count pops from the end"
        );
        assert_eq!(c.call(&["TYPE", "l"]).await, Frame::Simple("list".into()));
        assert_eq!(c.call(&["LPOP", "l"]).await, bulk("a"));
        assert_eq!(
            c.call(&["EXISTS", "l"]).await,
            int(0),
            "a list is deleted with its last element"
        );
        assert_eq!(
            c.call(&["LPOP", "l"]).await,
            Frame::Null,
            "LPOP of a missing key is nil"
        );
        assert_eq!(
            c.call(&["LPOP", "l", "-1"]).await,
            err("ERR value is out of range, must be positive")
        );
    });
}

// ---------------------------------------------------------------------------
// The keyspace
// ---------------------------------------------------------------------------

#[test]
fn type_names_the_kind_of_value() {
    block_on(LIMIT, "TYPE answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        c.call(&["SET", "s", "v"]).await;
        c.call(&["LPUSH", "l", "v"]).await;
        assert_eq!(c.call(&["TYPE", "s"]).await, Frame::Simple("string".into()));
        assert_eq!(c.call(&["TYPE", "l"]).await, Frame::Simple("list".into()));
        assert_eq!(
            c.call(&["TYPE", "nothing"]).await,
            Frame::Simple("none".into())
        );
    });
}

#[test]
fn keys_and_scan_find_the_matching_keys() {
    block_on(LIMIT, "KEYS and SCAN answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        let mut batch = Vec::new();
        for i in 0..40 {
            batch.push(vec!["SET".to_owned(), format!("user:{i}"), "x".to_owned()]);
            batch.push(vec!["SET".to_owned(), format!("page:{i}"), "x".to_owned()]);
        }
        c.pipeline(&batch).await;
        let expected: Vec<String> = (0..40).map(|i| format!("user:{i}")).collect();

        let mut keys = names(c.call(&["KEYS", "user:*"]).await);
        keys.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(
            keys, want,
            "KEYS user:* returns every user key and nothing else"
        );
        assert_eq!(
            names(c.call(&["KEYS", "page:1?"]).await).len(),
            10,
            "KEYS page:1? matches page:10 to page:19"
        );

        // A full SCAN: start at cursor 0, follow the cursors until 0 again.
        let mut seen = Vec::new();
        let mut cursor = "0".to_owned();
        for _ in 0..10_000 {
            let reply = c
                .call(&["SCAN", &cursor, "MATCH", "user:*", "COUNT", "10"])
                .await;
            let Frame::Array(parts) = reply else {
                panic!("SCAN answers an array [next cursor, keys], got {reply:?}");
            };
            let [Frame::Bulk(next), batch] = &parts[..] else {
                panic!("SCAN answers [next cursor as a bulk string, array of keys], got {parts:?}");
            };
            seen.extend(names(batch.clone()));
            cursor = String::from_utf8_lossy(next).into_owned();
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(cursor, "0", "a full SCAN ends with cursor 0");
        seen.sort();
        assert_eq!(
            seen, want,
            "a full SCAN MATCH user:* returns every user key once and nothing else"
        );
        assert_eq!(c.call(&["SCAN", "x"]).await, err("ERR invalid cursor"));
    });
}

#[test]
fn keys_skips_expired_keys() {
    block_on(LIMIT, "KEYS without expired keys", || async {
        let server = start(no_sweep()).await;
        let mut c = server.connect().await;
        c.call(&["SET", "a", "1"]).await;
        c.call(&["SET", "b", "1", "PX", "10"]).await;
        server.clock.advance(Duration::from_millis(20));
        assert_eq!(
            names(c.call(&["KEYS", "*"]).await),
            vec!["a".to_owned()],
            "KEYS must not list an expired key"
        );
    });
}

#[test]
fn flushall_empties_the_store() {
    block_on(LIMIT, "FLUSHALL and DBSIZE answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        c.call(&["MSET", "a", "1", "b", "2", "c", "3"]).await;
        c.call(&["RPUSH", "l", "x"]).await;
        assert_eq!(c.call(&["DBSIZE"]).await, int(4));
        assert_eq!(c.call(&["FLUSHALL"]).await, ok());
        assert_eq!(
            c.call(&["DBSIZE"]).await,
            int(0),
            "no key is left after FLUSHALL"
        );
        assert_eq!(c.call(&["GET", "a"]).await, Frame::Null);
    });
}

// ---------------------------------------------------------------------------
// The connection: pipelining, protocol, limits
// ---------------------------------------------------------------------------

#[test]
fn answers_a_pipelined_batch_in_order() {
    block_on(LIMIT, "a pipelined batch answered in full", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        // 1,000 commands written at once (about 40 KB): several reads for the
        // server, each with many complete commands and a partial one.
        let mut batch = Vec::new();
        for i in 0..250 {
            batch.push(vec!["SET".to_owned(), format!("k{i}"), format!("v{i}")]);
            batch.push(vec!["GET".to_owned(), format!("k{i}")]);
            batch.push(vec!["INCR".to_owned(), "counter".to_owned()]);
            batch.push(vec!["PING".to_owned()]);
        }
        let replies = c.pipeline(&batch).await;
        for (i, chunk) in replies.chunks(4).enumerate() {
            assert_eq!(
                chunk,
                &[
                    ok(),
                    bulk(&format!("v{i}")),
                    int(i as i64 + 1),
                    Frame::Simple("PONG".into())
                ][..],
                "replies {}..{} of the batch: every command of one read must be answered, in order",
                i * 4,
                i * 4 + 4
            );
        }
    });
}

#[test]
fn a_request_arriving_in_pieces_is_answered_once_complete() {
    block_on(LIMIT, "a request written byte by byte", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        let request =
            b"*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$5\r\nworld\r\n*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n";
        for byte in request {
            c.stream.write_all(&[*byte]).await.unwrap();
            c.stream.flush().await.unwrap();
            tokio::task::yield_now().await;
        }
        assert_eq!(
            c.reply("the reply to SET written one byte at a time").await,
            ok()
        );
        assert_eq!(
            c.reply("the reply to GET written one byte at a time").await,
            bulk("world"),
            "keep the bytes of an incomplete request until the rest arrives"
        );
    });
}

#[test]
fn inline_commands_work_like_redis_cli_and_nc() {
    block_on(LIMIT, "inline commands answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        c.stream
            .write_all(b"SET color blue\r\nGET color\r\nPING\r\n")
            .await
            .unwrap();
        assert_eq!(c.reply("the reply to an inline SET").await, ok());
        assert_eq!(c.reply("the reply to an inline GET").await, bulk("blue"));
        assert_eq!(
            c.reply("the reply to an inline PING").await,
            Frame::Simple("PONG".into())
        );
    });
}

#[test]
fn hello_3_switches_replies_to_resp3() {
    block_on(LIMIT, "HELLO 3 answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        c.send(&["GET", "missing"]).await;
        assert_eq!(
            c.raw(5, "a RESP2 nil").await,
            b"$-1\r\n",
            "a new connection speaks RESP2: nil is $-1"
        );
        let hello = c.call(&["HELLO", "3"]).await;
        let Frame::Map(fields) = hello else {
            panic!("HELLO 3 answers a RESP3 map, got {hello:?}");
        };
        assert!(
            fields.contains(&(bulk("proto"), int(3))),
            "HELLO 3's map says proto 3: {fields:?}"
        );
        c.send(&["GET", "missing"]).await;
        assert_eq!(
            c.raw(3, "a RESP3 null").await,
            b"_\r\n",
            "after HELLO 3, nil is RESP3's null _"
        );
        c.call(&["SET", "k", "v"]).await;
        assert_eq!(
            c.call(&["GET", "k"]).await,
            bulk("v"),
            "commands work as before in RESP3"
        );
        let mut other = server.connect().await;
        other.send(&["GET", "missing"]).await;
        assert_eq!(
            other.raw(5, "a RESP2 nil").await,
            b"$-1\r\n",
            "the protocol belongs to one connection: another one still speaks RESP2"
        );
    });
}

#[test]
fn quit_closes_the_connection_after_its_reply() {
    block_on(LIMIT, "QUIT closing the connection", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        c.stream
            .write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*1\r\n$4\r\nQUIT\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
            .await
            .unwrap();
        assert_eq!(c.reply("the reply to SET").await, ok());
        assert_eq!(c.reply("the reply to QUIT").await, ok());
        c.expect_closed("after QUIT's reply the server closes the connection and answers nothing more (not the GET after it)").await;
    });
}

#[test]
fn garbage_gets_a_protocol_error_and_the_connection_closes() {
    block_on(LIMIT, "a protocol error answered", || async {
        let server = start(Config::default()).await;
        let mut c = server.connect().await;
        c.stream
            .write_all(b"*2\r\n$3\r\nGET\r\n$abc\r\n")
            .await
            .unwrap();
        match c.reply("the reply to a bad bulk length").await {
            Frame::Error(e) if e.starts_with("ERR Protocol error") => {}
            other => {
                panic!("a bad bulk length is answered -ERR Protocol error: ..., got {other:?}")
            }
        }
        c.expect_closed("after a protocol error the server closes the connection")
            .await;
        let mut other = server.connect().await;
        assert_eq!(
            other.call(&["SET", "k", "v"]).await,
            ok(),
            "other clients are not affected"
        );
    });
}

#[test]
fn a_request_over_max_request_is_refused_and_the_connection_closed() {
    block_on(LIMIT, "an oversized request refused", || async {
        let config = Config {
            max_request: 64 * 1024,
            ..Config::default()
        };
        let server = start(config).await;
        let mut c = server.connect().await;
        // An RPUSH of 10,000 values of 100 bytes (about 1 MB), of which only
        // the first 100 KB are sent: never complete, and over the limit.
        let mut partial = BytesMut::new();
        partial.extend_from_slice(b"*10002\r\n$5\r\nRPUSH\r\n$4\r\nlist\r\n");
        while partial.len() < 100 * 1024 {
            partial.extend_from_slice(b"$100\r\n");
            partial.extend_from_slice(&[b'x'; 100]);
            partial.extend_from_slice(b"\r\n");
        }
        // The server may close while we are still writing: ignore that error.
        let _ = c.stream.write_all(&partial).await;
        match c.reply("an error for a request over max_request").await {
            Frame::Error(e) if e.starts_with("ERR Protocol error") => {}
            other => panic!(
                "a request still incomplete past max_request (64 KiB here) is answered \
                 -ERR Protocol error: ..., without waiting for the rest; got {other:?}"
            ),
        }
        c.expect_closed("after refusing an oversized request the server closes the connection")
            .await;
        let mut other = server.connect().await;
        assert_eq!(
            other.call(&["LLEN", "list"]).await,
            int(0),
            "nothing of the refused request was stored"
        );
    });
}

#[test]
fn auth_is_required_when_requirepass_is_set() {
    block_on(LIMIT, "AUTH answered", || async {
        let config = Config {
            requirepass: Some("s3cret".into()),
            ..Config::default()
        };
        let server = start(config).await;
        let mut c = server.connect().await;
        assert_eq!(
            c.call(&["GET", "k"]).await,
            err("NOAUTH Authentication required."),
            "before AUTH"
        );
        assert_eq!(
            c.call(&["AUTH", "guess"]).await,
            err("WRONGPASS invalid username-password pair or user is disabled.")
        );
        assert_eq!(c.call(&["AUTH", "s3cret"]).await, ok());
        assert_eq!(
            c.call(&["SET", "k", "v"]).await,
            ok(),
            "after AUTH, commands work"
        );
        assert_eq!(c.call(&["GET", "k"]).await, bulk("v"));
    });
}

#[test]
fn one_client_over_the_limit_is_refused() {
    block_on(LIMIT, "the connection limit", || async {
        let config = Config {
            max_clients: 2,
            ..Config::default()
        };
        let server = start(config).await;
        let mut a = server.connect().await;
        let mut b = server.connect().await;
        assert_eq!(a.call(&["SET", "k", "a"]).await, ok());
        assert_eq!(b.call(&["APPEND", "k", "b"]).await, int(2));
        let mut c = server.connect().await;
        assert_eq!(
            c.reply("the third client's greeting").await,
            err("ERR max number of clients reached")
        );
        drop(a);
        // The slot is free once the server has noticed the close.
        let mut ok_client = None;
        for _ in 0..100 {
            let mut d = server.connect().await;
            d.send(&["GET", "k"]).await;
            match d.reply("a reply once a slot is free").await {
                Frame::Bulk(v) if v == "ab" => {
                    ok_client = Some(d);
                    break;
                }
                Frame::Error(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                other => panic!("GET k answers \"ab\", got {other:?}"),
            }
        }
        assert!(
            ok_client.is_some(),
            "after a client leaves, a new one is served"
        );
    });
}

#[test]
fn clients_share_one_keyspace() {
    block_on(LIMIT, "ten clients counting together", || async {
        let server = start(Config::default()).await;
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let mut c = server.connect().await;
            tasks.push(tokio::spawn(async move {
                let batch: Vec<Vec<String>> = (0..100)
                    .map(|_| vec!["INCR".to_owned(), "hits".to_owned()])
                    .collect();
                c.pipeline(&batch).await;
            }));
        }
        for task in tasks {
            task.await.expect("a client task failed");
        }
        let mut c = server.connect().await;
        assert_eq!(
            c.call(&["GET", "hits"]).await,
            bulk("1000"),
            "ten clients × 100 INCR: no increment may be lost"
        );
    });
}

// ---------------------------------------------------------------------------
// Memory: maxmemory and approximate LRU eviction
// ---------------------------------------------------------------------------

fn args(words: &[&str]) -> Vec<Bytes> {
    words
        .iter()
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

#[test]
fn used_memory_counts_keys_values_and_the_overhead() {
    within(LIMIT, "Db::used_memory to answer", || {
        let db = Db::new(4, Clock::new());
        assert_eq!(db.used_memory(), 0, "an empty store uses nothing");
        db.execute(&args(&["SET", "k", "abc"]));
        let string = 1 + 3 + ENTRY_OVERHEAD;
        assert_eq!(
            db.used_memory(),
            string,
            "SET k abc: key 1 + value 3 + ENTRY_OVERHEAD"
        );
        db.execute(&args(&["APPEND", "k", "de"]));
        assert_eq!(
            db.used_memory(),
            string + 2,
            "APPEND grows the value in place: count it again"
        );
        db.execute(&args(&["RPUSH", "list", "a", "bb"]));
        let list = 4 + (1 + LIST_ITEM_OVERHEAD) + (2 + LIST_ITEM_OVERHEAD) + ENTRY_OVERHEAD;
        assert_eq!(
            db.used_memory(),
            string + 2 + list,
            "a list: each item plus LIST_ITEM_OVERHEAD"
        );
        db.execute(&args(&["LPUSH", "list", "ccc"]));
        assert_eq!(
            db.used_memory(),
            string + 2 + list + 3 + LIST_ITEM_OVERHEAD,
            "LPUSH onto an existing list counts the new item"
        );
        db.execute(&args(&["LPOP", "list"]));
        assert_eq!(
            db.used_memory(),
            string + 2 + list,
            "LPOP gives its item back"
        );
        db.execute(&args(&["DEL", "k", "list"]));
        assert_eq!(db.used_memory(), 0, "DEL gives everything back");
        db.execute(&args(&["SET", "n", "9"]));
        db.execute(&args(&["INCR", "n"]));
        assert_eq!(
            db.used_memory(),
            1 + 2 + ENTRY_OVERHEAD,
            "INCR from 9 to 10 adds a digit"
        );
        db.execute(&args(&["FLUSHALL"]));
        assert_eq!(db.used_memory(), 0, "FLUSHALL gives everything back");
    });
}

#[test]
fn a_store_over_its_limit_evicts_until_it_fits() {
    within(LIMIT, "writes with a memory limit", || {
        let db = Db::new(4, Clock::new());
        let value = "v".repeat(100);
        let per_key = 8 + 100 + ENTRY_OVERHEAD; // "key:0000" and the value
        db.set_maxmemory(50 * per_key);
        assert_eq!(db.maxmemory(), 50 * per_key);
        for i in 0..1000 {
            db.execute(&args(&["SET", &format!("key:{i:04}"), &value]));
            assert!(
                db.used_memory() <= 50 * per_key,
                "after SET number {i}, used_memory {} is over the limit {}: evict after each write until it fits",
                db.used_memory(),
                50 * per_key
            );
        }
        let keys = db.dbsize();
        assert!(
            (45..=50).contains(&keys),
            "a limit of 50 keys' worth holds about 50 keys, not {keys}: evict only what is needed"
        );
        assert_eq!(
            db.evicted_keys(),
            1000 - keys as u64,
            "evicted_keys counts every key evicted"
        );
        // A big list over the limit: pushes grow it in place, and count.
        db.execute(&args(&["FLUSHALL"]));
        for _ in 0..200 {
            db.execute(&args(&["RPUSH", "big", &value]));
        }
        assert!(
            db.used_memory() <= 50 * per_key,
            "RPUSH onto one list must be counted and evicted too: used_memory {}",
            db.used_memory()
        );
    });
}

#[test]
fn eviction_spares_the_keys_used_recently() {
    within(LIMIT, "an LRU eviction", || {
        let db = Db::new(4, Clock::new());
        let value = "v".repeat(100);
        let per_key = 8 + 100 + ENTRY_OVERHEAD;
        db.set_maxmemory(200 * per_key);
        for i in 0..200 {
            db.execute(&args(&["SET", &format!("old:{i:04}"), &value]));
        }
        assert_eq!(db.evicted_keys(), 0, "200 keys fit in 200 keys' worth");
        // The first half is read again: now it is the recently used half.
        for i in 0..100 {
            db.execute(&args(&["GET", &format!("old:{i:04}")]));
        }
        // 100 new keys push 100 old ones out.
        for i in 0..100 {
            db.execute(&args(&["SET", &format!("new:{i:04}"), &value]));
        }
        let alive = |range: std::ops::Range<usize>| {
            range
                .filter(|i| {
                    db.execute(&args(&["EXISTS", &format!("old:{i:04}")])) == Frame::Integer(1)
                })
                .count()
        };
        let (hot, cold) = (alive(0..100), alive(100..200));
        assert!(
            hot >= 60 && cold <= 40,
            "of the 100 keys read just before the eviction {hot} survived, of the 100 not read {cold}: \
             evict the least recently used of a sample (a GET uses a key too), not a random key"
        );
    });
}

#[test]
fn without_a_limit_nothing_is_evicted() {
    within(LIMIT, "writes without a memory limit", || {
        let db = Db::new(4, Clock::new());
        assert_eq!(db.maxmemory(), 0, "no limit by default");
        for i in 0..2000 {
            db.execute(&args(&["SET", &format!("key:{i}"), "value"]));
        }
        assert_eq!(db.dbsize(), 2000);
        assert_eq!(db.evicted_keys(), 0);
    });
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

struct Server {
    addr: SocketAddr,
    clock: Clock,
}

/// Starts the server on a free loopback port with a clock the test moves.
async fn start(config: Config) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding 127.0.0.1:0");
    let addr = listener.local_addr().unwrap();
    let clock = Clock::new();
    let db = Arc::new(Db::new(4, clock.clone()));
    tokio::spawn(async move {
        if let Err(e) = serve(listener, db, config).await {
            eprintln!("serve failed: {e}");
        }
    });
    Server { addr, clock }
}

fn no_sweep() -> Config {
    Config {
        sweep_every: None,
        ..Config::default()
    }
}

impl Server {
    async fn connect(&self) -> Client {
        let stream = timeout(WAIT, TcpStream::connect(self.addr))
            .await
            .expect("connecting to the server timed out")
            .expect("connecting to the server");
        Client {
            stream,
            buf: BytesMut::new(),
        }
    }
}

struct Client {
    stream: TcpStream,
    buf: BytesMut,
}

impl Client {
    /// Sends one command as a RESP array of bulk strings.
    async fn send(&mut self, args: &[&str]) {
        let out = encode_command(args.iter().copied());
        self.stream
            .write_all(&out)
            .await
            .expect("sending a command");
    }

    /// Sends one command and returns its reply.
    async fn call(&mut self, args: &[&str]) -> Frame {
        self.send(args).await;
        self.reply(&format!("the reply to {args:?}")).await
    }

    /// Writes every command at once, then reads one reply per command.
    async fn pipeline(&mut self, batch: &[Vec<String>]) -> Vec<Frame> {
        let mut out = BytesMut::new();
        for args in batch {
            out.extend_from_slice(&encode_command(args.iter().map(String::as_str)));
        }
        self.stream
            .write_all(&out)
            .await
            .expect("sending a pipelined batch");
        let mut replies = Vec::with_capacity(batch.len());
        for (i, args) in batch.iter().enumerate() {
            let what = format!(
                "reply {} of {} in a pipelined batch (to {args:?})",
                i + 1,
                batch.len()
            );
            replies.push(self.reply(&what).await);
        }
        replies
    }

    /// Reads one reply.
    async fn reply(&mut self, what: &str) -> Frame {
        loop {
            match resp::decode(&mut self.buf, &Limits::default()) {
                Ok(Some(frame)) => return frame,
                Ok(None) => {}
                Err(e) => panic!(
                    "{what}: the server sent bytes that are not RESP ({e}): {:?}",
                    self.buf
                ),
            }
            let read = timeout(WAIT, self.stream.read_buf(&mut self.buf)).await;
            match read {
                Err(_) => panic!("{what}: no reply within {WAIT:?}"),
                Ok(Err(e)) => panic!("{what}: reading failed: {e}"),
                Ok(Ok(0)) => panic!(
                    "{what}: the server closed the connection instead of replying (did it panic? look above for a todo!())"
                ),
                Ok(Ok(_)) => {}
            }
        }
    }

    /// Reads exactly `n` raw bytes.
    async fn raw(&mut self, n: usize, what: &str) -> Vec<u8> {
        while self.buf.len() < n {
            match timeout(WAIT, self.stream.read_buf(&mut self.buf)).await {
                Err(_) => panic!("{what}: no reply within {WAIT:?}"),
                Ok(Err(e)) => panic!("{what}: reading failed: {e}"),
                Ok(Ok(0)) => panic!("{what}: the server closed the connection instead of replying"),
                Ok(Ok(_)) => {}
            }
        }
        self.buf.split_to(n).to_vec()
    }

    /// Expects the server to close the connection with nothing more sent.
    async fn expect_closed(&mut self, what: &str) {
        loop {
            if !self.buf.is_empty() {
                panic!("{what}; but it sent more: {:?}", self.buf);
            }
            match timeout(WAIT, self.stream.read_buf(&mut self.buf)).await {
                Err(_) => panic!("{what}; but the connection stayed open for {WAIT:?}"),
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Ok(Ok(_)) => {}
            }
        }
    }
}

fn encode_command<'a>(args: impl Iterator<Item = &'a str>) -> BytesMut {
    let frame = Frame::Array(
        args.map(|a| Frame::Bulk(Bytes::copy_from_slice(a.as_bytes())))
            .collect(),
    );
    let mut out = BytesMut::new();
    resp::encode(&frame, resp::Protocol::Resp2, &mut out);
    out
}

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

fn bulk(text: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

fn bulks(items: &[&str]) -> Frame {
    Frame::Array(items.iter().map(|item| bulk(item)).collect())
}

fn int(n: i64) -> Frame {
    Frame::Integer(n)
}

fn err(message: &str) -> Frame {
    Frame::Error(message.to_owned())
}

/// The keys of an array reply, as strings.
#[track_caller]
fn names(reply: Frame) -> Vec<String> {
    match reply {
        Frame::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
                other => panic!("expected an array of bulk strings, got an element {other:?}"),
            })
            .collect(),
        other => panic!("expected an array of keys, got {other:?}"),
    }
}
