#!/usr/bin/env bash
# examples/broadcast_join.c (a sheaf_command with an option and a run function that loads a
# side table with sheaf_list_inputs and sheaf_csv_parse, agrees on failure with sheaf_agree,
# then runs one job) built against the installed Sheaf, run on 1 to 3 ranks; the joined rows
# must equal a join of the same files by awk, and a bad users file fails every rank.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/install/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_sheaf
build_example broadcast_join

# 300 users in two files (one name quoted, holding a comma); 4000 orders, some of users that
# do not exist. A header line on every file; the columns in another order in one file.
mkdir -p "$TMP/users" "$TMP/orders"
awk 'BEGIN { print "id,name" > "'"$TMP"'/users/a.csv"; print "name,id" > "'"$TMP"'/users/b.csv"
    for (i = 1; i <= 300; i++) {
        n = i % 50 ? "name" (i * 7 % 1000) : "\"last, first" i "\""
        if (i % 2) printf "%d,%s\n", i, n > "'"$TMP"'/users/a.csv"
        else printf "%s,%d\n", n, i > "'"$TMP"'/users/b.csv"
    } }'
awk 'BEGIN {
    srand(11)
    print "order_id,user_id,amount"
    for (i = 1; i <= 4000; i++)
        printf "%d,%d,%.2f\n", 10000 + i, 1 + int(rand() * 350), int(rand() * 10000) / 100
}' >"$TMP/orders/o.csv"

# The reference, by awk: user_id,name,order_id,amount for every order with a user, the names
# unquoted as a csv reader reads them.
{
    tail -n +2 "$TMP/users/a.csv"
    tail -n +2 "$TMP/users/b.csv" | awk '{ i = $0; sub(/.*,/, "", i); n = $0; sub(/,[^,]*$/, "", n)
                                          print i "," n }'
} | tr -d '"' | sort -t, -k1,1 >"$TMP/users.sorted"
tail -n +2 "$TMP/orders/o.csv" | sort -t, -k2,2 >"$TMP/orders.sorted"
awk -F, 'NR == FNR { id = $1; sub(/^[^,]*,/, ""); name[id] = $0; next }
         ($2 in name) { print $2 "," name[$2] "," $1 "," $3 }' \
    "$TMP/users.sorted" "$TMP/orders.sorted" | sort >"$TMP/ref"
[[ -s $TMP/ref ]] || hard_error "the reference join is empty"
grep -q 'last, first' "$TMP/ref" || hard_error "the reference has no quoted name"

check_join() {
    local out=$1
    check_done "$out"
    cat "$out"/part-r-* | sed 's/\t/,/' | sort >"$out.sorted"
    same "$out.sorted" "$TMP/ref" "$out"
}

case_ranks() {
    local np
    for np in 1 2 3; do
        must_np "$np" broadcast_join --users "$TMP/users" -i "$TMP/orders" -o "$TMP/out-np$np"
        check_join "$TMP/out-np$np"
    done
    must_np 2 broadcast_join --users "$TMP/users/*.csv" -i "$TMP/orders" -o "$TMP/out-glob"
    check_join "$TMP/out-glob"
}

case_bad_users() {
    # Rank 0 fails to load the users; every rank returns its error (sheaf_agree): status 1,
    # the message naming what was wrong, no output.
    local rc=0
    run_np 3 broadcast_join --users "$TMP/nothing.csv" -i "$TMP/orders" -o "$TMP/out-none" ||
        rc=$?
    ((rc == 1)) || fail "a missing users file gave status $rc, not 1"
    grep -q "nothing.csv" "$LAST_LOG" || fail "the error does not name the users file"
    [[ ! -e $TMP/out-none ]] || fail "a failed run left an output"
    printf 'id,name\n1,"open\n' >"$TMP/bad.csv"
    rc=0
    run_np 2 broadcast_join --users "$TMP/bad.csv" -i "$TMP/orders" -o "$TMP/out-bad" || rc=$?
    ((rc == 1)) || fail "a malformed users file gave status $rc, not 1"
    grep -q "bad.csv: malformed csv" "$LAST_LOG" || fail "the error does not say the file is malformed"
}

case_usage() {
    local rc=0
    run_np 1 broadcast_join -i "$TMP/orders" -o "$TMP/out-usage" || rc=$?
    ((rc == 2)) || fail "no --users gave status $rc, not 2"
    run_np 0 broadcast_join --help || fail "--help failed"
    grep -q -- '--users PATH' "$LAST_LOG.out" || fail "--help does not list --users"
}

run_case "1 to 3 ranks, a directory and a glob of users" case_ranks
run_case "a missing or malformed users file fails every rank" case_bad_users
run_case "usage" case_usage
finish
