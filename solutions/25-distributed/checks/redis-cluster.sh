#!/usr/bin/env bash
# Real clients against a cluster of the reference solution of exercise 25
# (the cluster-25-reference program: three leaders and a follower for each,
# six nodes on free loopback ports in one process).
#
# - redis-cli --cluster check reads every node's CLUSTER NODES and agrees:
#   three masters, each with one replica, all 16384 slots covered.
# - redis-cli -c (cluster mode) SETs 300 keys through the first node,
#   following every -MOVED redirection, and GETs each back through the
#   second node; DBSIZE on each node shows that all three hold keys and
#   that no key is stored twice; each follower holds its leader's keys.
# - redis-cli reads CLUSTER SLOTS and CLUSTER KEYSLOT as Redis answers them.
# - A follower redirects a read until the client sends READONLY, and a
#   write always; WAIT 1 on the leader counts it.
# - CLUSTER FAILOVER on a follower promotes it: redis-cli --cluster check
#   sees the new master, and redis-cli -c reads every key through it.
# - redis-benchmark --cluster -t set,get -n 20000 reads CLUSTER NODES, sends
#   each node the keys of its own slots, and finishes without an error.
#
# Run from the repository's root (cargo course verify sets CARGO, COURSE_ROOT,
# CARGO_TARGET_DIR and COURSE_WORK); it also works on its own:
#   bash solutions/25-distributed/checks/redis-cluster.sh
set -euo pipefail

cd "${COURSE_ROOT:-$(dirname "$0")/../../..}"
CARGO=${CARGO:-cargo}
WORK=${COURSE_WORK:-$(mktemp -d)}
mkdir -p "$WORK"

