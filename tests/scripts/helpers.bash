# Shared helpers for the sheaf-cluster tests (loaded by every tests/scripts/*.bats file).
#
# The tests run against real services: Open MPI on this machine, an sshd started on 127.0.0.1
# on a private port with a throw-away key, and a single-node Slurm (munge, slurmctld, slurmd)
# with a private state directory and private ports. Whatever is missing is installed with
# apt-get; every daemon started here is stopped by the teardown of the file that started it.
# Every wait has a timeout so that nothing hangs.

: "${top_srcdir:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
SHEAF_CLUSTER=$top_srcdir/scripts/sheaf-cluster
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

APT_UPDATED=${APT_UPDATED:-0}

# `run !` and `run --separate-stderr` need bats 1.5.
bats_require_minimum_version 1.5.0

# ensure_packages CMD:PACKAGE...: install PACKAGE (apt-get) when CMD is missing.
ensure_packages() {
    local pair cmd pkg
    local -a missing=()
    for pair in "$@"; do
        cmd=${pair%%:*}
        pkg=${pair#*:}
        command -v "$cmd" >/dev/null 2>&1 || [[ -x $cmd ]] || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    command -v apt-get >/dev/null 2>&1 || {
        echo "missing ${missing[*]} and no apt-get to install them" >&2
        return 1
    }
    if [[ $APT_UPDATED == 0 ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || return 1
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# ensure_launcher_deps: what sheaf-cluster itself needs on every backend.
ensure_launcher_deps() {
    ensure_packages jq:jq flock:util-linux setsid:util-linux mpirun:openmpi-bin
}

# shm_is_tmpfs: whether /dev/shm is a writable tmpfs, where Sheaf's scripts and sheaf-cluster's
# local backend put Open MPI's session directory.
shm_is_tmpfs() {
    [[ -d /dev/shm && -w /dev/shm && $(stat -f -c %T /dev/shm) == tmpfs ]]
}

# sc ARGS...: run the launcher.
sc() {
    "$SHEAF_CLUSTER" "$@"
}

# new_home: a private SHEAF_HOME for the current test file.
new_home() {
    SHEAF_HOME=$(mktemp -d "${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}/sheaf-home.XXXXXX")
    export SHEAF_HOME
}

# cluster_field ID JQ-FILTER: read the cluster's description.
cluster_field() {
    jq -r "$2" "$SHEAF_HOME/clusters/$1/cluster.json"
}

# step_field ID STEP JQ-FILTER
step_field() {
    jq -r "$3" "$SHEAF_HOME/clusters/$1/steps/$2/step.json"
}

# wait_cluster_state ID STATE [SECONDS]: poll until the cluster is in STATE.
wait_cluster_state() {
    local id=$1 want=$2 limit=${3:-60} i st
    for ((i = 0; i < limit * 4; i++)); do
        st=$(cluster_field "$id" .state)
        [[ $st == "$want" ]] && return 0
        sleep 0.25
    done
    echo "cluster $id: expected state $want, still $st after ${limit}s" >&2
    return 1
}

# wait_step_state ID STEP STATE [SECONDS]
wait_step_state() {
    local id=$1 sid=$2 want=$3 limit=${4:-60} i st
    for ((i = 0; i < limit * 4; i++)); do
        st=$(step_field "$id" "$sid" .state)
        [[ $st == "$want" ]] && return 0
        sleep 0.25
    done
    echo "step $sid of $id: expected state $want, still $st after ${limit}s" >&2
    return 1
}

# terminate_all: end every cluster of this SHEAF_HOME (test file teardown).
terminate_all() {
    local d id
    [[ -d ${SHEAF_HOME:-}/clusters ]] || return 0
    for d in "$SHEAF_HOME"/clusters/j-*; do
        [[ -d $d ]] || continue
        id=${d##*/}
        sc terminate "$id" >/dev/null 2>&1 || true
        sc wait "$id" --timeout 30 >/dev/null 2>&1 || true
    done
}

# make_text FILE: a small text with repeated words, spaces, tabs and an empty line.
make_text() {
    {
        printf 'the quick brown fox\tjumps over the lazy dog\n'
        printf '\n  the   dog barks;  the fox runs\n'
        for i in $(seq 200); do printf 'alpha beta gamma w%d the\n' "$((i % 17))"; done
    } >"$1"
}

# check_wordcount INPUT OUTDIR: the job's output equals a coreutils reference.
check_wordcount() {
    local input=$1 out=$2
    [[ -f $out/_SUCCESS ]] || { echo "no $out/_SUCCESS" >&2; return 1; }
    [[ -f $out/_report.json ]] || { echo "no $out/_report.json" >&2; return 1; }
    diff <(tr -s ' \t\n' '\n' <"$input" | grep -v '^$' | LC_ALL=C sort | uniq -c |
            awk '{print $2 "\t" $1}' | LC_ALL=C sort) \
        <(cat "$out"/part-r-* | LC_ALL=C sort)
}

# require_sheaf: the word-count tests need the built sheaf command.
require_sheaf() {
    if [[ -z ${SHEAF:-} || ! -x ${SHEAF:-} ]]; then
        skip "the sheaf command is not built (SHEAF='${SHEAF:-}')"
    fi
}

# step_pids STEP_DIR: the pids of the processes of a local step (mpirun, the ranks and their
# children), which carry SHEAF_STEP_DIR=STEP_DIR in their environment; one per line.
step_pids() {
    local f
    for f in /proc/[0-9]*/environ; do
        if grep -qzxF "SHEAF_STEP_DIR=$1" "$f" 2>/dev/null; then
            f=${f#/proc/}
            printf '%s\n' "${f%/environ}"
        fi
    done
    return 0
}

# --- sshd on 127.0.0.1 -------------------------------------------------------------------

# free_port FIRST LAST: print a TCP port nobody listens on.
free_port() {
    local p
    for ((p = $1; p <= $2; p++)); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            printf '%d\n' "$p"
            return 0
        fi
    done
    return 1
}

# start_sshd DIR: start a private sshd for root on 127.0.0.1; writes DIR/ssh_config with the
# host aliases sheaf-node-a and sheaf-node-b (both 127.0.0.1) and sets SSHD_PID, SSHD_PORT.
start_sshd() {
    local dir=$1 sshd i
    ensure_packages sshd:openssh-server ssh:openssh-client ssh-keygen:openssh-client || return 1
    sshd=$(command -v sshd || echo /usr/sbin/sshd)
    mkdir -p "$dir" /run/sshd
    chmod 700 "$dir"
    ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key" -C sheaf-test-host || return 1
    ssh-keygen -q -t ed25519 -N '' -f "$dir/id_ed25519" -C sheaf-test-client || return 1
    cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
    chmod 600 "$dir/authorized_keys"
    SSHD_PORT=$(free_port 22200 22299) || return 1
    cat >"$dir/sshd_config" <<EOF
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $dir/sshd.pid
PermitUserEnvironment no
AcceptEnv OMPI_* SHEAF_* ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS
EOF
    cat >"$dir/ssh_config" <<EOF
Host sheaf-node-a sheaf-node-b 127.0.0.1
    HostName 127.0.0.1
    Port $SSHD_PORT
    User root
    IdentityFile $dir/id_ed25519
    IdentitiesOnly yes
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    LogLevel ERROR
    BatchMode yes
    # The sanitizer build's settings (its leak suppressions) reach the ranks on every host.
    SendEnv ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS
EOF
    "$sshd" -f "$dir/sshd_config" -E "$dir/sshd.log" || return 1
    for i in $(seq 40); do
        [[ -s $dir/sshd.pid ]] && ssh -F "$dir/ssh_config" sheaf-node-a true 2>/dev/null && break
        sleep 0.25
    done
    SSHD_PID=$(cat "$dir/sshd.pid" 2>/dev/null) || return 1
    export SSHD_PID SSHD_PORT
    ssh -F "$dir/ssh_config" sheaf-node-a true
}

stop_pidfile() {
    local f=$1 pid i
    [[ -s $f ]] || return 0
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || return 0
    for i in $(seq 40); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.25
    done
    kill -KILL "$pid" 2>/dev/null || true
}

# --- single-node Slurm ----------------------------------------------------------------------

# start_slurm DIR: munge, slurmctld and slurmd with private state and ports; exports SLURM_CONF.
start_slurm() {
    local d=$1 h c m port i
    ensure_packages munged:munge slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client \
        mpirun:openmpi-bin || return 1
    h=$(hostname -s)
    c=$(nproc)
    m=$(($(free -m | awk '/^Mem:/{print $2}') * 8 / 10))
    mkdir -p "$d"/{state,spool,log,munge}
    chmod 700 "$d/munge"
    dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 2>/dev/null
    chmod 400 "$d/munge/munge.key"
    "$(command -v munged || echo /usr/sbin/munged)" --key-file="$d/munge/munge.key" \
        --socket="$d/munge/munge.socket" --pid-file="$d/munge/munged.pid" \
        --log-file="$d/munge/munged.log" --seed-file="$d/munge/seed" --force || return 1
    port=$(free_port 26817 26899) || return 1
    local dport
    dport=$(free_port $((port + 1)) 26999) || return 1
    cat >"$d/slurm.conf" <<EOF
ClusterName=sheaftest
SlurmctldHost=$h(127.0.0.1)
AuthType=auth/munge
AuthInfo=socket=$d/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$dport
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/filetxt
JobCompLoc=$d/log/jobcomp.txt
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
KillWait=5
NodeName=$h NodeAddr=127.0.0.1 CPUs=$c RealMemory=$m State=UNKNOWN
PartitionName=sheaf Nodes=$h Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF=$d/slurm.conf
    "$(command -v slurmctld || echo /usr/sbin/slurmctld)" -f "$SLURM_CONF" -i || return 1
    "$(command -v slurmd || echo /usr/sbin/slurmd)" -f "$SLURM_CONF" || return 1
    for i in $(seq 60); do
        sinfo -h -o %T 2>/dev/null | grep -q idle && return 0
        sleep 0.5
    done
    echo "Slurm did not come up: $(sinfo 2>&1 | tail -n 3)" >&2
    return 1
}

stop_slurm() {
    local d=$1
    stop_pidfile "$d/slurmd.pid"
    stop_pidfile "$d/slurmctld.pid"
    stop_pidfile "$d/munge/munged.pid"
}
