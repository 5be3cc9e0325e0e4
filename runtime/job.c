/*
 * job.c: sheaf_run(), the phases of one job on one rank.
 *
 *   setup    rank 0 plans the splits and prepares the output directory; the plan is broadcast
 *   map      ranks claim tasks (dynamic: a shared counter advanced with MPI_Fetch_and_op on
 *            an RMA window, largest task first; static: round robin), read their records and
 *            call map(); emits go to the combine table or the send buffers, and full buffers
 *            start exchange rounds (shuffle.c)
 *   shuffle  the last rounds, until every rank has mapped everything
 *   sort     the store sorts what it holds and merges it with its spilled runs
 *   reduce   groups go to reduce(); each rank writes the partitions it owns
 *   commit   every rank agrees on success; rank 0 moves the parts into place, writes the
 *            report and _SUCCESS
 * At the end of each phase the ranks agree on failure (error.c), so a failure anywhere stops
 * every rank at the same boundary, every rank returns the same code, and the output directory
 * is left as it was before the job.
 */
#include "codec.h"
#include "csvsplit.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

SHEAF_EXTERN void sheaf_config_init(sheaf_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->split_size = 0; /* automatic: 64 MiB, or less so every rank gets 8 tasks */
    cfg->schedule = SHEAF_SCHEDULE_DYNAMIC;
    cfg->bind = SHEAF_BIND_AUTO;
    cfg->progress = -1;
    cfg->log_level = SHEAF_LOG_WARN;
    cfg->seed = 0x5eaf;
    cfg->sample = 10000;
}

SHEAF_EXTERN int sheaf_rank(const sheaf_ctx *ctx) {
    return ctx->rank;
}

SHEAF_EXTERN int sheaf_nranks(const sheaf_ctx *ctx) {
    return ctx->nranks;
}

SHEAF_EXTERN uint32_t sheaf_partition(const sheaf_ctx *ctx) {
    return ctx->cur_part;
}

SHEAF_EXTERN int sheaf_counter_add(sheaf_ctx *ctx, const char *name, int64_t n) {
    if (ctx->sink->flags & SHEAF__SINK_UNCOUNTED)
        return 0; /* sampling reads records twice; they count once */
    for (size_t i = 0; i < ctx->nuser; i++) {
        if (!strcmp(ctx->user[i].name, name)) {
            ctx->user[i].value += n;
            return 0;
        }
    }
    if (ctx->nuser == ctx->capuser) {
        size_t cap = ctx->capuser ? ctx->capuser * 2 : 8;
        sheaf__counter *u = realloc(ctx->user, cap * sizeof *u);
        if (!u)
            return SHEAF_ENOMEM;
        ctx->user = u;
        ctx->capuser = cap;
    }
    if (!(ctx->user[ctx->nuser].name = strdup(name)))
        return SHEAF_ENOMEM;
    ctx->user[ctx->nuser++].value = n;
    return 0;
}

/* SHEAF_FAULT=phase:rank[:after-N] makes one rank fail on purpose (tests of failure paths). */
static void parse_fault(sheaf_ctx *ctx) {
    ctx->fault_phase = -1;
    ctx->fault_after = 0;
    const char *f = getenv("SHEAF_FAULT");
    if (!f || !*f)
        return;
    char phase[32];
    int rank = -1;
    unsigned long long after = 0;
    int n = sscanf(f, "%31[a-z]:%d:%llu", phase, &rank, &after);
    if (n < 2 || rank != ctx->rank)
        return;
    for (int i = 0; i < SHEAF__PH_COUNT; i++)
        if (!strcmp(phase, sheaf__phase_names[i]))
            ctx->fault_phase = i;
    ctx->fault_after = n == 3 ? after : 0;
}

static bool fault(sheaf_ctx *ctx, int phase, uint64_t count) {
    if (ctx->fault_phase != phase || count < ctx->fault_after)
        return false;
    sheaf__error(ctx, SHEAF_EFAULT, "injected fault (SHEAF_FAULT) in %s after %llu",
                 sheaf__phase_names[phase], (unsigned long long)count);
    return true;
}

static void phase(sheaf_ctx *ctx, int ph, bool start) {
    if (start) {
        ctx->phase_start[ph] = sheaf__now();
        ctx->cur_phase = ph;
    }
    else
        ctx->phase_end[ph] = sheaf__now();
}

/* A malformed record is counted and skipped while the job's allowance lasts; then it fails
 * the job with the reader's message (file, offset, reason). */
