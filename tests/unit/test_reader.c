/*
 * test_reader.c: unit tests of input planning (input.c) and the split reader (reader.c).
 *
 * Planning is checked for what it lists (files, directories without their '_' and '.'
 * entries, globs) and for how it cuts: splits cover every file contiguously, no split is
 * longer than the split size, every split is in exactly one task, tasks are largest first.
 * The reader is checked against a tiny serial line splitter: for every split size from one
 * byte up to past the file size, reading every split of the plan yields each record exactly
 * once, in file order, with its content and offset. Errors must name the path at fault.
 * The public helpers built on them are checked too: sheaf_list_inputs against the files a test
 * tree holds, sheaf_csv_parse by reading back random fields written as csv.
 */
#include "internal.h"
#include "unit.h"

#include <sys/stat.h>
#include <sys/types.h>

static char tmpdir[4096];

/* ---- a record list ---- */

typedef struct urec {
    uint32_t file;
    uint64_t off;
    char *data;
    size_t len;
} urec;

typedef struct recs {
    urec *v;
    size_t n, cap;
} recs;

static void recs_add(recs *r, uint32_t file, uint64_t off, const char *data, size_t len) {
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = unit_xrealloc(r->v, r->cap * sizeof *r->v);
    }
    urec *e = &r->v[r->n++];
    e->file = file;
    e->off = off;
    e->len = len;
    e->data = unit_xmalloc(len);
    if (len)
        memcpy(e->data, data, len);
}

static void recs_free(recs *r) {
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].data);
    free(r->v);
    memset(r, 0, sizeof *r);
}

/* The reference record splitter: records end at the delimiter; with LF, a CR just before it
 * is not part of the record, and neither is a CR that ends the file (the end of the file ends
 * the last record as an LF would); a last record without a delimiter is a record; an empty
 * file has none. */
static void ref_records(recs *out, uint32_t file, const char *data, size_t len, char delim) {
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && data[i] != delim)
            continue;
        if (i == len && start == len)
            break;
        size_t end = i;
        if (delim == '\n' && end > start && data[end - 1] == '\r')
            end--;
        recs_add(out, file, start, data + start, end - start);
        start = i + 1;
    }
}

static void ref_lines(recs *out, uint32_t file, const char *data, size_t len) {
    ref_records(out, file, data, len, '\n');
}

static void ref_fixed(recs *out, uint32_t file, const char *data, size_t len, size_t n) {
    for (size_t off = 0; off + n <= len; off += n)
        recs_add(out, file, off, data + off, n);
}

/* ---- plan checks ---- */

static uint64_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : UINT64_MAX;
}

/* Checks the invariants of a plan built with split size ss (already rounded for fixed). */
static void check_plan(const sheaf__plan *p, uint64_t ss, uint64_t reclen) {
    uint64_t total = 0;
    size_t si = 0;
    for (size_t f = 0; f < p->nfiles; f++) {
        UNIT_ASSERT_EQUAL(p->sizes[f], file_size(p->files[f]));
        total += p->sizes[f];
        uint64_t off = 0;
        while (si < p->nsplits && p->splits[si].file == f) {
            const sheaf__split *s = &p->splits[si];
            UNIT_ASSERT_EQUAL(s->start, off);
            UNIT_ASSERT(s->len > 0);
            UNIT_ASSERT(s->len <= ss);
            if (reclen)
                UNIT_ASSERT_EQUAL(s->start % reclen, 0);
            /* only the last split of a file may be short */
            if (s->start + s->len < p->sizes[f])
                UNIT_ASSERT_EQUAL(s->len, ss);
            off += s->len;
            si++;
        }
        UNIT_ASSERT_EQUAL(off, p->sizes[f]);
    }
    UNIT_ASSERT_EQUAL(si, p->nsplits);
    UNIT_ASSERT_EQUAL(total, p->total_bytes);

    /* tasks: consecutive runs of splits that together hold every split exactly once */
    unsigned char *seen = unit_xcalloc(p->nsplits, 1);
    for (size_t t = 0; t < p->ntasks; t++) {
        const sheaf__task *k = &p->tasks[t];
        UNIT_ASSERT(k->count >= 1);
        UNIT_ASSERT(k->first + k->count <= p->nsplits);
        if (k->first + k->count > p->nsplits)
            continue;
        uint64_t bytes = 0;
        for (uint64_t i = k->first; i < k->first + k->count; i++) {
            UNIT_ASSERT_EQUAL(seen[i], 0);
            seen[i] = 1;
            bytes += p->splits[i].len;
        }
        UNIT_ASSERT_EQUAL(k->bytes, bytes);
        if (k->count > 1)
            UNIT_ASSERT(k->bytes <= ss);
        if (t > 0) {
            const sheaf__task *prev = &p->tasks[t - 1];
            UNIT_ASSERT(prev->bytes >= k->bytes);
            if (prev->bytes == k->bytes)
                UNIT_ASSERT(prev->first < k->first);
        }
    }
    for (size_t i = 0; i < p->nsplits; i++)
        UNIT_ASSERT_EQUAL(seen[i], 1);
    free(seen);
}

/* The number of splits a file of size n should have: ceil(n / ss). */
static uint64_t expect_splits(uint64_t n, uint64_t ss) {
    return n / ss + (n % ss != 0);
}

/* ---- reading a plan ---- */

/* Reads every split of the plan, task by task, and returns the records in split order (the
 * records of each split in the order the reader returned them). */
