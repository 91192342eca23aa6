//! The specification of exercise 15. Most tests feed made-up snapshots to
//! the pure functions; the last ones take real snapshots of this machine
//! through your `Sampler`, with a busy child process to find.
//!
//! Units: memory in bytes, CPU usage in percent of one core (100 % = one
//! core busy for the whole interval).

use exercise_15::{
    AlertKind, AlertRule, BadInterval, ProcessInfo, ProcessUsage, Sampler, Snapshot, TreeNode,
    cpu_usage, process_tree, report, top_by_cpu, top_by_memory,
};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use testkit::{LIMIT, within};

// ---------------------------------------------------------------------------
// Made-up snapshots

const MIB: u64 = 1024 * 1024;

/// A process that started at second 1000 since the epoch.
fn p(pid: u32, parent: Option<u32>, name: &str, cpu_ms: u64, memory_bytes: u64) -> ProcessInfo {
    ProcessInfo {
        pid,
        parent,
        name: name.to_owned(),
        cpu_time: Duration::from_millis(cpu_ms),
        memory_bytes,
        start_time: 1000,
    }
}

/// A snapshot of a 4-CPU machine with 8 GiB, taken at `at_ms`.
fn snap(at_ms: u64, processes: Vec<ProcessInfo>) -> Snapshot {
    Snapshot {
        taken_at: Duration::from_millis(at_ms),
        cpus: 4,
        total_memory_bytes: 8192 * MIB,
        processes,
    }
}

fn u(pid: u32, cpu_percent: f64, memory_bytes: u64) -> ProcessUsage {
    ProcessUsage {
        pid,
        name: format!("p{pid}"),
        cpu_percent,
        memory_bytes,
    }
}

/// Runs `body` under the watchdog: a loop that never ends fails the test.
#[track_caller]
fn check<T: Send + 'static>(expected: &str, body: impl FnOnce() -> T + Send + 'static) -> T {
    within(LIMIT, expected, body)
}

#[track_caller]
fn usage_of(usage: &[ProcessUsage], pid: u32) -> &ProcessUsage {
    usage
        .iter()
        .find(|u| u.pid == pid)
        .unwrap_or_else(|| panic!("pid {pid} is missing from the result: {usage:#?}"))
}

#[track_caller]
fn assert_percent(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() < 0.01,
        "{what}: expected {expected} %, got {actual} %"
    );
}

#[track_caller]
fn pids(usage: &[ProcessUsage]) -> Vec<u32> {
    usage.iter().map(|u| u.pid).collect()
}

// ---------------------------------------------------------------------------
// cpu_usage

#[test]
fn cpu_percent_is_cpu_time_used_over_the_wall_time_between_samples() {
    let usage = check("cpu_usage to return", || {
        let before = snap(10_000, vec![p(7, None, "worker", 2_000, MIB)]);
        let after = snap(12_000, vec![p(7, None, "worker", 3_000, MIB)]);
        cpu_usage(&before, &after).expect("after is 2 s later than before")
    });
    assert_percent(
        usage_of(&usage, 7).cpu_percent,
        50.0,
        "1000 ms of CPU time in a 2000 ms interval",
    );
}

#[test]
fn cpu_percent_ignores_cpu_time_used_before_the_first_sample() {
    // Days of CPU time before the interval, 100 ms in it.
    let usage = check("cpu_usage to return", || {
        let before = snap(0, vec![p(1, None, "old-daemon", 86_400_000, MIB)]);
        let after = snap(1_000, vec![p(1, None, "old-daemon", 86_400_100, MIB)]);
        cpu_usage(&before, &after).unwrap()
    });
    assert_percent(
        usage_of(&usage, 1).cpu_percent,
        10.0,
        "a process that used 100 ms of CPU in the 1 s interval (cpu_time is \
         cumulative since the process started: use the difference between \
         the two samples)",
    );
}

