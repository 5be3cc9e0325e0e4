#!/usr/bin/env bash
# groupby (and distinct and topk's --where) with sheaf sql's semantics, against DuckDB on the
# same files: --where takes SQL
# conditions (AND/OR, quoted text with commas and spaces, NULLs dropped by <>, IN, BETWEEN,
# LIKE, IS NULL, the bare-word form COL = WORD) and --output-format csv writes one column per
# key and aggregate under a header of their names. Each case runs at 1 to 4 ranks in turn,
# over csv (tests/sql/gen.py's lineitem) and over the same table as Parquet written by DuckDB
# (tests/sql/formats.mjs), and over a small table of the issue's examples (a quoted comma, an
# empty amount, integers above 2^53 whose sums and maxima must be exact); DuckDB answers the
# equivalent GROUP BY query. Rows are compared sorted, integers exactly, other numbers within
# a relative 1e-9. Skipped (77) without python3, node or the oracle.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
sql_oracle_setup jobs
d=$tmp/data
python3 "$top_srcdir/tests/sql/gen.py" "$d" 2000 /dev/null
export SHEAF_ORACLE_DIR=$top_srcdir/tests/oracle
node "$top_srcdir/tests/sql/formats.mjs" "$d"
fails=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

# the table of the issue's examples: a quoted comma, an empty amount, an integer above 2^53
{
    echo 'id,city,tag,amount'
    echo '1,"Portland, OR",a,10'
    printf '2,Oslo,b,5\n3,Oslo,b,\n4,Bergen,c,9007199254740993\n5,Oslo,a,200\n'
    echo '6,Bergen,c,9007199254740993'
} >"$d/t.csv"

# The cases: TABLE | KEYS | AGGS (groupby's) | SQL aggregates | WHERE... (each a --where;
# ANDed). TABLE li: lineitem, as csv and as Parquet; t: the issue's table (csv).
cases=(
    "t|city|count|count(*)|amount > 5 AND amount < 100"
    "t|city|count,sum:amount|count(*), sum(amount)|city = 'Portland, OR'"
    "t|city|count|count(*)|amount <> 5"
    "t|city|sum:amount,max:amount,min:amount,count|sum(amount), max(amount), min(amount), count(*)"
    "t|city,tag|count,sum:amount|count(*), sum(amount)|city = Oslo"
    "li|l_returnflag|count,sum:l_quantity,min:l_quantity,max:l_quantity|count(*), sum(l_quantity), min(l_quantity), max(l_quantity)|l_quantity > 5 AND l_quantity < 40"
    "li|l_shipmode|count,avg:l_extendedprice|count(*), avg(l_extendedprice)|l_shipmode = 'REG AIR' OR l_comment = 'quick, brown'"
    "li|l_linestatus|count,sum:l_extendedprice|count(*), sum(l_extendedprice)|l_discount <> 0.05"
    "li|l_returnflag,l_linestatus|count|count(*)|l_shipmode IN ('AIR', 'MAIL')|l_quantity BETWEEN 10 AND 20"
    "li|l_shipmode|count,max:l_tax|count(*), max(l_tax)|l_comment LIKE '%a%' OR l_tax IS NULL"
    "li|l_returnflag|count,sum:l_quantity|count(*), sum(l_quantity)|l_shipmode = MAIL|l_quantity >= 10"
)
np=1
: >"$tmp/queries.tsv"
i=0
for c in "${cases[@]}"; do
    IFS='|' read -r -a f <<<"$c"
    table=${f[0]} keys=${f[1]} aggs=${f[2]} sqlaggs=${f[3]}
    where=("${f[@]:4}")
    sqlw=""
    for w in "${where[@]}"; do
        # the bare-word form, as SQL
        w=$(sed -E "s/^([a-z_]+) = ([A-Za-z]+)\$/\\1 = '\\2'/" <<<"$w")
        sqlw+="${sqlw:+ AND }($w)"
    done
    fmts=(csv parquet)
    if [[ $table == t ]]; then fmts=(t); fi
    for fmt in "${fmts[@]}"; do
        if [[ $fmt == t ]]; then
            src="$d/t.csv" in=("$d/t.csv" --input-format csv --csv-header)
        elif [[ $fmt == csv ]]; then
            src="$d/lineitem/*.csv" in=("$d/lineitem" --input-format csv --csv-header)
        else
            src="$d/pq/lineitem/*.parquet" in=("$d/pq/lineitem" --input-format parquet)
        fi
        printf 'q%d\tSELECT %s, %s FROM %s WHERE %s GROUP BY %s\n' "$i" "$keys" "$sqlaggs" \
            "'$src'" "${sqlw:-true}" "$keys" >>"$tmp/queries.tsv"
        wargs=()
        for w in "${where[@]}"; do wargs+=(--where "$w"); done
        if ! "$MPIRUN" -np "$np" --oversubscribe "$SHEAF" groupby -i "${in[@]}" --key "$keys" \
            --agg "$aggs" "${wargs[@]}" --output-format csv -o "$tmp/out$i" --quiet \
            >"$tmp/log$i" 2>&1; then
            fail "case $i ($fmt, $np ranks): groupby failed: $(head -c 600 "$tmp/log$i")"
        fi
        np=$((np % 4 + 1))
        i=$((i + 1))
    done
