/*
 * test_ctab.c: unit tests of the map-side combine table (ctab.c).
 *
 * Random emits (seeded) go both into a table and into a naive reference: a flat array of the
 * distinct keys with, per key, every value in emit order. Each built-in aggregation is then
 * recomputed from the reference with plain C arithmetic and compared with what the table
 * drains. Tables with a small limit must signal a flush; the caller here drains on the signal
 * and merges the partial aggregates, which must still equal the reference. A values table
 * must hand each key's values through sheaf_values_next in emit order, across flushes.
 * Keys are placed by the table's own hash, or (a test hook) by deliberately colliding ones to
 * exercise probing; each is added either from exact-size memory or from inside a padded record
 * with random bytes after it, the table's two ways of loading a key.
 */
#include "internal.h"
#include "ctab.h"
#include "unit.h"

#include <math.h>

/* ---- keys and the reference ---- */

typedef struct keypool {
    uint8_t **key;
    size_t *klen;
    size_t n;
    int hmode; /* how the keys are hashed (HASH_*) */
} keypool;

/* n distinct keys of 0..maxlen random bytes (at most one empty key). */
static void pool_make(keypool *p, size_t n, size_t maxlen) {
    p->key = unit_xcalloc(n, sizeof *p->key);
    p->klen = unit_xcalloc(n, sizeof *p->klen);
    p->n = 0;
    p->hmode = 0; /* HASH_GOOD */
    while (p->n < n) {
        size_t len = (size_t)unit_below(maxlen + 1);
        uint8_t *k = unit_xmalloc(len);
        for (size_t i = 0; i < len; i++)
            k[i] = (uint8_t)(unit_below(4) == 0 ? unit_below(256) : 'a' + unit_below(4));
        bool dup = false;
        for (size_t i = 0; i < p->n && !dup; i++)
            dup = p->klen[i] == len && (len == 0 || memcmp(p->key[i], k, len) == 0);
        if (dup) {
            free(k);
            continue;
        }
        p->key[p->n] = k;
        p->klen[p->n] = len;
        p->n++;
    }
}

static void pool_free(keypool *p) {
    for (size_t i = 0; i < p->n; i++)
        free(p->key[i]);
    free(p->key);
    free(p->klen);
    memset(p, 0, sizeof *p);
}

static long pool_find(const keypool *p, const uint8_t *key, size_t klen) {
    for (size_t i = 0; i < p->n; i++)
        if (p->klen[i] == klen && (klen == 0 || memcmp(p->key[i], key, klen) == 0))
            return (long)i;
    return -1;
}

static uint64_t fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* How the table places keys: by its own slot hash (CRC32C where the CPU has it), by its
 * portable slot hash, into 16 slots' worth of hashes, or all at one hash (a test hook), so
 * probing over long runs of other keys is exercised. */
enum { HASH_GOOD, HASH_MIX, HASH_FEW, HASH_ONE };
static uint64_t few_hash(const void *k, size_t n) {
    return (fnv1a(k, n) & 15) * 0x9e3779b97f4a7c15ull;
}
static uint64_t one_hash(const void *k, size_t n) {
    (void)k;
    (void)n;
    return 42;
}

#define TEST_SEED 0x5eedull

static sheaf__ctab *new_table(sheaf_agg a, bool values, size_t limit, int mode) {
    sheaf__ctab *t = sheaf__ctab_new(a, values, limit, TEST_SEED);
    if (t && mode == HASH_MIX)
        sheaf__ctab_set_crc(t, false);
    else if (t && mode != HASH_GOOD)
        sheaf__ctab_set_slot_hash(t, mode == HASH_FEW ? few_hash : one_hash);
    return t;
}

/* The partition hash a drain must hand out with each key. */
static uint64_t hash_of(const uint8_t *k, size_t n) {
    return sheaf_hash(k, n, TEST_SEED);
}

/* Adds a key as sheaf_emit may: from its own exact-size memory, or from inside a record
 * whose padding makes 16 bytes readable at the key. The padded copy has random bytes after
 * the key, which the table must ignore. */
static int add_key(sheaf__ctab *t, const uint8_t *key, size_t klen, const void *val,
                   size_t vlen) {
    static uint8_t rec[4096 + 64];
    if (klen + 16 <= sizeof rec && unit_below(2) == 0) {
        size_t at = (size_t)unit_below(64);
        for (size_t i = 0; i < klen + 16 + 8 && at + i < sizeof rec; i++)
            rec[at + i] = (uint8_t)unit_below(256);
        if (klen)
            memcpy(rec + at, key, klen);
        return sheaf__ctab_add(t, rec + at, klen, true, val, vlen);
    }
    return sheaf__ctab_add(t, key, klen, false, val, vlen);
}

/* ---- aggregations ---- */

static const sheaf_agg all_aggs[] = {
    SHEAF_AGG_COUNT,      SHEAF_AGG_SUM_U64,  SHEAF_AGG_SUM_I64,  SHEAF_AGG_SUM_DOUBLE,
    SHEAF_AGG_MIN_U64,    SHEAF_AGG_MIN_I64,  SHEAF_AGG_MIN_DOUBLE, SHEAF_AGG_MAX_U64,
    SHEAF_AGG_MAX_I64,    SHEAF_AGG_MAX_DOUBLE,
};

