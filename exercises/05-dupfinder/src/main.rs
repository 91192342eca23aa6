//! `dupfinder`: finds files with identical content.
//!
//! The solution builds this very file too, as its `dupfinder-reference`
//! binary (its Cargo.toml points here): it parses the arguments, draws a
//! progress bar while the library works, and prints the report. Everything
//! it calls lives in `src/lib.rs`.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread::{self, Thread};
use std::time::Duration;

use clap::Parser;
use exercise_05::{Options, Progress, Report, confirm, scan, write_json_lines, write_text};
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Find files with identical content: same size, then same BLAKE3 hash of
/// the first 4 KiB, then of the whole file.
#[derive(Parser, Debug)]
#[command(
    name = "dupfinder",
    version,
    after_help = "Exit status, as for diff and cmp: 0 no duplicates found, \
                  1 duplicates found, 2 trouble (a path could not be scanned \
                  or read, or bad usage).\n\
                  Hard links to one file are one file, not duplicates. \
                  Symbolic links are not followed unless -L is given."
)]
struct Args {
    /// Directories (or files) to scan.
    #[arg(default_value = ".")]
    roots: Vec<PathBuf>,
    /// Follow symbolic links; loops and broken links are reported.
    #[arg(short = 'L', long)]
    follow_links: bool,
    /// Also report empty files (as one group).
    #[arg(short = 'z', long)]
    empty: bool,
    /// Print one JSON object per group and line: {"paths":[...],"size":N}.
    #[arg(long)]
    json: bool,
    /// Number of hashing threads [default: one per logical CPU].
    #[arg(short = 'j', long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(threads) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads.into())
            .build_global()
            .expect("the global thread pool is configured once, before any use");
    }
    let opts = Options {
        follow_links: args.follow_links,
        include_empty: args.empty,
    };
    let progress = Progress::default();
    let report = with_progress_bar(&progress, || {
        // No per-file hook: the progress bar reads the counters.
        confirm(scan(&args.roots, &opts, &progress), &progress, |_| {})
    });

    // Errors first, on stderr: they do not change the groups on stdout.
    for error in &report.errors {
        eprintln!("dupfinder: {error}");
    }
    let mut out = BufWriter::new(io::stdout().lock());
    let written = if args.json {
        write_json_lines(&report.groups, &mut out)
    } else {
        write_text(&report.groups, &mut out)
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => {}
        // `dupfinder | head` closes the pipe early: not an error of ours.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {}
        Err(err) => {
            eprintln!("dupfinder: writing the report: {err}");
            return ExitCode::from(2);
        }
    }
    if io::stderr().is_terminal() {
        eprintln!("{}", summary(&report));
    }
    ExitCode::from(report.exit_code())
}

// ANCHOR: progress
/// Runs `work` while a second thread redraws a progress bar from the
/// counters in `progress` ten times a second. Only when stderr is a
/// terminal: in a pipe or a test, a progress bar is just noise.
fn with_progress_bar<T>(progress: &Progress, work: impl FnOnce() -> T) -> T {
    if !io::stderr().is_terminal() {
        return work();
    }
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        let drawer = s.spawn(|| draw(progress, &done));
        // Stops the drawer even if `work` panics: otherwise the scope would
        // wait for it forever instead of passing the panic on.
        let _stop = StopOnDrop(&done, drawer.thread().clone());
        work()
    })
}

struct StopOnDrop<'a>(&'a AtomicBool, Thread);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Relaxed);
        self.1.unpark();
    }
}

fn draw(progress: &Progress, done: &AtomicBool) {
    // Relaxed loads are enough: each counter is read on its own, and a value
    // a few microseconds old is fine for a progress bar.
    let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        .with_style(ProgressStyle::with_template("{spinner} scanning: {msg} files").unwrap());
    let mut bar: Option<ProgressBar> = None;
    while !done.load(Relaxed) {
        let candidates = progress.candidates.load(Relaxed);
        if candidates == 0 {
            // Still walking: the total is unknown, count what was found.
            spinner.set_message(progress.files_found.load(Relaxed).to_string());
            spinner.tick();
        } else {
            // Hashing: `candidates` is the length of the bar.
            let settled = progress.candidates_done.load(Relaxed);
            let read = format!("{} read", HumanBytes(progress.bytes_read.load(Relaxed)));
            match &bar {
                Some(bar) => {
                    bar.set_position(settled);
                    bar.set_message(read);
                }
                None => {
                    spinner.finish_and_clear();
                    let style =
                        ProgressStyle::with_template("hashing [{bar:30}] {pos}/{len} files, {msg}");
                    let new = ProgressBar::with_draw_target(
                        Some(candidates),
                        ProgressDrawTarget::stderr(),
                    )
                    .with_style(style.unwrap().progress_chars("=> "))
                    .with_position(settled)
                    .with_message(read);
                    new.tick();
                    bar = Some(new);
                }
            }
        }
        // Woken early by StopOnDrop when the work is over.
        thread::park_timeout(Duration::from_millis(100));
    }
    spinner.finish_and_clear();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}
// ANCHOR_END: progress

/// One line for a human: how much space the duplicates take.
fn summary(report: &Report) -> String {
    let files: usize = report.groups.iter().map(|g| g.paths.len()).sum();
    let wasted: u64 = report
        .groups
        .iter()
        .map(|g| g.size * (g.paths.len() as u64 - 1))
        .sum();
    format!(
        "dupfinder: {} groups, {files} files, {} in extra copies; {} errors",
        report.groups.len(),
        HumanBytes(wasted),
        report.errors.len()
    )
}
