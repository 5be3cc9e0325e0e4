/*
 * gensort.c: TeraSort-style input, `sheaf gensort N OUT`.
 *
 * Writes N records of 100 bytes into OUT/part-NNNNN files (--files F of them, default one per
 * rank; file f holds records [f*N/F, (f+1)*N/F)). Every rank writes the files f with
 * f mod nranks == rank, so under mpirun the ranks write in parallel, and record i depends only
 * on i and --seed: the concatenation of the files is the same at any rank count. OUT is
 * written as every job's output is (sheaf_output_begin): the files go to a temporary directory
 * and are moved into place, with a _SUCCESS marker, only when every rank is done; with
 * --overwrite an old OUT is replaced only then, and a failed run leaves it as it was.
 *
 * Record layout (our own; offsets in bytes):
 *   [0, 10)   the key: 10 bytes of a splitmix64 stream seeded by (seed, i); binary (any byte
 *             value) by default, printable ASCII 0x20..0x7e with --ascii
 *   10        a space
 *   [11, 43)  the record number i as 32 upper-case hex digits
 *   43        a space
 *   [44, 98)  filler: 54 letters 'A' + (i + j) mod 26
 *   [98, 100) CR LF
 * --skew P gives P percent of the records (chosen by hash) one and the same key, the key of
 * record 0, to test skewed partitions; --distinct-keys K draws keys from K values only.
 *
 * The command has a run function and no job (there is no input to map): it never calls
 * sheaf_run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

#define REC 100

typedef struct gensort_opts {
    uint64_t n;
    const char *out;
    int npos;
    uint64_t files;
    bool ascii;
    uint64_t skew;     /* percent */
    uint64_t distinct; /* 0: every record its own key */
    bool quiet;
} gensort_opts;

static gensort_opts gopts;

static int gensort_parse(void *udata, const char *name, const char *value) {
    gensort_opts *o = udata;
    if (!name) {
        if (o->npos == 0 && sj_parse_u64(value, &o->n) == 0)
            o->npos++;
        else if (o->npos == 1)
            o->out = value, o->npos++;
        else
            return -1;
        return 0;
    }
    if (!strcmp(name, "ascii"))
        o->ascii = true;
    else if (!strcmp(name, "files"))
        return sj_parse_u64(value, &o->files) || o->files == 0 || o->files > 100000 ? -1 : 0;
    else if (!strcmp(name, "skew"))
        return sj_parse_u64(value, &o->skew) || o->skew > 100 ? -1 : 0;
    else if (!strcmp(name, "distinct-keys"))
        return sj_parse_u64(value, &o->distinct) || o->distinct == 0 ? -1 : 0;
    else
        return -1;
    return 0;
}

static int gensort_configure(void *udata, sheaf_config *cfg) {
    gensort_opts *o = udata;
    if (o->out && cfg->output)
        return sj_usage("gensort", "give OUT once (as -o OUT or the second argument)");
    if (o->out)
        cfg->output = o->out;
    if (o->npos < 1)
        return sj_usage("gensort", "missing the record count (sheaf gensort N OUT)");
    if (!cfg->output)
        return sj_usage("gensort", "missing the output directory (sheaf gensort N OUT)");
    o->out = cfg->output;
    o->quiet = cfg->quiet;
    cfg->quiet = 1; /* the run function prints its own summary */
    return 0;
}

static void make_key(const gensort_opts *o, uint64_t seed, uint64_t i, unsigned char *key) {
    uint64_t k = i;
    if (o->skew && sj_mix64(i ^ 0x736b6577ull) % 100 < o->skew)
        k = 0;
    else if (o->distinct)
        k = sj_mix64(i ^ 0x64697374ull) % o->distinct;
    uint64_t a = sj_mix64(seed ^ sj_mix64(k)), b = sj_mix64(a);
    for (int j = 0; j < 8; j++)
        key[j] = (unsigned char)(a >> (8 * j));
    key[8] = (unsigned char)b;
    key[9] = (unsigned char)(b >> 8);
    if (o->ascii)
        for (int j = 0; j < 10; j++)
            key[j] = (unsigned char)(' ' + key[j] % 95);
}

static void make_record(const gensort_opts *o, uint64_t seed, uint64_t i, unsigned char *r) {
    static const char hex[] = "0123456789ABCDEF";
    make_key(o, seed, i, r);
    r[10] = ' ';
    memset(r + 11, '0', 16);
    for (int j = 0; j < 16; j++)
        r[11 + 16 + j] = (unsigned char)hex[(i >> (60 - 4 * j)) & 15];
    r[43] = ' ';
    for (int j = 0; j < 54; j++)
        r[44 + j] = (unsigned char)('A' + (i + (uint64_t)j) % 26);
    r[98] = '\r';
    r[99] = '\n';
}

