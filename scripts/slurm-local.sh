#!/usr/bin/env bash
# slurm-local.sh -- bring up / tear down a REAL single-node Slurm cluster on
# localhost for CI (Debian 12 "bookworm", run as root, no systemd needed).
#
# Usage:
#   scripts/slurm-local.sh start                 # install (if needed) + start munged, slurmctld, slurmd
#   scripts/slurm-local.sh stop                  # stop exactly the daemons `start` started (by PID)
#   scripts/slurm-local.sh status                # sinfo + squeue, or "not running" (exit 3)
#   scripts/slurm-local.sh wait JOBID... [--timeout S] [--check]
#                                                # poll squeue until the jobs left the queue
#   scripts/slurm-local.sh env                   # print the export line again
# Exit codes: 0 ok; 1 error; status: 3 = not running; wait: 124 timeout, 2 --check failed.
#
# `start` prints exactly one line on stdout -- `export SLURM_CONF=...` -- and
# writes the same line to "$STATE/env.sh". Recommended in CI (fails loudly):
#   scripts/slurm-local.sh start && source /tmp/gardengate-slurm/env.sh
# or  out="$(scripts/slurm-local.sh start)" && eval "$out"
# (a bare  eval "$(... start)"  would swallow a failed start's exit status).
# All progress/diagnostic messages go to stderr. Logs: $STATE/log/.
# `wait` prints each job's final JobState/ExitCode (from scontrol; kept for
# MinJobAge=300 s); exit 0 once all left the queue, 124 on timeout, and with
# --check 2 if any job did not end COMPLETED. Jobs whose afterok dependency
# can never be met are cancelled (DependencyParameters=kill_invalid_depend).
#
# Environment knobs:
#   SLURM_LOCAL_DIR        state folder (default /tmp/gardengate-slurm)
#   SLURM_LOCAL_TIMEOUT    seconds to wait for the node to become idle (default 60)
#   SLURM_LOCAL_CTLD_PORT  slurmctld port (default 6817)
#   SLURM_LOCAL_SLURMD_PORT slurmd port (default 6818)
#   SLURM_LOCAL_SELECT     force SelectType (default select/cons_tres, falls back to select/linear)
#   SLURM_LOCAL_KEEP_ON_FAILURE=1  leave daemons running if `start` fails (for debugging)
#
# Files in the state folder:
#   etc/slurm.conf  state/  spool/  log/{slurmctld,slurmd}.log  run/*.pid
#   pids     one PID per line, every daemon this script started (munged only if
#            it was started by us -- an already-working munged is reused, never killed)
#   env.sh   `export SLURM_CONF=...`
set -euo pipefail

