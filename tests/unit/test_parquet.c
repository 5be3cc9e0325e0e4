/*
 * test_parquet.c: unit tests of the Parquet pieces that the DuckDB tests reach only in part
 * (pq_common.c, parquet_read.c): dates and timestamps against the C library's timegm and
 * gmtime_r over random instants; the RLE/bit-packed hybrid round-tripping random runs at every
 * bit width, and decoding runs encoded here by hand; INT96 and DECIMAL values as text against
 * values worked out by hand; the codecs round-tripping random pages and refusing a wrong size.
 */
#include "parquet.h"
#include "unit.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void test_dates_against_libc(void) {
    for (int i = 0; i < 20000; i++) {
        /* instants from year 1 to 9999 */
        int64_t secs = (int64_t)unit_below(315537897600ull) - 62135596800ll;
        int64_t us = secs * 1000000 + (int64_t)unit_below(1000000);
        time_t t = (time_t)secs;
        struct tm tm;
        gmtime_r(&t, &tm);
        int64_t days = sheaf__days_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
                                              (unsigned)tm.tm_mday);
        UNIT_ASSERT_EQUAL(days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec, secs);
        char want[64], got[64];
        strftime(want, sizeof want, "%Y-%m-%d %H:%M:%S", &tm);
        if (tm.tm_year + 1900 < 1000)
            continue; /* strftime does not pad years below 1000 everywhere */
        size_t n = sheaf__format_timestamp(us, got);
        if (us % 1000000)
            snprintf(want + strlen(want), sizeof want - strlen(want), ".%06lld",
                     (long long)(us % 1000000 < 0 ? us % 1000000 + 1000000 : us % 1000000));
        UNIT_ASSERT_EQUAL(n, strlen(want));
        UNIT_ASSERT_STRING_EQUAL(got, want);
        int64_t back = 0;
        UNIT_ASSERT_EQUAL(sheaf__parse_timestamp(got, n, &back), 0);
        UNIT_ASSERT_EQUAL(back, us);
    }
    /* years below 1000 zero-padded, years outside 0..9999 as printf writes them */
    char got[64];
    UNIT_ASSERT_EQUAL(sheaf__format_date((int32_t)sheaf__days_from_civil(1, 1, 1), got), 10);
    UNIT_ASSERT_STRING_EQUAL(got, "0001-01-01");
    sheaf__format_date((int32_t)sheaf__days_from_civil(987, 6, 5), got);
    UNIT_ASSERT_STRING_EQUAL(got, "0987-06-05");
    sheaf__format_date((int32_t)sheaf__days_from_civil(10000, 12, 31), got);
    UNIT_ASSERT_STRING_EQUAL(got, "10000-12-31");
    sheaf__format_date((int32_t)sheaf__days_from_civil(-44, 3, 15), got);
    UNIT_ASSERT_STRING_EQUAL(got, "-044-03-15");
    UNIT_ASSERT_EQUAL(sheaf__format_timestamp(-1, got), 26);
    UNIT_ASSERT_STRING_EQUAL(got, "1969-12-31 23:59:59.999999");
    sheaf__format_timestamp((int64_t)sheaf__days_from_civil(9, 1, 2) * 86400000000LL + 3723000010,
                            got);
    UNIT_ASSERT_STRING_EQUAL(got, "0009-01-02 01:02:03.000010");
    int32_t d;
    UNIT_ASSERT_EQUAL(sheaf__parse_date("2000-02-29", 10, &d), 0);
    UNIT_ASSERT_EQUAL(sheaf__parse_date("1900-02-29", 10, &d), -1);
    UNIT_ASSERT_EQUAL(sheaf__parse_date("2023-13-01", 10, &d), -1);
    UNIT_ASSERT_EQUAL(sheaf__parse_date("1970-01-01", 10, &d), 0);
    UNIT_ASSERT_EQUAL(d, 0);
}

