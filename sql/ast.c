/*
 * ast.c: the syntax tree of a query: nodes, their copies and comparison (the binder matches a
 * select expression to a GROUP BY key by structure), and their SQL text (default column names
 * and EXPLAIN).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jobs/jobs.h"
#include "sql/sql.h"

sql_node *sql_node_new(int kind, int line, int col) {
    sql_node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->line = line;
    n->col = col;
    n->colidx = -1;
    n->aggidx = -1;
    n->groupidx = -1;
    return n;
}

int sql_node_add(sql_node *n, sql_node *kid) {
    sql_node **k = realloc(n->kids, (n->nkids + 1) * sizeof *k);
    if (!k)
        return -1;
    n->kids = k;
    k[n->nkids++] = kid;
    return 0;
}

sql_node *sql_node_copy(const sql_node *n) {
    if (!n)
        return NULL;
    sql_node *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    *c = *n;
    c->str = n->str ? strdup(n->str) : NULL;
    c->qual = n->qual ? strdup(n->qual) : NULL;
    if (n->kind == N_LIT && n->val.type == SQL_STRING && c->str)
        c->val.u.s.p = c->str;
    c->kids = n->nkids ? calloc(n->nkids, sizeof *c->kids) : NULL;
    for (size_t i = 0; i < n->nkids; i++)
        c->kids[i] = sql_node_copy(n->kids[i]);
    return c;
}

void sql_node_free(sql_node *n) {
    if (!n)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        sql_node_free(n->kids[i]);
    free(n->kids);
    free(n->str);
    free(n->qual);
    free(n);
}

static bool name_eq(const char *a, const char *b) {
    if (!a || !b)
        return a == b;
    return !strcasecmp(a, b);
}

bool sql_node_equal(const sql_node *a, const sql_node *b) {
    if (!a || !b)
        return a == b;
    if (a->kind != b->kind || a->op != b->op || a->neg != b->neg ||
        a->distinct != b->distinct || a->star != b->star || a->nkids != b->nkids ||
        a->cast_type != b->cast_type || a->case_operand != b->case_operand)
        return false;
    if (a->kind == N_LIT) {
        if (a->val.type != b->val.type || a->val.null != b->val.null)
            return false;
        if (a->val.type == SQL_STRING || a->val.type == SQL_DOUBLE || a->val.type == SQL_INT)
            return a->str && b->str && !strcmp(a->str, b->str);
        return a->val.type != SQL_BOOL || a->val.u.b == b->val.u.b;
    }
    if (a->kind == N_COL)
        return a->colidx >= 0 ? a->colidx == b->colidx : name_eq(a->str, b->str);
    if (a->kind == N_FUNC && !name_eq(a->str, b->str))
        return false;
    for (size_t i = 0; i < a->nkids; i++)
        if (!sql_node_equal(a->kids[i], b->kids[i]))
            return false;
    return true;
}

void sql_query_free(sql_query *q) {
    for (size_t i = 0; i < q->nitems; i++) {
        sql_node_free(q->items[i].e);
        free(q->items[i].alias);
    }
    free(q->items);
    free(q->from);
    free(q->from_alias);
    free(q->join);
    free(q->join_alias);
    sql_node_free(q->on);
    sql_node_free(q->where);
    sql_node_free(q->having);
    for (size_t i = 0; i < q->ngroup; i++)
        sql_node_free(q->group[i]);
    free(q->group);
    for (size_t i = 0; i < q->norder; i++)
        sql_node_free(q->order[i].e);
    free(q->order);
    if (q->sub) {
        sql_query_free(q->sub);
        free(q->sub);
    }
    memset(q, 0, sizeof *q);
}

static const char *op_text(int op) {
    static const char *const t[] = {"", "-", "NOT ", "+", "-", "*", "/", "//", "%", "||",
                                    "=", "<>", "<", "<=", ">", ">=", "AND", "OR"};
    return op > 0 && op <= OP_OR ? t[op] : "?";
}

void sql_node_text(const sql_node *n, sj_buf *out) {
    if (!n) {
        sj_buf_add(out, "NULL", 4);
        return;
    }
    switch (n->kind) {
    case N_LIT:
        if (n->val.type == SQL_NULL)
            sj_buf_add(out, "NULL", 4);
        else if (n->val.type == SQL_BOOL)
            sj_buf_printf(out, "%s", n->val.u.b ? "true" : "false");
        else if (n->val.type == SQL_STRING) {
            sj_buf_addc(out, '\'');
            for (const char *s = n->str; *s; s++) {
                if (*s == '\'')
                    sj_buf_addc(out, '\'');
                sj_buf_addc(out, *s);
            }
            sj_buf_addc(out, '\'');
        } else
            sj_buf_printf(out, "%s", n->str);
        break;
    case N_COL:
        sj_buf_printf(out, "%s", n->str);
        break;
    case N_STAR:
        sj_buf_addc(out, '*');
        break;
    case N_UNOP: {
        sj_buf_printf(out, "%s", op_text(n->op));
        size_t at = out->len;
        sql_node_text(n->kids[0], out);
        /* a minus before an operand that starts with one (-1, -x) would make "--", the
         * start of a comment: a space keeps them two minus signs */
        if (out->len > at && out->p[at] == '-' && at > 0 && out->p[at - 1] == '-' &&
            !sj_buf_addc(out, ' ')) {
            memmove(out->p + at + 1, out->p + at, out->len - 1 - at);
            out->p[at] = ' ';
        }
        break;
    }
    case N_BINOP:
        sj_buf_addc(out, '(');
        sql_node_text(n->kids[0], out);
        sj_buf_printf(out, " %s ", op_text(n->op));
        sql_node_text(n->kids[1], out);
        sj_buf_addc(out, ')');
        break;
    case N_ISNULL:
        sql_node_text(n->kids[0], out);
        sj_buf_printf(out, " IS %sNULL", n->neg ? "NOT " : "");
        break;
    case N_LIKE:
        sql_node_text(n->kids[0], out);
        sj_buf_printf(out, " %sLIKE ", n->neg ? "NOT " : "");
        sql_node_text(n->kids[1], out);
        break;
    case N_IN:
        sql_node_text(n->kids[0], out);
        sj_buf_printf(out, " %sIN (", n->neg ? "NOT " : "");
        for (size_t i = 1; i < n->nkids; i++) {
            if (i > 1)
                sj_buf_add(out, ", ", 2);
            sql_node_text(n->kids[i], out);
        }
        sj_buf_addc(out, ')');
        break;
    case N_BETWEEN:
        sql_node_text(n->kids[0], out);
        sj_buf_printf(out, " %sBETWEEN ", n->neg ? "NOT " : "");
        sql_node_text(n->kids[1], out);
        sj_buf_add(out, " AND ", 5);
        sql_node_text(n->kids[2], out);
        break;
    case N_CASE: {
        sj_buf_add(out, "CASE", 4);
        size_t i = 0;
        if (n->case_operand) {
            sj_buf_addc(out, ' ');
            sql_node_text(n->kids[0], out);
            i = 1;
        }
        for (; i + 1 < n->nkids; i += 2) {
            sj_buf_add(out, " WHEN ", 6);
            sql_node_text(n->kids[i], out);
            sj_buf_add(out, " THEN ", 6);
            sql_node_text(n->kids[i + 1], out);
        }
        if (n->kids[n->nkids - 1]) {
            sj_buf_add(out, " ELSE ", 6);
            sql_node_text(n->kids[n->nkids - 1], out);
        }
        sj_buf_add(out, " END", 4);
        break;
    }
    case N_CAST:
        sj_buf_add(out, "CAST(", 5);
        sql_node_text(n->kids[0], out);
        sj_buf_printf(out, " AS %s)", sql_type_name(n->cast_type));
        break;
    case N_FUNC:
        if (n->fn == A_COUNT_STAR || (n->star && !n->nkids)) {
            sj_buf_add(out, "count_star()", 12);
            break;
        }
        sj_buf_printf(out, "%s(%s", n->str, n->distinct ? "DISTINCT " : "");
        for (size_t i = 0; i < n->nkids; i++) {
            if (i)
                sj_buf_add(out, ", ", 2);
            sql_node_text(n->kids[i], out);
        }
        sj_buf_addc(out, ')');
        break;
    }
}
