//! `cargo course watch [NN]`: re-run an exercise's tests at every save.
//!
//! Polls the exercise's files every 100 ms (size and modification time; no
//! file-system notification crate), then runs `cargo test -p exercise-NN`
//! and shows a compact summary (on a cleared screen when stdout is a
//! terminal; one run after another otherwise).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use crate::exercises::{self, Exercise};
use crate::status::{self, Checker, State};
use crate::summary::Summary;
use crate::testrun::{self, Outcome, TestRun};
use crate::ui;

const POLL: Duration = Duration::from_millis(100);
/// Lines of a failure message or compiler error to show.
const MESSAGE_LINES: usize = 14;

/// What the watcher compares between two polls.
type Snapshot = Vec<(PathBuf, Option<SystemTime>, u64)>;

/// Editor droppings that are not the learner's code.
fn ignored(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name == "4913"
        || name == "target"
}

pub fn snapshot(dir: &Path) -> Snapshot {
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

fn walk(dir: &Path, out: &mut Snapshot) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if ignored(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            walk(&entry.path(), out);
        } else {
            out.push((entry.path(), meta.modified().ok(), meta.len()));
        }
    }
}

/// The latest modification time among files that differ between snapshots.
fn newest_change(before: &Snapshot, after: &Snapshot) -> Option<SystemTime> {
    after
        .iter()
        .filter(|entry| !before.contains(entry))
        .filter_map(|(_, mtime, _)| *mtime)
        .max()
}

pub fn run(number: Option<String>) -> crate::Result<ExitCode> {
    let root = exercises::root();
    let ex = match number {
        Some(n) => exercises::find(&root, &n)?,
        None => match status::first_unfinished(&root)? {
            Some(ex) => ex,
            None => {
                println!(
                    "Every exercise passes: nothing to watch. Name one to watch it anyway: `cargo course watch NN`."
                );
                return Ok(ExitCode::SUCCESS);
            }
        },
    };
    let title = Summary::read(&root)
        .ok()
        .and_then(|s| s.chapter(&ex.number).map(|c| c.title.clone()))
        .unwrap_or_else(|| ex.dir_name.clone());
    // Results go to status's cache too.
    let mut checker = Checker::new(&root);
    // On a terminal each run replaces the last on a cleared screen; into a
    // pipe or a file, runs follow one another, without escape codes.
    let screen = ui::can_clear_screen();
    let header = format!(
        "{} · {title}   {}",
        ui::bold(&format!("exercise {}", ex.number)),
        ui::dim(&format!(
            "watching {}/ · Ctrl-C to stop",
            exercises::display(&root, &ex.dir)
        ))
    );

    let mut saved: Option<(SystemTime, Instant)> = None;
    let mut round = 0;
    loop {
        round += 1;
        let before = snapshot(&ex.dir);
        if screen {
            ui::clear_screen();
        } else if round > 1 {
            println!("\n{}\n", "─".repeat(60));
        }
        println!(
            "{header}\n\n{}",
            ui::dim(&format!("testing ({})...", ex.package()))
        );
        let _ = std::io::stdout().flush();

        let key = checker.key(&ex);
        let started = Instant::now();
        let run = status::run_tests(&root, &ex);
        let took = started.elapsed();

        if screen {
            ui::clear_screen();
            println!("{header}\n");
        } else {
            println!();
        }
        match &run {
            Ok(run) => {
                let order = status::source_order(&ex);
                let state = State::from_run(run, &order);
                print_summary(run, &state, &ex, &order);
                if checker.key(&ex) == key {
                    checker.record(&ex, &key, &state);
                }
            }
            Err(e) => println!("{}", ui::red(&format!("could not run the tests: {e}"))),
        }
        let mut timing = format!("run {round} · cargo test took {:.1} s", took.as_secs_f64());
        if let Some((mtime, detected)) = saved {
            // From the file's modification time when the clock allows,
            // else from when the poll noticed it.
            let since = SystemTime::now()
                .duration_since(mtime)
                .unwrap_or_else(|_| detected.elapsed());
            timing.push_str(&format!(
                " · result {:.1} s after the save",
                since.as_secs_f64()
            ));
        }
        println!("\n{}", ui::dim(&timing));
        let _ = std::io::stdout().flush();

        // Wait for the next save (or one that happened during the run).
        let mut current = snapshot(&ex.dir);
        while current == before {
            thread::sleep(POLL);
            current = snapshot(&ex.dir);
        }
        // Let an editor finish writing (several files, or write + rename).
        loop {
            thread::sleep(Duration::from_millis(30));
            let again = snapshot(&ex.dir);
            if again == current {
                break;
            }
            current = again;
        }
        let detected = Instant::now();
        saved = Some((
            newest_change(&before, &current).unwrap_or_else(SystemTime::now),
            detected,
        ));
    }
}

