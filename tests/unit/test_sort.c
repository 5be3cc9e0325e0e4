/*
 * test_sort.c: unit tests of the record index and sort (sort.c) and the default partitioner.
 *
 * Records are encoded here with the test's own varint writer, indexed with sheaf__index and
 * sorted with sheaf__sort; the reference is qsort over the same records with a comparator
 * written here (partition, then bytewise key, shorter first on a tie). The sort is not
 * stable, so the check is that the (partition, key) sequence equals the reference and that
 * the records are a permutation of the input. Key shapes aim at the sort's shortcuts: empty
 * keys, keys that share or differ only past their first 8 bytes, keys with zero bytes (the
 * 8-byte prefix is zero-padded), words on a few stems (the radix passes go several bytes deep),
 * long keys, few distinct keys, one key holding most records.
 * An adversarial comparator (McIlroy's "killer adversary" for quicksort) checks that the sort
 * stays correct when every pivot is bad.
 */
#include "internal.h"
#include "unit.h"

#include <sys/mman.h>

/* ---- the test's own record encoding ---- */

static size_t put_varint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        p[n++] = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
    return n;
}

typedef struct recset {
    uint8_t *data;
    size_t len, cap;
    size_t n;
    size_t *off; /* start of each record */
    uint32_t *part;
    size_t *klen, *vlen, *hlen;
} recset;

static void rs_add(recset *r, uint32_t part, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    size_t need = 30 + klen + vlen;
    if (r->len + need > r->cap) {
        r->cap = (r->len + need) * 2;
        r->data = unit_xrealloc(r->data, r->cap);
    }
    if ((r->n & (r->n - 1)) == 0) {
        size_t c = r->n ? r->n * 2 : 1;
        r->off = unit_xrealloc(r->off, c * sizeof *r->off);
        r->part = unit_xrealloc(r->part, c * sizeof *r->part);
        r->klen = unit_xrealloc(r->klen, c * sizeof *r->klen);
        r->vlen = unit_xrealloc(r->vlen, c * sizeof *r->vlen);
        r->hlen = unit_xrealloc(r->hlen, c * sizeof *r->hlen);
    }
    uint8_t *p = r->data + r->len;
    size_t h = put_varint(p, part);
    h += put_varint(p + h, klen);
    h += put_varint(p + h, vlen);
    if (klen)
        memcpy(p + h, key, klen);
    if (vlen)
        memcpy(p + h + klen, val, vlen);
    r->off[r->n] = r->len;
    r->part[r->n] = part;
    r->klen[r->n] = klen;
    r->vlen[r->n] = vlen;
    r->hlen[r->n] = h;
    r->n++;
    r->len += h + klen + vlen;
}

static void rs_free(recset *r) {
    free(r->data);
    free(r->off);
    free(r->part);
    free(r->klen);
    free(r->vlen);
    free(r->hlen);
    memset(r, 0, sizeof *r);
}

static const uint8_t *rs_key(const recset *r, size_t i) {
    return r->data + r->off[i] + r->hlen[i];
}

/* ---- the reference order ---- */

