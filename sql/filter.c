/*
 * filter.c: a SQL WHERE condition for the table jobs (`groupby --where`), with the types,
 * NULL rules and evaluator of `sheaf sql`.
 *
 * sql_filter_new parses "SELECT 1 FROM t WHERE (w1) AND (w2) ..." with sql's grammar, learns
 * the input's columns the way `sheaf sql` does (csv with a header: names from the first
 * file's header, types inferred from a sample of the files; Parquet: the first file's footer)
 * and binds the condition to them, so an unknown column or a type mismatch is a usage error
 * that names it. A condition of the form `COL OP WORD` (the bare-word form the jobs took
 * before, such as `city = Oslo`) that does not bind as SQL is read as `COL OP 'WORD'`.
 *
 * sql_filter_row evaluates it on a record: the fields of the columns it reads are found by
 * the record's header (once per file) and parsed as their types, an empty csv field (or a
 * Parquet null) being NULL; the row passes only when the condition is true (three-valued
 * logic: NULL drops it). A field that does not parse as its column's type, or an error of
 * the expression (overflow, a failed cast), fails the job naming the file and offset.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sql.h"

struct sql_filter {
    char *text;
    sql_query q;
    sql_table t;
    sql_bound b;
    bool bound;
    const char **cols; /* the columns the condition reads */
    size_t ncols;
    const void *hdr_key; /* the header the positions below belong to */
    const char *file_key;
    long *pos;
    sql_value *row;
    sql_arena arena;
    char err[512];
};

void sql_filter_free(sql_filter *f) {
    if (!f)
        return;
    if (f->bound)
        sql_bound_free(&f->b);
    sql_query_free(&f->q);
    sql_table_free(&f->t);
    sql_arena_free(&f->arena);
    free(f->cols);
    free(f->pos);
    free(f->row);
    free(f->text);
    free(f);
}

/* The table of the job's inputs. Returns 0 or a code with a message in err. */
static int input_table(const sheaf_config *cfg, bool parquet, sql_table *t, char *err,
                       size_t errlen) {
    char **all = NULL;
    size_t nall = 0;
    int rc = 0;
    for (size_t i = 0; i < cfg->ninputs && !rc; i++) {
        char **files = NULL;
        size_t nf = 0;
        int lrc = sheaf_list_inputs(cfg->inputs[i], &files, &nf, err, errlen);
        if (lrc || !nf) {
            if (!lrc)
                snprintf(err, errlen, "%s: no input files", cfg->inputs[i]);
            rc = lrc ? lrc : SHEAF_ENOENT;
            break;
        }
        char **grown = realloc(all, (nall + nf) * sizeof *all);
        if (!grown) {
            sheaf_list_free(files, nf);
            snprintf(err, errlen, "out of memory");
            rc = SHEAF_ENOMEM;
            break;
        }
        all = grown;
        memcpy(all + nall, files, nf * sizeof *files);
        nall += nf;
        free(files);
    }
    if (!rc && !nall) {
        snprintf(err, errlen, "no input files");
        rc = SHEAF_ENOENT;
    }
    if (!rc)
        rc = parquet ? sql_parquet_table(all[0], t, err, errlen)
                     : sql_infer_table(all, nall, cfg->csv_delimiter ? cfg->csv_delimiter : ',',
                                       t, err, errlen);
    if (all)
        sheaf_list_free(all, nall);
    return rc;
}

