/*
 * sort.c: the in-memory sort of received records.
 *
 * Records are not moved: an index of fixed-size entries (partition, the first eight key bytes
 * as a big-endian integer, a pointer to the record) is sorted instead. Under the default
 * bytewise order most comparisons end at the integer prefix, without touching the record.
 * The sort is a quicksort with three-way partitioning (so a key that holds most of the
 * records costs one pass, not a quadratic blow-up), median-of-three pivots, insertion sort for
 * short ranges, and an explicit stack that always defers the larger side, so it never holds
 * more than log2(n) ranges. Large indexes under the default order are first cut into buckets
 * by in-place radix passes on the partition and the prefix's bytes (radix_then_sort,
 * radix_prefix), and the quicksort finishes buckets of fewer than 64.
 */
#include "internal.h"

#include <stdlib.h>

static inline uint64_t prefix_of(const uint8_t *k, size_t n) {
    uint64_t v = 0;
    size_t m = n < 8 ? n : 8;
    for (size_t i = 0; i < m; i++)
        v |= (uint64_t)k[i] << (56 - 8 * i);
    return v;
}

long long sheaf__index(const uint8_t *data, size_t len, sheaf__ent *ents, size_t cap) {
    const uint8_t *p = data, *end = data + len;
    size_t n = 0;
    while (p < end) {
        sheaf__kv kv;
        size_t r = sheaf__rec_get(p, end, &kv);
        if (!r || n == cap)
            return -1;
        sheaf__ent *e = &ents[n++];
        e->part = kv.part;
        e->rec = p;
        e->hlen = (uint32_t)(kv.key - p);
        e->klen = kv.klen < SHEAF__ENT_LONG ? (uint32_t)kv.klen : SHEAF__ENT_LONG;
        e->vlen = kv.vlen < SHEAF__ENT_LONG ? (uint32_t)kv.vlen : SHEAF__ENT_LONG;
        e->pfx = prefix_of(kv.key, kv.klen);
        p += r;
    }
    return (long long)n;
}

static inline __attribute__((always_inline)) int ent_cmp(const sheaf__ent *a,
                                                          const sheaf__ent *b,
                                                          sheaf_compare_fn cmp) {
    if (a->part != b->part)
        return a->part < b->part ? -1 : 1;
    if (!cmp) {
        if (a->pfx != b->pfx)
            return a->pfx < b->pfx ? -1 : 1;
        return sheaf__bytes_compare(a->rec + a->hlen, sheaf__ent_klen(a), b->rec + b->hlen,
                                    sheaf__ent_klen(b));
    }
    return cmp(a->rec + a->hlen, sheaf__ent_klen(a), b->rec + b->hlen, sheaf__ent_klen(b));
}

static inline void swap(sheaf__ent *a, sheaf__ent *b) {
    sheaf__ent t = *a;
    *a = *b;
    *b = t;
}

static inline __attribute__((always_inline)) void sort_core(sheaf__ent *v, size_t n,
                                                             sheaf_compare_fn cmp) {
    struct {
        size_t lo, hi;
    } stack[128];
    int sp = 0;
    size_t lo = 0, hi = n;
    for (;;) {
        while (hi - lo > 16) {
            size_t mid = lo + (hi - lo) / 2;
            if (ent_cmp(&v[mid], &v[lo], cmp) < 0)
                swap(&v[mid], &v[lo]);
            if (ent_cmp(&v[hi - 1], &v[lo], cmp) < 0)
                swap(&v[hi - 1], &v[lo]);
            if (ent_cmp(&v[hi - 1], &v[mid], cmp) < 0)
                swap(&v[hi - 1], &v[mid]);
            sheaf__ent pivot = v[mid];
            /* Dijkstra's three-way partition: [lo,lt) < pivot, [lt,i) == pivot, (gt,hi) > */
            size_t lt = lo, i = lo, gt = hi;
            while (i < gt) {
                int c = ent_cmp(&v[i], &pivot, cmp);
                if (c < 0)
                    swap(&v[lt++], &v[i++]);
                else if (c > 0)
                    swap(&v[i], &v[--gt]);
                else
                    i++;
            }
            /* Defer the larger side and go on with the smaller: every range taken from the
             * stack is at most half of the one that pushed it, so the stack holds at most
             * log2(n) ranges. */
            if (lt - lo > hi - gt) {
                if (lt - lo > 1)
                    stack[sp].lo = lo, stack[sp++].hi = lt;
                lo = gt;
            } else {
                if (hi - gt > 1)
                    stack[sp].lo = gt, stack[sp++].hi = hi;
                hi = lt;
            }
        }
        for (size_t i = lo + 1; i < hi; i++) {
            sheaf__ent t = v[i];
            size_t j = i;
            while (j > lo && ent_cmp(&t, &v[j - 1], cmp) < 0) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = t;
        }
        if (sp == 0)
            break;
        sp--;
        lo = stack[sp].lo;
        hi = stack[sp].hi;
    }
}

