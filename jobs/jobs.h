/* jobs.h: the built-in jobs of the sheaf command. Each job is one file defining its
 * sheaf_job_def and the sheaf_command that presents and runs it; jobs/sheaf.c lists them.
 * jobs/jobutil.c holds what several jobs share (option parsing, numbers in fields, growable
 * buffers, rounds of multi-round commands); its functions are named sj_*. What the runtime
 * already does (csv records, listing inputs, agreeing on failure, hashing) the jobs take from
 * its public API (sheaf_csv_parse, sheaf_list_inputs, sheaf_agree, sheaf_hash). */
#ifndef SHEAF_JOBS_H
#define SHEAF_JOBS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sheaf.h>

extern const sheaf_command sheaf_cmd_wordcount;
extern const sheaf_command sheaf_cmd_stream;
extern const sheaf_command sheaf_cmd_grep;
extern const sheaf_command sheaf_cmd_sort;
extern const sheaf_command sheaf_cmd_gensort;
extern const sheaf_command sheaf_cmd_valsort;
extern const sheaf_command sheaf_cmd_invertedindex;
extern const sheaf_command sheaf_cmd_distinct;
extern const sheaf_command sheaf_cmd_topk;
extern const sheaf_command sheaf_cmd_histogram;
extern const sheaf_command sheaf_cmd_groupby;
extern const sheaf_command sheaf_cmd_join;
extern const sheaf_command sheaf_cmd_pagerank;
extern const sheaf_command sheaf_cmd_kmeans;
extern const sheaf_command sheaf_cmd_validate;
extern const sheaf_command sheaf_cmd_convert;
/* `sheaf schema FILE...` (schema.c): not a job; one process. Returns an exit status. */
int sj_schema_command(int argc, char **argv);
extern const sheaf_command sheaf_cmd_sql; /* sql/exec.c */

/* ---- jobutil.c ---------------------------------------------------------------------------- */

#if defined(__GNUC__)
#define SJ_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SJ_PRINTF(a, b)
#endif

/* The rank of this process in MPI_COMM_WORLD (0 before MPI starts). */
int sj_world_rank(void);
/* Prints "sheaf JOB: message" on rank 0 of MPI_COMM_WORLD and returns -1, the value
 * parse_option and configure return for a usage error. */
int sj_usage(const char *job, const char *fmt, ...) SJ_PRINTF(2, 3);

/* Whole-string numbers: return 0 and set *out, or -1 (empty, trailing text, out of range). */
int sj_parse_u64(const char *s, uint64_t *out);
int sj_parse_double(const char *s, double *out);
/* A number in a field (not NUL-terminated); surrounding spaces are allowed. Returns 0 and sets
 * *out, or -1 for an empty field or one that is not a finite number. */
int sj_field_double(const char *p, size_t n, double *out);

/* A growable byte buffer. Functions return 0 or SHEAF_ENOMEM. */
typedef struct sj_buf {
    char *p;
    size_t len, cap;
} sj_buf;

/* ---- schema.c ----------------------------------------------------------------------------- */

/* What a csv or tsv field parses as, a set of SJ_K_* (sj_kinds: by the rules a schema casts
 * with, sheaf_schema_cast; the words true and false only for bool, so that 0, 1, t and f stay
 * numbers and text). */
enum { SJ_K_INT = 1, SJ_K_DOUBLE = 2, SJ_K_BOOL = 4, SJ_K_DATE = 8, SJ_K_TS = 16 };
typedef unsigned (*sj_kinds_fn)(const char *field, size_t len);
unsigned sj_kinds(const char *field, size_t len);

/* The columns of csv or tsv files with a header, as sj_csv_infer finds them. */
typedef struct sj_csv_cols {
    size_t ncols;
    char **names;           /* the first file's header */
    sheaf_col_type *types;  /* int64, double, bool, date, timestamp or string */
    bool *nullable;         /* an empty field was seen, or no field at all */
    uint64_t rows;          /* rows sampled */
} sj_csv_cols;
void sj_csv_cols_free(sj_csv_cols *c);

