/*
 * sheaf.h: the public interface of Sheaf, a MapReduce runtime for MPI clusters.
 *
 * A job is a map function and a reduce function (plus optional combine, partition and
 * comparison callbacks) described by a sheaf_job_def; sheaf_run() runs one job on a
 * communicator without touching argv, so a program can chain jobs. A command (sheaf_command)
 * is how a program presents a job on the command line: its name, summary and own options, and
 * a run function that may call sheaf_run several times. sheaf_command_main() parses the common
 * options and the command's own and runs it; sheaf_main() does so for a job alone.
 *
 * Ownership, in one sentence: every pointer Sheaf hands to a callback (records, keys, values)
 * is valid only until that callback returns, and every buffer a callback hands to Sheaf
 * (sheaf_emit and friends) is copied before the call returns.
 *
 * Errors: functions that can fail return 0 on success or a negative SHEAF_E* code; the text
 * of a code is sheaf_strerror(code). Collective functions say so and return the same code on
 * every rank. Callbacks return 0 to go on or a negative code (SHEAF_EUSER is the usual one) to
 * fail the job; the job then stops on every rank at the next phase boundary.
 *
 * Byte order: keys and values are opaque bytes and travel as MPI_BYTE. The typed helpers
 * (sheaf_emit_u64, sheaf_key_u64, ...) use a fixed encoding, so they are portable, but the
 * built-in aggregations keep their accumulators in the host's byte order: a job's ranks must
 * share one byte order (every current HPC cluster does).
 */
#ifndef SHEAF_H
#define SHEAF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mpi.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SHEAF_BUILDING) && defined(__GNUC__)
#define SHEAF_EXTERN __attribute__((visibility("default"))) extern
#else
#define SHEAF_EXTERN extern
#endif

#define SHEAF_VERSION_MAJOR 0
#define SHEAF_VERSION_MINOR 2
#define SHEAF_VERSION_PATCH 0
#define SHEAF_VERSION_STRING "0.2.0"

/* Error codes: one table, negative values. */
#define SHEAF_ERRNO_MAP(XX)                                                 \
    XX(EINVAL, -1, "invalid argument")                                      \
    XX(ENOMEM, -2, "out of memory")                                         \
    XX(EIO, -3, "input/output error")                                       \
    XX(ENOENT, -4, "no such file or directory")                             \
    XX(EEXIST, -5, "output already exists")                                 \
    XX(EUSAGE, -6, "bad usage")                                             \
    XX(EFORMAT, -7, "malformed input record")                               \
    XX(EUSER, -8, "a job callback reported an error")                       \
    XX(EMPI, -9, "MPI error")                                               \
    XX(ENOSPC, -10, "no space left on device")                              \
    XX(EPEER, -11, "another rank failed")                                   \
    XX(EFAULT, -12, "injected fault")                                       \
    XX(ECHILD, -13, "an external command failed")

typedef enum {
#define SHEAF_ERR_ENUM(name, value, text) SHEAF_##name = (value),
    SHEAF_ERRNO_MAP(SHEAF_ERR_ENUM)
#undef SHEAF_ERR_ENUM
} sheaf_errno;

/* Returns a static description of a SHEAF_E* code ("unknown error" for others). */
SHEAF_EXTERN const char *sheaf_strerror(int code);
/* Returns the name of a SHEAF_E* code, such as "SHEAF_EIO". */
SHEAF_EXTERN const char *sheaf_err_name(int code);

/* Opaque handles. */
typedef struct sheaf_ctx sheaf_ctx;       /* one rank's view of a running job */
typedef struct sheaf_values sheaf_values; /* the values of one key group, an iterator */

/* A column's type: of a table a job writes (sheaf_output_schema) and of a value a job reads
 * (sheaf_input_types). */
typedef enum {
    SHEAF_COL_INT64 = 1,
    SHEAF_COL_INT32,
    SHEAF_COL_DOUBLE,
    SHEAF_COL_BOOL,
    SHEAF_COL_STRING,   /* UTF-8 text */
    SHEAF_COL_DATE,     /* days since 1970-01-01 */
    SHEAF_COL_TIMESTAMP /* microseconds since 1970-01-01 00:00:00 UTC */
} sheaf_col_type;

/* A field's value in the type its map asked for (sheaf_input_types): type is SHEAF_COL_INT64
 * (in i), SHEAF_COL_DOUBLE (d), SHEAF_COL_BOOL (i: 0 or 1), SHEAF_COL_DATE (i: days since
 * 1970-01-01) or SHEAF_COL_TIMESTAMP (i: microseconds since 1970-01-01 00:00:00 UTC); 0 when
 * the field came as text (or is null). */
