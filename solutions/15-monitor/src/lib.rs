//! Exercise 15: a resource monitor.
//!
//! The monitor's logic is a set of pure functions over [`Snapshot`]s, so
//! that it can be tested on made-up snapshots; only [`Sampler`] touches the
//! real system, through sysinfo. Units: memory in bytes, CPU usage in percent
//! of one core (100 % = one core fully busy, as `top` counts it).
//!
//! ```text
//! cargo test -p exercise-15
//! ```

// The given types are the exercise's own file, not a copy: there must be only
// one version of them.
#[path = "../../../exercises/15-monitor/src/snapshot.rs"]
mod snapshot;

pub use snapshot::{
    Alert, AlertKind, BadInterval, ProcessInfo, ProcessUsage, Report, Snapshot, TreeNode,
};

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};

/// Takes [`Snapshot`]s of the real system with sysinfo.
pub struct Sampler {
    system: System,
    // The origin of `Snapshot::taken_at`: only differences matter.
    origin: Instant,
}

impl Sampler {
    /// A sampler with nothing loaded yet. Fails only where sysinfo cannot
    /// read the system at all.
    pub fn new() -> Result<Sampler, sysinfo::Error> {
        // System::new() loads nothing; each sample refreshes what it needs.
        let system = System::new()?;
        Ok(Sampler {
            system,
            origin: Instant::now(),
        })
    }

    /// Refreshes the processes (CPU time and memory only) and the memory
    /// totals, and returns them as a snapshot. Processes that exited since
    /// the last sample are not in it.
    pub fn sample(&mut self) -> Snapshot {
        // Only what the snapshot holds: CPU times and memory, so fewer
        // files are read per process. `nothing()` still includes the tasks:
        // without `without_tasks()` every thread would be listed as a
        // process of its own, with its process's memory, and its CPU time
        // would count twice.
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing()
                .with_cpu()
                .with_memory()
                .without_tasks(),
        );
        let taken_at = self.origin.elapsed();
        self.system.refresh_memory();

        let processes = self
            .system
            .processes()
            .values()
            .map(|p| ProcessInfo {
                pid: p.pid().as_u32(),
                parent: p.parent().map(|pid| pid.as_u32()),
                name: p.name().to_string_lossy().into_owned(),
                // sysinfo 0.40: milliseconds of CPU time, user + system.
                cpu_time: Duration::from_millis(p.accumulated_cpu_time()),
                // sysinfo 0.40: bytes (before 0.30: KiB).
                memory_bytes: p.memory(),
                start_time: p.start_time(),
            })
            .collect();
        Snapshot {
            taken_at,
            // Refreshing process CPU usage loads the CPU list too.
            cpus: self.system.cpus().len(),
            total_memory_bytes: self.system.total_memory(),
            processes,
        }
    }
}

/// CPU usage of every process of `after` during the interval from `before`
/// to `after`: the CPU time it used in the interval divided by the wall-clock
/// length of the interval, times 100. 100 % is one core busy the whole time;
/// several busy threads add up past 100 %.
///
/// - A process of `after` that is not in `before` started during the
///   interval: all of its CPU time was used in the interval.
/// - A pid whose start time differs between the two snapshots belongs to a
///   new process (the pid was reused): treat it as one that started during
///   the interval.
/// - A process whose CPU time went down (bad data) used 0 %.
/// - Processes of `before` that are gone from `after` are not in the result.
///
/// Returns one entry per process of `after`, sorted by pid, with the name and
/// memory of `after`. Fails with [`BadInterval`] if `after` was not taken
/// later than `before`.
pub fn cpu_usage(before: &Snapshot, after: &Snapshot) -> Result<Vec<ProcessUsage>, BadInterval> {
    if after.taken_at <= before.taken_at {
        return Err(BadInterval {
            before: before.taken_at,
            after: after.taken_at,
        });
    }
    let wall = (after.taken_at - before.taken_at).as_secs_f64();

    // The same process is the same pid with the same start time.
    let earlier: HashMap<(u32, u64), Duration> = before
        .processes
        .iter()
        .map(|p| ((p.pid, p.start_time), p.cpu_time))
        .collect();

    let mut usage: Vec<ProcessUsage> = after
        .processes
        .iter()
        .map(|p| {
            // A process new in this interval started from zero CPU time.
            let start = earlier
                .get(&(p.pid, p.start_time))
                .copied()
                .unwrap_or(Duration::ZERO);
            // saturating_sub: CPU time that went backwards counts as none.
            let used = p.cpu_time.saturating_sub(start).as_secs_f64();
            ProcessUsage {
                pid: p.pid,
                name: p.name.clone(),
                // Percent of ONE core: no division by the number of CPUs.
                cpu_percent: used / wall * 100.0,
                memory_bytes: p.memory_bytes,
            }
        })
        .collect();
    usage.sort_by_key(|u| u.pid);
    Ok(usage)
}

/// The `n` entries with the highest `cpu_percent`, highest first. Entries
/// with equal CPU usage are ordered by pid, lowest first, whatever their
/// order in `usage`.
pub fn top_by_cpu(usage: &[ProcessUsage], n: usize) -> Vec<ProcessUsage> {
    top_by(usage, n, |a, b| b.cpu_percent.total_cmp(&a.cpu_percent))
}

/// The `n` entries with the largest `memory_bytes`, largest first. Entries
/// with equal memory are ordered by pid, lowest first, whatever their order
/// in `usage`.
pub fn top_by_memory(usage: &[ProcessUsage], n: usize) -> Vec<ProcessUsage> {
    top_by(usage, n, |a, b| b.memory_bytes.cmp(&a.memory_bytes))
}