/* The one inference of a csv table's types (`sheaf schema`, `sheaf convert` without --schema,
 * `sheaf sql` and the jobs' SQL --where): the names come from the first file's header, read as
 * the jobs read csv (a byte-order mark skipped, quoted fields, a compressed file decompressed);
 * the types from a sample, the first max_rows rows of the files in order, from at most
 * max_bytes of each file. A column's type is the first of int64, double, bool, date, timestamp
 * that every non-empty sampled field of it parses as (kinds says what a field parses as, by the
 * rules of the reader that will read it), else string; it is nullable when a field is empty. A
 * blank line is no row. sep: the field separator, 0 for a tab when the name ends in .tsv,
 * else a comma. Returns 0, or a code with the reason (naming the file) in err. */
#define SJ_SCHEMA_SAMPLE 20480              /* rows, by default */
#define SJ_SCHEMA_SAMPLE_BYTES (8u << 20) /* of each file */
int sj_csv_infer(char **files, size_t nfiles, char sep, uint64_t max_rows, uint64_t max_bytes,
                 sj_kinds_fn kinds, sj_csv_cols *out, char *err, size_t errlen);

/* The columns the Hive-style folders NAME=VALUE in the paths of files add, as the Parquet
 * reader adds them, but for the names in have (the files' own columns): in the order first met,
 * each nullable, typed by its values over all the files as DuckDB's hive_types_autocast does:
 * int64 when every non-null value is [-]digits within range, else date when every one is a
 * valid YYYY-MM-DD, else string (a folder that is always null is a string). Returns 0 or
 * SHEAF_ENOMEM (err says so). */
int sj_folder_columns(char **files, size_t nfiles, const char *const *have, size_t nhave,
                      sj_csv_cols *out, char *err, size_t errlen);

/* The schema `sheaf schema` gives a file. A Parquet file's (parquet true: path) comes from its
 * footer, plus a nullable column for each Hive-style folder NAME=VALUE in the paths of files
 * (int64 when all its values are integers, else date when all are dates, else string), as the
 * Parquet reader adds them. Csv or tsv files' (files, nfiles) come from sj_csv_infer with
 * sj_kinds over the first sample rows. When desc is not NULL it gets the lines `sheaf schema`
 * prints, ending with the --schema line. Returns the schema, or NULL with the reason (naming
 * the file) in err. */
sheaf_schema *sj_schema_infer(const char *path, bool parquet, char sep, uint64_t sample,
                              char **files, size_t nfiles, sj_buf *desc, char *err,
                              size_t errlen);
int sj_buf_reserve(sj_buf *b, size_t extra);
int sj_buf_add(sj_buf *b, const void *p, size_t n);
int sj_buf_addc(sj_buf *b, char c);
int sj_buf_printf(sj_buf *b, const char *fmt, ...) SJ_PRINTF(2, 3);
void sj_buf_free(sj_buf *b);

/* Splits text at sep into a malloc'd array of malloc'd strings. Returns 0 or SHEAF_ENOMEM. */
int sj_split(const char *text, char sep, char ***out, size_t *n);
void sj_free_list(char **list, size_t n);

/* A deterministic 64-bit generator (splitmix64 step). */
uint64_t sj_mix64(uint64_t x);

/* Formats a double for output: the shortest of %.15g/%.17g that reads back exactly. */
int sj_fmt_double(char *out, size_t outlen, double v);

/* The index of a column: a header name, else a 0-based decimal index; -1 if neither. */
long sj_column_index(const sheaf_csv *header, const char *column);

/* Reads a whole file into a malloc'd buffer. Returns 0 or a negative SHEAF_E* code:
 * SHEAF_EINVAL when path is not a regular file (a FIFO is refused, never waited on). */
int sj_read_file(const char *path, char **data, size_t *len);

/* Multi-round commands: runs job once with cfg's common options, the given inputs and
 * output, quietly, overwriting output, which must be inside the job's own work directory
 * (sj_work_open). Collective over comm. */
