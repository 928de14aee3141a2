#!/usr/bin/env bash
# Throughput of designs and small sweeps (issue 16): an old and a new gardengate binary,
# alternated, medians of REPS runs each.
#
#   scripts/design-throughput.sh OLD_BINARY NEW_BINARY [REPS]      (default REPS=3)
#   DESIGN_RUNS=200 BIG_RUNS=2000 SWEEP=0 scripts/design-throughput.sh ...   (smaller, quicker)
#
# Measures, on 2 threads unless said otherwise:
#  1. a 1 000-run LHS design of a 2 000-consumer, 50-step world: consumer-steps/s of the whole
#     `run` (runs, batch files and the assembled outputs), against `bench`'s single run of the
#     same world (1 thread × 2, and 2 threads);
#  2. experiments/unblocking-sweep.toml (54 runs of a 20 000-consumer world);
#  3. the same design on 1 and on 2 threads (scaling);
#  4. peak RSS (/usr/bin/time -v) of a 10 000-run design (500 consumers, 50 steps).
# The machine's load (uptime) is printed before and after: run it when the machine is quiet.
set -euo pipefail
OLD=${1:?old binary}
NEW=${2:?new binary}
REPS=${3:-3}
DESIGN_RUNS=${DESIGN_RUNS:-1000}
BIG_RUNS=${BIG_RUNS:-10000}
SWEEP=${SWEEP:-1}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$(dirname "$0")/.."

design() { # runs consumers steps -> scenario file
  cat > "$TMP/design-$1.toml" <<TOML
name = "design-$1"
steps = $3
summary_last_steps = 10
[consumers]
count = $2
[design]
method = "lhs"
n = $1
replicates = 1
metrics = ["consumer_surplus"]
[[design.param]]
path = "links.share_prob"
bounds = [0.05, 0.20]
[[design.param]]
path = "policy.tau"
bounds = [0.05, 0.50]
TOML
  echo "$TMP/design-$1.toml"
}

# wall seconds of one run of `$@`
wall() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > /dev/null 2>&1
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

run_of() { # binary scenario threads out
  wall "$1" run "$2" --out "$4" --threads "$3" --quiet --no-charts --force
}

echo "load before: $(uptime)"
D1000=$(design "$DESIGN_RUNS" 2000 50)
CS1000=$((DESIGN_RUNS * 2000 * 50))

declare -A T
for rep in $(seq "$REPS"); do
  for which in old new; do
    bin=$OLD; [ $which = new ] && bin=$NEW
    T[$which-d2]+="$(run_of "$bin" "$D1000" 2 "$TMP/o-$which") "
    T[$which-d1]+="$(run_of "$bin" "$D1000" 1 "$TMP/o-$which") "
    if [ "$SWEEP" = 1 ]; then
      T[$which-sweep]+="$(run_of "$bin" experiments/unblocking-sweep.toml 2 "$TMP/s-$which") "
    fi
  done
done
# bench: the engine's single-run rate of the same world
bench() { "$NEW" bench --consumers 2000 --steps 50 --threads "$1" 2>&1 | sed -n 's/^consumer_steps_per_s=//p'; }
# A 50-step bench lasts 10-15 ms and swings by half from run to run: take the median of
# BENCH_REPS (default 7) per thread count.
BENCH_REPS=${BENCH_REPS:-7}
B1=$(for r in $(seq "$BENCH_REPS"); do bench 1; done | median)
B2=$(for r in $(seq "$BENCH_REPS"); do bench 2; done | median)
echo "load after: $(uptime)"

med() { echo "${T[$1]}" | tr ' ' '\n' | grep . | median; }
printf '\n%-46s %10s %10s %8s\n' "measure (median of $REPS, seconds)" old new "old/new"
for k in d2 d1 $([ "$SWEEP" = 1 ] && echo sweep); do
  o=$(med old-$k); n=$(med new-$k)
  case $k in
    d2) what="$DESIGN_RUNS-run design, 2000 cons. × 50 steps, 2 thr";;
    d1) what="the same design, 1 thread";;
    sweep) what="unblocking-sweep (54 runs), 2 threads";;
  esac
  printf '%-46s %10.2f %10.2f %8.2f\n' "$what" "$o" "$n" "$(echo "$o / $n" | bc -l)"
done
for which in old new; do
  d2=$(med $which-d2); d1=$(med $which-d1)
  printf '%s: design consumer-steps/s on 2 threads %.2f M, 1 thread %.2f M, scaling 1→2 %.2f×\n' \
    "$which" "$(echo "$CS1000 / $d2 / 1000000" | bc -l)" "$(echo "$CS1000 / $d1 / 1000000" | bc -l)" "$(echo "$d1 / $d2" | bc -l)"
done
printf 'bench (new binary), one run of 2000 consumers × 50 steps (its steps only): 1 thread %.2f M/s, 2 threads %.2f M/s\n' \
  "$(echo "$B1 / 1000000" | bc -l)" "$(echo "$B2 / 1000000" | bc -l)"
d2=$(med new-d2)
printf 'new design on 2 threads vs bench 1 thread × 2: %.0f %%; vs bench on 2 threads: %.0f %%\n' \
  "$(echo "100 * $CS1000 / $d2 / (2 * $B1)" | bc -l)" "$(echo "100 * $CS1000 / $d2 / $B2" | bc -l)"

# 4. peak memory of a large design (new binary; runs stream to disk batch by batch)
D10K=$(design "$BIG_RUNS" 500 50)
for which in new; do
  /usr/bin/time -v "$NEW" run "$D10K" --out "$TMP/big" --threads 2 --quiet --no-charts --force 2> "$TMP/time.txt" > /dev/null
  echo "$BIG_RUNS-run design (500 consumers × 50 steps), $which: $(grep -E 'Maximum resident' "$TMP/time.txt" | sed 's/^\s*//'), wall $(grep -E 'Elapsed' "$TMP/time.txt" | sed 's/.*: //')"
done
echo "load at end: $(uptime)"
