/*
 * jobutil.c: what the built-in jobs share.
 *
 * Option parsing helpers print usage errors once (on rank 0) and numbers are parsed strictly
 * (a whole field or nothing). What the runtime does itself is not here: a job that reads a
 * side file in setup (the broadcast join) parses it with sheaf_csv_parse and lists it with
 * sheaf_list_inputs, as -i input is read and listed. Multi-round jobs
 * (topk by count, histogram's range pass, pagerank, kmeans, validate) run their rounds with
 * sj_round, which reuses the user's common options (memory, split size, reducers) with other
 * inputs and outputs, and read small results back with sj_each_output_line. Their work
 * directory (sj_work_open) is always a fresh one this run made, and the only thing removed.
 */
#include "jobs.h"
#include "number.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int sj_world_rank(void) {
    int inited = 0, rank = 0;
    MPI_Initialized(&inited);
    if (inited)
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

int sj_usage(const char *job, const char *fmt, ...) {
    if (sj_world_rank() == 0) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "sheaf %s: ", job);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
    return -1;
}

int sj_parse_u64(const char *s, uint64_t *out) {
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int sj_parse_double(const char *s, double *out) {
    return s ? sj_field_double(s, strlen(s), out) : -1;
}

int sj_field_double(const char *p, size_t n, double *out) {
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
        n--;
    if (n == 0 || n > 63)
        return -1;
    if (sheaf__plain_double(p, n, out))
        return 0;
    char tmp[64];
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (*end || end == tmp || !isfinite(v))
        return -1;
    /* strtod reads hex floats and "inf"/"nan"; only decimal numbers are numbers here. */
    for (size_t i = 0; i < n; i++)
        if (tmp[i] == 'x' || tmp[i] == 'X')
            return -1;
    *out = v;
    return 0;
}

int sj_buf_reserve(sj_buf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return SHEAF_ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

int sj_buf_add(sj_buf *b, const void *p, size_t n) {
    if (sj_buf_reserve(b, n))
        return SHEAF_ENOMEM;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int sj_buf_addc(sj_buf *b, char c) {
    return sj_buf_add(b, &c, 1);
}

int sj_buf_printf(sj_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SHEAF_EINVAL;
    if (sj_buf_reserve(b, (size_t)n))
        return SHEAF_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void sj_buf_free(sj_buf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int sj_split(const char *text, char sep, char ***out, size_t *n) {
    size_t cnt = 1;
    for (const char *s = text; *s; s++)
        cnt += *s == sep;
    char **list = calloc(cnt, sizeof *list);
    if (!list)
        return SHEAF_ENOMEM;
    size_t i = 0;
    const char *s = text;
    for (;;) {
        const char *e = strchr(s, sep);
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (!(list[i] = strndup(s, len))) {
            sj_free_list(list, i);
            return SHEAF_ENOMEM;
        }
        i++;
        if (!e)
            break;
        s = e + 1;
    }
    *out = list;
    *n = i;
    return 0;
}

void sj_free_list(char **list, size_t n) {
    if (!list)
        return;
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

uint64_t sj_mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

int sj_fmt_double(char *out, size_t outlen, double v) {
    int n = snprintf(out, outlen, "%.15g", v);
    if (n > 0 && strtod(out, NULL) != v)
        n = snprintf(out, outlen, "%.17g", v);
    return n;
}

long sj_column_index(const sheaf_csv *header, const char *column) {
    size_t cl = strlen(column);
    if (header)
        for (size_t i = 0; i < header->nfields; i++)
            if (header->field_lens[i] == cl && !memcmp(header->fields[i], column, cl))
                return (long)i;
    uint64_t v;
    if (sj_parse_u64(column, &v) == 0 && v < (uint64_t)LONG_MAX)
        return (long)v;
    return -1;
}

int sj_read_file(const char *path, char **data, size_t *len) {
    /* Opened without blocking, so that a FIFO is refused rather than waited on. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return errno == ENOENT ? SHEAF_ENOENT : SHEAF_EIO;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return SHEAF_EINVAL;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return SHEAF_ENOMEM;
    }
    sj_buf b = {0};
    char tmp[1 << 16];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        if (sj_buf_add(&b, tmp, n)) {
            fclose(f);
            sj_buf_free(&b);
            return SHEAF_ENOMEM;
        }
    int err = ferror(f);
    fclose(f);
    if (err) {
        sj_buf_free(&b);
        return SHEAF_EIO;
    }
    if (!b.p && sj_buf_reserve(&b, 0))
        return SHEAF_ENOMEM;
    *data = b.p;
    *len = b.len;
    return 0;
}

int sj_round(MPI_Comm comm, const sheaf_job_def *job, const sheaf_config *cfg,
             const char *const *inputs, size_t ninputs, const char *output, sheaf_result *res) {
    sheaf_config c = *cfg;
    c.inputs = inputs;
    c.ninputs = ninputs;
    c.output = output;
    c.overwrite = 1;
    c.report = NULL;
    c.progress = 0;
    return sheaf_run(comm, job, &c, res);
}

int sj_each_output_line(const char *dir, int (*fn)(void *arg, char *line, size_t len),
                        void *arg) {
    sj_buf pat = {0};
    if (sj_buf_printf(&pat, "%s/part-r-*", dir))
        return SHEAF_ENOMEM;
    glob_t g;
    int gr = glob(pat.p, 0, NULL, &g);
    sj_buf_free(&pat);
    if (gr == GLOB_NOMATCH)
        return 0;
    if (gr != 0)
        return SHEAF_EIO;
    int rc = 0;
    for (size_t i = 0; i < g.gl_pathc && !rc; i++) {
        char *data;
        size_t len;
        if ((rc = sj_read_file(g.gl_pathv[i], &data, &len)))
            break;
        size_t off = 0;
        while (off < len && !rc) {
            char *nl = memchr(data + off, '\n', len - off);
            size_t e = nl ? (size_t)(nl - data) : len;
            data[e < len ? e : len] = '\0';
            rc = fn(arg, data + off, e - off);
            off = e + 1;
        }
        free(data);
    }
    globfree(&g);
    return rc;
}

int sj_result_fail(sheaf_result *res, int code, const char *fmt, ...) {
    if (res) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(res->message, sizeof res->message, fmt, ap);
        va_end(ap);
        res->status = code;
    }
    return code;
}

int sj_bcast_buf(MPI_Comm comm, char **data, size_t *len) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    unsigned long long n = rank == 0 ? (unsigned long long)*len : 0;
    MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, comm);
    if (rank != 0) {
        free(*data); /* whatever the caller held is replaced */
        *data = malloc(n + 1);
        *len = (size_t)n;
    }
    int ok = *data != NULL, all;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, comm);
    if (!all)
        return SHEAF_ENOMEM;
    for (unsigned long long off = 0; off < n;) {
        int chunk = (int)(n - off > (1u << 30) ? (1u << 30) : n - off);
        MPI_Bcast(*data + off, chunk, MPI_BYTE, 0, comm);
        off += (unsigned long long)chunk;
    }
    if (rank != 0)
        (*data)[n] = '\0';
    return 0;
}

/* Appends "a, b, c" (the header's names, cut short past a few hundred bytes) to b. */
static int add_header_names(sj_buf *b, const char *const *names, const size_t *lens, size_t n) {
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (b->len > 400) {
            rc = sj_buf_printf(b, ", ... (%zu columns)", n);
            break;
        }
        rc = sj_buf_printf(b, "%s%.*s", i ? ", " : "", (int)lens[i], names[i]);
    }
    return rc;
}

int sj_no_column(sheaf_ctx *ctx, const char *file, const char *column,
                 const char *const *names, const size_t *lens, size_t n) {
    sj_buf b = {0};
    if (add_header_names(&b, names, lens, n)) {
        sj_buf_free(&b);
        return sheaf_fail(ctx, SHEAF_ENOMEM, "out of memory");
    }
    int rc = sheaf_fail(ctx, SHEAF_EFORMAT,
                        "input %s has no column '%s' (its header, read with --csv-header: %s)",
                        file, column, b.p ? b.p : "");
    sj_buf_free(&b);
    return rc;
}

const char *sj_field(sheaf_ctx *ctx, const sheaf_record *rec, const char *column, size_t *len,
                     int *rc) {
    *rc = 0;
    const char *f = sheaf_record_field(rec, column, len);
    if (f || !rec->nheader)
        return f;
    *rc = sj_no_column(ctx, rec->file, column, rec->header, rec->header_lens, rec->nheader);
    return NULL;
}

/* True when column is written as a column number (decimal digits only). */
static bool column_number(const char *column) {
    uint64_t v;
    return sj_parse_u64(column, &v) == 0 && v < (uint64_t)LONG_MAX;
}

int sj_check_columns(const char *job, const sheaf_config *cfg, const char *const *columns,
                     size_t n) {
    const char *f = cfg->input_format ? cfg->input_format : "lines";
    bool csv = !strcmp(f, "csv"), parquet = !strcmp(f, "parquet");
    for (size_t i = 0; cfg->input_formats && i < cfg->ninputs; i++)
        if (cfg->input_formats[i]) {
            csv = csv || !strcmp(cfg->input_formats[i], "csv");
            parquet = parquet || !strcmp(cfg->input_formats[i], "parquet");
        }
    for (size_t i = 0; i < n; i++) {
        const char *c = columns[i];
        if (!c || column_number(c) || (csv && cfg->csv_header) || parquet)
            continue;
        if (!*c)
            return sj_usage(job, "an empty column name");
        if (!csv)
            return sj_usage(job, "no column '%s': %s input has no header, so its columns are "
                                 "numbers (0 the key before the first tab, 1 the rest)", c, f);
        return sj_usage(job, "no column '%s': the input has no header (--csv-header not given), "
                             "so its columns are numbers from 0; give --csv-header if the "
                             "first line of each file names them", c);
    }
    return 0;
}

int sj_need_columns(const char *job, const sheaf_config *cfg, const char *option) {
    const char *f = cfg->input_format ? cfg->input_format : "lines";
    if (strcmp(f, "csv") && strcmp(f, "tsv") && strcmp(f, "parquet"))
        return sj_usage(job, "%s needs --input-format csv, tsv or parquet", option);
    return 0;
}

/* The real path of path, or of its deepest existing ancestor followed by the rest (a path
 * that does not exist yet), in out (PATH_MAX bytes); false when even "." cannot be resolved. */
static bool real_or_parent(const char *path, char *out) {
    if (realpath(path, out))
        return true;
    sj_buf b = {0};
    if (sj_buf_printf(&b, "%s", path))
        return false;
    char *slash = strrchr(b.p, '/');
    const char *rest = slash ? slash + 1 : b.p;
    char parent[PATH_MAX];
    bool ok = false;
    if (slash == b.p) {
        ok = snprintf(parent, sizeof parent, "/") > 0;
    } else if (slash) {
        *slash = '\0';
        ok = real_or_parent(b.p, parent);
    } else {
        ok = realpath(".", parent) != NULL;
    }
    if (ok)
        ok = snprintf(out, PATH_MAX, "%s/%s", strcmp(parent, "/") ? parent : "", rest) <
             PATH_MAX;
    sj_buf_free(&b);
    return ok;
}

/* True when path is dir or inside it (both resolved). */
static bool path_inside(const char *path, const char *dir) {
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 &&
           (path[n] == '\0' || path[n] == '/' || (n == 1 && dir[0] == '/'));
}

/* Whether the real path dir lies inside the input in as the job reads it: a pattern that names
 * no file (the runtime's rule, docs/api.md) is each of its matches. */
static bool inside_input(const char *dir, const char *in) {
    char r[PATH_MAX];
    struct stat st;
    if (!strpbrk(in, "*?[") || stat(in, &st) == 0)
        return realpath(in, r) && path_inside(dir, r);
    glob_t g = {0};
    bool hit = false;
    if (glob(in, 0, NULL, &g) == 0)
        for (size_t k = 0; k < g.gl_pathc && !hit; k++)
            hit = realpath(g.gl_pathv[k], r) && path_inside(dir, r);
    globfree(&g);
    return hit;
}

/* Rank 0's half of sj_work_open. */
static int work_open(const char *given, const sheaf_config *cfg, const char *job, sj_work *w,
                     char *msg, size_t msglen) {
    int rc = sheaf_output_check(cfg, msg, msglen);
    if (rc)
        return rc;
    size_t n = strlen(cfg->output);
    while (n > 1 && cfg->output[n - 1] == '/')
        n--;
    sj_buf parent = {0}, prefix = {0};
    if (given) {
        rc = sj_buf_printf(&parent, "%s", given) || sj_buf_printf(&prefix, "%s.work-", job);
    } else {
        const char *slash = memrchr(cfg->output, '/', n);
        size_t pl = slash ? (size_t)(slash - cfg->output) : 0;
        rc = slash ? sj_buf_printf(&parent, "%.*s", (int)(pl ? pl : 1), cfg->output)
                   : sj_buf_printf(&parent, ".");
        if (!rc) {
            const char *b = slash ? slash + 1 : cfg->output;
            rc = sj_buf_printf(&prefix, "%.*s.work-%s-", (int)(cfg->output + n - b), b, job);
        }
    }
    if (rc) {
        sj_buf_free(&parent);
        sj_buf_free(&prefix);
        snprintf(msg, msglen, "out of memory");
        return SHEAF_ENOMEM;
    }
    struct stat st;
    char rpar[PATH_MAX], r[PATH_MAX];
    if (given && stat(given, &st) != 0) {
        if (mkdir(given, 0700) != 0) {
            snprintf(msg, msglen, "--work-dir %s: %s", given, strerror(errno));
            rc = SHEAF_EUSAGE;
        } else {
            w->made_parent = true;
        }
    } else if (given && !S_ISDIR(st.st_mode)) {
        snprintf(msg, msglen, "--work-dir %s is not a directory", given);
        rc = SHEAF_EUSAGE;
    }
    if (!rc && real_or_parent(parent.p, rpar)) {
        /* Never inside an input (it would be read, or hold what is read) or the output. */
        for (size_t i = 0; i < cfg->ninputs && !rc; i++) {
            if (inside_input(rpar, cfg->inputs[i])) {
                snprintf(msg, msglen, "%s %s is the input %s or inside it",
                         given ? "--work-dir" : "the output's directory", parent.p,
                         cfg->inputs[i]);
                rc = SHEAF_EUSAGE;
            }
        }
        if (!rc && real_or_parent(cfg->output, r) && path_inside(rpar, r)) {
            snprintf(msg, msglen, "--work-dir %s is the output %s or inside it", parent.p,
                     cfg->output);
            rc = SHEAF_EUSAGE;
        }
    }
    if (!rc && !given && stat(parent.p, &st) != 0 && sj_mkdirs(parent.p) != 0) {
        snprintf(msg, msglen, "cannot create %s: %s", parent.p, strerror(errno));
        rc = SHEAF_EIO;
    }
    if (!rc && (rc = sheaf_workdir_create(parent.p, prefix.p, w->path, sizeof w->path)))
        snprintf(msg, msglen, "cannot create a work directory in %s: %s", parent.p,
                 strerror(errno));
    if (rc && w->made_parent)
        rmdir(given);
    if (!rc && given)
        w->given = given;
    if (rc)
        w->path[0] = '\0';
    sj_buf_free(&parent);
    sj_buf_free(&prefix);
    return rc;
}

int sj_work_open(MPI_Comm comm, const char *given, const sheaf_config *cfg, const char *job,
                 sj_work *w, sheaf_result *res) {
    memset(w, 0, sizeof *w);
    int rank;
    MPI_Comm_rank(comm, &rank);
    char msg[1024] = "";
    int rc = rank == 0 ? work_open(given, cfg, job, w, msg, sizeof msg) : 0;
    MPI_Bcast(&rc, 1, MPI_INT, 0, comm);
    MPI_Bcast(msg, sizeof msg, MPI_CHAR, 0, comm);
    MPI_Bcast(w->path, sizeof w->path, MPI_CHAR, 0, comm);
    if (!rc)
        return 0;
    memset(res, 0, sizeof *res);
    res->failed_rank = -1;
    return sj_result_fail(res, rc, "%s", msg);
}

int sj_work_sub(const sj_work *w, const char *name, sj_buf *out) {
    out->len = 0;
    return sj_buf_printf(out, "%s/%s", w->path, name);
}

void sj_work_close(MPI_Comm comm, sj_work *w, bool keep, const char *job, bool quiet) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    MPI_Barrier(comm);
    if (rank != 0 || !w->path[0])
        return;
    sheaf_workdir_remove(w->path, keep);
    if (keep && !quiet)
        fprintf(stderr, "sheaf %s: work directory kept: %s\n", job, w->path);
    if (!keep && w->made_parent)
        rmdir(w->given);
    w->path[0] = '\0';
}

int sj_final_round(MPI_Comm comm, const sheaf_job_def *job, const sheaf_config *cfg,
                   const char *const *inputs, size_t ninputs, sheaf_result *res) {
    sheaf_config c = *cfg;
    c.inputs = inputs;
    c.ninputs = ninputs;
    return sheaf_run(comm, job, &c, res);
}

int sj_mkdirs(const char *path) {
    sj_buf b = {0};
    if (sj_buf_printf(&b, "%s", path))
        return -1;
    int rc = 0;
    for (char *p = b.p + 1; *p && !rc; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        rc = mkdir(b.p, 0755) != 0 && errno != EEXIST;
        *p = '/';
    }
    if (!rc)
        rc = mkdir(b.p, 0755) != 0 && errno != EEXIST;
    sj_buf_free(&b);
    return rc ? -1 : 0;
}
