/*
 * test_merge.c: unit tests of run files and record sources (merge.c).
 *
 * Runs are written with sheaf__runw_* and read back with sheaf__src_run; the records must come
 * back exactly, including records larger than the read buffer and the write buffer. Merges are
 * checked against a reference built here: the concatenation of the sources' records, stably
 * sorted by (partition, key) with ties in source order (the merge promises that equal keys
 * come out in source order). In-memory sources are built from an index of records already
 * encoded in order, so these tests do not depend on the sort.
 */
#include "internal.h"
#include "unit.h"

#include <signal.h>
#include <sys/wait.h>

static char tmpdir[4096];

/* ---- records ---- */

typedef struct trec {
    uint32_t part;
    uint8_t *key, *val;
    size_t klen, vlen;
    size_t src, seq; /* which source, and its position there: the reference's tie-break */
} trec;

typedef struct tlist {
    trec *v;
    size_t n, cap;
} tlist;

static void tl_add(tlist *l, uint32_t part, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = unit_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    trec *r = &l->v[l->n++];
    r->part = part;
    r->klen = klen;
    r->vlen = vlen;
    r->key = unit_xmalloc(klen);
    r->val = unit_xmalloc(vlen);
    if (klen)
        memcpy(r->key, key, klen);
    if (vlen)
        memcpy(r->val, val, vlen);
    r->src = r->seq = 0;
}

