/*
 * progress.c: rank 0's progress display, on a terminal or with --progress.
 *
 * The map bar counts tasks claimed by all ranks (read from the shared task counter, or rank
 * 0's own share under static scheduling) and their bytes, with the rate and an ETA; the reduce
 * line counts rank 0's groups. Redrawn at most five times a second, from rank 0's loops. The
 * state is the job's (sheaf_ctx.prog), so jobs on several communicators do not share it.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void sheaf__progress_start(sheaf__progress *p, const sheaf_ctx *ctx, const sheaf__plan *plan,
                           MPI_Win win) {
    memset(p, 0, sizeof *p);
    int want = ctx->cfg.progress;
    if (want < 0)
        want = isatty(2);
    p->on = ctx->rank == 0 && want > 0 && !ctx->cfg.quiet;
    if (!p->on)
        return;
    p->t0 = p->last = sheaf__now();
    p->plan = plan;
    p->win = win;
    p->prefix = calloc(plan->ntasks + 1, sizeof *p->prefix);
    if (!p->prefix) {
        p->on = false;
        return;
    }
    for (size_t i = 0; i < plan->ntasks; i++)
        p->prefix[i + 1] = p->prefix[i] + plan->tasks[i].bytes;
}

static void human(double v, char *out, size_t n) {
    const char *u = "B";
    if (v >= 1 << 30) v /= 1 << 30, u = "GiB";
    else if (v >= 1 << 20) v /= 1 << 20, u = "MiB";
    else if (v >= 1 << 10) v /= 1 << 10, u = "KiB";
    snprintf(out, n, "%.1f %s", v, u);
}

void sheaf__progress_map(sheaf__progress *p, const sheaf_ctx *ctx, bool final) {
    if (!p->on)
        return;
    double now = sheaf__now();
    if (!final && now - p->last < 0.2)
        return;
    p->last = now;
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
    double done = (double)p->prefix[claimed], total = (double)p->prefix[plan->ntasks];
    double frac = total > 0 ? done / total : 1, secs = now - p->t0;
    double rate = secs > 0 ? done / secs : 0, eta = rate > 0 ? (total - done) / rate : 0;
    char bar[31], d[32], t[32], r[32];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : ' ';
    bar[30] = '\0';
    human(done, d, sizeof d);
    human(total, t, sizeof t);
    human(rate, r, sizeof r);
    fprintf(stderr, "\rmap    [%s] %3.0f%%  %llu/%zu tasks  %s/%s  %s/s  ETA %.0f s   ", bar,
            frac * 100, (unsigned long long)claimed, plan->ntasks, d, t, r, final ? 0 : eta);
    if (final)
        fputc('\n', stderr);
}

void sheaf__progress_reduce(sheaf__progress *p, const sheaf_ctx *ctx, bool final) {
    if (!p->on)
        return;
    double now = sheaf__now();
    if (!final && now - p->last < 0.2)
        return;
    p->last = now;
    fprintf(stderr, "\rreduce rank 0: %llu groups, %llu records out%s",
            (unsigned long long)ctx->c[SHEAF__C_REDUCE_GROUPS],
            (unsigned long long)ctx->c[SHEAF__C_OUTPUT_RECORDS], final ? "\n" : "   ");
}

void sheaf__progress_end(sheaf__progress *p) {
    free(p->prefix);
    memset(p, 0, sizeof *p);
}
