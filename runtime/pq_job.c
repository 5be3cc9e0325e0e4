/*
 * pq_job.c: Parquet in jobs: the output writer of --output-format parquet, the source of
 * --input-format parquet, the output schema and typed rows of user jobs, and the typed field
 * accessors. It is one output format (sheaf__out_parquet, in writer.c's table) and one input
 * format (sheaf__src_parquet, in reader.c's table, whose open and next hand a parquet split
 * here); input.c asks it for a file's splits.
 *
 * Output: each part file (and named output) of a reducer is NAME-r-NNNNN.parquet, written by
 * parquet_write.c into the job's temporary directory and committed like every output. A job
 * that declared an output schema (sheaf_output_schema) writes its rows there; every other
 * job's key/value records become rows of two columns, key (string) and value: an int64 or a
 * double when the value is the job's built-in aggregation, else a string. The format string
 * is parquet[:CODEC[:ROWS]] (codec snappy, zstd, gzip or none; rows per row group).
 *
 * Input: rank 0 cuts each Parquet file into one split per row group, its byte range being the
 * row group's column chunks (so the largest are claimed first). A rank opening a split reads
 * the file's footer (kept while the next split is in the same file), finds the row group that
 * starts there and decodes the columns the job asked for (sheaf_input_columns; default all).
 * Each row is a record whose fields are the columns' values as text, in the file's column
 * order under a header of their names, so sheaf_record_field and the csv jobs work on it;
 * nulls are empty fields marked in rec->nulls, and columns not asked for are empty and null.
 * rec->data is the row as a csv line, and rec->offset the row's number in the file. A job
 * that named the columns' types (sheaf_input_types) gets each value a column's file type
 * gives exactly (typed_as) in rec->values instead of as text, and no csv line. A file
 * under Hive-style folders (NAME=VALUE in its path) has a field per folder after its columns,
 * its value unescaped, null for __HIVE_DEFAULT_PARTITION__ (sheaf__hive_folders).
 *
 * Folders: a job that called sheaf_output_folders writes no part file at the top; each
 * sheaf_row_folder closes the folder file open and creates FOLDER/part-r-NNNNN.parquet (new,
 * O_EXCL) in the job's temporary directory, which the committer moves into place whole.
 */
#include "parquet.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* What a job keeps: its output schema, the part file rows go to, the input columns. */
struct sheaf__pqjob {
    sheaf_schema *schema;
    struct sheaf__pqout *cur; /* the partition's Parquet part file, when one is open */
    sheaf__buf *cells;        /* text of each column of the row being built (other formats) */
    bool *isset;
    char **columns; /* sheaf_input_columns */
    size_t ncolumns;
    sheaf_col_type *types; /* sheaf_input_types: one a column, or NULL */
    /* sheaf_output_folders: rows go to FOLDER/part-r-NNNNN.parquet (one folder open at a time)
     * under the job's temporary directory, and no part file is left at its top */
    bool folders;
    char *tmpdir;
    char *folder;
    struct sheaf__pqout *fout;
};

struct sheaf__pqout {
    sheaf__pqw *w;
    int fd;
    bool kv;  /* key/value records: two columns */
    bool cur; /* the partition's part file (rows go here) */
};

static struct sheaf__pqjob *job_state(sheaf_ctx *ctx) {
    if (!ctx->pq)
        ctx->pq = calloc(1, sizeof *ctx->pq);
    return ctx->pq;
}

void sheaf__pqjob_free(sheaf_ctx *ctx) {
    struct sheaf__pqjob *j = ctx->pq;
    if (!j)
        return;
    for (size_t i = 0; j->schema && i < j->schema->n; i++)
        sheaf__buf_free(&j->cells[i]);
    free(j->cells);
    free(j->isset);
    sheaf_schema_free(j->schema);
    for (size_t i = 0; i < j->ncolumns; i++)
        free(j->columns[i]);
    free(j->columns);
    free(j->types);
    free(j->tmpdir);
    free(j->folder);
    free(j);
    ctx->pq = NULL;
}

/* ---- the output format ---- */

/* Parses parquet[:CODEC[:ROWS]] into o (may be NULL). 0 or SHEAF_EINVAL. */
static int output_format(const char *text, sheaf__pqw_opts *o) {
    sheaf__pqw_opts tmp;
    if (!o)
        o = &tmp;
    sheaf__pqw_opts_init(o);
    if (strncmp(text, "parquet", 7) || (text[7] && text[7] != ':'))
        return SHEAF_EINVAL;
    if (!text[7])
        return 0;
    char codec[32];
    const char *p = text + 8, *colon = strchr(p, ':');
    size_t n = colon ? (size_t)(colon - p) : strlen(p);
    if (n >= sizeof codec)
        return SHEAF_EINVAL;
    memcpy(codec, p, n);
    codec[n] = 0;
    if (n && (o->codec = sheaf__pq_codec_parse(codec)) < 0)
        return SHEAF_EINVAL;
    if (colon) {
        char *end;
        errno = 0;
        unsigned long long rows = strtoull(colon + 1, &end, 10);
        if (errno || *end || !rows || colon[1] == '-')
            return SHEAF_EINVAL;
        o->row_group_rows = rows;
    }
    return 0;
}

int sheaf__pq_output_format_ok(const char *text) {
    return output_format(text, NULL);
}

/* Starts the Parquet file the writer created at path (the partition's part file when part), or
 * creates it (create: a new file, never one that exists). */
