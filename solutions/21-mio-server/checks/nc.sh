#!/usr/bin/env bash
# A real `nc` client talks to the reference solution of exercise 21.
#
# Builds the `serve` example, starts it on a free loopback port, sends three
# lines with `nc` (a plain line, /upper, /quit), and expects exactly
# "hello from nc\nSHOUT\nBYE\n" back, with nc ending by itself because the
# server closes the connection after BYE. Every wait has a time limit, and
# the server is stopped on every way out of this script.
#
# Run from the repository's root (cargo course verify sets CARGO, COURSE_ROOT,
# CARGO_TARGET_DIR and COURSE_WORK); it also works on its own:
#   bash solutions/21-mio-server/checks/nc.sh
set -euo pipefail

cd "${COURSE_ROOT:-$(dirname "$0")/../../..}"
CARGO=${CARGO:-cargo}
WORK=${COURSE_WORK:-$(mktemp -d)}
mkdir -p "$WORK"

server=
cleanup() {
    if [[ -n "$server" ]]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
}
trap cleanup EXIT

fail() {
    echo "FAILED: $*" >&2
    if [[ -f "$WORK/server.log" ]]; then
        echo "--- the server's output:" >&2
        tail -n 20 "$WORK/server.log" >&2
    fi
    exit 1
}

# Build, then copy the program: other packages have examples named `serve`
# too, and a build of theirs would replace target/debug/examples/serve.
exe=$("$CARGO" build -q -p solution-21 --features examples --example serve \
    --message-format=json |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[[ -x "$exe" ]] || fail "building the serve example gave no program"
cp "$exe" "$WORK/serve"

# Port 0: the system picks a free port, and the server says which.
"$WORK/serve" 0 >"$WORK/server.log" 2>&1 &
server=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$WORK/server.log" | head -n 1)
    [[ -n "$port" ]] && break
    kill -0 "$server" 2>/dev/null || fail "the server exited before it listened"
    sleep 0.1
done
[[ -n "$port" ]] || fail "the server did not say \"listening on\" within 10 s"

# nc sends the lines and prints what comes back; it ends when the server
# closes the connection after BYE (timeout stops it if the server does not).
status=0
printf 'hello from nc\n/upper shout\n/quit\n' |
    timeout 10 nc 127.0.0.1 "$port" >"$WORK/nc.out" 2>"$WORK/nc.err" || status=$?
if [[ $status -eq 124 ]]; then
    fail "nc was still connected 10 s after /quit: the server did not close the connection (nc received: $(od -c "$WORK/nc.out" | head -n 3))"
elif [[ $status -ne 0 ]]; then
    fail "nc failed with status $status: $(cat "$WORK/nc.err")"
fi

expected=$'hello from nc\nSHOUT\nBYE\n'
actual=$(cat "$WORK/nc.out"; echo x)
actual=${actual%x}
if [[ "$actual" != "$expected" ]]; then
    fail "expected \"hello from nc\\nSHOUT\\nBYE\\n\" from the server, nc received: $(od -c "$WORK/nc.out" | head -n 5)"
fi
kill -0 "$server" 2>/dev/null || fail "the server exited after the client left"

echo "nc: the mio server answered \"hello from nc\", \"SHOUT\" and \"BYE\", then closed the connection"