#[test]
fn cpu_percent_counts_one_busy_core_as_100_and_adds_up_over_cores() {
    // 4 CPUs. One thread busy all the time; two threads busy all the time.
    let usage = check("cpu_usage to return", || {
        let before = snap(
            0,
            vec![p(10, None, "one", 0, MIB), p(11, None, "two", 0, MIB)],
        );
        let after = snap(
            1_000,
            vec![
                p(10, None, "one", 1_000, MIB),
                p(11, None, "two", 2_000, MIB),
            ],
        );
        cpu_usage(&before, &after).unwrap()
    });
    assert_percent(
        usage_of(&usage, 10).cpu_percent,
        100.0,
        "one core busy for the whole interval is 100 % (percent of ONE core, \
         as top counts it: do not divide by the number of CPUs)",
    );
    assert_percent(
        usage_of(&usage, 11).cpu_percent,
        200.0,
        "two cores busy for the whole interval",
    );
}

#[test]
fn a_process_that_started_during_the_interval_counts_all_its_cpu_time() {
    let usage = check("cpu_usage to return", || {
        let before = snap(0, vec![p(1, None, "init", 0, MIB)]);
        let after = snap(
            1_000,
            vec![p(1, None, "init", 0, MIB), p(50, Some(1), "new", 250, MIB)],
        );
        cpu_usage(&before, &after).unwrap()
    });
    assert_percent(
        usage_of(&usage, 50).cpu_percent,
        25.0,
        "pid 50 is not in the earlier snapshot: it started in the interval, \
         so its 250 ms of CPU time were all used in it",
    );
}

#[test]
fn a_process_that_exited_during_the_interval_is_left_out() {
    let usage = check("cpu_usage to return", || {
        let before = snap(
            0,
            vec![p(1, None, "init", 0, MIB), p(60, Some(1), "gone", 900, MIB)],
        );
        let after = snap(1_000, vec![p(1, None, "init", 10, MIB)]);
        cpu_usage(&before, &after).unwrap()
    });
    assert_eq!(
        pids(&usage),
        vec![1],
        "pid 60 exited: only the processes of the later snapshot are reported"
    );
}

#[test]
fn a_reused_pid_with_a_new_start_time_is_a_new_process() {
    let usage = check("cpu_usage to return", || {
        let old = p(42, None, "old", 5_000, MIB);
        let mut new = p(42, None, "new", 300, MIB);
        new.start_time = old.start_time + 600;
        let before = snap(0, vec![old]);
        let after = snap(1_000, vec![new]);
        cpu_usage(&before, &after).unwrap()
    });
    assert_percent(
        usage_of(&usage, 42).cpu_percent,
        30.0,
        "pid 42 has another start time in the later snapshot: the old process \
         exited and a new one got its pid. The new one started in the \
         interval, so its 300 ms of CPU time count in full (compare pid AND \
         start_time)",
    );
}

#[test]
fn cpu_time_that_goes_backwards_counts_as_zero() {
    let usage = check("cpu_usage to return without panicking", || {
        let before = snap(0, vec![p(5, None, "odd", 800, MIB)]);
        let after = snap(1_000, vec![p(5, None, "odd", 700, MIB)]);
        cpu_usage(&before, &after).unwrap()
    });
    assert_percent(
        usage_of(&usage, 5).cpu_percent,
        0.0,
        "the same process with less CPU time than before (bad data)",
    );
}

#[test]
fn usage_is_sorted_by_pid_with_name_and_memory_of_the_later_snapshot() {
    let usage = check("cpu_usage to return", || {
        let before = snap(0, vec![p(30, None, "c", 0, MIB), p(10, None, "a", 0, MIB)]);
        let after = snap(
            500,
            vec![
                p(30, None, "c", 100, 3 * MIB),
                p(20, None, "b", 0, 2 * MIB),
                p(10, None, "a-renamed", 50, 5 * MIB),
            ],
        );
        cpu_usage(&before, &after).unwrap()
    });
    assert_eq!(
        pids(&usage),
        vec![10, 20, 30],
        "one entry per process, by pid"
    );
    let a = usage_of(&usage, 10);
    assert_eq!(
        a.name, "a-renamed",
        "the name comes from the later snapshot"
    );
    assert_eq!(
        a.memory_bytes,
        5 * MIB,
        "memory comes from the later snapshot, in bytes"
    );
    assert_percent(a.cpu_percent, 10.0, "50 ms of CPU time in 500 ms");
}

