#!/usr/bin/env bash
# sheaf topk, histogram and groupby at 1 to 4 ranks against python3 (csv module) and
# coreutils references: quoted csv fields, a skewed key, non-numeric values, empty input and
# one record.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/jobs/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

have_python || skip_test "python3 is needed for the references"
gen_csv 6000 "$TMP/t.csv"
head -n 1 "$TMP/t.csv" >"$TMP/empty.csv"
head -n 2 "$TMP/t.csv" >"$TMP/one.csv"
CSV=(--input-format csv --csv-header --csv-no-newlines)

# py SCRIPT ARG...: runs a python3 reference script given on stdin.
py() {
    python3 - "$@"
}

case_topk_value() {
    py "$TMP/t.csv" 7 >"$TMP/topv.ref" <<'PY'
import csv, sys
rows = []
with open(sys.argv[1], newline="") as f:
    lines = f.read().split("\n")[1:]
for line in lines:
    if not line: continue
    r = next(csv.reader([line]))
    try: v = float(r[4])
    except ValueError: continue
    rows.append((-v, line.encode(), r[4], line))
rows.sort(key=lambda t: (t[0], t[1]))
for t in rows[: int(sys.argv[2])]:
    print(f"{t[2]}\t{t[3]}")
PY
    each_np topv topk --k 7 --column score -i "$TMP/t.csv" "${CSV[@]}" --split-size 32K
    for out in $(outs topv); do same_file <(parts "$out") "$TMP/topv.ref"; done
    # smallest, by index, without a header line counted (it is not a number)
    must_np 3 topk --k 3 --smallest --column 3 -i "$TMP/t.csv" --input-format csv -o "$TMP/tops"
    tail -n +2 "$TMP/t.csv" | awk -F, '$4 != "" && $4 ~ /^-?[0-9]+$/ { print $4 }' |
        sort -n | sed -n '1,3p' >"$TMP/tops.ref"
    same_file <(parts "$TMP/tops" | cut -f1) "$TMP/tops.ref"
}

case_topk_count() {
    # The 4 most frequent lines of a skewed file (ties broken by line).
    { for _ in $(seq 300); do echo hot; done; seq 1 200; seq 1 5; seq 1 3; echo; } >"$TMP/words"
    sort "$TMP/words" | uniq -c | awk '{ n = $1; sub(/^ *[0-9]+ /, ""); print n "\t" $0 }' |
        sort -t "$TAB" -k1,1nr -k2,2 | sed -n '1,4p' | awk -F '\t' '{ print $2 "\t" $1 }' \
        >"$TMP/topc.ref"
    each_np topc topk --count --k 4 -i "$TMP/words" --split-size 256
    for out in $(outs topc); do
        same_file <(parts "$out") "$TMP/topc.ref"
        [[ ! -e $out.work-topk ]] || fail "the work directory was left behind"
    done
    must_np 2 topk --count --k 2 --column city -i "$TMP/t.csv" "${CSV[@]}" -o "$TMP/topcity"
    [[ $(parts "$TMP/topcity" | sed -n 1p | cut -f1) == Paris ]] || fail "skewed city"
}

case_topk_edge() {
    must_np 2 topk --column score -i "$TMP/empty.csv" "${CSV[@]}" -o "$TMP/te"
    [[ -z $(parts "$TMP/te") ]] || fail "empty input gave output"
    must_np 4 topk --k 5 --column score -i "$TMP/one.csv" "${CSV[@]}" -o "$TMP/t1"
    [[ $(parts "$TMP/t1" | wc -l) == 1 ]] || fail "one record"
    local rc=0
    run_np 0 topk -i "$TMP/one.csv" -o "$TMP/tbad" || rc=$?
    ((rc == 2)) || fail "topk without --column or --count gave status $rc"
}

# hist_ref FILE BUCKETS MIN WIDTH CLOSED_MAX: python histogram of the amount column.
hist_ref() {
    py "$@" <<'PY'
import csv, math, sys
path, b, lo, w = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
closed = sys.argv[5] if len(sys.argv) > 5 else ""
vals = []
for r in csv.DictReader(open(path, newline="")):
    try: vals.append(float(r["amount"]))
    except ValueError: pass
lo = min(vals) if lo == "auto" else float(lo)
hi = max(vals) if closed == "auto" else (float(closed) if closed else None)
w = (hi - lo) / b if w == "auto" else float(w)
counts = [0] * b
under = over = 0
for x in vals:
    if x < lo: under += 1; continue
    i = math.floor((x - lo) / w)
    if i >= b and hi is not None and x <= hi: i = b - 1
    if i >= b: over += 1
    else: counts[i] += 1
def f(x):
    s = "%.15g" % x
    return s if float(s) == x else "%.17g" % x
top = hi if hi is not None else lo + b * w
if under: print(f"-inf\t{f(lo)}\t{under}")
for i in range(b):
    print(f"{f(lo + i * w)}\t{f(top if i == b - 1 else lo + (i + 1) * w)}\t{counts[i]}")
if over: print(f"{f(top)}\tinf\t{over}")
PY
}

