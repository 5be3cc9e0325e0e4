# shellcheck shell=bash
# The case harness every shell test shares: a private temporary directory (removed at exit
# unless SHEAF_TEST_KEEP=1), `run_case NAME FUNCTION [ARG...]` running one case in a subshell
# with `set -e` and printing `ok N - NAME` or `not ok N - NAME`, `fail MESSAGE`, and `finish`,
# the file's exit status (0 when every case passed, 1 otherwise).
# Source it with SHEAF_TEST_PREFIX set to name the temporary directory.

TMP=$(mktemp -d "${TMPDIR:-/tmp}/${SHEAF_TEST_PREFIX:-sheaf-test}.XXXXXX")
cleanup() {
    if [[ ${SHEAF_TEST_KEEP:-0} == 1 ]]; then
        echo "kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT

ncases=0
nfailed=0
# shellcheck disable=SC2034  # used by the files that source this one
LAST_LOG=$TMP/last.log

# run_case NAME FUNCTION [ARG...]: runs one case and reports it as `ok` / `not ok`.
run_case() {
    local name=$1 rc start
    shift
    ncases=$((ncases + 1))
    start=$SECONDS
    echo "# case: $name"
    set +e
    (set -e; "$@")
    rc=$?
    set -e
    if ((rc == 0)); then
        echo "ok $ncases - $name ($((SECONDS - start)) s)"
    else
        nfailed=$((nfailed + 1))
        echo "not ok $ncases - $name (exit $rc)"
    fi
}

# finish: the file's exit status.
finish() {
    echo "# $((ncases - nfailed)) of $ncases cases passed"
    ((nfailed == 0)) || exit 1
    exit 0
}

fail() {
    echo "FAIL: $*" >&2
    return 1
}