STATE="${SLURM_LOCAL_DIR:-/tmp/gardengate-slurm}"
case "$STATE" in
    /*) ;;
    *) STATE="$PWD/$STATE" ;;
esac
STATE="${STATE%/}"
TIMEOUT="${SLURM_LOCAL_TIMEOUT:-60}"
CTLD_PORT="${SLURM_LOCAL_CTLD_PORT:-6817}"
SLURMD_PORT="${SLURM_LOCAL_SLURMD_PORT:-6818}"
CLUSTER_NAME="gardengate"
NODE_NAME="localhost"
PARTITION="debug"

CONF="$STATE/etc/slurm.conf"
PIDS="$STATE/pids"
ENV_SH="$STATE/env.sh"
LOG_DIR="$STATE/log"
RUN_DIR="$STATE/run"

MUNGE_KEY=/etc/munge/munge.key
MUNGE_RUN=/run/munge
MUNGE_SOCKET="$MUNGE_RUN/munge.socket.2"
MUNGE_PIDFILE="$MUNGE_RUN/munged.pid"

# Names (/proc/PID/comm) of the daemons we may start; `stop` refuses to signal
# a PID from the pids file whose process is not one of these (PID reuse guard).
DAEMON_NAMES="munged slurmctld slurmd"

log()  { printf '[slurm-local] %s\n' "$*" >&2; }
die()  { printf '[slurm-local] ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
    exit "${1:-2}"
}

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (needs apt, munge user, privileged ports)"; }

# Alive = exists and is not a zombie (PID 1 in containers may reap slowly or never).
pid_alive() {
    [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
    local st
    st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
    [ "$st" != Z ]
}

pid_comm() { cat "/proc/$1/comm" 2>/dev/null || true; }

is_our_daemon() {
    local comm
    comm="$(pid_comm "$1")"
    case " $DAEMON_NAMES " in *" $comm "*) [ -n "$comm" ] ;; *) return 1 ;; esac
}

read_pids() {
    if [ -f "$PIDS" ]; then grep -E '^[0-9]+$' "$PIDS" || true; fi
}

record_pid() { echo "$1" >>"$PIDS"; }

export_line() { printf 'export SLURM_CONF=%q\n' "$CONF"; }

use_conf() { export SLURM_CONF="$CONF"; }

# All pids in the pids file alive and belonging to our daemons?
all_running() {
    local p n=0
    [ -f "$PIDS" ] || return 1
    for p in $(read_pids); do
        n=$((n + 1))
        pid_alive "$p" && is_our_daemon "$p" || return 1
    done
    [ "$n" -ge 2 ]
}

# --------------------------------------------------------------------------- install
have_binaries() {
    local b
    for b in munged munge unmunge slurmctld slurmd sinfo squeue sbatch scontrol scancel; do
        command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || return 1
    done
}

apt_lists_empty() {
    ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}

install_packages() {
    have_binaries && return 0
    command -v apt-get >/dev/null || die "slurm/munge missing and apt-get not available"
    log "installing slurm-wlm + munge via apt-get (not installed yet) ..."
    local t0=$SECONDS
    # Keep package postinst scripts from starting daemons (munge ships an
    # init script): we start exactly the daemons we manage ourselves.
    local added_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        added_policy=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    local pkgs=(slurm-wlm munge) rc=0
    local apt_opts=(-y -q --no-install-recommends -o Dpkg::Use-Pty=0)
    if apt_lists_empty; then
        log "apt lists are empty -> apt-get update"
        apt-get update -q >&2 || rc=$?
    fi
    if [ "$rc" -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" "${pkgs[@]}" >&2 || rc=$?
        if [ "$rc" -ne 0 ]; then
            log "apt-get install failed (rc=$rc) -> apt-get update and retry"
            rc=0
            apt-get update -q >&2 || rc=$?
            [ "$rc" -eq 0 ] && { DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" "${pkgs[@]}" >&2 || rc=$?; }
        fi
    fi
    if [ "$added_policy" -eq 1 ]; then
        rm -f /usr/sbin/policy-rc.d
        trap - EXIT
    fi
    [ "$rc" -eq 0 ] || die "apt-get install ${pkgs[*]} failed (rc=$rc)"
    have_binaries || die "packages installed but slurm/munge binaries still not found"
    log "install done in $((SECONDS - t0)) s"
}

# --------------------------------------------------------------------------- config
write_config() {
    local select_type="$1"
    local cpus mem_kb mem_mb real_mem
    cpus="$(nproc)"
    mem_kb="$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
    mem_mb=$((mem_kb / 1024))
    # Stay below what slurmd detects, otherwise the node is drained as "Low RealMemory".
    real_mem=$((mem_mb - (mem_mb / 20 > 256 ? mem_mb / 20 : 256)))
    [ "$real_mem" -ge 1 ] || real_mem=1
    local select_params=""
    [ "$select_type" = "select/linear" ] || select_params="SelectTypeParameters=CR_Core"

    mkdir -p "$STATE/etc" "$STATE/state" "$STATE/spool" "$LOG_DIR" "$RUN_DIR"
    chmod 0755 "$STATE" "$STATE/etc" "$STATE/spool" "$LOG_DIR" "$RUN_DIR"
    chmod 0700 "$STATE/state"
    cat >"$CONF" <<EOF
# Generated by scripts/slurm-local.sh -- single-node localhost cluster for CI.
ClusterName=$CLUSTER_NAME
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ReturnToService=2
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=$select_type
$select_params
# A dependency that can never be satisfied (e.g. afterok on a failed job)
# cancels the dependent job instead of leaving it pending forever in CI.
DependencyParameters=kill_invalid_depend
MailProg=/bin/true
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=300
Waittime=0

NodeName=$NODE_NAME CPUs=$cpus RealMemory=$real_mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE_NAME Default=YES MaxTime=INFINITE State=UP
EOF
    chmod 0644 "$CONF"
    log "wrote $CONF (CPUs=$cpus RealMemory=$real_mem SelectType=$select_type)"
}

# --------------------------------------------------------------------------- munge
munge_works() {
    local out
    out="$(munge -n -S "$MUNGE_SOCKET" 2>/dev/null | unmunge -S "$MUNGE_SOCKET" 2>/dev/null)" || return 1
    grep -q 'STATUS: *Success' <<<"$out"
}

as_munge() {
    if command -v setpriv >/dev/null 2>&1; then
        setpriv --reuid=munge --regid=munge --init-groups -- "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u munge -- "$@"
    else
        su -s /bin/sh munge -c "$(printf '%q ' "$@")"
    fi
}

start_munge() {
    getent passwd munge >/dev/null || die "user 'munge' does not exist (munge package broken?)"
    install -d -o munge -g munge -m 0700 /etc/munge
    install -d -o munge -g munge -m 0700 /var/lib/munge
    install -d -o munge -g munge -m 0700 /var/log/munge
    install -d -o munge -g munge -m 0755 "$MUNGE_RUN"
    if [ ! -s "$MUNGE_KEY" ]; then
        log "creating munge key $MUNGE_KEY"
        if command -v mungekey >/dev/null 2>&1; then
            mungekey --create --keyfile="$MUNGE_KEY" --force >&2
        elif command -v create-munge-key >/dev/null 2>&1; then
            create-munge-key -f >&2
        else
            dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
        fi
    fi
    chown munge:munge "$MUNGE_KEY"
    chmod 0400 "$MUNGE_KEY"

    if munge_works; then
        log "a working munged is already serving $MUNGE_SOCKET -> reusing it (it will NOT be stopped by 'stop')"
        return 0
    fi
    # Stale pidfile/socket from a dead munged would make munged refuse to start.
    if [ -f "$MUNGE_PIDFILE" ] && ! pid_alive "$(cat "$MUNGE_PIDFILE" 2>/dev/null)"; then
        rm -f "$MUNGE_PIDFILE"
    fi
    log "starting munged as user munge"
    as_munge /usr/sbin/munged --pid-file="$MUNGE_PIDFILE" --socket="$MUNGE_SOCKET" \
        </dev/null >"$LOG_DIR/munged.stderr" 2>&1 9>&- \
        || { cat "$LOG_DIR/munged.stderr" >&2; tail -n 20 /var/log/munge/munged.log >&2 2>/dev/null || true; die "munged failed to start"; }
    local pid="" _
    for _ in $(seq 1 50); do
        pid="$(cat "$MUNGE_PIDFILE" 2>/dev/null || true)"
        if pid_alive "$pid" && munge_works; then break; fi
        sleep 0.1
    done
    pid_alive "$pid" || { tail -n 20 /var/log/munge/munged.log >&2 2>/dev/null || true; die "munged did not come up (no live pid in $MUNGE_PIDFILE)"; }
    record_pid "$pid"
    munge_works || fail_start "munged (pid $pid) is running but munge -n | unmunge fails"
    log "munged up (pid $pid)"
}

# --------------------------------------------------------------------------- slurm daemons
dump_logs() {
    local f
    for f in "$LOG_DIR"/*.stderr "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" /var/log/munge/munged.log; do
        [ -s "$f" ] || continue
        printf '\n----- tail -n 40 %s -----\n' "$f" >&2
        tail -n 40 "$f" >&2 || true
    done
    printf '\n' >&2
}

fail_start() {
    log "ERROR: $*"
    dump_logs
    if [ "${SLURM_LOCAL_KEEP_ON_FAILURE:-0}" = 1 ]; then
        log "SLURM_LOCAL_KEEP_ON_FAILURE=1 -> leaving daemons running (pids in $PIDS)"
    else
        log "cleaning up the daemons started so far"
        do_stop >&2 || true
    fi
    exit 1
}

# start_daemon NAME PIDFILE CMD... : run a self-daemonizing slurm daemon and
# wait for its pidfile; records the PID. Returns 1 if it died early.
start_daemon() {
    local name="$1" pidfile="$2"
    shift 2
    rm -f "$pidfile"
    log "starting $name: $*"
    # Daemons must not inherit the lock fd (9) or the caller's stdout/stderr
    # (a pipe there would never reach EOF); early output goes to log/NAME.stderr.
    "$@" </dev/null >"$LOG_DIR/$name.stderr" 2>&1 9>&- || { cat "$LOG_DIR/$name.stderr" >&2; return 1; }
    local pid="" _
    for _ in $(seq 1 100); do
        pid="$(cat "$pidfile" 2>/dev/null || true)"
        if pid_alive "$pid"; then
            record_pid "$pid"
            log "$name up (pid $pid)"
            return 0
        fi
        sleep 0.1
    done
    return 1
}

node_state() {
    sinfo -h -N -n "$NODE_NAME" -o '%t' 2>/dev/null | head -n1 | tr -d ' *' || true
}

wait_idle() {
    local deadline=$((SECONDS + TIMEOUT)) st=""
    local p
    while [ "$SECONDS" -lt "$deadline" ]; do
        # munged, slurmctld or slurmd died?
        for p in $(read_pids); do pid_alive "$p" || { log "daemon pid $p died"; return 1; }; done
        st="$(timeout 10 sinfo -h -N -n "$NODE_NAME" -o '%t' 2>/dev/null | head -n1 | tr -d ' *' || true)"
        case "$st" in
            idle) return 0 ;;
            drain* | drng | inval | fail*)
                log "node $NODE_NAME is '$st':"
                scontrol show node "$NODE_NAME" >&2 || true
                return 1 ;;
        esac
        sleep 0.5
    done
    log "timed out after ${TIMEOUT}s waiting for node $NODE_NAME to be idle (last state: '${st:-<no answer>}')"
    return 1
}

# `start` wipes $STATE/{state,spool,run}: only ever do that in a folder this
# script owns (new/empty, or carrying our marker file).
STATE_MARKER=".slurm-local-state-dir"
claim_state_dir() {
    case "$STATE" in
        "" | / | /tmp | /var | /run | /etc | /usr | /root | /home) die "refusing to use '$STATE' as state folder" ;;
    esac
    if [ -d "$STATE" ] && [ ! -e "$STATE/$STATE_MARKER" ] \
        && [ -n "$(ls -A "$STATE" 2>/dev/null)" ]; then
        die "state folder $STATE is not empty and was not created by this script; pick another SLURM_LOCAL_DIR"
    fi
    mkdir -p "$STATE"
    touch "$STATE/$STATE_MARKER"
}

LOCKED=0
take_lock() {
    [ "$LOCKED" = 1 ] && return 0
    mkdir -p "$STATE"
    exec 9>"$STATE/.lock"
    flock -w 120 9 || die "another slurm-local.sh start/stop is holding $STATE/.lock"
    LOCKED=1
}

do_start() {
    need_root
    claim_state_dir
    take_lock

    if all_running; then
        use_conf
        log "already running (pids: $(read_pids | tr '\n' ' '); node state: '$(node_state)') -- nothing to do"
        export_line >"$ENV_SH"
        export_line
        return 0
    fi
    if [ -f "$PIDS" ]; then
        log "found leftovers of a previous (partial/dead) run -> stopping them first"
        do_stop >&2
    fi

    local t0=$SECONDS
    install_packages
    local version
    version="$(slurmctld -V 2>&1 | head -n1)"
    log "Slurm version: $version; munge: $(munged -V 2>&1 | head -n1)"

    # Fresh cluster every start: drop old controller state / spool (jobs), keep nothing.
    rm -rf "$STATE/state" "$STATE/spool" "$RUN_DIR"
    mkdir -p "$LOG_DIR"
    rm -f "$LOG_DIR"/*.stderr
    : >"$LOG_DIR/slurmctld.log"
    : >"$LOG_DIR/slurmd.log"
    : >"$PIDS"
    use_conf

    local select_type="${SLURM_LOCAL_SELECT:-select/cons_tres}"
    write_config "$select_type"
    start_munge

    if ! start_daemon slurmctld "$RUN_DIR/slurmctld.pid" slurmctld -f "$CONF"; then
        if [ -z "${SLURM_LOCAL_SELECT:-}" ] && grep -qi 'select' "$LOG_DIR/slurmctld.log"; then
            log "slurmctld failed with $select_type -> retrying with select/linear"
            dump_logs
            select_type=select/linear
            write_config "$select_type"
            : >"$LOG_DIR/slurmctld.log"
            start_daemon slurmctld "$RUN_DIR/slurmctld.pid" slurmctld -f "$CONF" \
                || fail_start "slurmctld failed to start"
        else
            fail_start "slurmctld failed to start"
        fi
    fi
    start_daemon slurmd "$RUN_DIR/slurmd.pid" slurmd -f "$CONF" -N "$NODE_NAME" \
        || fail_start "slurmd failed to start"

    log "waiting up to ${TIMEOUT}s for node $NODE_NAME to become idle ..."
    wait_idle || fail_start "cluster did not become ready"

    export_line >"$ENV_SH"
    log "cluster up in $((SECONDS - t0)) s; daemons: $(read_pids | tr '\n' ' ')"
    sinfo >&2 || true
    log "use it with:  source $ENV_SH   (or eval the line below)"
    export_line
}

# --------------------------------------------------------------------------- stop
do_stop() {
    need_root
    take_lock
    if [ ! -f "$PIDS" ]; then
        log "not running (no $PIDS) -- nothing to stop"
        return 0
    fi
    use_conf
    # Cancel whatever is still queued/running in OUR cluster so no job steps linger.
    local slurmctld_alive=0 p
    for p in $(read_pids); do
        [ "$(pid_comm "$p")" = slurmctld ] && slurmctld_alive=1
    done
    if [ "$slurmctld_alive" = 1 ] && [ -f "$CONF" ]; then
        local jobs
        jobs="$(timeout 10 squeue -h -o '%A' 2>/dev/null | sort -u | tr '\n' ' ' || true)"
        if [ -n "${jobs// /}" ]; then
            log "cancelling jobs still in the queue: $jobs"
            # shellcheck disable=SC2086
            timeout 10 scancel $jobs >&2 || true
            local _
            for _ in $(seq 1 30); do
                [ -z "$(timeout 5 squeue -h -o '%A' 2>/dev/null || true)" ] && break
                sleep 0.5
            done
        fi
    fi

    # Reverse start order: slurmd, slurmctld, munged.
    local pids
    pids="$(read_pids | tac)"
    local to_wait=()
    for p in $pids; do
        if ! pid_alive "$p"; then
            log "pid $p already gone"
            continue
        fi
        if ! is_our_daemon "$p"; then
            log "pid $p is now '$(pid_comm "$p")', not one of our daemons -> NOT touching it"
            continue
        fi
        log "stopping $(pid_comm "$p") (pid $p) with SIGTERM"
        kill -TERM "$p" 2>/dev/null || true
        # Wait for this one before stopping the next (slurmd needs munge/slurmctld while exiting).
        local _
        for _ in $(seq 1 100); do pid_alive "$p" || break; sleep 0.1; done
        pid_alive "$p" && to_wait+=("$p")
    done
    for p in "${to_wait[@]}"; do
        if pid_alive "$p" && is_our_daemon "$p"; then
            log "pid $p ($(pid_comm "$p")) ignored SIGTERM for 10s -> SIGKILL"
            kill -KILL "$p" 2>/dev/null || true
            local _
            for _ in $(seq 1 50); do pid_alive "$p" || break; sleep 0.1; done
            pid_alive "$p" && log "WARNING: pid $p still alive after SIGKILL"
        fi
    done
    rm -f "$PIDS" "$ENV_SH" "$RUN_DIR/slurmctld.pid" "$RUN_DIR/slurmd.pid"
    log "stopped"
}

# --------------------------------------------------------------------------- status
do_status() {
    if ! all_running; then
        echo "not running"
        return 3
    fi
    use_conf
    echo "running (state dir $STATE, pids: $(read_pids | tr '\n' ' '))"
    echo "SLURM_CONF=$CONF"
    sinfo || true
    squeue || true
}

# --------------------------------------------------------------------------- wait
do_wait() {
    local timeout_s=600 check=0 ids=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --timeout) [ $# -ge 2 ] || die "--timeout needs a value"; timeout_s="$2"; shift 2 ;;
            --timeout=*) timeout_s="${1#*=}"; shift ;;
            --check) check=1; shift ;;
            -h | --help) usage 0 ;;
            -*) die "unknown option for wait: $1" ;;
            *) ids+=("$1"); shift ;;
        esac
    done
    [ "${#ids[@]}" -gt 0 ] || die "usage: $0 wait JOBID... [--timeout S] [--check]"
    [[ "$timeout_s" =~ ^[0-9]+$ ]] || die "--timeout must be a whole number of seconds"
    [ -n "${SLURM_CONF:-}" ] || use_conf

    local joined deadline=$((SECONDS + timeout_s)) out rc errs=0
    joined="$(IFS=,; echo "${ids[*]}")"
    while :; do
        rc=0
        out="$(squeue -h -j "$joined" -o '%i %T' 2>&1)" || rc=$?
        if [ "$rc" -eq 0 ]; then
            errs=0
            [ -z "$out" ] && break
        elif grep -qi 'Invalid job id' <<<"$out"; then
            break # already purged from the controller => long gone
        else
            errs=$((errs + 1))
            log "squeue failed (rc=$rc): $out"
            [ "$errs" -ge 10 ] && die "squeue keeps failing; is the cluster up? ($SLURM_CONF)"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "timeout after ${timeout_s}s; still queued:"
            printf '%s\n' "$out" >&2
            return 124
        fi
        sleep 1
    done

    # Final states (kept by slurmctld for MinJobAge=300s; no accounting => no sacct).
    local id bad=0 line field out_line
    for id in "${ids[@]}"; do
        while read -r line; do
            [ -n "$line" ] || continue
            out_line=""
            for field in JobId ArrayTaskId JobState ExitCode; do
                [[ " $line" =~ [[:space:]]($field=[^[:space:]]*) ]] && out_line+="${BASH_REMATCH[1]} "
            done
            echo "${out_line% }"
            [[ " $line" =~ [[:space:]]JobState=COMPLETED([[:space:]]|$) ]] || bad=1
        done < <(scontrol -o show job "$id" 2>/dev/null || echo "JobId=$id JobState=UNKNOWN(purged)")
    done
    if [ "$check" = 1 ] && [ "$bad" = 1 ]; then
        log "--check: not all jobs COMPLETED"
        return 2
    fi
    return 0
}

# --------------------------------------------------------------------------- main
cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
    start) do_start "$@" ;;
    stop) do_stop "$@" ;;
    status) do_status "$@" ;;
    wait) do_wait "$@" ;;
    env) export_line ;;
    -h | --help | help) usage 0 ;;
    *) usage 2 ;;
esac
