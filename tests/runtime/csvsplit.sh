#!/usr/bin/env bash
# csv files split across ranks, exactly: files with quoted newlines, doubled quotes, CRLF, a
# byte-order mark and no final newline, read with every split size from 1 byte up (one rank)
# and many at 1 to 4 ranks, must give the records
# Python's csv module finds (tests/runtime/csvref.py), each once; a larger file is mapped by
# both ranks at 2 ranks in balance; --csv-no-newlines is still accepted; an unterminated quote
# fails the job naming the file and the offset of the quote, whatever the split size. The csv
# details: a UTF-8 byte-order mark is skipped (the first column resolves by name), tsv honours
# --csv-header, and a header that names a column twice is an error naming both.
source "${top_srcdir:-$(dirname "$0")/../..}/tests/mpi/lib.sh"

FIELDS=$top_builddir/tests/runtime/fields
[[ -x $FIELDS ]] || { echo "tests/runtime/fields is not built"; exit 99; }
PY=$(command -v python3 || true)
[[ -n $PY ]] || { echo "python3 absent: skipping"; exit 77; }
command -v jq >/dev/null || { echo "jq absent: skipping"; exit 77; }

fields_np() { # fields_np NP ARG...
    local np=$1 rc=0
    shift
    echo "\$ fields -np $np $*"
    timeout -k 10 "$SHEAF_TEST_TIMEOUT" "$MPIRUN" -np "$np" --oversubscribe "$FIELDS" "$@" \
        >"$LAST_LOG" 2>&1 </dev/null || rc=$?
    return "$rc"
}

must_fields() {
    local rc=0
    fields_np "$@" || rc=$?
    ((rc == 0)) || { tail -n 20 "$LAST_LOG" >&2; fail "fields exited with $rc"; }
}

same() { # same OUT REF
    cat "$1"/part-r-* | sort >"$1.all"
    cmp -s "$1.all" "$2" || { diff "$1.all" "$2" | head -n 10 | cat -v >&2; fail "$1 differs"; }
}

# The hard parts: quoted newlines (LF and CRLF inside quotes), doubled quotes next to them,
# empty fields, a quoted field that is only a newline, CRLF record ends, no final newline.
{
    printf 'id,text,n\r\n'
    printf '1,"one\nline break",10\r\n'
    printf '2,"say ""hi""\r\nthen ""bye""",20\r\n'
    printf '3,plain,30\r\n'
    printf '4,"",\r\n'
    printf '5,"\n",50\r\n'
    printf '6,"a,b\n\n\nc",60\r\n'
    printf '7,"""",70\r\n'
    printf '8,"x""\ny""",80'
} >"$TMP/hard.csv"
# Generated: one record in five has a quoted newline, one in seven doubled quotes.
awk 'BEGIN { srand(11); printf "k,v,w\n"; for (i = 0; i < 300; i++) {
        v = (i % 5 == 0) ? "\"l1\nl2 " i "\"" : (i % 7 == 0) ? "\"q\"\"" i "\"\"\"" : "v" i;
        printf "%d,%s,%d\n", i, v, int(rand() * 1000) } }' >"$TMP/gen.csv"

case_every_split_size() {
    local f ss np=1 n
    for f in hard gen; do
        "$PY" "$top_srcdir/tests/runtime/csvref.py" , 1 "$TMP/$f.csv" >"$TMP/$f.ref"
        n=$(wc -l <"$TMP/$f.ref")
        ((n > 5)) || fail "$f: the reference has only $n records"
        local -a sizes=(1 2 3 4 5 6 7 8 9 10 11 12 13 16 17 19 23 29 31 37 50 64 100 128 257)
        if [[ $f == gen ]]; then sizes=(1 3 7 64 100 333 1000 4096); fi
        for ss in "${sizes[@]}"; do
            must_fields "$np" -i "$TMP/$f.csv" -o "$TMP/$f-$ss" --input-format csv \
                --csv-header --split-size "$ss"
            same "$TMP/$f-$ss" "$TMP/$f.ref"
            np=$((np % 4 + 1))
        done
        [[ $(jq '.input.splits' "$TMP/$f-3/_report.json") -gt 5 ]] || fail "$f was not split"
    done
}