typedef struct sheaf_value {
    int type; /* a sheaf_col_type, or 0 */
    int64_t i;
    double d;
} sheaf_value;

/* One input record, handed to map(). For line input, data is the line without its end
 * (LF or CRLF). For csv input, fields/field_lens hold the parsed fields (data is the raw
 * record). For tsv input, the key is the text before the first tab.
 *
 * At least SHEAF_RECORD_PADDING bytes after data + len are readable (their content is
 * unspecified: the next records, or zeros), so a map function may scan a record in whole
 * 16-, 32- or 64-byte vector loads without a scalar tail, as the built-in word count does. */
#define SHEAF_RECORD_PADDING 64
typedef struct sheaf_record {
    const char *data; /* the record's bytes, not NUL-terminated */
    size_t len;
    const char *file;  /* the file it came from (NUL-terminated) */
    uint32_t input;    /* which of the job's inputs (-i) the file came from, from 0 */
    uint64_t offset;   /* byte offset of the record in that file */
    size_t nfields;    /* csv/tsv: number of fields, else 0 */
    const char *const *fields;
    const size_t *field_lens;
    size_t nheader;    /* csv with a header: the file's column names */
    const char *const *header;
    const size_t *header_lens;
    const unsigned char *nulls; /* parquet: nulls[i] is 1 when field i is null, else NULL */
    /* parquet, when the job called sheaf_input_types: field i's value is values[i] when
     * values[i].type is not 0 (its text is then empty), else NULL */
    const sheaf_value *values;
} sheaf_record;

/* The field of a csv record under a column name of its file's header (or a 0-based column
 * number written in decimal when there is no header). Returns the field and sets *len, or
 * returns NULL when there is no such column. */
SHEAF_EXTERN const char *sheaf_record_field(const sheaf_record *rec, const char *column,
                                            size_t *len);

/* Built-in aggregations: the runtime combines values itself (no combine callback needed) and,
 * when the job has no reduce callback, writes the aggregate as the value. Values must be
 * emitted with the matching typed helper (sheaf_emit_u64 for *_U64 and COUNT, and so on). */
typedef enum {
    SHEAF_AGG_NONE = 0,
    SHEAF_AGG_COUNT, /* number of values; emit any value, it is ignored */
    SHEAF_AGG_SUM_U64,
    SHEAF_AGG_SUM_I64,
    SHEAF_AGG_SUM_DOUBLE,
    SHEAF_AGG_MIN_U64,
    SHEAF_AGG_MIN_I64,
    SHEAF_AGG_MIN_DOUBLE,
    SHEAF_AGG_MAX_U64,
    SHEAF_AGG_MAX_I64,
    SHEAF_AGG_MAX_DOUBLE
} sheaf_agg;

typedef int (*sheaf_map_fn)(sheaf_ctx *ctx, const sheaf_record *rec, void *udata);
/* reduce and combine: one call per distinct key, values through the iterator. */
typedef int (*sheaf_reduce_fn)(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                               void *udata);
/* Returns the partition of a key, in [0, npartitions). */
typedef uint32_t (*sheaf_partition_fn)(const void *key, size_t klen, uint32_t npartitions,
                                       void *udata);
/* Key order: negative, zero or positive like memcmp. */
typedef int (*sheaf_compare_fn)(const void *a, size_t alen, const void *b, size_t blen);
typedef int (*sheaf_hook_fn)(sheaf_ctx *ctx, void *udata);

struct sheaf_config;
struct sheaf_result;

/* What a MapReduce job is: its callbacks, its aggregation and its key orders. sheaf_run runs
 * one; how a program presents it on the command line is a sheaf_command's business. */
