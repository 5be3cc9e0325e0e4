#!/usr/bin/env bash
# sheaf wordcount on the shipped sample (data/kjv.txt) at 1 to 4 ranks, with --lower, --alnum
# and a chosen number of reducers, against a coreutils reference.
# Cases are functions that run_case calls.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/mpi/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kjv=$top_srcdir/data/kjv.txt
[[ -f $kjv ]] || { echo "error: $kjv is missing" >&2; exit 99; }

case_plain() {
    ref_wc "$kjv" >"$TMP/ref"
    wc_ranks "1 2 3 4" "$TMP/ref" plain -i "$kjv"
}

case_lower() {
    ref_wc --lower "$kjv" >"$TMP/ref-lower"
    wc_ranks "2" "$TMP/ref-lower" lower -i "$kjv" --lower
}

case_alnum() {
    ref_wc --alnum "$kjv" >"$TMP/ref-alnum"
    wc_ranks "3" "$TMP/ref-alnum" alnum -i "$kjv" --alnum
}

case_lower_alnum() {
    ref_wc --lower --alnum "$kjv" >"$TMP/ref-la"
    wc_ranks "1 4" "$TMP/ref-la" lower-alnum -i "$kjv" --alnum --lower
    # Folding case merges words: fewer distinct words than without --lower.
    ref_wc --alnum "$kjv" >"$TMP/ref-la-cased"
    (($(wc -l <"$TMP/ref-la") < $(wc -l <"$TMP/ref-la-cased"))) || fail "--lower merged nothing"
}

# --reducers N gives exactly the files part-r-00000 .. part-r-(N-1).
case_reducers() {
    local n np out i
    ref_wc "$kjv" >"$TMP/ref"
    for n in 1 7; do
        for np in 2 3; do
            out=$TMP/reducers-$n-np$np
            must_np "$np" wordcount -i "$kjv" -o "$out" --reducers "$n"
            compare_wc "$out" "$TMP/ref"
            local -a parts=("$out"/part-r-*)
            ((${#parts[@]} == n)) || fail "--reducers $n gave ${#parts[@]} part files"
            for ((i = 0; i < n; i++)); do
                [[ -f $(printf '%s/part-r-%05d' "$out" "$i") ]] || fail "part $i is missing"
            done
        done
    done
    # With 7 reducers the words are spread: no part file holds them all.
    local total biggest
    total=$(wc -l <"$TMP/ref")
    biggest=$(wc -l "$TMP/reducers-7-np3"/part-r-* | grep -v ' total$' | sort -n | tail -n 1 |
        awk '{ print $1 }')
    ((biggest < total)) || fail "one partition holds every word"
}

# A memory budget far below the data: the job spills sorted runs and merges them.
case_small_memory() {
    ref_wc "$kjv" >"$TMP/ref"
    wc_ranks "1 3" "$TMP/ref" memory -i "$kjv" --memory 1M --split-size 512K
    if command -v jq >/dev/null 2>&1; then
        local runs
        runs=$(jq -r '.counters.spill_runs.total // empty' "$TMP/memory-np3/_report.json")
        [[ -z $runs ]] || ((runs > 0)) || fail "--memory 1M spilled no run"
    fi
}

# Many splits, handed out statically and dynamically.
case_schedule() {
    ref_wc "$kjv" >"$TMP/ref"
    wc_ranks "3" "$TMP/ref" static -i "$kjv" --split-size 100K --schedule static
    wc_ranks "4" "$TMP/ref" dynamic -i "$kjv" --split-size 100K --schedule dynamic
}

run_case "kjv.txt at 1-4 ranks" case_plain
run_case "kjv.txt --lower" case_lower
run_case "kjv.txt --alnum" case_alnum
run_case "kjv.txt --lower --alnum" case_lower_alnum
run_case "--reducers 1 and 7" case_reducers
run_case "--memory 1M (spills)" case_small_memory
run_case "--schedule static and dynamic" case_schedule
finish
