/*
 * schema.c: `sheaf schema [--sample N] [--csv-delimiter C] FILE...`, the crawler: prints each
 * file's columns and types, and a --schema line that `sheaf convert` accepts.
 *
 * A Parquet file (PAR1 at its start) is described by its footer: each column's type as Sheaf
 * names it (int64, int32, double, bool, string, date, timestamp; decimal(P,S) and the like
 * for types convert has no name for, which the --schema line gives as double or string),
 * nullable when OPTIONAL, and the rows, row groups and writer. Any other file is read as csv
 * with a header (tsv for a name ending in .tsv) and its types inferred from the first N rows
 * (default 20,480, from at most 8 MiB) by sj_csv_infer, the one inference that convert, sql and
 * the jobs' --where use too: int64 when every non-empty field is a decimal integer, else double
 * when every one is a number, else bool (true/false), else date (YYYY-MM-DD), else timestamp,
 * else string; nullable when a field is empty (a column empty throughout is a nullable
 * string). Runs on one process, without MPI. Exit 0, 1 when a file cannot be read (named), 2 on
 * bad usage.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobs.h"
#include "parquet.h"

/* A Parquet column's type as shown (its physical or logical type) and the schema type it
 * is read as. */
static const char *parquet_type(const sheaf__pqcol *c, char *buf, size_t n, sheaf_col_type *t) {
    *t = SHEAF_COL_STRING;
    if (c->is_decimal) {
        snprintf(buf, n, "decimal(%d,%d)", c->precision, c->scale);
        *t = SHEAF_COL_DOUBLE;
        return buf;
    }
    switch (c->type) {
    case PQ_BOOLEAN: *t = SHEAF_COL_BOOL; return "bool";
    case PQ_INT32:
        if (c->is_date)
            return *t = SHEAF_COL_DATE, "date";
        *t = c->is_unsigned ? SHEAF_COL_INT64 : SHEAF_COL_INT32;
        return c->is_unsigned ? "uint32" : "int32";
    case PQ_INT64:
        *t = c->ts_unit ? SHEAF_COL_TIMESTAMP : SHEAF_COL_INT64;
        return c->ts_unit ? "timestamp" : c->is_unsigned ? "uint64" : "int64";
    case PQ_INT96: *t = SHEAF_COL_TIMESTAMP; return "timestamp";
    case PQ_FLOAT: *t = SHEAF_COL_DOUBLE; return "float";
    case PQ_DOUBLE: *t = SHEAF_COL_DOUBLE; return "double";
    case PQ_BYTE_ARRAY: return c->is_string ? "string" : "binary";
    default: snprintf(buf, n, "fixed(%d)", c->type_len); return buf;
    }
}

/* What inference builds: the description lines, the --schema line and the schema. */
typedef struct inferred {
    sj_buf *desc; /* NULL: not wanted */
    sj_buf spec;
    sheaf_schema *schema;
    int rc; /* SHEAF_ENOMEM once anything failed to grow */
} inferred;

/* One column: NAME TYPE (as shown) [nullable] in the description, NAME:SPEC[?] in the
 * --schema line and in the schema. */
static void column(inferred *in, const char *name, const char *shown, sheaf_col_type type,
                   bool nullable, const char *note) {
    if (!shown)
        shown = sheaf__col_type_name(type);
    if (in->desc &&
        sj_buf_printf(in->desc, "  %-24s %s%s%s\n", name, shown, nullable ? " nullable" : "", note))
        in->rc = SHEAF_ENOMEM;
    if ((in->spec.len && sj_buf_addc(&in->spec, ',')) ||
        sj_buf_printf(&in->spec, "%s:%s%s", name, sheaf__col_type_name(type), nullable ? "?" : ""))
        in->rc = SHEAF_ENOMEM;
    int rc = sheaf_schema_add(in->schema, name, type, nullable);
    if (rc && !in->rc)
        in->rc = rc;
}

