/*
 * named.c: a test job for the output side: word count whose reducer writes words that start
 * with an upper-case letter to the named output "upper" and words with a digit to "digits",
 * the rest to the part files. The map emits each line's words in one sheaf_emit_u64_keys
 * batch (into a combiner's table), and the reducer writes the rest through it too (one key:
 * the batch call falls back to sheaf_emit_u64, which writes the count as text). Every other
 * line is first copied into a padded scratch buffer declared with sheaf_padded_buffer, and its
 * words are emitted from there; outside map that call must fail with SHEAF_EINVAL.
 */
#include <stdlib.h>
#include <string.h>

#include <sheaf.h>

static char *scratch;
static size_t scratch_cap;
static unsigned long nmaps;

static int setup(sheaf_ctx *ctx, void *udata) {
    (void)udata;
    return sheaf_padded_buffer(ctx, "x", 1) == SHEAF_EINVAL ? 0 : SHEAF_EUSER;
}

static int map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    (void)udata;
    sheaf_key words[64];
    size_t n = 0;
    const char *p = rec->data, *end = p + rec->len;
    if (nmaps++ % 2) {
        if (rec->len + SHEAF_RECORD_PADDING > scratch_cap) {
            free(scratch);
            scratch_cap = 2 * (rec->len + SHEAF_RECORD_PADDING);
            if (!(scratch = malloc(scratch_cap)))
                return SHEAF_ENOMEM;
        }
        memcpy(scratch, rec->data, rec->len);
        memset(scratch + rec->len, '!', SHEAF_RECORD_PADDING); /* not part of any word */
        if (sheaf_padded_buffer(ctx, scratch, rec->len))
            return SHEAF_EUSER;
        p = scratch;
        end = p + rec->len;
    }
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        const char *w = p;
        while (p < end && *p != ' ' && *p != '\t')
            p++;
        if (p > w) {
            words[n].data = w;
            words[n].len = (size_t)(p - w);
            if (++n == sizeof words / sizeof *words) {
                if (sheaf_emit_u64_keys(ctx, words, n, 1))
                    return SHEAF_EUSER;
                n = 0;
            }
        }
    }
    return sheaf_emit_u64_keys(ctx, words, n, 1) ? SHEAF_EUSER : 0;
}

static int combine(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals, void *u) {
    (void)u;
    uint64_t n = 0;
    const void *v;
    size_t vlen;
    while (sheaf_values_next(vals, &v, &vlen))
        n += sheaf_value_u64(v, vlen);
    return sheaf_emit_u64(ctx, key, klen, n);
}

static int reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals, void *u) {
    (void)u;
    uint64_t n = 0;
    const void *v;
    size_t vlen;
    while (sheaf_values_next(vals, &v, &vlen))
        n += sheaf_value_u64(v, vlen);
    const char *k = key;
    char num[24];
    size_t nl = 0;
    for (uint64_t x = n; x || !nl; x /= 10)
        nl++;
    for (size_t i = nl, x = (size_t)n; i-- > 0; x /= 10)
        num[i] = (char)('0' + x % 10);
    if (klen && k[0] >= 'A' && k[0] <= 'Z')
        return sheaf_emit_named(ctx, "upper", key, klen, num, nl);
    if (memchr(key, '1', klen) || memchr(key, '2', klen))
        return sheaf_emit_named(ctx, "digits", key, klen, num, nl);
    sheaf_key one = {key, klen};
    if (sheaf_padded_buffer(ctx, key, klen) != SHEAF_EINVAL)
        return SHEAF_EUSER;
    return sheaf_emit_u64_keys(ctx, &one, 1, n);
}

int main(int argc, char **argv) {
    static const sheaf_job_def job = {.name = "named", .setup = setup, .map = map,
                                      .combine = combine, .reduce = reduce};
    return sheaf_main(argc, argv, &job);
}
