/*
 * wordcount.c: word frequencies.
 *
 * A word is a maximal run of bytes that are not whitespace (space, tab, LF, CR, VT, FF), as in
 * Hadoop's WordCount; --alnum instead splits on every byte that is not an ASCII letter or
 * digit, and --lower folds ASCII letters to lower case. Counting uses the runtime's built-in
 * u64 sum, so every map-side emit is a combine-table update and only distinct words are
 * shuffled. The tokenizer classifies bytes through a 256-entry table: one load and one branch
 * per byte, no call into libc.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

typedef struct wc_opts {
    bool lower, alnum;
    unsigned char sep[256]; /* 1 for a byte that ends a word */
    unsigned char fold[256];
    unsigned char *buf;     /* per-rank scratch for folded words */
    size_t cap;
} wc_opts;

static wc_opts opts;

static int wc_parse(void *udata, const char *name, const char *value) {
    wc_opts *o = udata;
    if (!name)
        return -1;
    if (!strcmp(name, "lower"))
        o->lower = true;
    else if (!strcmp(name, "alnum"))
        o->alnum = true;
    else
        return -1;
    (void)value;
    return 0;
}

static int wc_configure(void *udata, sheaf_config *cfg) {
    wc_opts *o = udata;
    for (int c = 0; c < 256; c++) {
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
        o->sep[c] = o->alnum ? !alnum : space;
        o->fold[c] = (unsigned char)(o->lower && c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    (void)cfg;
    return 0;
}

static int emit_word(sheaf_ctx *ctx, const unsigned char *w, size_t n, wc_opts *o) {
    if (!o->lower)
        return sheaf_emit_u64(ctx, w, n, 1);
    if (n > o->cap) {
        unsigned char *b = realloc(o->buf, n);
        if (!b)
            return SHEAF_ENOMEM;
        o->buf = b;
        o->cap = n;
    }
    for (size_t i = 0; i < n; i++)
        o->buf[i] = o->fold[w[i]];
    return sheaf_emit_u64(ctx, o->buf, n, 1);
}

static int wc_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    wc_opts *o = udata;
    const unsigned char *p = (const unsigned char *)rec->data, *end = p + rec->len;
    const unsigned char *sep = o->sep;
    while (p < end) {
        while (p < end && sep[*p])
            p++;
        const unsigned char *w = p;
        while (p < end && !sep[*p])
            p++;
        if (p > w) {
            int rc = emit_word(ctx, w, (size_t)(p - w), o);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static const sheaf_option wc_options[] = {
    {"lower", NULL, "fold ASCII letters to lower case"},
    {"alnum", NULL, "split on every byte that is not an ASCII letter or digit"},
    {NULL, NULL, NULL},
};

const sheaf_job_def sheaf_job_wordcount = {
    .name = "wordcount",
    .summary = "count words (maximal runs of non-whitespace bytes); output: word TAB count",
    .map = wc_map,
    .agg = SHEAF_AGG_SUM_U64,
    .options = wc_options,
    .parse_option = wc_parse,
    .configure = wc_configure,
    .udata = &opts,
};
