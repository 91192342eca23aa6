//! Runs your server on the loopback interface, so that you can talk to it
//! with a real client:
//!
//! ```text
//! cargo run -p exercise-03 --features examples --example serve           # port 7878
//! cargo run -p exercise-03 --features examples --example serve -- 9000   # another port
//! ```
//!
//! (`--features examples`: the examples are left out of `cargo test` so that
//! a re-test after an edit links fewer binaries. With `-p solution-03` the
//! same program runs the reference solution.)
//!
//! then, in a second terminal, `nc 127.0.0.1 7878`. Stop it with Ctrl-C.

use std::io;

use exercise_03::{Config, serve};
use tokio::net::TcpListener;

fn main() -> io::Result<()> {
    let port = match std::env::args().nth(1) {
        None => 7878,
        Some(arg) => arg.parse::<u16>().map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("port {arg:?}: {e}"))
        })?,
    };
    // A runtime built by hand: `#[tokio::main]` needs tokio's `macros`
    // feature, which this crate leaves out to compile faster.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time() // for the idle timeout and the pause after accept errors
        .build()?;
    runtime.block_on(async {
        // Loopback only: programs on other machines cannot connect. Read the
        // chapter's section on 127.0.0.1 before you change this.
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        eprintln!("listening on {}", listener.local_addr()?);
        serve(listener, Config::default()).await;
        Ok(())
    })
}
