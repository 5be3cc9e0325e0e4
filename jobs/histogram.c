/*
 * histogram.c: bucketed counts of a numeric column (or of lines that are numbers).
 *
 * Buckets: --buckets B (default 10) buckets of --width W starting at --min M, bucket i holding
 * M + i*W <= x < M + (i+1)*W. Without --width the range is [--min, --max] cut into B equal
 * buckets, the last one closed on the right so that max falls in it; a bound not given is
 * taken from the data by a first round (a driver) that finds the column's min and max.
 *
 * Output: `lo<TAB>hi<TAB>count`, one line per bucket in order (empty buckets included, so a
 * histogram always has B lines), plus `-inf<TAB>M<TAB>n` and `END<TAB>inf<TAB>n` lines for
 * values below and above the buckets when there are any. Partitions are ranges of buckets, so
 * `cat OUT/part-r-*` is in bucket order at any --reducers. Values that are not numbers are
 * skipped and counted in the user counter "non-numeric values".
 *
 * Any finite range works, up to -DBL_MAX .. DBL_MAX, whose width (max - min) is not a double:
 * the job keeps half a bucket's width as well (max/2 - min/2 over B, always finite), and where
 * v - min or min + i * width would overflow it works in halves instead. A value's bucket is
 * found as a double and clamped into the integer range -1 .. B before it becomes a key.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

typedef struct hist_opts {
    const char *column;
    uint64_t buckets;
    double width, min, max;
    double half; /* width / 2, finite even when width is not */
    bool has_width, has_min, has_max;
    bool closed; /* the last bucket includes max */
    uint64_t nonnum;
} hist_opts;

static hist_opts hopts = {.buckets = 10};

static int hist_parse(void *udata, const char *name, const char *value) {
    hist_opts *o = udata;
    if (!name)
        return -1;
    if (!strcmp(name, "column")) {
        o->column = value;
        return 0;
    }
    if (!strcmp(name, "buckets"))
        return sj_parse_u64(value, &o->buckets) || o->buckets == 0 || o->buckets > 100000000
                   ? -1
                   : 0;
    if (!strcmp(name, "width")) {
        o->has_width = true;
        return sj_parse_double(value, &o->width) || !(o->width > 0) ? -1 : 0;
    }
    if (!strcmp(name, "min")) {
        o->has_min = true;
        return sj_parse_double(value, &o->min);
    }
    if (!strcmp(name, "max")) {
        o->has_max = true;
        return sj_parse_double(value, &o->max);
    }
    return -1;
}

static int hist_configure(void *udata, sheaf_config *cfg) {
    hist_opts *o = udata;
    if (o->column && (sj_need_columns("histogram", cfg, "--column") ||
                      sj_check_columns("histogram", cfg, &o->column, 1)))
        return -1;
    if (o->has_width && o->has_max)
        return sj_usage("histogram", "give --width or --max, not both");
    if (o->has_min && o->has_max && !(o->max > o->min))
        return sj_usage("histogram", "--max must be larger than --min");
    return 0;
}

static int value_of(sheaf_ctx *ctx, const sheaf_record *rec, hist_opts *o, double *v, int *rc) {
    size_t len = rec->len;
    const char *f = rec->data;
    *rc = 0;
    if (o->column && !(f = sj_field(ctx, rec, o->column, &len, rc)))
        return -1;
    return sj_field_double(f, len, v);
}

/* The bucket of a finite v: -1 below the first, buckets above the last. */
static int64_t bucket_of(const hist_opts *o, double v) {
    if (v < o->min)
        return -1;
    double d = v - o->min, b;
    if (isfinite(d) && isfinite(o->width))
        b = floor(d / o->width);
    else
        b = floor((v / 2 - o->min / 2) / o->half); /* both halves finite, and their sum */
    if (!(b < (double)o->buckets)) { /* NaN too (a zero half width): past the top */
        if (o->closed && v <= o->max)
            return (int64_t)o->buckets - 1;
        return (int64_t)o->buckets;
    }
    return b < 0 ? 0 : (int64_t)b;
}

/* The lower edge of bucket i (0 <= i <= buckets): min + i * width, or, where that is not
 * finite, (min / 2 + i * half) * 2, the same number computed in halves (scaling by 2 is
 * exact), whose sum stays between min / 2 and max / 2. */
