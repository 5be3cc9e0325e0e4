/*
 * fuzz_reader.c: libFuzzer target for the record readers and the split planner.
 *
 * The first bytes of the input choose the format and the split size; the rest is the content
 * of one input file. The file is planned (sheaf__plan_build) with that split size and every
 * split is read in plan order; then the whole file is read as one split. Invariants:
 *   - every record is read exactly once across the splits: the sequence of (offset, bytes,
 *     fields) from the splits equals the one from the single split, malformed csv records
 *     included (they are reported in the same place);
 *   - the splits cover the file exactly, in order, without overlap;
 *   - a record's bytes are the file's bytes at its offset, and (lines, tsv) never hold the
 *     delimiter; offsets increase;
 *   - a reader never fails for another reason than a malformed record;
 *   - SHEAF_RECORD_PADDING bytes after every record are readable (the sanitizers check);
 *   - LF lines read in blocks (sheaf_job_def.map_blocks) and cut back into lines are the
 *     same records as lines read one by one, and each block's line and line-end counts are
 *     right.
 * Multi-line csv splits start inside quotes or not as the quote pass says (csvsplit.c: each
 * split's quote parity, marked on the plan), as the job's map phase does.
 *
 * Layout of an input: byte 0 the format (low 3 bits) and flags, byte 1 the fixed record
 * length or the delimiter choice, bytes 2-3 the split size (1 to 65536), the rest the file.
 */
#include "csvsplit.h"
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_reader: check failed at line %d: %s\n", __LINE__, #cond);    \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

typedef struct rec {
    int kind; /* 1 a record, 2 a malformed record, 3 a malformed csv header (the end) */
    uint64_t offset;
    size_t len, off; /* bytes at log.data + off */
    size_t nfields;
} rec;

typedef struct log {
    rec *recs;
    size_t n, cap;
    sheaf__buf data;
} log_t;

static void log_add(log_t *l, int kind, const sheaf_record *r) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->recs = realloc(l->recs, l->cap * sizeof *l->recs);
        CHECK(l->recs);
    }
    rec *e = &l->recs[l->n++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    if (kind != 1)
        return;
    e->offset = r->offset;
    e->len = r->len;
    e->nfields = r->nfields;
    /* The record's bytes, then each field with its length. */
    size_t need = r->len + 8;
    for (size_t i = 0; i < r->nfields; i++)
        need += r->field_lens[i] + sizeof(size_t);
    CHECK(sheaf__buf_reserve(&l->data, need) == 0);
    e->off = l->data.len;
    if (r->len)
        memcpy(l->data.data + l->data.len, r->data, r->len);
    l->data.len += r->len;
    for (size_t i = 0; i < r->nfields; i++) {
        memcpy(l->data.data + l->data.len, &r->field_lens[i], sizeof(size_t));
        l->data.len += sizeof(size_t);
        if (r->field_lens[i])
            memcpy(l->data.data + l->data.len, r->fields[i], r->field_lens[i]);
        l->data.len += r->field_lens[i];
    }
    e->len = l->data.len - e->off; /* compare the whole encoding */
}

static void log_free(log_t *l) {
    free(l->recs);
    sheaf__buf_free(&l->data);
    memset(l, 0, sizeof *l);
}

/* A block of whole lines, cut back into the records the line reader gives (without the LF
 * and a CR before it). Checks the block's counts. */
static void log_block(log_t *l, const sheaf_record *r, const sheaf__reader *rd) {
    CHECK(r->len > 0 && r->data[r->len - 1] == '\n');
    uint64_t lines = 0, ends = 0;
    size_t begin = 0;
    for (size_t i = 0; i < r->len; i++) {
        if (r->data[i] != '\n')
            continue;
        size_t stop = i;
        ends++;
        if (stop > begin && r->data[stop - 1] == '\r') {
            stop--;
            ends++;
        }
        sheaf_record line = *r;
        line.data = r->data + begin;
        line.len = stop - begin;
        line.offset = r->offset + begin;
        log_add(l, 1, &line);
        lines++;
        begin = i + 1;
    }
    CHECK(lines == rd->nrec && ends == rd->delims);
}

