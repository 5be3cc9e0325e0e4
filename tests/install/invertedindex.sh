#!/usr/bin/env bash
# examples/invertedindex.c (custom partitioner by first letter, grouping comparator) built
# against the installed Sheaf, run on 1 to 3 ranks; its part files, concatenated in order, must
# equal an index built with awk and sort.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/install/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_sheaf
build_example invertedindex

# Input: slices of the corpus in a directory tree, a file with mixed case, punctuation,
# digits and no final newline, and an empty file.
mkdir -p "$TMP/docs/sub"
text_sample 1500 | sed -n '1,500p' >"$TMP/docs/genesis-a.txt"
text_sample 1500 | sed -n '501,1000p' >"$TMP/docs/genesis-b.txt"
text_sample 1500 | sed -n '1001,1500p' >"$TMP/docs/sub/exodus.txt"
printf 'Zebra, zoo; ZEBRA!\nquick-brown fox\n\n42 x9y' >"$TMP/docs/sub/odd.txt"
: >"$TMP/docs/empty.txt"

# The reference: for each word (a run of ASCII letters, lower-cased, at most 64 letters), the
# sorted base names of the files it occurs in.
# shellcheck disable=SC2018,SC2019 # ASCII letters only, as the program
find "$TMP/docs" -type f | sort | while read -r f; do
    tr 'A-Z' 'a-z' <"$f" | tr -cs 'a-z' '\n' |
        awk -v file="${f##*/}" 'length($0) > 0 && length($0) <= 64 { print $0 "\t" file }'
done | sort -u | awk -F '\t' '
    $1 != word { if (NR > 1) print word "\t" files; word = $1; files = $2; next }
    { files = files "," $2 }
    END { if (NR > 0) print word "\t" files }' >"$TMP/ref"

# check_index OUT NPARTS: OUT has NPARTS parts whose concatenation is the reference, and each
# part holds one range of first letters.
check_index() {
    local out=$1 nparts=$2
    check_done "$out"
    [[ $(find "$out" -name 'part-r-*' | wc -l) -eq $nparts ]] || fail "not $nparts part files"
    cat "$out"/part-r-* >"$out.all"
    same "$out.all" "$TMP/ref" "$out (part files in order)"
    local p
    for p in "$out"/part-r-*; do
        [[ -s $p ]] || continue
        local want
        want=$(awk -v n="$nparts" '{ print int((index("abcdefghijklmnopqrstuvwxyz",
            substr($1, 1, 1)) - 1) * n / 26); exit }' "$p")
        (( 10#${p##*-} == want )) || fail "$p holds words of partition $want"
    done
}

case_ranks() {
    local np
    for np in 1 2 3; do
        must_np "$np" invertedindex -i "$TMP/docs" -o "$TMP/out-np$np"
        check_index "$TMP/out-np$np" "$np"
    done
}

case_reducers() {
    # More partitions than ranks, and small splits so one file's words come from many ranks.
    must_np 2 invertedindex -i "$TMP/docs" -o "$TMP/out-r7" --reducers 7 --split-size 8K
    check_index "$TMP/out-r7" 7
}

run_case "1 to 3 ranks" case_ranks
run_case "7 reducers, small splits" case_reducers
finish
