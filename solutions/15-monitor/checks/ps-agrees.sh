#!/usr/bin/env bash
# The monitor of exercise 15 (reference solution) and procps's `top` and
# `ps` see the same CPU usage and resident memory for a busy process.
#
# Starts a child shell that spins, then over the same second runs
# `monitor --once --json --interval-ms 1000` and `top -b -n 2 -d 1 -p PID`.
# top's second screen shows %CPU over that second, as the monitor does
# (100 = one core). `ps -o %cpu` is printed too but not compared: it is the
# average over the process's whole life (CPU time / time since it started),
# not the usage of the last interval.
#
# Tolerances: CPU within 15 percentage points of top (the two programs
# sample a few milliseconds apart, on a machine where other work runs);
# RSS within 10 % or 256 KiB of ps (RSS changes little in a spinning shell).
#
# Run from the repository's root (cargo course verify sets CARGO, COURSE_ROOT,
# CARGO_TARGET_DIR and COURSE_WORK); it also works on its own:
#   bash solutions/15-monitor/checks/ps-agrees.sh
set -euo pipefail

cd "${COURSE_ROOT:-$(dirname "$0")/../../..}"
CARGO=${CARGO:-cargo}
WORK=${COURSE_WORK:-$(mktemp -d)}
mkdir -p "$WORK"

busy=
cleanup() {
    if [[ -n "$busy" ]]; then
        kill "$busy" 2>/dev/null || true
        wait "$busy" 2>/dev/null || true
    fi
}
trap cleanup EXIT

fail() {
    echo "FAILED: $*" >&2
    for f in monitor.json top.txt; do
        if [[ -f "$WORK/$f" ]]; then
            echo "--- $f:" >&2
            tail -n 15 "$WORK/$f" >&2
        fi
    done
    exit 1
}

# Build, then copy the program: another package could have an example of
# the same name, and a build of it would replace target/debug/examples/monitor.
exe=$("$CARGO" build -q -p solution-15 --features examples --example monitor \
    --message-format=json |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[[ -x "$exe" ]] || fail "building the monitor example gave no program"
cp "$exe" "$WORK/monitor"

# The busy child sleeps for a second, then spins while this script lives:
# if the script is killed before its trap runs, the loop ends by itself.
# The idle second shows the difference between ps's lifetime average and
# the interval figure of top and the monitor.
sh -c 'sleep 1; while kill -0 $PPID 2>/dev/null; do :; done' &
busy=$!
sleep 1.5
kill -0 "$busy" 2>/dev/null || fail "the busy child did not start"

# The same second, seen by both programs.
timeout 20 "$WORK/monitor" --once --json --interval-ms 1000 --top 50 \
    >"$WORK/monitor.json" 2>"$WORK/monitor.err" &
monitor=$!
timeout 20 top -b -n 2 -d 1 -p "$busy" >"$WORK/top.txt" 2>&1 || fail "top failed"
wait "$monitor" || fail "the monitor failed: $(cat "$WORK/monitor.err")"
read -r ps_cpu ps_rss < <(ps -o %cpu=,rss= -p "$busy") || fail "ps does not see pid $busy"

# top's table rows start with the pid; the last one is from the second screen.
# Columns: PID USER PR NI VIRT RES SHR S %CPU %MEM TIME+ COMMAND.
top_cpu=$(awk -v pid="$busy" '$1 == pid { cpu = $9 } END { print cpu }' "$WORK/top.txt")
[[ -n "$top_cpu" ]] || fail "no row for pid $busy in top's output"
top_cpu=${top_cpu/,/.}

python3 - "$WORK/monitor.json" "$busy" "$top_cpu" "$ps_cpu" "$ps_rss" <<'EOF'
import json, sys

path, pid, top_cpu, ps_cpu, ps_rss = sys.argv[1:]
pid, top_cpu, ps_cpu, ps_rss = int(pid), float(top_cpu), float(ps_cpu), int(ps_rss)
report = json.loads(open(path).readline())
rows = [r for r in report["top_cpu"] if r["pid"] == pid]
if not rows:
    sys.exit(f"FAILED: pid {pid} is not among the monitor's {len(report['top_cpu'])} busiest processes")
row = rows[0]
cpu, rss_kib = row["cpu_percent"], row["memory_bytes"] / 1024
print(f"busy child {pid}: monitor {cpu:.1f} % CPU, top {top_cpu:.1f} %, "
      f"ps {ps_cpu:.1f} % (lifetime average); RSS monitor {rss_kib:.0f} KiB, ps {ps_rss} KiB")
if abs(cpu - top_cpu) > 15:
    sys.exit(f"FAILED: CPU differs by more than 15 points: monitor {cpu:.1f} %, top {top_cpu:.1f} %")
if abs(rss_kib - ps_rss) > max(0.1 * ps_rss, 256):
    sys.exit(f"FAILED: RSS differs by more than 10 %: monitor {rss_kib:.0f} KiB, ps {ps_rss} KiB")
print(f"ps-agrees: monitor and top within 15 points ({cpu:.1f} % vs {top_cpu:.1f} %), RSS within 10 % of ps")
EOF
