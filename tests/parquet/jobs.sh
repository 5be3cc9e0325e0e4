#!/usr/bin/env bash
# jobs.sh: jobs that write and read Parquet, at 1 to 4 ranks, against DuckDB
# (tests/oracle/pqjobs.mjs):
#  - groupby and wordcount with --output-format parquet (every codec, small row groups):
#    DuckDB reads the part files and finds the rows of its own GROUP BY, and the word counts
#    of coreutils;
#  - groupby with --input-format parquet over files of DuckDB (every codec, pages v1 and v2,
#    many row groups, so several splits a file) and of hyparquet-writer: its output equals
#    DuckDB's GROUP BY over the same file;
#  - bad Parquet input (truncated, not Parquet, a column the file lacks) fails with exit 1
#    and a message naming the file, and leaves no output.
# SKIP (77) only when node is missing; without the oracle packages (scripts/check installs
# them) it is an error (99).
# shellcheck disable=SC2317  # the cases run through run_case
# shellcheck source=tests/jobs/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../jobs/lib.sh"
oracle=$top_srcdir/tests/oracle
command -v node >/dev/null 2>&1 || skip_test "node is missing"
[[ -d $oracle/node_modules/@duckdb/node-api && -d $oracle/node_modules/hyparquet-writer ]] ||
    { echo "error: no test oracles in tests/oracle (scripts/check installs them)" >&2; exit 99; }
pqjobs() {
    node "$oracle/pqjobs.mjs" "$@"
}
node "$oracle/pqjobs.mjs" gen "$TMP" || fail "cannot generate the data"
GB=(groupby --key city --agg 'count,sum:amount,min:score,max:score,distinct:tag')

case_groupby_writes_parquet() {
    local np codecs=(snappy zstd gzip none)
    for np in $NPS; do
        local out=$TMP/gbw-np$np codec=${codecs[$((np - 1))]}
        must_np "$np" "${GB[@]}" -i "$TMP/data.csv" --input-format csv --csv-header \
            --output-format "parquet:$codec:7" -o "$out"
        local -a files=("$out"/part-r-*.parquet)
        [[ ${#files[@]} -eq $np ]] || fail "$np ranks wrote ${#files[@]} part files"
        pqjobs check-parquet "$out" "$TMP/data.csv" || fail "np $np ($codec): DuckDB disagrees"
    done
}

case_wordcount_writes_parquet() {
    local np
    gencorpus -s 7 -n 300K >"$TMP/corpus.txt"
    ref_wc "$TMP/corpus.txt" >"$TMP/wc.ref"
    for np in $NPS; do
        local out=$TMP/wcw-np$np
        must_np "$np" wordcount -i "$TMP/corpus.txt" --output-format parquet -o "$out"
        pqjobs tsv "$out/part-r-*.parquet" | sort >"$out.tsv"
        same_file "$out.tsv" "$TMP/wc.ref"
    done
}

case_groupby_reads_parquet() {
    local np f
    for f in "$TMP"/data-*.parquet; do
        for np in $NPS; do
            local out
            out=$TMP/gbr-$(basename "$f" .parquet)-np$np
            must_np "$np" "${GB[@]}" -i "$f" --input-format parquet -o "$out"
            pqjobs check-text "$out" "$f" || fail "$f at $np ranks: DuckDB disagrees"
        done
    done
}

case_groupby_parquet_to_parquet() {
    local out=$TMP/gbrw
    must_np 3 "${GB[@]}" -i "$TMP/data-zstd.parquet" --input-format parquet \
        --output-format parquet -o "$out"
    pqjobs check-parquet "$out" "$TMP/data-zstd.parquet" || fail "DuckDB disagrees"
}

# A column the job does not read is not decoded: with the tag column's first chunk zeroed,
# a groupby of city and amount gives the output it gives on the intact file, and one that
# reads tag fails naming it.
case_unread_columns() {
    local f=$TMP/data-snappy.parquet off len rc=0
    read -r off len < <(pqjobs chunk "$f" tag)
    cp "$f" "$TMP/damaged.parquet"
    head -c "$len" /dev/zero |
        dd of="$TMP/damaged.parquet" bs=1 seek="$off" conv=notrunc status=none
    must_np 2 groupby --key city --agg count,sum:amount -i "$f" --input-format parquet \
        -o "$TMP/intact"
    must_np 2 groupby --key city --agg count,sum:amount -i "$TMP/damaged.parquet" \
        --input-format parquet -o "$TMP/damaged"
    same_file <(sort "$TMP"/intact/part-r-*) <(sort "$TMP"/damaged/part-r-*)
    run_np 2 groupby --key city --agg distinct:tag -i "$TMP/damaged.parquet" \
        --input-format parquet -o "$TMP/damaged2" || rc=$?
    [[ $rc -eq 1 ]] || fail "a damaged column read: exit $rc"
    grep -q "damaged.parquet: column 'tag'" "$LAST_LOG" || fail "$(cat "$LAST_LOG")"
}

case_bad_parquet_input() {
    local good=$TMP/data-snappy.parquet size rc
    size=$(stat -c %s "$good")
    head -c $((size - 50)) "$good" >"$TMP/cut.parquet"
    rc=0
    run_np 2 "${GB[@]}" -i "$TMP/cut.parquet" --input-format parquet -o "$TMP/bad1" || rc=$?
    [[ $rc -eq 1 ]] || fail "a truncated file: exit $rc"
    grep -q "cut.parquet: not a Parquet file (no PAR1 magic at its end" "$LAST_LOG" ||
        fail "a truncated file: $(cat "$LAST_LOG")"
    [[ ! -e $TMP/bad1 ]] || fail "a failed job left $TMP/bad1"
    rc=0
    run_np 2 "${GB[@]}" -i "$TMP/data.csv" --input-format parquet -o "$TMP/bad2" || rc=$?
    [[ $rc -eq 1 ]] || fail "a csv file read as Parquet: exit $rc"
    grep -q "data.csv: not a Parquet file" "$LAST_LOG" || fail "csv as Parquet: $(cat "$LAST_LOG")"
    rc=0
    run_np 2 groupby --key town --agg count -i "$good" --input-format parquet -o "$TMP/bad3" ||
        rc=$?
    [[ $rc -eq 1 ]] || fail "a missing column: exit $rc"
    grep -q "data-snappy.parquet: no column 'town'" "$LAST_LOG" ||
        fail "a missing column: $(cat "$LAST_LOG")"
    [[ ! -e $TMP/bad3 ]] || fail "a failed job left $TMP/bad3"
}

run_case "groupby writes Parquet, DuckDB reads it (1-4 ranks, every codec)" \
    case_groupby_writes_parquet
run_case "wordcount writes Parquet, DuckDB reads it (1-4 ranks)" case_wordcount_writes_parquet
run_case "groupby reads DuckDB's and hyparquet's Parquet (1-4 ranks)" case_groupby_reads_parquet
run_case "groupby from Parquet to Parquet" case_groupby_parquet_to_parquet
run_case "columns a job does not read are not decoded" case_unread_columns
run_case "bad Parquet input fails clearly" case_bad_parquet_input
finish
