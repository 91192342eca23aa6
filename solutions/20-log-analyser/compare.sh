#!/usr/bin/env bash
# The slow analyser, the fast one and a GNU pipeline on the same generated
# access log, each run RUNS times on a warm page cache: min / median / max
# wall-clock time, and the median CPU time.
#
#   bash solutions/20-log-analyser/compare.sh [LINES] [RUNS]
#
# LINES defaults to 9,500,000 (about 1 GB); RUNS to 5. The log is written to
# $COURSE_WORK or a temporary directory, and removed at the end. The GNU
# pipeline computes only the top clients (of every line, malformed or not):
# a lower bound on what a shell one-liner costs for one part of the report.
set -euo pipefail

cd "${COURSE_ROOT:-$(dirname "$0")/../..}"
LINES=${1:-9500000}
RUNS=${2:-5}
WORK=${COURSE_WORK:-$(mktemp -d)}
mkdir -p "$WORK"
log="$WORK/access.log"
trap 'rm -f "$log"' EXIT

cargo build -q --release -p solution-20 --example logtool
tool="${CARGO_TARGET_DIR:-target}/release/examples/logtool"

"$tool" generate "$log" "$LINES"
echo "log: $LINES lines, $(( $(stat -c %s "$log") / 1000000 )) MB, $RUNS runs each (warm cache)"
cat "$log" >/dev/null

# Runs "$@" RUNS times and prints min / median / max wall-clock seconds,
# then the median CPU time (user + sys, of every process of the command):
# the work done, which another program on the same cores changes less.
timed() {
    local walls=() cpus=() t
    for _ in $(seq "$RUNS"); do
        t=$( { TIMEFORMAT='%R %U %S'; time "$@" >"$WORK/out.txt"; } 2>&1 )
        walls+=("$(echo "$t" | awk '{ print $1 }')")
        cpus+=("$(echo "$t" | awk '{ print $2 + $3 }')")
    done
    local wall cpu
    wall=$(printf '%s\n' "${walls[@]}" | sort -n | awk '
        { t[NR] = $1 }
        END { printf "%.2f / %.2f / %.2f s", t[1], t[int((NR + 1) / 2)], t[NR] }')
    cpu=$(printf '%s\n' "${cpus[@]}" | sort -n | awk '
        { t[NR] = $1 }
        END { printf "%.2f s", t[int((NR + 1) / 2)] }')
    echo "$wall | $cpu"
}

gnu() {
    awk '{print $1}' "$log" | sort | uniq -c | sort -rn | head
}

echo "| program | wall: min / median / max | CPU: median |"
echo "|---|---|---|"
echo "| analyse_slow | $(timed "$tool" slow "$log") |"
cp "$WORK/out.txt" "$WORK/slow.txt"
echo "| analyse | $(timed "$tool" fast "$log") |"
cmp -s "$WORK/out.txt" "$WORK/slow.txt" || { echo "analyse and analyse_slow disagree"; exit 1; }
echo "| awk, sort, uniq -c, sort -rn, head | $(LC_ALL=C timed gnu) |"
echo "(GNU sort run with LC_ALL=C; in a UTF-8 locale it is slower)"
