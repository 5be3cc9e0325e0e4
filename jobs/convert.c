/*
 * convert.c: the ETL job: rows with columns (csv with a header, tsv, parquet) cast to a
 * schema and written as Parquet.
 *
 *   sheaf convert -i raw/ --input-format csv --csv-header -o lake/t \
 *       --schema 'id:int64,name:string?,day:date' [--compression zstd] [--row-group N]
 *
 * The schema is NAME:TYPE[?],... (types int64 int32 double bool string date timestamp; ? for
 * nullable), or a schema file (FILE or @FILE: JSON or DDL-like lines, sheaf_schema_load), or
 * without --schema the first input file's as `sheaf schema` infers it (cv_infer). The
 * map reads each schema column by name, casts it (sheaf_schema_cast): a row with a value that
 * does not cast, a null in a column that is not nullable or a missing column is a bad record,
 * skipped and counted while --max-bad-records allows, else the job fails naming the file,
 * offset and column. An empty csv field is null, except in a string column that is not
 * nullable, where it is the empty string (as DuckDB and Spark read csv); parquet nulls stay
 * null. The job is map only (sheaf_job_def.map_only): each rank writes the good rows of the
 * splits it maps straight into its own part-r-<rank>.parquet (codec snappy by default), with no
 * shuffle, sort or reduce, so there is one file per rank and the rows are in no set order.
 *
 * --reducers N asks for N files instead: good rows then travel to the reducers as their
 * fields, keyed by their place so a reducer gets runs of consecutive rows, and are written
 * there with sheaf_row_set_text.
 *
 * --partition-by COL,... writes Hive-style folders (through reducers too): the map puts the
 * row's folder
 * (COL=VALUE/..., values escaped as Hive does) at the head of its key, the reducer, meeting a
 * folder's rows together since keys arrive sorted, names it with sheaf_row_folder and writes
 * the other columns there (sheaf_output_folders).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jobs.h"
#include "parquet.h"

/* A schema column as the map uses it: what the schema says, looked up once, and the current
 * record's value. */
struct cv_col {
    const char *name;
    size_t nlen; /* strlen(name) */
    size_t idx;  /* its place in the last record's header: a guess checked on every row, so no
                    header is trusted */
    sheaf_col_type type;
    bool nullable;
    const char *val; /* the record's field (NULL: null), its length, and its value as cast */
    size_t vlen;
    int64_t iv;
    double dv;
};

typedef struct cv_opts {
    const char *spec;
    const char *schema_file; /* --schema FILE: guarded as an input (cfg->side_inputs) */
    const char *compression;
    const char *rows;
    const char *partition_by;
    const char *to;
    sheaf_schema *schema;
    sheaf_schema *files; /* the columns written in the files: the schema less partition ones */
    bool *is_part;       /* per schema column: a partition column (in folder order: parts) */
    size_t *parts, nparts;
    char format[96];
    sj_buf row, key;
    bool map_only;      /* neither --partition-by nor --reducers: convert_direct */
    struct cv_col *col; /* one per schema column */
} cv_opts;

static cv_opts cvo;

static int cv_parse(void *udata, const char *name, const char *value) {
    cv_opts *o = udata;
    if (!name)
        return -1;
    if (!strcmp(name, "schema"))
        o->spec = value;
    else if (!strcmp(name, "compression"))
        o->compression = value;
    else if (!strcmp(name, "row-group"))
        o->rows = value;
    else if (!strcmp(name, "partition-by"))
        o->partition_by = value;
    else if (!strcmp(name, "to"))
        o->to = value;
    else
        return -1;
    return 0;
}

/* --partition-by COL,...: the schema's columns named, in folder order, and the schema of the
 * files (the other columns). 0, or -1 after a usage message. */