#[test]
fn snapshots_in_the_wrong_order_are_an_error() {
    let (reversed, same) = check("cpu_usage to return", || {
        let early = snap(1_000, vec![p(1, None, "init", 0, MIB)]);
        let late = snap(2_000, vec![p(1, None, "init", 10, MIB)]);
        (cpu_usage(&late, &early), cpu_usage(&early, &early))
    });
    assert_eq!(
        reversed,
        Err(BadInterval {
            before: Duration::from_millis(2_000),
            after: Duration::from_millis(1_000),
        }),
        "the 'after' snapshot was taken before the 'before' one"
    );
    assert!(
        same.is_err(),
        "two snapshots taken at the same moment have no interval to divide by, got {same:?}"
    );
}

// ---------------------------------------------------------------------------
// top_by_cpu, top_by_memory

#[test]
fn top_by_cpu_returns_the_n_busiest_highest_first() {
    let top = check("top_by_cpu to return", || {
        let usage = vec![
            u(1, 5.0, MIB),
            u(2, 90.0, MIB),
            u(3, 0.0, MIB),
            u(4, 150.0, MIB),
            u(5, 20.0, MIB),
        ];
        top_by_cpu(&usage, 3)
    });
    assert_eq!(
        pids(&top),
        vec![4, 2, 5],
        "the three highest cpu_percent, highest first"
    );
}

#[test]
fn top_by_cpu_orders_equal_usage_by_pid() {
    // Equal figures are common: every idle process is at 0 %.
    let top = check("top_by_cpu to return", || {
        let usage = vec![
            u(40, 0.0, MIB),
            u(30, 50.0, MIB),
            u(20, 0.0, MIB),
            u(10, 50.0, MIB),
        ];
        top_by_cpu(&usage, 4)
    });
    assert_eq!(
        pids(&top),
        vec![10, 30, 20, 40],
        "equal cpu_percent: lower pid first, whatever the input order \
         (otherwise rows swap places from one refresh to the next)"
    );
}

#[test]
fn top_by_memory_returns_the_largest_with_ties_by_pid() {
    let top = check("top_by_memory to return", || {
        let usage = vec![
            u(9, 99.0, MIB),
            u(8, 0.0, 700 * MIB),
            u(7, 0.0, 64 * MIB),
            u(6, 0.0, 700 * MIB),
        ];
        top_by_memory(&usage, 3)
    });
    assert_eq!(
        pids(&top),
        vec![6, 8, 7],
        "largest memory_bytes first; equal memory: lower pid first"
    );
}

#[test]
fn top_n_larger_than_the_list_returns_everything_and_zero_returns_nothing() {
    let (all, none) = check("top_by_cpu to return", || {
        let usage = vec![u(1, 1.0, MIB), u(2, 2.0, MIB)];
        (top_by_cpu(&usage, 10), top_by_memory(&usage, 0))
    });
    assert_eq!(pids(&all), vec![2, 1], "n = 10 with two processes");
    assert!(none.is_empty(), "n = 0 gives an empty list, got {none:?}");
}

// ---------------------------------------------------------------------------
// process_tree

fn node(pid: u32, name: &str, children: Vec<TreeNode>) -> TreeNode {
    TreeNode {
        pid,
        name: name.to_owned(),
        children,
    }
}

#[test]
fn children_sit_under_their_parents_sorted_by_pid() {
    let tree = check("process_tree to return", || {
        process_tree(&snap(
            0,
            vec![
                p(300, Some(100), "bash", 0, MIB),
                p(100, Some(1), "sshd", 0, MIB),
                p(1, None, "init", 0, MIB),
                p(200, Some(1), "cron", 0, MIB),
                p(150, Some(100), "sftp", 0, MIB),
            ],
        ))
    });
    let want = vec![node(
        1,
        "init",
        vec![
            node(
                100,
                "sshd",
                vec![node(150, "sftp", vec![]), node(300, "bash", vec![])],
            ),
            node(200, "cron", vec![]),
        ],
    )];
    assert_eq!(tree, want, "init at the root, children sorted by pid");
}