/* A folder value that is [-]digits within int64 (no sign +, no spaces, as Hive and DuckDB
 * write them). */
static bool folder_int(const char *v) {
    int64_t i;
    double d;
    size_t n = strlen(v), k = v[0] == '-';
    if (k == n)
        return false;
    for (size_t j = k; j < n; j++)
        if (v[j] < '0' || v[j] > '9')
            return false;
    return !sheaf__parse_value(SHEAF_COL_INT64, v, n, &i, &d);
}

/* A folder value that is a valid date written YYYY-MM-DD. */
static bool folder_date(const char *v) {
    int64_t i;
    double d;
    for (size_t j = 0; j < 10; j++)
        if (j == 4 || j == 7 ? v[j] != '-' : v[j] < '0' || v[j] > '9')
            return false;
    return v[10] == 0 && !sheaf__parse_value(SHEAF_COL_DATE, v, 10, &i, &d);
}

int sj_folder_columns(char **files, size_t nfiles, const char *const *have, size_t nhave,
                      sj_csv_cols *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    unsigned *ok = NULL; /* per column: 1 every value an integer, 2 a date */
    int rc = 0;
    for (size_t i = 0; i < nfiles && !rc; i++) {
        char **kv = NULL;
        size_t nkv = 0;
        rc = sheaf__hive_folders(files[i], &kv, &nkv);
        for (size_t k = 0; k < nkv && !rc; k++) {
            const char *name = kv[2 * k], *v = kv[2 * k + 1];
            size_t c = 0;
            while (c < nhave && strcmp(have[c], name))
                c++;
            if (c < nhave)
                continue; /* the file's own column */
            for (c = 0; c < out->ncols && strcmp(out->names[c], name); c++)
                ;
            if (c == out->ncols) {
                char **nn = realloc(out->names, (c + 1) * sizeof *nn);
                out->names = nn ? nn : out->names;
                unsigned *no = realloc(ok, (c + 1) * sizeof *no);
                ok = no ? no : ok;
                if (!nn || !no || !(out->names[c] = strdup(name))) {
                    rc = SHEAF_ENOMEM;
                    break;
                }
                ok[c] = 3;
                out->ncols++;
            }
            if (v)
                ok[c] &= (folder_int(v) ? 1u : 0) | (folder_date(v) ? 2u : 0);
        }
        for (size_t k = 0; k < 2 * nkv; k++)
            free(kv[k]);
        free(kv);
    }
    out->types = calloc(out->ncols + 1, sizeof *out->types);
    out->nullable = calloc(out->ncols + 1, sizeof *out->nullable);
    if (!rc && (!out->types || !out->nullable))
        rc = SHEAF_ENOMEM;
    for (size_t c = 0; !rc && c < out->ncols; c++) {
        out->types[c] = ok[c] == 3  ? SHEAF_COL_STRING /* all null */
                        : ok[c] & 1 ? SHEAF_COL_INT64
                        : ok[c] & 2 ? SHEAF_COL_DATE
                                    : SHEAF_COL_STRING;
        out->nullable[c] = true;
    }
    free(ok);
    if (rc) {
        snprintf(err, errlen, "out of memory");
        sj_csv_cols_free(out);
    }
    return rc;
}

/* A column for each partition folder of files that the schema's first have columns (the
 * file's own) do not name (sj_folder_columns). */
static void folder_columns(inferred *in, char **files, size_t nfiles, size_t have) {
    const char **names = calloc(have + 1, sizeof *names);
    sj_csv_cols f;
    char err[64];
    for (size_t c = 0; names && c < have; c++)
        names[c] = sheaf_schema_name(in->schema, c);
    if (!names || sj_folder_columns(files, nfiles, names, have, &f, err, sizeof err)) {
        in->rc = SHEAF_ENOMEM;
        free(names);
        return;
    }
    for (size_t c = 0; c < f.ncols && !in->rc; c++)
        column(in, f.names[c], NULL, f.types[c], true, " (partition folder)");
    sj_csv_cols_free(&f);
    free(names);
}