static bool is_double(sheaf_agg a) {
    return a == SHEAF_AGG_SUM_DOUBLE || a == SHEAF_AGG_MIN_DOUBLE || a == SHEAF_AGG_MAX_DOUBLE;
}

/* A random value suited to the aggregation, as its 8 bytes. */
static uint64_t random_value(sheaf_agg a) {
    switch (a) {
    case SHEAF_AGG_SUM_U64:
    case SHEAF_AGG_MIN_U64:
    case SHEAF_AGG_MAX_U64:
        return unit_below(3) == 0 ? unit_rand64() : unit_below(1000);
    case SHEAF_AGG_SUM_I64:
    case SHEAF_AGG_MIN_I64:
    case SHEAF_AGG_MAX_I64: {
        int64_t v = unit_below(3) == 0 ? (int64_t)unit_rand64() : (int64_t)unit_below(2001) - 1000;
        uint64_t u;
        memcpy(&u, &v, 8);
        return u;
    }
    case SHEAF_AGG_SUM_DOUBLE:
    case SHEAF_AGG_MIN_DOUBLE:
    case SHEAF_AGG_MAX_DOUBLE: {
        double d = ((double)unit_below(2000001) - 1000000.0) / 64.0;
        uint64_t u;
        memcpy(&u, &d, 8);
        return u;
    }
    default:
        return unit_rand64();
    }
}

/* The reference aggregate of values v[0..n) (n >= 1), as 8 bytes. */
static uint64_t ref_agg(sheaf_agg a, const uint64_t *v, size_t n) {
    uint64_t u = v[0];
    int64_t i;
    double d;
    memcpy(&i, &v[0], 8);
    memcpy(&d, &v[0], 8);
    for (size_t k = 1; k < n; k++) {
        uint64_t x = v[k];
        int64_t y;
        double z;
        memcpy(&y, &v[k], 8);
        memcpy(&z, &v[k], 8);
        switch (a) {
        case SHEAF_AGG_SUM_U64: u += x; break;
        case SHEAF_AGG_SUM_I64: i = (int64_t)((uint64_t)i + (uint64_t)y); break;
        case SHEAF_AGG_SUM_DOUBLE: d += z; break;
        case SHEAF_AGG_MIN_U64: u = x < u ? x : u; break;
        case SHEAF_AGG_MIN_I64: i = y < i ? y : i; break;
        case SHEAF_AGG_MIN_DOUBLE: d = z < d ? z : d; break;
        case SHEAF_AGG_MAX_U64: u = x > u ? x : u; break;
        case SHEAF_AGG_MAX_I64: i = y > i ? y : i; break;
        case SHEAF_AGG_MAX_DOUBLE: d = z > d ? z : d; break;
        default: break;
        }
    }
    if (a == SHEAF_AGG_COUNT)
        return n;
    if (a == SHEAF_AGG_SUM_I64 || a == SHEAF_AGG_MIN_I64 || a == SHEAF_AGG_MAX_I64)
        memcpy(&u, &i, 8);
    if (is_double(a))
        memcpy(&u, &d, 8);
    return u;
}

/* Merges partial aggregates (what successive drains of one key produced). COUNT partials
 * are counts, so they add up. */
static uint64_t merge_partials(sheaf_agg a, const uint64_t *v, size_t n) {
    return ref_agg(a == SHEAF_AGG_COUNT ? SHEAF_AGG_SUM_U64 : a, v, n);
}

/* ---- per-key value lists ---- */

typedef struct vlist {
    uint64_t *v;
    size_t n, cap;
} vlist;

static void vlist_add(vlist *l, uint64_t x) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = unit_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = x;
}

/* ---- the drain callback of aggregation tables ---- */

typedef struct agg_sink {
    const keypool *pool;
    vlist *partials; /* per key: the partial aggregates drained so far */
    unsigned char *seen; /* per key: seen in the current drain */
    size_t calls;
    bool bad;
} agg_sink;

static int agg_drain_fn(void *arg, uint64_t hash, const uint8_t *key, size_t klen,
                        const uint8_t *val, size_t vlen, sheaf_values *vals) {
    agg_sink *s = arg;
    s->calls++;
    long k = pool_find(s->pool, key, klen);
    if (k < 0 || vlen != 8 || vals != NULL || s->seen[k] ||
        hash != hash_of(key, klen)) {
        s->bad = true;
        return 0;
    }
    s->seen[k] = 1;
    uint64_t acc;
    memcpy(&acc, val, 8);
    vlist_add(&s->partials[k], acc);
    return 0;
}

/* The caller's side of a flush signal: drain, and check that the drain handed out exactly the
 * keys emitted since the last one and left the table empty. */
