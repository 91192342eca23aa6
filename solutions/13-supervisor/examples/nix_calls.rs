//! The system calls std does not offer, through nix 0.32: the process group
//! of a child, a signal to the whole group, and waitpid.
//!
//! `cargo run -p solution-13 --example nix_calls`

// ANCHOR: example
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{Pid, getpgid};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A shell that starts a sleep of its own, in a new process group.
    let child = Command::new("sh")
        .args(["-c", "sleep 30 & wait"])
        .process_group(0)
        .spawn()?;
    let pid = Pid::from_raw(child.id() as i32);
    assert_eq!(getpgid(Some(pid))?, pid, "the child leads its own group");

    // SIGTERM to every process of the group: the shell and its sleep.
    killpg(pid, Signal::SIGTERM)?;

    // waitpid reaps the shell (std's Child::wait does the same).
    match waitpid(pid, None)? {
        WaitStatus::Signaled(_, signal, _) => println!("sh ended by {signal}"),
        other => println!("sh ended: {other:?}"),
    }
    // The sleep got SIGTERM too; orphaned, it is reaped by init.
    Ok(())
}
// ANCHOR_END: example
