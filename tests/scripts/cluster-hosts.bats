#!/usr/bin/env bats
# sheaf-cluster on the hosts backend, against a real sshd started here on 127.0.0.1 with a
# throw-away key. Two host aliases (sheaf-node-a, sheaf-node-b) lead to that sshd, so mpirun
# really starts its daemons over ssh, on two "nodes".

load helpers

setup_file() {
    ensure_launcher_deps
    new_home
    export SSH_DIR=$BATS_FILE_TMPDIR/ssh
    if ! start_sshd "$SSH_DIR" >"$BATS_FILE_TMPDIR/sshd-start.log" 2>&1; then
        export SSHD_UNAVAILABLE="sshd could not be started: $(tail -n 3 "$BATS_FILE_TMPDIR/sshd-start.log" "$SSH_DIR/sshd.log" 2>/dev/null | tr '\n' ' ')"
        return 0
    fi
    # A host that does not answer: the same name scheme, a port where nothing listens.
    local dead
    dead=$(free_port 22300 22399)
    printf 'Host sheaf-node-dead\n    HostName 127.0.0.1\n    Port %s\n    BatchMode yes\n    ConnectTimeout 5\n' \
        "$dead" >>"$SSH_DIR/ssh_config"
    printf 'sheaf-node-a slots=4\n# a comment\nsheaf-node-b\n' >"$BATS_FILE_TMPDIR/hostfile"
    printf 'sheaf-node-a\nsheaf-node-dead\n' >"$BATS_FILE_TMPDIR/hostfile-dead"
    export HOSTFILE=$BATS_FILE_TMPDIR/hostfile HOSTFILE_DEAD=$BATS_FILE_TMPDIR/hostfile-dead
}

teardown_file() {
    terminate_all
    stop_pidfile "$SSH_DIR/sshd.pid"
}

setup() {
    [[ -z ${SSHD_UNAVAILABLE:-} ]] || skip "$SSHD_UNAVAILABLE"
    cd "$BATS_TEST_TMPDIR"
}

create_hosts() {
    run sc create --name hosts --backend hosts --hostfile "$HOSTFILE" --ssh-config "$SSH_DIR/ssh_config" "$@"
    [ "$status" -eq 0 ]
    ID=$output
}

@test "hosts: steps run through mpirun over ssh on every host of the hostfile" {
    local before
    before=$(grep -c 'Accepted publickey' "$SSH_DIR/sshd.log" || true)
    create_hosts --ranks-per-node 2 \
        --step 'name=where,cmd=sh -c "echo rank $OMPI_COMM_WORLD_RANK of $OMPI_COMM_WORLD_SIZE via ${SSH_CONNECTION:+ssh}"'
    run sc wait "$ID" --timeout 90
    [ "$status" -eq 0 ]
    [ "$(cat "$SHEAF_HOME/clusters/$ID/hostfile")" = "$(printf 'sheaf-node-a slots=2\nsheaf-node-b slots=2')" ]
    run sc logs "$ID" --step 1 --stream stdout
    [ "$(sort <<<"$output" | tr '\n' ' ')" = "rank 0 of 4 via ssh rank 1 of 4 via ssh rank 2 of 4 via ssh rank 3 of 4 via ssh " ]
    jq -e 'index("--hostfile") and (map(select(startswith("-F "))) | length) == 1' \
        "$SHEAF_HOME/clusters/$ID/steps/s-0001/command.json"
    # The health check and mpirun's daemons both logged in.
    [ "$(grep -c 'Accepted publickey' "$SSH_DIR/sshd.log")" -ge $((before + 4)) ]
    run sc logs "$ID"
    [[ $output == *"host sheaf-node-a answers over ssh"* ]]
    [[ $output == *"host sheaf-node-b answers over ssh"* ]]
}

@test "hosts: bootstrap runs once per node; ssh verb; failing rank is found" {
    printf 'echo "node $SHEAF_NODE_INDEX of $SHEAF_CLUSTER_ID"\n' >boot.sh
    create_hosts --bootstrap boot.sh \
        --step 'name=fail,on-failure=CANCEL_AND_WAIT,cmd=sh -c "if [ $OMPI_COMM_WORLD_RANK = 1 ]; then echo disk full >&2; exit 5; fi; sleep 3"' \
        --step 'name=never,cmd=true'
    run sc wait "$ID" --timeout 90
    [ "$status" -eq 1 ]
    [ "$output" = "$ID	WAITING" ]
    local b=$SHEAF_HOME/clusters/$ID/bootstrap/01-boot.sh
    [ "$(cat "$b.sheaf-node-a.log")" = "node 0 of $ID" ]
    [ "$(cat "$b.sheaf-node-b.log")" = "node 1 of $ID" ]
    run sc describe-step "$ID" s-0001 --output json
    [ "$(jq -r .failure.reason <<<"$output")" = NON_ZERO_EXIT ]
    [ "$(jq -r .failure.rank <<<"$output")" = 1 ]
    [[ $(jq -r .failure.tail <<<"$output") == *"disk full"* ]]
    [ "$(step_field "$ID" s-0002 .state)" = CANCELLED ]
    run sc ssh "$ID" --node 1 -- sh -c 'echo "$1" ${SSH_CONNECTION:+over-ssh}' x 'a b'
    [ "$status" -eq 0 ]
    [ "$output" = "a b over-ssh" ]
    run sc terminate "$ID"
    run sc wait "$ID" --timeout 30
    [ "$output" = "$ID	TERMINATED" ]
}