case_no_header_and_two_files() {
    tail -n +2 "$TMP/gen.csv" >"$TMP/nohdr.csv"
    "$PY" "$top_srcdir/tests/runtime/csvref.py" , 0 "$TMP/nohdr.csv" "$TMP/hard.csv" \
        >"$TMP/two.ref"
    local np
    for np in 2 3; do
        # two inputs: csvref numbers them 0 and 1 as the job numbers its -i
        must_fields "$np" -i "$TMP/nohdr.csv" -i "$TMP/hard.csv" -o "$TMP/two$np" \
            --input-format csv --split-size 40
        same "$TMP/two$np" "$TMP/two.ref"
    done
}

case_no_newlines_flag() {
    # without quoted newlines the flag is still accepted and gives the same records
    printf 'a,b\n' >"$TMP/flat.csv"
    awk 'BEGIN { for (i = 0; i < 500; i++) printf "%d,\"x\"\"%d\"\n", i, i * 7 }' \
        >>"$TMP/flat.csv"
    "$PY" "$top_srcdir/tests/runtime/csvref.py" , 1 "$TMP/flat.csv" >"$TMP/flat.ref"
    must_fields 2 -i "$TMP/flat.csv" -o "$TMP/flat1" --input-format csv --csv-header \
        --csv-no-newlines --split-size 100
    same "$TMP/flat1" "$TMP/flat.ref"
    must_fields 3 -i "$TMP/flat.csv" -o "$TMP/flat2" --input-format csv --csv-header \
        --split-size 100
    same "$TMP/flat2" "$TMP/flat.ref"
}

case_balanced() {
    # 3 MB with quoted newlines in 30 splits dealt round robin: both ranks map, in balance
    awk 'BEGIN { srand(12); printf "k,v\n"; for (i = 0; i < 100000; i++)
        printf "%d,\"%s\n%d \"\"x\"\"\"\n", i, "line" int(rand() * 1e6), i }' >"$TMP/big.csv"
    "$PY" "$top_srcdir/tests/runtime/csvref.py" , 1 "$TMP/big.csv" >"$TMP/big.ref"
    must_fields 2 -i "$TMP/big.csv" -o "$TMP/big" --input-format csv --csv-header \
        --split-size 100K --schedule static
    same "$TMP/big" "$TMP/big.ref"
    local min max mean
    min=$(jq '.counters.input_bytes.min' "$TMP/big/_report.json")
    max=$(jq '.counters.input_bytes.max' "$TMP/big/_report.json")
    mean=$(jq '.counters.input_bytes.mean' "$TMP/big/_report.json")
    ((min > 0)) || fail "one rank mapped nothing"
    awk -v max="$max" -v mean="$mean" 'BEGIN { exit !(max / mean <= 1.1) }' ||
        fail "map bytes out of balance: max $max, mean $mean"
}

case_unterminated() {
    printf 'a,b\n1,2\n3,"open\n4,5\n6,7\n' >"$TMP/open.csv"
    local ss rc
    for ss in 1 4 9 13 100; do
        rc=0
        fields_np 2 -i "$TMP/open.csv" -o "$TMP/open$ss" --input-format csv --csv-header \
            --split-size "$ss" || rc=$?
        ((rc == 1)) || fail "split size $ss: exit $rc, not 1"
        grep -q 'open.csv: malformed csv record.*the quote at offset 10 is never closed' \
            "$LAST_LOG" || { cat "$LAST_LOG" >&2; fail "split size $ss: no file and offset"; }
        [[ ! -e $TMP/open$ss ]] || fail "a failed job left output"
    done
}

