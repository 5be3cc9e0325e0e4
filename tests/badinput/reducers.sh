#!/usr/bin/env bash
# The bound on --reducers. A million reducers on three lines used to run for minutes writing
# hundreds of thousands of empty part files; above SHEAF_MAX_REDUCERS (65536) the count is a
# usage error (exit 2, naming the option and the bound) that creates nothing, within seconds.
# At the bound the job runs, writes every part file (empty ones included, as Hadoop does) and
# counts right. sheaf_run checks the count too (a program that sets sheaf_config.reducers
# itself, tests/badinput/badpart).
# shellcheck disable=SC2317  # the cases are called through run_case
source "${top_srcdir:-$(dirname "$0")/../..}/tests/badinput/lib.sh"

BADPART=$top_builddir/tests/badinput/badpart
[[ -x $BADPART ]] || { echo "tests/badinput/badpart is not built"; exit 99; }

printf 'one two\nthree two\nthree three\n' >"$TMP/three.txt"
ref_wc "$TMP/three.txt" >"$TMP/three.ref"

case_above_the_bound() {
    local np n
    for np in 0 2; do
        for n in 1000000 65537 4294967295; do
            SHEAF_TEST_TIMEOUT=30 expect_fail 2 \
                "--reducers: '$n' is not a number from 1 to 65536 (each reducer is a part file)" \
                "$np" wordcount -i "$TMP/three.txt" -o "$TMP/o-many" --reducers "$n"
        done
    done
}

case_sheaf_run_checks() {
    local rc=0
    SHEAF=$BADPART run_np 2 -i "$TMP/three.txt" -o "$TMP/o-api" --set-reducers 65537 || rc=$?
    cat "$LAST_LOG"
    ((rc == 2)) || fail "exit status $rc, expected 2"
    grep -q -F "65537 reducers: more than 65536, the most a job may have" "$LAST_LOG" ||
        fail "sheaf_run did not refuse 65537 reducers"
    [[ ! -e $TMP/o-api ]] || fail "the refused job created its output"
    no_spill_left
}

case_at_the_bound() {
    must_np 2 wordcount -i "$TMP/three.txt" -o "$TMP/o-max" --reducers 65536
    local nparts
    nparts=$(find "$TMP/o-max" -name 'part-r-*' | wc -l)
    ((nparts == 65536)) || fail "$nparts part files, expected 65536"
    [[ -e $TMP/o-max/part-r-65535 ]] || fail "the last part file is misnamed"
    [[ -f $TMP/o-max/_SUCCESS ]] || fail "_SUCCESS is missing"
    # (Too many files for one command line: compare_wc cannot take them.)
    find "$TMP/o-max" -name 'part-r-*' -print0 | xargs -0 cat | sort >"$TMP/o-max.sorted"
    cmp -s "$TMP/o-max.sorted" "$TMP/three.ref" ||
        fail "word counts differ: $(tr '\n\t' ' :' <"$TMP/o-max.sorted")"
}

run_case above-the-bound case_above_the_bound
run_case sheaf-run-checks case_sheaf_run_checks
run_case at-the-bound case_at_the_bound
finish
