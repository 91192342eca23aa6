//! A real client library against the server: redis-rs (the `redis` crate),
//! with its synchronous connection, in RESP2 and RESP3, with a password and
//! with a pipeline. Not part of the exercise's tests (redis-rs takes a while
//! to compile); run it with
//!
//! ```text
//! cargo test -p solution-23 --features redis-client --test redis_client
//! ```
//!
//! (checks/redis-rs.sh does, in `cargo course verify`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use exercise_23::{Clock, Config, Db, serve};
use redis::{Commands, RedisResult};
use testkit::{LIMIT, within};

/// Starts the server on a runtime of its own, on a thread of its own (the
/// client below blocks), and returns its address. The thread ends with the
/// test process.
fn start(config: Config) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("building a runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("binding 127.0.0.1:0");
            tx.send(listener.local_addr().unwrap()).unwrap();
            let db = Arc::new(Db::new(4, Clock::new()));
            let _ = serve(listener, db, config).await;
        });
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("the server did not start")
}

fn connect(url: &str) -> redis::Connection {
    let client = redis::Client::open(url).expect("a valid URL");
    client
        .get_connection_with_timeout(Duration::from_secs(3))
        .expect("redis-rs connects and completes its handshake")
}

#[test]
fn redis_rs_typed_commands_work() {
    within(
        LIMIT,
        "redis-rs commands answered",
        || -> RedisResult<()> {
            let addr = start(Config::default());
            let mut con = connect(&format!("redis://{addr}/"));
            let _: () = con.set("greeting", "hello")?;
            let got: String = con.get("greeting")?;
            assert_eq!(got, "hello");
            let missing: Option<String> = con.get("missing")?;
            assert_eq!(missing, None, "a missing key reads as None");
            let n: i64 = con.incr("counter", 5)?;
            assert_eq!(n, 5, "INCRBY through redis-rs");
            let _: () = con.rpush("list", &["a", "b", "c"])?;
            let items: Vec<String> = con.lrange("list", 0, -1)?;
            assert_eq!(items, ["a", "b", "c"]);
            let set: bool = con.expire("greeting", 100)?;
            assert!(set, "EXPIRE of an existing key");
            let ttl: i64 = con.ttl("greeting")?;
            assert_eq!(ttl, 100);
            let ttl: i64 = con.ttl("missing")?;
            assert_eq!(ttl, -2);
            let removed: i64 = con.del(&["greeting", "list"])?;
            assert_eq!(removed, 2);
            let error = con
                .get::<_, String>("counter")
                .map(|_| ())
                .and_then(|_| con.lpush::<_, _, i64>("counter", "x").map(|_| ()));
            let error = error.expect_err("LPUSH on a string is an error");
            assert_eq!(
                error.code(),
                Some("WRONGTYPE"),
                "redis-rs reads the error code: {error}"
            );
            Ok(())
        },
    )
    .expect("redis-rs talks to the server");
}

#[test]
fn redis_rs_pipeline_gets_every_reply() {
    within(
        LIMIT,
        "a redis-rs pipeline answered",
        || -> RedisResult<()> {
            let addr = start(Config::default());
            let mut con = connect(&format!("redis://{addr}/"));
            let mut pipe = redis::pipe();
            for i in 0..200 {
                pipe.set(format!("k{i}"), i).ignore();
            }
            for i in 0..200 {
                pipe.get(format!("k{i}"));
            }
            let values: Vec<i64> = pipe.query(&mut con)?;
            assert_eq!(
                values,
                (0..200).collect::<Vec<i64>>(),
                "200 SET then 200 GET in one pipeline"
            );
            Ok(())
        },
    )
    .expect("redis-rs pipelines work");
}

#[test]
fn redis_rs_speaks_resp3_after_hello() {
    within(LIMIT, "redis-rs in RESP3", || -> RedisResult<()> {
        let addr = start(Config::default());
        // protocol=resp3: redis-rs opens the connection with HELLO 3.
        let mut con = connect(&format!("redis://{addr}/?protocol=resp3"));
        let _: () = con.set("k", "v")?;
        let got: Option<String> = con.get("k")?;
        assert_eq!(got.as_deref(), Some("v"));
        let missing: Option<String> = con.get("missing")?;
        assert_eq!(missing, None, "RESP3's null reads as None");
        let all: std::collections::HashMap<String, String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("appendonly")
            .query(&mut con)?;
        assert_eq!(
            all.get("appendonly").map(String::as_str),
            Some("no"),
            "CONFIG GET answers a map in RESP3"
        );
        Ok(())
    })
    .expect("redis-rs works in RESP3");
}

#[test]
fn redis_rs_authenticates_with_the_password_in_the_url() {
    within(LIMIT, "redis-rs with a password", || -> RedisResult<()> {
        let config = Config {
            requirepass: Some("s3cret".into()),
            ..Config::default()
        };
        let addr = start(config);
        let mut con = connect(&format!("redis://:s3cret@{addr}/"));
        let _: () = con.set("k", "v")?;
        let got: String = con.get("k")?;
        assert_eq!(got, "v");
        let client = redis::Client::open(format!("redis://:wrong@{addr}/"))?;
        assert!(
            client
                .get_connection_with_timeout(Duration::from_secs(3))
                .is_err(),
            "a wrong password fails the connection"
        );
        Ok(())
    })
    .expect("redis-rs authenticates");
}
