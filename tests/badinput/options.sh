#!/usr/bin/env bash
# Bad command lines: invalid sizes and counts, unknown options and jobs, a missing argument,
# unknown formats and policies, 0 reducers. Each exits 2 (bad usage) with one message naming
# the option and the value, on 1 rank and under mpirun, and creates nothing. A fixed:N length
# that does not divide a file's size is a property of the data: exit 1, naming the file.
# shellcheck disable=SC2317  # the cases are called through run_case
source "${top_srcdir:-$(dirname "$0")/../..}/tests/badinput/lib.sh"

IN=$TMP/in.txt
head -n 200 "$top_srcdir/data/kjv.txt" >"$IN"
OUT=$TMP/out

case_sizes() {
    local np
    for np in 0 2; do
        expect_fail 2 "--memory: invalid size '0'" "$np" wordcount -i "$IN" -o "$OUT" --memory 0
        expect_fail 2 "--memory: invalid size '10Q'" "$np" \
            wordcount -i "$IN" -o "$OUT" --memory 10Q
        expect_fail 2 "--split-size: invalid size '-1'" "$np" \
            wordcount -i "$IN" -o "$OUT" --split-size -1
    done
    expect_fail 2 "--split-size: invalid size '0'" 0 wordcount -i "$IN" -o "$OUT" --split-size 0
    expect_fail 2 "--memory: invalid size ''" 0 wordcount -i "$IN" -o "$OUT" --memory ''
    expect_fail 2 "--memory: invalid size '512K'" 0 wordcount -i "$IN" -o "$OUT" --memory 512K
    expect_fail 2 "--memory: invalid size '1M1'" 0 wordcount -i "$IN" -o "$OUT" --memory 1M1
    expect_fail 2 "--memory: invalid size '99999999999T'" 0 \
        wordcount -i "$IN" -o "$OUT" --memory 99999999999T
    expect_fail 2 "--split-size: invalid size 'lots'" 0 \
        wordcount -i "$IN" -o "$OUT" --split-size lots
}

case_counts() {
    # 0 reducers is a usage error (one partition at least).
    expect_fail 2 "--reducers: '0' is not a number from 1 to 65536" 0 \
        wordcount -i "$IN" -o "$OUT" --reducers 0
    expect_fail 2 "--reducers: '0' is not a number" 2 wordcount -i "$IN" -o "$OUT" --reducers 0
    expect_fail 2 "--reducers: '-3' is not a number" 0 wordcount -i "$IN" -o "$OUT" --reducers -3
    expect_fail 2 "--reducers: 'two' is not a number" 0 wordcount -i "$IN" -o "$OUT" --reducers two
    expect_fail 2 "--reducers: '4294967297' is not a number" 0 \
        wordcount -i "$IN" -o "$OUT" --reducers 4294967297
    expect_fail 2 "--max-bad-records: '-1' is not a count" 0 \
        wordcount -i "$IN" -o "$OUT" --max-bad-records -1
    expect_fail 2 "--seed: 'x1' is not a number" 0 wordcount -i "$IN" -o "$OUT" --seed x1
}

case_unknown() {
    expect_fail 2 "unknown option '--bogus'" 0 wordcount -i "$IN" -o "$OUT" --bogus
    expect_fail 2 "unknown option '--bogus'" 2 wordcount -i "$IN" -o "$OUT" --bogus
    expect_fail 2 "unknown option '-Z'" 0 wordcount -i "$IN" -o "$OUT" -Z
    # Another job's option is unknown to this one.
    expect_fail 2 "unknown option '--mapper'" 0 wordcount -i "$IN" -o "$OUT" --mapper cat
    expect_fail 2 "unexpected argument 'stray'" 0 wordcount -i "$IN" -o "$OUT" stray
    expect_fail 2 "unknown job 'wordcont'" 0 wordcont -i "$IN" -o "$OUT"
    expect_fail 2 "unknown job 'wordcont'" 2 wordcont -i "$IN" -o "$OUT"
}

