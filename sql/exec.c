/*
 * exec.c: `sheaf sql`: the job, its plan and its rounds (the joins are in join.c, the
 * result in output.c, EXPLAIN in explain.c; exec.h holds what they share).
 *
 *   sheaf sql 'SELECT ...' [--table NAME=PATH[:csv|tsv]]... [--schema COL:TYPE,...]
 *             [--file QUERY.sql] [--format csv|table] [-o OUT]
 *
 * configure() parses the query (a syntax error is a usage error, exit 2) and resolves the
 * files of the innermost query's tables. The driver makes a private work directory and runs
 * the query (run_select), on every rank:
 *   1. the table: a subquery in FROM runs first (run_select on it), its result a CSV file in
 *      the work directory; otherwise rank 0 lists the files, reads the header and a sample of
 *      rows and infers the column types (schema.c), and broadcasts them; a join appends the
 *      right table's columns. Every rank binds the query (bind.c; an unknown column or a type
 *      mismatch is a usage error, exit 2);
 *   2. a join runs round 0 (one sheaf_run over both tables): map emits each row under its
 *      join key, tagged by side; reduce pairs a key's rows and writes the joined rows (the
 *      columns the query reads) as CSV, which round 1 reads as its table;
 *   3. round 1 (one sheaf_run): map parses the columns the query reads, filters by WHERE and
 *      either projects the row (plain queries; with ORDER BY and LIMIT it keeps only the
 *      rank's best OFFSET + LIMIT rows, emitted after its last map call) or adds the row to
 *      its group's accumulators in the rank's own table (in-mapper combining; the groups'
 *      partial states are emitted when the table is full and after the last map call);
 *      combine merges the states of a group on the map side; reduce merges them over the ranks, finalizes, applies
 *      HAVING and projects. Each rank keeps its result rows; they are gathered to rank 0;
 *   4. rank 0 sorts them by ORDER BY (ties broken by the row's values, so the answer does
 *      not depend on the rank count), applies OFFSET and LIMIT, and writes CSV with a header
 *      (or a table on a terminal) to stdout, or a subquery's CSV for the enclosing query;
 *      with -o OUT, round 2 (one sheaf_run over the result, with the sampling partitioner of
 *      total order) commits it as part files whose concatenation in order is the CSV, header
 *      first, with _SUCCESS.
 * CSV files this layer writes for itself (joined rows, subquery results) name their columns
 * c0, c1, ... and write a string with a leading 's', so that an empty string is not NULL.
 * A runtime error (overflow, a failed cast, a field that does not parse as its column's type)
 * fails the job on every rank: exit 1. EXPLAIN prints the rounds and runs nothing.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parquet.h"
#include "sql/exec.h"

static sql_opts sopts;

/* ---- options ------------------------------------------------------------------------------ */

static int sql_parse_opt(void *udata, const char *name, const char *value) {
    sql_opts *o = udata;
    if (!name) {
        if (o->text)
            return sj_usage("sql", "give one query (quote it: sheaf sql 'SELECT ...')");
        o->text = value;
        return 0;
    }
    if (!strcmp(name, "file"))
        o->file = value;
    else if (!strcmp(name, "table")) {
        char **t = realloc(o->tables, (o->ntables + 1) * sizeof *t);
        if (!t)
            return -1;
        o->tables = t;
        t[o->ntables++] = (char *)value;
    } else if (!strcmp(name, "schema")) {
        o->schema = value;
    } else if (!strcmp(name, "broadcast-limit")) {
        if (!strcmp(value, "0"))
            o->bcast_limit = 0;
        else if (sheaf_parse_size(value, &o->bcast_limit))
            return sj_usage("sql", "--broadcast-limit: '%s' is not a size", value);
        o->bcast_set = true;
    } else if (!strcmp(name, "format")) {
        if (strcmp(value, "csv") && strcmp(value, "table"))
            return sj_usage("sql", "--format: csv or table, not '%s'", value);
        o->format = value;
    } else
        return -1;
    return 0;
}

/* The format a file name asks for, after any codec suffix (.gz, .zst, .bz2, .xz): tsv for
 * NAME.tsv, parquet for NAME.parquet, else csv. */
static const char *format_by_name(const char *path) {
    size_t n = strlen(path);
    static const char *const codecs[] = {".gz", ".zst", ".bz2", ".xz"};
    for (size_t i = 0; i < sizeof codecs / sizeof *codecs; i++) {
        size_t k = strlen(codecs[i]);
        if (n > k && !strcasecmp(path + n - k, codecs[i])) {
            n -= k;
            break;
        }
    }
    if (n >= 4 && !strncasecmp(path + n - 4, ".tsv", 4))
        return "tsv";
    if (n >= 8 && !strncasecmp(path + n - 8, ".parquet", 8))
        return "parquet";
    return "csv";
}

/* The files of a source and their format: a quoted path, or a --table name. */
static int resolve_one(sql_opts *o, const char *from, bool is_path, const char **path,
                       char **buf, char *delim, bool *parquet) {
    const char *fmt = NULL;
    *path = NULL;
    if (is_path) {
        *path = from;
    } else {
        size_t n = strlen(from);
        for (size_t i = 0; i < o->ntables; i++) {
            const char *eq = strchr(o->tables[i], '=');
            if (!eq)
                return sj_usage("sql", "--table %s: give NAME=PATH[:FORMAT]", o->tables[i]);
            if ((size_t)(eq - o->tables[i]) == n && !strncasecmp(o->tables[i], from, n)) {
                free(*buf);
                if (!(*buf = strdup(eq + 1)))
                    return -1;
                char *colon = strrchr(*buf, ':');
                if (colon && (!strcmp(colon + 1, "csv") || !strcmp(colon + 1, "tsv") ||
                              !strcmp(colon + 1, "parquet"))) {
                    fmt = colon + 1;
                    *colon = '\0';
                } else if (colon && !strchr(colon, '/')) {
                    return sj_usage("sql", "--table %s: unknown format '%s' (csv, tsv or "
                                           "parquet)", o->tables[i], colon + 1);
                }
                *path = *buf;
            }
        }
        if (!*path)
            return sj_usage("sql", "unknown table '%s': quote a path (FROM 'data/*.csv') or "
                                   "bind the name with --table %s=PATH", from, from);
    }
    if (!fmt)
        fmt = format_by_name(*path);
    if (!strcmp(fmt, "csv")) {
        /* a directory or glob of .parquet or .tsv files (a partitioned table): their format */
        char **files = NULL;
        size_t nf = 0;
        if (!sheaf_list_inputs(*path, &files, &nf, NULL, 0) && nf &&
            strcmp(files[0], *path))
            fmt = format_by_name(files[0]);
        if (files)
            sheaf_list_free(files, nf);
    }
    *delim = !strcmp(fmt, "tsv") ? '\t' : ',';
    *parquet = !strcmp(fmt, "parquet");
    return 0;
}

