/*
 * shuffle.c: map-side buffering and the exchange rounds.
 *
 * The map side's state (sheaf__mapside) and its sinks (sheaf__sink, internal.h): sheaf_emit()
 * in a map call either updates the combine table (ctab.c, which hashes the key for its slots
 * and computes the partition hash only when drained; emit.c adds to it inline) or hashes the
 * key (XXH3, seeded) and appends the encoded record to the send buffer of the rank that owns
 * the key's partition (partition p is owned by rank p mod nranks); a combiner's output, as
 * the table drains, has a sink of its own. A send buffer holds at most its
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

/* The map side of one rank: its sinks, the combine table and the send buffers. */
struct sheaf__mapside {
    sheaf__sink table_sink;   /* map emits into the combine table */
    sheaf__sink put_sink;     /* map emits straight to the send buffers */
    sheaf__sink combine_sink; /* a combiner's output as the table drains */
    sheaf__sink capture_sink; /* an eager combine: emits of the same key are captured */
    sheaf__ctab *ctab;
    sheaf__buf *send;     /* one per destination rank */
    sheaf__buf *flying;   /* the other set: buffers of the round in flight */
    uint64_t *send_recs;  /* records in each send buffer */
    MPI_Request *pending; /* the round in flight */
    size_t npending, cappending;
    bool inflight;
    uint64_t pending_bytes; /* bytes the store gains when it completes */
    unsigned puts_since_test;
    size_t send_limit;  /* per destination: a round must start before a buffer passes it */
    size_t round_bytes; /* from this many bytes in the filling set, ready for a round */
    MPI_Request ready;  /* the Ibarrier of that readiness, when ready_posted */
    bool ready_posted;
    bool map_done;
    bool all_done;
    /* the eager combine's key and where its values go */
    const uint8_t *cap_key;
    size_t cap_klen;
    sheaf__buf *cap_out;
};

static int shuffle_put(sheaf_ctx *ctx, uint32_t part, const void *key, size_t klen,
                       const void *val, size_t vlen);
static int shuffle_test(sheaf_ctx *ctx, bool wait);
static const sheaf__sink_ops table_ops, put_ops, combine_ops, capture_ops;

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
    sheaf__sink *saved = ctx->sink;
    ctx->sink = &ctx->map->capture_sink;
    ctx->map->cap_key = key;
    ctx->map->cap_klen = klen;
    ctx->map->cap_out = out;
    int rc = ctx->job->combine(ctx, key, klen, vals, ctx->job->udata);
    ctx->sink = saved;
    ctx->map->cap_out = NULL;
    if (rc && !ctx->err)
        sheaf__error(ctx, rc, "combine failed (%s)", sheaf_strerror(rc));
    return rc ? rc : ctx->err;
}

int sheaf__shuffle_init(sheaf_ctx *ctx) {
    if (!(ctx->map = calloc(1, sizeof *ctx->map)))
        return SHEAF_ENOMEM;
    sheaf__mapside *m = ctx->map;
    m->table_sink = (sheaf__sink){.ops = &table_ops, .flags = SHEAF__SINK_MAP};
    m->put_sink = (sheaf__sink){.ops = &put_ops, .flags = SHEAF__SINK_MAP};
    m->combine_sink = (sheaf__sink){.ops = &combine_ops};
    m->capture_sink = (sheaf__sink){.ops = &capture_ops};
    ctx->map->send = calloc((size_t)ctx->nranks, sizeof *ctx->map->send);
    ctx->map->flying = calloc((size_t)ctx->nranks, sizeof *ctx->map->flying);
    ctx->map->send_recs = calloc((size_t)ctx->nranks, sizeof *ctx->map->send_recs);
    if (!ctx->map->send || !ctx->map->flying || !ctx->map->send_recs)
        return SHEAF_ENOMEM;
    /* A quarter of the budget for sending, in two sets (filling and in flight). */
    size_t share = (size_t)(ctx->budget / 8 / (uint64_t)ctx->nranks);
    ctx->map->send_limit = SHEAF__MAX(share, (size_t)64 << 10);
    ctx->map->round_bytes = SHEAF__MAX((size_t)4 << 20, (size_t)ctx->nranks << 18);
    if (ctx->job->agg != SHEAF_AGG_NONE || ctx->job->combine) {
        /* An aggregation table holds one slot a key: it may take its whole share. A table of
         * value chains for a combiner grows with every record, so it is drained (the combiner
         * run) every 32 MiB at most: the combiner's input stays in cache and memory stays
         * proportional to the keys, not the records. */
        bool values = ctx->job->agg == SHEAF_AGG_NONE;
        size_t limit = (size_t)SHEAF__MAX(ctx->budget / 4, 1u << 20);
        if (values)
            limit = SHEAF__MIN(limit, (size_t)32 << 20);
        ctx->map->ctab = sheaf__ctab_new(ctx->job->agg, values, limit, ctx->seed);
        if (!ctx->map->ctab)
            return SHEAF_ENOMEM;
        if (values)
            sheaf__ctab_set_eager(ctx->map->ctab, eager_combine, ctx);
        m->table_sink.ctab = m->ctab;
    }
    return 0;
}

