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
 * Parquet under partition folders (NAME=VALUE on the way to a file, which the reader adds as
 * fields after the file's columns): each folder name the first file's footer does not hold
 * becomes a column of the table, typed as DuckDB's hive_partitioning types it, by inference
 * over every input file's folder values: BIGINT when each non-null one is an integer, DATE
 * when each is YYYY-MM-DD, else VARCHAR (__HIVE_DEFAULT_PARTITION__ is null). The fields
 * arrive as text and are parsed by that type, as csv fields are.
 *
 * Pruning (sql_filter_prune, the jobs' sheaf_config.prune): the top-level AND conjuncts that
 * read partition columns only are evaluated at planning with a file's folder values, by the
 * same evaluator; one that is false or NULL keeps every row of the file out, so the file is
 * not read.
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
    sql_pruner *pruner;   /* sql_filter_prune: NULL when no conjunct can prune */
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
    sql_pruner_free(f->pruner);
    free(f->pos);
    free(f->row);
    free(f->text);
    free(f);
}

/* The table of the job's inputs (sql_files_table: the files' columns, *nfile of them, then
 * for Parquet the partition folders'). Returns 0 or a code with a message in err. */
static int input_table(const sheaf_config *cfg, bool parquet, sql_table *t, size_t *nfile,
                       char *err, size_t errlen) {
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
        rc = sql_files_table(all, nall, parquet, cfg->csv_delimiter ? cfg->csv_delimiter : ',',
                             t, nfile, err, errlen);
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

/* ---- pruning by partition folders ---- */

struct sql_pruner {
    const sql_table *t;
    bool *part;            /* per column of t: a partition folder's, not the file's */
    bool *absent;          /* per column: a partition column the file's folders lack */
    const sql_node **conj; /* the top-level AND conjuncts that read partition columns only */
    size_t nconj;
    sql_value *row;
    sql_arena arena;
    char err[256];
    uint64_t pruned; /* files ruled out */
};

uint64_t sql_pruner_count(const sql_pruner *p) {
    return p ? p->pruned : 0;
}

void sql_pruner_free(sql_pruner *p) {
    if (!p)
        return;
    sql_arena_free(&p->arena);
    free(p->part);
    free(p->absent);
    free(p->conj);
    free(p->row);
    free(p);
}

/* Counts in *npart the partition columns n reads; false when it reads another column. */
static bool reads_partitions_only(const sql_pruner *p, const sql_node *n, size_t *npart) {
    if (!n)
        return true;
    if (n->kind == N_COL) {
        if (n->colidx < 0 || (size_t)n->colidx >= p->t->ncols || !p->part[n->colidx])
            return false;
        (*npart)++;
    }
    for (size_t i = 0; i < n->nkids; i++)
        if (!reads_partitions_only(p, n->kids[i], npart))
            return false;
    return true;
}

/* Whether n reads a column marked in absent. */
static bool reads_absent(const sql_node *n, const bool *absent) {
    if (n->kind == N_COL && n->colidx >= 0 && absent[n->colidx])
        return true;
    for (size_t i = 0; i < n->nkids; i++)
        if (n->kids[i] && reads_absent(n->kids[i], absent))
            return true;
    return false;
}

/* Adds to p->conj the top-level AND conjuncts of n that read partition columns only. Returns
 * 0 or -1 (out of memory). */
static int find_conjuncts(sql_pruner *p, const sql_node *n) {
    if (n->kind == N_BINOP && n->op == OP_AND)
        return find_conjuncts(p, n->kids[0]) || find_conjuncts(p, n->kids[1]) ? -1 : 0;
    size_t npart = 0;
    if (!reads_partitions_only(p, n, &npart) || !npart)
        return 0;
    const sql_node **c = realloc(p->conj, (p->nconj + 1) * sizeof *c);
    if (!c)
        return -1;
    p->conj = c;
    c[p->nconj++] = n;
    return 0;
}

int sql_pruner_new(const sql_table *t, size_t nfile, const sql_node *where, sql_pruner **out) {
    *out = NULL;
    if (!where || nfile >= t->ncols)
        return 0;
    sql_pruner *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    p->t = t;
    p->part = calloc(t->ncols, sizeof *p->part);
    p->absent = calloc(t->ncols, sizeof *p->absent);
    p->row = calloc(t->ncols, sizeof *p->row);
    if (!p->part || !p->absent || !p->row) {
        sql_pruner_free(p);
        return -1;
    }
    for (size_t c = nfile; c < t->ncols; c++)
        p->part[c] = true;
    if (find_conjuncts(p, where)) {
        sql_pruner_free(p);
        return -1;
    }
    if (!p->nconj)
        sql_pruner_free(p);
    else
        *out = p;
    return 0;
}

int sql_pruner_prune(void *arg, const char *path, const char *const *kv, size_t nkv) {
    sql_pruner *p = arg;
    (void)path;
    const sql_table *t = p->t;
    /* the partition columns' values, parsed by their types as the rows' fields are */
    for (size_t c = 0; c < t->ncols; c++) {
        sql_value *v = &p->row[c];
        memset(v, 0, sizeof *v);
        v->type = (uint8_t)t->types[c];
        v->null = true;
        if (!p->part[c])
            continue;
        size_t k = 0;
        while (k < nkv && strcmp(kv[2 * k], t->names[c]))
            k++;
        const char *text = k < nkv ? kv[2 * k + 1] : NULL;
        p->absent[c] = k == nkv || (text && sql_parse_as(t->types[c], text, strlen(text), v));
        v->null = text == NULL;
    }
    int out = 0;
    for (size_t i = 0; i < p->nconj && !out; i++) {
        if (reads_absent(p->conj[i], p->absent))
            continue; /* the rows will say what is wrong */
        sql_arena_reset(&p->arena);
        sql_env env = {p->row, NULL, NULL, &p->arena, p->err, sizeof p->err};
        sql_value w;
        if (!sql_eval(p->conj[i], &env, &w) && !sql_truthy(&w))
            out = 1;
    }
    sql_arena_reset(&p->arena);
    p->pruned += (uint64_t)out;
    return out;
}

int sql_filter_prune(void *arg, const char *path, const char *const *kv, size_t nkv) {
    sql_filter *f = arg;
    return f->pruner ? sql_pruner_prune(f->pruner, path, kv, nkv) : 0;
}

int sql_filter_new(const char *job, const char *const *texts, size_t n, const sheaf_config *cfg,
                   sql_filter **out) {
    *out = NULL;
    sql_filter *f = calloc(1, sizeof *f);
    if (!f)
        return sj_usage(job, "out of memory");
    bool parquet = cfg->input_format && !strcmp(cfg->input_format, "parquet");
    char err[1536] = "";
    size_t nfile = 0;
    int rc = input_table(cfg, parquet, &f->t, &nfile, err, sizeof err);
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
    if (sql_pruner_new(&f->t, nfile, f->q.where, &f->pruner)) {
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
