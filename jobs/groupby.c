/*
 * groupby.c: SQL-like aggregation over csv (or tsv) records.
 *
 *   sheaf groupby --key city,year --agg count,sum:amount,avg:amount,min:score,max:score,
 *                 distinct:tag --where 'amount >= 10' --where 'city != Oslo' -i t.csv ...
 *
 * is SELECT city, year, COUNT(*), SUM(amount), AVG(amount), MIN(score), MAX(score),
 * COUNT(DISTINCT tag) ... WHERE amount >= 10 AND city <> 'Oslo' GROUP BY city, year.
 *
 * Output: `key<TAB>agg1,agg2,...` per group, aggregates in --agg order. The key is the group's
 * key fields joined by commas (a field holding a comma, quote, tab or newline is quoted csv
 * style); without --key the whole input is one group whose key is `*`. count is the number of
 * rows; sum, avg, min and max take the fields that are numbers and ignore the others (empty
 * fields, text; counted in the user counter "non-numeric values"), like SQL ignores NULL, and
 * are empty when a group has no number; distinct counts distinct non-empty field values.
 * Numbers are written in the shortest form that reads back exactly.
 *
 * --where COL OP VALUE (OP one of = != < <= > >=; repeat for AND) keeps a row when the
 * comparison holds: numerically when the field and VALUE both parse as numbers, else bytewise.
 * A row without the field fails the comparison.
 *
 * Each group's partial state (count; sum and n; min/max and n; the sorted distinct values) is
 * combined map-side, so a rank ships one state per group it saw. distinct keeps a group's
 * distinct values in memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

enum { A_COUNT, A_SUM, A_AVG, A_MIN, A_MAX, A_DISTINCT };

typedef struct agg_spec {
    int kind;
    char *col;
} agg_spec;

enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

typedef struct where_spec {
    char *col;
    int op;
    char *value;
    double num;
    bool isnum;
} where_spec;

/* One group's state while merging. */
typedef struct gacc {
    uint64_t count;
    double *v;
    uint64_t *n;
    sj_buf *items; /* distinct: (u32 length, bytes) items */
} gacc;

typedef struct gb_opts {
    char **keys;
    size_t nkeys;
    agg_spec *aggs;
    size_t naggs;
    where_spec *wh;
    size_t nwh;
    gacc acc;
    sj_buf key, state, out;
    uint64_t nonnum;
} gb_opts;

static gb_opts gbo;

static int parse_aggs(gb_opts *o, const char *text) {
    char **list;
    size_t n;
    if (sj_split(text, ',', &list, &n))
        return -1;
    static const char *const names[] = {"count", "sum", "avg", "min", "max", "distinct"};
    int rc = 0;
    o->aggs = calloc(n, sizeof *o->aggs);
    if (!o->aggs)
        rc = -1;
    for (size_t i = 0; i < n && !rc; i++) {
        char *colon = strchr(list[i], ':');
        size_t nl = colon ? (size_t)(colon - list[i]) : strlen(list[i]);
        int kind = -1;
        for (int k = 0; k < 6; k++)
            if (strlen(names[k]) == nl && !strncmp(list[i], names[k], nl))
                kind = k;
        if (kind < 0 || (kind == A_COUNT) != !colon || (colon && !colon[1])) {
            rc = sj_usage("groupby", "bad aggregate '%s' (count, sum:COL, avg:COL, min:COL, "
                                     "max:COL, distinct:COL)", list[i]);
            break;
        }
        o->aggs[i].kind = kind;
        o->aggs[i].col = colon ? strdup(colon + 1) : NULL;
        o->naggs++;
    }
    sj_free_list(list, n);
    return rc;
}

