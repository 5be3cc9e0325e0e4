#!/usr/bin/env bash
# sheaf wordcount on inputs of many files: 500 small files, a directory tree whose `_` and `.`
# names are skipped, globs, several -i options.
# Cases are functions that run_case calls.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/mpi/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case_many_files() {
    local d=$TMP/many i
    mkdir -p "$d"
    gencorpus -s 21 -n 400K >"$TMP/many.src"
    # 500 files of about 800 bytes, cut anywhere (most end inside a word, without a newline),
    # and a few empty ones.
    split -a 3 -d -n 497 "$TMP/many.src" "$d/f"
    for i in 1 2 3; do : >"$d/empty$i"; done
    local -a files=("$d"/*)
    ((${#files[@]} == 500)) || fail "made ${#files[@]} files, not 500"
    ref_wc "${files[@]}" >"$TMP/many.ref"
    wc_ranks "1 2 3 4" "$TMP/many.ref" many -i "$d"
}

case_tree() {
    local d=$TMP/tree
    mkdir -p "$d/sub/deeper/deepest" "$d/other" "$d/_skipped" "$d/.hidden" "$d/sub/_logs"
    gencorpus -s 31 -n 30K >"$d/a.txt"
    gencorpus -s 32 -n 20K >"$d/sub/b.txt"
    gencorpus -s 33 -n 10K >"$d/sub/deeper/c.txt"
    gencorpus -s 34 -n 5K >"$d/sub/deeper/deepest/d"
    : >"$d/other/empty.txt"
    # Skipped: names starting with _ or ., files and directories alike.
    echo "SKIPPED_WORD" >"$d/_x"
    echo "SKIPPED_WORD" >"$d/.x"
    echo "SKIPPED_WORD" >"$d/sub/_SUCCESS"
    echo "SKIPPED_WORD" >"$d/sub/deeper/.c.txt.swp"
    echo "SKIPPED_WORD" >"$d/_skipped/e.txt"
    echo "SKIPPED_WORD" >"$d/.hidden/f.txt"
    echo "SKIPPED_WORD" >"$d/sub/_logs/g.txt"
    ref_wc "$d/a.txt" "$d/sub/b.txt" "$d/sub/deeper/c.txt" "$d/sub/deeper/deepest/d" \
        "$d/other/empty.txt" >"$TMP/tree.ref"
    wc_ranks "1 2 3" "$TMP/tree.ref" tree -i "$d"
    if grep -q SKIPPED_WORD "$TMP/tree-np1.sorted"; then fail "read a _ or . file"; fi
}

case_glob() {
    local d=$TMP/glob
    mkdir -p "$d"
    gencorpus -s 41 -n 10K >"$d/one.txt"
    gencorpus -s 42 -n 10K >"$d/two.txt"
    gencorpus -s 43 -n 10K >"$d/three.log"
    ref_wc "$d/one.txt" "$d/two.txt" >"$TMP/glob.ref"
    # The glob is sheaf's to expand, not the shell's.
    wc_ranks "1 2" "$TMP/glob.ref" glob -i "$d/*.txt"
}

case_several_inputs() {
    local d=$TMP/several
    mkdir -p "$d/dir"
    gencorpus -s 51 -n 15K >"$d/x.txt"
    gencorpus -s 52 -n 15K >"$d/dir/y.txt"
    gencorpus -s 53 -n 15K >"$d/dir/z.txt"
    ref_wc "$d/x.txt" "$d/dir/y.txt" "$d/dir/z.txt" >"$TMP/several.ref"
    wc_ranks "2 3" "$TMP/several.ref" several -i "$d/x.txt" -i "$d/dir"
}

run_case "500 small files" case_many_files
run_case "directory tree with skipped names" case_tree
run_case "glob input" case_glob
run_case "several -i" case_several_inputs
finish
