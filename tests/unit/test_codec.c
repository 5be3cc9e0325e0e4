/*
 * test_codec.c: unit tests of the byte-stream codecs (codec.c).
 *
 * Every decoder is checked against the command-line tool of its format: a file written here is
 * compressed by gzip, zstd, bzip2 or xz, and the decoder must give back the original bytes,
 * read in blocks of many sizes (one byte up), for a single member, for several members
 * concatenated (as `cat a.gz b.gz` makes), and for an empty input. Damaged files (cut short,
 * bytes flipped) must fail with a message naming the file and a compressed offset, and a name
 * that lies about the data must be named as such. The encoders are checked the other way:
 * what they write must be what `gzip -dc` and `zstd -dc` read back.
 */
#include "codec.h"
#include "internal.h"
#include "unit.h"

#include <sys/wait.h>

static char dir[512];

typedef struct {
    sheaf__codec_kind kind;
    const char *tool; /* compresses stdin to stdout */
    const char *suffix;
} tool_t;

static const tool_t tools[] = {
    {SHEAF__CODEC_GZIP, "gzip -c", ".gz"},
    {SHEAF__CODEC_ZSTD, "zstd -q -c", ".zst"},
    {SHEAF__CODEC_BZIP2, "bzip2 -c", ".bz2"},
    {SHEAF__CODEC_XZ, "xz -c", ".xz"},
};
#define NTOOLS (sizeof tools / sizeof tools[0])

