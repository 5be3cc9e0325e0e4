/*
 * sample.c: the total-order partitioner.
 *
 * A job that asks for total order (sheaf_job_def.total_order) gets partitions that are key
 * ranges rather than hash buckets, so part-r-00000, part-r-00001, ... concatenated in order
 * are globally sorted. Before the map phase every rank reads the first records of a few of
 * the tasks it would have statically (cfg->sample records over all ranks), runs map() on them
 * with its emits captured instead of shuffled, and sends the keys to rank 0. Rank 0 sorts the
 * sample under the job's key order and takes the keys at the quantiles i/nparts as cut points,
 * which every rank receives. A key goes to the partition of the first cut point greater than
 * it (binary search), so keys equal to a cut point start the next partition. Sampling costs
 * one read of a few records per task and does not count in the job's counters.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

typedef sheaf__keyref keyref;

/* A total-order job's sampler state. */
struct sheaf__sampler {
    sheaf__sink held_sink;   /* setup's emits wait in held until the ranges are known */
    sheaf__sink sample_sink; /* the sample's map emits: keys into sample_buf */
    sheaf__buf held;
    sheaf__buf sample_buf;
    uint64_t sample_count;
    sheaf__ranges ranges;
};

static int keyref_cmp(const keyref *x, const keyref *y, sheaf_compare_fn cmp) {
    if (cmp)
        return cmp(x->p, x->n, y->p, y->n);
    return sheaf__bytes_compare(x->p, x->n, y->p, y->n);
}

/* Sorts keys[0..n) under cmp: a merge sort through tmp (n entries), which takes the order as
 * an argument where qsort would need it in a static. Stable, O(n log n). */
static void keyref_sort(keyref *keys, keyref *tmp, size_t n, sheaf_compare_fn cmp) {
    if (n < 2)
        return;
    size_t h = n / 2;
    keyref_sort(keys, tmp, h, cmp);
    keyref_sort(keys + h, tmp, n - h, cmp);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = keyref_cmp(&keys[j], &keys[i], cmp) < 0 ? keys[j++] : keys[i++];
    while (i < h)
        tmp[k++] = keys[i++];
    memcpy(keys, tmp, k * sizeof *keys);
}

static int sample_emit(sheaf__sink *s, sheaf_ctx *ctx, const void *key, size_t klen,
                       const void *val, size_t vlen) {
    sheaf__sampler *sm = ctx->sampler;
    sheaf__buf *b = &sm->sample_buf;
    if (sheaf__buf_reserve(b, SHEAF__VARINT_MAX + klen))
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory sampling keys");
    b->len += sheaf__varint_put(b->data + b->len, klen);
    if (klen)
        memcpy(b->data + b->len, key, klen);
    b->len += klen;
    sm->sample_count++;
    return 0;
}

/* Setup's emits before the ranges are known: kept as records. */
static int held_emit(sheaf__sink *s, sheaf_ctx *ctx, const void *key, size_t klen,
                     const void *val, size_t vlen) {
    if (!sheaf__buf_add_rec(&ctx->sampler->held, 0, key, klen, val, vlen))
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory holding setup's emits");
    return 0;
}

static const sheaf__sink_ops sample_ops = {.emit = sample_emit};
static const sheaf__sink_ops held_ops = {.emit = held_emit};

int sheaf__sample_init(sheaf_ctx *ctx) {
    if (!(ctx->sampler = calloc(1, sizeof *ctx->sampler)))
        return SHEAF_ENOMEM;
    ctx->sampler->held_sink = (sheaf__sink){.ops = &held_ops, .flags = SHEAF__SINK_MAP};
    ctx->sampler->sample_sink = (sheaf__sink){.ops = &sample_ops,
                                              .flags = SHEAF__SINK_UNCOUNTED};
    return 0;
}

sheaf__sink *sheaf__sample_held_sink(sheaf_ctx *ctx) {
    return &ctx->sampler->held_sink;
}

