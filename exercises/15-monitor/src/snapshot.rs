//! The data types of exercise 15: what a snapshot of the system holds, and
//! what the monitor's functions return. They are given and finished: you use
//! them from `lib.rs`, you do not change them. The reference solution uses
//! this very file, through `#[path]`.
//!
//! Units, once and for all: memory in **bytes**, CPU time and timestamps as
//! [`Duration`]s, CPU usage in **percent of one core** (100 % = one core busy
//! all the time, as `top` and `ps` count it; a process with two busy threads
//! on two cores is at 200 %).

use serde::Serialize;
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize)]
// ANCHOR: snapshot
/// The state of the system's processes at one moment.
pub struct Snapshot {
    /// When the snapshot was taken, on a monotonic clock with an arbitrary
    /// origin: only the difference between two snapshots of the same
    /// sampler means something.
    pub taken_at: Duration,
    /// The number of logical CPUs (what `nproc` prints).
    pub cpus: usize,
    /// Total RAM, in bytes (`MemTotal` of `/proc/meminfo`, times 1024).
    pub total_memory_bytes: u64,
    /// The processes, in no particular order. A pid appears at most once.
    pub processes: Vec<ProcessInfo>,
}

// ANCHOR_END: snapshot
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
// ANCHOR: process_info
/// One process in a [`Snapshot`].
pub struct ProcessInfo {
    /// The process id.
    pub pid: u32,
    /// The parent's pid, if the process has one (`init` has none).
    pub parent: Option<u32>,
    /// The short name (`comm` in `/proc/PID/stat`, at most 15 bytes).
    pub name: String,
    /// CPU time used since the process started, user plus system: it only
    /// grows while the process lives.
    pub cpu_time: Duration,
    /// Resident set size (RSS): the bytes of RAM the process occupies now.
    pub memory_bytes: u64,
    /// When the process started, in seconds since the Unix epoch. A pid can
    /// be reused after its process exits; the pid and the start time together
    /// name one process.
    pub start_time: u64,
}
// ANCHOR_END: process_info

#[derive(Debug, Clone, PartialEq, Serialize)]
// ANCHOR: usage
/// What one process used between two snapshots.
pub struct ProcessUsage {
    /// The process id.
    pub pid: u32,
    /// The short name, from the later snapshot.
    pub name: String,
    /// CPU used during the interval, in percent of one core.
    pub cpu_percent: f64,
    /// Resident set size in the later snapshot, in bytes.
    pub memory_bytes: u64,
}
// ANCHOR_END: usage

/// The later snapshot was not taken after the earlier one, so there is no
/// interval to divide by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInterval {
    /// `taken_at` of the snapshot passed as the earlier one.
    pub before: Duration,
    /// `taken_at` of the snapshot passed as the later one.
    pub after: Duration,
}

impl fmt::Display for BadInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the later snapshot ({:?}) is not later than the earlier one ({:?})",
            self.after, self.before
        )
    }
}

impl std::error::Error for BadInterval {}

/// One process in the process tree, with its children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreeNode {
    /// The process id.
    pub pid: u32,
    /// The short name.
    pub name: String,
    /// The children, sorted by pid.
    pub children: Vec<TreeNode>,
}

impl TreeNode {
    /// Every pid of this subtree, depth first, parents before children.
    pub fn pids(&self) -> Vec<u32> {
        let mut out = vec![self.pid];
        for child in &self.children {
            out.extend(child.pids());
        }
        out
    }
}

/// What an [`AlertRule`](crate::AlertRule) reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AlertKind {
    /// The process has been above the threshold for the required number of
    /// consecutive samples.
    Fired,
    /// A process whose alert had fired is at or below the threshold again.
    Cleared,
}

/// One event of an [`AlertRule`](crate::AlertRule).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// The process id.
    pub pid: u32,
    /// The short name.
    pub name: String,
    /// Fired or cleared.
    pub kind: AlertKind,
    /// The process's CPU usage in the sample that caused the event.
    pub cpu_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
// ANCHOR: report
/// What `monitor --json` prints for one interval.
pub struct Report {
    /// The length of the interval, in milliseconds.
    pub interval_ms: u64,
    /// The number of logical CPUs.
    pub cpus: usize,
    /// Total RAM, in bytes.
    pub total_memory_bytes: u64,
    /// The number of processes in the later snapshot.
    pub process_count: usize,
    /// The processes that used the most CPU, highest first.
    pub top_cpu: Vec<ProcessUsage>,
    /// The processes with the largest resident set, largest first.
    pub top_memory: Vec<ProcessUsage>,
}
// ANCHOR_END: report
