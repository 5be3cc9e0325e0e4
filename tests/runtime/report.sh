#!/usr/bin/env bash
# The job report: _report.json is valid JSON with the documented fields (config, counters with
# per-rank min/max/mean, one entry per rank with host, cpuset, phases and peak RSS), its
# counters agree with the output, and _report.html opens in headless Chromium and shows one
# timeline row per rank.
source "${top_srcdir:-$(dirname "$0")/../..}/tests/mpi/lib.sh"

command -v jq >/dev/null 2>&1 || { echo "jq is not installed (apt-get install jq)"; exit 77; }
head -n 4000 "$top_srcdir/data/kjv.txt" >"$TMP/in.txt"

case_json() {
    local np=3 out=$TMP/j
    must_np "$np" wordcount -i "$TMP/in.txt" -o "$out" --split-size 32K
    local r=$out/_report.json
    jq -e . "$r" >/dev/null || fail "not valid JSON"
    jq -e '.status == "SUCCEEDED" and .job == "wordcount"' "$r" >/dev/null || fail "status"
    jq -e '.config | has("inputs") and has("memory") and has("reducers") and has("split_size")' \
        "$r" >/dev/null || fail "config fields"
    [[ $(jq '.ranks | length' "$r") -eq $np ]] || fail "not one entry per rank"
    jq -e 'all(.ranks[]; has("host") and has("cpuset") and .peak_rss_bytes > 0
            and (.phases | has("map") and has("reduce")))' "$r" >/dev/null ||
        fail "rank fields"
    jq -e '.counters.input_records | has("total") and has("min") and has("max") and has("mean")' \
        "$r" >/dev/null || fail "counter statistics"
    # The counters agree with the files.
    [[ $(jq '.counters.input_records.total' "$r") -eq $(wc -l <"$TMP/in.txt") ]] ||
        fail "input_records differs from the line count"
    [[ $(jq '.counters.output_records.total' "$r") -eq $(cat "$out"/part-r-* | wc -l) ]] ||
        fail "output_records differs from the output"
    [[ $(jq '.counters.input_bytes.total' "$r") -eq $(jq '[.ranks[].input_bytes] | add' "$r") ]] ||
        fail "per-rank input bytes do not add up"
    jq -e '.imbalance.input_bytes_max_over_mean >= 1' "$r" >/dev/null || fail "imbalance"
}

case_html() {
    local browser
    browser=$(command -v chromium || command -v chromium-browser || true)
    [[ -n $browser ]] || { echo "chromium is not installed: HTML not rendered"; return 1; }
    local out=$TMP/j html
    [[ -f $out/_report.html ]] || fail "no _report.html"
    grep -q '<svg id="timeline"' "$out/_report.html" || fail "no timeline"
    html=$(timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --user-data-dir="$TMP/chromium" --dump-dom \
        "file://$out/_report.html" 2>/dev/null) || fail "chromium could not open the report"
    [[ $(grep -o '<g class="rank[ "]' <<<"$html" | wc -l) -eq 3 ]] ||
        fail "the rendered timeline does not have one row per rank"
    grep -q 'SUCCEEDED' <<<"$html" || fail "the rendered page does not show the status"
}

case_failed_report() {
    local rc=0
    SHEAF_FAULT=reduce:1 run_np 2 wordcount -i "$TMP/in.txt" -o "$TMP/f" --report "$TMP/f.json" ||
        rc=$?
    [[ $rc -eq 1 ]] || fail "exit $rc"
    jq -e '.status == "FAILED" and (.error | test("rank 1"))' "$TMP/f.json" >/dev/null ||
        fail "the --report copy of a failed job does not say it failed and where"
}

