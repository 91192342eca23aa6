//! The chapters' own checks: scripts declared beside a solution under
//! `[[package.metadata.course.check]]` (real clients such as `nc` or
//! `redis-cli`, Miri, valgrind, loom ...). verify runs each from the
//! repository's root, with a fresh work directory and a time limit.
//!
//! A check whose programs are missing is skipped with one line on a
//! learner's machine, and fails under CI (which must install them: `.ci/run`
//! installs what `cargo course needs` lists).

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::browser::in_ci;
use crate::exercises::{self, Exercise};
use crate::meta::{self, Check};
use crate::testrun::cargo;

/// The outcome of one check: a line for the summary, or why it failed.
pub fn run(
    root: &Path,
    ex: &Exercise,
    solution_dir: &Path,
    check: &Check,
) -> Result<String, String> {
    let label = format!("{} check `{}`", ex.solution_package(), check.name);
    if in_ci() && !check.ci {
        return Ok(format!("{label}: not run in CI (ci = false)"));
    }
    let missing: Vec<&str> = check
        .needs
        .iter()
        .map(String::as_str)
        .filter(|p| !on_path(p))
        .collect();
    if !missing.is_empty() {
        let what = format!(
            "{} not installed (Debian: {})",
            missing.join(", "),
            if check.debian.is_empty() {
                "?".to_owned()
            } else {
                check.debian.join(" ")
            }
        );
        return if in_ci() {
            Err(format!("{label}: {what}, and CI is set"))
        } else {
            println!("    skip: {label}: {what}");
            Ok(format!("{label}: skipped, {what}"))
        };
    }

    let work = exercises::target_dir(root)
        .join("course/checks")
        .join(format!("{}-{}", ex.number, slug(&check.name)));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("{label}: creating {work:?}: {e}"))?;

    let script = solution_dir.join(&check.run);
    let (mut reader, writer) = std::io::pipe().map_err(|e| format!("{label}: pipe: {e}"))?;
    let writer2 = writer
        .try_clone()
        .map_err(|e| format!("{label}: pipe: {e}"))?;
    let mut command = Command::new("bash");
    command
        .arg(&script)
        .current_dir(root)
        .env("CARGO", cargo())
        .env("COURSE_ROOT", root)
        .env("CARGO_TARGET_DIR", exercises::target_dir(root))
        .env("COURSE_WORK", &work)
        .env("CARGO_TERM_COLOR", "never")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer2);
    // Its own process group, so that a timeout stops the script's children
    // (servers, clients) too.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|e| format!("{label}: running {}: {e}", script.display()))?;
    // The command still holds the pipe's write ends: drop them, or the
    // reader below never sees the end of the output.
    drop(command);
    let output = thread::spawn(move || {
        let mut raw = Vec::new();
        let _ = reader.read_to_end(&mut raw);
        String::from_utf8_lossy(&raw).into_owned()
    });

    let limit = Duration::from_secs(check.timeout);
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > limit => {
                kill_group(child.id());
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("{label}: waiting: {e}")),
        }
    };
    // Anything the script left behind in its group goes now.
    kill_group(child.id());
    let text = output.join().unwrap_or_default();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_owned();
    match status {
        Some(s) if s.success() => {
            println!("    {label}: {last}");
            Ok(format!("{label}: {last}"))
        }
        Some(s) => Err(format!("{label} failed ({s}):\n{}", tail(&text, 15))),
        None => Err(format!(
            "{label} ran past its {}-second limit:\n{}",
            check.timeout,
            tail(&text, 15)
        )),
    }
}

fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stderr(Stdio::null())
        .status();
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

pub fn on_path(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", "command -v \"$1\"", "sh", program])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `cargo course needs`: the Debian packages the declared checks need, one
/// per line (for `.ci/run`), or with `--missing` only those whose programs
/// are not on PATH.
pub fn needs(missing_only: bool) -> crate::Result<ExitCode> {
    let root = exercises::root();
    let mut packages = BTreeSet::new();
    for declared in meta::read(&root)?.values() {
        for check in &declared.course.check {
            if missing_only && check.needs.iter().all(|p| on_path(p)) {
                continue;
            }
            packages.extend(check.debian.iter().cloned());
        }
    }
    for package in packages {
        println!("{package}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(slug("nc talks to: the server"), "nc-talks-to--the-server");
    }

    #[test]
    fn finds_programs_on_path() {
        assert!(on_path("sh"));
        assert!(!on_path("no-such-program-here"));
    }
}
