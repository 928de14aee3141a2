#!/usr/bin/env bash
# slurm-e2e.sh -- end-to-end test of sharded sweeps against a REAL Slurm (single node on
# localhost, brought up by scripts/slurm-local.sh; needs root, installs slurm-wlm + munge
# with apt-get when missing).
#
# Usage (from anywhere; it works in the repository root):
#   cargo build --release && bash scripts/slurm-e2e.sh
#
# What it does:
#   1. scripts/slurm-local.sh start (unless a slurm-local cluster is already running)
#   2. gardengate slurm experiments/ci.toml --out $TMP/sharded --shards 4 --cpus 1
#        --max-parallel 2 --time 00:10:00 --submit       -> array job (4 shards) + merge job
#   3. slurm-local.sh wait ARRAY MERGE --check            -> all COMPLETED
#   4. gardengate run experiments/ci.toml --out $TMP/single --quiet --no-charts
#   5. gardengate check $TMP/sharded --baseline $TMP/single --mode exact  (exit 0)
#      and cmp of summary.csv and steps.parquet
#   6. resubmission of one failed shard: delete shard 3's files, check that `merge` names
#      it, `sbatch --array=3 array.sbatch` + a dependent merge job, then step 5 again
#   7. slurm-local.sh stop (trap on EXIT; only if this script started the cluster)
# Builds nothing: expects target/release/gardengate.
# Prints "slurm-e2e: PASS ..." and exits 0, or "slurm-e2e: FAIL: ..." (with the Slurm logs
# of the shards and the merge) and exits 1; 2 when a precondition is missing.
#
# Environment knobs:
#   SLURM_E2E_TIMEOUT   seconds to wait for the jobs of each submission (default 300)
#   SLURM_E2E_KEEP=1    keep the temporary folder (it is kept anyway on failure)
#   SLURM_LOCAL_DIR     state folder of scripts/slurm-local.sh (default /tmp/gardengate-slurm)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2
BIN="$ROOT/target/release/gardengate"
SCENARIO=experiments/ci.toml
SHARDS=4
LOCAL=(bash "$ROOT/scripts/slurm-local.sh")
STATE="${SLURM_LOCAL_DIR:-/tmp/gardengate-slurm}"
WAIT_TIMEOUT="${SLURM_E2E_TIMEOUT:-300}"
T_START=$SECONDS
TMP=""
STARTED_CLUSTER=0
RESULT=""

log() { printf '[slurm-e2e] %s\n' "$*" >&2; }
elapsed() { echo "$((SECONDS - $1)) s"; }

