# The built-in jobs under mpirun at 1 to 4 ranks, each compared with a reference computed
# another way (coreutils, awk, python3 when present). One file per job, so `make -j2 check`
# runs them side by side; tests/jobs/lib.sh holds their shared helpers.
JOB_TESTS = \
	tests/jobs/grep.sh \
	tests/jobs/sort.sh \
	tests/jobs/index.sh
TESTS += $(JOB_TESTS)
EXTRA_DIST += tests/jobs/lib.sh $(JOB_TESTS)
