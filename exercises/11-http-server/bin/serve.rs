//! Serves a directory with the exercise's server, to try it with curl:
//!
//! ```text
//! cargo run -p exercise-11 --features serve --bin serve-11 -- --root . --addr 127.0.0.1:8080
//! curl -v http://127.0.0.1:8080/files/Cargo.toml
//! ```
//!
//! `--addr` defaults to 127.0.0.1:8080 (loopback: only this machine can
//! connect; port 0 lets the system pick a free port), `--root` to the current
//! directory. The program prints `listening on ADDR` once it accepts.

use std::net::SocketAddr;
use std::path::PathBuf;

use exercise_11::{Config, serve};

fn main() -> std::io::Result<()> {
    let mut addr: SocketAddr = "127.0.0.1:8080".parse().expect("a valid address");
    let mut root = PathBuf::from(".");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        match (arg.as_str(), value) {
            ("--addr", Some(value)) => match value.parse() {
                Ok(parsed) => addr = parsed,
                Err(e) => return usage(&format!("--addr {value}: {e}")),
            },
            ("--root", Some(value)) => root = PathBuf::from(value),
            _ => return usage(&format!("unexpected argument {arg:?}")),
        }
    }
    if !root.is_dir() {
        return usage(&format!("--root {}: not a directory", root.display()));
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("listening on {}", listener.local_addr()?);
        serve(listener, Config::new(root)).await;
        Ok(())
    })
}

fn usage(problem: &str) -> std::io::Result<()> {
    eprintln!("{problem}\nusage: serve-11 [--addr 127.0.0.1:8080] [--root DIR]");
    std::process::exit(2)
}
