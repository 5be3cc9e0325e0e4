/*
 * ctab.h: the combine table's layout and the inline path of an emit into it (private).
 *
 * sheaf_emit and the typed emits (shuffle.c) inline sheaf__ctab_add, so an emit of a short
 * key into an aggregation table is one call from the user's map function: load the key's
 * first 16 bytes, hash them, prefetch the slot, and insert the emit that has waited SHEAF__RING
 * emits in the ring. ctab.c has the rest (placing new keys, growing, value chains, draining)
 * and the design.
 */
#ifndef SHEAF_CTAB_H
#define SHEAF_CTAB_H

#include "internal.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#define SHEAF__INLINE_KEY 16

/* 32 bytes; an empty slot has tag 0. */
typedef struct sheaf__slot {
    uint64_t k[2]; /* the key's first 16 bytes, zero-padded (the whole key when short) */
    uint32_t tag;  /* key length + 1 */
    uint32_t koff; /* keys longer than 16 bytes: offset of the whole key in the key arena,
                    * which stays under 4 GiB (the table's limit is a budget share) */
    uint64_t a;    /* the accumulator's bytes, or offset + 1 of the chain's head */
} sheaf__slot;

/* Inserts wait a few emits in a ring while their slot's cache line is prefetched, so the
 * table's cache misses overlap instead of adding up (aggregation tables, short keys). */
#define SHEAF__RING 32
typedef struct sheaf__pending {
    uint64_t k[2];
    uint64_t hash;
    uint64_t val;
    uint32_t tag;
} sheaf__pending;

struct sheaf__ctab {
    sheaf__pending ring[SHEAF__RING];
    unsigned rhead, rcount;
    sheaf_agg agg;
    bool values;
    sheaf__slot *slots; /* aligned to a cache line, inside slots_mem */
    void *slots_mem;
    uint64_t *tails; /* values tables: per slot, chain length << 32 | offset + 1 of the tail */
    size_t mask, count;
    size_t key_bytes; /* the lengths of the keys in the table, summed */
    sheaf__buf keys, vals;
    size_t limit;
    uint64_t seed;                  /* of the partition hash handed to drain */
    bool crc;                       /* the slot hash is crc16, not mix16 */
    sheaf__ctab_hash_fn slot_hash;  /* tests: replaces the slot hash */
    /* Values tables: a key's chain is combined in place once it holds EAGER values. */
    sheaf__ctab_eager_fn eager;
    void *eager_arg;
    sheaf__buf captured; /* the combiner's output for the key: varint length, bytes */
};

/* ---- keys ---- */

/* The first 16 bytes of a key, zero-padded, loaded without reading past it. */
static inline void head16(uint64_t k[2], const uint8_t *key, size_t klen) {
    uint8_t b[16] = {0};
    if (klen >= 16) {
        memcpy(b, key, 16);
    } else if (klen >= 8) {
        memcpy(b, key, 8);
        memcpy(b + klen - 8, key + klen - 8, 8);
    } else if (klen >= 4) {
        memcpy(b, key, 4);
        memcpy(b + klen - 4, key + klen - 4, 4);
    } else if (klen > 0) {
        b[0] = key[0];
        b[klen / 2] = key[klen / 2];
        b[klen - 1] = key[klen - 1];
    }
    memcpy(k, b, 16);
}

#if defined(__SSE2__)
/* head16 when 16 bytes are readable at key: one load and a mask, no branch on the length. */
static const uint8_t keep_mask[17][16] = {
#define M(n) {(n) > 0 ? 255 : 0, (n) > 1 ? 255 : 0, (n) > 2 ? 255 : 0, (n) > 3 ? 255 : 0, \
              (n) > 4 ? 255 : 0, (n) > 5 ? 255 : 0, (n) > 6 ? 255 : 0, (n) > 7 ? 255 : 0, \
              (n) > 8 ? 255 : 0, (n) > 9 ? 255 : 0, (n) > 10 ? 255 : 0, (n) > 11 ? 255 : 0, \
              (n) > 12 ? 255 : 0, (n) > 13 ? 255 : 0, (n) > 14 ? 255 : 0, (n) > 15 ? 255 : 0}
    M(0), M(1), M(2), M(3), M(4), M(5), M(6), M(7), M(8),
    M(9), M(10), M(11), M(12), M(13), M(14), M(15), M(16),
#undef M
};

