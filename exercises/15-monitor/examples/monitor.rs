//! The resource monitor, built on your library. Given: you do not edit it.
//!
//! ```text
//! cargo run -p exercise-15 --features examples --example monitor -- [OPTIONS]
//!
//!   --interval-ms N   time between two samples (default 1000, at least 200)
//!   --count N         stop after N reports (default: run until Ctrl-C)
//!   --once            one report, then exit (the same as --count 1)
//!   --top N           rows per table (default 5)
//!   --json            one JSON object per report instead of tables
//!   --tree            print the process tree once, then exit
//!   --alert P         report processes above P % CPU for 3 samples in a row
//!                     (default 80)
//! ```
//!
//! Every report covers the interval since the previous sample, so the first
//! report comes one interval after the start.

use exercise_15::{AlertKind, AlertRule, Sampler, TreeNode, cpu_usage, process_tree, report};
use std::process::ExitCode;
use std::time::Duration;

struct Options {
    interval: Duration,
    count: Option<u64>,
    top: usize,
    json: bool,
    tree: bool,
    alert: f64,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        interval: Duration::from_millis(1000),
        count: None,
        top: 5,
        json: false,
        tree: false,
        alert: 80.0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--interval-ms" => {
                let ms: u64 = value("--interval-ms")?
                    .parse()
                    .map_err(|e| format!("--interval-ms: {e}"))?;
                // Shorter intervals measure CPU time in too few clock ticks.
                o.interval = Duration::from_millis(ms.max(200));
            }
            "--count" => {
                o.count = Some(
                    value("--count")?
                        .parse()
                        .map_err(|e| format!("--count: {e}"))?,
                )
            }
            "--once" => o.count = Some(1),
            "--top" => o.top = value("--top")?.parse().map_err(|e| format!("--top: {e}"))?,
            "--json" => o.json = true,
            "--tree" => o.tree = true,
            "--alert" => {
                o.alert = value("--alert")?
                    .parse()
                    .map_err(|e| format!("--alert: {e}"))?
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?} (see the top of examples/monitor.rs)"
                ));
            }
        }
    }
    Ok(o)
}

fn print_tree(nodes: &[TreeNode], depth: usize) {
    for node in nodes {
        println!(
            "{:indent$}{} {}",
            "",
            node.pid,
            node.name,
            indent = depth * 2
        );
        print_tree(&node.children, depth + 1);
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("monitor: {e}");
            return ExitCode::from(2);
        }
    };
    let mut sampler = match Sampler::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("monitor: cannot read the system: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut before = sampler.sample();
    if options.tree {
        print_tree(&process_tree(&before), 0);
        return ExitCode::SUCCESS;
    }
    let mut alerts = AlertRule::new(options.alert, 3);
    let mut done = 0;
    while options.count.is_none_or(|c| done < c) {
        std::thread::sleep(options.interval);
        let after = sampler.sample();
        let r = match report(&before, &after, options.top) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("monitor: {e}");
                return ExitCode::FAILURE;
            }
        };
        if options.json {
            println!(
                "{}",
                serde_json::to_string(&r).expect("a report is always valid JSON")
            );
        } else {
            println!(
                "{} processes, {} CPUs, {:.0} MiB RAM, over {} ms:",
                r.process_count,
                r.cpus,
                mib(r.total_memory_bytes),
                r.interval_ms
            );
            println!(
                "  {:>8} {:<16} {:>7} {:>10}",
                "PID", "NAME", "CPU %", "RSS MiB"
            );
            for u in &r.top_cpu {
                println!(
                    "  {:>8} {:<16} {:>7.1} {:>10.1}",
                    u.pid,
                    u.name,
                    u.cpu_percent,
                    mib(u.memory_bytes)
                );
            }
            println!("  by memory:");
            for u in &r.top_memory {
                println!(
                    "  {:>8} {:<16} {:>7.1} {:>10.1}",
                    u.pid,
                    u.name,
                    u.cpu_percent,
                    mib(u.memory_bytes)
                );
            }
        }
        // The alert rule sees every process, not only the top rows.
        let usage = cpu_usage(&before, &after).expect("report checked the interval");
        for a in alerts.observe(&usage) {
            let what = match a.kind {
                AlertKind::Fired => "above",
                AlertKind::Cleared => "back below",
            };
            eprintln!(
                "ALERT {} ({}) {what} {} % CPU: {:.1} %",
                a.pid, a.name, options.alert, a.cpu_percent
            );
        }
        before = after;
        done += 1;
    }
    ExitCode::SUCCESS
}
