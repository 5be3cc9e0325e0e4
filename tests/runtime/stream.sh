#!/usr/bin/env bash
# sheaf stream (Hadoop Streaming): word count with shell and awk commands at 1 to 3 ranks
# compared with coreutils; the identity reducer; a failing mapper and a killed reducer fail the
# job with the command's status and the tail of its stderr, and leave no output.
source "${top_srcdir:-$(dirname "$0")/../..}/tests/mpi/lib.sh"

SAMPLE=$top_srcdir/data/kjv.txt
cat >"$TMP/mapper.sh" <<'SH'
#!/bin/sh
tr -s ' \t\r' '\n\n\n' | awk 'NF { print $0 "\t1" }'
SH
cat >"$TMP/sum.awk" <<'AWK'
BEGIN { FS = "\t" }
$1 != k { if (n) print k "\t" s; k = $1; s = 0; n = 1 }
{ s += $2 }
END { if (n) print k "\t" s }
AWK
head -n 3000 "$SAMPLE" >"$TMP/in.txt"
ref_wc "$TMP/in.txt" >"$TMP/ref"

case_wordcount() {
    local np
    for np in 1 2 3; do
        must_np "$np" stream --files "$TMP/mapper.sh" --files "$TMP/sum.awk" \
            --mapper 'sh mapper.sh' --combiner 'awk -f sum.awk' --reducer 'awk -f sum.awk' \
            -i "$TMP/in.txt" -o "$TMP/wc$np" --split-size 64K
        compare_wc "$TMP/wc$np" "$TMP/ref"
    done
}

case_identity_reduce() {
    # No reducer: every map output line comes back, sorted within its partition.
    must_np 2 stream --mapper "awk '{ print \$1 \"\\t\" NR }'" -i "$TMP/in.txt" -o "$TMP/id" \
        --split-size 32K
    local n
    n=$(cat "$TMP/id"/part-r-* | wc -l)
    [[ $n -eq $(wc -l <"$TMP/in.txt") ]] || fail "identity reduce wrote $n lines"
    cut -f1 "$TMP/id"/part-r-* | sort >"$TMP/id.keys"
    awk '{ print $1 }' "$TMP/in.txt" | sort | cmp - "$TMP/id.keys" || fail "keys differ"
}

case_failing_mapper() {
    local rc=0
    run_np 2 stream --mapper 'echo mapper-broke >&2; exit 3' -i "$TMP/in.txt" -o "$TMP/bad1" ||
        rc=$?
    [[ $rc -eq 1 ]] || fail "exit status $rc, expected 1"
    grep -q 'exited with status 3' "$LAST_LOG" || fail "no exit status in the message"
    grep -q 'mapper-broke' "$LAST_LOG" || fail "no stderr tail in the message"
    [[ ! -e $TMP/bad1 ]] || fail "a failed job left its output directory"
}

case_killed_reducer() {
    local rc=0
    run_np 2 stream --mapper cat --reducer 'kill -9 $$' -i "$TMP/in.txt" -o "$TMP/bad2" || rc=$?
    [[ $rc -eq 1 ]] || fail "exit status $rc, expected 1"
    grep -q 'killed by signal 9' "$LAST_LOG" || fail "no signal in the message"
    [[ ! -e $TMP/bad2/_SUCCESS ]] || fail "_SUCCESS after a failure"
}

case_missing_side_file() {
    local rc=0
    run_np 1 stream --files "$TMP/nonexistent" --mapper cat -i "$TMP/in.txt" -o "$TMP/bad3" ||
        rc=$?
    [[ $rc -eq 1 ]] || fail "exit status $rc"
    grep -q "nonexistent" "$LAST_LOG" || fail "the message does not name the file"
}

run_case wordcount case_wordcount
run_case identity-reduce case_identity_reduce
run_case failing-mapper case_failing_mapper
run_case killed-reducer case_killed_reducer
run_case missing-side-file case_missing_side_file
finish