static bool flush_and_check(sheaf__ctab *t, agg_sink *sink, size_t npool, unsigned char *since,
                            size_t *nsince) {
    memset(sink->seen, 0, npool);
    sink->calls = 0;
    bool ok = sheaf__ctab_drain(t, agg_drain_fn, sink, true) == 0 && sink->calls == *nsince &&
              sheaf__ctab_count(t) == 0;
    memset(since, 0, npool);
    *nsince = 0;
    return ok;
}

/* Records an emit of x under key k in the reference and in the keys since the last drain. */
static void note_emit(vlist *ref, unsigned char *since, size_t *nsince, size_t k, uint64_t x) {
    vlist_add(&ref[k], x);
    if (!since[k]) {
        since[k] = 1;
        ++*nsince;
    }
}

/* Emits nemit random values over the pool into a table of the given limit, draining on every
 * flush signal, and checks the merged partials against the reference. Returns the number of
 * flush signals. */
/* The longest key run_agg makes; some tests raise it past what the table keeps inline. */
static size_t agg_maxk = 12;
/* Set: run_agg emits through sheaf__ctab_add_keys, in batches of one value under 1 to 300
 * keys, some inside a padded record and some in their own exact-size memory. */
static bool agg_batched;

/* One batch's keys: copies inside rec (with random bytes between and after them, the record's
 * padding included) or the pool's own exact-size keys. */
typedef struct batch {
    sheaf_key keys[300];
    size_t pick[300]; /* the pool index of each key */
    uint8_t rec[300 * 110 + SHEAF_RECORD_PADDING];
    size_t n;
} batch;

static void batch_make(batch *b, const keypool *pool, size_t n) {
    size_t at = 0;
    for (size_t i = 0; i < sizeof b->rec; i++)
        b->rec[i] = (uint8_t)unit_below(256);
    for (b->n = 0; b->n < n; b->n++) {
        size_t k = (size_t)unit_below(pool->n);
        b->pick[b->n] = k;
        b->keys[b->n].len = pool->klen[k];
        if (unit_below(2) == 0 || at + pool->klen[k] + SHEAF_RECORD_PADDING > sizeof b->rec) {
            b->keys[b->n].data = pool->key[k];
            continue;
        }
        at += (size_t)unit_below(8);
        if (pool->klen[k])
            memcpy(b->rec + at, pool->key[k], pool->klen[k]);
        b->keys[b->n].data = b->rec + at;
        at += pool->klen[k];
    }
}

