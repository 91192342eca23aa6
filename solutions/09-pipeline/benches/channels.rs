//! How long 100,000 `u64` messages take through four channel libraries,
//! from blocking threads: std `mpsc`, crossbeam-channel, flume and tokio
//! `mpsc` (its blocking API, no runtime). Two shapes: 1 producer and 1
//! consumer; 4 producers and 4 consumers. Bounded (capacity 128) and
//! unbounded.
//!
//! Run: `cargo bench -p solution-09` (or `--bench channels`). Each sample
//! spawns the threads, moves every message, and joins them: the figure is
//! the time of the whole exchange, thread start-up included (a few tens of
//! microseconds, against milliseconds for the messages).
//!
//! std `mpsc` and tokio `mpsc` have one receiver, which cannot be cloned:
//! their 4-consumer runs share it behind an `Arc<Mutex<_>>`, the usual way
//! to fan out from a single-consumer channel. crossbeam-channel and flume
//! receivers are cloned.

use std::hint::black_box;
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Messages per exchange, split evenly between the producers.
const MESSAGES: u64 = 100_000;
/// The capacity of the bounded channels.
const CAPACITY: usize = 128;

/// Moves `MESSAGES` values from one thread per sender to one thread per
/// receiver, and returns the sum of what the receivers got.
fn exchange<Tx: Send, Rx: Send>(
    senders: Vec<Tx>,
    receivers: Vec<Rx>,
    send: impl Fn(&Tx, u64) + Sync,
    recv: impl Fn(&mut Rx) -> Option<u64> + Sync,
) -> u64 {
    let per_producer = MESSAGES / senders.len() as u64;
    let (send, recv) = (&send, &recv);
    thread::scope(|s| {
        for tx in senders {
            // `tx` moves into its thread; dropping it at the end is what
            // ends the receivers' loops.
            s.spawn(move || {
                for i in 0..per_producer {
                    send(&tx, i);
                }
            });
        }
        let consumers: Vec<_> = receivers
            .into_iter()
            .map(|mut rx| {
                s.spawn(move || {
                    let mut sum = 0u64;
                    while let Some(v) = recv(&mut rx) {
                        sum += v;
                    }
                    sum
                })
            })
            .collect();
        consumers
            .into_iter()
            .map(|c| c.join().expect("a consumer panicked"))
            .sum()
    })
}

fn copies<T: Clone>(first: T, n: usize) -> Vec<T> {
    vec![first; n]
}

/// One receiver for one consumer; shared behind a mutex for several.
fn shared<R>(rx: R) -> Arc<Mutex<R>> {
    Arc::new(Mutex::new(rx))
}

fn std_mpsc(producers: usize, consumers: usize, bounded: bool) -> u64 {
    // `sync_channel` and `channel` return two different Sender types.
    if bounded {
        let (tx, rx) = mpsc::sync_channel::<u64>(CAPACITY);
        let send = |tx: &mpsc::SyncSender<u64>, v| tx.send(v).expect("receiver alive");
        std_exchange(tx, rx, producers, consumers, send)
    } else {
        let (tx, rx) = mpsc::channel::<u64>();
        let send = |tx: &mpsc::Sender<u64>, v| tx.send(v).expect("receiver alive");
        std_exchange(tx, rx, producers, consumers, send)
    }
}

fn std_exchange<Tx: Clone + Send>(
    tx: Tx,
    rx: mpsc::Receiver<u64>,
    producers: usize,
    consumers: usize,
    send: impl Fn(&Tx, u64) + Sync,
) -> u64 {
    let txs = copies(tx, producers);
    if consumers == 1 {
        exchange(txs, vec![rx], send, |rx| rx.recv().ok())
    } else {
        let rxs = copies(shared(rx), consumers);
        exchange(txs, rxs, send, |rx| rx.lock().unwrap().recv().ok())
    }
}

fn crossbeam(producers: usize, consumers: usize, bounded: bool) -> u64 {
    let (tx, rx) = if bounded {
        crossbeam_channel::bounded::<u64>(CAPACITY)
    } else {
        crossbeam_channel::unbounded::<u64>()
    };
    exchange(
        copies(tx, producers),
        copies(rx, consumers),
        |tx, v| tx.send(v).expect("receiver alive"),
        |rx| rx.recv().ok(),
    )
}

fn flume(producers: usize, consumers: usize, bounded: bool) -> u64 {
    let (tx, rx) = if bounded {
        flume::bounded::<u64>(CAPACITY)
    } else {
        flume::unbounded::<u64>()
    };
    exchange(
        copies(tx, producers),
        copies(rx, consumers),
        |tx, v| tx.send(v).expect("receiver alive"),
        |rx| rx.recv().ok(),
    )
}

fn tokio_mpsc(producers: usize, consumers: usize, bounded: bool) -> u64 {
    use tokio::sync::mpsc as tmpsc;
    // `blocking_send` and `blocking_recv` block the calling thread: fine on
    // plain threads, a panic inside a runtime.
    if bounded {
        let (tx, rx) = tmpsc::channel::<u64>(CAPACITY);
        let txs = copies(tx, producers);
        let send = |tx: &tmpsc::Sender<u64>, v| tx.blocking_send(v).expect("receiver alive");
        if consumers == 1 {
            exchange(txs, vec![rx], send, |rx| rx.blocking_recv())
        } else {
            let rxs = copies(shared(rx), consumers);
            exchange(txs, rxs, send, |rx| rx.lock().unwrap().blocking_recv())
        }
    } else {
        let (tx, rx) = tmpsc::unbounded_channel::<u64>();
        let txs = copies(tx, producers);
        let send = |tx: &tmpsc::UnboundedSender<u64>, v| tx.send(v).expect("receiver alive");
        if consumers == 1 {
            exchange(txs, vec![rx], send, |rx| rx.blocking_recv())
        } else {
            let rxs = copies(shared(rx), consumers);
            exchange(txs, rxs, send, |rx| rx.lock().unwrap().blocking_recv())
        }
    }
}

type Exchange = fn(usize, usize, bool) -> u64;

const LIBRARIES: [(&str, Exchange); 4] = [
    ("std mpsc", std_mpsc),
    ("crossbeam-channel", crossbeam),
    ("flume", flume),
    ("tokio mpsc (blocking)", tokio_mpsc),
];

fn channels(c: &mut Criterion) {
    // Every library moves every message, or the comparison means nothing.
    let per_producer = |p: u64| MESSAGES / p;
    for (name, exchange) in LIBRARIES {
        for (p, q) in [(1, 1), (4, 4)] {
            for bounded in [true, false] {
                let n = per_producer(p as u64);
                let want = p as u64 * n * (n - 1) / 2;
                assert_eq!(
                    exchange(p, q, bounded),
                    want,
                    "{name} {p}/{q} bounded={bounded}"
                );
            }
        }
    }

    for (p, q) in [(1, 1), (4, 4)] {
        for bounded in [true, false] {
            let kind = if bounded {
                format!("bounded({CAPACITY})")
            } else {
                "unbounded".to_string()
            };
            let mut group = c.benchmark_group(format!("{p}p{q}c {kind}"));
            group.throughput(Throughput::Elements(MESSAGES));
            group.sample_size(20);
            group.warm_up_time(Duration::from_secs(1));
            group.measurement_time(Duration::from_secs(3));
            for (name, exchange) in LIBRARIES {
                group.bench_function(name, |b| {
                    b.iter(|| exchange(black_box(p), black_box(q), black_box(bounded)))
                });
            }
            group.finish();
        }
    }
}

criterion_group!(benches, channels);
criterion_main!(benches);
