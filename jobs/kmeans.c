/*
 * kmeans.c: k-means clustering (Lloyd's algorithm) of numeric csv rows.
 *
 *   sheaf kmeans --k 5 --iterations 20 [--columns x,y] [--init FILE] [--tolerance T]
 *                -i points.csv --input-format csv [--csv-header] -o OUT
 *
 * A point is a row's --columns (names or indexes; default: every field); rows with a field
 * that is not a number, or with another number of fields than the centroids, are skipped and
 * counted in the user counter "rows skipped". Distance is Euclidean; a point goes to the
 * nearest centroid, the lowest-numbered one on a tie.
 *
 * Initial centroids: --init FILE (k lines of comma-separated coordinates), or the k rows whose
 * seeded hash (--seed) is smallest, found by a first round: the choice depends on the data and
 * the seed only, never on the rank count. Each iteration is one MapReduce round: every rank
 * adds up its points per centroid in memory as it maps and emits one partial sum per centroid
 * (map_cleanup), so the shuffle carries k records per rank; the single reducer divides. The
 * driver reads the new centroids (rank 0, from the round's output in its fresh work directory,
 * OUT.work-kmeans-XXXXXX or one inside --work-dir) and sends them to every rank with
 * MPI_Bcast before the next round. A
 * centroid that gets no point stays where it was. With --tolerance T the rounds stop early
 * once no centroid moves more than T; the last round writes OUT.
 *
 * Output: `cluster<TAB>count<TAB>c1,c2,...` for clusters 0..k-1: the number of points of the
 * final assignment and the centroid computed from them, numbers in the shortest exact form.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

typedef struct km_opts {
    uint64_t k, iterations;
    double tol;
    char **cols;
    size_t ncols;
    const char *init;
    const char *work;
    size_t d;          /* dimensions; 0 until known */
    double *cent;      /* k x d */
    double *sums;      /* per rank: k x d */
    uint64_t *counts;  /* per rank: k */
    double *pt;
    size_t ptcap;
    uint64_t skipped;
    int mode;          /* 0: init round, 1: iteration */
    uint64_t seed;
    /* init round: this rank's k smallest (hash, row) */
    uint64_t *ih;
    sj_buf *irow;
    size_t in;
    sj_buf tmp;
} km_opts;

static km_opts kopts = {.k = 2, .iterations = 10};

static int km_parse(void *udata, const char *name, const char *value) {
    km_opts *o = udata;
    if (!name)
        return -1;
    if (!strcmp(name, "k"))
        return sj_parse_u64(value, &o->k) || o->k == 0 || o->k > 100000 ? -1 : 0;
    if (!strcmp(name, "iterations"))
        return sj_parse_u64(value, &o->iterations) || o->iterations == 0 ? -1 : 0;
    if (!strcmp(name, "tolerance"))
        return sj_parse_double(value, &o->tol) || o->tol < 0 ? -1 : 0;
    if (!strcmp(name, "columns"))
        return sj_split(value, ',', &o->cols, &o->ncols) ? -1 : 0;
    if (!strcmp(name, "init"))
        o->init = value;
    else if (!strcmp(name, "work-dir"))
        o->work = value;
    else
        return -1;
    return 0;
}

static int km_configure(void *udata, sheaf_config *cfg) {
    km_opts *o = udata;
    if (sj_need_columns("kmeans", cfg, "kmeans") ||
        sj_check_columns("kmeans", cfg, (const char *const *)o->cols, o->ncols))
        return -1;
    cfg->reducers = 1;
    o->seed = cfg->seed;
    if (o->init) { /* read, never written: guarded as an input */
        cfg->side_inputs = &o->init;
        cfg->nside_inputs = 1;
    }
    return 0;
}

