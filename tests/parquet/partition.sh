#!/usr/bin/env bash
# partition.sh: `sheaf convert --partition-by` and reading partition folders back:
#  - a csv converted at 1-4 ranks into folders city=C/year=Y holds, as DuckDB reads it with
#    hive_partitioning, exactly the csv's rows (an empty city is the null folder, as in Hive);
#    the files lack the partition columns, and nothing is left at the top but the markers;
#  - Sheaf reads the folders back (the partition columns as fields): converting them again,
#    unpartitioned, gives the csv's rows;
#  - values with / = % and control characters are escaped in folder names as Hive does, and
#    read back by DuckDB and by Sheaf as they were;
#  - a --where (SQL) on partition columns skips the other folders unopened (a file there is
#    corrupted on purpose; without the --where the job fails on it), counted in the report;
#    the folders' columns are typed as DuckDB's hive_partitioning types them (year BIGINT), and
#    the groups are DuckDB's for the same condition; a conjunct that also reads a file column
#    (year = 2002 OR amount > 5) prunes nothing, so the corrupt file is read and fails the job;
#    sheaf sql over the lake's folder prunes the same way and gives DuckDB's rows;
#  - a partition column named like a part file (part-r-x) is committed as a folder;
#  - bad --partition-by lists are usage errors.
# SKIP (77) only when node is missing; without the oracle packages it is an error (99).
# shellcheck disable=SC2317  # the cases run through run_case
# shellcheck source=tests/parquet/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
schema='city:string?,year:int64,amount:double,score:double?,tag:string?'
csv="SELECT nullif(city, '') AS city, year, amount, score, tag
     FROM read_csv('$TMP/data.csv', header = true, all_varchar = true)"
hive() { # the rows of a partitioned output as DuckDB reads them, in the csv's column order
    echo "SELECT city, year, amount, score, tag
          FROM read_parquet('$1/**/*.parquet', hive_partitioning = true)"
}

case_roundtrip() {
    local np codecs=(zstd snappy gzip none)
    for np in $NPS; do
        local out=$TMP/lake-np$np
        must_np "$np" convert -i "$TMP/data.csv" --input-format csv --csv-header \
            --schema "$schema" --partition-by city,year --compression "${codecs[$((np - 1))]}" \
            -o "$out"
        duck same "$(hive "$out")" "$csv" || fail "np $np: DuckDB reads other rows"
        [[ -e $out/_SUCCESS ]] || fail "np $np: no _SUCCESS"
        local top
        top=$(find "$out" -mindepth 1 -maxdepth 1 ! -name '_*' ! -name 'city=*')
        [[ -z $top ]] || fail "np $np: at the top of the output: $top"
        local bad
        bad=$(find "$out" -type f -name '*.parquet' | grep -cv '/city=[^/]*/year=[0-9]*/part-r-[0-9]*\.parquet$' || true)
        [[ $bad == 0 ]] || fail "np $np: $bad files outside city=*/year=* folders"
        [[ -d $out/city=__HIVE_DEFAULT_PARTITION__ ]] || fail "np $np: no null folder"
        local one
        one=$(find "$out" -name '*.parquet' -print -quit)
        [[ $(duck types "SELECT * FROM read_parquet('$one', hive_partitioning = false)") == \
            amount:double,score:double,tag:string ]] || fail "np $np: $one has other columns"
    done
    # read back by Sheaf: the folders' columns are fields
    must_np 3 convert -i "$TMP/lake-np2" --input-format parquet --schema "$schema" \
        -o "$TMP/back"
    duck same "SELECT city, year, amount, score, tag FROM read_parquet('$TMP/back/part-r-*.parquet')" \
        "$csv" || fail "Sheaf reads the folders back as other rows"
    # and without a schema: the folders' columns come from the paths, typed by their values
    must_np 2 convert -i "$TMP/lake-np2" --input-format parquet -o "$TMP/back2"
    [[ $(spec "$TMP/back2/part-r-00000.parquet") == \
        amount:double,score:double?,tag:string?,city:string?,year:int64? ]] ||
        fail "no --schema: $(spec "$TMP/back2/part-r-00000.parquet")"
    duck same "SELECT city, year, amount, score, tag FROM read_parquet('$TMP/back2/part-r-*.parquet')" \
        "$csv" || fail "no --schema: Sheaf reads the folders back as other rows"
}