static int ref_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
    for (size_t i = 0; i < alen && i < blen; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static const recset *ref_set;
static sheaf_compare_fn ref_cmp_fn;

static int ref_cmp(const void *pa, const void *pb) {
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    const recset *r = ref_set;
    if (r->part[a] != r->part[b])
        return r->part[a] < r->part[b] ? -1 : 1;
    int c = ref_cmp_fn ? ref_cmp_fn(rs_key(r, a), r->klen[a], rs_key(r, b), r->klen[b])
                       : ref_bytes(rs_key(r, a), r->klen[a], rs_key(r, b), r->klen[b]);
    if (c)
        return c;
    return a < b ? -1 : a > b; /* deterministic reference */
}

static int cmp_ptr(const void *pa, const void *pb) {
    const uint8_t *a = *(const uint8_t *const *)pa, *b = *(const uint8_t *const *)pb;
    return a < b ? -1 : a > b;
}

/* Indexes and sorts the set under cmp, and compares with the reference. */
static void check_sort(const recset *r, sheaf_compare_fn cmp, const char *what) {
    sheaf__ent *ents = unit_xcalloc(r->n + 1, sizeof *ents);
    /* the index, and what it holds for each record */
    UNIT_ASSERT_EQUAL(sheaf__index(r->data, r->len, ents, r->n), (long long)r->n);
    for (size_t i = 0; i < r->n; i++) {
        const sheaf__ent *e = &ents[i];
        UNIT_ASSERT(e->rec == r->data + r->off[i]);
        UNIT_ASSERT_EQUAL(e->part, r->part[i]);
        UNIT_ASSERT_EQUAL(sheaf__ent_klen(e), r->klen[i]);
        UNIT_ASSERT_EQUAL(sheaf__ent_vlen(e), r->vlen[i]);
        UNIT_ASSERT_EQUAL(e->hlen, r->hlen[i]);
        uint64_t pfx = 0;
        for (size_t k = 0; k < 8; k++)
            pfx = pfx << 8 | (k < r->klen[i] ? rs_key(r, i)[k] : 0);
        UNIT_ASSERT_EQUAL(e->pfx, pfx);
    }
    sheaf__sort(ents, r->n, cmp);

    size_t *order = unit_xcalloc(r->n + 1, sizeof *order);
    for (size_t i = 0; i < r->n; i++)
        order[i] = i;
    ref_set = r;
    ref_cmp_fn = cmp;
    qsort(order, r->n, sizeof *order, ref_cmp);

    size_t bad = 0;
    for (size_t i = 0; i < r->n; i++) {
        const sheaf__ent *e = &ents[i];
        size_t j = order[i];
        const uint8_t *k = e->rec + e->hlen;
        size_t kl = sheaf__ent_klen(e);
        int c = cmp ? cmp(k, kl, rs_key(r, j), r->klen[j])
                    : ref_bytes(k, kl, rs_key(r, j), r->klen[j]);
        bool ok = e->part == r->part[j] && c == 0;
        if (!ok && bad++ < 3)
            fprintf(stderr, "%s: position %zu of %zu holds the wrong record\n", what, i, r->n);
        UNIT_ASSERT(ok);
    }
    /* the sorted index is a permutation of the records */
    const uint8_t **a = unit_xcalloc(r->n + 1, sizeof *a);
    for (size_t i = 0; i < r->n; i++)
        a[i] = ents[i].rec;
    qsort(a, r->n, sizeof *a, cmp_ptr);
    for (size_t i = 0; i < r->n; i++)
        UNIT_ASSERT(a[i] == r->data + r->off[i]);
    free(a);
    free(order);
    free(ents);
}

/* ---- key shapes ---- */

typedef void (*keygen)(uint8_t *key, size_t *klen, size_t i, size_t n);

static void key_random(uint8_t *k, size_t *n, size_t i, size_t total) {
    *n = (size_t)unit_below(21);
    for (size_t j = 0; j < *n; j++)
        k[j] = (uint8_t)unit_below(256);
}

static void key_small_alphabet(uint8_t *k, size_t *n, size_t i, size_t total) {
    *n = (size_t)unit_below(6);
    for (size_t j = 0; j < *n; j++)
        k[j] = (uint8_t)("ab\0\xff"[unit_below(4)]);
}

static void key_empty_mostly(uint8_t *k, size_t *n, size_t i, size_t total) {
    *n = unit_below(4) == 0 ? (size_t)unit_below(3) : 0;
    for (size_t j = 0; j < *n; j++)
        k[j] = (uint8_t)unit_below(3);
}

/* The same first 8 bytes, then a short tail with zero bytes: only the full compare orders
 * them, and "abc" vs "abc\0" differ by length alone. */
static void key_shared_prefix(uint8_t *k, size_t *n, size_t i, size_t total) {
    static const char pfx[] = "prefix:8";
    size_t base = unit_below(3) == 0 ? (size_t)unit_below(9) : 8;
    memcpy(k, pfx, base);
    size_t tail = (size_t)unit_below(5);
    for (size_t j = 0; j < tail; j++)
        k[base + j] = (uint8_t)unit_below(3);
    *n = base + tail;
}

/* Words on a few stems ("th", "st", "re") with short tails of four letters and sometimes
 * "'s": large groups share their first two to six bytes, so the radix passes go several bytes
 * deep before the groups are small. */
static void key_stems(uint8_t *k, size_t *n, size_t i, size_t total) {
    static const char *const stems[] = {"th", "st", "re"};
    memcpy(k, stems[unit_below(3)], 2);
    size_t len = 2 + (size_t)unit_below(11);
    for (size_t j = 2; j < len; j++)
        k[j] = (uint8_t)('a' + unit_below(4));
    if (unit_below(4) == 0) {
        memcpy(k + len, "'s", 2);
        len += 2;
    }
    *n = len;
}

static void key_long(uint8_t *k, size_t *n, size_t i, size_t total) {
    *n = 100 + (size_t)unit_below(900);
    memset(k, 'L', *n);
    /* differ only near the end */
    k[*n - 1 - unit_below(3)] = (uint8_t)('A' + unit_below(4));
}

static void key_few(uint8_t *k, size_t *n, size_t i, size_t total) {
    static const char *const keys[] = {"", "dup", "dupe", "du", "zzzzzzzzzz"};
    const char *s = keys[unit_below(5)];
    *n = strlen(s);
    memcpy(k, s, *n);
}

static void key_one_dominant(uint8_t *k, size_t *n, size_t i, size_t total) {
    if (unit_below(20) != 0) {
        memcpy(k, "the-common-key", 14);
        *n = 14;
    } else {
        key_random(k, n, i, total);
    }
}

static void key_ascending(uint8_t *k, size_t *n, size_t i, size_t total) {
    *n = 8;
    for (int j = 7; j >= 0; j--)
        k[7 - j] = (uint8_t)(i >> (8 * j));
}

static void key_descending(uint8_t *k, size_t *n, size_t i, size_t total) {
    key_ascending(k, n, total - i, total);
}

/* Organ pipe: up, then down. */
static void key_pipe(uint8_t *k, size_t *n, size_t i, size_t total) {
    key_ascending(k, n, i < total / 2 ? i : total - i, total);
}

static void make_set(recset *r, size_t n, keygen gen, uint32_t nparts) {
    memset(r, 0, sizeof *r);
    uint8_t key[1024];
    for (size_t i = 0; i < n; i++) {
        size_t klen;
        gen(key, &klen, i, n);
        uint8_t val[8];
        size_t vlen = (size_t)unit_below(9);
        uint64_t x = i;
        memcpy(val, &x, 8);
        rs_add(r, (uint32_t)unit_below(nparts), key, klen, val, vlen);
    }
}

static void run_gens(const keygen *gens, size_t ngens, sheaf_compare_fn cmp, const char *what) {
    const size_t sizes[] = {0, 1, 2, 3, 16, 17, 100, 1000, 20000};
    for (size_t g = 0; g < ngens; g++) {
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            /* 256 partitions: the radix pass's most buckets; 300: too many, plain quicksort */
            static const uint32_t nparts[] = {1, 5, 256, 300};
            for (size_t pi = 0; pi < sizeof nparts / sizeof *nparts; pi++) {
                uint32_t parts = nparts[pi];
                recset r;
                make_set(&r, sizes[s], gens[g], parts);
                char name[96];
                snprintf(name, sizeof name, "%s, shape %zu, %zu records, %u parts", what, g,
                         sizes[s], parts);
                check_sort(&r, cmp, name);
                rs_free(&r);
            }
        }
    }
}

