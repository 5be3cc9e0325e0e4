/*
 * value.c: typed values of `sheaf sql`.
 *
 * A value is a type tag, a NULL flag and a payload (bool, int64, double, string bytes, days
 * or microseconds since the epoch). Strings made while evaluating a row live in a per-row
 * arena, freed all at once. Values travel between map, combine and reduce in a binary form
 * (type byte, null byte, payload: 8 bytes for numbers and dates, a 4-byte length and the
 * bytes for strings) that reads back exactly. Dates use the proleptic Gregorian calendar
 * (days_from_civil: the well-known era arithmetic on 400-year cycles).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jobs/jobs.h"
#include "number.h"
#include "parquet.h"
#include "sql/sql.h"

const char *sql_type_name(int type) {
    switch (type) {
    case SQL_NULL: return "NULL";
    case SQL_BOOL: return "BOOLEAN";
    case SQL_INT: return "BIGINT";
    case SQL_DOUBLE: return "DOUBLE";
    case SQL_STRING: return "VARCHAR";
    case SQL_DATE: return "DATE";
    case SQL_TS: return "TIMESTAMP";
    }
    return "?";
}

int sql_type_from_name(const char *name) {
    static const struct {
        const char *name;
        int type;
    } t[] = {{"bigint", SQL_INT},     {"int", SQL_INT},         {"integer", SQL_INT},
             {"int8", SQL_INT},       {"int64", SQL_INT},       {"long", SQL_INT},
             {"double", SQL_DOUBLE},  {"float", SQL_DOUBLE},    {"real", SQL_DOUBLE},
             {"float8", SQL_DOUBLE},  {"varchar", SQL_STRING},  {"text", SQL_STRING},
             {"string", SQL_STRING},  {"bool", SQL_BOOL},       {"boolean", SQL_BOOL},
             {"date", SQL_DATE},      {"timestamp", SQL_TS},    {"datetime", SQL_TS}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcasecmp(name, t[i].name))
            return t[i].type;
    return -1;
}

/* ---- arena ---------------------------------------------------------------------------------- */

struct sql_chunk {
    struct sql_chunk *next;
    size_t used, cap;
    char data[];
};