static void tl_free(tlist *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].key);
        free(l->v[i].val);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int ref_bytes(const void *pa, size_t alen, const void *pb, size_t blen) {
    const uint8_t *a = pa, *b = pb;
    for (size_t i = 0; i < alen && i < blen; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static int cmp_reverse(const void *a, size_t alen, const void *b, size_t blen) {
    return -ref_bytes(a, alen, b, blen);
}

static sheaf_compare_fn ref_fn;

static int ref_cmp(const void *pa, const void *pb) {
    const trec *a = pa, *b = pb;
    if (a->part != b->part)
        return a->part < b->part ? -1 : 1;
    int c = ref_fn ? ref_fn(a->key, a->klen, b->key, b->klen)
                   : ref_bytes(a->key, a->klen, b->key, b->klen);
    if (c)
        return c;
    if (a->src != b->src)
        return a->src < b->src ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void tl_sort(tlist *l, sheaf_compare_fn cmp) {
    ref_fn = cmp;
    if (l->n)
        qsort(l->v, l->n, sizeof *l->v, ref_cmp);
}

/* n random records; keys from a small alphabet so that duplicates are common. */
static void tl_random(tlist *l, size_t n, uint32_t nparts, size_t maxk, size_t maxv) {
    uint8_t key[256], val[256];
    for (size_t i = 0; i < n; i++) {
        size_t klen = (size_t)unit_below(maxk + 1), vlen = (size_t)unit_below(maxv + 1);
        for (size_t k = 0; k < klen; k++)
            key[k] = (uint8_t)("abc\0"[unit_below(4)]);
        for (size_t k = 0; k < vlen; k++)
            val[k] = (uint8_t)unit_rand64();
        tl_add(l, (uint32_t)unit_below(nparts), key, klen, val, vlen);
    }
}

static bool same_rec(const trec *r, const sheaf__kv *kv) {
    return r->part == kv->part && r->klen == kv->klen && r->vlen == kv->vlen &&
           (r->klen == 0 || memcmp(r->key, kv->key, r->klen) == 0) &&
           (r->vlen == 0 || memcmp(r->val, kv->val, r->vlen) == 0);
}

/* Reads a source to its end and compares it with want, in order. Closes the source. */
static void expect_source(sheaf__src *s, const tlist *want, const char *what) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    size_t i = 0, bad = 0;
    sheaf__kv kv;
    int rc;
    while ((rc = s->next(s, &kv)) == 1) {
        bool ok = i < want->n && same_rec(&want->v[i], &kv);
        if (!ok && bad++ < 3)
            fprintf(stderr, "%s: record %zu differs (part %u, klen %zu, vlen %zu)\n", what, i,
                    kv.part, kv.klen, kv.vlen);
        UNIT_ASSERT(ok);
        i++;
    }
    UNIT_ASSERT_EQUAL(rc, 0);
    if (i != want->n)
        fprintf(stderr, "%s: %zu records, want %zu\n", what, i, want->n);
    UNIT_ASSERT_EQUAL(i, want->n);
    /* a finished source stays finished */
    UNIT_ASSERT_EQUAL(s->next(s, &kv), 0);
    s->close(s);
}

/* ---- sources from record lists ---- */

static void write_run(const char *path, const tlist *l) {
    sheaf__runw w;
    CU_ASSERT_EQUAL_FATAL(sheaf__runw_open(&w, path), 0);
    uint64_t bytes = 0;
    for (size_t i = 0; i < l->n; i++) {
        const trec *r = &l->v[i];
        sheaf__kv kv = {r->part, r->key, r->klen, r->val, r->vlen};
        UNIT_ASSERT_EQUAL(sheaf__runw_put(&w, &kv), 0);
        uint8_t hdr[30];
        bytes += sheaf__varint_put(hdr, r->part) + sheaf__varint_put(hdr, r->klen) +
                 sheaf__varint_put(hdr, r->vlen) + r->klen + r->vlen;
    }
    UNIT_ASSERT_EQUAL(w.records, l->n);
    UNIT_ASSERT_EQUAL(w.bytes, bytes);
    UNIT_ASSERT_EQUAL(sheaf__runw_close(&w), 0);
    struct stat st;
    UNIT_ASSERT(stat(path, &st) == 0 && (uint64_t)st.st_size == bytes);
}

/* A memory source and what backs it (the encoded records and their index). */
typedef struct memsrc_data {
    sheaf__buf buf;
    sheaf__ent *ents;
} memsrc_data;

static sheaf__src *memory_source(memsrc_data *m, const tlist *l) {
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < l->n; i++) {
        const trec *r = &l->v[i];
        CU_ASSERT_FATAL(sheaf__buf_reserve(&m->buf, SHEAF__REC_HDR_MAX + r->klen + r->vlen) == 0);
        m->buf.len += sheaf__rec_put(m->buf.data + m->buf.len, r->part, r->key, r->klen, r->val,
                                     r->vlen);
    }
    m->ents = unit_xcalloc(l->n + 1, sizeof *m->ents);
    UNIT_ASSERT_EQUAL(sheaf__index(m->buf.data, m->buf.len, m->ents, l->n), (long long)l->n);
    return sheaf__src_memory(m->ents, l->n);
}

static void memory_free(memsrc_data *m) {
    sheaf__buf_free(&m->buf);
    free(m->ents);
}

/* ---- run files ---- */

static void test_run_round_trip(void) {
    char path[4200];
    unit_path(path, sizeof path, tmpdir, "run-rt");
    tlist l = {0};
    tl_random(&l, 20000, 8, 12, 40);
    tl_sort(&l, NULL);
    write_run(path, &l);
    const size_t bufs[] = {0, 1, 4096, 5000, 1 << 20};
    for (size_t b = 0; b < sizeof bufs / sizeof *bufs; b++) {
        int err = 0;
        sheaf__src *s = sheaf__src_run(path, bufs[b], &err);
        UNIT_ASSERT_EQUAL(err, 0);
        expect_source(s, &l, "run round trip");
    }
    /* runs are read as written: order is the writer's business */
    tlist u = {0};
    tl_random(&u, 500, 3, 5, 5);
    write_run(path, &u);
    int err = 0;
    expect_source(sheaf__src_run(path, 4096, &err), &u, "unsorted run");
    tl_free(&u);
    tl_free(&l);
    unlink(path);
}

/* Records larger than the reader's buffer and the writer's buffer, between small ones. */
static void test_run_large_records(void) {
    char path[4200];
    unit_path(path, sizeof path, tmpdir, "run-large");
    tlist l = {0};
    size_t big = (3u << 20) + 11;
    uint8_t *blob = unit_xmalloc(big);
    for (size_t i = 0; i < big; i++)
        blob[i] = (uint8_t)unit_rand64();
    tl_add(&l, 0, "a", 1, "small", 5);
    tl_add(&l, 0, "b", 1, blob, big);          /* a large value */
    tl_add(&l, 0, "c", 1, "", 0);
    tl_add(&l, 1, blob, 70000, "v", 1);        /* a large key */
    tl_add(&l, 1, blob + 5, 5000, blob, 5000); /* just over the smallest buffer */
    tl_add(&l, 2, "", 0, "", 0);
    tl_add(&l, 2, blob, 4090, blob, 3);        /* about the buffer size */
    write_run(path, &l);
    const size_t bufs[] = {4096, 65536, 1 << 20};
    for (size_t b = 0; b < sizeof bufs / sizeof *bufs; b++) {
        int err = 0;
        expect_source(sheaf__src_run(path, bufs[b], &err), &l, "large records");
        UNIT_ASSERT_EQUAL(err, 0);
    }
    tl_free(&l);
    free(blob);
    unlink(path);
}

static void test_run_empty_and_errors(void) {
    char path[4200];
    unit_path(path, sizeof path, tmpdir, "run-empty");
    tlist l = {0};
    write_run(path, &l);
    int err = 0;
    expect_source(sheaf__src_run(path, 4096, &err), &l, "empty run");

    /* a missing run cannot be opened */
    char missing[4300];
    unit_path(missing, sizeof missing, tmpdir, "no-such-run");
    err = 0;
    UNIT_ASSERT_PTR_NULL(sheaf__src_run(missing, 4096, &err));
    UNIT_ASSERT(err < 0);

    /* a run cut short in its last record: every whole record, then an error */
    tl_random(&l, 100, 2, 6, 30);
    write_run(path, &l);
    struct stat st;
    CU_ASSERT_FATAL(stat(path, &st) == 0);
    CU_ASSERT_FATAL(truncate(path, st.st_size - 1) == 0);
    err = 0;
    sheaf__src *s = sheaf__src_run(path, 4096, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    sheaf__kv kv;
    size_t n = 0;
    int rc;
    while ((rc = s->next(s, &kv)) == 1) {
        UNIT_ASSERT(n < l.n && same_rec(&l.v[n], &kv));
        n++;
    }
    UNIT_ASSERT_EQUAL(n, l.n - 1);
    UNIT_ASSERT(rc < 0);
    s->close(s);

    /* a run that cannot be created */
    sheaf__runw w;
    char bad[4400];
    unit_path(bad, sizeof bad, missing, "run");
    UNIT_ASSERT(sheaf__runw_open(&w, bad) < 0);
    tl_free(&l);
    unlink(path);
}

/* ---- merges ---- */

enum { SRC_RUN, SRC_MEM, SRC_MIXED };

/* Builds nsrc sorted sources of random sizes (some empty), merges them and compares with the
 * reference. kinds: all runs, all memory, or alternating. */
static void run_merge(size_t nsrc, size_t maxrecs, int kinds, sheaf_compare_fn cmp,
                      uint32_t nparts, const char *what) {
    sheaf__src **srcs = unit_xcalloc(nsrc, sizeof *srcs);
    memsrc_data *mems = unit_xcalloc(nsrc, sizeof *mems);
    tlist *lists = unit_xcalloc(nsrc, sizeof *lists);
    char **paths = unit_xcalloc(nsrc, sizeof *paths);
    tlist all = {0};
    for (size_t i = 0; i < nsrc; i++) {
        size_t n = unit_below(5) == 0 ? 0 : (size_t)unit_below(maxrecs + 1);
        tl_random(&lists[i], n, nparts, 4, 6);
        tl_sort(&lists[i], cmp);
        for (size_t k = 0; k < lists[i].n; k++) {
            const trec *r = &lists[i].v[k];
            tl_add(&all, r->part, r->key, r->klen, r->val, r->vlen);
            all.v[all.n - 1].src = i;
            all.v[all.n - 1].seq = k;
        }
        bool mem = kinds == SRC_MEM || (kinds == SRC_MIXED && i % 2 == 1);
        if (mem) {
            srcs[i] = memory_source(&mems[i], &lists[i]);
        } else {
            char p[4300];
            snprintf(p, sizeof p, "%s/merge-%zu", tmpdir, i);
            paths[i] = strdup(p);
            write_run(p, &lists[i]);
            int err = 0;
            srcs[i] = sheaf__src_run(p, 4096, &err);
            UNIT_ASSERT_EQUAL(err, 0);
        }
        CU_ASSERT_PTR_NOT_NULL_FATAL(srcs[i]);
    }
    tl_sort(&all, cmp);
    sheaf__src *m = sheaf__src_merge(srcs, nsrc, cmp);
    expect_source(m, &all, what);
    for (size_t i = 0; i < nsrc; i++) {
        memory_free(&mems[i]);
        tl_free(&lists[i]);
        if (paths[i])
            unlink(paths[i]);
        free(paths[i]);
    }
    tl_free(&all);
    free(srcs);
    free(mems);
    free(lists);
    free(paths);
}

static void test_merge_one(void) {
    run_merge(1, 1000, SRC_RUN, NULL, 4, "one run");
    run_merge(1, 1000, SRC_MEM, NULL, 4, "one memory source");
}

static void test_merge_none(void) {
    sheaf__src *nosrc[1] = {NULL};
    sheaf__src *m = sheaf__src_merge(nosrc, 0, NULL);
    tlist none = {0};
    expect_source(m, &none, "no sources");
}

static void test_merge_many(void) {
    run_merge(100, 200, SRC_RUN, NULL, 3, "100 runs");
    run_merge(100, 200, SRC_MIXED, NULL, 1, "100 mixed sources");
    run_merge(7, 3000, SRC_MIXED, NULL, 5, "7 mixed sources");
}

static void test_merge_empty_runs(void) {
    for (size_t n = 1; n <= 5; n++) {
        sheaf__src **srcs = unit_xcalloc(n, sizeof *srcs);
        char **paths = unit_xcalloc(n, sizeof *paths);
        tlist empty = {0};
        for (size_t i = 0; i < n; i++) {
            char p[4300];
            snprintf(p, sizeof p, "%s/empty-%zu", tmpdir, i);
            paths[i] = strdup(p);
            write_run(p, &empty);
            int err = 0;
            srcs[i] = sheaf__src_run(p, 4096, &err);
        }
        expect_source(sheaf__src_merge(srcs, n, NULL), &empty, "only empty runs");
        for (size_t i = 0; i < n; i++) {
            unlink(paths[i]);
            free(paths[i]);
        }
        free(paths);
        free(srcs);
    }
    /* empty runs among full ones (run_merge makes a fifth of its sources empty) */
    for (int rep = 0; rep < 20; rep++)
        run_merge(6, 50, SRC_MIXED, NULL, 2, "some empty sources");
}

/* The same keys in every source: they come out grouped, in source order. */
static void test_merge_duplicates(void) {
    const size_t nsrc = 10;
    sheaf__src *srcs[10];
    memsrc_data mems[10];
    tlist lists[10], all = {0};
    memset(lists, 0, sizeof lists);
    for (size_t i = 0; i < nsrc; i++) {
        for (size_t k = 0; k < 30; k++) {
            char key[4] = {(char)('a' + k / 10), 0, 0, 0};
            uint64_t v = i * 1000 + k;
            tl_add(&lists[i], (uint32_t)(k / 15), key, 1 + k % 2, &v, 8);
        }
        tl_sort(&lists[i], NULL);
        for (size_t k = 0; k < lists[i].n; k++) {
            const trec *r = &lists[i].v[k];
            tl_add(&all, r->part, r->key, r->klen, r->val, r->vlen);
            all.v[all.n - 1].src = i;
            all.v[all.n - 1].seq = k;
        }
        srcs[i] = memory_source(&mems[i], &lists[i]);
    }
    tl_sort(&all, NULL);
    expect_source(sheaf__src_merge(srcs, nsrc, NULL), &all, "duplicate keys");
    for (size_t i = 0; i < nsrc; i++) {
        memory_free(&mems[i]);
        tl_free(&lists[i]);
    }
    tl_free(&all);
}

static void test_merge_custom_order(void) {
    run_merge(20, 300, SRC_MIXED, cmp_reverse, 3, "reverse order");
}

/* A merge of merges (what a multi-pass merge builds) is one merge. */
static void test_merge_nested(void) {
    const size_t groups = 4, per = 5;
    sheaf__src *outer[4];
    tlist all = {0};
    memsrc_data mems[20];
    tlist lists[20];
    memset(lists, 0, sizeof lists);
    for (size_t g = 0; g < groups; g++) {
        sheaf__src *inner[5];
        for (size_t j = 0; j < per; j++) {
            size_t i = g * per + j;
            tl_random(&lists[i], (size_t)unit_below(400), 3, 3, 4);
            tl_sort(&lists[i], NULL);
            for (size_t k = 0; k < lists[i].n; k++) {
                const trec *r = &lists[i].v[k];
                tl_add(&all, r->part, r->key, r->klen, r->val, r->vlen);
                all.v[all.n - 1].src = i;
                all.v[all.n - 1].seq = k;
            }
            inner[j] = memory_source(&mems[i], &lists[i]);
        }
        outer[g] = sheaf__src_merge(inner, per, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(outer[g]);
    }
    tl_sort(&all, NULL);
    expect_source(sheaf__src_merge(outer, groups, NULL), &all, "nested merge");
    for (size_t i = 0; i < groups * per; i++) {
        memory_free(&mems[i]);
        tl_free(&lists[i]);
    }
    tl_free(&all);
}

/* A merge of sources that are not sorted runs breaks the merge's order: in a build with the
 * runtime's internal assertions (SHEAF_ASSERTS: scripts/check, --enable-sanitizers) the merge
 * stops the process (SIGABRT); without them it hands the records out as they come. */
static void test_merge_unsorted_asserts(void) {
    tlist lists[2] = {{0}, {0}};
    memsrc_data mems[2];
    memset(mems, 0, sizeof mems);
    sheaf__src *srcs[2];
    for (size_t i = 0; i < 2; i++) {
        tl_random(&lists[i], 200, 1, 4, 6);
        tl_sort(&lists[i], NULL);
        for (size_t a = 0, b = lists[i].n - 1; a < b; a++, b--) { /* descending: not a run */
            trec t = lists[i].v[a];
            lists[i].v[a] = lists[i].v[b];
            lists[i].v[b] = t;
        }
        srcs[i] = memory_source(&mems[i], &lists[i]);
    }
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2);
        sheaf__src *m = sheaf__src_merge(srcs, 2, NULL);
        sheaf__kv kv;
        size_t n = 0;
        while (m && m->next(m, &kv) == 1)
            n++;
        _exit(n == lists[0].n + lists[1].n ? 0 : 3);
    }
    int status = 0;
    UNIT_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
#ifdef SHEAF_ASSERTS
    UNIT_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
#else
    UNIT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
#endif
    for (size_t i = 0; i < 2; i++) {
        srcs[i]->close(srcs[i]);
        memory_free(&mems[i]);
        tl_free(&lists[i]);
    }
}

int main(void) {
    if (unit_mkdtemp(tmpdir, sizeof tmpdir, "merge") != 0) {
        perror("mkdtemp");
        return 99;
    }
    static const unit_test tests[] = {
        {"run_round_trip", test_run_round_trip},
        {"run_large_records", test_run_large_records},
        {"run_empty_and_errors", test_run_empty_and_errors},
        {"merge_none", test_merge_none},
        {"merge_one", test_merge_one},
        {"merge_many", test_merge_many},
        {"merge_empty_runs", test_merge_empty_runs},
        {"merge_duplicates", test_merge_duplicates},
        {"merge_custom_order", test_merge_custom_order},
        {"merge_nested", test_merge_nested},
        {"merge_unsorted_asserts", test_merge_unsorted_asserts},
        {NULL, NULL},
    };
    int rc = unit_main("merge", tests);
    if (unit_rmtree(tmpdir) != 0) {
        fprintf(stderr, "cannot remove %s\n", tmpdir);
        rc = rc ? rc : 1;
    }
    return rc;
}
