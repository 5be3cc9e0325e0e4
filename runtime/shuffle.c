/*
 * shuffle.c: map-side buffering and the exchange rounds.
 *
 * sheaf_emit() in a map call either updates the combine table (ctab.c, which hashes the key
 * for its slots and computes the partition hash only when drained) or hashes the key (XXH3,
 * seeded) and appends the encoded record to the send buffer of the rank that owns the key's
 * partition (partition p is owned by rank p mod nranks). A send buffer holds at most its
 * share of the memory budget; when one is full the rank starts an exchange round.
 *
 * A round is collective, and every rank takes part in every round: ranks that have finished
 * mapping keep serving rounds (sheaf__shuffle_finish) until all ranks report done. A round is
 *   1. MPI_Alltoall of four numbers per pair: bytes and records to send, "I am done",
 *      "I failed";
 *   2. every rank makes room in its store for what it will receive (spilling a run if the
 *      budget would be exceeded) and an MPI_Allreduce agrees on failure and on the number of
 *      message chunks;
 *   3. the data moves as non-blocking point-to-point messages of at most SHEAF_SHUFFLE_CHUNK
 *      bytes (default 1 GiB), so no count ever overflows MPI's int, written straight into
 *      the receiving store.
 * Rounds overlap the map: the send buffers are double-buffered, so once a round's messages
 * are posted the rank goes back to mapping into the other set, testing the messages now and
 * then (MPI_Testall every few hundred records, which also drives their progress); the next
 * round, or the end of the map, completes them first. At most one round is in flight, and
 * nothing else touches the store's buffer while its receives are pending.
 * Rounds are small, so that there is something to overlap: a rank that has buffered
 * round_bytes (4 MiB, or 256 KiB per rank with more than 16 ranks) posts an MPI_Ibarrier,
 * "ready", and maps on; the round starts when the barrier completes, that is when every rank
 * is ready (or done mapping), so no rank waits in it for a slower one. A rank whose buffer
 * for one destination reaches send_limit (its share of the budget) must start the round: it
 * waits for the barrier. Every round is preceded by one barrier on every rank. With the whole
 * budget as the only trigger, a job whose output fits in it shuffled everything in one round
 * after the map (TeraSort of 2 million records at 2 ranks: map 88 ms, then shuffle 50 ms;
 * with rounds of 4 MiB, map 97 ms and shuffle 1 ms).
 * Because every rank learns every other rank's flags in step 1, all ranks leave the map phase
 * in the same round, and a failure anywhere stops every rank at the same point.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
/* The header-only build of XXH3: short keys hash inline, without a call into the library. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "ctab.h"

static uint64_t chunk_limit(void) {
    const char *e = getenv("SHEAF_SHUFFLE_CHUNK");
    uint64_t v;
    if (e && sheaf_parse_size(e, &v) == 0 && v > 0 && v <= (1ull << 30))
        return v;
    return 1ull << 30;
}

/* The combiner over one key's chain, its emits of that key captured into out. */
static int eager_combine(void *arg, const uint8_t *key, size_t klen, sheaf_values *vals,
                         sheaf__buf *out) {
    sheaf_ctx *ctx = arg;
    int saved = ctx->where;
    ctx->where = SHEAF__IN_CAPTURE;
    ctx->cap_key = key;
    ctx->cap_klen = klen;
    ctx->cap_out = out;
    int rc = ctx->job->combine(ctx, key, klen, vals, ctx->job->udata);
    ctx->where = saved;
    ctx->cap_out = NULL;
    if (rc && !ctx->err)
        sheaf__error(ctx, rc, "combine failed (%s)", sheaf_strerror(rc));
    return rc ? rc : ctx->err;
}

