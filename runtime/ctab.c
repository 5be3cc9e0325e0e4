/*
 * ctab.c: the map-side combine table.
 *
 * An open-addressing hash table (linear probing, power-of-two size, at most 70% full) of
 * 32-byte slots, two to a cache line. A slot holds the key's first 16 bytes (zero-padded),
 * its length and an 8-byte payload; a key longer than 16 bytes is also copied whole into an
 * arena. The words and ids that dominate map output therefore live entirely in their slot:
 * an emit of a key already present costs one hash, one slot load and two 8-byte compares,
 * with no allocation, no copy and no other memory touched.
 *
 * Two hashes, for two purposes. The table's own slot hash mixes the 16 inline bytes and the
 * length (plus XXH3 of the rest of a longer key): cheap, and computed from registers the
 * compare needs anyway. It is CRC32C (two crc32 instructions) where the CPU has SSE4.2, and a
 * multiply-xorshift mix elsewhere; in word count's map the CRC takes 6% less time. The
 * partition hash, XXH3 of the key with the job's seed (sheaf_hash), is computed only when the
 * table is drained, once per distinct key.
 *
 * Cache misses on the keys of the long tail are overlapped: an emit into an aggregation table
 * hashes its key, prefetches the slot and waits in a ring of SHEAF__RING pending inserts; it is
 * inserted SHEAF__RING emits later, when its cache line has arrived. A batch of keys
 * (sheaf__ctab_add_keys) does the same with the ring's state in registers, 64 keys ahead.
 * The slot array is aligned to a cache line, so a prefetch brings a whole slot; the line after
 * it is prefetched too when the slot is the second in its line, as a probe that goes on reads
 * it next.
 *
 * Two kinds of table:
 *  - aggregation (sum, count, min, max over u64, i64, double): each slot's payload is an
 *    8-byte accumulator that every emit updates in place;
 *  - values (a user combiner): the payload is the head of a chain of values in a second arena
 *    (the tail and length in a parallel array); when the table is drained the combiner sees
 *    the chain through the ordinary value iterator. A chain that reaches EAGER values is
 *    combined at once and replaced by the combiner's output (as Hadoop may, the combiner runs
 *    any number of times on a key), so memory follows the number of keys, not of records.
 *
 * Per key, values are applied in emit order (a key always takes the same path: ring or
 * direct), so a double sum is the same whatever the table size.
 *
 * The table reports when its bytes (slots plus arenas) reach its limit; the caller then
 * drains it into the shuffle and it starts again empty, keeping its allocations.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "ctab.h"

#define EAGER 16

/* Tables stop growing at 2^32 slots (128 GiB), which the 32 bits of crc16 index; past that
 * they are drained like a full table. */
#define SLOTS_MAX ((uint64_t)1 << 32)

/* Slots start on a cache line, so each line holds two whole slots: the one line prefetched
 * for a slot holds all of it, and its neighbour, the next probe, half the time. (calloc's
 * 16-byte alignment put every other slot across two lines.) A small table's zeroed block is
 * over-allocated by a line and the start rounded up; t->slots_mem keeps what calloc returned.
 * A slot array of 2 MiB or more (a whole number of huge pages, as n is a power of two) is
 * aligned to 2 MiB and asks for transparent huge pages, so its random probes miss the TLB less:
 * word count's map at 2 ranks took 0.123 s instead of 0.128 s (medians of 10 alternating
 * runs). Where the kernel has no huge page to give, the array has small pages as before. */
static int alloc_slots(sheaf__ctab *t, size_t n) {
    void *mem;
    size_t bytes = n * sizeof *t->slots;
    if (bytes >= SHEAF__HUGE_PAGE) {
        if (!(mem = sheaf__huge_alloc(bytes)))
            return SHEAF_ENOMEM;
        memset(mem, 0, bytes);
    } else if (!(mem = calloc(n + 2, sizeof *t->slots))) {
        return SHEAF_ENOMEM;
    }
    if (t->values) {
        t->tails = calloc(n, sizeof *t->tails);
        if (!t->tails) {
            free(mem);
            return SHEAF_ENOMEM;
        }
    }
    t->slots_mem = mem;
    t->slots = (sheaf__slot *)(((uintptr_t)mem + 63) & ~(uintptr_t)63);
    t->mask = n - 1;
    return 0;
}

