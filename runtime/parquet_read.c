/*
 * parquet_read.c: reads Parquet files of flat columns, row group by row group, column by
 * column.
 *
 * Opening a file reads its tail (length and magic) and its footer (FileMetaData, Thrift
 * compact), and keeps the schema's leaf columns, each row group's row count and each column
 * chunk's codec, offsets and size. A column of a row group is read on request: its chunk in
 * one pread, then page by page (PageHeader, Thrift): a dictionary page fills the dictionary,
 * a data page (version 1: levels and values compressed together; version 2: levels stored
 * uncompressed before the values) gives its definition levels (RLE/bit-packed hybrid) and
 * values (PLAIN, PLAIN_DICTIONARY / RLE_DICTIONARY, DELTA_BINARY_PACKED,
 * DELTA_LENGTH_BYTE_ARRAY, BYTE_STREAM_SPLIT), which are spread over the rows, nulls where the
 * level is 0. Strings point into the decompressed pages, kept until the column's next read.
 * INT96 timestamps (nanoseconds of a Julian day) become microseconds since the epoch.
 *
 * Anything else is refused with the file and the column named, never read as a wrong value:
 * nested or repeated columns, encrypted files, column chunks in other files, an unknown codec
 * or encoding. Every length and offset of the file is checked against the bytes that hold it.
 */
#include "parquet.h"
#include "thrift.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define FOOTER_MAX ((uint64_t)256 << 20)

typedef struct chunk {
    int codec;
    int64_t num_values, data_off, dict_off, size;
    bool has_meta;
} chunk;

typedef struct rgroup {
    int64_t rows;
    chunk *cols;
    size_t ncols;
} rgroup;

typedef struct coldata {
    sheaf__pqval *vals;
    size_t capvals;
    sheaf__pqval *dict;
    size_t ndict, capdict;
    uint8_t **bufs; /* the chunk and its decompressed pages */
    size_t nbufs, capbufs;
} coldata;

struct sheaf__pqr {
    int fd;
    char path[4200];
    uint64_t size;
    sheaf__pqcol *cols;
    size_t ncols;
    rgroup *rgs;
    size_t nrgs;
    int64_t total_rows;
    char *created_by;
    coldata *data;
    uint32_t *levels;
    size_t caplevels;
    sheaf__pqval *dense;
    size_t capdense;
};

/* ---- the footer ---- */

static void parse_logical(sheaf__tr *t, sheaf__pqcol *c) {
    int16_t last = 0, id;
    int ty;
    while ((ty = sheaf__tr_field(t, &last, &id)) != SHEAF__TC_STOP) {
        if (id == 1 && ty == SHEAF__TC_STRUCT) {
            c->is_string = true;
            sheaf__tr_skip(t, ty);
        } else if (id == 5 && ty == SHEAF__TC_STRUCT) {
            int16_t l2 = 0, i2;
            int t2;
            c->is_decimal = true;
            while ((t2 = sheaf__tr_field(t, &l2, &i2)) != SHEAF__TC_STOP) {
                if (i2 == 1 && t2 == SHEAF__TC_I32)
                    c->scale = sheaf__tr_i32(t);
                else if (i2 == 2 && t2 == SHEAF__TC_I32)
                    c->precision = sheaf__tr_i32(t);
                else
                    sheaf__tr_skip(t, t2);
            }
        } else if (id == 6 && ty == SHEAF__TC_STRUCT) {
            c->is_date = true;
            sheaf__tr_skip(t, ty);
        } else if (id == 8 && ty == SHEAF__TC_STRUCT) {
            int16_t l2 = 0, i2;
            int t2;
            while ((t2 = sheaf__tr_field(t, &l2, &i2)) != SHEAF__TC_STOP) {
                if (i2 == 2 && t2 == SHEAF__TC_STRUCT) {
                    int16_t l3 = 0, i3;
                    int t3;
                    while ((t3 = sheaf__tr_field(t, &l3, &i3)) != SHEAF__TC_STOP) {
                        if (i3 >= 1 && i3 <= 3)
                            c->ts_unit = i3;
                        sheaf__tr_skip(t, t3);
                    }
                } else {
                    sheaf__tr_skip(t, t2);
                }
            }
        } else if (id == 10 && ty == SHEAF__TC_STRUCT) {
            int16_t l2 = 0, i2;
            int t2;
            while ((t2 = sheaf__tr_field(t, &l2, &i2)) != SHEAF__TC_STOP) {
                if (i2 == 2 && (t2 == SHEAF__TC_TRUE || t2 == SHEAF__TC_FALSE))
                    c->is_unsigned = t2 == SHEAF__TC_FALSE;
                else
                    sheaf__tr_skip(t, t2);
            }
        } else if ((id == 4 || id == 12 || id == 13) && ty == SHEAF__TC_STRUCT) {
            c->is_string = true; /* ENUM, JSON, BSON: shown as their bytes */
            sheaf__tr_skip(t, ty);
        } else {
            sheaf__tr_skip(t, ty);
        }
    }
}

typedef struct elem {
    sheaf__pqcol c;
    int repetition;
    int32_t children;
    bool has_type;
} elem;

