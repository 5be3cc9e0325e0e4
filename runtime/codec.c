/*
 * codec.c: streaming decompression of input files and compression of output files.
 *
 * A decoder owns one input buffer of compressed bytes, refilled from the file with read(), and
 * hands the codec library the caller's buffer to decompress into, so decompressed bytes are
 * written once, where the record reader wants them. Each codec runs a small state machine
 * around its library: a member (gzip), frame (zstd) or stream (bzip2, xz) that ends is followed
 * by the next one in the same file, and the file ends cleanly only where one ended. Ending
 * anywhere else is truncation; a library error is corruption; both are reported with the file
 * and the compressed offset of the first byte the library had not consumed.
 *
 * gzip goes through ISA-L's igzip when configure found it (HAVE_ISAL: several times zlib's
 * speed, see docs/performance.md) and zlib otherwise; zlib also does all gzip compression,
 * since igzip's levels are not gzip's. zstd, bzip2 and xz use libzstd, libbz2 and liblzma.
 *
 * An encoder compresses what a writer would have written (gzip through zlib's deflate with
 * the gzip wrapper, zstd through ZSTD_compressStream2) and writes the compressed bytes in
 * blocks of its own buffer's size.
 */
#include "codec.h"
#include "internal.h"

#include <bzlib.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#ifdef HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

/* Compressed bytes read from the file at a time. */
#define IN_CHUNK ((size_t)256 << 10)
/* Compressed output buffered before a write(). */
#define OUT_CHUNK ((size_t)256 << 10)

sheaf__codec_kind sheaf__codec_by_name(const char *path) {
    size_t n = strlen(path);
#define ENDS(s) (n > sizeof(s) - 1 && !strcmp(path + n - (sizeof(s) - 1), s))
    if (ENDS(".gz"))
        return SHEAF__CODEC_GZIP;
    if (ENDS(".zst"))
        return SHEAF__CODEC_ZSTD;
    if (ENDS(".bz2"))
        return SHEAF__CODEC_BZIP2;
    if (ENDS(".xz"))
        return SHEAF__CODEC_XZ;
#undef ENDS
    return SHEAF__CODEC_NONE;
}

const char *sheaf__codec_name(sheaf__codec_kind kind) {
    static const char *const names[] = {"none", "gzip", "zstd", "bzip2", "xz"};
    return (unsigned)kind < 5 ? names[kind] : "?";
}

const char *sheaf__codec_suffix(sheaf__codec_kind kind) {
    static const char *const sfx[] = {"", ".gz", ".zst", ".bz2", ".xz"};
    return (unsigned)kind < 5 ? sfx[kind] : "";
}

const char *sheaf__codec_gzip_library(void) {
#ifdef HAVE_ISAL
    return "isa-l";
#else
    return "zlib";
#endif
}

/* ---- decoders --------------------------------------------------------------------------- */

struct sheaf__decoder {
    sheaf__codec_kind kind;
    int fd;
    const char *path;
    uint8_t *in;        /* compressed bytes; [pos, len) not yet given to the library */
    size_t pos, len;
    uint64_t in_total;  /* compressed bytes read from the file */
    uint64_t out_total; /* decompressed bytes handed out */
    bool eof;           /* read() returned 0 */
    bool inside;        /* inside a member, frame or stream (ending here is truncation) */
    bool end;           /* the clean end was reached */
    int failed;         /* the code of a failed read: every later read fails the same way */
    char msg[512];      /* and its message */
#ifdef HAVE_ISAL
    struct inflate_state *isal;
#else
    z_stream *z;
#endif
    ZSTD_DStream *zs;
    bz_stream *bz;
    lzma_stream *xz;
};

/* The compressed offset of the first byte the library has not consumed. */
static uint64_t in_offset(const sheaf__decoder *d) {
    return d->in_total - (d->len - d->pos);
}

/* Refills the input buffer when it is empty. Returns 1 with bytes, 0 at end of file, or
 * SHEAF_EIO. */
static int refill(sheaf__decoder *d, char *err, size_t errlen) {
    if (d->pos < d->len)
        return 1;
    d->pos = d->len = 0;
    while (!d->eof) {
        ssize_t n = read(d->fd, d->in, IN_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "cannot read input %s at compressed offset %llu: %s", d->path,
                     (unsigned long long)d->in_total, strerror(errno));
            return SHEAF_EIO;
        }
        if (n == 0) {
            d->eof = true;
            break;
        }
        d->len = (size_t)n;
        d->in_total += (uint64_t)n;
        return 1;
    }
    return 0;
}

