/*
 * pq_common.c: what Sheaf's Parquet writer and reader share: the output schema object, the
 * page codecs, the RLE/bit-packed hybrid of levels and dictionary indices, and the text forms
 * of dates, timestamps and doubles.
 *
 * Codecs come from Debian's libraries: snappy (raw blocks, its C interface), zstd (frames)
 * and zlib (GZIP is the gzip format: written with a gzip header, read by zlib's automatic
 * header detection). The hybrid is a sequence of runs, each led by a varint: an even header
 * is a repeated run (header/2 copies of one value stored in the fewest whole bytes of the bit
 * width), an odd one is header/2 groups of eight values bit-packed least significant bit
 * first. The encoder writes a repeated run for eight or more equal values and packs the rest.
 * Dates use the proleptic Gregorian calendar (days from civil by eras of 400 years).
 */
#include "parquet.h"
#include "number.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

/* ---- the schema ---- */

SHEAF_EXTERN sheaf_schema *sheaf_schema_new(void) {
    return calloc(1, sizeof(sheaf_schema));
}

SHEAF_EXTERN int sheaf_schema_add(sheaf_schema *s, const char *name, sheaf_col_type type,
                                  int nullable) {
    if (!s || !name || !*name || type < SHEAF_COL_INT64 || type > SHEAF_COL_TIMESTAMP)
        return SHEAF_EINVAL;
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->cols[i].name, name))
            return SHEAF_EINVAL;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        void *p = realloc(s->cols, cap * sizeof *s->cols);
        if (!p)
            return SHEAF_ENOMEM;
        s->cols = p;
        s->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return SHEAF_ENOMEM;
    s->cols[s->n++] = (struct sheaf__col){copy, type, nullable != 0};
    return 0;
}

SHEAF_EXTERN size_t sheaf_schema_columns(const sheaf_schema *s) {
    return s ? s->n : 0;
}

SHEAF_EXTERN void sheaf_schema_free(sheaf_schema *s) {
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->cols[i].name);
    free(s->cols);
    free(s);
}

/* The column types by name: the schema's own names first, then the aliases a --schema line
 * or a CAST also accepts. */
static const struct {
    const char *name;
    sheaf_col_type t;
    bool alias;
} types[] = {
    {"int64", SHEAF_COL_INT64, 0},
    {"bigint", SHEAF_COL_INT64, 1},
    {"long", SHEAF_COL_INT64, 1},
    {"int32", SHEAF_COL_INT32, 0},
    {"int", SHEAF_COL_INT32, 1},
    {"integer", SHEAF_COL_INT32, 1},
    {"double", SHEAF_COL_DOUBLE, 0},
    {"float", SHEAF_COL_DOUBLE, 1},
    {"real", SHEAF_COL_DOUBLE, 1},
    {"bool", SHEAF_COL_BOOL, 0},
    {"boolean", SHEAF_COL_BOOL, 1},
    {"string", SHEAF_COL_STRING, 0},
    {"varchar", SHEAF_COL_STRING, 1},
    {"text", SHEAF_COL_STRING, 1},
    {"date", SHEAF_COL_DATE, 0},
    {"timestamp", SHEAF_COL_TIMESTAMP, 0},
    {"timestamptz", SHEAF_COL_TIMESTAMP, 1},
};

const char *sheaf__col_type_name(sheaf_col_type t) {
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (types[i].t == t && !types[i].alias)
            return types[i].name;
    return "string";
}

sheaf_col_type sheaf__col_type_named(const char *p, size_t n, bool aliases) {
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (strlen(types[i].name) == n &&
            (aliases ? !strncasecmp(types[i].name, p, n)
                     : !types[i].alias && !memcmp(types[i].name, p, n)))
            return types[i].t;
    return (sheaf_col_type)0;
}