#[test]
fn orphans_whose_parent_is_gone_are_roots() {
    let tree = check("process_tree to return", || {
        process_tree(&snap(
            0,
            vec![
                p(1, None, "init", 0, MIB),
                p(77, Some(66), "orphan", 0, MIB),
                p(78, Some(77), "orphans-child", 0, MIB),
            ],
        ))
    });
    let want = vec![
        node(1, "init", vec![]),
        node(77, "orphan", vec![node(78, "orphans-child", vec![])]),
    ];
    assert_eq!(
        tree, want,
        "pid 66 is not in the snapshot (it exited between two reads): its \
         child 77 must still be shown, at the root, roots sorted by pid"
    );
}

#[test]
fn a_parent_cycle_in_bad_data_ends_and_keeps_every_process() {
    // 5 -> 6 -> 5 is a cycle; 3 hangs under 5; 9 is its own parent.
    // Two seconds, not the usual five: the work takes microseconds, and a
    // loop that never ends should be reported quickly.
    let tree = within(
        Duration::from_secs(2),
        "process_tree to return on a snapshot whose parent links form a cycle \
         (walking up the parents must stop at a pid it has already seen)",
        || {
            process_tree(&snap(
                0,
                vec![
                    p(5, Some(6), "five", 0, MIB),
                    p(6, Some(5), "six", 0, MIB),
                    p(3, Some(5), "three", 0, MIB),
                    p(9, Some(9), "nine", 0, MIB),
                ],
            ))
        },
    );
    let want = vec![
        node(5, "five", vec![node(3, "three", vec![])]),
        node(6, "six", vec![]),
        node(9, "nine", vec![]),
    ];
    assert_eq!(
        tree, want,
        "every process on a cycle is a root (5, 6, and 9, its own parent); \
         3 is not on the cycle and stays under 5"
    );
}

#[test]
fn every_process_appears_exactly_once_in_the_tree() {
    let (mut seen, n) = check("process_tree to return", || {
        let processes: Vec<ProcessInfo> = (1..=200)
            .map(|pid| {
                // A made-up family: parents are pid / 3, some of them missing.
                let parent = if pid == 1 { None } else { Some(pid / 3) };
                p(pid, parent, "p", 0, MIB)
            })
            .filter(|p| p.pid % 17 != 0)
            .collect();
        let n = processes.len();
        let tree = process_tree(&snap(0, processes));
        (tree.iter().flat_map(|t| t.pids()).collect::<Vec<_>>(), n)
    });
    let total = seen.len();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(total, n, "the tree holds {total} entries for {n} processes");
    assert_eq!(seen.len(), n, "some process appears twice in the tree");
}

// ---------------------------------------------------------------------------
// AlertRule

/// One sample where pid 1 is at `percent` and pid 2 is idle.
fn sample(percent: f64) -> Vec<ProcessUsage> {
    vec![u(1, percent, MIB), u(2, 0.0, MIB)]
}

/// The kinds of events for each sample, in order.
fn alert_kinds(rule: &mut AlertRule, percents: &[f64]) -> Vec<Vec<(u32, AlertKind)>> {
    percents
        .iter()
        .map(|&pct| {
            rule.observe(&sample(pct))
                .into_iter()
                .map(|a| (a.pid, a.kind))
                .collect()
        })
        .collect()
}

#[test]
fn an_alert_fires_on_the_third_consecutive_sample_above_the_threshold() {
    let events = check("observe to return", || {
        let mut rule = AlertRule::new(80.0, 3);
        alert_kinds(&mut rule, &[95.0, 95.0, 95.0])
    });
    assert_eq!(
        events,
        vec![vec![], vec![], vec![(1, AlertKind::Fired)]],
        "samples of 95 % with a rule of 80 % for 3 samples: nothing, nothing, Fired"
    );
}

#[test]
fn an_alert_fires_once_while_the_process_stays_above() {
    let events = check("observe to return", || {
        let mut rule = AlertRule::new(80.0, 3);
        alert_kinds(&mut rule, &[95.0, 95.0, 95.0, 95.0, 99.0, 120.0])
    });
    let fired: usize = events.iter().map(Vec::len).sum();
    assert_eq!(
        fired, 1,
        "six samples above 80 %: the alert fires once, on the third, not on \
         every sample after it; events: {events:?}"
    );
}

