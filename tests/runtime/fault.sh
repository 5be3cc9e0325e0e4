#!/usr/bin/env bash
# Agreed failure: SHEAF_FAULT=phase:rank[:after-N] fails one rank in each phase; every time the
# job exits 1 with one message naming the rank, leaves no _SUCCESS, keeps an earlier output
# complete, leaves no spill or staging files, and the next run with --overwrite succeeds.
source "${top_srcdir:-$(dirname "$0")/../..}/tests/mpi/lib.sh"

head -n 5000 "$top_srcdir/data/kjv.txt" >"$TMP/in.txt"
ref_wc "$TMP/in.txt" >"$TMP/ref"
mkdir -p "$TMP/spill"
must_np 2 wordcount -i "$TMP/in.txt" -o "$TMP/out" --split-size 64K
compare_wc "$TMP/out" "$TMP/ref"
(cd "$TMP/out" && md5sum part-r-* _SUCCESS) >"$TMP/before.md5"

inject() { # inject NP SPEC: the job fails as it should
    local np=$1 spec=$2 rc=0 rank=${2#*:}
    rank=${rank%%:*}
    SHEAF_FAULT=$spec run_np "$np" wordcount -i "$TMP/in.txt" -o "$TMP/out" --overwrite \
        --memory 1M --split-size 64K --spill-dir "$TMP/spill" || rc=$?
    [[ $rc -eq 1 ]] || { cat "$LAST_LOG" >&2; fail "$spec: exit status $rc, expected 1"; }
    grep -q "error: rank $rank: injected fault" "$LAST_LOG" ||
        { cat "$LAST_LOG" >&2; fail "$spec: the message does not name rank $rank"; }
    [[ $(grep -c 'error:' "$LAST_LOG") -eq 1 ]] || fail "$spec: more than one error line"
    (cd "$TMP/out" && md5sum -c --quiet "$TMP/before.md5") || fail "$spec: earlier output damaged"
    [[ -z $(ls -A "$TMP/spill") ]] || fail "$spec: spill files left: $(ls -A "$TMP/spill")"
    [[ -z $(find "$TMP" -maxdepth 1 -name '.out.sheaf-*') ]] || fail "$spec: staging left"
}

case_each_phase() {
    inject 2 map:1:100
    inject 3 map:2
    inject 2 shuffle:0
    inject 3 sort:1
    inject 2 reduce:1
    inject 3 commit:0
    inject 1 setup:0
}

case_rerun_succeeds() {
    must_np 2 wordcount -i "$TMP/in.txt" -o "$TMP/out" --overwrite --memory 1M
    compare_wc "$TMP/out" "$TMP/ref"
}

case_new_output_removed() {
    local rc=0
    SHEAF_FAULT=reduce:0 run_np 2 wordcount -i "$TMP/in.txt" -o "$TMP/fresh" || rc=$?
    [[ $rc -eq 1 ]] || fail "exit status $rc"
    [[ ! -e $TMP/fresh ]] || fail "a failed job left a new output directory behind"
}

run_case fault-in-each-phase case_each_phase
run_case rerun-succeeds case_rerun_succeeds
run_case new-output-removed case_new_output_removed
finish
