/*
 * store.c: the reduce side's received records, kept within the memory budget.
 *
 * Shuffle rounds append encoded records to one buffer. Before a round's data arrives,
 * sheaf__store_reserve() checks that the buffer plus its future sort index stays within the
 * store's share of the budget; if not, what is held is sorted and written as a run file under
 * the rank's spill directory, and the buffer starts again empty. For jobs with a built-in
 * aggregation, equal keys are combined while the run is written, so a run holds each key
 * once. At the end, sheaf__store_source() sorts what is in memory and merges it with the runs;
 * when there are more runs than the merge fan-in, intermediate passes merge them into fewer,
 * larger runs first. Run files are deleted as soon as they have been merged, and the whole
 * spill directory is removed when the job ends, whether it succeeded or not.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define MERGE_FANIN 64
#define RUN_READ_BUF (256u << 10)

static sheaf_agg reduce_agg(const sheaf_ctx *ctx) {
    /* COUNT partials are counts, so they add up on the reduce side. */
    return ctx->job->agg == SHEAF_AGG_COUNT ? SHEAF_AGG_SUM_U64 : ctx->job->agg;
}

int sheaf__store_init(sheaf_ctx *ctx) {
    sheaf__store *st = calloc(1, sizeof *st);
    if (!st)
        return SHEAF_ENOMEM;
    ctx->store = st;
    st->limit = (size_t)SHEAF__MAX(ctx->budget / 2, 1u << 20);
    if (!(st->dir = sheaf__asprintf("%s/rank-%d", ctx->spill_dir, ctx->rank)))
        return SHEAF_ENOMEM;
    return 0;
}

void sheaf__store_free(sheaf_ctx *ctx) {
    sheaf__store *st = ctx->store;
    if (!st)
        return;
    for (size_t i = 0; i < st->nruns; i++) {
        unlink(st->runs[i]);
        free(st->runs[i]);
    }
    free(st->runs);
    free(st->ents);
    sheaf__buf_free(&st->data);
    free(st->dir);
    free(st);
    ctx->store = NULL;
}

static int new_run_path(sheaf_ctx *ctx, char **out) {
    sheaf__store *st = ctx->store;
    if (asprintf(out, "%s/run-%06llu", st->dir, (unsigned long long)st->run_seq++) < 0)
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    return 0;
}

static int add_run(sheaf__store *st, char *path) {
    if (st->nruns == st->capruns) {
        size_t cap = st->capruns ? st->capruns * 2 : 16;
        char **r = realloc(st->runs, cap * sizeof *r);
        if (!r)
            return SHEAF_ENOMEM;
        st->runs = r;
        st->capruns = cap;
    }
    st->runs[st->nruns++] = path;
    return 0;
}