int sheaf__shuffle_init(sheaf_ctx *ctx) {
    ctx->send = calloc((size_t)ctx->nranks, sizeof *ctx->send);
    ctx->flying = calloc((size_t)ctx->nranks, sizeof *ctx->flying);
    ctx->send_recs = calloc((size_t)ctx->nranks, sizeof *ctx->send_recs);
    if (!ctx->send || !ctx->flying || !ctx->send_recs)
        return SHEAF_ENOMEM;
    /* A quarter of the budget for sending, in two sets (filling and in flight). */
    size_t share = (size_t)(ctx->budget / 8 / (uint64_t)ctx->nranks);
    ctx->send_limit = SHEAF__MAX(share, (size_t)64 << 10);
    ctx->round_bytes = SHEAF__MAX((size_t)4 << 20, (size_t)ctx->nranks << 18);
    if (ctx->job->agg != SHEAF_AGG_NONE || ctx->job->combine) {
        /* An aggregation table holds one slot a key: it may take its whole share. A table of
         * value chains for a combiner grows with every record, so it is drained (the combiner
         * run) every 32 MiB at most: the combiner's input stays in cache and memory stays
         * proportional to the keys, not the records. */
        bool values = ctx->job->agg == SHEAF_AGG_NONE;
        size_t limit = (size_t)SHEAF__MAX(ctx->budget / 4, 1u << 20);
        if (values)
            limit = SHEAF__MIN(limit, (size_t)32 << 20);
        ctx->ctab = sheaf__ctab_new(ctx->job->agg, values, limit, ctx->seed);
        if (!ctx->ctab)
            return SHEAF_ENOMEM;
        if (values)
            sheaf__ctab_set_eager(ctx->ctab, eager_combine, ctx);
    }
    return 0;
}

void sheaf__shuffle_free(sheaf_ctx *ctx) {
    if (ctx->ready_posted) { /* never past the last round; every rank would have posted it */
        MPI_Wait(&ctx->ready, MPI_STATUS_IGNORE);
        ctx->ready_posted = false;
    }
    if (ctx->npending) {
        MPI_Waitall((int)ctx->npending, ctx->pending, MPI_STATUSES_IGNORE);
        ctx->npending = 0;
    }
    free(ctx->pending);
    ctx->pending = NULL;
    if (ctx->send) {
        for (int i = 0; i < ctx->nranks; i++)
            sheaf__buf_free(&ctx->send[i]);
        free(ctx->send);
        ctx->send = NULL;
    }
    if (ctx->flying) {
        for (int i = 0; i < ctx->nranks; i++)
            sheaf__buf_free(&ctx->flying[i]);
        free(ctx->flying);
        ctx->flying = NULL;
    }
    if (ctx->send_recs) {
        free(ctx->send_recs);
        ctx->send_recs = NULL;
    }
    sheaf__ctab_free(ctx->ctab);
    ctx->ctab = NULL;
    sheaf__buf_free(&ctx->held);
}

/* Says, once a round, that this rank is ready for the next round (its barrier). */
static int post_ready(sheaf_ctx *ctx) {
    if (ctx->ready_posted)
        return 0;
    if (MPI_Ibarrier(ctx->comm, &ctx->ready) != MPI_SUCCESS)
        return sheaf__error(ctx, SHEAF_EMPI, "MPI_Ibarrier failed in the shuffle");
    ctx->ready_posted = true;
    return 0;
}

/* Every few hundred records: drives the round in flight, says once that this rank is ready
 * for the next round, and starts that round when every rank is. */
static int shuffle_poll(sheaf_ctx *ctx) {
    int rc = sheaf__shuffle_test(ctx, false);
    /* A rank that failed says nothing more: it ends the map, and the rounds of the end, whose
     * barriers every rank posts, carry its failure to the others. */
    if (rc || ctx->err || ctx->agreed)
        return rc;
    size_t buffered = 0;
    for (int d = 0; d < ctx->nranks; d++)
        buffered += ctx->send[d].len;
    if (buffered < ctx->round_bytes)
        return 0;
    if (ctx->nranks == 1)
        return sheaf__shuffle_round(ctx);
    if (!ctx->ready_posted)
        return post_ready(ctx);
    int all = 0;
    if (MPI_Test(&ctx->ready, &all, MPI_STATUS_IGNORE) != MPI_SUCCESS)
        return sheaf__error(ctx, SHEAF_EMPI, "MPI_Test failed in the shuffle");
    return all ? sheaf__shuffle_round(ctx) : 0;
}

