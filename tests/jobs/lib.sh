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
        diff "$1" "$2" | head -n 20 | cut -c1-300 | cat -v >&2 || true
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

# gen_csv N FILE: a csv file with a header (id,name,city,amount,score,tag) and N rows: quoted
# fields with commas and quotes, empty fields, negative and fractional numbers, and one city
# holding most rows (a skewed key).
gen_csv() {
    awk -v n="$1" 'BEGIN {
        srand(11)
        print "id,name,city,amount,score,tag"
        split("Paris,Lyon,\"Nice, FR\",Oslo,\"Say \"\"Hi\"\"\",Rome", c, ",")
        for (i = 1; i <= n; i++) {
            r = rand()
            if (r < 0.6) city = "Paris"
            else if (r < 0.7) city = "Lyon"
            else if (r < 0.8) city = "\"Nice, FR\""
            else if (r < 0.9) city = "Oslo"
            else if (r < 0.95) city = "\"Say \"\"Hi\"\"\""
            else city = ""
            amount = int(rand() * 2000) - 500
            if (rand() < 0.05) amount = ""
            score = sprintf("%.3f", rand() * 100)
            if (rand() < 0.03) score = "n/a"
            tag = (rand() < 0.5) ? "t" int(rand() * 50) : ""
            printf "%d,name%d,%s,%s,%s,%s\n", i, i % 37, city, amount, score, tag
        }
    }' >"$2"
}