static int cv_partition_columns(cv_opts *o) {
    char **list;
    size_t n, ncols = sheaf_schema_columns(o->schema);
    if (sj_split(o->partition_by, ',', &list, &n))
        return sj_usage("convert", "out of memory");
    o->is_part = calloc(ncols, sizeof *o->is_part);
    o->parts = calloc(n ? n : 1, sizeof *o->parts);
    o->files = sheaf_schema_new();
    int rc = !o->is_part || !o->parts || !o->files ? sj_usage("convert", "out of memory") : 0;
    for (size_t k = 0; k < n && !rc; k++) {
        size_t c = 0;
        while (c < ncols && strcmp(sheaf_schema_name(o->schema, c), list[k]))
            c++;
        if (c == ncols)
            rc = sj_usage("convert", "--partition-by: '%s' is not a column of the schema", list[k]);
        else if (o->is_part[c])
            rc = sj_usage("convert", "--partition-by: '%s' twice", list[k]);
        else if (list[k][0] == '.' || list[k][0] == '_')
            rc = sj_usage("convert",
                          "--partition-by: '%s': a folder starting with '%c' is hidden from "
                          "readers",
                          list[k], list[k][0]);
        else
            o->is_part[c] = true, o->parts[o->nparts++] = c;
    }
    for (size_t c = 0; c < ncols && !rc; c++)
        if (!o->is_part[c] &&
            sheaf_schema_add(o->files, sheaf_schema_name(o->schema, c),
                             sheaf_schema_type(o->schema, c), sheaf_schema_nullable(o->schema, c)))
            rc = sj_usage("convert", "out of memory");
    if (!rc && (!o->nparts || !sheaf_schema_columns(o->files)))
        rc = sj_usage("convert", "--partition-by: %s",
                      o->nparts ? "every column is a partition "
                                  "column; the files need one more"
                                : "no column");
    sj_free_list(list, n);
    return rc;
}

/* Appends a value to a folder name as Hive escapes it: control characters, DEL and the
 * characters of `special` as %XX; an empty value or a null is __HIVE_DEFAULT_PARTITION__. */
static int hive_escape(sj_buf *b, const char *p, size_t n) {
    static const char *const special = "\"#%'*/:=?\\{[]^";
    if (!p || !n)
        return sj_buf_add(b, "__HIVE_DEFAULT_PARTITION__", 26);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f || strchr(special, c))
            rc = sj_buf_printf(b, "%%%02X", c);
        else
            rc = sj_buf_addc(b, (char)c);
    }
    return rc;
}

/* No --schema: the schema `sheaf schema` gives the inputs, as Glue's crawler feeds its job
 * (sj_schema_infer): the first Parquet file's own (with its partition folders' columns), or the
 * first csv or tsv file's header typed from the first rows of the inputs, every column then
 * nullable, as Spark's and Glue's inferred schemas are, so that an empty field further on is a
 * null, not a bad record.
 * Every rank infers the same; rank 0 prints it, to be copied and edited into a --schema.
 * 0, or -1 after a usage message. */