sheaf__ctab *sheaf__ctab_new(sheaf_agg agg, bool values, size_t limit, uint64_t seed) {
    sheaf__ctab *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->agg = agg;
    t->values = values;
    t->limit = limit;
    t->seed = seed;
#if SHEAF__HAVE_CRC
    __builtin_cpu_init();
    t->crc = __builtin_cpu_supports("sse4.2") != 0;
#endif
    if (alloc_slots(t, 1u << 12)) {
        sheaf__ctab_free(t);
        return NULL;
    }
    return t;
}

void sheaf__ctab_free(sheaf__ctab *t) {
    if (!t)
        return;
    free(t->slots_mem);
    free(t->tails);
    sheaf__buf_free(&t->keys);
    sheaf__buf_free(&t->vals);
    sheaf__buf_free(&t->captured);
    free(t);
}

void sheaf__ctab_set_slot_hash(sheaf__ctab *t, sheaf__ctab_hash_fn fn) {
    t->slot_hash = fn;
}

bool sheaf__ctab_set_crc(sheaf__ctab *t, bool on) {
    if (on && !t->crc)
        return false; /* only a new table's choice, which the CPU allows, can be kept */
    t->crc = on;
    return true;
}

static size_t slot_bytes(const sheaf__ctab *t) {
    return (t->mask + 1) * (sizeof(sheaf__slot) + (t->values ? sizeof(uint64_t) : 0));
}

/* The slot array plus the arenas' contents. The slot array only grows while twice its size
 * still fits the limit, so an emptied table is always well under it. */
size_t sheaf__ctab_bytes(const sheaf__ctab *t) {
    return slot_bytes(t) + t->keys.len + t->vals.len;
}

size_t sheaf__ctab_count(const sheaf__ctab *t) {
    return t->count + t->rcount;
}

size_t sheaf__ctab_key_bytes(const sheaf__ctab *t) {
    return t->key_bytes;
}

static int grow(sheaf__ctab *t) {
    sheaf__slot *old = t->slots;
    void *oldmem = t->slots_mem;
    uint64_t *oldtails = t->tails;
    size_t oldn = t->mask + 1;
    if (alloc_slots(t, oldn * 2)) {
        t->tails = oldtails;
        return SHEAF_ENOMEM;
    }
    for (size_t i = 0; i < oldn; i++) {
        if (!old[i].tag)
            continue;
        const uint8_t *key = sheaf__ctab_entry_key(t, &old[i]);
        size_t j = slot_hash(t, old[i].k, key, old[i].tag - 1) & t->mask;
        while (t->slots[j].tag)
            j = (j + 1) & t->mask;
        t->slots[j] = old[i];
        if (t->values)
            t->tails[j] = oldtails[i];
    }
    free(oldmem);
    free(oldtails);
    return 0;
}

/* ---- value chains ---- */

/* A chain: e->a is offset + 1 of its head; the slot's tail word holds offset + 1 of its tail
 * in the low 32 bits and its length in the high 32 (a values table's arena stays far below
 * 4 GiB: its limit is 32 MiB). */
static int chain_add(sheaf__ctab *t, sheaf__slot *e, uint64_t *tail, const void *val, size_t vlen) {
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
    uint64_t last = *tail & 0xffffffffu, count = *tail >> 32;
    if (last)
        memcpy(t->vals.data + last - 1, &(uint64_t){off + 1}, 8);
    else
        e->a = off + 1;
    *tail = (count + 1) << 32 | (off + 1);
    return 0;
}

void sheaf__ctab_set_eager(sheaf__ctab *t, sheaf__ctab_eager_fn fn, void *arg) {
    t->eager = fn;
    t->eager_arg = arg;
}