static int read_plan(const sheaf__plan *p, const sheaf__format *fmt, recs *out) {
    recs *per = unit_xcalloc(p->nsplits, sizeof *per);
    sheaf__reader r;
    memset(&r, 0, sizeof r);
    char err[512];
    int rc = 0;
    for (size_t t = 0; t < p->ntasks && !rc; t++) {
        for (uint64_t i = p->tasks[t].first; i < p->tasks[t].first + p->tasks[t].count; i++) {
            const sheaf__split *s = &p->splits[i];
            const char *path = p->files[s->file];
            rc = sheaf__reader_open(&r, path, s->start, s->len, fmt, err, sizeof err);
            UNIT_ASSERT_EQUAL(rc, 0);
            if (rc)
                break;
            sheaf_record rec;
            int got;
            while ((got = sheaf__reader_next(&r, &rec, err, sizeof err)) == 1) {
                UNIT_ASSERT_PTR_NOT_NULL(rec.file);
                if (rec.file)
                    UNIT_ASSERT_STRING_EQUAL(rec.file, path);
                /* a record belongs to the split holding its first byte */
                UNIT_ASSERT(rec.offset >= s->start && rec.offset < s->start + s->len);
                recs_add(&per[i], s->file, rec.offset, rec.data, rec.len);
                if (fmt->kind == SHEAF__FMT_TSV) {
                    /* the key is the text before the first tab, the value the rest */
                    const char *tab = memchr(rec.data, '\t', rec.len);
                    UNIT_ASSERT_EQUAL(rec.nfields, tab ? 2 : 1);
                    UNIT_ASSERT(rec.nfields >= 1 && rec.fields[0] == rec.data);
                    if (rec.nfields >= 1)
                        UNIT_ASSERT_EQUAL(rec.field_lens[0],
                                        tab ? (size_t)(tab - rec.data) : rec.len);
                    if (tab && rec.nfields == 2) {
                        UNIT_ASSERT(rec.fields[1] == tab + 1);
                        UNIT_ASSERT_EQUAL(rec.field_lens[1], rec.len - (size_t)(tab - rec.data) - 1);
                    }
                } else {
                    UNIT_ASSERT_EQUAL(rec.nfields, 0);
                }
            }
            UNIT_ASSERT_EQUAL(got, 0);
            if (got < 0) {
                fprintf(stderr, "reader error: %s\n", err);
                rc = got;
            }
            /* once at its end, a reader stays there */
            UNIT_ASSERT_EQUAL(sheaf__reader_next(&r, &rec, err, sizeof err), 0);
            sheaf__reader_close(&r);
        }
    }
    sheaf__reader_free(&r);
    for (size_t i = 0; i < p->nsplits; i++) {
        for (size_t k = 0; k < per[i].n; k++) {
            urec *e = &per[i].v[k];
            recs_add(out, e->file, e->off, e->data, e->len);
        }
        recs_free(&per[i]);
    }
    free(per);
    return rc;
}

/* Compares what was read with the reference; reports the first difference. */
static bool same_recs(const recs *got, const recs *want, const char *what, uint64_t ss) {
    bool ok = got->n == want->n;
    size_t n = SHEAF__MIN(got->n, want->n);
    for (size_t i = 0; i < n && ok; i++) {
        const urec *a = &got->v[i], *b = &want->v[i];
        if (a->file != b->file || a->off != b->off || a->len != b->len ||
            (a->len && memcmp(a->data, b->data, a->len) != 0)) {
            fprintf(stderr, "%s, split size %" PRIu64 ": record %zu: got file %u offset %" PRIu64
                    " len %zu, want file %u offset %" PRIu64 " len %zu\n", what, ss, i, a->file,
                    a->off, a->len, b->file, b->off, b->len);
            ok = false;
        }
    }
    if (got->n != want->n)
        fprintf(stderr, "%s, split size %" PRIu64 ": %zu records, want %zu\n", what, ss, got->n,
                want->n);
    return ok;
}

/* Writes the files, then for every split size 1..max+1 plans them as one input list, reads
 * every split and compares with the reference. reclen 0: lines, else fixed:reclen. */
static void check_all_splits_fmt(const char *name, const char *const *contents,
                                 const size_t *lens, size_t nfiles, uint64_t reclen, char delim,
                                 bool tsv) {
    char **paths = unit_xcalloc(nfiles, sizeof *paths);
    recs want = {0};
    uint64_t total = 0;
    for (size_t f = 0; f < nfiles; f++) {
        char buf[4200];
        snprintf(buf, sizeof buf, "%s/%s-%zu", tmpdir, name, f);
        paths[f] = strdup(buf);
        CU_ASSERT_FATAL(paths[f] != NULL);
        CU_ASSERT_FATAL(unit_write_file(paths[f], contents[f], lens[f]) == 0);
        if (reclen)
            ref_fixed(&want, (uint32_t)f, contents[f], lens[f], (size_t)reclen);
        else
            ref_records(&want, (uint32_t)f, contents[f], lens[f], delim);
        total += lens[f];
    }
    sheaf__format fmt;
    char fmttext[64];
    if (reclen)
        snprintf(fmttext, sizeof fmttext, "fixed:%" PRIu64, reclen);
    else
        snprintf(fmttext, sizeof fmttext, tsv ? "tsv" : "lines");
    CU_ASSERT_FATAL(sheaf__format_parse(fmttext, &fmt) == 0);
    UNIT_ASSERT_EQUAL(fmt.kind, reclen ? SHEAF__FMT_FIXED : tsv ? SHEAF__FMT_TSV : SHEAF__FMT_LINES);
    UNIT_ASSERT_EQUAL(fmt.delim, '\n');
    fmt.delim = (uint8_t)delim;
    uint64_t maxlen = 0;
    for (size_t f = 0; f < nfiles; f++)
        maxlen = SHEAF__MAX(maxlen, lens[f]);
    int failures = 0;
    for (uint64_t ss = 1; ss <= maxlen + 1 && failures < 3; ss++) {
        sheaf_config cfg;
        sheaf_config_init(&cfg);
        cfg.inputs = (const char *const *)paths;
        cfg.ninputs = nfiles;
        cfg.split_size = ss;
        sheaf__plan plan;
        char err[512] = "";
        int rc = sheaf__plan_build(&cfg, &fmt, 1, &plan, err, sizeof err);
        UNIT_ASSERT_EQUAL(rc, 0);
        if (rc) {
            fprintf(stderr, "%s: plan failed: %s\n", name, err);
            sheaf__plan_free(&plan);
            failures++;
            continue;
        }
        uint64_t eff = reclen ? (ss + reclen - 1) / reclen * reclen : ss;
        UNIT_ASSERT_EQUAL(plan.nfiles, nfiles);
        UNIT_ASSERT_EQUAL(plan.total_bytes, total);
        uint64_t nsplits = 0;
        for (size_t f = 0; f < nfiles; f++) {
            nsplits += expect_splits(lens[f], eff);
            if (f < plan.nfiles)
                UNIT_ASSERT_STRING_EQUAL(plan.files[f], paths[f]);
        }
        UNIT_ASSERT_EQUAL(plan.nsplits, nsplits);
        check_plan(&plan, eff, reclen);
        recs got = {0};
        rc = read_plan(&plan, &fmt, &got);
        UNIT_ASSERT_EQUAL(rc, 0);
        bool ok = same_recs(&got, &want, name, ss);
        UNIT_ASSERT(ok);
        if (!ok)
            failures++;
        recs_free(&got);
        sheaf__plan_free(&plan);
    }
    for (size_t f = 0; f < nfiles; f++) {
        unlink(paths[f]);
        free(paths[f]);
    }
    free(paths);
    recs_free(&want);
}