static void parse_element(sheaf__tr *t, elem *e) {
    int16_t last = 0, id;
    int ty;
    e->c.converted = PQ_CT_NONE;
    e->repetition = 0;
    while ((ty = sheaf__tr_field(t, &last, &id)) != SHEAF__TC_STOP) {
        size_t n;
        const uint8_t *p;
        if (id == 1 && ty == SHEAF__TC_I32) {
            e->c.type = sheaf__tr_i32(t);
            e->has_type = true;
        } else if (id == 2 && ty == SHEAF__TC_I32) {
            e->c.type_len = sheaf__tr_i32(t);
        } else if (id == 3 && ty == SHEAF__TC_I32) {
            e->repetition = sheaf__tr_i32(t);
        } else if (id == 4 && ty == SHEAF__TC_BINARY) {
            p = sheaf__tr_binary(t, &n);
            free(e->c.name);
            e->c.name = p ? strndup((const char *)p, n) : NULL;
        } else if (id == 5 && ty == SHEAF__TC_I32) {
            e->children = sheaf__tr_i32(t);
        } else if (id == 6 && ty == SHEAF__TC_I32) {
            e->c.converted = sheaf__tr_i32(t);
        } else if (id == 7 && ty == SHEAF__TC_I32) {
            e->c.scale = sheaf__tr_i32(t);
        } else if (id == 8 && ty == SHEAF__TC_I32) {
            e->c.precision = sheaf__tr_i32(t);
        } else if (id == 10 && ty == SHEAF__TC_STRUCT) {
            parse_logical(t, &e->c);
        } else {
            sheaf__tr_skip(t, ty);
        }
    }
    sheaf__pqcol *c = &e->c;
    switch (c->converted) {
    case PQ_CT_UTF8:
    case PQ_CT_ENUM:
    case PQ_CT_JSON: c->is_string = true; break;
    case PQ_CT_DECIMAL: c->is_decimal = true; break;
    case PQ_CT_DATE: c->is_date = true; break;
    case PQ_CT_TIMESTAMP_MILLIS: c->ts_unit = c->ts_unit ? c->ts_unit : 1; break;
    case PQ_CT_TIMESTAMP_MICROS: c->ts_unit = c->ts_unit ? c->ts_unit : 2; break;
    case PQ_CT_UINT_8:
    case PQ_CT_UINT_16:
    case PQ_CT_UINT_32:
    case PQ_CT_UINT_64: c->is_unsigned = true; break;
    default: break;
    }
}

static void parse_chunk(sheaf__tr *t, chunk *ck, int *problem) {
    int16_t last = 0, id;
    int ty;
    ck->dict_off = -1;
    while ((ty = sheaf__tr_field(t, &last, &id)) != SHEAF__TC_STOP) {
        if (id == 1 && ty == SHEAF__TC_BINARY) {
            *problem = 1; /* file_path: the chunk lives in another file */
            sheaf__tr_skip(t, ty);
        } else if ((id == 8 || id == 9) && ty != SHEAF__TC_STOP) {
            *problem = 2; /* encrypted column */
            sheaf__tr_skip(t, ty);
        } else if (id == 3 && ty == SHEAF__TC_STRUCT) {
            int16_t ml = 0, mi;
            int mt;
            ck->has_meta = true;
            while ((mt = sheaf__tr_field(t, &ml, &mi)) != SHEAF__TC_STOP) {
                if (mi == 4 && mt == SHEAF__TC_I32)
                    ck->codec = sheaf__tr_i32(t);
                else if (mi == 5 && mt == SHEAF__TC_I64)
                    ck->num_values = sheaf__tr_i64(t);
                else if (mi == 7 && mt == SHEAF__TC_I64)
                    ck->size = sheaf__tr_i64(t);
                else if (mi == 9 && mt == SHEAF__TC_I64)
                    ck->data_off = sheaf__tr_i64(t);
                else if (mi == 11 && mt == SHEAF__TC_I64)
                    ck->dict_off = sheaf__tr_i64(t);
                else
                    sheaf__tr_skip(t, mt);
            }
        } else {
            sheaf__tr_skip(t, ty);
        }
    }
}