static int resolve_source(sql_opts *o, sheaf_config *cfg) {
    sql_query *in = &o->q; /* the innermost query reads the files */
    for (sql_query *q = &o->q; q; q = q->sub) {
        if (q->sub && q->join)
            return sj_usage("sql", "a subquery in FROM cannot be joined (join inside it)");
        in = q;
    }
    if (resolve_one(o, in->from, in->from_path, &o->path, &o->pathbuf, &o->delim, &o->parquet))
        return -1;
    if (in->join) {
        if (resolve_one(o, in->join, in->join_path, &o->jpath, &o->jpathbuf, &o->jdelim,
                        &o->jparquet))
            return -1;
        if (!o->parquet && !o->jparquet && o->jdelim != o->delim)
            return sj_usage("sql", "the joined tables must both be csv or both tsv (or Parquet)");
    }
    o->inputs[0] = o->path;
    o->inputs[1] = o->jpath;
    cfg->inputs = o->inputs;
    cfg->ninputs = in->join ? 2 : 1;
    cfg->input_format = o->parquet ? "parquet" : "csv";
    cfg->csv_delimiter = o->delim;
    cfg->csv_header = 1;
    return 0;
}

static int sql_configure(void *udata, sheaf_config *cfg) {
    sql_opts *o = udata;
    if (o->file) {
        if (o->text)
            return sj_usage("sql", "give the query as an argument or with --file, not both");
        size_t len;
        if (sj_read_file(o->file, &o->owned, &len))
            return sj_usage("sql", "--file %s: cannot read it", o->file);
        if (memchr(o->owned, '\0', len))
            return sj_usage("sql", "--file %s: not a text file", o->file);
        o->text = o->owned;
        cfg->side_inputs = &o->file; /* read, never written: guarded as an input */
        cfg->nside_inputs = 1;
    }
    if (!o->text)
        return sj_usage("sql", "no query (sheaf sql 'SELECT ... FROM ...', or --file F)");
    if (cfg->ninputs)
        return sj_usage("sql", "the query names its input (FROM 'path' or --table); no -i");
    char err[1536];
    if (sql_parse(o->text, &o->q, err, sizeof err))
        return sj_usage("sql", "%s", err);
    o->parsed = true;
    if (resolve_source(o, cfg))
        return -1;
    if (!cfg->output || o->q.explain) {
        o->to_stdout = !cfg->output;
        if (!cfg->output)
            cfg->output = "-"; /* the result goes to stdout; see sql_driver */
        cfg->quiet = 1;
        cfg->progress = 0;
    }
    return 0;
}

/* ---- round 1 ------------------------------------------------------------------------------ */

int sql_oom(sheaf_ctx *ctx) {
    return sheaf_fail(ctx, SHEAF_ENOMEM, "sql: out of memory");
}

/* Column positions of the record's file, by header name. */
static int map_columns(sheaf_ctx *ctx, sql_exec *x, const sheaf_record *rec) {
    if (rec->header == x->hdr_key && rec->file == x->file_key)
        return 0;
    for (size_t c = 0; c < x->t->ncols; c++) {
        x->pos[c] = -1;
        if (!x->b->used[c] || (x->join && x->t->tab[c] != (int)rec->input) ||
            (x->bcast && x->t->tab[c] != 0))
            continue;
        const char *name = x->phys ? x->phys[c] : x->t->names[c];
        for (size_t i = 0; i < rec->nheader; i++) {
            if (strlen(name) == rec->header_lens[i] &&
                !memcmp(name, rec->header[i], rec->header_lens[i])) {
                x->pos[c] = (long)i;
                break;
            }
        }
        if (x->pos[c] < 0)
            return sj_no_column(ctx, rec->file, name, rec->header, rec->header_lens,
                                rec->nheader);
    }
    x->hdr_key = rec->header;
    x->file_key = rec->file;
    return 0;
}

/* Evaluates the output and ORDER BY expressions and appends the row to x->rows. */
static int add_row(sheaf_ctx *ctx, sql_exec *x, sql_env *env, sj_buf *dst) {
    sql_bound *b = x->b;
    sj_buf *r = &x->tmp;
    r->len = 0;
    for (size_t i = 0; i < b->nout + b->nokeys; i++) {
        sql_value v;
        if (sql_eval(i < b->nout ? b->out[i] : b->okeys[i - b->nout], env, &v))
            return ctx ? sheaf_fail(ctx, SHEAF_EUSER, "%s", x->err) : SHEAF_EUSER;
        if (sql_value_put(r, &v))
            return ctx ? sql_oom(ctx) : SHEAF_ENOMEM;
    }
    if (r->len > UINT32_MAX)
        return sheaf_fail(ctx, SHEAF_EUSER, "sql: a result row is over 4 GiB");
    uint32_t n = (uint32_t)r->len;
    if (sj_buf_add(dst, &n, 4) || sj_buf_add(dst, r->p, r->len))
        return ctx ? sql_oom(ctx) : SHEAF_ENOMEM;
    return 0;
}

int sql_row_cmp(const void *pa, const void *pb, void *arg) {
    const sql_bound *b = arg;
    const orow *ra = pa, *rb = pb;
    for (size_t k = 0; k < b->nokeys; k++) {
        const sql_value *x = &ra->v[b->nout + k], *y = &rb->v[b->nout + k];
        const sql_order *o = &b->q->order[k];
        if (x->null || y->null) {
            if (x->null && y->null)
                continue;
            int nf = o->nulls == 1 ? -1 : 1; /* DuckDB: NULLS LAST by default */
            return x->null ? nf : -nf;
        }
        int c = sql_compare(x, y);
        if (c)
            return o->desc ? -c : c;
    }
    /* ties: by the output values, so the order does not depend on the rank count */
    for (size_t i = 0; i < b->nout; i++) {
        int c = sql_compare(&ra->v[i], &rb->v[i]);
        if (c)
            return c;
    }
    return 0;
}

/* Parses rows (u32 length + nv values each) from data into a new array of n rows whose
 * values point into data. Returns 0 or -1 (malformed, or out of memory; err set). */
