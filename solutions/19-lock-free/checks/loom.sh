#!/usr/bin/env bash
# loom checks the one-shot channel of exercise 19 in two ways.
#
# 1. The loom model tests (exercises/19-lock-free/tests/loom.rs) pass on the
#    reference solution: every interleaving of the two threads, and every
#    value the memory orderings allow a load to return, is tried.
# 2. A wrong solution the ordinary tests do not catch on x86
#    (checks/relaxed-ordering.patch: the Release store of READY and the
#    Acquire load in recv weakened to Relaxed) must make loom fail.
#
# Both build a copy of the solution in a scratch directory, with its own
# target directory ($CARGO_TARGET_DIR/loom-19, kept between runs so that
# loom is compiled once): RUSTFLAGS="--cfg loom" changes the flags of every
# crate in the build, and in the course's own target directory it would make
# cargo rebuild everything twice. The solution's files are never changed.
#
# Run from the repository's root (cargo course verify sets COURSE_ROOT,
# CARGO_TARGET_DIR and COURSE_WORK); it also works on its own:
#   bash solutions/19-lock-free/checks/loom.sh
set -euo pipefail

cd "${COURSE_ROOT:-$(dirname "$0")/../../..}"
root=$(pwd)
CARGO=${CARGO:-cargo}
WORK=${COURSE_WORK:-$(mktemp -d)}
mkdir -p "$WORK"
solution=solutions/19-lock-free

copy="$WORK/loom-19"
rm -rf "$copy"
mkdir -p "$copy/src"
cp "$solution/src/lib.rs" "$copy/src/lib.rs"
# The copy's lib.rs finds the given sync.rs through its #[path].
sed -i "s|#\[path = \"../../../exercises/19-lock-free/src/sync.rs\"\]|#[path = \"$root/exercises/19-lock-free/src/sync.rs\"]|" "$copy/src/lib.rs"
cat >"$copy/Cargo.toml" <<TOML
[package]
name = "loom-19"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
name = "exercise_19"
path = "src/lib.rs"
test = false
doctest = false

[dependencies]
crossbeam-epoch = "0.9"
loom = "0.7"

[[test]]
name = "loom"
path = "$root/exercises/19-lock-free/tests/loom.rs"

[lints.rust]
unexpected_cfgs = { level = "allow" }

# Not a member of the course's workspace.
[workspace]
TOML
cp Cargo.lock "$copy/Cargo.lock"
export RUSTFLAGS="--cfg loom"
base=${CARGO_TARGET_DIR:-$root/target}
[[ $base == /* ]] || base="$root/$base"
export CARGO_TARGET_DIR="$base/loom-19"

# 1. The solution passes the loom tests.
output=$(cd "$copy" && "$CARGO" test -q --release --test loom 2>&1) || {
    echo "$output" | tail -n 40 >&2
    echo "FAILED: loom found an interleaving in which the one-shot channel of solution-19 fails" >&2
    exit 1
}
passed=$(echo "$output" | grep -E '^test result' | tail -n 1 | sed 's/^test result: //')

# 2. The Relaxed version must fail.
(cd "$copy" && patch -s -p1 <"$root/$solution/checks/relaxed-ordering.patch") || {
    echo "FAILED: checks/relaxed-ordering.patch no longer applies to the solution" >&2
    exit 1
}
status=0
report=$(cd "$copy" && "$CARGO" test -q --release --test loom -- \
    loom_the_value_sent_on_another_thread_is_received 2>&1) || status=$?
if [[ $status -eq 0 ]]; then
    echo "FAILED: loom did not catch the one-shot channel with Relaxed orderings" >&2
    exit 1
fi
if ! grep -q "Causality violation" <<<"$report"; then
    echo "$report" | tail -n 30 >&2
    echo "FAILED: the Relaxed version failed under loom, but not with a causality violation" >&2
    exit 1
fi
echo "loom: solution-19: $passed; with Relaxed orderings: causality violation found"
