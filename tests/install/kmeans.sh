#!/usr/bin/env bash
# examples/kmeans.c (an iterative program: sheaf_run() once per round on MPI_COMM_WORLD, the
# centroids read back and broadcast between rounds) built against the installed Sheaf, run on
# 1 to 3 ranks; rounds and centroids must equal those of the same algorithm in awk.
#
# The points have whole-number coordinates, so every sum is exact and the result does not
# depend on how the ranks split the work or in which order partial sums meet.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/install/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_sheaf
build_example kmeans

K=4
# Four overlapping blobs in random order (the first K points, the starting centroids, are
# wherever they fall, so it takes several rounds), and a few lines that are not points.
awk 'BEGIN {
    srand(13)
    cx[0] = 0; cy[0] = 0; cx[1] = 400; cy[1] = 0; cx[2] = 0; cy[2] = 400; cx[3] = 400; cy[3] = 400
    for (i = 0; i < 6000; i++) {
        c = int(rand() * 4)
        printf "%d %d\n", cx[c] + int(rand() * 301) - 150, cy[c] + int(rand() * 301) - 150
        if (i % 1500 == 777) print "not a point"
    }
}' >"$TMP/points.txt"
NBAD=$(grep -c 'not' "$TMP/points.txt")

# The reference: the program's algorithm (nearest centroid, lowest index on a tie; new
# centroid = mean, rounded to 6 decimals as the program's output is; stop when no centroid
# changes or after 20 rounds). Prints "rounds R" and then "cluster TAB x y" lines.
awk -v k="$K" '
    NF == 2 && $1 ~ /^-?[0-9]+$/ && $2 ~ /^-?[0-9]+$/ {
        n++; x[n] = $1 + 0; y[n] = $2 + 0
        if (n <= k) { cx[n - 1] = x[n]; cy[n - 1] = y[n] }
    }
    END {
        for (r = 1; r <= 20; r++) {
            for (c = 0; c < k; c++) { sn[c] = 0; sx[c] = 0; sy[c] = 0 }
            for (i = 1; i <= n; i++) {
                best = 0
                for (c = 1; c < k; c++) {
                    dx = x[i] - cx[c]; dy = y[i] - cy[c]
                    bx = x[i] - cx[best]; by = y[i] - cy[best]
                    if (dx * dx + dy * dy < bx * bx + by * by) best = c
                }
                sn[best]++; sx[best] += x[i]; sy[best] += y[i]
            }
            moved = 0
            for (c = 0; c < k; c++) {
                if (!sn[c]) continue
                nx = sprintf("%.6f", sx[c] / sn[c]) + 0; ny = sprintf("%.6f", sy[c] / sn[c]) + 0
                if (nx != cx[c] || ny != cy[c]) moved = 1
                cx[c] = nx; cy[c] = ny
            }
            if (!moved) break
        }
        print "rounds " (r > 20 ? 20 : r)
        for (c = 0; c < k; c++) printf "%d\t%.6f %.6f\n", c, cx[c], cy[c]
    }' "$TMP/points.txt" >"$TMP/ref.all"
ROUNDS=$(sed -n 's/^rounds //p' "$TMP/ref.all")
grep -v '^rounds' "$TMP/ref.all" >"$TMP/ref"
((ROUNDS > 1)) || hard_error "the reference converged at once; the test data is too easy"

check_kmeans() {
    local out=$1 last
    last=$(printf '%s/round-%03d' "$out" "$ROUNDS")
    same "$LAST_LOG.out" "$TMP/ref" "the centroids printed by kmeans"
    [[ $(find "$out" -maxdepth 1 -name 'round-*' | wc -l) -eq $ROUNDS ]] ||
        fail "$(find "$out" -maxdepth 1 -name 'round-*' | wc -l) rounds, not $ROUNDS"
    check_done "$last"
    cat "$last"/part-r-* | sort >"$out.last"
    same "$out.last" "$TMP/ref" "$last"
    [[ $(user_counter "$last/_report.json" bad_points) == "$NBAD" ]] ||
        fail "bad_points is $(user_counter "$last/_report.json" bad_points), not $NBAD"
}

case_ranks() {
    local np
    for np in 1 2 3; do
        must_np "$np" kmeans -i "$TMP/points.txt" -o "$TMP/out-np$np" -k "$K"
        check_kmeans "$TMP/out-np$np"
    done
}

case_usage() {
    local rc=0
    run_np 2 kmeans -i "$TMP/points.txt" -o "$TMP/out-usage" || rc=$?
    ((rc == 2)) || fail "a missing -k gave status $rc, not 2"
    grep -q 'usage' "$LAST_LOG" || fail "no usage message"
}

run_case "1 to 3 ranks" case_ranks
run_case "usage" case_usage
finish
