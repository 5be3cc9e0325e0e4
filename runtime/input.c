/*
 * input.c: input discovery and split planning (rank 0), and the plan's broadcast.
 *
 * An input is a file, a directory (walked recursively, in name order) or a glob. Inside a
 * directory, names starting with '_' or '.' are skipped, as Hadoop does (_SUCCESS, .crc). A
 * path named explicitly is always read. Anything that is not a regular file (a FIFO, a device)
 * is an error, as is an input that matches nothing or a directory that holds no files.
 *
 * A regular file's size and modification time are taken at planning (one stat each) and go
 * with the plan, so that the reader can tell a file that changed under the job (see
 * sheaf__reader_open_split). A regular file whose size is 0 is opened and one byte read:
 * files of /proc and /sys say 0 but have contents, and such an unsized file is one split that
 * is read to its end.
 *
 * Each file is cut into splits of at most split_size bytes; for fixed-length records the cut
 * points are multiples of the record length. Splits of small files are packed into one task
 * until the task reaches split_size, so ten thousand tiny files are not ten thousand tasks.
 * Tasks are ordered largest first, which is the order dynamic scheduling hands them out in.
 *
 * A compressed file (codec.h) cannot be cut: it is one split, whatever its size. Its size on
 * disk understates its work, so for packing and ordering it counts CODEC_WEIGHT times its
 * compressed size (a rough decompressed size), and a large .gz starts early rather than last.
 *
 * Pruning: for a Parquet file under Hive-style partition folders (NAME=VALUE in its path) the
 * job's prune callback (sheaf_config.prune) is given the folders' names and values; a file it
 * rules out is dropped from the plan unopened and counted (plan->pruned).
 */
#include "codec.h"
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a compressed byte counts for in task sizes: text compresses three to five times. */
#define CODEC_WEIGHT 4

typedef struct {
    char **files;
    uint64_t *sizes;
    int64_t *mtimes;
    uint8_t *unsized;
    uint32_t *origin; /* the input (-i) each file came from */
    uint32_t cur;
    size_t n, cap;
} filelist;

static int add_file(filelist *fl, const char *path, const struct stat *st, bool unsized) {
    if (fl->n == fl->cap) {
        size_t cap = fl->cap ? fl->cap * 2 : 64;
        char **f = realloc(fl->files, cap * sizeof *f);
        if (!f)
            return SHEAF_ENOMEM;
        fl->files = f;
        uint64_t *s = realloc(fl->sizes, cap * sizeof *s);
        if (!s)
            return SHEAF_ENOMEM;
        fl->sizes = s;
        int64_t *m = realloc(fl->mtimes, cap * sizeof *m);
        if (!m)
            return SHEAF_ENOMEM;
        fl->mtimes = m;
        uint8_t *u = realloc(fl->unsized, cap * sizeof *u);
        if (!u)
            return SHEAF_ENOMEM;
        fl->unsized = u;
        uint32_t *o = realloc(fl->origin, cap * sizeof *o);
        if (!o)
            return SHEAF_ENOMEM;
        fl->origin = o;
        fl->cap = cap;
    }
    if (!(fl->files[fl->n] = strdup(path)))
        return SHEAF_ENOMEM;
    fl->origin[fl->n] = fl->cur;
    fl->mtimes[fl->n] = sheaf__mtime_ns(st);
    fl->unsized[fl->n] = unsized;
    fl->sizes[fl->n++] = unsized ? 0 : (uint64_t)st->st_size;
    return 0;
}

int64_t sheaf__mtime_ns(const struct stat *st) {
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + (int64_t)st->st_mtim.tv_nsec;
}

/* A regular file of size 0: 1 when it has bytes nonetheless (an unsized /proc file), 0 when
 * it is empty, or a negative code with a message. Opened without blocking, should it have
 * become something else since its stat. */
static int probe_unsized(const char *path, char *err, size_t errlen) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open input %s: %s", path, strerror(errno));
        return errno == ENOENT ? SHEAF_ENOENT : SHEAF_EIO;
    }
    struct stat st;
    uint8_t c;
    ssize_t n = 0;
    int rc = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "input %s: not a regular file or directory", path);
        rc = SHEAF_EINVAL;
    } else {
        while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
            ;
        if (n < 0) {
            snprintf(err, errlen, "cannot read input %s at offset 0: %s", path, strerror(errno));
            rc = SHEAF_EIO;
        }
    }
    close(fd);
    return rc ? rc : n == 1;
}

