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
 * What a record is belongs to the input format, a source behind one interface (sheaf__infmt,
 * internal.h), one file each: src_lines.c (and src_blocks.c, its blocks of lines),
 * src_csv.c, src_tsv.c and src_fixed.c, with src_delim.c the delimiter scan the text formats
 * share; the table below registers them by name. This file does what every format shares:
 * opening a split and aligning it to records, the buffer, and the bytes under it, read from
 * the file or from a byte stage (sheaf__istream) such as a decompressor that sits between the
 * file and the format: a compressed file (.gz, .zst, .bz2, .xz: codec.h) is one split, read
 * from its start to its end through its decoder, at offsets counted in decompressed bytes.
 *
 * csv with quoted newlines splits like any file: the quote pass (csvsplit.c) tells a split
 * that starts inside quotes so (sheaf__reader_start_quoted), and its skip to the first record
 * scans with that state. A UTF-8 byte-order mark before a csv or tsv file's first record is
 * not part of it; a header (csv, tsv) is read by sheaf__reader_header.
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
#include "codec.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The read buffer's first size: two huge pages (sheaf__huge_alloc), so read() copies into it
 * and the map reads it with few TLB misses: word count's map at 2 ranks 0.123 s -> 0.119 s
 * (medians of 8 alternating runs). */
#define READ_BLOCK (4u << 20)
/* One read() takes at most this much, so what it copies is still in the core's cache (2 MiB
 * here) when the record reader and map go over it: word count's map 196-213 ms -> 167-185 ms
 * per rank at 2 ranks with 4 MiB reads against 256 KiB. */
#define READ_CHUNK ((size_t)256 << 10)

/* The input formats, by name; the first is the default. */
static const sheaf__infmt *const formats[] = {
    &sheaf__src_lines,
    &sheaf__src_csv,
    &sheaf__src_tsv,
    &sheaf__src_fixed,
    &sheaf__src_parquet,
};
#define NFORMATS (sizeof formats / sizeof formats[0])

const sheaf__infmt *sheaf__infmt_of(sheaf__fmt_kind kind) {
    for (size_t i = 0; i < NFORMATS; i++)
        if (formats[i]->kind == kind)
            return formats[i];
    return formats[0];
}

int sheaf__format_parse(const char *text, sheaf__format *fmt) {
    memset(fmt, 0, sizeof *fmt);
    fmt->delim = '\n';
    fmt->sep = ',';
    if (!text || !strcmp(text, "text")) /* "text": an old name of lines */
        text = formats[0]->name;
    for (size_t i = 0; i < NFORMATS; i++) {
        size_t n = strlen(formats[i]->name);
        if (strncmp(text, formats[i]->name, n) != 0 || (text[n] && text[n] != ':'))
            continue;
        fmt->kind = formats[i]->kind;
        fmt->src = formats[i];
        return formats[i]->parse(text + n, fmt);
    }
    return SHEAF_EINVAL;
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
        snprintf(err, errlen, "unknown input format '%s' (lines, csv, tsv, fixed:N or "
                 "parquet)", kind);
        return SHEAF_EUSAGE;
    }
    if (cfg->record_delimiter && sheaf__parse_delim(cfg->record_delimiter, &fmt->delim)) {
        snprintf(err, errlen, "invalid record delimiter '%s' (one byte, or \\n \\t \\0 \\xHH)",
                 cfg->record_delimiter);
        return SHEAF_EUSAGE;
    }
    if (cfg->csv_delimiter)
        fmt->sep = (uint8_t)cfg->csv_delimiter;
    fmt->header = cfg->csv_header && (fmt->kind == SHEAF__FMT_CSV || fmt->kind == SHEAF__FMT_TSV);
    fmt->multiline = fmt->kind == SHEAF__FMT_CSV && !cfg->csv_no_newlines;
    if (fmt->kind == SHEAF__FMT_CSV && (fmt->sep == '"' || fmt->sep == fmt->delim)) {
        snprintf(err, errlen, "the csv delimiter cannot be a quote or the record delimiter");
        return SHEAF_EUSAGE;
    }
    return 0;
}

