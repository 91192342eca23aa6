# Shared by the checks and bench.sh of chapter 23 (sourced, not run).
#
# build_server: builds the reference server (release, with the features in
#   SERVER_FEATURES, default `serve`) and sets `server_exe`.
# start_server NAME ARGS...: starts it on a free loopback port in the
#   background, waits for its "listening on" line and sets `port`; the
#   server is stopped when the script exits, however it exits.

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
        [[ -f "$log" ]] || continue
        echo "--- $log:" >&2
        tail -n 20 "$log" >&2
    done
    exit 1
}

build_server() {
    server_exe=$("$CARGO" build -q --release -p solution-23 --features "${SERVER_FEATURES:-serve}" \
        --bin cache-server-23-reference --message-format=json |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
    [[ -x "$server_exe" ]] || fail "building cache-server-23-reference gave no program"
}

start_server() {
    local name=$1 log="$WORK/$1.log"
    shift
    : >"$log" # exists before the background job opens it, for the sed below
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