int sheaf__sample_emit_held(sheaf_ctx *ctx) {
    sheaf__buf *held = &ctx->sampler->held;
    const uint8_t *p = held->data, *end = p + held->len;
    int rc = 0;
    while (p < end && !rc) {
        sheaf__kv kv;
        size_t n = sheaf__rec_get(p, end, &kv);
        if (!n) {
            rc = sheaf__error(ctx, SHEAF_EIO, "setup's held emits are corrupt");
            break;
        }
        rc = sheaf_emit(ctx, kv.key, kv.klen, kv.val, kv.vlen);
        p += n;
    }
    sheaf__buf_free(held);
    return rc;
}

/* Reads up to want records from the start of a task's first split and maps them. */
static void sample_task(sheaf_ctx *ctx, const sheaf__plan *plan, const sheaf__task *t,
                        uint64_t want, sheaf__reader *rd) {
    char err[1024];
    const sheaf__split *sp = &plan->splits[t->first];
    if (sheaf__reader_open_split(rd, plan, t->first, sheaf__file_format(ctx, plan, sp->file),
                                 err, sizeof err)) {
        sheaf__reader_close(rd);
        return; /* the map phase will report it */
    }
    sheaf_record rec;
    int rc;
    for (uint64_t n = 0; n < want && !ctx->err; n++) {
        rc = sheaf__reader_next(rd, &rec, err, sizeof err);
        if (rc == SHEAF_EFORMAT && !rd->done)
            continue;
        if (rc <= 0)
            break;
        rec.input = plan->origin[sp->file];
        ctx->job->map(ctx, &rec, ctx->job->udata);
    }
    sheaf__reader_close(rd);
}