static double edge(const hist_opts *o, int64_t i) {
    if (i == 0)
        return o->min;
    if (o->closed && (uint64_t)i == o->buckets)
        return o->max;
    double e = o->min + (double)i * o->width;
    if (isfinite(e))
        return e;
    return (o->min / 2 + (double)i * o->half) * 2;
}

static int hist_setup(sheaf_ctx *ctx, void *udata) {
    hist_opts *o = udata;
    (void)ctx;
    o->nonnum = 0;
    return 0;
}

static int hist_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    hist_opts *o = udata;
    double v;
    int rc;
    if (value_of(ctx, rec, o, &v, &rc)) {
        o->nonnum++;
        return rc;
    }
    unsigned char key[8];
    sheaf_key_i64(bucket_of(o, v), key);
    return sheaf_emit_u64(ctx, key, 8, 1);
}

/* Rank 0 gives every bucket a zero, so that empty buckets have their line. */
static int hist_map_cleanup(sheaf_ctx *ctx, void *udata) {
    hist_opts *o = udata;
    int rc = o->nonnum ? sheaf_counter_add(ctx, "non-numeric values", (int64_t)o->nonnum) : 0;
    if (sheaf_rank(ctx) != 0)
        return rc;
    for (uint64_t i = 0; i < o->buckets && !rc; i++) {
        unsigned char key[8];
        sheaf_key_i64((int64_t)i, key);
        rc = sheaf_emit_u64(ctx, key, 8, 0);
    }
    return rc;
}

static uint32_t hist_partition(const void *key, size_t klen, uint32_t nparts, void *udata) {
    const hist_opts *o = udata;
    if (klen != 8)
        return 0;
    int64_t b = (int64_t)(sheaf_key_to_u64(key) ^ (1ull << 63)) + 1; /* 0 .. buckets + 1 */
    b = b < 0 ? 0 : (uint64_t)b > o->buckets + 1 ? (int64_t)o->buckets + 1 : b;
    return (uint32_t)((unsigned __int128)(uint64_t)b * nparts / (o->buckets + 2));
}

static int hist_reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                       void *udata) {
    hist_opts *o = udata;
    uint64_t n = 0;
    const void *v;
    size_t vlen;
    while (sheaf_values_next(vals, &v, &vlen))
        n += sheaf_value_u64(v, vlen);
    int64_t b = klen == 8 ? (int64_t)(sheaf_key_to_u64(key) ^ (1ull << 63)) : 0;
    char lo[64], hi[64], line[160];
    double top = edge(o, (int64_t)o->buckets);
    if (b < 0) {
        snprintf(lo, sizeof lo, "-inf");
        sj_fmt_double(hi, sizeof hi, o->min);
    } else if (b >= (int64_t)o->buckets) {
        sj_fmt_double(lo, sizeof lo, top);
        snprintf(hi, sizeof hi, "inf");
    } else {
        sj_fmt_double(lo, sizeof lo, edge(o, b));
        sj_fmt_double(hi, sizeof hi, edge(o, b + 1));
    }
    int len = snprintf(line, sizeof line, "%s\t%s", lo, hi);
    return sheaf_emit_u64(ctx, line, (size_t)len, n);
}

/* The range round: min and max of the column, as two doubles under one key. */
static int range_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    double v, mm[2];
    int rc;
    if (value_of(ctx, rec, udata, &v, &rc))
        return rc;
    mm[0] = mm[1] = v;
    return sheaf_emit(ctx, "r", 1, mm, sizeof mm);
}

static int range_merge(sheaf_values *vals, double mm[2]) {
    double x[2];
    const void *v;
    size_t vlen;
    mm[0] = INFINITY;
    mm[1] = -INFINITY;
    while (sheaf_values_next(vals, &v, &vlen)) {
        if (vlen != sizeof x)
            continue;
        memcpy(x, v, sizeof x);
        mm[0] = x[0] < mm[0] ? x[0] : mm[0];
        mm[1] = x[1] > mm[1] ? x[1] : mm[1];
    }
    return 0;
}

