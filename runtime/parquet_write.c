/*
 * parquet_write.c: writes a Parquet file of flat columns.
 *
 * Rows are staged one at a time (the setters fill a pending row; sheaf__pqw_end_row checks it
 * and appends it to the column buffers), so a row that fails leaves no trace. Each column
 * buffers its definition levels (one byte a row), its values PLAIN-encoded, and, for
 * strings, a dictionary (an open-addressing table over XXH3 of the bytes) with one index per
 * value. When a row group is full (a number of rows, or a memory bound of buffered bytes),
 * each column is written as one column chunk: for strings whose dictionary stayed under the
 * limit, a dictionary page (PLAIN) and RLE_DICTIONARY data pages; otherwise PLAIN data pages.
 * Data pages are version 1: the definition levels (bit width 1, RLE/bit-packed hybrid with a
 * 4-byte length) of optional columns, then the values, compressed together by the file's
 * codec. Every chunk carries statistics (null count; min and max in the type's order: signed
 * for integers, IEEE for doubles with none written when a NaN occurs and zero's sign widened,
 * unsigned bytewise for strings, false < true), so readers may skip row groups by them. The
 * footer (FileMetaData in the Thrift compact protocol) lists the schema with converted and
 * logical types, the row groups (serialized as they are written) and a type-defined column
 * order for each column; the file is PAR1, the chunks, the footer, its length, PAR1.
 */
#include "parquet.h"
#include "thrift.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <xxhash.h>

#define DEFAULT_ROWS (1u << 20)
#define DEFAULT_DICT_LIMIT (1u << 20)
#define DEFAULT_PAGE (1u << 20)
#define GROUP_BYTES ((size_t)128 << 20) /* buffered bytes that close a row group early */
#define STAT_MAX 1024                   /* longer string minimums and maximums are left out */
#define FLUSH_AT (1u << 20)

typedef struct pending {
    bool set, null;
    int64_t i;
    double d;
    size_t soff, slen; /* a string: bytes in w->scratch */
} pending;

typedef struct pcol {
    const struct sheaf__col *def;
    int ptype;
    sheaf__buf defs; /* one byte per row: 1 a value, 0 null */
    sheaf__buf vals; /* PLAIN values (a byte per bool) */
    size_t nvals;
    uint64_t nulls;
    /* dictionary (strings) */
    bool dict_on;
    sheaf__buf dict; /* PLAIN entries */
    uint64_t *doff;  /* entry offsets in dict */
    size_t ndict, capdict;
    uint32_t *slots; /* entry + 1, 0 empty */
    size_t nslots;
    uint32_t *idx; /* per value */
    size_t capidx;
    /* statistics */
    bool has_mm, nan;
    int64_t imin, imax;
    double dmin, dmax;
    sheaf__buf smin, smax;
} pcol;

struct sheaf__pqw {
    int fd;
    char path[4200];
    sheaf_schema *schema;
    sheaf__pqw_opts o;
    pcol *cols;
    pending *row;
    sheaf__buf scratch;
    uint64_t rows, group_rows;
    size_t group_bytes;
    uint64_t off; /* file offset of out.data[0] + out.len, i.e. bytes produced */
    sheaf__buf out;
    sheaf__buf rgs; /* serialized RowGroup structs */
    size_t nrgs;
    sheaf__buf page, comp, hdr, levels;
    uint32_t *u32;
    size_t capu32;
    char err[512];
};

void sheaf__pqw_opts_init(sheaf__pqw_opts *o) {
    memset(o, 0, sizeof *o);
    o->codec = PQ_CODEC_SNAPPY;
    o->row_group_rows = DEFAULT_ROWS;
    o->dict_limit = DEFAULT_DICT_LIMIT;
    o->page_size = DEFAULT_PAGE;
}

