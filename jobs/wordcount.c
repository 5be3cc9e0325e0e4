/*
 * wordcount.c: word frequencies.
 *
 * A word is a maximal run of bytes that are not whitespace (space, tab, LF, CR, VT, FF), as in
 * Hadoop's WordCount; --alnum instead splits on every byte that is not an ASCII letter or
 * digit, and --lower folds ASCII letters to lower case. Counting uses the runtime's built-in
 * u64 sum, so every map-side emit is a combine-table update and only distinct words are
 * shuffled.
 *
 * Tokenizers, the best the CPU has chosen at start (SHEAF_WC_TOKENIZER=scalar, sse2, avx2,
 * avx512 or vbmi2 forces one; the tests run each the CPU supports; all give the same words):
 *  - vbmi2, avx512 and avx2 classify 64 bytes into a bit mask of separators (one AVX-512BW
 *    compare pair; or sse2's four 16-byte compares, VEX-encoded), take the masks of word starts
 *    and ends from it, and write the bit positions out: vbmi2 with one byte compress (AVX-512
 *    VBMI2) and a widening store of 16 positions, the others eight at a time with BMI
 *    instructions; none branches per word. The i-th start pairs with the i-th end, and a batch
 *    of pairs becomes a batch of keys (scan_bits), eight at a time with AVX-512;
 *  - sse2 (any x86-64) builds the same mask from four 16-byte compares and walks starts and
 *    ends bit by bit (map_vector);
 *  - scalar looks each byte up in a 256-entry table (map_scalar).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define WC_X86_DISPATCH 1
#endif

#include "jobs.h"

/* Words found in one map call wait in a batch and go to the runtime BATCH at a time
 * (sheaf_emit_u64_keys); they point into the record, which outlives the call. */
#define BATCH 512

enum { TOK_SCALAR, TOK_SSE2, TOK_AVX2, TOK_AVX512, TOK_VBMI2 };
static const char *const tok_names[] = {"scalar", "sse2", "avx2", "avx512", "vbmi2"};

/* Word positions found by scan_bits and not yet emitted: the i-th start pairs with the i-th
 * end. Room for a batch, the 64 positions of one more block, and 32 written past them. */
#define POS_CAP (BATCH + 64 + 32)

