#!/usr/bin/env bash
# Random queries against DuckDB (tests/sql/fuzz.py): a fixed seed's queries over gen.py's
# tables, each run by `sheaf sql` at 1 or 2 ranks in turn and by DuckDB, answers compared as
# the corpus's are. SHEAF_SQL_FUZZ_SEED and SHEAF_SQL_FUZZ_COUNT (default 1 and 120) choose
# other queries: `SHEAF_SQL_FUZZ_SEED=7 SHEAF_SQL_FUZZ_COUNT=1000` runs a thousand new ones.
# Skipped (77) without python3, node or the oracle (scripts/check installs it).
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
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sheaf-sql-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
python3 "$top_srcdir/tests/sql/gen.py" "$tmp/data" 3000 /dev/null
python3 "$top_srcdir/tests/sql/fuzz.py" "$SHEAF" "$tmp/data" "$tmp/work" \
    --seed "${SHEAF_SQL_FUZZ_SEED:-1}" --count "${SHEAF_SQL_FUZZ_COUNT:-120}" --nps "1 2"
