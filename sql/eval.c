/*
 * eval.c: evaluates bound expressions over one row, and the aggregates' partial states.
 *
 * NULL rules are SQL's: an operator or function with a NULL operand gives NULL (except
 * IS [NOT] NULL, COALESCE, concat() which skips NULLs, and CASE); AND and OR use
 * three-valued logic (false AND NULL is false, true OR NULL is true); x IN (list) is NULL
 * when x is NULL, or when no element equals x and one is NULL; WHERE and HAVING keep a row
 * only when the condition is true. Integer +, -, *, unary minus and abs fail on overflow;
 * / is a double division (x / 0 is an infinity or NaN, as IEEE and DuckDB give), while
 * // and % on integers give NULL for a zero divisor; on doubles // is / but NULL for a zero
 * divisor, and % is fmod (NaN for a zero divisor), as DuckDB gives them. Casts from text
 * fail on a value that does not parse; a double cast to an integer rounds half to even
 * (a literal such as 2.5, DuckDB's DECIMAL, half away from zero) and fails out of range. String functions count UTF-8 characters; lower and upper change ASCII letters.
 *
 * An expression the binder matched to a GROUP BY key reads the key's value, and an aggregate
 * call reads its finished result: that is how SELECT, HAVING and ORDER BY are evaluated after
 * aggregation with the same code.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sql.h"

static int fail(sql_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(sql_env *env, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(env->err, env->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static void set_null(sql_value *v, int type) {
    memset(v, 0, sizeof *v);
    v->type = (uint8_t)type;
    v->null = true;
}

static void set_int(sql_value *v, int64_t i) {
    memset(v, 0, sizeof *v);
    v->type = SQL_INT;
    v->u.i = i;
}

static void set_double(sql_value *v, double d) {
    memset(v, 0, sizeof *v);
    v->type = SQL_DOUBLE;
    v->u.d = d;
}

static void set_bool(sql_value *v, bool b) {
    memset(v, 0, sizeof *v);
    v->type = SQL_BOOL;
    v->u.b = b;
}

bool sql_truthy(const sql_value *v) {
    return !v->null && v->type == SQL_BOOL && v->u.b;
}

static double as_double(const sql_value *v) {
    return v->type == SQL_INT ? (double)v->u.i : v->u.d;
}

/* A copy of [p, p+n) in the arena. */
static char *dup_arena(sql_env *env, const char *p, size_t n) {
    char *s = sql_arena_alloc(env->arena, n + 1);
    if (s) {
        if (n)
            memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* Value as text (for ||, concat and casts), in the arena. */
static int to_text(sql_env *env, const sql_value *v, const char **p, size_t *n) {
    char buf[64];
    const char *out;
    size_t len = sql_format(v, buf, sizeof buf, &out);
    if (out != buf) {
        *p = out;
        *n = len;
        return 0;
    }
    char *s = dup_arena(env, buf, len);
    if (!s)
        return fail(env, "out of memory");
    *p = s;
    *n = len;
    return 0;
}

/* Rounds half away from zero, DuckDB's rule for round() and for a DECIMAL cast to an integer. */
static double round_away(double d) {
    return d < 0 ? -floor(-d + 0.5) : floor(d + 0.5);
}

/* Whether n is a number literal with a point and no exponent (2.5, -0.5): DuckDB reads it as
 * a DECIMAL, which a cast to an integer rounds half away from zero; a DOUBLE (a column, a
 * computed value, 2.5e0) rounds half to even there. */
static bool decimal_literal(const sql_node *n) {
    return n->kind == N_LIT && n->val.type == SQL_DOUBLE && n->str && !strpbrk(n->str, "eE");
}

/* Text that is not an integer cast to one, as DuckDB casts it: a decimal with a point or an
 * exponent (2.5, -0.5, .5, 2., 1e2, 1.5e0; spaces around), rounded half away from zero, in
 * exact decimal arithmetic. Returns 0, or -1 when it is no such number or is out of range. */
static int text_decimal_to_int(const char *p, size_t n, int64_t *out) {
    const char *end = p + n;
    while (p < end && isspace((unsigned char)*p))
        p++;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    bool neg = p < end && *p == '-';
    p += p < end && (*p == '-' || *p == '+');
    const char *dig = p; /* the mantissa's digits, the point skipped when read */
    size_t nd = 0, intlen = 0;
    bool point = false;
    for (; p < end && ((*p >= '0' && *p <= '9') || (*p == '.' && !point)); p++) {
        if (*p == '.')
            point = true;
        else if (++nd && !point)
            intlen++;
    }
    const char *mend = p;
    long exp = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = p < end && *p == '-';
        p += p < end && (*p == '-' || *p == '+');
        if (p == end)
            return -1;
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if (exp < 100000)
                exp = exp * 10 + (*p - '0');
        exp = eneg ? -exp : exp;
    }
    if (nd == 0 || p != end)
        return -1;
    /* the k digits before the point once the exponent moved it, then the rounding digit */
    long k = (long)intlen + exp;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
    long i = 0;
    int round = 0;
    for (const char *q = dig; q < mend; q++) {
        if (*q == '.')
            continue;
        if (i < k) {
            if (v > (limit - (uint64_t)(*q - '0')) / 10)
                return -1;
            v = v * 10 + (uint64_t)(*q - '0');
        } else if (i == k) {
            round = *q - '0';
        }
        i++;
    }
    for (; i < k; i++) { /* zeros the exponent adds */
        if (v > limit / 10)
            return -1;
        v *= 10;
    }
    if (round >= 5) {
        if (v == limit)
            return -1;
        v++;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* Converts v (in place) to type t. Returns 0 or -1 (error set). */
static int cast_value(sql_env *env, sql_value *v, int t) {
    if (v->type == t || t == SQL_NULL)
        return 0;
    if (v->null) {
        set_null(v, t);
        return 0;
    }
    sql_value r;
    memset(&r, 0, sizeof r);
    r.type = (uint8_t)t;
    switch (t) {
    case SQL_STRING: {
        const char *p;
        size_t n;
        if (to_text(env, v, &p, &n))
            return -1;
        r.u.s.p = p;
        r.u.s.n = n;
        break;
    }
    case SQL_INT:
        if (v->type == SQL_DOUBLE) {
            double d = nearbyint(v->u.d); /* half to even (the default rounding mode) */
            if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
                return fail(env, "cannot cast %g to BIGINT: out of range", v->u.d);
            r.u.i = (int64_t)d;
        } else if (v->type == SQL_BOOL) {
            r.u.i = v->u.b;
        } else if (v->type == SQL_STRING) {
            if (sql_parse_as(SQL_INT, v->u.s.p, v->u.s.n, &r) &&
                text_decimal_to_int(v->u.s.p, v->u.s.n, &r.u.i))
                return fail(env, "could not convert string '%.*s' to BIGINT",
                            (int)(v->u.s.n > 100 ? 100 : v->u.s.n), v->u.s.p);
        } else {
            return fail(env, "cannot cast %s to BIGINT", sql_type_name(v->type));
        }
        break;
    case SQL_DOUBLE:
        if (v->type == SQL_INT)
            r.u.d = (double)v->u.i;
        else if (v->type == SQL_BOOL)
            r.u.d = v->u.b;
        else if (v->type == SQL_STRING) {
            if (sql_parse_as(SQL_DOUBLE, v->u.s.p, v->u.s.n, &r))
                return fail(env, "could not convert string '%.*s' to DOUBLE",
                            (int)(v->u.s.n > 100 ? 100 : v->u.s.n), v->u.s.p);
        } else {
            return fail(env, "cannot cast %s to DOUBLE", sql_type_name(v->type));
        }
        break;
    case SQL_BOOL:
        if (v->type == SQL_INT)
            r.u.b = v->u.i != 0;
        else if (v->type == SQL_DOUBLE)
            r.u.b = v->u.d != 0;
        else if (v->type == SQL_STRING) {
            if (sql_parse_as(SQL_BOOL, v->u.s.p, v->u.s.n, &r))
                return fail(env, "could not convert string '%.*s' to BOOLEAN",
                            (int)(v->u.s.n > 100 ? 100 : v->u.s.n), v->u.s.p);
        } else {
            return fail(env, "cannot cast %s to BOOLEAN", sql_type_name(v->type));
        }
        break;
    case SQL_DATE:
        if (v->type == SQL_TS) {
            int64_t us = v->u.i;
            r.u.i = us / 86400000000LL - (us % 86400000000LL < 0);
        } else if (v->type == SQL_STRING) {
            const char *p = v->u.s.p;
            size_t n = v->u.s.n;
            if (sql_parse_as(SQL_DATE, p, n, &r)) {
                sql_value ts;
                if (sql_parse_as(SQL_TS, p, n, &ts))
                    return fail(env, "could not convert string '%.*s' to DATE",
                                (int)(n > 100 ? 100 : n), p);
                r.u.i = ts.u.i / 86400000000LL - (ts.u.i % 86400000000LL < 0);
                r.type = SQL_DATE;
            }
        } else {
            return fail(env, "cannot cast %s to DATE", sql_type_name(v->type));
        }
        break;
    case SQL_TS:
        if (v->type == SQL_DATE)
            r.u.i = v->u.i * 86400000000LL;
        else if (v->type == SQL_STRING) {
            if (sql_parse_as(SQL_TS, v->u.s.p, v->u.s.n, &r))
                return fail(env, "could not convert string '%.*s' to TIMESTAMP",
                            (int)(v->u.s.n > 100 ? 100 : v->u.s.n), v->u.s.p);
        } else {
            return fail(env, "cannot cast %s to TIMESTAMP", sql_type_name(v->type));
        }
        break;
    default:
        return fail(env, "cannot cast to %s", sql_type_name(t));
    }
    *v = r;
    return 0;
}

/* ---- UTF-8 ---------------------------------------------------------------------------------- */

static size_t utf8_len(const char *p, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)p[i] & 0xC0) != 0x80;
    return c;
}

/* Byte offset of character k (from 0) in [p, p+n), or n. */
static size_t utf8_off(const char *p, size_t n, size_t k) {
    size_t i = 0;
    while (i < n && k) {
        i++;
        while (i < n && ((unsigned char)p[i] & 0xC0) == 0x80)
            i++;
        k--;
    }
    return i;
}

static size_t utf8_next(const char *p, size_t n, size_t i) {
    i++;
    while (i < n && ((unsigned char)p[i] & 0xC0) == 0x80)
        i++;
    return i;
}

/* LIKE: % any run, _ one character, no escape character. */
static bool like(const char *s, size_t n, const char *p, size_t m) {
    size_t si = 0, pi = 0, star_p = (size_t)-1, star_s = 0;
    while (si < n) {
        if (pi < m && p[pi] == '%') {
            star_p = ++pi;
            star_s = si;
        } else if (pi < m && p[pi] == '_') {
            pi++;
            si = utf8_next(s, n, si);
        } else if (pi < m && p[pi] == s[si]) {
            pi++;
            si++;
        } else if (star_p != (size_t)-1) {
            pi = star_p;
            star_s = utf8_next(s, n, star_s);
            si = star_s;
        } else {
            return false;
        }
    }
    while (pi < m && p[pi] == '%')
        pi++;
    return pi == m;
}

/* ---- the evaluator -------------------------------------------------------------------------- */

static int arith(sql_env *env, const sql_node *n, sql_value *a, sql_value *b, sql_value *out) {
    int op = n->op;
    if (a->null || b->null) {
        set_null(out, n->type);
        return 0;
    }
    if (n->type == SQL_DATE) { /* date +- int */
        int64_t d = a->type == SQL_DATE ? a->u.i : b->u.i, k = a->type == SQL_DATE ? b->u.i : a->u.i;
        memset(out, 0, sizeof *out);
        out->type = SQL_DATE;
        if (op == OP_SUB)
            k = -k;
        if (__builtin_add_overflow(d, k, &out->u.i))
            return fail(env, "date out of range");
        return 0;
    }
    if (a->type == SQL_DATE && b->type == SQL_DATE) {
        set_int(out, a->u.i - b->u.i);
        return 0;
    }
    if (n->type == SQL_INT && a->type == SQL_INT && b->type == SQL_INT) {
        int64_t x = a->u.i, y = b->u.i, r = 0;
        bool ovf = false;
        const char *what = "";
        switch (op) {
        case OP_ADD: ovf = __builtin_add_overflow(x, y, &r); what = "addition"; break;
        case OP_SUB: ovf = __builtin_sub_overflow(x, y, &r); what = "subtraction"; break;
        case OP_MUL: ovf = __builtin_mul_overflow(x, y, &r); what = "multiplication"; break;
        case OP_IDIV:
            if (y == 0) {
                set_null(out, SQL_INT);
                return 0;
            }
            if (x == INT64_MIN && y == -1) {
                ovf = true;
                what = "division";
            } else {
                r = x / y;
            }
            break;
        case OP_MOD:
            if (y == 0) {
                set_null(out, SQL_INT);
                return 0;
            }
            r = y == -1 ? 0 : x % y;
            break;
        }
        if (ovf)
            return fail(env, "overflow in %s of BIGINT (%lld %s %lld)", what, (long long)x,
                        op == OP_ADD ? "+" : op == OP_SUB ? "-" : op == OP_MUL ? "*" : "//",
                        (long long)y);
        set_int(out, r);
        return 0;
    }
    double x = as_double(a), y = as_double(b), r = 0;
    switch (op) {
    case OP_ADD: r = x + y; break;
    case OP_SUB: r = x - y; break;
    case OP_MUL: r = x * y; break;
    case OP_DIV: r = x / y; break;
    case OP_IDIV: /* DuckDB's: / on doubles, but NULL for a zero divisor */
        if (y == 0) {
            set_null(out, SQL_DOUBLE);
            return 0;
        }
        r = x / y;
        break;
    case OP_MOD: r = fmod(x, y); break; /* NaN for a zero divisor, as DuckDB's */
    }
    set_double(out, r);
    return 0;
}

static int cmp_op(int op, int c) {
    switch (op) {
    case OP_EQ: return c == 0;
    case OP_NE: return c != 0;
    case OP_LT: return c < 0;
    case OP_LE: return c <= 0;
    case OP_GT: return c > 0;
    default: return c >= 0;
    }
}

static int eval_func(const sql_node *n, sql_env *env, sql_value *out) {
    sql_value a[3];
    if (n->fn == F_COALESCE) {
        for (size_t i = 0; i < n->nkids; i++) {
            if (sql_eval(n->kids[i], env, out))
                return -1;
            if (!out->null)
                return cast_value(env, out, n->type);
        }
        set_null(out, n->type);
        return 0;
    }
    if (n->fn == F_CONCAT) {
        sj_buf tmp = {0};
        for (size_t i = 0; i < n->nkids; i++) {
            sql_value v;
            const char *p;
            size_t len;
            if (sql_eval(n->kids[i], env, &v)) {
                sj_buf_free(&tmp);
                return -1;
            }
            if (v.null)
                continue;
            if (to_text(env, &v, &p, &len) || sj_buf_add(&tmp, p, len)) {
                sj_buf_free(&tmp);
                return -1;
            }
        }
        memset(out, 0, sizeof *out);
        out->type = SQL_STRING;
        out->u.s.p = dup_arena(env, tmp.p ? tmp.p : "", tmp.len);
        out->u.s.n = tmp.len;
        sj_buf_free(&tmp);
        return out->u.s.p ? 0 : fail(env, "out of memory");
    }
    for (size_t i = 0; i < n->nkids && i < 3; i++) {
        if (sql_eval(n->kids[i], env, &a[i]))
            return -1;
        if (a[i].null) {
            set_null(out, n->type);
            return 0;
        }
    }
    memset(out, 0, sizeof *out);
    out->type = (uint8_t)n->type;
    switch (n->fn) {
    case F_LOWER:
    case F_UPPER: {
        char *s = dup_arena(env, a[0].u.s.p, a[0].u.s.n);
        if (!s)
            return fail(env, "out of memory");
        size_t len = a[0].u.s.n;
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)s[i];
            if (!(c & 0x80)) {
                s[i] = (char)(n->fn == F_LOWER ? tolower(c) : toupper(c));
            } else if (c == 0xC3 && i + 1 < len) {
                /* Latin-1 letters U+00C0-U+00DE and U+00E0-U+00FE differ by 0x20 (but for
                 * the multiplication and division signs) */
                unsigned char d = (unsigned char)s[i + 1];
                if (n->fn == F_LOWER && d >= 0x80 && d <= 0x9E && d != 0x97)
                    s[i + 1] = (char)(d + 0x20);
                else if (n->fn == F_UPPER && d >= 0xA0 && d <= 0xBE && d != 0xB7)
                    s[i + 1] = (char)(d - 0x20);
                i++;
            }
        }
        out->u.s.p = s;
        out->u.s.n = len;
        return 0;
    }
    case F_TRIM:
    case F_LTRIM:
    case F_RTRIM: {
        const char *p = a[0].u.s.p, *e = p + a[0].u.s.n;
        if (n->fn != F_RTRIM)
            while (p < e && *p == ' ')
                p++;
        if (n->fn != F_LTRIM)
            while (e > p && e[-1] == ' ')
                e--;
        out->u.s.p = p;
        out->u.s.n = (size_t)(e - p);
        return 0;
    }
    case F_LENGTH:
        out->u.i = (int64_t)utf8_len(a[0].u.s.p, a[0].u.s.n);
        return 0;
    case F_SUBSTR: {
        const char *p = a[0].u.s.p;
        size_t blen = a[0].u.s.n;
        int64_t len = (int64_t)utf8_len(p, blen), start = a[1].u.i, cnt;
        if (start < 0)
            start = len + start + 1;
        int64_t from = start, to;
        if (n->nkids == 3) {
            cnt = a[2].u.i;
            /* Saturating: a start or count near the int64 bounds selects nothing or all. */
            if (cnt < 0) {
                to = from;
                if (__builtin_add_overflow(from, cnt, &from))
                    from = INT64_MIN;
            } else if (__builtin_add_overflow(from, cnt, &to)) {
                to = INT64_MAX;
            }
        } else {
            to = INT64_MAX;
        }
        if (from < 1)
            from = 1;
        if (to > len + 1)
            to = len + 1;
        if (to <= from) {
            out->u.s.p = p;
            out->u.s.n = 0;
            return 0;
        }
        size_t b0 = utf8_off(p, blen, (size_t)(from - 1));
        size_t b1 = utf8_off(p, blen, (size_t)(to - 1));
        out->u.s.p = p + b0;
        out->u.s.n = b1 - b0;
        return 0;
    }
    case F_YEAR:
    case F_MONTH:
    case F_DAY: {
        int64_t days = a[0].type == SQL_TS
                           ? a[0].u.i / 86400000000LL - (a[0].u.i % 86400000000LL < 0)
                           : a[0].u.i, y;
        unsigned m, d;
        sql_civil_from_days(days, &y, &m, &d);
        out->u.i = n->fn == F_YEAR ? y : n->fn == F_MONTH ? (int64_t)m : (int64_t)d;
        return 0;
    }
    case F_DATE_TRUNC: {
        int part = n->kids[0]->colidx;
        int64_t us = a[1].type == SQL_DATE ? a[1].u.i * 86400000000LL : a[1].u.i;
        int64_t days = us / 86400000000LL - (us % 86400000000LL < 0);
        int64_t tod = us - days * 86400000000LL, y;
        unsigned m, d;
        sql_civil_from_days(days, &y, &m, &d);
        switch (part) {
        case 0: days = sql_days_from_civil(y, 1, 1); tod = 0; break;
        case 1: days = sql_days_from_civil(y, (m - 1) / 3 * 3 + 1, 1); tod = 0; break;
        case 2: days = sql_days_from_civil(y, m, 1); tod = 0; break;
        case 3: { /* ISO week: back to Monday; 1970-01-01 was a Thursday */
            int64_t wd = ((days % 7) + 7 + 3) % 7;
            days -= wd;
            tod = 0;
            break;
        }
        case 4: tod = 0; break;
        case 5: tod -= tod % 3600000000LL; break;
        case 6: tod -= tod % 60000000LL; break;
        default: tod -= tod % 1000000LL; break;
        }
        out->u.i = days * 86400000000LL + tod;
        return 0;
    }
    case F_ABS:
        if (a[0].type == SQL_INT) {
            if (a[0].u.i == INT64_MIN)
                return fail(env, "overflow in abs of BIGINT (%lld)", (long long)a[0].u.i);
            out->u.i = a[0].u.i < 0 ? -a[0].u.i : a[0].u.i;
        } else {
            out->u.d = fabs(a[0].u.d);
        }
        return 0;
    case F_ROUND: {
        int64_t digits = n->nkids == 2 ? a[1].u.i : 0;
        if (a[0].type == SQL_INT) {
            out->u.i = a[0].u.i; /* digits < 0 on integers: not supported, kept */
            return 0;
        }
        double s = pow(10.0, (double)digits), x = a[0].u.d;
        double r = round_away(x * s) / s;
        out->u.d = isfinite(r) ? r : x;
        return 0;
    }
    }
    return fail(env, "unknown function");
}