/* Runs the combiner over a long chain and replaces the chain with what it produced (the old
 * values stay in the arena until the table is drained). */
static int combine_chain(sheaf__ctab *t, sheaf__slot *e, uint64_t *tail) {
    sheaf_values v = {0};
    v.kind = SHEAF__VALS_CHAIN;
    v.arena = t->vals.data;
    v.next = e->a;
    v.gkey = sheaf__ctab_entry_key(t, e);
    v.gklen = e->tag - 1;
    t->captured.len = 0;
    int rc = t->eager(t->eager_arg, v.gkey, v.gklen, &v, &t->captured);
    if (rc)
        return rc;
    e->a = 0;
    *tail = 0;
    const uint8_t *p = t->captured.data, *end = p + t->captured.len;
    while (p < end) {
        uint64_t n;
        size_t h = sheaf__varint_get(p, end, &n);
        if (!h || n > (uint64_t)(end - p - h))
            return SHEAF_EIO;
        if ((rc = chain_add(t, e, tail, p + h, (size_t)n)))
            return rc;
        p += h + n;
    }
    return 0;
}

/* ---- insertion ---- */

/* Fills an empty slot. Returns 0, 1 (the table is full) or a negative code. */
int sheaf__ctab_place(sheaf__ctab *t, sheaf__slot *e, const uint64_t k[2], const uint8_t *key,
                      size_t klen, const void *val, size_t vlen) {
    if (klen > SHEAF__INLINE_KEY) {
        if (klen >= UINT32_MAX || t->keys.len + klen >= UINT32_MAX ||
            sheaf__buf_reserve(&t->keys, klen))
            return SHEAF_ENOMEM;
        e->koff = (uint32_t)t->keys.len;
        memcpy(t->keys.data + t->keys.len, key, klen);
        t->keys.len += klen;
    } else {
        e->koff = 0;
    }
    e->k[0] = k[0];
    e->k[1] = k[1];
    e->tag = (uint32_t)klen + 1;
    e->a = 0;
    t->key_bytes += klen;
    if (t->values) {
        uint64_t *tail = &t->tails[e - t->slots];
        *tail = 0;
        if (chain_add(t, e, tail, val, vlen))
            return SHEAF_ENOMEM;
    } else {
        sheaf__agg_init(t->agg, (uint8_t *)&e->a, val, vlen);
    }
    t->count++;
    if (t->count * 10 > (t->mask + 1) * 7) {
        /* full: flush rather than grow past the limit, or past 2^32 slots (crc16's reach) */
        if (2 * slot_bytes(t) + t->keys.len + t->vals.len >= t->limit ||
            (uint64_t)t->mask + 1 >= SLOTS_MAX)
            return 1;
        if (grow(t))
            return SHEAF_ENOMEM;
    }
    return sheaf__ctab_bytes(t) >= t->limit;
}

/* Inserts one value (any key, any table). Returns 0, 1 (the table is full) or a code. */
int sheaf__ctab_insert(sheaf__ctab *t, uint64_t hash, const uint64_t k[2], const uint8_t *key,
                       size_t klen, const void *val, size_t vlen) {
    sheaf__slot *e = sheaf__ctab_probe(t, hash, k, (uint32_t)klen + 1, key);
    if (!e->tag)
        return sheaf__ctab_place(t, e, k, key, klen, val, vlen);
    if (!t->values) {
        sheaf__ctab_merge(t, e, val, vlen);
        return 0;
    }
    uint64_t *tail = &t->tails[e - t->slots];
    if (chain_add(t, e, tail, val, vlen))
        return SHEAF_ENOMEM;
    if (t->eager && (*tail >> 32) >= EAGER) {
        int rc = combine_chain(t, e, tail);
        if (rc)
            return rc;
    }
    return sheaf__ctab_bytes(t) >= t->limit;
}

