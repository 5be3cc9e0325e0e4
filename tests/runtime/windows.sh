#!/usr/bin/env bash
# The windows between steps, and jobs stopped from outside:
#  - rank 0 killed between the two renames of a replace: the next job on OUT puts the old
#    output back (and refuses, without --overwrite), then --overwrite replaces it;
#  - an --overwrite started while another job holds a new OUT between its mkdir and its first
#    write (SHEAF_FAULT=pause-prepare) is refused, and the first job finishes unharmed;
#  - spill directories are fresh and private, and a stale one is swept only when it is provably
#    a dead job's (a private directory with a regular owner file naming a dead process);
#  - names beside OUT that another user made are neither swept nor restored as OUT;
#  - SIGINT or SIGTERM to mpirun, SIGTERM, SIGHUP or SIGKILL to a rank: the job exits non-zero
#    and leaves no new output, staging, lock file, work or spill directory; an old output
#    stays as it was.
# shellcheck disable=SC2317  # the cases are called through run_case
source "${top_srcdir:-$(dirname "$0")/../..}/tests/mpi/lib.sh"

head -n 3000 "$top_srcdir/data/kjv.txt" >"$TMP/in.txt"
sed -n '3001,5000p' "$top_srcdir/data/kjv.txt" >"$TMP/in2.txt"
ref_wc "$TMP/in.txt" >"$TMP/ref"
ref_wc "$TMP/in2.txt" >"$TMP/ref2"
mkdir -p "$TMP/spill"

# leftovers DIR NAME: what a job on DIR/NAME may have left beside it (staging, old outputs,
# the lock file), one per line.
leftovers() {
    find "$1" -maxdepth 1 -name ".$2.sheaf-*" | sort
}

# gone_soon PATH...: every PATH disappears within 5 s (the janitor works after the rank died).
gone_soon() {
    local p left
    for _ in $(seq 50); do
        left=
        for p in "$@"; do [[ -e $p || -L $p ]] && left+=" $p"; done
        [[ -z $left ]] && return 0
        sleep 0.1
    done
    fail "left behind:$left"
}

swap_killed() { # swap_killed NP: rank 0 killed between the renames of a replace
    local np=$1 rc=0 old
    rm -rf "$TMP/out"
    must_np 2 wordcount -i "$TMP/in.txt" -o "$TMP/out"
    (cd "$TMP/out" && md5sum part-r-* _SUCCESS) >"$TMP/before.md5"
    SHEAF_FAULT=kill-swap run_np "$np" wordcount -i "$TMP/in2.txt" -o "$TMP/out" --overwrite ||
        rc=$?
    ((rc != 0)) || fail "np $np: the job survived its kill"
    [[ ! -e $TMP/out ]] || fail "np $np: the kill did not hit the window (OUT is there)"
    old=$(leftovers "$TMP" out | grep -c -- '-old-' || true)
    ((old == 1)) || fail "np $np: $old old outputs beside OUT, expected 1"
    # The next job on OUT restores the old output; without --overwrite it is then refused.
    rc=0
    run_np 2 wordcount -i "$TMP/in2.txt" -o "$TMP/out" || rc=$?
    ((rc == 1)) || { cat "$LAST_LOG" >&2; fail "np $np: status $rc after the restore"; }
    grep -q "already exists (use --overwrite to replace it); it was restored from" "$LAST_LOG" ||
        { cat "$LAST_LOG" >&2; fail "np $np: the message does not say the output was restored"; }
    (cd "$TMP/out" && md5sum -c --quiet "$TMP/before.md5") || fail "np $np: old output damaged"
    compare_wc "$TMP/out" "$TMP/ref"
    must_np 2 wordcount -i "$TMP/in2.txt" -o "$TMP/out" --overwrite
    compare_wc "$TMP/out" "$TMP/ref2"
    [[ -z $(leftovers "$TMP" out) ]] || fail "np $np: left beside OUT: $(leftovers "$TMP" out)"
}

case_killed_between_renames() {
    swap_killed 0
    swap_killed 2
}

