#!/usr/bin/env bash
# Builds Sheaf with AddressSanitizer and UndefinedBehaviorSanitizer (`configure
# --enable-sanitizers`) out of tree in a temporary directory and runs the whole `make check`
# there, with the options of tests/sanitize/env.sh (leak checking on, Open MPI's own leaks
# suppressed, every sanitizer report fatal with exit status 86).
#
#   tests/sanitize/run.sh [--keep] [-j N] [SRCDIR] [-- MAKE-ARG...]
#
#   SRCDIR     the source tree (default: the one holding this script). It is not modified: the
#              files git knows (tracked and untracked but not ignored) are copied first, or the
#              whole tree without .git when it is not a git checkout (then `make distclean`
#              runs in the copy if the tree was configured in place).
#   --keep     keep the temporary directory (also SHEAF_TEST_KEEP=1)
#   -j N       parallel make jobs (default 2)
#   MAKE-ARG   passed to `make check`, e.g. TESTS='tests/unit/test_reader'
#
# Exit status: 0 when the build, every test and the sanitizers are clean; 1 otherwise (the
# failing tests' logs and every sanitizer report are printed); 77 when the compiler cannot
# build with the sanitizers.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=
keep=${SHEAF_TEST_KEEP:-0}
jobs=2
make_args=()
while (($# > 0)); do
    case $1 in
        --keep) keep=1; shift ;;
        -j) jobs=${2:?"-j needs a number"}; shift 2 ;;
        -j*) jobs=${1#-j}; shift ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --) shift; make_args=("$@"); break ;;
        -*) echo "run.sh: unknown option '$1'" >&2; exit 2 ;;
        *) src=$1; shift ;;
    esac
done
: "${src:=$(cd "$here/../.." && pwd)}"
src=$(cd "$src" && pwd)
[[ -f $src/configure.ac ]] || { echo "run.sh: $src is not a Sheaf source tree" >&2; exit 2; }

start=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/sheaf-sanitize.XXXXXX")
# shellcheck disable=SC2317  # invoked through the trap
cleanup() {
    if ((keep)); then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
log() { printf '== %s (%d s)\n' "$*" "$((SECONDS - start))"; }

# Can the compiler build and run a sanitized MPI program at all?
cc=$(command -v mpicc || true)
[[ -n $cc ]] || { echo "run.sh: SKIP: mpicc not found"; exit 77; }
printf '#include <mpi.h>\nint main(void) { return 0; }\n' >"$work/probe.c"
if ! "$cc" -fsanitize=address,undefined -o "$work/probe" "$work/probe.c" 2>"$work/probe.err" ||
    ! ASAN_OPTIONS=detect_leaks=0 "$work/probe"; then
    cat "$work/probe.err"
    echo "run.sh: SKIP: $cc cannot build with -fsanitize=address,undefined"
    exit 77
fi

log "copying $src"
copy=$work/src
mkdir -p "$copy"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$src" ls-files -z --cached --others --exclude-standard |
        tar -C "$src" --null --no-recursion --ignore-failed-read -T - -cf - 2>/dev/null |
        tar -C "$copy" -xf -
else
    tar -C "$src" --exclude=.git -cf - . | tar -C "$copy" -xf -
    if [[ -f $copy/config.status ]]; then
        log "make distclean in the copy"
        make -C "$copy" distclean >/dev/null 2>&1 || true
    fi
fi
# The test oracles (DuckDB and the other Parquet implementations, installed by scripts/check
# and ignored by git) are not copied: the copy reads them where they are.
if [[ -d $src/tests/oracle/node_modules && ! -e $copy/tests/oracle/node_modules ]]; then
    ln -s "$src/tests/oracle/node_modules" "$copy/tests/oracle/node_modules"
fi

log "autoreconf"
(cd "$copy" && autoreconf -fi) >"$work/autoreconf.log" 2>&1 ||
    { cat "$work/autoreconf.log"; echo "run.sh: autoreconf failed"; exit 1; }

build=$work/build
mkdir -p "$build"
log "configure --enable-sanitizers"
(cd "$build" && "$copy/configure" --enable-sanitizers --disable-werror) >"$work/configure.log" 2>&1 ||
    { tail -n 30 "$work/configure.log"; echo "run.sh: configure failed"; exit 1; }

log "make -j$jobs"
if ! make -C "$build" -j"$jobs" >"$work/make.log" 2>&1; then
    grep -E 'error|Error' "$work/make.log" | head -n 30
    echo "run.sh: the sanitizer build failed"
    exit 1
fi

export SHEAF_SAN_LOG_DIR=$work/reports
cc -shared -fPIC -O2 -o "$work/nodlclose.so" "$here/nodlclose.c" ||
    { echo "run.sh: cannot build nodlclose.so"; exit 1; }
export SHEAF_SAN_PRELOAD=$work/nodlclose.so
# shellcheck source=tests/sanitize/env.sh
. "$here/env.sh"
# The SQL oracle tests run every third query of their corpus here (tests/sql/run.py): each run
# is several times slower under the sanitizers, and the normal build runs the whole corpus.
export SHEAF_SQL_EVERY=${SHEAF_SQL_EVERY:-3}
log "make -j$jobs check ${make_args[*]}"
check=0
make -C "$build" -j"$jobs" check "${make_args[@]}" >"$work/check.log" 2>&1 || check=$?

status=0
bad=()
reports=()
echo
echo "==== sanitizer build: make check exited $check ===="
grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' "$build/test-suite.log" 2>/dev/null || true
if ((check != 0)); then
    status=1
    mapfile -t bad < <(grep -l -r -E '^:test-result: (FAIL|XPASS|ERROR)' --include='*.trs' \
        "$build" 2>/dev/null | LC_ALL=C sort)
    for trs in "${bad[@]}"; do
        echo "---- failed: ${trs#"$build"/} (last 40 lines of its log) ----"
        tail -n 40 "${trs%.trs}.log" 2>/dev/null || true
    done
    ((${#bad[@]} > 0)) || tail -n 40 "$work/check.log"
fi
# Reports written by processes whose output a test did not show.
mapfile -t reports < <(find "$SHEAF_SAN_LOG_DIR" -type f 2>/dev/null | LC_ALL=C sort)
if ((${#reports[@]} > 0)); then
    status=1
    echo "==== ${#reports[@]} sanitizer report(s) ===="
    for r in "${reports[@]}"; do
        echo "---- ${r#"$work"/} ----"
        head -n 60 "$r"
    done
fi
# Last, what failed in a few lines, since a log's reader may see only the end of it.
if ((status != 0)); then
    echo "==== what failed ===="
    for trs in "${bad[@]}"; do echo "test: ${trs#"$build"/}"; done
    for r in "${reports[@]}"; do
        echo "report ${r##*/}: $(grep -m 1 -E 'SUMMARY|ERROR' "$r" | cut -c 1-160)"
    done
fi
log "done: $( ((status == 0)) && echo clean || echo FAILED)"
exit "$status"
