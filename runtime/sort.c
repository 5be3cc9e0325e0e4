/*
 * sort.c: the in-memory sort of received records.
 *
 * Records are not moved: an index of fixed-size entries (partition, the first eight key bytes
 * as a big-endian integer, a pointer to the record) is sorted instead. Under the default
 * bytewise order most comparisons end at the integer prefix, without touching the record.
 * The sort is a quicksort with three-way partitioning (so a key that holds most of the
 * records costs one pass, not a quadratic blow-up), median-of-three pivots, insertion sort for
 * short ranges, and an explicit stack that always defers the larger side, so it never holds
 * more than log2(n) ranges.
 */
#include "internal.h"

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
        e->klen = kv.klen;
        e->vlen = kv.vlen;
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
        return sheaf__bytes_compare(a->rec + a->hlen, a->klen, b->rec + b->hlen, b->klen);
    }
    return cmp(a->rec + a->hlen, a->klen, b->rec + b->hlen, b->klen);
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

static void sort_custom(sheaf__ent *v, size_t n, sheaf_compare_fn cmp) {
    sort_core(v, n, cmp);
}

void sheaf__sort(sheaf__ent *ents, size_t n, sheaf_compare_fn cmp) {
    if (cmp)
        sort_custom(ents, n, cmp);
    else
        sort_default(ents, n);
}
