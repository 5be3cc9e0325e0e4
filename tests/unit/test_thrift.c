/*
 * test_thrift.c: unit tests of the Thrift compact protocol (thrift.c).
 *
 * The encoder is checked against byte strings worked out by hand from the protocol's rules
 * (field deltas, long field ids, zigzag varints, bool fields, list headers short and long);
 * integers round-trip against a zigzag computed here by arithmetic; the decoder skips unknown
 * fields of every type, nested, and fails cleanly (sticky error, no read past the end) on
 * every truncation of a valid struct and on hostile lengths and nesting.
 */
#include "thrift.h"
#include "unit.h"

static const uint8_t hand[] = {
    0x15, 0x02,               /* 1: i32 1 */
    0x18, 0x02, 'a',  'b',    /* 2: binary "ab" */
    0x06, 0x28, 0x01,         /* 20 (long form, zigzag 40): i64 -1 */
    0x11,                     /* 21: bool true */
    0x19, 0x35, 2,    4,   6, /* 22: list<i32> [1, 2, 3] */
    0x12,                     /* 23: bool false */
    0x00,
};

static void encode_hand(sheaf__buf *b) {
    sheaf__tw w = {b, 0};
    int16_t last = 0;
    sheaf__tw_f_i32(&w, &last, 1, 1);
    sheaf__tw_f_string(&w, &last, 2, "ab");
    sheaf__tw_f_i64(&w, &last, 20, -1);
    sheaf__tw_f_bool(&w, &last, 21, true);
    sheaf__tw_field(&w, &last, 22, SHEAF__TC_LIST);
    sheaf__tw_list(&w, SHEAF__TC_I32, 3);
    for (int i = 1; i <= 3; i++)
        sheaf__tw_i32(&w, i);
    sheaf__tw_f_bool(&w, &last, 23, false);
    sheaf__tw_stop(&w);
    UNIT_ASSERT_EQUAL(w.err, 0);
}

static void test_encode_by_hand(void) {
    sheaf__buf b = {0};
    encode_hand(&b);
    UNIT_ASSERT_EQUAL(b.len, sizeof hand);
    UNIT_ASSERT(b.len == sizeof hand && memcmp(b.data, hand, sizeof hand) == 0);
    sheaf__buf_free(&b);
}

static void test_decode_by_hand(void) {
    sheaf__tr r = {hand, hand + sizeof hand, 0, NULL};
    int16_t last = 0, id = 0;
    int t, seen = 0;
    while ((t = sheaf__tr_field(&r, &last, &id)) != SHEAF__TC_STOP) {
        size_t n;
        int et;
        switch (id) {
        case 1:
            UNIT_ASSERT_EQUAL(t, SHEAF__TC_I32);
            UNIT_ASSERT_EQUAL(sheaf__tr_i32(&r), 1);
            break;
        case 2: {
            const uint8_t *p = sheaf__tr_binary(&r, &n);
            UNIT_ASSERT(n == 2 && p && memcmp(p, "ab", 2) == 0);
            break;
        }
        case 20: UNIT_ASSERT_EQUAL(sheaf__tr_i64(&r), -1); break;
        case 21: UNIT_ASSERT_EQUAL(t, SHEAF__TC_TRUE); break;
        case 22:
            n = sheaf__tr_list(&r, &et);
            UNIT_ASSERT_EQUAL(n, 3);
            UNIT_ASSERT_EQUAL(et, SHEAF__TC_I32);
            for (size_t i = 0; i < n; i++)
                UNIT_ASSERT_EQUAL(sheaf__tr_i32(&r), (int32_t)i + 1);
            break;
        case 23: UNIT_ASSERT_EQUAL(t, SHEAF__TC_FALSE); break;
        default: UNIT_ASSERT(false);
        }
        seen++;
    }
    UNIT_ASSERT_EQUAL(seen, 6);
    UNIT_ASSERT_EQUAL(r.err, 0);
    UNIT_ASSERT(r.p == hand + sizeof hand);
}

static uint64_t ref_zigzag(int64_t v) {
    return v >= 0 ? 2 * (uint64_t)v : 2 * (uint64_t)(-(v + 1)) + 1;
}

