/*
 * distinct.c: the distinct values of a column (or of whole lines) and how often each occurs.
 *
 * Output: `value<TAB>count`, one line per distinct value, each partition sorted by value.
 * Without --column the value is the whole line (lines input: `sort | uniq -c`); with
 * --column NAME|N (csv or tsv input) it is that field, unquoted. Records without the column
 * (short csv records with no header) are skipped and counted in the user counter
 * "records without the column"; a name that is not in a file's header fails the job. The
 * user counter "distinct values" is the number of output lines.
 *
 * --where COND (repeatable, ANDed) counts only the rows where the SQL condition holds, with
 * sheaf sql's types and NULL rules (sql/filter.c; csv with a header, or Parquet).
 *
 * Counting is the runtime's built-in count, combined map-side, so only distinct values per
 * rank are shuffled.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "sql/filter.h"

typedef struct distinct_opts {
    const char *column;
    uint64_t missing;
    char **where; /* --where: SQL conditions (sql/filter.c) */
    size_t nwhere;
    sql_filter *filter;
} distinct_opts;

static distinct_opts dopts;

static int distinct_parse(void *udata, const char *name, const char *value) {
    distinct_opts *o = udata;
    if (name && !strcmp(name, "where")) {
        char **w = realloc(o->where, (o->nwhere + 1) * sizeof *w);
        if (!w)
            return -1;
        o->where = w;
        w[o->nwhere++] = (char *)value;
        return 0;
    }
    if (!name || strcmp(name, "column"))
        return -1;
    o->column = value;
    return 0;
}

static int distinct_configure(void *udata, sheaf_config *cfg) {
    distinct_opts *o = udata;
    if (sql_filter_option("distinct", o->where, o->nwhere, cfg, &o->filter))
        return -1;
    if (o->filter) { /* Parquet files whose partition folders fail it are not read */
        cfg->prune = sql_filter_prune;
        cfg->prune_arg = o->filter;
    }
    if (!o->column)
        return 0;
    return sj_need_columns("distinct", cfg, "--column") ||
           sj_check_columns("distinct", cfg, &o->column, 1);
}

static int distinct_setup(sheaf_ctx *ctx, void *udata) {
    distinct_opts *o = udata;
    (void)ctx;
    o->missing = 0;
    return 0;
}

static int distinct_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    distinct_opts *o = udata;
    int rc;
    if (o->filter && (rc = sql_filter_row(ctx, o->filter, rec)) <= 0)
        return rc;
    if (!o->column)
        return sheaf_emit_u64(ctx, rec->data, rec->len, 1);
    size_t len;
    const char *f = sj_field(ctx, rec, o->column, &len, &rc);
    if (!f) {
        o->missing++;
        return rc;
    }
    return sheaf_emit_u64(ctx, f, len, 1);
}

static int distinct_reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                           void *udata) {
    (void)udata;
    uint64_t n = 0;
    const void *v;
    size_t vlen;
    while (sheaf_values_next(vals, &v, &vlen))
        n += sheaf_value_u64(v, vlen);
    int rc = sheaf_counter_add(ctx, "distinct values", 1);
    return rc ? rc : sheaf_emit_u64(ctx, key, klen, n);
}

static int distinct_cleanup(sheaf_ctx *ctx, void *udata) {
    distinct_opts *o = udata;
    return sheaf_counter_add(ctx, "records without the column", (int64_t)o->missing);
}

static const sheaf_option distinct_options[] = {
    {"column", "COL", "csv/tsv column name or 0-based index (default: the whole line)"},
    {"where", "'COND'", "count only rows where the SQL condition holds (named columns; "
                        "repeatable, AND)"},
    {NULL, NULL, NULL},
};

static const sheaf_job_def distinct_job = {
    .name = "distinct",
    .map = distinct_map,
    .reduce = distinct_reduce,
    .agg = SHEAF_AGG_COUNT,
    .setup = distinct_setup,
    .cleanup = distinct_cleanup,
    .udata = &dopts,
};

const sheaf_command sheaf_cmd_distinct = {
    .name = "distinct",
    .summary = "distinct values of a column (or whole lines) with counts: value TAB count",
    .options = distinct_options,
    .parse_option = distinct_parse,
    .configure = distinct_configure,
    .udata = &dopts,
    .job = &distinct_job,
};
