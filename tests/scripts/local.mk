# sheaf-cluster tests: run by bats (BATS_LOG_COMPILER) with the environment of AM_TESTS_ENVIRONMENT.
TESTS += \
	tests/scripts/bats-lint.bats \
	tests/scripts/shellcheck.bats \
	tests/scripts/lib.bats \
	tests/scripts/pycompat.bats \
	tests/scripts/cluster-local.bats \
	tests/scripts/cluster-hosts.bats \
	tests/scripts/cluster-slurm.bats
EXTRA_DIST += \
	tests/scripts/bats-lint \
	tests/scripts/bats-lint.bats \
	tests/scripts/shellcheck.bats \
	tests/scripts/lib.bats \
	tests/scripts/cluster-local.bats \
	tests/scripts/cluster-hosts.bats \
	tests/scripts/cluster-slurm.bats \
	tests/scripts/pycompat.bats \
	tests/scripts/pycompat.py \
	tests/scripts/helpers.bash \
	docs/sheaf-cluster.md
