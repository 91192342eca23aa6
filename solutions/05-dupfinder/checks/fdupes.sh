#!/usr/bin/env bash
# Real client: fdupes and the reference dupfinder must find the groups the
# generator made, on a small generated tree (about 500 files, 15 MiB). A
# debug build (the one the tests use) and no timing keep it to a few
# seconds; `compare-fdupes.sh` without these settings is the benchmark.
#
# verify runs this from the repository's root with CARGO, CARGO_TARGET_DIR
# and COURSE_WORK (a fresh directory) set. The last line is the summary:
# "same N groups from fdupes, dupfinder and the generator (M files)".
set -euo pipefail
SCALE=small RUNS=0 PROFILE=dev \
    bash solutions/05-dupfinder/compare-fdupes.sh "${COURSE_WORK:?COURSE_WORK must name a work directory}"
