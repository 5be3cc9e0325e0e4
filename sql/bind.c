/*
 * bind.c: resolves a parsed query against its table.
 *
 * Column names are matched without regard to case (an exact match first); an unknown one is
 * an error that lists the table's columns. Every expression gets its result type by DuckDB's
 * rules (int + int is int and overflow is an error, / always gives a double, // is integer
 * division, a string literal compared with a date, timestamp or number is cast to it, other
 * mixed comparisons are errors). Aggregate calls are collected into slots; GROUP BY keys
 * (names, select aliases or 1-based positions) are matched by structure against the
 * expressions of SELECT, HAVING and ORDER BY, and a column outside every aggregate and key
 * is an error, as in SQL. DISTINCT groups by the select list. ORDER BY takes a select alias,
 * a position or an expression. Errors name the line and column and show a caret.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jobs/jobs.h"
#include "sql/sql.h"

typedef struct binder {
    sql_bound *b;
    const char *text;
    char *err;
    size_t errlen;
    int where; /* 0 select/order/having, 1 WHERE, 2 GROUP BY */
    bool in_agg;
} binder;

static int fail_at(binder *bd, const sql_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The message, then the query line of n with a caret under its column. */
static int fail_at(binder *bd, const sql_node *n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char msg[768];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!n || n->line <= 0) {
        snprintf(bd->err, bd->errlen, "%s", msg);
        return -1;
    }
    const char *p = bd->text;
    for (int l = 1; l < n->line && p; l++) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    if (!p)
        p = "";
    const char *e = strchr(p, '\n');
    int len = e ? (int)(e - p) : (int)strlen(p);
    char caret[256];
    int c = 1, k = 0;
    for (int i = 0; i < len && c < n->col && k < 250; i++) {
        if (((unsigned char)p[i] & 0xC0) == 0x80)
            continue;
        caret[k++] = p[i] == '\t' ? '\t' : ' ';
        c++;
    }
    caret[k] = '\0';
    snprintf(bd->err, bd->errlen, "%s at line %d, column %d\n  %.*s\n  %s^", msg, n->line,
             n->col, len, p, caret);
    return -1;
}

static bool numeric(int t) {
    return t == SQL_INT || t == SQL_DOUBLE;
}

/* The common type of a and b (CASE, COALESCE, IN), or -1. */
static int unify(int a, int b) {
    if (a == b)
        return a;
    if (a == SQL_NULL)
        return b;
    if (b == SQL_NULL)
        return a;
    if (numeric(a) && numeric(b))
        return SQL_DOUBLE;
    if ((a == SQL_DATE && b == SQL_TS) || (a == SQL_TS && b == SQL_DATE))
        return SQL_TS;
    return -1;
}

/* Wraps *slot in CAST(... AS type). */
static int cast_to(sql_node **slot, int type) {
    sql_node *c = sql_node_new(N_CAST, (*slot)->line, (*slot)->col);
    if (!c || sql_node_add(c, *slot)) {
        free(c);
        return -1;
    }
    c->cast_type = type;
    c->type = type;
    *slot = c;
    return 0;
}

static bool is_str_lit(const sql_node *n) {
    return n->kind == N_LIT && n->val.type == SQL_STRING;
}

/* Makes the two operands of a comparison comparable: a string literal takes the other's type;
 * NULL literals compare with anything. Returns 0 or -1 (error set). */
static int comparable(binder *bd, sql_node *at, sql_node **a, sql_node **b) {
    int ta = (*a)->type, tb = (*b)->type;
    if (ta == tb || ta == SQL_NULL || tb == SQL_NULL || unify(ta, tb) >= 0)
        return 0;
    if (is_str_lit(*a) && tb != SQL_STRING)
        return cast_to(a, tb) ? fail_at(bd, at, "out of memory") : 0;
    if (is_str_lit(*b) && ta != SQL_STRING)
        return cast_to(b, ta) ? fail_at(bd, at, "out of memory") : 0;
    return fail_at(bd, at, "cannot compare values of type %s and %s (use CAST)",
                   sql_type_name(ta), sql_type_name(tb));
}

static int bind_expr(binder *bd, sql_node **slot);

static int need(binder *bd, sql_node *n, int have, int want, const char *what) {
    if (have == want || have == SQL_NULL || (want == SQL_DOUBLE && have == SQL_INT))
        return 0;
    return fail_at(bd, n, "%s needs %s, not %s", what, sql_type_name(want), sql_type_name(have));
}

