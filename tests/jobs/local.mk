# The built-in jobs under mpirun at 1 to 4 ranks, each compared with a reference computed
# another way (coreutils, awk, python3 when present). One file per group of jobs, so
# `make -j2 check` runs them side by side; tests/jobs/lib.sh holds their shared helpers.
JOB_TESTS = \
	tests/jobs/sort.sh \
	tests/jobs/grep.sh \
	tests/jobs/index.sh \
	tests/jobs/stats.sh \
	tests/jobs/relational.sh \
	tests/jobs/iterative.sh
TESTS += $(JOB_TESTS)
EXTRA_DIST += tests/jobs/lib.sh $(JOB_TESTS) docs/jobs.md
