#!/usr/bin/env bash
# Input formats: csv (RFC 4180: quotes, doubled quotes, quoted newlines, header, other
# delimiters, CRLF) compared with Python's csv module; csv split when records hold no newlines;
# tsv key/value; a custom record delimiter; fixed-length records; malformed records counted and
# skipped up to --max-bad-records, or failing the job with file, offset and reason.
source "${top_srcdir:-$(dirname "$0")/../..}/tests/mpi/lib.sh"

FIELDS=$top_builddir/tests/runtime/fields
[[ -x $FIELDS ]] || { echo "tests/runtime/fields is not built"; exit 99; }
PY=$(command -v python3 || true)

fields_np() { # fields_np NP ARG...: runs the fields job
    local np=$1 rc=0
    shift
    echo "\$ fields $*"
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

# A csv file with the hard parts, and a larger generated one.
printf '%s\r\n' 'id,name,note' '1,plain,x' '2,"with, comma","say ""hi"""' \
    '3,"multi' 'line",z' '4,,' '5,"",""' >"$TMP/a.csv"
printf 'id,name,note\n' >"$TMP/b.csv"
awk 'BEGIN { srand(3); for (i = 0; i < 3000; i++) {
        q = (i % 7 == 0) ? "\"q,uo\"\"te\"" : "v" int(rand() * 1000);
        printf "%d,%s,%s\n", i, q, (i % 11 == 0) ? "" : "n" i } }' >>"$TMP/b.csv"

case_csv_python() {
    [[ -n $PY ]] || { echo "python3 absent: skipping the csv module comparison"; return 0; }
    "$PY" "$top_srcdir/tests/runtime/csvref.py" , 1 "$TMP/a.csv" "$TMP/b.csv" >"$TMP/csv.ref"
    local np
    for np in 1 3; do
        must_fields "$np" -i "$TMP/a.csv" -i "$TMP/b.csv" -o "$TMP/csv$np" --input-format csv \
            --csv-header --split-size 100
        same "$TMP/csv$np" "$TMP/csv.ref"
    done
    # Without quoted newlines the files may be split anywhere.
    "$PY" "$top_srcdir/tests/runtime/csvref.py" , 1 "$TMP/b.csv" >"$TMP/b.ref"
    for np in 2 4; do
        must_fields "$np" -i "$TMP/b.csv" -o "$TMP/split$np" --input-format csv --csv-header \
            --csv-no-newlines --split-size 333
        same "$TMP/split$np" "$TMP/b.ref"
        [[ $(jq '.input.splits' "$TMP/split$np/_report.json") -gt 10 ]] || fail "not split"
    done
    tr ',' ';' <"$TMP/b.csv" >"$TMP/semi.csv"
    "$PY" "$top_srcdir/tests/runtime/csvref.py" ';' 1 "$TMP/semi.csv" >"$TMP/semi.ref"
    must_fields 2 -i "$TMP/semi.csv" -o "$TMP/semi" --input-format csv --csv-header \
        --csv-delimiter ';'
    same "$TMP/semi" "$TMP/semi.ref"
}

case_column_by_name() {
    must_fields 2 -i "$TMP/b.csv" -o "$TMP/col" --input-format csv --csv-header --column name \
        --csv-no-newlines --split-size 1000
    cut -f2 "$TMP/col"/part-r-* | sort >"$TMP/col.got"
    if [[ -n $PY ]]; then
        "$PY" -c 'import csv,sys; r=csv.DictReader(open(sys.argv[1])); [print(x["name"]) for x in r]' \
            "$TMP/b.csv" | sed 's/|/\\|/g' | sort >"$TMP/col.ref"
        cmp -s "$TMP/col.got" "$TMP/col.ref" || fail "column by name differs"
    fi
}

case_tsv() {
    printf 'k1\tv1\nk2\tv\twith\ttabs\nnotab\n\tempty-key\n' >"$TMP/t.tsv"
    must_fields 2 -i "$TMP/t.tsv" -o "$TMP/tsv" --input-format tsv --split-size 5
    cut -f2- "$TMP/tsv"/part-r-* | sort >"$TMP/tsv.got"
    printf '%s\n' '0|2|k1|v1' '0|2|k2|v\twith\ttabs' '0|1|notab' '0|2||empty-key' |
        sed 's/\\t/\t/g' | sort >"$TMP/tsv.ref"
    cmp -s "$TMP/tsv.got" "$TMP/tsv.ref" || { diff "$TMP/tsv.got" "$TMP/tsv.ref" >&2; fail tsv; }
}

