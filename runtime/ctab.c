/*
 * ctab.c: the map-side combine table.
 *
 * An open-addressing hash table (linear probing, power-of-two size, at most 70% full) keyed
 * by the key's XXH3 hash, which sheaf_emit computes once; the partition is derived from the
 * stored hash only when the table is drained, so an emit costs one hash, one probe and, for
 * short keys, an inline compare. Keys live in one arena and are copied once, when first seen; a key already in
 * the table costs a probe and a memcmp, with no allocation and no copy.
 *
 * Two kinds of table:
 *  - aggregation (sum, count, min, max over u64, i64, double): each entry holds an 8-byte
 *    accumulator that every emit updates in place;
 *  - values (a user combiner): each entry holds a chain of values in a second arena; when the
 *    table is drained the combiner sees the chain through the ordinary value iterator. A chain
 *    that reaches 16 values is combined at once and replaced by the combiner's output (as
 *    Hadoop may, the combiner runs any number of times on a key), so memory follows the
 *    number of keys rather than of records.
 *
 * The table reports when its bytes (slots plus arenas) reach its limit; the caller then
 * drains it into the shuffle and it starts again empty, keeping its allocations.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

/* 32 bytes, two to a cache line; an empty slot has tag 0. */
typedef struct entry {
    uint64_t hash;
    uint32_t koff; /* the key arena stays under 4 GiB: the table's limit is a budget share */
    uint32_t tag;  /* key length + 1 */
    uint64_t a;    /* accumulator bytes, or offset + 1 of the chain's head */
    uint64_t b;    /* values: offset + 1 of the chain's tail; aggregation: the key's first
                    * 8 bytes, so a short key is compared without touching the arena */
} entry;

/* Inserts wait a few emits in a ring while their slot's cache line is prefetched, so the
 * table's cache misses overlap instead of adding up (aggregation tables, short keys). */
#define RING 16
#define RING_KEY 48
typedef struct pending {
    uint64_t hash;
    uint64_t val;
    uint32_t klen;
    uint8_t key[RING_KEY];
} pending;

struct sheaf__ctab {
    pending ring[RING];
    unsigned rhead, rcount;
    sheaf_agg agg;
    bool values;
    entry *slots;
    size_t mask, count;
    sheaf__buf keys, vals;
    size_t limit;
    /* Values tables: a key's chain is combined in place once it holds EAGER values. */
    sheaf__ctab_eager_fn eager;
    void *eager_arg;
    sheaf__buf captured; /* the combiner's output for the key: varint length, bytes */
};

#define EAGER 16

static int alloc_slots(sheaf__ctab *t, size_t n) {
    t->slots = calloc(n, sizeof *t->slots);
    if (!t->slots)
        return SHEAF_ENOMEM;
    t->mask = n - 1;
    return 0;
}

sheaf__ctab *sheaf__ctab_new(sheaf_agg agg, bool values, size_t limit) {
    sheaf__ctab *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->agg = agg;
    t->values = values;
    t->limit = limit;
    if (alloc_slots(t, 1u << 12)) {
        sheaf__ctab_free(t);
        return NULL;
    }
    return t;
}

void sheaf__ctab_free(sheaf__ctab *t) {
    if (!t)
        return;
    free(t->slots);
    sheaf__buf_free(&t->keys);
    sheaf__buf_free(&t->vals);
    sheaf__buf_free(&t->captured);
    free(t);
}

static size_t slot_bytes(const sheaf__ctab *t) {
    return (t->mask + 1) * sizeof(entry);
}

/* The slot array plus the arenas' contents. The slot array only grows while twice its size
 * still fits the limit, so an emptied table is always well under it. */
size_t sheaf__ctab_bytes(const sheaf__ctab *t) {
    return slot_bytes(t) + t->keys.len + t->vals.len;
}

size_t sheaf__ctab_count(const sheaf__ctab *t) {
    return t->count + t->rcount;
}

static int grow(sheaf__ctab *t) {
    entry *old = t->slots;
    size_t oldn = t->mask + 1;
    if (alloc_slots(t, oldn * 2)) {
        t->slots = old;
        t->mask = oldn - 1;
        return SHEAF_ENOMEM;
    }
    for (size_t i = 0; i < oldn; i++) {
        if (!old[i].tag)
            continue;
        size_t j = old[i].hash & t->mask;
        while (t->slots[j].tag)
            j = (j + 1) & t->mask;
        t->slots[j] = old[i];
    }
    free(old);
    return 0;
}

