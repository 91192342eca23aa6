//! `cargo course`: the course's helper for learners and maintainers.
//!
//! `.cargo/config.toml` defines the alias, so every command runs from any
//! directory of the repository without installing anything.

mod exercises;
mod testrun;
mod tools;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo course",
    bin_name = "cargo course",
    about = "Read the book, do the exercises, check the course.",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what is missing (mdBook 0.5.4; with --maintainer also mdbook-linkcheck2).
    Setup {
        /// Also install the maintainer's tools (link checker).
        #[arg(long)]
        maintainer: bool,
    },
    /// Install mdBook if needed, then serve the book at http://localhost:3000 and open it.
    Serve {
        /// Do not open a browser.
        #[arg(long)]
        no_open: bool,
        /// Port to serve on.
        #[arg(long, default_value_t = 3000)]
        port: u16,
    },
    /// Prove the whole course holds: book blocks, stubs red, solutions green, lints, links.
    Verify,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Setup { maintainer } => tools::setup(maintainer),
        Command::Serve { no_open, port } => tools::serve(!no_open, port),
        Command::Verify => verify::run(),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Errors are one-line messages for the person at the terminal.
pub type Result<T> = std::result::Result<T, String>;
