//! Six ways to read a file, each timed cold (the file's pages dropped from
//! the page cache first) and warm (read again straight after).
//!
//! ```text
//! read_strategies generate FILE MEGABYTES   write an ASCII file of 100-byte lines
//! read_strategies measure FILE RUNS         time each strategy RUNS times
//! ```
//!
//! Every strategy counts the file's '\n' bytes, so each one really touches
//! every byte, and all must agree. `read-strategies.sh` runs both steps.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["generate", file, megabytes] => {
            generate(file, megabytes.parse().map_err(io::Error::other)?)
        }
        ["measure", file, runs] => measure(file, runs.parse().map_err(io::Error::other)?),
        _ => Err(io::Error::other(
            "usage: read_strategies generate FILE MEGABYTES | measure FILE RUNS",
        )),
    }
}

fn generate(path: &str, megabytes: u64) -> io::Result<()> {
    let file = File::create(path)?;
    let mut out = BufWriter::new(&file);
    for i in 0..megabytes * 10_000 {
        // 100 bytes per line: 10,000 lines per megabyte (10^6 bytes).
        writeln!(out, "{i:>12} {:>86}", "ASCII filler for the page cache")?;
    }
    out.flush()?;
    drop(out);
    // Written back to disk, so that dropping the cached pages really drops
    // them (the kernel keeps dirty pages until they are written).
    file.sync_all()
}

// ANCHOR: drop_cache
/// Asks the kernel to drop this file's pages from the page cache, so that
/// the next read comes from the disk: a cold read.
fn drop_from_page_cache(path: &str) -> io::Result<()> {
    let file = File::open(path)?;
    // SAFETY: the descriptor is open for the whole call; offset 0 and
    // length 0 mean "the whole file"; the call only advises the kernel.
    let err = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if err != 0 {
        return Err(io::Error::from_raw_os_error(err));
    }
    Ok(())
}
// ANCHOR_END: drop_cache

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

// ANCHOR: strategies
/// The whole file in one Vec.
fn whole_file(path: &str) -> io::Result<u64> {
    Ok(count_newlines(&std::fs::read(path)?))
}

/// `lines()`: a new String for every line.
fn lines_iterator(path: &str) -> io::Result<u64> {
    let mut n = 0;
    for line in BufReader::new(File::open(path)?).lines() {
        line?;
        n += 1;
    }
    Ok(n)
}

/// `read_line` into one String, cleared and reused.
fn read_line_reused(path: &str) -> io::Result<u64> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut line = String::new();
    let mut n = 0;
    while reader.read_line(&mut line)? > 0 {
        n += 1;
        line.clear();
    }
    Ok(n)
}

/// `read` into one fixed 64 KiB buffer.
fn fixed_buffer(path: &str) -> io::Result<u64> {
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0;
    loop {
        match file.read(&mut buf)? {
            0 => return Ok(n),
            len => n += count_newlines(&buf[..len]),
        }
    }
}

/// A memory map. Mapping is lazy: `map` only reserves addresses, and each
/// page is read from the file when it is first touched. Counting the
/// newlines touches them all; timing `map` alone would time nothing.
fn memory_map(path: &str) -> io::Result<u64> {
    let file = File::open(path)?;
    // SAFETY: the file is not changed or truncated while it is mapped (our
    // own measurement file); if it were, reading the map could fault.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    Ok(count_newlines(&map))
}

/// `tokio::fs::read`: the same `std::fs::read`, run on tokio's blocking
/// thread pool (`spawn_blocking`), since Linux file reads do not suspend.
fn tokio_read(path: &str) -> io::Result<u64> {
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let bytes = runtime.block_on(tokio::fs::read(path))?;
    Ok(count_newlines(&bytes))
}
// ANCHOR_END: strategies

type Strategy = fn(&str) -> io::Result<u64>;

fn measure(path: &str, runs: usize) -> io::Result<()> {
    let strategies: [(&str, Strategy); 6] = [
        ("fs::read", whole_file),
        ("BufReader::lines", lines_iterator),
        ("read_line, one String", read_line_reused),
        ("read, 64 KiB buffer", fixed_buffer),
        ("memmap2 (touched)", memory_map),
        ("tokio::fs::read", tokio_read),
    ];
    let size = std::fs::metadata(path)?.len();
    let expected = whole_file(path)?;
    println!(
        "file {path}: {} MB, {expected} lines, {runs} runs each",
        size / 1_000_000
    );
    println!("| strategy | cold min / median / max | warm min / median / max |");
    println!("|---|---|---|");
    for (name, strategy) in strategies {
        let mut cold = Vec::new();
        let mut warm = Vec::new();
        for _ in 0..runs {
            drop_from_page_cache(path)?;
            cold.push(time(strategy, path, expected)?);
            warm.push(time(strategy, path, expected)?);
        }
        println!(
            "| {name} | {} | {} |",
            summary(&mut cold),
            summary(&mut warm)
        );
    }
    Ok(())
}

fn time(strategy: Strategy, path: &str, expected: u64) -> io::Result<Duration> {
    let start = Instant::now();
    let lines = strategy(path)?;
    let elapsed = start.elapsed();
    if lines != expected {
        return Err(io::Error::other(format!(
            "counted {lines} lines, expected {expected}"
        )));
    }
    Ok(elapsed)
}

fn summary(times: &mut [Duration]) -> String {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "{:.0} / {:.0} / {:.0} ms",
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    )
}
