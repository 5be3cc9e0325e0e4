/*
 * out_raw.c: the raw output format: each record's key bytes followed by its value bytes, with
 * nothing between records (TeraSort's 100-byte records come out as they went in). Typed values
 * are written as their 8 bytes, in host order.
 */
#include "internal.h"

static int raw_put(sheaf_ctx *ctx, sheaf__writer *w, const void *key, size_t klen,
                   const void *val, size_t vlen) {
    uint8_t *p = sheaf__writer_room(ctx, w, klen + vlen + 2);
    if (!p)
        return ctx->err;
    if (klen)
        memcpy(p, key, klen);
    if (vlen)
        memcpy(p + klen, val, vlen);
    w->buf.len += klen + vlen;
    return 0;
}

const sheaf__outfmt sheaf__out_raw = {
    .name = "raw",
    .text_values = false,
    .put = raw_put,
};
