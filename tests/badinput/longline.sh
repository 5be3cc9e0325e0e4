#!/usr/bin/env bash
# Long records. A record is held whole in memory by the reader (and a key whole by the
# shuffle), so a line longer than --memory works but takes about its size in RSS, beyond the
# budget; it must never fail unclearly or be cut. Here:
#   - one 256 MiB line of short words (no newline at its end) at 1 and 2 ranks with
#     --memory 64M: right counts; the peak RSS is printed and must stay under 1.5 times the
#     line plus 96 MiB (SHEAF_TEST_LARGE=1: 1 GiB);
#   - a 16 MiB word (a 16 MiB key) among short lines with --memory 2M at 2 ranks: it crosses
#     the shuffle in one record larger than a round and comes out whole.
# shellcheck disable=SC2317  # the cases are called through run_case
source "${top_srcdir:-$(dirname "$0")/../..}/tests/badinput/lib.sh"

if [[ ${SHEAF_TEST_LARGE:-0} == 1 ]]; then LINE_MB=1024; else LINE_MB=256; fi

# peak_rss_kb LOG: the largest "Maximum resident set size" GNU time wrote to LOG, or nothing.
peak_rss_kb() {
    sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\).*/\1/p' "$1" | sort -n | tail -n 1
}

case_long_line() {
    local bytes=$((LINE_MB * 1024 * 1024)) np rss
    { yes 'alpha beta gamma delta' || true; } | head -c "$bytes" | tr '\n' ' ' >"$TMP/line.txt"
    # The reference: whole repetitions of the 23-byte phrase, plus the words of the cut tail.
    local reps=$((bytes / 23)) rest=$((bytes % 23))
    {
        printf '%s\n' alpha beta gamma delta | awk -v n="$reps" '{ print $0 "\t" n }'
        printf 'alpha beta gamma delta ' | head -c "$rest" | tr ' ' '\n' | sed '/^$/d' |
            awk '{ print $0 "\t1" }'
    } | awk -F '\t' '{ n[$1] += $2 } END { for (k in n) print k "\t" n[k] }' | sort >"$TMP/line.ref"
    for np in 1 2; do
        local -a cmd=("$SHEAF" wordcount -i "$TMP/line.txt" -o "$TMP/line$np" --memory 64M -q)
        ((np == 1)) || cmd=("$MPIRUN" -np "$np" --oversubscribe "${cmd[@]}")
        if command -v /usr/bin/time >/dev/null; then
            cmd=(/usr/bin/time -v "${cmd[@]}")
        fi
        local start=$SECONDS
        timeout -k 10 300 "${cmd[@]}" >"$TMP/line$np.log" 2>&1 ||
            { tail -n 30 "$TMP/line$np.log" >&2; fail "a $LINE_MB MiB line failed at $np ranks"; }
        rss=$(peak_rss_kb "$TMP/line$np.log")
        echo "# $LINE_MB MiB line, $np rank(s), --memory 64M: $((SECONDS - start)) s," \
            "peak RSS ${rss:-?} kB"
        # About the line's size, not twice it while the reader's buffer grows (sanitizer
        # builds, with their own memory, are not held to it).
        if [[ -n $rss && -z ${ASAN_OPTIONS:-} ]]; then
            local most=$(((bytes + bytes / 2 + 96 * 1024 * 1024) / 1024))
            ((rss <= most)) || fail "a $LINE_MB MiB line took $rss kB of RSS (at most $most)"
        fi
        compare_wc "$TMP/line$np" "$TMP/line.ref"
        rm -rf "$TMP/line$np"
    done
}

case_big_key() {
    # A 16 MiB word: larger than a shuffle round (--memory 2M gives 256 KiB send buffers),
    # larger than the store's budget, and larger than the reader's first block.
    head -n 3000 "$top_srcdir/data/kjv.txt" >"$TMP/small.txt"
    {
        head -n 1500 "$TMP/small.txt"
        head -c $((16 * 1024 * 1024)) /dev/zero | tr '\0' 'K'
        printf ' tail\n'
        tail -n 1500 "$TMP/small.txt"
        head -c $((16 * 1024 * 1024 + 1)) /dev/zero | tr '\0' 'K'
        printf '\n'
    } >"$TMP/bigkey.txt"
    ref_wc "$TMP/bigkey.txt" >"$TMP/bigkey.ref"
    wc_ranks "2" "$TMP/bigkey.ref" bigkey -i "$TMP/bigkey.txt" --memory 2M --split-size 1M
    # The same through sheaf stream: a 16 MiB value behind a short key, no combiner.
    must_np 2 stream --mapper "awk '{ print length(\$0) \"\\t\" \$0 }'" --reducer 'cut -c 1-40' \
        -i "$TMP/bigkey.txt" -o "$TMP/bigval" --memory 2M --split-size 1M
    grep -q '^16777221	K*$' "$TMP/bigval"/part-r-* || fail "the 16 MiB value did not arrive"
    grep -q '^16777217	K*$' "$TMP/bigval"/part-r-* || fail "the 16 MiB + 1 value did not arrive"
}

run_case long-line case_long_line
run_case key-larger-than-a-round case_big_key
finish
