#!/usr/bin/env bash
# sheaf grep at 1 to 4 ranks against grep -E: matching lines, --count, --invert-match,
# --ignore-case, --with-location, the per-pattern user counters, empty input, one record,
# a skewed input (one line repeated most of the time) and bad usage.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/jobs/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

head -n 6000 "$top_srcdir/data/kjv.txt" >"$TMP/kjv.txt"
printf '\nLORD\r\nno newline at the end: LORD' >>"$TMP/kjv.txt"
: >"$TMP/empty.txt"
printf 'only the LORD\n' >"$TMP/one.txt"
for _ in $(seq 1 3000); do echo "the same LORD line"; done >"$TMP/skew.txt"
sed -n '1,300p' "$TMP/kjv.txt" >>"$TMP/skew.txt"

# ref_count FILE PATTERN...: pattern TAB count lines, as grep -c counts them.
ref_count() {
    local f=$1 p
    shift
    for p in "$@"; do
        printf '%s\t%s\n' "$p" "$(tr -d '\r' <"$f" | grep -c -E -e "$p" || true)"
    done
}

case_lines() {
    tr -d '\r' <"$TMP/kjv.txt" | grep -E -e 'LORD' -e 'God\.$' -e '^Ex[0-9]+:1 ' >"$TMP/lines.ref"
    each_np lines grep LORD 'God\.$' '^Ex[0-9]+:1 ' -i "$TMP/kjv.txt" --split-size 64K
    for out in $(outs lines); do same_sorted "$out" "$TMP/lines.ref"; done
}

case_count() {
    ref_count "$TMP/kjv.txt" LORD 'God\.$' 'no such thing' >"$TMP/count.ref"
    local NPS="2 3"
    each_np count grep --count LORD 'God\.$' 'no such thing' -i "$TMP/kjv.txt" --split-size 64K
    local out
    for out in $(outs count); do
        same_sorted "$out" "$TMP/count.ref"
        if have_python; then
            python3 - "$out/_report.json" "$TMP/count.ref" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["user_counters"]
for line in open(sys.argv[2]):
    p, n = line.rstrip("\n").split("\t")
    assert c.get(p) == int(n), (p, c.get(p), n)
PY
        fi
    done
}

case_invert_icase() {
    tr -d '\r' <"$TMP/kjv.txt" | grep -v -i -E -e 'lord' -e 'god' >"$TMP/inv.ref"
    local NPS=4
    each_np inv grep --invert-match --ignore-case lord --pattern god -i "$TMP/kjv.txt"
    for out in $(outs inv); do same_sorted "$out" "$TMP/inv.ref"; done
}

case_location() {
    # file:offset of each matching line, computed by awk over bytes.
    LC_ALL=C awk -v f="$TMP/kjv.txt" '{ line = $0; sub(/\r$/, "", line)
        if (line ~ /Moses/) print line "\t" f ":" off; off += length($0) + 1 }' \
        "$TMP/kjv.txt" >"$TMP/loc.ref"
    local NPS="1 3"
    each_np loc grep --with-location Moses -i "$TMP/kjv.txt" --split-size 32K
    for out in $(outs loc); do same_sorted "$out" "$TMP/loc.ref"; done
}

case_edge() {
    must_np 2 grep LORD -i "$TMP/empty.txt" -o "$TMP/empty"
    [[ -z $(parts "$TMP/empty") ]] || fail "empty input gave output"
    must_np 3 grep --count LORD -i "$TMP/empty.txt" -o "$TMP/emptyc"
    [[ $(parts "$TMP/emptyc") == "LORD${TAB}0" ]] || fail "empty --count"
    must_np 4 grep LORD -i "$TMP/one.txt" -o "$TMP/one"
    same_sorted "$TMP/one" "$TMP/one.txt"
}

case_skew() {
    grep -E 'LORD' "$TMP/skew.txt" >"$TMP/skew.ref"
    local NPS="1 4"
    each_np skew grep LORD -i "$TMP/skew.txt" --split-size 16K --reducers 3
    for out in $(outs skew); do same_sorted "$out" "$TMP/skew.ref"; done
}

case_usage() {
    local rc=0
    run_np 0 grep -i "$TMP/one.txt" -o "$TMP/u1" || rc=$?
    ((rc == 2)) || fail "no pattern gave status $rc"
    rc=0
    run_np 2 grep 'a(' -i "$TMP/one.txt" -o "$TMP/u2" || rc=$?
    ((rc == 2)) || fail "a bad pattern gave status $rc"
    grep -q 'bad pattern' "$LAST_LOG" || fail "no message for a bad pattern"
    run_np 0 grep --help || fail "grep --help failed"
    grep -q -- '--count' "$LAST_LOG" || fail "--help does not show --count"
}

run_case "matching lines" case_lines
run_case "--count and counters" case_count
run_case "--invert-match --ignore-case" case_invert_icase
run_case "--with-location" case_location
run_case "empty input, one record" case_edge
run_case "skewed lines" case_skew
run_case "bad usage" case_usage
finish
