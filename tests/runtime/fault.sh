#!/usr/bin/env bash
# Agreed failure: SHEAF_FAULT=phase:rank[:after-N] fails one rank in each phase; every time the
# job exits 1 with one message naming the rank, leaves no _SUCCESS, keeps an earlier output
# complete, leaves no spill or staging files, and the next run with --overwrite succeeds; its
# report (OUT.failed-report-*/_report.json and _report.html) names the failing rank, and the
# output keeps the report of the job that made it.
source "${top_srcdir:-$(dirname "$0")/../..}/tests/mpi/lib.sh"

command -v jq >/dev/null 2>&1 || { echo "jq is not installed (apt-get install jq)"; exit 77; }

head -n 5000 "$top_srcdir/data/kjv.txt" >"$TMP/in.txt"
ref_wc "$TMP/in.txt" >"$TMP/ref"
mkdir -p "$TMP/spill"
must_np 2 wordcount -i "$TMP/in.txt" -o "$TMP/out" --split-size 64K
compare_wc "$TMP/out" "$TMP/ref"
(cd "$TMP/out" && md5sum part-r-* _SUCCESS) >"$TMP/before.md5"

# fails_as_injected SPEC NP JOB-ARGS...: the job, run with SHEAF_FAULT=SPEC, exits 1 naming
# the spec's rank.
fails_as_injected() {
    local spec=$1 np=$2 rc=0 rank=${1#*:}
    rank=${rank%%:*}
    shift 2
    SHEAF_FAULT=$spec run_np "$np" "$@" || rc=$?
    [[ $rc -eq 1 ]] || { cat "$LAST_LOG" >&2; fail "$spec: exit status $rc, expected 1"; }
    grep -q "error: rank $rank: injected fault" "$LAST_LOG" ||
        { cat "$LAST_LOG" >&2; fail "$spec: the message does not name rank $rank"; }
}

# failed_report_of OUT SPEC: checks the one report of a failed job beside OUT (then moves it
# away, so the next failure's is the only one): status FAILED, the failing rank of SPEC in
# failed_rank and the error, and the HTML page says so at its top.
failed_report_of() {
    local out=$1 spec=$2 rank=${2#*:} dirs r
    rank=${rank%%:*}
    mapfile -t dirs < <(find "$(dirname "$out")" -maxdepth 1 \
        -name "$(basename "$out").failed-report-*")
    [[ ${#dirs[@]} -eq 1 ]] || fail "$spec: ${#dirs[@]} failed-job reports, expected 1"
    r=${dirs[0]}/_report.json
    [[ $(stat -c %a "${dirs[0]}") == 700 ]] || fail "$spec: the report directory is not private"
    [[ $(jq -r .status "$r") == FAILED ]] || fail "$spec: status $(jq -r .status "$r")"
    [[ $(jq .failed_rank "$r") -eq $rank ]] || fail "$spec: failed_rank $(jq .failed_rank "$r")"
    [[ $(jq -r .error "$r") == "rank $rank: injected fault"* ]] ||
        fail "$spec: error $(jq .error "$r")"
    [[ $(jq -r ".ranks[$rank].status" "$r") == FAILED ]] || fail "$spec: rank $rank not FAILED"
    [[ $(jq '[.ranks[] | select(.status == "FAILED")] | length' "$r") -eq 1 ]] ||
        fail "$spec: more than one rank marked as the failing one"
    # The timeline runs up to the failure: the failing rank's phase started no later than it.
    [[ $(jq -r .failed_phase "$r") =~ ^(setup|map|shuffle|sort|reduce|commit)$ ]] ||
        fail "$spec: failed_phase $(jq .failed_phase "$r")"
    jq -e ".ranks[$rank].phases[.failed_phase].start <= .failed_at_seconds" "$r" >/dev/null ||
        fail "$spec: the failing phase is not in the timeline before the failure"
    grep -q "<div id=\"failure\".*rank $rank" "${dirs[0]}/_report.html" ||
        fail "$spec: the HTML report does not name rank $rank at its top"
    grep -q "report of the failed job: ${dirs[0]}/_report.json" "$LAST_LOG" ||
        fail "$spec: the job did not say where its report is"
    mv "${dirs[0]}" "$TMP/seen-$RANDOM$RANDOM"
}

inject() { # inject NP SPEC: the job fails as it should
    local np=$1 spec=$2
    fails_as_injected "$spec" "$np" wordcount -i "$TMP/in.txt" -o "$TMP/out" --overwrite \
        --memory 1M --split-size 64K --spill-dir "$TMP/spill"
    [[ $(grep -c 'error:' "$LAST_LOG") -eq 1 ]] || fail "$spec: more than one error line"
    (cd "$TMP/out" && md5sum -c --quiet "$TMP/before.md5") || fail "$spec: earlier output damaged"
    [[ -z $(ls -A "$TMP/spill") ]] || fail "$spec: spill files left: $(ls -A "$TMP/spill")"
    [[ -z $(find "$TMP" -maxdepth 1 -name '.out.sheaf-*') ]] || fail "$spec: staging left"
    [[ $(jq -r .status "$TMP/out/_report.json") == SUCCEEDED ]] ||
        fail "$spec: the output's report is not the one of the job that made it"
    failed_report_of "$TMP/out" "$spec"
}

case_each_phase() {
    inject 2 map:1:100
    inject 3 map:2
    inject 2 shuffle:0
    inject 3 sort:1
    inject 2 reduce:1
    inject 3 commit:0
    inject 1 setup:0
    # A rank with no task at all (one split, three ranks, static schedule: it goes to rank 0)
    # still fails in its map phase.
    head -n 3 "$TMP/in.txt" >"$TMP/small.txt"
    fails_as_injected map:2 3 wordcount -i "$TMP/small.txt" -o "$TMP/one" --schedule static
    [[ ! -e $TMP/one ]] || fail "map:2 with no task: the failed job left its output"
    failed_report_of "$TMP/one" map:2
}

# A shuffle-heavy job at the default budget: by the time the fault hits, 5 MB of records have
# been buffered, so ranks have said they are ready for a round (an MPI_Ibarrier each) and
# rounds may have run; the failing rank stops mapping and joins the rounds, which stop every
# rank. --schedule static gives every rank a third, half or quarter of the 300,000 records,
# so the fault always hits.
case_fault_between_rounds() {
    local spec
    must_np 2 gensort 300000 "$TMP/gen"
    for spec in map:1:50000 map:0:50000 map:2:50000; do
        fails_as_injected "$spec" "$((${spec:4:1} + 2))" sort -i "$TMP/gen" \
            --input-format fixed:100 --schedule static -o "$TMP/rounds"
        [[ ! -e $TMP/rounds ]] || fail "$spec: a failed job left its output directory"
    done
    must_np 2 sort -i "$TMP/gen" --input-format fixed:100 -o "$TMP/rounds"
    run_np 1 valsort "$TMP/rounds" || fail "the sort after the faults: $(tail -n 3 "$LAST_LOG")"
}

case_rerun_succeeds() {
    must_np 2 wordcount -i "$TMP/in.txt" -o "$TMP/out" --overwrite --memory 1M
    compare_wc "$TMP/out" "$TMP/ref"
}

case_new_output_removed() {
    local rc=0
    SHEAF_FAULT=reduce:0 run_np 2 wordcount -i "$TMP/in.txt" -o "$TMP/fresh" || rc=$?
    [[ $rc -eq 1 ]] || fail "exit status $rc"
    [[ ! -e $TMP/fresh ]] || fail "a failed job left a new output directory behind"
    failed_report_of "$TMP/fresh" reduce:0
}

case_kill_rank() {
    # A rank killed outright (kill -9) in the middle of the map: mpirun fails the job, the earlier
    # output stays complete, the killed rank's guard removes its stream working directory, and
    # the next run cleans the spill files the killed one left and succeeds. The job runs in a
    # session of its own (its id is mpirun's pid), so the test finds and ends only the
    # processes it started.
    local rc=0 pid="" i p
    setsid "$MPIRUN" -np 3 --oversubscribe "$SHEAF" stream --mapper 'sleep 30; cat' \
        -i "$TMP/in.txt" -o "$TMP/out" --overwrite --split-size 16K --spill-dir "$TMP/spill" \
        >"$TMP/kill.log" 2>&1 &
    local job=$!
    for i in $(seq 100); do
        # A rank (its command line starts with the sheaf binary, in the job's session), not
        # mpirun, nor a rank's janitor (its own session, named sheaf-janitor) or
        # guard (named sheaf-guard).
        pid=$(pgrep -s "$job" -f "^$SHEAF stream --mapper sleep 30" | while read -r p; do
            if [[ $(cat "/proc/$p/comm" 2>/dev/null) == sheaf ]]; then echo "$p"; fi
        done | tail -n 1 || true)
        [[ -n $pid && -n $(ls -A "$TMP/spill" 2>/dev/null) ]] && break
        sleep 0.2
    done
    [[ -n $pid ]] || fail "no rank process to kill"
    [[ $(ps -o sid= -p "$pid" | tr -d ' ') == "$job" ]] || fail "the rank is not in the job's session"
    sleep 1
    kill -9 "$pid"
    wait "$job" || rc=$?
    # The killed rank's guard removes its stream working directory (reliability.md);
    # the sweep below would end the guard too.
    for i in $(seq 50); do
        [[ -z $(find "$TMP/spill" -maxdepth 1 -name 'sheaf-stream-*') ]] && break
        sleep 0.1
    done
    # What mpirun left of the job (the mappers' sleeps), by pid.
    for p in $(pgrep -s "$job" || true); do
        kill -KILL "$p" 2>/dev/null || true
    done
    for i in $(seq 50); do # mpirun tears the other ranks down after it returns
        pgrep -s "$job" >/dev/null || break
        sleep 0.2
    done
    [[ $rc -ne 0 ]] || fail "the job succeeded with a rank killed"
    [[ -z $(find "$TMP/spill" -maxdepth 1 -name 'sheaf-stream-*') ]] ||
        fail "the killed rank's stream working directory was left"
    (cd "$TMP/out" && md5sum -c --quiet "$TMP/before.md5") || fail "earlier output damaged"
    must_np 2 wordcount -i "$TMP/in.txt" -o "$TMP/out" --overwrite --spill-dir "$TMP/spill" \
        --memory 1M
    compare_wc "$TMP/out" "$TMP/ref"
    [[ -z $(ls -A "$TMP/spill") ]] || fail "the killed job's spill files were not cleaned"
    [[ -z $(find "$TMP" -maxdepth 1 -name '.out.sheaf-*') ]] || fail "staging left"
}

run_case fault-in-each-phase case_each_phase
run_case fault-between-rounds case_fault_between_rounds
run_case kill-9-a-rank case_kill_rank
run_case rerun-succeeds case_rerun_succeeds
run_case new-output-removed case_new_output_removed
finish