void *sql_arena_alloc(sql_arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    struct sql_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        struct sql_chunk *nc = malloc(sizeof *nc + cap);
        if (!nc)
            return NULL;
        nc->next = c;
        nc->used = 0;
        nc->cap = cap;
        a->head = c = nc;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

void sql_arena_reset(sql_arena *a) {
    /* keep the newest chunk, free the rest */
    struct sql_chunk *c = a->head;
    if (!c)
        return;
    struct sql_chunk *rest = c->next;
    c->next = NULL;
    c->used = 0;
    while (rest) {
        struct sql_chunk *n = rest->next;
        free(rest);
        rest = n;
    }
}

void sql_arena_free(sql_arena *a) {
    struct sql_chunk *c = a->head;
    while (c) {
        struct sql_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
}

/* ---- dates ---------------------------------------------------------------------------------- */

int64_t sql_days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void sql_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static bool leap(int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Reads n digits at *p (advancing it); -1 if they are not all digits. */
static long digits(const char **p, const char *end, int n) {
    long v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (*p >= end || !isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
    }
    return v;
}

/* YYYY-MM-DD at p; sets *days and returns the bytes read, or 0. */
static size_t parse_date(const char *p, const char *end, int64_t *days) {
    const char *s = p;
    long y = digits(&p, end, 4);
    if (y < 0 || p >= end || *p++ != '-')
        return 0;
    long m = digits(&p, end, 2);
    if (m < 1 || m > 12 || p >= end || *p++ != '-')
        return 0;
    long d = digits(&p, end, 2);
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (d < 1 || d > mdays[m - 1] + (m == 2 && leap(y)))
        return 0;
    *days = sql_days_from_civil(y, (unsigned)m, (unsigned)d);
    return (size_t)(p - s);
}

static size_t parse_ts(const char *p, const char *end, int64_t *us) {
    const char *s = p;
    int64_t days;
    size_t n = parse_date(p, end, &days);
    if (!n)
        return 0;
    p += n;
    int64_t t = 0;
    if (p < end && (*p == ' ' || *p == 'T')) {
        p++;
        long h = digits(&p, end, 2);
        if (h < 0 || h > 23 || p >= end || *p++ != ':')
            return 0;
        long mi = digits(&p, end, 2);
        if (mi < 0 || mi > 59 || p >= end || *p++ != ':')
            return 0;
        long se = digits(&p, end, 2);
        if (se < 0 || se > 59)
            return 0;
        t = ((int64_t)h * 3600 + mi * 60 + se) * 1000000;
        if (p < end && *p == '.') {
            p++;
            int64_t f = 0, scale = 100000;
            if (p >= end || !isdigit((unsigned char)*p))
                return 0;
            while (p < end && isdigit((unsigned char)*p)) {
                f += (*p - '0') * scale;
                scale /= 10;
                p++;
            }
            t += f;
        }
    }
    *us = days * 86400000000LL + t;
    return (size_t)(p - s);
}

int sql_parse_as(int type, const char *p, size_t n, sql_value *out) {
    const char *end = p + n;
    memset(out, 0, sizeof *out);
    out->type = (uint8_t)type;
    switch (type) {
    case SQL_STRING:
        out->u.s.p = p;
        out->u.s.n = n;
        return 0;
    case SQL_BOOL:
        while (p < end && isspace((unsigned char)*p))
            p++;
        while (end > p && isspace((unsigned char)end[-1]))
            end--;
        n = (size_t)(end - p);
        if ((n == 4 && !strncasecmp(p, "true", 4)) || (n == 1 && (*p == 't' || *p == 'T'))) {
            out->u.b = true;
            return 0;
        }
        if ((n == 5 && !strncasecmp(p, "false", 5)) || (n == 1 && (*p == 'f' || *p == 'F'))) {
            out->u.b = false;
            return 0;
        }
        return -1;
    case SQL_INT: {
        /* the common case first: [-]digits, no spaces, within range */
        const char *q = p;
        bool neg = q < end && *q == '-';
        q += neg || (q < end && *q == '+');
        if (q < end && (size_t)(end - q) <= 18) {
            int64_t v = 0;
            const char *d = q;
            while (d < end && *d >= '0' && *d <= '9')
                v = v * 10 + (*d++ - '0');
            if (d == end) {
                out->u.i = neg ? -v : v;
                return 0;
            }
        }
        char buf[32];
        while (p < end && isspace((unsigned char)*p))
            p++;
        while (end > p && isspace((unsigned char)end[-1]))
            end--;
        n = (size_t)(end - p);
        if (n == 0 || n >= sizeof buf)
            return -1;
        memcpy(buf, p, n);
        buf[n] = '\0';
        size_t i = buf[0] == '-' || buf[0] == '+';
        if (!buf[i])
            return -1;
        for (size_t j = i; buf[j]; j++)
            if (!isdigit((unsigned char)buf[j]))
                return -1;
        errno = 0;
        long long v = strtoll(buf, NULL, 10);
        if (errno)
            return -1;
        out->u.i = v;
        return 0;
    }
    case SQL_DOUBLE: {
        if (sheaf__plain_double(p, n, &out->u.d)) /* the common case (number.h) */
            return 0;
        char buf[64];
        while (p < end && isspace((unsigned char)*p))
            p++;
        while (end > p && isspace((unsigned char)end[-1]))
            end--;
        n = (size_t)(end - p);
        if (n == 0 || n >= sizeof buf)
            return -1;
        memcpy(buf, p, n);
        buf[n] = '\0';
        /* decimal numbers, inf and nan; not hexadecimal */
        for (size_t j = 0; j < n; j++)
            if (buf[j] == 'x' || buf[j] == 'X')
                return -1;
        char *e;
        out->u.d = strtod(buf, &e);
        return *e ? -1 : 0;
    }
    case SQL_DATE: {
        int64_t d;
        size_t k = parse_date(p, end, &d);
        if (!k || k != n)
            return -1;
        out->u.i = d;
        return 0;
    }
    case SQL_TS: {
        int64_t us;
        size_t k = parse_ts(p, end, &us);
        if (!k || k != n)
            return -1;
        out->u.i = us;
        return 0;
    }
    }
    return -1;
}

static size_t fmt_date(int64_t days, char *buf, size_t size) {
    int64_t y;
    unsigned m, d;
    sql_civil_from_days(days, &y, &m, &d);
    return (size_t)snprintf(buf, size, "%04lld-%02u-%02u", (long long)y, m, d);
}

/* A finite nonzero double as DuckDB writes it (and casts it to text): the fewest significant
 * digits that read back exactly (the runtime's, sheaf__double_digits), in positional form
 * from 1e-4 up to 1e16 (3.0 when whole, 0.0001), else in exponent form (1e-05, 1.5e+16). */
static size_t fmt_double(double d, char *buf, size_t size) {
    char dig[24];
    int exp;
    size_t nd = sheaf__double_digits(d, dig, &exp);
    return sheaf__double_layout(d < 0, dig, nd, exp, 16, true, buf, size);
}

size_t sql_format(const sql_value *v, char *buf, size_t size, const char **out) {
    *out = buf;
    if (v->null) {
        if (size)
            buf[0] = '\0';
        return 0;
    }
    switch (v->type) {
    case SQL_BOOL:
        return (size_t)snprintf(buf, size, "%s", v->u.b ? "true" : "false");
    case SQL_INT:
        return (size_t)snprintf(buf, size, "%lld", (long long)v->u.i);
    case SQL_DOUBLE:
        if (isnan(v->u.d))
            return (size_t)snprintf(buf, size, "nan");
        if (isinf(v->u.d))
            return (size_t)snprintf(buf, size, "%s", v->u.d < 0 ? "-inf" : "inf");
        if (v->u.d == 0)
            return (size_t)snprintf(buf, size, "%s", signbit(v->u.d) ? "-0.0" : "0.0");
        return fmt_double(v->u.d, buf, size);
    case SQL_STRING:
        *out = v->u.s.p;
        return v->u.s.n;
    case SQL_DATE:
        return fmt_date(v->u.i, buf, size);
    case SQL_TS: {
        int64_t us = v->u.i, days = us / 86400000000LL, rem = us % 86400000000LL;
        if (rem < 0) {
            rem += 86400000000LL;
            days--;
        }
        size_t n = fmt_date(days, buf, size);
        int64_t s = rem / 1000000, f = rem % 1000000;
        if (n < size)
            n += (size_t)snprintf(buf + n, size - n, " %02lld:%02lld:%02lld", (long long)(s / 3600),
                                  (long long)(s / 60 % 60), (long long)(s % 60));
        if (f && n < size) {
            char frac[8];
            snprintf(frac, sizeof frac, "%06lld", (long long)f);
            size_t k = 6;
            while (k > 1 && frac[k - 1] == '0')
                k--;
            n += (size_t)snprintf(buf + n, size - n, ".%.*s", (int)k, frac);
        }
        return n;
    }
    }
    if (size)
        buf[0] = '\0';
    return 0;
}

static bool numeric(int t) {
    return t == SQL_INT || t == SQL_DOUBLE;
}

static int cmp_double(double a, double b) {
    /* NaN sorts above every number, as in DuckDB */
    if (isnan(a) || isnan(b))
        return isnan(a) - isnan(b);
    return (a > b) - (a < b);
}

int sql_compare(const sql_value *a, const sql_value *b) {
    if (a->null || b->null)
        return (int)b->null - (int)a->null == 0 ? 0 : (a->null ? -1 : 1);
    if (a->type != b->type) {
        if (numeric(a->type) && numeric(b->type)) {
            if (a->type == SQL_INT) {
                /* exact: compare the integer with the double's range first */
                double d = b->u.d;
                if (isnan(d))
                    return -1;
                if (d >= 9223372036854775808.0)
                    return -1;
                if (d < -9223372036854775808.0)
                    return 1;
                double t = trunc(d);
                int64_t di = (int64_t)t;
                if (a->u.i != di)
                    return a->u.i < di ? -1 : 1;
                return t == d ? 0 : (d > t ? -1 : 1);
            }
            return -sql_compare(b, a);
        }
        if ((a->type == SQL_DATE && b->type == SQL_TS) || (a->type == SQL_TS && b->type == SQL_DATE)) {
            int64_t x = a->type == SQL_DATE ? a->u.i * 86400000000LL : a->u.i;
            int64_t y = b->type == SQL_DATE ? b->u.i * 86400000000LL : b->u.i;
            return (x > y) - (x < y);
        }
        return (a->type > b->type) - (a->type < b->type);
    }
    switch (a->type) {
    case SQL_BOOL:
        return (int)a->u.b - (int)b->u.b;
    case SQL_INT:
    case SQL_DATE:
    case SQL_TS:
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    case SQL_DOUBLE:
        return cmp_double(a->u.d, b->u.d);
    case SQL_STRING: {
        size_t n = a->u.s.n < b->u.s.n ? a->u.s.n : b->u.s.n;
        int c = n ? memcmp(a->u.s.p, b->u.s.p, n) : 0;
        if (c)
            return c < 0 ? -1 : 1;
        return (a->u.s.n > b->u.s.n) - (a->u.s.n < b->u.s.n);
    }
    }
    return 0;
}

bool sql_same(const sql_value *a, const sql_value *b) {
    return sql_compare(a, b) == 0;
}

int sql_value_put(sj_buf *b, const sql_value *v) {
    unsigned char h[2] = {v->type, v->null};
    if (sj_buf_add(b, h, 2))
        return -1;
    if (v->null)
        return 0;
    switch (v->type) {
    case SQL_BOOL:
        return sj_buf_addc(b, v->u.b ? 1 : 0) ? -1 : 0;
    case SQL_INT:
    case SQL_DATE:
    case SQL_TS:
        return sj_buf_add(b, &v->u.i, 8) ? -1 : 0;
    case SQL_DOUBLE:
        return sj_buf_add(b, &v->u.d, 8) ? -1 : 0;
    case SQL_STRING: {
        uint32_t n = (uint32_t)v->u.s.n;
        if (v->u.s.n > UINT32_MAX)
            return -1;
        if (sj_buf_add(b, &n, 4) || sj_buf_add(b, v->u.s.p, n))
            return -1;
        return 0;
    }
    }
    return 0;
}

int sql_key_put(sj_buf *b, const sql_value *v) {
    if (v->null || v->type != SQL_DOUBLE || (v->u.d != 0 && !isnan(v->u.d)))
        return sql_value_put(b, v);
    sql_value k = *v; /* -0.0 is 0.0, every NaN one NaN: equal keys, equal bytes */
    k.u.d = v->u.d == 0 ? 0.0 : NAN;
    return sql_value_put(b, &k);
}

size_t sql_value_get(const char *p, size_t n, sql_value *out) {
    if (n < 2)
        return 0;
    memset(out, 0, sizeof *out);
    out->type = (uint8_t)p[0];
    out->null = p[1] != 0;
    if (out->null)
        return 2;
    switch (out->type) {
    case SQL_BOOL:
        if (n < 3)
            return 0;
        out->u.b = p[2] != 0;
        return 3;
    case SQL_INT:
    case SQL_DATE:
    case SQL_TS:
        if (n < 10)
            return 0;
        memcpy(&out->u.i, p + 2, 8);
        return 10;
    case SQL_DOUBLE:
        if (n < 10)
            return 0;
        memcpy(&out->u.d, p + 2, 8);
        return 10;
    case SQL_STRING: {
        uint32_t len;
        if (n < 6)
            return 0;
        memcpy(&len, p + 2, 4);
        if (n - 6 < len)
            return 0;
        out->u.s.p = p + 6;
        out->u.s.n = len;
        return 6 + (size_t)len;
    }
    case SQL_NULL:
        out->null = true;
        return 2;
    }
    return 0;
}
