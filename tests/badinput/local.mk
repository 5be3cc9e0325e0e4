# The bad-input matrix (issue 8): paths, options, record contents, resources, long records and
# the shuffle's message chunking. Several files so that `make -j2 check` runs them side by
# side; tests/badinput/large.sh only runs with SHEAF_TEST_LARGE=1 (a >2 GiB shuffle message).
BADINPUT_TESTS = \
	tests/badinput/paths.sh \
	tests/badinput/options.sh \
	tests/badinput/content.sh \
	tests/badinput/resources.sh \
	tests/badinput/longline.sh \
	tests/badinput/chunks.sh \
	tests/badinput/large.sh
# Inputs that are not what they seem, numbers at the ends of the double range, column names
# that do not resolve, and the bound on --reducers; badpart is a job with a bad partitioner.
BADINPUT_TESTS += \
	tests/badinput/inputs.sh \
	tests/badinput/numbers.sh \
	tests/badinput/columns.sh \
	tests/badinput/reducers.sh
check_PROGRAMS += tests/badinput/badpart
tests_badinput_badpart_SOURCES = tests/badinput/badpart.c
tests_badinput_badpart_LDADD = libsheaf_core.la
TESTS += $(BADINPUT_TESTS)
EXTRA_DIST += tests/badinput/lib.sh $(BADINPUT_TESTS) \
	tests/sanitize/run.sh tests/sanitize/env.sh tests/sanitize/lsan.supp \
	tests/sanitize/nodlclose.c
# Nothing lost: work directories, gensort --overwrite, --report, outputs holding inputs.
TESTS += tests/badinput/nolost.sh
EXTRA_DIST += tests/badinput/nolost.sh
