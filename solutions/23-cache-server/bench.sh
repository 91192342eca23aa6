#!/usr/bin/env bash
# Throughput and latency: the reference solution of exercise 23 (release
# build; 16 shards on one worker thread per core, the default; 16 shards on
# one thread, like Redis; 1 shard, one lock for the whole keyspace) against
# redis-server (no persistence), driven by redis-benchmark on the same
# machine. Not part of `cargo course verify`: it takes a few minutes,
# and its figures depend on the machine and on what else runs.
#
#   bash solutions/23-cache-server/bench.sh              # 5 runs
#   RUNS=7 REQUESTS=500000 bash solutions/23-cache-server/bench.sh
#
# Pipelined: redis-benchmark -t set,get,incr,lpush,lpop -c 50 -P 16, each
# server in turn, run after run (a slow moment of the machine hurts all
# alike); min / median / max requests per second and the ratio of medians.
# Unpipelined (-P 1): p50 and p99 latency of SET and GET, medians of the runs.
# The server is built with mimalloc (feature `mimalloc`), as redis-server is
# with jemalloc; SERVER_FEATURES=serve measures it with the system allocator.
# Needs redis-benchmark and redis-server (Debian: redis-tools, redis-server).
set -euo pipefail

cd "$(dirname "$0")/../.."
SERVER_FEATURES=${SERVER_FEATURES:-serve,mimalloc}
source solutions/23-cache-server/checks/common.sh
RUNS=${RUNS:-5}
REQUESTS=${REQUESTS:-200000}
TESTS=set,get,incr,lpush,lpop

for tool in redis-benchmark redis-server; do
    command -v "$tool" >/dev/null || { echo "$tool is missing (Debian: apt-get install redis-tools redis-server)" >&2; exit 1; }
done

build_server
start_server ours
port_ours=$port
start_server ours-1-shard --shards 1
port_one=$port
start_server ours-1-thread --threads 1
port_thread=$port
port_redis=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port_redis" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --logfile "$WORK/redis.log" &
pids+=($!)
for _ in $(seq 100); do
    redis-cli -p "$port_redis" ping >/dev/null 2>&1 && break
    sleep 0.1
done
redis-cli -p "$port_redis" ping >/dev/null || fail "redis-server did not start"

# run NAME PORT ARGS...: one redis-benchmark run in CSV, appended to
# $WORK/NAME.csv as "test,rps,avg,min,p50,p95,p99,max" lines.
run() {
    local name=$1 port=$2
    shift 2
    redis-benchmark -p "$port" --csv "$@" 2>/dev/null | tr -d '"' | grep -v '^test,' >>"$WORK/$name.csv"
}

servers=(ours ours-1-thread ours-1-shard redis)
ports=("$port_ours" "$port_thread" "$port_one" "$port_redis")
for r in $(seq "$RUNS"); do
    for i in "${!servers[@]}"; do
        run "${servers[$i]}-pipelined" "${ports[$i]}" -t "$TESTS" -c 50 -P 16 -n "$REQUESTS"
        run "${servers[$i]}-latency" "${ports[$i]}" -t set,get -c 50 -n $((REQUESTS / 4))
    done
    echo "run $r of $RUNS done" >&2
done

# stats FILE TEST COLUMN: "min median max" of that column over the runs.
stats() {
    awk -F, -v t="$2" -v c="$3" '$1 == t { print $c }' "$1" | sort -g |
        awk '{ v[NR] = $1 } END { printf "%.0f %.0f %.0f", v[1], v[int((NR + 1) / 2)], v[NR] }'
}
stats3() { # like stats, with 3 decimals (latency in ms)
    awk -F, -v t="$2" -v c="$3" '$1 == t { print $c }' "$1" | sort -g |
        awk '{ v[NR] = $1 } END { printf "%.3f %.3f %.3f", v[1], v[int((NR + 1) / 2)], v[NR] }'
}

echo
echo "redis-benchmark -t $TESTS -c 50 -P 16 -n $REQUESTS, requests/s, min / median / max of $RUNS runs"
printf '%-6s %-28s %-28s %-28s %-28s %s\n' test "ours (default)" "ours (1 thread)" "ours (1 shard)" \
    "redis-server" "ratios of medians to redis (default, 1 thread, 1 shard)"
for t in SET GET INCR LPUSH LPOP; do
    cells=()
    medians=()
    for s in ours ours-1-thread ours-1-shard redis; do
        read -r lo mid hi <<<"$(stats "$WORK/$s-pipelined.csv" "$t" 2)"
        cells+=("$lo / $mid / $hi")
        medians+=("$mid")
    done
    printf '%-6s %-28s %-28s %-28s %-28s %s\n' "$t" "${cells[@]}" \
        "$(awk -v a="${medians[0]}" -v b="${medians[1]}" -v c="${medians[2]}" -v r="${medians[3]}" \
            'BEGIN { printf "%.2f, %.2f, %.2f", a / r, b / r, c / r }')"
done
echo
echo "redis-benchmark -t set,get -c 50 -n $((REQUESTS / 4)) (no pipelining), latency in ms, median of $RUNS runs"
printf '%-6s %-20s %-20s %-20s %s\n' test "ours p50 / p99" "1 thread p50 / p99" "1 shard p50 / p99" "redis-server p50 / p99"
for t in SET GET; do
    cells=()
    for s in ours ours-1-thread ours-1-shard redis; do
        read -r _ p50 _ <<<"$(stats3 "$WORK/$s-latency.csv" "$t" 5)"
        read -r _ p99 _ <<<"$(stats3 "$WORK/$s-latency.csv" "$t" 7)"
        cells+=("$p50 / $p99")
    done
    printf '%-6s %-20s %-20s %-20s %s\n' "$t" "${cells[@]}"
done
echo
echo "($(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(rustc --version | cut -d' ' -f1-2); redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'))"