typedef struct wc_opts {
    bool lower, alnum;
    int tokenizer;          /* TOK_* */
    unsigned char sep[256]; /* 1 for a byte that ends a word */
    unsigned char *buf;     /* --lower: the folded record */
    size_t cap;
    sheaf_key batch[POS_CAP]; /* words found and not yet emitted (BATCH but in scan_bits) */
    size_t nbatch;
    uint32_t spos[POS_CAP], epos[POS_CAP];
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
    int best = TOK_SCALAR;
#if defined(__SSE2__)
    best = TOK_SSE2;
#endif
#if defined(WC_X86_DISPATCH)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
        __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt"))
        best = TOK_AVX2;
    if (best == TOK_AVX2 && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw"))
        best = TOK_AVX512;
    if (best == TOK_AVX512 && __builtin_cpu_supports("avx512vbmi2"))
        best = TOK_VBMI2;
#endif
    o->tokenizer = best;
    const char *want = getenv("SHEAF_WC_TOKENIZER");
    if (want && *want) {
        int t = 0;
        while (t <= TOK_VBMI2 && strcmp(want, tok_names[t]) != 0)
            t++;
        if (t > TOK_VBMI2 || t > best) {
            int rank = 0;
            MPI_Comm_rank(MPI_COMM_WORLD, &rank);
            if (rank == 0)
                fprintf(stderr,
                        "sheaf wordcount: SHEAF_WC_TOKENIZER=%s: %s (this build and CPU offer: "
                        "scalar up to %s)\n",
                        want, t > TOK_VBMI2 ? "no such tokenizer" : "not supported here",
                        tok_names[best]);
            return -1;
        }
        o->tokenizer = t;
    }
    for (int c = 0; c < 256; c++) {
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
        o->sep[c] = o->alnum ? !alnum : space;
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
    o->batch[o->nbatch].data = w;
    o->batch[o->nbatch].len = n;
    return ++o->nbatch == BATCH ? flush_words(ctx, o) : 0;
}

/* --lower: the record folded to lower case into the rank's scratch buffer, with zeroed padding
 * after it as the tokenizers expect, so words are found and emitted in batches as without
 * --lower (the batch is emitted before map returns, while the buffer still holds them); the
 * runtime is told of the padding (sheaf_padded_buffer), so the words load as fast as from the
 * record. NULL when out of memory. */
static const unsigned char *fold_record(wc_opts *o, const unsigned char *p, size_t len) {
    if (len + SHEAF_RECORD_PADDING > o->cap) {
        unsigned char *b = realloc(o->buf, len + SHEAF_RECORD_PADDING);
        if (!b)
            return NULL;
        o->buf = b;
        o->cap = len + SHEAF_RECORD_PADDING;
    }
    for (size_t i = 0; i < len; i++) /* branch-free, so the compiler can vectorize it */
        o->buf[i] = (unsigned char)(p[i] + ((unsigned char)(p[i] - 'A') < 26) * 32);
    memset(o->buf + len, 0, SHEAF_RECORD_PADDING);
    return o->buf;
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

/* The separator mask of 64 bytes, from four 16-byte compares. */
static inline uint64_t sep64_sse2(const unsigned char *p, bool alnum) {
    return (uint64_t)sep16(p, alnum) | (uint64_t)sep16(p + 16, alnum) << 16 |
           (uint64_t)sep16(p + 32, alnum) << 32 | (uint64_t)sep16(p + 48, alnum) << 48;
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
        uint64_t m = sep64_sse2(p, alnum);
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

#if defined(WC_X86_DISPATCH)
/* Writes base + the index of each set bit of bits to out and returns how many there are.
 * Eight positions are written whatever the count, so the usual block costs no branch per
 * word; tzcnt of an emptied mask is 64, written but not counted. out has room for 8 more
 * than the count. */
static inline __attribute__((always_inline, target("bmi,bmi2,popcnt"))) size_t
put_bits(uint32_t *out, uint64_t bits, uint32_t base) {
    size_t n = (size_t)__builtin_popcountll(bits);
    for (int k = 0; k < 8; k++) {
        out[k] = base + (uint32_t)_tzcnt_u64(bits);
        bits = _blsr_u64(bits);
    }
    for (size_t k = 8; k < n; k++) {
        out[k] = base + (uint32_t)_tzcnt_u64(bits);
        bits = _blsr_u64(bits);
    }
    return n;
}

/* put_bits with AVX-512 VBMI2: one compress packs the indexes of the set bits into bytes, and
 * the first 16 are widened and written at once (the next 16 when there are more: at most 32 of
 * a block's bits are starts, or ends). 16 positions are written whatever the count, so out
 * has room for 32 more than the count before the call. */
static const uint8_t block_index[64] __attribute__((aligned(64))) = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
    22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43,
    44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63};

static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vbmi2,popcnt")))
size_t put_bits_vbmi2(uint32_t *out, uint64_t bits, uint32_t base) {
    size_t n = (size_t)__builtin_popcountll(bits);
    __m512i at = _mm512_maskz_compress_epi8(bits, _mm512_load_si512((const void *)block_index));
    __m512i b = _mm512_set1_epi32((int)base);
    _mm512_storeu_si512((void *)out,
                        _mm512_add_epi32(_mm512_cvtepu8_epi32(_mm512_castsi512_si128(at)), b));
    if (n > 16)
        _mm512_storeu_si512((void *)(out + 16),
                            _mm512_add_epi32(_mm512_cvtepu8_epi32(
                                                 _mm512_extracti32x4_epi32(at, 1)),
                                             b));
    return n;
}

/* Keys from..n-1 of the batch, from the words whose starts and ends are in o->spos and
 * o->epos. */
static void pairs_to_keys(const unsigned char *data, wc_opts *o, size_t from, size_t n) {
    for (size_t i = from; i < n; i++) {
        o->batch[i].data = data + o->spos[i];
        o->batch[i].len = o->epos[i] - o->spos[i];
    }
}

/* Emits the n words whose starts and ends are in o->spos and o->epos. */
static int emit_pairs(sheaf_ctx *ctx, const unsigned char *data, size_t n, wc_opts *o) {
    pairs_to_keys(data, o, 0, n);
    return sheaf_emit_u64_keys(ctx, o->batch, n, 1);
}

/* emit_pairs with AVX-512: eight words at a time, their starts and ends widened to 64 bits,
 * then interleaved into eight (pointer, length) keys. */
__attribute__((target("avx512f"))) static int emit_pairs_avx512(sheaf_ctx *ctx,
                                                              const unsigned char *data,
                                                              size_t n, wc_opts *o) {
    const __m512i lo = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
    const __m512i hi = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
    const __m512i base = _mm512_set1_epi64((long long)(uintptr_t)data);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512i s = _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)(o->spos + i)));
        __m512i e = _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)(o->epos + i)));
        __m512i ptr = _mm512_add_epi64(base, s), len = _mm512_sub_epi64(e, s);
        _mm512_storeu_si512((void *)&o->batch[i], _mm512_permutex2var_epi64(ptr, lo, len));
        _mm512_storeu_si512((void *)&o->batch[i + 4], _mm512_permutex2var_epi64(ptr, hi, len));
    }
    pairs_to_keys(data, o, i, n);
    return sheaf_emit_u64_keys(ctx, o->batch, n, 1);
}

/* The bit-position tokenizer. sep64 gives the separator mask of 64 bytes (the record's
 * padding makes the loads past its end legal; bytes past the end count as separators). A
 * start is a word byte after a separator, an end a separator after a word byte; carry is
 * whether the byte before the block is a separator. Starts and ends alternate, so at most one
 * start waits for its end when a batch goes out. Positions are 32-bit: wc_map sends a record
 * of 2 GiB or more (one huge line) to map_vector instead. */
typedef int emit_pairs_fn(sheaf_ctx *, const unsigned char *, size_t, wc_opts *);