static void check_all_splits(const char *name, const char *const *contents, const size_t *lens,
                             size_t nfiles, uint64_t reclen) {
    check_all_splits_fmt(name, contents, lens, nfiles, reclen, '\n', false);
}

static void check_one(const char *name, const char *text, size_t len) {
    const char *c[1] = {text};
    size_t l[1] = {len};
    check_all_splits(name, c, l, 1, 0);
}

#define CHECK_TEXT(name, lit) check_one(name, lit, sizeof(lit) - 1)

/* ---- line reader tests ---- */

static void test_lines_trailing_newline(void) {
    CHECK_TEXT("trail", "alpha\nbeta\ngamma\n");
    CHECK_TEXT("single-nl", "\n");
    CHECK_TEXT("single-char", "x");
    CHECK_TEXT("single-line", "one line\n");
}

static void test_lines_no_trailing_newline(void) {
    CHECK_TEXT("notrail", "alpha\nbeta\ngamma");
    CHECK_TEXT("notrail2", "a\nb");
}

static void test_lines_crlf(void) {
    CHECK_TEXT("crlf", "alpha\r\nbeta\r\n\r\ngamma\r\n");
    CHECK_TEXT("crlf-notrail", "alpha\r\nbeta\r\ngamma");
    /* a CR that does not precede an LF is data; a lone CR line is an empty line */
    CHECK_TEXT("cr-inside", "a\rb\r\n\r\n\rc\n\r\r\nd\r");
    CHECK_TEXT("cr-only", "\r\n\r\n\r\n");
}

static void test_lines_empty_lines(void) {
    CHECK_TEXT("empties", "\n\n\nabc\n\n\nd\n\n");
    CHECK_TEXT("empties2", "\n\n");
}

static void test_lines_long_line(void) {
    /* one line far longer than most split sizes, between short ones */
    char text[600];
    size_t n = 0;
    n += (size_t)sprintf(text + n, "s1\nshort 2\n");
    for (int i = 0; i < 300; i++)
        text[n++] = (char)('a' + i % 26);
    n += (size_t)sprintf(text + n, "\r\nx\n\ny");
    check_one("longline", text, n);
}

static void test_lines_empty_file(void) {
    CHECK_TEXT("emptyfile", "");
    /* an empty file among others contributes nothing and breaks nothing */
    const char *c[3] = {"a\nb\n", "", "c\r\nd"};
    size_t l[3] = {4, 0, 5};
    check_all_splits("with-empty", c, l, 3, 0);
}

/* Random files of random lines (empty lines, CRs, with and without a last newline), planned
 * together, for every split size. */
static void test_lines_random_files(void) {
    enum { NF = 4 };
    char *c[NF];
    size_t l[NF];
    for (int f = 0; f < NF; f++) {
        size_t cap = 400, n = 0;
        c[f] = unit_xmalloc(cap);
        size_t want = 50 + unit_below(250);
        while (n < want) {
            size_t ll = unit_below(5) == 0 ? 0 : unit_below(unit_below(8) == 0 ? 60 : 12);
            for (size_t i = 0; i < ll && n < cap - 2; i++) {
                uint64_t r = unit_below(30);
                c[f][n++] = r == 0 ? '\r' : r == 1 ? '\t' : (char)('a' + r);
            }
            if (unit_below(4) == 0 && n < cap - 2)
                c[f][n++] = '\r';
            if (n < cap - 1)
                c[f][n++] = '\n';
            else
                break;
        }
        if (f % 2 == 1 && n > 0)
            n--; /* drop the last newline */
        l[f] = n;
    }
    check_all_splits("random", (const char *const *)c, l, NF, 0);
    for (int f = 0; f < NF; f++)
        free(c[f]);
}

/* A record delimiter other than LF: no CR is dropped, LF is data. */
static void test_records_other_delimiters(void) {
    static const char semi[] = "a;bb;\r;;c\r\n;d";
    static const char nul[] = "one\0two\r\0\0three\nfour";
    const char *c1[2] = {semi, nul};
    size_t l1[2] = {sizeof semi - 1, sizeof nul - 1};
    check_all_splits_fmt("semicolon", c1, l1, 1, 0, ';', false);
    check_all_splits_fmt("nul", c1 + 1, l1 + 1, 1, 0, '\0', false);
    check_all_splits_fmt("nul-on-semi", c1, l1, 2, 0, '\0', false);
}

/* tsv splits like lines; each record's key is the text before its first tab. */
static void test_tsv_all_splits(void) {
    static const char tsv[] = "k1\tv1\nk2\tv2\twith tab\r\nnokey\n\tempty key\nk5\t\n\n";
    const char *c[1] = {tsv};
    size_t l[1] = {sizeof tsv - 1};
    check_all_splits_fmt("tsv", c, l, 1, 0, '\n', true);
}