done
mkdir "$tmp/duck"
node "$top_srcdir/tests/sql/oracle.mjs" "$tmp/queries.tsv" "$tmp/duck"
for ((j = 0; j < i; j++)); do
    [[ -d $tmp/out$j ]] || continue
    q=$(sed -n "$((j + 1))p" "$tmp/queries.tsv" | cut -f 2)
    python3 - "$tmp/out$j" "$tmp/duck/q$j.csv" "$q" "$top_srcdir/tests/sql" <<'PY' ||
import csv, glob, sys
out, duck, q = sys.argv[1:4]
sys.path.insert(0, sys.argv[4])
import sqlcmp
header, rows = None, []
for p in sorted(glob.glob(out + "/part-r-*")):
    r = list(csv.reader(open(p, newline="")))
    if not r:
        continue
    if header is None:
        header = r[0]
    elif r[0] != header:
        sys.exit(print(f"FAIL: {p}: header {r[0]} differs from {header}") or 1)
    rows += r[1:]
want = list(csv.reader(open(duck, newline="")))
keys = q.split(" GROUP BY ")[1].split(",")
if header is None or header[:len(keys)] != [k.strip() for k in keys] or len(header) != len(want[0]):
    sys.exit(print(f"FAIL: header {header} (DuckDB's {want[0]})\n  {q}") or 1)
got, exp = rows, want[1:]
if not sqlcmp.same_rows(got, exp, False, exact_ints=True):  # the jobs' integer sums are exact
    print(f"FAIL: {len(got)} rows, DuckDB {len(exp)}\n  {q}")
    for a, b in zip(got, exp):
        if a != b:
            print(f"    groupby: {a}\n    duck:    {b}")
            break
    sys.exit(1)
PY
        fails=$((fails + 1))
done
# distinct and topk take the same --where: value TAB count, and the K largest values
li="$d/lineitem/*.csv"
w="l_quantity > 10 AND l_returnflag = 'R' OR l_tax IS NULL"
printf 'd1\tSELECT l_shipmode, count(*) FROM %s WHERE %s GROUP BY l_shipmode\n' "'$li'" "$w" \
    >"$tmp/q2.tsv"
printf 'd2\tSELECT l_extendedprice FROM %s WHERE %s ORDER BY 1 DESC LIMIT 7\n' "'$li'" "$w" \
    >>"$tmp/q2.tsv"
printf 'd3\tSELECT count(*), l_shipmode FROM %s WHERE %s GROUP BY 2 ORDER BY 1 DESC, 2 LIMIT 3\n' \
    "'$li'" "$w" >>"$tmp/q2.tsv"
node "$top_srcdir/tests/sql/oracle.mjs" "$tmp/q2.tsv" "$tmp/duck"
csvin=(-i "$d/lineitem" --input-format csv --csv-header --quiet)
"$MPIRUN" -np 3 --oversubscribe "$SHEAF" distinct "${csvin[@]}" --column l_shipmode \
    --where "$w" -o "$tmp/d1" || fail "distinct --where failed"
"$MPIRUN" -np 2 --oversubscribe "$SHEAF" topk "${csvin[@]}" --column l_extendedprice --k 7 \
    --where "$w" -o "$tmp/d2" || fail "topk --where failed"
"$MPIRUN" -np 4 --oversubscribe "$SHEAF" topk "${csvin[@]}" --count --column l_shipmode --k 3 \
    --where "$w" -o "$tmp/d3" || fail "topk --count --where failed"
python3 - "$tmp" <<'PY' || fails=$((fails + 1))
import csv, glob, sys
t = sys.argv[1]
def lines(d):
    return [l.rstrip("\n").split("\t") for p in sorted(glob.glob(f"{t}/{d}/part-r-*"))
            for l in open(p)]
def duck(q):
    return list(csv.reader(open(f"{t}/duck/{q}.csv", newline="")))[1:]
bad = 0
got, want = sorted(lines("d1")), sorted(duck("d1"))
if got != want:
    print(f"FAIL: distinct --where: {got} vs DuckDB {want}"); bad = 1
got, want = [r[0] for r in lines("d2")], [r[0] for r in duck("d2")]
if [float(x) for x in got] != [float(x) for x in want]:
    print(f"FAIL: topk --where: {got} vs DuckDB {want}"); bad = 1
got, want = lines("d3"), [[r[1], r[0]] for r in duck("d3")]
if got != want:
    print(f"FAIL: topk --count --where: {got} vs DuckDB {want}"); bad = 1
sys.exit(bad)
PY
echo "$i groupby runs and distinct, topk and topk --count compared with DuckDB, $fails failed"
((fails == 0))
