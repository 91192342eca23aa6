//! The book may `{{#include}}` only files a learner never edits: the
//! solutions, and given files. A file under `exercises/NN-topic/src/` that the
//! solution also has (at the same path under its `src/`) is the learner's:
//! including it would show their half-written code as the listing, and break
//! the book's tests as soon as they start.

use std::fs;
use std::path::{Component, Path, PathBuf};

/// Every include of a learner's file, as "chapter: path" lines.
/// `only` limits the scan to chapters whose file name starts with it.
pub fn learner_files_included(root: &Path, only: Option<&str>) -> Vec<String> {
    let src = root.join("src");
    let mut found = Vec::new();
    for md in markdown_files(&src) {
        let name = md.file_name().unwrap_or_default().to_string_lossy();
        if only.is_some_and(|prefix| !name.starts_with(prefix)) {
            continue;
        }
        let Ok(text) = fs::read_to_string(&md) else {
            continue;
        };
        let base = md.parent().unwrap_or(&src);
        for target in include_targets(&text) {
            let path = normalise(&base.join(&target));
            if let Some(solution_twin) = learner_file(root, &path) {
                found.push(format!(
                    "{}: includes {}, which the learner edits (include {} or a given file instead)",
                    md.strip_prefix(root).unwrap_or(&md).display(),
                    path.strip_prefix(root).unwrap_or(&path).display(),
                    solution_twin
                        .strip_prefix(root)
                        .unwrap_or(&solution_twin)
                        .display()
                ));
            }
        }
    }
    found
}

/// The paths named by `{{#include path[:anchor]}}` and `{{#rustdoc_include …}}`.
fn include_targets(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{#") {
        let after = &rest[start + 3..];
        let Some(end) = after.find("}}") else { break };
        let directive = &after[..end];
        rest = &after[end..];
        let mut words = directive.split_whitespace();
        if matches!(words.next(), Some("include" | "rustdoc_include"))
            && let Some(arg) = words.next()
        {
            let path = arg.split(':').next().unwrap_or(arg);
            found.push(path.to_owned());
        }
    }
    found
}

/// If `path` is `exercises/NN-x/src/<rel>` and the solution has
/// `solutions/NN-*/src/<rel>`, that solution file.
fn learner_file(root: &Path, path: &Path) -> Option<PathBuf> {
    let rel = path.strip_prefix(root.join("exercises")).ok()?;
    let mut parts = rel.components();
    let dir = parts.next()?.as_os_str().to_string_lossy().into_owned();
    if parts.next()?.as_os_str() != "src" {
        return None;
    }
    let inner: PathBuf = parts.collect();
    let number = dir.get(..2)?;
    let solutions = fs::read_dir(root.join("solutions")).ok()?;
    for entry in solutions.flatten() {
        if entry.file_name().to_string_lossy().starts_with(number) {
            let twin = entry.path().join("src").join(&inner);
            if twin.is_file() {
                return Some(twin);
            }
        }
    }
    None
}

fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(markdown_files(&path));
            } else if path.extension().is_some_and(|e| e == "md") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_include_paths() {
        let text = "a\n{{#include ../solutions/03-x/src/lib.rs:serve}}\nb {{#rustdoc_include ../exercises/01-a/src/services.rs}}\n{{#title x}}";
        assert_eq!(
            include_targets(text),
            [
                "../solutions/03-x/src/lib.rs",
                "../exercises/01-a/src/services.rs"
            ]
        );
    }

    #[test]
    fn normalises_parent_dirs() {
        assert_eq!(
            normalise(Path::new("/r/src/../exercises/./x")),
            PathBuf::from("/r/exercises/x")
        );
    }
}
