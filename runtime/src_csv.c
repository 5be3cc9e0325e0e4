/*
 * src_csv.c: the csv source (RFC 4180).
 *
 * Fields are separated by the delimiter byte (--csv-delimiter, default ','), optionally
 * quoted, "" inside quotes for a quote. Quoted fields may hold newlines, so a csv file is read
 * whole by one reader unless the user says records hold no newlines (csv_no_newlines), in
 * which case csv splits like lines. With a header, each reader reads the file's first record
 * for the column names and the split at offset 0 does not hand it to map. Malformed records
 * (an unterminated quote, text after a closing quote, a field count that differs from the
 * header's) come back as SHEAF_EFORMAT with the reader already past them.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int csv_parse(const char *arg, sheaf__format *fmt) {
    if (*arg)
        return SHEAF_EINVAL;
    fmt->multiline = true;
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
        if (r->nfields == r->fcap && sheaf__reader_grow_fields(r))
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
            if (r->nfields == r->fcap && sheaf__reader_grow_fields(r))
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


/* Before the first record: the header's names, and the header is not a record. */
static int csv_begin(sheaf__reader *r, char *err, size_t errlen) {
    if (!r->fmt.header)
        return 0;
    int rc = read_header(r, err, errlen);
    if (rc)
        return rc;
    if (r->start == 0) {
        r->skip = true; /* the header is not a record, but counts as the file's first */
        r->lineno++;
    }
    return 0;
}

static int csv_next(sheaf__reader *r, sheaf_record *rec, char *err, size_t errlen) {
    int rc = sheaf__reader_record(r, rec, err, errlen);
    if (rc != 1)
        return rc;
    char why[128];
    rc = parse_csv(r, (const uint8_t *)rec->data, rec->len, why, sizeof why);
    if (rc == SHEAF_EFORMAT || (!rc && r->nh && r->nfields != r->nh)) {
        if (!rc)
            snprintf(why, sizeof why, "%zu fields where the header has %zu", r->nfields, r->nh);
        if (r->start == 0)
            snprintf(err, errlen, "input %s: malformed csv record %llu at offset %llu: %s",
                     r->path, (unsigned long long)r->lineno, (unsigned long long)rec->offset,
                     why);
        else
            snprintf(err, errlen, "input %s: malformed csv record at offset %llu: %s", r->path,
                     (unsigned long long)rec->offset, why);
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
    return 1;
}

const sheaf__infmt sheaf__src_csv = {
    .name = "csv",
    .kind = SHEAF__FMT_CSV,
    .parse = csv_parse,
    .begin = csv_begin,
    .next = csv_next,
};