case_progress_and_quiet() {
    must_np 2 wordcount -i "$TMP/in.txt" -o "$TMP/p1" --progress
    grep -q '^map     \[#*' <(tr '\r' '\n' <"$LAST_LOG") || fail "--progress drew no map bar"
    grep -q 'job succeeded' "$LAST_LOG" || fail "no summary"
    grep -q '^  Reduce$' "$LAST_LOG" || fail "no Reduce group in the summary"
    # a map-only job (convert) has no shuffle or reduce to show: the records it wrote instead
    seq 1 5000 | awk 'BEGIN { print "n" } { print }' >"$TMP/n.csv"
    must_np 2 convert -i "$TMP/n.csv" --input-format csv --csv-header --schema n:int64 \
        --split-size 4K -o "$TMP/pc" --progress
    tr '\r' '\n' <"$LAST_LOG" >"$TMP/pc.log"
    grep -q '^output  2/2 ranks done: 5000 records written' "$TMP/pc.log" ||
        fail "map only: no output line: $(cat "$TMP/pc.log")"
    if grep -q -E '^(shuffle|reduce) ' "$TMP/pc.log"; then
        fail "map only: a shuffle or reduce line"
    fi
    # and its summary lists the records it wrote under Output, not Reduce
    grep -A1 '^  Output$' "$TMP/pc.log" | grep -q '^    output records  *5000$' ||
        fail "map only: no Output group in the summary: $(cat "$TMP/pc.log")"
    if grep -q '^  Reduce$' "$TMP/pc.log"; then
        fail "map only: a Reduce group in the summary"
    fi
    must_np 2 wordcount -i "$TMP/in.txt" -o "$TMP/p2"
    ! grep -q 'map     \[' "$LAST_LOG" || fail "a bar was drawn without a terminal"
    must_np 2 wordcount -i "$TMP/in.txt" -o "$TMP/p3" --quiet
    [[ ! -s $LAST_LOG ]] || { cat "$LAST_LOG" >&2; fail "--quiet printed something"; }
    if command -v script >/dev/null 2>&1; then
        # On a terminal the bar is on by default, and --no-progress turns it off.
        script -qec "$SHEAF wordcount -i $TMP/in.txt -o $TMP/p4" /dev/null >"$TMP/tty.log" 2>&1
        grep -q 'map     \[' "$TMP/tty.log" || fail "no bar on a terminal"
        script -qec "$SHEAF wordcount -i $TMP/in.txt -o $TMP/p5 --no-progress" /dev/null \
            >"$TMP/tty2.log" 2>&1
        ! grep -q 'map     \[' "$TMP/tty2.log" || fail "--no-progress drew a bar"
    fi
}

# Under mpirun on a terminal (a pty made by script), with no --progress: rank 0 sees that the
# launcher's stderr is a terminal and draws the map bar (its first frame without a rate or
# ETA, later ones with them), the shuffle line and the reduce line over all ranks; the same
# job with mpirun's stderr sent to a file, or through a pipe, draws nothing there.
case_progress_mpirun() {
    command -v script >/dev/null 2>&1 || { echo "no script(1): skipped"; return 0; }
    seq -f 'w%.0f' 1 200000 >"$TMP/d.txt"
    local frames
    timeout 120 script -qec "$MPIRUN -np 3 $SHEAF wordcount -i $TMP/d.txt -o $TMP/pm1 \
        --split-size 16K" /dev/null >"$TMP/pm1.log" 2>&1
    tr '\r' '\n' <"$TMP/pm1.log" >"$TMP/pm1.frames"
    frames=$(grep -c '^map     \[' "$TMP/pm1.frames")
    [[ $frames -ge 2 ]] || { cat "$TMP/pm1.frames" >&2; fail "$frames map frames under mpirun"; }
    [[ $(grep -m1 '^map     \[' "$TMP/pm1.frames") == *"-- B/s  ETA --"* ]] ||
        fail "the first frame claims a rate"
    local tasks
    tasks=$(jq .input.tasks "$TMP/pm1/_report.json")
    grep -q "^map     \[#\{30\}\] 100%  $tasks/$tasks tasks .* [0-9.]* [KM]iB/s  [0-9.]* s" \
        "$TMP/pm1.frames" || fail "no full map bar of the report's $tasks tasks with its rate"
    grep -q '^shuffle [0-9]* rounds\?, .* exchanged by 3 ranks$' "$TMP/pm1.frames" ||
        fail "no shuffle line"
    grep -q "^reduce  3/3 sorted .*, 3/3 done: 200000 groups, 200000 records in, 200000 out" \
        "$TMP/pm1.frames" || fail "the reduce line does not count all ranks' groups"
    timeout 120 script -qec "$MPIRUN -np 2 $SHEAF wordcount -i $TMP/d.txt -o $TMP/pm2 \
        2>$TMP/pm2.err" /dev/null >"$TMP/pm2.log" 2>&1
    grep -q 'job succeeded' "$TMP/pm2.err" || fail "no summary in the file"
    if grep -q 'map     \[' "$TMP/pm2.err" "$TMP/pm2.log"; then fail "a bar drawn into a file"; fi
    timeout 120 script -qec "$MPIRUN -np 2 $SHEAF wordcount -i $TMP/d.txt -o $TMP/pm3 2>&1 |
        cat >$TMP/pm3.err" /dev/null >"$TMP/pm3.log" 2>&1
    grep -q 'job succeeded' "$TMP/pm3.err" || fail "no summary through the pipe"
    if grep -q 'map     \[' "$TMP/pm3.err"; then fail "a bar drawn into a pipe"; fi
}

run_case json-fields case_json
run_case progress-under-mpirun case_progress_mpirun
run_case progress-and-quiet case_progress_and_quiet
run_case html-renders case_html
run_case failed-job-report case_failed_report
finish
