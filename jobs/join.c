/*
 * join.c: equi-join of two csv (or tsv: --input-format csv --csv-delimiter '\t') inputs.
 *
 *   sheaf join -i left.csv -i right.csv --left-key id --right-key user_id [--type left]
 *              [--broadcast] --input-format csv --csv-header -o OUT
 *
 * The first -i is the left side and the second the right side (the record's `input` field
 * tells them apart). Output: one line per matching pair, `LEFT<TAB>RIGHT`, where LEFT and
 * RIGHT are the two records as they were read (raw csv text); with --type left a left record
 * with no match is written once as `LEFT<TAB>` (an empty right side). Keys match when their
 * unquoted field values are equal byte for byte; a record without the key field is skipped
 * (user counter "records without the key").
 *
 * Reduce-side join (the default; both sides may be large): map emits the join key plus a tag
 * byte (0 right, 1 left) with the record as value; the key order compares the join key first
 * and the tag second, the grouping order the join key only, and the partitioner hashes only
 * the join key, so one reduce call sees a key's right records first and then its left ones.
 * The reducer keeps the right records of the key in memory and streams the left ones past
 * them, so a key with very many right records needs memory in proportion (put the bigger
 * side on the left). Each partition's output is ordered by join key.
 *
 * Broadcast join (--broadcast; the right side is small): every rank reads the whole right
 * input in setup into a hash table, the map joins each left record on the spot, and no right
 * records are shuffled (the runtime never reads the second input). The output lines are the
 * map's keys, so each partition is sorted by line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jobs.h"

typedef struct bentry { /* broadcast table entry */
    uint64_t hash;
    size_t koff, klen, roff, rlen;
    size_t next; /* index + 1 of the next entry in the bucket chain */
} bentry;

typedef struct join_opts {
    const char *lkey, *rkey;
    bool left, broadcast;
    const char *right_path;
    char delim;
    bool header;
    sj_buf key, line;
    /* reduce side: the current key's right records */
    sj_buf rights;
    size_t *roffs;
    size_t nr, capr;
    /* broadcast side */
    sj_buf bdata;
    bentry *ents;
    size_t nents, capents;
    size_t *buckets;
    size_t nbuckets;
    uint64_t nokey;
} join_opts;

static join_opts jopts;

static int join_parse(void *udata, const char *name, const char *value) {
    join_opts *o = udata;
    if (!name)
        return -1;
    if (!strcmp(name, "left-key"))
        o->lkey = value;
    else if (!strcmp(name, "right-key"))
        o->rkey = value;
    else if (!strcmp(name, "key"))
        o->lkey = o->rkey = value;
    else if (!strcmp(name, "broadcast"))
        o->broadcast = true;
    else if (!strcmp(name, "type")) {
        if (!strcmp(value, "inner"))
            o->left = false;
        else if (!strcmp(value, "left"))
            o->left = true;
        else
            return -1;
    } else
        return -1;
    return 0;
}

static int join_configure(void *udata, sheaf_config *cfg) {
    join_opts *o = udata;
    const char *f = cfg->input_format ? cfg->input_format : "lines";
    if (strcmp(f, "csv"))
        return sj_usage("join", "join reads csv (--input-format csv; for tsv add "
                                "--csv-delimiter '\\t')");
    if (!o->lkey || !o->rkey)
        return sj_usage("join", "give --left-key COL and --right-key COL (or --key COL)");
    if (cfg->ninputs != 2)
        return sj_usage("join", "give two inputs: -i LEFT -i RIGHT");
    const char *keys[2] = {o->lkey, o->rkey};
    if (sj_check_columns("join", cfg, keys, 2))
        return -1;
    o->delim = cfg->csv_delimiter ? cfg->csv_delimiter : ',';
    o->header = cfg->csv_header != 0;
    if (o->broadcast)
        o->right_path = cfg->inputs[1]; /* the runtime reads only the left side (join_run) */
    return 0;
}

/* ---- broadcast join ---- */

