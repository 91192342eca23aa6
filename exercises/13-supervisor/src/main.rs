//! The supervisor as a program (given; you do not need to change it).
//!
//! ```console
//! cargo run -p exercise-13 -- --config supervisor.toml
//! ```
//!
//! Prints each line of each program's output as `[name] line` (stdout lines
//! on stdout, stderr lines on stderr) and what happens to the programs on
//! stderr. SIGTERM or SIGINT (Ctrl-C) stops every program, then the
//! supervisor itself. Exit status: 0 after a clean stop, 2 for a bad command
//! line or configuration.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitCode;

use exercise_13::{Config, Event, Stream, Supervisor};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = match args.as_slice() {
        [flag, path] if flag == "--config" => path,
        _ => {
            eprintln!("usage: supervisor --config FILE.toml");
            return ExitCode::from(2);
        }
    };
    let config = match std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {path}: {e}"))
        .and_then(|text| Config::from_toml(&text).map_err(|e| format!("{path}: {e}")))
    {
        Ok(config) => config,
        Err(e) => {
            eprintln!("supervisor: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("building the tokio runtime");
    runtime.block_on(run(config))
}

async fn run(config: Config) -> ExitCode {
    let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("installing a SIGINT handler");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let supervisor = Supervisor::start(config, tx);
    eprintln!("supervisor: running (pid {})", std::process::id());
    loop {
        tokio::select! {
            event = rx.recv() => match event {
                Some(event) => print(&event),
                None => break, // every program's task has ended
            },
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    eprintln!("supervisor: stopping");
    supervisor.stop().await;
    // What the programs said while stopping.
    while let Ok(event) = rx.try_recv() {
        print(&event);
    }
    eprintln!("supervisor: stopped");
    ExitCode::SUCCESS
}

fn print(event: &Event) {
    match event {
        Event::Line { name, stream, text } => match stream {
            Stream::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "[{name}] {text}");
                let _ = out.flush();
            }
            Stream::Stderr => eprintln!("[{name}] {text}"),
        },
        Event::Started { name, pid } => eprintln!("supervisor: {name} started, pid {pid}"),
        Event::Exited { name, status } => match (status.code(), status.signal()) {
            (Some(code), _) => eprintln!("supervisor: {name} exited with status {code}"),
            (_, Some(signal)) => eprintln!("supervisor: {name} killed by signal {signal}"),
            _ => eprintln!("supervisor: {name} exited ({status})"),
        },
        Event::Restarting { name, delay } => {
            eprintln!("supervisor: restarting {name} in {delay:?}")
        }
        Event::GaveUp { name } => eprintln!("supervisor: {name} restarts too often: FATAL"),
    }
}
