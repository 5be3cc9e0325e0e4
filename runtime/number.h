/*
 * number.h: the common case of reading a number from text without strtod or strtoll, for
 * every reader of numeric text (the runtime's schema casts, the jobs' fields, sheaf sql's
 * values), so that all of them take the same path to the same double.
 *
 * [+-]digits[.digits], whose digits (leading zeros aside) make an integer m up to 2^53 with at
 * most 22 after the point, is m / 10^k: both are exact doubles, so the one division rounds
 * correctly, to the double strtod returns (Clinger's fast path). Anything else (exponents,
 * spaces, more digits, inf and nan) is left to the C library.
 */
#ifndef SHEAF_NUMBER_H
#define SHEAF_NUMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Returns 1 (a number with a point: *dv), 2 (an integer: *iv and *dv), 3 (an integer of up to
 * 18 digits too wide for the exact double: *iv only) or 0 (not so plain: ask the C library). */
static inline int sheaf__plain_number(const char *p, size_t n, double *dv, int64_t *iv) {
    static const double pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    size_t i = 0;
    bool neg = false, dot = false, any = false;
    if (n && (p[0] == '-' || p[0] == '+'))
        neg = p[i++] == '-';
    uint64_t m = 0;
    int sig = 0, frac = 0;
    for (; i < n; i++) {
        char c = p[i];
        if (c >= '0' && c <= '9') {
            if ((m || c != '0') && ++sig > 18)
                return 0;
            m = m * 10 + (uint64_t)(c - '0');
            frac += dot;
            any = true;
        } else if (c == '.' && !dot) {
            dot = true;
        } else {
            return 0;
        }
    }
    if (!any)
        return 0;
    if (!dot)
        *iv = neg ? -(int64_t)m : (int64_t)m;
    if (m > ((uint64_t)1 << 53) || frac > 22)
        return dot ? 0 : 3;
    double v = (double)m / pow10[frac];
    *dv = neg ? -v : v;
    return dot ? 1 : 2;
}

/* A plain decimal as a double (what sheaf__plain_number reads as 1 or 2, in a tighter loop for
 * the readers of doubles): true and *d, else false. */
static inline bool sheaf__plain_double(const char *p, size_t n, double *d) {
    static const double pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *e = p + n;
    bool neg = false;
    if (p < e && (*p == '-' || *p == '+'))
        neg = *p++ == '-';
    uint64_t m = 0; /* wraps past 19 digits, which sig then refuses */
    int sig = 0, frac = -1, nd = 0;
    for (; p < e; p++) {
        unsigned c = (unsigned)(unsigned char)*p - '0';
        if (c < 10) {
            m = m * 10 + c;
            sig += m != 0;
            nd++;
            frac += frac >= 0;
        } else if (*p == '.' && frac < 0) {
            frac = 0;
        } else {
            return false;
        }
    }
    if (!nd || sig > 18 || m > ((uint64_t)1 << 53) || frac > 22)
        return false;
    double v = (double)m / pow10[frac > 0 ? frac : 0];
    *d = neg ? -v : v;
    return true;
}

#endif /* SHEAF_NUMBER_H */