static int pqout_open(sheaf_ctx *ctx, const char *path, bool part, bool create,
                      struct sheaf__pqout **out) {
    sheaf__pqw_opts o;
    output_format(ctx->cfg.output_format, &o);
    struct sheaf__pqout *q = calloc(1, sizeof *q);
    sheaf_schema *kv = NULL;
    const sheaf_schema *s = part && ctx->pq ? ctx->pq->schema : NULL;
    if (!q)
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    if (!s) {
        sheaf_agg agg = ctx->job->reduce ? SHEAF_AGG_NONE : ctx->job->agg;
        sheaf_col_type vt = agg == SHEAF_AGG_NONE ? SHEAF_COL_STRING
                            : agg == SHEAF_AGG_SUM_DOUBLE || agg == SHEAF_AGG_MIN_DOUBLE ||
                                    agg == SHEAF_AGG_MAX_DOUBLE
                                ? SHEAF_COL_DOUBLE
                                : SHEAF_COL_INT64;
        kv = sheaf_schema_new();
        if (!kv || sheaf_schema_add(kv, "key", SHEAF_COL_STRING, 0) ||
            sheaf_schema_add(kv, "value", vt, 0)) {
            sheaf_schema_free(kv);
            free(q);
            return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
        }
        s = kv;
        q->kv = true;
    }
    q->fd = create ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)
                   : open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
    if (q->fd < 0) {
        sheaf_schema_free(kv);
        free(q);
        return sheaf__error(ctx, SHEAF_EIO, "cannot create output %s: %s", path, strerror(errno));
    }
    char err[512];
    q->w = sheaf__pqw_open(q->fd, path, s, &o, err, sizeof err);
    sheaf_schema_free(kv);
    if (!q->w) {
        close(q->fd);
        free(q);
        return sheaf__error(ctx, SHEAF_ENOMEM, "%s", err);
    }
    q->cur = part && !q->kv;
    if (q->cur)
        ctx->pq->cur = q;
    *out = q;
    return 0;
}

static int pqout_kv(sheaf_ctx *ctx, struct sheaf__pqout *q, const void *key, size_t klen,
                    const void *val, size_t vlen) {
    if (!q->kv)
        return sheaf__error(ctx, SHEAF_EINVAL,
                            "the job declared an output schema: write rows (sheaf_row_emit), "
                            "not key/value records, to its Parquet output");
    int rc = sheaf__pqw_set_str(q->w, 0, key, klen);
    if (!rc)
        rc = sheaf__pqw_set_text(q->w, 1, val, vlen);
    if (!rc)
        rc = sheaf__pqw_end_row(q->w);
    if (rc)
        return sheaf__error(ctx, rc, "%s", sheaf__pqw_error(q->w));
    return 0;
}

/* Finishes the file (or drops it when the job failed); *qp is set to NULL. */
static int pqout_close(sheaf_ctx *ctx, struct sheaf__pqout **qp) {
    struct sheaf__pqout *q = *qp;
    if (!q)
        return 0;
    *qp = NULL;
    if (ctx->pq && ctx->pq->cur == q)
        ctx->pq->cur = NULL;
    char err[512];
    int rc = ctx->err;
    if (rc) {
        sheaf__pqw_abort(q->w); /* the job failed: its output is removed anyway */
    } else if ((rc = sheaf__pqw_close(q->w, err, sizeof err))) {
        sheaf__error(ctx, rc, "%s", err);
    } else {
        off_t end = lseek(q->fd, 0, SEEK_END);
        ctx->c[SHEAF__C_OUTPUT_BYTES] += end > 0 ? (uint64_t)end : 0;
    }
    if (close(q->fd) && !rc)
        rc = sheaf__error(ctx, SHEAF_EIO, "cannot close a Parquet output: %s", strerror(errno));
    free(q);
    return rc;
}

/* The output format: the writer (writer.c) creates NAME-r-NNNNN.parquet and calls these. */
static int pq_open(sheaf_ctx *ctx, sheaf__writer *w) {
    struct sheaf__pqout *q = NULL;
    struct sheaf__pqjob *j = ctx->pq;
    if (j && j->folders && !strcmp(w->name, "part")) {
        /* rows go to folders: the empty part file the writer made in this job's temporary
         * directory goes, and its directory is where the folders are made */
        unlink(w->path);
        const char *slash = strrchr(w->path, '/');
        free(j->tmpdir);
        j->tmpdir = strndup(w->path, slash ? (size_t)(slash - w->path) : 0);
        w->state = NULL;
        return j->tmpdir ? 0 : sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    }
    int rc = pqout_open(ctx, w->path, !strcmp(w->name, "part"), false, &q);
    w->state = q;
    return rc;
}

static int pq_put(sheaf_ctx *ctx, sheaf__writer *w, const void *key, size_t klen,
                  const void *val, size_t vlen) {
    if (!w->state)
        return sheaf__error(ctx, SHEAF_EINVAL,
                            "the job writes rows to folders (sheaf_output_folders), not "
                            "key/value records");
    return pqout_kv(ctx, w->state, key, klen, val, vlen);
}

static int pq_finish(sheaf_ctx *ctx, sheaf__writer *w) {
    struct sheaf__pqout *q = w->state;
    w->state = NULL;
    struct sheaf__pqjob *j = ctx->pq;
    if (!q && j && j->folders) {
        free(j->folder);
        j->folder = NULL;
        return pqout_close(ctx, &j->fout);
    }
    return pqout_close(ctx, &q);
}

const sheaf__outfmt sheaf__out_parquet = {
    .name = "parquet",
    .ext = ".parquet",
    .text_values = true,
    .open = pq_open,
    .put = pq_put,
    .finish = pq_finish,
};

/* ---- typed rows ---- */

SHEAF_EXTERN int sheaf_output_schema(sheaf_ctx *ctx, const sheaf_schema *s) {
    struct sheaf__pqjob *j = job_state(ctx);
    if (!j)
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    if (!s || !s->n)
        return sheaf__error(ctx, SHEAF_EINVAL, "an output schema needs a column or more");
    if (j->schema)
        return sheaf__error(ctx, SHEAF_EINVAL, "the output schema was already declared");
    j->schema = sheaf__schema_copy(s);
    j->cells = calloc(s->n, sizeof *j->cells);
    j->isset = calloc(s->n, sizeof *j->isset);
    if (!j->schema || !j->cells || !j->isset)
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    return 0;
}

