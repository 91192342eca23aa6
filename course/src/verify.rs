//! `cargo course verify`: the maintainer's proof that the course holds.
//!
//! 1. formatting (`cargo fmt --check`);
//! 2. clippy with `-D warnings` on solutions, tooling and the book tests;
//! 3. every ```` ```rust ```` block of the book compiles and runs (skeptic);
//! 4. one contract: stub and solution declare the same public items, and the
//!    book includes no file a learner edits (see `contract`, `includes`);
//! 5. every solution passes its exercise's tests (the same test files);
//! 6. every exercise stub compiles and *each* of its tests fails on it;
//! 7. every wrong solution declared beside a solution fails the tests it
//!    names (see `wrong`);
//! 8. the book builds and every link resolves (mdBook + linkcheck2), in
//!    English and in each translation (see `i18n`), and translated hints
//!    have as many hints as the English ones;
//! 9. the chapters' own checks: real clients, Miri, valgrind ... (`checks`);
//! 10. the rendered book works in headless Chromium (see `browser`).
//!
//! `cargo course verify NN` runs the chapter's share of each step (its
//! formatting and lints, book blocks, contract, solution, stub, wrong
//! solutions and checks) and skips the whole-book steps.
//!
//! It prints a summary and exits non-zero naming what failed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

use crate::exercises::{self, Exercise};
use crate::meta::{self, Declared};
use crate::testrun::{self, Outcome, TestRun};
use crate::{browser, checks, contract, i18n, includes, tools, wrong};

struct Report {
    failures: Vec<String>,
    facts: Vec<String>,
    steps_passed: usize,
    steps_failed: usize,
}