sheaf__sink *sheaf__shuffle_sink(sheaf_ctx *ctx) {
    sheaf__mapside *m = ctx->map;
    return m->ctab ? &m->table_sink : &m->put_sink;
}

void sheaf__shuffle_free(sheaf_ctx *ctx) {
    if (!ctx->map)
        return;
    if (ctx->map->ready_posted) { /* never past the last round; every rank would have posted it */
        MPI_Wait(&ctx->map->ready, MPI_STATUS_IGNORE);
        ctx->map->ready_posted = false;
    }
    if (ctx->map->npending) {
        MPI_Waitall((int)ctx->map->npending, ctx->map->pending, MPI_STATUSES_IGNORE);
        ctx->map->npending = 0;
    }
    free(ctx->map->pending);
    ctx->map->pending = NULL;
    if (ctx->map->send) {
        for (int i = 0; i < ctx->nranks; i++)
            sheaf__buf_free(&ctx->map->send[i]);
        free(ctx->map->send);
        ctx->map->send = NULL;
    }
    if (ctx->map->flying) {
        for (int i = 0; i < ctx->nranks; i++)
            sheaf__buf_free(&ctx->map->flying[i]);
        free(ctx->map->flying);
        ctx->map->flying = NULL;
    }
    if (ctx->map->send_recs) {
        free(ctx->map->send_recs);
        ctx->map->send_recs = NULL;
    }
    sheaf__ctab_free(ctx->map->ctab);
    ctx->map->ctab = NULL;
    if (ctx->sink == &ctx->map->table_sink || ctx->sink == &ctx->map->put_sink)
        ctx->sink = &sheaf__sink_none;
    free(ctx->map);
    ctx->map = NULL;
}

/* Says, once a round, that this rank is ready for the next round (its barrier). */
static int post_ready(sheaf_ctx *ctx) {
    sheaf__mapside *m = ctx->map;
    if (m->ready_posted)
        return 0;
    if (MPI_Ibarrier(ctx->comm, &m->ready) != MPI_SUCCESS)
        return sheaf__error(ctx, SHEAF_EMPI, "MPI_Ibarrier failed in the shuffle");
    m->ready_posted = true;
    return 0;
}

/* Every few hundred records: drives the round in flight, says once that this rank is ready
 * for the next round, and starts that round when every rank is. */
static int shuffle_poll(sheaf_ctx *ctx) {
    sheaf__mapside *m = ctx->map;
    int rc = shuffle_test(ctx, false);
    /* A rank that failed says nothing more: it ends the map, and the rounds of the end, whose
     * barriers every rank posts, carry its failure to the others. */
    if (rc || ctx->err || ctx->agreed)
        return rc;
    size_t buffered = 0;
    for (int d = 0; d < ctx->nranks; d++)
        buffered += m->send[d].len;
    if (buffered < m->round_bytes)
        return 0;
    if (ctx->nranks == 1)
        return sheaf__shuffle_round(ctx);
    if (!m->ready_posted)
        return post_ready(ctx);
    int all = 0;
    if (MPI_Test(&m->ready, &all, MPI_STATUS_IGNORE) != MPI_SUCCESS)
        return sheaf__error(ctx, SHEAF_EMPI, "MPI_Test failed in the shuffle");
    return all ? sheaf__shuffle_round(ctx) : 0;
}