static void sort_default(sheaf__ent *v, size_t n) {
    sort_core(v, n, NULL);
}

/* Large inputs under the default order first take one in-place radix pass (an American flag
 * sort) on the partition and the key's first byte, the two leading parts of the order, then
 * passes on the prefix's next bytes within each bucket (radix_prefix); the buckets left are
 * small enough that the quicksort finishing each works in the core's cache (a rank's million
 * 100-byte TeraSort records: sort phase 135-152 ms with the quicksort alone, 115-121 ms after
 * the first pass). More than 256 partitions in one index, or no memory for the counts, fall
 * back to the plain quicksort. */
#define RADIX_MIN 4096

/* The bucket of an entry in a radix pass on byte `shift / 8` of the prefix (counted from the
 * least significant), within partitions from lo: 256 buckets per partition. Past the first
 * pass all entries share one partition, lo. */
static inline size_t bucket_of(const sheaf__ent *e, uint32_t lo, int shift) {
    return (size_t)(e->part - lo) << 8 | (size_t)((e->pfx >> shift) & 255);
}

/* One in-place radix pass (an American flag sort) into nb buckets: counts them into
 * start[0..nb] (zeroed by the caller), then carries each entry to the next free place of its
 * bucket; the entry found there is carried on in turn, until one belongs where the cycle
 * began. next[0..nb) is scratch. On return bucket b is v[start[b] .. start[b + 1]). */
static void radix_pass(sheaf__ent *v, size_t n, uint32_t lo, int shift, size_t nb,
                       size_t *start, size_t *next) {
    for (size_t i = 0; i < n; i++)
        start[bucket_of(&v[i], lo, shift) + 1]++;
    for (size_t b = 0; b < nb; b++) {
        start[b + 1] += start[b];
        next[b] = start[b];
    }
    for (size_t b = 0; b < nb; b++) {
        while (next[b] < start[b + 1]) {
            sheaf__ent e = v[next[b]];
            size_t t = bucket_of(&e, lo, shift);
            while (t != b) {
                sheaf__ent displaced = v[next[t]];
                v[next[t]++] = e;
                e = displaced;
                t = bucket_of(&e, lo, shift);
            }
            v[next[b]++] = e;
        }
    }
}

/* Sorts entries of one partition whose prefixes agree above byte `byte` (0 is the most
 * significant): one radix pass on that byte, then each bucket the same way on the next, down
 * to buckets of fewer than RADIX_SMALL entries, which the quicksort finishes (it also breaks
 * ties of whole prefixes on the rest of the key). */
#define RADIX_SMALL 64

static void radix_prefix(sheaf__ent *v, size_t n, int byte) {
    if (n < RADIX_SMALL || byte == 8) {
        sort_default(v, n);
        return;
    }
    size_t start[257] = {0}, next[256];
    radix_pass(v, n, v[0].part, 56 - 8 * byte, 256, start, next);
    for (size_t b = 0; b < 256; b++)
        if (start[b + 1] - start[b] > 1)
            radix_prefix(v + start[b], start[b + 1] - start[b], byte + 1);
}

static void radix_then_sort(sheaf__ent *v, size_t n) {
    uint32_t lo = v[0].part, hi = v[0].part;
    for (size_t i = 1; i < n; i++) {
        lo = v[i].part < lo ? v[i].part : lo;
        hi = v[i].part > hi ? v[i].part : hi;
    }
    size_t nb = (size_t)(hi - lo + 1) << 8;
    size_t *start = hi - lo < 256 ? calloc(nb + 1, sizeof *start) : NULL;
    size_t *next = start ? malloc(nb * sizeof *next) : NULL;
    if (!next) {
        free(start);
        sort_default(v, n);
        return;
    }
    radix_pass(v, n, lo, 56, nb, start, next);
    for (size_t b = 0; b < nb; b++)
        if (start[b + 1] - start[b] > 1)
            radix_prefix(v + start[b], start[b + 1] - start[b], 1);
    free(start);
    free(next);
}

static void sort_custom(sheaf__ent *v, size_t n, sheaf_compare_fn cmp) {
    sort_core(v, n, cmp);
}

void sheaf__sort(sheaf__ent *ents, size_t n, sheaf_compare_fn cmp) {
    if (cmp)
        sort_custom(ents, n, cmp);
    else if (n >= RADIX_MIN)
        radix_then_sort(ents, n);
    else
        sort_default(ents, n);
#ifdef SHEAF_ASSERTS
    for (size_t i = 1; i < n; i++)
        SHEAF__ASSERT(ent_cmp(&ents[i - 1], &ents[i], cmp) <= 0); /* a sorted run */
#endif
}
