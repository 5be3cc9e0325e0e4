/*
 * thrift.c: the Thrift compact protocol (the subset Parquet uses, and a skip of the rest).
 *
 * Integers are ULEB128 varints; i16, i32 and i64 are zigzag-coded first (0, -1, 1, -2 ->
 * 0, 1, 2, 3). A field header is one byte, the id's delta from the previous field of the same
 * struct in the high nibble and the type in the low one; a delta outside 1..15 is written as
 * the type byte followed by the id as a zigzag varint. A bool field carries its value in its
 * type (1 true, 2 false); a bool inside a list is one byte. Binary values are a varint length
 * and the bytes; doubles are 8 little-endian bytes; a list is one byte, its size (below 15) in
 * the high nibble and the element type in the low one, or 0xF_ and the size as a varint. A
 * struct ends with a 0 byte. The reader checks every length against the bytes left and bounds
 * the nesting it skips, so a hostile footer cannot make it read out of bounds or recurse
 * without end.
 */
#include "thrift.h"

#include <string.h>

/* ---- writing ---- */

static void put(sheaf__tw *w, const void *p, size_t n) {
    if (w->err)
        return;
    if (sheaf__buf_reserve(w->b, n)) {
        w->err = SHEAF_ENOMEM;
        return;
    }
    memcpy(w->b->data + w->b->len, p, n);
    w->b->len += n;
}

static void put_varint(sheaf__tw *w, uint64_t v) {
    uint8_t tmp[SHEAF__VARINT_MAX];
    put(w, tmp, sheaf__varint_put(tmp, v));
}