dump_logs() {
    local f
    [ -n "$TMP" ] || return 0
    for f in "$TMP"/sharded/slurm/logs/*; do
        [ -f "$f" ] || continue
        printf '\n----- %s -----\n' "$f" >&2
        tail -n 60 "$f" >&2 || true
    done
    if [ -s "$STATE/log/slurmctld.log" ]; then
        printf '\n----- tail -n 30 %s -----\n' "$STATE/log/slurmctld.log" >&2
        tail -n 30 "$STATE/log/slurmctld.log" >&2 || true
    fi
    if [ -s "$STATE/log/slurmd.log" ]; then
        printf '\n----- tail -n 30 %s -----\n' "$STATE/log/slurmd.log" >&2
        tail -n 30 "$STATE/log/slurmd.log" >&2 || true
    fi
    printf '\n' >&2
}

fail() {
    RESULT=fail
    log "FAILED: $*"
    dump_logs
    [ -n "$TMP" ] && log "outputs kept in $TMP"
    echo "slurm-e2e: FAIL: $* ($(elapsed "$T_START"))"
    exit 1
}

cleanup() {
    local rc=$?
    if [ "$STARTED_CLUSTER" = 1 ]; then
        log "stopping the Slurm daemons started by this script"
        "${LOCAL[@]}" stop || log "WARNING: slurm-local.sh stop failed"
    fi
    if [ -n "$TMP" ] && [ "$RESULT" = pass ] && [ "${SLURM_E2E_KEEP:-0}" != 1 ]; then
        rm -rf "$TMP"
    fi
    if [ -z "$RESULT" ] && [ "$rc" -ne 0 ]; then
        [ -n "$TMP" ] && log "outputs kept in $TMP"
        echo "slurm-e2e: FAIL: interrupted or unexpected error (exit $rc)"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_jobs WHAT JOBID...: waits for the jobs; fails unless all ended COMPLETED.
wait_jobs() {
    local what="$1" t0=$SECONDS rc=0
    shift
    log "waiting for $what jobs $* (timeout ${WAIT_TIMEOUT}s)"
    "${LOCAL[@]}" wait "$@" --timeout "$WAIT_TIMEOUT" --check >&2 || rc=$?
    case "$rc" in
        0) log "$what jobs done in $(elapsed "$t0")" ;;
        124) fail "$what jobs did not finish within ${WAIT_TIMEOUT}s" ;;
        2) fail "$what jobs did not all end COMPLETED" ;;
        *) fail "slurm-local.sh wait failed (exit $rc)" ;;
    esac
}

# same_as_single WHAT: the merged folder equals the one-machine run.
same_as_single() {
    local what="$1" rc=0
    "$BIN" check "$TMP/sharded" --baseline "$TMP/single" --mode exact >"$TMP/check.txt" 2>&1 || rc=$?
    cat "$TMP/check.txt" >&2
    [ "$rc" -eq 0 ] || fail "$what: gardengate check --mode exact exited $rc (sharded results differ from the one-machine run)"
    cmp "$TMP/sharded/summary.csv" "$TMP/single/summary.csv" >&2 || fail "$what: summary.csv differs from the one-machine run"
    cmp "$TMP/sharded/steps.parquet" "$TMP/single/steps.parquet" >&2 || fail "$what: steps.parquet differs from the one-machine run"
    log "$what: bit-identical to the one-machine run (check --mode exact, summary.csv, steps.parquet)"
}

# ---------------------------------------------------------------- preconditions
[ -x "$BIN" ] || { echo "slurm-e2e: FAIL: $BIN not found; build it first: cargo build --release"; RESULT=fail; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "slurm-e2e: FAIL: must run as root (scripts/slurm-local.sh starts munged/slurmctld/slurmd)"; RESULT=fail; exit 2; }
[ -f "$SCENARIO" ] || { echo "slurm-e2e: FAIL: $ROOT/$SCENARIO not found"; RESULT=fail; exit 2; }
# Readable by slurmd and the jobs (root on this node): an absolute path on the local disk.
TMP="$(mktemp -d "${TMPDIR:-/tmp}/gardengate-e2e.XXXXXX")" || exit 2
chmod 0755 "$TMP"
# Snapshot the binary (hard link, else copy): a concurrent `cargo build` replacing
# target/release/gardengate must not make the shards, the merge and the one-machine run
# use different builds. The sbatch scripts name this path (the binary's current_exe).
mkdir -p "$TMP/bin"
ln "$BIN" "$TMP/bin/gardengate" 2>/dev/null || cp "$BIN" "$TMP/bin/gardengate" || fail "cannot copy $BIN"
BIN="$TMP/bin/gardengate"
log "binary $ROOT/target/release/gardengate ($("$BIN" --version)); work folder $TMP"

# ---------------------------------------------------------------- 1. cluster
t0=$SECONDS
if "${LOCAL[@]}" status >/dev/null 2>&1; then
    log "a slurm-local cluster is already running -> using it (it will not be stopped)"
else
    STARTED_CLUSTER=1
    "${LOCAL[@]}" start >/dev/null || fail "scripts/slurm-local.sh start failed"
fi
# shellcheck disable=SC1091
source "$STATE/env.sh" || fail "cannot source $STATE/env.sh"
[ -n "${SLURM_CONF:-}" ] || fail "SLURM_CONF not set by $STATE/env.sh"
T_CLUSTER=$(elapsed "$t0")
log "cluster ready in $T_CLUSTER (SLURM_CONF=$SLURM_CONF)"

# ---------------------------------------------------------------- 2-3. sharded run on Slurm
t0=$SECONDS
ids="$("$BIN" slurm "$SCENARIO" --out "$TMP/sharded" --shards "$SHARDS" --cpus 1 --max-parallel 2 --time 00:10:00 --submit)" \
    || fail "gardengate slurm --submit failed"
read -r ARRAY_JOB MERGE_JOB EXTRA <<<"$ids"
[[ "${ARRAY_JOB:-}" =~ ^[0-9]+$ && "${MERGE_JOB:-}" =~ ^[0-9]+$ && -z "${EXTRA:-}" ]] \
    || fail "gardengate slurm --submit printed '$ids', expected 'ARRAYJOBID MERGEJOBID'"
log "submitted array job $ARRAY_JOB and merge job $MERGE_JOB"
grep -q -- "--array=0-$((SHARDS - 1))%2" "$TMP/sharded/slurm/array.sbatch" || fail "array.sbatch lacks --array=0-$((SHARDS - 1))%2"
wait_jobs sharded "$ARRAY_JOB" "$MERGE_JOB"
T_SLURM=$(elapsed "$t0")
for ((i = 0; i < SHARDS; i++)); do
    [ -f "$TMP/sharded/shards/shard-$i-of-$SHARDS.json" ] || fail "shard $i left no record shards/shard-$i-of-$SHARDS.json"
    [ -f "$TMP/sharded/slurm/logs/shard-$i.out" ] || fail "shard $i left no Slurm log"
done
for f in steps.parquet summary.parquet summary.csv manifest.json; do
    [ -f "$TMP/sharded/$f" ] || fail "the merge job did not write $f"
done

# ---------------------------------------------------------------- 4-5. one machine, compare
t0=$SECONDS
"$BIN" run "$SCENARIO" --out "$TMP/single" --quiet --no-charts || fail "one-machine run failed"
T_SINGLE=$(elapsed "$t0")
log "one-machine run in $T_SINGLE"
same_as_single "4 shards on Slurm"

# ---------------------------------------------------------------- 6. resubmit a failed shard
t0=$SECONDS
LAST=$((SHARDS - 1))
rm -f "$TMP/sharded/shards/shard-$LAST-of-$SHARDS.json" "$TMP/sharded/steps.parquet" "$TMP/sharded/summary.csv" "$TMP/sharded/summary.parquet"
n=0
for r in $(grep -o '"run_id": *[0-9]*' "$TMP/sharded/plan.json" | grep -o '[0-9]*$'); do
    if [ $((r % SHARDS)) -eq "$LAST" ]; then
        rm -f "$(printf '%s/sharded/runs/run-%06d.parquet' "$TMP" "$r")" "$(printf '%s/sharded/runs/run-%06d.json' "$TMP" "$r")"
        n=$((n + 1))
    fi
done
[ "$n" -gt 0 ] || fail "found no runs of shard $LAST in plan.json"
log "removed shard $LAST ($n runs) to simulate a failed task"
rc=0
"$BIN" merge "$TMP/sharded" --no-charts >"$TMP/merge.txt" 2>&1 || rc=$?
cat "$TMP/merge.txt" >&2
[ "$rc" -ne 0 ] || fail "merge succeeded although shard $LAST is missing"
grep -q "shards are not complete: $LAST\$" "$TMP/merge.txt" || fail "merge did not name the missing shard $LAST"
grep -q -- "--array=$LAST " "$TMP/merge.txt" || fail "merge did not suggest sbatch --array=$LAST"
# What the error tells the user to do: resubmit just that task (Slurm then sets
# SLURM_ARRAY_TASK_COUNT=1; the shard count must come from plan.json), then merge again.
jid="$(sbatch --parsable --array="$LAST" "$TMP/sharded/slurm/array.sbatch")" || fail "sbatch --array=$LAST failed"
jid="${jid%%;*}"
mid="$(sbatch --parsable --dependency="afterok:$jid" "$TMP/sharded/slurm/merge.sbatch")" || fail "sbatch merge.sbatch failed"
mid="${mid%%;*}"
log "resubmitted shard $LAST as job $jid, merge job $mid"
wait_jobs resubmitted "$jid" "$mid"
[ -f "$TMP/sharded/shards/shard-$LAST-of-$SHARDS.json" ] || fail "resubmitted shard $LAST left no shards/shard-$LAST-of-$SHARDS.json"
[ ! -e "$TMP/sharded/shards/shard-0-of-1.json" ] || fail "resubmitted shard took SLURM_ARRAY_TASK_COUNT=1 as the shard count"
same_as_single "after resubmitting shard $LAST"
T_RESUBMIT=$(elapsed "$t0")

RESULT=pass
echo "slurm-e2e: PASS: $SHARDS Slurm shards + merge == one-machine run (bit-identical); resubmitted shard OK" \
    "(cluster $T_CLUSTER, Slurm array+merge $T_SLURM, one machine $T_SINGLE, resubmission $T_RESUBMIT, total $(elapsed "$T_START"))"
