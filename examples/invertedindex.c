/*
 * invertedindex.c: for every word, the files it appears in.
 *
 *   mpicc invertedindex.c $(pkg-config --cflags --libs sheaf) -o invertedindex
 *   mpirun -np 4 ./invertedindex -i docs/ -o index/     # index/part-r-*: word TAB file,file,...
 *
 * A word is a run of ASCII letters, folded to lower case; files are named by their base name.
 *
 * The job brings its own partitioner: a word goes to a partition chosen by its first letter,
 * so part-r-00000 holds the words that start with the first letters of the alphabet and the
 * last part those that start with z. Since each part is sorted, `cat index/part-r-*` is the
 * whole index in alphabetical order. (The default partitioner hashes the key, which balances
 * the parts better but scatters the alphabet over them.)
 */
#include <stdlib.h>
#include <string.h>

#include <sheaf.h>

#define MAX_WORD 64 /* longer runs of letters are not words we index */

/* Returns the partition of a word: the alphabet cut into npartitions ranges. */
static uint32_t by_first_letter(const void *key, size_t klen, uint32_t npartitions,
                                void *udata) {
    const unsigned char *word = key;
    uint32_t letter = klen > 0 && word[0] >= 'a' && word[0] <= 'z' ? word[0] - 'a' : 0;
    (void)udata;
    return (uint32_t)((uint64_t)letter * npartitions / 26);
}

/* Emits (word, file name) for each word of a line. */
static int map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    const char *slash = strrchr(rec->file, '/');
    const char *name = slash ? slash + 1 : rec->file;
    char word[MAX_WORD];
    size_t n = 0;
    (void)udata;
    for (size_t i = 0; i <= rec->len; i++) {
        char c = i < rec->len ? rec->data[i] : ' ';
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            if (n < MAX_WORD)
                word[n] = (char)(c | 0x20); /* ASCII lower case */
            n++;
        } else {
            if (n > 0 && n <= MAX_WORD) {
                int rc = sheaf_emit(ctx, word, n, name, strlen(name));
                if (rc)
                    return rc;
            }
            n = 0;
        }
    }
    return 0;
}

/* The distinct values of a group, sorted. Values live only until the next sheaf_values_next,
 * so they are copied. Returns the number of names, or -1 when out of memory. */
typedef struct name {
    size_t len;
    char text[];
} name;

static int name_order(const void *a, const void *b) {
    const name *x = *(const name *const *)a, *y = *(const name *const *)b;
    int c = memcmp(x->text, y->text, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static long distinct(sheaf_values *vals, name ***out) {
    name **names = NULL;
    size_t n = 0, cap = 0, kept = 0;
    const void *v;
    size_t vlen;
    while (sheaf_values_next(vals, &v, &vlen)) {
        if (n == cap) {
            name **grown = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof *names);
            if (!grown)
                goto oom;
            names = grown;
        }
        if (!(names[n] = malloc(sizeof(name) + vlen)))
            goto oom;
        names[n]->len = vlen;
        memcpy(names[n++]->text, v, vlen);
    }
    if (n > 0)
        qsort(names, n, sizeof *names, name_order);
    for (size_t i = 0; i < n; i++) {
        if (kept > 0 && name_order(&names[kept - 1], &names[i]) == 0)
            free(names[i]);
        else
            names[kept++] = names[i];
    }
    *out = names;
    return (long)kept;
oom:
    while (n > 0)
        free(names[--n]);
    free(names);
    return -1;
}

/* combine: each file once per word, so duplicates are dropped before the shuffle. */
static int combine(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                   void *udata) {
    name **names;
    long n = distinct(vals, &names);
    int rc = n < 0 ? SHEAF_ENOMEM : 0;
    (void)udata;
    for (long i = 0; i < n; i++) {
        if (!rc)
            rc = sheaf_emit(ctx, key, klen, names[i]->text, names[i]->len);
        free(names[i]);
    }
    free(n < 0 ? NULL : names);
    return rc;
}

/* reduce: the word and its sorted, comma-separated list of files. */
static int reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                  void *udata) {
    name **names;
    long n = distinct(vals, &names);
    size_t len = 0;
    char *list;
    int rc;
    (void)udata;
    if (n < 0)
        return SHEAF_ENOMEM;
    for (long i = 0; i < n; i++)
        len += names[i]->len + 1;
    list = malloc(len + 1);
    len = 0;
    for (long i = 0; i < n; i++) {
        if (list) {
            if (i > 0)
                list[len++] = ',';
            memcpy(list + len, names[i]->text, names[i]->len);
            len += names[i]->len;
        }
        free(names[i]);
    }
    free(names);
    rc = list ? sheaf_emit(ctx, key, klen, list, len) : SHEAF_ENOMEM;
    free(list);
    return rc;
}

int main(int argc, char **argv) {
    static const sheaf_job_def job = {
        .name = "invertedindex",
        .summary = "for every word, the files it appears in",
        .map = map,
        .combine = combine,
        .reduce = reduce,
        .partition = by_first_letter,
    };
    return sheaf_main(argc, argv, &job);
}
