//! `cargo course status`: the learner's progress, week by week.
//!
//! Nothing is remembered but cached test results keyed by what the tests
//! depend on (see `cache`): an exercise whose `src/` is the course's pristine
//! stub is "not started" (its tests are not even run); any other exercise's
//! tests are run (or their result for exactly these sources is reused).

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cache::{self, Entry};
use crate::exercises::{self, Exercise};
use crate::git;
use crate::summary::{Chapter, Summary};
use crate::testrun::{self, Outcome, TestRun};
use crate::ui;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// `src/` is the course's stub, unchanged.
    NotStarted,
    Passed {
        total: usize,
    },
    Failing {
        passed: usize,
        total: usize,
        /// "test_name: first line of its message".
        first: Option<String>,
    },
    /// The code or the tests do not compile: the compiler's first error.
    Broken {
        error: String,
    },
}

impl State {
    /// The state a test run shows; `order` lists test names in the order the
    /// test files define them, so that the "first failure" is the first one
    /// the learner meets in the file, not whichever thread finished first.
    pub fn from_run(run: &TestRun, order: &[String]) -> State {
        if !run.compiled() {
            let error = testrun::first_compile_error(&run.output).unwrap_or_else(|| {
                let lines: Vec<&str> = run.output.lines().collect();
                lines[lines.len().saturating_sub(8)..].join("\n")
            });
            return State::Broken { error };
        }
        let passed = run.count(Outcome::Passed);
        let total = passed + run.count(Outcome::Failed);
        if run.success && total > 0 && passed == total {
            return State::Passed { total };
        }
        let first = in_order(run, order)
            .into_iter()
            .find(|(_, o)| *o == Outcome::Failed)
            .map(|(name, _)| {
                let message = testrun::failure_message(&run.output, name).unwrap_or_default();
                format!("{name}: {}", first_message_line(&message))
            });
        State::Failing {
            passed,
            total,
            first,
        }
    }

    pub fn is_passed(&self) -> bool {
        matches!(self, State::Passed { .. })
    }

    fn to_entry(&self, key: &str) -> Entry {
        let fields: Vec<(&str, String)> = match self {
            State::NotStarted => vec![("state", "not-started".into())],
            State::Passed { total } => {
                vec![("state", "passed".into()), ("total", total.to_string())]
            }
            State::Failing {
                passed,
                total,
                first,
            } => vec![
                ("state", "failing".into()),
                ("passed", passed.to_string()),
                ("total", total.to_string()),
                ("first", first.clone().unwrap_or_default()),
            ],
            State::Broken { error } => vec![("state", "broken".into()), ("error", error.clone())],
        };
        Entry {
            key: key.to_owned(),
            fields: fields.into_iter().map(|(n, v)| (n.to_owned(), v)).collect(),
        }
    }

    fn from_entry(entry: &Entry) -> Option<State> {
        let number = |name: &str| entry.get(name)?.parse::<usize>().ok();
        Some(match entry.get("state")? {
            "not-started" => State::NotStarted,
            "passed" => State::Passed {
                total: number("total")?,
            },
            "failing" => State::Failing {
                passed: number("passed")?,
                total: number("total")?,
                first: entry
                    .get("first")
                    .filter(|f| !f.is_empty())
                    .map(str::to_owned),
            },
            "broken" => State::Broken {
                error: entry.get("error")?.to_owned(),
            },
            _ => return None,
        })
    }

    /// Without git, a stub cannot be told from work that passes no test yet.
    fn maybe_not_started(&self, stubs_known: bool) -> bool {
        !stubs_known && matches!(self, State::Failing { passed: 0, .. })
    }

    /// One line for the status table; `stubs_known`: git could tell which
    /// exercises are the course's untouched stubs.
    fn describe(&self, stubs_known: bool) -> String {
        match self {
            State::NotStarted => ui::dim("not started"),
            State::Failing { total, .. } if self.maybe_not_started(stubs_known) => {
                ui::dim(&format!("no test passes yet (0 of {total}; not started?)"))
            }
            State::Passed { total } => ui::green(&format!("passed ({total} tests)")),
            State::Failing { passed, total, .. } => {
                ui::red(&format!("failing: {passed} of {total} tests pass"))
            }
            State::Broken { error } => {
                let first = error.lines().next().unwrap_or("");
                let place = error
                    .lines()
                    .find_map(|l| l.trim_start().strip_prefix("--> "))
                    .map(|p| format!(" at {p}"))
                    .unwrap_or_default();
                ui::red(&format!("does not compile: {first}{place}"))
            }
        }
    }