static size_t run_agg(sheaf_agg a, size_t npool, size_t nemit, size_t limit, int hmode) {
    keypool pool;
    pool_make(&pool, npool, agg_maxk);
    pool.hmode = hmode;
    vlist *ref = unit_xcalloc(pool.n, sizeof *ref);
    agg_sink sink = {0};
    sink.pool = &pool;
    sink.partials = unit_xcalloc(pool.n, sizeof *sink.partials);
    sink.seen = unit_xcalloc(pool.n, 1);
    sheaf__ctab *t = new_table(a, false, limit, hmode);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    /* the distinct keys emitted since the last drain: what the next drain must hand out */
    unsigned char *since = unit_xcalloc(pool.n, 1);
    size_t nsince = 0;
    size_t flushes = 0;
    bool rc_ok = true, under_limit = true, drains_ok = true;
    batch *b = agg_batched ? unit_xmalloc(sizeof *b) : NULL;
    for (size_t e = 0; b && e < nemit;) {
        size_t want = SHEAF__MIN(1 + (size_t)unit_below(300), nemit - e);
        batch_make(b, &pool, want);
        uint64_t x = random_value(a);
        int rc = 0;
        for (size_t off = 0; off < b->n && rc >= 0;) {
            size_t done = 0;
            uint64_t bytes = 0, want_bytes = 0;
            rc = sheaf__ctab_add_keys(t, b->keys + off, b->n - off, x, (uintptr_t)b->rec,
                                      (uintptr_t)b->rec + sizeof b->rec, &done, &bytes);
            rc_ok = rc_ok && (rc == 0 || rc == 1) && done <= b->n - off &&
                    (rc == 1 ? done > 0 : rc != 0 || done == b->n - off);
            for (size_t j = off; j < off + done; j++) {
                note_emit(ref, since, &nsince, b->pick[j], x);
                want_bytes += b->keys[j].len;
            }
            rc_ok = rc_ok && bytes == want_bytes;
            off += done;
            if (rc == 0) {
                under_limit = under_limit && sheaf__ctab_bytes(t) < limit;
            } else if (rc == 1) {
                flushes++;
                drains_ok = drains_ok && flush_and_check(t, &sink, pool.n, since, &nsince);
            }
        }
        e += b->n;
        if (rc < 0)
            break;
    }
    free(b);
    for (size_t e = 0; !agg_batched && e < nemit; e++) {
        size_t k = (size_t)unit_below(pool.n);
        uint64_t x = random_value(a);
        note_emit(ref, since, &nsince, k, x);
        /* COUNT ignores the value, whatever its length */
        size_t vlen = a == SHEAF_AGG_COUNT ? (size_t)unit_below(9) : 8;
        uint8_t vbuf[8];
        memcpy(vbuf, &x, 8);
        int rc = add_key(t, pool.key[k], pool.klen[k], vbuf, vlen);
        rc_ok = rc_ok && (rc == 0 || rc == 1);
        if (rc == 0) {
            /* no flush asked for: the table is within its limit */
            under_limit = under_limit && sheaf__ctab_bytes(t) < limit;
            drains_ok = drains_ok && sheaf__ctab_count(t) > 0;
        } else if (rc == 1) {
            flushes++;
            drains_ok = drains_ok && flush_and_check(t, &sink, pool.n, since, &nsince);
            under_limit = under_limit && sheaf__ctab_bytes(t) < limit;
        } else {
            break;
        }
    }
    UNIT_ASSERT(rc_ok);
    UNIT_ASSERT(under_limit);
    UNIT_ASSERT(drains_ok);
    memset(sink.seen, 0, pool.n);
    sink.calls = 0;
    UNIT_ASSERT_EQUAL(sheaf__ctab_count(t) == 0, nsince == 0);
    UNIT_ASSERT_EQUAL(sheaf__ctab_drain(t, agg_drain_fn, &sink, true), 0);
    UNIT_ASSERT_EQUAL(sink.calls, nsince);
    UNIT_ASSERT_FALSE(sink.bad);
    free(since);
    /* a drained table is empty */
    sink.calls = 0;
    UNIT_ASSERT_EQUAL(sheaf__ctab_drain(t, agg_drain_fn, &sink, true), 0);
    UNIT_ASSERT_EQUAL(sink.calls, 0);
    UNIT_ASSERT_EQUAL(sheaf__ctab_count(t), 0);

    size_t mismatches = 0;
    for (size_t k = 0; k < pool.n; k++) {
        /* a key emitted is drained at least once, a key never emitted never */
        UNIT_ASSERT_EQUAL(ref[k].n == 0, sink.partials[k].n == 0);
        if (!ref[k].n || !sink.partials[k].n)
            continue;
        uint64_t want = ref_agg(a, ref[k].v, ref[k].n);
        uint64_t got = merge_partials(a, sink.partials[k].v, sink.partials[k].n);
        bool ok;
        if (a == SHEAF_AGG_SUM_DOUBLE) {
            double dw, dg;
            memcpy(&dw, &want, 8);
            memcpy(&dg, &got, 8);
            /* sums of multiples of 1/64 far below 2^53 are exact in any order */
            ok = dw == dg;
        } else {
            ok = want == got;
        }
        if (!ok && mismatches++ < 3)
            fprintf(stderr, "agg %d key %zu: got %#" PRIx64 ", want %#" PRIx64 "\n", (int)a, k,
                    got, want);
        UNIT_ASSERT(ok);
    }
    sheaf__ctab_free(t);
    for (size_t k = 0; k < pool.n; k++) {
        free(ref[k].v);
        free(sink.partials[k].v);
    }
    free(ref);
    free(sink.partials);
    free(sink.seen);
    pool_free(&pool);
    return flushes;
}

static void test_agg_kinds(void) {
    for (size_t i = 0; i < sizeof all_aggs / sizeof *all_aggs; i++) {
        UNIT_ASSERT_EQUAL(run_agg(all_aggs[i], 300, 20000, (size_t)1 << 30, HASH_GOOD), 0);
        UNIT_ASSERT_EQUAL(run_agg(all_aggs[i], 300, 20000, (size_t)1 << 30, HASH_MIX), 0);
    }
}

/* A new table hashes with CRC32C exactly where the CPU has SSE4.2. */
static void test_slot_hash_choice(void) {
    sheaf__ctab *t = sheaf__ctab_new(SHEAF_AGG_SUM_U64, false, (size_t)1 << 30, TEST_SEED);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    bool want = false;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    want = __builtin_cpu_supports("sse4.2") != 0;
#endif
    UNIT_ASSERT_EQUAL(sheaf__ctab_set_crc(t, true), want);
    UNIT_ASSERT(sheaf__ctab_set_crc(t, false));
    UNIT_ASSERT(!sheaf__ctab_set_crc(t, true));
    sheaf__ctab_free(t);
}

/* Keys from empty to well past 48 bytes, so short and long keys take their different paths
 * through the table while sharing it. */
static void test_agg_long_keys(void) {
    agg_maxk = 100;
    for (size_t i = 0; i < sizeof all_aggs / sizeof *all_aggs; i++) {
        run_agg(all_aggs[i], 300, 10000, (size_t)1 << 30, HASH_GOOD);
        run_agg(all_aggs[i], 100, 3000, (size_t)1 << 30, HASH_FEW);
    }
    agg_maxk = 12;
}

static void test_agg_colliding_hashes(void) {
    for (size_t i = 0; i < sizeof all_aggs / sizeof *all_aggs; i++) {
        run_agg(all_aggs[i], 200, 5000, (size_t)1 << 30, HASH_FEW);
        run_agg(all_aggs[i], 60, 2000, (size_t)1 << 30, HASH_ONE);
    }
}

