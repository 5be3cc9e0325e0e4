/*
 * fuzz_thrift.c: libFuzzer target for the Thrift compact protocol decoder (thrift.c), the
 * format of every Parquet footer and page header. The input is read as one struct, skipping
 * every field, and again field by field as each type's reader would take it. Invariants: no
 * crash, no read outside the input (ASan), the cursor never passes the end, and an error is
 * sticky (once set, every later read returns zero values and leaves the cursor at the end).
 * Then the first 8 bytes, as an i64, an i32 and a double, round-trip through the encoder.
 */
#include "thrift.h"

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_thrift: check failed at line %d: %s\n", __LINE__, #cond);        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* a copy of exactly size bytes, so ASan sees any read past the end */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    sheaf__tr r = {buf, buf + size, 0, NULL};
    sheaf__tr_skip(&r, SHEAF__TC_STRUCT);
    CHECK(r.p <= r.end && r.p >= buf);
    if (r.err) {
        CHECK(r.p == r.end);
        CHECK(sheaf__tr_i64(&r) == 0);
        size_t n = 7;
        CHECK(sheaf__tr_binary(&r, &n) == NULL && n == 0);
    }
    /* field by field, with the typed readers */
    r = (sheaf__tr){buf, buf + size, 0, NULL};
    int16_t last = 0, id;
    int t;
    while ((t = sheaf__tr_field(&r, &last, &id)) != SHEAF__TC_STOP) {
        size_t n;
        int et;
        switch (t) {
        case SHEAF__TC_I32: sheaf__tr_i32(&r); break;
        case SHEAF__TC_BINARY: {
            const uint8_t *p = sheaf__tr_binary(&r, &n);
            CHECK(!p || (p >= buf && p + n <= buf + size));
            break;
        }
        case SHEAF__TC_LIST:
            n = sheaf__tr_list(&r, &et);
            CHECK(n <= size);
            for (size_t i = 0; i < n && !r.err; i++)
                sheaf__tr_skip(&r,
                               et == SHEAF__TC_TRUE || et == SHEAF__TC_FALSE ? SHEAF__TC_BYTE : et);
            break;
        default: sheaf__tr_skip(&r, t);
        }
        CHECK(r.p <= r.end);
    }
    if (size >= 8) {
        int64_t v;
        memcpy(&v, buf, 8);
        sheaf__buf b = {0};
        sheaf__tw w = {&b, 0};
        sheaf__tw_i64(&w, v);
        sheaf__tw_i32(&w, (int32_t)v);
        double d;
        memcpy(&d, buf, 8);
        sheaf__tw_double(&w, d);
        if (!w.err) {
            sheaf__tr q = {b.data, b.data + b.len, 0, NULL};
            CHECK(sheaf__tr_i64(&q) == v);
            CHECK(sheaf__tr_i32(&q) == (int32_t)v);
            double e = sheaf__tr_double(&q);
            CHECK(memcmp(&e, &d, 8) == 0);
            CHECK(q.err == 0 && q.p == q.end);
        }
        sheaf__buf_free(&b);
    }
    free(buf);
    return 0;
}