int sql_eval(const sql_node *n, sql_env *env, sql_value *out) {
    if (n->groupidx >= 0 && env->group) {
        *out = env->group[n->groupidx];
        return 0;
    }
    if (n->aggidx >= 0) {
        *out = env->aggs[n->aggidx];
        return cast_value(env, out, n->type);
    }
    if (n->folded) {
        *out = n->fval;
        return 0;
    }
    switch (n->kind) {
    case N_LIT:
        *out = n->val;
        if (out->type == SQL_NULL)
            out->null = true;
        return 0;
    case N_COL:
        *out = env->row[n->colidx];
        return 0;
    case N_UNOP: {
        sql_value a;
        if (sql_eval(n->kids[0], env, &a))
            return -1;
        if (a.null) {
            set_null(out, n->type);
            return 0;
        }
        if (n->op == OP_NOT)
            set_bool(out, !a.u.b);
        else if (a.type == SQL_INT) {
            if (a.u.i == INT64_MIN)
                return fail(env, "overflow in negation of BIGINT (%lld)", (long long)a.u.i);
            set_int(out, -a.u.i);
        } else
            set_double(out, -a.u.d);
        return 0;
    }
    case N_BINOP: {
        sql_value a, b;
        if (sql_eval(n->kids[0], env, &a))
            return -1;
        if (n->op == OP_AND || n->op == OP_OR) {
            bool stop = n->op == OP_OR; /* the value that decides alone */
            if (!a.null && a.u.b == stop) {
                set_bool(out, stop);
                return 0;
            }
            if (sql_eval(n->kids[1], env, &b))
                return -1;
            if (!b.null && b.u.b == stop)
                set_bool(out, stop);
            else if (a.null || b.null)
                set_null(out, SQL_BOOL);
            else
                set_bool(out, !stop);
            return 0;
        }
        if (sql_eval(n->kids[1], env, &b))
            return -1;
        if (n->op >= OP_EQ && n->op <= OP_GE) {
            if (a.null || b.null)
                set_null(out, SQL_BOOL);
            else
                set_bool(out, cmp_op(n->op, sql_compare(&a, &b)));
            return 0;
        }
        if (n->op == OP_CONCAT) {
            if (a.null || b.null) {
                set_null(out, SQL_STRING);
                return 0;
            }
            const char *p, *q;
            size_t pn, qn;
            if (to_text(env, &a, &p, &pn) || to_text(env, &b, &q, &qn))
                return -1;
            char *s = sql_arena_alloc(env->arena, pn + qn + 1);
            if (!s)
                return fail(env, "out of memory");
            memcpy(s, p, pn);
            memcpy(s + pn, q, qn);
            memset(out, 0, sizeof *out);
            out->type = SQL_STRING;
            out->u.s.p = s;
            out->u.s.n = pn + qn;
            return 0;
        }
        return arith(env, n, &a, &b, out);
    }
    case N_ISNULL: {
        sql_value a;
        if (sql_eval(n->kids[0], env, &a))
            return -1;
        set_bool(out, a.null != n->neg);
        return 0;
    }
    case N_LIKE: {
        sql_value a, b;
        if (sql_eval(n->kids[0], env, &a) || sql_eval(n->kids[1], env, &b))
            return -1;
        if (a.null || b.null)
            set_null(out, SQL_BOOL);
        else
            set_bool(out, like(a.u.s.p, a.u.s.n, b.u.s.p, b.u.s.n) != n->neg);
        return 0;
    }
    case N_IN: {
        sql_value a, b;
        if (sql_eval(n->kids[0], env, &a))
            return -1;
        if (a.null) {
            set_null(out, SQL_BOOL);
            return 0;
        }
        bool sawnull = false;
        for (size_t i = 1; i < n->nkids; i++) {
            if (sql_eval(n->kids[i], env, &b))
                return -1;
            if (b.null)
                sawnull = true;
            else if (sql_compare(&a, &b) == 0) {
                set_bool(out, !n->neg);
                return 0;
            }
        }
        if (sawnull)
            set_null(out, SQL_BOOL);
        else
            set_bool(out, n->neg);
        return 0;
    }
    case N_BETWEEN: {
        sql_value a, lo, hi;
        if (sql_eval(n->kids[0], env, &a) || sql_eval(n->kids[1], env, &lo) ||
            sql_eval(n->kids[2], env, &hi))
            return -1;
        /* a >= lo AND a <= hi, in three-valued logic */
        int r1 = a.null || lo.null ? -1 : sql_compare(&a, &lo) >= 0;
        int r2 = a.null || hi.null ? -1 : sql_compare(&a, &hi) <= 0;
        int r = r1 == 0 || r2 == 0 ? 0 : (r1 < 0 || r2 < 0) ? -1 : 1;
        if (r < 0)
            set_null(out, SQL_BOOL);
        else
            set_bool(out, (r == 1) != n->neg);
        return 0;
    }
    case N_CASE: {
        size_t i = 0;
        sql_value op, w;
        if (n->case_operand) {
            if (sql_eval(n->kids[0], env, &op))
                return -1;
            i = 1;
        }
        for (; i + 1 < n->nkids; i += 2) {
            if (sql_eval(n->kids[i], env, &w))
                return -1;
            bool hit = n->case_operand ? !op.null && !w.null && sql_compare(&op, &w) == 0
                                       : sql_truthy(&w);
            if (hit) {
                if (sql_eval(n->kids[i + 1], env, out))
                    return -1;
                return cast_value(env, out, n->type);
            }
        }
        if (n->kids[n->nkids - 1]) {
            if (sql_eval(n->kids[n->nkids - 1], env, out))
                return -1;
            return cast_value(env, out, n->type);
        }
        set_null(out, n->type);
        return 0;
    }
    case N_CAST:
        if (sql_eval(n->kids[0], env, out))
            return -1;
        if (n->cast_type == SQL_INT && !out->null && decimal_literal(n->kids[0]))
            out->u.d = round_away(out->u.d);
        return cast_value(env, out, n->cast_type);
    case N_FUNC:
        return eval_func(n, env, out);
    }
    return fail(env, "cannot evaluate this expression");
}