static int corrupt(sheaf__decoder *d, const char *why, char *err, size_t errlen) {
    snprintf(err, errlen, "input %s: corrupt %s data at compressed offset %llu (%s)", d->path,
             sheaf__codec_name(d->kind), (unsigned long long)in_offset(d), why);
    return SHEAF_EFORMAT;
}

static int truncated(sheaf__decoder *d, char *err, size_t errlen) {
    snprintf(err, errlen, "input %s: truncated %s data (the file ends at compressed offset %llu "
             "inside a %s)", d->path, sheaf__codec_name(d->kind),
             (unsigned long long)d->in_total,
             d->kind == SHEAF__CODEC_GZIP ? "member" : d->kind == SHEAF__CODEC_ZSTD ? "frame"
                                                                                   : "stream");
    return SHEAF_EFORMAT;
}

static bool magic_ok(sheaf__codec_kind kind, const uint8_t *p, size_t n) {
    switch (kind) {
    case SHEAF__CODEC_GZIP:
        return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
    case SHEAF__CODEC_ZSTD:
        /* a frame, or a skippable frame (magic 0x184D2A50..5F, little-endian) */
        return n >= 4 && ((p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) ||
                          ((p[0] & 0xf0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d && p[3] == 0x18));
    case SHEAF__CODEC_BZIP2:
        return n >= 4 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h' && p[3] >= '1' && p[3] <= '9';
    case SHEAF__CODEC_XZ:
        return n >= 6 && !memcmp(p, "\xfd" "7zXZ\0", 6);
    default:
        return true;
    }
}

#ifdef HAVE_ISAL
static long long read_gzip(sheaf__decoder *d, uint8_t *buf, size_t cap, char *err,
                           size_t errlen) {
    struct inflate_state *s = d->isal;
    for (;;) {
        if (!d->inside) { /* between members */
            int f = refill(d, err, errlen);
            if (f <= 0) {
                d->end = f == 0;
                return f;
            }
            isal_inflate_reset(s);
            s->crc_flag = ISAL_GZIP;
            d->inside = true;
        }
        int f = refill(d, err, errlen);
        if (f < 0)
            return f;
        s->next_in = d->in + d->pos;
        s->avail_in = (uint32_t)(d->len - d->pos);
        s->next_out = buf;
        s->avail_out = (uint32_t)SHEAF__MIN(cap, (size_t)UINT32_MAX);
        int r = isal_inflate(s);
        d->pos = d->len - s->avail_in;
        size_t got = (size_t)(s->next_out - buf);
        if (r < 0) {
            const char *why = r == ISAL_INCORRECT_CHECKSUM ? "checksum mismatch"
                              : r == ISAL_INVALID_WRAPPER  ? "bad gzip header"
                              : r == ISAL_UNSUPPORTED_METHOD ? "unsupported method"
                                                             : "invalid deflate data";
            return corrupt(d, why, err, errlen);
        }
        if (s->block_state == ISAL_BLOCK_FINISH)
            d->inside = false;
        if (got)
            return (long long)got;
        if (f == 0 && d->inside)
            return truncated(d, err, errlen);
    }
}
#else
static long long read_gzip(sheaf__decoder *d, uint8_t *buf, size_t cap, char *err,
                           size_t errlen) {
    z_stream *z = d->z;
    for (;;) {
        if (!d->inside) {
            int f = refill(d, err, errlen);
            if (f <= 0) {
                d->end = f == 0;
                return f;
            }
            inflateReset(z);
            d->inside = true;
        }
        int f = refill(d, err, errlen);
        if (f < 0)
            return f;
        z->next_in = d->in + d->pos;
        z->avail_in = (uInt)(d->len - d->pos);
        z->next_out = buf;
        z->avail_out = (uInt)SHEAF__MIN(cap, (size_t)UINT32_MAX);
        int r = inflate(z, Z_NO_FLUSH);
        d->pos = d->len - z->avail_in;
        size_t got = (size_t)(z->next_out - buf);
        if (r == Z_STREAM_END)
            d->inside = false;
        else if (r == Z_MEM_ERROR)
            return SHEAF_ENOMEM;
        else if (r != Z_OK && r != Z_BUF_ERROR)
            return corrupt(d, z->msg ? z->msg : "invalid deflate data", err, errlen);
        if (got)
            return (long long)got;
        if (f == 0 && d->inside)
            return truncated(d, err, errlen);
    }
}
#endif

static long long read_zstd(sheaf__decoder *d, uint8_t *buf, size_t cap, char *err,
                           size_t errlen) {
    for (;;) {
        int f = refill(d, err, errlen);
        if (f < 0)
            return f;
        ZSTD_inBuffer in = {d->in + d->pos, d->len - d->pos, 0};
        ZSTD_outBuffer out = {buf, cap, 0};
        size_t r = ZSTD_decompressStream(d->zs, &out, &in);
        d->pos += in.pos;
        if (ZSTD_isError(r))
            return corrupt(d, ZSTD_getErrorName(r), err, errlen);
        if (in.pos)
            d->inside = r != 0; /* 0: a frame just ended and was flushed whole */
        else if (r == 0)
            d->inside = false;
        if (out.pos)
            return (long long)out.pos;
        if (f == 0) {
            if (d->inside)
                return truncated(d, err, errlen);
            d->end = true;
            return 0;
        }
    }
}

static long long read_bzip2(sheaf__decoder *d, uint8_t *buf, size_t cap, char *err,
                            size_t errlen) {
    bz_stream *s = d->bz;
    for (;;) {
        if (!d->inside) {
            int f = refill(d, err, errlen);
            if (f <= 0) {
                d->end = f == 0;
                return f;
            }
            BZ2_bzDecompressEnd(s);
            memset(s, 0, sizeof *s);
            if (BZ2_bzDecompressInit(s, 0, 0) != BZ_OK)
                return SHEAF_ENOMEM;
            d->inside = true;
        }
        int f = refill(d, err, errlen);
        if (f < 0)
            return f;
        s->next_in = (char *)(d->in + d->pos);
        s->avail_in = (unsigned)(d->len - d->pos);
        s->next_out = (char *)buf;
        s->avail_out = (unsigned)SHEAF__MIN(cap, (size_t)UINT32_MAX);
        int r = BZ2_bzDecompress(s);
        d->pos = d->len - s->avail_in;
        size_t got = (size_t)((uint8_t *)s->next_out - buf);
        if (r == BZ_STREAM_END)
            d->inside = false;
        else if (r == BZ_MEM_ERROR)
            return SHEAF_ENOMEM;
        else if (r != BZ_OK)
            return corrupt(d, r == BZ_DATA_ERROR_MAGIC ? "bad stream header" : "invalid data",
                           err, errlen);
        if (got)
            return (long long)got;
        if (f == 0 && d->inside)
            return truncated(d, err, errlen);
    }
}

static long long read_xz(sheaf__decoder *d, uint8_t *buf, size_t cap, char *err,
                         size_t errlen) {
    lzma_stream *s = d->xz;
    for (;;) {
        int f = refill(d, err, errlen);
        if (f < 0)
            return f;
        s->next_in = d->in + d->pos;
        s->avail_in = d->len - d->pos;
        s->next_out = buf;
        s->avail_out = cap;
        lzma_ret r = lzma_code(s, f == 0 ? LZMA_FINISH : LZMA_RUN);
        d->pos = d->len - s->avail_in;
        size_t got = (size_t)(s->next_out - buf);
        if (r == LZMA_STREAM_END) {
            if (got)
                return (long long)got;
            d->end = true;
            return 0;
        }
        if (r == LZMA_MEM_ERROR)
            return SHEAF_ENOMEM;
        if (got)
            return (long long)got;
        if (r == LZMA_BUF_ERROR && f == 0)
            return truncated(d, err, errlen);
        if (r != LZMA_OK)
            return corrupt(d, r == LZMA_FORMAT_ERROR ? "bad stream header"
                              : r == LZMA_DATA_ERROR ? "invalid data"
                                                     : "decoder error",
                           err, errlen);
    }
}

int sheaf__decoder_open(sheaf__decoder **out, sheaf__codec_kind kind, int fd, const char *path,
                        char *err, size_t errlen) {
    *out = NULL;
    if (kind == SHEAF__CODEC_NONE || (unsigned)kind > SHEAF__CODEC_XZ) {
        snprintf(err, errlen, "input %s: no codec", path);
        return SHEAF_EINVAL;
    }
    sheaf__decoder *d = calloc(1, sizeof *d);
    if (!d || !(d->in = malloc(IN_CHUNK))) {
        free(d);
        snprintf(err, errlen, "input %s: out of memory for its decoder", path);
        return SHEAF_ENOMEM;
    }
    d->kind = kind;
    d->fd = fd;
    d->path = path;
    /* The first bytes decide whether the name told the truth. */
    int rc = 0;
    while (!d->eof && d->len < 6) {
        ssize_t n = read(fd, d->in + d->len, IN_CHUNK - d->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "cannot read input %s: %s", path, strerror(errno));
            rc = SHEAF_EIO;
            break;
        }
        d->eof = n == 0;
        d->len += (size_t)n;
        d->in_total += (uint64_t)n;
    }
    if (!rc && d->len > 0 && !magic_ok(kind, d->in, d->len)) {
        char hex[32] = "";
        for (size_t i = 0; i < SHEAF__MIN(d->len, (size_t)4); i++)
            snprintf(hex + strlen(hex), sizeof hex - strlen(hex), "%s%02x", i ? " " : "",
                     d->in[i]);
        snprintf(err, errlen, "%s: named %s but is not %s data (starts with %s)", path,
                 sheaf__codec_suffix(kind), sheaf__codec_name(kind), hex);
        rc = SHEAF_EFORMAT;
    }
    if (!rc) {
        bool ok = true;
        switch (kind) {
        case SHEAF__CODEC_GZIP:
#ifdef HAVE_ISAL
            ok = (d->isal = calloc(1, sizeof *d->isal)) != NULL;
            if (ok)
                isal_inflate_init(d->isal);
#else
            ok = (d->z = calloc(1, sizeof *d->z)) && inflateInit2(d->z, 15 + 16) == Z_OK;
#endif
            break;
        case SHEAF__CODEC_ZSTD:
            ok = (d->zs = ZSTD_createDStream()) != NULL;
            break;
        case SHEAF__CODEC_BZIP2:
            ok = (d->bz = calloc(1, sizeof *d->bz)) && BZ2_bzDecompressInit(d->bz, 0, 0) == BZ_OK;
            break;
        case SHEAF__CODEC_XZ: {
            ok = (d->xz = calloc(1, sizeof *d->xz)) != NULL;
            if (ok) {
                lzma_stream init = LZMA_STREAM_INIT;
                *d->xz = init;
                ok = lzma_stream_decoder(d->xz, UINT64_MAX, LZMA_CONCATENATED) == LZMA_OK;
            }
            break;
        }
        default:
            break;
        }
        if (!ok) {
            snprintf(err, errlen, "input %s: out of memory for its decoder", path);
            rc = SHEAF_ENOMEM;
        }
    }
    if (rc) {
        sheaf__decoder_free(d);
        return rc;
    }
    /* An empty file is empty input; xz's decoder would call it truncated. */
    d->end = d->len == 0;
    *out = d;
    return 0;
}

