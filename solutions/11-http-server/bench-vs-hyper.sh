#!/usr/bin/env bash
# Keep-alive requests per second on GET / (a 24-byte body): the reference
# solution of exercise 11 (serve-11) against a minimal hyper 1.x server
# (hyper-hello), driven by wrk. Not part of `cargo course verify`: it takes
# about a minute, and its figures depend on the machine and on what else runs.
#
#   bash solutions/11-http-server/bench-vs-hyper.sh            # 5 runs of 5 s each
#   RUNS=7 DURATION=10s CONNECTIONS=64 bash solutions/11-http-server/bench-vs-hyper.sh
#
# Needs wrk (Debian: apt-get install -y wrk). Both servers and wrk share the
# machine's cores; the two servers take turns, run by run, so that a slow
# moment of the machine hurts both alike.
set -euo pipefail

cd "$(dirname "$0")/../.."
CARGO=${CARGO:-cargo}
RUNS=${RUNS:-5}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-1}
WORK=$(mktemp -d)

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

build() {
    "$CARGO" build -q --release -p solution-11 --features "$1" --bin "$2" --message-format=json |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1
}
ours=$(build serve serve-11)
theirs=$(build compare-hyper hyper-hello)

# start NAME COMMAND...: runs the server in the background, waits for its
# "listening on" line, and sets `port`. (Not in a $(...) subshell: the
# server's pid must reach `pids` for the cleanup.)
start() {
    local name=$1 log="$WORK/$1.log"
    shift
    "$@" >"$log" 2>&1 &
    pids+=($!)
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
        [[ -n "$port" ]] && return
        sleep 0.1
    done
    echo "$name did not start: $(cat "$log")" >&2
    exit 1
}
mkdir -p "$WORK/root"
start serve-11 "$ours" --addr 127.0.0.1:0 --root "$WORK/root"
port_ours=$port
start hyper-hello "$theirs" 127.0.0.1:0
port_hyper=$port

# Both answer the same bytes of body.
[[ "$(curl -s "http://127.0.0.1:$port_ours/")" == "$(curl -s "http://127.0.0.1:$port_hyper/")" ]] ||
    { echo "the two servers answer GET / differently" >&2; exit 1; }

rps() {
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$1/" |
        sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'
}
# Warm-up, not counted.
rps "$port_ours" >/dev/null
rps "$port_hyper" >/dev/null
ours_runs=()
hyper_runs=()
for i in $(seq "$RUNS"); do
    ours_runs+=("$(rps "$port_ours")")
    hyper_runs+=("$(rps "$port_hyper")")
    echo "run $i: serve-11 ${ours_runs[-1]} req/s, hyper ${hyper_runs[-1]} req/s" >&2
done

summary() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {printf "%.0f %.0f %.0f", v[1], v[int((NR+1)/2)], v[NR]}'; }
read -r o_min o_med o_max <<<"$(summary "${ours_runs[@]}")"
read -r h_min h_med h_max <<<"$(summary "${hyper_runs[@]}")"
echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION http://127.0.0.1:PORT/  ($RUNS runs each, $(nproc) cores)"
echo "| server | min | median | max |"
echo "|---|---|---|---|"
echo "| serve-11 (exercise 11's solution) | $o_min | $o_med | $o_max |"
echo "| hyper 1.x (hyper-hello) | $h_min | $h_med | $h_max |"
awk -v o="$o_med" -v h="$h_med" 'BEGIN {printf "ratio of the medians, serve-11 / hyper: %.2f\n", o / h}'
# Run by run (the two servers ran back to back), less sensitive to the
# machine's load drifting between runs.
ratios=()
for i in "${!ours_runs[@]}"; do
    ratios+=("$(awk -v o="${ours_runs[$i]}" -v h="${hyper_runs[$i]}" 'BEGIN {printf "%.3f", o / h}')")
done
printf '%s\n' "${ratios[@]}" | sort -n |
    awk '{v[NR]=$1} END {printf "ratio run by run, min / median / max: %.2f / %.2f / %.2f\n", v[1], v[int((NR+1)/2)], v[NR]}'