SHEAF_EXTERN int sheaf_output_folders(sheaf_ctx *ctx) {
    struct sheaf__pqjob *j = ctx->pq;
    if (!j || !j->schema)
        return sheaf__error(ctx, SHEAF_EINVAL,
                            "sheaf_output_folders: declare the output schema first");
    if (ctx->outfmt != &sheaf__out_parquet)
        return sheaf__error(ctx, SHEAF_EINVAL, "rows in folders are written as Parquet only");
    j->folders = true;
    return 0;
}

bool sheaf__pq_folders(const sheaf_ctx *ctx) {
    return ctx->pq && ctx->pq->folders;
}

/* Whether a folder path is relative, of components NAME=VALUE that hold no NUL, and none of
 * them ".", ".." or hidden from readers (starting with '.' or '_'). */
static bool folder_ok(const char *f) {
    if (!*f || *f == '/')
        return false;
    for (const char *p = f; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (!n || !eq || eq == p || *p == '.' || *p == '_')
            return false;
        p += n + (e != NULL);
        if (e && !*p)
            return false;
    }
    return true;
}

SHEAF_EXTERN int sheaf_row_folder(sheaf_ctx *ctx, const char *folder) {
    struct sheaf__pqjob *j = ctx->pq;
    if (ctx->err)
        return ctx->err;
    if (!j || !j->folders || !j->tmpdir)
        return sheaf__error(ctx, SHEAF_EINVAL,
                            "sheaf_row_folder: from reduce, after sheaf_output_folders");
    if (j->folder && !strcmp(j->folder, folder))
        return 0;
    if (!folder_ok(folder))
        return sheaf__error(ctx, SHEAF_EINVAL,
                            "output folder '%s': not a relative path of NAME=VALUE folders",
                            folder);
    int rc = pqout_close(ctx, &j->fout);
    free(j->folder);
    j->folder = NULL;
    if (rc)
        return rc;
    char *dir = sheaf__asprintf("%s/%s", j->tmpdir, folder);
    char *path = dir ? sheaf__asprintf("%s/part-r-%05u%s", dir, sheaf_partition(ctx),
                                       sheaf__out_parquet.ext)
                     : NULL;
    if (!dir || !path || !(j->folder = strdup(folder))) {
        free(dir);
        free(path);
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    }
    if (sheaf__mkdirs(dir, 0755))
        rc = sheaf__error(ctx, SHEAF_EIO, "cannot create output folder %s: %s", dir,
                          strerror(errno));
    else if ((rc = pqout_open(ctx, path, true, true, &j->fout)) == 0)
        j->cur = j->fout;
    free(dir);
    free(path);
    return rc;
}

/* The job's schema and the column, or NULL after recording why. */
static struct sheaf__pqjob *row_col(sheaf_ctx *ctx, size_t col) {
    struct sheaf__pqjob *j = ctx->pq;
    if (ctx->err)
        return NULL;
    if (!j || !j->schema) {
        sheaf__error(ctx, SHEAF_EINVAL, "typed rows need an output schema (sheaf_output_schema)");
        return NULL;
    }
    /* the reduce side's sink, the output set, is the one with named outputs */
    if (!ctx->sink || !ctx->sink->ops || !ctx->sink->ops->emit_named) {
        sheaf__error(ctx, SHEAF_EINVAL, "typed rows are written from reduce");
        return NULL;
    }
    if (col >= j->schema->n) {
        sheaf__error(ctx, SHEAF_EINVAL, "column %zu of an output schema of %zu", col, j->schema->n);
        return NULL;
    }
    if (j->folders && !j->cur) {
        sheaf__error(ctx, SHEAF_EINVAL, "a row in folders before sheaf_row_folder named one");
        return NULL;
    }
    return j;
}

static int writer_rc(sheaf_ctx *ctx, struct sheaf__pqjob *j, int rc) {
    return rc ? sheaf__error(ctx, rc, "%s", sheaf__pqw_error(j->cur->w)) : 0;
}

/* Other output formats: the column's text. */
static int cell(sheaf_ctx *ctx, struct sheaf__pqjob *j, size_t col, const char *text, size_t n) {
    sheaf__buf *b = &j->cells[col];
    b->len = 0;
    if (sheaf__buf_reserve(b, n ? n : 1))
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    if (n)
        memcpy(b->data, text, n);
    b->len = n;
    j->isset[col] = true;
    return 0;
}

SHEAF_EXTERN int sheaf_row_set_i64(sheaf_ctx *ctx, size_t col, int64_t v) {
    struct sheaf__pqjob *j = row_col(ctx, col);
    if (!j)
        return ctx->err;
    if (j->cur)
        return writer_rc(ctx, j, sheaf__pqw_set_i64(j->cur->w, col, v));
    char t[48];
    sheaf_col_type ty = j->schema->cols[col].type;
    size_t n = ty == SHEAF_COL_DATE        ? sheaf__format_date((int32_t)v, t)
               : ty == SHEAF_COL_TIMESTAMP ? sheaf__format_timestamp(v, t)
                                           : (size_t)snprintf(t, sizeof t, "%" PRId64, v);
    return cell(ctx, j, col, t, n);
}

SHEAF_EXTERN int sheaf_row_set_double(sheaf_ctx *ctx, size_t col, double v) {
    struct sheaf__pqjob *j = row_col(ctx, col);
    if (!j)
        return ctx->err;
    if (j->cur)
        return writer_rc(ctx, j, sheaf__pqw_set_double(j->cur->w, col, v));
    char t[64];
    return cell(ctx, j, col, t, sheaf__format_double(v, t, sizeof t));
}

SHEAF_EXTERN int sheaf_row_set_bool(sheaf_ctx *ctx, size_t col, int v) {
    struct sheaf__pqjob *j = row_col(ctx, col);
    if (!j)
        return ctx->err;
    if (j->cur)
        return writer_rc(ctx, j, sheaf__pqw_set_bool(j->cur->w, col, v != 0));
    return cell(ctx, j, col, v ? "true" : "false", v ? 4 : 5);
}