static int cv_infer(cv_opts *o, const sheaf_config *cfg) {
    if (cfg->input_formats || !cfg->input_format)
        return sj_usage("convert", "with --input-formats, give the schema (--schema)");
    const char *f = cfg->input_format;
    bool parquet = !strcmp(f, "parquet");
    if (!parquet && !cfg->csv_header)
        return sj_usage("convert", "without --schema, convert infers one from the header of "
                                   "the first file: add --csv-header, or give --schema");
    char **files = NULL, err[1024];
    size_t nfiles = 0;
    int rc = 0;
    for (size_t i = 0; i < cfg->ninputs && !rc; i++) {
        char **more;
        size_t nmore;
        rc = sheaf_list_inputs(cfg->inputs[i], &more, &nmore, err, sizeof err);
        if (rc) {
            sj_usage("convert", "%s", err);
            break;
        }
        char **all = realloc(files, (nfiles + nmore) * sizeof *all);
        if (!all) {
            sheaf_list_free(more, nmore);
            rc = sj_usage("convert", "out of memory");
            break;
        }
        files = all;
        memcpy(files + nfiles, more, nmore * sizeof *more);
        nfiles += nmore;
        free(more); /* the names are in files now */
    }
    if (!rc && !nfiles)
        rc = sj_usage("convert", "no input (-i PATH)");
    sheaf_schema *s = NULL;
    if (!rc) {
        char sep = !strcmp(f, "tsv") ? '\t' : cfg->csv_delimiter;
        s = sj_schema_infer(files[0], parquet, sep, SJ_SCHEMA_SAMPLE, files, nfiles, NULL, err,
                            sizeof err);
        if (!s)
            rc = sj_usage("convert", "inferring a schema (no --schema): %s", err);
        else if (!sheaf_schema_columns(s))
            rc = sj_usage("convert",
                          "inferring a schema (no --schema): %s has no columns "
                          "(an empty file?); give --schema",
                          files[0]);
    }
    if (s && !parquet) { /* every column nullable */
        o->schema = sheaf_schema_new();
        for (size_t c = 0; o->schema && c < sheaf_schema_columns(s) && !rc; c++)
            if (sheaf_schema_add(o->schema, sheaf_schema_name(s, c), sheaf_schema_type(s, c), 1))
                rc = sj_usage("convert", "out of memory");
        if (!o->schema)
            rc = sj_usage("convert", "out of memory");
        sheaf_schema_free(s);
    } else {
        o->schema = s;
    }
    if (!rc && !cfg->quiet && sj_world_rank() == 0) {
        size_t n = sheaf_schema_columns(o->schema);
        fprintf(stderr, "sheaf convert: no --schema: %zu columns from %s%s:\n  --schema ", n,
                files[0],
                parquet ? "" : " (its header, types from the inputs' first rows; all nullable)");
        for (size_t c = 0; c < n; c++)
            fprintf(stderr, "%s%s:%s%s", c ? "," : "", sheaf_schema_name(o->schema, c),
                    sheaf__col_type_name(sheaf_schema_type(o->schema, c)),
                    sheaf_schema_nullable(o->schema, c) ? "?" : "");
        fputc('\n', stderr);
    }
    sheaf_list_free(files, nfiles);
    return rc;
}

static int cv_configure(void *udata, sheaf_config *cfg) {
    cv_opts *o = udata;
    if (sj_need_columns("convert", cfg, "convert"))
        return -1;
    if (!o->spec) {
        if (cv_infer(o, cfg))
            return -1;
    } else {
        /* @FILE, or a file by that name: a schema file; else the inline NAME:TYPE[?],... */
        const char *file = o->spec[0] == '@' ? o->spec + 1 : NULL;
        struct stat st;
        if (!file && stat(o->spec, &st) == 0 && S_ISREG(st.st_mode))
            file = o->spec;
        char err[512];
        if (file) {
            o->schema_file = file;
            cfg->side_inputs = &o->schema_file;
            cfg->nside_inputs = 1;
        }
        o->schema = file ? sheaf_schema_load(file, err, sizeof err)
                         : sheaf_schema_parse(o->spec, err, sizeof err);
        if (!o->schema)
            return sj_usage("convert", "--schema: %s", err);
    }
    if (o->partition_by && cv_partition_columns(o))
        return -1;
    o->map_only = !o->partition_by && !cfg->reducers;
    if (o->to && strcmp(o->to, "parquet"))
        return sj_usage("convert", "--to %s: convert writes Parquet (--to parquet)", o->to);
    if (cfg->output_format && strncmp(cfg->output_format, "parquet", 7))
        return sj_usage("convert", "writes Parquet: --output-format %s is not one",
                        cfg->output_format);
    if (!cfg->output_format || o->compression || o->rows) {
        snprintf(o->format, sizeof o->format, "parquet:%s%s%s",
                 o->compression ? o->compression : "snappy", o->rows ? ":" : "",
                 o->rows ? o->rows : "");
        cfg->output_format = o->format;
    }
    return 0;
}

