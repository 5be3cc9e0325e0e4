/*
 * reader.c: turns a split (a byte range of one file) into records.
 *
 * Record ownership follows one rule, so every record is read exactly once whatever the split
 * size: a record belongs to the split that holds its first byte. A line split that does not
 * start at offset 0 therefore looks at the byte before its start; unless that byte ends a
 * line, the split skips to just past the next newline. A reader keeps reading past the end of
 * its split to finish its last record. Lines end at LF; a CR before the LF is dropped; a last
 * line without a newline is a record. Fixed-length records start at multiples of N, which the
 * planner makes every split start on.
 *
 * The reader reads large blocks into one buffer and finds line ends with memchr over the
 * block, so the cost per record is one scan and no system call.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define READ_BLOCK (4u << 20)

int sheaf__reader_open(sheaf__reader *r, const char *path, uint64_t start, uint64_t len,
                       const sheaf__format *fmt, char *err, size_t errlen) {
    uint8_t *buf = r->buf;
    size_t cap = r->cap;
    memset(r, 0, sizeof *r);
    r->buf = buf; /* the buffer is kept from split to split */
    r->cap = cap;
    r->fd = -1;
    r->path = path;
    r->fmt = *fmt;
    r->start = start;
    r->end = start + len;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        snprintf(err, errlen, "cannot open input %s: %s", path, strerror(errno));
        return errno == ENOENT ? SHEAF_ENOENT : SHEAF_EIO;
    }
    uint64_t pos = start;
    if (fmt->kind == SHEAF__FMT_LINES && start > 0) {
        char c;
        ssize_t n = pread(r->fd, &c, 1, (off_t)(start - 1));
        if (n < 0) {
            snprintf(err, errlen, "cannot read input %s at offset %llu: %s", path,
                     (unsigned long long)(start - 1), strerror(errno));
            return SHEAF_EIO;
        }
        r->skip = n == 1 && c != '\n'; /* done lazily by reader_next */
    }
    if (lseek(r->fd, (off_t)pos, SEEK_SET) < 0) {
        snprintf(err, errlen, "cannot seek input %s to offset %llu: %s", path,
                 (unsigned long long)pos, strerror(errno));
        return SHEAF_EIO;
    }
    r->base = pos;
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(r->fd, (off_t)pos, 0, POSIX_FADV_SEQUENTIAL);
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
        size_t cap = r->cap ? r->cap * 2 : READ_BLOCK;
        uint8_t *b = realloc(r->buf, cap);
        if (!b) {
            snprintf(err, errlen, "input %s: out of memory for a record at offset %llu "
                     "(%zu bytes so far)", r->path, (unsigned long long)r->base, r->len);
            return SHEAF_ENOMEM;
        }
        r->buf = b;
        r->cap = cap;
    }
    for (;;) {
        ssize_t n = read(r->fd, r->buf + r->len, r->cap - r->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "cannot read input %s at offset %llu: %s", r->path,
                     (unsigned long long)(r->base + r->len), strerror(errno));
            return SHEAF_EIO;
        }
        if (n == 0) {
            r->eof = true;
            return 0;
        }
        r->len += (size_t)n;
        return 1;
    }
}

/* Finds the next LF at or after off; returns its index in buf, or -1 at end of file. */
static long long find_nl(sheaf__reader *r, char *err, size_t errlen, int *rc) {
    size_t scanned = r->off;
    for (;;) {
        uint8_t *nl = memchr(r->buf + scanned, '\n', r->len - scanned);
        if (nl)
            return nl - r->buf;
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

int sheaf__reader_next(sheaf__reader *r, sheaf_record *rec, char *err, size_t errlen) {
    if (r->done)
        return 0;
    int rc = 0;
    if (r->skip) {
        r->skip = false;
        long long nl = find_nl(r, err, errlen, &rc);
        if (rc)
            return rc;
        if (nl < 0) {
            r->done = true;
            return 0;
        }
        r->off = (size_t)nl + 1;
    }
    if (r->base + r->off >= r->end) {
        r->done = true;
        return 0;
    }
    memset(rec, 0, sizeof *rec);
    rec->file = r->path;
    if (r->fmt.kind == SHEAF__FMT_FIXED) {
        size_t n = (size_t)r->fmt.reclen;
        while (r->len - r->off < n) {
            int f = fill(r, err, errlen);
            if (f < 0)
                return f;
            if (f == 0) {
                snprintf(err, errlen, "input %s: short fixed-length record at offset %llu",
                         r->path, (unsigned long long)(r->base + r->off));
                return SHEAF_EFORMAT;
            }
        }
        rec->data = (const char *)r->buf + r->off;
        rec->len = n;
        rec->offset = r->base + r->off;
        r->off += n;
        return 1;
    }
    long long nl = find_nl(r, err, errlen, &rc);
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
    if (stop > begin && nl >= 0 && r->buf[stop - 1] == '\r')
        stop--;
    rec->data = (const char *)r->buf + begin;
    rec->len = stop - begin;
    rec->offset = r->base + begin;
    return 1;
}

void sheaf__reader_close(sheaf__reader *r) {
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

void sheaf__reader_free(sheaf__reader *r) {
    sheaf__reader_close(r);
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}