SHEAF_EXTERN int sheaf_row_set_str(sheaf_ctx *ctx, size_t col, const void *s, size_t len) {
    struct sheaf__pqjob *j = row_col(ctx, col);
    if (!j)
        return ctx->err;
    if (j->cur)
        return writer_rc(ctx, j, sheaf__pqw_set_str(j->cur->w, col, s, len));
    return cell(ctx, j, col, s, len);
}

SHEAF_EXTERN int sheaf_row_set_null(sheaf_ctx *ctx, size_t col) {
    struct sheaf__pqjob *j = row_col(ctx, col);
    if (!j)
        return ctx->err;
    if (j->cur)
        return writer_rc(ctx, j, sheaf__pqw_set_null(j->cur->w, col));
    j->isset[col] = false;
    return 0;
}

SHEAF_EXTERN int sheaf_row_set_text(sheaf_ctx *ctx, size_t col, const char *text, size_t len) {
    struct sheaf__pqjob *j = row_col(ctx, col);
    if (!j)
        return ctx->err;
    if (j->cur)
        return writer_rc(ctx, j, sheaf__pqw_set_text(j->cur->w, col, text, len));
    const struct sheaf__col *c = &j->schema->cols[col];
    if (sheaf_schema_cast(j->schema, col, text, len) && !(len == 0 && c->type != SHEAF_COL_STRING))
        return sheaf__error(ctx, SHEAF_EINVAL, "'%.*s' does not cast to the %s column '%s'",
                            (int)SHEAF__MIN(len, 64), text, "typed", c->name);
    if (len == 0 && c->type != SHEAF_COL_STRING) {
        j->isset[col] = false;
        return 0;
    }
    return cell(ctx, j, col, text, len);
}

/* Writes s (n bytes) at p as an RFC 4180 csv field (quoted when it holds a comma, quote, CR
 * or LF, its quotes doubled), which needs 2 * n + 2 bytes at most; returns the end. */
static uint8_t *csv_put(uint8_t *p, const uint8_t *s, size_t n) {
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        memcpy(p, s, n);
        return p + n;
    }
    *p++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            *p++ = '"';
        *p++ = s[i];
    }
    *p++ = '"';
    return p;
}

static int csv_append(sheaf__buf *b, const uint8_t *s, size_t n) {
    if (sheaf__buf_reserve(b, 2 * n + 2))
        return SHEAF_ENOMEM;
    b->len = (size_t)(csv_put(b->data + b->len, s, n) - b->data);
    return 0;
}

static int add_comma(sheaf__buf *b) {
    if (sheaf__buf_reserve(b, 1))
        return SHEAF_ENOMEM;
    b->data[b->len++] = ',';
    return 0;
}

int sheaf__pqjob_csv_header(sheaf_ctx *ctx, sheaf__buf *out) {
    struct sheaf__pqjob *j = ctx->pq;
    if (!j || !j->schema)
        return 0;
    if (!out)
        return 1;
    for (size_t i = 0; i < j->schema->n; i++) {
        const char *name = j->schema->cols[i].name;
        if ((i && add_comma(out)) || csv_append(out, (const uint8_t *)name, strlen(name)))
            return SHEAF_ENOMEM;
    }
    if (sheaf__buf_reserve(out, 1))
        return SHEAF_ENOMEM;
    out->data[out->len++] = '\n';
    return 1;
}

SHEAF_EXTERN int sheaf_row_emit(sheaf_ctx *ctx) {
    struct sheaf__pqjob *j = row_col(ctx, 0);
    if (!j)
        return ctx->err;
    if (j->cur) {
        int rc = writer_rc(ctx, j, sheaf__pqw_end_row(j->cur->w));
        if (!rc)
            ctx->c[SHEAF__C_OUTPUT_RECORDS]++;
        return rc;
    }
    /* text and csv output: one csv line of the fields, a null empty */
    if (ctx->outfmt != &sheaf__out_text && ctx->outfmt != &sheaf__out_csv)
        return sheaf__error(ctx, SHEAF_EINVAL,
                            "typed rows are written with --output-format text, csv or parquet");
    sheaf__buf line = {0};
    int rc = 0;
    for (size_t i = 0; i < j->schema->n && !rc; i++) {
        if (!j->isset[i] && !j->schema->cols[i].nullable) {
            rc = sheaf__error(ctx, SHEAF_EINVAL, "row without a value for the required column '%s'",
                              j->schema->cols[i].name);
            break;
        }
        if (i && add_comma(&line))
            rc = SHEAF_ENOMEM;
        else if (j->isset[i] && csv_append(&line, j->cells[i].data, j->cells[i].len))
            rc = SHEAF_ENOMEM;
    }
    for (size_t i = 0; i < j->schema->n; i++)
        j->isset[i] = false;
    if (rc == SHEAF_ENOMEM)
        rc = sheaf__error(ctx, rc, "out of memory");
    if (!rc)
        rc = sheaf_emit(ctx, line.data ? line.data : (const uint8_t *)"", line.len, "", 0);
    sheaf__buf_free(&line);
    return rc;
}

/* ---- typed fields ---- */

/* The index of a column as sheaf_record_field finds it, or -1. */
static long field_index(const sheaf_record *rec, const char *column) {
    size_t n;
    const char *f = sheaf_record_field(rec, column, &n);
    if (!f)
        return -1;
    size_t len = strlen(column);
    for (size_t i = 0; i < rec->nheader && i < rec->nfields; i++)
        if (rec->header_lens[i] == len && !memcmp(rec->header[i], column, len))
            return (long)i;
    return strtol(column, NULL, 10);
}

/* Field i's value when it came as one (sheaf_input_types), else NULL. */
static const sheaf_value *field_value(const sheaf_record *rec, long i) {
    return rec->values && rec->values[i].type ? &rec->values[i] : NULL;
}

SHEAF_EXTERN int sheaf_record_is_null(const sheaf_record *rec, const char *column) {
    long i = field_index(rec, column);
    if (i < 0)
        return SHEAF_ENOENT;
    return (rec->nulls && rec->nulls[i]) || (rec->field_lens[i] == 0 && !field_value(rec, i));
}