static int sh(const char *cmd) {
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Text with long and short lines and some binary bytes: n bytes from the test's seed. */
static uint8_t *make_data(size_t n) {
    uint8_t *p = unit_xmalloc(n + 1);
    static const char words[] = "the quick brown fox jumps over lazy dogs and cats\n";
    for (size_t i = 0; i < n; i++)
        p[i] = unit_below(50) == 0 ? (uint8_t)unit_below(256)
                                   : (uint8_t)words[unit_below(sizeof words - 1)];
    return p;
}

/* Writes data to dir/name and compresses it with the tool into dir/name+suffix. */
static void compress_with(const tool_t *t, const char *name, const uint8_t *data, size_t n,
                          char *out, size_t outlen) {
    char plain[700], cmd[2000];
    unit_path(plain, sizeof plain, dir, name);
    UNIT_ASSERT_EQUAL(unit_write_file(plain, data, n), 0);
    snprintf(out, outlen, "%s%s", plain, t->suffix);
    snprintf(cmd, sizeof cmd, "%s <'%s' >'%s'", t->tool, plain, out);
    UNIT_ASSERT_EQUAL(sh(cmd), 0);
}

/* Decodes path whole, reading at most block bytes at a time. Returns the bytes (malloc'd) and
 * *rc the first non-positive read result (0 at a clean end). */
static uint8_t *decode(sheaf__codec_kind kind, const char *path, size_t block, size_t *len,
                       int *rc, char *err, size_t errlen) {
    *len = 0;
    err[0] = '\0';
    int fd = open(path, O_RDONLY);
    UNIT_ASSERT(fd >= 0);
    sheaf__decoder *d;
    *rc = sheaf__decoder_open(&d, kind, fd, path, err, errlen);
    if (*rc) {
        close(fd);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *out = unit_xmalloc(cap);
    for (;;) {
        if (cap - n < block) {
            cap = cap * 2 + block;
            out = unit_xrealloc(out, cap);
        }
        long long r = sheaf__decoder_read(d, out + n, block, err, errlen);
        if (r <= 0) {
            *rc = (int)r;
            break;
        }
        UNIT_ASSERT((size_t)r <= block);
        n += (size_t)r;
    }
    UNIT_ASSERT(sheaf__decoder_out(d) == n);
    sheaf__decoder_free(d);
    close(fd);
    *len = n;
    return out;
}

static void test_by_name(void) {
    UNIT_ASSERT_EQUAL(sheaf__codec_by_name("a/b.gz"), SHEAF__CODEC_GZIP);
    UNIT_ASSERT_EQUAL(sheaf__codec_by_name("x.csv.zst"), SHEAF__CODEC_ZSTD);
    UNIT_ASSERT_EQUAL(sheaf__codec_by_name("x.bz2"), SHEAF__CODEC_BZIP2);
    UNIT_ASSERT_EQUAL(sheaf__codec_by_name("x.xz"), SHEAF__CODEC_XZ);
    UNIT_ASSERT_EQUAL(sheaf__codec_by_name("x.txt"), SHEAF__CODEC_NONE);
    UNIT_ASSERT_EQUAL(sheaf__codec_by_name(".gz"), SHEAF__CODEC_NONE);
    UNIT_ASSERT_EQUAL(sheaf__codec_by_name("x.gzip"), SHEAF__CODEC_NONE);
    UNIT_ASSERT_EQUAL(sheaf__codec_by_name("x.tgz"), SHEAF__CODEC_NONE);
}

/* Each codec, one member, read in blocks of 1 byte to 1 MiB. */
static void test_round_trip_tools(void) {
    size_t n = 300000;
    uint8_t *data = make_data(n);
    static const size_t blocks[] = {1, 7, 4096, 65536, 1 << 20};
    for (size_t t = 0; t < NTOOLS; t++) {
        char path[800], err[512];
        compress_with(&tools[t], "one", data, n, path, sizeof path);
        for (size_t b = 0; b < sizeof blocks / sizeof *blocks; b++) {
            size_t len;
            int rc;
            uint8_t *got = decode(tools[t].kind, path, blocks[b], &len, &rc, err, sizeof err);
            UNIT_ASSERT_EQUAL(rc, 0);
            UNIT_ASSERT_EQUAL(len, n);
            UNIT_ASSERT(got && len == n && memcmp(got, data, n) == 0);
            free(got);
        }
    }
    free(data);
}

/* Several members, frames or streams back to back, one of them empty. */
static void test_multi_member(void) {
    size_t n1 = 100000, n2 = 70001;
    uint8_t *a = make_data(n1), *b = make_data(n2);
    uint8_t *both = unit_xmalloc(n1 + n2);
    memcpy(both, a, n1);
    memcpy(both + n1, b, n2);
    for (size_t t = 0; t < NTOOLS; t++) {
        char pa[800], pb[800], pe[800], cat[800], cmd[4096], err[512];
        compress_with(&tools[t], "ma", a, n1, pa, sizeof pa);
        compress_with(&tools[t], "mb", b, n2, pb, sizeof pb);
        compress_with(&tools[t], "me", (const uint8_t *)"", 0, pe, sizeof pe);
        snprintf(cat, sizeof cat, "%s/cat%s", dir, tools[t].suffix);
        snprintf(cmd, sizeof cmd, "cat '%s' '%s' '%s' >'%s'", pa, pe, pb, cat);
        UNIT_ASSERT_EQUAL(sh(cmd), 0);
        static const size_t blocks[] = {3, 8192, 1 << 20};
        for (size_t k = 0; k < 3; k++) {
            size_t len;
            int rc;
            uint8_t *got = decode(tools[t].kind, cat, blocks[k], &len, &rc, err, sizeof err);
            UNIT_ASSERT_EQUAL(rc, 0);
            UNIT_ASSERT_EQUAL(len, n1 + n2);
            UNIT_ASSERT(got && len == n1 + n2 && memcmp(got, both, len) == 0);
            free(got);
        }
    }
    free(a);
    free(b);
    free(both);
}

/* An empty input compressed by the tool, and a file of no bytes at all: no data, no error. */
static void test_empty(void) {
    for (size_t t = 0; t < NTOOLS; t++) {
        char path[800], err[512];
        size_t len = 0;
        int rc;
        compress_with(&tools[t], "empty", (const uint8_t *)"", 0, path, sizeof path);
        uint8_t *got = decode(tools[t].kind, path, 4096, &len, &rc, err, sizeof err);
        UNIT_ASSERT_EQUAL(rc, 0);
        UNIT_ASSERT_EQUAL(len, 0);
        free(got);
        char zero[800];
        snprintf(zero, sizeof zero, "%s/zero%s", dir, tools[t].suffix);
        UNIT_ASSERT_EQUAL(unit_write_file(zero, "", 0), 0);
        got = decode(tools[t].kind, zero, 4096, &len, &rc, err, sizeof err);
        UNIT_ASSERT_EQUAL(rc, 0);
        UNIT_ASSERT_EQUAL(len, 0);
        free(got);
    }
}

/* A file whose name says one codec and whose bytes are another's (or plain text). */
static void test_name_lies(void) {
    uint8_t *data = make_data(5000);
    char zst[800], err[512], liar[800], cmd[2000];
    compress_with(&tools[1], "liar", data, 5000, zst, sizeof zst);
    snprintf(liar, sizeof liar, "%s/liar.gz", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", zst, liar);
    UNIT_ASSERT_EQUAL(sh(cmd), 0);
    size_t len = 0;
    int rc;
    uint8_t *got = decode(SHEAF__CODEC_GZIP, liar, 4096, &len, &rc, err, sizeof err);
    UNIT_ASSERT_EQUAL(rc, SHEAF_EFORMAT);
    UNIT_ASSERT_PTR_NULL(got);
    char want[1200];
    snprintf(want, sizeof want, "%s: named .gz but is not gzip data (starts with 28 b5 2f fd)",
             liar);
    UNIT_ASSERT_STRING_EQUAL(err, want);
    /* plain text under each name */
    for (size_t t = 0; t < NTOOLS; t++) {
        snprintf(liar, sizeof liar, "%s/text%s", dir, tools[t].suffix);
        UNIT_ASSERT_EQUAL(unit_write_str(liar, "hello world\n"), 0);
        got = decode(tools[t].kind, liar, 4096, &len, &rc, err, sizeof err);
        UNIT_ASSERT_EQUAL(rc, SHEAF_EFORMAT);
        snprintf(want, sizeof want, "%s: named %s but is not %s data (starts with 68 65 6c 6c)",
                 liar, tools[t].suffix, sheaf__codec_name(tools[t].kind));
        UNIT_ASSERT_STRING_EQUAL(err, want);
        free(got);
    }
    free(data);
}

/* The compressed offset an error names: the number after "compressed offset ". */
static long long named_offset(const char *err) {
    const char *p = strstr(err, "compressed offset ");
    return p ? strtoll(p + 18, NULL, 10) : -1;
}

/* Cut short at several points: an error naming the file, never a clean end. */
static void test_truncated(void) {
    size_t n = 200000;
    uint8_t *data = make_data(n);
    for (size_t t = 0; t < NTOOLS; t++) {
        char path[800], cut[800], err[512];
        compress_with(&tools[t], "trunc", data, n, path, sizeof path);
        size_t clen = 0;
        char *comp = unit_read_file(path, &clen);
        UNIT_ASSERT_PTR_NOT_NULL(comp);
        static const double at[] = {0.1, 0.5, 0.9};
        for (size_t k = 0; k < 3; k++) {
            size_t keep = (size_t)((double)clen * at[k]);
            snprintf(cut, sizeof cut, "%s/cut%zu%s", dir, k, tools[t].suffix);
            UNIT_ASSERT_EQUAL(unit_write_file(cut, comp, keep), 0);
            size_t len;
            int rc;
            uint8_t *got = decode(tools[t].kind, cut, 65536, &len, &rc, err, sizeof err);
            UNIT_ASSERT_EQUAL(rc, SHEAF_EFORMAT);
            UNIT_ASSERT(strstr(err, cut) != NULL);
            UNIT_ASSERT(strstr(err, sheaf__codec_name(tools[t].kind)) != NULL);
            long long off = named_offset(err);
            UNIT_ASSERT(off >= 0 && off <= (long long)keep);
            UNIT_ASSERT(len < n);
            free(got);
        }
        /* the last byte gone (gzip's and bzip2's checksums, zstd's and xz's end) */
        snprintf(cut, sizeof cut, "%s/cutlast%s", dir, tools[t].suffix);
        UNIT_ASSERT_EQUAL(unit_write_file(cut, comp, clen - 1), 0);
        size_t len = 0;
        int rc;
        uint8_t *got = decode(tools[t].kind, cut, 65536, &len, &rc, err, sizeof err);
        UNIT_ASSERT_EQUAL(rc, SHEAF_EFORMAT);
        UNIT_ASSERT(strstr(err, cut) != NULL);
        free(got);
        /* a failed decoder stays failed, with the same message */
        int fd = open(cut, O_RDONLY);
        sheaf__decoder *d;
        char again[512], buf[4096];
        UNIT_ASSERT_EQUAL(sheaf__decoder_open(&d, tools[t].kind, fd, cut, again, sizeof again), 0);
        long long r;
        while ((r = sheaf__decoder_read(d, buf, sizeof buf, again, sizeof again)) > 0)
            ;
        UNIT_ASSERT_EQUAL(r, SHEAF_EFORMAT);
        UNIT_ASSERT_STRING_EQUAL(again, err);
        again[0] = '\0';
        UNIT_ASSERT_EQUAL(sheaf__decoder_read(d, buf, sizeof buf, again, sizeof again),
                          SHEAF_EFORMAT);
        UNIT_ASSERT_STRING_EQUAL(again, err);
        sheaf__decoder_free(d);
        close(fd);
        free(comp);
    }
    free(data);
}

/* Bytes flipped inside the data: corruption named with the file and a compressed offset inside
 * it (where the decoder stopped: a checksum is checked at a member's end, zstd rejects the
 * whole block that holds the damage). */
static void test_corrupt(void) {
    size_t n = 200000;
    uint8_t *data = make_data(n);
    for (size_t t = 0; t < NTOOLS; t++) {
        char path[800], bad[800], err[512];
        compress_with(&tools[t], "corrupt", data, n, path, sizeof path);
        size_t clen = 0;
        char *comp = unit_read_file(path, &clen);
        UNIT_ASSERT_PTR_NOT_NULL(comp);
        size_t at = clen / 2;
        for (size_t i = at; i < at + 64; i++)
            comp[i] = (char)~comp[i];
        snprintf(bad, sizeof bad, "%s/bad%s", dir, tools[t].suffix);
        UNIT_ASSERT_EQUAL(unit_write_file(bad, comp, clen), 0);
        size_t len = 0;
        int rc;
        uint8_t *got = decode(tools[t].kind, bad, 65536, &len, &rc, err, sizeof err);
        UNIT_ASSERT_EQUAL(rc, SHEAF_EFORMAT);
        UNIT_ASSERT(strstr(err, bad) != NULL);
        UNIT_ASSERT(strstr(err, "corrupt") != NULL);
        long long off = named_offset(err);
        UNIT_ASSERT(off > 0 && off <= (long long)clen); /* where the decoder stopped */
        free(got);
        free(comp);
    }
    free(data);
}

/* The planner: a compressed file is one split whatever the split size, and counts four times
 * its size when tasks are ordered largest first. */
static void test_plan(void) {
    char sub[700], cmd[2000], err[512];
    snprintf(sub, sizeof sub, "%s/plan", dir);
    UNIT_ASSERT_EQUAL(mkdir(sub, 0700), 0);
    size_t n = 300000;
    uint8_t *data = make_data(n);
    char big[800], small[800], plain[800];
    snprintf(big, sizeof big, "%s/big.txt", sub);
    UNIT_ASSERT_EQUAL(unit_write_file(big, data, n), 0);
    snprintf(cmd, sizeof cmd, "gzip -1 '%s'", big); /* big.txt.gz, about a third of n */
    UNIT_ASSERT_EQUAL(sh(cmd), 0);
    snprintf(small, sizeof small, "%s/small.txt.zst", sub);
    snprintf(plain, sizeof plain, "%s/x.txt", sub);
    UNIT_ASSERT_EQUAL(unit_write_file(plain, data, 200000), 0);
    snprintf(cmd, sizeof cmd, "head -c 1000 '%s' | zstd -q -c >'%s'", plain, small);
    UNIT_ASSERT_EQUAL(sh(cmd), 0);
    struct stat gz, zs;
    snprintf(big, sizeof big, "%s/big.txt.gz", sub);
    UNIT_ASSERT(stat(big, &gz) == 0 && stat(small, &zs) == 0);
    sheaf_config cfg;
    sheaf_config_init(&cfg);
    const char *inputs[1] = {sub};
    cfg.inputs = inputs;
    cfg.ninputs = 1;
    cfg.split_size = 65536;
    sheaf__format fmt;
    UNIT_ASSERT_EQUAL(sheaf__format_parse("lines", &fmt), 0);
    sheaf__plan plan;
    UNIT_ASSERT_EQUAL(sheaf__plan_build(&cfg, &fmt, 2, &plan, err, sizeof err), 0);
    /* files in name order: big.txt.gz, small.txt.zst, x.txt (4 splits) */
    UNIT_ASSERT_EQUAL(plan.nfiles, 3);
    UNIT_ASSERT_EQUAL(plan.nsplits, 1 + 1 + 4);
    UNIT_ASSERT(plan.splits[0].file == 0 && plan.splits[0].start == 0 &&
                plan.splits[0].len == (uint64_t)gz.st_size);
    UNIT_ASSERT(plan.splits[1].file == 1 && plan.splits[1].len == (uint64_t)zs.st_size);
    /* the .gz first, weighing four times its size; every split in exactly one task */
    UNIT_ASSERT(plan.ntasks >= 2 && plan.tasks[0].first == 0 && plan.tasks[0].count == 1);
    UNIT_ASSERT_EQUAL(plan.tasks[0].bytes, 4 * (uint64_t)gz.st_size);
    uint64_t covered = 0;
    for (size_t t = 0; t < plan.ntasks; t++) {
        covered += plan.tasks[t].count;
        UNIT_ASSERT(t == 0 || plan.tasks[t - 1].bytes >= plan.tasks[t].bytes);
    }
    UNIT_ASSERT_EQUAL(covered, plan.nsplits);
    sheaf__plan_free(&plan);
    free(data);
}

static void test_parse_output(void) {
    sheaf__codec_kind k;
    int level;
    char err[256];
    UNIT_ASSERT_EQUAL(sheaf__codec_parse_output("none", &k, &level, err, sizeof err), 0);
    UNIT_ASSERT_EQUAL(k, SHEAF__CODEC_NONE);
    UNIT_ASSERT_EQUAL(sheaf__codec_parse_output("gzip", &k, &level, err, sizeof err), 0);
    UNIT_ASSERT(k == SHEAF__CODEC_GZIP && level == 0);
    UNIT_ASSERT_EQUAL(sheaf__codec_parse_output("zstd:19", &k, &level, err, sizeof err), 0);
    UNIT_ASSERT(k == SHEAF__CODEC_ZSTD && level == 19);
    UNIT_ASSERT_EQUAL(sheaf__codec_parse_output("gzip:1", &k, &level, err, sizeof err), 0);
    UNIT_ASSERT(k == SHEAF__CODEC_GZIP && level == 1);
    static const char *bad[] = {"gzip:0", "gzip:10", "zstd:20", "zstd:", "gzip:x", "lz4",
                                "gzipp", "", "xz"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        UNIT_ASSERT_EQUAL(sheaf__codec_parse_output(bad[i], &k, &level, err, sizeof err),
                          SHEAF_EUSAGE);
        UNIT_ASSERT(strstr(err, bad[i]) != NULL);
    }
}

/* The encoders, read back by the tools, in pieces of many sizes and at several levels. */
static void test_encoder_tools(void) {
    size_t n = 500000;
    uint8_t *data = make_data(n);
    static const struct {
        sheaf__codec_kind kind;
        int level;
        const char *tool;
    } cases[] = {
        {SHEAF__CODEC_GZIP, 0, "gzip -dc"},  {SHEAF__CODEC_GZIP, 1, "gzip -dc"},
        {SHEAF__CODEC_GZIP, 9, "gzip -dc"},  {SHEAF__CODEC_ZSTD, 0, "zstd -q -dc"},
        {SHEAF__CODEC_ZSTD, 1, "zstd -q -dc"}, {SHEAF__CODEC_ZSTD, 19, "zstd -q -dc"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char path[800], back[800], cmd[2000];
        snprintf(path, sizeof path, "%s/enc%zu", dir, c);
        snprintf(back, sizeof back, "%s/enc%zu.back", dir, c);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        UNIT_ASSERT(fd >= 0);
        sheaf__encoder *e;
        UNIT_ASSERT_EQUAL(sheaf__encoder_open(&e, cases[c].kind, cases[c].level, fd), 0);
        size_t off = 0;
        while (off < n) {
            size_t step = (size_t)unit_below(70000); /* not inside SHEAF__MIN: one draw */
            step = SHEAF__MIN(step, n - off);
            UNIT_ASSERT_EQUAL(sheaf__encoder_write(e, data + off, step), 0);
            off += step;
        }
        UNIT_ASSERT_EQUAL(sheaf__encoder_finish(e), 0);
        uint64_t written = sheaf__encoder_out(e);
        sheaf__encoder_free(e);
        UNIT_ASSERT_EQUAL(close(fd), 0);
        struct stat st;
        UNIT_ASSERT(stat(path, &st) == 0 && (uint64_t)st.st_size == written);
        UNIT_ASSERT(written < n);
        snprintf(cmd, sizeof cmd, "%s <'%s' >'%s'", cases[c].tool, path, back);
        UNIT_ASSERT_EQUAL(sh(cmd), 0);
        size_t len = 0;
        char *got = unit_read_file(back, &len);
        UNIT_ASSERT(got && len == n && memcmp(got, data, n) == 0);
        free(got);
    }
    /* an empty stream is still a valid file */
    char path[800], cmd[2000];
    snprintf(path, sizeof path, "%s/encempty.gz", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    sheaf__encoder *e;
    UNIT_ASSERT_EQUAL(sheaf__encoder_open(&e, SHEAF__CODEC_GZIP, 0, fd), 0);
    UNIT_ASSERT_EQUAL(sheaf__encoder_finish(e), 0);
    sheaf__encoder_free(e);
    close(fd);
    snprintf(cmd, sizeof cmd, "test -z \"$(gzip -dc '%s')\"", path);
    UNIT_ASSERT_EQUAL(sh(cmd), 0);
    free(data);
}

int main(void) {
    if (unit_mkdtemp(dir, sizeof dir, "codec")) {
        perror("mkdtemp");
        return 99;
    }
    if (sh("command -v gzip && command -v zstd && command -v bzip2 && command -v xz") != 0) {
        fprintf(stderr, "test_codec: needs gzip, zstd, bzip2 and xz\n");
        unit_rmtree(dir);
        return 77;
    }
    printf("gzip decoder: %s\n", sheaf__codec_gzip_library());
    static const unit_test tests[] = {
        {"by_name", test_by_name},
        {"round_trip_tools", test_round_trip_tools},
        {"multi_member", test_multi_member},
        {"empty", test_empty},
        {"name_lies", test_name_lies},
        {"truncated", test_truncated},
        {"corrupt", test_corrupt},
        {"plan", test_plan},
        {"parse_output", test_parse_output},
        {"encoder_tools", test_encoder_tools},
        {NULL, NULL},
    };
    int rc = unit_main("codec", tests);
    unit_rmtree(dir);
    return rc;
}