    fn mark(&self, stubs_known: bool) -> String {
        match self {
            State::NotStarted => ui::dim("·"),
            _ if self.maybe_not_started(stubs_known) => ui::dim("·"),
            State::Passed { .. } => ui::green("✓"),
            State::Failing { .. } | State::Broken { .. } => ui::red("✗"),
        }
    }
}

/// The functions of the exercise's test files, in the order they are written.
pub fn source_order(ex: &Exercise) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(ex.dir.join("tests"))
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|text| fn_names(&text))
        .collect()
}

/// Names after `fn ` in Rust source, in order.
fn fn_names(text: &str) -> Vec<String> {
    text.split("fn ")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// The run's tests sorted by `order` (a test `module::name` by `name`);
/// tests `order` does not know come last, by name.
pub fn in_order<'a>(run: &'a TestRun, order: &[String]) -> Vec<&'a (String, Outcome)> {
    let position = |name: &str| {
        let short = name.rsplit("::").next().unwrap_or(name);
        order.iter().position(|o| o == short).unwrap_or(usize::MAX)
    };
    let mut tests: Vec<&(String, Outcome)> = run.tests().collect();
    tests.sort_by(|a, b| position(&a.0).cmp(&position(&b.0)).then(a.0.cmp(&b.0)));
    tests
}

/// The first line of a test's failure message that says something (libtest
/// starts with "thread 'x' panicked at file:line:").
pub fn first_message_line(message: &str) -> &str {
    message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("thread '"))
        .unwrap_or("(no message)")
}

/// Decides each exercise's state: from git (not started), from the cache,
/// or by running its tests.
pub struct Checker {
    root: PathBuf,
    /// What git says about the course's stubs, or why it cannot say.
    stubs: Result<Stubs, String>,
    toolchain: Option<String>,
}

/// The exercise files that differ from the course's commit, and the files
/// that commit has.
struct Stubs {
    changed: BTreeSet<String>,
    pristine_files: BTreeSet<String>,
}

impl Checker {
    /// Never fails: where the course is not its own git clone, no exercise
    /// counts as "not started" and every exercise's tests are run.
    pub fn new(root: &Path) -> Checker {
        let stubs = match git::why_not_a_clone(root) {
            Some(why) => Err(why),
            None => git::pristine(root),
        };
        let stubs = stubs.and_then(|pristine| {
            Ok(Stubs {
                changed: git::changed_paths(root, &pristine, "exercises")?,
                pristine_files: git::files_at(root, &pristine, "exercises")?,
            })
        });
        Checker {
            root: root.to_owned(),
            stubs,
            toolchain: None,
        }
    }

    /// Why the course's stubs cannot be told from the learner's work (the
    /// course is not its own git clone), if they cannot.
    pub fn without_git(&self) -> Option<&str> {
        self.stubs.as_ref().err().map(String::as_str)
    }

    /// Is the exercise's `src/` exactly the course's stub? (An exercise that
    /// the course's commit does not have yet counts as started, and so does
    /// every exercise when git cannot tell.)
    pub fn not_started(&self, ex: &Exercise) -> bool {
        let Ok(stubs) = &self.stubs else {
            return false;
        };
        let src = format!("exercises/{}/src/", ex.dir_name);
        git::any_under(&stubs.pristine_files, &src) && !git::any_under(&stubs.changed, &src)
    }

    /// The cache key for the exercise's current sources.
    pub fn key(&mut self, ex: &Exercise) -> String {
        let root = self.root.clone();
        let toolchain = self
            .toolchain
            .get_or_insert_with(|| cache::toolchain(&root));
        cache::key(toolchain, &cache::inputs(&self.root, ex))
    }

    /// The state without running anything, when git or the cache knows it.
    pub fn known(&mut self, ex: &Exercise) -> Option<State> {
        if self.not_started(ex) {
            return Some(State::NotStarted);
        }
        let key = self.key(ex);
        cache::load(&self.root, &ex.number, &key).and_then(|e| State::from_entry(&e))
    }