int sheaf__sample(sheaf_ctx *ctx, const sheaf__plan *plan) {
    int P = ctx->nranks;
    uint64_t mine_tasks = 0;
    for (uint64_t i = (uint64_t)ctx->rank; i < plan->ntasks; i += (uint64_t)P)
        mine_tasks++;
    uint64_t per_rank = (ctx->cfg.sample + (uint64_t)P - 1) / (uint64_t)P;
    uint64_t ntask_sample = SHEAF__MIN(mine_tasks, 16);
    sheaf__reader rd = {.fd = -1};
    sheaf__sampler *sm = ctx->sampler;
    sheaf__sink *saved = ctx->sink;
    ctx->sink = &sm->sample_sink;
    if (ntask_sample) {
        uint64_t want = (per_rank + ntask_sample - 1) / ntask_sample;
        uint64_t step = mine_tasks / ntask_sample;
        for (uint64_t k = 0; k < ntask_sample && !ctx->err; k++) {
            uint64_t idx = (uint64_t)ctx->rank + k * step * (uint64_t)P;
            sample_task(ctx, plan, &plan->tasks[idx], want, &rd);
        }
    }
    ctx->sink = saved;
    sheaf__reader_free(&rd);
    int rc = sheaf__agree(ctx);
    if (rc)
        return rc;

    /* Gather the samples on rank 0. */
    int mylen = (int)SHEAF__MIN(sm->sample_buf.len, (size_t)(1u << 30) / (size_t)P);
    int *lens = ctx->rank == 0 ? calloc((size_t)P, sizeof *lens) : NULL;
    int *displ = ctx->rank == 0 ? calloc((size_t)P, sizeof *displ) : NULL;
    MPI_Gather(&mylen, 1, MPI_INT, lens, 1, MPI_INT, 0, ctx->comm);
    uint8_t *all = NULL;
    size_t total = 0;
    if (ctx->rank == 0) {
        for (int r = 0; r < P; r++) {
            displ[r] = (int)total;
            total += (size_t)lens[r];
        }
        all = malloc(total ? total : 1);
    }
    /* A truncated buffer ends on a record boundary only by chance: cut it at one. */
    if ((size_t)mylen < sm->sample_buf.len) {
        const uint8_t *p = sm->sample_buf.data, *end = p + mylen, *last = p;
        while (p < end) {
            uint64_t n;
            size_t h = sheaf__varint_get(p, end, &n);
            if (!h || n > (uint64_t)(end - p - h))
                break;
            p += h + n;
            last = p;
        }
        mylen = (int)(last - sm->sample_buf.data);
    }
    MPI_Gatherv(sm->sample_buf.data, mylen, MPI_BYTE, all, lens, displ, MPI_BYTE, 0,
                ctx->comm);

    /* Rank 0 picks the cut points; everyone gets them. */
    sheaf__buf cuts = {0};
    uint64_t ncuts = 0;
    if (ctx->rank == 0) {
        size_t n = 0;
        for (const uint8_t *p = all, *end = all + total; p < end;) {
            uint64_t kl = 0;
            size_t h = sheaf__varint_get(p, end, &kl);
            if (!h)
                break;
            p += h + kl;
            n++;
        }
        keyref *keys = malloc((n ? n : 1) * sizeof *keys);
        size_t i = 0;
        for (const uint8_t *p = all, *end = all + total; keys && p < end && i < n;) {
            uint64_t kl = 0;
            size_t h = sheaf__varint_get(p, end, &kl);
            keys[i].p = p + h;
            keys[i++].n = (size_t)kl;
            p += h + kl;
        }
        keyref *tmp = keys ? malloc((n ? n : 1) * sizeof *tmp) : NULL;
        sheaf_compare_fn cmp = ctx->job->compare;
        if (keys && tmp && n) {
            keyref_sort(keys, tmp, n, cmp);
            const keyref *prev = NULL;
            for (uint32_t k = 1; k < ctx->nparts; k++) {
                const keyref *c = &keys[(size_t)((uint64_t)k * n / ctx->nparts)];
                if (prev && keyref_cmp(c, prev, cmp) == 0)
                    continue; /* a heavy key: fewer, not empty-width, ranges */
                prev = c;
                if (sheaf__buf_reserve(&cuts, SHEAF__VARINT_MAX + c->n) == 0) {
                    cuts.len += sheaf__varint_put(cuts.data + cuts.len, c->n);
                    memcpy(cuts.data + cuts.len, c->p, c->n);
                    cuts.len += c->n;
                    ncuts++;
                }
            }
        }
        free(tmp);
        free(keys);
    }
    uint64_t hdr[2] = {ncuts, cuts.len};
    MPI_Bcast(hdr, 2, MPI_UINT64_T, 0, ctx->comm);
    if (ctx->rank != 0 && sheaf__buf_reserve(&cuts, hdr[1] ? hdr[1] : 1))
        sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    if (hdr[1])
        MPI_Bcast(cuts.data, (int)hdr[1], MPI_BYTE, 0, ctx->comm);
    sm->ranges.data = cuts.data;
    keyref *refs = calloc(hdr[0] ? hdr[0] : 1, sizeof *refs);
    const uint8_t *p = cuts.data;
    for (uint64_t k = 0; refs && k < hdr[0]; k++) {
        uint64_t kl = 0;
        size_t h = sheaf__varint_get(p, cuts.data + hdr[1], &kl);
        refs[k].p = p + h;
        refs[k].n = (size_t)kl;
        p += h + kl;
    }
    sm->ranges.cuts = refs;
    sm->ranges.ncuts = refs ? (size_t)hdr[0] : 0;
    if (refs)
        ctx->ranges = &sm->ranges;
    free(all);
    free(lens);
    free(displ);
    sheaf__buf_free(&sm->sample_buf);
    return sheaf__agree(ctx);
}

void sheaf__sample_free(sheaf_ctx *ctx) {
    sheaf__sampler *sm = ctx->sampler;
    if (!sm)
        return;
    if (ctx->sink == &sm->held_sink || ctx->sink == &sm->sample_sink)
        ctx->sink = &sheaf__sink_none;
    free(sm->ranges.cuts);
    free(sm->ranges.data);
    sheaf__buf_free(&sm->sample_buf);
    sheaf__buf_free(&sm->held);
    free(sm);
    ctx->sampler = NULL;
    ctx->ranges = NULL;
}
