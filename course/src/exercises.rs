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
        if let Some(parent) = dir.parent()
            && parent.join("exercises").is_dir()
        {
            return parent.to_path_buf();
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

/// The exercise a learner named: "3", "03", "exercise-03" or "03-echo-server"
/// (also "exercises/03-echo-server/", as a shell completes it). Anything else
/// ("3x", "3.5", "003") is an error, not a guess.
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
    let Some((number, topic)) = parse_name(name) else {
        return Err(format!(
            "`{name}` is not an exercise number (write 3, 03, exercise-03 or the folder name); {}",
            valid()
        ));
    };
    let Some(ex) = all.iter().find(|e| e.number == number) else {
        return Err(format!("there is no exercise {number}; {}", valid()));
    };
    match topic {
        Some(topic) if ex.dir_name != format!("{number}-{topic}") => Err(format!(
            "there is no exercise `{name}`: exercise {number} is exercises/{}/",
            ex.dir_name
        )),
        _ => Ok(ex.clone()),
    }
}

/// The two-digit number and the topic (if given) of a name `find` accepts.
fn parse_name(name: &str) -> Option<(String, Option<&str>)> {
    let mut s = name.trim();
    s = s.strip_prefix("./").unwrap_or(s);
    s = s.strip_prefix("exercises/").unwrap_or(s);
    s = s.strip_suffix('/').unwrap_or(s);
    s = s.strip_prefix("exercise-").unwrap_or(s);
    let (digits, topic) = match s.split_once('-') {
        Some((digits, topic)) => (digits, Some(topic)),
        None => (s, None),
    };
    let is_number = (1..=2).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    let topic_ok = topic.is_none_or(|t| !t.is_empty() && !t.contains('/'));
    (is_number && topic_ok).then(|| (format!("{digits:0>2}"), topic))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_a_learner_types_are_parsed() {
        let number = |name| parse_name(name).map(|(n, _)| n);
        for name in ["3", "03", " 03 ", "exercise-03", "exercise-3"] {
            assert_eq!(number(name).as_deref(), Some("03"), "{name}");
        }
        assert_eq!(
            parse_name("03-echo-server"),
            Some(("03".into(), Some("echo-server")))
        );
        assert_eq!(
            parse_name("exercises/03-echo-server/"),
            Some(("03".into(), Some("echo-server")))
        );
        assert_eq!(number("12").as_deref(), Some("12"));
    }

    #[test]
    fn near_misses_are_not_exercise_numbers() {
        for name in [
            "3x",
            "3.5",
            "003",
            "abc",
            "",
            "-3",
            "+3",
            "03-",
            "x03",
            "exercise-",
            "3 4",
            "03-a/b",
        ] {
            assert_eq!(parse_name(name), None, "{name:?} must be rejected");
        }
    }

    #[test]
    fn find_checks_the_topic_too() {
        let root = std::env::temp_dir().join(format!("course-find-{}", std::process::id()));
        let dir = root.join("exercises").join("03-echo-server");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("Cargo.toml"), "").unwrap();
        assert_eq!(find(&root, "3").unwrap().dir_name, "03-echo-server");
        assert_eq!(find(&root, "03-echo-server").unwrap().number, "03");
        let wrong_topic = find(&root, "03-chat").unwrap_err();
        assert!(
            wrong_topic.contains("exercises/03-echo-server/"),
            "{wrong_topic}"
        );
        let not_a_number = find(&root, "3x").unwrap_err();
        assert!(
            not_a_number.contains("`3x` is not an exercise number"),
            "{not_a_number}"
        );
        assert!(
            not_a_number.contains("the exercises are 03"),
            "{not_a_number}"
        );
        let missing = find(&root, "4").unwrap_err();
        assert!(missing.contains("there is no exercise 04"), "{missing}");
        fs::remove_dir_all(&root).unwrap();
    }
}