typedef struct sheaf_job_def {
    const char *name;    /* shown in messages and the report */
    sheaf_map_fn map;
    sheaf_reduce_fn combine; /* optional map-side combiner */
    sheaf_reduce_fn reduce;  /* optional when agg is set: the aggregate is written */
    sheaf_agg agg;
    sheaf_partition_fn partition; /* default: XXH3 of the key, modulo the partitions */
    sheaf_compare_fn compare;     /* default: bytewise, shorter first on a tie */
    sheaf_compare_fn group;       /* default: compare; a coarser order groups keys together */
    /* Total order: the runtime samples the map output keys (sheaf_config.sample records) and
     * cuts the key range into balanced partitions, so the concatenation of part-r-* in order
     * is sorted under compare. Ignored when partition is set. */
    int total_order;
    /* Map only (Hadoop's zero reducers): what map (and map_cleanup) emits or writes as rows is
     * the job's output, written as it comes, with no shuffle, sort or reduce. Rank r writes
     * part-r-<r>, so there is one part per rank (sheaf_config.reducers does not apply), each
     * holding its tasks' output in the order they ran; an idle rank's part is empty (a Parquet
     * part still has the schema). combine, reduce, agg, partition, compare, group and
     * total_order are not used, setup may not emit, and rows may not go to folders
     * (sheaf_output_folders). */
    int map_only;
    /* Lines input with the default LF delimiter: map may receive many whole lines in one call
     * (rec->data holds them with their LF and any CR bytes; rec->offset is the first line's),
     * as MR-MPI's map_file_char hands out chunks of a file cut at a separator. For jobs to
     * which a line end is just one more separator, such as word count: the reader then skips
     * the per-line search and call. The input_records counter still counts lines. Other
     * formats and delimiters, and the last line of a file without a newline, come one record
     * per call. */
    int map_blocks;
    sheaf_hook_fn setup;          /* per rank, before the first map */
    sheaf_hook_fn cleanup;        /* per rank, after the last reduce */
    sheaf_hook_fn map_cleanup;    /* per rank, after its last map call; may still emit */
    sheaf_hook_fn partition_end;  /* after the last group of each partition a rank writes;
                                     may still emit into that partition */
    void *udata;                  /* handed to every callback */
} sheaf_job_def;

/* A command's own command line option, shown by --help and handed to parse_option. */
typedef struct sheaf_option {
    const char *name;    /* long name without the dashes; NULL ends the array */
    const char *argname; /* NULL for a flag, else the name of its argument in --help */
    const char *help;
} sheaf_option;

typedef struct sheaf_command sheaf_command;
/* A command's run function: collective over comm; runs the command's job with sheaf_run once
 * or several times (rounds of an iterative algorithm, a first round that finds parameters of
 * the next), or writes files of its own through sheaf_output_begin. Returns 0 or the failing
 * round's code, with res describing the last round (or the failure: its message is printed).
 * cfg is the parsed command line, after configure. */
typedef int (*sheaf_command_run_fn)(MPI_Comm comm, const sheaf_command *cmd,
                                    const struct sheaf_config *cfg, struct sheaf_result *res);

/* How a program presents a job and runs it: the name and texts --help shows, the command's
 * own options, and what runs once they are parsed. sheaf_command_main takes one. */
struct sheaf_command {
    const char *name;    /* --help's "Options of NAME" */
    const char *summary; /* one line for a list of commands and --help */
    const char *usage;   /* extra --help text (positional arguments), may be NULL */
    const sheaf_option *options; /* the command's own options, or NULL */
    /* Called for each of the command's options (value NULL for a flag) and for each
     * positional argument (name NULL). Returns 0, or a negative code for a usage error. */
    int (*parse_option)(void *udata, const char *name, const char *value);
    /* Called once options are parsed, to check them and fill the config. Returns 0, or a
     * negative code for a usage error (after printing why). */
    int (*configure)(void *udata, struct sheaf_config *cfg);
    void *udata;                /* handed to parse_option and configure */
    const sheaf_job_def *job;   /* the job; run may use it or others */
    sheaf_command_run_fn run;   /* NULL: one sheaf_run of job */
};

typedef enum { SHEAF_SCHEDULE_DYNAMIC = 0, SHEAF_SCHEDULE_STATIC } sheaf_schedule;
typedef enum { SHEAF_BIND_AUTO = 0, SHEAF_BIND_CORE, SHEAF_BIND_NUMA, SHEAF_BIND_NONE } sheaf_bind;
typedef enum { SHEAF_LOG_ERROR = 0, SHEAF_LOG_WARN, SHEAF_LOG_INFO, SHEAF_LOG_DEBUG } sheaf_log_level;

/* A job's configuration. Fill it with sheaf_config_init(), then set what you need. */
/* The most output partitions (reducers, part files) a job may have; sheaf_run refuses more
 * with SHEAF_EUSAGE. */
#define SHEAF_MAX_REDUCERS 65536u

