/*
 * internal.h: what the runtime's modules share. Never installed.
 *
 * The data path of one rank, and the module that owns each step (docs/architecture.md has it
 * as a picture, with the source and sink interfaces and how to add a format):
 *
 *   input.c    rank 0 lists the inputs and cuts them into splits; the plan is broadcast
 *   job.c      sheaf_run: the phases; ranks claim splits (RMA counter or round robin) and
 *              call map() per record
 *   reader.c   turns a split into records, aligned to record boundaries, through an input
 *              format (sheaf__infmt) registered in its table: src_lines.c, src_blocks.c,
 *              src_csv.c, src_tsv.c, src_fixed.c, with src_delim.c the delimiter scan
 *   emit.c     the emit API: sheaf_emit calls the context's sink (sheaf__sink); a map-side
 *              emit into the combine table is added inline (ctab.h)
 *   ctab.c     the map-side combine table (built-in aggregations and user combiners)
 *   shuffle.c  the map side (sheaf__mapside): its sinks, the send buffers and the bounded
 *              all-to-all exchange rounds
 *   sample.c   a total order's sampler (sheaf__sampler) and key ranges
 *   store.c    received records; sorted and spilled as runs when over budget
 *   sort.c     the in-memory record sort
 *   merge.c    run files and the k-way merge, as record sources (sheaf__src)
 *   reduce.c   grouping, the value iterator, the reduce loop
 *   writer.c   output files, the output formats' table (out_text.c, out_csv.c, out_raw.c)
 *              and the output set, the reduce side's sink
 *   commit.c   the output directory protocol (_temporary, _SUCCESS, overwrite)
 *   progress.c rank 0's progress display; place.c hwloc placement; report.c and html.c the
 *              report; error.c errors and agreement; main.c sheaf_main's command line
 *
 * Calls go down this list's dependencies without a cycle: job.c calls the phases, which do
 * not call job.c; emit.c knows sinks and the combine table, not the phases behind them.
 *
 * Records travel and rest in one encoding: varint partition, varint key length, varint value
 * length, key bytes, value bytes.
 */
#ifndef SHEAF_INTERNAL_H
#define SHEAF_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "sheaf.h"

#define SHEAF__MIN(a, b) ((a) < (b) ? (a) : (b))
#define SHEAF__MAX(a, b) ((a) > (b) ? (a) : (b))

/* SHEAF__ASSERT(cond) checks an internal invariant of the runtime (ring and buffer bounds,
 * partition < nparts, merge order, sorted runs) in the test and sanitizer builds (configure
 * --enable-asserts, on in scripts/check's builds, or --enable-sanitizers): a false cond prints
 * where and aborts, since it is a bug in Sheaf, not a user error. Elsewhere it compiles to
 * nothing (cond is not evaluated), so it may cost what it needs to. */
