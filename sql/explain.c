/*
 * explain.c: EXPLAIN for `sheaf sql` (exec.h): the rounds a query becomes and what runs
 * where, in words; nothing runs.
 */
#include <string.h>

#include "sql/exec.h"

/* ---- EXPLAIN ------------------------------------------------------------------------------ */

/* A join's key expressions, comma-separated. */
static void key_list(sj_buf *s, sql_node *const *keys, size_t n) {
    for (size_t k = 0; k < n; k++) {
        sj_buf_add(s, k ? ", " : "", k ? 2 : 0);
        sql_node_text(keys[k], s);
    }
}

static const char *fmt_name(char delim, bool parquet) {
    return parquet ? "parquet" : delim == '\t' ? "tsv with header" : "csv with header";
}

void sql_explain(const sql_bound *b, const sql_opts *o, const char *path, bool top, bool bcast,
                 const sheaf_config *cfg, FILE *f) {
    sj_buf s = {0};
    const sql_query *q = b->q;
    if (q->join && bcast) {
        sj_buf_printf(&s,
                      "Round 1: one sheaf_run over %s (%s), %s-joined with %s (%s; the "
                      "right table is at most --broadcast-limit: every rank reads it in "
                      "setup into a hash table on (",
                      path, fmt_name(o->delim, o->parquet), q->left_join ? "left" : "inner",
                      o->jpath, fmt_name(o->jdelim, o->jparquet));
        key_list(&s, b->rkeys, b->nkeys);
        sj_buf_add(&s, ") and map joins each row on (", 29);
        key_list(&s, b->lkeys, b->nkeys);
        sj_buf_add(&s, ")", 1);
    } else if (q->join) {
        sj_buf_printf(&s,
                      "Round 0: one sheaf_run over %s (%s) and %s (%s)\n"
                      "  map      parse the columns the query reads; emit key (",
                      path, fmt_name(o->delim, o->parquet), o->jpath,
                      fmt_name(o->jdelim, o->jparquet));
        key_list(&s, b->lkeys, b->nkeys);
        sj_buf_add(&s, ") for the left table, (", 23);
        key_list(&s, b->rkeys, b->nkeys);
        sj_buf_printf(&s,
                      ") for the right, tagged by side%s\n"
                      "  reduce   %s join of each key's rows (held in memory), written as "
                      "CSV to the work directory\n",
                      q->left_join ? "; NULL keys: left rows kept alone, right rows dropped"
                                   : "; rows with a NULL key dropped",
                      q->left_join ? "left" : "inner");
        sj_buf_add(&s, "Round 1: one sheaf_run over the joined rows (CSV", 48);
    } else {
        sj_buf_printf(&s, "Round 1: one sheaf_run over %s (%s", path,
                      q->sub ? "csv with header" : fmt_name(o->delim, o->parquet));
    }
    sj_buf_add(&s, "; columns read:", 15);
    for (size_t c = 0; c < b->t->ncols; c++)
        if (b->used[c])
            sj_buf_printf(&s, " %s %s", b->t->names[c], sql_type_name(b->t->types[c]));
    sj_buf_add(&s, ")\n", 2);
    sj_buf_add(&s, "  map      parse the columns", 28);
    if (q->where) {
        sj_buf_add(&s, "; filter WHERE ", 15);
        sql_node_text(q->where, &s);
    }
    if (b->aggregate) {
        sj_buf_add(&s, "; combine in the rank's table of groups, emit key (", 51);
        for (size_t g = 0; g < b->ngroup; g++) {
            if (g)
                sj_buf_add(&s, ", ", 2);
            sql_node_text(b->group[g], &s);
        }
        sj_buf_add(&s, ") with partial states of", 24);
        for (size_t a = 0; a < b->naggs; a++) {
            sj_buf_add(&s, a ? ", " : " ", a ? 2 : 1);
            sql_node_text(b->aggs[a], &s);
        }
        if (!b->naggs)
            sj_buf_add(&s, " nothing (DISTINCT)", 19);
        sj_buf_add(&s, "\n  combine  merge the partial states of each key on the map side\n", 65);
        sj_buf_add(&s, "  reduce   merge over the ranks, finalize the aggregates", 56);
        if (q->having) {
            sj_buf_add(&s, "; filter HAVING ", 16);
            sql_node_text(q->having, &s);
        }
        sj_buf_add(&s, "; project", 9);
    } else {
        sj_buf_add(&s, "; project", 9);
    }
    for (size_t i = 0; i < b->nout; i++) {
        sj_buf_add(&s, i ? ", " : " ", i ? 2 : 1);
        sql_node_text(b->out[i], &s);
    }
    if (!b->aggregate) {
        if (q->limit >= 0 && !b->nokeys)
            sj_buf_printf(&s, "; stop after %lld rows per rank (LIMIT)",
                          (long long)(q->limit + q->offset));
        else if (q->limit >= 0)
            sj_buf_printf(&s,
                          "; keep the rank's best %lld rows by ORDER BY (top-k of "
                          "LIMIT + OFFSET), emitted after its last map call",
                          (long long)(q->limit + q->offset));
        sj_buf_add(&s, "\n  reduce   collect the rows", 28);
    }
    sj_buf_add(&s, "\nRank 0: gather the result rows", 31);
    if (b->nokeys) {
        sj_buf_add(&s, "; sort by", 9);
        for (size_t k = 0; k < b->nokeys; k++) {
            sj_buf_add(&s, k ? ", " : " ", k ? 2 : 1);
            sql_node_text(b->okeys[k], &s);
            sj_buf_printf(&s, " %s NULLS %s", q->order[k].desc ? "DESC" : "ASC",
                          q->order[k].nulls == 1 ? "FIRST" : "LAST");
        }
    }
    if (q->offset)
        sj_buf_printf(&s, "; skip %lld (OFFSET)", (long long)q->offset);
    if (q->limit >= 0)
        sj_buf_printf(&s, "; keep %lld (LIMIT)", (long long)q->limit);
    if (!top)
        sj_buf_add(&s, "; CSV to the work directory, the table of the enclosing query\n", 62);
    else if (!o->to_stdout)
        sj_buf_printf(&s,
                      "\nRound 2: one sheaf_run over the sorted result: total order by "
                      "row number (sampling partitioner), CSV with a header committed "
                      "to %s\n",
                      cfg->output);
    else
        sj_buf_add(&s, "; CSV (a table on a terminal) to stdout\n", 40);
    fwrite(s.p, 1, s.len, f);
    sj_buf_free(&s);
}