int sql_parse_rows(const char *data, size_t len, size_t nv, orow **rowsp, sql_value **valsp,
                   size_t *np, char *err, size_t errlen) {
    size_t n = 0;
    for (size_t off = 0; off + 4 <= len; n++) {
        uint32_t rl;
        memcpy(&rl, data + off, 4);
        off += 4 + (size_t)rl;
    }
    orow *rows = malloc((n ? n : 1) * sizeof *rows);
    sql_value *vals = malloc((n ? n : 1) * (nv ? nv : 1) * sizeof *vals);
    if (!rows || !vals) {
        free(rows);
        free(vals);
        snprintf(err, errlen, "out of memory for %zu result rows", n);
        return -1;
    }
    size_t off = 0;
    for (size_t r = 0; r < n; r++) {
        uint32_t rl;
        memcpy(&rl, data + off, 4);
        off += 4;
        rows[r].v = vals + r * nv;
        rows[r].raw = data + off;
        rows[r].rawlen = rl;
        size_t o2 = 0;
        for (size_t i = 0; i < nv; i++) {
            size_t k = sql_value_get(data + off + o2, rl - o2, &rows[r].v[i]);
            if (!k) {
                free(rows);
                free(vals);
                snprintf(err, errlen, "sql: a malformed result row");
                return -1;
            }
            o2 += k;
        }
        off += rl;
    }
    *rowsp = rows;
    *valsp = vals;
    *np = n;
    return 0;
}

/* Keeps the best x->k candidate rows under ORDER BY. Returns 0 or -1 (err set). */
static int prune(sql_exec *x) {
    orow *rows;
    sql_value *vals;
    size_t n;
    if (sql_parse_rows(x->cand.p, x->cand.len, x->b->nout + x->b->nokeys, &rows, &vals, &n, x->err,
                   sizeof x->err))
        return -1;
    qsort_r(rows, n, sizeof *rows, sql_row_cmp, x->b);
    sj_buf kept = {0};
    int rc = 0;
    for (size_t r = 0; r < n && r < x->k && !rc; r++) {
        uint32_t rl = (uint32_t)rows[r].rawlen;
        rc = sj_buf_add(&kept, &rl, 4) || sj_buf_add(&kept, rows[r].raw, rl);
    }
    free(rows);
    free(vals);
    if (rc) {
        sj_buf_free(&kept);
        snprintf(x->err, sizeof x->err, "out of memory");
        return -1;
    }
    sj_buf_free(&x->cand);
    x->cand = kept;
    x->ncand = n < x->k ? n : x->k;
    return 0;
}

/* ---- in-mapper combining --------------------------------------------------------------------- */

#define SQL_MAP_GROUPS 65536 /* groups a rank combines before it emits them */

/* Emits the rank's combined groups (key, states) and empties the table. */
static int flush_groups(sheaf_ctx *ctx, sql_exec *x) {
    size_t na = x->b->naggs;
    int rc = 0;
    sj_buf st = {0}; /* not x->val: it may hold the row being added */
    for (size_t g = 0; g < x->ngroups; g++) {
        uint32_t kl;
        memcpy(&kl, x->gkeys.p + x->goff[g], 4);
        st.len = 0;
        for (size_t a = 0; a < na && !rc; a++)
            if (sql_acc_state(x->b->aggs[a], &x->gacc[g * na + a], &st))
                rc = sql_oom(ctx);
        if (!rc)
            rc = sheaf_emit(ctx, x->gkeys.p + x->goff[g] + 4, kl, st.p ? st.p : "", st.len);
        for (size_t a = 0; a < na; a++)
            sql_acc_free(&x->gacc[g * na + a]);
    }
    sj_buf_free(&st);
    x->ngroups = 0;
    x->gkeys.len = 0;
    if (x->gslot)
        memset(x->gslot, 0, x->ngslot * sizeof *x->gslot);
    return rc;
}

/* Adds the row's aggregate arguments (x->argv) to its group's (key x->key) accumulators; a
 * new group when the table is full first empties it into the shuffle. */
static int map_combine(sheaf_ctx *ctx, sql_exec *x) {
    size_t na = x->b->naggs, klen = x->key.len;
    const char *key = x->key.p ? x->key.p : "";
    if (!x->gslot) {
        x->ngslot = 2 * SQL_MAP_GROUPS;
        x->capgroups = SQL_MAP_GROUPS;
        x->gslot = calloc(x->ngslot, sizeof *x->gslot);
        x->goff = calloc(x->capgroups, sizeof *x->goff);
        x->gacc = calloc(x->capgroups * (na ? na : 1), sizeof *x->gacc);
        if (!x->gslot || !x->goff || !x->gacc)
            return sql_oom(ctx);
    }
    size_t h = (size_t)(sheaf_hash(key, klen, 11) & (x->ngslot - 1)), g = (size_t)-1;
    for (; x->gslot[h]; h = (h + 1) & (x->ngslot - 1)) {
        size_t c = x->gslot[h] - 1;
        uint32_t kl;
        memcpy(&kl, x->gkeys.p + x->goff[c], 4);
        if (kl == klen && !memcmp(x->gkeys.p + x->goff[c] + 4, key, klen)) {
            g = c;
            break;
        }
    }
    if (g == (size_t)-1) {
        if (x->ngroups == x->capgroups) {
            int rc = flush_groups(ctx, x);
            if (rc)
                return rc;
            h = (size_t)(sheaf_hash(key, klen, 11) & (x->ngslot - 1));
        }
        g = x->ngroups++;
        x->goff[g] = x->gkeys.len;
        uint32_t kl = (uint32_t)klen;
        if (sj_buf_add(&x->gkeys, &kl, 4) || sj_buf_add(&x->gkeys, key, klen))
            return sql_oom(ctx);
        for (size_t a = 0; a < na; a++)
            sql_acc_init(&x->gacc[g * na + a]);
        x->gslot[h] = g + 1;
    }
    for (size_t a = 0; a < na; a++)
        if (sql_acc_add(x->b->aggs[a], &x->gacc[g * na + a], &x->argv[a]))
            return sql_oom(ctx);
    return 0;
}

/* After the rank's last map call: its combined groups, or its best k rows, go to the
 * reducers. */
static int sql_map_cleanup(sheaf_ctx *ctx, void *udata) {
    sql_exec *x = udata;
    if (x->b->aggregate && !x->join)
        return flush_groups(ctx, x);
    if (!x->topk)
        return 0;
    if (prune(x))
        return sheaf_fail(ctx, SHEAF_ENOMEM, "sql: %s", x->err);
    uint64_t i = 0;
    for (size_t off = 0; off + 4 <= x->cand.len; i++) {
        uint32_t rl;
        memcpy(&rl, x->cand.p + off, 4);
        unsigned char key[12];
        uint32_t rank = (uint32_t)sheaf_rank(ctx);
        memcpy(key, &rank, 4);
        sheaf_key_u64(i, key + 4);
        int rc = sheaf_emit(ctx, key, sizeof key, x->cand.p + off, 4 + (size_t)rl);
        if (rc)
            return rc;
        off += 4 + (size_t)rl;
    }
    return 0;
}

/* setup of round 1: a Parquet table decodes only the columns the query reads (of the left
 * table, in a broadcast join); then the broadcast join's right table. */
