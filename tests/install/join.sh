#!/usr/bin/env bash
# examples/join.c (reduce-side join, rec->input, tagged values) built against the installed
# Sheaf, run on 1 to 3 ranks; the joined rows must equal what join(1) makes of the same files.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/install/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_sheaf
build_example join

# 300 users; 4000 orders in two files (a directory), some of users that do not exist, and
# users without orders. A header line on every file; columns in another order in one file.
mkdir -p "$TMP/orders"
awk 'BEGIN { print "id,name"; for (i = 1; i <= 300; i++) printf "%d,name%d\n", i, i * 7 % 1000 }' \
    >"$TMP/users.csv"
awk 'BEGIN {
    srand(11)
    print "order_id,user_id,amount" > "'"$TMP"'/orders/a.csv"
    print "amount,order_id,user_id" > "'"$TMP"'/orders/b.csv"
    for (i = 1; i <= 4000; i++) {
        u = 1 + int(rand() * 350); a = int(rand() * 10000) / 100
        if (i % 2) printf "%d,%d,%.2f\n", 10000 + i, u, a > "'"$TMP"'/orders/a.csv"
        else printf "%.2f,%d,%d\n", a, 10000 + i, u > "'"$TMP"'/orders/b.csv"
    }
}'

# The reference: user_id,name,order_id,amount for every order with a user, sorted.
{
    tail -n +2 "$TMP/orders/a.csv"
    tail -n +2 "$TMP/orders/b.csv" | awk -F, -v OFS=, '{ print $2, $3, $1 }'
} | sort -t, -k2,2 >"$TMP/orders.sorted"
tail -n +2 "$TMP/users.csv" | sort -t, -k1,1 >"$TMP/users.sorted"
join -t, -1 1 -2 2 -o 1.1,1.2,2.1,2.3 "$TMP/users.sorted" "$TMP/orders.sorted" | sort \
    >"$TMP/ref"
[[ -s $TMP/ref ]] || hard_error "the reference join is empty"

# check_join OUT: OUT's lines "user_id TAB name,order_id,amount", sorted, are the reference.
check_join() {
    local out=$1
    check_done "$out"
    cat "$out"/part-r-* | tr '\t' ',' | sort >"$out.sorted"
    same "$out.sorted" "$TMP/ref" "$out"
}

case_ranks() {
    local np
    for np in 1 2 3; do
        must_np "$np" join -i "$TMP/users.csv" -i "$TMP/orders" -o "$TMP/out-np$np"
        check_join "$TMP/out-np$np"
    done
}

case_reducers() {
    must_np 3 join -i "$TMP/users.csv" -i "$TMP/orders" -o "$TMP/out-r4" --reducers 4 \
        --split-size 4K --csv-no-newlines
    check_join "$TMP/out-r4"
}

case_missing_column() {
    local rc=0
    printf 'id,fullname\n1,Ann\n' >"$TMP/badusers.csv"
    run_np 2 join -i "$TMP/badusers.csv" -i "$TMP/orders" -o "$TMP/out-bad" || rc=$?
    ((rc == 1)) || fail "a missing column gave status $rc, not 1"
    grep -q "no column 'name'" "$LAST_LOG" || fail "the error does not name the column"
    grep -q 'badusers.csv' "$LAST_LOG" || fail "the error does not name the file"
}

run_case "1 to 3 ranks" case_ranks
run_case "4 reducers, small splits" case_reducers
run_case "a missing column fails the job" case_missing_column
finish
