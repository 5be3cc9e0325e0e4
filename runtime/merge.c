/*
 * merge.c: sorted record sources, run files and the k-way merge.
 *
 * Everything the reduce side reads is a sheaf__src: a sorted in-memory index, a run file on
 * disk, or a merge of other sources. A record handed out by next() stays valid until the next
 * call on the same source, which lets a merge hand out its children's records without copying:
 * it advances the child whose record it returned only when asked for the following one.
 * Run files hold records in the common encoding, written and read through large buffers; a
 * record larger than the buffer grows it for that record.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- writing runs ---- */

#define RUNW_BUF (1u << 20)

int sheaf__runw_open(sheaf__runw *w, const char *path) {
    memset(w, 0, sizeof *w);
    w->path = path;
    w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (w->fd < 0)
        return errno == ENOSPC ? SHEAF_ENOSPC : SHEAF_EIO;
    if (sheaf__buf_reserve(&w->buf, RUNW_BUF)) {
        close(w->fd);
        w->fd = -1;
        return SHEAF_ENOMEM;
    }
    return 0;
}

static int runw_flush(sheaf__runw *w) {
    int rc = sheaf__write_all(w->fd, w->buf.data, w->buf.len);
    w->buf.len = 0;
    if (rc)
        return rc == -ENOSPC || rc == -EDQUOT ? SHEAF_ENOSPC : SHEAF_EIO;
    return 0;
}

int sheaf__runw_put(sheaf__runw *w, const sheaf__kv *kv) {
    size_t need = SHEAF__REC_HDR_MAX + kv->klen + kv->vlen;
    if (w->buf.len + need > RUNW_BUF && w->buf.len) {
        int rc = runw_flush(w);
        if (rc)
            return rc;
    }
    size_t n = sheaf__buf_add_rec(&w->buf, kv->part, kv->key, kv->klen, kv->val, kv->vlen);
    if (!n)
        return SHEAF_ENOMEM;
    w->bytes += n;
    w->records++;
    return 0;
}

int sheaf__runw_close(sheaf__runw *w) {
    int rc = 0;
    if (w->fd >= 0) {
        rc = runw_flush(w);
        if (close(w->fd) != 0 && !rc)
            rc = errno == ENOSPC ? SHEAF_ENOSPC : SHEAF_EIO;
        w->fd = -1;
    }
    sheaf__buf_free(&w->buf);
    return rc;
}

/* ---- an in-memory sorted index ---- */

typedef struct {
    sheaf__src base;
    const sheaf__ent *ents;
    size_t n, i;
} memsrc;

static int mem_next(sheaf__src *s, sheaf__kv *kv) {
    memsrc *m = (memsrc *)s;
    if (m->i == m->n)
        return 0;
    /* Records sit in arrival order, the index in key order: fetch a few records ahead, both
     * ends of each (a 100-byte record usually spans two cache lines). */
    if (m->i + 16 < m->n) {
        const sheaf__ent *a = &m->ents[m->i + 16];
        __builtin_prefetch(a->rec);
        __builtin_prefetch(a->rec + a->hlen + (size_t)a->klen + a->vlen - 1);
    }
    const sheaf__ent *e = &m->ents[m->i++];
    kv->part = e->part;
    kv->key = e->rec + e->hlen;
    kv->klen = sheaf__ent_klen(e);
    kv->val = kv->key + kv->klen;
    kv->vlen = sheaf__ent_vlen(e);
    return 1;
}

static void mem_close(sheaf__src *s) {
    free(s);
}

sheaf__src *sheaf__src_memory(const sheaf__ent *ents, size_t n) {
    memsrc *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->base.next = mem_next;
    m->base.close = mem_close;
    m->ents = ents;
    m->n = n;
    return &m->base;
}

/* ---- a run file ---- */

typedef struct {
    sheaf__src base;
    int fd;
    uint8_t *buf;
    size_t cap, len, off;
    bool eof;
} runsrc;

static int run_next(sheaf__src *s, sheaf__kv *kv) {
    runsrc *r = (runsrc *)s;
    for (;;) {
        size_t n = sheaf__rec_get(r->buf + r->off, r->buf + r->len, kv);
        if (n) {
            r->off += n;
            return 1;
        }
        if (r->eof)
            return r->off == r->len ? 0 : SHEAF_EIO; /* a truncated run */
        memmove(r->buf, r->buf + r->off, r->len - r->off);
        r->len -= r->off;
        r->off = 0;
        if (r->len == r->cap) {
            uint8_t *b = realloc(r->buf, r->cap * 2);
            if (!b)
                return SHEAF_ENOMEM;
            r->buf = b;
            r->cap *= 2;
        }
        ssize_t got = read(r->fd, r->buf + r->len, r->cap - r->len);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return SHEAF_EIO;
        }
        if (got == 0)
            r->eof = true;
        r->len += (size_t)got;
    }
}

static void run_close(sheaf__src *s) {
    runsrc *r = (runsrc *)s;
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
    free(r);
}