SHEAF_EXTERN sheaf_schema *sheaf_schema_parse(const char *spec, char *err, size_t errlen) {
    sheaf_schema *s = sheaf_schema_new();
    char *copy = strdup(spec), *save = NULL;
    if (!s || !copy) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(tok, ':');
        if (!colon) {
            snprintf(err, errlen, "schema: '%s' is not NAME:TYPE", tok);
            goto fail;
        }
        *colon = 0;
        char *type = colon + 1;
        size_t tl = strlen(type);
        int nullable = tl && type[tl - 1] == '?';
        if (nullable)
            type[tl - 1] = 0;
        sheaf_col_type t = sheaf__col_type_named(type, strlen(type), false);
        if (!t) {
            snprintf(err, errlen, "schema: column '%s': unknown type '%s' (%s)", tok, type,
                     SHEAF__COL_TYPE_NAMES);
            goto fail;
        }
        if (sheaf_schema_add(s, tok, t, nullable)) {
            snprintf(err, errlen, "schema: column '%s': an empty or repeated name", tok);
            goto fail;
        }
    }
    if (!s->n) {
        snprintf(err, errlen, "schema: no columns");
        goto fail;
    }
    free(copy);
    return s;
fail:
    free(copy);
    sheaf_schema_free(s);
    return NULL;
}

SHEAF_EXTERN const char *sheaf_schema_name(const sheaf_schema *s, size_t col) {
    return s && col < s->n ? s->cols[col].name : NULL;
}

SHEAF_EXTERN sheaf_col_type sheaf_schema_type(const sheaf_schema *s, size_t col) {
    return s && col < s->n ? s->cols[col].type : (sheaf_col_type)0;
}

SHEAF_EXTERN int sheaf_schema_nullable(const sheaf_schema *s, size_t col) {
    return s && col < s->n && s->cols[col].nullable;
}

int sheaf__parse_bool(const char *p, size_t n, bool *v) {
    static const char *const t[] = {"true", "t", "1", "yes", "y"};
    static const char *const f[] = {"false", "f", "0", "no", "n"};
    for (size_t i = 0; i < 5; i++) {
        if (strlen(t[i]) == n && !strncasecmp(p, t[i], n)) {
            *v = true;
            return 0;
        }
        if (strlen(f[i]) == n && !strncasecmp(p, f[i], n)) {
            *v = false;
            return 0;
        }
    }
    return -1;
}

int sheaf__parse_value(sheaf_col_type type, const char *p, size_t n, int64_t *i, double *d) {
    char tmp[64], *end;
    bool b;
    int32_t days;
    switch (type) {
    case SHEAF_COL_STRING: return 0;
    case SHEAF_COL_BOOL:
        if (sheaf__parse_bool(p, n, &b))
            return -1;
        *i = b;
        return 0;
    case SHEAF_COL_DATE:
        if (sheaf__parse_date(p, n, &days))
            return -1;
        *i = days;
        return 0;
    case SHEAF_COL_TIMESTAMP: return sheaf__parse_timestamp(p, n, i);
    default: break;
    }
    if (n == 0 || n >= sizeof tmp)
        return -1;
    double pd;
    int64_t pi;
    int plain = sheaf__plain_number(p, n, &pd, &pi);
    if (type == SHEAF_COL_DOUBLE && (plain == 1 || plain == 2)) {
        *d = pd;
        return 0;
    }
    if (type != SHEAF_COL_DOUBLE && plain >= 2) {
        if (type == SHEAF_COL_INT32 && (pi < INT32_MIN || pi > INT32_MAX))
            return -1;
        *i = pi;
        return 0;
    }
    memcpy(tmp, p, n);
    tmp[n] = 0;
    errno = 0;
    if (type == SHEAF_COL_DOUBLE) {
        *d = strtod(tmp, &end);
        return end == tmp || *end || isspace((unsigned char)tmp[0]) ? -1 : 0;
    }
    long long v = strtoll(tmp, &end, 10);
    if (errno || end == tmp || *end || isspace((unsigned char)tmp[0]))
        return -1;
    if (type == SHEAF_COL_INT32 && (v < INT32_MIN || v > INT32_MAX))
        return -1;
    *i = v;
    return 0;
}

SHEAF_EXTERN int sheaf_schema_cast_to(const sheaf_schema *s, size_t col, const char *text,
                                      size_t len, int64_t *i, double *d) {
    if (!s || col >= s->n)
        return SHEAF_EINVAL;
    const struct sheaf__col *c = &s->cols[col];
    if (c->type == SHEAF_COL_STRING)
        return 0;
    if (len == 0)
        return c->nullable ? 1 : SHEAF_EINVAL;
    return sheaf__parse_value(c->type, text, len, i, d) ? SHEAF_EINVAL : 0;
}

SHEAF_EXTERN int sheaf_schema_cast(const sheaf_schema *s, size_t col, const char *text,
                                   size_t len) {
    int64_t i;
    double d;
    return sheaf_schema_cast_to(s, col, text, len, &i, &d) < 0 ? SHEAF_EINVAL : 0;
}

