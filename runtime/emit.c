/*
 * emit.c: the emit API (sheaf_emit and its typed and batched forms, sheaf_emit_named,
 * sheaf_padded_buffer, sheaf_hash).
 *
 * An emit goes to the context's current sink (internal.h), which the phase running the
 * callback has set: the map side's combine table or send buffers, a combiner's output, the
 * sampler, or a reducer's output writers. sheaf_emit does not ask which phase it is in; it
 * calls the sink. One case is not a call: a map-side emit into the combine table (word count's
 * every word) is the hot path, so a sink that carries a combine table (sink->ctab) is added to
 * inline here, through ctab.h, without a call through the sink's table of functions; the
 * table's own emit function does the same out of line.
 */
#include "internal.h"

/* The header-only build of XXH3: short keys hash inline, without a call into the library. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "ctab.h"

static int none_emit(sheaf__sink *s, sheaf_ctx *ctx, const void *key, size_t klen,
                     const void *val, size_t vlen) {
    return sheaf__error(ctx, SHEAF_EINVAL,
                        "sheaf_emit called outside map, combine, reduce and their hooks");
}

static const sheaf__sink_ops none_ops = {.emit = none_emit};
sheaf__sink sheaf__sink_none = {.ops = &none_ops};

/* Adds one emit to the combine table (a key inside the current record is padded: 16 bytes can
 * be loaded at it), and drains the table into the shuffle when it is full. */
static inline __attribute__((always_inline)) int table_add(sheaf_ctx *ctx, sheaf__ctab *t,
                                                           const void *key, size_t klen,
                                                           const void *val, size_t vlen) {
    bool padded = sheaf__ctab_padded(key, ctx->rec_lo, ctx->rec_hi);
    int rc = sheaf__ctab_add(t, key, klen, padded, val, vlen);
    if (SHEAF__LIKELY(rc == 0))
        return 0;
    if (rc < 0)
        return sheaf__error(ctx, rc, "out of memory in the combine table");
    return sheaf__flush_ctab(ctx);
}

/* The hot path, inlined into every emit function: a map-side emit into the combine table;
 * anything else through the sink. */
static inline __attribute__((always_inline)) int emit_fast(sheaf_ctx *ctx, const void *key,
                                                           size_t klen, const void *val,
                                                           size_t vlen) {
    sheaf__sink *s = ctx->sink;
    if (SHEAF__LIKELY(s->ctab && !ctx->err)) {
        ctx->c[SHEAF__C_MAP_OUT_RECORDS]++;
        ctx->c[SHEAF__C_MAP_OUT_BYTES] += klen + vlen;
        return table_add(ctx, s->ctab, key, klen, val, vlen);
    }
    if (SHEAF__UNLIKELY(ctx->err))
        return ctx->err;
    return s->ops->emit(s, ctx, key, klen, val, vlen);
}

/* The combine table sink's own emit (shuffle.c's ops), for callers that go through ops. */
int sheaf__emit_table(sheaf__sink *s, sheaf_ctx *ctx, const void *key, size_t klen,
                      const void *val, size_t vlen) {
    ctx->c[SHEAF__C_MAP_OUT_RECORDS]++;
    ctx->c[SHEAF__C_MAP_OUT_BYTES] += klen + vlen;
    return table_add(ctx, s->ctab, key, klen, val, vlen);
}

SHEAF_EXTERN int sheaf_emit(sheaf_ctx *ctx, const void *key, size_t klen, const void *val,
                            size_t vlen) {
    return emit_fast(ctx, key, klen, val, vlen);
}

/* Where the sink writes text (a reducer's text or csv output), typed values are written as
 * decimal text. */
static inline int emit_typed(sheaf_ctx *ctx, const void *key, size_t klen, const void *v8,
                             sheaf_agg kind) {
    if (SHEAF__UNLIKELY(ctx->sink->flags & SHEAF__SINK_TEXT)) {
        if (ctx->err)
            return ctx->err;
        char txt[64];
        size_t n = sheaf__agg_format(kind, v8, txt, sizeof txt);
        return ctx->sink->ops->emit(ctx->sink, ctx, key, klen, txt, n);
    }
    return emit_fast(ctx, key, klen, v8, 8);
}

SHEAF_EXTERN uint64_t sheaf_hash(const void *key, size_t klen, uint64_t seed) {
    return XXH3_64bits_withSeed(key, klen, seed);
}

SHEAF_EXTERN int sheaf_emit_u64(sheaf_ctx *ctx, const void *key, size_t klen, uint64_t v) {
    return emit_typed(ctx, key, klen, &v, SHEAF_AGG_SUM_U64);
}

SHEAF_EXTERN int sheaf_emit_u64_keys(sheaf_ctx *ctx, const sheaf_key *keys, size_t n,
                                     uint64_t v) {
    sheaf__sink *s = ctx->sink;
    if (!s->ctab || ctx->err) {
        for (size_t i = 0; i < n; i++) {
            int rc = sheaf_emit_u64(ctx, keys[i].data, keys[i].len, v);
            if (rc)
                return rc;
        }
        return 0;
    }
    /* emit_fast's checks and counters, once for the batch */
    size_t i = 0;
    uint64_t bytes = 0;
    int rc = 0;
    while (i < n && !rc) {
        size_t done;
        uint64_t kb;
        rc = sheaf__ctab_add_keys(s->ctab, keys + i, n - i, v, ctx->rec_lo, ctx->rec_hi, &done,
                                  &kb);
        i += done;
        bytes += kb;
        if (rc < 0)
            rc = sheaf__error(ctx, rc, "out of memory in the combine table");
        else if (rc > 0)
            rc = sheaf__flush_ctab(ctx);
    }
    ctx->c[SHEAF__C_MAP_OUT_RECORDS] += i;
    ctx->c[SHEAF__C_MAP_OUT_BYTES] += bytes + 8 * i;
    return rc;
}

SHEAF_EXTERN int sheaf_padded_buffer(sheaf_ctx *ctx, const void *buf, size_t len) {
    if (!ctx || !(ctx->sink->flags & SHEAF__SINK_MAP) || !ctx->rec_hi || !buf)
        return SHEAF_EINVAL; /* rec_hi is set only while map runs (not in setup) */
    ctx->rec_lo = (uintptr_t)buf;
    ctx->rec_hi = ctx->rec_lo + len + SHEAF_RECORD_PADDING;
    return 0;
}

SHEAF_EXTERN int sheaf_emit_i64(sheaf_ctx *ctx, const void *key, size_t klen, int64_t v) {
    return emit_typed(ctx, key, klen, &v, SHEAF_AGG_SUM_I64);
}

SHEAF_EXTERN int sheaf_emit_double(sheaf_ctx *ctx, const void *key, size_t klen, double v) {
    return emit_typed(ctx, key, klen, &v, SHEAF_AGG_SUM_DOUBLE);
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
    sheaf__sink *s = ctx->sink;
    if (!s->ops->emit_named)
        return sheaf__error(ctx, SHEAF_EINVAL, "sheaf_emit_named is for reduce calls");
    if (!valid_name(name))
        return sheaf__error(ctx, SHEAF_EINVAL,
                            "named output '%s': use 1 to 48 of A-Z a-z 0-9 _ - (not \"part\")",
                            name);
    return s->ops->emit_named(s, ctx, name, key, klen, val, vlen);
}
