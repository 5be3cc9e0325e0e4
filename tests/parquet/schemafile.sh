#!/usr/bin/env bash
# schemafile.sh: `--schema FILE` of `sheaf convert`: a JSON file and a DDL-like file declaring
# the columns `sheaf schema` infers give Parquet files of that schema (as `sheaf schema` reads
# their footer back) holding DuckDB's reading of the csv; bad schema files are usage errors
# (exit 2) naming the file and the line and column, or the JSON place.
# SKIP (77) only when node is missing; without the oracle packages it is an error (99).
# shellcheck disable=SC2317  # the cases run through run_case
# shellcheck source=tests/parquet/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case_files() {
    local want='city:string?,year:int64,amount:double,score:double?,tag:string?'
    cat >"$TMP/s.json" <<'JSON'
{"columns": [
  {"name": "city", "type": "string"},
  {"name": "year", "type": "bigint", "nullable": false},
  {"name": "amount", "type": "double", "nullable": false},
  {"name": "score", "type": "DOUBLE", "nullable": true},
  {"name": "tag", "type": "varchar"}
]}
JSON
    cat >"$TMP/s.ddl" <<'DDL'
-- the sales table
CREATE TABLE sales (
    city   string,
    "year" int64 NOT NULL,        # quoted names too
    amount double NOT NULL, score double NULL
    tag:string?
)
DDL
    local f np=1
    for f in s.json s.ddl @s.ddl; do
        must_np "$np" convert -i "$TMP/data.csv" --input-format csv --csv-header \
            --schema "${f/s./$TMP/s.}" -o "$TMP/out-$np"
        [[ $(spec "$TMP/out-$np/part-r-00000.parquet") == "$want" ]] ||
            fail "$f: the files' schema is $(spec "$TMP/out-$np/part-r-00000.parquet")"
        duck check "$TMP/out-$np/part-r-*.parquet" \
            "SELECT * FROM read_csv('$TMP/data.csv', header = true)" || fail "$f: DuckDB disagrees"
        np=$((np + 1))
    done
}

# bad NAME TEXT WANT: a schema file NAME holding TEXT is refused with WANT in the message
bad() {
    printf '%b' "$2" >"$TMP/$1"
    local rc=0
    run_np 1 convert -i "$TMP/data.csv" --input-format csv --csv-header --schema "$TMP/$1" \
        -o "$TMP/bad" || rc=$?
    [[ $rc -eq 2 ]] || fail "$1: exit $rc"
    grep -qF -- "$TMP/$1$3" "$LAST_LOG" || fail "$1: $(cat "$LAST_LOG")"
    [[ ! -e $TMP/bad ]] || fail "$1: a refused job left output"
}

case_bad_files() {
    bad t1.ddl 'city string\nyear int46\n' ":2:6: column 'year': unknown type 'int46'"
    bad t2.ddl 'city string NOT\n' ':1:13: NOT without NULL'
    bad t3.ddl 'city string extra\n' ":1:13: 'extra' after column 'city'"
    bad t4.ddl 'city string\ncity int64\n' ":2:1: column 'city': an empty or repeated name"
    bad t5.ddl 'city\n' ":1:1: column 'city' has no type"
    bad t6.ddl '"city string\n' ':1:1: a name quoted with " is not closed'
    bad t7.json '{"columns": [\n  {"name": "city", "type": "string",}\n]}' ': line 2, column'
    bad t8.json '[{"name": "city", "type": "strin"}]' ': columns[0] (city): unknown type "strin"'
    bad t9.json '{"columns": [{"name": "city", "type": "string", "null": true}]}' \
        ': columns[0]: unknown member "null"'
    bad t10.json '{"cols": []}' ': unknown member "cols"'
    bad t11.json '[]' ': no columns'
    local rc=0
    run_np 1 convert -i "$TMP/data.csv" --input-format csv --csv-header --schema "@$TMP/none" \
        -o "$TMP/bad" || rc=$?
    [[ $rc -eq 2 ]] || fail "a missing file: exit $rc"
    grep -qF "$TMP/none: No such file" "$LAST_LOG" || fail "$(cat "$LAST_LOG")"
}

run_case "--schema FILE: JSON and DDL-like files" case_files
run_case "--schema FILE: bad files named with their line and column" case_bad_files
finish