case_escape() {
    printf 'k,n,v\n"a/b=c%%d",1,x\n"t\tx",2,y\n"q""#?",3,z\n,4,w\nplain,5,"line\nbreak"\n' \
        >"$TMP/esc.csv"
    must_np 2 convert -i "$TMP/esc.csv" --input-format csv --csv-header \
        --schema k:string?,n:int64,v:string --partition-by k -o "$TMP/esc"
    local got want
    got=$(cd "$TMP/esc" && find . -mindepth 1 -maxdepth 1 -type d | sort | tr '\n' ' ')
    want='./k=__HIVE_DEFAULT_PARTITION__ ./k=a%2Fb%3Dc%25d ./k=plain ./k=q%22%23%3F ./k=t%09x '
    [[ $got == "$want" ]] || fail "folders: $got"
    duck same "SELECT k, n, v FROM read_parquet('$TMP/esc/**/*.parquet', hive_partitioning = true)" \
        "SELECT nullif(k, '') AS k, n, v FROM read_csv('$TMP/esc.csv', header = true, all_varchar = true)" ||
        fail "DuckDB reads other values"
    must_np 2 convert -i "$TMP/esc" --input-format parquet --schema k:string?,n:int64,v:string \
        -o "$TMP/esc-back"
    duck same "SELECT k, n, v FROM read_parquet('$TMP/esc-back/part-r-*.parquet')" \
        "SELECT nullif(k, '') AS k, n, v FROM read_csv('$TMP/esc.csv', header = true, all_varchar = true)" ||
        fail "Sheaf reads other values"
}

case_prune() {
    local lake=$TMP/prune
    must_np 2 convert -i "$TMP/data.csv" --input-format csv --csv-header --schema "$schema" \
        --partition-by year,city -o "$lake"
    # a file in a folder the --where rules out, corrupted: it must never be opened
    cp -r "$lake" "$TMP/prune-clean"
    local victim
    victim=$(find "$lake/year=2000" -name '*.parquet' -print -quit)
    printf 'not parquet at all' >"$victim"
    local np
    for np in 1 3; do
        must_np "$np" groupby -i "$lake" --input-format parquet --key city,year --agg sum:amount \
            --where 'year = 2002' --where 'city != c3' -o "$TMP/pruned-np$np"
        duck same "SELECT * FROM read_csv('$TMP/pruned-np$np/part-r-*', header = false,
                delim = '\t', quote = '', all_varchar = true)" \
            "SELECT CASE WHEN contains(city, ',') THEN '\"' || replace(city, '\"', '\"\"') || '\"'
                    ELSE coalesce(city, '') END || ',' || year, sum(amount::DOUBLE)::BIGINT
             FROM ($csv)
             WHERE year::INT = 2002 AND city <> 'c3' GROUP BY ALL" ||
            fail "np $np: the groups differ from DuckDB's"
        # a null city (the default folder) is not != 'c3' in SQL: pruned too
        pruned_count "$TMP/pruned-np$np" "$(find "$lake/year=2002" -name '*.parquet' \
            ! -path '*/city=c3/*' ! -path '*/city=__HIVE_DEFAULT_PARTITION__/*' | wc -l)"
    done
    # one SQL condition over two partition columns, checked against DuckDB's hive_partitioning
    for np in 2 4; do
        must_np "$np" groupby -i "$lake" --input-format parquet --key city,year --agg sum:amount \
            --where "year >= 2003 AND city = 'c3'" -o "$TMP/sql-np$np"
        same_groups "$TMP/sql-np$np" "year >= 2003 AND city = 'c3'"
        pruned_count "$TMP/sql-np$np" "$(find "$lake" -path '*/year=200[34]/city=c3/*' \
            -name '*.parquet' | wc -l)"
    done
    # a conjunct reading a file column too prunes nothing: the corrupt file is opened
    local rc=0
    run_np 2 groupby -i "$lake" --input-format parquet --key city,year --agg sum:amount \
        --where 'year = 2002 OR amount > 5' -o "$TMP/mixed" || rc=$?
    [[ $rc -eq 1 ]] || fail "year = 2002 OR amount > 5: the corrupt file was not read: exit $rc"
    grep -q "$(basename "$victim"): not a Parquet file" "$LAST_LOG" || fail "$(cat "$LAST_LOG")"
    # beside a conjunct on partition columns only, which prunes year=2000
    must_np 2 groupby -i "$lake" --input-format parquet --key city,year --agg sum:amount \
        --where 'year = 2002 OR amount > 5' --where 'year > 2000' -o "$TMP/mixed2"
    same_groups "$TMP/mixed2" "(year = 2002 OR amount > 5) AND year > 2000"
    pruned_count "$TMP/mixed2" "$(find "$lake" -name '*.parquet' ! -path '*/year=2000/*' | wc -l)"
    # sheaf sql over the lake's folder (its format found from its files): the same pruning,
    # the partition columns typed as DuckDB types them, the rows DuckDB's
    for np in 1 3; do
        must_np "$np" sql "SELECT city, year, count(*) AS n, sum(amount) AS s FROM '$lake'
            WHERE year >= 2003 AND city = 'c3' AND amount > 0 GROUP BY city, year" \
            -o "$TMP/sqlq-np$np"
        cat "$TMP/sqlq-np$np"/part-r-* >"$TMP/sqlq-np$np.csv"
        duck same "SELECT city, year::BIGINT, n::BIGINT, round(s::DOUBLE, 6)
                   FROM read_csv('$TMP/sqlq-np$np.csv', header = true, all_varchar = true)" \
            "SELECT city, year, count(*), round(sum(amount), 6)
             FROM read_parquet('$TMP/prune-clean/**/*.parquet', hive_partitioning = true)
             WHERE year >= 2003 AND city = 'c3' AND amount > 0 GROUP BY city, year" ||
            fail "np $np: sheaf sql's rows differ from DuckDB's"
        # (it succeeded, so the corrupt file under year=2000 was never opened)
        # The committed result's report counts the query's input, not the result's rows:
        # the files pruned, and the rows of the files read
        local kept n
        kept=$(find "$lake" -path '*/year=200[34]/city=c3/*' -name '*.parquet' | wc -l)
        n=$(jq '.user_counters."sql.input_files_pruned"' "$TMP/sqlq-np$np/_report.json")
        [[ $n -eq $(($(find "$TMP/prune" -name '*.parquet' | wc -l) - kept)) ]] ||
            fail "np $np: sql.input_files_pruned $n, $kept files kept"
        n=$(jq '.user_counters."sql.input_records"' "$TMP/sqlq-np$np/_report.json")
        duck same "SELECT $n" "SELECT count(*) FROM read_parquet('$TMP/prune-clean/**/*.parquet',
            hive_partitioning = true) WHERE year >= 2003 AND city = 'c3'" ||
            fail "np $np: sql.input_records $n is not the rows of the files read"
    done
    rc=0
    run_np 2 sql "SELECT count(*) AS n FROM '$lake' WHERE year = 2002 OR amount > 5" \
        -o "$TMP/sqlmixed" || rc=$?
    [[ $rc -eq 1 ]] || fail "sql, year = 2002 OR amount > 5: the corrupt file was not read: exit $rc"
    local rc=0
    run_np 2 groupby -i "$lake" --input-format parquet --key city --where 'year != 2002' \
        -o "$TMP/unpruned" || rc=$?
    [[ $rc -eq 1 ]] || fail "the corrupt file was not read: exit $rc"
    grep -q "$(basename "$victim"): not a Parquet file" "$LAST_LOG" || fail "$(cat "$LAST_LOG")"
}

