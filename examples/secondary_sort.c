/*
 * secondary_sort.c: each user's events in time order.
 *
 *   mpicc secondary_sort.c $(pkg-config --cflags --libs sheaf) -o secondary_sort
 *   mpirun -np 4 ./secondary_sort -i events.tsv -o timeline/
 *
 * Input lines are "user TAB timestamp TAB event" (the timestamp a whole number, such as Unix
 * seconds), in any order. Output lines have the same form, grouped by user, each user's events
 * in time order (events with equal timestamps in no particular order).
 *
 * The secondary sort: the map's key is the user followed by the timestamp as 8 big-endian
 * bytes (sheaf_key_u64), so comparing those bytes compares the numbers. Three callbacks then
 * make the runtime sort by time within a user instead of the reducer doing it in memory:
 *   partition  by the user part only, so all of a user's events meet in one partition;
 *   compare    the full key: user first, then time;
 *   group      the user part only, so one reduce call sees all of a user's events.
 * The value is the rest of the line (timestamp and event), so the reducer only writes it out.
 */
#include <string.h>

#include <sheaf.h>

#define TS 8 /* bytes of the timestamp at the end of every key */

/* The user part of a key: bytewise, shorter first on a tie. */
static int by_user(const void *a, size_t alen, const void *b, size_t blen) {
    size_t ua = alen - TS, ub = blen - TS;
    int c = memcmp(a, b, ua < ub ? ua : ub);
    return c ? c : (ua > ub) - (ua < ub);
}

/* The full key: user, then the big-endian timestamp, which memcmp orders as a number. */
static int by_user_then_time(const void *a, size_t alen, const void *b, size_t blen) {
    int c = by_user(a, alen, b, blen);
    return c ? c : memcmp((const char *)a + alen - TS, (const char *)b + blen - TS, TS);
}

/* FNV-1a hash of the user part, modulo the partitions. */
static uint32_t user_partition(const void *key, size_t klen, uint32_t npartitions,
                               void *udata) {
    const unsigned char *k = key;
    uint64_t h = 14695981039346656037u;
    (void)udata;
    for (size_t i = 0; i < klen - TS; i++)
        h = (h ^ k[i]) * 1099511628211u;
    return (uint32_t)(h % npartitions);
}

static int map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    const char *tab = memchr(rec->data, '\t', rec->len), *p;
    char key[256 + TS];
    uint64_t ts = 0;
    size_t ulen;
    (void)udata;
    if (!tab || (ulen = (size_t)(tab - rec->data)) > 256)
        return sheaf_fail(ctx, SHEAF_EFORMAT, "expected user TAB time TAB event");
    for (p = tab + 1; p < rec->data + rec->len && *p >= '0' && *p <= '9'; p++)
        ts = ts * 10 + (uint64_t)(*p - '0');
    if (p == tab + 1 || (p < rec->data + rec->len && *p != '\t'))
        return sheaf_fail(ctx, SHEAF_EFORMAT, "the time is not a number");
    memcpy(key, rec->data, ulen);
    sheaf_key_u64(ts, (unsigned char *)key + ulen);
    return sheaf_emit(ctx, key, ulen + TS, tab + 1, rec->len - ulen - 1);
}

/* One call per user, the events in time order: "user TAB timestamp TAB event" each. */
static int reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                  void *udata) {
    const void *v;
    size_t vlen;
    (void)udata;
    while (sheaf_values_next(vals, &v, &vlen)) {
        /* sheaf_values_key(vals, &len) would give this value's own key, with its time. */
        int rc = sheaf_emit(ctx, key, klen - TS, v, vlen);
        if (rc)
            return rc;
    }
    return 0;
}

int main(int argc, char **argv) {
    static const sheaf_job_def job = {
        .name = "secondary_sort",
        .map = map,
        .reduce = reduce,
        .partition = user_partition,
        .compare = by_user_then_time,
        .group = by_user,
    };
    static const sheaf_command cmd = {
        .name = "secondary_sort",
        .summary = "each user's events in time order",
        .job = &job,
    };
    return sheaf_command_main(argc, argv, &cmd);
}