static int parse_footer(sheaf__pqr *r, const uint8_t *p, size_t n, char *err, size_t errlen) {
    sheaf__tr t = {p, p + n, 0, NULL};
    int16_t last = 0, id;
    int ty, problem = 0;
    elem *els = NULL;
    size_t nels = 0;
    bool have_schema = false;
    int rc = 0;
    while ((ty = sheaf__tr_field(&t, &last, &id)) != SHEAF__TC_STOP) {
        int et;
        if (id == 2 && ty == SHEAF__TC_LIST && !have_schema) {
            nels = sheaf__tr_list(&t, &et);
            have_schema = true;
            els = calloc(nels ? nels : 1, sizeof *els);
            if (!els) {
                snprintf(err, errlen, "%s: out of memory", r->path);
                return SHEAF_ENOMEM;
            }
            for (size_t i = 0; i < nels && !t.err; i++)
                parse_element(&t, &els[i]);
        } else if (id == 3 && ty == SHEAF__TC_I64) {
            r->total_rows = sheaf__tr_i64(&t);
        } else if (id == 4 && ty == SHEAF__TC_LIST && !r->rgs) {
            size_t nrg = sheaf__tr_list(&t, &et);
            r->rgs = calloc(nrg ? nrg : 1, sizeof *r->rgs);
            if (!r->rgs) {
                rc = SHEAF_ENOMEM;
                break;
            }
            r->nrgs = nrg;
            for (size_t g = 0; g < nrg && !t.err; g++) {
                int16_t gl = 0, gi;
                int gt;
                while ((gt = sheaf__tr_field(&t, &gl, &gi)) != SHEAF__TC_STOP) {
                    if (gi == 1 && gt == SHEAF__TC_LIST && !r->rgs[g].cols) {
                        int ct;
                        size_t nc = sheaf__tr_list(&t, &ct);
                        r->rgs[g].cols = calloc(nc ? nc : 1, sizeof(chunk));
                        if (!r->rgs[g].cols) {
                            sheaf__tr_fail(&t, "out of memory");
                            break;
                        }
                        r->rgs[g].ncols = nc;
                        for (size_t c = 0; c < nc && !t.err; c++)
                            parse_chunk(&t, &r->rgs[g].cols[c], &problem);
                    } else if (gi == 3 && gt == SHEAF__TC_I64) {
                        r->rgs[g].rows = sheaf__tr_i64(&t);
                    } else {
                        sheaf__tr_skip(&t, gt);
                    }
                }
            }
        } else if (id == 6 && ty == SHEAF__TC_BINARY) {
            size_t len;
            const uint8_t *s = sheaf__tr_binary(&t, &len);
            free(r->created_by);
            r->created_by = s ? strndup((const char *)s, len) : NULL;
        } else if (id == 8 && ty == SHEAF__TC_STRUCT) {
            problem = 2; /* encryption_algorithm: a plaintext footer of an encrypted file */
            sheaf__tr_skip(&t, ty);
        } else {
            sheaf__tr_skip(&t, ty);
        }
    }
    if (!rc && t.err)
        snprintf(err, errlen, "%s: bad footer (%s)", r->path, t.why), rc = SHEAF_EFORMAT;
    else if (!rc && problem == 2)
        snprintf(err, errlen, "%s: encrypted Parquet files are not supported", r->path),
            rc = SHEAF_EFORMAT;
    else if (!rc && problem == 1)
        snprintf(err, errlen, "%s: column chunks in other files are not supported", r->path),
            rc = SHEAF_EFORMAT;
    else if (!rc && (!have_schema || nels == 0))
        snprintf(err, errlen, "%s: bad footer (no schema)", r->path), rc = SHEAF_EFORMAT;
    /* a flat schema: the root, then leaves only */
    for (size_t i = 1; !rc && i < nels; i++) {
        const char *name = els[i].c.name ? els[i].c.name : "?";
        if (els[i].children > 0 || !els[i].has_type)
            snprintf(err, errlen, "%s: column '%s' is nested (a group); only flat columns are read",
                     r->path, name),
                rc = SHEAF_EFORMAT;
        else if (els[i].repetition == 2)
            snprintf(err, errlen,
                     "%s: column '%s' is repeated (a list); only flat columns are read", r->path,
                     name),
                rc = SHEAF_EFORMAT;
        else if (els[i].c.type < PQ_BOOLEAN || els[i].c.type > PQ_FIXED_LEN_BYTE_ARRAY)
            snprintf(err, errlen, "%s: column '%s' has an unknown type %d", r->path, name,
                     els[i].c.type),
                rc = SHEAF_EFORMAT;
        else if (els[i].c.type == PQ_FIXED_LEN_BYTE_ARRAY &&
                 (els[i].c.type_len <= 0 || els[i].c.type_len > (1 << 20)))
            snprintf(err, errlen, "%s: column '%s' has a bad fixed length %d", r->path, name,
                     els[i].c.type_len),
                rc = SHEAF_EFORMAT;
        else if (!els[i].c.name)
            snprintf(err, errlen, "%s: column %zu has no name", r->path, i), rc = SHEAF_EFORMAT;
    }
    if (!rc && nels > 0 && els[0].children != (int32_t)(nels - 1))
        snprintf(err, errlen, "%s: bad footer (the root has %d columns of %zu)", r->path,
                 els[0].children, nels - 1),
            rc = SHEAF_EFORMAT;
    if (!rc) {
        r->ncols = nels - 1;
        r->cols = calloc(r->ncols ? r->ncols : 1, sizeof *r->cols);
        r->data = calloc(r->ncols ? r->ncols : 1, sizeof *r->data);
        if (!r->cols || !r->data) {
            snprintf(err, errlen, "%s: out of memory", r->path);
            rc = SHEAF_ENOMEM;
        }
        for (size_t i = 0; !rc && i < r->ncols; i++) {
            r->cols[i] = els[i + 1].c;
            r->cols[i].optional = els[i + 1].repetition == 1;
            els[i + 1].c.name = NULL;
        }
    }
    for (size_t g = 0; !rc && g < r->nrgs; g++) {
        if (r->rgs[g].ncols != r->ncols || r->rgs[g].rows < 0)
            snprintf(err, errlen, "%s: bad footer (row group %zu has %zu columns of %zu)", r->path,
                     g, r->rgs[g].ncols, r->ncols),
                rc = SHEAF_EFORMAT;
        for (size_t c = 0; !rc && c < r->ncols; c++) {
            const chunk *ck = &r->rgs[g].cols[c];
            if (!ck->has_meta || ck->size < 0 || ck->data_off < 4 ||
                (uint64_t)ck->data_off >= r->size || (uint64_t)ck->size > r->size)
                snprintf(err, errlen,
                         "%s: bad footer (column '%s' of row group %zu: bad offset or size)",
                         r->path, r->cols[c].name, g),
                    rc = SHEAF_EFORMAT;
        }
    }
    for (size_t i = 0; i < nels; i++)
        free(els[i].c.name);
    free(els);
    return rc;
}

sheaf__pqr *sheaf__pqr_open(const char *path, char *err, size_t errlen) {
    sheaf__pqr *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    snprintf(r->path, sizeof r->path, "%s", path);
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (r->fd < 0 || fstat(r->fd, &st) != 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        sheaf__pqr_close(r);
        return NULL;
    }
    r->size = (uint64_t)st.st_size;
    uint8_t head[4], tail[8];
    if (r->size < 12) {
        snprintf(err, errlen, "%s: not a Parquet file (%" PRIu64 " bytes, too short)", path,
                 r->size);
        sheaf__pqr_close(r);
        return NULL;
    }
    if (pread(r->fd, head, 4, 0) != 4 || pread(r->fd, tail, 8, (off_t)(r->size - 8)) != 8) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        sheaf__pqr_close(r);
        return NULL;
    }
    if (!memcmp(tail + 4, "PARE", 4)) {
        snprintf(err, errlen, "%s: encrypted Parquet files are not supported", path);
        sheaf__pqr_close(r);
        return NULL;
    }
    if (memcmp(head, "PAR1", 4) || memcmp(tail + 4, "PAR1", 4)) {
        snprintf(err, errlen, "%s: not a Parquet file (no PAR1 magic at its %s)", path,
                 memcmp(head, "PAR1", 4) ? "start" : "end: truncated?");
        sheaf__pqr_close(r);
        return NULL;
    }
    uint64_t flen = (uint64_t)tail[0] | (uint64_t)tail[1] << 8 | (uint64_t)tail[2] << 16 |
                    (uint64_t)tail[3] << 24;
    if (flen > r->size - 12 || flen > FOOTER_MAX || flen == 0) {
        snprintf(err, errlen,
                 "%s: bad footer length %" PRIu64 " at offset %" PRIu64 " (file of %" PRIu64
                 " bytes)",
                 path, flen, r->size - 8, r->size);
        sheaf__pqr_close(r);
        return NULL;
    }
    uint8_t *foot = malloc(flen);
    if (!foot || pread(r->fd, foot, flen, (off_t)(r->size - 8 - flen)) != (ssize_t)flen) {
        snprintf(err, errlen, "cannot read the footer of %s", path);
        free(foot);
        sheaf__pqr_close(r);
        return NULL;
    }
    int rc = parse_footer(r, foot, flen, err, errlen);
    free(foot);
    if (rc) {
        sheaf__pqr_close(r);
        return NULL;
    }
    return r;
}

