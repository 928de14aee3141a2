#!/usr/bin/env bash
# Calibration of `gardengate check --mode stat` against the committed CI baseline:
#
#   * false-alarm rate (unpaired): experiments/ci.toml run with N other master seeds (same
#     model) and checked against experiments/baselines/ci (seed 11, so Welch's test); every
#     exit 1 is a false alarm. The rate should be at most alpha (Holm controls the
#     family-wise error rate).
#   * power, unpaired: each change in CHANGES run with the same N seed sets, checked against
#     the committed baseline (Welch); the fraction of exit 1.
#   * power, paired: the same changed runs checked against the unchanged scenario run with the
#     same seed (the null run of that seed set), so check pairs runs by seed (paired t).
#     A paired false alarm cannot happen: the same model with the same seeds repeats the
#     baseline bit for bit (the null runs checked against themselves, reported as a row).
#
# Usage: scripts/check-calibration.sh [N]           (N seed sets, default 50; seeds 1, 2, ...
#                                                    skipping ci.toml's own seed, which would
#                                                    reproduce the baseline bit for bit)
# Environment:
#   CHANGES   space-separated changes, each "section.key=value" or "name:section.key=value"
#             (default: the 1 % and 3 % falls in consumer surplus of the CI scenario,
#             "cs-1%:revision.switch_cost=0.4 cs-3%:revision.switch_cost=0.6"; measured with
#             `gardengate effects`, see docs/checks.md)
#   SET       one change instead (the interface before CHANGES); TAU=x means policy.tau=x
#   ALPHAS    ("0.01 0.05"), TOLS ("default": check's default tolerance floor; add e.g.
#             "rel=0,abs=0" to see the tests without the floor)
#   JOBS      seed sets run in parallel (default 1); each run then uses THREADS threads
#             (default: all cores / JOBS, at least 1)
#   BIN (target/release/gardengate), SCENARIO (experiments/ci.toml),
#   BASELINE (experiments/baselines/ci), KEEP=dir (keep the per-check JSON reports there)
# Needs a release build (cargo build --release) and python3 (standard library only).
# Takes N × (1 + number of changes) runs of the scenario (about 1.5–3 s each on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-50}
ALPHAS=${ALPHAS:-"0.01 0.05"}
TOLS=${TOLS:-"default"}
BIN=${BIN:-target/release/gardengate}
SCENARIO=${SCENARIO:-experiments/ci.toml}
BASELINE=${BASELINE:-experiments/baselines/ci}
JOBS=${JOBS:-1}
if [[ -n ${SET:-} ]]; then
  CHANGES=${CHANGES:-$SET}
elif [[ -n ${TAU:-} ]]; then
  CHANGES=${CHANGES:-"tau=$TAU:policy.tau=$TAU"}
fi
CHANGES=${CHANGES:-"cs-1%:revision.switch_cost=0.4 cs-3%:revision.switch_cost=0.6"}
cores=$(nproc 2>/dev/null || echo 2)
THREADS=${THREADS:-$(( cores / JOBS > 0 ? cores / JOBS : 1 ))}

