#!/usr/bin/env bash
# examples/secondary_sort.c (composite key, partition/compare/group callbacks) built against
# the installed Sheaf, run on 1 to 3 ranks; every user's events must come out together, in
# one part file, in time order, exactly as `sort -k1,1 -k2,2n` orders them.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/install/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_sheaf
build_example secondary_sort

# Events of 60 users, in random order. Names that are prefixes of others (bob, bobby) and
# timestamps of different lengths (so text order is not time order); no user has two events
# at one time.
mkdir -p "$TMP/in"
awk 'BEGIN {
    srand(7)
    split("bob bobby b alice al zed", special, " ")
    for (i = 0; i < 40000; i++) {
        u = i % 10 == 0 ? special[1 + int(rand() * 6)] : "user" int(rand() * 54)
        printf "%s\t%d\tevent-%d\n", u, int(rand() * (rand() < 0.5 ? 1000 : 10000000)), i
    }
}' | sort -u -t "$TAB" -k1,2 | shuf --random-source=<(yes) >"$TMP/events.tsv"
split -n l/3 "$TMP/events.tsv" "$TMP/in/events-"
REF=$TMP/ref
sort -t "$TAB" -k1,1 -k2,2n "$TMP/events.tsv" >"$REF"

# check_timeline OUT: sorting OUT's lines by user alone (a stable sort, so each user's lines
# keep their order) gives the reference; and each user is in one part file, in one run.
check_timeline() {
    local out=$1
    check_done "$out"
    cat "$out"/part-r-* | sort -s -t "$TAB" -k1,1 >"$out.byuser"
    same "$out.byuser" "$REF" "$out"
    awk -F '\t' '
        FNR == 1 { prev = "" }
        $1 != prev { if ($1 in seen) { print "user " $1 " is split (" FILENAME ")"; bad = 1 }
                     seen[$1] = 1; prev = $1 }
        END { exit bad }' "$out"/part-r-* >&2 || fail "$out: a user's events are not together"
}

case_ranks() {
    local np
    for np in 1 2 3; do
        must_np "$np" secondary_sort -i "$TMP/in" -o "$TMP/out-np$np"
        check_timeline "$TMP/out-np$np"
    done
}

case_spill() {
    # Small splits and more partitions than ranks; a small memory budget so runs are
    # spilled and merged with the user comparator.
    must_np 3 secondary_sort -i "$TMP/in" -o "$TMP/out-spill" --reducers 5 --split-size 8K \
        --memory 1M
    check_timeline "$TMP/out-spill"
    local runs
    runs=$(tr -d ' \n' <"$TMP/out-spill/_report.json" |
        grep -o '"spill_runs":{"total":[0-9]*' | grep -o '[0-9]*$')
    echo "# spilled runs: ${runs:-?}"
}

case_bad_line() {
    local rc=0
    printf 'carol\tsoon\tlogin\n' >"$TMP/bad.tsv"
    run_np 2 secondary_sort -i "$TMP/in" -i "$TMP/bad.tsv" -o "$TMP/out-bad" || rc=$?
    ((rc == 1)) || fail "a malformed line gave status $rc, not 1"
    grep -q 'bad.tsv' "$LAST_LOG" || fail "the error does not name the file"
    [[ ! -e $TMP/out-bad ]] || fail "a failed job left $TMP/out-bad"
}

run_case "1 to 3 ranks" case_ranks
run_case "spills, 5 reducers" case_spill
run_case "a malformed line fails the job" case_bad_line
finish
