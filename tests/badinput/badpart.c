/*
 * badpart.c: a test job whose partition function is wrong. It counts the lines of its input,
 * each line a key, and its partition function sends the key "oops" to partition npartitions,
 * one past the last: the runtime must fail the job with a message that names the job and its
 * partition function, not an internal error.
 */
#include <string.h>

#include <sheaf.h>

static int map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    (void)udata;
    return sheaf_emit_u64(ctx, rec->data, rec->len, 1);
}

static uint32_t partition(const void *key, size_t klen, uint32_t nparts, void *udata) {
    (void)udata;
    return klen == 4 && memcmp(key, "oops", 4) == 0 ? nparts : 0;
}

int main(int argc, char **argv) {
    static const sheaf_job_def job = {
        .name = "badpart", .map = map, .agg = SHEAF_AGG_SUM_U64, .partition = partition};
    return sheaf_main(argc, argv, &job);
}
