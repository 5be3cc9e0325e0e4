#!/usr/bin/env bash
# Column names that do not resolve. Every job that takes column names (groupby, join,
# distinct, topk, histogram, validate, kmeans) refuses a name it cannot find, never computing
# over an empty field: without --csv-header (or with tsv, which has no header) a name that is
# not a column number is a usage error (exit 2) before the job runs, saying that the input has
# no header; with --csv-header, a name that is not in a file's header fails the job (exit 1)
# naming the file and the column and listing the header's columns. The controls, with the
# header read and the right names, agree with awk.
# shellcheck disable=SC2317  # the cases are called through run_case
source "${top_srcdir:-$(dirname "$0")/../..}/tests/badinput/lib.sh"

H=$TMP/h.csv
printf 'k,v\na,1\nb,2\na,3\nc,x\n' >"$H"
NOHDR="the input has no header (--csv-header not given)"
HDR="input $H has no column 'nosuch' (its header, read with --csv-header: k, v)"

case_groupby() {
    # The issue's commands: one group of every row under an empty key, exit 0, before.
    local np
    for np in 0 2; do
        expect_fail 2 "no column 'k': $NOHDR" "$np" \
            groupby -i "$H" -o "$TMP/g" --input-format csv --key k --agg count,sum:v
    done
    expect_fail 2 "no column 'nosuch': $NOHDR" 0 \
        groupby -i "$H" -o "$TMP/g" --input-format csv --key nosuch --agg count
    expect_fail 2 "no column 'v': $NOHDR" 0 \
        groupby -i "$H" -o "$TMP/g" --input-format csv --key 0 --agg count,sum:v
    expect_fail 2 "no column 'v': $NOHDR" 0 \
        groupby -i "$H" -o "$TMP/g" --input-format csv --key 0 --where 'v > 1'
    expect_fail 2 "no column 'k': tsv input has no header" 0 \
        groupby -i "$H" -o "$TMP/g" --input-format tsv --key k
    for np in 0 2; do
        expect_fail 1 "$HDR" "$np" groupby -i "$H" -o "$TMP/g" --input-format csv --csv-header \
            --key nosuch --agg count,sum:v
        expect_fail 1 "$HDR" "$np" groupby -i "$H" -o "$TMP/g" --input-format csv --csv-header \
            --key k --agg count,sum:nosuch
    done
    # The controls: by name with the header, by number without it.
    must_np 2 groupby -i "$H" -o "$TMP/g-ok" --input-format csv --csv-header --key k \
        --agg count,sum:v
    awk -F, 'NR > 1 { n[$1]++; if ($2 ~ /^[0-9]+$/) { s[$1] += $2; has[$1] = 1 } }
             END { for (k in n) print k "\t" n[k] "," (has[k] ? s[k] : "") }' "$H" |
        sort >"$TMP/g.ref"
    cmp -s <(parts_sorted "$TMP/g-ok") "$TMP/g.ref" ||
        fail "groupby by name: $(parts_sorted "$TMP/g-ok" | tr '\n\t' ' :')"
    must_np 0 groupby -i "$H" -o "$TMP/g-num" --input-format csv --key 0 --agg count
    awk -F, '{ n[$1]++ } END { for (k in n) print k "\t" n[k] }' "$H" | sort >"$TMP/g-num.ref"
    cmp -s <(parts_sorted "$TMP/g-num") "$TMP/g-num.ref" || fail "groupby by number differs"
    # A key column by number that a short row lacks: an empty key, and counted.
    printf 'a,1\nb\nc,2,3\nd\n' >"$TMP/ragged.csv"
    must_np 2 groupby -i "$TMP/ragged.csv" -o "$TMP/g-rag" --input-format csv --key 1
    awk -F, '{ n[$2]++ } END { for (k in n) print k "\t" n[k] }' "$TMP/ragged.csv" |
        sort >"$TMP/g-rag.ref"
    cmp -s <(parts_sorted "$TMP/g-rag") "$TMP/g-rag.ref" || fail "groupby of short rows differs"
    grep -q '"key fields missing": 2' "$TMP/g-rag/_report.json" ||
        fail "short rows were not counted: $(grep -A3 user_counters "$TMP/g-rag/_report.json")"
}