static void test_rle_round_trip(void) {
    for (int iter = 0; iter < 3000; iter++) {
        int width = 1 + (int)unit_below(32);
        size_t n = (size_t)unit_below(700);
        uint32_t *v = unit_xmalloc((n + 1) * sizeof *v), *out = unit_xmalloc((n + 1) * sizeof *out);
        uint32_t mask = width == 32 ? UINT32_MAX : (1u << width) - 1;
        for (size_t i = 0; i < n;) { /* runs of random length, so both kinds occur */
            uint32_t x = (uint32_t)unit_rand64() & mask;
            size_t run = 1 + (size_t)unit_below(unit_below(2) ? 3 : 40);
            for (size_t k = 0; k < run && i < n; k++, i++)
                v[i] = unit_below(4) ? x : (uint32_t)unit_rand64() & mask;
        }
        sheaf__buf b = {0};
        UNIT_ASSERT_EQUAL(sheaf__pq_rle_encode(v, n, width, &b), 0);
        long used = sheaf__pq_rle_decode(b.data, b.data + b.len, width, out, n);
        UNIT_ASSERT_EQUAL(used, (long)b.len);
        UNIT_ASSERT(n == 0 || memcmp(v, out, n * sizeof *v) == 0);
        if (b.len > 1) /* one byte short is an error, never a read past the end */
            UNIT_ASSERT(sheaf__pq_rle_decode(b.data, b.data + b.len - 1, width, out, n) < 0 ||
                        n % 8 != 0);
        sheaf__buf_free(&b);
        free(v);
        free(out);
    }
    /* by hand: a run of 5 threes at width 2, then one group of 8 bit-packed 0..7 at width 3 */
    static const uint8_t hand[] = {0x0a, 0x03, 0x03, 0x88, 0xc6, 0xfa};
    uint32_t out[13];
    UNIT_ASSERT_EQUAL(sheaf__pq_rle_decode(hand, hand + 2, 2, out, 5), 2);
    for (int i = 0; i < 5; i++)
        UNIT_ASSERT_EQUAL(out[i], 3);
    UNIT_ASSERT_EQUAL(sheaf__pq_rle_decode(hand + 2, hand + sizeof hand, 3, out, 8), 4);
    for (uint32_t i = 0; i < 8; i++)
        UNIT_ASSERT_EQUAL(out[i], i);
    /* and the encoder writes that group as those bytes */
    static const uint32_t seq[] = {0, 1, 2, 3, 4, 5, 6, 7};
    sheaf__buf enc = {0};
    UNIT_ASSERT_EQUAL(sheaf__pq_rle_encode(seq, 8, 3, &enc), 0);
    UNIT_ASSERT_EQUAL(enc.len, 4);
    UNIT_ASSERT(enc.len == 4 && enc.data[0] == 0x03 && memcmp(enc.data + 1, hand + 3, 3) == 0);
    sheaf__buf_free(&enc);
    /* a repeated value wider than the bit width is refused */
    static const uint8_t wide[] = {0x02, 0x05};
    UNIT_ASSERT(sheaf__pq_rle_decode(wide, wide + 2, 2, out, 1) < 0);
}

static const char *text_of(const sheaf__pqcol *c, const uint8_t *plain, size_t len, char *buf) {
    sheaf__pqval v;
    char err[256];
    static char out[128];
    if (sheaf__pq_decode_page_values(c, PQ_ENC_PLAIN, plain, len, NULL, 0, &v, 1, err, sizeof err))
        return "error";
    const char *t;
    size_t n = sheaf__pq_text(c, &v, buf, &t);
    memcpy(out, t, n);
    out[n] = 0;
    return out;
}

static void test_int96_and_decimal(void) {
    sheaf__pqcol c;
    char buf[128];
    memset(&c, 0, sizeof c);
    c.name = (char *)"t";
    c.type = PQ_INT96;
    /* Julian day 2440588 is 1970-01-01; 3723000001000 ns is 01:02:03.000001 */
    uint8_t i96[12] = {0};
    uint64_t ns = 3723000001000ull;
    for (int i = 0; i < 8; i++)
        i96[i] = (uint8_t)(ns >> (8 * i));
    uint32_t jd = 2440588 + 366; /* 1971-01-02 */
    for (int i = 0; i < 4; i++)
        i96[8 + i] = (uint8_t)(jd >> (8 * i));
    UNIT_ASSERT_STRING_EQUAL(text_of(&c, i96, 12, buf), "1971-01-02 01:02:03.000001");
    /* DECIMAL(9,2) on INT32: -12345 is -123.45; 5 is 0.05 */
    c.type = PQ_INT32;
    c.is_decimal = true;
    c.scale = 2;
    uint8_t i32[4] = {0xc7, 0xcf, 0xff, 0xff};
    UNIT_ASSERT_STRING_EQUAL(text_of(&c, i32, 4, buf), "-123.45");
    uint8_t five[4] = {5, 0, 0, 0};
    UNIT_ASSERT_STRING_EQUAL(text_of(&c, five, 4, buf), "0.05");
    /* DECIMAL(38,3) on 16 big-endian bytes: -1 is -0.001, 2^64 is 18446744073709551.616 */
    c.type = PQ_FIXED_LEN_BYTE_ARRAY;
    c.type_len = 16;
    c.scale = 3;
    uint8_t m1[16];
    memset(m1, 0xff, 16);
    UNIT_ASSERT_STRING_EQUAL(text_of(&c, m1, 16, buf), "-0.001");
    uint8_t big[16] = {0};
    big[7] = 1;
    UNIT_ASSERT_STRING_EQUAL(text_of(&c, big, 16, buf), "18446744073709551.616");
}

