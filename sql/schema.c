/*
 * schema.c: the columns of a CSV table and their types.
 *
 * The names come from the first file's header. The types come from a sample: the first
 * rows (at most SAMPLE_ROWS, from at most SAMPLE_BYTES of each file, files in order) are
 * split with the jobs' csv splitter, and each column keeps the candidate types every
 * non-empty field parses as; the first left of BOOLEAN (true/false), BIGINT, DOUBLE, DATE
 * (YYYY-MM-DD), TIMESTAMP (YYYY-MM-DD HH:MM:SS[.ffffff]) is its type, else VARCHAR. Empty
 * fields are NULL and say nothing about the type; a column empty in the whole sample is
 * VARCHAR. A later field that does not parse as its column's type fails the query, naming
 * the file and offset. --schema overrides the inferred types by name.
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

#define SAMPLE_ROWS 20480
#define SAMPLE_BYTES (8u << 20)

enum { C_BOOL = 1, C_INT = 2, C_DOUBLE = 4, C_DATE = 8, C_TS = 16 };

void sql_table_free(sql_table *t) {
    for (size_t i = 0; i < t->ncols; i++)
        free(t->names[i]);
    free(t->names);
    free(t->types);
    free(t->tab);
    memset(t, 0, sizeof *t);
}

static unsigned candidates(const char *p, size_t n) {
    unsigned c = 0;
    sql_value v;
    if ((n == 4 && !strncasecmp(p, "true", 4)) || (n == 5 && !strncasecmp(p, "false", 5)))
        c |= C_BOOL;
    if (!sql_parse_as(SQL_INT, p, n, &v))
        c |= C_INT;
    if (!sql_parse_as(SQL_DOUBLE, p, n, &v))
        c |= C_DOUBLE;
    if (!sql_parse_as(SQL_DATE, p, n, &v))
        c |= C_DATE;
    if (!sql_parse_as(SQL_TS, p, n, &v))
        c |= C_TS;
    return c;
}

/* Reads up to max bytes of a file. A file that is not regular (a FIFO, a device) is refused,
 * never waited on. Returns 0 or a negative code. */
static int read_head(const char *path, size_t max, char **data, size_t *len) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return SHEAF_ENOENT;
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return SHEAF_EINVAL;
    }
    char *buf = malloc(max + 1);
    if (!buf) {
        close(fd);
        return SHEAF_ENOMEM;
    }
    size_t n = 0;
    while (n < max) {
        ssize_t k = read(fd, buf + n, max - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            free(buf);
            close(fd);
            return SHEAF_EIO;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    close(fd);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

int sql_infer_table(char **files, size_t nfiles, char delim, sql_table *t, char *err,
                    size_t errlen) {
    memset(t, 0, sizeof *t);
    unsigned *cand = NULL;
    bool *seen = NULL;
    size_t rows = 0;
    sheaf_csv fl = {0};
    int rc = 0;
    if (!nfiles) {
        snprintf(err, errlen, "no input files");
        return SHEAF_ENOENT;
    }
    for (size_t fi = 0; fi < nfiles && rows < SAMPLE_ROWS; fi++) {
        char *data;
        size_t len;
        if ((rc = read_head(files[fi], SAMPLE_BYTES, &data, &len))) {
            snprintf(err, errlen, "%s: cannot read it%s", files[fi],
                     rc == SHEAF_EINVAL ? " (not a regular file)" : "");
            goto out;
        }
        bool whole = len < SAMPLE_BYTES;
        size_t off = 0;
        bool first = true;
        while (off < len && rows < SAMPLE_ROWS) {
            long long k = sheaf_csv_parse(&fl, data + off, len - off, delim, NULL, 0);
            if (k <= 0)
                break;
            /* a record cut by the end of the sample is not used */
            if (!whole && (size_t)k == len - off && data[len - 1] != '\n')
                break;
            off += (size_t)k;
            if (first) {
                first = false;
                if (fi == 0) {
                    t->ncols = fl.nfields;
                    t->names = calloc(fl.nfields ? fl.nfields : 1, sizeof *t->names);
                    t->types = calloc(fl.nfields ? fl.nfields : 1, sizeof *t->types);
                    cand = calloc(fl.nfields ? fl.nfields : 1, sizeof *cand);
                    seen = calloc(fl.nfields ? fl.nfields : 1, sizeof *seen);
                    if (!t->names || !t->types || !cand || !seen) {
                        free(data);
                        rc = SHEAF_ENOMEM;
                        goto out;
                    }
                    for (size_t i = 0; i < fl.nfields; i++) {
                        t->names[i] = strndup(fl.fields[i], fl.field_lens[i]);
                        cand[i] = C_BOOL | C_INT | C_DOUBLE | C_DATE | C_TS;
                    }
                }
                continue;
            }
            if (fl.nfields == 1 && fl.field_lens[0] == 0 && t->ncols > 1)
                continue; /* a blank line */
            for (size_t i = 0; i < fl.nfields && i < t->ncols; i++) {
                if (!fl.field_lens[i])
                    continue;
                seen[i] = true;
                cand[i] &= candidates(fl.fields[i], fl.field_lens[i]);
            }
            rows++;
        }
        free(data);
    }
    if (!t->ncols) {
        snprintf(err, errlen, "%s: no header line (the first line must name the columns)",
                 files[0]);
        rc = SHEAF_EFORMAT;
        goto out;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        unsigned c = seen[i] ? cand[i] : 0;
        t->types[i] = c & C_BOOL     ? SQL_BOOL
                      : c & C_INT    ? SQL_INT
                      : c & C_DOUBLE ? SQL_DOUBLE
                      : c & C_DATE   ? SQL_DATE
                      : c & C_TS     ? SQL_TS
                                     : SQL_STRING;
    }
out:
    free(cand);
    free(seen);
    sheaf_csv_free(&fl);
    if (rc && rc != SHEAF_ENOMEM && !err[0])
        snprintf(err, errlen, "cannot infer the table's columns");
    if (rc)
        sql_table_free(t);
    return rc;
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
            snprintf(err, errlen, "--schema: unknown type '%s' (bigint, double, varchar, "
                                  "boolean, date, timestamp)", colon + 1);
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
