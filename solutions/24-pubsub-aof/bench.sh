#!/usr/bin/env bash
# SET throughput under each appendfsync policy: the reference solution of
# exercise 24 (release build of aof-server-24-reference) against
# redis-server with the same policy (--appendonly yes --appendfsync X),
# driven by redis-benchmark on the same machine. Not part of
# `cargo course verify`: it takes a few minutes, and its figures depend on
# the machine, its disk, and on what else runs.
#
#   bash solutions/24-pubsub-aof/bench.sh              # 5 runs
#   RUNS=7 REQUESTS=100000 bash solutions/24-pubsub-aof/bench.sh
#
# redis-benchmark -t set -c 50 (no pipelining), each server in turn, run
# after run; min / median / max requests per second and the ratio of the
# medians. `always` runs REQUESTS/10 requests (every write waits for the
# disk). The logs live in a fresh temporary directory on the disk of
# $TMPDIR (default /tmp): say which file system it is when you quote a
# figure. Needs redis-benchmark and redis-server (Debian: redis-tools,
# redis-server). Every server started here is stopped when it exits.
set -euo pipefail

cd "$(dirname "$0")/../.."
CARGO=${CARGO:-cargo}
RUNS=${RUNS:-5}
REQUESTS=${REQUESTS:-50000}
WORK=$(mktemp -d)

for tool in redis-benchmark redis-server redis-cli; do
    command -v "$tool" >/dev/null || { echo "$tool is missing (Debian: apt-get install redis-tools redis-server)" >&2; exit 1; }
done

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "FAILED: $*" >&2
    exit 1
}

server_exe=$("$CARGO" build -q --release -p solution-24 --bin aof-server-24-reference --message-format=json |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[[ -x "$server_exe" ]] || fail "building aof-server-24-reference gave no program"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_ping() {
    for _ in $(seq 100); do
        redis-cli -p "$1" ping >/dev/null 2>&1 && return
        sleep 0.1
    done
    fail "the server on port $1 did not answer PING"
}

policies=(always everysec no)
declare -A port
for policy in "${policies[@]}"; do
    port[ours-$policy]=$(free_port)
    "$server_exe" --port "${port[ours-$policy]}" --appendonly "$WORK/ours-$policy.aof" \
        --appendfsync "$policy" >"$WORK/ours-$policy.log" 2>&1 &
    pids+=($!)
    wait_ping "${port[ours-$policy]}"
    port[redis-$policy]=$(free_port)
    mkdir -p "$WORK/redis-$policy"
    redis-server --port "${port[redis-$policy]}" --bind 127.0.0.1 --save '' \
        --appendonly yes --appendfsync "$policy" --dir "$WORK/redis-$policy" \
        --daemonize no --logfile "$WORK/redis-$policy.log" &
    pids+=($!)
    wait_ping "${port[redis-$policy]}"
done

# One run: requests per second of SET, appended to $WORK/NAME.rps.
run() {
    local name=$1 n=$2
    redis-benchmark -p "${port[$name]}" --csv -t set -c 50 -n "$n" 2>/dev/null |
        tr -d '"' | awk -F, '$1 == "SET" { print $2 }' >>"$WORK/$name.rps"
}

for r in $(seq "$RUNS"); do
    for policy in "${policies[@]}"; do
        n=$REQUESTS
        [[ $policy == always ]] && n=$((REQUESTS / 10))
        run "ours-$policy" "$n"
        run "redis-$policy" "$n"
    done
    echo "run $r of $RUNS done" >&2
done

# "min median max" of a file of numbers.
stats() {
    sort -g "$1" | awk '{ v[NR] = $1 } END { printf "%.0f %.0f %.0f", v[1], v[int((NR + 1) / 2)], v[NR] }'
}
median() { stats "$1" | awk '{ print $2 }'; }

echo
echo "redis-benchmark -t set -c 50 (always: $((REQUESTS / 10)) requests, others: $REQUESTS), SET requests/s, min / median / max of $RUNS runs"
echo "logs on: $(df -T "$WORK" | awk 'NR == 2 { print $2 }') ($WORK)"
printf '%-10s %-24s %-24s %s\n' appendfsync ours redis-server "ours / redis (medians)"
for policy in "${policies[@]}"; do
    ours=$(stats "$WORK/ours-$policy.rps")
    redis=$(stats "$WORK/redis-$policy.rps")
    ratio=$(awk -v a="$(median "$WORK/ours-$policy.rps")" -v b="$(median "$WORK/redis-$policy.rps")" \
        'BEGIN { printf "%.2f", a / b }')
    printf '%-10s %-24s %-24s %s\n' "$policy" "$ours" "$redis" "$ratio"
done
