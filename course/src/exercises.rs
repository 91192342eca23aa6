//! Finding the course's exercises and their solutions on disk.

use std::path::{Path, PathBuf};
use std::{env, fs};

/// One chapter's exercise: `exercises/NN-topic/`, package `exercise-NN`.
#[derive(Debug, Clone)]
pub struct Exercise {
    /// The two-digit number, e.g. "03".
    pub number: String,
    /// The directory name, e.g. "03-echo-server".
    pub dir_name: String,
    pub dir: PathBuf,
    pub solution_dir: Option<PathBuf>,
}

impl Exercise {
    pub fn package(&self) -> String {
        format!("exercise-{}", self.number)
    }
    pub fn solution_package(&self) -> String {
        format!("solution-{}", self.number)
    }
}

/// The repository's root: the directory holding the workspace's Cargo.toml.
pub fn root() -> PathBuf {
    // The alias runs us through cargo, which sets this to course/.
    if let Ok(dir) = env::var("CARGO_MANIFEST_DIR") {
        let dir = PathBuf::from(dir);
        if let Some(parent) = dir.parent() {
            if parent.join("exercises").is_dir() {
                return parent.to_path_buf();
            }
        }
    }
    let mut dir = env::current_dir().expect("current directory");
    loop {
        if dir.join("exercises").is_dir() && dir.join("Cargo.toml").is_file() {
            return dir;
        }
        if !dir.pop() {
            return env::current_dir().expect("current directory");
        }
    }
}

/// Every exercise, in chapter order.
pub fn all(root: &Path) -> Vec<Exercise> {
    let mut found: Vec<Exercise> = read_numbered(&root.join("exercises"))
        .into_iter()
        .map(|(number, dir_name, dir)| {
            let solution_dir = read_numbered(&root.join("solutions"))
                .into_iter()
                .find(|(n, _, _)| *n == number)
                .map(|(_, _, d)| d);
            Exercise {
                number,
                dir_name,
                dir,
                solution_dir,
            }
        })
        .collect();
    found.sort_by(|a, b| a.number.cmp(&b.number));
    found
}

fn read_numbered(dir: &Path) -> Vec<(String, String, PathBuf)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let number = name.get(..2)?;
            number
                .chars()
                .all(|c| c.is_ascii_digit())
                .then(|| (number.to_owned(), name.clone(), e.path()))
        })
        .collect()
}

/// The exercise a learner named: "3", "03", "exercise-03" or "03-echo-server".
pub fn find(root: &Path, name: &str) -> crate::Result<Exercise> {
    let all = all(root);
    let valid = || {
        if all.is_empty() {
            "there are no exercises under exercises/".to_owned()
        } else {
            let numbers: Vec<&str> = all.iter().map(|e| e.number.as_str()).collect();
            format!("the exercises are {}", numbers.join(", "))
        }
    };
    let wanted = name.trim().trim_start_matches("exercise-");
    let digits: String = wanted.chars().take_while(|c| c.is_ascii_digit()).collect();
    let Ok(n) = digits.parse::<u32>() else {
        return Err(format!("`{name}` is not an exercise number; {}", valid()));
    };
    let number = format!("{n:02}");
    all.iter()
        .find(|e| e.number == number)
        .cloned()
        .ok_or_else(|| format!("there is no exercise {number}; {}", valid()))
}

/// Where the course keeps what it computes (cached test results, hint
/// counters, screenshots): the workspace's target directory, which is
/// gitignored and which `cargo clean` empties.
pub fn target_dir(root: &Path) -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// `path` relative to the repository's root, for messages.
pub fn display(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
