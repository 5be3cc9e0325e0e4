/*
 * counters.c: per-key sums of "key,amount" lines, counting the lines it had to skip.
 *
 *   mpicc counters.c $(pkg-config --cflags --libs sheaf) -o counters
 *   mpirun -np 4 ./counters -i sales.csv -o totals/      # totals/part-r-*: key TAB sum
 *   jq .user_counters totals/_report.json                # {"good_lines": 9, "malformed_lines": 2}
 *
 * sheaf_counter_add() adds to a named counter of this rank; the runtime sums each counter over
 * the ranks into the job report (OUT/_report.json, under "user_counters"). A counter that no
 * rank ever added to is absent from the report.
 *
 * The job has no reduce function: the built-in aggregation SHEAF_AGG_SUM_I64 adds the values
 * on both sides of the shuffle and writes each key's sum as decimal text.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sheaf.h>

static int map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    const char *comma = memchr(rec->data, ',', rec->len);
    char num[32], *end;
    size_t keylen, numlen;
    long long amount = 0;
    (void)udata;
    if (comma) {
        keylen = (size_t)(comma - rec->data);
        numlen = rec->len - keylen - 1;
        /* The record is not NUL-terminated: copy the number out before strtoll. */
        if (keylen > 0 && numlen > 0 && numlen < sizeof num) {
            memcpy(num, comma + 1, numlen);
            num[numlen] = '\0';
            errno = 0;
            amount = strtoll(num, &end, 10);
            if (errno == 0 && *end == '\0') {
                sheaf_counter_add(ctx, "good_lines", 1);
                return sheaf_emit_i64(ctx, rec->data, keylen, amount);
            }
        }
    }
    return sheaf_counter_add(ctx, "malformed_lines", 1);
}

int main(int argc, char **argv) {
    static const sheaf_job_def job = {
        .name = "counters",
        .map = map,
        .agg = SHEAF_AGG_SUM_I64,
    };
    static const sheaf_command cmd = {
        .name = "counters",
        .summary = "sum the amounts of key,amount lines; skipped lines are counted",
        .job = &job,
    };
    return sheaf_command_main(argc, argv, &cmd);
}