/* Parses and binds the query text. Returns 0, or -1 with a message in err. */
static int compile(sql_filter *f, const char *text, char *err, size_t errlen) {
    if (f->bound) {
        sql_bound_free(&f->b);
        f->bound = false;
    }
    sql_query_free(&f->q);
    free(f->text);
    if (!(f->text = strdup(text))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (sql_parse(f->text, &f->q, err, errlen))
        return -1;
    if (f->q.ngroup || f->q.join || f->q.sub || f->q.norder || f->q.having || !f->q.where) {
        snprintf(err, errlen, "not a condition");
        return -1;
    }
    f->bound = true;
    return sql_bind(&f->q, &f->t, f->text, &f->b, err, errlen);
}

/* `COL OP WORD` (OP = == != <> < <= > >=) as `COL OP 'WORD'` in out; false when text is not of
 * that form. */
static bool bare_word(const char *text, sj_buf *out) {
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    const char *cs = p;
    while (*p && (isalnum((unsigned char)*p) || *p == '_'))
        p++;
    const char *ce = p;
    while (isspace((unsigned char)*p))
        p++;
    const char *os = p;
    while (*p && strchr("=!<>", *p))
        p++;
    size_t ol = (size_t)(p - os);
    static const char *const ops[] = {"=", "==", "!=", "<>", "<", "<=", ">", ">="};
    bool op = false;
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        op |= strlen(ops[i]) == ol && !strncmp(os, ops[i], ol);
    while (isspace((unsigned char)*p))
        p++;
    const char *vs = p;
    while (*p && !isspace((unsigned char)*p) && *p != '\'' && *p != '"')
        p++;
    const char *ve = p;
    while (isspace((unsigned char)*p))
        p++;
    if (ce == cs || !op || ve == vs || *p)
        return false;
    if (ol == 2 && os[0] == '=')
        ol = 1; /* == is = */
    out->len = 0;
    return !sj_buf_printf(out, "SELECT 1 FROM t WHERE %.*s %.*s '%.*s'", (int)(ce - cs), cs,
                          (int)ol, os, (int)(ve - vs), vs);
}

int sql_filter_new(const char *job, const char *const *texts, size_t n, const sheaf_config *cfg,
                   sql_filter **out) {
    *out = NULL;
    sql_filter *f = calloc(1, sizeof *f);
    if (!f)
        return sj_usage(job, "out of memory");
    bool parquet = cfg->input_format && !strcmp(cfg->input_format, "parquet");
    char err[1536] = "";
    int rc = input_table(cfg, parquet, &f->t, err, sizeof err);
    if (rc) {
        sql_filter_free(f);
        return sj_usage(job, "--where: %s", err);
    }
    sj_buf text = {0}, alt = {0};
    sj_buf_printf(&text, "SELECT 1 FROM t WHERE ");
    for (size_t i = 0; i < n; i++) {
        /* each condition as it binds, or its bare-word form when only that does */
        char e2[1536];
        sj_buf one = {0};
        sj_buf_printf(&one, "SELECT 1 FROM t WHERE %s", texts[i]);
        const char *use = texts[i];
        if (compile(f, one.p, err, sizeof err)) {
            if (bare_word(texts[i], &alt) && !compile(f, alt.p, e2, sizeof e2)) {
                use = alt.p + strlen("SELECT 1 FROM t WHERE ");
            } else {
                sj_buf_free(&one);
                sj_buf_free(&text);
                sj_buf_free(&alt);
                sql_filter_free(f);
                return sj_usage(job, "--where '%s': %s", texts[i], err);
            }
        }
        sj_buf_printf(&text, "%s(%s)", i ? " AND " : "", use);
        sj_buf_free(&one);
    }
    sj_buf_free(&alt);
    rc = compile(f, text.p, err, sizeof err);
    sj_buf_free(&text);
    if (rc) {
        sql_filter_free(f);
        return sj_usage(job, "--where: %s", err);
    }
    f->cols = calloc(f->t.ncols + 1, sizeof *f->cols);
    f->pos = calloc(f->t.ncols + 1, sizeof *f->pos);
    f->row = calloc(f->t.ncols + 1, sizeof *f->row);
    if (!f->cols || !f->pos || !f->row) {
        sql_filter_free(f);
        return sj_usage(job, "out of memory");
    }
    for (size_t c = 0; c < f->t.ncols; c++)
        if (f->b.used[c])
            f->cols[f->ncols++] = f->t.names[c];
    *out = f;
    return 0;
}

int sql_filter_option(const char *job, char *const *texts, size_t n, const sheaf_config *cfg,
                      sql_filter **out) {
    *out = NULL;
    if (!n)
        return 0;
    bool named = cfg->input_format && (!strcmp(cfg->input_format, "parquet") ||
                                       (cfg->csv_header && !strcmp(cfg->input_format, "csv")));
    if (!named)
        return sj_usage(job, "--where reads columns by name: give csv input with --csv-header, "
                             "or --input-format parquet");
    return sql_filter_new(job, (const char *const *)texts, n, cfg, out);
}

size_t sql_filter_columns(const sql_filter *f, const char *const **names) {
    *names = f->cols;
    return f->ncols;
}

int sql_filter_row(sheaf_ctx *ctx, sql_filter *f, const sheaf_record *rec) {
    if (rec->header != f->hdr_key || rec->file != f->file_key) {
        for (size_t c = 0; c < f->t.ncols; c++) {
            f->pos[c] = -1;
            if (!f->b.used[c])
                continue;
            const char *name = f->t.names[c];
            for (size_t i = 0; i < rec->nheader; i++) {
                if (strlen(name) == rec->header_lens[i] &&
                    !memcmp(name, rec->header[i], rec->header_lens[i])) {
                    f->pos[c] = (long)i;
                    break;
                }
            }
            if (f->pos[c] < 0)
                return sj_no_column(ctx, rec->file, name, rec->header, rec->header_lens,
                                    rec->nheader);
        }
        f->hdr_key = rec->header;
        f->file_key = rec->file;
    }
    sql_arena_reset(&f->arena);
    for (size_t c = 0; c < f->t.ncols; c++) {
        sql_value *v = &f->row[c];
        memset(v, 0, sizeof *v);
        v->type = (uint8_t)f->t.types[c];
        size_t i = (size_t)f->pos[c];
        if (f->pos[c] < 0 || i >= rec->nfields ||
            (rec->nulls ? rec->nulls[i] : rec->field_lens[i] == 0)) {
            v->null = true;
            continue;
        }
        if (sql_parse_as(f->t.types[c], rec->fields[i], rec->field_lens[i], v))
            return sheaf_fail(ctx, SHEAF_EFORMAT,
                              "%s, offset %llu: column '%s': '%.*s' is not a %s (the type "
                              "inferred from a sample of the input)",
                              rec->file, (unsigned long long)rec->offset, f->t.names[c],
                              (int)(rec->field_lens[i] > 64 ? 64 : rec->field_lens[i]),
                              rec->fields[i], sql_type_name(f->t.types[c]));
    }
    sql_env env = {f->row, NULL, NULL, &f->arena, f->err, sizeof f->err};
    sql_value w;
    if (sql_eval(f->q.where, &env, &w))
        return sheaf_fail(ctx, SHEAF_EUSER, "%s, offset %llu: --where: %s", rec->file,
                          (unsigned long long)rec->offset, f->err);
    return sql_truthy(&w) ? 1 : 0;
}