# same_groups OUT COND: groupby's text output OUT (key city,year, sum of amount) holds the
# groups DuckDB finds under COND in the uncorrupted copy of the lake, read with
# hive_partitioning (its types: year BIGINT, city VARCHAR).
same_groups() {
    duck same "SELECT * FROM read_csv('$1/part-r-*', header = false, delim = '\t', quote = '',
            all_varchar = true)" \
        "SELECT CASE WHEN contains(city, ',') THEN '\"' || replace(city, '\"', '\"\"') || '\"'
                ELSE coalesce(city, '') END || ',' || year, sum(amount::DOUBLE)::BIGINT
         FROM read_parquet('$TMP/prune-clean/**/*.parquet', hive_partitioning = true)
         WHERE $2 GROUP BY ALL" || fail "$1: the groups differ from DuckDB's for $2"
    [[ $(duck types "SELECT year, city FROM read_parquet('$TMP/prune-clean/**/*.parquet',
            hive_partitioning = true)") == year:int64,city:string ]] ||
        fail "DuckDB types the folders otherwise"
}

# pruned_count OUT KEPT: the job's report counts as pruned all the lake's files but KEPT.
pruned_count() {
    local all
    all=$(find "$TMP/prune" -name '*.parquet' | wc -l)
    grep -A1 '"input_files_pruned"' "$1/_report.json" | grep -q "\"total\": $((all - $2))," ||
        fail "$1: not $((all - $2)) files pruned: $(grep -A1 input_files_pruned "$1/_report.json")"
}

case_part_named_column() {
    # A partition column named like a part file (part-r-x=a/) is a folder, not a part: the
    # commit counted it as one and failed the job.
    printf 'part-r-x,v\na,1\nb,2\n' >"$TMP/pn.csv"
    must_np 2 convert -i "$TMP/pn.csv" --input-format csv --csv-header \
        --schema part-r-x:string,v:int64 --partition-by part-r-x -o "$TMP/pn"
    [[ -f $TMP/pn/_SUCCESS && -d $TMP/pn/part-r-x=a && -d $TMP/pn/part-r-x=b ]] ||
        fail "folders: $(ls "$TMP/pn")"
}

case_usage() {
    local rc=0 what
    for what in nope year,year _x ''; do
        rc=0
        run_np 1 convert -i "$TMP/data.csv" --input-format csv --csv-header \
            --schema "$schema,_x:int64?" --partition-by "$what" -o "$TMP/u" || rc=$?
        [[ $rc -eq 2 ]] || fail "--partition-by '$what': exit $rc"
        grep -q -- "--partition-by" "$LAST_LOG" || fail "$(cat "$LAST_LOG")"
        [[ ! -e $TMP/u ]] || fail "a refused job left output"
    done
}

run_case "convert --partition-by: DuckDB reads the folders (1-4 ranks), Sheaf reads them back" \
    case_roundtrip
run_case "convert --partition-by: Hive's escapes" case_escape
run_case "a --where on partition columns skips folders unopened" case_prune
run_case "convert --partition-by: a column named like a part file" case_part_named_column
run_case "convert --partition-by: bad lists" case_usage
finish
