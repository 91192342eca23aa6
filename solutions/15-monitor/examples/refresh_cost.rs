//! What one refresh of every process costs, in wall-clock time: the minimum,
//! median and maximum of several runs of each kind.
//!
//! ```text
//! cargo run --release -p solution-15 --features examples --example refresh-cost [RUNS]
//! ```

use std::time::{Duration, Instant};
use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};

/// Times `runs` calls of `refresh` on one System (after one untimed call).
fn time_refreshes(runs: usize, refresh: impl Fn(&mut System)) -> Vec<Duration> {
    let mut sys = System::new().expect("sysinfo works here");
    refresh(&mut sys);
    (0..runs)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(50));
            let start = Instant::now();
            refresh(&mut sys);
            start.elapsed()
        })
        .collect()
}

fn summary(name: &str, mut times: Vec<Duration>) {
    times.sort_unstable();
    println!(
        "{name:<52} min {:>7.2?}  median {:>7.2?}  max {:>7.2?}",
        times[0],
        times[times.len() / 2],
        times[times.len() - 1]
    );
}

fn main() {
    let runs = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("RUNS is a number"))
        .unwrap_or(21);

    let mut sys = System::new().expect("sysinfo works here");
    sys.refresh_processes(ProcessesToUpdate::All, true);
    let all = sys.processes().len();
    let without_threads = sys
        .processes()
        .values()
        .filter(|p| p.thread_kind().is_none())
        .count();
    println!("{all} entries ({without_threads} processes), {runs} runs each");

    summary(
        "refresh_processes(All, true)",
        time_refreshes(runs, |s| {
            s.refresh_processes(ProcessesToUpdate::All, true);
        }),
    );
    summary(
        "refresh_processes_specifics(.., cpu + memory, no tasks)",
        time_refreshes(runs, |s| {
            s.refresh_processes_specifics(
                ProcessesToUpdate::All,
                true,
                ProcessRefreshKind::nothing()
                    .with_cpu()
                    .with_memory()
                    .without_tasks(),
            );
        }),
    );
    // A fresh System each time: what the first refresh of a program costs.
    let first: Vec<Duration> = (0..runs)
        .map(|_| {
            let mut s = System::new().expect("sysinfo works here");
            let start = Instant::now();
            s.refresh_processes(ProcessesToUpdate::All, true);
            start.elapsed()
        })
        .collect();
    summary("first refresh_processes(All, true) of a new System", first);
}
