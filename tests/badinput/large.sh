#!/usr/bin/env bash
# A real shuffle message past INT_MAX bytes: one rank sends another a single 2.2 GB record in
# one round, which the shuffle must cut into messages of at most 1 GiB (an MPI count is an
# int). Needs about 8 GB of memory and a few minutes, so it runs only with SHEAF_TEST_LARGE=1
# (`scripts/check --full` sets it in the normal build on a machine with 12 GiB of memory);
# otherwise it is skipped.
#
# How the record crosses ranks: sheaf stream at 2 ranks with --schedule static gives the one
# input split to rank 0, whose mapper prints KEY<TAB>(2.2 GB of 'v'); KEY is picked so that its
# partition (of 2) is owned by rank 1. The identity reduce writes it back, and the part file
# must hold exactly that line.
# shellcheck disable=SC2317  # the cases are called through run_case
source "${top_srcdir:-$(dirname "$0")/../..}/tests/badinput/lib.sh"

if [[ ${SHEAF_TEST_LARGE:-0} != 1 ]]; then
    echo "SKIP: set SHEAF_TEST_LARGE=1 to run the >2 GiB shuffle test (8 GB of RAM, minutes)"
    exit 77
fi
VBYTES=${SHEAF_TEST_LARGE_BYTES:-2300000000}
avail_kb=$(df -Pk "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $4 }')
if ((${avail_kb:-0} < 3 * VBYTES / 1024)); then
    echo "SKIP: ${TMPDIR:-/tmp} has ${avail_kb:-0} KiB free, the test writes about $((3 * VBYTES / 1048576)) MiB"
    exit 77
fi

case_big_message() {
    # Which one-letter keys land in partition 1 of 2 (owned by rank 1)?
    printf '%s\n' a b c d e f g h i j k l m n o p q r s t u v w x y z >"$TMP/letters.txt"
    must_np 2 stream --mapper cat -i "$TMP/letters.txt" -o "$TMP/probe" --reducers 2
    local key
    key=$(head -n 1 "$TMP/probe/part-r-00001")
    [[ -n $key ]] || fail "no key landed in partition 1"
    echo "go" >"$TMP/one.txt"
    # shellcheck disable=SC2016  # sh code run by the mapper
    local mapper='read -r _ || exit 0; printf "%s\t" "$KEY"; head -c "$VBYTES" /dev/zero | tr "\0" v; echo'
    local start=$SECONDS rss
    KEY=$key VBYTES=$VBYTES must_np 2 stream --mapper "$mapper" --schedule static \
        -i "$TMP/one.txt" -o "$TMP/big" --reducers 2
    echo "# ${VBYTES}-byte record from rank 0 to rank 1: $((SECONDS - start)) s"
    local part=$TMP/big/part-r-00001
    [[ ! -s $TMP/big/part-r-00000 ]] || fail "partition 0 is not empty"
    local size
    size=$(stat -c %s "$part")
    ((size == ${#key} + 1 + VBYTES + 1)) || fail "part-r-00001 has $size bytes"
    [[ $(head -c $((${#key} + 6)) "$part") == "$key	vvvvv" ]] || fail "the record's head is wrong"
    [[ $(tr -d 'v' <"$part" | od -An -c | tr -d ' ') == "$key\\t\\n" ]] ||
        fail "the value holds bytes other than 'v'"
    rss=$(sed -n 's/.*"peak_rss_bytes": *\([0-9]*\).*/\1/p' "$TMP/big/_report.json" |
        sort -n | tail -n 1)
    echo "# largest per-rank peak RSS in the report: ${rss:-?} bytes"
}

run_case shuffle-message-past-int-max case_big_message
finish