static void run_shapes(sheaf_compare_fn cmp, const char *what) {
    const keygen gens[] = {key_random, key_small_alphabet, key_empty_mostly, key_shared_prefix,
                           key_stems,  key_long,           key_few,          key_one_dominant};
    run_gens(gens, sizeof gens / sizeof *gens, cmp, what);
}

/* Input already in order, in reverse order, or up then down (a job reading sorted output). */
static void run_presorted(sheaf_compare_fn cmp, const char *what) {
    const keygen gens[] = {key_ascending, key_descending, key_pipe};
    run_gens(gens, sizeof gens / sizeof *gens, cmp, what);
}

static void test_sort_default(void) {
    run_shapes(NULL, "default order");
}

/* Custom orders: reversed bytes, and keys as decimal numbers. */
static int cmp_reverse(const void *a, size_t alen, const void *b, size_t blen) {
    return -ref_bytes(a, alen, b, blen);
}

static int cmp_length_then_bytes(const void *a, size_t alen, const void *b, size_t blen) {
    if (alen != blen)
        return alen < blen ? -1 : 1;
    return ref_bytes(a, alen, b, blen);
}

static void test_sort_custom(void) {
    run_shapes(cmp_reverse, "reverse order");
    run_shapes(cmp_length_then_bytes, "length order");
}

