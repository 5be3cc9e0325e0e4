/*
 * pqtool.c: a test tool over the runtime's Parquet writer and reader, so independent
 * implementations (DuckDB, hyparquet) can be compared with them.
 *
 *   pqtool write --schema 'a:int64,b:string?,...' [--codec C] [--row-group N]
 *                [--dict-limit BYTES] [--page-size BYTES] IN.csv OUT.parquet
 *       IN.csv has a header; a field \N is null, an empty field is null except in string
 *       columns (the empty string). Types: int64 int32 double bool string date timestamp;
 *       a trailing ? makes the column nullable.
 *   pqtool dump [--columns a,b] FILE   the rows as csv under a header (\N for null, RFC 4180
 *       quoting), row group by row group
 *   pqtool schema FILE                 name, physical type, flags, one column a line; then
 *       the row groups and their rows
 *
 * Exit status 0, 1 on a failure (the message names the file), 2 on bad usage.
 */
#include "parquet.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int usage(void) {
    fprintf(stderr,
            "usage: pqtool write --schema S [--codec C] [--row-group N] [--dict-limit B] "
            "[--page-size B] IN.csv OUT.parquet | dump [--columns a,b] FILE | schema FILE\n");
    return 2;
}

static int cmd_write(int argc, char **argv) {
    const char *schema = NULL;
    sheaf__pqw_opts o;
    sheaf__pqw_opts_init(&o);
    int i = 0;
    for (; i < argc && !strncmp(argv[i], "--", 2); i += 2) {
        if (i + 1 >= argc)
            return usage();
        if (!strcmp(argv[i], "--schema"))
            schema = argv[i + 1];
        else if (!strcmp(argv[i], "--codec")) {
            if ((o.codec = sheaf__pq_codec_parse(argv[i + 1])) < 0)
                return usage();
        } else if (!strcmp(argv[i], "--row-group"))
            o.row_group_rows = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--dict-limit"))
            o.dict_limit = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--page-size"))
            o.page_size = strtoull(argv[i + 1], NULL, 10);
        else
            return usage();
    }
    if (!schema || argc - i != 2)
        return usage();
    const char *in = argv[i], *out = argv[i + 1];
    char err[1024];
    sheaf_schema *s = sheaf_schema_parse(schema, err, sizeof err);
    if (!s) {
        fprintf(stderr, "pqtool: %s\n", err);
        return 2;
    }
    struct stat st;
    if (stat(in, &st)) {
        perror(in);
        return 1;
    }
    sheaf__format fmt;
    sheaf__format_parse("csv", &fmt);
    fmt.header = true;
    sheaf__reader rd;
    memset(&rd, 0, sizeof rd);
    rd.fd = -1;
    if (sheaf__reader_open(&rd, in, 0, (uint64_t)st.st_size, &fmt, err, sizeof err)) {
        fprintf(stderr, "pqtool: %s\n", err);
        return 1;
    }
    int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        perror(out);
        return 1;
    }
    sheaf__pqw *w = sheaf__pqw_open(fd, out, s, &o, err, sizeof err);
    if (!w) {
        fprintf(stderr, "pqtool: %s\n", err);
        return 1;
    }
    sheaf_record rec;
    int r, rc = 0;
    uint64_t line = 1;
    while (!rc && (r = sheaf__reader_next(&rd, &rec, err, sizeof err)) == 1) {
        line++;
        if (rec.nfields != s->n) {
            fprintf(stderr, "pqtool: %s line %llu: %zu fields, not %zu\n", in,
                    (unsigned long long)line, rec.nfields, s->n);
            rc = 1;
            break;
        }
        for (size_t c = 0; c < s->n && !rc; c++) {
            const char *f = rec.fields[c];
            size_t n = rec.field_lens[c];
            if (n == 2 && !memcmp(f, "\\N", 2))
                rc = sheaf__pqw_set_null(w, c);
            else
                rc = sheaf__pqw_set_text(w, c, f, n);
        }
        if (!rc)
            rc = sheaf__pqw_end_row(w);
        if (rc)
            fprintf(stderr, "pqtool: %s line %llu: %s\n", in, (unsigned long long)line,
                    sheaf__pqw_error(w));
    }
    if (r < 0) {
        fprintf(stderr, "pqtool: %s\n", err);
        rc = 1;
    }
    sheaf__reader_free(&rd);
    if (rc) {
        sheaf__pqw_abort(w);
        close(fd);
        return 1;
    }
    if (sheaf__pqw_close(w, err, sizeof err)) {
        fprintf(stderr, "pqtool: %s\n", err);
        return 1;
    }
    sheaf_schema_free(s);
    return close(fd) ? 1 : 0;
}

