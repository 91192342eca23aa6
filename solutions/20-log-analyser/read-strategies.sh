#!/usr/bin/env bash
# Times six ways of reading a file (fs::read, BufReader::lines, read_line
# into one String, read with a 64 KiB buffer, memmap2, tokio::fs::read),
# each cold (the file's pages dropped with posix_fadvise DONTNEED) and warm.
#
#   bash solutions/20-log-analyser/read-strategies.sh [MEGABYTES] [RUNS]
#
# MEGABYTES defaults to 1000 (1 GB), RUNS to 5. The file is written to
# $COURSE_WORK or a temporary directory, and removed at the end.
set -euo pipefail

cd "${COURSE_ROOT:-$(dirname "$0")/../..}"
MB=${1:-1000}
RUNS=${2:-5}
WORK=${COURSE_WORK:-$(mktemp -d)}
mkdir -p "$WORK"
file="$WORK/data.txt"
trap 'rm -f "$file"' EXIT

cargo build -q --release -p solution-20 --example read_strategies
tool="${CARGO_TARGET_DIR:-target}/release/examples/read_strategies"
"$tool" generate "$file" "$MB"
"$tool" measure "$file" "$RUNS"