/* A line longer than the reader's block (it must grow its buffer), at a few split sizes. */
static void test_lines_huge_line(void) {
    size_t big = (5u << 20) + 17;
    size_t len = big + 16;
    char *text = unit_xmalloc(len);
    size_t n = 0;
    memcpy(text + n, "head\n", 5);
    n += 5;
    for (size_t i = 0; i < big; i++)
        text[n++] = (char)('A' + i % 23);
    memcpy(text + n, "\r\nmid\ntail", 10);
    n += 10;
    char path[4200];
    unit_path(path, sizeof path, tmpdir, "huge");
    CU_ASSERT_FATAL(unit_write_file(path, text, n) == 0);
    recs want = {0};
    ref_lines(&want, 0, text, n);
    const uint64_t sizes[] = {1u << 20, 3u << 20, (4u << 20) - 1, 4u << 20, (4u << 20) + 1,
                              64u << 20, 6, 5};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        sheaf_config cfg;
        sheaf_config_init(&cfg);
        const char *in[1] = {path};
        cfg.inputs = in;
        cfg.ninputs = 1;
        cfg.split_size = sizes[k];
        sheaf__format fmt;
        CU_ASSERT_FATAL(sheaf__format_parse("lines", &fmt) == 0);
        sheaf__plan plan;
        char err[512];
        CU_ASSERT_EQUAL_FATAL(sheaf__plan_build(&cfg, &fmt, 1, &plan, err, sizeof err), 0);
        if (sizes[k] < 1000) {
            /* Tiny splits over a huge line: every split inside the line would scan to its
             * end, so read only the first and last few splits and compare with the reference
             * records that start in them. */
            UNIT_ASSERT_EQUAL(plan.nsplits, expect_splits(n, sizes[k]));
            check_plan(&plan, sizes[k], 0);
            recs got = {0}, sub = {0};
            sheaf__reader r;
            memset(&r, 0, sizeof r);
            for (size_t i = 0; i < plan.nsplits; i++) {
                if (i >= 4 && i + 4 < plan.nsplits)
                    continue;
                const sheaf__split *s = &plan.splits[i];
                for (size_t j = 0; j < want.n; j++)
                    if (want.v[j].off >= s->start && want.v[j].off < s->start + s->len)
                        recs_add(&sub, 0, want.v[j].off, want.v[j].data, want.v[j].len);
                CU_ASSERT_EQUAL_FATAL(sheaf__reader_open(&r, path, s->start, s->len, &fmt, err,
                                                         sizeof err), 0);
                sheaf_record rec;
                int got1;
                while ((got1 = sheaf__reader_next(&r, &rec, err, sizeof err)) == 1)
                    recs_add(&got, 0, rec.offset, rec.data, rec.len);
                UNIT_ASSERT_EQUAL(got1, 0);
                sheaf__reader_close(&r);
            }
            sheaf__reader_free(&r);
            UNIT_ASSERT(same_recs(&got, &sub, "huge (window)", sizes[k]));
            recs_free(&got);
            recs_free(&sub);
            sheaf__plan_free(&plan);
            continue;
        }
        check_plan(&plan, sizes[k], 0);
        recs got = {0};
        UNIT_ASSERT_EQUAL(read_plan(&plan, &fmt, &got), 0);
        UNIT_ASSERT(same_recs(&got, &want, "huge", sizes[k]));
        recs_free(&got);
        sheaf__plan_free(&plan);
    }
    recs_free(&want);
    free(text);
    unlink(path);
}

/* Blocks of lines (map_blocks): the reader counts each block's lines and line-end bytes with
 * the widest loop the CPU has; with every loop (plain C, SSE2, AVX2, AVX-512BW, as far as the
 * CPU goes) the lines and the bytes less line ends must be a byte-by-byte reference's, over texts of LF, CR LF and lone CR
 * of every length from 1 to 300 bytes (every tail a loop leaves) and one of 600 kB (many
 * blocks, at every alignment the lines give). */
static void count_blocks(const char *path, uint64_t *lines, uint64_t *bytes) {
    sheaf__format fmt;
    CU_ASSERT_FATAL(sheaf__format_parse("lines", &fmt) == 0);
    sheaf__reader r;
    memset(&r, 0, sizeof r);
    char err[512];
    struct stat st;
    CU_ASSERT_FATAL(stat(path, &st) == 0);
    CU_ASSERT_EQUAL_FATAL(
        sheaf__reader_open(&r, path, 0, (uint64_t)st.st_size, &fmt, err, sizeof err), 0);
    r.blocks = true;
    sheaf_record rec;
    *lines = *bytes = 0;
    while (sheaf__reader_next(&r, &rec, err, sizeof err) == 1) {
        *lines += r.nrec;
        *bytes += rec.len - r.delims; /* as the input_bytes counter: line ends left out */
    }
    sheaf__reader_close(&r);
    sheaf__reader_free(&r);
}

static void test_blocks_line_counts(void) {
    static const char alphabet[] = "ab \r\n\r\n";
    char path[4200];
    unit_path(path, sizeof path, tmpdir, "blocks");
    for (size_t len = 1; len <= 301; len++) {
        size_t n = len == 301 ? 600000 : len;
        char *text = unit_xmalloc(n);
        for (size_t i = 0; i + 1 < n; i++)
            text[i] = alphabet[unit_below(sizeof alphabet - 1)];
        text[n - 1] = '\n';
        CU_ASSERT_FATAL(unit_write_file(path, text, n) == 0);
        uint64_t want_lines = 0, want_crlf = 0;
        for (size_t i = 0; i < n; i++) {
            want_lines += text[i] == '\n';
            want_crlf += text[i] == '\r' && i + 1 < n && text[i + 1] == '\n';
        }
        int tried = -1;
        for (int level = 0; level <= 3; level++) {
            int used = sheaf__reader_set_line_count(level);
            if (used == tried)
                continue; /* the CPU lacks this loop */
            tried = used;
            uint64_t lines, bytes;
            count_blocks(path, &lines, &bytes);
            if (lines != want_lines || bytes != n - want_lines - want_crlf)
                fprintf(stderr, "%zu bytes, loop %d: %llu lines, %llu bytes\n", n, used,
                        (unsigned long long)lines, (unsigned long long)bytes);
            UNIT_ASSERT_EQUAL(lines, want_lines);
            UNIT_ASSERT_EQUAL(bytes, n - want_lines - want_crlf);
        }
        free(text);
    }
    sheaf__reader_set_line_count(-1);
    unlink(path);
}

/* ---- fixed-length records ---- */

static void test_fixed_all_splits(void) {
    const uint64_t lens[] = {1, 3, 7, 16};
    for (size_t k = 0; k < sizeof lens / sizeof *lens; k++) {
        uint64_t n = lens[k];
        size_t nrec = 5 + unit_below(30);
        size_t len = (size_t)n * nrec;
        char *data = unit_xmalloc(len);
        /* any bytes at all, including LF and CR: fixed records are not lines */
        for (size_t i = 0; i < len; i++) {
            uint64_t r = unit_below(8);
            data[i] = r == 0 ? '\n' : r == 1 ? '\r' : (char)unit_below(256);
        }
        const char *c[3] = {data, "", data};
        size_t l[3] = {len, 0, len - (size_t)n * (nrec / 2)};
        char name[32];
        snprintf(name, sizeof name, "fixed%" PRIu64, n);
        check_all_splits(name, c, l, 3, n);
        free(data);
    }
}

