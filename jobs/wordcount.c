/*
 * wordcount.c: word frequencies.
 *
 * A word is a maximal run of bytes that are not whitespace (space, tab, LF, CR, VT, FF), as in
 * Hadoop's WordCount; --alnum instead splits on every byte that is not an ASCII letter or
 * digit, and --lower folds ASCII letters to lower case. Counting uses the runtime's built-in
 * u64 sum, so every map-side emit is a combine-table update and only distinct words are
 * shuffled. On x86-64 the tokenizer classifies 64 bytes at a time with SSE2 compares and reads
 * word boundaries off the resulting bit mask (map_vector); elsewhere, or with SHEAF_WC_SCALAR=1
 * in the environment, it looks each byte up in a 256-entry table (map_scalar). Both give the
 * same words; the tests run both.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "jobs.h"

/* Words found in one map call wait in a batch and go to the runtime BATCH at a time
 * (sheaf_emit_u64_keys); they point into the record, which outlives the call. */
#define BATCH 256

typedef struct wc_opts {
    bool lower, alnum;
    bool scalar; /* SHEAF_WC_SCALAR set: the byte-at-a-time tokenizer (tests compare both) */
    unsigned char sep[256]; /* 1 for a byte that ends a word */
    unsigned char fold[256];
    unsigned char *buf;     /* per-rank scratch for folded words */
    size_t cap;
    sheaf_key batch[BATCH]; /* words found and not yet emitted */
    size_t nbatch;
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
    const char *scalar = getenv("SHEAF_WC_SCALAR");
    o->scalar = scalar && *scalar && strcmp(scalar, "0") != 0;
    for (int c = 0; c < 256; c++) {
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
        o->sep[c] = o->alnum ? !alnum : space;
        o->fold[c] = (unsigned char)(o->lower && c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    (void)cfg;
    return 0;
}

static int flush_words(sheaf_ctx *ctx, wc_opts *o) {
    int rc = o->nbatch ? sheaf_emit_u64_keys(ctx, o->batch, o->nbatch, 1) : 0;
    o->nbatch = 0;
    return rc;
}

static inline int emit_word(sheaf_ctx *ctx, const unsigned char *w, size_t n, wc_opts *o) {
    if (!o->lower) {
        o->batch[o->nbatch].data = w;
        o->batch[o->nbatch].len = n;
        return ++o->nbatch == BATCH ? flush_words(ctx, o) : 0;
    }
    /* folded words share one scratch buffer: each is emitted at once */
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

/* The scalar tokenizer: one table lookup and branch per byte. */
static int map_scalar(sheaf_ctx *ctx, const unsigned char *p, const unsigned char *end,
                      wc_opts *o) {
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

#if defined(__SSE2__)
/* The separator bytes of 16 bytes as a 16-bit mask. Whitespace is ' ' or 9..13 (TAB, LF, VT,
 * FF, CR); with --alnum, every byte outside 0-9, A-Z, a-z. An unsigned x <= n is
 * min(x, n) == x, as SSE2 has no unsigned byte compare. */
static inline unsigned sep16(const unsigned char *p, bool alnum) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i s;
    if (!alnum) {
        __m128i t = _mm_sub_epi8(v, _mm_set1_epi8(9));
        s = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')),
                         _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(4)), t));
    } else {
        __m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
        __m128i l = _mm_sub_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
        __m128i word = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d),
                                    _mm_cmpeq_epi8(_mm_min_epu8(l, _mm_set1_epi8(25)), l));
        s = _mm_xor_si128(word, _mm_set1_epi8(-1));
    }
    return (unsigned)_mm_movemask_epi8(s);
}

/* The vector tokenizer: 64 bytes at a time become a mask of separator bytes, from which the
 * starts (a word byte after a separator) and ends (a separator after a word byte) of words
 * are read off with count-trailing-zeros. Starts and ends alternate, so the i-th start of a
 * block pairs with the i-th end not taken by a word carried in from the block before. The
 * record's padding (SHEAF_RECORD_PADDING) makes the loads past its end legal; those bytes
 * count as separators. */
static int map_vector(sheaf_ctx *ctx, const unsigned char *data, size_t len, wc_opts *o) {
    bool alnum = o->alnum, inword = false;
    size_t wstart = 0;
    for (size_t base = 0; base < len; base += 64) {
        const unsigned char *p = data + base;
        uint64_t m = (uint64_t)sep16(p, alnum) | (uint64_t)sep16(p + 16, alnum) << 16 |
                     (uint64_t)sep16(p + 32, alnum) << 32 | (uint64_t)sep16(p + 48, alnum) << 48;
        if (len - base < 64)
            m |= ~(uint64_t)0 << (len - base);
        uint64_t prev = m << 1 | (uint64_t)!inword; /* bit i: byte i-1 is a separator */
        uint64_t starts = ~m & prev, ends = m & ~prev;
        if (inword && ends) {
            int rc = emit_word(ctx, data + wstart, base + (size_t)__builtin_ctzll(ends) - wstart,
                               o);
            if (rc)
                return rc;
            ends &= ends - 1;
            inword = false;
        }
        while (starts) {
            size_t s = base + (size_t)__builtin_ctzll(starts);
            starts &= starts - 1;
            if (!ends) { /* the word goes on into the next block */
                wstart = s;
                inword = true;
                break;
            }
            int rc = emit_word(ctx, data + s, base + (size_t)__builtin_ctzll(ends) - s, o);
            if (rc)
                return rc;
            ends &= ends - 1;
        }
    }
    return inword ? emit_word(ctx, data + wstart, len - wstart, o) : 0;
}
#endif

static int wc_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    wc_opts *o = udata;
    const unsigned char *p = (const unsigned char *)rec->data;
    int rc;
#if defined(__SSE2__)
    if (!o->scalar)
        rc = map_vector(ctx, p, rec->len, o);
    else
#endif
        rc = map_scalar(ctx, p, p + rec->len, o);
    int frc = flush_words(ctx, o);
    return rc ? rc : frc;
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
    .map_blocks = 1, /* a line end is one more separator: take whole runs of lines */
    .agg = SHEAF_AGG_SUM_U64,
    .options = wc_options,
    .parse_option = wc_parse,
    .configure = wc_configure,
    .udata = &opts,
};
