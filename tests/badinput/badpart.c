/*
 * badpart.c: a test job whose partition function is wrong. It counts the lines of its input,
 * each line a key, and its partition function sends the key "oops" to partition npartitions,
 * one past the last: the runtime must fail the job with a message that names the job and its
 * partition function, not an internal error. With --set-reducers N its configure hook sets
 * sheaf_config.reducers to N itself, past the command line's check, so that sheaf_run's own
 * check of the count is seen.
 */
#include <stdlib.h>
#include <string.h>

#include <sheaf.h>

static unsigned long set_reducers;

static int map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    (void)udata;
    return sheaf_emit_u64(ctx, rec->data, rec->len, 1);
}

static uint32_t partition(const void *key, size_t klen, uint32_t nparts, void *udata) {
    (void)udata;
    return klen == 4 && memcmp(key, "oops", 4) == 0 ? nparts : 0;
}

static int parse_option(void *udata, const char *name, const char *value) {
    (void)udata;
    if (!name || strcmp(name, "set-reducers"))
        return -1;
    set_reducers = strtoul(value, NULL, 10);
    return 0;
}

static int configure(void *udata, sheaf_config *cfg) {
    (void)udata;
    if (set_reducers)
        cfg->reducers = (uint32_t)set_reducers;
    return 0;
}

static const sheaf_option options[] = {
    {"set-reducers", "N", "set sheaf_config.reducers to N in configure"},
    {NULL, NULL, NULL},
};

int main(int argc, char **argv) {
    static const sheaf_job_def job = {.name = "badpart",
                                      .map = map,
                                      .agg = SHEAF_AGG_SUM_U64,
                                      .partition = partition};
    static const sheaf_command cmd = {.name = "badpart",
                                      .options = options,
                                      .parse_option = parse_option,
                                      .configure = configure,
                                      .job = &job};
    return sheaf_command_main(argc, argv, &cmd);
}
