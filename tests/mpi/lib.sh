# shellcheck shell=bash
# Helpers for the word-count integration tests: each test file sources this, defines its cases
# as functions, runs them with `run_case`, and ends with `finish`.
#
# A case runs in a subshell with `set -e`, so any failing command fails the case; the other
# cases still run. The tests compare `sheaf wordcount` run under mpirun with a reference
# computed by coreutils, after sorting both (words are spread over the partitions by hash).
#
# Environment (set by `make check`; the defaults let a test run by hand from the source tree):
#   SHEAF, MPIRUN, top_srcdir, top_builddir
#   SHEAF_TEST_TIMEOUT   seconds one sheaf run may take (default 120)
#   SHEAF_TEST_KEEP=1    keep the temporary directory
# Exit status: 0 all passed, 1 a case failed, 77 skipped, 99 hard error.
set -euo pipefail

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${SHEAF:=$top_builddir/sheaf}"
: "${MPIRUN:=mpirun}"
: "${SHEAF_TEST_TIMEOUT:=120}"
if ((EUID == 0)); then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_rmaps_base_oversubscribe=1
# Tests run two at a time on small machines: ranks that wait should yield their core.
export OMPI_MCA_mpi_yield_when_idle=1
# When a rank exits non-zero, mpirun waits a second before it kills the others and another
# before it exits; the tests of failing jobs do not need that grace.
export OMPI_MCA_odls_base_sigkill_timeout=0
export LC_ALL=C

TAB=$(printf '\t')

if [[ ! -x $SHEAF ]]; then
    echo "error: $SHEAF is not built" >&2
    exit 99
fi
command -v "$MPIRUN" >/dev/null 2>&1 || { echo "error: $MPIRUN not found" >&2; exit 99; }

# shellcheck source=tests/cases.sh
SHEAF_TEST_PREFIX=sheaf-test . "$top_srcdir/tests/cases.sh"

# run_np NP ARG...: runs `sheaf ARG...` on NP ranks under mpirun (or without mpirun when NP
# is 0: a singleton). Output (stdout and stderr) goes to $LAST_LOG; returns sheaf's status.
run_np() {
    local np=$1 rc=0
    shift
    local -a cmd=("$SHEAF" "$@")
    if ((np > 0)); then
        cmd=("$MPIRUN" -np "$np" --oversubscribe "${cmd[@]}")
    fi
    echo "\$ ${cmd[*]}"
    timeout -k 10 "$SHEAF_TEST_TIMEOUT" "${cmd[@]}" >"$LAST_LOG" 2>&1 </dev/null || rc=$?
    if ((rc == 124 || rc == 137)); then
        echo "timed out after $SHEAF_TEST_TIMEOUT s" >>"$LAST_LOG"
    fi
    return "$rc"
}

# must_np NP ARG...: run_np that must succeed; shows the output when it does not.
must_np() {
    local rc=0
    run_np "$@" || rc=$?
    if ((rc != 0)); then
        tail -n 30 "$LAST_LOG" >&2
        fail "sheaf exited with status $rc"
    fi
}

# ref_wc [--lower] [--alnum] FILE...: the reference word counts of the files, `word<TAB>count`
# lines sorted bytewise. Words never span two files.
ref_wc() {
    local lower=0 alnum=0 f
    while (($# > 0)); do
        case $1 in
            --lower) lower=1; shift ;;
            --alnum) alnum=1; shift ;;
            *) break ;;
        esac
    done
    for f in "$@"; do
        if ((lower)); then tr '[:upper:]' '[:lower:]' <"$f"; else cat -- "$f"; fi |
            if ((alnum)); then tr -cs 'A-Za-z0-9' '\n'; else tr -s ' \t\n\r\v\f' '\n'; fi
        printf '\n'
    done | sort | uniq -c | sed -E -n 's/^ *([0-9]+) (.+)$/\2\t\1/p' | sort
}

# compare_wc OUT REF: OUT is a finished job (_SUCCESS, part files each sorted by key) whose
# word counts, sorted, equal REF's.
compare_wc() {
    local out=$1 ref=$2 part
    [[ -f $out/_SUCCESS ]] || fail "$out/_SUCCESS is missing"
    local -a parts=("$out"/part-r-*)
    [[ -e ${parts[0]} ]] || fail "no part-r-* files in $out"
    for part in "${parts[@]}"; do
        sort -c -s -t "$TAB" -k1,1 "$part" || fail "$part is not sorted by key"
    done
    cat "${parts[@]}" | sort >"$out.sorted"
    if ! cmp -s "$out.sorted" "$ref"; then
        echo "output (<) differs from the reference (>):" >&2
        diff "$out.sorted" "$ref" | head -n 20 | cat -v >&2 || true
        fail "$out: word counts differ from the reference"
    fi
}

# wc_ranks NPS REF NAME ARG...: for each rank count in NPS, runs
# `sheaf wordcount ARG... -o OUT` and compares OUT with REF.
wc_ranks() {
    local nps=$1 ref=$2 name=$3 np
    shift 3
    for np in $nps; do
        local out=$TMP/$name-np$np
        must_np "$np" wordcount "$@" -o "$out"
        compare_wc "$out" "$ref"
    done
}

# gencorpus ARG...: the seeded corpus generator (tests/tools/gencorpus.c), built on first use.
gencorpus() {
    local bin=$TMP/gencorpus
    if [[ ! -x $bin ]]; then
        "${CC_FOR_TESTS:-cc}" -O2 -std=c11 -o "$bin" "$top_srcdir/tests/tools/gencorpus.c" -lm ||
            fail "cannot build tests/tools/gencorpus.c"
    fi
    "$bin" "$@"
}
