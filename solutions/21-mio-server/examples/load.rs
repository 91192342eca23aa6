//! Drives any line server at an address: round trips per second and their
//! latency.
//!
//! ```text
//! cargo run --release -p solution-21 --features examples --example load -- ADDR [CLIENTS] [ROUND_TRIPS]
//! ```
//!
//! Each client is a thread with a blocking socket: it connects, then sends a
//! line and waits for its echo, ROUND_TRIPS times in a row. Defaults: 50
//! clients, 2,000 round trips each. The same program measures chapter 3's
//! tokio server and this chapter's mio server, so the two figures compare.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args
        .next()
        .ok_or_else(|| invalid("usage: load ADDR [CLIENTS] [ROUND_TRIPS]"))?
        .parse()
        .map_err(|e| invalid(&format!("ADDR: {e}")))?;
    let mut number = |default: usize| -> io::Result<usize> {
        match args.next() {
            None => Ok(default),
            Some(a) => a
                .parse::<usize>()
                .map(|n| n.max(1))
                .map_err(|e| invalid(&e.to_string())),
        }
    };
    let clients = number(50)?;
    let round_trips = number(2_000)?;

    // Connect everyone first, start together.
    let barrier = Arc::new(Barrier::new(clients + 1));
    let mut threads = Vec::with_capacity(clients);
    for _ in 0..clients {
        let stream = TcpStream::connect(addr)?;
        let barrier = Arc::clone(&barrier);
        threads.push(thread::spawn(move || {
            barrier.wait();
            client(stream, round_trips)
        }));
    }
    barrier.wait();
    let start = Instant::now();
    let mut latencies = Vec::with_capacity(clients * round_trips);
    for t in threads {
        latencies.extend(t.join().expect("a client thread panicked")?);
    }
    let elapsed = start.elapsed();

    latencies.sort_unstable();
    let total = latencies.len();
    let percentile = |p: usize| latencies[(total * p / 100).min(total - 1)];
    println!("{clients} clients x {round_trips} round trips = {total} in {elapsed:.2?}");
    println!(
        "  {:.0} round trips/s",
        total as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  latency: p50 {}µs  p99 {}µs  max {}µs",
        percentile(50).as_micros(),
        percentile(99).as_micros(),
        latencies[total - 1].as_micros()
    );
    Ok(())
}

fn client(stream: TcpStream, round_trips: usize) -> io::Result<Vec<Duration>> {
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut reply = String::new();
    let mut latencies = Vec::with_capacity(round_trips);
    for i in 0..round_trips {
        let line = format!("ping {i}\n");
        let sent = Instant::now();
        writer.write_all(line.as_bytes())?;
        reply.clear();
        reader.read_line(&mut reply)?;
        latencies.push(sent.elapsed());
        if reply != line {
            return Err(io::Error::other(format!("sent {line:?}, got {reply:?}")));
        }
    }
    Ok(latencies)
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message.to_owned())
}
