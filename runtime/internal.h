/*
 * internal.h: what the runtime's modules share. Never installed.
 *
 * The data path of one rank, and the module that owns each step:
 *
 *   input.c   rank 0 lists the inputs and cuts them into splits; the plan is broadcast
 *   job.c     ranks claim splits (RMA counter or round robin) and call map() per record
 *   reader.c  turns a split into records (lines, fixed-length), aligned to record boundaries
 *   ctab.c    the map-side combine table (built-in aggregations and user combiners); its
 *             inline emit path is in ctab.h
 *   shuffle.c per-rank send buffers and the bounded all-to-all exchange rounds
 *   store.c   received records; sorted and spilled as runs when over budget
 *   sort.c    the in-memory record sort
 *   merge.c   run files and the k-way merge, as record sources
 *   reduce.c  grouping, the value iterator, the output writers
 *   commit.c  the output directory protocol (_temporary, _SUCCESS, overwrite)
 *   place.c   hwloc placement; report.c the JSON report; main.c sheaf_main's command line
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

#include "sheaf.h"

#define SHEAF__MIN(a, b) ((a) < (b) ? (a) : (b))
#define SHEAF__MAX(a, b) ((a) > (b) ? (a) : (b))

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
/* Removes a directory tree (rm -rf). Returns 0 or a negative code. */
int sheaf__rmtree(const char *path);
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
} sheaf__plan;

/* Input formats. */
typedef enum { SHEAF__FMT_LINES = 0, SHEAF__FMT_FIXED, SHEAF__FMT_CSV, SHEAF__FMT_TSV } sheaf__fmt_kind;
typedef struct sheaf__format {
    sheaf__fmt_kind kind;
    uint64_t reclen; /* fixed */
    uint8_t delim;   /* record delimiter of lines, tsv and csv (default LF) */
    uint8_t sep;     /* csv field separator (default ',') */
    bool header;     /* csv: the first record of each file names the columns */
    bool multiline;  /* csv: quoted fields may hold newlines, so files are not split */
} sheaf__format;

/* Parses the kind ("lines", "csv", "tsv", "fixed:N"); other fields get their defaults. */
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
/* Collective: sends the plan of root (its return code too) to every rank. */
int sheaf__plan_bcast(MPI_Comm comm, int root, int code, sheaf__plan *plan);
void sheaf__plan_free(sheaf__plan *plan);

/* ---- reader.c -------------------------------------------------------------------------- */

typedef struct sheaf__reader {
    int fd;
    const char *path;
    sheaf__format fmt;
    uint64_t start, end; /* the split */
    uint64_t base;       /* file offset of buf[0] */
    uint8_t *buf;
    size_t cap, len, off; /* off: next unread byte in buf */
    bool eof;
    bool done;
    bool skip;        /* the split starts inside a record: skip to the next one */
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

typedef struct sheaf__counter {
    char *name;
    int64_t value;
} sheaf__counter;

enum { SHEAF__PH_SETUP, SHEAF__PH_MAP, SHEAF__PH_SHUFFLE, SHEAF__PH_SORT, SHEAF__PH_REDUCE,
       SHEAF__PH_COMMIT, SHEAF__PH_COUNT };
extern const char *const sheaf__phase_names[SHEAF__PH_COUNT];

enum { SHEAF__IN_MAP = 1, SHEAF__IN_COMBINE, SHEAF__IN_REDUCE, SHEAF__IN_SAMPLE,
       SHEAF__IN_CAPTURE, /* an eager combine: emits of the same key are captured */
       SHEAF__IN_HELD /* setup before the sample of a total order: emits wait in ctx->held */ };

typedef struct sheaf__writer sheaf__writer;

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
    int where; /* SHEAF__IN_* */

    int err;
    bool agreed; /* every rank knows the job failed: no more collectives but the last */
    char errmsg[1024];
    bool text_output; /* typed values are written as decimal text (text and csv output) */
    int output_format; /* 0 text, 1 raw, 2 csv (reduce.c) */

    /* map side */
    sheaf__ctab *ctab;
    sheaf__buf *send; /* one per destination rank */
    sheaf__buf *flying;   /* the other set: buffers of the round in flight */
    uint64_t *send_recs; /* records in each send buffer */
    MPI_Request *pending; /* the round in flight */
    size_t npending, cappending;
    bool inflight;
    uint64_t pending_bytes; /* bytes the store gains when it completes */
    unsigned puts_since_test;
    size_t send_limit; /* per destination: a round must start before a buffer passes it */
    size_t round_bytes; /* from this many bytes in the filling set, ready for a round */
    MPI_Request ready;  /* the Ibarrier of that readiness, when ready_posted */
    bool ready_posted;
    bool map_done;
    bool all_done;

    /* reduce side */
    struct sheaf__store *store;
    sheaf__writer *out;
    uint32_t cur_part;

    /* placement and report */
    char host[256];
    int local_rank, local_size;
    char cpuset[256];
    char binding[64];
    uint64_t budget;
    double phase_start[SHEAF__PH_COUNT], phase_end[SHEAF__PH_COUNT];
    uint64_t tasks_mapped;
    uint64_t c[24]; /* counters, indexed by SHEAF__C_* */
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

    /* eager combine (shuffle.c) */
    const uint8_t *cap_key;
    size_t cap_klen;
    sheaf__buf *cap_out;

    /* total order (sample.c) */
    sheaf__buf held; /* setup's emits, as records, until the sample has set the ranges */
    sheaf__buf sample_buf;
    uint64_t sample_count;
    void *cuts; /* sorted cut points */
    uint8_t *cut_data;
    size_t ncuts;
};

