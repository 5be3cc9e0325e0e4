/*
 * sort.c: total-order sort of lines or fixed-length records.
 *
 * Lines (the default input format): the whole line is the key and the value is empty, so the
 * output is the input's lines in bytewise order (`LC_ALL=C sort`), duplicates kept (the
 * identity reduce writes one line per value). tsv: the key is the text before the first tab
 * and the line is written back whole (`sort -t TAB -k1,1` with ties in no fixed order).
 * fixed:N (TeraSort records with fixed:100): the key is the first --key-bytes bytes (default
 * 10) and the value the rest; the output format defaults to raw, which writes key and value
 * back to back, so every record comes out byte for byte as it went in.
 *
 * The job sets total_order: the runtime samples the keys and cuts the key range into balanced
 * partitions, so `cat OUT/part-r-*` (in name order) is globally sorted. Check a sorted TeraSort
 * output with `sheaf valsort OUT`.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

typedef struct sort_opts {
    uint64_t key_bytes;
    uint64_t reclen; /* fixed:N, else 0 */
    bool tsv;
} sort_opts;

static sort_opts sopts = {.key_bytes = 10};

static int sort_parse(void *udata, const char *name, const char *value) {
    sort_opts *o = udata;
    if (name && !strcmp(name, "key-bytes")) {
        if (sj_parse_u64(value, &o->key_bytes) || o->key_bytes == 0)
            return -1;
        return 0;
    }
    return -1;
}

static int sort_configure(void *udata, sheaf_config *cfg) {
    sort_opts *o = udata;
    const char *fmt = cfg->input_format ? cfg->input_format : "lines";
    o->reclen = 0;
    o->tsv = !strcmp(fmt, "tsv");
    if (!strncmp(fmt, "fixed:", 6)) {
        if (sj_parse_u64(fmt + 6, &o->reclen) || o->reclen == 0)
            return sj_usage("sort", "bad record length in '%s'", fmt);
        if (o->key_bytes > o->reclen)
            return sj_usage("sort", "--key-bytes %llu is longer than the %llu-byte records",
                            (unsigned long long)o->key_bytes, (unsigned long long)o->reclen);
        if (!cfg->output_format)
            cfg->output_format = "raw";
    } else if (!strcmp(fmt, "csv")) {
        return sj_usage("sort", "csv input is not supported (sort lines, tsv or fixed:N)");
    } else if (cfg->output_format && !strcmp(cfg->output_format, "raw")) {
        return sj_usage("sort", "--output-format raw needs --input-format fixed:N");
    }
    return 0;
}

static int sort_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    sort_opts *o = udata;
    if (o->reclen) {
        size_t k = (size_t)o->key_bytes;
        return sheaf_emit(ctx, rec->data, k, rec->data + k, rec->len - k);
    }
    if (o->tsv && rec->nfields == 2)
        return sheaf_emit(ctx, rec->fields[0], rec->field_lens[0], rec->fields[1],
                          rec->field_lens[1]);
    return sheaf_emit(ctx, rec->data, rec->len, "", 0);
}

static const sheaf_option sort_options[] = {
    {"key-bytes", "N", "fixed:N input: the key is the first N bytes of a record (default 10)"},
    {NULL, NULL, NULL},
};

static const sheaf_job_def sort_job = {
    .name = "sort",
    .map = sort_map,
    .total_order = 1,
    .udata = &sopts,
};

const sheaf_command sheaf_cmd_sort = {
    .name = "sort",
    .summary = "total-order sort of lines, tsv by key, or fixed:N records (TeraSort: fixed:100)",
    .options = sort_options,
    .parse_option = sort_parse,
    .configure = sort_configure,
    .udata = &sopts,
    .job = &sort_job,
};
