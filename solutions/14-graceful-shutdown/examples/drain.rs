//! Draining with a CancellationToken and a TaskTracker, without a network:
//! three "connections" handle requests until SIGTERM, then get one second
//! to finish the request in flight.
//! `cargo run -p solution-14 --example drain`

// ANCHOR: example
use std::time::Duration;

use nix::sys::signal::{Signal, raise};
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Handles one request after another until `stop` is cancelled. A request
/// that has started is finished: only the wait *between* requests races
/// against the token.
async fn connection(id: u32, request: Duration, stop: CancellationToken) {
    loop {
        tokio::select! {
            biased;
            _ = stop.cancelled() => break, // idle: leave at once
            _ = sleep(Duration::from_millis(50)) => {} // the next request arrives
        }
        sleep(request).await; // in flight: not interrupted
    }
    println!("connection {id}: closed");
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut terminate = signal(SignalKind::terminate())?;
    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    for (id, ms) in [(1, 100), (2, 300), (3, 5000)] {
        tracker.spawn(connection(id, Duration::from_millis(ms), stop.clone()));
    }

    sleep(Duration::from_millis(120)).await;
    raise(Signal::SIGTERM).expect("raise"); // what `kill -TERM <pid>` does
    terminate.recv().await;

    let started = Instant::now();
    stop.cancel(); // tell every connection
    tracker.close(); // no new tasks: wait() can now complete
    match timeout(Duration::from_secs(1), tracker.wait()).await {
        Ok(()) => println!("drained in {:.1?}", started.elapsed()),
        Err(_) => println!(
            "deadline after {:.1?}: {} connection(s) still busy, dropped",
            started.elapsed(),
            tracker.len()
        ),
    }
    Ok(())
}
// ANCHOR_END: example
