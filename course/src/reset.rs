//! `cargo course reset NN` and `cargo course solution NN`.

use std::fs;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::exercises::{self, Exercise};
use crate::git;
use crate::status::{Checker, State};
use crate::ui;

pub fn reset(number: &str, yes: bool) -> crate::Result<ExitCode> {
    let root = exercises::root();
    let ex = exercises::find(&root, number)?;
    if let Some(why) = git::why_not_a_clone(&root) {
        if why.starts_with("could not run git") {
            return Err(why);
        }
        return Err(format!(
            "cannot reset exercise {}: {why}, so the course's stub is not at hand (reset \
             takes it from the course's git history). Copy exercises/{}/src/ from a fresh \
             `git clone` of the course instead; nothing was changed here",
            ex.number, ex.dir_name
        ));
    }
    let pristine = git::pristine(&root)?;
    let src = ex.dir.join("src");
    let src_rel = format!("exercises/{}/src", ex.dir_name);
    if git::files_at(&root, &pristine, &src_rel)?.is_empty() {
        return Err(format!(
            "the course's commit {} has no stub for exercise {} ({src_rel}/)",
            &pristine[..pristine.len().min(10)],
            ex.number
        ));
    }
    if Checker::new(&root).not_started(&ex) {
        println!(
            "Exercise {} is already the course's unchanged stub: nothing to reset.",
            ex.number
        );
        return Ok(ExitCode::SUCCESS);
    }

    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(format!(
                "refusing to reset exercise {} without confirmation: stdin is not a terminal (add --yes)",
                ex.number
            ));
        }
        if !confirm(&format!(
            "Replace {src_rel}/ with the course's stub? Your version is backed up first."
        ))? {
            println!("Nothing changed.");
            return Ok(ExitCode::SUCCESS);
        }
    }

    // 1. Back up the learner's version.
    let backup = root.join(".course").join("backups").join(format!(
        "{}-{}",
        ex.number,
        timestamp(SystemTime::now())
    ));
    if src.exists() {
        copy_dir(&src, &backup.join("src"))
            .map_err(|e| format!("backing up {src_rel}/ to {}: {e}", backup.display()))?;
    }
    // 2. Replace src/ by the stub: remove it (also files the learner added),
    //    then restore the index and the work tree from the course's commit.
    if src.exists() {
        fs::remove_dir_all(&src).map_err(|e| format!("removing {src_rel}/: {e}"))?;
    }
    let restored = git::git(
        &root,
        &[
            "restore",
            &format!("--source={pristine}"),
            "--staged",
            "--worktree",
            "--",
            &src_rel,
        ],
    );
    if let Err(e) = restored {
        // Put the learner's version back rather than leave nothing.
        let _ = copy_dir(&backup.join("src"), &src);
        return Err(format!("{e} (your version is unchanged)"));
    }
    println!(
        "{}",
        ui::green(&format!(
            "Exercise {} is the course's stub again.",
            ex.number
        ))
    );
    println!(
        "Your version is backed up in {}/",
        exercises::display(&root, &backup.join("src"))
    );
    Ok(ExitCode::SUCCESS)
}

/// Asks `question` on the terminal; true for a yes.
fn confirm(question: &str) -> crate::Result<bool> {
    print!("{question} [y/N] ");
    std::io::stdout().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| format!("reading your answer: {e}"))?;
    Ok(is_yes(&answer))
}

fn is_yes(answer: &str) -> bool {
    matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES")
}

/// `cargo course solution NN [--diff] [--yes]`: asks first (or, without a
/// terminal, refuses unless `yes`) when the exercise does not pass yet.
pub fn solution_with(number: &str, diff: bool, yes: bool) -> crate::Result<ExitCode> {
    let root = exercises::root();
    let ex = exercises::find(&root, number)?;
    let Some(solution) = &ex.solution_dir else {
        return Err(format!(
            "exercise {} has no reference solution yet",
            ex.number
        ));
    };
    if !yes && let Some(why) = not_solved(&root, &ex)? {
        let n = &ex.number;
        if !std::io::stdin().is_terminal() {
            return Err(format!(
                "not showing the solution of exercise {n}: {why}, and stdin is not a \
                     terminal to confirm (run it in a terminal, or add --yes)"
            ));
        }
        println!(
            "Exercise {n} is not solved yet: {why}.\n\
                 The solution gives away what the exercise is there to teach; \
                 `cargo course hint {n}` gives one hint at a time."
        );
        let question = if diff {
            "Compare your version with the reference solution anyway?"
        } else {
            "Show the reference solution anyway?"
        };
        if !confirm(question)? {
            println!("Not shown.");
            return Ok(ExitCode::SUCCESS);
        }
        println!();
    }
    if diff {
        return show_diff(&root, &ex, solution);
    }
    let lib = solution.join("src").join("lib.rs");
    let text =
        fs::read_to_string(&lib).map_err(|e| format!("cannot read {}: {e}", lib.display()))?;
    println!(
        "{}",
        ui::bold(&format!(
            "Reference solution of exercise {}: {}/",
            ex.number,
            exercises::display(&root, solution)
        ))
    );
    let others = other_files(&solution.join("src"));
    if !others.is_empty() {
        println!("(it also has {})", others.join(", "));
    }
    println!(
        "{}\n",
        ui::dim(&format!("── {} ──", exercises::display(&root, &lib)))
    );
    println!("{text}");
    println!(
        "{}",
        ui::dim(&format!(
            "`cargo course solution {} --diff` compares it with your version.",
            ex.number
        ))
    );
    Ok(ExitCode::SUCCESS)
}

