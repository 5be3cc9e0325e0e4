/*
 * reader.c: turns a split (a byte range of one file) into records.
 *
 * Record ownership follows one rule, so every record is read exactly once whatever the split
 * size: a record belongs to the split that holds its first byte. A split that does not start
 * at offset 0 therefore looks at the byte before its start; unless that byte is the record
 * delimiter, the split skips to just past the next delimiter. A reader keeps reading past the
 * end of its split to finish its last record. Lines end at the delimiter (LF by default); with
 * LF, a CR before it is dropped; a last record without a delimiter is a record. Fixed-length
 * records start at multiples of N, which the planner makes every split start on.
 *
 * csv (RFC 4180): fields separated by the delimiter byte, optionally quoted, "" inside quotes
 * for a quote. Quoted fields may hold newlines, so a csv file is read whole by one reader
 * unless the user says records hold no newlines (csv_no_newlines), in which case csv splits
 * like lines. With a header, each reader reads the file's first record for the column names
 * and the split at offset 0 does not hand it to map. Malformed records (an unterminated quote,
 * text after a closing quote, a field count that differs from the header's) come back as
 * SHEAF_EFORMAT with the reader already past them. tsv: the text before the first tab is the
 * key (field 0), the rest the value (field 1), as in Hadoop Streaming.
 *
 * A split of a plan is opened with sheaf__reader_open_split, which checks with one fstat that
 * the file is still the regular file of the size and modification time planned, and has the
 * reader check that the file ends where planned when it reads to its end: a file truncated,
 * extended or rewritten under the job fails it, naming the file and offset, instead of giving
 * a partial answer. A file planned as unsized (a /proc file) is read to its end.
 *
 * The reader reads into one buffer (kept from split to split), 256 KiB per read() so the bytes
 * are still in cache when they are used, and finds record ends with memchr: one scan per
 * record and no system call. The buffer has SHEAF_RECORD_PADDING bytes beyond its capacity,
 * zeroed past the data read, so every record handed out can be read in whole vectors
 * (sheaf.h).
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

/* The read buffer's first size: two huge pages (sheaf__huge_alloc), so read() copies into it
 * and the map reads it with few TLB misses: word count's map at 2 ranks 0.123 s -> 0.119 s
 * (medians of 8 alternating runs). */
#define READ_BLOCK (4u << 20)
/* One read() takes at most this much, so what it copies is still in the core's cache (2 MiB
 * here) when the record reader and map go over it: word count's map 196-213 ms -> 167-185 ms
 * per rank at 2 ranks with 4 MiB reads against 256 KiB. */
#define READ_CHUNK ((size_t)256 << 10)
/* Blocks mode hands out at most this much at a time, so that the line count here and the
 * job's own pass over the block find it in the core's cache. */
#define BLOCK_MAX ((size_t)256 << 10)

int sheaf__parse_delim(const char *t, uint8_t *out) {
    if (!t || !*t)
        return SHEAF_EINVAL;
    if (t[0] != '\\') {
        if (t[1])
            return SHEAF_EINVAL;
        *out = (uint8_t)t[0];
        return 0;
    }
    if (!strcmp(t, "\\n")) *out = '\n';
    else if (!strcmp(t, "\\t")) *out = '\t';
    else if (!strcmp(t, "\\r")) *out = '\r';
    else if (!strcmp(t, "\\0")) *out = 0;
    else if (!strcmp(t, "\\\\")) *out = '\\';
    else if (t[1] == 'x' && t[2] && t[3] && !t[4]) {
        char *end;
        unsigned long v = strtoul(t + 2, &end, 16);
        if (*end)
            return SHEAF_EINVAL;
        *out = (uint8_t)v;
    } else
        return SHEAF_EINVAL;
    return 0;
}

int sheaf__format_from_config(const sheaf_config *cfg, sheaf__format *fmt, char *err,
                              size_t errlen) {
    return sheaf__input_format(cfg, SIZE_MAX, fmt, err, errlen);
}

