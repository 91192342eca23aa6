//! The cache server as a program, to try it with redis-cli and
//! redis-benchmark:
//!
//! ```text
//! cargo run --release -p exercise-23 --features serve --bin cache-server-23 -- --port 7000
//! redis-cli -p 7000 set greeting hello
//! ```
//!
//! Options: `--port N` (default 6379; 0 lets the system choose),
//! `--bind ADDR` (default 127.0.0.1: only this machine can connect),
//! `--requirepass PASSWORD`, `--maxclients N`, `--max-request BYTES`,
//! `--shards N` (default 16), `--threads N` (tokio worker threads, default:
//! one per core; 1 runs a single-threaded runtime), `--maxmemory BYTES`
//! (default 0: no limit; over it, keys are evicted, approximately least
//! recently used first). It prints `listening on ADDR` once it accepts.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use exercise_23::{Clock, Config, Db, serve};

// With `--features mimalloc` (bench.sh): mimalloc instead of the system
// allocator, as redis-server uses jemalloc.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::io::Result<()> {
    let mut ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut port: u16 = 6379;
    let mut shards: usize = 16;
    let mut maxmemory: usize = 0;
    let mut threads: usize = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut config = Config::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let Some(value) = args.next() else {
            return usage(&format!("{arg} needs a value"));
        };
        let bad = |e: &dyn std::fmt::Display| usage(&format!("{arg} {value}: {e}"));
        match arg.as_str() {
            "--port" => match value.parse() {
                Ok(v) => port = v,
                Err(e) => return bad(&e),
            },
            "--bind" => match value.parse() {
                Ok(v) => ip = v,
                Err(e) => return bad(&e),
            },
            "--requirepass" => config.requirepass = Some(value),
            "--maxclients" => match value.parse() {
                Ok(v) => config.max_clients = v,
                Err(e) => return bad(&e),
            },
            "--max-request" => match value.parse() {
                Ok(v) => config.max_request = v,
                Err(e) => return bad(&e),
            },
            "--shards" => match value.parse() {
                Ok(v) => shards = v,
                Err(e) => return bad(&e),
            },
            "--maxmemory" => match value.parse() {
                Ok(v) => maxmemory = v,
                Err(e) => return bad(&e),
            },
            "--threads" => match value.parse() {
                Ok(v) if v > 0 => threads = v,
                Ok(_) => return bad(&"at least 1"),
                Err(e) => return bad(&e),
            },
            _ => return usage(&format!("unexpected argument {arg:?}")),
        }
    }

    // One thread: a current-thread runtime, like Redis's single event loop.
    // More: tokio's work-stealing scheduler with that many workers.
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(ip, port)).await?;
        println!("listening on {}", listener.local_addr()?);
        let db = Arc::new(Db::new(shards, Clock::new()));
        db.set_maxmemory(maxmemory);
        serve(listener, db, config).await
    })
}

fn usage(problem: &str) -> std::io::Result<()> {
    eprintln!(
        "{problem}\nusage: cache-server-23 [--port 6379] [--bind 127.0.0.1] \
         [--requirepass PASSWORD] [--maxclients N] [--max-request BYTES] [--shards N] [--threads N] [--maxmemory BYTES]"
    );
    std::process::exit(2)
}
