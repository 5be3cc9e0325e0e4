# shellcheck shell=bash
# What tests/hosts/hosts.sh and tests/hosts/slurm.sh share: the checks that make them skip, a
# private work directory and a three-host cluster (cluster.sh) torn down at exit whatever
# happens, the input of the word count and its coreutils reference, and the host failure:
# wait for a step's rank on a host, kill the host, and check how the step ended.
# Source it; it sets up the cluster as it is sourced and exits 77 when it cannot.
#
# SHEAF_TEST_KEEP=1 keeps the work directory (logs, the launcher's state) for a look.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
: "${SHEAF:=${top_builddir:-$top_srcdir}/sheaf}"
CLUSTER=$here/cluster.sh
LAUNCHER=${SHEAF_CLUSTER:-$top_srcdir/scripts/sheaf-cluster}
# The failure reason of a step whose host died (SHEAF_TEST_NODE_REASON: another name, to try
# a launcher that spells it differently).
NODE_REASON=${SHEAF_TEST_NODE_REASON:-NODE_FAIL}

skip() { echo "SKIP: $*"; exit 77; }
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
finish() { ((failures == 0)) || { echo "$failures failure(s)"; exit 1; }; }

((EUID == 0)) || skip "not root: network namespaces need root"
[[ -x $SHEAF ]] || skip "the sheaf command is not built ($SHEAF)"
for t in jq mpirun ip unshare nsenter flock setsid; do
    command -v "$t" >/dev/null 2>&1 || skip "$t is missing"
done

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sheaf-hosts-test.XXXXXX") || exit 1
chmod 700 "$WORK"
export SHEAF_HOME=$WORK/home
C=

cleanup() {
    local d
    for d in "$SHEAF_HOME"/clusters/j-*; do
        [[ -d $d && -n $C ]] || continue
        on sheaf-n1 "$LAUNCHER" terminate "${d##*/}" >/dev/null 2>&1
        on sheaf-n1 timeout 40 "$LAUNCHER" wait "${d##*/}" --timeout 30 >/dev/null 2>&1
    done
    # Whatever is left on the hosts (runners, mpirun, Slurm's daemons, sshd) goes with them.
    [[ -z $C ]] || "$CLUSTER" down "$C" || echo "cluster.sh down failed" >&2
    if [[ ${SHEAF_TEST_KEEP:-0} == 1 ]]; then
        echo "kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# on HOST CMD...: run CMD on HOST, for at most two minutes.
on() {
    local host=$1
    shift
    timeout 120 "$CLUSTER" exec "$C" "$host" "$@"
}

C=$("$CLUSTER" up --parent "$WORK" 2>"$WORK/up.err")
case $? in
0) ;;
77) skip "$(cat "$WORK/up.err")" ;;
*) echo "cluster.sh up failed: $(cat "$WORK/up.err")"; exit 1 ;;
esac
# shellcheck source=/dev/null
SUBNET=$(. "$C/cluster.env" && echo "$SUBNET")
# MPI's own traffic (its daemons' and the ranks') only on the bridge; the ranks of different
# hosts talk TCP.
export OMPI_MCA_oob_tcp_if_include=$SUBNET OMPI_MCA_btl_tcp_if_include=$SUBNET
export OMPI_MCA_btl=self,vader,tcp

# The cluster's traffic stays inside it: a host reaches the others, and nothing beyond.
for h in sheaf-n1 sheaf-n2 sheaf-n3; do
    if on "$h" ip -4 route get "${SUBNET%.0/24}.11" >/dev/null 2>&1 &&
        ! on "$h" ip -4 route get 192.0.2.1 >/dev/null 2>&1; then
        ok "$h has no route out of the cluster"
    else
        fail "$h: $(on "$h" ip -4 route show 2>&1 | tr '\n' ' ')"
    fi
done

