//! Running `cargo test` and reading libtest's plain output.

use std::io::Read;
use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    Ignored,
}

/// The tests of one test binary (one `Running …` section of cargo's output).
#[derive(Debug, Clone)]
pub struct Binary {
    /// The target's name: `echo_server` for `tests/echo_server.rs`,
    /// the crate name for unit tests.
    #[allow(dead_code)] // read by the parser's tests; kept for reports by binary
    pub target: String,
    pub tests: Vec<(String, Outcome)>,
}

#[derive(Debug)]
pub struct TestRun {
    /// Cargo exited with success.
    pub success: bool,
    pub binaries: Vec<Binary>,
    /// Everything cargo and the tests printed, in order.
    pub output: String,
}

impl TestRun {
    pub fn tests(&self) -> impl Iterator<Item = &(String, Outcome)> {
        self.binaries.iter().flat_map(|b| b.tests.iter())
    }
    pub fn count(&self, outcome: Outcome) -> usize {
        self.tests().filter(|(_, o)| *o == outcome).count()
    }
    /// The signal that killed a test binary, as cargo reports it
    /// ("signal: 6, SIGABRT: process abort signal"), if one was killed.
    /// A test that aborts the process (a double free, say) never prints
    /// its result, so its name is missing from [`TestRun::tests`].
    pub fn killed_by_signal(&self) -> Option<&str> {
        self.output
            .lines()
            .filter(|line| line.contains("didn't exit successfully"))
            .find_map(|line| {
                let start = line.find("(signal: ")? + 1;
                let end = start + line[start..].find(')')?;
                Some(&line[start..end])
            })
    }
    /// Did the code compile? (No test binary ran and cargo reported an error.)
    pub fn compiled(&self) -> bool {
        !self.output.contains("error: could not compile")
            && !self.output.contains("error[E")
            && (self.success || !self.binaries.is_empty())
    }
}

/// Runs `cargo test <args>` in `root` with stdout and stderr in one pipe, so
/// cargo's `Running …` lines and the tests' results keep their order.
pub fn cargo_test(root: &Path, args: &[&str]) -> crate::Result<TestRun> {
    let (mut reader, writer) = std::io::pipe().map_err(|e| format!("creating a pipe: {e}"))?;
    let writer2 = writer
        .try_clone()
        .map_err(|e| format!("creating a pipe: {e}"))?;
    let mut child = Command::new(cargo())
        .current_dir(root)
        .arg("test")
        .args(args)
        .env("CARGO_TERM_COLOR", "never")
        .stdout(writer)
        .stderr(writer2)
        .spawn()
        .map_err(|e| format!("running cargo test: {e}"))?;
    let mut raw = Vec::new();
    reader
        .read_to_end(&mut raw)
        .map_err(|e| format!("reading cargo's output: {e}"))?;
    let status = child
        .wait()
        .map_err(|e| format!("waiting for cargo: {e}"))?;
    let output = String::from_utf8_lossy(&raw).into_owned();
    Ok(TestRun {
        success: status.success(),
        binaries: parse(&output),
        output,
    })
}

/// The cargo that runs us (the alias), or the one on PATH.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Parses libtest's default ("pretty") output as printed under cargo.
pub fn parse(output: &str) -> Vec<Binary> {
    let mut binaries: Vec<Binary> = Vec::new();
    // A test whose result has not been seen yet (see below).
    let mut pending: Option<String> = None;
    for line in output.lines() {
        let line = line.trim_end();
        if let Some(rest) = line.trim_start().strip_prefix("Running ") {
            // "Running tests/echo.rs (target/debug/deps/echo-0123abcd)"
            let binary = rest
                .rsplit_once('(')
                .map(|(_, b)| b.trim_end_matches(')'))
                .unwrap_or(rest);
            let file = binary.rsplit('/').next().unwrap_or(binary);
            let target = match file.rsplit_once('-') {
                Some((name, _hash)) => name,
                None => file,
            };
            binaries.push(Binary {
                target: target.to_owned(),
                tests: Vec::new(),
            });
        } else if let Some(rest) = line.strip_prefix("test ") {
            let Some((name, result)) = rest.split_once(" ... ") else {
                continue;
            };
            match outcome_of(result) {
                Some(outcome) => {
                    if let Some(current) = binaries.last_mut() {
                        current.tests.push((name.to_owned(), outcome));
                    }
                    pending = None;
                }
                // libtest writes "test NAME ... " and the result separately:
                // a line that the code under test wrote to stderr meanwhile
                // (a server's log, from another thread) lands in between,
                // and the result follows on a line of its own.
                None => pending = Some(name.to_owned()),
            }
        } else if let Some(name) = pending.take() {
            match outcome_of(line.trim()) {
                Some(outcome) => {
                    if let Some(current) = binaries.last_mut() {
                        current.tests.push((name, outcome));
                    }
                }
                None => pending = Some(name),
            }
        }
    }
    binaries
}

fn outcome_of(result: &str) -> Option<Outcome> {
    match result {
        "ok" => Some(Outcome::Passed),
        "FAILED" => Some(Outcome::Failed),
        r if r.starts_with("ignored") => Some(Outcome::Ignored),
        _ => None,
    }
}

