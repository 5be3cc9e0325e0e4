#!/usr/bin/env bash
# sheaf wordcount on compressed input: a corpus compressed with gzip, zstd, bzip2 and xz (and
# gzip in several members, as `cat a.gz b.gz` makes), alone and mixed with plain files, must
# give the coreutils word counts of the plain corpus at 1 to 4 ranks. Also many small
# compressed files, an empty one, and damaged ones (truncated, corrupt, misnamed), which must
# fail the job with the file named, no _SUCCESS, and an earlier output left as it was.
# Cases are functions that run_case calls.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/mpi/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for tool in gzip zstd bzip2 xz; do
    command -v "$tool" >/dev/null || { echo "$tool absent: skipping"; exit 77; }
done

gencorpus -s 61 -n 2M >"$TMP/corpus.txt"
ref_wc "$TMP/corpus.txt" >"$TMP/corpus.ref"

case_each_codec() {
    local d=$TMP/each
    mkdir -p "$d"
    gzip -c "$TMP/corpus.txt" >"$d/c.txt.gz"
    zstd -q -c "$TMP/corpus.txt" >"$d/c.txt.zst"
    bzip2 -c "$TMP/corpus.txt" >"$d/c.txt.bz2"
    xz -c "$TMP/corpus.txt" >"$d/c.txt.xz"
    wc_ranks "1 2 3 4" "$TMP/corpus.ref" gz -i "$d/c.txt.gz"
    # one compressed file at 4 ranks: a warning says one rank reads it all
    grep -q "warning: input $d/c.txt.gz is compressed (gzip, [0-9]* bytes): one rank reads" \
        "$LAST_LOG" || { cat "$LAST_LOG" >&2; fail "no warning about one big compressed file"; }
    wc_ranks "1 3" "$TMP/corpus.ref" zst -i "$d/c.txt.zst"
    wc_ranks "2 4" "$TMP/corpus.ref" bz2 -i "$d/c.txt.bz2"
    wc_ranks "1 2" "$TMP/corpus.ref" xz -i "$d/c.txt.xz"
    # the report: the file and its codec; the bytes read from it and the bytes it gave
    [[ $(jq -r '.input.compressed[0].codec' "$TMP/gz-np1/_report.json") == gzip ]] ||
        fail "the report does not say gzip"
    [[ $(jq '.counters.compressed_bytes_read.total' "$TMP/bz2-np2/_report.json") -eq \
        $(stat -c %s "$d/c.txt.bz2") ]] || fail "compressed_bytes_read is not the file's size"
    [[ $(jq '.counters.decompressed_bytes.total' "$TMP/gz-np3/_report.json") -eq \
        $(stat -c %s "$TMP/corpus.txt") ]] || fail "decompressed_bytes is not the plain size"
}

case_multi_member_and_mixed() {
    local d=$TMP/mixed
    mkdir -p "$d"
    # Cut the corpus anywhere (inside a word, a line) into four parts: each a member or file.
    split -a 1 -d -n 4 "$TMP/corpus.txt" "$TMP/part"
    gzip -c "$TMP/part0" >"$TMP/m0.gz"
    gzip -1 -c "$TMP/part1" >"$TMP/m1.gz"
    cat "$TMP/m0.gz" "$TMP/m1.gz" >"$d/a-multi.gz"
    zstd -q -c "$TMP/part2" >"$TMP/f2.zst"
    zstd -q -c "$TMP/part3" >"$TMP/f3.zst"
    cat "$TMP/f2.zst" "$TMP/f3.zst" >"$d/b-frames.zst"
    # Words never span files: the reference is per file, so cut at the members' seams too.
    cat "$TMP/part0" "$TMP/part1" >"$TMP/ab"
    cat "$TMP/part2" "$TMP/part3" >"$TMP/cd"
    ref_wc "$TMP/ab" "$TMP/cd" >"$TMP/mm.ref"
    wc_ranks "1 2 3 4" "$TMP/mm.ref" mm -i "$d"
    # Plain and compressed files in one input, the plain ones cut into many splits.
    local e=$TMP/withplain
    mkdir -p "$e"
    cp "$d/a-multi.gz" "$e/"
    cp "$TMP/cd" "$e/plain.txt"
    wc_ranks "2 3" "$TMP/mm.ref" withplain -i "$e" --split-size 64K
}

