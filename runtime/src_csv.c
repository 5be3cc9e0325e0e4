/*
 * src_csv.c: the csv source (RFC 4180).
 *
 * Fields are separated by the delimiter byte (--csv-delimiter, default ','), optionally
 * quoted, "" inside quotes for a quote. Quoted fields may hold newlines; a csv file splits like
 * any other all the same (csvsplit.c tells a split that starts inside quotes). With a header,
 * each reader reads the file's first record for the column names (sheaf__reader_header) and
 * the split at offset 0 does not hand it to map. Malformed records
 * (an unterminated quote, text after a closing quote, a field count that differs from the
 * header's) come back as SHEAF_EFORMAT with the reader already past them. sheaf_csv_parse
 * gives a program the same parse of one record of a buffer it holds.
 */
#include "internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
static int parse_csv(sheaf__reader *r, const uint8_t *p, size_t n, uint64_t offset, char *err,
                     size_t errlen) {
    const uint8_t *rec = p;
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
            const uint8_t *open = p++;
            for (;;) {
                if (p == end) {
                    snprintf(err, errlen, "unterminated quoted field (the quote at offset %llu "
                             "is never closed)",
                             (unsigned long long)(offset + (size_t)(open - rec)));
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

/* ---- sheaf_csv_parse: one record of a buffer, as the source reads it ---- */

SHEAF_EXTERN long long sheaf_csv_parse(sheaf_csv *csv, const char *p, size_t n, char delim,
                                       char *err, size_t errlen) {
    sheaf__reader *r = csv->priv;
    if (!r && !(r = csv->priv = calloc(1, sizeof *r)))
        return SHEAF_ENOMEM;
    r->fmt.sep = (uint8_t)delim;
    csv->nfields = 0;
    /* The record ends at the first LF outside quotes, as sheaf__reader_find_end finds it. */
    size_t end = 0;
    bool quoted = false;
    while (end < n && (p[end] != '\n' || quoted)) {
        if (p[end] == '"')
            quoted = !quoted;
        end++;
    }
    size_t used = end + (end < n), len = end;
    if (len > 0 && p[len - 1] == '\r')
        len--;
    char why[160];
    int rc = parse_csv(r, (const uint8_t *)p, len, 0, why, sizeof why);
    if (rc) {
        if (err && errlen)
            snprintf(err, errlen, "%s", rc == SHEAF_EFORMAT ? why : sheaf_strerror(rc));
        return rc;
    }
    csv->nfields = r->nfields;
    csv->fields = r->fields;
    csv->field_lens = r->flens;
    return (long long)used;
}

SHEAF_EXTERN void sheaf_csv_free(sheaf_csv *csv) {
    sheaf__reader *r = csv->priv;
    if (r) {
        free(r->fields);
        free(r->flens);
        sheaf__buf_free(&r->unq);
        free(r);
    }
    memset(csv, 0, sizeof *csv);
}

static int csv_next(sheaf__reader *r, sheaf_record *rec, char *err, size_t errlen) {
    int rc = sheaf__reader_record(r, rec, err, errlen);
    if (rc != 1)
        return rc;
    char why[160];
    rc = parse_csv(r, (const uint8_t *)rec->data, rec->len, rec->offset, why, sizeof why);
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
    .begin = sheaf__reader_begin_header,
    .next = csv_next,
};