/* Reads one split into the log; checks each record against the file's bytes. */
static void read_split(sheaf__reader *rd, const char *path, uint64_t start, uint64_t len,
                       bool quoted, const sheaf__format *fmt, const uint8_t *file, size_t size,
                       log_t *l, bool blocks) {
    char err[1024] = "";
    int rc = sheaf__reader_open(rd, path, start, len, fmt, err, sizeof err);
    CHECK(rc == 0);
    if (quoted)
        sheaf__reader_start_quoted(rd);
    rd->blocks = blocks;
    uint64_t last = 0;
    bool first = true;
    for (;;) {
        sheaf_record r;
        err[0] = '\0';
        rc = sheaf__reader_next(rd, &r, err, sizeof err);
        if (rc == 0)
            break;
        if (rc == SHEAF_EFORMAT && rd->done &&
            (fmt->kind == SHEAF__FMT_CSV || fmt->kind == SHEAF__FMT_TSV) && fmt->header) {
            /* A malformed header (or one naming a column twice), csv's or tsv's: the reader
             * stops, every split of the file says so. */
            CHECK(strstr(err, "in the header") != NULL ||
                  strstr(err, "the header names columns") != NULL);
            log_add(l, 3, NULL);
            break;
        }
        if (rc == SHEAF_EFORMAT) {
            CHECK(err[0] != '\0');
            log_add(l, 2, NULL);
            if (fmt->kind == SHEAF__FMT_FIXED)
                break; /* a short last record ends the split */
            continue;
        }
        CHECK(rc == 1);
        volatile uint8_t pad = 0;
        for (size_t i = 0; i < SHEAF_RECORD_PADDING; i++)
            pad ^= (uint8_t)r.data[r.len + i];
        (void)pad;
        if (blocks && rd->delims) {
            CHECK(r.offset >= start && r.offset < start + len);
            CHECK(first || r.offset > last);
            CHECK(memcmp(r.data, file + r.offset, r.len) == 0);
            first = false;
            last = r.offset;
            log_block(l, &r, rd);
            continue;
        }
        CHECK(rd->nrec == 1 && rd->delims == 0);
        CHECK(r.offset >= start);
        /* The first split owns the record after a byte-order mark, even when it ends inside
         * the mark. */
        bool bom = (fmt->kind == SHEAF__FMT_CSV || fmt->kind == SHEAF__FMT_TSV) && start == 0 &&
                   size >= 3 && memcmp(file, "\xEF\xBB\xBF", 3) == 0;
        CHECK(r.offset < (bom && len < 4 ? 4 : start + len));
        CHECK(first || r.offset > last);
        CHECK(r.offset + r.len <= size);
        CHECK(r.len == 0 || memcmp(r.data, file + r.offset, r.len) == 0);
        if (fmt->kind == SHEAF__FMT_LINES || fmt->kind == SHEAF__FMT_TSV)
            CHECK(r.len == 0 || memchr(r.data, fmt->delim, r.len) == NULL);
        if (fmt->kind == SHEAF__FMT_FIXED)
            CHECK(r.len == fmt->reclen && r.offset % fmt->reclen == 0);
        if (fmt->kind == SHEAF__FMT_TSV)
            CHECK(r.nfields == 1 || r.nfields == 2);
        if (fmt->kind == SHEAF__FMT_CSV && fmt->header && r.nheader)
            CHECK(r.nfields == r.nheader);
        first = false;
        last = r.offset;
        log_add(l, 1, &r);
    }
    sheaf__reader_close(rd);
}

