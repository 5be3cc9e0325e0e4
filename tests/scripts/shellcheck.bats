#!/usr/bin/env bats
# The launcher's sh part (the per-rank wrapper) and the test helpers pass shellcheck without
# warnings; the launcher itself is Python and must at least compile.

load helpers

setup_file() {
    ensure_packages shellcheck:shellcheck
}

@test "shellcheck: scripts/sheaf-cluster-rank is clean" {
    run shellcheck -s sh "$top_srcdir/scripts/sheaf-cluster-rank"
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "scripts/sheaf-cluster is Python 3 that compiles, not sh" {
    [ "$(head -n 1 "$top_srcdir/scripts/sheaf-cluster")" = "#!/usr/bin/env python3" ]
    run python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' \
        "$top_srcdir/scripts/sheaf-cluster"
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
