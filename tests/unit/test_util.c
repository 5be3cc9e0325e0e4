/*
 * test_util.c: unit tests of the small shared pieces (util.c, error.c, internal.h inlines).
 *
 * Sizes are checked against values computed here from random numbers and unit suffixes; the
 * varint and record encodings against an encoder written here (LEB128), including every
 * truncation of an encoded item; the order-preserving key encodings against numeric order on
 * random values; the error table against a list written here.
 */
#include "internal.h"
#include "unit.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- sheaf_parse_size ---- */

static void test_parse_size_valid(void) {
    static const struct {
        const char *text;
        uint64_t want;
    } cases[] = {
        {"0", 0},
        {"1", 1},
        {"512", 512},
        {"64K", 64ull << 10},
        {"64k", 64ull << 10},
        {"2M", 2ull << 20},
        {"2m", 2ull << 20},
        {"1.5G", 3ull << 29},
        {"1G", 1ull << 30},
        {"3T", 3ull << 40},
        {"1MiB", 1ull << 20},
        {"1KiB", 1024},
        {"1KB", 1024},
        {"1kb", 1024},
        {"0.5K", 512},
        {"10Mi", 10ull << 20},
        {"0K", 0},
        {"16777215T", 16777215ull << 40},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint64_t got = 12345;
        int rc = sheaf_parse_size(cases[i].text, &got);
        if (rc != 0 || got != cases[i].want)
            fprintf(stderr, "parse_size(\"%s\"): rc %d, %" PRIu64 ", want %" PRIu64 "\n",
                    cases[i].text, rc, got, cases[i].want);
        UNIT_ASSERT_EQUAL(rc, 0);
        UNIT_ASSERT_EQUAL(got, cases[i].want);
    }
    /* random numbers with random units and spellings */
    static const char units[] = "\0KMGT";
    static const char *const tails[] = {"", "i", "B", "iB"};
    for (int i = 0; i < 20000; i++) {
        int u = (int)unit_below(5);
        uint64_t n = unit_below(4) == 0 ? unit_below(1u << 20) : unit_below(10000);
        char text[64];
        int len = snprintf(text, sizeof text, "%" PRIu64, n);
        if (u) {
            text[len++] = unit_below(2) ? units[u] : (char)(units[u] - 'A' + 'a');
            const char *t = tails[unit_below(4)];
            len += snprintf(text + len, sizeof text - (size_t)len, "%s", t);
        }
        text[len] = '\0';
        uint64_t want = n << (10 * u), got = 0;
        UNIT_ASSERT_EQUAL(sheaf_parse_size(text, &got), 0);
        UNIT_ASSERT_EQUAL(got, want);
    }
}

static void test_parse_size_invalid(void) {
    static const char *const bad[] = {
        "",    "-1",  "-0.5K", "+5",   "10Q", "1.2.3", "K",    "k",    "1K2", "1 K",
        "K1",  "1iB", "1KiBB", "1KK",  "5 ",  "1e30",  "18446744073709551616",
        "16777216T", "1.5.G", "--1", "2x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t got = 777;
        int rc = sheaf_parse_size(bad[i], &got);
        if (rc != SHEAF_EINVAL)
            fprintf(stderr, "parse_size(\"%s\") = %d (%" PRIu64 "), want SHEAF_EINVAL\n", bad[i],
                    rc, got);
        UNIT_ASSERT_EQUAL(rc, SHEAF_EINVAL);
        UNIT_ASSERT_EQUAL(got, 777); /* untouched on failure */
    }
    uint64_t got;
    UNIT_ASSERT_EQUAL(sheaf_parse_size(NULL, &got), SHEAF_EINVAL);
}

/* Not-a-number and infinity are not sizes. */
static void test_parse_size_not_a_number(void) {
    static const char *const bad[] = {"nan", "NaN", "nanK", "nan(1)", "inf", "infinity", "INFK"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t got = 777;
        int rc = sheaf_parse_size(bad[i], &got);
        if (rc != SHEAF_EINVAL)
            fprintf(stderr, "parse_size(\"%s\") = %d (%" PRIu64 "), want SHEAF_EINVAL\n", bad[i],
                    rc, got);
        UNIT_ASSERT_EQUAL(rc, SHEAF_EINVAL);
    }
}