static int name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(filelist *fl, const char *path, bool top, char *err, size_t errlen) {
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "input %s: %s", path, strerror(errno));
        return errno == ENOENT ? SHEAF_ENOENT : SHEAF_EIO;
    }
    if (S_ISREG(st.st_mode)) {
        int unsized = st.st_size == 0 ? probe_unsized(path, err, errlen) : 0;
        return unsized < 0 ? unsized : add_file(fl, path, &st, unsized == 1);
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "input %s: not a regular file or directory", path);
        return SHEAF_EINVAL;
    }
    DIR *d = opendir(path);
    if (!d) {
        snprintf(err, errlen, "input %s: %s", path, strerror(errno));
        return SHEAF_EIO;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || e->d_name[0] == '_')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = SHEAF_ENOMEM;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = SHEAF_ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (!rc && n)
        qsort(names, n, sizeof *names, name_cmp);
    size_t before = fl->n;
    for (size_t i = 0; i < n && !rc; i++) {
        char *child;
        size_t pl = strlen(path);
        if (asprintf(&child, "%s%s%s", path, pl && path[pl - 1] == '/' ? "" : "/", names[i]) < 0) {
            rc = SHEAF_ENOMEM;
            break;
        }
        rc = walk(fl, child, false, err, errlen);
        free(child);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (!rc && top && fl->n == before) {
        snprintf(err, errlen, "input %s: directory holds no input files", path);
        rc = SHEAF_ENOENT;
    }
    return rc;
}

/* A split's work in bytes: its length, or CODEC_WEIGHT times it for a compressed file. */
static uint64_t split_cost(const sheaf__plan *plan, size_t i) {
    const sheaf__split *sp = &plan->splits[i];
    bool packed = sheaf__codec_by_name(plan->files[sp->file]) != SHEAF__CODEC_NONE;
    return packed ? sp->len * CODEC_WEIGHT : sp->len;
}

static bool has_glob(const char *s) {
    return strpbrk(s, "*?[") != NULL;
}

bool sheaf__input_is_glob(const char *in) {
    struct stat st;
    return has_glob(in) && stat(in, &st) != 0;
}

/* ---- pruning by partition folders ---- */

/* Asks cfg->prune about a file under partition folders: 1 to skip it, 0 to read it (no
 * folders), or a negative code with err set. */
static int pruned(const sheaf_config *cfg, const char *path, char *err, size_t errlen) {
    char **kv = NULL;
    size_t nkv = 0;
    int out = 0;
    if (sheaf__hive_folders(path, &kv, &nkv)) {
        snprintf(err, errlen, "out of memory planning %s", path);
        out = SHEAF_ENOMEM;
    }
    if (!out && nkv) {
        out = cfg->prune(cfg->prune_arg, path, (const char *const *)kv, nkv);
        if (out < 0)
            snprintf(err, errlen, "%s: pruning by its partition folders failed: %s", path,
                     sheaf_strerror(out));
        else
            out = out > 0;
    }
    for (size_t k = 0; k < 2 * nkv; k++)
        free(kv[k]);
    free(kv);
    return out;
}

/* Adds the files of one input (-i): a glob when it has glob characters and names no file,
 * else a file or a directory. Returns 0 or a negative code with a message. */
static int expand(filelist *fl, const char *in, char *err, size_t errlen) {
    if (!sheaf__input_is_glob(in))
        return walk(fl, in, true, err, errlen);
    glob_t g;
    int rc = 0, gr = glob(in, 0, NULL, &g);
    if (gr == GLOB_NOMATCH) {
        snprintf(err, errlen, "input %s: no file matches", in);
        rc = SHEAF_ENOENT;
    } else if (gr != 0) {
        snprintf(err, errlen, "input %s: cannot expand the pattern", in);
        rc = SHEAF_EIO;
    } else {
        for (size_t k = 0; k < g.gl_pathc && !rc; k++)
            rc = walk(fl, g.gl_pathv[k], true, err, errlen);
    }
    globfree(&g);
    return rc;
}

static void filelist_free(filelist *fl) {
    for (size_t i = 0; i < fl->n; i++)
        free(fl->files[i]);
    free(fl->files);
    free(fl->sizes);
    free(fl->mtimes);
    free(fl->unsized);
    free(fl->origin);
}

SHEAF_EXTERN int sheaf_list_inputs(const char *path, char ***files, size_t *n, char *err,
                                   size_t errlen) {
    filelist fl = {0};
    char why[512];
    int rc = path ? expand(&fl, path, why, sizeof why) : SHEAF_EINVAL;
    if (rc) {
        if (err && errlen)
            snprintf(err, errlen, "%s", path ? why : "no path given");
        filelist_free(&fl);
        return rc;
    }
    *files = fl.files;
    *n = fl.n;
    fl.files = NULL;
    fl.n = 0;
    filelist_free(&fl);
    return 0;
}

