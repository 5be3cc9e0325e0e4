# Fuzzing (issue 8): libFuzzer targets for the readers and the planner, the size/delimiter/
# format parsers, sheaf_main's option parser and the HTML report writer, built with clang
# against the runtime's sources and run FUZZ_SECONDS (default 20) each by tests/fuzz/run.sh;
# skipped (77) when clang cannot link libFuzzer programs. Seed corpora: tests/fuzz/corpus/.
TESTS += tests/fuzz/run.sh
EXTRA_DIST += tests/fuzz/run.sh \
	tests/fuzz/fuzz_reader.c \
	tests/fuzz/fuzz_size.c \
	tests/fuzz/fuzz_options.c \
	tests/fuzz/fuzz_report.c \
	tests/fuzz/fuzz_thrift.c \
	tests/fuzz/fuzz_pqpage.c \
	tests/fuzz/fuzz_sql.c \
	tests/fuzz/fuzz_schema.c \
	tests/fuzz/corpus \
	tests/fuzz/crashes
