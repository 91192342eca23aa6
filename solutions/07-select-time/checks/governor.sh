#!/bin/sh
# The exercise's token bucket and governor make the same decision for every
# request of the same burst pattern (benches/limiter.rs). Runs the bench in
# criterion's test mode: the comparison, then each benchmark once, in a
# debug build (the timings are `cargo bench`'s business, not this check's).
set -eu
out=$("${CARGO:-cargo}" test -q -p solution-07 --bench limiter 2>&1) || {
    printf '%s\n' "$out"
    exit 1
}
printf '%s\n' "$out" | grep -q "both limiters agree on every one" || {
    printf '%s\n' "$out"
    echo "the comparison with governor did not run"
    exit 1
}
printf '%s\n' "$out" | grep "both limiters agree"