static int parse_where(gb_opts *o, const char *text) {
    const char *p = text;
    while (*p && !strchr("=!<>", *p))
        p++;
    if (!*p)
        return sj_usage("groupby", "--where '%s': no operator (= != < <= > >=)", text);
    const char *q = p;
    int op;
    if (q[0] == '=')
        op = OP_EQ, q += 1 + (q[1] == '=');
    else if (q[0] == '!' && q[1] == '=')
        op = OP_NE, q += 2;
    else if (q[0] == '<')
        op = q[1] == '=' ? OP_LE : q[1] == '>' ? OP_NE : OP_LT,
        q += 1 + (q[1] == '=' || q[1] == '>');
    else if (q[0] == '>')
        op = q[1] == '=' ? OP_GE : OP_GT, q += 1 + (q[1] == '=');
    else
        return sj_usage("groupby", "--where '%s': bad operator", text);
    const char *cs = text, *ce = p;
    while (cs < ce && *cs == ' ')
        cs++;
    while (ce > cs && ce[-1] == ' ')
        ce--;
    while (*q == ' ')
        q++;
    size_t vl = strlen(q);
    while (vl && q[vl - 1] == ' ')
        vl--;
    if (ce == cs)
        return sj_usage("groupby", "--where '%s': no column", text);
    where_spec *w = realloc(o->wh, (o->nwh + 1) * sizeof *w);
    if (!w)
        return -1;
    o->wh = w;
    w = &o->wh[o->nwh++];
    w->col = strndup(cs, (size_t)(ce - cs));
    w->op = op;
    w->value = strndup(q, vl);
    w->isnum = sj_field_double(w->value, vl, &w->num) == 0;
    return 0;
}

static int gb_parse(void *udata, const char *name, const char *value) {
    gb_opts *o = udata;
    if (!name)
        return -1;
    if (!strcmp(name, "key")) {
        sj_free_list(o->keys, o->nkeys);
        return sj_split(value, ',', &o->keys, &o->nkeys) ? -1 : 0;
    }
    if (!strcmp(name, "agg"))
        return parse_aggs(o, value);
    if (!strcmp(name, "where"))
        return parse_where(o, value);
    return -1;
}

static int gb_configure(void *udata, sheaf_config *cfg) {
    gb_opts *o = udata;
    if (sj_need_columns("groupby", cfg, "groupby"))
        return -1;
    if (!o->naggs && parse_aggs(o, "count"))
        return -1;
    o->acc.v = calloc(o->naggs, sizeof *o->acc.v);
    o->acc.n = calloc(o->naggs, sizeof *o->acc.n);
    o->acc.items = calloc(o->naggs, sizeof *o->acc.items);
    if (!o->acc.v || !o->acc.n || !o->acc.items)
        return sj_usage("groupby", "out of memory");
    return 0;
}

static bool where_ok(sheaf_ctx *ctx, const sheaf_record *rec, const where_spec *w, int *rc) {
    size_t len;
    const char *f = sj_field(ctx, rec, w->col, &len, rc);
    if (!f)
        return false;
    int c;
    double x;
    if (w->isnum && sj_field_double(f, len, &x) == 0) {
        c = x < w->num ? -1 : x > w->num;
    } else {
        size_t vl = strlen(w->value), n = len < vl ? len : vl;
        c = memcmp(f, w->value, n);
        if (!c)
            c = len < vl ? -1 : len > vl;
    }
    switch (w->op) {
    case OP_EQ: return c == 0;
    case OP_NE: return c != 0;
    case OP_LT: return c < 0;
    case OP_LE: return c <= 0;
    case OP_GT: return c > 0;
    default: return c >= 0;
    }
}

static int add_key_field(sj_buf *b, const char *f, size_t len) {
    bool quote = false;
    for (size_t i = 0; i < len && !quote; i++)
        quote = strchr(",\"\t\n\r", f[i]) != NULL && f[i] != '\0';
    if (!quote)
        return sj_buf_add(b, f, len);
    int rc = sj_buf_addc(b, '"');
    for (size_t i = 0; i < len && !rc; i++)
        rc = f[i] == '"' ? sj_buf_add(b, "\"\"", 2) : sj_buf_addc(b, f[i]);
    return rc ? rc : sj_buf_addc(b, '"');
}

static void acc_reset(gb_opts *o) {
    o->acc.count = 0;
    for (size_t i = 0; i < o->naggs; i++) {
        o->acc.v[i] = 0;
        o->acc.n[i] = 0;
        o->acc.items[i].len = 0;
    }
}

static void acc_number(gb_opts *o, size_t i, double x) {
    int k = o->aggs[i].kind;
    if (o->acc.n[i] == 0)
        o->acc.v[i] = k == A_SUM || k == A_AVG ? 0 : x;
    if (k == A_SUM || k == A_AVG)
        o->acc.v[i] += x;
    else if (k == A_MIN && x < o->acc.v[i])
        o->acc.v[i] = x;
    else if (k == A_MAX && x > o->acc.v[i])
        o->acc.v[i] = x;
}