static inline void head16_padded(uint64_t k[2], const uint8_t *key, size_t klen) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)key);
    v = _mm_and_si128(v, _mm_loadu_si128((const __m128i *)(const void *)keep_mask[klen]));
    _mm_storeu_si128((__m128i *)(void *)k, v);
}
#else
static inline void head16_padded(uint64_t k[2], const uint8_t *key, size_t klen) {
    head16(k, key, klen);
}
#endif

/* True when 16 bytes are readable at key: it lies in [lo, hi), the current record and its
 * padding (or a buffer the map declared padded). */
static inline bool sheaf__ctab_padded(const void *key, uintptr_t lo, uintptr_t hi) {
    uintptr_t a = (uintptr_t)key;
    return a >= lo && a + 16 <= hi;
}

/* A key's first 16 bytes, zero-padded: one masked load when the key is short and padded. */
static inline void head16_any(uint64_t k[2], const uint8_t *key, size_t klen, bool padded) {
    if (padded && klen <= SHEAF__INLINE_KEY)
        head16_padded(k, key, klen);
    else
        head16(k, key, klen);
}

/* The portable slot hash of a key's inline bytes. Two odd multipliers make each half a
 * bijection; the final xorshift-multiply spreads the combination into the low bits that index
 * the table. */
static inline uint64_t mix16(const uint64_t k[2], uint64_t klen) {
    uint64_t a = k[0] * 0x9e3779b97f4a7c15ull, c = k[1] * 0xc2b2ae3d27d4eb4full;
    uint64_t h = a ^ (c << 32 | c >> 32) ^ klen;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define SHEAF__HAVE_CRC 1
/* The slot hash on CPUs with SSE4.2: CRC32C of the length and the two halves, two crc32
 * instructions (written as assembly, so the runtime needs no SSE4.2 build flag; a table uses
 * it only where the CPU has it). Its 32 bits index tables of up to 2^32 slots, the most a
 * table grows to (ctab.c). */
static inline uint64_t crc16(const uint64_t k[2], uint64_t klen) {
    uint64_t h = klen;
    __asm__("crc32q %1, %0" : "+r"(h) : "rm"(k[0]));
    __asm__("crc32q %1, %0" : "+r"(h) : "rm"(k[1]));
    return h;
}
#else
#define SHEAF__HAVE_CRC 0
static inline uint64_t crc16(const uint64_t k[2], uint64_t klen) {
    return mix16(k, klen);
}
#endif

/* The slot hash of a key from its inline bytes (and, past 16 bytes, the rest of it). */
static inline __attribute__((always_inline)) uint64_t
key_hash(bool crc, const uint64_t k[2], const uint8_t *key, size_t klen) {
    uint64_t h = crc ? crc16(k, klen) : mix16(k, klen);
    if (klen > SHEAF__INLINE_KEY)
        h ^= XXH3_64bits(key + SHEAF__INLINE_KEY, klen - SHEAF__INLINE_KEY);
    return h;
}

static inline uint64_t slot_hash(const sheaf__ctab *t, const uint64_t k[2], const uint8_t *key,
                                 size_t klen) {
    if (SHEAF__UNLIKELY(t->slot_hash != NULL))
        return t->slot_hash(key, klen);
    return key_hash(t->crc, k, key, klen);
}

static inline const uint8_t *sheaf__ctab_entry_key(const sheaf__ctab *t, const sheaf__slot *e) {
    return e->tag - 1 > SHEAF__INLINE_KEY ? t->keys.data + e->koff : (const uint8_t *)e->k;
}

/* Finds the key's slot, or the empty slot where it goes, in slots[0..mask] (arena: the key
 * arena of longer keys). */
static inline __attribute__((always_inline)) sheaf__slot *
sheaf__ctab_probe_in(sheaf__slot *slots, size_t mask, const sheaf__buf *arena, uint64_t hash,
                     const uint64_t k[2], uint32_t tag, const uint8_t *key) {
    size_t i = hash & mask;
    for (;;) {
        sheaf__slot *e = &slots[i];
        if (!e->tag)
            return e;
        if (e->k[0] == k[0] && e->k[1] == k[1] && e->tag == tag &&
            (tag - 1 <= SHEAF__INLINE_KEY ||
             memcmp(arena->data + e->koff + SHEAF__INLINE_KEY, key + SHEAF__INLINE_KEY,
                    tag - 1 - SHEAF__INLINE_KEY) == 0))
            return e;
        i = (i + 1) & mask;
    }
}

static inline __attribute__((always_inline)) sheaf__slot *
sheaf__ctab_probe(const sheaf__ctab *t, uint64_t hash, const uint64_t k[2], uint32_t tag,
                  const uint8_t *key) {
    return sheaf__ctab_probe_in(t->slots, t->mask, &t->keys, hash, k, tag, key);
}

static inline __attribute__((always_inline)) void
sheaf__ctab_merge(sheaf__ctab *t, sheaf__slot *e, const void *val, size_t vlen) {
    if (SHEAF__LIKELY(t->agg == SHEAF_AGG_SUM_U64 && vlen == 8)) {
        uint64_t x;
        memcpy(&x, val, 8);
        e->a += x; /* the accumulator is host-order bytes; a u64 sum is one add */
    } else {
        sheaf__agg_merge(t->agg, (uint8_t *)&e->a, val, vlen);
    }
}

/* Prefetches the line of a key's slot and, when the slot is the second in its line, the next
 * line too, where the probe goes on when the slot holds another key. */
static inline void sheaf__ctab_prefetch_in(const sheaf__slot *slots, size_t mask,
                                           uint64_t hash) {
    const sheaf__slot *e = &slots[hash & mask];
    __builtin_prefetch(e);
    __builtin_prefetch(e + 1); /* the same line for an even slot: no second fetch */
}

static inline void sheaf__ctab_prefetch(const sheaf__ctab *t, uint64_t hash) {
    sheaf__ctab_prefetch_in(t->slots, t->mask, hash);
}

/* Fills an empty slot for a key (k: its first 16 bytes). Returns 0, 1 (the table is full) or a
 * negative code. */
int sheaf__ctab_place(sheaf__ctab *t, sheaf__slot *e, const uint64_t k[2], const uint8_t *key,
                      size_t klen, const void *val, size_t vlen);
/* Inserts one value under any key into any table, without the ring. Returns 0, 1 (the table
 * is full) or a negative code. */
int sheaf__ctab_insert(sheaf__ctab *t, uint64_t hash, const uint64_t k[2], const uint8_t *key,
                       size_t klen, const void *val, size_t vlen);

/* Takes the oldest waiting emit (a short key, a u64) out of the ring and inserts it. Returns
 * 0, 1 (the table is full) or a negative code. */
static inline __attribute__((always_inline)) int sheaf__ctab_insert_oldest(sheaf__ctab *t) {
    SHEAF__ASSERT(t->rcount > 0 && t->rcount <= SHEAF__RING && t->rhead < SHEAF__RING);
    const sheaf__pending *p = &t->ring[t->rhead];
    t->rhead = (t->rhead + 1) % SHEAF__RING;
    t->rcount--;
    sheaf__slot *e = sheaf__ctab_probe(t, p->hash, p->k, p->tag, (const uint8_t *)p->k);
    if (SHEAF__LIKELY(e->tag != 0)) {
        sheaf__ctab_merge(t, e, &p->val, 8);
        return 0;
    }
    return sheaf__ctab_place(t, e, p->k, (const uint8_t *)p->k, p->tag - 1, &p->val, 8);
}

/* Adds one value under a key (padded: 16 bytes are readable at key whatever klen is). Returns
 * 0, 1 when the table reached its limit (flush it), or a negative code. */
static inline __attribute__((always_inline)) int sheaf__ctab_add(sheaf__ctab *t, const void *key,
                                                                size_t klen, bool padded,
                                                                const void *val, size_t vlen) {
    const uint8_t *kb = key;
    uint64_t k[2];
    head16_any(k, kb, klen, padded);
    uint64_t hash = slot_hash(t, k, kb, klen);
    if (t->values || klen > SHEAF__INLINE_KEY || vlen != 8)
        return sheaf__ctab_insert(t, hash, k, kb, klen, val, vlen);
    sheaf__ctab_prefetch(t, hash);
    int rc = 0;
    if (t->rcount == SHEAF__RING) /* the oldest has waited long enough */
        rc = sheaf__ctab_insert_oldest(t);
    SHEAF__ASSERT(t->rcount < SHEAF__RING);
    sheaf__pending *q = &t->ring[(t->rhead + t->rcount) % SHEAF__RING];
    q->k[0] = k[0];
    q->k[1] = k[1];
    q->hash = hash;
    q->tag = (uint32_t)klen + 1;
    memcpy(&q->val, val, 8);
    t->rcount++;
    return rc;
}

#endif
