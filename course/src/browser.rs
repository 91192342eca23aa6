//! `cargo course browser-check` (also the last step of `verify`): the
//! rendered book in headless Chromium.
//!
//! Builds the book with mdBook, writes a plan (the pages SUMMARY.md lists, a
//! search to try, the screenshots to take) to target/browser/plan.json and
//! runs `node browser-test/check.mjs` on it, which serves book/html on
//! 127.0.0.1 with an ephemeral port and drives Debian's Chromium through
//! playwright-core (pinned in browser-test/package-lock.json; `npm ci` runs
//! when node_modules is missing; no browser is ever downloaded).
//!
//! Without Chromium or Node.js the check is skipped with a one-line message,
//! unless the environment variable CI is set: then it fails.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use crate::exercises;
use crate::summary::Summary;
use crate::tools;

/// Debian's package `chromium`; `COURSE_CHROMIUM` overrides it.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// A term that only chapter 03 is sure to contain, and that chapter.
const SEARCH: (&str, &str) = ("TcpListener", "03");
/// The oldest Node.js that playwright-core supports.
const NODE_MAJOR: u32 = 20;

/// What the check found: facts, or what failed.
pub type Outcome = std::result::Result<Vec<String>, Vec<String>>;

pub fn run() -> crate::Result<ExitCode> {
    let root = exercises::root();
    match check(&root) {
        Ok(facts) => {
            // A skip has said so already, in one line.
            for fact in facts.iter().filter(|f| !f.starts_with("browser: skipped")) {
                println!("{fact}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(failures) if failures.len() == 1 => Err(failures[0].clone()),
        Err(failures) => Err(format!(
            "{} browser checks failed (see FAIL above)",
            failures.len()
        )),
    }
}

/// Prints the last lines a failed command wrote to stderr; the failure to report.
fn failed_with_output(out: &std::process::Output, failure: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = text.lines().collect();
    for line in &lines[lines.len().saturating_sub(15)..] {
        println!("  {line}");
    }
    vec![failure.to_owned()]
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A missing tool: skip on a learner's machine, fail under CI.
fn missing(what: &str) -> Outcome {
    if in_ci() {
        println!("  FAIL {what} (CI is set, so the browser check cannot be skipped)");
        Err(vec![format!("browser check: {what}")])
    } else {
        println!("  skip browser check: {what}");
        Ok(vec![format!("browser: skipped ({what})")])
    }
}

pub fn check(root: &Path) -> Outcome {
    let chromium = std::env::var("COURSE_CHROMIUM").unwrap_or_else(|_| CHROMIUM.into());
    if !Path::new(&chromium).is_file() {
        return missing(&format!(
            "no Chromium at {chromium} (Debian: `apt-get install chromium`)"
        ));
    }
    match node_major() {
        None => return missing("Node.js is not installed (`node` is not on PATH)"),
        Some(major) if major < NODE_MAJOR => {
            return missing(&format!(
                "Node.js {major} is too old; playwright-core needs {NODE_MAJOR} or newer"
            ));
        }
        Some(_) => {}
    }
    tools::ensure_mdbook().map_err(|e| vec![e])?;
    let summary = Summary::read(root).map_err(|e| vec![e])?;
    let book_title = book_title(root).unwrap_or_default();

    // 1. Build the book, English and translations (book/html/<lang>/).
    crate::i18n::build_all(root).map_err(|e| {
        println!("{e}");
        vec!["browser check: mdbook build failed (see above)".to_owned()]
    })?;
    let html = [root.join("book").join("html"), root.join("book")]
        .into_iter()
        .find(|d| d.join("index.html").is_file())
        .ok_or_else(|| vec!["browser check: mdbook build wrote no book/html/index.html".into()])?;

    // 2. playwright-core, from the committed lock file.
    let tests = root.join("browser-test");
    if !playwright_installed(&tests) {
        println!("  installing playwright-core (npm ci in browser-test/)...");
        let out = Command::new("npm")
            .current_dir(&tests)
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
            .output()
            .map_err(|e| vec![format!("could not run npm ci: {e}")])?;
        if !out.status.success() {
            return Err(failed_with_output(
                &out,
                "browser check: `npm ci` in browser-test/ failed (see above)",
            ));
        }
    }

    // 3. The plan, and the run.
    let shots = exercises::target_dir(root).join("browser");
    std::fs::create_dir_all(&shots)
        .map_err(|e| vec![format!("cannot create {}: {e}", shots.display())])?;
    let mut plan = plan(&summary, &html, &shots, &chromium, &book_title);
    plan.languages = crate::i18n::languages(root);
    if plan.search.is_none() {
        println!(
            "  skip search check: chapter {} is not written yet",
            SEARCH.1
        );
    }
    let plan_file = shots.join("plan.json");
    std::fs::write(&plan_file, plan.to_json())
        .map_err(|e| vec![format!("cannot write {}: {e}", plan_file.display())])?;

    let mut child = Command::new("node")
        .current_dir(&tests)
        .arg("check.mjs")
        .arg(&plan_file)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| vec![format!("could not run node: {e}")])?;
    let mut failures = Vec::new();
    let mut passed = 0;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("  {line}");
            if let Some(what) = line.strip_prefix("FAIL ") {
                failures.push(format!("browser: {what}"));
            } else if line.starts_with("ok ") {
                passed += 1;
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| vec![format!("waiting for node: {e}")])?;
    if status.success() && failures.is_empty() {
        Ok(vec![format!(
            "browser: {passed} checks passed in headless Chromium ({} pages); screenshots in {}/",
            plan.pages.len(),
            exercises::display(root, &shots)
        )])
    } else if failures.is_empty() {
        Err(vec![format!("browser: the check exited with {status}")])
    } else {
        Err(failures)
    }
}

/// Is node_modules there, with the playwright-core that package.json pins?
fn playwright_installed(tests: &Path) -> bool {
    let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
    let pinned = read(tests.join("package.json"));
    let installed = read(
        tests
            .join("node_modules")
            .join("playwright-core")
            .join("package.json"),
    );
    match (
        json_field(&pinned, "playwright-core"),
        json_field(&installed, "version"),
    ) {
        (Some(wanted), Some(have)) => wanted == have,
        _ => false,
    }
}

/// The string value of the first `"name": "value"` in a JSON text.
fn json_field(json: &str, name: &str) -> Option<String> {
    let at = json.find(&format!("\"{name}\""))? + name.len() + 2;
    let rest = json[at..].trim_start().strip_prefix(':')?.trim_start();
    let value = rest.strip_prefix('"')?;
    Some(value[..value.find('"')?].to_owned())
}

fn node_major() -> Option<u32> {
    let out = Command::new("node").arg("--version").output().ok()?;
    let version = String::from_utf8_lossy(&out.stdout);
    version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// `title = "..."` of book.toml's `[book]` table.
fn book_title(root: &Path) -> Option<String> {
    let text = std::fs::read_to_string(root.join("book.toml")).ok()?;
    parse_book_title(&text)
}

fn parse_book_title(toml: &str) -> Option<String> {
    let mut in_book = false;
    for line in toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_book = line == "[book]";
        } else if in_book
            && let Some((key, value)) = line.split_once('=')
            && key.trim() == "title"
        {
            let value = value.trim();
            let value = value.strip_prefix('"')?.rsplit_once('"')?.0;
            return Some(value.replace("\\\"", "\""));
        }
    }
    None
}

#[derive(Debug)]
struct PlanPage {
    path: String,
    title: String,
    chapter: Option<String>,
}

#[derive(Debug)]
struct Plan {
    book_dir: PathBuf,
    screenshot_dir: PathBuf,
    chromium: String,
    book_title: String,
    pages: Vec<PlanPage>,
    /// (term, the page that must be found, the page to search from).
    search: Option<(String, String, String)>,
    /// (name, page).
    screenshots: Vec<(String, String)>,
    /// Translations built under book/html/<lang>/ (po/<lang>.po).
    languages: Vec<String>,
}

fn plan(summary: &Summary, html: &Path, shots: &Path, chromium: &str, title: &str) -> Plan {
    let pages: Vec<PlanPage> = summary
        .pages
        .iter()
        .map(|p| PlanPage {
            path: p.html_path(),
            title: p.title.clone(),
            chapter: p.number.clone(),
        })
        .collect();
    let chapter = |n: &str| pages.iter().find(|p| p.chapter.as_deref() == Some(n));
    let first = pages.first().map(|p| p.path.clone());
    let search = match (chapter(SEARCH.1), &first) {
        (Some(target), Some(start)) => {
            Some((SEARCH.0.to_owned(), target.path.clone(), start.clone()))
        }
        _ => None,
    };
    // The introduction, chapter 03, and the study plan (or another chapter).
    let mut chosen: Vec<&PlanPage> = Vec::new();
    chosen.extend(pages.first());
    chosen.extend(chapter(SEARCH.1));
    let third = pages
        .iter()
        .find(|p| p.path == "study-plan.html")
        .or_else(|| {
            pages
                .iter()
                .find(|p| p.chapter.is_some() && !chosen.iter().any(|c| c.path == p.path))
        })
        .or_else(|| {
            pages
                .iter()
                .find(|p| !chosen.iter().any(|c| c.path == p.path))
        });
    chosen.extend(third);
    let screenshots = chosen
        .iter()
        .map(|p| {
            let name = p.path.trim_end_matches(".html").replace('/', "-");
            (name, p.path.clone())
        })
        .collect();
    Plan {
        book_dir: html.to_owned(),
        screenshot_dir: shots.to_owned(),
        chromium: chromium.to_owned(),
        book_title: title.to_owned(),
        pages,
        search,
        screenshots,
        languages: Vec::new(),
    }
}

impl Plan {
    fn to_json(&self) -> String {
        let s = |v: &str| json_string(v);
        let opt = |v: &Option<String>| v.as_deref().map_or("null".into(), json_string);
        let pages: Vec<String> = self
            .pages
            .iter()
            .map(|p| {
                format!(
                    "{{\"path\":{},\"title\":{},\"chapter\":{}}}",
                    s(&p.path),
                    s(&p.title),
                    opt(&p.chapter)
                )
            })
            .collect();
        let search = match &self.search {
            Some((term, expect, start)) => format!(
                "{{\"term\":{},\"expect\":{},\"start\":{}}}",
                s(term),
                s(expect),
                s(start)
            ),
            None => "null".into(),
        };
        let shots: Vec<String> = self
            .screenshots
            .iter()
            .map(|(name, path)| format!("{{\"name\":{},\"path\":{}}}", s(name), s(path)))
            .collect();
        format!(
            "{{\"book_dir\":{},\"screenshot_dir\":{},\"chromium\":{},\"book_title\":{},\"timeout_secs\":300,\n\"pages\":[{}],\n\"search\":{search},\n\"screenshots\":[{}],\n\"languages\":[{}]}}\n",
            s(&self.book_dir.to_string_lossy()),
            s(&self.screenshot_dir.to_string_lossy()),
            s(&self.chromium),
            s(&self.book_title),
            pages.join(",\n"),
            shots.join(","),
            self.languages
                .iter()
                .map(|l| s(l))
                .collect::<Vec<_>>()
                .join(",")
        )
    }
}

fn json_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary;

    #[test]
    fn escapes_json_strings() {
        assert_eq!(
            json_string("a \"b\" \\ c\n\u{1}"),
            "\"a \\\"b\\\" \\\\ c\\n\\u0001\""
        );
        assert_eq!(json_string("async/await é"), "\"async/await é\"");
    }

    #[test]
    fn reads_the_pinned_and_the_installed_version() {
        let package = "{\n  \"dependencies\": {\n    \"playwright-core\": \"1.65.1\"\n  }\n}";
        assert_eq!(
            json_field(package, "playwright-core").as_deref(),
            Some("1.65.1")
        );
        let installed = "{\"name\": \"playwright-core\", \"version\" : \"1.65.1\"}";
        assert_eq!(json_field(installed, "version").as_deref(), Some("1.65.1"));
        assert_eq!(json_field(installed, "missing"), None);
    }

    #[test]
    fn reads_the_book_title() {
        let toml = "[book]\nauthors = [\"x\"]\ntitle = \"Rust Systems Programming, Hands-on\"\n\n[output.html]\ntitle = \"no\"\n";
        assert_eq!(
            parse_book_title(toml).as_deref(),
            Some("Rust Systems Programming, Hands-on")
        );
        assert_eq!(parse_book_title("[output.html]\ntitle = \"no\"\n"), None);
    }

    #[test]
    fn plans_pages_search_and_three_screenshots() {
        let s = summary::parse(
            "# Summary\n[Introduction](introduction.md)\n[The plan](study-plan.md)\n# Week 1: a\n- [One](01-one.md)\n- [Echo](03-echo-server.md)\n- [Draft]()\n",
        );
        let p = plan(&s, Path::new("/b"), Path::new("/s"), CHROMIUM, "Book");
        let paths: Vec<&str> = p.pages.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "introduction.html",
                "study-plan.html",
                "01-one.html",
                "03-echo-server.html"
            ]
        );
        assert_eq!(
            p.search,
            Some((
                "TcpListener".into(),
                "03-echo-server.html".into(),
                "introduction.html".into()
            ))
        );
        let shots: Vec<&str> = p.screenshots.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(shots, ["introduction", "03-echo-server", "study-plan"]);
        let json = p.to_json();
        assert!(json.contains("\"chapter\":\"03\""), "{json}");
        assert!(json.contains("\"chapter\":null"), "{json}");
    }

    #[test]
    fn skips_the_search_while_chapter_03_is_a_draft() {
        let s = summary::parse(
            "[Intro](introduction.md)\n# Week 1: a\n- [One](01-one.md)\n- [Two]()\n- [Three]()\n",
        );
        let p = plan(&s, Path::new("/b"), Path::new("/s"), CHROMIUM, "Book");
        assert_eq!(p.search, None);
        let shots: Vec<&str> = p.screenshots.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(shots, ["introduction", "01-one"]);
    }
}
