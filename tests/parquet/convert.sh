#!/usr/bin/env bash
# convert.sh: `sheaf schema` and `sheaf convert` against DuckDB:
#  - the types `sheaf schema` infers for a csv file are those DuckDB's csv sniffer finds, and
#    for a Parquet file those DuckDB reads from it; a file with a byte-order mark is read by
#    `sheaf sql` (the same inference) with DuckDB's column names and rows;
#  - `sheaf convert` with that schema at 1-4 ranks (every codec) writes Parquet that DuckDB reads
#    as exactly the rows and types of its own reading of the csv, and converting Parquet input
#    gives the same;
#  - without --schema, convert infers the schema `sheaf schema` gives (csv columns nullable) and
#    DuckDB reads the output as its reading of the csv;
#  - values that do not cast are bad records: counted within --max-bad-records, else exit 1
#    naming the file, offset and column, with no output left;
#  - the job is map only: one file per rank, an idle rank's file empty but readable (a gzip
#    csv, one task, too), the same
#    rows as through --reducers N (N files); a rank failing mid-map leaves an earlier output
#    as it was and no _SUCCESS.
# SKIP (77) only when node is missing; without the oracle packages (scripts/check installs
# them) it is an error (99).
# shellcheck disable=SC2317  # the cases run through run_case
# shellcheck source=tests/parquet/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# duck_types QUERY: DuckDB's column types of a query as a --schema-like list
duck_types() {
    duck types "$1"
}

case_schema_like_duckdb() {
    local got want
    got=$(spec "$TMP/data.csv" | tr -d '?')
    want=$(duck_types "SELECT * FROM read_csv('$TMP/data.csv', header = true)")
    [[ $got == "$want" ]] || fail "csv: sheaf schema '$got', DuckDB '$want'"
    # a byte-order mark, booleans in any case, an empty field: the one inference of sheaf
    # schema, convert and sql, each as DuckDB's sniffer and reader see the file
    printf '\xef\xbb\xbfid,flag,day,amount,name\n1,true,2024-01-02,1.5,a\n2,FALSE,2024-01-03,,b\n3,True,2024-02-29,2,\n' \
        >"$TMP/bom.csv"
    got=$(spec "$TMP/bom.csv" | tr -d '?')
    want=$(duck_types "SELECT * FROM read_csv('$TMP/bom.csv', header = true)")
    [[ $got == "$want" ]] || fail "bom.csv: sheaf schema '$got', DuckDB '$want'"
    "$SHEAF" sql "SELECT * FROM '$TMP/bom.csv'" >"$TMP/bom.out" || fail "sql over bom.csv failed"
    [[ $(head -n 1 "$TMP/bom.out") == id,flag,day,amount,name ]] ||
        fail "sql's columns over bom.csv: $(head -n 1 "$TMP/bom.out")"
    duck same "SELECT * FROM read_csv('$TMP/bom.out', header = true)" \
        "SELECT * FROM read_csv('$TMP/bom.csv', header = true)" ||
        fail "sql over bom.csv: other rows than DuckDB's"
    got=$(spec "$TMP/data-zstd.parquet" | tr -d '?')
    want=$(duck_types "SELECT * FROM '$TMP/data-zstd.parquet'")
    [[ $got == "$want" ]] || fail "parquet: sheaf schema '$got', DuckDB '$want'"
}

case_convert_csv() {
    local np codecs=(zstd snappy gzip none) s
    s=$(spec "$TMP/data.csv")
    for np in $NPS; do
        local out=$TMP/cv-np$np
        must_np "$np" convert -i "$TMP/data.csv" --input-format csv --csv-header --schema "$s" \
            --compression "${codecs[$((np - 1))]}" --row-group 3000 -o "$out"
        duck check "$out/part-r-*.parquet" \
            "SELECT * FROM read_csv('$TMP/data.csv', header = true)" ||
            fail "np $np: DuckDB disagrees"
    done
}

case_convert_parquet() {
    local out=$TMP/cvp s
    s=$(spec "$TMP/data-hyparquet.parquet")
    must_np 3 convert -i "$TMP/data-hyparquet.parquet" --input-format parquet --schema "$s" \
        --to parquet -o "$out"
    duck check "$out/part-r-*.parquet" "SELECT * FROM '$TMP/data-hyparquet.parquet'" ||
        fail "DuckDB disagrees"
}

