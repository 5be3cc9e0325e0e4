/*
 * src_lines.c: the lines source, the default: one record a line (ending at the record
 * delimiter, src_delim.c), or, for a job that sets map_blocks, blocks of whole lines
 * (src_blocks.c).
 */
#include "internal.h"

static int lines_parse(const char *arg, sheaf__format *fmt) {
    return *arg ? SHEAF_EINVAL : 0;
}

static int lines_next(sheaf__reader *r, sheaf_record *rec, char *err, size_t errlen) {
    if (r->blocks && sheaf__reader_block(r, rec))
        return 1;
    return sheaf__reader_record(r, rec, err, errlen);
}

const sheaf__infmt sheaf__src_lines = {
    .name = "lines",
    .kind = SHEAF__FMT_LINES,
    .parse = lines_parse,
    .next = lines_next,
};
