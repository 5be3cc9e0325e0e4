# Parquet: the writer and the reader against independent implementations (DuckDB, hyparquet;
# tests/oracle), through the pqtool test tool, and Parquet input and output of jobs.
PARQUET_TESTS = \
	tests/parquet/oracle.sh \
	tests/parquet/jobs.sh \
	tests/parquet/rows.sh \
	tests/parquet/convert.sh \
	tests/parquet/partition.sh \
	tests/parquet/schemafile.sh
TESTS += $(PARQUET_TESTS)
check_PROGRAMS += tests/tools/pqtool tests/parquet/rowjob
tests_parquet_rowjob_SOURCES = tests/parquet/rowjob.c
tests_parquet_rowjob_LDADD = libsheaf_core.la
tests_tools_pqtool_SOURCES = tests/tools/pqtool.c
tests_tools_pqtool_LDADD = libsheaf_core.la
EXTRA_DIST += $(PARQUET_TESTS) tests/parquet/lib.sh tests/oracle/parquet.mjs tests/oracle/pqjobs.mjs tests/parquet/duck.mjs