@test "hosts: a host that does not answer ends the cluster with the reason" {
    run sc create --name dead --backend hosts --hostfile "$HOSTFILE_DEAD" \
        --ssh-config "$SSH_DIR/ssh_config" --step 'cmd=true'
    [ "$status" -eq 0 ]
    ID=$output
    run sc wait "$ID" --timeout 60
    [ "$status" -eq 1 ]
    [ "$output" = "$ID	TERMINATED_WITH_ERRORS" ]
    [[ $(cluster_field "$ID" .state_reason) == *"host 'sheaf-node-dead' does not answer over ssh"* ]]
    [ "$(step_field "$ID" s-0001 .state)" = CANCELLED ]
    run sc create --name x --backend hosts --hostfile "$HOSTFILE" --nodes 3
    [ "$status" -eq 2 ]
    [[ $output == *"lists only 2 hosts"* ]]
}

@test "hosts: word count over ssh matches coreutils" {
    require_sheaf
    # One host: both aliases are this machine, and two Open MPI daemons on one machine are not
    # two real nodes for the job's shared-memory setup.
    make_text input.txt
    create_hosts --nodes 1 --ranks-per-node 2 --auto-terminate \
        --step "name=wc,cmd=$SHEAF wordcount -i $PWD/input.txt -o $PWD/out"
    run sc wait "$ID" --timeout 120
    if [ "$status" -ne 0 ]; then sc describe-step "$ID" 1 >&2; fi
    [ "$status" -eq 0 ]
    [ "$output" = "$ID	TERMINATED" ]
    check_wordcount input.txt out
    [ -f "$SHEAF_HOME/clusters/$ID/steps/s-0001/_report.json" ]
}

@test "hosts: steps and bootstrap actions over ssh run with the creator's umask" {
    printf 'umask >"%s/boot-umask.$SHEAF_NODE_INDEX"\n' "$PWD" >boot.sh
    local old
    old=$(umask)
    umask 027
    create_hosts --auto-terminate --bootstrap boot.sh \
        --step 'name=u,cmd=sh -c "umask; mkdir d$OMPI_COMM_WORLD_RANK"'
    umask "$old"
    run sc wait "$ID" --timeout 90
    [ "$status" -eq 0 ]
    local sd=$SHEAF_HOME/clusters/$ID/steps/s-0001
    [ "$(cat boot-umask.0 boot-umask.1 | tr '\n' ' ')" = "0027 0027 " ]
    [ "$(cat "$sd/ranks/rank.0.out" "$sd/ranks/rank.1.out" | tr '\n' ' ')" = "0027 0027 " ]
    [ "$(stat -c %a d0 d1 | tr '\n' ' ')" = "750 750 " ]
}

@test "hosts: a host lost in the middle of a step fails it with NODE_FAIL" {
    create_hosts --step 'name=lost,cmd=sleep 60' --step 'name=after,cmd=true'
    wait_step_state "$ID" s-0001 RUNNING 60
    local ssh="" i f sd=$SHEAF_HOME/clusters/$ID/steps/s-0001
    # The ssh that started Open MPI's daemon on sheaf-node-b with this file's ssh config (so
    # started by this test): killing it is that host going away, for mpirun.
    for i in $(seq 80); do
        for f in $(grep -slzF "$SSH_DIR/ssh_config" /proc/[0-9]*/cmdline); do
            if [[ $({ tr '\0' ' ' <"$f"; } 2>/dev/null) == *ssh\ *sheaf-node-b*orted* ]]; then
                ssh=${f#/proc/}
                ssh=${ssh%/cmdline}
            fi
        done
        # and both ranks have started (mpirun has made their log folders)
        [[ -z $ssh || ! -d $(echo "$sd"/ranks/.mpirun/*/rank.1) ]] || break
        sleep 0.25
    done
    [ -n "$ssh" ]
    kill -KILL "$ssh"
    run sc wait "$ID" --step 1 --timeout 60
    [ "$status" -eq 1 ]
    [ "$output" = "s-0001	FAILED" ]
    run sc describe-step "$ID" 1 --output json
    [ "$(jq -r .failure.reason <<<"$output")" = NODE_FAIL ]
    # Open MPI says a daemon was lost (or could not be kept), not always which one
    [[ $(jq -r .failure.message <<<"$output") == *"was lost"* ]]
    [ ! -e "$sd/_report.json" ]
    run sc wait "$ID" --step 2 --timeout 60
    [ "$output" = "s-0002	COMPLETED" ]
}
