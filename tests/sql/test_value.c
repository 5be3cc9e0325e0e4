/*
 * test_value.c: unit tests of sheaf sql's values (sql/value.c): text to typed value against
 * the C library's strtod and strtoll on random decimals and integers (the parser's fast paths
 * must give the same numbers), the edge cases of each type, dates both ways over four
 * centuries, doubles as text against printf and Python's repr, and the binary form reading
 * back what it wrote.
 */
#include "../unit/unit.h"

#include "sql/sql.h"

#include <math.h>

static void test_numbers_match_libc(void) {
    char buf[64];
    for (int i = 0; i < 1000000; i++) {
        uint64_t r = unit_rand64();
        int w = (int)(r % 7), n;
        static const int mod[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
        const char *sign = (r >> 8) % 3 ? "" : "-";
        long ip = (long)((r >> 16) % 100000000);
        if (w == 0)
            n = snprintf(buf, sizeof buf, "%s%ld.", sign, ip);
        else
            n = snprintf(buf, sizeof buf, "%s%ld.%0*d", sign, ip, w, (int)((r >> 44) % mod[w]));
        sql_value v;
        UNIT_ASSERT_EQUAL(sql_parse_as(SQL_DOUBLE, buf, (size_t)n, &v), 0);
        UNIT_ASSERT(v.u.d == strtod(buf, NULL));
        long long x = (long long)(unit_rand64() >> (r % 60));
        if (r & 1)
            x = -x;
        n = snprintf(buf, sizeof buf, "%lld", x);
        UNIT_ASSERT_EQUAL(sql_parse_as(SQL_INT, buf, (size_t)n, &v), 0);
        UNIT_ASSERT(v.u.i == x);
    }
}

static void test_edges(void) {
    static const struct {
        const char *text;
        int type, ok;
        double want; /* ints and doubles */
    } cases[] = {
        {"9223372036854775807", SQL_INT, 1, 9223372036854775807.0},
        {"-9223372036854775808", SQL_INT, 1, -9223372036854775808.0},
        {"9223372036854775808", SQL_INT, 0, 0},
        {"", SQL_INT, 0, 0},
        {"-", SQL_INT, 0, 0},
        {" 12 ", SQL_INT, 1, 12},
        {"1.5", SQL_INT, 0, 0},
        {"1e3", SQL_DOUBLE, 1, 1000},
        {".5", SQL_DOUBLE, 1, 0.5},
        {"5.", SQL_DOUBLE, 1, 5},
        {".", SQL_DOUBLE, 0, 0},
        {"1.2.3", SQL_DOUBLE, 0, 0},
        {"0x10", SQL_DOUBLE, 0, 0},
        {"123456789012345.6", SQL_DOUBLE, 1, 123456789012345.6},
        {"1234567890123456.7", SQL_DOUBLE, 1, 1234567890123456.7},
        {"true", SQL_BOOL, 1, 1},
        {"F", SQL_BOOL, 1, 0},
        {"yes", SQL_BOOL, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sql_value v;
        int rc = sql_parse_as(cases[i].type, cases[i].text, strlen(cases[i].text), &v);
        UNIT_ASSERT_EQUAL(rc == 0, cases[i].ok == 1);
        if (rc || !cases[i].ok)
            continue;
        double got = cases[i].type == SQL_INT ? (double)v.u.i
                     : cases[i].type == SQL_BOOL ? (double)v.u.b : v.u.d;
        UNIT_ASSERT(got == cases[i].want);
    }
}

static void test_dates(void) {
    /* every day from 1800 to 2200: civil -> days -> civil, consecutive, and the text form */
    int64_t prev = sql_days_from_civil(1799, 12, 31);
    UNIT_ASSERT_EQUAL(sql_days_from_civil(1970, 1, 1), 0);
    for (int64_t y = 1800; y <= 2200; y++) {
        for (unsigned m = 1; m <= 12; m++) {
            static const unsigned md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
            bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            for (unsigned d = 1; d <= md[m - 1] + (m == 2 && leap); d++) {
                int64_t z = sql_days_from_civil(y, m, d), yy;
                unsigned mm, dd;
                UNIT_ASSERT_EQUAL(z, prev + 1);
                prev = z;
                sql_civil_from_days(z, &yy, &mm, &dd);
                UNIT_ASSERT(yy == y && mm == m && dd == d);
            }
        }
    }
    sql_value v;
    UNIT_ASSERT_EQUAL(sql_parse_as(SQL_DATE, "2024-02-29", 10, &v), 0);
    UNIT_ASSERT_EQUAL(sql_parse_as(SQL_DATE, "2023-02-29", 10, &v), -1);
    UNIT_ASSERT_EQUAL(sql_parse_as(SQL_TS, "2024-02-29 23:59:59.5", 21, &v), 0);
    char buf[64];
    const char *p;
    size_t n = sql_format(&v, buf, sizeof buf, &p);
    UNIT_ASSERT(n == 21 && !memcmp(p, "2024-02-29 23:59:59.5", 21));
}

/* Doubles as text, as DuckDB writes them (and as Python's repr does): some cases, then random
 * doubles against printf: the fewest digits %.*e reads back with, laid out by %.*f from 1e-4
 * up to 1e16 (".0" on a whole number) and by %.*e elsewhere. */
static void test_double_text(void) {
    static const struct {
        double d;
        const char *text;
    } cases[] = {
        {3.0, "3.0"}, {0.0001, "0.0001"}, {1e-05, "1e-05"}, {1.5e16, "1.5e+16"},
        {-5e15, "-5000000000000000.0"}, {1e16, "1e+16"}, {9999999999999998.0, "9999999999999998.0"},
        {0.30000000000000004, "0.30000000000000004"}, {123456789012345680.0, "1.2345678901234568e+17"},
        {-2.5e-7, "-2.5e-07"}, {1.0 / 3, "0.3333333333333333"}, {9007199254740992.0, "9007199254740992.0"},
        {5e-324, "5e-324"}, {1.7976931348623157e308, "1.7976931348623157e+308"}, {100.0, "100.0"},
        {-0.5, "-0.5"}, {0.0, "0.0"}, {-0.0, "-0.0"}, {123.456, "123.456"}, {1e100, "1e+100"},
    };
    char buf[64], want[64];
    const char *p;
    sql_value v = {.type = SQL_DOUBLE};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        v.u.d = cases[i].d;
        size_t n = sql_format(&v, buf, sizeof buf, &p);
        UNIT_ASSERT_EQUAL(n, strlen(cases[i].text));
        UNIT_ASSERT_STRING_EQUAL(p, cases[i].text);
    }
    for (int i = 0; i < 300000; i++) {
        uint64_t u = unit_rand64();
        double d;
        if (i % 3 == 0)
            d = (double)(int64_t)(u % 2000001 - 1000000) / (double)(1 + (u >> 40) % 100000);
        else if (i % 3 == 1)
            d = (double)(int64_t)(u >> 11) * pow(10, (double)(int)(u % 41) - 30);
        else
            memcpy(&d, &u, 8);
        if (!isfinite(d) || d == 0)
            continue;
        int prec = 1;
        for (; prec < 17; prec++) {
            snprintf(want, sizeof want, "%.*e", prec - 1, d);
            if (strtod(want, NULL) == d)
                break;
        }
        snprintf(want, sizeof want, "%.*e", prec - 1, d);
        int exp = atoi(strchr(want, 'e') + 1);
        if (exp >= -4 && exp < 16)
            snprintf(want, sizeof want, "%.*f", prec - 1 - exp > 1 ? prec - 1 - exp : 1, d);
        v.u.d = d;
        size_t n = sql_format(&v, buf, sizeof buf, &p);
        UNIT_ASSERT_EQUAL(n, strlen(want));
        UNIT_ASSERT_STRING_EQUAL(p, want);
    }
}

static void test_binary_round_trip(void) {
    sql_value in[6], out;
    memset(in, 0, sizeof in);
    in[0].type = SQL_INT;
    in[0].u.i = INT64_MIN;
    in[1].type = SQL_DOUBLE;
    in[1].u.d = -0.1;
    in[2].type = SQL_STRING;
    in[2].u.s.p = "a,\"b\"";
    in[2].u.s.n = 5;
    in[3].type = SQL_STRING;
    in[3].null = true;
    in[4].type = SQL_DATE;
    in[4].u.i = -719468;
    in[5].type = SQL_BOOL;
    in[5].u.b = true;
    sj_buf b = {0};
    for (int i = 0; i < 6; i++)
        UNIT_ASSERT_EQUAL(sql_value_put(&b, &in[i]), 0);
    size_t off = 0;
    for (int i = 0; i < 6; i++) {
        size_t k = sql_value_get(b.p + off, b.len - off, &out);
        UNIT_ASSERT(k > 0);
        UNIT_ASSERT(out.type == in[i].type && out.null == in[i].null);
        UNIT_ASSERT_EQUAL(sql_compare(&out, &in[i]), 0);
        off += k;
    }
    UNIT_ASSERT_EQUAL(off, b.len);
    UNIT_ASSERT_EQUAL(sql_value_get(b.p, 1, &out), 0); /* cut short */
    sj_buf_free(&b);
}

int main(void) {
    static const unit_test tests[] = {
        {"numbers_match_libc", test_numbers_match_libc},
        {"edges", test_edges},
        {"dates", test_dates},
        {"double_text", test_double_text},
        {"binary_round_trip", test_binary_round_trip},
        {NULL, NULL},
    };
    return unit_main("sql_value", tests);
}
