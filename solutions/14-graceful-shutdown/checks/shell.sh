#!/usr/bin/env bash
# The reference solution of exercise 14 driven by the tools an operator uses:
#
# 1. `nc` holds a connection open while the shell's `kill -HUP` reloads the
#    configuration: the same connection then answers with the new greeting;
# 2. `kill -TERM` while `nc` has a request in flight: the request finishes,
#    the connection closes with "shutting down", and the server exits 0;
# 3. `timeout -s TERM 1 server ...` stops an idle server the way a service
#    manager does (with --preserve-status, timeout returns the server's own
#    exit status: 0 for a graceful stop);
# 4. the chapter's examples (signal-hook; CancellationToken + TaskTracker)
#    run and print what they should.
#
# Every wait has a time limit, and the server and nc are stopped on every
# way out of this script. Run from the repository's root (cargo course
# verify sets CARGO, COURSE_ROOT, CARGO_TARGET_DIR and COURSE_WORK); it also
# works on its own: bash solutions/14-graceful-shutdown/checks/shell.sh
set -euo pipefail

cd "${COURSE_ROOT:-$(dirname "$0")/../../..}"
CARGO=${CARGO:-cargo}
WORK=${COURSE_WORK:-$(mktemp -d)}
mkdir -p "$WORK"

server=
client=
cleanup() {
    exec 3>&- 2>/dev/null || true
    for pid in $client $server; do
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

fail() {
    echo "FAILED: $*" >&2
    for log in server.err nc.out; do
        if [[ -f "$WORK/$log" ]]; then
            echo "--- $log:" >&2
            tail -n 20 "$WORK/$log" >&2
        fi
    done
    exit 1
}

# wait_for FILE TEXT: until FILE has a line equal to TEXT (5 s at most).
wait_for() {
    for _ in $(seq 50); do
        grep -qxF "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# Build, then copy the programs out of the shared target directory.
build() {
    "$CARGO" build -q -p solution-14 "$@" --message-format=json |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1
}
exe=$(build --bin solution-14)
[[ -x "$exe" ]] || fail "building the server gave no program"
cp "$exe" "$WORK/server"
for name in signal_hook drain; do
    example=$(build --example "$name")
    [[ -x "$example" ]] || fail "building the $name example gave no program"
    cp "$example" "$WORK/$name"
done

start_server() {
    "$WORK/server" "$WORK/server.conf" "$@" >"$WORK/server.out" 2>"$WORK/server.err" &
    server=$!
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$WORK/server.out")
        [[ -n "$port" ]] && return 0
        kill -0 "$server" 2>/dev/null || fail "the server exited before it listened"
        sleep 0.1
    done
    fail "the server did not print \"listening on\" within 10 s"
}

echo "greeting = hello from the first config" >"$WORK/server.conf"
start_server --drain-timeout-ms 5000

# nc reads its input from a FIFO that this script keeps open on fd 3, so the
# connection stays open between the lines we send.
rm -f "$WORK/nc.in"
mkfifo "$WORK/nc.in"
timeout 30 nc 127.0.0.1 "$port" <"$WORK/nc.in" >"$WORK/nc.out" &
client=$!
exec 3>"$WORK/nc.in"

echo config >&3
wait_for "$WORK/nc.out" "greeting hello from the first config" ||
    fail "nc did not get the first greeting"

# 1. Reload with SIGHUP from the shell; the connection stays open.
echo "greeting = hello after kill -HUP" >"$WORK/server.conf"
kill -HUP "$server"
reloaded=
for _ in $(seq 25); do
    echo config >&3
    sleep 0.2
    if grep -qxF "greeting hello after kill -HUP" "$WORK/nc.out"; then
        reloaded=yes
        break
    fi
done
[[ -n "$reloaded" ]] || fail "after kill -HUP the open connection still answers the old greeting"
kill -0 "$server" 2>/dev/null || fail "kill -HUP ended the server"

# 2. SIGTERM with a request in flight.
echo "work 800" >&3
wait_for "$WORK/nc.out" "working 800" || fail "no \"working 800\" for \"work 800\""
kill -TERM "$server"
wait_for "$WORK/nc.out" "done 800" ||
    fail "the request in flight did not finish after kill -TERM"
wait_for "$WORK/nc.out" "shutting down" ||
    fail "the connection was not told \"shutting down\" after its request"
status=0
wait "$server" || status=$?
server=
[[ $status -eq 0 ]] || fail "after kill -TERM the server exited with $status, expected 0"
exec 3>&-
wait "$client" 2>/dev/null || true
client=

# 3. timeout(1) stops an idle server with SIGTERM, as a service manager does.
status=0
timeout --preserve-status -s TERM 1 \
    "$WORK/server" "$WORK/server.conf" >"$WORK/server.out" 2>"$WORK/server.err" || status=$?
[[ $status -eq 0 ]] ||
    fail "timeout -s TERM: the server exited with $status, expected a graceful 0"
grep -q "stopped: Drained" "$WORK/server.err" ||
    fail "timeout -s TERM: the server did not report a drained stop"

# 4. The chapter's examples.
"$WORK/signal_hook" >"$WORK/signal_hook.out" 2>&1 || fail "the signal_hook example failed"
grep -q "^SIGUSR1: the handler wrote 'X'" "$WORK/signal_hook.out" &&
    grep -q "^SIGTERM: the flag is set" "$WORK/signal_hook.out" ||
    fail "the signal_hook example printed: $(cat "$WORK/signal_hook.out")"
timeout 10 "$WORK/drain" >"$WORK/drain.out" 2>&1 || fail "the drain example failed"
grep -q "^connection 2: closed" "$WORK/drain.out" &&
    grep -q "^deadline after .*1 connection(s) still busy" "$WORK/drain.out" ||
    fail "the drain example printed: $(cat "$WORK/drain.out")"

echo "kill -HUP reloaded under an open nc connection; kill -TERM let \"work 800\" finish (exit 0); timeout -s TERM stopped it gracefully; signal_hook and drain examples ok"
