#!/usr/bin/env bash
# The learner's loop, measured: how long `cargo test -q -p exercise-NN` takes
# after a one-line code edit to the exercise's src/lib.rs, warm, on the RED
# stub and on a GREEN exercise (the solution's files copied over the stub),
# with RUST_BACKTRACE unset and set to 1. Prints min / median / max of RUNS.
#
#   course/scripts/learner-loop.sh [NN] [RUNS] [COURSE_DIR]
#
# The exercise's src/ is restored on exit. COURSE_DIR (default: this
# checkout) lets you measure another checkout, e.g. an older commit in a
# `git worktree`, to compare before and after a change.
set -euo pipefail
nn=${1:-03}
runs=${2:-7}
root=${3:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"
ex=$(ls -d exercises/"$nn"-*)
sol=$(ls -d solutions/"$nn"-*)
backup=$(mktemp -d)
cp -a "$ex/src" "$backup/"
# Restore with `cp -r`, not `cp -a`: new modification times make cargo rebuild
# the stub instead of reusing the last (green) build.
trap 'rm -rf "$ex/src" && cp -r "$backup/src" "$ex/" && rm -rf "$backup"' EXIT

edits=0
measure() { # label
  local label=$1 times=() start
  cargo test -q -p "exercise-$nn" >/dev/null 2>&1 || true # warm up
  if cargo test -q -p "exercise-$nn" 2>&1 | grep -q '^error'; then
    echo "$label: exercise-$nn does not compile; nothing to measure" >&2
    return 1
  fi
  for i in $(seq "$runs"); do
    edits=$((edits + 1))
    echo "const _EDIT_$edits: u32 = $edits;" >>"$ex/src/lib.rs"
    start=$EPOCHREALTIME
    cargo test -q -p "exercise-$nn" >/dev/null 2>&1 || true
    times+=("$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v label="$label" '
    { t[NR] = $1 }
    END { printf "%-28s min %.2f s  median %.2f s  max %.2f s  (%d runs)\n",
          label, t[1], t[int((NR + 1) / 2)], t[NR], NR }'
}

echo "exercise-$nn in $root ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
unset RUST_BACKTRACE
measure "red, RUST_BACKTRACE unset"
RUST_BACKTRACE=1 measure "red, RUST_BACKTRACE=1"
for f in "$sol"/src/*.rs; do cp "$f" "$ex/src/"; done
unset RUST_BACKTRACE
measure "green, RUST_BACKTRACE unset"
RUST_BACKTRACE=1 measure "green, RUST_BACKTRACE=1"
