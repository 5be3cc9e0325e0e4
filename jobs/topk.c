/*
 * topk.c: the K largest (or, with --smallest, smallest) records by a numeric column, or the K
 * most frequent keys.
 *
 * By value (--column COL, csv or tsv input): output `value<TAB>record`, K lines from the
 * largest value down, where value is the column's text and record the input record as read.
 * Ties are broken by the record's bytes (smaller first), so the answer does not depend on the
 * rank count. Records whose column is not a number are skipped and counted in the user counter
 * "non-numeric values".
 *
 * By count (--count): the key is --column's field (csv/tsv) or the whole line; output
 * `key<TAB>count`, the K most frequent keys from the most frequent down, ties by key. This is
 * two rounds (a driver): a counting round into a fresh work directory (OUT.work-topk-XXXXXX,
 * or inside --work-dir; removed at the end), then a top-K round over its output.
 *
 * --where COND (repeatable, ANDed) keeps only the rows where the SQL condition holds, with
 * sheaf sql's types and NULL rules (sql/filter.c; csv with a header, or Parquet); with
 * --count it filters the counting round.
 *
 * Map-side top-k: every rank keeps its own best K in a heap as it maps (map_cleanup emits
 * them), so at most K records per rank reach the single reducer, which merges them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "sql/filter.h"

typedef struct entry {
    double v;
    char *field; /* the value's text */
    size_t flen;
    char *rec;
    size_t rlen;
} entry;

typedef struct topk_opts {
    uint64_t k;
    const char *column;
    const char *work;
    bool count, smallest;
    bool from_counts; /* round 2 of --count: input lines are key TAB count */
    char **where;     /* --where: SQL conditions (sql/filter.c) */
    size_t nwhere;
    sql_filter *filter;
    entry *heap;      /* the rank's best k so far; heap[0] is the worst of them */
    size_t n;
    uint64_t nonnum;
    sj_buf tmp;
} topk_opts;

static topk_opts topts = {.k = 10};

static int topk_parse(void *udata, const char *name, const char *value) {
    topk_opts *o = udata;
    if (!name)
        return -1;
    if (!strcmp(name, "k"))
        return sj_parse_u64(value, &o->k) || o->k == 0 || o->k > 100000000 ? -1 : 0;
    if (!strcmp(name, "where")) {
        char **w = realloc(o->where, (o->nwhere + 1) * sizeof *w);
        if (!w)
            return -1;
        o->where = w;
        w[o->nwhere++] = (char *)value;
    } else if (!strcmp(name, "column"))
        o->column = value;
    else if (!strcmp(name, "count"))
        o->count = true;
    else if (!strcmp(name, "smallest"))
        o->smallest = true;
    else if (!strcmp(name, "work-dir"))
        o->work = value;
    else
        return -1;
    return 0;
}

static int topk_configure(void *udata, sheaf_config *cfg) {
    topk_opts *o = udata;
    if (!o->count && !o->column)
        return sj_usage("topk", "give --column COL (top records by value) or --count");
    if (sql_filter_option("topk", o->where, o->nwhere, cfg, &o->filter))
        return -1;
    if (o->filter) { /* Parquet files whose partition folders fail it are not read */
        cfg->prune = sql_filter_prune;
        cfg->prune_arg = o->filter;
    }
    if (o->column && (sj_need_columns("topk", cfg, "--column") ||
                      sj_check_columns("topk", cfg, &o->column, 1)))
        return -1;
    if (!o->count)
        cfg->reducers = 1;
    return 0;
}

/* 1 when a is a better answer than b: larger value (smaller with --smallest), then smaller
 * record bytes. */
static int better(const topk_opts *o, const entry *a, const entry *b) {
    if (a->v != b->v)
        return o->smallest ? a->v < b->v : a->v > b->v;
    size_t n = a->rlen < b->rlen ? a->rlen : b->rlen;
    int c = memcmp(a->rec, b->rec, n);
    return c ? c < 0 : a->rlen < b->rlen;
}

static void sift_down(topk_opts *o, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < o->n && better(o, &o->heap[w], &o->heap[l]))
            w = l;
        if (r < o->n && better(o, &o->heap[w], &o->heap[r]))
            w = r;
        if (w == i)
            return;
        entry t = o->heap[i];
        o->heap[i] = o->heap[w];
        o->heap[w] = t;
        i = w;
    }
}

