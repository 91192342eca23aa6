#!/usr/bin/env bash
# Calls Rust from a C program with its own main: builds the reference
# solution of exercise 18 as a static library (`cargo rustc --crate-type
# staticlib`), compiles checks/kv_from_c.c with the system's C compiler
# against it, runs the program, and compares what it prints.
#
# Run from the repository's root (cargo course verify sets CARGO,
# COURSE_ROOT, CARGO_TARGET_DIR and COURSE_WORK); it also works on its own:
#   bash solutions/18-ffi/checks/c-program.sh
set -euo pipefail

cd "${COURSE_ROOT:-$(dirname "$0")/../../..}"
CARGO=${CARGO:-cargo}
WORK=${COURSE_WORK:-$(mktemp -d)}
mkdir -p "$WORK"
target=${CARGO_TARGET_DIR:-target}

fail() {
    echo "FAILED: $*" >&2
    exit 1
}

# The static library: the crate's code, the C library that build.rs
# compiled, and the parts of std the crate uses, in one archive.
# --print native-static-libs names the system libraries it needs.
"$CARGO" rustc -q -p solution-18 --lib --crate-type staticlib \
    -- --print native-static-libs 2>"$WORK/rustc.err" ||
    fail "building the static library: $(tail -n 5 "$WORK/rustc.err")"
libs=$(sed -n 's/.*native-static-libs: //p' "$WORK/rustc.err" | tail -n 1)
lib="$target/debug/libexercise_18.a"
[[ -f "$lib" ]] || fail "cargo rustc did not write $lib"
# A copy: a build of the exercise (same library name) would replace it.
cp "$lib" "$WORK/libexercise_18.a"

# shellcheck disable=SC2086 # $libs is a list of -l flags
cc -Wall -Wextra -std=c11 -I exercises/18-ffi/c \
    -o "$WORK/kv_from_c" solutions/18-ffi/checks/kv_from_c.c \
    "$WORK/libexercise_18.a" $libs 2>"$WORK/cc.err" ||
    fail "compiling and linking the C program: $(cat "$WORK/cc.err")"

status=0
timeout 10 "$WORK/kv_from_c" >"$WORK/out.txt" 2>&1 || status=$?
[[ $status -eq 0 ]] || fail "the C program exited with status $status: $(cat "$WORK/out.txt")"

expected='greeting: 5 bytes, valid UTF-8
latin1: 4 bytes, valid UTF-8 up to byte 3
crab: 4 bytes, valid UTF-8'
actual=$(cat "$WORK/out.txt")
[[ "$actual" == "$expected" ]] ||
    fail "the C program printed:
$actual
expected:
$expected"
echo "c-program: a C main() linked against libexercise_18.a called the store and the Rust function ($(wc -l <"$WORK/out.txt") lines as expected)"