/* Writes a sorted source to a new run, combining equal keys for aggregation jobs. */
static int write_run(sheaf_ctx *ctx, sheaf__src *src, uint64_t expect_bytes) {
    sheaf__store *st = ctx->store;
    char *path;
    int rc = new_run_path(ctx, &path);
    if (rc)
        return rc;
    struct statvfs vfs;
    if (statvfs(st->dir, &vfs) == 0 &&
        (uint64_t)vfs.f_bavail * vfs.f_frsize < expect_bytes + (1u << 20)) {
        free(path);
        return sheaf__error(ctx, SHEAF_ENOSPC,
                            "spill directory %s: %llu bytes free, a run needs about %llu",
                            st->dir, (unsigned long long)vfs.f_bavail * vfs.f_frsize,
                            (unsigned long long)expect_bytes);
    }
    sheaf__runw w;
    if ((rc = sheaf__runw_open(&w, path))) {
        sheaf__error(ctx, rc, "cannot create spill file %s: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    sheaf_agg agg = reduce_agg(ctx);
    sheaf_compare_fn cmp = ctx->job->compare;
    sheaf__kv kv, pend;
    uint8_t acc[8], keybuf_small[256];
    sheaf__buf keycopy = {0};
    bool have = false;
    while ((rc = src->next(src, &kv)) > 0) {
        if (agg == SHEAF_AGG_NONE) {
            if ((rc = sheaf__runw_put(&w, &kv)))
                break;
            continue;
        }
        if (have && pend.part == kv.part &&
            (cmp ? cmp(pend.key, pend.klen, kv.key, kv.klen)
                 : sheaf__bytes_compare(pend.key, pend.klen, kv.key, kv.klen)) == 0) {
            sheaf__agg_merge(agg, acc, kv.val, kv.vlen);
            continue;
        }
        if (have) {
            pend.val = acc;
            pend.vlen = 8;
            if ((rc = sheaf__runw_put(&w, &pend)))
                break;
        }
        /* The pending key must outlive the source's next call: copy it. */
        uint8_t *kb = keybuf_small;
        if (kv.klen > sizeof keybuf_small) {
            keycopy.len = 0;
            if (sheaf__buf_reserve(&keycopy, kv.klen)) {
                rc = SHEAF_ENOMEM;
                break;
            }
            kb = keycopy.data;
        }
        memcpy(kb, kv.key, kv.klen);
        pend = kv;
        pend.key = kb;
        sheaf__agg_init(agg, acc, kv.val, kv.vlen);
        have = true;
    }
    if (rc == 0 && have) {
        pend.val = acc;
        pend.vlen = 8;
        rc = sheaf__runw_put(&w, &pend);
    }
    sheaf__buf_free(&keycopy);
    int crc = sheaf__runw_close(&w);
    if (!rc)
        rc = crc;
    ctx->c[SHEAF__C_SPILL_RECORDS] += w.records;
    ctx->c[SHEAF__C_SPILL_BYTES] += w.bytes;
    if (rc) {
        unlink(path);
        free(path);
        if (rc == SHEAF_ENOSPC)
            return sheaf__error(ctx, rc, "spill directory %s is full", st->dir);
        return sheaf__error(ctx, rc, "cannot write spill file in %s: %s", st->dir,
                            sheaf_strerror(rc));
    }
    ctx->c[SHEAF__C_SPILL_RUNS]++;
    sheaf__log(ctx, SHEAF_LOG_INFO, "spilled a sorted run of %llu records (%llu bytes) to %s",
               (unsigned long long)w.records, (unsigned long long)w.bytes, path);
    if (add_run(st, path)) {
        unlink(path);
        free(path);
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    }
    return 0;
}

/* Indexes and sorts what is in memory. */
static int sort_memory(sheaf_ctx *ctx) {
    sheaf__store *st = ctx->store;
    size_t cap = st->nents;
    free(st->ents);
    st->ents = NULL;
    st->nents = 0;
    if (st->data.len == 0)
        return 0;
    /* nents holds the record count the shuffle reported; index exactly that many. */
    st->ents = malloc((cap ? cap : 1) * sizeof *st->ents);
    if (!st->ents)
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory for the sort index (%zu records)",
                            cap);
    long long n = sheaf__index(st->data.data, st->data.len, st->ents, cap);
    if (n < 0)
        return sheaf__error(ctx, SHEAF_EIO, "corrupt shuffle data");
    st->nents = (size_t)n;
    sheaf__sort(st->ents, st->nents, ctx->job->compare);
    return 0;
}

static int spill(sheaf_ctx *ctx) {
    sheaf__store *st = ctx->store;
    int rc = sort_memory(ctx);
    if (rc)
        return rc;
    sheaf__src *m = sheaf__src_memory(st->ents, st->nents);
    if (!m)
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    rc = write_run(ctx, m, st->data.len);
    m->close(m);
    free(st->ents);
    st->ents = NULL;
    st->nents = 0;
    st->data.len = 0;
    return rc;
}

int sheaf__store_reserve(sheaf_ctx *ctx, size_t incoming, size_t records) {
    sheaf__store *st = ctx->store;
    size_t after = st->data.len + incoming + (st->nents + records) * sizeof(sheaf__ent);
    if (after > st->limit && st->data.len > 0) {
        int rc = spill(ctx);
        if (rc)
            return rc;
    }
    st->nents += records; /* until sort_memory, nents counts the records held */
    size_t need = st->data.len + incoming;
    if (need > st->data.cap) {
        size_t cap = SHEAF__MAX(need, SHEAF__MIN(st->data.cap * 2, st->limit));
        uint8_t *p = realloc(st->data.data, cap);
        if (!p)
            return sheaf__error(ctx, SHEAF_ENOMEM,
                                "out of memory receiving %zu bytes of shuffle data", incoming);
        st->data.data = p;
        st->data.cap = cap;
    }
    return 0;
}

/* Merges the oldest fan-in runs into one until few enough remain. */
static int merge_pass(sheaf_ctx *ctx, size_t keep) {
    sheaf__store *st = ctx->store;
    while (st->nruns > keep) {
        size_t k = SHEAF__MIN((size_t)MERGE_FANIN, st->nruns - keep + 1);
        sheaf__src *kids[MERGE_FANIN];
        int rc = 0;
        for (size_t i = 0; i < k; i++) {
            kids[i] = sheaf__src_run(st->runs[i], RUN_READ_BUF, &rc);
            if (!kids[i]) {
                for (size_t j = 0; j < i; j++)
                    kids[j]->close(kids[j]);
                return sheaf__error(ctx, rc, "cannot open spill file %s", st->runs[i]);
            }
        }
        sheaf__src *m = sheaf__src_merge(kids, k, ctx->job->compare);
        if (!m)
            return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
        rc = write_run(ctx, m, 0);
        m->close(m);
        if (rc)
            return rc;
        for (size_t i = 0; i < k; i++) {
            unlink(st->runs[i]);
            free(st->runs[i]);
        }
        memmove(st->runs, st->runs + k, (st->nruns - k) * sizeof *st->runs);
        st->nruns -= k;
        ctx->c[SHEAF__C_SPILL_RUNS]--; /* the merged run is not a new spill */
        ctx->c[SHEAF__C_MERGE_PASSES]++;
        sheaf__log(ctx, SHEAF_LOG_INFO, "merge pass: %zu spilled runs into one, %zu left", k,
                   st->nruns);
    }
    return 0;
}

int sheaf__store_source(sheaf_ctx *ctx, sheaf__src **out) {
    sheaf__store *st = ctx->store;
    *out = NULL;
    int rc;
    if (st->nruns >= MERGE_FANIN && (rc = merge_pass(ctx, MERGE_FANIN - 1)))
        return rc;
    if ((rc = sort_memory(ctx)))
        return rc;
    sheaf__src *mem = sheaf__src_memory(st->ents, st->nents);
    if (!mem)
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    if (st->nruns == 0) {
        *out = mem;
        return 0;
    }
    sheaf__src *kids[MERGE_FANIN];
    size_t k = 0;
    for (size_t i = 0; i < st->nruns; i++) {
        kids[k] = sheaf__src_run(st->runs[i], RUN_READ_BUF, &rc);
        if (!kids[k]) {
            for (size_t j = 0; j < k; j++)
                kids[j]->close(kids[j]);
            mem->close(mem);
            return sheaf__error(ctx, rc, "cannot open spill file %s", st->runs[i]);
        }
        k++;
    }
    kids[k++] = mem; /* last: on equal keys, earlier rounds come first */
    sheaf__src *m = sheaf__src_merge(kids, k, ctx->job->compare);
    if (!m)
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    ctx->c[SHEAF__C_MERGE_PASSES]++;
    sheaf__log(ctx, SHEAF_LOG_INFO, "final merge of %zu spilled runs and memory", st->nruns);
    *out = m;
    return 0;
}
