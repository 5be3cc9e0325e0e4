# sheaf sql: bad queries and committed output (errors.sh), and the corpus of queries compared
# with DuckDB at 1 to 4 ranks (oracle.sh, through run.py and oracle.mjs; tables from gen.py).
SQL_TESTS = tests/sql/errors.sh tests/sql/oracle.sh
TESTS += $(SQL_TESTS)
EXTRA_DIST += $(SQL_TESTS) tests/sql/run.py tests/sql/gen.py tests/sql/oracle.mjs \
	tests/sql/queries docs/sql.md
