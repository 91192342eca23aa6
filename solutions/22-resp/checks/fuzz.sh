#!/usr/bin/env bash
# A bounded fuzz run: random and mutated RESP for 10 seconds through
# decode (examples/fuzz.rs). Fails on a panic, on a result that depends on
# where the input was split, or on an allocation the input cannot justify.
set -euo pipefail
cargo=${CARGO:-cargo}
"$cargo" run -q --release -p solution-22 --example fuzz -- "${FUZZ_SECONDS:-10}"