/* ---- aggregates ------------------------------------------------------------------------------ */

static int arg_type(const sql_node *a) {
    return a->nkids ? a->kids[0]->type : SQL_NULL;
}


int sql_acc_add(const sql_node *a, sql_acc *acc, const sql_value *v) {
    switch (a->fn) {
    case A_COUNT_STAR:
        acc->count++;
        return 0;
    case A_COUNT:
        acc->count += !v->null;
        return 0;
    case A_SUM:
    case A_AVG:
        if (v->null)
            return 0;
        acc->has = true;
        acc->count++;
        if (arg_type(a) == SQL_INT || arg_type(a) == SQL_NULL)
            acc->wide += v->u.i;
        else
            acc->dsum += v->u.d;
        return 0;
    case A_MIN:
    case A_MAX: {
        if (v->null)
            return 0;
        int c = acc->best.null ? 1 : sql_compare(v, &acc->best);
        if (acc->best.null || (a->fn == A_MIN ? c < 0 : c > 0)) {
            acc->own.len = 0;
            if (sql_value_put(&acc->own, v))
                return -1;
            sql_value_get(acc->own.p, acc->own.len, &acc->best);
        }
        return 0;
    }
    default:
        if (v->null)
            return 0;
        if (sql_value_put(&acc->list, v))
            return -1;
        acc->nlist++;
        return 0;
    }
}

