#!/usr/bin/env bash
# Runs exercise 16's tests against the reference solution under Miri, which
# checks every memory access of the interpreted program: the counting
# allocator's `unsafe impl GlobalAlloc`, the thread-local bookkeeping, the
# slab and the bumpalo arena. The tests shrink their inputs under `cfg(miri)`.
#
# Needs the nightly toolchain with Miri:
#   rustup toolchain install nightly --component miri rust-src
# (or `rustup component add --toolchain nightly miri rust-src`). The first run
# also builds Miri's sysroot, about a minute and a half.
#
# Run from the repository's root (cargo course verify sets CARGO_TARGET_DIR);
# it also works on its own:
#   bash solutions/16-memory/checks/miri.sh
set -euo pipefail

cd "${COURSE_ROOT:-$(dirname "$0")/../../..}"

install="rustup component add --toolchain nightly miri rust-src"
if ! cargo +nightly miri --version >/dev/null 2>&1; then
    if [[ -n "${CI:-}" ]]; then
        echo "FAILED: Miri is not installed ($install)" >&2
        exit 1
    fi
    echo "skipped: Miri is not installed ($install)"
    exit 0
fi

# `cargo +nightly`, not $CARGO: Miri is a nightly component.
cargo +nightly miri setup >/dev/null 2>&1
output=$(cargo +nightly miri test -q -p solution-16 2>&1) || {
    echo "$output" | tail -n 40 >&2
    echo "FAILED: Miri reported undefined behaviour or a failing test" >&2
    exit 1
}
echo "$output" | grep -E '^test result' | tail -n 1 |
    sed 's/^/miri: solution-16: /'
