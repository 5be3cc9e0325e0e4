#!/usr/bin/env bash
# Out-of-core: with a tiny --memory the job spills sorted runs and merges them, and its output
# is identical to an in-memory run and to the coreutils reference, at 1 to 4 ranks; a key that
# holds most of the records; no spill file remains; a spill directory that cannot be created
# fails the job with a message naming it.
source "${top_srcdir:-$(dirname "$0")/../..}/tests/mpi/lib.sh"

# About 3 MB with many distinct words (line numbers make every line's last word unique).
awk 'NR <= 20000 { print $0, "w" NR }' "$top_srcdir/data/kjv.txt" >"$TMP/in.txt"
ref_wc "$TMP/in.txt" >"$TMP/ref"
mkdir -p "$TMP/spill"

report_field() { # report_field OUT EXPR: a number from _report.json
    sed -n "s/^ *\"$2\": {\"total\": \\([0-9]*\\).*/\\1/p" "$1/_report.json" | head -n 1
}

case_spill_matches() {
    local np runs
    for np in 1 2 3 4; do
        must_np "$np" wordcount -i "$TMP/in.txt" -o "$TMP/s$np" --memory 1M --split-size 256K \
            --spill-dir "$TMP/spill"
        compare_wc "$TMP/s$np" "$TMP/ref"
        runs=$(grep -A1 '"spill_runs"' "$TMP/s$np/_report.json" | grep -o '"total": [0-9]*' |
            grep -o '[0-9]*$')
        [[ ${runs:-0} -gt 0 ]] || fail "np $np: no run was spilled with --memory 1M"
        [[ -z $(ls -A "$TMP/spill") ]] || fail "spill files left behind: $(ls -A "$TMP/spill")"
    done
}

case_skewed_key() {
    # Most records share one key and there is no combiner (sheaf stream without one), so the
    # reducer sees that key's 200000 values through the value iterator, streamed from runs.
    { awk 'BEGIN { for (i = 0; i < 200000; i++) print "hot" }'; head -n 2000 "$TMP/in.txt"; } \
        >"$TMP/skew.txt"
    printf '%s\n' 'BEGIN { FS = "\t" }' '$1 != k { if (n) print k "\t" s; k = $1; s = 0; n = 1 }' \
        '{ s += $2 }' 'END { if (n) print k "\t" s }' >"$TMP/sum.awk"
    ref_wc "$TMP/skew.txt" >"$TMP/skew.ref"
    must_np 2 stream --mapper "tr -s ' \\t\\r' '\\n\\n\\n' | awk 'NF { print \$0 \"\\t1\" }'" \
        --files "$TMP/sum.awk" --reducer 'awk -f sum.awk' \
        -i "$TMP/skew.txt" -o "$TMP/skew" --memory 1M --split-size 128K --spill-dir "$TMP/spill"
    compare_wc "$TMP/skew" "$TMP/skew.ref"
    grep -q '"spill_runs"' "$TMP/skew/_report.json" || fail "no spill counter in the report"
}

case_bad_spill_dir() {
    local rc=0
    echo x >"$TMP/plainfile"
    run_np 2 wordcount -i "$TMP/in.txt" -o "$TMP/bad" --memory 1M \
        --spill-dir "$TMP/plainfile/sub" || rc=$?
    [[ $rc -ne 0 ]] || fail "a spill directory under a regular file was accepted"
    grep -q "plainfile/sub" "$LAST_LOG" || fail "the message does not name the spill directory"
    [[ ! -e $TMP/bad ]] || fail "the failed job left its output"
}

case_new_spill_dir() {
    must_np 1 wordcount -i "$TMP/in.txt" -o "$TMP/newdir" --memory 1M \
        --spill-dir "$TMP/not/yet/there"
    compare_wc "$TMP/newdir" "$TMP/ref"
    [[ -z $(ls -A "$TMP/not/yet/there") ]] || fail "spill files left behind"
}

run_case spill-matches-reference case_spill_matches
run_case skewed-key case_skewed_key
run_case unwritable-spill-dir case_bad_spill_dir
run_case spill-dir-created case_new_spill_dir
finish