#ifdef SHEAF_ASSERTS
#define SHEAF__ASSERT(cond)                                                                    \
    ((cond) ? (void)0 : sheaf__assert_fail(#cond, __FILE__, __LINE__, __func__))
_Noreturn void sheaf__assert_fail(const char *cond, const char *file, int line,
                                  const char *func);
#else
#define SHEAF__ASSERT(cond) ((void)0)
#endif

#if defined(__GNUC__)
#define SHEAF__LIKELY(x) __builtin_expect(!!(x), 1)
#define SHEAF__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define SHEAF__LIKELY(x) (x)
#define SHEAF__UNLIKELY(x) (x)
#endif

/* ---- util.c ---------------------------------------------------------------------------- */

/* A growable byte buffer. */
typedef struct sheaf__buf {
    uint8_t *data;
    size_t len, cap;
} sheaf__buf;

/* Makes room for extra more bytes. Returns 0 or SHEAF_ENOMEM. */
int sheaf__buf_reserve(sheaf__buf *b, size_t extra);
void sheaf__buf_free(sheaf__buf *b);

/* bytes of memory (not zeroed, freed with free) aligned to 2 MiB, whose whole 2 MiB pages ask
 * the kernel for transparent huge pages: for the big arrays that the map touches all over
 * (combine table, read buffer), where small pages cost TLB misses. NULL when out of memory. */
#define SHEAF__HUGE_PAGE ((size_t)2 << 20)
void *sheaf__huge_alloc(size_t bytes);

static inline size_t sheaf__varint_put(uint8_t *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Reads a varint from [p, end). Returns its length, or 0 when it runs past end. */
static inline size_t sheaf__varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v) {
    uint64_t x = 0;
    unsigned shift = 0;
    for (size_t n = 0; p + n < end && shift < 64; n++) {
        x |= (uint64_t)(p[n] & 0x7f) << shift;
        if (!(p[n] & 0x80)) {
            *v = x;
            return n + 1;
        }
        shift += 7;
    }
    return 0;
}

#define SHEAF__VARINT_MAX 10
#define SHEAF__REC_HDR_MAX (3 * SHEAF__VARINT_MAX)

/* A decoded record. Pointers are into whatever buffer holds it. */
typedef struct sheaf__kv {
    uint32_t part;
    const uint8_t *key;
    size_t klen;
    const uint8_t *val;
    size_t vlen;
} sheaf__kv;

/* Encodes a record at p (room: SHEAF__REC_HDR_MAX + klen + vlen). Returns its length. */
size_t sheaf__rec_put(uint8_t *p, uint32_t part, const void *key, size_t klen, const void *val,
                      size_t vlen);
/* Appends a record to b. Returns its length, or 0 when out of memory. */
size_t sheaf__buf_add_rec(sheaf__buf *b, uint32_t part, const void *key, size_t klen,
                          const void *val, size_t vlen);
/* Decodes the record at [p, end). Returns its length, or 0 if it is incomplete. */
size_t sheaf__rec_get(const uint8_t *p, const uint8_t *end, sheaf__kv *kv);

double sheaf__now(void);
uint64_t sheaf__peak_rss(void);
uint64_t sheaf__physical_memory(void);
/* Removes a directory tree (rm -rf) by file descriptors: a symlink in it, or put in place of
 * one of its directories while it is walked, is removed itself, never followed. Returns 0 or
 * a negative code. */
int sheaf__rmtree(const char *path);
/* A formatted string in memory of its own size (free it). NULL when out of memory. */
char *sheaf__asprintf(const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* mkdir -p. */
int sheaf__mkdirs(const char *path, unsigned mode);
/* Writes all of buf to fd. Returns 0 or the negated errno. */
int sheaf__write_all(int fd, const void *buf, size_t len);
/* The default key order: bytewise, shorter first on a tie. */
int sheaf__bytes_compare(const void *a, size_t alen, const void *b, size_t blen);

/* ---- error.c --------------------------------------------------------------------------- */

/* Records the first error of this rank in the context (later ones are ignored). Returns code. */
int sheaf__error(sheaf_ctx *ctx, int code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int sheaf__verror(sheaf_ctx *ctx, int code, const char *fmt, va_list ap);
/* Collective: every rank learns whether any rank failed. If one did, every rank's context takes
 * the first failing rank's code and message, and the code is returned; else 0. */
int sheaf__agree(sheaf_ctx *ctx);
void sheaf__log(const sheaf_ctx *ctx, sheaf_log_level level, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- input.c --------------------------------------------------------------------------- */

typedef struct sheaf__split {
    uint32_t file;
    bool quoted; /* csv: starts inside a quoted field (csvsplit.c) */
    uint64_t start, len;
} sheaf__split;

/* A task is a run of consecutive splits (small files are packed into one task). */
typedef struct sheaf__task {
    uint64_t first, count, bytes;
} sheaf__task;

typedef struct sheaf__plan {
    char **files;
    uint64_t *sizes;
    int64_t *mtimes;  /* modification time at planning, in nanoseconds */
    uint8_t *unsized; /* 1: a regular file whose size says 0 but which has bytes (/proc) */
    uint32_t *origin; /* index of the input each file came from */
    size_t nfiles;
    sheaf__split *splits;
    size_t nsplits;
    sheaf__task *tasks; /* largest first */
    size_t ntasks;
    uint64_t total_bytes;
    uint64_t split_size; /* the one used (rank 0 only) */
    uint64_t pruned;     /* files cfg->prune ruled out by their partition folders (rank 0) */
} sheaf__plan;

/* Whether an input (-i) is read as a glob: it has glob characters and names no file. */
bool sheaf__input_is_glob(const char *in);

/* Input formats. */
typedef enum { SHEAF__FMT_LINES = 0, SHEAF__FMT_FIXED, SHEAF__FMT_CSV, SHEAF__FMT_TSV,
               SHEAF__FMT_PARQUET } sheaf__fmt_kind;
typedef struct sheaf__format {
    sheaf__fmt_kind kind;
    const struct sheaf__infmt *src; /* the source that reads it (reader.c's table) */
    uint64_t reclen; /* fixed */
    uint8_t delim;   /* record delimiter of lines, tsv and csv (default LF) */
    uint8_t sep;     /* csv field separator (default ',') */
    bool header;     /* csv, tsv: the first record of each file names the columns */
    bool multiline;  /* csv: quoted fields may hold newlines, so splits need the quote pass */
    const char *const *columns; /* parquet: the columns to read (sheaf_input_columns), or all */
    size_t ncolumns;
    const sheaf_col_type *types; /* parquet: the type each of them is read in
                                    (sheaf_input_types; 0: text), or NULL */
} sheaf__format;

/* Parses the kind ("lines", "csv", "tsv", "fixed:N": a registered input format's name and its
 * arguments); other fields get their defaults (reader.c). */
int sheaf__format_parse(const char *text, sheaf__format *fmt);
/* The whole format of a config (kind plus csv options and delimiter). */
int sheaf__format_from_config(const sheaf_config *cfg, sheaf__format *fmt, char *err,
                              size_t errlen);
/* The same for input i, under cfg->input_formats when it names one. */
int sheaf__input_format(const sheaf_config *cfg, size_t i, sheaf__format *fmt, char *err,
                        size_t errlen);
/* Parses a one-byte delimiter: a character or an escape (\n \t \0 \xHH). */
int sheaf__parse_delim(const char *text, uint8_t *out);

struct stat;
/* A stat's modification time in nanoseconds. */
int64_t sheaf__mtime_ns(const struct stat *st);

/* Rank 0: lists the inputs and cuts splits, each file by the format of the input it came from
 * (fmts[origin], or fmts[0] for all when nfmts is 1). On failure writes a message to err. */
int sheaf__plan_build_multi(const sheaf_config *cfg, const sheaf__format *fmts, size_t nfmts,
                            int nranks, sheaf__plan *plan, char *err, size_t errlen);
/* The same with one format for every input. */
int sheaf__plan_build(const sheaf_config *cfg, const sheaf__format *fmt, int nranks,
                      sheaf__plan *plan, char *err, size_t errlen);
/* Warns (on this rank's log) about each compressed file that holds more than a rank's share
 * of the job's work: one rank reads it all while the others may wait. */
void sheaf__plan_warn_compressed(const sheaf_ctx *ctx, const sheaf__plan *plan);
/* Collective: sends the plan of root (its return code too) to every rank. */
int sheaf__plan_bcast(MPI_Comm comm, int root, int code, sheaf__plan *plan);
void sheaf__plan_free(sheaf__plan *plan);

/* ---- reader.c -------------------------------------------------------------------------- */

/* A byte stage under a record reader: a decompressor, say, over the file. NULL in the reader
 * means the plain file (read from fd). */
typedef struct sheaf__istream sheaf__istream;
struct sheaf__istream {
    /* Reads up to n bytes into buf: how many, 0 at the end, or a negated errno. */
    ssize_t (*read)(sheaf__istream *s, void *buf, size_t n);
    void (*close)(sheaf__istream *s);
    /* NULL, or what the last failed read was about (a decoder names the file and the
     * compressed offset), then the reader reports that instead of the errno alone. */
    const char *(*error)(sheaf__istream *s);
};

typedef struct sheaf__reader {
    int fd;
    sheaf__istream *in; /* NULL: read the file itself */
    const char *path;
    sheaf__format fmt;
    uint64_t start, end; /* the split */
    uint64_t base;       /* file offset of buf[0] */
    uint8_t *buf;
    size_t cap, len, off; /* off: next unread byte in buf */
    bool eof;
    bool done;
    bool skip;        /* the split starts inside a record: skip to the next one */
    bool skip_quoted; /* csv: and inside quotes (sheaf__reader_start_quoted) */
    bool blocks;      /* LF lines: hand out runs of whole lines (sheaf_job_def.map_blocks) */
    uint64_t nrec;    /* records in the last record handed out (1, or a block's lines) */
    uint64_t delims;  /* line-end bytes inside it (a block's LFs and CRs before them; else 0) */
    uint64_t lineno;  /* records read, counted from the file's start when start == 0 */
    bool check_end;   /* end of file must come at planned_size (sheaf__reader_open_split) */
    uint64_t planned_size;
    /* csv and tsv fields */
    sheaf__buf unq;   /* unescaped quoted fields */
    const char **fields;
    size_t *flens;
    size_t nfields, fcap;
    /* csv header */
    sheaf__buf hdr;
    const char **hfields;
    size_t *hlens;
    size_t nh;
    struct sheaf__pqsrc *pq; /* parquet (pq_job.c) */
} sheaf__reader;

/* Opens a split, keeping the buffer of an earlier split (zero the struct before the first
 * use). Returns 0 or a negative code (message in err). */
int sheaf__reader_open(sheaf__reader *r, const char *path, uint64_t start, uint64_t len,
                       const sheaf__format *fmt, char *err, size_t errlen);
/* Reads the next record: 1 and *rec filled, 0 at the end of the split, or a negative code.
 * SHEAF_EFORMAT is a malformed record: the reader has moved past it and may go on. With
 * blocks set (after open; LF lines only), a record may be a run of whole lines; r->nrec says
 * how many. */
int sheaf__reader_next(sheaf__reader *r, sheaf_record *rec, char *err, size_t errlen);
/* After open: the split starts inside a quoted csv field (sheaf__split.quoted), so its first
 * record starts after the first delimiter outside quotes. */
void sheaf__reader_start_quoted(sheaf__reader *r);
/* Opens split s of the plan (as sheaf__reader_open) and checks that its file is the one
 * planned: still a regular file, of the size and modification time it had at planning, and,
 * as it is read, ending at that size; a file that changed fails with SHEAF_EIO and a message
 * naming it. A file planned as unsized is read to its end. One fstat per split. */
int sheaf__reader_open_split(sheaf__reader *r, const sheaf__plan *plan, size_t s,
                             const sheaf__format *fmt, char *err, size_t errlen);
void sheaf__reader_close(sheaf__reader *r); /* closes the file, keeps the buffer */
/* Tests: the loop that counts a block's line ends, 0 plain C to 3 AVX-512 (a level the CPU
 * lacks, or -1, means the best it has). Returns the level now used. */
int sheaf__reader_set_line_count(int level);
void sheaf__reader_free(sheaf__reader *r);

/* An input format: one src_NAME.c defines one, and one line of reader.c's table registers it.
 * The reader does what every format shares (the split, its alignment to records, the buffer,
 * the bytes under it); the format says what a record is. */
typedef struct sheaf__infmt {
    const char *name;      /* as --input-format names it (before any ":ARGS") */
    sheaf__fmt_kind kind;
    bool aligned;          /* splits start on records (fixed): no skip to the first one */
    /* Parses the text after the name ("" or ":N"...) into fmt. 0 or SHEAF_EINVAL. */
    int (*parse)(const char *args, sheaf__format *fmt);
    /* Before a split's first record (NULL: nothing), e.g. a header's names. 0 or a code. */
    int (*begin)(sheaf__reader *r, char *err, size_t errlen);
    /* Reads the record at r->off, which starts inside the split, into rec (cleared, its file
     * set): 1, 0 at the end, or a negative code (SHEAF_EFORMAT: malformed, the reader past
     * it; r->done when it cannot go on). */
    int (*next)(sheaf__reader *r, sheaf_record *rec, char *err, size_t errlen);
} sheaf__infmt;

extern const sheaf__infmt sheaf__src_lines, sheaf__src_csv, sheaf__src_tsv, sheaf__src_fixed;
extern const sheaf__infmt sheaf__src_parquet; /* pq_job.c */
/* The registered format of a kind (lines for one not registered). */
const sheaf__infmt *sheaf__infmt_of(sheaf__fmt_kind kind);

/* For the formats: reads more bytes, compacting and growing the buffer. 1 if bytes were
 * added, 0 at the end of the file, or a negative code (message in err). */
int sheaf__reader_fill(sheaf__reader *r, char *err, size_t errlen);
/* src_delim.c: the index in r->buf of the delimiter ending the record at r->off (filling as
 * needed; multi-line csv skips delimiters in quotes), or -1 when the file ends first or on an
 * error (*rc set). */
long long sheaf__reader_find_end(sheaf__reader *r, char *err, size_t errlen, int *rc);
/* src_delim.c: the delimited record at r->off (CR LF ends a line too): 1, 0 or a code. */
int sheaf__reader_record(sheaf__reader *r, sheaf_record *rec, char *err, size_t errlen);
/* src_blocks.c: a block of whole lines at r->off into rec, or false when there is none. */
bool sheaf__reader_block(sheaf__reader *r, sheaf_record *rec);
/* For the formats with a header (csv, tsv): reads the file's first record into r's header
 * names (r->nh, r->hfields, r->hlens). 0, or a code with the message in err (a header naming
 * a column twice is SHEAF_EFORMAT). */
int sheaf__reader_header(sheaf__reader *r, char *err, size_t errlen);
/* A source's begin for the formats with a header: with --csv-header, reads the header
 * (sheaf__reader_header) and, in the split that starts the file, skips it as a record that still
 * counts as the file's first line. */
int sheaf__reader_begin_header(sheaf__reader *r, char *err, size_t errlen);
/* Room for twice as many fields in r->fields and r->flens. 0 or SHEAF_ENOMEM. */
int sheaf__reader_grow_fields(sheaf__reader *r);

/* ---- ctab.c ---------------------------------------------------------------------------- */

typedef struct sheaf__ctab sheaf__ctab;

/* A table of the given aggregation (or, with values, of value chains for a combiner) that
 * asks to be drained at limit bytes; drain hands each key with XXH3(key, seed). */
sheaf__ctab *sheaf__ctab_new(sheaf_agg agg, bool values, size_t limit, uint64_t seed);
/* Tests: the table places keys by fn instead of its own slot hash (to force collisions). */
typedef uint64_t (*sheaf__ctab_hash_fn)(const void *key, size_t klen);
void sheaf__ctab_set_slot_hash(sheaf__ctab *t, sheaf__ctab_hash_fn fn);
/* Tests, on an empty table: on false, the portable slot hash instead of CRC32C. Returns false
 * when asked for CRC32C on a table without it (the CPU lacks SSE4.2). */
bool sheaf__ctab_set_crc(sheaf__ctab *t, bool on);
/* Values tables: runs the combiner over a key's values and appends its output values to out
 * (varint length, bytes each); returns 0 or a code. */
typedef int (*sheaf__ctab_eager_fn)(void *arg, const uint8_t *key, size_t klen,
                                    sheaf_values *vals, sheaf__buf *out);
void sheaf__ctab_set_eager(sheaf__ctab *t, sheaf__ctab_eager_fn fn, void *arg);
void sheaf__ctab_free(sheaf__ctab *t);
/* sheaf__ctab_add, the inline emit into the table, is in ctab.h. */
/* Adds v under keys[0..n) in order (a key in [lo, hi) with 16 bytes readable at it is padded);
 * *done is how many went in and *bytes their keys' bytes (for the counters). Returns 0, 1 when
 * the table reached its limit after key *done - 1 (flush it and go on from there), or a
 * negative code. */
int sheaf__ctab_add_keys(sheaf__ctab *t, const sheaf_key *keys, size_t n, uint64_t v,
                         uintptr_t lo, uintptr_t hi, size_t *done, uint64_t *bytes);
size_t sheaf__ctab_bytes(const sheaf__ctab *t);
size_t sheaf__ctab_count(const sheaf__ctab *t);
/* The lengths of the keys placed in the table (not those still in the ring), summed. */
size_t sheaf__ctab_key_bytes(const sheaf__ctab *t);
/* Calls fn for every entry (agg: value is the 8-byte accumulator; values tables: the value
 * iterator over the entry's chain), then empties the table for reuse, or, without reuse (the
 * last drain), leaves it fit only for sheaf__ctab_free: its slots are not cleared. */
typedef int (*sheaf__ctab_fn)(void *arg, uint64_t hash, const uint8_t *key, size_t klen,
                              const uint8_t *val, size_t vlen, sheaf_values *vals);
int sheaf__ctab_drain(sheaf__ctab *t, sheaf__ctab_fn fn, void *arg, bool reuse);

/* Built-in aggregation of one value into an accumulator (both 8 bytes, host order). */
void sheaf__agg_init(sheaf_agg agg, uint8_t acc[8], const void *val, size_t vlen);
void sheaf__agg_merge(sheaf_agg agg, uint8_t acc[8], const void *val, size_t vlen);
/* Formats an accumulator as text. Returns the length. */
size_t sheaf__agg_format(sheaf_agg agg, const uint8_t acc[8], char *out, size_t outlen);

/* The value iterator handed to reduce and combine. */
enum { SHEAF__VALS_CHAIN = 1, SHEAF__VALS_SOURCE, SHEAF__VALS_ONE };
struct sheaf_values {
    int kind;
    /* chain: values kept by the combine table, linked through an arena */
    const uint8_t *arena;
    uint64_t next; /* offset + 1 of the next chain entry, 0 at the end */
    /* one: a single value */
    const uint8_t *one;
    size_t onelen;
    bool one_used;
    /* source: consecutive records of a sorted source with the same part and group key */
    struct sheaf__src *src;
    sheaf_compare_fn group;
    const uint8_t *gkey; /* the group's key (a copy owned by the reducer) */
    size_t gklen;
    uint32_t part;
    struct sheaf__kv cur;   /* the record last returned */
    bool first_pending;     /* cur holds the group's first record, not yet returned */
    bool ended;             /* the group is over; cur (if have_next) starts the next one */
    bool have_next;
    int err;
    uint64_t nread; /* values handed out (reduce input records) */
};

/* ---- sort.c ---------------------------------------------------------------------------- */

/* 32 bytes, so the sort moves less: a TeraSort rank's sort phase took 49-54 ms instead of
 * 61-68 ms with 64-bit lengths (40 bytes). A length of 4 GiB or more is stored as
 * SHEAF__ENT_LONG and read again from the record (sheaf__ent_klen, sheaf__ent_vlen). */
typedef struct sheaf__ent {
    uint64_t pfx; /* first 8 key bytes, big-endian, zero-padded (default order only) */
    uint32_t part;
    uint32_t hlen; /* header length of the record */
    const uint8_t *rec;
    uint32_t klen, vlen;
} sheaf__ent;

#define SHEAF__ENT_LONG UINT32_MAX

/* The n-th varint of a record's header (0 partition, 1 key length, 2 value length). */
static inline uint64_t sheaf__ent_header(const sheaf__ent *e, int n) {
    const uint8_t *p = e->rec, *end = e->rec + e->hlen;
    uint64_t x = 0;
    for (int i = 0; i <= n; i++)
        p += sheaf__varint_get(p, end, &x);
    return x;
}
static inline size_t sheaf__ent_klen(const sheaf__ent *e) {
    return e->klen != SHEAF__ENT_LONG ? e->klen : (size_t)sheaf__ent_header(e, 1);
}
static inline size_t sheaf__ent_vlen(const sheaf__ent *e) {
    return e->vlen != SHEAF__ENT_LONG ? e->vlen : (size_t)sheaf__ent_header(e, 2);
}

/* Sorts by (part, key) under cmp (NULL: bytewise). */
void sheaf__sort(sheaf__ent *ents, size_t n, sheaf_compare_fn cmp);
/* Builds the index of the records in [data, data+len). Returns the count, or -1 if corrupt. */
long long sheaf__index(const uint8_t *data, size_t len, sheaf__ent *ents, size_t cap);

/* ---- merge.c --------------------------------------------------------------------------- */

struct sheaf__kv;
/* A source of records in (part, key) order. next returns 1 with *kv set (valid until the next
 * call), 0 at the end, or a negative code. */
typedef struct sheaf__src sheaf__src;
struct sheaf__src {
    int (*next)(sheaf__src *s, sheaf__kv *kv);
    void (*close)(sheaf__src *s);
};

sheaf__src *sheaf__src_memory(const sheaf__ent *ents, size_t n);
sheaf__src *sheaf__src_run(const char *path, size_t bufsize, int *err);
/* Merges sources (takes ownership of them). */
sheaf__src *sheaf__src_merge(sheaf__src **srcs, size_t n, sheaf_compare_fn cmp);

/* Writes records to a run file. */
typedef struct sheaf__runw {
    int fd;
    sheaf__buf buf;
    uint64_t bytes, records;
    const char *path;
} sheaf__runw;
int sheaf__runw_open(sheaf__runw *w, const char *path);
int sheaf__runw_put(sheaf__runw *w, const sheaf__kv *kv);
int sheaf__runw_close(sheaf__runw *w); /* flushes and closes; returns 0 or a code */

/* ---- the job context ------------------------------------------------------------------- */

/* The job's counters, one row each: the enum name (SHEAF__C_ID), the name in the report, where
 * the total goes in sheaf_result (SHEAF__RES(field), or SHEAF__NORES), whether that figure is
 * the same on every rank (the total divided by the ranks), and the group and label of the
 * end-of-job summary (NULL: not shown). The enum, the report's names, the result and the
 * summary all come from this table, so a counter is added in one place. */
#define SHEAF__RES(field) offsetof(sheaf_result, field)
#define SHEAF__NORES SIZE_MAX
#define SHEAF__COUNTER_MAP(X)                                                                   \
    X(INPUT_RECORDS, "input_records", SHEAF__RES(input_records), 0, "Map", "input records")     \
    X(INPUT_BYTES, "input_bytes", SHEAF__RES(input_bytes), 0, "Map", "input bytes")             \
    X(MAP_OUT_RECORDS, "map_output_records", SHEAF__RES(map_output_records), 0, "Map",         \
      "output records")                                                                         \
    X(MAP_OUT_BYTES, "map_output_bytes", SHEAF__RES(map_output_bytes), 0, "Map",               \
      "output bytes")                                                                           \
    X(COMBINE_IN, "combine_input_records", SHEAF__RES(combine_input_records), 0, "Map",        \
      "combine input records")                                                                  \
    X(COMBINE_OUT, "combine_output_records", SHEAF__RES(combine_output_records), 0, "Map",     \
      "combine output records")                                                                 \
    X(SHUFFLE_BYTES, "shuffle_bytes_sent", SHEAF__RES(shuffle_bytes), 0, "Shuffle", "bytes")   \
    X(SHUFFLE_ROUNDS, "shuffle_rounds", SHEAF__RES(shuffle_rounds), 1, "Shuffle", "rounds")    \
    X(REDUCE_GROUPS, "reduce_groups", SHEAF__RES(reduce_groups), 0, "Reduce", "input groups")  \
    X(REDUCE_RECORDS, "reduce_input_records", SHEAF__RES(reduce_input_records), 0, NULL, NULL) \
    X(OUTPUT_RECORDS, "output_records", SHEAF__RES(output_records), 0, "Reduce",               \
      "output records")                                                                         \
    X(OUTPUT_BYTES, "output_bytes", SHEAF__RES(output_bytes), 0, "Reduce", "output bytes")     \
    X(SPILL_RECORDS, "spilled_records", SHEAF__RES(spilled_records), 0, "Spill", "records")    \
    X(SPILL_BYTES, "spilled_bytes", SHEAF__RES(spilled_bytes), 0, "Spill", "bytes")            \
    X(SPILL_RUNS, "spill_runs", SHEAF__RES(spill_runs), 0, "Spill", "runs")                    \
    X(MERGE_PASSES, "merge_passes", SHEAF__RES(merge_passes), 0, "Spill", "merge passes")      \
    X(SPLITS, "splits_mapped", SHEAF__NORES, 0, NULL, NULL)                                     \
    X(SHUFFLE_RECV_BYTES, "shuffle_bytes_received", SHEAF__NORES, 0, NULL, NULL)                \
    X(BAD_RECORDS, "bad_records", SHEAF__NORES, 0, NULL, NULL)                                  \
    X(COMPRESSED_READ, "compressed_bytes_read", SHEAF__NORES, 0, NULL, NULL)                    \
    X(DECOMPRESSED, "decompressed_bytes", SHEAF__NORES, 0, NULL, NULL)                          \
    X(FILES_PRUNED, "input_files_pruned", SHEAF__NORES, 0, NULL, NULL)

enum {
#define SHEAF__C_ENUM(id, name, res, per_rank, group, label) SHEAF__C_##id,
    SHEAF__COUNTER_MAP(SHEAF__C_ENUM)
#undef SHEAF__C_ENUM
    SHEAF__C_COUNT
};
/* One row of SHEAF__COUNTER_MAP. */
typedef struct sheaf__counter_info {
    const char *name;
    size_t res_offset; /* of its uint64_t in sheaf_result, or SHEAF__NORES */
    bool per_rank;
    const char *group, *label;
} sheaf__counter_info;
extern const sheaf__counter_info sheaf__counters[SHEAF__C_COUNT];
/* The summary's groups, in the order it prints them. */
extern const char *const sheaf__counter_groups[];

typedef struct sheaf__counter {
    char *name;
    int64_t value;
} sheaf__counter;

enum { SHEAF__PH_SETUP, SHEAF__PH_MAP, SHEAF__PH_SHUFFLE, SHEAF__PH_SORT, SHEAF__PH_REDUCE,
       SHEAF__PH_COMMIT, SHEAF__PH_COUNT };
extern const char *const sheaf__phase_names[SHEAF__PH_COUNT];

/* ---- sinks: where an emit goes ------------------------------------------------------- */

/* A sink takes what sheaf_emit is given, in whichever phase it is called: the map side's
 * combine table (emit.c's inline path) or shuffle buffers (shuffle.c), a combiner's output
 * (shuffle.c), setup's emits held for the sampler and the sampler's own (sample.c), and a
 * reducer's output writers (writer.c). The context's sink is set by the phase that owns it and
 * put back when the phase ends; sheaf_emit only calls it. */
typedef struct sheaf__sink sheaf__sink;
typedef struct sheaf__sink_ops {
    /* Takes one record (copies it). Returns 0 or a negative code, the error recorded. */
    int (*emit)(sheaf__sink *s, sheaf_ctx *ctx, const void *key, size_t klen, const void *val,
                size_t vlen);
    /* A record for the named output name (a checked name); NULL: none here. */
    int (*emit_named)(sheaf__sink *s, sheaf_ctx *ctx, const char *name, const void *key,
                      size_t klen, const void *val, size_t vlen);
    /* Pushes what is buffered on (a round, a file); NULL: nothing to do. */
    int (*flush)(sheaf__sink *s, sheaf_ctx *ctx);
    /* Ends the sink's use: flushes and releases what it holds; NULL: nothing to do. */
    int (*close)(sheaf__sink *s, sheaf_ctx *ctx);
} sheaf__sink_ops;

enum {
    SHEAF__SINK_MAP = 1,        /* map (and setup) output: counted as such; padded buffers */
    SHEAF__SINK_TEXT = 2,       /* typed values (sheaf_emit_u64, ...) are written as text */
    SHEAF__SINK_UNCOUNTED = 4,  /* sheaf_counter_add does nothing (the sampler's reread) */
};

struct sheaf__sink {
    const sheaf__sink_ops *ops;
    /* The combine table of a map sink that has one: emit.c adds to it inline, without a call
     * through ops (ops->emit does the same, out of line). NULL for every other sink. */
    struct sheaf__ctab *ctab;
    unsigned flags; /* SHEAF__SINK_* */
};

/* The sink of no phase: an emit there is an error (emit.c). */
extern sheaf__sink sheaf__sink_none;
/* The emit of a sink with a combine table (s->ctab), out of line (emit.c). */
int sheaf__emit_table(sheaf__sink *s, sheaf_ctx *ctx, const void *key, size_t klen,
                      const void *val, size_t vlen);

/* ---- writer.c and out_*.c: output formats and writers ----------------------------------- */

/* A byte stage under a writer: a plain file, or (one day) a compressor over another stage. */
typedef struct sheaf__ostream sheaf__ostream;
struct sheaf__ostream {
    /* Writes all of buf. Returns 0 or a negated errno. */
    int (*write)(sheaf__ostream *s, const void *buf, size_t len);
    /* Closes the stage (and what it sits on) and frees it. Returns 0 or a negated errno. */
    int (*close)(sheaf__ostream *s);
};
/* A new file at path (created or truncated, mode 0644). NULL with *err a negated errno. */
sheaf__ostream *sheaf__ostream_file(const char *path, int *err);

/* One output file: a format writing through a buffer into a byte stage. */
typedef struct sheaf__writer {
    const struct sheaf__outfmt *fmt;
    sheaf__ostream *out; /* NULL when closed */
    char *path;
    char name[64]; /* "part", or a named output */
    sheaf__buf buf;
    uint64_t written; /* bytes handed to out */
    void *state;      /* the format's own, if it keeps any */
} sheaf__writer;

/* An output format: one out_NAME.c file defines one, and one line of writer.c's table
 * registers it. Each function returns 0 or a negative code with the error recorded in ctx. */
typedef struct sheaf__outfmt {
    const char *name;
    const char *ext;  /* the files' name suffix (".parquet"), or NULL */
    bool text_values; /* typed values are written as decimal text */
    /* The file was opened: write a header, set up state (NULL: nothing). */
    int (*open)(sheaf_ctx *ctx, sheaf__writer *w);
    /* Writes one record into w (sheaf__writer_room gives the space). */
    int (*put)(sheaf_ctx *ctx, sheaf__writer *w, const void *key, size_t klen, const void *val,
               size_t vlen);
    /* The file is about to close: a footer, free state (NULL: nothing). */
    int (*finish)(sheaf_ctx *ctx, sheaf__writer *w);
} sheaf__outfmt;

extern const sheaf__outfmt sheaf__out_text, sheaf__out_csv, sheaf__out_raw;
extern const sheaf__outfmt sheaf__out_parquet; /* pq_job.c */
/* The registered format of that name, or NULL. */
const sheaf__outfmt *sheaf__outfmt_find(const char *name);
/* The registered names as "a, b or c" into out. */
void sheaf__outfmt_names(char *out, size_t outlen);
/* A writer's buffer goes out when it would grow past this. */
#define SHEAF__WRITER_BUF ((size_t)1 << 20)
uint8_t *sheaf__writer_room_slow(sheaf_ctx *ctx, sheaf__writer *w, size_t n);
/* Room for n more bytes at the end of w->buf, the buffer written out first when it would
 * grow past its size. NULL when that failed (the error recorded). Inline: it is called for
 * every output record. */
static inline uint8_t *sheaf__writer_room(sheaf_ctx *ctx, sheaf__writer *w, size_t n) {
    if (SHEAF__LIKELY(w->buf.len + n <= SHEAF__WRITER_BUF && w->buf.len + n <= w->buf.cap))
        return w->buf.data + w->buf.len;
    return sheaf__writer_room_slow(ctx, w, n);
}

/* The writers of the partition being reduced, and the reduce side's sink: [0] is
 * part-r-NNNNN, the rest named outputs (NAME-r-NNNNN, like Hadoop's MultipleOutputs), opened on
 * their first record. */
typedef struct sheaf__outset sheaf__outset;
sheaf__outset *sheaf__outset_new(const sheaf__outfmt *fmt, const char *dir);
/* The sink that writes to the current partition's files. */
sheaf__sink *sheaf__outset_sink(sheaf__outset *o);
int sheaf__outset_open(sheaf_ctx *ctx, sheaf__outset *o, uint32_t part);
/* Writes one record to part-r-NNNNN. */
int sheaf__outset_write(sheaf_ctx *ctx, sheaf__outset *o, const void *key, size_t klen,
                        const void *val, size_t vlen);
int sheaf__outset_close(sheaf_ctx *ctx, sheaf__outset *o);
void sheaf__outset_free(sheaf_ctx *ctx, sheaf__outset *o);

/* ---- progress.c -------------------------------------------------------------------------- */

/* The progress display (progress.c): rank 0 draws; every rank adds its figures to the
 * slots of a window on rank 0. */
enum { SHEAF__PROG_SHUFFLE_BYTES, SHEAF__PROG_SORTED, SHEAF__PROG_RUNS, SHEAF__PROG_MERGES,
       SHEAF__PROG_GROUPS, SHEAF__PROG_RECS_IN, SHEAF__PROG_RECS_OUT, SHEAF__PROG_REDUCED,
       SHEAF__PROG_COUNT };
typedef struct sheaf__progress {
    bool on;     /* rank 0 draws */
    bool shared; /* every rank adds to shared_win */
    MPI_Win shared_win;
    double t0, last, last_add;
    unsigned frames;
    const struct sheaf__plan *plan;
    MPI_Win win;      /* the task counter, or MPI_WIN_NULL */
    uint64_t *prefix; /* bytes of tasks [0, i) */
    uint64_t adds[SHEAF__PROG_COUNT]; /* the values being added */
    uint64_t sent[3]; /* reduce figures added so far: groups, records in, records out */
} sheaf__progress;

/* Collective: rank 0 decides whether to draw (progress.c says how) and tells every rank;
 * when it draws, every rank joins the shared window. win is the task counter (or
 * MPI_WIN_NULL). */
void sheaf__progress_start(sheaf__progress *p, const sheaf_ctx *ctx,
                           const struct sheaf__plan *plan, MPI_Win win);
/* Any rank: adds n to a shared slot; complete: wait until it has reached rank 0. */
void sheaf__progress_add(sheaf__progress *p, int slot, uint64_t n, bool complete);
/* Rank 0: redraws the map bar (at most five times a second unless final). */
void sheaf__progress_map(sheaf__progress *p, const sheaf_ctx *ctx, bool final);
/* Rank 0: the shuffle's line, once every rank has mapped. */
void sheaf__progress_shuffle(sheaf__progress *p, const sheaf_ctx *ctx);
/* Rank 0: redraws the sort and reduce line. */
void sheaf__progress_reduce(sheaf__progress *p, const sheaf_ctx *ctx, bool final);
/* Any rank, its sort done: adds its spilled runs and merge passes. */
void sheaf__progress_sorted(sheaf__progress *p, sheaf_ctx *ctx);
/* Any rank, in its reduce (at most five times a second unless final): adds its groups and
 * records; final: and that it is done. */
void sheaf__progress_reduce_tick(sheaf__progress *p, sheaf_ctx *ctx, bool final);
/* Collective: waits for every rank to finish its reduce, rank 0 redrawing meanwhile. */
void sheaf__progress_wait(sheaf__progress *p, const sheaf_ctx *ctx);
/* Collective when the display was on: frees the window. */
void sheaf__progress_end(sheaf__progress *p);

/* ---- the job context ------------------------------------------------------------------- */

typedef struct sheaf__mapside sheaf__mapside;   /* shuffle.c */
typedef struct sheaf__sampler sheaf__sampler;   /* sample.c */

/* Where this rank runs (place.c), for the report. */
typedef struct sheaf__placement {
    char host[256];
    int local_rank, local_size;
    char cpuset[256];
    char binding[64];
} sheaf__placement;

/* The state every phase shares: who we are, the job, its failure and its figures. What belongs
 * to one phase is in that phase's struct (map side, store, sampler, progress, output set),
 * which its own file defines and owns. */
struct sheaf_ctx {
    MPI_Comm comm;
    int rank, nranks;
    const sheaf_job_def *job;
    sheaf_config cfg;
    sheaf__format fmt;   /* the job's input format */
    sheaf__format *fmts; /* one per input (-i), for jobs whose inputs differ */
    size_t nfmts;
    uint32_t nparts;
    uint64_t seed;
    const sheaf__outfmt *outfmt;
    sheaf__sink *sink; /* where sheaf_emit goes now (sheaf__sink_none between phases) */

    int err;
    bool agreed; /* every rank knows the job failed: no more collectives but the last */
    char errmsg[1024];
    /* This rank's own first failure (before agreement makes it everyone's): its code, the
     * phase it was in, when (sheaf__now), and its message, for the report. */
    int own_err, own_err_phase;
    double own_err_time;
    char own_errmsg[256];
    int cur_phase; /* the phase this rank is in (SHEAF__PH_*) */

    /* the phases' own state */
    sheaf__mapside *map;      /* shuffle.c: send buffers, rounds, combine table */
    struct sheaf__store *store;
    sheaf__sampler *sampler;  /* sample.c: total order only */
    const struct sheaf__ranges *ranges; /* a total order's key ranges, once sampled */
    sheaf__progress prog;
    uint32_t cur_part;        /* the partition being reduced */

    /* placement and report */
    sheaf__placement place;
    uint64_t budget;
    double phase_start[SHEAF__PH_COUNT], phase_end[SHEAF__PH_COUNT];
    uint64_t tasks_mapped;
    uint64_t c[SHEAF__C_COUNT]; /* counters, indexed by SHEAF__C_* */
    uint64_t *sent_to;          /* shuffle bytes this rank sent to each rank (the report) */
    sheaf__counter *user;
    size_t nuser, capuser;
    const char *cur_file;
    uint64_t cur_offset;
    /* While map runs on a record: the record's bytes and the padding after them, readable
     * (keys inside may be loaded 16 bytes at a time); both 0 outside a map call. */
    uintptr_t rec_lo, rec_hi;
    uint64_t fault_after; /* SHEAF_FAULT: records before failing, or UINT64_MAX */
    int fault_phase;
    char spill_dir[4096];
    struct sheaf__pqjob *pq; /* output schema, typed rows, input columns (pq_job.c) */
};


/* The format of a file of the plan: its input's. */
static inline const sheaf__format *sheaf__file_format(const sheaf_ctx *ctx,
                                                      const struct sheaf__plan *plan,
                                                      uint32_t file) {
    return &ctx->fmts[ctx->nfmts > 1 ? plan->origin[file] : 0];
}

/* ---- shuffle.c ------------------------------------------------------------------------- */

/* Sets up the map side (send buffers and, for a job with a combiner or an aggregation, the
 * combine table). Returns 0 or SHEAF_ENOMEM. */
int sheaf__shuffle_init(sheaf_ctx *ctx);
void sheaf__shuffle_free(sheaf_ctx *ctx);
/* The map side's sink: the combine table when the job has one, else the send buffers. */
sheaf__sink *sheaf__shuffle_sink(sheaf_ctx *ctx);
/* Collective round: every rank sends what it holds. Returns 0, or the agreed error. */
int sheaf__shuffle_round(sheaf_ctx *ctx);
/* Called when this rank has mapped its last split: serves rounds until every rank is done. */
int sheaf__shuffle_finish(sheaf_ctx *ctx);
/* Moves the combine table's contents into the send buffers. */
int sheaf__flush_ctab(sheaf_ctx *ctx);
/* The default partitioner: a hash in [0, 2^64) scaled to [0, nparts) by multiply-shift,
 * which keeps the high bits of the hash (XXH3's are as good as its low ones). */
static inline uint32_t sheaf__hash_partition(uint64_t hash, uint32_t nparts) {
    return (uint32_t)(((unsigned __int128)hash * nparts) >> 64);
}
static inline uint32_t sheaf__owner(const sheaf_ctx *ctx, uint32_t part) {
    return part % (uint32_t)ctx->nranks;
}

/* ---- store.c --------------------------------------------------------------------------- */

typedef struct sheaf__store {
    sheaf__buf data;
    size_t limit; /* bytes of data plus index before a spill */
    char *dir;    /* this rank's spill directory */
    char **runs;
    size_t nruns, capruns;
    uint64_t run_seq;
    sheaf__ent *ents;
    size_t nents;
} sheaf__store;

int sheaf__store_init(sheaf_ctx *ctx);
/* Makes room for incoming bytes, spilling a run first when the budget would be exceeded. */
int sheaf__store_reserve(sheaf_ctx *ctx, size_t incoming, size_t records);
/* Sorts what is in memory and returns a source over everything received (memory plus runs,
 * merged with a bounded fan-in). */
int sheaf__store_source(sheaf_ctx *ctx, sheaf__src **out);
void sheaf__store_free(sheaf_ctx *ctx);

/* ---- reduce.c -------------------------------------------------------------------------- */

/* Reduces every partition this rank owns into tmpdir (sets the phase's sink). */
int sheaf__reduce_all(sheaf_ctx *ctx, const char *tmpdir);
void sheaf__values_init_chain(sheaf_values *v);

/* ---- commit.c -------------------------------------------------------------------------- */

typedef struct sheaf__commit {
    char out[4096];     /* the final output directory */
    char stage[4096];   /* where the job's files go before commit */
    char tmp[4096];     /* stage/_temporary: the part files of all ranks */
    bool created_out;   /* we made out (it did not exist) */
    bool replace;       /* out existed: stage is a sibling swapped in at commit */
    int lockfd;         /* flock held on lockpath while the job runs */
    char lockpath[4200]; /* DIR/.NAME.sheaf-lock */
    char note[9000];    /* what the job should say it repaired (a restored old output), or "" */
    int slots[2];       /* cleanup.c entries of stage-or-out and the lock file */
} sheaf__commit;

/* Rank 0: checks the output path and creates the staging directories. */
int sheaf__commit_prepare(const sheaf_config *cfg, sheaf__commit *c, char *err, size_t errlen);
/* Rank 0 after every rank succeeded: moves parts into place, writes _SUCCESS. */
int sheaf__commit_finish(sheaf__commit *c, uint32_t nparts, const char *report_json,
                         const char *report_html, char *err, size_t errlen);
/* Rank 0 after a failure: removes what the job wrote; an earlier output stays as it was. */
void sheaf__commit_abort(sheaf__commit *c);
/* --report FILE: refused (SHEAF_EUSAGE, message in err) when it is an input or inside one,
 * inside the output, not a regular file, or exists without --overwrite. */
int sheaf__report_check(const sheaf_config *cfg, char *err, size_t errlen);
/* Writes text to path atomically: a fresh temporary beside it (O_EXCL), then a rename. */
int sheaf__report_write(const char *path, const char *text, char *err, size_t errlen);

/* ---- cleanup.c ------------------------------------------------------------------------ */

/* Installs the SIGINT/SIGTERM/SIGHUP handler that removes the registered paths, then dies of
 * the signal (sheaf_main). */
void sheaf__signals_install(void);
/* Starts the janitor process, which removes what is registered with janitor_too if this
 * process ends without dropping it (sheaf_main, before MPI starts). Its name (comm) is
 * sheaf-janitor; its command line is the job's. */
void sheaf__janitor_start(void);
/* Tells the janitor the job is over and nothing it was told of is to be removed (sheaf_main,
 * when nothing is registered any more). */
void sheaf__janitor_done(void);
/* Registers a path to remove on a signal and, unless janitor_kind is NONE, by the janitor when
 * the process dies: TREE removes it whole, LOCK removes a lock file only if it can lock it.
 * Returns its slot (0 when the table is full). */
enum { SHEAF__JANITOR_NONE, SHEAF__JANITOR_TREE, SHEAF__JANITOR_LOCK };
int sheaf__cleanup_add(const char *path, int janitor_kind);
void sheaf__cleanup_drop(int slot);
/* Registers what commit_prepare made (commit.c). */
void sheaf__cleanup_commit(sheaf__commit *c);
/* While on, a signal waits (the swap of outputs); turning it off delivers a waiting one. */
void sheaf__cleanup_hold(bool on);
/* Test hooks of SHEAF_FAULT: pause-WHERE:SECONDS sleeps at WHERE, kill-WHERE dies there. */
void sheaf__fault_pause(const char *where);
void sheaf__fault_kill(const char *where);

/* ---- sample.c ------------------------------------------------------------------------- */

/* The key ranges of a total order: a key goes to the partition of the first cut point greater
 * than it. Set by the sampler; read by the shuffle's partitioner. */
typedef struct sheaf__keyref {
    const uint8_t *p;
    size_t n;
} sheaf__keyref;
typedef struct sheaf__ranges {
    sheaf__keyref *cuts; /* sorted */
    size_t ncuts;
    uint8_t *data; /* the cut points' bytes */
} sheaf__ranges;

static inline uint32_t sheaf__range_partition(const sheaf__ranges *r, sheaf_compare_fn cmp,
                                              const void *key, size_t klen) {
    size_t lo = 0, hi = r->ncuts;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const sheaf__keyref *c = &r->cuts[mid];
        int x = cmp ? cmp(key, klen, c->p, c->n) : sheaf__bytes_compare(key, klen, c->p, c->n);
        if (x < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return (uint32_t)lo;
}

/* A total-order job's sampler: ctx->sampler, and the sink that holds setup's emits until the
 * ranges are known. Returns 0 or SHEAF_ENOMEM. */
int sheaf__sample_init(sheaf_ctx *ctx);
sheaf__sink *sheaf__sample_held_sink(sheaf_ctx *ctx);
/* Collective: samples map output keys and sets ctx->ranges. */
int sheaf__sample(sheaf_ctx *ctx, const sheaf__plan *plan);
/* Emits, into the current sink, what setup emitted while it was held, and frees it. */
int sheaf__sample_emit_held(sheaf_ctx *ctx);
void sheaf__sample_free(sheaf_ctx *ctx);

/* ---- place.c, report.c ----------------------------------------------------------------- */

int sheaf__place(sheaf_ctx *ctx);
/* The most ranks for which the report holds the rank-by-rank shuffle matrix. */
#define SHEAF__REPORT_MATRIX_MAX 256
/* Collective: gathers per-rank figures; rank 0 returns the JSON text (malloc'd), others NULL. */
char *sheaf__report(sheaf_ctx *ctx, const sheaf__plan *plan, sheaf_result *res, double t0,
                    double t1, char **html);
/* Turns a success report (*json, *html, both malloc'd) into a failure's: status FAILED, the
 * failing rank and phase taken from msg ("rank N: ..."), error msg. Leaves them on failure. */
void sheaf__report_failed(char **json, char **html, const char *msg);
/* The report object as a self-contained HTML page (html.c); malloc'd, or NULL. */
struct json_t;
char *sheaf__report_html(struct json_t *root);

/* ---- pq_job.c: Parquet input and output (the hooks of reader.c, input.c, writer.c) ---- */

struct sheaf__pqout;
/* "parquet[:CODEC[:ROWS]]": 0 when text is such a format, else SHEAF_EINVAL. */
int sheaf__pq_output_format_ok(const char *text);
/* Whether the job writes its rows to folders (sheaf_output_folders): no top-level part files. */
bool sheaf__pq_folders(const sheaf_ctx *ctx);
/* Hive-style partition folders: a folder NAME=VALUE on the way to a file gives its rows a
 * column NAME of VALUE (unescaped from %XX; SHEAF__HIVE_NULL is null). Lists a path's folders
 * as *n pairs (name, value or NULL) in *out, malloc'd, outermost first, a name repeated deeper
 * taking the inner value. 0 or SHEAF_ENOMEM. */
#define SHEAF__HIVE_NULL "__HIVE_DEFAULT_PARTITION__"
int sheaf__hive_folders(const char *path, char ***out, size_t *n);
void sheaf__pqjob_free(sheaf_ctx *ctx);
/* When the job declared an output schema (its records are typed rows, each a csv line): 1
 * with the columns' names as a csv header line (with its LF) appended to out (unless out is
 * NULL); 0 when it did not; SHEAF_ENOMEM. */
int sheaf__pqjob_csv_header(sheaf_ctx *ctx, sheaf__buf *out);
/* The reader of a parquet split (a row group), and its records. */
int sheaf__pqsrc_open(sheaf__reader *r, const char *path, uint64_t start, uint64_t len,
                      const sheaf__format *fmt, char *err, size_t errlen);
int sheaf__pqsrc_next(sheaf__reader *r, sheaf_record *rec, char *err, size_t errlen);
void sheaf__pqsrc_free(struct sheaf__pqsrc *s);
int sheaf__pqsrc_fd(const sheaf__reader *r); /* the open file's descriptor, or -1 */
/* Rank 0: a split per row group of a Parquet file (growing splits and tasks to *cap). */
int sheaf__pq_plan_file(const char *path, uint32_t file, sheaf__split **splits, size_t *n,
                        size_t *cap, sheaf__task **tasks, char *err, size_t errlen);

#endif /* SHEAF_INTERNAL_H */
