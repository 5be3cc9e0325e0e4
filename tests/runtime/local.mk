# Runtime integration tests: streaming, out-of-core spilling, agreed failure, the report,
# input and output formats, placement. fields, named and setupsort are small test jobs.
RUNTIME_TESTS = \
	tests/runtime/stream.sh \
	tests/runtime/streamsafe.sh \
	tests/runtime/spill.sh \
	tests/runtime/fault.sh \
	tests/runtime/report.sh \
	tests/runtime/summary.sh \
	tests/runtime/htmlreport.sh \
	tests/runtime/formats.sh \
	tests/runtime/compressed.sh \
	tests/runtime/csvsplit.sh \
	tests/runtime/outputs.sh \
	tests/runtime/placement.sh
TESTS += $(RUNTIME_TESTS)
check_PROGRAMS += tests/runtime/fields tests/runtime/named tests/runtime/setupsort
tests_runtime_named_SOURCES = tests/runtime/named.c
tests_runtime_named_LDADD = libsheaf_core.la
tests_runtime_fields_SOURCES = tests/runtime/fields.c
tests_runtime_fields_LDADD = libsheaf_core.la
tests_runtime_setupsort_SOURCES = tests/runtime/setupsort.c
tests_runtime_setupsort_LDADD = libsheaf_core.la
EXTRA_DIST += $(RUNTIME_TESTS) tests/runtime/csvref.py
# The windows of the commit path, private spill directories, jobs stopped by signals.
TESTS += tests/runtime/windows.sh
EXTRA_DIST += tests/runtime/windows.sh
# sheaf_agree, the public failure agreement, for every subset of failing ranks.
check_PROGRAMS += tests/runtime/agree
tests_runtime_agree_SOURCES = tests/runtime/agree.c
tests_runtime_agree_LDADD = libsheaf_core.la
TESTS += tests/runtime/agree.sh
EXTRA_DIST += tests/runtime/agree.sh
