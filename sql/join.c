/*
 * join.c: the joins of `sheaf sql` (exec.h). The join round (round 0) tags each row of both
 * tables with its side and shuffles it by its join key; reduce pairs a key's rows and writes
 * the joined rows as CSV, which round 1 reads as its table. The broadcast join reads the right
 * table into a hash table on every rank in setup and joins each left row in map.
 */
#include <stdlib.h>
#include <string.h>

#include "parquet.h"
#include "sql/exec.h"

/* ---- the join round ------------------------------------------------------------------------ */

/* A table row of one side: key = 0x00 and the join key's values (or, for a left row whose key
 * is NULL in a LEFT JOIN, 0x01 and where it came from, so that it meets nothing); value = the
 * side and the values of the columns the query reads. Rows with a NULL key that can match
 * nothing are dropped. */
int sql_join_map(sheaf_ctx *ctx, sql_exec *x, const sheaf_record *rec, sql_env *env) {
    sql_bound *b = x->b;
    int side = rec->input ? 1 : 0;
    sql_node **keys = side ? b->rkeys : b->lkeys;
    x->key.len = 0;
    x->val.len = 0;
    if (sj_buf_addc(&x->key, 0))
        return sql_oom(ctx);
    bool null = false;
    for (size_t k = 0; k < b->nkeys; k++) {
        sql_value v;
        if (sql_eval(keys[k], env, &v))
            return sheaf_fail(ctx, SHEAF_EUSER, "%s, offset %llu: %s", rec->file,
                              (unsigned long long)rec->offset, x->err);
        null |= v.null;
        if (sql_key_put(&x->key, &v))
            return sql_oom(ctx);
    }
    if (null) {
        if (side == 1 || !b->q->left_join)
            return 0;
        unsigned char k[17] = {1};
        sheaf_key_u64(sheaf_hash(rec->file, strlen(rec->file), 0), k + 1);
        sheaf_key_u64(rec->offset, k + 9);
        x->key.len = 0;
        if (sj_buf_add(&x->key, k, sizeof k))
            return sql_oom(ctx);
    }
    if (sj_buf_addc(&x->val, (char)side))
        return sql_oom(ctx);
    for (size_t k = 0; k < x->nucols; k++) {
        size_t c = x->ucols[k];
        if (x->t->tab[c] == side && sql_value_put(&x->val, &x->row[c]))
            return sql_oom(ctx);
    }
    return sheaf_emit(ctx, x->key.p, x->key.len, x->val.p, x->val.len);
}

/* One value as a field of the join's CSV output: NULL empty, strings quoted with a leading
 * 's', others as text. */
int sql_join_field(sj_buf *out, const sql_value *v) {
    if (v->null)
        return 0;
    if (v->type == SQL_STRING) {
        int rc = sj_buf_add(out, "\"s", 2);
        for (size_t i = 0; i < v->u.s.n && !rc; i++)
            rc = (v->u.s.p[i] == '"' && sj_buf_addc(out, '"')) || sj_buf_addc(out, v->u.s.p[i]);
        return rc || sj_buf_addc(out, '"') ? -1 : 0;
    }
    char buf[96];
    const char *p;
    size_t n = sql_format(v, buf, sizeof buf, &p);
    return sj_buf_add(out, p, n) ? -1 : 0;
}

/* Reads a side's values (after its tag byte) into x->row. */
static int join_row(sql_exec *x, int side, const char *p, size_t n) {
    size_t off = 1;
    for (size_t u = 0; u < x->nucols; u++) {
        size_t c = x->ucols[u];
        if (x->t->tab[c] != side)
            continue;
        size_t k = sql_value_get(p + off, n - off, &x->row[c]);
        if (!k)
            return -1;
        off += k;
    }
    return 0;
}

static int join_emit(sheaf_ctx *ctx, sql_exec *x) {
    sj_buf *l = &x->line;
    l->len = 0;
    for (size_t k = 0; k < x->nucols; k++)
        if ((k && sj_buf_addc(l, ',')) || sql_join_field(l, &x->row[x->ucols[k]]))
            return sql_oom(ctx);
    if (sj_buf_addc(l, '\n'))
        return sql_oom(ctx);
    return sheaf_emit(ctx, l->p, l->len, NULL, 0);
}

static void set_side_null(sql_exec *x, int side) {
    for (size_t c = 0; c < x->t->ncols; c++) {
        if (x->t->tab[c] == side) {
            memset(&x->row[c], 0, sizeof x->row[c]);
            x->row[c].type = (uint8_t)x->t->types[c];
            x->row[c].null = true;
        }
    }
}

/* A key's rows of both sides, joined: each left row with each right row, or (LEFT JOIN) with
 * NULLs when there is none. The group is held in memory. Output: CSV lines under a header
 * (c<column number>) at the start of each partition. */
