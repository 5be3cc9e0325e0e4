#!/usr/bin/env bash
# sheaf wordcount's tokenizers on inputs made to break them: the vector tokenizers read 64
# bytes at a time and find word boundaries in a bit mask, so words that cross or touch a
# 16-, 32- or 64-byte boundary, lines of every length around those sizes, words at the very
# end of a record (inside its padding), blocks with up to 32 words, every whitespace byte,
# high bytes and NULs are each compared with coreutils, for every tokenizer this CPU runs
# (SHEAF_WC_TOKENIZER: scalar, sse2, and avx2, avx512 and vbmi2 when the CPU has them), plain,
# --alnum and --lower.
# Cases are functions that run_case calls.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/mpi/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Lines of 0 to 200 bytes whose words (1 to 90 bytes) and separators (runs of 1 to 3 of the
# six whitespace bytes) fall at every offset of a 64-byte block. Deterministic (awk's srand).
make_boundaries() {
    awk 'BEGIN {
        srand(7); ws[0] = " "; ws[1] = "\t"; ws[2] = "\r"; ws[3] = "\v"; ws[4] = "\f"; ws[5] = " ";
        for (len = 0; len <= 200; len++) {
            for (rep = 0; rep < 6; rep++) {
                line = "";
                while (length(line) < len) {
                    if (rand() < 0.4) {
                        n = 1 + int(rand() * 3);
                        for (i = 0; i < n; i++) line = line ws[int(rand() * 6)];
                    } else {
                        w = 1 + int(rand() < 0.1 ? rand() * 90 : rand() * 12);
                        for (i = 0; i < w; i++) line = line sprintf("%c", 97 + int(rand() * 4));
                    }
                }
                print substr(line, 1, len);
            }
        }
        # one word of every length up to 130 on its own line, and glued to the line end
        for (w = 1; w <= 130; w++) {
            word = ""; for (i = 0; i < w; i++) word = word "x";
            print word; print "a " word;
        }
    }'
}

# Mixed-case letters, digits, punctuation, high bytes and NULs: --alnum splits on most of it.
make_mixed() {
    awk 'BEGIN {
        srand(11);
        for (l = 0; l < 4000; l++) {
            n = int(rand() * 150); line = "";
            for (i = 0; i < n; i++) {
                r = rand();
                if (r < 0.55) c = 65 + int(rand() * 4) + (rand() < 0.5 ? 32 : 0);
                else if (r < 0.65) c = 48 + int(rand() * 10);
                else if (r < 0.8) c = 32;
                else if (r < 0.85) c = 9;
                else if (r < 0.9) c = 128 + int(rand() * 128);
                else c = 33 + int(rand() * 15);
                line = line sprintf("%c", c);
            }
            print line;
        }
    }' | LC_ALL=C tr '\001' '\000'
}

# The tokenizers this machine can run: the two every x86-64 has, and those its CPU flags allow.
TOKENIZERS=(scalar)
if [[ $(uname -m) == x86_64 ]]; then
    TOKENIZERS+=(sse2)
    flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
    if [[ $flags == *" avx2 "* && $flags == *" bmi1 "* && $flags == *" bmi2 "* &&
        $flags == *" popcnt "* ]]; then
        TOKENIZERS+=(avx2)
        if [[ $flags == *" avx512f "* && $flags == *" avx512bw "* ]]; then
            TOKENIZERS+=(avx512)
            [[ $flags == *" avx512_vbmi2 "* ]] && TOKENIZERS+=(vbmi2)
        fi
    fi
fi
echo "# tokenizers: ${TOKENIZERS[*]}"

# check_tokens FILE...: every tokenizer, plain, --alnum and --lower, at 1 and 3 ranks, against
# coreutils (the files are inputs of one job).
check_tokens() {
    local f name mode flags
    local -a in=()
    for f in "$@"; do
        in+=(-i "$f")
    done
    ref_wc "$@" >"$TMP/ref.plain"
    ref_wc --alnum "$@" >"$TMP/ref.alnum"
    ref_wc --lower "$@" >"$TMP/ref.lower"
    for mode in "${TOKENIZERS[@]}"; do
        for flags in plain alnum lower; do
            local -a opt=()
            [[ $flags == plain ]] || opt=("--$flags")
            name=$(basename "$1")-$mode-$flags
            SHEAF_WC_TOKENIZER=$mode wc_ranks "1 3" "$TMP/ref.$flags" "$name" "${in[@]}" "${opt[@]}"
        done
    done
}

