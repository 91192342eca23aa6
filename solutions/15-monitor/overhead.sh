#!/usr/bin/env bash
# The monitor's own cost at one sample per second: runs the release build of
# `monitor --interval-ms 1000 --count SECONDS` RUNS times and prints, per run,
# the CPU time it used (user + system, from GNU time) as a percentage of the
# wall-clock time, then the minimum, median and maximum.
#
#   bash solutions/15-monitor/overhead.sh [RUNS] [SECONDS]     (default 5 30)
#
# Not a check: it takes RUNS x SECONDS.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
seconds=${2:-30}
exe=$(${CARGO:-cargo} build -q --release -p solution-15 --features examples --example monitor \
    --message-format=json | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[[ -x "$exe" ]] || { echo "building the monitor gave no program" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "monitor --interval-ms 1000 --count $seconds, $runs runs, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$runs"); do
    /usr/bin/time -f '%U %S %e' -o "$work/time" "$exe" --interval-ms 1000 --count "$seconds" \
        >"$work/out" 2>&1
    read -r user sys wall <"$work/time"
    pct=$(awk -v u="$user" -v s="$sys" -v w="$wall" 'BEGIN { printf "%.3f", (u + s) / w * 100 }')
    echo "run $i: user ${user}s system ${sys}s wall ${wall}s = $pct % of one core"
    echo "$pct" >>"$work/pcts"
done
sort -g "$work/pcts" | awk '{ v[NR] = $1 } END { printf "min %s %%  median %s %%  max %s %% of one core\n", v[1], v[int((NR + 1) / 2)], v[NR] }'
