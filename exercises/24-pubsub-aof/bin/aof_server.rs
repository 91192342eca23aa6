//! The cache server with an append-only file and pub/sub, as a program:
//!
//! ```text
//! cargo run -p exercise-24 --bin aof-server-24 -- --port 7000 --appendonly /tmp/demo.aof
//! redis-cli -p 7000 set greeting hello
//! ```
//!
//! Options: `--port N` (default 6379; 0 lets the system choose), `--appendonly
//! PATH` (default `appendonly.aof`), `--appendfsync always|everysec|no`
//! (default everysec, as Redis), `--pubsub-queue N` (the most messages
//! queued for one subscriber before it is disconnected; default 1024). It
//! replays the file, prints `listening on ADDR` once it accepts, and on
//! SIGTERM syncs the file and exits with 0.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use exercise_24::{Aof, Broker, Clock, Db, Fsync, replay, serve, unix_ms};
use tokio::signal::unix::{SignalKind, signal};

fn main() -> std::io::Result<()> {
    let mut port: u16 = 6379;
    let mut path = PathBuf::from("appendonly.aof");
    let mut policy = Fsync::EverySec;
    let mut queue_limit = 1024;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let Some(value) = args.next() else {
            return usage(&format!("{arg} needs a value"));
        };
        match arg.as_str() {
            "--port" => match value.parse() {
                Ok(v) => port = v,
                Err(e) => return usage(&format!("--port {value}: {e}")),
            },
            "--appendonly" => path = PathBuf::from(value),
            "--pubsub-queue" => match value.parse() {
                Ok(v) => queue_limit = v,
                Err(e) => return usage(&format!("--pubsub-queue {value}: {e}")),
            },
            "--appendfsync" => {
                policy = match value.as_str() {
                    "always" => Fsync::Always,
                    "everysec" => Fsync::EverySec,
                    "no" => Fsync::No,
                    _ => return usage(&format!("--appendfsync {value}: always, everysec or no")),
                }
            }
            _ => return usage(&format!("unexpected argument {arg:?}")),
        }
    }

    // The log first: the server accepts no client before the store is
    // what it was when the last write was acknowledged.
    let db = Arc::new(Db::new(16, Clock::new()));
    let replayed = replay(&path, &db, unix_ms())?;
    eprintln!(
        "{}: replayed {} commands{}",
        path.display(),
        replayed.applied,
        if replayed.torn_tail_bytes > 0 {
            format!(
                ", dropped a torn tail of {} bytes",
                replayed.torn_tail_bytes
            )
        } else {
            String::new()
        }
    );
    let aof = Arc::new(Aof::open(&path, policy)?);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut terminate = signal(SignalKind::terminate())?;
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port))
                .await?;
        println!("listening on {}", listener.local_addr()?);
        let broker = Arc::new(Broker::new(queue_limit));
        let server = tokio::spawn(serve(listener, db, Arc::clone(&aof), broker));
        terminate.recv().await;
        // One thread runs every task: while this one runs, no command is
        // half-way through Aof::execute. Sync what is written, and go.
        server.abort();
        aof.sync()?;
        eprintln!("SIGTERM: append-only file synced, exiting");
        Ok(())
    })
}

fn usage(problem: &str) -> std::io::Result<()> {
    eprintln!(
        "{problem}\nusage: aof-server-24 [--port 6379] [--appendonly appendonly.aof] \
         [--appendfsync always|everysec|no] [--pubsub-queue 1024]"
    );
    std::process::exit(2)
}