/* A chain: e->a is offset + 1 of its head, the low 32 bits of e->b offset + 1 of its tail and
 * the high 32 bits its length (a values table's arena stays far below 4 GiB: its limit is
 * 32 MiB). */
static int chain_add(sheaf__ctab *t, entry *e, const void *val, size_t vlen) {
    if (sheaf__buf_reserve(&t->vals, 8 + SHEAF__VARINT_MAX + vlen) ||
        t->vals.len + 8 + SHEAF__VARINT_MAX + vlen >= UINT32_MAX)
        return SHEAF_ENOMEM;
    uint64_t off = t->vals.len;
    uint8_t *p = t->vals.data + off;
    memset(p, 0, 8);
    size_t n = 8 + sheaf__varint_put(p + 8, vlen);
    if (vlen)
        memcpy(p + n, val, vlen);
    t->vals.len += n + vlen;
    uint64_t tail = e->b & 0xffffffffu, count = e->b >> 32;
    if (tail)
        memcpy(t->vals.data + tail - 1, &(uint64_t){off + 1}, 8);
    else
        e->a = off + 1;
    e->b = (count + 1) << 32 | (off + 1);
    return 0;
}

void sheaf__ctab_set_eager(sheaf__ctab *t, sheaf__ctab_eager_fn fn, void *arg) {
    t->eager = fn;
    t->eager_arg = arg;
}

/* Runs the combiner over a long chain and replaces the chain with what it produced (the old
 * values stay in the arena until the table is drained). */
static int combine_chain(sheaf__ctab *t, entry *e) {
    sheaf_values v = {0};
    v.kind = SHEAF__VALS_CHAIN;
    v.arena = t->vals.data;
    v.next = e->a;
    v.gkey = t->keys.data + e->koff;
    v.gklen = e->tag - 1;
    t->captured.len = 0;
    int rc = t->eager(t->eager_arg, v.gkey, v.gklen, &v, &t->captured);
    if (rc)
        return rc;
    e->a = e->b = 0;
    const uint8_t *p = t->captured.data, *end = p + t->captured.len;
    while (p < end) {
        uint64_t n;
        size_t h = sheaf__varint_get(p, end, &n);
        if (!h || n > (uint64_t)(end - p - h))
            return SHEAF_EIO;
        if ((rc = chain_add(t, e, p + h, (size_t)n)))
            return rc;
        p += h + n;
    }
    return 0;
}

/* Key equality without a call for the short keys that dominate (words, ids). */
static inline bool key_eq(const uint8_t *a, const uint8_t *b, size_t n) {
    if (n <= 16) {
        if (n >= 8) {
            uint64_t x, y, u, v;
            memcpy(&x, a, 8);
            memcpy(&y, b, 8);
            memcpy(&u, a + n - 8, 8);
            memcpy(&v, b + n - 8, 8);
            return x == y && u == v;
        }
        if (n >= 4) {
            uint32_t x, y, u, v;
            memcpy(&x, a, 4);
            memcpy(&y, b, 4);
            memcpy(&u, a + n - 4, 4);
            memcpy(&v, b + n - 4, 4);
            return x == y && u == v;
        }
        for (size_t i = 0; i < n; i++)
            if (a[i] != b[i])
                return false;
        return true;
    }
    return memcmp(a, b, n) == 0;
}

/* The key's first 8 bytes, zero-padded, as a number (byte order is irrelevant: it is only
 * compared for equality), without a variable-length memcpy. */
static inline uint64_t head8(const void *key, size_t klen) {
    const uint8_t *k = key;
    if (klen >= 8) {
        uint64_t v;
        memcpy(&v, k, 8);
        return v;
    }
    if (klen >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, k, 4);
        memcpy(&hi, k + klen - 4, 4);
        uint64_t v = 0;
        memcpy(&v, &lo, 4);
        uint8_t tmp[8];
        memcpy(tmp, &v, 8);
        memcpy(tmp + klen - 4, &hi, 4);
        memcpy(&v, tmp, 8);
        return v;
    }
    uint64_t v = 0;
    uint8_t tmp[8] = {0};
    for (size_t i = 0; i < klen; i++)
        tmp[i] = k[i];
    memcpy(&v, tmp, 8);
    return v;
}