static void test_fixed_not_multiple(void) {
    char good[4200], bad[4200];
    unit_path(good, sizeof good, tmpdir, "fixed-good");
    unit_path(bad, sizeof bad, tmpdir, "fixed-bad");
    CU_ASSERT_FATAL(unit_write_str(good, "abcdefgh") == 0);
    CU_ASSERT_FATAL(unit_write_str(bad, "abcdefghij") == 0);
    sheaf_config cfg;
    sheaf_config_init(&cfg);
    const char *in[2] = {good, bad};
    cfg.inputs = in;
    cfg.ninputs = 2;
    sheaf__format fmt;
    CU_ASSERT_FATAL(sheaf__format_parse("fixed:4", &fmt) == 0);
    UNIT_ASSERT_EQUAL(fmt.reclen, 4);
    sheaf__plan plan;
    char err[512] = "";
    UNIT_ASSERT_EQUAL(sheaf__plan_build(&cfg, &fmt, 1, &plan, err, sizeof err), SHEAF_EFORMAT);
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, bad));
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, "10"));
    sheaf__plan_free(&plan);
    /* the same files as lines are fine */
    CU_ASSERT_FATAL(sheaf__format_parse("lines", &fmt) == 0);
    UNIT_ASSERT_EQUAL(sheaf__plan_build(&cfg, &fmt, 1, &plan, err, sizeof err), 0);
    sheaf__plan_free(&plan);
    /* a file that shrank after planning: the reader reports the short record and the file */
    sheaf__reader r;
    memset(&r, 0, sizeof r);
    CU_ASSERT_FATAL(sheaf__format_parse("fixed:4", &fmt) == 0);
    CU_ASSERT_EQUAL_FATAL(sheaf__reader_open(&r, bad, 0, 12, &fmt, err, sizeof err), 0);
    sheaf_record rec;
    UNIT_ASSERT_EQUAL(sheaf__reader_next(&r, &rec, err, sizeof err), 1);
    UNIT_ASSERT_EQUAL(sheaf__reader_next(&r, &rec, err, sizeof err), 1);
    err[0] = '\0';
    UNIT_ASSERT_EQUAL(sheaf__reader_next(&r, &rec, err, sizeof err), SHEAF_EFORMAT);
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, bad));
    sheaf__reader_free(&r);
    unlink(good);
    unlink(bad);
}

static void test_format_parse(void) {
    sheaf__format fmt;
    UNIT_ASSERT_EQUAL(sheaf__format_parse(NULL, &fmt), 0);
    UNIT_ASSERT_EQUAL(fmt.kind, SHEAF__FMT_LINES);
    UNIT_ASSERT_EQUAL(sheaf__format_parse("lines", &fmt), 0);
    UNIT_ASSERT_EQUAL(fmt.kind, SHEAF__FMT_LINES);
    UNIT_ASSERT_EQUAL(sheaf__format_parse("fixed:100", &fmt), 0);
    UNIT_ASSERT_EQUAL(fmt.kind, SHEAF__FMT_FIXED);
    UNIT_ASSERT_EQUAL(fmt.reclen, 100);
    const char *bad[] = {"fixed:", "fixed:0", "fixed:-3", "fixed:12x", "fixed", "csv!", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        UNIT_ASSERT_EQUAL(sheaf__format_parse(bad[i], &fmt), SHEAF_EINVAL);
}

/* ---- planning ---- */

static int plan_of(const char *const *inputs, size_t n, uint64_t ss, sheaf__plan *plan, char *err,
                   size_t errlen) {
    sheaf_config cfg;
    sheaf_config_init(&cfg);
    cfg.inputs = inputs;
    cfg.ninputs = n;
    cfg.split_size = ss;
    sheaf__format fmt;
    sheaf__format_parse("lines", &fmt);
    err[0] = '\0';
    return sheaf__plan_build(&cfg, &fmt, 1, plan, err, errlen);
}

static void test_plan_split_sizes(void) {
    /* files of several sizes, one of them empty, under many split sizes */
    const size_t sizes[] = {1000, 0, 1, 4097, 250, 64};
    enum { NF = sizeof sizes / sizeof *sizes };
    char *paths[NF];
    for (size_t f = 0; f < NF; f++) {
        char buf[4200];
        snprintf(buf, sizeof buf, "%s/sz-%zu", tmpdir, f);
        paths[f] = strdup(buf);
        char *data = unit_xmalloc(sizes[f]);
        memset(data, 'x', sizes[f]);
        for (size_t i = 9; i < sizes[f]; i += 10)
            data[i] = '\n';
        CU_ASSERT_FATAL(unit_write_file(paths[f], data, sizes[f]) == 0);
        free(data);
    }
    const uint64_t ss[] = {1, 2, 3, 7, 63, 64, 65, 100, 250, 999, 1000, 1001, 4096, 4097, 1 << 20,
                           0 /* the default */};
    for (size_t k = 0; k < sizeof ss / sizeof *ss; k++) {
        sheaf__plan plan;
        char err[512];
        CU_ASSERT_EQUAL_FATAL(plan_of((const char *const *)paths, NF, ss[k], &plan, err,
                                      sizeof err), 0);
        uint64_t eff = ss[k] ? ss[k] : 64ull << 20;
        uint64_t want = 0, total = 0;
        for (size_t f = 0; f < NF; f++) {
            want += expect_splits(sizes[f], eff);
            total += sizes[f];
        }
        UNIT_ASSERT_EQUAL(plan.nfiles, NF);
        UNIT_ASSERT_EQUAL(plan.nsplits, want);
        UNIT_ASSERT_EQUAL(plan.total_bytes, total);
        check_plan(&plan, eff, 0);
        /* small splits are packed: fewer tasks than splits when many are tiny */
        if (eff >= 4096)
            UNIT_ASSERT(plan.ntasks < plan.nsplits);
        sheaf__plan_free(&plan);
    }
    for (size_t f = 0; f < NF; f++) {
        unlink(paths[f]);
        free(paths[f]);
    }
}

/* Many tiny files are packed into few tasks. */
static void test_plan_packs_small_files(void) {
    char dir[4200];
    unit_path(dir, sizeof dir, tmpdir, "many");
    CU_ASSERT_FATAL(mkdir(dir, 0755) == 0);
    for (int i = 0; i < 100; i++) {
        char p[4300];
        snprintf(p, sizeof p, "%s/f%03d", dir, i);
        CU_ASSERT_FATAL(unit_write_str(p, "0123456789\n") == 0);
    }
    const char *in[1] = {dir};
    sheaf__plan plan;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(plan_of(in, 1, 1000, &plan, err, sizeof err), 0);
    UNIT_ASSERT_EQUAL(plan.nfiles, 100);
    UNIT_ASSERT_EQUAL(plan.nsplits, 100);
    check_plan(&plan, 1000, 0);
    /* 1100 bytes in tasks of at most 1000: two tasks suffice, but never more than a few */
    UNIT_ASSERT(plan.ntasks >= 2 && plan.ntasks <= 4);
    for (size_t i = 0; i < plan.nfiles; i++) {
        char p[4300];
        snprintf(p, sizeof p, "%s/f%03zu", dir, i);
        UNIT_ASSERT_STRING_EQUAL(plan.files[i], p);
    }
    sheaf__plan_free(&plan);
    unit_rmtree(dir);
}

static void test_plan_directories(void) {
    char d[4200], p[4400];
    unit_path(d, sizeof d, tmpdir, "tree");
    CU_ASSERT_FATAL(mkdir(d, 0755) == 0);
    const char *files[] = {"b.txt", "a.txt", "_SUCCESS", ".hidden", "sub/c.txt", "sub/_tmp",
                           "sub/.crc", "_skipdir/d.txt", ".git/e.txt", "sub/deeper/f.txt"};
    const char *dirs[] = {"sub", "_skipdir", ".git", "sub/deeper", "emptysub"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
        CU_ASSERT_FATAL(mkdir(unit_path(p, sizeof p, d, dirs[i]), 0755) == 0);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        CU_ASSERT_FATAL(unit_write_str(unit_path(p, sizeof p, d, files[i]), "line\n") == 0);
    /* what a walk must find, in name order */
    const char *want[] = {"a.txt", "b.txt", "sub/c.txt", "sub/deeper/f.txt"};
    for (int slash = 0; slash < 2; slash++) {
        char in0[4300];
        snprintf(in0, sizeof in0, "%s%s", d, slash ? "/" : "");
        const char *in[1] = {in0};
        sheaf__plan plan;
        char err[512];
        CU_ASSERT_EQUAL_FATAL(plan_of(in, 1, 0, &plan, err, sizeof err), 0);
        UNIT_ASSERT_EQUAL(plan.nfiles, sizeof want / sizeof *want);
        for (size_t i = 0; i < plan.nfiles && i < sizeof want / sizeof *want; i++)
            UNIT_ASSERT_STRING_EQUAL(plan.files[i], unit_path(p, sizeof p, d, want[i]));
        check_plan(&plan, 64ull << 20, 0);
        sheaf__plan_free(&plan);
    }
    /* a path named explicitly is read even if its name starts with '_' or '.' */
    char s1[4400], s2[4400];
    unit_path(s1, sizeof s1, d, "_SUCCESS");
    unit_path(s2, sizeof s2, d, ".hidden");
    const char *in2[3] = {s1, s2, d};
    sheaf__plan plan;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(plan_of(in2, 3, 0, &plan, err, sizeof err), 0);
    UNIT_ASSERT_EQUAL(plan.nfiles, 2 + sizeof want / sizeof *want);
    if (plan.nfiles >= 2) {
        UNIT_ASSERT_STRING_EQUAL(plan.files[0], s1);
        UNIT_ASSERT_STRING_EQUAL(plan.files[1], s2);
    }
    /* each file remembers the input it came from */
    for (size_t i = 0; i < plan.nfiles; i++)
        UNIT_ASSERT_EQUAL(plan.origin[i], i < 2 ? i : 2);
    sheaf__plan_free(&plan);
    /* an explicitly named skipped directory is walked */
    unit_path(s1, sizeof s1, d, "_skipdir");
    const char *in3[1] = {s1};
    CU_ASSERT_EQUAL_FATAL(plan_of(in3, 1, 0, &plan, err, sizeof err), 0);
    UNIT_ASSERT_EQUAL(plan.nfiles, 1);
    if (plan.nfiles == 1)
        UNIT_ASSERT_STRING_EQUAL(plan.files[0], unit_path(p, sizeof p, d, "_skipdir/d.txt"));
    sheaf__plan_free(&plan);
    /* a directory with no input files is an error naming it */
    unit_path(s1, sizeof s1, d, "emptysub");
    const char *in4[1] = {s1};
    UNIT_ASSERT_EQUAL(plan_of(in4, 1, 0, &plan, err, sizeof err), SHEAF_ENOENT);
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, s1));
    sheaf__plan_free(&plan);
    unit_rmtree(d);
}

