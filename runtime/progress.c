/*
 * progress.c: the progress display, drawn by rank 0 on a terminal.
 *
 * Whether to draw is rank 0's decision, broadcast to every rank when the map starts:
 * --progress or --no-progress if given (--quiet: never); else yes when rank 0's stderr is a
 * terminal (a job run without a launcher, or under `srun --pty`), or when a launcher that
 * forwards the ranks' output (Open MPI's mpirun, any PMIx launcher whose process is this
 * rank's parent on this host) has its own stderr on a terminal, which rank 0 reads from
 * /proc/PPID/fd/2. A pipe or a file is never drawn into unless --progress asks for it.
 *
 * What it shows, one line per phase, each line finished when its phase ends:
 *   map      tasks claimed by all ranks (the shared task counter, or rank 0's share times the
 *            ranks under static scheduling) and their bytes, the rate and, from the second
 *            frame on, an ETA; redrawn until every rank has mapped;
 *   shuffle  once every rank has mapped: the rounds and the bytes all ranks exchanged;
 *   reduce   the ranks done sorting (with the spilled runs and merge passes of all ranks),
 *            then the groups, records in and out, and the ranks done reducing.
 * The figures of other ranks reach rank 0 through a small RMA window on rank 0 that every
 * rank adds to (MPI_Accumulate) at its phase ends, once per shuffle round and every few
 * thousand groups of its reduce; nothing is added per record. Rank 0 redraws at most five
 * times a second from its own loops, and while it waits for the other ranks to finish their
 * reduce it polls a non-blocking barrier so the lines keep moving. The state is the job's
 * (sheaf_ctx.prog), so jobs on several communicators do not share it.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* True when the launcher that started this process (its parent) writes to a terminal: the
 * parent is the launcher only under Open MPI or PMIx on the launcher's host. */
static bool launcher_on_terminal(void) {
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK"))
        return false;
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/fd/2", (long)getppid());
    struct stat st; /* only a character device is opened (a terminal is one), never a file */
    if (stat(path, &st) != 0 || !S_ISCHR(st.st_mode))
        return false;
    int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool tty = isatty(fd);
    close(fd);
    return tty;
}

/* Rank 0's choice, as described atop the file. */
static bool wanted(const sheaf_ctx *ctx) {
    if (ctx->cfg.quiet || ctx->cfg.progress == 0)
        return false;
    if (ctx->cfg.progress > 0)
        return true;
    if (isatty(2))
        return true;
    return launcher_on_terminal();
}

void sheaf__progress_start(sheaf__progress *p, const sheaf_ctx *ctx, const sheaf__plan *plan,
                           MPI_Win win) {
    memset(p, 0, sizeof *p);
    p->shared_win = MPI_WIN_NULL;
    int on = ctx->rank == 0 && wanted(ctx);
    MPI_Bcast(&on, 1, MPI_INT, 0, ctx->comm);
    if (!on)
        return;
    /* The shared figures: every rank makes the window together, or nobody has it. */
    uint64_t *base = NULL;
    MPI_Aint size = ctx->rank == 0 ? (MPI_Aint)(SHEAF__PROG_COUNT * sizeof(uint64_t)) : 0;
    int ok = MPI_Win_allocate(size, sizeof(uint64_t), MPI_INFO_NULL, ctx->comm, &base,
                              &p->shared_win) == MPI_SUCCESS, all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, ctx->comm);
    if (!all_ok) {
        if (ok)
            MPI_Win_free(&p->shared_win);
        p->shared_win = MPI_WIN_NULL;
    } else {
        if (ctx->rank == 0)
            memset(base, 0, SHEAF__PROG_COUNT * sizeof(uint64_t));
        MPI_Barrier(ctx->comm);
        MPI_Win_lock_all(0, p->shared_win);
        p->shared = true;
    }
    if (ctx->rank != 0)
        return;
    p->t0 = sheaf__now();
    p->last = 0;
    p->plan = plan;
    p->win = win;
    p->prefix = calloc(plan->ntasks + 1, sizeof *p->prefix);
    if (!p->prefix)
        return;
    for (size_t i = 0; i < plan->ntasks; i++)
        p->prefix[i + 1] = p->prefix[i] + plan->tasks[i].bytes;
    p->on = true;
}

void sheaf__progress_add(sheaf__progress *p, int slot, uint64_t n, bool complete) {
    if (!p->shared || n == 0)
        return;
    p->adds[slot] = n; /* the origin buffer stays valid until the next add to the slot */
    MPI_Accumulate(&p->adds[slot], 1, MPI_UINT64_T, 0, slot, 1, MPI_UINT64_T, MPI_SUM,
                   p->shared_win);
    if (complete)
        MPI_Win_flush(0, p->shared_win);
    else
        MPI_Win_flush_local(0, p->shared_win);
}

