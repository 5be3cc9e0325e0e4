#!/usr/bin/env bash
# The sheaf command line around wordcount: listing jobs, help, bad usage, a missing input, an
# existing output directory, the fast MPI start, the PMIx link and hwloc's plugins.
# Cases are functions that run_case calls.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/mpi/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

printf 'to be or not to be\n' >"$TMP/in.txt"
printf 'be\t2\nnot\t1\nor\t1\nto\t2\n' >"$TMP/in.ref"

# snapshot DIR: every file under DIR with its checksum, to see that a failed job changed nothing.
snapshot() {
    (cd "$1" && find . -print0 | sort -z | xargs -0 -r stat -c '%n %s %F' &&
        find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

case_jobs() {
    run_np 0 jobs || fail "sheaf jobs exited with status $?"
    grep -qw wordcount "$LAST_LOG" || fail "sheaf jobs does not list wordcount"
}

case_version_help() {
    run_np 0 --version || fail "sheaf --version exited with status $?"
    grep -qE '[0-9]+\.[0-9]+' "$LAST_LOG" || fail "no version number in: $(cat "$LAST_LOG")"
    run_np 0 wordcount --help || fail "sheaf wordcount --help exited with status $?"
    grep -q -- '--lower' "$LAST_LOG" || fail "wordcount --help does not mention --lower"
    grep -q -- '--alnum' "$LAST_LOG" || fail "wordcount --help does not mention --alnum"
}

case_singleton() {
    must_np 0 wordcount -i "$TMP/in.txt" -o "$TMP/single"
    compare_wc "$TMP/single" "$TMP/in.ref"
}

case_bad_option() {
    local np rc
    for np in 0 2; do
        rc=0
        run_np "$np" wordcount --no-such-option -i "$TMP/in.txt" -o "$TMP/bad-$np" || rc=$?
        ((rc == 2)) || fail "a bad option gave status $rc, not 2 (np $np)"
        grep -q -- '--no-such-option' "$LAST_LOG" || fail "the message does not name the option"
        [[ ! -e $TMP/bad-$np/_SUCCESS ]] || fail "a bad option wrote _SUCCESS"
    done
    rc=0
    run_np 0 wordcount -i "$TMP/in.txt" || rc=$?
    ((rc == 2)) || fail "a missing -o gave status $rc, not 2"
    rc=0
    run_np 0 no-such-job -i "$TMP/in.txt" -o "$TMP/bad-job" || rc=$?
    ((rc == 2)) || fail "an unknown job gave status $rc, not 2"
    grep -q 'no-such-job' "$LAST_LOG" || fail "the message does not name the job"
}

case_missing_input() {
    local np rc missing=$TMP/does/not/exist.txt
    for np in 1 3; do
        rc=0
        run_np "$np" wordcount -i "$missing" -o "$TMP/missing-$np" || rc=$?
        ((rc != 0)) || fail "a missing input succeeded (np $np)"
        grep -qF "$missing" "$LAST_LOG" || fail "the message does not name $missing"
        [[ ! -e $TMP/missing-$np/_SUCCESS ]] || fail "a missing input wrote _SUCCESS"
    done
    # One good input and one missing: the job fails all the same.
    rc=0
    run_np 2 wordcount -i "$TMP/in.txt" -i "$missing" -o "$TMP/missing-mixed" || rc=$?
    ((rc != 0)) || fail "a missing second input succeeded"
    [[ ! -e $TMP/missing-mixed/_SUCCESS ]] || fail "a missing second input wrote _SUCCESS"
}

case_existing_output() {
    local out=$TMP/existing rc
    mkdir -p "$out"
    echo "precious" >"$out/keep.txt"
    snapshot "$out" >"$TMP/before"
    for np in 0 2; do
        rc=0
        run_np "$np" wordcount -i "$TMP/in.txt" -o "$out" || rc=$?
        ((rc != 0)) || fail "an existing output directory was accepted (np $np)"
        snapshot "$out" >"$TMP/after"
        cmp -s "$TMP/before" "$TMP/after" || fail "the refused output directory was changed"
    done

    # --overwrite replaces it, stale part files included.
    must_np 2 wordcount -i "$TMP/in.txt" -o "$out" --overwrite --reducers 7
    compare_wc "$out" "$TMP/in.ref"
    must_np 2 wordcount -i "$TMP/in.txt" -o "$out" --overwrite --reducers 2
    compare_wc "$out" "$TMP/in.ref"
    local -a parts=("$out"/part-r-*)
    ((${#parts[@]} == 2)) || fail "stale part files after --overwrite: ${parts[*]}"

    # A job that fails leaves an existing output as it was, even with --overwrite.
    snapshot "$out" >"$TMP/before2"
    rc=0
    run_np 2 wordcount -i "$TMP/no-such-input" -o "$out" --overwrite || rc=$?
    ((rc != 0)) || fail "a missing input succeeded"
    snapshot "$out" >"$TMP/after2"
    cmp -s "$TMP/before2" "$TMP/after2" || fail "a failed job changed the existing output"
}

case_report() {
    must_np 2 wordcount -i "$TMP/in.txt" -o "$TMP/report"
    [[ -s $TMP/report/_report.json ]] || fail "_report.json is missing or empty"
    if command -v jq >/dev/null 2>&1; then
        jq -e . "$TMP/report/_report.json" >/dev/null || fail "_report.json is not JSON"
    fi
}

# The fast MPI start (runtime/main.c): on a node without a fabric device, sheaf asks Open MPI
# for its ob1 PML, so MPI_Init opens no other PML component; with SHEAF_MPI_FAST_START=0, or a
# PML list the user set, Open MPI opens and probes the others (cm, with its PSM MTLs, here).
# Seen through Open MPI's own component log (pml_base_verbose).
case_fast_start() {
    local d
    for d in /sys/class/infiniband /sys/class/cxi; do
        if [[ -d $d ]] && [[ -n $(ls -A "$d") ]]; then
            echo "# a fabric device is present ($d): the fast start is off by design"
            return 0
        fi
    done
    if ! ompi_info 2>/dev/null | grep -q 'MCA pml: cm'; then
        echo "# this Open MPI has no cm PML to tell the cases apart"
        return 0
    fi
    local -a mpirun=("$MPIRUN" -np 2 --oversubscribe -x OMPI_MCA_pml_base_verbose=100)
    "${mpirun[@]}" "$SHEAF" wordcount -i "$TMP/in.txt" -o "$TMP/fast" >"$TMP/fast.log" 2>&1 ||
        fail "the default run failed: $(tail -n 5 "$TMP/fast.log")"
    grep -q 'component ob1 selected' "$TMP/fast.log" || fail "ob1 was not selected"
    if grep -q 'found loaded component cm' "$TMP/fast.log"; then
        fail "the default run opened the cm PML: no fast start"
    fi
    compare_wc "$TMP/fast" "$TMP/in.ref"
    SHEAF_MPI_FAST_START=0 "${mpirun[@]}" -x SHEAF_MPI_FAST_START "$SHEAF" wordcount \
        -i "$TMP/in.txt" -o "$TMP/slow" >"$TMP/slow.log" 2>&1 ||
        fail "the run with SHEAF_MPI_FAST_START=0 failed: $(tail -n 5 "$TMP/slow.log")"
    grep -q 'found loaded component cm' "$TMP/slow.log" ||
        fail "SHEAF_MPI_FAST_START=0 did not leave the PML choice to Open MPI"
    OMPI_MCA_pml='^ucx' "${mpirun[@]}" -x OMPI_MCA_pml "$SHEAF" wordcount \
        -i "$TMP/in.txt" -o "$TMP/user" >"$TMP/user.log" 2>&1 ||
        fail "the run with OMPI_MCA_pml=^ucx failed: $(tail -n 5 "$TMP/user.log")"
    grep -q 'found loaded component cm' "$TMP/user.log" ||
        fail "the user's OMPI_MCA_pml was overridden"
}

# pmix_link_nodelay TRACE ENV: whether the rank traced in TRACE (strace of connect and
# setsockopt) set TCP_NODELAY on its connection to the PMIx server named in ENV (its env):
# status 0 yes, 1 no, 2 the trace or the env is not what the test expects.
pmix_link_nodelay() {
    local uri port fd
    uri=$(grep -m1 '^PMIX_SERVER_URI' "$2" | cut -d= -f2-)
    port=${uri##*:}
    if [[ $uri != *tcp* || ! $port =~ ^[0-9]+$ ]]; then
        echo "no TCP PMIx server in the rank's env: $uri" >&2
        return 2
    fi
    fd=$(grep -m1 -E "connect\([0-9]+, .*htons\($port\)" "$1" |
        sed -E 's/.*connect\(([0-9]+),.*/\1/')
    if [[ -z $fd ]]; then
        echo "the rank never connected to the PMIx server's port $port" >&2
        return 2
    fi
    grep -qE "setsockopt\($fd, SOL_TCP, TCP_NODELAY, \[1\]" "$1" || return 1
}

# traced_wc NAME VAR=VALUE: word count at 2 ranks with VAR=VALUE passed to the ranks, each
# rank under strace (its calls in $TMP/NAME.RANK, its environment in $TMP/NAME.env.RANK); the
# output must match coreutils.
traced_wc() {
    local name=$1 var=${2%%=*}
    # shellcheck disable=SC2016  # expanded by the rank's shell
    # LeakSanitizer cannot run under ptrace: the sanitizer build's ranks skip the leak check.
    local wrap='env >"$0.env.$OMPI_COMM_WORLD_RANK"
        export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
        exec strace -f -e trace=connect,setsockopt,openat -o "$0.$OMPI_COMM_WORLD_RANK" "$@"'
    env "$2" "$MPIRUN" -np 2 --oversubscribe -x "$var" sh -c "$wrap" "$TMP/$name" "$SHEAF" \
        wordcount -i "$TMP/in.txt" -o "$TMP/$name.out" >"$TMP/$name.log" 2>&1 ||
        fail "the traced run with $2 failed: $(tail -n 5 "$TMP/$name.log")"
    compare_wc "$TMP/$name.out" "$TMP/in.ref"
}

# loads_plugins TRACE: true when the traced process opened one of hwloc's plugins.
loads_plugins() { grep -q 'hwloc/hwloc_.*\.so' "$1"; }

# MPI_Finalize waits on the PMIx link; sheaf sets TCP_NODELAY on it. And on a node without a
# fabric, hwloc's plugins (GL, OpenCL, PCI, libxml2) are not loaded. SHEAF_MPI_FAST_START=0:
# neither. HWLOC_COMPONENTS that only leaves components out (as sheaf_quick_launch gives
# mpirun) still keeps the plugins out; one that names a component leaves hwloc as it is. Read
# off each rank's own system calls.
case_start_syscalls() {
    if ! command -v strace >/dev/null; then
        echo "# strace is not installed"
        return 0
    fi
    local mode r st
    local -a plugins=(/usr/lib/*/hwloc/hwloc_*.so)
    local fabric=0 d
    for d in /sys/class/infiniband /sys/class/cxi; do
        [[ -d $d && -n $(ls -A "$d") ]] && fabric=1
    done
    for mode in 1 0; do
        traced_wc "st$mode" "SHEAF_MPI_FAST_START=$mode"
        for r in 0 1; do
            st=0
            pmix_link_nodelay "$TMP/st$mode.$r" "$TMP/st$mode.env.$r" || st=$?
            ((st != 2)) || fail "rank $r: cannot tell (see above)"
            ((st == 1 || mode == 1)) || fail "rank $r set TCP_NODELAY with SHEAF_MPI_FAST_START=0"
            ((st == 0 || mode == 0)) || fail "rank $r left Nagle on its PMIx link"
            if [[ -e ${plugins[0]} ]] && ((!fabric)); then
                if loads_plugins "$TMP/st$mode.$r"; then
                    ((mode == 0)) || fail "rank $r loaded hwloc plugins"
                else
                    ((mode == 1)) ||
                        fail "rank $r did not load hwloc plugins with SHEAF_MPI_FAST_START=0"
                fi
            fi
        done
    done
    [[ -e ${plugins[0]} ]] && ((!fabric)) || return 0
    traced_wc hc-exclude HWLOC_COMPONENTS=-linuxio,-pci
    traced_wc hc-name HWLOC_COMPONENTS=linux
    for r in 0 1; do
        ! loads_plugins "$TMP/hc-exclude.$r" ||
            fail "rank $r loaded hwloc plugins with HWLOC_COMPONENTS=-linuxio,-pci"
        loads_plugins "$TMP/hc-name.$r" ||
            fail "rank $r left hwloc plugins out with HWLOC_COMPONENTS=linux"
    done
}

run_case "sheaf jobs" case_jobs
run_case "--version and --help" case_version_help
run_case "singleton (no mpirun)" case_singleton
run_case "bad usage exits 2" case_bad_option
run_case "missing input" case_missing_input
run_case "existing output directory" case_existing_output
run_case "job report" case_report
run_case "fast MPI start" case_fast_start
run_case "PMIx link and hwloc plugins, under strace" case_start_syscalls
finish