#[test]
fn an_alert_clears_when_usage_drops_and_then_fires_again() {
    let events = check("observe to return", || {
        let mut rule = AlertRule::new(80.0, 3);
        alert_kinds(&mut rule, &[90.0, 90.0, 90.0, 10.0, 90.0, 90.0, 90.0])
    });
    assert_eq!(
        events,
        vec![
            vec![],
            vec![],
            vec![(1, AlertKind::Fired)],
            vec![(1, AlertKind::Cleared)],
            vec![],
            vec![],
            vec![(1, AlertKind::Fired)],
        ],
        "after the drop to 10 % the rule reports Cleared and re-arms: three \
         more samples above fire it again"
    );
}

#[test]
fn samples_above_that_are_not_consecutive_do_not_fire() {
    let events = check("observe to return", || {
        let mut rule = AlertRule::new(80.0, 3);
        alert_kinds(&mut rule, &[90.0, 90.0, 50.0, 90.0, 90.0, 50.0, 90.0])
    });
    assert!(
        events.iter().all(Vec::is_empty),
        "five samples above 80 %, but never three in a row: a sample at or \
         below the threshold starts the count afresh; events: {events:?}"
    );
}

#[test]
fn usage_equal_to_the_threshold_is_not_above_it() {
    let events = check("observe to return", || {
        let mut rule = AlertRule::new(80.0, 3);
        alert_kinds(&mut rule, &[80.0, 80.0, 80.0, 80.0])
    });
    assert!(
        events.iter().all(Vec::is_empty),
        "exactly 80 % is not above 80 %; events: {events:?}"
    );
}

#[test]
fn each_process_has_its_own_count_and_an_exited_one_is_forgotten() {
    let events = check("observe to return", || {
        let mut rule = AlertRule::new(80.0, 2);
        let mut kinds = Vec::new();
        let samples = [
            vec![u(1, 90.0, MIB), u(2, 90.0, MIB)],
            vec![u(1, 90.0, MIB)],                  // 2 exited
            vec![u(1, 90.0, MIB), u(2, 90.0, MIB)], // a new 2
            vec![u(1, 90.0, MIB), u(2, 90.0, MIB)],
        ];
        for s in &samples {
            kinds.push(
                rule.observe(s)
                    .into_iter()
                    .map(|a| (a.pid, a.kind))
                    .collect::<Vec<_>>(),
            );
        }
        kinds
    });
    assert_eq!(
        events,
        vec![
            vec![],
            vec![(1, AlertKind::Fired)],
            vec![],
            vec![(2, AlertKind::Fired)],
        ],
        "a rule of 2 samples: pid 1 fires on its 2nd sample; pid 2 is missing \
         from the 2nd sample, so its count starts again when it reappears"
    );
}

// ---------------------------------------------------------------------------
// report, JSON

#[test]
fn the_json_report_holds_the_top_lists_in_percent_and_bytes() {
    let json = check("report to return", || {
        let before = snap(
            0,
            vec![
                p(1, None, "init", 0, 10 * MIB),
                p(2, Some(1), "busy", 0, MIB),
                p(3, Some(1), "big", 0, 900 * MIB),
            ],
        );
        let after = snap(
            2_000,
            vec![
                p(1, None, "init", 20, 10 * MIB),
                p(2, Some(1), "busy", 1_500, MIB),
                p(3, Some(1), "big", 0, 900 * MIB),
            ],
        );
        let r = report(&before, &after, 2).expect("a 2 s interval");
        serde_json::to_value(&r).expect("a Report serializes")
    });
    assert_eq!(json["interval_ms"], 2000, "interval_ms in {json}");
    assert_eq!(json["process_count"], 3, "process_count in {json}");
    assert_eq!(json["cpus"], 4, "cpus in {json}");
    assert_eq!(
        json["total_memory_bytes"],
        8192 * MIB,
        "total_memory_bytes in {json}"
    );
    let top_cpu = json["top_cpu"].as_array().expect("top_cpu is an array");
    assert_eq!(top_cpu.len(), 2, "two rows asked for: {json}");
    assert_eq!(top_cpu[0]["pid"], 2, "the busiest process first: {json}");
    let busy = top_cpu[0]["cpu_percent"].as_f64().unwrap();
    assert!(
        (busy - 75.0).abs() < 0.01,
        "1500 ms in 2 s is 75 %, got {busy}"
    );
    let top_mem = json["top_memory"]
        .as_array()
        .expect("top_memory is an array");
    assert_eq!(top_mem[0]["pid"], 3, "the largest process first: {json}");
    assert_eq!(
        top_mem[0]["memory_bytes"],
        900 * MIB,
        "memory in bytes: {json}"
    );
}

