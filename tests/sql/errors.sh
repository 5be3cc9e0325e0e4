#!/usr/bin/env bash
# sheaf sql's bad queries and its committed output: each error is a clear message and the
# right exit status (2: syntax, unknown table or column, type mismatch; 1: a runtime error
# such as overflow or a field that does not parse), with line, column and a caret for the
# parse and bind errors; -o OUT commits the CSV (header first, part files in order) with
# _SUCCESS, and a failed query leaves an existing OUT as it was.
set -uo pipefail
: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${SHEAF:=$top_srcdir/sheaf}"
: "${MPIRUN:=mpirun}"
if ((EUID == 0)); then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sheaf-sql-errors.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}
printf 'id,name,amount,day\n1,"Portland, OR",10,2024-01-02\n2,Oslo,5,2024-01-03\n3,Oslo,,2024-02-01\n4,Bergen,9007199254740993,2024-02-05\n' >"$tmp/t.csv"
printf 'id,v\n1,9223372036854775807\n2,1\n' >"$tmp/big.csv"
printf 'id,n\n1,5\n2,x\n' >"$tmp/bad.csv"

# expect STATUS PATTERN... -- ARGS: runs sheaf sql ARGS, checks the exit status and that
# stderr matches each pattern (grep -E)
expect() {
    local want=$1 pats=() a
    shift
    while [[ $1 != -- ]]; do
        pats+=("$1")
        shift
    done
    shift
    "$SHEAF" sql "$@" >"$tmp/out" 2>"$tmp/err"
    local st=$?
    [[ $st == "$want" ]] || fail "sheaf sql $* exited $st, not $want: $(cat "$tmp/err")"
    for a in "${pats[@]}"; do
        grep -qE -- "$a" "$tmp/err" || fail "sheaf sql $*: stderr lacks /$a/: $(cat "$tmp/err")"
    done
}

t="'$tmp/t.csv'"
# syntax: line, column, the line and a caret under the token
expect 2 "syntax error, unexpected '>' at line 2, column 15" '^  WHERE amount >> 5$' '^                \^$' -- \
    "SELECT id FROM $t
WHERE amount >> 5"
expect 2 'unexpected end of query' -- "SELECT id FROM"
expect 2 'closing quote' -- "SELECT id, 'abc FROM x"
expect 2 "unknown type 'blob'" -- "SELECT CAST(id AS blob) FROM $t"
# bind errors: the unknown column lists the table's columns
expect 2 "unknown column 'amt'; the table's columns are: id, name, amount, day" 'column 8' \
    '^         \^$' -- \
    "SELECT amt FROM $t"
expect 2 'cannot compare values of type VARCHAR and BIGINT' -- "SELECT id FROM $t WHERE name = 5"
expect 2 'sum\(\) needs a number, not VARCHAR' -- "SELECT sum(name) FROM $t"
expect 2 "column 'name' must appear in the GROUP BY" -- "SELECT name, count(*) FROM $t"
expect 2 "unknown table 'flights'" -- "SELECT * FROM flights"
expect 2 'no such file' -- "SELECT * FROM '$tmp/nope*.csv'"
expect 2 'unknown function nosuch' -- "SELECT nosuch(id) FROM $t"
# joins: ambiguous and unknown qualified names, non-equality ON of a LEFT JOIN
expect 2 "ambiguous column 'id': both tables have it" -- \
    "SELECT id FROM $t a JOIN '$tmp/big.csv' b ON a.id = b.id"
expect 2 "unknown table 'b'" -- "SELECT b.x FROM (SELECT id AS x FROM $t) a"
expect 2 "unknown table 'c'" -- "SELECT c.id FROM $t a JOIN '$tmp/big.csv' b ON a.id = b.id"
expect 2 'LEFT JOIN ... ON takes equalities' -- \
    "SELECT a.id FROM $t a LEFT JOIN '$tmp/big.csv' b ON a.id = b.id AND b.v > 1"
expect 2 'needs an equality between the two tables' -- \
    "SELECT a.id FROM $t a JOIN '$tmp/big.csv' b ON a.id > b.id"
# runtime errors: exit 1
expect 1 'overflow in addition of BIGINT' -- "SELECT v + v FROM '$tmp/big.csv'"
expect 1 "could not convert string 'Portland, OR' to BIGINT.*offset 19" -- "SELECT CAST(name AS BIGINT) FROM $t"
expect 1 "bad.csv, offset [0-9]+: column 'n': 'x' is not a BIGINT" -- \
    "SELECT n FROM '$tmp/bad.csv'" --schema n:bigint
