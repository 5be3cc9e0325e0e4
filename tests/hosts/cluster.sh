#!/usr/bin/env bash
# A small cluster of hosts on this one machine, for testing sheaf-cluster's hosts and slurm
# backends against several real hosts: each host is a network namespace (`ip netns`) with its
# own hostname (a UTS namespace), its own address on a private bridge and its own sshd.
#
# The bridge lives in a namespace of its own, joined to each host by a veth pair; no namespace
# has a route out, so no traffic leaves the cluster and the root namespace is not touched. The
# hosts share this machine's file system, which serves as the cluster's shared file system.
# Keys (one host key per host, one user key) and every file of the cluster are kept in a
# private directory made by `up`.
#
# Usage (as root):
#   cluster.sh up [--hosts N] [--parent DIR]   start N hosts (default 3) named sheaf-n1..N;
#                                              prints the cluster's new directory (made under
#                                              DIR, default $TMPDIR or /tmp)
#   cluster.sh exec CDIR HOST CMD [ARG...]     run CMD on HOST (in its namespaces, as its sshd
#                                              sessions run), in the current directory
#   cluster.sh slurm CDIR                      start Slurm on the cluster: munged and
#                                              slurmctld on the first host, one slurmd per
#                                              host (slurmd -N HOST); prints the SLURM_CONF
#                                              to use (run Slurm's commands on a host)
#   cluster.sh pids CDIR HOST                  the processes of HOST, one pid a line
#   cluster.sh kill CDIR HOST                  kill every process of HOST (SIGKILL): it dies
#   cluster.sh down CDIR                       stop every process of the cluster, remove its
#                                              namespaces (the directory stays)
#   cluster.sh info CDIR                       the hosts, their addresses and the files to use
#
# Files in CDIR: hostfile (one host a line), ssh_config (`ssh -F CDIR/ssh_config sheaf-n2`),
# cluster.env (the subnet and the namespaces), hosts/NAME/ (sshd_config, sshd.pid, sshd.log),
# and after `slurm`, slurm/ (slurm.conf, munge/, state/, spool/HOST, tmp/HOST, log/).
# Every wait is bounded. Exit status: 0 success, 1 failure, 2 bad usage, 77 cannot run here
# (not root, no network namespaces, bridges or veth pairs, a tool missing), with the reason
# on stderr.

set -euo pipefail

SUBNET_PREFIX=10.213.7
SUBNET=$SUBNET_PREFIX.0/24
# What ssh passes on to the hosts: the sanitizers' settings, so that the ranks of a sanitizer
# build run alike on every host.
SEND_ENV="ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS LD_PRELOAD"

die() { printf 'cluster.sh: %s\n' "$*" >&2; exit 1; }
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
cannot() { printf 'cluster.sh: cannot run here: %s\n' "$*" >&2; exit 77; }

# check_can_run: root, ip netns, unshare, nsenter, sshd and ssh; exit 77 otherwise.
check_can_run() {
    local t
    ((EUID == 0)) || cannot "not root (network namespaces need root)"
    for t in ip unshare nsenter ssh ssh-keygen; do
        command -v "$t" >/dev/null 2>&1 || cannot "$t is missing"
    done
    [[ -x $(sshd_path) ]] || cannot "sshd is missing (Debian: openssh-server)"
    unshare --uts true 2>/dev/null || cannot "unshare --uts fails (no UTS namespaces here)"
}

sshd_path() { command -v sshd 2>/dev/null || echo /usr/sbin/sshd; }

# load CDIR: read cluster.env (PREFIX, HOSTS, BRIDGE_NS).
load() {
    CDIR=$1
    [[ -f $CDIR/cluster.env ]] || die "$CDIR is not a cluster directory (no cluster.env)"
    # shellcheck source=/dev/null
    . "$CDIR/cluster.env"
}

ns_of() { printf '%s-%s\n' "$PREFIX" "$1"; }

# host_pid HOST: the pid of HOST's sshd, which holds its namespaces.
host_pid() {
    local f=$CDIR/hosts/$1/sshd.pid pid
    [[ -s $f ]] || die "host $1 has no running sshd ($f)"
    pid=$(cat "$f")
    kill -0 "$pid" 2>/dev/null || die "host $1 is down (sshd $pid is gone)"
    printf '%s\n' "$pid"
}

# ns_pids NS: the processes in network namespace NS, one a line.
ns_pids() {
    ip netns pids "$1" 2>/dev/null || true
}