static void test_plan_globs(void) {
    char d[4200], p[4400];
    unit_path(d, sizeof d, tmpdir, "globs");
    CU_ASSERT_FATAL(mkdir(d, 0755) == 0);
    const char *files[] = {"x2.txt", "x1.txt", "y.log", "x3.dat"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        CU_ASSERT_FATAL(unit_write_str(unit_path(p, sizeof p, d, files[i]), "z\n") == 0);
    CU_ASSERT_FATAL(mkdir(unit_path(p, sizeof p, d, "xdir"), 0755) == 0);
    CU_ASSERT_FATAL(unit_write_str(unit_path(p, sizeof p, d, "xdir/in.txt"), "q\n") == 0);

    char pat[4400];
    sheaf__plan plan;
    char err[512];
    /* *.txt: the two .txt files in name order */
    unit_path(pat, sizeof pat, d, "*.txt");
    const char *in[1] = {pat};
    CU_ASSERT_EQUAL_FATAL(plan_of(in, 1, 0, &plan, err, sizeof err), 0);
    UNIT_ASSERT_EQUAL(plan.nfiles, 2);
    if (plan.nfiles == 2) {
        UNIT_ASSERT_STRING_EQUAL(plan.files[0], unit_path(p, sizeof p, d, "x1.txt"));
        UNIT_ASSERT_STRING_EQUAL(plan.files[1], unit_path(p, sizeof p, d, "x2.txt"));
    }
    sheaf__plan_free(&plan);
    /* x?: matches the files x1.txt.. and the directory xdir, which is walked */
    unit_path(pat, sizeof pat, d, "x[13d]*");
    CU_ASSERT_EQUAL_FATAL(plan_of(in, 1, 0, &plan, err, sizeof err), 0);
    const char *want[] = {"x1.txt", "x3.dat", "xdir/in.txt"};
    UNIT_ASSERT_EQUAL(plan.nfiles, 3);
    for (size_t i = 0; i < plan.nfiles && i < 3; i++)
        UNIT_ASSERT_STRING_EQUAL(plan.files[i], unit_path(p, sizeof p, d, want[i]));
    check_plan(&plan, 64ull << 20, 0);
    sheaf__plan_free(&plan);
    /* a glob that matches nothing is an error naming the pattern */
    unit_path(pat, sizeof pat, d, "*.nothing");
    UNIT_ASSERT_EQUAL(plan_of(in, 1, 0, &plan, err, sizeof err), SHEAF_ENOENT);
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, pat));
    sheaf__plan_free(&plan);
    unit_rmtree(d);
}

