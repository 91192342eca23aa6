//! Runs your chat server on the loopback interface, so that you can talk to
//! it with real clients:
//!
//! ```text
//! cargo run -p exercise-08 --features examples --example serve           # port 7878
//! cargo run -p exercise-08 --features examples --example serve -- 9000   # another port
//! ```
//!
//! (`--features examples`: the examples are left out of `cargo test` so that
//! a re-test after an edit links fewer binaries. `-p solution-08 --features
//! examples` runs the reference solution instead.)
//!
//! Then, in two more terminals, `nc 127.0.0.1 7878`. While the server runs,
//! type on its standard input to change the live settings:
//!
//! ```text
//! motd TEXT    a new message of the day, sent to every client
//! max N        a new longest message, in bytes
//! ```
//!
//! The end of the standard input (Ctrl-D) shuts the server down: every client
//! receives the goodbye. (Ctrl-C kills it at once, without one; chapter 14
//! turns signals into a graceful shutdown.)

use std::io::{self, BufRead};
use std::thread;

use exercise_08::{Config, Settings, serve};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

fn main() -> io::Result<()> {
    let port = match std::env::args().nth(1) {
        None => 7878,
        Some(arg) => arg.parse::<u16>().map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("port {arg:?}: {e}"))
        })?,
    };
    let (settings, receiver) = watch::channel(Settings::default());
    let shutdown = CancellationToken::new();

    // The standard input, read on a plain thread: both `send_modify` and
    // `cancel` are ordinary functions, callable from any thread.
    let stop = shutdown.clone();
    thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            match line.split_once(' ') {
                Some(("motd", text)) => settings.send_modify(|s| s.motd = text.to_owned()),
                Some(("max", n)) => match n.trim().parse() {
                    Ok(n) => settings.send_modify(|s| s.max_message = n),
                    Err(e) => eprintln!("max {n}: {e}"),
                },
                _ => eprintln!("type `motd TEXT` or `max N`; Ctrl-D stops the server"),
            }
        }
        eprintln!("end of input: shutting down");
        stop.cancel();
    });

    // A runtime built by hand: `#[tokio::main]` needs tokio's proc-macro
    // crate, which this exercise does not otherwise use.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // Loopback only: programs on other machines cannot connect.
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        eprintln!("listening on {}", listener.local_addr()?);
        serve(listener, Config::default(), receiver, shutdown).await;
        eprintln!("the server has stopped");
        Ok(())
    })
}
