//! Test results cached by what they depend on, so that an unchanged course
//! reports its status without running cargo.
//!
//! The key is an FNV-1a hash (stable across Rust versions, unlike std's
//! `DefaultHasher`) of the toolchain's `rustc -vV` and of every file the
//! exercise's tests see: the exercise's `Cargo.toml`, `src/` and `tests/`,
//! plus the shared `testkit/src/` and `Cargo.lock`. Change any of them and the
//! tests run again; nothing else is remembered, so nothing can drift.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::exercises::{self, Exercise};

/// 64-bit FNV-1a.
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    /// Writes a length first, so that ("ab", "c") and ("a", "bc") differ.
    pub fn write_field(&mut self, bytes: &[u8]) {
        self.write(&(bytes.len() as u64).to_le_bytes());
        self.write(bytes);
    }
    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// The toolchain that will run the tests (`rustc -vV`, run in the course so
/// that a `rust-toolchain.toml` is honoured).
pub fn toolchain(root: &Path) -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    Command::new(rustc)
        .current_dir(root)
        .arg("-vV")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|| "unknown rustc".into())
}

/// The inputs of an exercise's test run, as (name, contents), in a stable order.
pub fn inputs(root: &Path, ex: &Exercise) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    collect(root, &ex.dir.join("Cargo.toml"), &mut files);
    collect(root, &ex.dir.join("src"), &mut files);
    collect(root, &ex.dir.join("tests"), &mut files);
    collect(root, &root.join("testkit").join("src"), &mut files);
    collect(root, &root.join("Cargo.lock"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|(name, path)| {
            let bytes = fs::read(&path).unwrap_or_default();
            (name, bytes)
        })
        .collect()
}

fn collect(root: &Path, path: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(meta) = fs::metadata(path) else {
        return;
    };
    if meta.is_file() {
        let name = exercises::display(root, path).replace('\\', "/");
        out.push((name, path.to_owned()));
    } else if meta.is_dir() {
        let Ok(entries) = fs::read_dir(path) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            collect(root, &entry.path(), out);
        }
    }
}

/// The cache key for a run of `inputs` under `toolchain`.
pub fn key(toolchain: &str, inputs: &[(String, Vec<u8>)]) -> String {
    let mut h = Fnv1a::default();
    h.write_field(b"course-status-v1");
    h.write_field(toolchain.as_bytes());
    for (name, bytes) in inputs {
        h.write_field(name.as_bytes());
        h.write_field(bytes);
    }
    format!("{:016x}", h.finish())
}

/// A cached result: a few `name value` lines under target/course/status/NN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub fields: Vec<(String, String)>,
}

impl Entry {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn encode(&self) -> String {
        let mut text = format!("key {}\n", self.key);
        for (name, value) in &self.fields {
            // One line per field: backslashes and newlines are escaped.
            let value = value.replace('\\', "\\\\").replace('\n', "\\n");
            text.push_str(&format!("{name} {value}\n"));
        }
        text
    }

    pub fn decode(text: &str) -> Option<Entry> {
        let mut lines = text.lines();
        let key = lines.next()?.strip_prefix("key ")?.to_owned();
        let fields = lines
            .filter_map(|l| l.split_once(' '))
            .map(|(n, v)| (n.to_owned(), unescape(v)))
            .collect();
        Some(Entry { key, fields })
    }
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn entry_path(root: &Path, number: &str) -> PathBuf {
    exercises::target_dir(root)
        .join("course")
        .join("status")
        .join(number)
}

/// The cached entry for exercise `number`, if its key is `key`.
pub fn load(root: &Path, number: &str, key: &str) -> Option<Entry> {
    let text = fs::read_to_string(entry_path(root, number)).ok()?;
    Entry::decode(&text).filter(|e| e.key == key)
}

pub fn store(root: &Path, number: &str, entry: &Entry) {
    let path = entry_path(root, number);
    if let Some(dir) = path.parent() {
        let _ = fs::create_dir_all(dir);
    }
    // Best effort: a cache that cannot be written only costs a re-run.
    let tmp = path.with_extension("tmp");
    if fs::write(&tmp, entry.encode()).is_ok() {
        let _ = fs::rename(&tmp, &path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_values() {
        // Test vectors from the FNV reference (draft-eastlake-fnv).
        let hash = |s: &str| {
            let mut h = Fnv1a::default();
            h.write(s.as_bytes());
            h.finish()
        };
        assert_eq!(hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash("foobar"), 0x8594_4171_f739_67e8);
    }

    fn files(list: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        list.iter()
            .map(|(n, c)| (n.to_string(), c.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn key_is_stable_and_sixteen_hex_digits() {
        let k = key("rustc 1.95.0", &files(&[("src/lib.rs", "fn f() {}")]));
        assert_eq!(k.len(), 16);
        assert!(k.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            k,
            key("rustc 1.95.0", &files(&[("src/lib.rs", "fn f() {}")]))
        );
    }

    #[test]
    fn key_changes_with_content_names_and_toolchain() {
        let base = key("rustc 1.95.0", &files(&[("src/lib.rs", "fn f() {}")]));
        assert_ne!(
            base,
            key("rustc 1.95.0", &files(&[("src/lib.rs", "fn g() {}")]))
        );
        assert_ne!(
            base,
            key("rustc 1.95.0", &files(&[("src/main.rs", "fn f() {}")]))
        );
        assert_ne!(
            base,
            key("rustc 1.96.0", &files(&[("src/lib.rs", "fn f() {}")]))
        );
        // Moving bytes between a name and its contents changes the key too.
        assert_ne!(
            key("t", &files(&[("ab", "c")])),
            key("t", &files(&[("a", "bc")]))
        );
    }

    #[test]
    fn entries_round_trip_as_lines() {
        let entry = Entry {
            key: "0123456789abcdef".into(),
            fields: vec![
                ("state".into(), "failing".into()),
                ("detail".into(), "line one\nline \\two\\n".into()),
            ],
        };
        let decoded = Entry::decode(&entry.encode()).unwrap();
        assert_eq!(decoded.key, entry.key);
        assert_eq!(decoded.get("state"), Some("failing"));
        assert_eq!(decoded.get("detail"), Some("line one\nline \\two\\n"));
        assert_eq!(Entry::decode("garbage"), None);
    }
}