static inline __attribute__((always_inline)) int insert(sheaf__ctab *t, uint64_t hash,
                                                       const void *key, size_t klen,
                                                       const void *val, size_t vlen) {
    size_t i = hash & t->mask;
    uint32_t tag = (uint32_t)klen + 1;
    uint64_t h8 = t->values ? 0 : head8(key, klen);
    for (;;) {
        entry *e = &t->slots[i];
        if (!e->tag)
            break;
        if (e->hash == hash && e->tag == tag &&
            (t->values ? key_eq(t->keys.data + e->koff, key, klen)
                       : e->b == h8 && (klen <= 8 ||
                                        key_eq(t->keys.data + e->koff + 8,
                                               (const uint8_t *)key + 8, klen - 8)))) {
            if (t->values) {
                if (chain_add(t, e, val, vlen))
                    return SHEAF_ENOMEM;
                if (t->eager && (e->b >> 32) >= EAGER) {
                    int rc = combine_chain(t, e);
                    if (rc)
                        return rc;
                }
                return sheaf__ctab_bytes(t) >= t->limit;
            }
            if (SHEAF__LIKELY(t->agg == SHEAF_AGG_SUM_U64 && vlen == 8)) {
                uint64_t x;
                memcpy(&x, val, 8);
                e->a += x; /* the accumulator is host-order bytes; a u64 sum is one add */
            } else {
                sheaf__agg_merge(t->agg, (uint8_t *)&e->a, val, vlen);
            }
            return 0;
        }
        i = (i + 1) & t->mask;
    }
    if (klen >= UINT32_MAX || t->keys.len + klen >= UINT32_MAX ||
        sheaf__buf_reserve(&t->keys, klen ? klen : 1))
        return SHEAF_ENOMEM;
    entry *e = &t->slots[i];
    e->hash = hash;
    e->koff = (uint32_t)t->keys.len;
    e->tag = tag;
    e->a = 0;
    e->b = h8;
    if (klen)
        memcpy(t->keys.data + t->keys.len, key, klen);
    t->keys.len += klen;
    if (t->values) {
        if (chain_add(t, e, val, vlen))
            return SHEAF_ENOMEM;
    } else {
        sheaf__agg_init(t->agg, (uint8_t *)&e->a, val, vlen);
    }
    t->count++;
    if (t->count * 10 > (t->mask + 1) * 7) {
        if (2 * slot_bytes(t) + t->keys.len + t->vals.len > t->limit)
            return 1; /* full: flush rather than grow past the limit */
        if (grow(t))
            return SHEAF_ENOMEM;
    }
    return sheaf__ctab_bytes(t) >= t->limit;
}

/* Copies a key of at most RING_KEY bytes without a call: overlapping word moves. */
static inline void copy_short(uint8_t *dst, const void *src, size_t n) {
    const uint8_t *s = src;
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(dst, &a, 4);
        memcpy(dst + n - 4, &b, 4);
    } else if (n < 4) {
        for (size_t i = 0; i < n; i++)
            dst[i] = s[i];
    } else {
        memcpy(dst, s, n);
    }
}

/* Inserts everything waiting in the ring. Returns 0, 1 (the table is full) or a code. */
static int settle(sheaf__ctab *t) {
    int worst = 0;
    while (t->rcount) {
        pending *p = &t->ring[t->rhead];
        int rc = insert(t, p->hash, p->key, p->klen, &p->val, 8);
        t->rhead = (t->rhead + 1) % RING;
        t->rcount--;
        if (rc < 0)
            return rc;
        worst = rc > worst ? rc : worst;
    }
    return worst;
}

int sheaf__ctab_add(sheaf__ctab *t, uint64_t hash, const void *key, size_t klen,
                    const void *val, size_t vlen) {
    if (t->values || klen > RING_KEY || vlen != 8)
        return insert(t, hash, key, klen, val, vlen);
    __builtin_prefetch(&t->slots[hash & t->mask]);
    int rc = 0;
    if (t->rcount == RING) { /* the oldest has waited long enough */
        pending *p = &t->ring[t->rhead];
        rc = insert(t, p->hash, p->key, p->klen, &p->val, 8);
        t->rhead = (t->rhead + 1) % RING;
        t->rcount--;
    }
    if (t->rcount >= RING / 2) {
        /* Halfway through its wait an entry's slot is in cache: prefetch the key it holds, in
         * case the compare needs the arena (keys longer than 8 bytes). */
        const pending *m = &t->ring[(t->rhead + t->rcount - RING / 2) % RING];
        const entry *e = &t->slots[m->hash & t->mask];
        if (e->hash == m->hash && m->klen > 8)
            __builtin_prefetch(t->keys.data + e->koff + 8);
    }
    pending *q = &t->ring[(t->rhead + t->rcount) % RING];
    q->hash = hash;
    q->klen = (uint32_t)klen;
    copy_short(q->key, key, klen);
    memcpy(&q->val, val, 8);
    t->rcount++;
    return rc;
}

