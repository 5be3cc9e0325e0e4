#!/usr/bin/env bash
# sheaf-cluster's hosts backend on three real hosts: tests/hosts/cluster.sh makes three network
# namespaces with their own hostnames, addresses on a private bridge and sshds; the launcher,
# run on the first host, starts word count through mpirun over ssh on all three, its ranks
# talking TCP over the bridge. The output is compared with a coreutils reference and the job's
# report must place one rank on each host. Then a host dies while a step runs (every process
# of its namespace killed): the step fails with reason NODE_FAIL and its output has no
# _SUCCESS.
#
# SHEAF_TEST_KEEP=1 keeps the test's directory (logs, the launcher's state) for a look.
# Needs root and network namespaces; otherwise it skips (exit 77) with the reason. Every
# service it uses is started here and stopped at the end, failure or not.

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
: "${SHEAF:=${top_builddir:-$top_srcdir}/sheaf}"
CLUSTER=$here/cluster.sh
LAUNCHER=${SHEAF_CLUSTER:-$top_srcdir/scripts/sheaf-cluster}
# The failure reason of a step whose host died.
NODE_REASON=NODE_FAIL

skip() { echo "SKIP: $*"; exit 77; }
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

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
    # Whatever is left on the hosts (the runner, mpirun, sshd) goes with the namespaces.
    [[ -z $C ]] || "$CLUSTER" down "$C" || echo "cluster.sh down failed" >&2
    if [[ ${SHEAF_TEST_KEEP:-0} == 1 ]]; then
        echo "kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# on HOST CMD...: run CMD on HOST, with a bound on its time.
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

# The input: a few files, so that splits go to every rank; the reference by coreutils and awk.
mkdir "$WORK/in"
for f in 1 2 3 4 5 6; do
    awk -v f="$f" 'BEGIN { for (i = 0; i < 3000; i++) printf "w%d  alpha\tf%d x%d\n", i % 97, f, (i * f) % 13 }' \
        >"$WORK/in/part$f.txt"
done
printf 'the end\n\n' >>"$WORK/in/part6.txt"
cat "$WORK"/in/*.txt | tr -s ' \t\n' '\n' | grep -v '^$' | LC_ALL=C sort | uniq -c |
    awk '{ print $2 "\t" $1 }' | LC_ALL=C sort >"$WORK/expected"

cd "$WORK" || exit 1
wc="$SHEAF wordcount -i $WORK/in -o $WORK/out --split-size 16K --bind none"
ID=$(on sheaf-n1 "$LAUNCHER" create --name three --backend hosts --hostfile "$C/hostfile" \
    --ssh-config "$C/ssh_config" --ranks-per-node 1 --step "name=wc,cmd=$wc")
[[ $ID == j-* ]] || { echo "FAIL: create printed '$ID'"; exit 1; }
st=$(on sheaf-n1 "$LAUNCHER" wait "$ID" --step 1 --timeout 90)
sd=$SHEAF_HOME/clusters/$ID/steps/s-0001
if [[ $st == "s-0001	COMPLETED" ]]; then
    ok "word count on three hosts completed"
else
    fail "word count step: '$st'"
    cat "$SHEAF_HOME/clusters/$ID/runner.log" "$sd/stderr" "$sd"/ranks/rank.*.err 2>/dev/null | tail -n 30
fi
if [[ -f $WORK/out/_SUCCESS ]] && diff "$WORK/expected" <(cat "$WORK"/out/part-r-* | LC_ALL=C sort); then
    ok "output equals the coreutils reference ($(wc -l <"$WORK/expected") words)"
else
    fail "output differs from the reference or has no _SUCCESS"
fi
hosts=$(jq -r '[.ranks[].host] | sort | join(" ")' "$WORK/out/_report.json" 2>/dev/null)
if [[ $hosts == "sheaf-n1 sheaf-n2 sheaf-n3" ]]; then
    ok "the report places one rank on each host"
else
    fail "ranks ran on '$hosts', not on sheaf-n1 sheaf-n2 sheaf-n3"
fi
for h in sheaf-n2 sheaf-n3; do
    if grep -q 'Accepted publickey' "$C/hosts/$h/sshd.log"; then
        ok "$h was reached over ssh"
    else
        fail "$h's sshd logged no login"
    fi
done

# A host dies mid-step: rank 0 is held once the output directory exists (SHEAF_FAULT), the
# third host's processes are killed, and the step must fail for the node, without _SUCCESS.
slow="env SHEAF_FAULT=pause-prepare:60 $SHEAF wordcount -i $WORK/in -o $WORK/out2 --bind none"
on sheaf-n1 "$LAUNCHER" add-steps "$ID" --step "name=dies,cmd=$slow" >/dev/null
sd=$SHEAF_HOME/clusters/$ID/steps/s-0002
rank_on_n3() {
    local p
    for p in $("$CLUSTER" pids "$C" sheaf-n3); do
        [[ $(cat "/proc/$p/comm" 2>/dev/null) == sheaf ]] && return 0
    done
    return 1
}
for ((i = 0; i < 240; i++)); do
    [[ -d $WORK/out2 ]] && rank_on_n3 && break
    sleep 0.25
done
if ((i == 240)); then
    fail "the second step did not start its rank on sheaf-n3 within 60 s"
else
    "$CLUSTER" kill "$C" sheaf-n3 || fail "sheaf-n3's processes would not die"
    t0=$SECONDS
    st=$(on sheaf-n1 "$LAUNCHER" wait "$ID" --step 2 --timeout 60)
    reason=$(jq -r '.failure.reason // empty' "$sd/step.json")
    if [[ $st == "s-0002	FAILED" ]]; then
        ok "the step failed $((SECONDS - t0)) s after its host died"
    else
        fail "the step whose host died: '$st'"
    fi
    if [[ $reason == "$NODE_REASON" ]]; then
        ok "failure reason $reason"
    else
        fail "failure reason '$reason', expected $NODE_REASON ($(jq -c .failure "$sd/step.json"))"
        head -n 12 "$sd/stderr"; cat "$sd/ranks/exit-status"
    fi
    if [[ ! -e $WORK/out2/_SUCCESS ]]; then
        ok "no _SUCCESS after the node failure"
    else
        fail "$WORK/out2/_SUCCESS exists after the node failure"
    fi
fi

((failures == 0)) || { echo "$failures failure(s)"; exit 1; }
