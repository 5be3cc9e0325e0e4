/*
 * unit.h: helpers shared by the CUnit unit tests (one binary per runtime module).
 *
 * Every helper is a static inline function so that each test binary is one translation unit
 * plus the runtime's convenience library. The helpers give a test a seeded pseudo-random
 * generator (SHEAF_TEST_SEED overrides the seed, which every binary prints, so a failure can
 * be replayed), a private temporary directory removed at the end, small file utilities and
 * a main() that runs a table of tests and exits non-zero when any assertion failed.
 */
#ifndef SHEAF_TESTS_UNIT_H
#define SHEAF_TESTS_UNIT_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

/* ---- assertions ---- */

/* CUnit keeps its failure records in a list it walks on every failure, so a check that fails
 * in a hot loop would make a failing run crawl. These assertions record passes as usual but
 * at most UNIT_MAX_FAILURES failures per test (the test has failed by then anyway). */
#define UNIT_MAX_FAILURES 50u
static unsigned unit_failures_in_test;

static inline void unit_assert(bool ok, unsigned line, const char *text, const char *file) {
    if (ok || unit_failures_in_test++ < UNIT_MAX_FAILURES)
        CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, text, file, "", CU_FALSE);
}

#define UNIT_ASSERT(value) unit_assert((value) ? true : false, __LINE__, #value, __FILE__)
#define UNIT_ASSERT_FALSE(value) unit_assert((value) ? false : true, __LINE__, "!(" #value ")", \
                                             __FILE__)
#define UNIT_ASSERT_EQUAL(a, b) unit_assert((a) == (b), __LINE__, #a " == " #b, __FILE__)
#define UNIT_ASSERT_PTR_NULL(p) unit_assert((p) == NULL, __LINE__, #p " == NULL", __FILE__)
#define UNIT_ASSERT_PTR_NOT_NULL(p) unit_assert((p) != NULL, __LINE__, #p " != NULL", __FILE__)
#define UNIT_ASSERT_STRING_EQUAL(a, b) \
    unit_assert(strcmp((a), (b)) == 0, __LINE__, #a " equals " #b, __FILE__)
#define UNIT_ASSERT_STRING_NOT_EQUAL(a, b) \
    unit_assert(strcmp((a), (b)) != 0, __LINE__, #a " differs from " #b, __FILE__)

static inline void unit_setup_test(void) {
    unit_failures_in_test = 0;
}

/* ---- the seeded generator: splitmix64 ---- */

static uint64_t unit_rng_state;

static inline void unit_seed(uint64_t seed) {
    unit_rng_state = seed;
}

static inline uint64_t unit_rand64(void) {
    uint64_t z = (unit_rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A value in [0, n); n > 0. The modulo bias is irrelevant at test sizes. */
static inline uint64_t unit_below(uint64_t n) {
    return unit_rand64() % n;
}

/* The seed of this run: SHEAF_TEST_SEED if set, else a fixed default. */
static inline uint64_t unit_default_seed(void) {
    const char *s = getenv("SHEAF_TEST_SEED");
    if (s && *s)
        return strtoull(s, NULL, 0);
    return 20240611ull;
}

/* ---- allocation that cannot fail silently ---- */

static inline void *unit_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "unit: out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

static inline void *unit_xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "unit: out of memory\n");
        abort();
    }
    return p;
}

static inline void *unit_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "unit: out of memory (%zu bytes)\n", n);
        abort();
    }
    return q;
}

/* ---- files and directories ---- */

/* Makes a fresh directory under $TMPDIR (or /tmp) into buf. Returns 0 or -1. */
static inline int unit_mkdtemp(char *buf, size_t n, const char *tag) {
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(buf, n, "%s/sheaf-unit-%s-XXXXXX", base, tag);
    return mkdtemp(buf) ? 0 : -1;
}

static inline int unit_rm_one(const char *path, const struct stat *st, int flag,
                              struct FTW *ftw) {
    (void)st;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_D)
        return rmdir(path) == 0 ? 0 : -1;
    return unlink(path) == 0 ? 0 : -1;
}

/* rm -rf, written independently of the runtime's sheaf__rmtree. Returns 0 or -1. */
static inline int unit_rmtree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    return nftw(path, unit_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Joins dir and name into buf and returns buf. */
static inline char *unit_path(char *buf, size_t n, const char *dir, const char *name) {
    snprintf(buf, n, "%s/%s", dir, name);
    return buf;
}

/* Writes len bytes to path (created or truncated). Returns 0 or -1. */
static inline int unit_write_file(const char *path, const void *data, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return close(fd);
}

static inline int unit_write_str(const char *path, const char *text) {
    return unit_write_file(path, text, strlen(text));
}

/* Reads a whole file (malloc'd, NUL-terminated for convenience). NULL if it cannot. */
static inline char *unit_read_file(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = unit_xmalloc(cap + 1);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = unit_xrealloc(buf, cap + 1);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(buf);
            close(fd);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static inline bool unit_exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

static inline bool unit_is_dir(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- running a table of tests ---- */

typedef struct unit_test {
    const char *name;
    CU_TestFunc fn;
} unit_test;

/* Runs the tests (the table ends with a NULL name) as one suite. Returns the exit status:
 * 0 when every assertion held, 1 when any failed, 99 when CUnit itself failed. */
static inline int unit_main(const char *suite, const unit_test *tests) {
    uint64_t seed = unit_default_seed();
    unit_seed(seed);
    printf("%s: seed %" PRIu64 " (set SHEAF_TEST_SEED to replay)\n", suite, seed);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 99;
    CU_pSuite s = CU_add_suite_with_setup_and_teardown(suite, NULL, NULL, unit_setup_test, NULL);
    if (!s) {
        CU_cleanup_registry();
        return 99;
    }
    for (const unit_test *t = tests; t->name; t++) {
        if (!CU_add_test(s, t->name, t->fn)) {
            CU_cleanup_registry();
            return 99;
        }
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    unsigned failed_tests = CU_get_number_of_tests_failed();
    int err = CU_get_error();
    CU_cleanup_registry();
    if (err != CUE_SUCCESS)
        return 99;
    return failures || failed_tests ? 1 : 0;
}

#endif /* SHEAF_TESTS_UNIT_H */