static void csv_out(const char *s, size_t n) {
    bool q = false;
    for (size_t i = 0; i < n; i++)
        q |= s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!q && !(n == 2 && !memcmp(s, "\\N", 2))) {
        fwrite(s, 1, n, stdout);
        return;
    }
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            putchar('"');
        putchar(s[i]);
    }
    putchar('"');
}

static int cmd_dump(int argc, char **argv) {
    const char *cols = NULL;
    int i = 0;
    if (argc >= 2 && !strcmp(argv[0], "--columns")) {
        cols = argv[1];
        i = 2;
    }
    if (argc - i != 1)
        return usage();
    char err[1024];
    sheaf__pqr *r = sheaf__pqr_open(argv[i], err, sizeof err);
    if (!r) {
        fprintf(stderr, "pqtool: %s\n", err);
        return 1;
    }
    size_t nc = sheaf__pqr_ncols(r), nsel = 0;
    size_t *sel = calloc(nc + 1, sizeof *sel);
    if (cols) {
        char *copy = strdup(cols), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            size_t c = 0;
            while (c < nc && strcmp(sheaf__pqr_col(r, c)->name, t))
                c++;
            if (c == nc) {
                fprintf(stderr, "pqtool: %s: no column '%s'\n", argv[i], t);
                free(copy);
                free(sel);
                sheaf__pqr_close(r);
                return 1;
            }
            if (nsel < nc)
                sel[nsel++] = c;
        }
        free(copy);
    } else {
        for (size_t c = 0; c < nc; c++)
            sel[nsel++] = c;
    }
    for (size_t k = 0; k < nsel; k++) {
        if (k)
            putchar(',');
        const char *name = sheaf__pqr_col(r, sel[k])->name;
        csv_out(name, strlen(name));
    }
    putchar('\n');
    const sheaf__pqval **vals = calloc(nsel + 1, sizeof *vals);
    int rc = 0;
    for (size_t g = 0; g < sheaf__pqr_nrowgroups(r) && !rc; g++) {
        for (size_t k = 0; k < nsel && !rc; k++)
            if (sheaf__pqr_read(r, g, sel[k], &vals[k], err, sizeof err)) {
                fprintf(stderr, "pqtool: %s\n", err);
                rc = 1;
            }
        for (uint64_t row = 0; !rc && row < sheaf__pqr_rows(r, g); row++) {
            for (size_t k = 0; k < nsel; k++) {
                if (k)
                    putchar(',');
                if (vals[k][row].null) {
                    fputs("\\N", stdout);
                    continue;
                }
                char buf[128];
                const char *t;
                size_t n = sheaf__pq_text(sheaf__pqr_col(r, sel[k]), &vals[k][row], buf, &t);
                csv_out(t, n);
            }
            putchar('\n');
        }
    }
    free(vals);
    free(sel);
    sheaf__pqr_close(r);
    return rc;
}

static int cmd_schema(int argc, char **argv) {
    if (argc != 1)
        return usage();
    char err[1024];
    sheaf__pqr *r = sheaf__pqr_open(argv[0], err, sizeof err);
    if (!r) {
        fprintf(stderr, "pqtool: %s\n", err);
        return 1;
    }
    static const char *const tn[] = {"BOOLEAN", "INT32",  "INT64",      "INT96",
                                     "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    for (size_t c = 0; c < sheaf__pqr_ncols(r); c++) {
        const sheaf__pqcol *col = sheaf__pqr_col(r, c);
        printf("%s %s%s%s%s%s\n", col->name, tn[col->type], col->optional ? " optional" : "",
               col->is_string ? " string" : "", col->is_date ? " date" : "",
               col->ts_unit ? " timestamp" : "");
    }
    printf("row groups %zu rows %llu\n", sheaf__pqr_nrowgroups(r),
           (unsigned long long)sheaf__pqr_total_rows(r));
    sheaf__pqr_close(r);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return usage();
    if (!strcmp(argv[1], "write"))
        return cmd_write(argc - 2, argv + 2);
    if (!strcmp(argv[1], "dump"))
        return cmd_dump(argc - 2, argv + 2);
    if (!strcmp(argv[1], "schema"))
        return cmd_schema(argc - 2, argv + 2);
    return usage();
}