static int shuffle_put(sheaf_ctx *ctx, uint32_t part, const void *key, size_t klen,
                       const void *val, size_t vlen) {
    SHEAF__ASSERT(part < ctx->nparts);
    uint32_t dest = sheaf__owner(ctx, part);
    sheaf__buf *b = &ctx->map->send[dest];
    size_t need = SHEAF__REC_HDR_MAX + klen + vlen;
    if (b->len && b->len + need > ctx->map->send_limit) {
        int rc = sheaf__shuffle_round(ctx);
        if (rc)
            return rc;
        b = &ctx->map->send[dest]; /* the round swapped the buffer sets */
    }
    if (!sheaf__buf_add_rec(b, part, key, klen, val, vlen))
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory buffering a %zu-byte record",
                            klen + vlen);
    SHEAF__ASSERT(b->len <= b->cap);
    ctx->map->send_recs[dest]++;
    if (SHEAF__UNLIKELY((++ctx->map->puts_since_test & 255) == 0))
        return shuffle_poll(ctx);
    return 0;
}

/* Completes the round in flight (wait: block until done; else only if it is done). */
static int shuffle_test(sheaf_ctx *ctx, bool wait) {
    sheaf__mapside *m = ctx->map;
    if (!m->inflight)
        return 0;
    int done = 0;
    int rc = wait ? MPI_Waitall((int)m->npending, m->pending, MPI_STATUSES_IGNORE)
                  : MPI_Testall((int)m->npending, m->pending, &done,
                                MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS) {
        m->npending = 0;
        m->inflight = false;
        return sheaf__error(ctx, SHEAF_EMPI, "shuffle messages failed");
    }
    if (!wait && !done)
        return 0;
    m->inflight = false;
    m->npending = 0;
    ctx->store->data.len += m->pending_bytes;
    m->pending_bytes = 0;
    for (int d = 0; d < ctx->nranks; d++)
        m->flying[d].len = 0;
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
    if (ctx->ranges)
        return sheaf__range_partition(ctx->ranges, job->compare, key, klen);
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
        return shuffle_put(ctx, part, key, klen, val, vlen);
    }
    sheaf__sink *saved = ctx->sink;
    ctx->sink = &ctx->map->combine_sink;
    rc = ctx->job->combine(ctx, key, klen, vals, ctx->job->udata);
    ctx->sink = saved;
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
    sheaf__mapside *m = ctx->map;
    const sheaf__ctab *t = m->ctab;
    if (ctx->job->agg == SHEAF_AGG_NONE)
        return;
    size_t n = sheaf__ctab_count(t), P = (size_t)ctx->nranks;
    size_t each = (n * (3 + 8) + sheaf__ctab_key_bytes(t)) / P;
    each += each / 8 + 4096;
    if (each > m->send_limit)
        return;
    for (size_t d = 0; d < P; d++)
        (void)sheaf__buf_reserve(&m->send[d], each);
}

/* Drains the combine table into the send buffers: for reuse when it filled up mid-map, or
 * for the last time (its slots are then not cleared; the caller frees it). The callbacks
 * report their own failures; one they did not report (the ring of pending inserts, settled
 * first, out of memory) is reported here. */
static int drain_table(sheaf_ctx *ctx, bool reuse) {
    sheaf__mapside *m = ctx->map;
    if (!m->ctab || sheaf__ctab_count(m->ctab) == 0)
        return 0;
    if (!reuse)
        presize_sends(ctx);
    int rc = sheaf__ctab_drain(m->ctab, drain_one, ctx, reuse);
    if (rc && !ctx->err)
        sheaf__error(ctx, rc, "draining the combine table failed (%s)", sheaf_strerror(rc));
    return rc;
}

