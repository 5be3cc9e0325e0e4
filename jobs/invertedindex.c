/*
 * invertedindex.c: word -> where it occurs.
 *
 * Output: `word<TAB>file:offset,file:offset,...`, one line per distinct word, its postings
 * sorted by file (bytewise) and then by offset (numerically), each posting once. A posting
 * names a line by the byte offset of its first byte in the file, not by its line number: an
 * input split that starts in the middle of a file does not know how many lines came before
 * it, and byte offsets need no extra pass (`tail -c +$((offset + 1)) file | head -n 1` prints
 * the line). File names are the paths the runtime read (as given to -i, or found under a
 * directory given to -i).
 *
 * Words are split as word count splits them (runs of non-whitespace; --alnum: runs of ASCII
 * letters and digits; --lower folds case). The reducer holds one word's postings in memory to
 * sort them; a word in every line of a huge corpus needs memory in proportion.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

typedef struct ii_opts {
    bool lower, alnum;
    unsigned char sep[256];
    sj_buf word, post; /* scratch */
    sj_buf vals;       /* reduce: the postings of one word */
    size_t *offs;
    size_t noffs, capoffs;
} ii_opts;

static ii_opts iopts;

static int ii_parse(void *udata, const char *name, const char *value) {
    ii_opts *o = udata;
    (void)value;
    if (name && !strcmp(name, "lower"))
        o->lower = true;
    else if (name && !strcmp(name, "alnum"))
        o->alnum = true;
    else
        return -1;
    return 0;
}

static int ii_configure(void *udata, sheaf_config *cfg) {
    ii_opts *o = udata;
    (void)cfg;
    for (int c = 0; c < 256; c++) {
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
        o->sep[c] = o->alnum ? !alnum : space;
    }
    return 0;
}

static int ii_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    ii_opts *o = udata;
    o->post.len = 0;
    if (sj_buf_printf(&o->post, "%s:%llu", rec->file, (unsigned long long)rec->offset))
        return SHEAF_ENOMEM;
    const unsigned char *p = (const unsigned char *)rec->data, *end = p + rec->len;
    while (p < end) {
        while (p < end && o->sep[*p])
            p++;
        const unsigned char *w = p;
        while (p < end && !o->sep[*p])
            p++;
        if (p == w)
            continue;
        const void *key = w;
        size_t n = (size_t)(p - w);
        if (o->lower) {
            o->word.len = 0;
            if (sj_buf_add(&o->word, w, n))
                return SHEAF_ENOMEM;
            for (size_t i = 0; i < n; i++)
                if (o->word.p[i] >= 'A' && o->word.p[i] <= 'Z')
                    o->word.p[i] = (char)(o->word.p[i] + 32);
            key = o->word.p;
        }
        int rc = sheaf_emit(ctx, key, n, o->post.p, o->post.len);
        if (rc)
            return rc;
    }
    return 0;
}

static const char *ii_base; /* for the qsort comparator */

static int posting_cmp(const void *a, const void *b) {
    const char *x = ii_base + *(const size_t *)a, *y = ii_base + *(const size_t *)b;
    const char *cx = strrchr(x, ':'), *cy = strrchr(y, ':');
    size_t fx = (size_t)(cx - x), fy = (size_t)(cy - y);
    int c = memcmp(x, y, fx < fy ? fx : fy);
    if (c || fx != fy)
        return c ? c : (fx < fy ? -1 : 1);
    unsigned long long ox = strtoull(cx + 1, NULL, 10), oy = strtoull(cy + 1, NULL, 10);
    return ox < oy ? -1 : ox > oy;
}

static int ii_reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                     void *udata) {
    ii_opts *o = udata;
    o->vals.len = 0;
    o->noffs = 0;
    const void *v;
    size_t vlen;
    while (sheaf_values_next(vals, &v, &vlen)) {
        if (o->noffs == o->capoffs) {
            size_t cap = o->capoffs ? o->capoffs * 2 : 64;
            size_t *p = realloc(o->offs, cap * sizeof *p);
            if (!p)
                return SHEAF_ENOMEM;
            o->offs = p;
            o->capoffs = cap;
        }
        o->offs[o->noffs++] = o->vals.len;
        if (sj_buf_add(&o->vals, v, vlen) || sj_buf_addc(&o->vals, '\0'))
            return SHEAF_ENOMEM;
    }
    ii_base = o->vals.p;
    qsort(o->offs, o->noffs, sizeof *o->offs, posting_cmp);
    o->post.len = 0;
    for (size_t i = 0; i < o->noffs; i++) {
        const char *s = o->vals.p + o->offs[i];
        if (i && !strcmp(s, o->vals.p + o->offs[i - 1]))
            continue;
        if ((o->post.len && sj_buf_addc(&o->post, ',')) || sj_buf_add(&o->post, s, strlen(s)))
            return SHEAF_ENOMEM;
    }
    return sheaf_emit(ctx, key, klen, o->post.p, o->post.len);
}

static const sheaf_option ii_options[] = {
    {"lower", NULL, "fold ASCII letters to lower case"},
    {"alnum", NULL, "words are runs of ASCII letters and digits"},
    {NULL, NULL, NULL},
};

static const sheaf_job_def invertedindex_job = {
    .name = "invertedindex",
    .map = ii_map,
    .reduce = ii_reduce,
    .udata = &iopts,
};

const sheaf_command sheaf_cmd_invertedindex = {
    .name = "invertedindex",
    .summary = "word -> sorted list of file:offset (byte offset of each line it occurs in)",
    .options = ii_options,
    .parse_option = ii_parse,
    .configure = ii_configure,
    .udata = &iopts,
    .job = &invertedindex_job,
};