enum {
    SHEAF__C_INPUT_RECORDS, SHEAF__C_INPUT_BYTES, SHEAF__C_MAP_OUT_RECORDS,
    SHEAF__C_MAP_OUT_BYTES, SHEAF__C_COMBINE_IN, SHEAF__C_COMBINE_OUT, SHEAF__C_SHUFFLE_BYTES,
    SHEAF__C_SHUFFLE_ROUNDS, SHEAF__C_REDUCE_GROUPS, SHEAF__C_REDUCE_RECORDS,
    SHEAF__C_OUTPUT_RECORDS, SHEAF__C_OUTPUT_BYTES, SHEAF__C_SPILL_RECORDS,
    SHEAF__C_SPILL_BYTES, SHEAF__C_SPILL_RUNS, SHEAF__C_MERGE_PASSES, SHEAF__C_SPLITS,
    SHEAF__C_SHUFFLE_RECV_BYTES, SHEAF__C_BAD_RECORDS, SHEAF__C_COUNT
};
extern const char *const sheaf__counter_names[SHEAF__C_COUNT];

/* The format of a file of the plan: its input's. */
static inline const sheaf__format *sheaf__file_format(const sheaf_ctx *ctx,
                                                      const struct sheaf__plan *plan,
                                                      uint32_t file) {
    return &ctx->fmts[ctx->nfmts > 1 ? plan->origin[file] : 0];
}

/* ---- shuffle.c ------------------------------------------------------------------------- */

int sheaf__shuffle_init(sheaf_ctx *ctx);
void sheaf__shuffle_free(sheaf_ctx *ctx);
/* Appends a record to the buffer of the partition's owner; runs a round when full. */
int sheaf__shuffle_put(sheaf_ctx *ctx, uint32_t part, const void *key, size_t klen,
                       const void *val, size_t vlen);
/* Collective round: every rank sends what it holds. Returns 0, or the agreed error. */
int sheaf__shuffle_round(sheaf_ctx *ctx);
/* Completes the round in flight: wait, or only test whether it is done. */
int sheaf__shuffle_test(sheaf_ctx *ctx, bool wait);
/* Called when this rank has mapped its last split: serves rounds until every rank is done. */
int sheaf__shuffle_finish(sheaf_ctx *ctx);
/* Moves the combine table's contents into the send buffers. */
int sheaf__flush_ctab(sheaf_ctx *ctx);
/* Emits, as from map, what setup emitted while it was held (SHEAF__IN_HELD), and frees it. */
int sheaf__emit_held(sheaf_ctx *ctx);
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
    char dir[4096];
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

int sheaf__reduce_all(sheaf_ctx *ctx, const char *tmpdir);
/* Writes one output record (reduce-side emit). */
int sheaf__output(sheaf_ctx *ctx, const void *key, size_t klen, const void *val, size_t vlen);
void sheaf__values_init_chain(sheaf_values *v);

/* ---- commit.c -------------------------------------------------------------------------- */

typedef struct sheaf__commit {
    char out[4096];     /* the final output directory */
    char stage[4096];   /* where the job's files go before commit */
    char tmp[4096];     /* stage/_temporary: the part files of all ranks */
    bool created_out;   /* we made out (it did not exist) */
    bool replace;       /* out existed: stage is a sibling swapped in at commit */
    int lockfd;         /* flock held on out while the job runs */
} sheaf__commit;

/* Rank 0: checks the output path and creates the staging directories. */
int sheaf__commit_prepare(const sheaf_config *cfg, sheaf__commit *c, char *err, size_t errlen);
/* Rank 0 after every rank succeeded: moves parts into place, writes _SUCCESS. */
int sheaf__commit_finish(sheaf__commit *c, uint32_t nparts, const char *report_json,
                         const char *report_html, char *err, size_t errlen);
/* Rank 0 after a failure: removes what the job wrote; an earlier output stays as it was. */
void sheaf__commit_abort(sheaf__commit *c);

/* Redraws rank 0's reduce progress line when it is shown (job.c). */
void sheaf__progress_reduce(sheaf_ctx *ctx, bool final);

/* ---- sample.c ------------------------------------------------------------------------- */

/* Collective: samples map output keys and sets the range partition's cut points. */
int sheaf__sample(sheaf_ctx *ctx, const sheaf__plan *plan);
int sheaf__sample_key(sheaf_ctx *ctx, const void *key, size_t klen);
uint32_t sheaf__range_partition(const sheaf_ctx *ctx, const void *key, size_t klen);
void sheaf__sample_free(sheaf_ctx *ctx);

/* ---- place.c, report.c ----------------------------------------------------------------- */

int sheaf__place(sheaf_ctx *ctx);
/* Collective: gathers per-rank figures; rank 0 returns the JSON text (malloc'd), others NULL. */
char *sheaf__report(sheaf_ctx *ctx, const sheaf__plan *plan, sheaf_result *res, double t0,
                    double t1, char **html);
/* The report object as a self-contained HTML page (html.c); malloc'd, or NULL. */
struct json_t;
char *sheaf__report_html(struct json_t *root);

#endif /* SHEAF_INTERNAL_H */
