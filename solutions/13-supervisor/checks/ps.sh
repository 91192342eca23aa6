#!/usr/bin/env bash
# The reference supervisor, run as a program, seen by `ps` and `pgrep`.
#
# Builds the `supervisor-reference` program, starts it with two programs
# (one of which starts a child of its own), and checks in the process table
# that each program leads its own process group and that the child is in its
# parent's group. Then sends SIGTERM to the supervisor and checks that it
# exits with status 0 and that nothing it started is left: no program, no
# grandchild, no zombie.
#
# Run from the repository's root (cargo course verify sets CARGO, COURSE_ROOT,
# CARGO_TARGET_DIR and COURSE_WORK); it also works on its own:
#   bash solutions/13-supervisor/checks/ps.sh
set -euo pipefail

cd "${COURSE_ROOT:-$(dirname "$0")/../../..}"
CARGO=${CARGO:-cargo}
WORK=${COURSE_WORK:-$(mktemp -d)}
mkdir -p "$WORK"

# A marker no other process has: the scripts carry it in their command line,
# and the grandchild sleeps for a unique number of seconds.
marker="ch13-check-$$"
long_sleep="1013.$$"

supervisor=
groups=()
cleanup() {
    for g in "${groups[@]}"; do kill -KILL -- "-$g" 2>/dev/null || true; done
    if [[ -n "$supervisor" ]]; then
        kill -KILL "$supervisor" 2>/dev/null || true
        wait "$supervisor" 2>/dev/null || true
    fi
}
trap cleanup EXIT

fail() {
    echo "FAILED: $*" >&2
    echo "--- the supervisor's output:" >&2
    tail -n 20 "$WORK/out.log" "$WORK/err.log" >&2 || true
    exit 1
}

exe=$("$CARGO" build -q -p solution-13 --bin supervisor-reference --message-format=json |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[[ -x "$exe" ]] || fail "building supervisor-reference gave no program"

cat >"$WORK/supervisor.toml" <<EOF
[policy]
grace_ms = 500

[[program]]
name = "web"
command = "sh"
args = ["-c", ": $marker; echo web up; sleep $long_sleep & wait"]

[[program]]
name = "ticker"
command = "sh"
args = ["-c", ": $marker; while :; do echo tick; sleep 0.2; done"]
EOF

"$exe" --config "$WORK/supervisor.toml" >"$WORK/out.log" 2>"$WORK/err.log" &
supervisor=$!

pid_of() { sed -n "s/^supervisor: $1 started, pid \([0-9]*\)$/\1/p" "$WORK/err.log" | head -n 1; }
web= ticker=
for _ in $(seq 100); do
    web=$(pid_of web) ticker=$(pid_of ticker)
    if [[ -n "$web" && -n "$ticker" ]] && grep -q '^\[web\] web up$' "$WORK/out.log" &&
        pgrep -f "^sleep $long_sleep" >/dev/null; then
        break
    fi
    kill -0 "$supervisor" 2>/dev/null || fail "the supervisor exited early"
    sleep 0.1
done
[[ -n "$web" && -n "$ticker" ]] || fail "the programs did not start within 10 s"
groups=("$web" "$ticker")
grandchild=$(pgrep -f "^sleep $long_sleep" | head -n 1)
[[ -n "$grandchild" ]] || fail "the web program's background sleep did not start"

echo "--- ps -o pid,ppid,pgid,stat,cmd for the supervisor and what it started:"
ps -o pid,ppid,pgid,stat,cmd -p "$supervisor,$web,$ticker,$grandchild"

pgid() { ps -o pgid= -p "$1" | tr -d ' '; }
[[ $(pgid "$web") == "$web" ]] || fail "web (pid $web) does not lead its own process group"
[[ $(pgid "$ticker") == "$ticker" ]] || fail "ticker (pid $ticker) does not lead its own process group"
[[ $(pgid "$grandchild") == "$web" ]] ||
    fail "web's child (pid $grandchild) is not in web's group $web"
[[ $(pgid "$supervisor") != "$web" ]] || fail "the supervisor is in web's group"
grep -q '^\[ticker\] tick$' "$WORK/out.log" || fail "no \"[ticker] tick\" line on stdout"

kill -TERM "$supervisor"
status=0
for _ in $(seq 50); do
    kill -0 "$supervisor" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$supervisor" 2>/dev/null && fail "the supervisor was still running 5 s after SIGTERM"
wait "$supervisor" || status=$?
supervisor=
[[ $status -eq 0 ]] || fail "the supervisor exited with status $status after SIGTERM, not 0"

# Everything got its signal before the supervisor exited; dying and being
# reaped takes a moment more. The grandchild, orphaned when web died, is
# reaped by init (PID 1): until then it shows as a zombie (Z), so poll.
left= zombies=
for _ in $(seq 30); do
    left=$(pgrep -f "$marker|^sleep $long_sleep" || true)
    zombies=$(ps -eo pid=,stat= | awk -v w="$web" -v t="$ticker" -v g="$grandchild" \
        '$2 ~ /^Z/ && ($1 == w || $1 == t || $1 == g) { print $1 }')
    [[ -z "$left" && -z "$zombies" ]] && break
    sleep 0.1
done
if [[ -n "$left" ]]; then
    ps -o pid,ppid,pgid,stat,cmd -p "$(echo "$left" | paste -sd,)" >&2 || true
    fail "processes left 3 s after the supervisor stopped: $left"
fi
[[ -z "$zombies" ]] || fail "zombies left 3 s after the supervisor stopped: $zombies"
grep -q '^supervisor: stopped$' "$WORK/err.log" || fail "the supervisor did not say \"stopped\""

echo "ps/pgrep: web ($web, with child $grandchild in its group) and ticker ($ticker) led their own groups; after SIGTERM to the supervisor nothing was left"
