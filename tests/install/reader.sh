#!/usr/bin/env bash
# What `make install` gives a reader: manual pages that render and say what the code says,
# bash completion that completes what the commands accept, the examples with a Makefile that
# builds them against a Sheaf installed under any prefix (shared with an rpath, and static),
# and the README's own program, built as the README says with every warning an error.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/install/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_sheaf
dest=$TMP/dest
prefix_dir=$(dirname "$INST_LIBDIR") # the installed prefix, under DESTDIR
[[ -x $prefix_dir/bin/sheaf ]] || hard_error "no sheaf installed under $prefix_dir"
SHEAF_BIN=$prefix_dir/bin/sheaf
jobs=$("$SHEAF_BIN" jobs | awk '{ print $1 }')

mkdir -p "$TMP/in"
text_sample 2000 >"$TMP/in/kjv.txt"
tr -s ' \t\r\n' '\n' <"$TMP/in/kjv.txt" | grep -v '^$' | sort | uniq -c |
    sed -E 's/^ *([0-9]+) (.+)$/\2\t\1/' | LC_ALL=C sort >"$TMP/ref"

# render PAGE: the page as man shows it (plain text), failing when man fails or shows nothing.
render() {
    local out=$TMP/render.txt
    MANWIDTH=100 man -l -E ascii "$1" 2>"$TMP/render.err" | col -b >"$out" ||
        fail "man -l $1 failed: $(cat "$TMP/render.err")"
    if grep -v 'table wider than line width\|^warning: file\|^ *$' "$TMP/render.err" | grep -q .; then
        fail "man -l $1 warns: $(cat "$TMP/render.err")"
    fi
    [[ -s $out ]] || fail "man -l $1 shows nothing"
    cat "$out"
}

case_man_sheaf() {
    command -v man >/dev/null || fail "man is not installed"
    local page=$dest/usr/local/share/man/man1/sheaf.1 text job
    page=$(find "$dest" -path '*/man1/sheaf.1')
    [[ -f $page ]] || fail "sheaf.1 is not installed"
    text=$(render "$page")
    [[ $text == *"SHEAF(1)"* ]] || fail "sheaf.1 has no SHEAF(1) header"
    for job in $jobs; do
        # every job has its own subsection, with its own first option when it has one
        grep -qxE "   $job" <<<"$text" || fail "sheaf.1 has no section for job $job"
    done
    for opt in --split-size --overwrite --report --input-format --memory; do
        grep -qe "$opt" <<<"$text" || fail "sheaf.1 does not describe $opt"
    done
    grep -qe '--lower' <<<"$text" || fail "sheaf.1 lacks wordcount's --lower"
}

case_man_cluster() {
    local page text verb
    page=$(find "$dest" -path '*/man1/sheaf-cluster.1')
    [[ -f $page ]] || fail "sheaf-cluster.1 is not installed"
    text=$(render "$page")
    for verb in $("$top_srcdir/scripts/sheaf-cluster" --help |
        awk '/^Verbs:/ { v = 1; next } v && /^  [a-z]/ { print $1 } v && /^$/ { v = 0 }'); do
        grep -qxE "   $verb" <<<"$text" || fail "sheaf-cluster.1 has no section for verb $verb"
    done
    grep -qe '--ranks-per-node' <<<"$text" || fail "sheaf-cluster.1 lacks create's options"
}

case_man_api() {
    local page text fn n=0
    page=$(find "$dest" -path '*/man3/sheaf.3')
    [[ -f $page ]] || fail "sheaf.3 is not installed"
    text=$(render "$page")
    # every function the installed header declares is on the page
    for fn in $(grep -oE '\bsheaf_[a-z0-9_]+\(' "$prefix_dir/include/sheaf.h" | tr -d '(' | sort -u); do
        grep -q "$fn" <<<"$text" || fail "sheaf.3 does not describe $fn"
        n=$((n + 1))
    done
    ((n > 10)) || fail "found only $n functions in sheaf.h"
}