int sheaf__input_format(const sheaf_config *cfg, size_t i, sheaf__format *fmt, char *err,
                        size_t errlen) {
    const char *kind = cfg->input_format;
    if (i != SIZE_MAX && cfg->input_formats && cfg->input_formats[i])
        kind = cfg->input_formats[i];
    if (sheaf__format_parse(kind, fmt)) {
        snprintf(err, errlen, "unknown input format '%s' (lines, csv, tsv or fixed:N)", kind);
        return SHEAF_EUSAGE;
    }
    if (cfg->record_delimiter && sheaf__parse_delim(cfg->record_delimiter, &fmt->delim)) {
        snprintf(err, errlen, "invalid record delimiter '%s' (one byte, or \\n \\t \\0 \\xHH)",
                 cfg->record_delimiter);
        return SHEAF_EUSAGE;
    }
    if (cfg->csv_delimiter)
        fmt->sep = (uint8_t)cfg->csv_delimiter;
    fmt->header = cfg->csv_header && fmt->kind == SHEAF__FMT_CSV;
    fmt->multiline = fmt->kind == SHEAF__FMT_CSV && !cfg->csv_no_newlines;
    if (fmt->kind == SHEAF__FMT_CSV && (fmt->sep == '"' || fmt->sep == fmt->delim)) {
        snprintf(err, errlen, "the csv delimiter cannot be a quote or the record delimiter");
        return SHEAF_EUSAGE;
    }
    return 0;
}

int sheaf__reader_open(sheaf__reader *r, const char *path, uint64_t start, uint64_t len,
                       const sheaf__format *fmt, char *err, size_t errlen) {
    /* Buffers are kept from split to split. */
    sheaf__reader keep = *r;
    memset(r, 0, sizeof *r);
    r->buf = keep.buf;
    r->cap = keep.cap;
    r->unq = keep.unq;
    r->fields = keep.fields;
    r->flens = keep.flens;
    r->fcap = keep.fcap;
    r->hdr = keep.hdr;
    r->hfields = keep.hfields;
    r->hlens = keep.hlens;
    r->fd = -1;
    r->path = path;
    r->fmt = *fmt;
    r->start = start;
    r->end = start + len;
    /* Not blocking: a path that has become a FIFO since planning must not hang the job (its
     * fstat then fails it); regular files ignore the flag. */
    r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (r->fd < 0) {
        snprintf(err, errlen, "cannot open input %s: %s", path, strerror(errno));
        return errno == ENOENT ? SHEAF_ENOENT : SHEAF_EIO;
    }
    if (fmt->kind != SHEAF__FMT_FIXED && start > 0) {
        uint8_t c;
        ssize_t n = pread(r->fd, &c, 1, (off_t)(start - 1));
        if (n < 0) {
            snprintf(err, errlen, "cannot read input %s at offset %llu: %s", path,
                     (unsigned long long)(start - 1), strerror(errno));
            return SHEAF_EIO;
        }
        r->skip = n == 1 && c != fmt->delim; /* done lazily by reader_next */
    }
    if (lseek(r->fd, (off_t)start, SEEK_SET) < 0) {
        snprintf(err, errlen, "cannot seek input %s to offset %llu: %s", path,
                 (unsigned long long)start, strerror(errno));
        return SHEAF_EIO;
    }
    r->base = start;
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(r->fd, (off_t)start, 0, POSIX_FADV_SEQUENTIAL);
#endif
    return 0;
}

/* Reads more bytes, compacting and growing the buffer as needed. Returns 1 if bytes were
 * added, 0 at end of file, or a negative code. */