int sql_join_reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals, void *udata) {
    sql_exec *x = udata;
    (void)key;
    (void)klen;
    uint32_t part = sheaf_partition(ctx);
    if (!x->hdr_any || part != x->hdr_part) {
        x->hdr_any = true;
        x->hdr_part = part;
        sj_buf *h = &x->line;
        h->len = 0;
        for (size_t k = 0; k < x->nucols; k++)
            if (sj_buf_printf(h, "%sc%zu", k ? "," : "", x->ucols[k]))
                return sql_oom(ctx);
        if (!x->nucols && sj_buf_add(h, "c", 1))
            return sql_oom(ctx);
        if (sj_buf_addc(h, '\n'))
            return sql_oom(ctx);
        int rc = sheaf_emit(ctx, h->p, h->len, NULL, 0);
        if (rc)
            return rc;
    }
    x->jl.len = x->jr.len = 0;
    x->njl = x->njr = 0;
    const void *v;
    size_t vlen;
    while (sheaf_values_next(vals, &v, &vlen)) {
        if (!vlen)
            continue;
        int side = ((const char *)v)[0] ? 1 : 0;
        sj_buf *dst = side ? &x->jr : &x->jl;
        uint32_t n = (uint32_t)vlen;
        if (sj_buf_add(dst, &n, 4) || sj_buf_add(dst, v, vlen))
            return sql_oom(ctx);
        *(side ? &x->njr : &x->njl) += 1;
    }
    for (size_t lo = 0; lo + 4 <= x->jl.len;) {
        uint32_t ln;
        memcpy(&ln, x->jl.p + lo, 4);
        if (join_row(x, 0, x->jl.p + lo + 4, ln))
            return sheaf_fail(ctx, SHEAF_EUSER, "sql: a malformed join row");
        if (!x->njr) {
            if (x->b->q->left_join) {
                set_side_null(x, 1);
                int rc = join_emit(ctx, x);
                if (rc)
                    return rc;
            }
        }
        for (size_t ro = 0; ro + 4 <= x->jr.len;) {
            uint32_t rn;
            memcpy(&rn, x->jr.p + ro, 4);
            if (join_row(x, 1, x->jr.p + ro + 4, rn))
                return sheaf_fail(ctx, SHEAF_EUSER, "sql: a malformed join row");
            int rc = join_emit(ctx, x);
            if (rc)
                return rc;
            ro += 4 + (size_t)rn;
        }
        lo += 4 + (size_t)ln;
    }
    return 0;
}

/* ---- the broadcast join ------------------------------------------------------------------ */

static size_t bslot_of(const sql_exec *x, const char *k, size_t n) {
    return (size_t)(sheaf_hash(k, n, 7) & (x->nbslot - 1));
}

/* Adds one right row (x->row's right columns) under its key. Returns 0 or -1. */
static int bcast_add(sql_exec *x, const char *key, size_t klen) {
    if (x->nbent == x->capbent) {
        size_t cap = x->capbent ? 2 * x->capbent : 1024;
        struct bent *e = realloc(x->bent, cap * sizeof *e);
        if (!e)
            return -1;
        x->bent = e;
        x->capbent = cap;
    }
    if (2 * (x->nbent + 1) > x->nbslot) {
        size_t ns = x->nbslot ? 2 * x->nbslot : 2048;
        size_t *sl = calloc(ns, sizeof *sl);
        if (!sl)
            return -1;
        free(x->bslot);
        x->bslot = sl;
        x->nbslot = ns;
        for (size_t i = 0; i < x->nbent; i++) { /* rehash: chains of equal keys stay */
            struct bent *e = &x->bent[i];
            uint32_t kl;
            memcpy(&kl, x->bkeys.p + e->key, 4);
            size_t h = bslot_of(x, x->bkeys.p + e->key + 4, kl);
            e->next = sl[h];
            sl[h] = i + 1;
        }
    }
    struct bent *e = &x->bent[x->nbent];
    e->key = x->bkeys.len;
    e->row = x->brows.len;
    uint32_t kl = (uint32_t)klen;
    if (sj_buf_add(&x->bkeys, &kl, 4) || sj_buf_add(&x->bkeys, key, klen))
        return -1;
    x->tmp.len = 0;
    for (size_t c = 0; c < x->t->ncols; c++)
        if (x->b->used[c] && x->t->tab[c] == 1 && sql_value_put(&x->tmp, &x->row[c]))
            return -1;
    uint32_t rl = (uint32_t)x->tmp.len;
    if (sj_buf_add(&x->brows, &rl, 4) || sj_buf_add(&x->brows, x->tmp.p, x->tmp.len))
        return -1;
    size_t h = bslot_of(x, key, klen);
    e->next = x->bslot[h];
    x->bslot[h] = x->nbent + 1;
    x->nbent++;
    return 0;
}