int sheaf__shuffle_put(sheaf_ctx *ctx, uint32_t part, const void *key, size_t klen,
                       const void *val, size_t vlen) {
    uint32_t dest = sheaf__owner(ctx, part);
    sheaf__buf *b = &ctx->send[dest];
    size_t need = SHEAF__REC_HDR_MAX + klen + vlen;
    if (b->len && b->len + need > ctx->send_limit) {
        int rc = sheaf__shuffle_round(ctx);
        if (rc)
            return rc;
        b = &ctx->send[dest]; /* the round swapped the buffer sets */
    }
    if (!sheaf__buf_add_rec(b, part, key, klen, val, vlen))
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory buffering a %zu-byte record",
                            klen + vlen);
    ctx->send_recs[dest]++;
    if (SHEAF__UNLIKELY((++ctx->puts_since_test & 255) == 0))
        return shuffle_poll(ctx);
    return 0;
}

/* Completes the round in flight (wait: block until done; else only if it is done). */
int sheaf__shuffle_test(sheaf_ctx *ctx, bool wait) {
    if (!ctx->inflight)
        return 0;
    int done = 0;
    int rc = wait ? MPI_Waitall((int)ctx->npending, ctx->pending, MPI_STATUSES_IGNORE)
                  : MPI_Testall((int)ctx->npending, ctx->pending, &done, MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS) {
        ctx->npending = 0;
        ctx->inflight = false;
        return sheaf__error(ctx, SHEAF_EMPI, "shuffle messages failed");
    }
    if (!wait && !done)
        return 0;
    ctx->inflight = false;
    ctx->npending = 0;
    ctx->store->data.len += ctx->pending_bytes;
    ctx->pending_bytes = 0;
    for (int d = 0; d < ctx->nranks; d++)
        ctx->flying[d].len = 0;
    return 0;
}

static inline uint32_t partition_of(sheaf_ctx *ctx, uint64_t hash, const void *key, size_t klen,
                                    int *rc) {
    const sheaf_job_def *job = ctx->job;
    if (job->partition) {
        uint32_t p = job->partition(key, klen, ctx->nparts, job->udata);
        if (SHEAF__UNLIKELY(p >= ctx->nparts))
            *rc = sheaf__error(ctx, SHEAF_EUSER,
                               "the partition function of job %s returned %u for a key of %zu "
                               "bytes; partitions are 0 to %u (--reducers %u)",
                               job->name ? job->name : "(unnamed)", p, klen, ctx->nparts - 1,
                               ctx->nparts);
        return p;
    }
    if (ctx->cuts)
        return sheaf__range_partition(ctx, key, klen);
    return sheaf__hash_partition(hash, ctx->nparts);
}

/* The combine table's entries go to the send buffers: aggregates directly, value chains
 * through the user's combiner (whose emits come back here as IN_COMBINE). */
static int drain_one(void *arg, uint64_t hash, const uint8_t *key, size_t klen,
                     const uint8_t *val, size_t vlen, sheaf_values *vals) {
    sheaf_ctx *ctx = arg;
    int rc = 0;
    uint32_t part = partition_of(ctx, hash, key, klen, &rc);
    if (rc)
        return rc;
    if (!vals) {
        ctx->c[SHEAF__C_COMBINE_OUT]++;
        return sheaf__shuffle_put(ctx, part, key, klen, val, vlen);
    }
    int saved = ctx->where;
    ctx->where = SHEAF__IN_COMBINE;
    rc = ctx->job->combine(ctx, key, klen, vals, ctx->job->udata);
    ctx->where = saved;
    if (rc && !ctx->err)
        sheaf__error(ctx, rc, "combine failed (%s)", sheaf_strerror(rc));
    return rc;
}

