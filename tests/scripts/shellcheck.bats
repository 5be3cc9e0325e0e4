#!/usr/bin/env bats
# The launcher and the test helpers pass shellcheck without warnings.

load helpers

setup_file() {
    ensure_packages shellcheck:shellcheck
}

@test "shellcheck: scripts/sheaf-cluster is clean" {
    run shellcheck "$top_srcdir/scripts/sheaf-cluster"
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "shellcheck: tests/scripts/helpers.bash is clean" {
    run shellcheck -s bash "$top_srcdir/tests/scripts/helpers.bash"
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "shellcheck: tests/scripts/bats-lint is clean" {
    run shellcheck "$top_srcdir/tests/scripts/bats-lint"
    echo "$output"
    [ "$status" -eq 0 ]
}