fn print_summary(run: &TestRun, state: &State, ex: &Exercise, order: &[String]) {
    if let State::Broken { error } = state {
        println!(
            "{}\n",
            ui::red("The code does not compile. The first error:")
        );
        for line in error.lines().take(MESSAGE_LINES) {
            println!("  {line}");
        }
        return;
    }
    let tests = status::in_order(run, order);
    for (name, outcome) in &tests {
        let mark = match outcome {
            Outcome::Passed => ui::green("✓"),
            Outcome::Failed => ui::red("✗"),
            Outcome::Ignored => ui::dim("-"),
        };
        println!("  {mark} {name}");
    }
    println!();
    match state {
        State::Passed { total } => {
            println!(
                "{}",
                ui::green(&format!("All {total} tests pass. Well done!"))
            );
            println!(
                "{}",
                ui::dim(&format!(
                    "`cargo course status` shows what is next; `cargo course solution {} --diff` compares with the reference solution.",
                    ex.number
                ))
            );
        }
        State::Failing { passed, total, .. } => {
            println!("{passed} of {total} tests pass.");
            let first = tests.iter().find(|(_, o)| *o == Outcome::Failed);
            if let Some((name, _)) = first {
                let message = testrun::failure_message(&run.output, name).unwrap_or_default();
                println!("\n{} {name}", ui::red("First failure:"));
                for line in message.lines().take(MESSAGE_LINES) {
                    println!("  {line}");
                }
            } else if !run.success {
                // No test failed, yet cargo did: show the end of its output.
                let lines: Vec<&str> = run.output.lines().collect();
                for line in &lines[lines.len().saturating_sub(MESSAGE_LINES)..] {
                    println!("  {line}");
                }
            }
            println!(
                "\n{}",
                ui::dim(&format!("Stuck? `cargo course hint {}`", ex.number))
            );
        }
        State::NotStarted | State::Broken { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignores_editor_files() {
        for name in [".lib.rs.swp", "lib.rs~", "4913", ".git", "target", "x.tmp"] {
            assert!(ignored(name), "{name}");
        }
        for name in ["lib.rs", "Cargo.toml", "echo_server.rs", "hints.md"] {
            assert!(!ignored(name), "{name}");
        }
    }

    #[test]
    fn sees_a_save_in_a_nested_file() {
        let dir = std::env::temp_dir().join(format!("course-watch-{}", std::process::id()));
        fs::create_dir_all(dir.join("src")).unwrap();
        fs::write(dir.join("src/lib.rs"), "a").unwrap();
        let before = snapshot(&dir);
        assert_eq!(before.len(), 1);
        fs::write(dir.join("src/lib.rs"), "ab").unwrap();
        fs::write(dir.join("src/.lib.rs.swp"), "x").unwrap();
        let after = snapshot(&dir);
        assert_ne!(before, after);
        assert_eq!(after.len(), 1, "the swap file is ignored");
        assert!(newest_change(&before, &after).is_some());
        fs::remove_dir_all(&dir).unwrap();
    }
}
