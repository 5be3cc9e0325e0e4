/*
 * valsort.c: checks a sorted fixed-length record output, `sheaf valsort DIR_OR_FILE...`.
 *
 * The records of the named files (a directory stands for its files in name order, skipping
 * names that start with '_' or '.', so OUT/part-r-* of a sort job is read in partition order)
 * form one sequence. valsort checks that the keys (the first --key-bytes bytes of each
 * --record-size-byte record, compared bytewise) never go down along it, and prints:
 *
 *   records     the number of records
 *   checksum    the sum (mod 2^64) of a 64-bit hash of every record, in hex: it does not
 *               depend on the order, so a sort's input and output have the same checksum
 *   duplicates  records whose key equals the key before them
 *   unordered   records whose key is smaller than the key before them
 *
 * and exits 0 when the sequence is in order, 1 when it is not (naming the first record out of
 * order) or a file's size is not a multiple of the record size. A file named that is not a
 * regular file (a FIFO, a device) or whose size is not known in advance (a /proc file, whose
 * size says 0) is refused, as is a file that is shorter when read than when listed.
 *
 * Under mpirun the ranks split the sequence into equal ranges by record number, check their
 * own range, and rank 0 checks the boundaries between ranges. There is no map and no output
 * directory: the command is all run function, with no job.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobs.h"

#define MAXKEY 64

typedef struct valsort_opts {
    char **paths;
    size_t npaths;
    uint64_t reclen, keylen;
    bool quiet;
} valsort_opts;

static valsort_opts vopts = {.reclen = 100, .keylen = 10};

static int valsort_parse(void *udata, const char *name, const char *value) {
    valsort_opts *o = udata;
    if (!name) {
        char **p = realloc(o->paths, (o->npaths + 1) * sizeof *p);
        if (!p)
            return -1;
        o->paths = p;
        p[o->npaths++] = (char *)value;
        return 0;
    }
    if (!strcmp(name, "record-size"))
        return sj_parse_u64(value, &o->reclen) || o->reclen == 0 ? -1 : 0;
    if (!strcmp(name, "key-bytes"))
        return sj_parse_u64(value, &o->keylen) || o->keylen == 0 || o->keylen > MAXKEY ? -1
                                                                                        : 0;
    return -1;
}

static int valsort_configure(void *udata, sheaf_config *cfg) {
    valsort_opts *o = udata;
    for (size_t i = 0; i < cfg->ninputs; i++) /* -i works too */
        if (valsort_parse(o, NULL, cfg->inputs[i]))
            return -1;
    if (o->npaths == 0)
        return sj_usage("valsort", "nothing to check (sheaf valsort DIR_OR_FILE...)");
    if (o->keylen > o->reclen)
        return sj_usage("valsort", "--key-bytes is longer than --record-size");
    if (!cfg->output)
        cfg->output = o->paths[0]; /* sheaf_main wants one; valsort writes nothing */
    o->quiet = cfg->quiet;
    cfg->quiet = 1;
    return 0;
}

typedef struct range_stat {
    uint64_t records, checksum, dups, unordered;
    uint64_t first_bad; /* global record number of the first unordered record, or UINT64_MAX */
    unsigned char first[MAXKEY], last[MAXKEY];
} range_stat;

