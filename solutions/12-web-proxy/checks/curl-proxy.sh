#!/usr/bin/env bash
# A real client, curl, goes through the reference solution's web-proxy.
#
# Two upstreams are Python's own http.server, each serving a directory with
# an index.html of its own ("one", "two"). Then:
#   1. forward mode: `curl -x` sends an absolute-form GET through the proxy;
#   2. forward mode: `curl -p -x` opens a CONNECT tunnel and speaks HTTP in it;
#   3. reverse mode, configured by a TOML file: four requests alternate
#      between the two upstreams (round-robin);
#   4. SIGTERM: the proxy shuts down and exits 0.
# Every wait has a limit, and every process is stopped on every way out.
#
# Run from the repository's root (cargo course verify sets CARGO, COURSE_ROOT,
# CARGO_TARGET_DIR and COURSE_WORK); it also works on its own:
#   bash solutions/12-web-proxy/checks/curl-proxy.sh
set -euo pipefail

cd "${COURSE_ROOT:-$(dirname "$0")/../../..}"
CARGO=${CARGO:-cargo}
WORK=${COURSE_WORK:-$(mktemp -d)}
mkdir -p "$WORK"

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

fail() {
    echo "FAILED: $*" >&2
    for log in "$WORK"/*.log; do
        echo "--- $log:" >&2
        tail -n 15 "$log" >&2
    done
    exit 1
}

# wait_for LOG PATTERN: prints the first match of the sed PATTERN in LOG.
wait_for() {
    local found=
    for _ in $(seq 100); do
        found=$(sed -n "$2" "$1" | head -n 1)
        [[ -n "$found" ]] && break
        sleep 0.1
    done
    [[ -n "$found" ]] || fail "nothing like $2 in $1 within 10 s"
    echo "$found"
}

# Build, then copy the program (the exercise has a binary of the same name).
exe=$("$CARGO" build -q -p solution-12 --features cli --bin web-proxy \
    --message-format=json |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[[ -x "$exe" ]] || fail "building web-proxy gave no program"
cp "$exe" "$WORK/web-proxy"

# Two upstreams on free ports (port 0: Python says which it got).
for name in one two; do
    mkdir -p "$WORK/$name"
    echo "$name" >"$WORK/$name/index.html"
    python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$WORK/$name" \
        >"$WORK/upstream-$name.log" 2>&1 &
    pids+=($!)
done
up1=$(wait_for "$WORK/upstream-one.log" 's/.* port \([0-9][0-9]*\).*/\1/p')
up2=$(wait_for "$WORK/upstream-two.log" 's/.* port \([0-9][0-9]*\).*/\1/p')

# 1 and 2: forward mode.
"$WORK/web-proxy" --mode forward --listen 127.0.0.1:0 >"$WORK/forward.log" 2>&1 &
pids+=($!)
fwd=$(wait_for "$WORK/forward.log" 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p')

got=$(curl -sS --max-time 10 -x "http://127.0.0.1:$fwd" "http://127.0.0.1:$up1/") ||
    fail "curl -x through the forward proxy failed"
[[ "$got" == one ]] || fail "curl -x: expected \"one\", got \"$got\""
grep -q "\"GET http://127.0.0.1:$up1/\" 200" "$WORK/forward.log" ||
    fail "the proxy did not log the absolute-form GET"

got=$(curl -sS --max-time 10 -p -x "http://127.0.0.1:$fwd" "http://127.0.0.1:$up2/") ||
    fail "curl -p -x (a CONNECT tunnel) failed"
[[ "$got" == two ]] || fail "curl -p -x: expected \"two\", got \"$got\""
wait_for "$WORK/forward.log" "/\"CONNECT 127.0.0.1:$up2\" 200/p" >/dev/null

# 3: reverse mode from a TOML file; Python answers 404 to /health, so the
# health check asks for /.
cat >"$WORK/reverse.toml" <<TOML
mode = "reverse"
listen = "127.0.0.1:0"
upstreams = ["127.0.0.1:$up1", "127.0.0.1:$up2"]
upstream_timeout_ms = 2000
health_interval_ms = 500
health_path = "/"
TOML
"$WORK/web-proxy" --config "$WORK/reverse.toml" >"$WORK/reverse.log" 2>&1 &
rev_pid=$!
pids+=($rev_pid)
rev=$(wait_for "$WORK/reverse.log" 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p')
answers=()
for _ in 1 2 3 4; do
    answers+=("$(curl -sS --max-time 10 "http://127.0.0.1:$rev/")") ||
        fail "curl through the reverse proxy failed"
done
seen="${answers[*]}"
[[ "$seen" == "one two one two" || "$seen" == "two one two one" ]] ||
    fail "reverse mode: expected the upstreams to alternate, got: $seen"
sleep 1.2  # two rounds of health checks: both upstreams stay in rotation
grep -q "out of rotation" "$WORK/reverse.log" && fail "a healthy upstream left the rotation"

# 4: SIGTERM, and the proxy ends by itself.
kill -TERM "$rev_pid"
status=0
timeout 10 tail --pid="$rev_pid" -f /dev/null || fail "the proxy did not stop within 10 s of SIGTERM"
wait "$rev_pid" || status=$?
[[ $status -eq 0 ]] || fail "the proxy exited with status $status after SIGTERM"

echo "curl: forward GET and CONNECT tunnel answered, reverse mode alternated ($seen), SIGTERM stopped the proxy"
