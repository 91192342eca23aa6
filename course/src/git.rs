//! The course's pristine stubs, as git has them.
//!
//! "Pristine" is the course's own commit, not the learner's: the merge base of
//! HEAD and its upstream when the branch has one (a learner who commits their
//! work on a clone still compares against the course's version), else HEAD.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Runs git in `root` and returns its stdout, or a one-line error.
pub fn git(root: &Path, args: &[&str]) -> crate::Result<String> {
    let out = Command::new("git")
        .current_dir(root)
        .args(args)
        .output()
        .map_err(|e| {
            format!("could not run git ({e}); install git and clone the course with it")
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or("").trim();
        Err(format!("`git {}` failed: {first}", args.join(" ")))
    }
}

/// Fails with a clear message when `root` is not inside a git work tree.
pub fn ensure_repo(root: &Path) -> crate::Result<()> {
    match git(root, &["rev-parse", "--is-inside-work-tree"]) {
        Ok(out) if out.trim() == "true" => Ok(()),
        Err(e) if e.starts_with("could not run git") => Err(e),
        _ => Err(format!(
            "{} is not a git repository: this command compares your work with the course's \
             committed stubs, so clone the course with `git clone` instead of downloading it",
            root.display()
        )),
    }
}

/// The commit holding the course's version of every stub.
pub fn pristine(root: &Path) -> crate::Result<String> {
    ensure_repo(root)?;
    git(root, &["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]).map_err(|_| {
        "the repository has no commit yet, so there is no stub to compare with".to_owned()
    })?;
    let has_upstream = git(
        root,
        &["rev-parse", "--verify", "--quiet", "@{upstream}^{commit}"],
    )
    .is_ok();
    let commit = if has_upstream {
        git(root, &["merge-base", "HEAD", "@{upstream}"])?
    } else {
        git(root, &["rev-parse", "HEAD"])?
    };
    Ok(commit.trim().to_owned())
}

/// Paths (relative to `root`, `/`-separated) under `dir` that differ from
/// `commit`: modified, staged, deleted or untracked (and not ignored).
pub fn changed_paths(root: &Path, commit: &str, dir: &str) -> crate::Result<BTreeSet<String>> {
    let mut changed = BTreeSet::new();
    let diff = git(
        root,
        &[
            "diff",
            "--name-only",
            "--no-renames",
            "--relative",
            commit,
            "--",
            dir,
        ],
    )?;
    let untracked = git(
        root,
        &["ls-files", "--others", "--exclude-standard", "--", dir],
    )?;
    for line in diff.lines().chain(untracked.lines()) {
        if !line.is_empty() {
            changed.insert(line.to_owned());
        }
    }
    Ok(changed)
}

/// Files (relative to `root`) that `commit` has under `dir`.
pub fn files_at(root: &Path, commit: &str, dir: &str) -> crate::Result<BTreeSet<String>> {
    let out = git(root, &["ls-tree", "-r", "--name-only", commit, "--", dir])?;
    Ok(out
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Is anything at `prefix` (a folder, ending in `/`) among `paths`?
pub fn any_under(paths: &BTreeSet<String>, prefix: &str) -> bool {
    paths
        .range(prefix.to_owned()..)
        .next()
        .is_some_and(|p| p.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_paths_under_a_folder() {
        let paths: BTreeSet<String> = [
            "exercises/02-job-runner/src/lib.rs",
            "exercises/03-echo-server/tests/echo.rs",
            "exercises/03-echo-serverx/src/lib.rs",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        assert!(any_under(&paths, "exercises/02-job-runner/src/"));
        assert!(!any_under(&paths, "exercises/03-echo-server/src/"));
        assert!(!any_under(&paths, "exercises/01-async-basics/src/"));
    }
}