case_overwrite_during_mkdir() {
    # The first job holds a new OUT just after creating it; an --overwrite then is refused
    # (before the fix it took OUT's lock in that window).
    local first rc=0
    rm -rf "$TMP/new"
    SHEAF_FAULT=pause-prepare:8 LAST_LOG=$TMP/first.log \
        run_np 0 wordcount -i "$TMP/in.txt" -o "$TMP/new" >/dev/null &
    first=$!
    for _ in $(seq 400); do [[ -d $TMP/new ]] && break; sleep 0.05; done
    [[ -d $TMP/new && ! -e $TMP/new/_temporary ]] || fail "the first job is not in the window"
    run_np 0 wordcount -i "$TMP/in2.txt" -o "$TMP/new" --overwrite || rc=$?
    [[ ! -e $TMP/new/_temporary ]] || fail "the first job left the window too early"
    ((rc == 1)) || { cat "$LAST_LOG" >&2; fail "the --overwrite job: status $rc, expected 1"; }
    grep -q "output $TMP/new is being written by another job" "$LAST_LOG" ||
        { cat "$LAST_LOG" >&2; fail "the --overwrite job does not say why it was refused"; }
    rc=0
    wait "$first" || rc=$?
    ((rc == 0)) || { cat "$TMP/first.log" >&2; fail "the first job failed (status $rc)"; }
    compare_wc "$TMP/new" "$TMP/ref"
    [[ -z $(leftovers "$TMP" new) ]] || fail "left beside OUT: $(leftovers "$TMP" new)"
}

case_spill_private() {
    # The spill directory a running job made: fresh, 0700, its owner file 0600 and regular.
    local job top
    rm -rf "$TMP/sp1" && mkdir "$TMP/sp1"
    "$SHEAF" stream --mapper 'sleep 2; cat' -i "$TMP/in.txt" -o "$TMP/sp-out" \
        --spill-dir "$TMP/sp1" -q >"$TMP/sp1.log" 2>&1 &
    job=$!
    for _ in $(seq 400); do
        top=$(compgen -G "$TMP/sp1/sheaf-spill-*" || true)
        [[ -n $top ]] && break
        sleep 0.05
    done
    [[ -n $top ]] || fail "no spill directory seen"
    [[ $(stat -c %a "$top") == 700 ]] || fail "spill directory mode $(stat -c %a "$top")"
    [[ -f $top/owner && ! -L $top/owner ]] || fail "no regular owner file"
    [[ $(stat -c %a "$top/owner") == 600 ]] || fail "owner file mode $(stat -c %a "$top/owner")"
    wait "$job" || { cat "$TMP/sp1.log" >&2; fail "the job failed"; }
    [[ -z $(find "$TMP/sp1" -name 'sheaf-spill-*') ]] || fail "spill directory left"
}

case_spill_sweep_only_dead_jobs() {
    local sp=$TMP/sp2 host dead
    host=$(hostname)
    rm -rf "$sp" "$TMP/victim" && mkdir -p "$sp"
    sleep 0 &
    dead=$!
    wait "$dead"
    # (a) not private; (b) a symlink to a private directory elsewhere; (c) an owner file that
    # is a symlink; (d) a live owner; (e) a stale one of a dead job, the only one to go.
    mkdir -m 755 "$sp/sheaf-open" && echo "$host $dead" >"$sp/sheaf-open/owner"
    mkdir -m 700 "$TMP/victim" && echo "$host $dead" >"$TMP/victim/owner"
    echo "precious" >"$TMP/victim/data"
    ln -s "$TMP/victim" "$sp/sheaf-link"
    echo "$host $dead" >"$TMP/owner-text"
    mkdir -m 700 "$sp/sheaf-ownerlink" && ln -s "$TMP/owner-text" "$sp/sheaf-ownerlink/owner"
    mkdir -m 700 "$sp/sheaf-alive" && echo "$host $$" >"$sp/sheaf-alive/owner"
    mkdir -m 700 "$sp/sheaf-stale" && echo "$host $dead" >"$sp/sheaf-stale/owner"
    mkdir -m 700 "$sp/sheaf-stale/rank-0" && echo run >"$sp/sheaf-stale/rank-0/run-000000"
    must_np 2 wordcount -i "$TMP/in.txt" -o "$TMP/sweep-out" --spill-dir "$sp" --memory 1M
    compare_wc "$TMP/sweep-out" "$TMP/ref"
    [[ ! -e $sp/sheaf-stale ]] || fail "the dead job's spill directory was not swept"
    local d
    for d in sheaf-open sheaf-link sheaf-ownerlink sheaf-alive; do
        [[ -e $sp/$d || -L $sp/$d ]] || fail "$d was swept"
    done
    [[ $(cat "$TMP/victim/data") == precious ]] || fail "the symlink's target was touched"
    [[ $(find "$sp" -maxdepth 1 | wc -l) -eq 5 ]] || fail "unexpected spill entries: $(ls -A "$sp")"
}