static int write_file(const gensort_opts *o, const char *dir, uint64_t seed, uint64_t f,
                      uint64_t nfiles, char *err, size_t errlen) {
    uint64_t first = (uint64_t)((unsigned __int128)o->n * f / nfiles);
    uint64_t last = (uint64_t)((unsigned __int128)o->n * (f + 1) / nfiles);
    sj_buf path = {0};
    if (sj_buf_printf(&path, "%s/part-%05llu", dir, (unsigned long long)f))
        return SHEAF_ENOMEM;
    FILE *fp = fopen(path.p, "wb");
    if (!fp) {
        snprintf(err, errlen, "cannot create %s: %s", path.p, strerror(errno));
        sj_buf_free(&path);
        return SHEAF_EIO;
    }
    enum { BATCH = 4096 };
    unsigned char *buf = malloc((size_t)BATCH * REC);
    int rc = buf ? 0 : SHEAF_ENOMEM;
    for (uint64_t i = first; i < last && !rc;) {
        size_t k = 0;
        for (; k < BATCH && i < last; k++, i++)
            make_record(o, seed, i, buf + k * REC);
        if (fwrite(buf, REC, k, fp) != k) {
            snprintf(err, errlen, "cannot write %s: %s", path.p, strerror(errno));
            rc = errno == ENOSPC ? SHEAF_ENOSPC : SHEAF_EIO;
        }
    }
    if (fclose(fp) != 0 && !rc) {
        snprintf(err, errlen, "cannot write %s: %s", path.p, strerror(errno));
        rc = SHEAF_EIO;
    }
    free(buf);
    sj_buf_free(&path);
    return rc;
}

static int gensort_run(MPI_Comm comm, const sheaf_command *cmd, const sheaf_config *cfg,
                       sheaf_result *res) {
    gensort_opts *o = cmd->udata;
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    memset(res, 0, sizeof *res);
    res->failed_rank = -1;
    double t0 = MPI_Wtime();
    char msg[1024] = "", dir[4096] = "";
    int rc = 0;
    sheaf_output *out = NULL;
    if (rank == 0) {
        sheaf_config c = *cfg;
        c.output = o->out;
        if (!(rc = sheaf_output_begin(&c, &out, msg, sizeof msg)))
            snprintf(dir, sizeof dir, "%s", sheaf_output_dir(out));
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, comm);
    MPI_Bcast(msg, sizeof msg, MPI_CHAR, 0, comm);
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, comm);
    if (rc)
        return sj_result_fail(res, rc, "%s", msg);
    uint64_t nfiles = o->files ? o->files : (uint64_t)size;
    for (uint64_t f = (uint64_t)rank; f < nfiles && !rc; f += (uint64_t)size)
        rc = write_file(o, dir, cfg->seed, f, nfiles, msg, sizeof msg);
    rc = sheaf_agree(comm, rc, msg, sizeof msg);
    if (rank == 0) {
        if (rc)
            sheaf_output_abort(out);
        else
            rc = sheaf_output_commit(out, msg, sizeof msg);
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, comm);
    MPI_Bcast(msg, sizeof msg, MPI_CHAR, 0, comm);
    if (rc)
        return sj_result_fail(res, rc, "%s", msg);
    res->output_records = o->n;
    res->output_bytes = o->n * REC;
    res->seconds = MPI_Wtime() - t0;
    if (rank == 0 && !o->quiet)
        fprintf(stderr, "sheaf gensort: wrote %llu records (%llu bytes) in %llu files to %s "
                        "in %.2f s\n",
                (unsigned long long)o->n, (unsigned long long)(o->n * REC),
                (unsigned long long)nfiles, o->out, res->seconds);
    return 0;
}

static const sheaf_option gensort_options[] = {
    {"files", "F", "number of part files (default: one per rank)"},
    {"ascii", NULL, "printable keys (bytes 0x20..0x7e) instead of binary ones"},
    {"skew", "P", "P percent of the records share one key (default 0)"},
    {"distinct-keys", "K", "draw keys from K distinct values (default: all distinct)"},
    {NULL, NULL, NULL},
};

const sheaf_command sheaf_cmd_gensort = {
    .name = "gensort",
    .summary = "write N 100-byte TeraSort-style records (10-byte key) to OUT/part-*",
    .usage = "N OUT   (--seed picks the keys; the same N and seed give the same records)",
    .options = gensort_options,
    .parse_option = gensort_parse,
    .configure = gensort_configure,
    .udata = &gopts,
    .run = gensort_run,
};
