#!/usr/bin/env bash
# Miri checks exercise 17 in two ways.
#
# 1. The exercise's tests run against the reference solution under Miri,
#    which checks every memory access of the interpreted program: reads of
#    uninitialised slots, values moved out twice, leaks, data races between
#    the SPSC halves. The tests shrink their loops under `cfg(miri)`.
# 2. A wrong solution the ordinary tests do not catch on x86
#    (checks/relaxed-ordering.patch: every Acquire and Release of the SPSC
#    queue weakened to Relaxed) must make Miri report a data race. It is
#    built from a copy of the solution in a scratch directory; the
#    solution's own files are never changed.
#
# Needs the nightly toolchain with Miri:
#   rustup component add --toolchain nightly miri rust-src
# The first run also builds Miri's sysroot (about a minute and a half).
#
# Run from the repository's root (cargo course verify sets COURSE_ROOT,
# CARGO_TARGET_DIR and COURSE_WORK); it also works on its own:
#   bash solutions/17-ring-buffer/checks/miri.sh
set -euo pipefail

cd "${COURSE_ROOT:-$(dirname "$0")/../../..}"
root=$(pwd)
WORK=${COURSE_WORK:-$(mktemp -d)}
mkdir -p "$WORK"

install="rustup component add --toolchain nightly miri rust-src"
if ! cargo +nightly miri --version >/dev/null 2>&1; then
    if [[ -n "${CI:-}" ]]; then
        echo "FAILED: Miri is not installed ($install)" >&2
        exit 1
    fi
    echo "skipped: Miri is not installed ($install)"
    exit 0
fi
# `cargo +nightly`, not $CARGO: Miri is a nightly component.
cargo +nightly miri setup >/dev/null 2>&1

# 1. The solution passes its tests under Miri.
output=$(cargo +nightly miri test -q -p solution-17 2>&1) || {
    echo "$output" | tail -n 40 >&2
    echo "FAILED: Miri reported undefined behaviour or a failing test in solution-17" >&2
    exit 1
}
passed=$(echo "$output" | grep -E '^test result' | tail -n 1 | sed 's/^test result: //')

# 2. The Relaxed version: a standalone copy (its own [workspace]) with the
#    patch applied, running the threaded test under Miri.
copy="$WORK/relaxed-ordering"
rm -rf "$copy"
mkdir -p "$copy/src"
cp solutions/17-ring-buffer/src/lib.rs "$copy/src/lib.rs"
(cd "$copy" && patch -s -p1 <"$root/solutions/17-ring-buffer/checks/relaxed-ordering.patch") || {
    echo "FAILED: checks/relaxed-ordering.patch no longer applies to the solution" >&2
    exit 1
}
cat >"$copy/Cargo.toml" <<TOML
[package]
name = "relaxed-ordering-17"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
name = "exercise_17"
path = "src/lib.rs"
test = false
doctest = false

[dev-dependencies]
testkit = { path = "$root/testkit" }

[[test]]
name = "ring"
path = "$root/exercises/17-ring-buffer/tests/ring.rs"

# Not a member of the course's workspace.
[workspace]
TOML
cp Cargo.lock "$copy/Cargo.lock"
status=0
report=$(cd "$copy" && cargo +nightly miri test -q --test ring -- \
    spsc_every_value_arrives_once_in_order_across_threads 2>&1) || status=$?
if [[ $status -eq 0 ]]; then
    echo "FAILED: Miri did not catch the SPSC queue with Relaxed orderings" >&2
    exit 1
fi
if ! grep -q "Data race detected" <<<"$report"; then
    echo "$report" | tail -n 30 >&2
    echo "FAILED: the Relaxed version failed under Miri, but not with a data race" >&2
    exit 1
fi
echo "miri: solution-17: $passed; with Relaxed orderings: data race detected"
