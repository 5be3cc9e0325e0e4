#!/usr/bin/env bash
# Bad and odd record contents. Malformed csv (an unterminated quote, a wrong column count)
# fails the job with exit 1 naming the file, the record and its offset, unless
# --max-bad-records lets it skip them (a bad header never: it fails at once); binary garbage (random bytes with NULs), non-UTF-8
# bytes and CR/LF mixtures are counted exactly like coreutils counts whitespace-separated runs;
# keys and values of 0 bytes travel through the shuffle and reach the reducer; more reducers
# than keys leave empty part files and a right answer.
# shellcheck disable=SC2317  # the cases are called through run_case
source "${top_srcdir:-$(dirname "$0")/../..}/tests/badinput/lib.sh"

case_csv_unterminated_quote() {
    printf 'name,city\nann,oslo\nbob,"lima\ncid,rome\n' >"$TMP/quote.csv"
    expect_fail 1 "input $TMP/quote.csv: malformed csv record 3 at offset 19: unterminated quoted field" \
        0 distinct -i "$TMP/quote.csv" -o "$TMP/o-quote" --input-format csv --csv-header --column city
    # Without quoted newlines the file splits like lines, and only that record is bad.
    expect_fail 1 "malformed csv record 3 at offset 19: unterminated quoted field" 2 \
        distinct -i "$TMP/quote.csv" -o "$TMP/o-quote" --input-format csv --csv-header \
        --csv-no-newlines --column city
    must_np 2 distinct -i "$TMP/quote.csv" -o "$TMP/o-quote" --input-format csv --csv-header \
        --csv-no-newlines --column city --max-bad-records 1
    [[ $(parts_sorted "$TMP/o-quote" | tr '\n\t' ' :') == "oslo:1 rome:1 " ]] ||
        fail "skipping the bad record gave $(parts_sorted "$TMP/o-quote" | tr '\n\t' ' :')"
}

case_csv_column_count() {
    printf 'a,b\n1,2\n3,4,5\n6,7\n8\n' >"$TMP/cols.csv"
    expect_fail 1 "input $TMP/cols.csv: malformed csv record 3 at offset 8: 3 fields where the header has 2" \
        0 distinct -i "$TMP/cols.csv" -o "$TMP/o-cols" --input-format csv --csv-header --column a
    expect_fail 1 "3 fields where the header has 2" 2 \
        distinct -i "$TMP/cols.csv" -o "$TMP/o-cols" --input-format csv --csv-header --column a
    # One allowed bad record is not enough: the second names its own offset.
    expect_fail 1 "malformed csv record 5 at offset 18: 1 fields where the header has 2 (more than --max-bad-records 1)" \
        0 distinct -i "$TMP/cols.csv" -o "$TMP/o-cols" --input-format csv --csv-header --column a \
        --max-bad-records 1
    must_np 2 distinct -i "$TMP/cols.csv" -o "$TMP/o-cols" --input-format csv --csv-header \
        --column a --max-bad-records 2
    [[ $(parts_sorted "$TMP/o-cols" | tr '\n\t' ' :') == "1:1 6:1 " ]] || fail "wrong distinct values"
    # Text after a closing quote.
    printf 'a,b\n"x"y,1\n' >"$TMP/after.csv"
    expect_fail 1 "input $TMP/after.csv: malformed csv record 2 at offset 4: text after the closing quote of field 1" \
        0 distinct -i "$TMP/after.csv" -o "$TMP/o-after" --input-format csv --csv-header --column a
}

case_csv_bad_header() {
    # A header that cannot be parsed: the file cannot be read by column. It fails the job
    # however many bad records are allowed, and fails at once (the reader must not hand the
    # same bad header back forever).
    printf 'a,"b\nx,y\n1,2\n' >"$TMP/badhdr.csv"
    expect_fail 1 "unterminated quoted field (the quote at offset 2 is never closed) (in the header of $TMP/badhdr.csv)" 0 \
        distinct -i "$TMP/badhdr.csv" -o "$TMP/o-hdr" --input-format csv --csv-header \
        --csv-no-newlines --column 0
    SHEAF_TEST_TIMEOUT=30 expect_fail 1 "(in the header of $TMP/badhdr.csv)" 2 \
        distinct -i "$TMP/badhdr.csv" -o "$TMP/o-hdr" --input-format csv --csv-header \
        --csv-no-newlines --column 0 --max-bad-records 18446744073709551615
}

case_binary_garbage() {
    # Random bytes (NULs, CRs, lone high bytes...) at 1 to 3 ranks with splits that cut
    # anywhere: every maximal run of non-whitespace bytes is a word.
    head -c 3000000 /dev/urandom >"$TMP/garbage.bin"
    # Long runs of NULs and a record without a final newline.
    head -c 100000 /dev/zero >>"$TMP/garbage.bin"
    printf 'end\0word' >>"$TMP/garbage.bin"
    grep -c -a -P '\x00' "$TMP/garbage.bin" >/dev/null || fail "the garbage holds no NUL"
    ref_wc "$TMP/garbage.bin" >"$TMP/garbage.ref"
    wc_ranks "1 2 3" "$TMP/garbage.ref" garbage -i "$TMP/garbage.bin" --split-size 100K
}

