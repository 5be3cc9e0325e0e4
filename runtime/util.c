/*
 * util.c: small shared pieces: growable buffers, the record encoding, clocks, memory figures,
 * and file-system helpers.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int sheaf__buf_reserve(sheaf__buf *b, size_t extra) {
    if (b->cap - b->len >= extra)
        return 0;
    size_t want = b->len + extra;
    if (want < b->len)
        return SHEAF_ENOMEM;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < want)
        cap = cap * 2 > cap ? cap * 2 : want;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return SHEAF_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

void sheaf__buf_free(sheaf__buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void *sheaf__huge_alloc(size_t bytes) {
    void *p;
    if (posix_memalign(&p, SHEAF__HUGE_PAGE, bytes ? bytes : 1))
        return NULL;
    size_t whole = bytes & ~(SHEAF__HUGE_PAGE - 1);
    if (whole)
        (void)madvise(p, whole, MADV_HUGEPAGE); /* a hint: small pages do too */
    return p;
}

size_t sheaf__rec_put(uint8_t *p, uint32_t part, const void *key, size_t klen, const void *val,
                      size_t vlen) {
    size_t n = sheaf__varint_put(p, part);
    n += sheaf__varint_put(p + n, klen);
    n += sheaf__varint_put(p + n, vlen);
    if (klen)
        memcpy(p + n, key, klen);
    n += klen;
    if (vlen)
        memcpy(p + n, val, vlen);
    return n + vlen;
}

size_t sheaf__buf_add_rec(sheaf__buf *b, uint32_t part, const void *key, size_t klen,
                          const void *val, size_t vlen) {
    if (sheaf__buf_reserve(b, SHEAF__REC_HDR_MAX + klen + vlen))
        return 0;
    size_t n = sheaf__rec_put(b->data + b->len, part, key, klen, val, vlen);
    b->len += n;
    return n;
}

size_t sheaf__rec_get(const uint8_t *p, const uint8_t *end, sheaf__kv *kv) {
    uint64_t part, klen, vlen;
    size_t n, h = 0;
    if (!(n = sheaf__varint_get(p, end, &part)))
        return 0;
    h += n;
    if (!(n = sheaf__varint_get(p + h, end, &klen)))
        return 0;
    h += n;
    if (!(n = sheaf__varint_get(p + h, end, &vlen)))
        return 0;
    h += n;
    if ((uint64_t)(end - p - h) < klen || (uint64_t)(end - p - h) - klen < vlen)
        return 0;
    kv->part = (uint32_t)part;
    kv->key = p + h;
    kv->klen = klen;
    kv->val = p + h + klen;
    kv->vlen = vlen;
    return h + klen + vlen;
}

double sheaf__now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

uint64_t sheaf__peak_rss(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)ru.ru_maxrss * 1024;
}

uint64_t sheaf__physical_memory(void) {
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || psize <= 0)
        return 1ull << 30;
    return (uint64_t)pages * (uint64_t)psize;
}

/* Removes dirfd's entry name and, if it is a directory, all it holds, by file descriptors:
 * a directory is opened with O_NOFOLLOW and its entries are reached through it, so a symlink
 * put in its place, or any symlink inside, is removed itself and never followed, whatever
 * changes under the walk. */
static int rm_at(int dirfd, const char *name) {
    if (unlinkat(dirfd, name, 0) == 0)
        return 0;
    if (errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return SHEAF_EIO;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) /* no longer a directory */
        return unlinkat(dirfd, name, 0) == 0 || errno == ENOENT ? 0 : SHEAF_EIO;
    if (fd < 0)
        return errno == ENOENT ? 0 : SHEAF_EIO;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return SHEAF_EIO;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        int r = rm_at(fd, e->d_name);
        if (r && !rc)
            rc = r;
    }
    closedir(d);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT && !rc)
        rc = SHEAF_EIO;
    return rc;
}