static uint64_t zigzag(int64_t v) {
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

void sheaf__tw_field(sheaf__tw *w, int16_t *last, int16_t id, int type) {
    int delta = (int)id - (int)*last;
    if (delta > 0 && delta <= 15) {
        uint8_t b = (uint8_t)(delta << 4 | type);
        put(w, &b, 1);
    } else {
        uint8_t b = (uint8_t)type;
        put(w, &b, 1);
        put_varint(w, zigzag(id));
    }
    *last = id;
}

void sheaf__tw_stop(sheaf__tw *w) {
    uint8_t b = 0;
    put(w, &b, 1);
}

void sheaf__tw_i32(sheaf__tw *w, int32_t v) {
    put_varint(w, zigzag(v));
}

void sheaf__tw_i64(sheaf__tw *w, int64_t v) {
    put_varint(w, zigzag(v));
}

void sheaf__tw_double(sheaf__tw *w, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(u >> (8 * i));
    put(w, b, 8);
}

void sheaf__tw_binary(sheaf__tw *w, const void *p, size_t n) {
    put_varint(w, n);
    if (n)
        put(w, p, n);
}

void sheaf__tw_list(sheaf__tw *w, int elem_type, size_t n) {
    if (n < 15) {
        uint8_t b = (uint8_t)(n << 4 | (size_t)elem_type);
        put(w, &b, 1);
    } else {
        uint8_t b = (uint8_t)(0xf0 | elem_type);
        put(w, &b, 1);
        put_varint(w, n);
    }
}

void sheaf__tw_bool_elem(sheaf__tw *w, bool v) {
    uint8_t b = v ? SHEAF__TC_TRUE : SHEAF__TC_FALSE;
    put(w, &b, 1);
}

void sheaf__tw_f_i32(sheaf__tw *w, int16_t *last, int16_t id, int32_t v) {
    sheaf__tw_field(w, last, id, SHEAF__TC_I32);
    sheaf__tw_i32(w, v);
}

void sheaf__tw_f_i64(sheaf__tw *w, int16_t *last, int16_t id, int64_t v) {
    sheaf__tw_field(w, last, id, SHEAF__TC_I64);
    sheaf__tw_i64(w, v);
}

void sheaf__tw_f_bool(sheaf__tw *w, int16_t *last, int16_t id, bool v) {
    sheaf__tw_field(w, last, id, v ? SHEAF__TC_TRUE : SHEAF__TC_FALSE);
}

void sheaf__tw_f_binary(sheaf__tw *w, int16_t *last, int16_t id, const void *p, size_t n) {
    sheaf__tw_field(w, last, id, SHEAF__TC_BINARY);
    sheaf__tw_binary(w, p, n);
}

void sheaf__tw_f_string(sheaf__tw *w, int16_t *last, int16_t id, const char *s) {
    sheaf__tw_f_binary(w, last, id, s, strlen(s));
}

/* ---- reading ---- */

void sheaf__tr_fail(sheaf__tr *r, const char *why) {
    if (!r->err) {
        r->err = SHEAF_EFORMAT;
        r->why = why;
    }
    r->p = r->end;
}

static uint64_t get_varint(sheaf__tr *r) {
    if (r->err)
        return 0;
    uint64_t v;
    size_t n = sheaf__varint_get(r->p, r->end, &v);
    if (!n) {
        sheaf__tr_fail(r, "truncated or overlong varint");
        return 0;
    }
    r->p += n;
    return v;
}

static int64_t unzigzag(uint64_t v) {
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static uint8_t get_byte(sheaf__tr *r) {
    if (r->err)
        return 0;
    if (r->p >= r->end) {
        sheaf__tr_fail(r, "truncated");
        return 0;
    }
    return *r->p++;
}

int sheaf__tr_field(sheaf__tr *r, int16_t *last, int16_t *id) {
    uint8_t b = get_byte(r);
    if (r->err || b == 0)
        return SHEAF__TC_STOP;
    int type = b & 0x0f;
    if (type > SHEAF__TC_STRUCT) {
        sheaf__tr_fail(r, "unknown field type");
        return SHEAF__TC_STOP;
    }
    int delta = b >> 4;
    int64_t fid = delta ? (int64_t)*last + delta : unzigzag(get_varint(r));
    if (r->err)
        return SHEAF__TC_STOP;
    if (fid < INT16_MIN || fid > INT16_MAX) {
        sheaf__tr_fail(r, "field id out of range");
        return SHEAF__TC_STOP;
    }
    *id = *last = (int16_t)fid;
    return type;
}

int32_t sheaf__tr_i32(sheaf__tr *r) {
    int64_t v = unzigzag(get_varint(r));
    if (v < INT32_MIN || v > INT32_MAX) {
        sheaf__tr_fail(r, "i32 out of range");
        return 0;
    }
    return (int32_t)v;
}

int64_t sheaf__tr_i64(sheaf__tr *r) {
    return unzigzag(get_varint(r));
}

double sheaf__tr_double(sheaf__tr *r) {
    if (r->err || r->end - r->p < 8) {
        sheaf__tr_fail(r, "truncated double");
        return 0;
    }
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    double d;
    memcpy(&d, &u, 8);
    return d;
}

const uint8_t *sheaf__tr_binary(sheaf__tr *r, size_t *n) {
    uint64_t len = get_varint(r);
    if (r->err || len > (uint64_t)(r->end - r->p)) {
        sheaf__tr_fail(r, "binary value longer than its struct");
        *n = 0;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += len;
    *n = (size_t)len;
    return p;
}

size_t sheaf__tr_list(sheaf__tr *r, int *elem_type) {
    uint8_t b = get_byte(r);
    uint64_t n = b >> 4;
    *elem_type = b & 0x0f;
    if (n == 15)
        n = get_varint(r);
    if (r->err)
        return 0;
    /* every element takes at least one byte, except bools packed in their field type, which
     * lists never use */
    if (n > (uint64_t)(r->end - r->p)) {
        sheaf__tr_fail(r, "list longer than its struct");
        return 0;
    }
    return (size_t)n;
}

bool sheaf__tr_bool_elem(sheaf__tr *r) {
    return get_byte(r) == SHEAF__TC_TRUE;
}

static void skip(sheaf__tr *r, int type, int depth) {
    if (depth > SHEAF__TR_DEPTH) {
        sheaf__tr_fail(r, "nested too deeply");
        return;
    }
    size_t n;
    int et, kt, vt;
    switch (type) {
    case SHEAF__TC_TRUE:
    case SHEAF__TC_FALSE: /* a bool field: nothing follows its header */ break;
    case SHEAF__TC_BYTE: get_byte(r); break;
    case SHEAF__TC_I16:
    case SHEAF__TC_I32:
    case SHEAF__TC_I64: get_varint(r); break;
    case SHEAF__TC_DOUBLE: sheaf__tr_double(r); break;
    case SHEAF__TC_BINARY: sheaf__tr_binary(r, &n); break;
    case SHEAF__TC_LIST:
    case SHEAF__TC_SET:
        n = sheaf__tr_list(r, &et);
        /* a bool element is one byte: skip it as a byte */
        if (et == SHEAF__TC_TRUE || et == SHEAF__TC_FALSE)
            et = SHEAF__TC_BYTE;
        for (size_t i = 0; i < n && !r->err; i++)
            skip(r, et, depth + 1);
        break;
    case SHEAF__TC_MAP: {
        uint64_t m = get_varint(r);
        if (m == 0)
            break;
        uint8_t kv = get_byte(r);
        kt = kv >> 4;
        vt = kv & 0x0f;
        if (kt == SHEAF__TC_TRUE || kt == SHEAF__TC_FALSE)
            kt = SHEAF__TC_BYTE;
        if (vt == SHEAF__TC_TRUE || vt == SHEAF__TC_FALSE)
            vt = SHEAF__TC_BYTE;
        if (m > (uint64_t)(r->end - r->p)) {
            sheaf__tr_fail(r, "map longer than its struct");
            break;
        }
        for (uint64_t i = 0; i < m && !r->err; i++) {
            skip(r, kt, depth + 1);
            skip(r, vt, depth + 1);
        }
        break;
    }
    case SHEAF__TC_STRUCT: {
        int16_t last = 0, id;
        int t;
        while (!r->err && (t = sheaf__tr_field(r, &last, &id)) != SHEAF__TC_STOP)
            skip(r, t, depth + 1);
        break;
    }
    default: sheaf__tr_fail(r, "unknown type");
    }
}

void sheaf__tr_skip(sheaf__tr *r, int type) {
    skip(r, type, 0);
}