    /// The state, running the tests when neither git nor the cache knows it.
    pub fn state(&mut self, ex: &Exercise) -> crate::Result<State> {
        if let Some(state) = self.known(ex) {
            return Ok(state);
        }
        let key = self.key(ex);
        let run = run_tests(&self.root, ex)?;
        let state = State::from_run(&run, &source_order(ex));
        // Keep the result only if the sources did not change meanwhile.
        if self.key(ex) == key {
            cache::store(&self.root, &ex.number, &state.to_entry(&key));
        }
        Ok(state)
    }

    /// Remembers a result that `watch` obtained for sources with `key`.
    pub fn record(&self, ex: &Exercise, key: &str, state: &State) {
        cache::store(&self.root, &ex.number, &state.to_entry(key));
    }
}

/// `cargo test -p exercise-NN`, all tests even after a failure.
pub fn run_tests(root: &Path, ex: &Exercise) -> crate::Result<TestRun> {
    testrun::cargo_test(root, &["-p", &ex.package(), "--no-fail-fast"])
}

/// One row of the table.
struct Row<'a> {
    chapter: Option<&'a Chapter>,
    number: String,
    title: String,
    exercise: Option<&'a Exercise>,
    state: Option<State>,
}

struct Group<'a> {
    title: String,
    rows: Vec<Row<'a>>,
}

