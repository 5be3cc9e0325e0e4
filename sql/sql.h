/*
 * sql.h: the query layer of `sheaf sql`, private to it.
 *
 * A query goes through five stages:
 *   lexer.l, parser.y  text -> syntax tree (sql_node), errors with line, column and a caret;
 *   value.c            typed values (int64, double, string, bool, date, timestamp, NULL): casts,
 *                      comparison, text and binary forms;
 *   bind.c             the tree against a table's columns: names resolved, types checked and
 *                      derived, aggregates and group keys found;
 *   eval.c             expressions evaluated over a row, with SQL's NULL rules;
 *   exec.c             its rounds of Sheaf jobs, on the public job API, with join.c (the
 *                      joins), output.c (the result, ordered and committed) and explain.c
 *                      (EXPLAIN); exec.h holds what these four share.
 * schema.c infers a CSV table's column types from a sample of its rows.
 *
 * What the query layer needs from the runtime is the public job API (sheaf.h) and the jobs'
 * shared helpers (jobs.h: file listing, csv field splitting, buffers, agreed failure).
 */
#ifndef SHEAF_SQL_H
#define SHEAF_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jobs/jobs.h"
#include "sql/filter.h"

/* ---- values (value.c) ---------------------------------------------------------------------- */

typedef enum {
    SQL_NULL = 0, /* the type of a bare NULL literal */
    SQL_BOOL,
    SQL_INT,    /* int64, exact: overflow is an error */
    SQL_DOUBLE, /* IEEE double */
    SQL_STRING, /* bytes (UTF-8 expected), compared bytewise */
    SQL_DATE,   /* days since 1970-01-01 */
    SQL_TS      /* microseconds since 1970-01-01 00:00:00 */
} sql_type;

typedef struct sql_value {
    uint8_t type; /* sql_type */
    bool null;
    union {
        bool b;
        int64_t i; /* SQL_INT, SQL_DATE, SQL_TS */
        double d;
        struct {
            const char *p;
            size_t n;
        } s;
    } u;
} sql_value;

const char *sql_type_name(int type);

/* A bump allocator for the strings a row's evaluation makes; reset per row. */
typedef struct sql_arena {
    struct sql_chunk *head;
} sql_arena;
void *sql_arena_alloc(sql_arena *a, size_t n); /* NULL when out of memory */
void sql_arena_reset(sql_arena *a);
void sql_arena_free(sql_arena *a);

/* Text to value of a given type (csv fields, casts). Returns 0, or -1 when the text is not
 * such a value. An empty field is not handled here (the caller maps it to NULL). Strings
 * point into the text. */
int sql_parse_as(int type, const char *p, size_t n, sql_value *out);
/* Dates: civil date <-> days since the epoch. */
int64_t sql_days_from_civil(int64_t y, unsigned m, unsigned d);
void sql_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* Writes a value as text (NULL as the empty string) into buf; returns the length, which may
 * exceed size (snprintf-like), or for strings returns the string itself through *out. */
size_t sql_format(const sql_value *v, char *buf, size_t size, const char **out);

/* Total order for sorting and grouping: NULLs first, then by value; values of different
 * numeric types compare numerically. Returns <0, 0, >0. */
int sql_compare(const sql_value *a, const sql_value *b);
/* SQL equality for grouping/distinct (NULL equals NULL here). */
bool sql_same(const sql_value *a, const sql_value *b);

/* The binary form (type byte, null flag, payload) used in keys, states and rows. Append
 * returns 0 or -1 (out of memory); read returns the bytes consumed or 0 if malformed. The
 * value read points into the buffer. */
int sql_value_put(sj_buf *b, const sql_value *v);
/* sql_value_put for a GROUP BY or join key: values that compare equal (-0.0 and 0.0, NaNs)
 * get the same bytes, as keys are matched bytewise. */
int sql_key_put(sj_buf *b, const sql_value *v);
size_t sql_value_get(const char *p, size_t n, sql_value *out);

/* ---- syntax tree (ast.c, parser.y) --------------------------------------------------------- */

typedef enum {
    N_LIT,     /* literal: val */
    N_COL,     /* column: name (qual: table name or NULL) */
    N_STAR,    /* * in a select list */
    N_UNOP,    /* op: '-' or NOT; kids[0] */
    N_BINOP,   /* op: + - * / DIV % || = <> < <= > >= AND OR; kids[0..1] */
    N_ISNULL,  /* kids[0]; neg: IS NOT NULL */
    N_LIKE,    /* kids[0] LIKE kids[1]; neg */
    N_IN,      /* kids[0] IN (kids[1..]); neg */
    N_BETWEEN, /* kids[0] BETWEEN kids[1] AND kids[2]; neg */
    N_CASE,    /* kids: [operand or NULL], then when/then pairs, then else (or NULL) */
    N_CAST,    /* kids[0]; cast_type */
    N_FUNC,    /* name(kids...); distinct; star for count(*) */
} sql_node_kind;

