/*
 * fuzz_size.c: libFuzzer target for the small text parsers of the command line:
 * sheaf_parse_size (sizes such as 64M, 1.5G), sheaf__parse_delim (one byte or an escape) and
 * sheaf__format_parse (lines, csv, tsv, fixed:N). The input is one string (the first byte
 * chooses the parser). Invariants: no crash or undefined behaviour on any text; a parsed size
 * prints back (in bytes) to a text that parses to the same value; a parsed delimiter is one
 * byte and a one-byte text parses to itself; a fixed:N format has 1 <= N <= 1 GiB and
 * re-parses to the same N.
 */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_size: check failed at line %d: %s\n", __LINE__, #cond);      \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    switch (data[0] % 3) {
    case 0: {
        uint64_t v = 0, w = 0;
        if (sheaf_parse_size(text, &v) == 0) {
            char back[32];
            snprintf(back, sizeof back, "%" PRIu64, v);
            CHECK(sheaf_parse_size(back, &w) == 0);
            /* doubles hold integers exactly up to 2^53 */
            CHECK(v > (1ull << 53) || w == v);
        }
        break;
    }
    case 1: {
        uint8_t d = 0xAA;
        if (sheaf__parse_delim(text, &d) == 0)
            CHECK(text[0] != '\0');
        if (text[0] && !text[1] && text[0] != '\\') {
            CHECK(sheaf__parse_delim(text, &d) == 0);
            CHECK(d == (uint8_t)text[0]);
        }
        break;
    }
    default: {
        sheaf__format f, g;
        if (sheaf__format_parse(text, &f) == 0 && f.kind == SHEAF__FMT_FIXED) {
            CHECK(f.reclen >= 1 && f.reclen <= (1ull << 30));
            char back[48];
            snprintf(back, sizeof back, "fixed:%" PRIu64, f.reclen);
            CHECK(sheaf__format_parse(back, &g) == 0 && g.reclen == f.reclen);
        }
        break;
    }
    }
    free(text);
    return 0;
}