SHEAF_EXTERN void sheaf_list_free(char **files, size_t n) {
    for (size_t i = 0; files && i < n; i++)
        free(files[i]);
    free(files);
}

int sheaf__plan_build(const sheaf_config *cfg, const sheaf__format *fmt, int nranks,
                      sheaf__plan *plan, char *err, size_t errlen) {
    return sheaf__plan_build_multi(cfg, fmt, 1, nranks, plan, err, errlen);
}

int sheaf__plan_build_multi(const sheaf_config *cfg, const sheaf__format *fmts, size_t nfmts,
                            int nranks, sheaf__plan *plan, char *err, size_t errlen) {
    memset(plan, 0, sizeof *plan);
    filelist fl = {0};
    int rc = 0;
    if (cfg->ninputs == 0) {
        snprintf(err, errlen, "no input given (-i PATH)");
        return SHEAF_EUSAGE;
    }
    for (size_t i = 0; i < cfg->ninputs && !rc; i++) {
        fl.cur = (uint32_t)i;
        rc = expand(&fl, cfg->inputs[i], err, errlen);
    }
    /* Parquet files under partition folders that a condition rules out are not read. */
    uint8_t *drop = !rc && cfg->prune && fl.n ? calloc(fl.n, 1) : NULL;
    if (!rc && cfg->prune && fl.n && !drop) {
        snprintf(err, errlen, "out of memory planning the input");
        rc = SHEAF_ENOMEM;
    }
    for (size_t i = 0; drop && !rc && i < fl.n; i++) {
        const sheaf__format *fmt = &fmts[nfmts > 1 ? fl.origin[i] : 0];
        int p = fmt->kind == SHEAF__FMT_PARQUET ? pruned(cfg, fl.files[i], err, errlen) : 0;
        if (p < 0)
            rc = p;
        drop[i] = p > 0;
    }
    if (drop && !rc) {
        size_t k = 0;
        for (size_t i = 0; i < fl.n; i++) {
            if (drop[i]) {
                free(fl.files[i]);
                plan->pruned++;
                continue;
            }
            fl.files[k] = fl.files[i];
            fl.sizes[k] = fl.sizes[i];
            fl.mtimes[k] = fl.mtimes[i];
            fl.unsized[k] = fl.unsized[i];
            fl.origin[k] = fl.origin[i];
            k++;
        }
        fl.n = k;
    }
    free(drop);
    plan->files = fl.files;
    plan->sizes = fl.sizes;
    plan->mtimes = fl.mtimes;
    plan->unsized = fl.unsized;
    plan->origin = fl.origin;
    plan->nfiles = fl.n;
    if (rc)
        return rc;

    /* The default split size is 64 MiB, or less so that every rank gets eight tasks or more
     * (never below 1 MiB): one large file must not be mapped by a single rank, and a rank
     * slowed down by its neighbours hands over work in small enough pieces. */
    uint64_t ss = cfg->split_size;
    if (!ss) {
        uint64_t total = 0;
        for (size_t i = 0; i < fl.n; i++)
            total += fl.sizes[i];
        ss = total / ((uint64_t)SHEAF__MAX(nranks, 1) * 8);
        ss = SHEAF__MIN(SHEAF__MAX(ss, 1ull << 20), 64ull << 20);
    }
    uint64_t pack = ss;
    plan->split_size = ss;
    /* Each file splits by its input's format: fixed-length records at multiples of N, the
     * others anywhere (csv with quoted newlines too: csvsplit.c). */
    for (size_t i = 0; i < fl.n; i++) {
        const sheaf__format *fmt = &fmts[nfmts > 1 ? fl.origin[i] : 0];
        if (fmt->kind == SHEAF__FMT_FIXED && fl.sizes[i] % fmt->reclen &&
            sheaf__codec_by_name(fl.files[i]) == SHEAF__CODEC_NONE) {
            snprintf(err, errlen, "input %s: size %llu is not a multiple of the record length %llu",
                     fl.files[i], (unsigned long long)fl.sizes[i],
                     (unsigned long long)fmt->reclen);
            return SHEAF_EFORMAT;
        }
    }
    size_t cap = 0;
    for (size_t i = 0; i < fl.n; i++)
        cap += fl.sizes[i] / ss + 1;
    plan->splits = calloc(cap ? cap : 1, sizeof *plan->splits);
    plan->tasks = calloc(cap ? cap : 1, sizeof *plan->tasks);
    if (!plan->splits || !plan->tasks)
        return SHEAF_ENOMEM;
    for (size_t i = 0; i < fl.n; i++) {
        const sheaf__format *fmt = &fmts[nfmts > 1 ? fl.origin[i] : 0];
        uint64_t size = fl.sizes[i], fss = ss;
        if (fmt->kind == SHEAF__FMT_FIXED)
            fss = (ss + fmt->reclen - 1) / fmt->reclen * fmt->reclen;
        if (sheaf__codec_by_name(fl.files[i]) != SHEAF__CODEC_NONE)
            fss = UINT64_MAX / 2; /* compressed: the file is one split */
        plan->total_bytes += size;
        if (fmt->kind == SHEAF__FMT_PARQUET) { /* a split per row group */
            int prc = sheaf__pq_plan_file(fl.files[i], (uint32_t)i, &plan->splits, &plan->nsplits,
                                          &cap, &plan->tasks, err, errlen);
            if (prc)
                return prc;
            continue;
        }
        if (fl.unsized[i]) { /* one split, read to the end of the file */
            sheaf__split *sp = &plan->splits[plan->nsplits++];
            sp->file = (uint32_t)i;
            sp->start = 0;
            sp->len = 0;
            continue;
        }
        if (size == 0)
            continue;
        for (uint64_t off = 0; off < size; off = size - off > fss ? off + fss : size) {
            sheaf__split *sp = &plan->splits[plan->nsplits++];
            sp->file = (uint32_t)i;
            sp->start = off;
            sp->len = SHEAF__MIN(fss, size - off);
        }
    }
    /* Tasks: a split of at least a quarter split is a task of its own; smaller ones (small
     * files, tails) are packed with their neighbours up to split_size. */
    uint64_t small = pack / 4;
    for (size_t i = 0; i < plan->nsplits;) {
        sheaf__task *t = &plan->tasks[plan->ntasks++];
        t->first = i;
        t->count = 1;
        t->bytes = split_cost(plan, i);
        i++;
        if (t->bytes >= small)
            continue;
        while (i < plan->nsplits && split_cost(plan, i) < small &&
               t->bytes + split_cost(plan, i) <= pack) {
            t->bytes += split_cost(plan, i);
            t->count++;
            i++;
        }
    }
    /* Largest first; ties in plan order, so the plan is the same on every run. */
    for (size_t i = 1; i < plan->ntasks; i++) {
        sheaf__task t = plan->tasks[i];
        size_t j = i;
        if (plan->tasks[j - 1].bytes >= t.bytes)
            continue;
        /* binary search for the insertion point keeps this O(n log n) compares */
        size_t lo = 0, hi = i;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (plan->tasks[mid].bytes >= t.bytes)
                lo = mid + 1;
            else
                hi = mid;
        }
        memmove(&plan->tasks[lo + 1], &plan->tasks[lo], (j - lo) * sizeof t);
        plan->tasks[lo] = t;
    }
    return 0;
}