[[ -x $BIN ]] || { echo "error: $BIN not found; run: cargo build --release" >&2; exit 2; }
[[ -f $BASELINE/steps.parquet ]] || { echo "error: no baseline in $BASELINE" >&2; exit 2; }
command -v python3 >/dev/null || { echo "error: python3 is needed for the summary" >&2; exit 2; }
[[ $N =~ ^[0-9]+$ && $N -ge 1 ]] || { echo "error: N must be a positive integer, got '$N'" >&2; exit 2; }
[[ $JOBS =~ ^[0-9]+$ && $JOBS -ge 1 ]] || { echo "error: JOBS must be a positive integer, got '$JOBS'" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
reports=${KEEP:-$tmp/reports}
mkdir -p "$reports" "$tmp/results"

# One scenario file per change: it extends the scenario and sets that key.
names=()
i=0
for c in $CHANGES; do
  if [[ $c == *:* ]]; then name=${c%%:*}; set_=${c#*:}; else name=$c; set_=$c; fi
  key=${set_%%=*}; val=${set_#*=}
  [[ $key == *.* && -n $val ]] || { echo "error: change '$c': expected [name:]section.key=value" >&2; exit 2; }
  f=$tmp/change-$i.toml
  printf 'extends = "%s"\n[%s]\n%s = %s\n' "$(realpath "$SCENARIO")" "${key%.*}" "${key##*.}" "$val" >"$f"
  "$BIN" validate "$f" >/dev/null || { echo "error: the changed scenario for '$c' does not load" >&2; exit 2; }
  names+=("$name")
  i=$((i + 1))
done
printf '%s\n' "${names[@]}" >"$tmp/names"

base_seed=$(sed -n 's/^seed[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' "$SCENARIO" | head -1)
seeds=()
s=1
while ((${#seeds[@]} < N)); do
  [[ $s == "$base_seed" ]] || seeds+=("$s")
  s=$((s + 1))
done

# One seed set: the null run (the unchanged scenario with seed s), then each change; every
# check's exit status as a line "kind test tol alpha seed exit" in results/s.tsv.
one_set() {
  local s=$1
  local out=$tmp/run-null-$1 log=$tmp/results/$1.tsv
  : >"$log"
  "$BIN" run "$SCENARIO" --seed "$s" --quiet --no-charts --threads "$THREADS" --out "$out"
  check() { # kind test tol results baseline
    local a rc tolarg
    for a in $ALPHAS; do
      tolarg=()
      [[ $3 == default ]] || tolarg=(--tolerance "$3")
      rc=0
      "$BIN" check "$4" --baseline "$5" --mode stat --alpha "$a" "${tolarg[@]}" --report json \
        >"$reports/$1-$2-${3//[^a-z0-9.]/_}-$s-$a.json" || rc=$?
      ((rc <= 1)) || { echo "error: check exited $rc for $1 seed $s" >&2; return 2; }
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$a" "$s" "$rc" >>"$log"
    done
  }
  local tol k
  for tol in $TOLS; do
    check null unpaired "$tol" "$out" "$BASELINE"
    check null paired "$tol" "$out" "$out"
  done
  for ((k = 0; k < ${#names[@]}; k++)); do
    local alt=$tmp/run-$k-$s
    "$BIN" run "$tmp/change-$k.toml" --seed "$s" --quiet --no-charts --threads "$THREADS" --out "$alt"
    for tol in $TOLS; do
      check "${names[$k]}" unpaired "$tol" "$alt" "$BASELINE"
      check "${names[$k]}" paired "$tol" "$alt" "$out"
    done
    rm -rf "$alt"
  done
  rm -rf "$out"
}
export -f one_set
export tmp reports BIN SCENARIO BASELINE ALPHAS TOLS THREADS
export names_list=${names[*]}

echo "calibrating: $N seed sets (${seeds[0]}..${seeds[-1]}, skipping the baseline's seed ${base_seed:-?}), changes: $CHANGES; alphas $ALPHAS; tolerance $TOLS; $JOBS in parallel × $THREADS threads" >&2
start=$SECONDS
# names[] does not survive export; rebuild it inside each job.
printf '%s\n' "${seeds[@]}" | xargs -P "$JOBS" -I{} bash -c 'read -ra names <<<"$names_list"; one_set {}' \
  || { echo "error: a seed set failed" >&2; exit 2; }
echo "  $N seed sets in $((SECONDS - start)) s" >&2

cat "$tmp"/results/*.tsv >"$tmp/results.tsv"
python3 - "$tmp/results.tsv" "$reports" "$tmp/names" <<'PY'
import json, math, sys, collections

log, reports, names_file = sys.argv[1:4]
rows = [l.split("\t") for l in open(log).read().split("\n") if l]
names = [n for n in open(names_file).read().split("\n") if n]

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

def fmt(k, n):
    lo, hi = clopper_pearson(k, n)
    return f"{k}/{n} = {k/n:.3f} [{lo:.3f}, {hi:.3f}]"

def key(r): return (r[0], r[1], r[2], r[3])
by = collections.defaultdict(list)
for r in rows:
    by[key(r)].append(int(r[5]))
tols = list(dict.fromkeys(r[2] for r in rows))
alphas = sorted({r[3] for r in rows}, key=float)
print()
print("Rate of exit 1 (drift) with its 95% Clopper-Pearson interval; null = same model, new seeds")
print("(a false alarm), the changes = power. Paired: against the unchanged model run with the same")
print("seed (paired t); unpaired: against the committed baseline (Welch).")
print()
print("| change | tolerance | alpha | unpaired (Welch) | paired (t) |")
print("|---|---|---|---|---|")
for kind in ["null"] + names:
    for t in tols:
        for a in alphas:
            u, p = by[(kind, "unpaired", t, a)], by[(kind, "paired", t, a)]
            print(f"| {kind} | {t} | {a} | {fmt(sum(u), len(u))} | {fmt(sum(p), len(p))} |")

# Which tests fire, and how small the null's adjusted p-values get.
for t in tols:
    for a in alphas:
        tag = t.replace("=", "_").replace(",", "_")
        tag = "".join(c if c.isalnum() or c == "." else "_" for c in t)
        min_p, hits = [], collections.Counter()
        for r in rows:
            if r[0] != "null" or r[1] != "unpaired" or r[2] != t or r[3] != a:
                continue
            j = json.load(open(f"{reports}/null-unpaired-{tag}-{r[4]}-{a}.json"))
            ps = [x["p_adjusted"] for x in j["tests"] if isinstance(x["p_adjusted"], (int, float))]
            min_p.append(min(ps) if ps else 1.0)
            hits.update(f"point {x['point_id']} {x['metric']}" for x in j["tests"] if x["drifted"])
        if min_p:
            below = sum(p < float(a) for p in min_p)
            print(f"\ntolerance {t}, alpha {a}: null seed sets with min adjusted p < alpha: "
                  f"{below}/{len(min_p)} (before the tolerance floor)")
        if hits:
            print("  drifted tests in false alarms: " + ", ".join(f"{m} ×{c}" for m, c in hits.most_common(8)))
PY
