#!/usr/bin/env bash
# sheaf-cluster's slurm backend on three real hosts: tests/hosts/cluster.sh makes three network
# namespaces with their own hostnames and addresses on a private bridge, and starts Slurm on
# them (munged and slurmctld on the first, one slurmd per host, `slurmd -N HOST`). The
# launcher, run on the first host, holds a three-node allocation with sbatch and runs word
# count in it with srun --mpi=pmix, one rank per host; the output is compared with a coreutils
# reference and the job's report must place one rank on each host. Then a host dies while a
# step runs (its slurmd, slurmstepd and rank killed): the step fails with reason NODE_FAIL and
# its output has no _SUCCESS.
#
# Needs root, network namespaces and Slurm (slurmctld, slurmd, slurm-client, munge);
# otherwise it skips (exit 77) with the reason. Every service it uses is started here and
# stopped at the end, failure or not (common.sh).

# shellcheck source=common.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SLURM_CONF=$("$CLUSTER" slurm "$C" 2>"$WORK/slurm.err")
case $? in
0) export SLURM_CONF ;;
77) skip "$(cat "$WORK/slurm.err")" ;;
*) echo "FAIL: Slurm did not start: $(cat "$WORK/slurm.err")"; exit 1 ;;
esac

wc="$SHEAF wordcount -i $WORK/in -o $WORK/out --split-size 16K --bind none"
ID=$(on sheaf-n1 "$LAUNCHER" create --name three --backend slurm --nodes 3 --ranks-per-node 1 \
    --partition sheaf --time 10 --step "name=wc,cmd=$wc")
[[ $ID == j-* ]] || { echo "FAIL: create printed '$ID'"; exit 1; }
st=$(on sheaf-n1 "$LAUNCHER" wait "$ID" --step 1 --timeout 90)
if [[ $st == "s-0001	COMPLETED" ]]; then
    ok "word count on three Slurm nodes completed"
else
    fail "word count step: '$st'"
    show_step "$ID" s-0001
fi
check_wordcount "$WORK/out"
job=$(jq -r .slurm_job_id "$SHEAF_HOME/clusters/$ID/cluster.json")
nodes=$(on sheaf-n1 squeue -h -j "$job" -o %N)
if [[ $nodes == "sheaf-n[1-3]" ]]; then
    ok "the allocation holds the three hosts"
else
    fail "the allocation $job holds '$nodes'"
fi

slow="env SHEAF_FAULT=pause-prepare:60 $SHEAF wordcount -i $WORK/in -o $WORK/out2 --bind none"
on sheaf-n1 "$LAUNCHER" add-steps "$ID" --step "name=dies,cmd=$slow" >/dev/null
host_dies "$ID" s-0002 "$WORK/out2"
finish
