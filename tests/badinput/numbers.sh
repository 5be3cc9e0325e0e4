#!/usr/bin/env bash
# Numbers at the ends of the double range. histogram over values near +-DBL_MAX, whose range
# (max - min) is not a double, gives finite bucket edges and every value in its bucket, at 1
# to 3 ranks and several reducers, against Python's exact rational arithmetic; groupby's sum
# and avg of such values never say inf and match the exact sum and mean to 1e-12 relative; a
# job whose partition function returns a partition out of range fails with a message naming
# the job, not an internal error.
# shellcheck disable=SC2317  # the cases are called through run_case
source "${top_srcdir:-$(dirname "$0")/../..}/tests/badinput/lib.sh"

BADPART=$top_builddir/tests/badinput/badpart
[[ -x $BADPART ]] || { echo "tests/badinput/badpart is not built"; exit 99; }

# hist_ref FILE B: the exact histogram of the numbers of FILE (one a line) in B buckets
# between their min and max, the last bucket closed: `lo<TAB>hi<TAB>count` lines.
hist_ref() {
    python3 - "$1" "$2" <<'PY'
import sys
from fractions import Fraction as F
xs = [F(float(l)) for l in open(sys.argv[1]) if l.strip()]
b = int(sys.argv[2])
lo, hi = min(xs), max(xs)
w = (hi - lo) / b
n = [0] * b
for x in xs:
    i = min(int((x - lo) / w), b - 1)
    n[i] += 1
for i in range(b):
    print("%r\t%r\t%d" % (float(lo + i * w), float(lo + (i + 1) * w), n[i]))
PY
}

# same_hist GOT REF: the same counts, and edges equal to 1e-12 of the range, all finite.
same_hist() {
    python3 - "$1" "$2" <<'PY'
import math, sys
got = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
ref = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
assert len(got) == len(ref), (len(got), len(ref))
span = float(ref[-1][1]) / 2 - float(ref[0][0]) / 2
for g, r in zip(got, ref):
    assert g[2] == r[2], ("count", g, r)
    for a, b in ((g[0], r[0]), (g[1], r[1])):
        x = float(a)
        assert math.isfinite(x), ("edge", g)
        assert abs(x / 2 - float(b) / 2) <= 1e-12 * span, ("edge", g, r)
PY
}

case_histogram_extremes() {
    # The issue's two values: the range 2e308 overflows a double.
    printf '1e308\n-1e308\n' >"$TMP/two.txt"
    must_np 0 histogram -i "$TMP/two.txt" -o "$TMP/h-two"
    cat "$TMP/h-two"/part-r-* >"$TMP/h-two.got"
    hist_ref "$TMP/two.txt" 10 >"$TMP/h-two.ref"
    same_hist "$TMP/h-two.got" "$TMP/h-two.ref"
    # Random values up to +-DBL_MAX, the extremes included, over ranks, reducers and buckets.
    python3 - >"$TMP/wide.txt" <<'PY'
import random, sys
random.seed(7)
M = sys.float_info.max
print(repr(M)); print(repr(-M)); print("0")
for _ in range(3000):
    print(repr(random.uniform(-1, 1) * M))
PY
    local np b
    for np in 1 3; do
        for b in 1 7; do
            must_np "$np" histogram -i "$TMP/wide.txt" -o "$TMP/h-wide-$np-$b" --buckets "$b" \
                --reducers 3 --split-size 8K
            cat "$TMP/h-wide-$np-$b"/part-r-* >"$TMP/h-wide.got"
            hist_ref "$TMP/wide.txt" "$b" >"$TMP/h-wide.ref"
            same_hist "$TMP/h-wide.got" "$TMP/h-wide.ref"
        done
    done
    # Given bounds and a width: values beyond them go to the -inf and inf lines, counted.
    must_np 2 histogram -i "$TMP/wide.txt" -o "$TMP/h-width" --min -1e308 --width 1e308 \
        --buckets 2
    python3 - "$TMP/wide.txt" >"$TMP/h-width.ref" <<'PY'
import sys
xs = [float(l) for l in open(sys.argv[1])]
print("-inf\t-1e+308\t%d" % sum(x < -1e308 for x in xs))
print("-1e+308\t0\t%d" % sum(-1e308 <= x < 0 for x in xs))
print("0\t1e+308\t%d" % sum(0 <= x < 1e308 for x in xs))
print("1e+308\tinf\t%d" % sum(x >= 1e308 for x in xs))
PY
    cmp -s <(cat "$TMP/h-width"/part-r-*) "$TMP/h-width.ref" ||
        fail "histogram with a width: $(cat "$TMP/h-width"/part-r-* | tr '\n\t' ' :')"
}

case_groupby_extremes() {
    python3 - >"$TMP/g.csv" <<'PY'
import random, sys
random.seed(3)
M = sys.float_info.max
print("k,v")
for i in range(4000):
    print("%s,%r" % ("abc"[i % 3], random.choice([M, -M, 1.5e308, 0.5, 3.0, M / 3])))
print("d,%r" % M)
print("d,%r" % M)
PY
    local np
    for np in 0 3; do
        must_np "$np" groupby -i "$TMP/g.csv" -o "$TMP/g-$np" --input-format csv --csv-header \
            --key k --agg count,sum:v,avg:v,min:v,max:v --split-size 8K
        if grep -q -i -E 'inf|nan' "$TMP/g-$np"/part-r-*; then
            fail "groupby printed inf: $(cat "$TMP/g-$np"/part-r-* | tr '\n\t' ' :')"
        fi
        python3 - "$TMP/g.csv" <(cat "$TMP/g-$np"/part-r-*) <<'PY'
import csv, sys
from fractions import Fraction as F
g = {}
for r in csv.DictReader(open(sys.argv[1])):
    g.setdefault(r["k"], []).append(F(float(r["v"])))
got = {}
for line in open(sys.argv[2]):
    k, v = line.rstrip("\n").split("\t")
    got[k] = v.split(",")
assert sorted(got) == sorted(g), (sorted(got), sorted(g))
def close(a, b):
    return abs(F(a) - b) <= F(1, 10**12) * max(abs(b), 1)
for k, xs in g.items():
    n, s, a, lo, hi = got[k]
    assert int(n) == len(xs), (k, n)
    assert close(s, sum(xs)), (k, "sum", s, "%.17g" % float(sum(xs) / 2**64))
    assert close(a, sum(xs) / len(xs)), (k, "avg", a, float(sum(xs) / len(xs)))
    assert float(lo) == float(min(xs)) and float(hi) == float(max(xs)), (k, lo, hi)
PY
    done
}

case_partition_out_of_range() {
    printf 'fine\noops\nfine\n' >"$TMP/oops.txt"
    local rc=0
    SHEAF=$BADPART run_np 2 -i "$TMP/oops.txt" -o "$TMP/o-oops" --reducers 3 || rc=$?
    cat "$LAST_LOG"
    ((rc == 1)) || fail "exit status $rc, expected 1"
    local want="the partition function of job badpart returned 3 for a key of 4 bytes;"
    want+=" partitions are 0 to 2"
    grep -q -F "$want" "$LAST_LOG" || fail "the message does not name the job's partition function"
    [[ ! -e $TMP/o-oops ]] || fail "the failed job left its output"
    no_spill_left
}

run_case histogram-extremes case_histogram_extremes
run_case groupby-extremes case_groupby_extremes
run_case partition-out-of-range case_partition_out_of_range
finish
