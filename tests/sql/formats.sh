#!/usr/bin/env bash
# sheaf sql over every input format, against DuckDB over the same files: the corpus
# (tests/sql/queries) with its tables rewritten (run.py's SHEAF_SQL_SUBST) to
#   - Parquet files written by DuckDB (tests/sql/formats.mjs: lineitem in row groups of 256
#     rows with snappy pages, orders with zstd pages, words with gzip pages, and types, whose
#     columns are integers signed and unsigned, decimals, FLOAT, BOOLEAN, DATE and TIMESTAMP
#     in three units, which a query reads as values rather than text);
#   - compressed csv (lineitem as part-N.csv.gz, orders.csv.zst, words.csv.gz);
#   - tsv (lineitem as part-N.tsv, orders.tsv.gz, words.tsv, and the small tables, since a
#     join of a csv and a tsv table is refused);
# each query at one rank count, 1 to 4 in turn (SHEAF_SQL_NPS as in oracle.sh). A join runs
# broadcast and shuffled, so a Parquet or compressed right table is read both ways. Skipped
# (77) without python3, node, the oracle, gzip or zstd.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
sql_oracle_setup formats gzip zstd
words=/usr/share/dict/words
[[ -r $words ]] || words=/dev/null
d=$tmp/data
python3 "$top_srcdir/tests/sql/gen.py" "$d" "${SHEAF_SQL_ROWS:-3000}" "$words"
SHEAF_ORACLE_DIR=$top_srcdir/tests/oracle node "$top_srcdir/tests/sql/formats.mjs" "$d"
mkdir "$d/z" "$d/z/lineitem" "$d/t" "$d/t/lineitem"
for f in "$d"/lineitem/part-*.csv; do
    gzip -c "$f" >"$d/z/lineitem/$(basename "$f").gz"
done
zstd -q -c "$d/orders.csv" >"$d/z/orders.csv.zst"
gzip -c "$d/words.csv" >"$d/z/words.csv.gz"
# tsv: the same rows, tab-separated (quoted as csv quotes them)
tsv() {
    python3 -c 'import csv, sys
w = csv.writer(open(sys.argv[2], "w", newline=""), delimiter="\t", lineterminator="\n")
w.writerows(csv.reader(open(sys.argv[1], newline="")))' "$1" "$2"
}
for f in "$d"/lineitem/part-*.csv; do
    tsv "$f" "$d/t/lineitem/$(basename "$f" .csv).tsv"
done
tsv "$d/orders.csv" "$d/t/orders.tsv"
gzip "$d/t/orders.tsv"
tsv "$d/words.csv" "$d/t/words.tsv"
tsv "$d/big.csv" "$d/t/big.tsv"
tsv "$d/empty.csv" "$d/t/empty.tsv"
if [[ -z ${SHEAF_SQL_NPS:-} ]]; then
    export SHEAF_SQL_ROTATE=1 SHEAF_SQL_NPS="1 2 3 4"
fi
st=0
echo "Parquet:"
pq='@/lineitem/*.csv=>@/pq/lineitem/*.parquet|@/orders.csv=>@/pq/orders.parquet'
pq+='|@/words.csv=>@/pq/words.parquet|@/types.csv=>@/pq/types.parquet'
SHEAF_SQL_SUBST=$pq python3 "$top_srcdir/tests/sql/run.py" "$SHEAF" "$d" "$tmp/work-pq" || st=1
echo "compressed csv:"
z='@/lineitem/*.csv=>@/z/lineitem/*.csv.gz|@/orders.csv=>@/z/orders.csv.zst'
z+='|@/words.csv=>@/z/words.csv.gz'
SHEAF_SQL_SUBST=$z python3 "$top_srcdir/tests/sql/run.py" "$SHEAF" "$d" "$tmp/work-z" || st=1
echo "tsv:"
t='@/lineitem/*.csv=>@/t/lineitem/*.tsv|@/orders.csv=>@/t/orders.tsv.gz'
t+='|@/words.csv=>@/t/words.tsv|@/big.csv=>@/t/big.tsv|@/empty.csv=>@/t/empty.tsv'
SHEAF_SQL_SUBST=$t python3 "$top_srcdir/tests/sql/run.py" "$SHEAF" "$d" "$tmp/work-t" || st=1
exit $st