case_non_utf8() {
    # Invalid UTF-8 (lone continuation bytes, overlong forms, surrogates, 0xFF), valid
    # multi-byte text, Latin-1 and mixed line ends. --lower folds ASCII letters only.
    {
        printf 'caf\xc3\xa9 CAF\xc3\x89 na\xefve \x80\x81 \xc0\xaf \xed\xa0\x80 \xff\xfe\r\n'
        printf 'Stra\xdfe STRA\xdfE \xe4\xb8\xad\xe6\x96\x87 \xe4\xb8 truncated\xe2\x82\n'
        printf 'crlf\r\nlf\ncr\ronly\r\n\r\n\n'
        printf 'MiXeD \xf0\x9f\x98\x80 \xf0\x9f\x98 last'
    } >"$TMP/utf.txt"
    for _ in 1 2 3 4 5 6 7 8; do cat "$TMP/utf.txt"; echo; done >"$TMP/utf8x.txt"
    ref_wc "$TMP/utf8x.txt" >"$TMP/utf.ref"
    ref_wc --lower "$TMP/utf8x.txt" >"$TMP/utf.lower.ref"
    wc_ranks "1 2" "$TMP/utf.ref" utf -i "$TMP/utf8x.txt" --split-size 64
    wc_ranks "2" "$TMP/utf.lower.ref" utf-lower -i "$TMP/utf8x.txt" --split-size 100 --lower
    grep -q $'^STRA\xdfE\t8$' "$TMP/utf.ref" || fail "the reference lost a Latin-1 word"
}

case_empty_keys_values() {
    # Map output lines with an empty key, an empty value, both empty, and no tab at all
    # (a key with an empty value); the identity reduce writes them back sorted, an external
    # reducer sees them, and each key group is complete.
    printf '%s\n' $'\tv1' $'k\t' $'\t' $'k\tv2' 'notab' '' $'\tv3' >"$TMP/kv.tsv"
    must_np 2 stream --mapper cat -i "$TMP/kv.tsv" -o "$TMP/kv-id" --split-size 8
    # The writer drops the tab of an empty value: "k<TAB>" comes back as "k".
    printf '%s\n' $'\tv1' $'k' $'' $'k\tv2' 'notab' '' $'\tv3' | sort >"$TMP/kv.expect"
    parts_sorted "$TMP/kv-id" >"$TMP/kv.got"
    cmp -s "$TMP/kv.got" "$TMP/kv.expect" ||
        { diff "$TMP/kv.got" "$TMP/kv.expect" | cat -A >&2; fail "identity output differs"; }
    # An external reducer that counts the values of each key: 4 values under the empty key.
    # shellcheck disable=SC2016  # awk code
    printf '%s\n' 'BEGIN { FS = "\t" }' '{ n[$1]++ }' \
        'END { for (k in n) print "[" k "]\t" n[k] }' >"$TMP/count.awk"
    must_np 3 stream --mapper cat --reducer "awk -f count.awk" --files "$TMP/count.awk" \
        -i "$TMP/kv.tsv" -o "$TMP/kv-red" --reducers 4 --split-size 8
    printf '%s\n' $'[]\t4' $'[k]\t2' $'[notab]\t1' | sort >"$TMP/kv-red.expect"
    parts_sorted "$TMP/kv-red" | cmp -s - "$TMP/kv-red.expect" ||
        fail "reducer saw: $(parts_sorted "$TMP/kv-red" | tr '\n\t' ' :')"
    # distinct over csv with empty fields: the empty value is a key like any other.
    printf 'a,b\n,1\nx,2\n,3\n' >"$TMP/emptyfield.csv"
    must_np 2 distinct -i "$TMP/emptyfield.csv" -o "$TMP/kv-csv" --input-format csv \
        --csv-header --column a
    [[ $(parts_sorted "$TMP/kv-csv" | tr '\n\t' ' :') == ":2 x:1 " ]] ||
        fail "distinct of empty fields: $(parts_sorted "$TMP/kv-csv" | tr '\n\t' ' :')"
}

case_more_reducers_than_keys() {
    printf 'one two three two three three\n' >"$TMP/three.txt"
    ref_wc "$TMP/three.txt" >"$TMP/three.ref"
    must_np 2 wordcount -i "$TMP/three.txt" -o "$TMP/r50" --reducers 50
    local -a parts=("$TMP/r50"/part-r-*)
    ((${#parts[@]} == 50)) || fail "${#parts[@]} part files, expected 50"
    [[ -e $TMP/r50/part-r-00000 && -e $TMP/r50/part-r-00049 ]] || fail "part files misnamed"
    local empty
    empty=$(find "$TMP/r50" -name 'part-r-*' -empty | wc -l)
    ((empty >= 47)) || fail "$empty empty part files, expected at least 47"
    compare_wc "$TMP/r50" "$TMP/three.ref"
    # An empty input: every part file exists and is empty.
    : >"$TMP/nothing.txt"
    must_np 2 wordcount -i "$TMP/nothing.txt" -o "$TMP/r-empty" --reducers 5
    [[ $(find "$TMP/r-empty" -name 'part-r-*' -empty | wc -l) -eq 5 ]] ||
        fail "an empty input did not give 5 empty part files"
}

run_case csv-unterminated-quote case_csv_unterminated_quote
run_case csv-column-count case_csv_column_count
run_case csv-bad-header case_csv_bad_header
run_case binary-garbage case_binary_garbage
run_case non-utf8 case_non_utf8
run_case empty-keys-and-values case_empty_keys_values
run_case more-reducers-than-keys case_more_reducers_than_keys
finish