# kill_ns NS SIG: send SIG to every process of NS, then wait (at most 10 s) until none is left,
# sending SIGKILL after 5 s.
kill_ns() {
    local ns=$1 sig=$2 i pids
    for ((i = 0; i < 40; i++)); do
        pids=$(ns_pids "$ns")
        [[ -n $pids ]] || return 0
        ((i < 20)) || sig=KILL
        # shellcheck disable=SC2086  # one pid a word
        kill -"$sig" $pids 2>/dev/null || true
        sleep 0.25
    done
    pids=$(ns_pids "$ns")
    [[ -z $pids ]] || { echo "cluster.sh: processes left in $ns: $pids" >&2; return 1; }
}

cmd_up() {
    local n=3 parent=${TMPDIR:-/tmp} i name ns addr sshd
    while (($#)); do
        case $1 in
        --hosts) n=${2:?--hosts needs a number}; shift 2 ;;
        --parent) parent=${2:?--parent needs a directory}; shift 2 ;;
        *) usage >&2; exit 2 ;;
        esac
    done
    [[ $n =~ ^[1-9]$ ]] || { echo "cluster.sh: --hosts: 1 to 9" >&2; exit 2; }
    check_can_run
    CDIR=$(mktemp -d "$parent/sheaf-cluster.XXXXXX")
    chmod 700 "$CDIR"
    PREFIX=sheaf-${CDIR##*.}
    BRIDGE_NS=$PREFIX-br
    HOSTS=()
    for ((i = 1; i <= n; i++)); do HOSTS+=("sheaf-n$i"); done
    {
        printf 'PREFIX=%s\nBRIDGE_NS=%s\nSUBNET=%s\n' "$PREFIX" "$BRIDGE_NS" "$SUBNET"
        printf 'HOSTS=(%s)\n' "${HOSTS[*]}"
    } >"$CDIR/cluster.env"
    # From here on, a failure takes down what was made.
    trap 'cmd_down_quiet' EXIT
    ip netns add "$BRIDGE_NS" || cannot "ip netns add failed (no network namespaces?)"
    ip -n "$BRIDGE_NS" link add br0 type bridge || cannot "cannot make a bridge (no bridge module?)"
    ip -n "$BRIDGE_NS" link set br0 up
    ip -n "$BRIDGE_NS" link set lo up
    ssh-keygen -q -t ed25519 -N '' -f "$CDIR/id_ed25519" -C sheaf-cluster-user
    : >"$CDIR/known_hosts"
    {
        printf '# sheaf test cluster %s\n' "$CDIR"
        for ((i = 1; i <= n; i++)); do
            printf 'Host %s\n    HostName %s.%d\n' "${HOSTS[i - 1]}" "$SUBNET_PREFIX" $((10 + i))
        done
        printf 'Host *\n    User root\n    IdentityFile %s\n    IdentitiesOnly yes\n' \
            "$CDIR/id_ed25519"
        printf '    UserKnownHostsFile %s\n    StrictHostKeyChecking yes\n' "$CDIR/known_hosts"
        printf '    BatchMode yes\n    ConnectTimeout 5\n    LogLevel ERROR\n'
        printf '    SendEnv %s\n' "$SEND_ENV"
    } >"$CDIR/ssh_config"
    : >"$CDIR/hostfile"
    mkdir -p /run/sshd
    sshd=$(sshd_path)
    for ((i = 1; i <= n; i++)); do
        name=${HOSTS[i - 1]}
        ns=$(ns_of "$name")
        addr=$SUBNET_PREFIX.$((10 + i))
        ip netns add "$ns"
        ip -n "$BRIDGE_NS" link add "v$i" type veth peer name eth0 netns "$ns" ||
            cannot "cannot make a veth pair (no veth module?)"
        ip -n "$BRIDGE_NS" link set "v$i" master br0 up
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "$addr/24" dev eth0
        ip -n "$ns" link set eth0 up
        mkdir -p "$CDIR/hosts"
        mkdir -m 700 "$CDIR/hosts/$name"
        local hd=$CDIR/hosts/$name
        ssh-keygen -q -t ed25519 -N '' -f "$hd/host_key" -C "$name"
        printf '%s,%s %s\n' "$name" "$addr" "$(cut -d' ' -f1,2 "$hd/host_key.pub")" \
            >>"$CDIR/known_hosts"
        cat >"$hd/sshd_config" <<EOF
ListenAddress $addr
Port 22
HostKey $hd/host_key
AuthorizedKeysFile $CDIR/id_ed25519.pub
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $hd/sshd.pid
PermitUserEnvironment no
AcceptEnv $SEND_ENV
MaxStartups 100
EOF
        # The sshd holds the host's namespaces: its own network (ip netns exec) and hostname
        # (unshare --uts); every session it opens, and `exec`, runs in them.
        # shellcheck disable=SC2016  # the inner sh expands its own arguments
        ip netns exec "$ns" unshare --uts -- sh -c 'hostname "$1" && exec "$2" -f "$3" -E "$4"' \
            sh "$name" "$sshd" "$hd/sshd_config" "$hd/sshd.log" ||
            die "sshd of $name did not start: $(tail -n 3 "$hd/sshd.log" 2>/dev/null)"
        printf '%s\n' "$name" >>"$CDIR/hostfile"
    done
    for name in "${HOSTS[@]}"; do
        for ((i = 0; i < 80; i++)); do
            [[ -s $CDIR/hosts/$name/sshd.pid ]] &&
                ip netns exec "$(ns_of "${HOSTS[0]}")" ssh -F "$CDIR/ssh_config" "$name" true \
                    2>/dev/null && break
            sleep 0.25
        done
        ((i < 80)) ||
            die "host $name does not answer over ssh: $(tail -n 3 "$CDIR/hosts/$name/sshd.log")"
    done
    trap - EXIT
    printf '%s\n' "$CDIR"
}

