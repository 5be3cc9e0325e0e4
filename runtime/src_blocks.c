/*
 * src_blocks.c: blocks of lines, the lines source's mode for jobs that set map_blocks: map is
 * handed the run of whole lines that start inside the split and end inside the reader's
 * buffer (at most BLOCK_MAX bytes), as one record, instead of one call per line. The lines
 * are counted (LF bytes, and CRs before them) by the widest loop the CPU has, chosen at run
 * time: AVX-512BW, AVX2, SSE2 or plain C.
 */
#include "internal.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

/* Blocks mode hands out at most this much at a time, so that the line count here and the
 * job's own pass over the block find it in the core's cache. */
#define BLOCK_MAX ((size_t)256 << 10)

#if defined(__x86_64__) && defined(__GNUC__)
/* count_line_ends' loop on 32-byte steps, where the CPU has AVX2 (chosen at run time): the
 * same per-byte counters, half the instructions. Counts whole steps from the start; *done is
 * where it stopped. */
__attribute__((target("avx2"))) static void count_line_ends_avx2(const uint8_t *p, size_t n,
                                                                  uint64_t *lf, uint64_t *crlf,
                                                                  size_t *done) {
    uint64_t a = 0, b = 0;
    size_t i = 0;
    const __m256i nl = _mm256_set1_epi8('\n'), cr = _mm256_set1_epi8('\r'),
                  zero = _mm256_setzero_si256();
    while (i + 33 <= n) {
        __m256i acc_lf = zero, acc_crlf = zero;
        for (int step = 0; step < 255 && i + 33 <= n; step++, i += 32) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
            __m256i next = _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 1));
            acc_lf = _mm256_sub_epi8(acc_lf, _mm256_cmpeq_epi8(v, nl));
            acc_crlf = _mm256_sub_epi8(acc_crlf, _mm256_and_si256(_mm256_cmpeq_epi8(v, cr),
                                                                  _mm256_cmpeq_epi8(next, nl)));
        }
        uint64_t s[4];
        _mm256_storeu_si256((__m256i *)(void *)s, _mm256_sad_epu8(acc_lf, zero));
        a += s[0] + s[1] + s[2] + s[3];
        _mm256_storeu_si256((__m256i *)(void *)s, _mm256_sad_epu8(acc_crlf, zero));
        b += s[0] + s[1] + s[2] + s[3];
    }
    *lf = a;
    *crlf = b;
    *done = i;
}

/* count_line_ends' loop on 64-byte steps, where the CPU has AVX-512BW: a compare gives a bit
 * mask of LF bytes, and one of CR bytes followed by LF (from a load one byte on); popcount
 * adds them up. A third of the AVX2 loop's time. */
__attribute__((target("avx512f,avx512bw,popcnt"))) static void
count_line_ends_avx512(const uint8_t *p, size_t n, uint64_t *lf, uint64_t *crlf, size_t *done) {
    uint64_t a = 0, b = 0;
    size_t i = 0;
    const __m512i nl = _mm512_set1_epi8('\n'), cr = _mm512_set1_epi8('\r');
    for (; i + 65 <= n; i += 64) {
        __m512i v = _mm512_loadu_si512((const void *)(p + i));
        __m512i next = _mm512_loadu_si512((const void *)(p + i + 1));
        a += (uint64_t)__builtin_popcountll(_mm512_cmpeq_epi8_mask(v, nl));
        b += (uint64_t)__builtin_popcountll(_mm512_cmpeq_epi8_mask(v, cr) &
                                            _mm512_cmpeq_epi8_mask(next, nl));
    }
    *lf = a;
    *crlf = b;
    *done = i;
}
#endif

/* The widest count_line_ends loop the CPU has: 0 plain C, 1 SSE2, 2 AVX2, 3 AVX-512BW. */
static int line_count_level = -1;

static int best_line_count_level(void) {
    int level = 0;
#if defined(__SSE2__)
    level = 1;
#endif
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        level = 2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("popcnt"))
        level = 3;
#endif
    return level;
}