case_stale_names_of_others() {
    # .OUT.sheaf-* names that another user made in a directory both can write: never swept by
    # --overwrite, never put back as a missing OUT (the removal would walk a tree they can
    # change under it, a restore would make their directory the output).
    if ((EUID != 0)); then
        echo "# SKIP stale-names-of-others: only root can make another user's directory here"
        return 0
    fi
    local d=$TMP/shared n
    rm -rf "$d" && mkdir -m 1777 "$d"
    must_np 0 wordcount -i "$TMP/in.txt" -o "$d/out"
    for n in .out.sheaf-abcdef .out.sheaf-old-zzzzzz; do
        mkdir "$d/$n" && echo theirs >"$d/$n/file"
        chown -R 65534:65534 "$d/$n"
    done
    must_np 2 wordcount -i "$TMP/in2.txt" -o "$d/out" --overwrite
    compare_wc "$d/out" "$TMP/ref2"
    for n in .out.sheaf-abcdef .out.sheaf-old-zzzzzz; do
        [[ -f $d/$n/file ]] || fail "another user's $n was swept"
    done
    rm -rf "$d/out"
    must_np 2 wordcount -i "$TMP/in.txt" -o "$d/out"
    compare_wc "$d/out" "$TMP/ref"
    [[ $(stat -c %u "$d/out") == 0 ]] || fail "another user's directory became the output"
    [[ -f $d/.out.sheaf-old-zzzzzz/file ]] || fail "another user's old output was moved"
}

# stopped NP SIGNAL OUT [ARG...]: runs a slow stream job (new output OUT, or --overwrite an old
# one), sends SIGNAL (to mpirun under NP > 0, else to the rank) once the job writes, and checks
# that it exits non-zero and leaves nothing of its own.
stopped() {
    local np=$1 sig=$2 out=$3 pid rc=0
    shift 3
    local -a cmd=("$SHEAF" stream --mapper 'sleep 3; cat' -i "$TMP/in.txt" -o "$out"
        --split-size 16K --spill-dir "$TMP/sig-spill" "$@")
    ((np > 0)) && cmd=("$MPIRUN" -np "$np" --oversubscribe "${cmd[@]}")
    mkdir -p "$TMP/sig-spill"
    "${cmd[@]}" >"$TMP/sig.log" 2>&1 &
    pid=$!
    for _ in $(seq 400); do
        compgen -G "$TMP/sig-spill/sheaf-spill-*/rank-0" >/dev/null && break
        sleep 0.05
    done
    sleep 0.5
    kill "-$sig" "$pid"
    wait "$pid" || rc=$?
    ((rc != 0)) || { cat "$TMP/sig.log" >&2; fail "np $np SIG$sig: the job exited 0"; }
    gone_soon "$TMP/sig-spill"/sheaf-spill-* "$TMP/.$(basename "$out").sheaf-"*
    if [[ " $* " == *" --overwrite "* ]]; then
        (cd "$out" && md5sum -c --quiet "$TMP/sig-before.md5") || fail "np $np: old output damaged"
    else
        gone_soon "$out"
    fi
}

case_signals() {
    stopped 0 TERM "$TMP/sig-new"
    stopped 0 HUP "$TMP/sig-new" # a background job of a script ignores SIGINT
    stopped 2 INT "$TMP/sig-new"
    stopped 3 TERM "$TMP/sig-new"
    must_np 2 wordcount -i "$TMP/in.txt" -o "$TMP/sig-old"
    (cd "$TMP/sig-old" && md5sum part-r-* _SUCCESS) >"$TMP/sig-before.md5"
    stopped 0 TERM "$TMP/sig-old" --overwrite
    stopped 2 INT "$TMP/sig-old" --overwrite
    compare_wc "$TMP/sig-old" "$TMP/ref"
}

case_kill9_and_work_dirs() {
    # A multi-round job stopped in its first round (held in the window after its round output
    # is made), by SIGTERM and by SIGKILL: the work directory, OUT and the lock go too.
    local sig pid rc
    for sig in TERM KILL; do
        rc=0
        SHEAF_FAULT=pause-prepare:30 "$SHEAF" topk --count -i "$TMP/in.txt" -o "$TMP/tk" \
            --spill-dir "$TMP/spill" >"$TMP/tk.log" 2>&1 &
        pid=$!
        for _ in $(seq 400); do
            compgen -G "$TMP/tk.work-topk-*/counts" >/dev/null && break
            sleep 0.05
        done
        compgen -G "$TMP/tk.work-topk-*/counts" >/dev/null || fail "SIG$sig: no round started"
        kill "-$sig" "$pid"
        wait "$pid" || rc=$?
        ((rc != 0)) || fail "SIG$sig: the job exited 0"
        gone_soon "$TMP"/tk.work-topk-* "$TMP/tk" "$TMP/spill"/sheaf-spill-*
    done
}

run_case killed-between-renames case_killed_between_renames
run_case overwrite-during-mkdir case_overwrite_during_mkdir
run_case spill-private case_spill_private
run_case spill-sweep-only-dead-jobs case_spill_sweep_only_dead_jobs
run_case stale-names-of-others case_stale_names_of_others
run_case signals case_signals
run_case kill9-and-work-dirs case_kill9_and_work_dirs
finish