# No --schema: convert takes the one `sheaf schema` infers from the first file (all columns
# nullable for csv, as Glue's and Spark's inferred schemas are) and says so; DuckDB reads the
# output as its own reading of the csv. A csv without --csv-header cannot be inferred: exit 2.
case_convert_inferred() {
    local want rc=0
    want=$(spec "$TMP/data.csv" | tr -d '?' | sed 's/\(:[a-z0-9]*\)/\1?/g')
    must_np 2 convert -i "$TMP/data.csv" --input-format csv --csv-header -o "$TMP/inf"
    grep -q "^sheaf convert: no --schema: .* from $TMP/data.csv" "$LAST_LOG" ||
        fail "convert did not say where the schema came from: $(head -n 3 "$LAST_LOG")"
    [[ $(sed -n 's/^  --schema //p' "$LAST_LOG") == "$want" ]] ||
        fail "convert's schema '$(sed -n 's/^  --schema //p' "$LAST_LOG")', expected '$want'"
    [[ $(spec "$TMP/inf/part-r-00000.parquet") == "$want" ]] ||
        fail "the file's schema $(spec "$TMP/inf/part-r-00000.parquet")"
    duck check "$TMP/inf/part-r-*.parquet" \
        "SELECT * FROM read_csv('$TMP/data.csv', header = true)" || fail "DuckDB disagrees"
    # Parquet input: the file's own schema, nullability kept
    must_np 2 convert -i "$TMP/data-hyparquet.parquet" --input-format parquet -o "$TMP/infp"
    [[ $(spec "$TMP/infp/part-r-00000.parquet") == "$(spec "$TMP/data-hyparquet.parquet")" ]] ||
        fail "parquet: $(spec "$TMP/infp/part-r-00000.parquet")"
    duck check "$TMP/infp/part-r-*.parquet" "SELECT * FROM '$TMP/data-hyparquet.parquet'" ||
        fail "parquet: DuckDB disagrees"
    run_np 2 convert -i "$TMP/data.csv" --input-format csv -o "$TMP/inf2" || rc=$?
    [[ $rc -eq 2 ]] || fail "no header, no schema: exit $rc"
    grep -q "add --csv-header, or give --schema" "$LAST_LOG" || fail "$(cat "$LAST_LOG")"
    [[ ! -e $TMP/inf2 ]] || fail "a refused job left $TMP/inf2"
    # a malformed row in the sample is the job's to judge: skipped under --max-bad-records
    printf 'id,name\n1,a\n2,b,extra\n3,c\n' >"$TMP/onebad.csv"
    must_np 2 convert -i "$TMP/onebad.csv" --input-format csv --csv-header \
        --max-bad-records 1 -o "$TMP/inf4"
    duck check "$TMP/inf4/part-r-*.parquet" \
        "SELECT * FROM (VALUES (1::BIGINT, 'a'), (3, 'c')) v(id, name)" ||
        fail "a malformed row in the sample: other rows"
    : >"$TMP/empty.csv"
    rc=0
    run_np 1 convert -i "$TMP/empty.csv" --input-format csv --csv-header -o "$TMP/inf3" || rc=$?
    [[ $rc -eq 2 ]] || fail "an empty csv, no schema: exit $rc"
    grep -q "empty.csv has no columns" "$LAST_LOG" || fail "$(cat "$LAST_LOG")"
    [[ ! -e $TMP/inf3 ]] || fail "a refused job left $TMP/inf3"
}

case_bad_records() {
    printf 'id,day\n1,2024-01-01\nx,2024-01-02\n3,2024-02-30\n4,\n5,2024-03-01\n' >"$TMP/bad.csv"
    local rc=0
    run_np 2 convert -i "$TMP/bad.csv" --input-format csv --csv-header --schema id:int64,day:date \
        -o "$TMP/bad1" || rc=$?
    [[ $rc -eq 1 ]] || fail "bad values: exit $rc"
    grep -q "bad.csv: bad record at offset [0-9]*: column '[a-z]*'" "$LAST_LOG" ||
        fail "bad values: $(cat "$LAST_LOG")"
    [[ ! -e $TMP/bad1 ]] || fail "a failed job left $TMP/bad1"
    rc=0
    run_np 1 convert -i "$TMP/bad.csv" --input-format csv --csv-header --schema id:int64 \
        --to csv -o "$TMP/bad3" || rc=$?
    [[ $rc -eq 2 ]] || fail "--to csv: exit $rc"
    grep -q -- "--to csv: convert writes Parquet" "$LAST_LOG" || fail "--to csv: $(cat "$LAST_LOG")"
    [[ ! -e $TMP/bad3 ]] || fail "a refused job left $TMP/bad3"
    must_np 2 convert -i "$TMP/bad.csv" --input-format csv --csv-header \
        --schema id:int64,day:date --max-bad-records 3 -o "$TMP/bad2"
    duck check "$TMP/bad2/part-r-*.parquet" "SELECT * FROM (VALUES (1::BIGINT, DATE '2024-01-01'),
        (5, DATE '2024-03-01')) v(id, day)" || fail "the good rows differ"
    grep -q '"total": 3' "$TMP/bad2/_report.json" || fail "the report does not count 3 bad records"
}