long long sheaf__decoder_read(sheaf__decoder *d, void *buf, size_t cap, char *err,
                              size_t errlen) {
    if (d->failed) {
        snprintf(err, errlen, "%s", d->msg);
        return d->failed;
    }
    if (d->end || cap == 0)
        return 0;
    long long n;
    switch (d->kind) {
    case SHEAF__CODEC_GZIP: n = read_gzip(d, buf, cap, err, errlen); break;
    case SHEAF__CODEC_ZSTD: n = read_zstd(d, buf, cap, err, errlen); break;
    case SHEAF__CODEC_BZIP2: n = read_bzip2(d, buf, cap, err, errlen); break;
    case SHEAF__CODEC_XZ: n = read_xz(d, buf, cap, err, errlen); break;
    default: n = 0; break;
    }
    if (n > 0)
        d->out_total += (uint64_t)n;
    if (n < 0) {
        d->failed = (int)n;
        snprintf(d->msg, sizeof d->msg, "%s", err);
    }
    return n;
}

/* ---- the decoder as a reader's byte stage ---- */

typedef struct dec_stage {
    sheaf__istream base;
    sheaf__decoder *d;
    char msg[512];
} dec_stage;

static ssize_t dec_stage_read(sheaf__istream *s, void *buf, size_t n) {
    dec_stage *st = (dec_stage *)s;
    long long r = sheaf__decoder_read(st->d, buf, n, st->msg, sizeof st->msg);
    if (r >= 0)
        return (ssize_t)r;
    return r == SHEAF_ENOMEM ? -ENOMEM : r == SHEAF_EIO ? -EIO : -EBADMSG;
}

