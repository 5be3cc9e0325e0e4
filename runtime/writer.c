/*
 * writer.c: output files, the registry of output formats, and the reduce side's sink.
 *
 * A writer is one output file: a format (out_text.c, out_csv.c, out_raw.c, ...) encodes
 * records into the writer's buffer (sheaf__writer_room), and the buffer goes, 1 MiB at a time,
 * into a byte stage (sheaf__ostream): today a plain file, and a compressor can sit between the
 * two as another stage without the formats knowing. Formats are found by name in one table
 * below: adding one is a new out_NAME.c and a line here.
 *
 * The output set holds the writers of the partition being reduced: part-r-NNNNN, and the named
 * outputs (sheaf_emit_named: NAME-r-NNNNN beside the part files, like Hadoop's
 * MultipleOutputs), opened on their first record. It is the reduce phase's sink: an emit in a
 * reduce call writes a record to the part file.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define OUT_BUF SHEAF__WRITER_BUF
#define MAX_NAMED 32

/* The output formats, by name; the first is the default. */
static const sheaf__outfmt *const formats[] = {
    &sheaf__out_text,
    &sheaf__out_csv,
    &sheaf__out_raw,
};
#define NFORMATS (sizeof formats / sizeof formats[0])

const sheaf__outfmt *sheaf__outfmt_find(const char *name) {
    for (size_t i = 0; i < NFORMATS; i++)
        if (!strcmp(formats[i]->name, name))
            return formats[i];
    return NULL;
}

void sheaf__outfmt_names(char *out, size_t outlen) {
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < NFORMATS && n < outlen; i++) {
        const char *sep = i == 0 ? "" : i + 1 == NFORMATS ? " or " : ", ";
        int k = snprintf(out + n, outlen - n, "%s%s", sep, formats[i]->name);
        if (k < 0)
            break;
        n += (size_t)k;
    }
}

/* ---- the plain file stage ---- */

typedef struct file_stage {
    sheaf__ostream base;
    int fd;
} file_stage;

static int file_write(sheaf__ostream *s, const void *buf, size_t len) {
    return sheaf__write_all(((file_stage *)s)->fd, buf, len);
}

static int file_close(sheaf__ostream *s) {
    file_stage *f = (file_stage *)s;
    int rc = close(f->fd) != 0 ? -errno : 0;
    free(f);
    return rc;
}

sheaf__ostream *sheaf__ostream_file(const char *path, int *err) {
    file_stage *f = malloc(sizeof *f);
    if (!f) {
        *err = -ENOMEM;
        return NULL;
    }
    f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        *err = -errno;
        free(f);
        return NULL;
    }
    f->base.write = file_write;
    f->base.close = file_close;
    return &f->base;
}

/* ---- writers ---- */

static int writer_flush(sheaf_ctx *ctx, sheaf__writer *w) {
    int rc = w->out->write(w->out, w->buf.data, w->buf.len);
    w->written += w->buf.len;
    w->buf.len = 0;
    if (rc)
        return sheaf__error(ctx, rc == -ENOSPC ? SHEAF_ENOSPC : SHEAF_EIO,
                            "cannot write output %s: %s", w->path, strerror(-rc));
    return 0;
}

uint8_t *sheaf__writer_room_slow(sheaf_ctx *ctx, sheaf__writer *w, size_t need) {
    if (w->buf.len + need > OUT_BUF && w->buf.len && writer_flush(ctx, w))
        return NULL;
    if (sheaf__buf_reserve(&w->buf, need)) {
        sheaf__error(ctx, SHEAF_ENOMEM, "out of memory writing a %zu-byte record", need);
        return NULL;
    }
    SHEAF__ASSERT(w->buf.len + need <= w->buf.cap);
    return w->buf.data + w->buf.len;
}

static int writer_open(sheaf_ctx *ctx, sheaf__writer *w, const sheaf__outfmt *fmt,
                       const char *dir, const char *name, uint32_t part) {
    snprintf(w->name, sizeof w->name, "%s", name);
    w->fmt = fmt;
    free(w->path);
    if (!(w->path = sheaf__asprintf("%s/%s-r-%05u", dir, name, part)))
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    int err = 0;
    if (!(w->out = sheaf__ostream_file(w->path, &err)))
        return sheaf__error(ctx, SHEAF_EIO, "cannot create output %s: %s", w->path,
                            strerror(-err));
    w->buf.len = 0;
    w->written = 0;
    if (sheaf__buf_reserve(&w->buf, OUT_BUF))
        return sheaf__error(ctx, SHEAF_ENOMEM, "out of memory");
    return fmt->open ? fmt->open(ctx, w) : 0;
}

