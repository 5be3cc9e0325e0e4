#!/usr/bin/env bash
# Output formats: csv output (a header, RFC 4180 quoting) read back with Python's csv module;
# raw output; named outputs (NAME-r-NNNNN beside part-r-NNNNN) that together hold exactly the
# reference word counts, each word in the file its rule names; a total-order sort whose setup
# also emits.
source "${top_srcdir:-$(dirname "$0")/../..}/tests/mpi/lib.sh"

NAMED=$top_builddir/tests/runtime/named
SETUPSORT=$top_builddir/tests/runtime/setupsort
if [[ ! -x $NAMED || ! -x $SETUPSORT ]]; then
    echo "tests/runtime/named or setupsort is not built"
    exit 99
fi
head -n 3000 "$top_srcdir/data/kjv.txt" >"$TMP/in.txt"
printf '%s\n' 'a,b "c" d' 'plain' 'with,comma' 'quote"inside' >"$TMP/odd.txt"

run_named() { # run_named NP ARG...
    local np=$1 rc=0
    shift
    timeout -k 10 "$SHEAF_TEST_TIMEOUT" "$MPIRUN" -np "$np" --oversubscribe "$NAMED" "$@" \
        >"$LAST_LOG" 2>&1 </dev/null || rc=$?
    ((rc == 0)) || { cat "$LAST_LOG" >&2; fail "named exited with $rc"; }
}

case_named_outputs() {
    tr -s ' \t' '\n\n' <"$TMP/in.txt" | grep -v '^$' | sort | uniq -c |
        sed -E 's/^ *([0-9]+) (.*)$/\2\t\1/' | sort >"$TMP/ref"
    local np
    for np in 1 3; do
        run_named "$np" -i "$TMP/in.txt" -o "$TMP/n$np" --reducers 4
        [[ $(find "$TMP/n$np" -name 'upper-r-*' | wc -l) -ge 1 ]] || fail "no upper-r-* files"
        cat "$TMP/n$np"/*-r-* |
            sort >"$TMP/n$np.all"
        cmp -s "$TMP/n$np.all" "$TMP/ref" || fail "named outputs together differ from the reference"
        ! grep -q '^[A-Z]' "$TMP/n$np"/part-r-* || fail "an upper-case word in part files"
        ! grep -qv '^[A-Z]' "$TMP/n$np"/upper-r-* || fail "a lower-case word in upper-r-*"
    done
}

case_csv_output() {
    must_np 2 wordcount -i "$TMP/odd.txt" -o "$TMP/csv" --output-format csv --reducers 1
    head -n 1 "$TMP/csv/part-r-00000" | grep -qx 'key,value' || fail "no csv header"
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import csv,sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
for r in rows: print(r["key"] + "\t" + r["value"])' "$TMP/csv/part-r-00000" | sort >"$TMP/csv.got"
        ref_wc "$TMP/odd.txt" >"$TMP/odd.ref"
        cmp -s "$TMP/csv.got" "$TMP/odd.ref" || { diff "$TMP/csv.got" "$TMP/odd.ref" >&2; fail "csv"; }
    fi
    grep -q '^"quote""inside",1$' "$TMP/csv/part-r-00000" || fail "quotes not doubled"
    grep -q '^"with,comma",1$' "$TMP/csv/part-r-00000" || fail "comma field not quoted"
}

case_raw_output() {
    printf 'ab ab cd\n' >"$TMP/raw.txt"
    must_np 1 stream --mapper "tr ' ' '\\n'" -i "$TMP/raw.txt" -o "$TMP/raw" --output-format raw \
        --reducers 1
    [[ $(cat "$TMP/raw/part-r-00000") == "ababcd" ]] || fail "raw output is not the bytes alone"
}

# Total order with emits from setup as well as map: setup runs before the sample sets the key
# ranges, so its emits must wait for them, not go to hash partitions.
case_setup_total_order() {
    local np r
    for np in 1 2 3; do
        {
            cat "$TMP/in.txt"
            for ((r = 0; r < np; r++)); do
                for c in {a..z}; do printf '%s setup key of rank %d\n' "$c" "$r"; done
            done
        } | LC_ALL=C sort >"$TMP/ss.ref"
        timeout -k 10 "$SHEAF_TEST_TIMEOUT" "$MPIRUN" -np "$np" --oversubscribe "$SETUPSORT" \
            -i "$TMP/in.txt" -o "$TMP/ss$np" --reducers 4 >"$LAST_LOG" 2>&1 </dev/null ||
            { cat "$LAST_LOG" >&2; fail "setupsort exited non-zero at $np ranks"; }
        cat "$TMP/ss$np"/part-r-* | sed 's/\t$//' >"$TMP/ss.got"
        cmp -s "$TMP/ss.got" "$TMP/ss.ref" ||
            { diff "$TMP/ss.got" "$TMP/ss.ref" | head >&2; fail "setupsort at $np ranks"; }
    done
}

run_case named-outputs case_named_outputs
run_case csv-output case_csv_output
run_case raw-output case_raw_output
run_case setup-total-order case_setup_total_order
finish
