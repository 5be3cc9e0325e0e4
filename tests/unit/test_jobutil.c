/*
 * test_jobutil.c: unit tests of what the built-in jobs share (jobs/jobutil.c).
 *
 * sj_field_double reads plain decimals without strtod; every answer, accepted or not, and
 * every bit of every value, is checked against a reference that hands the trimmed field to
 * strtod as the function did before: random decimals of 1 to 25 digits with the point
 * anywhere, signs, padding, exponents, and the edge cases written out.
 */
#include "jobs.h"
#include "unit.h"

#include <math.h>

/* The reference: strtod over the field without its spaces (and a CR at the end), decimal
 * numbers only, finite. */
static int ref_field_double(const char *p, size_t n, double *out) {
    char all[128], *tmp = all;
    if (n >= sizeof all)
        return -1;
    memcpy(all, p, n);
    all[n] = '\0';
    tmp += strspn(tmp, " \t");
    size_t len = strlen(tmp);
    while (len > 0 && strchr(" \t\r", tmp[len - 1]))
        tmp[--len] = '\0';
    if (len == 0 || len > 63)
        return -1;
    char *end;
    double v = strtod(tmp, &end);
    if (*end || end == tmp || !isfinite(v) || strpbrk(tmp, "xX"))
        return -1;
    *out = v;
    return 0;
}

/* Both functions agree on the field: the same answer, and the same bits when accepted. */
static bool same_reading(const char *text) {
    double a = 0, b = 0;
    int ra = sj_field_double(text, strlen(text), &a);
    int rb = ref_field_double(text, strlen(text), &b);
    bool ok = ra == rb && (ra != 0 || memcmp(&a, &b, sizeof a) == 0);
    if (!ok)
        fprintf(stderr, "'%s': got %d %.17g, want %d %.17g\n", text, ra, a, rb, b);
    return ok;
}

static void test_field_double_cases(void) {
    static const char *const cases[] = {
        "0", "-0", "+0", "0.0", "-0.0", "1", "-1", "+1", "1.", ".5", "-.5", "+.5", ".", "-", "+",
        "+.", "", "  ", " 12.5 ", "\t7\r", "896.01", "0.1", "0.2", "0.3", "1.7976931348623157",
        "9007199254740992", "9007199254740993", "9007199254740991.5", "18446744073709551615",
        "99999999999999999999", "1234567890123456789", "12345678901234567890",
        "0.0000000000000000000001", "0.00000000000000000000001", "000000000000000000000000012.5",
        "1e5", "1E-3", "-2.5e10", "1e400", "inf", "-inf", "nan", "0x10", "1.2.3", "1-2", "12a",
        "a12", "1 2", "--1", "+-1", "1e", "4.35", "2.675", "0.1000000000000000055511151231257827",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        UNIT_ASSERT(same_reading(cases[i]));
}

static void test_field_double_random(void) {
    char text[64];
    for (int t = 0; t < 300000; t++) {
        size_t n = 0;
        unsigned form = (unsigned)unit_below(16);
        if (form & 1)
            text[n++] = unit_below(2) ? '-' : '+';
        size_t digits = 1 + (size_t)unit_below(25);
        size_t point = (size_t)unit_below(digits + 2); /* digits + 1: no point */
        for (size_t d = 0; d < digits; d++) {
            if (d == point)
                text[n++] = '.';
            /* runs of zeros and nines, the hard cases of rounding, as well as any digit */
            unsigned r = (unsigned)unit_below(10);
            text[n++] = (char)('0' + (form & 2 ? (r < 4 ? 0 : r < 8 ? 9 : r) : r));
        }
        if (point == digits)
            text[n++] = '.';
        if ((form & 12) == 12)
            n += (size_t)snprintf(text + n, sizeof text - n, "e%d", (int)unit_below(60) - 30);
        else if (form & 4)
            text[n++] = ' ';
        text[n] = '\0';
        UNIT_ASSERT(same_reading(text));
    }
}

int main(void) {
    static const unit_test tests[] = {
        {"field_double_cases", test_field_double_cases},
        {"field_double_random", test_field_double_random},
        {NULL, NULL},
    };
    return unit_main("jobutil", tests);
}
