/*
 * setupsort.c: a test job for total order: it sorts lines, like `sheaf sort`, and its setup
 * also emits keys, 26 a rank, one under each lower-case letter, so they fall in every range
 * partition. The part files concatenated must be the sorted lines and setup keys together.
 */
#include <stdio.h>

#include <sheaf.h>

static int setup(sheaf_ctx *ctx, void *udata) {
    (void)udata;
    char key[32];
    for (int c = 0; c < 26; c++) {
        int n = snprintf(key, sizeof key, "%c setup key of rank %d", 'a' + c, sheaf_rank(ctx));
        if (sheaf_emit(ctx, key, (size_t)n, "", 0))
            return SHEAF_EUSER;
    }
    return 0;
}

static int map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    (void)udata;
    return sheaf_emit(ctx, rec->data, rec->len, "", 0);
}

int main(int argc, char **argv) {
    static const sheaf_job_def job = {
        .name = "setupsort", .setup = setup, .map = map, .total_order = 1};
    return sheaf_main(argc, argv, &job);
}