static void free_bufs(coldata *d) {
    for (size_t i = 0; i < d->nbufs; i++)
        free(d->bufs[i]);
    d->nbufs = 0;
}

void sheaf__pqr_close(sheaf__pqr *r) {
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    for (size_t i = 0; i < r->ncols; i++) {
        free(r->cols[i].name);
        if (r->data) {
            free_bufs(&r->data[i]);
            free(r->data[i].bufs);
            free(r->data[i].vals);
            free(r->data[i].dict);
        }
    }
    for (size_t g = 0; g < r->nrgs; g++)
        free(r->rgs[g].cols);
    free(r->rgs);
    free(r->cols);
    free(r->data);
    free(r->created_by);
    free(r->levels);
    free(r->dense);
    free(r);
}

int sheaf__pqr_fd(const sheaf__pqr *r) {
    return r->fd;
}

size_t sheaf__pqr_ncols(const sheaf__pqr *r) {
    return r->ncols;
}
const sheaf__pqcol *sheaf__pqr_col(const sheaf__pqr *r, size_t i) {
    return &r->cols[i];
}
size_t sheaf__pqr_nrowgroups(const sheaf__pqr *r) {
    return r->nrgs;
}
uint64_t sheaf__pqr_rows(const sheaf__pqr *r, size_t rg) {
    return (uint64_t)r->rgs[rg].rows;
}
uint64_t sheaf__pqr_total_rows(const sheaf__pqr *r) {
    return (uint64_t)r->total_rows;
}
const char *sheaf__pqr_created_by(const sheaf__pqr *r) {
    return r->created_by ? r->created_by : "";
}

static int64_t chunk_start(const chunk *ck) {
    return ck->dict_off > 0 && ck->dict_off < ck->data_off ? ck->dict_off : ck->data_off;
}

void sheaf__pqr_rg_range(const sheaf__pqr *r, size_t rg, uint64_t *start, uint64_t *len) {
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t c = 0; c < r->ncols; c++) {
        const chunk *ck = &r->rgs[rg].cols[c];
        uint64_t s = (uint64_t)chunk_start(ck);
        lo = SHEAF__MIN(lo, s);
        hi = SHEAF__MAX(hi, s + (uint64_t)ck->size);
    }
    if (lo == UINT64_MAX)
        lo = hi = 4;
    *start = lo;
    *len = hi - lo;
}

