#!/usr/bin/env bash
# sheaf gensort, sort and valsort: lines against LC_ALL=C sort, TeraSort records
# (gensort -> sort -> valsort, 10^6 records at 1 to 4 ranks), printable records against coreutils
# byte for byte, a skewed key, empty input and one record, and valsort finding disorder. A sorted
# output passes when valsort says it is in order and its count and checksum are the input's.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/jobs/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

head -n 8000 "$top_srcdir/data/kjv.txt" >"$TMP/kjv.txt"
printf 'dup\ndup\n\nZ last line without newline' >>"$TMP/kjv.txt"

# valsort_counts: valsort's "RECORDS CHECKSUM" from $LAST_LOG; fails unless it printed both.
valsort_counts() {
    awk -F '\t' '$1 == "records" { r = $2 } $1 == "checksum" { c = $2 }
        END { if (r == "" || c == "") exit 1; print r, c }' "$LAST_LOG" ||
        { fail "valsort printed no count or checksum: $(tail -n 3 "$LAST_LOG")"; return 1; }
}

# valsort_of DIR: valsort's "RECORDS CHECKSUM" for DIR, whose records may be in any order (valsort
# read them all: status 0 or 1, the count and checksum printed). Use as `x=$(valsort_of DIR)`,
# never inside [[ ]] or a pipeline, where its failure would be lost.
valsort_of() {
    local rc=0
    run_np 2 valsort "$1" >/dev/null || rc=$?
    ((rc == 0 || rc == 1)) || { fail "valsort $1: status $rc: $(tail -n 3 "$LAST_LOG")"; return 1; }
    valsort_counts
}

# sorted_of DIR: valsort's "RECORDS CHECKSUM" for DIR, which must be in key order: valsort's
# verdict is status 0, "unordered 0" and "N records in order". Used like valsort_of.
sorted_of() {
    local rc=0 n
    run_np 2 valsort "$1" >/dev/null || rc=$?
    ((rc == 0)) ||
        { fail "valsort: $1 is not in order (status $rc): $(grep -m 1 'valsort' "$LAST_LOG")"; return 1; }
    grep -qx "unordered${TAB}0" "$LAST_LOG" ||
        { fail "valsort passed $1 but counted records out of order"; return 1; }
    n=$(awk -F '\t' '$1 == "records" { print $2 }' "$LAST_LOG")
    grep -q "sheaf valsort: $n records in order" "$LAST_LOG" ||
        { fail "valsort did not say $1 is in order: $(tail -n 3 "$LAST_LOG")"; return 1; }
    valsort_counts
}

case_lines() {
    sort "$TMP/kjv.txt" >"$TMP/lines.ref"
    each_np lines sort -i "$TMP/kjv.txt" --split-size 32K --sample 500
    for out in $(outs lines); do
        parts "$out" >"$out.all"
        same_file "$out.all" "$TMP/lines.ref"
    done
    # tsv: sorted by the text before the first tab, lines written back whole.
    # (An empty value would come back without its tab: `key<TAB>` is written as `key`.)
    awk 'NF > 0 { print NR % 97 "\t" $0 }' "$TMP/kjv.txt" >"$TMP/kv.tsv"
    must_np 3 sort -i "$TMP/kv.tsv" --input-format tsv -o "$TMP/tsv"
    parts "$TMP/tsv" | cut -f1 >"$TMP/tsv.keys"
    cut -f1 "$TMP/kv.tsv" | sort >"$TMP/tsv.ref"
    same_file "$TMP/tsv.keys" "$TMP/tsv.ref"
    same_sorted "$TMP/tsv" "$TMP/kv.tsv"
}

