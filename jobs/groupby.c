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
 * are empty when a group has no number; a row too short for a key column given by number (csv
 * without a header) has an empty field there, counted in "key fields missing"; distinct
 * counts distinct non-empty field values.
 * Numbers are written in the shortest form that reads back exactly.
 *
 * Integers are exact: while every value of an aggregate is a decimal integer and the sum
 * fits in 64 bits, sum, min and max are int64 (avg divides that sum as a double); otherwise
 * sums are doubles, and an integer above 2^53 is rounded. A sum that would overflow the double
 * range does not become inf: the state keeps it scaled, as s * 2^e (e is 0 until a sum
 * overflows, so ordinary sums are computed exactly as plain double additions), and avg is
 * then s / n * 2^e, finite for finite values. A sum beyond the double range is written from a
 * long double where that type has a wider range (x86), else as inf.
 *
 * --where takes a SQL condition (repeat for AND) with sheaf sql's types and NULL rules
 * (sql/filter.c) over named columns (csv with a header, Parquet); the bare-word form
 * COL OP WORD is read as COL OP 'WORD' when it binds no other way. Without a header, --where
 * COL OP VALUE (OP one of = != < <= > >=) compares column numbers' fields: numerically when
 * the field and VALUE both parse as numbers, else bytewise; a row without the field fails it.
 *
 * --output-format csv (and parquet) writes typed rows: one column per key and aggregate,
 * under a header of their names.
 *
 * Each group's partial state (count; sum and n; min/max and n; the distinct values) is
 * combined map-side, in the job's own table (in-mapper combining): a row updates its group's
 * state in place, and the states are emitted when the table reaches 32 MiB (or a 64th of
 * --memory) and after the rank's last map call; the job's combiner merges the states a rank
 * emitted for a group more than once, and the reducer merges the ranks'. So a rank ships
 * about one state per group it saw. distinct keeps a group's distinct values in memory.
 * Columns are looked up by name once per input file, and a column that several aggregates
 * read is parsed once per row.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "sql/filter.h"

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

/* One group's state: while merging, or a view of a group of the map-side table. */
/* One aggregate's state in 16 bytes, so a group's states lie side by side and the table of a
 * few thousand groups stays in the cache (a group of count and four sums fills 80 bytes):
 *  - while e is EXACT, every value so far was an integer, and iv is the exact sum, min or max;
 *    else v is the double: for sum and avg, the sum scaled by 2^-e (e is 0 until a sum would
 *    overflow; it reaches at most 64, as the sum of n finite doubles is below n * DBL_MAX);
 *  - n counts the values (48 bits: 2.8e14 values a group). */
typedef struct aggst {
    union {
        double v;
        int64_t iv;
    };
    uint64_t n : 48;
    int64_t e : 16;
} aggst;

typedef struct gacc {
    uint64_t count;
    aggst *s;      /* one per aggregate */
    sj_buf *items; /* distinct: (u32 length, bytes) items */
} gacc;

#define EXACT (-32768) /* aggst.e, and the state's e as it travels (acc_serialize) */

/* A row's field of a column, fetched (p not NULL) and parsed (parsed) at most once a row. */
typedef struct rowfield {
    const char *p;
    size_t len;
    double x; /* NAN: not a number */
    int64_t ix; /* the integer, when isint */
    bool isint;
    bool int_known; /* isint and ix are set: only a state still exact asks (field_is_int) */
    bool parsed;
} rowfield;

/* A column as the map reads it: its index in the current file's header (found once per file),
 * or its number when it is written as one; -1 for neither. */
typedef struct colref {
    const char *name;
    long header_index, number;
} colref;

/* The map-side table of groups: open addressing over group numbers, the groups' keys in one
 * arena and their states in arrays (naggs entries a group for v, n and items). */
typedef struct gentry {
    uint64_t hash, count;
    uint32_t koff, klen;
} gentry;

typedef struct gtable {
    uint32_t *slots; /* group number + 1; 0 is empty */
    size_t mask, ngroups, cap;
    gentry *ents;
    sj_buf keys;
    aggst *s;      /* naggs per group */
    sj_buf *items; /* NULL when no aggregate is distinct */
    size_t item_bytes;
    uint64_t rows;         /* rows added since the table was last emitted */
    uint64_t rows_before;  /* rows the table took before that, */
    uint64_t groups_before; /* and the groups it emitted for them */
} gtable;

/* The table is emitted and emptied when its bytes reach GROUPS_MAX, or a 64th of --memory
 * when that is less. Whenever it is full, and when it has taken CHECK_ROWS rows, the rank
 * looks at how well it combines: once it has taken MIN_ROWS rows in all, if its groups are
 * more than half of them, the table is emitted and the rank's later rows bypass it (gb_map). */
