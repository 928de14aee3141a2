#!/usr/bin/env bash
# bench-10m (issue 5): the default world at 10 million consumers and 1 million merchants,
# mean degree 20, 365 steps, on every core unless --threads is given. Prints consumer-steps
# per second, wall time per phase and peak RSS; takes about 5 minutes on a 2-core machine.
#   bash scripts/bench-10m.sh [--threads K]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
exec target/release/gardengate bench --consumers 10000000 --merchants 1000000 --steps 365 "$@"
