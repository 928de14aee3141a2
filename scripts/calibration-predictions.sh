#!/usr/bin/env bash
# Predictions of the calibrated China scenario for 2021-2024 (docs/CALIBRATION.md): runs
# experiments/china-2021-calibrated.toml with R replicates and prints, per year, the mean over
# replicates of each run's yearly mean of a few metrics, with the range over replicates.
#
# Usage: scripts/calibration-predictions.sh [R]      (default 4 replicates)
# Needs a release build and python3 with pandas + pyarrow.
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-4}
BIN=${BIN:-target/release/gardengate}
OUT=${OUT:-output/china-2021-calibrated}
"$BIN" run experiments/china-2021-calibrated.toml --replicates "$R" --out "$OUT" --quiet --no-charts --force
python3 - "$OUT/steps.parquet" <<'PY'
import sys
import pandas as pd
s = pd.read_parquet(sys.argv[1])
s["year"] = pd.to_datetime(s["date"]).dt.year
s["tp"] = s["wallet_value__alipay"] + s["wallet_value__wechat_pay"] + s["wallet_value__douyin_pay"]
rows = []
for (run, year), g in s.groupby(["run_id", "year"], sort=True):
    rows.append({
        "run": run, "year": year,
        "alipay_share_3p": g["wallet_value__alipay"].sum() / g["tp"].sum(),
        "wechat_pay_share_3p": g["wallet_value__wechat_pay"].sum() / g["tp"].sum(),
        "alipay_holders": g["wallet_holders__alipay"].mean(),
        "wechat_pay_holders": g["wallet_holders__wechat_pay"].mean(),
        "cross_eco_gmv_share": g["gmv_cross_eco"].sum() / g["gmv"].sum(),
        "abandoned_per_trip": g["abandoned"].sum() / g["trips"].sum(),
        "consumer_surplus_per_day": g["consumer_surplus"].mean(),
    })
y = pd.DataFrame(rows)
cols = [c for c in y.columns if c not in ("run", "year")]
print("| year | " + " | ".join(cols) + " |")
print("|---|" + "---|" * len(cols))
for year, g in y.groupby("year"):
    cells = []
    for c in cols:
        m, lo, hi = g[c].mean(), g[c].min(), g[c].max()
        fmt = "{:.0f}" if abs(m) > 100 else "{:.3f}"
        cells.append(f"{fmt.format(m)} [{fmt.format(lo)}, {fmt.format(hi)}]")
    print(f"| {year} | " + " | ".join(cells) + " |")
PY