static const struct {
    const char *name;
    int fn, minargs, maxargs;
} funcs[] = {
    {"coalesce", F_COALESCE, 1, 64}, {"lower", F_LOWER, 1, 1},
    {"lcase", F_LOWER, 1, 1},       {"upper", F_UPPER, 1, 1},
    {"ucase", F_UPPER, 1, 1},       {"substr", F_SUBSTR, 2, 3},
    {"substring", F_SUBSTR, 2, 3},  {"length", F_LENGTH, 1, 1},
    {"char_length", F_LENGTH, 1, 1}, {"concat", F_CONCAT, 1, 64},
    {"trim", F_TRIM, 1, 1},         {"ltrim", F_LTRIM, 1, 1},
    {"rtrim", F_RTRIM, 1, 1},       {"year", F_YEAR, 1, 1},
    {"month", F_MONTH, 1, 1},       {"day", F_DAY, 1, 1},
    {"dayofmonth", F_DAY, 1, 1},    {"date_trunc", F_DATE_TRUNC, 2, 2},
    {"abs", F_ABS, 1, 1},           {"round", F_ROUND, 1, 2},
    {"count", A_COUNT, 0, 1},       {"sum", A_SUM, 1, 1},
    {"avg", A_AVG, 1, 1},           {"mean", A_AVG, 1, 1},
    {"min", A_MIN, 1, 1},           {"max", A_MAX, 1, 1},
    {"median", A_MEDIAN, 1, 1},     {"approx_quantile", A_QUANTILE, 2, 2},
};