static bool bad_record(sheaf_ctx *ctx, const char *err) {
    if (ctx->c[SHEAF__C_BAD_RECORDS] < ctx->cfg.max_bad_records) {
        ctx->c[SHEAF__C_BAD_RECORDS]++;
        sheaf__log(ctx, SHEAF_LOG_INFO, "skipped a bad record: %s", err);
        return true;
    }
    if (ctx->cfg.max_bad_records)
        sheaf__error(ctx, SHEAF_EFORMAT, "%s (more than --max-bad-records %llu)", err,
                     (unsigned long long)ctx->cfg.max_bad_records);
    else
        sheaf__error(ctx, SHEAF_EFORMAT, "%s", err);
    return false;
}

SHEAF_EXTERN int sheaf_skip_record(sheaf_ctx *ctx, const char *why) {
    char msg[1024];
    snprintf(msg, sizeof msg, "input %s: bad record at offset %llu: %s",
             ctx->cur_file ? ctx->cur_file : "?", (unsigned long long)ctx->cur_offset, why);
    return bad_record(ctx, msg) ? 0 : ctx->err;
}

/* A compressed split's bytes: read from the file, and handed to the reader. */
static void count_compressed(sheaf_ctx *ctx, const sheaf__reader *rd) {
    uint64_t in, out;
    if (rd->in && sheaf__codec_istream_counts(rd->in, &in, &out)) {
        ctx->c[SHEAF__C_COMPRESSED_READ] += in;
        ctx->c[SHEAF__C_DECOMPRESSED] += out;
    }
}

static int map_task(sheaf_ctx *ctx, const sheaf__plan *plan, const sheaf__task *t,
                    sheaf__reader *rd) {
    const sheaf_job_def *job = ctx->job;
    char err[1024];
    for (uint64_t s = t->first; s < t->first + t->count && !ctx->err; s++) {
        const sheaf__split *sp = &plan->splits[s];
        const char *path = plan->files[sp->file];
        int rc = sheaf__reader_open_split(rd, plan, s, sheaf__file_format(ctx, plan, sp->file),
                                          err, sizeof err);
        if (rc) {
            count_compressed(ctx, rd);
            sheaf__reader_close(rd);
            return sheaf__error(ctx, rc, "%s", err);
        }
        if (sp->quoted)
            sheaf__reader_start_quoted(rd);
        const sheaf__format *fmt = sheaf__file_format(ctx, plan, sp->file);
        rd->blocks = job->map_blocks && fmt->kind == SHEAF__FMT_LINES && fmt->delim == '\n';
        ctx->c[SHEAF__C_SPLITS]++;
        ctx->cur_file = path;
        sheaf_record rec;
        while (!ctx->err) {
            rc = sheaf__reader_next(rd, &rec, err, sizeof err);
            if (rc == 0)
                break;
            if (rc < 0) {
                /* A malformed record the reader moved past may be skipped; anything else (a
                 * file it cannot go on with, such as a bad csv header) fails the job. */
                if (rc == SHEAF_EFORMAT && !rd->done) {
                    if (bad_record(ctx, err))
                        continue;
                } else {
                    sheaf__error(ctx, rc, "%s", err);
                }
                break;
            }
            ctx->cur_offset = rec.offset;
            rec.input = plan->origin[sp->file];
            /* A block's LF bytes are not record bytes, as a line's LF is not. */
            ctx->c[SHEAF__C_INPUT_RECORDS] += rd->nrec;
            ctx->c[SHEAF__C_INPUT_BYTES] += rec.len - rd->delims;
            ctx->rec_lo = (uintptr_t)rec.data;
            ctx->rec_hi = ctx->rec_lo + rec.len + SHEAF_RECORD_PADDING;
            int mr = job->map(ctx, &rec, job->udata);
            ctx->rec_lo = ctx->rec_hi = 0;
            if (SHEAF__UNLIKELY(mr != 0)) {
                if (!ctx->err)
                    sheaf__error(ctx, mr, "map failed on %s at offset %llu (%s)", path,
                                 (unsigned long long)rec.offset, sheaf_strerror(mr));
                break;
            }
            if (SHEAF__UNLIKELY(ctx->fault_phase == SHEAF__PH_MAP) &&
                fault(ctx, SHEAF__PH_MAP, ctx->c[SHEAF__C_INPUT_RECORDS]))
                break;
            if (SHEAF__UNLIKELY(ctx->prog.on) &&
                (rd->nrec > 1 || (ctx->c[SHEAF__C_INPUT_RECORDS] & 4095) == 0))
                sheaf__progress_map(&ctx->prog, ctx, false);
        }
        count_compressed(ctx, rd);
        sheaf__reader_close(rd);
    }
    ctx->cur_file = NULL;
    return ctx->err;
}

