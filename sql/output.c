/*
 * output.c: the result of `sheaf sql` (exec.h): rank 0 orders the gathered rows (ties by
 * their values), applies OFFSET and LIMIT and writes CSV or a table, or a subquery's CSV; with
 * -o OUT, round 2 commits the CSV as part files in that order.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sql/exec.h"

/* ---- rank 0: order, limit, output -------------------------------------------------------- */

static void csv_field(sj_buf *out, const sql_value *v, char delim) {
    char buf[96];
    const char *p;
    size_t n = sql_format(v, buf, sizeof buf, &p);
    if (v->null)
        return;
    bool q = n == 0 && v->type == SQL_STRING;
    for (size_t i = 0; i < n && !q; i++)
        q = p[i] == delim || p[i] == '"' || p[i] == '\n' || p[i] == '\r';
    if (!q) {
        sj_buf_add(out, p, n);
        return;
    }
    sj_buf_addc(out, '"');
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"')
            sj_buf_addc(out, '"');
        sj_buf_addc(out, p[i]);
    }
    sj_buf_addc(out, '"');
}

static void csv_name(sj_buf *out, const char *name) {
    sql_value v = {.type = SQL_STRING};
    v.u.s.p = name;
    v.u.s.n = strlen(name);
    csv_field(out, &v, ',');
}

/* A terminal table: columns padded to their widest value, numbers right-aligned. */
static void print_table(FILE *f, const sql_bound *b, orow *rows, size_t n) {
    size_t *w = calloc(b->nout ? b->nout : 1, sizeof *w);
    if (!w)
        return;
    char buf[96];
    const char *p;
    for (size_t c = 0; c < b->nout; c++)
        w[c] = strlen(b->names[c]);
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < b->nout; c++) {
            size_t len = rows[r].v[c].null ? 4 : sql_format(&rows[r].v[c], buf, sizeof buf, &p);
            if (len > w[c])
                w[c] = len;
        }
    for (size_t c = 0; c < b->nout; c++)
        fprintf(f, "%s%-*s", c ? " | " : "", (int)w[c], b->names[c]);
    fputc('\n', f);
    for (size_t c = 0; c < b->nout; c++) {
        fprintf(f, "%s", c ? "-+-" : "");
        for (size_t i = 0; i < w[c]; i++)
            fputc('-', f);
    }
    fputc('\n', f);
    for (size_t r = 0; r < n; r++) {
        for (size_t c = 0; c < b->nout; c++) {
            const sql_value *v = &rows[r].v[c];
            size_t len = v->null ? 4 : sql_format(v, buf, sizeof buf, &p);
            if (v->null)
                p = "NULL";
            bool right = !v->null && (v->type == SQL_INT || v->type == SQL_DOUBLE);
            fprintf(f, "%s", c ? " | " : "");
            if (right)
                fprintf(f, "%*s%.*s", (int)(w[c] - len), "", (int)len, p);
            else
                fprintf(f, "%.*s%*s", (int)len, p, (int)(w[c] - len), "");
        }
        fputc('\n', f);
    }
    fprintf(f, "(%zu row%s)\n", n, n == 1 ? "" : "s");
    free(w);
}

/* Parses the gathered rows, adds the empty table's row of an ungrouped aggregate, sorts,
 * applies OFFSET/LIMIT and renders CSV (records separated by sep) into out (mode 0), prints
 * the table to stdout (mode 1), or renders a subquery's CSV for its enclosing query (mode 2).
 * Returns 0 or a negative code with err set. */
