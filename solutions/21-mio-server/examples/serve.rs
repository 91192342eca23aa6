//! Runs the mio line server on the loopback interface:
//!
//! ```text
//! cargo run -p solution-21 --features examples --example serve           # port 7878
//! cargo run -p solution-21 --features examples --example serve -- 9000   # another port
//! ```
//!
//! then `nc 127.0.0.1 7878` in a second terminal. Stop it with Ctrl-C.

use std::io;
use std::net::SocketAddr;

use exercise_21::{Config, Server, bind};

fn main() -> io::Result<()> {
    let port = match std::env::args().nth(1) {
        None => 7878,
        Some(arg) => arg.parse::<u16>().map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("port {arg:?}: {e}"))
        })?,
    };
    // Loopback only: programs on other machines cannot connect.
    let listener = bind(SocketAddr::from(([127, 0, 0, 1], port)), 1024)?;
    let server = Server::new(listener, Config::default())?;
    eprintln!("listening on {}", server.local_addr()?);
    server.run()
}
