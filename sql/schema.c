/*
 * schema.c: the columns of a CSV table and their types.
 *
 * A csv table's names and types come from the one inference that `sheaf schema` and `sheaf
 * convert` use (sj_csv_infer, jobs/schema.c): the first file's header, and a sample of the
 * first 20,480 rows of the files in order (at most 8 MiB of each, decompressed when the name
 * says so), read as the jobs read csv. Each column keeps the candidate types every non-empty
 * field parses as by the query's own value rules (sql_kinds): BOOLEAN (true/false), BIGINT,
 * DOUBLE, DATE (YYYY-MM-DD), TIMESTAMP (YYYY-MM-DD HH:MM:SS[.ffffff]); the first of BIGINT,
 * DOUBLE, BOOLEAN, DATE, TIMESTAMP left is its type, else VARCHAR. Empty fields are NULL and say
 * nothing about the type; a column empty in the whole sample is VARCHAR. A later field that
 * does not parse as its column's type fails the query, naming the file and offset. --schema
 * overrides the inferred types by name.
 *
 * A Parquet table's columns and types come from its first file's footer (sql_parquet_table).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sql/sql.h"
#include "codec.h"
#include "parquet.h"

void sql_table_free(sql_table *t) {
    for (size_t i = 0; i < t->ncols; i++)
        free(t->names[i]);
    free(t->names);
    free(t->types);
    free(t->tab);
    memset(t, 0, sizeof *t);
}

/* Reads up to max bytes of a file (SIZE_MAX: all of it), decompressed when its name ends in a
 * codec's suffix (.gz, .zst, .bz2, .xz). A file that is not regular (a FIFO, a device) is
 * refused, never waited on. Returns 0, or a negative code with a message naming the file. */
int sql_read_head(const char *path, size_t max, char **data, size_t *len, char *err,
                  size_t errlen) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot read it", path);
        return SHEAF_ENOENT;
    }
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(err, errlen, "%s: cannot read it (not a regular file)", path);
        return SHEAF_EINVAL;
    }
    sheaf__codec_kind kind = sheaf__codec_by_name(path);
    sheaf__decoder *dec = NULL;
    int rc = 0;
    if (kind != SHEAF__CODEC_NONE &&
        (rc = sheaf__decoder_open(&dec, kind, fd, path, err, errlen))) {
        close(fd);
        return rc;
    }
    size_t cap = max != SIZE_MAX ? max : (size_t)st.st_size + 1;
    if (cap < 4096)
        cap = 4096;
    char *buf = malloc(cap + 1);
    size_t n = 0;
    while (buf && n < max) {
        if (n == cap) {
            size_t nc = cap * 2;
            char *nb = nc > cap ? realloc(buf, nc + 1) : NULL;
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap = nc;
        }
        size_t want = cap - n < max - n ? cap - n : max - n;
        long long k;
        if (dec) {
            k = sheaf__decoder_read(dec, buf + n, want, err, errlen);
        } else {
            k = read(fd, buf + n, want);
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0) {
                snprintf(err, errlen, "%s: cannot read it: %s", path, strerror(errno));
                k = SHEAF_EIO;
            }
        }
        if (k < 0) {
            rc = (int)k;
            break;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    if (dec)
        sheaf__decoder_free(dec);
    close(fd);
    if (!buf) {
        snprintf(err, errlen, "out of memory reading %s", path);
        return SHEAF_ENOMEM;
    }
    if (rc) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

/* The SQL type of a Parquet column: integers BIGINT, floating point and decimals DOUBLE,
 * dates DATE, timestamps TIMESTAMP, booleans BOOLEAN, the rest (strings, bytes) VARCHAR. */
static int parquet_sql_type(const sheaf__pqcol *c) {
    if (c->is_decimal)
        return SQL_DOUBLE;
    switch (c->type) {
    case PQ_BOOLEAN: return SQL_BOOL;
    case PQ_INT32: return c->is_date ? SQL_DATE : SQL_INT;
    case PQ_INT64: return c->ts_unit ? SQL_TS : SQL_INT;
    case PQ_INT96: return SQL_TS;
    case PQ_FLOAT:
    case PQ_DOUBLE: return SQL_DOUBLE;
    default: return SQL_STRING;
    }
}

int sql_parquet_table(const char *file, sql_table *t, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    sheaf__pqr *r = sheaf__pqr_open(file, err, errlen);
    if (!r)
        return SHEAF_EFORMAT;
    size_t n = sheaf__pqr_ncols(r);
    t->names = calloc(n + 1, sizeof *t->names);
    t->types = calloc(n + 1, sizeof *t->types);
    int rc = t->names && t->types ? 0 : SHEAF_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++) {
        const sheaf__pqcol *c = sheaf__pqr_col(r, i);
        if (!(t->names[i] = strdup(c->name)))
            rc = SHEAF_ENOMEM;
        t->types[i] = parquet_sql_type(c);
        t->ncols++;
    }
    sheaf__pqr_close(r);
    if (rc) {
        snprintf(err, errlen, "out of memory");
        sql_table_free(t);
    }
    return rc;
}

/* Adds to t (the first file's columns) a column for each partition folder name found in the
 * files' paths that t does not hold (sj_folder_columns). Returns 0 or a code with a message in
 * err. */