/* Before an aggregation table's last drain: room in the send buffers for what it sends, every
 * key once with an 8-byte value and (mostly) a 3-byte header, spread evenly over the ranks as
 * the partition hash spreads keys, so that the buffers do not grow by doubling, copying as
 * they go, during the drain. Where the room does not fit the buffers' share of the budget, or
 * cannot be had, they grow as usual. */
static void presize_sends(sheaf_ctx *ctx) {
    const sheaf__ctab *t = ctx->ctab;
    if (ctx->job->agg == SHEAF_AGG_NONE)
        return;
    size_t n = sheaf__ctab_count(t), P = (size_t)ctx->nranks;
    size_t each = (n * (3 + 8) + sheaf__ctab_key_bytes(t)) / P;
    each += each / 8 + 4096;
    if (each > ctx->send_limit)
        return;
    for (size_t d = 0; d < P; d++)
        (void)sheaf__buf_reserve(&ctx->send[d], each);
}

/* Drains the combine table into the send buffers: for reuse when it filled up mid-map, or
 * for the last time (its slots are then not cleared; the caller frees it). The callbacks
 * report their own failures; one they did not report (the ring of pending inserts, settled
 * first, out of memory) is reported here. */
static int drain_table(sheaf_ctx *ctx, bool reuse) {
    if (!ctx->ctab || sheaf__ctab_count(ctx->ctab) == 0)
        return 0;
    if (!reuse)
        presize_sends(ctx);
    int rc = sheaf__ctab_drain(ctx->ctab, drain_one, ctx, reuse);
    if (rc && !ctx->err)
        sheaf__error(ctx, rc, "draining the combine table failed (%s)", sheaf_strerror(rc));
    return rc;
}

int sheaf__flush_ctab(sheaf_ctx *ctx) {
    return drain_table(ctx, true);
}