static int map_phase(sheaf_ctx *ctx, const sheaf__plan *plan) {
    sheaf__reader rd = {.fd = -1};
    MPI_Win win = MPI_WIN_NULL;
    uint64_t *counter = NULL;
    bool dynamic = ctx->cfg.schedule == SHEAF_SCHEDULE_DYNAMIC && ctx->nranks > 1;
    if (dynamic) {
        /* Some transports cannot make the window (two launcher daemons on one host, say):
         * then every rank falls back to static assignment together. */
        MPI_Aint size = ctx->rank == 0 ? (MPI_Aint)sizeof(uint64_t) : 0;
        int ok = MPI_Win_allocate(size, sizeof(uint64_t), MPI_INFO_NULL, ctx->comm, &counter,
                                  &win) == MPI_SUCCESS, all_ok = 0;
        MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, ctx->comm);
        if (!all_ok) {
            if (ok)
                MPI_Win_free(&win);
            win = MPI_WIN_NULL;
            dynamic = false;
            if (ctx->rank == 0)
                sheaf__log(ctx, SHEAF_LOG_WARN, "no RMA window for dynamic scheduling; "
                                                "assigning tasks round robin");
        } else {
            if (ctx->rank == 0)
                *counter = 0;
            MPI_Barrier(ctx->comm);
            MPI_Win_lock_all(0, win);
        }
    }
    if (ctx->fault_phase == SHEAF__PH_SHUFFLE)
        fault(ctx, SHEAF__PH_SHUFFLE, 0);
    sheaf__progress_start(&ctx->prog, ctx, plan, dynamic ? win : MPI_WIN_NULL);
    uint64_t next = (uint64_t)ctx->rank;
    while (!ctx->err) {
        uint64_t idx;
        if (dynamic) {
            uint64_t one = 1;
            MPI_Fetch_and_op(&one, &idx, MPI_UINT64_T, 0, 0, MPI_SUM, win);
            MPI_Win_flush(0, win);
        } else {
            idx = next;
            next += (uint64_t)ctx->nranks;
        }
        if (idx >= plan->ntasks)
            break;
        ctx->tasks_mapped++;
        map_task(ctx, plan, &plan->tasks[idx], &rd);
        sheaf__progress_map(&ctx->prog, ctx, false);
    }
    /* A rank given fewer records than AFTER (or no task at all, when the others took them
     * first) still fails in its map phase, so the hook always fires. */
    if (SHEAF__UNLIKELY(ctx->fault_phase == SHEAF__PH_MAP) && !ctx->err)
        sheaf__error(ctx, SHEAF_EFAULT, "injected fault (SHEAF_FAULT) in map after %llu",
                     (unsigned long long)ctx->c[SHEAF__C_INPUT_RECORDS]);
    sheaf__reader_free(&rd);
    if (ctx->job->map_cleanup && !ctx->err) {
        int rc = ctx->job->map_cleanup(ctx, ctx->job->udata);
        if (rc && !ctx->err)
            sheaf__error(ctx, rc, "map cleanup failed (%s)", sheaf_strerror(rc));
    }
    phase(ctx, SHEAF__PH_MAP, false);
    sheaf__log(ctx, SHEAF_LOG_INFO, "map: %llu splits in %llu tasks, %llu records, %llu bytes "
               "in %.3f s", (unsigned long long)ctx->c[SHEAF__C_SPLITS],
               (unsigned long long)ctx->tasks_mapped,
               (unsigned long long)ctx->c[SHEAF__C_INPUT_RECORDS],
               (unsigned long long)ctx->c[SHEAF__C_INPUT_BYTES],
               ctx->phase_end[SHEAF__PH_MAP] - ctx->phase_start[SHEAF__PH_MAP]);
    phase(ctx, SHEAF__PH_SHUFFLE, true);
    if (!ctx->agreed && !ctx->job->map_only) /* a map-only job sent nothing */
        sheaf__shuffle_finish(ctx);
    if (!ctx->err) {
        sheaf__progress_map(&ctx->prog, ctx, true); /* every rank is done: the bar is full */
        sheaf__progress_shuffle(&ctx->prog, ctx);
    }
    phase(ctx, SHEAF__PH_SHUFFLE, false);
    sheaf__log(ctx, SHEAF_LOG_INFO, "shuffle: %llu rounds, %llu bytes sent, %llu received",
               (unsigned long long)ctx->c[SHEAF__C_SHUFFLE_ROUNDS],
               (unsigned long long)ctx->c[SHEAF__C_SHUFFLE_BYTES],
               (unsigned long long)ctx->c[SHEAF__C_SHUFFLE_RECV_BYTES]);
    if (dynamic) {
        MPI_Win_unlock_all(win);
        MPI_Win_free(&win);
    }
    return ctx->err;
}

/* A map-only job's output: this rank's part, open for map to write (NULL after recording why:
 * then this rank maps nothing, and the ranks agree on the failure after the map phase). */