sheaf_schema *sheaf__schema_copy(const sheaf_schema *s) {
    sheaf_schema *c = sheaf_schema_new();
    for (size_t i = 0; c && i < s->n; i++)
        if (sheaf_schema_add(c, s->cols[i].name, s->cols[i].type, s->cols[i].nullable)) {
            sheaf_schema_free(c);
            return NULL;
        }
    return c;
}

/* ---- codecs ---- */

int sheaf__pq_codec_parse(const char *name) {
    if (!strcmp(name, "none") || !strcmp(name, "uncompressed"))
        return PQ_CODEC_NONE;
    if (!strcmp(name, "snappy"))
        return PQ_CODEC_SNAPPY;
    if (!strcmp(name, "gzip"))
        return PQ_CODEC_GZIP;
    if (!strcmp(name, "zstd"))
        return PQ_CODEC_ZSTD;
    return -1;
}

const char *sheaf__pq_codec_name(int codec) {
    static const char *const names[] = {"none",   "snappy", "gzip", "lzo",
                                        "brotli", "lz4",    "zstd", "lz4_raw"};
    return codec >= 0 && codec < 8 ? names[codec] : "unknown";
}

int sheaf__pq_compress(int codec, int level, const uint8_t *src, size_t n, sheaf__buf *out) {
    out->len = 0;
    switch (codec) {
    case PQ_CODEC_NONE:
        if (sheaf__buf_reserve(out, n ? n : 1))
            return SHEAF_ENOMEM;
        if (n)
            memcpy(out->data, src, n);
        out->len = n;
        return 0;
    case PQ_CODEC_SNAPPY: {
        size_t cap = snappy_max_compressed_length(n);
        if (sheaf__buf_reserve(out, cap))
            return SHEAF_ENOMEM;
        if (snappy_compress((const char *)src, n, (char *)out->data, &cap) != SNAPPY_OK)
            return SHEAF_EIO;
        out->len = cap;
        return 0;
    }
    case PQ_CODEC_ZSTD: {
        size_t cap = ZSTD_compressBound(n);
        if (sheaf__buf_reserve(out, cap))
            return SHEAF_ENOMEM;
        size_t r = ZSTD_compress(out->data, cap, src, n, level ? level : 3);
        if (ZSTD_isError(r))
            return SHEAF_EIO;
        out->len = r;
        return 0;
    }
    case PQ_CODEC_GZIP: {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (deflateInit2(&z, level ? level : 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return SHEAF_ENOMEM;
        size_t cap = deflateBound(&z, (uLong)n) + 32;
        if (sheaf__buf_reserve(out, cap)) {
            deflateEnd(&z);
            return SHEAF_ENOMEM;
        }
        z.next_in = (Bytef *)(uintptr_t)src;
        z.avail_in = (uInt)n;
        z.next_out = out->data;
        z.avail_out = (uInt)cap;
        int rc = deflate(&z, Z_FINISH);
        out->len = z.total_out;
        deflateEnd(&z);
        return rc == Z_STREAM_END ? 0 : SHEAF_EIO;
    }
    default: return SHEAF_EINVAL;
    }
}

int sheaf__pq_decompress(int codec, const uint8_t *src, size_t n, uint8_t *dst, size_t want) {
    switch (codec) {
    case PQ_CODEC_NONE:
        if (n != want)
            return SHEAF_EFORMAT;
        if (n)
            memcpy(dst, src, n);
        return 0;
    case PQ_CODEC_SNAPPY: {
        size_t len;
        if (snappy_uncompressed_length((const char *)src, n, &len) != SNAPPY_OK || len != want)
            return SHEAF_EFORMAT;
        if (want == 0)
            return 0;
        return snappy_uncompress((const char *)src, n, (char *)dst, &len) == SNAPPY_OK &&
                       len == want
                   ? 0
                   : SHEAF_EFORMAT;
    }
    case PQ_CODEC_ZSTD: {
        /* a page may hold several frames: decompress until the input is used up */
        ZSTD_DCtx *d = ZSTD_createDCtx();
        if (!d)
            return SHEAF_ENOMEM;
        ZSTD_inBuffer in = {src, n, 0};
        ZSTD_outBuffer o = {dst, want, 0};
        int rc = 0;
        while (in.pos < in.size) {
            size_t r = ZSTD_decompressStream(d, &o, &in);
            if (ZSTD_isError(r) || (r != 0 && o.pos == o.size && in.pos < in.size)) {
                rc = SHEAF_EFORMAT;
                break;
            }
            if (r != 0 && in.pos == in.size) {
                rc = SHEAF_EFORMAT; /* a truncated frame */
                break;
            }
        }
        ZSTD_freeDCtx(d);
        return rc ? rc : o.pos == want ? 0 : SHEAF_EFORMAT;
    }
    case PQ_CODEC_GZIP: {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (inflateInit2(&z, 15 + 32) != Z_OK)
            return SHEAF_ENOMEM;
        z.next_in = (Bytef *)(uintptr_t)src;
        z.avail_in = (uInt)n;
        z.next_out = dst;
        z.avail_out = (uInt)want;
        int rc;
        for (;;) { /* concatenated gzip members are one stream */
            rc = inflate(&z, Z_FINISH);
            if (rc == Z_STREAM_END && z.avail_in > 0 && z.avail_out > 0) {
                if (inflateReset(&z) != Z_OK)
                    break;
                continue;
            }
            break;
        }
        size_t got = z.total_out;
        inflateEnd(&z);
        return (rc == Z_STREAM_END || (rc == Z_BUF_ERROR && z.avail_in == 0)) && got == want
                   ? 0
                   : SHEAF_EFORMAT;
    }
    default: return SHEAF_EINVAL;
    }
}

/* ---- the RLE / bit-packed hybrid ---- */

static int put_bytes(sheaf__buf *out, const void *p, size_t n) {
    if (sheaf__buf_reserve(out, n))
        return SHEAF_ENOMEM;
    memcpy(out->data + out->len, p, n);
    out->len += n;
    return 0;
}

static size_t run_length(const uint32_t *v, size_t i, size_t n) {
    size_t j = i + 1;
    while (j < n && v[j] == v[i])
        j++;
    return j - i;
}

int sheaf__pq_rle_encode(const uint32_t *v, size_t n, int width, sheaf__buf *out) {
    uint8_t hdr[SHEAF__VARINT_MAX];
    size_t vbytes = ((size_t)width + 7) / 8;
    size_t i = 0;
    while (i < n) {
        size_t run = run_length(v, i, n);
        if (run >= 8) {
            uint8_t val[4];
            for (size_t b = 0; b < vbytes; b++)
                val[b] = (uint8_t)(v[i] >> (8 * b));
            if (put_bytes(out, hdr, sheaf__varint_put(hdr, (uint64_t)run << 1)) ||
                put_bytes(out, val, vbytes))
                return SHEAF_ENOMEM;
            i += run;
            continue;
        }
        size_t start = i, groups = 0;
        while (i < n && groups < 63) {
            if (groups > 0 && run_length(v, i, n) >= 8)
                break;
            i += 8;
            groups++;
        }
        if (put_bytes(out, hdr, sheaf__varint_put(hdr, (uint64_t)groups << 1 | 1)))
            return SHEAF_ENOMEM;
        size_t nbytes = groups * (size_t)width; /* 8 values of width bits: width bytes */
        if (sheaf__buf_reserve(out, nbytes))
            return SHEAF_ENOMEM;
        /* values packed from the low bits up, through an accumulator that never holds more
         * than 7 + 32 bits; 8 values of width bits end on a byte */
        uint8_t *p = out->data + out->len;
        uint64_t acc = 0, mask = width == 32 ? 0xffffffffu : (1u << width) - 1u;
        int bits = 0;
        for (size_t k = start; k < start + groups * 8; k++) {
            acc |= ((k < n ? v[k] : 0) & mask) << bits;
            for (bits += width; bits >= 8; bits -= 8) {
                *p++ = (uint8_t)acc;
                acc >>= 8;
            }
        }
        out->len += nbytes;
        if (i > n)
            i = n;
    }
    return 0;
}

long sheaf__pq_rle_decode(const uint8_t *p, const uint8_t *end, int width, uint32_t *out,
                          size_t n) {
    const uint8_t *start = p;
    size_t got = 0;
    size_t vbytes = ((size_t)width + 7) / 8;
    if (width < 0 || width > 32)
        return -1;
    while (got < n) {
        uint64_t h;
        size_t k = sheaf__varint_get(p, end, &h);
        if (!k)
            return -1;
        p += k;
        if (h & 1) {
            uint64_t count = (h >> 1) * 8;
            uint64_t nbytes = (h >> 1) * (uint64_t)width;
            if (nbytes > (uint64_t)(end - p))
                return -1;
            uint64_t bit = 0, take = SHEAF__MIN(count, (uint64_t)(n - got));
            for (uint64_t c = 0; c < take; c++, bit += (uint64_t)width) {
                uint64_t x = 0;
                for (int b = 0; b < width; b++) {
                    uint64_t at = bit + (uint64_t)b;
                    x |= (uint64_t)(p[at >> 3] >> (at & 7) & 1) << b;
                }
                out[got++] = (uint32_t)x;
            }
            p += nbytes;
        } else {
            uint64_t count = h >> 1;
            if (vbytes > (size_t)(end - p))
                return -1;
            uint32_t x = 0;
            for (size_t b = 0; b < vbytes; b++)
                x |= (uint32_t)p[b] << (8 * b);
            p += vbytes;
            if (count == 0 || (width < 32 && x >> width))
                return -1; /* an empty run, or a value wider than the bit width */
            for (uint64_t c = 0; c < count && got < n; c++)
                out[got++] = x;
        }
    }
    return (long)(p - start);
}

/* ---- dates and numbers as text ---- */

int64_t sheaf__days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void sheaf__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, size_t n, int64_t *v) {
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

static bool leap(int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int sheaf__parse_date(const char *s, size_t n, int32_t *days) {
    int64_t y, m, d;
    if (n != 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) || digits(s + 5, 2, &m) ||
        digits(s + 8, 2, &d))
        return -1;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap(y)))
        return -1;
    *days = (int32_t)sheaf__days_from_civil(y, (unsigned)m, (unsigned)d);
    return 0;
}

