#!/usr/bin/env bats
# sheaf-cluster on the slurm backend, against a real single-node Slurm (munge, slurmctld,
# slurmd) started here with a private state directory and private ports, without slurmdbd, so
# sacct is unavailable as on many small installations.

load helpers

setup_file() {
    ensure_launcher_deps
    new_home
    export SLURM_DIR=$BATS_FILE_TMPDIR/slurm
    if ! start_slurm "$SLURM_DIR" >"$BATS_FILE_TMPDIR/slurm-start.log" 2>&1; then
        export SLURM_UNAVAILABLE="Slurm could not be started: $(tail -n 3 "$BATS_FILE_TMPDIR/slurm-start.log" "$SLURM_DIR"/log/*.log 2>/dev/null | tr '\n' ' ')"
        stop_slurm "$SLURM_DIR"
        return 0
    fi
    export SLURM_CONF
}

teardown_file() {
    terminate_all
    stop_slurm "$SLURM_DIR"
}

setup() {
    [[ -z ${SLURM_UNAVAILABLE:-} ]] || skip "$SLURM_UNAVAILABLE"
    cd "$BATS_TEST_TMPDIR"
}

create_slurm() {
    run sc create --name slurm --backend slurm --nodes 1 --ranks-per-node 2 --partition sheaf --time 10 "$@"
    [ "$status" -eq 0 ]
    ID=$output
    [ -n "$(cluster_field "$ID" .slurm_job_id)" ]
}

@test "slurm: sbatch holds the allocation, steps run as srun --mpi=pmix" {
    printf 'echo "boot node $SHEAF_NODE_INDEX"\n' >boot.sh
    create_slurm --bootstrap boot.sh \
        --step 'name=ranks,cmd=sh -c "echo rank $SLURM_PROCID of $SLURM_NTASKS pmix $PMIX_RANK; echo note $SLURM_PROCID >&2"'
    run sc wait "$ID" --timeout 120
    [ "$status" -eq 0 ]
    [ "$output" = "$ID	WAITING" ]
    local job sd=$SHEAF_HOME/clusters/$ID/steps/s-0001
    job=$(cluster_field "$ID" .slurm_job_id)
    [ "$(squeue -h -j "$job" -o %T)" = RUNNING ]
    jq -e '.[0] == "srun" and index("--mpi=pmix") and index("--ntasks=2")' "$sd/command.json"
    [ "$(cat "$sd/ranks/rank.0.out")" = "rank 0 of 2 pmix 0" ]
    [ "$(cat "$sd/ranks/rank.1.out")" = "rank 1 of 2 pmix 1" ]
    [ "$(cat "$sd/stdout")" = "$(printf 'rank 0 of 2 pmix 0\nrank 1 of 2 pmix 1')" ]
    # logs splits them per step and rank
    [ "$(cat "$sd/ranks/rank.1.err")" = "note 1" ]
    run sc logs "$ID" --step 1 --stream stdout
    [ "$output" = "$(printf 'rank 0 of 2 pmix 0\nrank 1 of 2 pmix 1')" ]
    run sc logs "$ID" --step 1 --stream stderr
    [[ $output == *"note 0"*"note 1"* ]]
    run sc logs "$ID" --step 1 --rank 1
    [ "$output" = "$(printf '==> step s-0001 rank 1 stdout <==\nrank 1 of 2 pmix 1\n==> step s-0001 rank 1 stderr <==\nnote 1')" ]
    [ "$(cat "$SHEAF_HOME"/clusters/"$ID"/bootstrap/01-boot.sh.*.log)" = "boot node 0" ]
    [ -s "$SHEAF_HOME/clusters/$ID/hostfile" ]
    run sc ssh "$ID" -- sh -c 'echo "$SLURM_JOB_ID"'
    [ "$status" -eq 0 ]
    [ "$output" = "$job" ]
    run sc describe "$ID"
    [[ $output == *"SlurmJob:     $job"* ]]
    run sc terminate "$ID"
    run sc wait "$ID" --timeout 60
    [ "$output" = "$ID	TERMINATED" ]
    # The allocation is released.
    local i
    for i in $(seq 40); do
        [[ $(squeue -h -j "$job" -o %T 2>/dev/null) == "" ]] && break
        sleep 0.5
    done
    [ -z "$(squeue -h -j "$job" -o %T 2>/dev/null)" ]
}

