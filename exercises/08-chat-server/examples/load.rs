//! Measures your chat server: messages delivered per second, and how long a
//! message takes to reach the members of its room.
//!
//! ```text
//! cargo run --release -p exercise-08 --features examples --example load -- CLIENTS MESSAGES
//! ```
//!
//! (`-p solution-08` measures the reference solution instead.)
//!
//! The server runs on one thread (a current-thread runtime), the clients on
//! another. All clients join one room. Each client sends a message, waits
//! until its own message comes back through the room, then sends the next,
//! MESSAGES times; meanwhile it receives everybody's messages. Every message
//! reaches every client, so CLIENTS x CLIENTS x MESSAGES lines are delivered.
//! A delivery's latency runs from the moment its message was sent to the
//! moment a client has read it. Defaults: 50 clients, 1,000 messages each.
//! Numbers depend on the machine and on what else it is doing: always state
//! both when you quote one.

use std::io;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use exercise_08::{Config, Settings, serve};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let clients = args.next().unwrap_or(Ok(50)).map_err(invalid)?.max(1);
    let messages = args.next().unwrap_or(Ok(1_000)).map_err(invalid)?.max(1);

    // The server, alone on its thread.
    let (addr_tx, addr_rx) = mpsc::channel();
    thread::spawn(move || -> io::Result<()> {
        runtime()?.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            addr_tx
                .send(listener.local_addr()?)
                .expect("main is waiting");
            let (_settings, receiver) = watch::channel(Settings::default());
            let config = Config {
                max_clients: clients,
                ..Config::default()
            };
            serve(listener, config, receiver, CancellationToken::new()).await;
            Ok(())
        })
    });
    let addr = addr_rx.recv().expect("the server thread failed to start");

    // The clients, together on this thread.
    let start = Instant::now();
    let (elapsed, mut latencies, missed) = runtime()?.block_on(async move {
        // Everybody joins before anybody talks, so that everybody receives
        // every message.
        let mut joined = Vec::new();
        for id in 0..clients {
            joined.push(join(addr, id).await?);
        }
        let begin = Instant::now();
        let tasks: Vec<_> = joined
            .into_iter()
            .enumerate()
            .map(|(id, stream)| tokio::spawn(client(id, stream, clients, messages, start)))
            .collect();
        let mut latencies = Vec::with_capacity(clients * clients * messages);
        let mut missed = 0;
        for task in tasks {
            let (mine, lost) = task.await.expect("a client task panicked")?;
            latencies.extend(mine);
            missed += lost;
        }
        Ok::<_, io::Error>((begin.elapsed(), latencies, missed))
    })?;

    latencies.sort_unstable();
    let total = latencies.len();
    let percentile = |p: usize| latencies[(total * p / 100).min(total - 1)];
    println!(
        "{clients} clients x {messages} messages = {} sent, {total} delivered in {elapsed:.2?}",
        clients * messages
    );
    println!("  {:.0} deliveries/s", total as f64 / elapsed.as_secs_f64());
    println!(
        "  latency: p50 {:.1?}  p99 {:.1?}  max {:.1?}",
        percentile(50),
        percentile(99),
        latencies[total - 1]
    );
    println!("  missed (lag notices): {missed}");
    Ok(())
}

/// Connects, takes the nick `c{id}` and joins the room `load`.
async fn join(addr: std::net::SocketAddr, id: usize) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr).await?;
    // Without this, the kernel may hold back small writes (Nagle's algorithm).
    stream.set_nodelay(true)?;
    stream
        .write_all(format!("/nick c{id}\n/join load\n").as_bytes())
        .await?;
    let mut reader = BufReader::new(&mut stream);
    for expected in ["* motd: ", "OK nick ", "OK joined "] {
        let mut line = String::new();
        reader.read_line(&mut line).await?;
        if !line.starts_with(expected) {
            return Err(io::Error::other(format!(
                "client {id}: expected {expected:?}..., got {line:?}"
            )));
        }
    }
    Ok(stream)
}

/// One client: sends `messages` messages one after the other, each once the
/// previous one came back, and reads every message of the room. Returns the
/// latency of each delivery it saw, and how many messages it missed.
async fn client(
    id: usize,
    stream: TcpStream,
    clients: usize,
    messages: usize,
    start: Instant,
) -> io::Result<(Vec<Duration>, usize)> {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    let me = format!("[load] c{id}: ");
    let expected = clients * messages;
    let mut latencies = Vec::with_capacity(expected);
    let mut missed = 0;
    let mut sent = 0;
    let mut waiting = false; // for our own last message to come back

    while latencies.len() + missed < expected {
        if !waiting && sent < messages {
            // The message carries its sending time, in µs since `start`.
            let line = format!("{sent} {}\n", start.elapsed().as_micros());
            writer.write_all(line.as_bytes()).await?;
            sent += 1;
            waiting = true;
        }
        let Some(line) = lines.next_line().await? else {
            return Err(io::Error::other("the server closed the connection"));
        };
        if let Some(n) = line
            .strip_prefix("* you missed ")
            .and_then(|rest| rest.strip_suffix(" messages"))
        {
            missed += n.parse::<usize>().unwrap_or(0);
            waiting = false; // our own message may be among the lost ones
            continue;
        }
        let sent_at = line
            .rsplit(' ')
            .next()
            .and_then(|us| us.parse::<u64>().ok())
            .ok_or_else(|| io::Error::other(format!("unexpected line {line:?}")))?;
        latencies.push(
            start
                .elapsed()
                .saturating_sub(Duration::from_micros(sent_at)),
        );
        if line.starts_with(&me) {
            waiting = false;
        }
    }
    Ok((latencies, missed))
}

fn runtime() -> io::Result<Runtime> {
    Builder::new_current_thread().enable_all().build()
}

fn invalid(e: std::num::ParseIntError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e)
}