static int add_item(sj_buf *b, const void *p, uint32_t len) {
    return sj_buf_add(b, &len, 4) || sj_buf_add(b, p, len) ? SHEAF_ENOMEM : 0;
}

/* Merges a serialized state into the accumulator. */
static int acc_merge(gb_opts *o, const char *p, size_t len) {
    const char *end = p + len;
    uint64_t c;
    if (len < 8)
        return SHEAF_EINVAL;
    memcpy(&c, p, 8);
    p += 8;
    o->acc.count += c;
    for (size_t i = 0; i < o->naggs; i++) {
        int k = o->aggs[i].kind;
        if (k == A_COUNT)
            continue;
        if (k == A_DISTINCT) {
            uint32_t m;
            if (end - p < 4)
                return SHEAF_EINVAL;
            memcpy(&m, p, 4);
            p += 4;
            for (uint32_t j = 0; j < m; j++) {
                uint32_t l;
                if (end - p < 4)
                    return SHEAF_EINVAL;
                memcpy(&l, p, 4);
                if ((size_t)(end - p) < 4 + (size_t)l)
                    return SHEAF_EINVAL;
                if (add_item(&o->acc.items[i], p + 4, l))
                    return SHEAF_ENOMEM;
                p += 4 + l;
            }
            continue;
        }
        double x;
        uint64_t n;
        if (end - p < 16)
            return SHEAF_EINVAL;
        memcpy(&x, p, 8);
        memcpy(&n, p + 8, 8);
        p += 16;
        if (n) {
            if (k == A_SUM || k == A_AVG)
                o->acc.v[i] += x;
            else if (o->acc.n[i] == 0 || (k == A_MIN ? x < o->acc.v[i] : x > o->acc.v[i]))
                o->acc.v[i] = x;
            o->acc.n[i] += n;
        }
    }
    return 0;
}

typedef struct item {
    const char *p;
    uint32_t len;
} item;

static int item_cmp(const void *a, const void *b) {
    const item *x = a, *y = b;
    uint32_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Sorts the distinct items of aggregate i and drops repeats; returns how many remain and
 * appends them (count first) to out when out is not NULL. */
static int64_t distinct_items(gb_opts *o, size_t i, sj_buf *out) {
    sj_buf *b = &o->acc.items[i];
    size_t n = 0;
    for (size_t off = 0; off + 4 <= b->len; n++) {
        uint32_t l;
        memcpy(&l, b->p + off, 4);
        off += 4 + l;
    }
    item *v = n ? malloc(n * sizeof *v) : NULL;
    if (n && !v)
        return -1;
    size_t off = 0;
    for (size_t j = 0; j < n; j++) {
        memcpy(&v[j].len, b->p + off, 4);
        v[j].p = b->p + off + 4;
        off += 4 + v[j].len;
    }
    if (n)
        qsort(v, n, sizeof *v, item_cmp);
    size_t m = 0;
    for (size_t j = 0; j < n; j++)
        if (j == 0 || item_cmp(&v[j], &v[j - 1]))
            v[m++] = v[j];
    int rc = 0;
    if (out) {
        uint32_t mm = (uint32_t)m;
        rc = sj_buf_add(out, &mm, 4);
        for (size_t j = 0; j < m && !rc; j++)
            rc = add_item(out, v[j].p, v[j].len);
    }
    free(v);
    return rc ? -1 : (int64_t)m;
}

static int acc_serialize(gb_opts *o, sj_buf *out) {
    out->len = 0;
    if (sj_buf_add(out, &o->acc.count, 8))
        return SHEAF_ENOMEM;
    for (size_t i = 0; i < o->naggs; i++) {
        int k = o->aggs[i].kind;
        if (k == A_COUNT)
            continue;
        if (k == A_DISTINCT) {
            if (distinct_items(o, i, out) < 0)
                return SHEAF_ENOMEM;
            continue;
        }
        if (sj_buf_add(out, &o->acc.v[i], 8) || sj_buf_add(out, &o->acc.n[i], 8))
            return SHEAF_ENOMEM;
    }
    return 0;
}

static int gb_setup(sheaf_ctx *ctx, void *udata) {
    gb_opts *o = udata;
    (void)ctx;
    o->nonnum = 0;
    return 0;
}

static int gb_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    gb_opts *o = udata;
    int rc = 0;
    for (size_t i = 0; i < o->nwh; i++)
        if (!where_ok(ctx, rec, &o->wh[i], &rc))
            return rc;
    o->key.len = 0;
    if (o->nkeys == 0 && sj_buf_add(&o->key, "*", 1))
        return SHEAF_ENOMEM;
    for (size_t i = 0; i < o->nkeys; i++) {
        size_t len;
        const char *f = sj_field(ctx, rec, o->keys[i], &len, &rc);
        if (!f) {
            if (rc)
                return rc;
            f = "";
            len = 0;
        }
        if ((i && sj_buf_addc(&o->key, ',')) || add_key_field(&o->key, f, len))
            return SHEAF_ENOMEM;
    }
    acc_reset(o);
    o->acc.count = 1;
    for (size_t i = 0; i < o->naggs; i++) {
        int k = o->aggs[i].kind;
        if (k == A_COUNT)
            continue;
        size_t len;
        const char *f = sj_field(ctx, rec, o->aggs[i].col, &len, &rc);
        if (!f) {
            if (rc)
                return rc;
            continue;
        }
        double x;
        if (k == A_DISTINCT) {
            if (len && add_item(&o->acc.items[i], f, (uint32_t)len))
                return SHEAF_ENOMEM;
        } else if (sj_field_double(f, len, &x) == 0) {
            acc_number(o, i, x);
            o->acc.n[i] = 1;
        } else {
            o->nonnum++;
        }
    }
    if (acc_serialize(o, &o->state))
        return SHEAF_ENOMEM;
    return sheaf_emit(ctx, o->key.p, o->key.len, o->state.p, o->state.len);
}