@test "slurm: failing steps with CONTINUE, CANCEL_AND_WAIT, then TERMINATE_CLUSTER" {
    create_slurm \
        --step 'name=c,on-failure=CONTINUE,cmd=sh -c "[ $SLURM_PROCID = 1 ] && { echo bad record >&2; exit 3; }; sleep 2"' \
        --step 'name=ok,cmd=true' \
        --step 'name=w,on-failure=CANCEL_AND_WAIT,cmd=sh -c "exit 4"' \
        --step 'name=p,cmd=true'
    run sc wait "$ID" --timeout 120
    [ "$status" -eq 1 ]
    [ "$output" = "$ID	WAITING" ]
    run sc list-steps "$ID" --output json
    [ "$(jq -r 'map(.state) | join(" ")' <<<"$output")" = "FAILED COMPLETED FAILED CANCELLED" ]
    run sc describe-step "$ID" s-0001 --output json
    [ "$(jq -r .failure.reason <<<"$output")" = NON_ZERO_EXIT ]
    [ "$(jq -r .failure.rank <<<"$output")" = 1 ]
    [ "$(jq -r .failure.rank_exit_code <<<"$output")" = 3 ]
    [[ $(jq -r .failure.tail <<<"$output") == *"bad record"* ]]
    run sc add-steps "$ID" --step 'name=t,on-failure=TERMINATE_CLUSTER,cmd=false' --step 'name=q,cmd=true'
    [ "$status" -eq 0 ]
    run sc wait "$ID" --timeout 120
    [ "$status" -eq 1 ]
    [ "$output" = "$ID	TERMINATED_WITH_ERRORS" ]
    [ "$(step_field "$ID" s-0005 .state)" = FAILED ]
    [ "$(step_field "$ID" s-0006 .state)" = CANCELLED ]
}

@test "slurm: an allocation cancelled outside is noticed without sacct" {
    create_slurm --step 'name=long,cmd=sleep 60'
    wait_step_state "$ID" s-0001 RUNNING 60
    scancel "$(cluster_field "$ID" .slurm_job_id)"
    run sc wait "$ID" --timeout 90
    [ "$status" -eq 1 ]
    [ "$output" = "$ID	TERMINATED_WITH_ERRORS" ]
    [[ $(step_field "$ID" s-0001 .state) == @(FAILED|CANCELLED) ]]
}

@test "slurm: word count as an srun step matches coreutils" {
    require_sheaf
    make_text input.txt
    create_slurm --auto-terminate --step "name=wc,cmd=$SHEAF wordcount -i $PWD/input.txt -o $PWD/out" \
        --step "name=bad,on-failure=TERMINATE_CLUSTER,cmd=$SHEAF wordcount -i $PWD/missing.txt -o $PWD/out2"
    run sc wait "$ID" --timeout 180
    [ "$status" -eq 1 ]
    [ "$output" = "$ID	TERMINATED_WITH_ERRORS" ]
    [ "$(step_field "$ID" s-0001 .state)" = COMPLETED ] || { sc describe-step "$ID" 1 >&2; false; }
    check_wordcount input.txt out
    [ -f "$SHEAF_HOME/clusters/$ID/steps/s-0001/_report.json" ]
    [ "$(step_field "$ID" s-0002 .state)" = FAILED ]
}