# a file of the table whose header lacks a column the query reads (the first file names them)
mkdir "$tmp/h"
printf 'a,b\n1,2\n' >"$tmp/h/x1.csv"
printf 'a,c\n3,4\n' >"$tmp/h/x2.csv"
expect 1 "x2.csv has no column 'b' \(its header.*: a, c\)" -- "SELECT b FROM '$tmp/h/x*.csv'"
# the issue's examples: typed SQL answers
"$SHEAF" sql --format csv "SELECT id FROM $t WHERE amount > 5 AND amount < 100" >"$tmp/out"
[[ $(cat "$tmp/out") == $'id\n1' ]] || fail "amount > 5 AND amount < 100: $(cat "$tmp/out")"
"$SHEAF" sql --format csv "SELECT id FROM $t WHERE name = 'Portland, OR'" >"$tmp/out"
[[ $(cat "$tmp/out") == $'id\n1' ]] || fail "name = 'Portland, OR': $(cat "$tmp/out")"
"$SHEAF" sql --format csv "SELECT id FROM $t WHERE amount <> 5 ORDER BY id" >"$tmp/out"
[[ $(cat "$tmp/out") == $'id\n1\n4' ]] || fail "amount <> 5 keeps NULLs: $(cat "$tmp/out")"
"$SHEAF" sql --format csv "SELECT sum(amount), max(amount) FROM $t WHERE id = 4" >"$tmp/out"
[[ $(cat "$tmp/out") == $'sum(amount),max(amount)\n9007199254740993,9007199254740993' ]] ||
    fail "exact int64 sum/max: $(cat "$tmp/out")"
# a tsv table, by extension and by --table NAME=PATH:tsv; a --schema type
printf 'k\tv\na\t1\nb\t2\na\t3\n' >"$tmp/t.tsv"
cp "$tmp/t.tsv" "$tmp/t2.txt"
"$SHEAF" sql --format csv "SELECT k, sum(v) FROM '$tmp/t.tsv' GROUP BY k ORDER BY k" >"$tmp/out"
[[ $(cat "$tmp/out") == $'k,sum(v)\na,4\nb,2' ]] || fail "tsv by extension: $(cat "$tmp/out")"
"$SHEAF" sql --format csv --table "t=$tmp/t2.txt:tsv" --schema v:varchar \
    "SELECT max(v) AS m FROM t" >"$tmp/out"
[[ $(cat "$tmp/out") == $'m\n3' ]] || fail "--table NAME=PATH:tsv: $(cat "$tmp/out")"
expect 2 "cannot apply \+ to VARCHAR and BIGINT" -- --table "t=$tmp/t2.txt:tsv" \
    --schema v:varchar "SELECT v + 1 FROM t"
# -o: committed CSV, one column per key and aggregate under the real names
q="SELECT name, count(*) AS n, sum(amount) AS total FROM $t GROUP BY name ORDER BY name"
for np in 1 3; do
    rm -rf "$tmp/o"
    "$MPIRUN" -np $np --oversubscribe "$SHEAF" sql --quiet -o "$tmp/o" "$q" 2>"$tmp/err" ||
        fail "-o at $np ranks: $(cat "$tmp/err")"
    [[ -f $tmp/o/_SUCCESS ]] || fail "-o at $np ranks: no _SUCCESS"
    cat "$tmp"/o/part-r-* >"$tmp/got"
    printf 'name,n,total\nBergen,1,9007199254740993\nOslo,2,5\n"Portland, OR",1,10\n' >"$tmp/want"
    cmp -s "$tmp/got" "$tmp/want" || fail "-o at $np ranks: $(cat "$tmp/got")"
done
# a failed query leaves an existing output as it was; an existing one needs --overwrite
expect 1 'already exists' -- -o "$tmp/o" "$q"
expect 1 'overflow' -- -o "$tmp/o" --overwrite "SELECT v * 2 FROM '$tmp/big.csv'"
cat "$tmp"/o/part-r-* | cmp -s - "$tmp/want" || fail "a failed query changed the output"
[[ -z $(find "$tmp" -maxdepth 1 -name 'o.sql-work.*') ]] || fail "a work directory was left"
# EXPLAIN names the rounds
"$SHEAF" sql "EXPLAIN $q" >"$tmp/out" 2>&1 || fail "EXPLAIN failed"
grep -q '^Round 1: one sheaf_run' "$tmp/out" || fail "EXPLAIN: $(cat "$tmp/out")"
grep -q '^  combine  merge the partial states' "$tmp/out" || fail "EXPLAIN: no combine"
((fails == 0)) || { echo "$fails failed"; exit 1; }
echo "all passed"