/* Rank 0: the shared figures as they are now (zeros without the window). */
static void read_shared(sheaf__progress *p, uint64_t *v) {
    memset(v, 0, SHEAF__PROG_COUNT * sizeof *v);
    if (!p->shared)
        return;
    uint64_t dummy[SHEAF__PROG_COUNT] = {0};
    MPI_Get_accumulate(dummy, SHEAF__PROG_COUNT, MPI_UINT64_T, v, SHEAF__PROG_COUNT,
                       MPI_UINT64_T, 0, 0, SHEAF__PROG_COUNT, MPI_UINT64_T, MPI_NO_OP,
                       p->shared_win);
    MPI_Win_flush(0, p->shared_win);
}

static void human(double v, char *out, size_t n) {
    const char *u = "B";
    if (v >= 1 << 30) v /= 1 << 30, u = "GiB";
    else if (v >= 1 << 20) v /= 1 << 20, u = "MiB";
    else if (v >= 1 << 10) v /= 1 << 10, u = "KiB";
    snprintf(out, n, "%.1f %s", v, u);
}

/* True when a frame is due (always for a final one). */
static bool due(sheaf__progress *p, bool final) {
    if (!p->on)
        return false;
    double now = sheaf__now();
    if (!final && p->last > 0 && now - p->last < 0.2)
        return false;
    p->last = now;
    return true;
}