/* ---- varints and records ---- */

/* The reference encoder: little-endian base 128, high bit set on all bytes but the last. */
static size_t ref_varint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    for (;;) {
        uint8_t b = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) {
            p[n++] = b | 0x80;
        } else {
            p[n++] = b;
            return n;
        }
    }
}

static uint64_t random_width_value(void) {
    unsigned bits = (unsigned)unit_below(65);
    uint64_t v = unit_rand64();
    return bits == 64 ? v : v & ((1ull << bits) - 1);
}

static void test_varint(void) {
    uint64_t edges[] = {0, 1, 127, 128, 255, 256, 16383, 16384, (1ull << 21) - 1, 1ull << 21,
                        (1ull << 35), (1ull << 56) - 1, 1ull << 63, UINT64_MAX - 1, UINT64_MAX};
    size_t ne = sizeof edges / sizeof *edges;
    for (size_t i = 0; i < ne + 50000; i++) {
        uint64_t v = i < ne ? edges[i] : random_width_value();
        uint8_t a[SHEAF__VARINT_MAX + 4], b[SHEAF__VARINT_MAX + 4];
        memset(a, 0xAA, sizeof a);
        size_t n = sheaf__varint_put(a, v);
        size_t rn = ref_varint(b, v);
        UNIT_ASSERT_EQUAL(n, rn);
        UNIT_ASSERT(n >= 1 && n <= SHEAF__VARINT_MAX);
        UNIT_ASSERT(memcmp(a, b, rn) == 0);
        UNIT_ASSERT_EQUAL(a[n], 0xAA); /* nothing written past the end */
        uint64_t back = ~v;
        UNIT_ASSERT_EQUAL(sheaf__varint_get(a, a + n, &back), n);
        UNIT_ASSERT_EQUAL(back, v);
        /* trailing bytes are not read */
        UNIT_ASSERT_EQUAL(sheaf__varint_get(a, a + sizeof a, &back), n);
        UNIT_ASSERT_EQUAL(back, v);
        /* every truncation is incomplete */
        for (size_t cut = 0; cut < n; cut++)
            UNIT_ASSERT_EQUAL(sheaf__varint_get(a, a + cut, &back), 0);
    }
    /* an endless continuation is not a varint */
    uint8_t cont[16];
    memset(cont, 0x80, sizeof cont);
    uint64_t x;
    UNIT_ASSERT_EQUAL(sheaf__varint_get(cont, cont + sizeof cont, &x), 0);
}

