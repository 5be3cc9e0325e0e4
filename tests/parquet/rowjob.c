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
 *
 * With ROWJOB_TYPED=1 in the environment (its own Parquet output as input), the map asks for
 * the columns as values (sheaf_input_types) and fails unless each one, read from rec->values
 * and through the typed accessors, is what the formulas above give for the row's id.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sheaf.h>

static bool typed; /* ROWJOB_TYPED */

static int setup(sheaf_ctx *ctx, void *udata) {
    (void)udata;
    static const char *const cols[] = {"id", "id32", "half", "even", "day", "ts", "name"};
    static const sheaf_col_type types[] = {SHEAF_COL_INT64, SHEAF_COL_INT64, SHEAF_COL_DOUBLE,
                                           SHEAF_COL_BOOL,  SHEAF_COL_DATE,  SHEAF_COL_TIMESTAMP,
                                           0};
    int rc = sheaf_input_columns(ctx, cols, typed ? 7 : 1);
    rc = rc || !typed ? rc : sheaf_input_types(ctx, types, 7);
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
    if (typed) {
        const sheaf_value *v = rec->values;
        double half;
        int even, hrc = sheaf_record_double(rec, "half", &half);
        size_t n;
        const char *name = sheaf_record_field(rec, "name", &n);
        char want[32];
        int wn = snprintf(want, sizeof want, "n%lld", (long long)id);
        if (!v || rec->len != 0 || v[0].type != SHEAF_COL_INT64 || v[0].i != id ||
            v[1].type != SHEAF_COL_INT64 || v[1].i != id % 1000 ||
            (id % 5 ? v[2].type != SHEAF_COL_DOUBLE || v[2].d != (double)id / 2 ||
                          hrc != 1 || half != (double)id / 2
                    : v[2].type != 0 || hrc != 0 || !rec->nulls[2]) ||
            v[3].type != SHEAF_COL_BOOL || v[3].i != (id % 2 == 0) ||
            sheaf_record_bool(rec, "even", &even) != 1 || even != (id % 2 == 0) ||
            v[5].type != SHEAF_COL_DATE || v[5].i != id - 20000 ||
            v[6].type != SHEAF_COL_TIMESTAMP || v[6].i != id * 1000001 - 1000000000000LL ||
            sheaf_record_i64(rec, "day", &(int64_t){0}) != SHEAF_EINVAL ||
            sheaf_record_is_null(rec, "id") != 0 || v[4].type != 0 ||
            (id % 7 ? !name || n != (size_t)wn || memcmp(name, want, n) : !rec->nulls[4]))
            return sheaf_fail(ctx, SHEAF_EUSER, "row %llu (id %lld): a value is not as computed",
                              (unsigned long long)rec->offset, (long long)id);
    }
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
    typed = getenv("ROWJOB_TYPED") && !strcmp(getenv("ROWJOB_TYPED"), "1");
    static const sheaf_job_def job = {.name = "rowjob",
                                      .map = map,
                                      .reduce = reduce,
                                      .setup = setup};
    static const sheaf_command cmd = {.name = "rowjob", .summary = "typed rows from ids",
                                      .job = &job};
    return sheaf_command_main(argc, argv, &cmd);
}
