/*
 * fuzz_pqpage.c: libFuzzer target for the Parquet reader's decoders (parquet_read.c,
 * pq_common.c). The first byte chooses what the rest is:
 *  - 0-3: a page's values (after decompression) of a column type and encoding chosen by the
 *    next bytes, decoded as n values against a small dictionary: PLAIN, dictionary indices,
 *    RLE booleans, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, BYTE_STREAM_SPLIT;
 *  - 4: levels in the RLE/bit-packed hybrid at a bit width from the next byte;
 *  - 5-7: a whole file (an in-memory file): footer, schema, then every column of every row
 *    group decoded, through the page headers and the codecs.
 * Invariants: no crash or read outside the input (ASan); decoded strings lie inside the input
 * or the reader's own buffers; decoded levels fit the bit width; every value of a file is
 * turned into text without fault.
 */
#include "parquet.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_pqpage: check failed at line %d: %s\n", __LINE__, #cond);        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void values(const uint8_t *d, size_t size) {
    if (size < 3)
        return;
    static const int types[] = {PQ_BOOLEAN, PQ_INT32,  PQ_INT64,      PQ_INT96,
                                PQ_FLOAT,   PQ_DOUBLE, PQ_BYTE_ARRAY, PQ_FIXED_LEN_BYTE_ARRAY};
    static const int encs[] = {PQ_ENC_PLAIN,
                               PQ_ENC_RLE_DICTIONARY,
                               PQ_ENC_RLE,
                               PQ_ENC_DELTA_BINARY_PACKED,
                               PQ_ENC_DELTA_LENGTH_BYTE_ARRAY,
                               PQ_ENC_BYTE_STREAM_SPLIT,
                               PQ_ENC_PLAIN_DICTIONARY,
                               99};
    sheaf__pqcol c;
    memset(&c, 0, sizeof c);
    c.name = (char *)"fuzz";
    c.type = types[d[0] & 7];
    c.type_len = 1 + (d[0] >> 4);
    c.is_decimal = d[1] & 0x80;
    c.scale = d[1] & 0x1f;
    c.is_date = d[1] & 0x40;
    c.ts_unit = (d[1] >> 5) & 3;
    int enc = encs[(d[0] >> 3) & 1 ? d[1] & 7 : 0];
    size_t n = d[2];
    const uint8_t *p = d + 3;
    size_t len = size - 3;
    uint8_t *copy = malloc(len ? len : 1);
    sheaf__pqval *vals = calloc(n + 1, sizeof *vals);
    static const uint8_t words[] = "abcdefgh";
    sheaf__pqval dict[3];
    for (int i = 0; i < 3; i++) {
        memset(&dict[i], 0, sizeof dict[i]);
        dict[i].u.p = words + i;
        dict[i].len = 2;
    }
    if (copy && vals) {
        if (len)
            memcpy(copy, p, len);
        char err[256];
        if (sheaf__pq_decode_page_values(&c, enc, copy, len, dict, 3, vals, n, err, sizeof err) ==
            0) {
            for (size_t i = 0; i < n; i++) {
                if (c.type == PQ_BYTE_ARRAY || c.type == PQ_FIXED_LEN_BYTE_ARRAY) {
                    const uint8_t *s = vals[i].u.p;
                    bool in_input = s >= copy && s + vals[i].len <= copy + len;
                    bool in_dict = s >= words && s + vals[i].len <= words + sizeof words;
                    CHECK(in_input || in_dict || vals[i].len == 0);
                }
                char buf[128];
                const char *t;
                size_t tl = sheaf__pq_text(&c, &vals[i], buf, &t);
                CHECK(t != buf || tl < sizeof buf);
            }
        }
    }
    free(copy);
    free(vals);
}

static void levels(const uint8_t *d, size_t size) {
    if (size < 2)
        return;
    int width = d[0] % 34;
    size_t n = d[1] * 4u;
    uint8_t *copy = malloc(size - 2 ? size - 2 : 1);
    uint32_t *out = calloc(n + 1, sizeof *out);
    if (copy && out) {
        memcpy(copy, d + 2, size - 2);
        long used = sheaf__pq_rle_decode(copy, copy + size - 2, width, out, n);
        CHECK(used <= (long)(size - 2));
        if (used >= 0 && width >= 1 && width < 32)
            for (size_t i = 0; i < n; i++)
                CHECK(out[i] < (1u << width));
    }
    free(copy);
    free(out);
}

static void file(const uint8_t *d, size_t size) {
    int fd = memfd_create("fuzz.parquet", 0);
    if (fd < 0)
        return;
    if (write(fd, d, size) != (ssize_t)size) {
        close(fd);
        return;
    }
    char path[64], err[512];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    sheaf__pqr *r = sheaf__pqr_open(path, err, sizeof err);
    if (r) {
        for (size_t g = 0; g < sheaf__pqr_nrowgroups(r); g++) {
            uint64_t rows = sheaf__pqr_rows(r, g);
            if (rows > (1u << 20))
                continue; /* a claimed row count the reader would allocate for */
            for (size_t c = 0; c < sheaf__pqr_ncols(r); c++) {
                const sheaf__pqval *v;
                if (sheaf__pqr_read(r, g, c, &v, err, sizeof err))
                    continue;
                for (uint64_t i = 0; i < rows; i++) {
                    char buf[128];
                    const char *t;
                    sheaf__pq_text(sheaf__pqr_col(r, c), &v[i], buf, &t);
                }
            }
        }
        sheaf__pqr_close(r);
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    switch (data[0] & 7) {
    case 0:
    case 1:
    case 2:
    case 3: values(data + 1, size - 1); break;
    case 4: levels(data + 1, size - 1); break;
    default: file(data + 1, size - 1);
    }
    return 0;
}