static int set_entry(entry *e, double v, const char *f, size_t flen, const char *r, size_t rlen) {
    char *nf = realloc(e->field, flen + 1), *nr;
    if (!nf)
        return SHEAF_ENOMEM;
    e->field = nf;
    if (!(nr = realloc(e->rec, rlen + 1)))
        return SHEAF_ENOMEM;
    e->rec = nr;
    memcpy(e->field, f, flen);
    memcpy(e->rec, r, rlen);
    e->flen = flen;
    e->rlen = rlen;
    e->v = v;
    return 0;
}

/* Offers a candidate to the heap of the best k. */
static int offer(topk_opts *o, double v, const char *f, size_t flen, const char *r, size_t rlen) {
    entry cand = {.v = v, .rec = (char *)r, .rlen = rlen};
    if (o->n < o->k) {
        if (!o->heap && !(o->heap = calloc((size_t)o->k, sizeof *o->heap)))
            return SHEAF_ENOMEM;
        size_t i = o->n++;
        if (set_entry(&o->heap[i], v, f, flen, r, rlen))
            return SHEAF_ENOMEM;
        while (i > 0 && better(o, &o->heap[(i - 1) / 2], &o->heap[i])) {
            entry t = o->heap[i];
            o->heap[i] = o->heap[(i - 1) / 2];
            o->heap[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
        return 0;
    }
    if (!better(o, &cand, &o->heap[0]))
        return 0;
    if (set_entry(&o->heap[0], v, f, flen, r, rlen))
        return SHEAF_ENOMEM;
    sift_down(o, 0);
    return 0;
}

static void clear_heap(topk_opts *o) {
    for (size_t i = 0; i < o->n; i++) {
        free(o->heap[i].field);
        free(o->heap[i].rec);
    }
    free(o->heap);
    o->heap = NULL;
    o->n = 0;
}

static int topk_setup(sheaf_ctx *ctx, void *udata) {
    topk_opts *o = udata;
    (void)ctx;
    clear_heap(o);
    o->nonnum = 0;
    return 0;
}

static int topk_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    topk_opts *o = udata;
    double v;
    if (o->from_counts) { /* key TAB count */
        const char *tab = NULL;
        for (size_t i = rec->len; i > 0; i--)
            if (rec->data[i - 1] == '\t') {
                tab = rec->data + i - 1;
                break;
            }
        if (!tab)
            return sheaf_fail(ctx, SHEAF_EFORMAT, "no count in %s at %llu", rec->file,
                              (unsigned long long)rec->offset);
        size_t klen = (size_t)(tab - rec->data);
        size_t clen = rec->len - klen - 1;
        if (sj_field_double(tab + 1, clen, &v))
            return sheaf_fail(ctx, SHEAF_EFORMAT, "bad count in %s", rec->file);
        return offer(o, v, tab + 1, clen, rec->data, klen);
    }
    size_t flen;
    int rc;
    if (o->filter && (rc = sql_filter_row(ctx, o->filter, rec)) <= 0)
        return rc;
    const char *f = sj_field(ctx, rec, o->column, &flen, &rc);
    if (!f || sj_field_double(f, flen, &v)) {
        o->nonnum += f != NULL || rc == 0;
        return rc;
    }
    return offer(o, v, f, flen, rec->data, rec->len);
}

/* Emits the rank's best k under one key: value = double, field length, field, record. */
static int topk_map_cleanup(sheaf_ctx *ctx, void *udata) {
    topk_opts *o = udata;
    int rc = 0;
    for (size_t i = 0; i < o->n && !rc; i++) {
        entry *e = &o->heap[i];
        uint64_t fl = e->flen;
        o->tmp.len = 0;
        if (sj_buf_add(&o->tmp, &e->v, 8) || sj_buf_add(&o->tmp, &fl, 8) ||
            sj_buf_add(&o->tmp, e->field, e->flen) || sj_buf_add(&o->tmp, e->rec, e->rlen))
            return SHEAF_ENOMEM;
        rc = sheaf_emit(ctx, "", 0, o->tmp.p, o->tmp.len);
    }
    if (!rc && o->nonnum)
        rc = sheaf_counter_add(ctx, "non-numeric values", (int64_t)o->nonnum);
    clear_heap(o);
    return rc;
}

static const topk_opts *sort_opts;

static int entry_order(const void *a, const void *b) {
    const entry *x = a, *y = b;
    return better(sort_opts, x, y) ? -1 : better(sort_opts, y, x) ? 1 : 0;
}

static int topk_reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                       void *udata) {
    topk_opts *o = udata;
    (void)key;
    (void)klen;
    clear_heap(o);
    const void *v;
    size_t vlen;
    while (sheaf_values_next(vals, &v, &vlen)) {
        const char *p = v;
        double d;
        uint64_t fl;
        if (vlen < 16)
            return sheaf_fail(ctx, SHEAF_EINVAL, "topk: a short value");
        memcpy(&d, p, 8);
        memcpy(&fl, p + 8, 8);
        int rc = offer(o, d, p + 16, (size_t)fl, p + 16 + fl, vlen - 16 - (size_t)fl);
        if (rc)
            return rc;
    }
    sort_opts = o;
    qsort(o->heap, o->n, sizeof *o->heap, entry_order);
    int rc = 0;
    for (size_t i = 0; i < o->n && !rc; i++) {
        entry *e = &o->heap[i];
        if (o->count) /* key TAB count */
            rc = sheaf_emit(ctx, e->rec, e->rlen, e->field, e->flen);
        else
            rc = sheaf_emit(ctx, e->field, e->flen, e->rec, e->rlen);
    }
    clear_heap(o);
    return rc;
}

