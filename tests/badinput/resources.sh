#!/usr/bin/env bash
# Running out of things: a spill directory on a full file system (a 2 MiB tmpfs; skipped when
# mounting is not permitted) fails the job with exit 1 and a message naming the spill
# directory, and leaves nothing in it; the same job started twice at once on one output is
# refused the second time while the first finishes unharmed.
# shellcheck disable=SC2317  # the cases are called through run_case
source "${top_srcdir:-$(dirname "$0")/../..}/tests/badinput/lib.sh"

IN=$TMP/in.txt
head -n 2000 "$top_srcdir/data/kjv.txt" >"$IN"
ref_wc "$IN" >"$TMP/ref"
# 600000 distinct words (4.7 MB): with --memory 1M the reduce side must spill several runs.
seq -f 'w%.0f' 1 600000 >"$TMP/distinct.txt"

SMALLFS=$TMP/smallfs
umount_smallfs() {
    if mountpoint -q "$SMALLFS" 2>/dev/null; then umount "$SMALLFS" || umount -l "$SMALLFS"; fi
}
trap 'umount_smallfs; cleanup' EXIT

spill_full_body() {
    local np
    for np in 2 2 3 1; do
        expect_fail 1 "spill directory $SMALLFS/" "$np" wordcount -i "$TMP/distinct.txt" \
            -o "$TMP/o-full" --memory 1M --split-size 256K --spill-dir "$SMALLFS"
        [[ -z $(ls -A "$SMALLFS") ]] || fail "files left on the full file system: $(ls -A "$SMALLFS")"
    done
    # An earlier output is kept, and the same job with room to spill succeeds.
    must_np 2 wordcount -i "$IN" -o "$TMP/o-kept"
    expect_fail 1 "spill directory $SMALLFS/" 2 wordcount -i "$TMP/distinct.txt" -i "$IN" \
        -o "$TMP/o-kept" --overwrite --memory 1M --split-size 256K --spill-dir "$SMALLFS"
    compare_wc "$TMP/o-kept" "$TMP/ref"
    must_np 2 wordcount -i "$TMP/distinct.txt" -o "$TMP/o-room" --memory 1M --split-size 256K \
        --spill-dir "$TMP/roomy"
    [[ $(cat "$TMP/o-room"/part-r-* | wc -l) -eq 600000 ]] || fail "the spilled job lost words"
    [[ -z $(ls -A "$TMP/roomy") ]] || fail "spill files left in $TMP/roomy"
}

case_spill_disk_full() {
    mkdir -p "$SMALLFS"
    if ! mount -t tmpfs -o size=2m tmpfs "$SMALLFS" 2>"$TMP/mount.err"; then
        echo "# SKIP spill-disk-full: cannot mount a tmpfs here ($(cat "$TMP/mount.err"))"
        return 0
    fi
    # Not "(body) || rc=$?": on the left of || a shell ignores set -e, and a check in the body
    # that returns non-zero without calling fail would pass unseen.
    local rc
    set +e
    (
        set -e
        spill_full_body
    )
    rc=$?
    set -e
    umount_smallfs
    return "$rc"
}

# wait_for GLOB: waits up to 60 s until a path matches GLOB.
wait_for() {
    local i
    for ((i = 0; i < 600; i++)); do
        compgen -G "$1" >/dev/null && return 0
        sleep 0.1
    done
    fail "nothing matched $1 after 60 s"
}

case_same_output_twice() {
    # The first job is slow (its mapper sleeps); the second, started once the first holds the
    # output, is refused and must not touch the first one's output: a new output, then with
    # --overwrite an old one. The first job spills elsewhere, so the spill check of the second
    # stays exact.
    local first rc
    mkdir -p "$TMP/first-spill"
    run_first() {
        TMPDIR=$TMP/first-spill SHEAF_TEST_TIMEOUT=60 run_np 2 stream \
            --mapper 'sleep 5; cat' -i "$IN" -o "$TMP/twice" "$@" >/dev/null 2>&1
    }
    LAST_LOG=$TMP/first.log run_first &
    first=$!
    wait_for "$TMP/twice/_temporary"
    expect_fail 1 "output $TMP/twice is being written by another job" 0 \
        stream --mapper cat -i "$IN" -o "$TMP/twice"
    [[ -d $TMP/twice/_temporary ]] || fail "the first job finished too early to test anything"
    rc=0
    wait "$first" || rc=$?
    ((rc == 0)) || { cat "$TMP/first.log" >&2; fail "the first job failed (status $rc)"; }
    [[ -f $TMP/twice/_SUCCESS ]] || fail "the first job's output is incomplete"
    cmp -s <(parts_sorted "$TMP/twice") <(sort "$IN") || fail "the first job's output is wrong"

    LAST_LOG=$TMP/first2.log run_first --overwrite &
    first=$!
    wait_for "$TMP/.twice.sheaf-*/_temporary"
    expect_fail 1 "output $TMP/twice is being written by another job" 0 \
        stream --mapper cat -i "$IN" -o "$TMP/twice" --overwrite
    compgen -G "$TMP/.twice.sheaf-*" >/dev/null ||
        fail "the first job finished too early to test anything"
    rc=0
    wait "$first" || rc=$?
    ((rc == 0)) || { cat "$TMP/first2.log" >&2; fail "the first --overwrite job failed"; }
    cmp -s <(parts_sorted "$TMP/twice") <(sort "$IN") || fail "the rewritten output is wrong"
    [[ -z $(find "$TMP" -maxdepth 1 -name '.twice.sheaf-*') ]] || fail "staging directories left"
    [[ -z $(ls -A "$TMP/first-spill") ]] || fail "the first job left files in its spill directory"
}

run_case spill-disk-full case_spill_disk_full
run_case same-output-twice case_same_output_twice
finish