pub fn run(only: Option<String>) -> crate::Result<ExitCode> {
    let started = Instant::now();
    let root = exercises::root();
    let (all, chapter) = match &only {
        Some(name) => {
            let ex = exercises::find(&root, name)?;
            let number = ex.number.clone();
            (vec![ex], Some(number))
        }
        None => (exercises::all(&root), None),
    };
    let declared = meta::read(&root)?;
    // Wrong solutions patch the solutions in place: two verifies at once in
    // one checkout would see each other's patches.
    let _lock = wrong::Lock::take(&root)?;
    wrong::restore_leftovers(&root)?;
    let mut report = Report {
        failures: Vec::new(),
        facts: Vec::new(),
        steps_passed: 0,
        steps_failed: 0,
    };

    if chapter.is_none() {
        tools::ensure_mdbook()?;
        tools::ensure_linkcheck()?;
        if !i18n::languages(&root).is_empty() {
            i18n::ensure_gettext()?;
        }
    }

    step(
        "Formatting (cargo fmt --check)",
        || fmt(&root, &all, chapter.is_some()),
        &mut report,
    );
    step(
        "Lints (clippy -D warnings on solutions, tooling, book tests)",
        || clippy(&root, &all, chapter.is_some()),
        &mut report,
    );
    step(
        "Book code blocks compile and run (skeptic)",
        || book_blocks(&root, chapter.as_deref()),
        &mut report,
    );
    step(
        "One contract: stub and solution agree, the book includes no learner file",
        || contracts(&root, &all, chapter.as_deref()),
        &mut report,
    );
    let mut solution_tests = Vec::new();
    step(
        "Solutions pass their exercise's tests",
        || solutions(&root, &all, &mut solution_tests),
        &mut report,
    );
    step(
        "Exercise stubs compile and every test fails",
        || stubs(&root, &all, &solution_tests),
        &mut report,
    );
    step(
        "Wrong solutions fail the tests that should catch them",
        || wrong_solutions(&root, &all, &declared),
        &mut report,
    );
    if chapter.is_none() {
        step(
            "Book builds with zero broken links (mdbook + linkcheck2)",
            || book_build(&root),
            &mut report,
        );
    }
    step(
        "Chapter checks (real clients and tools declared beside the solutions)",
        || chapter_checks(&root, &all, &declared),
        &mut report,
    );
    if chapter.is_none() {
        step(
            "Book in headless Chromium (pages, search, play buttons, exercise sections)",
            || browser::check(&root),
            &mut report,
        );
    }

    let secs = started.elapsed().as_secs_f64();
    println!();
    match &chapter {
        Some(n) => println!("Summary (chapter {n} only; the full run is `cargo course verify`)"),
        None => println!("Summary"),
    }
    for fact in &report.facts {
        println!("  {fact}");
    }
    println!("  time: {secs:.1} s");
    for failure in &report.failures {
        println!("  FAILED: {failure}");
    }
    // The last line counts the steps, in the plain form CI systems read.
    println!(
        "verify: {} passed, {} failed",
        report.steps_passed, report.steps_failed
    );
    Ok(if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What a step found: facts for the summary, or what failed.
type StepResult = std::result::Result<Vec<String>, Vec<String>>;

fn step(title: &str, f: impl FnOnce() -> StepResult, report: &mut Report) {
    println!("==> {title}");
    let started = Instant::now();
    let result = f();
    let secs = started.elapsed().as_secs_f64();
    match result {
        Ok(facts) => {
            println!("    ok ({secs:.1} s)");
            report.facts.extend(facts);
            report.steps_passed += 1;
        }
        Err(failures) => {
            println!("    FAILED ({secs:.1} s)");
            for f in &failures {
                println!("    - {f}");
            }
            report.failures.extend(failures);
            report.steps_failed += 1;
        }
    }
}

fn command(root: &Path, program: &str, args: &[&str]) -> std::result::Result<String, String> {
    let out = Command::new(program)
        .current_dir(root)
        .args(args)
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .map_err(|e| format!("could not run {program}: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn fmt(root: &Path, all: &[Exercise], one_chapter: bool) -> StepResult {
    let cargo = testrun::cargo();
    let mut args = vec!["fmt".to_owned()];
    if one_chapter {
        for ex in all {
            args.extend([
                "-p".to_owned(),
                ex.package(),
                "-p".to_owned(),
                ex.solution_package(),
            ]);
        }
    } else {
        args.push("--all".into());
    }
    args.extend(["--check", "--", "--color=never"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    command(root, &cargo, &args).map(|_| vec![]).map_err(|out| {
        println!("{}", tail(&out, 40));
        vec!["`cargo fmt --check` found unformatted code (run `cargo fmt --all`)".into()]
    })
}

fn clippy(root: &Path, all: &[Exercise], one_chapter: bool) -> StepResult {
    let cargo = testrun::cargo();
    let mut args = vec!["clippy".to_owned()];
    if one_chapter {
        for ex in all {
            args.extend(["-p".to_owned(), ex.solution_package()]);
        }
    } else {
        args.extend(["--workspace", "--exclude", "exercise-*"].map(String::from));
    }
    args.extend(["--all-targets", "--", "-D", "warnings"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    command(root, &cargo, &args).map(|_| vec![]).map_err(|out| {
        println!("{}", tail(&out, 60));
        vec!["clippy reported warnings in solutions or tooling (see above)".into()]
    })
}

fn report_failed_tests(run: &TestRun, what: &str) -> Vec<String> {
    let failed: Vec<String> = run
        .tests()
        .filter(|(_, o)| *o == Outcome::Failed)
        .map(|(name, _)| {
            let why = testrun::failure_message(&run.output, name).unwrap_or_default();
            let first = why
                .lines()
                .find(|l| !l.starts_with("thread "))
                .unwrap_or("");
            format!("{what}: test `{name}` failed: {first}")
        })
        .collect();
    if failed.is_empty() {
        vec![format!(
            "{what}: cargo test failed:\n{}",
            testrun::first_compile_error(&run.output).unwrap_or_else(|| tail(&run.output, 30))
        )]
    } else {
        failed
    }
}

fn book_blocks(root: &Path, chapter: Option<&str>) -> StepResult {
    // skeptic names each block's test after its file: `ch03_echo_server_…`.
    let filter = chapter.map(|n| format!("ch{n}_"));
    let mut args = vec!["-p", "book-test", "--no-fail-fast"];
    if let Some(f) = &filter {
        args.extend(["--", f.as_str()]);
    }
    let run = testrun::cargo_test(root, &args).map_err(|e| vec![e])?;
    let blocks = run.count(Outcome::Passed);
    if run.success && blocks > 0 {
        Ok(vec![format!("book: {blocks} code blocks compiled and ran")])
    } else if run.success && chapter.is_some() {
        Ok(vec!["book: this chapter has no rust block".into()])
    } else if run.success {
        Err(vec!["book: no code block was tested".into()])
    } else {
        Err(report_failed_tests(&run, "book block"))
    }
}

fn contracts(root: &Path, all: &[Exercise], chapter: Option<&str>) -> StepResult {
    let mut failures = Vec::new();
    let mut items = 0;
    for ex in all {
        let Some(solution_dir) = &ex.solution_dir else {
            continue;
        };
        match contract::compare(&ex.dir.join("src"), &solution_dir.join("src")) {
            Ok(n) => items += n,
            Err(problems) => failures.extend(
                problems
                    .into_iter()
                    .map(|p| format!("{} contract: {p}", ex.package())),
            ),
        }
    }
    failures.extend(includes::learner_files_included(root, chapter));
    if failures.is_empty() {
        Ok(vec![format!(
            "contracts: {items} public items agree between {} stubs and solutions; the book includes no learner file",
            all.len()
        )])
    } else {
        Err(failures)
    }
}

fn wrong_solutions(
    root: &Path,
    all: &[Exercise],
    declared: &BTreeMap<String, Declared>,
) -> StepResult {
    let mut failures = Vec::new();
    let mut proven = 0;
    for ex in all {
        let Some(dir) = &ex.solution_dir else {
            continue;
        };
        let wrongs = declared
            .get(&ex.solution_package())
            .map(|d| d.course.wrong.as_slice())
            .unwrap_or_default();
        if wrongs.is_empty() {
            failures.push(format!(
                "{}: no wrong solution is declared (see CONTRIBUTING.md)",
                ex.solution_package()
            ));
        }
        for w in wrongs {
            match wrong::prove(root, ex, dir, w) {
                Ok(line) => {
                    println!("    {line}");
                    proven += 1;
                }
                Err(e) => failures.push(e),
            }
        }
    }
    if failures.is_empty() {
        Ok(vec![format!(
            "wrong solutions: {proven} caught by the tests they name"
        )])
    } else {
        Err(failures)
    }
}

fn chapter_checks(
    root: &Path,
    all: &[Exercise],
    declared: &BTreeMap<String, Declared>,
) -> StepResult {
    let mut facts = Vec::new();
    let mut failures = Vec::new();
    for ex in all {
        let Some(dir) = &ex.solution_dir else {
            continue;
        };
        let Some(d) = declared.get(&ex.solution_package()) else {
            continue;
        };
        for check in &d.course.check {
            match checks::run(root, ex, dir, check) {
                Ok(line) => facts.push(line),
                Err(e) => failures.push(e),
            }
        }
    }
    if failures.is_empty() {
        if facts.is_empty() {
            facts.push("checks: none declared".into());
        }
        Ok(facts)
    } else {
        Err(failures)
    }
}

fn solutions(root: &Path, all: &[Exercise], solution_tests: &mut Vec<TestRun>) -> StepResult {
    let mut failures = Vec::new();
    let mut total = 0;
    for ex in all {
        let Some(_) = &ex.solution_dir else {
            failures.push(format!("{} has no solution under solutions/", ex.dir_name));
            continue;
        };
        let run = testrun::cargo_test(root, &["-p", &ex.solution_package(), "--no-fail-fast"])
            .map_err(|e| vec![e])?;
        let passed = run.count(Outcome::Passed);
        total += passed;
        if !run.success {
            failures.extend(report_failed_tests(&run, &ex.solution_package()));
        } else if passed == 0 {
            failures.push(format!("{}: no test ran", ex.solution_package()));
        } else {
            println!("    {}: {passed} tests pass", ex.solution_package());
        }
        solution_tests.push(run);
    }
    if failures.is_empty() {
        Ok(vec![format!(
            "solutions: {} solutions, {total} tests passed",
            all.len()
        )])
    } else {
        Err(failures)
    }
}

fn stubs(root: &Path, all: &[Exercise], solution_runs: &[TestRun]) -> StepResult {
    let mut failures = Vec::new();
    let mut total = 0;
    for (i, ex) in all.iter().enumerate() {
        let run = testrun::cargo_test(root, &["-p", &ex.package(), "--no-fail-fast"])
            .map_err(|e| vec![e])?;
        if !run.compiled() {
            failures.push(format!(
                "{}: the stub does not compile:\n{}",
                ex.package(),
                testrun::first_compile_error(&run.output).unwrap_or_else(|| tail(&run.output, 20))
            ));
            continue;
        }
        let names =
            |r: &TestRun| -> BTreeSet<String> { r.tests().map(|(n, _)| n.clone()).collect() };
        let stub_names = names(&run);
        if stub_names.is_empty() {
            failures.push(format!("{}: has no tests", ex.package()));
            continue;
        }
        let passing: Vec<&String> = run
            .tests()
            .filter(|(_, o)| *o != Outcome::Failed)
            .map(|(n, _)| n)
            .collect();
        for name in &passing {
            failures.push(format!(
                "{}: test `{name}` does not fail on the stub, so it checks nothing the learner writes",
                ex.package()
            ));
        }
        if let Some(sol) = solution_runs.get(i)
            && names(sol) != stub_names
        {
            failures.push(format!(
                "{}: the stub and the solution do not run the same tests",
                ex.package()
            ));
        }
        if passing.is_empty() {
            println!(
                "    {}: all {} tests fail on the stub",
                ex.package(),
                stub_names.len()
            );
        }
        total += stub_names.len();
    }
    if failures.is_empty() {
        Ok(vec![format!(
            "exercises: {} stubs compiled, all {total} tests red",
            all.len()
        )])
    } else {
        Err(failures)
    }
}

fn book_build(root: &Path) -> StepResult {
    let mut facts = Vec::new();
    match i18n::build_all(root) {
        Ok(built) => {
            let unchecked: Vec<&String> = built
                .iter()
                .filter(|b| !b.contains("links checked"))
                .collect();
            if !unchecked.is_empty() {
                return Err(vec![format!(
                    "mdbook build did not run the linkcheck2 backend: {unchecked:?}"
                )]);
            }
            facts.extend(built.into_iter().map(|b| format!("book {b}")));
        }
        Err(message) => {
            println!("{message}");
            return Err(vec![
                "mdbook build failed or found broken links (see above)".into(),
            ]);
        }
    }
    match i18n::hints_agree(root) {
        Ok(line) => facts.push(line),
        Err(failures) => return Err(failures),
    }
    Ok(facts)
}
