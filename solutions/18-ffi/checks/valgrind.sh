#!/usr/bin/env bash
# Runs the exercise's tests against the reference solution of exercise 18
# under valgrind's memcheck, and fails on a leak or an invalid memory access,
# in Rust or in C.
#
# The tests find what they can see (stores kv_free never freed, strings
# kv_string_free never got back); valgrind also sees memory the C library
# does not count, such as a CString handed to C with into_raw and never
# taken back (checks/leaky-put.patch is that mistake; see the chapter).
#
# Only "definitely lost" blocks count as leaks: the test harness keeps one
# thread handle alive until exit, which valgrind reports as "possibly lost".
# The two tests that run in a child process run that child natively.
#
# Run from the repository's root (cargo course verify sets CARGO,
# COURSE_ROOT, CARGO_TARGET_DIR and COURSE_WORK); it also works on its own:
#   bash solutions/18-ffi/checks/valgrind.sh
set -euo pipefail

cd "${COURSE_ROOT:-$(dirname "$0")/../../..}"
CARGO=${CARGO:-cargo}
WORK=${COURSE_WORK:-$(mktemp -d)}
mkdir -p "$WORK"

fail() {
    echo "FAILED: $*" >&2
    exit 1
}

# The test binary: `cargo test --no-run` builds it, and its JSON messages
# name the executable of the `ffi` test target.
exe=$("$CARGO" test -q -p solution-18 --test ffi --no-run --message-format=json |
    grep '"name":"ffi"' |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[[ -x "$exe" ]] || fail "building the tests of solution-18 gave no test binary"

status=0
valgrind --leak-check=full \
    --show-leak-kinds=definite --errors-for-leak-kinds=definite \
    --error-exitcode=1 --log-file="$WORK/valgrind.log" \
    "$exe" --test-threads=2 >"$WORK/tests.log" 2>&1 || status=$?

if [[ $status -ne 0 ]]; then
    if grep -q '^test result: ok' "$WORK/tests.log"; then
        grep '^test result' "$WORK/tests.log" >&2
    else
        echo "--- the tests' output (last lines):" >&2
        tail -n 15 "$WORK/tests.log" >&2
    fi
    echo "--- valgrind's report (its first lines, then its summary):" >&2
    { grep -v '^==[0-9]*== *$' "$WORK/valgrind.log" | sed -n '/HEAP SUMMARY/,$p' | head -n 30 >&2; } || true
    grep -E 'definitely lost:|Invalid|ERROR SUMMARY' "$WORK/valgrind.log" | tail -n 5 >&2 || true
    fail "valgrind found leaks or invalid accesses (exit status $status); full report in $WORK/valgrind.log"
fi

passed=$(sed -n 's/^test result: ok\. \([0-9]*\) passed.*/\1/p' "$WORK/tests.log")
lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$WORK/valgrind.log")
errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$WORK/valgrind.log")
echo "valgrind: ${passed:-?} tests passed, ${lost:-0} bytes definitely lost, ${errors:-?} memory errors"
