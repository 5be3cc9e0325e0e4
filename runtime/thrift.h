/*
 * thrift.h: the Thrift compact protocol, the encoding of Parquet's file metadata and page
 * headers. Private to the runtime.
 *
 * The writer appends to a growable buffer; the reader walks a byte range. Both leave the
 * struct nesting to their caller, who keeps the last field id of each open struct in a local
 * variable (field ids travel as deltas from it). A reader error is sticky: after the first
 * malformed or truncated value every call returns zero values and r->err stays set, so a
 * decoder may read a whole struct and check once at its end.
 */
#ifndef SHEAF_THRIFT_H
#define SHEAF_THRIFT_H

#include "internal.h"

/* Compact protocol type codes (a field header's low nibble; list element types). */
enum {
    SHEAF__TC_STOP = 0,
    SHEAF__TC_TRUE = 1, /* a bool field's value is its type: 1 true, 2 false */
    SHEAF__TC_FALSE = 2,
    SHEAF__TC_BYTE = 3,
    SHEAF__TC_I16 = 4,
    SHEAF__TC_I32 = 5,
    SHEAF__TC_I64 = 6,
    SHEAF__TC_DOUBLE = 7,
    SHEAF__TC_BINARY = 8,
    SHEAF__TC_LIST = 9,
    SHEAF__TC_SET = 10,
    SHEAF__TC_MAP = 11,
    SHEAF__TC_STRUCT = 12
};

/* ---- writing ---- */

typedef struct sheaf__tw {
    sheaf__buf *b;
    int err; /* SHEAF_ENOMEM after a failed append; later calls do nothing */
} sheaf__tw;

/* A field header for field id of type (*last: the previous id in this struct, updated). */
void sheaf__tw_field(sheaf__tw *w, int16_t *last, int16_t id, int type);
void sheaf__tw_stop(sheaf__tw *w); /* ends a struct */
void sheaf__tw_i32(sheaf__tw *w, int32_t v);
void sheaf__tw_i64(sheaf__tw *w, int64_t v);
void sheaf__tw_double(sheaf__tw *w, double v);
void sheaf__tw_binary(sheaf__tw *w, const void *p, size_t n);
void sheaf__tw_list(sheaf__tw *w, int elem_type, size_t n); /* then n elements */
void sheaf__tw_bool_elem(sheaf__tw *w, bool v);             /* a bool inside a list */
/* Whole fields: header and value. */
void sheaf__tw_f_i32(sheaf__tw *w, int16_t *last, int16_t id, int32_t v);
void sheaf__tw_f_i64(sheaf__tw *w, int16_t *last, int16_t id, int64_t v);
void sheaf__tw_f_bool(sheaf__tw *w, int16_t *last, int16_t id, bool v);
void sheaf__tw_f_binary(sheaf__tw *w, int16_t *last, int16_t id, const void *p, size_t n);
void sheaf__tw_f_string(sheaf__tw *w, int16_t *last, int16_t id, const char *s);

/* ---- reading ---- */

#define SHEAF__TR_DEPTH 32 /* nesting allowed when skipping an unknown value */

typedef struct sheaf__tr {
    const uint8_t *p, *end;
    int err;         /* 0, or SHEAF_EFORMAT once something was malformed or truncated */
    const char *why; /* what was malformed (static text) */
} sheaf__tr;

/* Reads a field header: returns its type (SHEAF__TC_TRUE/FALSE for bool fields), with *id
 * set, or SHEAF__TC_STOP at the end of the struct or on error. *last as for writing. */
int sheaf__tr_field(sheaf__tr *r, int16_t *last, int16_t *id);
int32_t sheaf__tr_i32(sheaf__tr *r);
int64_t sheaf__tr_i64(sheaf__tr *r);
double sheaf__tr_double(sheaf__tr *r);
/* A binary or string: a pointer into the input and its length (NULL on error). */
const uint8_t *sheaf__tr_binary(sheaf__tr *r, size_t *n);
/* A list header: returns the number of elements and sets *elem_type. A count larger than the
 * bytes left could hold is an error (0 returned). */
size_t sheaf__tr_list(sheaf__tr *r, int *elem_type);
bool sheaf__tr_bool_elem(sheaf__tr *r);
/* Skips a value of the given type (a field's value, or a list element), nested values too. */
void sheaf__tr_skip(sheaf__tr *r, int type);
/* Marks the reader failed (first reason kept). */
void sheaf__tr_fail(sheaf__tr *r, const char *why);

#endif /* SHEAF_THRIFT_H */
