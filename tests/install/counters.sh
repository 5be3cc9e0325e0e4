#!/usr/bin/env bash
# examples/counters.c (user counters, built-in i64 sum) built against the installed Sheaf, run
# on 1 to 3 ranks; the sums must equal awk's, and the counters in OUT/_report.json must equal
# the numbers of good and malformed lines.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/install/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_sheaf
build_example counters

# "key,amount" lines over three files, with malformed lines of every kind the program skips.
mkdir -p "$TMP/in"
awk 'BEGIN {
    srand(5)
    for (f = 0; f < 3; f++) {
        out = "'"$TMP"'/in/sales-" f ".csv"
        for (i = 0; i < 3000; i++) printf "key%d,%d\n", int(rand() * 80), int(rand() * 2001) - 1000 > out
        close(out)
    }
}'
printf 'no comma here\n,5\nkey1,\nkey1,12x\nkey1,1,2\nkey2,99999999999999999999\nkey3,+7\nkey3,-0\n\n' \
    >"$TMP/in/odd.csv"

# The reference, with the program's rules: a key, a comma, and an integer (the one of 20
# digits in this data overflows int64, so it is malformed too).
cat "$TMP"/in/*.csv | awk -F, -v ref="$TMP/ref" -v counts="$TMP/counts" '
    /^[^,]+,[-+]?[0-9]+$/ && length($2) <= 19 { sum[$1] += $2; good++; next }
    { bad++ }
    END {
        for (k in sum) printf "%s\t%d\n", k, sum[k] >ref
        printf "%d %d\n", good, bad >counts
    }'
sort -o "$TMP/ref" "$TMP/ref"
read -r GOOD BAD <"$TMP/counts"

check_counters() {
    local out=$1 report=$1/_report.json
    check_done "$out"
    cat "$out"/part-r-* | sort >"$out.sorted"
    same "$out.sorted" "$TMP/ref" "$out"
    [[ $(user_counter "$report" good_lines) == "$GOOD" ]] ||
        fail "good_lines is $(user_counter "$report" good_lines), not $GOOD"
    [[ $(user_counter "$report" malformed_lines) == "$BAD" ]] ||
        fail "malformed_lines is $(user_counter "$report" malformed_lines), not $BAD"
}

case_ranks() {
    local np
    for np in 1 2 3; do
        must_np "$np" counters -i "$TMP/in" -o "$TMP/out-np$np" --split-size 16K
        check_counters "$TMP/out-np$np"
    done
}

case_report_copy() {
    # --report writes a second copy of the report, with the same counters.
    must_np 2 counters -i "$TMP/in" -o "$TMP/out-copy" --report "$TMP/copy.json"
    check_counters "$TMP/out-copy"
    [[ $(user_counter "$TMP/copy.json" malformed_lines) == "$BAD" ]] ||
        fail "the --report copy has other counters"
}

run_case "1 to 3 ranks" case_ranks
run_case "report copy" case_report_copy
finish