static int cv_setup(sheaf_ctx *ctx, void *udata) {
    cv_opts *o = udata;
    size_t n = sheaf_schema_columns(o->schema);
    const char **names = calloc(n, sizeof *names);
    o->col = calloc(n, sizeof *o->col);
    if (!names || !o->col) {
        free(names);
        return SHEAF_ENOMEM; /* cv_cleanup frees o->col */
    }
    for (size_t i = 0; i < n; i++) {
        struct cv_col *c = &o->col[i];
        names[i] = c->name = sheaf_schema_name(o->schema, i);
        c->nlen = strlen(c->name);
        c->type = sheaf_schema_type(o->schema, i);
        c->nullable = sheaf_schema_nullable(o->schema, i);
    }
    int rc = sheaf_input_columns(ctx, names, n);
    free(names);
    if (!rc)
        rc = sheaf_output_schema(ctx, o->nparts ? o->files : o->schema);
    return rc || !o->nparts ? rc : sheaf_output_folders(ctx);
}

static int put_varint(sj_buf *b, uint64_t v) {
    unsigned char tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (unsigned char)v;
    return sj_buf_add(b, tmp, n);
}

static size_t get_varint(const unsigned char *p, const unsigned char *end, uint64_t *v) {
    uint64_t x = 0;
    for (size_t n = 0; p + n < end && n < 10; n++) {
        x |= (uint64_t)(p[n] & 0x7f) << (7 * n);
        if (!(p[n] & 0x80)) {
            *v = x;
            return n + 1;
        }
    }
    return 0;
}