// ---------------------------------------------------------------------------
// The real system

/// A child shell that keeps one core busy. It is killed when the guard is
/// dropped, and it stops by itself once this test program has exited.
struct BusyChild(Child);

impl BusyChild {
    fn start() -> BusyChild {
        let child = Command::new("sh")
            .args(["-c", "while kill -0 $PPID 2>/dev/null; do :; done"])
            .stdin(Stdio::null())
            .spawn()
            .expect("starting `sh` for a busy child");
        BusyChild(child)
    }
}

impl Drop for BusyChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A field of `/proc/self/status` or `/proc/meminfo` in kB.
#[track_caller]
fn proc_kib(file: &str, field: &str) -> u64 {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {file}"))
}

/// utime + stime of `pid` from `/proc/PID/stat`. The kernel counts in
/// ticks of 1/100 s (USER_HZ, 100 on Linux).
#[track_caller]
fn proc_cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// Takes a sample, then reads the child's CPU time from /proc. Returns the
/// snapshot, that reading, and how long the two took: the child cannot have
/// used more CPU than that between the sample and the reading.
#[track_caller]
fn sample_and_read(sampler: &mut Sampler, child: u32) -> (Snapshot, Duration, Duration) {
    let start = std::time::Instant::now();
    let snapshot = sampler.sample();
    let read = proc_cpu_time(child);
    (snapshot, read, start.elapsed())
}

#[track_caller]
fn assert_cpu_time_matches(
    snapshot: &Snapshot,
    child: u32,
    read: Duration,
    window: Duration,
    which: &str,
) {
    let sampled = snapshot
        .processes
        .iter()
        .find(|p| p.pid == child)
        .unwrap_or_else(|| panic!("the busy child (pid {child}) is not in the {which} snapshot"))
        .cpu_time;
    // One tick of slack either way, plus what the child may have used
    // between the sample and the reading.
    let tick = Duration::from_millis(10);
    assert!(
        sampled <= read + tick && read <= sampled + window + tick,
        "the {which} snapshot says the busy child has used {sampled:?} of CPU \
         time; /proc/{child}/stat, read {window:?} later, says {read:?} \
         (cpu_time is accumulated_cpu_time(), which is in milliseconds)"
    );
}