/* A limit just above the empty table: flushes must be signalled, and draining on each keeps
 * every aggregate right. Keys of up to 16 bytes live in their slots and take no memory beyond
 * the slot array, so here keys run to 40 bytes: the longer ones fill the key arena. */
static void test_agg_flush_signal(void) {
    sheaf__ctab *t = sheaf__ctab_new(SHEAF_AGG_SUM_U64, false, (size_t)1 << 30, TEST_SEED);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    size_t empty = sheaf__ctab_bytes(t);
    sheaf__ctab_free(t);
    const size_t limits[] = {empty + 1, empty + 100, empty + 2000};
    agg_maxk = 40;
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        for (size_t a = 0; a < sizeof all_aggs / sizeof *all_aggs; a++) {
            size_t flushes = run_agg(all_aggs[a], 500, 10000, limits[i], HASH_GOOD);
            UNIT_ASSERT(flushes > 0);
        }
    }
    agg_maxk = 12;
    /* Twice the empty size: the bytes stay under the limit, but the table cannot double its
     * slots within it, so it must ask for a flush once it is 70% full instead of growing. */
    UNIT_ASSERT(run_agg(SHEAF_AGG_SUM_U64, 3500, 30000, 2 * empty, HASH_GOOD) > 0);
    UNIT_ASSERT(run_agg(SHEAF_AGG_COUNT, 3500, 30000, 2 * empty, HASH_FEW) > 0);
}

/* A table grows well past its first size and keeps every key. */
static int count_fn(void *arg, uint64_t hash, const uint8_t *key, size_t klen,
                    const uint8_t *val, size_t vlen, sheaf_values *vals) {
    size_t *calls = arg;
    uint64_t n;
    memcpy(&n, val, 8);
    if (n == 3)
        calls[0]++;
    else
        calls[1]++;
    return 0;
}

static void test_agg_growth(void) {
    sheaf__ctab *t = sheaf__ctab_new(SHEAF_AGG_COUNT, false, (size_t)1 << 31, TEST_SEED);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    const size_t n = 100000;
    bool ok = true;
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < n; i++) {
            char key[32];
            int len = snprintf(key, sizeof key, "key-%zu", i);
            uint64_t one = 1;
            ok = ok && add_key(t, (const uint8_t *)key, (size_t)len, &one, 8) == 0;
        }
    }
    UNIT_ASSERT(ok);
    UNIT_ASSERT(sheaf__ctab_count(t) >= n);
    /* every key once, each counted three times */
    size_t calls[2] = {0, 0};
    UNIT_ASSERT_EQUAL(sheaf__ctab_drain(t, count_fn, calls, true), 0);
    UNIT_ASSERT_EQUAL(calls[0], n);
    UNIT_ASSERT_EQUAL(calls[1], 0);
    UNIT_ASSERT_EQUAL(sheaf__ctab_key_bytes(t), 0);
    sheaf__ctab_free(t);
}

/* The table sums the lengths of its distinct keys (what the shuffle sizes its buffers by),
 * whatever the path: single adds (through the ring) or batches, short or long keys. */
static void test_key_bytes(void) {
    sheaf__ctab *t = sheaf__ctab_new(SHEAF_AGG_SUM_U64, false, (size_t)1 << 31, TEST_SEED);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    static char text[2000][40];
    sheaf_key keys[2000];
    size_t want = 0;
    for (size_t i = 0; i < 2000; i++) {
        int len = snprintf(text[i], sizeof text[i], i % 3 ? "w%zu" : "a-long-key-of-some-bytes-%zu",
                           i);
        keys[i].data = (const uint8_t *)text[i];
        keys[i].len = (size_t)len;
        want += (size_t)len;
    }
    bool ok = true;
    for (size_t i = 0; i < 1000; i++) { /* single adds of half the keys, then all batched */
        uint64_t one = 1;
        ok = ok && add_key(t, keys[i].data, keys[i].len, &one, 8) == 0;
    }
    size_t done = 0;
    uint64_t bytes = 0;
    ok = ok && sheaf__ctab_add_keys(t, keys, 2000, 1, 0, 0, &done, &bytes) == 0 && done == 2000;
    UNIT_ASSERT(ok);
    UNIT_ASSERT_EQUAL(sheaf__ctab_key_bytes(t), want);
    size_t calls[2] = {0, 0};
    UNIT_ASSERT_EQUAL(sheaf__ctab_drain(t, count_fn, calls, true), 0);
    UNIT_ASSERT_EQUAL(sheaf__ctab_key_bytes(t), 0);
    sheaf__ctab_free(t);
}

/* A callback error stops the drain, is returned, and the table is still emptied. */
static int failing_fn(void *arg, uint64_t hash, const uint8_t *key, size_t klen,
                      const uint8_t *val, size_t vlen, sheaf_values *vals) {
    size_t *calls = arg;
    return ++*calls == 3 ? SHEAF_EUSER : 0;
}