case_map_only() {
    local s np n
    s=$(spec "$TMP/data.csv")
    # one file per rank, without --reducers; N files with it, through the shuffle
    must_np 3 convert -i "$TMP/data.csv" --input-format csv --csv-header --schema "$s" \
        --split-size 64K -o "$TMP/mo3"
    n=$(find "$TMP/mo3" -name 'part-r-*.parquet' | wc -l)
    [[ $n -eq 3 ]] || fail "3 ranks wrote $n files"
    # written by map: nothing went through the shuffle, every row of the csv came out
    n=$(python3 -c 'import json, sys; c = json.load(open(sys.argv[1]))["counters"]
print(c["map_output_records"]["total"], c["shuffle_bytes_sent"]["total"],
      c["output_records"]["total"])' "$TMP/mo3/_report.json")
    [[ $n == "0 0 $(($(wc -l <"$TMP/data.csv") - 1))" ]] ||
        fail "map output, shuffle bytes and output rows: $n"
    must_np 3 convert -i "$TMP/data.csv" --input-format csv --csv-header --schema "$s" \
        --reducers 2 -o "$TMP/mo3r2"
    n=$(find "$TMP/mo3r2" -name 'part-r-*.parquet' | wc -l)
    [[ $n -eq 2 ]] || fail "--reducers 2 wrote $n files"
    duck check "$TMP/mo3r2/part-r-*.parquet" "SELECT * FROM '$TMP/mo3/part-r-*.parquet'" ||
        fail "--reducers 2 and map only disagree"
    # a compressed csv is one task: one rank's file has the rows, the other none
    gzip -c "$TMP/data.csv" >"$TMP/data.csv.gz"
    must_np 2 convert -i "$TMP/data.csv.gz" --input-format csv --csv-header --schema "$s" \
        -o "$TMP/mogz"
    duck check "$TMP/mogz/part-r-*.parquet" \
        "SELECT * FROM read_csv('$TMP/data.csv', header = true)" || fail "gzip: DuckDB disagrees"
    # one task for four ranks: three files with no row, which DuckDB still reads
    printf 'id,name\n1,a\n2,\n3,c\n' >"$TMP/tiny.csv"
    must_np 4 convert -i "$TMP/tiny.csv" --input-format csv --csv-header \
        --schema id:int64,name:string? -o "$TMP/mo4"
    n=$(find "$TMP/mo4" -name 'part-r-*.parquet' | wc -l)
    [[ $n -eq 4 ]] || fail "4 ranks wrote $n files"
    for np in 0 1 2 3; do
        duck check "$TMP/mo4/part-r-0000$np.parquet" "SELECT * FROM (SELECT 1::BIGINT AS id,
            'x'::VARCHAR AS name) WHERE false" >/dev/null && continue
        duck check "$TMP/mo4/part-r-0000$np.parquet" "SELECT * FROM read_csv('$TMP/tiny.csv',
            header = true, types = {'id': 'BIGINT', 'name': 'VARCHAR'})" ||
            fail "part $np is neither empty nor the rows"
    done
    duck check "$TMP/mo4/part-r-*.parquet" "SELECT * FROM read_csv('$TMP/tiny.csv', header = true,
        types = {'id': 'BIGINT', 'name': 'VARCHAR'})" || fail "4 ranks: DuckDB disagrees"
    # a rank failing in the middle of its map leaves the earlier output as it was
    (cd "$TMP/mo3" && md5sum part-r-* _SUCCESS) >"$TMP/mo3.md5"
    local rc=0
    SHEAF_FAULT=map:1:after-100 run_np 2 convert -i "$TMP/data.csv" --input-format csv \
        --csv-header --schema "$s" --split-size 64K -o "$TMP/mo3" --overwrite || rc=$?
    [[ $rc -eq 1 ]] || fail "a failing rank: exit $rc"
    (cd "$TMP/mo3" && md5sum --quiet -c "$TMP/mo3.md5") || fail "the earlier output was damaged"
    n=$(find "$TMP/mo3" -name 'part-r-*.parquet' | wc -l)
    [[ $n -eq 3 ]] || fail "the earlier output now has $n files"
    rc=0
    SHEAF_FAULT=map:0 run_np 2 convert -i "$TMP/data.csv" --input-format csv --csv-header \
        --schema "$s" -o "$TMP/mo-new" || rc=$?
    [[ $rc -eq 1 ]] || fail "a failing rank 0: exit $rc"
    [[ ! -e $TMP/mo-new ]] || fail "a failed job left $TMP/mo-new"
}

run_case "sheaf schema finds DuckDB's types" case_schema_like_duckdb
run_case "convert csv to Parquet (1-4 ranks, every codec)" case_convert_csv
run_case "convert Parquet to Parquet" case_convert_parquet
run_case "convert without --schema infers it" case_convert_inferred
run_case "convert: bad records" case_bad_records
run_case "convert is map only (files per rank, idle ranks, failures)" case_map_only
finish
