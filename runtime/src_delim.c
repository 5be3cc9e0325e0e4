/*
 * src_delim.c: records that end at a delimiter byte, the scan shared by the lines, tsv and csv
 * sources, and the delimiter's own syntax (--record-delimiter).
 *
 * A record ends at the delimiter (LF by default, any byte with --record-delimiter); with LF,
 * a CR before it is dropped; a last record without a delimiter is a record. The end is found
 * with memchr over the reader's buffer, so a record costs one scan and no system call; csv
 * that may hold newlines in quotes scans byte by byte instead, keeping track of the quotes.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

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

/* Finds the end of the record starting at off: the index of its delimiter in buf, or -1 when
 * the file ends first. Multi-line csv skips delimiters inside quotes. */
long long sheaf__reader_find_end(sheaf__reader *r, char *err, size_t errlen, int *rc) {
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
        int f = sheaf__reader_fill(r, err, errlen);
        if (f < 0) {
            *rc = f;
            return -1;
        }
        if (f == 0)
            return -1;
        scanned = keep; /* after the compaction, the unscanned bytes start here */
    }
}


int sheaf__reader_record(sheaf__reader *r, sheaf_record *rec, char *err, size_t errlen) {
    int rc = 0;
    long long nl = sheaf__reader_find_end(r, err, errlen, &rc);
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
    return 1;
}