void sheaf__progress_map(sheaf__progress *p, const sheaf_ctx *ctx, bool final) {
    if (!due(p, final))
        return;
    const sheaf__plan *plan = p->plan;
    uint64_t claimed;
    if (p->win != MPI_WIN_NULL) {
        uint64_t zero = 0;
        MPI_Fetch_and_op(&zero, &claimed, MPI_UINT64_T, 0, 0, MPI_NO_OP, p->win);
        MPI_Win_flush(0, p->win);
    } else {
        claimed = ctx->tasks_mapped * (uint64_t)ctx->nranks;
    }
    /* Claimed tasks include one in progress per rank: count those as not done yet. */
    claimed = claimed > (uint64_t)ctx->nranks ? claimed - (uint64_t)ctx->nranks : 0;
    if (final || claimed > plan->ntasks)
        claimed = plan->ntasks;
    double now = sheaf__now();
    double done = (double)p->prefix[claimed], total = (double)p->prefix[plan->ntasks];
    double frac = total > 0 ? done / total : 1, secs = now - p->t0;
    char bar[31], d[32], t[32], r[32], eta[32];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : ' ';
    bar[30] = '\0';
    human(done, d, sizeof d);
    human(total, t, sizeof t);
    /* A rate and an ETA need two frames: the first one has nothing to measure yet. */
    p->frames++;
    if (p->frames < 2 && !final) {
        snprintf(r, sizeof r, "-- B/s");
        snprintf(eta, sizeof eta, "ETA --");
    } else {
        double rate = secs > 0 ? done / secs : 0;
        human(rate, r, sizeof r);
        snprintf(r + strlen(r), sizeof r - strlen(r), "/s");
        if (final)
            snprintf(eta, sizeof eta, "%.1f s", secs);
        else if (rate > 0)
            snprintf(eta, sizeof eta, "ETA %.0f s", (total - done) / rate);
        else
            snprintf(eta, sizeof eta, "ETA --");
    }
    fprintf(stderr, "\rmap     [%s] %3.0f%%  %llu/%zu tasks  %s/%s  %s  %s   ", bar,
            frac * 100, (unsigned long long)claimed, plan->ntasks, d, t, r, eta);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

void sheaf__progress_shuffle(sheaf__progress *p, const sheaf_ctx *ctx) {
    if (ctx->job->map_only || !due(p, true)) /* a map-only job has no shuffle */
        return;
    uint64_t v[SHEAF__PROG_COUNT];
    read_shared(p, v);
    char b[32];
    human((double)v[SHEAF__PROG_SHUFFLE_BYTES], b, sizeof b);
    fprintf(stderr, "shuffle %llu round%s, %s exchanged by %d rank%s\n",
            (unsigned long long)ctx->c[SHEAF__C_SHUFFLE_ROUNDS],
            ctx->c[SHEAF__C_SHUFFLE_ROUNDS] == 1 ? "" : "s", b, ctx->nranks,
            ctx->nranks == 1 ? "" : "s");
    fflush(stderr);
}

void sheaf__progress_reduce(sheaf__progress *p, const sheaf_ctx *ctx, bool final) {
    if (!due(p, final))
        return;
    uint64_t v[SHEAF__PROG_COUNT];
    read_shared(p, v);
    if (ctx->job->map_only) { /* its output was written by map: how much, and who is done */
        fprintf(stderr, "\routput  %llu/%d ranks done: %llu records written   %s",
                (unsigned long long)v[SHEAF__PROG_REDUCED], ctx->nranks,
                (unsigned long long)v[SHEAF__PROG_RECS_OUT], final ? "\n" : "");
        fflush(stderr);
        return;
    }
    fprintf(stderr, "\rreduce  %llu/%d sorted (%llu runs spilled, %llu merges), %llu/%d done: "
                    "%llu groups, %llu records in, %llu out   %s",
            (unsigned long long)v[SHEAF__PROG_SORTED], ctx->nranks,
            (unsigned long long)v[SHEAF__PROG_RUNS], (unsigned long long)v[SHEAF__PROG_MERGES],
            (unsigned long long)v[SHEAF__PROG_REDUCED], ctx->nranks,
            (unsigned long long)v[SHEAF__PROG_GROUPS], (unsigned long long)v[SHEAF__PROG_RECS_IN],
            (unsigned long long)v[SHEAF__PROG_RECS_OUT], final ? "\n" : "");
    fflush(stderr);
}

void sheaf__progress_sorted(sheaf__progress *p, sheaf_ctx *ctx) {
    if (!p->shared)
        return;
    sheaf__progress_add(p, SHEAF__PROG_RUNS, ctx->c[SHEAF__C_SPILL_RUNS], false);
    sheaf__progress_add(p, SHEAF__PROG_MERGES, ctx->c[SHEAF__C_MERGE_PASSES], false);
    sheaf__progress_add(p, SHEAF__PROG_SORTED, 1, true);
    if (ctx->rank == 0)
        sheaf__progress_reduce(p, ctx, false);
}

void sheaf__progress_reduce_tick(sheaf__progress *p, sheaf_ctx *ctx, bool final) {
    if (!p->shared)
        return;
    if (!final && sheaf__now() - p->last_add < 0.2)
        return;
    p->last_add = sheaf__now();
    sheaf__progress_add(p, SHEAF__PROG_GROUPS, ctx->c[SHEAF__C_REDUCE_GROUPS] - p->sent[0],
                        final);
    sheaf__progress_add(p, SHEAF__PROG_RECS_IN, ctx->c[SHEAF__C_REDUCE_RECORDS] - p->sent[1],
                        final);
    sheaf__progress_add(p, SHEAF__PROG_RECS_OUT, ctx->c[SHEAF__C_OUTPUT_RECORDS] - p->sent[2],
                        final);
    p->sent[0] = ctx->c[SHEAF__C_REDUCE_GROUPS];
    p->sent[1] = ctx->c[SHEAF__C_REDUCE_RECORDS];
    p->sent[2] = ctx->c[SHEAF__C_OUTPUT_RECORDS];
    if (final)
        sheaf__progress_add(p, SHEAF__PROG_REDUCED, 1, true);
    if (ctx->rank == 0)
        sheaf__progress_reduce(p, ctx, false);
}

void sheaf__progress_wait(sheaf__progress *p, const sheaf_ctx *ctx) {
    if (!p->shared)
        return;
    /* Every rank takes part in the same non-blocking barrier (a blocking one would not match
     * it); only rank 0 polls it. */
    MPI_Request req;
    if (MPI_Ibarrier(ctx->comm, &req) != MPI_SUCCESS)
        return;
    if (ctx->rank != 0) {
        MPI_Wait(&req, MPI_STATUS_IGNORE);
        return;
    }
    int done = 0;
    struct timespec pause = {0, 20 * 1000 * 1000};
    while (MPI_Test(&req, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done) {
        sheaf__progress_reduce(p, ctx, false);
        nanosleep(&pause, NULL);
    }
    if (!done)
        MPI_Wait(&req, MPI_STATUS_IGNORE);
    if (!ctx->err)
        sheaf__progress_reduce(p, ctx, true);
}

void sheaf__progress_end(sheaf__progress *p) {
    if (p->shared) {
        MPI_Win_unlock_all(p->shared_win);
        MPI_Win_free(&p->shared_win);
    }
    free(p->prefix);
    memset(p, 0, sizeof *p);
    p->shared_win = MPI_WIN_NULL;
}
