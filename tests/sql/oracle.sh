#!/usr/bin/env bash
# The SQL corpus (tests/sql/queries/*.sql) run by `sheaf sql` under mpirun and by DuckDB, the
# answers compared (tests/sql/run.py says how). Tables: tests/sql/gen.py's TPC-H-like
# lineitem and orders, a word list table, an empty table. Each query runs at one rank count,
# 1 to 4 in turn, unless SHEAF_SQL_NPS names the rank counts to run every query at
# (SHEAF_SQL_NPS="1 2 3 4": all of them). Skipped (77) without python3, node or the oracle
# (scripts/check installs it into tests/oracle/node_modules).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
sql_oracle_setup oracle
words=/usr/share/dict/words
[[ -r $words ]] || words=/dev/null
python3 "$top_srcdir/tests/sql/gen.py" "$tmp/data" "${SHEAF_SQL_ROWS:-3000}" "$words"
if [[ -z ${SHEAF_SQL_NPS:-} ]]; then
    export SHEAF_SQL_ROTATE=1 SHEAF_SQL_NPS="1 2 3 4"
fi
python3 "$top_srcdir/tests/sql/run.py" "$SHEAF" "$tmp/data" "$tmp/work"