static int partition_columns(char **files, size_t nfiles, sql_table *t, char *err, size_t errlen) {
    sj_csv_cols f;
    int rc =
        sj_folder_columns(files, nfiles, (const char *const *)t->names, t->ncols, &f, err, errlen);
    if (rc)
        return rc;
    char **names = realloc(t->names, (t->ncols + f.ncols + 1) * sizeof *names);
    if (names)
        t->names = names;
    int *types = realloc(t->types, (t->ncols + f.ncols + 1) * sizeof *types);
    if (types)
        t->types = types;
    if (!names || !types) {
        sj_csv_cols_free(&f);
        snprintf(err, errlen, "out of memory");
        return SHEAF_ENOMEM;
    }
    for (size_t c = 0; c < f.ncols; c++) {
        t->names[t->ncols] = f.names[c];
        f.names[c] = NULL;
        t->types[t->ncols++] = f.types[c] == SHEAF_COL_INT64  ? SQL_INT
                               : f.types[c] == SHEAF_COL_DATE ? SQL_DATE
                                                              : SQL_STRING;
    }
    sj_csv_cols_free(&f);
    return 0;
}

int sql_files_table(char **files, size_t nfiles, bool parquet, char delim, sql_table *t,
                    size_t *nfile, char *err, size_t errlen) {
    int rc = parquet ? sql_parquet_table(files[0], t, err, errlen)
                     : sql_infer_table(files, nfiles, delim, t, err, errlen);
    *nfile = rc ? 0 : t->ncols;
    if (!rc && parquet && (rc = partition_columns(files, nfiles, t, err, errlen)))
        sql_table_free(t);
    return rc;
}

/* What a field parses as, by the query's own value rules (sql_parse_as), as sj_csv_infer's
 * kinds (SJ_K_*). */
static unsigned sql_kinds(const char *p, size_t n) {
    unsigned k = 0;
    sql_value v;
    if ((n == 4 && !strncasecmp(p, "true", 4)) || (n == 5 && !strncasecmp(p, "false", 5)))
        k |= SJ_K_BOOL;
    if (!sql_parse_as(SQL_INT, p, n, &v))
        k |= SJ_K_INT;
    if (!sql_parse_as(SQL_DOUBLE, p, n, &v))
        k |= SJ_K_DOUBLE;
    if (!sql_parse_as(SQL_DATE, p, n, &v))
        k |= SJ_K_DATE;
    if (!sql_parse_as(SQL_TS, p, n, &v))
        k |= SJ_K_TS;
    return k;
}

int sql_infer_table(char **files, size_t nfiles, char delim, sql_table *t, char *err,
                    size_t errlen) {
    memset(t, 0, sizeof *t);
    if (!nfiles) {
        snprintf(err, errlen, "no input files");
        return SHEAF_ENOENT;
    }
    sj_csv_cols c;
    int rc = sj_csv_infer(files, nfiles, delim, SJ_SCHEMA_SAMPLE, SJ_SCHEMA_SAMPLE_BYTES, sql_kinds,
                          &c, err, errlen);
    if (rc)
        return rc;
    if (!c.ncols) {
        sj_csv_cols_free(&c);
        snprintf(err, errlen, "%s: no header line (the first line must name the columns)",
                 files[0]);
        return SHEAF_EFORMAT;
    }
    t->names = c.names; /* taken over */
    t->ncols = c.ncols;
    t->types = calloc(c.ncols, sizeof *t->types);
    for (size_t i = 0; t->types && i < c.ncols; i++)
        t->types[i] = c.types[i] == SHEAF_COL_INT64       ? SQL_INT
                      : c.types[i] == SHEAF_COL_DOUBLE    ? SQL_DOUBLE
                      : c.types[i] == SHEAF_COL_BOOL      ? SQL_BOOL
                      : c.types[i] == SHEAF_COL_DATE      ? SQL_DATE
                      : c.types[i] == SHEAF_COL_TIMESTAMP ? SQL_TS
                                                          : SQL_STRING;
    c.names = NULL;
    c.ncols = 0;
    sj_csv_cols_free(&c);
    if (!t->types) {
        sql_table_free(t);
        snprintf(err, errlen, "out of memory");
        return SHEAF_ENOMEM;
    }
    return 0;
}

int sql_apply_schema(sql_table *t, const char *schema, char *err, size_t errlen) {
    char **items;
    size_t n;
    if (sj_split(schema, ',', &items, &n)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        char *colon = strrchr(items[i], ':');
        if (!colon) {
            snprintf(err, errlen, "--schema: '%s' is not COLUMN:TYPE", items[i]);
            rc = -1;
            break;
        }
        *colon = '\0';
        int type = sql_type_from_name(colon + 1);
        if (type < 0) {
            snprintf(err, errlen,
                     "--schema: unknown type '%s' (bigint, double, varchar, "
                     "boolean, date, timestamp)",
                     colon + 1);
            rc = -1;
            break;
        }
        size_t c;
        for (c = 0; c < t->ncols; c++)
            if (!strcasecmp(t->names[c], items[i]))
                break;
        if (c == t->ncols) {
            snprintf(err, errlen, "--schema: the table has no column '%s'", items[i]);
            rc = -1;
            break;
        }
        t->types[c] = type;
    }
    sj_free_list(items, n);
    return rc;
}
