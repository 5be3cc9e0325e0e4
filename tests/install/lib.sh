# shellcheck shell=bash
# Helpers for the install tests: each builds one program of examples/ the way a user would,
# against an installed Sheaf, runs it under mpirun and compares its output with a reference
# computed another way (coreutils, awk).
#
# A test file sources this, calls `install_sheaf` and `build_example NAME`, defines its cases
# as functions, runs them with `run_case`, and ends with `finish`. A case runs in a subshell
# with `set -e`, so any failing command fails the case and the other cases still run.
#
# install_sheaf runs `make install DESTDIR=...` in the build tree into this test's own
# temporary directory (installs are serialized with flock, so parallel tests do not race in
# one build tree). The installed sheaf.pc still names the configured prefix, so a copy with
# the DESTDIR prepended to its absolute paths goes first in PKG_CONFIG_PATH; the example is
# then built outside the source tree with nothing but
#     mpicc NAME.c $(pkg-config --cflags --libs sheaf)
# and run with LD_LIBRARY_PATH pointing at the installed library.
#
# Environment (set by `make check`; the defaults let a test run by hand from a build tree):
#   top_srcdir, top_builddir, MPIRUN
#   MPICC                 the MPI compiler wrapper (default mpicc)
#   SHEAF_EXAMPLE_CFLAGS  flags for building the examples (default -O2 -Wall -Wextra -Werror)
#   SHEAF_TEST_TIMEOUT    seconds one run may take (default 120)
#   SHEAF_TEST_KEEP=1     keep the temporary directory
# Exit status: 0 all passed, 1 a case failed, 77 skipped, 99 hard error.
set -euo pipefail

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${MPIRUN:=mpirun}"
: "${MPICC:=mpicc}"
: "${SHEAF_EXAMPLE_CFLAGS:=-O2 -Wall -Wextra -Werror}"
: "${SHEAF_TEST_TIMEOUT:=120}"
if ((EUID == 0)); then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_rmaps_base_oversubscribe=1
# Tests run side by side on small machines: ranks that wait should yield their core.
export OMPI_MCA_mpi_yield_when_idle=1
export LC_ALL=C

# shellcheck disable=SC2034 # used by the test files
TAB=$(printf '\t')

skip() {
    echo "SKIP: $*"
    exit 77
}

command -v "$MPICC" >/dev/null 2>&1 || skip "$MPICC not found"
command -v pkg-config >/dev/null 2>&1 || skip "pkg-config not found"
command -v "$MPIRUN" >/dev/null 2>&1 || { echo "error: $MPIRUN not found" >&2; exit 99; }
[[ -f $top_builddir/Makefile ]] || { echo "error: $top_builddir is not configured" >&2; exit 99; }

# shellcheck source=tests/cases.sh
SHEAF_TEST_PREFIX=sheaf-install . "$top_srcdir/tests/cases.sh"

# hard_error MESSAGE [LOG]: the test cannot run at all (exit 99), showing the log's tail.
hard_error() {
    echo "error: $1" >&2
    if [[ -n ${2:-} && -f $2 ]]; then
        tail -n 30 "$2" >&2
    fi
    exit 99
}

# install_sheaf: installs the build tree into $TMP/dest and points pkg-config at it.
# Sets INST_LIBDIR (the installed library directory).
install_sheaf() {
    local dest=$TMP/dest log=$TMP/install.log pc
    local -a make_cmd=(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL
        "${MAKE:-make}" -C "$top_builddir" install "DESTDIR=$dest")
    if command -v flock >/dev/null 2>&1; then
        make_cmd=(flock "$top_builddir/.install-test.lock" "${make_cmd[@]}")
    fi
    "${make_cmd[@]}" >"$log" 2>&1 || hard_error "make install DESTDIR=$dest failed" "$log"
    pc=$(find "$dest" -name sheaf.pc -path '*/pkgconfig/*' | head -n 1)
    [[ -n $pc ]] || hard_error "make install did not install sheaf.pc" "$log"
    # With DESTDIR the .pc file still names the configured prefix: prepend DESTDIR to its
    # absolute directory variables (those written relative to ${prefix} follow).
    mkdir -p "$TMP/pkgconfig"
    awk -v dest="$dest" '
        /^(prefix|exec_prefix|libdir|includedir)=\// { sub(/=/, "=" dest) }
        { print }' "$pc" >"$TMP/pkgconfig/sheaf.pc"
    export PKG_CONFIG_PATH=$TMP/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
    pkg-config --exists --print-errors sheaf || hard_error "pkg-config cannot use sheaf.pc"
    INST_LIBDIR=$(pkg-config --variable=libdir sheaf)
    local incdir
    incdir=$(pkg-config --variable=includedir sheaf)
    [[ -f $incdir/sheaf.h ]] || hard_error "sheaf.h is not installed in $incdir"
    export LD_LIBRARY_PATH=$INST_LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    echo "# installed into $dest (libdir $INST_LIBDIR)"
}

