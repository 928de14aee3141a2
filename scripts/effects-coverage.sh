#!/usr/bin/env bash
# Coverage of the paired 95% effect interval on synthetic cases with a known effect
# (4000 repetitions × 8 replicates; tests/effects_coverage.rs). Prints the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --test effects_coverage -- --nocapture 2>&1 | grep -A3 "paired 95%"
