#!/usr/bin/env bash
# Real clients against the decoder: redis-cli and redis-benchmark talk to
# examples/capture.rs, which decodes every frame they send with
# exercise_22::decode and logs it. Proves the decoder reads real client
# traffic, including redis-benchmark's PING_INLINE (an inline command) and
# redis-cli's HELLO 3.
set -euo pipefail
cargo=${CARGO:-cargo}
work=${COURSE_WORK:-$(mktemp -d)}
log="$work/capture.log"

"$cargo" build -q -p solution-22 --example capture
target=${CARGO_TARGET_DIR:-target}
"$target/debug/examples/capture" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT

port=
for _ in $(seq 100); do
    port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$log")
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "capture did not start"; cat "$log"; exit 1; }

fail() { echo "FAILED: $*"; tail -20 "$log"; exit 1; }
expect() { # expect WHAT GOT WANT
    [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

expect "redis-cli PING" "$(redis-cli -p "$port" PING)" "PONG"
expect "redis-cli SET" "$(redis-cli -p "$port" SET greeting 'hello world')" "OK"
expect "redis-cli GET" "$(redis-cli -p "$port" GET greeting)" "hello world"
# HELLO 3 switches the connection to RESP3: redis-cli shows a map.
hello3=$(redis-cli --no-raw -p "$port" -3 HELLO 3)
grep -q '^1# "server" => "capture"' <<<"$hello3" || fail "HELLO 3 reply is not a RESP3 map: $hello3"
# On RESP2 the same map is a flat array.
hello2=$(redis-cli --no-raw -p "$port" HELLO)
grep -q '^1) "server"' <<<"$hello2" || fail "HELLO reply is not a flat RESP2 array: $hello2"

redis-benchmark -p "$port" -t ping_inline,ping_mbulk,set,get -n 1000 -q >"$work/bench.txt" 2>&1 \
    || fail "redis-benchmark: $(cat "$work/bench.txt")"

# Hostile input from a raw socket: an error reply, then the server closes.
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf '*1\r\n$-5\r\n' >&3
reply=$(timeout 5 cat <&3 | tr -d '\r')
exec 3>&-
expect "a negative bulk length" "$reply" "-ERR Protocol error: invalid bulk length"

count() { grep -c "^$1" "$log" || true; }
inline=$(count "inline PING")
mbulk=$(count "array PING")
sets=$(count "array SET key:__rand_int__")
gets=$(count "array GET key:__rand_int__")
[ "$inline" -ge 1000 ] || fail "expected 1000 inline PINGs from PING_INLINE, decoded $inline"
[ "$mbulk" -ge 1000 ] || fail "expected 1000 array PINGs from PING_MBULK, decoded $mbulk"
[ "$sets" -ge 1000 ] || fail "expected 1000 SETs, decoded $sets"
[ "$gets" -ge 1000 ] || fail "expected 1000 GETs, decoded $gets"
errors=$(count "protocol error")
[ "$errors" -eq 1 ] || fail "expected exactly one protocol error (the hostile input), got $errors"

echo "redis-cli and redis-benchmark traffic decoded: $inline inline PING, $mbulk array PING, $sets SET, $gets GET frames"