typedef struct sheaf_config {
    const char *const *inputs; /* files, directories (recursive) or globs */
    size_t ninputs;
    const char *output;         /* the output directory */
    uint32_t reducers;          /* 0: one per rank; at most SHEAF_MAX_REDUCERS */
    uint64_t split_size;        /* bytes; 0 (default): 64 MiB, or less so that every rank gets
                                   eight splits or more, but not below 1 MiB */
    uint64_t memory;            /* per-rank budget in bytes; 0: a fair share of the node */
    const char *spill_dir;      /* NULL: $TMPDIR, else /tmp */
    const char *input_format;   /* "lines" (default), "csv", "tsv", "fixed:N" */
    const char *const *input_formats; /* NULL, or one per input (NULL entries: input_format),
                                         for jobs whose inputs are in different formats */
    char csv_delimiter;         /* csv field separator; default ',' */
    int csv_header;             /* csv, tsv: the first line of each file names the columns */
    int csv_no_newlines;        /* csv: no quoted newlines (csv files split either way; this
                                   skips the quote count that finds where quotes open) */
    const char *record_delimiter; /* one byte or escape (\n \t \0 \xHH); default LF */
    uint64_t max_bad_records;   /* malformed records skipped before the job fails */
    const char *output_format;  /* "text" (default: key TAB value LF), "csv" (key,value lines
                                   under a header) or "raw" (key and value bytes only) */
    sheaf_schedule schedule;
    sheaf_bind bind;
    int overwrite;              /* replace an existing output directory */
    const char *report;         /* extra copy of the JSON report, or NULL */
    int progress;               /* -1 auto (a terminal), 0 off, 1 on */
    sheaf_log_level log_level;
    int quiet;                  /* print only errors */
    uint64_t seed;              /* seed of the key hash */
    uint64_t sample;            /* total order: input records sampled (default 10000) */
    const char *output_compression; /* NULL or "none", "gzip", "zstd", with ":LEVEL" (gzip
                                       1-9, zstd 1-19): part-r-NNNNN.gz or .zst */
    /* NULL, or called at planning (rank 0) for each Parquet input file under partition
     * folders NAME=VALUE: kv holds nkv pairs (kv[2k] the name, kv[2k+1] the value, NULL for
     * __HIVE_DEFAULT_PARTITION__; unescaped, an inner folder's name winning). Returns 1 to skip
     * the file unread (counted as input_files_pruned), 0 to read it, or a negative SHEAF_E*
     * code that fails the job. */
    int (*prune)(void *arg, const char *path, const char *const *kv, size_t nkv);
    void *prune_arg;            /* prune's first argument */
    /* Files the job reads besides its inputs (a schema, a side table, a query, files handed
     * to its commands): never read as input, but guarded as inputs are. The output may not
     * be one or lie inside one, an --overwrite output may not hold one, and --report may not
     * be one. NULL and 0 by default. */
    const char *const *side_inputs;
    size_t nside_inputs;
} sheaf_config;

/* Fills cfg with the defaults. */
SHEAF_EXTERN void sheaf_config_init(sheaf_config *cfg);

/* Counters of a finished job, summed over ranks. */
typedef struct sheaf_result {
    int status;          /* 0 or the SHEAF_E* code every rank returned */
    int failed_rank;     /* the first rank that failed, or -1 */
    char message[1024];  /* what failed, naming rank, file and offset where known */
    uint64_t input_records, input_bytes;
    uint64_t map_output_records, map_output_bytes;
    uint64_t combine_input_records, combine_output_records;
    uint64_t shuffle_bytes, shuffle_rounds;
    uint64_t reduce_groups, reduce_input_records;
    uint64_t output_records, output_bytes;
    uint64_t spilled_records, spilled_bytes, spill_runs, merge_passes;
    double seconds;
    /* User counters summed over ranks (the first SHEAF_RESULT_COUNTERS names, in name
     * order; all of them are in the report). */
    size_t nuser_counters;
    struct {
        char name[64];
        int64_t value;
    } user_counters[32];
    uint64_t bad_records; /* malformed records skipped (--max-bad-records), summed over ranks */
    char warnings[1024];  /* what a person should know about the finished job, one per line */
} sheaf_result;
#define SHEAF_RESULT_COUNTERS 32

/* The total of a user counter in a finished job's result; 0 when it was never added to. */
SHEAF_EXTERN int64_t sheaf_result_counter(const sheaf_result *res, const char *name);

/* Runs one job. Collective over comm: every rank calls it with the same job and config and
 * every rank returns the same code (0 or a negative SHEAF_E*); result (may be NULL) is filled
 * on every rank. The output directory is committed only when every rank succeeded. */
SHEAF_EXTERN int sheaf_run(MPI_Comm comm, const sheaf_job_def *job, const sheaf_config *cfg,
                           sheaf_result *result);

/* Output and work directories for programs that write files outside sheaf_run (a driver of
 * several rounds, a generator such as `sheaf gensort`), with a job's guarantees. Not collective:
 * one process (usually rank 0) calls them and tells the others the paths.
 *
 * sheaf_output_begin checks and claims cfg->output as sheaf_run does (refused when it exists
 * without cfg->overwrite, when it is or holds an input, ...; locked against other jobs) and
 * returns a handle whose directory (sheaf_output_dir) receives the files; sheaf_output_commit
 * moves them into place, writes _SUCCESS and, under overwrite, swaps the old output for the new
 * one; sheaf_output_abort removes what was written and leaves an old output as it was. Both
 * free the handle. Return 0 or a negative code with a message in err. */
