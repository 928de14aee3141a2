#!/usr/bin/env bash
# A larger fuzz campaign (issue 14): scenario mutants (narrowing casts, extreme finite values,
# long inputs, many events, the structural edits of tests/scenario_errors.rs) loaded and, when
# accepted and small, simulated; plus a tenth as many edge-list mutants. Prints the counts:
# cases, panics, hangs over 10 s, silent NaN/inf welfare (scenarios) or misread edge lists.
#
#   bash scripts/fuzz-campaign.sh [CASES] [SEED]      # default 10000 cases, seed 7
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZ_CASES="${1:-10000}" FUZZ_SEED="${2:-7}"
# Panics are caught and counted; their messages would drown the counts.
cargo test --release --test scenario_errors fuzz_campaign -- --ignored --nocapture 2>/dev/null |
    grep '^FUZZ'
