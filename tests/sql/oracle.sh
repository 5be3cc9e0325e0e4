#!/usr/bin/env bash
# The SQL corpus (tests/sql/queries/*.sql) run by `sheaf sql` under mpirun and by DuckDB, the
# answers compared (tests/sql/run.py says how). Tables: tests/sql/gen.py's TPC-H-like
# lineitem and orders, a word list table, an empty table. Each query runs at one rank count,
# 1 to 4 in turn, unless SHEAF_SQL_NPS names the rank counts to run every query at
# (SHEAF_SQL_NPS="1 2 3 4": all of them). Skipped (77) without python3, node or the oracle
# (scripts/check installs it into tests/oracle/node_modules).
set -euo pipefail
: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${SHEAF:=$top_srcdir/sheaf}"
: "${MPIRUN:=mpirun}"
export MPIRUN top_srcdir
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 is missing"; exit 77; }
command -v node >/dev/null 2>&1 || { echo "SKIP: node is missing"; exit 77; }
[[ -d $top_srcdir/tests/oracle/node_modules/@duckdb/node-api ]] ||
    { echo "SKIP: the DuckDB oracle is not installed (scripts/check installs it)"; exit 77; }
if ((EUID == 0)); then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sheaf-sql-oracle.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
words=/usr/share/dict/words
[[ -r $words ]] || words=/dev/null
python3 "$top_srcdir/tests/sql/gen.py" "$tmp/data" "${SHEAF_SQL_ROWS:-3000}" "$words"
if [[ -z ${SHEAF_SQL_NPS:-} ]]; then
    export SHEAF_SQL_ROTATE=1 SHEAF_SQL_NPS="1 2 3 4"
fi
python3 "$top_srcdir/tests/sql/run.py" "$SHEAF" "$tmp/data" "$tmp/work"