static int infer_parquet(inferred *in, const char *path, char **files, size_t nfiles, char *err,
                         size_t errlen) {
    char buf[64];
    sheaf__pqr *r = sheaf__pqr_open(path, err, errlen);
    if (!r)
        return SHEAF_EFORMAT;
    if (in->desc &&
        sj_buf_printf(in->desc,
                      "%s: parquet, %llu rows in %zu row groups, written "
                      "by %s\n",
                      path, (unsigned long long)sheaf__pqr_total_rows(r), sheaf__pqr_nrowgroups(r),
                      *sheaf__pqr_created_by(r) ? sheaf__pqr_created_by(r) : "an unnamed writer"))
        in->rc = SHEAF_ENOMEM;
    for (size_t i = 0; i < sheaf__pqr_ncols(r) && !in->rc; i++) {
        const sheaf__pqcol *c = sheaf__pqr_col(r, i);
        sheaf_col_type t;
        const char *shown = parquet_type(c, buf, sizeof buf, &t);
        column(in, c->name, shown, t, c->optional, "");
    }
    sheaf__pqr_close(r);
    if (!in->rc)
        folder_columns(in, files, nfiles, sheaf_schema_columns(in->schema));
    return 0;
}

unsigned sj_kinds(const char *f, size_t n) {
    unsigned k = 0;
    int64_t i;
    double d;
    if (!n)
        return 0;
    if (!sheaf__parse_value(SHEAF_COL_INT64, f, n, &i, &d))
        k |= SJ_K_INT;
    if (!sheaf__parse_value(SHEAF_COL_DOUBLE, f, n, &i, &d) && !isalpha((unsigned char)f[0]))
        k |= SJ_K_DOUBLE; /* not nan, inf */
    if ((n == 4 && !strncasecmp(f, "true", 4)) || (n == 5 && !strncasecmp(f, "false", 5)))
        k |= SJ_K_BOOL; /* the words: 0 and 1 are integers, t and f letters */
    if (!sheaf__parse_value(SHEAF_COL_DATE, f, n, &i, &d))
        k |= SJ_K_DATE;
    if (!sheaf__parse_value(SHEAF_COL_TIMESTAMP, f, n, &i, &d))
        k |= SJ_K_TS;
    return k;
}

void sj_csv_cols_free(sj_csv_cols *c) {
    for (size_t i = 0; c->names && i < c->ncols; i++)
        free(c->names[i]);
    free(c->names);
    free(c->types);
    free(c->nullable);
    memset(c, 0, sizeof *c);
}

/* Makes room for ncols columns with their names from fields (n of them). 0 or SHEAF_ENOMEM. */
static int cols_named(sj_csv_cols *c, unsigned **kinds, bool **seen, const char *const *fields,
                      const size_t *lens, size_t n) {
    c->ncols = n;
    c->names = calloc(n + 1, sizeof *c->names);
    c->types = calloc(n + 1, sizeof *c->types);
    c->nullable = calloc(n + 1, sizeof *c->nullable);
    *kinds = calloc(n + 1, sizeof **kinds);
    *seen = calloc(n + 1, sizeof **seen);
    if (!c->names || !c->types || !c->nullable || !*kinds || !*seen)
        return SHEAF_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!(c->names[i] = strndup(fields[i], lens[i])))
            return SHEAF_ENOMEM;
        (*kinds)[i] = SJ_K_INT | SJ_K_DOUBLE | SJ_K_BOOL | SJ_K_DATE | SJ_K_TS;
    }
    return 0;
}

