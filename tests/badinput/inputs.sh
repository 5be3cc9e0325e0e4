#!/usr/bin/env bash
# Inputs that are not what they seem. A regular file whose size says 0 but which has bytes (a
# /proc file) is read to its end, at 1 and 2 ranks, and counted like coreutils counts it. A
# file truncated, extended or touched while the job reads it fails the job (exit 1) naming
# the file, never a partial answer: the stream mapper of the first task changes the file
# (through its absolute path) before it reads a byte, so the job cannot have read the file
# whole by then. valsort refuses what is not a regular file or has no size (a character
# device, a FIFO, a /proc file) instead of saying "0 records in order"; the side files jobs
# read themselves (join --broadcast's right input, kmeans --init) are refused when they are
# FIFOs instead of blocking the job for ever.
# shellcheck disable=SC2317  # the cases are called through run_case
source "${top_srcdir:-$(dirname "$0")/../..}/tests/badinput/lib.sh"

case_unsized_proc_file() {
    # /proc/filesystems: a regular file of size 0 whose contents do not change while the
    # test runs.
    local f=/proc/filesystems
    [[ -f $f && ! -s $f && -n $(head -c 1 "$f") ]] || fail "$f is not an unsized regular file"
    cat "$f" >"$TMP/fs.copy"
    ref_wc "$TMP/fs.copy" >"$TMP/fs.ref"
    [[ -s $TMP/fs.ref ]] || fail "the reference is empty"
    wc_ranks "0 2" "$TMP/fs.ref" proc -i "$f"
    # With an ordinary file beside it, at small splits: both are read whole.
    head -n 300 "$top_srcdir/data/kjv.txt" >"$TMP/kjv300.txt"
    ref_wc "$TMP/fs.copy" "$TMP/kjv300.txt" |
        awk -F '\t' '{ n[$1] += $2 } END { for (w in n) print w "\t" n[w] }' | sort >"$TMP/both.ref"
    wc_ranks "2" "$TMP/both.ref" proc-and-file -i "$f" -i "$TMP/kjv300.txt" --split-size 4K
    # An empty regular file is still an empty input.
    : >"$TMP/empty.txt"
    must_np 0 wordcount -i "$TMP/empty.txt" -o "$TMP/o-empty"
    [[ -z $(cat "$TMP/o-empty"/part-r-*) ]] || fail "an empty file gave words"
}

# changed_under MAPPER_ACTION TEXT: a 4 MB file read in 1 MB splits by a stream job whose
# mapper first runs MAPPER_ACTION on the input; the job must fail with TEXT.
changed_under() {
    local action=$1 text=$2
    seq 1 600000 >"$TMP/big.txt"
    expect_fail 1 "$text" 0 stream -i "$TMP/big.txt" -o "$TMP/o-changed" --split-size 1M \
        --mapper "sh -c '$action; exec cat'"
}

case_truncated_while_read() {
    changed_under "truncate -s 1000 $TMP/big.txt" "input $TMP/big.txt changed "
    # A file the job did not change gives the whole answer (the control).
    seq 1 600000 >"$TMP/big.txt"
    must_np 0 stream -i "$TMP/big.txt" -o "$TMP/o-same" --split-size 1M --mapper cat
    cmp -s <(parts_sorted "$TMP/o-same") <(sort "$TMP/big.txt") || fail "the control differs"
}

case_extended_while_read() {
    changed_under "echo 600001 >>$TMP/big.txt" \
        "input $TMP/big.txt changed since the job started: its size was 4088895 and is 4088902"
}

case_touched_while_read() {
    changed_under "touch -d @978307200 $TMP/big.txt" \
        "input $TMP/big.txt changed since the job started: it was modified"
}

case_valsort_not_regular() {
    "$SHEAF" gensort 1000 "$TMP/sorted-in" -q
    must_np 0 sort -i "$TMP/sorted-in" -o "$TMP/sorted" --input-format fixed:100
    must_np 0 valsort "$TMP/sorted"
    grep -q '^records	1000$' "$LAST_LOG" || fail "valsort did not count 1000 records"
    expect_fail 1 "/dev/zero: not a regular file" 0 valsort /dev/zero
    expect_fail 1 "/dev/null: not a regular file" 2 valsort /dev/null
    mkfifo "$TMP/fifo"
    expect_fail 1 "$TMP/fifo: not a regular file" 0 valsort "$TMP/fifo"
    # /proc/self/status is the status of valsort itself: never empty, size 0.
    expect_fail 1 "/proc/self/status: its size (0) is not its length" 0 valsort /proc/self/status
    # A named file among good ones fails the whole check.
    expect_fail 1 "/dev/zero: not a regular file" 2 valsort "$TMP/sorted" /dev/zero
}

case_side_files_not_regular() {
    mkfifo "$TMP/side.fifo"
    printf 'id,name\n1,ann\n' >"$TMP/users.csv"
    SHEAF_TEST_TIMEOUT=30 expect_fail 1 "cannot read $TMP/side.fifo: not a regular file" 2 \
        join -i "$TMP/users.csv" -i "$TMP/side.fifo" --key id --input-format csv --csv-header \
        --broadcast -o "$TMP/o-join"
    printf 'x,y\n1,1\n9,9\n' >"$TMP/pts.csv"
    SHEAF_TEST_TIMEOUT=30 expect_fail 1 "cannot read --init $TMP/side.fifo: not a regular file" 0 \
        kmeans -i "$TMP/pts.csv" --input-format csv --csv-header --init "$TMP/side.fifo" \
        --k 2 -o "$TMP/o-km"
}

run_case unsized-proc-file case_unsized_proc_file
run_case truncated-while-read case_truncated_while_read
run_case extended-while-read case_extended_while_read
run_case touched-while-read case_touched_while_read
run_case valsort-not-regular case_valsort_not_regular
run_case side-files-not-regular case_side_files_not_regular
finish
