/*
 * grep.c: lines matching POSIX extended regular expressions.
 *
 * `sheaf grep PATTERN... -i IN -o OUT` writes every input line that matches at least one of
 * the patterns (--invert-match: none of them). The line is the key and the value is empty, so
 * the identity reduce writes each matching line as `line<LF>`; identical lines are grouped by
 * the reduce but every occurrence is kept, because the identity reduce writes one line per
 * value. Each partition is sorted bytewise: `sort` the concatenated part files to compare with
 * `grep -E ... | LC_ALL=C sort`. --with-location adds where the line was found, as
 * `line<TAB>file:offset` (byte offset of the line's first byte).
 *
 * Every rank compiles the patterns in setup (regcomp is per process) and counts, per pattern,
 * the lines that match it; cleanup adds the counts to the user counters (one counter per
 * pattern, named after the pattern), so _report.json has them under user_counters.
 *
 * --count writes only the counts, `pattern<TAB>count`, patterns with no match included. It is
 * a different job shape (a built-in u64 sum, combined map-side), so grep has a driver that
 * runs one of two job definitions. The zero counts are emitted once, by rank 0 at the end of
 * its map (map_cleanup).
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

typedef struct grep_opts {
    char **patterns;
    size_t npatterns;
    bool count, invert, icase, location;
    regex_t *re; /* per rank, compiled in setup */
    uint64_t *hits;
    sj_buf line, val; /* scratch */
} grep_opts;

static grep_opts gopts;

static int grep_parse(void *udata, const char *name, const char *value) {
    grep_opts *o = udata;
    if (!name || !strcmp(name, "pattern")) {
        char **p = realloc(o->patterns, (o->npatterns + 1) * sizeof *p);
        if (!p)
            return -1;
        o->patterns = p;
        if (!(p[o->npatterns] = strdup(value)))
            return -1;
        o->npatterns++;
    } else if (!strcmp(name, "count")) {
        o->count = true;
    } else if (!strcmp(name, "invert-match")) {
        o->invert = true;
    } else if (!strcmp(name, "ignore-case")) {
        o->icase = true;
    } else if (!strcmp(name, "with-location")) {
        o->location = true;
    } else {
        return -1;
    }
    return 0;
}

static int cflags(const grep_opts *o) {
    return REG_EXTENDED | REG_NOSUB | (o->icase ? REG_ICASE : 0);
}

static int grep_configure(void *udata, sheaf_config *cfg) {
    grep_opts *o = udata;
    (void)cfg;
    if (o->npatterns == 0)
        return sj_usage("grep", "no pattern given (sheaf grep PATTERN... -i IN -o OUT)");
    for (size_t i = 0; i < o->npatterns; i++) {
        regex_t re;
        int rc = regcomp(&re, o->patterns[i], cflags(o));
        if (rc) {
            char msg[256];
            regerror(rc, &re, msg, sizeof msg);
            return sj_usage("grep", "bad pattern '%s': %s", o->patterns[i], msg);
        }
        regfree(&re);
    }
    if (o->count && o->location)
        return sj_usage("grep", "--count and --with-location do not go together");
    return 0;
}

static int grep_setup(sheaf_ctx *ctx, void *udata) {
    grep_opts *o = udata;
    o->re = calloc(o->npatterns, sizeof *o->re);
    o->hits = calloc(o->npatterns, sizeof *o->hits);
    if (!o->re || !o->hits)
        return SHEAF_ENOMEM;
    for (size_t i = 0; i < o->npatterns; i++)
        if (regcomp(&o->re[i], o->patterns[i], cflags(o)) != 0)
            return sheaf_fail(ctx, SHEAF_EINVAL, "cannot compile pattern '%s'", o->patterns[i]);
    return 0;
}

/* --count: rank 0 gives every pattern a zero, so that patterns with no match have a line. */
static int grep_map_cleanup(sheaf_ctx *ctx, void *udata) {
    grep_opts *o = udata;
    if (!o->count || sheaf_rank(ctx) != 0)
        return 0;
    for (size_t i = 0; i < o->npatterns; i++) {
        int rc = sheaf_emit_u64(ctx, o->patterns[i], strlen(o->patterns[i]), 0);
        if (rc)
            return rc;
    }
    return 0;
}

static bool matches(grep_opts *o, size_t i, const char *data, size_t len) {
#ifdef REG_STARTEND
    regmatch_t m[1];
    m[0].rm_so = 0;
    m[0].rm_eo = (regoff_t)len;
    return regexec(&o->re[i], data, 1, m, REG_STARTEND) == 0;
#else
    o->line.len = 0;
    if (sj_buf_add(&o->line, data, len))
        return false;
    return regexec(&o->re[i], o->line.p, 0, NULL, 0) == 0;
#endif
}

static int grep_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    grep_opts *o = udata;
    bool any = false;
    for (size_t i = 0; i < o->npatterns; i++) {
        bool m = matches(o, i, rec->data, rec->len);
        any = any || m;
        if (m != o->invert) {
            o->hits[i]++;
            if (o->count) {
                int rc = sheaf_emit_u64(ctx, o->patterns[i], strlen(o->patterns[i]), 1);
                if (rc)
                    return rc;
            }
        }
    }
    if (o->count || any == o->invert)
        return 0;
    if (!o->location)
        return sheaf_emit(ctx, rec->data, rec->len, "", 0);
    o->val.len = 0;
    if (sj_buf_printf(&o->val, "%s:%llu", rec->file, (unsigned long long)rec->offset))
        return SHEAF_ENOMEM;
    return sheaf_emit(ctx, rec->data, rec->len, o->val.p, o->val.len);
}

static int grep_cleanup(sheaf_ctx *ctx, void *udata) {
    grep_opts *o = udata;
    int rc = 0;
    for (size_t i = 0; i < o->npatterns && o->hits; i++)
        if (!rc)
            rc = sheaf_counter_add(ctx, o->patterns[i], (int64_t)o->hits[i]);
    for (size_t i = 0; i < o->npatterns && o->re; i++)
        regfree(&o->re[i]);
    free(o->re);
    free(o->hits);
    o->re = NULL;
    o->hits = NULL;
    return rc;
}

static int grep_run(MPI_Comm comm, const sheaf_command *cmd, const sheaf_config *cfg,
                    sheaf_result *res) {
    sheaf_job_def j = *cmd->job;
    if (gopts.count)
        j.agg = SHEAF_AGG_SUM_U64;
    return sheaf_run(comm, &j, cfg, res);
}

static const sheaf_option grep_options[] = {
    {"pattern", "RE", "a pattern (same as a positional PATTERN; use it for one starting with -)"},
    {"count", NULL, "write only per-pattern counts of matching lines: pattern TAB count"},
    {"invert-match", NULL, "select lines that match none of the patterns"},
    {"ignore-case", NULL, "match ASCII letters regardless of case"},
    {"with-location", NULL, "write line TAB file:offset (byte offset of the line)"},
    {NULL, NULL, NULL},
};

static const sheaf_job_def grep_job = {
    .name = "grep",
    .map = grep_map,
    .setup = grep_setup,
    .map_cleanup = grep_map_cleanup,
    .cleanup = grep_cleanup,
    .udata = &gopts,
};

const sheaf_command sheaf_cmd_grep = {
    .name = "grep",
    .summary = "lines matching POSIX extended regexes, or per-pattern counts (--count)",
    .usage = "PATTERN...",
    .options = grep_options,
    .parse_option = grep_parse,
    .configure = grep_configure,
    .udata = &gopts,
    .job = &grep_job,
    .run = grep_run,
};
