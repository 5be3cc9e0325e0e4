#!/usr/bin/env bash
# examples/wordcount.c built against the installed Sheaf (shared, and once against libsheaf.a),
# run on 1 to 3 ranks and alone, compared with word counts from coreutils.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/install/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_sheaf
build_example wordcount

# Input: a slice of the corpus, a file without a final newline, CRLF lines, runs of blanks,
# an empty file and an empty line.
mkdir -p "$TMP/in"
text_sample 3000 >"$TMP/in/kjv.txt"
printf 'to be\tor  not to be\r\nthat is\r\n\r\n  the question' >"$TMP/in/edge.txt"
: >"$TMP/in/empty.txt"

# The reference: word TAB count, sorted.
for f in "$TMP"/in/*.txt; do
    cat "$f"
    echo # words never span two files
done | tr -s ' \t\r\n\v\f' '\n' | grep -v '^$' | sort | uniq -c |
    sed -E 's/^ *([0-9]+) (.+)$/\2\t\1/' | sort >"$TMP/ref"

# check_wc OUT: OUT's part files, each sorted by word, hold the reference's counts.
check_wc() {
    local out=$1 part
    check_done "$out"
    for part in "$out"/part-r-*; do
        sort -c -t "$TAB" -k1,1 "$part" || fail "$part is not sorted by word"
    done
    cat "$out"/part-r-* | sort >"$out.sorted"
    same "$out.sorted" "$TMP/ref" "$out"
}

case_ranks() {
    local np
    for np in 1 2 3; do
        must_np "$np" wordcount -i "$TMP/in" -o "$TMP/out-np$np"
        check_wc "$TMP/out-np$np"
    done
}

case_small_splits() {
    # Many splits: words must not be cut or counted twice at split boundaries.
    must_np 3 wordcount -i "$TMP/in" -o "$TMP/out-splits" --split-size 4K --reducers 5
    check_wc "$TMP/out-splits"
    [[ $(find "$TMP/out-splits" -name 'part-r-*' | wc -l) -eq 5 ]] || fail "not 5 part files"
}

case_singleton() {
    must_np 0 wordcount -i "$TMP/in" -o "$TMP/out-single"
    check_wc "$TMP/out-single"
}

case_strict_c11() {
    # The public header builds cleanly in strict ISO C11 with the project's warning set.
    build_example wordcount -std=c11 -pedantic -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes
}

case_static() {
    local rc=0
    build_example_static wordcount || rc=$?
    if ((rc == 77)); then
        echo "# no libsheaf.a installed (--disable-static): nothing to check"
        return 0
    fi
    ((rc == 0)) || return "$rc"
    if readelf -d "$TMP/user/wordcount-static" | grep -q 'NEEDED.*libsheaf'; then
        fail "the static build still needs libsheaf.so"
    fi
    # Runs without the installed library on the search path.
    LD_LIBRARY_PATH='' must_np 2 wordcount-static -i "$TMP/in" -o "$TMP/out-static"
    check_wc "$TMP/out-static"
}

case_usage() {
    local rc=0
    run_np 0 wordcount -i "$TMP/in" || rc=$?
    ((rc == 2)) || fail "a missing -o gave status $rc, not 2"
    rc=0
    run_np 2 wordcount -i "$TMP/no/such/file" -o "$TMP/out-missing" || rc=$?
    ((rc == 1)) || fail "a missing input gave status $rc, not 1"
    grep -q "no/such/file" "$LAST_LOG" || fail "the error does not name the missing input"
    [[ ! -e $TMP/out-missing/_SUCCESS ]] || fail "a failed job wrote _SUCCESS"
}

run_case "1 to 3 ranks" case_ranks
run_case "small splits, 5 reducers" case_small_splits
run_case "singleton (no mpirun)" case_singleton
run_case "strict C11 build" case_strict_c11
run_case "static library" case_static
run_case "usage and errors" case_usage
finish