case_boundaries() {
    make_boundaries >"$TMP/boundaries"
    check_tokens "$TMP/boundaries"
}

case_no_newline_at_end() {
    # the last record ends the file without a newline, its last word at the very end
    make_boundaries >"$TMP/full"
    head -c 70000 "$TMP/full" >"$TMP/cut"
    printf 'lastword' >>"$TMP/cut"
    check_tokens "$TMP/cut"
}

case_mixed_bytes() {
    make_mixed >"$TMP/mixed"
    check_tokens "$TMP/mixed"
}

# Word count takes whole runs of lines per map call (map_blocks); its input_records and
# input_bytes must still be the file's lines and its bytes less the line ends (LF, or CR LF),
# whatever the split size (blocks end at the split's last line), with and without a final
# newline.
case_block_counters() {
    make_boundaries >"$TMP/b1"
    printf 'no final newline' >>"$TMP/b1"
    make_mixed >"$TMP/b2"
    local f size lines bytes r got
    for f in "$TMP/b1" "$TMP/b2"; do
        lines=$(awk 'END { print NR }' "$f")
        bytes=$(($(wc -c <"$f") - $(tr -cd '\n' <"$f" | wc -c) - $(grep -c $'\r$' "$f" || true)))
        for size in 100 4K 64M; do
            must_np 2 wordcount -i "$f" -o "$TMP/count-$size" --split-size "$size" --overwrite
            r=$TMP/count-$size/_report.json
            got=$(jq '.counters.input_records.total' "$r")
            ((got == lines)) || fail "$f --split-size $size: input_records $got, want $lines"
            got=$(jq '.counters.input_bytes.total' "$r")
            ((got == bytes)) || fail "$f --split-size $size: input_bytes $got, want $bytes"
        done
    done
}

# Lines packed with 1- to 3-byte words, so a 64-byte block holds 16 to 32 word starts and ends,
# more than the eight positions the avx2 and avx512 tokenizers write without a branch, and
# the 16 the vbmi2 one does.
case_dense_words() {
    awk 'BEGIN {
        srand(5);
        for (l = 0; l < 3000; l++) {
            n = int(rand() * 400); line = ""; w = 1 + l % 3;
            while (length(line) < n) {
                for (i = 0; i < w; i++) line = line sprintf("%c", 97 + int(rand() * 3));
                line = line (rand() < 0.9 ? " " : "\t\t");
            }
            print line;
        }
    }' >"$TMP/dense"
    check_tokens "$TMP/dense"
}

# Files of 63 to 129 bytes with no newline, ending in a word: a record of whole 64-byte blocks
# whose last word runs to its very end.
case_record_of_whole_blocks() {
    local n
    local -a files=()
    for n in 63 64 65 127 128 129; do
        head -c "$n" < <(yes 'ab cdefg' | tr '\n' ' ') >"$TMP/whole-$n"
        printf 'z' | dd of="$TMP/whole-$n" bs=1 seek=$((n - 1)) conv=notrunc status=none
        files+=("$TMP/whole-$n")
    done
    check_tokens "${files[@]}"
}

# An unknown or unsupported tokenizer is a usage error that names the variable.
case_bad_tokenizer() {
    printf 'a b\n' >"$TMP/tiny"
    local rc=0
    SHEAF_WC_TOKENIZER=avx9000 run_np 0 wordcount -i "$TMP/tiny" -o "$TMP/bad-tok" || rc=$?
    ((rc == 2)) || fail "exit status $rc, want 2"
    grep -q 'SHEAF_WC_TOKENIZER=avx9000: no such tokenizer' "$LAST_LOG" ||
        fail "no clear message: $(cat "$LAST_LOG")"
    [[ ! -e $TMP/bad-tok ]] || fail "the failed run left an output directory"
}

run_case "words across 16- and 64-byte boundaries" case_boundaries
run_case "blocks of 16 to 32 words" case_dense_words
run_case "a record of whole 64-byte blocks" case_record_of_whole_blocks
run_case "an unknown tokenizer" case_bad_tokenizer
run_case "a last word at the end of the file" case_no_newline_at_end
run_case "letters, digits, punctuation, high bytes, NULs" case_mixed_bytes
run_case "line and byte counters with blocks of lines" case_block_counters
finish
