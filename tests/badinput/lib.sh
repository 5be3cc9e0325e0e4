# shellcheck shell=bash
# Helpers of the bad-input matrix (tests/badinput/*.sh), on top of tests/mpi/lib.sh.
#
# Every case that must fail goes through `expect_fail`, which checks the three things a failed
# job owes its user: the exit status (1 the job failed, 2 bad usage), one message that names
# what was wrong (a file, an offset, an option), and that nothing was lost: an output directory
# that existed before the run has exactly the same files and contents after it, one that did
# not exist still does not, and no spill files are left behind. Sheaf's temporary files go
# under $SPILL (TMPDIR points there), which must be empty after every run.
# shellcheck source=tests/mpi/lib.sh
source "${top_srcdir:-$(dirname "${BASH_SOURCE[0]}")/../..}/tests/mpi/lib.sh"

SPILL=$TMP/spill
mkdir -p "$SPILL"
# Open MPI keeps its session directory where it did; only Sheaf's spills move.
export OMPI_MCA_orte_tmpdir_base=${TMPDIR:-/tmp}
export TMPDIR=$SPILL

# tree_sum PATH: one line per file under PATH (its path and md5), sorted; the md5 of PATH when it
# is a file; nothing when PATH is absent.
tree_sum() {
    [[ -e $1 ]] || return 0
    if [[ ! -d $1 ]]; then
        md5sum <"$1"
        return 0
    fi
    (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r md5sum)
}

# output_of ARG...: the value of -o/--output in a sheaf command line, or nothing.
output_of() {
    local prev=
    for a in "$@"; do
        case $prev in -o|--output) echo "$a"; return 0 ;; esac
        case $a in --output=*) echo "${a#--output=}"; return 0 ;; esac
        prev=$a
    done
}

# expect_fail STATUS TEXT NP ARG...: `sheaf ARG...` on NP ranks (0: no mpirun) exits STATUS,
# prints exactly one message, and that message contains TEXT (a fixed string); the output
# directory is as it was and no spill file remains.
expect_fail() {
    local want=$1 text=$2 np=$3 rc=0 out before='' existed=0 nmsg
    shift 3
    out=$(output_of "$@")
    if [[ -n $out && -e $out ]]; then
        existed=1
        before=$(tree_sum "$out")
    fi
    run_np "$np" "$@" || rc=$?
    if ((rc != want)); then
        cat "$LAST_LOG" >&2
        fail "exit status $rc, expected $want"
    fi
    if ! grep -qF -- "$text" "$LAST_LOG"; then
        cat "$LAST_LOG" >&2
        fail "the message does not say '$text'"
    fi
    nmsg=$(messages | wc -l)
    if ((nmsg != 1)); then
        cat "$LAST_LOG" >&2
        fail "$nmsg messages from sheaf, expected exactly one"
    fi
    if grep -q -E 'Sanitizer|runtime error|Segmentation|core dumped' "$LAST_LOG"; then
        cat "$LAST_LOG" >&2
        fail "the failure crashed"
    fi
    if [[ -n $out ]]; then
        if ((existed)); then
            [[ $(tree_sum "$out") == "$before" ]] || fail "the earlier output $out was changed"
        elif [[ -e $out ]]; then
            ls -la "$out" >&2
            fail "the failed job left $out behind"
        fi
    fi
    no_spill_left
    messages | cut -c 1-300 | cat -v
}

# messages: the lines of $LAST_LOG that are sheaf's messages, not its warnings or logs.
messages() {
    grep -E '^sheaf( [a-z]+)?: ' "$LAST_LOG" | grep -v -E '^sheaf [a-z]+: rank [0-9]+: (warning|info|debug): ' || true
}

# no_spill_left: nothing remains in the spill directory (TMPDIR) of the tests.
no_spill_left() {
    [[ -z $(ls -A "$SPILL") ]] || fail "files left in the spill directory: $(ls -A "$SPILL")"
}

# parts_sorted OUT: the concatenated part files of OUT, sorted bytewise (OUT must have succeeded).
parts_sorted() {
    [[ -f $1/_SUCCESS ]] || fail "$1/_SUCCESS is missing"
    cat "$1"/part-r-* | sort
}