cmd_down_quiet() { cmd_down "$CDIR" >/dev/null 2>&1 || true; }

cmd_down() {
    load "${1:?down needs the cluster directory}"
    local name ns rc=0
    for name in "${HOSTS[@]}"; do
        ns=$(ns_of "$name")
        [[ -e /run/netns/$ns ]] || continue
        kill_ns "$ns" TERM || rc=1
        ip netns del "$ns" || rc=1
    done
    if [[ -e /run/netns/$BRIDGE_NS ]]; then
        kill_ns "$BRIDGE_NS" TERM || rc=1
        ip netns del "$BRIDGE_NS" || rc=1
    fi
    return "$rc"
}

cmd_exec() {
    load "${1:?exec needs the cluster directory}"
    local host=${2:?exec needs a host} pid
    shift 2
    (($#)) || { echo "cluster.sh: exec needs a command" >&2; exit 2; }
    pid=$(host_pid "$host")
    exec nsenter --target "$pid" --net --uts --mount --wd="$PWD" -- "$@"
}

cmd_kill() {
    load "${1:?kill needs the cluster directory}"
    local host=${2:?kill needs a host}
    [[ " ${HOSTS[*]} " == *" $host "* ]] || die "no host $host in $CDIR"
    kill_ns "$(ns_of "$host")" KILL
}

# wait_for SECONDS CMD...: run CMD every quarter second until it succeeds; 1 after SECONDS.
wait_for() {
    local i limit=$(($1 * 4))
    shift
    for ((i = 0; i < limit; i++)); do
        "$@" 2>/dev/null && return 0
        sleep 0.25
    done
    return 1
}

# on_first CMD...: run CMD on the first host.
on_first() {
    nsenter --target "$(host_pid "${HOSTS[0]}")" --net --uts --mount -- "$@"
}

# nodes_idle: every host is an idle Slurm node.
nodes_idle() {
    [[ $(on_first sinfo -h -N -o %T | grep -c '^idle') == "${#HOSTS[@]}" ]]
}

cmd_slurm() {
    load "${1:?slurm needs the cluster directory}"
    local d=$CDIR/slurm name i=0 c m first=${HOSTS[0]} nodes t
    for t in munged slurmctld slurmd sinfo srun; do
        command -v "$t" >/dev/null 2>&1 ||
            cannot "$t is missing (Debian: munge slurmctld slurmd slurm-client)"
    done
    [[ ! -e $d ]] || die "Slurm was started on this cluster already ($d)"
    mkdir -m 700 "$d"
    mkdir -p "$d"/{state,spool,log}
    mkdir -m 700 "$d/munge"
    dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 2>/dev/null
    chmod 400 "$d/munge/munge.key"
    # munged runs on the first host, like the controller; its socket is a file every host sees.
    on_first "$(command -v munged)" --key-file="$d/munge/munge.key" \
        --socket="$d/munge/munge.socket" --pid-file="$d/munge/munged.pid" \
        --log-file="$d/munge/munged.log" --seed-file="$d/munge/seed" --force ||
        die "munged did not start"
    # The hosts share the machine: each gets all its cores and a share of its memory.
    c=$(nproc)
    m=$(($(free -m | awk '/^Mem:/{print $2}') * 8 / 10 / ${#HOSTS[@]}))
    nodes=$(IFS=,; echo "${HOSTS[*]}")
    {
        printf '%s\n' "ClusterName=sheafhosts" "SlurmctldHost=$first($SUBNET_PREFIX.11)" \
            "AuthType=auth/munge" "AuthInfo=socket=$d/munge/munge.socket" "CredType=cred/munge" \
            "SlurmUser=root" "SlurmdUser=root" "StateSaveLocation=$d/state" \
            "SlurmdSpoolDir=$d/spool/%n" "TmpFS=$d/tmp/%n" "SlurmctldPidFile=$d/slurmctld.pid" \
            "SlurmdPidFile=$d/slurmd-%n.pid" "SlurmctldLogFile=$d/log/slurmctld.log" \
            "SlurmdLogFile=$d/log/slurmd-%n.log" "ProctrackType=proctrack/linuxproc" \
            "TaskPlugin=task/none" "JobAcctGatherType=jobacct_gather/none" \
            "JobCompType=jobcomp/filetxt" "JobCompLoc=$d/log/jobcomp.txt" \
            "AccountingStorageType=accounting_storage/none" "SchedulerType=sched/backfill" \
            "SelectType=select/cons_tres" "SelectTypeParameters=CR_Core" "MpiDefault=none" \
            "ReturnToService=2" "JobRequeue=0" "SlurmdTimeout=10" "MessageTimeout=5" "KillWait=5"
        for name in "${HOSTS[@]}"; do
            i=$((i + 1))
            printf 'NodeName=%s NodeAddr=%s.%d CPUs=%d RealMemory=%d State=UNKNOWN\n' \
                "$name" "$SUBNET_PREFIX" $((10 + i)) "$c" "$m"
        done
        printf 'PartitionName=sheaf Nodes=%s Default=YES MaxTime=INFINITE State=UP\n' "$nodes"
    } >"$d/slurm.conf"
    export SLURM_CONF=$d/slurm.conf
    on_first "$(command -v slurmctld)" -f "$SLURM_CONF" -i ||
        die "slurmctld did not start: $(tail -n 3 "$d/log/slurmctld.log" 2>/dev/null)"
    for name in "${HOSTS[@]}"; do
        mkdir -p "$d/spool/$name" "$d/tmp/$name"
        # In the host's network and hostname but the machine's mounts: slurmd needs the
        # cgroup file system, which the host's own /sys (made by ip netns exec) lacks.
        nsenter --target "$(host_pid "$name")" --net --uts -- \
            "$(command -v slurmd)" -f "$SLURM_CONF" -N "$name" ||
            die "slurmd of $name did not start: $(tail -n 3 "$d/log/slurmd-$name.log" 2>/dev/null)"
    done
    wait_for 60 nodes_idle ||
        die "Slurm's nodes are not all idle after 60 s: $(on_first sinfo -N 2>&1 | tr '\n' ' ')"
    printf '%s\n' "$SLURM_CONF"
}

cmd_pids() {
    load "${1:?pids needs the cluster directory}"
    local host=${2:?pids needs a host}
    [[ " ${HOSTS[*]} " == *" $host "* ]] || die "no host $host in $CDIR"
    ns_pids "$(ns_of "$host")"
}

cmd_info() {
    load "${1:?info needs the cluster directory}"
    local name i=0
    for name in "${HOSTS[@]}"; do
        i=$((i + 1))
        printf '%s\t%s.%d\tnetns %s\n' "$name" "${SUBNET%.0/24}" $((10 + i)) "$(ns_of "$name")"
    done
    printf 'hostfile\t%s/hostfile\nssh_config\t%s/ssh_config\nsubnet\t%s\n' \
        "$CDIR" "$CDIR" "$SUBNET"
}

case ${1:-} in
up) shift; cmd_up "$@" ;;
down) shift; cmd_down "$@" ;;
exec) shift; cmd_exec "$@" ;;
kill) shift; cmd_kill "$@" ;;
pids) shift; cmd_pids "$@" ;;
slurm) shift; cmd_slurm "$@" ;;
info) shift; cmd_info "$@" ;;
-h | --help) usage ;;
*) usage >&2; exit 2 ;;
esac
