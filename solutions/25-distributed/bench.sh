#!/usr/bin/env bash
# redis-benchmark against the reference cluster with 1 and 3 nodes
# (cluster-25-reference: all nodes in one process, one tokio runtime), and
# against a 3-node redis-server cluster (cluster-enabled yes, no
# persistence) on the same machine. RUNS runs of each (default 5); prints
# min / median / max requests per second for SET and GET.
#
#   bash solutions/25-distributed/bench.sh          # from the repository's root
#   RUNS=7 REQUESTS=1000000 bash solutions/25-distributed/bench.sh
#
# Not a verify check: it takes a minute or more. Needs redis-benchmark and
# redis-cli (Debian: redis-tools) and, for the comparison, redis-server.
set -euo pipefail

cd "$(dirname "$0")/../.."
CARGO=${CARGO:-cargo}
RUNS=${RUNS:-5}
# Enough requests that a run lasts seconds: redis-benchmark's clock has
# millisecond steps, and short runs all report about the same figure.
REQUESTS=${REQUESTS:-500000}
CLIENTS=${CLIENTS:-50}
WORK=$(mktemp -d)

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

exe=$("$CARGO" build -q --release -p solution-25 --features serve \
    --bin cluster-25-reference --message-format=json |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)

# bench NAME PORT [--cluster]: RUNS runs, then min / median / max per test.
# (redis-benchmark 7.0 refuses --cluster with fewer than 3 nodes: a single
# node is measured with --threads 3 instead, the three client threads that
# --cluster starts for three nodes.)
bench() {
    local name=$1 port=$2 mode=${3:-}
    : >"$WORK/results"
    for _ in $(seq "$RUNS"); do
        redis-benchmark $mode -p "$port" -t set,get -n "$REQUESTS" -c "$CLIENTS" --csv 2>/dev/null |
            grep -E '^"(SET|GET)"' | cut -d, -f1,2 | tr -d '"' >>"$WORK/results"
    done
    for test in SET GET; do
        sort -t, -k2 -g "$WORK/results" | grep "^$test," | cut -d, -f2 |
            awk -v name="$name" -v test="$test" '{ v[NR] = $1 }
                END { printf "%-28s %s  min %9.0f  median %9.0f  max %9.0f  requests/s (%d runs)\n",
                      name, test, v[1], v[int((NR + 1) / 2)], v[NR], NR }'
    done
}

# start_ours NODES: the reference cluster; sets `port` to its first node's.
start_ours() {
    : >"$WORK/ours-$1.log"
    "$exe" --nodes "$1" --port 0 >"$WORK/ours-$1.log" 2>&1 &
    pids+=($!)
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/^node 1 listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/ours-$1.log")
        [[ -n "$port" ]] && return
        sleep 0.1
    done
    echo "the reference cluster did not start" >&2
    exit 1
}

echo "redis-benchmark [--cluster] -t set,get -n $REQUESTS -c $CLIENTS; $(nproc) cores, $(uname -m)"
start_ours 1
bench "reference, 1 node" "$port" "--threads 3"
kill "${pids[-1]}"
start_ours 3
bench "reference, 3 nodes" "$port" --cluster
kill "${pids[-1]}"

if command -v redis-server >/dev/null; then
    base=$((20000 + RANDOM % 20000))
    for i in 0 1 2; do
        mkdir -p "$WORK/r$i"
        redis-server --port $((base + i)) --bind 127.0.0.1 --cluster-enabled yes \
            --cluster-config-file "$WORK/r$i/nodes.conf" --dir "$WORK/r$i" \
            --save '' --appendonly no >"$WORK/r$i/log" 2>&1 &
        pids+=($!)
    done
    sleep 1
    redis-cli --cluster create 127.0.0.1:$base 127.0.0.1:$((base + 1)) 127.0.0.1:$((base + 2)) \
        --cluster-yes >"$WORK/create.log" 2>&1
    for _ in $(seq 100); do
        redis-cli -p "$base" cluster info | grep -q 'cluster_state:ok' && break
        sleep 0.1
    done
    sleep 1
    bench "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), 3 nodes" "$base" --cluster
fi