static void test_drain_error(void) {
    sheaf__ctab *t = sheaf__ctab_new(SHEAF_AGG_MAX_U64, false, (size_t)1 << 30, TEST_SEED);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    for (uint64_t i = 0; i < 10; i++) {
        uint8_t k = (uint8_t)i;
        UNIT_ASSERT_EQUAL(add_key(t, &k, 1, &i, 8), 0);
    }
    size_t calls = 0;
    UNIT_ASSERT_EQUAL(sheaf__ctab_drain(t, failing_fn, &calls, true), SHEAF_EUSER);
    UNIT_ASSERT_EQUAL(calls, 3);
    UNIT_ASSERT_EQUAL(sheaf__ctab_count(t), 0);
    calls = 0;
    UNIT_ASSERT_EQUAL(sheaf__ctab_drain(t, failing_fn, &calls, true), 0);
    UNIT_ASSERT_EQUAL(calls, 0);
    sheaf__ctab_free(t);
}

/* After a drain the table is reused with the same results as a fresh one. */
static void test_reuse(void) {
    keypool pool;
    pool_make(&pool, 50, 6);
    sheaf__ctab *t = sheaf__ctab_new(SHEAF_AGG_SUM_I64, false, (size_t)1 << 30, TEST_SEED);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    agg_sink sink = {0};
    sink.pool = &pool;
    sink.partials = unit_xcalloc(pool.n, sizeof *sink.partials);
    sink.seen = unit_xcalloc(pool.n, 1);
    for (int round = 0; round < 4; round++) {
        int64_t *want = unit_xcalloc(pool.n, sizeof *want);
        unsigned char *used = unit_xcalloc(pool.n, 1);
        for (int e = 0; e < 1000; e++) {
            size_t k = (size_t)unit_below(pool.n);
            int64_t v = (int64_t)unit_below(200) - 100;
            want[k] += v;
            used[k] = 1;
            UNIT_ASSERT_EQUAL(add_key(t, pool.key[k], pool.klen[k], &v, 8), 0);
        }
        memset(sink.seen, 0, pool.n);
        for (size_t k = 0; k < pool.n; k++)
            sink.partials[k].n = 0;
        UNIT_ASSERT_EQUAL(sheaf__ctab_drain(t, agg_drain_fn, &sink, true), 0);
        UNIT_ASSERT_FALSE(sink.bad);
        for (size_t k = 0; k < pool.n; k++) {
            UNIT_ASSERT_EQUAL(sink.seen[k], used[k]);
            if (sink.seen[k] && sink.partials[k].n == 1) {
                int64_t got;
                memcpy(&got, &sink.partials[k].v[0], 8);
                UNIT_ASSERT_EQUAL(got, want[k]);
            }
        }
        free(want);
        free(used);
    }
    for (size_t k = 0; k < pool.n; k++)
        free(sink.partials[k].v);
    free(sink.partials);
    free(sink.seen);
    sheaf__ctab_free(t);
    pool_free(&pool);
}

/* ---- values tables ---- */

typedef struct bytes {
    uint8_t *p;
    size_t n;
} bytes;

typedef struct blist {
    bytes *v;
    size_t n, cap;
} blist;

static void blist_add(blist *l, const void *p, size_t n) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = unit_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n].p = unit_xmalloc(n);
    if (n)
        memcpy(l->v[l->n].p, p, n);
    l->v[l->n++].n = n;
}

static void blist_free(blist *l) {
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].p);
    free(l->v);
    memset(l, 0, sizeof *l);
}

typedef struct val_sink {
    const keypool *pool;
    blist *got; /* per key: every value drained, in drain order */
    unsigned char *seen;
    bool bad;
} val_sink;

static int val_drain_fn(void *arg, uint64_t hash, const uint8_t *key, size_t klen,
                        const uint8_t *val, size_t vlen, sheaf_values *vals) {
    val_sink *s = arg;
    long k = pool_find(s->pool, key, klen);
    if (k < 0 || !vals || s->seen[k] || hash != hash_of(key, klen)) {
        s->bad = true;
        return 0;
    }
    s->seen[k] = 1;
    const void *v;
    size_t n;
    size_t count = 0;
    while (sheaf_values_next(vals, &v, &n)) {
        blist_add(&s->got[k], v, n);
        count++;
    }
    if (count == 0)
        s->bad = true; /* a key in the table has at least one value */
    /* the iterator stays at its end */
    if (sheaf_values_next(vals, &v, &n))
        s->bad = true;
    return 0;
}

