# sheaf sql: bad queries and committed output (errors.sh), and the corpus of queries compared
# with DuckDB at 1 to 4 ranks (oracle.sh, through run.py and oracle.mjs; tables from gen.py),
# the corpus over Parquet, compressed csv and tsv (formats.sh), groupby against DuckDB (jobs.sh),
# seeded random queries against DuckDB (fuzz.sh, through fuzz.py).
SQL_TESTS = tests/sql/errors.sh tests/sql/oracle.sh tests/sql/formats.sh tests/sql/jobs.sh \
	tests/sql/fuzz.sh
TESTS += $(SQL_TESTS)
# sql/value.c: text to values against the C library, dates, the binary form (CUnit).
check_PROGRAMS += tests/sql/test_value
TESTS += tests/sql/test_value
tests_sql_test_value_SOURCES = tests/sql/test_value.c sql/value.c jobs/jobutil.c
tests_sql_test_value_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_sql_test_value_LDADD = libsheaf_core.la $(CUNIT_LIBS) -lm
EXTRA_DIST += $(SQL_TESTS) tests/sql/lib.sh tests/sql/run.py tests/sql/gen.py tests/sql/sqlcmp.py tests/sql/fuzz.py tests/sql/oracle.mjs tests/sql/formats.mjs \
	tests/sql/queries docs/sql.md bench/genlineitem.py bench/sql_duckdb.mjs
