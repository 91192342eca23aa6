//! `cargo course`: the course's helper for learners and maintainers.
//!
//! `.cargo/config.toml` defines the alias, so every command runs from any
//! directory of the repository without installing anything.

mod browser;
mod cache;
mod checks;
mod contract;
mod exercises;
mod git;
mod hint;
mod i18n;
mod includes;
mod meta;
mod reset;
mod static_files;
mod status;
mod summary;
mod testrun;
mod tools;
mod ui;
mod verify;
mod watch;
mod wrong;

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
    ///
    /// Builds the book in English and in every translation (po/<lang>.po);
    /// each page links to its translation.
    Serve {
        /// Do not open a browser.
        #[arg(long)]
        no_open: bool,
        /// Port to serve on.
        #[arg(long, default_value_t = 3000)]
        port: u16,
        /// Open the book in this language, e.g. zh-CN (default: $COURSE_LANG, else English).
        #[arg(long)]
        lang: Option<String>,
    },
    /// Your progress, week by week: each exercise passed, failing or not started.
    ///
    /// An exercise whose src/ is still the course's stub is "not started";
    /// the tests of every other exercise are run (`cargo test -p exercise-NN`)
    /// and their result is cached under target/course/ for exactly those
    /// sources and that toolchain, so an unchanged course answers at once.
    /// Ends with what to do next. Exits non-zero when an exercise you started
    /// does not compile (its first error is shown). Without the course's own
    /// git clone, every exercise's tests are run.
    Status,
    /// Show the next hint for exercise NN (hint 1, then 2, ... one per call).
    Hint {
        /// The exercise's number, e.g. 03.
        number: String,
        /// Show every hint at once.
        #[arg(long)]
        all: bool,
        /// Start over at hint 1.
        #[arg(long)]
        reset: bool,
        /// Show the hints in this language, e.g. zh-CN (default: $COURSE_LANG, else English).
        #[arg(long)]
        lang: Option<String>,
    },
    /// Re-run an exercise's tests each time you save one of its files.
    ///
    /// Clears the screen and shows each test as ✓ or ✗, with the first
    /// failure's message or the first compiler error. Ctrl-C to stop.
    Watch {
        /// The exercise's number; by default the first one not passing yet.
        number: Option<String>,
    },
    /// Put exercise NN's src/ back to the course's stub (your version is backed up).
    ///
    /// The stub is the course's committed version (the merge base with your
    /// upstream branch if there is one, else HEAD). Your files are copied to
    /// .course/backups/NN-<time>/ first. Asks before it changes anything.
    Reset {
        /// The exercise's number, e.g. 03.
        number: String,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
    /// Show the reference solution of exercise NN (asks first while it does not pass).
    Solution {
        /// The exercise's number, e.g. 03.
        number: String,
        /// Show a diff of your src/ against the solution's instead.
        #[arg(long)]
        diff: bool,
        /// Do not ask first when the exercise does not pass yet.
        #[arg(long, short)]
        yes: bool,
    },
    /// Prove the whole course holds: book blocks, stubs red, solutions green, lints, links, browser.
    ///
    /// With a chapter number, checks that chapter only (its lints, book
    /// blocks, contract, solution, stub, wrong solutions and checks): the
    /// quick answer while writing a chapter.
    Verify {
        /// Only this chapter, e.g. 03.
        number: Option<String>,
    },
    /// How much of the book each translation covers; --update re-extracts the English text.
    ///
    /// --update writes po/messages.pot from the English book and merges it into
    /// each po/<lang>.po (GNU gettext's msgmerge): new text arrives untranslated,
    /// changed text is marked fuzzy and shows in English until reviewed.
    Translations {
        /// Re-extract the English text and merge it into every catalogue.
        #[arg(long)]
        update: bool,
    },
    /// The Debian packages the chapters' checks need, one per line (for CI).
    Needs {
        /// Only those whose programs are not on PATH.
        #[arg(long)]
        missing: bool,
    },
    /// Build the book and check it in headless Chromium (pages, search, play buttons).
    ///
    /// Serves book/html on 127.0.0.1 and drives /usr/bin/chromium through
    /// playwright-core (browser-test/). Screenshots go to target/browser/.
    /// Skipped without Chromium or Node.js, unless CI is set.
    BrowserCheck,
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Setup { maintainer } => tools::setup(maintainer),
        Command::Serve {
            no_open,
            port,
            lang,
        } => tools::serve(!no_open, port, lang.or_else(i18n::from_env)),
        Command::Status => status::run(),
        Command::Hint {
            number,
            all,
            reset,
            lang,
        } => hint::run(&number, all, reset, lang.or_else(i18n::from_env)),
        Command::Translations { update } => i18n::run(update),
        Command::Watch { number } => watch::run(number),
        Command::Reset { number, yes } => reset::reset(&number, yes),
        Command::Solution { number, diff, yes } => reset::solution_with(&number, diff, yes),
        Command::Verify { number } => verify::run(number),
        Command::Needs { missing } => checks::needs(missing),
        Command::BrowserCheck => browser::run(),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo course status | head` closes our stdout early: end quietly, as a
/// program killed by SIGPIPE would, instead of printing a panic.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

/// Errors are one-line messages for the person at the terminal.
pub type Result<T> = std::result::Result<T, String>;