typedef struct sheaf_output sheaf_output;
/* Checks cfg's output (and --report) as sheaf_run does at its start, creating nothing: 0, or
 * SHEAF_EUSAGE / SHEAF_EEXIST with a message in err. A driver of several rounds calls it
 * before its first round. */
SHEAF_EXTERN int sheaf_output_check(const sheaf_config *cfg, char *err, size_t errlen);
SHEAF_EXTERN int sheaf_output_begin(const sheaf_config *cfg, sheaf_output **out, char *err,
                                    size_t errlen);
SHEAF_EXTERN const char *sheaf_output_dir(const sheaf_output *out);
SHEAF_EXTERN int sheaf_output_commit(sheaf_output *out, char *err, size_t errlen);
SHEAF_EXTERN void sheaf_output_abort(sheaf_output *out);
/* Creates a fresh private directory PARENT/PREFIXxxxxxx (mkdtemp: mode 0700, never one that
 * existed) and writes its path into path (n bytes); it is removed if the process is stopped
 * by SIGINT, SIGTERM or SIGHUP. Returns 0 or a negative code (errno says why). */
SHEAF_EXTERN int sheaf_workdir_create(const char *parent, const char *prefix, char *path,
                                      size_t n);
/* Removes such a directory and everything in it (keep != 0: leaves it, and forgets it). */
SHEAF_EXTERN int sheaf_workdir_remove(const char *path, int keep);

/* A process group a job started (an external command as its group's leader), for the janitor
 * sheaf_command_main starts: if this process dies without dropping the group (SIGKILL
 * included), the janitor stops it, SIGTERM then SIGKILL after a grace period, before it removes
 * the directories registered with it (sheaf_workdir_create). Drop the group once it is stopped.
 * No-ops without a janitor (MPI started by the program). Async-signal-safe. */
SHEAF_EXTERN void sheaf_janitor_add_group(pid_t pgid);
SHEAF_EXTERN void sheaf_janitor_drop_group(pid_t pgid);

/* Initializes MPI if needed, parses the common options and the command's own, runs the
 * command on MPI_COMM_WORLD (its run function, or one sheaf_run of its job), prints errors and
 * a summary, finalizes MPI if it initialized it, and returns an exit status: 0 success, 1 the
 * job failed, 2 bad usage. Under Open MPI, on a node with no high-speed fabric and no PML
 * chosen by the user, it asks for the ob1 PML before MPI_Init, skipping a device probe that
 * would choose it anyway, and keeps hwloc from loading its I/O plugins; after MPI_Init it
 * sets TCP_NODELAY on the PMIx client's connection to its server, which MPI_Finalize otherwise
 * waits on for 40 ms (SHEAF_MPI_FAST_START=0: none of these). A job it runs that is stopped
 * by SIGINT, SIGTERM or SIGHUP removes what it made and dies of the signal; when it
 * initializes MPI it first starts a janitor process that removes them if the process is killed
 * outright. */
SHEAF_EXTERN int sheaf_command_main(int argc, char **argv, const sheaf_command *cmd);
/* sheaf_command_main of a command that runs job once and has no options of its own (its name
 * is the job's). */
SHEAF_EXTERN int sheaf_main(int argc, char **argv, const sheaf_job_def *job);

/* Emits a key/value pair: from map() (and setup, map_cleanup) into the shuffle, from combine()
 * into the shuffle, from reduce() (and partition_end) into the output. Copies both. Returns 0
 * or a negative code; SHEAF_EINVAL from anywhere else (cleanup, outside a job). */
SHEAF_EXTERN int sheaf_emit(sheaf_ctx *ctx, const void *key, size_t klen, const void *val,
                            size_t vlen);
/* From reduce(): writes a record to the named output NAME instead of the partition's part
 * file: files OUT/NAME-r-NNNNN, one per partition (Hadoop's MultipleOutputs). Names are 1 to 48
 * of A-Z a-z 0-9 _ -, not "part"; at most 32 per job. */
SHEAF_EXTERN int sheaf_emit_named(sheaf_ctx *ctx, const char *name, const void *key,
                                  size_t klen, const void *val, size_t vlen);

/* Typed values for the built-in aggregations and for reducers that read them back with
 * sheaf_value_u64() etc. */
SHEAF_EXTERN int sheaf_emit_u64(sheaf_ctx *ctx, const void *key, size_t klen, uint64_t v);
SHEAF_EXTERN int sheaf_emit_i64(sheaf_ctx *ctx, const void *key, size_t klen, int64_t v);

/* A key in a batch: bytes and length. */
typedef struct sheaf_key {
    const void *data;
    size_t len;
} sheaf_key;