static void run_values(size_t npool, size_t nemit, size_t limit, size_t maxval, int hmode,
                       bool expect_flush) {
    keypool pool;
    pool_make(&pool, npool, 10);
    pool.hmode = hmode;
    blist *ref = unit_xcalloc(pool.n, sizeof *ref);
    val_sink sink = {0};
    sink.pool = &pool;
    sink.got = unit_xcalloc(pool.n, sizeof *sink.got);
    sink.seen = unit_xcalloc(pool.n, 1);
    sheaf__ctab *t = new_table(SHEAF_AGG_NONE, true, limit, hmode);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    uint8_t *vbuf = unit_xmalloc(maxval + 1);
    size_t flushes = 0;
    bool rc_ok = true, under_limit = true, drains_ok = true;
    for (size_t e = 0; e < nemit; e++) {
        size_t k = (size_t)unit_below(pool.n);
        size_t vlen = unit_below(10) == 0 ? 0 : (size_t)unit_below(maxval + 1);
        if (unit_below(500) == 0)
            vlen = maxval; /* now and then a large one, so the arena moves */
        for (size_t i = 0; i < vlen; i++)
            vbuf[i] = (uint8_t)unit_rand64();
        blist_add(&ref[k], vbuf, vlen);
        int rc = add_key(t, pool.key[k], pool.klen[k], vbuf, vlen);
        rc_ok = rc_ok && (rc == 0 || rc == 1);
        if (rc == 1) {
            flushes++;
            memset(sink.seen, 0, pool.n);
            drains_ok = drains_ok && sheaf__ctab_drain(t, val_drain_fn, &sink, true) == 0;
            drains_ok = drains_ok && sheaf__ctab_count(t) == 0;
        } else if (rc == 0) {
            under_limit = under_limit && sheaf__ctab_bytes(t) < limit;
        } else {
            break;
        }
    }
    UNIT_ASSERT(rc_ok);
    UNIT_ASSERT(under_limit);
    UNIT_ASSERT(drains_ok);
    memset(sink.seen, 0, pool.n);
    UNIT_ASSERT_EQUAL(sheaf__ctab_drain(t, val_drain_fn, &sink, true), 0);
    UNIT_ASSERT_FALSE(sink.bad);
    UNIT_ASSERT_EQUAL(sheaf__ctab_count(t), 0);
    if (expect_flush) {
        UNIT_ASSERT(flushes > 0);
    } else {
        UNIT_ASSERT_EQUAL(flushes, 0);
    }
    /* per key, the drained values in drain order are the emitted ones in emit order */
    size_t bad = 0;
    for (size_t k = 0; k < pool.n; k++) {
        bool ok = sink.got[k].n == ref[k].n;
        for (size_t i = 0; ok && i < ref[k].n; i++)
            ok = sink.got[k].v[i].n == ref[k].v[i].n &&
                 (ref[k].v[i].n == 0 ||
                  memcmp(sink.got[k].v[i].p, ref[k].v[i].p, ref[k].v[i].n) == 0);
        if (!ok && bad++ < 3)
            fprintf(stderr, "values of key %zu differ: %zu drained, %zu emitted\n", k,
                    sink.got[k].n, ref[k].n);
        UNIT_ASSERT(ok);
    }
    sheaf__ctab_free(t);
    for (size_t k = 0; k < pool.n; k++) {
        blist_free(&ref[k]);
        blist_free(&sink.got[k]);
    }
    free(ref);
    free(sink.got);
    free(sink.seen);
    free(vbuf);
    pool_free(&pool);
}

static void test_values_order(void) {
    run_values(200, 20000, (size_t)1 << 30, 40, HASH_GOOD, false);
    run_values(100, 5000, (size_t)1 << 30, 300, HASH_FEW, false);
    run_values(30, 2000, (size_t)1 << 30, 20, HASH_ONE, false);
    /* values far larger than the arena's first size */
    run_values(5, 50, (size_t)1 << 30, 200000, HASH_GOOD, false);
}

static void test_values_flush(void) {
    sheaf__ctab *t = sheaf__ctab_new(SHEAF_AGG_NONE, true, (size_t)1 << 30, TEST_SEED);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    size_t empty = sheaf__ctab_bytes(t);
    sheaf__ctab_free(t);
    run_values(200, 20000, empty + 5000, 40, HASH_GOOD, true);
    run_values(20, 5000, empty + 1, 10, HASH_FEW, true);
    run_values(3000, 20000, 2 * empty, 8, HASH_GOOD, true);
}

/* The batch emit (sheaf__ctab_add_keys) against the same reference: every aggregation, short
 * and long keys, padded and not, colliding hashes, and limits that stop a batch midway. */
