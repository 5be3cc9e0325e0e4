#!/usr/bin/env bash
# rows.sh: the typed row API (tests/parquet/rowjob.c: a row of every column type computed
# from each input id) at 1-4 ranks: DuckDB reads its Parquet output and finds every value it
# computes itself from the ids (types and nulls too); the text output is the same rows as csv
# lines (the csv format refuses them); and reading that Parquet output back (typed accessors on
# parquet input, and the columns as values with sheaf_input_types) gives the same rows again.
# SKIP (77) only when node or the oracle packages are missing.
# shellcheck disable=SC2317  # the cases run through run_case
# shellcheck source=tests/jobs/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../jobs/lib.sh"
oracle=$top_srcdir/tests/oracle
rowjob=$top_builddir/tests/parquet/rowjob
command -v node >/dev/null 2>&1 || skip_test "node is missing"
[[ -d $oracle/node_modules/@duckdb/node-api ]] ||
    { echo "error: no test oracles in tests/oracle (scripts/check installs them)" >&2; exit 99; }
{
    echo id
    seq -5 3000
} >"$TMP/ids.csv"
# expect: the SQL that computes the rows from the ids
expect="SELECT id, (id % 1000)::INTEGER AS id32, CASE WHEN id % 5 = 0 THEN NULL ELSE id / 2 END
    AS half, id % 2 = 0 AS even, CASE WHEN id % 7 = 0 THEN NULL ELSE 'n' || id END AS name,
    (DATE '1970-01-01' + (id - 20000)::INTEGER) AS day,
    make_timestamptz(id * 1000001 - 1000000000000) AS ts
    FROM read_csv('$TMP/ids.csv', header = true, columns = {'id': 'BIGINT'})"
duck() {
    node "$top_srcdir/tests/parquet/duck.mjs" "$@"
}

# run NP ARGS...: the row job under mpirun
run_rows() {
    local np=$1 rc=0
    shift
    echo "\$ rowjob $*"
    timeout -k 10 "$SHEAF_TEST_TIMEOUT" "$MPIRUN" -np "$np" --oversubscribe "$rowjob" "$@" \
        >"$LAST_LOG" 2>&1 </dev/null || rc=$?
    ((rc == 0)) || { tail -n 20 "$LAST_LOG" >&2; fail "rowjob exited with $rc"; }
}

case_parquet_rows() {
    local np
    for np in $NPS; do
        local out=$TMP/pq-np$np
        run_rows "$np" -i "$TMP/ids.csv" --input-format csv --csv-header \
            --output-format parquet:gzip:500 -o "$out"
        duck check "$out/part-r-*.parquet" "$expect" || fail "np $np: DuckDB disagrees"
    done
}

case_text_rows() {
    local out=$TMP/text
    run_rows 2 -i "$TMP/ids.csv" --input-format csv --csv-header -o "$out"
    cat "$out"/part-r-* >"$TMP/text.csv"
    duck check-csv "$TMP/text.csv" "$expect" || fail "the text rows differ"
}

case_parquet_input_rows() {
    local np
    for np in $NPS; do
        local out=$TMP/back-np$np
        run_rows "$np" -i "$TMP/pq-np3" --input-format parquet --output-format parquet -o "$out"
        duck check "$out/part-r-*.parquet" "$expect" || fail "np $np: DuckDB disagrees"
    done
}

# the same, each column asked for as a value (sheaf_input_types): the job checks every value
# against its formula, and its output against DuckDB's again
case_parquet_input_values() {
    local np
    for np in $NPS; do
        local out=$TMP/values-np$np
        ROWJOB_TYPED=1 run_rows "$np" -i "$TMP/pq-np2" --input-format parquet \
            --output-format parquet -o "$out"
        duck check "$out/part-r-*.parquet" "$expect" || fail "np $np: DuckDB disagrees"
    done
}

run_case "typed rows to Parquet, read by DuckDB (1-4 ranks)" case_parquet_rows
run_case "typed rows as csv lines" case_text_rows
run_case "typed fields of Parquet input (1-4 ranks)" case_parquet_input_rows
run_case "values of Parquet input (sheaf_input_types, 1-4 ranks)" case_parquet_input_values
finish