#define GROUPS_MAX ((size_t)32 << 20)
#define CHECK_ROWS 65536
#define MIN_ROWS 1024

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
    uint64_t nokey; /* rows too short for a key column (by number, without a header) */
    colref *keycols, *aggcols, *whcols;
    size_t *first_reader; /* per aggregate: the first aggregate that reads its column */
    const char *cols_file; /* the file the colrefs' header indexes belong to */
    rowfield *fields; /* per aggregate: this row's field of its column */
    gtable g;
    size_t limit;     /* of the table's bytes */
    bool passthrough; /* rows skip the table: their groups hardly repeat */
    bool typed;       /* Parquet output: rows of key columns and typed aggregates */
    char **wtexts;    /* --where, as given */
    size_t nwtexts;
    sql_filter *filter; /* --where over named columns: SQL (sql/filter.c) */
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
    if (!strcmp(name, "where")) {
        char **w = realloc(o->wtexts, (o->nwtexts + 1) * sizeof *w);
        if (!w)
            return -1;
        o->wtexts = w;
        w[o->nwtexts++] = (char *)value;
        return 0;
    }
    return -1;
}

/* ---- columns ---- */

static void colref_init(colref *c, const char *name) {
    c->name = name;
    c->header_index = -1;
    c->number = -1;
    if (!name || !*name)
        return;
    char *end;
    unsigned long idx = strtoul(name, &end, 10);
    if (!*end && idx <= (unsigned long)LONG_MAX)
        c->number = (long)idx;
}

/* Finds the columns in the header of the record's file (first match, as sheaf_record_field). */
static void colrefs_resolve(colref *c, size_t n, const sheaf_record *rec) {
    for (size_t i = 0; i < n; i++) {
        c[i].header_index = -1;
        size_t len = c[i].name ? strlen(c[i].name) : 0;
        for (size_t h = 0; c[i].name && h < rec->nheader; h++) {
            if (rec->header_lens[h] == len && memcmp(rec->header[h], c[i].name, len) == 0) {
                c[i].header_index = (long)h;
                break;
            }
        }
    }
}

/* The field of a column in this row: sj_field's answer, from the indexes found for the file
 * (the header's first match if this row has it, else the column's number); sj_field itself
 * says what a missing field means. */
static const char *col_field(sheaf_ctx *ctx, const sheaf_record *rec, const colref *c,
                             size_t *len, int *rc) {
    long i = c->header_index >= 0 && (size_t)c->header_index < rec->nfields ? c->header_index
             : c->number >= 0 && (size_t)c->number < rec->nfields            ? c->number
                                                                             : -1;
    if (i < 0)
        return sj_field(ctx, rec, c->name, len, rc);
    *rc = 0;
    *len = rec->field_lens[i];
    return rec->fields[i];
}

static int gb_configure(void *udata, sheaf_config *cfg) {
    gb_opts *o = udata;
    if (sj_need_columns("groupby", cfg, "groupby"))
        return -1;
    /* Parquet and csv output: typed rows, one column per key and aggregate */
    o->typed = cfg->output_format && (!strncmp(cfg->output_format, "parquet", 7) ||
                                      !strcmp(cfg->output_format, "csv"));
    if (!o->naggs && parse_aggs(o, "count"))
        return -1;
    if (sj_check_columns("groupby", cfg, (const char *const *)o->keys, o->nkeys))
        return -1;
    /* --where: a SQL condition over named columns (a header, or Parquet); without a header,
     * COL OP VALUE over column numbers */
    bool named = (cfg->input_format && !strcmp(cfg->input_format, "parquet")) ||
                 (cfg->csv_header && cfg->input_format && !strcmp(cfg->input_format, "csv"));
    if (o->nwtexts && named &&
        sql_filter_new("groupby", (const char *const *)o->wtexts, o->nwtexts, cfg, &o->filter))
        return -1;
    for (size_t i = 0; i < o->nwtexts && !named; i++)
        if (parse_where(o, o->wtexts[i]))
            return -1;
    for (size_t i = 0; i < o->naggs; i++)
        if (sj_check_columns("groupby", cfg, (const char *const *)&o->aggs[i].col, 1))
            return -1;
    for (size_t i = 0; i < o->nwh; i++)
        if (sj_check_columns("groupby", cfg, (const char *const *)&o->wh[i].col, 1))
            return -1;
    if (o->filter) { /* Parquet files whose partition folders fail it are not read */
        cfg->prune = sql_filter_prune;
        cfg->prune_arg = o->filter;
    }
    o->limit = cfg->memory && cfg->memory / 64 < GROUPS_MAX ? (size_t)(cfg->memory / 64)
                                                            : GROUPS_MAX;
    o->acc.s = calloc(o->naggs + 1, sizeof *o->acc.s);
    o->acc.items = calloc(o->naggs, sizeof *o->acc.items);
    o->keycols = calloc(o->nkeys + 1, sizeof *o->keycols);
    o->aggcols = calloc(o->naggs, sizeof *o->aggcols);
    o->whcols = calloc(o->nwh + 1, sizeof *o->whcols);
    o->first_reader = calloc(o->naggs, sizeof *o->first_reader);
    o->fields = calloc(o->naggs + 1, sizeof *o->fields);
    if (!o->acc.s || !o->acc.items || !o->keycols ||
        !o->aggcols || !o->whcols || !o->first_reader || !o->fields)
        return sj_usage("groupby", "out of memory");
    for (size_t i = 0; i < o->nkeys; i++)
        colref_init(&o->keycols[i], o->keys[i]);
    for (size_t i = 0; i < o->nwh; i++)
        colref_init(&o->whcols[i], o->wh[i].col);
    for (size_t i = 0; i < o->naggs; i++) {
        colref_init(&o->aggcols[i], o->aggs[i].col);
        o->first_reader[i] = i;
        for (size_t j = 0; j < i; j++) {
            if (o->aggs[i].col && o->aggs[j].col && !strcmp(o->aggs[i].col, o->aggs[j].col)) {
                o->first_reader[i] = j;
                break;
            }
        }
    }
    return 0;
}

