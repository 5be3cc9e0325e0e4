/*
 * src_tsv.c: the tsv source: lines whose text before the first tab is the key (field 0) and
 * the rest the value (field 1), as in Hadoop Streaming; a line without a tab is one field.
 * With a header (--csv-header), the first line names the two fields and is not a record.
 */
#include "internal.h"

#include <string.h>

static int tsv_parse(const char *arg, sheaf__format *fmt) {
    return *arg ? SHEAF_EINVAL : 0;
}

static int tsv_next(sheaf__reader *r, sheaf_record *rec, char *err, size_t errlen) {
    int rc = sheaf__reader_record(r, rec, err, errlen);
    if (rc != 1)
        return rc;
    if (r->fcap < 2 && sheaf__reader_grow_fields(r))
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
    rec->nheader = r->nh;
    rec->header = r->hfields;
    rec->header_lens = r->hlens;
    return 1;
}

const sheaf__infmt sheaf__src_tsv = {
    .name = "tsv",
    .kind = SHEAF__FMT_TSV,
    .parse = tsv_parse,
    .begin = sheaf__reader_begin_header,
    .next = tsv_next,
};
