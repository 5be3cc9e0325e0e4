#!/usr/bin/env bash
# sheaf_agree, the public failure agreement, at 1 to 4 ranks: for every subset of failing
# ranks, every rank gets the code and message of the lowest failing rank, or 0 and its own
# message when none failed (tests/runtime/agree.c); the expected lines are computed here.
source "${top_srcdir:-$(dirname "$0")/../..}/tests/mpi/lib.sh"

AGREE=$top_builddir/tests/runtime/agree
if [[ ! -x $AGREE ]]; then
    echo "tests/runtime/agree is not built"
    exit 99
fi

expected() { # expected NP: the lines every rank must print, sorted
    local np=$1 mask r low
    for ((mask = 0; mask < 1 << np; mask++)); do
        low=-1
        for ((r = np - 1; r >= 0; r--)); do
            ((mask >> r & 1)) && low=$r
        done
        for ((r = 0; r < np; r++)); do
            if ((low < 0)); then
                echo "$mask $r 0 rank $r is fine"
            else
                echo "$mask $r $((-(low + 1))) rank $low failed"
            fi
        done
    done | sort
}

case_agree() {
    local np rc
    for np in 1 2 3 4; do
        rc=0
        timeout -k 10 "$SHEAF_TEST_TIMEOUT" "$MPIRUN" -np "$np" --oversubscribe "$AGREE" \
            >"$TMP/out$np" 2>"$LAST_LOG" </dev/null || rc=$?
        ((rc == 0)) || { cat "$LAST_LOG" >&2; fail "agree exited with $rc at $np ranks"; }
        sort "$TMP/out$np" >"$TMP/got$np"
        expected "$np" >"$TMP/want$np"
        cmp -s "$TMP/got$np" "$TMP/want$np" ||
            fail "sheaf_agree at $np ranks: $(diff "$TMP/want$np" "$TMP/got$np" | head -n 5)"
    done
}

run_case "sheaf_agree: the lowest failing rank's code and message on every rank" case_agree
finish