/* ---- values ---- */

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) {
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static int64_t int96_us(const uint8_t *p) {
    int64_t nanos = (int64_t)rd64(p);
    int64_t julian = (int32_t)rd32(p + 8);
    int64_t us = nanos / 1000;
    if (nanos % 1000 < 0)
        us--;
    /* wrapping arithmetic: a corrupt value is shown wrong, never undefined */
    return (int64_t)((uint64_t)(julian - 2440588) * 86400000000ULL + (uint64_t)us);
}

static void fixed_value(const sheaf__pqcol *c, const uint8_t *p, sheaf__pqval *v) {
    switch (c->type) {
    case PQ_INT32: v->u.i = (int32_t)rd32(p); break;
    case PQ_INT64: v->u.i = (int64_t)rd64(p); break;
    case PQ_INT96: v->u.i = int96_us(p); break;
    case PQ_FLOAT: {
        uint32_t u = rd32(p);
        float f;
        memcpy(&f, &u, 4);
        v->u.d = f;
        break;
    }
    case PQ_DOUBLE: {
        uint64_t u = rd64(p);
        memcpy(&v->u.d, &u, 8);
        break;
    }
    default: /* fixed-length bytes */ v->u.p = p; v->len = (uint32_t)c->type_len;
    }
}

static size_t fixed_size(const sheaf__pqcol *c) {
    switch (c->type) {
    case PQ_INT32:
    case PQ_FLOAT: return 4;
    case PQ_INT64:
    case PQ_DOUBLE: return 8;
    case PQ_INT96: return 12;
    case PQ_FIXED_LEN_BYTE_ARRAY: return (size_t)c->type_len;
    default: return 0;
    }
}

static int bad(char *err, size_t errlen, const sheaf__pqcol *c, const char *what) {
    snprintf(err, errlen, "column '%s': %s", c->name, what);
    return SHEAF_EFORMAT;
}

/* DELTA_BINARY_PACKED: n integers (wrapping 64-bit sums). Returns bytes used or -1. */
static long delta_decode(const uint8_t *p, const uint8_t *end, int64_t *out, size_t n) {
    const uint8_t *start = p;
    uint64_t bsize, nmini, total, zz;
    size_t k;
    if (!(k = sheaf__varint_get(p, end, &bsize)))
        return -1;
    p += k;
    if (!(k = sheaf__varint_get(p, end, &nmini)))
        return -1;
    p += k;
    if (!(k = sheaf__varint_get(p, end, &total)))
        return -1;
    p += k;
    if (!(k = sheaf__varint_get(p, end, &zz)))
        return -1;
    p += k;
    if (bsize == 0 || bsize % 128 || nmini == 0 || bsize % nmini || (bsize / nmini) % 32 ||
        bsize > (1u << 20) || total < n)
        return -1;
    uint64_t per = bsize / nmini;
    uint64_t cur = (uint64_t)((int64_t)(zz >> 1) ^ -(int64_t)(zz & 1));
    size_t got = 0;
    if (n > 0)
        out[got++] = (int64_t)cur;
    while (got < total && got < n) {
        if (!(k = sheaf__varint_get(p, end, &zz)))
            return -1;
        p += k;
        uint64_t mind = (uint64_t)((int64_t)(zz >> 1) ^ -(int64_t)(zz & 1));
        if ((uint64_t)(end - p) < nmini)
            return -1;
        const uint8_t *widths = p;
        p += nmini;
        for (uint64_t m = 0; m < nmini && got < n; m++) {
            int w = widths[m];
            if (w > 64)
                return -1;
            uint64_t nbytes = per * (uint64_t)w / 8;
            if (nbytes > (uint64_t)(end - p))
                return -1;
            uint64_t bit = 0;
            for (uint64_t i = 0; i < per && got < n; i++, bit += (uint64_t)w) {
                uint64_t x = 0;
                for (int b = 0; b < w; b++) {
                    uint64_t at = bit + (uint64_t)b;
                    x |= (uint64_t)(p[at >> 3] >> (at & 7) & 1) << b;
                }
                cur += mind + x;
                out[got++] = (int64_t)cur;
            }
            p += nbytes;
        }
    }
    return (long)(p - start);
}

int sheaf__pq_decode_page_values(const sheaf__pqcol *c, int encoding, const uint8_t *p, size_t len,
                                 const sheaf__pqval *dict, size_t ndict, sheaf__pqval *vals,
                                 size_t n, char *err, size_t errlen) {
    const uint8_t *end = p + len;
    if (n)
        memset(vals, 0, n * sizeof *vals);
    if (encoding == PQ_ENC_PLAIN_DICTIONARY || encoding == PQ_ENC_RLE_DICTIONARY) {
        if (!dict)
            return bad(err, errlen, c, "dictionary-encoded page without a dictionary page");
        if (n == 0)
            return 0;
        if (len < 1 || p[0] > 32)
            return bad(err, errlen, c, "bad dictionary index width");
        uint32_t *idx = malloc(n * sizeof *idx);
        if (!idx)
            return SHEAF_ENOMEM;
        long used = sheaf__pq_rle_decode(p + 1, end, p[0], idx, n);
        int rc = 0;
        for (size_t i = 0; used >= 0 && i < n; i++) {
            if (idx[i] >= ndict) {
                used = -1;
                break;
            }
            vals[i] = dict[idx[i]];
        }
        if (used < 0)
            rc = bad(err, errlen, c, "bad dictionary indices");
        free(idx);
        return rc;
    }
    if (encoding == PQ_ENC_PLAIN) {
        if (c->type == PQ_BOOLEAN) {
            if ((n + 7) / 8 > len)
                return bad(err, errlen, c, "page shorter than its values");
            for (size_t i = 0; i < n; i++)
                vals[i].u.i = p[i >> 3] >> (i & 7) & 1;
            return 0;
        }
        if (c->type == PQ_BYTE_ARRAY) {
            for (size_t i = 0; i < n; i++) {
                if (end - p < 4)
                    return bad(err, errlen, c, "page shorter than its values");
                uint32_t l = rd32(p);
                p += 4;
                if (l > (size_t)(end - p))
                    return bad(err, errlen, c, "string longer than its page");
                vals[i].u.p = p;
                vals[i].len = l;
                p += l;
            }
            return 0;
        }
        size_t sz = fixed_size(c);
        if (n > len / sz)
            return bad(err, errlen, c, "page shorter than its values");
        for (size_t i = 0; i < n; i++)
            fixed_value(c, p + i * sz, &vals[i]);
        return 0;
    }
    if (encoding == PQ_ENC_RLE && c->type == PQ_BOOLEAN) { /* 4-byte length, hybrid of width 1 */
        if (len < 4 || rd32(p) > len - 4)
            return bad(err, errlen, c, "bad RLE booleans");
        uint32_t *bits = malloc((n ? n : 1) * sizeof *bits);
        if (!bits)
            return SHEAF_ENOMEM;
        long used = sheaf__pq_rle_decode(p + 4, p + 4 + rd32(p), 1, bits, n);
        for (size_t i = 0; used >= 0 && i < n; i++)
            vals[i].u.i = bits[i] & 1;
        free(bits);
        return used < 0 ? bad(err, errlen, c, "bad RLE booleans") : 0;
    }
    if (encoding == PQ_ENC_BYTE_STREAM_SPLIT && c->type != PQ_BYTE_ARRAY && c->type != PQ_BOOLEAN) {
        size_t sz = fixed_size(c);
        if (n > len / sz)
            return bad(err, errlen, c, "page shorter than its values");
        uint8_t tmp[16];
        for (size_t i = 0; i < n; i++) {
            if (sz > sizeof tmp)
                return bad(err, errlen, c, "BYTE_STREAM_SPLIT of a long fixed type");
            for (size_t b = 0; b < sz; b++)
                tmp[b] = p[b * n + i];
            /* the value must stay readable: only numbers, which are copied out */
            if (c->type == PQ_FIXED_LEN_BYTE_ARRAY)
                return bad(err, errlen, c, "BYTE_STREAM_SPLIT of fixed-length bytes");
            fixed_value(c, tmp, &vals[i]);
        }
        return 0;
    }
    if (encoding == PQ_ENC_DELTA_BINARY_PACKED && (c->type == PQ_INT32 || c->type == PQ_INT64)) {
        int64_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
        if (!tmp)
            return SHEAF_ENOMEM;
        long used = delta_decode(p, end, tmp, n);
        for (size_t i = 0; used >= 0 && i < n; i++)
            vals[i].u.i = c->type == PQ_INT32 ? (int32_t)(uint32_t)tmp[i] : tmp[i];
        free(tmp);
        return used < 0 ? bad(err, errlen, c, "bad DELTA_BINARY_PACKED data") : 0;
    }
    if (encoding == PQ_ENC_DELTA_LENGTH_BYTE_ARRAY && c->type == PQ_BYTE_ARRAY) {
        int64_t *lens = malloc((n ? n : 1) * sizeof *lens);
        if (!lens)
            return SHEAF_ENOMEM;
        long used = delta_decode(p, end, lens, n);
        int rc = used < 0 ? bad(err, errlen, c, "bad DELTA_LENGTH_BYTE_ARRAY lengths") : 0;
        const uint8_t *q = used >= 0 ? p + used : end;
        for (size_t i = 0; !rc && i < n; i++) {
            if (lens[i] < 0 || lens[i] > end - q) {
                rc = bad(err, errlen, c, "string longer than its page");
                break;
            }
            vals[i].u.p = q;
            vals[i].len = (uint32_t)lens[i];
            q += lens[i];
        }
        free(lens);
        return rc;
    }
    snprintf(err, errlen, "column '%s': encoding %d of a %s column is not supported", c->name,
             encoding, c->type == PQ_BYTE_ARRAY ? "string" : "numeric");
    return SHEAF_EFORMAT;
}

/* ---- reading a column chunk ---- */

static int keep_buf(coldata *d, uint8_t *b) {
    if (d->nbufs == d->capbufs) {
        size_t cap = d->capbufs ? 2 * d->capbufs : 8;
        void *p = realloc(d->bufs, cap * sizeof *d->bufs);
        if (!p) {
            free(b);
            return SHEAF_ENOMEM;
        }
        d->bufs = p;
        d->capbufs = cap;
    }
    d->bufs[d->nbufs++] = b;
    return 0;
}

typedef struct pagehdr {
    int type;
    int32_t usize, csize;
    int32_t nvalues, nnulls, nrows;
    int encoding, def_enc;
    int32_t def_len, rep_len;
    bool compressed;
    bool has_data, has_dict, has_v2;
} pagehdr;

static void parse_page_header(sheaf__tr *t, pagehdr *h) {
    int16_t last = 0, id;
    int ty;
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->compressed = true;
    h->def_enc = PQ_ENC_RLE;
    while ((ty = sheaf__tr_field(t, &last, &id)) != SHEAF__TC_STOP) {
        if (id == 1 && ty == SHEAF__TC_I32)
            h->type = sheaf__tr_i32(t);
        else if (id == 2 && ty == SHEAF__TC_I32)
            h->usize = sheaf__tr_i32(t);
        else if (id == 3 && ty == SHEAF__TC_I32)
            h->csize = sheaf__tr_i32(t);
        else if ((id == 5 || id == 7 || id == 8) && ty == SHEAF__TC_STRUCT) {
            int16_t l2 = 0, i2;
            int t2;
            h->has_data |= id == 5;
            h->has_dict |= id == 7;
            h->has_v2 |= id == 8;
            while ((t2 = sheaf__tr_field(t, &l2, &i2)) != SHEAF__TC_STOP) {
                if (i2 == 1 && t2 == SHEAF__TC_I32)
                    h->nvalues = sheaf__tr_i32(t);
                else if (id == 5 && i2 == 2 && t2 == SHEAF__TC_I32)
                    h->encoding = sheaf__tr_i32(t);
                else if (id == 5 && i2 == 3 && t2 == SHEAF__TC_I32)
                    h->def_enc = sheaf__tr_i32(t);
                else if (id == 7 && i2 == 2 && t2 == SHEAF__TC_I32)
                    h->encoding = sheaf__tr_i32(t);
                else if (id == 8 && i2 == 2 && t2 == SHEAF__TC_I32)
                    h->nnulls = sheaf__tr_i32(t);
                else if (id == 8 && i2 == 3 && t2 == SHEAF__TC_I32)
                    h->nrows = sheaf__tr_i32(t);
                else if (id == 8 && i2 == 4 && t2 == SHEAF__TC_I32)
                    h->encoding = sheaf__tr_i32(t);
                else if (id == 8 && i2 == 5 && t2 == SHEAF__TC_I32)
                    h->def_len = sheaf__tr_i32(t);
                else if (id == 8 && i2 == 6 && t2 == SHEAF__TC_I32)
                    h->rep_len = sheaf__tr_i32(t);
                else if (id == 8 && i2 == 7 && (t2 == SHEAF__TC_TRUE || t2 == SHEAF__TC_FALSE))
                    h->compressed = t2 == SHEAF__TC_TRUE;
                else
                    sheaf__tr_skip(t, t2);
            }
        } else {
            sheaf__tr_skip(t, ty);
        }
    }
}

static int need_dense(sheaf__pqr *r, size_t n) {
    if (n > r->capdense) {
        void *p = realloc(r->dense, n * sizeof *r->dense);
        if (!p)
            return SHEAF_ENOMEM;
        r->dense = p;
        r->capdense = n;
    }
    if (n > r->caplevels) {
        void *p = realloc(r->levels, n * sizeof *r->levels);
        if (!p)
            return SHEAF_ENOMEM;
        r->levels = p;
        r->caplevels = n;
    }
    return 0;
}

int sheaf__pqr_read(sheaf__pqr *r, size_t rg, size_t col, const sheaf__pqval **vals, char *err,
                    size_t errlen) {
    const sheaf__pqcol *c = &r->cols[col];
    const chunk *ck = &r->rgs[rg].cols[col];
    coldata *d = &r->data[col];
    char why[300];
    int rc = 0;
    free_bufs(d);
    d->ndict = 0;
    uint64_t rows = (uint64_t)r->rgs[rg].rows;
    if (ck->codec != PQ_CODEC_NONE && ck->codec != PQ_CODEC_SNAPPY && ck->codec != PQ_CODEC_GZIP &&
        ck->codec != PQ_CODEC_ZSTD) {
        snprintf(err, errlen, "%s: column '%s' uses the %s codec, which is not supported", r->path,
                 c->name, sheaf__pq_codec_name(ck->codec));
        return SHEAF_EFORMAT;
    }
    if (rows > d->capvals) {
        void *p = realloc(d->vals, rows * sizeof *d->vals);
        if (!p)
            goto nomem;
        d->vals = p;
        d->capvals = rows;
    }
    uint64_t start = (uint64_t)chunk_start(ck), size = (uint64_t)ck->size;
    if (start + size > r->size - 8 || start < 4) {
        snprintf(err, errlen,
                 "%s: column '%s' of row group %zu lies outside the file "
                 "(offset %" PRIu64 ", %" PRIu64 " bytes; truncated?)",
                 r->path, c->name, rg, start, size);
        return SHEAF_EFORMAT;
    }
    uint8_t *raw = malloc(size ? size : 1);
    if (!raw || keep_buf(d, raw))
        goto nomem;
    if (pread(r->fd, raw, size, (off_t)start) != (ssize_t)size) {
        snprintf(err, errlen, "cannot read %s at offset %" PRIu64, r->path, start);
        return SHEAF_EIO;
    }
    const uint8_t *p = raw, *end = raw + size;
    uint64_t row = 0;
    while (row < rows) {
        uint64_t at = start + (uint64_t)(p - raw);
        sheaf__tr t = {p, end, 0, NULL};
        pagehdr h;
        parse_page_header(&t, &h);
        if (t.err || h.csize < 0 || h.usize < 0 || h.csize > end - t.p) {
            snprintf(err, errlen, "%s: column '%s': bad page header at offset %" PRIu64 " (%s)",
                     r->path, c->name, at, t.err ? t.why : "page longer than its column chunk");
            return SHEAF_EFORMAT;
        }
        const uint8_t *body = t.p;
        p = body + h.csize;
        if (h.type == PQ_PAGE_INDEX ||
            (h.type != PQ_PAGE_DATA && h.type != PQ_PAGE_DATA_V2 && h.type != PQ_PAGE_DICTIONARY))
            continue;
        /* the page's bytes, decompressed (v2: the levels are stored as they are) */
        size_t lv = 0;
        if (h.type == PQ_PAGE_DATA_V2) {
            if (!h.has_v2 || h.def_len < 0 || h.rep_len != 0 || h.def_len > h.csize ||
                h.def_len > h.usize) {
                snprintf(err, errlen, "%s: column '%s': bad data page v2 header at offset %" PRIu64,
                         r->path, c->name, at);
                return SHEAF_EFORMAT;
            }
            lv = (size_t)h.def_len;
        }
        uint8_t *page = malloc((size_t)h.usize + 1);
        if (!page || keep_buf(d, page))
            goto nomem;
        memcpy(page, body, lv);
        int codec = h.type == PQ_PAGE_DATA_V2 && !h.compressed ? PQ_CODEC_NONE : ck->codec;
        if ((rc = sheaf__pq_decompress(codec, body + lv, (size_t)h.csize - lv, page + lv,
                                       (size_t)h.usize - lv))) {
            snprintf(err, errlen,
                     "%s: column '%s': page at offset %" PRIu64 " does not decompress (%s)",
                     r->path, c->name, at, sheaf__pq_codec_name(codec));
            return SHEAF_EFORMAT;
        }
        const uint8_t *q = page, *qend = page + h.usize;
        if (h.type == PQ_PAGE_DICTIONARY) {
            if (!h.has_dict || h.nvalues < 0 ||
                (h.encoding != PQ_ENC_PLAIN && h.encoding != PQ_ENC_PLAIN_DICTIONARY)) {
                snprintf(err, errlen, "%s: column '%s': bad dictionary page at offset %" PRIu64,
                         r->path, c->name, at);
                return SHEAF_EFORMAT;
            }
            /* A PLAIN value takes at least a bit (BOOLEAN), four bytes (a string's length) or
             * its fixed size: a count the page cannot hold is refused before any allocation. */
            size_t nd = (size_t)h.nvalues;
            size_t bits = c->type == PQ_BOOLEAN      ? 1
                          : c->type == PQ_BYTE_ARRAY ? 32
                                                     : 8 * fixed_size(c);
            if (bits == 0 || nd > (size_t)h.usize * 8 / bits) {
                snprintf(err, errlen,
                         "%s: column '%s': dictionary page at offset %" PRIu64
                         " claims %zu values in %d bytes",
                         r->path, c->name, at, nd, h.usize);
                return SHEAF_EFORMAT;
            }
            if (nd > d->capdict) {
                void *np = realloc(d->dict, nd * sizeof *d->dict);
                if (!np)
                    goto nomem;
                d->dict = np;
                d->capdict = nd;
            }
            if ((rc = sheaf__pq_decode_page_values(c, PQ_ENC_PLAIN, q, (size_t)(qend - q), NULL, 0,
                                                   d->dict, nd, why, sizeof why))) {
                snprintf(err, errlen, "%s: %s (dictionary page at offset %" PRIu64 ")", r->path,
                         why, at);
                return rc;
            }
            d->ndict = nd;
            continue;
        }
        if ((h.type == PQ_PAGE_DATA && !h.has_data) || h.nvalues < 0 ||
            (uint64_t)h.nvalues > rows - row) {
            snprintf(err, errlen,
                     "%s: column '%s': bad data page header at offset %" PRIu64
                     " (%d values, %" PRIu64 " rows left)",
                     r->path, c->name, at, h.nvalues, rows - row);
            return SHEAF_EFORMAT;
        }
        size_t n = (size_t)h.nvalues;
        if (need_dense(r, n))
            goto nomem;
        size_t nonnull = n;
        if (c->optional) {
            const uint8_t *lp = q, *lend;
            if (h.type == PQ_PAGE_DATA) {
                if (h.def_enc != PQ_ENC_RLE || qend - q < 4 || rd32(q) > (size_t)(qend - q - 4)) {
                    snprintf(err, errlen,
                             "%s: column '%s': bad definition levels at offset %" PRIu64, r->path,
                             c->name, at);
                    return SHEAF_EFORMAT;
                }
                lp = q + 4;
                lend = lp + rd32(q);
                q = lend;
            } else {
                lend = q + lv;
                q = lend;
            }
            if (sheaf__pq_rle_decode(lp, lend, 1, r->levels, n) < 0) {
                snprintf(err, errlen, "%s: column '%s': bad definition levels at offset %" PRIu64,
                         r->path, c->name, at);
                return SHEAF_EFORMAT;
            }
            nonnull = 0;
            for (size_t i = 0; i < n; i++) {
                if (r->levels[i] > 1) {
                    snprintf(err, errlen,
                             "%s: column '%s': definition level %u above 1 at "
                             "offset %" PRIu64,
                             r->path, c->name, r->levels[i], at);
                    return SHEAF_EFORMAT;
                }
                nonnull += r->levels[i];
            }
        } else {
            q += lv; /* v2: a required column has no levels (def_len 0) */
        }
        if ((rc = sheaf__pq_decode_page_values(c, h.encoding, q, (size_t)(qend - q), d->dict,
                                               d->ndict, r->dense, nonnull, why, sizeof why))) {
            snprintf(err, errlen, "%s: %s (page at offset %" PRIu64 ")", r->path, why, at);
            return rc;
        }
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            sheaf__pqval *v = &d->vals[row + i];
            if (c->optional && !r->levels[i]) {
                memset(v, 0, sizeof *v);
                v->null = 1;
            } else {
                *v = r->dense[k++];
                v->null = 0;
            }
        }
        row += n;
        if (p >= end && row < rows) {
            snprintf(err, errlen,
                     "%s: column '%s' of row group %zu ends after %" PRIu64 " of its %" PRIu64
                     " rows",
                     r->path, c->name, rg, row, rows);
            return SHEAF_EFORMAT;
        }
    }
    *vals = d->vals;
    return 0;
nomem:
    snprintf(err, errlen, "%s: out of memory reading column '%s'", r->path, c->name);
    return SHEAF_ENOMEM;
}