int sheaf__rmtree(const char *path) {
    /* the parent as named (the caller's path), then the walk by descriptors */
    char *copy = strdup(path);
    if (!copy)
        return SHEAF_ENOMEM;
    size_t n = strlen(copy);
    while (n > 1 && copy[n - 1] == '/')
        copy[--n] = '\0';
    char *slash = strrchr(copy, '/');
    const char *base = slash ? slash + 1 : copy;
    int dirfd = AT_FDCWD, rc;
    if (slash) {
        *slash = '\0';
        dirfd = open(slash == copy ? "/" : copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (dirfd < 0 && dirfd != AT_FDCWD)
        rc = errno == ENOENT ? 0 : SHEAF_EIO;
    else if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        rc = SHEAF_EINVAL;
    else
        rc = rm_at(dirfd, base);
    if (dirfd >= 0)
        close(dirfd);
    free(copy);
    return rc;
}

int sheaf__mkdirs(const char *path, unsigned mode) {
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return SHEAF_EINVAL;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST)
            return SHEAF_EIO;
        *p = '/';
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST)
        return SHEAF_EIO;
    return 0;
}

int sheaf__write_all(int fd, const void *buf, size_t len) {
    const uint8_t *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len > (1u << 30) ? (1u << 30) : len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int sheaf__bytes_compare(const void *a, size_t alen, const void *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

SHEAF_EXTERN int sheaf_parse_size(const char *text, uint64_t *out) {
    if (!text || !*text)
        return SHEAF_EINVAL;
    const char *p = text;
    if (!((*p >= '0' && *p <= '9') || *p == '.'))
        return SHEAF_EINVAL; /* no sign, no "nan" or "inf", no leading space */
    char *end;
    errno = 0;
    double v = strtod(p, &end);
    if (end == p || errno || v < 0)
        return SHEAF_EINVAL;
    double mult = 1;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': mult = 1024.0; end++; break;
    case 'm': case 'M': mult = 1024.0 * 1024; end++; break;
    case 'g': case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
    case 't': case 'T': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
    default: return SHEAF_EINVAL;
    }
    if (*end == 'i' && mult > 1)
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end != '\0')
        return SHEAF_EINVAL;
    v *= mult;
    if (v >= 18446744073709551615.0)
        return SHEAF_EINVAL;
    *out = (uint64_t)v;
    return 0;
}

SHEAF_EXTERN void sheaf_key_u64(uint64_t v, unsigned char out[8]) {
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)v;
        v >>= 8;
    }
}

SHEAF_EXTERN uint64_t sheaf_key_to_u64(const unsigned char in[8]) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | in[i];
    return v;
}

SHEAF_EXTERN void sheaf_key_i64(int64_t v, unsigned char out[8]) {
    sheaf_key_u64((uint64_t)v ^ (1ull << 63), out);
}

SHEAF_EXTERN void sheaf_key_double(double v, unsigned char out[8]) {
    uint64_t u;
    memcpy(&u, &v, 8);
    u = (u & (1ull << 63)) ? ~u : u | (1ull << 63);
    sheaf_key_u64(u, out);
}

SHEAF_EXTERN uint64_t sheaf_value_u64(const void *val, size_t vlen) {
    uint64_t v = 0;
    if (vlen == 8)
        memcpy(&v, val, 8);
    return v;
}

SHEAF_EXTERN int64_t sheaf_value_i64(const void *val, size_t vlen) {
    int64_t v = 0;
    if (vlen == 8)
        memcpy(&v, val, 8);
    return v;
}

SHEAF_EXTERN double sheaf_value_double(const void *val, size_t vlen) {
    double v = 0;
    if (vlen == 8)
        memcpy(&v, val, 8);
    return v;
}

#ifdef SHEAF_ASSERTS
_Noreturn void sheaf__assert_fail(const char *cond, const char *file, int line,
                                  const char *func) {
    fprintf(stderr, "sheaf: internal error: %s:%d: %s: assertion '%s' failed\n", file, line,
            func, cond);
    abort();
}
#endif

char *sheaf__asprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}
