/*
 * csvsplit.c: cutting csv files with quoted newlines into splits that read every record once.
 *
 * A csv record ends at a record delimiter outside quotes. The reader decides "outside" the way
 * it always has: every quote byte toggles the state (a doubled quote inside a quoted field
 * toggles twice, so it leaves the state as it was). Whether a byte lies inside quotes is
 * therefore the parity of the quotes before it in the file. The planner cuts a csv file like
 * any other; then each split's quotes are counted (the splits dealt round robin over the
 * ranks, each rank reading only its own), one all-reduce gives every rank every split's
 * parity, and an exclusive prefix XOR over a file's splits says whether each split starts
 * inside a quoted field. A split that does start inside quotes skips, like any split that
 * starts inside a record, to the first delimiter outside quotes, scanning with the state it
 * was told; the split before it reads past its end to finish the record. So the records are
 * those of one serial pass, for every split size.
 *
 * The count reads the file once more, in parallel; it only needs the parity, so it XORs the
 * compare masks of 16-byte blocks and takes one popcount at the end (docs/performance.md has
 * the cost). A file whose quotes never close leaves every later split "inside": they read no
 * record, and the split that holds the unterminated record reads it to the end of the file,
 * where the reader reports the quote that opened it.
 */
#include "csvsplit.h"

#include "codec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Bytes read per pread() of the quote count. */
#define COUNT_CHUNK ((size_t)1 << 20)

bool sheaf__csv_split_needs_quotes(const sheaf_ctx *ctx, const sheaf__plan *plan, size_t i) {
    const sheaf__split *sp = &plan->splits[i];
    const sheaf__format *fmt = sheaf__file_format(ctx, plan, sp->file);
    return sp->start > 0 && fmt->kind == SHEAF__FMT_CSV && fmt->multiline &&
           sheaf__codec_by_name(plan->files[sp->file]) == SHEAF__CODEC_NONE;
}

/* The parity of the quote bytes of p[0..n). */
static unsigned quote_parity(const uint8_t *p, size_t n) {
    unsigned odd = 0;
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i q = _mm_set1_epi8('"');
    unsigned acc = 0;
    for (; i + 16 <= n; i += 16)
        acc ^= (unsigned)_mm_movemask_epi8(
            _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + i)), q));
    odd = (unsigned)__builtin_popcount(acc) & 1u;
#endif
    for (; i < n; i++)
        odd ^= p[i] == '"';
    return odd;
}

int sheaf__csv_quote_parity(const char *path, uint64_t start, uint64_t len, bool *odd,
                            char *err, size_t errlen) {
    *odd = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open input %s: %s", path, strerror(errno));
        return errno == ENOENT ? SHEAF_ENOENT : SHEAF_EIO;
    }
    uint8_t *buf = malloc(COUNT_CHUNK);
    if (!buf) {
        close(fd);
        snprintf(err, errlen, "out of memory counting the quotes of %s", path);
        return SHEAF_ENOMEM;
    }
    unsigned parity = 0;
    int rc = 0;
    uint64_t off = start, end = start + len;
    while (off < end) {
        ssize_t n = pread(fd, buf, (size_t)SHEAF__MIN(end - off, (uint64_t)COUNT_CHUNK),
                          (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "cannot read input %s at offset %llu: %s", path,
                     (unsigned long long)off, n < 0 ? strerror(errno) : "the file shrank");
            rc = SHEAF_EIO;
            break;
        }
        parity ^= quote_parity(buf, (size_t)n);
        off += (uint64_t)n;
    }
    free(buf);
    close(fd);
    *odd = parity != 0;
    return rc;
}

void sheaf__csv_mark_quoted(sheaf__plan *plan, const uint8_t *odd) {
    bool inside = false;
    for (size_t i = 0; i < plan->nsplits; i++) {
        sheaf__split *sp = &plan->splits[i];
        if (sp->start == 0)
            inside = false; /* a file's first split */
        sp->quoted = inside;
        inside ^= odd[i] != 0;
    }
}

int sheaf__csv_plan_quotes(sheaf_ctx *ctx, sheaf__plan *plan) {
    /* Which splits' quotes matter: those before a split that needs to know. */
    size_t need = 0;
    for (size_t i = 0; i < plan->nsplits; i++)
        need += sheaf__csv_split_needs_quotes(ctx, plan, i);
    if (need == 0)
        return 0; /* the same answer on every rank: they share the plan */
    double t0 = sheaf__now();
    uint8_t *odd = calloc(plan->nsplits, 1);
    if (!odd)
        sheaf__error(ctx, SHEAF_ENOMEM, "out of memory for the csv quote pass");
    uint64_t bytes = 0;
    size_t k = 0;
    for (size_t i = 0; odd && i + 1 < plan->nsplits && !ctx->err; i++) {
        if (!sheaf__csv_split_needs_quotes(ctx, plan, i + 1))
            continue; /* no split after this one needs its parity */
        if (k++ % (size_t)ctx->nranks != (size_t)ctx->rank)
            continue;
        const sheaf__split *sp = &plan->splits[i];
        bool o;
        char err[1024];
        int rc = sheaf__csv_quote_parity(plan->files[sp->file], sp->start, sp->len, &o, err,
                                         sizeof err);
        if (rc)
            sheaf__error(ctx, rc, "%s", err);
        odd[i] = o;
        bytes += sp->len;
    }
    /* Every rank takes part, even one that failed; the agreement below settles it. */
    uint8_t dummy = 0;
    for (size_t off = 0; off < plan->nsplits; off += (size_t)1 << 30) {
        int n = (int)SHEAF__MIN(plan->nsplits - off, (size_t)1 << 30);
        if (MPI_Allreduce(MPI_IN_PLACE, odd ? odd + off : &dummy, odd ? n : 1, MPI_UINT8_T,
                          MPI_BOR, ctx->comm) != MPI_SUCCESS && !ctx->err)
            sheaf__error(ctx, SHEAF_EMPI, "the csv quote pass could not share its counts");
    }
    if (odd)
        sheaf__csv_mark_quoted(plan, odd);
    free(odd);
    sheaf__log(ctx, SHEAF_LOG_INFO, "csv quote pass: %llu bytes in %.3f s on this rank",
               (unsigned long long)bytes, sheaf__now() - t0);
    return sheaf__agree(ctx);
}