case_many_small() {
    local d=$TMP/small i
    mkdir -p "$d"
    split -a 3 -d -n 200 "$TMP/corpus.txt" "$TMP/s"
    local -a plain=("$TMP"/s[0-9][0-9][0-9])
    for i in "${!plain[@]}"; do
        case $((i % 4)) in
            0) gzip -c "${plain[i]}" >"$d/f$i.gz" ;;
            1) zstd -q -c "${plain[i]}" >"$d/f$i.zst" ;;
            2) bzip2 -c "${plain[i]}" >"$d/f$i.bz2" ;;
            3) cp "${plain[i]}" "$d/f$i.txt" ;;
        esac
    done
    : | gzip -c >"$d/empty.gz"
    : >"$d/zero.zst"
    ref_wc "${plain[@]}" >"$TMP/small.ref"
    wc_ranks "1 4" "$TMP/small.ref" small -i "$d"
    if grep -q "warning: input .* is compressed" "$LAST_LOG"; then
        cat "$LAST_LOG" >&2
        fail "a warning about small compressed files"
    fi
}

# expect_failure NAME FILE PATTERN: wordcount of FILE fails at 2 ranks with exit 1 and a
# message matching PATTERN, without _SUCCESS, and an earlier output under --overwrite stays.
expect_failure() {
    local name=$1 file=$2 pattern=$3 rc=0
    local out=$TMP/fail-$name
    mkdir -p "$out"
    echo "earlier" >"$out/part-r-00000"
    : >"$out/_SUCCESS"
    run_np 2 wordcount -i "$file" -o "$out" --overwrite || rc=$?
    if ((rc != 1)); then
        cat "$LAST_LOG" >&2
        fail "$name: exit $rc, not 1"
    fi
    if ! grep -Eq -- "$pattern" "$LAST_LOG"; then
        cat "$LAST_LOG" >&2
        fail "$name: the message does not match $pattern"
    fi
    [[ $(cat "$out/part-r-00000") == earlier ]] || fail "$name: the earlier output changed"
    [[ $(find "$out" -mindepth 1 | wc -l) -eq 2 ]] || fail "$name: files added to the output"
}

case_damaged() {
    local d=$TMP/damaged size ext
    mkdir -p "$d"
    gzip -c "$TMP/corpus.txt" >"$d/c.gz"
    zstd -q -c "$TMP/corpus.txt" >"$d/c.zst"
    bzip2 -c "$TMP/corpus.txt" >"$d/c.bz2"
    xz -c "$TMP/corpus.txt" >"$d/c.xz"
    for ext in gz zst bz2 xz; do
        size=$(stat -c %s "$d/c.$ext")
        head -c $((size / 2)) "$d/c.$ext" >"$d/cut.$ext"
        expect_failure "cut-$ext" "$d/cut.$ext" \
            "cut\\.$ext: (truncated|corrupt) [a-z0-9]+ data .*compressed offset [0-9]+"
        # 100 bytes zeroed in the middle
        cp "$d/c.$ext" "$d/bad.$ext"
        dd if=/dev/zero of="$d/bad.$ext" bs=1 count=100 seek=$((size / 2)) conv=notrunc \
            status=none
        expect_failure "bad-$ext" "$d/bad.$ext" \
            "bad\\.$ext: corrupt [a-z0-9]+ data at compressed offset [0-9]+"
    done
    cp "$d/c.zst" "$d/liar.gz"
    expect_failure liar "$d/liar.gz" \
        "liar\\.gz: named \\.gz but is not gzip data \\(starts with 28 b5 2f fd\\)"
}

run_case each-codec case_each_codec
run_case multi-member-and-mixed case_multi_member_and_mixed
run_case many-small case_many_small
run_case damaged case_damaged
finish