/* Parses a row into o->pt. Returns the dimension count, or 0 when the row is not a point. */
static size_t point_of(sheaf_ctx *ctx, const sheaf_record *rec, km_opts *o, int *rc) {
    size_t n = o->ncols ? o->ncols : rec->nfields;
    *rc = 0;
    if (n > o->ptcap) {
        double *p = realloc(o->pt, n * sizeof *p);
        if (!p) {
            *rc = SHEAF_ENOMEM;
            return 0;
        }
        o->pt = p;
        o->ptcap = n;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        const char *f = NULL;
        if (o->ncols) {
            f = sj_field(ctx, rec, o->cols[i], &len, rc);
        } else if (i < rec->nfields) {
            f = rec->fields[i];
            len = rec->field_lens[i];
        }
        if (!f || sj_field_double(f, len, &o->pt[i]))
            return 0;
    }
    return n;
}

static int km_setup(sheaf_ctx *ctx, void *udata) {
    km_opts *o = udata;
    (void)ctx;
    o->skipped = 0;
    o->in = 0;
    if (o->mode == 0) {
        if (!o->ih) {
            o->ih = calloc((size_t)o->k, sizeof *o->ih);
            o->irow = calloc((size_t)o->k, sizeof *o->irow);
            if (!o->ih || !o->irow)
                return SHEAF_ENOMEM;
        }
        return 0;
    }
    free(o->sums);
    free(o->counts);
    o->sums = calloc((size_t)o->k * o->d + 1, sizeof *o->sums);
    o->counts = calloc((size_t)o->k + 1, sizeof *o->counts);
    return o->sums && o->counts ? 0 : SHEAF_ENOMEM;
}

/* Formats o->pt[0..n) as c1,c2,... into b (appending). */
static int fmt_point(sj_buf *b, const double *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char num[64];
        sj_fmt_double(num, sizeof num, p[i]);
        if ((i && sj_buf_addc(b, ',')) || sj_buf_add(b, num, strlen(num)))
            return SHEAF_ENOMEM;
    }
    return 0;
}

static int init_map(sheaf_ctx *ctx, const sheaf_record *rec, km_opts *o) {
    int rc;
    size_t n = point_of(ctx, rec, o, &rc);
    if (!n) {
        o->skipped++;
        return rc;
    }
    o->tmp.len = 0;
    if (fmt_point(&o->tmp, o->pt, n))
        return SHEAF_ENOMEM;
    uint64_t h = sheaf_hash(o->tmp.p, o->tmp.len, o->seed);
    /* keep the k smallest (hash, text); replace the largest when full */
    size_t slot = o->in;
    if (o->in == o->k) {
        slot = 0;
        for (size_t i = 1; i < o->in; i++)
            if (o->ih[i] > o->ih[slot])
                slot = i;
        if (h >= o->ih[slot])
            return 0;
    } else {
        o->in++;
    }
    o->ih[slot] = h;
    o->irow[slot].len = 0;
    return sj_buf_add(&o->irow[slot], o->tmp.p, o->tmp.len);
}

static int km_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    km_opts *o = udata;
    if (o->mode == 0)
        return init_map(ctx, rec, o);
    int rc;
    size_t n = point_of(ctx, rec, o, &rc);
    if (n != o->d) {
        o->skipped++;
        return rc;
    }
    size_t best = 0;
    double bd = INFINITY;
    for (size_t c = 0; c < o->k; c++) {
        double s = 0;
        for (size_t j = 0; j < n; j++) {
            double t = o->pt[j] - o->cent[c * n + j];
            s += t * t;
        }
        if (s < bd) {
            bd = s;
            best = c;
        }
    }
    o->counts[best]++;
    for (size_t j = 0; j < n; j++)
        o->sums[best * n + j] += o->pt[j];
    return 0;
}