enum { OP_NEG = 1, OP_NOT, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_IDIV, OP_MOD, OP_CONCAT,
       OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_AND, OP_OR };

/* Scalar functions and aggregates, resolved by the binder. */
enum { F_NONE = 0, F_COALESCE, F_LOWER, F_UPPER, F_SUBSTR, F_LENGTH, F_CONCAT, F_TRIM,
       F_LTRIM, F_RTRIM, F_YEAR, F_MONTH, F_DAY, F_DATE_TRUNC, F_ABS, F_ROUND,
       A_COUNT_STAR, A_COUNT, A_COUNT_DISTINCT, A_SUM, A_AVG, A_MIN, A_MAX, A_MEDIAN,
       A_QUANTILE };
#define SQL_IS_AGG(f) ((f) >= A_COUNT_STAR)

typedef struct sql_node {
    int kind, op;
    int line, col; /* where it starts in the query text, from 1 */
    bool neg, distinct, star, case_operand;
    sql_value val;       /* N_LIT (strings point into str) */
    char *str;           /* N_LIT string bytes; N_COL / N_FUNC name */
    char *qual;          /* N_COL: table qualifier */
    int cast_type;       /* N_CAST */
    struct sql_node **kids;
    size_t nkids;
    /* Filled by the binder. */
    int type;     /* sql_type of the result (SQL_NULL: unknown, only a NULL literal) */
    int colidx;   /* N_COL: the table's column */
    int fn;       /* N_FUNC: F_* or A_* */
    int aggidx;   /* aggregate: its slot; else -1 */
    int groupidx; /* an expression equal to a GROUP BY key: its key; else -1 */
    double q;     /* A_QUANTILE: the quantile */
    /* A constant subtree (no column, group key or aggregate) that the binder evaluated once:
     * sql_eval gives fval without walking it. Not for strings (their bytes need an owner). */
    bool folded;
    sql_value fval;
} sql_node;

typedef struct sql_item {
    sql_node *e;
    char *alias;
} sql_item;

typedef struct sql_order {
    sql_node *e;
    bool desc;
    int nulls; /* 0 default (last), 1 first, 2 last */
} sql_order;

typedef struct sql_query {
    bool explain, distinct;
    sql_item *items;
    size_t nitems;
    char *from;      /* path/glob (from_path) or table name */
    bool from_path;
    char *from_alias;
    char *join;      /* JOIN's path/glob (join_path) or table name, or NULL */
    bool join_path, left_join;
    char *join_alias;
    sql_node *on;
    sql_node *where, *having;
    sql_node **group;
    size_t ngroup;
    sql_order *order;
    size_t norder;
    int64_t limit, offset; /* limit -1: none */
    struct sql_query *sub;    /* FROM (subquery): its query, else NULL */
    struct sql_query *parent; /* while parsing: the enclosing query */
} sql_query;

sql_node *sql_node_new(int kind, int line, int col);
int sql_node_add(sql_node *n, sql_node *kid); /* 0 or -1 */
sql_node *sql_node_copy(const sql_node *n);
void sql_node_free(sql_node *n);
bool sql_node_equal(const sql_node *a, const sql_node *b);
void sql_query_free(sql_query *q);
/* An expression as SQL text (for column names and EXPLAIN). */
void sql_node_text(const sql_node *n, sj_buf *out);

/* Parses text into *q. Returns 0, or -1 with a message (line, column, the line and a caret)
 * in err. */
int sql_parse(const char *text, sql_query *q, char *err, size_t errlen);

/* ---- tables and binding (schema.c, bind.c) ------------------------------------------------- */

typedef struct sql_table {
    char **names;
    int *types;
    size_t ncols;
    /* A join's table: the left table's columns, then the right's; tab[i] is 0 or 1, and a
     * column is qualified by its table's alias or name (NULL: none). NULL for one table. */
    int *tab;
    const char *qual[2][2];
} sql_table;
void sql_table_free(sql_table *t);

/* Infers column types from the header and a sample of rows of the files (csv with header, or
 * tsv when delim is a tab): per column the narrowest of bool, int, double, date, timestamp
 * that every non-empty sampled field is, else string. Returns 0 or a negative SHEAF_E* code
 * with a message. */
int sql_infer_table(char **files, size_t nfiles, char delim, sql_table *t, char *err,
                    size_t errlen);
/* The columns of a Parquet file (its footer's schema) as a table: integers BIGINT, floats and
 * decimals DOUBLE, dates, timestamps, booleans, the rest VARCHAR. Returns 0 or a code with a
 * message naming the file. */
int sql_parquet_table(const char *file, sql_table *t, char *err, size_t errlen);
/* The table of a set of input files: Parquet's columns from the first file's footer, then a
 * column for each partition folder NAME=VALUE in the files' paths that the footer lacks, typed
 * by its values over all the files as DuckDB's hive_types_autocast does (BIGINT, DATE, else
 * VARCHAR); csv's or tsv's (delim) from sql_infer_table. *nfile: the columns from the files
 * themselves. Returns 0, or a code with a message (t then empty). */