case_record_delimiter() {
    printf 'alpha;beta gamma;;delta\n;' >"$TMP/semi.txt"
    must_fields 3 -i "$TMP/semi.txt" -o "$TMP/rd" --record-delimiter ';' --split-size 3
    cut -f2 "$TMP/rd"/part-r-* | sort >"$TMP/rd.got"
    printf '%s\n' '0|0|alpha' '0|0|beta gamma' '0|0|' '0|0|delta\n' | sort >"$TMP/rd.ref"
    cmp -s "$TMP/rd.got" "$TMP/rd.ref" || { diff "$TMP/rd.got" "$TMP/rd.ref" >&2; fail delim; }
}

case_fixed() {
    printf '0123456789abcdefghijABCDEFGHIJ' >"$TMP/f.bin"
    must_fields 2 -i "$TMP/f.bin" -o "$TMP/fx" --input-format fixed:10 --split-size 7
    cut -f2 "$TMP/fx"/part-r-* | sort >"$TMP/fx.got"
    printf '%s\n' '0|0|0123456789' '0|0|abcdefghij' '0|0|ABCDEFGHIJ' | sort >"$TMP/fx.ref"
    cmp -s "$TMP/fx.got" "$TMP/fx.ref" || fail "fixed-length records differ"
    printf '12345' >>"$TMP/f.bin"
    local rc=0
    fields_np 2 -i "$TMP/f.bin" -o "$TMP/fx2" --input-format fixed:10 || rc=$?
    [[ $rc -eq 1 ]] || fail "a file that is not a multiple of N: exit $rc"
    grep -q "f.bin: size 35 is not a multiple of the record length 10" "$LAST_LOG" ||
        fail "the message does not name the file and sizes"
}

case_bad_records() {
    printf 'a,b\n1,2\n3,"unterminated\n4,5,6\n7,8\n' >"$TMP/bad.csv"
    local rc=0
    fields_np 2 -i "$TMP/bad.csv" -o "$TMP/bad0" --input-format csv --csv-header \
        --csv-no-newlines || rc=$?
    [[ $rc -eq 1 ]] || fail "malformed csv accepted (exit $rc)"
    grep -Eq 'bad.csv: malformed csv record 3 at offset 8: unterminated quoted field' \
        "$LAST_LOG" || { cat "$LAST_LOG" >&2; fail "message lacks file, record, offset, reason"; }
    [[ ! -e $TMP/bad0 ]] || fail "failed job left output"
    must_fields 2 -i "$TMP/bad.csv" -o "$TMP/bad2" --input-format csv --csv-header \
        --csv-no-newlines --max-bad-records 2
    [[ $(cat "$TMP/bad2"/part-r-* | wc -l) -eq 2 ]] || fail "good records lost"
    [[ $(jq '.counters.bad_records.total' "$TMP/bad2/_report.json") -eq 2 ]] ||
        fail "bad records not counted"
    rc=0
    fields_np 1 -i "$TMP/bad.csv" -o "$TMP/bad1" --input-format csv --csv-header \
        --csv-no-newlines --max-bad-records 1 || rc=$?
    [[ $rc -eq 1 ]] || fail "more bad records than allowed: exit $rc"
    grep -q 'fields where the header has 2' "$LAST_LOG" || fail "no field-count reason"
}

case_mixed_inputs() {
    # One job, three inputs in three formats: each record is parsed by its own input's format
    # and tagged with the input it came from.
    printf 'a,b\n"x,1",2\n' >"$TMP/m.csv"
    printf 'key\tvalue\nk\tv1\n' >"$TMP/m.tsv" # --csv-header: tsv has one too
    printf 'plain line\n' >"$TMP/m.txt"
    must_fields 2 -i "$TMP/m.csv" -i "$TMP/m.tsv" -i "$TMP/m.txt" --input-formats csv,tsv,lines \
        --csv-header -o "$TMP/mixed"
    cut -f2 "$TMP/mixed"/part-r-* | sort >"$TMP/mixed.got"
    printf '%s\n' '0|2|x,1|2' '1|2|k|v1' '2|0|plain line' | sort >"$TMP/mixed.ref"
    cmp -s "$TMP/mixed.got" "$TMP/mixed.ref" || { diff "$TMP/mixed.got" "$TMP/mixed.ref" >&2; fail mixed; }
    local rc=0
    fields_np 1 -i "$TMP/m.csv" -i "$TMP/m.tsv" --input-formats csv -o "$TMP/mixed2" || rc=$?
    [[ $rc -eq 2 ]] || fail "a format count that does not match the inputs: exit $rc"
    grep -q 'give one per input' "$LAST_LOG" || fail "no message for the format count"
}

run_case csv-vs-python case_csv_python
run_case mixed-input-formats case_mixed_inputs
run_case csv-column-by-name case_column_by_name
run_case tsv case_tsv
run_case record-delimiter case_record_delimiter
run_case fixed case_fixed
run_case bad-records case_bad_records
finish