static bool where_ok(sheaf_ctx *ctx, const sheaf_record *rec, const where_spec *w,
                     const colref *col, int *rc) {
    size_t len;
    const char *f = col_field(ctx, rec, col, &len, rc);
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
        quote = f[i] == ',' || f[i] == '"' || f[i] == '\t' || f[i] == '\n' || f[i] == '\r';
    if (!quote)
        return sj_buf_add(b, f, len);
    int rc = sj_buf_addc(b, '"');
    for (size_t i = 0; i < len && !rc; i++)
        rc = f[i] == '"' ? sj_buf_add(b, "\"\"", 2) : sj_buf_addc(b, f[i]);
    return rc ? rc : sj_buf_addc(b, '"');
}

/* Empties a state: no rows, no numbers, no distinct items. */
static void acc_clear(const gb_opts *o, gacc *a) {
    a->count = 0;
    for (size_t i = 0; i < o->naggs; i++) {
        a->s[i].v = 0;
        a->s[i].n = 0;
        a->s[i].e = EXACT;
        a->s[i].iv = 0;
        if (a->items)
            a->items[i].len = 0;
    }
}

/* Adds x * 2^ex to the scaled sum *s * 2^*e. The plain double addition while both scales are
 * 0 and the sum is finite; else both are brought to the larger scale, and one more halving
 * keeps a sum of two finite halves finite. */
static inline void scaled_add(aggst *st, double x, int32_t ex) {
    if (st->e == ex) {
        double t = st->v + x;
        if (isfinite(t)) {
            st->v = t;
            return;
        }
    }
    int32_t e = (int32_t)st->e, big = e > ex ? e : ex;
    double a = ldexp(st->v, e - big), b = ldexp(x, ex - big);
    double t = a + b;
    if (!isfinite(t)) {
        big++;
        t = a / 2 + b / 2;
    }
    st->v = t;
    st->e = big;
}

/* Leaves the exact integer mode of aggregate i: its value becomes a double. */
static void to_double(gacc *a, size_t i) {
    if (a->s[i].e != EXACT)
        return;
    a->s[i].v = (double)a->s[i].iv;
    a->s[i].e = 0;
}

/* Adds the integer x exactly while every value was an integer and the sum fits in 64 bits.
 * Returns false (the state then in double mode) when it cannot. */
static bool exact_add(int k, int64_t *iv, uint64_t n, int64_t x) {
    if (k == A_SUM || k == A_AVG)
        return !__builtin_add_overflow(*iv, x, iv);
    if (n == 0 || (k == A_MIN ? x < *iv : x > *iv))
        *iv = x;
    return true;
}

static bool parse_i64(const char *p, size_t len, int64_t *v);

/* Whether the field is an integer (then in f->ix), parsed the first time it is asked. */
static bool field_is_int(rowfield *f) {
    if (!f->int_known) {
        f->int_known = true;
        f->isint = parse_i64(f->p, f->len, &f->ix);
    }
    return f->isint;
}