static void test_record_round_trip(void) {
    uint8_t *buf = unit_xmalloc(SHEAF__REC_HDR_MAX + 2 * 70000);
    uint8_t *ref = unit_xmalloc(SHEAF__REC_HDR_MAX + 2 * 70000);
    uint8_t *key = unit_xmalloc(70000), *val = unit_xmalloc(70000);
    for (int i = 0; i < 3000; i++) {
        uint32_t part = (uint32_t)(unit_below(3) == 0 ? unit_rand64() : unit_below(10));
        size_t klen = unit_below(10) == 0 ? (size_t)unit_below(70000) : (size_t)unit_below(20);
        size_t vlen = unit_below(10) == 0 ? (size_t)unit_below(70000) : (size_t)unit_below(20);
        if (i == 0)
            klen = vlen = 0;
        for (size_t k = 0; k < klen; k++)
            key[k] = (uint8_t)unit_rand64();
        for (size_t k = 0; k < vlen; k++)
            val[k] = (uint8_t)unit_rand64();
        size_t n = sheaf__rec_put(buf, part, key, klen, val, vlen);
        /* the reference encoding: part, klen, vlen, key, value */
        size_t rn = ref_varint(ref, part);
        rn += ref_varint(ref + rn, klen);
        rn += ref_varint(ref + rn, vlen);
        memcpy(ref + rn, key, klen);
        rn += klen;
        memcpy(ref + rn, val, vlen);
        rn += vlen;
        UNIT_ASSERT_EQUAL(n, rn);
        UNIT_ASSERT(n == rn && memcmp(buf, ref, n) == 0);
        sheaf__kv kv;
        memset(&kv, 0, sizeof kv);
        UNIT_ASSERT_EQUAL(sheaf__rec_get(buf, buf + n, &kv), n);
        UNIT_ASSERT_EQUAL(kv.part, part);
        UNIT_ASSERT_EQUAL(kv.klen, klen);
        UNIT_ASSERT_EQUAL(kv.vlen, vlen);
        UNIT_ASSERT(klen == 0 || memcmp(kv.key, key, klen) == 0);
        UNIT_ASSERT(vlen == 0 || memcmp(kv.val, val, vlen) == 0);
        UNIT_ASSERT(kv.key >= buf && kv.val == kv.key + klen && kv.val + vlen == buf + n);
        /* truncated: every cut in the header, and a sample of cuts in the body */
        size_t hdr = n - klen - vlen;
        for (size_t cut = 0; cut < n; cut++) {
            if (cut > hdr + 3 && cut + 3 < n && unit_below(50) != 0)
                continue;
            UNIT_ASSERT_EQUAL(sheaf__rec_get(buf, buf + cut, &kv), 0);
        }
    }
    /* records back to back decode one after another */
    size_t off = 0;
    for (uint32_t i = 0; i < 100; i++)
        off += sheaf__rec_put(buf + off, i, &i, sizeof i, "v", i % 2);
    const uint8_t *p = buf;
    for (uint32_t i = 0; i < 100; i++) {
        sheaf__kv kv;
        size_t n = sheaf__rec_get(p, buf + off, &kv);
        UNIT_ASSERT(n > 0);
        if (!n)
            break;
        uint32_t k;
        memcpy(&k, kv.key, sizeof k);
        UNIT_ASSERT(kv.part == i && k == i && kv.vlen == i % 2);
        p += n;
    }
    UNIT_ASSERT(p == buf + off);
    free(buf);
    free(ref);
    free(key);
    free(val);
}

/* ---- key encodings ---- */

static int sgn(int x) {
    return (x > 0) - (x < 0);
}

static void test_key_u64(void) {
    const uint64_t edges[] = {0, 1, 255, 256, 1ull << 32, 1ull << 63, UINT64_MAX - 1, UINT64_MAX};
    const size_t ne = sizeof edges / sizeof *edges;
    for (size_t i = 0; i < ne * ne + 100000; i++) {
        uint64_t a, b;
        if (i < ne * ne) {
            a = edges[i / ne];
            b = edges[i % ne];
        } else {
            a = random_width_value();
            b = unit_below(4) == 0 ? a + unit_below(3) - 1 : random_width_value();
        }
        unsigned char ka[8], kb[8];
        sheaf_key_u64(a, ka);
        sheaf_key_u64(b, kb);
        UNIT_ASSERT_EQUAL(sgn(memcmp(ka, kb, 8)), a < b ? -1 : a > b);
        UNIT_ASSERT_EQUAL(sheaf_key_to_u64(ka), a);
        /* big-endian */
        UNIT_ASSERT_EQUAL(ka[0], (unsigned char)(a >> 56));
        UNIT_ASSERT_EQUAL(ka[7], (unsigned char)a);
    }
}

static void test_key_i64(void) {
    const int64_t edges[] = {INT64_MIN, INT64_MIN + 1, -256, -1, 0, 1, 255, INT64_MAX - 1,
                             INT64_MAX};
    const size_t ne = sizeof edges / sizeof *edges;
    for (size_t i = 0; i < ne * ne + 100000; i++) {
        int64_t a, b;
        if (i < ne * ne) {
            a = edges[i / ne];
            b = edges[i % ne];
        } else {
            a = (int64_t)random_width_value();
            if (unit_below(2))
                a = -(a & INT64_MAX);
            b = (int64_t)random_width_value();
            if (unit_below(2))
                b = -(b & INT64_MAX);
        }
        unsigned char ka[8], kb[8];
        sheaf_key_i64(a, ka);
        sheaf_key_i64(b, kb);
        UNIT_ASSERT_EQUAL(sgn(memcmp(ka, kb, 8)), a < b ? -1 : a > b);
    }
}