static void test_sort_presorted(void) {
    run_presorted(NULL, "presorted, default order");
    run_presorted(cmp_reverse, "presorted, reverse order");
    run_presorted(cmp_length_then_bytes, "presorted, length order");
}

/* The comparator sees the record's own key bytes, and its result is taken by sign only. */
static int cmp_big_results(const void *a, size_t alen, const void *b, size_t blen) {
    return ref_bytes(a, alen, b, blen) * 1000000;
}

static void test_sort_custom_result_scale(void) {
    recset r;
    make_set(&r, 5000, key_random, 3);
    check_sort(&r, cmp_big_results, "scaled results");
    rs_free(&r);
}

static void test_index_errors(void) {
    recset r;
    make_set(&r, 50, key_random, 2);
    sheaf__ent *ents = unit_xcalloc(r.n, sizeof *ents);
    /* an empty buffer has no records */
    UNIT_ASSERT_EQUAL(sheaf__index(r.data, 0, ents, r.n), 0);
    /* too small an index */
    UNIT_ASSERT_EQUAL(sheaf__index(r.data, r.len, ents, r.n - 1), -1);
    /* any truncation inside the last record is corrupt; at a record boundary it is not */
    size_t last = r.off[r.n - 1];
    for (size_t cut = last + 1; cut < r.len; cut++)
        UNIT_ASSERT_EQUAL(sheaf__index(r.data, cut, ents, r.n), -1);
    UNIT_ASSERT_EQUAL(sheaf__index(r.data, last, ents, r.n), (long long)r.n - 1);
    free(ents);
    rs_free(&r);
}

/* ---- McIlroy's adversary ---- */

/* Items are identified by the 4-byte id in their key. An item's value is "gas" (above every
 * solid value) until the comparator must order two gas items; then one of them freezes at
 * the next solid value, preferring the pivot candidate. Any quicksort then takes quadratic
 * time and, if it cuts corners on deep recursion, leaves items out of order. The values the
 * adversary settled on are a concrete input that makes the same comparisons. */
static size_t *adv_val;
static size_t adv_gas, adv_solid, adv_candidate;

static size_t adv_id(const void *k, size_t n) {
    uint32_t id;
    UNIT_ASSERT_EQUAL(n, 4);
    memcpy(&id, k, 4);
    return id;
}

static int cmp_adversary(const void *a, size_t alen, const void *b, size_t blen) {
    size_t x = adv_id(a, alen), y = adv_id(b, blen);
    if (adv_val[x] == adv_gas && adv_val[y] == adv_gas) {
        if (x == adv_candidate)
            adv_val[x] = adv_solid++;
        else
            adv_val[y] = adv_solid++;
    }
    if (adv_val[x] == adv_gas)
        adv_candidate = x;
    else if (adv_val[y] == adv_gas)
        adv_candidate = y;
    return adv_val[x] < adv_val[y] ? -1 : adv_val[x] > adv_val[y];
}