int sheaf__ctab_drain(sheaf__ctab *t, sheaf__ctab_fn fn, void *arg) {
    int rc = settle(t);
    if (rc < 0)
        return rc;
    rc = 0;
    for (size_t i = 0; i <= t->mask && !rc; i++) {
        entry *e = &t->slots[i];
        if (!e->tag)
            continue;
        const uint8_t *key = t->keys.data + e->koff;
        size_t klen = e->tag - 1;
        if (t->values) {
            if (!e->a)
                continue; /* an eager combine sent everything on already */
            sheaf_values v = {0};
            v.kind = SHEAF__VALS_CHAIN;
            v.arena = t->vals.data;
            v.next = e->a;
            v.gkey = key;
            v.gklen = klen;
            rc = fn(arg, e->hash, key, klen, NULL, 0, &v);
        } else {
            rc = fn(arg, e->hash, key, klen, (const uint8_t *)&e->a, 8, NULL);
        }
    }
    memset(t->slots, 0, slot_bytes(t));
    t->count = 0;
    t->keys.len = 0;
    t->vals.len = 0;
    return rc;
}

/* ---- built-in aggregations ---- */

void sheaf__agg_init(sheaf_agg agg, uint8_t acc[8], const void *val, size_t vlen) {
    if (agg == SHEAF_AGG_COUNT) {
        uint64_t one = 1;
        memcpy(acc, &one, 8);
    } else if (vlen == 8) {
        memcpy(acc, val, 8);
    } else {
        memset(acc, 0, 8);
    }
}

void sheaf__agg_merge(sheaf_agg agg, uint8_t acc[8], const void *val, size_t vlen) {
    uint64_t u, x = 0;
    int64_t i, y = 0;
    double d, z = 0;
    memcpy(&u, acc, 8);
    memcpy(&i, acc, 8);
    memcpy(&d, acc, 8);
    if (vlen == 8) {
        memcpy(&x, val, 8);
        memcpy(&y, val, 8);
        memcpy(&z, val, 8);
    }
    switch (agg) {
    case SHEAF_AGG_COUNT: u += 1; memcpy(acc, &u, 8); break;
    case SHEAF_AGG_SUM_U64: u += x; memcpy(acc, &u, 8); break;
    case SHEAF_AGG_SUM_I64: i = (int64_t)((uint64_t)i + (uint64_t)y); memcpy(acc, &i, 8); break;
    case SHEAF_AGG_SUM_DOUBLE: d += z; memcpy(acc, &d, 8); break;
    case SHEAF_AGG_MIN_U64: if (x < u) memcpy(acc, &x, 8); break;
    case SHEAF_AGG_MIN_I64: if (y < i) memcpy(acc, &y, 8); break;
    case SHEAF_AGG_MIN_DOUBLE: if (z < d) memcpy(acc, &z, 8); break;
    case SHEAF_AGG_MAX_U64: if (x > u) memcpy(acc, &x, 8); break;
    case SHEAF_AGG_MAX_I64: if (y > i) memcpy(acc, &y, 8); break;
    case SHEAF_AGG_MAX_DOUBLE: if (z > d) memcpy(acc, &z, 8); break;
    case SHEAF_AGG_NONE: break;
    }
}

/* COUNT partial results travel as counts, so merging them across ranks is a sum. */
size_t sheaf__agg_format(sheaf_agg agg, const uint8_t acc[8], char *out, size_t outlen) {
    uint64_t u;
    int64_t i;
    double d;
    memcpy(&u, acc, 8);
    memcpy(&i, acc, 8);
    memcpy(&d, acc, 8);
    int n;
    switch (agg) {
    case SHEAF_AGG_SUM_I64: case SHEAF_AGG_MIN_I64: case SHEAF_AGG_MAX_I64:
        n = snprintf(out, outlen, "%lld", (long long)i);
        break;
    case SHEAF_AGG_SUM_DOUBLE: case SHEAF_AGG_MIN_DOUBLE: case SHEAF_AGG_MAX_DOUBLE:
        n = snprintf(out, outlen, "%.17g", d);
        break;
    default:
        n = snprintf(out, outlen, "%llu", (unsigned long long)u);
        break;
    }
    return n < 0 ? 0 : (size_t)n;
}