pub fn run() -> crate::Result<ExitCode> {
    let root = exercises::root();
    let summary = Summary::read(&root)?;
    let all = exercises::all(&root);
    let mut checker = Checker::new(&root);
    let mut groups = plan(&summary, &all);
    let stubs_known = checker.without_git().is_none();
    if let Some(why) = checker.without_git() {
        eprintln!(
            "{} {why}.\n\
             So status cannot tell the course's stubs from your work: it runs the tests of \
             every exercise (and keeps the results for next time), and an exercise none of \
             whose tests pass shows as \"no test passes yet\". For a quick status, `git \
             clone` the course into a folder of its own.\n",
            ui::bold("note:")
        );
    }

    // Decide every state, telling the learner when tests have to run.
    let interactive = std::io::stderr().is_terminal();
    let to_run: Vec<String> = groups
        .iter()
        .flat_map(|g| g.rows.iter())
        .filter_map(|r| r.exercise)
        .filter(|ex| checker.known(ex).is_none())
        .map(|ex| ex.number.clone())
        .collect();
    let mut ran = 0;
    for row in groups.iter_mut().flat_map(|g| g.rows.iter_mut()) {
        let Some(ex) = row.exercise else { continue };
        if to_run.contains(&ex.number) {
            ran += 1;
            let line = format!(
                "testing exercise {} ({ran} of {}: no result yet for its current code)...",
                ex.number,
                to_run.len()
            );
            if interactive {
                eprint!("\r\x1b[K{line}");
                let _ = std::io::stderr().flush();
            } else {
                eprintln!("{line}");
            }
        }
        row.state = Some(checker.state(ex)?);
    }
    if interactive && ran > 0 {
        eprint!("\r\x1b[K");
    }

    print_table(&groups, stubs_known);
    let rows: Vec<&Row> = groups.iter().flat_map(|g| g.rows.iter()).collect();
    println!();
    println!("{}", next_up(&rows, stubs_known));

    // An exercise that does not compile: show where, and fail.
    if let Some((row, error)) = rows.iter().find_map(|r| match &r.state {
        Some(State::Broken { error }) => Some((r, error)),
        _ => None,
    }) {
        println!();
        println!(
            "{}",
            ui::red(&format!(
                "exercise {} does not compile; the first error:",
                row.number
            ))
        );
        println!("{error}");
        return Err(format!(
            "exercise {} does not compile (its first error is above)",
            row.number
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Groups the chapters by week, with their exercises; exercises that no
/// week lists come last.
fn plan<'a>(summary: &'a Summary, all: &'a [Exercise]) -> Vec<Group<'a>> {
    let mut groups = Vec::new();
    let mut listed = BTreeSet::new();
    for part in summary.parts.iter().filter(|p| p.week.is_some()) {
        let rows = part
            .chapters
            .iter()
            .filter_map(|c| {
                let number = c.number.clone()?;
                let exercise = all.iter().find(|e| e.number == number);
                listed.insert(number.clone());
                Some(Row {
                    chapter: Some(c),
                    number,
                    title: c.title.clone(),
                    exercise,
                    state: None,
                })
            })
            .collect();
        groups.push(Group {
            title: part.title.clone(),
            rows,
        });
    }
    let others: Vec<Row> = all
        .iter()
        .filter(|e| !listed.contains(&e.number))
        .map(|e| Row {
            chapter: None,
            number: e.number.clone(),
            title: e.dir_name.clone(),
            exercise: Some(e),
            state: None,
        })
        .collect();
    if !others.is_empty() {
        groups.push(Group {
            title: "Exercises without a chapter in SUMMARY.md".into(),
            rows: others,
        });
    }
    groups
}

fn print_table(groups: &[Group], stubs_known: bool) {
    let rows = groups.iter().flat_map(|g| g.rows.iter());
    let width = rows
        .clone()
        .map(|r| r.title.chars().count())
        .max()
        .unwrap_or(0)
        .min(44);
    let exercises = rows.clone().filter(|r| r.exercise.is_some()).count();
    let passed = rows
        .clone()
        .filter(|r| r.state.as_ref().is_some_and(State::is_passed))
        .count();
    println!(
        "{} {} {passed} of {exercises} exercises pass",
        ui::bold("Progress"),
        ui::bar(passed, exercises, 24)
    );
    let mut previous_unwritten = false;
    for group in groups {
        let with_exercise = group.rows.iter().filter(|r| r.exercise.is_some()).count();
        let done = group
            .rows
            .iter()
            .filter(|r| r.state.as_ref().is_some_and(State::is_passed))
            .count();
        let unwritten = group
            .rows
            .iter()
            .all(|r| r.exercise.is_none() && r.chapter.is_none_or(|c| c.is_draft()));
        // Weeks still to be written stand together, one line each.
        if !(unwritten && previous_unwritten) {
            println!();
        }
        previous_unwritten = unwritten;
        let heading = format!("{:<w$}", group.title, w = width + 8);
        if unwritten {
            println!(
                "{} {}",
                ui::bold(&heading),
                ui::dim(&format!("not written yet ({} chapters)", group.rows.len()))
            );
            continue;
        }
        println!(
            "{} {} {done}/{with_exercise}",
            ui::bold(&heading),
            ui::bar(done, with_exercise, 10)
        );
        for row in &group.rows {
            let title = fit(&row.title, width);
            let (mark, what) = match (&row.state, row.chapter) {
                (Some(state), chapter) => {
                    let draft = if chapter.is_some_and(Chapter::is_draft) {
                        ui::dim(" (chapter not written yet)")
                    } else {
                        String::new()
                    };
                    (
                        state.mark(stubs_known),
                        format!("{}{draft}", state.describe(stubs_known)),
                    )
                }
                (None, Some(c)) if c.is_draft() => (" ".into(), ui::dim("not written yet")),
                (None, _) => (" ".into(), ui::dim("no exercise")),
            };
            println!("  {mark} {}  {title}  {what}", row.number);
        }
    }
}

/// Pads or cuts `text` to exactly `width` characters.
fn fit(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        format!("{text}{}", " ".repeat(width - count))
    } else {
        let cut: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// What to do next: make a started exercise that does not compile build
/// again (its first error is printed below), else the first exercise that
/// does not pass yet, else read on.
fn next_up(rows: &[&Row], stubs_known: bool) -> String {
    let label = ui::bold("Next up:");
    let broken = rows
        .iter()
        .find(|r| matches!(r.state, Some(State::Broken { .. })));
    let unfinished = || {
        rows.iter()
            .find(|r| r.exercise.is_some() && !r.state.as_ref().is_some_and(State::is_passed))
    };
    let Some(row) = broken.or_else(unfinished) else {
        let total = rows.iter().filter(|r| r.exercise.is_some()).count();
        let next = rows
            .iter()
            .find_map(|r| r.chapter.filter(|_| r.exercise.is_none()));
        return match next {
            Some(c) if c.is_draft() => format!(
                "{label} all {total} exercises pass. Chapter {} \"{}\" is not written yet: `git pull` now and then to get it.",
                c.number.as_deref().unwrap_or("?"),
                c.title
            ),
            Some(c) => format!(
                "{label} all {total} exercises pass. Read chapter {} \"{}\" (it has no exercise).",
                c.number.as_deref().unwrap_or("?"),
                c.title
            ),
            None => format!("{label} all {total} exercises pass: you have finished the course."),
        };
    };
    let n = &row.number;
    let chapter = match row.chapter.and_then(|c| c.path.as_deref()) {
        Some(path) => format!(
            "chapter {n} \"{}\" (src/{path}; `cargo course serve` shows the book)",
            row.title
        ),
        None => format!("exercise {n} (its chapter is not written yet)"),
    };
    match &row.state {
        Some(state) if state.maybe_not_started(stubs_known) => format!(
            "{label} read {chapter}, then run `cargo course watch {n}` and make its tests pass."
        ),
        Some(State::Failing {
            passed,
            total,
            first,
        }) => {
            let first = first
                .as_deref()
                .map(|f| format!("\n  first failure: {f}"))
                .unwrap_or_default();
            format!(
                "{label} finish exercise {n}: {passed} of {total} tests pass. Run `cargo course watch {n}` and edit exercises/{}/src/; `cargo course hint {n}` when stuck.{first}",
                row.exercise.map(|e| e.dir_name.as_str()).unwrap_or(""),
            )
        }
        Some(State::Broken { .. }) => format!(
            "{label} make exercise {n} compile again (first error below). Run `cargo course watch {n}` while you fix it."
        ),
        _ => format!(
            "{label} read {chapter}, then run `cargo course watch {n}` and make its tests pass."
        ),
    }
}

/// The first exercise that does not pass yet, for `watch` without a number.
pub fn first_unfinished(root: &Path) -> crate::Result<Option<Exercise>> {
    let all = exercises::all(root);
    let mut checker = Checker::new(root);
    for ex in &all {
        if !checker.state(ex)?.is_passed() {
            return Ok(Some(ex.clone()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_of(output: &str, success: bool) -> TestRun {
        TestRun {
            success,
            binaries: testrun::parse(output),
            output: output.to_owned(),
        }
    }

    #[test]
    fn a_run_with_every_test_green_passes() {
        let run = run_of(
            "     Running tests/echo.rs (target/debug/deps/echo-0123)\n\ntest a ... ok\ntest b ... ok\n",
            true,
        );
        assert_eq!(State::from_run(&run, &[]), State::Passed { total: 2 });
    }

    #[test]
    fn a_failing_run_names_its_first_failure() {
        let run = run_of(
            "     Running tests/echo.rs (target/debug/deps/echo-0123)\n\ntest a ... ok\ntest b ... FAILED\n\nfailures:\n\n---- b stdout ----\n\nthread 'b' panicked at tests/echo.rs:3:5:\nexpected an echo\n\nfailures:\n    b\n",
            false,
        );
        assert_eq!(
            State::from_run(&run, &[]),
            State::Failing {
                passed: 1,
                total: 2,
                first: Some("b: expected an echo".into())
            }
        );
    }

    #[test]
    fn a_run_that_does_not_compile_is_broken() {
        let run = run_of(
            "   Compiling exercise-03\nerror[E0308]: mismatched types\n --> src/lib.rs:4:9\n  |\n\nerror: could not compile `exercise-03`\n",
            false,
        );
        let state = State::from_run(&run, &[]);
        let State::Broken { error } = &state else {
            panic!("{state:?}")
        };
        assert!(error.starts_with("error[E0308]"), "{error}");
        assert!(
            state.describe(true).contains("at src/lib.rs:4:9"),
            "{}",
            state.describe(true)
        );
    }

    #[test]
    fn states_survive_the_cache() {
        for state in [
            State::NotStarted,
            State::Passed { total: 7 },
            State::Failing {
                passed: 2,
                total: 7,
                first: Some("t: boom".into()),
            },
            State::Failing {
                passed: 0,
                total: 1,
                first: None,
            },
            State::Broken {
                error: "error[E0382]: use of moved value\n --> src/lib.rs:1:1".into(),
            },
        ] {
            let entry = state.to_entry("k");
            let back = Entry::decode(&entry.encode()).unwrap();
            assert_eq!(State::from_entry(&back), Some(state));
        }
    }

    #[test]
    fn the_first_failure_is_the_first_in_the_test_file() {
        let run = run_of(
            "     Running tests/t.rs (target/debug/deps/t-0123)\n\ntest zeta ... FAILED\ntest m::alpha ... FAILED\ntest beta ... ok\n\n---- zeta stdout ----\nz\n---- m::alpha stdout ----\na\n\nfailures:\n",
            false,
        );
        let order = fn_names(
            "use x;\nfn helper() {}\n#[test]\nfn beta() {}\nmod m { #[test] fn alpha() {} }\n#[test] fn zeta() {}\n",
        );
        assert_eq!(order, ["helper", "beta", "alpha", "zeta"]);
        let names: Vec<&str> = in_order(&run, &order)
            .iter()
            .map(|t| t.0.as_str())
            .collect();
        assert_eq!(names, ["beta", "m::alpha", "zeta"]);
        let State::Failing { first, .. } = State::from_run(&run, &order) else {
            panic!()
        };
        assert_eq!(first.as_deref(), Some("m::alpha: a"));
        // Without an order: alphabetical among unknown names.
        let State::Failing { first, .. } = State::from_run(&run, &[]) else {
            panic!()
        };
        assert_eq!(first.as_deref(), Some("m::alpha: a"));
    }

    #[test]
    fn fit_pads_and_cuts() {
        assert_eq!(fit("abc", 5), "abc  ");
        assert_eq!(fit("abcdef", 4), "abc…");
    }

    fn exercise(number: &str, topic: &str) -> Exercise {
        Exercise {
            number: number.into(),
            dir_name: format!("{number}-{topic}"),
            dir: PathBuf::from(format!("exercises/{number}-{topic}")),
            solution_dir: None,
        }
    }

    fn chapter(number: &str, topic: &str) -> Chapter {
        Chapter {
            title: topic.into(),
            path: Some(format!("{number}-{topic}.md")),
            number: Some(number.into()),
        }
    }

    fn row<'a>(chapter: &'a Chapter, exercise: &'a Exercise, state: State) -> Row<'a> {
        Row {
            chapter: Some(chapter),
            number: exercise.number.clone(),
            title: chapter.title.clone(),
            exercise: Some(exercise),
            state: Some(state),
        }
    }

    #[test]
    fn next_up_is_an_exercise_that_does_not_compile() {
        let (c1, e1) = (chapter("01", "basics"), exercise("01", "basics"));
        let (c2, e2) = (chapter("02", "tasks"), exercise("02", "tasks"));
        let broken = State::Broken {
            error: "error[E0425]: cannot find value `x`".into(),
        };
        let rows = [
            row(&c1, &e1, State::NotStarted),
            row(&c2, &e2, broken.clone()),
        ];
        let rows: Vec<&Row> = rows.iter().collect();
        let next = next_up(&rows, true);
        assert!(next.contains("make exercise 02 compile"), "{next}");

        // Also before an earlier exercise that fails.
        let failing = State::Failing {
            passed: 1,
            total: 3,
            first: None,
        };
        let rows = [row(&c1, &e1, failing.clone()), row(&c2, &e2, broken)];
        let rows: Vec<&Row> = rows.iter().collect();
        assert!(next_up(&rows, true).contains("make exercise 02 compile"));

        // Without one, the first exercise that does not pass.
        let rows = [
            row(&c1, &e1, State::Passed { total: 2 }),
            row(&c2, &e2, failing),
        ];
        let rows: Vec<&Row> = rows.iter().collect();
        let next = next_up(&rows, true);
        assert!(next.contains("finish exercise 02: 1 of 3"), "{next}");
    }

    #[test]
    fn without_git_an_exercise_with_no_passing_test_may_be_a_stub() {
        let (c1, e1) = (chapter("01", "basics"), exercise("01", "basics"));
        let none_pass = State::Failing {
            passed: 0,
            total: 4,
            first: Some("t: not yet".into()),
        };
        assert!(none_pass.describe(false).contains("no test passes yet"));
        assert!(none_pass.describe(true).contains("failing: 0 of 4"));
        let rows = [row(&c1, &e1, none_pass)];
        let rows: Vec<&Row> = rows.iter().collect();
        assert!(next_up(&rows, false).contains("read chapter 01"));
        assert!(next_up(&rows, true).contains("finish exercise 01"));
    }
}
