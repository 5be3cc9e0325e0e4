#!/usr/bin/env bash
# sheaf stream's safety: the working directory is made fresh (a symbolic link planted under the
# old predictable name, or as a stale-looking directory, is never followed and the files it
# points to stay byte for byte); --files refuses a FIFO at once; a command that leaves its
# input unread fails whatever the input's size; --task-timeout stops a command that makes no
# progress; a combiner's batches follow --memory; no process of a command outlives the job,
# whether it succeeded, failed, timed out, failed on another rank, or mpirun (or a lone rank)
# got SIGTERM, SIGINT or SIGKILL; and no working directory is left, scratch files included.
# Processes are found by the pids the commands write down, never by name.
source "${top_srcdir:-$(dirname "$0")/../..}/tests/mpi/lib.sh"

SHEAF_TEST_TIMEOUT=60
printf 'alpha one\nbeta two\ngamma three\n' >"$TMP/in.txt"
head -n 2000 "$top_srcdir/data/kjv.txt" >"$TMP/kjv.txt"
DEAD=$(sh -c 'echo $$') # a pid whose process has ended
HOST=$(hostname)

# running PID...: prints the pids whose process still runs (a zombie has ended).
running() {
    local p st
    for p in "$@"; do
        st=$(sed -e 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1) || continue
        if [[ -n $st && $st != Z ]]; then
            echo "$p"
        fi
    done
    return 0
}

# group_running PGID...: prints the processes of these process groups that still run.
group_running() {
    ps -eo pid=,pgid=,stat= | awk -v g=" $* " 'index(g, " " $2 " ") && $3 !~ /^Z/ { print $1 }'
}