int sj_round(MPI_Comm comm, const sheaf_job_def *job, const sheaf_config *cfg,
             const char *const *inputs, size_t ninputs, const char *output, sheaf_result *res);
/* Calls fn for every line of every part-r-* file of dir, in part order (one process, usually
 * rank 0 of a driver). Returns 0, the first non-zero return of fn, or a negative code. */
int sj_each_output_line(const char *dir, int (*fn)(void *arg, char *line, size_t len),
                        void *arg);
/* Fills res for a driver that fails outside sheaf_run, and returns code. */
int sj_result_fail(sheaf_result *res, int code, const char *fmt, ...) SJ_PRINTF(3, 4);
/* Broadcasts a malloc'd buffer from rank 0 (others receive a new malloc'd copy). Collective. */
int sj_bcast_buf(MPI_Comm comm, char **data, size_t *len);

/* The field of a csv/tsv record under a column name or 0-based index. When the record has
 * no such field: returns NULL and sets *rc to 0 when the file has no header (a short record),
 * or fails the job (*rc < 0, sj_no_column) when it has one (the name is not a column of the
 * file). */
const char *sj_field(sheaf_ctx *ctx, const sheaf_record *rec, const char *column, size_t *len,
                     int *rc);
/* Fails the job (SHEAF_EFORMAT, returned) with a message naming file and column and listing
 * the n names of the file's header. */
int sj_no_column(sheaf_ctx *ctx, const char *file, const char *column,
                 const char *const *names, const size_t *lens, size_t n);
/* Usage check of the n column names a job reads (NULL entries skipped), before it runs: a
 * column written as a number is a field index; a name needs parquet input (whose columns have
 * names) or the header of csv input read with --csv-header (it is then looked up in each file's header as the file is read, and a file
 * without it fails the job: sj_field). Returns 0, or -1 after printing which column, and why,
 * on rank 0 (configure's usage error). */
int sj_check_columns(const char *job, const sheaf_config *cfg, const char *const *columns,
                     size_t n);
/* Usage check for jobs that read columns: the input format must be csv, tsv or parquet. */
int sj_need_columns(const char *job, const sheaf_config *cfg, const char *option);

/* The work directory of a multi-round job, made fresh in this run (mkdtemp, mode 0700) and the
 * only thing the job removes: with --work-dir DIR, DIR/JOB.work-XXXXXX (DIR is created when
 * missing, and then removed again if empty), else OUT.work-JOB-XXXXXX beside the output.
 * Refused (exit 2) when DIR is an input or inside one, or the output or inside it. */
typedef struct sj_work {
    char path[4096];   /* the fresh directory ("" when none) */
    const char *given; /* --work-dir, when the job created it */
    bool made_parent;
} sj_work;
/* Collective: checks the output as sheaf_run would (sheaf_output_check: an existing output
 * without --overwrite, an output in an input, ...), before any round, then makes the work
 * directory. Returns 0, or a code with res filled; nothing is created on failure. */
int sj_work_open(MPI_Comm comm, const char *given, const sheaf_config *cfg, const char *job,
                 sj_work *w, sheaf_result *res);
/* WORK/name into out. Returns 0 or SHEAF_ENOMEM. */
int sj_work_sub(const sj_work *w, const char *name, sj_buf *out);
/* Collective: removes the work directory (rank 0, after a barrier), or with keep leaves it
 * and says where it is. */
void sj_work_close(MPI_Comm comm, sj_work *w, bool keep, const char *job, bool quiet);
/* The last round of a multi-round job: job on the given inputs with the user's own options
 * (output, --overwrite, --report). Collective over comm. */
int sj_final_round(MPI_Comm comm, const sheaf_job_def *job, const sheaf_config *cfg,
                   const char *const *inputs, size_t ninputs, sheaf_result *res);
/* mkdir -p. Returns 0 or -1. */
int sj_mkdirs(const char *path);

#endif