static int range_combine(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                         void *udata) {
    double mm[2];
    (void)udata;
    range_merge(vals, mm);
    return sheaf_emit(ctx, key, klen, mm, sizeof mm);
}

/* Writes `r<TAB>min<TAB>max` (exact decimal). */
static int range_reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                        void *udata) {
    double mm[2];
    char txt[80];
    (void)udata;
    range_merge(vals, mm);
    int n = snprintf(txt, sizeof txt, "%.17g\t%.17g", mm[0], mm[1]);
    return sheaf_emit(ctx, key, klen, txt, (size_t)n);
}

static int read_range(void *arg, char *line, size_t len) {
    double *mm = arg;
    (void)len;
    if (line[0] == 'r' && line[1] == '\t') {
        char *end;
        mm[0] = strtod(line + 2, &end);
        mm[1] = strtod(end, NULL);
    }
    return 0;
}

static int hist_run(MPI_Comm comm, const sheaf_command *cmd, const sheaf_config *cfg,
                    sheaf_result *res) {
    hist_opts *o = cmd->udata;
    int rank;
    MPI_Comm_rank(comm, &rank);
    if (!o->has_width && !(o->has_min && o->has_max)) {
        sj_work w;
        int rc = sj_work_open(comm, NULL, cfg, "histogram", &w, res);
        if (rc)
            return rc;
        sj_buf work = {0};
        if (sj_work_sub(&w, "range", &work)) {
            sj_work_close(comm, &w, false, "histogram", cfg->quiet);
            return sj_result_fail(res, SHEAF_ENOMEM, "out of memory");
        }
        sheaf_job_def range = {.name = "histogram", .map = range_map, .combine = range_combine,
                               .reduce = range_reduce, .udata = o};
        sheaf_config c = *cfg;
        c.reducers = 1;
        rc = sj_round(comm, &range, &c, cfg->inputs, cfg->ninputs, work.p, res);
        double mm[2] = {0, 0};
        if (!rc && rank == 0) {
            mm[0] = NAN;
            sj_each_output_line(work.p, read_range, mm);
        }
        sj_work_close(comm, &w, false, "histogram", cfg->quiet);
        sj_buf_free(&work);
        if (rc)
            return rc;
        MPI_Bcast(mm, 2, MPI_DOUBLE, 0, comm);
        if (isnan(mm[0])) /* no numbers at all */
            mm[0] = mm[1] = 0;
        if (!o->has_min)
            o->min = mm[0];
        if (!o->has_max)
            o->max = mm[1];
        if (!(o->max > o->min))
            o->max = o->min + 1;
    }
    if (!o->has_width) {
        /* Halves first: max - min overflows for a range wider than DBL_MAX. */
        o->half = (o->max / 2 - o->min / 2) / (double)o->buckets;
        o->width = (o->max - o->min) / (double)o->buckets; /* inf for such a range */
        o->closed = true;
    } else {
        o->half = o->width / 2;
    }
    return sj_final_round(comm, cmd->job, cfg, cfg->inputs, cfg->ninputs, res);
}

static const sheaf_option hist_options[] = {
    {"column", "COL", "csv/tsv column name or index (default: each line is a number)"},
    {"buckets", "B", "number of buckets (default 10)"},
    {"width", "W", "bucket width (default: (max - min) / B)"},
    {"min", "M", "lower bound of the first bucket (default: the smallest value, or 0 with "
                 "--width)"},
    {"max", "X", "upper bound of the last bucket (default: the largest value)"},
    {NULL, NULL, NULL},
};

static const sheaf_job_def histogram_job = {
    .name = "histogram",
    .map = hist_map,
    .map_cleanup = hist_map_cleanup,
    .reduce = hist_reduce,
    .agg = SHEAF_AGG_SUM_U64,
    .partition = hist_partition,
    .setup = hist_setup,
    .udata = &hopts,
};

const sheaf_command sheaf_cmd_histogram = {
    .name = "histogram",
    .summary = "bucketed counts of a numeric column: lo TAB hi TAB count, in bucket order",
    .options = hist_options,
    .parse_option = hist_parse,
    .configure = hist_configure,
    .udata = &hopts,
    .job = &histogram_job,
    .run = hist_run,
};