static int sql_setup(sheaf_ctx *ctx, void *udata) {
    sql_exec *x = udata;
    if (x->pqcols) {
        const char **names = calloc(x->t->ncols + 1, sizeof *names);
        size_t n = 0;
        if (!names)
            return sql_oom(ctx);
        for (size_t c = 0; c < x->t->ncols; c++)
            if (x->b->used[c] && (!x->t->tab || x->t->tab[c] == 0))
                names[n++] = x->t->names[c];
        if (!n && x->t->ncols)
            names[n++] = x->t->names[0]; /* count(*): the rows of one column */
        int rc = sheaf_input_columns(ctx, names, n);
        /* numbers, dates and timestamps as values, not text to parse */
        sheaf_col_type *types = rc ? NULL : calloc(n + 1, sizeof *types);
        for (size_t k = 0; types && k < n; k++)
            for (size_t c = 0; c < x->t->ncols; c++)
                if (names[k] == x->t->names[c]) {
                    int t = x->t->types[c];
                    types[k] = t == SQL_INT      ? SHEAF_COL_INT64
                               : t == SQL_DOUBLE ? SHEAF_COL_DOUBLE
                               : t == SQL_BOOL   ? SHEAF_COL_BOOL
                               : t == SQL_DATE   ? SHEAF_COL_DATE
                               : t == SQL_TS     ? SHEAF_COL_TIMESTAMP
                                                 : 0;
                    break;
                }
        if (!rc)
            rc = types ? sheaf_input_types(ctx, types, n) : sql_oom(ctx);
        free(types);
        free(names);
        if (rc)
            return rc;
    }
    return sql_bcast_setup(ctx, udata);
}

static int sql_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    sql_exec *x = udata;
    int rc;
    if ((rc = map_columns(ctx, x, rec)))
        return rc;
    sql_arena_reset(&x->arena);
    for (size_t k = 0; k < x->nucols; k++) { /* the others stay NULL */
        size_t c = x->ucols[k];
        sql_value *v = &x->row[c];
        memset(v, 0, sizeof *v);
        v->type = (uint8_t)x->t->types[c];
        if (x->pos[c] < 0) {
            v->null = true;
            continue;
        }
        size_t i = (size_t)x->pos[c];
        /* csv: an empty field is NULL; Parquet marks its nulls (an empty string is not) */
        if (i >= rec->nfields || (rec->nulls ? rec->nulls[i]
                                             : rec->field_lens[i] == 0)) {
            v->null = true;
            continue;
        }
        if (rec->values && rec->values[i].type) {
            const sheaf_value *tv = &rec->values[i];
            if (tv->type == SHEAF_COL_DOUBLE)
                v->u.d = tv->d;
            else if (tv->type == SHEAF_COL_BOOL)
                v->u.b = tv->i != 0;
            else
                v->u.i = tv->i;
            continue;
        }
        if (x->prefixed && x->t->types[c] == SQL_STRING) {
            v->u.s.p = rec->fields[i] + 1;
            v->u.s.n = rec->field_lens[i] - 1;
            continue;
        }
        if (sql_parse_as(x->t->types[c], rec->fields[i], rec->field_lens[i], v))
            return sheaf_fail(ctx, SHEAF_EFORMAT,
                              "%s, offset %llu: column '%s': '%.*s' is not a %s (the type "
                              "inferred from the sample; set it with --schema %s:varchar)",
                              rec->file, (unsigned long long)rec->offset, x->t->names[c],
                              (int)(rec->field_lens[i] > 64 ? 64 : rec->field_lens[i]),
                              rec->fields[i], sql_type_name(x->t->types[c]), x->t->names[c]);
    }
    sql_env env = {x->row, NULL, NULL, &x->arena, x->err, sizeof x->err};
    if (x->join)
        return sql_join_map(ctx, x, rec, &env);
    if (x->bcast)
        return sql_bcast_map(ctx, x, rec, &env);
    return sql_process_row(ctx, x, rec, &env);
}

/* A row of the query's table (in x->row): WHERE, then the group key and the aggregates'
 * states, or the projected row. */
int sql_process_row(sheaf_ctx *ctx, sql_exec *x, const sheaf_record *rec, sql_env *envp) {
    sql_bound *b = x->b;
    sql_env env = *envp;
    int rc;
    if (b->q->where) {
        sql_value w;
        if (sql_eval(b->q->where, &env, &w))
            return sheaf_fail(ctx, SHEAF_EUSER, "%s, offset %llu: %s", rec->file,
                              (unsigned long long)rec->offset, x->err);
        if (!sql_truthy(&w))
            return 0;
    }
    x->key.len = 0;
    x->val.len = 0;
    if (b->aggregate) {
        for (size_t g = 0; g < b->ngroup; g++) {
            sql_value v;
            if (sql_eval(b->group[g], &env, &v))
                return sheaf_fail(ctx, SHEAF_EUSER, "%s, offset %llu: %s", rec->file,
                                  (unsigned long long)rec->offset, x->err);
            if (sql_key_put(&x->key, &v))
                return sql_oom(ctx);
        }
        for (size_t a = 0; a < b->naggs; a++) {
            sql_value *v = &x->argv[a];
            memset(v, 0, sizeof *v);
            v->type = SQL_INT;
            if (b->aggs[a]->nkids && sql_eval(b->aggs[a]->kids[0], &env, v))
                return sheaf_fail(ctx, SHEAF_EUSER, "%s, offset %llu: %s", rec->file,
                                  (unsigned long long)rec->offset, x->err);
        }
        return map_combine(ctx, x);
    }
    if (b->q->limit >= 0 && !b->nokeys &&
        x->emitted >= (uint64_t)b->q->limit + (uint64_t)b->q->offset)
        return 0;
    x->emitted++;
    if (x->topk) {
        /* keep the row among the candidates; prune to the best k when they are 2k */
        if ((rc = add_row(ctx, x, &env, &x->cand)))
            return rc;
        if (++x->ncand >= 2 * x->k + 1024 && prune(x))
            return sheaf_fail(ctx, SHEAF_ENOMEM, "sql: %s", x->err);
        return 0;
    }
    /* the row, keyed by where it came from */
    if ((rc = add_row(ctx, x, &env, &x->val)))
        return rc;
    unsigned char k[16];
    sheaf_key_u64(sheaf_hash(rec->file, strlen(rec->file), 0), k);
    sheaf_key_u64(rec->offset, k + 8);
    return sheaf_emit(ctx, k, sizeof k, x->val.p, x->val.len);
}

