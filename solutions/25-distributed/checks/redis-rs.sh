#!/usr/bin/env bash
# A real cluster client library, redis-rs (the `redis` crate with its
# `cluster` feature, synchronous connection), against a 3-node cluster of
# the reference solution of exercise 25: it reads CLUSTER SLOTS from one
# seed node, then sets and gets 300 keys spread over the three nodes, and a
# one-slot MSET/MGET (tests/redis_cluster.rs). A check rather than an
# exercise test, so that the learner's first build does not compile redis-rs.
set -euo pipefail

cd "${COURSE_ROOT:-$(dirname "$0")/../../..}"
CARGO=${CARGO:-cargo}
out=$("$CARGO" test -q -p solution-25 --features redis-client --test redis_cluster 2>&1) || {
    echo "$out" | tail -n 40 >&2
    echo "FAILED: redis-rs's cluster client against the cluster" >&2
    exit 1
}
result=$(echo "$out" | grep -E '^test result' | tail -n 1)
echo "redis-rs $(sed -n 's/^redis = { version = "\([^"]*\)".*/\1/p' Cargo.toml) (cluster client): $result"