/* Whether n bytes are equal: a loop, as names are short and a call to memcmp costs more. */
static inline bool same_name(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* Field col of the schema in rec, found by name through the header, trying the place it had
 * in the previous record first; else as sj_field finds it (numbers, errors). */
static const char *field_of(sheaf_ctx *ctx, struct cv_col *c, const sheaf_record *rec, size_t *len,
                            int *rc, bool *null) {
    const char *name = c->name;
    size_t n = c->nlen, j = c->idx;
    size_t h = rec->nheader < rec->nfields ? rec->nheader : rec->nfields;
    if (j >= h || rec->header_lens[j] != n || !same_name(rec->header[j], name, n)) {
        for (j = 0; j < h && (rec->header_lens[j] != n || !same_name(rec->header[j], name, n)); j++)
            ;
        c->idx = j;
    }
    if (j < h) {
        *rc = 0;
        *len = rec->field_lens[j];
        *null = rec->nulls && rec->nulls[j];
        return rec->fields[j];
    }
    *null = false;
    return sj_field(ctx, rec, name, len, rc);
}

/* The record's value of every schema column in o->col[].val and .vlen (NULL for a null), each
 * checked against its column's type: 0, 1 when the record was skipped as a bad record (the
 * reason counted), or an error code. */
static int cv_fields(sheaf_ctx *ctx, cv_opts *o, const sheaf_record *rec) {
    size_t n = sheaf_schema_columns(o->schema);
    for (size_t i = 0; i < n; i++) {
        struct cv_col *c = &o->col[i];
        const char *name = c->name;
        size_t len;
        int rc;
        bool pnull;
        const char *f = field_of(ctx, c, rec, &len, &rc, &pnull);
        char why[256];
        if (!f) {
            if (rc)
                return rc;
            snprintf(why, sizeof why, "no column '%s'", name);
            rc = sheaf_skip_record(ctx, why);
            return rc ? rc : 1;
        }
        bool text = c->type == SHEAF_COL_STRING;
        bool nullable = c->nullable;
        bool null = rec->nulls ? pnull : len == 0 && (!text || nullable);
        if (null ? !nullable : sheaf_schema_cast_to(o->schema, i, f, len, &c->iv, &c->dv) != 0) {
            if (null)
                snprintf(why, sizeof why, "column '%s': a null, and the column is not nullable",
                         name);
            else
                snprintf(why, sizeof why, "column '%s': '%.*s' does not cast to its type", name,
                         (int)(len > 64 ? 64 : len), f);
            rc = sheaf_skip_record(ctx, why);
            return rc ? rc : 1;
        }
        c->val = null ? NULL : f;
        c->vlen = len;
    }
    return 0;
}

/* Map only: the row goes straight into this rank's part file. */
static int cv_map_direct(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    cv_opts *o = udata;
    int rc = cv_fields(ctx, o, rec);
    if (rc)
        return rc == 1 ? 0 : rc;
    size_t n = sheaf_schema_columns(o->schema);
    for (size_t i = 0; i < n && !rc; i++) {
        const struct cv_col *c = &o->col[i];
        if (!c->val) {
            rc = sheaf_row_set_null(ctx, i);
            continue;
        }
        switch (c->type) {
        case SHEAF_COL_STRING: rc = sheaf_row_set_str(ctx, i, c->val, c->vlen); break;
        case SHEAF_COL_DOUBLE: rc = sheaf_row_set_double(ctx, i, c->dv); break;
        case SHEAF_COL_BOOL: rc = sheaf_row_set_bool(ctx, i, c->iv != 0); break;
        default: rc = sheaf_row_set_i64(ctx, i, c->iv);
        }
    }
    return rc ? rc : sheaf_row_emit(ctx);
}

/* Through reducers: the row's fields as the value, its folder and place as the key. */
static int cv_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    cv_opts *o = udata;
    size_t n = sheaf_schema_columns(o->schema);
    int rc = cv_fields(ctx, o, rec);
    if (rc)
        return rc == 1 ? 0 : rc;
    o->row.len = 0;
    o->key.len = 0;
    for (size_t i = 0; i < n; i++) {
        if (o->nparts && o->is_part[i])
            continue;
        const struct cv_col *c = &o->col[i];
        if (put_varint(&o->row, c->val ? (uint64_t)c->vlen + 1 : 0) ||
            (c->val && sj_buf_add(&o->row, c->val, c->vlen)))
            return SHEAF_ENOMEM;
    }
    /* the partition folder, its values in the schema's text (integers without leading zeros
     * or a plus, so 07 and 7 are one folder) */
    for (size_t k = 0; k < o->nparts; k++) {
        size_t c = o->parts[k], len = o->col[c].vlen;
        const char *name = sheaf_schema_name(o->schema, c);
        const char *f = o->col[c].val;
        bool null = !f || len == 0;
        char num[32];
        sheaf_col_type t = sheaf_schema_type(o->schema, c);
        if (!null && (t == SHEAF_COL_INT64 || t == SHEAF_COL_INT32) && len < sizeof num) {
            memcpy(num, f, len);
            num[len] = 0;
            len = (size_t)snprintf(num, sizeof num, "%lld", strtoll(num, NULL, 10));
            f = num;
        }
        if ((k && sj_buf_addc(&o->key, '/')) || hive_escape(&o->key, name, strlen(name)) ||
            sj_buf_addc(&o->key, '=') || hive_escape(&o->key, null ? NULL : f, len))
            return SHEAF_ENOMEM;
    }
    /* key: the row's folder (NUL-terminated, so a reducer gets a folder's rows together),
     * then its place (its file's hash plus its offset), so rows spread over the reducers in
     * runs (cv_partition); rows that share a key are a group whose every row is written */
    unsigned char place[8];
    sheaf_key_u64(sheaf_hash(rec->file, strlen(rec->file), 0) + rec->offset, place);
    if ((o->nparts && sj_buf_addc(&o->key, '\0')) || sj_buf_add(&o->key, place, 8))
        return SHEAF_ENOMEM;
    return sheaf_emit(ctx, o->key.p, o->key.len, o->row.p, o->row.len);
}