/* The text of a column's field (rc 1), or rc 0 (null or empty) or SHEAF_ENOENT; *v is set to
 * its value when it came as one (and rc is 1). */
static const char *typed_field(const sheaf_record *rec, const char *column, size_t *n, int *rc,
                               const sheaf_value **v) {
    *v = NULL;
    const char *f = sheaf_record_field(rec, column, n);
    *rc = !f ? SHEAF_ENOENT : sheaf_record_is_null(rec, column) == 1 ? 0 : 1;
    if (*rc == 1)
        *v = field_value(rec, field_index(rec, column));
    return f;
}

SHEAF_EXTERN int sheaf_record_i64(const sheaf_record *rec, const char *column, int64_t *v) {
    size_t n;
    int rc;
    const sheaf_value *tv;
    const char *f = typed_field(rec, column, &n, &rc, &tv);
    if (rc != 1)
        return rc;
    if (tv) {
        if (tv->type != SHEAF_COL_INT64)
            return SHEAF_EINVAL;
        *v = tv->i;
        return 1;
    }
    char tmp[32];
    if (n >= sizeof tmp)
        return SHEAF_EINVAL;
    memcpy(tmp, f, n);
    tmp[n] = 0;
    char *end;
    errno = 0;
    long long x = strtoll(tmp, &end, 10);
    if (errno || *end)
        return SHEAF_EINVAL;
    *v = x;
    return 1;
}

SHEAF_EXTERN int sheaf_record_double(const sheaf_record *rec, const char *column, double *v) {
    size_t n;
    int rc;
    const sheaf_value *tv;
    const char *f = typed_field(rec, column, &n, &rc, &tv);
    if (rc != 1)
        return rc;
    if (tv) {
        if (tv->type != SHEAF_COL_DOUBLE && tv->type != SHEAF_COL_INT64)
            return SHEAF_EINVAL;
        *v = tv->type == SHEAF_COL_DOUBLE ? tv->d : (double)tv->i;
        return 1;
    }
    char tmp[400];
    if (n >= sizeof tmp)
        return SHEAF_EINVAL;
    memcpy(tmp, f, n);
    tmp[n] = 0;
    char *end;
    double x = strtod(tmp, &end);
    if (*end)
        return SHEAF_EINVAL;
    *v = x;
    return 1;
}

SHEAF_EXTERN int sheaf_record_bool(const sheaf_record *rec, const char *column, int *v) {
    size_t n;
    int rc;
    const sheaf_value *tv;
    const char *f = typed_field(rec, column, &n, &rc, &tv);
    if (rc != 1)
        return rc;
    if (tv) {
        if (tv->type != SHEAF_COL_BOOL)
            return SHEAF_EINVAL;
        *v = tv->i != 0;
        return 1;
    }
    if ((n == 4 && !memcmp(f, "true", 4)) || (n == 1 && f[0] == '1'))
        *v = 1;
    else if ((n == 5 && !memcmp(f, "false", 5)) || (n == 1 && f[0] == '0'))
        *v = 0;
    else
        return SHEAF_EINVAL;
    return 1;
}

/* ---- input columns ---- */

/* The columns (and their types) every input's format reads. */
static void set_input(sheaf_ctx *ctx, const char *const *columns, size_t n,
                      const sheaf_col_type *types) {
    ctx->fmt.columns = columns;
    ctx->fmt.ncolumns = n;
    ctx->fmt.types = types;
    for (size_t i = 0; ctx->fmts && i < ctx->nfmts; i++) {
        ctx->fmts[i].columns = columns;
        ctx->fmts[i].ncolumns = n;
        ctx->fmts[i].types = types;
    }
}

SHEAF_EXTERN int sheaf_input_columns(sheaf_ctx *ctx, const char *const *names, size_t n) {
    struct sheaf__pqjob *j = job_state(ctx);
    if (!j)
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    for (size_t i = 0; i < j->ncolumns; i++)
        free(j->columns[i]);
    free(j->columns);
    j->ncolumns = 0;
    free(j->types); /* they were of the columns before */
    j->types = NULL;
    set_input(ctx, NULL, 0, NULL);
    j->columns = calloc(n ? n : 1, sizeof *j->columns);
    if (!j->columns)
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (!(j->columns[j->ncolumns++] = strdup(names[i])))
            return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    set_input(ctx, (const char *const *)j->columns, j->ncolumns, NULL);
    return 0;
}

SHEAF_EXTERN int sheaf_input_types(sheaf_ctx *ctx, const sheaf_col_type *types, size_t n) {
    struct sheaf__pqjob *j = job_state(ctx);
    if (!j)
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    if (n != j->ncolumns)
        return sheaf__error(ctx, SHEAF_EINVAL,
                            "sheaf_input_types: %zu types for %zu columns (sheaf_input_columns)",
                            n, j->ncolumns);
    for (size_t i = 0; i < n; i++)
        if (types[i] && types[i] != SHEAF_COL_INT64 && types[i] != SHEAF_COL_DOUBLE &&
            types[i] != SHEAF_COL_BOOL && types[i] != SHEAF_COL_DATE &&
            types[i] != SHEAF_COL_TIMESTAMP)
            return sheaf__error(ctx, SHEAF_EINVAL,
                                "sheaf_input_types: column '%s' cannot be read as type %d",
                                j->columns[i], (int)types[i]);
    sheaf_col_type *t = malloc((n ? n : 1) * sizeof *t);
    if (!t)
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    if (n)
        memcpy(t, types, n * sizeof *t);
    free(j->types);
    j->types = t;
    set_input(ctx, (const char *const *)j->columns, j->ncolumns, t);
    return 0;
}

/* ---- the source ---- */

static int src_parse(const char *args, sheaf__format *fmt) {
    (void)fmt;
    return *args ? SHEAF_EINVAL : 0;
}

static int src_next(sheaf__reader *r, sheaf_record *rec, char *err, size_t errlen) {
    return sheaf__pqsrc_next(r, rec, err, errlen);
}