static int check_range(const valsort_opts *o, char **files, const uint64_t *counts,
                       size_t nfiles, uint64_t begin, uint64_t end, range_stat *st, char *msg,
                       size_t msglen) {
    memset(st, 0, sizeof *st);
    st->first_bad = UINT64_MAX;
    size_t rl = (size_t)o->reclen, kl = (size_t)o->keylen;
    enum { BATCH = 8192 };
    unsigned char *buf = malloc(rl * BATCH);
    if (!buf)
        return SHEAF_ENOMEM;
    unsigned char prev[MAXKEY];
    bool have_prev = false;
    uint64_t base = 0;
    int rc = 0;
    for (size_t f = 0; f < nfiles && base < end && !rc; base += counts[f], f++) {
        uint64_t lo = begin > base ? begin - base : 0;
        uint64_t hi = end - base < counts[f] ? end - base : counts[f];
        if (lo >= hi)
            continue;
        /* Not blocking, should the file have become a FIFO since it was listed. */
        int fd = open(files[f], O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        FILE *fp = fd >= 0 ? fdopen(fd, "rb") : NULL;
        if (fd >= 0 && !fp)
            close(fd);
        if (!fp || fseeko(fp, (off_t)(lo * rl), SEEK_SET) != 0) {
            snprintf(msg, msglen, "cannot read %s: %s", files[f], strerror(errno));
            if (fp)
                fclose(fp);
            rc = SHEAF_EIO;
            break;
        }
        for (uint64_t r = lo; r < hi && !rc;) {
            size_t want = hi - r < BATCH ? (size_t)(hi - r) : BATCH;
            if (fread(buf, rl, want, fp) != want) {
                snprintf(msg, msglen, "%s changed while valsort read it: short read at record "
                         "%llu (offset %llu)", files[f], (unsigned long long)r,
                         (unsigned long long)(r * rl));
                rc = SHEAF_EIO;
                break;
            }
            for (size_t k = 0; k < want; k++, r++) {
                const unsigned char *rec = buf + k * rl;
                st->checksum += sheaf_hash(rec, rl, 0);
                if (have_prev) {
                    int c = memcmp(prev, rec, kl);
                    if (c == 0)
                        st->dups++;
                    else if (c > 0) {
                        st->unordered++;
                        if (st->first_bad == UINT64_MAX)
                            st->first_bad = base + r;
                    }
                } else {
                    memcpy(st->first, rec, kl);
                }
                memcpy(prev, rec, kl);
                have_prev = true;
                st->records++;
            }
        }
        fclose(fp);
    }
    if (have_prev)
        memcpy(st->last, prev, kl);
    free(buf);
    return rc;
}

/* Refuses what valsort cannot count records of: not a regular file, or a regular file whose
 * size says 0 but which has bytes (opened without blocking, should it have changed since its
 * stat). Returns 0 or a code with a message. */
static int check_regular(const char *path, const struct stat *st, char *msg, size_t msglen) {
    if (!S_ISREG(st->st_mode)) {
        snprintf(msg, msglen, "%s: not a regular file (valsort reads files of fixed-length "
                 "records)", path);
        return SHEAF_EINVAL;
    }
    if (st->st_size != 0)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        snprintf(msg, msglen, "cannot read %s: %s", path, strerror(errno));
        return SHEAF_EIO;
    }
    char c;
    ssize_t n = read(fd, &c, 1);
    close(fd);
    if (n != 0) {
        snprintf(msg, msglen, "%s: its size (0) is not its length (a /proc or /sys file?): "
                 "valsort needs files whose size is known", path);
        return SHEAF_EINVAL;
    }
    return 0;
}

/* Rank 0: the file list and record counts, as "count path\n" lines. */
static int plan(const valsort_opts *o, sj_buf *out, char *msg, size_t msglen) {
    for (size_t i = 0; i < o->npaths; i++) {
        char **files;
        size_t n;
        char why[512];
        struct stat pst;
        int rc = sheaf_list_inputs(o->paths[i], &files, &n, why, sizeof why);
        if (rc == SHEAF_EINVAL && stat(o->paths[i], &pst) == 0 &&
            check_regular(o->paths[i], &pst, msg, msglen))
            return rc; /* a device or FIFO named as input: valsort's own message */
        if (rc || n == 0) {
            if (rc && rc != SHEAF_ENOENT)
                snprintf(msg, msglen, "%s", why);
            else
                snprintf(msg, msglen, "%s: no such file or directory, or no files in it",
                         o->paths[i]);
            if (!rc)
                sheaf_list_free(files, n);
            return rc ? rc : SHEAF_ENOENT;
        }
        for (size_t k = 0; k < n && !rc; k++) {
            struct stat st;
            if (stat(files[k], &st) != 0) {
                snprintf(msg, msglen, "cannot stat %s: %s", files[k], strerror(errno));
                rc = SHEAF_EIO;
            } else if ((rc = check_regular(files[k], &st, msg, msglen))) {
                break;
            } else if ((uint64_t)st.st_size % o->reclen) {
                snprintf(msg, msglen, "%s: size %llu is not a multiple of the record size %llu",
                         files[k], (unsigned long long)st.st_size,
                         (unsigned long long)o->reclen);
                rc = SHEAF_EFORMAT;
            } else if (sj_buf_printf(out, "%llu %s\n",
                                     (unsigned long long)((uint64_t)st.st_size / o->reclen),
                                     files[k])) {
                rc = SHEAF_ENOMEM;
            }
        }
        sheaf_list_free(files, n);
        if (rc)
            return rc;
    }
    return 0;
}

