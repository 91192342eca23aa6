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

/// Why `root` is not the course's own git clone, or `None` when it is.
///
/// It must be the top of its own work tree: a copy of the course inside
/// another repository (downloaded, then unpacked into a project of the
/// learner's) must not be compared with that other repository's commits,
/// where every exercise would look changed.
pub fn why_not_a_clone(root: &Path) -> Option<String> {
    match git(root, &["rev-parse", "--show-toplevel"]) {
        Ok(top) if same_dir(Path::new(top.trim()), root) => None,
        Ok(top) => Some(format!(
            "{} is not a git clone of the course: it is a folder inside another git repository, {}",
            root.display(),
            top.trim()
        )),
        Err(e) if e.starts_with("could not run git") => Some(e),
        // "fatal: not a git repository ..." is the usual reason; say any
        // other (such as git's "dubious ownership") as git said it.
        Err(e) if e.contains("not a git repository") => Some(format!(
            "{} is not a git clone of the course",
            root.display()
        )),
        Err(e) => Some(format!(
            "{} is not a usable git clone of the course ({e})",
            root.display()
        )),
    }
}

/// Fails with a clear message unless `root` is the course's own git clone.
pub fn ensure_repo(root: &Path) -> crate::Result<()> {
    match why_not_a_clone(root) {
        None => Ok(()),
        Some(why) if why.starts_with("could not run git") => Err(why),
        Some(why) => Err(format!(
            "{why}; this command compares your work with the course's committed stubs, \
             so it needs the course's own clone: `git clone` the course into a folder of \
             its own (not inside another repository)"
        )),
    }
}

/// Do `a` and `b` name the same directory (through symbolic links, and
/// whatever separators git prints on Windows)?
fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
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

    /// A fresh temporary directory (removed by the caller).
    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("course-git-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_course_inside_another_repository_is_not_a_clone() {
        let outer = temp_dir("outer");
        if git(&outer, &["init", "--quiet"]).is_err() {
            eprintln!("git is not installed: skipped");
            return;
        }
        let course = outer.join("rust-course");
        std::fs::create_dir_all(&course).unwrap();
        assert_eq!(ensure_repo(&outer), Ok(()));
        assert_eq!(why_not_a_clone(&outer), None);
        let error = ensure_repo(&course).unwrap_err();
        assert!(error.contains("inside another git repository"), "{error}");
        assert!(
            error.contains("course-git-outer"),
            "names the outer one: {error}"
        );
        // The course's own clone, even inside another repository, is fine.
        git(&course, &["init", "--quiet"]).unwrap();
        assert_eq!(ensure_repo(&course), Ok(()));
        std::fs::remove_dir_all(&outer).unwrap();
    }

    #[test]
    fn a_folder_outside_any_repository_is_not_a_clone() {
        let dir = temp_dir("none");
        // Skipped where the temporary directory is inside a repository.
        if git(&dir, &["rev-parse", "--show-toplevel"]).is_ok() {
            return;
        }
        let error = ensure_repo(&dir).unwrap_err();
        assert!(
            error.contains("is not a git clone of the course;"),
            "{error}"
        );
        assert!(why_not_a_clone(&dir).is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