static int writer_put(sheaf_ctx *ctx, sheaf__writer *w, const void *key, size_t klen,
                      const void *val, size_t vlen) {
    uint64_t before = w->written + w->buf.len;
    int rc = w->fmt->put(ctx, w, key, klen, val, vlen);
    if (rc)
        return rc;
    SHEAF__ASSERT(w->buf.len <= w->buf.cap); /* the format stayed inside the room it took */
    ctx->c[SHEAF__C_OUTPUT_RECORDS]++;
    ctx->c[SHEAF__C_OUTPUT_BYTES] += w->written + w->buf.len - before;
    return 0;
}

static int writer_close(sheaf_ctx *ctx, sheaf__writer *w) {
    if (!w->out)
        return 0;
    int rc = w->fmt->finish ? w->fmt->finish(ctx, w) : 0;
    int f = writer_flush(ctx, w);
    rc = rc ? rc : f;
    int c = w->out->close(w->out);
    w->out = NULL;
    if (c && !rc)
        rc = sheaf__error(ctx, SHEAF_EIO, "cannot close output %s: %s", w->path, strerror(-c));
    return rc;
}

/* ---- the output set: the reduce side's sink ---- */

struct sheaf__outset {
    sheaf__sink sink;
    const sheaf__outfmt *fmt;
    sheaf__writer w[MAX_NAMED + 1];
    size_t n;
    const char *dir;
    uint32_t part;
};

static int outset_emit(sheaf__sink *s, sheaf_ctx *ctx, const void *key, size_t klen,
                       const void *val, size_t vlen) {
    return writer_put(ctx, &((sheaf__outset *)s)->w[0], key, klen, val, vlen);
}

static int outset_emit_named(sheaf__sink *s, sheaf_ctx *ctx, const char *name, const void *key,
                             size_t klen, const void *val, size_t vlen) {
    sheaf__outset *o = (sheaf__outset *)s;
    for (size_t i = 1; i < o->n; i++)
        if (!strcmp(o->w[i].name, name))
            return writer_put(ctx, &o->w[i], key, klen, val, vlen);
    if (o->n == MAX_NAMED + 1)
        return sheaf__error(ctx, SHEAF_EINVAL, "more than %d named outputs", MAX_NAMED);
    sheaf__writer *w = &o->w[o->n++];
    int rc = writer_open(ctx, w, o->fmt, o->dir, name, o->part);
    return rc ? rc : writer_put(ctx, w, key, klen, val, vlen);
}

static int outset_flush(sheaf__sink *s, sheaf_ctx *ctx) {
    sheaf__outset *o = (sheaf__outset *)s;
    int rc = 0;
    for (size_t i = 0; i < o->n && !rc; i++)
        if (o->w[i].out)
            rc = writer_flush(ctx, &o->w[i]);
    return rc;
}

static int outset_sink_close(sheaf__sink *s, sheaf_ctx *ctx) {
    return sheaf__outset_close(ctx, (sheaf__outset *)s);
}

static const sheaf__sink_ops outset_ops = {.emit = outset_emit,
                                           .emit_named = outset_emit_named,
                                           .flush = outset_flush,
                                           .close = outset_sink_close};

sheaf__outset *sheaf__outset_new(const sheaf__outfmt *fmt, const char *dir) {
    sheaf__outset *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->sink.ops = &outset_ops;
    o->sink.flags = fmt->text_values ? SHEAF__SINK_TEXT : 0;
    o->fmt = fmt;
    o->dir = dir;
    return o;
}

sheaf__sink *sheaf__outset_sink(sheaf__outset *o) {
    return &o->sink;
}

int sheaf__outset_open(sheaf_ctx *ctx, sheaf__outset *o, uint32_t part) {
    o->part = part;
    o->n = 1;
    return writer_open(ctx, &o->w[0], o->fmt, o->dir, "part", part);
}

int sheaf__outset_write(sheaf_ctx *ctx, sheaf__outset *o, const void *key, size_t klen,
                        const void *val, size_t vlen) {
    if (ctx->err)
        return ctx->err;
    return writer_put(ctx, &o->w[0], key, klen, val, vlen);
}

int sheaf__outset_close(sheaf_ctx *ctx, sheaf__outset *o) {
    int rc = 0;
    for (size_t i = 0; i < o->n; i++) {
        int r = writer_close(ctx, &o->w[i]);
        rc = rc ? rc : r;
    }
    return rc;
}

void sheaf__outset_free(sheaf_ctx *ctx, sheaf__outset *o) {
    if (!o)
        return;
    sheaf__outset_close(ctx, o);
    if (ctx->sink == &o->sink)
        ctx->sink = &sheaf__sink_none;
    for (size_t i = 0; i <= MAX_NAMED; i++) {
        sheaf__buf_free(&o->w[i].buf);
        free(o->w[i].path);
    }
    free(o);
}