int sj_csv_infer(char **files, size_t nfiles, char sep, uint64_t max_rows, uint64_t max_bytes,
                 sj_kinds_fn kinds, sj_csv_cols *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    unsigned *k = NULL;
    bool *seen = NULL, named = false;
    int rc = 0;
    sheaf__reader rd;
    memset(&rd, 0, sizeof rd);
    rd.fd = -1;
    for (size_t fi = 0; fi < nfiles && !rc && (fi == 0 || out->rows < max_rows); fi++) {
        const char *path = files[fi];
        struct stat st;
        if (stat(path, &st)) {
            snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
            rc = SHEAF_ENOENT;
            break;
        }
        sheaf__format fmt;
        sheaf__format_parse("csv", &fmt);
        fmt.header = true;
        size_t pl = strlen(path);
        fmt.sep = (uint8_t)(sep ? sep : pl > 4 && !strcmp(path + pl - 4, ".tsv") ? '\t' : ',');
        int r = sheaf__reader_open(&rd, path, 0, (uint64_t)st.st_size, &fmt, err, errlen);
        if (r) {
            rc = r < 0 ? r : SHEAF_EIO;
            break;
        }
        sheaf_record rec;
        while (out->rows < max_rows && (r = sheaf__reader_next(&rd, &rec, err, errlen)) != 0) {
            if (r == SHEAF_EFORMAT && !rd.done)
                continue; /* a malformed record: the job itself decides (--max-bad-records) */
            if (r < 0) {
                rc = r;
                break;
            }
            if (!named) {
                named = true;
                if ((rc = cols_named(out, &k, &seen, rec.header, rec.header_lens, rec.nheader)))
                    break;
            }
            if (rec.offset >= max_bytes)
                break;
            if (rec.nfields == 1 && rec.field_lens[0] == 0 && out->ncols > 1)
                continue; /* a blank line */
            out->rows++;
            for (size_t c = 0; c < out->ncols; c++) {
                size_t n = c < rec.nfields ? rec.field_lens[c] : 0;
                if (n == 0) {
                    out->nullable[c] = true;
                    continue;
                }
                seen[c] = true;
                k[c] &= kinds(rec.fields[c], n);
            }
        }
        if (!rc && !named) { /* the header alone, or an empty file */
            named = true;
            rc = cols_named(out, &k, &seen, (const char *const *)rd.hfields, rd.hlens, rd.nh);
        }
        sheaf__reader_close(&rd);
    }
    sheaf__reader_free(&rd);
    for (size_t c = 0; !rc && c < out->ncols; c++) {
        unsigned x = seen[c] ? k[c] : 0;
        out->types[c] = x & SJ_K_INT      ? SHEAF_COL_INT64
                        : x & SJ_K_DOUBLE ? SHEAF_COL_DOUBLE
                        : x & SJ_K_BOOL   ? SHEAF_COL_BOOL
                        : x & SJ_K_DATE   ? SHEAF_COL_DATE
                        : x & SJ_K_TS     ? SHEAF_COL_TIMESTAMP
                                          : SHEAF_COL_STRING;
        if (!seen[c])
            out->nullable[c] = true; /* empty throughout: a nullable string */
    }
    if (rc == SHEAF_ENOMEM)
        snprintf(err, errlen, "out of memory reading %s", files[0]);
    free(k);
    free(seen);
    if (rc)
        sj_csv_cols_free(out);
    return rc;
}

static int infer_csv(inferred *in, char **files, size_t nfiles, char sep, uint64_t sample,
                     char *err, size_t errlen) {
    sj_csv_cols c;
    int rc =
        sj_csv_infer(files, nfiles, sep, sample, SJ_SCHEMA_SAMPLE_BYTES, sj_kinds, &c, err, errlen);
    if (rc)
        return rc;
    size_t pl = strlen(files[0]);
    bool tsv = sep ? sep == '\t' : pl > 4 && !strcmp(files[0] + pl - 4, ".tsv");
    if (in->desc &&
        sj_buf_printf(in->desc, "%s: %s with a header, %zu columns, types from %llu rows%s\n",
                      files[0], tsv ? "tsv" : "csv", c.ncols, (unsigned long long)c.rows,
                      nfiles > 1 ? " of its files" : ""))
        in->rc = SHEAF_ENOMEM;
    for (size_t i = 0; i < c.ncols && !in->rc; i++)
        column(in, c.names[i], NULL, c.types[i], c.nullable[i], "");
    sj_csv_cols_free(&c);
    return 0;
}

