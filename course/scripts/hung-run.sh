#!/usr/bin/env bash
# How long a learner waits when every test of an exercise hangs: each
# `todo!()` of the stub becomes `loop { std::thread::park() }` (a thread
# stuck for good, as a deadlock leaves it), then the exercise's tests run.
# Prints the wall time of the test run (the build is done beforehand) and how
# many tests failed. The stub is restored on exit.
#
#   course/scripts/hung-run.sh [NN ...]     (default: every exercise)
set -euo pipefail
cd "$(dirname "$0")/../.."
numbers=("$@")
if ((${#numbers[@]} == 0)); then
  for d in exercises/[0-9][0-9]-*/; do numbers+=("$(basename "$d" | cut -c1-2)"); done
fi
for nn in "${numbers[@]}"; do
  ex=$(ls -d exercises/"$nn"-*)
  backup=$(mktemp -d)
  cp -a "$ex/src" "$backup/"
  trap 'rm -rf "$ex/src" && cp -r "$backup/src" "$ex/" && rm -rf "$backup"' EXIT
  grep -rl 'todo!(' "$ex/src" | xargs sed -i -E 's/todo!\(("[^"]*")?\)/loop { std::thread::park() }/g'
  cargo test -q -p "exercise-$nn" --no-run >/dev/null 2>&1
  start=$EPOCHREALTIME
  out=$(cargo test -q -p "exercise-$nn" 2>&1 || true)
  secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  summary=$(grep '^test result' <<<"$out" | tail -1)
  echo "exercise-$nn, every test hung: ${secs} s; $summary"
  rm -rf "$ex/src" && cp -r "$backup/src" "$ex/" && rm -rf "$backup"
  trap - EXIT
done