/* Inserts everything waiting in the ring. Returns 0, 1 (the table is full) or a code. */
static int settle(sheaf__ctab *t) {
    int worst = 0;
    while (t->rcount) {
        int rc = sheaf__ctab_insert_oldest(t);
        if (rc < 0)
            return rc;
        worst = rc > worst ? rc : worst;
    }
    return worst;
}

/* The batch form of sheaf__ctab_add for an aggregation table: one value under many keys. It
 * is the ring with its state in registers: key i is hashed and its slot prefetched while key
 * i - AHEAD, whose slot was prefetched AHEAD keys ago, is inserted. Keys go in in order, after
 * whatever single emits were waiting in the ring, so the emit order per key is kept. AHEAD is
 * about 450 ns of word count's work here: in its map, 8 keys ahead took 0.43 s, 16 0.36 s,
 * 32 0.31 s, 64 0.29 s and 128 0.30 s (256 MiB, 1 rank). */
#define AHEAD 64

/* The aggregation fast path of sheaf__ctab_add_keys, compiled once for each slot hash. */
static inline __attribute__((always_inline)) int
add_keys_agg(sheaf__ctab *t, const sheaf_key *keys, size_t n, uint64_t v, uintptr_t lo,
             uintptr_t hi, size_t *done, uint64_t *bytes, bool crc) {
    struct {
        uint64_t k[2], hash;
    } ahead[AHEAD];
    /* The table's fields live in locals (a store to a slot could alias them otherwise, and
     * they would be loaded again for every key), refreshed after a new key is placed, which
     * may grow the table. */
    sheaf__slot *slots = t->slots;
    size_t mask = t->mask;
    bool sum = t->agg == SHEAF_AGG_SUM_U64; /* word counts: one add */
    uint64_t nbytes = 0;
    for (size_t i = 0; i < n + AHEAD; i++) {
        if (i >= AHEAD) { /* insert key i - AHEAD, then reuse its place in ahead[] for key i */
            size_t j = i - AHEAD;
            const uint8_t *key = keys[j].data;
            uint32_t tag = (uint32_t)keys[j].len + 1;
            nbytes += tag - 1;
            const uint64_t *k = ahead[j % AHEAD].k;
            sheaf__slot *e = sheaf__ctab_probe_in(slots, mask, &t->keys, ahead[j % AHEAD].hash,
                                                  k, tag, key);
            if (SHEAF__LIKELY(e->tag != 0)) {
                if (SHEAF__LIKELY(sum))
                    e->a += v;
                else
                    sheaf__ctab_merge(t, e, &v, 8);
            } else {
                int rc = sheaf__ctab_place(t, e, k, key, tag - 1, &v, 8);
                if (rc != 0) { /* full (flush, then go on from the next key) or failed */
                    *done = j + 1;
                    *bytes = nbytes;
                    return rc;
                }
                slots = t->slots;
                mask = t->mask;
            }
        }
        if (i < n) {
            const uint8_t *key = keys[i].data;
            size_t klen = keys[i].len;
            uint64_t *k = ahead[i % AHEAD].k;
            head16_any(k, key, klen, sheaf__ctab_padded(key, lo, hi));
            uint64_t h = key_hash(crc, k, key, klen);
            ahead[i % AHEAD].hash = h;
            sheaf__ctab_prefetch_in(slots, mask, h);
        }
    }
    *done = n;
    *bytes = nbytes;
    return 0;
}

int sheaf__ctab_add_keys(sheaf__ctab *t, const sheaf_key *keys, size_t n, uint64_t v,
                         uintptr_t lo, uintptr_t hi, size_t *done, uint64_t *bytes) {
    *done = 0;
    *bytes = 0;
    int rc = settle(t);
    if (rc)
        return rc;
    if (t->values || t->slot_hash) { /* not the aggregation fast path: one at a time */
        while (*done < n && !rc) {
            const sheaf_key *k = &keys[(*done)++];
            *bytes += k->len;
            rc = sheaf__ctab_add(t, k->data, k->len, sheaf__ctab_padded(k->data, lo, hi), &v, 8);
        }
        return rc;
    }
    return t->crc ? add_keys_agg(t, keys, n, v, lo, hi, done, bytes, true)
                  : add_keys_agg(t, keys, n, v, lo, hi, done, bytes, false);
}