case_missing() {
    expect_fail 2 "option '-i' needs an argument" 0 wordcount -o "$OUT" -i
    expect_fail 2 "option '--output' needs an argument" 0 wordcount -i "$IN" --output
    # Every option taking an argument says so when it comes without one (common options that
    # have no short letter and jobs' own options too), and a flag given a value says it takes
    # none, naming the option without the value.
    expect_fail 2 "option '--memory' needs an argument" 0 wordcount -i "$IN" -o "$OUT" --memory
    expect_fail 2 "option '--reducers' needs an argument" 2 \
        wordcount -i "$IN" -o "$OUT" --reducers
    expect_fail 2 "option '--pattern' needs an argument" 0 grep -i "$IN" -o "$OUT" --pattern
    expect_fail 2 "option '--lower' takes no argument" 0 wordcount -i "$IN" -o "$OUT" --lower=yes
    expect_fail 2 "option '--overwrite' takes no argument" 0 \
        wordcount -i "$IN" -o "$OUT" --overwrite=1
    expect_fail 2 "no output directory given" 0 wordcount -i "$IN"
    expect_fail 2 "no input given (-i PATH)" 0 wordcount -o "$OUT"
    [[ ! -e $OUT ]] || fail "a usage error created the output"
}

case_formats() {
    expect_fail 2 "--input-format: unknown format 'xml'" 0 \
        wordcount -i "$IN" -o "$OUT" --input-format xml
    expect_fail 2 "--input-format: unknown format 'fixed:0'" 0 \
        wordcount -i "$IN" -o "$OUT" --input-format fixed:0
    expect_fail 2 "--input-format: unknown format 'fixed:-8'" 0 \
        wordcount -i "$IN" -o "$OUT" --input-format fixed:-8
    expect_fail 2 "--input-format: unknown format 'fixed:ten'" 0 \
        wordcount -i "$IN" -o "$OUT" --input-format fixed:ten
    expect_fail 2 "--output-format: unknown format 'json'" 0 \
        wordcount -i "$IN" -o "$OUT" --output-format json
    expect_fail 2 "--record-delimiter: 'ab' is not one byte" 0 \
        wordcount -i "$IN" -o "$OUT" --record-delimiter ab
    expect_fail 2 "--csv-delimiter: '\"' is not one byte" 0 \
        wordcount -i "$IN" -o "$OUT" --csv-delimiter '"'
    expect_fail 2 "--bind: unknown policy 'everywhere'" 0 \
        wordcount -i "$IN" -o "$OUT" --bind everywhere
    expect_fail 2 "--schedule: unknown mode 'random'" 0 \
        wordcount -i "$IN" -o "$OUT" --schedule random
    expect_fail 2 "--log-level: unknown level 'loud'" 0 \
        wordcount -i "$IN" -o "$OUT" --log-level loud
}

case_fixed_length() {
    # 17 bytes is not a whole number of 4-byte records: refused before any map, naming the file.
    printf '0123456789abcdefg' >"$TMP/rec17"
    expect_fail 1 "input $TMP/rec17: size 17 is not a multiple of the record length 4" 0 \
        wordcount -i "$TMP/rec17" -o "$OUT" --input-format fixed:4
    expect_fail 1 "size 17 is not a multiple of the record length 4" 2 \
        wordcount -i "$TMP/rec17" -o "$OUT" --input-format fixed:4
    # A whole number of records is fine (the control).
    printf '0123456789abcdef' >"$TMP/rec16"
    must_np 2 wordcount -i "$TMP/rec16" -o "$TMP/fixed-ok" --input-format fixed:4
    [[ $(parts_sorted "$TMP/fixed-ok" | tr '\n\t' ' :') == "0123:1 4567:1 89ab:1 cdef:1 " ]] ||
        fail "fixed:4 records were not read as four words"
}

run_case invalid-sizes case_sizes
run_case invalid-counts case_counts
run_case unknown-options-and-jobs case_unknown
run_case missing-arguments case_missing
run_case unknown-formats case_formats
run_case wrong-fixed-length case_fixed_length
finish