static int merge_all(gb_opts *o, sheaf_values *vals) {
    acc_reset(o);
    const void *v;
    size_t vlen;
    while (sheaf_values_next(vals, &v, &vlen)) {
        int rc = acc_merge(o, v, vlen);
        if (rc)
            return rc;
    }
    return 0;
}

static int gb_combine(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                      void *udata) {
    gb_opts *o = udata;
    int rc = merge_all(o, vals);
    if (!rc)
        rc = acc_serialize(o, &o->state);
    return rc ? rc : sheaf_emit(ctx, key, klen, o->state.p, o->state.len);
}

static int gb_reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                     void *udata) {
    gb_opts *o = udata;
    int rc = merge_all(o, vals);
    if (rc)
        return rc;
    o->out.len = 0;
    for (size_t i = 0; i < o->naggs && !rc; i++) {
        char num[64] = "";
        int k = o->aggs[i].kind;
        if (k == A_COUNT)
            snprintf(num, sizeof num, "%llu", (unsigned long long)o->acc.count);
        else if (k == A_DISTINCT)
            snprintf(num, sizeof num, "%lld", (long long)distinct_items(o, i, NULL));
        else if (o->acc.n[i])
            sj_fmt_double(num, sizeof num,
                          k == A_AVG ? o->acc.v[i] / (double)o->acc.n[i] : o->acc.v[i]);
        rc = (i && sj_buf_addc(&o->out, ',')) || sj_buf_add(&o->out, num, strlen(num));
    }
    if (rc)
        return SHEAF_ENOMEM;
    return sheaf_emit(ctx, key, klen, o->out.p, o->out.len);
}

static int gb_cleanup(sheaf_ctx *ctx, void *udata) {
    gb_opts *o = udata;
    return o->nonnum ? sheaf_counter_add(ctx, "non-numeric values", (int64_t)o->nonnum) : 0;
}

static const sheaf_option gb_options[] = {
    {"key", "COLS", "group by these columns (comma-separated names or indexes)"},
    {"agg", "LIST", "count,sum:COL,avg:COL,min:COL,max:COL,distinct:COL (default count)"},
    {"where", "'COL OP V'", "keep rows where COL OP V holds (= != < <= > >=); repeat for AND"},
    {NULL, NULL, NULL},
};

const sheaf_job_def sheaf_job_groupby = {
    .name = "groupby",
    .summary = "SQL-like GROUP BY over csv: key TAB agg1,agg2,... (count sum avg min max "
               "distinct, --where)",
    .map = gb_map,
    .combine = gb_combine,
    .reduce = gb_reduce,
    .setup = gb_setup,
    .cleanup = gb_cleanup,
    .options = gb_options,
    .parse_option = gb_parse,
    .configure = gb_configure,
    .udata = &gbo,
};
