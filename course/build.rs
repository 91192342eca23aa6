//! Says, on the first `cargo course ...`, what that long build is.
//!
//! The alias runs `cargo run --quiet`, which keeps every later run free of
//! cargo's "Compiling/Finished/Running" lines but would also leave the first,
//! minute-long build silent; `.cargo/config.toml` forces cargo's progress bar
//! back on, and this script adds one line explaining it. Cargo hides a build
//! script's `cargo:warning=` lines under `--quiet`, so the line goes straight
//! to the terminal. The script runs once per target directory (and again only
//! if this file changes); cargo schedules it after most dependencies, about
//! half-way through the first build.

use std::io::Write;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if run_by_an_editor_or_linter() {
        return;
    }
    // No terminal (CI, a pipe, an editor's background build): say nothing.
    if let Some(mut tty) = terminal() {
        // Start at the beginning of a cleared line: the alias has cargo draw
        // its progress bar there (it redraws it on the next line).
        let clear_line = if cfg!(windows) { "" } else { "\r\x1b[K" };
        let _ = writeln!(
            tty,
            "{clear_line}Building the course's helper `cargo course` (first run only)..."
        );
    }
}

/// rust-analyzer and clippy run cargo with themselves as the rustc wrapper;
/// they build this script in the background or for a lint run, not for a
/// learner waiting. (A caching wrapper such as sccache does not count.)
fn run_by_an_editor_or_linter() -> bool {
    ["RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER"]
        .iter()
        .any(|var| {
            std::env::var(var).is_ok_and(|v| v.contains("rust-analyzer") || v.contains("clippy"))
        })
}

/// The controlling terminal, written to directly: cargo captures this
/// script's stdout and stderr.
fn terminal() -> Option<std::fs::File> {
    let path = if cfg!(windows) { "CONOUT$" } else { "/dev/tty" };
    std::fs::OpenOptions::new().write(true).open(path).ok()
}
