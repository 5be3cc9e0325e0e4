/*
 * filter.h: the jobs' --where (sql/filter.c): a WHERE condition over a job's input (csv with a
 * header, or Parquet), with sheaf sql's types, NULL rules and evaluator. The one part of the
 * query layer the table jobs include; the rest is sql/sql.h.
 */
#ifndef SHEAF_SQL_FILTER_H
#define SHEAF_SQL_FILTER_H

#include <stddef.h>

#include "jobs/jobs.h"

typedef struct sql_filter sql_filter;
/* Compiles the conditions texts[0..n) (ANDed) against the columns and types of cfg's inputs;
 * `COL OP WORD` that does not bind is read as `COL OP 'WORD'`. Returns 0 and *out, or -1
 * after printing a usage message for job (an unknown column, a type mismatch, a syntax error,
 * an unreadable input). */
int sql_filter_new(const char *job, const char *const *texts, size_t n, const sheaf_config *cfg,
                   sql_filter **out);
/* A job's --where options: none (0, *out NULL), or the filter of sql_filter_new when the input
 * has named columns (csv with a header, or Parquet); else a usage error (-1, printed). */
int sql_filter_option(const char *job, char *const *texts, size_t n, const sheaf_config *cfg,
                      sql_filter **out);
/* sheaf_config.prune for a filter f: 1 (skip the file) when a top-level AND conjunct of the
 * condition that reads partition columns only (at least one) is false or NULL with the file's
 * folder values kv[0..2*nkv), evaluated as the rows are; else 0 (a conjunct reading a column
 * the file's folders lack, or whose evaluation fails, prunes nothing). */
int sql_filter_prune(void *f, const char *path, const char *const *kv, size_t nkv);
/* The names of the columns the condition reads (valid while f lives); returns their number. */
size_t sql_filter_columns(const sql_filter *f, const char *const **names);
/* 1 when the record passes, 0 when not (false or NULL), or a negative code after
 * sheaf_fail (a field that does not parse as its type, an expression error). */
int sql_filter_row(sheaf_ctx *ctx, sql_filter *f, const sheaf_record *rec);
void sql_filter_free(sql_filter *f);

#endif