# The input: a few files, so that splits go to every rank; the reference by coreutils and awk.
mkdir "$WORK/in"
for f in 1 2 3 4 5 6; do
    awk -v f="$f" 'BEGIN { for (i = 0; i < 3000; i++)
        printf "w%d  alpha\tf%d x%d\n", i % 97, f, (i * f) % 13 }' >"$WORK/in/part$f.txt"
done
printf 'the end\n\n' >>"$WORK/in/part6.txt"
cat "$WORK"/in/*.txt | tr -s ' \t\n' '\n' | grep -v '^$' | LC_ALL=C sort | uniq -c |
    awk '{ print $2 "\t" $1 }' | LC_ALL=C sort >"$WORK/expected"
cd "$WORK" || exit 1

# check_wordcount OUT: OUT has _SUCCESS, equals the reference, and its report puts one rank on
# each host.
check_wordcount() {
    local out=$1 hosts
    if [[ -f $out/_SUCCESS ]] && diff "$WORK/expected" <(cat "$out"/part-r-* | LC_ALL=C sort); then
        ok "output equals the coreutils reference ($(wc -l <"$WORK/expected") words)"
    else
        fail "output differs from the reference or has no _SUCCESS"
    fi
    hosts=$(jq -r '[.ranks[].host] | sort | join(" ")' "$out/_report.json" 2>/dev/null)
    if [[ $hosts == "sheaf-n1 sheaf-n2 sheaf-n3" ]]; then
        ok "the report places one rank on each host"
    else
        fail "ranks ran on '$hosts', not on sheaf-n1 sheaf-n2 sheaf-n3"
    fi
}

# show_step ID STEP: the launcher's logs of a step, for a failure's diagnosis.
show_step() {
    local cd=$SHEAF_HOME/clusters/$1
    tail -n 5 "$cd/runner.log"
    head -n 12 "$cd/steps/$2/stderr"
    tail -n 5 "$cd"/steps/"$2"/ranks/* 2>/dev/null
}

# rank_on HOST: a sheaf process (lt-sheaf when libtool wraps it) runs on HOST.
rank_on() {
    local p
    for p in $("$CLUSTER" pids "$C" "$1"); do
        [[ $(cat "/proc/$p/comm" 2>/dev/null) == @(sheaf|lt-sheaf) ]] && return 0
    done
    return 1
}

# host_dies ID STEP OUT: once OUT exists (rank 0 is held there by SHEAF_FAULT) and the step's
# rank runs on sheaf-n3, kill every process of sheaf-n3; the step must fail with NODE_REASON
# within a minute and OUT must have no _SUCCESS.
host_dies() {
    local id=$1 step=$2 out=$3 i t0 st reason sd=$SHEAF_HOME/clusters/$1/steps/$2
    for ((i = 0; i < 240; i++)); do
        [[ -d $out ]] && rank_on sheaf-n3 && break
        sleep 0.25
    done
    if ((i == 240)); then
        fail "step $step did not start its rank on sheaf-n3 within 60 s"
        show_step "$id" "$step"
        return
    fi
    "$CLUSTER" kill "$C" sheaf-n3 || fail "sheaf-n3's processes would not die"
    t0=$SECONDS
    st=$(on sheaf-n1 "$LAUNCHER" wait "$id" --step "$step" --timeout 90)
    reason=$(jq -r '.failure.reason // empty' "$sd/step.json")
    if [[ $st == "$step	FAILED" ]]; then
        ok "the step failed $((SECONDS - t0)) s after its host died"
    else
        fail "the step whose host died: '$st'"
    fi
    if [[ $reason == "$NODE_REASON" ]]; then
        ok "failure reason $reason"
    else
        fail "failure reason '$reason', expected $NODE_REASON ($(jq -c .failure "$sd/step.json"))"
        show_step "$id" "$step"
    fi
    if [[ ! -e $out/_SUCCESS ]]; then
        ok "no _SUCCESS after the node failure"
    else
        fail "$out/_SUCCESS exists after the node failure"
    fi
}