/* The text is what printf gives at the fewest significant digits that read back, at least 15
 * for a normal double (%.15g, %.16g or %.17g: 1200 and 1e+15, not 1.2e+03 and 1e15) and as
 * few as read back for a subnormal one (5e-324). */
static void test_format_double(void) {
    for (int i = 0; i < 60000; i++) {
        double d;
        uint64_t u = unit_rand64();
        static const double tens[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
        if (i % 4 == 0)
            d = (double)(int64_t)(u % 2000001 - 1000000) / (double)(1 + u % 1000);
        else if (i % 4 == 1)
            d = (double)(int64_t)(u % 2000001 - 1000000) / tens[(u >> 32) % 7];
        else if (i % 4 == 2)
            d = ldexp((double)(u % 100000), -1074 + (int)((u >> 40) % 60)); /* subnormal, small */
        else
            memcpy(&d, &u, 8);
        if (d != d)
            continue;
        char got[64], want[64];
        size_t n = sheaf__format_double(d, got, sizeof got);
        UNIT_ASSERT_EQUAL(n, strlen(got));
        if (d - d != 0)
            continue; /* inf */
        int prec = 1;
        for (; prec < 17; prec++) {
            snprintf(want, sizeof want, "%.*g", prec, d);
            if (strtod(want, NULL) == d)
                break;
        }
        if (fabs(d) >= DBL_MIN && prec < 15)
            prec = 15;
        snprintf(want, sizeof want, "%.*g", prec, d);
        UNIT_ASSERT_STRING_EQUAL(got, want);
    }
    static const struct {
        double d;
        const char *text;
    } cases[] = {{0.1, "0.1"}, {1200, "1200"}, {1e15, "1e+15"}, {5e-324, "5e-324"},
                 {-0.0, "-0"}, {0.30000000000000004, "0.30000000000000004"}, {1e-5, "1e-05"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char b[64];
        sheaf__format_double(cases[i].d, b, sizeof b);
        UNIT_ASSERT_STRING_EQUAL(b, cases[i].text);
    }
}

static void test_codecs(void) {
    static const int codecs[] = {PQ_CODEC_NONE, PQ_CODEC_SNAPPY, PQ_CODEC_GZIP, PQ_CODEC_ZSTD};
    for (int iter = 0; iter < 200; iter++) {
        size_t n = (size_t)unit_below(100000);
        uint8_t *src = unit_xmalloc(n + 1), *back = unit_xmalloc(n + 1);
        for (size_t i = 0; i < n; i++)
            src[i] = (uint8_t)(unit_below(3) ? 'a' + unit_below(4) : unit_rand64());
        int codec = codecs[iter % 4];
        sheaf__buf b = {0};
        UNIT_ASSERT_EQUAL(sheaf__pq_compress(codec, 0, src, n, &b), 0);
        UNIT_ASSERT_EQUAL(sheaf__pq_decompress(codec, b.data, b.len, back, n), 0);
        UNIT_ASSERT(n == 0 || memcmp(src, back, n) == 0);
        if (n > 0) /* the page header's size is checked */
            UNIT_ASSERT(sheaf__pq_decompress(codec, b.data, b.len, back, n - 1) != 0);
        sheaf__buf_free(&b);
        free(src);
        free(back);
    }
    UNIT_ASSERT_EQUAL(sheaf__pq_codec_parse("lz4"), -1);
    UNIT_ASSERT_EQUAL(sheaf__pq_decompress(PQ_CODEC_LZ4, (const uint8_t *)"x", 1, NULL, 0),
                      SHEAF_EINVAL);
}

/* Numbers as convert casts them: the plain-decimal fast path of sheaf__parse_value gives what
 * strtod and strtoll give, bit for bit, over random decimals of every length and point place
 * (with signs and leading zeros), and refuses what they refuse. */
static void test_parse_numbers(void) {
    uint64_t x = 88172645463325252ull;
    for (int iter = 0; iter < 200000; iter++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        char t[64];
        int digits = 1 + (int)(x % 20), point = (int)((x >> 8) % 24) - 1, k = 0;
        if ((x >> 16) % 4 == 0)
            t[k++] = (x >> 18) % 2 ? '-' : '+';
        uint64_t y = x * 0x9E3779B97F4A7C15ull;
        for (int d = 0; d < digits; d++, y = y * 6364136223846793005ull + 1442695040888963407ull) {
            if (d == point)
                t[k++] = '.';
            t[k++] = (char)('0' + (y >> 33) % 10);
        }
        if ((x >> 20) % 50 == 0)
            t[k++] = 'e';
        t[k] = 0;
        double d, want_d;
        int64_t i;
        char *end;
        int rc = sheaf__parse_value(SHEAF_COL_DOUBLE, t, (size_t)k, &i, &d);
        want_d = strtod(t, &end);
        UNIT_ASSERT(rc == (*end || end == t ? -1 : 0));
        if (rc == 0)
            UNIT_ASSERT(memcmp(&d, &want_d, sizeof d) == 0);
        errno = 0;
        long long want_i = strtoll(t, &end, 10);
        rc = sheaf__parse_value(SHEAF_COL_INT64, t, (size_t)k, &i, &d);
        UNIT_ASSERT(rc == (errno || *end || end == t ? -1 : 0));
        if (rc == 0)
            UNIT_ASSERT(i == want_i);
    }
}

/* sheaf_schema_cast_to: each type's value, against the C library where it has one */
static void test_schema_cast_to(void) {
    char err[256];
    sheaf_schema *s = sheaf_schema_parse(
        "a:int64,b:double,c:bool?,d:date,e:timestamp,f:string,g:int32,h:int64?", err, sizeof err);
    UNIT_ASSERT(s != NULL);
    if (!s)
        return;
    int64_t i = -7;
    double d = -7;
    UNIT_ASSERT_EQUAL(sheaf_schema_cast_to(s, 0, "-9007199254740993", 17, &i, &d), 0);
    UNIT_ASSERT(i == -9007199254740993LL);
    UNIT_ASSERT_EQUAL(sheaf_schema_cast_to(s, 1, "6551.5", 6, &i, &d), 0);
    UNIT_ASSERT(d == strtod("6551.5", NULL));
    UNIT_ASSERT_EQUAL(sheaf_schema_cast_to(s, 2, "yes", 3, &i, &d), 0);
    UNIT_ASSERT_EQUAL(i, 1);
    UNIT_ASSERT_EQUAL(sheaf_schema_cast_to(s, 2, "false", 5, &i, &d), 0);
    UNIT_ASSERT_EQUAL(i, 0);
    UNIT_ASSERT_EQUAL(sheaf_schema_cast_to(s, 2, "", 0, &i, &d), 1); /* null */
    struct tm tm = {.tm_year = 124, .tm_mon = 1, .tm_mday = 29};
    UNIT_ASSERT_EQUAL(sheaf_schema_cast_to(s, 3, "2024-02-29", 10, &i, &d), 0);
    UNIT_ASSERT(i == (int64_t)(timegm(&tm) / 86400));
    tm.tm_hour = 13, tm.tm_min = 5, tm.tm_sec = 9;
    UNIT_ASSERT_EQUAL(sheaf_schema_cast_to(s, 4, "2024-02-29 13:05:09.25", 22, &i, &d), 0);
    UNIT_ASSERT(i == (int64_t)timegm(&tm) * 1000000 + 250000);
    i = -7;
    UNIT_ASSERT_EQUAL(sheaf_schema_cast_to(s, 5, "", 0, &i, &d), 0); /* a string: its text */
    UNIT_ASSERT_EQUAL(i, -7);
    UNIT_ASSERT_EQUAL(sheaf_schema_cast_to(s, 6, "2147483647", 10, &i, &d), 0);
    UNIT_ASSERT_EQUAL(i, 2147483647);
    UNIT_ASSERT_EQUAL(sheaf_schema_cast_to(s, 6, "2147483648", 10, &i, &d), SHEAF_EINVAL);
    UNIT_ASSERT_EQUAL(sheaf_schema_cast_to(s, 0, "", 0, &i, &d), SHEAF_EINVAL); /* not nullable */
    UNIT_ASSERT_EQUAL(sheaf_schema_cast_to(s, 7, "", 0, &i, &d), 1);
    UNIT_ASSERT_EQUAL(sheaf_schema_cast_to(s, 3, "2023-02-29", 10, &i, &d), SHEAF_EINVAL);
    UNIT_ASSERT_EQUAL(sheaf_schema_cast_to(s, 1, "1.5x", 4, &i, &d), SHEAF_EINVAL);
    UNIT_ASSERT_EQUAL(sheaf_schema_cast_to(s, 8, "1", 1, &i, &d), SHEAF_EINVAL); /* no column */
    /* sheaf_schema_cast agrees: a null is a cast */
    UNIT_ASSERT_EQUAL(sheaf_schema_cast(s, 2, "", 0), 0);
    UNIT_ASSERT_EQUAL(sheaf_schema_cast(s, 0, "x", 1), SHEAF_EINVAL);
    sheaf_schema_free(s);
}

int main(void) {
    static const unit_test tests[] = {
        {"parse_numbers", test_parse_numbers},
        {"dates_against_libc", test_dates_against_libc},
        {"rle_round_trip", test_rle_round_trip},
        {"int96_and_decimal", test_int96_and_decimal},
        {"format_double", test_format_double},
        {"codecs", test_codecs},
        {"schema_cast_to", test_schema_cast_to},
        {NULL, NULL},
    };
    return unit_main("parquet", tests);
}
