#!/usr/bin/env bash
# sheaf-cluster's hosts backend on three real hosts: tests/hosts/cluster.sh makes three network
# namespaces with their own hostnames, addresses on a private bridge and sshds; the launcher,
# run on the first host, starts word count through mpirun over ssh on all three, its ranks
# talking TCP over the bridge. The output is compared with a coreutils reference and the job's
# report must place one rank on each host. Then a host dies while a step runs (every process
# of its namespace killed): the step fails with reason NODE_FAIL and its output has no
# _SUCCESS.
#
# Needs root and network namespaces; otherwise it skips (exit 77) with the reason. Every
# service it uses is started here and stopped at the end, failure or not (common.sh).

# shellcheck source=common.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

wc="$SHEAF wordcount -i $WORK/in -o $WORK/out --split-size 16K --bind none"
ID=$(on sheaf-n1 "$LAUNCHER" create --name three --backend hosts --hostfile "$C/hostfile" \
    --ssh-config "$C/ssh_config" --ranks-per-node 1 --step "name=wc,cmd=$wc")
[[ $ID == j-* ]] || { echo "FAIL: create printed '$ID'"; exit 1; }
st=$(on sheaf-n1 "$LAUNCHER" wait "$ID" --step 1 --timeout 90)
if [[ $st == "s-0001	COMPLETED" ]]; then
    ok "word count on three hosts completed"
else
    fail "word count step: '$st'"
    show_step "$ID" s-0001
fi
check_wordcount "$WORK/out"
for h in sheaf-n2 sheaf-n3; do
    if grep -q 'Accepted publickey' "$C/hosts/$h/sshd.log"; then
        ok "$h was reached over ssh"
    else
        fail "$h's sshd logged no login"
    fi
done

# A host dies mid-step: rank 0 is held once the output directory exists (SHEAF_FAULT), then
# the third host's processes are killed.
slow="env SHEAF_FAULT=pause-prepare:60 $SHEAF wordcount -i $WORK/in -o $WORK/out2 --bind none"
on sheaf-n1 "$LAUNCHER" add-steps "$ID" --step "name=dies,cmd=$slow" >/dev/null
host_dies "$ID" s-0002 "$WORK/out2"
finish