static double random_double(void) {
    for (;;) {
        uint64_t u = unit_rand64();
        double d;
        switch (unit_below(4)) {
        case 0: /* any bit pattern but NaN */
            memcpy(&d, &u, 8);
            break;
        case 1:
            d = (double)(int64_t)unit_below(2001) - 1000.0;
            break;
        case 2:
            d = ((double)(int64_t)unit_rand64()) * 1e-300;
            break;
        default:
            d = ((double)(int64_t)unit_below(1u << 30)) / 7.0 - 1e8;
            break;
        }
        if (!isnan(d))
            return d;
    }
}

static void test_key_double(void) {
    const double edges[] = {-INFINITY, -DBL_MAX, -1.0, -DBL_MIN, -4.9e-324, -0.0, 0.0,
                            4.9e-324,  DBL_MIN,  1.0,  DBL_MAX,  INFINITY};
    const size_t ne = sizeof edges / sizeof *edges;
    for (size_t i = 0; i < ne * ne + 100000; i++) {
        double a, b;
        if (i < ne * ne) {
            a = edges[i / ne];
            b = edges[i % ne];
        } else {
            a = random_double();
            b = unit_below(8) == 0 ? a : random_double();
        }
        unsigned char ka[8], kb[8];
        sheaf_key_double(a, ka);
        sheaf_key_double(b, kb);
        int c = sgn(memcmp(ka, kb, 8));
        if (a < b) {
            UNIT_ASSERT_EQUAL(c, -1);
        } else if (a > b) {
            UNIT_ASSERT_EQUAL(c, 1);
        } else if (memcmp(&a, &b, 8) == 0) {
            UNIT_ASSERT_EQUAL(c, 0);
        } else {
            /* -0.0 and 0.0: equal numbers; the key may tell them apart, -0.0 first */
            UNIT_ASSERT_EQUAL(c, signbit(a) ? -1 : 1);
        }
    }
}

/* Keys sorted by memcmp are in numeric order. */
static int cmp_key8(const void *a, const void *b) {
    return memcmp(a, b, 8);
}

static void test_keys_sort_numerically(void) {
    enum { N = 5000 };
    unsigned char (*keys)[16] = unit_xcalloc(N, sizeof *keys);
    for (int kind = 0; kind < 3; kind++) {
        for (int i = 0; i < N; i++) {
            if (kind == 0) {
                uint64_t v = random_width_value();
                sheaf_key_u64(v, keys[i]);
                memcpy(keys[i] + 8, &v, 8);
            } else if (kind == 1) {
                int64_t v = (int64_t)unit_rand64() >> unit_below(64);
                sheaf_key_i64(v, keys[i]);
                memcpy(keys[i] + 8, &v, 8);
            } else {
                double v = random_double();
                sheaf_key_double(v, keys[i]);
                memcpy(keys[i] + 8, &v, 8);
            }
        }
        qsort(keys, N, sizeof *keys, cmp_key8);
        for (int i = 1; i < N; i++) {
            if (kind == 0) {
                uint64_t a, b;
                memcpy(&a, keys[i - 1] + 8, 8);
                memcpy(&b, keys[i] + 8, 8);
                UNIT_ASSERT(a <= b);
            } else if (kind == 1) {
                int64_t a, b;
                memcpy(&a, keys[i - 1] + 8, 8);
                memcpy(&b, keys[i] + 8, 8);
                UNIT_ASSERT(a <= b);
            } else {
                double a, b;
                memcpy(&a, keys[i - 1] + 8, 8);
                memcpy(&b, keys[i] + 8, 8);
                UNIT_ASSERT(a <= b);
            }
        }
    }
    free(keys);
}