static int bind_func(binder *bd, sql_node *n) {
    size_t i;
    for (i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
        if (!strcasecmp(n->str, funcs[i].name))
            break;
    if (i == sizeof funcs / sizeof funcs[0])
        return fail_at(bd, n, "unknown function %s()", n->str);
    n->fn = funcs[i].fn;
    if (n->fn == A_COUNT && n->star)
        n->fn = A_COUNT_STAR;
    else if (n->fn == A_COUNT && n->distinct)
        n->fn = A_COUNT_DISTINCT;
    else if (n->star)
        return fail_at(bd, n, "%s(*) is not a function (only count(*))", n->str);
    if (n->distinct && n->fn != A_COUNT_DISTINCT && n->fn != A_MIN && n->fn != A_MAX)
        return fail_at(bd, n, "DISTINCT is supported in count, min and max only");
    if (n->fn == A_COUNT_STAR ? n->nkids != 0
                              : ((int)n->nkids < funcs[i].minargs || (int)n->nkids > funcs[i].maxargs))
        return fail_at(bd, n, "%s() takes %d to %d arguments, not %zu", n->str, funcs[i].minargs,
                       funcs[i].maxargs, n->nkids);
    if (n->fn == A_COUNT && n->nkids == 0)
        return fail_at(bd, n, "count() needs an argument or *");
    bool agg = SQL_IS_AGG(n->fn);
    if (agg) {
        if (bd->where == 1)
            return fail_at(bd, n, "aggregate %s() is not allowed in WHERE", n->str);
        if (bd->where == 2)
            return fail_at(bd, n, "aggregate %s() is not allowed in GROUP BY", n->str);
        if (bd->in_agg)
            return fail_at(bd, n, "aggregate %s() inside another aggregate", n->str);
        bd->in_agg = true;
    }
    for (size_t k = 0; k < n->nkids; k++)
        if (bind_expr(bd, &n->kids[k]))
            return -1;
    if (agg)
        bd->in_agg = false;
    int t0 = n->nkids ? n->kids[0]->type : SQL_NULL;
    switch (n->fn) {
    case F_COALESCE: {
        int t = SQL_NULL;
        for (size_t k = 0; k < n->nkids; k++) {
            int u = unify(t, n->kids[k]->type);
            if (u < 0)
                return fail_at(bd, n->kids[k], "coalesce() of %s and %s (use CAST)",
                               sql_type_name(t), sql_type_name(n->kids[k]->type));
            t = u;
        }
        n->type = t;
        break;
    }
    case F_LOWER:
    case F_UPPER:
    case F_TRIM:
    case F_LTRIM:
    case F_RTRIM:
        if (need(bd, n->kids[0], t0, SQL_STRING, n->str))
            return -1;
        n->type = SQL_STRING;
        break;
    case F_LENGTH:
        if (need(bd, n->kids[0], t0, SQL_STRING, n->str))
            return -1;
        n->type = SQL_INT;
        break;
    case F_SUBSTR:
        if (need(bd, n->kids[0], t0, SQL_STRING, n->str))
            return -1;
        for (size_t k = 1; k < n->nkids; k++)
            if (n->kids[k]->type != SQL_INT && n->kids[k]->type != SQL_NULL)
                return fail_at(bd, n->kids[k], "%s() needs BIGINT positions, not %s", n->str,
                               sql_type_name(n->kids[k]->type));
        n->type = SQL_STRING;
        break;
    case F_CONCAT:
        n->type = SQL_STRING;
        break;
    case F_YEAR:
    case F_MONTH:
    case F_DAY:
        if (t0 != SQL_DATE && t0 != SQL_TS && t0 != SQL_NULL) {
            if (is_str_lit(n->kids[0]))
                return cast_to(&n->kids[0], SQL_DATE), n->type = SQL_INT, 0;
            return fail_at(bd, n->kids[0], "%s() needs a DATE or TIMESTAMP, not %s", n->str,
                           sql_type_name(t0));
        }
        n->type = SQL_INT;
        break;
    case F_DATE_TRUNC: {
        static const char *const parts[] = {"year", "quarter", "month", "week", "day",
                                            "hour", "minute", "second"};
        sql_node *p = n->kids[0];
        size_t k = 0;
        if (is_str_lit(p))
            for (; k < sizeof parts / sizeof parts[0]; k++)
                if (!strcasecmp(p->str, parts[k]))
                    break;
        if (!is_str_lit(p) || k == sizeof parts / sizeof parts[0])
            return fail_at(bd, p, "date_trunc() needs a part: 'year', 'quarter', 'month', "
                                  "'week', 'day', 'hour', 'minute' or 'second'");
        p->val.u.s.n = k; /* the part's number, read by the evaluator */
        p->colidx = (int)k;
        int t1 = n->kids[1]->type;
        if (t1 != SQL_DATE && t1 != SQL_TS && t1 != SQL_NULL)
            return fail_at(bd, n->kids[1], "date_trunc() needs a DATE or TIMESTAMP, not %s",
                           sql_type_name(t1));
        n->type = SQL_TS;
        break;
    }
    case F_ABS:
        if (!numeric(t0) && t0 != SQL_NULL)
            return fail_at(bd, n->kids[0], "abs() needs a number, not %s", sql_type_name(t0));
        n->type = t0;
        break;
    case F_ROUND:
        if (!numeric(t0) && t0 != SQL_NULL)
            return fail_at(bd, n->kids[0], "round() needs a number, not %s", sql_type_name(t0));
        if (n->nkids == 2 && n->kids[1]->type != SQL_INT)
            return fail_at(bd, n->kids[1], "round() needs a BIGINT number of digits");
        n->type = t0;
        break;
    case A_COUNT_STAR:
    case A_COUNT:
    case A_COUNT_DISTINCT:
        n->type = SQL_INT;
        break;
    case A_SUM:
    case A_AVG:
    case A_MEDIAN:
        if (!numeric(t0) && t0 != SQL_NULL)
            return fail_at(bd, n->kids[0], "%s() needs a number, not %s", n->str,
                           sql_type_name(t0));
        n->type = n->fn == A_SUM && t0 == SQL_INT ? SQL_INT : SQL_DOUBLE;
        break;
    case A_MIN:
    case A_MAX:
        n->type = t0;
        break;
    case A_QUANTILE: {
        sql_node *q = n->kids[1];
        double v = q->kind == N_LIT && q->val.type == SQL_DOUBLE ? q->val.u.d
                   : q->kind == N_LIT && q->val.type == SQL_INT ? (double)q->val.u.i
                                                                 : -1;
        if (!(v >= 0 && v <= 1))
            return fail_at(bd, q, "approx_quantile() needs a constant quantile in [0, 1]");
        n->q = v;
        if (!numeric(t0) && t0 != SQL_DATE && t0 != SQL_TS && t0 != SQL_NULL)
            return fail_at(bd, n->kids[0], "approx_quantile() needs a number or date, not %s",
                           sql_type_name(t0));
        n->type = t0;
        break;
    }
    }
    if (agg) {
        sql_bound *b = bd->b;
        /* the same aggregate twice (SELECT count(*) ... HAVING count(*) > 1) is one slot */
        for (size_t k = 0; k < b->naggs; k++) {
            if (sql_node_equal(b->aggs[k], n)) {
                n->aggidx = (int)k;
                return 0;
            }
        }
        sql_node **a = realloc(b->aggs, (b->naggs + 1) * sizeof *a);
        if (!a)
            return fail_at(bd, n, "out of memory");
        b->aggs = a;
        n->aggidx = (int)b->naggs;
        a[b->naggs++] = n;
    }
    return 0;
}

static int column_list_error(binder *bd, sql_node *n) {
    const sql_table *t = bd->b->t;
    sj_buf l = {0};
    for (size_t i = 0; i < t->ncols; i++) {
        const char *q = t->tab ? t->qual[t->tab[i]][0] : NULL;
        sj_buf_printf(&l, "%s%s%s%s", i ? ", " : "", q ? q : "", q ? "." : "", t->names[i]);
    }
    fail_at(bd, n, "unknown column '%s'; the table's columns are: %s", n->str,
            l.p ? l.p : "(none)");
    sj_buf_free(&l);
    return -1;
}

static int bind_expr(binder *bd, sql_node **slot) {
    sql_node *n = *slot;
    if (!n)
        return 0;
    switch (n->kind) {
    case N_LIT:
        n->type = n->val.type;
        return 0;
    case N_STAR:
        return fail_at(bd, n, "* is only allowed alone in the select list or in count(*)");
    case N_COL: {
        const sql_table *t = bd->b->t;
        int idx = -1, side = -1;
        if (n->qual && t->tab) {
            for (int k = 0; k < 2 && side < 0; k++)
                for (int m = 0; m < 2; m++)
                    if (t->qual[k][m] && !strcasecmp(t->qual[k][m], n->qual))
                        side = k;
            if (side < 0)
                return fail_at(bd, n, "unknown table '%s' (name the tables with aliases: "
                                      "FROM 'a.csv' a JOIN 'b.csv' b ON ...)", n->qual);
        }
        for (int exact = 1; exact >= 0 && idx < 0; exact--) {
            for (size_t i = 0; i < t->ncols; i++) {
                if (side >= 0 && t->tab[i] != side)
                    continue;
                if (exact ? strcmp(t->names[i], n->str) : strcasecmp(t->names[i], n->str))
                    continue;
                if (idx >= 0 && t->tab && t->tab[idx] != t->tab[i])
                    return fail_at(bd, n, "ambiguous column '%s': both tables have it "
                                          "(qualify it: alias.%s)", n->str, n->str);
                if (idx < 0)
                    idx = (int)i;
            }
        }
        if (idx < 0)
            return column_list_error(bd, n);
        if (!t->tab && n->qual) {
            /* one table: its alias, else its --table name (a quoted path has no name) */
            const sql_query *q = bd->b->q;
            bool ok = q->from_alias ? !strcasecmp(n->qual, q->from_alias)
                                    : q->from_path || (q->from && !strcasecmp(n->qual, q->from));
            if (!ok)
                return fail_at(bd, n, "unknown table '%s'", n->qual);
        }
        n->colidx = idx;
        n->type = t->types[idx];
        bd->b->used[idx] = true;
        return 0;
    }
    case N_UNOP:
        if (bind_expr(bd, &n->kids[0]))
            return -1;
        if (n->op == OP_NOT) {
            if (need(bd, n->kids[0], n->kids[0]->type, SQL_BOOL, "NOT"))
                return -1;
            n->type = SQL_BOOL;
        } else {
            int t = n->kids[0]->type;
            if (!numeric(t) && t != SQL_NULL)
                return fail_at(bd, n, "unary minus needs a number, not %s", sql_type_name(t));
            n->type = t == SQL_NULL ? SQL_INT : t;
        }
        return 0;
    case N_BINOP: {
        if (bind_expr(bd, &n->kids[0]) || bind_expr(bd, &n->kids[1]))
            return -1;
        int a = n->kids[0]->type, b = n->kids[1]->type;
        switch (n->op) {
        case OP_AND:
        case OP_OR:
            if (need(bd, n->kids[0], a, SQL_BOOL, n->op == OP_AND ? "AND" : "OR") ||
                need(bd, n->kids[1], b, SQL_BOOL, n->op == OP_AND ? "AND" : "OR"))
                return -1;
            n->type = SQL_BOOL;
            return 0;
        case OP_CONCAT:
            n->type = SQL_STRING;
            return 0;
        case OP_EQ:
        case OP_NE:
        case OP_LT:
        case OP_LE:
        case OP_GT:
        case OP_GE:
            if (comparable(bd, n, &n->kids[0], &n->kids[1]))
                return -1;
            n->type = SQL_BOOL;
            return 0;
        default:
            break;
        }
        /* arithmetic */
        if (a == SQL_NULL)
            a = b == SQL_NULL ? SQL_INT : b;
        if (b == SQL_NULL)
            b = a;
        if ((n->op == OP_ADD || n->op == OP_SUB) && a == SQL_DATE && b == SQL_INT) {
            n->type = SQL_DATE;
            return 0;
        }
        if (n->op == OP_ADD && a == SQL_INT && b == SQL_DATE) {
            n->type = SQL_DATE;
            return 0;
        }
        if (n->op == OP_SUB && a == SQL_DATE && b == SQL_DATE) {
            n->type = SQL_INT;
            return 0;
        }
        if (!numeric(a) || !numeric(b))
            return fail_at(bd, n, "cannot apply %s to %s and %s",
                           n->op == OP_ADD ? "+" : n->op == OP_SUB ? "-" : n->op == OP_MUL ? "*"
                           : n->op == OP_DIV ? "/" : n->op == OP_IDIV ? "//" : "%",
                           sql_type_name(a), sql_type_name(b));
        if (n->op == OP_DIV)
            n->type = SQL_DOUBLE;
        else
            n->type = a == SQL_INT && b == SQL_INT ? SQL_INT : SQL_DOUBLE;
        return 0;
    }
    case N_ISNULL:
        if (bind_expr(bd, &n->kids[0]))
            return -1;
        n->type = SQL_BOOL;
        return 0;
    case N_LIKE:
        if (bind_expr(bd, &n->kids[0]) || bind_expr(bd, &n->kids[1]))
            return -1;
        if (need(bd, n->kids[0], n->kids[0]->type, SQL_STRING, "LIKE") ||
            need(bd, n->kids[1], n->kids[1]->type, SQL_STRING, "LIKE"))
            return -1;
        n->type = SQL_BOOL;
        return 0;
    case N_IN:
    case N_BETWEEN:
        for (size_t i = 0; i < n->nkids; i++)
            if (bind_expr(bd, &n->kids[i]))
                return -1;
        for (size_t i = 1; i < n->nkids; i++)
            if (comparable(bd, n->kids[i], &n->kids[0], &n->kids[i]))
                return -1;
        n->type = SQL_BOOL;
        return 0;
    case N_CASE: {
        size_t i = 0;
        if (n->case_operand) {
            if (bind_expr(bd, &n->kids[0]))
                return -1;
            i = 1;
        }
        int t = SQL_NULL;
        for (; i + 1 < n->nkids; i += 2) {
            if (bind_expr(bd, &n->kids[i]) || bind_expr(bd, &n->kids[i + 1]))
                return -1;
            if (n->case_operand) {
                if (comparable(bd, n->kids[i], &n->kids[0], &n->kids[i]))
                    return -1;
            } else if (need(bd, n->kids[i], n->kids[i]->type, SQL_BOOL, "WHEN")) {
                return -1;
            }
            int u = unify(t, n->kids[i + 1]->type);
            if (u < 0)
                return fail_at(bd, n->kids[i + 1], "CASE results of type %s and %s (use CAST)",
                               sql_type_name(t), sql_type_name(n->kids[i + 1]->type));
            t = u;
        }
        sql_node **els = &n->kids[n->nkids - 1];
        if (*els) {
            if (bind_expr(bd, els))
                return -1;
            int u = unify(t, (*els)->type);
            if (u < 0)
                return fail_at(bd, *els, "CASE results of type %s and %s (use CAST)",
                               sql_type_name(t), sql_type_name((*els)->type));
            t = u;
        }
        n->type = t;
        return 0;
    }
    case N_CAST:
        if (bind_expr(bd, &n->kids[0]))
            return -1;
        n->type = n->cast_type;
        return 0;
    case N_FUNC:
        return bind_func(bd, n);
    }
    return fail_at(bd, n, "unexpected expression");
}

/* Marks the subtrees of n equal to a group key; returns -1 (error set) when a column is
 * outside every key and aggregate. */
static int mark_groups(binder *bd, sql_node *n) {
    if (!n)
        return 0;
    if (n->aggidx >= 0)
        return 0;
    sql_bound *b = bd->b;
    for (size_t g = 0; g < b->ngroup; g++) {
        if (sql_node_equal(n, b->group[g])) {
            n->groupidx = (int)g;
            return 0;
        }
    }
    if (n->kind == N_COL)
        return fail_at(bd, n, "column '%s' must appear in the GROUP BY clause or be used in an "
                              "aggregate function", n->str);
    for (size_t i = 0; i < n->nkids; i++)
        if (mark_groups(bd, n->kids[i]))
            return -1;
    return 0;
}

/* An ORDER BY or GROUP BY term that names a select item by position or alias: the item's
 * index, or -1. Positions out of range are errors (-2). */
static int item_ref(binder *bd, const sql_node *n, bool alias_only_for_nontable) {
    sql_bound *b = bd->b;
    if (n->kind == N_LIT && n->val.type == SQL_INT) {
        if (n->val.u.i < 1 || (uint64_t)n->val.u.i > b->nout) {
            fail_at(bd, n, "position %lld is not in the select list (1 to %zu)",
                    (long long)n->val.u.i, b->nout);
            return -2;
        }
        return (int)n->val.u.i - 1;
    }
    if (n->kind == N_COL && !n->qual) {
        for (size_t i = 0; i < b->nout; i++) {
            if (b->q->nitems && b->names[i] && !strcasecmp(b->names[i], n->str)) {
                if (alias_only_for_nontable) {
                    /* GROUP BY: a table column of that name wins over an alias */
                    for (size_t c = 0; c < b->t->ncols; c++)
                        if (!strcasecmp(b->t->names[c], n->str))
                            return -1;
                }
                return (int)i;
            }
        }
    }
    return -1;
}

/* Which tables an expression reads: bit 0 the left, bit 1 the right. */
static unsigned sides(const sql_table *t, const sql_node *n) {
    if (!n)
        return 0;
    unsigned m = n->kind == N_COL && n->colidx >= 0 ? 1u << (t->tab ? t->tab[n->colidx] : 0) : 0;
    for (size_t i = 0; i < n->nkids; i++)
        m |= sides(t, n->kids[i]);
    return m;
}

/* Splits a join's ON condition into key pairs (left expression = right expression, cast to
 * one type); for an inner join other conditions move to WHERE. Takes n, on failure too. */
static int on_term(binder *bd, sql_node *n, sql_node **extra) {
    sql_bound *b = bd->b;
    const sql_table *t = b->t;
    if (n->kind == N_BINOP && n->op == OP_AND) {
        sql_node *l = n->kids[0], *r = n->kids[1];
        n->kids[0] = n->kids[1] = NULL;
        sql_node_free(n);
        int rc = on_term(bd, l, extra);
        if (rc)
            sql_node_free(r);
        else
            rc = on_term(bd, r, extra);
        return rc;
    }
    unsigned l = n->kind == N_BINOP && n->op == OP_EQ ? sides(t, n->kids[0]) : 0;
    unsigned r = l ? sides(t, n->kids[1]) : 0;
    if ((l == 1 && r == 2) || (l == 2 && r == 1)) {
        sql_node *a = n->kids[l == 1 ? 0 : 1], *c = n->kids[l == 1 ? 1 : 0];
        int u = unify(a->type, c->type);
        if (u < 0) {
            int rc = fail_at(bd, n, "cannot join values of type %s and %s (use CAST)",
                             sql_type_name(a->type), sql_type_name(c->type));
            sql_node_free(n);
            return rc;
        }
        if ((a->type != u && cast_to(&a, u)) || (c->type != u && cast_to(&c, u)))
            return fail_at(bd, n, "out of memory");
        sql_node **lk = realloc(b->lkeys, (b->nkeys + 1) * sizeof *lk);
        if (lk)
            b->lkeys = lk;
        sql_node **rk = lk ? realloc(b->rkeys, (b->nkeys + 1) * sizeof *rk) : NULL;
        if (!lk || !rk)
            return fail_at(bd, n, "out of memory");
        b->rkeys = rk;
        lk[b->nkeys] = a;
        rk[b->nkeys++] = c;
        n->kids[0] = n->kids[1] = NULL;
        sql_node_free(n);
        return 0;
    }
    if (b->q->left_join) {
        int rc = fail_at(bd, n, "LEFT JOIN ... ON takes equalities between the two tables "
                                "(left expression = right expression, joined by AND)");
        sql_node_free(n);
        return rc;
    }
    if (*extra) {
        sql_node *and = sql_node_new(N_BINOP, n->line, n->col);
        if (!and || sql_node_add(and, *extra) || sql_node_add(and, n))
            return fail_at(bd, n, "out of memory");
        and->op = OP_AND;
        and->type = SQL_BOOL;
        *extra = and;
    } else {
        *extra = n;
    }
    return 0;
}

static int bind_on(binder *bd, sql_node *on) {
    sql_query *q = bd->b->q;
    bd->where = 1;
    if (bind_expr(bd, &q->on))
        return -1;
    if (q->on->type != SQL_BOOL)
        return fail_at(bd, q->on, "ON needs a BOOLEAN condition");
    sql_node *extra = NULL;
    (void)on;
    int rc = on_term(bd, q->on, &extra);
    q->on = NULL;
    if (rc) {
        sql_node_free(extra);
        return -1;
    }
    if (!bd->b->nkeys) {
        sql_node_free(extra);
        return fail_at(bd, NULL, "JOIN ... ON needs an equality between the two tables "
                                 "(left.col = right.col)");
    }
    if (extra) {
        if (q->where) {
            sql_node *and = sql_node_new(N_BINOP, extra->line, extra->col);
            if (!and || sql_node_add(and, q->where) || sql_node_add(and, extra))
                return fail_at(bd, extra, "out of memory");
            and->op = OP_AND;
            and->type = SQL_BOOL;
            q->where = and;
        } else {
            q->where = extra;
        }
    }
    return 0;
}

/* Constant folding for evaluation: a subtree that reads no column, group key or aggregate
 * (DATE '1994-01-01', 1 - 0.05) is evaluated here once, and sql_eval gives that value (n->folded)
 * instead of walking the subtree for every row. The tree itself stays as written (EXPLAIN,
 * column names, a literal's text). A string value is left to the row (its bytes would need
 * an owner), and so is a subtree whose evaluation fails: it fails on the first row, as it did.
 * Returns whether n is constant. */
static bool fold(sql_node *n) {
    if (!n)
        return true; /* an absent part (CASE without ELSE) */
    bool konst = n->kind != N_COL && n->kind != N_STAR && n->aggidx < 0 && n->groupidx < 0 &&
                 !(n->kind == N_FUNC && SQL_IS_AGG(n->fn));
    for (size_t i = 0; i < n->nkids; i++)
        if (!fold(n->kids[i]))
            konst = false;
    if (!konst || n->kind == N_LIT || n->folded || n->type == SQL_STRING)
        return konst;
    sql_arena arena;
    memset(&arena, 0, sizeof arena);
    char err[256];
    sql_env env = {.arena = &arena, .err = err, .errlen = sizeof err};
    sql_value v;
    if (sql_eval(n, &env, &v) == 0 && v.type != SQL_STRING) {
        n->fval = v;
        n->folded = true;
    }
    sql_arena_free(&arena);
    return konst;
}

static void fold_all(sql_bound *b) {
    const sql_query *q = b->q;
    fold(q->where);
    fold(q->on);
    fold(q->having);
    for (size_t i = 0; i < b->nout; i++)
        fold(b->out[i]);
    for (size_t i = 0; i < b->ngroup; i++)
        fold(b->group[i]);
    for (size_t i = 0; i < b->nokeys; i++)
        fold(b->okeys[i]);
    for (size_t i = 0; i < b->naggs; i++)
        fold(b->aggs[i]);
    for (size_t i = 0; i < b->nkeys; i++) {
        fold(b->lkeys[i]);
        fold(b->rkeys[i]);
    }
}

int sql_bind(sql_query *q, const sql_table *t, const char *text, sql_bound *b, char *err,
             size_t errlen) {
    memset(b, 0, sizeof *b);
    b->q = q;
    b->t = t;
    binder bd = {b, text, err, errlen, 0, false};
    if (!(b->used = calloc(t->ncols ? t->ncols : 1, sizeof *b->used)))
        return fail_at(&bd, NULL, "out of memory");
    /* the select list, * expanded to the table's columns */
    for (size_t i = 0; i < q->nitems; i++) {
        size_t add = q->items[i].e->kind == N_STAR ? t->ncols : 1;
        sql_node **o = realloc(b->out, (b->nout + add) * sizeof *o);
        char **nm = realloc(b->names, (b->nout + add) * sizeof *nm);
        if (o)
            b->out = o;
        if (nm)
            b->names = nm;
        if (!o || !nm)
            return fail_at(&bd, NULL, "out of memory");
        if (q->items[i].e->kind == N_STAR) {
            for (size_t c = 0; c < t->ncols; c++) {
                sql_node *col = sql_node_new(N_COL, q->items[i].e->line, q->items[i].e->col);
                if (!col || !(col->str = strdup(t->names[c]))) {
                    free(col);
                    return fail_at(&bd, NULL, "out of memory");
                }
                b->out[b->nout] = col;
                b->names[b->nout++] = strdup(t->names[c]);
            }
        } else {
            sql_node *e = sql_node_copy(q->items[i].e);
            b->out[b->nout] = e;
            char *name;
            if (q->items[i].alias)
                name = strdup(q->items[i].alias);
            else if (e->kind == N_COL)
                name = strdup(e->str);
            else {
                sj_buf tx = {0};
                sql_node_text(e, &tx);
                name = tx.p ? tx.p : strdup("?");
            }
            b->names[b->nout++] = name;
        }
    }
    bd.where = 1;
    if (bind_expr(&bd, &q->where))
        return -1;
    if (q->where && q->where->type != SQL_BOOL && q->where->type != SQL_NULL)
        return fail_at(&bd, q->where, "WHERE needs a BOOLEAN condition, not %s",
                       sql_type_name(q->where->type));
    if (q->on && bind_on(&bd, q->on))
        return -1;
    /* GROUP BY keys: positions and aliases name select items */
    bd.where = 2;
    for (size_t i = 0; i < q->ngroup; i++) {
        int r = item_ref(&bd, q->group[i], true);
        if (r == -2)
            return -1;
        sql_node *g;
        if (r >= 0) {
            if (!(g = sql_node_copy(q->items[0].e->kind == N_STAR && q->nitems == 1
                                        ? b->out[r] : b->out[r])))
                return fail_at(&bd, NULL, "out of memory");
        } else if (!(g = sql_node_copy(q->group[i]))) {
            return fail_at(&bd, NULL, "out of memory");
        }
        sql_node **gl = realloc(b->group, (b->ngroup + 1) * sizeof *gl);
        if (!gl)
            return fail_at(&bd, NULL, "out of memory");
        b->group = gl;
        gl[b->ngroup++] = g;
        if (bind_expr(&bd, &gl[b->ngroup - 1]))
            return -1;
    }
    bd.where = 0;
    for (size_t i = 0; i < b->nout; i++)
        if (bind_expr(&bd, &b->out[i]))
            return -1;
    if (q->having) {
        if (bind_expr(&bd, &q->having))
            return -1;
        if (q->having->type != SQL_BOOL && q->having->type != SQL_NULL)
            return fail_at(&bd, q->having, "HAVING needs a BOOLEAN condition");
    }
    for (size_t i = 0; i < q->norder; i++) {
        int r = item_ref(&bd, q->order[i].e, false);
        if (r == -2)
            return -1;
        sql_node *o = r >= 0 ? sql_node_copy(b->out[r]) : sql_node_copy(q->order[i].e);
        sql_node **ol = realloc(b->okeys, (b->nokeys + 1) * sizeof *ol);
        if (!o || !ol)
            return fail_at(&bd, NULL, "out of memory");
        b->okeys = ol;
        ol[b->nokeys++] = o;
        if (r < 0 && bind_expr(&bd, &ol[b->nokeys - 1]))
            return -1;
    }
    /* DISTINCT groups by the select list */
    if (q->distinct && !b->ngroup) {
        for (size_t i = 0; i < b->nout; i++) {
            if (b->out[i]->aggidx >= 0 || b->naggs)
                break;
            sql_node **gl = realloc(b->group, (b->ngroup + 1) * sizeof *gl);
            if (!gl)
                return fail_at(&bd, NULL, "out of memory");
            b->group = gl;
            gl[b->ngroup++] = sql_node_copy(b->out[i]);
        }
    }
    b->aggregate = b->ngroup || b->naggs || q->having;
    if (b->aggregate) {
        for (size_t i = 0; i < b->nout; i++)
            if (mark_groups(&bd, b->out[i]))
                return -1;
        if (mark_groups(&bd, q->having))
            return -1;
        for (size_t i = 0; i < b->nokeys; i++) {
            if (mark_groups(&bd, b->okeys[i])) {
                if (q->distinct)
                    return fail_at(&bd, b->okeys[i], "with SELECT DISTINCT, ORDER BY "
                                   "expressions must appear in the select list");
                return -1;
            }
        }
    }
    if (q->limit < -1 || q->offset < 0)
        return fail_at(&bd, NULL, "LIMIT and OFFSET must not be negative");
    fold_all(b);
    return 0;
}

void sql_bound_free(sql_bound *b) {
    for (size_t i = 0; i < b->ngroup; i++)
        sql_node_free(b->group[i]);
    for (size_t i = 0; i < b->nout; i++) {
        sql_node_free(b->out[i]);
        free(b->names[i]);
    }
    for (size_t i = 0; i < b->nokeys; i++)
        sql_node_free(b->okeys[i]);
    free(b->group);
    free(b->out);
    free(b->names);
    free(b->okeys);
    free(b->aggs);
    free(b->used);
    for (size_t i = 0; i < b->nkeys; i++) {
        sql_node_free(b->lkeys[i]);
        sql_node_free(b->rkeys[i]);
    }
    free(b->lkeys);
    free(b->rkeys);
    memset(b, 0, sizeof *b);
}
