#!/usr/bin/env bash
# sheaf wordcount's tokenizers on inputs made to break them: the vector tokenizer reads 64
# bytes at a time and finds word boundaries in a bit mask, so words that cross or touch a
# 16- or 64-byte boundary, lines of every length around those sizes, words at the very end of
# a record (inside its padding), every whitespace byte, high bytes and NULs are each compared
# with coreutils, for the vector tokenizer and for the byte-at-a-time one (SHEAF_WC_SCALAR=1),
# plain, --alnum and --lower.
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

# check_tokens FILE: the vector and scalar tokenizers, plain, --alnum and --lower, at 1 and 3
# ranks, against coreutils.
check_tokens() {
    local f=$1 name mode flags
    ref_wc "$f" >"$TMP/ref.plain"
    ref_wc --alnum "$f" >"$TMP/ref.alnum"
    ref_wc --lower "$f" >"$TMP/ref.lower"
    for mode in vector scalar; do
        for flags in plain alnum lower; do
            local -a opt=()
            [[ $flags == plain ]] || opt=("--$flags")
            name=$(basename "$f")-$mode-$flags
            if [[ $mode == scalar ]]; then
                SHEAF_WC_SCALAR=1 wc_ranks "1 3" "$TMP/ref.$flags" "$name" -i "$f" "${opt[@]}"
            else
                SHEAF_WC_SCALAR=0 wc_ranks "1 3" "$TMP/ref.$flags" "$name" -i "$f" "${opt[@]}"
            fi
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

run_case "words across 16- and 64-byte boundaries" case_boundaries
run_case "a last word at the end of the file" case_no_newline_at_end
run_case "letters, digits, punctuation, high bytes, NULs" case_mixed_bytes
run_case "line and byte counters with blocks of lines" case_block_counters
finish