static void test_sort_adversary(void) {
    const size_t n = 3000;
    adv_val = unit_xcalloc(n, sizeof *adv_val);
    adv_gas = n;
    adv_solid = 0;
    adv_candidate = 0;
    for (size_t i = 0; i < n; i++)
        adv_val[i] = adv_gas;
    recset r;
    memset(&r, 0, sizeof r);
    for (size_t i = 0; i < n; i++) {
        uint32_t id = (uint32_t)i;
        rs_add(&r, 0, &id, 4, NULL, 0);
    }
    sheaf__ent *ents = unit_xcalloc(n, sizeof *ents);
    CU_ASSERT_EQUAL_FATAL(sheaf__index(r.data, r.len, ents, n), (long long)n);
    sheaf__sort(ents, n, cmp_adversary);
    /* Items still gas were never ordered against each other: any values above the solid ones
     * are consistent with every answer given, so freeze them in reverse output order. A
     * correct sort leaves at most one. */
    size_t gas_left = 0;
    for (size_t i = n; i-- > 0;) {
        size_t id = adv_id(ents[i].rec + ents[i].hlen, ents[i].klen);
        if (adv_val[id] == adv_gas) {
            adv_val[id] = adv_solid++;
            gas_left++;
        }
    }
    UNIT_ASSERT(gas_left <= 1);
    size_t inversions = 0;
    for (size_t i = 1; i < n; i++) {
        size_t a = adv_id(ents[i - 1].rec + ents[i - 1].hlen, 4);
        size_t b = adv_id(ents[i].rec + ents[i].hlen, 4);
        if (adv_val[a] > adv_val[b])
            inversions++;
    }
    if (inversions)
        fprintf(stderr, "adversary: %zu adjacent pairs out of order, %zu items never compared\n",
                inversions, gas_left);
    UNIT_ASSERT_EQUAL(inversions, 0);

    /* The same input as concrete keys (8-byte big-endian values, so the default order's
     * prefix compare decides) in the original order must sort too. */
    recset c;
    memset(&c, 0, sizeof c);
    for (size_t i = 0; i < n; i++) {
        uint8_t key[8];
        for (int b = 0; b < 8; b++)
            key[b] = (uint8_t)((uint64_t)adv_val[i] >> (56 - 8 * b));
        rs_add(&c, 0, key, 8, NULL, 0);
    }
    check_sort(&c, NULL, "adversarial keys, default order");
    check_sort(&c, cmp_big_results, "adversarial keys, custom order");
    rs_free(&c);
    rs_free(&r);
    free(ents);
    free(adv_val);
}

/* ---- the default partitioner ---- */

static void test_hash_partition_range(void) {
    const uint32_t nparts[] = {1, 2, 3, 5, 7, 10, 16, 100, 1000, 4096, 65537, 1u << 31,
                               UINT32_MAX};
    const uint64_t fixed[] = {0, 1, 2, UINT64_MAX, UINT64_MAX - 1, 1ull << 63, (1ull << 63) - 1,
                              0x5555555555555555ull};
    for (size_t p = 0; p < sizeof nparts / sizeof *nparts; p++) {
        uint32_t np = nparts[p];
        UNIT_ASSERT_EQUAL(sheaf__hash_partition(0, np), 0);
        UNIT_ASSERT_EQUAL(sheaf__hash_partition(UINT64_MAX, np), np - 1);
        for (size_t i = 0; i < 20000 + sizeof fixed / sizeof *fixed; i++) {
            uint64_t h = i < sizeof fixed / sizeof *fixed ? fixed[i] : unit_rand64();
            uint32_t got = sheaf__hash_partition(h, np);
            UNIT_ASSERT(got < np);
            /* it is floor(h * np / 2^64): got * 2^64 <= h * np < (got + 1) * 2^64 */
            unsigned __int128 prod = (unsigned __int128)h * np;
            UNIT_ASSERT((unsigned __int128)got << 64 <= prod);
            UNIT_ASSERT(prod < ((unsigned __int128)got + 1) << 64);
        }
        /* order preserving: a larger hash never lands in a lower partition */
        uint64_t prev_h = 0;
        uint32_t prev = 0;
        for (int i = 0; i < 1000; i++) {
            uint64_t h = prev_h + (unit_rand64() >> 10);
            if (h < prev_h)
                break;
            uint32_t got = sheaf__hash_partition(h, np);
            UNIT_ASSERT(got >= prev);
            prev = got;
            prev_h = h;
        }
    }
}

