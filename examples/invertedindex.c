/*
 * invertedindex.c: for every word, the files it appears in.
 *
 *   mpicc invertedindex.c $(pkg-config --cflags --libs sheaf) -o invertedindex
 *   mpirun -np 4 ./invertedindex -i docs/ -o index/     # index/part-r-*: word TAB file,file,...
 *
 * A word is a run of ASCII letters, folded to lower case; files are named by their base name.
 *
 * The map emits the key "word\0file". The built-in SHEAF_AGG_COUNT aggregation merges equal
 * keys on the map side, so each (word, file) pair crosses the network once per rank however
 * often the word occurs. Keys sort bytewise, so a word's keys arrive together, files in order;
 * the grouping comparator (same_word) hands all of them to one reduce call, which reads each
 * file name back from the key with sheaf_values_key().
 *
 * The job brings its own partitioner: a word goes to a partition chosen by its first letter,
 * so part-r-00000 holds the words that start with the first letters of the alphabet and the
 * last part those that start with z. Each part is sorted, so `cat index/part-r-*` is the whole
 * index in alphabetical order. (The default partitioner hashes the whole key, which would also
 * split one word's files over several partitions.)
 */
#include <stdlib.h>
#include <string.h>

#include <sheaf.h>

#define MAX_WORD 64 /* longer runs of letters are not words we index */

/* The partition of a key: the alphabet cut into npartitions ranges by the first letter. */
static uint32_t by_first_letter(const void *key, size_t klen, uint32_t npartitions,
                                void *udata) {
    const unsigned char *k = key;
    uint32_t letter = klen > 0 && k[0] >= 'a' && k[0] <= 'z' ? k[0] - 'a' : 0;
    (void)udata;
    return (uint32_t)((uint64_t)letter * npartitions / 26);
}

/* Grouping comparator: keys with the same word (the bytes before the NUL) are one group. */
static int same_word(const void *a, size_t alen, const void *b, size_t blen) {
    const char *na = memchr(a, '\0', alen), *nb = memchr(b, '\0', blen);
    size_t wa = na ? (size_t)(na - (const char *)a) : alen;
    size_t wb = nb ? (size_t)(nb - (const char *)b) : blen;
    int c = memcmp(a, b, wa < wb ? wa : wb);
    return c ? c : (wa > wb) - (wa < wb);
}

/* Emits "word\0file" for each word of a line. */
static int map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    const char *slash = strrchr(rec->file, '/');
    const char *file = slash ? slash + 1 : rec->file;
    size_t flen = strlen(file), n = 0;
    char key[MAX_WORD + 1 + 256];
    (void)udata;
    if (flen > 256)
        return sheaf_fail(ctx, SHEAF_EINVAL, "file name too long: %s", file);
    for (size_t i = 0; i <= rec->len; i++) {
        char c = i < rec->len ? rec->data[i] : ' ';
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            if (n < MAX_WORD)
                key[n] = (char)(c | 0x20); /* ASCII lower case */
            n++;
        } else {
            if (n > 0 && n <= MAX_WORD) {
                key[n] = '\0';
                memcpy(key + n + 1, file, flen);
                int rc = sheaf_emit_u64(ctx, key, n + 1 + flen, 1);
                if (rc)
                    return rc;
            }
            n = 0;
        }
    }
    return 0;
}

/* The reduce side's scratch buffer, made once per rank and freed by the cleanup hook. */
typedef struct scratch {
    char *buf;
    size_t cap;
} scratch;

static int cleanup(sheaf_ctx *ctx, void *udata) {
    scratch *s = udata;
    (void)ctx;
    free(s->buf);
    s->buf = NULL;
    s->cap = 0;
    return 0;
}

/* One call per word: write "word TAB file,file,...". The values (occurrence counts) are not
 * needed; the keys carry the file names, in order, each once per rank that saw it. */
static int reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                  void *udata) {
    scratch *s = udata;
    size_t wlen = (size_t)((const char *)memchr(key, '\0', klen) - (const char *)key);
    size_t len = 0, last = 0, lastlen = 0;
    const void *v;
    size_t vlen;
    while (sheaf_values_next(vals, &v, &vlen)) {
        size_t kl;
        const char *k = sheaf_values_key(vals, &kl);
        const char *file = k + wlen + 1;
        size_t flen = kl - wlen - 1;
        if (len > 0 && flen == lastlen && memcmp(s->buf + last, file, flen) == 0)
            continue; /* the same file, sent by another rank */
        if (len + flen + 1 > s->cap) {
            size_t cap = 2 * (len + flen + 1);
            char *grown = realloc(s->buf, cap);
            if (!grown)
                return SHEAF_ENOMEM;
            s->buf = grown;
            s->cap = cap;
        }
        if (len > 0)
            s->buf[len++] = ',';
        memcpy(s->buf + len, file, flen);
        last = len;
        lastlen = flen;
        len += flen;
    }
    return sheaf_emit(ctx, key, wlen, s->buf, len);
}

int main(int argc, char **argv) {
    static scratch buffer;
    static const sheaf_job_def job = {
        .name = "invertedindex",
        .map = map,
        .agg = SHEAF_AGG_COUNT,
        .reduce = reduce,
        .partition = by_first_letter,
        .group = same_word,
        .cleanup = cleanup,
        .udata = &buffer,
    };
    static const sheaf_command cmd = {
        .name = "invertedindex",
        .summary = "for every word, the files it appears in",
        .job = &job,
    };
    return sheaf_command_main(argc, argv, &cmd);
}