static int fail(sheaf__pqw *w, int code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int fail(sheaf__pqw *w, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
    return code;
}

static int physical(sheaf_col_type t) {
    switch (t) {
    case SHEAF_COL_INT64:
    case SHEAF_COL_TIMESTAMP: return PQ_INT64;
    case SHEAF_COL_INT32:
    case SHEAF_COL_DATE: return PQ_INT32;
    case SHEAF_COL_DOUBLE: return PQ_DOUBLE;
    case SHEAF_COL_BOOL: return PQ_BOOLEAN;
    default: return PQ_BYTE_ARRAY;
    }
}

sheaf__pqw *sheaf__pqw_open(int fd, const char *path, const sheaf_schema *s,
                            const sheaf__pqw_opts *o, char *err, size_t errlen) {
    sheaf__pqw *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    w->fd = fd;
    snprintf(w->path, sizeof w->path, "%s", path);
    if (o)
        w->o = *o;
    else
        sheaf__pqw_opts_init(&w->o);
    if (!w->o.row_group_rows)
        w->o.row_group_rows = DEFAULT_ROWS;
    if (!w->o.page_size)
        w->o.page_size = DEFAULT_PAGE;
    if (w->o.codec != PQ_CODEC_NONE && w->o.codec != PQ_CODEC_SNAPPY &&
        w->o.codec != PQ_CODEC_GZIP && w->o.codec != PQ_CODEC_ZSTD) {
        snprintf(err, errlen, "%s: codec %d is not written", path, w->o.codec);
        free(w);
        return NULL;
    }
    w->schema = sheaf__schema_copy(s);
    w->cols = calloc(s->n ? s->n : 1, sizeof *w->cols);
    w->row = calloc(s->n ? s->n : 1, sizeof *w->row);
    if (!w->schema || !w->cols || !w->row || sheaf__buf_reserve(&w->out, FLUSH_AT)) {
        snprintf(err, errlen, "%s: out of memory", path);
        sheaf__pqw_abort(w);
        return NULL;
    }
    for (size_t i = 0; i < s->n; i++) {
        w->cols[i].def = &w->schema->cols[i];
        w->cols[i].ptype = physical(s->cols[i].type);
        w->cols[i].dict_on = w->cols[i].ptype == PQ_BYTE_ARRAY;
    }
    memcpy(w->out.data, "PAR1", 4);
    w->out.len = 4;
    w->off = 4;
    return w;
}

const char *sheaf__pqw_error(const sheaf__pqw *w) {
    return w->err;
}
uint64_t sheaf__pqw_rows(const sheaf__pqw *w) {
    return w->rows;
}
uint64_t sheaf__pqw_bytes(const sheaf__pqw *w) {
    return w->off;
}
const sheaf_schema *sheaf__pqw_schema(const sheaf__pqw *w) {
    return w->schema;
}

/* ---- the pending row ---- */

static pending *slot(sheaf__pqw *w, size_t col, int ptype, const char *what) {
    if (col >= w->schema->n) {
        fail(w, SHEAF_EINVAL, "%s: column %zu of %zu", w->path, col, w->schema->n);
        return NULL;
    }
    if (ptype >= 0 && w->cols[col].ptype != ptype) {
        fail(w, SHEAF_EINVAL, "%s: column '%s' is not %s", w->path, w->schema->cols[col].name,
             what);
        return NULL;
    }
    pending *p = &w->row[col];
    p->set = true;
    p->null = false;
    return p;
}

int sheaf__pqw_set_i64(sheaf__pqw *w, size_t col, int64_t v) {
    if (col < w->schema->n && w->cols[col].ptype == PQ_INT32 && (v < INT32_MIN || v > INT32_MAX))
        return fail(w, SHEAF_EINVAL, "%s: %lld is out of range of the 32-bit column '%s'", w->path,
                    (long long)v, w->schema->cols[col].name);
    int pt = col < w->schema->n && w->cols[col].ptype == PQ_INT32 ? PQ_INT32 : PQ_INT64;
    pending *p = slot(w, col, pt, "an integer, date or timestamp");
    if (!p)
        return SHEAF_EINVAL;
    p->i = v;
    return 0;
}

int sheaf__pqw_set_double(sheaf__pqw *w, size_t col, double v) {
    pending *p = slot(w, col, PQ_DOUBLE, "a double");
    if (!p)
        return SHEAF_EINVAL;
    p->d = v;
    return 0;
}

int sheaf__pqw_set_bool(sheaf__pqw *w, size_t col, bool v) {
    pending *p = slot(w, col, PQ_BOOLEAN, "a bool");
    if (!p)
        return SHEAF_EINVAL;
    p->i = v;
    return 0;
}

int sheaf__pqw_set_str(sheaf__pqw *w, size_t col, const void *s, size_t n) {
    if (n > INT32_MAX)
        return fail(w, SHEAF_EINVAL, "%s: a string of %zu bytes", w->path, n);
    pending *p = slot(w, col, PQ_BYTE_ARRAY, "a string");
    if (!p)
        return SHEAF_EINVAL;
    if (sheaf__buf_reserve(&w->scratch, n ? n : 1))
        return fail(w, SHEAF_ENOMEM, "%s: out of memory", w->path);
    p->soff = w->scratch.len;
    p->slen = n;
    if (n)
        memcpy(w->scratch.data + w->scratch.len, s, n);
    w->scratch.len += n;
    return 0;
}

int sheaf__pqw_set_null(sheaf__pqw *w, size_t col) {
    pending *p = slot(w, col, -1, "");
    if (!p)
        return SHEAF_EINVAL;
    p->null = true;
    return 0;
}

int sheaf__pqw_set_text(sheaf__pqw *w, size_t col, const char *p, size_t n) {
    if (col >= w->schema->n)
        return fail(w, SHEAF_EINVAL, "%s: column %zu of %zu", w->path, col, w->schema->n);
    const struct sheaf__col *c = &w->schema->cols[col];
    if (n == 0 && c->type != SHEAF_COL_STRING)
        return sheaf__pqw_set_null(w, col);
    int64_t iv = 0;
    double dv = 0;
    if (sheaf__parse_value(c->type, p, n, &iv, &dv))
        goto bad;
    switch (c->type) {
    case SHEAF_COL_DOUBLE: return sheaf__pqw_set_double(w, col, dv);
    case SHEAF_COL_BOOL: return sheaf__pqw_set_bool(w, col, iv != 0);
    case SHEAF_COL_STRING: return sheaf__pqw_set_str(w, col, p, n);
    default: return sheaf__pqw_set_i64(w, col, iv);
    }
bad:
    return fail(w, SHEAF_EINVAL, "'%.*s' is not a %s (column '%s')", (int)SHEAF__MIN(n, 64), p,
                c->type == SHEAF_COL_BOOL        ? "bool"
                : c->type == SHEAF_COL_DOUBLE    ? "number"
                : c->type == SHEAF_COL_DATE      ? "date (YYYY-MM-DD)"
                : c->type == SHEAF_COL_TIMESTAMP ? "timestamp (YYYY-MM-DD HH:MM:SS[.ffffff])"
                                                 : "64-bit integer",
                c->name);
}

/* ---- buffering a row ---- */

static inline int put(sheaf__buf *b, const void *p, size_t n) {
    if (SHEAF__UNLIKELY(b->cap - b->len < (n ? n : 1)) && sheaf__buf_reserve(b, n ? n : 1))
        return SHEAF_ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static void le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static int dict_add(pcol *c, const uint8_t *s, size_t n, sheaf__pqw *w) {
    if (c->nslots == 0 || 2 * (c->ndict + 1) > c->nslots) {
        size_t ns = c->nslots ? 2 * c->nslots : 1024;
        uint32_t *sl = calloc(ns, sizeof *sl);
        if (!sl)
            return SHEAF_ENOMEM;
        for (size_t e = 0; e < c->ndict; e++) {
            const uint8_t *ep = c->dict.data + c->doff[e];
            uint32_t el = (uint32_t)ep[0] | (uint32_t)ep[1] << 8 | (uint32_t)ep[2] << 16 |
                          (uint32_t)ep[3] << 24;
            size_t h = (size_t)XXH3_64bits(ep + 4, el) & (ns - 1);
            while (sl[h])
                h = (h + 1) & (ns - 1);
            sl[h] = (uint32_t)e + 1;
        }
        free(c->slots);
        c->slots = sl;
        c->nslots = ns;
    }
    size_t h = (size_t)XXH3_64bits(s, n) & (c->nslots - 1);
    uint32_t e;
    while ((e = c->slots[h])) {
        const uint8_t *ep = c->dict.data + c->doff[e - 1];
        uint32_t el =
            (uint32_t)ep[0] | (uint32_t)ep[1] << 8 | (uint32_t)ep[2] << 16 | (uint32_t)ep[3] << 24;
        if (el == n && (!n || !memcmp(ep + 4, s, n)))
            break;
        h = (h + 1) & (c->nslots - 1);
    }
    if (!e) {
        if (c->dict.len + 4 + n > w->o.dict_limit) {
            c->dict_on = false; /* too large: this chunk is written PLAIN */
            return 0;
        }
        if (c->ndict == c->capdict) {
            size_t cap = c->capdict ? 2 * c->capdict : 256;
            void *p = realloc(c->doff, cap * sizeof *c->doff);
            if (!p)
                return SHEAF_ENOMEM;
            c->doff = p;
            c->capdict = cap;
        }
        uint8_t l[4];
        le32(l, (uint32_t)n);
        c->doff[c->ndict] = c->dict.len;
        if (put(&c->dict, l, 4) || put(&c->dict, s, n))
            return SHEAF_ENOMEM;
        e = (uint32_t)++c->ndict;
        c->slots[h] = e;
    }
    if (c->nvals >= c->capidx) {
        size_t cap = c->capidx ? 2 * c->capidx : 1024;
        void *p = realloc(c->idx, cap * sizeof *c->idx);
        if (!p)
            return SHEAF_ENOMEM;
        c->idx = p;
        c->capidx = cap;
    }
    c->idx[c->nvals] = e - 1;
    return 0;
}

static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    int r = memcmp(a, b, SHEAF__MIN(an, bn));
    return r ? r : (an > bn) - (an < bn);
}

static int add_value(sheaf__pqw *w, pcol *c, const pending *p) {
    uint8_t b[8];
    int rc = 0;
    switch (c->ptype) {
    case PQ_INT64:
    case PQ_INT32:
        if (c->ptype == PQ_INT64) {
            le64(b, (uint64_t)p->i);
            rc = put(&c->vals, b, 8);
        } else {
            le32(b, (uint32_t)(int32_t)p->i);
            rc = put(&c->vals, b, 4);
        }
        if (!c->has_mm || p->i < c->imin)
            c->imin = p->i;
        if (!c->has_mm || p->i > c->imax)
            c->imax = p->i;
        break;
    case PQ_DOUBLE: {
        uint64_t u;
        memcpy(&u, &p->d, 8);
        le64(b, u);
        rc = put(&c->vals, b, 8);
        if (isnan(p->d))
            c->nan = true;
        else {
            if (!c->has_mm || p->d < c->dmin)
                c->dmin = p->d;
            if (!c->has_mm || p->d > c->dmax)
                c->dmax = p->d;
        }
        break;
    }
    case PQ_BOOLEAN:
        b[0] = (uint8_t)(p->i != 0);
        rc = put(&c->vals, b, 1);
        if (!c->has_mm || p->i < c->imin)
            c->imin = p->i != 0;
        if (!c->has_mm || p->i > c->imax)
            c->imax = p->i != 0;
        break;
    default: {
        const uint8_t *s = w->scratch.data + p->soff;
        le32(b, (uint32_t)p->slen);
        rc = put(&c->vals, b, 4);
        if (!rc)
            rc = put(&c->vals, s, p->slen);
        if (!rc && c->dict_on)
            rc = dict_add(c, s, p->slen, w);
        if (!rc && (!c->has_mm || bytes_cmp(s, p->slen, c->smin.data, c->smin.len) < 0)) {
            c->smin.len = 0;
            rc = put(&c->smin, s, p->slen);
        }
        if (!rc && (!c->has_mm || bytes_cmp(s, p->slen, c->smax.data, c->smax.len) > 0)) {
            c->smax.len = 0;
            rc = put(&c->smax, s, p->slen);
        }
        w->group_bytes += p->slen;
    }
    }
    if (!(c->ptype == PQ_DOUBLE && isnan(p->d)))
        c->has_mm = true;
    c->nvals++;
    w->group_bytes += 8;
    return rc;
}

static int flush_group(sheaf__pqw *w);

int sheaf__pqw_end_row(sheaf__pqw *w) {
    size_t n = w->schema->n;
    for (size_t i = 0; i < n; i++)
        if ((!w->row[i].set || w->row[i].null) && !w->schema->cols[i].nullable) {
            int rc = fail(w, SHEAF_EINVAL, "%s: row %llu has no value for the required column '%s'",
                          w->path, (unsigned long long)w->rows + 1, w->schema->cols[i].name);
            memset(w->row, 0, n * sizeof *w->row);
            w->scratch.len = 0;
            return rc;
        }
    for (size_t i = 0; i < n; i++) {
        pcol *c = &w->cols[i];
        pending *p = &w->row[i];
        uint8_t d = p->set && !p->null;
        if (put(&c->defs, &d, 1) || (d && add_value(w, c, p)))
            return fail(w, SHEAF_ENOMEM, "%s: out of memory", w->path);
        c->nulls += !d;
        memset(p, 0, sizeof *p);
    }
    w->scratch.len = 0;
    w->rows++;
    w->group_rows++;
    w->group_bytes += n;
    if (w->group_rows >= w->o.row_group_rows || w->group_bytes >= GROUP_BYTES)
        return flush_group(w);
    return 0;
}

/* ---- writing a row group ---- */

static int emit(sheaf__pqw *w, const void *p, size_t n) {
    if (w->out.len + n > FLUSH_AT && w->out.len) {
        int rc = sheaf__write_all(w->fd, w->out.data, w->out.len);
        w->out.len = 0;
        if (rc)
            return fail(w, rc == -ENOSPC ? SHEAF_ENOSPC : SHEAF_EIO, "cannot write %s: %s", w->path,
                        strerror(-rc));
    }
    if (n > FLUSH_AT) {
        int rc = sheaf__write_all(w->fd, p, n);
        if (rc)
            return fail(w, rc == -ENOSPC ? SHEAF_ENOSPC : SHEAF_EIO, "cannot write %s: %s", w->path,
                        strerror(-rc));
    } else if (put(&w->out, p, n)) {
        return fail(w, SHEAF_ENOMEM, "%s: out of memory", w->path);
    }
    w->off += n;
    return 0;
}

/* Compresses w->page and writes it with its header. Adds the sizes to *unc and *cmp. */
static int write_page(sheaf__pqw *w, int type, int32_t nvalues, int encoding, uint64_t *unc,
                      uint64_t *cmp) {
    int rc = sheaf__pq_compress(w->o.codec, w->o.level, w->page.data, w->page.len, &w->comp);
    if (rc)
        return fail(w, rc, "%s: cannot compress a page (%s)", w->path,
                    sheaf__pq_codec_name(w->o.codec));
    if (w->page.len > INT32_MAX || w->comp.len > INT32_MAX)
        return fail(w, SHEAF_EINVAL, "%s: a page of more than 2 GiB", w->path);
    w->hdr.len = 0;
    sheaf__tw t = {&w->hdr, 0};
    int16_t last = 0;
    sheaf__tw_f_i32(&t, &last, 1, type);
    sheaf__tw_f_i32(&t, &last, 2, (int32_t)w->page.len);
    sheaf__tw_f_i32(&t, &last, 3, (int32_t)w->comp.len);
    int16_t in = 0;
    if (type == PQ_PAGE_DATA) {
        sheaf__tw_field(&t, &last, 5, SHEAF__TC_STRUCT);
        sheaf__tw_f_i32(&t, &in, 1, nvalues);
        sheaf__tw_f_i32(&t, &in, 2, encoding);
        sheaf__tw_f_i32(&t, &in, 3, PQ_ENC_RLE);
        sheaf__tw_f_i32(&t, &in, 4, PQ_ENC_RLE);
    } else {
        sheaf__tw_field(&t, &last, 7, SHEAF__TC_STRUCT);
        sheaf__tw_f_i32(&t, &in, 1, nvalues);
        sheaf__tw_f_i32(&t, &in, 2, PQ_ENC_PLAIN);
    }
    sheaf__tw_stop(&t);
    sheaf__tw_stop(&t);
    if (t.err)
        return fail(w, SHEAF_ENOMEM, "%s: out of memory", w->path);
    *unc += w->hdr.len + w->page.len;
    *cmp += w->hdr.len + w->comp.len;
    if ((rc = emit(w, w->hdr.data, w->hdr.len)) || (rc = emit(w, w->comp.data, w->comp.len)))
        return rc;
    return 0;
}

static int bit_width(uint32_t max) {
    int b = 0;
    while (b < 32 && (max >> b))
        b++;
    return b ? b : 1;
}

static int need_u32(sheaf__pqw *w, size_t n) {
    if (n <= w->capu32)
        return 0;
    void *p = realloc(w->u32, n * sizeof *w->u32);
    if (!p)
        return SHEAF_ENOMEM;
    w->u32 = p;
    w->capu32 = n;
    return 0;
}

static size_t value_size(const pcol *c, const uint8_t *at) {
    switch (c->ptype) {
    case PQ_INT64:
    case PQ_DOUBLE: return 8;
    case PQ_INT32: return 4;
    case PQ_BOOLEAN: return 1;
    default:
        return 4 + ((uint32_t)at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16 |
                    (uint32_t)at[3] << 24);
    }
}

static void stat_bytes(const pcol *c, bool max, uint8_t *b, const uint8_t **p, size_t *n) {
    switch (c->ptype) {
    case PQ_INT64:
        le64(b, (uint64_t)(max ? c->imax : c->imin));
        *p = b;
        *n = 8;
        break;
    case PQ_INT32:
        le32(b, (uint32_t)(int32_t)(max ? c->imax : c->imin));
        *p = b;
        *n = 4;
        break;
    case PQ_BOOLEAN:
        b[0] = (uint8_t)(max ? c->imax : c->imin);
        *p = b;
        *n = 1;
        break;
    case PQ_DOUBLE: {
        double d = max ? c->dmax : c->dmin;
        if (d == 0)
            d = max ? 0.0 : -0.0;
        uint64_t u;
        memcpy(&u, &d, 8);
        le64(b, u);
        *p = b;
        *n = 8;
        break;
    }
    default: *p = max ? c->smax.data : c->smin.data; *n = max ? c->smax.len : c->smin.len;
    }
}

static int write_chunk(sheaf__pqw *w, pcol *c, sheaf__tw *rg) {
    uint64_t unc = 0, cmp = 0;
    uint64_t chunk_start = w->off;
    int64_t dict_off = -1;
    bool dict = c->ptype == PQ_BYTE_ARRAY && c->dict_on && c->ndict > 0;
    int rc;
    if (dict) {
        w->page.len = 0;
        if (put(&w->page, c->dict.data, c->dict.len))
            return fail(w, SHEAF_ENOMEM, "%s: out of memory", w->path);
        dict_off = (int64_t)w->off;
        if ((rc = write_page(w, PQ_PAGE_DICTIONARY, (int32_t)c->ndict, 0, &unc, &cmp)))
            return rc;
    }
    uint64_t data_off = w->off;
    int width = dict ? bit_width((uint32_t)(c->ndict - 1)) : 0;
    size_t row = 0, vi = 0, voff = 0, nrows = c->defs.len;
    bool optional = c->def->nullable;
    while (row < nrows || (row == 0 && nrows == 0)) {
        if (nrows == 0)
            break;
        /* the page's rows: until its values pass page_size */
        size_t r0 = row, v0 = vi, off0 = voff, bytes = 0;
        while (row < nrows && (bytes < w->o.page_size || row == r0)) {
            if (c->defs.data[row]) {
                size_t sz = value_size(c, c->vals.data + voff);
                bytes += sz;
                voff += sz;
                vi++;
            }
            row++;
        }
        w->page.len = 0;
        if (optional) {
            if ((rc = need_u32(w, row - r0)))
                return fail(w, rc, "%s: out of memory", w->path);
            for (size_t r = r0; r < row; r++)
                w->u32[r - r0] = c->defs.data[r];
            w->levels.len = 0;
            if (sheaf__pq_rle_encode(w->u32, row - r0, 1, &w->levels))
                return fail(w, SHEAF_ENOMEM, "%s: out of memory", w->path);
            uint8_t l[4];
            le32(l, (uint32_t)w->levels.len);
            if (put(&w->page, l, 4) || put(&w->page, w->levels.data, w->levels.len))
                return fail(w, SHEAF_ENOMEM, "%s: out of memory", w->path);
        }
        if (dict) {
            uint8_t bw = (uint8_t)width;
            if (put(&w->page, &bw, 1) ||
                sheaf__pq_rle_encode(c->idx + v0, vi - v0, width, &w->page))
                return fail(w, SHEAF_ENOMEM, "%s: out of memory", w->path);
        } else if (c->ptype == PQ_BOOLEAN) {
            size_t nb = (vi - v0 + 7) / 8;
            if (sheaf__buf_reserve(&w->page, nb ? nb : 1))
                return fail(w, SHEAF_ENOMEM, "%s: out of memory", w->path);
            uint8_t *p = w->page.data + w->page.len;
            memset(p, 0, nb);
            for (size_t k = v0; k < vi; k++)
                if (c->vals.data[k])
                    p[(k - v0) >> 3] |= (uint8_t)(1u << ((k - v0) & 7));
            w->page.len += nb;
        } else if (put(&w->page, c->vals.data + off0, voff - off0)) {
            return fail(w, SHEAF_ENOMEM, "%s: out of memory", w->path);
        }
        if ((rc = write_page(w, PQ_PAGE_DATA, (int32_t)(row - r0),
                             dict ? PQ_ENC_RLE_DICTIONARY : PQ_ENC_PLAIN, &unc, &cmp)))
            return rc;
    }
    /* ColumnChunk */
    int16_t last = 0, ml = 0;
    sheaf__tw_f_i64(rg, &last, 2, (int64_t)chunk_start);
    sheaf__tw_field(rg, &last, 3, SHEAF__TC_STRUCT);
    sheaf__tw_f_i32(rg, &ml, 1, c->ptype);
    sheaf__tw_field(rg, &ml, 2, SHEAF__TC_LIST);
    if (dict) {
        sheaf__tw_list(rg, SHEAF__TC_I32, 3);
        sheaf__tw_i32(rg, PQ_ENC_PLAIN);
        sheaf__tw_i32(rg, PQ_ENC_RLE);
        sheaf__tw_i32(rg, PQ_ENC_RLE_DICTIONARY);
    } else {
        sheaf__tw_list(rg, SHEAF__TC_I32, 2);
        sheaf__tw_i32(rg, PQ_ENC_PLAIN);
        sheaf__tw_i32(rg, PQ_ENC_RLE);
    }
    sheaf__tw_field(rg, &ml, 3, SHEAF__TC_LIST);
    sheaf__tw_list(rg, SHEAF__TC_BINARY, 1);
    sheaf__tw_binary(rg, c->def->name, strlen(c->def->name));
    sheaf__tw_f_i32(rg, &ml, 4, w->o.codec);
    sheaf__tw_f_i64(rg, &ml, 5, (int64_t)nrows);
    sheaf__tw_f_i64(rg, &ml, 6, (int64_t)unc);
    sheaf__tw_f_i64(rg, &ml, 7, (int64_t)cmp);
    sheaf__tw_f_i64(rg, &ml, 9, (int64_t)data_off);
    if (dict_off >= 0)
        sheaf__tw_f_i64(rg, &ml, 11, dict_off);
    sheaf__tw_field(rg, &ml, 12, SHEAF__TC_STRUCT);
    {
        int16_t sl = 0;
        sheaf__tw_f_i64(rg, &sl, 3, (int64_t)c->nulls);
        bool mm =
            c->has_mm && !c->nan &&
            !(c->ptype == PQ_BYTE_ARRAY && (c->smin.len > STAT_MAX || c->smax.len > STAT_MAX));
        if (mm) {
            uint8_t b[8];
            const uint8_t *p;
            size_t n;
            stat_bytes(c, true, b, &p, &n);
            sheaf__tw_f_binary(rg, &sl, 5, p, n);
            stat_bytes(c, false, b, &p, &n);
            sheaf__tw_f_binary(rg, &sl, 6, p, n);
        }
        sheaf__tw_stop(rg);
    }
    sheaf__tw_stop(rg); /* ColumnMetaData */
    sheaf__tw_stop(rg); /* ColumnChunk */
    c->defs.len = c->vals.len = c->dict.len = 0;
    c->nvals = c->ndict = 0;
    c->nulls = 0;
    c->has_mm = c->nan = false;
    c->smin.len = c->smax.len = 0;
    c->dict_on = c->ptype == PQ_BYTE_ARRAY;
    if (c->slots)
        memset(c->slots, 0, c->nslots * sizeof *c->slots);
    return rg->err ? fail(w, SHEAF_ENOMEM, "%s: out of memory", w->path) : 0;
}

static int flush_group(sheaf__pqw *w) {
    if (w->group_rows == 0)
        return 0;
    uint64_t start = w->off;
    sheaf__tw rg = {&w->rgs, 0};
    int16_t last = 0;
    sheaf__tw_field(&rg, &last, 1, SHEAF__TC_LIST);
    sheaf__tw_list(&rg, SHEAF__TC_STRUCT, w->schema->n);
    for (size_t i = 0; i < w->schema->n; i++) {
        int rc = write_chunk(w, &w->cols[i], &rg);
        if (rc)
            return rc;
    }
    sheaf__tw_f_i64(&rg, &last, 2, (int64_t)(w->off - start));
    sheaf__tw_f_i64(&rg, &last, 3, (int64_t)w->group_rows);
    sheaf__tw_f_i64(&rg, &last, 5, (int64_t)start);
    sheaf__tw_f_i64(&rg, &last, 6, (int64_t)(w->off - start));
    sheaf__tw_f_i32(&rg, &last, 7, (int32_t)w->nrgs);
    sheaf__tw_stop(&rg);
    if (rg.err)
        return fail(w, SHEAF_ENOMEM, "%s: out of memory", w->path);
    w->nrgs++;
    w->group_rows = 0;
    w->group_bytes = 0;
    return 0;
}

static void schema_element(sheaf__tw *t, const struct sheaf__col *c) {
    int16_t last = 0;
    sheaf__tw_f_i32(t, &last, 1, physical(c->type));
    sheaf__tw_f_i32(t, &last, 3, c->nullable ? 1 : 0);
    sheaf__tw_f_string(t, &last, 4, c->name);
    int ct = c->type == SHEAF_COL_STRING      ? PQ_CT_UTF8
             : c->type == SHEAF_COL_DATE      ? PQ_CT_DATE
             : c->type == SHEAF_COL_TIMESTAMP ? PQ_CT_TIMESTAMP_MICROS
                                              : PQ_CT_NONE;
    if (ct != PQ_CT_NONE) {
        sheaf__tw_f_i32(t, &last, 6, ct);
        sheaf__tw_field(t, &last, 10, SHEAF__TC_STRUCT); /* LogicalType */
        int16_t ll = 0, in = 0;
        if (c->type == SHEAF_COL_STRING) {
            sheaf__tw_field(t, &ll, 1, SHEAF__TC_STRUCT); /* StringType */
            sheaf__tw_stop(t);
        } else if (c->type == SHEAF_COL_DATE) {
            sheaf__tw_field(t, &ll, 6, SHEAF__TC_STRUCT); /* DateType */
            sheaf__tw_stop(t);
        } else {
            sheaf__tw_field(t, &ll, 8, SHEAF__TC_STRUCT); /* TimestampType */
            sheaf__tw_f_bool(t, &in, 1, true);            /* isAdjustedToUTC */
            sheaf__tw_field(t, &in, 2, SHEAF__TC_STRUCT); /* TimeUnit */
            int16_t ul = 0;
            sheaf__tw_field(t, &ul, 2, SHEAF__TC_STRUCT); /* MICROS */
            sheaf__tw_stop(t);
            sheaf__tw_stop(t);
            sheaf__tw_stop(t);
        }
        sheaf__tw_stop(t);
    }
    sheaf__tw_stop(t);
}

int sheaf__pqw_close(sheaf__pqw *w, char *err, size_t errlen) {
    int rc = flush_group(w);
    if (!rc) {
        sheaf__buf foot = {0};
        sheaf__tw t = {&foot, 0};
        int16_t last = 0;
        sheaf__tw_f_i32(&t, &last, 1, 1);
        sheaf__tw_field(&t, &last, 2, SHEAF__TC_LIST);
        sheaf__tw_list(&t, SHEAF__TC_STRUCT, w->schema->n + 1);
        int16_t rl = 0;
        sheaf__tw_f_string(&t, &rl, 4, "schema");
        sheaf__tw_f_i32(&t, &rl, 5, (int32_t)w->schema->n);
        sheaf__tw_stop(&t);
        for (size_t i = 0; i < w->schema->n; i++)
            schema_element(&t, &w->schema->cols[i]);
        sheaf__tw_f_i64(&t, &last, 3, (int64_t)w->rows);
        sheaf__tw_field(&t, &last, 4, SHEAF__TC_LIST);
        sheaf__tw_list(&t, SHEAF__TC_STRUCT, w->nrgs);
        if (!t.err && put(&foot, w->rgs.data, w->rgs.len))
            t.err = SHEAF_ENOMEM;
        sheaf__tw_f_string(&t, &last, 6, "sheaf version " SHEAF_VERSION_STRING);
        sheaf__tw_field(&t, &last, 7, SHEAF__TC_LIST);
        sheaf__tw_list(&t, SHEAF__TC_STRUCT, w->schema->n);
        for (size_t i = 0; i < w->schema->n; i++) {
            int16_t ol = 0;
            sheaf__tw_field(&t, &ol, 1, SHEAF__TC_STRUCT); /* TYPE_ORDER */
            sheaf__tw_stop(&t);
            sheaf__tw_stop(&t);
        }
        sheaf__tw_stop(&t);
        uint8_t tail[8];
        le32(tail, (uint32_t)foot.len);
        memcpy(tail + 4, "PAR1", 4);
        if (t.err)
            rc = fail(w, SHEAF_ENOMEM, "%s: out of memory", w->path);
        if (!rc)
            rc = emit(w, foot.data, foot.len);
        if (!rc)
            rc = emit(w, tail, 8);
        sheaf__buf_free(&foot);
        if (!rc && w->out.len) {
            int r = sheaf__write_all(w->fd, w->out.data, w->out.len);
            if (r)
                rc = fail(w, r == -ENOSPC ? SHEAF_ENOSPC : SHEAF_EIO, "cannot write %s: %s",
                          w->path, strerror(-r));
            w->out.len = 0;
        }
    }
    if (rc)
        snprintf(err, errlen, "%s", w->err);
    sheaf__pqw_abort(w);
    return rc;
}

void sheaf__pqw_abort(sheaf__pqw *w) {
    if (!w)
        return;
    for (size_t i = 0; w->cols && i < w->schema->n; i++) {
        pcol *c = &w->cols[i];
        sheaf__buf_free(&c->defs);
        sheaf__buf_free(&c->vals);
        sheaf__buf_free(&c->dict);
        sheaf__buf_free(&c->smin);
        sheaf__buf_free(&c->smax);
        free(c->doff);
        free(c->slots);
        free(c->idx);
    }
    free(w->cols);
    free(w->row);
    sheaf_schema_free(w->schema);
    sheaf__buf_free(&w->scratch);
    sheaf__buf_free(&w->out);
    sheaf__buf_free(&w->rgs);
    sheaf__buf_free(&w->page);
    sheaf__buf_free(&w->comp);
    sheaf__buf_free(&w->hdr);
    sheaf__buf_free(&w->levels);
    free(w->u32);
    free(w);
}
