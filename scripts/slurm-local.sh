#!/usr/bin/env bash
# A single-node Slurm on this machine, to try molexp's Slurm recipe (docs/distributed.md)
# and to run the test suite's Slurm tests. Debian/Ubuntu, as root; made for containers:
# no systemd, no cgroups (proctrack/linuxproc, task/none), no accounting database.
#
#   scripts/slurm-local.sh start    install Debian's slurmd slurmctld slurm-client munge when
#                                   absent, write /etc/slurm/slurm.conf, start munged,
#                                   slurmctld and slurmd as plain processes, wait until the
#                                   node is idle
#   scripts/slurm-local.sh stop     cancel the jobs, stop the three daemons by their PIDs
#   scripts/slurm-local.sh status   the daemons' PIDs and `sinfo`
#   scripts/slurm-local.sh install  only install the packages
#
# The node offers all of this machine's CPUs and memory (`slurmd -C`) in one partition,
# `compute` (the name the docs use), with `Features=cpu` so the docs' `--constraint=cpu` is
# accepted. Logs, spool and PID files live in $MOLEXP_SLURM_DIR (default /tmp/molexp-slurm).
# An /etc/slurm/slurm.conf that this script did not write is never overwritten.
set -euo pipefail

STATE=${MOLEXP_SLURM_DIR:-/tmp/molexp-slurm}
CONF=/etc/slurm/slurm.conf
MARK="# written by molexp scripts/slurm-local.sh"
PACKAGES=(slurmd slurmctld slurm-client munge)

say() { echo "slurm-local: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}

need_root() {
    [[ $(id -u) == 0 ]] || die "run as root (it installs packages and starts system daemons)"
}

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null &&
        command -v sbatch >/dev/null && command -v munged >/dev/null; then
        return
    fi
    need_root
    command -v apt-get >/dev/null || die "no apt-get: install ${PACKAGES[*]} with your package manager"
    say "installing ${PACKAGES[*]} (apt-get)"
    local started=$SECONDS
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >"$STATE/apt.log" 2>&1 || {
        cat "$STATE/apt.log" >&2
        die "apt-get update failed"
    }
    apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >>"$STATE/apt.log" 2>&1 || {
        tail -30 "$STATE/apt.log" >&2
        die "apt-get install ${PACKAGES[*]} failed"
    }
    say "installed in $((SECONDS - started)) s"
}

write_config() {
    if [[ -e $CONF ]] && ! grep -qF "$MARK" "$CONF"; then
        die "$CONF exists and was not written by this script; not touching it"
    fi
    local host node
    host=$(hostname -s)
    # The node as slurmd sees it (CPUs, sockets, cores, memory): a mismatch would drain it.
    node=$(slurmd -C | head -1)
    [[ $node == NodeName=* ]] || die "slurmd -C printed no node line: $node"
    mkdir -p /etc/slurm "$STATE/ctld" "$STATE/d"
    cat >"$CONF" <<EOF
$MARK
# A single-node cluster for a container: no cgroups, no accounting. Remove with
# \`scripts/slurm-local.sh stop && rm $CONF\`.
ClusterName=molexp-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
# Quick reactions for tests: a job over its time limit is signalled, then killed 5 s later.
KillWait=5
MinJobAge=60
MessageTimeout=10
SlurmdTimeout=60
InactiveLimit=0
$node NodeAddr=127.0.0.1 Features=cpu State=UNKNOWN
PartitionName=compute Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    : >"$STATE/slurm.conf.written"
}

pid_alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
    mkdir -p "$STATE"
    install_packages
    need_root
    write_config
    # munged runs as its own user; its key comes with the Debian package.
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    if [[ ! -s /etc/munge/munge.key ]]; then
        command -v mungekey >/dev/null && mungekey --create --keyfile=/etc/munge/munge.key
        chown munge:munge /etc/munge/munge.key
        chmod 600 /etc/munge/munge.key
    fi
    if ! pid_alive "$STATE/munged.pid"; then
        runuser -u munge -- munged --pid-file=/run/munge/munged.pid \
            --log-file=/var/log/munge/munged.log ||
            die "munged did not start (see /var/log/munge/munged.log)"
        # munged writes its PID file as the munge user; keep our copy with the others.
        cp /run/munge/munged.pid "$STATE/munged.pid"
    fi
    if ! pid_alive "$STATE/slurmctld.pid"; then
        slurmctld || die "slurmctld did not start (see $STATE/slurmctld.log)"
    fi
    if ! pid_alive "$STATE/slurmd.pid"; then
        slurmd || die "slurmd did not start (see $STATE/slurmd.log)"
    fi
    local waited=0
    until sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; do
        if ((waited >= 120)); then
            sinfo >&2 || true
            tail -20 "$STATE/slurmctld.log" "$STATE/slurmd.log" >&2 || true
            die "the node did not become idle within 60 s"
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
    say "running: $(sinfo -h -o '%P %D %t %c CPUs %m MB features=%f')"
}

stop_pid() { # name pidfile
    local pidfile=$2 pid
    [[ -s $pidfile ]] || return 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "$1 (pid $pid) ignored SIGTERM for 10 s; killing it"
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile"
}

stop() {
    if pid_alive "$STATE/slurmctld.pid"; then
        scancel --full --quiet --state=PENDING,RUNNING --user="$(id -un)" 2>/dev/null || true
        scancel --full --quiet 2>/dev/null || true
        for _ in $(seq 50); do
            [[ -z $(squeue -h -t R,CG 2>/dev/null) ]] && break
            sleep 0.2
        done
    fi
    stop_pid slurmd "$STATE/slurmd.pid"
    stop_pid slurmctld "$STATE/slurmctld.pid"
    stop_pid munged "$STATE/munged.pid"
    say "stopped"
}

status() {
    local name
    for name in munged slurmctld slurmd; do
        if pid_alive "$STATE/$name.pid"; then
            echo "$name: pid $(cat "$STATE/$name.pid")"
        else
            echo "$name: not running"
        fi
    done
    sinfo 2>/dev/null || true
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
install)
    mkdir -p "$STATE"
    install_packages
    ;;
*)
    echo "usage: $0 start|stop|status|install" >&2
    exit 2
    ;;
esac
