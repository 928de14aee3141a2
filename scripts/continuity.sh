#!/usr/bin/env bash
# Continuity of the china-2021 headline in WeChat Pay's convenience (issue: no knife edge).
#
# Runs experiments/china-2021.toml with WeChat Pay's convenience b at 0.19 and 0.21 (common
# random numbers, R replicates each), under the v2 rules as the scenario sets them (Alibaba's
# apps pre-select Alipay, primary_switch 0.2, wallet_scale 0.1) and under the v1 rules (no
# checkout defaults, primary_switch 1, wallet_scale 0), and prints Alipay's payment-value share
# over the last 30 days of 2024 (mean ± 95% CI over replicates) and the gap between the two b.
#
#   scripts/continuity.sh [REPLICATES] [CONSUMERS]     (defaults: 4 replicates, 100000)
#   BIN=path/to/gardengate scripts/continuity.sh ...   (another binary)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-4}
consumers=${2:-100000}
bin=${BIN:-target/release/gardengate}
[ -x "$bin" ] || cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sweep() {
  cat <<TOML

[sweep]
replicates = $reps
common_random_numbers = true

[[sweep.param]]
path = "wallets.wechat_pay.convenience"
values = [0.19, 0.21]
TOML
}

# The scenario as shipped (v2), and the same with the v1 checkout rules.
sed -e "s/^summary_last_steps = .*/summary_last_steps = 30/" \
    -e "s/^count = 100000/count = $consumers/" experiments/china-2021.toml > "$work/v2.toml"
sed -e '/^default_wallet = /d' -e '/^default_pull = /d' \
    -e 's/^primary_switch = .*/primary_switch = 1.0/' -e 's/^wallet_scale = .*/wallet_scale = 0.0/' \
    "$work/v2.toml" > "$work/v1.toml"
for v in v1 v2; do
  sweep >> "$work/$v.toml"
  # The data file travels with the scenario's folder layout (the header names it only).
  "$bin" run "$work/$v.toml" --out "$work/out-$v" --quiet --no-charts
done

python3 - "$work" <<'PY'
import csv, sys
work = sys.argv[1]
print("Alipay payment-value share, last 30 days of 2024 (mean ± 95% CI over replicates)")
print(f"{'rules':<6} {'b_wechat_pay = 0.19':>22} {'b_wechat_pay = 0.21':>22} {'gap (points)':>14}")
for v in ("v1", "v2"):
    rows = list(csv.DictReader(open(f"{work}/out-{v}/summary.csv")))
    vals = {}
    for r in rows:
        b = [r[k] for k in r if k.endswith("convenience")][0]
        vals[float(b)] = (float(r["wallet_share__alipay_mean"]), float(r["wallet_share__alipay_ci95"]))
    lo, hi = vals[0.19], vals[0.21]
    cell = lambda x: f"{100*x[0]:6.1f} % ± {100*x[1]:4.1f}"
    print(f"{v:<6} {cell(lo):>22} {cell(hi):>22} {100*(lo[0]-hi[0]):>14.1f}")
PY
