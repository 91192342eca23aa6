//! Expands mdBook's `{{#include}}` / `{{#rustdoc_include}}` directives in
//! every chapter, writes the expanded copies to `OUT_DIR/book/`, and hands
//! those to skeptic. Code the book shows from an exercise or a solution is
//! therefore compiled and run in the book's context too.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let book_src = manifest.join("../src");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("book");
    let _ = fs::remove_dir_all(&out);

    // A change anywhere in the book, or in a file it includes, re-runs us.
    println!("cargo:rerun-if-changed={}", book_src.display());

    let mut expanded = Vec::new();
    for md in markdown_files(&book_src) {
        let rel = md.strip_prefix(&book_src).unwrap();
        if rel == Path::new("SUMMARY.md") {
            continue;
        }
        let text = fs::read_to_string(&md).unwrap();
        let text = expand_includes(&text, md.parent().unwrap());
        let text = text.replace("```rust,compile_fail", "```rust,no_run,should_panic");
        // skeptic names each test after its file, and a function name cannot
        // start with a digit (`01-async-basics.md`): prefix the copies.
        let dest = out.join(format!("ch{}", rel.display()));
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::write(&dest, text).unwrap();
        expanded.push(dest);
    }
    expanded.sort();
    skeptic::generate_doc_tests(&expanded);
}

fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(markdown_files(&path));
        } else if path.extension().is_some_and(|e| e == "md") {
            found.push(path);
        }
    }
    found
}

/// Replaces each `{{#include path[:range|:anchor]}}` (and `rustdoc_include`)
/// with the text mdBook would put there. `compile_fail` blocks become
/// `no_run,should_panic`: skeptic then passes only if compilation fails.
fn expand_includes(text: &str, base: &Path) -> String {
    let mut result = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{#") {
        let (before, after) = rest.split_at(start);
        let Some(end) = after.find("}}") else { break };
        let directive = &after[3..end];
        let (kind, arg) = directive.trim().split_once(' ').unwrap_or((directive, ""));
        let arg = arg.trim();
        let replacement = match kind {
            "include" => Some(include(base, arg, false)),
            "rustdoc_include" => Some(include(base, arg, true)),
            _ => None,
        };
        result.push_str(before);
        match replacement {
            Some(r) => result.push_str(&r),
            None => result.push_str(&after[..end + 2]),
        }
        rest = &after[end + 2..];
    }
    result.push_str(rest);
    result
}

fn include(base: &Path, arg: &str, rustdoc: bool) -> String {
    let (file, selector) = match arg.split_once(':') {
        Some((f, s)) => (f, Some(s)),
        None => (arg, None),
    };
    let path = base.join(file);
    println!("cargo:rerun-if-changed={}", path.display());
    let content = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{{{{#include {arg}}}}}: cannot read {}: {e}",
            path.display()
        )
    });
    let lines: Vec<&str> = content.lines().collect();

    // Which lines (0-based, end exclusive) the selector picks.
    let (from, to) = match selector {
        None => (0, lines.len()),
        Some(sel)
            if sel
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == ':') =>
        {
            let mut parts = sel.splitn(2, ':');
            let a = parts.next().unwrap_or("");
            let b = parts.next();
            let start = a.parse::<usize>().map(|n| n.saturating_sub(1)).unwrap_or(0);
            let end = match b {
                None => start + 1,
                Some("") => lines.len(),
                Some(n) => n.parse::<usize>().unwrap().min(lines.len()),
            };
            (start, end)
        }
        Some(anchor) => {
            let begin = lines
                .iter()
                .position(|l| is_anchor(l, "ANCHOR:", anchor))
                .unwrap_or_else(|| panic!("anchor `{anchor}` not found in {}", path.display()));
            let end = lines
                .iter()
                .position(|l| is_anchor(l, "ANCHOR_END:", anchor))
                .unwrap_or_else(|| panic!("ANCHOR_END `{anchor}` not found in {}", path.display()));
            (begin + 1, end)
        }
    };

    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if line.contains("ANCHOR:") || line.contains("ANCHOR_END:") {
            continue;
        }
        let inside = (from..to).contains(&i);
        if inside {
            out.push_str(line);
            out.push('\n');
        } else if rustdoc {
            // rustdoc_include keeps the rest of the file as hidden lines. An
            // out-of-line `mod name;` would not resolve once the block is
            // compiled on its own, so its file is inlined (hidden as well).
            match out_of_line_module(line) {
                Some(name) => {
                    let module = path.parent().unwrap().join(format!("{name}.rs"));
                    println!("cargo:rerun-if-changed={}", module.display());
                    let body = fs::read_to_string(&module).unwrap_or_else(|e| {
                        panic!("mod {name}: cannot read {}: {e}", module.display())
                    });
                    out.push_str(&format!("# mod {name} {{\n"));
                    for inner in body.lines() {
                        if !(inner.contains("ANCHOR:") || inner.contains("ANCHOR_END:")) {
                            out.push_str("# ");
                            out.push_str(inner);
                            out.push('\n');
                        }
                    }
                    out.push_str("# }\n");
                }
                None => {
                    out.push_str("# ");
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
    }
    // mdBook does not add the final newline: the directive's own line ends it.
    out.pop();
    out
}

/// `mod name;` or `pub mod name;` (a module in its own file): its name.
fn out_of_line_module(line: &str) -> Option<&str> {
    let rest = line.trim().strip_prefix("pub ").unwrap_or(line.trim());
    let name = rest.strip_prefix("mod ")?.strip_suffix(';')?;
    name.chars()
        .all(|c| c.is_alphanumeric() || c == '_')
        .then_some(name)
}

fn is_anchor(line: &str, marker: &str, name: &str) -> bool {
    line.split_once(marker)
        .is_some_and(|(_, rest)| rest.split_whitespace().next() == Some(name))
}