#[test]
fn a_busy_child_shows_up_at_the_top_by_cpu() {
    let busy = BusyChild::start();
    let pid = busy.0.id();
    let (first, second) = within(
        Duration::from_secs(10),
        "Sampler::new and two samples to return",
        move || {
            let mut sampler = Sampler::new().expect("Sampler::new");
            let (first, read, window) = sample_and_read(&mut sampler, pid);
            assert_cpu_time_matches(&first, pid, read, window, "first");
            // Wait at least sysinfo::MINIMUM_CPU_UPDATE_INTERVAL, and until
            // the child has used 100 ms of CPU: on a busy machine it gets
            // only a share of a core.
            let started = std::time::Instant::now();
            while started.elapsed() < Duration::from_millis(250)
                || proc_cpu_time(pid) < read + Duration::from_millis(100)
            {
                assert!(
                    started.elapsed() < Duration::from_secs(5),
                    "the busy child got less than 100 ms of CPU in 5 s"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            let (second, read, window) = sample_and_read(&mut sampler, pid);
            assert_cpu_time_matches(&second, pid, read, window, "second");
            (first, second)
        },
    );
    drop(busy);

    let elapsed = second.taken_at.saturating_sub(first.taken_at);
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(6),
        "the samples were taken 250 ms to 5 s apart, but their taken_at differ \
         by {elapsed:?} (taken_at is the time since a fixed origin, e.g. an \
         Instant taken in Sampler::new)"
    );
    let child = first.processes.iter().find(|p| p.pid == pid).unwrap();
    assert_eq!(
        child.parent,
        Some(std::process::id()),
        "the busy child's parent is this test program"
    );
    let usage = cpu_usage(&first, &second).expect("the second sample is later");
    // Other programs may be busy too: the child need not be the first.
    let top = top_by_cpu(&usage, 25);
    let found = top.iter().find(|u| u.pid == pid).unwrap_or_else(|| {
        panic!("the busy child (pid {pid}) is not among the 25 busiest processes: {top:#?}")
    });
    assert!(
        found.cpu_percent >= 1.0 && found.cpu_percent <= 100.0 * second.cpus as f64 + 10.0,
        "the busy child used {:.1} % of a core in the interval",
        found.cpu_percent
    );
}

#[test]
fn a_sample_reports_this_process_and_the_memory_in_bytes() {
    let snapshot = within(LIMIT, "Sampler::new and one sample to return", || {
        Sampler::new().expect("Sampler::new").sample()
    });
    let rss = proc_kib("/proc/self/status", "VmRSS:") * 1024;
    let total = proc_kib("/proc/meminfo", "MemTotal:") * 1024;
    let cpus = std::fs::read_to_string("/proc/stat")
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();

    let me = std::process::id();
    let this = snapshot.processes.iter().find(|p| p.pid == me);
    let this =
        this.unwrap_or_else(|| panic!("this test program (pid {me}) is not in the snapshot"));
    let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
    assert_eq!(
        this.name,
        comm.trim_end(),
        "the name is the short name of /proc/PID/comm"
    );
    assert_eq!(
        this.parent,
        Some(std::os::unix::process::parent_id()),
        "the parent of this test program"
    );
    assert!(
        this.memory_bytes >= rss / 2 && this.memory_bytes <= rss * 2,
        "this test program's resident set is about {rss} bytes (VmRSS of \
         /proc/self/status), the snapshot says {} (sysinfo 0.40 reports bytes, \
         not KiB)",
        this.memory_bytes
    );
    assert!(
        snapshot.total_memory_bytes.abs_diff(total) <= total / 100,
        "total memory is {total} bytes (MemTotal of /proc/meminfo), the \
         snapshot says {}",
        snapshot.total_memory_bytes
    );
    assert_eq!(
        snapshot.cpus, cpus,
        "the number of cpuN lines of /proc/stat"
    );
    assert!(
        snapshot.processes.iter().any(|p| p.pid == 1),
        "pid 1 is in every snapshot of the whole system"
    );
}

#[test]
fn a_sample_lists_processes_not_their_threads() {
    // This test program runs several threads (the test harness's, the
    // watchdog's): none of them may show up as a process.
    let snapshot = within(LIMIT, "Sampler::new and one sample to return", || {
        Sampler::new().expect("Sampler::new").sample()
    });
    let threads: Vec<(u32, String)> = snapshot
        .processes
        .iter()
        .filter_map(|p| {
            // A thread's Tgid (its process's pid) differs from its own id.
            let status = std::fs::read_to_string(format!("/proc/{}/status", p.pid)).ok()?;
            let tgid = status.lines().find_map(|l| l.strip_prefix("Tgid:"))?;
            (tgid.trim() != p.pid.to_string()).then(|| (p.pid, p.name.clone()))
        })
        .collect();
    assert!(
        threads.is_empty(),
        "{} entries of the snapshot are threads, not processes, e.g. {:?} \
         (sysinfo lists each thread as a process unless the refresh kind says \
         `without_tasks()`, and ProcessRefreshKind::nothing() includes tasks)",
        threads.len(),
        &threads[..threads.len().min(5)]
    );
}