sheaf_schema *sj_schema_infer(const char *path, bool parquet, char sep, uint64_t sample,
                              char **files, size_t nfiles, sj_buf *desc, char *err, size_t errlen) {
    inferred in = {.desc = desc, .schema = sheaf_schema_new()};
    int rc = !in.schema ? SHEAF_ENOMEM
             : parquet  ? infer_parquet(&in, path, files, nfiles, err, errlen)
                        : infer_csv(&in, files, nfiles, sep, sample, err, errlen);
    if (!rc && in.rc == SHEAF_EINVAL)
        snprintf(err, errlen, "%s: its columns do not make a schema (an empty or repeated name)",
                 path);
    else if (!rc && in.rc)
        snprintf(err, errlen, "out of memory reading %s", path);
    else if (rc == SHEAF_ENOMEM && !in.schema)
        snprintf(err, errlen, "out of memory");
    if (!rc && !in.rc && desc &&
        sj_buf_printf(desc, "  --schema %.*s\n", (int)in.spec.len, in.spec.p ? in.spec.p : "")) {
        in.rc = SHEAF_ENOMEM;
        snprintf(err, errlen, "out of memory");
    }
    sj_buf_free(&in.spec);
    if (rc || in.rc) {
        sheaf_schema_free(in.schema);
        return NULL;
    }
    return in.schema;
}

static bool is_parquet(const char *path) {
    FILE *f = fopen(path, "rb");
    char m[4] = {0};
    bool yes = f && fread(m, 1, 4, f) == 4 && !memcmp(m, "PAR1", 4);
    if (f)
        fclose(f);
    size_t n = strlen(path);
    return yes || (n > 8 && !strcmp(path + n - 8, ".parquet"));
}

int sj_schema_command(int argc, char **argv) {
    uint64_t sample = SJ_SCHEMA_SAMPLE;
    char sep = 0;
    int i = 1, rc = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: sheaf schema [--sample N] [--csv-delimiter C] FILE...\n"
                   "  the columns of Parquet files (their footers) and of csv/tsv files with a "
                   "header\n  (types inferred from the first N rows, default 20480)\n");
            return 0;
        }
        if (!strcmp(argv[i], "--sample") && i + 1 < argc) {
            char *end;
            sample = strtoull(argv[++i], &end, 10);
            if (*end || !sample) {
                fprintf(stderr, "sheaf schema: --sample: '%s' is not a count\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--csv-delimiter") && i + 1 < argc) {
            uint8_t d;
            if (sheaf__parse_delim(argv[++i], &d)) {
                fprintf(stderr, "sheaf schema: --csv-delimiter: bad delimiter '%s'\n", argv[i]);
                return 2;
            }
            sep = (char)d;
        } else {
            fprintf(stderr, "sheaf schema: unknown option '%s' (see sheaf schema --help)\n",
                    argv[i]);
            return 2;
        }
    }
    if (i == argc) {
        fprintf(stderr, "usage: sheaf schema [--sample N] [--csv-delimiter C] FILE...\n");
        return 2;
    }
    for (; i < argc; i++) {
        char err[1024];
        sj_buf desc = {0};
        char *one[1] = {argv[i]};
        sheaf_schema *sc = sj_schema_infer(argv[i], is_parquet(argv[i]), sep, sample, one, 1, &desc,
                                           err, sizeof err);
        if (sc)
            fwrite(desc.p, 1, desc.len, stdout);
        else
            fprintf(stderr, "sheaf schema: %s\n", err);
        rc = rc ? rc : !sc;
        sheaf_schema_free(sc);
        sj_buf_free(&desc);
    }
    return rc;
}
