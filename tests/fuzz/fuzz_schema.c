/*
 * fuzz_schema.c: libFuzzer target for schema files (schema_file.c): the JSON form through
 * jansson and the DDL-like form through its tokenizer. Invariants: no crash, no read outside the
 * input (ASan); a schema comes back with at least one column, every name non-empty and every
 * type known, or NULL with a message that names the file.
 */
#include "parquet.h"

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_schema: check failed at line %d: %s\n", __LINE__, #cond);        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size ? size : 1); /* exactly size bytes, so ASan sees a read past it */
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    char err[512] = "";
    sheaf_schema *s = sheaf__schema_from_text("in.schema", buf, size, err, sizeof err);
    if (s) {
        CHECK(sheaf_schema_columns(s) > 0);
        for (size_t i = 0; i < sheaf_schema_columns(s); i++) {
            CHECK(sheaf_schema_name(s, i)[0] != '\0');
            CHECK(sheaf_schema_type(s, i) >= SHEAF_COL_INT64 &&
                  sheaf_schema_type(s, i) <= SHEAF_COL_TIMESTAMP);
        }
        sheaf_schema_free(s);
    } else {
        CHECK(strncmp(err, "in.schema", 9) == 0);
    }
    free(buf);
    return 0;
}