/* The input format: reader.c hands a parquet split to sheaf__pqsrc_open and its records to
 * sheaf__pqsrc_next; the planner asks sheaf__pq_plan_file for the splits. */
const sheaf__infmt sheaf__src_parquet = {
    .name = "parquet",
    .kind = SHEAF__FMT_PARQUET,
    .aligned = true,
    .parse = src_parse,
    .next = src_next,
};

struct sheaf__pqsrc {
    sheaf__pqr *file;
    char *path;
    size_t rg, ncols, nfile; /* columns: the file's, then its partition folders' */
    char **pk;               /* partition columns: name, then value (NULL: null) */
    uint64_t row, rows, first_row;
    bool *sel;
    const sheaf__pqval **vals;
    const char **fields, **hdr;
    size_t *flens, *hlens;
    unsigned char *nulls;
    size_t *toff; /* offsets of rendered fields in text, or SIZE_MAX */
    size_t *sidx, nsidx; /* the file's columns that are read (sel), in order */
    size_t room0;        /* a csv line's room for the fields that do not change per row */
    sheaf_col_type *want; /* the type a column is read in (sheaf_input_types), 0: text */
    sheaf_value *values;  /* rec->values, when the job asked for types */
    sheaf__buf text, line;
};

static void src_drop_file(struct sheaf__pqsrc *s) {
    for (size_t i = 0; s->pk && i < 2 * (s->ncols - s->nfile); i++)
        free(s->pk[i]);
    free(s->pk);
    s->pk = NULL;
    s->ncols = s->nfile = 0;
    sheaf__pqr_close(s->file);
    s->file = NULL;
    free(s->path);
    s->path = NULL;
    free(s->sel);
    free(s->vals);
    free(s->fields);
    free(s->hdr);
    free(s->flens);
    free(s->hlens);
    free(s->nulls);
    free(s->toff);
    free(s->sidx);
    free(s->want);
    free(s->values);
    s->want = NULL;
    s->values = NULL;
    s->sel = NULL;
    s->vals = NULL;
    s->fields = s->hdr = NULL;
    s->flens = s->hlens = s->toff = s->sidx = NULL;
    s->nsidx = 0;
    s->nulls = NULL;
}

int sheaf__pqsrc_fd(const sheaf__reader *r) {
    return r->pq && r->pq->file ? sheaf__pqr_fd(r->pq->file) : -1;
}

void sheaf__pqsrc_free(struct sheaf__pqsrc *s) {
    if (!s)
        return;
    src_drop_file(s);
    sheaf__buf_free(&s->text);
    sheaf__buf_free(&s->line);
    free(s);
}