void sql_acc_init(sql_acc *acc) {
    memset(acc, 0, sizeof *acc);
    acc->best.null = true;
}

void sql_acc_free(sql_acc *acc) {
    sj_buf_free(&acc->own);
    sj_buf_free(&acc->list);
}

static size_t merr(char *err, size_t errlen, const char *msg) {
    snprintf(err, errlen, "%s", msg);
    return (size_t)-1;
}

size_t sql_acc_merge(const sql_node *a, sql_acc *acc, const char *p, size_t n, char *err,
                     size_t errlen) {
    switch (a->fn) {
    case A_COUNT_STAR:
    case A_COUNT: {
        int64_t c;
        if (n < 8)
            return 0;
        memcpy(&c, p, 8);
        acc->count += c;
        return 8;
    }
    case A_SUM: {
        size_t sz = arg_type(a) == SQL_INT || arg_type(a) == SQL_NULL ? 17 : 9;
        if (n < sz)
            return 0;
        if (!p[0])
            return sz;
        if (arg_type(a) == SQL_INT || arg_type(a) == SQL_NULL) {
            __int128 w;
            memcpy(&w, p + 1, sizeof w);
            acc->wide += w;
        } else {
            double d;
            memcpy(&d, p + 1, 8);
            acc->dsum += d;
        }
        acc->has = true;
        return sz;
    }
    case A_AVG: {
        int64_t c;
        if (n < 8)
            return 0;
        memcpy(&c, p, 8);
        acc->count += c;
        if (arg_type(a) == SQL_INT || arg_type(a) == SQL_NULL) {
            __int128 w;
            if (n < 8 + sizeof w)
                return 0;
            memcpy(&w, p + 8, sizeof w);
            acc->wide += w;
            return 8 + sizeof w;
        }
        double d;
        if (n < 16)
            return 0;
        memcpy(&d, p + 8, 8);
        acc->dsum += d;
        return 16;
    }
    case A_MIN:
    case A_MAX: {
        sql_value v;
        size_t k = sql_value_get(p, n, &v);
        if (!k)
            return 0;
        if (!v.null) {
            int c = acc->best.null ? 1 : sql_compare(&v, &acc->best);
            if (acc->best.null || (a->fn == A_MIN ? c < 0 : c > 0)) {
                acc->own.len = 0;
                if (sql_value_put(&acc->own, &v))
                    return merr(err, errlen, "out of memory");
                sql_value_get(acc->own.p, acc->own.len, &acc->best);
            }
        }
        return k;
    }
    default: {
        uint32_t c;
        if (n < 4)
            return 0;
        memcpy(&c, p, 4);
        size_t off = 4;
        for (uint32_t i = 0; i < c; i++) {
            sql_value v;
            size_t k = sql_value_get(p + off, n - off, &v);
            if (!k)
                return 0;
            off += k;
        }
        if (sj_buf_add(&acc->list, p + 4, off - 4))
            return merr(err, errlen, "out of memory");
        acc->nlist += c;
        return off;
    }
    }
}