pid=
cleanup() {
    if [[ -n "$pid" ]]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

fail() {
    echo "FAILED: $*" >&2
    [[ -f "$WORK/cluster.log" ]] && tail -n 20 "$WORK/cluster.log" >&2
    exit 1
}

exe=$("$CARGO" build -q --release -p solution-25 --features serve \
    --bin cluster-25-reference --message-format=json |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[[ -x "$exe" ]] || fail "building cluster-25-reference gave no program"

: >"$WORK/cluster.log"
"$exe" --nodes 3 --replicas 1 --port 0 >"$WORK/cluster.log" 2>&1 &
pid=$!
ports=()
for _ in $(seq 100); do
    mapfile -t ports < <(sed -n 's/^node [0-9]* listening on 127\.0\.0\.1:\([0-9][0-9]*\).*$/\1/p' "$WORK/cluster.log")
    [[ ${#ports[@]} -eq 6 ]] && break
    kill -0 "$pid" 2>/dev/null || fail "the cluster exited before it listened"
    sleep 0.1
done
[[ ${#ports[@]} -eq 6 ]] || fail "the cluster did not print six \"listening on\" lines within 10 s"
leaders=("${ports[@]:0:3}")
followers=("${ports[@]:3:3}")

cli() { timeout 20 redis-cli "$@"; }

# redis-cli's own cluster checker: 3 masters with 1 replica each.
cli --cluster check "127.0.0.1:${leaders[0]}" >"$WORK/check.txt" 2>&1 ||
    { cat "$WORK/check.txt" >&2; fail "redis-cli --cluster check failed"; }
grep -q 'All 16384 slots covered' "$WORK/check.txt" || fail "redis-cli --cluster check: slots not covered"
[[ $(grep -c '1 additional replica(s)' "$WORK/check.txt") == 3 ]] ||
    { cat "$WORK/check.txt" >&2; fail "redis-cli --cluster check does not see a replica for each master"; }

# CLUSTER KEYSLOT, as redis-server 7.0.15 answers it.
[[ "$(cli -p "${ports[0]}" cluster keyslot foo)" == 12182 ]] || fail "CLUSTER KEYSLOT foo is not 12182"
[[ "$(cli -p "${ports[0]}" cluster keyslot '{user1000}.following')" == 3443 ]] ||
    fail "CLUSTER KEYSLOT {user1000}.following is not 3443"

# CLUSTER SLOTS, printed raw: start, end, ip, port, id for each range.
slots=$(cli -p "${ports[1]}" cluster slots | paste -sd' ')
for range in "0 5460 127.0.0.1 ${leaders[0]}" "5461 10922 127.0.0.1 ${leaders[1]}" "10923 16383 127.0.0.1 ${leaders[2]}"; do
    [[ "$slots" == *"$range "* ]] || fail "CLUSTER SLOTS lacks the range \"$range\": $slots"
done

# 300 SETs through the first node, as one redis-cli -c session: every key
# of another node's slot is answered -MOVED, and redis-cli follows it.
keys=300
for i in $(seq "$keys"); do echo "SET key:$i value:$i"; done >"$WORK/set.txt"
cli -c -p "${ports[0]}" <"$WORK/set.txt" >"$WORK/set.out"
# redis-cli prints "-> Redirected to slot [N] located at ADDR" for each
# redirection it follows.
oks=$(grep -c '^OK$' "$WORK/set.out" || true)
[[ "$oks" == "$keys" ]] || fail "redis-cli -c: $oks of $keys SETs answered OK"
redirects=$(grep -c '^-> Redirected to slot' "$WORK/set.out" || true)
[[ "$redirects" -gt 0 ]] || fail "redis-cli -c followed no redirection: every key on the first node?"

for i in $(seq "$keys"); do echo "GET key:$i"; done >"$WORK/get.txt"
cli -c -p "${ports[1]}" <"$WORK/get.txt" | grep -v '^-> Redirected to slot' >"$WORK/got.txt"
seq "$keys" | sed 's/^/value:/' >"$WORK/want.txt"
diff "$WORK/want.txt" "$WORK/got.txt" >&2 || fail "redis-cli -c: the keys read back differ (diff above)"

total=0
for i in 0 1 2; do
    n=$(cli -p "${leaders[$i]}" dbsize)
    [[ "$n" -gt 0 ]] || fail "the leader on port ${leaders[$i]} holds no key: the keys are not spread"
    total=$((total + n))
    [[ $(cli -p "${leaders[$i]}" wait 1 5000) == 1 ]] || fail "WAIT 1 5000 on leader $((i + 1)): its follower did not acknowledge"
    copy=$(cli -p "${followers[$i]}" dbsize)
    [[ "$copy" == "$n" ]] || fail "follower $((i + 1)) holds $copy keys, its leader $n"
done
[[ "$total" == "$keys" ]] || fail "the leaders hold $total keys in all, not $keys: a key is stored twice or lost"

# A follower: reads redirected until READONLY, writes always (bar is in
# slot 5061, the first leader's).
[[ $(cli -p "${leaders[0]}" set bar replicated) == OK ]] || fail "SET bar on its leader"
[[ $(cli -p "${leaders[0]}" wait 1 5000) == 1 ]] || fail "WAIT 1 after SET bar"
[[ $(cli -p "${followers[0]}" get bar) == "MOVED 5061 127.0.0.1:${leaders[0]}" ]] ||
    fail "GET bar on the follower without READONLY is not redirected to its leader"
got=$(printf 'READONLY\nGET bar\nSET bar x\n' | cli -p "${followers[0]}" | grep -v '^$' | paste -sd' ')
[[ "$got" == "OK replicated MOVED 5061 127.0.0.1:${leaders[0]}" ]] ||
    fail "READONLY, GET bar, SET bar on the follower answered: $got"

# A coordinated failover: the first follower takes over the first range.
[[ $(cli -p "${followers[0]}" cluster failover) == OK ]] || fail "CLUSTER FAILOVER on the first follower"
cli --cluster check "127.0.0.1:${leaders[1]}" >"$WORK/check2.txt" 2>&1 ||
    { cat "$WORK/check2.txt" >&2; fail "redis-cli --cluster check after the failover"; }
grep -q "^M: .* 127.0.0.1:${followers[0]}\$" "$WORK/check2.txt" ||
    { cat "$WORK/check2.txt" >&2; fail "after CLUSTER FAILOVER, redis-cli does not see the follower as a master"; }
cli -c -p "${leaders[1]}" <"$WORK/get.txt" | grep -v '^-> Redirected to slot' >"$WORK/got2.txt"
diff "$WORK/want.txt" "$WORK/got2.txt" >&2 || fail "after the failover, the keys read back differ (diff above)"

# redis-benchmark in cluster mode: it reads CLUSTER NODES from the first
# node, then sends each node keys tagged for its own slots.
timeout 60 redis-benchmark --cluster -p "${leaders[1]}" -t set,get -n 20000 -q >"$WORK/bench.txt" 2>&1 ||
    { cat "$WORK/bench.txt" >&2; fail "redis-benchmark --cluster failed"; }
tr '\r' '\n' <"$WORK/bench.txt" | grep -q '^SET: .* requests per second' || fail "redis-benchmark printed no SET result"
tr '\r' '\n' <"$WORK/bench.txt" | grep -q '^GET: .* requests per second' || fail "redis-benchmark printed no GET result"
if grep -qi 'error' "$WORK/bench.txt"; then
    cat "$WORK/bench.txt" >&2
    fail "redis-benchmark reported an error"
fi

kill -0 "$pid" 2>/dev/null || fail "the cluster exited during the checks"
echo "redis-cli --cluster check: 3 masters with a replica each; redis-cli -c: $keys keys set ($redirects redirections followed) and read back across 3 leaders, copied to their followers (WAIT 1); READONLY reads; CLUSTER FAILOVER, then every key read back and redis-benchmark --cluster -t set,get -n 20000 ran ($(redis-cli --version))"