/* Adds the right row in x->row (read at file, offset at) under its join key; a row with a
 * NULL key can match nothing and is dropped. */
static int bcast_row(sheaf_ctx *ctx, sql_exec *x, const char *file, size_t at) {
    sql_env env = {x->row, NULL, NULL, &x->arena, x->err, sizeof x->err};
    int rc = 0;
    x->key.len = 0;
    bool null = false;
    for (size_t k2 = 0; k2 < x->b->nkeys && !rc; k2++) {
        sql_value v;
        if (sql_eval(x->b->rkeys[k2], &env, &v))
            rc = sheaf_fail(ctx, SHEAF_EUSER, "%s, offset %zu: %s", file, at, x->err);
        else if (sql_key_put(&x->key, &v))
            rc = sql_oom(ctx);
        null |= v.null;
    }
    if (!rc && !null && bcast_add(x, x->key.p, x->key.len))
        rc = sql_oom(ctx);
    sql_arena_reset(&x->arena);
    return rc;
}

/* Sets x->row[c] (a right column) from a field's text; nul: the field is NULL. */
static int bcast_field(sheaf_ctx *ctx, sql_exec *x, size_t c, const char *p, size_t n, bool nul,
                       const char *file, size_t at) {
    sql_value *v = &x->row[c];
    memset(v, 0, sizeof *v);
    v->type = (uint8_t)x->t->types[c];
    v->null = true;
    if (nul || (!n && x->t->types[c] != SQL_STRING) || (!n && !x->bparquet))
        return 0;
    if (sql_parse_as(x->t->types[c], p, n, v))
        return sheaf_fail(ctx, SHEAF_EFORMAT, "%s, offset %zu: column '%s': '%.*s' is not a %s",
                          file, at, x->t->names[c], (int)(n > 64 ? 64 : n), p,
                          sql_type_name(x->t->types[c]));
    if (x->t->types[c] == SQL_STRING) {
        /* the text lives in the file's buffer only until the next row group */
        char *copy = sql_arena_alloc(&x->arena, n ? n : 1);
        if (!copy)
            return sql_oom(ctx);
        memcpy(copy, p, n);
        v->u.s.p = copy;
    }
    return 0;
}

/* The right table's rows of one Parquet file, row group by row group, into the hash table. */
static int bcast_parquet(sheaf_ctx *ctx, sql_exec *x, const char *file, long *pos) {
    char err[512];
    sheaf__pqr *r = sheaf__pqr_open(file, err, sizeof err);
    if (!r)
        return sheaf_fail(ctx, SHEAF_EFORMAT, "%s", err);
    int rc = 0;
    size_t nc = sheaf__pqr_ncols(r);
    for (size_t c = 0; c < x->t->ncols && !rc; c++) {
        pos[c] = -1;
        if (!x->b->used[c] || x->t->tab[c] != 1)
            continue;
        for (size_t i = 0; i < nc; i++)
            if (!strcmp(sheaf__pqr_col(r, i)->name, x->t->names[c]))
                pos[c] = (long)i;
        if (pos[c] < 0)
            rc = sheaf_fail(ctx, SHEAF_EFORMAT, "%s: no column '%s' in its schema", file,
                            x->t->names[c]);
    }
    const sheaf__pqval **vals = calloc(x->t->ncols + 1, sizeof *vals);
    if (!rc && !vals)
        rc = sql_oom(ctx);
    for (size_t rg = 0; rg < sheaf__pqr_nrowgroups(r) && !rc; rg++) {
        for (size_t c = 0; c < x->t->ncols && !rc; c++)
            if (pos[c] >= 0 && sheaf__pqr_read(r, rg, (size_t)pos[c], &vals[c], err, sizeof err))
                rc = sheaf_fail(ctx, SHEAF_EFORMAT, "%s", err);
        uint64_t rows = sheaf__pqr_rows(r, rg);
        for (uint64_t i = 0; i < rows && !rc; i++) {
            for (size_t c = 0; c < x->t->ncols && !rc; c++) {
                if (x->t->tab[c] != 1)
                    continue;
                char buf[96];
                const char *p = "";
                size_t n = 0;
                bool nul = pos[c] < 0 || vals[c][i].null;
                if (!nul)
                    n = sheaf__pq_text(sheaf__pqr_col(r, (size_t)pos[c]), &vals[c][i], buf, &p);
                rc = bcast_field(ctx, x, c, p, n, nul, file, (size_t)i);
            }
            if (!rc)
                rc = bcast_row(ctx, x, file, (size_t)i);
        }
    }
    free(vals);
    sheaf__pqr_close(r);
    return rc;
}

/* setup: every rank reads the whole right table (csv or tsv, compressed or not, or Parquet)
 * into the hash table (rows with a NULL key can match nothing and are dropped). */