int sheaf__shuffle_round(sheaf_ctx *ctx) {
    if (ctx->agreed)
        return ctx->err; /* the ranks already stopped together: no more collectives */
    int P = ctx->nranks, me = ctx->rank;
    if (P > 1) { /* every rank ready (or made to wait here, its buffer full) */
        if (post_ready(ctx))
            return ctx->err;
        ctx->ready_posted = false;
        if (MPI_Wait(&ctx->ready, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return sheaf__error(ctx, SHEAF_EMPI, "MPI_Wait failed in the shuffle");
    }
    sheaf__shuffle_test(ctx, true); /* the previous round's messages */
    uint64_t *sc = calloc((size_t)P * 8, sizeof *sc), *rcv = sc + (size_t)P * 4;
    if (!sc)
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory in the shuffle");
    for (int d = 0; d < P; d++) {
        sc[d * 4] = ctx->send[d].len;
        sc[d * 4 + 1] = ctx->send_recs[d];
        sc[d * 4 + 2] = ctx->map_done;
        sc[d * 4 + 3] = ctx->err != 0;
    }
    int rc = 0;
    if (MPI_Alltoall(sc, 4, MPI_UINT64_T, rcv, 4, MPI_UINT64_T, ctx->comm) != MPI_SUCCESS) {
        rc = sheaf__error(ctx, SHEAF_EMPI, "MPI_Alltoall failed in the shuffle");
        goto out;
    }
    bool all_done = true, any_err = false;
    uint64_t incoming = 0, records = 0, maxmsg = 0, chunk = chunk_limit();
    for (int s = 0; s < P; s++) {
        incoming += rcv[s * 4];
        records += rcv[s * 4 + 1];
        all_done = all_done && rcv[s * 4 + 2];
        any_err = any_err || rcv[s * 4 + 3];
        maxmsg = SHEAF__MAX(maxmsg, SHEAF__MAX(rcv[s * 4], sc[s * 4]));
    }
    if (any_err) {
        rc = sheaf__agree(ctx);
        goto out;
    }
    if (!ctx->err)
        sheaf__store_reserve(ctx, (size_t)incoming, (size_t)records);
    /* Agree on failure (a rank that could not make room) before any data moves. */
    long long flags[2] = {ctx->err != 0, (long long)((maxmsg + chunk - 1) / chunk)}, gflags[2];
    if (MPI_Allreduce(flags, gflags, 2, MPI_LONG_LONG, MPI_MAX, ctx->comm) != MPI_SUCCESS) {
        rc = sheaf__error(ctx, SHEAF_EMPI, "MPI_Allreduce failed in the shuffle");
        goto out;
    }
    if (gflags[0]) {
        rc = sheaf__agree(ctx);
        goto out;
    }
    sheaf__store *st = ctx->store;
    uint8_t *dst = st->data.data + st->data.len;
    size_t nreq = 0, maxreq = (size_t)P * 2 * (size_t)(gflags[1] ? gflags[1] : 1);
    if (maxreq > ctx->cappending) {
        MPI_Request *r = realloc(ctx->pending, maxreq * sizeof *r);
        if (!r) {
            rc = sheaf__error(ctx, SHEAF_ENOMEM, "out of memory in the shuffle");
            goto out;
        }
        ctx->pending = r;
        ctx->cappending = maxreq;
    }
    MPI_Request *req = ctx->pending;
    /* The filled buffers fly; the map fills the emptied ones meanwhile. */
    sheaf__buf *t = ctx->send;
    ctx->send = ctx->flying;
    ctx->flying = t;
    uint64_t off = 0;
    for (int s = 0; s < P; s++) {
        uint64_t n = rcv[s * 4];
        if (s == me) {
            if (n)
                memcpy(dst + off, ctx->flying[me].data, n);
        } else {
            for (uint64_t o = 0; o < n; o += chunk) {
                int cnt = (int)SHEAF__MIN(chunk, n - o);
                MPI_Irecv(dst + off + o, cnt, MPI_BYTE, s, 7, ctx->comm, &req[nreq++]);
            }
        }
        off += n;
    }
    for (int d = 0; d < P; d++) {
        uint64_t n = ctx->flying[d].len;
        ctx->c[SHEAF__C_SHUFFLE_BYTES] += n; /* as received: the own partition counts too */
        if (d == me)
            continue;
        for (uint64_t o = 0; o < n; o += chunk) {
            int cnt = (int)SHEAF__MIN(chunk, n - o);
            MPI_Isend(ctx->flying[d].data + o, cnt, MPI_BYTE, d, 7, ctx->comm, &req[nreq++]);
        }
    }
    ctx->npending = nreq;
    ctx->inflight = true;
    ctx->pending_bytes = incoming;
    ctx->puts_since_test = 0;
    ctx->c[SHEAF__C_SHUFFLE_RECV_BYTES] += incoming;
    ctx->c[SHEAF__C_SHUFFLE_ROUNDS]++;
    for (int d = 0; d < P; d++)
        ctx->send_recs[d] = 0;
    if (nreq == 0)
        sheaf__shuffle_test(ctx, true); /* only the local copy: done already */
    ctx->all_done = all_done;
    if (all_done)
        rc = sheaf__shuffle_test(ctx, true); /* the last round ends the map side */
out:
    free(sc);
    return rc;
}

int sheaf__emit_held(sheaf_ctx *ctx) {
    const uint8_t *p = ctx->held.data, *end = p + ctx->held.len;
    int saved = ctx->where, rc = 0;
    ctx->where = SHEAF__IN_MAP;
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
    ctx->where = saved;
    sheaf__buf_free(&ctx->held);
    return rc;
}

int sheaf__shuffle_finish(sheaf_ctx *ctx) {
    if (ctx->ctab) /* every map output went through the table */
        ctx->c[SHEAF__C_COMBINE_IN] = ctx->c[SHEAF__C_MAP_OUT_RECORDS];
    /* The last drain: the table goes after it instead of being cleared for reuse (word
     * count's slots are 8 MiB a rank). */
    if (!ctx->err)
        drain_table(ctx, false);
    sheaf__ctab_free(ctx->ctab);
    ctx->ctab = NULL;
    if (ctx->agreed)
        return ctx->err; /* a round during the flush found a failure */
    ctx->map_done = true;
    while (!ctx->all_done) {
        int rc = sheaf__shuffle_round(ctx);
        if (rc)
            return rc;
    }
    return 0;
}

static int emit_slow(sheaf_ctx *ctx, const void *key, size_t klen, const void *val,
                     size_t vlen);

/* A map-side emit goes into the combine table when the job has one. */
static inline bool in_table(const sheaf_ctx *ctx) {
    return ctx->where == SHEAF__IN_MAP && ctx->ctab && !ctx->err;
}

/* Adds one emit to the combine table (a key inside the current record is padded: 16 bytes can
 * be loaded at it), and drains the table into the shuffle when it is full. */
static inline __attribute__((always_inline)) int table_add(sheaf_ctx *ctx, const void *key,
                                                           size_t klen, const void *val,
                                                           size_t vlen) {
    bool padded = sheaf__ctab_padded(key, ctx->rec_lo, ctx->rec_hi);
    int rc = sheaf__ctab_add(ctx->ctab, key, klen, padded, val, vlen);
    if (SHEAF__LIKELY(rc == 0))
        return 0;
    if (rc < 0)
        return sheaf__error(ctx, rc, "out of memory in the combine table");
    return sheaf__flush_ctab(ctx);
}

/* The hot path, inlined into every emit function: a map-side emit into the combine table. */
static inline __attribute__((always_inline)) int emit_fast(sheaf_ctx *ctx, const void *key,
                                                           size_t klen, const void *val,
                                                           size_t vlen) {
    if (SHEAF__LIKELY(in_table(ctx))) {
        ctx->c[SHEAF__C_MAP_OUT_RECORDS]++;
        ctx->c[SHEAF__C_MAP_OUT_BYTES] += klen + vlen;
        return table_add(ctx, key, klen, val, vlen);
    }
    return emit_slow(ctx, key, klen, val, vlen);
}

SHEAF_EXTERN int sheaf_emit(sheaf_ctx *ctx, const void *key, size_t klen, const void *val,
                            size_t vlen) {
    return emit_fast(ctx, key, klen, val, vlen);
}

static int emit_slow(sheaf_ctx *ctx, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    if (SHEAF__UNLIKELY(ctx->err))
        return ctx->err;
    if (ctx->where == SHEAF__IN_CAPTURE) {
        /* An eager combine: a value for the key goes back into its chain; any other key's
         * output is a finished partial result, sent on. */
        if (klen == ctx->cap_klen && (!klen || memcmp(key, ctx->cap_key, klen) == 0)) {
            sheaf__buf *o = ctx->cap_out;
            if (sheaf__buf_reserve(o, SHEAF__VARINT_MAX + vlen))
                return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory in the combiner");
            o->len += sheaf__varint_put(o->data + o->len, vlen);
            if (vlen)
                memcpy(o->data + o->len, val, vlen);
            o->len += vlen;
            ctx->c[SHEAF__C_COMBINE_OUT]++;
            return 0;
        }
        int rc = 0;
        uint32_t part = partition_of(ctx, XXH3_64bits_withSeed(key, klen, ctx->seed), key, klen,
                                     &rc);
        ctx->c[SHEAF__C_COMBINE_OUT]++;
        return rc ? rc : sheaf__shuffle_put(ctx, part, key, klen, val, vlen);
    }
    if (ctx->where == SHEAF__IN_REDUCE)
        return sheaf__output(ctx, key, klen, val, vlen);
    if (SHEAF__UNLIKELY(ctx->where == 0))
        return sheaf__error(ctx, SHEAF_EINVAL,
                            "sheaf_emit called outside map, combine, reduce and their hooks");
    if (SHEAF__UNLIKELY(ctx->where == SHEAF__IN_SAMPLE))
        return sheaf__sample_key(ctx, key, klen);
    if (SHEAF__UNLIKELY(ctx->where == SHEAF__IN_HELD)) { /* no key ranges yet: keep it */
        if (!sheaf__buf_add_rec(&ctx->held, 0, key, klen, val, vlen))
            return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory holding setup's emits");
        return 0;
    }
    /* A map emit into the combine table took emit_fast; what is left goes to the shuffle. */
    uint64_t hash = XXH3_64bits_withSeed(key, klen, ctx->seed);
    int rc = 0;
    ctx->c[SHEAF__C_MAP_OUT_RECORDS] += ctx->where == SHEAF__IN_MAP;
    ctx->c[SHEAF__C_MAP_OUT_BYTES] += ctx->where == SHEAF__IN_MAP ? klen + vlen : 0;
    uint32_t part = partition_of(ctx, hash, key, klen, &rc);
    if (rc)
        return rc;
    if (ctx->where == SHEAF__IN_COMBINE)
        ctx->c[SHEAF__C_COMBINE_OUT]++;
    return sheaf__shuffle_put(ctx, part, key, klen, val, vlen);
}

/* In a reduce call with text output, typed values are written as decimal text. */
static inline int emit_typed(sheaf_ctx *ctx, const void *key, size_t klen, const void *v8,
                             sheaf_agg kind) {
    if (SHEAF__UNLIKELY(ctx->where == SHEAF__IN_REDUCE && ctx->text_output)) {
        char txt[64];
        size_t n = sheaf__agg_format(kind, v8, txt, sizeof txt);
        return sheaf__output(ctx, key, klen, txt, n);
    }
    return emit_fast(ctx, key, klen, v8, 8);
}

SHEAF_EXTERN uint64_t sheaf_hash(const void *key, size_t klen, uint64_t seed) {
    return XXH3_64bits_withSeed(key, klen, seed);
}

SHEAF_EXTERN int sheaf_emit_u64(sheaf_ctx *ctx, const void *key, size_t klen, uint64_t v) {
    return emit_typed(ctx, key, klen, &v, SHEAF_AGG_SUM_U64);
}

SHEAF_EXTERN int sheaf_emit_u64_keys(sheaf_ctx *ctx, const sheaf_key *keys, size_t n,
                                     uint64_t v) {
    if (!in_table(ctx)) {
        for (size_t i = 0; i < n; i++) {
            int rc = sheaf_emit_u64(ctx, keys[i].data, keys[i].len, v);
            if (rc)
                return rc;
        }
        return 0;
    }
    /* emit_fast's checks and counters, once for the batch */
    size_t i = 0;
    uint64_t bytes = 0;
    int rc = 0;
    while (i < n && !rc) {
        size_t done;
        uint64_t kb;
        rc = sheaf__ctab_add_keys(ctx->ctab, keys + i, n - i, v, ctx->rec_lo, ctx->rec_hi,
                                  &done, &kb);
        i += done;
        bytes += kb;
        if (rc < 0)
            rc = sheaf__error(ctx, rc, "out of memory in the combine table");
        else if (rc > 0)
            rc = sheaf__flush_ctab(ctx);
    }
    ctx->c[SHEAF__C_MAP_OUT_RECORDS] += i;
    ctx->c[SHEAF__C_MAP_OUT_BYTES] += bytes + 8 * i;
    return rc;
}

SHEAF_EXTERN int sheaf_padded_buffer(sheaf_ctx *ctx, const void *buf, size_t len) {
    if (!ctx || ctx->where != SHEAF__IN_MAP || !ctx->rec_hi || !buf)
        return SHEAF_EINVAL; /* rec_hi is set only while map runs (not in setup) */
    ctx->rec_lo = (uintptr_t)buf;
    ctx->rec_hi = ctx->rec_lo + len + SHEAF_RECORD_PADDING;
    return 0;
}

SHEAF_EXTERN int sheaf_emit_i64(sheaf_ctx *ctx, const void *key, size_t klen, int64_t v) {
    return emit_typed(ctx, key, klen, &v, SHEAF_AGG_SUM_I64);
}

SHEAF_EXTERN int sheaf_emit_double(sheaf_ctx *ctx, const void *key, size_t klen, double v) {
    return emit_typed(ctx, key, klen, &v, SHEAF_AGG_SUM_DOUBLE);
}