int sheaf__parse_timestamp(const char *s, size_t n, int64_t *us) {
    int32_t days;
    if (n < 10 || sheaf__parse_date(s, 10, &days))
        return -1;
    int64_t t = (int64_t)days * 86400 * 1000000;
    if (n == 10) {
        *us = t;
        return 0;
    }
    int64_t hh, mm, ss;
    if (n < 19 || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' ||
        digits(s + 11, 2, &hh) || digits(s + 14, 2, &mm) || digits(s + 17, 2, &ss) || hh > 23 ||
        mm > 59 || ss > 59)
        return -1;
    t += ((hh * 60 + mm) * 60 + ss) * 1000000;
    size_t i = 19;
    if (i < n && s[i] == '.') {
        i++;
        int64_t frac = 0, scale = 100000;
        size_t nd = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (nd < 6)
                frac += (s[i] - '0') * scale;
            scale /= 10;
            nd++;
            i++;
        }
        if (nd == 0 || nd > 9)
            return -1;
        t += frac;
    }
    if (i < n) { /* a zone: only UTC */
        const char *z = s + i;
        size_t zl = n - i;
        if (!((zl == 1 && z[0] == 'Z') || (zl == 3 && !memcmp(z, "+00", 3)) ||
              (zl == 6 && !memcmp(z, "+00:00", 6))))
            return -1;
    }
    *us = t;
    return 0;
}