static sheaf__outset *map_output(sheaf_ctx *ctx, const char *dir) {
    if (sheaf__pq_folders(ctx)) {
        sheaf__error(ctx, SHEAF_EINVAL, "a map-only job cannot write rows to folders");
        return NULL;
    }
    sheaf__outset *o = sheaf__outset_new(ctx->outfmt, dir);
    if (!o) {
        sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
        return NULL;
    }
    ctx->cur_part = (uint32_t)ctx->rank;
    if (sheaf__outset_open(ctx, o, (uint32_t)ctx->rank)) {
        sheaf__outset_free(ctx, o);
        return NULL;
    }
    return o;
}

static uint64_t default_budget(const sheaf_ctx *ctx) {
    /* A quarter of the node's memory shared among its ranks, between 64 MiB and 4 GiB. */
    uint64_t share = sheaf__physical_memory() / 4 / (uint64_t)SHEAF__MAX(ctx->place.local_size, 1);
    return SHEAF__MIN(SHEAF__MAX(share, 64ull << 20), 4ull << 30);
}

/* Each job's spill directory, BASE/sheaf-spill-XXXXXX, is made fresh by rank 0 (mkdtemp, mode
 * 0700) and holds an "owner" file (host and rank 0's pid), created with O_EXCL | O_NOFOLLOW. A
 * job killed outright cannot remove its spill files, so every job first removes the spill
 * directories on its host that are provably a dead Sheaf job's: a real directory (not a
 * symlink) named sheaf-*, owned by this user and closed to others, whose owner file is a
 * regular file of this user naming this host and a process that is gone. */
static int write_owner(const char *dir) {
    char path[4200], host[256] = "", text[400];
    if (snprintf(path, sizeof path, "%s/owner", dir) >= (int)sizeof path)
        return -1;
    gethostname(host, sizeof host - 1);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int n = snprintf(text, sizeof text, "%s %ld\n", host, (long)getpid());
    int rc = sheaf__write_all(fd, text, (size_t)n);
    if (close(fd) != 0 || rc)
        return -1;
    return 0;
}

/* True when no live process has this pid (a zombie counts as gone). */
static bool process_gone(long pid) {
    if (kill((pid_t)pid, 0) != 0)
        return errno == ESRCH;
    char path[64], state = 0;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    int n = fscanf(f, "%*d (%*[^)]) %c", &state);
    fclose(f);
    return n == 1 && state == 'Z';
}

/* True when path is a directory this user owns and nobody else may enter or write. */
static bool private_dir(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
           (st.st_mode & 077) == 0;
}

static void sweep_spill(const char *base) {
    char pattern[4200], host[256] = "";
    gethostname(host, sizeof host - 1);
    glob_t g;
    if (snprintf(pattern, sizeof pattern, "%s/sheaf-*", base) >= (int)sizeof pattern)
        return; /* a base this long holds no spill directory of ours either */
    if (glob(pattern, GLOB_NOSORT | GLOB_ONLYDIR, NULL, &g) != 0)
        return;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char path[4200], text[400] = "", h[256];
        long pid;
        if (!private_dir(g.gl_pathv[i]))
            continue;
        if (snprintf(path, sizeof path, "%s/owner", g.gl_pathv[i]) >= (int)sizeof path)
            continue;
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        struct stat st;
        if (fd < 0)
            continue;
        ssize_t len = -1;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid())
            len = read(fd, text, sizeof text - 1);
        close(fd);
        if (len <= 0)
            continue;
        text[len] = '\0';
        if (sscanf(text, "%255s %ld", h, &pid) == 2 && !strcmp(h, host) && pid > 0 &&
            process_gone(pid))
            sheaf__rmtree(g.gl_pathv[i]);
    }
    globfree(&g);
}

/* Every rank: its own spill directory, BASE/sheaf-spill-XXXXXX/rank-N, made fresh. On another
 * host than rank 0's the top directory is made here too, or, if it exists (a file system the
 * hosts share), accepted only as this user's private directory. */
static int make_rank_spill(sheaf_ctx *ctx, int *slot) {
    char mine[4200];
    if (ctx->rank != 0 && mkdir(ctx->spill_dir, 0700) != 0 &&
        (errno != EEXIST || !private_dir(ctx->spill_dir)))
        return sheaf__error(ctx, SHEAF_EIO, "spill directory %s: %s", ctx->spill_dir,
                            errno == EEXIST ? "not this user's private directory"
                                            : strerror(errno));
    snprintf(mine, sizeof mine, "%s/rank-%d", ctx->spill_dir, ctx->rank);
    *slot = sheaf__cleanup_add(ctx->rank == 0 ? ctx->spill_dir : mine, SHEAF__JANITOR_TREE);
    if (mkdir(mine, 0700) != 0)
        return sheaf__error(ctx, SHEAF_EIO, "cannot create spill directory %s: %s", mine,
                            strerror(errno));
    return 0;
}