static int bload_file(join_opts *o, const char *path, sheaf_ctx *ctx) {
    char *data;
    size_t len;
    int rc = sj_read_file(path, &data, &len);
    if (rc)
        return sheaf_fail(ctx, rc, "cannot read %s: %s", path,
                          rc == SHEAF_EINVAL ? "not a regular file" : sheaf_strerror(rc));
    sheaf_csv fl = {0}, hdr = {0};
    long col = -1;
    size_t off = 0;
    bool first = true;
    while (off < len && !rc) {
        long long n = sheaf_csv_parse(first && o->header ? &hdr : &fl, data + off, len - off,
                                      o->delim, NULL, 0);
        if (n <= 0) {
            rc = sheaf_fail(ctx, SHEAF_EFORMAT, "%s: malformed csv record at offset %zu", path,
                            off);
            break;
        }
        size_t rlen = (size_t)n;
        const char *rec = data + off;
        while (rlen && (rec[rlen - 1] == '\n' || rec[rlen - 1] == '\r'))
            rlen--;
        off += (size_t)n;
        if (first) {
            first = false;
            col = sj_column_index(o->header ? &hdr : NULL, o->rkey);
            if (col < 0 || (o->header && (size_t)col >= hdr.nfields)) {
                rc = sj_no_column(ctx, path, o->rkey, hdr.fields, hdr.field_lens, hdr.nfields);
                break;
            }
            if (o->header)
                continue;
        }
        if ((size_t)col >= fl.nfields) {
            o->nokey++;
            continue;
        }
        if (o->nents == o->capents) {
            size_t cap = o->capents ? o->capents * 2 : 1024;
            bentry *e = realloc(o->ents, cap * sizeof *e);
            if (!e) {
                rc = SHEAF_ENOMEM;
                break;
            }
            o->ents = e;
            o->capents = cap;
        }
        bentry *e = &o->ents[o->nents++];
        e->hash = sheaf_hash(fl.fields[col], fl.field_lens[col], 7);
        e->koff = o->bdata.len;
        e->klen = fl.field_lens[col];
        if (sj_buf_add(&o->bdata, fl.fields[col], fl.field_lens[col])) {
            rc = SHEAF_ENOMEM;
            break;
        }
        e->roff = o->bdata.len;
        e->rlen = rlen;
        if (sj_buf_add(&o->bdata, rec, rlen))
            rc = SHEAF_ENOMEM;
    }
    sheaf_csv_free(&fl);
    sheaf_csv_free(&hdr);
    free(data);
    return rc;
}

static int join_setup(sheaf_ctx *ctx, void *udata) {
    join_opts *o = udata;
    o->nokey = 0;
    if (!o->broadcast)
        return 0;
    o->bdata.len = 0;
    o->nents = 0;
    char **files;
    size_t n;
    char why[512];
    int lrc = sheaf_list_inputs(o->right_path, &files, &n, why, sizeof why);
    struct stat st;
    if (lrc == SHEAF_EINVAL && stat(o->right_path, &st) == 0 && !S_ISDIR(st.st_mode))
        return sheaf_fail(ctx, lrc, "cannot read %s: not a regular file", o->right_path);
    if (lrc && lrc != SHEAF_ENOENT)
        return sheaf_fail(ctx, lrc, "broadcast side: %s", why);
    if (lrc || n == 0)
        return sheaf_fail(ctx, SHEAF_ENOENT, "broadcast side %s: no such file", o->right_path);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = bload_file(o, files[i], ctx);
    sheaf_list_free(files, n);
    if (rc)
        return rc;
    o->nbuckets = 1;
    while (o->nbuckets < 2 * o->nents + 1)
        o->nbuckets *= 2;
    free(o->buckets);
    o->buckets = calloc(o->nbuckets, sizeof *o->buckets);
    if (!o->buckets)
        return SHEAF_ENOMEM;
    /* Chains keep file order: insert from the end. */
    for (size_t i = o->nents; i > 0; i--) {
        bentry *e = &o->ents[i - 1];
        size_t b = e->hash & (o->nbuckets - 1);
        e->next = o->buckets[b];
        o->buckets[b] = i;
    }
    return 0;
}

static int emit_pair(sheaf_ctx *ctx, join_opts *o, const char *l, size_t llen, const char *r,
                     size_t rlen) {
    o->line.len = 0;
    if (sj_buf_add(&o->line, l, llen) || sj_buf_addc(&o->line, '\t') ||
        sj_buf_add(&o->line, r, rlen))
        return SHEAF_ENOMEM;
    return sheaf_emit(ctx, o->line.p, o->line.len, "", 0);
}

static int broadcast_map(sheaf_ctx *ctx, const sheaf_record *rec, join_opts *o,
                         const char *k, size_t klen) {
    uint64_t h = sheaf_hash(k, klen, 7);
    bool matched = false;
    for (size_t i = o->buckets[h & (o->nbuckets - 1)]; i; i = o->ents[i - 1].next) {
        bentry *e = &o->ents[i - 1];
        if (e->hash != h || e->klen != klen || memcmp(o->bdata.p + e->koff, k, klen))
            continue;
        matched = true;
        int rc = emit_pair(ctx, o, rec->data, rec->len, o->bdata.p + e->roff, e->rlen);
        if (rc)
            return rc;
    }
    if (!matched && o->left)
        return emit_pair(ctx, o, rec->data, rec->len, "", 0);
    return 0;
}

/* ---- reduce-side join ---- */

static int join_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    join_opts *o = udata;
    bool isleft = rec->input == 0;
    size_t klen;
    int rc;
    const char *k = sj_field(ctx, rec, isleft ? o->lkey : o->rkey, &klen, &rc);
    if (!k) {
        o->nokey++;
        return rc;
    }
    if (o->broadcast)
        return broadcast_map(ctx, rec, o, k, klen);
    o->key.len = 0;
    if (sj_buf_add(&o->key, k, klen) || sj_buf_addc(&o->key, isleft ? 1 : 0))
        return SHEAF_ENOMEM;
    return sheaf_emit(ctx, o->key.p, o->key.len, rec->data, rec->len);
}

