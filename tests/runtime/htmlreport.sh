#!/usr/bin/env bash
# The HTML report as a person sees it, rendered by headless Chromium: the straggler (the rank
# whose map ran longest, by the JSON's per-rank map_seconds) is marked in the timeline and the
# ranks table; the rank-by-rank shuffle matrix holds what each rank sent (its rows add up to
# each rank's shuffle_bytes_sent); counters carry thousands separators; the configuration shows
# the command line; a failed job's page starts with the failing rank and its message.
# Screenshots of both pages are taken (SHEAF_SCREENSHOTS=DIR keeps them there).
# shellcheck disable=SC2317  # the cases are called through run_case
source "${top_srcdir:-$(dirname "$0")/../..}/tests/mpi/lib.sh"

command -v jq >/dev/null 2>&1 || { echo "jq is not installed (apt-get install jq)"; exit 77; }
BROWSER=$(command -v chromium || command -v chromium-browser || true)
[[ -n $BROWSER ]] || { echo "chromium is not installed (apt-get install chromium)"; exit 77; }
seq -f 'w%.0f' 1 200000 >"$TMP/d.txt"

# chrome ARG... URL: headless Chromium with a private profile, bounded in time.
chrome() {
    timeout 90 "$BROWSER" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$TMP/chromium" "$@" 2>/dev/null
}

# shot PAGE NAME: a screenshot of PAGE, a PNG of the given size, kept in $SHEAF_SCREENSHOTS.
shot() {
    local png=$TMP/$2.png
    (cd "$TMP" && chrome --window-size=1000,700 --screenshot="$png" "file://$1") ||
        fail "chromium took no screenshot of $1"
    [[ $(head -c 8 "$png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] ||
        fail "$png is not a PNG"
    if [[ -n ${SHEAF_SCREENSHOTS:-} ]]; then cp "$png" "$SHEAF_SCREENSHOTS/$2.png"; fi
}

case_success_page() {
    local out=$TMP/ok r html slow row sent
    must_np 3 wordcount -i "$TMP/d.txt" -o "$out" --memory 1M --split-size 64K
    r=$out/_report.json
    html=$(chrome --dump-dom "file://$out/_report.html") || fail "chromium could not open it"
    # The straggler: the rank with the largest map_seconds.
    slow=$(jq '.ranks | max_by(.map_seconds) | .rank' "$r")
    [[ $(jq .straggler.rank "$r") -eq $slow ]] || fail "the JSON's straggler is not rank $slow"
    [[ $(grep -o '<g class="rank straggler" data-rank="[0-9]*"' <<<"$html") == \
        "<g class=\"rank straggler\" data-rank=\"$slow\"" ]] ||
        fail "the timeline does not mark rank $slow (only) as the straggler"
    grep -q "<p id=\"straggler\">Straggler: <strong>rank $slow</strong>" <<<"$html" ||
        fail "no straggler line naming rank $slow"
    # The matrix: 3 x 3 cells; row r adds up to rank r's shuffle_bytes_sent.
    [[ $(grep -o '<td data-bytes="[0-9]*"' <<<"$html" | wc -l) -eq 9 ]] ||
        fail "the shuffle matrix does not have 9 cells"
    for row in 0 1 2; do
        sent=$(sed -n '/id="shuffle-matrix"/,/<\/table>/p' <<<"$html" |
            grep "<tr><th>rank $row</th>" | grep -o 'data-bytes="[0-9]*"' |
            tr -dc '0-9\n' | awk '{ n += $1 } END { print n + 0 }')
        [[ $sent -eq $(jq ".ranks[$row].counters.shuffle_bytes_sent" "$r") ]] ||
            fail "matrix row $row adds up to $sent, not the rank's shuffle_bytes_sent"
    done
    # Thousands separators: 200000 input records as 200,000.
    grep -q '<td>input_records</td><td title="200000">200,000</td>' <<<"$html" ||
        fail "the counters table does not show 200,000 input records"
    grep -q '<pre id="command-line">.*wordcount -i .*d.txt' <<<"$html" || fail "no command line"
    grep -q '<table id="phases">' <<<"$html" || fail "no phase table"
    grep -q '<table id="spill">' <<<"$html" || fail "no spill and merge table"
    grep -q '<tr class="host"><th colspan="7">[^<]*: 3 ranks</th>' <<<"$html" ||
        fail "the ranks are not grouped under their host"
    shot "$out/_report.html" report-success
}

case_failed_page() {
    local rc=0 dir html
    SHEAF_FAULT=reduce:2 run_np 3 wordcount -i "$TMP/d.txt" -o "$TMP/bad" --split-size 64K ||
        rc=$?
    [[ $rc -eq 1 ]] || fail "exit $rc"
    dir=$(find "$TMP" -maxdepth 1 -name 'bad.failed-report-*')
    [[ -f $dir/_report.html ]] || fail "no HTML report of the failed job"
    html=$(chrome --dump-dom "file://$dir/_report.html") || fail "chromium could not open it"
    # The failure comes first in the body, before the timeline.
    [[ $(grep -o '<div id="failure"[^>]*><strong>Failed: rank [0-9]*' <<<"$html") == \
        *"Failed: rank 2" ]] || fail "the page does not start with the failing rank 2"
    [[ $(grep -b -o 'id="failure"' <<<"$html" | cut -d: -f1) -lt \
        $(grep -b -o 'id="timeline"' <<<"$html" | cut -d: -f1) ]] ||
        fail "the failure is not above the timeline"
    grep -q 'rank 2: injected fault (SHEAF_FAULT) in reduce' <<<"$html" || fail "no message"
    shot "$dir/_report.html" report-failed
}

run_case success-page case_success_page
run_case failed-page case_failed_page
finish