static void test_integers_round_trip(void) {
    for (int i = 0; i < 20000; i++) {
        int64_t v = (int64_t)unit_rand64();
        v >>= unit_below(64); /* all magnitudes */
        if (i < 4)
            v = i == 0 ? INT64_MIN : i == 1 ? INT64_MAX : i == 2 ? 0 : -1;
        sheaf__buf b = {0};
        sheaf__tw w = {&b, 0};
        sheaf__tw_i64(&w, v);
        uint64_t z = 0;
        UNIT_ASSERT_EQUAL(sheaf__varint_get(b.data, b.data + b.len, &z), b.len);
        UNIT_ASSERT_EQUAL(z, ref_zigzag(v));
        sheaf__tr r = {b.data, b.data + b.len, 0, NULL};
        UNIT_ASSERT_EQUAL(sheaf__tr_i64(&r), v);
        UNIT_ASSERT_EQUAL(r.err, 0);
        int32_t v32 = (int32_t)v;
        b.len = 0;
        sheaf__tw_i32(&w, v32);
        r = (sheaf__tr){b.data, b.data + b.len, 0, NULL};
        UNIT_ASSERT_EQUAL(sheaf__tr_i32(&r), v32);
        double d = (double)v / 3.0;
        b.len = 0;
        sheaf__tw_double(&w, d);
        UNIT_ASSERT_EQUAL(b.len, 8);
        r = (sheaf__tr){b.data, b.data + b.len, 0, NULL};
        UNIT_ASSERT(sheaf__tr_double(&r) == d);
        sheaf__buf_free(&b);
    }
}

static void test_long_list_and_field_ids(void) {
    sheaf__buf b = {0};
    sheaf__tw w = {&b, 0};
    int16_t last = 0;
    sheaf__tw_field(&w, &last, 300, SHEAF__TC_LIST); /* long form */
    sheaf__tw_list(&w, SHEAF__TC_BINARY, 40);        /* long list header */
    for (int i = 0; i < 40; i++)
        sheaf__tw_binary(&w, "xyz", (size_t)(i % 4));
    sheaf__tw_f_i32(&w, &last, 299, -7); /* a smaller id: long form again */
    sheaf__tw_stop(&w);
    UNIT_ASSERT_EQUAL(b.data[0], SHEAF__TC_LIST);
    UNIT_ASSERT_EQUAL(b.data[3], 0xf0 | SHEAF__TC_BINARY);
    UNIT_ASSERT_EQUAL(b.data[4], 40);
    sheaf__tr r = {b.data, b.data + b.len, 0, NULL};
    int16_t rl = 0, id;
    int et;
    UNIT_ASSERT_EQUAL(sheaf__tr_field(&r, &rl, &id), SHEAF__TC_LIST);
    UNIT_ASSERT_EQUAL(id, 300);
    UNIT_ASSERT_EQUAL(sheaf__tr_list(&r, &et), 40);
    for (int i = 0; i < 40; i++) {
        size_t n;
        sheaf__tr_binary(&r, &n);
        UNIT_ASSERT_EQUAL(n, (size_t)(i % 4));
    }
    UNIT_ASSERT_EQUAL(sheaf__tr_field(&r, &rl, &id), SHEAF__TC_I32);
    UNIT_ASSERT_EQUAL(id, 299);
    UNIT_ASSERT_EQUAL(sheaf__tr_i32(&r), -7);
    UNIT_ASSERT_EQUAL(sheaf__tr_field(&r, &rl, &id), SHEAF__TC_STOP);
    UNIT_ASSERT_EQUAL(r.err, 0);
    sheaf__buf_free(&b);
}

/* A struct whose fields 1..7 are of every type, then field 9, the one a reader wants. */
static void encode_unknowns(sheaf__buf *b) {
    sheaf__tw w = {b, 0};
    int16_t last = 0;
    sheaf__tw_field(&w, &last, 1, SHEAF__TC_DOUBLE);
    sheaf__tw_double(&w, 2.5);
    sheaf__tw_field(&w, &last, 2, SHEAF__TC_STRUCT);
    {
        int16_t in = 0;
        sheaf__tw_f_i64(&w, &in, 1, 1234567);
        sheaf__tw_field(&w, &in, 2, SHEAF__TC_STRUCT);
        int16_t in2 = 0;
        sheaf__tw_f_string(&w, &in2, 5, "deep");
        sheaf__tw_stop(&w);
        sheaf__tw_f_bool(&w, &in, 3, true);
        sheaf__tw_stop(&w);
    }
    sheaf__tw_field(&w, &last, 3, SHEAF__TC_LIST);
    sheaf__tw_list(&w, SHEAF__TC_TRUE, 3);
    sheaf__tw_bool_elem(&w, true);
    sheaf__tw_bool_elem(&w, false);
    sheaf__tw_bool_elem(&w, true);
    sheaf__tw_field(&w, &last, 4, SHEAF__TC_MAP); /* map<i32, binary> of 2 */
    uint8_t m[] = {2, (SHEAF__TC_I32 << 4) | SHEAF__TC_BINARY, 2, 1, 'a', 4, 2, 'b', 'c'};
    sheaf__buf_reserve(b, sizeof m);
    memcpy(b->data + b->len, m, sizeof m);
    b->len += sizeof m;
    sheaf__tw_field(&w, &last, 5, SHEAF__TC_BYTE);
    uint8_t byte = 7;
    sheaf__buf_reserve(b, 1);
    b->data[b->len++] = byte;
    sheaf__tw_field(&w, &last, 6, SHEAF__TC_I16);
    sheaf__tw_i32(&w, -300);
    sheaf__tw_field(&w, &last, 7, SHEAF__TC_LIST);
    sheaf__tw_list(&w, SHEAF__TC_STRUCT, 2);
    for (int i = 0; i < 2; i++) {
        int16_t in = 0;
        sheaf__tw_f_i32(&w, &in, 1, i);
        sheaf__tw_stop(&w);
    }
    sheaf__tw_f_i32(&w, &last, 9, 424242);
    sheaf__tw_stop(&w);
}

