# shellcheck shell=bash
# Helpers for the built-in job tests (tests/jobs/*.sh). They build on the word-count test
# helpers (tests/mpi/lib.sh: run_case, run_np, must_np, fail, finish, $TMP) and add:
#
#   NPS                 the rank counts every job runs at (default "1 2 3 4"; SHEAF_TEST_NPS)
#   have_python         true when python3 is there to compute a reference
#   parts OUT           the job's part files concatenated, in name order (checks _SUCCESS)
#   same_sorted OUT REF the output's lines, sorted, equal REF's lines, sorted
#   same_file A B       byte-equal files (shows a diff when not)
#   skip_test MSG       the whole file is skipped (exit 77)
# shellcheck source=tests/mpi/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../mpi/lib.sh"

NPS=${SHEAF_TEST_NPS:-1 2 3 4}

have_python() {
    command -v python3 >/dev/null 2>&1
}

skip_test() {
    echo "SKIP: $*"
    exit 77
}

parts() {
    local out=$1
    [[ -f $out/_SUCCESS ]] || fail "$out/_SUCCESS is missing"
    local -a p=("$out"/part-r-*)
    [[ -e ${p[0]} ]] || fail "no part-r-* files in $out"
    cat "${p[@]}"
}

same_file() {
    if ! cmp -s "$1" "$2"; then
        echo "$1 (<) differs from $2 (>):" >&2
        diff "$1" "$2" | head -n 20 | cat -v >&2 || true
        fail "$1 and $2 differ"
    fi
}

same_sorted() {
    local out=$1 ref=$2
    parts "$out" | sort >"$out.sorted"
    sort "$ref" >"$out.ref.sorted"
    same_file "$out.sorted" "$out.ref.sorted"
}

# each_np NAME ARG...: runs `sheaf ARG... -o $TMP/NAME-npN` for every N in NPS; the caller
# checks the outputs afterwards (their names are printed by outs NAME).
each_np() {
    local name=$1 np
    shift
    for np in $NPS; do
        must_np "$np" "$@" -o "$TMP/$name-np$np"
    done
}

outs() {
    local np
    for np in $NPS; do
        echo "$TMP/$1-np$np"
    done
}
