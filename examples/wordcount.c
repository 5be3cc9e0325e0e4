/*
 * wordcount.c: word frequencies, the smallest complete Sheaf program.
 *
 *   mpicc wordcount.c $(pkg-config --cflags --libs sheaf) -o wordcount
 *   mpirun -np 4 ./wordcount -i books/ -o counts/        # counts/part-r-*: word TAB count
 *
 * A word is a run of bytes that are not white space. The same function sums the counts on the
 * map side (combine) and on the reduce side, so only one record per distinct word and rank is
 * shuffled.
 */
#include <ctype.h>
#include <sheaf.h>

/* One call per input line: emit (word, 1) for each word. */
static int map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    size_t i = 0, start;
    (void)udata;
    while (i < rec->len) {
        while (i < rec->len && isspace((unsigned char)rec->data[i]))
            i++;
        for (start = i; i < rec->len && !isspace((unsigned char)rec->data[i]); i++)
            ;
        if (i > start) {
            int rc = sheaf_emit_u64(ctx, rec->data + start, i - start, 1);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* One call per distinct word: emit (word, sum of its counts). */
static int sum(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals, void *udata) {
    const void *v;
    size_t vlen;
    uint64_t total = 0;
    (void)udata;
    while (sheaf_values_next(vals, &v, &vlen))
        total += sheaf_value_u64(v, vlen);
    return sheaf_emit_u64(ctx, key, klen, total);
}

int main(int argc, char **argv) {
    static const sheaf_job_def job = {
        .name = "wordcount", .map = map, .combine = sum, .reduce = sum};
    return sheaf_main(argc, argv, &job);
}
