/*
 * reduce.c: grouping, the value iterator, and the reduce loop.
 *
 * The reduce side reads one sorted source (store.c) and walks it partition by partition,
 * writing each partition this rank owns to its own part-r-NNNNN file under the job's temporary
 * directory (partitions with no records still get an empty file, as in Hadoop). Within a
 * partition, consecutive records whose keys are equal under the grouping comparator form a
 * group; reduce() sees the group's first key and its values through sheaf_values, which pulls
 * records from the source on demand, so a group may be larger than memory. Values the reducer
 * does not read are skipped. A job with a built-in aggregation and no reduce callback gets
 * the aggregate written as text; a job with neither writes every record (an identity reduce).
 *
 * Output goes through the output set (writer.c), which is the phase's sink: reduce's emits and
 * sheaf_emit_named reach it through sheaf_emit (emit.c); the formats are out_*.c.
 */
#include "internal.h"

#include <stdlib.h>

/* ---- the value iterator ---- */

/* Whether a record belongs to the group: under the bytewise order, keys of different lengths
 * differ without a look at their bytes. */
static inline bool same_group(const sheaf_values *v, const sheaf__kv *kv) {
    if (v->group)
        return v->group(v->gkey, v->gklen, kv->key, kv->klen) == 0;
    return v->gklen == kv->klen && (!kv->klen || memcmp(v->gkey, kv->key, kv->klen) == 0);
}

SHEAF_EXTERN int sheaf_values_next(sheaf_values *v, const void **val, size_t *vlen) {
    switch (v->kind) {
    case SHEAF__VALS_CHAIN: {
        if (!v->next)
            return 0;
        const uint8_t *p = v->arena + v->next - 1;
        uint64_t next, len = 0;
        memcpy(&next, p, 8);
        size_t h = sheaf__varint_get(p + 8, p + 8 + SHEAF__VARINT_MAX, &len);
        *val = p + 8 + h;
        *vlen = (size_t)len;
        v->next = next;
        return 1;
    }
    case SHEAF__VALS_ONE:
        if (v->one_used)
            return 0;
        v->one_used = true;
        *val = v->one;
        *vlen = v->onelen;
        return 1;
    case SHEAF__VALS_SOURCE:
        if (v->first_pending) {
            v->first_pending = false;
        } else {
            if (v->ended)
                return 0;
            int rc = v->src->next(v->src, &v->cur);
            if (rc <= 0) {
                v->ended = true;
                v->have_next = false;
                v->err = rc;
                return 0;
            }
            if (v->cur.part != v->part || !same_group(v, &v->cur)) {
                v->ended = true;
                v->have_next = true;
                return 0;
            }
        }
        *val = v->cur.val;
        *vlen = v->cur.vlen;
        v->nread++;
        return 1;
    default:
        return 0;
    }
}

SHEAF_EXTERN const void *sheaf_values_key(sheaf_values *v, size_t *klen) {
    if (v->kind == SHEAF__VALS_SOURCE && !v->ended) {
        *klen = v->cur.klen;
        return v->cur.key;
    }
    *klen = v->gklen;
    return v->gkey;
}

/* ---- the reduce loop ---- */

static int reduce_group(sheaf_ctx *ctx, sheaf__outset *out, sheaf_values *v) {
    const sheaf_job_def *job = ctx->job;
    ctx->c[SHEAF__C_REDUCE_GROUPS]++;
    if (job->reduce) {
        int rc = job->reduce(ctx, v->gkey, v->gklen, v, job->udata);
        if (rc && !ctx->err)
            sheaf__error(ctx, rc, "reduce failed on a key of %zu bytes (%s)", v->gklen,
                         sheaf_strerror(rc));
        return rc ? rc : ctx->err;
    }
    const void *val;
    size_t vlen;
    if (job->agg != SHEAF_AGG_NONE) {
        sheaf_agg agg = job->agg == SHEAF_AGG_COUNT ? SHEAF_AGG_SUM_U64 : job->agg;
        uint8_t acc[8];
        bool first = true;
        while (sheaf_values_next(v, &val, &vlen)) {
            if (first)
                sheaf__agg_init(agg, acc, val, vlen);
            else
                sheaf__agg_merge(agg, acc, val, vlen);
            first = false;
        }
        if (ctx->outfmt->text_values) {
            char txt[64];
            size_t n = sheaf__agg_format(agg, acc, txt, sizeof txt);
            return sheaf__outset_write(ctx, out, v->gkey, v->gklen, txt, n);
        }
        return sheaf__outset_write(ctx, out, v->gkey, v->gklen, acc, 8);
    }
    int rc = 0;
    while (!rc && sheaf_values_next(v, &val, &vlen)) {
        size_t klen;
        const void *key = sheaf_values_key(v, &klen);
        rc = sheaf__outset_write(ctx, out, key, klen, val, vlen);
    }
    return rc;
}

