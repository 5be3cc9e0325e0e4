#!/usr/bin/env bats
# tests/scripts/bats-lint: every .bats file of the tree passes it, and it finds the assertions
# that cannot fail (an && list of them, a bare `! cmd`) in a sample, and nothing in good code.
# (The samples say TEST for @test, which bats would read as tests of this file, until sed.)

load helpers

LINT=$top_srcdir/tests/scripts/bats-lint

setup() {
    cd "$BATS_TEST_TMPDIR"
}

@test "bats-lint: every .bats file of the tree is clean" {
    local -a files
    mapfile -t files < <(find "$top_srcdir/tests" -name '*.bats' | sort)
    [ "${#files[@]}" -ge 5 ]
    run "$LINT" "${files[@]}"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "bats-lint: flags && lists of assertions and a bare ! before a function's last line" {
    cat >bad.bats <<'EOF'
#!/usr/bin/env bats

helper() {
    [ "$1" = x ] && [ "$2" = y ]
    true
}

TEST "bad" {
    run false
    [ "$status" -eq 2 ] && [[ $output == *"no"* ]]
    [[ -n $output ]] && [[ -z $x ]] && (( 1 == 2 ))
    ! grep -q x file
    test -f a && [ -s a ]
    [ "$status" -eq 1 ] &&
        [ -n "$output" ]
    run true
}
EOF
    sed -i 's/^TEST/@test/' bad.bats
    run "$LINT" bad.bats
    echo "$output"
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 6 ]
    [[ ${lines[0]} == "bad.bats:4: an && list of assertions"* ]]
    [[ ${lines[1]} == "bad.bats:10: an && list of assertions"* ]]
    [[ ${lines[2]} == "bad.bats:11: an && list of assertions"* ]]
    [[ ${lines[3]} == 'bad.bats:12: a bare "! cmd"'* ]]
    [[ ${lines[4]} == "bad.bats:13: an && list of assertions"* ]]
    [[ ${lines[5]} == "bad.bats:14: an && list of assertions"* ]]
}

@test "bats-lint: leaves alone what fails when it should" {
    cat >good.bats <<'EOF'
#!/usr/bin/env bats

TEST "good" {
    run ! grep -q x file
    [[ $a == x && $b == y ]]
    [ "$(echo "a && b")" = 'a && b' ] || { echo no; false; }
    for i in 1 2; do
        [[ $i == 2 ]] && break
    done
    if ! cmd; then false; fi
    x=$([ a ] && [ b ] && echo y)
    run sh -c '[ a ] && [ b ]
        ! true'
    cat >f <<-EOS
	[ a ] && [ b ]
	! true
	EOS
    [ "$status" -eq 0 ] && [ -n "$output" ]
}

TEST "last line" {
    ! false
}
EOF
    sed -i 's/^TEST/@test/' good.bats
    run "$LINT" good.bats
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    run "$LINT"
    [ "$status" -eq 2 ]
}