/* Two digits of v (0 to 99) at out. */
static void two_digits(char *out, unsigned v) {
    out[0] = (char)('0' + v / 10);
    out[1] = (char)('0' + v % 10);
}

size_t sheaf__format_date(int32_t days, char *out) {
    int64_t y;
    unsigned m, d;
    sheaf__civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) /* rare: printf's sign and width */
        return (size_t)snprintf(out, 40, "%04lld-%02u-%02u", (long long)y, m, d);
    two_digits(out, (unsigned)(y / 100));
    two_digits(out + 2, (unsigned)(y % 100));
    out[4] = '-';
    two_digits(out + 5, m);
    out[7] = '-';
    two_digits(out + 8, d);
    out[10] = 0;
    return 10;
}

size_t sheaf__format_timestamp(int64_t us, char *out) {
    int64_t days = us / 86400000000LL, rem = us % 86400000000LL;
    if (rem < 0) {
        rem += 86400000000LL;
        days--;
    }
    size_t n = sheaf__format_date((int32_t)days, out);
    unsigned secs = (unsigned)(rem / 1000000), frac = (unsigned)(rem % 1000000);
    out[n] = ' ';
    two_digits(out + n + 1, secs / 3600);
    out[n + 3] = ':';
    two_digits(out + n + 4, secs / 60 % 60);
    out[n + 6] = ':';
    two_digits(out + n + 7, secs % 60);
    n += 9;
    if (frac) {
        out[n++] = '.';
        for (int i = 5; i >= 0; i--, frac /= 10)
            out[n + (size_t)i] = (char)('0' + frac % 10);
        n += 6;
    }
    out[n] = 0;
    return n;
}