static inline __attribute__((always_inline, target("avx2,bmi,bmi2,popcnt"))) int
scan_bits(sheaf_ctx *ctx, const unsigned char *data, size_t len, wc_opts *o,
          uint64_t (*sep64)(const unsigned char *, bool),
          size_t (*put)(uint32_t *, uint64_t, uint32_t), emit_pairs_fn *emit) {
    bool alnum = o->alnum;
    uint64_t carry = 1;
    size_t ns = 0, ne = 0;
    for (size_t base = 0; base < len; base += 64) {
        uint64_t m = sep64(data + base, alnum);
        if (len - base < 64)
            m |= ~(uint64_t)0 << (len - base);
        uint64_t prev = m << 1 | carry;
        carry = m >> 63;
        ns += put(o->spos + ns, ~m & prev, (uint32_t)base);
        ne += put(o->epos + ne, m & ~prev, (uint32_t)base);
        if (ne >= BATCH) {
            int rc = emit(ctx, data, ne, o);
            if (rc)
                return rc;
            o->spos[0] = o->spos[ne]; /* a word still open, if ns > ne */
            ns -= ne;
            ne = 0;
        }
    }
    if (ns > ne) /* the last word runs to the end of a record of whole blocks */
        o->epos[ne++] = (uint32_t)len;
    return ne ? emit(ctx, data, ne, o) : 0;
}

static inline __attribute__((always_inline, target("avx512f,avx512bw"))) uint64_t
sep64_avx512(const unsigned char *p, bool alnum) {
    __m512i v = _mm512_loadu_si512((const void *)p);
    if (!alnum)
        return _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(' ')) |
               _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8(9)),
                                      _mm512_set1_epi8(4));
    __mmask64 digit = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8('0')),
                                             _mm512_set1_epi8(9));
    __m512i low = _mm512_or_si512(v, _mm512_set1_epi8(0x20));
    __mmask64 letter = _mm512_cmple_epu8_mask(_mm512_sub_epi8(low, _mm512_set1_epi8('a')),
                                              _mm512_set1_epi8(25));
    return ~(digit | letter);
}

__attribute__((target("avx2,bmi,bmi2,popcnt"))) static int
map_avx2(sheaf_ctx *ctx, const unsigned char *data, size_t len, wc_opts *o) {
    return scan_bits(ctx, data, len, o, sep64_sse2, put_bits, emit_pairs);
}

__attribute__((target("avx512f,avx512bw,avx2,bmi,bmi2,popcnt"))) static int
map_avx512(sheaf_ctx *ctx, const unsigned char *data, size_t len, wc_opts *o) {
    return scan_bits(ctx, data, len, o, sep64_avx512, put_bits, emit_pairs_avx512);
}

__attribute__((target("avx512f,avx512bw,avx512vbmi2,avx2,bmi,bmi2,popcnt"))) static int
map_vbmi2(sheaf_ctx *ctx, const unsigned char *data, size_t len, wc_opts *o) {
    return scan_bits(ctx, data, len, o, sep64_avx512, put_bits_vbmi2, emit_pairs_avx512);
}
#endif

static int wc_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    wc_opts *o = udata;
    const unsigned char *p = (const unsigned char *)rec->data;
    if (o->lower) {
        if (!(p = fold_record(o, p, rec->len)))
            return SHEAF_ENOMEM;
        sheaf_padded_buffer(ctx, p, rec->len);
    }
    int rc;
    int tok = o->tokenizer;
    if (tok > TOK_SSE2 && rec->len >= ((size_t)1 << 31))
        tok = TOK_SSE2; /* scan_bits keeps 32-bit positions */
    switch (tok) {
#if defined(WC_X86_DISPATCH)
    case TOK_VBMI2:
        rc = map_vbmi2(ctx, p, rec->len, o);
        break;
    case TOK_AVX512:
        rc = map_avx512(ctx, p, rec->len, o);
        break;
    case TOK_AVX2:
        rc = map_avx2(ctx, p, rec->len, o);
        break;
#endif
#if defined(__SSE2__)
    case TOK_SSE2:
        rc = map_vector(ctx, p, rec->len, o);
        break;
#endif
    default:
        rc = map_scalar(ctx, p, p + rec->len, o);
        break;
    }
    int frc = flush_words(ctx, o);
    return rc ? rc : frc;
}

static const sheaf_option wc_options[] = {
    {"lower", NULL, "fold ASCII letters to lower case"},
    {"alnum", NULL, "split on every byte that is not an ASCII letter or digit"},
    {NULL, NULL, NULL},
};

static const sheaf_job_def wordcount_job = {
    .name = "wordcount",
    .map = wc_map,
    .map_blocks = 1, /* a line end is one more separator: take whole runs of lines */
    .agg = SHEAF_AGG_SUM_U64,
    .udata = &opts,
};

const sheaf_command sheaf_cmd_wordcount = {
    .name = "wordcount",
    .summary = "count words (maximal runs of non-whitespace bytes); output: word TAB count",
    .options = wc_options,
    .parse_option = wc_parse,
    .configure = wc_configure,
    .udata = &opts,
    .job = &wordcount_job,
};