/* Emits keys[0..n) each with the value v, exactly as n calls of sheaf_emit_u64 in that order
 * would, but with the per-call work (checks, counters, the call itself) done once: for map
 * functions that find many keys at a time, such as a tokenizer (the built-in word count
 * emits each block's words this way). Returns 0 or the first error, as sheaf_emit does. */
SHEAF_EXTERN int sheaf_emit_u64_keys(sheaf_ctx *ctx, const sheaf_key *keys, size_t n,
                                     uint64_t v);
/* From map: declares that buf holds len bytes followed by SHEAF_RECORD_PADDING readable bytes
 * and stays unchanged until map returns. Keys emitted from inside it then load as fast as
 * keys inside the record (one 16-byte load), as when a map function rewrites the record into
 * a scratch buffer of its own (word count's --lower folds it to lower case). For the rest of
 * this map call the buffer takes the record's place (pass rec->data and rec->len to switch
 * back). Returns 0, or SHEAF_EINVAL outside a map call. */
SHEAF_EXTERN int sheaf_padded_buffer(sheaf_ctx *ctx, const void *buf, size_t len);
SHEAF_EXTERN int sheaf_emit_double(sheaf_ctx *ctx, const void *key, size_t klen, double v);

/* Iterates the values of the current group: returns 1 and sets *val and *vlen, or 0 at the end.
 * A value is valid until the next call. Streams from disk when the group is larger than
 * memory. */
SHEAF_EXTERN int sheaf_values_next(sheaf_values *vals, const void **val, size_t *vlen);
/* The key of the value last returned by sheaf_values_next (with a grouping comparator the
 * keys of one group differ; this is how a reducer sees the secondary key). */
SHEAF_EXTERN const void *sheaf_values_key(sheaf_values *vals, size_t *klen);
/* Reads a value written by sheaf_emit_u64/_i64/_double (8 bytes); 0 for another length. */
SHEAF_EXTERN uint64_t sheaf_value_u64(const void *val, size_t vlen);
SHEAF_EXTERN int64_t sheaf_value_i64(const void *val, size_t vlen);
SHEAF_EXTERN double sheaf_value_double(const void *val, size_t vlen);

/* Keys that sort numerically under the default bytewise order: 8 big-endian bytes. */
SHEAF_EXTERN void sheaf_key_u64(uint64_t v, unsigned char out[8]);
SHEAF_EXTERN void sheaf_key_i64(int64_t v, unsigned char out[8]);
SHEAF_EXTERN void sheaf_key_double(double v, unsigned char out[8]);
SHEAF_EXTERN uint64_t sheaf_key_to_u64(const unsigned char in[8]);

/* The seeded XXH3 hash the default partitioner uses (partition = hash scaled to the number of
 * partitions); for partitioners that hash part of a key. */
SHEAF_EXTERN uint64_t sheaf_hash(const void *key, size_t klen, uint64_t seed);

/* From map: counts the current record as malformed and skips it while the job's allowance
 * (--max-bad-records) lasts: returns 0, and map should return 0. Past the allowance it fails
 * the job with why, the file and the offset, and returns the code for map to return. */
SHEAF_EXTERN int sheaf_skip_record(sheaf_ctx *ctx, const char *why);

/* Adds n to a user counter, summed over ranks into the report. */
SHEAF_EXTERN int sheaf_counter_add(sheaf_ctx *ctx, const char *name, int64_t n);

/* Fails the job with a message (printf-style); returns the code to hand back from the
 * callback, so `return sheaf_fail(ctx, SHEAF_EUSER, "bad id %s", id);` reads naturally. */
