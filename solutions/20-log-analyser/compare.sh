#!/usr/bin/env bash
# The slow analyser, the fast one and a GNU pipeline on the same generated
# access log, each run RUNS times on a warm page cache: min / median / max.
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

# Runs "$@" RUNS times and prints min / median / max wall-clock seconds.
timed() {
    local times=()
    for _ in $(seq "$RUNS"); do
        local start end
        start=$(date +%s.%N)
        "$@" >"$WORK/out.txt"
        end=$(date +%s.%N)
        times+=("$(echo "$end - $start" | bc)")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '
        { t[NR] = $1 }
        END { printf "%.2f / %.2f / %.2f s\n", t[1], t[int((NR + 1) / 2)], t[NR] }'
}

gnu() {
    awk '{print $1}' "$log" | sort | uniq -c | sort -rn | head
}

echo "| program | min / median / max |"
echo "|---|---|"
echo "| analyse_slow | $(timed "$tool" slow "$log") |"
cp "$WORK/out.txt" "$WORK/slow.txt"
echo "| analyse | $(timed "$tool" fast "$log") |"
cmp -s "$WORK/out.txt" "$WORK/slow.txt" || { echo "analyse and analyse_slow disagree"; exit 1; }
echo "| awk, sort, uniq -c, sort -rn, head | $(LC_ALL=C timed gnu) |"
echo "(GNU sort run with LC_ALL=C; in a UTF-8 locale it is slower)"
