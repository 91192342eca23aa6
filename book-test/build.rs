//! Expands mdBook's `{{#include}}` / `{{#rustdoc_include}}` directives in
//! every chapter, writes the expanded copies to `OUT_DIR/book/`, and hands
//! those to skeptic. Code the book shows from an exercise or a solution is
//! therefore compiled and run in the book's context too.
//!
//! `compile_fail` blocks are not skeptic's: a block written
//! ```` ```rust,compile_fail,E0382 ```` must fail to compile *with error
//! E0382*, not for any reason (a typo would do that). An error that has no
//! code is named by its message, words joined by `-`:
//! ```` ```rust,compile_fail,error-future-cannot-be-sent-between-threads-safely ````
//! (an `error` line of the compiler's output must contain that text). This
//! script takes these blocks out of skeptic's copy and writes a test for each
//! to `OUT_DIR/compile-fail-tests.rs`; `src/compile_fail.rs` compiles the
//! block the way skeptic does and looks for the error in the compiler's
//! output.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let book_src = manifest.join("../src");
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let out = out_dir.join("book");
    let _ = fs::remove_dir_all(&out);

    // A change anywhere in the book, or in a file it includes, re-runs us.
    println!("cargo:rerun-if-changed={}", book_src.display());

    let mut expanded = Vec::new();
    let mut compile_fail = Vec::new();
    let mut files = markdown_files(&book_src);
    files.sort();
    for md in files {
        let rel = md.strip_prefix(&book_src).unwrap();
        if rel == Path::new("SUMMARY.md") {
            continue;
        }
        let text = fs::read_to_string(&md).unwrap();
        let text = expand_includes(&text, md.parent().unwrap());
        // skeptic names each test after its file, and a function name cannot
        // start with a digit (`01-async-basics.md`): prefix the copies.
        let dest = out.join(format!("ch{}", rel.display()));
        let stem = sanitize(dest.file_stem().unwrap().to_str().unwrap());
        let text = take_compile_fail_blocks(&text, &stem, &mut compile_fail);
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::write(&dest, text).unwrap();
        expanded.push(dest);
    }
    expanded.sort();
    skeptic::generate_doc_tests(&expanded);
    write_compile_fail_tests(&out_dir, &manifest, &compile_fail);
}

/// A ```` ```rust,compile_fail,E.... ```` block of the book.
struct CompileFail {
    /// The test's name, as skeptic would have named it.
    name: String,
    /// The error codes the compiler must report (`E0382`).
    codes: Vec<String>,
    /// Texts an `error` line of the compiler's output must contain, for
    /// errors without a code (from `error-future-cannot-be-sent`).
    messages: Vec<String>,
    /// The block's code, hidden (`# `) lines included and unmarked.
    code: String,
}