void sheaf__plan_warn_compressed(const sheaf_ctx *ctx, const sheaf__plan *plan) {
    if (ctx->nranks < 2)
        return;
    uint64_t total = 0;
    for (size_t i = 0; i < plan->ntasks; i++)
        total += plan->tasks[i].bytes;
    for (size_t i = 0; i < plan->nsplits; i++) {
        const sheaf__split *sp = &plan->splits[i];
        sheaf__codec_kind k = sheaf__codec_by_name(plan->files[sp->file]);
        uint64_t cost = split_cost(plan, i);
        if (k == SHEAF__CODEC_NONE || cost <= total / (uint64_t)ctx->nranks)
            continue;
        sheaf__log(ctx, SHEAF_LOG_WARN, "input %s is compressed (%s, %llu bytes): one rank "
                   "reads all of it, about %.0f%% of the job's input; split the data before "
                   "compressing it to spread it over the ranks (docs/formats.md)",
                   plan->files[sp->file], sheaf__codec_name(k),
                   (unsigned long long)plan->sizes[sp->file], 100.0 * (double)cost / (double)total);
    }
}

void sheaf__plan_free(sheaf__plan *plan) {
    for (size_t i = 0; i < plan->nfiles; i++)
        free(plan->files[i]);
    free(plan->files);
    free(plan->sizes);
    free(plan->mtimes);
    free(plan->unsized);
    free(plan->origin);
    free(plan->splits);
    free(plan->tasks);
    memset(plan, 0, sizeof *plan);
}

/* The plan on the wire: counts, then the files (size, path length, origin, mtime, unsized,
 * path), splits, tasks. */