static void acc_number(const gb_opts *o, gacc *a, size_t i, double x, rowfield *f) {
    int k = o->aggs[i].kind;
    aggst *st = &a->s[i];
    if (st->e == 0 && st->n) { /* the common case: a double state at scale 0 */
        if (k == A_SUM || k == A_AVG) {
            double t = st->v + x;
            if (isfinite(t)) {
                st->v = t;
                st->n++;
                return;
            }
        } else {
            if (k == A_MIN ? x < st->v : x > st->v)
                st->v = x;
            st->n++;
            return;
        }
    }
    if (a->s[i].e == EXACT) {
        int64_t before = a->s[i].iv;
        if (field_is_int(f) && exact_add(k, &a->s[i].iv, a->s[i].n, f->ix)) {
            a->s[i].n++;
            return;
        }
        a->s[i].iv = before;
        to_double(a, i);
    }
    if (a->s[i].n == 0)
        a->s[i].v = k == A_SUM || k == A_AVG ? 0 : x;
    if (k == A_SUM || k == A_AVG)
        scaled_add(&a->s[i], x, 0);
    else if (k == A_MIN && x < a->s[i].v)
        a->s[i].v = x;
    else if (k == A_MAX && x > a->s[i].v)
        a->s[i].v = x;
    a->s[i].n++;
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
        int32_t ex;
        int64_t ix;
        bool sum = k == A_SUM || k == A_AVG;
        if (end - p < 28)
            return SHEAF_EINVAL;
        memcpy(&x, p, 8);
        memcpy(&n, p + 8, 8);
        memcpy(&ex, p + 16, 4);
        memcpy(&ix, p + 20, 8);
        p += 28;
        if (!n)
            continue;
        if (o->acc.s[i].e == EXACT && ex == EXACT) {
            int64_t before = o->acc.s[i].iv;
            if (o->acc.s[i].n == 0 ? (o->acc.s[i].iv = ix, true)
                                 : exact_add(k, &o->acc.s[i].iv, o->acc.s[i].n, ix)) {
                o->acc.s[i].n += n;
                continue;
            }
            o->acc.s[i].iv = before;
        }
        to_double(&o->acc, i);
        if (ex == EXACT) {
            x = (double)ix;
            ex = 0;
        }
        if (sum)
            scaled_add(&o->acc.s[i], x, ex);
        else if (o->acc.s[i].n == 0 || (k == A_MIN ? x < o->acc.s[i].v : x > o->acc.s[i].v))
            o->acc.s[i].v = x;
        o->acc.s[i].n += n;
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
static int64_t distinct_items(const gacc *a, size_t i, sj_buf *out) {
    sj_buf *b = &a->items[i];
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

static int acc_serialize(const gb_opts *o, const gacc *a, sj_buf *out) {
    out->len = 0;
    if (sj_buf_add(out, &a->count, 8))
        return SHEAF_ENOMEM;
    for (size_t i = 0; i < o->naggs; i++) {
        int k = o->aggs[i].kind;
        if (k == A_COUNT)
            continue;
        if (k == A_DISTINCT) {
            if (distinct_items(a, i, out) < 0)
                return SHEAF_ENOMEM;
            continue;
        }
        uint64_t n = a->s[i].n;
        int32_t e = (int32_t)a->s[i].e;
        if (sj_buf_add(out, &a->s[i].v, 8) || sj_buf_add(out, &n, 8) || sj_buf_add(out, &e, 4) ||
            sj_buf_add(out, &a->s[i].iv, 8))
            return SHEAF_ENOMEM;
    }
    return 0;
}

/* ---- the map-side table of groups ---- */

/* Bytes the table's groups take: slots, per-group entries, keys and distinct items. (The
 * arrays keep their size when the table is emptied, for the next groups: at most twice the
 * groups at the limit.) */
static size_t gt_bytes(const gb_opts *o) {
    const gtable *g = &o->g;
    size_t per_group = sizeof(gentry) +
                       o->naggs * sizeof(aggst) +
                       (g->items ? o->naggs * sizeof(sj_buf) : 0);
    return (g->slots ? g->mask + 1 : 0) * sizeof(uint32_t) + g->ngroups * per_group +
           g->keys.len + g->item_bytes;
}

static gacc gt_view(gb_opts *o, size_t gi) {
    gtable *g = &o->g;
    gacc a = {g->ents[gi].count, g->s + gi * o->naggs, g->items ? g->items + gi * o->naggs : NULL};
    return a;
}

static bool any_distinct(const gb_opts *o) {
    for (size_t i = 0; i < o->naggs; i++)
        if (o->aggs[i].kind == A_DISTINCT)
            return true;
    return false;
}

/* realloc that keeps p, and clears *ok, when out of memory. */
static void *grow(void *p, size_t bytes, bool *ok) {
    void *q = realloc(p, bytes);
    if (q)
        return q;
    *ok = false;
    return p;
}

/* Room for more groups in the per-group arrays. */
static int gt_grow_groups(gb_opts *o) {
    gtable *g = &o->g;
    size_t cap = g->cap ? 2 * g->cap : 1024, na = o->naggs;
    bool ok = true;
    g->ents = grow(g->ents, cap * sizeof *g->ents, &ok);
    g->s = grow(g->s, cap * na * sizeof *g->s + 1, &ok);
    if (ok && any_distinct(o)) {
        sj_buf *items = grow(g->items, cap * na * sizeof *items, &ok);
        if (ok)
            memset(items + g->cap * na, 0, (cap - g->cap) * na * sizeof *items);
        g->items = items;
    }
    if (!ok)
        return SHEAF_ENOMEM;
    g->cap = cap;
    return 0;
}

/* Doubles the slots, at most half full, and places the groups again. */
static int gt_grow_slots(gtable *g) {
    size_t n = g->slots ? 2 * (g->mask + 1) : 64;
    uint32_t *slots = calloc(n, sizeof *slots);
    if (!slots)
        return SHEAF_ENOMEM;
    for (size_t gi = 0; gi < g->ngroups; gi++) {
        size_t j = g->ents[gi].hash & (n - 1);
        while (slots[j])
            j = (j + 1) & (n - 1);
        slots[j] = (uint32_t)gi + 1;
    }
    free(g->slots);
    g->slots = slots;
    g->mask = n - 1;
    return 0;
}

/* The index of the row's group (o->key), added with an empty state if new. Returns 0 or
 * SHEAF_ENOMEM. */
static int gt_find(gb_opts *o, size_t *index) {
    gtable *g = &o->g;
    if ((!g->slots || 2 * (g->ngroups + 1) > g->mask + 1) && gt_grow_slots(g))
        return SHEAF_ENOMEM;
    uint64_t h = sheaf_hash(o->key.p, o->key.len, 0);
    size_t j = h & g->mask;
    for (; g->slots[j]; j = (j + 1) & g->mask) {
        const gentry *e = &g->ents[g->slots[j] - 1];
        if (e->hash == h && e->klen == o->key.len &&
            memcmp(g->keys.p + e->koff, o->key.p, o->key.len) == 0) {
            *index = g->slots[j] - 1;
            return 0;
        }
    }
    if ((g->ngroups == g->cap && gt_grow_groups(o)) || g->keys.len + o->key.len > UINT32_MAX ||
        sj_buf_add(&g->keys, o->key.p, o->key.len))
        return SHEAF_ENOMEM;
    size_t gi = g->ngroups++;
    g->slots[j] = (uint32_t)gi + 1;
    g->ents[gi] = (gentry){.hash = h, .koff = (uint32_t)(g->keys.len - o->key.len),
                           .klen = (uint32_t)o->key.len};
    gacc a = gt_view(o, gi);
    acc_clear(o, &a);
    *index = gi;
    return 0;
}

/* Emits a group's state under its key. */
static int emit_state(sheaf_ctx *ctx, gb_opts *o, const void *key, size_t klen,
                      const gacc *a) {
    int rc = acc_serialize(o, a, &o->state);
    return rc ? rc : sheaf_emit(ctx, key, klen, o->state.p, o->state.len);
}

/* Emits every group's state and empties the table (keeping its slots and arrays). */
static int gt_emit_all(sheaf_ctx *ctx, gb_opts *o) {
    gtable *g = &o->g;
    int rc = 0;
    for (size_t gi = 0; gi < g->ngroups && !rc; gi++) {
        gacc a = gt_view(o, gi);
        rc = emit_state(ctx, o, g->keys.p + g->ents[gi].koff, g->ents[gi].klen, &a);
    }
    for (size_t i = 0; g->items && i < g->ngroups * o->naggs; i++)
        sj_buf_free(&g->items[i]);
    if (g->slots)
        memset(g->slots, 0, (g->mask + 1) * sizeof *g->slots);
    g->rows_before += g->rows;
    g->groups_before += g->ngroups;
    g->ngroups = 0;
    g->keys.len = 0;
    g->item_bytes = 0;
    g->rows = 0;
    return rc;
}

static void gt_free(gb_opts *o) {
    gtable *g = &o->g;
    for (size_t i = 0; g->items && i < g->cap * o->naggs; i++)
        sj_buf_free(&g->items[i]);
    free(g->slots);
    free(g->ents);
    free(g->s);
    free(g->items);
    sj_buf_free(&g->keys);
    memset(g, 0, sizeof *g);
}

/* The columns the job reads (Parquet input decodes only these), and with Parquet output the
 * table it writes: the key columns as strings (one column "key" without --key), then each
 * aggregate named like count, sum_COL, distinct_COL: counts int64, the others doubles (null
 * when the group has no number). */
static int gb_setup(sheaf_ctx *ctx, void *udata) {
    gb_opts *o = udata;
    o->nonnum = 0;
    o->nokey = 0;
    o->cols_file = NULL;
    o->passthrough = false;
    gt_free(o);
    const char **cols = calloc(o->nkeys + o->naggs + o->nwh + 1, sizeof *cols);
    size_t n = 0;
    if (!cols)
        return SHEAF_ENOMEM;
    for (size_t i = 0; i < o->nkeys; i++)
        cols[n++] = o->keys[i];
    for (size_t i = 0; i < o->naggs; i++)
        if (o->aggs[i].col)
            cols[n++] = o->aggs[i].col;
    for (size_t i = 0; i < o->nwh; i++)
        cols[n++] = o->wh[i].col;
    const char *const *fcols = NULL;
    size_t nf = o->filter ? sql_filter_columns(o->filter, &fcols) : 0;
    const char **all = realloc(cols, (n + nf + 1) * sizeof *all);
    if (!all) {
        free(cols);
        return SHEAF_ENOMEM;
    }
    cols = all;
    for (size_t i = 0; i < nf; i++)
        cols[n++] = fcols[i];
    int rc = sheaf_input_columns(ctx, cols, n);
    free(cols);
    if (rc || !o->typed)
        return rc;
    static const char *const names[] = {"count", "sum", "avg", "min", "max", "distinct"};
    sheaf_schema *s = sheaf_schema_new();
    if (!s)
        return SHEAF_ENOMEM;
    rc = o->nkeys ? 0 : sheaf_schema_add(s, "key", SHEAF_COL_STRING, 0);
    for (size_t i = 0; i < o->nkeys && !rc; i++)
        rc = sheaf_schema_add(s, o->keys[i], SHEAF_COL_STRING, 0);
    for (size_t i = 0; i < o->naggs && !rc; i++) {
        int k = o->aggs[i].kind;
        char name[256];
        snprintf(name, sizeof name, "%s%s%s", names[k], o->aggs[i].col ? "_" : "",
                 o->aggs[i].col ? o->aggs[i].col : "");
        rc = sheaf_schema_add(s, name, k == A_COUNT || k == A_DISTINCT ? SHEAF_COL_INT64
                                                                        : SHEAF_COL_DOUBLE,
                              k != A_COUNT && k != A_DISTINCT);
    }
    if (rc)
        rc = sheaf_fail(ctx, SHEAF_EUSAGE, "groupby: the output columns repeat a name");
    else
        rc = sheaf_output_schema(ctx, s);
    sheaf_schema_free(s);
    return rc;
}

/* A typed row: the key's fields (split again where add_key_field joined them), then the
 * aggregates. */
static int gb_row(sheaf_ctx *ctx, gb_opts *o, const char *key, size_t klen) {
    int rc = 0;
    size_t col = 0, i = 0;
    o->out.len = 0;
    while (!rc && col < (o->nkeys ? o->nkeys : 1)) {
        o->out.len = 0;
        if (i < klen && key[i] == '"') {
            for (i++; i < klen && !rc; i++) {
                if (key[i] == '"' && !(i + 1 < klen && key[i + 1] == '"'))
                    break;
                if (key[i] == '"')
                    i++;
                rc = sj_buf_addc(&o->out, key[i]);
            }
            i++; /* the closing quote */
        } else {
            size_t j = i;
            while (j < klen && key[j] != ',')
                j++;
            rc = sj_buf_add(&o->out, key + i, j - i);
            i = j;
        }
        i++; /* the comma */
        if (!rc)
            rc = sheaf_row_set_str(ctx, col++, o->out.p, o->out.len);
    }
    for (size_t a = 0; a < o->naggs && !rc; a++, col++) {
        int k = o->aggs[a].kind;
        if (k == A_COUNT)
            rc = sheaf_row_set_i64(ctx, col, (int64_t)o->acc.count);
        else if (k == A_DISTINCT)
            rc = sheaf_row_set_i64(ctx, col, distinct_items(&o->acc, a, NULL));
        else if (!o->acc.s[a].n)
            rc = sheaf_row_set_null(ctx, col);
        else if (o->acc.s[a].e == EXACT && k != A_AVG) {
            /* the exact digits (a csv cell keeps them; Parquet's double column rounds) */
            char num[32];
            snprintf(num, sizeof num, "%lld", (long long)o->acc.s[a].iv);
            rc = sheaf_row_set_text(ctx, col, num, strlen(num));
        } else if (o->acc.s[a].e == EXACT)
            rc = sheaf_row_set_double(ctx, col, (double)o->acc.s[a].iv / (double)o->acc.s[a].n);
        else
            rc = sheaf_row_set_double(ctx, col, k == A_AVG ? o->acc.s[a].v / (double)o->acc.s[a].n
                                                           : o->acc.s[a].v);
    }
    return rc ? rc : sheaf_row_emit(ctx);
}

/* The row's field of aggregate i's column, fetched once per row for all the aggregates that
 * read that column. Returns it, or NULL (no such field: *rc says whether that fails the job). */
static rowfield *agg_field(sheaf_ctx *ctx, const sheaf_record *rec, gb_opts *o, size_t i,
                           int *rc) {
    rowfield *f = &o->fields[o->first_reader[i]];
    if (!f->p) {
        f->p = col_field(ctx, rec, &o->aggcols[o->first_reader[i]], &f->len, rc);
        if (!f->p)
            return NULL;
        f->parsed = false;
    }
    return f;
}

/* A decimal integer of 64 bits (optional sign, digits only): true and *v. */
static bool parse_i64(const char *p, size_t n, int64_t *v) {
    size_t i = n && (p[0] == '-' || p[0] == '+');
    if (i == n || n - i > 19)
        return false;
    uint64_t u = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        u = u * 10 + (uint64_t)(p[i] - '0');
    }
    bool neg = p[0] == '-';
    if (u > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
        return false;
    *v = neg ? (int64_t)(0 - u) : (int64_t)u;
    return true;
}

/* Adds the row's fields to the state a (item_bytes, when not NULL, counts distinct bytes). */
static int row_update(sheaf_ctx *ctx, const sheaf_record *rec, gb_opts *o, gacc *a,
                      size_t *item_bytes) {
    int rc = 0;
    for (size_t i = 0; i < o->naggs; i++)
        o->fields[i].p = NULL;
    for (size_t i = 0; i < o->naggs; i++) {
        int k = o->aggs[i].kind;
        if (k == A_COUNT)
            continue;
        rowfield *f = agg_field(ctx, rec, o, i, &rc);
        if (!f) {
            if (rc)
                return rc;
            continue;
        }
        if (k == A_DISTINCT) {
            if (f->len && add_item(&a->items[i], f->p, (uint32_t)f->len))
                return SHEAF_ENOMEM;
            if (item_bytes)
                *item_bytes += f->len ? 4 + f->len : 0;
            continue;
        }
        if (!f->parsed) {
            double x;
            f->parsed = true;
            f->x = sj_field_double(f->p, f->len, &x) == 0 ? x : NAN;
            f->int_known = false;
        }
        if (!isnan(f->x))
            acc_number(o, a, i, f->x, f);
        else
            o->nonnum++;
    }
    return 0;
}

static int gb_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    gb_opts *o = udata;
    int rc = 0;
    if (rec->file != o->cols_file) { /* a new file: find the columns in its header */
        colrefs_resolve(o->keycols, o->nkeys, rec);
        colrefs_resolve(o->aggcols, o->naggs, rec);
        colrefs_resolve(o->whcols, o->nwh, rec);
        o->cols_file = rec->file;
    }
    for (size_t i = 0; i < o->nwh; i++)
        if (!where_ok(ctx, rec, &o->wh[i], &o->whcols[i], &rc))
            return rc;
    if (o->filter && (rc = sql_filter_row(ctx, o->filter, rec)) <= 0)
        return rc;
    o->key.len = 0;
    if (o->nkeys == 0 && sj_buf_add(&o->key, "*", 1))
        return SHEAF_ENOMEM;
    for (size_t i = 0; i < o->nkeys; i++) {
        size_t len;
        const char *f = col_field(ctx, rec, &o->keycols[i], &len, &rc);
        if (!f) {
            if (rc)
                return rc;
            f = "";
            len = 0;
            o->nokey++;
        }
        if ((i && sj_buf_addc(&o->key, ',')) || add_key_field(&o->key, f, len))
            return SHEAF_ENOMEM;
    }
    if (o->passthrough) { /* the row's own state, emitted at once */
        acc_clear(o, &o->acc);
        o->acc.count = 1;
        rc = row_update(ctx, rec, o, &o->acc, NULL);
        return rc ? rc : emit_state(ctx, o, o->key.p, o->key.len, &o->acc);
    }
    size_t gi;
    if (gt_find(o, &gi))
        return SHEAF_ENOMEM;
    gacc a = gt_view(o, gi);
    o->g.ents[gi].count++;
    o->g.rows++;
    if ((rc = row_update(ctx, rec, o, &a, &o->g.item_bytes)))
        return rc;
    bool full = gt_bytes(o) >= o->limit;
    if (!full && o->g.rows != CHECK_ROWS)
        return 0;
    /* Combining that barely reduces (more than half as many groups as rows) is not worth its
     * table: emit what it holds and send each row's state on from now on. */
    uint64_t rows = o->g.rows_before + o->g.rows, groups = o->g.groups_before + o->g.ngroups;
    if (rows >= MIN_ROWS && 2 * groups > rows)
        o->passthrough = true;
    return full || o->passthrough ? gt_emit_all(ctx, o) : 0;
}

static int gb_map_cleanup(sheaf_ctx *ctx, void *udata) {
    return gt_emit_all(ctx, udata);
}

static int merge_all(gb_opts *o, sheaf_values *vals) {
    acc_clear(o, &o->acc);
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
    return rc ? rc : emit_state(ctx, o, key, klen, &o->acc);
}

/* Writes the scaled sum s * 2^e, or with n > 0 the mean s / n * 2^e (always finite). */
static void format_sum(char *out, size_t outlen, double s, int32_t e, uint64_t n) {
    if (n) {
        sj_fmt_double(out, outlen, e ? ldexp(s / (double)n, e) : s / (double)n);
    } else if (e == 0) {
        sj_fmt_double(out, outlen, s);
    } else {
        long double x = ldexpl((long double)s, e);
        snprintf(out, outlen, isfinite(x) ? "%.17Lg" : "%Lg", x);
    }
}

/* Writes aggregate i of a: exact integers as they are (a mean as a double), else as
 * format_sum does. */
static void format_agg(char *out, size_t outlen, const gacc *a, size_t i, uint64_t n) {
    if (a->s[i].e != EXACT)
        format_sum(out, outlen, a->s[i].v, a->s[i].e, n);
    else if (n)
        sj_fmt_double(out, outlen, (double)a->s[i].iv / (double)n);
    else
        snprintf(out, outlen, "%lld", (long long)a->s[i].iv);
}

static int gb_reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                     void *udata) {
    gb_opts *o = udata;
    int rc = merge_all(o, vals);
    if (rc)
        return rc;
    if (o->typed)
        return gb_row(ctx, o, key, klen);
    o->out.len = 0;
    for (size_t i = 0; i < o->naggs && !rc; i++) {
        char num[64] = "";
        int k = o->aggs[i].kind;
        if (k == A_COUNT)
            snprintf(num, sizeof num, "%llu", (unsigned long long)o->acc.count);
        else if (k == A_DISTINCT)
            snprintf(num, sizeof num, "%lld", (long long)distinct_items(&o->acc, i, NULL));
        else if (o->acc.s[i].n)
            format_agg(num, sizeof num, &o->acc, i, k == A_AVG ? o->acc.s[i].n : 0);
        rc = (i && sj_buf_addc(&o->out, ',')) || sj_buf_add(&o->out, num, strlen(num));
    }
    if (rc)
        return SHEAF_ENOMEM;
    return sheaf_emit(ctx, key, klen, o->out.p, o->out.len);
}

