#!/usr/bin/env bash
# sheaf invertedindex and sheaf distinct at 1 to 4 ranks: postings against an awk index over
# byte offsets, distinct lines against sort | uniq -c, a csv column (quoted fields, a skewed
# value) against python's csv module, empty input and one record.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/jobs/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkdir -p "$TMP/docs"
sed -n '1,1500p' "$top_srcdir/data/kjv.txt" >"$TMP/docs/a.txt"
sed -n '1501,2500p' "$top_srcdir/data/kjv.txt" >"$TMP/docs/b.txt"
printf 'the the  The\r\nend of file without newline the' >"$TMP/docs/c.txt"
: >"$TMP/empty.txt"
gen_csv 5000 "$TMP/t.csv"

# ref_index FILE...: word TAB file:offset,... with awk (byte offsets, words split on
# whitespace, postings sorted by file then offset, each once).
ref_index() {
    local f
    for f in "$@"; do
        LC_ALL=C awk -v f="$f" '{ line = $0; sub(/\r$/, "", line)
            n = split(line, w, /[ \t\v\f\r]+/)
            for (i = 1; i <= n; i++) if (w[i] != "" && !seen[w[i]]++) print w[i] "\t" f "\t" off + 0
            delete seen; off += length($0) + 1 }' "$f"
    done | sort -t "$TAB" -k1,1 -k2,2 -k3,3n |
        awk -F '\t' '$1 != k { if (k != "") print k "\t" p; k = $1; p = "" }
            { p = p (p == "" ? "" : ",") $2 ":" $3 } END { if (k != "") print k "\t" p }'
}

case_index() {
    ref_index "$TMP/docs/a.txt" "$TMP/docs/b.txt" "$TMP/docs/c.txt" >"$TMP/index.ref"
    each_np index invertedindex -i "$TMP/docs" --split-size 16K
    for out in $(outs index); do same_sorted "$out" "$TMP/index.ref"; done
}

case_index_edge() {
    must_np 2 invertedindex -i "$TMP/empty.txt" -o "$TMP/ie"
    [[ -z $(parts "$TMP/ie") ]] || fail "empty input gave output"
    printf 'one\n' >"$TMP/one.txt"
    must_np 3 invertedindex -i "$TMP/one.txt" --lower -o "$TMP/i1"
    [[ $(parts "$TMP/i1") == "one${TAB}$TMP/one.txt:0" ]] || fail "one record: $(parts "$TMP/i1")"
    printf 'A a. A\nb\n' >"$TMP/low.txt"
    must_np 4 invertedindex -i "$TMP/low.txt" --lower --alnum -o "$TMP/il"
    printf 'a\t%s:0\nb\t%s:7\n' "$TMP/low.txt" "$TMP/low.txt" >"$TMP/il.ref"
    same_sorted "$TMP/il" "$TMP/il.ref"
}

case_distinct_lines() {
    cut -c1-4 "$TMP/docs/a.txt" >"$TMP/prefixes.txt"
    sort "$TMP/prefixes.txt" | uniq -c | sed -E 's/^ *([0-9]+) (.*)$/\2\t\1/' >"$TMP/dl.ref"
    each_np dl distinct -i "$TMP/prefixes.txt" --split-size 8K
    for out in $(outs dl); do same_sorted "$out" "$TMP/dl.ref"; done
}

case_distinct_csv() {
    have_python || { echo "# python3 not found: skipped"; return 0; }
    python3 - "$TMP/t.csv" >"$TMP/dc.ref" <<'PY'
import collections, csv, sys
c = collections.Counter(r["city"] for r in csv.DictReader(open(sys.argv[1], newline="")))
for k, v in c.items():
    print(f"{k}\t{v}")
PY
    each_np dc distinct --column city -i "$TMP/t.csv" --input-format csv --csv-header \
        --csv-no-newlines --split-size 16K
    for out in $(outs dc); do same_sorted "$out" "$TMP/dc.ref"; done
    # By index, without a header: the header line is a value like any other.
    must_np 2 distinct --column 2 -i "$TMP/t.csv" --input-format csv -o "$TMP/dc2"
    grep -qx "city${TAB}1" <(parts "$TMP/dc2") || fail "column by index"
}

case_distinct_edge() {
    must_np 3 distinct -i "$TMP/empty.txt" -o "$TMP/de"
    [[ -z $(parts "$TMP/de") ]] || fail "empty input gave output"
    printf 'x\n' >"$TMP/x.txt"
    must_np 4 distinct -i "$TMP/x.txt" -o "$TMP/dx"
    [[ $(parts "$TMP/dx") == "x${TAB}1" ]] || fail "one record"
    local rc=0
    run_np 2 distinct --column nosuch -i "$TMP/t.csv" --input-format csv --csv-header \
        -o "$TMP/dbad" || rc=$?
    ((rc != 0)) || fail "an unknown column succeeded"
    grep -q nosuch "$LAST_LOG" || fail "the message does not name the column"
    rc=0
    run_np 0 distinct --column 1 -i "$TMP/x.txt" -o "$TMP/dbad2" || rc=$?
    ((rc == 2)) || fail "--column on lines gave status $rc"
}

run_case "inverted index" case_index
run_case "inverted index: empty, one record, --lower --alnum" case_index_edge
run_case "distinct lines" case_distinct_lines
run_case "distinct csv column" case_distinct_csv
run_case "distinct: empty, one record, bad column" case_distinct_edge
finish
