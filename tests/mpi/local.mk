# Word-count integration tests: sheaf wordcount under mpirun at 1 to 4 ranks, compared with a
# coreutils reference. Five files so that `make -j2 check` runs them side by side.
TESTS += \
	tests/mpi/wc-sample.sh \
	tests/mpi/wc-splits.sh \
	tests/mpi/wc-inputs.sh \
	tests/mpi/wc-cli.sh \
	tests/mpi/wc-tokens.sh \
	tests/mpi/wc-compressed.sh \
	tests/mpi/wc-outcompress.sh
EXTRA_DIST += \
	tests/mpi/lib.sh \
	tests/cases.sh \
	tests/mpi/wc-sample.sh \
	tests/mpi/wc-splits.sh \
	tests/mpi/wc-inputs.sh \
	tests/mpi/wc-cli.sh \
	tests/mpi/wc-tokens.sh \
	tests/mpi/wc-compressed.sh \
	tests/mpi/wc-outcompress.sh \
	tests/tools/gencorpus.c \
	bench/mrmpi_wordfreq.cpp \
	scripts/lib.sh \
	.ci/run
