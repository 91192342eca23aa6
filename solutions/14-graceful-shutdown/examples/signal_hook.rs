//! signal-hook 0.4 without tokio: a flag, "a second signal ends it", and
//! the self-pipe trick. The signals come from the program itself (`raise`),
//! so it runs anywhere: `cargo run -p solution-14 --example signal_hook`.

// ANCHOR: example
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGTERM, SIGUSR1};
use signal_hook::flag;
use signal_hook::low_level::{self, pipe};

fn main() -> std::io::Result<()> {
    // A flag. Order matters: the conditional shutdown runs first and exits
    // (status 1) only if the flag is already set, so the FIRST SIGTERM sets
    // the flag and the SECOND one ends the process.
    let stop = Arc::new(AtomicBool::new(false));
    flag::register_conditional_shutdown(SIGTERM, 1, Arc::clone(&stop))?;
    flag::register(SIGTERM, Arc::clone(&stop))?;

    // The self-pipe: on SIGUSR1 the handler writes one byte into `write`
    // (signal-hook 0.4 takes the write end as an `OwnedFd`: it owns it now).
    // The program reads the other end, outside the handler, where it may
    // lock, allocate and print.
    let (mut read, write) = UnixStream::pair()?;
    pipe::register(SIGUSR1, write)?;

    low_level::raise(SIGUSR1)?;
    let mut byte = [0u8; 1];
    read.read_exact(&mut byte)?;
    println!(
        "SIGUSR1: the handler wrote {:?} into the pipe",
        byte[0] as char
    );

    // raise() returns after the handler has run.
    low_level::raise(SIGTERM)?;
    assert!(stop.load(Ordering::SeqCst));
    println!("SIGTERM: the flag is set and the process still runs; the next SIGTERM ends it");
    Ok(())
}
// ANCHOR_END: example
