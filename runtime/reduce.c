/*
 * reduce.c: grouping, the value iterator, and the output writer.
 *
 * The reduce side reads one sorted source (store.c) and walks it partition by partition,
 * writing each partition this rank owns to its own part-r-NNNNN file under the job's temporary
 * directory (partitions with no records still get an empty file, as in Hadoop). Within a
 * partition, consecutive records whose keys are equal under the grouping comparator form a
 * group; reduce() sees the group's first key and its values through sheaf_values, which pulls
 * records from the source on demand, so a group may be larger than memory. Values the reducer
 * does not read are skipped. A job with a built-in aggregation and no reduce callback gets
 * the aggregate written as text; a job with neither writes every record (an identity reduce).
 *
 * Text output is `key<TAB>value<LF>`, or `key<LF>` for an empty value; raw output is the key's
 * bytes followed by the value's, with nothing between records; csv output is `key,value` lines
 * (RFC 4180 quoting) under a `key,value` header. A reducer may also write to named outputs
 * (sheaf_emit_named), files NAME-r-NNNNN beside the part files, like Hadoop's MultipleOutputs.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define OUT_BUF (1u << 20)
#define MAX_NAMED 32

enum { FMT_TEXT, FMT_RAW, FMT_CSV, FMT_PARQUET };

struct sheaf__writer {
    int fd;
    char path[4200];
    sheaf__buf buf;
    int fmt;
    char name[64]; /* "part", or a named output */
    struct sheaf__pqout *pq; /* parquet output (pq_job.c) */
};

/* The writers of the partition being reduced: [0] is part-r-NNNNN, the rest named outputs
 * (NAME-r-NNNNN, like Hadoop's MultipleOutputs), opened on their first record. */
typedef struct outset {
    sheaf__writer w[MAX_NAMED + 1];
    size_t n;
    const char *dir;
    uint32_t part;
} outset;

static int writer_flush(sheaf_ctx *ctx, sheaf__writer *w) {
    int rc = sheaf__write_all(w->fd, w->buf.data, w->buf.len);
    w->buf.len = 0;
    if (rc)
        return sheaf__error(ctx, rc == -ENOSPC ? SHEAF_ENOSPC : SHEAF_EIO,
                            "cannot write output %s: %s", w->path, strerror(-rc));
    return 0;
}

static int writer_open(sheaf_ctx *ctx, sheaf__writer *w, const char *dir, const char *name,
                       uint32_t part) {
    snprintf(w->name, sizeof w->name, "%s", name);
    snprintf(w->path, sizeof w->path, "%s/%s-r-%05u%s", dir, name, part,
             w->fmt == FMT_PARQUET ? ".parquet" : "");
    if (w->fmt == FMT_PARQUET)
        return sheaf__pqout_open(ctx, w->path, !strcmp(name, "part"), &w->pq);
    w->fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0)
        return sheaf__error(ctx, SHEAF_EIO, "cannot create output %s: %s", w->path,
                            strerror(errno));
    w->buf.len = 0;
    if (sheaf__buf_reserve(&w->buf, OUT_BUF))
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    if (w->fmt == FMT_CSV) { /* the header */
        memcpy(w->buf.data, "key,value\n", 10);
        w->buf.len = 10;
    }
    return 0;
}

static int writer_close(sheaf_ctx *ctx, sheaf__writer *w) {
    if (w->pq)
        return sheaf__pqout_close(ctx, &w->pq);
    if (w->fd < 0)
        return 0;
    int rc = writer_flush(ctx, w);
    if (close(w->fd) != 0 && !rc)
        rc = sheaf__error(ctx, SHEAF_EIO, "cannot close output %s: %s", w->path,
                          strerror(errno));
    w->fd = -1;
    return rc;
}

/* RFC 4180: a field with a comma, quote, CR or LF is quoted, its quotes doubled. */
static uint8_t *csv_field(uint8_t *p, const uint8_t *s, size_t n) {
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        if (n)
            memcpy(p, s, n);
        return p + n;
    }
    *p++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            *p++ = '"';
        *p++ = s[i];
    }
    *p++ = '"';
    return p;
}

static int write_record(sheaf_ctx *ctx, sheaf__writer *w, const void *key, size_t klen,
                        const void *val, size_t vlen) {
    if (w->pq)
        return sheaf__pqout_kv(ctx, w->pq, key, klen, val, vlen);
    size_t need = w->fmt == FMT_CSV ? 2 * (klen + vlen) + 8 : klen + vlen + 2;
    if (w->buf.len + need > OUT_BUF && w->buf.len) {
        int rc = writer_flush(ctx, w);
        if (rc)
            return rc;
    }
    if (sheaf__buf_reserve(&w->buf, need))
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory writing a %zu-byte record", need);
    uint8_t *p = w->buf.data + w->buf.len;
    if (w->fmt == FMT_CSV) {
        p = csv_field(p, key, klen);
        *p++ = ',';
        p = csv_field(p, val, vlen);
        *p++ = '\n';
    } else {
        if (klen)
            memcpy(p, key, klen);
        p += klen;
        if (w->fmt == FMT_TEXT && vlen)
            *p++ = '\t';
        if (vlen)
            memcpy(p, val, vlen);
        p += vlen;
        if (w->fmt == FMT_TEXT)
            *p++ = '\n';
    }
    size_t n = (size_t)(p - (w->buf.data + w->buf.len));
    w->buf.len += n;
    ctx->c[SHEAF__C_OUTPUT_RECORDS]++;
    ctx->c[SHEAF__C_OUTPUT_BYTES] += n;
    return 0;
}

