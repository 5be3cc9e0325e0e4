/*
 * out_text.c: the text output format, `key<TAB>value<LF>`, or `key<LF>` for an empty value
 * (Hadoop's TextOutputFormat). Typed values are written as decimal text.
 */
#include "internal.h"

static int text_put(sheaf_ctx *ctx, sheaf__writer *w, const void *key, size_t klen,
                    const void *val, size_t vlen) {
    uint8_t *p = sheaf__writer_room(ctx, w, klen + vlen + 2);
    if (!p)
        return ctx->err;
    uint8_t *start = p;
    if (klen)
        memcpy(p, key, klen);
    p += klen;
    if (vlen) {
        *p++ = '\t';
        memcpy(p, val, vlen);
        p += vlen;
    }
    *p++ = '\n';
    w->buf.len += (size_t)(p - start);
    return 0;
}

const sheaf__outfmt sheaf__out_text = {
    .name = "text",
    .text_values = true,
    .put = text_put,
};