/// Why exercise `ex` does not count as solved, or `None` when its tests
/// pass (known from git or the cache, else by running them).
fn not_solved(root: &Path, ex: &Exercise) -> crate::Result<Option<String>> {
    let mut checker = Checker::new(root);
    let state = match checker.known(ex) {
        Some(state) => state,
        None => {
            eprintln!(
                "{}",
                ui::dim(&format!(
                    "checking whether exercise {} passes ({})...",
                    ex.number,
                    ex.package()
                ))
            );
            checker.state(ex)?
        }
    };
    Ok(unsolved_reason(&state, &ex.dir_name))
}

fn unsolved_reason(state: &State, dir_name: &str) -> Option<String> {
    match state {
        State::Passed { .. } => None,
        State::NotStarted => Some(format!(
            "exercises/{dir_name}/src/ is still the course's untouched stub"
        )),
        State::Failing { passed, total, .. } => Some(format!("{passed} of {total} tests pass")),
        State::Broken { .. } => Some("it does not compile".into()),
    }
}

fn show_diff(root: &Path, ex: &Exercise, solution: &Path) -> crate::Result<ExitCode> {
    let mine_dir = ex.dir.join("src");
    let theirs_dir = solution.join("src");
    let mine = exercises::display(root, &mine_dir);
    let theirs = exercises::display(root, &theirs_dir);
    println!(
        "{}",
        ui::bold(&format!(
            "Your {mine}/ (-) against the reference solution's {theirs}/ (+):"
        ))
    );
    let colour = if std::io::stdout().is_terminal() {
        "--color=always"
    } else {
        "--color=never"
    };
    // File by file, over the solution's files. A file only the exercise has
    // (the given `services.rs`, `main.rs`) is one the solution shares by path.
    let mut names = file_names(&theirs_dir);
    names.retain(|n| n != "lib.rs");
    names.insert(0, "lib.rs".into());
    let mut differs = false;
    for name in &names {
        let a = mine_dir.join(name);
        let b = theirs_dir.join(name);
        let a = if a.exists() {
            exercises::display(root, &a)
        } else {
            "/dev/null".into()
        };
        let status = Command::new("git")
            .current_dir(root)
            .args(["--no-pager", "diff", "--no-index", colour, "--", &a])
            .arg(exercises::display(root, &b))
            .status()
            .map_err(|e| format!("could not run git diff ({e}); install git"))?;
        match status.code() {
            Some(0) => {}
            // 1: they differ; no code: a pager or `| head` closed the pipe.
            Some(1) | None => differs = true,
            _ => return Err("git diff --no-index failed (see above)".into()),
        }
    }
    let shared: Vec<String> = file_names(&mine_dir)
        .into_iter()
        .filter(|n| !theirs_dir.join(n).exists())
        .map(|n| format!("src/{n}"))
        .collect();
    if !differs {
        println!("(no difference)");
    }
    if !shared.is_empty() {
        println!(
            "{}",
            ui::dim(&format!(
                "({} given with the exercise; the solution uses the same file)",
                shared.join(", ")
            ))
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The names of the `.rs` files directly in `dir`, sorted.
fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".rs"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn other_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "lib.rs")
                .map(|n| format!("src/{n}"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// `20261127T204512Z` (UTC), for backup folder names that sort by time.
pub fn timestamp(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_and_sortable() {
        assert_eq!(timestamp(UNIX_EPOCH), "19700101T000000Z");
        // 2026-11-27 20:45:12 UTC
        let t = UNIX_EPOCH + Duration::from_secs(1_795_812_312);
        assert_eq!(timestamp(t), "20261127T204512Z");
        // A leap day.
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(timestamp(t), "20000229T000000Z");
    }

    #[test]
    fn only_a_passing_exercise_counts_as_solved() {
        let dir = "03-echo-server";
        assert_eq!(unsolved_reason(&State::Passed { total: 5 }, dir), None);
        let stub = unsolved_reason(&State::NotStarted, dir).unwrap();
        assert!(stub.contains("exercises/03-echo-server/src/"), "{stub}");
        let failing = State::Failing {
            passed: 2,
            total: 5,
            first: None,
        };
        assert_eq!(
            unsolved_reason(&failing, dir).as_deref(),
            Some("2 of 5 tests pass")
        );
        let broken = State::Broken {
            error: "error[E0308]".into(),
        };
        assert!(unsolved_reason(&broken, dir).is_some());
    }

    #[test]
    fn only_yes_confirms() {
        for answer in ["y\n", "Y", " yes ", "YES"] {
            assert!(is_yes(answer), "{answer:?}");
        }
        for answer in ["", "\n", "n", "no", "yess", "ok"] {
            assert!(!is_yes(answer), "{answer:?}");
        }
    }
}
