/*
 * out_csv.c: the csv output format: a `key,value` header, then one `key,value` line a record,
 * each field quoted as RFC 4180 says when it holds a comma, a quote, CR or LF (its quotes
 * doubled). Typed values are written as decimal text. A job that declared an output schema
 * (typed rows, sheaf_output_schema) gets a header of its column names instead, and each row,
 * which sheaf_row_emit made a csv line, is written as it is: one column per field.
 */
#include "internal.h"

static int csv_open(sheaf_ctx *ctx, sheaf__writer *w) {
    sheaf__buf hdr = {0};
    int rows = sheaf__pqjob_csv_header(ctx, &hdr);
    if (rows < 0) {
        sheaf__buf_free(&hdr);
        return sheaf__error(ctx, rows, "out of memory");
    }
    if (rows) {
        uint8_t *h = sheaf__writer_room(ctx, w, hdr.len);
        if (h) {
            memcpy(h, hdr.data, hdr.len);
            w->buf.len += hdr.len;
        }
        sheaf__buf_free(&hdr);
        return h ? 0 : ctx->err;
    }
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
    if (ctx->pq && sheaf__pqjob_csv_header(ctx, NULL) != 0) {
        /* a typed row: already a csv line */
        if (klen)
            memcpy(p, key, klen);
        p[klen] = '\n';
        w->buf.len += klen + 1;
        return 0;
    }
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
