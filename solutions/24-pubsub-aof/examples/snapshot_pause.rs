//! How long a rewrite holds the writers' lock: the time to take the
//! [`snapshot`] of a store of KEYS string keys (default 1,000,000), 5 runs.
//!
//!   cargo run --release -p solution-24 --example snapshot_pause
//!   KEYS=100000 cargo run --release -p solution-24 --example snapshot_pause
use std::time::Instant;

use bytes::Bytes;
use exercise_24::{Clock, Db, snapshot, unix_ms};

fn main() {
    let keys: usize = std::env::var("KEYS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(1_000_000);
    let db = Db::new(16, Clock::new());
    for i in 0..keys {
        let args = [
            Bytes::from_static(b"SET"),
            Bytes::from(format!("key:{i}")),
            Bytes::from(format!("value number {i}")),
        ];
        db.execute(&args);
    }
    let mut pauses = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let commands = snapshot(&db, unix_ms());
        pauses.push(start.elapsed());
        assert_eq!(commands.len(), keys);
    }
    pauses.sort();
    println!(
        "snapshot of {keys} keys: min {:?}, median {:?}, max {:?}",
        pauses[0], pauses[2], pauses[4]
    );
}