static int count_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    topk_opts *o = udata;
    int rc;
    if (o->filter && (rc = sql_filter_row(ctx, o->filter, rec)) <= 0)
        return rc;
    if (!o->column)
        return sheaf_emit_u64(ctx, rec->data, rec->len, 1);
    size_t len;
    const char *f = sj_field(ctx, rec, o->column, &len, &rc);
    return f ? sheaf_emit_u64(ctx, f, len, 1) : rc;
}

static int topk_run(MPI_Comm comm, const sheaf_command *cmd, const sheaf_config *cfg,
                    sheaf_result *res) {
    topk_opts *o = cmd->udata;
    if (!o->count)
        return sj_final_round(comm, cmd->job, cfg, cfg->inputs, cfg->ninputs, res);
    sj_work w;
    int rc = sj_work_open(comm, o->work, cfg, "topk", &w, res);
    if (rc)
        return rc;
    sj_buf work = {0};
    if (sj_work_sub(&w, "counts", &work)) {
        sj_work_close(comm, &w, false, "topk", cfg->quiet);
        return sj_result_fail(res, SHEAF_ENOMEM, "out of memory");
    }
    sheaf_job_def counting = {.name = "topk", .map = count_map, .agg = SHEAF_AGG_COUNT,
                              .udata = o};
    rc = sj_round(comm, &counting, cfg, cfg->inputs, cfg->ninputs, work.p, res);
    if (!rc) {
        sheaf_config c2 = *cfg;
        c2.input_format = "lines";
        c2.prune = NULL;
        c2.reducers = 1;
        c2.csv_header = 0;
        c2.record_delimiter = NULL;
        c2.overwrite = cfg->overwrite;
        o->from_counts = true;
        const char *in[1] = {work.p};
        c2.inputs = in;
        c2.ninputs = 1;
        rc = sheaf_run(comm, cmd->job, &c2, res);
    }
    sj_work_close(comm, &w, false, "topk", cfg->quiet);
    sj_buf_free(&work);
    return rc;
}

static const sheaf_option topk_options[] = {
    {"k", "K", "how many (default 10)"},
    {"column", "COL", "the numeric column (csv/tsv name or index); with --count, the key"},
    {"where", "'COND'", "only rows where the SQL condition holds (named columns; repeatable, "
                        "AND)"},
    {"count", NULL, "the K most frequent keys (the --column field or the whole line)"},
    {"smallest", NULL, "the K smallest values instead of the largest"},
    {"work-dir", "DIR", "--count: work in a fresh directory inside DIR (default: beside OUT)"},
    {NULL, NULL, NULL},
};

static const sheaf_job_def topk_job = {
    .name = "topk",
    .map = topk_map,
    .map_cleanup = topk_map_cleanup,
    .reduce = topk_reduce,
    .setup = topk_setup,
    .udata = &topts,
};

const sheaf_command sheaf_cmd_topk = {
    .name = "topk",
    .summary = "the K largest records by a numeric column (value TAB record), or K most "
               "frequent keys (--count)",
    .options = topk_options,
    .parse_option = topk_parse,
    .configure = topk_configure,
    .udata = &topts,
    .job = &topk_job,
    .run = topk_run,
};
