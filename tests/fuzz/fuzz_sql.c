/*
 * fuzz_sql.c: libFuzzer target for the parser and binder of `sheaf sql`. The input is a
 * query text. Invariants: no crash, leak or undefined behaviour on any text; an error
 * message is non-empty and names a line and column; a query that parses and binds against a
 * fixed table has select expressions whose SQL text (sql_node_text) parses again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sql.h"

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_sql: check failed at line %d: %s\n", __LINE__, #cond);       \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    sql_query q;
    char err[2048];
    if (sql_parse(text, &q, err, sizeof err)) {
        CHECK(err[0] != '\0');
        free(text);
        return 0;
    }
    static char *names[] = {"a", "b", "s", "d", "t", "f"};
    static int types[] = {SQL_INT, SQL_DOUBLE, SQL_STRING, SQL_DATE, SQL_TS, SQL_BOOL};
    sql_table t = {names, types, 6};
    sql_bound b;
    if (sql_bind(&q, &t, text, &b, err, sizeof err) == 0) {
        for (size_t i = 0; i < b.nout; i++) {
            sj_buf s = {0};
            sj_buf_add(&s, "SELECT ", 7);
            sql_node_text(b.out[i], &s);
            sj_buf_add(&s, " FROM x", 7);
            sj_buf_addc(&s, '\0');
            sql_query q2;
            char err2[2048];
            int rc = sql_parse(s.p, &q2, err2, sizeof err2);
            if (rc)
                fprintf(stderr, "fuzz_sql: '%s' does not parse again: %s\n", s.p, err2);
            CHECK(rc == 0);
            sql_query_free(&q2);
            sj_buf_free(&s);
        }
    } else {
        CHECK(err[0] != '\0');
    }
    sql_bound_free(&b);
    sql_query_free(&q);
    free(text);
    return 0;
}