static int gb_cleanup(sheaf_ctx *ctx, void *udata) {
    gb_opts *o = udata;
    gt_free(o);
    int rc = o->nonnum ? sheaf_counter_add(ctx, "non-numeric values", (int64_t)o->nonnum) : 0;
    if (!rc && o->nokey)
        rc = sheaf_counter_add(ctx, "key fields missing", (int64_t)o->nokey);
    return rc;
}

static const sheaf_option gb_options[] = {
    {"key", "COLS", "group by these columns (comma-separated names or indexes)"},
    {"agg", "LIST", "count,sum:COL,avg:COL,min:COL,max:COL,distinct:COL (default count)"},
    {"where", "'COND'", "keep rows where the SQL condition holds (amount > 5 AND city = 'Oslo'); "
                        "repeat for AND"},
    {NULL, NULL, NULL},
};

static const sheaf_job_def groupby_job = {
    .name = "groupby",
    .map = gb_map,
    .combine = gb_combine,
    .reduce = gb_reduce,
    .setup = gb_setup,
    .map_cleanup = gb_map_cleanup,
    .cleanup = gb_cleanup,
    .udata = &gbo,
};

const sheaf_command sheaf_cmd_groupby = {
    .name = "groupby",
    .summary = "SQL-like GROUP BY over csv: key TAB agg1,agg2,... (count sum avg min max "
               "distinct, --where)",
    .options = gb_options,
    .parse_option = gb_parse,
    .configure = gb_configure,
    .udata = &gbo,
    .job = &groupby_job,
};