case_join() {
    printf 'id,name\n1,ann\n2,bob\n' >"$TMP/users.csv"
    printf 'uid,item\n1,pen\n1,ink\n3,cup\n' >"$TMP/orders.csv"
    local -a ins=(-i "$TMP/users.csv" -i "$TMP/orders.csv" --input-format csv)
    expect_fail 2 "no column 'id': $NOHDR" 0 join "${ins[@]}" -o "$TMP/j" --left-key id \
        --right-key uid
    expect_fail 2 "no column 'uid': $NOHDR" 2 join "${ins[@]}" -o "$TMP/j" --left-key 0 \
        --right-key uid
    local nouser="input $TMP/orders.csv has no column 'user'"
    nouser+=" (its header, read with --csv-header: uid, item)"
    expect_fail 1 "$nouser" 2 join "${ins[@]}" --csv-header -o "$TMP/j" --left-key id \
        --right-key user
    expect_fail 1 "$nouser" 0 join "${ins[@]}" --csv-header -o "$TMP/j" --left-key id \
        --right-key user --broadcast
    must_np 2 join "${ins[@]}" --csv-header -o "$TMP/j-ok" --left-key id --right-key uid
    join -t, -1 1 -2 1 <(tail -n +2 "$TMP/users.csv" | sort) \
        <(tail -n +2 "$TMP/orders.csv" | sort) |
        awk -F, '{ print $1 "," $2 "\t" $1 "," $3 }' | sort >"$TMP/j.ref"
    cmp -s <(parts_sorted "$TMP/j-ok") "$TMP/j.ref" ||
        fail "join: $(parts_sorted "$TMP/j-ok" | tr '\n\t' ' :')"
}

case_one_column_jobs() {
    local job
    for job in distinct topk histogram; do
        expect_fail 2 "no column 'v': $NOHDR" 0 \
            "$job" -i "$H" -o "$TMP/$job" --input-format csv --column v
        expect_fail 1 "$HDR" 2 \
            "$job" -i "$H" -o "$TMP/$job" --input-format csv --csv-header --column nosuch
    done
    expect_fail 2 "no column 'v': $NOHDR" 0 \
        validate -i "$H" -o "$TMP/val" --input-format csv --rule not-null:v
    expect_fail 1 "$HDR" 2 \
        validate -i "$H" -o "$TMP/val" --input-format csv --csv-header --rule range:nosuch:0:9
    printf 'x,y\n1,1\n1,2\n9,9\n9,8\n' >"$TMP/pts.csv"
    expect_fail 2 "no column 'x': $NOHDR" 0 \
        kmeans -i "$TMP/pts.csv" -o "$TMP/km" --input-format csv --columns x,y --k 2
    local noz="input $TMP/pts.csv has no column 'z' (its header, read with --csv-header: x, y)"
    expect_fail 1 "$noz" 0 kmeans -i "$TMP/pts.csv" -o "$TMP/km" --input-format csv --csv-header \
        --columns x,z --k 2
    # The control: distinct by name with the header.
    must_np 2 distinct -i "$H" -o "$TMP/d-ok" --input-format csv --csv-header --column k
    tail -n +2 "$H" | cut -d, -f1 | sort | uniq -c | awk '{ print $2 "\t" $1 }' >"$TMP/d.ref"
    cmp -s <(parts_sorted "$TMP/d-ok") "$TMP/d.ref" || fail "distinct by name differs"
}

run_case groupby case_groupby
run_case join case_join
run_case one-column-jobs case_one_column_jobs
finish