/// Moves every `compile_fail` block of `text` into `found`, and returns the
/// text with those blocks turned into ```` ```text ```` blocks (same lines,
/// so skeptic's line numbers for the other blocks do not move).
fn take_compile_fail_blocks(text: &str, stem: &str, found: &mut Vec<CompileFail>) -> String {
    let mut result = String::with_capacity(text.len());
    let mut section: Option<String> = None;
    // Inside a fence: (its backticks, the compile_fail block being read).
    let mut fence: Option<(String, Option<CompileFail>)> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let mut out_line = line.to_owned();
        match &mut fence {
            None => {
                if let Some(ticks) = fence_marker(trimmed) {
                    let info = &trimmed[ticks.len()..];
                    let tokens: Vec<&str> = info
                        .split(|c: char| !(c == '_' || c == '-' || c.is_alphanumeric()))
                        .filter(|t| !t.is_empty())
                        .collect();
                    let block = (tokens.contains(&"rust") && tokens.contains(&"compile_fail"))
                        .then(|| {
                            // skeptic's name: the section (headings # and ##) and
                            // the 1-based line of the opening fence.
                            let name = match &section {
                                Some(s) => format!("{stem}_sect_{s}_line_{}", index + 1),
                                None => format!("{stem}_line_{}", index + 1),
                            };
                            out_line = format!("{}text", &line[..line.len() - info.len()]);
                            CompileFail {
                                name,
                                codes: tokens
                                    .iter()
                                    .filter(|t| is_error_code(t))
                                    .map(|t| t.to_string())
                                    .collect(),
                                messages: tokens
                                    .iter()
                                    .filter_map(|t| t.strip_prefix("error-"))
                                    .map(|words| words.replace('-', " "))
                                    .collect(),
                                code: String::new(),
                            }
                        });
                    fence = Some((ticks, block));
                } else if let Some(title) = trimmed
                    .strip_prefix("# ")
                    .or_else(|| trimmed.strip_prefix("## "))
                {
                    section = Some(sanitize(&without_inline_code(title)));
                }
            }
            Some((ticks, block)) => {
                if trimmed.starts_with(ticks.as_str())
                    && trimmed.trim_end().trim_matches('`').is_empty()
                {
                    if let Some(block) = block.take() {
                        found.push(block);
                    }
                    fence = None;
                } else if let Some(block) = block {
                    block.code.push_str(unhide(line));
                    block.code.push('\n');
                }
            }
        }
        result.push_str(&out_line);
        result.push('\n');
    }
    result
}

/// The backticks (or tildes) that open a fenced block, if `line` opens one.
fn fence_marker(line: &str) -> Option<String> {
    for c in ['`', '~'] {
        let n = line.chars().take_while(|&x| x == c).count();
        if n >= 3 {
            return Some(c.to_string().repeat(n));
        }
    }
    None
}

/// `E` and four digits: a rustc error code.
fn is_error_code(token: &str) -> bool {
    token.len() == 5 && token.starts_with('E') && token[1..].chars().all(|c| c.is_ascii_digit())
}

/// A hidden line (`# code`) as the compiler sees it, as rustdoc and skeptic do.
fn unhide(line: &str) -> &str {
    let trimmed = line.trim_start();
    if let Some(rest) = trimmed.strip_prefix("# ") {
        rest
    } else if trimmed.trim_end() == "#" {
        ""
    } else {
        line
    }
}

/// A heading's text without its `inline code` (skeptic keeps only the text).
fn without_inline_code(title: &str) -> String {
    title
        .split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, part)| part)
        .collect()
}

/// skeptic's test-name rule: lower case, every run of other characters one `_`.
fn sanitize(s: &str) -> String {
    s.to_ascii_lowercase()
        .split(|c: char| !(c.is_ascii_alphanumeric()))
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// One `#[test]` per `compile_fail` block, calling `crate::compile_fail::check`.
fn write_compile_fail_tests(out_dir: &Path, manifest: &Path, blocks: &[CompileFail]) {
    let target = env::var("TARGET").unwrap();
    let mut code = String::new();
    for block in blocks {
        let codes: Vec<String> = block.codes.iter().map(|c| format!("{c:?}")).collect();
        let messages: Vec<String> = block.messages.iter().map(|m| format!("{m:?}")).collect();
        writeln!(
            code,
            "#[test]\nfn {name}() {{\n    crate::compile_fail::check(\n        \
             \"book::{name}\",\n        &[{codes}],\n        &[{messages}],\n        {root:?},\n        {out:?},\n        \
             {target:?},\n        r####\"{text}\"####,\n    );\n}}\n",
            name = block.name,
            codes = codes.join(", "),
            messages = messages.join(", "),
            root = manifest.display().to_string(),
            out = out_dir.display().to_string(),
            text = block.code,
        )
        .unwrap();
    }
    let path = out_dir.join("compile-fail-tests.rs");
    if fs::read_to_string(&path).ok().as_deref() != Some(code.as_str()) {
        fs::write(path, code).unwrap();
    }
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
/// with the text mdBook would put there.
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