case_terasort() {
    must_np 4 gensort 1000000 "$TMP/gen"
    local want got
    want=$(valsort_of "$TMP/gen")
    [[ $want == "1000000 "* ]] || fail "gensort wrote: $want"
    local rc=0
    run_np 2 valsort "$TMP/gen" || rc=$?
    ((rc == 1)) || fail "valsort gave status $rc on unsorted gensort output"
    grep -q 'out of order' "$LAST_LOG" || fail "valsort did not say what is out of order"
    local np rounds
    for np in 1 2 3 4; do
        must_np "$np" sort -i "$TMP/gen" --input-format fixed:100 -o "$TMP/sorted$np"
        got=$(sorted_of "$TMP/sorted$np")
        [[ $got == "$want" ]] || fail "sorted at $np ranks: $got, input: $want"
        # At 1 rank the 100 MB leave the map in rounds of 4 MiB, not in one after it, though
        # the default budget would hold them. (With more ranks a round waits until every rank
        # is ready, so how many there are depends on timing.)
        rounds=$(jq '.counters.shuffle_rounds.min' "$TMP/sorted$np/_report.json")
        ((np > 1 || rounds >= 20)) || fail "$rounds shuffle rounds at 1 rank"
        local -a p=("$TMP/sorted$np"/part-r-*)
        ((${#p[@]} == np)) || fail "expected $np partitions, got ${#p[@]}"
        [[ -s ${p[0]} && -s ${p[np - 1]} ]] || fail "empty partitions in a uniform sort"
        rm -rf "$TMP/sorted$np"
    done
}

case_small_ranks() {
    must_np 0 gensort 60000 "$TMP/small" --files 3
    local want np got
    want=$(valsort_of "$TMP/small")
    must_np 3 gensort 60000 "$TMP/small3"
    cmp -s <(cat "$TMP/small"/part-*) <(cat "$TMP/small3"/part-*) ||
        fail "gensort depends on the rank count"
    for np in 1 2 3; do
        must_np "$np" sort -i "$TMP/small" --input-format fixed:100 -o "$TMP/small-np$np" \
            --split-size 1M
        got=$(sorted_of "$TMP/small-np$np")
        [[ $got == "$want" ]] || fail "np $np: $got, input: $want"
    done
}

case_ascii_exact() {
    # Printable keys, all distinct: sorting the records as lines is sorting them by key.
    must_np 2 gensort 20000 "$TMP/asc" --ascii --seed 7
    cat "$TMP/asc"/part-* | sort >"$TMP/asc.ref"
    local np
    for np in 1 4; do
        must_np "$np" sort -i "$TMP/asc" --input-format fixed:100 -o "$TMP/asc-np$np"
        parts "$TMP/asc-np$np" >"$TMP/asc-np$np.all"
        same_file "$TMP/asc-np$np.all" "$TMP/asc.ref"
    done
}

case_skew() {
    must_np 3 gensort 200000 "$TMP/skew" --skew 90
    local want got
    want=$(valsort_of "$TMP/skew")
    must_np 3 sort -i "$TMP/skew" --input-format fixed:100 -o "$TMP/skew-sorted"
    got=$(sorted_of "$TMP/skew-sorted")
    [[ $got == "$want" ]] || fail "skewed sort: $got, input: $want"
}

# All of the map output comes from the first rank's task (--schedule static: rank r maps
# tasks r, r + N, ...; grep keeps the lines of the first half only), so the others are never
# ready for a round until they have finished mapping; rank 0 maps on meanwhile, and its 12 MB
# leave in rounds once they are done (or in one at the end, if rank 0 finishes first).
case_one_rank_emits() {
    local size np
    for _ in $(seq 15); do cat "$TMP/kjv.txt"; done |
        awk '{ printf "m%07d %s\n", NR, $0 }' >"$TMP/first.txt"
    size=$(stat -c %s "$TMP/first.txt")
    sed 's/^m/x/' "$TMP/first.txt" >"$TMP/second.txt"
    cat "$TMP/second.txt" >>"$TMP/first.txt"
    grep '^m' "$TMP/first.txt" >"$TMP/first.ref"
    for np in 2 3; do
        must_np "$np" grep '^m' -i "$TMP/first.txt" --schedule static --split-size "$size" \
            -o "$TMP/first$np"
        same_sorted "$TMP/first$np" "$TMP/first.ref"
    done
}

case_edge() {
    : >"$TMP/empty"
    must_np 2 sort -i "$TMP/empty" -o "$TMP/e1"
    [[ -z $(parts "$TMP/e1") ]] || fail "empty input gave output"
    must_np 3 sort -i "$TMP/empty" --input-format fixed:100 -o "$TMP/e2"
    local got
    got=$(sorted_of "$TMP/e2")
    [[ $got == "0 0000000000000000" ]] || fail "empty fixed sort: $got"
    must_np 0 gensort 1 "$TMP/one"
    must_np 4 sort -i "$TMP/one" --input-format fixed:100 -o "$TMP/one-sorted"
    cmp -s <(parts "$TMP/one-sorted") "$TMP/one/part-00000" || fail "one record"
    printf 'x\n' >"$TMP/x"
    must_np 4 sort -i "$TMP/x" -o "$TMP/x-sorted"
    same_file <(parts "$TMP/x-sorted") "$TMP/x"
}

case_usage() {
    local rc=0
    cat "$TMP/one/part-00000" "$TMP/one/part-00000" | head -c 150 >"$TMP/bad-size"
    run_np 0 valsort "$TMP/bad-size" || rc=$?
    ((rc == 1)) || fail "a partial record gave status $rc"
    rc=0
    run_np 0 gensort "$TMP/no-count" || rc=$?
    ((rc == 2)) || fail "gensort without a count gave status $rc"
    rc=0
    run_np 0 gensort 10 "$TMP/one" || rc=$?
    ((rc == 1)) || fail "gensort into an existing directory gave status $rc"
    rc=0
    run_np 0 sort -i "$TMP/x" -o "$TMP/u" --output-format raw || rc=$?
    ((rc == 2)) || fail "raw output of lines gave status $rc"
}

run_case "lines and tsv" case_lines
run_case "gensort, sort, valsort: 10^6 records at 1 to 4 ranks" case_terasort
run_case "1 to 3 ranks, deterministic gensort" case_small_ranks
run_case "printable records byte for byte" case_ascii_exact
run_case "skewed key" case_skew
run_case "one rank's tasks emit everything" case_one_rank_emits
run_case "empty input, one record" case_edge
run_case "bad usage" case_usage
finish
