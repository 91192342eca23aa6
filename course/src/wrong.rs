//! Wrong solutions: each is a patch to a reference solution that makes one
//! mistake a learner really makes. verify applies it, runs the tests it names
//! and requires every one of them to fail; then it puts the solution back.
//!
//! The solution's files are saved under `target/course/wrong/` before the
//! patch is applied, and restored from there afterwards. If verify is killed
//! in between, the next run restores them first, so a crash never leaves a
//! wrong solution in place of the reference.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::exercises::{self, Exercise};
use crate::meta::Wrong;
use crate::testrun::{self, Outcome};

/// Where the saved copies of patched files wait to be restored.
fn saved_dir(root: &Path) -> PathBuf {
    exercises::target_dir(root).join("course/wrong/saved")
}

/// Puts back any solution file that an interrupted run left patched.
pub fn restore_leftovers(root: &Path) -> crate::Result<()> {
    restore(root, true)
}

fn restore(root: &Path, leftovers: bool) -> crate::Result<()> {
    let saved = saved_dir(root);
    if !saved.is_dir() {
        return Ok(());
    }
    for file in files_under(&saved) {
        let rel = file.strip_prefix(&saved).expect("under saved");
        let original = root.join(rel);
        fs::copy(&file, &original).map_err(|e| format!("restoring {}: {e}", original.display()))?;
        if leftovers {
            println!(
                "    restored {} (a previous verify was interrupted)",
                rel.display()
            );
        }
    }
    fs::remove_dir_all(&saved).map_err(|e| format!("removing {}: {e}", saved.display()))
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(files_under(&path));
            } else {
                found.push(path);
            }
        }
    }
    found
}

/// One verify at a time per checkout: a lock file holding the owner's PID,
/// removed on drop. A lock whose process is gone is taken over.
pub struct Lock(PathBuf);

impl Lock {
    pub fn take(root: &Path) -> crate::Result<Lock> {
        let path = exercises::target_dir(root).join("course/verify.lock");
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        }
        let mut said = false;
        loop {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    use std::io::Write;
                    let _ = write!(file, "{}", std::process::id());
                    return Ok(Lock(path));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = fs::read_to_string(&path).unwrap_or_default();
                    let alive =
                        !owner.trim().is_empty() && Path::new("/proc").join(owner.trim()).exists();
                    if !alive {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    if !said {
                        println!(
                            "waiting for another verify in this checkout (pid {}) to finish...",
                            owner.trim()
                        );
                        said = true;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(500));
                }
                Err(e) => return Err(format!("creating {}: {e}", path.display())),
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// The files a unified diff changes, from its `+++ b/<path>` lines.
pub fn patched_files(patch: &str) -> Vec<String> {
    patch
        .lines()
        .filter_map(|l| l.strip_prefix("+++ "))
        .map(|p| p.split('\t').next().unwrap_or(p).trim())
        .map(|p| p.strip_prefix("b/").unwrap_or(p).to_owned())
        .filter(|p| p != "/dev/null")
        .collect()
}

/// Applies `wrong` to the solution of `ex`, runs its `caught-by` tests, and
/// restores the solution. Ok(line for the report) when every named test
/// failed; Err(why) otherwise.
pub fn prove(
    root: &Path,
    ex: &Exercise,
    solution_dir: &Path,
    wrong: &Wrong,
) -> Result<String, String> {
    let label = format!(
        "{} wrong solution {}",
        ex.solution_package(),
        wrong.patch.display()
    );
    if wrong.caught_by.is_empty() {
        return Err(format!("{label}: `caught-by` names no test"));
    }
    let patch_path = solution_dir.join(&wrong.patch);
    let patch =
        fs::read_to_string(&patch_path).map_err(|e| format!("{label}: reading the patch: {e}"))?;
    let files = patched_files(&patch);
    if files.is_empty() {
        return Err(format!(
            "{label}: the patch changes no file (no `+++` line)"
        ));
    }

    // Save the originals where a later run can find them.
    let saved = saved_dir(root);
    for file in &files {
        let original = solution_dir.join(file);
        let rel = original.strip_prefix(root).unwrap_or(&original);
        let copy = saved.join(rel);
        fs::create_dir_all(copy.parent().expect("a file has a parent"))
            .and_then(|_| fs::copy(&original, &copy).map(|_| ()))
            .map_err(|e| format!("{label}: saving {}: {e}", original.display()))?;
    }

    let applied = Command::new("patch")
        .current_dir(solution_dir)
        .args([
            "-p1",
            "--forward",
            "--no-backup-if-mismatch",
            "--batch",
            "-s",
            "-i",
        ])
        .arg(&patch_path)
        .output();
    let result = match applied {
        Err(e) => Err(format!(
            "{label}: could not run `patch` ({e}); install GNU patch"
        )),
        Ok(out) if !out.status.success() => Err(format!(
            "{label}: the patch no longer applies to the solution (remake it):\n{}",
            String::from_utf8_lossy(&out.stdout).trim()
        )),
        Ok(_) => run_named(root, ex, wrong, &label),
    };
    restore(root, false).map_err(|e| format!("{label}: {e}"))?;
    result
}

fn run_named(root: &Path, ex: &Exercise, wrong: &Wrong, label: &str) -> Result<String, String> {
    let package = ex.solution_package();
    let mut args = vec!["-p", &package, "--no-fail-fast", "--", "--exact"];
    args.extend(wrong.caught_by.iter().map(String::as_str));
    let run = testrun::cargo_test(root, &args).map_err(|e| format!("{label}: {e}"))?;
    if !run.compiled() {
        return Err(format!(
            "{label}: the patched solution does not compile (a wrong solution must compile):\n{}",
            testrun::first_compile_error(&run.output).unwrap_or_default()
        ));
    }
    let mut problems = Vec::new();
    // Only the named tests run, so a test binary killed by a signal (a
    // double free aborts the process) was killed by one of them: the
    // learner sees it red, and the tests that never reported count as
    // failed. A named test that reported `ok` before the crash still passes.
    // (`running N tests` must count every name: a misspelt name is never
    // excused by a crash of the others.)
    let started: usize = run
        .output
        .lines()
        .filter_map(|line| {
            line.strip_prefix("running ")?
                .split(' ')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum();
    let killed = run
        .killed_by_signal()
        .filter(|_| started >= wrong.caught_by.len());
    let mut crashed = false;
    for name in &wrong.caught_by {
        match run.tests().find(|(n, _)| n == name).map(|(_, o)| *o) {
            Some(Outcome::Failed) => {}
            Some(_) => problems.push(format!("`{name}` passes")),
            None if killed.is_some() => crashed = true,
            None => problems.push(format!("`{name}` did not run (no test has that name)")),
        }
    }
    if problems.is_empty() {
        let how = match killed.filter(|_| crashed) {
            Some(signal) => format!(" (the test process was killed: {signal})"),
            None => String::new(),
        };
        Ok(format!(
            "{label} ({}): caught by {}{how}",
            wrong.why,
            wrong.caught_by.join(", ")
        ))
    } else {
        Err(format!("{label} ({}): {}", wrong.why, problems.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_files_a_patch_changes() {
        let patch = "diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1 +1 @@\n-a\n+b\n--- src/x.rs\t2026-01-01\n+++ src/x.rs\t2026-01-02\n";
        assert_eq!(patched_files(patch), ["src/lib.rs", "src/x.rs"]);
    }
}
