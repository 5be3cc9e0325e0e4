#!/usr/bin/env bash
# Every input format over compressed files: lines, csv (header, quoted newlines), tsv,
# fixed-length records and a custom record delimiter, each read from gzip, multi-member gzip,
# zstd, bzip2 and xz copies of one file, must give the fields job's output on the plain file
# (record offsets count decompressed bytes, so the outputs are byte for byte the same), at 1
# to 4 ranks. The csv output on the plain file is itself checked against Python's csv module.
source "${top_srcdir:-$(dirname "$0")/../..}/tests/mpi/lib.sh"

FIELDS=$top_builddir/tests/runtime/fields
[[ -x $FIELDS ]] || { echo "tests/runtime/fields is not built"; exit 99; }
for tool in gzip zstd bzip2 xz; do
    command -v "$tool" >/dev/null || { echo "$tool absent: skipping"; exit 77; }
done
PY=$(command -v python3 || true)

must_fields() { # must_fields NP ARG...
    local np=$1 rc=0
    shift
    echo "\$ fields $*"
    timeout -k 10 "$SHEAF_TEST_TIMEOUT" "$MPIRUN" -np "$np" --oversubscribe "$FIELDS" "$@" \
        >"$LAST_LOG" 2>&1 </dev/null || rc=$?
    ((rc == 0)) || { tail -n 20 "$LAST_LOG" >&2; fail "fields exited with $rc"; }
}

sorted_parts() { cat "$1"/part-r-* | sort; }

# compressed_copies FILE DIR: FILE under DIR as NAME.gz, NAME.2.gz (two members, cut in the
# middle of the file), NAME.zst, NAME.bz2 and NAME.xz.
compressed_copies() {
    local f=$1 d=$2 name half
    name=$(basename "$f")
    mkdir -p "$d"
    gzip -c "$f" >"$d/$name.gz"
    half=$(($(stat -c %s "$f") / 2))
    { head -c "$half" "$f" | gzip -c; tail -c +$((half + 1)) "$f" | gzip -c; } >"$d/$name.2.gz"
    zstd -q -c "$f" >"$d/$name.zst"
    bzip2 -c "$f" >"$d/$name.bz2"
    xz -c "$f" >"$d/$name.xz"
}

# same_as_plain NAME FILE ARG...: the fields job on FILE (split small) and on each compressed
# copy gives the same output; the rank count goes round 1..4 over the copies.
same_as_plain() {
    local name=$1 f=$2 c np=1
    shift 2
    must_fields 2 -i "$f" -o "$TMP/$name-plain" --split-size 50 "$@"
    sorted_parts "$TMP/$name-plain" >"$TMP/$name.ref"
    [[ -s $TMP/$name.ref ]] || fail "$name: no records from the plain file"
    compressed_copies "$f" "$TMP/$name-c"
    for c in "$TMP/$name-c"/*; do
        must_fields "$np" -i "$c" -o "$TMP/$name-out$np-$(basename "$c")" "$@"
        sorted_parts "$TMP/$name-out$np-$(basename "$c")" >"$TMP/$name.got"
        if ! cmp -s "$TMP/$name.got" "$TMP/$name.ref"; then
            diff "$TMP/$name.got" "$TMP/$name.ref" | head -n 10 | cat -v >&2
            fail "$name: $(basename "$c") differs from the plain file"
        fi
        np=$((np % 4 + 1))
    done
}

case_lines() {
    gencorpus -s 71 -n 40K >"$TMP/l.txt"
    printf 'last line without newline' >>"$TMP/l.txt"
    same_as_plain lines "$TMP/l.txt"
}

case_csv() {
    {
        printf 'id,name,note\r\n'
        awk 'BEGIN { srand(5); for (i = 0; i < 2000; i++) {
            q = (i % 7 == 0) ? "\"q,uo\"\"te\"" : (i % 13 == 0) ? "\"multi\nline\"" : "v" i;
            printf "%d,%s,%s\r\n", i, q, (i % 11 == 0) ? "" : "n" int(rand() * 100) } }'
    } >"$TMP/c.csv"
    same_as_plain csv "$TMP/c.csv" --input-format csv --csv-header
    if [[ -n $PY ]]; then
        "$PY" "$top_srcdir/tests/runtime/csvref.py" , 1 "$TMP/c.csv" >"$TMP/c.py"
        cmp -s "$TMP/csv.ref" "$TMP/c.py" || fail "csv: the plain output differs from Python's"
    fi
}

case_tsv() {
    awk 'BEGIN { for (i = 0; i < 3000; i++) printf "k%d\tv\t%d\n", i % 97, i }' >"$TMP/t.tsv"
    same_as_plain tsv "$TMP/t.tsv" --input-format tsv
}

case_fixed() {
    gencorpus -s 72 -b -n 32000 >"$TMP/f.bin"
    same_as_plain fixed "$TMP/f.bin" --input-format fixed:32
    # A compressed file's size is known only at its end: a short last record fails there.
    { cat "$TMP/f.bin"; printf 'x'; } | gzip -c >"$TMP/short.bin.gz"
    local rc=0
    timeout -k 10 "$SHEAF_TEST_TIMEOUT" "$FIELDS" -i "$TMP/short.bin.gz" -o "$TMP/short" \
        --input-format fixed:32 >"$LAST_LOG" 2>&1 || rc=$?
    ((rc == 1)) || fail "a short last record in a compressed file: exit $rc"
    grep -q 'short.bin.gz: short fixed-length record at offset 32000' "$LAST_LOG" ||
        fail "the message does not name the file and the offset"
}

case_delimiter() {
    gencorpus -s 73 -n 30K | tr '\n' ';' >"$TMP/d.txt"
    same_as_plain delim "$TMP/d.txt" --record-delimiter ';'
}

case_damaged_not_skippable() {
    # Damaged compressed data is not a malformed record: --max-bad-records does not skip it.
    awk 'BEGIN { printf "a,b\n"; for (i = 0; i < 20000; i++) printf "%d,x%d\n", i, i }' |
        gzip -c >"$TMP/dmg.csv.gz"
    local size rc=0
    size=$(stat -c %s "$TMP/dmg.csv.gz")
    head -c $((size / 2)) "$TMP/dmg.csv.gz" >"$TMP/cut.csv.gz"
    timeout -k 10 "$SHEAF_TEST_TIMEOUT" "$MPIRUN" -np 2 --oversubscribe "$FIELDS" \
        -i "$TMP/cut.csv.gz" -o "$TMP/dmg" --input-format csv --csv-header \
        --max-bad-records 1000 >"$LAST_LOG" 2>&1 || rc=$?
    ((rc == 1)) || { cat "$LAST_LOG" >&2; fail "a cut csv.gz with --max-bad-records: exit $rc"; }
    grep -q 'cut.csv.gz: truncated gzip data' "$LAST_LOG" || fail "the message does not say so"
    [[ ! -e $TMP/dmg ]] || fail "a failed job left output"
}

run_case lines case_lines
run_case csv case_csv
run_case tsv case_tsv
run_case fixed case_fixed
run_case delimiter case_delimiter
run_case damaged-not-skippable case_damaged_not_skippable
finish
