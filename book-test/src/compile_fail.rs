//! The check behind each ```` ```rust,compile_fail,E0382 ```` block.
//!
//! skeptic's `compile_test` runs `rustc` with this crate's dependencies and
//! prints the compiler's messages, but its panic says only that the command
//! failed, so a `should_panic` test cannot tell E0382 from a typo. The
//! messages go to the test's captured output, which a test cannot read. So
//! each test runs *itself* again, in a child process of the same test
//! executable with [`CHILD`] set: the child compiles the block through
//! skeptic (same flags, same dependency builds), and the parent reads the
//! child's output and looks for the expected error.

use std::env;
use std::process::Command;

/// Set in the child process: compile the block instead of checking it.
const CHILD: &str = "BOOK_TEST_COMPILE_FAIL_CHILD";

/// Passes if `code` fails to compile with every error code in `codes`
/// (`error[E0382]`) and, for errors without a code, with an `error` line
/// containing each text in `messages`. `test` is this test's full name, for
/// the child's `--exact` filter.
pub fn check(
    test: &str,
    codes: &[&str],
    messages: &[&str],
    root: &str,
    out_dir: &str,
    target: &str,
    code: &str,
) {
    if env::var_os(CHILD).is_some() {
        // rustc's messages go to stderr; a failed compilation panics.
        skeptic::rt::compile_test(root, out_dir, target, code);
        return;
    }
    assert!(
        !(codes.is_empty() && messages.is_empty()),
        "a compile_fail block must name the error it demonstrates, as rustdoc \
         does: ```rust,compile_fail,E0382 (the code in the compiler's \
         `error[E....]`), or, for an error without a code, its message with \
         `-` between the words: ```rust,compile_fail,error-future-cannot-be-sent"
    );
    let exe = env::current_exe().expect("the test executable's path");
    let output = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("running the test executable again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The compiler's messages, without the child's own panic report.
    let stderr = stderr.split("\nthread '").next().unwrap_or_default();
    assert!(
        stdout.contains("running 1 test"),
        "the child process did not run test `{test}`:\n{stdout}\n{stderr}"
    );
    assert!(
        !output.status.success(),
        "this compile_fail block compiled, but it must fail with {codes:?} {messages:?}"
    );
    let error_lines: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("error"))
        .collect();
    let mut missing: Vec<String> = codes
        .iter()
        .filter(|c| {
            !error_lines
                .iter()
                .any(|l| l.starts_with(&format!("error[{c}]")))
        })
        .map(|c| c.to_string())
        .collect();
    missing.extend(
        messages
            .iter()
            .filter(|m| !error_lines.iter().any(|l| l.contains(*m)))
            .map(|m| format!("an error containing {m:?}")),
    );
    assert!(
        missing.is_empty(),
        "this compile_fail block failed to compile, but not with {missing:?} \
         (a typo, or a changed lesson?). The compiler said:\n{stderr}"
    );
}