/* Merges every state of the group into x->accs. */
static int merge_group(sheaf_ctx *ctx, sql_exec *x, sheaf_values *vals) {
    sql_bound *b = x->b;
    for (size_t a = 0; a < b->naggs; a++) {
        sql_acc_free(&x->accs[a]);
        sql_acc_init(&x->accs[a]);
    }
    const void *v;
    size_t vlen;
    while (sheaf_values_next(vals, &v, &vlen)) {
        const char *p = v;
        size_t off = 0;
        for (size_t a = 0; a < b->naggs; a++) {
            size_t k = sql_acc_merge(b->aggs[a], &x->accs[a], p + off, vlen - off, x->err,
                                     sizeof x->err);
            if (k == (size_t)-1)
                return sheaf_fail(ctx, SHEAF_EUSER, "%s", x->err);
            if (!k)
                return sheaf_fail(ctx, SHEAF_EUSER, "sql: a malformed aggregate state");
            off += k;
        }
    }
    return 0;
}

static int sql_combine(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                       void *udata) {
    sql_exec *x = udata;
    int rc = merge_group(ctx, x, vals);
    if (rc)
        return rc;
    /* its own buffer: the runtime may call the combiner from inside a map's sheaf_emit,
     * while x->val holds that map's row */
    x->cval.len = 0;
    for (size_t a = 0; a < x->b->naggs; a++)
        if (sql_acc_state(x->b->aggs[a], &x->accs[a], &x->cval))
            return sql_oom(ctx);
    return sheaf_emit(ctx, key, klen, x->cval.p ? x->cval.p : "", x->cval.len);
}

/* Finishes one group (or, with no key and no rows, the one group of an empty table). */
static int finish_group(sheaf_ctx *ctx, sql_exec *x, const void *key, size_t klen,
                        sj_buf *dst) {
    sql_bound *b = x->b;
    sql_arena_reset(&x->arena);
    size_t off = 0;
    for (size_t g = 0; g < b->ngroup; g++) {
        size_t k = sql_value_get((const char *)key + off, klen - off, &x->gvals[g]);
        if (!k)
            return sheaf_fail(ctx, SHEAF_EUSER, "sql: a malformed group key");
        off += k;
    }
    for (size_t a = 0; a < b->naggs; a++)
        if (sql_acc_final(b->aggs[a], &x->accs[a], &x->arena, &x->avals[a], x->err,
                          sizeof x->err))
            return ctx ? sheaf_fail(ctx, SHEAF_EUSER, "%s", x->err) : SHEAF_EUSER;
    sql_env env = {NULL, x->gvals, x->avals, &x->arena, x->err, sizeof x->err};
    if (b->q->having) {
        sql_value h;
        if (sql_eval(b->q->having, &env, &h))
            return ctx ? sheaf_fail(ctx, SHEAF_EUSER, "%s", x->err) : SHEAF_EUSER;
        if (!sql_truthy(&h))
            return 0;
    }
    return add_row(ctx, x, &env, dst);
}

static int sql_reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                      void *udata) {
    sql_exec *x = udata;
    if (!x->b->aggregate) {
        const void *v;
        size_t vlen;
        while (sheaf_values_next(vals, &v, &vlen))
            if (sj_buf_add(&x->rows, v, vlen))
                return sql_oom(ctx);
        return 0;
    }
    int rc = merge_group(ctx, x, vals);
    return rc ? rc : finish_group(ctx, x, key, klen, &x->rows);
}

/* ---- the driver --------------------------------------------------------------------------- */

/* The table, learnt on rank 0 and broadcast as "name TAB type LF" lines. */
static int learn_table(MPI_Comm comm, const char *path, char delim, bool parquet,
                       sql_table *t, size_t *nfile, sheaf_result *res) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    char *text = NULL;
    size_t len = 0;
    char err[768] = "";
    int rc = 0;
    uint64_t nfile64 = 0;
    if (rank == 0) {
        char **files = NULL;
        size_t nf = 0;
        rc = sheaf_list_inputs(path, &files, &nf, NULL, 0);
        if (rc || !nf) {
            snprintf(err, sizeof err, "%s: no such file (FROM names a file, directory or "
                                      "glob)", path);
            rc = SHEAF_EUSAGE; /* the table does not exist: exit 2, as a bind error */
        } else {
            sql_table tt;
            size_t nfile_cols;
            rc = sql_files_table(files, nf, parquet, delim, &tt, &nfile_cols, err, sizeof err);
            nfile64 = nfile_cols;
            if (!rc) {
                sj_buf b = {0};
                for (size_t i = 0; i < tt.ncols; i++)
                    sj_buf_printf(&b, "%s\t%d\n", tt.names[i], tt.types[i]);
                text = b.p ? b.p : strdup("");
                len = b.len;
                sql_table_free(&tt);
            }
        }
        if (files)
            sheaf_list_free(files, nf);
    }
    rc = sheaf_agree(comm, rc, err, sizeof err);
    if (rc) {
        free(text);
        return sj_result_fail(res, rc, "%s", err);
    }
    if ((rc = sj_bcast_buf(comm, &text, &len)))
        return sj_result_fail(res, rc, "out of memory");
    MPI_Bcast(&nfile64, 1, MPI_UINT64_T, 0, comm);
    *nfile = (size_t)nfile64;
    memset(t, 0, sizeof *t);
    for (char *p = text; *p;) {
        char *tab = strchr(p, '\t'), *nl = strchr(p, '\n');
        if (!tab || !nl)
            break;
        char **nn = realloc(t->names, (t->ncols + 1) * sizeof *nn);
        int *ty = realloc(t->types, (t->ncols + 1) * sizeof *ty);
        if (nn)
            t->names = nn;
        if (ty)
            t->types = ty;
        if (!nn || !ty) {
            free(text);
            return sj_result_fail(res, SHEAF_ENOMEM, "out of memory");
        }
        t->names[t->ncols] = strndup(p, (size_t)(tab - p));
        t->types[t->ncols++] = atoi(tab + 1);
        p = nl + 1;
    }
    free(text);
    return 0;
}

/* Gathers every rank's rows to rank 0. Collective. */
static int gather_rows(MPI_Comm comm, sj_buf *rows, char **all, size_t *alllen,
                       sheaf_result *res) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    long long mine = (long long)rows->len, *lens = NULL;
    if (rank == 0 && !(lens = malloc((size_t)size * sizeof *lens)))
        return sj_result_fail(res, SHEAF_ENOMEM, "out of memory");
    MPI_Gather(&mine, 1, MPI_LONG_LONG, lens, 1, MPI_LONG_LONG, 0, comm);
    int ok = 1;
    int *counts = NULL, *displs = NULL;
    if (rank == 0) {
        long long total = 0;
        counts = malloc((size_t)size * sizeof *counts);
        displs = malloc((size_t)size * sizeof *displs);
        for (int r = 0; r < size; r++)
            total += lens[r];
        *all = malloc((size_t)total + 1);
        *alllen = (size_t)total;
        ok = counts && displs && *all && total <= INT_MAX;
        for (int r = 0; ok && r < size; r++) {
            counts[r] = (int)lens[r];
            displs[r] = r ? displs[r - 1] + counts[r - 1] : 0;
        }
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, comm);
    if (!ok) {
        free(lens);
        free(counts);
        free(displs);
        return sj_result_fail(res, SHEAF_ENOMEM, "the result (gathered on rank 0) is over "
                                                 "2 GiB or out of memory");
    }
    MPI_Gatherv(rows->p, (int)rows->len, MPI_BYTE, rank == 0 ? *all : NULL, counts, displs,
                MPI_BYTE, 0, comm);
    free(lens);
    free(counts);
    free(displs);
    return 0;
}