case_completion() {
    local comp=$prefix_dir/share/bash-completion/completions got want
    [[ -f $comp/sheaf && -f $comp/sheaf-cluster ]] || fail "bash completion is not installed"
    got=$(PATH=$prefix_dir/bin:$PATH bash -c '
        . "$1/sheaf"; COMP_WORDS=(sheaf ""); COMP_CWORD=1; _sheaf; printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" |
        grep -vx -e jobs -e schema | LC_ALL=C sort)
    want=$(LC_ALL=C sort <<<"$jobs")
    [[ $got == "$want" ]] || fail "job names completed: $got; want $want"
    got=$(PATH=$prefix_dir/bin:$PATH bash -c '
        . "$1/sheaf"; COMP_WORDS=(sheaf wordcount --sp); COMP_CWORD=2; _sheaf; printf "%s\n" "${COMPREPLY[@]}"' _ "$comp")
    [[ $got == "--spill-dir"$'\n'"--split-size" ]] || fail "wordcount --sp completed to: $got"
    got=$(PATH=$prefix_dir/bin:$PATH bash -c '
        . "$1/sheaf-cluster"; COMP_WORDS=(sheaf-cluster describe-s); COMP_CWORD=1; _sheaf_cluster; printf "%s\n" "${COMPREPLY[@]}"' _ "$comp")
    [[ $got == describe-step ]] || fail "sheaf-cluster describe-s completed to: $got"
    got=$(PATH=$prefix_dir/bin:$PATH bash -c '
        . "$1/sheaf-cluster"; COMP_WORDS=(sheaf-cluster terminate-c); COMP_CWORD=1; _sheaf_cluster; printf "%s\n" "${COMPREPLY[@]}"' _ "$comp")
    [[ $got == terminate-clusters ]] || fail "sheaf-cluster terminate-c completed to: $got"
}

case_cluster_installed() {
    # the installed launcher finds its per-rank wrapper (in ../libexec/sheaf) and runs a step
    local id out home=$TMP/sheaf-home
    [[ -f $prefix_dir/libexec/sheaf/sheaf-cluster-rank ]] || fail "sheaf-cluster-rank is not installed"
    # shellcheck disable=SC2016 # the rank expands its own variable
    id=$(SHEAF_HOME=$home "$prefix_dir/bin/sheaf-cluster" create --name inst --backend local \
        --ranks-per-node 2 --auto-terminate --wait --timeout 120 \
        --step 'name=r,cmd=sh -c "echo rank $OMPI_COMM_WORLD_RANK"') ||
        fail "the installed sheaf-cluster's step failed: $(cat "$home"/clusters/*/steps/s-0001/stderr)"
    out=$(sort "$home/clusters/$id/steps/s-0001/stdout" | tr '\n' ' ')
    [[ $out == "rank 0 rank 1 " ]] || fail "the installed sheaf-cluster's step printed: $out"
}

check_counts() {
    local out=$1
    check_done "$out"
    cat "$out"/part-r-* | LC_ALL=C sort >"$out.sorted"
    same "$out.sorted" "$TMP/ref" "$out"
}

case_examples_makefile() {
    local ex
    ex=$(find "$dest" -type d -path '*/share/doc/sheaf/examples')
    [[ -f $ex/Makefile && -f $ex/wordcount.c ]] || fail "the examples are not installed with a Makefile"
    cp -r "$ex" "$TMP/ex"
    make -C "$TMP/ex" CFLAGS='-O2 -Wall -Wextra -Werror' >"$TMP/ex.log" 2>&1 ||
        { cat "$TMP/ex.log"; fail "make in the installed examples failed"; }
    # the rpath finds the library: no LD_LIBRARY_PATH
    (cd "$TMP" && LD_LIBRARY_PATH='' timeout 120 "$MPIRUN" -np 2 --oversubscribe \
        "$TMP/ex/wordcount" -i "$TMP/in" -o "$TMP/out-ex") >"$TMP/ex-run.log" 2>&1 ||
        { cat "$TMP/ex-run.log"; fail "the example built by its Makefile did not run"; }
    check_counts "$TMP/out-ex"
    [[ -f $INST_LIBDIR/libsheaf.a ]] || return 0
    make -C "$TMP/ex" clean >/dev/null
    make -C "$TMP/ex" STATIC=1 CFLAGS='-O2 -Wall -Wextra -Werror' wordcount >"$TMP/ex.log" 2>&1 ||
        { cat "$TMP/ex.log"; fail "make STATIC=1 failed"; }
    if readelf -d "$TMP/ex/wordcount" | grep -q 'NEEDED.*libsheaf'; then
        fail "the STATIC=1 build still needs libsheaf.so"
    fi
    (cd "$TMP" && LD_LIBRARY_PATH='' timeout 120 "$MPIRUN" -np 2 --oversubscribe \
        "$TMP/ex/wordcount" -i "$TMP/in" -o "$TMP/out-ex-static") >"$TMP/ex-run.log" 2>&1 ||
        { cat "$TMP/ex-run.log"; fail "the static example did not run"; }
    check_counts "$TMP/out-ex-static"
}

case_readme_program() {
    # the README's first C program, built with its recipe plus the rpath it explains
    awk '/^```c$/ { on = 1; next } on && /^```$/ { exit } on { print }' \
        "$top_srcdir/README.md" >"$TMP/user/readme.c"
    grep -q sheaf_main "$TMP/user/readme.c" || fail "no program found in README.md"
    # shellcheck disable=SC2046
    (cd "$TMP/user" && "$MPICC" -std=c11 -Wall -Wextra -Werror readme.c \
        $(pkg-config --cflags --libs sheaf) -Wl,-rpath,"$(pkg-config --variable=libdir sheaf)" \
        -o readme) >"$TMP/readme.log" 2>&1 || { cat "$TMP/readme.log"; fail "README's program does not build"; }
    (cd "$TMP" && LD_LIBRARY_PATH='' timeout 120 "$MPIRUN" -np 2 --oversubscribe \
        "$TMP/user/readme" -i "$TMP/in" -o "$TMP/out-readme") >"$TMP/readme-run.log" 2>&1 ||
        { cat "$TMP/readme-run.log"; fail "README's program did not run"; }
    check_counts "$TMP/out-readme"
    # pkg-config --static names only libraries that exist here
    # shellcheck disable=SC2046
    (cd "$TMP/user" && "$MPICC" readme.c $(pkg-config --cflags sheaf) \
        $(pkg-config --variable=static_libs sheaf) -o readme-static) >"$TMP/readme.log" 2>&1 ||
        { cat "$TMP/readme.log"; fail "the static_libs recipe does not link"; }
    # shellcheck disable=SC2046
    (cd "$TMP/user" && "$MPICC" readme.c $(pkg-config --cflags --static --libs sheaf) \
        -o readme-static-pc) >"$TMP/readme.log" 2>&1 ||
        { cat "$TMP/readme.log"; fail "pkg-config --static --libs names a library that is missing"; }
}

mkdir -p "$TMP/user"
# The manual pages are made when configure found help2man and go-md2man, and never in a
# sanitizer build (whose commands would run under the sanitizers to print their help).
if grep -q '^nodist_man1_MANS' "$top_builddir/Makefile"; then
run_case "sheaf(1) renders, with every job and the common options" case_man_sheaf
run_case "sheaf-cluster(1) renders, with every verb" case_man_cluster
run_case "sheaf(3) renders, with every function of sheaf.h" case_man_api
else
    echo "# no manual pages in this build (configured without help2man/go-md2man, or sanitizers)"
fi
run_case "bash completion of jobs, options and verbs" case_completion
run_case "the installed sheaf-cluster runs a step through its installed rank wrapper" case_cluster_installed
run_case "installed examples build with their Makefile, shared and static" case_examples_makefile
run_case "README's program builds -Wall -Wextra and runs from any prefix" case_readme_program
finish