case_bom() {
    { printf '\xef\xbb\xbf'; cat "$TMP/hard.csv"; } >"$TMP/bom.csv"
    "$PY" "$top_srcdir/tests/runtime/csvref.py" , 1 "$TMP/bom.csv" >"$TMP/bom.ref"
    grep -q '^00000000000000000014' "$TMP/bom.ref" || fail "the reference does not skip the BOM"
    local ss np=1 size
    for ss in 1 2 3 4 5 6 9 14 15 40 1000; do
        must_fields "$np" -i "$TMP/bom.csv" -o "$TMP/bom-$ss" --input-format csv \
            --csv-header --split-size "$ss"
        same "$TMP/bom-$ss" "$TMP/bom.ref"
        np=$((np % 4 + 1))
    done
    # every split size from 1 byte to the whole file, one rank without mpirun
    size=$(stat -c %s "$TMP/bom.csv")
    for ((ss = 1; ss <= size; ss++)); do
        timeout -k 10 "$SHEAF_TEST_TIMEOUT" "$FIELDS" -i "$TMP/bom.csv" -o "$TMP/bom1-$ss" \
            --input-format csv --csv-header --split-size "$ss" --quiet >"$LAST_LOG" 2>&1 ||
            { cat "$LAST_LOG" >&2; fail "split size $ss: fields failed"; }
        same "$TMP/bom1-$ss" "$TMP/bom.ref"
        rm -rf "$TMP/bom1-$ss" "$TMP/bom1-$ss.all"
    done
    # without a header the first record follows the mark, and belongs to the first split
    # even when that split ends inside the mark (sizes 1 to 3)
    "$PY" "$top_srcdir/tests/runtime/csvref.py" , 0 "$TMP/bom.csv" >"$TMP/bomnh.ref"
    for ss in 1 2 3 4 5 7; do
        timeout -k 10 "$SHEAF_TEST_TIMEOUT" "$FIELDS" -i "$TMP/bom.csv" -o "$TMP/bomnh-$ss" \
            --input-format csv --split-size "$ss" --quiet >"$LAST_LOG" 2>&1 ||
            { cat "$LAST_LOG" >&2; fail "no header, split size $ss: fields failed"; }
        same "$TMP/bomnh-$ss" "$TMP/bomnh.ref"
    done
    # the first column by its name, from a gzip'd copy too
    gzip -c "$TMP/bom.csv" >"$TMP/bomz.csv.gz"
    "$PY" -c 'import csv,sys; r=csv.DictReader(open(sys.argv[1], encoding="utf-8-sig", newline=""))
for x in r: print(x["id"])' "$TMP/bom.csv" | sort >"$TMP/bomcol.ref"
    local f
    for f in "$TMP/bom.csv" "$TMP/bomz.csv.gz"; do
        must_fields 2 -i "$f" -o "$TMP/bomcol-${f##*.}" --input-format csv --csv-header \
            --column id --split-size 7
        cut -f2 "$TMP/bomcol-${f##*.}"/part-r-* | sort >"$TMP/bomcol.got"
        cmp -s "$TMP/bomcol.got" "$TMP/bomcol.ref" || fail "$f: column id by name differs"
    done
}

case_tsv_header() {
    printf 'key\tvalue\n' >"$TMP/h.tsv"
    awk 'BEGIN { for (i = 0; i < 200; i++) printf "k%d\tv%d\textra\n", i, i * 3 }' >>"$TMP/h.tsv"
    # the header is not a record, and names the two fields
    tail -n +2 "$TMP/h.tsv" | cut -f2- | sort >"$TMP/tsvh.ref"
    local np
    for np in 1 3; do
        must_fields "$np" -i "$TMP/h.tsv" -o "$TMP/tsvh$np" --input-format tsv --csv-header \
            --column value --split-size 300
        cut -f2- "$TMP/tsvh$np"/part-r-* | sort >"$TMP/tsvh.got"
        cmp -s "$TMP/tsvh.got" "$TMP/tsvh.ref" || fail "tsv with a header at $np ranks differs"
    done
}

case_duplicate_header() {
    printf 'id,name,city,name\n1,a,b,c\n' >"$TMP/dup.csv"
    local rc=0
    fields_np 2 -i "$TMP/dup.csv" -o "$TMP/dup" --input-format csv --csv-header || rc=$?
    ((rc == 1)) || fail "a duplicate column name: exit $rc"
    grep -q "dup.csv: the header names columns 2 and 4 both 'name'" "$LAST_LOG" ||
        { cat "$LAST_LOG" >&2; fail "the message does not name both columns"; }
    [[ ! -e $TMP/dup ]] || fail "a failed job left output"
}

run_case every-split-size case_every_split_size
run_case bom case_bom
run_case tsv-header case_tsv_header
run_case duplicate-header case_duplicate_header
run_case no-header-and-two-files case_no_header_and_two_files
run_case no-newlines-flag case_no_newlines_flag
run_case balanced case_balanced
run_case unterminated case_unterminated
finish
