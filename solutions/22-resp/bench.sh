#!/usr/bin/env bash
# Parse throughput of a pipelined SET/GET stream: this solution's decoder
# and the redis-protocol crate's, side by side (min / median / max of 9
# runs each, GB/s). Builds with the `compare` feature, which the tests never
# compile. Run from anywhere:
#
#   solutions/22-resp/bench.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo=${CARGO:-cargo}
"$cargo" run -q --release -p solution-22 --features compare --example throughput