@test "slurm: srun without PMI is refused with a clear message, srun --mpi=pmix works" {
    require_sheaf
    make_text input.txt
    # Without PMI each task starts as a lone MPI singleton: the runtime sees a world of one rank
    # where Slurm started two, and says so instead of running the job twice.
    run timeout 120 srun --mpi=none -n 2 -p sheaf "$SHEAF" wordcount -i "$PWD/input.txt" -o "$PWD/nopmi"
    [ "$status" -ne 0 ]
    [[ $output == *"Slurm started 2 tasks but MPI sees a world of 1 rank"* ]] || { echo "$output" >&2; false; }
    [[ $output == *"srun --mpi=pmix"* ]]
    [ ! -e "$PWD/nopmi/_SUCCESS" ]
    run timeout 120 srun --mpi=pmix -n 2 -p sheaf "$SHEAF" wordcount -i "$PWD/input.txt" -o "$PWD/pmix"
    [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
    check_wordcount input.txt pmix
    [ "$(jq '.ranks | length' "$PWD/pmix/_report.json")" -eq 2 ]
}

@test "slurm: srun --pty draws the progress bar on its terminal, never into a file" {
    require_sheaf
    command -v script >/dev/null 2>&1 || skip "no script(1)"
    seq -f 'w%.0f' 1 200000 >d.txt
    # srun --pty gives task 0 (rank 0) the terminal that script(1) makes: the bar shows
    # without --progress, over both ranks
    run timeout 120 script -qec "srun --pty --mpi=pmix -n 2 -p sheaf $SHEAF wordcount \
        -i $PWD/d.txt -o $PWD/pty --split-size 16K" /dev/null
    [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
    tr '\r' '\n' <<<"$output" >pty.frames
    [ "$(grep -c '^map     \[' pty.frames)" -ge 2 ]
    grep -q '^shuffle [0-9]* rounds\?, .* exchanged by 2 ranks' pty.frames
    grep -q '^reduce  2/2 sorted .*, 2/2 done: 200000 groups' pty.frames
    [ "$(jq '.ranks | length' pty/_report.json)" -eq 2 ]
    [ "$(cat pty/part-r-* | wc -l)" -eq 200000 ]
    [ "$(cut -f2 pty/part-r-* | sort -u)" = 1 ]
    # --no-progress on the same terminal: none
    run timeout 120 script -qec "srun --pty --mpi=pmix -n 2 -p sheaf $SHEAF wordcount \
        -i $PWD/d.txt -o $PWD/pty2 --no-progress" /dev/null
    [ "$status" -eq 0 ]
    [[ $output != *"map     ["* ]]
    [ -f pty2/_SUCCESS ]
    # without --pty, on a terminal, srun sends the ranks' stderr through itself: a file, none
    run timeout 120 script -qec "srun --mpi=pmix -n 2 -p sheaf $SHEAF wordcount \
        -i $PWD/d.txt -o $PWD/file 2>$PWD/file.err" /dev/null
    [ "$status" -eq 0 ]
    grep -q 'job succeeded' file.err
    run grep -c 'map     \[' file.err
    [ "$output" -eq 0 ]
    [ -f file/_SUCCESS ]
}

@test "slurm: steps and bootstrap actions run with the creator's umask" {
    printf 'umask >"%s/boot-umask"\n' "$PWD" >boot.sh
    local old
    old=$(umask)
    umask 027
    create_slurm --auto-terminate --bootstrap boot.sh \
        --step 'name=u,cmd=sh -c "umask; mkdir d$SLURM_PROCID; touch f$SLURM_PROCID"'
    umask "$old"
    run sc wait "$ID" --timeout 120
    [ "$status" -eq 0 ]
    local sd=$SHEAF_HOME/clusters/$ID/steps/s-0001
    [ "$(cat boot-umask)" = 0027 ]
    [ "$(cat "$sd/ranks/rank.0.out" "$sd/ranks/rank.1.out" | tr '\n' ' ')" = "0027 0027 " ]
    [ "$(stat -c %a d0 d1 f0 f1 | tr '\n' ' ')" = "750 750 640 640 " ]
    [ "$(stat -c %a "$sd/ranks/rank.0.out" "$sd/stdout" | tr '\n' ' ')" = "600 600 " ]
}

@test "slurm: --mem, --exclusive and --sbatch-arg reach sbatch; an idle cluster releases its allocation" {
    create_slurm --mem 100 --exclusive --sbatch-arg=--comment=sheaf-test --idle-timeout 3 \
        --step 'name=t,cmd=true'
    local job
    job=$(cluster_field "$ID" .slurm_job_id)
    run scontrol show job "$job"
    [[ $output == *"Comment=sheaf-test"* ]]
    [[ $output == *"OverSubscribe=NO"* ]]
    # the job's request (its TRES line drops mem once an exclusive job runs)
    [[ $output == *"MinMemoryNode=100M"* ]]
    run sc wait cluster-terminated --cluster-id "$ID" --timeout 120
    [ "$status" -eq 0 ]
    [ "$(cluster_field "$ID" .state_reason)" = "Idle for 3 s" ]
    [ "$(step_field "$ID" s-0001 .state)" = COMPLETED ]
    local i
    for i in $(seq 40); do
        [[ $(squeue -h -j "$job" -o %T 2>/dev/null) == "" ]] && break
        sleep 0.5
    done
    [ -z "$(squeue -h -j "$job" -o %T 2>/dev/null)" ]
    # a constraint no node has is refused by sbatch, and said so
    run sc create --name bad --backend slurm --partition sheaf --constraint no-such-feature \
        --step 'cmd=true'
    [ "$status" -eq 1 ]
    [[ $output == *"sbatch failed"* ]]
    run sc create --name x --backend local --mem 1G
    [ "$status" -eq 2 ]
    [[ $output == *"'--mem' is only for --backend slurm"* ]]
}
