/*
 * src_fixed.c: the fixed source (fixed:N): records of exactly N bytes, back to back, as
 * TeraSort's 100-byte records. Records start at multiples of N, which the planner makes every
 * split start on; a file whose size is not a multiple of N fails the job at planning, and a
 * short last record (the file changed) is a malformed record.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static int fixed_parse(const char *arg, sheaf__format *fmt) {
    if (*arg != ':')
        return SHEAF_EINVAL;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(arg + 1, &end, 10);
    if (errno || *end || n == 0 || arg[1] == '-' || n > (1ull << 30))
        return SHEAF_EINVAL;
    fmt->reclen = n;
    return 0;
}

static int fixed_next(sheaf__reader *r, sheaf_record *rec, char *err, size_t errlen) {
    size_t n = (size_t)r->fmt.reclen;
    while (r->len - r->off < n) {
        int f = sheaf__reader_fill(r, err, errlen);
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

const sheaf__infmt sheaf__src_fixed = {
    .name = "fixed",
    .kind = SHEAF__FMT_FIXED,
    .aligned = true,
    .parse = fixed_parse,
    .next = fixed_next,
};