static int fill(sheaf__reader *r, char *err, size_t errlen) {
    if (r->eof)
        return 0;
    if (r->off > 0) {
        memmove(r->buf, r->buf + r->off, r->len - r->off);
        r->base += r->off;
        r->len -= r->off;
        r->off = 0;
    }
    if (r->len == r->cap) {
        /* The first buffer on huge pages; a record that outgrows it is rare, and realloc
         * grows a large block in place of a copy (mremap), so one huge line does not need
         * twice its size while it is read. */
        size_t cap = r->cap ? r->cap * 2 : READ_BLOCK;
        uint8_t *b = r->cap ? realloc(r->buf, cap + SHEAF_RECORD_PADDING)
                            : sheaf__huge_alloc(cap + SHEAF_RECORD_PADDING);
        if (!b) {
            snprintf(err, errlen, "input %s: out of memory for a record at offset %llu "
                     "(%zu bytes so far)", r->path, (unsigned long long)r->base, r->len);
            return SHEAF_ENOMEM;
        }
        r->buf = b;
        r->cap = cap;
    }
    for (;;) {
        ssize_t n = read(r->fd, r->buf + r->len, SHEAF__MIN(r->cap - r->len, READ_CHUNK));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "cannot read input %s at offset %llu: %s", r->path,
                     (unsigned long long)(r->base + r->len), strerror(errno));
            return SHEAF_EIO;
        }
        if (n == 0) {
            r->eof = true;
            if (r->check_end && r->base + r->len != r->planned_size) {
                snprintf(err, errlen, "input %s changed while the job read it: it ends at "
                         "offset %llu, not at its size when the job started, %llu",
                         r->path, (unsigned long long)(r->base + r->len),
                         (unsigned long long)r->planned_size);
                r->done = true;
                return SHEAF_EIO;
            }
            return 0;
        }
        r->len += (size_t)n;
        memset(r->buf + r->len, 0, SHEAF_RECORD_PADDING); /* see sheaf_record */
        return 1;
    }
}

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
static bool next_block(sheaf__reader *r, sheaf_record *rec) {
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

/* Finds the end of the record starting at off: the index of its delimiter in buf, or -1 when
 * the file ends first. Multi-line csv skips delimiters inside quotes. */
static long long find_end(sheaf__reader *r, char *err, size_t errlen, int *rc) {
    size_t scanned = r->off;
    bool quoted = false, csv = r->fmt.kind == SHEAF__FMT_CSV && r->fmt.multiline;
    uint8_t d = r->fmt.delim;
    for (;;) {
        if (!csv) {
            uint8_t *nl = r->len > scanned ? memchr(r->buf + scanned, d, r->len - scanned) : NULL;
            if (nl)
                return nl - r->buf;
        } else {
            for (size_t i = scanned; i < r->len; i++) {
                if (r->buf[i] == '"')
                    quoted = !quoted;
                else if (r->buf[i] == d && !quoted)
                    return (long long)i;
            }
        }
        size_t keep = r->len - r->off;
        int f = fill(r, err, errlen);
        if (f < 0) {
            *rc = f;
            return -1;
        }
        if (f == 0)
            return -1;
        scanned = keep; /* after the compaction, the unscanned bytes start here */
    }
}

static int grow_fields(sheaf__reader *r) {
    size_t cap = r->fcap ? r->fcap * 2 : 16;
    const char **f = realloc(r->fields, cap * sizeof *f);
    if (!f)
        return SHEAF_ENOMEM;
    r->fields = f;
    size_t *l = realloc(r->flens, cap * sizeof *l);
    if (!l)
        return SHEAF_ENOMEM;
    r->flens = l;
    r->fcap = cap;
    return 0;
}

/* Splits one csv record into fields. Quoted fields with doubled quotes are unescaped into
 * r->unq (sized up front, so pointers into it stay valid). Returns 0, SHEAF_EFORMAT with a
 * reason in err, or SHEAF_ENOMEM. */
static int parse_csv(sheaf__reader *r, const uint8_t *p, size_t n, char *err, size_t errlen) {
    r->nfields = 0;
    r->unq.len = 0;
    if (sheaf__buf_reserve(&r->unq, n + 1))
        return SHEAF_ENOMEM;
    const uint8_t *end = p + n;
    uint8_t sep = r->fmt.sep;
    for (;;) {
        if (r->nfields == r->fcap && grow_fields(r))
            return SHEAF_ENOMEM;
        if (p < end && *p == '"') {
            uint8_t *dst = r->unq.data + r->unq.len, *d = dst;
            p++;
            for (;;) {
                if (p == end) {
                    snprintf(err, errlen, "unterminated quoted field");
                    return SHEAF_EFORMAT;
                }
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        *d++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *d++ = *p++;
            }
            if (p < end && *p != sep) {
                snprintf(err, errlen, "text after the closing quote of field %zu",
                         r->nfields + 1);
                return SHEAF_EFORMAT;
            }
            r->fields[r->nfields] = (const char *)dst;
            r->flens[r->nfields++] = (size_t)(d - dst);
            r->unq.len += (size_t)(d - dst);
        } else {
            const uint8_t *f = p;
            while (p < end && *p != sep)
                p++;
            r->fields[r->nfields] = (const char *)f;
            r->flens[r->nfields++] = (size_t)(p - f);
        }
        if (p == end)
            break;
        p++; /* the separator; a trailing one makes a last empty field */
        if (p == end) {
            if (r->nfields == r->fcap && grow_fields(r))
                return SHEAF_ENOMEM;
            r->fields[r->nfields] = (const char *)p;
            r->flens[r->nfields++] = 0;
            break;
        }
    }
    return 0;
}

/* Reads the file's first record as the header (its own read, whatever the split). */
static int read_header(sheaf__reader *r, char *err, size_t errlen) {
    sheaf__reader h = {0};
    h.fd = r->fd;
    h.path = r->path;
    h.fmt = r->fmt;
    h.fmt.header = false;
    h.end = 1;
    int rc = (int)lseek(r->fd, 0, SEEK_SET) < 0 ? SHEAF_EIO : 0;
    sheaf_record rec;
    if (!rc)
        rc = sheaf__reader_next(&h, &rec, err, errlen);
    if (rc == 0) {
        r->nh = 0;
    } else if (rc == 1) {
        /* Copy the names out of the temporary reader. */
        size_t total = 0;
        for (size_t i = 0; i < rec.nfields; i++)
            total += rec.field_lens[i];
        r->hdr.len = 0;
        const char **hf = realloc(r->hfields, (rec.nfields + 1) * sizeof *hf);
        size_t *hl = hf ? realloc(r->hlens, (rec.nfields + 1) * sizeof *hl) : NULL;
        if (hf)
            r->hfields = hf;
        if (hl)
            r->hlens = hl;
        if (!hf || !hl || sheaf__buf_reserve(&r->hdr, total + 1)) {
            rc = SHEAF_ENOMEM;
        } else {
            for (size_t i = 0; i < rec.nfields; i++) {
                memcpy(r->hdr.data + r->hdr.len, rec.fields[i], rec.field_lens[i]);
                r->hlens[i] = rec.field_lens[i];
                r->hdr.len += rec.field_lens[i];
            }
            size_t o = 0;
            for (size_t i = 0; i < rec.nfields; i++) {
                r->hfields[i] = (const char *)r->hdr.data + o;
                o += r->hlens[i];
            }
            r->nh = rec.nfields;
            rc = 0;
        }
    } else {
        snprintf(err + strlen(err), errlen - strlen(err), " (in the header of %s)", r->path);
    }
    free(h.buf);
    sheaf__buf_free(&h.unq);
    free(h.fields);
    free(h.flens);
    if (!rc && lseek(r->fd, (off_t)r->base, SEEK_SET) < 0)
        rc = SHEAF_EIO;
    return rc;
}

int sheaf__reader_next(sheaf__reader *r, sheaf_record *rec, char *err, size_t errlen) {
    if (r->done)
        return 0;
    int rc = 0;
    if (r->fmt.header && r->lineno == 0) {
        if ((rc = read_header(r, err, errlen))) {
            r->done = true; /* without its header the file cannot be read: not skippable */
            return rc;
        }
        if (r->start == 0) {
            r->skip = true; /* the header is not a record, but counts as the file's first */
            r->lineno++;
        }
    }
    if (r->skip) {
        r->skip = false;
        long long nl = find_end(r, err, errlen, &rc);
        if (rc)
            return rc;
        if (nl < 0) {
            r->done = true;
            return 0;
        }
        r->off = (size_t)nl + 1;
    }
    r->lineno++;
    if (r->base + r->off >= r->end) {
        r->done = true;
        return 0;
    }
    memset(rec, 0, sizeof *rec);
    rec->file = r->path;
    r->nrec = 1;
    r->delims = 0;
    if (r->blocks && next_block(r, rec))
        return 1;
    if (r->fmt.kind == SHEAF__FMT_FIXED) {
        size_t n = (size_t)r->fmt.reclen;
        while (r->len - r->off < n) {
            int f = fill(r, err, errlen);
            if (f < 0)
                return f;
            if (f == 0) {
                snprintf(err, errlen, "input %s: short fixed-length record at offset %llu",
                         r->path, (unsigned long long)(r->base + r->off));
                r->done = true;
                return SHEAF_EFORMAT;
            }
        }
        rec->data = (const char *)r->buf + r->off;
        rec->len = n;
        rec->offset = r->base + r->off;
        r->off += n;
        return 1;
    }
    long long nl = find_end(r, err, errlen, &rc);
    if (rc)
        return rc;
    size_t begin = r->off, stop;
    if (nl < 0) {
        if (r->off == r->len) {
            r->done = true;
            return 0;
        }
        stop = r->len;
        r->off = r->len;
    } else {
        stop = (size_t)nl;
        r->off = stop + 1;
    }
    if (r->fmt.delim == '\n' && stop > begin && nl >= 0 && r->buf[stop - 1] == '\r')
        stop--;
    else if (r->fmt.delim == '\n' && nl < 0 && stop > begin && r->buf[stop - 1] == '\r')
        stop--;
    rec->data = (const char *)r->buf + begin;
    rec->len = stop - begin;
    rec->offset = r->base + begin;
    if (r->fmt.kind == SHEAF__FMT_TSV) {
        if (r->fcap < 2 && grow_fields(r))
            return SHEAF_ENOMEM;
        const char *tab = memchr(rec->data, '\t', rec->len);
        r->fields[0] = rec->data;
        r->flens[0] = tab ? (size_t)(tab - rec->data) : rec->len;
        r->nfields = 1;
        if (tab) {
            r->fields[1] = tab + 1;
            r->flens[1] = rec->len - r->flens[0] - 1;
            r->nfields = 2;
        }
        rec->nfields = r->nfields;
        rec->fields = r->fields;
        rec->field_lens = r->flens;
    } else if (r->fmt.kind == SHEAF__FMT_CSV) {
        char why[128];
        rc = parse_csv(r, (const uint8_t *)rec->data, rec->len, why, sizeof why);
        if (rc == SHEAF_EFORMAT || (!rc && r->nh && r->nfields != r->nh)) {
            if (!rc)
                snprintf(why, sizeof why, "%zu fields where the header has %zu", r->nfields,
                         r->nh);
            if (r->start == 0)
                snprintf(err, errlen, "input %s: malformed csv record %llu at offset %llu: %s",
                         r->path, (unsigned long long)r->lineno, (unsigned long long)rec->offset,
                         why);
            else
                snprintf(err, errlen, "input %s: malformed csv record at offset %llu: %s",
                         r->path, (unsigned long long)rec->offset, why);
            return SHEAF_EFORMAT;
        }
        if (rc)
            return rc;
        rec->nfields = r->nfields;
        rec->fields = r->fields;
        rec->field_lens = r->flens;
        rec->nheader = r->nh;
        rec->header = r->hfields;
        rec->header_lens = r->hlens;
    }
    return 1;
}

int sheaf__reader_open_split(sheaf__reader *r, const sheaf__plan *plan, size_t s,
                             const sheaf__format *fmt, char *err, size_t errlen) {
    const sheaf__split *sp = &plan->splits[s];
    const char *path = plan->files[sp->file];
    bool unsized = plan->unsized && plan->unsized[sp->file];
    int rc = sheaf__reader_open(r, path, sp->start, unsized ? UINT64_MAX - sp->start : sp->len,
                                fmt, err, errlen);
    if (rc)
        return rc;
    struct stat st;
    if (fstat(r->fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat input %s: %s", path, strerror(errno));
        return SHEAF_EIO;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "input %s changed since the job started: it is no longer a "
                 "regular file", path);
        return SHEAF_EIO;
    }
    if (unsized)
        return 0;
    uint64_t size = plan->sizes[sp->file];
    if ((uint64_t)st.st_size != size) {
        snprintf(err, errlen, "input %s changed since the job started: its size was %llu and "
                 "is %llu (split at offset %llu)", path, (unsigned long long)size,
                 (unsigned long long)st.st_size, (unsigned long long)sp->start);
        return SHEAF_EIO;
    }
    if (plan->mtimes && sheaf__mtime_ns(&st) != plan->mtimes[sp->file]) {
        snprintf(err, errlen, "input %s changed since the job started: it was modified "
                 "(split at offset %llu)", path, (unsigned long long)sp->start);
        return SHEAF_EIO;
    }
    r->check_end = true;
    r->planned_size = size;
    return 0;
}

void sheaf__reader_close(sheaf__reader *r) {
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

void sheaf__reader_free(sheaf__reader *r) {
    sheaf__reader_close(r);
    free(r->buf);
    sheaf__buf_free(&r->unq);
    sheaf__buf_free(&r->hdr);
    free(r->fields);
    free(r->flens);
    free(r->hfields);
    free(r->hlens);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

SHEAF_EXTERN const char *sheaf_record_field(const sheaf_record *rec, const char *column,
                                            size_t *len) {
    size_t n = strlen(column);
    for (size_t i = 0; i < rec->nheader && i < rec->nfields; i++) {
        if (rec->header_lens[i] == n && memcmp(rec->header[i], column, n) == 0) {
            *len = rec->field_lens[i];
            return rec->fields[i];
        }
    }
    char *end;
    unsigned long idx = strtoul(column, &end, 10);
    if (*column && !*end && idx < rec->nfields) {
        *len = rec->field_lens[idx];
        return rec->fields[idx];
    }
    return NULL;
}
