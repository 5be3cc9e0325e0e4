#!/usr/bin/env bash
# Placement: where ranks run, checked two ways: the CPU set each rank reports (hwloc's
# hwloc_get_cpubind, in _report.json) and the one its child processes see in
# /proc/self/status (a stream mapper inherits the rank's binding). Under `mpirun --bind-to
# none`, --bind auto pins each rank to a core of its own; under `mpirun --bind-to core` it keeps
# the launcher's binding; --bind none leaves the process unbound; a binding is never widened.
source "${top_srcdir:-$(dirname "$0")/../..}/tests/mpi/lib.sh"

command -v jq >/dev/null 2>&1 || { echo "jq is not installed"; exit 77; }
NCPU=$(nproc --all)
ALL=$(grep Cpus_allowed_list /proc/self/status | awk '{print $2}')
seq 1 200 >"$TMP/in.txt"
MAPPER='grep Cpus_allowed_list /proc/self/status | sed "s/.*:[[:space:]]*//"; cat >/dev/null'

run_bind() { # run_bind OUT MPIRUN-BIND SHEAF-BIND: a 2-rank stream job printing its CPU sets
    local out=$1 mbind=$2 sbind=$3 rc=0
    timeout -k 10 "$SHEAF_TEST_TIMEOUT" "$MPIRUN" -np 2 --oversubscribe --bind-to "$mbind" \
        "$SHEAF" stream --mapper "$MAPPER" --bind "$sbind" --split-size 64 \
        -i "$TMP/in.txt" -o "$out" >"$LAST_LOG" 2>&1 </dev/null || rc=$?
    ((rc == 0)) || { cat "$LAST_LOG" >&2; fail "exit $rc"; }
}

reported() { jq -r '.ranks[].cpuset' "$1/_report.json"; }
seen() { cut -f1 "$1"/part-r-* | sort -u; }

case_auto_unbound_launcher() {
    ((NCPU >= 2)) || { echo "one CPU: nothing to spread"; return 0; }
    run_bind "$TMP/a" none auto
    mapfile -t sets < <(reported "$TMP/a")
    [[ ${#sets[@]} -eq 2 ]] || fail "not two ranks in the report"
    [[ ${sets[0]} != "${sets[1]}" ]] || fail "both ranks on the same CPUs: ${sets[0]}"
    for s in "${sets[@]}"; do
        [[ $s =~ ^[0-9]+$ ]] || fail "rank not pinned to one core: $s"
    done
    # The children see exactly the CPU sets the ranks reported.
    diff <(printf '%s\n' "${sets[@]}" | sort -u) <(seen "$TMP/a") >&2 ||
        fail "children's CPU sets differ from the report"
    jq -e 'all(.ranks[]; .binding | startswith("core"))' "$TMP/a/_report.json" >/dev/null ||
        fail "binding not reported as core"
}

case_keeps_launcher_binding() {
    run_bind "$TMP/b" core auto
    jq -e 'all(.ranks[]; .binding == "inherited")' "$TMP/b/_report.json" >/dev/null ||
        fail "the launcher's binding was not kept"
    diff <(reported "$TMP/b" | sort -u) <(seen "$TMP/b") >&2 || fail "children differ"
    for s in $(reported "$TMP/b"); do
        [[ $s =~ ^[0-9]+$ ]] || fail "mpirun --bind-to core gave $s"
    done
}

case_none() {
    run_bind "$TMP/c" none none
    for s in $(reported "$TMP/c"); do
        [[ $s == "$ALL" ]] || fail "--bind none changed the CPU set to $s (all: $ALL)"
    done
    [[ $(seen "$TMP/c") == "$ALL" ]] || fail "children bound under --bind none"
}

case_never_widen() {
    ((NCPU >= 2)) || return 0
    # Launched on CPU 0 only: asking for core binding must not widen that set.
    local rc=0
    timeout -k 10 "$SHEAF_TEST_TIMEOUT" taskset -c 0 "$MPIRUN" -np 2 --oversubscribe \
        --bind-to none "$SHEAF" stream --mapper "$MAPPER" --bind core --split-size 64 \
        -i "$TMP/in.txt" -o "$TMP/d" >"$LAST_LOG" 2>&1 </dev/null || rc=$?
    ((rc == 0)) || { cat "$LAST_LOG" >&2; fail "exit $rc"; }
    for s in $(reported "$TMP/d") $(seen "$TMP/d"); do
        [[ $s == 0 ]] || fail "a rank launched on CPU 0 ran on $s"
    done
}

run_case auto-binds-when-launcher-did-not case_auto_unbound_launcher
run_case auto-keeps-launcher-binding case_keeps_launcher_binding
run_case bind-none case_none
run_case never-widen case_never_widen
finish
