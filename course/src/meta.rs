//! What each chapter declares beside its solution, in the solution's
//! `Cargo.toml` under `[package.metadata.course]`: its wrong solutions and
//! its extra checks (see CONTRIBUTING.md). Read through `cargo metadata`, so
//! that cargo's own TOML parser does the reading.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::testrun::cargo;

/// `[[package.metadata.course.wrong]]`: a plausible mistake, as a patch to
/// the solution, and the tests that must fail on it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Wrong {
    /// The patch, relative to the solution's directory.
    pub patch: PathBuf,
    /// The mistake, in a few words, for the report.
    pub why: String,
    /// Tests (as libtest names them) that must fail on the patched solution.
    pub caught_by: Vec<String>,
}

/// `[[package.metadata.course.check]]`: a script run by verify.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Check {
    /// One line for the report.
    pub name: String,
    /// The script, relative to the solution's directory.
    pub run: PathBuf,
    /// Programs that must be on PATH; missing ones skip the check (not in CI).
    #[serde(default)]
    pub needs: Vec<String>,
    /// Debian packages that provide `needs` (what `.ci/run` installs).
    #[serde(default)]
    pub debian: Vec<String>,
    /// Seconds before the check is stopped and fails.
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    /// `false` for a check that CI does not run (say why in a comment).
    #[serde(default = "yes")]
    pub ci: bool,
}

fn default_timeout() -> u64 {
    120
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Course {
    #[serde(default)]
    pub wrong: Vec<Wrong>,
    #[serde(default)]
    pub check: Vec<Check>,
}

/// One package's declarations.
#[derive(Debug, Clone)]
pub struct Declared {
    pub course: Course,
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

/// Every workspace package's `[package.metadata.course]`, by package name.
/// A malformed table is an error naming the package.
pub fn read(root: &Path) -> crate::Result<BTreeMap<String, Declared>> {
    let out = Command::new(cargo())
        .current_dir(root)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()
        .map_err(|e| format!("running cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let meta: Metadata = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("reading cargo metadata's output: {e}"))?;
    let mut found = BTreeMap::new();
    for package in meta.packages {
        let course = match package.metadata.as_ref().and_then(|m| m.get("course")) {
            Some(value) => Course::deserialize(value).map_err(|e| {
                format!(
                    "{}: [package.metadata.course] is not valid: {e}",
                    package.name
                )
            })?,
            None => Course::default(),
        };
        found.insert(package.name, Declared { course });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrong_solutions_and_checks_with_defaults() {
        let value = serde_json::json!({
            "wrong": [{"patch": "wrong/a.patch", "why": "serial", "caught-by": ["t1"]}],
            "check": [{"name": "nc", "run": "checks/nc.sh", "needs": ["nc"]}]
        });
        let course = Course::deserialize(&value).unwrap();
        assert_eq!(course.wrong[0].caught_by, ["t1"]);
        assert_eq!(course.check[0].timeout, 120);
        assert!(course.check[0].ci);
        assert!(course.check[0].debian.is_empty());
    }

    #[test]
    fn rejects_a_misspelt_key() {
        let value = serde_json::json!({
            "wrong": [{"patch": "x", "why": "y", "caught_by": ["t"]}]
        });
        let err = Course::deserialize(&value).unwrap_err().to_string();
        assert!(err.contains("caught_by"), "{err}");
    }
}