/* The common case without printf: a number of magnitude 1e-4 to 1e15 that m / 10^k reads
 * back as, for an integer m below 2^53 and the least k, has m's digits (less their trailing
 * zeros) as its shortest. 0 when another search is needed. */
static size_t fast_digits(double d, char *dig, int *exp) {
    double a = fabs(d), p = 1;
    if (!(a >= 1e-4 && a < 1e15))
        return 0;
    for (int k = 0; k <= 15; k++, p *= 10) {
        double x = a * p;
        if (x >= 9007199254740992.0)
            return 0;
        long long m = llround(x);
        if ((double)m / p != a)
            continue;
        char rev[24];
        int nm = 0;
        unsigned long long u = (unsigned long long)m;
        do {
            rev[nm++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        *exp = nm - 1 - k;
        int lo = 0;
        while (lo < nm - 1 && rev[lo] == '0')
            lo++;
        size_t nd = 0;
        for (int i = nm - 1; i >= lo; i--)
            dig[nd++] = rev[i];
        return nd;
    }
    return 0;
}

size_t sheaf__double_digits(double d, char *dig, int *exp) {
    size_t nd = fast_digits(d, dig, exp);
    if (nd)
        return nd;
    /* A normal double that some decimal of 15 digits or fewer reads back as has those digits
     * at %.14e (its trailing zeros dropped), so the shortest form takes 15, 16 or 17 digits.
     * A subnormal one holds fewer bits (5e-324 is 4.94065645841247e-324 at %.14e): every
     * count is tried. */
    char e[40];
    for (int prec = fabs(d) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, d);
        if (strtod(e, NULL) == d)
            break;
    }
    const char *m = e + (e[0] == '-'), *x = strchr(m, 'e');
    *exp = atoi(x + 1);
    for (const char *q = m; q < x && nd < 17; q++)
        if (*q != '.')
            dig[nd++] = *q;
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    return nd;
}

size_t sheaf__double_layout(bool neg, const char *dig, size_t nd, int exp, int hi, bool point,
                            char *out, size_t cap) {
    char t[64];
    size_t n = 0;
    if (neg)
        t[n++] = '-';
    if (hi > 17) /* positional up to 17 digits at most: t holds it */
        hi = 17;
    if (exp < -4 || exp >= hi) {
        t[n++] = dig[0];
        if (nd > 1) {
            t[n++] = '.';
            memcpy(t + n, dig + 1, nd - 1);
            n += nd - 1;
        }
        n += (size_t)snprintf(t + n, sizeof t - n, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
    } else if (exp < 0) {
        t[n++] = '0';
        t[n++] = '.';
        for (int i = -1; i > exp; i--)
            t[n++] = '0';
        memcpy(t + n, dig, nd);
        n += nd;
    } else {
        for (size_t i = 0; i <= (size_t)exp || i < nd; i++) {
            if (i == (size_t)exp + 1)
                t[n++] = '.';
            t[n++] = i < nd ? dig[i] : '0';
        }
        if (point && nd <= (size_t)exp + 1) {
            t[n++] = '.';
            t[n++] = '0';
        }
    }
    t[n] = '\0';
    if (cap)
        snprintf(out, cap, "%s", t);
    return n;
}

size_t sheaf__format_double(double d, char *out, size_t cap) {
    if (isnan(d))
        return (size_t)snprintf(out, cap, "nan");
    if (isinf(d))
        return (size_t)snprintf(out, cap, d < 0 ? "-inf" : "inf");
    if (d == 0)
        return (size_t)snprintf(out, cap, "%s", signbit(d) ? "-0" : "0");
    /* as %.{15,16,17}g prints it: positional below 10^precision */
    char dig[24];
    int exp;
    size_t nd = sheaf__double_digits(d, dig, &exp);
    return sheaf__double_layout(d < 0, dig, nd, exp, nd > 15 ? (int)nd : 15, false, out, cap);
}
