#!/usr/bin/env bash
# redis-cli, Redis's own client, against the reference solution of exercise 24:
#
# 1. pub/sub: a `redis-cli SUBSCRIBE` and a `redis-cli PSUBSCRIBE` receive
#    the messages that another redis-cli PUBLISHes, and PUBLISH counts them;
# 2. the append-only file: 300 INCRs, each acknowledged by the server under
#    `--appendfsync always`, then `kill -9`, a restart on the same file, and
#    the counter must read 300;
# 3. the rewrite: redis-cli BGREWRITEAOF on that restarted server, 100 more
#    INCRs while and after it runs, the log shrinks, `kill -9`, a restart,
#    and the counter must read 400.
#
# Every server started here is killed when the script exits, however it exits.
set -euo pipefail

cd "${COURSE_ROOT:-$(dirname "$0")/../../..}"
CARGO=${CARGO:-cargo}
WORK=${COURSE_WORK:-}
own_work=
if [[ -z "$WORK" ]]; then
    WORK=$(mktemp -d)
    own_work=$WORK
fi
mkdir -p "$WORK"

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    [[ -z "$own_work" ]] || rm -rf "$own_work"
}
trap cleanup EXIT

fail() {
    echo "FAILED: $*" >&2
    for log in "$WORK"/*.log "$WORK"/*.out; do
        [[ -f "$log" ]] || continue
        echo "--- $log:" >&2
        tail -n 20 "$log" >&2
    done
    exit 1
}

server_exe=$("$CARGO" build -q -p solution-24 --bin aof-server-24-reference --message-format=json |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[[ -x "$server_exe" ]] || fail "building aof-server-24-reference gave no program"

# start_server NAME ARGS...: in the background on a free loopback port; sets
# `port` once the server says "listening on".
start_server() {
    local name=$1 log="$WORK/$1.log"
    shift
    # Created here, not by the background job's redirection: sed below may
    # run before the job has started.
    : >"$log"
    "$server_exe" --port 0 "$@" >"$log" 2>&1 &
    pids+=($!)
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
        [[ -n "$port" ]] && return
        kill -0 "${pids[-1]}" 2>/dev/null || fail "$name exited before it listened"
        sleep 0.1
    done
    fail "$name did not say \"listening on\" within 10 s"
}

# 1. Pub/sub.
start_server pubsub --appendonly "$WORK/pubsub.aof" --appendfsync no
timeout 10 redis-cli -p "$port" SUBSCRIBE news >"$WORK/subscriber.out" 2>&1 &
subscriber=$!
pids+=("$subscriber")
timeout 10 redis-cli -p "$port" PSUBSCRIBE 'ne*' >"$WORK/psubscriber.out" 2>&1 &
psubscriber=$!
pids+=("$psubscriber")
# Publish once both subscriptions are in place: PUBLISH then counts 2.
for _ in $(seq 50); do
    [[ $(redis-cli -p "$port" PUBLISH news ping) == 2 ]] && break
    sleep 0.1
done
[[ $(redis-cli -p "$port" PUBLISH news "hello from redis-cli") == 2 ]] ||
    fail "PUBLISH news did not count the redis-cli subscribers (SUBSCRIBE news, PSUBSCRIBE ne*)"
[[ $(redis-cli -p "$port" PUBLISH other ignored) == 0 ]] ||
    fail "PUBLISH on a channel nobody subscribed to should answer 0"
for _ in $(seq 50); do
    grep -q "hello from redis-cli" "$WORK/subscriber.out" && break
    sleep 0.1
done
grep -q "hello from redis-cli" "$WORK/subscriber.out" ||
    fail "the redis-cli subscriber did not print the message: $(cat "$WORK/subscriber.out")"
grep -q "pmessage" "$WORK/psubscriber.out" && grep -q "hello from redis-cli" "$WORK/psubscriber.out" ||
    fail "the redis-cli pattern subscriber did not print the pmessage: $(cat "$WORK/psubscriber.out")"
kill "$subscriber" "$psubscriber" 2>/dev/null || true

# 2. kill -9 under appendfsync always: no acknowledged write lost.
start_server aof --appendonly "$WORK/always.aof" --appendfsync always
for _ in $(seq 300); do
    echo INCR counter
done | redis-cli -p "$port" >"$WORK/incr.out" 2>&1 || fail "redis-cli INCR failed"
acked=$(grep -c '^[0-9]' "$WORK/incr.out" || true)
[[ $acked == 300 ]] || fail "300 INCRs sent, $acked acknowledged"
{ kill -9 "${pids[-1]}" && wait "${pids[-1]}"; } 2>/dev/null || true
start_server restarted --appendonly "$WORK/always.aof" --appendfsync always
got=$(redis-cli -p "$port" GET counter)
[[ $got == 300 ]] || fail "after kill -9 and a restart, GET counter is '$got', not 300"

# 3. BGREWRITEAOF: the log becomes one SET, no INCR lost or counted twice.
before=$(stat -c %s "$WORK/always.aof")
reply=$(redis-cli -p "$port" BGREWRITEAOF)
[[ $reply == "Background append only file rewriting started" ]] ||
    fail "BGREWRITEAOF answered '$reply'"
for _ in $(seq 100); do
    echo INCR counter
done | redis-cli -p "$port" >"$WORK/incr2.out" 2>&1 || fail "redis-cli INCR after BGREWRITEAOF failed"
acked=$(grep -c '^[0-9]' "$WORK/incr2.out" || true)
[[ $acked == 100 ]] || fail "100 INCRs sent after BGREWRITEAOF, $acked acknowledged"
for _ in $(seq 50); do
    (($(stat -c %s "$WORK/always.aof") < before)) && break
    sleep 0.1
done
after=$(stat -c %s "$WORK/always.aof")
((after < before)) || fail "the log did not shrink after BGREWRITEAOF ($before bytes, then $after)"
{ kill -9 "${pids[-1]}" && wait "${pids[-1]}"; } 2>/dev/null || true
start_server rewritten --appendonly "$WORK/always.aof" --appendfsync always
got=$(redis-cli -p "$port" GET counter)
[[ $got == 400 ]] || fail "after BGREWRITEAOF, kill -9 and a restart, GET counter is '$got', not 400"

echo "redis-cli SUBSCRIBE and PSUBSCRIBE received the published message; 300 acknowledged INCRs survived kill -9; after BGREWRITEAOF the log shrank from $before to $after bytes and 400 INCRs survived kill -9"