int sheaf__flush_ctab(sheaf_ctx *ctx) {
    return drain_table(ctx, true);
}

int sheaf__shuffle_round(sheaf_ctx *ctx) {
    sheaf__mapside *m = ctx->map;
    if (ctx->agreed)
        return ctx->err; /* the ranks already stopped together: no more collectives */
    int P = ctx->nranks, me = ctx->rank;
    if (P > 1) { /* every rank ready (or made to wait here, its buffer full) */
        if (post_ready(ctx))
            return ctx->err;
        m->ready_posted = false;
        if (MPI_Wait(&m->ready, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return sheaf__error(ctx, SHEAF_EMPI, "MPI_Wait failed in the shuffle");
    }
    shuffle_test(ctx, true); /* the previous round's messages */
    uint64_t *sc = calloc((size_t)P * 8, sizeof *sc), *rcv = sc + (size_t)P * 4;
    if (!sc)
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory in the shuffle");
    for (int d = 0; d < P; d++) {
        sc[d * 4] = m->send[d].len;
        sc[d * 4 + 1] = m->send_recs[d];
        sc[d * 4 + 2] = m->map_done;
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
    SHEAF__ASSERT(st->data.len + incoming <= st->data.cap);
    uint8_t *dst = st->data.data + st->data.len;
    size_t nreq = 0, maxreq = (size_t)P * 2 * (size_t)(gflags[1] ? gflags[1] : 1);
    if (maxreq > m->cappending) {
        MPI_Request *r = realloc(m->pending, maxreq * sizeof *r);
        if (!r) {
            rc = sheaf__error(ctx, SHEAF_ENOMEM, "out of memory in the shuffle");
            goto out;
        }
        m->pending = r;
        m->cappending = maxreq;
    }
    MPI_Request *req = m->pending;
    /* The filled buffers fly; the map fills the emptied ones meanwhile. */
    sheaf__buf *t = m->send;
    m->send = m->flying;
    m->flying = t;
    uint64_t off = 0;
    for (int s = 0; s < P; s++) {
        uint64_t n = rcv[s * 4];
        if (s == me) {
            if (n)
                memcpy(dst + off, m->flying[me].data, n);
        } else {
            for (uint64_t o = 0; o < n; o += chunk) {
                int cnt = (int)SHEAF__MIN(chunk, n - o);
                MPI_Irecv(dst + off + o, cnt, MPI_BYTE, s, 7, ctx->comm, &req[nreq++]);
            }
        }
        off += n;
    }
    for (int d = 0; d < P; d++) {
        uint64_t n = m->flying[d].len;
        ctx->c[SHEAF__C_SHUFFLE_BYTES] += n; /* as received: the own partition counts too */
        if (ctx->sent_to)
            ctx->sent_to[d] += n;
        if (d == me)
            continue;
        for (uint64_t o = 0; o < n; o += chunk) {
            int cnt = (int)SHEAF__MIN(chunk, n - o);
            MPI_Isend(m->flying[d].data + o, cnt, MPI_BYTE, d, 7, ctx->comm, &req[nreq++]);
        }
    }
    m->npending = nreq;
    m->inflight = true;
    m->pending_bytes = incoming;
    m->puts_since_test = 0;
    ctx->c[SHEAF__C_SHUFFLE_RECV_BYTES] += incoming;
    ctx->c[SHEAF__C_SHUFFLE_ROUNDS]++;
    if (ctx->prog.shared) {
        uint64_t sent = 0;
        for (int d = 0; d < P; d++)
            sent += m->flying[d].len;
        sheaf__progress_add(&ctx->prog, SHEAF__PROG_SHUFFLE_BYTES, sent, false);
    }
    if (ctx->prog.on && m->map_done)
        sheaf__progress_map(&ctx->prog, ctx, false); /* rank 0 waits for the others' map */
    sheaf__log(ctx, SHEAF_LOG_DEBUG, "shuffle round %llu: receiving %llu bytes%s",
               (unsigned long long)ctx->c[SHEAF__C_SHUFFLE_ROUNDS],
               (unsigned long long)incoming, all_done ? " (the last round)" : "");
    for (int d = 0; d < P; d++)
        m->send_recs[d] = 0;
    if (nreq == 0)
        shuffle_test(ctx, true); /* only the local copy: done already */
    m->all_done = all_done;
    if (all_done)
        rc = shuffle_test(ctx, true); /* the last round ends the map side */
out:
    free(sc);
    return rc;
}

int sheaf__shuffle_finish(sheaf_ctx *ctx) {
    sheaf__mapside *m = ctx->map;
    if (m->ctab) /* every map output went through the table */
        ctx->c[SHEAF__C_COMBINE_IN] = ctx->c[SHEAF__C_MAP_OUT_RECORDS];
    /* The last drain: the table goes after it instead of being cleared for reuse (word
     * count's slots are 8 MiB a rank). */
    if (!ctx->err)
        drain_table(ctx, false);
    sheaf__ctab_free(m->ctab);
    m->ctab = NULL;
    m->table_sink.ctab = NULL;
    if (ctx->sink == &m->table_sink)
        ctx->sink = &m->put_sink;
    if (ctx->agreed)
        return ctx->err; /* a round during the flush found a failure */
    m->map_done = true;
    while (!m->all_done) {
        int rc = sheaf__shuffle_round(ctx);
        if (rc)
            return rc;
    }
    return 0;
}


/* ---- the map side's sinks ---- */

/* A map emit to the send buffers (the job has no combine table). */
static int put_emit(sheaf__sink *s, sheaf_ctx *ctx, const void *key, size_t klen,
                    const void *val, size_t vlen) {
    uint64_t hash = XXH3_64bits_withSeed(key, klen, ctx->seed);
    int rc = 0;
    ctx->c[SHEAF__C_MAP_OUT_RECORDS]++;
    ctx->c[SHEAF__C_MAP_OUT_BYTES] += klen + vlen;
    uint32_t part = partition_of(ctx, hash, key, klen, &rc);
    if (rc)
        return rc;
    return shuffle_put(ctx, part, key, klen, val, vlen);
}

/* A combiner's output as the table drains: a finished partial result, sent on. */
static int combine_emit(sheaf__sink *s, sheaf_ctx *ctx, const void *key, size_t klen,
                        const void *val, size_t vlen) {
    uint64_t hash = XXH3_64bits_withSeed(key, klen, ctx->seed);
    int rc = 0;
    uint32_t part = partition_of(ctx, hash, key, klen, &rc);
    if (rc)
        return rc;
    ctx->c[SHEAF__C_COMBINE_OUT]++;
    return shuffle_put(ctx, part, key, klen, val, vlen);
}

/* An eager combine: a value for the key goes back into its chain; any other key's output is
 * a finished partial result, sent on. */
static int capture_emit(sheaf__sink *s, sheaf_ctx *ctx, const void *key, size_t klen,
                        const void *val, size_t vlen) {
    sheaf__mapside *m = ctx->map;
    if (klen == m->cap_klen && (!klen || memcmp(key, m->cap_key, klen) == 0)) {
        sheaf__buf *o = m->cap_out;
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
    uint32_t part = partition_of(ctx, XXH3_64bits_withSeed(key, klen, ctx->seed), key, klen, &rc);
    ctx->c[SHEAF__C_COMBINE_OUT]++;
    return rc ? rc : shuffle_put(ctx, part, key, klen, val, vlen);
}

static int table_flush(sheaf__sink *s, sheaf_ctx *ctx) {
    return sheaf__flush_ctab(ctx);
}

static const sheaf__sink_ops table_ops = {.emit = sheaf__emit_table, .flush = table_flush};
static const sheaf__sink_ops put_ops = {.emit = put_emit};
static const sheaf__sink_ops combine_ops = {.emit = combine_emit};
static const sheaf__sink_ops capture_ops = {.emit = capture_emit};