static const char *dec_stage_error(sheaf__istream *s) {
    dec_stage *st = (dec_stage *)s;
    return st->msg[0] ? st->msg : NULL;
}

static void dec_stage_close(sheaf__istream *s) {
    dec_stage *st = (dec_stage *)s;
    sheaf__decoder_free(st->d);
    free(st);
}

int sheaf__codec_istream(sheaf__istream **out, sheaf__codec_kind kind, int fd, const char *path,
                         char *err, size_t errlen) {
    *out = NULL;
    dec_stage *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "input %s: out of memory for its decoder", path);
        return SHEAF_ENOMEM;
    }
    int rc = sheaf__decoder_open(&st->d, kind, fd, path, err, errlen);
    if (rc) {
        free(st);
        return rc;
    }
    st->base.read = dec_stage_read;
    st->base.close = dec_stage_close;
    st->base.error = dec_stage_error;
    *out = &st->base;
    return 0;
}

bool sheaf__codec_istream_counts(const sheaf__istream *s, uint64_t *in, uint64_t *out) {
    if (s->read != dec_stage_read)
        return false;
    const dec_stage *st = (const dec_stage *)s;
    *in = sheaf__decoder_in(st->d);
    *out = sheaf__decoder_out(st->d);
    return true;
}

uint64_t sheaf__decoder_in(const sheaf__decoder *d) {
    return d->in_total;
}

