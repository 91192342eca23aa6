//! The programs `compare.sh` times, in one binary:
//!
//! ```text
//! logtool generate FILE LINES [SEED]   write a generated access log
//! logtool slow FILE [TOP]              analyse it with analyse_slow
//! logtool fast FILE [TOP]              analyse it with analyse
//! ```
//!
//! `slow` and `fast` print the report's top clients in the format of
//! `uniq -c` and a summary line, so their output can be compared.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use exercise_20::{Report, analyse, analyse_slow, generate_log};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["generate", file, lines, ref seed @ ..] => generate(file, lines, seed.first().copied()),
        ["slow", file, ref top @ ..] => run(file, top.first().copied(), analyse_slow),
        ["fast", file, ref top @ ..] => run(file, top.first().copied(), analyse),
        _ => Err(io::Error::other(
            "usage: logtool generate FILE LINES [SEED] | slow FILE [TOP] | fast FILE [TOP]",
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("logtool: {e}");
            ExitCode::FAILURE
        }
    }
}

fn generate(file: &str, lines: &str, seed: Option<&str>) -> io::Result<()> {
    let lines: u64 = lines.parse().map_err(io::Error::other)?;
    let seed: u64 = seed.unwrap_or("1").parse().map_err(io::Error::other)?;
    let mut out = File::create(file)?;
    generate_log(seed, lines, &mut out)?;
    out.sync_all()
}

fn run(
    file: &str,
    top: Option<&str>,
    analyser: fn(File, usize) -> io::Result<Report>,
) -> io::Result<()> {
    let top: usize = top.unwrap_or("10").parse().map_err(io::Error::other)?;
    let report = analyser(File::open(file)?, top)?;
    let mut out = BufWriter::new(io::stdout().lock());
    for (client, count) in &report.top_clients {
        writeln!(out, "{count:>7} {client}")?;
    }
    writeln!(
        out,
        "lines {} malformed {} paths {:?} statuses {}",
        report.lines,
        report.malformed,
        report.top_paths.first(),
        report.status.len()
    )?;
    out.flush()
}