int sheaf__reduce_all(sheaf_ctx *ctx, const char *tmpdir) {
    sheaf__src *src;
    int rc = sheaf__store_source(ctx, &src);
    ctx->phase_end[SHEAF__PH_SORT] = ctx->phase_start[SHEAF__PH_REDUCE] = sheaf__now();
    ctx->cur_phase = SHEAF__PH_REDUCE;
    if (rc)
        return rc;
    sheaf__progress_sorted(&ctx->prog, ctx);
    sheaf__outset *w = sheaf__outset_new(ctx->outfmt, tmpdir);
    if (!w) {
        src->close(src);
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    }
    ctx->sink = sheaf__outset_sink(w);
    sheaf__buf gkey = {0};
    sheaf_values v = {0};
    v.kind = SHEAF__VALS_SOURCE;
    v.src = src;
    v.group = ctx->job->group ? ctx->job->group : ctx->job->compare;
    bool have = false;
    sheaf__kv cur;
    int r = src->next(src, &cur);
    if (r < 0)
        rc = sheaf__error(ctx, r, "cannot read spilled data in %s", ctx->store->dir);
    have = r > 0;
    for (uint32_t part = (uint32_t)ctx->rank; part < ctx->nparts && !rc;
         part += (uint32_t)ctx->nranks) {
        ctx->cur_part = part;
        if ((rc = sheaf__outset_open(ctx, w, part)))
            break;
        while (have && cur.part == part && !rc) {
            gkey.len = 0;
            if (sheaf__buf_reserve(&gkey, cur.klen ? cur.klen : 1)) {
                rc = sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
                break;
            }
            memcpy(gkey.data, cur.key, cur.klen);
            v.gkey = gkey.data;
            v.gklen = cur.klen;
            v.part = part;
            v.cur = cur;
            v.first_pending = true;
            v.ended = false;
            v.have_next = false;
            v.err = 0;
            rc = reduce_group(ctx, w, &v);
            if (SHEAF__UNLIKELY((ctx->c[SHEAF__C_REDUCE_GROUPS] & 4095) == 0))
                sheaf__progress_reduce_tick(&ctx->prog, ctx, false);
            const void *val;
            size_t vlen;
            while (!rc && sheaf_values_next(&v, &val, &vlen))
                ;
            ctx->c[SHEAF__C_REDUCE_RECORDS] += v.nread;
            v.nread = 0;
            if (!rc && v.err < 0)
                rc = sheaf__error(ctx, v.err, "cannot read spilled data in %s",
                                  ctx->store->dir);
            have = v.have_next;
            cur = v.cur;
        }
        if (!rc && ctx->job->partition_end) {
            rc = ctx->job->partition_end(ctx, ctx->job->udata);
            if (rc && !ctx->err)
                sheaf__error(ctx, rc, "partition end failed (%s)", sheaf_strerror(rc));
            rc = rc ? rc : ctx->err;
        }
        int crc = sheaf__outset_close(ctx, w);
        if (!rc)
            rc = crc;
        if (!rc && have && cur.part < part) {
            rc = sheaf__error(ctx, SHEAF_EIO, "received a record of partition %u out of order",
                              cur.part);
        }
    }
    if (!rc && have)
        rc = sheaf__error(ctx, SHEAF_EIO, "received a record of partition %u, not owned here",
                          cur.part);
    sheaf__outset_free(ctx, w);
    sheaf__buf_free(&gkey);
    src->close(src);
    ctx->sink = &sheaf__sink_none;
    return rc;
}

void sheaf__values_init_chain(sheaf_values *v) {
    memset(v, 0, sizeof *v);
    v->kind = SHEAF__VALS_CHAIN;
}
