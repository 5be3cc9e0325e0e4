/*
 * convert.c: the ETL job: rows with columns (csv with a header, tsv, parquet) cast to a
 * schema and written as Parquet.
 *
 *   sheaf convert -i raw/ --input-format csv --csv-header -o lake/t \
 *       --schema 'id:int64,name:string?,day:date' [--compression zstd] [--row-group N]
 *
 * The schema is NAME:TYPE[?],... (types int64 int32 double bool string date timestamp; ? for
 * nullable) or @FILE holding such text. The map reads each schema column by name, casts it
 * (sheaf_schema_cast): a row with a value that does not cast, a null in a column that is not
 * nullable or a missing column is a bad record, skipped and counted while --max-bad-records
 * allows, else the job fails naming the file, offset and column. An empty csv field is null,
 * except in a string column that is not nullable, where it is the empty string (as DuckDB and
 * Spark read csv); parquet nulls stay null. Good rows
 * travel to the reducers as their fields and are written with sheaf_row_set_text into
 * part-r-NNNNN.parquet (codec snappy by default), so the output is the rows in no set order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

typedef struct cv_opts {
    const char *spec;
    const char *compression;
    const char *rows;
    sheaf_schema *schema;
    char format[96];
    sj_buf row;
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
    else
        return -1;
    return 0;
}

static int cv_configure(void *udata, sheaf_config *cfg) {
    cv_opts *o = udata;
    if (sj_need_columns("convert", cfg, "convert"))
        return -1;
    if (!o->spec)
        return sj_usage("convert", "--schema NAME:TYPE[?],... (or @FILE) is required");
    char *text = NULL;
    if (o->spec[0] == '@') {
        FILE *f = fopen(o->spec + 1, "r");
        size_t cap = 0;
        ssize_t n = f ? getdelim(&text, &cap, '\0', f) : -1;
        if (f)
            fclose(f);
        if (n <= 0) {
            free(text);
            return sj_usage("convert", "--schema: cannot read %s", o->spec + 1);
        }
        for (ssize_t i = 0; i < n; i++) /* lines and spaces separate columns too */
            if (text[i] == '\n' || text[i] == '\r' || text[i] == ' ' || text[i] == '\t')
                text[i] = ',';
        for (char *p; (p = strstr(text, ",,"));) /* no empty items */
            memmove(p, p + 1, strlen(p));
        size_t l = strlen(text);
        while (l && text[l - 1] == ',')
            text[--l] = 0;
        if (text[0] == ',')
            memmove(text, text + 1, l);
    }
    char err[512];
    o->schema = sheaf_schema_parse(text ? text : o->spec, err, sizeof err);
    free(text);
    if (!o->schema)
        return sj_usage("convert", "--schema: %s", err);
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
    if (!names)
        return SHEAF_ENOMEM;
    for (size_t i = 0; i < n; i++)
        names[i] = sheaf_schema_name(o->schema, i);
    int rc = sheaf_input_columns(ctx, names, n);
    free(names);
    return rc ? rc : sheaf_output_schema(ctx, o->schema);
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

/* Whether field i of a parquet record is null (csv: never; emptiness is decided by type). */
static bool is_null(const sheaf_record *rec, const char *name) {
    if (!rec->nulls)
        return false;
    size_t len = strlen(name);
    for (size_t i = 0; i < rec->nheader && i < rec->nfields; i++)
        if (rec->header_lens[i] == len && !memcmp(rec->header[i], name, len))
            return rec->nulls[i] != 0;
    return false;
}

static int cv_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    cv_opts *o = udata;
    size_t n = sheaf_schema_columns(o->schema);
    o->row.len = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = sheaf_schema_name(o->schema, i);
        size_t len;
        int rc;
        const char *f = sj_field(ctx, rec, name, &len, &rc);
        char why[256];
        if (!f) {
            if (rc)
                return rc;
            snprintf(why, sizeof why, "no column '%s'", name);
            return sheaf_skip_record(ctx, why);
        }
        bool text = sheaf_schema_type(o->schema, i) == SHEAF_COL_STRING;
        bool nullable = sheaf_schema_nullable(o->schema, i);
        bool null = rec->nulls ? is_null(rec, name) : len == 0 && (!text || nullable);
        if (null ? !nullable : sheaf_schema_cast(o->schema, i, f, len) != 0) {
            if (null)
                snprintf(why, sizeof why, "column '%s': a null, and the column is not nullable",
                         name);
            else
                snprintf(why, sizeof why, "column '%s': '%.*s' does not cast to its type", name,
                         (int)(len > 64 ? 64 : len), f);
            return sheaf_skip_record(ctx, why);
        }
        if (put_varint(&o->row, null ? 0 : (uint64_t)len + 1) ||
            (!null && sj_buf_add(&o->row, f, len)))
            return SHEAF_ENOMEM;
    }
    /* key: the row's place (its file's hash plus its offset), so rows spread over the
     * reducers in runs (cv_partition); rows that share a key are a group whose every row is
     * written */
    unsigned char key[8];
    sheaf_key_u64(sheaf_hash(rec->file, strlen(rec->file), 0) + rec->offset, key);
    return sheaf_emit(ctx, key, 8, o->row.p, o->row.len);
}

/* Rows of the same MiB of a file go to the same reducer, so each part file holds runs of
 * consecutive rows, which its encodings compress as well as the whole file would. */
static uint32_t cv_partition(const void *key, size_t klen, uint32_t nparts, void *udata) {
    (void)udata;
    return klen == 8 ? (uint32_t)((sheaf_key_to_u64(key) >> 20) % nparts) : 0;
}

static int cv_reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                     void *udata) {
    cv_opts *o = udata;
    (void)key;
    (void)klen;
    size_t n = sheaf_schema_columns(o->schema);
    const void *v;
    size_t vlen;
    int rc = 0;
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
    return 0;
}

static const sheaf_option cv_options[] = {
    {"schema", "SPEC",
     "NAME:TYPE[?],... (int64 int32 double bool string date timestamp; "
     "? nullable) or @FILE"},
    {"compression", "CODEC", "snappy (default), zstd, gzip or none"},
    {"row-group", "ROWS", "rows per row group (default 1048576)"},
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

const sheaf_command sheaf_cmd_convert = {
    .name = "convert",
    .summary = "rows (csv, tsv, parquet) cast to a schema and written as Parquet (--schema)",
    .options = cv_options,
    .parse_option = cv_parse,
    .configure = cv_configure,
    .udata = &cvo,
    .job = &convert_job,
};
