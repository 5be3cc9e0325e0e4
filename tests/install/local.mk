# Install tests: `make install` into a temporary DESTDIR, then each program of examples/ built
# as a user builds it (mpicc + pkg-config, outside the source tree), run under mpirun at 1 to
# 3 ranks and compared with a reference computed by coreutils or awk. One file per example so
# that `make -j check` runs them side by side.
TESTS += \
	tests/install/wordcount.sh \
	tests/install/invertedindex.sh \
	tests/install/secondary_sort.sh \
	tests/install/join.sh \
	tests/install/kmeans.sh \
	tests/install/counters.sh \
	tests/install/reader.sh \
	tests/install/broadcast_join.sh
EXTRA_DIST += \
	tests/install/lib.sh \
	tests/install/wordcount.sh \
	tests/install/invertedindex.sh \
	tests/install/secondary_sort.sh \
	tests/install/join.sh \
	tests/install/kmeans.sh \
	tests/install/counters.sh \
	tests/install/reader.sh \
	examples/README.md \
	examples/wordcount.c \
	examples/invertedindex.c \
	examples/secondary_sort.c \
	examples/join.c \
	examples/kmeans.c \
	examples/counters.c \
	tests/install/broadcast_join.sh \
	examples/broadcast_join.c \
	docs/api.md
# The tests serialize their installs with this lock file in the build tree.
CLEANFILES += .install-test.lock