SHEAF_EXTERN int sheaf_fail(sheaf_ctx *ctx, int code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* This rank, the number of ranks, and the partition the current reduce call writes. */
SHEAF_EXTERN int sheaf_rank(const sheaf_ctx *ctx);
SHEAF_EXTERN int sheaf_nranks(const sheaf_ctx *ctx);
SHEAF_EXTERN uint32_t sheaf_partition(const sheaf_ctx *ctx);

/* Parses a size such as 512, 64K, 1.5G (K/M/G/T, powers of 1024). Returns 0 or SHEAF_EINVAL. */
SHEAF_EXTERN int sheaf_parse_size(const char *text, uint64_t *out);

/* ---- What a program's own code needs beside its jobs: the runtime's own functions ---- */

/* Collective over comm: agrees on failure. Each rank passes its code (0 or a negative SHEAF_E*)
 * and its message in msg (msglen bytes, the same on every rank). When any code is non-zero,
 * every rank returns the code of the lowest failing rank and gets its message in msg; else
 * every rank returns 0 and msg is left as it was. SHEAF_EMPI when MPI fails. */
SHEAF_EXTERN int sheaf_agree(MPI_Comm comm, int code, char *msg, size_t msglen);

/* Expands path as -i does: a file; a directory, searched recursively in name order, skipping
 * names that begin with . or _; or a glob. Sets *files to a malloc'd array of *n malloc'd
 * paths (free it with sheaf_list_free). Returns 0, or a negative code with the reason in err:
 * SHEAF_ENOENT when nothing matches or a directory holds no files, SHEAF_EINVAL for what is
 * not a regular file or directory, SHEAF_EIO, SHEAF_ENOMEM. Not collective. */
SHEAF_EXTERN int sheaf_list_inputs(const char *path, char ***files, size_t *n, char *err,
                                   size_t errlen);
SHEAF_EXTERN void sheaf_list_free(char **files, size_t n);

/* The fields of one csv record, parsed by sheaf_csv_parse as csv input is read (RFC 4180
 * quoting: "..." with "" for a quote, quoted fields may hold delimiters and newlines). Start
 * from {0}; reuse it for the next record; free it with sheaf_csv_free. The fields point into
 * the parsed bytes or into the struct's own storage, valid until the next parse or the free. */
typedef struct sheaf_csv {
    size_t nfields;
    const char *const *fields;
    const size_t *field_lens;
    void *priv; /* the parser's storage */
} sheaf_csv;
/* Parses the record at the start of [p, p + n): up to its end, an LF outside quotes (a CR
 * before it is dropped), or the end of the buffer. Returns the bytes consumed (with the LF),
 * or a negative code: SHEAF_EFORMAT for malformed quoting (the reason in err, which may be
 * NULL), SHEAF_ENOMEM. */
SHEAF_EXTERN long long sheaf_csv_parse(sheaf_csv *csv, const char *p, size_t n, char delim,
                                       char *err, size_t errlen);
SHEAF_EXTERN void sheaf_csv_free(sheaf_csv *csv);

/* ---- Typed rows: an output schema (Parquet output) and typed input fields ----
 *
 * A job that writes a table declares its columns once, from setup, and its reducer sets the
 * columns of each row and emits it. With --output-format parquet the rows are the Parquet
 * file's rows; with the text format each row is written as one line of its fields in csv
 * (RFC 4180 quoting; a null is an empty field); the csv format writes the same lines under
 * a header of the column names; the raw format refuses rows. See
 * docs/api.md and docs/formats.md. */
typedef struct sheaf_schema sheaf_schema;

/* A new empty schema (NULL when out of memory); free it with sheaf_schema_free. */
SHEAF_EXTERN sheaf_schema *sheaf_schema_new(void);
/* Adds a column (nullable: 1 when it may hold nulls). Returns 0, SHEAF_EINVAL (an empty or
 * repeated name, an unknown type) or SHEAF_ENOMEM. */
SHEAF_EXTERN int sheaf_schema_add(sheaf_schema *s, const char *name, sheaf_col_type type,
                                  int nullable);
SHEAF_EXTERN size_t sheaf_schema_columns(const sheaf_schema *s);
/* A schema from text: `name:type[?],...` with types int64 int32 double bool string date
 * timestamp, a trailing ? for a nullable column. NULL on a bad spec, the reason in err. */
SHEAF_EXTERN sheaf_schema *sheaf_schema_parse(const char *spec, char *err, size_t errlen);
/* A schema from a file: JSON ({"columns": [{"name": N, "type": T, "nullable": B}, ...]}) or
 * DDL-like lines `NAME TYPE [NOT NULL]` (or NAME:TYPE[?]), as docs/formats.md describes. NULL
 * on failure, the reason in err naming the file and the line and column (or JSON place). */
SHEAF_EXTERN sheaf_schema *sheaf_schema_load(const char *path, char *err, size_t errlen);
/* The name of column col (NULL past the end), and its type. */
SHEAF_EXTERN const char *sheaf_schema_name(const sheaf_schema *s, size_t col);
SHEAF_EXTERN sheaf_col_type sheaf_schema_type(const sheaf_schema *s, size_t col);
SHEAF_EXTERN int sheaf_schema_nullable(const sheaf_schema *s, size_t col);
/* Whether text casts to column col: 0, or SHEAF_EINVAL (an empty text casts to null, so
 * only in a nullable column, or to the empty string in a string column). Integers in
 * decimal, doubles as strtod reads them, bools true/false/t/f/1/0/yes/no, dates YYYY-MM-DD,
 * timestamps YYYY-MM-DD[ T]HH:MM:SS[.fraction][Z|+00:00] (UTC). */
SHEAF_EXTERN int sheaf_schema_cast(const sheaf_schema *s, size_t col, const char *text,
                                   size_t len);
/* sheaf_schema_cast that also gives the value, for the typed sheaf_row_set_* (one parse, not
 * two): *i for int64, int32, bool (0 or 1), date (days since 1970-01-01) and timestamp
 * (microseconds since the epoch, UTC) columns, *d for double; a string column's value is its
 * text and sets neither. Returns 0, 1 for a null (an empty text in a nullable column that is
 * not a string), or SHEAF_EINVAL. */
SHEAF_EXTERN int sheaf_schema_cast_to(const sheaf_schema *s, size_t col, const char *text,
                                      size_t len, int64_t *i, double *d);
SHEAF_EXTERN void sheaf_schema_free(sheaf_schema *s);
/* From setup: the rows this rank's reducers emit have this schema (copied). */
SHEAF_EXTERN int sheaf_output_schema(sheaf_ctx *ctx, const sheaf_schema *s);
/* From reduce (and partition_end): set column col of the current row, then emit it. i64 fits
 * INT64, INT32 (range checked), DATE and TIMESTAMP columns. A column not set is null (an error
 * for a column that is not nullable). Return 0 or a negative code. */
SHEAF_EXTERN int sheaf_row_set_i64(sheaf_ctx *ctx, size_t col, int64_t v);
SHEAF_EXTERN int sheaf_row_set_double(sheaf_ctx *ctx, size_t col, double v);
SHEAF_EXTERN int sheaf_row_set_bool(sheaf_ctx *ctx, size_t col, int v);
SHEAF_EXTERN int sheaf_row_set_str(sheaf_ctx *ctx, size_t col, const void *s, size_t len);
SHEAF_EXTERN int sheaf_row_set_null(sheaf_ctx *ctx, size_t col);
/* Sets column col from text, cast as sheaf_schema_cast says (an empty text: null, or the
 * empty string in a string column); a text that does not cast fails the job. */
SHEAF_EXTERN int sheaf_row_set_text(sheaf_ctx *ctx, size_t col, const char *text, size_t len);
SHEAF_EXTERN int sheaf_row_emit(sheaf_ctx *ctx);
/* Hive-style partition folders (Parquet output). From setup, after sheaf_output_schema:
 * the rows go to folders inside the output, and no part file is written at its top. From
 * reduce: the rows emitted next go to FOLDER/part-r-NNNNN.parquet (NNNNN the partition), where
 * FOLDER is a relative path of NAME=VALUE components such as "origin=SEA/year=2024" (none
 * starting with '.' or '_'; the caller escapes values). A reducer writes each folder once:
 * give it the rows of a folder together (keys that start with the folder sort so). Return 0 or
 * a negative code. */
SHEAF_EXTERN int sheaf_output_folders(sheaf_ctx *ctx);
SHEAF_EXTERN int sheaf_row_folder(sheaf_ctx *ctx, const char *folder);

/* Typed fields of a record (csv, tsv, parquet), by column name as sheaf_record_field: 1 and
 * *v set, 0 when the field is null (parquet) or empty, SHEAF_ENOENT without such a column,
 * SHEAF_EINVAL when the text is not of the type (bool: true/false, 1/0). */
SHEAF_EXTERN int sheaf_record_i64(const sheaf_record *rec, const char *column, int64_t *v);
SHEAF_EXTERN int sheaf_record_double(const sheaf_record *rec, const char *column, double *v);
SHEAF_EXTERN int sheaf_record_bool(const sheaf_record *rec, const char *column, int *v);
/* 1 when the field is null (parquet) or empty (csv), 0 when not, SHEAF_ENOENT. */
SHEAF_EXTERN int sheaf_record_is_null(const sheaf_record *rec, const char *column);
/* From setup: the columns (names, or 0-based numbers in decimal) the map reads; Parquet input
 * then decodes only those (the others are null fields), and a name no file has fails the job
 * naming the file. Without a call every column is read. */
SHEAF_EXTERN int sheaf_input_columns(sheaf_ctx *ctx, const char *const *names, size_t n);
/* From setup, after sheaf_input_columns: the type the map reads each of those n columns in
 * (0: as text). With Parquet input, a column whose type in the file gives that type exactly
 * (INT64 from int64 and int32 columns, unsigned ones within range; DOUBLE from double columns
 * and decimals a double holds exactly; BOOL; DATE; TIMESTAMP of any unit) arrives in
 * rec->values and not as text, so no number is formatted only to be parsed again, and the
 * record has no csv line (rec->data is empty). Any other column, and every column of other
 * formats, arrives as text. Returns 0, SHEAF_EINVAL (n is
 * not the number of columns, or a type is STRING, INT32 or unknown) or SHEAF_ENOMEM. */
SHEAF_EXTERN int sheaf_input_types(sheaf_ctx *ctx, const sheaf_col_type *types, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* SHEAF_H */