int sql_finish_rows(sql_exec *x, const char *data, size_t len, sj_buf *extra, char sep, int mode,
                    sj_buf *out) {
    sql_bound *b = x->b;
    size_t nv = b->nout + b->nokeys, n = 0;
    orow *rows = NULL;
    sql_value *vals = NULL;
    /* the gathered rows, then the extra ones */
    sj_buf both = {0};
    if (sj_buf_add(&both, data ? data : "", len) ||
        sj_buf_add(&both, extra->p ? extra->p : "", extra->len)) {
        sj_buf_free(&both);
        snprintf(x->err, sizeof x->err, "sql: out of memory");
        return SHEAF_ENOMEM;
    }
    if (sql_parse_rows(both.p, both.len, nv, &rows, &vals, &n, x->err, sizeof x->err)) {
        sj_buf_free(&both);
        return SHEAF_EUSER;
    }
    if (b->nokeys)
        qsort_r(rows, n, sizeof *rows, sql_row_cmp, b);
    size_t from = (size_t)b->q->offset < n ? (size_t)b->q->offset : n;
    size_t to = n;
    if (b->q->limit >= 0 && (uint64_t)b->q->limit < to - from)
        to = from + (size_t)b->q->limit;
    if (mode == 1) {
        print_table(stdout, b, rows + from, to - from);
    } else if (mode == 2) {
        /* a subquery's result: columns c<i>, strings with a leading 's' (sql_join_field) */
        for (size_t c = 0; c < b->nout; c++)
            sj_buf_printf(out, "%sc%zu", c ? "," : "", c);
        if (!b->nout)
            sj_buf_addc(out, 'c');
        sj_buf_addc(out, '\n');
        for (size_t r = from; r < to; r++) {
            for (size_t c = 0; c < b->nout; c++) {
                if (c)
                    sj_buf_addc(out, ',');
                sql_join_field(out, &rows[r].v[c]);
            }
            sj_buf_addc(out, '\n');
        }
    } else {
        for (size_t c = 0; c < b->nout; c++) {
            if (c)
                sj_buf_addc(out, ',');
            csv_name(out, b->names[c]);
        }
        sj_buf_addc(out, sep);
        for (size_t r = from; r < to; r++) {
            for (size_t c = 0; c < b->nout; c++) {
                if (c)
                    sj_buf_addc(out, ',');
                csv_field(out, &rows[r].v[c], ',');
            }
            sj_buf_addc(out, sep);
        }
    }
    free(rows);
    free(vals);
    sj_buf_free(&both);
    return 0;
}

/* ---- round 2: the committed output --------------------------------------------------------- */

int sql_out_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    (void)udata;
    unsigned char k[8];
    sheaf_key_u64(rec->offset, k);
    return sheaf_emit(ctx, k, sizeof k, rec->data, rec->len);
}

/* Counts what the rounds reading the tables' files read (round 1, or a join's round 0), after
 * one: their input records and bytes, and the files the pruner (NULL: none) ruled out. */
void sql_table_read(sql_opts *o, const sheaf_result *res, const sql_pruner *pr) {
    o->table_records += res->input_records;
    o->table_bytes += res->input_bytes;
    o->table_pruned += sql_pruner_count(pr);
}

/* The report of the committed result shows the query's input, not round 2's (the result
 * rows): rank 0 adds user counters sql.input_records, sql.input_bytes and
 * sql.input_files_pruned. */
int sql_out_setup(sheaf_ctx *ctx, void *udata) {
    const out_state *os = udata;
    if (sheaf_rank(ctx) != 0)
        return 0;
    int rc = sheaf_counter_add(ctx, "sql.input_records", (int64_t)os->o->table_records);
    if (!rc)
        rc = sheaf_counter_add(ctx, "sql.input_bytes", (int64_t)os->o->table_bytes);
    if (!rc)
        rc = sheaf_counter_add(ctx, "sql.input_files_pruned", (int64_t)os->o->table_pruned);
    return rc;
}

int sql_out_reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals, void *udata) {
    sj_buf *line = ((out_state *)udata)->line;
    const void *v;
    size_t vlen;
    (void)key;
    (void)klen;
    while (sheaf_values_next(vals, &v, &vlen)) {
        line->len = 0;
        if (sj_buf_add(line, v, vlen) || sj_buf_addc(line, '\n'))
            return sheaf_fail(ctx, SHEAF_ENOMEM, "sql: out of memory");
        int rc = sheaf_emit(ctx, line->p, line->len, NULL, 0);
        if (rc)
            return rc;
    }
    return 0;
}