static int key_compare(const void *a, size_t alen, const void *b, size_t blen) {
    if (!alen || !blen)
        return (alen > 0) - (blen > 0);
    size_t x = alen - 1, y = blen - 1, n = x < y ? x : y;
    int c = memcmp(a, b, n);
    if (c)
        return c;
    if (x != y)
        return x < y ? -1 : 1;
    return (int)((const unsigned char *)a)[x] - (int)((const unsigned char *)b)[y];
}

static int key_group(const void *a, size_t alen, const void *b, size_t blen) {
    if (!alen || !blen)
        return (alen > 0) - (blen > 0);
    size_t x = alen - 1, y = blen - 1, n = x < y ? x : y;
    int c = memcmp(a, b, n);
    return c ? c : (x > y) - (x < y);
}

static uint32_t key_partition(const void *key, size_t klen, uint32_t nparts, void *udata) {
    join_opts *o = udata;
    if (o->broadcast) /* output lines: any spread will do */
        return (uint32_t)(sheaf_hash(key, klen, 3) % nparts);
    return (uint32_t)(sheaf_hash(key, klen ? klen - 1 : 0, 3) % nparts);
}

static int join_reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                       void *udata) {
    join_opts *o = udata;
    (void)key;
    (void)klen;
    o->rights.len = 0;
    o->nr = 0;
    const void *v;
    size_t vlen;
    int rc = 0;
    while (!rc && sheaf_values_next(vals, &v, &vlen)) {
        size_t kl;
        const unsigned char *k = sheaf_values_key(vals, &kl);
        if (o->broadcast) { /* identity: the key is the output line */
            rc = sheaf_emit(ctx, k, kl, "", 0);
            continue;
        }
        if (kl && k[kl - 1] == 0) { /* a right record: keep it */
            if (o->nr == o->capr) {
                size_t cap = o->capr ? o->capr * 2 : 16;
                size_t *p = realloc(o->roffs, (cap + 1) * sizeof *p);
                if (!p)
                    return SHEAF_ENOMEM;
                o->roffs = p;
                o->capr = cap;
            }
            o->roffs[o->nr++] = o->rights.len;
            if (sj_buf_add(&o->rights, v, vlen))
                return SHEAF_ENOMEM;
            o->roffs[o->nr] = o->rights.len;
            continue;
        }
        if (o->nr == 0 && o->left) {
            rc = emit_pair(ctx, o, v, vlen, "", 0);
            continue;
        }
        /* v is only valid until the next call: copy it to the line buffer first. */
        for (size_t i = 0; i < o->nr && !rc; i++)
            rc = emit_pair(ctx, o, v, vlen, o->rights.p + o->roffs[i],
                           o->roffs[i + 1] - o->roffs[i]);
    }
    return rc;
}

static int join_cleanup(sheaf_ctx *ctx, void *udata) {
    join_opts *o = udata;
    return o->nokey ? sheaf_counter_add(ctx, "records without the key", (int64_t)o->nokey) : 0;
}

static int join_run(MPI_Comm comm, const sheaf_command *cmd, const sheaf_config *cfg,
                    sheaf_result *res) {
    join_opts *o = cmd->udata;
    sheaf_job_def j = *cmd->job;
    sheaf_config c = *cfg;
    if (o->broadcast) {
        /* The runtime reads the left input; the right one, read whole by each rank, is a side
         * input, guarded as inputs are (an --overwrite output never holds it). */
        c.ninputs = 1;
        c.side_inputs = cfg->inputs + 1;
        c.nside_inputs = 1;
        j.compare = NULL;
        j.group = NULL;
    }
    return sheaf_run(comm, &j, &c, res);
}

static const sheaf_option join_options[] = {
    {"left-key", "COL", "join column of the left input (the first -i)"},
    {"right-key", "COL", "join column of the right input (the second -i)"},
    {"key", "COL", "the same join column name on both sides"},
    {"type", "TYPE", "inner (default) or left"},
    {"broadcast", NULL, "read the right input whole on every rank (small right side)"},
    {NULL, NULL, NULL},
};

static const sheaf_job_def join_job = {
    .name = "join",
    .map = join_map,
    .reduce = join_reduce,
    .compare = key_compare,
    .group = key_group,
    .partition = key_partition,
    .setup = join_setup,
    .cleanup = join_cleanup,
    .udata = &jopts,
};

const sheaf_command sheaf_cmd_join = {
    .name = "join",
    .summary = "equi-join of two csv inputs (reduce-side or --broadcast): LEFT TAB RIGHT",
    .options = join_options,
    .parse_option = join_parse,
    .configure = join_configure,
    .udata = &jopts,
    .job = &join_job,
    .run = join_run,
};
