/*
 * schema.c: `sheaf schema [--sample N] [--csv-delimiter C] FILE...`, the crawler: prints each
 * file's columns and types, and a --schema line that `sheaf convert` accepts.
 *
 * A Parquet file (PAR1 at its start) is described by its footer: each column's type as Sheaf
 * names it (int64, int32, double, bool, string, date, timestamp; decimal(P,S) and the like
 * for types convert has no name for, which the --schema line gives as double or string),
 * nullable when OPTIONAL, and the rows, row groups and writer. Any other file is read as csv
 * with a header (tsv for a name ending in .tsv) and its types inferred from the first N rows
 * (default 1000): int64 when every non-empty field is a decimal integer, else double when
 * every one is a number, else bool (true/false, t/f, yes/no), else date (YYYY-MM-DD), else
 * timestamp, else string; nullable when a field is empty (a column empty throughout is a
 * nullable string). Runs on one process, without MPI. Exit 0, 1 when a file cannot be read
 * (named), 2 on bad usage.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobs.h"
#include "parquet.h"

enum { T_INT = 1, T_DOUBLE = 2, T_BOOL = 4, T_DATE = 8, T_TS = 16 };

static const char *parquet_type(const sheaf__pqcol *c, char *buf, size_t n, const char **spec) {
    *spec = "string";
    if (c->is_decimal) {
        snprintf(buf, n, "decimal(%d,%d)", c->precision, c->scale);
        *spec = "double";
        return buf;
    }
    switch (c->type) {
    case PQ_BOOLEAN: return *spec = "bool";
    case PQ_INT32:
        if (c->is_date)
            return *spec = "date";
        *spec = "int32";
        return c->is_unsigned ? (*spec = "int64", "uint32") : "int32";
    case PQ_INT64:
        if (c->ts_unit)
            return *spec = "timestamp";
        *spec = "int64";
        return c->is_unsigned ? "uint64" : "int64";
    case PQ_INT96: return *spec = "timestamp";
    case PQ_FLOAT: *spec = "double"; return "float";
    case PQ_DOUBLE: return *spec = "double";
    case PQ_BYTE_ARRAY: return c->is_string ? "string" : "binary";
    default: snprintf(buf, n, "fixed(%d)", c->type_len); return buf;
    }
}

static void spec_item(sj_buf *spec, const char *name, const char *type, bool nullable) {
    if (spec->len)
        sj_buf_addc(spec, ',');
    sj_buf_add(spec, name, strlen(name));
    sj_buf_addc(spec, ':');
    sj_buf_add(spec, type, strlen(type));
    if (nullable)
        sj_buf_addc(spec, '?');
}

static int describe_parquet(const char *path) {
    char err[1024], buf[64];
    sheaf__pqr *r = sheaf__pqr_open(path, err, sizeof err);
    if (!r) {
        fprintf(stderr, "sheaf schema: %s\n", err);
        return 1;
    }
    printf("%s: parquet, %llu rows in %zu row groups, written by %s\n", path,
           (unsigned long long)sheaf__pqr_total_rows(r), sheaf__pqr_nrowgroups(r),
           *sheaf__pqr_created_by(r) ? sheaf__pqr_created_by(r) : "an unnamed writer");
    sj_buf spec = {0};
    for (size_t i = 0; i < sheaf__pqr_ncols(r); i++) {
        const sheaf__pqcol *c = sheaf__pqr_col(r, i);
        const char *st;
        printf("  %-24s %s%s\n", c->name, parquet_type(c, buf, sizeof buf, &st),
               c->optional ? " nullable" : "");
        spec_item(&spec, c->name, st, c->optional);
    }
    printf("  --schema %.*s\n", (int)spec.len, spec.p ? spec.p : "");
    sj_buf_free(&spec);
    sheaf__pqr_close(r);
    return 0;
}

static unsigned kinds(const char *f, size_t n) {
    unsigned k = 0;
    int64_t i;
    double d;
    bool b;
    if (!sheaf__parse_value(SHEAF_COL_INT64, f, n, &i, &d))
        k |= T_INT;
    if (!sheaf__parse_value(SHEAF_COL_DOUBLE, f, n, &i, &d) && !isalpha((unsigned char)f[0]))
        k |= T_DOUBLE; /* not nan, inf */
    if (!sheaf__parse_bool(f, n, &b) && isalpha((unsigned char)f[0]))
        k |= T_BOOL; /* words only: 0 and 1 are integers */
    if (!sheaf__parse_value(SHEAF_COL_DATE, f, n, &i, &d))
        k |= T_DATE;
    if (!sheaf__parse_value(SHEAF_COL_TIMESTAMP, f, n, &i, &d))
        k |= T_TS;
    return k;
}