int sql_files_table(char **files, size_t nfiles, bool parquet, char delim, sql_table *t,
                    size_t *nfile, char *err, size_t errlen);

/* Pruning Parquet files by their partition folders (a job's sheaf_config.prune): the top-level
 * AND conjuncts of a bound WHERE over table t that read only partition columns (those from
 * index nfile on), evaluated with a file's folder values. sql_pruner_new gives *out NULL when
 * no conjunct qualifies; returns 0, or -1 when memory runs out. t and where must outlive it. */
typedef struct sql_pruner sql_pruner;
int sql_pruner_new(const sql_table *t, size_t nfile, const sql_node *where, sql_pruner **out);
/* sheaf_config.prune: 1 (skip the file) when a conjunct is false or NULL with the folder
 * values kv[0..2*nkv); else 0 (a conjunct reading a column the folders lack, or whose
 * evaluation fails, prunes nothing: the rows say what is wrong). */
int sql_pruner_prune(void *p, const char *path, const char *const *kv, size_t nkv);
void sql_pruner_free(sql_pruner *p);
/* The files the pruner ruled out so far (on rank 0, which plans). */
uint64_t sql_pruner_count(const sql_pruner *p);
/* Reads up to max bytes (SIZE_MAX: all) of a file, decompressed when its name ends in .gz,
 * .zst, .bz2 or .xz; *data is NUL-terminated and the caller's. Returns 0 or a code with a
 * message naming the file. */
int sql_read_head(const char *path, size_t max, char **data, size_t *len, char *err,
                  size_t errlen);
/* Applies --schema "col:type,col:type" to t. Returns 0 or -1 with a message. */
int sql_apply_schema(sql_table *t, const char *schema, char *err, size_t errlen);
/* A type name (int, bigint, double, varchar, date, ...) as sql_type, or -1. */
int sql_type_from_name(const char *name);

/* The bound query: what the executor needs. */
typedef struct sql_bound {
    sql_query *q;
    const sql_table *t;
    bool aggregate;       /* grouped: GROUP BY, DISTINCT or an aggregate */
    sql_node **group;     /* group keys (DISTINCT: the select items) */
    size_t ngroup;
    sql_node **aggs;      /* aggregate calls, by aggidx */
    size_t naggs;
    sql_node **out;       /* output expressions (select list, * expanded) */
    char **names;         /* their column names */
    size_t nout;
    sql_node **okeys;     /* ORDER BY expressions */
    size_t nokeys;
    bool *used;           /* columns read by the query */
    sql_node **lkeys, **rkeys; /* a join's key expressions, left and right, of one type */
    size_t nkeys;
} sql_bound;

/* Resolves q against t. Returns 0, or -1 with a message naming the place in text. */
int sql_bind(sql_query *q, const sql_table *t, const char *text, sql_bound *b, char *err,
             size_t errlen);
void sql_bound_free(sql_bound *b);

/* ---- evaluation (eval.c) ------------------------------------------------------------------- */

typedef struct sql_env {
    const sql_value *row;   /* the table's columns (map side) */
    const sql_value *group; /* group key values (after aggregation) */
    const sql_value *aggs;  /* aggregate results (after aggregation) */
    sql_arena *arena;
    char *err; /* runtime error message */
    size_t errlen;
} sql_env;

/* Evaluates n. Returns 0, or -1 with a message in env->err (overflow, a failed cast). */
int sql_eval(const sql_node *n, sql_env *env, sql_value *out);
/* Three-valued truth of a boolean result: true only when non-NULL and true. */
bool sql_truthy(const sql_value *v);

/* Aggregates (eval.c). Each aggregate call has an accumulator: the map adds rows to it, and
 * its partial state (a byte buffer) is merged in the combiner and the reducer and finalized
 * in the reducer. */
typedef struct sql_acc {
    int64_t count;
    bool has;
    __int128 wide;
    double dsum;
    sql_value best; /* min/max; strings point into own */
    sj_buf own;
    sj_buf list; /* count(DISTINCT), median, approx_quantile: binary values */
    uint64_t nlist;
} sql_acc;
void sql_acc_init(sql_acc *acc);
/* Adds one row's argument v (ignored by count(*)) to acc. Returns 0 or -1 (out of
 * memory). */
int sql_acc_add(const sql_node *a, sql_acc *acc, const sql_value *v);
void sql_acc_free(sql_acc *acc);
/* Merges the state at p (at most n bytes) into acc. Returns the bytes read, 0 when malformed,
 * or (size_t)-1 on overflow or out of memory (message in err). */
size_t sql_acc_merge(const sql_node *a, sql_acc *acc, const char *p, size_t n, char *err,
                     size_t errlen);
/* Appends acc as one state (for a combiner). Returns 0 or -1. */
int sql_acc_state(const sql_node *a, sql_acc *acc, sj_buf *st);
/* The aggregate's result. Returns 0 or -1 (message in err). */
int sql_acc_final(const sql_node *a, sql_acc *acc, sql_arena *ar, sql_value *out, char *err,
                  size_t errlen);

#endif