case_histogram() {
    hist_ref "$TMP/t.csv" 8 0 100 >"$TMP/h1.ref"
    each_np h1 histogram --column amount --buckets 8 --width 100 -i "$TMP/t.csv" "${CSV[@]}" \
        --split-size 32K --reducers 3
    for out in $(outs h1); do same_file <(parts "$out") "$TMP/h1.ref"; done
    hist_ref "$TMP/t.csv" 5 auto auto auto >"$TMP/h2.ref"
    must_np 3 histogram --column amount --buckets 5 -i "$TMP/t.csv" "${CSV[@]}" -o "$TMP/h2"
    same_file <(parts "$TMP/h2") "$TMP/h2.ref"
    hist_ref "$TMP/t.csv" 4 -100 auto 700 >"$TMP/h3.ref"
    must_np 2 histogram --column amount --buckets 4 --min -100 --max 700 -i "$TMP/t.csv" \
        "${CSV[@]}" -o "$TMP/h3"
    same_file <(parts "$TMP/h3") "$TMP/h3.ref"
    # lines that are numbers, one bucket holding almost everything
    { for _ in $(seq 500); do echo 5; done; echo 15; echo x; echo 25; } >"$TMP/nums"
    must_np 4 histogram --buckets 3 --width 10 -i "$TMP/nums" -o "$TMP/h4"
    printf '0\t10\t500\n10\t20\t1\n20\t30\t1\n' >"$TMP/h4.ref"
    same_file <(parts "$TMP/h4") "$TMP/h4.ref"
    must_np 2 histogram --buckets 2 --width 1 -i "$TMP/empty.csv" "${CSV[@]}" --column amount \
        -o "$TMP/h5"
    printf '0\t1\t0\n1\t2\t0\n' >"$TMP/h5.ref"
    same_file <(parts "$TMP/h5") "$TMP/h5.ref"
}

groupby_ref() {
    py "$@" <<'PY'
import csv, sys
path, keys, where = sys.argv[1], sys.argv[2], sys.argv[3]
groups = {}
def num(s):
    try:
        x = float(s.strip())
        return x if x == x and abs(x) != float("inf") else None
    except ValueError: return None
def f(x):
    s = "%.15g" % x
    return s if float(s) == x else "%.17g" % x
def q(s):
    return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"\t\n\r') else s
for r in csv.DictReader(open(path, newline="")):
    if where == "amount>=10":
        a = num(r["amount"])
        if a is None or a < 10: continue
    k = ",".join(q(r[c]) for c in keys.split(",")) if keys else "*"
    g = groups.setdefault(k, {"n": 0, "amt": [], "sc": [], "tags": set()})
    g["n"] += 1
    if num(r["amount"]) is not None: g["amt"].append(num(r["amount"]))
    if num(r["score"]) is not None: g["sc"].append(num(r["score"]))
    if r["tag"]: g["tags"].add(r["tag"])
for k, g in groups.items():
    a, s = g["amt"], g["sc"]
    out = [str(g["n"]), f(sum(a)) if a else "", f(sum(a) / len(a)) if a else "",
           f(min(s)) if s else "", f(max(s)) if s else "", str(len(g["tags"]))]
    print(k + "\t" + ",".join(out))
PY
}

# Sums of floats depend on the order they are added in: compare numbers to 1e-9 relative.
same_numbers() {
    py "$1" "$2" <<'PY'
import sys
def load(p):
    d = {}
    for line in open(p):
        k, v = line.rstrip("\n").split("\t")
        d[k] = v.split(",")
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a.keys() == b.keys(), (sorted(a), sorted(b))
for k in a:
    for x, y in zip(a[k], b[k]):
        if x == y: continue
        assert x and y and abs(float(x) - float(y)) <= 1e-9 * max(1, abs(float(y))), (k, x, y)
PY
}