static int describe_csv(const char *path, char sep, uint64_t sample) {
    struct stat st;
    char err[1024];
    if (stat(path, &st)) {
        fprintf(stderr, "sheaf schema: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    sheaf__format fmt;
    sheaf__format_parse("csv", &fmt);
    fmt.header = true;
    size_t pl = strlen(path);
    fmt.sep = (uint8_t)(sep ? sep : pl > 4 && !strcmp(path + pl - 4, ".tsv") ? '\t' : ',');
    sheaf__reader rd;
    memset(&rd, 0, sizeof rd);
    rd.fd = -1;
    if (sheaf__reader_open(&rd, path, 0, (uint64_t)st.st_size, &fmt, err, sizeof err)) {
        fprintf(stderr, "sheaf schema: %s\n", err);
        return 1;
    }
    unsigned *k = NULL;
    bool *nullable = NULL, *seen = NULL;
    char **names = NULL;
    size_t ncols = 0;
    uint64_t rows = 0;
    sheaf_record rec;
    int r, rc = 0;
    while (rows < sample && (r = sheaf__reader_next(&rd, &rec, err, sizeof err)) != 0) {
        if (r < 0) {
            fprintf(stderr, "sheaf schema: %s\n", err);
            rc = 1;
            break;
        }
        if (!names) {
            ncols = rec.nheader;
            k = calloc(ncols + 1, sizeof *k);
            nullable = calloc(ncols + 1, sizeof *nullable);
            seen = calloc(ncols + 1, sizeof *seen);
            names = calloc(ncols + 1, sizeof *names);
            for (size_t c = 0; names && c < ncols; c++)
                names[c] = strndup(rec.header[c], rec.header_lens[c]);
            for (size_t c = 0; k && c < ncols; c++)
                k[c] = T_INT | T_DOUBLE | T_BOOL | T_DATE | T_TS;
        }
        rows++;
        for (size_t c = 0; c < ncols; c++) {
            size_t n = c < rec.nfields ? rec.field_lens[c] : 0;
            if (n == 0) {
                nullable[c] = true;
                continue;
            }
            seen[c] = true;
            k[c] &= kinds(rec.fields[c], n);
        }
    }
    if (!rc && !names) {
        /* the header alone, or an empty file */
        ncols = rd.nh;
        names = calloc(ncols + 1, sizeof *names);
        k = calloc(ncols + 1, sizeof *k);
        nullable = calloc(ncols + 1, sizeof *nullable);
        seen = calloc(ncols + 1, sizeof *seen);
        for (size_t c = 0; names && c < ncols; c++)
            names[c] = strndup(rd.hfields[c], rd.hlens[c]);
    }
    if (!rc) {
        printf("%s: %s with a header, %zu columns, types from %llu rows\n", path,
               fmt.sep == '\t' ? "tsv" : "csv", ncols, (unsigned long long)rows);
        sj_buf spec = {0};
        for (size_t c = 0; c < ncols; c++) {
            unsigned x = seen[c] ? k[c] : 0;
            const char *t = x & T_INT      ? "int64"
                            : x & T_DOUBLE ? "double"
                            : x & T_BOOL   ? "bool"
                            : x & T_DATE   ? "date"
                            : x & T_TS     ? "timestamp"
                                           : "string";
            bool nl = nullable[c] || !seen[c];
            printf("  %-24s %s%s\n", names[c], t, nl ? " nullable" : "");
            spec_item(&spec, names[c], t, nl);
        }
        printf("  --schema %.*s\n", (int)spec.len, spec.p ? spec.p : "");
        sj_buf_free(&spec);
    }
    for (size_t c = 0; names && c < ncols; c++)
        free(names[c]);
    free(names);
    free(k);
    free(nullable);
    free(seen);
    sheaf__reader_free(&rd);
    return rc;
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
    uint64_t sample = 1000;
    char sep = 0;
    int i = 1, rc = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: sheaf schema [--sample N] [--csv-delimiter C] FILE...\n"
                   "  the columns of Parquet files (their footers) and of csv/tsv files with a "
                   "header\n  (types inferred from the first N rows, default 1000)\n");
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
        int r =
            is_parquet(argv[i]) ? describe_parquet(argv[i]) : describe_csv(argv[i], sep, sample);
        rc = rc ? rc : r;
    }
    return rc;
}
