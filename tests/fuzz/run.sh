#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ against the runtime's sources (clang,
# -fsanitize=fuzzer,address,undefined) and runs each for a bounded time from its seed corpus
# (tests/fuzz/corpus/TARGET/, which is only read: new inputs go to a temporary copy), after
# replaying the inputs that once made it fail (tests/fuzz/crashes/TARGET-*).
#
#   tests/fuzz/run.sh [TARGET...]          default: every fuzz_*.c
#
#   FUZZ_SECONDS   seconds per target (default 20)
#   FUZZ_SEED      libFuzzer's seed (default 1: every run explores the same inputs in the same
#                  order, so `make check` passes or fails alike on every machine; 0 picks a
#                  random seed, for a longer search: FUZZ_SEED=0 FUZZ_SECONDS=600)
#   FUZZ_JOBS      targets run at once (default 2)
#   FUZZ_ARTIFACTS where crash reproducers are kept (default: fuzz-artifacts/ in the build
#                  tree, or the current directory)
#   CLANG          the compiler (default: clang)
#   SHEAF_TEST_KEEP=1  keep the temporary directory (targets, logs, grown corpora)
#
# A crash or a failed invariant fails the run: its reproducer is kept in FUZZ_ARTIFACTS and
# the command that replays it is printed. Exit status: 0 clean, 1 a target failed, 77 when
# clang cannot build a libFuzzer program here, 99 on a build error.
set -euo pipefail

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${FUZZ_SECONDS:=20}"
: "${FUZZ_SEED:=1}"
: "${FUZZ_JOBS:=2}"
: "${CLANG:=clang}"
: "${FUZZ_ARTIFACTS:=$top_builddir/fuzz-artifacts}"
fuzzdir=$top_srcdir/tests/fuzz
start=$SECONDS