static int km_map_cleanup(sheaf_ctx *ctx, void *udata) {
    km_opts *o = udata;
    int rc = o->skipped ? sheaf_counter_add(ctx, "rows skipped", (int64_t)o->skipped) : 0;
    if (o->mode == 0) {
        for (size_t i = 0; i < o->in && !rc; i++) {
            unsigned char key[8];
            sheaf_key_u64(o->ih[i], key);
            o->tmp.len = 0;
            if ((sj_buf_add(&o->tmp, key, 8) ||
                        sj_buf_add(&o->tmp, o->irow[i].p, o->irow[i].len)))
                rc = SHEAF_ENOMEM;
            if (!rc)
                rc = sheaf_emit(ctx, "i", 1, o->tmp.p, o->tmp.len);
        }
        return rc;
    }
    for (size_t c = 0; c < o->k && !rc; c++) {
        if (!o->counts[c] && sheaf_rank(ctx) != 0)
            continue; /* rank 0 sends every cluster, so empty ones reach the reducer */
        unsigned char key[8];
        sheaf_key_u64(c, key);
        o->tmp.len = 0;
        if (sj_buf_add(&o->tmp, &o->counts[c], 8) ||
            sj_buf_add(&o->tmp, &o->sums[c * o->d], o->d * sizeof(double)))
            return SHEAF_ENOMEM;
        rc = sheaf_emit(ctx, key, 8, o->tmp.p, o->tmp.len);
    }
    return rc;
}

typedef struct cand {
    const char *p;
    size_t len;
} cand;

static int cand_cmp(const void *a, const void *b) {
    const cand *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int km_reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                     void *udata) {
    km_opts *o = udata;
    const void *v;
    size_t vlen;
    if (o->mode == 0) {
        if (klen != 1)
            return 0;
        /* every rank's candidates: 8-byte hash then the text; keep the k smallest */
        sj_buf all = {0};
        size_t n = 0, cap = 0;
        cand *c = NULL;
        int rc = 0;
        while (!rc && sheaf_values_next(vals, &v, &vlen)) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                cand *nc = realloc(c, cap * sizeof *nc);
                if (!nc) {
                    rc = SHEAF_ENOMEM;
                    break;
                }
                c = nc;
            }
            c[n].p = (const char *)(uintptr_t)all.len;
            c[n++].len = vlen;
            if (sj_buf_add(&all, v, vlen))
                rc = SHEAF_ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
            c[i].p = all.p + (uintptr_t)c[i].p;
        if (n)
            qsort(c, n, sizeof *c, cand_cmp);
        for (size_t i = 0, out = 0; i < n && out < o->k && !rc; i++) {
            if (i && !cand_cmp(&c[i], &c[i - 1]))
                continue;
            char idx[32];
            int il = snprintf(idx, sizeof idx, "%zu", out++);
            rc = sheaf_emit(ctx, idx, (size_t)il, c[i].p + 8, c[i].len - 8);
        }
        free(c);
        sj_buf_free(&all);
        return rc;
    }
    uint64_t cl = klen == 8 ? sheaf_key_to_u64(key) : 0, count = 0;
    double *sum = calloc(o->d ? o->d : 1, sizeof *sum);
    if (!sum)
        return SHEAF_ENOMEM;
    while (sheaf_values_next(vals, &v, &vlen)) {
        if (vlen != 8 + o->d * sizeof(double))
            continue;
        uint64_t cn;
        memcpy(&cn, v, 8);
        count += cn;
        for (size_t j = 0; j < o->d; j++) {
            double x;
            memcpy(&x, (const char *)v + 8 + j * sizeof(double), sizeof x);
            sum[j] += x;
        }
    }
    for (size_t j = 0; j < o->d && cl < o->k; j++)
        sum[j] = count ? sum[j] / (double)count : o->cent[cl * o->d + j];
    o->tmp.len = 0;
    int rc = sj_buf_printf(&o->tmp, "%llu\t", (unsigned long long)count) ||
                     fmt_point(&o->tmp, sum, o->d)
                 ? SHEAF_ENOMEM
                 : 0;
    free(sum);
    char idx[32];
    int il = snprintf(idx, sizeof idx, "%llu", (unsigned long long)cl);
    return rc ? rc : sheaf_emit(ctx, idx, (size_t)il, o->tmp.p, o->tmp.len);
}

/* Reading centroids back (rank 0). Lines: `i<TAB>c1,c2,...` (init) or `i<TAB>n<TAB>c...`. */
typedef struct reader {
    km_opts *o;
    double *cent;
    size_t rows, d;
    bool bad;
} reader;

