/*
 * out_csv.c: the csv output format: a `key,value` header, then one `key,value` line a record,
 * each field quoted as RFC 4180 says when it holds a comma, a quote, CR or LF (its quotes
 * doubled). Typed values are written as decimal text.
 */
#include "internal.h"

static int csv_open(sheaf_ctx *ctx, sheaf__writer *w) {
    uint8_t *p = sheaf__writer_room(ctx, w, 10);
    if (!p)
        return ctx->err;
    memcpy(p, "key,value\n", 10);
    w->buf.len += 10;
    return 0;
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

static int csv_put(sheaf_ctx *ctx, sheaf__writer *w, const void *key, size_t klen,
                   const void *val, size_t vlen) {
    uint8_t *p = sheaf__writer_room(ctx, w, 2 * (klen + vlen) + 8);
    if (!p)
        return ctx->err;
    uint8_t *start = p;
    p = csv_field(p, key, klen);
    *p++ = ',';
    p = csv_field(p, val, vlen);
    *p++ = '\n';
    w->buf.len += (size_t)(p - start);
    return 0;
}

const sheaf__outfmt sheaf__out_csv = {
    .name = "csv",
    .text_values = true,
    .open = csv_open,
    .put = csv_put,
};