# build_example NAME [CFLAGS...]: copies examples/NAME.c to $TMP/user (outside the source
# tree) and builds $TMP/user/NAME as a user would. Extra arguments are compiler flags.
build_example() {
    local name=$1 log=$TMP/build-$1.log
    shift
    mkdir -p "$TMP/user"
    cp "$top_srcdir/examples/$name.c" "$TMP/user/"
    # shellcheck disable=SC2046,SC2086
    (cd "$TMP/user" &&
        "$MPICC" $SHEAF_EXAMPLE_CFLAGS "$@" "$name.c" $(pkg-config --cflags --libs sheaf) \
            -o "$name") >"$log" 2>&1 || hard_error "cannot build examples/$name.c" "$log"
    if [[ -s $log ]]; then
        cat "$log" # warnings, when the flags do not make them errors
    fi
}

# build_example_static NAME: builds $TMP/user/NAME-static against libsheaf.a: the archive,
# then the libraries it needs, linked as shared libraries, so only Sheaf is static: sheaf.pc's
# static_libs (which carries the sanitizers' flags in a sanitizer build). Returns 77 when no libsheaf.a is installed.
build_example_static() {
    local name=$1 log=$TMP/build-$1-static.log
    [[ -f $INST_LIBDIR/libsheaf.a ]] || return 77
    mkdir -p "$TMP/user"
    cp "$top_srcdir/examples/$name.c" "$TMP/user/"
    # shellcheck disable=SC2046,SC2086
    (cd "$TMP/user" &&
        "$MPICC" $SHEAF_EXAMPLE_CFLAGS "$name.c" $(pkg-config --cflags sheaf) \
            $(pkg-config --variable=static_libs sheaf) \
            -o "$name-static") >"$log" 2>&1 || {
        tail -n 30 "$log" >&2
        fail "cannot build examples/$name.c against libsheaf.a"
    }
}

# run_np NP PROGRAM ARG...: runs $TMP/user/PROGRAM on NP ranks under mpirun (without mpirun
# when NP is 0: a singleton), from $TMP. stdout goes to $LAST_LOG.out, stderr to $LAST_LOG;
# returns the program's status.
run_np() {
    local np=$1 prog=$2 rc=0
    shift 2
    local -a cmd=("$TMP/user/$prog" "$@")
    if ((np > 0)); then
        cmd=("$MPIRUN" -np "$np" --oversubscribe "${cmd[@]}")
    fi
    echo "\$ ${cmd[*]}"
    (cd "$TMP" && timeout -k 10 "$SHEAF_TEST_TIMEOUT" "${cmd[@]}") \
        >"$LAST_LOG.out" 2>"$LAST_LOG" </dev/null || rc=$?
    if ((rc == 124 || rc == 137)); then
        echo "timed out after $SHEAF_TEST_TIMEOUT s" >>"$LAST_LOG"
    fi
    return "$rc"
}

# must_np NP PROGRAM ARG...: run_np that must succeed; shows the output when it does not.
must_np() {
    local rc=0
    run_np "$@" || rc=$?
    if ((rc != 0)); then
        tail -n 30 "$LAST_LOG" >&2
        fail "$2 exited with status $rc"
    fi
}

# check_done OUT: OUT is a finished job: _SUCCESS, _report.json and at least one part file.
check_done() {
    local out=$1
    [[ -f $out/_SUCCESS ]] || fail "$out/_SUCCESS is missing"
    [[ -f $out/_report.json ]] || fail "$out/_report.json is missing"
    compgen -G "$out/part-r-*" >/dev/null || fail "no part-r-* files in $out"
}

# same OUTPUT REF WHAT: the two files are equal, or the case fails showing the difference.
same() {
    if ! cmp -s "$1" "$2"; then
        echo "output (<) differs from the reference (>):" >&2
        diff "$1" "$2" | head -n 20 | cat -v >&2 || true
        fail "$3 differs from the reference"
    fi
}

# user_counter REPORT NAME: a user counter of a job report (0 when absent).
user_counter() {
    if command -v jq >/dev/null 2>&1; then
        jq -r --arg n "$2" '.user_counters[$n] // 0' "$1"
    else
        # The report is JSON from jansson; a counter name appears once, under user_counters.
        local v
        v=$(tr -d ' \n' <"$1" | grep -o "\"user_counters\":{[^}]*" |
            grep -o "\"$2\":-\{0,1\}[0-9]*" | cut -d: -f2) || true
        echo "${v:-0}"
    fi
}

# text_sample N: the first N lines of the sample corpus (data/kjv.txt).
text_sample() {
    head -n "$1" "$top_srcdir/data/kjv.txt"
}