/* The bytes of a table's files, on every rank (rank 0 looks). Collective. */
static uint64_t table_bytes(MPI_Comm comm, const char *path) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    unsigned long long total = 0;
    if (rank == 0) {
        char **files = NULL;
        size_t nf = 0;
        if (!sheaf_list_inputs(path, &files, &nf, NULL, 0)) {
            for (size_t i = 0; i < nf; i++) {
                struct stat st;
                if (!stat(files[i], &st))
                    total += (unsigned long long)st.st_size;
            }
            sheaf_list_free(files, nf);
        } else {
            total = ~0ULL;
        }
    }
    MPI_Bcast(&total, 1, MPI_UNSIGNED_LONG_LONG, 0, comm);
    return total;
}

/* Runs one query of the query's nesting: q at depth (0: the query itself) in the work
 * directory work. Its source is a subquery (run first, its result a CSV file in work) or the
 * files of the options. The top query's result goes to stdout or is committed to the output;
 * a subquery's is written as CSV to subfile, and *subt gets its columns. With EXPLAIN, the
 * plans are printed and nothing runs. Collective. */
static int run_select(MPI_Comm comm, sql_opts *o, sql_query *q, const sheaf_config *cfg,
                      const char *workdir, int depth, const char *subfile, sql_table *subt,
                      sheaf_result *res) {
    int rank, rc;
    MPI_Comm_rank(comm, &rank);
    sql_table t;
    size_t nfile = 0, rnfile = 0; /* the tables' columns from the files, before partitions */
    const char *path = o->path;
    sj_buf subpath = {0};
    bool fromsub = q->sub != NULL;
    if (fromsub) {
        if (sj_buf_printf(&subpath, "%s/sub%d.csv", workdir, depth + 1))
            return sj_result_fail(res, SHEAF_ENOMEM, "out of memory");
        if ((rc = run_select(comm, o, q->sub, cfg, workdir, depth + 1, subpath.p, &t, res))) {
            sj_buf_free(&subpath);
            return rc;
        }
        path = subpath.p;
    } else if ((rc = learn_table(comm, o->path, o->delim, o->parquet, &t, &nfile, res))) {
        return rc;
    }
    if (q->join) {
        /* the joined table: the left's columns, then the right's */
        sql_table r;
        if ((rc = learn_table(comm, o->jpath, o->jdelim, o->jparquet, &r, &rnfile, res))) {
            sql_table_free(&t);
            return rc;
        }
        char **names = realloc(t.names, (t.ncols + r.ncols + 1) * sizeof *names);
        if (names)
            t.names = names;
        int *types = names ? realloc(t.types, (t.ncols + r.ncols + 1) * sizeof *types) : NULL;
        if (types)
            t.types = types;
        t.tab = calloc(t.ncols + r.ncols + 1, sizeof *t.tab);
        if (!names || !types || !t.tab) {
            sql_table_free(&t);
            sql_table_free(&r);
            return sj_result_fail(res, SHEAF_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < r.ncols; i++) {
            t.names[t.ncols + i] = r.names[i];
            t.types[t.ncols + i] = r.types[i];
            t.tab[t.ncols + i] = 1;
            r.names[i] = NULL;
        }
        t.ncols += r.ncols;
        sql_table_free(&r);
        t.qual[0][0] = q->from_alias ? q->from_alias : q->from_path ? NULL : q->from;
        t.qual[0][1] = q->from_path ? NULL : q->from;
        t.qual[1][0] = q->join_alias ? q->join_alias : q->join_path ? NULL : q->join;
        t.qual[1][1] = q->join_path ? NULL : q->join;
    }
    char err[1536] = "";
    if (!fromsub && o->schema && sql_apply_schema(&t, o->schema, err, sizeof err)) {
        sql_table_free(&t);
        return sj_result_fail(res, SHEAF_EUSAGE, "%s", err);
    }
    sql_bound b;
    if (sql_bind(q, &t, o->text, &b, err, sizeof err)) {
        sql_bound_free(&b);
        sql_table_free(&t);
        sj_buf_free(&subpath);
        return sj_result_fail(res, SHEAF_EUSAGE, "%s", err);
    }
    if (subt) {
        /* the columns this query gives its enclosing one */
        memset(subt, 0, sizeof *subt);
        subt->names = calloc(b.nout + 1, sizeof *subt->names);
        subt->types = calloc(b.nout + 1, sizeof *subt->types);
        for (size_t i = 0; subt->names && subt->types && i < b.nout; i++) {
            subt->names[i] = strdup(b.names[i]);
            subt->types[i] = b.out[i]->type == SQL_NULL ? SQL_STRING : b.out[i]->type;
            subt->ncols++;
        }
    }
    bool bcast = false;
    if (q->join) {
        uint64_t limit = o->bcast_set ? o->bcast_limit : (uint64_t)64 << 20;
        bcast = limit && table_bytes(comm, o->jpath) <= limit;
    }
    if (o->q.explain) {
        if (rank == 0) {
            if (depth || fromsub)
                printf("%s (depth %d):\n", depth ? "Subquery" : "Query", depth);
            sql_explain(&b, o, path, depth == 0, bcast, cfg, stdout);
        }
        fflush(stdout);
        sql_bound_free(&b);
        sql_table_free(&t);
        sj_buf_free(&subpath);
        return 0;
    }
    sql_exec x;
    memset(&x, 0, sizeof x);
    x.b = &b;
    x.t = &t;
    x.text = o->text;
    x.pos = calloc(t.ncols + 1, sizeof *x.pos);
    x.row = calloc(t.ncols + 1, sizeof *x.row);
    x.ucols = calloc(t.ncols + 1, sizeof *x.ucols);
    x.accs = calloc(b.naggs + 1, sizeof *x.accs);
    x.gvals = calloc(b.ngroup + 1, sizeof *x.gvals);
    x.avals = calloc(b.naggs + 1, sizeof *x.avals);
    x.argv = calloc(b.naggs + 1, sizeof *x.argv);
    sj_buf work = {0}, line = {0}, out = {0}, extra = {0};
    char *all = NULL;
    size_t alllen = 0;
    int ok = x.pos && x.row && x.ucols && x.accs && x.gvals && x.avals && x.argv;
    if (!ok) {
        rc = sj_result_fail(res, SHEAF_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t c = 0; c < t.ncols; c++) {
        x.row[c].type = (uint8_t)t.types[c];
        x.row[c].null = true;
        if (b.used[c])
            x.ucols[x.nucols++] = c;
    }
    for (size_t a = 0; a < b.naggs; a++)
        sql_acc_init(&x.accs[a]);
    if (sj_buf_printf(&work, "%s", workdir)) {
        rc = sj_result_fail(res, SHEAF_ENOMEM, "out of memory");
        goto done;
    }
    sj_buf r1 = {0};
    sj_buf_printf(&r1, "%s/round1-%d", work.p, depth);
    x.topk = !b.aggregate && b.nokeys && q->limit >= 0;
    x.k = (uint64_t)q->limit + (uint64_t)q->offset;
    sheaf_job_def j1 = {.name = "sql", .map = sql_map, .reduce = sql_reduce,
                        .setup = sql_setup, .map_cleanup = sql_map_cleanup, .udata = &x};
    if (b.aggregate && b.naggs)
        j1.combine = sql_combine;
    const char *in1[] = {path};
    sheaf_config c1 = *cfg;
    char **phys = NULL;
    if (fromsub) {
        /* the subquery's CSV: columns c<i>, strings prefixed */
        if (!(phys = calloc(t.ncols + 1, sizeof *phys)))
            rc = sj_result_fail(res, SHEAF_ENOMEM, "out of memory");
        for (size_t c = 0; !rc && c < t.ncols; c++) {
            char nm[32];
            snprintf(nm, sizeof nm, "c%zu", c);
            if (!(phys[c] = strdup(nm)))
                rc = sj_result_fail(res, SHEAF_ENOMEM, "out of memory");
        }
        x.phys = phys;
        x.prefixed = true;
        c1.input_format = "csv";
        c1.csv_delimiter = ',';
        if (!rc)
            rc = sj_round(comm, &j1, &c1, in1, 1, r1.p, res);
    } else if (q->join && bcast) {
        /* the broadcast join: round 1 over the left table, the right one in every rank */
        x.bcast = true;
        x.bpath = o->jpath;
        x.bdelim = o->jdelim;
        x.bparquet = o->jparquet;
        x.pqcols = o->parquet;
        rc = sj_round(comm, &j1, &c1, in1, 1, r1.p, res);
        x.bcast = false;
        sql_table_read(o, res, NULL);
    } else if (q->join) {
        /* the join round: both tables in, their joined rows (the columns the query reads)
         * out as CSV; round 1 then reads those */
        sj_buf r0 = {0};
        sj_buf_printf(&r0, "%s/join-%d", work.p, depth);
        sheaf_job_def j0 = {.name = "sql", .map = sql_map, .reduce = sql_join_reduce, .udata = &x};
        const char *in0[] = {path, o->jpath};
        const char *fmts[] = {o->parquet ? "parquet" : "csv", o->jparquet ? "parquet" : "csv"};
        x.join = true;
        sheaf_config c0 = *cfg;
        c0.output_format = "raw";
        c0.input_formats = fmts;
        if (o->parquet)
            c0.csv_delimiter = o->jdelim;
        rc = sj_round(comm, &j0, &c0, in0, 2, r0.p, res);
        x.join = false;
        sql_table_read(o, res, NULL);
        x.hdr_any = false;
        in1[0] = r0.p;
        if (!rc && !(phys = calloc(t.ncols + 1, sizeof *phys)))
            rc = sj_result_fail(res, SHEAF_ENOMEM, "out of memory");
        for (size_t c = 0; !rc && c < t.ncols; c++) {
            char nm[32];
            snprintf(nm, sizeof nm, "c%zu", c);
            if (!(phys[c] = strdup(nm)))
                rc = sj_result_fail(res, SHEAF_ENOMEM, "out of memory");
        }
        x.phys = phys;
        x.prefixed = true;
        c1.input_format = "csv";
        c1.csv_delimiter = ',';
        if (!rc)
            rc = sj_round(comm, &j1, &c1, in1, 1, r1.p, res);
        sj_buf_free(&r0);
    } else {
        x.pqcols = o->parquet;
        /* Parquet under partition folders: a file whose folders fail a WHERE conjunct on
         * partition columns only is not read */
        sql_pruner *pr = NULL;
        if (o->parquet && sql_pruner_new(&t, nfile, q->where, &pr))
            rc = sj_result_fail(res, SHEAF_ENOMEM, "out of memory");
        if (pr) {
            c1.prune = sql_pruner_prune;
            c1.prune_arg = pr;
        }
        if (!rc)
            rc = sj_round(comm, &j1, &c1, in1, 1, r1.p, res);
        sql_table_read(o, res, pr);
        sql_pruner_free(pr);
    }
    for (size_t c = 0; phys && c < t.ncols; c++)
        free(phys[c]);
    free(phys);
    x.phys = NULL;
    sj_buf_free(&r1);
    if (rc)
        goto done_work;
    if ((rc = gather_rows(comm, &x.rows, &all, &alllen, res)))
        goto done_work;
    int frc = 0;
    bool table = !subt && o->to_stdout && (o->format ? !strcmp(o->format, "table") : isatty(1));
    if (rank == 0) {
        /* an ungrouped aggregate over no rows still has its one row */
        if (b.aggregate && !b.ngroup && alllen == 0) {
            frc = finish_group(NULL, &x, "", 0, &extra);
            if (frc)
                snprintf(err, sizeof err, "%s", x.err);
        }
        if (!frc)
            frc = sql_finish_rows(&x, all, alllen, &extra, o->to_stdout || subt ? '\n' : '\0',
                              table ? 1 : subt ? 2 : 0, &out);
        if (frc && !err[0])
            snprintf(err, sizeof err, "%s", x.err);
        if (!frc && subt) {
            FILE *f = fopen(subfile, "wbx");
            if (!f || fwrite(out.p, 1, out.len, f) != out.len)
                frc = SHEAF_EIO;
            if (f && fclose(f))
                frc = SHEAF_EIO;
            if (frc)
                snprintf(err, sizeof err, "%s: cannot write: %s", subfile, strerror(errno));
        } else if (!frc && o->to_stdout && !table) {
            fwrite(out.p, 1, out.len, stdout);
            fflush(stdout);
        }
    }
    if ((rc = sheaf_agree(comm, frc, err, sizeof err))) {
        rc = sj_result_fail(res, rc, "%s", err);
        goto done_work;
    }
    if (!o->to_stdout && !subt) {
        /* round 2: the sorted CSV, committed under the sampling partitioner's total order */
        sj_buf rows = {0};
        sj_buf_printf(&rows, "%s/result", work.p);
        int wrc = 0;
        if (rank == 0) {
            FILE *f = fopen(rows.p, "wbx");
            if (!f || fwrite(out.p, 1, out.len, f) != out.len)
                wrc = SHEAF_EIO;
            if (f && fclose(f))
                wrc = SHEAF_EIO;
            if (wrc)
                snprintf(err, sizeof err, "%s: cannot write: %s", rows.p, strerror(errno));
        }
        if ((rc = sheaf_agree(comm, wrc, err, sizeof err))) {
            rc = sj_result_fail(res, rc, "%s", err);
            sj_buf_free(&rows);
            goto done_work;
        }
        out_state os = {&line, o};
        sheaf_job_def j2 = {.name = "sql", .map = sql_out_map, .reduce = sql_out_reduce,
                            .setup = sql_out_setup, .total_order = 1, .udata = &os};
        sheaf_config c2 = *cfg;
        const char *in2[] = {rows.p};
        c2.inputs = in2;
        c2.ninputs = 1;
        c2.input_format = "lines";
        c2.record_delimiter = "\\0";
        c2.csv_header = 0;
        c2.output_format = "raw";
        rc = sheaf_run(comm, &j2, &c2, res);
        sj_buf_free(&rows);
    }
done_work:
done:
    sj_buf_free(&subpath);
    if (rc && subt)
        sql_table_free(subt);
    free(all);
    sj_buf_free(&out);
    sj_buf_free(&extra);
    sj_buf_free(&line);
    sj_buf_free(&work);
    sj_buf_free(&x.key);
    sj_buf_free(&x.val);
    sj_buf_free(&x.tmp);
    sj_buf_free(&x.cval);
    sj_buf_free(&x.rows);
    sj_buf_free(&x.cand);
    sj_buf_free(&x.jl);
    sj_buf_free(&x.jr);
    sj_buf_free(&x.line);
    sj_buf_free(&x.bkeys);
    sj_buf_free(&x.brows);
    free(x.bslot);
    free(x.bent);
    for (size_t g = 0; x.gacc && g < x.ngroups * b.naggs; g++)
        sql_acc_free(&x.gacc[g]);
    free(x.gacc);
    free(x.goff);
    free(x.gslot);
    sj_buf_free(&x.gkeys);
    for (size_t a = 0; x.accs && a < b.naggs; a++)
        sql_acc_free(&x.accs[a]);
    free(x.accs);
    free(x.gvals);
    free(x.avals);
    free(x.argv);
    free(x.pos);
    free(x.row);
    free(x.ucols);
    sql_arena_free(&x.arena);
    sql_bound_free(&b);
    sql_table_free(&t);
    return rc;
}

static int sql_run(MPI_Comm comm, const sheaf_command *cmd, const sheaf_config *cfg,
                   sheaf_result *res) {
    sql_opts *o = cmd->udata;
    int rank, rc;
    char err[512] = "";
    MPI_Comm_rank(comm, &rank);
    memset(res, 0, sizeof *res);
    res->failed_rank = -1;
    /* the output is checked as sheaf_run would, before any round */
    int oc = 0;
    if (rank == 0 && !o->to_stdout && !o->q.explain)
        oc = sheaf_output_check(cfg, err, sizeof err);
    if ((rc = sheaf_agree(comm, oc, err, sizeof err)))
        return sj_result_fail(res, rc, "%s", err);
    /* the work directory: always new (sheaf_workdir_create: mkdtemp, 0700) and private, next
     * to the output (which every rank's files reach) or, for stdout, in --spill-dir, $TMPDIR
     * or /tmp */
    char *dir = NULL;
    size_t dlen = 0;
    int mk = 0;
    if (rank == 0) {
        const char *tmp = cfg->spill_dir ? cfg->spill_dir : getenv("TMPDIR");
        if (!tmp || !*tmp)
            tmp = "/tmp";
        sj_buf parent = {0}, prefix = {0};
        if (o->to_stdout) {
            sj_buf_printf(&parent, "%s", tmp);
            sj_buf_printf(&prefix, "sheaf-sql.");
        } else {
            size_t n = strlen(cfg->output);
            while (n > 1 && cfg->output[n - 1] == '/')
                n--;
            const char *slash = memrchr(cfg->output, '/', n);
            if (slash)
                sj_buf_printf(&parent, "%.*s", slash == cfg->output ? 1 : (int)(slash - cfg->output),
                              cfg->output);
            else
                sj_buf_printf(&parent, ".");
            const char *base = slash ? slash + 1 : cfg->output;
            sj_buf_printf(&prefix, "%.*s.sql-work.", (int)(cfg->output + n - base), base);
        }
        char path[4096];
        if (parent.p && prefix.p &&
            !sheaf_workdir_create(parent.p, prefix.p, path, sizeof path)) {
            dir = strdup(path);
            dlen = dir ? strlen(dir) : 0;
            mk = dir ? 0 : SHEAF_ENOMEM;
        } else {
            snprintf(err, sizeof err, "cannot create a work directory in %s: %s",
                     parent.p ? parent.p : "", strerror(errno));
            mk = SHEAF_EIO;
        }
        sj_buf_free(&parent);
        sj_buf_free(&prefix);
    }
    if ((rc = sheaf_agree(comm, mk, err, sizeof err)))
        return sj_result_fail(res, rc, "%s", err);
    if ((rc = sj_bcast_buf(comm, &dir, &dlen)))
        return sj_result_fail(res, rc, "out of memory");
    rc = run_select(comm, o, &o->q, cfg, dir, 0, NULL, NULL, res);
    MPI_Barrier(comm);
    if (rank == 0)
        sheaf_workdir_remove(dir, 0);
    free(dir);
    return rc;
}

static const sheaf_option sql_options[] = {
    {"file", "FILE", "read the query from FILE"},
    {"table", "NAME=PATH", "bind a table name to files (PATH:tsv or PATH:csv sets the "
                           "format; repeatable)"},
    {"schema", "COL:TYPE,...", "column types instead of the inferred ones (bigint, double, "
                               "varchar, boolean, date, timestamp)"},
    {"format", "FMT", "stdout format without -o: csv or table (default: table on a terminal)"},
    {"broadcast-limit", "SIZE", "a JOIN's right table up to SIZE bytes is read by every rank "
                                "and joined in the map; larger ones are shuffled (default "
                                "64M; 0: always shuffle)"},
    {NULL, NULL, NULL}};

const sheaf_command sheaf_cmd_sql = {
    .name = "sql",
    .summary = "run a SQL query over csv/tsv files (SELECT ... FROM 'path' ...)",
    .usage = "QUERY   (SELECT ... FROM 'path/*.csv' ...; the result goes to stdout without -o)",
    .options = sql_options,
    .parse_option = sql_parse_opt,
    .configure = sql_configure,
    .udata = &sopts,
    .run = sql_run,
};
