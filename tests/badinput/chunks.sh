#!/usr/bin/env bash
# The shuffle's message chunking: a pair's data in a round is sent as messages of at most
# SHEAF_SHUFFLE_CHUNK bytes (default 1 GiB, so that no count passes INT_MAX). Lowering it makes
# every round send many messages per pair, which exercises the same code a >2 GiB round runs
# (tests/badinput/large.sh runs a real one): the output must not change.
#   - 1000-byte messages, 2 to 4 ranks, with spilling (--memory 1M) and a 16 MiB key;
#   - 1-byte messages (one message per byte) on a smaller input, 2 and 3 ranks;
#   - values SHEAF_SHUFFLE_CHUNK does not accept (0, junk, above 1G) fall back to the default.
# shellcheck disable=SC2317  # the cases are called through run_case
source "${top_srcdir:-$(dirname "$0")/../..}/tests/badinput/lib.sh"

# About 1.5 MB with many distinct words (the line number makes each line's last word unique).
awk 'NR <= 10000 { print $0, "w" NR }' "$top_srcdir/data/kjv.txt" >"$TMP/in.txt"
ref_wc "$TMP/in.txt" >"$TMP/ref"

case_chunk_1000() {
    SHEAF_SHUFFLE_CHUNK=1000 wc_ranks "2 3 4" "$TMP/ref" c1000 -i "$TMP/in.txt" \
        --memory 1M --split-size 128K
    # A key far larger than a message and a round.
    { cat "$TMP/in.txt"; head -c $((16 * 1024 * 1024)) /dev/zero | tr '\0' 'Z'; echo; } \
        >"$TMP/bigkey.txt"
    ref_wc "$TMP/bigkey.txt" >"$TMP/bigkey.ref"
    SHEAF_SHUFFLE_CHUNK=1000 wc_ranks "2" "$TMP/bigkey.ref" c1000-bigkey -i "$TMP/bigkey.txt" \
        --memory 2M --split-size 1M
    # sheaf stream has no combiner: every record crosses the shuffle.
    SHEAF_SHUFFLE_CHUNK=1K must_np 3 stream --mapper "awk '{ print \$NF \"\\t\" NR }'" \
        -i "$TMP/in.txt" -o "$TMP/c1000-stream" --split-size 128K --memory 1M
    [[ $(cat "$TMP/c1000-stream"/part-r-* | wc -l) -eq 10000 ]] || fail "stream lost records"
    cut -f 1 "$TMP/c1000-stream"/part-r-* | sort | cmp -s - <(awk '{ print $NF }' "$TMP/in.txt" | sort) ||
        fail "stream keys differ"
}

case_chunk_1() {
    head -n 600 "$TMP/in.txt" >"$TMP/small.txt"
    ref_wc "$TMP/small.txt" >"$TMP/small.ref"
    SHEAF_SHUFFLE_CHUNK=1 wc_ranks "2 3" "$TMP/small.ref" c1 -i "$TMP/small.txt" --split-size 16K
    SHEAF_SHUFFLE_CHUNK=1 must_np 2 stream --mapper cat -i "$TMP/small.txt" -o "$TMP/c1-stream" \
        --split-size 16K
    cmp -s <(parts_sorted "$TMP/c1-stream") <(sort "$TMP/small.txt") ||
        fail "stream output differs with 1-byte messages"
}

case_chunk_ignored() {
    local v
    for v in 0 junk 2G -5; do
        SHEAF_SHUFFLE_CHUNK=$v wc_ranks "2" "$TMP/ref" "bad-$v" -i "$TMP/in.txt" --split-size 256K
    done
}

run_case chunk-1000-bytes case_chunk_1000
run_case chunk-1-byte case_chunk_1
run_case chunk-invalid-values case_chunk_ignored
finish