static int parse_coords(const char *s, double *out, size_t max, size_t *n) {
    *n = 0;
    for (;;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        double x;
        if (*n >= max || sj_field_double(s, len, &x))
            return -1;
        out[(*n)++] = x;
        if (!e)
            return 0;
        s = e + 1;
    }
}

static int read_cent(void *arg, char *line, size_t len) {
    reader *r = arg;
    (void)len;
    if (!*line)
        return 0;
    char *t1 = strchr(line, '\t');
    if (!t1)
        return r->bad = true, 0;
    uint64_t idx = strtoull(line, NULL, 10);
    char *coords = t1 + 1;
    if (r->o->mode == 1) {
        char *t2 = strchr(coords, '\t');
        if (!t2)
            return r->bad = true, 0;
        coords = t2 + 1;
    }
    double tmp[4096];
    size_t n;
    if (parse_coords(coords, tmp, 4096, &n) || idx >= r->o->k)
        return r->bad = true, 0;
    if (!r->d) {
        r->d = n;
        r->cent = calloc((size_t)r->o->k * n, sizeof *r->cent);
        if (!r->cent)
            return SHEAF_ENOMEM;
    }
    if (n != r->d)
        return r->bad = true, 0;
    memcpy(r->cent + idx * n, tmp, n * sizeof *tmp);
    r->rows++;
    return 0;
}

/* Rank 0 reads centroids from dir (or the --init file) and every rank gets them. Collective. */
static int load_centroids(MPI_Comm comm, km_opts *o, const char *dir, const char *file,
                          sheaf_result *res) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    reader r = {.o = o};
    int rc = 0;
    char msg[1024] = "";
    if (rank == 0) {
        if (file) {
            char *data;
            size_t len;
            rc = sj_read_file(file, &data, &len);
            if (rc) {
                snprintf(msg, sizeof msg, "cannot read --init %s: %s", file,
                         rc == SHEAF_EINVAL ? "not a regular file" : sheaf_strerror(rc));
            } else {
                int saved = o->mode;
                o->mode = 0;
                size_t idx = 0, off = 0;
                while (off < len && !rc) {
                    char *nl = memchr(data + off, '\n', len - off);
                    size_t e = nl ? (size_t)(nl - data) : len;
                    data[e < len ? e : len] = '\0';
                    if (e > off && data[e - 1] == '\r')
                        data[e - 1] = '\0';
                    if (data[off]) {
                        sj_buf l = {0};
                        rc = sj_buf_printf(&l, "%zu\t%s", idx++, data + off);
                        if (!rc)
                            rc = read_cent(&r, l.p, l.len);
                        sj_buf_free(&l);
                    }
                    off = e + 1;
                }
                o->mode = saved;
                free(data);
                if (!rc && (r.bad || r.rows != o->k)) {
                    snprintf(msg, sizeof msg, "--init %s: need %llu lines of numbers, one "
                             "centroid each", file, (unsigned long long)o->k);
                    rc = SHEAF_EUSAGE;
                }
            }
        } else {
            rc = sj_each_output_line(dir, read_cent, &r);
            if (!rc && r.bad) {
                snprintf(msg, sizeof msg, "bad centroid line in %s", dir);
                rc = SHEAF_EIO;
            }
        }
    }
    if ((rc = sheaf_agree(comm, rc, msg, sizeof msg))) {
        free(r.cent);
        return sj_result_fail(res, rc, "%s", msg[0] ? msg : "cannot read the centroids");
    }
    unsigned long long dims[2] = {r.d, r.rows};
    MPI_Bcast(dims, 2, MPI_UNSIGNED_LONG_LONG, 0, comm);
    if (dims[1] == 0) { /* no points at all */
        free(r.cent);
        return 1;
    }
    if (o->mode == 0 && dims[1] < o->k)
        o->k = dims[1]; /* fewer distinct points than k */
    if (rank != 0)
        r.cent = calloc((size_t)o->k * (size_t)dims[0], sizeof *r.cent);
    if (!r.cent)
        return sj_result_fail(res, SHEAF_ENOMEM, "out of memory");
    MPI_Bcast(r.cent, (int)(o->k * dims[0]), MPI_DOUBLE, 0, comm);
    free(o->cent);
    o->cent = r.cent;
    o->d = (size_t)dims[0];
    return 0;
}