# no_leftovers PIDFILE BASE: no process whose pid the commands wrote to PIDFILE still runs
# (nor any of their process groups), and BASE holds no stream working directory.
no_leftovers() {
    local pidfile=$1 base=$2 left dirs
    [[ -s $pidfile ]] || fail "the commands wrote no pid to $pidfile"
    # The groups get SIGTERM, then SIGKILL after a grace period; a guard may still be at work.
    # shellcheck disable=SC2046
    for _ in $(seq 1 50); do
        left=$(running $(cat "$pidfile"); group_running $(cat "$pidfile"))
        dirs=$(find "$base" -maxdepth 1 -name 'sheaf-stream-*')
        [[ -z $left && -z $dirs ]] && break
        sleep 0.1
    done
    [[ -z $left ]] ||
        fail "processes left running: $(ps -o pid=,pgid=,stat=,cmd= -p "${left//$'\n'/,}")"
    [[ -z $dirs ]] || fail "working directories left: $dirs"
}

case_symlink_attack() {
    local base=$TMP/shared
    mkdir -p "$base" "$TMP/precious"
    chmod 1777 "$base"
    printf 'root secret\n' >"$TMP/victim"
    printf 'another secret\n' >"$TMP/victim2"
    chmod 600 "$TMP/victim" "$TMP/victim2"
    cp -p "$TMP/victim" "$TMP/victim.orig"
    cp -p "$TMP/victim2" "$TMP/victim2.orig"
    printf 'precious\n' >"$TMP/precious/data"
    printf '%s %s\n' "$HOST" "$DEAD" >"$TMP/precious/owner" # a lure for the sweep
    printf '%s %s\n' "$HOST" "$DEAD" >"$TMP/lure"
    # A directory that looks stale, as a symbolic link to a directory of someone's files.
    ln -s "$TMP/precious" "$base/sheaf-stream-link"
    # A directory whose owner file is a symbolic link.
    mkdir -m 700 "$base/sheaf-stream-lured"
    ln -s "$TMP/lure" "$base/sheaf-stream-lured/owner"
    # A stale directory of a rank killed outright: swept, without following what is inside.
    mkdir -m 700 "$base/sheaf-stream-stale"
    printf '%s %s\n' "$HOST" "$DEAD" >"$base/sheaf-stream-stale/owner"
    mkdir -p "$base/sheaf-stream-stale/work/sub"
    ln -s "$TMP/precious" "$base/sheaf-stream-stale/work/sub/dirlink"
    ln -s "$TMP/victim" "$base/sheaf-stream-stale/work/filelink"
    printf 'side file\n' >"$TMP/side.txt"
    # The old predictable name for the pid the job will have (bash execs into sheaf), with
    # its owner file and the copy of a --files as symbolic links to the victims.
    TMPDIR=$base bash -c 'd=$TMPDIR/sheaf-stream-$$-0
        mkdir -p "$d/work" && ln -s "$1" "$d/owner" && ln -s "$2" "$d/work/side.txt" &&
        exec "$3" stream --files "$4" -i "$5" -o "$6" \
            --mapper "cat side.txt; cat; printf \"mode\t%s %s\n\" \$(stat -c %a . ..)"' \
        _ "$TMP/victim" "$TMP/victim2" "$SHEAF" "$TMP/side.txt" "$TMP/in.txt" "$TMP/att" \
        >"$LAST_LOG" 2>&1 || fail "the job failed: $(tail -n 5 "$LAST_LOG")"
    cmp "$TMP/victim" "$TMP/victim.orig" || fail "the file behind the owner link changed"
    cmp "$TMP/victim2" "$TMP/victim2.orig" || fail "the file behind the --files link changed"
    [[ $(stat -c %a "$TMP/victim") == 600 ]] || fail "the victim's mode changed"
    [[ $(cat "$TMP/precious/data") == precious ]] || fail "a file behind a link was removed"
    [[ -f $TMP/precious/owner ]] || fail "a file behind a link was removed"
    { cat "$TMP/side.txt" "$TMP/in.txt"; printf 'mode\t700 700\n'; } | sort >"$TMP/att.ref"
    cat "$TMP/att"/part-r-* | sort | cmp - "$TMP/att.ref" ||
        fail "output differs: not the --files copy, or the directories are not 0700"
    [[ ! -e $base/sheaf-stream-stale ]] || fail "the stale directory was not swept"
    # Nothing of this job is left under its base, only what was planted there.
    local left
    left=$(find "$base" -mindepth 1 -maxdepth 1 -name 'sheaf-stream-*' ! -name sheaf-stream-link \
        ! -name sheaf-stream-lured ! -name 'sheaf-stream-[0-9]*-0')
    [[ -z $left ]] || fail "the job left $left"
}

case_fifo_files() {
    mkfifo "$TMP/fifo"
    local rc=0 t0=$SECONDS
    run_np 2 stream --files "$TMP/fifo" --mapper cat -i "$TMP/in.txt" -o "$TMP/ff" || rc=$?
    [[ $rc -eq 1 ]] || fail "exit status $rc, expected 1"
    ((SECONDS - t0 < 30)) || fail "took $((SECONDS - t0)) s"
    grep -q -- "--files $TMP/fifo: not a regular file (a FIFO)" "$LAST_LOG" ||
        fail "no clear message: $(grep error "$LAST_LOG")"
    [[ ! -e $TMP/ff ]] || fail "a failed job left its output"
}

case_unread_input() {
    # Three short lines fit in a pipe's buffer: the command never reads them, yet fails.
    local np rc
    for np in 0 2; do
        rc=0
        run_np "$np" stream --mapper 'echo x' -i "$TMP/in.txt" -o "$TMP/ur$np" || rc=$?
        [[ $rc -eq 1 ]] || fail "np $np: exit status $rc, expected 1"
        grep -q 'mapper `echo x` exited without reading all of its input' "$LAST_LOG" ||
            fail "np $np: no clear message: $(grep error "$LAST_LOG")"
        [[ ! -e $TMP/ur$np/_SUCCESS ]] || fail "_SUCCESS after a failure"
    done
    rc=0
    run_np 2 stream --mapper cat --reducer 'head -n 1' -i "$TMP/kjv.txt" -o "$TMP/urr" || rc=$?
    [[ $rc -eq 1 ]] || fail "reducer: exit status $rc, expected 1"
    grep -q 'reducer `head -n 1` (partition [0-9]*) exited without reading all' "$LAST_LOG" ||
        fail "reducer: no clear message: $(grep error "$LAST_LOG")"
    # Reading all of it and printing nothing is fine.
    must_np 2 stream --mapper 'cat >/dev/null' -i "$TMP/kjv.txt" -o "$TMP/urok"
    [[ -f $TMP/urok/_SUCCESS ]] || fail "no _SUCCESS"
}

case_timeout() {
    local base=$TMP/to rc=0 t0=$SECONDS
    mkdir -p "$base"
    # Static scheduling: each rank has splits to map (the message names the split).
    TMPDIR=$base run_np 2 stream --task-timeout 1 -i "$TMP/kjv.txt" -o "$TMP/tout" \
        --split-size 16K --schedule static \
        --mapper "echo \$\$ >>$TMP/to.pids; sleep 1000 & echo \$! >>$TMP/to.pids; sleep 1000" ||
        rc=$?
    [[ $rc -eq 1 ]] || fail "exit status $rc, expected 1"
    ((SECONDS - t0 < 30)) || fail "took $((SECONDS - t0)) s"
    grep -q 'rank [01]: mapper `echo .* sleep 1000` made no progress for 1 s' "$LAST_LOG" ||
        fail "no clear message: $(grep error "$LAST_LOG")"
    grep -q -- "--task-timeout) (in map, file $TMP/kjv.txt, offset" "$LAST_LOG" ||
        fail "the message names no option or split: $(grep error "$LAST_LOG")"
    no_leftovers "$TMP/to.pids" "$base"
    [[ ! -e $TMP/tout ]] || fail "a failed job left its output"
    # A reducer too, named with its partition.
    rc=0
    TMPDIR=$base run_np 2 stream --task-timeout 1 -i "$TMP/in.txt" -o "$TMP/tout2" \
        --mapper cat --reducer "echo \$\$ >>$TMP/to2.pids; cat; sleep 1000" || rc=$?
    [[ $rc -eq 1 ]] || fail "reducer: exit status $rc, expected 1"
    grep -q 'reducer `.*` (partition [0-9]*) made no progress for 1 s' "$LAST_LOG" ||
        fail "reducer: no clear message: $(grep error "$LAST_LOG")"
    no_leftovers "$TMP/to2.pids" "$base"
}

case_other_rank_fails() {
    # Rank 0's mapper fails; rank 1's reads its input, then waits on a child forever.
    local base=$TMP/other rc=0
    mkdir -p "$base"
    local m="if [ \$OMPI_COMM_WORLD_RANK = 0 ]; then exit 3; fi; echo \$\$ >>$TMP/oth.pids;"
    m+=" sleep 1000 & echo \$! >>$TMP/oth.pids; cat; wait"
    TMPDIR=$base run_np 2 stream --task-timeout 3 -i "$TMP/kjv.txt" -o "$TMP/oth" \
        --split-size 16K --mapper "$m" || rc=$?
    [[ $rc -eq 1 ]] || fail "exit status $rc, expected 1"
    grep -q 'rank 0: mapper `if .*exited with status 3' "$LAST_LOG" ||
        fail "no clear message: $(grep error "$LAST_LOG")"
    no_leftovers "$TMP/oth.pids" "$base"
}

case_success_and_scratch() {
    # Commands leave scratch files, a directory, a link and a background process behind.
    local base=$TMP/scr
    mkdir -p "$base"
    TMPDIR=$base must_np 2 stream -i "$TMP/kjv.txt" -o "$TMP/scr-ok" --split-size 16K \
        --mapper "echo \$\$ >>$TMP/scr.pids; mkdir -p d/e; echo x >d/e/f; ln -s $TMP/in.txt l
            sleep 1000 >/dev/null 2>&1 & echo \$! >>$TMP/scr.pids; awk '{ print \$1 }'" \
        --reducer "echo \$\$ >>$TMP/scr.pids; echo y >scratch.txt; cat"
    awk '{ print $1 }' "$TMP/kjv.txt" | sort >"$TMP/scr.ref"
    cat "$TMP/scr-ok"/part-r-* | sort | cmp - "$TMP/scr.ref" || fail "output differs"
    no_leftovers "$TMP/scr.pids" "$base"
    [[ -f $TMP/in.txt ]] || fail "the file a scratch link pointed to was removed"
    local rc=0
    TMPDIR=$base run_np 2 stream -i "$TMP/kjv.txt" -o "$TMP/scr-bad" \
        --mapper "echo \$\$ >>$TMP/scr2.pids; echo x >scratch; cat" \
        --reducer "echo \$\$ >>$TMP/scr2.pids; echo y >scratch2; cat >/dev/null; exit 4" ||
        rc=$?
    [[ $rc -eq 1 ]] || fail "exit status $rc, expected 1"
    no_leftovers "$TMP/scr2.pids" "$base"
}

# signalled NP SIG [rank]: starts a job whose mapper hangs (under mpirun, or alone when NP is
# 0), sends SIG to mpirun (or the lone rank; with `rank`, to one of mpirun's ranks) by pid once
# every mapper runs, and checks that nothing is left. mpirun gives its ranks 2 s between
# SIGTERM and SIGKILL here (its default is 1 s).
signalled() {
    local np=$1 sig=$2 base=$TMP/sig-$1-$2-${3:-} pids=$TMP/sig-$1-$2-${3:-}.pids pid want
    mkdir -p "$base"
    local -a cmd=("$SHEAF" stream -i "$TMP/kjv.txt" -o "$base.out" --split-size 16K
        --mapper "echo \$\$ >>$pids; sleep 1000 & echo \$! >>$pids; sleep 1000")
    want=2
    if ((np > 0)); then
        cmd=("$MPIRUN" -np "$np" --oversubscribe "${cmd[@]}")
        want=$((2 * np))
    fi
    OMPI_MCA_odls_base_sigkill_timeout=2 TMPDIR=$base "${cmd[@]}" >"$LAST_LOG" 2>&1 &
    pid=$!
    for _ in $(seq 1 300); do
        [[ -f $pids && $(wc -l <"$pids") -ge $want ]] && break
        sleep 0.1
    done
    [[ $(wc -l <"$pids") -ge $want ]] || { kill -KILL "$pid"; fail "the mappers did not start"; }
    if [[ ${3:-} == rank ]]; then
        kill -"$sig" "$(pgrep -P "$pid" | head -n 1)"
    else
        kill -"$sig" "$pid"
    fi
    for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
        fail "still running 30 s after SIG$sig"
    fi
    wait "$pid" || true
    no_leftovers "$pids" "$base"
    [[ ! -e $base.out/_SUCCESS ]] || fail "_SUCCESS after SIG$sig"
}

case_signals() {
    signalled 2 TERM
    signalled 2 INT
    signalled 0 TERM
}

case_killed() {
    # SIGKILL runs no handler: each rank's guard process stops the commands and removes the
    # working directory once its rank is gone.
    signalled 2 KILL
    signalled 2 KILL rank
    signalled 0 KILL
}

case_combiner_batches() {
    # At --memory 1M a combiner batch (lines and index) stays within 64 KiB: word count's map
    # output (about 600 KiB with the index) goes through the combiner in many batches, each
    # seen whole by it, and nothing is lost.
    local comb="cat >batch.\$\$; wc -c <batch.\$\$ >>$TMP/comb.sizes; cat batch.\$\$"
    must_np 2 stream --memory 1M -i "$TMP/kjv.txt" -o "$TMP/comb" --combiner "$comb" \
        --mapper "tr -s ' ' '\\n' | awk 'NF { print \$0 \"\\t1\" }'"
    local runs max
    runs=$(wc -l <"$TMP/comb.sizes")
    max=$(sort -n "$TMP/comb.sizes" | tail -n 1)
    ((runs >= 4)) || fail "the combiner ran $runs times: the batches ignore --memory"
    ((max <= 65536)) || fail "a combiner batch of $max bytes at --memory 1M"
    tr -s ' ' '\n' <"$TMP/kjv.txt" | awk 'NF { print $0 "\t1" }' | sort >"$TMP/comb.ref"
    cat "$TMP/comb"/part-r-* | sort | cmp - "$TMP/comb.ref" || fail "output differs"
}

run_case symlink-attack case_symlink_attack
run_case fifo-files case_fifo_files
run_case unread-input case_unread_input
run_case timeout case_timeout
run_case other-rank-fails case_other_rank_fails
run_case success-and-scratch case_success_and_scratch
run_case signals case_signals
run_case killed case_killed
run_case combiner-batches case_combiner_batches
finish