static int make_file(const uint8_t *data, size_t size, char *path, size_t pathlen) {
    int fd = memfd_create("fuzz_reader", MFD_CLOEXEC);
    if (fd >= 0) {
        snprintf(path, pathlen, "/proc/self/fd/%d", fd);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(path, pathlen, "%s/fuzz_reader.%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        CHECK(fd >= 0);
    }
    CHECK(sheaf__write_all(fd, data, size) == 0);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4)
        return 0;
    uint8_t sel = data[0], arg = data[1];
    uint64_t ss = (uint64_t)(data[2] | (data[3] << 8)) + 1;
    data += 4;
    size -= 4;

    sheaf_config cfg;
    sheaf_config_init(&cfg);
    static const char *const kinds[] = {"lines", "csv", "tsv", "fixed", "lines", "csv", "tsv",
                                        "lines"};
    char fmtname[32];
    const char *kind = kinds[sel & 7];
    if (!strcmp(kind, "fixed"))
        snprintf(fmtname, sizeof fmtname, "fixed:%u", (unsigned)(arg % 24) + 1);
    else
        snprintf(fmtname, sizeof fmtname, "%s", kind);
    cfg.input_format = fmtname;
    cfg.csv_header = (sel >> 3) & 1;
    cfg.csv_no_newlines = (sel >> 4) & 1;
    static const char *const delims[] = {NULL, "\\0", ";", "\\r", "\\t", "|", "\\x00", "\\n"};
    if ((sel >> 5) & 1)
        cfg.record_delimiter = delims[arg & 7];
    if ((sel >> 6) & 1)
        cfg.csv_delimiter = (sel >> 7) ? ';' : '\t';
    cfg.split_size = ss;

    sheaf__format fmt;
    char err[1024] = "";
    if (sheaf__format_from_config(&cfg, &fmt, err, sizeof err) != 0) {
        CHECK(err[0] != '\0');
        return 0;
    }

    char path[256];
    int fd = make_file(data, size, path, sizeof path);
    const char *inputs[1] = {path};
    cfg.inputs = inputs;
    cfg.ninputs = 1;
    sheaf__plan plan;
    int rc = sheaf__plan_build(&cfg, &fmt, 1, &plan, err, sizeof err);
    if (rc != 0) {
        /* Only a fixed-length file of the wrong size may be refused. */
        CHECK(fmt.kind == SHEAF__FMT_FIXED && size % fmt.reclen != 0);
        CHECK(err[0] != '\0');
        sheaf__plan_free(&plan);
        close(fd);
        return 0;
    }
    CHECK(plan.nfiles == 1 && plan.sizes[0] == size);
    /* The splits tile the file in order; the tasks cover every split once. */
    uint64_t at = 0;
    for (size_t i = 0; i < plan.nsplits; i++) {
        CHECK(plan.splits[i].file == 0);
        CHECK(plan.splits[i].start == at && plan.splits[i].len > 0);
        if (fmt.kind == SHEAF__FMT_FIXED)
            CHECK(plan.splits[i].start % fmt.reclen == 0);
        at += plan.splits[i].len;
    }
    CHECK(at == size);
    uint64_t covered = 0;
    for (size_t t = 0; t < plan.ntasks; t++) {
        CHECK(plan.tasks[t].first + plan.tasks[t].count <= plan.nsplits);
        CHECK(t == 0 || plan.tasks[t - 1].bytes >= plan.tasks[t].bytes);
        covered += plan.tasks[t].count;
    }
    CHECK(covered == plan.nsplits);

    sheaf__reader rd;
    memset(&rd, 0, sizeof rd);
    rd.fd = -1;
    log_t split = {0}, whole = {0};
    if (fmt.kind == SHEAF__FMT_CSV && fmt.multiline) {
        /* The quote pass, serially: each split's parity, checked against a byte loop. */
        uint8_t *odd = calloc(plan.nsplits ? plan.nsplits : 1, 1);
        CHECK(odd);
        for (size_t i = 0; i < plan.nsplits; i++) {
            bool o;
            CHECK(sheaf__csv_quote_parity(path, plan.splits[i].start, plan.splits[i].len, &o,
                                          err, sizeof err) == 0);
            unsigned want = 0;
            for (uint64_t b = 0; b < plan.splits[i].len; b++)
                want ^= data[plan.splits[i].start + b] == '"';
            CHECK(o == (want != 0));
            odd[i] = o;
        }
        sheaf__csv_mark_quoted(&plan, odd);
        free(odd);
    }
    for (size_t i = 0; i < plan.nsplits; i++)
        read_split(&rd, path, plan.splits[i].start, plan.splits[i].len, plan.splits[i].quoted,
                   &fmt, data, size, &split, false);
    read_split(&rd, path, 0, size, false, &fmt, data, size, &whole, false);
    /* LF lines again, in blocks, split by split: the same records as the single read. */
    if (fmt.kind == SHEAF__FMT_LINES && fmt.delim == '\n') {
        log_t blocks = {0};
        for (size_t i = 0; i < plan.nsplits; i++)
            read_split(&rd, path, plan.splits[i].start, plan.splits[i].len, false, &fmt, data,
                       size, &blocks, true);
        CHECK(blocks.n == whole.n);
        for (size_t i = 0; i < whole.n; i++) {
            const rec *a = &blocks.recs[i], *b = &whole.recs[i];
            CHECK(a->kind == b->kind && a->offset == b->offset && a->len == b->len);
            CHECK(a->len == 0 ||
                  memcmp(blocks.data.data + a->off, whole.data.data + b->off, a->len) == 0);
        }
        log_free(&blocks);
    }
    /* A fixed-length file never has a short record here (its size was checked). */
    if (fmt.kind == SHEAF__FMT_FIXED)
        CHECK(whole.n == size / fmt.reclen);
    /* Every record exactly once: the split reads equal the single read. Malformed csv is
     * compared by position too; a record's number in the message may differ (a split that
     * does not start the file does not know it). */
    if (plan.nsplits > 1 && whole.n && whole.recs[0].kind == 3) {
        CHECK(split.n == plan.nsplits);
        for (size_t i = 0; i < split.n; i++)
            CHECK(split.recs[i].kind == 3);
    } else if (plan.nsplits > 1) {
        if (split.n != whole.n)
            fprintf(stderr, "fuzz_reader: %zu records from %zu splits, %zu from one\n", split.n,
                    plan.nsplits, whole.n);
        CHECK(split.n == whole.n);
        for (size_t i = 0; i < whole.n; i++) {
            const rec *a = &split.recs[i], *b = &whole.recs[i];
            CHECK(a->kind == b->kind);
            CHECK(a->offset == b->offset && a->len == b->len && a->nfields == b->nfields);
            CHECK(a->len == 0 ||
                  memcmp(split.data.data + a->off, whole.data.data + b->off, a->len) == 0);
        }
    }
    log_free(&split);
    log_free(&whole);
    sheaf__reader_free(&rd);
    sheaf__plan_free(&plan);
    close(fd);
    return 0;
}