/* ---- values as text ---- */

static size_t decimal_text(__int128 v, int scale, char *buf) {
    char digits[64];
    size_t nd = 0;
    bool neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
    do {
        digits[nd++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while ((int)nd <= scale)
        digits[nd++] = '0';
    size_t n = 0;
    if (neg)
        buf[n++] = '-';
    for (size_t i = nd; i-- > 0;) {
        buf[n++] = digits[i];
        if (scale > 0 && i == (size_t)scale)
            buf[n++] = '.';
    }
    return n;
}

size_t sheaf__pq_text(const sheaf__pqcol *c, const sheaf__pqval *v, char *buf, const char **out) {
    *out = buf;
    if (v->null)
        return 0;
    if (c->is_decimal && c->scale >= 0 && c->scale <= 38) {
        __int128 x = 0;
        if (c->type == PQ_INT32 || c->type == PQ_INT64) {
            x = v->u.i;
        } else if ((c->type == PQ_BYTE_ARRAY || c->type == PQ_FIXED_LEN_BYTE_ARRAY) &&
                   v->len >= 1 && v->len <= 16) {
            unsigned __int128 u = v->u.p[0] & 0x80 ? ~(unsigned __int128)0 : 0;
            for (uint32_t i = 0; i < v->len; i++) /* big-endian two's complement */
                u = u << 8 | v->u.p[i];
            x = (__int128)u;
        } else {
            goto raw;
        }
        return decimal_text(x, c->scale, buf);
    }
    switch (c->type) {
    case PQ_BOOLEAN: return (size_t)sprintf(buf, "%s", v->u.i ? "true" : "false");
    case PQ_INT32:
        if (c->is_date)
            return sheaf__format_date((int32_t)v->u.i, buf);
        if (c->is_unsigned)
            return (size_t)sprintf(buf, "%u", (uint32_t)v->u.i);
        return (size_t)sprintf(buf, "%" PRId64, v->u.i);
    case PQ_INT64:
        if (c->ts_unit) {
            int64_t us = v->u.i;
            if (c->ts_unit == 1)
                us = (int64_t)((uint64_t)us * 1000);
            else if (c->ts_unit == 3)
                us = us / 1000 - (us % 1000 < 0);
            return sheaf__format_timestamp(us, buf);
        }
        if (c->is_unsigned)
            return (size_t)sprintf(buf, "%" PRIu64, (uint64_t)v->u.i);
        return (size_t)sprintf(buf, "%" PRId64, v->u.i);
    case PQ_INT96: return sheaf__format_timestamp(v->u.i, buf);
    case PQ_FLOAT: {
        float f = (float)v->u.d;
        if (f != f || f - f != 0)
            return sheaf__format_double(v->u.d, buf, 64);
        for (int prec = 1; prec <= 9; prec++) {
            int n = snprintf(buf, 64, "%.*g", prec, (double)f);
            if (strtof(buf, NULL) == f)
                return (size_t)n;
        }
        return (size_t)snprintf(buf, 64, "%.9g", (double)f);
    }
    case PQ_DOUBLE: return sheaf__format_double(v->u.d, buf, 64);
    default: break;
    }
raw:
    *out = (const char *)v->u.p;
    return v->len;
}