int sheaf__reader_open(sheaf__reader *r, const char *path, uint64_t start, uint64_t len,
                       const sheaf__format *fmt, char *err, size_t errlen) {
    if (fmt->kind == SHEAF__FMT_PARQUET)
        return sheaf__pqsrc_open(r, path, start, len, fmt, err, errlen);
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
    r->pq = keep.pq;
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
    r->fmt.src = fmt->src ? fmt->src : sheaf__infmt_of(fmt->kind);
    sheaf__codec_kind codec = sheaf__codec_by_name(path);
    if (codec != SHEAF__CODEC_NONE) {
        /* One split from the start; its end is the end of the decompressed bytes. */
        if (start > 0) {
            snprintf(err, errlen, "input %s: a compressed file cannot be read from offset %llu",
                     path, (unsigned long long)start);
            return SHEAF_EINVAL;
        }
        r->end = UINT64_MAX;
        return sheaf__codec_istream(&r->in, codec, r->fd, path, err, errlen);
    }
    if (!r->fmt.src->aligned && start > 0) {
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
int sheaf__reader_fill(sheaf__reader *r, char *err, size_t errlen) {
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
        size_t want = SHEAF__MIN(r->cap - r->len, READ_CHUNK);
        ssize_t n = r->in ? r->in->read(r->in, r->buf + r->len, want)
                          : read(r->fd, r->buf + r->len, want);
        if (n < 0 && (r->in ? n == -EINTR : errno == EINTR))
            continue;
        if (n < 0 && r->in && r->in->error && r->in->error(r->in)) {
            /* Damaged compressed data: nothing after it can be read, so it is not a bad
             * record to skip; the stage's message names the file and the offset. */
            snprintf(err, errlen, "%s", r->in->error(r->in));
            r->eof = r->done = true;
            return n == -ENOMEM ? SHEAF_ENOMEM : n == -EBADMSG ? SHEAF_EFORMAT : SHEAF_EIO;
        }
        if (n < 0) {
            snprintf(err, errlen, "cannot read input %s at offset %llu: %s", r->path,
                     (unsigned long long)(r->base + r->len), strerror(r->in ? (int)-n : errno));
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

int sheaf__reader_next(sheaf__reader *r, sheaf_record *rec, char *err, size_t errlen) {
    if (r->done)
        return 0;
    if (r->fmt.kind == SHEAF__FMT_PARQUET)
        return sheaf__pqsrc_next(r, rec, err, errlen);
    int rc = 0;
    const sheaf__infmt *src = r->fmt.src;
    if (r->start == 0 && r->base == 0 && r->len == 0 && !r->eof &&
        (r->fmt.kind == SHEAF__FMT_CSV || r->fmt.kind == SHEAF__FMT_TSV)) {
        /* A UTF-8 byte-order mark before the first record is not part of it. */
        while (r->len < 3 && (rc = sheaf__reader_fill(r, err, errlen)) > 0)
            ;
        if (rc < 0)
            return rc;
        rc = 0;
        if (r->len >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0)
            r->off = 3;
    }
    if (r->lineno == 0 && src->begin && (rc = src->begin(r, err, errlen))) {
        r->done = true; /* a file that cannot begin (a bad header) is not skippable */
        return rc;
    }
    if (r->skip) {
        r->skip = false;
        long long nl = sheaf__reader_find_end(r, err, errlen, &rc);
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
    return src->next(r, rec, err, errlen);
}

int sheaf__reader_grow_fields(sheaf__reader *r) {
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
    if (fstat(fmt->kind == SHEAF__FMT_PARQUET ? sheaf__pqsrc_fd(r) : r->fd, &st) != 0) {
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
    /* A compressed file ends where its decoder does (in decompressed bytes); damage or a
     * cut there is the decoder's error. */
    r->check_end = r->in == NULL;
    r->planned_size = size;
    return 0;
}

void sheaf__reader_start_quoted(sheaf__reader *r) {
    r->skip = true;
    r->skip_quoted = true;
}

/* Reads the file's first record as the header (its own read, whatever the split). */
int sheaf__reader_header(sheaf__reader *r, char *err, size_t errlen) {
    sheaf__reader h = {0};
    h.fd = r->fd;
    h.path = r->path;
    h.fmt = r->fmt;
    h.fmt.header = false;
    h.end = 4; /* the first record starts at 0, or at 3 after a byte-order mark */
    /* A compressed file's header comes from a decoder of its own. */
    sheaf__format hfmt = h.fmt;
    int rc = r->in ? sheaf__reader_open(&h, r->path, 0, 1, &hfmt, err, errlen)
                   : (int)lseek(r->fd, 0, SEEK_SET) < 0 ? SHEAF_EIO : 0;
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
            /* A name given twice would make a lookup by name pick one silently. */
            for (size_t i = 0; i < r->nh && !rc; i++)
                for (size_t j = i + 1; j < r->nh && !rc; j++)
                    if (r->hlens[i] == r->hlens[j] &&
                        !memcmp(r->hfields[i], r->hfields[j], r->hlens[i])) {
                        snprintf(err, errlen, "input %s: the header names columns %zu and %zu "
                                 "both '%.*s'", r->path, i + 1, j + 1,
                                 (int)SHEAF__MIN(r->hlens[i], (size_t)200), r->hfields[i]);
                        rc = SHEAF_EFORMAT;
                    }
        }
    } else {
        snprintf(err + strlen(err), errlen - strlen(err), " (in the header of %s)", r->path);
    }
    if (r->in)
        sheaf__reader_close(&h);
    free(h.buf);
    sheaf__buf_free(&h.unq);
    free(h.fields);
    free(h.flens);
    /* The file resumes after the bytes already in the buffer (a byte-order mark, say). */
    if (!rc && !r->in && lseek(r->fd, (off_t)(r->base + r->len), SEEK_SET) < 0)
        rc = SHEAF_EIO;
    return rc;
}

void sheaf__reader_close(sheaf__reader *r) {
    if (r->in)
        r->in->close(r->in);
    r->in = NULL;
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
    sheaf__pqsrc_free(r->pq);
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

int sheaf__reader_begin_header(sheaf__reader *r, char *err, size_t errlen) {
    if (!r->fmt.header)
        return 0;
    int rc = sheaf__reader_header(r, err, errlen);
    if (rc)
        return rc;
    if (r->start == 0) {
        r->skip = true; /* the header is not a record, but counts as the file's first */
        r->lineno++;
    }
    return 0;
}
