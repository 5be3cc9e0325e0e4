#!/usr/bin/env bash
# Random queries against DuckDB (tests/sql/fuzz.py): a fixed seed's queries over gen.py's
# tables, each run by `sheaf sql` at 1 or 2 ranks in turn and by DuckDB, answers compared as
# the corpus's are. SHEAF_SQL_FUZZ_SEED and SHEAF_SQL_FUZZ_COUNT (default 1 and 120) choose
# other queries: `SHEAF_SQL_FUZZ_SEED=7 SHEAF_SQL_FUZZ_COUNT=1000` runs a thousand new ones.
# Skipped (77) without python3, node or the oracle (scripts/check installs it).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
sql_oracle_setup fuzz
python3 "$top_srcdir/tests/sql/gen.py" "$tmp/data" 3000 /dev/null
python3 "$top_srcdir/tests/sql/fuzz.py" "$SHEAF" "$tmp/data" "$tmp/work" \
    --seed "${SHEAF_SQL_FUZZ_SEED:-1}" --count "${SHEAF_SQL_FUZZ_COUNT:-120}" --nps "1 2"