int sheaf__output(sheaf_ctx *ctx, const void *key, size_t klen, const void *val, size_t vlen) {
    if (ctx->err)
        return ctx->err;
    outset *o = (outset *)ctx->out;
    return write_record(ctx, &o->w[0], key, klen, val, vlen);
}

static bool valid_name(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > 48 || !strcmp(name, "part"))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

SHEAF_EXTERN int sheaf_emit_named(sheaf_ctx *ctx, const char *name, const void *key,
                                  size_t klen, const void *val, size_t vlen) {
    if (ctx->err)
        return ctx->err;
    if (ctx->where != SHEAF__IN_REDUCE)
        return sheaf__error(ctx, SHEAF_EINVAL, "sheaf_emit_named is for reduce calls");
    if (!valid_name(name))
        return sheaf__error(ctx, SHEAF_EINVAL,
                            "named output '%s': use 1 to 48 of A-Z a-z 0-9 _ - (not \"part\")",
                            name);
    outset *o = (outset *)ctx->out;
    for (size_t i = 1; i < o->n; i++)
        if (!strcmp(o->w[i].name, name))
            return write_record(ctx, &o->w[i], key, klen, val, vlen);
    if (o->n == MAX_NAMED + 1)
        return sheaf__error(ctx, SHEAF_EINVAL, "more than %d named outputs", MAX_NAMED);
    sheaf__writer *w = &o->w[o->n++];
    w->fmt = o->w[0].fmt;
    int rc = writer_open(ctx, w, o->dir, name, o->part);
    return rc ? rc : write_record(ctx, w, key, klen, val, vlen);
}

static int outset_open(sheaf_ctx *ctx, outset *o, uint32_t part) {
    o->part = part;
    o->n = 1;
    return writer_open(ctx, &o->w[0], o->dir, "part", part);
}

static int outset_close(sheaf_ctx *ctx, outset *o) {
    int rc = 0;
    for (size_t i = 0; i < o->n; i++) {
        int r = writer_close(ctx, &o->w[i]);
        rc = rc ? rc : r;
    }
    return rc;
}

static void outset_free(outset *o) {
    for (size_t i = 0; i <= MAX_NAMED; i++)
        sheaf__buf_free(&o->w[i].buf);
}

/* ---- the value iterator ---- */

/* Whether a record belongs to the group: under the bytewise order, keys of different lengths
 * differ without a look at their bytes. */
static inline bool same_group(const sheaf_values *v, const sheaf__kv *kv) {
    if (v->group)
        return v->group(v->gkey, v->gklen, kv->key, kv->klen) == 0;
    return v->gklen == kv->klen && (!kv->klen || memcmp(v->gkey, kv->key, kv->klen) == 0);
}

SHEAF_EXTERN int sheaf_values_next(sheaf_values *v, const void **val, size_t *vlen) {
    switch (v->kind) {
    case SHEAF__VALS_CHAIN: {
        if (!v->next)
            return 0;
        const uint8_t *p = v->arena + v->next - 1;
        uint64_t next, len = 0;
        memcpy(&next, p, 8);
        size_t h = sheaf__varint_get(p + 8, p + 8 + SHEAF__VARINT_MAX, &len);
        *val = p + 8 + h;
        *vlen = (size_t)len;
        v->next = next;
        return 1;
    }
    case SHEAF__VALS_ONE:
        if (v->one_used)
            return 0;
        v->one_used = true;
        *val = v->one;
        *vlen = v->onelen;
        return 1;
    case SHEAF__VALS_SOURCE:
        if (v->first_pending) {
            v->first_pending = false;
        } else {
            if (v->ended)
                return 0;
            int rc = v->src->next(v->src, &v->cur);
            if (rc <= 0) {
                v->ended = true;
                v->have_next = false;
                v->err = rc;
                return 0;
            }
            if (v->cur.part != v->part || !same_group(v, &v->cur)) {
                v->ended = true;
                v->have_next = true;
                return 0;
            }
        }
        *val = v->cur.val;
        *vlen = v->cur.vlen;
        v->nread++;
        return 1;
    default:
        return 0;
    }
}

SHEAF_EXTERN const void *sheaf_values_key(sheaf_values *v, size_t *klen) {
    if (v->kind == SHEAF__VALS_SOURCE && !v->ended) {
        *klen = v->cur.klen;
        return v->cur.key;
    }
    *klen = v->gklen;
    return v->gkey;
}

/* ---- the reduce loop ---- */

