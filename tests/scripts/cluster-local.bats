#!/usr/bin/env bats
# sheaf-cluster on the local backend: every verb, every state transition, ActionOnFailure,
# argument arrays, failure analysis, locking and the files it leaves behind.

load helpers

setup_file() {
    ensure_launcher_deps
    new_home
}

teardown_file() {
    terminate_all
}

setup() {
    cd "$BATS_TEST_TMPDIR"
}

# A test that keeps its clusters in a home of its own ends them itself: bats removes the
# test's directory next, and a runner still writing there would make that fail (and live on).
teardown() {
    if [[ ${SHEAF_HOME:-} == "$BATS_TEST_TMPDIR"/* ]]; then
        terminate_all
    fi
}

# env_step VAR... -- ASSIGNMENT STEP: run one step on a new local cluster with the variables
# VAR unset and ASSIGNMENT made (in the launcher's environment), wait for it, and set SD to
# the step's directory.
env_step() {
    local -a unset=()
    while [[ $1 != -- ]]; do
        unset+=(-u "$1")
        shift
    done
    run env "${unset[@]}" "$2" "$SHEAF_CLUSTER" create --name env --backend local \
        --auto-terminate --step "$3"
    [ "$status" -eq 0 ]
    ID=$output
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 0 ]
    SD=$SHEAF_HOME/clusters/$ID/steps/s-0001
}

# create_cluster ARGS...: create a local cluster and set ID.
create_cluster() {
    run sc create --name "${BATS_TEST_NAME:0:30}" --backend local "$@"
    [ "$status" -eq 0 ]
    ID=$output
    [[ $ID =~ ^j-[A-Z0-9]{8}$ ]]
}

@test "help: every verb has --help; bad usage exits 2 naming the problem" {
    run sc --help
    [ "$status" -eq 0 ]
    [[ $output == *"Usage: sheaf-cluster VERB"* ]]
    for v in create add-steps list-steps describe-step cancel-steps wait logs ssh terminate list describe; do
        run sc "$v" --help
        [ "$status" -eq 0 ]
        [[ $output == *"Usage: sheaf-cluster $v"* ]]
    done
    run sc frobnicate
    [ "$status" -eq 2 ]
    [[ $output == *"unknown verb 'frobnicate'"* ]]
    run sc
    [ "$status" -eq 2 ]
    run sc list --bogus
    [ "$status" -eq 2 ]
    [[ $output == *"'--bogus'"* ]]
    run sc list --output yaml
    [ "$status" -eq 2 ]
    [[ $output == *"bad --output 'yaml'"* ]]
}

@test "create: validates its options before creating anything" {
    run sc create --backend local
    [ "$status" -eq 2 ]
    [[ $output == *"'--name' is required"* ]]
    run sc create --name x --backend cloud
    [ "$status" -eq 2 ]
    [[ $output == *"bad --backend 'cloud'"* ]]
    run sc create --name x --backend local --nodes 0
    [ "$status" -eq 2 ]
    [[ $output == *"bad --nodes '0'"* ]]
    run sc create --name x --backend local --ranks-per-node two
    [ "$status" -eq 2 ]
    [[ $output == *"bad --ranks-per-node 'two'"* ]]
    run sc create --name x --backend local --time 10
    [ "$status" -eq 2 ]
    [[ $output == *"'--time' is only for --backend slurm"* ]]
    run sc create --name x --backend hosts
    [ "$status" -eq 2 ]
    [[ $output == *"'--hostfile' is required"* ]]
    run sc create --name x --backend local --bootstrap /nonexistent/boot.sh
    [ "$status" -eq 2 ]
    [[ $output == *"cannot read --bootstrap '/nonexistent/boot.sh'"* ]]
    run sc create --name x --backend local --step 'name=a,colour=red,cmd=true'
    [ "$status" -eq 2 ]
    [[ $output == *"unknown key 'colour'"* ]]
    run sc create --name x --backend local --step 'name=a,on-failure=PANIC,cmd=true'
    [ "$status" -eq 2 ]
    [[ $output == *"bad on-failure 'PANIC'"* ]]
    run sc create --name x --backend local --step "cmd=echo 'unterminated"
    [ "$status" -eq 2 ]
    [[ $output == *"unterminated quote"* ]]
    run sc create --name x --backend local --step 'args=["a",1]'
    [ "$status" -eq 2 ]
    [[ $output == *"JSON array of strings"* ]]
    run sc create --name x --backend local --step 'name=a'
    [ "$status" -eq 2 ]
    [[ $output == *"has no command"* ]]
    run sc create --name x --backend local --nodes
    [ "$status" -eq 2 ]
    [[ $output == *"'--nodes' needs a value"* ]]
    run sc list --output json
    [ "$status" -eq 0 ]
    [ "$(jq length <<<"$output")" -eq 0 ]
}

@test "a missing mpirun is named before anything is created" {
    MPIRUN=$PWD/no-such-mpirun run sc create --name x --backend local
    [ "$status" -eq 1 ]
    [[ $output == *"'$PWD/no-such-mpirun' is required but was not found"* ]]
    run sc list --output json
    [ "$(jq length <<<"$output")" -eq 0 ]
}

@test "create returns at once; cluster goes STARTING, BOOTSTRAPPING, RUNNING, WAITING" {
    local t0=$SECONDS
    create_cluster --ranks-per-node 2 --step 'name=slow,cmd=sleep 3'
    ((SECONDS - t0 < 3))
    wait_step_state "$ID" s-0001 RUNNING 30
    [ "$(cluster_field "$ID" .state)" = RUNNING ]
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 0 ]
    [ "$output" = "$ID	WAITING" ]
    run cluster_field "$ID" '[.history[].state] | join(" ")'
    [ "$output" = "STARTING BOOTSTRAPPING RUNNING WAITING" ]
    run step_field "$ID" s-0001 '[.history[].state] | join(" ")'
    [ "$output" = "PENDING RUNNING COMPLETED" ]
    # A WAITING cluster runs steps added later.
    run sc add-steps "$ID" --step 'name=later,cmd=true' --step 'name=later2,cmd=true'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = s-0002 ]
    [ "${lines[1]}" = s-0003 ]
    run sc wait "$ID" --step s-0003 --timeout 60
    [ "$status" -eq 0 ]
    [ "$output" = "s-0003	COMPLETED" ]
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 0 ]
    [ "$(cluster_field "$ID" '[.history[].state] | join(" ")')" = "STARTING BOOTSTRAPPING RUNNING WAITING RUNNING WAITING" ]
}

@test "step commands are argument arrays: quotes, spaces, commas, no expansion" {
    cat >steps.json <<'EOF'
{"name": "fromfile", "args": ["printf", "<%s>", "x y", "$HOME", "*"], "launcher": "none"}
{"name": "fromfile-cmd", "cmd": "printf '<%s>' \"q r\" s\\ t", "launcher": "none"}
EOF
    create_cluster \
        --step "name=cmd,launcher=none,cmd=printf <%s> \"a b\" 'c,d' e\\ f \$HOME * \"x\\\"y\" ''" \
        --step 'name=args,launcher=none,args=["printf","<%s>","1, 2","it'"'"'s"]' \
        --steps-file steps.json
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 0 ]
    run sc logs "$ID" --step s-0001 --stream stdout
    [ "$output" = '<a b><c,d><e f><$HOME><*><x"y><>' ]
    run step_field "$ID" s-0001 '.args | length'
    [ "$output" -eq 9 ]
    run sc logs "$ID" --step 2 --stream stdout
    [ "$output" = "<1, 2><it's>" ]
    run sc logs "$ID" --step 3 --stream stdout
    [ "$output" = '<x y><$HOME><*>' ]
    run sc logs "$ID" --step 4 --stream stdout
    [ "$output" = '<q r><s t>' ]
    # The exact command is kept as a JSON array.
    run jq -r '.[0]' "$SHEAF_HOME/clusters/$ID/steps/s-0002/command.json"
    [ "$output" = printf ]
}

@test "mpi steps run on nodes x ranks-per-node ranks with per-rank logs" {
    create_cluster --nodes 2 --ranks-per-node 2 \
        --step 'name=ranks,cmd=sh -c "echo rank $OMPI_COMM_WORLD_RANK of $OMPI_COMM_WORLD_SIZE; echo note $OMPI_COMM_WORLD_RANK >&2"'
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 0 ]
    local sd=$SHEAF_HOME/clusters/$ID/steps/s-0001
    [ "$(jq -r '.[0:3] | join(" ")' "$sd/command.json")" = "${MPIRUN:-mpirun} -np 4" ]
    [ "$(sort "$sd/stdout" | tr '\n' ' ')" = "rank 0 of 4 rank 1 of 4 rank 2 of 4 rank 3 of 4 " ]
    for r in 0 1 2 3; do
        [ "$(cat "$sd/ranks/rank.$r.out")" = "rank $r of 4" ]
        [ "$(cat "$sd/ranks/rank.$r.err")" = "note $r" ]
    done
    run sc logs "$ID" --rank 2
    [ "$status" -eq 0 ]
    [[ $output == *"==> step s-0001 rank 2 stdout <=="*"rank 2 of 4"*"note 2"* ]]
    run sc logs "$ID" --step s-0001 --rank 3 --stream stderr
    [ "$output" = "note 3" ]
    run sc logs "$ID" --rank 9
    [ "$status" -eq 1 ]
    run sc logs "$ID"
    [[ $output == *"cluster WAITING"* ]]
}

@test "mpirun starts without hwloc's I/O discovery unless told otherwise" {
    if [[ -n $(ls -A /sys/class/infiniband /sys/class/cxi 2>/dev/null) ]] ||
        compgen -G '/dev/hfi1_*' >/dev/null || compgen -G '/dev/ipath*' >/dev/null; then
        skip "this node has a fabric device"
    fi
    local step='name=env,cmd=sh -c "echo ${HWLOC_COMPONENTS:-unset} ${HWLOC_PLUGINS_BLACKLIST:-unset}"'
    local plugins=hwloc_gl,hwloc_opencl,hwloc_pci,hwloc_xml_libxml,hwloc_cuda,hwloc_nvml
    plugins+=,hwloc_rsmi,hwloc_levelzero
    local want=("-linuxio,-pci $plugins" "unset unset" "-x11 $plugins" "-linuxio,-pci a,b")
    local -a env=(SHEAF_MPI_FAST_START=1 SHEAF_MPI_FAST_START=0 HWLOC_COMPONENTS=-x11
        HWLOC_PLUGINS_BLACKLIST=a,b)
    local i
    for i in 0 1 2 3; do
        env_step HWLOC_COMPONENTS HWLOC_PLUGINS_BLACKLIST -- "${env[i]}" "$step"
        [ "$(cat "$SD/stdout")" = "${want[i]}" ]
        # command.json holds the command alone
        [ "$(jq -r '.[0]' "$SD/command.json")" = "${MPIRUN:-mpirun}" ]
    done
}

@test "a local step keeps Open MPI's session directory in /dev/shm unless told otherwise" {
    shm_is_tmpfs || skip "/dev/shm is not a writable tmpfs here"
    # OMPI_FILE_LOCATION is the rank's own session directory, under the base Open MPI used
    local step='name=env,cmd=sh -c "echo ${OMPI_FILE_LOCATION%%/ompi.*}"'
    local mine=$BATS_TEST_TMPDIR/tmp
    mkdir -p "$mine"
    local want=(/dev/shm /tmp "$mine" "$mine")
    local -a env=(SHEAF_MPI_FAST_START=1 SHEAF_MPI_FAST_START=0 TMPDIR="$mine"
        OMPI_MCA_orte_tmpdir_base="$mine")
    local i
    for i in 0 1 2 3; do
        env_step TMPDIR OMPI_MCA_orte_tmpdir_base OMPI_MCA_orte_local_tmpdir_base \
            OMPI_MCA_orte_remote_tmpdir_base -- "${env[i]}" "$step"
        [ "$(cat "$SD/stdout")" = "${want[i]}" ]
    done
}

@test "state files are private and documented ones exist" {
    create_cluster --step 'name=one,cmd=true'
    sc wait "$ID" --timeout 60
    local cd=$SHEAF_HOME/clusters/$ID
    for f in cluster.json hostfile runner.log lock steps/s-0001/step.json \
        steps/s-0001/command.json steps/s-0001/stdout steps/s-0001/stderr; do
        [ -f "$cd/$f" ]
        [ "$(stat -c %a "$cd/$f")" = 600 ]
    done
    [ "$(stat -c %a "$cd")" = 700 ]
    [ "$(stat -c %a "$cd/steps/s-0001")" = 700 ]
    jq -e '.id and .name and .backend == "local" and .nodes == 1 and .ranks_per_node == 1
           and (.history | length) >= 3' "$cd/cluster.json"
    jq -e '.started_at and .ended_at and .exit_code == 0 and .state == "COMPLETED"' \
        "$cd/steps/s-0001/step.json"
}

@test "list, describe, list-steps and describe-step in text and json" {
    create_cluster --step 'name=ok,cmd=true' --step 'name=bad,cmd=false' --step 'name=ok2,cmd=true'
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 1 ]
    run sc list-steps "$ID"
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "ID"*"STATE"*"NAME"* ]]
    [[ ${lines[2]} == "s-0002"*"FAILED"*"bad"* ]]
    run sc list-steps "$ID" --states COMPLETED --output json
    [ "$(jq -r 'map(.id) | join(" ")' <<<"$output")" = "s-0001 s-0003" ]
    run sc list-steps "$ID" --states FAILED CANCELLED --output json
    [ "$(jq -r 'map(.id) | join(" ")' <<<"$output")" = "s-0002" ]
    run sc list-steps "$ID" --states DONE
    [ "$status" -eq 2 ]
    [[ $output == *"bad state 'DONE'"* ]]
    run sc describe-step "$ID" --step s-0001 --output json
    [ "$(jq -r .state <<<"$output")" = COMPLETED ]
    run sc describe-step "$ID" s-0009
    [ "$status" -eq 1 ]
    [[ $output == *"no step 's-0009'"* ]]
    run sc describe "$ID"
    [[ $output == *"State:        WAITING"* ]]
    [[ $output == *"s-0002  FAILED  bad"* ]]
    run sc describe "$ID" --output json
    [ "$(jq -r '.steps | length' <<<"$output")" -eq 3 ]
    run sc list
    [[ $output == *"$ID"*"local"*"WAITING"* ]]
    run sc list --active --output json
    jq -e --arg id "$ID" 'map(.id) | index($id)' <<<"$output"
    run sc list --states TERMINATED --output json
    [ "$status" -eq 0 ]
    [ "$(jq --arg id "$ID" 'map(.id) | index($id)' <<<"$output")" = null ]
    run sc describe j-NOSUCH00
    [ "$status" -eq 1 ]
    [[ $output == *"no cluster 'j-NOSUCH00'"* ]]
}

@test "describe-step explains a failed step: exit code, first failing rank, error tail" {
    create_cluster --ranks-per-node 3 \
        --step 'name=exit3,cmd=sh -c "if [ $OMPI_COMM_WORLD_RANK = 2 ]; then echo cannot open input >&2; exit 3; fi; sleep 5"' \
        --step 'name=kill9,cmd=sh -c "if [ $OMPI_COMM_WORLD_RANK = 1 ]; then kill -9 \$\$; fi; sleep 5"' \
        --step 'name=slow,timeout=1,cmd=sleep 30' \
        --step 'name=missing,launcher=none,cmd=/nonexistent/program'
    run sc wait "$ID" --timeout 90
    [ "$status" -eq 1 ]
    run sc describe-step "$ID" s-0001 --output json
    [ "$(jq -r .state <<<"$output")" = FAILED ]
    [ "$(jq -r .failure.reason <<<"$output")" = NON_ZERO_EXIT ]
    [ "$(jq -r .failure.rank <<<"$output")" = 2 ]
    [ "$(jq -r .failure.rank_exit_code <<<"$output")" = 3 ]
    [[ $(jq -r .failure.tail <<<"$output") == *"cannot open input"* ]]
    run sc describe-step "$ID" s-0001
    [[ $output == *"FailedRank:  2"* ]]
    [[ $output == *"| cannot open input"* ]]
    run sc describe-step "$ID" s-0002 --output json
    [ "$(jq -r .failure.reason <<<"$output")" = SIGNAL ]
    [ "$(jq -r .failure.rank <<<"$output")" = 1 ]
    [ "$(jq -r .failure.signal <<<"$output")" = 9 ]
    run sc describe-step "$ID" s-0003 --output json
    [ "$(jq -r .failure.reason <<<"$output")" = TIMEOUT ]
    run sc describe-step "$ID" s-0004 --output json
    [ "$(jq -r .failure.reason <<<"$output")" = NON_ZERO_EXIT ]
    [ "$(jq -r .exit_code <<<"$output")" = 127 ]
}

@test "on-failure CONTINUE goes on; CANCEL_AND_WAIT cancels pending steps and waits" {
    create_cluster --step 'name=f1,on-failure=CONTINUE,cmd=false' --step 'name=ok,cmd=true' \
        --step 'name=f2,on-failure=CANCEL_AND_WAIT,cmd=false' --step 'name=p1,cmd=true' \
        --step 'name=p2,cmd=true'
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 1 ]
    [ "$output" = "$ID	WAITING" ]
    run sc list-steps "$ID" --output json
    [ "$(jq -r 'map(.state) | join(" ")' <<<"$output")" = "FAILED COMPLETED FAILED CANCELLED CANCELLED" ]
    [[ $(step_field "$ID" s-0004 .state_reason) == *"CANCEL_AND_WAIT"* ]]
    [ "$(cluster_field "$ID" .state)" = WAITING ]
}

@test "on-failure TERMINATE_CLUSTER ends TERMINATED_WITH_ERRORS" {
    create_cluster --step 'name=f,on-failure=TERMINATE_CLUSTER,cmd=false' --step 'name=p,cmd=true'
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 1 ]
    [ "$output" = "$ID	TERMINATED_WITH_ERRORS" ]
    [ "$(step_field "$ID" s-0002 .state)" = CANCELLED ]
    [[ $(cluster_field "$ID" .state_reason) == *"s-0001 (f) failed"* ]]
    [ "$(cluster_field "$ID" '[.history[].state] | .[-2:] | join(" ")')" = "TERMINATING TERMINATED_WITH_ERRORS" ]
    run sc add-steps "$ID" --step 'cmd=true'
    [ "$status" -eq 1 ]
    [[ $output == *"accepts no more steps"* ]]
}

@test "cancel-steps: a pending step at once, a running step through the runner" {
    create_cluster --step 'name=long,cmd=sleep 67' --step 'name=pend,cmd=true' --step 'name=next,cmd=true'
    wait_step_state "$ID" s-0001 RUNNING 30
    local sd=$SHEAF_HOME/clusters/$ID/steps/s-0001 i
    for i in $(seq 40); do # RUNNING is recorded just before the step starts
        [[ -z $(step_pids "$sd") ]] || break
        sleep 0.25
    done
    run step_pids "$sd"
    [ -n "$output" ]
    run sc cancel-steps "$ID" s-0002
    [ "$status" -eq 0 ]
    [ "$output" = "s-0002	CANCELLED" ]
    run sc cancel-steps "$ID" --step s-0001
    [ "$output" = "s-0001	CANCEL_REQUESTED" ]
    run sc wait "$ID" --step s-0001 --timeout 30
    [ "$status" -eq 1 ]
    [ "$output" = "s-0001	CANCELLED" ]
    run sc wait "$ID" --timeout 30
    [ "$status" -eq 0 ]
    run sc list-steps "$ID" --output json
    [ "$(jq -r 'map(.state) | join(" ")' <<<"$output")" = "CANCELLED CANCELLED COMPLETED" ]
    run sc cancel-steps "$ID" s-0003
    [ "$status" -eq 1 ]
    [[ $output == *"already COMPLETED"* ]]
    run sc cancel-steps "$ID"
    [ "$status" -eq 2 ]
    # No process of the cancelled step survives.
    run step_pids "$sd"
    [ -z "$output" ]
}

@test "wait: --timeout gives up with status 1; --step waits for one step" {
    create_cluster --step 'name=long,cmd=sleep 30'
    run sc wait "$ID" --timeout 1
    [ "$status" -eq 1 ]
    [[ $output == *"timed out after 1 s"* ]]
    run sc wait "$ID" --step s-0001 --timeout 1
    [ "$status" -eq 1 ]
    [[ $output == *"timed out"* ]]
    run sc wait "$ID" --timeout soon
    [ "$status" -eq 2 ]
    run sc terminate "$ID"
    [ "$status" -eq 0 ]
    run sc wait "$ID" --timeout 30
    [ "$status" -eq 0 ]
    [ "$output" = "$ID	TERMINATED" ]
}

@test "terminate: stops the running step, cancels pending ones, TERMINATED" {
    create_cluster --step 'name=long,cmd=sleep 60' --step 'name=pend,cmd=true'
    wait_step_state "$ID" s-0001 RUNNING 30
    run sc terminate "$ID"
    [ "$status" -eq 0 ]
    [ "$output" = "$ID	TERMINATING" ]
    run sc wait "$ID" --timeout 30
    [ "$output" = "$ID	TERMINATED" ]
    [ "$(step_field "$ID" s-0001 .state)" = CANCELLED ]
    [ "$(step_field "$ID" s-0002 .state)" = CANCELLED ]
    [ "$(cluster_field "$ID" .state_reason)" = "Terminated by user request" ]
    run sc terminate "$ID"
    [ "$status" -eq 0 ]
    [ "$output" = "$ID	TERMINATED" ]
    run sc ssh "$ID" -- true
    [ "$status" -eq 1 ]
}

@test "auto-terminate: TERMINATED after the last step, or with errors noted" {
    create_cluster --auto-terminate --step 'name=a,cmd=true'
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 0 ]
    [ "$output" = "$ID	TERMINATED" ]
    [ "$(cluster_field "$ID" .state_reason)" = "Steps completed" ]
    create_cluster --auto-terminate --step 'name=a,cmd=false' --step 'name=b,cmd=true'
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 1 ]
    [ "$output" = "$ID	TERMINATED" ]
    [ "$(cluster_field "$ID" .state_reason)" = "Steps completed with errors" ]
    [ "$(step_field "$ID" s-0002 .state)" = COMPLETED ]
}

@test "bootstrap actions run before the first step; a failing one ends the cluster" {
    cat >boot1.sh <<EOF
echo "boot \$SHEAF_CLUSTER_ID node \$SHEAF_NODE_INDEX"
date +%s%N >"$PWD/booted"
EOF
    printf 'exit 4\n' >bad.sh
    create_cluster --bootstrap boot1.sh --step "name=check,launcher=none,cmd=test -f $PWD/booted"
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 0 ]
    [ "$(cat "$SHEAF_HOME/clusters/$ID/bootstrap/01-boot1.sh.localhost.log")" = "boot $ID node 0" ]
    rm -f booted
    create_cluster --bootstrap boot1.sh --bootstrap bad.sh --step 'name=never,cmd=true'
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 1 ]
    [ "$output" = "$ID	TERMINATED_WITH_ERRORS" ]
    [[ $(cluster_field "$ID" .state_reason) == "Bootstrap failure: bootstrap action 02-bad.sh failed with exit code 4"* ]]
    [ "$(step_field "$ID" s-0001 .state)" = CANCELLED ]
    [ -f booted ]
}

@test "create --wait blocks until the steps have run and reports failure" {
    run sc create --name w --backend local --wait --timeout 60 --step 'cmd=true'
    [ "$status" -eq 0 ]
    [[ $output =~ ^j-[A-Z0-9]{8}$ ]]
    [ "$(cluster_field "$output" .state)" = WAITING ]
    run sc create --name w --backend local --wait --timeout 60 --auto-terminate --step 'cmd=false'
    [ "$status" -eq 1 ]
}

@test "concurrent add-steps are safe" {
    create_cluster
    local i
    for i in 1 2 3 4 5 6; do
        sc add-steps "$ID" --step "name=c$i,launcher=none,cmd=true" >"added.$i" &
    done
    wait
    [ "$(sort added.* | uniq | wc -l)" -eq 6 ]
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 0 ]
    run sc list-steps "$ID" --states COMPLETED --output json
    [ "$(jq length <<<"$output")" -eq 6 ]
}

@test "a dead runner is noticed: TERMINATED_WITH_ERRORS" {
    create_cluster --step 'name=long,cmd=sleep 60'
    wait_step_state "$ID" s-0001 RUNNING 30
    local pid
    pid=$(cluster_field "$ID" .runner_pid)
    kill -KILL "$pid"
    # The step's processes (mpirun, the rank, its sleep), which the runner would have ended.
    local p
    for p in $(step_pids "$SHEAF_HOME/clusters/$ID/steps/s-0001"); do
        kill -KILL "$p" 2>/dev/null || true
    done
    run sc describe "$ID" --output json
    [ "$(jq -r .state <<<"$output")" = TERMINATED_WITH_ERRORS ]
    [[ $(jq -r .state_reason <<<"$output") == *"runner process ended unexpectedly"* ]]
    [ "$(step_field "$ID" s-0001 .state)" = FAILED ]
}

@test "ssh runs a command on the cluster's node; logs of the runner" {
    create_cluster
    run sc ssh "$ID" -- sh -c 'echo "$SHEAF_CLUSTER_ID" "$1"' x 'a b'
    [ "$status" -eq 0 ]
    [ "$output" = "$ID a b" ]
    run sc ssh "$ID" --node 3 -- true
    [ "$status" -eq 1 ]
    [[ $output == *"no node 3"* ]]
    run bash -c 'umask 027; exec "$@"' sh "$SHEAF_CLUSTER" ssh "$ID" -- sh -c umask
    [ "$status" -eq 0 ]
    [ "$output" = 0027 ]
}

@test "the job report is copied when the command names -o OUT" {
    create_cluster --step "name=rep,launcher=none,cmd=sh -c 'mkdir -p \"\$2\" && echo {\\\"records\\\":42} >\"\$2/_report.json\"' sh -o outdir"
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 0 ]
    [ "$(jq .records "$SHEAF_HOME/clusters/$ID/steps/s-0001/_report.json")" -eq 42 ]
    run sc describe-step "$ID" 1
    [[ $output == *"Report:"*"_report.json"* ]]
}

@test "word count runs as a step and matches coreutils" {
    require_sheaf
    make_text input.txt
    create_cluster --ranks-per-node 2 \
        --step "name=wc,on-failure=CANCEL_AND_WAIT,args=[\"$SHEAF\",\"wordcount\",\"-i\",\"$PWD/input.txt\",\"-o\",\"$PWD/wc-out\"]"
    run sc wait "$ID" --timeout 120
    if [ "$status" -ne 0 ]; then sc describe-step "$ID" 1 >&2; fi
    [ "$status" -eq 0 ]
    check_wordcount input.txt wc-out
    [ -f "$SHEAF_HOME/clusters/$ID/steps/s-0001/_report.json" ]
}

@test "a cluster.json that is not valid: list shows the others and names it; describe fails" {
    export SHEAF_HOME=$BATS_TEST_TMPDIR/home
    create_cluster --auto-terminate --step 'name=a,cmd=true'
    local bad=$ID
    create_cluster --auto-terminate --step 'name=b,cmd=true'
    local good=$ID
    run sc wait "$bad" --timeout 60
    [ "$status" -eq 0 ]
    run sc wait "$good" --timeout 60
    [ "$status" -eq 0 ]
    local f=$SHEAF_HOME/clusters/$bad/cluster.json
    printf '{"id": "%s", "state": ' "$bad" >"$f"
    run sc list
    [ "$status" -eq 0 ]
    [[ $output == *"$good  "*"TERMINATED "* ]]
    [[ $output == *"$bad  -"*"UNREADABLE"* ]]
    [[ $output == *"warning: cluster $bad: $f is not a valid state file ("*")"* ]]
    run --separate-stderr sc list --output json --states TERMINATED
    [ "$status" -eq 0 ]
    [ "$(jq -r --arg id "$good" '.[] | select(.id == $id) | .state' <<<"$output")" = TERMINATED ]
    [ "$(jq -r --arg id "$bad" '.[] | select(.id == $id) | .state' <<<"$output")" = UNREADABLE ]
    [ "$(jq -r --arg id "$bad" '.[] | select(.id == $id) | .file' <<<"$output")" = "$f" ]
    run sc describe "$bad"
    [ "$status" -eq 1 ]
    [[ $output == "sheaf-cluster describe: cluster $bad: $f is not a valid state file (parse error"* ]]
    : >"$f"
    run sc describe "$bad"
    [ "$status" -eq 1 ]
    [[ $output == *"$f is not a valid state file (it is empty)"* ]]
    echo '[1]' >"$f"
    run sc list-steps "$bad"
    [ "$status" -eq 1 ]
    [[ $output == *"$f is not a valid state file (it does not hold a JSON object)"* ]]
}

@test "a step.json that is not valid: each verb names it; the runner ends the cluster" {
    export SHEAF_HOME=$BATS_TEST_TMPDIR/home
    create_cluster --step 'name=a,cmd=true'
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 0 ]
    local f=$SHEAF_HOME/clusters/$ID/steps/s-0001/step.json v
    printf '{"id": "s-0001", "state": "COMPL' >"$f"
    for v in list-steps describe wait; do
        run sc "$v" "$ID"
        [ "$status" -eq 1 ]
        [[ $output == "sheaf-cluster $v: cluster $ID: $f is not a valid state file (parse error"* ]]
    done
    run sc describe-step "$ID" 1
    [ "$status" -eq 1 ]
    [[ $output == "sheaf-cluster describe-step: step s-0001 of cluster $ID: $f is not a valid state file ("* ]]
    run sc logs "$ID" --rank 0
    [ "$status" -eq 1 ]
    [[ $output == "sheaf-cluster logs: cluster $ID: $f is not a valid state file ("* ]]
    wait_cluster_state "$ID" TERMINATED_WITH_ERRORS 30
    [[ $(cluster_field "$ID" .state_reason) == "$f is not a valid state file (parse error"* ]]
    : >"$f"
    run sc list-steps "$ID"
    [ "$status" -eq 1 ]
    [[ $output == *"$f is not a valid state file (it is empty)"* ]]
    run sc wait "$ID" --step s-0001 --timeout 5
    [ "$status" -eq 1 ]
    [[ $output == *"$f is not a valid state file (it is empty)"* ]]
}

@test "a step gets the job report its own run wrote, never an earlier run's" {
    local w="sh -c 'echo {\\\"records\\\":\$3} >\"\$2/_report.json\"; exit \$4' sh -o outdir"
    mkdir outdir
    create_cluster --step "name=writes,launcher=none,cmd=$w 42 0" \
        --step "name=fails,launcher=none,cmd=sh -c 'exit 3' sh -o outdir" \
        --step "name=quiet,launcher=none,cmd=sh -c 'exit 0' sh -o outdir" \
        --step "name=writes-fails,launcher=none,cmd=$w 43 5"
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 1 ]
    run sc list-steps "$ID" --output json
    [ "$(jq -r 'map(.state) | join(" ")' <<<"$output")" = "COMPLETED FAILED COMPLETED FAILED" ]
    local s=$SHEAF_HOME/clusters/$ID/steps
    [ "$(jq .records "$s/s-0001/_report.json")" -eq 42 ]
    [ ! -e "$s/s-0002/_report.json" ]
    [ ! -e "$s/s-0003/_report.json" ]
    [ "$(jq .records "$s/s-0004/_report.json")" -eq 43 ]
    run sc describe-step "$ID" 2
    [ "$status" -eq 0 ]
    [[ $output != *"Report:"* ]]
}

@test "a failed word count step gets no report; the next run gets its own" {
    require_sheaf
    make_text input.txt
    local wc="launcher=none,cmd=$SHEAF wordcount -o $PWD/out --overwrite -i"
    create_cluster --step "name=first,$wc $PWD/input.txt" --step "name=bad,$wc $PWD/missing.txt" \
        --step "name=again,$wc $PWD/input.txt"
    run sc wait "$ID" --timeout 120
    [ "$status" -eq 1 ]
    local s=$SHEAF_HOME/clusters/$ID/steps
    [ "$(step_field "$ID" s-0002 .state)" = FAILED ]
    [ "$(step_field "$ID" s-0003 .state)" = COMPLETED ]
    [ -f "$s/s-0001/_report.json" ]
    [ ! -e "$s/s-0002/_report.json" ]
    cmp "$s/s-0003/_report.json" out/_report.json
    run cmp -s "$s/s-0001/_report.json" "$s/s-0003/_report.json"
    [ "$status" -ne 0 ]
    check_wordcount input.txt out
}

@test "steps and bootstrap actions run with the creator's umask; the state stays private" {
    printf 'umask >"%s/boot-umask"\nmkdir "%s/boot-dir"\n' "$PWD" "$PWD" >boot.sh
    local old
    old=$(umask)
    umask 027
    create_cluster --ranks-per-node 2 --bootstrap boot.sh \
        --step 'name=mpi,cmd=sh -c "umask; mkdir d$OMPI_COMM_WORLD_RANK; touch f$OMPI_COMM_WORLD_RANK"' \
        --step 'name=none,launcher=none,cmd=sh -c "umask; mkdir dn; touch fn"'
    umask "$old"
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 0 ]
    local cd=$SHEAF_HOME/clusters/$ID
    [ "$(cat boot-umask)" = 0027 ]
    [ "$(cat "$cd/steps/s-0001/ranks/rank.1.out")" = 0027 ]
    [ "$(cat "$cd/steps/s-0002/stdout")" = 0027 ]
    [ "$(stat -c %a boot-dir d0 d1 dn | tr '\n' ' ')" = "750 750 750 750 " ]
    [ "$(stat -c %a f0 f1 fn | tr '\n' ' ')" = "640 640 640 " ]
    [ "$(stat -c %a "$cd")" = 700 ]
    [ "$(stat -c %a "$cd"/{cluster.json,bootstrap/01-boot.sh.localhost.log} | tr '\n' ' ')" = "600 600 " ]
    [ "$(stat -c %a "$cd"/steps/s-0001/{step.json,stdout,ranks/rank.1.out} | tr '\n' ' ')" = "600 600 600 " ]
}

@test "the failing rank and message come from the job, not from the rank that ended first" {
    # Rank 0 reports the agreed failure of rank 1 and ends first, as Sheaf's ranks do.
    create_cluster --ranks-per-node 2 \
        --step 'name=agreed,cmd=sh -c "if [ $OMPI_COMM_WORLD_RANK = 0 ]; then echo \"job: error: rank 1: bad record in f at 7\" >&2; exit 1; fi; sleep 2; exit 1"' \
        --step "name=report,launcher=none,cmd=sh -c 'mkdir -p \"\$2\"; echo {\\\"status\\\":\\\"FAILED\\\",\\\"error\\\":\\\"rank 2: disk full\\\"} >\"\$2/_report.json\"; exit 1' sh -o outdir"
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 1 ]
    local sd=$SHEAF_HOME/clusters/$ID/steps/s-0001
    # the rank that ended first is rank 0, the one that failed is rank 1
    [ "$(awk '$4 != 0 {print $6, $2}' "$sd/ranks/exit-status" | sort -n | head -n 1 | cut -d' ' -f2)" = 0 ]
    run sc describe-step "$ID" 1 --output json
    [ "$(jq -r .failure.rank <<<"$output")" = 1 ]
    [ "$(jq -r .failure.message <<<"$output")" = "rank 1: bad record in f at 7" ]
    [[ $(jq -r .failure.tail <<<"$output") == *"rank 1: bad record in f at 7"* ]]
    run sc describe-step "$ID" 2 --output json
    [ "$(jq -r .failure.rank <<<"$output")" = 2 ]
    [ "$(jq -r .failure.message <<<"$output")" = "rank 2: disk full" ]
}

@test "an injected fault on rank 1 of a word count is blamed on rank 1" {
    require_sheaf
    mkdir in
    seq 1 3000 >in/a
    seq 1 3000 >in/b
    run env SHEAF_FAULT=map:1 "$SHEAF_CLUSTER" create --name fault --backend local \
        --ranks-per-node 2 --auto-terminate \
        --step "name=wc,cmd=$SHEAF wordcount --split-size 4K -i $PWD/in -o $PWD/out"
    [ "$status" -eq 0 ]
    ID=$output
    run sc wait "$ID" --timeout 120
    [ "$status" -eq 1 ]
    [ ! -e out/_SUCCESS ]
    run sc describe-step "$ID" 1
    [[ $output == *"FailedRank:  1"* ]]
    [[ $output == *"Message:     rank 1: injected fault"* ]]
    [[ $output == *"| sheaf wordcount: error: rank 1: injected fault"* ]]
}

@test "wait reports the awaited steps: a later success is not failed by an earlier failure" {
    create_cluster --step 'name=bad,cmd=false'
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 1 ]
    [ "$output" = "$ID	WAITING" ]
    run sc add-steps "$ID" --step 'name=good,cmd=true'
    [ "$status" -eq 0 ]
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 0 ]
    [ "$output" = "$ID	WAITING" ]
    # and again once it is idle: the last steps run are the ones reported
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 0 ]
    run sc wait "$ID" --step 1 --timeout 60
    [ "$status" -eq 1 ]
    [ "$output" = "s-0001	FAILED" ]
    run sc add-steps "$ID" --step 'name=bad2,cmd=false' --step 'name=good2,cmd=true'
    [ "$status" -eq 0 ]
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 1 ]
}

@test "step specs: a key after cmd= is refused, a quoted comma is kept, errors name the user's program" {
    export SHEAF_HOME=$BATS_TEST_TMPDIR/home
    run sc create --name x --backend local --step 'cmd=true,name=late'
    [ "$status" -eq 2 ]
    [[ $output == *"key 'name' after cmd= in step 'cmd=true,name=late'"* ]]
    run sc create --name x --backend local --step 'args=["true"],name=late'
    [ "$status" -eq 2 ]
    [[ $output == *"key 'name' after args="* ]]
    run sc list --output json
    [ "$(jq length <<<"$output")" -eq 0 ]
    printf 'echo hi\n' >notexec
    create_cluster --step 'name=q,launcher=none,cmd=printf <%s> "a,name=b" c\,timeout=1 -t,' \
        --step 'name=nx,cmd=no-such-program-4711 --flag' --step 'name=ne,cmd=./notexec'
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 1 ]
    run sc logs "$ID" --step 1 --stream stdout
    [ "$output" = '<a,name=b><c,timeout=1><-t,>' ]
    run sc describe-step "$ID" 2 --output json
    [ "$(jq -r .failure.tail <<<"$output")" = "no-such-program-4711: command not found" ]
    [[ $(jq -r .failure.message <<<"$output") == *"exited with code 127"* ]]
    run sc describe-step "$ID" 2
    [[ $output == *$'\nCommand:     no-such-program-4711 --flag\n'* ]]
    [[ $output != *"umask"* ]]
    [[ $output != *"sheaf-rank"* ]]
    run sc describe-step "$ID" 3 --output json
    [ "$(jq -r .failure.tail <<<"$output")" = "./notexec: Permission denied" ]
    [ "$(jq -r .exit_code <<<"$output")" = 126 ]
}

@test "EMR spellings: verbs, --steps, waiters, --step-states, --step-ids, --output table, --version" {
    export SHEAF_HOME=$BATS_TEST_TMPDIR/home
    run sc --version
    [ "$status" -eq 0 ]
    [ "$output" = "sheaf-cluster (Sheaf) $(sed -n 's/^AC_INIT(\[sheaf\], \[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")" ]
    local v
    for v in create-cluster:create terminate-clusters:terminate list-clusters:list \
        describe-cluster:describe; do
        run sc "${v%%:*}" --help
        [ "$status" -eq 0 ]
        [[ $output == "Usage: sheaf-cluster ${v#*:} "* ]]
    done
    run sc create-cluster --name emr --backend local
    [ "$status" -eq 0 ]
    ID=$output
    run sc wait cluster-running --cluster-id "$ID" --timeout 60
    [ "$status" -eq 0 ]
    [[ $output == "$ID	"@(RUNNING|WAITING) ]]
    run sc add-steps --cluster-id "$ID" \
        --steps 'Type=CUSTOM_JAR,Name=pr,ActionOnFailure=CONTINUE,Jar=printf,Args=[<%s>,"a,b",c d]' \
        'Type=CUSTOM_JAR,Name=bad,Args=[false]'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = s-0001 ]
    [ "${lines[1]}" = s-0002 ]
    run sc wait step-complete --cluster-id "$ID" --step-id s-0001 --timeout 60
    [ "$status" -eq 0 ]
    run sc logs "$ID" --step 1 --stream stdout
    [ "$output" = "<a,b><c d>" ]
    run sc wait step-complete --cluster-id "$ID" --step-id s-0002 --timeout 60
    [ "$status" -eq 1 ]
    [ "$output" = "s-0002	FAILED" ]
    run sc list-steps --cluster-id "$ID" --step-states FAILED --output json
    [ "$(jq -r 'map(.id) | join(" ")' <<<"$output")" = s-0002 ]
    run sc list-steps "$ID" --output table
    [ "${lines[0]}" = "${lines[2]}" ]
    [[ ${lines[0]} == +-* ]]
    [[ ${lines[1]} == "| ID     | STATE     | NAME "* ]]
    [[ ${lines[3]} == "| s-0001 | COMPLETED | pr "* ]]
    run sc describe-cluster --cluster-id "$ID" --output table
    [[ $output == *"| Id "*"| $ID "* ]]
    run sc list-clusters --active --output json
    [ "$(jq -r '.[0].id' <<<"$output")" = "$ID" ]
    run sc add-steps "$ID" --steps 'Name=long,Args=[sleep,30]' 'Name=next,Args=[true]'
    [ "$status" -eq 0 ]
    run sc cancel-steps --cluster-id "$ID" --step-ids s-0004
    [ "$output" = "s-0004	CANCELLED" ]
    run sc add-steps "$ID" --steps 'Type=PIG,Name=x,Args=[a]'
    [ "$status" -eq 2 ]
    [[ $output == *"bad Type 'PIG'"* ]]
    run sc terminate-clusters --cluster-ids "$ID"
    [ "$status" -eq 0 ]
    run sc wait cluster-terminated --cluster-id "$ID" --timeout 60
    [ "$status" -eq 0 ]
    [ "$output" = "$ID	TERMINATED" ]
    [ "$(step_field "$ID" s-0003 .state)" = CANCELLED ]
}

@test "--step-concurrency runs steps side by side; --idle-timeout ends an idle cluster" {
    local w='launcher=none,cmd=sh -c "date +%s%N >$SHEAF_STEP_ID.start; sleep 2; date +%s%N >$SHEAF_STEP_ID.end"'
    create_cluster --step-concurrency 2 --idle-timeout 2 --step "name=a,$w" --step "name=b,$w" \
        --step "name=c,$w"
    run sc wait cluster-terminated --cluster-id "$ID" --timeout 60
    [ "$status" -eq 0 ]
    [ "$(cluster_field "$ID" .state_reason)" = "Idle for 2 s" ]
    run sc list-steps "$ID" --output json
    [ "$(jq -r 'map(.state) | join(" ")' <<<"$output")" = "COMPLETED COMPLETED COMPLETED" ]
    # a and b overlap; c starts only when one of them has ended
    (($(cat s-0002.start) < $(cat s-0001.end)))
    (($(cat s-0001.start) < $(cat s-0002.end)))
    local first_end
    first_end=$(sort -n s-0001.end s-0002.end | head -n 1)
    (($(cat s-0003.start) >= first_end))
}

@test "bootstrap actions with names and arguments; --log-uri archives the cluster's logs" {
    printf 'echo "$# [$1] [$2] node $SHEAF_NODE_INDEX"\n' >boot.sh
    create_cluster --auto-terminate --log-uri archive \
        --bootstrap-actions 'Path=boot.sh,Name=setup,Args=[x,"y z"]' --step 'name=s,cmd=echo hello'
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 0 ]
    [ "$(cat "$SHEAF_HOME/clusters/$ID/bootstrap/01-boot.sh.localhost.log")" = "2 [x] [y z] node 0" ]
    [ "$(cluster_field "$ID" '.bootstrap[0].name')" = setup ]
    run sc describe "$ID"
    [[ $output == *"Bootstrap:    setup=$PWD/boot.sh[x,y z]"* ]]
    local i
    for i in $(seq 40); do
        [[ $(jq -r .state "archive/$ID/cluster.json" 2>/dev/null) != TERMINATED ]] || break
        sleep 0.25
    done
    [ "$(jq -r .state "archive/$ID/cluster.json")" = TERMINATED ]
    [ "$(cat "archive/$ID/steps/s-0001/stdout")" = hello ]
    [ "$(cat "archive/$ID/bootstrap/01-boot.sh.localhost.log")" = "2 [x] [y z] node 0" ]
    run sc create --name x --backend local --bootstrap-actions 'Name=x'
    [ "$status" -eq 2 ]
    [[ $output == *"has no Path"* ]]
}

@test "a STREAMING step runs as sheaf stream and matches coreutils" {
    require_sheaf
    make_text input.txt
    run env PATH="$(dirname "$SHEAF"):$PATH" "$SHEAF_CLUSTER" create --name st --backend local \
        --ranks-per-node 2 --auto-terminate \
        --steps "Type=STREAMING,Name=st,ActionOnFailure=TERMINATE_CLUSTER,Args=[-input,$PWD/input.txt,-output,$PWD/out,-mapper,tr -s ' \\t' '\\n',-reducer,uniq -c]"
    [ "$status" -eq 0 ]
    ID=$output
    run sc wait "$ID" --timeout 120
    if [ "$status" -ne 0 ]; then sc describe-step "$ID" 1 >&2; fi
    [ "$status" -eq 0 ]
    [ "$(step_field "$ID" s-0001 '.args[1]')" = stream ]
    [ -f out/_SUCCESS ]
    diff <(tr -s ' \t\n' '\n' <input.txt | grep -v '^$' | LC_ALL=C sort | uniq -c |
        awk '{print $2, $1}' | LC_ALL=C sort) \
        <(cat out/part-* | awk 'NF {print $2, $1}' | LC_ALL=C sort)
}

@test "a cluster whose directory is removed ends its runner and its steps" {
    export SHEAF_HOME=$BATS_TEST_TMPDIR/home
    create_cluster --step "name=long,launcher=none,cmd=sh -c 'echo \$\$ >$BATS_TEST_TMPDIR/pid; exec sleep 300'"
    wait_step_state "$ID" s-0001 RUNNING 30
    for _ in $(seq 50); do
        [[ -s $BATS_TEST_TMPDIR/pid ]] && break
        sleep 0.1
    done
    pid=$(cat "$BATS_TEST_TMPDIR/pid")
    kill -0 "$pid"
    rm -rf "$SHEAF_HOME"
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    run kill -0 "$pid"
    [ "$status" -ne 0 ]
}
