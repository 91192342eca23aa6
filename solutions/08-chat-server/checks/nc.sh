#!/usr/bin/env bash
# Two real `nc` clients chat through the reference solution of exercise 08.
#
# Builds the `serve` example, starts it on a free loopback port, connects two
# `nc` clients (ann and bob) to one room, and checks that ann receives bob's
# message, that /who lists both, that a new message of the day typed on the
# server's standard input reaches both, and that both receive the goodbye
# when that input ends. Every wait has a time limit, and the server and the
# clients are stopped on every way out of this script.
#
# Run from the repository's root (cargo course verify sets CARGO, COURSE_ROOT,
# CARGO_TARGET_DIR and COURSE_WORK); it also works on its own:
#   bash solutions/08-chat-server/checks/nc.sh
set -euo pipefail

cd "${COURSE_ROOT:-$(dirname "$0")/../../..}"
CARGO=${CARGO:-cargo}
WORK=${COURSE_WORK:-$(mktemp -d)}
mkdir -p "$WORK"

pids=()
cleanup() {
    exec 3>&- 4>&- 5>&- 2>/dev/null || true
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap cleanup EXIT

fail() {
    echo "FAILED: $*" >&2
    for f in server.log ann.out bob.out; do
        [[ -f "$WORK/$f" ]] && { echo "--- $f:" >&2; tail -n 20 "$WORK/$f" >&2; }
    done
    exit 1
}

# Waits up to 10 s for a line in a file that contains the text.
wait_for() {
    local file=$1 text=$2 what=$3
    for _ in $(seq 100); do
        grep -qF -- "$text" "$file" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "$what: no line with \"$text\" in $(basename "$file") after 10 s"
}

# Build, then copy the program: other packages have examples named `serve` too.
exe=$("$CARGO" build -q -p solution-08 --features examples --example serve \
    --message-format=json | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[[ -x "$exe" ]] || fail "building the serve example gave no program"
cp "$exe" "$WORK/serve"

# The server's standard input is a FIFO that this script holds open (fd 5):
# a line on it changes the settings, closing it shuts the server down.
mkfifo "$WORK/server.in" "$WORK/ann.in" "$WORK/bob.in"
"$WORK/serve" 0 <"$WORK/server.in" >"$WORK/server.log" 2>&1 &
pids+=($!)
server=$!
exec 5>"$WORK/server.in"
wait_for "$WORK/server.log" "listening on" "the server did not start"
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/server.log" | head -n 1)
[[ -n "$port" ]] || fail "no port in the server's log"

# Each nc gets none of this script's FIFO ends (3, 4, 5): a copy of fd 5 in a
# client would keep the server's input open after the script closes it.
nc 127.0.0.1 "$port" <"$WORK/ann.in" >"$WORK/ann.out" 3>&- 4>&- 5>&- &
pids+=($!)
exec 3>"$WORK/ann.in"
printf '/nick ann\n/join lobby\n' >&3
wait_for "$WORK/ann.out" "OK joined lobby" "ann's /join"

nc 127.0.0.1 "$port" <"$WORK/bob.in" >"$WORK/bob.out" 3>&- 4>&- 5>&- &
pids+=($!)
exec 4>"$WORK/bob.in"
printf '/nick bob\n/join lobby\n' >&4
wait_for "$WORK/bob.out" "OK joined lobby" "bob's /join"

printf 'hello from bob\n' >&4
wait_for "$WORK/ann.out" "[lobby] bob: hello from bob" "bob's message to ann"
printf '/who\n' >&3
wait_for "$WORK/ann.out" "OK who ann bob" "ann's /who"

printf 'motd fresh news\n' >&5
wait_for "$WORK/ann.out" "* motd: fresh news" "the new motd at ann's"
wait_for "$WORK/bob.out" "* motd: fresh news" "the new motd at bob's"

# The end of the server's input: a graceful shutdown.
exec 5>&-
wait_for "$WORK/ann.out" "* server shutting down" "ann's goodbye"
wait_for "$WORK/bob.out" "* server shutting down" "bob's goodbye"
for _ in $(seq 100); do
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$server" 2>/dev/null; then
    fail "the server was still running 10 s after its input ended"
fi
wait "$server" || fail "the server exited with status $?"

echo "nc: ann got bob's message, /who listed both, the new motd reached both, and both got the goodbye"