/* Random hashes spread evenly: a chi-square test on each partition count. */
static void test_hash_partition_uniform(void) {
    const uint32_t nparts[] = {2, 3, 7, 16, 100, 257};
    const size_t n = 400000;
    for (size_t p = 0; p < sizeof nparts / sizeof *nparts; p++) {
        uint32_t np = nparts[p];
        size_t *count = unit_xcalloc(np, sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[sheaf__hash_partition(unit_rand64(), np)]++;
        double expect = (double)n / np, chi2 = 0;
        for (uint32_t k = 0; k < np; k++)
            chi2 += ((double)count[k] - expect) * ((double)count[k] - expect) / expect;
        /* df = np - 1; mean df, sd sqrt(2 df): 6 sd above the mean never happens by chance */
        double df = np - 1.0, limit = df + 6.0 * __builtin_sqrt(2.0 * df) + 10.0;
        if (chi2 > limit)
            fprintf(stderr, "%u partitions: chi-square %.1f over %.1f\n", np, chi2, limit);
        UNIT_ASSERT(chi2 <= limit);
        free(count);
    }
}

/* A key of 4 GiB and more does not fit the index entry's 32-bit length: the entry holds
 * SHEAF__ENT_LONG and the lengths are read again from the record. The record lies in a
 * reserved mapping of untouched zero pages, so only its header costs memory. */
static void test_index_long_key(void) {
    uint64_t klen = ((uint64_t)1 << 32) + 5, vlen = 3;
    uint8_t hdr[SHEAF__REC_HDR_MAX];
    size_t h = sheaf__varint_put(hdr, 7);
    h += sheaf__varint_put(hdr + h, klen);
    h += sheaf__varint_put(hdr + h, vlen);
    size_t len = h + (size_t)klen + (size_t)vlen;
    uint8_t *data = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
                         MAP_NORESERVE, -1, 0);
    if (data == MAP_FAILED) {
        fprintf(stderr, "index_long_key: no 4 GiB of address space, not run\n");
        return;
    }
    memcpy(data, hdr, h);
    data[h] = 'k';
    sheaf__ent e[2];
    UNIT_ASSERT_EQUAL(sheaf__index(data, len, e, 2), 1);
    UNIT_ASSERT_EQUAL(e[0].klen, SHEAF__ENT_LONG);
    UNIT_ASSERT_EQUAL(sheaf__ent_klen(&e[0]), klen);
    UNIT_ASSERT_EQUAL(sheaf__ent_vlen(&e[0]), vlen);
    UNIT_ASSERT_EQUAL(e[0].part, 7);
    UNIT_ASSERT_EQUAL(e[0].pfx, (uint64_t)'k' << 56);
    sheaf__src *src = sheaf__src_memory(e, 1);
    UNIT_ASSERT_PTR_NOT_NULL(src);
    sheaf__kv kv;
    UNIT_ASSERT_EQUAL(src->next(src, &kv), 1);
    UNIT_ASSERT(kv.key == data + h && kv.klen == klen && kv.vlen == vlen);
    UNIT_ASSERT(kv.val == data + h + klen);
    src->close(src);
    munmap(data, len);
}

int main(void) {
    static const unit_test tests[] = {
        {"sort_default", test_sort_default},
        {"index_long_key", test_index_long_key},
        {"sort_custom", test_sort_custom},
        {"sort_presorted", test_sort_presorted},
        {"sort_custom_result_scale", test_sort_custom_result_scale},
        {"index_errors", test_index_errors},
        {"sort_adversary", test_sort_adversary},
        {"hash_partition_range", test_hash_partition_range},
        {"hash_partition_uniform", test_hash_partition_uniform},
        {NULL, NULL},
    };
    return unit_main("sort", tests);
}
