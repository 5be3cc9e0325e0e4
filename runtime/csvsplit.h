/*
 * csvsplit.h: splitting csv files whose quoted fields may hold newlines (csvsplit.c).
 * Never installed.
 */
#ifndef SHEAF_CSVSPLIT_H
#define SHEAF_CSVSPLIT_H

#include "internal.h"

/* Whether split i of the plan needs the quote pass: a split after the first of a plain (not
 * compressed) csv file whose quoted fields may hold newlines. */
bool sheaf__csv_split_needs_quotes(const sheaf_ctx *ctx, const sheaf__plan *plan, size_t i);

/* The parity of the number of quote bytes in [start, start + len) of path: *odd is true when
 * it is odd. Returns 0 or SHEAF_EIO / SHEAF_ENOENT with a message in err. */
int sheaf__csv_quote_parity(const char *path, uint64_t start, uint64_t len, bool *odd,
                            char *err, size_t errlen);

/* Sets splits[i].quoted from the splits' quote parities (odd[i], one per split, in plan
 * order): a split starts inside a quoted field when the splits of its file before it hold an
 * odd number of quotes in all. Splits of other files and first splits get false. */
void sheaf__csv_mark_quoted(sheaf__plan *plan, const uint8_t *odd);

/* Collective over the job's communicator: counts the quotes of every split that needs it
 * (sheaf__csv_split_needs_quotes), the splits dealt round robin over the ranks, shares the
 * parities and marks the plan. Returns 0, or the agreed code of a rank that could not read a
 * split (with the file and offset in the context's message). */
int sheaf__csv_plan_quotes(sheaf_ctx *ctx, sheaf__plan *plan);

#endif
