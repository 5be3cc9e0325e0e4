#!/usr/bin/env bash
# sheaf wordcount where the input's shape is the test: empty files, more ranks than splits,
# tiny split sizes so lines and words cross split boundaries, one 20 MB line, random bytes
# (NUL included), files without a final newline, CRLF line ends, odd whitespace.
# Cases are functions that run_case calls.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/mpi/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case_empty() {
    : >"$TMP/empty.txt"
    : >"$TMP/empty.ref"
    wc_ranks "1 2 3 4" "$TMP/empty.ref" empty -i "$TMP/empty.txt"
}

case_blank() {
    printf ' \n\n\t\t\r\n\v\f   \n' >"$TMP/blank.txt"
    : >"$TMP/blank.ref"
    wc_ranks "1 3" "$TMP/blank.ref" blank -i "$TMP/blank.txt"
}

# A file of 35 bytes cut in 16-byte splits: three splits for four ranks.
case_more_ranks_than_splits() {
    printf 'hello world hello\nsheaf hello map\n' >"$TMP/tiny.txt"
    printf 'hello\t3\nmap\t1\nsheaf\t1\nworld\t1\n' >"$TMP/tiny.ref"
    wc_ranks "1 4" "$TMP/tiny.ref" tiny -i "$TMP/tiny.txt" --split-size 16
}

# Split sizes far below a line: every split starts inside a line, most inside a word.
case_small_splits() {
    gencorpus -s 11 -n 3K >"$TMP/s1.txt"
    ref_wc "$TMP/s1.txt" >"$TMP/s1.ref"
    wc_ranks "2 3" "$TMP/s1.ref" split1 -i "$TMP/s1.txt" --split-size 1

    gencorpus -s 12 -n 20K >"$TMP/s7.txt"
    ref_wc "$TMP/s7.txt" >"$TMP/s7.ref"
    wc_ranks "1 2 3 4" "$TMP/s7.ref" split7 -i "$TMP/s7.txt" --split-size 7

    gencorpus -s 13 -n 200K >"$TMP/s100.txt"
    ref_wc "$TMP/s100.txt" >"$TMP/s100.ref"
    wc_ranks "1 2 3 4" "$TMP/s100.ref" split100 -i "$TMP/s100.txt" --split-size 100
}

# One line of 20 MiB with no newline at all, in one split and in many.
case_huge_line() {
    gencorpus -s 14 -n 20M | tr '\n' ' ' | head -c 20M >"$TMP/line.txt"
    printf 'end' >>"$TMP/line.txt"
    ref_wc "$TMP/line.txt" >"$TMP/line.ref"
    wc_ranks "1 3" "$TMP/line.ref" line -i "$TMP/line.txt"
    wc_ranks "2 4" "$TMP/line.ref" line-split -i "$TMP/line.txt" --split-size 1M
}

# Random bytes: words hold every byte but the six whitespace ones, NUL and bytes >= 0x80
# included.
case_binary() {
    gencorpus -b -s 15 -n 1M >"$TMP/bin.dat"
    ref_wc "$TMP/bin.dat" >"$TMP/bin.ref"
    wc_ranks "1 2 3 4" "$TMP/bin.ref" bin -i "$TMP/bin.dat"
    wc_ranks "3" "$TMP/bin.ref" bin-split -i "$TMP/bin.dat" --split-size 4K
}

case_no_final_newline() {
    printf 'alpha beta\ngamma alpha' >"$TMP/nonl.txt"
    printf 'alpha\t2\nbeta\t1\ngamma\t1\n' >"$TMP/nonl.ref"
    wc_ranks "1 2" "$TMP/nonl.ref" nonl -i "$TMP/nonl.txt"
    wc_ranks "3" "$TMP/nonl.ref" nonl-split -i "$TMP/nonl.txt" --split-size 7
    # Two files that end without a newline: the last word of one does not join the other's.
    printf 'one two' >"$TMP/a.txt"
    printf 'three one' >"$TMP/b.txt"
    printf 'one\t2\nthree\t1\ntwo\t1\n' >"$TMP/ab.ref"
    wc_ranks "1 2" "$TMP/ab.ref" ab -i "$TMP/a.txt" -i "$TMP/b.txt"
}

case_crlf() {
    gencorpus -s 16 -n 100K | sed 's/$/\r/' >"$TMP/crlf.txt"
    ref_wc "$TMP/crlf.txt" >"$TMP/crlf.ref"
    if grep -q "$(printf '\r')" "$TMP/crlf.ref"; then fail "the reference kept a CR"; fi
    wc_ranks "1 2 4" "$TMP/crlf.ref" crlf -i "$TMP/crlf.txt"
    wc_ranks "3" "$TMP/crlf.ref" crlf-split -i "$TMP/crlf.txt" --split-size 1000
}

# Every whitespace byte separates words; other control bytes belong to them.
case_whitespace() {
    printf 'a\tb\vc\fd\re a\001b a\033 \n\ta  b\n' >"$TMP/ws.txt"
    ref_wc "$TMP/ws.txt" >"$TMP/ws.ref"
    printf 'a\t2\na\001b\t1\na\033\t1\nb\t2\nc\t1\nd\t1\ne\t1\n' | sort >"$TMP/ws.expected"
    cmp -s "$TMP/ws.ref" "$TMP/ws.expected" || fail "the reference itself is wrong"
    wc_ranks "1 2" "$TMP/ws.ref" ws -i "$TMP/ws.txt"
}

run_case "empty file" case_empty
run_case "whitespace only" case_blank
run_case "more ranks than splits" case_more_ranks_than_splits
run_case "--split-size 1, 7, 100" case_small_splits
run_case "one 20 MiB line" case_huge_line
run_case "random bytes" case_binary
run_case "no final newline" case_no_final_newline
run_case "CRLF line ends" case_crlf
run_case "whitespace bytes" case_whitespace
finish
