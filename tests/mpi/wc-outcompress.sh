#!/usr/bin/env bash
# Compressed output: `--output-compression gzip|zstd[:LEVEL]` writes part-r-NNNNN.gz or .zst,
# which gzip -dc and zstd -dc read back to the coreutils word counts, at 1 to 4 ranks and with
# more partitions than ranks; the job commits them as it commits plain output (_SUCCESS, an
# --overwrite of an earlier output); a compressed output read back as input gives the same
# counts; an unknown codec or level is a usage error (exit 2) that names the option.
# Cases are functions that run_case calls.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/mpi/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for tool in gzip zstd; do
    command -v "$tool" >/dev/null || { echo "$tool absent: skipping"; exit 77; }
done

gencorpus -s 81 -n 1M >"$TMP/corpus.txt"
ref_wc "$TMP/corpus.txt" >"$TMP/corpus.ref"

# check_compressed OUT EXT TOOL: OUT has _SUCCESS and only part-r-*.EXT files, each readable
# by TOOL and sorted by key, which together equal the reference.
check_compressed() {
    local out=$1 ext=$2 tool=$3 part
    [[ -f $out/_SUCCESS ]] || fail "$out/_SUCCESS is missing"
    local -a parts=("$out"/part-r-*)
    for part in "${parts[@]}"; do
        [[ $part == *.$ext ]] || fail "$part does not end in .$ext"
        $tool "$part" >"$part.txt" || fail "$tool cannot read $part"
        sort -c -s -t "$TAB" -k1,1 "$part.txt" || fail "$part is not sorted by key"
    done
    cat "$out"/part-r-*.txt | sort >"$out.sorted"
    rm -f "$out"/part-r-*.txt
    cmp -s "$out.sorted" "$TMP/corpus.ref" || fail "$out: counts differ from the reference"
}

case_gzip() {
    local np
    for np in 1 2 3 4; do
        must_np "$np" wordcount -i "$TMP/corpus.txt" -o "$TMP/gz$np" --output-compression gzip
        check_compressed "$TMP/gz$np" gz "gzip -dc"
        [[ $(find "$TMP/gz$np" -name 'part-r-*' | wc -l) -eq $np ]] || fail "not $np parts"
    done
    must_np 2 wordcount -i "$TMP/corpus.txt" -o "$TMP/gz9" --output-compression gzip:9 \
        --reducers 5
    check_compressed "$TMP/gz9" gz "gzip -dc"
    [[ $(find "$TMP/gz9" -name 'part-r-*.gz' | wc -l) -eq 5 ]] || fail "not 5 parts"
}

case_zstd() {
    local np
    for np in 1 3; do
        must_np "$np" wordcount -i "$TMP/corpus.txt" -o "$TMP/zst$np" --output-compression zstd
        check_compressed "$TMP/zst$np" zst "zstd -q -dc"
    done
    must_np 4 wordcount -i "$TMP/corpus.txt" -o "$TMP/zst19" --output-compression zstd:19 \
        --reducers 2
    check_compressed "$TMP/zst19" zst "zstd -q -dc"
}

case_overwrite_and_read_back() {
    local out=$TMP/ow
    must_np 2 wordcount -i "$TMP/corpus.txt" -o "$out"
    must_np 2 wordcount -i "$TMP/corpus.txt" -o "$out" --overwrite --output-compression gzip:1
    check_compressed "$out" gz "gzip -dc"
    # the counts as input: each part line is `word TAB count`, so every word appears once
    # and every count is a word too: compare with the same words counted from the sorted file
    must_np 3 wordcount -i "$out" -o "$TMP/back"
    ref_wc "$TMP/ow.sorted" >"$TMP/back.ref"
    compare_wc "$TMP/back" "$TMP/back.ref"
}

case_bad_option() {
    local rc bad
    for bad in lz4 gzip:0 gzip:10 zstd:20 zstd:x; do
        rc=0
        run_np 1 wordcount -i "$TMP/corpus.txt" -o "$TMP/bad" --output-compression "$bad" || rc=$?
        ((rc == 2)) || fail "--output-compression $bad: exit $rc, not 2"
        grep -q -- "--output-compression" "$LAST_LOG" || fail "$bad: the option is not named"
        [[ ! -e $TMP/bad ]] || fail "$bad: an output was made"
    done
}

run_case gzip case_gzip
run_case zstd case_zstd
run_case overwrite-and-read-back case_overwrite_and_read_back
run_case bad-option case_bad_option
finish
