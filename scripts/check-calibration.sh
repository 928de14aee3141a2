#!/usr/bin/env bash
# Calibration of `gardengate check --mode stat` against the committed CI baseline:
#
#   * false-alarm rate: experiments/ci.toml run with N other master seeds (same model) and
#     checked against experiments/baselines/ci; every exit 1 is a false alarm. The rate
#     should be at most alpha (Holm controls the family-wise error rate).
#   * power: the same N seed sets with one parameter changed (policy.tau 0.2 -> 0.3 by
#     default); the fraction of exit 1.
#
# Usage: scripts/check-calibration.sh [N]           (N seed sets, default 50; seeds 1, 2, ...
#                                                    skipping ci.toml's own seed, which would
#                                                    reproduce the baseline bit for bit)
# Environment: ALPHAS ("0.01 0.05"), TAU (0.3), SET ("section.key=value": change that key
#              instead of policy.tau, e.g. SET=revision.switch_cost=2.0),
#              PAIRED=1 (power of the paired test: each changed run is checked against a
#              baseline run of the unchanged scenario with the same seed, made per seed set;
#              the false-alarm runs then repeat the baseline bit for bit and never alarm),
#              BIN (target/release/gardengate),
#              SCENARIO (experiments/ci.toml), BASELINE (experiments/baselines/ci),
#              KEEP=dir (keep the per-check JSON reports there).
# Needs a release build (cargo build --release) and python3 (standard library only).
# Takes N × 2 runs of the scenario (about 1.5–3 s each on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-50}
ALPHAS=${ALPHAS:-"0.01 0.05"}
TAU=${TAU:-0.3}
BIN=${BIN:-target/release/gardengate}
SCENARIO=${SCENARIO:-experiments/ci.toml}
BASELINE=${BASELINE:-experiments/baselines/ci}