uint64_t sheaf__decoder_out(const sheaf__decoder *d) {
    return d->out_total;
}

void sheaf__decoder_free(sheaf__decoder *d) {
    if (!d)
        return;
#ifdef HAVE_ISAL
    free(d->isal);
#else
    if (d->z)
        inflateEnd(d->z);
    free(d->z);
#endif
    if (d->zs)
        ZSTD_freeDStream(d->zs);
    if (d->bz)
        BZ2_bzDecompressEnd(d->bz);
    free(d->bz);
    if (d->xz)
        lzma_end(d->xz);
    free(d->xz);
    free(d->in);
    free(d);
}

/* ---- encoders --------------------------------------------------------------------------- */

int sheaf__codec_parse_output(const char *text, sheaf__codec_kind *kind, int *level, char *err,
                              size_t errlen) {
    *kind = SHEAF__CODEC_NONE;
    *level = 0;
    if (!text || !strcmp(text, "none"))
        return 0;
    const char *colon = strchr(text, ':');
    size_t n = colon ? (size_t)(colon - text) : strlen(text);
    int lo = 1, hi;
    if (n == 4 && !strncmp(text, "gzip", 4)) {
        *kind = SHEAF__CODEC_GZIP;
        hi = 9;
    } else if (n == 4 && !strncmp(text, "zstd", 4)) {
        *kind = SHEAF__CODEC_ZSTD;
        hi = 19;
    } else {
        snprintf(err, errlen, "unknown output compression '%s' (none, gzip or zstd, "
                 "optionally :LEVEL)", text);
        return SHEAF_EUSAGE;
    }
    if (colon) {
        char *end;
        errno = 0;
        long v = strtol(colon + 1, &end, 10);
        if (errno || !colon[1] || *end || v < lo || v > hi) {
            snprintf(err, errlen, "output compression '%s': the %s level is %d to %d", text,
                     sheaf__codec_name(*kind), lo, hi);
            *kind = SHEAF__CODEC_NONE;
            return SHEAF_EUSAGE;
        }
        *level = (int)v;
    }
    return 0;
}

struct sheaf__encoder {
    sheaf__codec_kind kind;
    int fd;
    uint8_t *out;
    uint64_t out_total;
    z_stream *z;
    ZSTD_CStream *zs;
};