static int put(sheaf__buf *b, const void *p, size_t n) {
    if (sheaf__buf_reserve(b, n))
        return SHEAF_ENOMEM;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static int bcast_bytes(MPI_Comm comm, int root, uint8_t *p, uint64_t n) {
    while (n) {
        int chunk = (int)SHEAF__MIN(n, (uint64_t)1 << 30);
        if (MPI_Bcast(p, chunk, MPI_BYTE, root, comm) != MPI_SUCCESS)
            return SHEAF_EMPI;
        p += chunk;
        n -= (uint64_t)chunk;
    }
    return 0;
}

int sheaf__plan_bcast(MPI_Comm comm, int root, int code, sheaf__plan *plan) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    sheaf__buf b = {0};
    uint64_t hdr[4] = {(uint64_t)(int64_t)code, 0, 0, 0};
    if (rank == root && code == 0) {
        uint64_t c[3] = {plan->nfiles, plan->nsplits, plan->ntasks};
        int rc = put(&b, c, sizeof c);
        for (size_t i = 0; i < plan->nfiles && !rc; i++) {
            uint64_t fh[5] = {plan->sizes[i], strlen(plan->files[i]), plan->origin[i],
                              (uint64_t)plan->mtimes[i], plan->unsized[i]};
            rc = put(&b, fh, sizeof fh);
            if (!rc)
                rc = put(&b, plan->files[i], fh[1]);
        }
        if (!rc)
            rc = put(&b, plan->splits, plan->nsplits * sizeof *plan->splits);
        if (!rc)
            rc = put(&b, plan->tasks, plan->ntasks * sizeof *plan->tasks);
        if (rc)
            hdr[0] = (uint64_t)(int64_t)rc;
        hdr[1] = b.len;
    }
    if (MPI_Bcast(hdr, 4, MPI_UINT64_T, root, comm) != MPI_SUCCESS)
        return SHEAF_EMPI;
    code = (int)(int64_t)hdr[0];
    if (code) {
        sheaf__buf_free(&b);
        return code;
    }
    if (rank != root && sheaf__buf_reserve(&b, hdr[1] ? hdr[1] : 1)) {
        /* Every rank must take part in the broadcast even when it cannot hold it. */
        return SHEAF_ENOMEM;
    }
    int rc = bcast_bytes(comm, root, b.data, hdr[1]);
    if (rc || rank == root) {
        sheaf__buf_free(&b);
        return rc;
    }
    const uint8_t *p = b.data;
    uint64_t c[3];
    memcpy(c, p, sizeof c);
    p += sizeof c;
    memset(plan, 0, sizeof *plan);
    plan->files = calloc(c[0] ? c[0] : 1, sizeof *plan->files);
    plan->sizes = calloc(c[0] ? c[0] : 1, sizeof *plan->sizes);
    plan->mtimes = calloc(c[0] ? c[0] : 1, sizeof *plan->mtimes);
    plan->unsized = calloc(c[0] ? c[0] : 1, sizeof *plan->unsized);
    plan->origin = calloc(c[0] ? c[0] : 1, sizeof *plan->origin);
    plan->splits = calloc(c[1] ? c[1] : 1, sizeof *plan->splits);
    plan->tasks = calloc(c[2] ? c[2] : 1, sizeof *plan->tasks);
    if (!plan->files || !plan->sizes || !plan->mtimes || !plan->unsized || !plan->origin ||
        !plan->splits || !plan->tasks) {
        sheaf__buf_free(&b);
        return SHEAF_ENOMEM;
    }
    for (uint64_t i = 0; i < c[0]; i++) {
        uint64_t fh[5];
        memcpy(fh, p, sizeof fh);
        p += sizeof fh;
        plan->sizes[i] = fh[0];
        plan->origin[i] = (uint32_t)fh[2];
        plan->mtimes[i] = (int64_t)fh[3];
        plan->unsized[i] = (uint8_t)fh[4];
        plan->total_bytes += fh[0];
        if (!(plan->files[i] = strndup((const char *)p, fh[1]))) {
            sheaf__buf_free(&b);
            return SHEAF_ENOMEM;
        }
        plan->nfiles++;
        p += fh[1];
    }
    memcpy(plan->splits, p, c[1] * sizeof *plan->splits);
    p += c[1] * sizeof *plan->splits;
    plan->nsplits = c[1];
    memcpy(plan->tasks, p, c[2] * sizeof *plan->tasks);
    plan->ntasks = c[2];
    sheaf__buf_free(&b);
    return 0;
}