[[ -x $BIN ]] || { echo "error: $BIN not found; run: cargo build --release" >&2; exit 2; }
[[ -f $BASELINE/steps.parquet ]] || { echo "error: no baseline in $BASELINE" >&2; exit 2; }
command -v python3 >/dev/null || { echo "error: python3 is needed for the summary" >&2; exit 2; }
[[ $N =~ ^[0-9]+$ && $N -ge 1 ]] || { echo "error: N must be a positive integer, got '$N'" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
reports=${KEEP:-$tmp/reports}
mkdir -p "$reports"

# The changed scenario: policy.tau = $TAU in the [policy] table (created if absent), same name;
# or, with SET, a file that extends the scenario and sets that key.
alt=$tmp/$(basename "$SCENARIO" .toml)-tau.toml
if [[ -n ${SET:-} ]]; then
  key=${SET%%=*}; val=${SET#*=}
  printf 'extends = "%s"\n[%s]\n%s = %s\n' "$(realpath "$SCENARIO")" "${key%.*}" "${key##*.}" "$val" >"$alt"
else
awk -v tau="$TAU" '
  /^[[:space:]]*\[/ { if (inpol && !done) { print "tau = " tau; done = 1 }
                      inpol = ($0 ~ /^[[:space:]]*\[policy\][[:space:]]*(#.*)?$/) }
  inpol && /^[[:space:]]*tau[[:space:]]*=/ { next }
  { print }
  END { if (inpol && !done) print "tau = " tau
        else if (!done) { print ""; print "[policy]"; print "tau = " tau } }
' "$SCENARIO" >"$alt"
fi
"$BIN" validate "$alt" >/dev/null || { echo "error: the changed scenario $alt does not load" >&2; exit 2; }

base_seed=$(sed -n 's/^seed[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' "$SCENARIO" | head -1)
seeds=()
s=1
while ((${#seeds[@]} < N)); do
  [[ $s == "$base_seed" ]] || seeds+=("$s")
  s=$((s + 1))
done

log=$tmp/results.tsv # kind seed alpha exit
echo "calibrating: $N seed sets (${seeds[0]}..${seeds[-1]}, skipping the baseline's seed ${base_seed:-?}), alphas $ALPHAS, changed ${SET:-tau=$TAU}${PAIRED:+, paired by seed}" >&2
start=$SECONDS
done_sets=0
for s in "${seeds[@]}"; do
  base=$BASELINE
  if [[ -n ${PAIRED:-} ]]; then
    base=$tmp/baseline-$s
    "$BIN" run "$SCENARIO" --seed "$s" --quiet --no-charts --out "$base"
  fi
  for kind in null tau; do
    scen=$SCENARIO
    [[ $kind == tau ]] && scen=$alt
    out=$tmp/run-$kind-$s
    "$BIN" run "$scen" --seed "$s" --quiet --no-charts --out "$out"
    for a in $ALPHAS; do
      rc=0
      "$BIN" check "$out" --baseline "$base" --mode stat --alpha "$a" --report json \
        >"$reports/$kind-$s-$a.json" || rc=$?
      ((rc <= 1)) || { echo "error: check exited $rc for $kind seed $s" >&2; exit 2; }
      printf '%s\t%s\t%s\t%s\n' "$kind" "$s" "$a" "$rc" >>"$log"
    done
    rm -rf "$out"
  done
  [[ -n ${PAIRED:-} ]] && rm -rf "$base"
  done_sets=$((done_sets + 1))
  printf '\r  %d/%d seed sets (%ds)' "$done_sets" "$N" $((SECONDS - start)) >&2
done
echo >&2

python3 - "$log" "$reports" <<'PY'
import json, math, sys, collections

log, reports = sys.argv[1], sys.argv[2]
rows = [l.split("\t") for l in open(log).read().split("\n") if l]

def binom_cdf(k, n, p):  # P(X <= k)
    if k < 0: return 0.0
    if k >= n: return 1.0
    return sum(math.comb(n, i) * p**i * (1 - p)**(n - i) for i in range(k + 1))

def solve(f, target):  # f increasing in p on [0, 1]; bisection
    lo, hi = 0.0, 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) < target else (lo, mid)
    return (lo + hi) / 2

def clopper_pearson(k, n, level=0.95):
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else solve(lambda p: 1 - binom_cdf(k - 1, n, p), a)
    hi = 1.0 if k == n else solve(lambda p: 1 - binom_cdf(k, n, p), 1 - a)
    return lo, hi

def wilson(k, n, z=1.959963984540054):
    p = k / n
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, c - h), min(1.0, c + h)

def fmt(k, n):
    lo, hi = clopper_pearson(k, n)
    wl, wh = wilson(k, n)
    return f"{k:>3}/{n:<3} {k/n:6.3f}  CP [{lo:.3f}, {hi:.3f}]  Wilson [{wl:.3f}, {wh:.3f}]"

alphas = sorted({r[2] for r in rows}, key=float)
print()
print(f"{'alpha':>6}  {'N':>3}  {'false alarms (rate, 95% CI)':<58}  power (rate, 95% CI)")
for a in alphas:
    null = [int(r[3]) for r in rows if r[0] == "null" and r[2] == a]
    alt = [int(r[3]) for r in rows if r[0] == "tau" and r[2] == a]
    print(f"{a:>6}  {len(null):>3}  {fmt(sum(null), len(null)):<58}  {fmt(sum(alt), len(alt))}")

# Which tests raise the false alarms, and how small the null's adjusted p-values get.
for a in alphas:
    hits = collections.Counter()
    min_p = []
    for r in rows:
        if r[0] != "null" or r[2] != a:
            continue
        j = json.load(open(f"{reports}/null-{r[1]}-{a}.json"))
        ps = [t["p_adjusted"] for t in j["tests"] if isinstance(t["p_adjusted"], (int, float))]
        min_p.append(min(ps) if ps else 1.0)
        for t in j["tests"]:
            if t["drifted"]:
                hits[f"point {t['point_id']} {t['metric']}"] += 1
    below = sum(p < float(a) for p in min_p)
    print(f"\nalpha {a}: null seed sets with min adjusted p < alpha: {below}/{len(min_p)} "
          f"(before the tolerance floor)")
    if hits:
        print("  drifted tests in false alarms: " + ", ".join(f"{m} ×{c}" for m, c in hits.most_common(10)))
    pw = collections.Counter()
    for r in rows:
        if r[0] == "tau" and r[2] == a:
            j = json.load(open(f"{reports}/tau-{r[1]}-{a}.json"))
            pw.update(f"point {t['point_id']} {t['metric']}" for t in j["tests"] if t["drifted"])
    if pw:
        print("  drifted tests under the change: " + ", ".join(f"{m} ×{c}" for m, c in pw.most_common(6)))
PY