/* Hands one filled slot to a drain's callback. */
static int drain_slot(sheaf__ctab *t, sheaf__slot *e, sheaf__ctab_fn fn, void *arg) {
    const uint8_t *key = sheaf__ctab_entry_key(t, e);
    size_t klen = e->tag - 1;
    uint64_t hash = XXH3_64bits_withSeed(key, klen, t->seed);
    if (!t->values)
        return fn(arg, hash, key, klen, (const uint8_t *)&e->a, 8, NULL);
    if (!e->a)
        return 0; /* an eager combine sent everything on already */
    sheaf_values v = {0};
    v.kind = SHEAF__VALS_CHAIN;
    v.arena = t->vals.data;
    v.next = e->a;
    v.gkey = key;
    v.gklen = klen;
    return fn(arg, hash, key, klen, NULL, 0, &v);
}

int sheaf__ctab_drain(sheaf__ctab *t, sheaf__ctab_fn fn, void *arg, bool reuse) {
    int rc = settle(t);
    if (rc < 0)
        return rc;
    rc = 0;
    /* Slots are taken 256 at a time: the filled ones' indexes are listed without a branch
     * (a table is 30-70% full, so a branch per slot would often be mispredicted), then the
     * listed slots are drained. */
    uint32_t filled[256];
    for (size_t base = 0; base <= t->mask && !rc; base += 256) {
        size_t span = SHEAF__MIN((size_t)256, t->mask + 1 - base), nf = 0;
        for (size_t j = 0; j < span; j++) {
            filled[nf] = (uint32_t)j;
            nf += t->slots[base + j].tag != 0;
        }
        for (size_t f = 0; f < nf && !rc; f++)
            rc = drain_slot(t, &t->slots[base + filled[f]], fn, arg);
    }
    if (reuse)
        memset(t->slots, 0, (t->mask + 1) * sizeof *t->slots);
    t->count = 0;
    t->key_bytes = 0;
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

/* The decimal digits of u at out (room for 20 plus the NUL); returns how many. Two digits at a
 * time from a table: word count formats one number per output line, and snprintf's format
 * parsing cost more than the digits. */
static size_t u64_decimal(uint64_t u, char *out) {
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
                                   "25262728293031323334353637383940414243444546474849"
                                   "50515253545556575859606162636465666768697071727374"
                                   "75767778798081828384858687888990919293949596979899";
    char tmp[20];
    size_t n = sizeof tmp;
    while (u >= 100) {
        unsigned d = (unsigned)(u % 100) * 2;
        u /= 100;
        tmp[--n] = pairs[d + 1];
        tmp[--n] = pairs[d];
    }
    if (u >= 10) {
        tmp[--n] = pairs[u * 2 + 1];
        tmp[--n] = pairs[u * 2];
    } else {
        tmp[--n] = (char)('0' + u);
    }
    size_t len = sizeof tmp - n;
    memcpy(out, tmp + n, len);
    out[len] = '\0';
    return len;
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
        if (i < 0 && outlen >= 22) {
            out[0] = '-';
            return 1 + u64_decimal(-(uint64_t)i, out + 1);
        }
        if (outlen >= 21)
            return u64_decimal((uint64_t)i, out);
        n = snprintf(out, outlen, "%lld", (long long)i);
        break;
    case SHEAF_AGG_SUM_DOUBLE: case SHEAF_AGG_MIN_DOUBLE: case SHEAF_AGG_MAX_DOUBLE:
        n = snprintf(out, outlen, "%.17g", d);
        break;
    default:
        if (outlen >= 21)
            return u64_decimal(u, out);
        n = snprintf(out, outlen, "%llu", (unsigned long long)u);
        break;
    }
    return n < 0 ? 0 : (size_t)n;
}