sheaf__src *sheaf__src_run(const char *path, size_t bufsize, int *err) {
    runsrc *r = calloc(1, sizeof *r);
    if (!r) {
        *err = SHEAF_ENOMEM;
        return NULL;
    }
    r->base.next = run_next;
    r->base.close = run_close;
    r->cap = bufsize < 4096 ? 4096 : bufsize;
    r->buf = malloc(r->cap);
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (!r->buf || r->fd < 0) {
        *err = r->buf ? SHEAF_EIO : SHEAF_ENOMEM;
        run_close(&r->base);
        return NULL;
    }
    return &r->base;
}

/* ---- the k-way merge: a binary min-heap of child indexes ---- */

typedef struct {
    sheaf__src base;
    sheaf__src **kids;
    sheaf__kv *cur;
    size_t *heap;
    size_t n, hn;
    long long last; /* child whose record was handed out last, -1 if none */
    sheaf_compare_fn cmp;
    bool started;
#ifdef SHEAF_ASSERTS
    sheaf__buf prev; /* the key last handed out, and its partition */
    uint32_t prev_part;
    bool have_prev;
#endif
} mergesrc;

static inline int kv_cmp(const sheaf__kv *a, const sheaf__kv *b, sheaf_compare_fn cmp) {
    if (a->part != b->part)
        return a->part < b->part ? -1 : 1;
    if (cmp)
        return cmp(a->key, a->klen, b->key, b->klen);
    return sheaf__bytes_compare(a->key, a->klen, b->key, b->klen);
}

/* Ties go to the lower child index, so equal keys come out in run order (stable). */
static inline bool less(mergesrc *m, size_t a, size_t b) {
    int c = kv_cmp(&m->cur[a], &m->cur[b], m->cmp);
    return c < 0 || (c == 0 && a < b);
}

static void sift_down(mergesrc *m, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, s = i;
        if (l < m->hn && less(m, m->heap[l], m->heap[s]))
            s = l;
        if (r < m->hn && less(m, m->heap[r], m->heap[s]))
            s = r;
        if (s == i)
            return;
        size_t t = m->heap[i];
        m->heap[i] = m->heap[s];
        m->heap[s] = t;
        i = s;
    }
}

static int merge_next(sheaf__src *s, sheaf__kv *kv) {
    mergesrc *m = (mergesrc *)s;
    if (!m->started) {
        m->started = true;
        for (size_t i = 0; i < m->n; i++) {
            int rc = m->kids[i]->next(m->kids[i], &m->cur[i]);
            if (rc < 0)
                return rc;
            if (rc)
                m->heap[m->hn++] = i;
        }
        for (size_t i = m->hn / 2; i-- > 0;)
            sift_down(m, i);
    } else if (m->last >= 0) {
        size_t k = (size_t)m->last;
        int rc = m->kids[k]->next(m->kids[k], &m->cur[k]);
        if (rc < 0)
            return rc;
        if (rc == 0)
            m->heap[0] = m->heap[--m->hn];
        if (m->hn)
            sift_down(m, 0);
    }
    m->last = -1;
    if (m->hn == 0)
        return 0;
    size_t top = m->heap[0];
    *kv = m->cur[top];
    m->last = (long long)top;
#ifdef SHEAF_ASSERTS
    /* The merge hands records out in (part, key) order: its inputs were sorted runs. */
    if (m->have_prev) {
        sheaf__kv p = {.part = m->prev_part, .key = m->prev.data, .klen = m->prev.len};
        SHEAF__ASSERT(kv_cmp(&p, kv, m->cmp) <= 0);
    }
    m->prev.len = 0;
    if (sheaf__buf_reserve(&m->prev, kv->klen + 1) == 0) {
        if (kv->klen)
            memcpy(m->prev.data, kv->key, kv->klen);
        m->prev.len = kv->klen;
        m->prev_part = kv->part;
        m->have_prev = true;
    } else {
        m->have_prev = false;
    }
#endif
    return 1;
}

static void merge_close(sheaf__src *s) {
    mergesrc *m = (mergesrc *)s;
    for (size_t i = 0; i < m->n; i++)
        if (m->kids[i])
            m->kids[i]->close(m->kids[i]);
    free(m->kids);
    free(m->cur);
    free(m->heap);
#ifdef SHEAF_ASSERTS
    sheaf__buf_free(&m->prev);
#endif
    free(m);
}

sheaf__src *sheaf__src_merge(sheaf__src **srcs, size_t n, sheaf_compare_fn cmp) {
    mergesrc *m = calloc(1, sizeof *m);
    if (m) {
        m->kids = calloc(n ? n : 1, sizeof *m->kids);
        m->cur = calloc(n ? n : 1, sizeof *m->cur);
        m->heap = calloc(n ? n : 1, sizeof *m->heap);
    }
    if (!m || !m->kids || !m->cur || !m->heap) {
        for (size_t i = 0; i < n; i++)
            srcs[i]->close(srcs[i]);
        if (m)
            merge_close(&m->base);
        return NULL;
    }
    memcpy(m->kids, srcs, n * sizeof *srcs);
    m->n = n;
    m->cmp = cmp;
    m->last = -1;
    m->base.next = merge_next;
    m->base.close = merge_close;
    return &m->base;
}
