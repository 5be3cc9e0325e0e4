# Sourced by the sql tests that ask DuckDB (oracle.sh, formats.sh, jobs.sh, fuzz.sh):
# `sql_oracle_setup NAME [COMMAND...]` sets SHEAF, MPIRUN and top_srcdir, skips the test (77)
# without python3, node, each COMMAND or the DuckDB oracle (scripts/check installs it into
# tests/oracle/node_modules), lets Open MPI run as root, and makes $tmp, removed at exit.
sql_oracle_setup() {
    local name=$1 c
    shift
    : "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
    : "${SHEAF:=$top_srcdir/sheaf}"
    : "${MPIRUN:=mpirun}"
    export MPIRUN top_srcdir
    for c in python3 node "$@"; do
        command -v "$c" >/dev/null 2>&1 || { echo "SKIP: $c is missing"; exit 77; }
    done
    [[ -d $top_srcdir/tests/oracle/node_modules/@duckdb/node-api ]] ||
        { echo "SKIP: the DuckDB oracle is not installed (scripts/check installs it)"; exit 77; }
    if ((EUID == 0)); then
        export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    fi
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/sheaf-sql-$name.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
}