static int reduce_group(sheaf_ctx *ctx, sheaf_values *v) {
    const sheaf_job_def *job = ctx->job;
    ctx->c[SHEAF__C_REDUCE_GROUPS]++;
    if (job->reduce) {
        int rc = job->reduce(ctx, v->gkey, v->gklen, v, job->udata);
        if (rc && !ctx->err)
            sheaf__error(ctx, rc, "reduce failed on a key of %zu bytes (%s)", v->gklen,
                         sheaf_strerror(rc));
        return rc ? rc : ctx->err;
    }
    const void *val;
    size_t vlen;
    if (job->agg != SHEAF_AGG_NONE) {
        sheaf_agg agg = job->agg == SHEAF_AGG_COUNT ? SHEAF_AGG_SUM_U64 : job->agg;
        uint8_t acc[8];
        bool first = true;
        while (sheaf_values_next(v, &val, &vlen)) {
            if (first)
                sheaf__agg_init(agg, acc, val, vlen);
            else
                sheaf__agg_merge(agg, acc, val, vlen);
            first = false;
        }
        if (ctx->text_output) {
            char txt[64];
            size_t n = sheaf__agg_format(agg, acc, txt, sizeof txt);
            return sheaf__output(ctx, v->gkey, v->gklen, txt, n);
        }
        return sheaf__output(ctx, v->gkey, v->gklen, acc, 8);
    }
    int rc = 0;
    while (!rc && sheaf_values_next(v, &val, &vlen)) {
        size_t klen;
        const void *key = sheaf_values_key(v, &klen);
        rc = sheaf__output(ctx, key, klen, val, vlen);
    }
    return rc;
}

int sheaf__reduce_all(sheaf_ctx *ctx, const char *tmpdir) {
    sheaf__src *src;
    int rc = sheaf__store_source(ctx, &src);
    ctx->phase_end[SHEAF__PH_SORT] = ctx->phase_start[SHEAF__PH_REDUCE] = sheaf__now();
    if (rc)
        return rc;
    outset *w = calloc(1, sizeof *w);
    if (!w) {
        src->close(src);
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i <= MAX_NAMED; i++) {
        w->w[i].fd = -1;
        w->w[i].fmt = ctx->output_format;
    }
    w->dir = tmpdir;
    ctx->out = (sheaf__writer *)w;
    ctx->where = SHEAF__IN_REDUCE;
    sheaf__buf gkey = {0};
    sheaf_values v = {0};
    v.kind = SHEAF__VALS_SOURCE;
    v.src = src;
    v.group = ctx->job->group ? ctx->job->group : ctx->job->compare;
    bool have = false;
    sheaf__kv cur;
    int r = src->next(src, &cur);
    if (r < 0)
        rc = sheaf__error(ctx, r, "cannot read spilled data in %s", ctx->store->dir);
    have = r > 0;
    for (uint32_t part = (uint32_t)ctx->rank; part < ctx->nparts && !rc;
         part += (uint32_t)ctx->nranks) {
        ctx->cur_part = part;
        if ((rc = outset_open(ctx, w, part)))
            break;
        while (have && cur.part == part && !rc) {
            gkey.len = 0;
            if (sheaf__buf_reserve(&gkey, cur.klen ? cur.klen : 1)) {
                rc = sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
                break;
            }
            memcpy(gkey.data, cur.key, cur.klen);
            v.gkey = gkey.data;
            v.gklen = cur.klen;
            v.part = part;
            v.cur = cur;
            v.first_pending = true;
            v.ended = false;
            v.have_next = false;
            v.err = 0;
            rc = reduce_group(ctx, &v);
            if (SHEAF__UNLIKELY((ctx->c[SHEAF__C_REDUCE_GROUPS] & 4095) == 0) && ctx->rank == 0)
                sheaf__progress_reduce(ctx, false);
            const void *val;
            size_t vlen;
            while (!rc && sheaf_values_next(&v, &val, &vlen))
                ;
            ctx->c[SHEAF__C_REDUCE_RECORDS] += v.nread;
            v.nread = 0;
            if (!rc && v.err < 0)
                rc = sheaf__error(ctx, v.err, "cannot read spilled data in %s",
                                  ctx->store->dir);
            have = v.have_next;
            cur = v.cur;
        }
        if (!rc && ctx->job->partition_end) {
            rc = ctx->job->partition_end(ctx, ctx->job->udata);
            if (rc && !ctx->err)
                sheaf__error(ctx, rc, "partition end failed (%s)", sheaf_strerror(rc));
            rc = rc ? rc : ctx->err;
        }
        int crc = outset_close(ctx, w);
        if (!rc)
            rc = crc;
        if (!rc && have && cur.part < part) {
            rc = sheaf__error(ctx, SHEAF_EIO, "received a record of partition %u out of order",
                              cur.part);
        }
    }
    if (!rc && have)
        rc = sheaf__error(ctx, SHEAF_EIO, "received a record of partition %u, not owned here",
                          cur.part);
    outset_close(ctx, w);
    outset_free(w);
    free(w);
    sheaf__buf_free(&gkey);
    src->close(src);
    ctx->out = NULL;
    ctx->where = 0;
    return rc;
}

void sheaf__values_init_chain(sheaf_values *v) {
    memset(v, 0, sizeof *v);
    v->kind = SHEAF__VALS_CHAIN;
}