static void test_plan_errors(void) {
    char d[4200], p[4400], good[4400];
    unit_path(d, sizeof d, tmpdir, "errs");
    CU_ASSERT_FATAL(mkdir(d, 0755) == 0);
    unit_path(good, sizeof good, d, "good.txt");
    CU_ASSERT_FATAL(unit_write_str(good, "ok\n") == 0);
    sheaf__plan plan;
    char err[512];

    /* no input at all */
    UNIT_ASSERT_EQUAL(plan_of(NULL, 0, 0, &plan, err, sizeof err), SHEAF_EUSAGE);
    sheaf__plan_free(&plan);

    /* a missing input, alone or after a good one: ENOENT naming it */
    unit_path(p, sizeof p, d, "does-not-exist.txt");
    const char *in1[2] = {good, p};
    UNIT_ASSERT_EQUAL(plan_of(in1 + 1, 1, 0, &plan, err, sizeof err), SHEAF_ENOENT);
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, p));
    sheaf__plan_free(&plan);
    UNIT_ASSERT_EQUAL(plan_of(in1, 2, 0, &plan, err, sizeof err), SHEAF_ENOENT);
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, p));
    sheaf__plan_free(&plan);

    /* a FIFO named explicitly, or found in a directory: refused, naming it */
    char sub[4400], fifo[4500];
    unit_path(sub, sizeof sub, d, "withfifo");
    CU_ASSERT_FATAL(mkdir(sub, 0755) == 0);
    unit_path(fifo, sizeof fifo, sub, "pipe");
    CU_ASSERT_FATAL(mkfifo(fifo, 0644) == 0);
    const char *in2[1] = {fifo};
    UNIT_ASSERT_EQUAL(plan_of(in2, 1, 0, &plan, err, sizeof err), SHEAF_EINVAL);
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, fifo));
    sheaf__plan_free(&plan);
    const char *in3[1] = {sub};
    UNIT_ASSERT_EQUAL(plan_of(in3, 1, 0, &plan, err, sizeof err), SHEAF_EINVAL);
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, fifo));
    sheaf__plan_free(&plan);

    /* the reader names a file it cannot open */
    sheaf__reader r;
    memset(&r, 0, sizeof r);
    sheaf__format fmt;
    sheaf__format_parse("lines", &fmt);
    UNIT_ASSERT_EQUAL(sheaf__reader_open(&r, p, 0, 10, &fmt, err, sizeof err), SHEAF_ENOENT);
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, p));
    sheaf__reader_free(&r);
    unit_rmtree(d);
}

/* ---- the public helpers: sheaf_list_inputs, sheaf_csv_parse ---- */

static void test_list_inputs(void) {
    char d[4200], p[4400];
    unit_path(d, sizeof d, tmpdir, "listed");
    CU_ASSERT_FATAL(mkdir(d, 0755) == 0);
    const char *dirs[] = {"sub", "_skip", ".git", "sub/deeper", "empty"};
    const char *files[] = {"b.txt", "a.txt", "_SUCCESS", ".hidden", "sub/c.txt", "sub/_tmp",
                           "_skip/d.txt", ".git/e.txt", "sub/deeper/f.txt", "x1.log"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
        CU_ASSERT_FATAL(mkdir(unit_path(p, sizeof p, d, dirs[i]), 0755) == 0);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        CU_ASSERT_FATAL(unit_write_str(unit_path(p, sizeof p, d, files[i]), "line\n") == 0);
    char **got;
    size_t n;
    char err[512];
    /* a directory: its files in name order, without . and _ names, subdirectories too */
    const char *want[] = {"a.txt", "b.txt", "sub/c.txt", "sub/deeper/f.txt", "x1.log"};
    CU_ASSERT_EQUAL_FATAL(sheaf_list_inputs(d, &got, &n, err, sizeof err), 0);
    UNIT_ASSERT_EQUAL(n, sizeof want / sizeof *want);
    for (size_t i = 0; i < n && i < sizeof want / sizeof *want; i++)
        UNIT_ASSERT_STRING_EQUAL(got[i], unit_path(p, sizeof p, d, want[i]));
    sheaf_list_free(got, n);
    /* a glob: the files it matches, in name order */
    char pat[4400];
    unit_path(pat, sizeof pat, d, "[ax]*");
    CU_ASSERT_EQUAL_FATAL(sheaf_list_inputs(pat, &got, &n, err, sizeof err), 0);
    UNIT_ASSERT_EQUAL(n, 2);
    if (n == 2) {
        UNIT_ASSERT_STRING_EQUAL(got[0], unit_path(p, sizeof p, d, "a.txt"));
        UNIT_ASSERT_STRING_EQUAL(got[1], unit_path(p, sizeof p, d, "x1.log"));
    }
    sheaf_list_free(got, n);
    /* a file named explicitly is listed even when its name starts with _ */
    CU_ASSERT_EQUAL_FATAL(sheaf_list_inputs(unit_path(p, sizeof p, d, "_SUCCESS"), &got, &n, err,
                                            sizeof err), 0);
    UNIT_ASSERT_EQUAL(n, 1);
    if (n == 1)
        UNIT_ASSERT_STRING_EQUAL(got[0], p);
    sheaf_list_free(got, n);
    /* errors name the path: missing, a glob matching nothing, an empty directory, a FIFO */
    const char *missing[] = {"nothing.txt", "*.none", "empty"};
    for (size_t i = 0; i < sizeof missing / sizeof *missing; i++) {
        unit_path(p, sizeof p, d, missing[i]);
        UNIT_ASSERT_EQUAL(sheaf_list_inputs(p, &got, &n, err, sizeof err), SHEAF_ENOENT);
        UNIT_ASSERT_PTR_NOT_NULL(strstr(err, p));
    }
    CU_ASSERT_FATAL(mkfifo(unit_path(p, sizeof p, d, "sub/pipe"), 0644) == 0);
    UNIT_ASSERT_EQUAL(sheaf_list_inputs(d, &got, &n, err, sizeof err), SHEAF_EINVAL);
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, p));
    unit_rmtree(d);
}

/* Appends field f (n bytes) to out, quoted as RFC 4180 says when it must be (or when
 * force_quote), and returns the new length. */
