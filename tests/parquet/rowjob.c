/*
 * rowjob.c: a test job of the typed row API. Its input has a column "id" (csv with a header,
 * or parquet), read with sheaf_record_i64; the reducer writes, for each id, a row of every
 * column type computed from it:
 *
 *   id INT64, id32 = id % 1000 INT32, half = id / 2 DOUBLE (null when id % 5 == 0),
 *   even BOOL, name = "n<id>" STRING (null when id % 7 == 0), day = id - 20000 DATE,
 *   ts = id * 1000001 - 10^12 TIMESTAMP (microseconds)
 *
 * so a test can compute every value another way (tests/parquet/rows.sh, with DuckDB).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sheaf.h>

static int setup(sheaf_ctx *ctx, void *udata) {
    (void)udata;
    static const char *const cols[] = {"id"};
    int rc = sheaf_input_columns(ctx, cols, 1);
    sheaf_schema *s = sheaf_schema_new();
    if (!s)
        return SHEAF_ENOMEM;
    rc = rc ? rc : sheaf_schema_add(s, "id", SHEAF_COL_INT64, 0);
    rc = rc ? rc : sheaf_schema_add(s, "id32", SHEAF_COL_INT32, 0);
    rc = rc ? rc : sheaf_schema_add(s, "half", SHEAF_COL_DOUBLE, 1);
    rc = rc ? rc : sheaf_schema_add(s, "even", SHEAF_COL_BOOL, 0);
    rc = rc ? rc : sheaf_schema_add(s, "name", SHEAF_COL_STRING, 1);
    rc = rc ? rc : sheaf_schema_add(s, "day", SHEAF_COL_DATE, 0);
    rc = rc ? rc : sheaf_schema_add(s, "ts", SHEAF_COL_TIMESTAMP, 0);
    rc = rc ? rc : sheaf_output_schema(ctx, s);
    sheaf_schema_free(s);
    return rc;
}

static int map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    (void)udata;
    int64_t id;
    int rc = sheaf_record_i64(rec, "id", &id);
    if (rc != 1)
        return sheaf_fail(ctx, SHEAF_EUSER, "row %llu: no id (%d)", (unsigned long long)rec->offset,
                          rc);
    unsigned char key[8];
    sheaf_key_i64(id, key);
    return sheaf_emit(ctx, key, 8, "", 0);
}

static int reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals, void *udata) {
    (void)udata;
    (void)vals;
    (void)klen;
    int64_t id = (int64_t)(sheaf_key_to_u64(key) ^ (1ull << 63));
    char name[32];
    int n = snprintf(name, sizeof name, "n%lld", (long long)id);
    int rc = sheaf_row_set_i64(ctx, 0, id);
    rc = rc ? rc : sheaf_row_set_i64(ctx, 1, id % 1000);
    rc = rc ? rc : id % 5 ? sheaf_row_set_double(ctx, 2, (double)id / 2) : 0;
    rc = rc ? rc : sheaf_row_set_bool(ctx, 3, id % 2 == 0);
    rc = rc ? rc : id % 7 ? sheaf_row_set_str(ctx, 4, name, (size_t)n) : sheaf_row_set_null(ctx, 4);
    rc = rc ? rc : sheaf_row_set_i64(ctx, 5, id - 20000);
    rc = rc ? rc : sheaf_row_set_i64(ctx, 6, id * 1000001 - 1000000000000LL);
    return rc ? rc : sheaf_row_emit(ctx);
}

int main(int argc, char **argv) {
    static const sheaf_job_def job = {.name = "rowjob",
                                      .map = map,
                                      .reduce = reduce,
                                      .setup = setup};
    static const sheaf_command cmd = {.name = "rowjob", .summary = "typed rows from ids",
                                      .job = &job};
    return sheaf_command_main(argc, argv, &cmd);
}