/* Rows of the same MiB of a file go to the same reducer, so each part file holds runs of
 * consecutive rows, which its encodings compress as well as the whole file would. */
static uint32_t cv_partition(const void *key, size_t klen, uint32_t nparts, void *udata) {
    (void)udata;
    const unsigned char *place = (const unsigned char *)key + klen - 8;
    return klen >= 8 ? (uint32_t)((sheaf_key_to_u64(place) >> 20) % nparts) : 0;
}

static int cv_reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                     void *udata) {
    cv_opts *o = udata;
    size_t n = sheaf_schema_columns(o->nparts ? o->files : o->schema);
    const void *v;
    size_t vlen;
    int rc = 0;
    if (o->nparts && (klen < 9 || ((const char *)key)[klen - 9] != 0))
        return sheaf_fail(ctx, SHEAF_EIO, "convert: a corrupt key in the shuffle");
    if (o->nparts && (rc = sheaf_row_folder(ctx, key)))
        return rc;
    while (!rc && sheaf_values_next(vals, &v, &vlen)) {
        const unsigned char *p = v, *end = p + vlen;
        for (size_t i = 0; i < n && !rc; i++) {
            uint64_t x;
            size_t k = get_varint(p, end, &x);
            if (!k || (x && x - 1 > (uint64_t)(end - p - (ptrdiff_t)k)))
                return sheaf_fail(ctx, SHEAF_EIO, "convert: a corrupt row in the shuffle");
            p += k;
            if (x == 0) {
                rc = sheaf_row_set_null(ctx, i);
            } else {
                rc = sheaf_row_set_text(ctx, i, (const char *)p, (size_t)(x - 1));
                p += x - 1;
            }
        }
        if (!rc)
            rc = sheaf_row_emit(ctx);
    }
    return rc;
}

static int cv_cleanup(sheaf_ctx *ctx, void *udata) {
    cv_opts *o = udata;
    (void)ctx;
    sj_buf_free(&o->row);
    sj_buf_free(&o->key);
    free(o->col);
    o->col = NULL;
    return 0;
}

static const sheaf_option cv_options[] = {
    {"schema", "SPEC|FILE",
     "NAME:TYPE[?],... (int64 int32 double bool string date timestamp; "
     "? nullable), or a schema file: JSON or NAME TYPE [NOT NULL] lines"},
    {"to", "FORMAT", "the output format: parquet (the only one, and the default)"},
    {"compression", "CODEC", "snappy (default), zstd, gzip or none"},
    {"row-group", "ROWS", "rows per row group (default 1048576)"},
    {"partition-by", "COL,...",
     "Hive-style folders COL=VALUE/... holding the rows, without those columns"},
    {NULL, NULL, NULL},
};

static const sheaf_job_def convert_job = {
    .name = "convert",
    .map = cv_map,
    .reduce = cv_reduce,
    .partition = cv_partition,
    .setup = cv_setup,
    .cleanup = cv_cleanup,
    .udata = &cvo,
};

static const sheaf_job_def convert_direct = {
    .name = "convert",
    .map = cv_map_direct,
    .map_only = 1,
    .setup = cv_setup,
    .cleanup = cv_cleanup,
    .udata = &cvo,
};

static int cv_run(MPI_Comm comm, const sheaf_command *cmd, const sheaf_config *cfg,
                  sheaf_result *res) {
    const cv_opts *o = cmd->udata;
    return sheaf_run(comm, o->map_only ? &convert_direct : &convert_job, cfg, res);
}

const sheaf_command sheaf_cmd_convert = {
    .name = "convert",
    .summary = "rows (csv, tsv, parquet) cast to a schema (--schema, or inferred) and written "
               "as Parquet",
    .options = cv_options,
    .parse_option = cv_parse,
    .configure = cv_configure,
    .udata = &cvo,
    .job = &convert_job,
    .run = cv_run,
};
