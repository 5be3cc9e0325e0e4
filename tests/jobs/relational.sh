#!/usr/bin/env bash
# sheaf join (reduce-side and broadcast, inner and left) and sheaf validate at 1 to 4 ranks
# against python3 (csv module) references: quoted fields, a skewed join key, keys missing on
# one side, empty inputs and one record.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/jobs/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

have_python || skip_test "python3 is needed for the references"
gen_csv 4000 "$TMP/orders.csv"
cat >"$TMP/cities.csv" <<'CSV'
city,country,pop
Paris,FR,2100000
"Nice, FR",FR,340000
Oslo,NO,700000
Oslo,NO-dup,1
"Say ""Hi""",XX,0
Berlin,DE,3600000
CSV
head -n 1 "$TMP/cities.csv" >"$TMP/nocities.csv"
CSV=(--input-format csv --csv-header)

join_ref() {
    python3 - "$@" <<'PY'
import csv, sys
left, right, lk, rk, kind = sys.argv[1:6]
def rows(p):
    lines = open(p, newline="").read().split("\n")
    hdr = next(csv.reader([lines[0]]))
    for line in lines[1:]:
        if line:
            yield dict(zip(hdr, next(csv.reader([line])))), line
rights = {}
for r, line in rows(right):
    rights.setdefault(r[rk], []).append(line)
for r, line in rows(left):
    m = rights.get(r[lk], [])
    for x in m:
        print(line + "\t" + x)
    if not m and kind == "left":
        print(line + "\t")
PY
}

case_join() {
    local kind mode
    for kind in inner left; do
        join_ref "$TMP/orders.csv" "$TMP/cities.csv" city city "$kind" >"$TMP/j-$kind.ref"
        for mode in reduce broadcast; do
            local -a extra=()
            [[ $mode == broadcast ]] && extra=(--broadcast)
            each_np "j-$kind-$mode" join -i "$TMP/orders.csv" -i "$TMP/cities.csv" \
                --left-key city --right-key city --type "$kind" "${extra[@]}" "${CSV[@]}" \
                --split-size 32K
            for out in $(outs "j-$kind-$mode"); do same_sorted "$out" "$TMP/j-$kind.ref"; done
        done
    done
}

case_join_edge() {
    # the right side empty: inner gives nothing, left gives every left row once
    must_np 2 join -i "$TMP/orders.csv" -i "$TMP/nocities.csv" --key city "${CSV[@]}" \
        -o "$TMP/je1"
    [[ -z $(parts "$TMP/je1") ]] || fail "inner join with an empty side gave output"
    must_np 3 join -i "$TMP/orders.csv" -i "$TMP/nocities.csv" --key city --type left \
        --broadcast "${CSV[@]}" -o "$TMP/je2"
    [[ $(parts "$TMP/je2" | wc -l) == 4000 ]] || fail "left join with an empty right side"
    head -n 2 "$TMP/orders.csv" >"$TMP/one.csv"
    join_ref "$TMP/one.csv" "$TMP/cities.csv" city city inner >"$TMP/je3.ref"
    must_np 4 join -i "$TMP/one.csv" -i "$TMP/cities.csv" --key city "${CSV[@]}" -o "$TMP/je3"
    same_sorted "$TMP/je3" "$TMP/je3.ref"
    local rc=0
    run_np 0 join -i "$TMP/one.csv" --key city "${CSV[@]}" -o "$TMP/jbad" || rc=$?
    ((rc == 2)) || fail "one input gave status $rc"
}

validate_ref() {
    python3 - "$@" <<'PY'
import collections, csv, re, sys
path, out_summary, out_viol = sys.argv[1:4]
lines = open(path, newline="").read().split("\n")
hdr = next(csv.reader([lines[0]]))
rows, off = [], len(lines[0]) + 1
for line in lines[1:]:
    if line:
        rows.append((dict(zip(hdr, next(csv.reader([line])))), off))
    off += len(line.encode()) + 1
summary, viol = [], []
def num(s):
    try: return float(s)
    except ValueError: return None
rules = [("not-null:amount", lambda r: r["amount"] != "", "amount"),
         ("range:amount:0:1000", lambda r: num(r["amount"]) is not None and 0 <= num(r["amount"]) <= 1000, "amount"),
         ("regex:tag:^t[0-9]$", lambda r: re.search(r"^t[0-9]$", r["tag"]) is not None, "tag")]
for name, ok, col in rules:
    p = f = 0
    for r, o in rows:
        if ok(r): p += 1
        else:
            f += 1; viol.append(f"{name}\t{path}:{o}\t{r[col]}")
    summary.append((name, p, f))
for col in ("id", "name"):
    name = f"unique:{col}"
    c = collections.Counter(r[col] for r, _ in rows if r[col])
    p = sum(1 for v, n in c.items() if n == 1)
    f = sum(n for v, n in c.items() if n > 1)
    for r, o in rows:
        if r[col] and c[r[col]] > 1: viol.append(f"{name}\t{path}:{o}\t{r[col]}")
    summary.append((name, p, f))
with open(out_summary, "w") as s:
    for name, p, f in summary:
        print(f"{name}\t{p}\t{f}\t{'FAIL' if f else 'PASS'}", file=s)
with open(out_viol, "w") as v:
    for x in viol: print(x, file=v)
PY
}

case_validate() {
    validate_ref "$TMP/orders.csv" "$TMP/v.sum.ref" "$TMP/v.viol.ref"
    local np
    for np in $NPS; do
        must_np "$np" validate --rule not-null:amount --rule range:amount:0:1000 \
            --rule 'regex:tag:^t[0-9]$' --rule unique:id --rule unique:name \
            -i "$TMP/orders.csv" "${CSV[@]}" --csv-no-newlines --split-size 32K \
            -o "$TMP/v-np$np" -q
        grep -E '(PASS|FAIL)$' "$LAST_LOG" >"$TMP/v-np$np.sum"
        same_file "$TMP/v-np$np.sum" "$TMP/v.sum.ref"
        same_sorted "$TMP/v-np$np" "$TMP/v.viol.ref"
    done
    local rc=0
    run_np 2 validate --rule unique:name --strict -i "$TMP/orders.csv" "${CSV[@]}" \
        -o "$TMP/vs" || rc=$?
    ((rc == 1)) || fail "--strict with a failing rule gave status $rc"
    must_np 3 validate --rule unique:id --strict -i "$TMP/orders.csv" "${CSV[@]}" -o "$TMP/vs2"
    must_np 2 validate --rule not-null:id -i "$TMP/nocities.csv" "${CSV[@]}" -o "$TMP/ve" -q
    grep -qx "not-null:id${TAB}0${TAB}0${TAB}PASS" "$LAST_LOG" || fail "empty input"
    rc=0
    run_np 0 validate --rule between:id -i "$TMP/one.csv" "${CSV[@]}" -o "$TMP/vbad" || rc=$?
    ((rc == 2)) || fail "a bad rule gave status $rc"
}

run_case "join: reduce-side and broadcast, inner and left" case_join
run_case "join: empty side, one record, usage" case_join_edge
run_case "validate" case_validate
finish
