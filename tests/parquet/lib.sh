# shellcheck shell=bash
# tests/parquet/lib.sh: what the Parquet job tests share, on top of tests/jobs/lib.sh: the
# test oracles (node, DuckDB and hyparquet-writer from tests/oracle: SKIP (77) without node, an
# error (99) without the packages, which scripts/check installs), the tables of
# tests/oracle/pqjobs.mjs generated in $TMP, and two helpers:
#   duck ARG...   tests/parquet/duck.mjs (DuckDB: same, types, ...)
#   spec FILE     the --schema line `sheaf schema FILE` prints
# shellcheck source=tests/jobs/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../jobs/lib.sh"
oracle=$top_srcdir/tests/oracle
command -v node >/dev/null 2>&1 || skip_test "node is missing"
[[ -d $oracle/node_modules/@duckdb/node-api && -d $oracle/node_modules/hyparquet-writer ]] ||
    { echo "error: no test oracles in tests/oracle (scripts/check installs them)" >&2; exit 99; }
node "$oracle/pqjobs.mjs" gen "$TMP" || fail "cannot generate the data"
duck() {
    node "$top_srcdir/tests/parquet/duck.mjs" "$@"
}
spec() {
    "$SHEAF" schema "$1" | sed -n 's/^  --schema //p'
}