static int hexval(char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Undoes the Hive escape (%XX) of n bytes of a folder name in place; returns the new length. */
static size_t hive_unescape(char *p, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (p[i] == '%' && i + 2 < n && (hi = hexval(p[i + 1])) >= 0 &&
            (lo = hexval(p[i + 2])) >= 0) {
            p[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            p[o++] = p[i];
        }
    }
    return o;
}

int sheaf__hive_folders(const char *path, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    const char *end = strrchr(path, '/');
    for (const char *p = path; end && p < end;) {
        const char *e = memchr(p, '/', (size_t)(end - p));
        size_t len = e ? (size_t)(e - p) : (size_t)(end - p);
        const char *eq = memchr(p, '=', len);
        if (eq && eq != p) {
            char **l = realloc(*out, (*n + 1) * 2 * sizeof *l);
            if (!l)
                return SHEAF_ENOMEM;
            *out = l;
            char *name = strndup(p, (size_t)(eq - p));
            char *val = strndup(eq + 1, len - (size_t)(eq - p) - 1);
            if (!name || !val) {
                free(name);
                free(val);
                return SHEAF_ENOMEM;
            }
            name[hive_unescape(name, strlen(name))] = 0;
            val[hive_unescape(val, strlen(val))] = 0;
            if (!strcmp(val, SHEAF__HIVE_NULL)) {
                free(val);
                val = NULL;
            }
            /* a name seen in an outer folder is replaced by the inner one */
            size_t k = 0;
            while (k < *n && strcmp(l[2 * k], name))
                k++;
            if (k < *n) {
                free(l[2 * k]);
                free(l[2 * k + 1]);
            } else {
                (*n)++;
            }
            l[2 * k] = name;
            l[2 * k + 1] = val;
        }
        p += len + 1;
    }
    return 0;
}

/* The type a column of the file is read in when the job wants it as want: want, when the
 * file's type gives it exactly (a value out of its range then comes as text), else 0: text.
 * FLOAT is left as text: its shortest text is not the double it widens to. */
static sheaf_col_type typed_as(const sheaf__pqcol *c, sheaf_col_type want) {
    bool ok = false;
    switch (want) {
    case SHEAF_COL_INT64:
        ok = !c->is_decimal && !c->is_date && !c->ts_unit &&
             (c->type == PQ_INT32 || c->type == PQ_INT64);
        break;
    case SHEAF_COL_DOUBLE:
        ok = c->is_decimal ? (c->type == PQ_INT32 || c->type == PQ_INT64) && c->scale >= 0 &&
                                 c->scale <= 22
                           : c->type == PQ_DOUBLE;
        break;
    case SHEAF_COL_BOOL: ok = c->type == PQ_BOOLEAN; break;
    case SHEAF_COL_DATE: ok = c->type == PQ_INT32 && c->is_date && !c->is_decimal; break;
    case SHEAF_COL_TIMESTAMP:
        ok = (c->type == PQ_INT64 && c->ts_unit && !c->is_decimal) || c->type == PQ_INT96;
        break;
    default: break;
    }
    return ok ? want : 0;
}

/* A value (not null) of a column read as type t (typed_as): 0 with *out set, or -1 when this
 * value is out of the type's exact range (it then comes as text). */
static int typed_value(const sheaf__pqcol *c, sheaf_col_type t, const sheaf__pqval *v,
                       sheaf_value *out) {
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    int64_t i = v->u.i;
    out->type = t;
    switch (t) {
    case SHEAF_COL_INT64:
        if (c->is_unsigned && c->type == PQ_INT32)
            i = (int64_t)(uint32_t)i;
        else if (c->is_unsigned && i < 0)
            return -1; /* above INT64_MAX */
        out->i = i;
        return 0;
    case SHEAF_COL_DOUBLE:
        if (!c->is_decimal) {
            out->d = v->u.d;
            return 0;
        }
        /* both exact, so the quotient is the decimal correctly rounded, as strtod reads it */
        if (i > (INT64_C(1) << 53) || i < -(INT64_C(1) << 53))
            return -1;
        out->d = (double)i / pow10[c->scale];
        return 0;
    case SHEAF_COL_TIMESTAMP:
        if (c->ts_unit == 1)
            i = (int64_t)((uint64_t)i * 1000);
        else if (c->ts_unit == 3)
            i = i / 1000 - (i % 1000 < 0);
        out->i = i;
        return 0;
    default: out->i = i; return 0; /* bool 0/1, date in days */
    }
}

int sheaf__pqsrc_open(sheaf__reader *r, const char *path, uint64_t start, uint64_t len,
                      const sheaf__format *fmt, char *err, size_t errlen) {
    r->fmt = *fmt;
    r->path = path;
    r->done = false;
    r->nrec = 1;
    r->delims = 0;
    if (!r->pq && !(r->pq = calloc(1, sizeof *r->pq))) {
        snprintf(err, errlen, "%s: out of memory", path);
        return SHEAF_ENOMEM;
    }
    struct sheaf__pqsrc *s = r->pq;
    if (!s->path || strcmp(s->path, path)) {
        src_drop_file(s);
        if (!(s->file = sheaf__pqr_open(path, err, errlen)))
            return SHEAF_EFORMAT;
        size_t nf = s->nfile = sheaf__pqr_ncols(s->file), npk = 0;
        if (sheaf__hive_folders(path, &s->pk, &npk)) {
            for (size_t i = 0; s->pk && i < 2 * npk; i++)
                free(s->pk[i]);
            free(s->pk);
            s->pk = NULL;
            src_drop_file(s);
            snprintf(err, errlen, "%s: out of memory", path);
            return SHEAF_ENOMEM;
        }
        /* a folder naming a column the file has: the file's column is read */
        for (size_t k = 0; k < npk;) {
            size_t c = 0;
            while (c < nf && strcmp(sheaf__pqr_col(s->file, c)->name, s->pk[2 * k]))
                c++;
            if (c == nf) {
                k++;
                continue;
            }
            free(s->pk[2 * k]);
            free(s->pk[2 * k + 1]);
            memmove(&s->pk[2 * k], &s->pk[2 * k + 2], (npk - k - 1) * 2 * sizeof *s->pk);
            npk--;
        }
        size_t nc = s->ncols = nf + npk;
        s->path = strdup(path);
        s->sel = calloc(nc + 1, sizeof *s->sel);
        s->vals = calloc(nc + 1, sizeof *s->vals);
        s->fields = calloc(nc + 1, sizeof *s->fields);
        s->hdr = calloc(nc + 1, sizeof *s->hdr);
        s->flens = calloc(nc + 1, sizeof *s->flens);
        s->hlens = calloc(nc + 1, sizeof *s->hlens);
        s->nulls = calloc(nc + 1, 1);
        s->toff = calloc(nc + 1, sizeof *s->toff);
        s->sidx = calloc(nc + 1, sizeof *s->sidx);
        s->want = calloc(nc + 1, sizeof *s->want);
        s->values = calloc(nc + 1, sizeof *s->values);
        if (!s->path || !s->sel || !s->vals || !s->fields || !s->hdr || !s->flens || !s->hlens ||
            !s->nulls || !s->toff || !s->sidx || !s->want || !s->values) {
            src_drop_file(s);
            snprintf(err, errlen, "%s: out of memory", path);
            return SHEAF_ENOMEM;
        }
        for (size_t c = 0; c < nc; c++) {
            s->hdr[c] = c < nf ? sheaf__pqr_col(s->file, c)->name : s->pk[2 * (c - nf)];
            s->hlens[c] = strlen(s->hdr[c]);
        }
        /* the partition folders' values: the same fields for every row of the file */
        for (size_t c = nf; c < nc; c++) {
            const char *v = s->pk[2 * (c - nf) + 1];
            s->toff[c] = SIZE_MAX;
            s->nulls[c] = v == NULL;
            s->fields[c] = v ? v : "";
            s->flens[c] = v ? strlen(v) : 0;
        }
    }
    /* the columns asked for: by name, or by number */
    size_t nc = s->ncols;
    for (size_t c = 0; c < nc; c++) {
        s->sel[c] = fmt->ncolumns == 0 || c >= s->nfile;
        s->want[c] = 0;
    }
    for (size_t k = 0; k < fmt->ncolumns; k++) {
        const char *want = fmt->columns[k];
        size_t c = 0;
        while (c < nc && strcmp(s->hdr[c], want))
            c++;
        if (c == nc) {
            char *end;
            unsigned long idx = strtoul(want, &end, 10);
            if (*want >= '0' && *want <= '9' && !*end && idx < nc)
                c = idx;
        }
        if (c == nc) {
            snprintf(err, errlen, "%s: no column '%s' (the file has %zu: %s%s)", path, want, nc,
                     nc ? s->hdr[0] : "", nc > 1 ? ", ..." : "");
            r->done = true;
            return SHEAF_EFORMAT;
        }
        s->sel[c] = true;
        if (fmt->types && c < s->nfile)
            s->want[c] = typed_as(sheaf__pqr_col(s->file, c), fmt->types[k]);
    }
    /* the row group that starts at the split's offset */
    size_t ng = sheaf__pqr_nrowgroups(s->file);
    s->first_row = 0;
    for (s->rg = 0; s->rg < ng; s->rg++) {
        uint64_t a, l;
        sheaf__pqr_rg_range(s->file, s->rg, &a, &l);
        if (a == start && l == len && sheaf__pqr_rows(s->file, s->rg) > 0)
            break;
        s->first_row += sheaf__pqr_rows(s->file, s->rg);
    }
    if (s->rg == ng) {
        snprintf(err, errlen, "%s: no row group at offset %" PRIu64 " (did the file change?)", path,
                 start);
        return SHEAF_EIO;
    }
    for (size_t c = 0; c < s->nfile; c++)
        if (s->sel[c]) {
            int rc = sheaf__pqr_read(s->file, s->rg, c, &s->vals[c], err, errlen);
            if (rc)
                return rc == SHEAF_EFORMAT ? SHEAF_EIO : rc;
        }
    /* A column not read is the same null field in every row: set once here, so that a row
     * touches only the columns read. The partition folders' fields are set for the file. */
    s->nsidx = 0;
    s->room0 = SHEAF_RECORD_PADDING + 1 + 3 * nc;
    for (size_t c = 0; c < nc; c++) {
        if (c < s->nfile && s->sel[c]) {
            s->sidx[s->nsidx++] = c;
            continue;
        }
        if (c < s->nfile) {
            s->toff[c] = SIZE_MAX;
            s->nulls[c] = 1;
            s->fields[c] = "";
            s->flens[c] = 0;
        }
        s->values[c].type = 0;
        s->room0 += 2 * s->flens[c];
    }
    s->row = 0;
    s->rows = sheaf__pqr_rows(s->file, s->rg);
    return 0;
}

int sheaf__pqsrc_next(sheaf__reader *r, sheaf_record *rec, char *err, size_t errlen) {
    struct sheaf__pqsrc *s = r->pq;
    if (!s || s->row >= s->rows)
        return 0;
    s->text.len = 0;
    size_t nc = s->ncols;
    /* render the fields that are not strings, then point at them (the partition folders'
     * fields, after the file's, were set when the file was opened) */
    if (sheaf__buf_reserve(&s->text, 64 * s->nfile)) { /* 64 bytes a rendered value */
        snprintf(err, errlen, "%s: out of memory", s->path);
        return SHEAF_ENOMEM;
    }
    for (size_t k = 0; k < s->nsidx; k++) {
        size_t c = s->sidx[k];
        s->toff[c] = SIZE_MAX;
        s->nulls[c] = 1;
        s->fields[c] = "";
        s->flens[c] = 0;
        s->values[c].type = 0;
        if (s->vals[c][s->row].null)
            continue;
        s->nulls[c] = 0;
        if (s->want[c] && !typed_value(sheaf__pqr_col(s->file, c), s->want[c],
                                       &s->vals[c][s->row], &s->values[c]))
            continue;
        s->values[c].type = 0;
        const char *t;
        size_t n = sheaf__pq_text(sheaf__pqr_col(s->file, c), &s->vals[c][s->row],
                                  (char *)s->text.data + s->text.len, &t);
        if (t == (const char *)s->text.data + s->text.len) {
            s->toff[c] = s->text.len;
            s->text.len += n;
        } else {
            s->fields[c] = t;
        }
        s->flens[c] = n;
    }
    /* the row as a csv line: room for every field quoted with each byte doubled, reserved
     * once */
    size_t room = s->room0;
    for (size_t k = 0; k < s->nsidx; k++) {
        size_t c = s->sidx[k];
        if (s->toff[c] != SIZE_MAX)
            s->fields[c] = (const char *)s->text.data + s->toff[c];
        room += 2 * s->flens[c];
    }
    s->line.len = 0;
    if (sheaf__buf_reserve(&s->line, r->fmt.types ? SHEAF_RECORD_PADDING + 1 : room)) {
        snprintf(err, errlen, "%s: out of memory", s->path);
        return SHEAF_ENOMEM;
    }
    uint8_t *p = s->line.data;
    for (size_t c = 0; c < nc && !r->fmt.types; c++) { /* a typed job reads no line */
        if (c)
            *p++ = ',';
        p = csv_put(p, (const uint8_t *)s->fields[c], s->flens[c]);
    }
    s->line.len = (size_t)(p - s->line.data);
    memset(s->line.data + s->line.len, 0, SHEAF_RECORD_PADDING);
    memset(rec, 0, sizeof *rec);
    rec->data = (const char *)s->line.data;
    rec->len = s->line.len;
    rec->file = r->path;
    rec->offset = s->first_row + s->row;
    rec->nfields = nc;
    rec->fields = s->fields;
    rec->field_lens = s->flens;
    rec->nheader = nc;
    rec->header = s->hdr;
    rec->header_lens = s->hlens;
    rec->nulls = s->nulls;
    rec->values = r->fmt.types ? s->values : NULL;
    r->nrec = 1;
    r->delims = 0;
    s->row++;
    return 1;
}

/* ---- planning ---- */

int sheaf__pq_plan_file(const char *path, uint32_t file, sheaf__split **splits, size_t *n,
                        size_t *cap, sheaf__task **tasks, char *err, size_t errlen) {
    sheaf__pqr *f = sheaf__pqr_open(path, err, errlen);
    if (!f)
        return SHEAF_EFORMAT;
    size_t ng = sheaf__pqr_nrowgroups(f);
    if (*n + ng > *cap) {
        size_t nc = *n + ng + 16;
        sheaf__split *ns = realloc(*splits, nc * sizeof *ns);
        if (ns)
            *splits = ns;
        sheaf__task *nt = ns ? realloc(*tasks, nc * sizeof *nt) : NULL;
        if (!ns || !nt) {
            sheaf__pqr_close(f);
            snprintf(err, errlen, "out of memory planning %s", path);
            return SHEAF_ENOMEM;
        }
        *tasks = nt;
        *cap = nc;
    }
    for (size_t g = 0; g < ng; g++) {
        if (sheaf__pqr_rows(f, g) == 0)
            continue;
        sheaf__split *sp = &(*splits)[(*n)++];
        *sp = (sheaf__split){.file = file};
        sheaf__pqr_rg_range(f, g, &sp->start, &sp->len);
    }
    sheaf__pqr_close(f);
    return 0;
}