fn top_by(
    usage: &[ProcessUsage],
    n: usize,
    key: impl Fn(&ProcessUsage, &ProcessUsage) -> Ordering,
) -> Vec<ProcessUsage> {
    let mut sorted = usage.to_vec();
    // The pid breaks ties: the order does not depend on the input's order,
    // so a table refreshed every second does not shuffle equal rows.
    sorted.sort_by(|a, b| key(a, b).then(a.pid.cmp(&b.pid)));
    sorted.truncate(n);
    sorted
}

/// The processes of `snapshot` as a forest: each process under its parent,
/// children sorted by pid, roots sorted by pid. Every process appears exactly
/// once. A process is a root if it has no parent, if its parent is not in the
/// snapshot (an orphan whose parent exited), or if it is its own ancestor (a
/// cycle, which only bad data has): every process on such a cycle is a root.
pub fn process_tree(snapshot: &Snapshot) -> Vec<TreeNode> {
    let by_pid: HashMap<u32, &ProcessInfo> =
        snapshot.processes.iter().map(|p| (p.pid, p)).collect();

    // A process is on a cycle if walking up its parents comes back to it.
    // The walk stops at the first pid seen twice, so it ends on any data.
    let on_cycle = |start: u32| {
        let mut seen = HashSet::new();
        let mut pid = start;
        while seen.insert(pid) {
            match by_pid.get(&pid).and_then(|p| p.parent) {
                Some(parent) if by_pid.contains_key(&parent) => pid = parent,
                _ => return false,
            }
        }
        pid == start
    };

    let mut roots = Vec::new();
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for p in &snapshot.processes {
        match p.parent {
            Some(parent) if by_pid.contains_key(&parent) && !on_cycle(p.pid) => {
                children.entry(parent).or_default().push(p.pid);
            }
            _ => roots.push(p.pid),
        }
    }

    // Every non-root hangs under exactly one parent and every chain of
    // parents ends at a root, so this recursion visits each process once.
    fn build(
        pid: u32,
        by_pid: &HashMap<u32, &ProcessInfo>,
        children: &HashMap<u32, Vec<u32>>,
    ) -> TreeNode {
        let mut kids = children.get(&pid).cloned().unwrap_or_default();
        kids.sort_unstable();
        TreeNode {
            pid,
            name: by_pid[&pid].name.clone(),
            children: kids
                .into_iter()
                .map(|kid| build(kid, by_pid, children))
                .collect(),
        }
    }
    roots.sort_unstable();
    roots
        .into_iter()
        .map(|pid| build(pid, &by_pid, &children))
        .collect()
}

/// Watches CPU usage sample after sample and reports when a process has been
/// above a threshold for long enough.
///
/// The rule: a process whose `cpu_percent` is strictly above the threshold in
/// `samples` consecutive calls of [`observe`](AlertRule::observe) fires once
/// ([`AlertKind::Fired`]) in the call that completes the run. It does not
/// fire again while it stays above. The first call in which it is at or
/// below the threshold again reports [`AlertKind::Cleared`] and re-arms the
/// rule: another `samples` consecutive samples above fire again. A sample at
/// or below the threshold before the alert fired starts the count afresh.
/// Each process (by pid) has its own count; a process missing from a call
/// has exited, and its state is forgotten.
pub struct AlertRule {
    threshold_percent: f64,
    samples: u32,
    // Per pid: how many consecutive samples were above, and whether the
    // alert has fired for this run.
    state: HashMap<u32, Run>,
}

#[derive(Default)]
struct Run {
    above: u32,
    fired: bool,
}

impl AlertRule {
    /// A rule that fires when a process is above `threshold_percent` for
    /// `samples` consecutive samples (0 counts as 1).
    pub fn new(threshold_percent: f64, samples: u32) -> AlertRule {
        AlertRule {
            threshold_percent,
            samples: samples.max(1),
            state: HashMap::new(),
        }
    }

    /// Takes one sample (the result of [`cpu_usage`]) and returns the events
    /// it causes, sorted by pid.
    pub fn observe(&mut self, usage: &[ProcessUsage]) -> Vec<Alert> {
        let mut events = Vec::new();
        let mut next = HashMap::with_capacity(usage.len());
        for u in usage {
            // Processes missing from this sample are not carried over.
            let mut run = self.state.remove(&u.pid).unwrap_or_default();
            let event = if u.cpu_percent > self.threshold_percent {
                run.above = run.above.saturating_add(1);
                if run.above >= self.samples && !run.fired {
                    run.fired = true;
                    Some(AlertKind::Fired)
                } else {
                    None
                }
            } else {
                // One sample at or below ends the run and re-arms the rule.
                let was_fired = run.fired;
                run = Run::default();
                was_fired.then_some(AlertKind::Cleared)
            };
            if let Some(kind) = event {
                events.push(Alert {
                    pid: u.pid,
                    name: u.name.clone(),
                    kind,
                    cpu_percent: u.cpu_percent,
                });
            }
            next.insert(u.pid, run);
        }
        self.state = next;
        events.sort_by_key(|a| a.pid);
        events
    }
}

/// The report of one interval: CPU usage from `before` to `after`, the `n`
/// top processes by CPU and by memory, the interval in milliseconds, and the
/// CPU count, total memory and process count of `after`. Fails with
/// [`BadInterval`] like [`cpu_usage`].
pub fn report(before: &Snapshot, after: &Snapshot, n: usize) -> Result<Report, BadInterval> {
    let usage = cpu_usage(before, after)?;
    Ok(Report {
        interval_ms: (after.taken_at - before.taken_at).as_millis() as u64,
        cpus: after.cpus,
        total_memory_bytes: after.total_memory_bytes,
        process_count: after.processes.len(),
        top_cpu: top_by_cpu(&usage, n),
        top_memory: top_by_memory(&usage, n),
    })
}
