#!/usr/bin/env bash
# A real client, curl, talks to the reference solution of exercise 11.
#
# Builds the serve-11 program, starts it on a free loopback port serving a
# fresh directory, and checks with curl: GET / and GET /files/..., POST /echo
# with --data and with a chunked upload, HEAD (-I), a refused path traversal
# (--path-as-is), a 404, and keep-alive (two URLs in one curl run must share
# one connection). Any mismatch fails with what curl saw. Every wait has a
# time limit, and the server is stopped on every way out of this script.
#
# Run from the repository's root (cargo course verify sets CARGO, COURSE_ROOT,
# CARGO_TARGET_DIR and COURSE_WORK); it also works on its own:
#   bash solutions/11-http-server/checks/curl.sh
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

exe=$("$CARGO" build -q -p solution-11 --features serve --bin serve-11 \
    --message-format=json |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[[ -x "$exe" ]] || fail "building serve-11 gave no program"
cp "$exe" "$WORK/serve-11"

# The served directory, and a file next to it that no request may reach.
mkdir -p "$WORK/root/docs"
printf 'hello, curl\n' >"$WORK/root/docs/hello.txt"
printf 'TOP SECRET\n' >"$WORK/secret.txt"
head -c 100000 /dev/zero | tr '\0' 'x' >"$WORK/upload.bin"

"$WORK/serve-11" --addr 127.0.0.1:0 --root "$WORK/root" >"$WORK/server.log" 2>&1 &
server=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$WORK/server.log" | head -n 1)
    [[ -n "$port" ]] && break
    kill -0 "$server" 2>/dev/null || fail "the server exited before it listened"
    sleep 0.1
done
[[ -n "$port" ]] || fail "the server did not say \"listening on\" within 10 s"
base="http://127.0.0.1:$port"
CURL=(curl --silent --show-error --max-time 10)

# expect NAME EXPECTED ACTUAL
expect() {
    [[ "$2" == "$3" ]] || fail "$1: expected $(printf %q "$2"), curl got $(printf %q "$3")"
}

# GET / and a file.
out=$("${CURL[@]}" -w '|%{http_code}' "$base/")
expect "GET /" $'Hello from exercise 11!\n|200' "$out"
out=$("${CURL[@]}" -w '|%{http_code}|%{content_type}' "$base/files/docs/hello.txt")
expect "GET /files/docs/hello.txt" $'hello, curl\n|200|text/plain; charset=utf-8' "$out"

# POST with --data (Content-Length), then a chunked upload of 100,000 bytes.
out=$("${CURL[@]}" -w '|%{http_code}' --data 'posted by curl' "$base/echo")
expect "POST /echo --data" 'posted by curl|200' "$out"
"${CURL[@]}" -v -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/upload.bin" \
    -o "$WORK/echoed.bin" "$base/echo" 2>"$WORK/chunked.err" ||
    fail "the chunked upload failed: $(tail -n 5 "$WORK/chunked.err")"
grep -qi '^> Transfer-Encoding: chunked' "$WORK/chunked.err" ||
    fail "curl did not send a chunked body (its -v output has no 'Transfer-Encoding: chunked')"
cmp -s "$WORK/upload.bin" "$WORK/echoed.bin" ||
    fail "POST /echo with a chunked body of 100000 bytes came back as $(wc -c <"$WORK/echoed.bin") different bytes"

# HEAD: the headers of GET, no body.
out=$("${CURL[@]}" -I "$base/files/docs/hello.txt" | tr -d '\r')
grep -q '^HTTP/1.1 200 OK$' <<<"$out" || fail "HEAD: no 200 status line in: $out"
grep -qi '^Content-Length: 12$' <<<"$out" || fail "HEAD: Content-Length is not 12 in: $out"
grep -qi '^Date: [A-Z][a-z][a-z], [0-9][0-9] [A-Z][a-z][a-z] [0-9]\{4\} [0-9:]\{8\} GMT$' <<<"$out" ||
    fail "HEAD: no Date in IMF-fixdate format in: $out"

# Refused and missing paths.
out=$("${CURL[@]}" --path-as-is -o /dev/null -w '%{http_code}' "$base/files/../secret.txt")
expect "GET /files/../secret.txt (--path-as-is)" 400 "$out"
out=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$base/files/%2e%2e/secret.txt")
expect "GET /files/%2e%2e/secret.txt" 400 "$out"
out=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$base/nowhere")
expect "GET /nowhere" 404 "$out"

# Keep-alive: two URLs in one curl run go over one connection.
"${CURL[@]}" -v -o /dev/null -o /dev/null "$base/" "$base/files/docs/hello.txt" 2>"$WORK/reuse.err" ||
    fail "curl with two URLs failed: $(tail -n 5 "$WORK/reuse.err")"
grep -Eqi 're-?using existing connection' "$WORK/reuse.err" ||
    fail "curl opened a new connection for the second URL (keep-alive not honoured): $(grep '^\*' "$WORK/reuse.err" | head -n 20)"
connects=$(grep -c '^\* Connected to' "$WORK/reuse.err" || true)
expect "connections opened for two URLs" 1 "$connects"

kill -0 "$server" 2>/dev/null || fail "the server exited during the checks"
echo "curl: GET, POST (--data and chunked), HEAD, a refused traversal, 404 and keep-alive reuse all as expected ($(curl --version | head -n 1 | cut -d' ' -f1-2))"
