#!/usr/bin/env bash
# What a person reads on stderr: the end-of-job summary shows each counter with the meaning
# _report.json gives it (shuffle rounds are the job's rounds, which every rank took part in;
# spill runs and merge passes are summed over the ranks), the bad records skipped, the user
# counters and the warnings (a map that ran on fewer ranks than the job had); --log-level info
# and debug log the plan, each rank's splits, the rounds, the spills and the commit, a bounded
# number of lines whatever the number of records.
# shellcheck disable=SC2317  # the cases are called through run_case
source "${top_srcdir:-$(dirname "$0")/../..}/tests/mpi/lib.sh"

command -v jq >/dev/null 2>&1 || { echo "jq is not installed (apt-get install jq)"; exit 77; }
head -n 5000 "$top_srcdir/data/kjv.txt" >"$TMP/in.txt"
# 200,000 distinct words: at --memory 1M, several shuffle rounds and spilled runs a rank.
seq -f 'w%.0f' 1 200000 >"$TMP/distinct.txt"

# figure LABEL: the number on the summary line "    LABEL   N" of the last run.
figure() {
    sed -n "s/^    $1  *\([0-9-][0-9]*\)\$/\1/p" "$LAST_LOG"
}

case_counters_agree() {
    local np=3 r=$TMP/agree/_report.json
    must_np "$np" wordcount -i "$TMP/distinct.txt" -o "$TMP/agree" --memory 1M --split-size 128K
    # Several rounds and spills, so a per-rank count summed would show.
    [[ $(jq .counters.shuffle_rounds.max "$r") -gt 1 ]] || fail "one round only: no test"
    [[ $(jq .counters.spill_runs.total "$r") -gt 0 ]] || fail "no spill: no test"
    local rounds
    rounds=$(jq .counters.shuffle_rounds.total "$r")
    [[ $(figure rounds) -eq $rounds ]] || fail "rounds: summary $(figure rounds), JSON $rounds"
    # The job's rounds: every rank took part in each of them.
    [[ $rounds -eq $(jq '[.ranks[].counters.shuffle_rounds] | max' "$r") ]] ||
        fail "shuffle_rounds total is not the job's count of rounds"
    jq -e '[.ranks[].counters.shuffle_rounds] | unique | length == 1' "$r" >/dev/null ||
        fail "the ranks do not agree on the number of rounds"
    # Summed over the ranks.
    [[ $(figure runs) -eq $(jq '[.ranks[].counters.spill_runs] | add' "$r") ]] ||
        fail "spill runs: summary $(figure runs) is not the ranks' sum"
    [[ $(figure runs) -eq $(jq .counters.spill_runs.total "$r") ]] || fail "spill runs differ"
    [[ $(figure "merge passes") -eq $(jq '[.ranks[].counters.merge_passes] | add' "$r") ]] ||
        fail "merge passes: summary $(figure "merge passes") is not the ranks' sum"
    [[ $(figure "merge passes") -eq $(jq .counters.merge_passes.total "$r") ]] ||
        fail "merge passes differ"
    [[ $(figure "input records") -eq 200000 ]] || fail "input records"
    [[ $(figure "input groups") -eq $(cat "$TMP/agree"/part-r-* | wc -l) ]] || fail "groups"
    if grep -q 'Warning:' "$LAST_LOG"; then fail "a warning for a job that used every rank"; fi
}

case_bad_records_user_counters_warning() {
    # Lines without a second column count as "records without the column" (a user counter of
    # distinct); a line with an unterminated quote is a bad record, skipped.
    printf 'a,1\nb\nc,2\nd\ne,1\nf\n"g,3\n' >"$TMP/t.csv"
    local bad missing
    bad=$(awk -F'"' 'NF % 2 == 0' "$TMP/t.csv" | wc -l)
    missing=$(grep -v '"' "$TMP/t.csv" | awk -F, 'NF < 2' | wc -l)
    must_np 3 distinct -i "$TMP/t.csv" --input-format csv --column 1 --max-bad-records 5 \
        -o "$TMP/bad"
    [[ $(figure "bad records skipped") -eq $bad ]] ||
        fail "bad records: $(figure "bad records skipped"), expected $bad"
    grep -q '^  User counters$' "$LAST_LOG" || fail "no user counters in the summary"
    [[ $(figure "records without the column") -eq $missing ]] ||
        fail "user counter: $(figure "records without the column"), expected $missing"
    [[ $(jq '.user_counters["records without the column"]' "$TMP/bad/_report.json") -eq \
        $missing ]] || fail "the JSON's user counter differs"
    # One small file is one task: the map ran on 1 of the 3 ranks.
    grep -q '^  Warning: the map ran on 1 of 3 ranks' "$LAST_LOG" ||
        fail "no warning of idle ranks"
    grep -q "^  Warning: $bad bad record" "$LAST_LOG" || fail "no warning of the bad records"
    jq -e '.warnings | length == 2' "$TMP/bad/_report.json" >/dev/null ||
        fail "the report's warnings differ from the summary's"
}

case_log_levels() {
    local r=$TMP/info/_report.json splits
    must_np 2 wordcount -i "$TMP/in.txt" -o "$TMP/quiet-log" --memory 1M --split-size 32K
    if grep -q ': info: \|: debug: ' "$LAST_LOG"; then fail "info lines at the default level"; fi
    must_np 2 wordcount -i "$TMP/in.txt" -o "$TMP/info" --memory 1M --split-size 32K \
        --log-level info
    splits=$(jq .input.splits "$r")
    grep -q "rank 0: info: plan: 1 files, $(stat -c %s "$TMP/in.txt") bytes, $splits splits" \
        "$LAST_LOG" || fail "no plan line with the report's $splits splits"
    # Each rank says how many splits it mapped; together, all of them.
    [[ $(sed -n 's/.*: info: map: \([0-9]*\) splits.*/\1/p' "$LAST_LOG" |
        awk '{ n += $1 } END { print n + 0 }') -eq $splits ]] ||
        fail "the ranks' map lines do not add up to $splits splits"
    [[ $(grep -c ': info: spilled a sorted run' "$LAST_LOG") -ge \
        $(jq .counters.spill_runs.total "$r") ]] ||
        fail "fewer spill lines than spilled runs"
    grep -q 'rank 0: info: commit: 2 parts' "$LAST_LOG" || fail "no commit line"
    if grep -q ': debug: ' "$LAST_LOG"; then fail "debug lines at the info level"; fi
    # A bounded number of lines: nothing per record.
    [[ $(grep -c ': info: ' "$LAST_LOG") -lt 60 ]] || fail "too many info lines"
    must_np 2 wordcount -i "$TMP/in.txt" -o "$TMP/debug" --memory 1M --split-size 32K \
        --log-level debug
    r=$TMP/debug/_report.json
    [[ $(grep -c 'rank 1: debug: shuffle round' "$LAST_LOG") -eq \
        $(jq .counters.shuffle_rounds.total "$r") ]] || fail "not one debug line per shuffle round"
    [[ $(grep -c 'rank 0: debug: split [0-9]*: ' "$LAST_LOG") -eq $(jq .input.splits "$r") ]] ||
        fail "not one debug line per split"
}

run_case counters-agree case_counters_agree
run_case bad-records-user-counters-warning case_bad_records_user_counters_warning
run_case log-levels case_log_levels
finish