/* Writes text to dir/name, a new file (O_EXCL, O_NOFOLLOW). Returns 0 or -1 with errno. */
static int write_new(const char *dir, const char *name, const char *text) {
    char path[4400];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int rc = sheaf__write_all(fd, text, strlen(text));
    if (close(fd) != 0 && !rc)
        rc = -errno;
    if (rc) {
        errno = -rc;
        return -1;
    }
    return 0;
}

/* Rank 0, after a job that started failed: its report goes to a new directory beside the
 * output, OUT.failed-report-XXXXXX (mkdtemp), as _report.json and _report.html, since the
 * output itself is left as it was before the job. Says where on stderr (a warning). */
static void failed_report(sheaf_ctx *ctx, const char *json, const char *html) {
    const char *out = ctx->cfg.output && *ctx->cfg.output ? ctx->cfg.output : "sheaf";
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/')
        n--;
    char dir[4200];
    if (snprintf(dir, sizeof dir, "%.*s.failed-report-XXXXXX", (int)n, out) >= (int)sizeof dir) {
        sheaf__log(ctx, SHEAF_LOG_WARN, "no report of the failed job: the output's name is "
                                        "too long");
        return;
    }
    if (!mkdtemp(dir)) {
        sheaf__log(ctx, SHEAF_LOG_WARN, "no report of the failed job: cannot create %s: %s",
                   dir, strerror(errno));
        return;
    }
    if (write_new(dir, "_report.json", json) != 0 ||
        (html && write_new(dir, "_report.html", html) != 0)) {
        sheaf__log(ctx, SHEAF_LOG_WARN, "report of the failed job in %s: %s", dir,
                   strerror(errno));
        return;
    }
    sheaf__log(ctx, SHEAF_LOG_WARN, "report of the failed job: %s/_report.json, _report.html",
               dir);
}

typedef struct setup_msg {
    int code;
    char msg[1024];
    char tmp[4096];
    char spill[4096];
} setup_msg;