/* The listed values of acc, parsed, sorted; for count(DISTINCT) also deduplicated. */
static int list_values(const sql_node *a, sql_acc *acc, sql_value **out, size_t *n) {
    sql_value *v = malloc((acc->nlist ? acc->nlist : 1) * sizeof *v);
    if (!v)
        return -1;
    size_t off = 0, k = 0;
    while (k < acc->nlist && off < acc->list.len) {
        size_t m = sql_value_get(acc->list.p + off, acc->list.len - off, &v[k]);
        if (!m)
            break;
        off += m;
        k++;
    }
    qsort(v, k, sizeof *v, (int (*)(const void *, const void *))sql_compare);
    if (a->fn == A_COUNT_DISTINCT && k) {
        size_t j = 1;
        for (size_t i = 1; i < k; i++)
            if (sql_compare(&v[i], &v[j - 1]))
                v[j++] = v[i];
        k = j;
    }
    *out = v;
    *n = k;
    return 0;
}

int sql_acc_state(const sql_node *a, sql_acc *acc, sj_buf *st) {
    switch (a->fn) {
    case A_COUNT_STAR:
    case A_COUNT:
        return sj_buf_add(st, &acc->count, 8) ? -1 : 0;
    case A_SUM: {
        if (sj_buf_addc(st, acc->has))
            return -1;
        if (arg_type(a) == SQL_INT || arg_type(a) == SQL_NULL)
            return sj_buf_add(st, &acc->wide, sizeof acc->wide) ? -1 : 0;
        return sj_buf_add(st, &acc->dsum, 8) ? -1 : 0;
    }
    case A_AVG:
        if (sj_buf_add(st, &acc->count, 8))
            return -1;
        if (arg_type(a) == SQL_INT || arg_type(a) == SQL_NULL)
            return sj_buf_add(st, &acc->wide, sizeof acc->wide) ? -1 : 0;
        return sj_buf_add(st, &acc->dsum, 8) ? -1 : 0;
    case A_MIN:
    case A_MAX:
        return sql_value_put(st, &acc->best);
    default: {
        if (a->fn == A_COUNT_DISTINCT) {
            /* ship each distinct value once */
            sql_value *v;
            size_t k;
            if (list_values(a, acc, &v, &k))
                return -1;
            uint32_t c = (uint32_t)k;
            int rc = sj_buf_add(st, &c, 4);
            for (size_t i = 0; i < k && !rc; i++)
                rc = sql_value_put(st, &v[i]);
            free(v);
            return rc ? -1 : 0;
        }
        uint32_t c = (uint32_t)acc->nlist;
        if (sj_buf_add(st, &c, 4) || sj_buf_add(st, acc->list.p, acc->list.len))
            return -1;
        return 0;
    }
    }
}