static void test_agg_batched(void) {
    sheaf__ctab *t = sheaf__ctab_new(SHEAF_AGG_SUM_U64, false, (size_t)1 << 30, TEST_SEED);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    size_t empty = sheaf__ctab_bytes(t);
    sheaf__ctab_free(t);
    agg_batched = true;
    for (size_t i = 0; i < sizeof all_aggs / sizeof *all_aggs; i++) {
        agg_maxk = 12;
        UNIT_ASSERT_EQUAL(run_agg(all_aggs[i], 300, 20000, (size_t)1 << 30, HASH_GOOD), 0);
        UNIT_ASSERT_EQUAL(run_agg(all_aggs[i], 300, 20000, (size_t)1 << 30, HASH_MIX), 0);
        run_agg(all_aggs[i], 60, 3000, (size_t)1 << 30, HASH_ONE);
        agg_maxk = 100;
        run_agg(all_aggs[i], 300, 10000, (size_t)1 << 30, HASH_GOOD);
        run_agg(all_aggs[i], 300, 10000, (size_t)1 << 30, HASH_MIX);
        run_agg(all_aggs[i], 100, 3000, (size_t)1 << 30, HASH_FEW);
        agg_maxk = 40;
        UNIT_ASSERT(run_agg(all_aggs[i], 500, 10000, empty + 100, HASH_GOOD) > 0);
    }
    agg_maxk = 12;
    UNIT_ASSERT(run_agg(SHEAF_AGG_SUM_U64, 3500, 30000, 2 * empty, HASH_GOOD) > 0);
    /* a table that grows twice (4096 slots at first), with short and long keys */
    agg_maxk = 40;
    UNIT_ASSERT_EQUAL(run_agg(SHEAF_AGG_COUNT, 6000, 120000, (size_t)1 << 30, HASH_GOOD), 0);
    UNIT_ASSERT_EQUAL(run_agg(SHEAF_AGG_COUNT, 6000, 120000, (size_t)1 << 30, HASH_MIX), 0);
    agg_maxk = 12;
    agg_batched = false;
}

/* ---- formatting an accumulator ---- */

/* Integers at every digit-count boundary, and the extremes, read as printf writes them. */
static void test_agg_format_edges(void) {
    char out[64], want[64];
    for (int pow = 0; pow < 20; pow++) {
        uint64_t p10 = 1;
        for (int k = 0; k < pow; k++)
            p10 *= 10;
        uint64_t us[] = {p10 - 1, p10, p10 + 1, p10 * 2 - 1, UINT64_MAX, 0};
        for (size_t k = 0; k < sizeof us / sizeof *us; k++) {
            uint8_t acc[8];
            memcpy(acc, &us[k], 8);
            size_t n = sheaf__agg_format(SHEAF_AGG_SUM_U64, acc, out, sizeof out);
            snprintf(want, sizeof want, "%llu", (unsigned long long)us[k]);
            UNIT_ASSERT(n == strlen(want) && strcmp(out, want) == 0);
            int64_t is[] = {(int64_t)us[k], -(int64_t)(us[k] & INT64_MAX), INT64_MIN, INT64_MAX};
            for (size_t j = 0; j < sizeof is / sizeof *is; j++) {
                memcpy(acc, &is[j], 8);
                n = sheaf__agg_format(SHEAF_AGG_SUM_I64, acc, out, sizeof out);
                snprintf(want, sizeof want, "%lld", (long long)is[j]);
                UNIT_ASSERT(n == strlen(want) && strcmp(out, want) == 0);
            }
        }
    }
}

static void test_agg_format(void) {
    char out[64];
    for (int i = 0; i < 2000; i++) {
        for (size_t a = 0; a < sizeof all_aggs / sizeof *all_aggs; a++) {
            sheaf_agg agg = all_aggs[a];
            uint64_t u = random_value(agg);
            if (i == 0)
                u = agg == SHEAF_AGG_COUNT || agg == SHEAF_AGG_SUM_U64 ? UINT64_MAX : 0;
            uint8_t acc[8];
            memcpy(acc, &u, 8);
            size_t n = sheaf__agg_format(agg, acc, out, sizeof out);
            UNIT_ASSERT(n > 0 && n < sizeof out);
            UNIT_ASSERT_EQUAL(strlen(out), n);
            char *end;
            /* the text reads back as the same number */
            if (is_double(agg)) {
                double d, back = strtod(out, &end);
                memcpy(&d, &u, 8);
                UNIT_ASSERT(*end == '\0' && back == d);
            } else if (agg == SHEAF_AGG_SUM_I64 || agg == SHEAF_AGG_MIN_I64 ||
                       agg == SHEAF_AGG_MAX_I64) {
                int64_t v;
                memcpy(&v, &u, 8);
                UNIT_ASSERT(*out == '-' || (*out >= '0' && *out <= '9'));
                long long back = strtoll(out, &end, 10);
                UNIT_ASSERT(*end == '\0' && back == v);
            } else {
                UNIT_ASSERT(*out >= '0' && *out <= '9');
                unsigned long long back = strtoull(out, &end, 10);
                UNIT_ASSERT(*end == '\0' && back == u);
            }
        }
    }
}

int main(void) {
    static const unit_test tests[] = {
        {"agg_kinds", test_agg_kinds},
        {"slot_hash_choice", test_slot_hash_choice},
        {"agg_colliding_hashes", test_agg_colliding_hashes},
        {"agg_long_keys", test_agg_long_keys},
        {"agg_flush_signal", test_agg_flush_signal},
        {"agg_growth", test_agg_growth},
        {"key_bytes", test_key_bytes},
        {"agg_batched", test_agg_batched},
        {"drain_error", test_drain_error},
        {"reuse", test_reuse},
        {"values_order", test_values_order},
        {"values_flush", test_values_flush},
        {"agg_format", test_agg_format},
        {"agg_format_edges", test_agg_format_edges},
        {NULL, NULL},
    };
    return unit_main("ctab", tests);
}