static size_t csv_put_field(char *out, size_t len, const char *f, size_t n, char delim,
                            bool force_quote) {
    bool quote = force_quote;
    for (size_t i = 0; i < n; i++)
        if (f[i] == delim || f[i] == '"' || f[i] == '\n' || f[i] == '\r')
            quote = true;
    if (quote)
        out[len++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (f[i] == '"')
            out[len++] = '"';
        out[len++] = f[i];
    }
    if (quote)
        out[len++] = '"';
    return len;
}

/* Random records of random fields (delimiters, quotes, CR and LF inside), written as csv with
 * LF or CRLF ends, read back field for field; the last record with or without its end. */
static void test_csv_parse_round_trip(void) {
    static const char alphabet[] = "ab ,;\"\n\r\t1";
    enum { RECORDS = 50, MAXF = 6, MAXLEN = 8 };
    char fields[RECORDS][MAXF][MAXLEN];
    size_t nf[RECORDS], flen[RECORDS][MAXF];
    char *buf = unit_xmalloc(RECORDS * MAXF * (2 * MAXLEN + 3) + RECORDS * 2);
    sheaf_csv csv = {0};
    for (int round = 0; round < 200; round++) {
        char delim = round % 3 == 0 ? ';' : ',';
        size_t len = 0;
        for (size_t r = 0; r < RECORDS; r++) {
            nf[r] = 1 + (size_t)unit_below(MAXF);
            for (size_t i = 0; i < nf[r]; i++) {
                flen[r][i] = (size_t)unit_below(MAXLEN);
                for (size_t k = 0; k < flen[r][i]; k++)
                    fields[r][i][k] = alphabet[unit_below(sizeof alphabet - 1)];
                /* one empty unquoted field alone is a blank line: quote it */
                bool force = nf[r] == 1 && flen[r][i] == 0;
                if (i)
                    buf[len++] = delim;
                len = csv_put_field(buf, len, fields[r][i], flen[r][i], delim,
                                    force || unit_below(4) == 0);
            }
            bool last = r == RECORDS - 1;
            if (!last || unit_below(2)) {
                if (unit_below(2))
                    buf[len++] = '\r';
                buf[len++] = '\n';
            }
        }
        size_t off = 0;
        for (size_t r = 0; r < RECORDS; r++) {
            char err[160];
            long long used = sheaf_csv_parse(&csv, buf + off, len - off, delim, err, sizeof err);
            CU_ASSERT_FATAL(used > 0);
            off += (size_t)used;
            UNIT_ASSERT_EQUAL(csv.nfields, nf[r]);
            for (size_t i = 0; i < csv.nfields && i < nf[r]; i++) {
                UNIT_ASSERT_EQUAL(csv.field_lens[i], flen[r][i]);
                UNIT_ASSERT(csv.field_lens[i] != flen[r][i] ||
                            memcmp(csv.fields[i], fields[r][i], flen[r][i]) == 0);
            }
        }
        UNIT_ASSERT_EQUAL(off, len);
    }
    sheaf_csv_free(&csv);
    UNIT_ASSERT_PTR_NULL(csv.priv);
    free(buf);
}

static void test_csv_parse_cases(void) {
    sheaf_csv csv = {0};
    char err[160];
    /* plain fields, an empty last field, then the next record */
    const char *t = "a,,c,\nnext";
    UNIT_ASSERT_EQUAL(sheaf_csv_parse(&csv, t, strlen(t), ',', err, sizeof err), 6);
    UNIT_ASSERT_EQUAL(csv.nfields, 4);
    UNIT_ASSERT_EQUAL(csv.field_lens[3], 0);
    /* a blank line is one empty field */
    UNIT_ASSERT_EQUAL(sheaf_csv_parse(&csv, "\r\nx", 3, ',', err, sizeof err), 2);
    UNIT_ASSERT_EQUAL(csv.nfields, 1);
    UNIT_ASSERT_EQUAL(csv.field_lens[0], 0);
    /* malformed: an unterminated quote, text after a closing quote */
    const char *bad[] = {"a,\"open\nstill open", "a,\"closed\"x,b\n"};
    for (size_t i = 0; i < 2; i++) {
        err[0] = '\0';
        UNIT_ASSERT_EQUAL(sheaf_csv_parse(&csv, bad[i], strlen(bad[i]), ',', err, sizeof err),
                          SHEAF_EFORMAT);
        UNIT_ASSERT(err[0] != '\0');
    }
    /* err may be NULL */
    UNIT_ASSERT_EQUAL(sheaf_csv_parse(&csv, bad[0], strlen(bad[0]), ',', NULL, 0),
                      SHEAF_EFORMAT);
    sheaf_csv_free(&csv);
}

/* ---- setup ---- */

int main(void) {
    if (unit_mkdtemp(tmpdir, sizeof tmpdir, "reader") != 0) {
        perror("mkdtemp");
        return 99;
    }
    static const unit_test tests[] = {
        {"format_parse", test_format_parse},
        {"plan_split_sizes", test_plan_split_sizes},
        {"plan_packs_small_files", test_plan_packs_small_files},
        {"plan_directories", test_plan_directories},
        {"plan_globs", test_plan_globs},
        {"plan_errors", test_plan_errors},
        {"list_inputs", test_list_inputs},
        {"csv_parse_round_trip", test_csv_parse_round_trip},
        {"csv_parse_cases", test_csv_parse_cases},
        {"lines_trailing_newline", test_lines_trailing_newline},
        {"lines_no_trailing_newline", test_lines_no_trailing_newline},
        {"lines_crlf", test_lines_crlf},
        {"lines_empty_lines", test_lines_empty_lines},
        {"lines_long_line", test_lines_long_line},
        {"lines_empty_file", test_lines_empty_file},
        {"lines_random_files", test_lines_random_files},
        {"lines_huge_line", test_lines_huge_line},
        {"blocks_line_counts", test_blocks_line_counts},
        {"records_other_delimiters", test_records_other_delimiters},
        {"tsv_all_splits", test_tsv_all_splits},
        {"fixed_all_splits", test_fixed_all_splits},
        {"fixed_not_multiple", test_fixed_not_multiple},
        {NULL, NULL},
    };
    int rc = unit_main("reader", tests);
    if (unit_rmtree(tmpdir) != 0) {
        fprintf(stderr, "cannot remove %s\n", tmpdir);
        rc = rc ? rc : 1;
    }
    return rc;
}