int sql_acc_final(const sql_node *a, sql_acc *acc, sql_arena *ar, sql_value *out, char *err,
                  size_t errlen) {
    (void)ar;
    memset(out, 0, sizeof *out);
    out->type = (uint8_t)a->type;
    switch (a->fn) {
    case A_COUNT_STAR:
    case A_COUNT:
        out->u.i = acc->count;
        return 0;
    case A_SUM:
        if (!acc->has)
            out->null = true;
        else if (a->type == SQL_INT) {
            /* partial sums are 128-bit, as DuckDB's; the result must fit BIGINT */
            if (acc->wide > INT64_MAX || acc->wide < INT64_MIN) {
                snprintf(err, errlen, "overflow in sum of BIGINT: the sum is out of range");
                return -1;
            }
            out->u.i = (int64_t)acc->wide;
        }
        else
            out->u.d = acc->dsum;
        return 0;
    case A_AVG:
        if (!acc->count)
            out->null = true;
        else if (arg_type(a) == SQL_INT || arg_type(a) == SQL_NULL)
            out->u.d = (double)acc->wide / (double)acc->count;
        else
            out->u.d = acc->dsum / (double)acc->count;
        return 0;
    case A_MIN:
    case A_MAX:
        *out = acc->best;
        return 0;
    default: {
        sql_value *v;
        size_t k;
        if (list_values(a, acc, &v, &k)) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (a->fn == A_COUNT_DISTINCT) {
            out->u.i = (int64_t)k;
        } else if (!k) {
            out->null = true;
        } else if (a->fn == A_MEDIAN) {
            /* the mean of the middle values, interpolated as DuckDB's quantile_cont */
            double lo = as_double(&v[(k - 1) / 2]), hi = as_double(&v[k / 2]);
            out->u.d = lo + (hi - lo) * 0.5;
        } else {
            /* discrete quantile: the value at ceil(q n) - 1 in sorted order */
            double pos = ceil(a->q * (double)k) - 1;
            size_t i = pos < 0 ? 0 : (size_t)pos;
            if (i >= k)
                i = k - 1;
            *out = v[i];
            /* strings are not allowed here, so the value does not point into the list */
        }
        free(v);
        return 0;
    }
    }
}
