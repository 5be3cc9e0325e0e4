/*
 * exec.h: what the files of `sheaf sql`'s execution share (not installed): the command's
 * options (sql_opts), a rank's state in a round (sql_exec), result rows, and the pieces each
 * file gives the others.
 *
 *   exec.c     the command, its options and the driver: the rounds of a query, round 1's map,
 *              combine and reduce (filter, project, aggregate)
 *   join.c     the join round (tagged shuffle) and the broadcast join (hash table in setup)
 *   output.c   rank 0's order, LIMIT and CSV or table, and round 2, the committed output
 *   explain.c  EXPLAIN: the rounds of a query, in words
 */
#ifndef SHEAF_SQL_EXEC_H
#define SHEAF_SQL_EXEC_H

#include <stdio.h>

#include "sql/sql.h"

typedef struct sql_opts {
    const char *text; /* the query (positional) */
    const char *file; /* --file */
    char *owned;      /* text read from --file */
    char **tables;    /* --table NAME=PATH[:FORMAT] */
    size_t ntables;
    const char *schema;
    const char *format;   /* csv, table or NULL (a table on a terminal) */
    uint64_t bcast_limit; /* --broadcast-limit: the largest right table broadcast */
    bool bcast_set;
    sql_query q;
    bool parsed;
    const char *path; /* the source's files (the FROM table) */
    char *pathbuf;
    char delim;
    bool parquet;      /* the FROM table is Parquet (else csv or tsv, by delim) */
    const char *jpath; /* a JOIN's table */
    char *jpathbuf;
    char jdelim;
    bool jparquet;
    const char *inputs[2]; /* cfg->inputs: the FROM table, then the JOIN's, for the output's
                              checks (an --overwrite output never holds either) */
    bool to_stdout;
    /* what the rounds reading the tables' files read, for the report of the committed
     * result (round 2 reads only the result): records, bytes, files pruned (rank 0) */
    uint64_t table_records, table_bytes, table_pruned;
} sql_opts;

/* Per-rank execution state of round 1 (callbacks reach it through the job's udata). */
typedef struct sql_exec {
    sql_bound *b;
    sql_table *t;
    const char *text;
    /* map: the current file's column positions */
    const void *hdr_key;
    const char *file_key;
    long *pos; /* table column -> field index in this file, or -1 */
    sql_value *row; /* the row's values; a column the query does not read stays NULL */
    size_t *ucols, nucols; /* the columns the query reads (b->used) */
    sql_arena arena;
    sj_buf key, val, tmp, cval;
    uint64_t emitted; /* plain queries with LIMIT and no ORDER BY */
    bool topk;        /* plain queries with ORDER BY and LIMIT: the rank's best rows */
    uint64_t k;       /* OFFSET + LIMIT */
    sj_buf cand;      /* candidate rows (u32 length + values) */
    uint64_t ncand;
    sql_acc *accs;
    sql_value *gvals, *avals;
    sql_value *argv; /* map: the row's aggregate arguments */
    sj_buf rows;     /* result rows of this rank: u32 length + values */
    char err[512];
    /* joins: the join round (join), and round 1 reading its output (phys, prefixed) */
    bool join;
    char **phys;   /* the names to find in file headers, when not the table's */
    bool prefixed; /* strings carry a leading 's' (so that "" differs from NULL) */
    sj_buf jl, jr, line;
    uint64_t njl, njr;
    uint32_t hdr_part;
    bool hdr_any;
    /* broadcast join: the right table, on every rank, by join key */
    bool bcast;
    const char *bpath;
    char bdelim;
    bool bparquet;
    bool pqcols;         /* round 1 reads a Parquet table: ask for the columns the query reads */
    sj_buf bkeys, brows; /* keys and rows, each u32 length + bytes */
    size_t *bslot;       /* hash slots: entry + 1, or 0 */
    size_t nbslot;
    struct bent {
        size_t key, row, next;
    } * bent; /* offsets into bkeys/brows; chain */
    size_t nbent, capbent;
    /* in-mapper combining of grouped queries: the rank's groups and their accumulators */
    sj_buf gkeys;          /* u32 length + key bytes, per group */
    size_t *gslot, ngslot; /* hash slots: group + 1, or 0 */
    size_t *goff;          /* group -> offset in gkeys */
    sql_acc *gacc;         /* group g's accumulators at g * naggs */
    size_t ngroups, capgroups;
} sql_exec;

typedef struct orow {
    sql_value *v; /* nout + nokeys values */
    const char *raw;
    size_t rawlen;
} orow;

/* exec.c */
int sql_oom(sheaf_ctx *ctx);
/* Parses rows (u32 length + nv values each) from data into a new array of n rows whose
 * values point into data. Returns 0 or -1 (malformed, or out of memory; err set). */
int sql_parse_rows(const char *data, size_t len, size_t nv, orow **rowsp, sql_value **valsp,
                   size_t *np, char *err, size_t errlen);
/* ORDER BY's order of two orow (arg: the sql_bound), ties by the output values. */
int sql_row_cmp(const void *pa, const void *pb, void *arg);
/* A row of the table through the query: WHERE, then projection or aggregation. */
int sql_process_row(sheaf_ctx *ctx, sql_exec *x, const sheaf_record *rec, sql_env *envp);

/* join.c */
int sql_join_map(sheaf_ctx *ctx, sql_exec *x, const sheaf_record *rec, sql_env *env);
int sql_join_reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals, void *udata);
/* One value as a field of this layer's own CSV: NULL empty, strings with a leading 's'. */
int sql_join_field(sj_buf *out, const sql_value *v);
int sql_bcast_setup(sheaf_ctx *ctx, void *udata);
int sql_bcast_map(sheaf_ctx *ctx, sql_exec *x, const sheaf_record *rec, sql_env *env);

/* output.c */
/* Round 2's state (its udata): the line being written, and the figures of the rounds before
 * it. */
typedef struct out_state {
    sj_buf *line;
    const sql_opts *o;
} out_state;

int sql_finish_rows(sql_exec *x, const char *data, size_t len, sj_buf *extra, char sep, int mode,
                    sj_buf *out);
int sql_out_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata);
int sql_out_setup(sheaf_ctx *ctx, void *udata);
int sql_out_reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals, void *udata);
void sql_table_read(sql_opts *o, const sheaf_result *res, const sql_pruner *pr);

/* explain.c */
void sql_explain(const sql_bound *b, const sql_opts *o, const char *path, bool top, bool bcast,
                 const sheaf_config *cfg, FILE *f);

#endif
