#!/usr/bin/env bash
# Real client: fdupes and the reference dupfinder must find the same groups
# on the generated tree (one timed run each). verify runs this from the
# repository's root with COURSE_WORK set to a fresh directory.
set -euo pipefail
RUNS=1 bash solutions/05-dupfinder/compare-fdupes.sh "${COURSE_WORK:?}/tree" | tee "$COURSE_WORK/out.txt"
# The summary line verify shows: "same N groups ...".
grep '^same ' "$COURSE_WORK/out.txt" | tail -1