int sheaf__reader_set_line_count(int level) {
    int best = best_line_count_level();
    line_count_level = level < 0 || level > best ? best : level;
    return line_count_level;
}

#if defined(__SSE2__)
/* count_line_ends' loop on 16-byte steps, from *done on: each step subtracts the compare masks
 * (-1 per match) from per-byte counters, which are summed (psadbw) every 255 steps, before any
 * can overflow: no popcount, which baseline x86-64 lacks. */
static void count_line_ends_sse2(const uint8_t *p, size_t n, uint64_t *lf, uint64_t *crlf,
                                 size_t *done) {
    uint64_t a = 0, b = 0;
    size_t i = *done;
    const __m128i nl = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'), zero = _mm_setzero_si128();
    while (i + 17 <= n) {
        __m128i acc_lf = zero, acc_crlf = zero;
        for (int step = 0; step < 255 && i + 17 <= n; step++, i += 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
            __m128i next = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 1));
            acc_lf = _mm_sub_epi8(acc_lf, _mm_cmpeq_epi8(v, nl));
            acc_crlf = _mm_sub_epi8(acc_crlf, _mm_and_si128(_mm_cmpeq_epi8(v, cr),
                                                           _mm_cmpeq_epi8(next, nl)));
        }
        __m128i s1 = _mm_sad_epu8(acc_lf, zero), s2 = _mm_sad_epu8(acc_crlf, zero);
        a += (uint64_t)_mm_cvtsi128_si64(s1) +
             (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(s1, s1));
        b += (uint64_t)_mm_cvtsi128_si64(s2) +
             (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(s2, s2));
    }
    *lf += a;
    *crlf += b;
    *done = i;
}
#endif

/* Counts the LF bytes of p[0..n) and the CR bytes just before one: the widest loop the CPU has
 * (line_count_level) does the bulk, the SSE2 one what is left of 16 bytes or more, and plain C
 * the last bytes. */
static void count_line_ends(const uint8_t *p, size_t n, uint64_t *lf, uint64_t *crlf) {
    uint64_t a = 0, b = 0;
    size_t i = 0;
    if (line_count_level < 0)
        line_count_level = best_line_count_level();
#if defined(__x86_64__) && defined(__GNUC__)
    if (line_count_level == 3)
        count_line_ends_avx512(p, n, &a, &b, &i);
    else if (line_count_level == 2)
        count_line_ends_avx2(p, n, &a, &b, &i);
#endif
#if defined(__SSE2__)
    if (line_count_level >= 1)
        count_line_ends_sse2(p, n, &a, &b, &i);
#endif
    for (; i < n; i++) {
        a += p[i] == '\n';
        b += p[i] == '\r' && i + 1 < n && p[i + 1] == '\n';
    }
    *lf = a;
    *crlf = b;
}

/* Blocks mode: the whole lines at off that start inside the split and end inside the buffer,
 * as one record (with their LF bytes, and CRs). False when there is none: the caller reads
 * one line, which may need more of the file or lie past the split's end. */
bool sheaf__reader_block(sheaf__reader *r, sheaf_record *rec) {
    size_t lim = r->len;
    if (r->end - r->base < lim)
        lim = (size_t)(r->end - r->base); /* lines must start before the split's end */
    if (lim > r->off + BLOCK_MAX)
        lim = r->off + BLOCK_MAX;
    if (lim <= r->off)
        return false;
    const uint8_t *nl = memrchr(r->buf + r->off, '\n', lim - r->off);
    if (!nl)
        return false;
    size_t stop = (size_t)(nl - r->buf) + 1;
    rec->data = (const char *)r->buf + r->off;
    rec->len = stop - r->off;
    rec->offset = r->base + r->off;
    uint64_t crlf;
    count_line_ends(r->buf + r->off, rec->len, &r->nrec, &crlf);
    r->delims = r->nrec + crlf; /* a line's bytes exclude its LF and a CR before it */
    r->lineno += r->nrec - 1;
    r->off = stop;
    return true;
}

