#!/usr/bin/env bash
# Bad input and output paths: each is refused with exit status 1 (2 for a contradiction in the
# command line itself), one message naming the path, and nothing lost: an earlier output stays
# byte for byte, a new one is not created, no spill file remains.
#   missing input, a glob matching nothing, a directory holding no files (only hidden ones),
#   a FIFO, a character device, a path through a regular file, a file named as a directory,
#   an output under a regular file, an existing output without --overwrite, an existing
#   regular file as the output, an output equal to an input file, inside an input directory,
#   or equal to it.
# shellcheck disable=SC2317  # the cases are called through run_case
source "${top_srcdir:-$(dirname "$0")/../..}/tests/badinput/lib.sh"

IN=$TMP/in.txt
head -n 500 "$top_srcdir/data/kjv.txt" >"$IN"
ref_wc "$IN" >"$TMP/ref"
# An earlier good output that every failing run near it must leave as it is.
must_np 0 wordcount -i "$IN" -o "$TMP/good"
compare_wc "$TMP/good" "$TMP/ref"

case_missing_input() {
    expect_fail 1 "input $TMP/nothere: No such file or directory" 0 \
        wordcount -i "$TMP/nothere" -o "$TMP/o-missing"
    # One missing input among good ones fails the job too.
    expect_fail 1 "input $TMP/nothere" 2 wordcount -i "$IN" -i "$TMP/nothere" -o "$TMP/o-missing"
    expect_fail 1 "input $TMP/nomatch*.txt: no file matches" 0 \
        wordcount -i "$TMP/nomatch*.txt" -o "$TMP/o-missing"
}

case_empty_directory() {
    mkdir -p "$TMP/empty" "$TMP/hidden"
    : >"$TMP/hidden/.only-hidden"
    : >"$TMP/hidden/_SUCCESS"
    expect_fail 1 "input $TMP/empty: directory holds no input files" 2 \
        wordcount -i "$TMP/empty" -o "$TMP/o-empty"
    expect_fail 1 "input $TMP/hidden: directory holds no input files" 0 \
        wordcount -i "$TMP/hidden" -o "$TMP/o-empty"
}

case_fifo() {
    mkfifo "$TMP/fifo"
    expect_fail 1 "input $TMP/fifo: not a regular file or directory" 2 \
        wordcount -i "$TMP/fifo" -o "$TMP/o-fifo"
    # Inside a directory it is refused as well (not read, which would block).
    mkdir -p "$TMP/withfifo"
    cp "$IN" "$TMP/withfifo/a.txt"
    mkfifo "$TMP/withfifo/b.fifo"
    expect_fail 1 "input $TMP/withfifo/b.fifo: not a regular file" 0 \
        wordcount -i "$TMP/withfifo" -o "$TMP/o-fifo"
}

case_device() {
    [[ -c /dev/null ]] || fail "/dev/null is not a character device here"
    expect_fail 1 "input /dev/null: not a regular file or directory" 2 \
        wordcount -i /dev/null -o "$TMP/o-dev"
}

case_unreadable_for_root() {
    # chmod 000 does not stop root; these fail for everyone.
    expect_fail 1 "input $IN/x: Not a directory" 0 wordcount -i "$IN/x" -o "$TMP/o-unread"
    expect_fail 1 "input $IN/: Not a directory" 2 wordcount -i "$IN/" -o "$TMP/o-unread"
}

case_output_under_file() {
    echo "not a directory" >"$TMP/plain"
    expect_fail 1 "output $TMP/plain/out: $TMP/plain is a regular file, not a directory" 0 \
        wordcount -i "$IN" -o "$TMP/plain/out"
    expect_fail 1 "output $TMP/plain/deeper/out: a parent is a regular file" 2 \
        wordcount -i "$IN" -o "$TMP/plain/deeper/out"
    # Under an input file it is the input check that refuses it.
    expect_fail 2 "output $IN/out is the input $IN or inside it" 0 wordcount -i "$IN" -o "$IN/out"
}

case_existing_output() {
    expect_fail 1 "output $TMP/good already exists (use --overwrite to replace it)" 2 \
        wordcount -i "$IN" -o "$TMP/good"
    expect_fail 1 "output $TMP/good already exists" 0 wordcount -i "$IN" -o "$TMP/good/"
    # A regular file in the way is never replaced, even with --overwrite.
    echo "precious" >"$TMP/afile"
    expect_fail 1 "output $TMP/afile already exists" 0 wordcount -i "$IN" -o "$TMP/afile"
    expect_fail 1 "output $TMP/afile exists and is not a directory" 0 \
        wordcount -i "$IN" -o "$TMP/afile" --overwrite
    [[ $(cat "$TMP/afile") == precious ]] || fail "the regular file was changed"
}

case_output_is_input() {
    mkdir -p "$TMP/indir/sub"
    cp "$IN" "$TMP/indir/a.txt"
    cp "$IN" "$TMP/indir/sub/b.txt"
    expect_fail 2 "output $IN is the input $IN or inside it" 0 wordcount -i "$IN" -o "$IN"
    expect_fail 2 "output $TMP/indir/out is the input $TMP/indir or inside it" 2 \
        wordcount -i "$TMP/indir" -o "$TMP/indir/out"
    expect_fail 2 "output $TMP/indir/sub/out is the input $TMP/indir or inside it" 0 \
        wordcount -i "$TMP/good" -i "$TMP/indir" -o "$TMP/indir/sub/out"
    expect_fail 2 "output $TMP/indir is the input $TMP/indir or inside it" 0 \
        wordcount -i "$TMP/indir" -o "$TMP/indir" --overwrite
    # Through another spelling of the same directory.
    expect_fail 2 "is the input" 0 wordcount -i "$TMP/indir/sub/../" -o "$TMP/indir/./new"
    [[ ! -e $TMP/indir/out && ! -e $TMP/indir/new ]] || fail "an output appeared in the input"
}

case_long_paths() {
    # Paths longer than the runtime's buffers are refused, not cut short: an output path of
    # 4100 bytes (made of 100-byte components, each a legal name) and a spill directory as long.
    local long="$TMP" i
    for ((i = 0; i < 41; i++)); do
        long+=/$(printf 'd%.0s' {1..99})
    done
    expect_fail 2 "the path is longer than 4032 bytes" 0 wordcount -i "$IN" -o "$long/out"
    expect_fail 1 "cannot create" 0 wordcount -i "$IN" -o "$TMP/o-spill" --spill-dir "$long"
    [[ ! -e $TMP/o-spill ]] || fail "a refused job left its output"
}

case_good_output_intact() {
    # After all of the above, the first output is still the right answer.
    compare_wc "$TMP/good" "$TMP/ref"
}

run_case missing-input case_missing_input
run_case empty-directory case_empty_directory
run_case fifo case_fifo
run_case char-device case_device
run_case unreadable-for-root case_unreadable_for_root
run_case output-under-regular-file case_output_under_file
run_case existing-output case_existing_output
run_case output-is-input case_output_is_input
run_case long-paths case_long_paths
run_case earlier-output-intact case_good_output_intact
finish