SHEAF_EXTERN int sheaf_run(MPI_Comm comm, const sheaf_job_def *job, const sheaf_config *cfg,
                           sheaf_result *res) {
    if (res) {
        memset(res, 0, sizeof *res);
        res->failed_rank = -1;
    }
    sheaf_ctx *ctx = calloc(1, sizeof *ctx);
    setup_msg *sm = calloc(1, sizeof *sm);
    int alloc_ok = ctx && sm, all_ok;
    MPI_Allreduce(&alloc_ok, &all_ok, 1, MPI_INT, MPI_MIN, comm);
    if (!all_ok) {
        free(ctx);
        free(sm);
        return SHEAF_ENOMEM;
    }
    MPI_Comm_dup(comm, &ctx->comm);
    /* Errors come back as codes (window creation may fail and be handled), not aborts. */
    MPI_Comm_set_errhandler(ctx->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(ctx->comm, &ctx->rank);
    MPI_Comm_size(ctx->comm, &ctx->nranks);
    ctx->job = job;
    ctx->cfg = *cfg;
    ctx->seed = cfg->seed;
    ctx->sink = &sheaf__sink_none;
    ctx->outfmt = sheaf__outfmt_find(cfg->output_format ? cfg->output_format : "text");
    parse_fault(ctx);
    ctx->sent_to = calloc((size_t)ctx->nranks, sizeof *ctx->sent_to); /* NULL: not reported */
    MPI_Barrier(ctx->comm);
    double t0 = sheaf__now();
    phase(ctx, SHEAF__PH_SETUP, true);
    sheaf__place(ctx);

    sheaf__plan plan = {0};
    sheaf__commit commit = {.lockfd = -1};
    bool setup_ran = false, started = false; /* started: the job was not refused at setup */
    int spill_slot = 0;
    sheaf__codec_kind ocodec;
    int olevel;
    if (!job || !job->map)
        sheaf__error(ctx, SHEAF_EINVAL, "the job has no map function");
    else if (sheaf__format_from_config(cfg, &ctx->fmt, ctx->errmsg, sizeof ctx->errmsg))
        ctx->err = SHEAF_EUSAGE;
    else if (!(ctx->fmts = calloc(cfg->ninputs ? cfg->ninputs : 1, sizeof *ctx->fmts)))
        sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    else if (cfg->reducers > SHEAF_MAX_REDUCERS)
        sheaf__error(ctx, SHEAF_EUSAGE, "%u reducers: more than %u, the most a job may have",
                     cfg->reducers, SHEAF_MAX_REDUCERS);
    else if (!ctx->outfmt) {
        char names[256];
        sheaf__outfmt_names(names, sizeof names);
        sheaf__error(ctx, SHEAF_EUSAGE, "unknown output format '%s' (%s)", cfg->output_format,
                     names);
    } else if (sheaf__codec_parse_output(cfg->output_compression, &ocodec, &olevel, ctx->errmsg,
                                         sizeof ctx->errmsg))
        ctx->err = SHEAF_EUSAGE;
    else if (ocodec != SHEAF__CODEC_NONE && ctx->outfmt == &sheaf__out_parquet)
        sheaf__error(ctx, SHEAF_EUSAGE,
                     "--output-compression %s: Parquet compresses its own pages; give the codec "
                     "as --output-format parquet:CODEC",
                     cfg->output_compression);
    else {
        ctx->fmts[0] = ctx->fmt;
        ctx->nfmts = cfg->input_formats && cfg->ninputs > 1 ? cfg->ninputs : 1;
        for (size_t i = 0; cfg->input_formats && i < cfg->ninputs && !ctx->err; i++)
            if (sheaf__input_format(cfg, i, &ctx->fmts[i], ctx->errmsg, sizeof ctx->errmsg))
                ctx->err = SHEAF_EUSAGE;
    }
    /* One partition per rank by default, within the bound on reducers. */
    uint32_t per_rank = (uint32_t)SHEAF__MIN((uint32_t)ctx->nranks, SHEAF_MAX_REDUCERS);
    ctx->nparts = cfg->reducers ? cfg->reducers : per_rank;
    if (job && job->map_only) /* each rank writes its own part, part-r-<rank> */
        ctx->nparts = (uint32_t)ctx->nranks;
    if (!ctx->err && job && job->map_only && (uint32_t)ctx->nranks > SHEAF_MAX_REDUCERS)
        sheaf__error(ctx, SHEAF_EUSAGE, "a map-only job on %d ranks: more parts than %u",
                     ctx->nranks, SHEAF_MAX_REDUCERS);
    ctx->budget = cfg->memory ? cfg->memory : default_budget(ctx);
    int rc = sheaf__agree(ctx);

    /* Rank 0 plans and prepares the output; every rank learns the outcome. */
    if (!rc && ctx->rank == 0) {
        sm->code = sheaf__plan_build_multi(cfg, ctx->fmts, ctx->nfmts, ctx->nranks, &plan,
                                           sm->msg, sizeof sm->msg);
        ctx->c[SHEAF__C_FILES_PRUNED] += plan.pruned;
        if (!sm->code)
            sm->code = sheaf__report_check(cfg, sm->msg, sizeof sm->msg);
        if (!sm->code)
            sm->code = sheaf__commit_prepare(cfg, &commit, sm->msg, sizeof sm->msg);
        if (!sm->code && commit.note[0])
            sheaf__log(ctx, SHEAF_LOG_WARN, "%s", commit.note);
        if (!sm->code) {
            snprintf(sm->tmp, sizeof sm->tmp, "%s", commit.tmp);
            const char *base = cfg->spill_dir ? cfg->spill_dir : getenv("TMPDIR");
            if (!base || !*base)
                base = "/tmp";
            bool fits = snprintf(sm->spill, sizeof sm->spill, "%s/sheaf-spill-XXXXXX", base) <
                        (int)sizeof sm->spill;
            if (!fits)
                errno = ENAMETOOLONG;
            else
                sweep_spill(base);
            bool made = false;
            if (!fits || sheaf__mkdirs(base, 0755) != 0 || !(made = mkdtemp(sm->spill) != NULL) ||
                write_owner(sm->spill) != 0) {
                snprintf(sm->msg, sizeof sm->msg,
                         "spill directory %.400s: cannot create %.400s: %s", base, sm->spill,
                         strerror(errno));
                sm->code = SHEAF_EIO;
                sheaf__commit_abort(&commit);
                if (made)
                    sheaf__rmtree(sm->spill);
                sm->spill[0] = '\0';
            }
        }
    }
    if (!rc) {
        MPI_Bcast(sm, (int)sizeof *sm, MPI_BYTE, 0, ctx->comm);
        if (sm->code) {
            sheaf__error(ctx, sm->code, "%s", sm->msg);
            sheaf__plan_free(&plan);
            snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", sm->msg);
            rc = sm->code;
            ctx->agreed = true;
        } else {
            rc = sheaf__plan_bcast(ctx->comm, 0, 0, &plan);
            snprintf(ctx->spill_dir, sizeof ctx->spill_dir, "%s", sm->spill);
            started = true;
            if (!rc) {
                make_rank_spill(ctx, &spill_slot);
                rc = sheaf__agree(ctx);
            }
            if (!rc)
                rc = sheaf__csv_plan_quotes(ctx, &plan);
            if (!rc && ctx->rank == 0)
                sheaf__plan_warn_compressed(ctx, &plan);
            if (!rc && ctx->rank == 0)
                sheaf__log(ctx, SHEAF_LOG_INFO,
                           "plan: %zu files, %llu bytes, %zu splits of at most %llu bytes in "
                           "%zu tasks, %s schedule, %u reducers, memory %llu bytes a rank, "
                           "spill directory %s",
                           plan.nfiles, (unsigned long long)plan.total_bytes, plan.nsplits,
                           (unsigned long long)plan.split_size, plan.ntasks,
                           cfg->schedule == SHEAF_SCHEDULE_STATIC ? "static" : "dynamic",
                           ctx->nparts, (unsigned long long)ctx->budget, ctx->spill_dir);
            for (size_t i = 0; !rc && ctx->rank == 0 && i < plan.nsplits &&
                               cfg->log_level >= SHEAF_LOG_DEBUG; i++)
                sheaf__log(ctx, SHEAF_LOG_DEBUG, "split %zu: %s bytes %llu-%llu", i,
                           plan.files[plan.splits[i].file],
                           (unsigned long long)plan.splits[i].start,
                           (unsigned long long)(plan.splits[i].start + plan.splits[i].len));
        }
    }
    /* a total order over more than one partition: key ranges from a sample (sample.c) */
    bool ranged = !rc && job->total_order && !job->partition && !job->map_only && ctx->nparts > 1;
    if (!rc) {
        if (sheaf__shuffle_init(ctx) || sheaf__store_init(ctx) ||
            (ranged && sheaf__sample_init(ctx)))
            sheaf__error(ctx, SHEAF_ENOMEM, "out of memory setting up the job");
        else if (job->setup) {
            setup_ran = true;
            /* setup may emit, like map; under a total order its emits wait for the sample's
             * key ranges (sheaf__sample_emit_held); a map-only job's output opens after setup
             * declared its schema, so there setup may not emit */
            ctx->sink = job->map_only ? &sheaf__sink_none
                        : ranged      ? sheaf__sample_held_sink(ctx)
                                      : sheaf__shuffle_sink(ctx);
            rc = job->setup(ctx, job->udata);
            ctx->sink = &sheaf__sink_none;
            if (rc && !ctx->err)
                sheaf__error(ctx, rc, "setup failed (%s)", sheaf_strerror(rc));
        }
        if (ctx->fault_phase == SHEAF__PH_SETUP)
            fault(ctx, SHEAF__PH_SETUP, 0);
        phase(ctx, SHEAF__PH_SETUP, false);
        rc = sheaf__agree(ctx);
    }
    if (!rc && ranged)
        rc = sheaf__sample(ctx, &plan);
    if (!rc) {
        phase(ctx, SHEAF__PH_MAP, true);
        sheaf__outset *direct = job->map_only ? map_output(ctx, sm->tmp) : NULL;
        ctx->sink = direct            ? sheaf__outset_sink(direct)
                    : job->map_only ? &sheaf__sink_none /* failed: no task runs here */
                                    : sheaf__shuffle_sink(ctx);
        if (ctx->sampler)
            sheaf__sample_emit_held(ctx);
        map_phase(ctx, &plan); /* collective, so it runs even when direct failed */
        ctx->sink = &sheaf__sink_none;
        if (direct) {
            int crc = sheaf__outset_close(ctx, direct);
            if (crc && !ctx->err)
                sheaf__error(ctx, crc, "cannot finish the output (%s)", sheaf_strerror(crc));
            sheaf__outset_free(ctx, direct);
        }
        rc = ctx->agreed ? ctx->err : sheaf__agree(ctx);
    }
    if (!rc) {
        sheaf__shuffle_free(ctx);
        phase(ctx, SHEAF__PH_SORT, true);
        if (ctx->fault_phase == SHEAF__PH_SORT)
            fault(ctx, SHEAF__PH_SORT, 0);
        if (!ctx->err && !job->map_only)
            sheaf__reduce_all(ctx, sm->tmp);
        sheaf__progress_reduce_tick(&ctx->prog, ctx, true);
        if (!ctx->phase_start[SHEAF__PH_REDUCE])
            phase(ctx, SHEAF__PH_SORT, false);
        if (ctx->fault_phase == SHEAF__PH_REDUCE)
            fault(ctx, SHEAF__PH_REDUCE, ctx->c[SHEAF__C_REDUCE_GROUPS]);
        sheaf__log(ctx, SHEAF_LOG_INFO, "reduce: %llu groups of %llu records into %llu records "
                   "(%llu bytes); %llu spilled runs, %llu merge passes",
                   (unsigned long long)ctx->c[SHEAF__C_REDUCE_GROUPS],
                   (unsigned long long)ctx->c[SHEAF__C_REDUCE_RECORDS],
                   (unsigned long long)ctx->c[SHEAF__C_OUTPUT_RECORDS],
                   (unsigned long long)ctx->c[SHEAF__C_OUTPUT_BYTES],
                   (unsigned long long)ctx->c[SHEAF__C_SPILL_RUNS],
                   (unsigned long long)ctx->c[SHEAF__C_MERGE_PASSES]);
        phase(ctx, SHEAF__PH_REDUCE, false);
        phase(ctx, SHEAF__PH_COMMIT, true);
        if (ctx->fault_phase == SHEAF__PH_COMMIT)
            fault(ctx, SHEAF__PH_COMMIT, 0);
        sheaf__progress_wait(&ctx->prog, ctx);
        sheaf__progress_end(&ctx->prog);
        rc = sheaf__agree(ctx);
    }
    /* cleanup runs on every rank whose setup ran, whether the job failed or not. */
    if (setup_ran && job->cleanup) {
        int crc = job->cleanup(ctx, job->udata);
        if (crc && !ctx->err)
            sheaf__error(ctx, crc, "cleanup failed (%s)", sheaf_strerror(crc));
        if (!rc)
            rc = sheaf__agree(ctx);
    }
    sheaf__progress_end(&ctx->prog);
    sheaf__store_free(ctx);
    sheaf__shuffle_free(ctx);
    sheaf__sample_free(ctx);

    /* Report (collective), then commit or abort on rank 0. */
    double t1 = sheaf__now();
    phase(ctx, SHEAF__PH_COMMIT, false);
    char *html = NULL;
    sheaf_result local;
    if (!res)
        res = &local;
    char *report = sheaf__report(ctx, rc ? NULL : &plan, res, t0, t1, &html);
    /* Rank 0 summed the user counters: every rank's result gets them. */
    MPI_Bcast(&res->nuser_counters, (int)(sizeof res->nuser_counters + sizeof res->user_counters),
              MPI_BYTE, 0, ctx->comm);
    MPI_Bcast(res->warnings, (int)sizeof res->warnings, MPI_CHAR, 0, ctx->comm);
    if (ctx->rank == 0) {
        bool failed = rc != 0;
        if (!rc) {
            char err[1024];
            /* rows written to partition folders leave no part file at the top */
            uint32_t nparts = sheaf__pq_folders(ctx) ? 0 : ctx->nparts;
            int c = sheaf__commit_finish(&commit, nparts, report, html, err, sizeof err);
            if (!c)
                sheaf__log(ctx, SHEAF_LOG_INFO, "commit: %u parts, _report.json, "
                           "_report.html and _SUCCESS in %s", ctx->nparts, cfg->output);
            if (c) {
                sheaf__error(ctx, c, "commit: %s", err);
                sheaf__commit_abort(&commit);
                /* The report was written as a success: it now says what failed. */
                char msg[1100];
                snprintf(msg, sizeof msg, "rank 0: commit: %s", err);
                sheaf__report_failed(&report, &html, msg);
                failed = true;
            }
        } else {
            sheaf__commit_abort(&commit);
            sheaf__log(ctx, SHEAF_LOG_INFO, "commit: the job failed; %s left as it was",
                       cfg->output ? cfg->output : "the output");
        }
        if (failed && started && report)
            failed_report(ctx, report, html);
        /* A job refused at setup (bad usage, an existing output) writes no report. */
        char err[1024];
        if (cfg->report && report && started &&
            sheaf__report_write(cfg->report, report, err, sizeof err) != 0)
            sheaf__log(ctx, SHEAF_LOG_ERROR, "%s", err);
    }
    /* Commit's outcome on rank 0 becomes everyone's. */
    if (!rc)
        rc = sheaf__agree(ctx);
    free(report);
    free(html);

    /* Spill files go whatever happened. */
    if (ctx->spill_dir[0]) {
        char mine[4200];
        snprintf(mine, sizeof mine, "%s/rank-%d", ctx->spill_dir, ctx->rank);
        sheaf__rmtree(mine);
        MPI_Barrier(ctx->comm);
        if (ctx->rank == 0)
            sheaf__rmtree(ctx->spill_dir);
        else
            rmdir(ctx->spill_dir); /* made here when this host is not rank 0's */
        sheaf__cleanup_drop(spill_slot);
    }
    if (res) {
        res->status = rc;
        if (rc) {
            snprintf(res->message, sizeof res->message, "%s", ctx->errmsg);
            int first = -1;
            sscanf(ctx->errmsg, "rank %d:", &first);
            res->failed_rank = first;
        }
    }
    sheaf__plan_free(&plan);
    for (size_t i = 0; i < ctx->nuser; i++)
        free(ctx->user[i].name);
    free(ctx->user);
    free(ctx->sent_to);
    MPI_Comm_free(&ctx->comm);
    free(ctx->fmts);
    sheaf__pqjob_free(ctx);
    free(ctx);
    free(sm);
    return rc;
}