int sql_bcast_setup(sheaf_ctx *ctx, void *udata) {
    sql_exec *x = udata;
    if (!x->bcast)
        return 0;
    char **files = NULL;
    size_t nf = 0;
    int rc = sheaf_list_inputs(x->bpath, &files, &nf, NULL, 0);
    if (rc)
        return sheaf_fail(ctx, rc, "%s: cannot list the files", x->bpath);
    sheaf_csv fl = {0};
    long *pos = calloc(x->t->ncols + 1, sizeof *pos);
    if (!pos)
        rc = sql_oom(ctx);
    for (size_t f = 0; f < nf && !rc && x->bparquet; f++)
        rc = bcast_parquet(ctx, x, files[f], pos);
    for (size_t f = 0; f < nf && !rc && !x->bparquet; f++) {
        char *data = NULL;
        size_t len = 0;
        char err[512];
        if ((rc = sql_read_head(files[f], SIZE_MAX, &data, &len, err, sizeof err))) {
            rc = sheaf_fail(ctx, rc, "%s", err);
            break;
        }
        size_t off = 0;
        bool header = true;
        while (off < len && !rc) {
            long long k = sheaf_csv_parse(&fl, data + off, len - off, x->bdelim, NULL, 0);
            if (k <= 0) {
                rc = sheaf_fail(ctx, SHEAF_EFORMAT, "%s, offset %zu: malformed csv", files[f], off);
                break;
            }
            size_t at = off;
            off += (size_t)k;
            if (header) {
                header = false;
                for (size_t c = 0; c < x->t->ncols && !rc; c++) {
                    pos[c] = -1;
                    if (!x->b->used[c] || x->t->tab[c] != 1)
                        continue;
                    for (size_t i = 0; i < fl.nfields; i++)
                        if (strlen(x->t->names[c]) == fl.field_lens[i] &&
                            !memcmp(x->t->names[c], fl.fields[i], fl.field_lens[i]))
                            pos[c] = (long)i;
                    if (pos[c] < 0)
                        rc = sheaf_fail(ctx, SHEAF_EFORMAT, "%s: no column '%s' in its header",
                                        files[f], x->t->names[c]);
                }
                continue;
            }
            if (fl.nfields == 1 && fl.field_lens[0] == 0)
                continue; /* a blank line */
            for (size_t c = 0; c < x->t->ncols && !rc; c++) {
                if (x->t->tab[c] != 1)
                    continue;
                bool nul = !x->b->used[c] || (size_t)pos[c] >= fl.nfields;
                rc = bcast_field(ctx, x, c, nul ? "" : fl.fields[pos[c]],
                                 nul ? 0 : fl.field_lens[pos[c]], nul, files[f], at);
            }
            if (!rc)
                rc = bcast_row(ctx, x, files[f], at);
        }
        free(data);
    }
    sheaf_csv_free(&fl);
    free(pos);
    sheaf_list_free(files, nf);
    return rc;
}

/* A left row: each right row of its key joins it (or, in a LEFT JOIN, NULLs when none
 * does), and each joined row goes through the query as a row of its table. */
int sql_bcast_map(sheaf_ctx *ctx, sql_exec *x, const sheaf_record *rec, sql_env *env) {
    sql_bound *b = x->b;
    sj_buf key = {0};
    bool null = false;
    int rc = 0;
    for (size_t k = 0; k < b->nkeys && !rc; k++) {
        sql_value v;
        if (sql_eval(b->lkeys[k], env, &v))
            rc = sheaf_fail(ctx, SHEAF_EUSER, "%s, offset %llu: %s", rec->file,
                            (unsigned long long)rec->offset, x->err);
        else if (sql_key_put(&key, &v))
            rc = sql_oom(ctx);
        null |= v.null;
    }
    bool matched = false;
    if (!rc && !null && x->nbslot) {
        for (size_t i = x->bslot[bslot_of(x, key.p, key.len)]; i && !rc; i = x->bent[i - 1].next) {
            const struct bent *e = &x->bent[i - 1];
            uint32_t kl, rl;
            memcpy(&kl, x->bkeys.p + e->key, 4);
            if (kl != key.len || memcmp(x->bkeys.p + e->key + 4, key.p, kl))
                continue;
            matched = true;
            memcpy(&rl, x->brows.p + e->row, 4);
            const char *p = x->brows.p + e->row + 4;
            size_t off = 0;
            for (size_t k = 0; k < x->nucols; k++)
                if (x->t->tab[x->ucols[k]] == 1)
                    off += sql_value_get(p + off, rl - off, &x->row[x->ucols[k]]);
            rc = sql_process_row(ctx, x, rec, env);
        }
    }
    if (!rc && !matched && b->q->left_join) {
        set_side_null(x, 1);
        rc = sql_process_row(ctx, x, rec, env);
    }
    sj_buf_free(&key);
    return rc;
}