/// The first compiler error in cargo's output, with its location and the few
/// lines that follow it: enough to start from, without a wall of text.
pub fn first_compile_error(output: &str) -> Option<String> {
    let lines: Vec<&str> = output.lines().collect();
    let start = lines.iter().position(|l| {
        l.starts_with("error[") || l.starts_with("error: ") && !l.contains("could not compile")
    })?;
    let mut excerpt = vec![lines[start]];
    for line in &lines[start + 1..] {
        if line.is_empty() || line.starts_with("error") || line.starts_with("warning") {
            break;
        }
        excerpt.push(line);
        if excerpt.len() >= 12 {
            break;
        }
    }
    Some(excerpt.join("\n"))
}

/// The message a failing test printed (libtest's `---- name stdout ----` block).
pub fn failure_message(output: &str, test: &str) -> Option<String> {
    let header = format!("---- {test} stdout ----");
    let start = output.find(&header)? + header.len();
    let rest = &output[start..];
    let end = rest
        .find("\n---- ")
        .or_else(|| rest.find("\nfailures:"))
        .unwrap_or(rest.len());
    // With RUST_BACKTRACE set, the message is followed by a backtrace: cut it.
    let message: Vec<&str> = rest[..end]
        .lines()
        .take_while(|l| !l.starts_with("stack backtrace:"))
        .filter(|l| !l.trim().is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
        .collect();
    Some(message.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_signal_that_killed_a_test_binary() {
        let output = "     Running tests/lock_free.rs (target/debug/deps/lock_free-1)\n\nrunning 1 test\nfree(): double free detected in tcache 2\nerror: test failed, to rerun pass `--test lock_free`\n\nCaused by:\n  process didn't exit successfully: `target/debug/deps/lock_free-1 --exact x` (signal: 6, SIGABRT: process abort signal)\n";
        let run = TestRun {
            success: false,
            binaries: parse(output),
            output: output.into(),
        };
        assert_eq!(
            run.killed_by_signal(),
            Some("signal: 6, SIGABRT: process abort signal")
        );
        let clean = TestRun {
            success: true,
            binaries: Vec::new(),
            output: String::new(),
        };
        assert_eq!(clean.killed_by_signal(), None);
    }

    const SAMPLE: &str = "\
   Compiling exercise-03 v0.1.0
    Finished `test` profile [unoptimized + debuginfo] target(s) in 1.00s
     Running unittests src/lib.rs (target/debug/deps/exercise_03-0123456789abcdef)

running 0 tests
     Running tests/echo_server.rs (target/debug/deps/echo_server-fedcba9876543210)

running 2 tests
test echoes_each_line_back ... FAILED
test rejects_long_lines ... ok
test slow_one ... ignored, needs a network

failures:

---- echoes_each_line_back stdout ----

thread 'echoes_each_line_back' panicked at src/lib.rs:3:5:
not yet implemented
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace

failures:
    echoes_each_line_back
";

    #[test]
    fn a_log_line_between_a_test_name_and_its_result_loses_no_test() {
        let output = "\
     Running tests/proxy.rs (target/debug/deps/proxy-0123)

running 3 tests
test first ... ok
test second ... 127.0.0.1:55740 \"GET /\" 200 4 127.0.0.1:33977 0ms
ok
test third ... health: upstream out of rotation
another log line
FAILED
";
        let binaries = parse(output);
        assert_eq!(
            binaries[0].tests,
            vec![
                ("first".to_owned(), Outcome::Passed),
                ("second".to_owned(), Outcome::Passed),
                ("third".to_owned(), Outcome::Failed),
            ]
        );
    }

    #[test]
    fn reads_binaries_and_outcomes() {
        let binaries = parse(SAMPLE);
        assert_eq!(binaries.len(), 2);
        assert_eq!(binaries[0].target, "exercise_03");
        assert!(binaries[0].tests.is_empty());
        assert_eq!(binaries[1].target, "echo_server");
        assert_eq!(
            binaries[1].tests,
            vec![
                ("echoes_each_line_back".to_owned(), Outcome::Failed),
                ("rejects_long_lines".to_owned(), Outcome::Passed),
                ("slow_one".to_owned(), Outcome::Ignored),
            ]
        );
    }

    #[test]
    fn extracts_a_failure_message() {
        let message = failure_message(SAMPLE, "echoes_each_line_back").unwrap();
        assert!(message.contains("not yet implemented"), "{message}");
        assert!(!message.contains("RUST_BACKTRACE"), "{message}");
    }

    #[test]
    fn a_failure_message_stops_before_the_backtrace() {
        let output = "---- t stdout ----\nthread 't' panicked at src/lib.rs:1:1:\nboom\nstack backtrace:\n   0: std::panicking\n\nfailures:\n    t\n";
        assert_eq!(
            failure_message(output, "t").unwrap(),
            "thread 't' panicked at src/lib.rs:1:1:\nboom"
        );
    }

    #[test]
    fn extracts_the_first_compile_error() {
        let output = "   Compiling x\nerror[E0382]: use of moved value: `r1`\n --> src/lib.rs:4:9\n  |\n\nerror: aborting\n";
        let error = first_compile_error(output).unwrap();
        assert!(error.starts_with("error[E0382]"), "{error}");
        assert!(error.contains("src/lib.rs:4:9"), "{error}");
        assert!(!error.contains("aborting"), "{error}");
    }
}