static void test_value_readers(void) {
    for (int i = 0; i < 1000; i++) {
        uint64_t u = unit_rand64();
        int64_t s = (int64_t)u;
        double d = random_double();
        uint8_t b[8];
        memcpy(b, &u, 8);
        UNIT_ASSERT_EQUAL(sheaf_value_u64(b, 8), u);
        UNIT_ASSERT_EQUAL(sheaf_value_i64(b, 8), s);
        memcpy(b, &d, 8);
        double back = sheaf_value_double(b, 8);
        UNIT_ASSERT(memcmp(&back, &d, 8) == 0);
        /* another length reads as zero */
        size_t len = (size_t)unit_below(8);
        UNIT_ASSERT_EQUAL(sheaf_value_u64(b, len), 0);
        UNIT_ASSERT_EQUAL(sheaf_value_i64(b, len), 0);
        UNIT_ASSERT(sheaf_value_double(b, len) == 0.0);
        UNIT_ASSERT_EQUAL(sheaf_value_u64(b, 9), 0);
    }
}

/* ---- the default key order ---- */

static int ref_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
    for (size_t i = 0; i < alen && i < blen; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static void test_bytes_compare(void) {
    uint8_t a[12], b[12];
    for (int i = 0; i < 100000; i++) {
        size_t alen = (size_t)unit_below(12), blen = (size_t)unit_below(12);
        for (size_t k = 0; k < 12; k++)
            a[k] = (uint8_t)("a\0\xff"[unit_below(3)]);
        memcpy(b, a, 12);
        if (unit_below(2))
            b[unit_below(12)] = (uint8_t)("a\0\xff"[unit_below(3)]);
        int got = sgn(sheaf__bytes_compare(a, alen, b, blen));
        UNIT_ASSERT_EQUAL(got, ref_bytes(a, alen, b, blen));
    }
    UNIT_ASSERT_EQUAL(sheaf__bytes_compare(NULL, 0, NULL, 0), 0);
    UNIT_ASSERT(sheaf__bytes_compare(NULL, 0, "a", 1) < 0);
    UNIT_ASSERT(sheaf__bytes_compare("a", 1, NULL, 0) > 0);
}

/* ---- buffers and files ---- */

static void test_buf(void) {
    sheaf__buf b = {0};
    size_t total = 0;
    for (int i = 0; i < 2000; i++) {
        size_t n = (size_t)unit_below(unit_below(20) == 0 ? 100000 : 100);
        CU_ASSERT_EQUAL_FATAL(sheaf__buf_reserve(&b, n), 0);
        UNIT_ASSERT(b.cap - b.len >= n);
        memset(b.data + b.len, (int)(i & 0xff), n);
        b.len += n;
        total += n;
    }
    UNIT_ASSERT_EQUAL(b.len, total);
    /* a request whose size overflows is refused, not wrapped */
    UNIT_ASSERT_EQUAL(sheaf__buf_reserve(&b, SIZE_MAX - 1), SHEAF_ENOMEM);
    sheaf__buf_free(&b);
    UNIT_ASSERT_PTR_NULL(b.data);
    UNIT_ASSERT_EQUAL(b.len, 0);
    UNIT_ASSERT_EQUAL(b.cap, 0);
}

static void test_mkdirs_rmtree(void) {
    char d[4096], p[4300], outside[4300];
    CU_ASSERT_FATAL(unit_mkdtemp(d, sizeof d, "util") == 0);
    unit_path(p, sizeof p, d, "a/b/c/d");
    UNIT_ASSERT_EQUAL(sheaf__mkdirs(p, 0755), 0);
    UNIT_ASSERT(unit_is_dir(p));
    UNIT_ASSERT_EQUAL(sheaf__mkdirs(p, 0755), 0); /* already there */
    /* a tree with files, and a symlink to a directory outside it */
    unit_path(outside, sizeof outside, d, "outside");
    CU_ASSERT_FATAL(mkdir(outside, 0755) == 0);
    char f[4400];
    CU_ASSERT_FATAL(unit_write_str(unit_path(f, sizeof f, outside, "keep"), "k") == 0);
    CU_ASSERT_FATAL(unit_write_str(unit_path(f, sizeof f, d, "a/b/file"), "x") == 0);
    CU_ASSERT_FATAL(symlink(outside, unit_path(f, sizeof f, d, "a/b/c/link")) == 0);
    char a[4300];
    unit_path(a, sizeof a, d, "a");
    UNIT_ASSERT_EQUAL(sheaf__rmtree(a), 0);
    UNIT_ASSERT_FALSE(unit_exists(a));
    /* the link was removed, not followed */
    UNIT_ASSERT(unit_exists(unit_path(f, sizeof f, outside, "keep")));
    /* removing what is not there is fine */
    UNIT_ASSERT_EQUAL(sheaf__rmtree(a), 0);
    /* mkdirs under a regular file fails */
    unit_path(f, sizeof f, outside, "keep/sub");
    UNIT_ASSERT(sheaf__mkdirs(f, 0755) < 0);
    UNIT_ASSERT(sheaf__mkdirs("", 0755) < 0);
    /* write_all writes everything */
    unit_path(f, sizeof f, d, "w");
    int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CU_ASSERT_FATAL(fd >= 0);
    size_t n = 3u << 20;
    char *data = unit_xmalloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)unit_rand64();
    UNIT_ASSERT_EQUAL(sheaf__write_all(fd, data, n), 0);
    close(fd);
    size_t got;
    char *back = unit_read_file(f, &got);
    UNIT_ASSERT(back && got == n && memcmp(back, data, n) == 0);
    free(back);
    free(data);
    UNIT_ASSERT(sheaf__write_all(-1, "x", 1) < 0);
    UNIT_ASSERT_EQUAL(unit_rmtree(d), 0);
}

