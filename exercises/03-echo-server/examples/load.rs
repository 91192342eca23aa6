//! Measures your server: round trips per second and their latency.
//!
//! ```text
//! cargo run --release -p exercise-03 --features examples --example load -- CLIENTS ROUND_TRIPS
//! ```
//!
//! (`-p solution-03` instead of `-p exercise-03` measures the reference
//! solution.)
//!
//! The server runs on one thread (a current-thread runtime), the clients on
//! another. Each client connects, then sends a line and waits for its echo,
//! ROUND_TRIPS times in a row. Defaults: 50 clients, 2,000 round trips each.
//! Numbers depend on the machine and on what else it is doing: always state
//! both when you quote one.

use std::io;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use exercise_03::{Config, serve};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::{Builder, Runtime};

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let clients = args.next().unwrap_or(Ok(50)).map_err(invalid)?.max(1);
    let round_trips = args.next().unwrap_or(Ok(2_000)).map_err(invalid)?.max(1);

    // The server, alone on its thread.
    let (addr_tx, addr_rx) = mpsc::channel();
    thread::spawn(move || -> io::Result<()> {
        runtime()?.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            addr_tx
                .send(listener.local_addr()?)
                .expect("main is waiting");
            serve(listener, Config::default()).await;
            Ok(())
        })
    });
    let addr = addr_rx.recv().expect("the server thread failed to start");

    // The clients, together on this thread.
    let (elapsed, mut latencies) = runtime()?.block_on(async move {
        let mut connections = Vec::new();
        for _ in 0..clients {
            connections.push(TcpStream::connect(addr).await?);
        }
        let start = Instant::now();
        let tasks: Vec<_> = connections
            .into_iter()
            .map(|stream| tokio::spawn(client(stream, round_trips)))
            .collect();
        let mut latencies = Vec::with_capacity(clients * round_trips);
        for task in tasks {
            latencies.extend(task.await.expect("a client task panicked")?);
        }
        Ok::<_, io::Error>((start.elapsed(), latencies))
    })?;

    latencies.sort_unstable();
    let total = latencies.len();
    let percentile = |p: usize| latencies[(total * p / 100).min(total - 1)];
    println!("{clients} clients x {round_trips} round trips = {total} in {elapsed:.2?}");
    println!(
        "  {:.0} round trips/s",
        total as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  latency: p50 {:.0?}  p99 {:.0?}  max {:.0?}",
        percentile(50),
        percentile(99),
        latencies[total - 1]
    );
    Ok(())
}

/// One client: `round_trips` times, send a line and wait for its echo.
async fn client(stream: TcpStream, round_trips: usize) -> io::Result<Vec<Duration>> {
    // Without this, the kernel may hold back small writes (Nagle's algorithm).
    stream.set_nodelay(true)?;
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let mut reply = String::new();
    let mut latencies = Vec::with_capacity(round_trips);
    for i in 0..round_trips {
        let line = format!("ping {i}\n");
        let sent = Instant::now();
        writer.write_all(line.as_bytes()).await?;
        reply.clear();
        reader.read_line(&mut reply).await?;
        latencies.push(sent.elapsed());
        if reply != line {
            return Err(io::Error::other(format!("sent {line:?}, got {reply:?}")));
        }
    }
    Ok(latencies)
}

fn runtime() -> io::Result<Runtime> {
    Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
}

fn invalid(e: std::num::ParseIntError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e)
}