if ((EUID == 0)); then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# The sanitizer options of the project (leaks on, Open MPI's own leaks suppressed); the
# fuzzer's own settings are passed as flags below.
# shellcheck source=tests/sanitize/env.sh
. "$top_srcdir/tests/sanitize/env.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/sheaf-fuzz.XXXXXX")
# shellcheck disable=SC2317  # invoked through the trap
cleanup() {
    if [[ ${SHEAF_TEST_KEEP:-0} == 1 ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

skip() {
    echo "SKIP: $*"
    exit 77
}

command -v "$CLANG" >/dev/null 2>&1 || skip "$CLANG not found (apt-get install clang)"
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
    >"$work/probe.c"
"$CLANG" -fsanitize=fuzzer,address,undefined -o "$work/probe" "$work/probe.c" \
    >"$work/probe.log" 2>&1 ||
    skip "$CLANG cannot link libFuzzer programs: $(head -n 3 "$work/probe.log" | tr '\n' ' ')"

# MPI, hwloc, xxHash and jansson flags: the runtime's dependencies.
mpi_cflags=$(mpicc --showme:compile 2>/dev/null || pkg-config --cflags ompi-c 2>/dev/null || true)
mpi_libs=$(mpicc --showme:link 2>/dev/null || pkg-config --libs ompi-c 2>/dev/null || echo -lmpi)
dep_cflags=$(pkg-config --cflags hwloc libxxhash jansson snappy libzstd zlib liblzma) ||
    { echo "error: pkg-config cannot find hwloc, libxxhash, jansson or a codec" >&2; exit 99; }
# The codecs without ISA-L: gzip through zlib (runtime/codec.c).
dep_libs="$(pkg-config --libs hwloc libxxhash jansson snappy libzstd zlib liblzma) -lbz2"
read -r -a mpi_cflags_a <<<"$mpi_cflags"
read -r -a mpi_libs_a <<<"$mpi_libs"
read -r -a dep_cflags_a <<<"$dep_cflags"
read -r -a dep_libs_a <<<"$dep_libs"
cflags=(-g -O1 -std=c11 -D_GNU_SOURCE -DSHEAF_BUILDING -I"$top_srcdir/runtime"
    -fno-omit-frame-pointer -fno-sanitize-recover=undefined
    "${mpi_cflags_a[@]}" "${dep_cflags_a[@]}")
libs=("${dep_libs_a[@]}" "${mpi_libs_a[@]}" -lm)

if (($# > 0)); then
    targets=("$@")
else
    targets=()
    for f in "$fuzzdir"/fuzz_*.c; do
        t=${f##*/}
        targets+=("${t%.c}")
    done
fi

# The runtime, compiled once with fuzzer instrumentation (no main), shared by every target.
echo "# building the runtime and ${#targets[@]} target(s) with $CLANG"
mkdir -p "$work/obj"
objs=()
for src in "$top_srcdir"/runtime/*.c; do
    o=$work/obj/$(basename "${src%.c}").o
    objs+=("$o")
    "$CLANG" "${cflags[@]}" -fsanitize=fuzzer-no-link,address,undefined -c "$src" -o "$o" &
    while (($(jobs -rp | wc -l) >= FUZZ_JOBS)); do wait -n; done
done
if ! wait; then
    echo "error: the runtime does not build with $CLANG" >&2
    exit 99
fi
for t in "${targets[@]}"; do
    [[ -f $fuzzdir/$t.c ]] || { echo "error: no target $fuzzdir/$t.c" >&2; exit 99; }
    extra=()
    if [[ $t == fuzz_sql ]]; then
        # the query layer: its sources, the jobs' helpers, the generated parser and scanner
        extra=(-I"$top_srcdir" -I"$top_builddir" "$top_srcdir/jobs/jobutil.c"
            "$top_srcdir/jobs/schema.c")
        for f in "$top_srcdir"/sql/*.c; do # every source but the generated ones, added after
            case ${f##*/} in parser.c | lexer.c) ;; *) extra+=("$f") ;; esac
        done
        extra+=("$top_builddir/sql/parser.c" "$top_builddir/sql/lexer.c")
    fi
    "$CLANG" "${cflags[@]}" -fsanitize=fuzzer,address,undefined "$fuzzdir/$t.c" "${extra[@]}" \
        "${objs[@]}" "${libs[@]}" -o "$work/$t" || { echo "error: $t does not build" >&2; exit 99; }
done
echo "# built in $((SECONDS - start)) s; fuzzing each target for $FUZZ_SECONDS s (seed $FUZZ_SEED)"

# fuzz TARGET: runs one target; its log is $work/TARGET.log.
fuzz() {
    local t=$1 corpus=$work/corpus-$1 art=$work/art-$1/
    mkdir -p "$corpus" "$art"
    if [[ -d $fuzzdir/corpus/$t ]]; then
        cp -r "$fuzzdir/corpus/$t/." "$corpus/"
    fi
    local -a extra=()
    [[ -f $fuzzdir/$t.dict ]] && extra+=("-dict=$fuzzdir/$t.dict")
    # fuzz_options writes a usage error per input on stderr: close the target's stderr.
    [[ $t == fuzz_options ]] && extra+=(-close_fd_mask=2)
    (cd "$work" && timeout -k 10 $((FUZZ_SECONDS + 120)) "./$t" "${extra[@]}" \
        -max_total_time="$FUZZ_SECONDS" -seed="$FUZZ_SEED" -max_len=4096 -timeout=20 -rss_limit_mb=4096 \
        -print_final_stats=1 -artifact_prefix="$art" "$corpus") >"$work/$t.log" 2>&1
}

status=0
# Inputs that once failed (tests/fuzz/crashes/TARGET-*) are replayed first, every run.
for t in "${targets[@]}"; do
    mapfile -t old < <(find "$fuzzdir/crashes" -name "$t-*" -type f 2>/dev/null | LC_ALL=C sort)
    ((${#old[@]} > 0)) || continue
    if (cd "$work" && timeout -k 10 60 "./$t" -timeout=20 "${old[@]}") >"$work/$t.replay.log" 2>&1; then
        echo "ok - $t: ${#old[@]} earlier crash input(s) replayed"
    else
        status=1
        echo "not ok - $t: an earlier crash input fails again"
        grep -E -A 12 'ERROR: |runtime error|check failed' "$work/$t.replay.log" | head -n 30 ||
            tail -n 20 "$work/$t.replay.log"
    fi
done
declare -A pid_of=()
for t in "${targets[@]}"; do
    fuzz "$t" &
    pid_of[$t]=$!
    while (($(jobs -rp | wc -l) >= FUZZ_JOBS)); do wait -n || true; done
done
for t in "${targets[@]}"; do
    rc=0
    wait "${pid_of[$t]}" || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -n 1)
    # (a target that fails on its first input logs no coverage: not an error of this script)
    cov=$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -n 1 || true)
    mapfile -t found < <(find "$work/art-$t" -type f 2>/dev/null)
    if ((rc == 0 && ${#found[@]} == 0)); then
        echo "ok - $t: ${execs:-?} runs, ${cov:-cov: ?}"
        continue
    fi
    status=1
    echo "not ok - $t: exit $rc"
    grep -E -A 30 'ERROR: |runtime error|check failed|SUMMARY' "$work/$t.log" | head -n 60 || tail -n 40 "$work/$t.log"
    mkdir -p "$FUZZ_ARTIFACTS"
    for f in "${found[@]}"; do
        cp "$f" "$FUZZ_ARTIFACTS/$t-${f##*/}"
        echo "reproducer: $FUZZ_ARTIFACTS/$t-${f##*/} (replay: tests/fuzz/run.sh builds $t;" \
            "run it with the file as its argument)"
        od -A d -c "$f" | head -n 8
    done
done
echo "# fuzzing took $((SECONDS - start)) s"
exit "$status"
