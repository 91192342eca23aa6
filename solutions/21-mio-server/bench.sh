#!/usr/bin/env bash
# Benchmark (not a verify check: it takes about a minute): chapter 3's tokio
# server against this chapter's mio server, both driven by the same load
# program (examples/load.rs: blocking client threads, one line per round
# trip). Each server runs alone on its own process, on one thread.
#
#   bash solutions/21-mio-server/bench.sh [RUNS] [CLIENTS] [ROUND_TRIPS]
#
# Prints each run's round trips per second and p99 latency, then min /
# median / max per server.
set -euo pipefail
cd "$(dirname "$0")/../.."
CARGO=${CARGO:-cargo}
RUNS=${1:-5}
CLIENTS=${2:-50}
TRIPS=${3:-2000}
WORK=$(mktemp -d)
server=
cleanup() {
    if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

build() { # package example -> path of the built program
    "$CARGO" build -q --release -p "$1" --features examples --example "$2" --message-format=json |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1
}
cp "$(build solution-03 serve)" "$WORK/serve-tokio"
cp "$(build solution-21 serve)" "$WORK/serve-mio"
cp "$(build solution-21 load)" "$WORK/load"

start() { # program -> sets $server and $port
    "$1" 0 >"$WORK/server.log" 2>&1 &
    server=$!
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$WORK/server.log" | head -n 1)
        [[ -n "$port" ]] && return
        sleep 0.1
    done
    echo "the server did not start" >&2; exit 1
}

summary() { # label file-of-numbers
    sort -n "$2" | awk -v label="$1" '{ v[NR] = $1 } END { printf "  %-22s min %s  median %s  max %s\n", label, v[1], v[int((NR + 1) / 2)], v[NR] }'
}

for name in tokio mio; do
    : >"$WORK/$name.rps"; : >"$WORK/$name.p99"
    start "$WORK/serve-$name"
    for run in $(seq "$RUNS"); do
        out=$("$WORK/load" "127.0.0.1:$port" "$CLIENTS" "$TRIPS")
        rps=$(sed -n 's/^ *\([0-9]*\) round trips\/s.*/\1/p' <<<"$out")
        p99=$(sed -n 's/.*p99 \([^ ]*\) .*/\1/p' <<<"$out")
        echo "$name run $run: $rps round trips/s, p99 $p99"
        echo "$rps" >>"$WORK/$name.rps"
        echo "$p99" | sed 's/µs//; s/ms/*1000/' | bc >>"$WORK/$name.p99"
    done
    kill "$server"; wait "$server" 2>/dev/null || true; server=
done
echo "$CLIENTS clients x $TRIPS round trips, $RUNS runs each:"
for name in tokio mio; do
    summary "$name round trips/s" "$WORK/$name.rps"
    summary "$name p99 (µs)" "$WORK/$name.p99"
done