case_groupby() {
    local aggs=count,sum:amount,avg:amount,min:score,max:score,distinct:tag
    groupby_ref "$TMP/t.csv" city "" >"$TMP/g1.ref"
    each_np g1 groupby --key city --agg "$aggs" -i "$TMP/t.csv" "${CSV[@]}" --split-size 32K
    for out in $(outs g1); do
        parts "$out" >"$out.all"
        same_numbers "$out.all" "$TMP/g1.ref" || fail "$out differs from the reference"
    done
    groupby_ref "$TMP/t.csv" city,name "amount>=10" >"$TMP/g2.ref"
    must_np 3 groupby --key city,name --agg "$aggs" --where 'amount >= 10' -i "$TMP/t.csv" \
        "${CSV[@]}" -o "$TMP/g2"
    parts "$TMP/g2" >"$TMP/g2.all"
    same_numbers "$TMP/g2.all" "$TMP/g2.ref" || fail "--where differs"
    # a table of groups that the distinct tags fill many times over (--memory 1M, the rows
    # four times over): the map emits and empties it again and again, and the groups repeat,
    # so rows keep going to it
    { cat "$TMP/t.csv"; for _ in 1 2 3; do tail -n +2 "$TMP/t.csv"; done; } >"$TMP/t4.csv"
    must_np 2 groupby --key city --agg "$aggs" -i "$TMP/t4.csv" "${CSV[@]}" --memory 1M \
        -o "$TMP/g2m"
    parts "$TMP/g2m" >"$TMP/g2m.all"
    groupby_ref "$TMP/t4.csv" city "" >"$TMP/g2m.ref"
    same_numbers "$TMP/g2m.all" "$TMP/g2m.ref" || fail "groups emitted in several rounds differ"
    local states groups
    states=$(jq '.counters.map_output_records.total' "$TMP/g2m/_report.json")
    groups=$(wc -l <"$TMP/g2m.ref")
    ((states > 2 * groups && states < 100 * groups)) ||
        fail "--memory 1M: $states states for $groups groups"
    # a table too small for the groups of city and name: it barely combines, so once full the
    # rows bypass it
    must_np 2 groupby --key city,name --agg "$aggs" -i "$TMP/t.csv" "${CSV[@]}" --memory 1M \
        -o "$TMP/g2n"
    parts "$TMP/g2n" >"$TMP/g2n.all"
    groupby_ref "$TMP/t.csv" city,name "" >"$TMP/g2n.ref"
    same_numbers "$TMP/g2n.all" "$TMP/g2n.ref" || fail "rows that bypass the table differ"
    # a key of its own on every row
    must_np 2 groupby --key id --agg "$aggs" -i "$TMP/t.csv" "${CSV[@]}" --memory 1M \
        -o "$TMP/gid"
    parts "$TMP/gid" >"$TMP/gid.all"
    groupby_ref "$TMP/t.csv" id "" >"$TMP/gid.ref"
    same_numbers "$TMP/gid.all" "$TMP/gid.ref" || fail "one row a group differs"
    # two files whose headers order the columns differently: each file's columns are found
    # by its own header
    mkdir -p "$TMP/two"
    py "$TMP/t.csv" "$TMP/two" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
head, body = rows[0], rows[1:]
half = len(body) // 2
csv.writer(open(sys.argv[2] + "/a.csv", "w", newline="")).writerows([head] + body[:half])
order = [5, 4, 3, 2, 1, 0]
csv.writer(open(sys.argv[2] + "/b.csv", "w", newline="")).writerows(
    [[r[i] for i in order] for r in [head] + body[half:]])
PY
    must_np 2 groupby --key city --agg "$aggs" -i "$TMP/two" "${CSV[@]}" --split-size 32K \
        -o "$TMP/g2f"
    parts "$TMP/g2f" >"$TMP/g2f.all"
    same_numbers "$TMP/g2f.all" "$TMP/g1.ref" || fail "two files with reordered columns differ"
    groupby_ref "$TMP/t.csv" "" "" >"$TMP/g3.ref"
    must_np 2 groupby --agg "$aggs" -i "$TMP/t.csv" "${CSV[@]}" -o "$TMP/g3"
    parts "$TMP/g3" >"$TMP/g3.all"
    same_numbers "$TMP/g3.all" "$TMP/g3.ref" || fail "whole-table group differs"
    # string comparison in --where, then empty and one-record inputs
    must_np 4 groupby --key city --where 'city = Oslo' -i "$TMP/t.csv" "${CSV[@]}" -o "$TMP/g4"
    [[ $(parts "$TMP/g4") == "Oslo${TAB}$(grep -c ',Oslo,' "$TMP/t.csv")" ]] || fail "city = Oslo"
    must_np 2 groupby --key city -i "$TMP/empty.csv" "${CSV[@]}" -o "$TMP/g5"
    [[ -z $(parts "$TMP/g5") ]] || fail "empty input gave output"
    must_np 3 groupby --key id --agg count,avg:amount -i "$TMP/one.csv" "${CSV[@]}" -o "$TMP/g6"
    groupby_ref "$TMP/one.csv" id "" | awk -F '\t' '{ split($2, a, ","); print $1 "\t" a[1] "," a[3] }' \
        >"$TMP/g6.ref"
    same_file <(parts "$TMP/g6") "$TMP/g6.ref"
    local rc=0
    run_np 0 groupby --agg median:amount -i "$TMP/one.csv" "${CSV[@]}" -o "$TMP/gbad" || rc=$?
    ((rc == 2)) || fail "a bad aggregate gave status $rc"
}

run_case "topk by value" case_topk_value
run_case "topk by count" case_topk_count
run_case "topk: empty, one record, usage" case_topk_edge
run_case "histogram" case_histogram
run_case "groupby" case_groupby
finish