static int valsort_run(MPI_Comm comm, const sheaf_command *cmd, const sheaf_config *cfg,
                       sheaf_result *res) {
    valsort_opts *o = cmd->udata;
    (void)cfg;
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    memset(res, 0, sizeof *res);
    res->failed_rank = -1;
    double t0 = MPI_Wtime();
    char msg[1024] = "";
    sj_buf list = {0};
    int rc = 0;
    if (rank == 0)
        rc = plan(o, &list, msg, sizeof msg);
    if ((rc = sheaf_agree(comm, rc, msg, sizeof msg)))
        return sj_result_fail(res, rc, "%s", msg);
    if (!list.p && sj_buf_reserve(&list, 0))
        rc = SHEAF_ENOMEM;
    if ((rc = sheaf_agree(comm, rc, msg, sizeof msg)) ||
        (rc = sj_bcast_buf(comm, &list.p, &list.len))) {
        sj_buf_free(&list);
        return sj_result_fail(res, rc, "out of memory");
    }
    /* Parse the list. */
    size_t nfiles = 0;
    for (size_t i = 0; i < list.len; i++)
        nfiles += list.p[i] == '\n';
    char **files = calloc(nfiles + 1, sizeof *files);
    uint64_t *counts = calloc(nfiles + 1, sizeof *counts);
    uint64_t total = 0;
    if (!files || !counts)
        rc = SHEAF_ENOMEM;
    char *s = list.p;
    for (size_t i = 0; i < nfiles && !rc; i++) {
        char *nl = strchr(s, '\n');
        *nl = '\0';
        char *sp = strchr(s, ' ');
        *sp = '\0';
        counts[i] = strtoull(s, NULL, 10);
        files[i] = sp + 1;
        total += counts[i];
        s = nl + 1;
    }
    range_stat st;
    uint64_t begin = (uint64_t)((unsigned __int128)total * (uint64_t)rank / (uint64_t)size);
    uint64_t end = (uint64_t)((unsigned __int128)total * (uint64_t)(rank + 1) / (uint64_t)size);
    if (!rc)
        rc = check_range(o, files, counts, nfiles, begin, end, &st, msg, sizeof msg);
    rc = sheaf_agree(comm, rc, msg, sizeof msg);
    range_stat *all = NULL;
    if (!rc && rank == 0 && !(all = malloc((size_t)size * sizeof *all)))
        rc = SHEAF_ENOMEM;
    if (!rc)
        MPI_Gather(&st, (int)sizeof st, MPI_BYTE, all, (int)sizeof st, MPI_BYTE, 0, comm);
    if (!rc && rank == 0) {
        range_stat sum = {.first_bad = UINT64_MAX};
        const unsigned char *prev = NULL;
        uint64_t at = 0;
        size_t kl = (size_t)o->keylen;
        for (int r = 0; r < size; r++) {
            range_stat *x = &all[r];
            if (x->records && prev) {
                int c = memcmp(prev, x->first, kl);
                if (c == 0)
                    sum.dups++;
                else if (c > 0) {
                    sum.unordered++;
                    if (at < sum.first_bad)
                        sum.first_bad = at;
                }
            }
            if (x->first_bad < sum.first_bad)
                sum.first_bad = x->first_bad;
            sum.records += x->records;
            sum.checksum += x->checksum;
            sum.dups += x->dups;
            sum.unordered += x->unordered;
            if (x->records)
                prev = x->last;
            at += x->records;
        }
        printf("records\t%" PRIu64 "\nchecksum\t%016" PRIx64 "\nduplicates\t%" PRIu64
               "\nunordered\t%" PRIu64 "\n",
               sum.records, sum.checksum, sum.dups, sum.unordered);
        fflush(stdout);
        if (sum.unordered) {
            uint64_t b = sum.first_bad, base = 0;
            size_t f = 0;
            while (f + 1 < nfiles && b >= base + counts[f])
                base += counts[f++];
            snprintf(msg, sizeof msg,
                     "%llu records out of order; the first is record %llu (%s, record %llu)",
                     (unsigned long long)sum.unordered, (unsigned long long)b,
                     nfiles ? files[f] : "?", (unsigned long long)(b - base));
            rc = SHEAF_EFORMAT;
        } else if (!o->quiet) {
            fprintf(stderr, "sheaf valsort: %llu records in order (%.2f s)\n",
                    (unsigned long long)sum.records, MPI_Wtime() - t0);
        }
        res->input_records = sum.records;
    }
    rc = sheaf_agree(comm, rc, msg, sizeof msg);
    free(all);
    free(files);
    free(counts);
    sj_buf_free(&list);
    if (rc)
        return sj_result_fail(res, rc, "%s", msg);
    res->seconds = MPI_Wtime() - t0;
    return 0;
}

static const sheaf_option valsort_options[] = {
    {"record-size", "N", "bytes per record (default 100)"},
    {"key-bytes", "K", "the key is the first K bytes of a record (default 10, at most 64)"},
    {NULL, NULL, NULL},
};

const sheaf_command sheaf_cmd_valsort = {
    .name = "valsort",
    .summary = "check that fixed-length records are in key order; print count and checksum",
    .usage = "DIR_OR_FILE...   (exit 0 in order, 1 out of order)",
    .options = valsort_options,
    .parse_option = valsort_parse,
    .configure = valsort_configure,
    .udata = &vopts,
    .run = valsort_run,
};
