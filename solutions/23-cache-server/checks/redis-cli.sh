#!/usr/bin/env bash
# A real client, redis-cli, talks to the reference solution of exercise 23.
#
# Builds the server, starts it on a free loopback port with a password, and
# runs a scripted redis-cli session: NOAUTH before the password, strings,
# counters, expiry, lists, types, errors word for word, RESP3 (-3), SCAN
# through redis-cli --scan, and a mass insertion of 10,000 commands through
# redis-cli --pipe (one pipelined stream). Any difference fails with a diff.
#
# Run from the repository's root (cargo course verify sets CARGO, COURSE_ROOT,
# CARGO_TARGET_DIR and COURSE_WORK); it also works on its own:
#   bash solutions/23-cache-server/checks/redis-cli.sh
set -euo pipefail

cd "${COURSE_ROOT:-$(dirname "$0")/../../..}"
source solutions/23-cache-server/checks/common.sh

build_server
start_server server --requirepass course-pass
CLI=(timeout 20 redis-cli -p "$port")
AUTHED=("${CLI[@]}" --user default --pass course-pass --no-auth-warning)

# expect NAME EXPECTED ACTUAL
expect() {
    if [[ "$2" != "$3" ]]; then
        diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") >&2 || true
        fail "$1: redis-cli's output differs from the expected one (diff above: < expected, > got)"
    fi
}

expect "a command before AUTH" "NOAUTH Authentication required." "$("${CLI[@]}" get k 2>&1)"

# One session: redis-cli reads the commands from stdin, one per line, and
# prints each reply raw (stdout is not a terminal).
out=$("${AUTHED[@]}" 2>&1 <<'COMMANDS'
PING
SET greeting "hello world"
GET greeting
SET greeting other NX
APPEND greeting !
STRLEN greeting
INCR visits
INCRBY visits 41
DECR visits
SET session abc EX 100
TTL session
PERSIST session
TTL session
TTL missing
RPUSH queue a b c
LPUSH queue z
LRANGE queue 0 -1
RPOP queue 2
LLEN queue
TYPE queue
TYPE greeting
MSET k1 v1 k2 v2
MGET k1 missing k2
EXISTS k1 k2 k3
DEL k1 k2
GET
LPUSH greeting x
SELECT 0
SELECT 1
DBSIZE
COMMAND
COMMANDS
)
expected=$(cat <<'EXPECTED'
PONG
OK
hello world

12
12
1
42
41
OK
100
1
-1
-2
3
4
z
a
b
c
c
b
2
list
string
OK
v1

v2
2
2
ERR wrong number of arguments for 'get' command

WRONGTYPE Operation against a key holding the wrong kind of value

OK
ERR DB index is out of range

4

EXPECTED
)
expect "the scripted session" "$expected" "$out"

# RESP3: HELLO 3 is sent by -3; a missing key is RESP3's null.
# In raw mode redis-cli prints a map as "key value" lines.
out=$("${AUTHED[@]}" -3 hello 3 | grep '^proto ')
expect "HELLO 3 through redis-cli -3" "proto 3" "$out"

# --pipe: 10,000 SETs written as one RESP stream, then counted.
for i in $(seq 10000); do
    printf '*3\r\n$3\r\nSET\r\n$%d\r\nuser:%d\r\n$1\r\nx\r\n' "$(( ${#i} + 5 ))" "$i"
done >"$WORK/mass.resp"
out=$("${AUTHED[@]}" --pipe <"$WORK/mass.resp" 2>&1 | tail -n 1)
expect "redis-cli --pipe with 10000 SETs" "errors: 0, replies: 10000" "$out"

# --scan: SCAN with MATCH, cursor after cursor, until 0.
count=$("${AUTHED[@]}" --scan --pattern 'user:*' | sort -u | wc -l)
expect "redis-cli --scan --pattern 'user:*' (distinct keys)" "10000" "$count"
expect "DBSIZE" "10004" "$("${AUTHED[@]}" dbsize)"
expect "FLUSHALL" "OK" "$("${AUTHED[@]}" flushall)"
expect "DBSIZE after FLUSHALL" "0" "$("${AUTHED[@]}" dbsize)"

kill -0 "${pids[0]}" 2>/dev/null || fail "the server exited during the checks"

# maxmemory: a second server limited to 200,000 bytes takes 10,000 SETs of
# 100-byte values (about 1.7 MB) and evicts to stay under the limit.
start_server limited --maxmemory 200000
LIMITED=(timeout 20 redis-cli -p "$port")
expect "CONFIG GET maxmemory" "maxmemory 200000" "$("${LIMITED[@]}" config get maxmemory | paste -sd' ')"
value=$(printf 'v%.0s' $(seq 100))
for i in $(seq 10000); do
    printf '*3\r\n$3\r\nSET\r\n$%d\r\nitem:%d\r\n$100\r\n%s\r\n' "$(( ${#i} + 5 ))" "$i" "$value"
done >"$WORK/big.resp"
out=$("${LIMITED[@]}" --pipe <"$WORK/big.resp" 2>&1 | tail -n 1)
expect "redis-cli --pipe with 10000 SETs of 100 bytes" "errors: 0, replies: 10000" "$out"
used=$("${LIMITED[@]}" info memory | tr -d '\r' | sed -n 's/^used_memory://p')
[[ -n "$used" && "$used" -le 200000 ]] || fail "INFO memory: used_memory is $used, over maxmemory 200000"
evicted=$("${LIMITED[@]}" info stats | tr -d '\r' | sed -n 's/^evicted_keys://p')
keys=$("${LIMITED[@]}" dbsize)
[[ "$evicted" -gt 0 && $((evicted + keys)) -eq 10000 ]] ||
    fail "INFO stats: evicted_keys $evicted and DBSIZE $keys should add up to the 10000 keys set"
expect "the last key set survives" "$value" "$("${LIMITED[@]}" get item:10000)"

echo "redis-cli: a scripted session, RESP3, --pipe (10000 SETs) and --scan as expected; with --maxmemory 200000, 10000 SETs kept $keys keys in $used bytes and evicted $evicted ($(redis-cli --version))"