/* ---- errors ---- */

static void test_errors(void) {
    static const struct {
        int code;
        const char *name;
    } codes[] = {
        {SHEAF_EINVAL, "SHEAF_EINVAL"}, {SHEAF_ENOMEM, "SHEAF_ENOMEM"},
        {SHEAF_EIO, "SHEAF_EIO"},       {SHEAF_ENOENT, "SHEAF_ENOENT"},
        {SHEAF_EEXIST, "SHEAF_EEXIST"}, {SHEAF_EUSAGE, "SHEAF_EUSAGE"},
        {SHEAF_EFORMAT, "SHEAF_EFORMAT"}, {SHEAF_EUSER, "SHEAF_EUSER"},
        {SHEAF_EMPI, "SHEAF_EMPI"},     {SHEAF_ENOSPC, "SHEAF_ENOSPC"},
        {SHEAF_EPEER, "SHEAF_EPEER"},   {SHEAF_EFAULT, "SHEAF_EFAULT"},
        {SHEAF_ECHILD, "SHEAF_ECHILD"},
    };
    const size_t n = sizeof codes / sizeof *codes;
    for (size_t i = 0; i < n; i++) {
        UNIT_ASSERT(codes[i].code < 0);
        UNIT_ASSERT_STRING_EQUAL(sheaf_err_name(codes[i].code), codes[i].name);
        const char *text = sheaf_strerror(codes[i].code);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        UNIT_ASSERT(strlen(text) > 0);
        UNIT_ASSERT_STRING_NOT_EQUAL(text, "unknown error");
        /* codes and texts are distinct */
        for (size_t j = 0; j < i; j++) {
            UNIT_ASSERT(codes[i].code != codes[j].code);
            UNIT_ASSERT_STRING_NOT_EQUAL(text, sheaf_strerror(codes[j].code));
        }
    }
    /* every code of the table, as the header defines it, has its own name and text */
    size_t in_table = 0;
#define CHECK_CODE(name, value, text)                                                   \
    do {                                                                                \
        in_table++;                                                                     \
        UNIT_ASSERT_EQUAL(SHEAF_##name, value);                                           \
        UNIT_ASSERT_STRING_EQUAL(sheaf_err_name(value), "SHEAF_" #name);                  \
        UNIT_ASSERT_STRING_EQUAL(sheaf_strerror(value), text);                            \
    } while (0);
    SHEAF_ERRNO_MAP(CHECK_CODE)
#undef CHECK_CODE
    UNIT_ASSERT(in_table >= n);
    UNIT_ASSERT_STRING_EQUAL(sheaf_err_name(0), "SHEAF_OK");
    UNIT_ASSERT_PTR_NOT_NULL(sheaf_strerror(0));
    UNIT_ASSERT_STRING_NOT_EQUAL(sheaf_strerror(0), "unknown error");
    const int unknown[] = {1, 5, -100, -(int)in_table - 1, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        UNIT_ASSERT_STRING_EQUAL(sheaf_strerror(unknown[i]), "unknown error");
        UNIT_ASSERT_STRING_EQUAL(sheaf_err_name(unknown[i]), "SHEAF_UNKNOWN");
    }
}

/* A directory swapped for a symlink in the middle of sheaf__rmtree, as another user may do in
 * a shared place: the test's lstat and unlinkat (which the runtime's calls reach, its objects
 * being linked into this program) swap the armed directory for a symlink to another one right
 * after they looked at it, which is the moment a walk by paths (lstat, then opendir) follows
 * the link and deletes what it points to. */
static char swap_dir[4400], swap_to[4400];
static const char *swap_base;
static int swapped;

static void swap_now(void) {
    char moved[4500];
    snprintf(moved, sizeof moved, "%s.moved", swap_to); /* out of the tree */
    if (rename(swap_dir, moved) == 0 && symlink(swap_to, swap_dir) == 0)
        swapped++;
    swap_base = NULL;
}

int lstat(const char *path, struct stat *st) {
    int rc = fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
    if (swap_base && rc == 0 && S_ISDIR(st->st_mode) && !strcmp(path, swap_dir))
        swap_now();
    return rc;
}

int unlinkat(int dirfd, const char *name, int flags) {
    int rc = (int)syscall(SYS_unlinkat, dirfd, name, flags), e = errno;
    if (swap_base && rc != 0 && flags == 0 && !strcmp(name, swap_base))
        swap_now();
    errno = e;
    return rc;
}

static void test_rmtree_swapped(void) {
    char d[4096], keep[4500], t[4300], f[4500];
    CU_ASSERT_FATAL(unit_mkdtemp(d, sizeof d, "swap") == 0);
    unit_path(swap_to, sizeof swap_to, d, "outside");
    CU_ASSERT_FATAL(mkdir(swap_to, 0755) == 0);
    CU_ASSERT_FATAL(unit_write_str(unit_path(keep, sizeof keep, swap_to, "keep"), "k") == 0);
    unit_path(t, sizeof t, d, "t");
    unit_path(swap_dir, sizeof swap_dir, t, "x");
    CU_ASSERT_FATAL(sheaf__mkdirs(swap_dir, 0755) == 0);
    CU_ASSERT_FATAL(unit_write_str(unit_path(f, sizeof f, swap_dir, "f"), "x") == 0);
    swap_base = "x";
    UNIT_ASSERT_EQUAL(sheaf__rmtree(t), 0);
    UNIT_ASSERT_EQUAL(swapped, 1);
    UNIT_ASSERT(unit_exists(keep)); /* the link was removed, not followed */
    UNIT_ASSERT_FALSE(unit_exists(t));
    swap_base = NULL;
    unit_rmtree(d);
}

int main(void) {
    static const unit_test tests[] = {
        {"parse_size_valid", test_parse_size_valid},
        {"parse_size_invalid", test_parse_size_invalid},
        {"parse_size_not_a_number", test_parse_size_not_a_number},
        {"varint", test_varint},
        {"record_round_trip", test_record_round_trip},
        {"key_u64", test_key_u64},
        {"key_i64", test_key_i64},
        {"key_double", test_key_double},
        {"keys_sort_numerically", test_keys_sort_numerically},
        {"value_readers", test_value_readers},
        {"bytes_compare", test_bytes_compare},
        {"buf", test_buf},
        {"mkdirs_rmtree", test_mkdirs_rmtree},
        {"rmtree_swapped", test_rmtree_swapped},
        {"errors", test_errors},
        {NULL, NULL},
    };
    return unit_main("util", tests);
}