static int km_run(MPI_Comm comm, const sheaf_command *cmd, const sheaf_config *cfg,
                  sheaf_result *res) {
    km_opts *o = cmd->udata;
    sj_work w;
    int rc = sj_work_open(comm, o->work, cfg, "kmeans", &w, res);
    if (rc)
        return rc;
    sj_buf work = {0};
    if (sj_work_sub(&w, "centroids", &work)) {
        sj_work_close(comm, &w, false, "kmeans", cfg->quiet);
        return sj_result_fail(res, SHEAF_ENOMEM, "out of memory");
    }
    bool empty = false;
    if (o->init) {
        o->mode = 1;
        rc = load_centroids(comm, o, NULL, o->init, res);
    } else {
        o->mode = 0;
        rc = sj_round(comm, cmd->job, cfg, cfg->inputs, cfg->ninputs, work.p, res);
        if (!rc) {
            rc = load_centroids(comm, o, work.p, NULL, res);
            o->mode = 1;
        }
    }
    if (rc == 1) { /* no points: one round writes an empty OUT */
        empty = true;
        rc = 0;
        o->d = 0;
        o->k = 0;
    }
    double *prev = NULL;
    for (uint64_t it = 1; it <= o->iterations && !rc; it++) {
        bool last = it == o->iterations || empty;
        if (last) {
            sheaf_config c = *cfg;
            o->mode = 1;
            rc = sheaf_run(comm, cmd->job, &c, res);
            break;
        }
        rc = sj_round(comm, cmd->job, cfg, cfg->inputs, cfg->ninputs, work.p, res);
        free(prev);
        prev = malloc((size_t)o->k * o->d * sizeof *prev);
        if (!prev)
            rc = SHEAF_ENOMEM;
        if (rc)
            break;
        memcpy(prev, o->cent, (size_t)o->k * o->d * sizeof *prev);
        if ((rc = load_centroids(comm, o, work.p, NULL, res)))
            break;
        if (o->tol > 0) {
            double shift = 0;
            for (size_t c = 0; c < o->k; c++) {
                double s = 0;
                for (size_t j = 0; j < o->d; j++) {
                    double t = o->cent[c * o->d + j] - prev[c * o->d + j];
                    s += t * t;
                }
                shift = sqrt(s) > shift ? sqrt(s) : shift;
            }
            if (shift <= o->tol)
                it = o->iterations - 1; /* converged: the next round is the last */
        }
    }
    free(prev);
    sj_work_close(comm, &w, false, "kmeans", cfg->quiet);
    sj_buf_free(&work);
    return rc;
}

static const sheaf_option km_options[] = {
    {"k", "K", "number of clusters (default 2)"},
    {"iterations", "N", "Lloyd rounds (default 10); the last one writes OUT"},
    {"columns", "COLS", "the point's columns, comma-separated (default: every field)"},
    {"init", "FILE", "initial centroids, one comma-separated line each (default: seeded)"},
    {"tolerance", "T", "stop once no centroid moves more than T (default: run all rounds)"},
    {"work-dir", "DIR", "work in a fresh directory inside DIR (default: beside OUT)"},
    {NULL, NULL, NULL},
};

static const sheaf_job_def kmeans_job = {
    .name = "kmeans",
    .map = km_map,
    .map_cleanup = km_map_cleanup,
    .reduce = km_reduce,
    .setup = km_setup,
    .udata = &kopts,
};

const sheaf_command sheaf_cmd_kmeans = {
    .name = "kmeans",
    .summary = "k-means of numeric csv rows: cluster TAB count TAB centroid",
    .options = km_options,
    .parse_option = km_parse,
    .configure = km_configure,
    .udata = &kopts,
    .job = &kmeans_job,
    .run = km_run,
};