/* Reads field 9 of such a struct, skipping the rest: its value, or -1 with the error set. */
static int32_t read_field9(sheaf__tr *r) {
    int16_t last = 0, id;
    int t;
    int32_t v = -1;
    while ((t = sheaf__tr_field(r, &last, &id)) != SHEAF__TC_STOP) {
        if (id == 9 && t == SHEAF__TC_I32)
            v = sheaf__tr_i32(r);
        else
            sheaf__tr_skip(r, t);
    }
    return r->err ? -1 : v;
}

static void test_skip_unknown(void) {
    sheaf__buf b = {0};
    encode_unknowns(&b);
    sheaf__tr r = {b.data, b.data + b.len, 0, NULL};
    UNIT_ASSERT_EQUAL(read_field9(&r), 424242);
    UNIT_ASSERT(r.p == b.data + b.len);
    /* every truncation fails, without reading past its end (ASan checks the bound) */
    for (size_t cut = 0; cut < b.len; cut++) {
        uint8_t *copy = unit_xmalloc(cut ? cut : 1);
        memcpy(copy, b.data, cut);
        sheaf__tr t = {copy, copy + cut, 0, NULL};
        UNIT_ASSERT_EQUAL(read_field9(&t), -1);
        UNIT_ASSERT_EQUAL(t.err, SHEAF_EFORMAT);
        free(copy);
    }
    sheaf__buf_free(&b);
}

static void test_hostile(void) {
    /* a binary whose length exceeds the input */
    static const uint8_t longbin[] = {0x18, 0xff, 0xff, 0x03, 'a', 0};
    sheaf__tr r = {longbin, longbin + sizeof longbin, 0, NULL};
    UNIT_ASSERT_EQUAL(read_field9(&r), -1);
    /* a list claiming 2^40 elements */
    static const uint8_t longlist[] = {0x19, 0xf5, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0};
    r = (sheaf__tr){longlist, longlist + sizeof longlist, 0, NULL};
    UNIT_ASSERT_EQUAL(read_field9(&r), -1);
    /* structs nested 1000 deep */
    uint8_t deep[1001];
    memset(deep, 0x1c, 1000);
    deep[1000] = 0;
    r = (sheaf__tr){deep, deep + sizeof deep, 0, NULL};
    UNIT_ASSERT_EQUAL(read_field9(&r), -1);
    UNIT_ASSERT_EQUAL(r.err, SHEAF_EFORMAT);
    /* a type nibble of 13..15 */
    static const uint8_t badtype[] = {0x1d, 0};
    r = (sheaf__tr){badtype, badtype + sizeof badtype, 0, NULL};
    UNIT_ASSERT_EQUAL(read_field9(&r), -1);
    /* an i32 field holding a 64-bit value */
    static const uint8_t wide[] = {0x95, 0xff, 0xff, 0xff, 0xff, 0x7f, 0};
    r = (sheaf__tr){wide, wide + sizeof wide, 0, NULL};
    UNIT_ASSERT_EQUAL(read_field9(&r), -1);
}

int main(void) {
    static const unit_test tests[] = {
        {"encode_by_hand", test_encode_by_hand},
        {"decode_by_hand", test_decode_by_hand},
        {"integers_round_trip", test_integers_round_trip},
        {"long_list_and_field_ids", test_long_list_and_field_ids},
        {"skip_unknown", test_skip_unknown},
        {"hostile", test_hostile},
        {NULL, NULL},
    };
    return unit_main("thrift", tests);
}