int sheaf__encoder_open(sheaf__encoder **out, sheaf__codec_kind kind, int level, int fd) {
    *out = NULL;
    if (kind != SHEAF__CODEC_GZIP && kind != SHEAF__CODEC_ZSTD)
        return SHEAF_EINVAL;
    sheaf__encoder *e = calloc(1, sizeof *e);
    if (!e || !(e->out = malloc(OUT_CHUNK))) {
        free(e);
        return SHEAF_ENOMEM;
    }
    e->kind = kind;
    e->fd = fd;
    bool ok;
    if (kind == SHEAF__CODEC_GZIP) {
        ok = (e->z = calloc(1, sizeof *e->z)) &&
             deflateInit2(e->z, level ? level : 6, Z_DEFLATED, 15 + 16, 8,
                          Z_DEFAULT_STRATEGY) == Z_OK;
        if (!ok && e->z) {
            free(e->z); /* deflateInit2 failed: nothing to end */
            e->z = NULL;
        }
    } else {
        ok = (e->zs = ZSTD_createCStream()) &&
             !ZSTD_isError(ZSTD_CCtx_setParameter(e->zs, ZSTD_c_compressionLevel,
                                                  level ? level : 3));
    }
    if (!ok) {
        sheaf__encoder_free(e);
        return SHEAF_ENOMEM;
    }
    *out = e;
    return 0;
}

/* Runs the codec over n bytes (finishing the stream when last), writing each full buffer. */
static int encode(sheaf__encoder *e, const void *buf, size_t n, bool last) {
    if (e->kind == SHEAF__CODEC_GZIP) {
        z_stream *z = e->z;
        z->next_in = (Bytef *)(uintptr_t)buf;
        size_t left = n;
        for (;;) {
            uInt step = (uInt)SHEAF__MIN(left, (size_t)1 << 30);
            z->avail_in = step;
            int r;
            do {
                z->next_out = e->out;
                z->avail_out = (uInt)OUT_CHUNK;
                r = deflate(z, last && step == left ? Z_FINISH : Z_NO_FLUSH);
                if (r == Z_STREAM_ERROR)
                    return -EINVAL;
                size_t have = OUT_CHUNK - z->avail_out;
                int w = have ? sheaf__write_all(e->fd, e->out, have) : 0;
                if (w)
                    return w;
                e->out_total += have;
            } while (z->avail_out == 0 || (last && step == left && r != Z_STREAM_END));
            left -= step;
            if (!left)
                return 0;
        }
    }
    ZSTD_inBuffer in = {buf, n, 0};
    for (;;) {
        ZSTD_outBuffer o = {e->out, OUT_CHUNK, 0};
        size_t r = ZSTD_compressStream2(e->zs, &o, &in, last ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(r))
            return -EINVAL;
        int w = o.pos ? sheaf__write_all(e->fd, e->out, o.pos) : 0;
        if (w)
            return w;
        e->out_total += o.pos;
        if (last ? r == 0 : in.pos == in.size)
            return 0;
    }
}

int sheaf__encoder_write(sheaf__encoder *e, const void *buf, size_t n) {
    return n ? encode(e, buf, n, false) : 0;
}

int sheaf__encoder_finish(sheaf__encoder *e) {
    return encode(e, "", 0, true);
}

uint64_t sheaf__encoder_out(const sheaf__encoder *e) {
    return e->out_total;
}

/* ---- the encoder as a writer's byte stage ---- */

typedef struct enc_stage {
    sheaf__ostream base;
    sheaf__encoder *e;
    int fd;
} enc_stage;

static int enc_stage_write(sheaf__ostream *s, const void *buf, size_t len) {
    return sheaf__encoder_write(((enc_stage *)s)->e, buf, len);
}

static int enc_stage_close(sheaf__ostream *s) {
    enc_stage *st = (enc_stage *)s;
    int rc = sheaf__encoder_finish(st->e);
    sheaf__encoder_free(st->e);
    if (close(st->fd) != 0 && !rc)
        rc = -errno;
    free(st);
    return rc;
}

sheaf__ostream *sheaf__codec_ostream(const char *path, sheaf__codec_kind kind, int level,
                                     int *err) {
    enc_stage *st = calloc(1, sizeof *st);
    if (!st) {
        *err = -ENOMEM;
        return NULL;
    }
    st->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (st->fd < 0) {
        *err = -errno;
        free(st);
        return NULL;
    }
    if (sheaf__encoder_open(&st->e, kind, level, st->fd)) {
        close(st->fd);
        free(st);
        *err = -ENOMEM;
        return NULL;
    }
    st->base.write = enc_stage_write;
    st->base.close = enc_stage_close;
    return &st->base;
}

void sheaf__encoder_free(sheaf__encoder *e) {
    if (!e)
        return;
    if (e->z) {
        deflateEnd(e->z);
        free(e->z);
    }
    if (e->zs)
        ZSTD_freeCStream(e->zs);
    free(e->out);
    free(e);
}
