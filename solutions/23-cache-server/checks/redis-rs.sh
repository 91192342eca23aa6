#!/usr/bin/env bash
# A real client library, redis-rs (the `redis` crate, synchronous
# connection), against the reference solution of exercise 23: typed
# commands, a pipeline of 400 commands, RESP3 after HELLO 3, and a password
# in the URL (tests/redis_client.rs). A check rather than an exercise test,
# so that the learner's first build does not compile redis-rs.
set -euo pipefail

cd "${COURSE_ROOT:-$(dirname "$0")/../../..}"
CARGO=${CARGO:-cargo}
out=$("$CARGO" test -q -p solution-23 --features redis-client --test redis_client 2>&1) || {
    echo "$out" | tail -n 40 >&2
    echo "FAILED: redis-rs against the server" >&2
    exit 1
}
result=$(echo "$out" | grep -E '^test result' | tail -n 1)
echo "redis-rs $(sed -n 's/^redis = { version = "\([^"]*\)".*/\1/p' Cargo.toml): $result"
